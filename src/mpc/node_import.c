/* The import requests of `kashguard mpc-node` (IMPORT_* of mpc/node.h): an
 * existing private key split by a trusted dealer (RFC 9591 Appendix C,
 * trusted_dealer_keygen) becomes a t-of-n FROST key of the nodes without
 * the coordinator ever seeing the key or a share.
 *
 * IMPORT_SHARE: the dealer (the operator's CLI, envelope sender
 * KG_MPC_IMPORT_DEALER with a fresh X25519 key sent along) sealed this
 * node's share to its envelope key; the node opens it, checks it against
 * the public VSS commitments (Appendix C.2 vss_verify: sk_i*G == sum_j
 * C_j*i^j) and keeps it PENDING in the session. Its answer carries a
 * confirmation signed with its envelope key over the digest of everything
 * it was given (session, key id, t, holders, dealer key, commitments).
 *
 * IMPORT_CONFIRM: the same echo idea as the DKG (node_dkg.c): the node gets
 * every holder's confirmation and activates its share (epoch 0) only when
 * every signature verifies and every digest equals its own, so a dealer or
 * coordinator that showed different commitments to different nodes is
 * caught before anything is stored. IMPORT_ABORT drops the pending share,
 * or deletes the share activated in this session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS
#define CONFIRM_ROUND 2

/* The IMPORT_SHARE request, parsed. */
typedef struct {
    unsigned t;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint16_t ids[MAXP];
    size_t n;
    kg_mpc_net_pubkeys reg[MAXP];
    bool in_reg[MAXP + 1];
    uint8_t dealer_box[32];
    kg_mpc_point vss[MAXP];
    const uint8_t *sealed;
    size_t sealed_len;
} import_req;

static kg_err rd_vss(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_point *vss, unsigned t)
{
    size_t pl = kg_mpc_group_point_len(g);
    unsigned cnt = kg_mpc_node_rd_u16(r);
    if (r->bad || cnt != t) return kg_err_set(KG_ERR_BAD_INPUT, "the import needs %u VSS commitments, got %u", t, cnt);
    for (unsigned j = 0; j < t; j++) {
        const uint8_t *p = kg_mpc_node_rd_fixed(r, pl);
        if (!p || kg_mpc_point_deserialize(g, &vss[j], p, pl))
            return kg_err_set(KG_ERR_BAD_INPUT, "VSS commitment %u of the import is not a valid point", j);
    }
    return KG_OK;
}

static kg_err rd_request(import_req *q, const kg_mpc_node_msg *m, uint16_t me, const kg_mpc_net_pubkeys *my_pub)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    q->t = kg_mpc_node_rd_u16(&r);
    kg_err err = kg_mpc_nd_ep_rd_key_id(&r, q->key_id);
    if (!err) err = kg_mpc_nd_ep_rd_ids(&r, q->ids, &q->n, 2, "holder");
    if (!err) err = kg_mpc_nd_ep_rd_reg(&r, q->reg, q->in_reg);
    const uint8_t *db = err ? NULL : kg_mpc_node_rd_fixed(&r, 32);
    if (!err && !db) err = kg_err_set(KG_ERR_BAD_INPUT, "truncated import request");
    if (!err && (q->t < 2 || q->t > q->n)) err = kg_err_set(KG_ERR_BAD_INPUT, "import: bad threshold %u of %zu", q->t, q->n);
    if (!err) memcpy(q->dealer_box, db, 32), err = rd_vss(&r, (kg_mpc_group_id)m->scheme, q->vss, q->t);
    if (!err) q->sealed = kg_mpc_node_rd_blob(&r, &q->sealed_len, KG_MPC_NET_FRAME_MAX_BYTES);
    if (!err) err = kg_mpc_node_rd_end(&r, "import request");
    for (size_t i = 0; i < q->n && !err; i++)
        if (!q->in_reg[q->ids[i]]) err = kg_err_set(KG_ERR_BAD_INPUT, "import: holder %u is not in the registry", q->ids[i]);
    if (!err && !kg_mpc_nd_ep_has(q->ids, q->n, me))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the import's holders do not include node %u", me);
    if (!err && memcmp(&q->reg[me - 1], my_pub, sizeof *my_pub))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the registry's envelope keys of node %u are not this node's", me);
    return err;
}

/* Open the dealer's sealed share and check it against the commitments:
 * *sh is this node's key share. Errors name the dealer. */
static kg_err open_share(kg_mpc_nd *nd, kg_mpc_frost_key_share *sh, const import_req *q, const kg_mpc_node_msg *m)
{
    uint16_t me = nd->cfg->id, max_id = 0;
    kg_mpc_net_envelope e;
    kg_secret *pl = NULL;
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    kg_err err = kg_mpc_net_envelope_decode(&e, q->sealed, q->sealed_len);
    if (!err && (e.h.scheme != m->scheme || e.h.type != KG_MPC_NODE_IMPORT_SHARE || e.h.round != 1 ||
                 e.h.receiver != me || memcmp(e.h.session, m->session, KG_MPC_NET_SESSION_ID_BYTES) ||
                 e.h.sender != KG_MPC_IMPORT_DEALER))
        err = kg_err_set(KG_ERR_BAD_INPUT, "dealer: the sealed share relayed to node %u is not the dealer's share for "
                         "this node and session", me);
    else if (err)
        err = kg_err_set(KG_ERR_BAD_INPUT, "dealer: the sealed share relayed to node %u is malformed", me);
    if (!err && kg_mpc_net_envelope_open(&pl, &e, nd->env, me, q->dealer_box))
        err = kg_err_set(KG_ERR_DECRYPT, "dealer: the share sealed to node %u does not open (altered, or sealed to "
                         "another key); the import is refused", me);
    if (!err) err = kg_mpc_net_replay_check(nd->replay, &e.h);
    const uint8_t *d = pl ? kg_secret_cdata(pl) : NULL;
    if (!err && (kg_secret_len(pl) != 4 + KG_MPC_SCALAR_BYTES || (uint16_t)(d[0] << 8 | d[1]) != me ||
                 (uint16_t)(d[2] << 8 | d[3]) != q->t))
        err = kg_err_set(KG_ERR_BAD_INPUT, "dealer: the share for node %u is malformed", me);
    for (size_t i = 0; i < q->n; i++) max_id = q->ids[i] > max_id ? q->ids[i] : max_id;
    memset(sh, 0, sizeof *sh);
    if (!err) err = kg_mpc_scalar_from_bytes(g, &sh->secret, d + 4, KG_MPC_SCALAR_BYTES);
    kg_secret_free(pl);
    if (!err) {
        sh->group = g, sh->id = me, sh->min_signers = (uint16_t)q->t;
        sh->max_signers = max_id; /* identifiers may have gaps (as a reshare's) */
        kg_mpc_point_base_mul(g, &sh->public_share, &sh->secret);
        sh->group_public = q->vss[0];
        if (kg_mpc_frost_vss_verify(sh, q->vss, q->t))
            err = kg_err_set(KG_ERR_VERIFY, "dealer: the share for node %u does not match the VSS commitments; the "
                             "import is refused", me);
    }
    if (err) kg_wipe(sh, sizeof *sh);
    return err;
}

/* This node's confirmation: the digest signed as a broadcast. */
static kg_err confirmation(kg_mpc_nd *nd, const kg_mpc_nd_session *s, kg_mpc_node_wr *w)
{
    kg_mpc_net_header h;
    kg_bytes env = {0};
    kg_err err = kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_IMPORT_CONFIRM, nd->cfg->id, 0, CONFIRM_ROUND, 1);
    if (!err) err = kg_mpc_net_envelope_sign(&env, &h, nd->env, s->transcript, sizeof s->transcript);
    if (!err) kg_mpc_node_wr_blob(w, env.data, env.len);
    kg_bytes_free(&env);
    return err;
}

kg_err kg_mpc_nd_import_share(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    import_req *q = calloc(1, sizeof *q);
    kg_secret *sec = kg_secret_new(sizeof(kg_mpc_frost_key_share));
    kg_mpc_nd_session *s = NULL;
    kg_err err = q && sec ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_key_share *sh = sec ? (kg_mpc_frost_key_share *)kg_secret_data(sec) : NULL;
    if (!err) err = rd_request(q, m, nd->cfg->id, &nd->env_pub);
    if (!err) {
        char rec[128];
        kg_bytes tmp = {0};
        kg_mpc_nd_share_record(rec, sizeof rec, q->key_id);
        if (kg_store_get(nd->st, NULL, &tmp, rec) == KG_OK)
            err = kg_err_set(KG_ERR_CONFLICT, "key %s already exists on this node", q->key_id);
        kg_bytes_free(&tmp);
    }
    if (!err) err = kg_mpc_nd_session_new(&s, nd, m, KG_MPC_ND_S_IMPORT);
    if (!err) err = open_share(nd, sh, q, m);
    if (!err) {
        memcpy(s->key_id, q->key_id, sizeof s->key_id);
        s->t = q->t;
        s->n = (unsigned)q->n;
        memcpy(s->ep_ids, q->ids, q->n * sizeof *q->ids);
        s->ep_n = q->n;
        for (size_t i = 0; i < q->n; i++) s->reg[q->ids[i] - 1] = q->reg[q->ids[i] - 1];
        err = kg_mpc_co_import_digest(s->transcript, s->g, s->id, s->key_id, s->t, s->ep_ids, s->ep_n, q->dealer_box,
                                      q->vss);
    }
    uint8_t pt[KG_MPC_POINT_MAX_BYTES];
    if (!err) err = kg_mpc_point_serialize(s->g, pt, &sh->public_share);
    if (!err) kg_mpc_node_wr_fixed(w, pt, kg_mpc_group_point_len(s->g));
    if (!err) err = confirmation(nd, s, w);
    if (!err) {
        s->pending = sec;
        sec = NULL;
    }
    if (err && s) kg_mpc_nd_session_drop(nd, s);
    kg_secret_free(sec);
    free(q);
    return err;
}

/* One holder's confirmation: header, signature, digest (32 bytes). */
static kg_err confirm_open(uint16_t *from, const uint8_t **digest, kg_mpc_net_header *hdr, const kg_mpc_nd_session *s,
                           const uint8_t *raw, size_t len)
{
    kg_mpc_net_envelope e;
    const uint8_t *pl = NULL;
    size_t pl_len = 0;
    kg_err err = raw ? kg_mpc_net_envelope_decode(&e, raw, len) : kg_err_set(KG_ERR_BAD_INPUT, "truncated confirmation list");
    if (err) return err;
    const kg_mpc_net_header *h = &e.h;
    if (h->scheme != (uint8_t)s->g || h->type != KG_MPC_NODE_IMPORT_CONFIRM || h->round != CONFIRM_ROUND ||
        h->receiver != 0 || memcmp(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES) ||
        !kg_mpc_nd_ep_has(s->ep_ids, s->ep_n, h->sender))
        return kg_err_set(KG_ERR_BAD_INPUT, "an import confirmation from party %u does not belong to this session", h->sender);
    if ((err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, s->reg[h->sender - 1].sign)))
        return kg_err_set(err, "the import confirmation of party %u has a bad signature", h->sender);
    if (pl_len != 32) return kg_err_set(KG_ERR_VERIFY, "party %u signed a malformed import confirmation", h->sender);
    *from = h->sender;
    *digest = pl;
    *hdr = *h;
    return KG_OK;
}

kg_err kg_mpc_nd_import_confirm(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    (void)w;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (r.bad || cnt != s->ep_n) /* a malformed request changes nothing: the session waits for a good one */
        return kg_err_set(KG_ERR_BAD_INPUT, "import confirm needs %zu confirmations, got %u", s->ep_n, cnt);
    const uint8_t *digest[MAXP + 1] = {NULL};
    kg_mpc_net_header hs[MAXP + 1];
    kg_err err = KG_OK;
    for (unsigned i = 0; i < cnt; i++) {
        size_t len = 0;
        uint16_t from = 0;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES), *d = NULL;
        kg_mpc_net_header h;
        if ((err = confirm_open(&from, &d, &h, s, p, len))) return err;
        if (digest[from]) return kg_err_set(KG_ERR_BAD_INPUT, "two import confirmations from party %u", from);
        digest[from] = d;
        hs[from] = h;
    }
    if ((err = kg_mpc_node_rd_end(&r, "import confirm request"))) return err;
    /* Authentic and well formed: from here on a failure ends the import here. */
    for (size_t i = 0; i < s->ep_n && !err; i++)
        if (memcmp(digest[s->ep_ids[i]], s->transcript, sizeof s->transcript))
            err = kg_err_set(KG_ERR_VERIFY, "party %u was given other commitments, holders or dealer key than I was: "
                             "the dealer or the coordinator equivocated; the import is refused", s->ep_ids[i]);
    for (size_t i = 0; i < s->ep_n && !err; i++)
        if (s->ep_ids[i] != nd->cfg->id) err = kg_mpc_net_replay_check(nd->replay, &hs[s->ep_ids[i]]);
    if (!err) err = kg_mpc_nd_share_save(nd, s->key_id, (const kg_mpc_frost_key_share *)kg_secret_cdata(s->pending));
    if (err) {
        kg_mpc_nd_session_drop(nd, s);
        return err;
    }
    kg_secret_free(s->pending);
    s->pending = NULL;
    s->kind = KG_MPC_ND_S_IMPORTOK;
    return KG_OK;
}

kg_err kg_mpc_nd_import_abort(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    (void)w;
    if (m->body_len) return kg_err_set(KG_ERR_BAD_INPUT, "import abort takes no body");
    if (!s) return KG_OK; /* finished with an error, expired, or never started */
    if (s->kind != KG_MPC_ND_S_IMPORT && s->kind != KG_MPC_ND_S_IMPORTOK)
        return kg_err_set(KG_ERR_BAD_INPUT, "session is not an import");
    kg_err err = KG_OK;
    if (s->kind == KG_MPC_ND_S_IMPORTOK) /* activated in this session: the coordinator did not record the key */
        err = kg_mpc_nd_ep_del(nd, NULL, "share", s->key_id);
    kg_mpc_nd_session_drop(nd, s);
    return err;
}
