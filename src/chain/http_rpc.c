/* The HTTP transport of the chain layer's node clients (libcurl): what
 * eth_rpc.c (Ethereum and, through it, Solana JSON-RPC), btc_esplora_rpc.c
 * (Esplora REST) and cosmos_rpc.c (Cosmos SDK REST) share. Each request
 * resets the easy handle, follows only http and https (RFC 9110; no
 * redirects: a broadcast must go where it was told), sets a total and a
 * connect timeout, and collects the body up to the caller's cap so that a
 * hostile node cannot make us allocate without bound. Transport failures
 * become KG_ERR_NETWORK with the server named in the message; statuses
 * and bodies are left to the caller, which knows its protocol. The name
 * ends in _rpc.c, so firmware builds leave it out. */
#include "http_int.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct kg_chain_http {
    CURL *curl;
    long timeout_ms;
};

typedef struct {
    char *data;
    size_t len;
    size_t max;
    bool too_big;
} reply_buf;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    reply_buf *r = arg;
    size_t add = size * n;
    if (add > r->max - r->len) {
        r->too_big = true;
        return 0;
    }
    char *d = realloc(r->data, r->len + add + 1);
    if (d == NULL)
        return 0;
    memcpy(d + r->len, p, add);
    r->len += add;
    d[r->len] = '\0';
    r->data = d;
    return add;
}

bool kg_chain_http_url_ok(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

kg_err kg_chain_http_new(kg_chain_http **out, long timeout_ms)
{
    *out = NULL;
    kg_chain_http *h = calloc(1, sizeof *h);
    if (h == NULL || (h->curl = curl_easy_init()) == NULL) {
        free(h);
        return KG_ERR_NOMEM;
    }
    h->timeout_ms = timeout_ms;
    *out = h;
    return KG_OK;
}

void kg_chain_http_free(kg_chain_http *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    free(h);
}

/* The error of a failed transfer (KG_OK when it went through). */
static kg_err transfer_error(const kg_chain_http *h, const kg_chain_http_req *req, const reply_buf *r, CURLcode cc,
                             const char *errbuf)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (r->too_big)
        return kg_err_set(KG_ERR_BAD_JSON, "%s: the %s is larger than %zu bytes", req->label,
                          req->api ? "reply" : "node's reply", req->max_reply);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return kg_err_set(KG_ERR_NETWORK, "%s: no answer from %s within %ld ms", req->label, req->server,
                          h->timeout_ms);
    if (cc != CURLE_OK && req->api != NULL)
        return kg_err_set(KG_ERR_NETWORK, "cannot reach %s at %s: %s", req->api, req->server, why);
    if (cc != CURLE_OK)
        return kg_err_set(KG_ERR_NETWORK, "%s: cannot reach %s: %s", req->label, req->server, why);
    return KG_OK;
}

kg_err kg_chain_http_request(kg_chain_http *h, long *status, char **reply, size_t *reply_len,
                             const kg_chain_http_req *req)
{
    reply_buf r = { .max = req->max_reply };
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    CURL *cu = h->curl;
    *status = 0;
    *reply = NULL;
    *reply_len = 0;
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    curl_easy_reset(cu);
    curl_easy_setopt(cu, CURLOPT_URL, req->url);
    curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
    if (hdrs != NULL)
        curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdrs);
    if (req->body != NULL)
        curl_easy_setopt(cu, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(cu);
    curl_slist_free_all(hdrs);
    kg_err err = transfer_error(h, req, &r, cc, errbuf);
    if (err != KG_OK) {
        free(r.data);
        return err;
    }
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, status);
    *reply = r.data;
    *reply_len = r.len;
    return KG_OK;
}

char *kg_chain_http_escape(kg_chain_http *h, const char *s)
{
    char *e = curl_easy_escape(h->curl, s, 0);
    char *out = e != NULL ? strdup(e) : NULL;
    curl_free(e);
    return out;
}
