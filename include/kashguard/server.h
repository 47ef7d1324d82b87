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
    unsigned threads;           /* worker threads, default 2 x cores */
    kg_kms_config kms;
} kg_server_config;

/** Defaults as documented above. */
void kg_server_config_default(kg_server_config *cfg);
/** Read a config file of `key = value` lines (keys as in the docs:
 *  listen, data_dir, tls_cert, tls_key, tls_client_ca, tls_disable,
 *  max_body_bytes, threads, min_deletion_wait, audit_fsync,
 *  audit_checkpoint_every). Strings it points to are owned by the process. */
kg_err kg_server_config_load(kg_server_config *cfg, const char *path) KG_WARN_UNUSED;

/** Run until SIGINT/SIGTERM. Returns KG_OK on a clean shutdown. */
kg_err kg_server_run(const kg_server_config *cfg) KG_WARN_UNUSED;

/* For tests and fuzzing: the request pipeline without the network. */
typedef struct kg_server kg_server;
/** Parse and validate a request body the way the server does (size limit,
 *  JSON object, depth). */
kg_err kg_server_parse_body(json_t **out, const char *body, size_t len, size_t max_len) KG_WARN_UNUSED;

#endif
