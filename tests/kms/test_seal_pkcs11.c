/* Auto-unseal with seal "pkcs11" against a real SoftHSM2 token in a private
 * temp dir: init seals the root key on the token and leaves the KMS
 * unsealed, a restart unseals by itself, every failure (wrong PIN, missing
 * module, key gone) leaves it sealed with a clear seal_error while the
 * Shamir shares still unseal, and an operator's seal is not undone. */
#include "core_fixture.h"
#include "../hsm/softhsm_fixture.h"

/* SoftHSM2 2.6 leaks a little OpenSSL memory; ours must not. */
SOFTHSM_FX_LSAN_HOOKS("")

static softhsm_fx g_hsm;

static int group_setup(void **state)
{
    (void)state;
    if (access(SOFTHSM, R_OK) != 0) {
        fprintf(stderr, "SoftHSM2 not installed (%s)\n", SOFTHSM);
        return -1;
    }
    static const char *const labels[] = { "kg-seal" };
    return softhsm_fx_setup(&g_hsm, "kg-seal-p11", labels, 1);
}

static int group_teardown(void **state)
{
    (void)state;
    softhsm_fx_teardown(&g_hsm);
    return 0;
}

typedef struct {
    fx f;
    kg_secret *pin;
    const char *module;
    const char *token;
    const char *key_label;
} p11fx;

static void p11_open(p11fx *p)
{
    assert_int_equal(kg_store_open(&p->f.st, p->f.url), KG_OK);
    kg_kms_config cfg;
    kg_kms_config_default(&cfg);
    cfg.data_dir = p->f.dir;
    cfg.audit_fsync = false;
    cfg.seal_pkcs11_module = p->module;
    cfg.seal_pkcs11_token = p->token;
    cfg.seal_pkcs11_pin = p->pin;
    cfg.seal_pkcs11_key_label = p->key_label;
    assert_int_equal(kg_kms_open(&p->f.kms, p->f.st, &cfg), KG_OK);
}

static void p11_reopen(p11fx *p)
{
    kg_kms_close(p->f.kms);
    kg_store_close(p->f.st);
    p->f.kms = NULL;
    p->f.st = NULL;
    p11_open(p);
}

/* A fresh data dir initialised with seal "pkcs11" (2 of 3 recovery shares),
 * each test with its own seal key label so tests do not share a key. */
static p11fx *p11_new(const char *key_label)
{
    p11fx *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    strcpy(p->f.dir, "/tmp/kg-kms-XXXXXX");
    assert_non_null(mkdtemp(p->f.dir));
    snprintf(p->f.url, sizeof(p->f.url), "sqlite://%s/kg.db", p->f.dir);
    kg_log_set_level(KG_LOG_ERROR);
    assert_int_equal(kg_crypto_init(), KG_OK);
    p->pin = softhsm_fx_pin(SOFTHSM_FX_PIN);
    p->module = SOFTHSM;
    p->token = "kg-seal";
    p->key_label = key_label;
    p11_open(p);
    p->f.sys = kg_kms_caller_system();
    assert_true(fx_sealed(&p->f));
    assert_int_equal(kg_kms_init(p->f.kms, &p->f.init, 3, 2), KG_OK);
    return p;
}

static void p11_free(p11fx *p)
{
    kg_secret *pin = p->pin;
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    *f = p->f;
    fx_free(f); /* closes the KMS before the PIN it points to is freed */
    kg_secret_free(pin);
    free(p);
}

static const char *status_str(fx *f, const char *field, char *buf, size_t cap)
{
    json_t *st = kg_kms_status(f->kms);
    const char *s = json_string_value(json_object_get(st, field));
    snprintf(buf, cap, "%s", s ? s : "");
    json_decref(st);
    return s ? buf : NULL;
}

static void sign_and_encrypt_work(fx *f, const char *ec_id, const char *aes_id)
{
    kg_bytes sig = { 0 }, ct = { 0 };
    json_t *info = NULL;
    const uint8_t msg[] = "hello";
    assert_int_equal(kg_kms_sign(f->kms, f->sys, &sig, &info, ec_id, KG_CRYPTO_INPUT_MESSAGE,
                                 KG_CRYPTO_SIG_DER, msg, 5), KG_OK);
    json_decref(info);
    assert_int_equal(kg_kms_verify(f->kms, f->sys, &info, ec_id, 0, KG_CRYPTO_INPUT_MESSAGE,
                                   KG_CRYPTO_SIG_DER, msg, 5, sig.data, sig.len), KG_OK);
    json_decref(info);
    assert_int_equal(kg_kms_encrypt(f->kms, f->sys, &ct, &info, aes_id, NULL, msg, 5), KG_OK);
    json_decref(info);
    kg_secret *pt = NULL;
    assert_int_equal(kg_kms_decrypt(f->kms, f->sys, &pt, &info, NULL, NULL, ct.data, ct.len), KG_OK);
    assert_memory_equal(kg_secret_cdata(pt), msg, 5);
    kg_secret_free(pt);
    json_decref(info);
    kg_bytes_free(&sig);
    kg_bytes_free(&ct);
}

static void test_init_open_unseals_itself(void **state)
{
    (void)state;
    p11fx *p = p11_new("seal-a");
    char buf[512];
    assert_false(fx_sealed(&p->f)); /* init left it unsealed */
    assert_string_equal(status_str(&p->f, "seal_type", buf, sizeof(buf)), "pkcs11");
    assert_int_equal(json_array_size(json_object_get(p->f.init, "unseal_keys")), 3);
    json_t *ec = fx_create(&p->f, "{\"spec\":\"ECC_NIST_P256\"}");
    json_t *aes = fx_create(&p->f, "{\"spec\":\"AES_256\"}");
    /* The seal row keeps the token-sealed blob next to the Shamir one. */
    json_t *row = NULL;
    assert_int_equal(kg_store_get_json(p->f.st, NULL, &row, "sys/seal"), KG_OK);
    assert_string_equal(json_string_value(json_object_get(row, "seal_type")), "pkcs11");
    assert_non_null(json_object_get(row, "root_key_hsm"));
    assert_non_null(json_object_get(row, "root_key_enc"));
    assert_string_equal(json_string_value(json_object_get(row, "pkcs11_key_label")), "seal-a");
    json_decref(row);

    p11_reopen(p); /* a restart: unsealed by the token, no shares */
    assert_false(fx_sealed(&p->f));
    assert_null(status_str(&p->f, "seal_error", buf, sizeof(buf)));
    sign_and_encrypt_work(&p->f, fx_id(ec), fx_id(aes));

    /* An operator's seal is not undone by the tick... */
    assert_int_equal(kg_kms_seal(p->f.kms, p->f.sys), KG_OK);
    p->f.kms->auto_unseal_next = 0;
    kg_kms_tick(p->f.kms);
    assert_true(fx_sealed(&p->f));
    /* ...only by a restart (or the recovery shares). */
    p11_reopen(p);
    assert_false(fx_sealed(&p->f));
    json_decref(ec);
    json_decref(aes);
    p11_free(p);
}

static void test_key_is_non_extractable(void **state)
{
    (void)state;
    p11fx *p = p11_new("seal-b");
    kg_hsm_module *m = NULL;
    kg_hsm_token *t = NULL;
    assert_int_equal(kg_hsm_module_load(&m, SOFTHSM), KG_OK);
    assert_int_equal(kg_hsm_token_open(&t, m, "kg-seal", p->pin, 1), KG_OK);
    kg_hsm_key k;
    assert_int_equal(kg_hsm_key_find(t, &k, (const uint8_t *)"seal-b", 6), KG_OK);
    assert_int_equal(k.type, KG_HSM_KEY_AES256);
    bool sensitive = false, extractable = true;
    assert_int_equal(kg_hsm_key_attrs(t, &k, &sensitive, &extractable), KG_OK);
    assert_true(sensitive);
    assert_false(extractable);
    kg_hsm_token_close(t);
    kg_hsm_module_release(m);
    p11_free(p);
}

static void test_wrong_pin_then_recovery(void **state)
{
    (void)state;
    p11fx *p = p11_new("seal-c");
    json_t *aes = fx_create(&p->f, "{\"spec\":\"AES_256\"}");
    memcpy(kg_secret_data(p->pin), "9999", 4);
    p11_reopen(p);
    char buf[512];
    assert_true(fx_sealed(&p->f));
    assert_string_equal(status_str(&p->f, "seal_type", buf, sizeof(buf)), "pkcs11");
    assert_non_null(status_str(&p->f, "seal_error", buf, sizeof(buf)));
    printf("seal_error (wrong PIN): %s\n", buf);
    assert_non_null(strstr(buf, "PIN"));
    assert_non_null(strstr(buf, "kg-seal"));
    assert_null(strstr(buf, "9999"));

    /* A wrong PIN is not retried by the tick (each try would count against
     * the token's PIN retry limit): even with the right PIN in place now,
     * the tick leaves it sealed... */
    memcpy(kg_secret_data(p->pin), "1234", 4);
    p->f.kms->auto_unseal_next = 0;
    kg_kms_tick(p->f.kms);
    assert_true(fx_sealed(&p->f));
    /* ...and a restart with the corrected PIN unseals. */
    p11_reopen(p);
    assert_false(fx_sealed(&p->f));
    assert_null(status_str(&p->f, "seal_error", buf, sizeof(buf)));

    /* Recovery: the Shamir shares unseal while the token is unusable. */
    memcpy(kg_secret_data(p->pin), "9999", 4);
    p11_reopen(p);
    assert_true(fx_sealed(&p->f));
    fx_unseal(&p->f);
    kg_secret *pt = NULL;
    kg_bytes ct = { 0 };
    json_t *info = NULL;
    assert_int_equal(kg_kms_encrypt(p->f.kms, p->f.sys, &ct, &info, fx_id(aes), NULL,
                                    (const uint8_t *)"x", 1), KG_OK);
    json_decref(info);
    assert_int_equal(kg_kms_decrypt(p->f.kms, p->f.sys, &pt, &info, NULL, NULL, ct.data, ct.len), KG_OK);
    json_decref(info);
    kg_secret_free(pt);
    kg_bytes_free(&ct);
    memcpy(kg_secret_data(p->pin), "1234", 4);
    json_decref(aes);
    p11_free(p);
}

static void test_missing_module(void **state)
{
    (void)state;
    p11fx *p = p11_new("seal-d");
    p->module = "/nonexistent/libnope-pkcs11.so";
    p11_reopen(p);
    char buf[512];
    assert_true(fx_sealed(&p->f));
    assert_non_null(status_str(&p->f, "seal_error", buf, sizeof(buf)));
    printf("seal_error (missing module): %s\n", buf);
    assert_non_null(strstr(buf, "/nonexistent/libnope-pkcs11.so"));
    fx_unseal(&p->f); /* recovery keys still work */
    p11_free(p);
}

static void test_token_absent(void **state)
{
    (void)state;
    p11fx *p = p11_new("seal-g");
    p->token = "kg-removed";
    p11_reopen(p);
    char buf[512];
    assert_true(fx_sealed(&p->f));
    assert_non_null(status_str(&p->f, "seal_error", buf, sizeof(buf)));
    printf("seal_error (token absent): %s\n", buf);
    assert_non_null(strstr(buf, "kg-removed"));
    /* The token comes back (here: the config's label now names one): the
     * tick retries when due (every 5 s) and unseals. */
    p->f.kms->cfg.seal_pkcs11_token = "kg-seal";
    kg_kms_tick(p->f.kms); /* not due yet */
    assert_true(fx_sealed(&p->f));
    p->f.kms->auto_unseal_next = 0;
    kg_kms_tick(p->f.kms);
    assert_false(fx_sealed(&p->f));
    assert_null(status_str(&p->f, "seal_error", buf, sizeof(buf)));
    p11_free(p);
}

static void test_key_gone(void **state)
{
    (void)state;
    p11fx *p = p11_new("seal-e");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "pkcs11-tool --module " SOFTHSM " --token-label kg-seal --login "
             "--pin 1234 --delete-object --type secrkey --label seal-e >/dev/null 2>&1");
    if (system(cmd) != 0) {
        p11_free(p);
        skip();
    }
    p11_reopen(p);
    char buf[512];
    assert_true(fx_sealed(&p->f));
    assert_non_null(status_str(&p->f, "seal_error", buf, sizeof(buf)));
    printf("seal_error (key gone): %s\n", buf);
    assert_non_null(strstr(buf, "seal-e"));
    fx_unseal(&p->f);
    p11_free(p);
}

static void test_init_fails_cleanly(void **state)
{
    (void)state;
    /* Init with an unusable token stores nothing: init can be retried. */
    fx f0;
    memset(&f0, 0, sizeof(f0));
    p11fx p = { .f = f0 };
    strcpy(p.f.dir, "/tmp/kg-kms-XXXXXX");
    assert_non_null(mkdtemp(p.f.dir));
    snprintf(p.f.url, sizeof(p.f.url), "sqlite://%s/kg.db", p.f.dir);
    p.pin = kg_secret_from((const uint8_t *)"0000", 4);
    p.module = SOFTHSM;
    p.token = "kg-seal";
    p.key_label = "seal-f";
    p11_open(&p);
    json_t *out = NULL;
    assert_int_equal(kg_kms_init(p.f.kms, &out, 1, 1), KG_ERR_UNAUTHENTICATED);
    assert_null(out);
    json_t *st = kg_kms_status(p.f.kms);
    assert_false(json_is_true(json_object_get(st, "initialized")));
    json_decref(st);
    memcpy(kg_secret_data(p.pin), "1234", 4);
    assert_int_equal(kg_kms_init(p.f.kms, &out, 1, 1), KG_OK);
    assert_false(fx_sealed(&p.f));
    json_decref(out);
    kg_kms_close(p.f.kms);
    kg_store_close(p.f.st);
    kg_secret_free(p.pin);
    nftw(p.f.dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_shamir_status(void **state)
{
    (void)state;
    fx *f = fx_new(1, 1, true, 86400);
    json_t *st = kg_kms_status(f->kms);
    assert_string_equal(json_string_value(json_object_get(st, "seal_type")), "shamir");
    assert_null(json_object_get(st, "seal_error"));
    json_decref(st);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_open_unseals_itself),
        cmocka_unit_test(test_key_is_non_extractable),
        cmocka_unit_test(test_wrong_pin_then_recovery),
        cmocka_unit_test(test_missing_module),
        cmocka_unit_test(test_token_absent),
        cmocka_unit_test(test_key_gone),
        cmocka_unit_test(test_init_fails_cleanly),
        cmocka_unit_test(test_shamir_status),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
