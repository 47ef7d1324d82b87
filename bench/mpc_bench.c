/* bench_mpc_bench: how long the FROST protocols take when every party runs
 * in this one process (no network): the cryptographic floor of the
 * networked flow in docs/mpc.md.
 *
 *   bench_mpc_bench [--seconds S] [--threads N]   (defaults: 1 second per row, 4 threads)
 *
 * For each scheme (frost-ed25519, frost-p256 and frost-secp256k1-tr) and
 * each group size (2-of-3, 3-of-5, 7-of-10), rows timed for S seconds each
 * (at least 5 runs) and reported as median and p90 milliseconds:
 *
 *   dkg      the whole Pedersen DKG of all n parties: n round-1 runs, n
 *            round-2 runs (each checks n-1 proofs of knowledge), n finishes
 *            (each checks n-1 shares against the commitments)
 *   refresh  every party deals a sharing of zero, every party checks and
 *            applies the n dealings (and updates the public shares)
 *   sign     one signature by t parties: t commits (round one), t signature
 *            shares (round two), aggregation, which verifies every share and
 *            the final signature (RFC 9591 §5.3/§5.4). For
 *            frost-secp256k1-tr it is BIP 445: t NonceGen, NonceAgg, t Sign,
 *            t PartialSigVerify, PartialSigAgg, and a BIP340 verify.
 *
 * frost-secp256k1-tr shares come from the secp256k1 DKG (BIP 445 signs
 * with any secp256k1 FROST key), so its dkg and refresh rows are those of
 * the secp256k1 group. Then a throughput table: 2-of-3 signatures per
 * second with 1 and with N threads, each thread signing its own sessions
 * independently (its own copy of the shares).
 *
 * It prints the machine first (nproc, CPU model, kernel); the figures go
 * into docs/benchmarks.md with the command. Exit status: 0, or 1 when an
 * operation fails (the error is printed; a failing run is never timed). */
#include "bench_machine.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "kashguard/mpc/frost_tr.h"

#define MAX_N 10
#define MIN_RUNS 5

typedef enum { SCHEME_FROST, SCHEME_TR } scheme_kind;

typedef struct {
    const char *name;
    kg_mpc_group_id g;
    scheme_kind kind;
} scheme;

static const scheme SCHEMES[] = {
    {"frost-ed25519", KG_MPC_GROUP_ED25519, SCHEME_FROST},
    {"frost-p256", KG_MPC_GROUP_P256, SCHEME_FROST},
    {"frost-secp256k1-tr", KG_MPC_GROUP_SECP256K1, SCHEME_TR},
};

static const unsigned SIZES[][2] = {{2, 3}, {3, 5}, {7, 10}};

/* One group's key material (all n parties, as after a DKG). */
typedef struct {
    kg_mpc_group_id g;
    unsigned t, n;
    kg_mpc_frost_key_share share[MAX_N];
    kg_mpc_point pub[MAX_N]; /* PK_i of identifier i+1 */
    uint32_t counter;        /* varies the signed message */
} group_keys;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, kg_err err)
{
    fprintf(stderr, "bench_mpc_bench: %s: %s (%s)\n", what, kg_err_str(err),
            kg_err_detail(err) != NULL ? kg_err_detail(err) : "");
    return 1;
}

/* ------------------------------------------------------------------ DKG */

typedef struct {
    kg_mpc_frost_dkg_round1 r1[MAX_N];
    kg_mpc_frost_dkg_round1 others[MAX_N - 1];
    kg_mpc_frost_dkg_round2 r2[MAX_N][MAX_N - 1];
    kg_mpc_frost_dkg_round2 in[MAX_N - 1];
} dkg_scratch;

static kg_err dkg_finish_all(group_keys *k, kg_mpc_frost_dkg **d, dkg_scratch *s)
{
    kg_err err = KG_OK;
    for (unsigned j = 0; j < k->n && err == KG_OK; j++) {
        size_t m = 0;
        for (unsigned i = 0; i < k->n; i++)
            for (unsigned x = 0; i != j && x < k->n - 1; x++)
                if (s->r2[i][x].to == j + 1)
                    s->in[m++] = s->r2[i][x];
        uint16_t culprit = 0;
        err = kg_mpc_frost_dkg_finish(d[j], &k->share[j], j == 0 ? k->pub : NULL, &culprit, s->in, m);
    }
    kg_wipe(s->r2, sizeof(s->r2));
    kg_wipe(s->in, sizeof(s->in));
    return err;
}

static kg_err dkg_run(group_keys *k, dkg_scratch *s)
{
    kg_mpc_frost_dkg *d[MAX_N] = {0};
    kg_err err = KG_OK;
    for (unsigned i = 0; i < k->n && err == KG_OK; i++) {
        err = kg_mpc_frost_dkg_new(&d[i], k->g, (uint16_t)(i + 1), k->t, k->n);
        if (err == KG_OK)
            err = kg_mpc_frost_dkg_round1_run(d[i], &s->r1[i], NULL, NULL);
    }
    for (unsigned i = 0; i < k->n && err == KG_OK; i++) {
        size_t m = 0;
        for (unsigned j = 0; j < k->n; j++)
            if (j != i)
                s->others[m++] = s->r1[j];
        uint16_t culprit = 0;
        err = kg_mpc_frost_dkg_round2_run(d[i], s->r2[i], &culprit, s->others, m);
    }
    if (err == KG_OK)
        err = dkg_finish_all(k, d, s);
    for (unsigned i = 0; i < k->n; i++)
        kg_mpc_frost_dkg_free(d[i]);
    return err;
}

/* -------------------------------------------------------------- refresh */

typedef struct {
    kg_mpc_frost_dkg_round2 deal[MAX_N][MAX_N]; /* deal[dealer][receiver] */
    kg_mpc_point vss[MAX_N][MAX_N];
    kg_mpc_frost_dkg_round2 in[MAX_N];
    kg_mpc_point pubs[MAX_N];
} refresh_scratch;

static kg_err refresh_run(group_keys *k, refresh_scratch *s)
{
    const kg_mpc_point *vss[MAX_N];
    kg_err err = KG_OK;
    for (unsigned i = 0; i < k->n && err == KG_OK; i++) {
        err = kg_mpc_frost_refresh_deal(k->g, s->deal[i], s->vss[i], (uint16_t)(i + 1), k->t, k->n);
        vss[i] = s->vss[i];
    }
    for (unsigned j = 0; j < k->n && err == KG_OK; j++) {
        for (unsigned i = 0; i < k->n; i++)
            s->in[i] = s->deal[i][j];
        memcpy(s->pubs, k->pub, sizeof(s->pubs));
        uint16_t culprit = 0;
        err = kg_mpc_frost_refresh_apply(&k->share[j], s->pubs, &culprit, vss, s->in, k->n);
        if (err == KG_OK && j == k->n - 1)
            memcpy(k->pub, s->pubs, sizeof(k->pub));
    }
    kg_wipe(s->deal, sizeof(s->deal));
    kg_wipe(s->in, sizeof(s->in));
    return err;
}

/* -------------------------------------------------------------- signing */

static void message_of(uint8_t msg[32], group_keys *k)
{
    uint32_t i = k->counter++;
    uint8_t in[4] = {(uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16), (uint8_t)(i >> 24)};
    kg_crypto_sha256(msg, in, sizeof(in));
}

/* RFC 9591 with the t lowest identifiers. */
static kg_err sign_frost(group_keys *k)
{
    kg_mpc_frost_nonce nonce[MAX_N];
    kg_mpc_frost_commitment com[MAX_N];
    kg_mpc_frost_sig_share z[MAX_N];
    uint8_t msg[32], sig[KG_MPC_FROST_SIG_MAX_BYTES];
    uint16_t culprits[MAX_N];
    size_t sig_len = 0, n_culprits = 0;
    kg_err err = KG_OK;
    message_of(msg, k);
    for (unsigned i = 0; i < k->t && err == KG_OK; i++) {
        err = kg_mpc_frost_commit(&nonce[i], &k->share[i], NULL, NULL);
        com[i] = nonce[i].commitment;
    }
    kg_mpc_frost_signing_package pkg = {.group = k->g, .group_public = k->share[0].group_public, .msg = msg,
                                        .msg_len = sizeof(msg), .commitments = com, .n_commitments = k->t};
    for (unsigned i = 0; i < k->t && err == KG_OK; i++)
        err = kg_mpc_frost_sign(&z[i], &nonce[i], &k->share[i], &pkg);
    if (err == KG_OK)
        err = kg_mpc_frost_aggregate(sig, &sig_len, culprits, &n_culprits, &pkg, z, k->pub);
    kg_wipe(nonce, sizeof(nonce));
    return err;
}

/* BIP 445 with the t lowest identifiers (BIP 445 ids are FROST ids - 1). */
static kg_err sign_tr(group_keys *k)
{
    uint32_t ids[MAX_N];
    uint8_t pubshares[MAX_N][KG_MPC_FROST_TR_PUBSHARE_BYTES];
    uint8_t sec[MAX_N][KG_MPC_FROST_TR_SECNONCE_BYTES], pubn[MAX_N][KG_MPC_FROST_TR_PUBNONCE_BYTES];
    uint8_t psig[MAX_N][KG_MPC_FROST_TR_PSIG_BYTES], agg[KG_MPC_FROST_TR_AGGNONCE_BYTES];
    uint8_t msg[32], sig[KG_MPC_FROST_TR_SIG_BYTES], xonly[KG_MPC_FROST_TR_XONLY_BYTES];
    kg_mpc_frost_tr_blame blame;
    kg_err err = KG_OK;
    message_of(msg, k);
    for (unsigned i = 0; i < k->t; i++) {
        ids[i] = (uint32_t)k->share[i].id - 1;
        memcpy(pubshares[i], k->pub[i].b, KG_MPC_FROST_TR_PUBSHARE_BYTES);
    }
    kg_mpc_frost_tr_signers signers = {k->n, k->t, k->t, ids, (const uint8_t (*)[KG_MPC_FROST_TR_PUBSHARE_BYTES])pubshares, {0}};
    memcpy(signers.thresh_pk, k->share[0].group_public.b, KG_MPC_FROST_TR_PUBKEY_BYTES);
    kg_mpc_frost_tr_session session = {&signers, NULL, 0, NULL, 0, msg, sizeof(msg)};
    for (unsigned i = 0; i < k->t && err == KG_OK; i++)
        err = kg_mpc_frost_tr_nonce_gen(sec[i], pubn[i], k->share[i].secret.b, pubshares[i], NULL, msg, sizeof(msg),
                                        NULL, 0);
    const uint8_t (*pn)[KG_MPC_FROST_TR_PUBNONCE_BYTES] = (const uint8_t (*)[KG_MPC_FROST_TR_PUBNONCE_BYTES])pubn;
    if (err == KG_OK)
        err = kg_mpc_frost_tr_nonce_agg(agg, &blame, pn, k->t);
    for (unsigned i = 0; i < k->t && err == KG_OK; i++)
        err = kg_mpc_frost_tr_sign(psig[i], &blame, sec[i], k->share[i].secret.b, ids[i], &session, agg);
    for (unsigned i = 0; i < k->t && err == KG_OK; i++)
        err = kg_mpc_frost_tr_partial_sig_verify(&blame, psig[i], pn, k->t, &session, i);
    if (err == KG_OK)
        err = kg_mpc_frost_tr_partial_sig_agg(sig, &blame, (const uint8_t (*)[KG_MPC_FROST_TR_PSIG_BYTES])psig, k->t,
                                              &session, agg);
    if (err == KG_OK)
        err = kg_mpc_frost_tr_session_xonly(xonly, &session);
    if (err == KG_OK)
        err = kg_crypto_k1_schnorr_verify(sig, msg, sizeof(msg), xonly);
    kg_wipe(sec, sizeof(sec));
    return err;
}

static kg_err sign_once(group_keys *k, scheme_kind kind)
{
    return kind == SCHEME_TR ? sign_tr(k) : sign_frost(k);
}

/* ------------------------------------------------------------ statistics */

typedef struct {
    double *v;
    size_t n, cap;
} samples;

static int samples_add(samples *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        double *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of the sorted samples. */
static double quantile(const samples *s, double q)
{
    size_t i = (size_t)(q * (double)s->n + 0.999999);
    i = i == 0 ? 0 : i - 1;
    return s->v[i < s->n ? i : s->n - 1];
}

typedef enum { OP_DKG, OP_REFRESH, OP_SIGN } op_kind;
static const char *const OP_NAMES[] = {"dkg", "refresh", "sign"};

typedef struct {
    group_keys keys;
    dkg_scratch dkg;
    refresh_scratch refresh;
    samples s;
} row_ctx;

/* Time op on c for `seconds` (and MIN_RUNS runs); prints one table row. */
static int row(row_ctx *c, const scheme *sc, op_kind op, double seconds)
{
    c->s.n = 0;
    double end = now_s() + seconds;
    while (c->s.n < MIN_RUNS || now_s() < end) {
        double t0 = now_s();
        kg_err err = op == OP_DKG ? dkg_run(&c->keys, &c->dkg)
                     : op == OP_REFRESH ? refresh_run(&c->keys, &c->refresh)
                     : sign_once(&c->keys, sc->kind);
        double dt = now_s() - t0;
        if (err != KG_OK)
            return die(OP_NAMES[op], err);
        if (samples_add(&c->s, dt * 1e3) != 0)
            return die("samples", KG_ERR_NOMEM);
    }
    qsort(c->s.v, c->s.n, sizeof(double), cmp_double);
    char size[16];
    snprintf(size, sizeof(size), "%u-of-%u", c->keys.t, c->keys.n);
    printf("| %-18s | %-7s | %-7s | %9.3f | %9.3f | %6zu |\n", sc->name, size, OP_NAMES[op], quantile(&c->s, 0.5),
           quantile(&c->s, 0.9), c->s.n);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------ throughput */

typedef struct {
    group_keys keys;
    scheme_kind kind;
    double end;
    unsigned long count;
    kg_err err;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    while (now_s() < w->end) {
        if ((w->err = sign_once(&w->keys, w->kind)) != KG_OK)
            break;
        w->count++;
    }
    return NULL;
}

/* 2-of-3 signatures per second with `threads` threads signing independently. */
static int throughput(const group_keys *k, const scheme *sc, unsigned threads, double seconds)
{
    worker *w = calloc(threads, sizeof(*w));
    pthread_t *tid = calloc(threads, sizeof(*tid));
    if (w == NULL || tid == NULL) {
        free(w), free(tid);
        return die("threads", KG_ERR_NOMEM);
    }
    double t0 = now_s();
    unsigned started = 0;
    for (unsigned i = 0; i < threads; i++) {
        w[i].keys = *k;
        w[i].kind = sc->kind;
        w[i].end = t0 + seconds;
        if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0)
            break;
        started++;
    }
    unsigned long total = 0;
    kg_err err = started == threads ? KG_OK : KG_ERR_INTERNAL;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        total += w[i].count;
        if (w[i].err != KG_OK)
            err = w[i].err;
        kg_wipe(&w[i].keys, sizeof(w[i].keys));
    }
    double dt = now_s() - t0;
    free(w), free(tid);
    if (err != KG_OK)
        return die("throughput", err);
    printf("| %-18s | %7u | %10.0f | %8lu |\n", sc->name, threads, (double)total / dt, total);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------ main */

static int parse_args(double *seconds, unsigned *threads, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            *seconds = strtod(argv[++i], &end);
            if (*end != '\0' || !(*seconds > 0 && *seconds <= 600))
                return -1;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > 256)
                return -1;
            *threads = (unsigned)v;
        } else {
            return -1;
        }
    }
    return 0;
}

static int run_scheme(row_ctx *c, const scheme *sc, double seconds, group_keys *k23)
{
    for (size_t z = 0; z < sizeof(SIZES) / sizeof(SIZES[0]); z++) {
        memset(&c->keys, 0, sizeof(c->keys));
        c->keys.g = sc->g, c->keys.t = SIZES[z][0], c->keys.n = SIZES[z][1];
        /* the rows in order: the DKG leaves a key, refresh changes its
         * shares, and signing then proves the refreshed shares work */
        if (row(c, sc, OP_DKG, seconds) || row(c, sc, OP_REFRESH, seconds) || row(c, sc, OP_SIGN, seconds))
            return 1;
        if (z == 0)
            *k23 = c->keys;
    }
    kg_wipe(&c->keys, sizeof(c->keys));
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    unsigned threads = 4;
    if (parse_args(&seconds, &threads, argc, argv) != 0) {
        fprintf(stderr, "usage: %s [--seconds S (0, 600]] [--threads N (1..256)]\n", argv[0]);
        return 2;
    }
    row_ctx *c = calloc(1, sizeof(*c));
    group_keys *k23 = calloc(sizeof(SCHEMES) / sizeof(SCHEMES[0]), sizeof(*k23));
    if (c == NULL || k23 == NULL)
        return die("setup", KG_ERR_NOMEM);
    bench_print_machine();
    printf("in-process FROST, %.1f s per row (at least %d runs), times in ms\n\n", seconds, MIN_RUNS);
    printf("| scheme             | group   | op      | median ms |   p90 ms |   runs |\n");
    printf("|--------------------|---------|---------|-----------|----------|--------|\n");
    int rc = 0;
    for (size_t i = 0; i < sizeof(SCHEMES) / sizeof(SCHEMES[0]) && rc == 0; i++)
        rc = run_scheme(c, &SCHEMES[i], seconds, &k23[i]);
    if (rc == 0) {
        printf("\n2-of-3 signing throughput, independent sessions per thread\n\n");
        printf("| scheme             | threads |    sigs/s  |  signed  |\n");
        printf("|--------------------|---------|------------|----------|\n");
    }
    for (size_t i = 0; i < sizeof(SCHEMES) / sizeof(SCHEMES[0]) && rc == 0; i++) {
        rc = throughput(&k23[i], &SCHEMES[i], 1, seconds);
        if (rc == 0 && threads > 1)
            rc = throughput(&k23[i], &SCHEMES[i], threads, seconds);
    }
    kg_wipe(k23, sizeof(SCHEMES) / sizeof(SCHEMES[0]) * sizeof(*k23));
    free(k23);
    free(c->s.v);
    kg_wipe(c, sizeof(*c));
    free(c);
    return rc;
}
