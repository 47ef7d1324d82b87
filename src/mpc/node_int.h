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
/** A key id: 1..KG_MPC_NODE_KEY_ID_MAX characters of [A-Za-z0-9._-]. */
kg_err kg_mpc_node_key_id_check(const uint8_t *id, size_t len) KG_WARN_UNUSED;
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
/** One request/response: *resp is the raw frame, *m points into it; an
 *  ERROR answer becomes its error code with "node <id>: ..." detail. */
kg_err kg_mpc_coord_call(kg_bytes *resp, kg_mpc_node_msg *m, kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g,
                         const uint8_t *session, const kg_bytes *body) KG_WARN_UNUSED;

/* ------------------------------------------------ node process internals
 * (node.c: sessions, sealed share store, dispatch, serve loop, startup;
 * node_dkg.c: the DKG requests; node_sign.c: the signing requests). */

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
} kg_mpc_nd_session;

/** A running node. */
typedef struct {
    const kg_mpc_node_config *cfg;
    kg_store *st;
    kg_secret *seal_key, *env;
    kg_mpc_net_pubkeys env_pub;
    kg_mpc_net_replay *replay;
    kg_mpc_nd_session *s[KG_MPC_ND_MAX_SESSIONS];
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

#endif
