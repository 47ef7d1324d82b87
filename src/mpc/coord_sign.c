/* The coordinator's signing (RFC 9591 §5), made for latency:
 *
 *  - connections come from the coordinator's pool (coord.c), so a warm
 *    signature pays no TLS handshake;
 *  - every round is fanned out: the request goes to all chosen signers
 *    before any answer is awaited, so a round costs one round trip (the
 *    slowest signer's), not t;
 *  - preprocessed commitments (coord_cache.c; the nonces are stored
 *    durably by the nodes, node_sign.c) remove round one: a signer with a
 *    cached commitment gets SIGN_PRE straight away. Signers without one
 *    run SIGN_COMMIT first (the old two-request path), in the same session.
 *
 * Failover: the signers are the first t live non-stale holders in id order.
 * When one fails or times out (SIGN_CALL_MS) during the session, it is
 * dropped and the whole session restarts with fresh commitments and the
 * next holder -- a nonce is never reused: cached commitments that were
 * never sent go back to the cache, those sent are spent. When fewer than t
 * holders are left, the error names every node that failed and why.
 * Aggregation (kg_mpc_frost_aggregate) verifies every share; invalid ones
 * end the signature with KG_ERR_VERIFY naming the culprits (no retry: a
 * cheating node must be seen). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define SIGN_CALL_MS 5000
#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS

typedef struct {
    size_t idx;            /* in k->ids */
    kg_mpc_net_conn *c;
    bool cached, sent, bad;
    uint8_t raw[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
    size_t raw_len;
    kg_mpc_frost_commitment cm;
    kg_mpc_frost_sig_share z;
} signer;

typedef struct {
    kg_mpc_coordinator *co;
    const kg_mpc_key *k;
    const uint8_t *msg;
    size_t msg_len;
    kg_mpc_co_failures f;
    signer s[MAXP];
    size_t ns;
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
} sign_ctx;

/* Choose t live signers and take their cached commitments. KG_ERR_NETWORK
 * when fewer than t are left. */
static kg_err pick(sign_ctx *x)
{
    const kg_mpc_key *k = x->k;
    kg_mpc_co_cache *cache = kg_mpc_co_cache_of(x->co);
    x->ns = 0;
    for (size_t i = 0; i < k->n && x->ns < k->t; i++) {
        if (k->stale[i] || x->f.failed[i]) continue;
        signer *s = &x->s[x->ns];
        memset(s, 0, sizeof *s);
        s->idx = i;
        kg_err err = kg_mpc_co_connect(&s->c, x->co, k->ids[i]);
        if (err) { kg_mpc_co_fail(&x->f, i, err); continue; }
        s->cached = kg_mpc_co_cache_pop(cache, k->ids[i], k->key_id, s->raw, &s->raw_len);
        if (s->cached && kg_mpc_frost_commitment_parse(k->g, &s->cm, s->raw, s->raw_len) != KG_OK) s->cached = false;
        x->ns++;
    }
    if (x->ns == k->t) return KG_OK;
    return kg_err_set(KG_ERR_NETWORK, "key %s: only %zu of the %u nodes needed are reachable and working:%s",
                      k->key_id, x->ns, k->t, x->f.off ? x->f.why : " (the others are stale: repair them)");
}

/* Round one for the signers without a cached commitment: SIGN_COMMIT to
 * all of them, then every answer. */
static kg_err round_one(sign_ctx *x)
{
    const kg_mpc_key *k = x->k;
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_err err = kg_mpc_node_wr_done(&w), first = KG_OK;
    for (size_t i = 0; i < x->ns && !err; i++) {
        signer *s = &x->s[i];
        if (s->cached) continue;
        kg_err e = kg_mpc_co_send(s->c, KG_MPC_NODE_SIGN_COMMIT, k->g, x->sess, &w.b, SIGN_CALL_MS);
        if (e) { s->bad = true; kg_mpc_co_fail(&x->f, s->idx, e); first = first ? first : e; }
    }
    for (size_t i = 0; i < x->ns && !err; i++) {
        signer *s = &x->s[i];
        if (s->cached || s->bad) continue;
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        kg_err e = kg_mpc_co_recv(&resp, &m, s->c, KG_MPC_NODE_SIGN_COMMIT, x->sess, SIGN_CALL_MS);
        if (!e) e = kg_mpc_frost_commitment_parse(k->g, &s->cm, m.body, m.body_len);
        if (!e && s->cm.id != k->ids[s->idx])
            e = kg_err_set(KG_ERR_BAD_INPUT, "node %u committed as %u", k->ids[s->idx], s->cm.id);
        if (!e && m.body_len <= sizeof s->raw) {
            memcpy(s->raw, m.body, m.body_len);
            s->raw_len = m.body_len;
        }
        if (e) { s->bad = true; kg_mpc_co_fail(&x->f, s->idx, e); first = first ? first : e; }
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return err ? err : first;
}

/* Round two: the signing package to every signer (SIGN_PRE for a cached
 * commitment, SIGN_SHARE in the session otherwise), then every share. */
static kg_err round_two(sign_ctx *x)
{
    const kg_mpc_key *k = x->k;
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_mpc_node_wr_blob(&w, x->msg, x->msg_len);
    kg_mpc_node_wr_u16(&w, (uint16_t)x->ns);
    for (size_t i = 0; i < x->ns; i++) kg_mpc_node_wr_blob(&w, x->s[i].raw, x->s[i].raw_len);
    kg_err err = kg_mpc_node_wr_done(&w), first = KG_OK;
    for (size_t i = 0; i < x->ns && !err; i++) {
        signer *s = &x->s[i];
        s->sent = true; /* from here its commitment is spent, whatever happens */
        kg_err e = kg_mpc_co_send(s->c, s->cached ? KG_MPC_NODE_SIGN_PRE : KG_MPC_NODE_SIGN_SHARE, k->g, x->sess, &w.b, SIGN_CALL_MS);
        if (e) { s->bad = true; kg_mpc_co_fail(&x->f, s->idx, e); first = first ? first : e; }
    }
    for (size_t i = 0; i < x->ns && !err; i++) {
        signer *s = &x->s[i];
        if (s->bad) continue;
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        kg_err e = kg_mpc_co_recv(&resp, &m, s->c, s->cached ? KG_MPC_NODE_SIGN_PRE : KG_MPC_NODE_SIGN_SHARE, x->sess, SIGN_CALL_MS);
        if (!e) e = kg_mpc_frost_sig_share_parse(k->g, &s->z, m.body, m.body_len);
        if (!e && s->z.id != k->ids[s->idx])
            e = kg_err_set(KG_ERR_BAD_INPUT, "node %u answered as %u", k->ids[s->idx], s->z.id);
        if (e) { s->bad = true; kg_mpc_co_fail(&x->f, s->idx, e); first = first ? first : e; }
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return err ? err : first;
}

static kg_err aggregate(sign_ctx *x, uint8_t *sig, size_t *sig_len)
{
    const kg_mpc_key *k = x->k;
    kg_mpc_frost_commitment cs[MAXP];
    kg_mpc_frost_sig_share zs[MAXP];
    kg_mpc_point pubs[MAXP];
    for (size_t i = 0; i < x->ns; i++) {
        cs[i] = x->s[i].cm;
        zs[i] = x->s[i].z;
        pubs[i] = k->pub[x->s[i].idx];
    }
    kg_mpc_frost_signing_package pkg = {.group = k->g, .group_public = k->group_public, .msg = x->msg,
                                        .msg_len = x->msg_len, .commitments = cs, .n_commitments = x->ns};
    uint16_t culprits[MAXP];
    size_t nc = 0;
    kg_err err = kg_mpc_frost_aggregate(sig, sig_len, culprits, &nc, &pkg, zs, pubs);
    if (err == KG_ERR_VERIFY && nc) {
        char list[1024] = "";
        size_t off = 0;
        for (size_t i = 0; i < nc && off < sizeof list - 8; i++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%u", i ? ", " : "", culprits[i]);
        err = kg_err_set(KG_ERR_VERIFY, "invalid signature shares from node(s) %s", list);
    }
    return err;
}

/* Give the connections back; unsent cached commitments return to the
 * cache; a failed node's cache for the key is dropped (it may have
 * restarted or lost its nonces); on success ask for refills. */
static void finish(sign_ctx *x, bool ok)
{
    kg_mpc_co_cache *cache = kg_mpc_co_cache_of(x->co);
    for (size_t i = 0; i < x->ns; i++) {
        signer *s = &x->s[i];
        uint16_t id = x->k->ids[s->idx];
        if (s->cached && !s->sent) kg_mpc_co_cache_push(cache, id, x->k->key_id, s->raw, s->raw_len);
        if (s->bad) kg_mpc_co_cache_drop(cache, id, x->k->key_id);
        kg_mpc_co_release(x->co, s->c, !s->bad);
        s->c = NULL;
        if (ok) kg_mpc_co_cache_want(cache, id, x->k->key_id, x->k->g);
    }
    x->ns = 0;
}

/* One session. *retry: a signer failed and others may take its place. */
static kg_err attempt(sign_ctx *x, uint8_t *sig, size_t *sig_len, bool *retry)
{
    *retry = false;
    kg_err err = pick(x);
    if (!err) err = kg_crypto_random(x->sess, sizeof x->sess);
    if (!err && (err = round_one(x))) *retry = err != KG_ERR_NOMEM;
    if (!err && (err = round_two(x))) *retry = err != KG_ERR_NOMEM;
    if (!err) err = aggregate(x, sig, sig_len);
    finish(x, !err);
    return err;
}

kg_err kg_mpc_coordinator_sign(kg_mpc_coordinator *co, uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES],
                               size_t *sig_len, const kg_mpc_key *k, const uint8_t *msg, size_t msg_len,
                               const kg_mpc_sign_opts *opts)
{
    *sig_len = 0;
    memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
    if (k->taproot) return kg_mpc_co_sign_tr(co, sig, sig_len, k, msg, msg_len, opts);
    if (opts && opts->taproot_tweak)
        return kg_err_set(KG_ERR_BAD_INPUT, "a taproot tweak applies only to frost-secp256k1-tr keys");
    if (k->t < 2 || k->t > k->n || k->n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s has a bad threshold (%u of %u)", k->key_id, k->t, k->n);
    sign_ctx *x = calloc(1, sizeof *x);
    if (!x) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    *x = (sign_ctx){.co = co, .k = k, .msg = msg, .msg_len = msg_len};
    kg_err err;
    bool retry = false;
    do {
        err = attempt(x, sig, sig_len, &retry);
    } while (err && retry);
    if (err) {
        *sig_len = 0;
        memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
    }
    free(x);
    return err;
}
