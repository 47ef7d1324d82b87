/* bench_cggmp_net_bench: CGGMP21 threshold ECDSA across processes -- the
 * latency of each phase when the parties are `kashguard mpc-node`
 * processes on this machine and this process is the coordinator
 * (coord_cggmp*.c; docs/mpc.md).
 *
 *   bench_cggmp_net_bench [--kashguard PATH] [--source DIR] [--runs N]
 *                         [--bits 2048|3072] [--prep 0|1] [--idle-ms MS] [--sets 23|35|all]
 *       defaults: the kashguard binary next to this one, the source tree
 *       this file was built from (for the prime fixture), 10 runs per row,
 *       2048-bit moduli, the nodes' presign precomputation on (node_cggmp_
 *       prep.c; --prep 0 starts them with KG_CGGMP_PREP=0), no idle time,
 *       both sets. --bits 3072 takes the primes from safe_primes_1536.txt.
 *       --idle-ms: the nodes' idle time before each timed presign and
 *       sign-full run (their background worker refills precomputations
 *       after each CONFIRM), and one untimed sign-full before those rows
 *       (a restarted node has none); the same with --prep 0 for a fair
 *       comparison.
 *
 * It makes a private CA in a temporary directory, enrols five nodes whose
 * safe-prime pools are pre-filled from tests/mpc/fixtures/
 * safe_primes_1024.txt (2048-bit Paillier moduli, KG_MPC_PAILLIER_BITS;
 * every file starts with the same four lines that are never taken, so no
 * node generates primes in the background while it is timed), starts the
 * nodes on free loopback ports and, for cggmp21-secp256k1 2-of-3 (nodes
 * 1-3) and 3-of-5 (nodes 1-5), prints median and p90 milliseconds:
 *
 *   keygen+aux   kg_mpc_coordinator_cggmp_keygen: keygen then aux info
 *                (Paillier keys, Πprm, Πmod, Πfac): one run (the fixture
 *                has primes for one aux and one refresh per node and set)
 *   refresh      kg_mpc_coordinator_cggmp_refresh (aux info again with
 *                re-randomised shares): one run
 *   presign      kg_mpc_coordinator_cggmp_presign of one presignature
 *   sign-online  kg_mpc_coordinator_cggmp_sign with a stored presignature
 *                (one round trip)
 *   sign-full    kg_mpc_coordinator_cggmp_sign with none stored: one
 *                presign, then the online round
 *
 * The nodes are restarted (untimed) before the presign and sign-full rows
 * and before the 3-of-5 set: a node keeps each finished CGGMP21 session
 * (for a late CGGMP_ABORT) until it expires and refuses new ones past
 * KG_MPC_ND_MAX_CGGMP_SESSIONS (src/mpc/node_int.h). Stored presignatures
 * survive the restart (the sign-online row uses them).
 *
 * The presign and sign-full rows have a "cpu" twin: the CPU milliseconds
 * all node processes used during the timed run (utime + stime from
 * /proc/PID/stat, 10 ms ticks; a busy shared machine stretches the wall
 * time, not this).
 *
 * Every signature is verified by the coordinator (kg_mpc_cggmp_sign_
 * combine) and again here with libsecp256k1. It prints the machine line
 * first. Exit status: 0, or 1 on any failure. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "bench_machine.h"
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <secp256k1.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/node.h"

extern char **environ;

#define N_NODES 5
#define MAX_RUNS 12 /* see the restarts above: at most 16 sessions per node between them */
#define PAD 4 /* shared lines at the start of every pool file, never taken */

typedef struct {
    unsigned bits;   /* Paillier modulus bits: 2048 or 3072 */
    unsigned idle_ms;
    char kg[4096];
    char src[4096];
    char dir[256];
    pid_t pid[N_NODES + 1];
    kg_mpc_coordinator *co;
    secp256k1_context *ctx;
    double v[MAX_RUNS];
    double cpu[MAX_RUNS]; /* the nodes' CPU time (all threads) during each timed run */
} bench;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int fail(const char *what, kg_err err)
{
    fprintf(stderr, "bench_cggmp_net_bench: %s: %s (%s)\n", what, kg_err_str(err),
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

static void print_row(const char *set, const char *op, double *v, size_t n)
{
    qsort(v, n, sizeof(double), cmp_double);
    printf("| %-17s | %-6s | %-11s | %10.1f | %10.1f | %4zu |\n", "cggmp21-secp256k1", set, op,
           quantile(v, n, 0.5), quantile(v, n, 0.9), n);
    fflush(stdout);
}

/* CPU milliseconds used so far by every running node (Linux /proc). */
static double nodes_cpu_ms(const bench *b)
{
    double ms = 0;
    long hz = sysconf(_SC_CLK_TCK);
    for (int id = 1; id <= N_NODES; id++) {
        char path[64], buf[1024];
        if (b->pid[id] <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)b->pid[id]);
        FILE *f = fopen(path, "r");
        size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')'); /* after the command name: state, then fields 4.. */
        unsigned long ut = 0, st = 0;
        if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2 && hz > 0)
            ms += (double)(ut + st) * 1e3 / (double)hz;
    }
    return ms;
}

/* -------------------------------------------------------------- processes */

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

/* Whether the log holds needle after byte offset from (a restarted node
 * appends to its log). */
static int log_has(const char *path, long from, const char *needle)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fseek(f, from, SEEK_SET) == 0 ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static pid_t spawn(char *const *argv, const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600) == 0 &&
        posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600) == 0 &&
        posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
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
        struct stat st;
        long from = stat(log, &st) == 0 ? (long)st.st_size : 0;
        b->pid[id] = spawn(argv, log);
        for (int i = 0; b->pid[id] > 0 && i < 300; i++) {
            if (waitpid(b->pid[id], NULL, WNOHANG) == b->pid[id]) {
                b->pid[id] = 0;
                break;
            }
            if (log_has(log, from, "listening"))
                return kg_mpc_coordinator_set_node(b->co, (uint16_t)id, listen) == KG_OK ? 0 : 1;
            usleep(50000);
        }
        if (b->pid[id] > 0) {
            kill(b->pid[id], SIGKILL);
            waitpid(b->pid[id], NULL, 0);
            b->pid[id] = 0;
        }
    }
    fprintf(stderr, "bench_cggmp_net_bench: node %d did not start (log: %s)\n", id, log);
    return 1;
}

/* Node id's pool: the PAD lines 36..39, then lines from..from+count-1. */
static int fill_pool(bench *b, int id, int from, int count)
{
    char in[4200], out[512], line[1024];
    snprintf(in, sizeof(in), "%s/tests/mpc/fixtures/safe_primes_%u.txt", b->src, b->bits / 2);
    snprintf(out, sizeof(out), "%s/node%d/cggmp-primes.txt", b->dir, id);
    FILE *g = fopen(out, "w");
    int n = 0;
    for (int pass = 0; pass < 2 && g != NULL; pass++) {
        int lo = pass ? from : 36, hi = pass ? from + count : 36 + PAD;
        FILE *f = fopen(in, "r");
        for (int i = 0; f != NULL && fgets(line, sizeof(line), f) != NULL; i++)
            if (i >= lo && i < hi && fputs(line, g) >= 0)
                n++;
        if (f != NULL)
            fclose(f);
    }
    if (g != NULL)
        fclose(g);
    if (n != count + PAD)
        fprintf(stderr, "bench_cggmp_net_bench: cannot fill %s from %s\n", out, in);
    return n == count + PAD ? 0 : 1;
}

/* SIGKILL every node and start it again on its data. */
static int restart_all(bench *b)
{
    for (int id = 1; id <= N_NODES; id++) {
        if (b->pid[id] > 0) {
            kill(b->pid[id], SIGKILL);
            waitpid(b->pid[id], NULL, 0);
            b->pid[id] = 0;
        }
        if (node_start(b, id) != 0)
            return 1;
    }
    return 0;
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
            kill(b->pid[id], SIGKILL);
            waitpid(b->pid[id], NULL, 0);
        }
    kg_mpc_coordinator_free(b->co);
    b->co = NULL;
    if (b->dir[0] != '\0')
        nftw(b->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (b->ctx != NULL)
        secp256k1_context_destroy(b->ctx);
}

static int setup(bench *b)
{
    char ca[512], nd[512];
    /* primes per node: an aux and a refresh for each key it holds */
    static const int primes[N_NODES + 1] = {0, 8, 8, 8, 4, 4};
    setenv("KG_MPC_PAILLIER_BITS", b->bits == 3072 ? "3072" : "2048", 1);
    signal(SIGPIPE, SIG_IGN);
    b->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    snprintf(b->dir, sizeof(b->dir), "/tmp/kg-cggmp-bench-XXXXXX");
    if (mkdtemp(b->dir) == NULL) {
        b->dir[0] = '\0';
        return fail("mkdtemp", KG_ERR_IO);
    }
    snprintf(ca, sizeof(ca), "%s/ca", b->dir);
    kg_err err = kg_mpc_coord_ca_init(ca);
    for (int id = 1; id <= N_NODES && err == KG_OK; id++) {
        snprintf(nd, sizeof(nd), "%s/node%d", b->dir, id);
        err = kg_mpc_coord_node_enroll(ca, (uint16_t)id, nd);
    }
    if (err == KG_OK)
        err = kg_mpc_coordinator_new(&b->co, ca);
    if (err != KG_OK)
        return fail("enrolment", err);
    for (int id = 1, from = 0; id <= N_NODES; from += primes[id], id++)
        if (fill_pool(b, id, from, primes[id]) != 0 || node_start(b, id) != 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ rows */

static kg_err sign_one(bench *b, const kg_mpc_key *k, uint64_t i, double *ms)
{
    uint8_t dg[32], sig[64], pub[KG_MPC_POINT_MAX_BYTES];
    int recid = -1;
    secp256k1_pubkey pk;
    secp256k1_ecdsa_signature s;
    kg_crypto_sha256(dg, (const uint8_t *)&i, sizeof(i));
    double t0 = now_ms();
    kg_err err = kg_mpc_coordinator_cggmp_sign(b->co, k, dg, NULL, sig, &recid, NULL);
    *ms = now_ms() - t0;
    if (err == KG_OK)
        err = kg_mpc_point_serialize(k->g, pub, &k->group_public);
    if (err == KG_OK && (secp256k1_ec_pubkey_parse(b->ctx, &pk, pub, 33) != 1 ||
                         secp256k1_ecdsa_signature_parse_compact(b->ctx, &s, sig) != 1 ||
                         secp256k1_ecdsa_verify(b->ctx, &s, dg, &pk) != 1))
        err = kg_err_set(KG_ERR_VERIFY, "the signature does not verify with libsecp256k1");
    return err;
}

/* The nodes' idle time before a timed run (their precomputation worker
 * refills meanwhile). */
static void idle(const bench *b)
{
    if (b->idle_ms)
        nanosleep(&(struct timespec){b->idle_ms / 1000, (long)(b->idle_ms % 1000) * 1000000L}, NULL);
}

/* With idle time: one untimed presign + sign after a restart, so the
 * nodes' workers know the signing set before the timed runs. */
static kg_err warm_up(bench *b, const kg_mpc_key *k, uint64_t i)
{
    double ms = 0;
    return b->idle_ms ? sign_one(b, k, i, &ms) : KG_OK;
}

static int rows(bench *b, unsigned t, unsigned n, size_t runs)
{
    uint16_t ids[N_NODES] = {1, 2, 3, 4, 5};
    char set[16];
    kg_mpc_key k;
    unsigned made = 0;
    snprintf(set, sizeof(set), "%u-of-%u", t, n);
    double t0 = now_ms();
    kg_err err = kg_mpc_coordinator_cggmp_keygen(b->co, &k, KG_MPC_GROUP_SECP256K1, t, ids, n);
    b->v[0] = now_ms() - t0;
    if (err != KG_OK)
        return fail("keygen", err);
    print_row(set, "keygen+aux", b->v, 1);
    t0 = now_ms();
    err = kg_mpc_coordinator_cggmp_refresh(b->co, &k);
    b->v[0] = now_ms() - t0;
    if (err != KG_OK)
        return fail("refresh", err);
    print_row(set, "refresh", b->v, 1);
    if (restart_all(b) != 0)
        return 1;
    if ((err = warm_up(b, &k, 500)) != KG_OK)
        return fail("warm-up", err);
    for (size_t i = 0; i < runs && err == KG_OK; i++) {
        idle(b);
        double c0 = nodes_cpu_ms(b);
        t0 = now_ms();
        err = kg_mpc_coordinator_cggmp_presign(b->co, &k, 1, &made);
        b->v[i] = now_ms() - t0;
        b->cpu[i] = nodes_cpu_ms(b) - c0;
    }
    if (err != KG_OK)
        return fail("presign", err);
    print_row(set, "presign", b->v, runs);
    print_row(set, "presign cpu", b->cpu, runs);
    for (size_t i = 0; i < runs && err == KG_OK; i++) /* uses the presignatures just made */
        err = sign_one(b, &k, i, &b->v[i]);
    if (err != KG_OK)
        return fail("sign-online", err);
    print_row(set, "sign-online", b->v, runs);
    if (restart_all(b) != 0)
        return 1;
    if ((err = warm_up(b, &k, 501)) != KG_OK)
        return fail("warm-up", err);
    for (size_t i = 0; i < runs && err == KG_OK; i++) { /* none left: presign + sign each */
        idle(b);
        double c0 = nodes_cpu_ms(b);
        err = sign_one(b, &k, 1000 + i, &b->v[i]);
        b->cpu[i] = nodes_cpu_ms(b) - c0;
    }
    if (err != KG_OK)
        return fail("sign-full", err);
    print_row(set, "sign-full", b->v, runs);
    print_row(set, "sign-full cpu", b->cpu, runs);
    return 0;
}

int main(int argc, char **argv)
{
    static bench b;
    size_t runs = 10;
    const char *sets = "all";
    b.bits = 2048;
    char self[4096];
    snprintf(self, sizeof(self), "%s", argv[0]);
    snprintf(b.kg, sizeof(b.kg), "%s/kashguard", dirname(self));
    char here[4096];
    snprintf(here, sizeof(here), "%s", __FILE__); /* <source>/bench/cggmp_net_bench.c */
    snprintf(b.src, sizeof(b.src), "%s/..", dirname(here));
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--kashguard") == 0)
            snprintf(b.kg, sizeof(b.kg), "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--source") == 0)
            snprintf(b.src, sizeof(b.src), "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = (size_t)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--bits") == 0)
            b.bits = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--prep") == 0 && strcmp(argv[i + 1], "0") == 0)
            setenv("KG_CGGMP_PREP", "0", 1); /* inherited by the node processes */
        else if (strcmp(argv[i], "--idle-ms") == 0)
            b.idle_ms = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--sets") == 0)
            sets = argv[i + 1];
    }
    if (b.bits != 2048 && b.bits != 3072) {
        fprintf(stderr, "bench_cggmp_net_bench: --bits is 2048 or 3072\n");
        return 2;
    }
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: bench_cggmp_net_bench [--kashguard PATH] [--source DIR] [--runs 1..%d]\n", MAX_RUNS);
        return 2;
    }
    if (kg_crypto_init() != KG_OK)
        return 1;
    bench_print_machine();
    printf("| scheme            | set    | operation   | median ms  | p90 ms     | runs |\n");
    printf("|-------------------|--------|-------------|------------|------------|------|\n");
    printf("(Paillier moduli %u bits, precomputation %s, idle %u ms before each timed presign / sign-full)\n", b.bits,
           getenv("KG_CGGMP_PREP") != NULL && strcmp(getenv("KG_CGGMP_PREP"), "0") == 0 ? "off" : "on", b.idle_ms);
    int rc = setup(&b);
    if (rc == 0 && strcmp(sets, "35") != 0)
        rc = rows(&b, 2, 3, runs);
    if (rc == 0 && strcmp(sets, "all") == 0)
        rc = restart_all(&b);
    if (rc == 0 && strcmp(sets, "23") != 0)
        rc = rows(&b, 3, 5, runs);
    teardown(&b);
    return rc;
}
