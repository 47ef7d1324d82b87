/* Proactive refresh and resharing of a FROST key across node processes
 * (mpc/node.h: EPOCH_*; the nodes' side is node_refresh.c and node_epoch.c;
 * the math is frost.h's refresh and reshare).
 *
 * Phase 1 (EPOCH_DEAL): each dealer -- every live holder for a refresh, t
 * live old holders for a reshare -- answers a commitment broadcast it
 * signed and one sealed envelope per receiver. The coordinator relays the
 * commitments to every receiver and routes each sealed envelope to its
 * receiver only (it reads just the header); it never sees a share.
 * EPOCH_FINISH: each receiver checks every signature and dealing (a bad
 * dealer is named), keeps its new share PENDING and answers the group key
 * and the new public shares; all receivers must agree, and the group key
 * must be the record's (else the node is named and everything aborted).
 * Phase 2 (EPOCH_COMMIT): only when every receiver finished does the
 * coordinator tell them to make the pending share active; on any failure
 * before that, EPOCH_ABORT and every node keeps its old share (the record
 * is unchanged). A holder that was down for a refresh is marked stale in
 * the record: it refuses the next epoch's requests until repaired
 * (coord_repair.c). After a reshare, old holders outside the new set are
 * told to delete their shares (best effort: one that is down keeps a share
 * of the old epoch, which no longer combines with the new ones). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS
#define MODE_REFRESH 1
#define MODE_RESHARE 2

typedef struct {
    kg_mpc_coordinator *co;
    const kg_mpc_key *k;
    uint16_t mode;
    unsigned new_t;
    uint16_t holders[MAXP], dealers[MAXP], recv[MAXP];
    size_t n_holders, n_dealers, n_recv;
    kg_mpc_net_conn *conn[MAXP + 1]; /* by node id */
    kg_mpc_net_pubkeys reg[MAXP];    /* by id - 1 */
    bool in_reg[MAXP + 1];
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_bytes commit[MAXP];           /* by dealer index */
    kg_mpc_node_wr inbox[MAXP];      /* by receiver index */
    unsigned cnt[MAXP];
    kg_bytes result;                 /* the agreed FINISH answer */
    bool committed[MAXP];            /* by receiver index */
} ep_run;

static size_t idx_of(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return i;
    return n;
}

/* A record the coordinator can run a protocol on: ids ascending in 1..255. */
kg_err kg_mpc_co_key_check(const kg_mpc_key *k)
{
    if (!kg_mpc_group_valid(k->g) || k->t < 2 || k->t > k->n || k->n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s: bad threshold %u of %u", k->key_id, k->t, k->n);
    for (unsigned i = 0; i < k->n; i++)
        if (k->ids[i] == 0 || k->ids[i] > MAXP || (i && k->ids[i] <= k->ids[i - 1]))
            return kg_err_set(KG_ERR_BAD_INPUT, "key %s: node ids must be ascending in 1..%d", k->key_id, MAXP);
    return KG_OK;
}

void kg_mpc_co_wr_u32(kg_mpc_node_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    kg_mpc_node_wr_fixed(w, b, 4);
}

void kg_mpc_co_wr_ids(kg_mpc_node_wr *w, const uint16_t *ids, size_t n)
{
    kg_mpc_node_wr_u16(w, (uint16_t)n);
    for (size_t i = 0; i < n; i++) kg_mpc_node_wr_u16(w, ids[i]);
}

void kg_mpc_co_wr_reg(kg_mpc_node_wr *w, const kg_mpc_net_pubkeys *reg, const bool *in_reg)
{
    uint16_t n = 0;
    for (unsigned id = 1; id <= MAXP; id++) n = (uint16_t)(n + in_reg[id]);
    kg_mpc_node_wr_u16(w, n);
    for (unsigned id = 1; id <= MAXP; id++) {
        if (!in_reg[id]) continue;
        kg_mpc_node_wr_u16(w, (uint16_t)id);
        kg_mpc_node_wr_fixed(w, reg[id - 1].box, 32);
        kg_mpc_node_wr_fixed(w, reg[id - 1].sign, 32);
    }
}

void kg_mpc_co_wr_point(kg_mpc_node_wr *w, kg_mpc_group_id g, const kg_mpc_point *p)
{
    uint8_t b[KG_MPC_POINT_MAX_BYTES];
    if (kg_mpc_point_serialize(g, b, p)) w->bad = true;
    else kg_mpc_node_wr_fixed(w, b, kg_mpc_group_point_len(g));
}

static kg_err reg_add(ep_run *r, uint16_t id)
{
    if (r->in_reg[id]) return KG_OK;
    kg_err err = kg_mpc_co_registry_get(&r->reg[id - 1], r->co, id);
    if (!err) r->in_reg[id] = true;
    return err;
}

/* One call with no answer body expected; the response is dropped. */
kg_err kg_mpc_co_call0(kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g, const uint8_t *sess, kg_mpc_node_wr *w)
{
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_err err = kg_mpc_node_wr_done(w);
    if (!err) err = kg_mpc_coord_call(&resp, &m, c, type, g, sess, &w->b);
    kg_bytes_free(&resp);
    kg_bytes_free(&w->b);
    return err;
}

static void wr_head(kg_mpc_node_wr *w, const ep_run *r)
{
    kg_mpc_node_wr_u16(w, r->mode);
    kg_mpc_node_wr_blob(w, (const uint8_t *)r->k->key_id, strlen(r->k->key_id));
    kg_mpc_co_wr_u32(w, r->k->epoch);
    kg_mpc_node_wr_u16(w, (uint16_t)r->new_t);
    kg_mpc_co_wr_ids(w, r->holders, r->n_holders);
    kg_mpc_co_wr_ids(w, r->dealers, r->n_dealers);
    kg_mpc_co_wr_reg(w, r->reg, r->in_reg);
}

/* Route one dealer's answer: its commitment and its sealed dealings. */
static kg_err deal_route(ep_run *r, size_t di, const kg_mpc_node_msg *m)
{
    uint16_t d = r->dealers[di];
    kg_mpc_node_rd rd;
    kg_mpc_net_envelope e;
    size_t len = 0;
    kg_mpc_node_rd_init(&rd, m->body, m->body_len);
    const uint8_t *p = kg_mpc_node_rd_blob(&rd, &len, KG_MPC_NET_FRAME_MAX_BYTES);
    kg_err err = p ? kg_mpc_net_envelope_decode(&e, p, len) : kg_err_set(KG_ERR_BAD_INPUT, "node %u: truncated answer", d);
    if (!err && (e.h.sender != d || e.h.receiver != 0))
        err = kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a commitment with a bad address", d);
    if (!err) err = kg_bytes_set(&r->commit[di], p, len);
    unsigned cnt = kg_mpc_node_rd_u16(&rd);
    for (unsigned i = 0; i < cnt && !err; i++) {
        p = kg_mpc_node_rd_blob(&rd, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        err = p ? kg_mpc_net_envelope_decode(&e, p, len) : kg_err_set(KG_ERR_BAD_INPUT, "node %u: truncated answer", d);
        size_t ri = err ? 0 : idx_of(r->recv, r->n_recv, (uint16_t)e.h.receiver);
        if (!err && (e.h.sender != d || ri == r->n_recv || e.h.receiver == d))
            err = kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a dealing with a bad address", d);
        if (!err) {
            kg_mpc_node_wr_blob(&r->inbox[ri], p, len);
            r->cnt[ri]++;
        }
    }
    if (!err) err = kg_mpc_node_rd_end(&rd, "EPOCH_DEAL answer");
    return err;
}

static kg_err phase_deal(ep_run *r)
{
    kg_mpc_node_wr w = {0};
    wr_head(&w, r);
    kg_err err = kg_mpc_node_wr_done(&w);
    for (size_t i = 0; i < r->n_dealers && !err; i++) {
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        err = kg_mpc_coord_call(&resp, &m, r->conn[r->dealers[i]], KG_MPC_NODE_EPOCH_DEAL, r->k->g, r->sess, &w.b);
        if (!err) err = deal_route(r, i, &m);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return err;
}

/* The FINISH request of receiver index ri. */
static void wr_finish(kg_mpc_node_wr *w, const ep_run *r, size_t ri)
{
    const kg_mpc_key *k = r->k;
    wr_head(w, r);
    kg_mpc_co_wr_point(w, k->g, &k->group_public);
    if (r->mode == MODE_REFRESH) {
        kg_mpc_node_wr_u16(w, (uint16_t)k->n);
        for (unsigned i = 0; i < k->n; i++) kg_mpc_co_wr_point(w, k->g, &k->pub[i]);
    } else {
        kg_mpc_node_wr_u16(w, (uint16_t)r->n_dealers);
        for (size_t i = 0; i < r->n_dealers; i++)
            kg_mpc_co_wr_point(w, k->g, &k->pub[idx_of(k->ids, k->n, r->dealers[i])]);
    }
    kg_mpc_node_wr_u16(w, (uint16_t)r->n_dealers);
    for (size_t i = 0; i < r->n_dealers; i++) kg_mpc_node_wr_blob(w, r->commit[i].data, r->commit[i].len);
    kg_mpc_node_wr_u16(w, (uint16_t)r->cnt[ri]);
    kg_mpc_node_wr_fixed(w, r->inbox[ri].b.data, r->inbox[ri].b.len);
    if (r->inbox[ri].bad) w->bad = true;
}

static kg_err phase_finish(ep_run *r)
{
    const kg_mpc_key *k = r->k;
    size_t pl = kg_mpc_group_point_len(k->g), want = (1 + r->n_holders) * pl;
    uint8_t gp[KG_MPC_POINT_MAX_BYTES];
    kg_err err = kg_mpc_point_serialize(k->g, gp, &k->group_public);
    for (size_t i = 0; i < r->n_recv && !err; i++) {
        uint16_t id = r->recv[i];
        kg_mpc_node_wr w = {0};
        wr_finish(&w, r, i);
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        err = kg_mpc_node_wr_done(&w);
        if (!err) err = kg_mpc_coord_call(&resp, &m, r->conn[id], KG_MPC_NODE_EPOCH_FINISH, k->g, r->sess, &w.b);
        kg_bytes_free(&w.b);
        if (!err && m.body_len != want) err = kg_err_set(KG_ERR_BAD_INPUT, "node %u: bad EPOCH_FINISH answer size", id);
        else if (!err && memcmp(m.body, gp, pl))
            err = kg_err_set(KG_ERR_VERIFY, "node %u reports a different group key: the new shares would not sign "
                             "for key %s; aborted", id, k->key_id);
        else if (!err && i > 0 && memcmp(r->result.data, m.body, want))
            err = kg_err_set(KG_ERR_VERIFY, "node %u reports other new public shares than node %u (the dealings "
                             "were not consistent); aborted", id, r->recv[0]);
        if (!err && i == 0) err = kg_bytes_set(&r->result, m.body, want);
        kg_bytes_free(&resp);
    }
    return err;
}

static void phase_abort(ep_run *r)
{
    for (unsigned id = 1; id <= MAXP; id++) {
        if (!r->conn[id]) continue;
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_blob(&w, (const uint8_t *)r->k->key_id, strlen(r->k->key_id));
        if (kg_mpc_co_call0(r->conn[id], KG_MPC_NODE_EPOCH_ABORT, r->k->g, r->sess, &w)) {
            kg_mpc_co_release(r->co, r->conn[id], false); /* a broken connection: do not reuse it */
            r->conn[id] = NULL;
        }
    }
}

/* COMMIT on every receiver; one that fails is retried once on a fresh
 * connection (its pending share is durable), else left stale. */
static size_t phase_commit(ep_run *r)
{
    size_t ok = 0;
    for (size_t i = 0; i < r->n_recv; i++) {
        uint16_t id = r->recv[i];
        for (int attempt = 0; attempt < 2 && !r->committed[i]; attempt++) {
            if (attempt) {
                kg_mpc_co_release(r->co, r->conn[id], false);
                r->conn[id] = NULL;
                if (kg_mpc_co_connect(&r->conn[id], r->co, id)) break;
            }
            kg_mpc_node_wr w = {0};
            kg_mpc_node_wr_blob(&w, (const uint8_t *)r->k->key_id, strlen(r->k->key_id));
            kg_mpc_co_wr_u32(&w, r->k->epoch + 1);
            r->committed[i] = kg_mpc_co_call0(r->conn[id], KG_MPC_NODE_EPOCH_COMMIT, r->k->g, r->sess, &w) == KG_OK;
        }
        ok += r->committed[i];
    }
    return ok;
}

/* Both phases; on success pub[i] is the new public share of holders[i]. */
static kg_err ep_execute(ep_run *r, kg_mpc_point *pub)
{
    size_t pl = kg_mpc_group_point_len(r->k->g);
    kg_err err = kg_crypto_random(r->sess, sizeof r->sess);
    if (!err) err = phase_deal(r);
    if (!err) err = phase_finish(r);
    for (size_t i = 0; i < r->n_holders && !err; i++)
        err = kg_mpc_point_deserialize(r->k->g, &pub[i], r->result.data + (i + 1) * pl, pl);
    if (err) {
        kg_err keep = err;
        char detail[512];
        snprintf(detail, sizeof detail, "%s", kg_err_detail(err));
        phase_abort(r);
        return kg_err_set(keep, "%s", detail);
    }
    phase_commit(r);
    return KG_OK;
}

static ep_run *run_new(kg_mpc_coordinator *co, const kg_mpc_key *k, uint16_t mode)
{
    ep_run *r = calloc(1, sizeof *r);
    if (r) r->co = co, r->k = k, r->mode = mode;
    return r;
}

static void run_free(ep_run *r, bool healthy)
{
    if (!r) return;
    for (unsigned id = 1; id <= MAXP; id++) kg_mpc_co_release(r->co, r->conn[id], healthy);
    for (size_t i = 0; i < MAXP; i++) {
        kg_bytes_free(&r->commit[i]);
        kg_bytes_free(&r->inbox[i].b);
    }
    kg_bytes_free(&r->result);
    free(r);
}

/* Connect to the first `want` live, non-stale holders of k (all of them
 * when want is 0) as dealers; the others that are down are listed. */
static kg_err connect_dealers(ep_run *r, unsigned want, const char *what)
{
    const kg_mpc_key *k = r->k;
    char down[600] = "";
    size_t off = 0;
    for (unsigned i = 0; i < k->n && (!want || r->n_dealers < want); i++) {
        uint16_t id = k->ids[i];
        if (off >= sizeof down - 1) off = sizeof down - 1;
        if (k->stale[i]) {
            off += (size_t)snprintf(down + off, sizeof down - off, " node %u is stale;", id);
            continue;
        }
        kg_err e = kg_mpc_co_connect(&r->conn[id], r->co, id);
        if (!e) r->dealers[r->n_dealers++] = id;
        else off += (size_t)snprintf(down + off, sizeof down - off, " %s;", kg_err_detail(e));
        if (off >= sizeof down) off = sizeof down - 1;
    }
    if (r->n_dealers < k->t)
        return kg_err_set(KG_ERR_NETWORK, "%s of key %s needs %u live holders, only %zu answered:%s", what, k->key_id,
                          k->t, r->n_dealers, down);
    kg_err err = KG_OK;
    for (size_t i = 0; i < r->n_dealers && !err; i++) err = reg_add(r, r->dealers[i]);
    return err;
}

kg_err kg_mpc_coordinator_refresh(kg_mpc_coordinator *co, kg_mpc_key *k)
{
    kg_err err = kg_mpc_co_key_check(k);
    if (err) return err;
    ep_run *r = run_new(co, k, MODE_REFRESH);
    kg_mpc_point *pub = calloc(MAXP, sizeof *pub);
    if (!r || !pub) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) {
        r->new_t = k->t;
        memcpy(r->holders, k->ids, k->n * sizeof *k->ids);
        r->n_holders = k->n;
        err = connect_dealers(r, 0, "a refresh");
    }
    if (!err) {
        memcpy(r->recv, r->dealers, r->n_dealers * sizeof *r->dealers);
        r->n_recv = r->n_dealers;
        err = ep_execute(r, pub);
    }
    if (!err) {
        for (unsigned i = 0; i < k->n; i++) {
            size_t ri = idx_of(r->recv, r->n_recv, k->ids[i]);
            k->pub[i] = pub[i];
            k->stale[i] = ri == r->n_recv || !r->committed[ri];
        }
        k->epoch++;
    }
    run_free(r, !err);
    free(pub);
    return err;
}

/* new_ids sorted into out; distinct, 1..255, 2 <= new_t <= n. */
static kg_err new_set(uint16_t *out, const uint16_t *ids, size_t n, unsigned t)
{
    if (n < 2 || n > MAXP || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "a reshare needs a threshold t of n nodes with 2 <= t <= n <= %d "
                          "(got %u of %zu)", MAXP, t, n);
    for (size_t i = 0; i < n; i++) {
        uint16_t v = ids[i];
        if (v == 0 || v > MAXP) return kg_err_set(KG_ERR_BAD_INPUT, "node id %u: ids of a key are 1..%d", v, MAXP);
        size_t j = i;
        for (; j > 0 && out[j - 1] > v; j--) out[j] = out[j - 1];
        if (j > 0 && out[j - 1] == v) return kg_err_set(KG_ERR_BAD_INPUT, "node %u is listed twice", v);
        out[j] = v;
    }
    return KG_OK;
}

/* Connect every new holder (each must take part) and register them all. */
static kg_err connect_new(ep_run *r)
{
    kg_err err = KG_OK;
    for (size_t i = 0; i < r->n_recv && !err; i++) {
        uint16_t id = r->recv[i];
        err = reg_add(r, id);
        if (!err && !r->conn[id]) err = kg_mpc_co_connect(&r->conn[id], r->co, id);
        if (err) err = kg_mpc_nd_ep_wrap(err, err, "every new holder must take part in a reshare");
    }
    return err;
}

/* Old holders outside the new set delete their shares (best effort). */
static void reshare_delete(ep_run *r, const kg_mpc_key *old)
{
    for (unsigned i = 0; i < old->n; i++) {
        uint16_t id = old->ids[i];
        if (idx_of(r->recv, r->n_recv, id) < r->n_recv) continue;
        kg_mpc_co_cache_drop(kg_mpc_co_cache_of(r->co), id, old->key_id); /* its commitments are useless now */
        if (!r->conn[id] && kg_mpc_co_connect(&r->conn[id], r->co, id)) continue;
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_blob(&w, (const uint8_t *)old->key_id, strlen(old->key_id));
        kg_mpc_co_wr_u32(&w, old->epoch);
        if (kg_mpc_co_call0(r->conn[id], KG_MPC_NODE_EPOCH_DELETE, old->g, r->sess, &w)) {
            kg_mpc_co_release(r->co, r->conn[id], false);
            r->conn[id] = NULL;
        }
    }
}

kg_err kg_mpc_coordinator_reshare(kg_mpc_coordinator *co, kg_mpc_key *k, unsigned new_t, const uint16_t *new_ids,
                                  size_t new_n)
{
    kg_err err = kg_mpc_co_key_check(k);
    if (err) return err;
    ep_run *r = run_new(co, k, MODE_RESHARE);
    kg_mpc_point *pub = calloc(MAXP, sizeof *pub);
    kg_mpc_key *old = calloc(1, sizeof *old);
    if (!r || !pub || !old) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = new_set(r->holders, new_ids, new_n, new_t);
    if (!err) {
        r->new_t = new_t;
        r->n_holders = new_n;
        memcpy(r->recv, r->holders, new_n * sizeof *r->holders);
        r->n_recv = new_n;
        err = connect_dealers(r, k->t, "a reshare");
    }
    if (!err) err = connect_new(r);
    if (!err) err = ep_execute(r, pub);
    if (!err) {
        *old = *k;
        k->t = new_t;
        k->n = (unsigned)new_n;
        for (size_t i = 0; i < new_n; i++) {
            k->ids[i] = r->holders[i];
            k->pub[i] = pub[i];
            k->stale[i] = !r->committed[i];
        }
        for (size_t i = new_n; i < MAXP; i++) {
            k->ids[i] = 0;
            k->stale[i] = false;
            memset(&k->pub[i], 0, sizeof k->pub[i]);
        }
        k->epoch++;
        reshare_delete(r, old);
    }
    run_free(r, !err);
    free(pub);
    free(old);
    return err;
}
