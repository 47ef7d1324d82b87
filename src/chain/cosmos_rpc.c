/* A client of a Cosmos SDK node's REST API (jansson; libcurl through http_rpc.c).
 *
 * The REST API ("LCD", port 1317) is the gRPC-gateway of the SDK's query
 * and tx services (cosmos-sdk proto/cosmos/{auth,bank,tx}/v1beta1/
 * query.proto and service.proto, cosmos/base/tendermint/v1beta1/query.proto):
 *   GET  /cosmos/auth/v1beta1/accounts/{address}          QueryAccountResponse
 *   GET  /cosmos/bank/v1beta1/balances/{address}/by_denom?denom=D
 *   GET  /cosmos/base/tendermint/v1beta1/node_info        (network = chain id)
 *   POST /cosmos/tx/v1beta1/txs {"tx_bytes": b64, "mode": "BROADCAST_MODE_SYNC"}
 *   GET  /cosmos/tx/v1beta1/txs/{hash}                    GetTxResponse
 * The gateway renders protobuf as JSON the proto3 way: 64-bit integers are
 * strings ("account_number": "12"), 32-bit ones numbers ("code": 5), Any
 * messages carry "@type". An error is an HTTP status and a google.rpc.Status
 * body {"code": <gRPC code>, "message": "...", "details": []}; NotFound
 * (gRPC 5, HTTP 404) is how a never-funded account or a tx in no block yet
 * is reported, so it gets its own kg_err.
 *
 * BROADCAST_MODE_SYNC returns after CheckTx (signature, sequence, fee), so
 * code 0 means "in the mempool", not "done": the message itself runs in
 * DeliverTx, and kg_chain_cosmos_rpc_wait_tx polls the tx until a block
 * holds it. Replies are capped at 4 MiB, only http(s) is followed, every
 * request has a total timeout. Server/CLI side only (the "_rpc" suffix
 * keeps the file out of firmware builds). */
#include "cosmos_rpc_int.h"
#include "http_int.h"
#include <kashguard/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPLY (4u << 20)
#define GRPC_NOT_FOUND 5

struct kg_chain_cosmos_rpc {
    kg_chain_http *http;
    char *base;      /* URL without trailing '/' */
};

kg_err kg_chain_cosmos_rpc_new(kg_chain_cosmos_rpc **out, const char *url, long timeout_ms)
{
    *out = NULL;
    if (!kg_chain_http_url_ok(url))
        return kg_err_set(KG_ERR_BAD_INPUT, "node URL must start with http:// or https://");
    kg_chain_cosmos_rpc *c = calloc(1, sizeof *c);
    if (c == NULL || (c->base = strdup(url)) == NULL ||
        kg_chain_http_new(&c->http, timeout_ms > 0 ? timeout_ms : 10000) != KG_OK) {
        kg_chain_cosmos_rpc_free(c);
        return kg_err_set(KG_ERR_NOMEM, "cannot create the REST client");
    }
    for (size_t n = strlen(c->base); n > 8 && c->base[n - 1] == '/'; n--)
        c->base[n - 1] = '\0';
    *out = c;
    return KG_OK;
}

void kg_chain_cosmos_rpc_free(kg_chain_cosmos_rpc *c)
{
    if (c == NULL)
        return;
    kg_chain_http_free(c->http);
    free(c->base);
    free(c);
}

/* Copy s into out (cap bytes), cut, with CR/LF turned into spaces. */
static void copy_clean(char *out, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s != NULL && s[i] != '\0' && i + 1 < cap; i++)
        out[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    out[i] = '\0';
}

/* One request. path is appended to the base URL; body NULL = GET.
 * On KG_OK *reply is the JSON object of a 2xx answer. */
static kg_err request(kg_chain_cosmos_rpc *c, json_t **reply, const char *what, const char *path, const char *body)
{
    static const char *const headers[] = { "Content-Type: application/json", "Accept: application/json", NULL };
    long status = 0;
    size_t ulen = strlen(c->base) + strlen(path) + 1, len = 0;
    char *url = malloc(ulen), *text = NULL;
    *reply = NULL;
    if (url == NULL)
        return kg_err_set(KG_ERR_NOMEM, "%s: out of memory", what);
    snprintf(url, ulen, "%s%s", c->base, path);
    const kg_chain_http_req req = {
        .label = what, .url = url, .server = c->base, .headers = headers, .body = body, .max_reply = MAX_REPLY,
    };
    kg_err err = kg_chain_http_request(c->http, &status, &text, &len, &req);
    json_t *j = (err == KG_OK && text != NULL) ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    free(url);
    if (err != KG_OK)
        return err;
    if (status >= 200 && status <= 299) {
        if (!json_is_object(j)) {
            json_decref(j);
            return kg_err_set(KG_ERR_BAD_JSON, "%s: the node's reply is not a JSON object", what);
        }
        *reply = j;
        return KG_OK;
    }
    /* An error: a google.rpc.Status body, or nothing useful. */
    const char *msg = json_string_value(json_object_get(j, "message"));
    json_int_t code = json_integer_value(json_object_get(j, "code"));
    char m[400];
    copy_clean(m, sizeof m, msg);
    if (msg == NULL)
        err = kg_err_set(KG_ERR_NETWORK, "%s: %s answered HTTP %ld", what, c->base, status);
    else if (status == 404 || code == GRPC_NOT_FOUND)
        err = kg_err_set(KG_ERR_NOT_FOUND, "%s: %s", what, m);
    else
        err = kg_err_set(KG_ERR_BAD_INPUT, "%s: the node answered HTTP %ld: %s", what, status, m);
    json_decref(j);
    return err;
}

/* A proto3 uint64 rendered by the gateway: a decimal string (or a number). */
static bool get_u64(uint64_t *out, const json_t *v)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == '\0' || strlen(s) > 20 || strspn(s, "0123456789") != strlen(s))
        return false;
    uint64_t n = 0;
    for (; *s; s++) {
        if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *out = n;
    return true;
}

/* "/prefix" + escaped seg + suffix (malloc'd; NULL on OOM). */
static char *path_of(kg_chain_cosmos_rpc *c, const char *prefix, const char *seg, const char *suffix)
{
    char *e = kg_chain_http_escape(c->http, seg);
    size_t n = strlen(prefix) + (e ? strlen(e) : 0) + strlen(suffix) + 1;
    char *p = e ? malloc(n) : NULL;
    if (p != NULL)
        snprintf(p, n, "%s%s%s", prefix, e, suffix);
    free(e);
    return p;
}

/* The BaseAccount inside an account Any: itself, or the base_account of
 * a module/Eth account, or base_vesting_account.base_account. */
static const json_t *base_account(const json_t *acc)
{
    for (int depth = 0; acc != NULL && depth < 3; depth++) {
        if (json_object_get(acc, "account_number") != NULL)
            return acc;
        const json_t *next = json_object_get(acc, "base_account");
        acc = next != NULL ? next : json_object_get(acc, "base_vesting_account");
    }
    return NULL;
}

static kg_err account_from(uint64_t *account_number, uint64_t *sequence, const json_t *r, const char *what)
{
    const json_t *b = base_account(json_object_get(r, "account"));
    const json_t *seq = b ? json_object_get(b, "sequence") : NULL;
    *account_number = *sequence = 0;
    if (b == NULL || !get_u64(account_number, json_object_get(b, "account_number")) ||
        !(seq == NULL || get_u64(sequence, seq))) { /* proto3 may omit a zero */
        *account_number = *sequence = 0;
        return kg_err_set(KG_ERR_BAD_JSON, "%s: the reply has no account_number/sequence", what);
    }
    return KG_OK;
}

kg_err kg_chain_cosmos_rpc_account(kg_chain_cosmos_rpc *c, uint64_t *account_number, uint64_t *sequence,
                                   const char *addr)
{
    static const char what[] = "account query (/cosmos/auth/v1beta1/accounts)";
    json_t *r = NULL;
    *account_number = *sequence = 0;
    char *p = path_of(c, "/cosmos/auth/v1beta1/accounts/", addr, "");
    if (p == NULL)
        return kg_err_set(KG_ERR_NOMEM, "%s: out of memory", what);
    kg_err err = request(c, &r, what, p, NULL);
    free(p);
    if (err == KG_ERR_NOT_FOUND)
        return kg_err_set(KG_ERR_NOT_FOUND, "the chain has no account %.90s yet: it exists once it received "
                          "funds", addr);
    if (err == KG_OK)
        err = account_from(account_number, sequence, r, what);
    json_decref(r);
    return err;
}

static kg_err balance_from(char out[static KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES], const json_t *r, const char *what)
{
    const json_t *bal = json_object_get(r, "balance");
    const char *amount = json_string_value(json_object_get(bal, "amount"));
    out[0] = '\0';
    if (bal == NULL || json_is_null(bal))
        amount = "0"; /* older nodes: no balance object when there is none */
    if (amount == NULL || amount[0] == '\0' || strlen(amount) >= KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES ||
        strspn(amount, "0123456789") != strlen(amount))
        return kg_err_set(KG_ERR_BAD_JSON, "%s: balance.amount is not a whole number", what);
    memcpy(out, amount, strlen(amount) + 1);
    return KG_OK;
}

kg_err kg_chain_cosmos_rpc_balance(kg_chain_cosmos_rpc *c, char out[static KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES],
                                   const char *addr, const char *denom)
{
    static const char what[] = "balance query (/cosmos/bank/v1beta1/balances)";
    json_t *r = NULL;
    out[0] = '\0';
    char *d = kg_chain_http_escape(c->http, denom);
    char *p = NULL;
    if (d != NULL) {
        static const char q[] = "/by_denom?denom=";
        size_t n = sizeof q + strlen(d);
        char *suffix = malloc(n);
        if (suffix != NULL) {
            snprintf(suffix, n, "%s%s", q, d);
            p = path_of(c, "/cosmos/bank/v1beta1/balances/", addr, suffix);
        }
        free(suffix);
    }
    free(d);
    if (p == NULL)
        return kg_err_set(KG_ERR_NOMEM, "%s: out of memory", what);
    kg_err err = request(c, &r, what, p, NULL);
    free(p);
    if (err == KG_OK)
        err = balance_from(out, r, what);
    json_decref(r);
    return err;
}

static kg_err chain_id_from(char out[static KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES], const json_t *r, const char *what)
{
    const char *n = json_string_value(json_object_get(json_object_get(r, "default_node_info"), "network"));
    out[0] = '\0';
    if (n == NULL || n[0] == '\0' || strlen(n) >= KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_JSON, "%s: the reply has no default_node_info.network", what);
    memcpy(out, n, strlen(n) + 1);
    return KG_OK;
}

kg_err kg_chain_cosmos_rpc_chain_id(kg_chain_cosmos_rpc *c, char out[static KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES])
{
    static const char what[] = "node info (/cosmos/base/tendermint/v1beta1/node_info)";
    json_t *r = NULL;
    out[0] = '\0';
    kg_err err = request(c, &r, what, "/cosmos/base/tendermint/v1beta1/node_info", NULL);
    if (err == KG_OK)
        err = chain_id_from(out, r, what);
    json_decref(r);
    return err;
}

/* A TxResponse object into out. */
static kg_err parse_tx_response(kg_chain_cosmos_tx_result *out, const json_t *t, const char *what)
{
    const json_t *code = json_object_get(t, "code");
    const char *hash = json_string_value(json_object_get(t, "txhash"));
    uint64_t v = 0;
    memset(out, 0, sizeof *out);
    if (!json_is_object(t) || hash == NULL || strlen(hash) != 64 || strspn(hash, "0123456789abcdefABCDEF") != 64)
        return kg_err_set(KG_ERR_BAD_JSON, "%s: the reply has no tx_response with a txhash", what);
    if (code != NULL && (!get_u64(&v, code) || v > UINT32_MAX))
        return kg_err_set(KG_ERR_BAD_JSON, "%s: tx_response.code is not a number", what);
    out->code = (uint32_t)v;
    for (int i = 0; i < 64; i++)
        out->txhash[i] = (char)((hash[i] >= 'a' && hash[i] <= 'f') ? hash[i] - 'a' + 'A' : hash[i]);
    copy_clean(out->codespace, sizeof out->codespace, json_string_value(json_object_get(t, "codespace")));
    copy_clean(out->raw_log, sizeof out->raw_log, json_string_value(json_object_get(t, "raw_log")));
    if (!get_u64(&out->height, json_object_get(t, "height")))
        out->height = 0;
    if (!get_u64(&out->gas_wanted, json_object_get(t, "gas_wanted")))
        out->gas_wanted = 0;
    if (!get_u64(&out->gas_used, json_object_get(t, "gas_used")))
        out->gas_used = 0;
    return KG_OK;
}

static kg_err refused(const kg_chain_cosmos_tx_result *t, const char *how)
{
    return kg_err_set(KG_ERR_BAD_INPUT, "%s: code %u (%s): %s", how, (unsigned)t->code,
                      t->codespace[0] ? t->codespace : "sdk", t->raw_log[0] ? t->raw_log : "(no log)");
}

kg_err kg_chain_cosmos_rpc_broadcast(kg_chain_cosmos_rpc *c, kg_chain_cosmos_tx_result *out,
                                     const uint8_t *tx, size_t tx_len)
{
    static const char what[] = "broadcast (/cosmos/tx/v1beta1/txs)";
    json_t *r = NULL, *req = json_pack("{s:o, s:s}", "tx_bytes", kg_json_b64(tx, tx_len), "mode",
                                       "BROADCAST_MODE_SYNC");
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    memset(out, 0, sizeof *out);
    json_decref(req);
    if (body == NULL)
        return kg_err_set(KG_ERR_NOMEM, "%s: out of memory", what);
    kg_err err = request(c, &r, what, "/cosmos/tx/v1beta1/txs", body);
    free(body);
    if (err == KG_OK)
        err = parse_tx_response(out, json_object_get(r, "tx_response"), what);
    if (err == KG_OK && out->code != 0)
        err = refused(out, "the node refused the transaction");
    json_decref(r);
    return err;
}

kg_err kg_chain_cosmos_rpc_get_tx(kg_chain_cosmos_rpc *c, kg_chain_cosmos_tx_result *out, bool *found,
                                  const char *txhash)
{
    static const char what[] = "tx query (/cosmos/tx/v1beta1/txs)";
    json_t *r = NULL;
    memset(out, 0, sizeof *out);
    *found = false;
    if (strlen(txhash) != 64 || strspn(txhash, "0123456789abcdefABCDEF") != 64)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: a tx hash is 64 hex digits", what);
    char *p = path_of(c, "/cosmos/tx/v1beta1/txs/", txhash, "");
    if (p == NULL)
        return kg_err_set(KG_ERR_NOMEM, "%s: out of memory", what);
    kg_err err = request(c, &r, what, p, NULL);
    free(p);
    if (err == KG_ERR_NOT_FOUND)
        return KG_OK;
    if (err == KG_OK)
        err = parse_tx_response(out, json_object_get(r, "tx_response"), what);
    *found = err == KG_OK;
    json_decref(r);
    return err;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kg_err kg_chain_cosmos_rpc_wait_tx(kg_chain_cosmos_rpc *c, kg_chain_cosmos_tx_result *out, const char *txhash,
                                   long poll_ms, long max_wait_ms)
{
    long end = now_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);
    bool found = false;
    for (;;) {
        kg_err err = kg_chain_cosmos_rpc_get_tx(c, out, &found, txhash);
        if (err != KG_OK)
            return err;
        if (found)
            return out->code == 0 ? KG_OK : refused(out, "the transaction failed in its block");
        if (now_ms() >= end)
            return kg_err_set(KG_ERR_NOT_FOUND, "transaction %.64s is in no block after %ld ms", txhash,
                              max_wait_ms);
        sleep_ms(poll_ms > 0 ? poll_ms : 500);
    }
}

void kg_chain_cosmos_tx_hash(char out[static KG_CHAIN_COSMOS_TXHASH_BYTES], const uint8_t *tx, size_t tx_len)
{
    static const char hexu[] = "0123456789ABCDEF";
    uint8_t h[32];
    kg_crypto_sha256(h, tx, tx_len);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hexu[h[i] >> 4];
        out[2 * i + 1] = hexu[h[i] & 15];
    }
    out[64] = '\0';
}

/* ------------------------------------------------ parsers of reply text */

/* Parse text as a JSON object, then run one of the parsers above. */
static json_t *load(const char *text, size_t len, const char *what, kg_err *err)
{
    json_t *j = json_loadb(text, len, 0, NULL);
    *err = json_is_object(j) ? KG_OK : kg_err_set(KG_ERR_BAD_JSON, "%s: the reply is not a JSON object", what);
    if (*err != KG_OK) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

kg_err kg_chain_cosmos_parse_account(uint64_t *account_number, uint64_t *sequence, const char *text, size_t len)
{
    kg_err err;
    json_t *j = load(text, len, "account", &err);
    *account_number = *sequence = 0;
    if (err == KG_OK)
        err = account_from(account_number, sequence, j, "account");
    json_decref(j);
    return err;
}

kg_err kg_chain_cosmos_parse_balance(char out[static KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES], const char *text, size_t len)
{
    kg_err err;
    json_t *j = load(text, len, "balance", &err);
    out[0] = '\0';
    if (err == KG_OK)
        err = balance_from(out, j, "balance");
    json_decref(j);
    return err;
}

kg_err kg_chain_cosmos_parse_chain_id(char out[static KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES], const char *text,
                                      size_t len)
{
    kg_err err;
    json_t *j = load(text, len, "node_info", &err);
    out[0] = '\0';
    if (err == KG_OK)
        err = chain_id_from(out, j, "node_info");
    json_decref(j);
    return err;
}

kg_err kg_chain_cosmos_parse_tx_response(kg_chain_cosmos_tx_result *out, const char *text, size_t len)
{
    kg_err err;
    json_t *j = load(text, len, "tx", &err);
    memset(out, 0, sizeof *out);
    if (err == KG_OK)
        err = parse_tx_response(out, json_object_get(j, "tx_response"), "tx");
    json_decref(j);
    return err;
}
