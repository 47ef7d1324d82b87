/* The repair requests of `kashguard mpc-node` (mpc/node.h, REPAIR_*): a
 * node that lost its share, or missed a refresh (stale), gets the share of
 * the current epoch back from t helpers, with the repairable threshold
 * scheme of Laing and Stinson as ZF frost implements it (frost.h,
 * kg_mpc_frost_repair_step1/2/3):
 *
 *   STEP1  helper i splits lambda_i(r) * s_i into t random pieces and seals
 *          one to each other helper (its own piece stays in the session);
 *   STEP2  helper j adds the pieces it got (and its own) and seals the sum
 *          to the node r being repaired;
 *   FINISH node r adds the t sums, checks the result against its public
 *          share (given by the coordinator from the key record; a wrong sum
 *          fails the check) and stores it as its active share at the epoch.
 *
 * Pieces and sums travel only in sealed point-to-point envelopes, so the
 * coordinator, which relays them, learns nothing; each helper sees only
 * random pieces. Helpers must be at the requested epoch (node_epoch.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS

kg_err kg_mpc_nd_repair_step1(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id, helpers[MAXP];
    size_t n = 0;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1] = "";
    kg_mpc_net_pubkeys *reg = calloc(MAXP, sizeof *reg);
    bool in_reg[MAXP + 1] = {false};
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    kg_err err = reg ? kg_mpc_nd_ep_rd_key_id(&r, key_id) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    uint32_t epoch = kg_mpc_nd_ep_rd_u32(&r);
    uint16_t lost = kg_mpc_node_rd_u16(&r);
    if (!err) err = kg_mpc_nd_ep_rd_ids(&r, helpers, &n, 2, "helper");
    if (!err) err = kg_mpc_nd_ep_rd_reg(&r, reg, in_reg);
    if (!err) err = kg_mpc_node_rd_end(&r, "REPAIR_STEP1 request");
    if (!err && (lost == 0 || lost > MAXP || !in_reg[lost] || kg_mpc_nd_ep_has(helpers, n, lost) ||
                 !kg_mpc_nd_ep_has(helpers, n, me)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "a repair of node %u needs this node among its helpers, and the "
                         "registry of them all", lost);
    for (size_t i = 0; i < n && !err; i++)
        if (!in_reg[helpers[i]]) err = kg_err_set(KG_ERR_BAD_INPUT, "helper %u is not in the registry", helpers[i]);
    if (!err && memcmp(&reg[me - 1], &nd->env_pub, sizeof nd->env_pub))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the registry's envelope keys of node %u are not this node's", me);
    kg_secret *sh = NULL, *ds = NULL;
    if (!err) err = kg_mpc_nd_ep_load_at(&sh, nd, key_id, (kg_mpc_group_id)m->scheme, epoch);
    if (!err && !(ds = kg_secret_new(n * sizeof(kg_mpc_scalar)))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_scalar *d = ds ? (kg_mpc_scalar *)kg_secret_data(ds) : NULL;
    if (!err) err = kg_mpc_frost_repair_step1(d, (const kg_mpc_frost_key_share *)kg_secret_cdata(sh), helpers, n, lost);
    kg_mpc_nd_session *s = NULL;
    if (!err) err = kg_mpc_nd_session_new(&s, nd, m, KG_MPC_ND_S_REPAIR);
    if (!err) {
        memcpy(s->key_id, key_id, sizeof s->key_id);
        memcpy(s->reg, reg, MAXP * sizeof *reg);
        memcpy(s->ep_ids, helpers, n * sizeof *helpers);
        s->ep_n = n, s->ep_lost = lost, s->ep_epoch = epoch;
        kg_mpc_node_wr_u16(w, (uint16_t)(n - 1));
    }
    for (size_t k = 0; k < n && !err; k++) {
        if (helpers[k] == me) s->ep_own = d[k], s->ep_has_own = true;
        else err = kg_mpc_nd_ep_seal_scalar(nd, w, m, KG_MPC_NODE_REPAIR_STEP1, 1, helpers[k], &d[k], reg[helpers[k] - 1].box);
    }
    if (err && s) kg_mpc_nd_session_drop(nd, s);
    kg_secret_free(ds);
    kg_secret_free(sh);
    free(reg);
    return err;
}

kg_err kg_mpc_nd_repair_step2(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    bool seen[MAXP + 1] = {false};
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    size_t cnt = kg_mpc_node_rd_u16(&r);
    kg_secret *ds = kg_secret_new((s->ep_n + 1) * sizeof(kg_mpc_scalar));
    kg_err err = ds ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err && cnt + 1 != s->ep_n) err = kg_err_set(KG_ERR_BAD_INPUT, "REPAIR_STEP2 needs %zu pieces", s->ep_n - 1);
    kg_mpc_scalar *d = ds ? (kg_mpc_scalar *)kg_secret_data(ds) : NULL;
    for (size_t i = 0; i < cnt && !err; i++) {
        size_t len = 0;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        err = kg_mpc_nd_ep_env_get(&e, p, len, m, KG_MPC_NODE_REPAIR_STEP1, 1, me);
        uint16_t from = (uint16_t)e.h.sender;
        if (!err && (from == me || seen[from] || !kg_mpc_nd_ep_has(s->ep_ids, s->ep_n, from)))
            err = kg_err_set(KG_ERR_BAD_INPUT, "a repair piece from party %u, which is not a helper or sent two", from);
        if (!err) err = kg_mpc_nd_ep_open_scalar(nd, &d[i], &e, g, s->reg[from - 1].box);
        if (!err) seen[from] = true;
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "REPAIR_STEP2 request");
    if (!err && !s->ep_has_own) err = kg_err_set(KG_ERR_NOT_FOUND, "no repair piece of this node in the session");
    if (!err) {
        kg_mpc_scalar sigma;
        d[cnt] = s->ep_own;
        kg_mpc_frost_repair_step2(g, &sigma, d, cnt + 1);
        err = kg_mpc_nd_ep_seal_scalar(nd, w, m, KG_MPC_NODE_REPAIR_STEP2, 2, s->ep_lost, &sigma, s->reg[s->ep_lost - 1].box);
        kg_wipe(&sigma, sizeof sigma);
    }
    kg_secret_free(ds);
    kg_mpc_nd_session_drop(nd, s);
    return err;
}

/* The sums sealed to this node by the helpers of the registry. */
static kg_err finish_sums(kg_mpc_nd *nd, kg_mpc_scalar *sig, size_t *cnt, kg_mpc_node_rd *r, const kg_mpc_node_msg *m,
                          const kg_mpc_net_pubkeys *reg, const bool *in_reg)
{
    uint16_t me = nd->cfg->id;
    bool seen[MAXP + 1] = {false};
    *cnt = kg_mpc_node_rd_u16(r);
    if (*cnt < 2 || *cnt > MAXP) return kg_err_set(KG_ERR_BAD_INPUT, "a repair needs 2 to %d sums", MAXP);
    for (size_t i = 0; i < *cnt; i++) {
        size_t len = 0;
        const uint8_t *p = kg_mpc_node_rd_blob(r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        kg_err err = kg_mpc_nd_ep_env_get(&e, p, len, m, KG_MPC_NODE_REPAIR_STEP2, 2, me);
        uint16_t from = (uint16_t)e.h.sender;
        if (!err && (from == me || seen[from] || !in_reg[from]))
            err = kg_err_set(KG_ERR_BAD_INPUT, "a repair sum from party %u, which is not a helper or sent two", from);
        if (!err) err = kg_mpc_nd_ep_open_scalar(nd, &sig[i], &e, (kg_mpc_group_id)m->scheme, reg[from - 1].box);
        if (err) return err;
        seen[from] = true;
    }
    return KG_OK;
}

/* Store the repaired share as the active one at epoch, replacing whatever
 * this node had (a stale share, or nothing), and drop any pending one. */
static kg_err finish_store(kg_mpc_nd *nd, const char *key_id, const kg_mpc_frost_key_share *sh, uint32_t epoch)
{
    kg_secret *cur = NULL;
    kg_err err = kg_mpc_nd_share_load(&cur, nd, key_id);
    if (!err && !kg_mpc_point_eq(sh->group, &((const kg_mpc_frost_key_share *)kg_secret_cdata(cur))->group_public,
                                 &sh->group_public))
        err = kg_err_set(KG_ERR_CONFLICT, "this node holds another key under the id %s", key_id);
    kg_secret_free(cur);
    if (err && err != KG_ERR_NOT_FOUND) return err;
    kg_store_txn *txn = NULL;
    err = kg_store_txn_begin(nd->st, &txn);
    if (!err) err = kg_mpc_nd_share_replace(nd, txn, key_id, sh, epoch);
    if (!err) err = kg_mpc_nd_ep_del(nd, txn, "pending", key_id);
    if (!err) {
        err = kg_store_txn_commit(txn);
        if (!err) txn = NULL;
    }
    if (txn) kg_store_txn_rollback(txn);
    return err;
}

kg_err kg_mpc_nd_repair_finish(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id, holders[MAXP];
    size_t n = 0, cnt = 0;
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    size_t pl = kg_mpc_group_point_len(g);
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1] = "";
    kg_mpc_net_pubkeys *reg = calloc(MAXP, sizeof *reg);
    bool in_reg[MAXP + 1] = {false};
    kg_mpc_point pub, gpub;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    kg_err err = reg ? kg_mpc_nd_ep_rd_key_id(&r, key_id) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    uint32_t epoch = kg_mpc_nd_ep_rd_u32(&r);
    unsigned t = kg_mpc_node_rd_u16(&r);
    if (!err) err = kg_mpc_nd_ep_rd_ids(&r, holders, &n, 2, "holder");
    if (!err) err = kg_mpc_nd_ep_rd_reg(&r, reg, in_reg);
    const uint8_t *pp = kg_mpc_node_rd_fixed(&r, pl), *gp = kg_mpc_node_rd_fixed(&r, pl);
    if (!err) err = pp && gp ? kg_mpc_point_deserialize(g, &pub, pp, pl) : kg_err_set(KG_ERR_BAD_INPUT, "truncated request");
    if (!err) err = kg_mpc_point_deserialize(g, &gpub, gp, pl);
    if (!err && (!kg_mpc_nd_ep_has(holders, n, me) || t < 2 || t > n))
        err = kg_err_set(KG_ERR_BAD_INPUT, "node %u is not a holder of a %u-of-%zu key", me, t, n);
    kg_secret *ss = err ? NULL : kg_secret_new(MAXP * sizeof(kg_mpc_scalar) + sizeof(kg_mpc_frost_key_share));
    if (!err && !ss) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_scalar *sig = ss ? (kg_mpc_scalar *)kg_secret_data(ss) : NULL;
    kg_mpc_frost_key_share *out = ss ? (kg_mpc_frost_key_share *)(sig + MAXP) : NULL;
    if (!err) err = finish_sums(nd, sig, &cnt, &r, m, reg, in_reg);
    if (!err) err = kg_mpc_node_rd_end(&r, "REPAIR_FINISH request");
    uint16_t maxid = 0;
    for (size_t i = 0; i < n; i++) maxid = holders[i] > maxid ? holders[i] : maxid;
    if (!err) err = kg_mpc_frost_repair_step3(out, g, me, t, maxid, sig, cnt, &pub, &gpub);
    if (!err) {
        out->max_signers = (uint16_t)n; /* identifiers may have gaps: n holders, not max(id) */
        err = finish_store(nd, key_id, out, epoch);
    }
    uint8_t b[KG_MPC_POINT_MAX_BYTES];
    if (!err) err = kg_mpc_point_serialize(g, b, &out->public_share);
    if (!err) kg_mpc_node_wr_fixed(w, b, pl);
    kg_secret_free(ss);
    free(reg);
    return err;
}
