/* Repair of one holder's share over the network (mpc/node.h REPAIR_*, the
 * nodes' side in node_repair.c; frost.h's repairable threshold scheme).
 *
 * t live, non-stale helpers at the key's epoch each split their Lagrange
 * term for the repaired node into t pieces sealed to the other helpers
 * (STEP1); each helper adds what it got and seals the sum to the repaired
 * node (STEP2); that node adds the sums, checks the result against its
 * public share from the record and stores it at the current epoch
 * (FINISH). The coordinator only routes sealed envelopes by their header.
 * This is how a node that was down during a refresh (stale) catches up,
 * and how a node that lost its disk gets its share back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS

typedef struct {
    kg_mpc_coordinator *co;
    const kg_mpc_key *k;
    uint16_t lost;
    uint16_t helpers[MAXP];
    size_t n;
    kg_mpc_net_conn *conn[MAXP + 1]; /* by node id */
    kg_mpc_net_pubkeys reg[MAXP];
    bool in_reg[MAXP + 1];
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_mpc_node_wr inbox[MAXP];      /* STEP1 pieces by helper index */
    unsigned cnt[MAXP];
    kg_mpc_node_wr sums;             /* STEP2 sums for the lost node */
} rp_run;

static size_t idx_of(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return i;
    return n;
}

static kg_err rp_call(kg_bytes *resp, kg_mpc_node_msg *m, rp_run *r, uint16_t id, uint8_t type, kg_mpc_node_wr *w)
{
    kg_err err = kg_mpc_node_wr_done(w);
    if (!err) err = kg_mpc_coord_call(resp, m, r->conn[id], type, r->k->g, r->sess, &w->b);
    kg_bytes_free(&w->b);
    return err;
}

static kg_err step1_all(rp_run *r)
{
    kg_err err = KG_OK;
    for (size_t i = 0; i < r->n && !err; i++) {
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_blob(&w, (const uint8_t *)r->k->key_id, strlen(r->k->key_id));
        kg_mpc_co_wr_u32(&w, r->k->epoch);
        kg_mpc_node_wr_u16(&w, r->lost);
        kg_mpc_co_wr_ids(&w, r->helpers, r->n);
        kg_mpc_co_wr_reg(&w, r->reg, r->in_reg);
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        if ((err = rp_call(&resp, &m, r, r->helpers[i], KG_MPC_NODE_REPAIR_STEP1, &w))) break;
        kg_mpc_node_rd rd;
        kg_mpc_node_rd_init(&rd, m.body, m.body_len);
        unsigned cnt = kg_mpc_node_rd_u16(&rd);
        if (cnt + 1 != r->n) err = kg_err_set(KG_ERR_BAD_INPUT, "node %u sent %u repair pieces", r->helpers[i], cnt);
        for (unsigned j = 0; j < cnt && !err; j++) {
            size_t len = 0;
            kg_mpc_net_envelope e;
            const uint8_t *p = kg_mpc_node_rd_blob(&rd, &len, KG_MPC_NET_FRAME_MAX_BYTES);
            err = p ? kg_mpc_net_envelope_decode(&e, p, len) : kg_err_set(KG_ERR_BAD_INPUT, "truncated STEP1 answer");
            size_t to = err ? 0 : idx_of(r->helpers, r->n, (uint16_t)e.h.receiver);
            if (!err && (e.h.sender != r->helpers[i] || to == r->n || to == i))
                err = kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a repair piece with a bad address", r->helpers[i]);
            if (!err) {
                kg_mpc_node_wr_blob(&r->inbox[to], p, len);
                r->cnt[to]++;
            }
        }
        if (!err) err = kg_mpc_node_rd_end(&rd, "REPAIR_STEP1 answer");
        kg_bytes_free(&resp);
    }
    return err;
}

static kg_err step2_all(rp_run *r)
{
    kg_err err = KG_OK;
    kg_mpc_node_wr_u16(&r->sums, (uint16_t)r->n);
    for (size_t i = 0; i < r->n && !err; i++) {
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_u16(&w, (uint16_t)r->cnt[i]);
        kg_mpc_node_wr_fixed(&w, r->inbox[i].b.data, r->inbox[i].b.len);
        if (r->inbox[i].bad) w.bad = true;
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        if ((err = rp_call(&resp, &m, r, r->helpers[i], KG_MPC_NODE_REPAIR_STEP2, &w))) break;
        kg_mpc_node_rd rd;
        kg_mpc_net_envelope e;
        size_t len = 0;
        kg_mpc_node_rd_init(&rd, m.body, m.body_len);
        const uint8_t *p = kg_mpc_node_rd_blob(&rd, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        err = kg_mpc_node_rd_end(&rd, "REPAIR_STEP2 answer");
        if (!err) err = kg_mpc_net_envelope_decode(&e, p, len);
        if (!err && (e.h.sender != r->helpers[i] || e.h.receiver != r->lost))
            err = kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a repair sum with a bad address", r->helpers[i]);
        if (!err) kg_mpc_node_wr_blob(&r->sums, p, len);
        kg_bytes_free(&resp);
    }
    return err;
}

static kg_err finish_lost(rp_run *r, size_t li)
{
    const kg_mpc_key *k = r->k;
    size_t pl = kg_mpc_group_point_len(k->g);
    bool hreg[MAXP + 1];
    memcpy(hreg, r->in_reg, sizeof hreg);
    hreg[r->lost] = false; /* the registry of the helpers only */
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_mpc_co_wr_u32(&w, k->epoch);
    kg_mpc_node_wr_u16(&w, (uint16_t)k->t);
    kg_mpc_co_wr_ids(&w, k->ids, k->n);
    kg_mpc_co_wr_reg(&w, r->reg, hreg);
    kg_mpc_co_wr_point(&w, k->g, &k->pub[li]);
    kg_mpc_co_wr_point(&w, k->g, &k->group_public);
    kg_mpc_node_wr_fixed(&w, r->sums.b.data, r->sums.b.len);
    if (r->sums.bad) w.bad = true;
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    uint8_t want[KG_MPC_POINT_MAX_BYTES];
    kg_err err = rp_call(&resp, &m, r, r->lost, KG_MPC_NODE_REPAIR_FINISH, &w);
    if (!err) err = kg_mpc_point_serialize(k->g, want, &k->pub[li]);
    if (!err && (m.body_len != pl || memcmp(m.body, want, pl)))
        err = kg_err_set(KG_ERR_VERIFY, "node %u answered another public share than the record's", r->lost);
    kg_bytes_free(&resp);
    return err;
}

/* Connect the node to repair and t live, non-stale helpers. */
static kg_err rp_connect(rp_run *r)
{
    const kg_mpc_key *k = r->k;
    kg_err err = kg_mpc_co_connect(&r->conn[r->lost], r->co, r->lost);
    if (err) return kg_mpc_nd_ep_wrap(err, err, "node %u must be up to be repaired", r->lost);
    char down[600] = "";
    size_t off = 0;
    for (unsigned i = 0; i < k->n && r->n < k->t; i++) {
        uint16_t id = k->ids[i];
        if (id == r->lost || k->stale[i]) continue;
        kg_err e = kg_mpc_co_connect(&r->conn[id], r->co, id);
        if (!e) r->helpers[r->n++] = id;
        else if (off < sizeof down - 1) off += (size_t)snprintf(down + off, sizeof down - off, " %s;", kg_err_detail(e));
        if (off >= sizeof down) off = sizeof down - 1;
    }
    if (r->n < k->t)
        return kg_err_set(KG_ERR_NETWORK, "repairing node %u of key %s needs %u live, non-stale helpers; only %zu "
                          "answered:%s", r->lost, k->key_id, k->t, r->n, down);
    for (size_t i = 0; i <= r->n && !err; i++) {
        uint16_t id = i < r->n ? r->helpers[i] : r->lost;
        err = kg_mpc_co_registry_get(&r->reg[id - 1], r->co, id);
        r->in_reg[id] = !err;
    }
    return err;
}

kg_err kg_mpc_coordinator_repair(kg_mpc_coordinator *co, kg_mpc_key *k, uint16_t id)
{
    kg_err err = kg_mpc_co_key_check(k);
    if (err) return err;
    size_t li = idx_of(k->ids, k->n, id);
    if (li == k->n) return kg_err_set(KG_ERR_NOT_FOUND, "node %u holds no share of key %s", id, k->key_id);
    rp_run *r = calloc(1, sizeof *r);
    if (!r) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    r->co = co, r->k = k, r->lost = id;
    err = rp_connect(r);
    if (!err) err = kg_crypto_random(r->sess, sizeof r->sess);
    if (!err) err = step1_all(r);
    if (!err) err = step2_all(r);
    if (!err) err = finish_lost(r, li);
    if (!err) k->stale[li] = false;
    for (unsigned i = 1; err && i <= MAXP; i++) { /* drop the helpers' sessions */
        if (!r->conn[i] || i == id) continue;
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
        if (kg_mpc_co_call0(r->conn[i], KG_MPC_NODE_EPOCH_ABORT, k->g, r->sess, &w)) {
            kg_mpc_co_release(co, r->conn[i], false);
            r->conn[i] = NULL;
        }
    }
    for (unsigned i = 1; i <= MAXP; i++) kg_mpc_co_release(co, r->conn[i], !err);
    for (size_t i = 0; i < MAXP; i++) kg_bytes_free(&r->inbox[i].b);
    kg_bytes_free(&r->sums.b);
    free(r);
    return err;
}
