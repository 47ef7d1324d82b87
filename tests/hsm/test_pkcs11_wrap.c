/* Replication across three real SoftHSM2 tokens (kg-a, kg-b, kg-c) in a
 * private temp dir: group KEK made on A and transported to B and C under
 * RSA-OAEP transport pairs; wrappable keys of every type generated on A,
 * wrapped under the KEK and unwrapped on B, where they sign / decrypt and
 * the signatures verify with OpenSSL on A's public key; a non-wrappable key
 * refuses to wrap; listing by label prefix (also a key whose public object
 * is gone), destroy, ping, RSA-OAEP-SHA-256 decrypt of OpenSSL ciphertexts
 * (on SoftHSM2 2.6 by the raw-RSA fallback with OAEP decoding on the host). */
#define _XOPEN_SOURCE 700 /* nftw in softhsm_fixture.h */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kashguard/hsm.h"
#include "softhsm_fixture.h"
#include <p11-kit-1/p11-kit/pkcs11.h>

/* SoftHSM2 2.6 leaks a little OpenSSL memory in C_SignInit (EdDSA); the
 * fault module keeps its session table when it does not own C_Finalize
 * (SoftHSM2 was already initialised by the direct handle). Both libraries
 * are kept mapped to the end so LSan can name them. */
SOFTHSM_FX_LSAN_HOOKS("leak:libkg_pkcs11_fault.so\n")

static softhsm_fx g_fx;
static kg_hsm_module *g_mod;
static kg_hsm_token *g_a, *g_b, *g_c;
static kg_hsm_key g_kek_a, g_kek_b, g_kek_c;
static const char *KEK_ID = "kg/g1/kek";

static kg_err open_token(kg_hsm_token **t, const char *label)
{
    kg_secret *p = softhsm_fx_pin(SOFTHSM_FX_PIN);
    kg_err err = kg_hsm_token_open(t, g_mod, label, p, 4);
    kg_secret_free(p);
    return err;
}

static int setup(void **state)
{
    (void)state;
    static const char *const labels[] = { "kg-a", "kg-b", "kg-c" };
    if (softhsm_fx_setup(&g_fx, "kg-hsmw", labels, 3) != 0)
        return -1;
    if (kg_hsm_module_load(&g_mod, SOFTHSM) != KG_OK)
        return -1;
    if (open_token(&g_a, "kg-a") || open_token(&g_b, "kg-b") || open_token(&g_c, "kg-c"))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kg_hsm_token_close(g_a);
    kg_hsm_token_close(g_b);
    kg_hsm_token_close(g_c);
    kg_hsm_module_release(g_mod);
    softhsm_fx_teardown(&g_fx);
    return 0;
}

static void test_ping(void **state)
{
    (void)state;
    assert_int_equal(kg_hsm_token_ping(g_a), KG_OK);
    assert_int_equal(kg_hsm_token_ping(g_b), KG_OK);
    assert_int_equal(kg_hsm_token_ping(g_c), KG_OK);
}

/* Move the KEK from A to target under a fresh transport pair. */
static void transport(kg_hsm_token *target, kg_hsm_key *kek_out)
{
    kg_hsm_key tr;
    kg_bytes pub, wrapped;
    assert_int_equal(kg_hsm_transport_begin(target, &tr, &pub), KG_OK);
    assert_true(pub.len > 300);
    assert_int_equal(kg_hsm_kek_wrap_for(g_a, &wrapped, &g_kek_a, pub.data, pub.len), KG_OK);
    printf("KEK transport to %s: RSA-3072 OAEP with %s, %zu bytes\n", kg_hsm_token_label(target),
           wrapped.data[0] == 2 ? "SHA-256" : "SHA-1", wrapped.len);
    /* a damaged blob is refused and leaves nothing behind */
    wrapped.data[10] ^= 1;
    kg_hsm_key k;
    assert_int_equal(kg_hsm_kek_unwrap(target, &k, &tr, wrapped.data, wrapped.len, "kg/g1/kek",
                                       (const uint8_t *)KEK_ID, strlen(KEK_ID)), KG_ERR_DECRYPT);
    assert_int_equal(kg_hsm_key_find(target, &k, (const uint8_t *)KEK_ID, strlen(KEK_ID)), KG_ERR_NOT_FOUND);
    wrapped.data[10] ^= 1;
    assert_int_equal(kg_hsm_kek_unwrap(target, kek_out, &tr, wrapped.data, wrapped.len, "kg/g1/kek",
                                       (const uint8_t *)KEK_ID, strlen(KEK_ID)), KG_OK);
    kg_hsm_transport_end(target, &tr);
    assert_int_equal(kg_hsm_key_find(target, &k, tr.id, tr.id_len), KG_ERR_NOT_FOUND);
    bool sens, ext;
    assert_int_equal(kg_hsm_key_attrs(target, kek_out, &sens, &ext), KG_OK);
    assert_true(sens);
    kg_bytes_free(&pub);
    kg_bytes_free(&wrapped);
}

static void test_kek(void **state)
{
    (void)state;
    kg_hsm_key k;
    assert_int_equal(kg_hsm_kek_generate(g_a, &g_kek_a, "kg/g1/kek", (const uint8_t *)KEK_ID, strlen(KEK_ID)),
                     KG_OK);
    assert_int_equal(kg_hsm_kek_generate(g_a, &k, "kg/g1/kek", (const uint8_t *)KEK_ID, strlen(KEK_ID)),
                     KG_ERR_CONFLICT);
    bool sens, ext;
    assert_int_equal(kg_hsm_key_attrs(g_a, &g_kek_a, &sens, &ext), KG_OK);
    assert_true(sens);
    transport(g_b, &g_kek_b);
    transport(g_c, &g_kek_c);
    /* the transported KEK is the same key: B's KEK unwraps what A's wrapped
     * (checked for every key type below) */
}

/* RSA-OAEP SHA-256 (MGF1-SHA-256) of msg under label (NULL: none), encrypted
 * by OpenSSL on the public key SPKI der; returns the ciphertext length. */
static size_t ossl_oaep(const kg_bytes *der, const char *label, const uint8_t *msg, size_t msg_len, uint8_t ct[512])
{
    const unsigned char *p = der->data;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)der->len);
    assert_non_null(pk);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
    size_t ct_len = 512;
    assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()), 1);
    if (label) {
        unsigned char *lab = OPENSSL_malloc(strlen(label));
        memcpy(lab, label, strlen(label));
        assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(pc, lab, (int)strlen(label)), 1);
    }
    assert_int_equal(EVP_PKEY_encrypt(pc, ct, &ct_len, msg, msg_len), 1);
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(pk);
    return ct_len;
}

/* A failure: KG_ERR_DECRYPT, the output cleared, the detail returned. */
static void oaep_fails(kg_hsm_token *t, const kg_hsm_key *k, const char *label, const uint8_t *ct, size_t ct_len,
                       char detail[256])
{
    kg_bytes out = { (uint8_t *)"x", 1 };
    kg_err err = kg_hsm_rsa_oaep_decrypt(t, &out, k, (const uint8_t *)label, label ? strlen(label) : 0, ct, ct_len);
    assert_int_equal(err, KG_ERR_DECRYPT);
    assert_null(out.data);
    assert_int_equal(out.len, 0);
    snprintf(detail, 256, "%s", kg_err_detail(err));
}

/* RSA-OAEP SHA-256 decryption on token t with key k (public key der): with
 * and without a label; a wrong label, a flipped byte, a wrong length all
 * fail alike. On SoftHSM2 2.6 (SHA-1 OAEP only) this runs the fallback:
 * raw RSA on the token, OAEP decoding on the host. */
static void check_oaep(kg_hsm_token *t, const kg_bytes *der, const kg_hsm_key *k)
{
    const uint8_t msg[] = "a data key";
    uint8_t ct[513], big[318];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    const struct { const char *label; const uint8_t *m; size_t len; } cases[] = {
        { "ctx", msg, sizeof(msg) }, { NULL, msg, sizeof(msg) }, { NULL, msg, 0 },
        { "a longer label, like the header AAD of the KMS", big, sizeof(big) }, /* 318: the most RSA-3072 takes */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t ct_len = ossl_oaep(der, cases[i].label, cases[i].m, cases[i].len, ct);
        assert_int_equal(ct_len, 384);
        kg_bytes out;
        const char *l = cases[i].label;
        kg_err err = kg_hsm_rsa_oaep_decrypt(t, &out, k, (const uint8_t *)l, l ? strlen(l) : 0, ct, ct_len);
        if (err)
            printf("decrypt: %s\n", kg_err_detail(err));
        assert_int_equal(err, KG_OK);
        assert_int_equal(out.len, cases[i].len);
        if (cases[i].len)
            assert_memory_equal(out.data, cases[i].m, cases[i].len);
        kg_bytes_free(&out);
    }
    printf("RSA-OAEP SHA-256 decrypt on %s (token OAEP %s): ok\n", kg_hsm_token_label(t),
           kg_hsm_token_has_mechanism(t, CKM_RSA_PKCS_OAEP) ? "listed" : "absent");
    /* every failure is the same KG_ERR_DECRYPT with the same detail */
    char d_label[256], d_flip[256], d_none[256], d_short[256], d_long[256];
    size_t ct_len = ossl_oaep(der, "ctx", msg, sizeof(msg), ct);
    oaep_fails(t, k, "ctX", ct, ct_len, d_label);
    oaep_fails(t, k, NULL, ct, ct_len, d_none);
    ct[100] ^= 0x20;
    oaep_fails(t, k, "ctx", ct, ct_len, d_flip);
    ct[100] ^= 0x20;
    oaep_fails(t, k, "ctx", ct + 1, ct_len - 1, d_short);
    ct[ct_len] = 0;
    oaep_fails(t, k, "ctx", ct, ct_len + 1, d_long);
    printf("failure: %s\n", d_flip);
    assert_string_equal(d_label, d_flip);
    assert_string_equal(d_none, d_flip);
    if (!kg_hsm_token_has_mechanism(t, CKM_RSA_PKCS_OAEP) || strstr(d_flip, "ciphertext, label or key")) {
        assert_string_equal(d_short, d_flip); /* host-decoded path: one message for everything */
        assert_string_equal(d_long, d_flip);
    }
    /* the ciphertext is intact again and still decrypts */
    kg_bytes out;
    assert_int_equal(kg_hsm_rsa_oaep_decrypt(t, &out, k, (const uint8_t *)"ctx", 3, ct, ct_len), KG_OK);
    assert_memory_equal(out.data, msg, sizeof(msg));
    kg_bytes_free(&out);
}

/* Generate a wrappable key on A, replicate it to B (and C), use it there. */
static void replicate(kg_hsm_key_type type, const char *id)
{
    char label[64];
    snprintf(label, sizeof(label), "kg/g1/%s", id);
    const uint8_t *idb = (const uint8_t *)id;
    kg_hsm_key ka, kb, kc, kf;
    if (type == KG_HSM_KEY_ED25519 && !kg_hsm_token_has_mechanism(g_a, CKM_EC_EDWARDS_KEY_PAIR_GEN))
        return;
    assert_int_equal(kg_hsm_key_generate_ex(g_a, &ka, type, label, idb, strlen(id), KG_HSM_GEN_WRAPPABLE), KG_OK);
    bool sens, ext;
    assert_int_equal(kg_hsm_key_attrs(g_a, &ka, &sens, &ext), KG_OK);
    assert_true(sens);
    assert_true(ext);
    kg_bytes wrapped, pub_a = { 0 }, pub_b = { 0 };
    kg_err err = kg_hsm_key_wrap(g_a, &wrapped, &g_kek_a, &ka);
    if (type == KG_HSM_KEY_ED25519 && err == KG_ERR_WRONG_KEY_USAGE) {
        printf("Ed25519 wrap: %s\n", kg_err_detail(err));
        assert_non_null(strstr(kg_err_detail(err), "cannot wrap Ed25519"));
        return;
    }
    assert_int_equal(err, KG_OK);
    printf("%s: wrapped to %zu bytes\n", id, wrapped.len);
    if (type != KG_HSM_KEY_AES256)
        assert_int_equal(kg_hsm_key_public_der(g_a, &pub_a, &ka), KG_OK);
    if (type != KG_HSM_KEY_AES256) { /* a public key of another type is refused before anything happens */
        kg_hsm_key_type other = type == KG_HSM_KEY_RSA3072 ? KG_HSM_KEY_EC_P256 : KG_HSM_KEY_RSA3072;
        assert_int_equal(kg_hsm_key_unwrap(g_b, &kb, &g_kek_b, other, wrapped.data, wrapped.len, label, idb,
                                           strlen(id), pub_a.data, pub_a.len), KG_ERR_BAD_INPUT);
    }
    assert_int_equal(kg_hsm_key_unwrap(g_b, &kb, &g_kek_b, type, wrapped.data, wrapped.len, label, idb,
                                       strlen(id), pub_a.data, pub_a.len), KG_OK);
    assert_int_equal(kg_hsm_key_unwrap(g_b, &kc, &g_kek_b, type, wrapped.data, wrapped.len, label, idb,
                                       strlen(id), pub_a.data, pub_a.len), KG_ERR_CONFLICT);
    assert_int_equal(kg_hsm_key_unwrap(g_c, &kc, &g_kek_c, type, wrapped.data, wrapped.len, label, idb,
                                       strlen(id), pub_a.data, pub_a.len), KG_OK);
    assert_int_equal(kg_hsm_key_attrs(g_b, &kb, &sens, &ext), KG_OK);
    assert_true(sens);
    assert_true(ext);
    /* found again on B by id, with its type */
    assert_int_equal(kg_hsm_key_find(g_b, &kf, idb, strlen(id)), KG_OK);
    assert_int_equal(kf.type, type);
    const uint8_t msg[] = "replicated";
    if (type == KG_HSM_KEY_AES256) {
        uint8_t iv[12] = { 9 };
        kg_bytes ct, pt;
        assert_int_equal(kg_hsm_aes_gcm_encrypt(g_a, &ct, &ka, iv, NULL, 0, msg, sizeof(msg)), KG_OK);
        assert_int_equal(kg_hsm_aes_gcm_decrypt(g_b, &pt, &kf, iv, NULL, 0, ct.data, ct.len), KG_OK);
        assert_memory_equal(pt.data, msg, sizeof(msg));
        kg_bytes_free(&pt);
        assert_int_equal(kg_hsm_aes_gcm_decrypt(g_c, &pt, &kc, iv, NULL, 0, ct.data, ct.len), KG_OK);
        kg_bytes_free(&pt);
        kg_bytes_free(&ct);
    } else {
        assert_int_equal(kg_hsm_key_public_der(g_b, &pub_b, &kf), KG_OK);
        assert_int_equal(pub_b.len, pub_a.len);
        assert_memory_equal(pub_b.data, pub_a.data, pub_a.len);
        kg_bytes sig;
        assert_int_equal(kg_hsm_sign(g_b, &sig, &kf, KG_HSM_SIG_DER, msg, sizeof(msg)), KG_OK);
        assert_int_equal(softhsm_fx_ossl_verify(pub_a.data, pub_a.len, type, sig.data, sig.len, msg, sizeof(msg)), 1);
        kg_bytes_free(&sig);
        assert_int_equal(kg_hsm_sign(g_c, &sig, &kc, KG_HSM_SIG_DER, msg, sizeof(msg)), KG_OK);
        assert_int_equal(softhsm_fx_ossl_verify(pub_a.data, pub_a.len, type, sig.data, sig.len, msg, sizeof(msg)), 1);
        kg_bytes_free(&sig);
        if (type == KG_HSM_KEY_RSA3072) { /* the original, and the replicas on B and C */
            check_oaep(g_a, &pub_a, &ka);
            check_oaep(g_b, &pub_a, &kf);
            check_oaep(g_c, &pub_a, &kc);
        }
    }
    kg_bytes_free(&pub_a);
    kg_bytes_free(&pub_b);
    kg_bytes_free(&wrapped);
}

static void test_replicate_aes(void **state) { (void)state; replicate(KG_HSM_KEY_AES256, "aes"); }
static void test_replicate_p256(void **state) { (void)state; replicate(KG_HSM_KEY_EC_P256, "p256"); }
static void test_replicate_k256(void **state) { (void)state; replicate(KG_HSM_KEY_EC_SECP256K1, "k256"); }
static void test_replicate_rsa(void **state) { (void)state; replicate(KG_HSM_KEY_RSA3072, "rsa"); }
static void test_replicate_ed25519(void **state) { (void)state; replicate(KG_HSM_KEY_ED25519, "ed25519"); }

static void test_not_wrappable(void **state)
{
    (void)state;
    kg_hsm_key k;
    assert_int_equal(kg_hsm_key_generate(g_a, &k, KG_HSM_KEY_EC_P256, "kg/solo/x", (const uint8_t *)"solo", 4),
                     KG_OK);
    kg_bytes w;
    assert_int_equal(kg_hsm_key_wrap(g_a, &w, &g_kek_a, &k), KG_ERR_WRONG_KEY_USAGE);
    assert_null(w.data);
    assert_non_null(strstr(kg_err_detail(KG_ERR_WRONG_KEY_USAGE), "not wrappable"));
    assert_int_equal(kg_hsm_key_generate_ex(g_a, &k, KG_HSM_KEY_EC_P256, "x", (const uint8_t *)"f", 1, 0x80),
                     KG_ERR_BAD_INPUT);
}

/* A group-of-one RSA key (never extractable) decrypts OAEP-SHA-256 too. */
static void test_oaep_solo(void **state)
{
    (void)state;
    kg_hsm_key k;
    kg_bytes pub;
    assert_int_equal(kg_hsm_key_generate(g_a, &k, KG_HSM_KEY_RSA3072, "kg/solo/rsa", (const uint8_t *)"solo-rsa", 8),
                     KG_OK);
    assert_int_equal(kg_hsm_key_public_der(g_a, &pub, &k), KG_OK);
    check_oaep(g_a, &pub, &k);
    /* not an RSA key: refused before the token is asked */
    kg_hsm_key ec;
    kg_bytes out;
    uint8_t ct[384] = { 0 };
    assert_int_equal(kg_hsm_key_generate(g_a, &ec, KG_HSM_KEY_EC_P256, "kg/solo/ec", (const uint8_t *)"solo-ec", 7),
                     KG_OK);
    assert_int_equal(kg_hsm_rsa_oaep_decrypt(g_a, &out, &ec, NULL, 0, ct, sizeof(ct)), KG_ERR_WRONG_KEY_USAGE);
    /* a ciphertext >= the modulus is the same decryption failure */
    memset(ct, 0xff, sizeof(ct));
    char d[256];
    oaep_fails(g_a, &k, NULL, ct, sizeof(ct), d);
    kg_bytes_free(&pub);
}

/* Remove only the public object of id on token label, as a half-finished
 * replication or another tool might leave it. */
static void drop_public(const char *token, const char *id)
{
    void *sym = dlsym(softhsm_fx_lib(), "C_GetFunctionList");
    CK_C_GetFunctionList gfl;
    memcpy(&gfl, &sym, sizeof(gfl));
    CK_FUNCTION_LIST_PTR f;
    assert_int_equal(gfl(&f), CKR_OK);
    kg_hsm_slot_info *slots;
    size_t n;
    assert_int_equal(kg_hsm_slots(g_mod, &slots, &n), KG_OK);
    CK_SLOT_ID slot = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(slots[i].label, token) == 0)
            slot = slots[i].slot_id;
    free(slots);
    CK_SESSION_HANDLE s;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, (void *)id, strlen(id) } };
    CK_OBJECT_HANDLE h;
    CK_ULONG cnt = 0;
    assert_int_equal(f->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(f->C_FindObjects(s, &h, 1, &cnt), CKR_OK);
    f->C_FindObjectsFinal(s);
    assert_int_equal(cnt, 1);
    assert_int_equal(f->C_DestroyObject(s, h), CKR_OK);
    f->C_CloseSession(s);
}

static size_t count_id(const kg_hsm_key *v, size_t n, const char *id, unsigned long *pub)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].id_len == strlen(id) && memcmp(v[i].id, id, v[i].id_len) == 0) {
            c++;
            *pub = v[i].pub;
        }
    return c;
}

static void test_list_destroy(void **state)
{
    (void)state;
    kg_hsm_key *v;
    size_t n, n_before;
    unsigned long pub = 0;
    assert_int_equal(kg_hsm_key_list(g_b, &v, &n, "kg/g1/"), KG_OK);
    n_before = n;
    printf("token kg-b holds %zu keys under kg/g1/\n", n);
    assert_true(n >= 4); /* KEK, aes, p256, k256, rsa (+ ed25519) */
    assert_int_equal(count_id(v, n, KEK_ID, &pub), 1);
    assert_int_equal(count_id(v, n, "p256", &pub), 1);
    assert_int_not_equal(pub, 0);
    assert_int_equal(count_id(v, n, "solo", &pub), 0); /* on A, and another prefix */
    free(v);
    assert_int_equal(kg_hsm_key_list(g_b, &v, &n, "kg/none/"), KG_OK);
    assert_int_equal(n, 0);
    free(v);
    /* a key without its public object is still found, listed and signs */
    drop_public("kg-b", "k256");
    kg_hsm_key k;
    assert_int_equal(kg_hsm_key_find(g_b, &k, (const uint8_t *)"k256", 4), KG_OK);
    assert_int_equal(k.pub, 0);
    kg_bytes sig;
    assert_int_equal(kg_hsm_sign(g_b, &sig, &k, KG_HSM_SIG_RAW, (const uint8_t *)"m", 1), KG_OK);
    kg_bytes_free(&sig);
    assert_int_equal(kg_hsm_key_list(g_b, &v, &n, "kg/g1/"), KG_OK);
    assert_int_equal(count_id(v, n, "k256", &pub), 1);
    assert_int_equal(pub, 0);
    free(v);
    /* destroy */
    assert_int_equal(kg_hsm_key_find(g_b, &k, (const uint8_t *)"p256", 4), KG_OK);
    kg_hsm_key gone = k;
    assert_int_equal(kg_hsm_key_destroy(g_b, &k), KG_OK);
    assert_int_equal(kg_hsm_key_find(g_b, &k, (const uint8_t *)"p256", 4), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_hsm_key_destroy(g_b, &gone), KG_ERR_NOT_FOUND);
    bool sens, ext;
    assert_int_equal(kg_hsm_key_attrs(g_b, &gone, &sens, &ext), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_hsm_key_list(g_b, &v, &n, "kg/g1/"), KG_OK);
    assert_int_equal(n, n_before - 1);
    free(v);
    /* still on A and C */
    assert_int_equal(kg_hsm_key_find(g_a, &k, (const uint8_t *)"p256", 4), KG_OK);
    assert_int_equal(kg_hsm_key_find(g_c, &k, (const uint8_t *)"p256", 4), KG_OK);
}

/* Through the fault-injecting module (when built): a ping that fails at the
 * token is an error HMS counts; it passes again once the fault is gone.
 * Runs last: kg-c is reopened through the wrapper (login state is shared by
 * the one SoftHSM2 instance, so the direct handle is closed first). */
static void test_ping_fault(void **state)
{
    (void)state;
    const char *fault = "./libkg_pkcs11_fault.so"; /* ctest runs in the build dir */
    if (access(fault, R_OK) != 0) {
        printf("no %s: fault part skipped\n", fault);
        return;
    }
    static void *keep_fault;
    if (!keep_fault)
        keep_fault = dlopen(fault, RTLD_NOW | RTLD_LOCAL);
    char ctl[96];
    assert_int_equal(softhsm_fx_fault_init(&g_fx, ctl, sizeof(ctl)), 0);
    kg_hsm_token_close(g_c);
    g_c = NULL;
    kg_hsm_module *fm;
    assert_int_equal(kg_hsm_module_load(&fm, fault), KG_OK);
    kg_hsm_token *t;
    kg_secret *p = softhsm_fx_pin(SOFTHSM_FX_PIN);
    assert_int_equal(kg_hsm_token_open(&t, fm, "kg-c", p, 2), KG_OK);
    kg_secret_free(p);
    assert_int_equal(kg_hsm_token_ping(t), KG_OK);
    assert_int_equal(softhsm_fx_fault_rules(ctl, "C_GetSessionInfo fail CKR_DEVICE_ERROR\n"), 0);
    kg_err err = kg_hsm_token_ping(t);
    assert_int_equal(err, KG_ERR_IO);
    assert_non_null(strstr(kg_err_detail(err), "CKR_DEVICE_ERROR"));
    assert_non_null(strstr(kg_err_detail(err), "kg-c"));
    assert_int_equal(softhsm_fx_fault_rules(ctl, "C_WrapKey fail CKR_DEVICE_ERROR\n"), 0);
    assert_int_equal(kg_hsm_token_ping(t), KG_OK);
    kg_hsm_key k, kek; /* handles are per token handle: find them again on t */
    kg_bytes w;
    assert_int_equal(kg_hsm_key_find(t, &k, (const uint8_t *)"aes", 3), KG_OK);
    assert_int_equal(kg_hsm_key_find(t, &kek, (const uint8_t *)KEK_ID, strlen(KEK_ID)), KG_OK);
    assert_int_equal(kg_hsm_key_wrap(t, &w, &kek, &k), KG_ERR_IO);
    assert_null(w.data);
    assert_int_equal(softhsm_fx_fault_rules(ctl, ""), 0);
    err = kg_hsm_key_wrap(t, &w, &kek, &k);
    if (err)
        printf("wrap: %s\n", kg_err_detail(err));
    assert_int_equal(err, KG_OK);
    kg_bytes_free(&w);
    /* RSA-OAEP: a device error is KG_ERR_IO (the member's fault, HMS fails
     * over), not a decryption failure; a token that lists neither OAEP nor
     * CKM_RSA_X_509 is wrong_key_usage */
    kg_hsm_key rsa;
    kg_bytes pub, pt;
    uint8_t ct[512];
    assert_int_equal(kg_hsm_key_find(t, &rsa, (const uint8_t *)"rsa", 3), KG_OK);
    assert_int_equal(kg_hsm_key_public_der(t, &pub, &rsa), KG_OK);
    size_t ct_len = ossl_oaep(&pub, "l", (const uint8_t *)"m", 1, ct);
    /* (at C_DecryptInit: a fault injected at C_Decrypt never reaches SoftHSM2,
     * whose decrypt operation then stays active on the pooled session) */
    assert_int_equal(softhsm_fx_fault_rules(ctl, "C_DecryptInit fail CKR_DEVICE_ERROR\n"), 0);
    assert_int_equal(kg_hsm_rsa_oaep_decrypt(t, &pt, &rsa, (const uint8_t *)"l", 1, ct, ct_len), KG_ERR_IO);
    assert_null(pt.data);
    assert_int_equal(softhsm_fx_fault_rules(ctl, "C_GetMechanismInfo fail CKR_MECHANISM_INVALID\n"), 0);
    err = kg_hsm_rsa_oaep_decrypt(t, &pt, &rsa, (const uint8_t *)"l", 1, ct, ct_len);
    assert_int_equal(err, KG_ERR_WRONG_KEY_USAGE);
    assert_non_null(strstr(kg_err_detail(err), "lacks CKM_RSA_X_509"));
    assert_int_equal(softhsm_fx_fault_rules(ctl, ""), 0);
    err = kg_hsm_rsa_oaep_decrypt(t, &pt, &rsa, (const uint8_t *)"l", 1, ct, ct_len);
    if (err)
        printf("decrypt: %s\n", kg_err_detail(err));
    assert_int_equal(err, KG_OK);
    assert_int_equal(pt.len, 1);
    assert_int_equal(pt.data[0], 'm');
    kg_bytes_free(&pt);
    kg_bytes_free(&pub);
    /* a key cached by the closed handle is looked up again by id here */
    assert_int_equal(kg_hsm_key_wrap(t, &w, &g_kek_c, &k), KG_OK);
    kg_bytes_free(&w);
    kg_hsm_token_close(t);
    kg_hsm_module_release(fm);
}

int main(void)
{
    if (!softhsm_fx_available())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_kek),
        cmocka_unit_test(test_not_wrappable),
        cmocka_unit_test(test_oaep_solo),
        cmocka_unit_test(test_replicate_aes),
        cmocka_unit_test(test_replicate_p256),
        cmocka_unit_test(test_replicate_k256),
        cmocka_unit_test(test_replicate_rsa),
        cmocka_unit_test(test_replicate_ed25519),
        cmocka_unit_test(test_list_destroy),
        cmocka_unit_test(test_ping_fault),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
