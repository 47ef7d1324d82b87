/* Interoperability with the `openssl` command-line tool, an independent
 * consumer of our encodings: signatures we make (P-256 and secp256k1 DER
 * ECDSA, Ed25519, RSA-PSS) verify with `openssl dgst` / `openssl pkeyutl`
 * against our PEM public keys, and keys and signatures made by `openssl`
 * import and verify here. Skips when the tool is not installed. */
#include "crypto_test.h"

#include <unistd.h>

static char g_dir[] = "/tmp/kg-crypto-interop-XXXXXX";

static void write_file(const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static uint8_t *read_file(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(16384);
    assert_non_null(buf);
    *len = fread(buf, 1, 16384, f);
    fclose(f);
    return buf;
}

/* Run an openssl command line in g_dir; returns its exit status. */
static int run(const char *fmt, const char *arg)
{
    char cmd[1024], inner[768];
    snprintf(inner, sizeof inner, fmt, arg);
    snprintf(cmd, sizeof cmd, "cd '%s' && openssl %s >/dev/null 2>&1", g_dir, inner);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static int setup(void **state)
{
    if (t_init(state) != 0 || mkdtemp(g_dir) == NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void skip_without_openssl(void)
{
    if (system("openssl version >/dev/null 2>&1") != 0) {
        printf("openssl CLI not installed: skipping interop checks\n");
        skip();
    }
}

static const char *VERIFY_CMD[] = {
    [KG_CRYPTO_P256] = "dgst -sha256 -verify pub.pem -signature sig.bin %s",
    [KG_CRYPTO_SECP256K1] = "dgst -sha256 -verify pub.pem -signature sig.bin %s",
    [KG_CRYPTO_ED25519] = "pkeyutl -verify -pubin -inkey pub.pem -rawin -in %s -sigfile sig.bin",
    [KG_CRYPTO_RSA3072] = "dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 "
                          "-sigopt rsa_mgf1_md:sha256 -verify pub.pem -signature sig.bin %s",
};

/* Our signature verifies with openssl; a changed message does not. */
static void test_openssl_verifies_ours(void **state)
{
    (void)state;
    skip_without_openssl();
    static const kg_crypto_key_type types[] = {KG_CRYPTO_P256, KG_CRYPTO_SECP256K1,
                                               KG_CRYPTO_ED25519, KG_CRYPTO_RSA3072};
    const uint8_t msg[] = "pay 10 to alice", other[] = "pay 99 to mallory";
    write_file("msg.bin", msg, sizeof msg);
    write_file("other.bin", other, sizeof other);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        kg_crypto_key_type t = types[i];
        kg_secret *priv = NULL;
        kg_bytes spki = {0}, sig = {0};
        char *pem = NULL;
        assert_int_equal(kg_crypto_keygen(&priv, t), KG_OK);
        assert_int_equal(kg_crypto_pub_from_priv(&spki, t, priv), KG_OK);
        assert_int_equal(kg_crypto_pub_pem(&pem, spki.data, spki.len), KG_OK);
        assert_int_equal(kg_crypto_sign(&sig, t, priv, KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER,
                                        msg, sizeof msg), KG_OK);
        write_file("pub.pem", pem, strlen(pem));
        write_file("sig.bin", sig.data, sig.len);
        assert_int_equal(run(VERIFY_CMD[t], "msg.bin"), 0);
        assert_int_not_equal(run(VERIFY_CMD[t], "other.bin"), 0);
        free(pem);
        kg_bytes_free(&sig);
        kg_bytes_free(&spki);
        kg_secret_free(priv);
    }
}

/* A key generated and a signature made by openssl work here. */
static void test_we_verify_openssl(void **state)
{
    (void)state;
    skip_without_openssl();
    static const struct { kg_crypto_key_type t; const char *gen, *sign; } cases[] = {
        {KG_CRYPTO_P256, "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
         "dgst -sha256 -sign key.pem -out sig.bin %s"},
        {KG_CRYPTO_SECP256K1, "-algorithm EC -pkeyopt ec_paramgen_curve:secp256k1",
         "dgst -sha256 -sign key.pem -out sig.bin %s"},
        {KG_CRYPTO_ED25519, "-algorithm ED25519",
         "pkeyutl -sign -inkey key.pem -rawin -in %s -out sig.bin"},
    };
    const uint8_t msg[] = "signed by the openssl tool";
    write_file("msg.bin", msg, sizeof msg);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(run("genpkey %s -out key.pem", cases[i].gen), 0);
        assert_int_equal(run("pkcs8 -topk8 -nocrypt -in %s -outform DER -out key.der", "key.pem"), 0);
        assert_int_equal(run("pkey -in %s -pubout -outform DER -out pub.der", "key.pem"), 0);
        assert_int_equal(run(cases[i].sign, "msg.bin"), 0);
        size_t p8_len, pub_len, sig_len;
        uint8_t *p8 = read_file("key.der", &p8_len), *pub = read_file("pub.der", &pub_len);
        uint8_t *sig = read_file("sig.bin", &sig_len);
        kg_secret *priv = NULL;
        kg_bytes spki = {0};
        assert_int_equal(kg_crypto_priv_import(&priv, cases[i].t, p8, p8_len), KG_OK);
        assert_int_equal(kg_crypto_pub_from_priv(&spki, cases[i].t, priv), KG_OK);
        assert_int_equal(spki.len, pub_len);
        assert_memory_equal(spki.data, pub, pub_len);
        /* openssl's P-256 signatures may be high-S: accepted without the flag. */
        assert_int_equal(kg_crypto_verify(cases[i].t, pub, pub_len, KG_CRYPTO_INPUT_MESSAGE,
                                          KG_CRYPTO_SIG_DER, 0, msg, sizeof msg, sig, sig_len),
                         KG_OK);
        /* The traditional DER (SEC1 ECPrivateKey for EC) imports to the same key. */
        size_t trad_len;
        assert_int_equal(run("pkey -in %s -traditional -outform DER -out trad.der", "key.pem"), 0);
        uint8_t *trad = read_file("trad.der", &trad_len);
        kg_secret *priv2 = NULL;
        assert_int_equal(kg_crypto_priv_import(&priv2, cases[i].t, trad, trad_len), KG_OK);
        assert_int_equal(kg_secret_len(priv2), kg_secret_len(priv));
        assert_memory_equal(kg_secret_cdata(priv2), kg_secret_cdata(priv), kg_secret_len(priv));
        kg_secret_free(priv2);
        /* ... but not as a key of another type (a P-256 key is no secp256k1 key). */
        kg_crypto_key_type other = cases[i].t == KG_CRYPTO_P256 ? KG_CRYPTO_SECP256K1 : KG_CRYPTO_P256;
        assert_int_equal(kg_crypto_priv_import(&priv2, other, trad, trad_len), KG_ERR_BAD_INPUT);
        assert_null(priv2);
        free(trad);
        kg_bytes_free(&spki);
        kg_secret_free(priv);
        free(p8); free(pub); free(sig);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openssl_verifies_ours),
        cmocka_unit_test(test_we_verify_openssl),
    };
    return cmocka_run_group_tests_name("crypto/interop", tests, setup, teardown);
}
