/* The Ethereum JSON-RPC client against a tiny HTTP server in a thread on
 * 127.0.0.1 that answers canned JSON-RPC replies: every wrapped method
 * (and the parameters it must send), an error object, a reply that is not
 * JSON, an HTTP 500, a wrong id, a timeout, a pending-then-mined receipt
 * and an unreachable node. */
#include "test_eth_util.h"

#include "http_stub.h"

#include <time.h>

typedef struct {
    int receipt_polls;
} server;

static server srv;

/* The canned answer to one request. */
static void answer(int c, json_t *req)
{
    const char *m = json_string_value(json_object_get(req, "method"));
    json_t *params = json_object_get(req, "params");
    json_t *id = json_object_get(req, "id");
    json_t *result = NULL, *error = NULL;
    m = m ? m : "";
    if (strcmp(m, "eth_chainId") == 0) {
        result = json_string("0xaa36a7");
    } else if (strcmp(m, "eth_getBalance") == 0) {
        const char *a = json_string_value(json_array_get(params, 0));
        const char *tag = json_string_value(json_array_get(params, 1));
        result = (a && tag && strcmp(a, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed") == 0 && strcmp(tag, "latest") == 0)
                     ? json_string("0xde0b6b3a7640000") : json_string("0x0");
    } else if (strcmp(m, "eth_getTransactionCount") == 0) {
        const char *tag = json_string_value(json_array_get(params, 1));
        result = json_string(tag && strcmp(tag, "pending") == 0 ? "0x7" : "0x5");
    } else if (strcmp(m, "eth_estimateGas") == 0) {
        const char *d = json_string_value(json_object_get(json_array_get(params, 0), "data"));
        result = json_string(d && strncmp(d, "0xa9059cbb", 10) == 0 ? "0xfde8" : "0x5208");
    } else if (strcmp(m, "eth_gasPrice") == 0) {
        result = json_string("0x3b9aca00");
    } else if (strcmp(m, "eth_feeHistory") == 0) {
        result = json_pack("{s:s, s:[s,s,s], s:[[s],[s],[s]], s:[f,f,f]}", "oldestBlock", "0x10", "baseFeePerGas",
                           "0x1", "0x2", "0x3b9aca00", "reward", "0x5", "0x1", "0x3", "gasUsedRatio", 0.5, 0.5, 0.5);
    } else if (strcmp(m, "eth_call") == 0) {
        result = json_string("0x000000000000000000000000000000000000000000000000000000000000002a");
    } else if (strcmp(m, "eth_sendRawTransaction") == 0) {
        error = json_pack("{s:i, s:s}", "code", -32000, "message", "nonce too low");
    } else if (strcmp(m, "eth_getTransactionReceipt") == 0) {
        if (srv.receipt_polls++ < 2)
            result = json_null();
        else
            result = json_pack("{s:s, s:s, s:s, s:s, s:s, s:n}", "transactionHash",
                               "0x1111111111111111111111111111111111111111111111111111111111111111", "blockNumber",
                               "0x20", "gasUsed", "0x5208", "status", "0x1", "effectiveGasPrice", "0x3b9aca00",
                               "contractAddress");
    } else if (strcmp(m, "test_slow") == 0) {
        struct timespec ts = { 0, 700 * 1000000L };
        nanosleep(&ts, NULL);
        result = json_string("late");
    } else if (strcmp(m, "test_notjson") == 0) {
        http_stub_send_json(c, 200, "this is not json");
        return;
    } else if (strcmp(m, "test_500") == 0) {
        http_stub_send_json(c, 500, "");
        return;
    } else if (strcmp(m, "test_wrongid") == 0) {
        http_stub_send_json(c, 200, "{\"jsonrpc\":\"2.0\",\"id\":999999,\"result\":\"0x1\"}");
        return;
    } else {
        error = json_pack("{s:i, s:s}", "code", -32601, "message", "the method does not exist");
    }
    json_t *reply = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", id);
    json_object_set_new(reply, error ? "error" : "result", error ? error : result);
    char *body = json_dumps(reply, JSON_COMPACT | JSON_ENCODE_ANY);
    http_stub_send_json(c, 200, body);
    free(body);
    json_decref(reply);
}

/* A JSON-RPC request (the body): its canned answer. */
static void handle(int c, const http_stub_req *r)
{
    json_t *req = json_loads(r->body, 0, NULL);
    if (req != NULL)
        answer(c, req);
    json_decref(req);
}

static kg_chain_eth_rpc *client(long timeout_ms)
{
    char url[64];
    kg_chain_eth_rpc *c = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", http_stub_server.port);
    assert_int_equal(kg_chain_eth_rpc_new(&c, url, timeout_ms), KG_OK);
    return c;
}

static void test_methods(void **state)
{
    (void)state;
    kg_chain_eth_rpc *c = client(5000);
    uint64_t u = 0;
    uint8_t addr[20], w[32];
    char dec[KG_CHAIN_ETH_U256_DEC_BYTES];
    assert_int_equal(kg_chain_eth_rpc_chain_id(c, &u), KG_OK);
    assert_int_equal(u, 11155111);
    assert_int_equal(kg_chain_eth_addr_parse(addr, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), KG_OK);
    assert_int_equal(kg_chain_eth_rpc_get_balance(c, w, addr), KG_OK);
    kg_chain_eth_u256_to_dec(dec, w);
    assert_string_equal(dec, "1000000000000000000");
    assert_int_equal(kg_chain_eth_rpc_get_nonce(c, &u, addr), KG_OK);
    assert_int_equal(u, 7); /* asked for "pending" */

    uint8_t data[68], amt[32] = { [31] = 1 };
    kg_chain_eth_abi_erc20_transfer(data, addr, amt);
    kg_chain_eth_call call = { .has_from = true, .has_to = true, .data = data, .data_len = sizeof data };
    assert_int_equal(kg_chain_eth_rpc_estimate_gas(c, &u, &call), KG_OK);
    assert_int_equal(u, 65000);
    assert_int_equal(kg_chain_eth_rpc_gas_price(c, w), KG_OK);
    kg_chain_eth_u256_to_dec(dec, w);
    assert_string_equal(dec, "1000000000");

    kg_chain_eth_fee_history fh;
    assert_int_equal(kg_chain_eth_rpc_fee_history(c, &fh, 3, 50.0), KG_OK);
    kg_chain_eth_u256_to_dec(dec, fh.base_fee_next);
    assert_string_equal(dec, "1000000000");
    assert_int_equal(fh.priority_fee[31], 3);
    assert_int_equal(fh.oldest_block, 16);
    assert_int_equal(kg_chain_eth_rpc_fee_history(c, &fh, 0, 50.0), KG_ERR_BAD_INPUT);

    kg_bytes out = { 0 };
    assert_int_equal(kg_chain_eth_rpc_call_contract(c, &out, &call), KG_OK);
    assert_int_equal(out.len, 32);
    assert_int_equal(out.data[31], 42);
    kg_bytes_free(&out);
    kg_chain_eth_rpc_free(c);
}

static void test_errors(void **state)
{
    (void)state;
    kg_chain_eth_rpc *c = client(300);
    uint8_t h[32];
    json_t *res = NULL;
    static const uint8_t raw[] = { 0x02, 0xc0 };
    assert_int_equal(kg_chain_eth_rpc_send_raw(c, h, raw, sizeof raw), KG_ERR_BAD_INPUT);
    const char *d = kg_err_detail(KG_ERR_BAD_INPUT);
    assert_non_null(strstr(d, "eth_sendRawTransaction"));
    assert_non_null(strstr(d, "-32000"));
    assert_non_null(strstr(d, "nonce too low"));
    for (int i = 0; i < 32; i++)
        assert_int_equal(h[i], 0);
    assert_int_equal(kg_chain_eth_rpc_call(c, &res, "test_unknown", NULL), KG_ERR_BAD_INPUT);
    assert_null(res);
    assert_int_equal(kg_chain_eth_rpc_call(c, &res, "test_notjson", NULL), KG_ERR_BAD_JSON);
    assert_int_equal(kg_chain_eth_rpc_call(c, &res, "test_500", NULL), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "HTTP 500"));
    assert_int_equal(kg_chain_eth_rpc_call(c, &res, "test_wrongid", NULL), KG_ERR_BAD_JSON);
    assert_int_equal(kg_chain_eth_rpc_call(c, &res, "test_slow", NULL), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "within 300 ms"));
    assert_null(res);
    kg_chain_eth_rpc_free(c);

    /* nothing listens on port 1 */
    assert_int_equal(kg_chain_eth_rpc_new(&c, "http://127.0.0.1:1/", 1000), KG_OK);
    uint64_t u = 5;
    assert_int_equal(kg_chain_eth_rpc_chain_id(c, &u), KG_ERR_NETWORK);
    assert_int_equal(u, 0);
    kg_chain_eth_rpc_free(c);
    assert_int_equal(kg_chain_eth_rpc_new(&c, "file:///etc/passwd", 1000), KG_ERR_BAD_INPUT);
    assert_null(c);
}

static void test_receipt_wait(void **state)
{
    (void)state;
    kg_chain_eth_rpc *c = client(5000);
    uint8_t h[32];
    memset(h, 0x11, 32);
    kg_chain_eth_receipt r;
    srv.receipt_polls = 0;
    /* not mined within the bound: a clear NOT_FOUND */
    assert_int_equal(kg_chain_eth_rpc_wait_receipt(c, &r, h, 10, 5), KG_ERR_NOT_FOUND);
    /* pending twice, then mined */
    srv.receipt_polls = 0;
    assert_int_equal(kg_chain_eth_rpc_wait_receipt(c, &r, h, 10, 5000), KG_OK);
    assert_true(r.success);
    assert_int_equal(r.block_number, 32);
    assert_int_equal(r.gas_used, 21000);
    assert_false(r.has_contract);
    assert_memory_equal(r.tx_hash, h, 32);
    kg_chain_eth_rpc_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_receipt_wait),
    };
    http_stub_server.handler = handle;
    return cmocka_run_group_tests(tests, http_stub_setup, http_stub_teardown);
}
