/* The Solana JSON-RPC client against a tiny HTTP server in a thread on
 * 127.0.0.1 that answers as a Solana node does (solana.com/docs/rpc/http):
 * getBalance and getLatestBlockhash with their {context, value} results
 * and the "confirmed" commitment they must ask for, sendTransaction with
 * base64 encoding (accepted; refused by preflight with error -32002),
 * getSignatureStatuses (unknown twice then confirmed, failed in its block,
 * processed only, never seen), replies of the wrong shape, and an
 * unreachable node. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <kashguard/chain/solana.h>
#include <kashguard/chain/encoding.h>

#include "http_stub.h"

#define BLOCKHASH "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N"

typedef struct {
    atomic_int polls;
    char rich[64];          /* the address that holds 1.5 SOL */
} server;

static server srv;

static bool confirmed_opt(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL && !strcmp(v, "confirmed");
}

/* The status of a signature by its first byte. */
static json_t *status_of(const char *sig58)
{
    uint8_t s[64];
    size_t n = 0;
    if (kg_chain_base58_decode(s, sizeof s, &n, sig58) != KG_OK || n != 64)
        return json_null();
    switch (s[0]) {
    case 0x11:
        if (atomic_fetch_add(&srv.polls, 1) < 2)
            return json_null();
        return json_pack("{s:i, s:i, s:n, s:{s:n}, s:s}", "slot", 77, "confirmations", 1, "err", "status", "Ok",
                         "confirmationStatus", "confirmed");
    case 0x22:
        return json_pack("{s:i, s:n, s:{s:[i,{s:i}]}, s:s}", "slot", 78, "confirmations", "err", "InstructionError",
                         0, "Custom", 1, "confirmationStatus", "finalized");
    case 0x33:
        return json_pack("{s:i, s:i, s:n, s:s}", "slot", 79, "confirmations", 0, "err", "confirmationStatus",
                         "processed");
    default:
        return json_null();
    }
}

static json_t *handle(const char *m, const json_t *params, json_t **error)
{
    if (!strcmp(m, "getBalance")) {
        const char *a = json_string_value(json_array_get(params, 0));
        if (!confirmed_opt(json_array_get(params, 1), "commitment") || a == NULL)
            return json_pack("{s:{s:i}, s:s}", "context", "slot", 1, "value", "not asked right");
        return json_pack("{s:{s:i}, s:I}", "context", "slot", 1, "value",
                         (json_int_t)(!strcmp(a, srv.rich) ? 1500000000 : 0));
    }
    if (!strcmp(m, "getLatestBlockhash")) {
        if (!confirmed_opt(json_array_get(params, 0), "commitment"))
            return json_null();
        return json_pack("{s:{s:i}, s:{s:s, s:i}}", "context", "slot", 2, "value", "blockhash", BLOCKHASH,
                         "lastValidBlockHeight", 3090);
    }
    if (!strcmp(m, "sendTransaction")) {
        const json_t *o = json_array_get(params, 1);
        const char *enc = json_string_value(json_object_get(o, "encoding"));
        kg_bytes tx = { 0 };
        json_t *r = NULL;
        if (enc != NULL && !strcmp(enc, "base64") && confirmed_opt(o, "preflightCommitment") &&
            kg_b64_decode(&tx, json_string_value(json_array_get(params, 0))) == KG_OK && tx.len > 65 &&
            tx.data[0] == 1 && tx.data[1] != 0xee) {
            char s58[100];
            if (kg_chain_base58_encode(s58, sizeof s58, tx.data + 1, 64) == KG_OK)
                r = json_string(s58);
        }
        kg_bytes_free(&tx);
        if (r == NULL)
            *error = json_pack("{s:i, s:s, s:{s:s, s:[s]}}", "code", -32002, "message",
                               "Transaction simulation failed: Attempt to debit an account but found no record of a "
                               "prior credit.", "data", "err", "AccountNotFound", "logs", "none");
        return r;
    }
    if (!strcmp(m, "getSignatureStatuses")) {
        const json_t *sigs = json_array_get(params, 0);
        return json_pack("{s:{s:i}, s:[o]}", "context", "slot", 3, "value",
                         status_of(json_string_value(json_array_get(sigs, 0))));
    }
    *error = json_pack("{s:i, s:s}", "code", -32601, "message", "Method not found");
    return NULL;
}

/* A JSON-RPC request (the body): the reply of handle(). */
static void answer(int c, const http_stub_req *r)
{
    json_t *req = json_loads(r->body, 0, NULL), *error = NULL;
    const char *m = json_string_value(json_object_get(req, "method"));
    json_t *result = handle(m ? m : "", json_object_get(req, "params"), &error);
    json_t *reply = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", json_object_get(req, "id"));
    json_object_set_new(reply, error ? "error" : "result", error ? error : result);
    char *out = json_dumps(reply, JSON_COMPACT);
    http_stub_send_json(c, 200, out ? out : "");
    free(out);
    json_decref(reply);
    json_decref(req);
}

static const uint8_t rich_key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

static int start(void **state)
{
    (void)state;
    if (kg_chain_sol_address(srv.rich, sizeof srv.rich, rich_key) != KG_OK)
        return -1;
    return http_stub_setup(state);
}

static kg_chain_sol_rpc *client(void)
{
    char url[64];
    kg_chain_sol_rpc *c = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", http_stub_server.port);
    assert_int_equal(kg_chain_sol_rpc_new(&c, url, 5000), KG_OK);
    return c;
}

static void test_reads(void **state)
{
    (void)state;
    kg_chain_sol_rpc *c = client();
    uint64_t v = 9;
    uint8_t h[32], want[32], other[32] = { 0 };
    size_t n = 0;
    assert_int_equal(kg_chain_sol_rpc_get_balance(c, &v, rich_key), KG_OK);
    assert_int_equal(v, 1500000000);
    assert_int_equal(kg_chain_sol_rpc_get_balance(c, &v, other), KG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(kg_chain_sol_rpc_latest_blockhash(c, h, &v), KG_OK);
    assert_int_equal(kg_chain_base58_decode(want, sizeof want, &n, BLOCKHASH), KG_OK);
    assert_memory_equal(h, want, 32);
    assert_int_equal(v, 3090);
    assert_int_equal(kg_chain_sol_rpc_latest_blockhash(c, h, NULL), KG_OK);
    kg_chain_sol_rpc_free(c);
}

static void test_send_and_status(void **state)
{
    (void)state;
    kg_chain_sol_rpc *c = client();
    uint8_t tx[150], sig[64];
    char txerr[200];
    kg_chain_sol_tx_status st;
    memset(tx, 0x5a, sizeof tx);
    tx[0] = 1;
    tx[1] = 0x11;
    assert_int_equal(kg_chain_sol_rpc_send_tx(c, sig, tx, sizeof tx), KG_OK);
    assert_memory_equal(sig, tx + 1, 64);
    /* refused by preflight: the node's code and message */
    tx[1] = 0xee;
    assert_int_equal(kg_chain_sol_rpc_send_tx(c, sig, tx, sizeof tx), KG_ERR_BAD_INPUT);
    const char *d = kg_err_detail(KG_ERR_BAD_INPUT);
    assert_non_null(strstr(d, "sendTransaction"));
    assert_non_null(strstr(d, "-32002"));
    assert_non_null(strstr(d, "Transaction simulation failed"));
    assert_int_equal(sig[0], 0);
    assert_int_equal(kg_chain_sol_rpc_send_tx(c, sig, tx, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_sol_rpc_send_tx(c, sig, tx, KG_CHAIN_SOL_TX_MAX_BYTES + 1), KG_ERR_BAD_INPUT);

    memset(sig, 0x5a, 64);
    sig[0] = 0x11;
    atomic_store(&srv.polls, 0);
    assert_int_equal(kg_chain_sol_rpc_signature_status(c, &st, txerr, sizeof txerr, sig), KG_OK);
    assert_int_equal(st, KG_CHAIN_SOL_TX_UNKNOWN);
    atomic_store(&srv.polls, 0);
    assert_int_equal(kg_chain_sol_rpc_wait_confirmed(c, sig, 10, 5000), KG_OK);
    assert_int_equal(kg_chain_sol_rpc_signature_status(c, &st, NULL, 0, sig), KG_OK);
    assert_int_equal(st, KG_CHAIN_SOL_TX_CONFIRMED);

    sig[0] = 0x22;
    assert_int_equal(kg_chain_sol_rpc_signature_status(c, &st, txerr, sizeof txerr, sig), KG_OK);
    assert_int_equal(st, KG_CHAIN_SOL_TX_FAILED);
    assert_string_equal(txerr, "{\"InstructionError\":[0,{\"Custom\":1}]}");
    assert_int_equal(kg_chain_sol_rpc_wait_confirmed(c, sig, 10, 5000), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "failed in its block"));

    sig[0] = 0x33;
    assert_int_equal(kg_chain_sol_rpc_signature_status(c, &st, txerr, sizeof txerr, sig), KG_OK);
    assert_int_equal(st, KG_CHAIN_SOL_TX_PROCESSED);
    assert_int_equal(kg_chain_sol_rpc_wait_confirmed(c, sig, 10, 30), KG_ERR_NOT_FOUND);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NOT_FOUND), "processed only"));
    sig[0] = 0x44;
    assert_int_equal(kg_chain_sol_rpc_wait_confirmed(c, sig, 10, 30), KG_ERR_NOT_FOUND);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NOT_FOUND), "does not know it"));
    kg_chain_sol_rpc_free(c);
}

static void test_errors(void **state)
{
    (void)state;
    kg_chain_sol_rpc *c = NULL;
    uint64_t v = 9;
    uint8_t h[32];
    assert_int_equal(kg_chain_sol_rpc_new(&c, "http://127.0.0.1:1/", 1000), KG_OK); /* nothing listens */
    assert_int_equal(kg_chain_sol_rpc_get_balance(c, &v, rich_key), KG_ERR_NETWORK);
    assert_int_equal(v, 0);
    assert_int_equal(kg_chain_sol_rpc_latest_blockhash(c, h, &v), KG_ERR_NETWORK);
    kg_chain_sol_rpc_free(c);
    assert_int_equal(kg_chain_sol_rpc_new(&c, "localhost:8899", 1000), KG_ERR_BAD_INPUT);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads),
        cmocka_unit_test(test_send_and_status),
        cmocka_unit_test(test_errors),
    };
    http_stub_server.handler = answer;
    return cmocka_run_group_tests(tests, start, http_stub_teardown);
}
