/* CGGMP21 signing by the coordinator (eprint 2021/060, Fig. 7 presigning
 * and Fig. 8 signing): presignatures made ahead by t nodes, an inventory
 * of them kept per key, and the one-round online signature.
 *
 * Inventory. Each presignature is single use and lives on its signing set
 * (the nodes store it sealed and mark it used durably before they answer
 * CGGMP_SIGN). The coordinator keeps, per key and under a mutex, the ids,
 * signing sets and R of the presignatures it knows (from its own presign
 * runs; on first use of a key it asks every holder for CGGMP_INFO and
 * keeps only those every signer still holds). A presignature leaves the
 * inventory before its CGGMP_SIGN is sent, so no two signatures ever use
 * one, even when signing runs in many threads at once.
 *
 * Signing picks a stored presignature whose signers all answer a connect
 * (a pooled connection is health-checked, coord.c), else runs one presign
 * on t live nodes (lowest ids first) and signs with it ("full signing").
 * A node that is down or fails is left out and another set is used while
 * t nodes remain. The coordinator derives the BIP32 child key itself and
 * checks each node reports the same; kg_mpc_cggmp_sign_combine verifies
 * the signature. When it does not verify (or a presign's δ check fails),
 * the identification below names the culprit: every signer proves its
 * share (CGGMP_BLAME kind 2 / 1), every signer checks the others' proofs
 * (kind 4 / 3), and a party is named only when all other signers agree.
 *
 * Presignatures made by another coordinator are usable: CGGMP_INFO
 * answers carry each presignature's R (info_read_R). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "coord_cggmp_int.h"

#define MAXP KG_MPC_CO_CG_MAXP
#define SIGN_MS 15000
#define PRESIGN_MS 60000
#define PATH_MAX_DEPTH 255

typedef kg_mpc_co_cg_presig presig_ent;

struct kg_mpc_co_cg_inv {
    pthread_mutex_t mu;
    presig_ent *e;
    size_t n, cap;
    char (*loaded)[KG_MPC_NODE_KEY_ID_MAX + 1]; /* keys whose CGGMP_INFO was merged */
    size_t nl;
};

static pthread_mutex_t inv_create_mu = PTHREAD_MUTEX_INITIALIZER;

static struct kg_mpc_co_cg_inv *inv_of(kg_mpc_coordinator *co)
{
    struct kg_mpc_co_cg_inv **slot = kg_mpc_co_cg_inv_slot(co);
    pthread_mutex_lock(&inv_create_mu);
    if (!*slot && (*slot = calloc(1, sizeof **slot))) pthread_mutex_init(&(*slot)->mu, NULL);
    pthread_mutex_unlock(&inv_create_mu);
    return *slot;
}

void kg_mpc_co_cg_inv_free(struct kg_mpc_co_cg_inv *inv)
{
    if (!inv) return;
    pthread_mutex_destroy(&inv->mu);
    free(inv->e);
    free(inv->loaded);
    free(inv);
}

static void inv_add(kg_mpc_coordinator *co, const presig_ent *pe)
{
    struct kg_mpc_co_cg_inv *inv = inv_of(co);
    if (!inv) return;
    pthread_mutex_lock(&inv->mu);
    bool dup = false;
    for (size_t i = 0; i < inv->n && !dup; i++)
        if ((dup = !memcmp(inv->e[i].id, pe->id, sizeof pe->id)) && pe->has_R && !inv->e[i].has_R) inv->e[i] = *pe;
    if (!dup && inv->n == inv->cap) {
        size_t cap = inv->cap ? 2 * inv->cap : 64;
        presig_ent *e = realloc(inv->e, cap * sizeof *e);
        if (e) { inv->e = e; inv->cap = cap; }
    }
    if (!dup && inv->n < inv->cap) inv->e[inv->n++] = *pe;
    pthread_mutex_unlock(&inv->mu);
}

void kg_mpc_co_cg_inv_forget(kg_mpc_coordinator *co, const char *key_id)
{
    struct kg_mpc_co_cg_inv *inv = inv_of(co);
    if (!inv) return;
    pthread_mutex_lock(&inv->mu);
    size_t w = 0;
    for (size_t i = 0; i < inv->n; i++)
        if (strcmp(inv->e[i].key_id, key_id)) inv->e[w++] = inv->e[i];
    inv->n = w;
    pthread_mutex_unlock(&inv->mu);
}

/* Take (remove) a presignature of k whose signers are all outside bad[]
 * (by index in k->ids). */
static bool inv_take(kg_mpc_coordinator *co, const kg_mpc_key *k, const bool *bad, presig_ent *out)
{
    struct kg_mpc_co_cg_inv *inv = inv_of(co);
    bool hit = false;
    if (!inv) return false;
    pthread_mutex_lock(&inv->mu);
    for (size_t i = 0; i < inv->n && !hit; i++) {
        presig_ent *e = &inv->e[i];
        if (strcmp(e->key_id, k->key_id) || e->epoch != k->epoch || !e->has_R) continue;
        hit = true;
        for (size_t s = 0; s < e->ns && hit; s++)
            for (size_t j = 0; j < k->n; j++)
                if (k->ids[j] == e->signers[s] && (bad[j] || k->stale[j])) hit = false;
        if (hit) {
            *out = *e;
            inv->e[i] = inv->e[--inv->n];
        }
    }
    pthread_mutex_unlock(&inv->mu);
    return hit;
}

/* ------------------------------------------------------ node answers */

static uint32_t rd_u32(kg_mpc_node_rd *r)
{
    const uint8_t *b = kg_mpc_node_rd_fixed(r, 4);
    return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

/* The optional tail of a CGGMP_INFO answer: u16 count (= the entries'),
 * then each presignature's R in the same order. A node that sends it lets
 * a coordinator that did not run the presign (a restarted or one-shot
 * one) use the presignature; without it only R from the presign result
 * is known. */
static void info_read_R(kg_mpc_node_rd *r, kg_mpc_group_id g, unsigned cnt, kg_mpc_co_cg_presig *out, size_t n_out)
{
    if (r->bad || r->left == 0) return;
    size_t pl = kg_mpc_group_point_len(g);
    if (kg_mpc_node_rd_u16(r) != cnt) { r->bad = true; return; }
    for (unsigned i = 0; i < cnt && !r->bad; i++) {
        const uint8_t *b = kg_mpc_node_rd_fixed(r, pl);
        kg_mpc_point R;
        if (!b || kg_mpc_point_deserialize(g, &R, b, pl)) { r->bad = true; return; }
        if (i < n_out) { out[i].R = R; out[i].has_R = true; }
    }
}

/* A CGGMP_INFO answer: epoch, has aux, aux digest, the unused
 * presignatures {id, signers} (and optionally their R, info_read_R).
 * Those of epoch k->epoch go to out[]. */
kg_err kg_mpc_co_cg_info_read(const kg_mpc_key *k, uint16_t node, const uint8_t *body, size_t len,
                              kg_mpc_co_cg_presig *out, size_t *n_out, size_t cap)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, body, len);
    uint32_t epoch = rd_u32(&r);
    kg_mpc_node_rd_fixed(&r, 1 + KG_MPC_CO_CG_AUX_DIGEST);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    *n_out = 0;
    for (unsigned i = 0; i < cnt && !r.bad; i++) {
        presig_ent e = {.epoch = epoch};
        const uint8_t *id = kg_mpc_node_rd_fixed(&r, sizeof e.id);
        e.ns = kg_mpc_node_rd_u16(&r);
        if (!id || e.ns > MAXP) { r.bad = true; break; }
        memcpy(e.id, id, sizeof e.id);
        for (size_t s = 0; s < e.ns; s++) e.signers[s] = kg_mpc_node_rd_u16(&r);
        snprintf(e.key_id, sizeof e.key_id, "%s", k->key_id);
        if (epoch == k->epoch && *n_out < cap) out[(*n_out)++] = e;
    }
    info_read_R(&r, k->g, cnt, out, *n_out);
    if (kg_mpc_node_rd_end(&r, "CGGMP_INFO answer")) {
        *n_out = 0;
        return kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a malformed CGGMP_INFO answer", node);
    }
    return KG_OK;
}

/* The CGGMP_SIGN answer: σ_i, the child key, and (optional) R. */
kg_err kg_mpc_co_cg_sign_read(kg_mpc_group_id g, uint16_t node, const uint8_t *body, size_t len,
                              kg_mpc_scalar *sigma, kg_mpc_point *child, kg_mpc_point *R, bool *has_R)
{
    size_t pl = kg_mpc_group_point_len(g);
    *has_R = len == KG_MPC_SCALAR_BYTES + 2 * pl;
    if ((len != KG_MPC_SCALAR_BYTES + pl && !*has_R) || kg_mpc_scalar_from_bytes(g, sigma, body, KG_MPC_SCALAR_BYTES) ||
        kg_mpc_point_deserialize(g, child, body + KG_MPC_SCALAR_BYTES, pl) ||
        (*has_R && kg_mpc_point_deserialize(g, R, body + KG_MPC_SCALAR_BYTES + pl, pl))) {
        *has_R = false;
        kg_wipe(sigma, sizeof *sigma);
        return kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed CGGMP_SIGN answer", node);
    }
    return KG_OK;
}

/* ------------------------------------------------------- the context */

typedef struct {
    kg_mpc_coordinator *co;
    const kg_mpc_key *k;
    bool failed[KG_MPC_FROST_MAX_PARTICIPANTS]; /* by index in k->ids */
    char why[1536];
    size_t off;
} sctx;

static void drop(sctx *x, uint16_t id, const char *what)
{
    for (size_t i = 0; i < x->k->n; i++)
        if (x->k->ids[i] == id && !x->failed[i]) {
            x->failed[i] = true;
            if (x->off < sizeof x->why - 16)
                x->off += (size_t)snprintf(x->why + x->off, sizeof x->why - x->off, " %s;", what);
            if (x->off > sizeof x->why) x->off = sizeof x->why;
        }
}

#define INFO_CAP 256 /* presignatures read per node */

/* Whether key_id's inventory was loaded from the nodes; mark: record it. */
static bool info_loaded(struct kg_mpc_co_cg_inv *inv, const char *key_id, bool mark)
{
    pthread_mutex_lock(&inv->mu);
    bool done = false;
    for (size_t i = 0; i < inv->nl && !done; i++) done = !strcmp(inv->loaded[i], key_id);
    char (*l)[KG_MPC_NODE_KEY_ID_MAX + 1] = mark && !done ? realloc(inv->loaded, (inv->nl + 1) * sizeof *l) : NULL;
    if (l) {
        inv->loaded = l;
        snprintf(l[inv->nl++], sizeof *l, "%s", key_id);
    }
    pthread_mutex_unlock(&inv->mu);
    return done;
}

/* Keep each listed presignature that every signer which answered lists
 * too (all[i * INFO_CAP ..] are node i's, cnt[i] of them). Without R
 * (INFO has none) it is usable only once R is learnt. */
static void info_merge(sctx *x, const presig_ent *all, const size_t *cnt, const bool *answered)
{
    const kg_mpc_key *k = x->k;
    for (size_t i = 0; i < k->n; i++)
        for (size_t a = 0; a < cnt[i]; a++) {
            const presig_ent *e = &all[i * INFO_CAP + a];
            bool ok = true;
            for (size_t s = 0; s < e->ns && ok; s++)
                for (size_t j = 0; j < k->n && ok; j++) {
                    if (k->ids[j] != e->signers[s] || !answered[j]) continue;
                    bool has = false;
                    for (size_t b = 0; b < cnt[j] && !has; b++) {
                        const presig_ent *o = &all[j * INFO_CAP + b];
                        has = !memcmp(o->id, e->id, sizeof e->id) && o->has_R == e->has_R &&
                              (!e->has_R || kg_mpc_point_eq(k->g, &o->R, &e->R)); /* signers agree on R */
                    }
                    ok = has;
                }
            if (ok) inv_add(x->co, e);
        }
}

/* Ask every live holder for its inventory (CGGMP_INFO, in parallel) once
 * per key and coordinator, and merge it. */
static void info_load(sctx *x)
{
    const kg_mpc_key *k = x->k;
    struct kg_mpc_co_cg_inv *inv = inv_of(x->co);
    if (!inv || info_loaded(inv, k->key_id, false)) return;
    kg_mpc_net_conn *c[KG_MPC_FROST_MAX_PARTICIPANTS] = {NULL};
    kg_mpc_node_wr w = {0};
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES] = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    if (kg_mpc_node_wr_done(&w)) return;
    for (size_t i = 0; i < k->n; i++) {
        if (k->stale[i] || kg_mpc_co_connect(&c[i], x->co, k->ids[i])) continue;
        if (kg_mpc_co_send(c[i], KG_MPC_NODE_CGGMP_INFO, k->g, sess, &w.b, SIGN_MS)) {
            kg_mpc_co_release(x->co, c[i], false);
            c[i] = NULL;
        }
    }
    kg_bytes_free(&w.b);
    presig_ent *all = calloc((size_t)k->n * INFO_CAP, sizeof *all);
    size_t cnt[KG_MPC_FROST_MAX_PARTICIPANTS] = {0};
    bool answered[KG_MPC_FROST_MAX_PARTICIPANTS] = {false};
    for (size_t i = 0; i < k->n; i++) {
        if (!c[i]) continue;
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        kg_err e = kg_mpc_co_recv(&resp, &m, c[i], KG_MPC_NODE_CGGMP_INFO, sess, SIGN_MS);
        if (!e && all)
            answered[i] = !kg_mpc_co_cg_info_read(k, k->ids[i], m.body, m.body_len, all + i * INFO_CAP, &cnt[i], INFO_CAP);
        kg_bytes_free(&resp);
        kg_mpc_co_release(x->co, c[i], !e);
    }
    if (all) info_merge(x, all, cnt, answered);
    free(all);
    info_loaded(inv, k->key_id, true);
}

/* ----------------------------------------------------------- presign */

typedef struct {
    presig_ent *e;
    kg_mpc_group_id g;
} presign_arg;

/* The presign result: presignature id, R (the same at every signer). */
static kg_err presign_check(void *arg, const uint8_t *res, size_t len)
{
    presign_arg *a = arg;
    (void)len;
    memcpy(a->e->id, res, sizeof a->e->id);
    if (kg_mpc_point_deserialize(a->g, &a->e->R, res + sizeof a->e->id, kg_mpc_group_point_len(a->g)))
        return kg_err_set(KG_ERR_VERIFY, "the signers agree on an invalid presignature point R");
    a->e->has_R = true;
    return KG_OK;
}

/* One presignature on t live nodes (lowest ids first), rerun without any
 * node that is down or blamed while t remain. */
static kg_err presign_one(sctx *x, presig_ent *out)
{
    const kg_mpc_key *k = x->k;
    for (;;) {
        uint16_t set[MAXP];
        size_t ns = 0;
        for (size_t i = 0; i < k->n && ns < k->t; i++)
            if (!k->stale[i] && !x->failed[i]) set[ns++] = k->ids[i];
        if (ns < k->t)
            return kg_err_set(KG_ERR_NETWORK, "key %s: only %zu of the %u nodes needed are reachable and working:%s",
                              k->key_id, ns, k->t, x->off ? x->why : " (the others are stale)");
        presig_ent e = {.epoch = k->epoch, .ns = ns};
        memcpy(e.signers, set, ns * sizeof *set);
        snprintf(e.key_id, sizeof e.key_id, "%s", k->key_id);
        presign_arg a = {.e = &e, .g = k->g};
        kg_mpc_co_cg_phase p = {.co = x->co, .g = k->g, .phase = KG_MPC_CO_CG_PRESIGN, .key_id = k->key_id,
                                .t = k->t, .ids = k->ids, .n = k->n, .parts = set, .np = ns, .epoch = k->epoch,
                                .call_ms = PRESIGN_MS, .check = presign_check, .arg = &a,
                                .identify = kg_mpc_co_cg_presign_identify};
        kg_err err = kg_mpc_co_cg_run(&p);
        kg_mpc_co_cg_free(&p);
        if (!err) {
            *out = e;
            return KG_OK;
        }
        bool any = false;
        char d[1024];
        snprintf(d, sizeof d, "%s", kg_err_detail(err));
        for (size_t i = 0; i < ns; i++) {
            char bd[1100];
            snprintf(bd, sizeof bd, "party %u is to blame: %s", set[i], d); /* "party N" for the audit */
            if (p.down[i] || p.blamed[i]) { drop(x, set[i], p.blamed[i] ? bd : d); any = true; }
        }
        if (!any) return kg_err_set(err, "%s", d);
    }
}

static kg_err key_usable(const kg_mpc_key *k)
{
    if (!k->ecdsa || !kg_mpc_cggmp_scheme_name(k->g) || k->t < 2 || k->t > k->n || k->n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a CGGMP21 key with a valid threshold", k->key_id);
    return KG_OK;
}

kg_err kg_mpc_coordinator_cggmp_presign(kg_mpc_coordinator *co, const kg_mpc_key *key, unsigned count, unsigned *made)
{
    *made = 0;
    kg_err err = key_usable(key);
    if (!err && (count < 1 || count > 1000))
        err = kg_err_set(KG_ERR_BAD_INPUT, "make 1..1000 presignatures at a time (asked for %u)", count);
    sctx *x = err ? NULL : calloc(1, sizeof *x);
    if (!err && !x) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (err) return err;
    x->co = co;
    x->k = key;
    info_load(x);
    while (!err && *made < count) {
        presig_ent e;
        if (!(err = presign_one(x, &e))) {
            inv_add(co, &e);
            (*made)++;
        }
    }
    free(x);
    return err;
}

/* ----------------------------------------------------------- signing */

typedef struct {
    const uint8_t *digest;
    uint32_t path[PATH_MAX_DEPTH];
    size_t depth;
    kg_mpc_point child; /* the key signed for: the group key or its child */
} sreq;

/* The body of CGGMP_SIGN (and the tail of BLAME kind 2): key id, presig
 * id, digest, path. */
static void wr_sign_req(kg_mpc_node_wr *w, const kg_mpc_key *k, const presig_ent *e, const sreq *q)
{
    kg_mpc_node_wr_blob(w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_mpc_node_wr_fixed(w, e->id, sizeof e->id);
    kg_mpc_node_wr_fixed(w, q->digest, 32);
    kg_mpc_node_wr_u16(w, (uint16_t)q->depth);
    for (size_t i = 0; i < q->depth; i++) kg_mpc_co_wr_u32(w, q->path[i]);
}

/* Identification after a signature that does not verify (Fig. 8). */
static kg_err identify(sctx *x, const presig_ent *e, const sreq *q, kg_mpc_net_conn **c, const kg_mpc_scalar *sigma)
{
    const kg_mpc_key *k = x->k;
    char out[1200], hex[17];
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    uint16_t culprit = 0;
    kg_mpc_node_wr w = {0};
    kg_hex_encode(hex, e->id, 8);
    wr_sign_req(&w, k, e, q);
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err) err = kg_crypto_random(sess, sizeof sess);
    if (!err) err = kg_mpc_co_cg_blame_identify(c, e->signers, e->ns, k->g, sess, &w.b, sigma, out, sizeof out, &culprit);
    kg_bytes_free(&w.b);
    if (err) return err;
    return kg_err_set(KG_ERR_VERIFY, "key %s: the signature shares of presignature %s do not give a valid signature: %s",
                      k->key_id, hex, out);
}

/* Send CGGMP_SIGN to every signer of e, then read every answer. */
static kg_err online_round(sctx *x, const presig_ent *e, const sreq *q, kg_mpc_net_conn **c, kg_mpc_scalar *sigma,
                           presig_ent *eR, bool *retry)
{
    const kg_mpc_key *k = x->k;
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_mpc_node_wr w = {0};
    wr_sign_req(&w, k, e, q);
    kg_err err = kg_mpc_node_wr_done(&w), first = KG_OK;
    if (!err) err = kg_crypto_random(sess, sizeof sess);
    bool sent[MAXP] = {false};
    for (size_t s = 0; s < e->ns && !err; s++) {
        kg_err se = kg_mpc_co_send(c[s], KG_MPC_NODE_CGGMP_SIGN, k->g, sess, &w.b, SIGN_MS);
        if (se) { drop(x, e->signers[s], kg_err_detail(se)); first = first ? first : se; }
        sent[s] = !se;
    }
    for (size_t s = 0; s < e->ns && !err; s++) {
        if (!sent[s]) { kg_mpc_co_release(x->co, c[s], false); c[s] = NULL; continue; }
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        kg_mpc_point child, R;
        bool has_R = false;
        kg_err re = kg_mpc_co_recv(&resp, &m, c[s], KG_MPC_NODE_CGGMP_SIGN, sess, SIGN_MS);
        if (!re) re = kg_mpc_co_cg_sign_read(k->g, e->signers[s], m.body, m.body_len, &sigma[s], &child, &R, &has_R);
        if (!re && !kg_mpc_point_eq(k->g, &child, &q->child))
            re = kg_err_set(KG_ERR_VERIFY, "party %u derived another child key than the coordinator", e->signers[s]);
        if (!re && has_R && !eR->has_R) { eR->R = R; eR->has_R = true; }
        if (re) {
            if (re == KG_ERR_NETWORK) { kg_mpc_co_release(x->co, c[s], false); c[s] = NULL; }
            drop(x, e->signers[s], kg_err_detail(re));
            first = first ? first : re;
        }
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    *retry = !err && first && first != KG_ERR_VERIFY;
    if (err) return err;
    if (first) return kg_err_set(first, "key %s: the signature with a presignature failed:%s", k->key_id, x->why);
    return KG_OK;
}

/* One signature from presignature e. *retry: a signer was down or refused
 * (e was not usable) and another presignature may work; *unused: nothing
 * was sent, e goes back to the inventory. */
static kg_err online(sctx *x, const presig_ent *e, const sreq *q, uint8_t sig[64], int *recid, bool *retry,
                     bool *unused)
{
    const kg_mpc_key *k = x->k;
    kg_mpc_net_conn *c[MAXP] = {NULL};
    kg_mpc_scalar sigma[MAXP];
    presig_ent eR = *e;
    kg_err err = KG_OK;
    *retry = *unused = false;
    for (size_t s = 0; s < e->ns; s++) {
        kg_err ce = kg_mpc_co_connect(&c[s], x->co, e->signers[s]);
        if (ce) { drop(x, e->signers[s], kg_err_detail(ce)); err = ce; }
    }
    if (err) {
        *retry = *unused = true;
    } else if (!(err = online_round(x, e, q, c, sigma, &eR, retry)) && !eR.has_R) {
        err = kg_err_set(KG_ERR_NOT_FOUND, "key %s: presignature R unknown", k->key_id);
        *retry = true;
    }
    if (!err) {
        err = kg_mpc_cggmp_sign_combine(k->g, &eR.R, &q->child, q->digest, sigma, e->ns, sig, recid);
        if (err == KG_ERR_VERIFY) err = identify(x, e, q, c, sigma);
    }
    kg_wipe(sigma, sizeof sigma);
    for (size_t s = 0; s < e->ns; s++) kg_mpc_co_release(x->co, c[s], !err || err == KG_ERR_VERIFY);
    return err;
}

/* The digest, the path and the key signed for (derived here, from public
 * values only). */
static kg_err sreq_init(sreq *q, const kg_mpc_key *k, const uint8_t digest[32], const char *path)
{
    q->digest = digest;
    q->depth = 0;
    q->child = k->group_public;
    if (!path) return KG_OK;
    kg_err err = kg_mpc_cggmp_hd_path_parse(path, q->path, &q->depth, PATH_MAX_DEPTH);
    if (!err && q->depth) {
        kg_mpc_scalar tweak;
        uint8_t cc[32];
        err = kg_mpc_cggmp_hd_derive(k->g, &k->group_public, k->chain_code, q->path, q->depth, &tweak, &q->child, cc);
    }
    return err;
}

kg_err kg_mpc_coordinator_cggmp_sign(kg_mpc_coordinator *co, const kg_mpc_key *key, const uint8_t digest[32],
                                     const char *path, uint8_t sig[64], int *recovery_id, kg_mpc_point *child_pub)
{
    memset(sig, 0, 64);
    *recovery_id = -1;
    if (child_pub) memset(child_pub, 0, sizeof *child_pub);
    sctx *x = NULL;
    sreq *q = calloc(1, sizeof *q);
    kg_err err = key_usable(key);
    if (!err && !q) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = sreq_init(q, key, digest, path);
    if (!err && !(x = calloc(1, sizeof *x))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) {
        x->co = co;
        x->k = key;
        info_load(x);
    }
    for (unsigned attempt = 0; !err && attempt < 2 * key->n + 4; attempt++) {
        presig_ent e;
        bool retry = false, unused = false;
        if (!inv_take(co, key, x->failed, &e) && (err = presign_one(x, &e))) break;
        err = online(x, &e, q, sig, recovery_id, &retry, &unused);
        if (unused) inv_add(co, &e);
        if (!err || !retry) break;
        err = KG_OK;
        if (attempt + 1 == 2 * key->n + 4)
            err = kg_err_set(KG_ERR_NETWORK, "key %s: no signing set could sign:%s", key->key_id, x->why);
    }
    if (!err && child_pub) *child_pub = q->child;
    if (err) {
        memset(sig, 0, 64);
        *recovery_id = -1;
    }
    free(x);
    free(q);
    return err;
}
