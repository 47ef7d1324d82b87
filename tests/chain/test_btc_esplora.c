/* The Esplora API client (src/chain/btc_esplora_rpc.c) against a tiny HTTP
 * server in a thread on 127.0.0.1 that answers the way esplora/electrs
 * does: address stats and UTXOs (confirmed and mempool), fee estimates
 * (target lookup, the empty regtest answer, garbage), broadcast (the raw
 * hex body arrives as sent; a 400 refusal carries the node's text, with its
 * newline stripped), tx status (confirmed, mempool, 404), plus HTTP 500, a
 * reply that is not JSON, a lying node (spent above funded, negative or
 * over-21e6-BTC values), a timeout and an unreachable node. The end-to-end
 * test tests/e2e/test_wallet_btc_send.sh runs the CLI against a full
 * Esplora-compatible regtest node (tests/btc/esplora.mjs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <kashguard/chain.h>

#include "http_stub.h"

#include <time.h>

#define ADDR "bcrt1qcr8te4kr609gcawutmrza0j4xv80jy8zeqchgx"
#define TXID_A "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
#define TXID_B "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"

typedef struct {
    char fees[256];          /* body of /fee-estimates */
    char last_method[sizeof((http_stub_req *)0)->method];
    char last_path[sizeof((http_stub_req *)0)->path];
    char *last_body;
} server;

static server srv;

static const char *stats(long fc, long fs, long sc, long ss, long tx)
{
    static char b[2][256];
    static int k;
    k ^= 1;
    snprintf(b[k], sizeof b[k], "{\"funded_txo_count\":%ld,\"funded_txo_sum\":%ld,\"spent_txo_count\":%ld,"
             "\"spent_txo_sum\":%ld,\"tx_count\":%ld}", fc, fs, sc, ss, tx);
    return b[k];
}

/* The canned answer to one request (paths below the /api root). */
static void answer(int c, const char *method, const char *path, const char *body)
{
    char b[1024];
    const char *json = "application/json", *text = "text/plain";
    if (strcmp(path, "/api/address/" ADDR) == 0) {
        const char *cs = stats(2, 150000, 1, 50000, 3);
        snprintf(b, sizeof b, "{\"address\":\"%s\",\"chain_stats\":%s,\"mempool_stats\":%s}", ADDR, cs,
                 stats(1, 20000, 1, 100000, 1));
        http_stub_send(c, 200, json, b);
    } else if (strcmp(path, "/api/address/" ADDR "/utxo") == 0) {
        http_stub_send(c, 200, json, "[{\"txid\":\"" TXID_A "\",\"vout\":1,\"status\":{\"confirmed\":true,\"block_height\":"
                   "101,\"block_hash\":\"00\",\"block_time\":1},\"value\":50000},{\"txid\":\"" TXID_B "\",\"vout\":0,"
                   "\"status\":{\"confirmed\":false},\"value\":20000}]");
    } else if (strcmp(path, "/api/address/bcrt1qliar") == 0) { /* spent more than funded */
        snprintf(b, sizeof b, "{\"chain_stats\":%s,\"mempool_stats\":%s}", stats(1, 10, 1, 20, 1), stats(0, 0, 0, 0, 0));
        http_stub_send(c, 200, json, b);
    } else if (strcmp(path, "/api/address/bcrt1qneg/utxo") == 0) {
        http_stub_send(c, 200, json, "[{\"txid\":\"" TXID_A "\",\"vout\":0,\"status\":{\"confirmed\":false},\"value\":-5}]");
    } else if (strcmp(path, "/api/address/bcrt1qhuge/utxo") == 0) {
        http_stub_send(c, 200, json, "[{\"txid\":\"" TXID_A "\",\"vout\":0,\"status\":{\"confirmed\":false},"
                   "\"value\":2100000000000001}]");
    } else if (strcmp(path, "/api/address/bcrt1qnotjson") == 0) {
        http_stub_send(c, 200, json, "<html>not json</html>");
    } else if (strcmp(path, "/api/address/bcrt1qslow") == 0) {
        struct timespec ts = { 0, 700 * 1000000L };
        nanosleep(&ts, NULL);
        http_stub_send(c, 200, json, "{}");
    } else if (strcmp(path, "/api/fee-estimates") == 0) {
        http_stub_send(c, 200, json, srv.fees);
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/api/tx") == 0) {
        if (strncmp(body, "00", 2) == 0)
            http_stub_send(c, 400, text, "sendrawtransaction RPC error: {\"code\":-26,\"message\":\"min relay fee not met"
                       ", 100 < 141\"}\r\n");
        else if (strncmp(body, "ff", 2) == 0)
            http_stub_send(c, 200, text, "not-a-txid");
        else if (strncmp(body, "ee", 2) == 0)
            http_stub_send(c, 503, text, "electrs is syncing");
        else
            http_stub_send(c, 200, text, TXID_A);
    } else if (strcmp(path, "/api/tx/" TXID_A "/status") == 0) {
        http_stub_send(c, 200, json, "{\"confirmed\":true,\"block_height\":101,\"block_hash\":\"00\",\"block_time\":1}");
    } else if (strcmp(path, "/api/tx/" TXID_B "/status") == 0) {
        http_stub_send(c, 200, json, "{\"confirmed\":false}");
    } else if (strncmp(path, "/api/tx/", 8) == 0) {
        http_stub_send(c, 404, text, "Transaction not found");
    } else if (strcmp(path, "/api/address/bcrt1q500") == 0) {
        http_stub_send(c, 500, text, "internal\nerror");
    } else {
        http_stub_send(c, 400, text, "Invalid Bitcoin address");
    }
}

/* Keep what was asked (before the reply: the client reads it once
 * answered), then answer. */
static void handle(int c, const http_stub_req *r)
{
    snprintf(srv.last_method, sizeof srv.last_method, "%s", r->method);
    snprintf(srv.last_path, sizeof srv.last_path, "%s", r->path);
    free(srv.last_body);
    srv.last_body = strdup(r->body);
    assert_non_null(srv.last_body);
    answer(c, srv.last_method, srv.last_path, srv.last_body);
}

static int stop(void **state)
{
    int r = http_stub_teardown(state);
    free(srv.last_body);
    return r;
}

static kg_chain_btc_esplora *client(long timeout_ms)
{
    char url[64];
    kg_chain_btc_esplora *c = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/", http_stub_server.port); /* trailing '/' is dropped */
    assert_int_equal(kg_chain_btc_esplora_new(&c, url, timeout_ms), KG_OK);
    return c;
}

static void test_address_and_utxos(void **state)
{
    (void)state;
    kg_chain_btc_esplora *c = client(5000);
    kg_chain_btc_esplora_addr_info info;
    uint64_t conf = 0, total = 0;
    assert_int_equal(kg_chain_btc_esplora_address(c, &info, ADDR), KG_OK);
    assert_string_equal(srv.last_path, "/api/address/" ADDR);
    assert_int_equal(info.chain.funded_sum, 150000);
    assert_int_equal(info.chain.spent_sum, 50000);
    assert_int_equal(info.chain.tx_count, 3);
    assert_int_equal(info.mempool.funded_sum, 20000);
    assert_int_equal(info.mempool.spent_sum, 100000);
    assert_int_equal(kg_chain_btc_esplora_balance(&conf, &total, &info), KG_OK);
    assert_int_equal(conf, 100000);
    assert_int_equal(total, 20000); /* mempool spends 100000 of it, receives 20000 */

    kg_chain_btc_esplora_utxo *u = NULL;
    size_t n = 0;
    char hex[65];
    assert_int_equal(kg_chain_btc_esplora_utxos(c, &u, &n, ADDR), KG_OK);
    assert_int_equal(n, 2);
    kg_chain_btc_txid_hex(hex, u[0].txid); /* internal order inside, explorer order outside */
    assert_string_equal(hex, TXID_A);
    assert_int_equal(u[0].txid[31], 0x4a);
    assert_int_equal(u[0].vout, 1);
    assert_int_equal(u[0].value, 50000);
    assert_true(u[0].confirmed);
    assert_int_equal(u[0].block_height, 101);
    assert_false(u[1].confirmed);
    assert_int_equal(u[1].block_height, 0);
    assert_int_equal(u[1].value, 20000);
    free(u);
    kg_chain_btc_esplora_free(c);
}

static void test_fee_estimates(void **state)
{
    (void)state;
    kg_chain_btc_esplora *c = client(5000);
    uint64_t r = 7;
    snprintf(srv.fees, sizeof srv.fees, "{\"1\":20.5,\"3\":10,\"6\":2.3451,\"144\":1.0}");
    assert_int_equal(kg_chain_btc_esplora_fee_rate(c, &r, 6), KG_OK);
    assert_int_equal(r, 2346);  /* 2.3451 sat/vB rounded up to whole sat/kvB */
    assert_int_equal(kg_chain_btc_esplora_fee_rate(c, &r, 2), KG_OK);
    assert_int_equal(r, 10000); /* no "2": the next slower target, 3 */
    assert_int_equal(kg_chain_btc_esplora_fee_rate(c, &r, 1000), KG_OK);
    assert_int_equal(r, 1000);  /* beyond every target: the slowest */
    snprintf(srv.fees, sizeof srv.fees, "{}");
    assert_int_equal(kg_chain_btc_esplora_fee_rate(c, &r, 6), KG_OK);
    assert_int_equal(r, 0);     /* regtest: no estimate; the caller's floor applies */
    snprintf(srv.fees, sizeof srv.fees, "{\"six\":2}");
    assert_int_equal(kg_chain_btc_esplora_fee_rate(c, &r, 6), KG_ERR_BAD_JSON);
    snprintf(srv.fees, sizeof srv.fees, "{\"6\":\"2\"}");
    assert_int_equal(kg_chain_btc_esplora_fee_rate(c, &r, 6), KG_ERR_BAD_JSON);
    snprintf(srv.fees, sizeof srv.fees, "[1,2]");
    assert_int_equal(kg_chain_btc_esplora_fee_rate(c, &r, 6), KG_ERR_BAD_JSON);
    assert_int_equal(r, 0);
    kg_chain_btc_esplora_free(c);
}

static void test_broadcast_and_status(void **state)
{
    (void)state;
    kg_chain_btc_esplora *c = client(5000);
    static const uint8_t ok_tx[] = { 0x02, 0x00, 0x00, 0x00, 0xab }, low_fee[] = { 0x00, 0x01 },
                         bad_answer[] = { 0xff }, busy[] = { 0xee };
    uint8_t txid[32];
    char hex[65];
    assert_int_equal(kg_chain_btc_esplora_broadcast(c, txid, ok_tx, sizeof ok_tx), KG_OK);
    assert_string_equal(srv.last_method, "POST");
    assert_string_equal(srv.last_path, "/api/tx");
    assert_string_equal(srv.last_body, "02000000ab");
    kg_chain_btc_txid_hex(hex, txid);
    assert_string_equal(hex, TXID_A);

    assert_int_equal(kg_chain_btc_esplora_broadcast(c, txid, low_fee, sizeof low_fee), KG_ERR_BAD_INPUT);
    const char *d = kg_err_detail(KG_ERR_BAD_INPUT);
    assert_non_null(strstr(d, "the node refused the transaction: "));
    assert_non_null(strstr(d, "min relay fee not met, 100 < 141"));
    assert_null(strpbrk(d, "\r\n"));
    for (int i = 0; i < 32; i++)
        assert_int_equal(txid[i], 0);
    assert_int_equal(kg_chain_btc_esplora_broadcast(c, txid, bad_answer, sizeof bad_answer), KG_ERR_BAD_JSON);
    assert_int_equal(kg_chain_btc_esplora_broadcast(c, txid, busy, sizeof busy), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "HTTP 503: electrs is syncing"));
    assert_int_equal(kg_chain_btc_esplora_broadcast(c, txid, ok_tx, 0), KG_ERR_BAD_INPUT);

    bool conf = false;
    uint32_t h = 9;
    assert_int_equal(kg_chain_btc_txid_parse(txid, TXID_A), KG_OK);
    assert_int_equal(kg_chain_btc_esplora_tx_status(c, &conf, &h, txid), KG_OK);
    assert_true(conf);
    assert_int_equal(h, 101);
    assert_int_equal(kg_chain_btc_txid_parse(txid, TXID_B), KG_OK);
    assert_int_equal(kg_chain_btc_esplora_tx_status(c, &conf, &h, txid), KG_OK);
    assert_false(conf);
    assert_int_equal(h, 0);
    memset(txid, 0x42, 32);
    assert_int_equal(kg_chain_btc_esplora_tx_status(c, &conf, &h, txid), KG_ERR_NOT_FOUND);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NOT_FOUND), "4242"));
    kg_chain_btc_esplora_free(c);
}

static void test_bad_nodes(void **state)
{
    (void)state;
    kg_chain_btc_esplora *c = client(300);
    kg_chain_btc_esplora_addr_info info;
    kg_chain_btc_esplora_utxo *u = (kg_chain_btc_esplora_utxo *)&info;
    size_t n = 5;
    assert_int_equal(kg_chain_btc_esplora_address(c, &info, "bcrt1qliar"), KG_ERR_BAD_JSON);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_JSON), "more spent"));
    assert_int_equal(info.chain.funded_sum, 0);
    assert_int_equal(kg_chain_btc_esplora_utxos(c, &u, &n, "bcrt1qneg"), KG_ERR_BAD_JSON);
    assert_null(u);
    assert_int_equal(n, 0);
    assert_int_equal(kg_chain_btc_esplora_utxos(c, &u, &n, "bcrt1qhuge"), KG_ERR_BAD_JSON);
    assert_int_equal(kg_chain_btc_esplora_address(c, &info, "bcrt1qnotjson"), KG_ERR_BAD_JSON);
    assert_int_equal(kg_chain_btc_esplora_address(c, &info, "bcrt1q500"), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "HTTP 500: internal error"));
    assert_int_equal(kg_chain_btc_esplora_address(c, &info, "bcrt1qunknown"), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "Invalid Bitcoin address"));
    assert_int_equal(kg_chain_btc_esplora_address(c, &info, "bcrt1qslow"), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "within 300 ms"));
    /* addresses go into the URL path: nothing but letters and digits */
    srv.last_path[0] = '\0';
    assert_int_equal(kg_chain_btc_esplora_address(c, &info, "../tx/abc"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_btc_esplora_utxos(c, &u, &n, "a?b"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_chain_btc_esplora_address(c, &info, ""), KG_ERR_BAD_INPUT);
    assert_string_equal(srv.last_path, ""); /* none of them was sent */
    kg_chain_btc_esplora_free(c);

    uint64_t r = 9;
    assert_int_equal(kg_chain_btc_esplora_new(&c, "http://127.0.0.1:1/api", 1000), KG_OK);
    assert_int_equal(kg_chain_btc_esplora_fee_rate(c, &r, 6), KG_ERR_NETWORK);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "cannot reach the Esplora API at http://127.0.0.1:1/api"));
    assert_int_equal(r, 0);
    kg_chain_btc_esplora_free(c);
    assert_int_equal(kg_chain_btc_esplora_new(&c, "file:///etc/passwd", 1000), KG_ERR_BAD_INPUT);
    assert_null(c);
    assert_int_equal(kg_chain_btc_esplora_new(&c, "http://x/api?x=1", 1000), KG_ERR_BAD_INPUT);
    assert_null(c);
    kg_chain_btc_esplora_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_and_utxos),
        cmocka_unit_test(test_fee_estimates),
        cmocka_unit_test(test_broadcast_and_status),
        cmocka_unit_test(test_bad_nodes),
    };
    http_stub_server.handler = handle;
    return cmocka_run_group_tests(tests, http_stub_setup, stop);
}
