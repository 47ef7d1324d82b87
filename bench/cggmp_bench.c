/* bench_cggmp_bench: where the time of CGGMP21 threshold ECDSA goes, every
 * party in this one process (no network): the cryptographic floor of the
 * networked flow, per party and per round.
 *
 *   bench_cggmp_bench [--iters N] [--primes N] [--bits 2048|3072|all]
 *                     [--sizes 23|35|all] [--no-aux] [--prep]
 *
 * Defaults: 3 presign/sign iterations per configuration, 2 safe primes of
 * each size, both modulus sizes, 2-of-3 and 3-of-5.
 *
 *  1. Safe-prime generation (BN_generate_prime_ex2 with safe = 1, the
 *     pool's work): N primes of 1024 and 1536 bits, mean, min, max and
 *     standard deviation. --primes 0 skips it.
 *  2. For each size (t-of-n) and modulus (2048 bits from two 1024-bit
 *     fixture safe primes, 3072 from 1536-bit ones): keygen (4 rounds),
 *     aux info (4 rounds: Πmod, Πprm, Πfac; once per configuration: it
 *     takes seconds), presign (4 rounds) by the t lowest ids, sign share
 *     and combine. Each row is the mean milliseconds ONE party spends in
 *     that round (sum over parties and iterations / count), with min and
 *     max over the party-runs. Presign and sign are repeated --iters times
 *     with fresh sessions.
 *  3. When the library was built with -DKG_CGGMP_COUNT, the modular
 *     exponentiations one party does per round, by modulus size (bits
 *     rounded up to 256) and kind (pub: public exponent, ct: constant
 *     time), as "bits:pub/ct".
 *
 *  4. --prep: each party first makes a presign precomputation
 *     (kg_mpc_cggmp_presign_prep_new, the work a node does in idle time;
 *     row "prep (ahead)") and presigns from it (kg_mpc_cggmp_presign_new_
 *     prep): the presign rows are then the critical-path work.
 *
 * Fixture primes: tests/mpc/fixtures/safe_primes_{1024,1536}.txt (party i
 * gets lines 2i and 2i+1). Run from the source tree or set KG_SOURCE_DIR.
 * Prints the machine first. Exit status 0, or 1 when an operation fails. */
#include "bench_machine.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "../src/mpc/cggmp_zk.h"

#define MAXN 5
#define MAX_ROUNDS 4

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, kg_err err)
{
    fprintf(stderr, "bench_cggmp_bench: %s: %s (%s)\n", what, kg_err_str(err),
            kg_err_detail(err) != NULL ? kg_err_detail(err) : "");
    return 1;
}

/* ------------------------------------------------------------ statistics */

typedef struct {
    double sum, sum2, min, max;
    unsigned long n;
    unsigned long exps[KG_MPC_BN_COUNT_SLOTS][2]; /* summed over the runs */
} stat;

static void stat_add(stat *s, double ms)
{
    if (s->n == 0 || ms < s->min) s->min = ms;
    if (s->n == 0 || ms > s->max) s->max = ms;
    s->sum += ms;
    s->sum2 += ms * ms;
    s->n++;
}

static double stat_mean(const stat *s)
{
    return s->n ? s->sum / (double)s->n : 0;
}

/* Newton's square root (benches link without libm). */
static double root(double v)
{
    double x = v > 1 ? v : 1;
    for (int i = 0; i < 64; i++) x = 0.5 * (x + v / x);
    return x;
}

static double stat_sd(const stat *s)
{
    if (s->n < 2) return 0;
    double m = stat_mean(s), v = (s->sum2 - (double)s->n * m * m) / (double)(s->n - 1);
    return v > 0 ? root(v) : 0;
}

static bool counting;
static bool use_prep; /* --prep */

/* Time one party-run of a step; counts the exponentiations it did. */
typedef struct {
    double t0;
    unsigned long c0[KG_MPC_BN_COUNT_SLOTS][2];
} probe;

static void probe_start(probe *p)
{
    if (counting) kg_mpc_bn_count_get(p->c0);
    p->t0 = now_s();
}

static void probe_stop(probe *p, stat *s)
{
    double ms = (now_s() - p->t0) * 1e3;
    stat_add(s, ms);
    if (!counting) return;
    unsigned long c1[KG_MPC_BN_COUNT_SLOTS][2];
    kg_mpc_bn_count_get(c1);
    for (int b = 0; b < KG_MPC_BN_COUNT_SLOTS; b++)
        for (int k = 0; k < 2; k++) s->exps[b][k] += c1[b][k] - p->c0[b][k];
}

static void row(const char *cfg, const char *op, const stat *s)
{
    char ex[256] = "";
    if (counting) {
        size_t o = 0;
        for (int b = 0; b < KG_MPC_BN_COUNT_SLOTS && o < sizeof(ex) - 32; b++) {
            double pub = (double)s->exps[b][0] / (double)s->n, ct = (double)s->exps[b][1] / (double)s->n;
            if (pub > 0 || ct > 0)
                o += (size_t)snprintf(ex + o, sizeof(ex) - o, "%s%d:%.0f/%.0f", o ? " " : "", b * 256, pub, ct);
        }
    }
    printf("| %-14s | %-18s | %10.2f | %9.2f | %9.2f | %4lu | %s\n", cfg, op, stat_mean(s), s->min, s->max, s->n,
           ex);
    fflush(stdout);
}

/* ------------------------------------------------------------ safe primes */

static int bench_primes(unsigned count)
{
    static const int sizes[] = {1024, 1536};
    printf("\nsafe-prime generation (BN_generate_prime_ex2, safe=1), %u each:\n", count);
    printf("| bits | mean s  | sd s    | min s   | max s   |\n");
    for (size_t z = 0; z < 2; z++) {
        stat s = {0};
        for (unsigned i = 0; i < count; i++) {
            BIGNUM *p = BN_new();
            BN_CTX *ctx = BN_CTX_new();
            double t0 = now_s();
            int ok = p && ctx && BN_generate_prime_ex2(p, sizes[z], 1, NULL, NULL, NULL, ctx);
            double dt = now_s() - t0;
            BN_free(p);
            BN_CTX_free(ctx);
            if (!ok) return die("safe prime", KG_ERR_CRYPTO);
            stat_add(&s, dt);
            fprintf(stderr, "  %d-bit safe prime %u: %.1f s\n", sizes[z], i + 1, dt);
        }
        printf("| %4d | %7.2f | %7.2f | %7.2f | %7.2f |\n", sizes[z], stat_mean(&s), stat_sd(&s), s.min, s.max);
        fflush(stdout);
    }
    return 0;
}

/* ------------------------------------------------------- message routing */

typedef struct {
    kg_mpc_cggmp_msg *m;
    size_t n;
} list;

static void lists_free(list *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kg_mpc_cggmp_msgs_free(l[i].m, l[i].n);
        l[i].m = NULL;
        l[i].n = 0;
    }
}

/* What party id receives from out[0..n-1] (borrowed bodies). */
static size_t inbox(const list *out, size_t n, uint16_t id, kg_mpc_cggmp_msg *in)
{
    size_t k = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t m = 0; m < out[j].n; m++)
            if (out[j].m[m].from != id && (out[j].m[m].to == 0 || out[j].m[m].to == id)) in[k++] = out[j].m[m];
    return k;
}

/* ------------------------------------------------------------ the phases */

typedef struct {
    unsigned t, n, bits;
    char name[32];
    kg_mpc_cggmp_share share[MAXN];
    kg_mpc_cggmp_aux *aux[MAXN];
    stat kg[MAX_ROUNDS], ax[MAX_ROUNDS], ps[MAX_ROUNDS], sign, combine, presign_total, prep;
    unsigned session;
} config;

static void session_of(config *c, uint8_t out[32], const char *phase)
{
    char s[64];
    snprintf(s, sizeof(s), "%s/%s/%u", c->name, phase, c->session++);
    kg_crypto_sha256(out, (const uint8_t *)s, strlen(s));
}

static int run_keygen(config *c)
{
    kg_mpc_cggmp_keygen *st[MAXN] = {0};
    list out[MAXN] = {0}, next[MAXN] = {0};
    kg_mpc_cggmp_msg in[4 * MAXN];
    uint16_t ids[MAXN], culprit = 0;
    uint8_t sess[32];
    kg_err err = KG_OK;
    for (unsigned i = 0; i < c->n; i++) ids[i] = (uint16_t)(i + 1);
    session_of(c, sess, "keygen");
    for (unsigned i = 0; i < c->n && !err; i++) {
        probe p;
        probe_start(&p);
        err = kg_mpc_cggmp_keygen_new(&st[i], KG_MPC_GROUP_SECP256K1, ids[i], (uint16_t)c->t, ids, c->n, sess,
                                      sizeof(sess));
        if (!err) err = kg_mpc_cggmp_keygen_round1(st[i], &out[i].m, &out[i].n);
        probe_stop(&p, &c->kg[0]);
    }
    for (int r = 2; r <= 4 && !err; r++) {
        for (unsigned i = 0; i < c->n && !err; i++) {
            size_t k = inbox(out, c->n, ids[i], in);
            probe p;
            probe_start(&p);
            if (r == 2) err = kg_mpc_cggmp_keygen_round2(st[i], in, k, &next[i].m, &next[i].n, &culprit);
            if (r == 3) err = kg_mpc_cggmp_keygen_round3(st[i], in, k, &next[i].m, &next[i].n, &culprit);
            if (r == 4) err = kg_mpc_cggmp_keygen_finish(st[i], in, k, &c->share[i], &culprit);
            probe_stop(&p, &c->kg[r - 1]);
        }
        lists_free(out, c->n);
        memcpy(out, next, sizeof(out));
        memset(next, 0, sizeof(next));
    }
    lists_free(out, c->n);
    lists_free(next, c->n);
    for (unsigned i = 0; i < c->n; i++) kg_mpc_cggmp_keygen_free(st[i]);
    return err ? die("keygen", err) : 0;
}

static BIGNUM *fixture_prime(unsigned bits, unsigned line)
{
    const char *dir = getenv("KG_SOURCE_DIR");
    char path[1024], buf[2048];
    snprintf(path, sizeof(path), "%s/tests/mpc/fixtures/safe_primes_%u.txt", dir ? dir : ".", bits);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    BIGNUM *p = NULL;
    for (unsigned k = 0; fgets(buf, sizeof(buf), f); k++) {
        if (k != line) continue;
        buf[strcspn(buf, "\r\n")] = 0;
        if (BN_hex2bn(&p, buf) == 0) p = NULL;
        break;
    }
    fclose(f);
    if (p) BN_set_flags(p, BN_FLG_CONSTTIME);
    return p;
}

static int run_aux(config *c)
{
    kg_mpc_cggmp_aux_run *st[MAXN] = {0};
    list out[MAXN] = {0}, next[MAXN] = {0};
    kg_mpc_cggmp_msg in[4 * MAXN];
    uint16_t culprit = 0;
    uint8_t sess[32];
    kg_err err = KG_OK;
    session_of(c, sess, "aux");
    for (unsigned i = 0; i < c->n && !err; i++) {
        BIGNUM *p = fixture_prime(c->bits / 2, 2 * i), *q = fixture_prime(c->bits / 2, 2 * i + 1);
        if (!p || !q) {
            fprintf(stderr, "bench_cggmp_bench: fixture primes missing (run from the source tree or set "
                            "KG_SOURCE_DIR)\n");
            BN_clear_free(p);
            BN_clear_free(q);
            err = KG_ERR_IO;
            break;
        }
        probe pr;
        probe_start(&pr);
        err = kg_mpc_cggmp_aux_run_new(&st[i], &c->share[i], p, q, false, sess, sizeof(sess));
        if (!err) err = kg_mpc_cggmp_aux_run_round1(st[i], &out[i].m, &out[i].n);
        probe_stop(&pr, &c->ax[0]);
        BN_clear_free(p);
        BN_clear_free(q);
    }
    for (int r = 2; r <= 4 && !err; r++) {
        for (unsigned i = 0; i < c->n && !err; i++) {
            size_t k = inbox(out, c->n, c->share[i].id, in);
            probe p;
            probe_start(&p);
            if (r == 2) err = kg_mpc_cggmp_aux_run_round2(st[i], in, k, &next[i].m, &next[i].n, &culprit);
            if (r == 3) err = kg_mpc_cggmp_aux_run_round3(st[i], in, k, &next[i].m, &next[i].n, &culprit);
            if (r == 4) err = kg_mpc_cggmp_aux_run_finish(st[i], in, k, &c->aux[i], NULL, &culprit);
            probe_stop(&p, &c->ax[r - 1]);
        }
        lists_free(out, c->n);
        memcpy(out, next, sizeof(out));
        memset(next, 0, sizeof(next));
    }
    lists_free(out, c->n);
    lists_free(next, c->n);
    for (unsigned i = 0; i < c->n; i++) kg_mpc_cggmp_aux_run_free(st[i]);
    return err ? die("aux", err) : 0;
}

/* Aux info from the trusted dealer (--no-aux: presign figures only). */
static int deal_aux(config *c)
{
    BIGNUM *pr[2 * MAXN] = {0};
    uint16_t ids[MAXN];
    kg_err err = KG_OK;
    for (unsigned i = 0; i < c->n; i++) ids[i] = (uint16_t)(i + 1);
    for (unsigned i = 0; i < 2 * c->n; i++)
        if (!(pr[i] = fixture_prime(c->bits / 2, i))) err = KG_ERR_IO;
    if (!err) err = kg_mpc_cggmp_aux_dealer(c->aux, ids, c->n, pr);
    for (unsigned i = 0; i < 2 * c->n; i++) BN_clear_free(pr[i]);
    return err ? die("aux dealer (fixture primes missing? set KG_SOURCE_DIR)", err) : 0;
}

/* One presignature by parties 1..t, then one signature from it. */
static int run_presign_sign(config *c)
{
    unsigned ns = c->t;
    kg_mpc_cggmp_presign *st[MAXN] = {0};
    kg_mpc_cggmp_presig *ps[MAXN] = {0};
    list out[MAXN] = {0}, next[MAXN] = {0};
    kg_mpc_cggmp_msg in[4 * MAXN];
    uint16_t signers[MAXN], culprit = 0;
    uint8_t sess[32], digest[32];
    double party_total[MAXN] = {0};
    kg_err err = KG_OK;
    kg_mpc_cggmp_presign_prep *pp[MAXN] = {0};
    for (unsigned i = 0; i < ns; i++) signers[i] = (uint16_t)(i + 1);
    session_of(c, sess, "presign");
    for (unsigned i = 0; i < ns && !err && use_prep; i++) { /* ahead of time: not in the presign rows */
        probe p;
        probe_start(&p);
        err = kg_mpc_cggmp_presign_prep_new(&pp[i], &c->share[i], c->aux[i], signers, ns);
        probe_stop(&p, &c->prep);
    }
    for (unsigned i = 0; i < ns && !err; i++) {
        probe p;
        probe_start(&p);
        err = use_prep ? kg_mpc_cggmp_presign_new_prep(&st[i], &c->share[i], c->aux[i], signers, ns, sess,
                                                       sizeof(sess), pp[i])
                       : kg_mpc_cggmp_presign_new(&st[i], &c->share[i], c->aux[i], signers, ns, sess, sizeof(sess));
        if (!err) err = kg_mpc_cggmp_presign_round1(st[i], &out[i].m, &out[i].n);
        probe_stop(&p, &c->ps[0]);
        party_total[i] += (now_s() - p.t0) * 1e3;
    }
    for (int r = 2; r <= 4 && !err; r++) {
        for (unsigned i = 0; i < ns && !err; i++) {
            size_t k = inbox(out, ns, signers[i], in);
            probe p;
            probe_start(&p);
            if (r == 2) err = kg_mpc_cggmp_presign_round2(st[i], in, k, &next[i].m, &next[i].n, &culprit);
            if (r == 3) err = kg_mpc_cggmp_presign_round3(st[i], in, k, &next[i].m, &next[i].n, &culprit);
            if (r == 4) err = kg_mpc_cggmp_presign_finish(st[i], in, k, &ps[i], &culprit);
            probe_stop(&p, &c->ps[r - 1]);
            party_total[i] += (now_s() - p.t0) * 1e3;
        }
        lists_free(out, ns);
        memcpy(out, next, sizeof(out));
        memset(next, 0, sizeof(next));
    }
    lists_free(out, ns);
    lists_free(next, ns);
    for (unsigned i = 0; i < ns; i++) {
        kg_mpc_cggmp_presign_free(st[i]);
        kg_mpc_cggmp_presign_prep_free(pp[i]);
        if (!err) stat_add(&c->presign_total, party_total[i]);
    }
    session_of(c, digest, "message");
    kg_mpc_scalar sig_shares[MAXN];
    for (unsigned i = 0; i < ns && !err; i++) {
        probe p;
        probe_start(&p);
        err = kg_mpc_cggmp_sign_share(ps[i], digest, NULL, &sig_shares[i]);
        probe_stop(&p, &c->sign);
    }
    if (!err) {
        uint8_t sig[KG_CGGMP_SIG_BYTES];
        int recid = 0;
        probe p;
        probe_start(&p);
        err = kg_mpc_cggmp_sign_combine(KG_MPC_GROUP_SECP256K1, kg_mpc_cggmp_presig_R(ps[0]), &c->share[0].pub,
                                        digest, sig_shares, ns, sig, &recid);
        probe_stop(&p, &c->combine);
    }
    kg_wipe(sig_shares, sizeof(sig_shares));
    for (unsigned i = 0; i < ns; i++) kg_mpc_cggmp_presig_free(ps[i]);
    return err ? die("presign/sign", err) : 0;
}

static void config_free(config *c)
{
    for (unsigned i = 0; i < c->n; i++) kg_mpc_cggmp_aux_free(c->aux[i]);
    kg_wipe(c->share, sizeof(c->share));
}

static int run_config(config *c, unsigned iters, bool aux)
{
    static const char *const kg_names[] = {"keygen r1", "keygen r2", "keygen r3", "keygen finish"};
    static const char *const ax_names[] = {"aux r1", "aux r2", "aux r3", "aux finish"};
    static const char *const ps_names[] = {"presign r1", "presign r2", "presign r3", "presign finish"};
    snprintf(c->name, sizeof(c->name), "%u-of-%u/%u", c->t, c->n, c->bits);
    int rc = run_keygen(c);
    if (!rc) rc = aux ? run_aux(c) : deal_aux(c);
    for (unsigned it = 0; it < iters && !rc; it++) rc = run_presign_sign(c);
    if (!rc) {
        for (int r = 0; r < MAX_ROUNDS; r++) row(c->name, kg_names[r], &c->kg[r]);
        for (int r = 0; aux && r < MAX_ROUNDS; r++) row(c->name, ax_names[r], &c->ax[r]);
        for (int r = 0; r < MAX_ROUNDS; r++) row(c->name, ps_names[r], &c->ps[r]);
        stat all = c->presign_total;
        memset(all.exps, 0, sizeof(all.exps));
        for (int r = 0; r < MAX_ROUNDS; r++)
            for (int b = 0; b < KG_MPC_BN_COUNT_SLOTS; b++)
                for (int k = 0; k < 2; k++) all.exps[b][k] += c->ps[r].exps[b][k];
        row(c->name, "presign (1 party)", &all);
        if (use_prep) row(c->name, "prep (ahead)", &c->prep);
        row(c->name, "sign share", &c->sign);
        row(c->name, "combine", &c->combine);
    }
    config_free(c);
    return rc;
}

/* ------------------------------------------------------------------ main */

typedef struct {
    unsigned iters, primes;
    bool bits2048, bits3072, s23, s35, aux;
} opts;

static int parse_args(opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--no-aux") == 0) {
            o->aux = false;
            continue;
        }
        if (strcmp(a, "--prep") == 0) {
            use_prep = true;
            continue;
        }
        if (!v) return -1;
        i++;
        if (strcmp(a, "--iters") == 0 || strcmp(a, "--primes") == 0) {
            unsigned long n = strtoul(v, &end, 10);
            if (*end || n > 1000 || (n == 0 && a[2] == 'i')) return -1;
            *(a[2] == 'i' ? &o->iters : &o->primes) = (unsigned)n;
        } else if (strcmp(a, "--bits") == 0) {
            o->bits2048 = strcmp(v, "2048") == 0 || strcmp(v, "all") == 0;
            o->bits3072 = strcmp(v, "3072") == 0 || strcmp(v, "all") == 0;
            if (!o->bits2048 && !o->bits3072) return -1;
        } else if (strcmp(a, "--sizes") == 0) {
            o->s23 = strcmp(v, "23") == 0 || strcmp(v, "all") == 0;
            o->s35 = strcmp(v, "35") == 0 || strcmp(v, "all") == 0;
            if (!o->s23 && !o->s35) return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    opts o = {3, 2, true, true, true, true, true};
    if (parse_args(&o, argc, argv) != 0) {
        fprintf(stderr, "usage: bench_cggmp_bench [--iters N] [--primes N] [--bits 2048|3072|all] "
                        "[--sizes 23|35|all] [--no-aux] [--prep]\n");
        return 2;
    }
    if (kg_crypto_init() != KG_OK) return die("crypto init", KG_ERR_CRYPTO);
    bench_print_machine();
    unsigned long probe_counts[KG_MPC_BN_COUNT_SLOTS][2];
    counting = kg_mpc_bn_count_get(probe_counts);
    printf("exponentiation counts: %s\n", counting ? "on (KG_CGGMP_COUNT)" : "off");
    if (o.primes && bench_primes(o.primes)) return 1;
    printf("\nper party, milliseconds (secp256k1; %u presign/sign iterations; aux %s; precomputation %s):\n",
           o.iters, o.aux ? "run once" : "from the dealer", use_prep ? "on" : "off");
    printf("| config         | step               |  mean ms   |  min ms   |  max ms   | runs | exps bits:pub/ct\n");
    static const unsigned sizes[][2] = {{2, 3}, {3, 5}};
    static const unsigned bits[] = {2048, 3072};
    for (size_t b = 0; b < 2; b++) {
        if ((b == 0 && !o.bits2048) || (b == 1 && !o.bits3072)) continue;
        for (size_t z = 0; z < 2; z++) {
            if ((z == 0 && !o.s23) || (z == 1 && !o.s35)) continue;
            config *c = calloc(1, sizeof(*c));
            if (!c) return die("config", KG_ERR_NOMEM);
            c->t = sizes[z][0], c->n = sizes[z][1], c->bits = bits[b];
            int rc = run_config(c, o.iters, o.aux);
            free(c);
            if (rc) return rc;
        }
    }
    return 0;
}
