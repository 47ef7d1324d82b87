/* Server life cycle: check the config, open the data dir, the store and the
 * KMS, listen, tick, and shut down cleanly.
 *
 * Safety rules enforced before anything listens:
 *   - outside --dev, TLS is required (tls_cert + tls_key) unless
 *     tls_disable is set, and tls_disable only binds loopback (it exists for
 *     a TLS-terminating proxy on the same host);
 *   - --dev binds loopback only (its unseal key sits next to the data and
 *     its root token is printed), so a non-loopback --listen is refused;
 *   - tls_client_ca needs TLS.
 * Each refusal says what to change.
 *
 * kg_server_run blocks SIGINT/SIGTERM in every thread (threads inherit the
 * mask, so MHD's and the ticker's threads never take them) and waits for
 * them with sigwait in the calling thread: no async-signal-safety concerns.
 * Shutdown order: stop the HTTP daemon (waits for requests in flight), stop
 * the ticker, stop the dev MPC nodes (mpc_dev.c), stop auditing HMS events,
 * close the KMS (final signed audit checkpoint), close the HSM fleet
 * manager (the KMS's HSM keys and auto-unseal use it until then), close
 * the store.
 *
 * The HSM fleet manager (kg_hms) opens right after the store and before
 * the KMS: stored members and groups are re-added first (hsm_store.c), so
 * HSM-protected keys work as soon as the KMS unseals, and the auto-unseal
 * PIN (seal "pkcs11": pin_file or pin_env) is read into a kg_secret that
 * lives as long as the server, because the KMS retries auto-unseal from
 * its tick while the token is away.
 *
 * The ticker thread calls kg_kms_tick every 2 s (rotations and deletions
 * due, time-based audit checkpoints) and sweeps expired idempotency records
 * every few minutes. It sleeps on a condition variable so stop wakes it at
 * once; tick_mu protects `stopping`. */
#include "server_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#define KG_TICK_SECONDS 2
#define KG_SWEEP_EVERY_TICKS 150
#define KG_PEM_MAX (1u << 20)

/* "HOST:PORT" or "[V6]:PORT" into addr (numeric hosts and names). */
static kg_err parse_listen(struct sockaddr_storage *addr, const char *listen)
{
    char host[256];
    const char *port;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host)
            return kg_err_set(KG_ERR_BAD_INPUT, "listen address '%.100s' must look like [::1]:8200", listen);
        snprintf(host, sizeof host, "%.*s", (int)(close - listen - 1), listen + 1);
        port = close + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (colon == NULL || colon == listen || (size_t)(colon - listen) >= sizeof host)
            return kg_err_set(KG_ERR_BAD_INPUT, "listen address '%.100s' must look like 127.0.0.1:8200", listen);
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
        return kg_err_set(KG_ERR_BAD_INPUT, "listen address '%.100s' has a bad port (0-65535)", listen);
    struct addrinfo hints = { .ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "cannot resolve the listen host '%.100s'", host);
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return KG_OK;
}

static bool is_loopback(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(v6) || (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
}

static kg_err check_config(const kg_server_config *cfg, struct sockaddr_storage *addr)
{
    kg_err e = parse_listen(addr, cfg->listen);
    if (e != KG_OK)
        return e;
    if (cfg->mpc_nodes > KG_SERVER_MPC_NODES_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "--mpc-nodes must be 0..%d", KG_SERVER_MPC_NODES_MAX);
    if (cfg->mpc_nodes > 0 && !cfg->dev)
        return kg_err_set(KG_ERR_BAD_INPUT, "--mpc-nodes starts local MPC nodes in --dev mode only; "
                          "add --dev, or set `mpc = true` (--mpc) and register `kashguard mpc-node` "
                          "processes with `kashguard mpc node add` (docs/mpc.md)");
    if (cfg->dev && !is_loopback(addr))
        return kg_err_set(KG_ERR_BAD_INPUT, "--dev serves on loopback only (its unseal key is stored with the "
                          "data); use --listen 127.0.0.1:PORT, or run without --dev with TLS");
    bool tls = cfg->tls_cert != NULL || cfg->tls_key != NULL;
    if (tls && (cfg->tls_cert == NULL || cfg->tls_key == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "TLS needs both tls_cert and tls_key");
    if (!cfg->dev && !tls && !cfg->tls_disable)
        return kg_err_set(KG_ERR_BAD_INPUT, "TLS is required outside --dev: set tls_cert and tls_key in the config "
                          "(or tls_disable = true behind a TLS-terminating proxy on loopback)");
    if (!cfg->dev && !tls && !is_loopback(addr))
        return kg_err_set(KG_ERR_BAD_INPUT, "tls_disable serves on loopback only (for a local TLS proxy); "
                          "set tls_cert and tls_key to listen on %.100s", cfg->listen);
    if (cfg->tls_client_ca != NULL && !tls)
        return kg_err_set(KG_ERR_BAD_INPUT, "tls_client_ca needs TLS: set tls_cert and tls_key too");
    if (cfg->max_body_bytes < 1024 || cfg->threads < 1)
        return kg_err_set(KG_ERR_BAD_INPUT, "max_body_bytes must be at least 1024 and threads at least 1");
    return KG_OK;
}

static kg_err read_pem(char **out, const char *path)
{
    *out = NULL;
    if (path == NULL)
        return KG_OK;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return kg_err_set(KG_ERR_IO, "cannot open %.200s: %s", path, strerror(errno));
    char *buf = malloc(KG_PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, KG_PEM_MAX + 1, f) : 0;
    bool bad = ferror(f) || n == 0 || n > KG_PEM_MAX;
    fclose(f);
    if (buf == NULL || bad) {
        if (buf != NULL)
            kg_wipe(buf, KG_PEM_MAX + 1);
        free(buf);
        return kg_err_set(KG_ERR_IO, "cannot read %.200s (empty, unreadable or over 1 MiB)", path);
    }
    buf[n] = '\0';
    *out = buf;
    return KG_OK;
}

static kg_err make_data_dir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return kg_err_set(KG_ERR_IO, "cannot create the data dir %.200s: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return kg_err_set(KG_ERR_IO, "the data dir %.200s is not a directory", dir);
    if (st.st_mode & 0077)
        kg_log(KG_LOG_WARN, "data dir is readable by others; chmod 700 it", "dir", dir, NULL);
    return KG_OK;
}

static void *ticker_main(void *arg)
{
    kg_server *srv = arg;
    unsigned ticks = 0;
    pthread_mutex_lock(&srv->tick_mu);
    while (!srv->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += KG_TICK_SECONDS;
        pthread_cond_timedwait(&srv->tick_cv, &srv->tick_mu, &ts);
        if (srv->stopping)
            break;
        pthread_mutex_unlock(&srv->tick_mu);
        kg_kms_tick(srv->kms);
        if (++ticks % KG_SWEEP_EVERY_TICKS == 0)
            kg_idem_sweep(srv);
        pthread_mutex_lock(&srv->tick_mu);
    }
    pthread_mutex_unlock(&srv->tick_mu);
    return NULL;
}

/* The fleet manager with the config's hsm block, and its stored members. */
static kg_err open_hms(kg_server *srv)
{
    const kg_server_config *cfg = &srv->cfg;
    kg_hms_config hc;
    kg_hms_config_default(&hc);
    if (cfg->hsm_probe_interval_ms)
        hc.probe_interval_ms = cfg->hsm_probe_interval_ms;
    if (cfg->hsm_op_timeout_ms)
        hc.op_timeout_ms = cfg->hsm_op_timeout_ms;
    if (cfg->hsm_down_after_errors)
        hc.down_after_errors = cfg->hsm_down_after_errors;
    if (cfg->hsm_degraded_latency_ms)
        hc.degraded_latency_ms = cfg->hsm_degraded_latency_ms;
    if (cfg->hsm_sessions)
        hc.sessions_per_member = cfg->hsm_sessions;
    hc.on_event = kg_server_hsm_event;
    hc.event_ctx = srv;
    kg_err e = kg_hms_open(&srv->hms, &hc);
    if (e != KG_OK)
        return e;
    kg_server_hsm_load(srv);
    size_t n = kg_server_route_count();
    srv->http_requests = calloc(n, sizeof *srv->http_requests);
    return srv->http_requests ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* The KMS's HSM settings: the fleet, the default group, auto-unseal. */
static kg_err hsm_kms_config(kg_server *srv, kg_kms_config *kc)
{
    const kg_server_config *cfg = &srv->cfg;
    kc->hms = srv->hms;
    kc->hsm_default_group = cfg->hsm_default_group;
    if (cfg->seal_pkcs11_module == NULL)
        return KG_OK;
    kg_err e = kg_server_pin_read(&srv->seal_pin, cfg->seal_pkcs11_pin_file, cfg->seal_pkcs11_pin_env,
                                  "seal \"pkcs11\" (auto-unseal)");
    if (e != KG_OK)
        return e;
    kc->seal_pkcs11_module = cfg->seal_pkcs11_module;
    kc->seal_pkcs11_token = cfg->seal_pkcs11_token_label;
    kc->seal_pkcs11_pin = srv->seal_pin;
    if (cfg->seal_pkcs11_key_label != NULL)
        kc->seal_pkcs11_key_label = cfg->seal_pkcs11_key_label;
    return KG_OK;
}

/* Store, KMS, dev bootstrap and TLS material. */
static kg_err open_backends(kg_server *srv)
{
    const kg_server_config *cfg = &srv->cfg;
    char url[4200];
    if (cfg->store_url == NULL) {
        snprintf(url, sizeof url, "sqlite://%s/kashguard.db", cfg->data_dir);
    } else {
        snprintf(url, sizeof url, "%s", cfg->store_url);
    }
    kg_err e = kg_store_open(&srv->store, url);
    if (e != KG_OK)
        return e;
    kg_kms_config kc = cfg->kms;
    kc.data_dir = cfg->data_dir;
    e = open_hms(srv);
    if (e == KG_OK)
        e = hsm_kms_config(srv, &kc);
    if (e == KG_OK)
        e = kg_kms_open(&srv->kms, srv->store, &kc);
    if (e == KG_OK) {
        pthread_mutex_lock(&srv->event_mu);
        srv->kms_events = true;
        pthread_mutex_unlock(&srv->event_mu);
    }
    if (e == KG_OK && cfg->dev)
        e = kg_kms_dev_bootstrap(srv->kms, &srv->root_token);
    if (e == KG_OK)
        e = read_pem(&srv->tls_cert_pem, cfg->tls_cert);
    if (e == KG_OK)
        e = read_pem(&srv->tls_key_pem, cfg->tls_key);
    if (e == KG_OK)
        e = read_pem(&srv->tls_ca_pem, cfg->tls_client_ca);
    return e;
}

kg_err kg_server_start(kg_server **out, const kg_server_config *cfg)
{
    KG_ARG_CHECK(out != NULL && cfg != NULL && cfg->data_dir != NULL && cfg->listen != NULL);
    *out = NULL;
    struct sockaddr_storage addr;
    kg_err e = check_config(cfg, &addr);
    if (e == KG_OK)
        e = kg_crypto_init();
    if (e == KG_OK)
        e = make_data_dir(cfg->data_dir);
    if (e != KG_OK)
        return e;
    kg_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    srv->cfg = *cfg;
    pthread_mutex_init(&srv->tick_mu, NULL);
    pthread_cond_init(&srv->tick_cv, NULL);
    pthread_mutex_init(&srv->event_mu, NULL);
    e = open_backends(srv);
    if (e == KG_OK)
        e = kg_server_mpc_start(srv);
    if (e == KG_OK)
        e = kg_server_http_start(srv, (const struct sockaddr *)&addr);
    if (e == KG_OK && pthread_create(&srv->ticker, NULL, ticker_main, srv) != 0)
        e = kg_err_set(KG_ERR_INTERNAL, "cannot start the ticker thread");
    if (e != KG_OK) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", kg_err_detail(e));
        kg_server_stop(srv);
        return kg_err_set(e, "%s", detail);
    }
    srv->ticker_started = true;
    *out = srv;
    return KG_OK;
}

unsigned kg_server_port(const kg_server *srv)
{
    return srv ? srv->port : 0;
}

const char *kg_server_dev_root_token(const kg_server *srv)
{
    return srv ? srv->root_token : NULL;
}

static void free_secret_str(char *s)
{
    if (s != NULL) {
        kg_wipe(s, strlen(s));
        free(s);
    }
}

void kg_server_stop(kg_server *srv)
{
    if (srv == NULL)
        return;
    kg_server_http_stop(srv);
    if (srv->ticker_started) {
        pthread_mutex_lock(&srv->tick_mu);
        srv->stopping = true;
        pthread_cond_signal(&srv->tick_cv);
        pthread_mutex_unlock(&srv->tick_mu);
        pthread_join(srv->ticker, NULL);
    }
    kg_server_mpc_stop(srv);
    pthread_mutex_lock(&srv->event_mu);
    srv->kms_events = false;
    pthread_mutex_unlock(&srv->event_mu);
    if (srv->kms != NULL)
        kg_kms_close(srv->kms);
    kg_hms_close(srv->hms);
    kg_secret_free(srv->seal_pin);
    if (srv->store != NULL)
        kg_store_close(srv->store);
    free(srv->http_requests);
    free_secret_str(srv->root_token);
    free_secret_str(srv->tls_key_pem);
    free(srv->tls_cert_pem);
    free(srv->tls_ca_pem);
    pthread_cond_destroy(&srv->tick_cv);
    pthread_mutex_destroy(&srv->tick_mu);
    pthread_mutex_destroy(&srv->event_mu);
    free(srv);
}

static void print_banner(const kg_server *srv)
{
    const kg_server_config *cfg = &srv->cfg;
    char addr[300];
    const char *scheme = srv->tls_cert_pem ? "https" : "http";
    const char *colon = strrchr(cfg->listen, ':');
    int hlen = colon ? (int)(colon - cfg->listen) : (int)strlen(cfg->listen);
    snprintf(addr, sizeof addr, "%s://%.*s:%u", scheme, hlen, cfg->listen, srv->port);
    printf("KashGuard dev server is running. Do not use --dev in production:\n"
           "its single unseal key is stored next to the data and it auto-unseals.\n\n"
           "  Address:    %s\n"
           "  Root token: %s\n"
           "              (written to %s/root.token)\n"
           "  Data dir:   %s\n\n"
           "Point the CLI at it:\n\n"
           "  export KASHGUARD_ADDR='%s'\n"
           "  export KASHGUARD_TOKEN=\"$(cat '%s/root.token')\"\n\n",
           addr, srv->root_token ? srv->root_token : "(unavailable)", cfg->data_dir, cfg->data_dir, addr,
           cfg->data_dir);
    if (srv->mpc != NULL) {
        printf("MPC nodes (coordinator dir %s):\n\n", srv->mpc->dir);
        for (unsigned i = 0; i < srv->mpc->n; i++)
            printf("  node %u:     %s\n", i + 1, srv->mpc->addr[i]);
        printf("\n");
    }
    fflush(stdout);
}

kg_err kg_server_run(const kg_server_config *cfg)
{
    KG_ARG_CHECK(cfg != NULL);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    kg_server *srv = NULL;
    kg_err e = kg_server_start(&srv, cfg);
    if (e != KG_OK) {
        kg_log(KG_LOG_ERROR, "server did not start", "error", kg_err_code(e), "detail", kg_err_detail(e), NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return e;
    }
    if (cfg->dev)
        print_banner(srv);
    char port[16];
    snprintf(port, sizeof port, "%u", srv->port);
    kg_log(KG_LOG_INFO, "server listening", "listen", cfg->listen, "port", port,
           "tls", srv->tls_cert_pem ? (srv->tls_ca_pem ? "mutual" : "on") : "off",
           "mode", cfg->dev ? "dev" : "production", NULL);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    kg_log(KG_LOG_INFO, "shutting down", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    kg_server_stop(srv);
    kg_log(KG_LOG_INFO, "server stopped", NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return KG_OK;
}
