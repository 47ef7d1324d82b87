/* RESYNC: rebuild a key record from the nodes (kg_mpc_coordinator_resync,
 * mpc/node.h KEY_INFO; the nodes' side is node_keyinfo.c).
 *
 * Refresh, reshare and repair are two-phase on the nodes, but the caller
 * saves the record (epoch, holders, public shares) after the protocol
 * returns. If the coordinator crashes, or its store write fails, after the
 * nodes committed, the nodes are at epoch e+1 and the record says e:
 * signatures fail and the next refresh is refused. RESYNC asks every node
 * of the address book (a reshare may have changed the holder set) for its
 * epoch and public share of the key, and:
 *   - groups the answers by epoch and takes the highest epoch at least
 *     k->t nodes report (never one older than the record's);
 *   - checks those public shares in the exponent (RFC 9591 §4.2 Lagrange
 *     interpolation): some t of them must interpolate at 0 to the record's
 *     group key (for frost-secp256k1-tr the plain point, as in the record),
 *     and every other one must be the polynomial's value at its id;
 *   - the threshold of that epoch may differ after a reshare: k->t is
 *     tried first, then the smallest t' (2..count) for which every share
 *     is consistent. A degree-(t-1) sharing fits no lower degree (but for
 *     negligible probability), so t' is the reshare's threshold;
 *   - the new holders are the nodes reporting that epoch. An old holder
 *     (in k->ids) that is unreachable or at another epoch stays a holder,
 *     marked stale, with its expected public share (the polynomial's value
 *     at its id) so that `repair` can rebuild it. An old holder answering
 *     "no key" is dropped (a reshare left it out). Simple rule: an old
 *     holder left out of a reshare that was down for its EPOCH_DELETE is
 *     kept as a stale holder too; repair or ignore it.
 * Nothing here is secret; the nodes' answers are untrusted and parsed as
 * such. A failure (no epoch with enough consistent answers, an
 * inconsistent share) is KG_ERR_CONFLICT naming every node's answer, and
 * *k is unchanged. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS
#define MAX_TRIES 512 /* t-subsets tried per threshold when looking for one that gives the group key */

enum { A_DOWN = 0, A_NOKEY, A_OK };

typedef struct {
    uint16_t id;
    int state;
    uint32_t epoch;
    kg_mpc_point pub;
} rs_answer;

typedef struct {
    rs_answer a[MAXP];
    size_t na;
    char why[2048]; /* what each node reported */
    size_t off;
    uint16_t ids[MAXP]; /* the nodes at the chosen epoch */
    kg_mpc_point pubs[MAXP];
    size_t c;
    size_t sub[MAXP]; /* the t-subset that gave the group key */
} rs_run;

kg_err kg_mpc_co_keyinfo_answer_read(uint32_t *epoch, kg_mpc_point *pub, uint16_t want, kg_mpc_group_id g,
                                     const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    *epoch = 0;
    memset(pub, 0, sizeof *pub);
    kg_mpc_node_rd_init(&r, body, len);
    uint16_t id = kg_mpc_node_rd_u16(&r);
    uint32_t e = kg_mpc_nd_ep_rd_u32(&r);
    const uint8_t *p = kg_mpc_node_rd_fixed(&r, kg_mpc_group_point_len(g));
    kg_err err = kg_mpc_node_rd_end(&r, "KEY_INFO answer");
    if (!err && id != want) err = kg_err_set(KG_ERR_BAD_INPUT, "node %u answered as node %u", want, id);
    if (!err) err = kg_mpc_point_deserialize(g, pub, p, kg_mpc_group_point_len(g));
    if (!err) *epoch = e;
    else memset(pub, 0, sizeof *pub);
    return err;
}

static void why_add(rs_run *r, const char *fmt, ...) KG_PRINTF(2, 3);
static void why_add(rs_run *r, const char *fmt, ...)
{
    if (r->off >= sizeof r->why - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(r->why + r->off, sizeof r->why - r->off, fmt, ap);
    va_end(ap);
    if (w > 0) r->off += (size_t)w;
    if (r->off >= sizeof r->why) r->off = sizeof r->why - 1;
}

/* Ask node a->id for KEY_INFO of k. */
static void ask(kg_mpc_coordinator *co, const kg_mpc_key *k, rs_answer *a, rs_run *r)
{
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_mpc_net_conn *c = NULL;
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err) err = kg_crypto_random(sess, sizeof sess);
    if (!err) err = kg_mpc_co_connect(&c, co, a->id);
    if (!err) err = kg_mpc_coord_call(&resp, &m, c, KG_MPC_NODE_KEY_INFO, k->g, sess, &w.b);
    if (!err) err = kg_mpc_co_keyinfo_answer_read(&a->epoch, &a->pub, a->id, k->g, m.body, m.body_len);
    kg_mpc_co_release(co, c, !err || err == KG_ERR_NOT_FOUND);
    kg_bytes_free(&resp);
    kg_bytes_free(&w.b);
    a->state = !err ? A_OK : err == KG_ERR_NOT_FOUND && c ? A_NOKEY : A_DOWN;
    if (a->state == A_OK) why_add(r, " node %u: epoch %u;", a->id, a->epoch);
    else if (a->state == A_NOKEY) why_add(r, " node %u: no key;", a->id);
    else why_add(r, " node %u: unreachable or failed (%.160s);", a->id, kg_err_detail(err));
}

/* The polynomial through (ids[sub[i]], pubs[sub[i]]), i < t, at x, in the
 * exponent: kg_mpc_frost_lagrange at 0, else prod_{m != i} (x - x_m)/(x_i - x_m). */
static kg_err interp(const rs_run *r, kg_mpc_group_id g, kg_mpc_point *out, uint16_t x, unsigned t)
{
    uint16_t set[MAXP];
    for (unsigned i = 0; i < t; i++) set[i] = r->ids[r->sub[i]];
    kg_mpc_point_identity(g, out);
    kg_err err = KG_OK;
    for (unsigned i = 0; i < t && !err; i++) {
        kg_mpc_scalar lam, xs, xi, xm, num, den;
        if (x == 0) {
            err = kg_mpc_frost_lagrange(g, &lam, set[i], set, t);
        } else {
            kg_mpc_scalar_from_u64(g, &lam, 1);
            kg_mpc_scalar_from_u64(g, &xs, x);
            kg_mpc_scalar_from_u64(g, &xi, set[i]);
            for (unsigned j = 0; j < t && !err; j++) {
                if (j == i) continue;
                kg_mpc_scalar_from_u64(g, &xm, set[j]);
                kg_mpc_scalar_sub(g, &num, &xs, &xm);
                kg_mpc_scalar_sub(g, &den, &xi, &xm);
                err = kg_mpc_scalar_invert(g, &den, &den);
                kg_mpc_scalar_mul(g, &lam, &lam, &num);
                kg_mpc_scalar_mul(g, &lam, &lam, &den);
            }
        }
        kg_mpc_point term;
        if (!err) {
            kg_mpc_point_mul(g, &term, &lam, &r->pubs[r->sub[i]]);
            kg_mpc_point_add(g, out, out, &term);
        }
    }
    return err;
}

/* Next t-subset of 0..c-1 in lexicographic order; false after the last. */
static bool next_subset(size_t *s, unsigned t, size_t c)
{
    for (unsigned i = t; i-- > 0;) {
        if (s[i] < c - t + i) {
            s[i]++;
            for (unsigned j = i + 1; j < t; j++) s[j] = s[j - 1] + 1;
            return true;
        }
    }
    return false;
}

/* With threshold t: a t-subset giving the group key (r->sub) whose
 * polynomial every other share fits. *bad: a node that does not fit (0). */
static bool consistent(rs_run *r, const kg_mpc_key *k, unsigned t, uint16_t *bad)
{
    if (t < 2 || t > r->c) return false;
    for (unsigned i = 0; i < t; i++) r->sub[i] = i;
    unsigned tries = 0;
    do {
        kg_mpc_point p;
        if (interp(r, k->g, &p, 0, t) || !kg_mpc_point_eq(k->g, &p, &k->group_public)) continue;
        for (size_t j = 0; j < r->c; j++) {
            bool in = false;
            for (unsigned i = 0; i < t; i++) in = in || r->sub[i] == j;
            if (in) continue;
            if (interp(r, k->g, &p, r->ids[j], t) || !kg_mpc_point_eq(k->g, &p, &r->pubs[j])) {
                *bad = r->ids[j];
                return false;
            }
        }
        return true;
    } while (++tries < MAX_TRIES && next_subset(r->sub, t, r->c));
    return false;
}

/* The highest epoch at least k->t nodes report (false if none). */
static bool pick_epoch(const rs_run *r, unsigned need, uint32_t *out)
{
    bool found = false;
    for (size_t i = 0; i < r->na; i++) {
        if (r->a[i].state != A_OK || (found && r->a[i].epoch <= *out)) continue;
        unsigned cnt = 0;
        for (size_t j = 0; j < r->na; j++) cnt += r->a[j].state == A_OK && r->a[j].epoch == r->a[i].epoch;
        if (cnt >= need) *out = r->a[i].epoch, found = true;
    }
    return found;
}

/* The new record: the nodes at epoch e, then old holders that are down or
 * at another epoch as stale holders (public share from the polynomial). */
static kg_err build(kg_mpc_key *nk, const kg_mpc_key *k, rs_run *r, uint32_t e, unsigned t)
{
    *nk = *k;
    nk->epoch = e, nk->t = t, nk->n = 0;
    size_t ri = 0;
    for (size_t i = 0; i < r->na; i++) {
        const rs_answer *a = &r->a[i];
        bool old = false;
        for (unsigned j = 0; j < k->n; j++) old = old || k->ids[j] == a->id;
        bool mine = a->state == A_OK && a->epoch == e;
        if (!mine && !(old && a->state != A_NOKEY)) continue;
        nk->ids[nk->n] = a->id;
        nk->stale[nk->n] = !mine;
        if (mine) nk->pub[nk->n] = r->pubs[ri++];
        else if (interp(r, k->g, &nk->pub[nk->n], a->id, t))
            return kg_err_set(KG_ERR_BAD_INPUT, "key %s: cannot derive node %u's public share", k->key_id, a->id);
        nk->n++;
    }
    return KG_OK;
}

static kg_err resync_run(kg_mpc_coordinator *co, kg_mpc_key *k, rs_run *r)
{
    kg_mpc_coord_node *book = calloc(MAXP, sizeof *book);
    if (!book) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    r->na = kg_mpc_co_nodes(co, book, MAXP);
    for (size_t i = 0; i < r->na; i++) {
        r->a[i].id = book[i].id;
        ask(co, k, &r->a[i], r);
    }
    free(book);
    uint32_t e = 0;
    if (!pick_epoch(r, k->t, &e))
        return kg_err_set(KG_ERR_CONFLICT, "resync of key %s: no epoch is reported by %u nodes (the threshold); "
                          "bring nodes up and retry. The nodes said:%s", k->key_id, k->t, r->why);
    if (e < k->epoch)
        return kg_err_set(KG_ERR_CONFLICT, "resync of key %s: the nodes are at epoch %u, older than the record's %u; "
                          "not going back. The nodes said:%s", k->key_id, e, k->epoch, r->why);
    for (size_t i = 0; i < r->na; i++)
        if (r->a[i].state == A_OK && r->a[i].epoch == e) r->ids[r->c] = r->a[i].id, r->pubs[r->c++] = r->a[i].pub;
    uint16_t bad = 0, bad_first = 0;
    unsigned t = k->t;
    bool ok = consistent(r, k, t, &bad_first);
    for (unsigned tt = 2; !ok && tt <= r->c; tt++)
        if (tt != k->t) ok = consistent(r, k, t = tt, &bad);
    if (!ok) {
        if (bad_first)
            return kg_err_set(KG_ERR_CONFLICT, "resync of key %s: node %u's public share at epoch %u is inconsistent "
                              "with the others (repair or replace it). The nodes said:%s", k->key_id, bad_first, e,
                              r->why);
        return kg_err_set(KG_ERR_CONFLICT, "resync of key %s: the public shares of epoch %u do not combine to the "
                          "key's public key for any threshold. The nodes said:%s", k->key_id, e, r->why);
    }
    kg_mpc_key *nk = calloc(1, sizeof *nk);
    if (!nk) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err err = build(nk, k, r, e, t);
    if (!err) *k = *nk;
    free(nk);
    return err;
}

kg_err kg_mpc_coordinator_resync(kg_mpc_coordinator *co, kg_mpc_key *k)
{
    if (!co || !k) return kg_err_set(KG_ERR_BAD_INPUT, "resync needs a coordinator and a key record");
    if (!kg_mpc_group_valid(k->g) || k->t < 2 || k->t > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s: bad record (threshold %u)", k->key_id, k->t);
    rs_run *r = calloc(1, sizeof *r);
    if (!r) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err err = resync_run(co, k, r);
    free(r);
    return err;
}
