/* The CLI's HTTP client: one libcurl easy handle per invocation, reused for
 * every call of that invocation (keep-alive), JSON in and out.
 *
 * Contract with the handlers (kg_cli_call): a 2xx response is parsed into a
 * JSON object and returned; anything else is reported here, once, as
 * "Error: <message> (<code>)" on stderr and exit code 2, so handlers never
 * print server errors themselves. A connection failure names the address
 * and says how to start a dev server.
 *
 * Secrets: the token is sent in the Authorization header and never printed
 * (--curl shows "$KASHGUARD_TOKEN"). Request bodies and responses may hold
 * plaintext or tokens, so every buffer is wiped before it is freed.
 * Responses are capped (KG_CLI_MAX_RESPONSE) so a wrong --addr cannot make
 * us buffer without bound. Only http:// and https:// are allowed. */
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "cli_int.h"

#define KG_CLI_MAX_RESPONSE (64u * 1024 * 1024)
#define KG_CLI_CONNECT_TIMEOUT 10L
#define KG_CLI_TIMEOUT 120L

struct kg_cli_http {
    CURL *h;
    char errbuf[CURL_ERROR_SIZE];
};

typedef struct {
    char *data;
    size_t len, cap;
    bool over;
} resp_buf;

static void resp_free(resp_buf *r)
{
    if (r->data) kg_wipe(r->data, r->cap);
    free(r->data);
    r->data = NULL;
    r->len = r->cap = 0;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    resp_buf *r = ud;
    size_t add = sz * n;
    if (r->len + add > KG_CLI_MAX_RESPONSE) { r->over = true; return 0; }
    if (r->len + add + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + add + 1) cap *= 2;
        char *nd = malloc(cap);
        if (!nd) return 0;
        if (r->data) { memcpy(nd, r->data, r->len); kg_wipe(r->data, r->cap); free(r->data); }
        r->data = nd;
        r->cap = cap;
    }
    memcpy(r->data + r->len, p, add);
    r->len += add;
    r->data[r->len] = 0;
    return add;
}

void kg_cli_http_free(kg_cli *cli)
{
    if (!cli->http) return;
    curl_easy_cleanup(cli->http->h);
    free(cli->http);
    cli->http = NULL;
}

char *kg_cli_path(const char *a, const char *ref, const char *b)
{
    char *esc = curl_easy_escape(NULL, ref, 0), *out = NULL;
    size_t n;
    if (!esc) return NULL;
    n = strlen(a) + strlen(esc) + strlen(b) + 1;
    if ((out = malloc(n))) snprintf(out, n, "%s%s%s", a, esc, b);
    curl_free(esc);
    return out;
}

static char *make_url(const char *addr, const char *path)
{
    size_t al = strlen(addr);
    while (al > 0 && addr[al - 1] == '/') al--;
    size_t n = al + strlen(path) + 1;
    char *u = malloc(n);
    if (u) snprintf(u, n, "%.*s%s", (int)al, addr, path);
    return u;
}

void kg_cli_shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputs("'\\''", f);
        else fputc(*s, f);
    }
    fputc('\'', f);
}

/* --curl: the request as a curl command line, token as a shell variable. */
static void print_curl(kg_cli *cli, const char *method, const char *url, const char *body)
{
    FILE *f = cli->out;
    fprintf(f, "curl -sS -X %s", method);
    if (cli->token) fputs(" -H \"Authorization: Bearer $KASHGUARD_TOKEN\"", f);
    if (cli->cacert) { fputs(" --cacert ", f); kg_cli_shell_quote(f, cli->cacert); }
    if (cli->cert) { fputs(" --cert ", f); kg_cli_shell_quote(f, cli->cert); }
    if (cli->client_key) { fputs(" --key ", f); kg_cli_shell_quote(f, cli->client_key); }
    if (body) {
        fputs(" -H 'Content-Type: application/json' --data ", f);
        kg_cli_shell_quote(f, body);
    }
    fputc(' ', f);
    kg_cli_shell_quote(f, url);
    fputc('\n', f);
}

static int http_init(kg_cli *cli)
{
    kg_cli_http *hp;
    if (cli->http) return KG_CLI_OK;
    if (!(hp = calloc(1, sizeof *hp)) || !(hp->h = curl_easy_init())) {
        free(hp);
        return kg_cli_usage_error(cli, "cannot initialise libcurl");
    }
    CURL *h = hp->h;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, hp->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, KG_CLI_CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, KG_CLI_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "kashguard-cli/0.1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    if (cli->cacert) curl_easy_setopt(h, CURLOPT_CAINFO, cli->cacert);
    if (cli->cert) curl_easy_setopt(h, CURLOPT_SSLCERT, cli->cert);
    if (cli->client_key) curl_easy_setopt(h, CURLOPT_SSLKEY, cli->client_key);
    cli->http = hp;
    return KG_CLI_OK;
}

static struct curl_slist *make_headers(kg_cli *cli, bool has_body)
{
    struct curl_slist *hd = curl_slist_append(NULL, "Accept: application/json"), *t;
    if (hd && has_body && (t = curl_slist_append(hd, "Content-Type: application/json"))) hd = t;
    if (hd && cli->token) {
        size_t n = strlen(cli->token) + 32;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "Authorization: Bearer %s", cli->token);
            if ((t = curl_slist_append(hd, line))) hd = t;
            kg_wipe(line, n);
            free(line);
        }
    }
    return hd;
}

static int transport_error(kg_cli *cli, CURLcode rc, const char *url)
{
    const char *why = cli->http->errbuf[0] ? cli->http->errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        fprintf(cli->err, "Error: could not connect to %s: %s. Is a KashGuard server running "
                "there? Start a local one with `kashguard server --dev`, or point --addr / "
                "KASHGUARD_ADDR at yours (network_failed)\n", cli->addr, why);
    else
        fprintf(cli->err, "Error: request to %s failed: %s (network_failed)\n", url, why);
    return KG_CLI_REMOTE;
}

static int api_error(kg_cli *cli, long status, json_t *resp)
{
    json_t *e = json_object_get(resp, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code && msg) fprintf(cli->err, "Error: %s (%s)\n", msg, code);
    else fprintf(cli->err, "Error: the server answered HTTP %ld from %s without an error "
                 "document (is --addr a KashGuard server?)\n", status, cli->addr);
    if (status == 401 && !cli->token)
        fputs("Hint: no token is set; use --token or KASHGUARD_TOKEN (a dev server writes its "
              "root token to <data>/root.token)\n", cli->err);
    return KG_CLI_REMOTE;
}

/* Send and receive; *resp gets the parsed JSON (or NULL), *status the HTTP status. */
static int perform(kg_cli *cli, json_t **resp, long *status, const char *method,
                   const char *url, const char *body)
{
    CURL *h = cli->http->h;
    resp_buf r = {0};
    struct curl_slist *hd = make_headers(cli, body != NULL);
    CURLcode rc;
    *resp = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* reset a previous POST body */
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    cli->http->errbuf[0] = 0;
    rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hd); /* the token line lives on in libcurl's copy only until here */
    if (rc != CURLE_OK) {
        bool over = r.over;
        resp_free(&r);
        if (over) return kg_cli_usage_error(cli, "the response from %s is larger than %u bytes",
                                            cli->addr, KG_CLI_MAX_RESPONSE);
        return transport_error(cli, rc, url);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (r.len) *resp = json_loadb(r.data, r.len, 0, NULL);
    resp_free(&r);
    return KG_CLI_OK;
}

static int call_text(kg_cli *cli, json_t **out, long *status_out, const char *method,
                     const char *path, const char *body, const char *shown_body)
{
    long status = 0;
    json_t *resp = NULL;
    int rc;
    char *url = make_url(cli->addr, path);
    *out = NULL;
    if (!url) return kg_cli_usage_error(cli, "out of memory");
    if (cli->curl) {
        print_curl(cli, method, url, shown_body);
        free(url);
        return KG_CLI_OK;
    }
    if ((rc = http_init(cli)) || (rc = perform(cli, &resp, &status, method, url, body))) {
        free(url);
        return rc;
    }
    free(url);
    if (status_out) *status_out = status;
    if (status >= 400 && !status_out) {
        rc = api_error(cli, status, resp);
        json_decref(resp);
        return rc;
    }
    if (!json_is_object(resp)) {
        json_decref(resp);
        fprintf(cli->err, "Error: the response from %s (HTTP %ld) is not a JSON object; is "
                "--addr a KashGuard server?\n", cli->addr, status);
        return KG_CLI_REMOTE;
    }
    *out = resp;
    return KG_CLI_OK;
}

int kg_cli_call(kg_cli *cli, json_t **out, long *status, const char *method,
                const char *path, const json_t *body)
{
    char *text = NULL;
    int rc;
    if (body && !(text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
        *out = NULL;
        return kg_cli_usage_error(cli, "cannot encode the request as JSON");
    }
    rc = call_text(cli, out, status, method, path, text, text);
    if (text) { kg_wipe(text, strlen(text)); free(text); }
    return rc;
}

int kg_cli_call_secret(kg_cli *cli, json_t **out, const char *method, const char *path, char *body)
{
    int rc = call_text(cli, out, NULL, method, path, body, "<redacted: give the value here>");
    kg_wipe(body, strlen(body));
    return rc;
}
