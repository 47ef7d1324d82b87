/* A client of a Solana node's JSON-RPC API (docs: solana.com/docs/rpc/http).
 *
 * Four methods are enough to pay from a wallet:
 *   getBalance [addr, {commitment}]               -> {context, value: lamports}
 *   getLatestBlockhash [{commitment}]             -> {context, value: {blockhash, lastValidBlockHeight}}
 *   sendTransaction [b64, {encoding: "base64", preflightCommitment}] -> signature (Base58)
 *   getSignatureStatuses [[sig], {searchTransactionHistory}]
 *                            -> {context, value: [null | {slot, confirmations, err, confirmationStatus}]}
 * Reads use commitment "confirmed" (voted on by a supermajority): a balance
 * read right after a confirmed transfer then shows it, which "finalized"
 * would not for another ~13 s. sendTransaction keeps the node's preflight
 * simulation on, so a transfer the runtime would reject (insufficient
 * funds, a bad signature, an expired blockhash) is refused before it is
 * forwarded and costs nothing; the node's message (with the simulation's
 * error) reaches the caller. A transaction that passed preflight can still
 * fail in its block: getSignatureStatuses then reports err != null.
 *
 * The transport is JSON-RPC 2.0 over HTTP, the same as Ethereum's, so this
 * file wraps kg_chain_eth_rpc_call (eth_rpc.c: timeouts, reply cap, id
 * check, error objects) instead of a second copy of it. Server/CLI side
 * only: the "_rpc" suffix keeps it out of firmware builds. */
#include "solana_rpc_int.h"
#include <kashguard/chain/ethereum.h>
#include <kashguard/chain/encoding.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kg_chain_sol_rpc {
    kg_chain_eth_rpc *rpc;
};

kg_err kg_chain_sol_rpc_new(kg_chain_sol_rpc **out, const char *url, long timeout_ms)
{
    *out = NULL;
    kg_chain_sol_rpc *c = calloc(1, sizeof *c);
    if (c == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot create the JSON-RPC client");
    kg_err err = kg_chain_eth_rpc_new(&c->rpc, url, timeout_ms);
    if (err != KG_OK) {
        free(c);
        return err;
    }
    *out = c;
    return KG_OK;
}

void kg_chain_sol_rpc_free(kg_chain_sol_rpc *c)
{
    if (c == NULL)
        return;
    kg_chain_eth_rpc_free(c->rpc);
    free(c);
}

static json_t *commitment(void)
{
    return json_pack("{s:s}", "commitment", "confirmed");
}

/* A JSON integer >= 0. */
static bool get_u64(uint64_t *out, const json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Base58 of n bytes into out; false when it is not exactly n bytes. */
static bool b58_exact(uint8_t *out, size_t n, const char *s)
{
    uint8_t buf[80];
    size_t len = 0;
    if (s == NULL || kg_chain_base58_decode(buf, sizeof buf, &len, s) != KG_OK || len != n)
        return false;
    memcpy(out, buf, n);
    return true;
}

static kg_err balance_from(uint64_t *lamports, const json_t *res)
{
    *lamports = 0;
    if (!get_u64(lamports, json_object_get(res, "value")))
        return kg_err_set(KG_ERR_BAD_JSON, "getBalance: the result has no value in lamports");
    return KG_OK;
}

kg_err kg_chain_sol_rpc_get_balance(kg_chain_sol_rpc *c, uint64_t *lamports, const uint8_t pub[static 32])
{
    char addr[KG_CHAIN_SOL_ADDRESS_MAX_BYTES];
    json_t *res = NULL;
    *lamports = 0;
    kg_err err = kg_chain_sol_address(addr, sizeof addr, pub);
    if (err == KG_OK)
        err = kg_chain_eth_rpc_call(c->rpc, &res, "getBalance", json_pack("[s, o]", addr, commitment()));
    if (err == KG_OK)
        err = balance_from(lamports, res);
    json_decref(res);
    return err;
}

static kg_err blockhash_from(uint8_t hash[static 32], uint64_t *last_valid, const json_t *res)
{
    const json_t *v = json_object_get(res, "value");
    uint64_t lv = 0;
    if (!b58_exact(hash, 32, json_string_value(json_object_get(v, "blockhash"))) ||
        !get_u64(&lv, json_object_get(v, "lastValidBlockHeight"))) {
        memset(hash, 0, 32);
        return kg_err_set(KG_ERR_BAD_JSON, "getLatestBlockhash: the result has no 32-byte Base58 blockhash and "
                          "lastValidBlockHeight");
    }
    if (last_valid != NULL)
        *last_valid = lv;
    return KG_OK;
}

kg_err kg_chain_sol_rpc_latest_blockhash(kg_chain_sol_rpc *c, uint8_t hash[static 32], uint64_t *last_valid)
{
    json_t *res = NULL;
    memset(hash, 0, 32);
    if (last_valid != NULL)
        *last_valid = 0;
    kg_err err = kg_chain_eth_rpc_call(c->rpc, &res, "getLatestBlockhash", json_pack("[o]", commitment()));
    if (err == KG_OK)
        err = blockhash_from(hash, last_valid, res);
    json_decref(res);
    return err;
}

static kg_err signature_from(uint8_t sig[static 64], const json_t *res)
{
    if (!b58_exact(sig, 64, json_string_value(res))) {
        memset(sig, 0, 64);
        return kg_err_set(KG_ERR_BAD_JSON, "sendTransaction: the result is not a Base58 signature of 64 bytes");
    }
    return KG_OK;
}

kg_err kg_chain_sol_rpc_send_tx(kg_chain_sol_rpc *c, uint8_t sig[static 64], const uint8_t *tx, size_t tx_len)
{
    json_t *res = NULL;
    memset(sig, 0, 64);
    if (tx_len == 0 || tx_len > KG_CHAIN_SOL_TX_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "sendTransaction: a transaction is 1..%d bytes, not %zu",
                          KG_CHAIN_SOL_TX_MAX_BYTES, tx_len);
    char b64[KG_CHAIN_SOL_TX_MAX_BYTES / 3 * 4 + 8];
    kg_b64_encode(b64, tx, tx_len);
    kg_err err = kg_chain_eth_rpc_call(c->rpc, &res, "sendTransaction",
                                       json_pack("[s, {s:s, s:s}]", b64, "encoding", "base64",
                                                 "preflightCommitment", "confirmed"));
    if (err == KG_OK)
        err = signature_from(sig, res);
    json_decref(res);
    return err;
}

static kg_err status_from(kg_chain_sol_tx_status *out, char *err_out, size_t err_cap, const json_t *res)
{
    const json_t *v = json_object_get(res, "value"), *st = json_array_get(v, 0);
    const char *cs = json_string_value(json_object_get(st, "confirmationStatus"));
    const json_t *txerr = json_object_get(st, "err");
    *out = KG_CHAIN_SOL_TX_UNKNOWN;
    if (err_out != NULL && err_cap > 0)
        err_out[0] = '\0';
    if (!json_is_array(v) || json_array_size(v) != 1 || !(json_is_null(st) || json_is_object(st)))
        return kg_err_set(KG_ERR_BAD_JSON, "getSignatureStatuses: the result is not one status");
    if (json_is_object(st) && txerr != NULL && !json_is_null(txerr)) {
        *out = KG_CHAIN_SOL_TX_FAILED;
        char *e = json_dumps(txerr, JSON_COMPACT | JSON_ENCODE_ANY);
        if (err_out != NULL && err_cap > 0 && e != NULL) {
            strncpy(err_out, e, err_cap - 1);
            err_out[err_cap - 1] = '\0';
        }
        free(e);
    } else if (json_is_object(st)) {
        *out = cs == NULL                  ? KG_CHAIN_SOL_TX_PROCESSED /* old nodes: confirmations only */
               : !strcmp(cs, "finalized") ? KG_CHAIN_SOL_TX_FINALIZED
               : !strcmp(cs, "confirmed") ? KG_CHAIN_SOL_TX_CONFIRMED
                                          : KG_CHAIN_SOL_TX_PROCESSED;
    }
    return KG_OK;
}

kg_err kg_chain_sol_rpc_signature_status(kg_chain_sol_rpc *c, kg_chain_sol_tx_status *out, char *err_out,
                                         size_t err_cap, const uint8_t sig[static 64])
{
    char s58[KG_CHAIN_BASE58_MAX_LEN(64) + 1];
    json_t *res = NULL;
    *out = KG_CHAIN_SOL_TX_UNKNOWN;
    if (err_out != NULL && err_cap > 0)
        err_out[0] = '\0';
    kg_err err = kg_chain_base58_encode(s58, sizeof s58, sig, 64);
    if (err == KG_OK)
        err = kg_chain_eth_rpc_call(c->rpc, &res, "getSignatureStatuses",
                                    json_pack("[[s], {s:b}]", s58, "searchTransactionHistory", 1));
    if (err == KG_OK)
        err = status_from(out, err_out, err_cap, res);
    json_decref(res);
    return err;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kg_err kg_chain_sol_rpc_wait_confirmed(kg_chain_sol_rpc *c, const uint8_t sig[static 64], long poll_ms,
                                       long max_wait_ms)
{
    long end = now_ms() + (max_wait_ms > 0 ? max_wait_ms : 0);
    char txerr[300];
    kg_chain_sol_tx_status st = KG_CHAIN_SOL_TX_UNKNOWN;
    for (;;) {
        kg_err err = kg_chain_sol_rpc_signature_status(c, &st, txerr, sizeof txerr, sig);
        if (err != KG_OK)
            return err;
        if (st == KG_CHAIN_SOL_TX_FAILED)
            return kg_err_set(KG_ERR_BAD_INPUT, "the transaction failed in its block (the fee was paid): %s", txerr);
        if (st == KG_CHAIN_SOL_TX_CONFIRMED || st == KG_CHAIN_SOL_TX_FINALIZED)
            return KG_OK;
        if (now_ms() >= end)
            return kg_err_set(KG_ERR_NOT_FOUND, "the transaction is not confirmed after %ld ms (%s)", max_wait_ms,
                              st == KG_CHAIN_SOL_TX_UNKNOWN ? "the node does not know it" : "processed only");
        long ms = poll_ms > 0 ? poll_ms : 500;
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
}

/* ----------------------------------------------- parsers of result text */

static json_t *load(const char *text, size_t len, kg_err *err)
{
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    *err = j != NULL ? KG_OK : kg_err_set(KG_ERR_BAD_JSON, "the result is not JSON");
    return j;
}

kg_err kg_chain_sol_parse_balance(uint64_t *lamports, const char *text, size_t len)
{
    kg_err err;
    json_t *j = load(text, len, &err);
    *lamports = 0;
    if (err == KG_OK)
        err = balance_from(lamports, j);
    json_decref(j);
    return err;
}

kg_err kg_chain_sol_parse_blockhash(uint8_t hash[static 32], uint64_t *last_valid, const char *text, size_t len)
{
    kg_err err;
    json_t *j = load(text, len, &err);
    memset(hash, 0, 32);
    if (last_valid != NULL)
        *last_valid = 0;
    if (err == KG_OK)
        err = blockhash_from(hash, last_valid, j);
    json_decref(j);
    return err;
}

kg_err kg_chain_sol_parse_signature(uint8_t sig[static 64], const char *text, size_t len)
{
    kg_err err;
    json_t *j = load(text, len, &err);
    memset(sig, 0, 64);
    if (err == KG_OK)
        err = signature_from(sig, j);
    json_decref(j);
    return err;
}

kg_err kg_chain_sol_parse_status(kg_chain_sol_tx_status *out, char *err_out, size_t err_cap, const char *text,
                                 size_t len)
{
    kg_err err;
    json_t *j = load(text, len, &err);
    *out = KG_CHAIN_SOL_TX_UNKNOWN;
    if (err_out != NULL && err_cap > 0)
        err_out[0] = '\0';
    if (err == KG_OK)
        err = status_from(out, err_out, err_cap, j);
    json_decref(j);
    return err;
}
