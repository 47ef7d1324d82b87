/* The Cosmos REST (LCD) client against a tiny HTTP server in a thread on
 * 127.0.0.1 that answers the way the SDK's gRPC-gateway does: 64-bit
 * numbers as strings, google.rpc.Status error bodies, 404/NotFound for a
 * missing account or a tx in no block yet. Covered: account (BaseAccount,
 * a vesting account, a proto3-omitted sequence, an unknown account), a
 * balance with an IBC denom that must be URL-escaped, node_info, a
 * broadcast accepted and one refused (code 32), waiting for a tx that
 * shows up after two polls, one that failed in its block, one that never
 * shows, HTTP 400/500, a reply that is not JSON, a timeout, an unreachable
 * node and the tx hash (SHA-256 test vector). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <kashguard/chain/cosmos.h>

#include "http_stub.h"

#include <time.h>

#define OK_HASH "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD" /* SHA256("abc") */
#define FAIL_HASH "1111111111111111111111111111111111111111111111111111111111111111"
#define NEVER_HASH "2222222222222222222222222222222222222222222222222222222222222222"

typedef struct {
    atomic_int tx_polls;
    atomic_int mode;   /* 0 normal, 1 slow, 2 not JSON, 3 HTTP 500 empty */
    char last_path[512];
    char last_body[4096];
} server;

static server srv;

static void tx_response(int c, const char *hash, int code, const char *height, const char *log)
{
    char b[1024];
    snprintf(b, sizeof b,
             "{\"tx\":null,\"tx_response\":{\"height\":\"%s\",\"txhash\":\"%s\",\"codespace\":\"%s\",\"code\":%d,"
             "\"data\":\"\",\"raw_log\":\"%s\",\"logs\":[],\"info\":\"\",\"gas_wanted\":\"200000\","
             "\"gas_used\":\"%s\",\"events\":[]}}",
             height, hash, code ? "sdk" : "", code, log, code ? "0" : "81234");
    http_stub_send_json(c, 200, b);
}

static void answer(int c, const char *method, const char *path, const char *body)
{
    static const char acc[] = "/cosmos/auth/v1beta1/accounts/";
    static const char bal[] = "/cosmos/bank/v1beta1/balances/";
    static const char txs[] = "/cosmos/tx/v1beta1/txs";
    int mode = atomic_load(&srv.mode);
    snprintf(srv.last_path, sizeof srv.last_path, "%s", path);
    snprintf(srv.last_body, sizeof srv.last_body, "%s", body);
    if (mode == 1) {
        struct timespec ts = { 0, 700 * 1000000L };
        nanosleep(&ts, NULL);
    } else if (mode == 2) {
        http_stub_send_json(c, 200, "this is not json");
        return;
    } else if (mode == 3) {
        http_stub_send_json(c, 500, "");
        return;
    }
    if (!strcmp(method, "GET") && !strncmp(path, acc, sizeof acc - 1)) {
        const char *a = path + sizeof acc - 1;
        if (!strcmp(a, "cosmos1base"))
            http_stub_send_json(c, 200, "{\"account\":{\"@type\":\"/cosmos.auth.v1beta1.BaseAccount\",\"address\":\"cosmos1base\","
                               "\"pub_key\":null,\"account_number\":\"12\",\"sequence\":\"3\"}}");
        else if (!strcmp(a, "cosmos1vest"))
            http_stub_send_json(c, 200, "{\"account\":{\"@type\":\"/cosmos.vesting.v1beta1.ContinuousVestingAccount\","
                               "\"base_vesting_account\":{\"base_account\":{\"address\":\"cosmos1vest\","
                               "\"account_number\":\"18446744073709551615\"},\"original_vesting\":[]}}}");
        else if (!strcmp(a, "cosmos1weird"))
            http_stub_send_json(c, 200, "{\"account\":{\"@type\":\"/x\",\"account_number\":\"-1\",\"sequence\":\"0\"}}");
        else
            http_stub_send_json(c, 404, "{\"code\":5,\"message\":\"rpc error: code = NotFound desc = account not found: key "
                               "not found\",\"details\":[]}");
    } else if (!strcmp(method, "GET") && !strncmp(path, bal, sizeof bal - 1)) {
        if (strstr(path, "cosmos1bad"))
            http_stub_send_json(c, 400, "{\"code\":3,\"message\":\"invalid address:\\ndecoding bech32 failed\",\"details\":[]}");
        else if (strstr(path, "/by_denom?denom=ibc%2F27394FB0"))
            http_stub_send_json(c, 200, "{\"balance\":{\"denom\":\"ibc/27394FB0\",\"amount\":\"123456789012345678901234567890\"}}");
        else if (strstr(path, "/by_denom?denom=uatom"))
            http_stub_send_json(c, 200, "{\"balance\":{\"denom\":\"uatom\",\"amount\":\"0\"}}");
        else
            http_stub_send_json(c, 200, "{\"balance\":{\"denom\":\"x\",\"amount\":\"12ab\"}}");
    } else if (!strcmp(method, "GET") && !strcmp(path, "/cosmos/base/tendermint/v1beta1/node_info")) {
        http_stub_send_json(c, 200, "{\"default_node_info\":{\"network\":\"testchain-1\",\"version\":\"0.38.0\"},"
                           "\"application_version\":{}}");
    } else if (!strcmp(method, "POST") && !strcmp(path, txs)) {
        json_t *req = json_loads(body, 0, NULL);
        const char *tx = json_string_value(json_object_get(req, "tx_bytes"));
        const char *m = json_string_value(json_object_get(req, "mode"));
        if (tx == NULL || m == NULL || strcmp(m, "BROADCAST_MODE_SYNC"))
            http_stub_send_json(c, 400, "{\"code\":3,\"message\":\"invalid request\",\"details\":[]}");
        else if (!strcmp(tx, "YWJj")) /* "abc" */
            tx_response(c, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 0, "0", "[]");
        else
            tx_response(c, FAIL_HASH, 32, "0",
                        "account sequence mismatch, expected 4, got 3: incorrect account sequence");
        json_decref(req);
    } else if (!strcmp(method, "GET") && !strncmp(path, txs, sizeof txs - 1)) {
        const char *h = path + sizeof txs;
        if (!strcmp(h, OK_HASH) && atomic_fetch_add(&srv.tx_polls, 1) >= 2)
            tx_response(c, OK_HASH, 0, "42", "");
        else if (!strcmp(h, FAIL_HASH))
            tx_response(c, FAIL_HASH, 5, "43", "spendable balance 10uatom is smaller than 20uatom: insufficient funds");
        else
            http_stub_send_json(c, 404, "{\"code\":5,\"message\":\"tx not found\",\"details\":[]}");
    } else {
        http_stub_send_json(c, 501, "{\"code\":12,\"message\":\"Not Implemented\",\"details\":[]}");
    }
}

/* The request with its body cut to the size of last_body. */
static void handle(int c, const http_stub_req *r)
{
    char body[sizeof srv.last_body];
    snprintf(body, sizeof body, "%s", r->body);
    answer(c, r->method, r->path, body);
}

static kg_chain_cosmos_rpc *client(long timeout_ms)
{
    char url[64];
    kg_chain_cosmos_rpc *c = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d//", http_stub_server.port); /* trailing slashes are cut */
    assert_int_equal(kg_chain_cosmos_rpc_new(&c, url, timeout_ms), KG_OK);
    return c;
}

static void test_queries(void **state)
{
    (void)state;
    kg_chain_cosmos_rpc *c = client(5000);
    uint64_t num = 9, seq = 9;
    char amount[KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES], id[KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES];

    assert_int_equal(kg_chain_cosmos_rpc_account(c, &num, &seq, "cosmos1base"), KG_OK);
    assert_int_equal(num, 12);
    assert_int_equal(seq, 3);
    assert_string_equal(srv.last_path, "/cosmos/auth/v1beta1/accounts/cosmos1base");
    /* a vesting account's base account; the zero sequence left out (proto3) */
    assert_int_equal(kg_chain_cosmos_rpc_account(c, &num, &seq, "cosmos1vest"), KG_OK);
    assert_true(num == UINT64_MAX);
    assert_int_equal(seq, 0);
    assert_int_equal(kg_chain_cosmos_rpc_account(c, &num, &seq, "cosmos1none"), KG_ERR_NOT_FOUND);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NOT_FOUND), "no account cosmos1none yet"));
    assert_int_equal(num, 0);
    assert_int_equal(kg_chain_cosmos_rpc_account(c, &num, &seq, "cosmos1weird"), KG_ERR_BAD_JSON);

    assert_int_equal(kg_chain_cosmos_rpc_balance(c, amount, "cosmos1base", "ibc/27394FB0"), KG_OK);
    assert_string_equal(amount, "123456789012345678901234567890");
    assert_string_equal(srv.last_path, "/cosmos/bank/v1beta1/balances/cosmos1base/by_denom?denom=ibc%2F27394FB0");
    assert_int_equal(kg_chain_cosmos_rpc_balance(c, amount, "cosmos1base", "uatom"), KG_OK);
    assert_string_equal(amount, "0");
    assert_int_equal(kg_chain_cosmos_rpc_balance(c, amount, "cosmos1base", "junk"), KG_ERR_BAD_JSON);
    assert_string_equal(amount, "");
    assert_int_equal(kg_chain_cosmos_rpc_balance(c, amount, "cosmos1bad", "uatom"), KG_ERR_BAD_INPUT);
    const char *d = kg_err_detail(KG_ERR_BAD_INPUT);
    assert_non_null(strstr(d, "HTTP 400: invalid address: decoding")); /* the newline is cut */

    assert_int_equal(kg_chain_cosmos_rpc_chain_id(c, id), KG_OK);
    assert_string_equal(id, "testchain-1");
    kg_chain_cosmos_rpc_free(c);
}

static void test_broadcast_wait(void **state)
{
    (void)state;
    kg_chain_cosmos_rpc *c = client(5000);
    kg_chain_cosmos_tx_result r;
    char h[KG_CHAIN_COSMOS_TXHASH_BYTES];

    kg_chain_cosmos_tx_hash(h, (const uint8_t *)"abc", 3);
    assert_string_equal(h, OK_HASH);
    assert_int_equal(kg_chain_cosmos_rpc_broadcast(c, &r, (const uint8_t *)"abc", 3), KG_OK);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.txhash, OK_HASH); /* upper-cased */
    assert_non_null(strstr(srv.last_body, "\"tx_bytes\":\"YWJj\""));
    assert_non_null(strstr(srv.last_body, "\"mode\":\"BROADCAST_MODE_SYNC\""));

    assert_int_equal(kg_chain_cosmos_rpc_broadcast(c, &r, (const uint8_t *)"bad", 3), KG_ERR_BAD_INPUT);
    assert_int_equal(r.code, 32);
    assert_string_equal(r.codespace, "sdk");
    const char *d = kg_err_detail(KG_ERR_BAD_INPUT);
    assert_non_null(strstr(d, "refused the transaction: code 32 (sdk): account sequence mismatch"));

    /* pending twice, then in block 42 */
    atomic_store(&srv.tx_polls, 0);
    bool found = true;
    assert_int_equal(kg_chain_cosmos_rpc_get_tx(c, &r, &found, OK_HASH), KG_OK);
    assert_false(found);
    atomic_store(&srv.tx_polls, 0);
    assert_int_equal(kg_chain_cosmos_rpc_wait_tx(c, &r, OK_HASH, 10, 5000), KG_OK);
    assert_int_equal(r.height, 42);
    assert_int_equal(r.gas_used, 81234);
    assert_int_equal(r.gas_wanted, 200000);
    /* in a block, failed */
    assert_int_equal(kg_chain_cosmos_rpc_wait_tx(c, &r, FAIL_HASH, 10, 5000), KG_ERR_BAD_INPUT);
    assert_int_equal(r.code, 5);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "failed in its block: code 5 (sdk): spendable"));
    /* never */
    assert_int_equal(kg_chain_cosmos_rpc_wait_tx(c, &r, NEVER_HASH, 10, 30), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_chain_cosmos_rpc_get_tx(c, &r, &found, "nothex"), KG_ERR_BAD_INPUT);
    kg_chain_cosmos_rpc_free(c);
}

static void test_transport_errors(void **state)
{
    (void)state;
    kg_chain_cosmos_rpc *c = client(300);
    char id[KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES];
    atomic_store(&srv.mode, 2);
    assert_int_equal(kg_chain_cosmos_rpc_chain_id(c, id), KG_ERR_BAD_JSON);
    atomic_store(&srv.mode, 3);
    assert_int_equal(kg_chain_cosmos_rpc_chain_id(c, id), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "HTTP 500"));
    assert_string_equal(id, "");
    atomic_store(&srv.mode, 1); /* last: the server is still asleep after the client gave up */
    assert_int_equal(kg_chain_cosmos_rpc_chain_id(c, id), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "within 300 ms"));
    atomic_store(&srv.mode, 0);
    kg_chain_cosmos_rpc_free(c);

    assert_int_equal(kg_chain_cosmos_rpc_new(&c, "http://127.0.0.1:1", 1000), KG_OK); /* nothing listens */
    assert_int_equal(kg_chain_cosmos_rpc_chain_id(c, id), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "cannot reach"));
    kg_chain_cosmos_rpc_free(c);
    assert_int_equal(kg_chain_cosmos_rpc_new(&c, "ftp://127.0.0.1/", 1000), KG_ERR_BAD_INPUT);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_broadcast_wait),
        cmocka_unit_test(test_transport_errors),
    };
    http_stub_server.handler = handle;
    return cmocka_run_group_tests(tests, http_stub_setup, http_stub_teardown);
}
