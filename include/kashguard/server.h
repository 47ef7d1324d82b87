/* KashGuard server: the REST API over HTTP(S) (libmicrohttpd), in front of
 * the KMS. One route table maps METHOD + path to a handler; each handler
 * parses its JSON body, calls one kg_kms_* function and renders the JSON
 * result or the error {"error":{"code","message"}} with the status from
 * err.h. Every request is authenticated (Bearer token), audited before it
 * runs and after (fail closed), and bounded (body size, JSON depth).
 *
 * `--dev` mode: embedded SQLite under <data>, plain HTTP on 127.0.0.1 only,
 * auto-init with one share, auto-unseal, root token printed and written to
 * <data>/root.token. Otherwise TLS is required (tls_cert + tls_key), with
 * optional client-certificate authentication (tls_client_ca). */
#ifndef KASHGUARD_SERVER_H
#define KASHGUARD_SERVER_H

#include "kms.h"

typedef struct {
    bool dev;
    const char *data_dir;       /* default "./data" */
    const char *listen;         /* "HOST:PORT", default "127.0.0.1:8200" */
    const char *store_url;      /* default "sqlite://<data_dir>/kashguard.db" */
    const char *tls_cert;       /* PEM file; required unless dev or tls_disable */
    const char *tls_key;        /* PEM file */
    const char *tls_client_ca;  /* PEM file: when set, clients must present a certificate it signed */
    bool tls_disable;           /* plain HTTP outside dev (for a TLS-terminating proxy on loopback) */
    size_t max_body_bytes;      /* default 1 MiB */
    unsigned threads;           /* worker threads, default 8 x cores (8..64) */
    unsigned mpc_nodes;         /* dev only: start this many local `mpc-node` children (0..9, default 0) */
    bool mpc;                   /* be the MPC coordinator of registered nodes (set by mpc_dir too) */
    const char *mpc_dir;        /* coordinator directory, default <data_dir>/mpc (CA made at first start) */
    const char *chain_rpc_allow; /* comma-separated URL prefixes of chain nodes the server may call
                                    (MPC wallet sends); unset: loopback only in --dev, none otherwise */
    /* Auto-unseal (config block `seal "pkcs11" { ... }`, docs/hsm.md): the
     * PIN is read at start from seal_pkcs11_pin_file (first line) or the
     * environment variable seal_pkcs11_pin_env, never from the config. */
    const char *seal;                 /* NULL/"shamir" (default) | "pkcs11" */
    const char *seal_pkcs11_module;
    const char *seal_pkcs11_token_label;
    const char *seal_pkcs11_pin_file;
    const char *seal_pkcs11_pin_env;
    const char *seal_pkcs11_key_label; /* default "kashguard-root-key" */
    /* The HSM fleet manager (config block `hsm { ... }`); 0 = the HMS default. */
    unsigned hsm_probe_interval_ms;
    unsigned hsm_op_timeout_ms;
    unsigned hsm_down_after_errors;
    unsigned hsm_degraded_latency_ms;
    unsigned hsm_sessions;            /* sessions (and workers) per member */
    const char *hsm_default_group;    /* group of "protection":"hsm" keys that name none */
    kg_kms_config kms;
} kg_server_config;

/** Defaults as documented above. */
void kg_server_config_default(kg_server_config *cfg);
/** Read a config file of `key = value` lines (keys as in the docs:
 *  listen, data_dir, tls_cert, tls_key, tls_client_ca, tls_disable,
 *  max_body_bytes, threads, min_deletion_wait, audit_fsync,
 *  audit_checkpoint_every, mpc, mpc_dir, chain_rpc_allow) and blocks whose
 *  keys get the block's prefix: `seal "pkcs11" { module, token_label,
 *  pin_file | pin_env, key_label }` and `hsm { probe_interval, op_timeout,
 *  down_after_errors, degraded_latency, sessions, default_group }`. Strings it points to are owned by the process. */
kg_err kg_server_config_load(kg_server_config *cfg, const char *path) KG_WARN_UNUSED;

/** Run until SIGINT/SIGTERM. Returns KG_OK on a clean shutdown. */
kg_err kg_server_run(const kg_server_config *cfg) KG_WARN_UNUSED;

/* For tests, benches and fuzzing. */
typedef struct kg_server kg_server;

/** Start a server in the background: create the data dir (0700), open the
 *  store and the KMS (dev: bootstrap and unseal), listen and serve on worker
 *  threads, tick the KMS every 2 s. A listen port of 0 picks a free port
 *  (see kg_server_port). Returns KG_OK | KG_ERR_BAD_INPUT (bad config, with
 *  a detail naming the option) | KG_ERR_IO (cannot listen / read PEM) |
 *  the store's or KMS's error. Does not print the dev banner. */
kg_err kg_server_start(kg_server **out, const kg_server_config *cfg) KG_WARN_UNUSED;
/** The TCP port the server listens on. */
unsigned kg_server_port(const kg_server *srv);
/** Dev mode: the root token (owned by srv), else NULL. Never log it. */
const char *kg_server_dev_root_token(const kg_server *srv);
/** Stop serving (waits for requests in flight), close the KMS (final audit
 *  checkpoint) and the store, free. NULL is ignored. */
void kg_server_stop(kg_server *srv);

/** Parse and validate a request body the way the server does (size limit,
 *  JSON object, depth). An empty or all-whitespace body is the empty object.
 *  KG_OK | KG_ERR_TOO_LARGE | KG_ERR_BAD_JSON | KG_ERR_BAD_INPUT. */
kg_err kg_server_parse_body(json_t **out, const char *body, size_t len, size_t max_len) KG_WARN_UNUSED;

/** A request target resolved against the route table. */
typedef struct {
    const void *route;   /* the matched route (opaque) */
    const char *action;  /* its audit/policy action name */
    char *param;         /* the decoded {ref}/{accessor}/{name} segment, or NULL */
    size_t limit;        /* ?limit= (0 = not given), 1..1000 */
    char *cursor;        /* ?cursor= or NULL */
    unsigned version;    /* ?version= (0 = not given) */
    uint64_t after;      /* ?after= (0 = not given) */
} kg_server_target;

/** Resolve METHOD and a raw request target ("/v1/keys/pay%2Dments?limit=5")
 *  to a route: percent-decodes each path segment and the query.
 *  KG_OK | KG_ERR_NOT_FOUND (no such path) | KG_ERR_METHOD (path known,
 *  method not) | KG_ERR_BAD_INPUT (bad escape, NUL, unknown or malformed
 *  query parameter, with a detail naming it). *out is empty on error. */
kg_err kg_server_parse_target(kg_server_target *out, const char *method, const char *uri) KG_WARN_UNUSED;
void kg_server_target_free(kg_server_target *t);

#endif
