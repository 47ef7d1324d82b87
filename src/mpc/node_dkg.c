/* The DKG requests of `kashguard mpc-node` (mpc/node.h): round 1 (a signed
 * broadcast of the commitments and proof of knowledge), round 2 (checks
 * every other party's round 1, seals one share to each) and finish (opens
 * the shares addressed to this node, checks them against the commitments,
 * seals the resulting key share into the node's store). The state between
 * requests lives in the session (node_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

kg_err kg_mpc_nd_env_header(kg_mpc_net_header *h, const kg_mpc_nd_session *s, uint8_t type, uint16_t me, uint16_t to,
                         uint32_t round, uint64_t seq)
{
    memset(h, 0, sizeof *h);
    h->version = KG_MPC_NET_VERSION;
    h->scheme = (uint8_t)s->g;
    h->type = type;
    memcpy(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES);
    h->sender = me;
    h->receiver = to;
    h->round = round;
    h->seq = seq;
    return KG_OK;
}

kg_err kg_mpc_nd_dkg_round1(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    size_t kl = 0;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned t = kg_mpc_node_rd_u16(&r), n = kg_mpc_node_rd_u16(&r);
    const uint8_t *kid = kg_mpc_node_rd_blob(&r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    if (r.bad || n < 2 || n > KG_MPC_FROST_MAX_PARTICIPANTS || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "DKG round 1: bad threshold %u of %u", t, n);
    kg_err err = kg_mpc_node_key_id_check(kid, kl);
    if (err) return err;
    if (nd->cfg->id > n) return kg_err_set(KG_ERR_BAD_INPUT, "DKG of %u parties does not include node %u", n, nd->cfg->id);
    kg_mpc_nd_session *s;
    if ((err = kg_mpc_nd_session_new(&s, nd, m, KG_MPC_ND_S_DKG1))) return err;
    memcpy(s->key_id, kid, kl);
    s->t = t;
    s->n = n;
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < n && !r.bad; i++) {
        uint16_t id = kg_mpc_node_rd_u16(&r);
        const uint8_t *k = kg_mpc_node_rd_fixed(&r, 64);
        if (!k || id == 0 || id > n || seen[id]) { r.bad = true; break; }
        seen[id] = true;
        memcpy(s->reg[id - 1].box, k, 32);
        memcpy(s->reg[id - 1].sign, k + 32, 32);
    }
    err = kg_mpc_node_rd_end(&r, "DKG round 1 registry (node ids must be 1..n, each once)");
    if (!err && (memcmp(&s->reg[nd->cfg->id - 1], &nd->env_pub, sizeof nd->env_pub)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the registry's envelope keys of node %u are not this node's", nd->cfg->id);
    kg_bytes b = {0};
    if (!err) {
        char rec[128];
        kg_mpc_nd_share_record(rec, sizeof rec, s->key_id);
        kg_bytes tmp = {0};
        if (kg_store_get(nd->st, NULL, &tmp, rec) == KG_OK)
            err = kg_err_set(KG_ERR_CONFLICT, "key %s already exists on this node", s->key_id);
        kg_bytes_free(&tmp);
    }
    if (!err) err = kg_mpc_frost_dkg_new(&s->dkg, s->g, nd->cfg->id, t, n);
    kg_mpc_frost_dkg_round1 *msg = err ? NULL : calloc(1, sizeof *msg);
    uint8_t *ser = err ? NULL : malloc(KG_MPC_FROST_DKG_ROUND1_MAX_BYTES);
    size_t ser_len = 0;
    if (!err && (!msg || !ser)) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_frost_dkg_round1_run(s->dkg, msg, NULL, NULL);
    if (!err) err = kg_mpc_frost_dkg_round1_serialize(s->g, ser, &ser_len, msg);
    kg_mpc_net_header h;
    if (!err) err = kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_ROUND1, nd->cfg->id, 0, 1, 1);
    if (!err) err = kg_mpc_net_envelope_sign(&b, &h, nd->env, ser, ser_len);
    free(msg);
    free(ser);
    if (err) { kg_mpc_nd_session_drop(nd, s); return err; }
    kg_mpc_node_wr_blob(w, b.data, b.len);
    kg_bytes_free(&b);
    return KG_OK;
}

/* Check a relayed envelope's header against the session. */
kg_err kg_mpc_nd_env_check(const kg_mpc_net_envelope *e, const kg_mpc_nd_session *s, uint8_t type, uint32_t round,
                        uint16_t to, uint16_t me)
{
    const kg_mpc_net_header *h = &e->h;
    if (h->scheme != (uint8_t)s->g || h->type != type || h->round != round || h->receiver != to ||
        memcmp(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES) || h->sender == me || h->sender > s->n)
        return kg_err_set(KG_ERR_BAD_INPUT, "an envelope from party %u does not belong to this step", h->sender);
    return KG_OK;
}

kg_err kg_mpc_nd_dkg_round2(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (cnt != s->n - 1) return kg_err_set(KG_ERR_BAD_INPUT, "DKG round 2 needs %u round-1 messages, got %u", s->n - 1, cnt);
    kg_mpc_frost_dkg_round1 *msgs = calloc(cnt, sizeof *msgs);
    kg_mpc_frost_dkg_round2 *out = calloc(cnt, sizeof *out);
    kg_err err = msgs && out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < cnt && !err; i++) {
        size_t len;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        const uint8_t *pl;
        size_t pl_len;
        if (!p) { err = kg_err_set(KG_ERR_BAD_INPUT, "DKG round 2: truncated message list"); break; }
        if ((err = kg_mpc_net_envelope_decode(&e, p, len))) break;
        if ((err = kg_mpc_nd_env_check(&e, s, KG_MPC_NODE_DKG_ROUND1, 1, 0, me))) break;
        uint16_t from = e.h.sender;
        if (seen[from]) { err = kg_err_set(KG_ERR_BAD_INPUT, "two round-1 messages from party %u", from); break; }
        seen[from] = true;
        if ((err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, s->reg[from - 1].sign))) break;
        if ((err = kg_mpc_net_replay_check(nd->replay, &e.h))) break;
        if ((err = kg_mpc_frost_dkg_round1_parse(s->g, &msgs[i], pl, pl_len))) break;
        if (msgs[i].from != from) err = kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a round-1 message of party %u", from, msgs[i].from);
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "DKG round 2 request");
    uint16_t culprit = 0;
    if (!err) {
        err = kg_mpc_frost_dkg_round2_run(s->dkg, out, &culprit, msgs, cnt);
        if (err && culprit) err = kg_err_set(err, "DKG round 1 of party %u is invalid: %s", culprit, kg_err_detail(err));
    }
    if (!err) kg_mpc_node_wr_u16(w, (uint16_t)cnt);
    for (unsigned k = 0; k < cnt && !err; k++) {
        uint8_t pl[4 + KG_MPC_SCALAR_BYTES];
        kg_mpc_net_header h;
        kg_bytes b = {0};
        pl[0] = (uint8_t)(out[k].from >> 8); pl[1] = (uint8_t)out[k].from;
        pl[2] = (uint8_t)(out[k].to >> 8); pl[3] = (uint8_t)out[k].to;
        memcpy(pl + 4, out[k].share.b, KG_MPC_SCALAR_BYTES);
        err = kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_ROUND2, me, out[k].to, 2, 2 + k);
        if (!err) err = kg_mpc_net_envelope_seal(&b, &h, nd->env, s->reg[out[k].to - 1].box, pl, sizeof pl);
        kg_wipe(pl, sizeof pl);
        if (!err) kg_mpc_node_wr_blob(w, b.data, b.len);
        kg_bytes_free(&b);
    }
    if (out) kg_wipe(out, cnt * sizeof *out);
    free(out);
    free(msgs);
    if (err) kg_mpc_nd_session_drop(nd, s);
    else s->kind = KG_MPC_ND_S_DKG2;
    return err;
}

kg_err kg_mpc_nd_dkg_finish(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (cnt != s->n - 1) return kg_err_set(KG_ERR_BAD_INPUT, "DKG finish needs %u shares, got %u", s->n - 1, cnt);
    kg_secret *sec = kg_secret_new(cnt * sizeof(kg_mpc_frost_dkg_round2) + sizeof(kg_mpc_frost_key_share));
    kg_mpc_point *pubs = calloc(s->n, sizeof *pubs);
    kg_err err = sec && pubs ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_dkg_round2 *msgs = sec ? (kg_mpc_frost_dkg_round2 *)kg_secret_data(sec) : NULL;
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < cnt && !err; i++) {
        size_t len;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        kg_secret *pl = NULL;
        if (!p) { err = kg_err_set(KG_ERR_BAD_INPUT, "DKG finish: truncated share list"); break; }
        if ((err = kg_mpc_net_envelope_decode(&e, p, len))) break;
        if ((err = kg_mpc_nd_env_check(&e, s, KG_MPC_NODE_DKG_ROUND2, 2, me, me))) break;
        uint16_t from = e.h.sender;
        if (seen[from]) { err = kg_err_set(KG_ERR_BAD_INPUT, "two round-2 shares from party %u", from); break; }
        seen[from] = true;
        if ((err = kg_mpc_net_envelope_open(&pl, &e, nd->env, me, s->reg[from - 1].box))) break;
        err = kg_mpc_net_replay_check(nd->replay, &e.h);
        const uint8_t *d = kg_secret_cdata(pl);
        if (!err && (kg_secret_len(pl) != 4 + KG_MPC_SCALAR_BYTES || (uint16_t)(d[0] << 8 | d[1]) != from ||
                     (uint16_t)(d[2] << 8 | d[3]) != me))
            err = kg_err_set(KG_ERR_BAD_INPUT, "the round-2 share of party %u is malformed", from);
        if (!err) {
            msgs[i].from = from;
            msgs[i].to = me;
            err = kg_mpc_scalar_from_bytes(s->g, &msgs[i].share, d + 4, KG_MPC_SCALAR_BYTES);
        }
        kg_secret_free(pl);
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "DKG finish request");
    kg_mpc_frost_key_share *share = sec ? (kg_mpc_frost_key_share *)(msgs + cnt) : NULL;
    uint16_t culprit = 0;
    if (!err) {
        err = kg_mpc_frost_dkg_finish(s->dkg, share, pubs, &culprit, msgs, cnt);
        if (err && culprit) err = kg_err_set(err, "the DKG share of party %u is invalid: %s", culprit, kg_err_detail(err));
    }
    if (!err) err = kg_mpc_nd_share_save(nd, s->key_id, share);
    size_t pl_len = kg_mpc_group_point_len(s->g);
    uint8_t pt[KG_MPC_POINT_MAX_BYTES];
    if (!err) err = kg_mpc_point_serialize(s->g, pt, &share->group_public);
    if (!err) kg_mpc_node_wr_fixed(w, pt, pl_len);
    for (unsigned i = 0; i < s->n && !err; i++) {
        err = kg_mpc_point_serialize(s->g, pt, &pubs[i]);
        if (!err) kg_mpc_node_wr_fixed(w, pt, pl_len);
    }
    kg_secret_free(sec);
    free(pubs);
    kg_mpc_nd_session_drop(nd, s);
    return err;
}
