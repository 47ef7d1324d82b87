/* The server as MPC coordinator: start-up and shutdown.
 *
 * Production (config `mpc = true` or `mpc_dir = DIR`, or --mpc/--mpc-dir):
 * the coordinator directory (default <data>/mpc) gets its CA at the first
 * start unless `kashguard mpc ca-init` made one; nodes are registered
 * through POST /v1/mpc/nodes and loaded from the store at every start
 * (mpc_store.c), and key records made by an older server as files are
 * migrated into the store.
 *
 * Dev (`kashguard server --dev --mpc-nodes N`): as above, and the server
 * also runs N local `kashguard mpc-node` child processes.
 *
 * Layout under the data dir: <data>/mpc is the coordinator directory of
 * mpc/node.h (private CA, coordinator certificate, node registry) and
 * <data>/mpc/node<i> is node i's (certificate,
 * envelope keys, node.db with its sealed shares, node.log). The first start
 * creates the CA (kg_mpc_coord_ca_init) and enrols nodes 1..N
 * (kg_mpc_coord_node_enroll); a later start reuses them, enrolling only
 * nodes that are missing, so the key shares survive a restart.
 *
 * Each node is `<self exe> mpc-node ... --listen 127.0.0.1:<free port>`
 * started with posix_spawn (signal mask cleared: the server blocks SIGINT
 * and SIGTERM in all its threads, and a child would inherit that), its
 * output appended to node<i>/node.log. It is ready when its log says
 * "listening"; a node that exits first (port taken meanwhile) is retried on
 * another port. Ports change between starts; the coordinator's address
 * book (kg_mpc_coordinator_set_node) gets the current ones.
 * Shutdown: SIGTERM to every node, wait (a node checks every second), then
 * SIGKILL for one that hangs. */
#include "server_int.h"

#include <kashguard/mpc.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

extern char **environ;

#define READY_POLLS 150      /* x 100 ms */
#define STOP_POLLS 80        /* x 100 ms */
#define SPAWN_TRIES 4

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A loopback port that is free now (bind to 0, read it back, close). */
static kg_err free_port(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok)
        return kg_err_set(KG_ERR_IO, "cannot find a free loopback port for an MPC node: %s", strerror(errno));
    *port = ntohs(a.sin_port);
    return KG_OK;
}

/* Every dev node not yet enrolled (the CA exists). */
static kg_err mpc_enrol(const kg_server_mpc *m)
{
    char p[4200], nd[4200];
    kg_err e = KG_OK;
    for (unsigned i = 1; i <= m->n && e == KG_OK; i++) {
        snprintf(nd, sizeof nd, "%s/node%u", m->dir, i);
        snprintf(p, sizeof p, "%s/nodes/%u.pub", m->dir, i);
        char cert[4300];
        snprintf(cert, sizeof cert, "%s/node.pem", nd);
        if (!file_exists(p) || !file_exists(cert))
            e = kg_mpc_coord_node_enroll(m->dir, (uint16_t)i, nd);
    }
    return e;
}

/* Does the log (from offset on) say the node listens? */
static bool log_says_ready(const char *log, long offset)
{
    FILE *f = fopen(log, "r");
    char line[512];
    bool ready = false;
    if (f == NULL)
        return false;
    if (fseek(f, offset, SEEK_SET) == 0)
        while (!ready && fgets(line, sizeof line, f) != NULL)
            ready = strstr(line, "listening on") != NULL;
    fclose(f);
    return ready;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* Spawn node i on addr with output appended to log. */
static kg_err spawn_node(pid_t *pid, const kg_server_mpc *m, unsigned i, const char *exe, const char *addr,
                         const char *log)
{
    char data[4200], ca[4200], cert[4300], key[4300], id[8];
    snprintf(data, sizeof data, "%s/node%u", m->dir, i);
    snprintf(ca, sizeof ca, "%s/ca.pem", m->dir);
    snprintf(cert, sizeof cert, "%s/node.pem", data);
    snprintf(key, sizeof key, "%s/node.key", data);
    snprintf(id, sizeof id, "%u", i);
    char *argv[] = { (char *)exe, "mpc-node", "--data", data, "--listen", (char *)addr, "--ca", ca,
                     "--cert", cert, "--key", key, "--id", id, "--exit-with-parent", NULL };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(pid, exe, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        *pid = 0;
        return kg_err_set(KG_ERR_IO, "cannot start MPC node %u (%s mpc-node): %s", i, exe, strerror(rc));
    }
    return KG_OK;
}

/* Start node i and wait until it listens; retried on another port when it
 * exits early (the port was taken between the probe and its bind). */
static kg_err start_node(kg_server_mpc *m, unsigned i, const char *exe)
{
    char log[4200];
    snprintf(log, sizeof log, "%s/node%u/node.log", m->dir, i);
    for (int t = 0; t < SPAWN_TRIES; t++) {
        unsigned port = 0;
        kg_err e = free_port(&port);
        if (e != KG_OK)
            return e;
        snprintf(m->addr[i - 1], sizeof m->addr[i - 1], "127.0.0.1:%u", port);
        long off = file_size(log);
        pid_t pid = 0;
        if ((e = spawn_node(&pid, m, i, exe, m->addr[i - 1], log)) != KG_OK)
            return e;
        m->pid[i - 1] = pid;
        for (int k = 0; k < READY_POLLS; k++) {
            if (log_says_ready(log, off))
                return KG_OK;
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                m->pid[i - 1] = 0;
                break;
            }
            sleep_ms(100);
        }
        if (m->pid[i - 1] != 0)
            return kg_err_set(KG_ERR_IO, "MPC node %u did not start listening on %s; see %s", i, m->addr[i - 1], log);
    }
    return kg_err_set(KG_ERR_IO, "MPC node %u exited at start %d times; see %s", i, SPAWN_TRIES, log);
}

static void mpc_locks_init(kg_server_mpc *m)
{
    pthread_mutex_init(&m->book_mu, NULL);
    for (size_t i = 0; i < KG_SERVER_MPC_KEY_STRIPES; i++)
        pthread_mutex_init(&m->key_mu[i], NULL);
}

/* Dev and tests: env KG_MPC_DEV_PRIMES names a file of hex safe primes (one
 * a line, e.g. tests/mpc/fixtures/safe_primes_1024.txt); node i's CGGMP21
 * prime pool (node<i>/cggmp-primes.txt, node_cggmp_store.c) starts with
 * lines i, i+n, i+2n, ... when it does not exist yet, so no two nodes share
 * a prime and aux info need not wait for prime generation. The node checks
 * every line again when it opens the pool. Unset: nothing happens. */
static kg_err dev_primes_seed(const kg_server_mpc *m)
{
    const char *src = getenv("KG_MPC_DEV_PRIMES");
    char line[2048], path[4300];
    kg_err e = KG_OK;
    if (src == NULL || src[0] == '\0')
        return KG_OK;
    for (unsigned i = 1; i <= m->n && e == KG_OK; i++) {
        snprintf(path, sizeof path, "%s/node%u/cggmp-primes.txt", m->dir, i);
        if (file_exists(path))
            continue;
        FILE *in = fopen(src, "r");
        int fd = in ? open(path, O_WRONLY | O_CREAT | O_EXCL, 0600) : -1;
        FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (out == NULL && fd >= 0)
            close(fd);
        if (in == NULL || out == NULL)
            e = kg_err_set(KG_ERR_IO, "KG_MPC_DEV_PRIMES: cannot copy %s to %s: %s", src, path, strerror(errno));
        for (unsigned k = 0; e == KG_OK && fgets(line, sizeof line, in) != NULL; k++)
            if (k % m->n == i - 1 && line[0] != '\n')
                fputs(line, out);
        if (out != NULL && fclose(out) != 0 && e == KG_OK)
            e = kg_err_set(KG_ERR_IO, "KG_MPC_DEV_PRIMES: cannot write %s", path);
        if (in != NULL)
            fclose(in);
    }
    return e;
}

/* Dev: enrol and start nodes 1..n and put them in the book. */
static kg_err dev_nodes_start(kg_server_mpc *m)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return kg_err_set(KG_ERR_IO, "cannot find the server's own executable (/proc/self/exe) to start MPC nodes");
    exe[len] = '\0';
    kg_err e = mpc_enrol(m);
    if (e == KG_OK)
        e = dev_primes_seed(m);
    for (unsigned i = 1; i <= m->n && e == KG_OK; i++)
        e = start_node(m, i, exe);
    return e;
}

kg_err kg_server_mpc_start(kg_server *srv)
{
    const kg_server_config *cfg = &srv->cfg;
    if (cfg->mpc_nodes == 0 && !cfg->mpc && cfg->mpc_dir == NULL)
        return KG_OK;
    kg_server_mpc *m = calloc(1, sizeof *m);
    if (m == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    mpc_locks_init(m);
    m->dev = cfg->mpc_nodes > 0;
    m->n = cfg->mpc_nodes;
    if (cfg->mpc_dir != NULL && cfg->mpc_dir[0] != '\0')
        snprintf(m->dir, sizeof m->dir, "%s", cfg->mpc_dir);
    else
        snprintf(m->dir, sizeof m->dir, "%s/mpc", cfg->data_dir);
    srv->mpc = m;
    char p[4200];
    snprintf(p, sizeof p, "%s/coordinator.key", m->dir);
    kg_err e = file_exists(p) ? KG_OK : kg_mpc_coord_ca_init(m->dir);
    if (e == KG_OK && m->dev)
        e = dev_nodes_start(m);
    if (e == KG_OK)
        e = kg_mpc_coordinator_new(&m->co, m->dir);
    for (unsigned i = 1; i <= m->n && e == KG_OK; i++)
        e = kg_server_mpc_book_set(m, (uint16_t)i, m->addr[i - 1]);
    if (e == KG_OK)
        e = kg_server_mpc_migrate(srv);
    if (e == KG_OK)
        e = kg_server_mpc_nodes_load(srv);
    return e;
}

void kg_server_mpc_stop(kg_server *srv)
{
    kg_server_mpc *m = srv->mpc;
    if (m == NULL)
        return;
    for (unsigned i = 0; i < m->n; i++)
        if (m->pid[i] > 0)
            kill(m->pid[i], SIGTERM);
    for (int k = 0; k < STOP_POLLS; k++) {
        bool left = false;
        for (unsigned i = 0; i < m->n; i++)
            if (m->pid[i] > 0 && waitpid(m->pid[i], NULL, WNOHANG) != 0)
                m->pid[i] = 0;
            else if (m->pid[i] > 0)
                left = true;
        if (!left)
            break;
        sleep_ms(100);
    }
    for (unsigned i = 0; i < m->n; i++)
        if (m->pid[i] > 0) {
            kill(m->pid[i], SIGKILL);
            waitpid(m->pid[i], NULL, 0);
        }
    kg_mpc_coordinator_free(m->co);
    pthread_mutex_destroy(&m->book_mu);
    for (size_t i = 0; i < KG_SERVER_MPC_KEY_STRIPES; i++)
        pthread_mutex_destroy(&m->key_mu[i]);
    free(m);
    srv->mpc = NULL;
}
