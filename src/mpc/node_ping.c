/* The node side of PING (mpc/node.h): the coordinator's liveness probe
 * (kg_mpc_coordinator_status, coord_status.c). The answer says which node
 * this is and a few facts an operator wants on a status page -- how many
 * key shares it keeps and how many protocol sessions are open -- and
 * nothing secret: no key ids, no share values. The request body must be
 * empty; its scheme byte is ignored (any valid group). */
#include "node_int.h"

typedef struct {
    unsigned n;
} share_count;

static int count_share(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    (void)key;
    (void)val;
    (void)val_len;
    share_count *c = arg;
    if (c->n < 0xFFFFu) c->n++;
    return 0;
}

kg_err kg_mpc_nd_ping(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    if (m->body_len != 0) return kg_err_set(KG_ERR_BAD_INPUT, "a PING request has an empty body");
    share_count c = {0};
    char prefix[64];
    kg_mpc_nd_share_record(prefix, sizeof prefix, "");
    kg_err err = kg_store_list(nd->st, NULL, prefix, NULL, 0, count_share, &c);
    if (err) return err;
    unsigned sessions = 0;
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++)
        if (nd->s[i]) sessions++;
    kg_mpc_node_wr_u16(w, nd->cfg->id);
    kg_mpc_node_wr_u16(w, (uint16_t)c.n);
    kg_mpc_node_wr_u16(w, (uint16_t)sessions);
    return KG_OK;
}
