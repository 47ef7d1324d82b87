/* Private helpers shared by the mpc node and coordinator files
 * (node.c, node_util.c, coord.c). */
#ifndef KG_MPC_NODE_INT_H
#define KG_MPC_NODE_INT_H

#include "kashguard/mpc/node.h"

/** Read a whole file of at most max bytes. KG_OK | KG_ERR_NOT_FOUND | KG_ERR_IO | KG_ERR_TOO_LARGE. */
kg_err kg_mpc_node_file_read(kg_bytes *out, const char *path, size_t max) KG_WARN_UNUSED;
/** Write a file mode 0600 through a temporary file and rename(2); with
 *  excl an existing file is KG_ERR_CONFLICT. */
kg_err kg_mpc_node_file_write(const char *path, const uint8_t *data, size_t len, bool excl) KG_WARN_UNUSED;
/** A key share's fixed wire form (group, id, t, n, secret, PK_i, PK). */
#define KG_MPC_NODE_SHARE_BYTES (1 + 2 + 2 + 2 + KG_MPC_SCALAR_BYTES + 2 * KG_MPC_POINT_MAX_BYTES)
void kg_mpc_node_share_pack(uint8_t out[static KG_MPC_NODE_SHARE_BYTES], const kg_mpc_frost_key_share *s);
kg_err kg_mpc_node_share_unpack(kg_mpc_frost_key_share *s, const uint8_t in[static KG_MPC_NODE_SHARE_BYTES]) KG_WARN_UNUSED;

/** mkdir 0700; an existing directory is fine. */
kg_err kg_mpc_node_mkdir(const char *path) KG_WARN_UNUSED;

/* coord.c: the coordinator's plumbing, shared by coord_dkg.c, coord_sign.c,
 * coord_refresh.c and coord_status.c. */
#define KG_MPC_COORD_CONNECT_MS 3000
const char *kg_mpc_co_dir(const kg_mpc_coordinator *co);
/** A connection to node id of the address book (KG_ERR_NOT_FOUND without
 *  an address; the error names the node and address). */
kg_err kg_mpc_co_connect(kg_mpc_net_conn **out, kg_mpc_coordinator *co, uint16_t id) KG_WARN_UNUSED;
/** Give a connection back: healthy ones may be kept for reuse, others are
 *  closed. NULL is ignored. */
void kg_mpc_co_release(kg_mpc_coordinator *co, kg_mpc_net_conn *c, bool healthy);
/** Copy of the address book (ascending ids); returns the count. */
size_t kg_mpc_co_nodes(kg_mpc_coordinator *co, kg_mpc_coord_node *out, size_t cap);
/** Node id's envelope public keys from dir/nodes/<id>.pub. */
kg_err kg_mpc_co_registry_get(kg_mpc_net_pubkeys *out, const kg_mpc_coordinator *co, uint16_t id) KG_WARN_UNUSED;
/** Send one request on c; a failure's detail starts "node <id>: ". */
kg_err kg_mpc_co_send(kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g, const uint8_t *session,
                      const kg_bytes *body, int timeout_ms) KG_WARN_UNUSED;
/** Receive the answer to a request of type for session: *resp is the raw
 *  frame, *m points into it; an ERROR answer becomes its error code with
 *  "node <id>: ..." detail, as does any other failure. */
kg_err kg_mpc_co_recv(kg_bytes *resp, kg_mpc_node_msg *m, kg_mpc_net_conn *c, uint8_t type, const uint8_t *session,
                      int timeout_ms) KG_WARN_UNUSED;
/** The nodes dropped from a signing session and why (their errors' details,
 *  each naming its node), for the error when too few are left. */
typedef struct {
    bool failed[KG_MPC_FROST_MAX_PARTICIPANTS]; /* by index in the key's ids */
    char why[1536];
    size_t off;
} kg_mpc_co_failures;
void kg_mpc_co_fail(kg_mpc_co_failures *f, size_t idx, kg_err err);
/** One request/response (kg_mpc_co_send then kg_mpc_co_recv, 30 s each). */
kg_err kg_mpc_coord_call(kg_bytes *resp, kg_mpc_node_msg *m, kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g,
                         const uint8_t *session, const kg_bytes *body) KG_WARN_UNUSED;

/* ------------------------------------------------ node process internals
 * (node.c: sessions, sealed share store, dispatch, serve loop, startup;
 * node_dkg.c: the DKG requests; node_sign.c: the signing requests). */

#include <pthread.h>
#include <time.h>
#include "kashguard/store.h"

#define KG_MPC_ND_MAX_SESSIONS 64
#define KG_MPC_ND_SESSION_TTL_S 600

enum { KG_MPC_ND_S_DKG1 = 1, KG_MPC_ND_S_DKG2, KG_MPC_ND_S_SIGN };

/** One protocol session of a node (DKG or signing), keyed by session id. */
typedef struct {
    uint8_t id[KG_MPC_NET_SESSION_ID_BYTES];
    int kind; /* KG_MPC_ND_S_* */
    kg_mpc_group_id g;
    time_t created;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    unsigned t, n;
    kg_mpc_frost_dkg *dkg;
    kg_mpc_net_pubkeys reg[KG_MPC_FROST_MAX_PARTICIPANTS]; /* reg[i-1]: party i */
    kg_secret *nonce; /* kg_mpc_frost_nonce */
    /* node_dkg.c echo check: the round-1 envelopes by sender (r1[i-1]: party
     * i's, n entries), their transcript digest, and the new share kept
     * PENDING (a kg_mpc_frost_key_share) from DKG_FINISH until DKG_CONFIRM. */
    kg_bytes *r1;
    uint8_t transcript[32];
    kg_secret *pending;
    /* node_refresh.c, node_repair.c (EPOCH_*, REPAIR_*): this node's own
     * dealing or repair piece (wiped with the session), the request's mode
     * and epoch, and for a repair the helpers and the node repaired. */
    kg_mpc_scalar ep_own;
    bool ep_has_own;
    uint16_t ep_mode;
    uint32_t ep_epoch;
    uint16_t ep_ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t ep_n;
    uint16_t ep_lost;
    struct kg_mpc_nd_cg *cg; /* node_cggmp.c: a CGGMP21 phase run (wiped with the session) */
} kg_mpc_nd_session;

/** node_seal.c: the node's seal key (DIR/seal.key, or with a passphrase
 *  DIR/seal.key.enc, Argon2id + XChaCha20-Poly1305; a plaintext seal.key
 *  is converted and wiped). A wrong passphrase changes nothing. */
kg_err kg_mpc_nd_seal_key_load(kg_secret **out, const char *data_dir, const char *passphrase) KG_WARN_UNUSED;

/** A running node. */
typedef struct {
    const kg_mpc_node_config *cfg;
    kg_store *st;
    kg_secret *seal_key, *env;
    kg_mpc_net_pubkeys env_pub;
    kg_mpc_net_replay *replay;
    kg_mpc_nd_session *s[KG_MPC_ND_MAX_SESSIONS];
    pthread_mutex_t mu; /* node.c: held around handle() (sessions, replay window) */
    struct kg_mpc_nd_pre *pre; /* node_sign.c: open nonce stores (leases), one per key */
    struct kg_mpc_prime_pool *primes; /* node_cggmp_store.c: safe primes for CGGMP21 aux/refresh */
    struct kg_mpc_nd_cgprep *cgprep;  /* node_cggmp_prep.c: presign precomputations (NULL: off) */
} kg_mpc_nd;

void kg_mpc_nd_session_free(kg_mpc_nd *nd, size_t i);
kg_mpc_nd_session *kg_mpc_nd_session_find(kg_mpc_nd *nd, const uint8_t *id);
void kg_mpc_nd_session_drop(kg_mpc_nd *nd, const kg_mpc_nd_session *s);
/** A new session for m's session id (KG_ERR_CONFLICT if it exists). */
kg_err kg_mpc_nd_session_new(kg_mpc_nd_session **out, kg_mpc_nd *nd, const kg_mpc_node_msg *m, int kind) KG_WARN_UNUSED;
/** The store record name of a key's share. */
void kg_mpc_nd_share_record(char *out, size_t cap, const char *key_id);
/** Seal and store a new share (KG_ERR_CONFLICT if the key exists). */
kg_err kg_mpc_nd_share_save(kg_mpc_nd *nd, const char *key_id, const kg_mpc_frost_key_share *sh) KG_WARN_UNUSED;
/** Load and unseal a share: *out holds a kg_mpc_frost_key_share. */
kg_err kg_mpc_nd_share_load(kg_secret **out, kg_mpc_nd *nd, const char *key_id) KG_WARN_UNUSED;
/** An envelope header for session s. */
kg_err kg_mpc_nd_env_header(kg_mpc_net_header *h, const kg_mpc_nd_session *s, uint8_t type, uint16_t me, uint16_t to,
                            uint32_t round, uint64_t seq) KG_WARN_UNUSED;
/** Check a relayed envelope's header against the session. */
kg_err kg_mpc_nd_env_check(const kg_mpc_net_envelope *e, const kg_mpc_nd_session *s, uint8_t type, uint32_t round,
                           uint16_t to, uint16_t me) KG_WARN_UNUSED;

/* Request handlers: m is the decoded request, w the response body. */
kg_err kg_mpc_nd_dkg_round1(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_dkg_round2(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_dkg_finish(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_sign_commit(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_sign_share(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/* node_ping.c: PING (liveness, node id, shares held). */
kg_err kg_mpc_nd_ping(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/* node_keyinfo.c: KEY_INFO (a key's epoch and public share on this node). */
kg_err kg_mpc_nd_key_info(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/** coord_resync.c: a KEY_INFO answer of node want for group g. */
kg_err kg_mpc_co_keyinfo_answer_read(uint32_t *epoch, kg_mpc_point *pub, uint16_t want, kg_mpc_group_id g,
                                     const uint8_t *body, size_t len) KG_WARN_UNUSED;
/* node_sign_tr.c: BIP 445 (frost-secp256k1-tr) signing; the session's
 * nonce holds the secnonce and the round-1 message hash. */
enum { KG_MPC_ND_S_SIGN_TR = 0x30 };
kg_err kg_mpc_nd_sign_tr_nonce(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_sign_tr_sign(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/* coord_sign_tr.c: kg_mpc_coordinator_sign for a k->taproot key. */
kg_err kg_mpc_co_sign_tr(kg_mpc_coordinator *co, uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES], size_t *sig_len,
                         const kg_mpc_key *k, const uint8_t *msg, size_t msg_len, const kg_mpc_sign_opts *opts) KG_WARN_UNUSED;

/* node_dkg.c: the echo check of the DKG. A session in state
 * KG_MPC_ND_S_DKG3 holds a pending share awaiting DKG_CONFIRM; in
 * KG_MPC_ND_S_DKGOK the share was activated (a DKG_ABORT still removes it). */
enum { KG_MPC_ND_S_DKG3 = 0x13, KG_MPC_ND_S_DKGOK = 0x14 };
kg_err kg_mpc_nd_dkg_confirm(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_dkg_abort(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/** Free a session's DKG transcript and pending share (kg_mpc_nd_session_free). */
void kg_mpc_nd_dkg_state_free(kg_mpc_nd_session *s);

/* node_sign.c: preprocessed signing (no session; safe to run without
 * nd->mu): PREPROCESS stores n nonces durably, SIGN_PRE signs with one. */
kg_err kg_mpc_nd_sign_preprocess(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_sign_pre(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/** Close the node's nonce stores (leased, unused nonces die); at shutdown. */
void kg_mpc_nd_pre_free(kg_mpc_nd *nd);

/* Parsers of untrusted message bodies, exposed for fuzz/fuzz_mpc_bodies.c.
 * Each returns KG_OK or KG_ERR_BAD_INPUT (| KG_ERR_NOMEM) and zeroes its
 * outputs on error. */
/** A SIGN_PRE request: key id, message, commitments (cs: free() it). */
typedef struct {
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    const uint8_t *msg;
    size_t msg_len;
    kg_mpc_frost_commitment *cs;
    unsigned cnt;
} kg_mpc_nd_pre_req;
kg_err kg_mpc_nd_sign_pre_read(kg_mpc_nd_pre_req *q, kg_mpc_group_id g, const uint8_t *body, size_t len) KG_WARN_UNUSED;
/** A SIGN_PREPROCESS request: key id, count (1..100). */
kg_err kg_mpc_nd_preprocess_read(char key_id[static KG_MPC_NODE_KEY_ID_MAX + 1], unsigned *n, const uint8_t *body,
                                 size_t len) KG_WARN_UNUSED;
/** node_sign_tr.c: the BIP 445 round-2 body after its head (signers, aggnonce, tweaks). */
kg_err kg_mpc_nd_tr_round2_read(const uint8_t *body, size_t len) KG_WARN_UNUSED;
/** coord_cache.c: a SIGN_PREPROCESS answer of node for n commitments of
 *  suite g: raw[i] (lens[i] bytes) are the checked wire forms, run the
 *  node's nonce-store run id. */
kg_err kg_mpc_co_preprocess_answer_read(uint8_t (*raw)[KG_MPC_FROST_COMMITMENT_MAX_BYTES], size_t *lens,
                                        uint8_t run[static KG_MPC_FROST_NONCE_RUN_ID_BYTES], kg_mpc_group_id g,
                                        uint16_t node, unsigned n, const uint8_t *body, size_t len) KG_WARN_UNUSED;
/** coord_status.c: a PING answer of node want; *shares its share count. */
kg_err kg_mpc_co_ping_answer_read(uint16_t want, int *shares, const uint8_t *body, size_t len) KG_WARN_UNUSED;
/** coord_dkg.c: a DKG_FINISH answer: want bytes of results (group key and
 *  public shares) into fin, the signed confirmation blob into conf. */
kg_err kg_mpc_co_dkg_finish_read(kg_bytes *fin, kg_bytes *conf, size_t want, const uint8_t *body,
                                 size_t len) KG_WARN_UNUSED;
/* coord_cache.c: the coordinator's cache of preprocessed commitments per
 * (node, key) and its background refill. */
typedef struct kg_mpc_co_cache kg_mpc_co_cache;
kg_err kg_mpc_co_cache_new(kg_mpc_co_cache **out, kg_mpc_coordinator *co) KG_WARN_UNUSED;
void kg_mpc_co_cache_free(kg_mpc_co_cache *c);
kg_mpc_co_cache *kg_mpc_co_cache_of(kg_mpc_coordinator *co);
/** Pop one cached commitment (wire form) of node for key; false if none. */
bool kg_mpc_co_cache_pop(kg_mpc_co_cache *c, uint16_t node, const char *key_id, uint8_t *out, size_t *len);
/** Put commitments back or add new ones (copies). */
void kg_mpc_co_cache_push(kg_mpc_co_cache *c, uint16_t node, const char *key_id, const uint8_t *commit, size_t len);
/** Forget node's commitments for key (it failed, restarted or lost them). */
void kg_mpc_co_cache_drop(kg_mpc_co_cache *c, uint16_t node, const char *key_id);
/** After a signature: queue a background refill of node for key when its
 *  cache is below the low-water mark (no-op when preprocessing is off). */
void kg_mpc_co_cache_want(kg_mpc_co_cache *c, uint16_t node, const char *key_id, kg_mpc_group_id g);
/** Ask node for n commitments now and cache them. */
kg_err kg_mpc_co_cache_fill(kg_mpc_coordinator *co, uint16_t node, const char *key_id, kg_mpc_group_id g,
                            unsigned n) KG_WARN_UNUSED;

/* node_epoch.c, node_refresh.c, node_repair.c: share epochs, refresh,
 * reshare and repair (EPOCH_* and REPAIR_* of mpc/node.h). Key ids of these
 * protocols are 1..255. */
enum { KG_MPC_ND_S_EPOCH = 0x40, KG_MPC_ND_S_REPAIR = 0x48 };
/** Every EPOCH_* and REPAIR_* request (s: the session of m's id, or NULL). */
kg_err kg_mpc_nd_epoch_handle(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/** The epoch of this node's share of key_id (0 when never refreshed). */
kg_err kg_mpc_nd_share_epoch(uint32_t *epoch, kg_mpc_nd *nd, const char *key_id) KG_WARN_UNUSED;
/** Seal and put (insert or replace) key_id's active share and its epoch, in txn. */
kg_err kg_mpc_nd_share_replace(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, const kg_mpc_frost_key_share *sh,
                               uint32_t epoch) KG_WARN_UNUSED;
/** Keep sh as key_id's PENDING share of epoch for session (replaces any). */
kg_err kg_mpc_nd_pending_save(kg_mpc_nd *nd, const char *key_id, const kg_mpc_frost_key_share *sh, uint32_t epoch,
                              const uint8_t *session) KG_WARN_UNUSED;
/** Delete record mpc/<what>/<key_id> in txn (absent is fine). */
kg_err kg_mpc_nd_ep_del(kg_mpc_nd *nd, kg_store_txn *txn, const char *what, const char *key_id) KG_WARN_UNUSED;
/** key_id's active share, which must be at epoch (else KG_ERR_CONFLICT: repair the node) and of group g. */
kg_err kg_mpc_nd_ep_load_at(kg_secret **out, kg_mpc_nd *nd, const char *key_id, kg_mpc_group_id g, uint32_t epoch) KG_WARN_UNUSED;
/** kg_err_set(code, "<fmt>: <err's current detail>") (the detail copied first). */
kg_err kg_mpc_nd_ep_wrap(kg_err err, kg_err code, const char *fmt, ...) KG_PRINTF(3, 4);
/* Body parsing of these requests (node_refresh.c). */
uint32_t kg_mpc_nd_ep_rd_u32(kg_mpc_node_rd *r);
bool kg_mpc_nd_ep_has(const uint16_t *ids, size_t n, uint16_t id);
kg_err kg_mpc_nd_ep_rd_key_id(kg_mpc_node_rd *r, char *out) KG_WARN_UNUSED;
kg_err kg_mpc_nd_ep_rd_ids(kg_mpc_node_rd *r, uint16_t *ids, size_t *n, size_t lo, const char *what) KG_WARN_UNUSED;
kg_err kg_mpc_nd_ep_rd_reg(kg_mpc_node_rd *r, kg_mpc_net_pubkeys *reg, bool *in_reg) KG_WARN_UNUSED;
kg_err kg_mpc_nd_ep_env_get(kg_mpc_net_envelope *e, const uint8_t *p, size_t len, const kg_mpc_node_msg *m, uint8_t type,
                            uint32_t round, uint16_t to) KG_WARN_UNUSED;
kg_err kg_mpc_nd_ep_seal_scalar(kg_mpc_nd *nd, kg_mpc_node_wr *w, const kg_mpc_node_msg *m, uint8_t type, uint32_t round,
                                uint16_t to, const kg_mpc_scalar *x, const uint8_t box[32]) KG_WARN_UNUSED;
kg_err kg_mpc_nd_ep_open_scalar(kg_mpc_nd *nd, kg_mpc_scalar *out, const kg_mpc_net_envelope *e, kg_mpc_group_id g,
                                const uint8_t box[32]) KG_WARN_UNUSED;
kg_err kg_mpc_nd_epoch_deal(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_epoch_finish(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_repair_step1(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_repair_step2(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_repair_finish(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;

/* node_import.c, coord_import.c: trusted-dealer import (IMPORT_* of
 * mpc/node.h). The session keeps the holders in ep_ids/ep_n, the digest
 * in transcript and the pending share in pending. */
enum { KG_MPC_ND_S_IMPORT = 0x70, KG_MPC_ND_S_IMPORTOK = 0x71 };
kg_err kg_mpc_nd_import_share(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_import_confirm(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_import_abort(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/** The digest every holder confirms: SHA-256 of a tag, session, key id, t,
 *  holders, the dealer's X25519 key and the t commitments. */
kg_err kg_mpc_co_import_digest(uint8_t out[32], kg_mpc_group_id g, const uint8_t *session, const char *key_id, unsigned t,
                               const uint16_t *ids, size_t n, const uint8_t dealer_box[32], const kg_mpc_point *vss) KG_WARN_UNUSED;

/* coord_refresh.c, coord_repair.c: refresh, reshare and repair (coordinator side). */
/** k can be refreshed, reshared or repaired: 2 <= t <= n, ids ascending in 1..255. */
kg_err kg_mpc_co_key_check(const kg_mpc_key *k) KG_WARN_UNUSED;
void kg_mpc_co_wr_u32(kg_mpc_node_wr *w, uint32_t v);
void kg_mpc_co_wr_ids(kg_mpc_node_wr *w, const uint16_t *ids, size_t n);
/** A registry of the ids with in_reg[id] (u16 count, {id, box, sign}). */
void kg_mpc_co_wr_reg(kg_mpc_node_wr *w, const kg_mpc_net_pubkeys *reg, const bool *in_reg);
void kg_mpc_co_wr_point(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_point *p);
/** Send w's body (freed) as a request of type and drop the answer. */
kg_err kg_mpc_co_call0(kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g, const uint8_t *sess, kg_mpc_node_wr *w) KG_WARN_UNUSED;


/* ------------------------------------------------ CGGMP21 on the node
 * (node_cggmp.c: START/ROUND/CONFIRM/ABORT of keygen, aux, refresh and
 * presign; node_cggmp_sign.c: SIGN, BLAME, INFO; node_cggmp_store.c: the
 * sealed records cggmp/<key>/share|aux|presig/<hex id> and the safe-prime
 * pool). Wire bodies: mpc/node.h and docs/mpc.md. */
#include "kashguard/mpc/cggmp.h"
enum { KG_MPC_ND_S_CGGMP = 0x50 };
/* At most this many CGGMP sessions at once (each holds Paillier state and
 * proofs of several hundred kB); like every session they expire after
 * KG_MPC_ND_SESSION_TTL_S and are wiped. */
#define KG_MPC_ND_MAX_CGGMP_SESSIONS 16
/* Phases of CGGMP_START. */
enum { KG_MPC_ND_CG_KEYGEN = 1, KG_MPC_ND_CG_AUX = 2, KG_MPC_ND_CG_REFRESH = 3, KG_MPC_ND_CG_PRESIGN = 4 };
enum { KG_MPC_ND_CG_RESHARE = 5 }; /* node_cggmp.c: move the key to a new set (cggmp_reshare.c) */
/** Every CGGMP_* request (s: the session of m's id, or NULL). */
kg_err kg_mpc_nd_cggmp_handle(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/** Free and wipe a session's CGGMP state (kg_mpc_nd_session_free). */
void kg_mpc_nd_cggmp_state_free(kg_mpc_nd_session *s);
kg_err kg_mpc_nd_cggmp_sign(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_cggmp_info(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
kg_err kg_mpc_nd_cggmp_blame(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w) KG_WARN_UNUSED;
/** The presign state of a CGGMP session that failed its δ check or is
 *  pending CONFIRM (for BLAME kind 1), or NULL. */
const kg_mpc_cggmp_presign *kg_mpc_nd_cggmp_presign_of(const kg_mpc_nd_session *s);
/** The aux info a presign session runs with (BLAME kind 1), or NULL. */
const kg_mpc_cggmp_aux *kg_mpc_nd_cggmp_aux_of(const kg_mpc_nd_session *s);

/* node_cggmp_store.c. Records are sealed like FROST shares (AES-256-GCM
 * under the node's seal key, AAD = record name and the clear header). */
/** Open the node's pool <data_dir>/cggmp-primes.txt of paillier_bits/2-bit
 *  safe primes (0 = 3072), target 4, filled in the background. */
kg_err kg_mpc_nd_cg_pool_open(kg_mpc_nd *nd, unsigned paillier_bits) KG_WARN_UNUSED;
/** Start filling the pool (KG_MPC_ND_CG_PRIMES primes kept ready) once the
 *  node gets CGGMP21 work; a no-op when it already fills. */
kg_err kg_mpc_nd_cg_pool_fill(kg_mpc_nd *nd) KG_WARN_UNUSED;
#define KG_MPC_ND_CG_PRIMES 4
void kg_mpc_nd_cg_pool_close(kg_mpc_nd *nd);
/** Store key_id's share (create: KG_ERR_CONFLICT if the key exists). */
kg_err kg_mpc_nd_cg_share_save(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, const kg_mpc_cggmp_share *sh,
                               bool create) KG_WARN_UNUSED;
/** Load key_id's share into *out (wipe it after use). KG_ERR_NOT_FOUND. */
kg_err kg_mpc_nd_cg_share_load(kg_mpc_nd *nd, const char *key_id, kg_mpc_cggmp_share *out) KG_WARN_UNUSED;
kg_err kg_mpc_nd_cg_aux_save(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, const kg_mpc_cggmp_aux *a) KG_WARN_UNUSED;
kg_err kg_mpc_nd_cg_aux_load(kg_mpc_nd *nd, const char *key_id, kg_mpc_cggmp_aux **out) KG_WARN_UNUSED;
/** A presignature record's clear (authenticated) header. */
typedef struct {
    bool used;
    uint64_t used_seq;  /* order of use (1, 2, ...) */
    uint8_t digest[32]; /* what it signed (used only) */
    uint8_t path[32];   /* SHA-256 of the derivation path it signed with (used only) */
    uint16_t ns;
    uint16_t signers[KG_CGGMP_MAX_PARTIES];
} kg_mpc_nd_cg_presig_meta;
/** Store a new (unused) presignature of key_id under its id. */
kg_err kg_mpc_nd_cg_presig_save(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id,
                                const kg_mpc_cggmp_presig *ps) KG_WARN_UNUSED;
/** Load presignature id of key_id (out may be NULL: header only). */
kg_err kg_mpc_nd_cg_presig_load(kg_mpc_nd *nd, const char *key_id, const uint8_t id[32], kg_mpc_cggmp_presig **out,
                                kg_mpc_nd_cg_presig_meta *meta) KG_WARN_UNUSED;
/** Mark presignature id USED (for digest and path hash) durably, in one
 *  transaction, and prune used ones beyond the newest 100. KG_ERR_NOT_FOUND
 *  (unknown) | KG_ERR_CONFLICT (already used). */
kg_err kg_mpc_nd_cg_presig_use(kg_mpc_nd *nd, const char *key_id, const uint8_t id[32], const uint8_t digest[32],
                               const uint8_t path_hash[32]) KG_WARN_UNUSED;
/** Delete presignature id of key_id unless it was used (absent is fine). */
kg_err kg_mpc_nd_cg_presig_drop(kg_mpc_nd *nd, const char *key_id, const uint8_t id[32]) KG_WARN_UNUSED;
/** Delete every presignature of key_id (refresh: they belong to the old epoch). */
kg_err kg_mpc_nd_cg_presigs_delete(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id) KG_WARN_UNUSED;
/** Delete every CGGMP record of key_id (a keygen aborted after CONFIRM). */
kg_err kg_mpc_nd_cg_key_delete(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id) KG_WARN_UNUSED;
/** Call fn for every presignature of key_id (ids in byte order). */
typedef int (*kg_mpc_nd_cg_presig_fn)(void *arg, const uint8_t id[32], const kg_mpc_nd_cg_presig_meta *meta);
kg_err kg_mpc_nd_cg_presig_list(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, kg_mpc_nd_cg_presig_fn fn,
                                void *arg) KG_WARN_UNUSED;

/* Body decoders of the CGGMP requests (fuzz/fuzz_mpc_cggmp_node.c). Each
 * returns KG_OK or KG_ERR_BAD_INPUT and zeroes its output on error. */
typedef struct {
    uint16_t phase;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint16_t t, n, ids[KG_CGGMP_MAX_PARTIES];
    kg_mpc_net_pubkeys reg[KG_CGGMP_MAX_PARTIES]; /* reg[i]: ids[i]'s keys */
    uint16_t ns, signers[KG_CGGMP_MAX_PARTIES];   /* ascending */
    uint32_t epoch;
    /* Phase 5 (reshare; t = the new threshold, ids = every participant,
     * signers = the dealers): the new set and the old key's public data
     * (SEC1 compressed points as sent, 33 bytes; checked at use). */
    uint16_t new_n, new_ids[KG_CGGMP_MAX_PARTIES];
    uint16_t old_t, old_n, old_ids[KG_CGGMP_MAX_PARTIES];
    uint8_t old_X[KG_CGGMP_MAX_PARTIES][33], old_pub[33], chain_code[32];
} kg_mpc_nd_cg_start_req;
kg_err kg_mpc_nd_cg_start_read(kg_mpc_nd_cg_start_req *q, const uint8_t *body, size_t len) KG_WARN_UNUSED;
/** CGGMP_ROUND: the round and the envelopes (p[i], lens[i] point into body;
 *  at most cap of them). */
kg_err kg_mpc_nd_cg_round_read(uint16_t *round, const uint8_t **p, size_t *lens, size_t *cnt, size_t cap,
                               const uint8_t *body, size_t len) KG_WARN_UNUSED;
typedef struct {
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint8_t presig[32], digest[32];
    uint32_t path[255];
    size_t depth;
} kg_mpc_nd_cg_sign_req;
kg_err kg_mpc_nd_cg_sign_read(kg_mpc_nd_cg_sign_req *q, const uint8_t *body, size_t len) KG_WARN_UNUSED;
/** SHA-256 of a derivation path (u16 depth, depth x u32, big-endian). */
void kg_mpc_nd_cg_path_hash(uint8_t out[32], const uint32_t *path, size_t depth);

/* --- presign precomputation engineer: node_cggmp_prep.c --- */
/** Preps kept ready per (key, signing set) seen recently. */
#define KG_MPC_ND_CG_PREP_TARGET 2
/** Start the background worker (not when KG_CGGMP_PREP=0). KG_OK |
 *  KG_ERR_NOMEM. */
kg_err kg_mpc_nd_cgprep_open(kg_mpc_nd *nd) KG_WARN_UNUSED;
/** Stop the worker (waits for it) and wipe every prep. */
void kg_mpc_nd_cgprep_close(kg_mpc_nd *nd);
/** Ask for KG_MPC_ND_CG_PREP_TARGET preps for (key_id at epoch, signers
 *  ascending); cheap, any thread, with or without nd->mu. */
void kg_mpc_nd_cgprep_want(kg_mpc_nd *nd, const char *key_id, uint32_t epoch, const uint16_t *signers, size_t ns);
/** Take a ready prep (the caller owns it), or NULL. */
kg_mpc_cggmp_presign_prep *kg_mpc_nd_cgprep_take(kg_mpc_nd *nd, const char *key_id, uint32_t epoch,
                                                 const uint16_t *signers, size_t ns);
/** A decoded aux info of key_id the worker made while filling preps for
 *  (key, signers), when the stored record is still the one it decoded
 *  (the caller owns it), or NULL: decoding costs tens of milliseconds
 *  (prime checks), so a presign START takes it instead of decoding. */
kg_mpc_cggmp_aux *kg_mpc_nd_cgprep_aux(kg_mpc_nd *nd, const char *key_id, uint32_t epoch, const uint16_t *signers,
                                       size_t ns);
/** node_cggmp_store.c: SHA-256 of the sealed aux record of key_id (changes
 *  with every save). KG_OK | KG_ERR_NOT_FOUND | store errors. */
kg_err kg_mpc_nd_cg_aux_stamp(kg_mpc_nd *nd, const char *key_id, uint8_t out[32]) KG_WARN_UNUSED;
/** How many are ready (tests, benchmarks). */
size_t kg_mpc_nd_cgprep_ready(kg_mpc_nd *nd, const char *key_id, const uint16_t *signers, size_t ns);
/* --- end presign precomputation --- */

#endif
