/* The refresh and reshare requests of `kashguard mpc-node` (mpc/node.h
 * EPOCH_DEAL and EPOCH_FINISH: the first phase), and the body parsing and
 * envelope helpers that node_epoch.c (epochs, COMMIT/ABORT/DELETE) and
 * node_repair.c (REPAIR_*) share.
 *
 * EPOCH_DEAL makes this node's dealing (frost.h: a sharing of zero for a
 * refresh, kg_mpc_frost_refresh_deal; lambda_i * s_i for a reshare,
 * kg_mpc_frost_reshare_deal) after checking that its share is at the
 * request's epoch: a commitment broadcast signed with its envelope key and
 * one sealed point-to-point envelope per receiver (the coordinator relays
 * them unread; its own dealing stays in the session). EPOCH_FINISH checks
 * every commitment's signature, opens the dealings addressed to this node,
 * verifies them (kg_mpc_frost_refresh_apply / kg_mpc_frost_reshare_finish
 * name a bad dealer: "party <id> ...") and stores the new share PENDING
 * (node_epoch.c) while the old share stays active; only EPOCH_COMMIT makes
 * it active.
 *
 * Identifiers of a key are 1..255 (the FROST maximum); a reshare may leave
 * gaps (e.g. nodes 3, 4, 5), so the refresh math runs over 1..max(id). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MODE_REFRESH 1
#define MODE_RESHARE 2
#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS
#define SC KG_MPC_SCALAR_BYTES
#define SID KG_MPC_NET_SESSION_ID_BYTES

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

kg_err kg_mpc_nd_ep_wrap(kg_err err, kg_err code, const char *fmt, ...)
{
    char d[512], p[256];
    va_list ap;
    snprintf(d, sizeof d, "%s", kg_err_detail(err)); /* copied first: kg_err_set overwrites it */
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    return kg_err_set(code, "%s: %s", p, d);
}

uint32_t kg_mpc_nd_ep_rd_u32(kg_mpc_node_rd *r)
{
    const uint8_t *p = kg_mpc_node_rd_fixed(r, 4);
    return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

/* ------------------------------------------------------ request parsing */

/* The head shared by EPOCH_DEAL and EPOCH_FINISH (see node.h). */
typedef struct {
    uint16_t mode;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint32_t epoch;
    unsigned new_t;
    uint16_t holders[MAXP], dealers[MAXP];
    size_t n_holders, n_dealers;
    kg_mpc_net_pubkeys reg[MAXP]; /* reg[i-1]: party i */
    bool in_reg[MAXP + 1];
} ep_head;

bool kg_mpc_nd_ep_has(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

static size_t idx_of(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return i;
    return n;
}

/* A list of distinct ids in 1..255 (u16 count, then ids). */
kg_err kg_mpc_nd_ep_rd_ids(kg_mpc_node_rd *r, uint16_t *ids, size_t *n, size_t lo, const char *what)
{
    size_t cnt = kg_mpc_node_rd_u16(r);
    *n = 0; /* set only once every entry is valid */
    if (r->bad || cnt < lo || cnt > MAXP) return kg_err_set(KG_ERR_BAD_INPUT, "the %s list has %zu entries", what, cnt);
    for (size_t i = 0; i < cnt; i++) {
        ids[i] = kg_mpc_node_rd_u16(r);
        if (r->bad || ids[i] == 0 || ids[i] > MAXP || kg_mpc_nd_ep_has(ids, i, ids[i]))
            return kg_err_set(KG_ERR_BAD_INPUT, "the %s list must hold distinct node ids 1..%d", what, MAXP);
    }
    *n = cnt;
    return KG_OK;
}

/* A registry: u16 count, then {id u16, X25519 32, Ed25519 32}. */
kg_err kg_mpc_nd_ep_rd_reg(kg_mpc_node_rd *r, kg_mpc_net_pubkeys *reg, bool *in_reg)
{
    unsigned n = kg_mpc_node_rd_u16(r);
    for (unsigned i = 0; i < n && !r->bad; i++) {
        uint16_t id = kg_mpc_node_rd_u16(r);
        const uint8_t *k = kg_mpc_node_rd_fixed(r, 64);
        if (!k || id == 0 || id > MAXP || in_reg[id])
            return kg_err_set(KG_ERR_BAD_INPUT, "the registry must list distinct node ids 1..%d", MAXP);
        in_reg[id] = true;
        memcpy(reg[id - 1].box, k, 32);
        memcpy(reg[id - 1].sign, k + 32, 32);
    }
    return r->bad ? kg_err_set(KG_ERR_BAD_INPUT, "truncated registry") : KG_OK;
}

kg_err kg_mpc_nd_ep_rd_key_id(kg_mpc_node_rd *r, char *out)
{
    size_t kl = 0;
    const uint8_t *kid = kg_mpc_node_rd_blob(r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    kg_err err = kg_mpc_node_key_id_check(kid, kl);
    if (!err) memcpy(out, kid, kl), out[kl] = 0;
    return err;
}

static kg_err rd_head(ep_head *h, kg_mpc_node_rd *r, uint16_t me, const kg_mpc_net_pubkeys *my_pub)
{
    h->mode = kg_mpc_node_rd_u16(r);
    if (h->mode != MODE_REFRESH && h->mode != MODE_RESHARE) return kg_err_set(KG_ERR_BAD_INPUT, "unknown epoch mode %u", h->mode);
    kg_err err = kg_mpc_nd_ep_rd_key_id(r, h->key_id);
    h->epoch = kg_mpc_nd_ep_rd_u32(r);
    h->new_t = kg_mpc_node_rd_u16(r);
    if (!err) err = kg_mpc_nd_ep_rd_ids(r, h->holders, &h->n_holders, 2, "holder");
    if (!err) err = kg_mpc_nd_ep_rd_ids(r, h->dealers, &h->n_dealers, 2, "dealer");
    if (!err) err = kg_mpc_nd_ep_rd_reg(r, h->reg, h->in_reg);
    if (err) return err;
    if (h->new_t < 2 || h->new_t > h->n_holders)
        return kg_err_set(KG_ERR_BAD_INPUT, "bad threshold %u of %zu", h->new_t, h->n_holders);
    for (size_t i = 0; i < h->n_dealers; i++)
        if (!h->in_reg[h->dealers[i]] || (h->mode == MODE_REFRESH && !kg_mpc_nd_ep_has(h->holders, h->n_holders, h->dealers[i])))
            return kg_err_set(KG_ERR_BAD_INPUT, "dealer %u is not registered or not a holder", h->dealers[i]);
    if (h->mode == MODE_RESHARE)
        for (size_t i = 0; i < h->n_holders; i++)
            if (!h->in_reg[h->holders[i]]) return kg_err_set(KG_ERR_BAD_INPUT, "holder %u is not registered", h->holders[i]);
    if (h->in_reg[me] && memcmp(&h->reg[me - 1], my_pub, sizeof *my_pub))
        return kg_err_set(KG_ERR_BAD_INPUT, "the registry's envelope keys of node %u are not this node's", me);
    return KG_OK;
}

/* Decode an envelope of this session and check its route. */
kg_err kg_mpc_nd_ep_env_get(kg_mpc_net_envelope *e, const uint8_t *p, size_t len, const kg_mpc_node_msg *m, uint8_t type,
                      uint32_t round, uint16_t to)
{
    kg_err err = p ? kg_mpc_net_envelope_decode(e, p, len) : kg_err_set(KG_ERR_BAD_INPUT, "truncated envelope list");
    if (!err && (e->h.scheme != m->scheme || e->h.type != type || e->h.round != round || e->h.receiver != to ||
                 memcmp(e->h.session, m->session, SID) || e->h.sender == 0 || e->h.sender > MAXP))
        err = kg_err_set(KG_ERR_BAD_INPUT, "an envelope from party %u does not belong to this step", e->h.sender);
    return err;
}

static kg_err env_header(kg_mpc_net_header *h, const kg_mpc_node_msg *m, uint8_t type, uint16_t me, uint16_t to,
                         uint32_t round, uint64_t seq)
{
    memset(h, 0, sizeof *h);
    h->version = KG_MPC_NET_VERSION;
    h->scheme = m->scheme;
    h->type = type;
    memcpy(h->session, m->session, SID);
    h->sender = me, h->receiver = to, h->round = round, h->seq = seq;
    return KG_OK;
}

/* Seal (from, to, scalar) to party `to` and append it as a blob. */
kg_err kg_mpc_nd_ep_seal_scalar(kg_mpc_nd *nd, kg_mpc_node_wr *w, const kg_mpc_node_msg *m, uint8_t type, uint32_t round,
                          uint16_t to, const kg_mpc_scalar *x, const uint8_t box[32])
{
    uint8_t pl[4 + SC];
    uint16_t me = nd->cfg->id;
    kg_mpc_net_header h;
    kg_bytes b = {0};
    pl[0] = (uint8_t)(me >> 8), pl[1] = (uint8_t)me, pl[2] = (uint8_t)(to >> 8), pl[3] = (uint8_t)to;
    memcpy(pl + 4, x->b, SC);
    kg_err err = env_header(&h, m, type, me, to, round, round + 1);
    if (!err) err = kg_mpc_net_envelope_seal(&b, &h, nd->env, box, pl, sizeof pl);
    kg_wipe(pl, sizeof pl);
    if (!err) kg_mpc_node_wr_blob(w, b.data, b.len);
    kg_bytes_free(&b);
    return err;
}

/* Open a sealed (from, to=me, scalar) from e's sender. */
kg_err kg_mpc_nd_ep_open_scalar(kg_mpc_nd *nd, kg_mpc_scalar *out, const kg_mpc_net_envelope *e, kg_mpc_group_id g,
                          const uint8_t box[32])
{
    kg_secret *pl = NULL;
    uint16_t me = nd->cfg->id, from = (uint16_t)e->h.sender;
    kg_err err = kg_mpc_net_envelope_open(&pl, e, nd->env, me, box);
    if (!err) err = kg_mpc_net_replay_check(nd->replay, &e->h);
    const uint8_t *d = pl ? kg_secret_cdata(pl) : NULL;
    if (!err && (kg_secret_len(pl) != 4 + SC || get16(d) != from || get16(d + 2) != me))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the sealed value from party %u is malformed", from);
    if (!err) err = kg_mpc_scalar_from_bytes(g, out, d + 4, SC);
    if (err) err = kg_mpc_nd_ep_wrap(err, err, "party %u", from);
    kg_secret_free(pl);
    return err;
}


/* ------------------------------------------------------------ EPOCH_DEAL */

/* The receivers of a dealing: every live holder for a refresh (they all
 * deal), the whole new set for a reshare. */
static const uint16_t *receivers(const ep_head *h, size_t *n)
{
    *n = h->mode == MODE_REFRESH ? h->n_dealers : h->n_holders;
    return h->mode == MODE_REFRESH ? h->dealers : h->holders;
}

static uint16_t max_id(const uint16_t *ids, size_t n)
{
    uint16_t m = 0;
    for (size_t i = 0; i < n; i++) m = ids[i] > m ? ids[i] : m;
    return m;
}

/* The commitment broadcast: dealer u16, t u16, then the points (a refresh
 * leaves out C_0, which is the identity by construction). */
static kg_err deal_commit(kg_mpc_nd *nd, kg_mpc_node_wr *w, const kg_mpc_node_msg *m, const ep_head *h,
                          const kg_mpc_point *vss)
{
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    size_t pl = kg_mpc_group_point_len(g);
    uint8_t *buf = malloc(4 + MAXP * KG_MPC_POINT_MAX_BYTES), *p = buf;
    if (!buf) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    *p++ = (uint8_t)(nd->cfg->id >> 8), *p++ = (uint8_t)nd->cfg->id;
    *p++ = (uint8_t)(h->new_t >> 8), *p++ = (uint8_t)h->new_t;
    kg_err err = KG_OK;
    for (unsigned j = h->mode == MODE_REFRESH ? 1 : 0; j < h->new_t && !err; j++, p += pl)
        err = kg_mpc_point_serialize(g, p, &vss[j]);
    kg_mpc_net_header eh;
    kg_bytes b = {0};
    if (!err) err = env_header(&eh, m, KG_MPC_NODE_EPOCH_DEAL, nd->cfg->id, 0, 1, 1);
    if (!err) err = kg_mpc_net_envelope_sign(&b, &eh, nd->env, buf, (size_t)(p - buf));
    if (!err) kg_mpc_node_wr_blob(w, b.data, b.len);
    kg_bytes_free(&b);
    free(buf);
    return err;
}

static kg_err ep_deal_run(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w,
                          const ep_head *h, const kg_mpc_frost_key_share *share)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    kg_secret *sec = kg_secret_new(MAXP * sizeof(kg_mpc_frost_dkg_round2));
    kg_mpc_point *vss = calloc(MAXP, sizeof *vss);
    kg_err err = sec && vss ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_dkg_round2 *sh = sec ? (kg_mpc_frost_dkg_round2 *)kg_secret_data(sec) : NULL;
    if (!err && h->mode == MODE_REFRESH)
        err = kg_mpc_frost_refresh_deal(g, sh, vss, me, h->new_t, max_id(h->holders, h->n_holders));
    else if (!err)
        err = kg_mpc_frost_reshare_deal(sh, vss, share, h->dealers, h->n_dealers, h->holders, h->n_holders, h->new_t);
    if (!err) err = deal_commit(nd, w, m, h, vss);
    size_t nr;
    const uint16_t *rc = receivers(h, &nr);
    kg_mpc_node_wr_u16(w, (uint16_t)(nr - (kg_mpc_nd_ep_has(rc, nr, me) ? 1 : 0)));
    for (size_t i = 0; i < nr && !err; i++) {
        const kg_mpc_frost_dkg_round2 *d = h->mode == MODE_REFRESH ? &sh[rc[i] - 1] : &sh[idx_of(h->holders, h->n_holders, rc[i])];
        if (rc[i] == me) {
            s->ep_own = d->share;
            s->ep_has_own = true;
        } else {
            err = kg_mpc_nd_ep_seal_scalar(nd, w, m, KG_MPC_NODE_EPOCH_DEAL, 2, rc[i], &d->share, h->reg[rc[i] - 1].box);
        }
    }
    kg_secret_free(sec);
    free(vss);
    return err;
}

kg_err kg_mpc_nd_epoch_deal(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    ep_head *h = calloc(1, sizeof *h);
    kg_err err = h ? rd_head(h, &r, me, &nd->env_pub) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_node_rd_end(&r, "EPOCH_DEAL request");
    if (!err && !kg_mpc_nd_ep_has(h->dealers, h->n_dealers, me))
        err = kg_err_set(KG_ERR_BAD_INPUT, "node %u is not a dealer of this request", me);
    kg_secret *sec = NULL;
    if (!err) err = kg_mpc_nd_ep_load_at(&sec, nd, h->key_id, (kg_mpc_group_id)m->scheme, h->epoch);
    const kg_mpc_frost_key_share *share = sec ? (const kg_mpc_frost_key_share *)kg_secret_cdata(sec) : NULL;
    if (!err && h->mode == MODE_REFRESH && (h->new_t != share->min_signers || !kg_mpc_nd_ep_has(h->holders, h->n_holders, me)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "a refresh keeps the threshold %u and this node's place", share->min_signers);
    kg_mpc_nd_session *s = NULL;
    if (!err) err = kg_mpc_nd_session_new(&s, nd, m, KG_MPC_ND_S_EPOCH);
    if (!err) {
        memcpy(s->key_id, h->key_id, sizeof s->key_id);
        s->ep_mode = h->mode;
        s->ep_epoch = h->epoch;
        err = ep_deal_run(nd, s, m, w, h, share);
        if (err) kg_mpc_nd_session_drop(nd, s);
    }
    kg_secret_free(sec);
    free(h);
    return err;
}

/* ---------------------------------------------------------- EPOCH_FINISH */

typedef struct {
    kg_mpc_point gpub;
    kg_mpc_point publics[MAXP]; /* refresh: PK of holders[i]; reshare: PK of dealers[i] */
    kg_mpc_point *vss;          /* n_dealers x new_t, row i: dealers[i] */
    const kg_mpc_point *rows[MAXP];
    kg_mpc_point out[MAXP];     /* the new PK of holders[i] */
} ep_fin;

/* The commitment broadcasts: one per dealer, signed by it. */
static kg_err fin_commits(kg_mpc_nd *nd, ep_fin *f, kg_mpc_node_rd *r, const kg_mpc_node_msg *m, const ep_head *h)
{
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    size_t pl = kg_mpc_group_point_len(g), skip = h->mode == MODE_REFRESH ? 1 : 0;
    bool seen[MAXP + 1] = {false};
    if (kg_mpc_node_rd_u16(r) != h->n_dealers) return kg_err_set(KG_ERR_BAD_INPUT, "one commitment per dealer is needed");
    for (size_t i = 0; i < h->n_dealers; i++) {
        size_t len = 0, pll = 0;
        const uint8_t *p = kg_mpc_node_rd_blob(r, &len, KG_MPC_NET_FRAME_MAX_BYTES), *pay = NULL;
        kg_mpc_net_envelope e;
        kg_err err = kg_mpc_nd_ep_env_get(&e, p, len, m, KG_MPC_NODE_EPOCH_DEAL, 1, 0);
        uint16_t from = (uint16_t)e.h.sender;
        size_t k = err ? 0 : idx_of(h->dealers, h->n_dealers, from);
        if (!err && (k == h->n_dealers || seen[from]))
            err = kg_err_set(KG_ERR_BAD_INPUT, "a commitment from party %u, which is not a dealer or sent two", from);
        if (!err) err = kg_mpc_net_envelope_verify(&pay, &pll, &e, h->reg[from - 1].sign);
        if (!err) err = kg_mpc_net_replay_check(nd->replay, &e.h);
        if (!err && (pll != 4 + (h->new_t - skip) * pl || get16(pay) != from || get16(pay + 2) != h->new_t))
            err = kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed commitment", from);
        if (err) return kg_mpc_nd_ep_wrap(err, err, "the commitment of party %u", from);
        seen[from] = true;
        kg_mpc_point *row = f->vss + k * h->new_t;
        if (skip) kg_mpc_point_identity(g, &row[0]);
        for (size_t j = skip; j < h->new_t && !err; j++)
            err = kg_mpc_point_deserialize(g, &row[j], pay + 4 + (j - skip) * pl, pl);
        if (err) return kg_mpc_nd_ep_wrap(err, KG_ERR_VERIFY, "party %u's commitment is invalid", from);
        f->rows[k] = row;
    }
    return KG_OK;
}

/* The sealed dealings addressed to this node (its own one is in s). */
static kg_err fin_sealed(kg_mpc_nd *nd, kg_mpc_frost_dkg_round2 *msgs, kg_mpc_node_rd *r, const kg_mpc_node_msg *m,
                         const ep_head *h, const kg_mpc_nd_session *s)
{
    uint16_t me = nd->cfg->id;
    bool seen[MAXP + 1] = {false};
    size_t cnt = kg_mpc_node_rd_u16(r), mine = s ? 1 : 0;
    if (cnt + mine != h->n_dealers) return kg_err_set(KG_ERR_BAD_INPUT, "one dealing per dealer is needed");
    for (size_t i = 0; i < cnt; i++) {
        size_t len = 0;
        const uint8_t *p = kg_mpc_node_rd_blob(r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        kg_err err = kg_mpc_nd_ep_env_get(&e, p, len, m, KG_MPC_NODE_EPOCH_DEAL, 2, me);
        uint16_t from = (uint16_t)e.h.sender;
        size_t k = err ? 0 : idx_of(h->dealers, h->n_dealers, from);
        if (!err && (k == h->n_dealers || seen[from] || from == me))
            err = kg_err_set(KG_ERR_BAD_INPUT, "a dealing from party %u, which is not a dealer or sent two", from);
        if (!err) err = kg_mpc_nd_ep_open_scalar(nd, &msgs[k].share, &e, (kg_mpc_group_id)m->scheme, h->reg[from - 1].box);
        if (err) return err;
        seen[from] = true;
        msgs[k].from = from, msgs[k].to = me;
    }
    if (s) {
        size_t k = idx_of(h->dealers, h->n_dealers, me);
        msgs[k].from = me, msgs[k].to = me, msgs[k].share = s->ep_own;
    }
    return KG_OK;
}

/* The new share into *out and the new public shares into f->out. */
static kg_err fin_compute(kg_mpc_frost_key_share *out, ep_fin *f, const kg_mpc_frost_key_share *old, uint16_t me,
                          kg_mpc_group_id g, const ep_head *h, const kg_mpc_frost_dkg_round2 *msgs)
{
    uint16_t culprit = 0;
    kg_err err;
    if (h->mode == MODE_REFRESH && h->new_t != old->min_signers)
        return kg_err_set(KG_ERR_BAD_INPUT, "a refresh keeps the threshold %u", old->min_signers);
    if (h->mode == MODE_REFRESH) {
        kg_mpc_point *pubs = calloc(MAXP, sizeof *pubs);
        if (!pubs) return kg_err_set(KG_ERR_NOMEM, "out of memory");
        for (size_t j = 0; j < MAXP; j++) kg_mpc_point_identity(g, &pubs[j]);
        for (size_t i = 0; i < h->n_holders; i++) pubs[h->holders[i] - 1] = f->publics[i];
        *out = *old;
        out->max_signers = max_id(h->holders, h->n_holders); /* identifiers may have gaps */
        err = kg_mpc_frost_refresh_apply(out, pubs, &culprit, f->rows, msgs, h->n_dealers);
        out->max_signers = old->max_signers;
        if (!err && !kg_mpc_point_eq(g, &pubs[me - 1], &out->public_share))
            err = kg_err_set(KG_ERR_BAD_INPUT, "the public shares sent with the request do not match this node's share");
        for (size_t i = 0; i < h->n_holders && !err; i++) f->out[i] = pubs[h->holders[i] - 1];
        free(pubs);
    } else {
        err = kg_mpc_frost_reshare_finish(out, f->out, &culprit, g, &f->gpub, me, h->holders, h->n_holders, h->new_t,
                                          f->rows, msgs, h->n_dealers, f->publics);
    }
    if (err && culprit) err = kg_mpc_nd_ep_wrap(err, err, "party %u dealt an invalid share", culprit);
    if (err) kg_wipe(out, sizeof *out);
    return err;
}

/* The node's current share for FINISH: required at the request's epoch for
 * a refresh; for a reshare optional (a new holder has none) but, when
 * present, of the same group key. */
static kg_err fin_old(kg_secret **sec, kg_mpc_nd *nd, const kg_mpc_node_msg *m, const ep_head *h, const ep_fin *f)
{
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    if (h->mode == MODE_REFRESH) return kg_mpc_nd_ep_load_at(sec, nd, h->key_id, g, h->epoch);
    kg_err err = kg_mpc_nd_share_load(sec, nd, h->key_id);
    if (err == KG_ERR_NOT_FOUND) return KG_OK;
    const kg_mpc_frost_key_share *o = err ? NULL : (const kg_mpc_frost_key_share *)kg_secret_cdata(*sec);
    if (!err && (o->group != g || !kg_mpc_point_eq(g, &o->group_public, &f->gpub)))
        err = kg_err_set(KG_ERR_CONFLICT, "this node holds another key under the id %s", h->key_id);
    return err;
}

static kg_err fin_publics(ep_fin *f, kg_mpc_node_rd *r, kg_mpc_group_id g, const ep_head *h)
{
    size_t pl = kg_mpc_group_point_len(g), want = h->mode == MODE_REFRESH ? h->n_holders : h->n_dealers;
    const uint8_t *p = kg_mpc_node_rd_fixed(r, pl);
    kg_err err = p ? kg_mpc_point_deserialize(g, &f->gpub, p, pl) : kg_err_set(KG_ERR_BAD_INPUT, "truncated request");
    if (!err && kg_mpc_node_rd_u16(r) != want) err = kg_err_set(KG_ERR_BAD_INPUT, "the request needs %zu public shares", want);
    for (size_t i = 0; i < want && !err; i++) {
        p = kg_mpc_node_rd_fixed(r, pl);
        err = p ? kg_mpc_point_deserialize(g, &f->publics[i], p, pl) : kg_err_set(KG_ERR_BAD_INPUT, "truncated request");
    }
    return err;
}

kg_err kg_mpc_nd_epoch_finish(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    ep_head *h = calloc(1, sizeof *h);
    ep_fin *f = calloc(1, sizeof *f);
    kg_err err = h && f ? rd_head(h, &r, me, &nd->env_pub) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    bool dealer = !err && kg_mpc_nd_ep_has(h->dealers, h->n_dealers, me);
    if (!err && !kg_mpc_nd_ep_has(h->holders, h->n_holders, me))
        err = kg_err_set(KG_ERR_BAD_INPUT, "node %u is not a holder of the new shares", me);
    if (!err && dealer && (!s || !s->ep_has_own || s->ep_mode != h->mode || s->ep_epoch != h->epoch || strcmp(s->key_id, h->key_id)))
        err = kg_err_set(KG_ERR_NOT_FOUND, "this node has no dealing for this session (send EPOCH_DEAL first)");
    if (!err && !dealer && h->mode == MODE_REFRESH) err = kg_err_set(KG_ERR_BAD_INPUT, "in a refresh every receiver deals");
    if (!err) err = fin_publics(f, &r, g, h);
    if (!err && !(f->vss = calloc((size_t)h->n_dealers * h->new_t, sizeof *f->vss))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = fin_commits(nd, f, &r, m, h);
    kg_secret *sec = err ? NULL : kg_secret_new(MAXP * sizeof(kg_mpc_frost_dkg_round2) + sizeof(kg_mpc_frost_key_share));
    if (!err && !sec) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_dkg_round2 *msgs = sec ? (kg_mpc_frost_dkg_round2 *)kg_secret_data(sec) : NULL;
    kg_mpc_frost_key_share *nsh = sec ? (kg_mpc_frost_key_share *)(msgs + MAXP) : NULL;
    if (!err) err = fin_sealed(nd, msgs, &r, m, h, dealer ? s : NULL);
    if (!err) err = kg_mpc_node_rd_end(&r, "EPOCH_FINISH request");
    kg_secret *old = NULL;
    if (!err) err = fin_old(&old, nd, m, h, f);
    if (!err) err = fin_compute(nsh, f, old ? (const kg_mpc_frost_key_share *)kg_secret_cdata(old) : NULL, me, g, h, msgs);
    if (!err) err = kg_mpc_nd_pending_save(nd, h->key_id, nsh, h->epoch + 1, m->session);
    uint8_t pt[KG_MPC_POINT_MAX_BYTES];
    size_t pl = kg_mpc_group_point_len(g);
    if (!err) err = kg_mpc_point_serialize(g, pt, &f->gpub);
    if (!err) kg_mpc_node_wr_fixed(w, pt, pl);
    for (size_t i = 0; h && i < h->n_holders && !err; i++) {
        err = kg_mpc_point_serialize(g, pt, &f->out[i]);
        if (!err) kg_mpc_node_wr_fixed(w, pt, pl);
    }
    kg_secret_free(old);
    kg_secret_free(sec);
    if (f) free(f->vss);
    free(f);
    free(h);
    if (s) kg_mpc_nd_session_drop(nd, s);
    return err;
}
