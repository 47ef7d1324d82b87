/* A client of the Esplora REST API (jansson; libcurl through
 * http_rpc.c): the HTTP interface of
 * Blockstream's esplora/electrs and of mempool.space, which wallets use
 * instead of a full node's RPC. KashGuard runs no Bitcoin node; any Esplora
 * endpoint (public or your own electrs next to bitcoind) gives balances,
 * UTXOs, fee estimates and broadcast. The calls used (esplora API.md):
 *
 *   GET  /address/:addr       {"chain_stats":{funded_txo_count,
 *                              funded_txo_sum, spent_txo_count,
 *                              spent_txo_sum, tx_count}, "mempool_stats":{..}}
 *   GET  /address/:addr/utxo  [{"txid","vout","value","status":{"confirmed",
 *                              "block_height"}}]   (mempool outputs included)
 *   GET  /fee-estimates       {"1":87.8,"6":20.1,...}   sat/vB per target
 *   POST /tx                  body: raw tx hex -> the txid as text; a refusal
 *                              is HTTP 400 with bitcoind's message as text
 *   GET  /tx/:txid/status     {"confirmed":bool,"block_height":N}; 404 unknown
 *
 * Every reply is capped (4 MiB), only http/https are followed (no
 * redirects: a broadcast must go where it was told), and each request has
 * a total timeout. Error classes are those of bitcoin.h, so the CLI can
 * tell "the node refused" (exit 2 with the node's text) from our own
 * mistakes. Amounts are checked against 21e6 BTC so that a lying node
 * cannot make sums wrap. Server/CLI only: the name ends in _rpc.c, which
 * firmware builds leave out. */
#include "btc_esplora_int.h"
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPLY (4u << 20)
#define MAX_URL 2048

struct kg_chain_btc_esplora {
    kg_chain_http *http;
    char *base;
};

kg_err kg_chain_btc_esplora_new(kg_chain_btc_esplora **out, const char *base_url, long timeout_ms)
{
    *out = NULL;
    if (!kg_chain_http_url_ok(base_url))
        return kg_err_set(KG_ERR_BAD_INPUT, "the Esplora API URL must start with http:// or https:// "
                          "(e.g. http://127.0.0.1:3002/api)");
    size_t n = strlen(base_url);
    if (n > MAX_URL - 200 || strpbrk(base_url, " \t\r\n?#") != NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "the Esplora API URL is too long or has spaces, '?' or '#'");
    kg_chain_btc_esplora *c = calloc(1, sizeof *c);
    if (c == NULL || (c->base = strdup(base_url)) == NULL ||
        kg_chain_http_new(&c->http, timeout_ms > 0 ? timeout_ms : 15000) != KG_OK) {
        kg_chain_btc_esplora_free(c);
        return kg_err_set(KG_ERR_NOMEM, "cannot create the Esplora client");
    }
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    *out = c;
    return KG_OK;
}

void kg_chain_btc_esplora_free(kg_chain_btc_esplora *c)
{
    if (c == NULL)
        return;
    kg_chain_http_free(c->http);
    free(c->base);
    free(c);
}

/* One request: GET (body NULL) or POST of text. *reply gets the body
 * (NUL-terminated, malloc'd, possibly "") and *status the HTTP status.
 * Only transport failures are errors here; statuses are the caller's. */
static kg_err request(kg_chain_btc_esplora *c, char **reply, long *status, const char *path, const char *body)
{
    static const char *const text_plain[] = { "Content-Type: text/plain", NULL };
    char url[MAX_URL];
    size_t len = 0;
    *reply = NULL;
    *status = 0;
    if ((size_t)snprintf(url, sizeof url, "%s%s", c->base, path) >= sizeof url)
        return kg_err_set(KG_ERR_BAD_INPUT, "the request URL is too long");
    const kg_chain_http_req req = {
        .label = path, .url = url, .server = c->base, .api = "the Esplora API",
        .headers = body != NULL ? text_plain : NULL, .body = body, .max_reply = MAX_REPLY,
    };
    kg_err err = kg_chain_http_request(c->http, status, reply, &len, &req);
    if (err == KG_OK && *reply == NULL && (*reply = calloc(1, 1)) == NULL) {
        *status = 0;
        err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    return err;
}

/* The node's text for an error message: first 300 bytes, CR/LF and other
 * control bytes turned into spaces (STYLE.md: never echo raw line breaks). */
static void clean_text(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (; in[n] != '\0' && n + 1 < cap && n < 300; n++)
        out[n] = (unsigned char)in[n] < 0x20 || in[n] == 0x7f ? ' ' : in[n];
    out[n] = '\0';
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
}

/* The error of a non-2xx status (404 handled by callers that expect it). */
static kg_err status_error(const char *path, long status, const char *text)
{
    char t[301];
    clean_text(t, sizeof t, text);
    if (status == 400)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: the node answered HTTP 400: %s", path, t[0] ? t : "(no text)");
    return kg_err_set(KG_ERR_NETWORK, "%s: the Esplora API answered HTTP %ld%s%s", path, status, t[0] ? ": " : "", t);
}

/* GET path; *text gets the body of a 2xx reply (free it). */
static kg_err get_text(kg_chain_btc_esplora *c, char **text, const char *path)
{
    long status = 0;
    kg_err err = request(c, text, &status, path, NULL);
    if (err == KG_OK && (status < 200 || status > 299)) {
        err = status_error(path, status, *text);
        free(*text);
        *text = NULL;
    }
    return err;
}

static json_t *load(const char *text, size_t len)
{
    return json_loadb(text, len, JSON_DECODE_ANY, NULL);
}

/* Addresses go into the URL path: letters and digits only (Base58 and
 * Bech32 use nothing else), so no path or query can be smuggled in. */
static kg_err check_addr(const char *addr)
{
    size_t n = strlen(addr);
    if (n == 0 || n >= KG_CHAIN_BTC_ADDRESS_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "an address is 1 to %d characters", KG_CHAIN_BTC_ADDRESS_MAX_BYTES - 1);
    for (size_t i = 0; i < n; i++)
        if (!((addr[i] >= '0' && addr[i] <= '9') || (addr[i] >= 'a' && addr[i] <= 'z') ||
              (addr[i] >= 'A' && addr[i] <= 'Z')))
            return kg_err_set(KG_ERR_BAD_INPUT, "an address has letters and digits only");
    return KG_OK;
}

/* A JSON integer in [0, max]. */
static bool get_u64(uint64_t *out, const json_t *obj, const char *field, uint64_t max)
{
    const json_t *v = json_object_get(obj, field);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool read_stats(kg_chain_btc_esplora_stats *s, const json_t *o)
{
    const uint64_t big = UINT64_C(1) << 40; /* counts: anything real is far below */
    return json_is_object(o) && get_u64(&s->funded_count, o, "funded_txo_count", big) &&
           get_u64(&s->funded_sum, o, "funded_txo_sum", KG_CHAIN_BTC_MAX_MONEY) &&
           get_u64(&s->spent_count, o, "spent_txo_count", big) &&
           get_u64(&s->spent_sum, o, "spent_txo_sum", KG_CHAIN_BTC_MAX_MONEY) &&
           get_u64(&s->tx_count, o, "tx_count", big);
}

kg_err kg_chain_btc_esplora_parse_address(kg_chain_btc_esplora_addr_info *out, const char *text, size_t len)
{
    json_t *j = load(text, len);
    kg_err err = KG_OK;
    uint64_t conf, total;
    memset(out, 0, sizeof *out);
    if (!read_stats(&out->chain, json_object_get(j, "chain_stats")) ||
        !read_stats(&out->mempool, json_object_get(j, "mempool_stats")))
        err = kg_err_set(KG_ERR_BAD_JSON, "/address: the reply lacks chain_stats/mempool_stats with whole, "
                         "non-negative amounts");
    json_decref(j);
    if (err == KG_OK)
        err = kg_chain_btc_esplora_balance(&conf, &total, out);
    if (err != KG_OK)
        memset(out, 0, sizeof *out);
    return err;
}

kg_err kg_chain_btc_esplora_address(kg_chain_btc_esplora *c, kg_chain_btc_esplora_addr_info *out, const char *addr)
{
    char path[KG_CHAIN_BTC_ADDRESS_MAX_BYTES + 16], *text = NULL;
    memset(out, 0, sizeof *out);
    kg_err err = check_addr(addr);
    if (err != KG_OK)
        return err;
    snprintf(path, sizeof path, "/address/%s", addr);
    if ((err = get_text(c, &text, path)) != KG_OK)
        return err;
    err = kg_chain_btc_esplora_parse_address(out, text, strlen(text));
    free(text);
    return err;
}

kg_err kg_chain_btc_esplora_balance(uint64_t *confirmed, uint64_t *total, const kg_chain_btc_esplora_addr_info *info)
{
    /* every sum is <= 21e6 BTC (checked on parse), so none of this wraps */
    uint64_t in = info->chain.funded_sum + info->mempool.funded_sum;
    uint64_t spent = info->chain.spent_sum + info->mempool.spent_sum;
    *confirmed = *total = 0;
    if (info->chain.spent_sum > info->chain.funded_sum || spent > in)
        return kg_err_set(KG_ERR_BAD_JSON, "the node reports more spent (%llu sat) than received (%llu sat)",
                          (unsigned long long)spent, (unsigned long long)in);
    *confirmed = info->chain.funded_sum - info->chain.spent_sum;
    *total = in - spent;
    return KG_OK;
}

/* One element of the /utxo array. */
static bool read_utxo(kg_chain_btc_esplora_utxo *u, const json_t *o)
{
    const json_t *st = json_object_get(o, "status");
    const char *txid = json_string_value(json_object_get(o, "txid"));
    uint64_t vout = 0, height = 0;
    memset(u, 0, sizeof *u);
    if (!json_is_object(o) || txid == NULL || kg_chain_btc_txid_parse(u->txid, txid) != KG_OK ||
        !get_u64(&vout, o, "vout", UINT32_MAX) || !get_u64(&u->value, o, "value", KG_CHAIN_BTC_MAX_MONEY) ||
        !json_is_object(st) || !json_is_boolean(json_object_get(st, "confirmed")))
        return false;
    u->vout = (uint32_t)vout;
    u->confirmed = json_is_true(json_object_get(st, "confirmed"));
    if (u->confirmed && !get_u64(&height, st, "block_height", UINT32_MAX))
        return false;
    u->block_height = (uint32_t)height;
    return true;
}

kg_err kg_chain_btc_esplora_parse_utxos(kg_chain_btc_esplora_utxo **out, size_t *count, const char *text, size_t len)
{
    json_t *j = load(text, len);
    size_t n = json_array_size(j);
    kg_chain_btc_esplora_utxo *u = NULL;
    kg_err err = KG_OK;
    *out = NULL;
    *count = 0;
    if (!json_is_array(j))
        err = kg_err_set(KG_ERR_BAD_JSON, "/utxo: the reply is not a JSON array");
    else if (n > 0 && (u = calloc(n, sizeof *u)) == NULL)
        err = kg_err_set(KG_ERR_NOMEM, "out of memory for %zu utxos", n);
    for (size_t i = 0; err == KG_OK && i < n; i++)
        if (!read_utxo(&u[i], json_array_get(j, i)))
            err = kg_err_set(KG_ERR_BAD_JSON, "/utxo: utxo %zu lacks a txid, vout, value (<= 21e6 BTC) or status", i);
    json_decref(j);
    if (err != KG_OK) {
        free(u);
        return err;
    }
    *out = u;
    *count = n;
    return KG_OK;
}

kg_err kg_chain_btc_esplora_utxos(kg_chain_btc_esplora *c, kg_chain_btc_esplora_utxo **out, size_t *count,
                                  const char *addr)
{
    char path[KG_CHAIN_BTC_ADDRESS_MAX_BYTES + 16], *text = NULL;
    *out = NULL;
    *count = 0;
    kg_err err = check_addr(addr);
    if (err != KG_OK)
        return err;
    snprintf(path, sizeof path, "/address/%s/utxo", addr);
    if ((err = get_text(c, &text, path)) != KG_OK)
        return err;
    err = kg_chain_btc_esplora_parse_utxos(out, count, text, strlen(text));
    free(text);
    return err;
}

kg_err kg_chain_btc_esplora_parse_fees(uint64_t *sat_kvb, unsigned target_blocks, const char *text, size_t len)
{
    json_t *j = load(text, len), *v;
    const char *key;
    unsigned long best = 0, largest = 0;
    double rate_best = 0, rate_largest = 0;
    kg_err err = KG_OK;
    *sat_kvb = 0;
    if (!json_is_object(j))
        err = kg_err_set(KG_ERR_BAD_JSON, "/fee-estimates: the reply is not a JSON object");
    json_object_foreach(j, key, v) {
        char *end = NULL;
        unsigned long t = strtoul(key, &end, 10);
        double r = json_number_value(v);
        if (err != KG_OK)
            break;
        if (end == key || *end != '\0' || key[0] < '0' || key[0] > '9' || t == 0 || t > 100000 ||
            !json_is_number(v) || !(r >= 0 && r <= 100000.0)) {
            err = kg_err_set(KG_ERR_BAD_JSON, "/fee-estimates: entry '%.20s' is not <blocks>: <sat/vB up to 100000>", key);
            break;
        }
        if (t >= target_blocks && (best == 0 || t < best)) { best = t; rate_best = r; }
        if (t > largest) { largest = t; rate_largest = r; }
    }
    json_decref(j);
    if (err != KG_OK || largest == 0)
        return err;
    double r = (best != 0 ? rate_best : rate_largest) * 1000.0;
    uint64_t k = (uint64_t)r;
    *sat_kvb = (double)k < r ? k + 1 : k;
    return KG_OK;
}

kg_err kg_chain_btc_esplora_fee_rate(kg_chain_btc_esplora *c, uint64_t *sat_kvb, unsigned target_blocks)
{
    char *text = NULL;
    *sat_kvb = 0;
    kg_err err = get_text(c, &text, "/fee-estimates");
    if (err != KG_OK)
        return err;
    err = kg_chain_btc_esplora_parse_fees(sat_kvb, target_blocks, text, strlen(text));
    free(text);
    return err;
}

kg_err kg_chain_btc_esplora_broadcast(kg_chain_btc_esplora *c, uint8_t txid[static 32], const uint8_t *raw,
                                      size_t raw_len)
{
    char *hex = NULL, *text = NULL, t[301];
    long status = 0;
    memset(txid, 0, 32);
    if (raw_len == 0 || raw_len > KG_CHAIN_BTC_TX_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "a transaction is 1 to %u bytes", KG_CHAIN_BTC_TX_MAX_BYTES);
    if ((hex = malloc(2 * raw_len + 1)) == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_hex_encode(hex, raw, raw_len);
    kg_err err = request(c, &text, &status, "/tx", hex);
    free(hex);
    if (err != KG_OK)
        return err;
    clean_text(t, sizeof t, text);
    if (status == 400)
        err = kg_err_set(KG_ERR_BAD_INPUT, "the node refused the transaction: %s", t[0] ? t : "(no reason given)");
    else if (status < 200 || status > 299)
        err = status_error("/tx", status, text);
    else if (kg_chain_btc_txid_parse(txid, t) != KG_OK)
        err = kg_err_set(KG_ERR_BAD_JSON, "/tx: the node answered '%.80s', not a txid", t);
    free(text);
    return err;
}

kg_err kg_chain_btc_esplora_parse_status(bool *confirmed, uint32_t *block_height, const char *text, size_t len)
{
    json_t *j = load(text, len);
    uint64_t h = 0;
    kg_err err = KG_OK;
    *confirmed = false;
    *block_height = 0;
    if (!json_is_boolean(json_object_get(j, "confirmed")) ||
        (json_is_true(json_object_get(j, "confirmed")) && !get_u64(&h, j, "block_height", UINT32_MAX)))
        err = kg_err_set(KG_ERR_BAD_JSON, "/tx/:txid/status: the reply lacks confirmed/block_height");
    else {
        *confirmed = json_is_true(json_object_get(j, "confirmed"));
        *block_height = (uint32_t)h;
    }
    json_decref(j);
    return err;
}

kg_err kg_chain_btc_esplora_tx_status(kg_chain_btc_esplora *c, bool *confirmed, uint32_t *block_height,
                                      const uint8_t txid[static 32])
{
    char path[96], hex[65], *text = NULL;
    long status = 0;
    *confirmed = false;
    *block_height = 0;
    kg_chain_btc_txid_hex(hex, txid);
    snprintf(path, sizeof path, "/tx/%s/status", hex);
    kg_err err = request(c, &text, &status, path, NULL);
    if (err == KG_OK && status == 404)
        err = kg_err_set(KG_ERR_NOT_FOUND, "transaction %s is neither mined nor in the node's mempool", hex);
    else if (err == KG_OK && (status < 200 || status > 299))
        err = status_error(path, status, text);
    if (err == KG_OK)
        err = kg_chain_btc_esplora_parse_status(confirmed, block_height, text, strlen(text));
    free(text);
    return err;
}
