/* The node side of KEY_INFO (mpc/node.h): which epoch this node's share of
 * a key is at, and its public share PK_i. The coordinator's RESYNC
 * (coord_resync.c) asks every node after a crash between the nodes'
 * EPOCH_COMMIT and the caller's save of the key record, and rebuilds the
 * record from the answers. Public data only: the secret share is loaded
 * (to read PK_i) and wiped; a pending (uncommitted) share is not reported.
 * A node without a share of the key answers KG_ERR_NOT_FOUND ("no key"). */
#include <string.h>
#include "node_int.h"

/* Request: key id blob. */
static kg_err keyinfo_read(char key_id[static KG_MPC_NODE_KEY_ID_MAX + 1], const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, body, len);
    kg_err err = kg_mpc_nd_ep_rd_key_id(&r, key_id);
    if (!err) err = kg_mpc_node_rd_end(&r, "KEY_INFO request");
    if (err) memset(key_id, 0, KG_MPC_NODE_KEY_ID_MAX + 1);
    return err;
}

kg_err kg_mpc_nd_key_info(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint32_t epoch = 0;
    kg_secret *sh = NULL;
    kg_err err = keyinfo_read(key_id, m->body, m->body_len);
    if (err) return err;
    err = kg_mpc_nd_share_load(&sh, nd, key_id);
    if (err == KG_ERR_NOT_FOUND) return kg_err_set(KG_ERR_NOT_FOUND, "no key %s on this node", key_id);
    if (err) return err;
    const kg_mpc_frost_key_share *s = (const kg_mpc_frost_key_share *)kg_secret_cdata(sh);
    if (s->group != (kg_mpc_group_id)m->scheme)
        err = kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a %s key", key_id,
                         kg_mpc_frost_scheme_name((kg_mpc_group_id)m->scheme));
    if (!err) err = kg_mpc_nd_share_epoch(&epoch, nd, key_id);
    uint8_t pk[KG_MPC_POINT_MAX_BYTES];
    if (!err) err = kg_mpc_point_serialize(s->group, pk, &s->public_share);
    if (!err) {
        uint8_t e[4] = {(uint8_t)(epoch >> 24), (uint8_t)(epoch >> 16), (uint8_t)(epoch >> 8), (uint8_t)epoch};
        kg_mpc_node_wr_u16(w, nd->cfg->id);
        kg_mpc_node_wr_fixed(w, e, 4);
        kg_mpc_node_wr_fixed(w, pk, kg_mpc_group_point_len(s->group));
    }
    kg_secret_free(sh);
    return err;
}
