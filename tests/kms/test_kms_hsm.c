/* HSM-protected keys through the KMS API, against a fleet manager (kg_hms)
 * with one SoftHSM2 member "a" in group "g1" (private temp token dir):
 * every HSM spec creates, encrypts/decrypts (AES; RSA when the token does
 * SHA-256 OAEP), signs (low-S ECDSA) with signatures that verify through
 * the KMS and with OpenSSL on the public key; rotation keeps old
 * ciphertexts readable; bad inputs change nothing; destroy removes the
 * objects from the token. A second group (two members a, b through the
 * fault module) shows a key destroyed while b was down stays destroyed
 * across a restart (kg_hms_key_forget). */
#include "core_fixture.h"
#include "../hsm/softhsm_fixture.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* SoftHSM2 2.6 leaks a little OpenSSL memory; ours must not. */
SOFTHSM_FX_LSAN_HOOKS("")

static softhsm_fx g_hsm;
static kg_hms *g_hms;
static kg_secret *g_pin;

static int group_setup(void **state)
{
    (void)state;
    static const char *const labels[] = { "kg-a" };
    if (softhsm_fx_setup(&g_hsm, "kg-kmshsm", labels, 1) != 0)
        return -1;
    kg_log_set_level(KG_LOG_ERROR);
    g_pin = softhsm_fx_pin(SOFTHSM_FX_PIN);
    kg_hms_config hc;
    kg_hms_config_default(&hc);
    /* RSA-3072 generation in SoftHSM under the sanitizers on a busy
     * machine takes seconds: do not let the op timeout take "a" down. */
    hc.op_timeout_ms = 60000;
    hc.probe_interval_ms = 60000;
    if (kg_hms_open(&g_hms, &hc) != KG_OK)
        return -1;
    if (kg_hms_member_add(g_hms, "a", SOFTHSM, "kg-a", g_pin, true) != KG_OK) {
        fprintf(stderr, "member add: %s\n", kg_err_detail(KG_ERR_INTERNAL));
        return -1;
    }
    const char *members[] = { "a" };
    if (kg_hms_group_create(g_hms, "g1", members, 1) != KG_OK) {
        fprintf(stderr, "group create: %s\n", kg_err_detail(KG_ERR_INTERNAL));
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    kg_hms_close(g_hms);
    kg_secret_free(g_pin);
    softhsm_fx_teardown(&g_hsm);
    return 0;
}

static fx *hfx_new(void)
{
    fx *f = fx_new(1, 1, true, 0);
    f->kms->cfg.hms = g_hms;
    return f;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Create; NULL when the token lacks the mechanism (Ed25519 on old SoftHSM). */
static json_t *create_hsm(fx *f, const char *spec, const char *extra)
{
    char text[256];
    snprintf(text, sizeof(text), "{\"spec\":\"%s\",\"protection\":\"hsm\"%s}", spec, extra);
    json_t *req = json_loads(text, 0, NULL), *meta = NULL;
    kg_err e = kg_kms_key_create(f->kms, f->sys, &meta, req);
    json_decref(req);
    if (e == KG_ERR_WRONG_KEY_USAGE) {
        printf("  %s: not supported by the token (%s)\n", spec, kg_err_detail(e));
        return NULL;
    }
    if (e != KG_OK)
        fprintf(stderr, "create %s: %s\n", spec, kg_err_detail(e));
    assert_int_equal(e, KG_OK);
    assert_string_equal(str(meta, "protection"), "hsm");
    assert_string_equal(str(meta, "hsm_group"), "g1");
    /* The version row holds the HSM identity and no material. */
    char skey[96];
    json_t *row = NULL;
    snprintf(skey, sizeof(skey), "keys/%s/v/%010u", fx_id(meta), 1u);
    assert_int_equal(kg_store_get_json(f->st, NULL, &row, skey), KG_OK);
    assert_null(json_object_get(row, "material_enc"));
    char want[64];
    snprintf(want, sizeof(want), "%s/1", fx_id(meta));
    assert_string_equal(str(row, "hsm_id"), want);
    json_decref(row);
    return meta;
}

static void aes_roundtrip(fx *f, const char *id)
{
    json_t *ctx = json_pack("{s:s}", "tenant", "42"), *info = NULL;
    kg_bytes ct = { 0 };
    kg_secret *pt = NULL;
    const uint8_t msg[] = "attack at dawn";
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, id, ctx, msg, sizeof(msg)), KG_OK);
    json_decref(info);
    assert_memory_equal(ct.data, "KGC1", 4);
    assert_int_equal(ct.len, 4 + 1 + 26 + 4 + 12 + sizeof(msg) + 16);
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, ctx, ct.data, ct.len), KG_OK);
    assert_memory_equal(kg_secret_cdata(pt), msg, sizeof(msg));
    kg_secret_free(pt);
    json_decref(info);
    /* Wrong context and a flipped byte: the one decrypt error. */
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, NULL, ct.data, ct.len), KG_ERR_DECRYPT);
    ct.data[ct.len - 1] ^= 1;
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, ctx, ct.data, ct.len), KG_ERR_DECRYPT);
    ct.data[ct.len - 1] ^= 1;

    /* Rotate: new ciphertexts use v2, the old one still decrypts. */
    json_t *out = NULL;
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, id), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(out, "current_version")), 2);
    json_decref(out);
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, ctx, ct.data, ct.len), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "version")), 1);
    kg_secret_free(pt);
    json_decref(info);

    /* Data key and re-encrypt to a software key. */
    kg_bytes dct = { 0 }, rct = { 0 };
    assert_int_equal(kg_kms_data_key(f->kms, f->sys, &pt, &dct, &info, id, NULL, 32), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "version")), 2);
    json_decref(info);
    json_t *soft = fx_create(f, "{\"spec\":\"AES_256\"}");
    assert_string_equal(str(soft, "protection"), "software");
    assert_int_equal(kg_kms_reencrypt(f->kms, f->sys, &rct, &info, fx_id(soft), NULL, NULL,
                                      dct.data, dct.len), KG_OK);
    json_decref(info);
    kg_secret *pt2 = NULL;
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt2, &info, NULL, NULL, rct.data, rct.len), KG_OK);
    assert_memory_equal(kg_secret_cdata(pt), kg_secret_cdata(pt2), 32);
    json_decref(info);
    kg_secret_free(pt);
    kg_secret_free(pt2);
    json_decref(soft);
    kg_bytes_free(&dct);
    kg_bytes_free(&rct);
    kg_bytes_free(&ct);
    json_decref(ctx);
}

/* The public key DER of the current version. */
static void public_der(fx *f, const char *id, kg_bytes *der)
{
    json_t *pk = NULL;
    assert_int_equal(kg_kms_public_key(f->kms, f->sys, &pk, id, 0), KG_OK);
    assert_int_equal(kg_b64_decode(der, str(pk, "public_key_der")), KG_OK);
    json_decref(pk);
}

static int openssl_verify(const kg_bytes *spki, const char *spec, const uint8_t *msg, size_t len,
                          const uint8_t *sig, size_t sig_len)
{
    kg_hsm_key_type t = strcmp(spec, "ED25519") == 0    ? KG_HSM_KEY_ED25519
                        : strcmp(spec, "RSA_3072") == 0 ? KG_HSM_KEY_RSA3072
                                                        : KG_HSM_KEY_EC_P256; /* any ECDSA curve */
    return softhsm_fx_ossl_verify(spki->data, spki->len, t, sig, sig_len, msg, len);
}

static bool is_low_s(const uint8_t s[32], const char *spec)
{
    /* n/2 of P-256 and secp256k1 */
    static const uint8_t h256[32] = { 0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF,
                                      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xDE, 0x73, 0x7D, 0x56, 0xD3, 0x8B,
                                      0xCF, 0x42, 0x79, 0xDC, 0xE5, 0x61, 0x7E, 0x31, 0x92, 0xA8 };
    static const uint8_t hk1[32] = { 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4,
                                     0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0 };
    return memcmp(s, strcmp(spec, "ECC_NIST_P256") == 0 ? h256 : hk1, 32) <= 0;
}

static void sign_checks(fx *f, const char *id, const char *spec)
{
    bool ec = strncmp(spec, "ECC", 3) == 0;
    const uint8_t msg[] = "pay 1 BTC to bob";
    kg_bytes der = { 0 }, sig = { 0 };
    json_t *info = NULL;
    public_der(f, id, &der);
    /* Several signatures: about half would be high-S without normalising. */
    for (int i = 0; i < (ec ? 12 : 2); i++) {
        kg_crypto_sig_format fmt = i % 2 ? KG_CRYPTO_SIG_RAW : KG_CRYPTO_SIG_DER;
        assert_int_equal(kg_kms_sign(f->kms, f->sys, &sig, &info, id, KG_CRYPTO_INPUT_MESSAGE, fmt,
                                     msg, sizeof(msg)), KG_OK);
        json_decref(info);
        assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, id, 0, KG_CRYPTO_INPUT_MESSAGE, fmt,
                                       msg, sizeof(msg), sig.data, sig.len), KG_OK);
        json_decref(info);
        if (ec) /* low-S in both forms (the verifier rejects high-S with this flag) */
            assert_int_equal(kg_crypto_verify(spec[4] == 'N' ? KG_CRYPTO_P256 : KG_CRYPTO_SECP256K1,
                                              der.data, der.len, KG_CRYPTO_INPUT_MESSAGE, fmt,
                                              KG_CRYPTO_VERIFY_LOW_S, msg, sizeof(msg), sig.data,
                                              sig.len), KG_OK);
        if (ec && fmt == KG_CRYPTO_SIG_RAW) {
            assert_int_equal(sig.len, 64);
            assert_true(is_low_s(sig.data + 32, spec));
        } else {
            assert_int_equal(openssl_verify(&der, spec, msg, sizeof(msg), sig.data, sig.len), 1);
        }
        kg_bytes_free(&sig);
    }
    /* A digest input (EC only); other keys refuse it. */
    uint8_t dg[32];
    kg_crypto_sha256(dg, msg, sizeof(msg));
    kg_err e = kg_kms_sign(f->kms, f->sys, &sig, &info, id, KG_CRYPTO_INPUT_DIGEST, KG_CRYPTO_SIG_DER,
                           dg, 32);
    if (ec) {
        assert_int_equal(e, KG_OK);
        json_decref(info);
        assert_int_equal(openssl_verify(&der, spec, msg, sizeof(msg), sig.data, sig.len), 1);
        kg_bytes_free(&sig);
    } else {
        assert_int_equal(e, KG_ERR_WRONG_KEY_USAGE);
    }
    /* Rotate: old signatures still verify (every version is tried). */
    assert_int_equal(kg_kms_sign(f->kms, f->sys, &sig, &info, id, KG_CRYPTO_INPUT_MESSAGE,
                                 KG_CRYPTO_SIG_DER, msg, sizeof(msg)), KG_OK);
    json_int_t signed_v = json_integer_value(json_object_get(info, "version"));
    json_decref(info);
    json_t *out = NULL;
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, id), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, id, 0, KG_CRYPTO_INPUT_MESSAGE,
                                   KG_CRYPTO_SIG_DER, msg, sizeof(msg), sig.data, sig.len), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(info, "version")), signed_v);
    json_decref(info);
    kg_bytes_free(&sig);
    kg_bytes_free(&der);
}

static void rsa_encrypt_checks(fx *f, const char *id)
{
    kg_bytes ct = { 0 };
    kg_secret *pt = NULL;
    json_t *info = NULL;
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, id, NULL, (const uint8_t *)"hi", 2), KG_OK);
    json_decref(info);
    kg_err e = kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, NULL, ct.data, ct.len);
    if (e == KG_OK) {
        assert_memory_equal(kg_secret_cdata(pt), "hi", 2);
        kg_secret_free(pt);
        json_decref(info);
        printf("  RSA_3072: OAEP SHA-256 decrypt on the token works\n");
    } else {
        printf("  RSA_3072 decrypt: %s\n", kg_err_detail(e));
        assert_int_equal(e, KG_ERR_WRONG_KEY_USAGE);
        assert_non_null(strstr(kg_err_detail(e), "SHA-256"));
    }
    kg_bytes_free(&ct);
}

static void test_every_spec(void **state)
{
    (void)state;
    fx *f = hfx_new();
    static const char *const specs[] = { "AES_256", "ECC_NIST_P256", "ECC_SECG_P256K1", "ED25519",
                                         "RSA_3072" };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        json_t *meta = create_hsm(f, specs[i], "");
        if (meta == NULL)
            continue;
        json_t *got = NULL;
        assert_int_equal(kg_kms_key_get(f->kms, f->sys, &got, fx_id(meta)), KG_OK);
        assert_string_equal(str(got, "protection"), "hsm");
        assert_string_equal(str(got, "hsm_group"), "g1");
        json_decref(got);
        if (strcmp(specs[i], "AES_256") == 0)
            aes_roundtrip(f, fx_id(meta));
        else
            sign_checks(f, fx_id(meta), specs[i]);
        if (strcmp(specs[i], "RSA_3072") == 0)
            rsa_encrypt_checks(f, fx_id(meta));
        printf("  %s: ok\n", specs[i]);
        json_decref(meta);
    }
    uint64_t sw = 0, hw = 0;
    assert_int_equal(kg_kms_key_counts(f->kms, &sw, &hw), KG_OK);
    assert_int_equal(sw, 1); /* aes_roundtrip's software key */
    assert_true(hw >= 4);
    fx_free(f);
}

static void expect_create_fails(fx *f, const char *text, kg_err want, const char *needle)
{
    json_t *req = json_loads(text, 0, NULL), *meta = NULL;
    assert_non_null(req);
    kg_err e = kg_kms_key_create(f->kms, f->sys, &meta, req);
    printf("  %s -> %s: %s\n", text, kg_err_code(e), kg_err_detail(e));
    assert_int_equal(e, want);
    assert_null(meta);
    if (needle != NULL)
        assert_non_null(strstr(kg_err_detail(e), needle));
    json_decref(req);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    fx *f = hfx_new();
    size_t before = fx_key_count(f);
    expect_create_fails(f, "{\"spec\":\"HMAC_256\",\"protection\":\"hsm\"}", KG_ERR_BAD_INPUT, "ECC_NIST_P256");
    expect_create_fails(f, "{\"spec\":\"RSA_4096\",\"protection\":\"hsm\"}", KG_ERR_BAD_INPUT, "RSA_3072");
    expect_create_fails(f, "{\"spec\":\"AES_256\",\"protection\":\"hsm\",\"hsm_group\":\"nope\"}",
                        KG_ERR_NOT_FOUND, "nope");
    expect_create_fails(f, "{\"spec\":\"AES_256\",\"protection\":\"cloud\"}", KG_ERR_BAD_INPUT, "protection");
    expect_create_fails(f, "{\"spec\":\"AES_256\",\"hsm_group\":\"g1\"}", KG_ERR_BAD_INPUT, "hsm_group");
    f->kms->cfg.hsm_default_group = "missing";
    expect_create_fails(f, "{\"spec\":\"AES_256\",\"protection\":\"hsm\"}", KG_ERR_NOT_FOUND, "missing");
    f->kms->cfg.hsm_default_group = NULL;
    f->kms->cfg.hms = NULL;
    expect_create_fails(f, "{\"spec\":\"AES_256\",\"protection\":\"hsm\"}", KG_ERR_BAD_INPUT,
                        "kashguard hsm add");
    f->kms->cfg.hms = g_hms;
    /* A taken alias costs no HSM key. */
    json_t *m = create_hsm(f, "AES_256", ",\"alias\":\"taken\"");
    before++;
    expect_create_fails(f, "{\"spec\":\"AES_256\",\"protection\":\"hsm\",\"alias\":\"taken\"}",
                        KG_ERR_CONFLICT, "taken");
    /* Import cannot make an HSM key. */
    json_t *req = json_pack("{s:s,s:s,s:s,s:s}", "spec", "AES_256", "import_token", "x",
                            "wrapped_material", "AAAA", "protection", "hsm"), *out = NULL;
    assert_int_equal(kg_kms_key_import(f->kms, f->sys, &out, req), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "HSM"));
    json_decref(req);
    assert_int_equal(fx_key_count(f), before);
    json_decref(m);
    fx_free(f);
}

static void find_on_token(kg_hsm_token *t, const char *id, unsigned v, kg_err want)
{
    char hid[64];
    snprintf(hid, sizeof(hid), "%s/%u", id, v);
    kg_hsm_key k;
    assert_int_equal(kg_hsm_key_find(t, &k, (const uint8_t *)hid, strlen(hid)), want);
    if (want == KG_OK) {
        bool sensitive = false, extractable = true;
        assert_int_equal(kg_hsm_key_attrs(t, &k, &sensitive, &extractable), KG_OK);
        assert_true(sensitive);
        assert_false(extractable); /* a group of one member: non-extractable */
    }
}

static void test_destroy_removes_objects(void **state)
{
    (void)state;
    fx *f = hfx_new();
    kg_hsm_module *m = NULL;
    kg_hsm_token *t = NULL;
    assert_int_equal(kg_hsm_module_load(&m, SOFTHSM), KG_OK);
    assert_int_equal(kg_hsm_token_open(&t, m, "kg-a", g_pin, 1), KG_OK);
    json_t *meta = create_hsm(f, "ECC_NIST_P256", ",\"alias\":\"doomed\""), *out = NULL;
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &out, "doomed"), KG_OK);
    json_decref(out);
    find_on_token(t, fx_id(meta), 1, KG_OK);
    find_on_token(t, fx_id(meta), 2, KG_OK);
    uint64_t sw = 0, hw = 0, hw_before = 0;
    assert_int_equal(kg_kms_key_counts(f->kms, &sw, &hw_before), KG_OK);
    json_t *req = json_pack("{s:s}", "waiting_period", "1s");
    assert_int_equal(kg_kms_key_schedule_deletion(f->kms, f->sys, &out, "doomed", req), KG_OK);
    json_decref(out);
    json_decref(req);
    sleep(2);
    kg_kms_tick(f->kms);
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &out, fx_id(meta)), KG_OK);
    assert_string_equal(str(out, "state"), "destroyed");
    json_decref(out);
    find_on_token(t, fx_id(meta), 1, KG_ERR_NOT_FOUND);
    find_on_token(t, fx_id(meta), 2, KG_ERR_NOT_FOUND);
    assert_int_equal(kg_kms_key_counts(f->kms, &sw, &hw), KG_OK);
    assert_int_equal(hw, hw_before - 1);
    kg_hsm_token_close(t);
    kg_hsm_module_release(m);
    json_decref(meta);
    fx_free(f);
}

static void test_tick_rotates_in_hsm(void **state)
{
    (void)state;
    fx *f = hfx_new();
    json_t *meta = create_hsm(f, "ECC_SECG_P256K1", ",\"rotation_period\":\"60s\"");
    /* Make the rotation due now (as if 60 s had passed). */
    char skey[64];
    snprintf(skey, sizeof(skey), "keys/%s", fx_id(meta));
    json_t *row = NULL;
    assert_int_equal(kg_store_get_json(f->st, NULL, &row, skey), KG_OK);
    json_object_set_new(row, "_next_rotation", json_integer(1));
    assert_int_equal(kg_store_put_json(f->st, NULL, skey, row), KG_OK);
    json_decref(row);
    kg_kms_tick(f->kms);
    json_t *got = NULL;
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &got, fx_id(meta)), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(got, "current_version")), 2);
    json_decref(got);
    snprintf(skey, sizeof(skey), "keys/%s/v/%010u", fx_id(meta), 2u);
    assert_int_equal(kg_store_get_json(f->st, NULL, &row, skey), KG_OK);
    assert_non_null(json_object_get(row, "hsm_id"));
    assert_null(json_object_get(row, "material_enc"));
    json_decref(row);
    sign_checks(f, fx_id(meta), "ECC_SECG_P256K1"); /* signs with v2 */
    json_decref(meta);
    fx_free(f);
}

/* ------------------------------------------------ restarts (two members) */

/* Group "g2" of members a (kg-a) and b (kg-b), both through the fault
 * module, in a fresh token dir: a test can take b down with a rule. */
#ifdef KG_P11_FAULT_SO
static char g_control[160];
static kg_hsm_module *g_fmod; /* the fault module, kept initialised between HMS instances */
static unsigned long g_slot_b;
static kg_hsm_token *g_tok[2]; /* kg-a, kg-b opened directly, before any fault */

static void set_rules(const char *rules)
{
    assert_int_equal(softhsm_fx_fault_rules(g_control, rules), 0);
}

static int pair_setup(void **state)
{
    (void)state;
    static const char *const labels[] = { "kg-a", "kg-b" };
    if (softhsm_fx_setup(&g_hsm, "kg-kmshsm2", labels, 2) != 0 ||
        softhsm_fx_fault_init(&g_hsm, g_control, sizeof(g_control)) != 0)
        return -1;
    kg_log_set_level(KG_LOG_ERROR);
    g_pin = softhsm_fx_pin(SOFTHSM_FX_PIN);
    if (kg_hsm_module_load(&g_fmod, KG_P11_FAULT_SO) != KG_OK)
        return -1;
    kg_hsm_slot_info *slots = NULL;
    size_t n = 0;
    if (kg_hsm_slots(g_fmod, &slots, &n) != KG_OK)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (slots[i].token_present && !strcmp(slots[i].label, "kg-b"))
            g_slot_b = slots[i].slot_id;
    free(slots);
    if (kg_hsm_token_open(&g_tok[0], g_fmod, "kg-a", g_pin, 1) != KG_OK ||
        kg_hsm_token_open(&g_tok[1], g_fmod, "kg-b", g_pin, 1) != KG_OK)
        return -1;
    return 0;
}

static int pair_teardown(void **state)
{
    (void)state;
    kg_hsm_token_close(g_tok[0]);
    kg_hsm_token_close(g_tok[1]);
    kg_hsm_module_release(g_fmod);
    kg_secret_free(g_pin);
    softhsm_fx_teardown(&g_hsm);
    return 0;
}

static kg_hms *pair_hms(void)
{
    kg_hms_config hc;
    kg_hms_config_default(&hc);
    hc.op_timeout_ms = 60000;
    hc.probe_interval_ms = 60000; /* the test probes with kg_hms_probe_now */
    hc.down_after_errors = 1;
    kg_hms *h = NULL;
    assert_int_equal(kg_hms_open(&h, &hc), KG_OK);
    /* must_open false: b may be down, as at a real restart. */
    assert_int_equal(kg_hms_member_add(h, "a", KG_P11_FAULT_SO, "kg-a", g_pin, false), KG_OK);
    assert_int_equal(kg_hms_member_add(h, "b", KG_P11_FAULT_SO, "kg-b", g_pin, false), KG_OK);
    const char *members[] = { "a", "b" };
    assert_int_equal(kg_hms_group_create(h, "g2", members, 2), KG_OK);
    return h;
}

static bool member_is(kg_hms *h, const char *name, const char *state)
{
    json_t *a = kg_hms_members_json(h), *m;
    size_t i;
    bool is = false;
    json_array_foreach(a, i, m)
        if (!strcmp(str(m, "name"), name))
            is = !strcmp(str(m, "state"), state);
    json_decref(a);
    return is;
}

static void probe_until(kg_hms *h, const char *name, const char *state)
{
    for (int i = 0; i < 100 && !member_is(h, name, state); i++) {
        kg_hms_probe_now(h);
        usleep(50000);
    }
    assert_true(member_is(h, name, state));
}

/* The KMS of f on its store again, with the fleet h (fx_reopen has none). */
static void reopen_with(fx *f, kg_hms *h)
{
    assert_int_equal(kg_store_open(&f->st, f->url), KG_OK);
    kg_kms_config cfg;
    kg_kms_config_default(&cfg);
    cfg.data_dir = f->dir;
    cfg.audit_fsync = false;
    cfg.min_deletion_wait = f->min_wait;
    cfg.default_deletion_wait = 86400;
    cfg.hms = h;
    assert_int_equal(kg_kms_open(&f->kms, f->st, &cfg), KG_OK);
}

/* Is version 1 of key id on token label (looked at directly, through a
 * handle opened before any fault: a session the fault rule kept HMS from
 * closing leaves the token logged in, and a fresh kg_hsm_token_open could
 * not prove its PIN against that login). */
static kg_err on_token(const char *label, const char *id)
{
    char hid[64];
    snprintf(hid, sizeof(hid), "%s/1", id);
    kg_hsm_key k;
    return kg_hsm_key_find(g_tok[strcmp(label, "kg-a") == 0 ? 0 : 1], &k, (const uint8_t *)hid, strlen(hid));
}

/* A key destroyed while member b was down stays destroyed after a restart:
 * b still holds it, but the KMS tells the new fleet it is gone
 * (kg_hms_key_forget), so it is neither kept on b nor copied back to a. */
static void test_destroyed_stays_destroyed_after_restart(void **state)
{
    (void)state;
    kg_hms *h = pair_hms();
    fx *f = fx_new(1, 1, true, 0);
    f->kms->cfg.hms = h;
    json_t *req = json_loads("{\"spec\":\"ECC_NIST_P256\",\"protection\":\"hsm\",\"hsm_group\":\"g2\"}", 0, NULL);
    json_t *meta = NULL, *out = NULL;
    assert_int_equal(kg_kms_key_create(f->kms, f->sys, &meta, req), KG_OK);
    json_decref(req);
    char id[64];
    snprintf(id, sizeof(id), "%s", fx_id(meta));
    json_decref(meta);
    assert_int_equal(on_token("kg-a", id), KG_OK);
    assert_int_equal(on_token("kg-b", id), KG_OK);

    char rule[96];
    snprintf(rule, sizeof(rule), "* fail CKR_DEVICE_REMOVED slot %lu\n", g_slot_b);
    set_rules(rule);
    probe_until(h, "b", "down");
    req = json_pack("{s:s}", "waiting_period", "1s");
    assert_int_equal(kg_kms_key_schedule_deletion(f->kms, f->sys, &out, id, req), KG_OK);
    json_decref(out);
    json_decref(req);
    sleep(2);
    kg_kms_tick(f->kms); /* destroys: b is down, and that must not fail it */
    assert_int_equal(kg_kms_key_get(f->kms, f->sys, &out, id), KG_OK);
    assert_string_equal(str(out, "state"), "destroyed");
    json_decref(out);
    kg_kms_close(f->kms);
    kg_store_close(f->st);
    kg_hms_close(h);
    set_rules("");
    assert_int_equal(on_token("kg-a", id), KG_ERR_NOT_FOUND);
    assert_int_equal(on_token("kg-b", id), KG_OK); /* b missed it */

    /* Restart: new fleet, new KMS on the same store and tokens. */
    h = pair_hms();
    reopen_with(f, h);
    probe_until(h, "b", "healthy");
    probe_until(h, "a", "healthy");
    kg_kms_close(f->kms);
    f->kms = NULL;
    kg_hms_close(h);
    assert_int_equal(on_token("kg-a", id), KG_ERR_NOT_FOUND);
    assert_int_equal(on_token("kg-b", id), KG_ERR_NOT_FOUND);
    fx_free(f);
}

/* A member down at the restart: the KMS's forget only records the
 * tombstone, and b's re-sync destroys the key there instead of copying it
 * back to a (which it does for a key nobody destroyed). */
static void test_forget_reaches_a_member_down_at_restart(void **state)
{
    (void)state;
    kg_hms *h = pair_hms();
    const uint8_t *kid = (const uint8_t *)"k-forgotten/1";
    size_t klen = strlen("k-forgotten/1");
    assert_int_equal(kg_hms_key_generate(h, "g2", KG_HSM_KEY_EC_P256, kid, klen, NULL), KG_OK);
    kg_hms_close(h);
    char rule[96];
    snprintf(rule, sizeof(rule), "* fail CKR_DEVICE_REMOVED slot %lu\n", g_slot_b);
    set_rules(rule);
    h = pair_hms();
    probe_until(h, "b", "down");
    assert_int_equal(kg_hms_key_forget(h, "g2", kid, klen), KG_OK); /* destroys it on a */
    assert_int_equal(kg_hms_key_forget(h, "g2", kid, klen), KG_OK); /* nobody has it: still OK */
    assert_int_equal(kg_hms_key_forget(h, "nope", kid, klen), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_hms_key_forget(h, "g2", kid, 0), KG_ERR_BAD_INPUT);
    set_rules("");
    probe_until(h, "b", "healthy"); /* re-sync: b's copy is a tombstoned key */
    kg_hms_close(h);
    assert_int_equal(on_token("kg-a", "k-forgotten"), KG_ERR_NOT_FOUND);
    assert_int_equal(on_token("kg-b", "k-forgotten"), KG_ERR_NOT_FOUND);
}
#endif

int main(void)
{
    if (!softhsm_fx_available())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_spec),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_destroy_removes_objects),
        cmocka_unit_test(test_tick_rotates_in_hsm),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
#ifdef KG_P11_FAULT_SO
    const struct CMUnitTest pair[] = {
        cmocka_unit_test(test_destroyed_stays_destroyed_after_restart),
        cmocka_unit_test(test_forget_reaches_a_member_down_at_restart),
    };
    rc |= cmocka_run_group_tests(pair, pair_setup, pair_teardown);
#endif
    return rc;
}
