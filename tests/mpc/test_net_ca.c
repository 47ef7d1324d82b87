/* The MPC private CA (src/mpc/net_ca.c): create a CA, issue node and
 * coordinator certificates from a generated key or a CSR, verify them,
 * refuse a certificate from another CA, refuse overwriting, files 0600, and
 * the subjectAltName rules (exactly one kashguard URI, RFC 5280 §4.2.1.6). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "kashguard/mpc.h"
#include "../../src/mpc/net_int.h"

static char dir[64];

static const char *path(const char *name)
{
    static char buf[8][128];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kg-netca-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    if (kg_mpc_net_ca_create(path("ca.crt"), path("ca.key")) != KG_OK)
        return -1;
    return kg_mpc_net_ca_create(path("other.crt"), path("other.key")) == KG_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_issue_verify(void **state)
{
    (void)state;
    uint32_t party = 99;
    struct stat st;
    assert_int_equal(stat(path("ca.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(kg_mpc_net_cert_issue(path("n7.crt"), path("n7.key"), path("ca.crt"), path("ca.key"), 7,
                                           NULL), KG_OK);
    assert_int_equal(stat(path("n7.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(kg_mpc_net_cert_verify(&party, path("ca.crt"), path("n7.crt")), KG_OK);
    assert_int_equal(party, 7);
    assert_int_equal(kg_mpc_net_cert_issue(path("co.crt"), path("co.key"), path("ca.crt"), path("ca.key"),
                                           KG_MPC_NET_COORDINATOR, NULL), KG_OK);
    party = 99;
    assert_int_equal(kg_mpc_net_cert_verify(&party, path("ca.crt"), path("co.crt")), KG_OK);
    assert_int_equal(party, KG_MPC_NET_COORDINATOR);
    /* 65535 is the top id; 65536 is refused */
    assert_int_equal(kg_mpc_net_cert_issue(path("top.crt"), path("top.key"), path("ca.crt"), path("ca.key"),
                                           65535, NULL), KG_OK);
    assert_int_equal(kg_mpc_net_cert_verify(&party, path("ca.crt"), path("top.crt")), KG_OK);
    assert_int_equal(party, 65535);
    assert_int_equal(kg_mpc_net_cert_issue(path("big.crt"), path("big.key"), path("ca.crt"), path("ca.key"),
                                           65536, NULL), KG_ERR_BAD_INPUT);
}

static void test_csr(void **state)
{
    (void)state;
    uint32_t party = 0;
    assert_int_equal(kg_mpc_net_csr_create(path("n9.key"), path("n9.csr"), 9), KG_OK);
    assert_int_equal(kg_mpc_net_cert_issue(path("n9.crt"), NULL, path("ca.crt"), path("ca.key"), 9,
                                           path("n9.csr")), KG_OK);
    assert_int_equal(kg_mpc_net_cert_verify(&party, path("ca.crt"), path("n9.crt")), KG_OK);
    assert_int_equal(party, 9);
    /* a CSR that is not one */
    assert_int_equal(kg_mpc_net_cert_issue(path("bad.crt"), NULL, path("ca.crt"), path("ca.key"), 3,
                                           path("ca.crt")), KG_ERR_BAD_INPUT);
    /* CA key that does not match the CA certificate */
    assert_int_equal(kg_mpc_net_cert_issue(path("bad.crt"), NULL, path("ca.crt"), path("other.key"), 3,
                                           path("n9.csr")), KG_ERR_BAD_INPUT);
}

static void test_refusals(void **state)
{
    (void)state;
    uint32_t party = 5;
    assert_int_equal(kg_mpc_net_cert_issue(path("n4.crt"), path("n4.key"), path("ca.crt"), path("ca.key"), 4,
                                           NULL), KG_OK);
    /* another CA's view */
    assert_int_equal(kg_mpc_net_cert_verify(&party, path("other.crt"), path("n4.crt")),
                     KG_ERR_UNAUTHENTICATED);
    assert_int_equal(party, 0);
    /* the CA certificate is not a party certificate */
    assert_int_not_equal(kg_mpc_net_cert_verify(&party, path("ca.crt"), path("ca.crt")), KG_OK);
    assert_int_equal(kg_mpc_net_cert_verify(&party, path("ca.crt"), path("missing.crt")), KG_ERR_BAD_INPUT);
    /* no overwrite */
    assert_int_equal(kg_mpc_net_ca_create(path("ca.crt"), path("new.key")), KG_ERR_CONFLICT);
    assert_int_equal(kg_mpc_net_cert_issue(path("n4.crt"), path("x.key"), path("ca.crt"), path("ca.key"), 4,
                                           NULL), KG_ERR_CONFLICT);
}

static void test_uri(void **state)
{
    (void)state;
    static const struct { const char *uri; kg_err want; uint32_t id; } cases[] = {
        {"kashguard:node:1", KG_OK, 1},          {"kashguard:node:65535", KG_OK, 65535},
        {"kashguard:coordinator", KG_OK, 0},     {"kashguard:node:0", KG_ERR_BAD_INPUT, 0},
        {"kashguard:node:65536", KG_ERR_BAD_INPUT, 0}, {"kashguard:node:01", KG_ERR_BAD_INPUT, 0},
        {"kashguard:node:+1", KG_ERR_BAD_INPUT, 0}, {"kashguard:node:", KG_ERR_BAD_INPUT, 0},
        {"kashguard:node:1x", KG_ERR_BAD_INPUT, 0}, {"kashguard:node:123456", KG_ERR_BAD_INPUT, 0},
        {"kashguard:coordinatorx", KG_ERR_BAD_INPUT, 0}, {"https://node1", KG_ERR_BAD_INPUT, 0},
        {"KASHGUARD:node:1", KG_ERR_BAD_INPUT, 0}, {"", KG_ERR_BAD_INPUT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t id = 77;
        assert_int_equal(kg_mpc_net_uri_parse(&id, cases[i].uri, strlen(cases[i].uri)), cases[i].want);
        assert_int_equal(id, cases[i].id);
    }
    uint32_t id = 7;
    assert_int_equal(kg_mpc_net_uri_parse(&id, "kashguard:node:1\0", 17), KG_ERR_BAD_INPUT); /* embedded NUL */
    printf("uri cases: %zu passed\n", sizeof cases / sizeof cases[0] + 1);
}

/* A self-signed certificate with the given subjectAltName (NULL = none). */
static X509 *cert_with_san(const char *san)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(k);
    assert_non_null(x);
    assert_int_equal(X509_set_pubkey(x, k), 1);
    if (san != NULL) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        assert_non_null(e);
        assert_int_equal(X509_add_ext(x, e, -1), 1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    EVP_PKEY_free(k);
    return x;
}

static void test_san_forms(void **state)
{
    (void)state;
    static const struct { const char *san; kg_err want; uint32_t id; } cases[] = {
        {"URI:kashguard:node:12", KG_OK, 12},
        {"URI:kashguard:coordinator", KG_OK, 0},
        {NULL, KG_ERR_BAD_INPUT, 0},
        {"DNS:kashguard-node-12", KG_ERR_BAD_INPUT, 0},
        {"IP:127.0.0.1", KG_ERR_BAD_INPUT, 0},
        {"URI:kashguard:node:1,URI:kashguard:node:2", KG_ERR_BAD_INPUT, 0},
        {"URI:kashguard:node:12,DNS:localhost", KG_ERR_BAD_INPUT, 0},
        {"URI:https://example.com/", KG_ERR_BAD_INPUT, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        X509 *x = cert_with_san(cases[i].san);
        uint32_t id = 55;
        assert_int_equal(kg_mpc_net_x509_party(&id, x), cases[i].want);
        assert_int_equal(id, cases[i].id);
        X509_free(x);
    }
    printf("SAN forms: %zu passed\n", sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_verify), cmocka_unit_test(test_csr), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_uri),          cmocka_unit_test(test_san_forms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
