/* HMS, the HSM fleet manager, against three SoftHSM2 tokens (kg-a, kg-b,
 * kg-c) in a private temp dir, reached through the fault-injecting module
 * (libkg_pkcs11_fault.so) so a test can make one member fail or hang
 * (a rule with "slot S") and prove failover, take-out, re-sync and
 * recovery. Timings are printed, never asserted. */
#define _XOPEN_SOURCE 700 /* nftw in softhsm_fixture.h */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kashguard/hsm.h"
#include "softhsm_fixture.h"

/* assert_int_equal on a kg_err that prints the detail when it fails. */
#define assert_err(call, code) do { kg_err e_ = (call); \
    if (e_ != (code)) printf("  %s -> %s: %s\n", #call, kg_err_code(e_), kg_err_detail(e_)); \
    assert_int_equal(e_, (code)); } while (0)

#ifndef KG_P11_FAULT_SO
#define KG_P11_FAULT_SO "libkg_pkcs11_fault.so"
#endif

/* SoftHSM2 2.6 leaks a little OpenSSL memory of its own; ours must not. */
SOFTHSM_FX_LSAN_HOOKS("")

static softhsm_fx g_fx;
static char g_control[128];
static kg_hsm_module *g_mod;      /* keeps the fault module initialised between HMS instances */
static unsigned long g_slot[3];   /* slots of kg-a, kg-b, kg-c */
static const char *const g_labels[3] = { "kg-a", "kg-b", "kg-c" };

/* ------------------------------------------------------------- events */

static pthread_mutex_t g_ev_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_ev_group_created, g_ev_replicated, g_ev_resynced, g_ev_down, g_ev_healthy;
static char g_ev_syncing[64][320]; /* "member: reason" of the last member_state syncing events */
static size_t g_ev_n_syncing;
static char g_ev_degraded[64][320]; /* the same for degraded events */
static size_t g_ev_n_degraded;

static void on_event(void *ctx, const char *event, const char *member, const char *group, const char *state,
                     const char *reason)
{
    (void)ctx;
    pthread_mutex_lock(&g_ev_mu);
    if (!strcmp(event, "group_created"))
        g_ev_group_created++;
    else if (!strcmp(event, "key_replicated"))
        g_ev_replicated++;
    else if (!strcmp(event, "member_resynced"))
        g_ev_resynced++;
    else if (!strcmp(event, "member_state") && state && !strcmp(state, "down"))
        g_ev_down++;
    else if (!strcmp(event, "member_state") && state && !strcmp(state, "healthy"))
        g_ev_healthy++;
    else if (!strcmp(event, "member_state") && state && !strcmp(state, "syncing"))
        snprintf(g_ev_syncing[g_ev_n_syncing++ % 64], sizeof(g_ev_syncing[0]), "%s: %s", member ? member : "-",
                 reason ? reason : "");
    else if (!strcmp(event, "member_state") && state && !strcmp(state, "degraded"))
        snprintf(g_ev_degraded[g_ev_n_degraded++ % 64], sizeof(g_ev_degraded[0]), "%s: %s", member ? member : "-",
                 reason ? reason : "");
    pthread_mutex_unlock(&g_ev_mu);
    printf("  event %s member=%s group=%s state=%s reason=%s\n", event, member ? member : "-",
           group ? group : "-", state ? state : "-", reason ? reason : "");
}

/* ------------------------------------------------------------- helpers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_rules(const char *rules)
{
    assert_int_equal(softhsm_fx_fault_rules(g_control, rules), 0);
}

/* An HMS with the test's settings; a 0 argument keeps the usual value. */
static kg_hms *hms_new_with(unsigned probe_interval_ms, unsigned degraded_latency_ms, unsigned op_timeout_ms)
{
    kg_hms_config cfg;
    kg_hms_config_default(&cfg);
    /* 300 ms takes a member out fast, but on a loaded 2-core machine under
     * ASan a SoftHSM signature alone was seen taking 13-40 ms and a probe
     * up to 760 ms: 1500 ms keeps healthy members up. KG_TEST_OP_TIMEOUT
     * overrides it. */
    const char *ot = getenv("KG_TEST_OP_TIMEOUT");
    cfg.op_timeout_ms = op_timeout_ms ? op_timeout_ms : ot ? (unsigned)atoi(ot) : 1500;
    cfg.probe_interval_ms = probe_interval_ms ? probe_interval_ms : 100;
    cfg.down_after_errors = 3;
    cfg.degraded_latency_ms = degraded_latency_ms ? degraded_latency_ms : 500;
    cfg.sessions_per_member = 4;
    cfg.on_event = on_event;
    kg_hms *h = NULL;
    assert_err(kg_hms_open(&h, &cfg), KG_OK);
    return h;
}

static kg_hms *hms_new(void)
{
    return hms_new_with(0, 0, 0);
}

static void add_members(kg_hms *h, size_t n)
{
    static const char *const names[3] = { "a", "b", "c" };
    kg_secret *p = softhsm_fx_pin("1234");
    for (size_t i = 0; i < n; i++)
        assert_err(kg_hms_member_add(h, names[i], KG_P11_FAULT_SO, g_labels[i], p, true), KG_OK);
    kg_secret_free(p);
}

/* A string field ("state", "reason") of member name, from kg_hms_members_json. */
static const char *member_str(kg_hms *h, const char *name, const char *field, char *buf, size_t cap)
{
    json_t *a = kg_hms_members_json(h);
    snprintf(buf, cap, "?");
    size_t i;
    json_t *m;
    json_array_foreach(a, i, m) {
        if (!strcmp(json_string_value(json_object_get(m, "name")), name))
            snprintf(buf, cap, "%s", json_string_value(json_object_get(m, field)));
    }
    json_decref(a);
    return buf;
}

/* The state of member name, from kg_hms_members_json. */
static const char *member_state(kg_hms *h, const char *name, char *buf, size_t cap)
{
    return member_str(h, name, "state", buf, cap);
}

static bool wait_state(kg_hms *h, const char *name, const char *state, double max_s)
{
    char buf[32];
    double t0 = now_s();
    while (now_s() - t0 < max_s) {
        if (!strcmp(member_state(h, name, buf, sizeof(buf)), state))
            return true;
        usleep(20000);
    }
    return false;
}

static void verify_sig(const kg_bytes *pub, const kg_bytes *sig, const uint8_t *msg, size_t len)
{
    const unsigned char *p = pub->data;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)pub->len);
    assert_non_null(pk);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestVerify(md, sig->data, sig->len, msg, len), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
}

/* Open token i directly (same module) to look at what HMS put there. */
static kg_hsm_token *direct(size_t i)
{
    kg_hsm_token *t = NULL;
    kg_secret *p = softhsm_fx_pin("1234");
    assert_int_equal(kg_hsm_token_open(&t, g_mod, g_labels[i], p, 2), KG_OK);
    kg_secret_free(p);
    return t;
}

#define ID(s) (const uint8_t *)(s), strlen(s)

/* --------------------------------------------------------------- setup */

static int setup(void **state)
{
    (void)state;
    if (softhsm_fx_setup(&g_fx, "kg-hms", g_labels, 3) != 0)
        return -1;
    if (softhsm_fx_fault_init(&g_fx, g_control, sizeof(g_control)) != 0)
        return -1;
    if (kg_hsm_module_load(&g_mod, KG_P11_FAULT_SO) != KG_OK)
        return -1;
    kg_hsm_slot_info *slots = NULL;
    size_t n = 0;
    if (kg_hsm_slots(g_mod, &slots, &n) != KG_OK)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 3; k++)
            if (slots[i].token_present && !strcmp(slots[i].label, g_labels[k]))
                g_slot[k] = slots[i].slot_id;
    free(slots);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kg_hsm_module_release(g_mod);
    softhsm_fx_teardown(&g_fx);
    return 0;
}

/* --------------------------------------------------------------- tests */

static void test_member_add_errors(void **state)
{
    (void)state;
    kg_hms *h = hms_new();
    kg_secret *good = softhsm_fx_pin("1234"), *bad = softhsm_fx_pin("9999");
    assert_err(kg_hms_member_add(h, "x", "/nonexistent/libnope.so", "kg-a", good, true), KG_ERR_NOT_FOUND);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NOT_FOUND), "/nonexistent/libnope.so"));
    assert_err(kg_hms_member_add(h, "x", KG_P11_FAULT_SO, "kg-c", bad, true), KG_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_UNAUTHENTICATED), "kg-c"));
    assert_null(strstr(kg_err_detail(KG_ERR_UNAUTHENTICATED), "9999"));
    assert_err(kg_hms_member_add(h, "x", KG_P11_FAULT_SO, "kg-nope", good, true), KG_ERR_NOT_FOUND);
    assert_err(kg_hms_member_add(h, "bad name", KG_P11_FAULT_SO, "kg-a", good, true), KG_ERR_BAD_INPUT);
    json_t *a = kg_hms_members_json(h);
    assert_int_equal(json_array_size(a), 0); /* nothing registered */
    json_decref(a);

    assert_err(kg_hms_member_add(h, "a", KG_P11_FAULT_SO, "kg-a", good, true), KG_OK);
    assert_err(kg_hms_member_add(h, "a", KG_P11_FAULT_SO, "kg-b", good, true), KG_ERR_CONFLICT);
    /* At restart (must_open false) an unreachable member is registered as down. */
    assert_err(kg_hms_member_add(h, "gone", "/nonexistent/libnope.so", "kg-a", good, false), KG_OK);
    char buf[32];
    assert_string_equal(member_state(h, "gone", buf, sizeof(buf)), "down");
    assert_string_equal(member_state(h, "a", buf, sizeof(buf)), "healthy");

    /* A wrong PIN at restart: down, and never retried by the probe (a real
     * HSM would lock the PIN). */
    assert_err(kg_hms_member_add(h, "wrongpin", KG_P11_FAULT_SO, "kg-c", bad, false), KG_OK);
    kg_hms_probe_now(h);
    assert_string_equal(member_state(h, "wrongpin", buf, sizeof(buf)), "down");

    json_t *show = NULL;
    assert_err(kg_hms_member_show(h, &show, "a"), KG_OK);
    assert_non_null(json_object_get(show, "slot"));
    assert_true(json_array_size(json_object_get(show, "mechanisms")) > 0);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(show, "mechanisms"), i, v) /* SoftHSM2 lists standard ones only */
        assert_null(strstr(json_string_value(v), "CKM_0x"));
    char *txt = json_dumps(show, JSON_COMPACT);
    assert_null(strstr(txt, "\"pin")); /* no PIN field: the PIN stays in kg_secret memory */
    free(txt);
    json_decref(show);
    assert_err(kg_hms_member_show(h, &show, "nobody"), KG_ERR_NOT_FOUND);
    assert_null(show);
    kg_secret_free(good);
    kg_secret_free(bad);
    kg_hms_close(h);
}

static void test_single_member_group(void **state)
{
    (void)state;
    kg_hms *h = hms_new();
    add_members(h, 1);
    const char *ms[] = { "a" };
    assert_err(kg_hms_group_create(h, "solo", ms, 1), KG_OK);
    assert_err(kg_hms_group_create(h, "solo", ms, 1), KG_ERR_CONFLICT);
    const char *nobody[] = { "zz" };
    assert_err(kg_hms_group_create(h, "other", nobody, 1), KG_ERR_NOT_FOUND);
    assert_true(kg_hms_group_exists(h, "solo"));
    assert_false(kg_hms_group_exists(h, "other"));

    kg_bytes pub = {0}, sig = {0}, ct = {0}, pt = {0};
    assert_err(kg_hms_key_generate(h, "solo", KG_HSM_KEY_EC_P256, ID("k-solo/1"), &pub), KG_OK);
    assert_err(kg_hms_key_generate(h, "solo", KG_HSM_KEY_EC_P256, ID("k-solo/1"), NULL), KG_ERR_CONFLICT);
    assert_err(kg_hms_key_generate(h, "nogroup", KG_HSM_KEY_EC_P256, ID("k-x/1"), NULL), KG_ERR_NOT_FOUND);
    static const uint8_t msg[] = "hello hms";
    assert_err(kg_hms_sign(h, &sig, "solo", ID("k-solo/1"), KG_HSM_SIG_DER, false, msg, sizeof(msg)), KG_OK);
    verify_sig(&pub, &sig, msg, sizeof(msg));
    kg_bytes_free(&sig);
    assert_err(kg_hms_sign(h, &sig, "solo", ID("k-none/1"), KG_HSM_SIG_DER, false, msg, sizeof(msg)),
                     KG_ERR_NOT_FOUND);
    assert_err(kg_hms_sign(h, &sig, "solo", ID("k-solo/1"), KG_HSM_SIG_DER, true, msg, 5), KG_ERR_BAD_INPUT);

    uint8_t iv[KG_HSM_GCM_IV_BYTES] = {1, 2, 3};
    assert_err(kg_hms_key_generate(h, "solo", KG_HSM_KEY_AES256, ID("k-solo/2"), NULL), KG_OK);
    assert_err(kg_hms_aes_gcm_encrypt(h, &ct, "solo", ID("k-solo/2"), iv, ID("aad"), msg, sizeof(msg)), KG_OK);
    assert_err(kg_hms_aes_gcm_decrypt(h, &pt, "solo", ID("k-solo/2"), iv, ID("aad"), ct.data, ct.len), KG_OK);
    assert_memory_equal(pt.data, msg, sizeof(msg));
    kg_bytes_free(&pt);
    ct.data[0] ^= 1;
    assert_err(kg_hms_aes_gcm_decrypt(h, &pt, "solo", ID("k-solo/2"), iv, ID("aad"), ct.data, ct.len),
                     KG_ERR_DECRYPT);
    assert_null(pt.data);

    /* A group of one makes non-extractable keys. */
    kg_hsm_token *t = direct(0);
    kg_hsm_key k;
    bool sensitive = false, extractable = true;
    assert_int_equal(kg_hsm_key_find(t, &k, ID("k-solo/1")), KG_OK);
    assert_int_equal(kg_hsm_key_attrs(t, &k, &sensitive, &extractable), KG_OK);
    assert_true(sensitive);
    assert_false(extractable);

    json_t *g = kg_hms_groups_json(h);
    assert_int_equal(json_array_size(g), 1);
    assert_false(json_is_true(json_object_get(json_array_get(g, 0), "replicated")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0), "keys")), 2);
    json_decref(g);

    assert_err(kg_hms_key_destroy(h, "solo", ID("k-solo/2")), KG_OK);
    assert_int_equal(kg_hsm_key_find(t, &k, ID("k-solo/2")), KG_ERR_NOT_FOUND);
    assert_err(kg_hms_key_destroy(h, "solo", ID("k-solo/2")), KG_ERR_NOT_FOUND);
    /* What a CKA_ID lookup per operation costs (HMS caches key handles). */
    double t0 = now_s();
    for (int i = 0; i < 50; i++) {
        assert_int_equal(kg_hsm_key_find(t, &k, ID("k-solo/1")), KG_OK);
        assert_int_equal(kg_hsm_sign(t, &sig, &k, KG_HSM_SIG_RAW, msg, sizeof(msg)), KG_OK);
        kg_bytes_free(&sig);
    }
    double t1 = now_s();
    for (int i = 0; i < 50; i++) {
        assert_int_equal(kg_hsm_sign(t, &sig, &k, KG_HSM_SIG_RAW, msg, sizeof(msg)), KG_OK);
        kg_bytes_free(&sig);
    }
    double t2 = now_s();
    for (int i = 0; i < 50; i++) {
        assert_err(kg_hms_sign(h, &sig, "solo", ID("k-solo/1"), KG_HSM_SIG_RAW, false, msg, sizeof(msg)), KG_OK);
        kg_bytes_free(&sig);
    }
    double t3 = now_s();
    printf("  per sign: find+sign %.2f ms, sign %.2f ms, through HMS %.2f ms\n", (t1 - t0) * 20,
           (t2 - t1) * 20, (t3 - t2) * 20);
    /* latency_ms (an EWMA of the signatures above) to the microsecond */
    json_t *a = kg_hms_members_json(h);
    assert_int_equal(json_array_size(a), 1);
    double lat = json_real_value(json_object_get(json_array_get(a, 0), "latency_ms"));
    printf("  latency_ms %.17g\n", lat);
    assert_true(lat > 0);
    double us = lat * 1000.0, off = us - (double)(int64_t)(us + 0.5);
    assert_true(off > -1e-6 && off < 1e-6);
    json_decref(a);
    kg_hsm_token_close(t);
    kg_bytes_free(&pub);
    kg_bytes_free(&ct);
    kg_hms_close(h);
}

static void test_three_member_group(void **state)
{
    (void)state;
    kg_hms *h = hms_new();
    add_members(h, 3);
    pthread_mutex_lock(&g_ev_mu);
    int created0 = g_ev_group_created, repl0 = g_ev_replicated;
    pthread_mutex_unlock(&g_ev_mu);
    const char *ms[] = { "a", "b", "c" };
    assert_err(kg_hms_group_create(h, "trio", ms, 3), KG_OK);
    kg_bytes pub = {0}, pub2 = {0}, ct = {0};
    assert_err(kg_hms_key_generate(h, "trio", KG_HSM_KEY_EC_P256, ID("k-trio/1"), &pub), KG_OK);
    assert_err(kg_hms_key_generate(h, "trio", KG_HSM_KEY_AES256, ID("k-trio/2"), NULL), KG_OK);
    assert_err(kg_hms_key_public_der(h, &pub2, "trio", ID("k-trio/1")), KG_OK);
    assert_int_equal(pub2.len, pub.len);
    assert_memory_equal(pub2.data, pub.data, pub.len);
    static const uint8_t msg[] = "on every member";
    uint8_t iv[KG_HSM_GCM_IV_BYTES] = {9};
    assert_err(kg_hms_aes_gcm_encrypt(h, &ct, "trio", ID("k-trio/2"), iv, NULL, 0, msg, sizeof(msg)), KG_OK);
    /* The key is usable on each member on its own. */
    for (size_t i = 0; i < 3; i++) {
        kg_hsm_token *t = direct(i);
        kg_hsm_key k;
        kg_bytes sig = {0}, pt = {0};
        bool sensitive = false, extractable = false;
        assert_int_equal(kg_hsm_key_find(t, &k, ID("k-trio/1")), KG_OK);
        assert_int_equal(kg_hsm_sign(t, &sig, &k, KG_HSM_SIG_DER, msg, sizeof(msg)), KG_OK);
        verify_sig(&pub, &sig, msg, sizeof(msg));
        assert_int_equal(kg_hsm_key_attrs(t, &k, &sensitive, &extractable), KG_OK);
        assert_true(sensitive); /* leaves the token only wrapped */
        assert_int_equal(kg_hsm_key_find(t, &k, ID("k-trio/2")), KG_OK);
        assert_int_equal(kg_hsm_aes_gcm_decrypt(t, &pt, &k, iv, NULL, 0, ct.data, ct.len), KG_OK);
        assert_memory_equal(pt.data, msg, sizeof(msg));
        kg_bytes_free(&sig);
        kg_bytes_free(&pt);
        kg_hsm_token_close(t);
        printf("  member %s: sign + verify and decrypt ok\n", g_labels[i]);
    }
    pthread_mutex_lock(&g_ev_mu);
    assert_int_equal(g_ev_group_created, created0 + 1);
    assert_true(g_ev_replicated >= repl0 + 4);
    pthread_mutex_unlock(&g_ev_mu);
    json_t *g = kg_hms_groups_json(h);
    assert_true(json_is_true(json_object_get(json_array_get(g, 0), "replicated")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0), "keys")), 2);
    json_decref(g);
    /* Destroyed on every member. */
    assert_err(kg_hms_key_destroy(h, "trio", ID("k-trio/2")), KG_OK);
    for (size_t i = 0; i < 3; i++) {
        kg_hsm_token *t = direct(i);
        kg_hsm_key k;
        assert_int_equal(kg_hsm_key_find(t, &k, ID("k-trio/2")), KG_ERR_NOT_FOUND);
        kg_hsm_token_close(t);
    }
    kg_bytes_free(&pub);
    kg_bytes_free(&pub2);
    kg_bytes_free(&ct);
    kg_hms_close(h);
}

/* Whether a member_state syncing event "<member>: <reason>" was seen. */
static bool syncing_seen(const char *what)
{
    bool seen = false;
    pthread_mutex_lock(&g_ev_mu);
    for (size_t i = 0; i < 64 && i < g_ev_n_syncing; i++)
        seen = seen || strcmp(g_ev_syncing[i], what) == 0;
    pthread_mutex_unlock(&g_ev_mu);
    return seen;
}

/* A group key deleted behind HMS's back on one member: that member answers
 * NOT_FOUND, which must not reach the caller while the others hold the
 * key; the member goes to re-sync and gets the key back. A key no member
 * knows stays NOT_FOUND and costs nobody anything. */
static void test_missing_key_resync(void **state)
{
    (void)state;
    kg_hms *h = hms_new();
    add_members(h, 3);
    const char *ms[] = { "a", "b", "c" };
    assert_err(kg_hms_group_create(h, "lose", ms, 3), KG_OK);
    kg_bytes pub = {0}, sig = {0};
    assert_err(kg_hms_key_generate(h, "lose", KG_HSM_KEY_EC_P256, ID("k-lose/1"), &pub), KG_OK);
    /* Make a (kg-a) the member the balancer prefers, so the loss is met. */
    char rules[256];
    snprintf(rules, sizeof(rules), "C_Sign delay 30 slot %lu\nC_Sign delay 30 slot %lu\n", g_slot[1], g_slot[2]);
    set_rules(rules);
    static const uint8_t msg[] = "one member lost the key";
    for (int i = 0; i < 10; i++) { /* warm every member's handle cache and latency figure */
        assert_err(kg_hms_sign(h, &sig, "lose", ID("k-lose/1"), KG_HSM_SIG_DER, false, msg, sizeof(msg)), KG_OK);
        kg_bytes_free(&sig);
        usleep(50000);
    }
    kg_hsm_token *t = direct(0);
    kg_hsm_key k;
    assert_int_equal(kg_hsm_key_find(t, &k, ID("k-lose/1")), KG_OK);
    assert_int_equal(kg_hsm_key_destroy(t, &k), KG_OK);
    assert_int_equal(kg_hsm_key_find(t, &k, ID("k-lose/1")), KG_ERR_NOT_FOUND);
    kg_hsm_token_close(t);
    for (int i = 0; i < 20; i++) {
        assert_err(kg_hms_sign(h, &sig, "lose", ID("k-lose/1"), KG_HSM_SIG_DER, false, msg, sizeof(msg)), KG_OK);
        verify_sig(&pub, &sig, msg, sizeof(msg));
        kg_bytes_free(&sig);
    }
    assert_true(syncing_seen("a: key k-lose/1 missing; re-synchronising"));
    set_rules("");
    kg_hms_probe_now(h);
    assert_true(wait_state(h, "a", "healthy", 20));
    t = direct(0);
    assert_int_equal(kg_hsm_key_find(t, &k, ID("k-lose/1")), KG_OK); /* copied back */
    assert_int_equal(kg_hsm_sign(t, &sig, &k, KG_HSM_SIG_DER, msg, sizeof(msg)), KG_OK);
    verify_sig(&pub, &sig, msg, sizeof(msg));
    kg_bytes_free(&sig);
    kg_hsm_token_close(t);
    /* Unknown on every member: the caller's error, nobody re-syncs. */
    size_t n_sync = g_ev_n_syncing;
    assert_err(kg_hms_sign(h, &sig, "lose", ID("k-lose/none"), KG_HSM_SIG_DER, false, msg, sizeof(msg)),
               KG_ERR_NOT_FOUND);
    assert_null(sig.data);
    char buf[32];
    for (size_t i = 0; i < 3; i++)
        assert_string_not_equal(member_state(h, ms[i], buf, sizeof(buf)), "syncing");
    pthread_mutex_lock(&g_ev_mu);
    assert_int_equal(g_ev_n_syncing, n_sync);
    pthread_mutex_unlock(&g_ev_mu);
    kg_bytes_free(&pub);
    kg_hms_close(h);
}

/* Removing members: refused while in a group (naming it), unknown names
 * are NOT_FOUND, a member down for a wrong PIN says how to get out of it
 * and is removed and added again with the right PIN. */
static void test_member_remove(void **state)
{
    (void)state;
    kg_hms *h = hms_new();
    add_members(h, 2);
    const char *ms[] = { "a" };
    assert_err(kg_hms_group_create(h, "solo-rm", ms, 1), KG_OK);
    assert_err(kg_hms_member_remove(h, "a"), KG_ERR_CONFLICT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_CONFLICT), "solo-rm"));
    assert_err(kg_hms_member_remove(h, "nobody"), KG_ERR_NOT_FOUND);
    assert_err(kg_hms_member_remove(h, "b"), KG_OK);
    assert_err(kg_hms_member_remove(h, "b"), KG_ERR_NOT_FOUND);
    json_t *show = NULL;
    assert_err(kg_hms_member_show(h, &show, "b"), KG_ERR_NOT_FOUND);
    json_t *a = kg_hms_members_json(h);
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    /* Wrong PIN at a restart (must_open false): down, never retried. */
    kg_secret *bad = softhsm_fx_pin("9999"), *good = softhsm_fx_pin("1234");
    assert_err(kg_hms_member_add(h, "b", KG_P11_FAULT_SO, "kg-b", bad, false), KG_OK);
    kg_hms_probe_now(h);
    char buf[32];
    assert_string_equal(member_state(h, "b", buf, sizeof(buf)), "down");
    assert_err(kg_hms_member_show(h, &show, "b"), KG_OK);
    const char *reason = json_string_value(json_object_get(show, "reason"));
    printf("  reason: %s\n", reason);
    assert_non_null(strstr(reason, "remove it with `kashguard hsm remove b` and add it again with the right PIN"));
    json_decref(show);
    assert_err(kg_hms_member_remove(h, "b"), KG_OK);
    assert_err(kg_hms_member_add(h, "b", KG_P11_FAULT_SO, "kg-b", good, true), KG_OK);
    assert_string_equal(member_state(h, "b", buf, sizeof(buf)), "healthy");
    kg_secret_free(bad);
    kg_secret_free(good);
    kg_hms_close(h);
}

/* A member that cannot open at start is registered down and opened by a
 * later probe; RSA-OAEP decryption runs through HMS. */
static void test_open_later_and_oaep(void **state)
{
    (void)state;
    char rule[96];
    snprintf(rule, sizeof(rule), "C_OpenSession fail CKR_DEVICE_ERROR slot %lu\n", g_slot[2]);
    set_rules(rule);
    kg_hms *h = hms_new();
    kg_secret *p = softhsm_fx_pin("1234");
    assert_err(kg_hms_member_add(h, "late", KG_P11_FAULT_SO, "kg-c", p, false), KG_OK);
    kg_secret_free(p);
    char buf[32];
    assert_string_equal(member_state(h, "late", buf, sizeof(buf)), "down");
    json_t *a = kg_hms_members_json(h);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(a, 0), "reason")), "CKR_DEVICE_ERROR"));
    json_decref(a);
    set_rules("");
    assert_true(wait_state(h, "late", "healthy", 20));

    const char *ms[] = { "late" };
    assert_err(kg_hms_group_create(h, "rsa", ms, 1), KG_OK);
    kg_bytes pub = {0}, pt = {0};
    assert_err(kg_hms_key_generate(h, "rsa", KG_HSM_KEY_RSA3072, ID("k-rsa/1"), &pub), KG_OK);
    const unsigned char *q = pub.data;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, (long)pub.len);
    assert_non_null(pk);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    static const uint8_t secret[] = "wrapped data key", label[] = "ctx";
    uint8_t ct[512];
    size_t ct_len = sizeof(ct);
    unsigned char *lbl = OPENSSL_memdup(label, sizeof(label));
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lbl, sizeof(label)), 1);
    assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &ct_len, secret, sizeof(secret)), 1);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    kg_err err = kg_hms_rsa_oaep_decrypt(h, &pt, "rsa", ID("k-rsa/1"), label, sizeof(label), ct, ct_len);
    if (err == KG_ERR_WRONG_KEY_USAGE) {
        printf("  this token cannot do OAEP with SHA-256: %s\n", kg_err_detail(err));
    } else {
        assert_err(err, KG_OK);
        assert_int_equal(pt.len, sizeof(secret));
        assert_memory_equal(pt.data, secret, sizeof(secret));
        kg_bytes_free(&pt);
        assert_err(kg_hms_rsa_oaep_decrypt(h, &pt, "rsa", ID("k-rsa/1"), ID("other"), ct, ct_len), KG_ERR_DECRYPT);
    }
    kg_bytes_free(&pub);
    kg_hms_close(h);
}

static void *clear_rules_later(void *arg)
{
    (void)arg;
    usleep(300000);
    set_rules("");
    return NULL;
}

/* A call that hangs: the caller gets an error after op_timeout_ms (the only
 * member is then down), and kg_hms_close waits for the abandoned call
 * instead of freeing what it uses; the hang ends during close. */
static void test_hung_call_and_close(void **state)
{
    (void)state;
    kg_hms *h = hms_new();
    add_members(h, 1);
    const char *ms[] = { "a" };
    assert_err(kg_hms_group_create(h, "hung", ms, 1), KG_OK);
    assert_err(kg_hms_key_generate(h, "hung", KG_HSM_KEY_EC_P256, ID("k-hung/1"), NULL), KG_OK);
    char rule[64];
    snprintf(rule, sizeof(rule), "C_Sign hang slot %lu\n", g_slot[0]);
    set_rules(rule);
    kg_bytes sig = {0};
    double t0 = now_s();
    assert_err(kg_hms_sign(h, &sig, "hung", ID("k-hung/1"), KG_HSM_SIG_DER, false, ID("x")), KG_ERR_CRYPTO);
    double waited = now_s() - t0;
    assert_non_null(strstr(kg_err_detail(KG_ERR_CRYPTO), "no healthy member in group hung"));
    assert_null(sig.data);
    char buf[32];
    assert_string_equal(member_state(h, "a", buf, sizeof(buf)), "down");
    /* Nobody left to serve: fails at once. */
    assert_err(kg_hms_sign(h, &sig, "hung", ID("k-hung/1"), KG_HSM_SIG_DER, false, ID("x")), KG_ERR_CRYPTO);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, clear_rules_later, NULL), 0);
    double t1 = now_s();
    kg_hms_close(h);
    double closing = now_s() - t1;
    pthread_join(th, NULL);
    printf("  hung C_Sign: caller answered after %.0f ms; close took %.0f ms (hang released after 300 ms)\n",
           waited * 1000, closing * 1000);
}

/* Load: threads signing in a loop, counting successes and failures. */
typedef struct {
    kg_hms *h;
    const char *group, *key;
    volatile int stop;
    pthread_mutex_t mu;
    unsigned long ok, failed;
} load_ctx;

/* Count one sign of a load thread (printing the first failure). */
static void count_sign(load_ctx *c, kg_err err)
{
    pthread_mutex_lock(&c->mu);
    if (err) {
        if (!c->failed)
            printf("  first failed sign: %s\n", kg_err_detail(err));
        c->failed++;
    } else {
        c->ok++;
    }
    pthread_mutex_unlock(&c->mu);
}

static void *load_thread(void *arg)
{
    load_ctx *c = arg;
    static const uint8_t msg[] = "load";
    while (!c->stop) {
        kg_bytes sig = {0};
        kg_err err = kg_hms_sign(c->h, &sig, c->group, ID(c->key), KG_HSM_SIG_RAW, false, msg, sizeof(msg));
        count_sign(c, err);
        kg_bytes_free(&sig);
    }
    return NULL;
}

static unsigned long load_ok(load_ctx *c)
{
    pthread_mutex_lock(&c->mu);
    unsigned long n = c->ok;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Member b fails or hangs under load (rule_fmt with %lu = its slot): ops
 * keep succeeding, b goes down; a key is made while it is down; the rule
 * goes, the probe brings b back through a re-sync that gives it the key. */
static void failover(const char *rule_fmt, const char *what, const char *group)
{
    char k1[64], k2[64], k3[64], series[96];
    snprintf(k1, sizeof(k1), "k-%s/1", group);
    snprintf(k2, sizeof(k2), "k-%s/2", group);
    snprintf(k3, sizeof(k3), "k-%s/3", group);
    kg_hms *h = hms_new();
    add_members(h, 3);
    const char *ms[] = { "a", "b", "c" };
    assert_err(kg_hms_group_create(h, group, ms, 3), KG_OK);
    assert_err(kg_hms_key_generate(h, group, KG_HSM_KEY_EC_P256, ID(k1), NULL), KG_OK);
    assert_err(kg_hms_key_generate(h, group, KG_HSM_KEY_AES256, ID(k3), NULL), KG_OK);
    pthread_mutex_lock(&g_ev_mu);
    int resynced0 = g_ev_resynced;
    pthread_mutex_unlock(&g_ev_mu);

    load_ctx c = { .h = h, .group = group, .key = k1 };
    pthread_mutex_init(&c.mu, NULL);
    pthread_t th[4];
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, load_thread, &c), 0);
    usleep(200000);
    char rule[128];
    snprintf(rule, sizeof(rule), rule_fmt, g_slot[1]);
    unsigned long ok0 = load_ok(&c);
    double t0 = now_s();
    set_rules(rule);
    assert_true(wait_state(h, "b", "down", 20));
    double t_down = now_s() - t0;
    unsigned long ok_down = load_ok(&c);
    usleep(300000);
    assert_err(kg_hms_key_generate(h, group, KG_HSM_KEY_AES256, ID(k2), NULL), KG_OK);
    assert_err(kg_hms_key_destroy(h, group, ID(k3)), KG_OK);
    set_rules("");
    double t1 = now_s();
    assert_true(wait_state(h, "b", "healthy", 20));
    double t_back = now_s() - t1;
    usleep(200000);
    c.stop = 1;
    for (size_t i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    printf("  %s: member b down after %.0f ms (%lu signs meanwhile), back after %.0f ms; "
           "%lu signs ok, %lu failed in total (%lu before the fault)\n",
           what, t_down * 1000, ok_down - ok0, t_back * 1000, c.ok, c.failed, ok0);
    assert_int_equal(c.failed, 0);
    assert_true(c.ok > 0);
    pthread_mutex_destroy(&c.mu);
    pthread_mutex_lock(&g_ev_mu);
    assert_true(g_ev_resynced > resynced0);
    pthread_mutex_unlock(&g_ev_mu);

    /* Re-synced: the key made while b was down is on b now, the one
     * destroyed meanwhile is gone from it. */
    kg_hsm_token *t = direct(1);
    kg_hsm_key k;
    assert_int_equal(kg_hsm_key_find(t, &k, ID(k2)), KG_OK);
    assert_int_equal(kg_hsm_key_find(t, &k, ID(k3)), KG_ERR_NOT_FOUND);
    kg_hsm_token_close(t);

    char *m = NULL;
    size_t len = 0;
    assert_err(kg_hms_metrics(h, &m, &len), KG_OK);
    assert_int_equal(strlen(m), len);
    assert_non_null(strstr(m, "kashguard_hsm_member_up{member=\"b\"} 1\n"));
    assert_non_null(strstr(m, "kashguard_hsm_member_state{member=\"b\",state=\"healthy\"} 1\n"));
    assert_non_null(strstr(m, "kashguard_hsm_errors_total{member=\"b\",op=\"sign\"} "));
    /* b's failures (signs or probes, whichever met the fault first) are counted. */
    assert_true(!strstr(m, "kashguard_hsm_errors_total{member=\"b\",op=\"sign\"} 0\n") ||
                !strstr(m, "kashguard_hsm_errors_total{member=\"b\",op=\"probe\"} 0\n"));
    assert_non_null(strstr(m, "kashguard_hsm_errors_total{member=\"a\",op=\"sign\"} 0\n"));
    assert_non_null(strstr(m, "kashguard_hsm_operation_seconds_bucket{member=\"a\",op=\"sign\",le=\"+Inf\"}"));
    assert_non_null(strstr(m, "kashguard_hsm_operation_seconds_count{member=\"c\",op=\"probe\"}"));
    snprintf(series, sizeof(series), "kashguard_hsm_keys{group=\"%s\"} 2\n", group);
    assert_non_null(strstr(m, series));
    assert_non_null(strstr(m, "# TYPE kashguard_hsm_failovers_total counter\n"));
    /* Whether any sign was failed over depends on whether a probe met the
     * fault first: print it, do not assert it. */
    const char *fo = strstr(m, "\nkashguard_hsm_failovers_total ");
    assert_non_null(fo);
    printf("  %.*s\n", (int)strcspn(fo + 1, "\n"), fo + 1);
    free(m);
    kg_hms_close(h);
}

static void test_failover_hang(void **state)
{
    (void)state;
    failover("C_Sign hang slot %lu\n", "C_Sign hang", "fo-hang");
}

static void test_failover_device_error(void **state)
{
    (void)state;
    failover("C_Sign fail CKR_DEVICE_ERROR slot %lu\n", "C_Sign CKR_DEVICE_ERROR", "fo-err");
}

/* Whether a member_state degraded event of member whose reason contains
 * what was seen among the degraded events from index from on. */
static bool degraded_seen(const char *member, const char *what, size_t from)
{
    bool seen = false;
    size_t ml = strlen(member);
    pthread_mutex_lock(&g_ev_mu);
    for (size_t i = from; i < g_ev_n_degraded; i++) {
        const char *e = g_ev_degraded[i % 64];
        seen = seen || (!strncmp(e, member, ml) && !strncmp(e + ml, ": ", 2) && strstr(e + ml, what));
    }
    pthread_mutex_unlock(&g_ev_mu);
    return seen;
}

static int healthy_events(void)
{
    pthread_mutex_lock(&g_ev_mu);
    int n = g_ev_healthy;
    pthread_mutex_unlock(&g_ev_mu);
    return n;
}

/* The "ops" counter of each of a, b, c from kg_hms_members_json. */
static void member_ops(kg_hms *h, long long ops[3])
{
    static const char *const names[3] = { "a", "b", "c" };
    json_t *a = kg_hms_members_json(h);
    size_t i;
    json_t *m;
    for (size_t k = 0; k < 3; k++)
        ops[k] = -1;
    json_array_foreach(a, i, m) {
        for (size_t k = 0; k < 3; k++)
            if (!strcmp(json_string_value(json_object_get(m, "name")), names[k]))
                ops[k] = (long long)json_integer_value(json_object_get(m, "ops"));
    }
    json_decref(a);
}

/* 15 signs with k-deg/1 through group "deg", counted in c. */
static void *deg_sign_thread(void *arg)
{
    load_ctx *c = arg;
    static const uint8_t msg[] = "degraded batch";
    for (int i = 0; i < 15; i++) {
        kg_bytes sig = {0};
        kg_err err = kg_hms_sign(c->h, &sig, "deg", ID("k-deg/1"), KG_HSM_SIG_DER, false, msg, sizeof(msg));
        count_sign(c, err);
        kg_bytes_free(&sig);
    }
    return NULL;
}

/* A batch of 4 threads x 15 signs; the ops each member served meanwhile go
 * to delta, the failures are returned. Concurrent signs, so the balancer
 * spreads them over the healthy members. */
static unsigned long deg_sign_batch(kg_hms *h, long long delta[3])
{
    load_ctx c = { .h = h };
    pthread_mutex_init(&c.mu, NULL);
    long long before[3], after[3];
    member_ops(h, before);
    pthread_t th[4];
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, deg_sign_thread, &c), 0);
    for (size_t i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    member_ops(h, after);
    for (size_t k = 0; k < 3; k++)
        delta[k] = after[k] - before[k];
    pthread_mutex_destroy(&c.mu);
    assert_int_equal(c.ok + c.failed, 60);
    return c.failed;
}

/* The "degraded" state: a member with a failed call (fewer than
 * down_after_errors) or a probe slower than degraded_latency_ms is
 * degraded, with the reason; it serves only when no healthy member can, so
 * signs through its group all succeed on the healthy ones; it is healthy
 * again after clean, fast probes. Probes run only when the test asks
 * (kg_hms_probe_now), so each state change comes from a known probe. */
static void test_degraded(void **state)
{
    (void)state;
    /* 1000 ms is well above a healthy probe under ASan on a loaded machine
     * (seen up to 760 ms), 1300 ms above 1000 and well below op_timeout. */
    enum { DEGRADED_MS = 1000, DELAY_MS = 1300 };
    double t0 = now_s();
    kg_hms *h = hms_new_with(3600000, DEGRADED_MS, 4000);
    add_members(h, 3);
    const char *ms[] = { "a", "b", "c" }, *only_b[] = { "b" };
    assert_err(kg_hms_group_create(h, "deg", ms, 3), KG_OK);
    assert_err(kg_hms_group_create(h, "deg-b", only_b, 1), KG_OK);
    kg_bytes pub = {0}, sig = {0};
    assert_err(kg_hms_key_generate(h, "deg", KG_HSM_KEY_EC_P256, ID("k-deg/1"), &pub), KG_OK);
    assert_err(kg_hms_key_generate(h, "deg-b", KG_HSM_KEY_EC_P256, ID("k-degb/1"), NULL), KG_OK);
    kg_hms_probe_now(h);
    char buf[32], reason[320], rule[128];
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(member_state(h, ms[i], buf, sizeof(buf)), "healthy");
    static const uint8_t msg[] = "degraded";

    /* 1. Recent errors: one failed call on b (1 of down_after_errors = 3). */
    pthread_mutex_lock(&g_ev_mu);
    size_t ev0 = g_ev_n_degraded;
    pthread_mutex_unlock(&g_ev_mu);
    snprintf(rule, sizeof(rule), "C_Sign fail CKR_DEVICE_ERROR slot %lu\n", g_slot[1]);
    set_rules(rule);
    kg_err err = kg_hms_sign(h, &sig, "deg-b", ID("k-degb/1"), KG_HSM_SIG_DER, false, msg, sizeof(msg));
    set_rules("");
    printf("  sign with a device error on b: %s: %s\n", kg_err_code(err), kg_err_detail(err));
    assert_int_not_equal(err, KG_OK);
    assert_null(sig.data);
    assert_string_equal(member_state(h, "b", buf, sizeof(buf)), "degraded");
    printf("  b: %s\n", member_str(h, "b", "reason", reason, sizeof(reason)));
    assert_non_null(strstr(reason, "CKR_DEVICE_ERROR"));
    assert_non_null(strstr(reason, "(1 of 3 errors before down)"));
    assert_true(degraded_seen("b", "(1 of 3 errors before down)", ev0));
    /* A clean probe still sees the failed call since the last one... */
    kg_hms_probe_now(h);
    assert_string_equal(member_state(h, "b", buf, sizeof(buf)), "degraded");
    printf("  b: %s\n", member_str(h, "b", "reason", reason, sizeof(reason)));
    assert_non_null(strstr(reason, "1 failed calls since the last probe"));
    /* ...the next one makes b healthy again. */
    int healthy0 = healthy_events();
    kg_hms_probe_now(h);
    assert_string_equal(member_state(h, "b", buf, sizeof(buf)), "healthy");
    assert_true(healthy_events() > healthy0);

    /* 2. Slow probes: every C_Sign on b takes DELAY_MS. */
    long long d[3];
    assert_int_equal(deg_sign_batch(h, d), 0); /* all healthy: for comparison */
    printf("  all healthy: signs served a %lld, b %lld, c %lld\n", d[0], d[1], d[2]);
    pthread_mutex_lock(&g_ev_mu);
    ev0 = g_ev_n_degraded;
    pthread_mutex_unlock(&g_ev_mu);
    snprintf(rule, sizeof(rule), "C_Sign delay %d slot %lu\n", DELAY_MS, g_slot[1]);
    set_rules(rule);
    kg_hms_probe_now(h);
    assert_string_equal(member_state(h, "b", buf, sizeof(buf)), "degraded");
    printf("  b: %s\n", member_str(h, "b", "reason", reason, sizeof(reason)));
    assert_non_null(strstr(reason, "probe took"));
    assert_non_null(strstr(reason, "over 1000 ms"));
    assert_true(degraded_seen("b", "over 1000 ms", ev0));
    assert_string_equal(member_state(h, "a", buf, sizeof(buf)), "healthy");
    assert_string_equal(member_state(h, "c", buf, sizeof(buf)), "healthy");
    /* Every sign succeeds, on the healthy members: b serves none. No probe
     * runs meanwhile (and no call fails), so no state changes and b's ops
     * counter stays put exactly. How a and c share the signs depends on
     * their latency under load (seen 59/1 to 30/30): printed only. */
    assert_int_equal(deg_sign_batch(h, d), 0);
    printf("  b degraded: signs served a %lld, b %lld, c %lld\n", d[0], d[1], d[2]);
    assert_int_equal(d[1], 0);
    assert_true(d[0] + d[2] >= 60);
    assert_err(kg_hms_sign(h, &sig, "deg", ID("k-deg/1"), KG_HSM_SIG_DER, false, msg, sizeof(msg)), KG_OK);
    verify_sig(&pub, &sig, msg, sizeof(msg));
    kg_bytes_free(&sig);

    /* 3. The rule goes: the next probe makes b healthy, with an event. */
    set_rules("");
    healthy0 = healthy_events();
    kg_hms_probe_now(h);
    assert_string_equal(member_state(h, "b", buf, sizeof(buf)), "healthy");
    printf("  b: %s\n", member_str(h, "b", "reason", reason, sizeof(reason)));
    assert_non_null(strstr(reason, "probe ok"));
    assert_true(healthy_events() > healthy0);
    kg_bytes_free(&pub);
    kg_hms_close(h);
    printf("  test_degraded took %.1f s\n", now_s() - t0);
}

int main(void)
{
    if (!softhsm_fx_available())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_add_errors),
        cmocka_unit_test(test_single_member_group),
        cmocka_unit_test(test_three_member_group),
        cmocka_unit_test(test_missing_key_resync),
        cmocka_unit_test(test_member_remove),
        cmocka_unit_test(test_open_later_and_oaep),
        cmocka_unit_test(test_hung_call_and_close),
        cmocka_unit_test(test_failover_hang),
        cmocka_unit_test(test_failover_device_error),
        cmocka_unit_test(test_degraded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
