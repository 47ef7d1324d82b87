/* bench_mpc_net_bench: FROST signing across processes -- the latency and
 * throughput of threshold signatures when the parties are `kashguard
 * mpc-node` processes on this machine and this process is the coordinator
 * (docs/mpc.md "Running nodes", "Signing performance").
 *
 *   bench_mpc_net_bench [--kashguard PATH] [--sigs N] [--seconds S] [--epochs E]
 *       defaults: the kashguard binary next to this one, 50 signatures per
 *       latency row, 2 seconds per throughput row, 5 runs per epoch row
 *
 * It makes a private CA in a temporary directory, enrols ten nodes, starts
 * ten `kashguard mpc-node` processes on free loopback ports and, for
 * frost-ed25519 2-of-3 (nodes 1-3), 3-of-5 (1-5) and 7-of-10 (1-10), times
 * as median and p90 milliseconds:
 *
 *   keygen       kg_mpc_coordinator_keygen: the networked DKG (one run)
 *   sign-cold    a first signature: a new coordinator object each time
 *                (TLS context, t handshakes, both rounds, aggregation)
 *   sign-pooled  kg_mpc_coordinator_sign in a loop on one coordinator:
 *                pooled connections, both rounds fanned out in parallel
 *   sign-warm    the same with preprocessed commitments cached (one round
 *                trip; each node stores and consumes its nonces durably)
 *   C=1/4/16     C threads signing at once on one coordinator (pooled,
 *                preprocessing on with background refill) for S seconds:
 *                the "runs" column is sigs/s, median/p90 are per signature
 *   refresh      kg_mpc_coordinator_refresh: proactive refresh of every
 *                share (new epoch, two-phase commit on every holder)
 *   reshare      kg_mpc_coordinator_reshare to the same holders and t
 *   repair       kg_mpc_coordinator_repair of the first holder's share by
 *                t helpers
 *                (E runs each; after every run a signature is made and
 *                checked, untimed, so each epoch is proven usable)
 *
 * Every signature is checked (Ed25519 ones with libsodium too). It prints
 * the machine line first; the figures go into docs/benchmarks.md.
 * Exit status: 0, or 1 on any failure (node logs are printed). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "bench_machine.h"
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/node.h"

extern char **environ;

#define N_NODES 10
#define MAX_SIGS 10000
#define MAX_THREADS 16

typedef struct {
    char kg[4096];
    char dir[256];
    pid_t pid[N_NODES + 1];
    kg_mpc_coord_node node[N_NODES];
    kg_mpc_coordinator *co;
    double *v;
    size_t epochs; /* runs per refresh/reshare/repair row */
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, kg_err err)
{
    fprintf(stderr, "bench_mpc_net_bench: %s: %s (%s)\n", what, kg_err_str(err),
            kg_err_detail(err) != NULL ? kg_err_detail(err) : "");
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const double *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n + 0.999999);
    i = i == 0 ? 0 : i - 1;
    return v[i < n ? i : n - 1];
}

static void print_row(const char *scheme, const char *group, const char *op, double *v, size_t n)
{
    qsort(v, n, sizeof(double), cmp_double);
    printf("| %-13s | %-7s | %-12s | %9.3f | %9.3f | %7zu |\n", scheme, group, op, quantile(v, n, 0.5),
           quantile(v, n, 0.9), n);
    fflush(stdout);
}

/* -------------------------------------------------------------- processes */

/* Spawn argv with stdout and stderr appended to log (or /dev/null). */
static pid_t spawn(char *const *argv, const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    const char *out = log != NULL ? log : "/dev/null";
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0600) == 0 &&
        posix_spawn_file_actions_addopen(&fa, 2, out, O_WRONLY | O_CREAT | O_APPEND, 0600) == 0 &&
        posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int log_has(const char *path, const char *needle)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static int node_start(bench *b, int id)
{
    char data[512], ca[512], cert[600], key[600], listen[64], ids[16], log[512];
    snprintf(data, sizeof(data), "%s/node%d", b->dir, id);
    snprintf(ca, sizeof(ca), "%s/ca/ca.pem", b->dir);
    snprintf(cert, sizeof(cert), "%s/node.pem", data);
    snprintf(key, sizeof(key), "%s/node.key", data);
    snprintf(log, sizeof(log), "%s/node%d.log", b->dir, id);
    snprintf(ids, sizeof(ids), "%d", id);
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = free_port();
        if (port < 0)
            continue;
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        char *argv[] = {b->kg, "mpc-node", "--data", data, "--listen", listen, "--ca", ca, "--cert", cert,
                        "--key", key, "--id", ids, NULL};
        b->pid[id] = spawn(argv, log);
        for (int i = 0; b->pid[id] > 0 && i < 200; i++) {
            int st;
            if (waitpid(b->pid[id], &st, WNOHANG) == b->pid[id]) {
                b->pid[id] = 0;
                break;
            }
            if (log_has(log, "listening")) {
                b->node[id - 1].id = (uint16_t)id;
                snprintf(b->node[id - 1].addr, sizeof(b->node[id - 1].addr), "%s", listen);
                return 0;
            }
            usleep(50000);
        }
        if (b->pid[id] > 0) {
            kill(b->pid[id], SIGKILL);
            waitpid(b->pid[id], NULL, 0);
            b->pid[id] = 0;
        }
    }
    fprintf(stderr, "bench_mpc_net_bench: node %d did not start (log: %s)\n", id, log);
    return 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void teardown(bench *b)
{
    for (int id = 1; id <= N_NODES; id++)
        if (b->pid[id] > 0) {
            kill(b->pid[id], SIGTERM);
            waitpid(b->pid[id], NULL, 0);
        }
    if (b->dir[0] != '\0')
        nftw(b->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    kg_mpc_coordinator_free(b->co);
    b->co = NULL;
}

/* ------------------------------------------------------------------ rows */

static int check_sig(kg_mpc_group_id g, const uint8_t *sig, size_t sig_len, const uint8_t *pub,
                     const uint8_t *msg, size_t msg_len)
{
    if (g == KG_MPC_GROUP_ED25519)
        return sig_len == 64 && kg_crypto_ed25519_verify(sig, pub, msg, msg_len) == KG_OK ? 0 : -1;
    kg_mpc_point pk;
    if (kg_mpc_point_deserialize(g, &pk, pub, kg_mpc_group_point_len(g)) != KG_OK)
        return -1;
    return kg_mpc_frost_verify(g, sig, sig_len, &pk, msg, msg_len) == KG_OK ? 0 : -1;
}

/* A new coordinator over the running nodes. */
static kg_err co_new(bench *b, kg_mpc_coordinator **co)
{
    char ca_dir[512];
    snprintf(ca_dir, sizeof(ca_dir), "%s/ca", b->dir);
    kg_err err = kg_mpc_coordinator_new(co, ca_dir);
    for (int i = 0; i < N_NODES && err == KG_OK; i++)
        err = kg_mpc_coordinator_set_node(*co, b->node[i].id, b->node[i].addr);
    return err;
}

static kg_err sign_one(kg_mpc_coordinator *co, const kg_mpc_key *k, const uint8_t *pub, uint64_t i, double *ms)
{
    uint8_t msg[32], sig[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sig_len = 0;
    kg_crypto_sha256(msg, (const uint8_t *)&i, sizeof(i));
    double t0 = now_s();
    kg_err err = kg_mpc_coordinator_sign(co, sig, &sig_len, k, msg, sizeof(msg), NULL);
    *ms = (now_s() - t0) * 1e3;
    if (err == KG_OK && check_sig(k->g, sig, sig_len, pub, msg, sizeof(msg)) != 0)
        err = kg_err_set(KG_ERR_VERIFY, "the signature does not verify");
    return err;
}

typedef struct {
    kg_mpc_coordinator *co;
    const kg_mpc_key *k;
    const uint8_t *pub;
    double until;
    uint64_t base;
    double *v;
    size_t n, cap;
    kg_err err;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    while (w->err == KG_OK && now_s() < w->until) {
        double ms = 0;
        w->err = sign_one(w->co, w->k, w->pub, w->base + w->n, &ms);
        if (w->n < w->cap)
            w->v[w->n] = ms;
        w->n++;
    }
    return NULL;
}

/* C threads signing at once for `seconds`. */
static int row_concurrent(bench *b, const kg_mpc_key *k, const uint8_t *pub, const char *grp, unsigned threads,
                          double seconds)
{
    worker w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    size_t per = MAX_SIGS / MAX_THREADS;
    double t0 = now_s();
    for (unsigned i = 0; i < threads; i++) {
        w[i] = (worker){.co = b->co, .k = k, .pub = pub, .until = t0 + seconds, .base = (uint64_t)(i + 1) << 40,
                        .v = b->v + i * per, .cap = per};
        if (pthread_create(&th[i], NULL, work, &w[i]) != 0)
            return fail("pthread_create", KG_ERR_INTERNAL);
    }
    size_t total = 0, kept = 0;
    kg_err err = KG_OK;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += w[i].n;
        if (w[i].err != KG_OK)
            err = w[i].err;
    }
    double el = now_s() - t0;
    if (err != KG_OK)
        return fail("concurrent kg_mpc_coordinator_sign", err);
    static double all[MAX_SIGS];
    for (unsigned i = 0; i < threads; i++)
        for (size_t j = 0; j < w[i].n && j < w[i].cap; j++)
            all[kept++] = w[i].v[j];
    char op[32];
    snprintf(op, sizeof(op), "C=%u sigs/s", threads);
    qsort(all, kept, sizeof(double), cmp_double);
    printf("| %-13s | %-7s | %-12s | %9.3f | %9.3f | %7.1f |\n", kg_mpc_frost_scheme_name(k->g), grp, op,
           quantile(all, kept, 0.5), quantile(all, kept, 0.9), (double)total / el);
    fflush(stdout);
    return 0;
}

static int rows_sign(bench *b, const kg_mpc_key *k, const uint8_t *pub, const char *grp, size_t sigs,
                     double seconds)
{
    const char *name = kg_mpc_frost_scheme_name(k->g);
    kg_err err = KG_OK;
    for (size_t i = 0; i < sigs && err == KG_OK; i++) {
        kg_mpc_coordinator *co = NULL;
        double t0 = now_s(), ms = 0;
        err = co_new(b, &co);
        if (err == KG_OK)
            err = sign_one(co, k, pub, i, &ms);
        kg_mpc_coordinator_free(co);
        b->v[i] = (now_s() - t0) * 1e3;
    }
    if (err != KG_OK)
        return fail("sign-cold", err);
    print_row(name, grp, "sign-cold", b->v, sigs);
    for (size_t i = 0; i < sigs && err == KG_OK; i++)
        err = sign_one(b->co, k, pub, 1000 + i, &b->v[i]);
    if (err != KG_OK)
        return fail("sign-pooled", err);
    print_row(name, grp, "sign-pooled", b->v, sigs);
    for (size_t left = sigs + 1; left > 0 && err == KG_OK;) {
        unsigned n = left > 100 ? 100 : (unsigned)left;
        err = kg_mpc_coordinator_preprocess(b->co, k, n);
        left -= n;
    }
    for (size_t i = 0; i < sigs && err == KG_OK; i++)
        err = sign_one(b->co, k, pub, 2000 + i, &b->v[i]);
    if (err != KG_OK)
        return fail("sign-warm", err);
    print_row(name, grp, "sign-warm", b->v, sigs);
    if ((err = kg_mpc_coordinator_set_preprocess(b->co, 100)) != KG_OK)
        return fail("set_preprocess", err);
    static const unsigned conc[] = {1, 4, 16};
    for (size_t i = 0; i < sizeof(conc) / sizeof(conc[0]); i++)
        if (row_concurrent(b, k, pub, grp, conc[i], seconds) != 0)
            return 1;
    return kg_mpc_coordinator_set_preprocess(b->co, 0) == KG_OK ? 0 : 1;
}

/* refresh, reshare (same holders, same t) and repair (first holder), E
 * runs each, every epoch checked with a signature. */
static int rows_epoch(bench *b, kg_mpc_key *k, const uint8_t *pub, const char *grp, size_t runs)
{
    static const char *ops[] = {"refresh", "reshare", "repair"};
    uint16_t ids[N_NODES];
    unsigned t = k->t;
    size_t n = k->n;
    memcpy(ids, k->ids, n * sizeof ids[0]);
    for (size_t op = 0; op < 3; op++) {
        kg_err err = KG_OK;
        for (size_t i = 0; i < runs && err == KG_OK; i++) {
            double t0 = now_s(), ms = 0;
            err = op == 0   ? kg_mpc_coordinator_refresh(b->co, k)
                  : op == 1 ? kg_mpc_coordinator_reshare(b->co, k, t, ids, n)
                            : kg_mpc_coordinator_repair(b->co, k, ids[0]);
            b->v[i] = (now_s() - t0) * 1e3;
            if (err == KG_OK)
                err = sign_one(b->co, k, pub, 5000 + 100 * op + i, &ms);
        }
        if (err != KG_OK)
            return fail(ops[op], err);
        print_row(kg_mpc_frost_scheme_name(k->g), grp, ops[op], b->v, runs);
    }
    return 0;
}

static int rows_group(bench *b, kg_mpc_group_id g, unsigned t, unsigned n, size_t sigs, double seconds)
{
    char grp[16];
    uint8_t pub[KG_MPC_POINT_MAX_BYTES];
    size_t pub_len = sizeof(pub);
    uint16_t ids[N_NODES];
    static kg_mpc_key k;
    snprintf(grp, sizeof(grp), "%u-of-%u", t, n);
    for (unsigned i = 0; i < n; i++)
        ids[i] = b->node[i].id;
    double t0 = now_s();
    kg_err err = kg_mpc_coordinator_keygen(b->co, &k, g, false, t, ids, n);
    b->v[0] = (now_s() - t0) * 1e3;
    if (err == KG_OK)
        err = kg_mpc_key_public(pub, &pub_len, &k);
    if (err != KG_OK)
        return fail("kg_mpc_coordinator_keygen", err);
    print_row(kg_mpc_frost_scheme_name(g), grp, "keygen", b->v, 1);
    if (rows_sign(b, &k, pub, grp, sigs, seconds) != 0)
        return 1;
    return rows_epoch(b, &k, pub, grp, b->epochs);
}

/* ------------------------------------------------------------------ main */

static int setup(bench *b, const char *argv0, const char *kg)
{
    char self[4096];
    if (kg != NULL) {
        snprintf(b->kg, sizeof(b->kg), "%s", kg);
    } else {
        snprintf(self, sizeof(self), "%s", argv0);
        snprintf(b->kg, sizeof(b->kg), "%s/kashguard", dirname(self));
    }
    if (access(b->kg, X_OK) != 0) {
        fprintf(stderr, "bench_mpc_net_bench: %s is not executable (use --kashguard PATH)\n", b->kg);
        return 1;
    }
    snprintf(b->dir, sizeof(b->dir), "%s/kg-mpcnet.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(b->dir) == NULL) {
        b->dir[0] = '\0';
        return fail("mkdtemp", KG_ERR_IO);
    }
    char ca_dir[512], out[512];
    snprintf(ca_dir, sizeof(ca_dir), "%s/ca", b->dir);
    kg_err err = kg_mpc_coord_ca_init(ca_dir);
    for (int id = 1; id <= N_NODES && err == KG_OK; id++) {
        snprintf(out, sizeof(out), "%s/node%d", b->dir, id);
        err = kg_mpc_coord_node_enroll(ca_dir, (uint16_t)id, out);
    }
    if (err != KG_OK)
        return fail("enrolment", err);
    for (int id = 1; id <= N_NODES; id++)
        if (node_start(b, id) != 0)
            return 1;
    err = kg_mpc_coordinator_new(&b->co, ca_dir);
    for (int i = 0; i < N_NODES && err == KG_OK; i++)
        err = kg_mpc_coordinator_set_node(b->co, b->node[i].id, b->node[i].addr);
    if (err == KG_OK)
        err = kg_mpc_coordinator_book_save(b->co);
    return err == KG_OK ? 0 : fail("coordinator", err);
}

static int run_all(bench *b, size_t sigs, double seconds)
{
    static const unsigned sizes[][2] = {{2, 3}, {3, 5}, {7, 10}};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (rows_group(b, KG_MPC_GROUP_ED25519, sizes[i][0], sizes[i][1], sigs, seconds) != 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *kg = NULL;
    size_t sigs = 50;
    double seconds = 2;
    size_t epochs = 5;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--kashguard") == 0 && i + 1 < argc) {
            kg = argv[++i];
        } else if (strcmp(argv[i], "--sigs") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > MAX_SIGS)
                goto usage;
            sigs = v;
        } else if (strcmp(argv[i], "--epochs") == 0 && i + 1 < argc) {
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > 100)
                goto usage;
            epochs = v;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            double v = strtod(argv[++i], &end);
            if (*end != '\0' || !(v > 0 && v <= 600))
                goto usage;
            seconds = v;
        } else {
            goto usage;
        }
    }
    signal(SIGPIPE, SIG_IGN); /* a node closing a connection must not kill the bench */
    bench *b = calloc(1, sizeof(*b));
    if (b == NULL || (b->v = calloc(MAX_SIGS, sizeof(double))) == NULL)
        return fail("setup", KG_ERR_NOMEM);
    b->epochs = epochs;
    bench_print_machine();
    printf("FROST across processes: %d `kashguard mpc-node` processes on 127.0.0.1, %zu runs per latency row, "
           "%.1f s per throughput row (runs = sigs/s), %zu runs per refresh/reshare/repair row, ms\n\n",
           N_NODES, sigs, seconds, epochs);
    printf("| scheme        | group   | op           | median ms |    p90 ms |    runs |\n");
    printf("|---------------|---------|--------------|-----------|-----------|---------|\n");
    int rc = setup(b, argv[0], kg);
    if (rc == 0)
        rc = run_all(b, sigs, seconds);
    if (rc != 0)
        for (int id = 1; id <= N_NODES; id++) {
            char log[512];
            snprintf(log, sizeof(log), "%s/node%d.log", b->dir, id);
            FILE *f = fopen(log, "r");
            char line[512];
            while (f != NULL && fgets(line, sizeof(line), f) != NULL)
                fprintf(stderr, "  node %d: %s", id, line);
            if (f != NULL)
                fclose(f);
        }
    teardown(b);
    free(b->v);
    free(b);
    return rc;
usage:
    fprintf(stderr, "usage: %s [--kashguard PATH] [--sigs N (1..%d)] [--seconds S] [--epochs E (1..100)]\n", argv[0],
            MAX_SIGS);
    return 2;
}
