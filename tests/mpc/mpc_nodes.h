/* Shared by the suites that run real `kashguard mpc-node` processes: a
 * temporary directory DIR with a private CA (DIR/ca, made by
 * kg_mpc_coord_ca_init) and nodes 1..n enrolled in it (DIR/node<id>: TLS
 * identity, envelope keys and the node's data), a coordinator object on that
 * CA, and each node spawned on a free 127.0.0.1 port with stdout and stderr
 * appended to DIR/node<id>.log. A start waits (30 s at most: sanitizer
 * builds start slowly) for a new "listening" line in the log and puts the
 * node's address in the coordinator's address book; a restarted node tries
 * its old port first. Nodes are killed with SIGKILL (a SIGSTOPped one too)
 * and DIR is removed by mpc_nodes_free, whatever happened before.
 * Header-only (each suite is its own executable); include after <cmocka.h>,
 * with _XOPEN_SOURCE 700 (nftw) defined before any system header. */
#ifndef KG_TESTS_MPC_NODES_H
#define KG_TESTS_MPC_NODES_H

#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kashguard/mpc/node.h"

extern char **environ;

#define MPC_NODES_MAX 8

typedef struct {
    char dir[256];                     /* DIR, removed by mpc_nodes_free */
    char bin[512];                     /* the kashguard binary (KG_BINARY) */
    char evil[512];                    /* kashguard-evil next to it (maybe not built) */
    int n;                             /* nodes 1..n are enrolled */
    pid_t pid[MPC_NODES_MAX + 1];      /* > 0 while node id runs */
    int port[MPC_NODES_MAX + 1];       /* its last port, 0 before its first start */
    char addr[MPC_NODES_MAX + 1][64];  /* "127.0.0.1:<port>" */
    kg_mpc_coordinator *co;            /* on DIR/ca */
} mpc_nodes;

/* A port nobody listens on now (the kernel's pick), or -1. */
static inline int mpc_nodes_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static inline void mpc_nodes_path(char *out, size_t cap, const mpc_nodes *m, int id, const char *name)
{
    if (name) snprintf(out, cap, "%s/node%d/%s", m->dir, id, name);
    else snprintf(out, cap, "%s/node%d", m->dir, id);
}

/* CGGMP21 suites: write node id's safe-prime pool (<data>/cggmp-primes.txt)
 * from tests/mpc/fixtures/safe_primes_1024.txt (2048-bit Paillier moduli):
 * first the MPC_NODES_PRIME_PAD lines from MPC_NODES_PRIME_PAD_FROM, shared
 * by every node and never taken (the pool takes from the end; they keep the
 * node from generating primes in the background during a test), then
 * `count` lines from `from`: give each node its own range, so no two nodes
 * ever build the same modulus. 0 on success. */
#define MPC_NODES_PRIME_PAD_FROM 36
#define MPC_NODES_PRIME_PAD 4
static inline int mpc_nodes_fill_primes(const mpc_nodes *m, int id, int from, int count)
{
    char in[600], out[320], line[1024];
    snprintf(in, sizeof in, "%s/tests/mpc/fixtures/safe_primes_1024.txt", KG_SOURCE_DIR);
    mpc_nodes_path(out, sizeof out, m, id, "cggmp-primes.txt");
    int n = 0;
    FILE *g = fopen(out, "w");
    for (int pass = 0; pass < 2 && g; pass++) {
        int lo = pass ? from : MPC_NODES_PRIME_PAD_FROM;
        int hi = pass ? from + count : MPC_NODES_PRIME_PAD_FROM + MPC_NODES_PRIME_PAD;
        FILE *f = fopen(in, "r");
        for (int i = 0; f && fgets(line, sizeof line, f); i++)
            if (i >= lo && i < hi && fputs(line, g) >= 0) n++;
        if (f) fclose(f);
    }
    if (g) fclose(g);
    return n == count + MPC_NODES_PRIME_PAD ? 0 : -1;
}

/* Monotonic milliseconds, for the figures the suites print. */
static inline double mpc_nodes_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Whether the log of node id holds needle after byte offset from. */
static inline bool mpc_nodes_log_has(const mpc_nodes *m, int id, long from, const char *needle)
{
    char path[320], buf[16384];
    snprintf(path, sizeof path, "%s/node%d.log", m->dir, id);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fseek(f, from, SEEK_SET) == 0 ? fread(buf, 1, sizeof buf - 1, f) : 0;
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static inline long mpc_nodes_log_size(const mpc_nodes *m, int id)
{
    char path[320];
    struct stat st;
    snprintf(path, sizeof path, "%s/node%d.log", m->dir, id);
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* SIGKILL node id (a stopped one too) and reap it; nothing when it is not running. */
static inline void mpc_nodes_kill(mpc_nodes *m, int id)
{
    if (m->pid[id] <= 0) return;
    kill(m->pid[id], SIGKILL);
    kill(m->pid[id], SIGCONT);
    waitpid(m->pid[id], NULL, 0);
    m->pid[id] = 0;
}

/* Spawn argv with stdout and stderr appended to log and, when evil_mode is
 * given, KG_MPC_EVIL=evil_mode added to the environment; the pid or -1. */
static inline pid_t mpc_nodes_spawn(char *const *argv, const char *log, const char *evil_mode)
{
    posix_spawn_file_actions_t fa;
    pid_t p = -1;
    size_t ne = 0;
    while (environ[ne]) ne++;
    char **env = calloc(ne + 2, sizeof *env), ev[64];
    if (!env || posix_spawn_file_actions_init(&fa) != 0) { free(env); return -1; }
    memcpy(env, environ, ne * sizeof *env);
    snprintf(ev, sizeof ev, "KG_MPC_EVIL=%s", evil_mode ? evil_mode : "");
    if (evil_mode) env[ne] = ev;
    if (posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600) == 0 &&
        posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600) == 0 &&
        posix_spawn(&p, argv[0], &fa, NULL, argv, env) != 0)
        p = -1;
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    return p;
}

/* (Re)start node id on its data: the evil binary in evil_mode when that is
 * given (see mpc_nodes_have_evil), else the kashguard binary. 0 once it
 * listens and the coordinator knows its address; -1 (and a message naming
 * the log) when it did not come up in five tries. */
static inline int mpc_nodes_start(mpc_nodes *m, int id, const char *evil_mode)
{
    char data[300], ca[300], cert[320], key[320], ids[16], log[320];
    if (id < 1 || id > m->n) return -1;
    mpc_nodes_kill(m, id);
    mpc_nodes_path(data, sizeof data, m, id, NULL);
    mpc_nodes_path(cert, sizeof cert, m, id, "node.pem");
    mpc_nodes_path(key, sizeof key, m, id, "node.key");
    snprintf(ca, sizeof ca, "%s/ca/ca.pem", m->dir);
    snprintf(log, sizeof log, "%s/node%d.log", m->dir, id);
    snprintf(ids, sizeof ids, "%d", id);
    for (int attempt = 0; attempt < 5; attempt++) {
        int port = attempt == 0 && m->port[id] > 0 ? m->port[id] : mpc_nodes_free_port();
        if (port < 0) continue;
        snprintf(m->addr[id], sizeof m->addr[id], "127.0.0.1:%d", port);
        char *argv[] = {evil_mode ? m->evil : m->bin, "mpc-node", "--data", data, "--listen", m->addr[id], "--ca", ca,
                        "--cert", cert, "--key", key, "--id", ids, NULL};
        long from = mpc_nodes_log_size(m, id);
        m->pid[id] = mpc_nodes_spawn(argv, log, evil_mode);
        for (int i = 0; m->pid[id] > 0 && i < 300; i++) {
            if (waitpid(m->pid[id], NULL, WNOHANG) == m->pid[id]) { m->pid[id] = 0; break; }
            if (mpc_nodes_log_has(m, id, from, "listening")) {
                m->port[id] = port;
                return kg_mpc_coordinator_set_node(m->co, (uint16_t)id, m->addr[id]) == KG_OK ? 0 : -1;
            }
            usleep(100000);
        }
        mpc_nodes_kill(m, id);
    }
    fprintf(stderr, "node %d did not start (log %s)\n", id, log);
    return -1;
}

/* A fresh DIR (/tmp/<prefix>-XXXXXX) with the CA, nodes 1..n enrolled and
 * the coordinator; when start, each node started too. 0 or -1 (with a
 * message). Call mpc_nodes_free whatever it returned. */
static inline int mpc_nodes_init(mpc_nodes *m, const char *prefix, int n, bool start)
{
    char ca[300], nd[300], bin[512];
    memset(m, 0, sizeof *m);
    if (n < 1 || n > MPC_NODES_MAX) return -1;
    signal(SIGPIPE, SIG_IGN); /* the coordinator writes to sockets a killed node closed (mpc/net.h) */
    m->n = n;
    snprintf(m->bin, sizeof m->bin, "%s", KG_BINARY);
    snprintf(bin, sizeof bin, "%s", KG_BINARY);
    snprintf(m->evil, sizeof m->evil, "%s/kashguard-evil", dirname(bin));
    snprintf(m->dir, sizeof m->dir, "/tmp/%s-XXXXXX", prefix);
    if (!mkdtemp(m->dir)) { m->dir[0] = '\0'; return -1; }
    snprintf(ca, sizeof ca, "%s/ca", m->dir);
    kg_err e = kg_mpc_coord_ca_init(ca);
    for (int id = 1; id <= n && e == KG_OK; id++) {
        mpc_nodes_path(nd, sizeof nd, m, id, NULL);
        e = kg_mpc_coord_node_enroll(ca, (uint16_t)id, nd);
    }
    if (e == KG_OK) e = kg_mpc_coordinator_new(&m->co, ca);
    if (e != KG_OK) { fprintf(stderr, "mpc_nodes_init: %s\n", kg_err_detail(e)); return -1; }
    for (int id = 1; start && id <= n; id++)
        if (mpc_nodes_start(m, id, NULL) != 0) return -1;
    return 0;
}

/* Whether kashguard-evil was built (-DKG_EVIL_NODE=ON); says "skip" when not. */
static inline bool mpc_nodes_have_evil(const mpc_nodes *m)
{
    if (access(m->evil, X_OK) == 0) return true;
    printf("skip: %s was not built (-DKG_EVIL_NODE=ON)\n", m->evil);
    return false;
}

static inline int mpc_nodes_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Kill every node, free the coordinator, remove DIR. */
static inline void mpc_nodes_free(mpc_nodes *m)
{
    for (int id = 1; id <= m->n; id++) mpc_nodes_kill(m, id);
    kg_mpc_coordinator_free(m->co);
    m->co = NULL;
    if (m->dir[0]) nftw(m->dir, mpc_nodes_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    m->dir[0] = '\0';
}

#endif
