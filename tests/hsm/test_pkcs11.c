/* The PKCS#11 client against a real SoftHSM2 token in a private temp dir. */
#define _XOPEN_SOURCE 700 /* nftw in softhsm_fixture.h */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
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
/* White box: test_relogin_new_handles empties the session pool the way
 * p11_run_op does when a retried session is lost too. */
#include "../../src/hsm/hsm_int.h"

#define CKF_TOKEN_INITIALIZED_ CKF_TOKEN_INITIALIZED
#define CKM_AES_GCM_ CKM_AES_GCM
#define CKM_EC_EDWARDS_KEY_PAIR_GEN_ CKM_EC_EDWARDS_KEY_PAIR_GEN

/* SoftHSM2 2.6 leaks a little OpenSSL memory in C_SignInit (EdDSA); ours must
 * not (see softhsm_fixture.h). */
SOFTHSM_FX_LSAN_HOOKS("")

static softhsm_fx g_fx;
static kg_hsm_module *g_mod;
static kg_hsm_token *g_tok;

static int setup(void **state)
{
    (void)state;
    static const char *const labels[] = { "kg-test" };
    if (softhsm_fx_setup(&g_fx, "kg-hsm", labels, 1) != 0)
        return -1;
    if (kg_hsm_module_load(&g_mod, SOFTHSM) != KG_OK)
        return -1;
    kg_secret *p = softhsm_fx_pin(SOFTHSM_FX_PIN);
    kg_err err = kg_hsm_token_open(&g_tok, g_mod, "kg-test", p, 4);
    kg_secret_free(p);
    return err == KG_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kg_hsm_token_close(g_tok);
    kg_hsm_module_release(g_mod);
    softhsm_fx_teardown(&g_fx);
    return 0;
}

static void test_missing_module(void **state)
{
    (void)state;
    kg_hsm_module *m = (kg_hsm_module *)1;
    assert_int_equal(kg_hsm_module_load(&m, "/nonexistent/libnope.so"), KG_ERR_NOT_FOUND);
    assert_null(m);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NOT_FOUND), "/nonexistent/libnope.so"));
}

static void test_refcount(void **state)
{
    (void)state;
    kg_hsm_module *m;
    assert_int_equal(kg_hsm_module_load(&m, SOFTHSM), KG_OK);
    assert_ptr_equal(m, g_mod); /* same module, not initialised twice */
    kg_hsm_module_release(m);
    /* g_mod still usable */
    kg_hsm_slot_info *slots;
    size_t n;
    assert_int_equal(kg_hsm_slots(g_mod, &slots, &n), KG_OK);
    free(slots);
}

static void test_discovery(void **state)
{
    (void)state;
    kg_hsm_slot_info *slots;
    size_t n;
    assert_int_equal(kg_hsm_slots(g_mod, &slots, &n), KG_OK);
    const kg_hsm_slot_info *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (slots[i].token_present && strcmp(slots[i].label, "kg-test") == 0)
            found = &slots[i];
    assert_non_null(found);
    assert_true(found->token_flags & CKF_TOKEN_INITIALIZED_);
    assert_string_equal(found->model, "SoftHSM v2");
    assert_true(strlen(found->serial) > 0);
    unsigned long *mechs;
    size_t nm;
    assert_int_equal(kg_hsm_mechanisms(g_mod, found->slot_id, &mechs, &nm), KG_OK);
    bool gcm = false;
    for (size_t i = 0; i < nm; i++)
        gcm |= mechs[i] == CKM_AES_GCM_;
    assert_true(gcm);
    assert_true(kg_hsm_token_has_mechanism(g_tok, CKM_AES_GCM_));
    free(mechs);
    free(slots);
}

static void test_wrong_pin(void **state)
{
    (void)state;
    kg_hsm_token *t = (kg_hsm_token *)1;
    kg_secret *p = softhsm_fx_pin("9999");
    assert_int_equal(kg_hsm_token_open(&t, g_mod, "kg-test", p, 2), KG_ERR_UNAUTHENTICATED);
    kg_secret_free(p);
    assert_null(t);
    const char *d = kg_err_detail(KG_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(d, "wrong PIN for token kg-test"));
    assert_null(strstr(d, "9999"));
    /* a right PIN opens a second handle while the first is logged in */
    p = softhsm_fx_pin("1234");
    assert_int_equal(kg_hsm_token_open(&t, g_mod, "kg-test", p, 2), KG_OK);
    kg_secret_free(p);
    kg_hsm_token_close(t);
    p = softhsm_fx_pin("1234");
    assert_int_equal(kg_hsm_token_open(&t, g_mod, "no-such-token", p, 2), KG_ERR_NOT_FOUND);
    kg_secret_free(p);
}

static void check_attrs(const kg_hsm_key *k)
{
    bool sens, ext;
    assert_int_equal(kg_hsm_key_attrs(g_tok, k, &sens, &ext), KG_OK);
    assert_true(sens);
    assert_false(ext);
}

static void test_aes_gcm(void **state)
{
    (void)state;
    kg_hsm_key k, k2;
    const uint8_t id[] = "aes-1";
    assert_int_equal(kg_hsm_key_generate(g_tok, &k, KG_HSM_KEY_AES256, "aes one", id, 5), KG_OK);
    assert_int_equal(kg_hsm_key_generate(g_tok, &k2, KG_HSM_KEY_AES256, "dup", id, 5), KG_ERR_CONFLICT);
    check_attrs(&k);
    assert_int_equal(kg_hsm_key_find(g_tok, &k2, id, 5), KG_OK);
    assert_int_equal(k2.type, KG_HSM_KEY_AES256);
    uint8_t iv[12] = { 1, 2, 3 };
    const uint8_t aad[] = "context", pt[] = "attack at dawn";
    kg_bytes ct, out;
    assert_int_equal(kg_hsm_aes_gcm_encrypt(g_tok, &ct, &k, iv, aad, 7, pt, sizeof(pt)), KG_OK);
    assert_int_equal(ct.len, sizeof(pt) + 16);
    assert_int_equal(kg_hsm_aes_gcm_decrypt(g_tok, &out, &k2, iv, aad, 7, ct.data, ct.len), KG_OK);
    assert_int_equal(out.len, sizeof(pt));
    assert_memory_equal(out.data, pt, sizeof(pt));
    kg_bytes_free(&out);
    /* tampering: ciphertext, tag, AAD, IV */
    ct.data[0] ^= 1;
    assert_int_equal(kg_hsm_aes_gcm_decrypt(g_tok, &out, &k, iv, aad, 7, ct.data, ct.len), KG_ERR_DECRYPT);
    ct.data[0] ^= 1;
    ct.data[ct.len - 1] ^= 0x80;
    assert_int_equal(kg_hsm_aes_gcm_decrypt(g_tok, &out, &k, iv, aad, 7, ct.data, ct.len), KG_ERR_DECRYPT);
    ct.data[ct.len - 1] ^= 0x80;
    assert_int_equal(kg_hsm_aes_gcm_decrypt(g_tok, &out, &k, iv, aad, 6, ct.data, ct.len), KG_ERR_DECRYPT);
    iv[0] ^= 1;
    assert_int_equal(kg_hsm_aes_gcm_decrypt(g_tok, &out, &k, iv, aad, 7, ct.data, ct.len), KG_ERR_DECRYPT);
    iv[0] ^= 1;
    assert_int_equal(kg_hsm_aes_gcm_decrypt(g_tok, &out, &k, iv, aad, 7, ct.data, ct.len), KG_OK);
    kg_bytes_free(&out);
    kg_bytes_free(&ct);
    kg_bytes sig;
    assert_int_equal(kg_hsm_sign(g_tok, &sig, &k, KG_HSM_SIG_DER, pt, 3), KG_ERR_WRONG_KEY_USAGE);
    const uint8_t missing[] = "nope";
    assert_int_equal(kg_hsm_key_find(g_tok, &k2, missing, 4), KG_ERR_NOT_FOUND);
}

/* Verify sig over msg with OpenSSL on the exported SubjectPublicKeyInfo. */
static int ossl_verify(const kg_hsm_key *k, const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len)
{
    kg_bytes der;
    assert_int_equal(kg_hsm_key_public_der(g_tok, &der, k), KG_OK);
    int ok = softhsm_fx_ossl_verify(der.data, der.len, k->type, sig, sig_len, msg, msg_len);
    kg_bytes_free(&der);
    return ok;
}

static void sign_and_verify(kg_hsm_key_type type, const char *id)
{
    kg_hsm_key k, k2;
    assert_int_equal(kg_hsm_key_generate(g_tok, &k, type, id, (const uint8_t *)id, strlen(id)), KG_OK);
    check_attrs(&k);
    assert_int_equal(kg_hsm_key_find(g_tok, &k2, (const uint8_t *)id, strlen(id)), KG_OK);
    assert_int_equal(k2.type, type);
    const uint8_t msg[] = "pay 1 BTC to bob";
    kg_bytes sig;
    assert_int_equal(kg_hsm_sign(g_tok, &sig, &k2, KG_HSM_SIG_DER, msg, sizeof(msg)), KG_OK);
    assert_int_equal(ossl_verify(&k, sig.data, sig.len, msg, sizeof(msg)), 1);
    assert_int_equal(ossl_verify(&k, sig.data, sig.len, msg, sizeof(msg) - 1), 0);
    kg_bytes_free(&sig);
    if (type == KG_HSM_KEY_EC_P256 || type == KG_HSM_KEY_EC_SECP256K1) {
        assert_int_equal(kg_hsm_sign(g_tok, &sig, &k, KG_HSM_SIG_RAW, msg, sizeof(msg)), KG_OK);
        assert_int_equal(sig.len, 64);
        kg_bytes_free(&sig);
    }
}

static void test_ecdsa_p256(void **state) { (void)state; sign_and_verify(KG_HSM_KEY_EC_P256, "p256-1"); }
static void test_ecdsa_k256(void **state) { (void)state; sign_and_verify(KG_HSM_KEY_EC_SECP256K1, "k256-1"); }
static void test_rsa_pss(void **state) { (void)state; sign_and_verify(KG_HSM_KEY_RSA3072, "rsa-1"); }

static void test_ed25519(void **state)
{
    (void)state;
    if (!kg_hsm_token_has_mechanism(g_tok, CKM_EC_EDWARDS_KEY_PAIR_GEN_)) {
        kg_hsm_key k;
        assert_int_equal(kg_hsm_key_generate(g_tok, &k, KG_HSM_KEY_ED25519, "ed", (const uint8_t *)"ed", 2),
                         KG_ERR_WRONG_KEY_USAGE);
        return;
    }
    sign_and_verify(KG_HSM_KEY_ED25519, "ed25519-1");
}

static kg_hsm_key g_thr_key;

static void *signer(void *arg)
{
    (void)arg;
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        uint8_t msg[8] = { (uint8_t)i };
        kg_bytes sig;
        if (kg_hsm_sign(g_tok, &sig, &g_thr_key, KG_HSM_SIG_DER, msg, sizeof(msg)) != KG_OK) {
            bad++;
            continue;
        }
        kg_bytes_free(&sig);
    }
    return (void *)(intptr_t)bad;
}

static void test_threads(void **state)
{
    (void)state;
    assert_int_equal(kg_hsm_key_generate(g_tok, &g_thr_key, KG_HSM_KEY_EC_P256, "thr",
                                         (const uint8_t *)"thr", 3), KG_OK);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, signer, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_int_equal((intptr_t)r, 0);
    }
    const uint8_t msg[] = "after threads";
    kg_bytes sig;
    assert_int_equal(kg_hsm_sign(g_tok, &sig, &g_thr_key, KG_HSM_SIG_DER, msg, sizeof(msg)), KG_OK);
    assert_int_equal(ossl_verify(&g_thr_key, sig.data, sig.len, msg, sizeof(msg)), 1);
    kg_bytes_free(&sig);
}

/* SoftHSM2 issue #573: an object-creating call on a token sometimes fails
 * with CKR_GENERAL_ERROR or CKR_TEMPLATE_INCONSISTENT while another thread
 * creates an object or searches the token. The client serialises creation
 * against creation and searches per token (p11_obj_lock), across token
 * handles too: 4 threads on two handles of one token each create and
 * destroy 40 keys (EC, AES; imported public keys through C_CreateObject come
 * from the HMS tests) while 2 threads sign and 2 look a key up and sign with
 * it. Without the lock this failed 4 runs of 4; with creations serialised
 * only among themselves, 5 of 5. */
static kg_hsm_token *g_tok2;

static void *creator(void *arg)
{
    intptr_t n = (intptr_t)arg, bad = 0;
    kg_hsm_token *t = n % 2 ? g_tok2 : g_tok;
    for (int i = 0; i < 40; i++) {
        char id[32];
        snprintf(id, sizeof(id), "conc-%d-%d", (int)n, i);
        kg_hsm_key k;
        kg_err err = kg_hsm_key_generate(t, &k, i % 3 ? KG_HSM_KEY_EC_P256 : KG_HSM_KEY_AES256, "conc",
                                         (const uint8_t *)id, strlen(id));
        if (!err)
            err = kg_hsm_key_destroy(t, &k);
        if (err) {
            printf("  %s: %s\n", id, kg_err_detail(err));
            bad++;
        }
    }
    return (void *)bad;
}

/* Looks the signing key up by CKA_ID (SoftHSM2 re-reads its object store
 * for that) and signs with what it found, like HMS on an uncached key. */
static void *finder(void *arg)
{
    (void)arg;
    intptr_t bad = 0;
    for (int i = 0; i < 120; i++) {
        kg_hsm_key k;
        kg_bytes sig = {0};
        uint8_t msg[8] = { (uint8_t)i };
        kg_err err = kg_hsm_key_find(i % 2 ? g_tok2 : g_tok, &k, (const uint8_t *)"thr", 3);
        if (!err)
            err = kg_hsm_sign(i % 2 ? g_tok2 : g_tok, &sig, &k, KG_HSM_SIG_DER, msg, sizeof(msg));
        if (err) {
            printf("  find+sign: %s\n", kg_err_detail(err));
            bad++;
        }
        kg_bytes_free(&sig);
    }
    return (void *)bad;
}

static void test_concurrent_create(void **state)
{
    (void)state;
    kg_secret *p = softhsm_fx_pin("1234");
    assert_int_equal(kg_hsm_token_open(&g_tok2, g_mod, "kg-test", p, 4), KG_OK);
    kg_secret_free(p);
    pthread_t th[8];
    for (intptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, creator, (void *)i), 0);
    for (int i = 4; i < 6; i++)
        assert_int_equal(pthread_create(&th[i], NULL, signer, NULL), 0);
    for (int i = 6; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, finder, NULL), 0);
    intptr_t bad = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (intptr_t)r;
    }
    kg_hsm_token_close(g_tok2);
    assert_int_equal(bad, 0);
}

/* Another user of the module closes every session of the slot (which also
 * logs the application out): the next operation recovers on a new session. */
static void test_session_recovery(void **state)
{
    (void)state;
    void *sym = dlsym(softhsm_fx_lib(), "C_GetFunctionList");
    assert_non_null(sym);
    CK_C_GetFunctionList gfl;
    memcpy(&gfl, &sym, sizeof(gfl));
    CK_FUNCTION_LIST_PTR f;
    assert_int_equal(gfl(&f), CKR_OK);
    kg_hsm_slot_info *slots;
    size_t n;
    assert_int_equal(kg_hsm_slots(g_mod, &slots, &n), KG_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(slots[i].label, "kg-test") == 0)
            assert_int_equal(f->C_CloseAllSessions(slots[i].slot_id), CKR_OK);
    free(slots);
    const uint8_t msg[] = "after the sessions were closed";
    kg_bytes sig;
    assert_int_equal(kg_hsm_sign(g_tok, &sig, &g_thr_key, KG_HSM_SIG_DER, msg, sizeof(msg)), KG_OK);
    assert_int_equal(ossl_verify(&g_thr_key, sig.data, sig.len, msg, sizeof(msg)), 1);
    kg_bytes_free(&sig);
    bool sens, ext;
    assert_int_equal(kg_hsm_key_attrs(g_tok, &g_thr_key, &sens, &ext), KG_OK);
}

/* A login no open handle of ours owns (here: a raw session of the same
 * SoftHSM2 instance, as a member whose sessions could not be closed leaves
 * behind) makes C_Login answer CKR_USER_ALREADY_LOGGED_IN without checking
 * the PIN. Opening then re-proves the PIN: wrong is refused, right works. */
static void test_stale_login(void **state)
{
    (void)state;
    void *sym = dlsym(softhsm_fx_lib(), "C_GetFunctionList");
    assert_non_null(sym);
    CK_C_GetFunctionList gfl;
    memcpy(&gfl, &sym, sizeof(gfl));
    CK_FUNCTION_LIST_PTR f;
    assert_int_equal(gfl(&f), CKR_OK);
    kg_hsm_token_close(g_tok); /* no handle of ours is open now */
    g_tok = NULL;
    kg_hsm_slot_info *slots;
    size_t n;
    CK_SLOT_ID slot = 0;
    assert_int_equal(kg_hsm_slots(g_mod, &slots, &n), KG_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(slots[i].label, "kg-test") == 0)
            slot = slots[i].slot_id;
    free(slots);
    CK_SESSION_HANDLE raw;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &raw), CKR_OK);
    assert_int_equal(f->C_Login(raw, CKU_USER, (CK_UTF8CHAR_PTR)"1234", 4), CKR_OK);
    kg_hsm_token *t = NULL;
    kg_secret *p = softhsm_fx_pin("9999");
    assert_int_equal(kg_hsm_token_open(&t, g_mod, "kg-test", p, 2), KG_ERR_UNAUTHENTICATED);
    kg_secret_free(p);
    assert_null(t);
    p = softhsm_fx_pin(SOFTHSM_FX_PIN);
    assert_int_equal(kg_hsm_token_open(&g_tok, g_mod, "kg-test", p, 4), KG_OK);
    kg_secret_free(p);
    f->C_CloseSession(raw);
    kg_hsm_key k;
    kg_bytes sig = {0};
    const uint8_t msg[] = "after a stale login";
    assert_int_equal(kg_hsm_key_generate(g_tok, &k, KG_HSM_KEY_EC_P256, "stale", (const uint8_t *)"stale-1", 7),
                     KG_OK);
    assert_int_equal(kg_hsm_sign(g_tok, &sig, &k, KG_HSM_SIG_DER, msg, sizeof(msg)), KG_OK);
    assert_int_equal(ossl_verify(&k, sig.data, sig.len, msg, sizeof(msg)), 1);
    kg_bytes_free(&sig);
    assert_int_equal(kg_hsm_key_destroy(g_tok, &k), KG_OK);
}

/* The pool loses its last session without a reconnect (p11_run_op's second
 * attempt on a lost session closes it and returns): the application is
 * logged out and SoftHSM2 numbers private objects anew at the next login.
 * A key handle cached before must not be trusted after it. */
static void test_relogin_new_handles(void **state)
{
    (void)state;
    kg_hsm_key k;
    kg_bytes sig = {0};
    assert_int_equal(kg_hsm_key_generate(g_tok, &k, KG_HSM_KEY_EC_P256, "relogin", (const uint8_t *)"relogin-1", 9),
                     KG_OK);
    const uint8_t msg[] = "after a new login";
    for (int round = 0; round < 3; round++) {
        pthread_mutex_lock(&g_tok->mu);
        assert_int_equal(g_tok->open, g_tok->n_idle); /* nothing in use */
        for (size_t i = 0; i < g_tok->n_idle; i++)
            g_tok->f->C_CloseSession(g_tok->idle[i]);
        g_tok->open = 0;
        g_tok->n_idle = 0;
        pthread_mutex_unlock(&g_tok->mu);
        kg_err err = kg_hsm_sign(g_tok, &sig, &k, KG_HSM_SIG_DER, msg, sizeof(msg));
        if (err)
            printf("  round %d: %s\n", round, kg_err_detail(err));
        assert_int_equal(err, KG_OK);
        assert_int_equal(ossl_verify(&k, sig.data, sig.len, msg, sizeof(msg)), 1);
        kg_bytes_free(&sig);
    }
    assert_int_equal(kg_hsm_key_destroy(g_tok, &k), KG_OK);
}

static void test_rv_names(void **state)
{
    (void)state;
    char buf[24];
    /* Key wrapping codes (HMS replication) are named too, each once. */
    static const struct { unsigned long rv; const char *name; } wrap[] = {
        { CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID" },
        { CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE" },
        { CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID" },
        { CKR_WRAPPING_KEY_SIZE_RANGE, "CKR_WRAPPING_KEY_SIZE_RANGE" },
        { CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT" },
        { CKR_UNWRAPPING_KEY_HANDLE_INVALID, "CKR_UNWRAPPING_KEY_HANDLE_INVALID" },
        { CKR_UNWRAPPING_KEY_SIZE_RANGE, "CKR_UNWRAPPING_KEY_SIZE_RANGE" },
        { CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT" },
        { CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
        { CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
        { CKR_PUBLIC_KEY_INVALID, "CKR_PUBLIC_KEY_INVALID" },
        { CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED" },
        { CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK" },
    };
    for (size_t i = 0; i < sizeof(wrap) / sizeof(wrap[0]); i++)
        assert_string_equal(kg_hsm_rv_name(wrap[i].rv, buf), wrap[i].name);
    assert_string_equal(kg_hsm_rv_name(0xa0, buf), "CKR_PIN_INCORRECT");
    assert_string_equal(kg_hsm_rv_name(0x32, buf), "CKR_DEVICE_REMOVED");
    assert_string_equal(kg_hsm_rv_name(0x12345, buf), "CKR_0x12345");
}

static void test_mechanism_names(void **state)
{
    (void)state;
    char buf[24];
    /* the first and last standard values, ones SoftHSM2 lists that the
     * old table in hms_member.c printed as numbers, and the aliases */
    assert_string_equal(kg_hsm_mechanism_name(CKM_RSA_PKCS_KEY_PAIR_GEN, buf), "CKM_RSA_PKCS_KEY_PAIR_GEN");
    assert_string_equal(kg_hsm_mechanism_name(CKM_AES_KEY_WRAP_PAD, buf), "CKM_AES_KEY_WRAP_PAD");
    assert_string_equal(kg_hsm_mechanism_name(0x1105, buf), "CKM_AES_CBC_ENCRYPT_DATA");
    assert_string_equal(kg_hsm_mechanism_name(CKM_SHA224_HMAC, buf), "CKM_SHA224_HMAC");
    assert_string_equal(kg_hsm_mechanism_name(CKM_DES3_CMAC, buf), "CKM_DES3_CMAC");
    assert_string_equal(kg_hsm_mechanism_name(CKM_EDDSA, buf), "CKM_EDDSA");
    assert_string_equal(kg_hsm_mechanism_name(0x1040, buf), "CKM_EC_KEY_PAIR_GEN");
    assert_string_equal(kg_hsm_mechanism_name(0x320, buf), "CKM_CAST128_KEY_GEN");
    assert_string_equal(kg_hsm_mechanism_name(CKM_VENDOR_DEFINED, buf), "CKM_VENDOR_DEFINED");
    /* unknown values, below, between and above the table, land in buf */
    assert_ptr_equal(kg_hsm_mechanism_name(0x7fffffff, buf), buf);
    assert_string_equal(buf, "CKM_0x7fffffff");
    assert_string_equal(kg_hsm_mechanism_name(0x1106, buf), "CKM_0x1106");
    assert_string_equal(kg_hsm_mechanism_name(CKM_VENDOR_DEFINED | 0x1234, buf), "CKM_0x80001234");
    assert_string_equal(kg_hsm_mechanism_name(~0UL, buf), "CKM_0xffffffffffffffff");
    /* every mechanism SoftHSM2 lists has a name */
    kg_hsm_slot_info *slots = NULL;
    size_t n = 0, nm = 0;
    unsigned long *mechs = NULL;
    assert_int_equal(kg_hsm_slots(g_mod, &slots, &n), KG_OK);
    assert_true(n > 0);
    assert_int_equal(kg_hsm_mechanisms(g_mod, slots[0].slot_id, &mechs, &nm), KG_OK);
    assert_true(nm > 10);
    for (size_t i = 0; i < nm; i++) {
        const char *name = kg_hsm_mechanism_name(mechs[i], buf);
        assert_ptr_not_equal(name, buf);
        assert_int_equal(strncmp(name, "CKM_", 4), 0);
    }
    free(mechs);
    free(slots);
}

int main(void)
{
    if (!softhsm_fx_available())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rv_names),
        cmocka_unit_test(test_mechanism_names),
        cmocka_unit_test(test_missing_module),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_wrong_pin),
        cmocka_unit_test(test_aes_gcm),
        cmocka_unit_test(test_ecdsa_p256),
        cmocka_unit_test(test_ecdsa_k256),
        cmocka_unit_test(test_rsa_pss),
        cmocka_unit_test(test_ed25519),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_concurrent_create),
        cmocka_unit_test(test_session_recovery),
        cmocka_unit_test(test_relogin_new_handles),
        cmocka_unit_test(test_stale_login),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
