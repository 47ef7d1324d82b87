/* Resync of a CGGMP21 key record from the nodes
 * (kg_mpc_coordinator_cggmp_resync; the FROST one is coord_resync.c).
 *
 * Refresh, reshare and repair store the new shares on the nodes before the
 * caller saves the key record (epoch, holders, public shares). If the
 * coordinator crashes, or its store write fails, in between (or a CONFIRM
 * reached only some nodes), the nodes are at epoch e+1 and the record says
 * e: presigning is refused with the epoch error. Unlike a FROST node, a
 * CGGMP21 node keeps the whole public data of its share (t, holders, group
 * key, chain code, every holder's public share X_j: the library needs it),
 * so CGGMP_INFO with flag 1 answers it and no interpolation is needed here:
 *   - every node of the address book is asked (a reshare may have moved
 *     the key); answers are untrusted and parsed as such;
 *   - an answer counts when the node has aux info (an aux or refresh
 *     CONFIRM stores share and aux together), its group key and chain code
 *     are the record's, it is one of the holders it reports, and its epoch
 *     is not older than the record's;
 *   - the highest epoch whose identical public data is reported by at least
 *     its t holders wins (a tie: more nodes); the public shares are checked
 *     to be t-of-n shares of the group key (kg_mpc_co_cg_shares_check);
 *   - the record takes that t, holders and public shares; a holder that is
 *     down, at another epoch or without the key is marked stale (repair it:
 *     coord_cggmp_reshare.c). The old epoch's presignatures are forgotten.
 * No epoch qualifying is KG_ERR_CONFLICT listing what every node said, and
 * the record is unchanged. Nothing here is secret. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coord_cggmp_int.h"

#define MAXP KG_MPC_CO_CG_MAXP
#define BOOK_MAX KG_MPC_FROST_MAX_PARTICIPANTS

enum { A_DOWN = 0, A_NOKEY, A_REFUSED, A_OK };

typedef struct {
    uint16_t id;
    int state;
    kg_mpc_co_cg_info_pub d;
} answer;

typedef struct {
    answer a[BOOK_MAX];
    size_t na;
    char why[2048]; /* what each node said */
    size_t off;
} rs_run;

static void say(rs_run *r, const char *line)
{
    size_t l = strlen(line);
    if (r->off + l >= sizeof r->why) return;
    memcpy(r->why + r->off, line, l + 1);
    r->off += l;
}

/* ------------------------------------------------------------ parser */

static kg_err pub_tail(kg_mpc_node_rd *r, kg_mpc_group_id g, kg_mpc_co_cg_info_pub *o)
{
    size_t pl = kg_mpc_group_point_len(g);
    o->t = kg_mpc_node_rd_u16(r);
    o->n = kg_mpc_node_rd_u16(r);
    if (r->bad || o->n < 2 || o->n > MAXP || o->t < 2 || o->t > o->n) return KG_ERR_BAD_INPUT;
    for (unsigned i = 0; i < o->n; i++) {
        o->ids[i] = kg_mpc_node_rd_u16(r);
        if (r->bad || o->ids[i] == 0 || (i && o->ids[i] <= o->ids[i - 1])) return KG_ERR_BAD_INPUT;
    }
    const uint8_t *b = kg_mpc_node_rd_fixed(r, pl);
    if (!b || kg_mpc_point_deserialize(g, &o->pub, b, pl)) return KG_ERR_BAD_INPUT;
    if (!(b = kg_mpc_node_rd_fixed(r, sizeof o->chain_code))) return KG_ERR_BAD_INPUT;
    memcpy(o->chain_code, b, sizeof o->chain_code);
    for (unsigned i = 0; i < o->n; i++)
        if (!(b = kg_mpc_node_rd_fixed(r, pl)) || kg_mpc_point_deserialize(g, &o->X[i], b, pl)) return KG_ERR_BAD_INPUT;
    return KG_OK;
}

kg_err kg_mpc_co_cg_info_pub_read(kg_mpc_group_id g, uint16_t node, const uint8_t *body, size_t len,
                                  kg_mpc_co_cg_info_pub *out)
{
    kg_mpc_node_rd r;
    size_t pl = kg_mpc_group_point_len(g);
    memset(out, 0, sizeof *out);
    kg_mpc_node_rd_init(&r, body, len);
    out->epoch = kg_mpc_nd_ep_rd_u32(&r);
    const uint8_t *a = kg_mpc_node_rd_fixed(&r, 1 + KG_MPC_CO_CG_AUX_DIGEST);
    out->has_aux = a && a[0];
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    for (unsigned i = 0; i < cnt && !r.bad; i++) { /* the presignatures: skipped */
        kg_mpc_node_rd_fixed(&r, KG_MPC_CO_CG_PRESIG_ID);
        unsigned ns = kg_mpc_node_rd_u16(&r);
        if (ns > MAXP) r.bad = true;
        for (unsigned s = 0; s < ns && !r.bad; s++) kg_mpc_node_rd_u16(&r);
    }
    if (!r.bad && kg_mpc_node_rd_u16(&r) != cnt) r.bad = true; /* their R */
    for (unsigned i = 0; i < cnt && !r.bad; i++) kg_mpc_node_rd_fixed(&r, pl);
    kg_err err = r.bad ? KG_ERR_BAD_INPUT : pub_tail(&r, g, out);
    if (!err) err = kg_mpc_node_rd_end(&r, "CGGMP_INFO answer");
    if (err) {
        memset(out, 0, sizeof *out);
        return kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed CGGMP_INFO answer (with public data)", node);
    }
    return KG_OK;
}

/* ------------------------------------------------------------- resync */

static void ask(kg_mpc_coordinator *co, const kg_mpc_key *k, answer *a, rs_run *r)
{
    kg_mpc_net_conn *c = NULL;
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES] = {0}, flag = 1;
    kg_mpc_node_wr w = {0};
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_mpc_node_wr_fixed(&w, &flag, 1);
    kg_err e = kg_mpc_node_wr_done(&w);
    if (!e) e = kg_mpc_co_connect(&c, co, a->id);
    if (!e) e = kg_mpc_coord_call(&resp, &m, c, KG_MPC_NODE_CGGMP_INFO, k->g, sess, &w.b);
    if (c) kg_mpc_co_release(co, c, e != KG_ERR_NETWORK);
    if (!e) e = kg_mpc_co_cg_info_pub_read(k->g, a->id, m.body, m.body_len, &a->d);
    a->state = !e ? A_OK : e == KG_ERR_NOT_FOUND ? A_NOKEY : e == KG_ERR_NETWORK ? A_DOWN : A_REFUSED;
    char line[320];
    if (a->state == A_OK)
        snprintf(line, sizeof line, " node %u: %sepoch %u, %u-of-%u;", a->id, a->d.has_aux ? "" : "no aux, ",
                 a->d.epoch, a->d.t, a->d.n);
    else
        snprintf(line, sizeof line, " node %u: %.250s;", a->id,
                 a->state == A_REFUSED ? kg_err_detail(e) : a->state == A_NOKEY ? "no key" : "down");
    say(r, line);
    kg_bytes_free(&resp);
    kg_bytes_free(&w.b);
}

static bool has_id(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

static bool same_data(kg_mpc_group_id g, const kg_mpc_co_cg_info_pub *x, const kg_mpc_co_cg_info_pub *y)
{
    bool eq = x->epoch == y->epoch && x->t == y->t && x->n == y->n && !memcmp(x->ids, y->ids, x->n * sizeof *x->ids);
    for (unsigned i = 0; eq && i < x->n; i++) eq = kg_mpc_point_eq(g, &x->X[i], &y->X[i]);
    return eq;
}

/* An answer that may count: aux, the record's key and chain code, a
 * holder of what it reports, not older than the record. */
static bool usable(const kg_mpc_key *k, const answer *a)
{
    return a->state == A_OK && a->d.has_aux && a->d.epoch >= k->epoch && kg_mpc_point_eq(k->g, &a->d.pub, &k->group_public) &&
           !memcmp(a->d.chain_code, k->chain_code, sizeof k->chain_code) && has_id(a->d.ids, a->d.n, a->id);
}

static size_t agreeing(const kg_mpc_key *k, const rs_run *r, const answer *a)
{
    size_t cnt = 0;
    for (size_t j = 0; j < r->na; j++) cnt += usable(k, &r->a[j]) && same_data(k->g, &r->a[j].d, &a->d);
    return cnt;
}

/* The winning answer (highest epoch with >= t agreeing nodes, then the most nodes), or NULL. */
static const answer *pick(const kg_mpc_key *k, const rs_run *r)
{
    const answer *best = NULL;
    size_t best_n = 0;
    for (size_t i = 0; i < r->na; i++) {
        const answer *a = &r->a[i];
        size_t cnt = usable(k, a) ? agreeing(k, r, a) : 0;
        if (cnt == 0 || cnt < a->d.t) continue;
        if (!best || a->d.epoch > best->d.epoch || (a->d.epoch == best->d.epoch && cnt > best_n)) best = a, best_n = cnt;
    }
    return best;
}

static kg_err resync_run(kg_mpc_coordinator *co, kg_mpc_key *k, rs_run *r)
{
    kg_mpc_coord_node *book = calloc(BOOK_MAX, sizeof *book);
    if (!book) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    r->na = kg_mpc_co_nodes(co, book, BOOK_MAX);
    for (size_t i = 0; i < r->na; i++) {
        r->a[i].id = book[i].id;
        ask(co, k, &r->a[i], r);
    }
    free(book);
    const answer *w = pick(k, r);
    if (!w)
        return kg_err_set(KG_ERR_CONFLICT, "resync of key %s: no epoch (at least the record's %u) is reported with the "
                          "same public data by a threshold of its holders; bring nodes up and retry. The nodes said:%s",
                          k->key_id, k->epoch, r->why);
    kg_err err = kg_mpc_co_cg_shares_check(k->g, &k->group_public, w->d.X, w->d.ids, w->d.n, w->d.t);
    if (err)
        return kg_err_set(KG_ERR_CONFLICT, "resync of key %s: the public shares nodes report for epoch %u do not give "
                          "the key's public key: %s. The nodes said:%s", k->key_id, w->d.epoch, kg_err_detail(err), r->why);
    kg_mpc_key *nk = malloc(sizeof *nk);
    if (!nk) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    *nk = *k;
    memset(nk->ids, 0, sizeof nk->ids);
    memset(nk->pub, 0, sizeof nk->pub);
    memset(nk->stale, 0, sizeof nk->stale);
    nk->epoch = w->d.epoch, nk->t = w->d.t, nk->n = w->d.n;
    for (unsigned i = 0; i < nk->n; i++) {
        nk->ids[i] = w->d.ids[i];
        nk->pub[i] = w->d.X[i];
        bool fresh = false;
        for (size_t j = 0; j < r->na && !fresh; j++)
            fresh = r->a[j].id == nk->ids[i] && usable(k, &r->a[j]) && same_data(k->g, &r->a[j].d, &w->d);
        nk->stale[i] = !fresh; /* down, at another epoch or without the key: repair it */
    }
    if (nk->epoch != k->epoch) kg_mpc_co_cg_inv_forget(co, k->key_id);
    *k = *nk;
    free(nk);
    return KG_OK;
}

kg_err kg_mpc_coordinator_cggmp_resync(kg_mpc_coordinator *co, kg_mpc_key *key)
{
    if (!key->ecdsa || key->t < 2 || key->t > key->n || key->n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a CGGMP21 key with a valid threshold", key->key_id);
    rs_run *r = calloc(1, sizeof *r);
    if (!r) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err err = resync_run(co, key, r);
    free(r);
    return err;
}
