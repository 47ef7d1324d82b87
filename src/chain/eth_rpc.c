/* An Ethereum JSON-RPC 2.0 client over HTTP(S) (jansson; libcurl through http_rpc.c).
 *
 * One POST per call: {"jsonrpc":"2.0","id":N,"method":..,"params":[..]}.
 * The reply is {"jsonrpc":"2.0","id":N,"result":..} or, when the node
 * refuses, {"error":{"code":-32000,"message":"nonce too low"}}. Errors are
 * split by whose fault they are, so callers (and the CLI's exit codes) can
 * tell them apart:
 *   KG_ERR_NETWORK   could not connect, timed out, HTTP status not 2xx;
 *   KG_ERR_BAD_JSON  the reply is not a JSON-RPC response for our id;
 *   KG_ERR_BAD_INPUT the node answered with an error object (its code and
 *                    message are in the detail, with the method name).
 * Quantities are "0x" hex without leading zeros and data is "0x" hex, as
 * the Ethereum JSON-RPC specification ("hex encoding") says. Replies are
 * capped at 16 MiB; only http and https URLs are followed; each call has
 * a total timeout. This file is server/CLI side only: the firmware never
 * talks to a node. */
#include "eth_int.h"
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPLY (16u << 20)

struct kg_chain_eth_rpc {
    kg_chain_http *http;
    char *url;
    json_int_t next_id;
};

kg_err kg_chain_eth_rpc_new(kg_chain_eth_rpc **out, const char *url, long timeout_ms)
{
    *out = NULL;
    if (!kg_chain_http_url_ok(url))
        return kg_err_set(KG_ERR_BAD_INPUT, "node URL must start with http:// or https://");
    kg_chain_eth_rpc *c = calloc(1, sizeof *c);
    if (c == NULL || (c->url = strdup(url)) == NULL ||
        kg_chain_http_new(&c->http, timeout_ms > 0 ? timeout_ms : 10000) != KG_OK) {
        kg_chain_eth_rpc_free(c);
        return kg_err_set(KG_ERR_NOMEM, "cannot create the JSON-RPC client");
    }
    c->next_id = 1;
    *out = c;
    return KG_OK;
}

void kg_chain_eth_rpc_free(kg_chain_eth_rpc *c)
{
    if (c == NULL)
        return;
    kg_chain_http_free(c->http);
    free(c->url);
    free(c);
}

/* POST body; *reply gets the parsed JSON (any HTTP status with a JSON body). */
static kg_err post(kg_chain_eth_rpc *c, json_t **reply, long *status, const char *method, const char *body)
{
    static const char *const headers[] = { "Content-Type: application/json", NULL };
    const kg_chain_http_req req = {
        .label = method, .url = c->url, .server = c->url, .headers = headers, .body = body, .max_reply = MAX_REPLY,
    };
    char *text = NULL;
    size_t len = 0;
    *reply = NULL;
    kg_err err = kg_chain_http_request(c->http, status, &text, &len, &req);
    if (err == KG_OK && text != NULL)
        *reply = json_loadb(text, len, 0, NULL);
    if (err == KG_OK && *reply == NULL && (*status < 200 || *status > 299))
        err = kg_err_set(KG_ERR_NETWORK, "%s: %s answered HTTP %ld", method, c->url, *status);
    else if (err == KG_OK && *reply == NULL)
        err = kg_err_set(KG_ERR_BAD_JSON, "%s: the node's reply is not JSON", method);
    free(text);
    return err;
}

/* The result of a JSON-RPC reply, or the error it carries. */
static kg_err unwrap(json_t **result, json_t *reply, long status, json_int_t id, const char *method)
{
    json_t *e = json_object_get(reply, "error");
    if (json_is_object(e)) {
        const char *msg = json_string_value(json_object_get(e, "message"));
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: the node answered error %lld: %.300s", method,
                          (long long)json_integer_value(json_object_get(e, "code")), msg ? msg : "(no message)");
    }
    if (status < 200 || status > 299)
        return kg_err_set(KG_ERR_NETWORK, "%s: the node answered HTTP %ld", method, status);
    json_t *res = json_object_get(reply, "result");
    if (!json_is_object(reply) || res == NULL || json_integer_value(json_object_get(reply, "id")) != id)
        return kg_err_set(KG_ERR_BAD_JSON, "%s: the reply is not a JSON-RPC 2.0 response to this request", method);
    *result = json_incref(res);
    return KG_OK;
}

kg_err kg_chain_eth_rpc_call(kg_chain_eth_rpc *c, json_t **result, const char *method, json_t *params)
{
    *result = NULL;
    json_int_t id = c->next_id++;
    json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", id, "method", method, "params",
                            params != NULL ? params : json_array());
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL)
        return kg_err_set(KG_ERR_NOMEM, "%s: cannot build the request", method);
    json_t *reply = NULL;
    long status = 0;
    kg_err err = post(c, &reply, &status, method, body);
    free(body);
    if (err == KG_OK)
        err = unwrap(result, reply, status, id, method);
    json_decref(reply);
    return err;
}

/* --------------------------------------------------------------- helpers */

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    if (s == NULL)
        return NULL;
    s[0] = '0';
    s[1] = 'x';
    kg_hex_encode(s + 2, p, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static kg_err quantity(uint8_t out[static 32], const json_t *j, const char *method, const char *what)
{
    const char *s = json_string_value(j);
    if (s == NULL || kg_chain_eth_u256_from_hex(out, s, false) != KG_OK) {
        memset(out, 0, 32);
        return kg_err_set(KG_ERR_BAD_JSON, "%s: %s in the reply is not a hex quantity", method, what);
    }
    return KG_OK;
}

static kg_err quantity64(uint64_t *out, const json_t *j, const char *method, const char *what)
{
    uint8_t w[32];
    kg_err err = quantity(w, j, method, what);
    if (err == KG_OK && kg_chain_eth_u256_to_u64(out, w) != KG_OK)
        err = kg_err_set(KG_ERR_BAD_JSON, "%s: %s in the reply does not fit in 64 bits", method, what);
    return err;
}

/* Call, then read a quantity result. */
static kg_err call_quantity(kg_chain_eth_rpc *c, uint8_t out[static 32], const char *method, json_t *params)
{
    json_t *res = NULL;
    memset(out, 0, 32);
    kg_err err = kg_chain_eth_rpc_call(c, &res, method, params);
    if (err == KG_OK)
        err = quantity(out, res, method, "result");
    json_decref(res);
    return err;
}

static json_t *call_object(const kg_chain_eth_call *call)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (call->has_from)
        json_object_set_new(o, "from", hex_json(call->from, 20));
    if (call->has_to)
        json_object_set_new(o, "to", hex_json(call->to, 20));
    if (!kg_chain_eth_is_zero(call->value, 32)) {
        char q[67];
        kg_chain_eth_u256_to_hex(q, call->value);
        json_object_set_new(o, "value", json_string(q));
    }
    if (call->data_len > 0)
        json_object_set_new(o, "data", hex_json(call->data, call->data_len));
    return o;
}

/* --------------------------------------------------------------- methods */

kg_err kg_chain_eth_rpc_chain_id(kg_chain_eth_rpc *c, uint64_t *out)
{
    uint8_t w[32];
    *out = 0;
    kg_err err = call_quantity(c, w, "eth_chainId", NULL);
    if (err == KG_OK && kg_chain_eth_u256_to_u64(out, w) != KG_OK)
        err = kg_err_set(KG_ERR_BAD_JSON, "eth_chainId: the chain id does not fit in 64 bits");
    return err;
}

kg_err kg_chain_eth_rpc_get_balance(kg_chain_eth_rpc *c, uint8_t out[static 32], const uint8_t addr[static 20])
{
    return call_quantity(c, out, "eth_getBalance", json_pack("[o, s]", hex_json(addr, 20), "latest"));
}

kg_err kg_chain_eth_rpc_get_nonce(kg_chain_eth_rpc *c, uint64_t *out, const uint8_t addr[static 20])
{
    json_t *res = NULL;
    *out = 0;
    kg_err err = kg_chain_eth_rpc_call(c, &res, "eth_getTransactionCount",
                                       json_pack("[o, s]", hex_json(addr, 20), "pending"));
    if (err == KG_OK)
        err = quantity64(out, res, "eth_getTransactionCount", "result");
    json_decref(res);
    return err;
}

kg_err kg_chain_eth_rpc_estimate_gas(kg_chain_eth_rpc *c, uint64_t *out, const kg_chain_eth_call *call)
{
    json_t *res = NULL;
    *out = 0;
    kg_err err = kg_chain_eth_rpc_call(c, &res, "eth_estimateGas", json_pack("[o]", call_object(call)));
    if (err == KG_OK)
        err = quantity64(out, res, "eth_estimateGas", "result");
    json_decref(res);
    return err;
}

kg_err kg_chain_eth_rpc_gas_price(kg_chain_eth_rpc *c, uint8_t out[static 32])
{
    return call_quantity(c, out, "eth_gasPrice", NULL);
}

/* Median (upper) of the first reward of each block. */
static kg_err reward_median(uint8_t out[static 32], const json_t *reward)
{
    size_t n = json_array_size(reward);
    memset(out, 0, 32);
    if (n == 0)
        return KG_OK;
    uint8_t (*v)[32] = calloc(n, 32);
    if (v == NULL)
        return kg_err_set(KG_ERR_NOMEM, "eth_feeHistory: out of memory");
    kg_err err = KG_OK;
    for (size_t i = 0; i < n && err == KG_OK; i++) {
        err = quantity(v[i], json_array_get(json_array_get(reward, i), 0), "eth_feeHistory", "reward");
        for (size_t j = i; err == KG_OK && j > 0 && memcmp(v[j - 1], v[j], 32) > 0; j--) {
            uint8_t t[32];
            memcpy(t, v[j], 32);
            memcpy(v[j], v[j - 1], 32);
            memcpy(v[j - 1], t, 32);
        }
    }
    if (err == KG_OK)
        memcpy(out, v[n / 2], 32);
    free(v);
    return err;
}

kg_err kg_chain_eth_rpc_fee_history(kg_chain_eth_rpc *c, kg_chain_eth_fee_history *out, unsigned block_count,
                                    double percentile)
{
    json_t *res = NULL;
    char q[32];
    memset(out, 0, sizeof *out);
    if (block_count < 1 || block_count > 1024 || !(percentile >= 0 && percentile <= 100))
        return kg_err_set(KG_ERR_BAD_INPUT, "eth_feeHistory: block count must be 1..1024 and percentile 0..100");
    snprintf(q, sizeof q, "0x%x", block_count);
    kg_err err = kg_chain_eth_rpc_call(c, &res, "eth_feeHistory", json_pack("[s, s, [f]]", q, "latest", percentile));
    if (err != KG_OK)
        return err;
    json_t *base = json_object_get(res, "baseFeePerGas");
    size_t nb = json_array_size(base);
    if (nb == 0)
        err = kg_err_set(KG_ERR_BAD_JSON, "eth_feeHistory: the reply has no baseFeePerGas (pre-London chain?)");
    if (err == KG_OK)
        err = quantity(out->base_fee_next, json_array_get(base, nb - 1), "eth_feeHistory", "baseFeePerGas");
    if (err == KG_OK)
        err = quantity64(&out->oldest_block, json_object_get(res, "oldestBlock"), "eth_feeHistory", "oldestBlock");
    if (err == KG_OK)
        err = reward_median(out->priority_fee, json_object_get(res, "reward"));
    json_decref(res);
    if (err != KG_OK)
        memset(out, 0, sizeof *out);
    return err;
}

kg_err kg_chain_eth_rpc_call_contract(kg_chain_eth_rpc *c, kg_bytes *out, const kg_chain_eth_call *call)
{
    json_t *res = NULL;
    out->data = NULL;
    out->len = 0;
    kg_err err = kg_chain_eth_rpc_call(c, &res, "eth_call", json_pack("[o, s]", call_object(call), "latest"));
    if (err != KG_OK)
        return err;
    const char *s = json_string_value(res);
    size_t cap = s ? strlen(s) / 2 : 0, n = 0;
    uint8_t *b = malloc(cap ? cap : 1);
    if (b == NULL)
        err = kg_err_set(KG_ERR_NOMEM, "eth_call: out of memory");
    else if (s == NULL || strncmp(s, "0x", 2) != 0 || kg_hex_decode(b, cap, &n, s) != KG_OK)
        err = kg_err_set(KG_ERR_BAD_JSON, "eth_call: the result is not 0x-prefixed hex data");
    if (err == KG_OK) {
        out->data = b;
        out->len = n;
    } else {
        free(b);
    }
    json_decref(res);
    return err;
}

kg_err kg_chain_eth_rpc_send_raw(kg_chain_eth_rpc *c, uint8_t tx_hash[static 32], const uint8_t *raw, size_t raw_len)
{
    json_t *res = NULL;
    size_t n = 0;
    memset(tx_hash, 0, 32);
    kg_err err = kg_chain_eth_rpc_call(c, &res, "eth_sendRawTransaction", json_pack("[o]", hex_json(raw, raw_len)));
    if (err == KG_OK && (json_string_value(res) == NULL || kg_hex_decode(tx_hash, 32, &n, json_string_value(res)) != KG_OK || n != 32)) {
        memset(tx_hash, 0, 32);
        err = kg_err_set(KG_ERR_BAD_JSON, "eth_sendRawTransaction: the result is not a 32-byte hash");
    }
    json_decref(res);
    return err;
}

static kg_err parse_receipt(kg_chain_eth_receipt *out, const json_t *r)
{
    static const char m[] = "eth_getTransactionReceipt";
    uint64_t status = 0;
    size_t n = 0;
    const char *h = json_string_value(json_object_get(r, "transactionHash"));
    if (h == NULL || kg_hex_decode(out->tx_hash, 32, &n, h) != KG_OK || n != 32)
        return kg_err_set(KG_ERR_BAD_JSON, "%s: transactionHash is not a 32-byte hash", m);
    kg_err err = quantity64(&out->block_number, json_object_get(r, "blockNumber"), m, "blockNumber");
    if (err == KG_OK)
        err = quantity64(&out->gas_used, json_object_get(r, "gasUsed"), m, "gasUsed");
    if (err == KG_OK)
        err = quantity64(&status, json_object_get(r, "status"), m, "status");
    if (err == KG_OK && json_object_get(r, "effectiveGasPrice") != NULL)
        err = quantity(out->effective_gas_price, json_object_get(r, "effectiveGasPrice"), m, "effectiveGasPrice");
    const char *ca = json_string_value(json_object_get(r, "contractAddress"));
    if (err == KG_OK && ca != NULL) {
        if (kg_hex_decode(out->contract_address, 20, &n, ca) != KG_OK || n != 20)
            return kg_err_set(KG_ERR_BAD_JSON, "%s: contractAddress is not an address", m);
        out->has_contract = true;
    }
    out->success = status == 1;
    return err;
}

kg_err kg_chain_eth_rpc_get_receipt(kg_chain_eth_rpc *c, kg_chain_eth_receipt *out, bool *found,
                                    const uint8_t tx_hash[static 32])
{
    json_t *res = NULL;
    memset(out, 0, sizeof *out);
    *found = false;
    kg_err err = kg_chain_eth_rpc_call(c, &res, "eth_getTransactionReceipt", json_pack("[o]", hex_json(tx_hash, 32)));
    if (err == KG_OK && !json_is_null(res)) {
        err = parse_receipt(out, res);
        *found = err == KG_OK;
    }
    if (err != KG_OK)
        memset(out, 0, sizeof *out);
    json_decref(res);
    return err;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kg_err kg_chain_eth_rpc_wait_receipt(kg_chain_eth_rpc *c, kg_chain_eth_receipt *out, const uint8_t tx_hash[static 32],
                                     long poll_ms, long max_wait_ms)
{
    long start = now_ms();
    if (poll_ms <= 0)
        poll_ms = 1000;
    for (;;) {
        bool found = false;
        kg_err err = kg_chain_eth_rpc_get_receipt(c, out, &found, tx_hash);
        if (err != KG_OK || found)
            return err;
        long elapsed = now_ms() - start;
        if (elapsed >= max_wait_ms)
            break;
        long nap = poll_ms < max_wait_ms - elapsed ? poll_ms : max_wait_ms - elapsed;
        struct timespec ts = { nap / 1000, (nap % 1000) * 1000000 };
        nanosleep(&ts, NULL);
    }
    return kg_err_set(KG_ERR_NOT_FOUND, "transaction not mined within %ld ms; check it later with its hash",
                      max_wait_ms);
}
