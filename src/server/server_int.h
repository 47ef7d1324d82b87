/* Declarations shared by the files of the server module (not public).
 *
 * A request goes through one pipeline (pipeline.c): target → route
 * (router.c), body, authentication, the "request" audit entry, the
 * idempotency check (idempotency.c), the handler (handlers_*.c), the
 * "response" audit entry, then the JSON reply (http.c). Handlers see only
 * kg_req: the parsed body, the caller and the decoded path parameter; they
 * return a kg_err (detail via kg_err_set) and a JSON document. */
#ifndef KG_SERVER_INT_H
#define KG_SERVER_INT_H

#include <kashguard/server.h>
#include <kashguard/signer.h>

#include <pthread.h>
#include <sys/types.h>

#define KG_SERVER_VERSION "0.1.0"
#define KG_REQ_ID_LEN 19 /* "r-" + 16 hex + NUL */

/* The server as MPC coordinator (mpc_dev.c, mpc_store.c, handlers_mpc*.c).
 * dir is the coordinator directory of mpc/node.h (CA, coordinator
 * certificate, node registry nodes/<id>.pub); key records and registered
 * node addresses live in the server's store ("mpc/key/<id>",
 * "mpc/node/<id>"). Dev mode (--mpc-nodes N) also runs nodes 1..N as child
 * processes under dir/node<i>; production mode (mpc = true) uses nodes
 * registered through POST /v1/mpc/nodes.
 *
 * Locks: MPC operations run concurrently (nodes serve many connections,
 * the coordinator is thread-safe). key_mu[] are stripes of
 * per-key locks: refresh, reshare and repair of one key never overlap (the
 * record's epoch is compared again when it is written). book_mu guards the
 * node list. Order: key stripe, then book_mu. */
#include <kashguard/mpc.h>
#define KG_SERVER_MPC_NODES_MAX 9
#define KG_SERVER_MPC_BOOK_MAX 255
#define KG_SERVER_MPC_KEY_STRIPES 64
typedef struct {
    pthread_mutex_t key_mu[KG_SERVER_MPC_KEY_STRIPES];
    pthread_mutex_t book_mu;
    char dir[4096];
    bool dev;
    unsigned n;                                 /* dev nodes 1..n */
    pid_t pid[KG_SERVER_MPC_NODES_MAX];
    char addr[KG_SERVER_MPC_NODES_MAX][128];   /* "127.0.0.1:PORT" of dev node i+1 */
    kg_mpc_coordinator *co;                     /* the server as coordinator of the nodes */
    kg_mpc_coord_node book[KG_SERVER_MPC_BOOK_MAX]; /* every node (dev and registered), ascending ids */
    size_t n_book;
} kg_server_mpc;

struct kg_server {
    kg_server_config cfg;
    kg_server_mpc *mpc;         /* NULL unless --mpc-nodes (dev) or mpc = true */
    kg_store *store;
    kg_kms *kms;
    struct MHD_Daemon *daemon;
    unsigned port;
    char *root_token;           /* dev mode only; wiped on stop */
    char *tls_key_pem;          /* wiped on stop */
    char *tls_cert_pem;
    char *tls_ca_pem;
    pthread_t ticker;
    bool ticker_started;
    pthread_mutex_t tick_mu;    /* protects stopping; tick_cv wakes the ticker */
    pthread_cond_t tick_cv;
    bool stopping;
    /* HSM fleet manager (hsm_store.c, handlers_hsm.c): opened before the
     * KMS, closed after it. event_mu guards kms_events: HMS events become
     * audit entries only while the KMS is open. */
    kg_hms *hms;
    kg_secret *seal_pin;        /* auto-unseal PIN, lives as long as the server */
    pthread_mutex_t event_mu;
    bool kms_events;
    _Atomic uint64_t *http_requests; /* per route of the table (kg_server_route_count) */
};

typedef struct kg_req kg_req;
typedef kg_err (*kg_handler)(kg_req *r, json_t **out);

enum {
    KG_ROUTE_NOAUTH = 1,     /* no token needed */
    KG_ROUTE_NOAUDIT = 2,    /* not audited (health probe) */
    KG_ROUTE_IDEMPOTENT = 4, /* honours Idempotency-Key */
    KG_ROUTE_SECRET_OUT = 8, /* the response may carry secrets (token) */
    KG_ROUTE_READONLY = 16,  /* changes no state: its request entry need not be on disk
                                before it runs, only before its response is sent */
};

typedef struct {
    const char *method;
    const char *pattern;     /* segments; "{ref}", "{accessor}", "{name}" capture */
    const char *action;
    unsigned flags;
    kg_handler handler;
} kg_route;

/* One HTTP request, from the first callback to the reply. */
struct kg_req {
    kg_server *srv;
    char *uri;                   /* raw request target as received */
    const char *method;
    kg_server_target target;
    const kg_route *route;       /* NULL when routing failed */
    char request_id[KG_REQ_ID_LEN];
    /* Body accumulation. */
    char *body;
    size_t body_len, body_cap;
    bool too_large;
    json_t *json;                /* the parsed body ({} when empty) */
    /* Headers copied out of MHD (freed with the request). */
    char *token;                 /* wiped on free */
    char *idem_key;
    char *remote;                /* numeric client address */
    bool tls_client_ok;          /* client cert verified (or not required) */
    kg_kms_caller *caller;
    /* Filled by the handler for the audit "response" entry. */
    char key_id[64];
    int64_t key_version;
    bool sensitive;              /* response carries plaintext/keys: wipe it */
    int status;                  /* explicit status for a KG_OK reply (health) */
    uint16_t mpc_culprit;        /* MPC node a failed phase blamed (audited as "culprit"), 0 none */
    /* A non-JSON reply (metrics): the handler sets both, text malloc'd. */
    char *text;
    const char *content_type;
    /* Result. */
    int http_status;
    char *reply;                 /* rendered JSON, NUL-terminated */
    size_t reply_len;
};

/* http.c: the libmicrohttpd daemon on addr (TLS when srv->tls_cert_pem). */
struct sockaddr;
kg_err kg_server_http_start(kg_server *srv, const struct sockaddr *addr) KG_WARN_UNUSED;
void kg_server_http_stop(kg_server *srv);

/* router.c */
/* The route table's size, and the index of a route of it (metrics). */
size_t kg_server_route_count(void);
size_t kg_server_route_index(const kg_route *r);
const kg_route *kg_server_route_at(size_t i);
/* The methods a raw target's path allows ("GET, POST"), for Allow on 405. */
void kg_server_allowed_methods(char *out, size_t cap, const char *uri);
/* The decoded value of query parameter name in a raw target the parser has
 * accepted (out gets "" and false when absent or longer than cap-1). */
bool kg_server_query_value(char *out, size_t cap, const char *uri, const char *name);

/* pipeline.c: run everything after the body has been received. Sets
 * r->http_status and r->reply (never fails to produce a reply). */
void kg_req_run(kg_req *r);
void kg_req_free(kg_req *r);
/* Render `doc` (steals it) as the reply. */
void kg_req_reply_json(kg_req *r, int status, json_t *doc);
/* Render the error for e (message from kg_err_detail or msg). */
void kg_req_reply_error(kg_req *r, kg_err e, const char *msg);
/* Record key_id/version from a KMS info or metadata document for the audit. */
void kg_req_note_key(kg_req *r, const json_t *info);
/* Reject unknown body fields (NULL-terminated list). */
kg_err kg_req_fields(const kg_req *r, const char *const *allowed) KG_WARN_UNUSED;
/* Overwrite every string in doc (plaintexts, tokens) before it is freed. */
void kg_json_wipe_strings(json_t *doc);

/* idempotency.c */
typedef struct {
    char store_key[96];       /* "" when the request has no Idempotency-Key */
    char body_hash[65];
    bool claimed;             /* we created the pending record */
} kg_idem;
/* Before the handler: KG_OK and *replay=NULL → run the handler;
 * KG_OK and *replay set → answer with it (*replay_status);
 * KG_ERR_CONFLICT / KG_ERR_BAD_INPUT / KG_ERR_STORE otherwise. */
kg_err kg_idem_begin(kg_req *r, kg_idem *st, json_t **replay, int *replay_status) KG_WARN_UNUSED;
/* After the handler: store (status, doc) on success, drop the claim otherwise. */
void kg_idem_finish(kg_req *r, kg_idem *st, kg_err e, const json_t *doc);
/* Delete expired records (called by the ticker now and then). */
void kg_idem_sweep(kg_server *srv);

/* Common handler helpers (handlers_keys.c). */
kg_err kg_req_context(const json_t **out, const json_t *obj, const char *field) KG_WARN_UNUSED;
json_t *kg_info_with(json_t *info, const char *field, json_t *value);

/* Handlers. */
kg_err kg_h_health(kg_req *r, json_t **out);
kg_err kg_h_seal_status(kg_req *r, json_t **out);
kg_err kg_h_init(kg_req *r, json_t **out);
kg_err kg_h_unseal(kg_req *r, json_t **out);
kg_err kg_h_seal(kg_req *r, json_t **out);

kg_err kg_h_key_create(kg_req *r, json_t **out);
kg_err kg_h_key_list(kg_req *r, json_t **out);
kg_err kg_h_key_get(kg_req *r, json_t **out);
kg_err kg_h_key_rotate(kg_req *r, json_t **out);
kg_err kg_h_key_enable(kg_req *r, json_t **out);
kg_err kg_h_key_disable(kg_req *r, json_t **out);
kg_err kg_h_key_cancel_deletion(kg_req *r, json_t **out);
kg_err kg_h_key_schedule_deletion(kg_req *r, json_t **out);
kg_err kg_h_key_update(kg_req *r, json_t **out);
kg_err kg_h_key_public(kg_req *r, json_t **out);
kg_err kg_h_import_params(kg_req *r, json_t **out);
kg_err kg_h_key_import(kg_req *r, json_t **out);

kg_err kg_h_encrypt(kg_req *r, json_t **out);
kg_err kg_h_decrypt(kg_req *r, json_t **out);
kg_err kg_h_reencrypt(kg_req *r, json_t **out);
kg_err kg_h_data_key(kg_req *r, json_t **out);
kg_err kg_h_sign(kg_req *r, json_t **out);
kg_err kg_h_verify(kg_req *r, json_t **out);
kg_err kg_h_mac(kg_req *r, json_t **out);
kg_err kg_h_verify_mac(kg_req *r, json_t **out);
kg_err kg_h_random(kg_req *r, json_t **out);

kg_err kg_h_token_create(kg_req *r, json_t **out);
kg_err kg_h_token_lookup(kg_req *r, json_t **out);
kg_err kg_h_token_renew(kg_req *r, json_t **out);
kg_err kg_h_token_revoke(kg_req *r, json_t **out);
kg_err kg_h_policy_put(kg_req *r, json_t **out);
kg_err kg_h_policy_list(kg_req *r, json_t **out);
kg_err kg_h_policy_get(kg_req *r, json_t **out);
kg_err kg_h_policy_delete(kg_req *r, json_t **out);
kg_err kg_h_audit_read(kg_req *r, json_t **out);
kg_err kg_h_audit_hash(kg_req *r, json_t **out);

/* Wallets (handlers_wallets.c, handlers_wallets_tx.c): a wallet named N is
 * the KMS key with alias "wallet-N" (ECC_SECG_P256K1: eth, btc, cosmos) and
 * "wallet-N-ed25519" (ED25519: solana). A request opens it through the KMS
 * as the request's caller, so the KMS's policies decide every access. */
#define KG_WALLET_NAME_MAX 48
typedef struct {
    char name[KG_WALLET_NAME_MAX + 1];
    char alias[KG_WALLET_NAME_MAX + 16];     /* "wallet-<name>" */
    char key_id[64];                         /* pinned: later calls name the key by id */
    uint8_t pub65[65];                       /* uncompressed SEC1 */
    uint8_t pub33[33];                       /* compressed SEC1 */
    kg_signer *signer;                       /* KMS signer acting as the caller */
    kg_key_ref ref;                          /* ref.key = key_id */
} kg_req_wallet;
/* Open the wallet named by the path (needs get-public-key on its key).
 * KG_ERR_BAD_INPUT (name) | KG_ERR_NOT_FOUND ("no wallet ...") | the KMS's errors. */
kg_err kg_req_wallet_open(kg_req_wallet *w, kg_req *r) KG_WARN_UNUSED;
void kg_req_wallet_close(kg_req_wallet *w);
/* "0x" + hex of n bytes as a new JSON string (NULL on OOM). */
json_t *kg_json_0x(const uint8_t *data, size_t n);

/* mpc_dev.c: when cfg.mpc_nodes or cfg.mpc: create or reuse the coordinator
 * directory, migrate key files into the store, load registered nodes and
 * (dev) start nodes 1..cfg.mpc_nodes; stop them. */
kg_err kg_server_mpc_start(kg_server *srv) KG_WARN_UNUSED;
void kg_server_mpc_stop(kg_server *srv);

/* mpc_store.c: key records and registered nodes in the server's store. */
kg_err kg_server_mpc_key_load(kg_server *srv, kg_mpc_key *k, const char *key_id) KG_WARN_UNUSED;
/* Create the record of a new key (KG_ERR_CONFLICT if it exists). */
kg_err kg_server_mpc_key_create(kg_server *srv, const kg_mpc_key *k) KG_WARN_UNUSED;
/* Replace the record if its stored epoch is still old_epoch (one
 * transaction), else KG_ERR_CONFLICT. */
kg_err kg_server_mpc_key_update(kg_server *srv, const kg_mpc_key *k, uint32_t old_epoch) KG_WARN_UNUSED;
/* <dir>/keys/<id>.json -> store, each file renamed *.migrated. */
kg_err kg_server_mpc_migrate(kg_server *srv) KG_WARN_UNUSED;
/* Record node id's address ("mpc/node/<id>") and add it to the book. */
kg_err kg_server_mpc_node_put(kg_server *srv, uint16_t id, const char *addr) KG_WARN_UNUSED;
/* Add every registered node of the store to the book and the coordinator. */
kg_err kg_server_mpc_nodes_load(kg_server *srv) KG_WARN_UNUSED;
/* Add or update id in m->book and the coordinator's address book. */
kg_err kg_server_mpc_book_set(kg_server_mpc *m, uint16_t id, const char *addr) KG_WARN_UNUSED;
/* Copy of the book; returns the count. */
size_t kg_server_mpc_book(kg_server_mpc *m, kg_mpc_coord_node *out, size_t cap);
/* Register a node: certificate from its CSR, envelope keys, address. */
kg_err kg_server_mpc_node_register(kg_server *srv, json_t **out, uint16_t id, const char *addr, const char *csr,
                                   const uint8_t env_pub[static 64]) KG_WARN_UNUSED;

/* MPC keys and nodes through the coordinator (handlers_mpc.c, handlers_mpc_ops.c). */
kg_err kg_h_mpc_key_create(kg_req *r, json_t **out);
kg_err kg_h_mpc_key_get(kg_req *r, json_t **out);
kg_err kg_h_mpc_sign(kg_req *r, json_t **out);
kg_err kg_h_mpc_refresh(kg_req *r, json_t **out);
kg_err kg_h_mpc_reshare(kg_req *r, json_t **out);
kg_err kg_h_mpc_repair(kg_req *r, json_t **out);
kg_err kg_h_mpc_resync(kg_req *r, json_t **out);
kg_err kg_h_mpc_nodes(kg_req *r, json_t **out);
kg_err kg_h_mpc_node_add(kg_req *r, json_t **out);
/* handlers_mpc_import.c: POST /v1/mpc/keys/import (a trusted dealer's
 * sealed shares relayed to the nodes). The parsed body (sealed[i] is the
 * share of ids[i], ids ascending); parse checks everything (untrusted) and
 * frees what it made on error; free releases the shares. */
typedef struct {
    kg_mpc_group_id g;
    bool taproot;
    unsigned t;
    size_t n;
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_mpc_point vss[KG_MPC_FROST_MAX_PARTICIPANTS];
    uint8_t dealer_box[32];
    kg_bytes sealed[KG_MPC_FROST_MAX_PARTICIPANTS];
} kg_server_mpc_import;
kg_err kg_server_mpc_import_parse(kg_server_mpc_import *q, const json_t *body) KG_WARN_UNUSED;
void kg_server_mpc_import_free(kg_server_mpc_import *q);
kg_err kg_h_mpc_key_import(kg_req *r, json_t **out);
/* handlers_mpc.c helpers shared with handlers_mpc_ops.c. */
kg_err kg_server_mpc_unavailable(kg_req *r, json_t **out);
kg_err kg_server_mpc_authorize_key(kg_req *r, const char *action) KG_WARN_UNUSED;
kg_err kg_server_mpc_authorize_create(kg_req *r) KG_WARN_UNUSED;
kg_err kg_server_mpc_key_document(json_t **out, const kg_mpc_key *k) KG_WARN_UNUSED;

kg_err kg_h_wallet_create(kg_req *r, json_t **out);
kg_err kg_h_wallet_list(kg_req *r, json_t **out);
kg_err kg_h_wallet_get(kg_req *r, json_t **out);
kg_err kg_h_wallet_address(kg_req *r, json_t **out);
kg_err kg_h_wallet_sign_message(kg_req *r, json_t **out);
kg_err kg_h_wallet_sign_typed_data(kg_req *r, json_t **out);
kg_err kg_h_wallet_sign_transaction(kg_req *r, json_t **out);
kg_err kg_h_wallet_psbt_sign(kg_req *r, json_t **out);
/* handlers_wallets_tx.c: *spk = the scriptPubKey of input i's witness UTXO
 * (false when it has none, or a script of 253 bytes or more). */
#include <kashguard/chain/psbt.h>
bool kg_psbt_witness_spk(const uint8_t **spk, size_t *len, const kg_chain_psbt *p, size_t i);

/* chain_url.c: may the server call this chain node URL (MPC wallet sends)?
 * The chain_rpc_allow prefixes, or loopback only in --dev. A URL from a
 * request otherwise lets any token holder make the server reach any host. */
kg_err kg_server_chain_url_check(const kg_server *srv, const char *url) KG_WARN_UNUSED;

/* Wallets on MPC keys (handlers_mpc_wallet.c): Bitcoin P2TR (BIP86) on a
 * frost-secp256k1-tr key, Solana on a frost-ed25519 key, signed through the
 * networked signer (kg_mpc_coordinator_signer_new). */
kg_err kg_h_mpc_address(kg_req *r, json_t **out);
kg_err kg_h_mpc_psbt(kg_req *r, json_t **out);
kg_err kg_h_mpc_btc_send(kg_req *r, json_t **out);
kg_err kg_h_mpc_sol_transfer(kg_req *r, json_t **out);
/* Finalize a fully signed PSBT: *hex (malloc'd) the network transaction and
 * its txid (shared by the P2TR and the P2WPKH PSBT routes). */
kg_err kg_server_psbt_finish(kg_chain_psbt *p, char **hex, char txid[65]) KG_WARN_UNUSED;

/* HSM fleet (hsm_store.c): registrations in the store, re-added at start.
 *   hsm/members/<name>  {"name","module","token","pin_file"|"pin_env","registered_at"}
 *   hsm/groups/<name>   {"name","members":[...],"created_at"}
 * Never a PIN: the file path or the variable name only. */
/* Read a PIN from the first line of file, or from the environment variable
 * env (exactly one non-NULL); what names it in errors. KG_ERR_BAD_INPUT. */
kg_err kg_server_pin_read(kg_secret **out, const char *file, const char *env, const char *what) KG_WARN_UNUSED;
kg_err kg_server_hsm_member_put(kg_server *srv, const char *name, const char *module, const char *token,
                                const char *pin_file, const char *pin_env) KG_WARN_UNUSED;
kg_err kg_server_hsm_group_put(kg_server *srv, const char *name, const json_t *members) KG_WARN_UNUSED;
/* Delete hsm/members/<name>; *existed tells whether there was one. */
kg_err kg_server_hsm_member_delete(kg_server *srv, const char *name, bool *existed) KG_WARN_UNUSED;
/* Re-add every stored member (must_open = false) then every group; a record
 * that cannot be used is logged and skipped (the server still starts). */
void kg_server_hsm_load(kg_server *srv);
/* The HMS on_event callback (ctx = the server): an "hsm_event" audit entry. */
void kg_server_hsm_event(void *ctx, const char *event, const char *member, const char *group,
                         const char *state, const char *reason);
/* handlers_hsm.c */
kg_err kg_h_hsm_member_add(kg_req *r, json_t **out);
kg_err kg_h_hsm_members(kg_req *r, json_t **out);
kg_err kg_h_hsm_member_get(kg_req *r, json_t **out);
kg_err kg_h_hsm_member_remove(kg_req *r, json_t **out);
kg_err kg_h_hsm_group_create(kg_req *r, json_t **out);
kg_err kg_h_hsm_groups(kg_req *r, json_t **out);
/* handlers_sys.c: Prometheus text (HMS, seal, keys, HTTP requests). */
kg_err kg_h_metrics(kg_req *r, json_t **out);

/* Threshold ECDSA (CGGMP21) keys (handlers_mpc_ecdsa.c): presign, digest
 * signing; the FROST routes hand ECDSA keys over (kg_server_mpc_key_is_ecdsa). */
bool kg_server_mpc_key_is_ecdsa(kg_req *r);
/* Record the node a failed MPC phase named ("party <id> ...") for the audit. */
void kg_server_mpc_note_culprit(kg_req *r, kg_err e);
/* A "path" field: "m" or "m/0/5" (non-hardened BIP32; NULL is fine). 400 with why. */
kg_err kg_server_mpc_path_check(const char *path) KG_WARN_UNUSED;
/* The 33-byte compressed key of k's child at path (NULL/"m": the group key). */
kg_err kg_server_mpc_child_pub(uint8_t out[33], const kg_mpc_key *k, const char *path) KG_WARN_UNUSED;
kg_err kg_h_mpc_ecdsa_sign(kg_req *r, json_t **out);
kg_err kg_h_mpc_presign(kg_req *r, json_t **out);
/* Wallets on ECDSA MPC keys (handlers_mpc_ecdsa_wallet.c): Ethereum and
 * Bitcoin P2WPKH addresses, EIP-1559 sends, P2WPKH PSBT signing. */
kg_err kg_h_mpc_ecdsa_address(kg_req *r, json_t **out);
kg_err kg_h_mpc_ecdsa_psbt(kg_req *r, json_t **out);
kg_err kg_h_mpc_evm_send(kg_req *r, json_t **out);

#endif
