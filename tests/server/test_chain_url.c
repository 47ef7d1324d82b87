/* kg_server_chain_url_check: the chain node URLs the server may call for
 * the MPC wallet routes (src/server/chain_url.c). Without a list a --dev
 * server allows loopback literals only, a production server nothing; with
 * chain_rpc_allow only URLs under a listed prefix, cut at a boundary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "../../src/server/server_int.h"

static kg_err check(bool dev, const char *allow, const char *url)
{
    static kg_server srv;
    memset(&srv, 0, sizeof srv);
    srv.cfg.dev = dev;
    srv.cfg.chain_rpc_allow = allow;
    return kg_server_chain_url_check(&srv, url);
}

static void test_dev_loopback_only(void **state)
{
    (void)state;
    static const char *const ok[] = { "http://127.0.0.1:3000/api", "https://127.0.0.1", "http://127.1.2.3:8899",
                                       "http://localhost:8899", "http://localhost", "http://[::1]:8899/",
                                       "http://127.0.0.1?x=1" };
    static const char *const bad[] = { "http://127.0.0.1.nip.io/", "http://127.0.0.1@evil.example/",
                                       "http://localhost.evil.example", "http://10.0.0.1:3000",
                                       "https://example.com", "ftp://127.0.0.1/", "http://[::1].evil/",
                                       "http://127.0.0/", "http://user@localhost/" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(check(true, NULL, ok[i]), KG_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(check(true, NULL, bad[i]), KG_ERR_DENIED);
}

static void test_production_needs_a_list(void **state)
{
    (void)state;
    assert_int_equal(check(false, NULL, "http://127.0.0.1:3000"), KG_ERR_DENIED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_DENIED), "chain_rpc_allow"));
    assert_int_equal(check(false, "", "http://127.0.0.1:3000"), KG_ERR_DENIED);
}

static void test_allow_list(void **state)
{
    (void)state;
    const char *allow = "https://esplora.internal/api, http://127.0.0.1:8899 ,https://sol.example/";
    assert_int_equal(check(false, allow, "https://esplora.internal/api"), KG_OK);
    assert_int_equal(check(false, allow, "https://esplora.internal/api/tx"), KG_OK);
    assert_int_equal(check(false, allow, "http://127.0.0.1:8899"), KG_OK);
    assert_int_equal(check(false, allow, "https://sol.example/rpc"), KG_OK);
    assert_int_equal(check(false, allow, "https://esplora.internal/apix"), KG_ERR_DENIED);
    assert_int_equal(check(false, allow, "https://esplora.internal"), KG_ERR_DENIED);
    assert_int_equal(check(false, allow, "http://127.0.0.1:88990"), KG_ERR_DENIED);
    assert_int_equal(check(false, allow, "https://sol.example.evil/"), KG_ERR_DENIED);
    /* a list replaces the dev default */
    assert_int_equal(check(true, allow, "http://localhost:3000"), KG_ERR_DENIED);
    assert_int_equal(check(true, allow, NULL), KG_OK); /* missing field: the handler reports it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dev_loopback_only),
        cmocka_unit_test(test_production_needs_a_list),
        cmocka_unit_test(test_allow_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
