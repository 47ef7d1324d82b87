/* The HTTP transport shared by the chain layer's node clients (eth_rpc.c,
 * btc_esplora_rpc.c, cosmos_rpc.c; solana_rpc.c goes through eth_rpc.c):
 * one libcurl easy handle, http/https only, no redirects, a total and a
 * connect timeout per request, and a reply capped at a size the caller
 * gives. Transport failures are KG_ERR_NETWORK (a reply over the cap is
 * KG_ERR_BAD_JSON); HTTP statuses are the caller's business. Private to
 * src/chain; server/CLI side only (firmware builds leave out *_rpc.c and
 * this file). */
#ifndef KG_CHAIN_HTTP_INT_H
#define KG_CHAIN_HTTP_INT_H

#include <kashguard/err.h>

#include <stdbool.h>
#include <stddef.h>

typedef struct kg_chain_http kg_chain_http;

/* One request. Error messages read "<label>: no answer from <server>
 * within N ms" and, when api is NULL, "<label>: the node's reply is larger
 * than N bytes" / "<label>: cannot reach <server>: <why>"; with api set,
 * "<label>: the reply is larger than N bytes" / "cannot reach <api> at
 * <server>: <why>". */
typedef struct {
    const char *label;          /* what is being done: RPC method or REST path */
    const char *url;            /* the full URL (http:// or https://) */
    const char *server;         /* how messages name the server */
    const char *api;            /* name of a REST API for messages, or NULL */
    const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
    const char *body;           /* NULL: GET; else POSTed as is */
    size_t max_reply;           /* reply cap in bytes */
} kg_chain_http_req;

/** True when url starts with http:// or https:// (the only schemes followed). */
bool kg_chain_http_url_ok(const char *url);

/** A transport with timeout_ms (> 0) per request; KG_ERR_NOMEM on failure. */
kg_err kg_chain_http_new(kg_chain_http **out, long timeout_ms) KG_WARN_UNUSED;
void kg_chain_http_free(kg_chain_http *h);

/** Perform req. On KG_OK *status is the HTTP status and *reply the body
 *  (malloc'd, NUL-terminated, *reply_len bytes; NULL when the body is
 *  empty). On error *status is 0 and *reply NULL. */
kg_err kg_chain_http_request(kg_chain_http *h, long *status, char **reply, size_t *reply_len,
                             const kg_chain_http_req *req) KG_WARN_UNUSED;

/** s percent-escaped for a URL (malloc'd; NULL on out of memory). */
char *kg_chain_http_escape(kg_chain_http *h, const char *s);

#endif
