/* bench_hsm_bench: throughput of software keys against HSM-protected keys.
 *
 *   bench_hsm_bench [--threads T] [--seconds S]     (defaults 4 threads, 2 s)
 *
 * In process: a KMS on a temp SQLite store, initialised and unsealed, with a
 * fleet manager (kg_hms) over private SoftHSM2 tokens (SOFTHSM2_CONF points
 * at a temp token dir): groups of 1, 2 and 3 members. For each key kind T
 * threads call the KMS for S seconds:
 *
 *   sign      kg_kms_sign, ECC_NIST_P256, a 32-byte message, DER signature
 *   encrypt   kg_kms_encrypt, AES_256, 1 KiB of plaintext, no context
 *
 * Rows: a software key; HSM keys in a group of 1, 2 and 3 members (HMS
 * balances over the members, so more members means more token locks to
 * spread over, not more CPU); and, as the floor, kg_hsm_sign /
 * kg_hsm_aes_gcm_encrypt straight on one token (no KMS, no HMS).
 * SoftHSM2 is software: it shows the overhead of the PKCS#11 path and of
 * HMS, not the speed of a hardware HSM.
 *
 * It prints the machine first and one table; the figures go into
 * docs/benchmarks.md with the command. Exit 1 when a setup step or an
 * operation fails (the error is printed); exit 0 with a note when SoftHSM2
 * is not installed. */
#define _GNU_SOURCE
#include "bench_machine.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kashguard/crypto.h"
#include "kashguard/hsm.h"
#include "kashguard/kms.h"
#include "kashguard/store.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define PIN "kg-bench-pin"
#define MAX_THREADS 64

typedef enum { OP_SIGN, OP_ENCRYPT } op_kind;

typedef struct {
    kg_kms *kms;
    kg_kms_caller *sys;
    kg_hsm_token *direct;       /* the floor rows: one token, no KMS */
    kg_hsm_key direct_ec, direct_aes;
    const char *ref;            /* KMS key id, or NULL for the direct rows */
    op_kind op;
    atomic_bool stop;
    atomic_ulong ops;
    atomic_int failed;
    char error[512];
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool check(kg_err e, const char *what)
{
    if (e == KG_OK)
        return true;
    fprintf(stderr, "%s: %s\n", what, kg_err_detail(e));
    return false;
}

/* One operation of the row; KG_OK or the error. */
static kg_err one_op(bench *b, const uint8_t *pt)
{
    kg_bytes out = {0};
    json_t *info = NULL;
    kg_err e;
    uint8_t iv[KG_HSM_GCM_IV_BYTES] = {0};
    if (b->ref == NULL && b->op == OP_SIGN) {
        e = kg_hsm_sign(b->direct, &out, &b->direct_ec, KG_HSM_SIG_DER, pt, 32);
    } else if (b->ref == NULL) {
        e = kg_crypto_random(iv, sizeof iv);
        if (e == KG_OK)
            e = kg_hsm_aes_gcm_encrypt(b->direct, &out, &b->direct_aes, iv, NULL, 0, pt, 1024);
    } else if (b->op == OP_SIGN) {
        e = kg_kms_sign(b->kms, b->sys, &out, &info, b->ref, KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER, pt, 32);
    } else {
        e = kg_kms_encrypt(b->kms, b->sys, &out, &info, b->ref, NULL, pt, 1024);
    }
    json_decref(info);
    kg_bytes_free(&out);
    return e;
}

static void *worker(void *arg)
{
    bench *b = arg;
    uint8_t pt[1024];
    memset(pt, 0x5a, sizeof pt);
    while (!atomic_load(&b->stop)) {
        kg_err e = one_op(b, pt);
        if (e != KG_OK) {
            if (atomic_fetch_add(&b->failed, 1) == 0)
                snprintf(b->error, sizeof b->error, "%s", kg_err_detail(e));
            break;
        }
        atomic_fetch_add(&b->ops, 1);
        pt[0]++;
    }
    return NULL;
}

/* Run the row for seconds with threads; ops/s, or -1 on a failure. */
static double run_row(bench *b, const char *ref, op_kind op, unsigned threads, double seconds)
{
    pthread_t th[MAX_THREADS];
    b->ref = ref;
    b->op = op;
    uint8_t pt[1024] = {1};
    for (int i = 0; i < 20; i++) /* warm-up: sessions opened, caches filled */
        if (!check(one_op(b, pt), "warm-up"))
            return -1;
    atomic_store(&b->stop, false);
    atomic_store(&b->ops, 0);
    atomic_store(&b->failed, 0);
    double t0 = now_s();
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, worker, b);
    usleep((useconds_t)(seconds * 1e6));
    atomic_store(&b->stop, true);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double dt = now_s() - t0;
    if (atomic_load(&b->failed) != 0) {
        fprintf(stderr, "operation failed: %s\n", b->error);
        return -1;
    }
    return (double)atomic_load(&b->ops) / dt;
}

/* ------------------------------------------------------------- fixture */

static char dir[] = "/tmp/kg-hsm-bench-XXXXXX";

static bool make_tokens(void)
{
    char path[128], cmd[256];
    if (mkdtemp(dir) == NULL)
        return false;
    snprintf(path, sizeof path, "%s/softhsm2.conf", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    fprintf(f, "directories.tokendir = %s/tokens\nlog.level = ERROR\n", dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", path, 1);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/tokens", dir);
    if (system(cmd) != 0)
        return false;
    for (int i = 1; i <= 7; i++) { /* b1 | b2 b3 | b4 b5 b6 | b7 (direct) */
        snprintf(cmd, sizeof cmd, "softhsm2-util --init-token --free --label b%d --pin %s --so-pin kg-so >/dev/null",
                 i, PIN);
        if (system(cmd) != 0)
            return false;
    }
    return true;
}

/* Members b1..b6 and the groups g1 = {b1}, g2 = {b2, b3}, g3 = {b4, b5, b6}. */
static bool make_fleet(kg_hms *h, const kg_secret *pin)
{
    static const char *const g1[] = {"b1"}, *const g2[] = {"b2", "b3"}, *const g3[] = {"b4", "b5", "b6"};
    char name[8];
    for (int i = 1; i <= 6; i++) {
        snprintf(name, sizeof name, "b%d", i);
        if (!check(kg_hms_member_add(h, name, SOFTHSM, name, pin, true), name))
            return false;
    }
    return check(kg_hms_group_create(h, "g1", g1, 1), "group g1") &&
           check(kg_hms_group_create(h, "g2", g2, 2), "group g2") &&
           check(kg_hms_group_create(h, "g3", g3, 3), "group g3");
}

/* A KMS key; its id in id (protection "software" when group is NULL). */
static bool make_key(bench *b, char *id, size_t n, const char *spec, const char *group)
{
    json_t *req = group ? json_pack("{s:s,s:s,s:s}", "spec", spec, "protection", "hsm", "hsm_group", group)
                        : json_pack("{s:s}", "spec", spec);
    json_t *out = NULL;
    kg_err e = kg_kms_key_create(b->kms, b->sys, &out, req);
    json_decref(req);
    if (!check(e, spec))
        return false;
    snprintf(id, n, "%s", json_string_value(json_object_get(out, "key_id")));
    json_decref(out);
    return true;
}

static bool open_kms(bench *b, kg_store **st, kg_hms *h)
{
    char url[128];
    snprintf(url, sizeof url, "sqlite://%s/kg.db", dir);
    if (!check(kg_store_open(st, url), "store"))
        return false;
    kg_kms_config cfg;
    kg_kms_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.audit_fsync = false;
    cfg.hms = h;
    json_t *init = NULL, *status = NULL;
    if (!check(kg_kms_open(&b->kms, *st, &cfg), "kms open") ||
        !check(kg_kms_init(b->kms, &init, 1, 1), "kms init"))
        return false;
    kg_err e = kg_kms_unseal(b->kms, &status, json_string_value(json_array_get(json_object_get(init, "unseal_keys"), 0)));
    json_decref(init);
    json_decref(status);
    b->sys = kg_kms_caller_system();
    return check(e, "kms unseal") && b->sys != NULL;
}

static bool open_direct(bench *b, kg_hsm_module **m, const kg_secret *pin)
{
    return check(kg_hsm_module_load(m, SOFTHSM), "module") &&
           check(kg_hsm_token_open(&b->direct, *m, "b7", pin, 0), "token b7") &&
           check(kg_hsm_key_generate(b->direct, &b->direct_ec, KG_HSM_KEY_EC_P256, "bench/ec",
                                     (const uint8_t *)"ec", 2), "direct EC key") &&
           check(kg_hsm_key_generate(b->direct, &b->direct_aes, KG_HSM_KEY_AES256, "bench/aes",
                                     (const uint8_t *)"aes", 3), "direct AES key");
}

int main(int argc, char **argv)
{
    unsigned threads = 4;
    double seconds = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
    }
    if (threads < 1 || threads > MAX_THREADS || seconds <= 0) {
        fprintf(stderr, "usage: bench_hsm_bench [--threads 1..%d] [--seconds S]\n", MAX_THREADS);
        return 1;
    }
    bench_print_machine();
    if (access(SOFTHSM, R_OK) != 0 || system("softhsm2-util --version >/dev/null 2>&1") != 0) {
        printf("SoftHSM2 is not installed (%s): nothing to measure\n", SOFTHSM);
        return 0;
    }
    kg_log_set_level(KG_LOG_WARN);
    static bench b;
    kg_store *st = NULL;
    kg_hms *h = NULL;
    kg_hsm_module *m = NULL;
    kg_hms_config hc;
    kg_hms_config_default(&hc);
    /* no faults here; group creation makes RSA-3072 transport keys, which
     * SoftHSM2 can take longer than the default 2 s to generate */
    hc.op_timeout_ms = 60000;
    kg_secret *pin = kg_secret_from((const uint8_t *)PIN, strlen(PIN));
    char sw_ec[64], sw_aes[64], ec[3][64], aes[3][64];
    static const char *const groups[] = {"g1", "g2", "g3"};
    bool ok = pin != NULL && check(kg_crypto_init(), "crypto init") && make_tokens() &&
              check(kg_hms_open(&h, &hc), "hms open") && make_fleet(h, pin) && open_kms(&b, &st, h) &&
              open_direct(&b, &m, pin) && make_key(&b, sw_ec, sizeof sw_ec, "ECC_NIST_P256", NULL) &&
              make_key(&b, sw_aes, sizeof sw_aes, "AES_256", NULL);
    for (int g = 0; ok && g < 3; g++)
        ok = make_key(&b, ec[g], sizeof ec[g], "ECC_NIST_P256", groups[g]) &&
             make_key(&b, aes[g], sizeof aes[g], "AES_256", groups[g]);
    if (ok) {
        printf("threads=%u seconds=%.1f (SoftHSM2 %s)\n\n", threads, seconds, SOFTHSM);
        printf("%-34s %16s %22s\n", "key", "sign P-256 op/s", "encrypt AES 1KiB op/s");
        const char *names[] = {"software (KMS)", "hsm, group of 1 member (KMS)", "hsm, group of 2 members (KMS)",
                               "hsm, group of 3 members (KMS)", "pkcs11 direct, one token (floor)"};
        const char *sign_ref[] = {sw_ec, ec[0], ec[1], ec[2], NULL}, *enc_ref[] = {sw_aes, aes[0], aes[1], aes[2], NULL};
        for (int r = 0; ok && r < 5; r++) {
            double s = run_row(&b, sign_ref[r], OP_SIGN, threads, seconds);
            double e = s < 0 ? -1 : run_row(&b, enc_ref[r], OP_ENCRYPT, threads, seconds);
            ok = s >= 0 && e >= 0;
            if (ok)
                printf("%-34s %16.0f %22.0f\n", names[r], s, e);
            fflush(stdout);
        }
    }
    kg_kms_caller_free(b.sys);
    kg_kms_close(b.kms);
    kg_store_close(st);
    kg_hsm_token_close(b.direct);
    kg_hsm_module_release(m);
    kg_hms_close(h);
    kg_secret_free(pin);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return ok ? 0 : 1;
}
