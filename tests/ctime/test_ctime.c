/* Constant-time test: secrets must not steer branches or memory addresses.
 *
 * The idea is libsecp256k1's ctime test. Each case marks its secret inputs
 * as undefined memory with a Valgrind client request, runs the function,
 * and marks the outputs defined again. Memcheck reports any conditional
 * jump or memory index that depends on undefined (= secret) data, and the
 * test runs under `valgrind --error-exitcode=42`, so one such branch fails
 * it. Values that are public by design (a "valid or not" flag) are released
 * in the code with kg_declassify(), never by silencing the tool.
 *
 * Started normally, the test re-executes itself under Valgrind; it skips
 * (passes with a message) in sanitizer builds, where Valgrind cannot run,
 * and when Valgrind is not installed (scripts/deps installs it).
 *
 * Covered: our own secret-handling code (Shamir over GF(2^8), hex and
 * base64 of secrets, constant-time compare, the range check of imported
 * scalars) and these library calls with secret keys: libsodium's
 * HMAC-SHA256, OpenSSL's AES-256-GCM encryption and Ed25519 signing.
 *
 * Not covered, and why:
 *  - AES-GCM decryption: OpenSSL compares the tag in constant time but then
 *    branches on the result (valid or not, public by design) without a
 *    declassification the tool could see.
 *  - secp256k1 signing: libsecp256k1 is constant time and has its own ctime
 *    test upstream, but it declassifies its nonce-retry flag only in builds
 *    made for Valgrind, which Debian's is not; here that shows as a false
 *    report inside the library.
 *  - P-256 signing: OpenSSL's BN_bin2bn and EC code branch on the scalar's
 *    leading zero bytes (OpenSSL relies on blinding for EC, not on
 *    constant-time source). A known limit of the library, not of ours.  */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/memcheck.h>

#include <kashguard/crypto.h>

#if !defined(__SANITIZE_ADDRESS__) /* the cases; a sanitizer build only skips */
#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

static void test_shamir(void **state)
{
    (void)state;
    uint8_t raw[32];
    assert_int_equal(kg_crypto_random(raw, sizeof raw), KG_OK);
    kg_secret *secret = kg_secret_from(raw, sizeof raw);
    kg_secret *shares[5] = { 0 };
    SECRET(kg_secret_data(secret), 32);
    assert_int_equal(kg_crypto_shamir_split(shares, secret, 5, 3), KG_OK);
    for (int i = 0; i < 5; i++) {
        /* x is public by design; y is secret. */
        PUBLIC(kg_secret_data(shares[i]), 1);
        SECRET(kg_secret_data(shares[i]) + 1, 32);
    }
    const kg_secret *pick[3] = { shares[4], shares[1], shares[2] };
    kg_secret *back = NULL;
    assert_int_equal(kg_crypto_shamir_combine(&back, pick, 3), KG_OK);
    PUBLIC(kg_secret_data(back), 32);
    PUBLIC(kg_secret_data(secret), 32);
    assert_memory_equal(kg_secret_cdata(back), kg_secret_cdata(secret), 32);
    for (int i = 0; i < 5; i++)
        kg_secret_free(shares[i]);
    kg_secret_free(back);
    kg_secret_free(secret);
}

static void test_encodings(void **state)
{
    (void)state;
    uint8_t key[48], back[48];
    char hex[2 * sizeof key + 1];
    assert_int_equal(kg_crypto_random(key, sizeof key), KG_OK);
    SECRET(key, sizeof key);
    kg_hex_encode(hex, key, sizeof key);
    size_t n = 0;
    assert_int_equal(kg_hex_decode(back, sizeof back, &n, hex), KG_OK);
    char b64[80];
    assert_true(kg_b64_encoded_len(sizeof key) <= sizeof b64);
    kg_b64_encode(b64, key, sizeof key);
    kg_bytes dec = { 0 };
    assert_int_equal(kg_b64_decode(&dec, b64), KG_OK);
    int same = kg_ct_equal(dec.data, key, sizeof key);
    PUBLIC(&same, sizeof same);
    assert_int_equal(same, 1);
    PUBLIC(key, sizeof key);
    PUBLIC(back, sizeof back);
    PUBLIC(dec.data, dec.len);
    assert_memory_equal(back, key, sizeof key);
    assert_memory_equal(dec.data, key, sizeof key);
    kg_bytes_free(&dec);
}

static void test_hmac(void **state)
{
    (void)state;
    uint8_t key[32], mac[32];
    const uint8_t msg[] = "audit me";
    assert_int_equal(kg_crypto_random(key, sizeof key), KG_OK);
    SECRET(key, sizeof key);
    assert_int_equal(kg_crypto_hmac_sha256(mac, key, sizeof key, msg, sizeof msg), KG_OK);
    PUBLIC(mac, sizeof mac);
}

static void test_secp256k1_scalar_import(void **state)
{
    (void)state;
    /* Our range check of an imported secp256k1/P-256 scalar must not
     * branch on the scalar's bytes. */
    kg_secret *priv = NULL, *copy = NULL;
    assert_int_equal(kg_crypto_keygen(&priv, KG_CRYPTO_SECP256K1), KG_OK);
    uint8_t raw[32];
    memcpy(raw, kg_secret_cdata(priv), 32);
    SECRET(raw, 32);
    kg_err e = kg_crypto_priv_import(&copy, KG_CRYPTO_SECP256K1, raw, 32);
    PUBLIC(&e, sizeof e);
    assert_int_equal(e, KG_OK);
    kg_secret_free(copy);
    kg_secret_free(priv);
}


static void test_aes_gcm_encrypt(void **state)
{
    (void)state;
    uint8_t key[32], iv[12] = { 1 }, pt[64], ct[64], tag[16];
    assert_int_equal(kg_crypto_random(key, sizeof key), KG_OK);
    assert_int_equal(kg_crypto_random(pt, sizeof pt), KG_OK);
    SECRET(key, sizeof key);
    SECRET(pt, sizeof pt);
    assert_int_equal(kg_crypto_aes256gcm_encrypt(ct, tag, 16, key, iv, 12, NULL, 0, pt, sizeof pt), KG_OK);
    PUBLIC(ct, sizeof ct);
    PUBLIC(tag, sizeof tag);
}

static void sign_case(kg_crypto_key_type t)
{
    kg_secret *priv = NULL;
    assert_int_equal(kg_crypto_keygen(&priv, t), KG_OK);
    SECRET(kg_secret_data(priv), kg_secret_len(priv));
    kg_bytes sig = { 0 };
    const uint8_t msg[] = "constant time";
    kg_err e = kg_crypto_sign(&sig, t, priv, KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_RAW, msg, sizeof msg);
    PUBLIC(&e, sizeof e);
    assert_int_equal(e, KG_OK);
    PUBLIC(sig.data, sig.len);
    kg_bytes_free(&sig);
    kg_secret_free(priv);
}

static void test_sign_ed25519(void **state)
{
    (void)state;
    sign_case(KG_CRYPTO_ED25519);
}
#endif

int main(int argc, char **argv)
{
    (void)argc;
#if defined(__SANITIZE_ADDRESS__)
    puts("skip: Valgrind cannot run a sanitizer build; the plain build runs this test");
    return 0;
#else
    if (!RUNNING_ON_VALGRIND) {
        if (system("valgrind --version >/dev/null 2>&1") != 0) {
            puts("skip: valgrind is not installed (scripts/deps installs it)");
            return 0;
        }
        fflush(stdout);
        char *args[] = { "valgrind", "-q", "--error-exitcode=42", "--track-origins=yes",
                         "--leak-check=no", argv[0], NULL };
        execvp("valgrind", args);
        perror("execvp valgrind");
        return 1;
    }
    assert_int_equal(kg_crypto_init(), KG_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shamir),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_secp256k1_scalar_import),
        cmocka_unit_test(test_aes_gcm_encrypt),
        cmocka_unit_test(test_sign_ed25519),
    };
    return cmocka_run_group_tests_name("ctime", tests, NULL, NULL);
#endif
}
