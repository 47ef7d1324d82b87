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

/* coord.c: connections of one coordinator operation (c[i]: node i+1). */
typedef struct {
    kg_mpc_net_tls *tls;
    kg_mpc_net_conn *c[KG_MPC_FROST_MAX_PARTICIPANTS];
} kg_mpc_coord;
#define KG_MPC_COORD_CONNECT_MS 3000
kg_err kg_mpc_coord_tls(kg_mpc_coord *co, const char *dir) KG_WARN_UNUSED;
void kg_mpc_coord_close(kg_mpc_coord *co);
/** One request/response: *resp is the raw frame, *m points into it; an
 *  ERROR answer becomes its error code with "node <id>: ..." detail. */
kg_err kg_mpc_coord_call(kg_bytes *resp, kg_mpc_node_msg *m, kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g,
                         const uint8_t *session, const kg_bytes *body) KG_WARN_UNUSED;

#endif
