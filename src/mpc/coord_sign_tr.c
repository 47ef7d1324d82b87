/* The coordinator's BIP 445 signing (frost-secp256k1-tr keys): the
 * networked half of frost_signer.c's tr_rounds.
 *
 * Take the first t non-stale nodes that answer (in id order), round 1:
 * SIGN_TR_NONCE to each, check every pubnonce and NonceAgg them (BIP 445
 * §Nonce Aggregation); round 2: SIGN_TR_SIGN with the signer list (node
 * ids with their public shares from the key record), the aggnonce and the
 * tweaks; then PartialSigVerify every psig (a node whose psig is invalid is
 * named), PartialSigAgg, and check the BIP340 signature under the session's
 * x-only key before returning it. With opts->taproot_tweak the key is the
 * BIP341 output key: one x-only tweak hash_TapTweak(xbytes(P) || merkle
 * root), BIP86 when there is no merkle root. BIP 445 identifiers are the
 * RFC 9591 ones (= node ids) minus one.
 *
 * Each round is fanned out (every request sent before any answer is
 * awaited, TR_CALL_MS per call). Failover as coord_sign.c: a node that
 * cannot be reached, fails, answers an error or times out during the
 * session is dropped and the whole session restarts with a new session id
 * and the next holder. A nonce is never reused: every session's nonces are
 * new (NonceGen on the nodes takes the session id and fresh randomness),
 * and a node drops its secnonce after SIGN_TR_SIGN whatever happens; the
 * secnonces of an abandoned session are never asked for again (the nodes
 * expire them). When fewer than t holders are left, the error names every
 * node that failed and why. An invalid pubnonce or psig ends the signature
 * with KG_ERR_VERIFY naming the node (no retry: a cheating node must be
 * seen). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "kashguard/mpc/frost_tr.h"
#include "node_int.h"

typedef uint8_t pubnonce_t[KG_MPC_FROST_TR_PUBNONCE_BYTES];
typedef uint8_t psig_t[KG_MPC_FROST_TR_PSIG_BYTES];

/* Signers and Session Contexts for the nodes who[0..t-1] (points into
 * itself: do not move it). */
typedef struct {
    uint32_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    uint8_t pubshares[KG_MPC_FROST_MAX_PARTICIPANTS][KG_MPC_FROST_TR_PUBSHARE_BYTES];
    uint8_t tweak[KG_MPC_FROST_TR_TWEAK_BYTES];
    bool is_xonly;
    kg_mpc_frost_tr_signers signers;
    kg_mpc_frost_tr_session session;
    pubnonce_t pub[KG_MPC_FROST_MAX_PARTICIPANTS];
    psig_t psig[KG_MPC_FROST_MAX_PARTICIPANTS];
    uint8_t agg[KG_MPC_FROST_TR_AGGNONCE_BYTES];
} tr_run;

static kg_err tr_setup(tr_run *c, const kg_mpc_key *k, const size_t *who, const uint8_t *msg, size_t msg_len,
                       const kg_mpc_sign_opts *opts)
{
    uint32_t n = k->n;
    for (unsigned i = 0; i < k->t; i++) {
        c->ids[i] = (uint32_t)k->ids[who[i]] - 1;
        n = c->ids[i] + 1 > n ? c->ids[i] + 1 : n;
        memcpy(c->pubshares[i], k->pub[who[i]].b, KG_MPC_FROST_TR_PUBSHARE_BYTES);
    }
    c->signers = (kg_mpc_frost_tr_signers){n, k->t, k->t, c->ids,
                                           (const uint8_t (*)[KG_MPC_FROST_TR_PUBSHARE_BYTES])c->pubshares, {0}};
    memcpy(c->signers.thresh_pk, k->group_public.b, KG_MPC_FROST_TR_PUBKEY_BYTES);
    c->session = (kg_mpc_frost_tr_session){&c->signers, NULL, 0, NULL, 0, msg, msg_len};
    if (!opts || !opts->taproot_tweak) return KG_OK;
    kg_mpc_frost_tr_tweak_ctx tc;
    kg_err err = kg_mpc_frost_tr_tweak_init(&tc, c->signers.thresh_pk);
    if (!err) err = kg_mpc_frost_tr_tweak_taproot(c->tweak, &tc, opts->has_merkle_root ? opts->merkle_root : NULL);
    c->is_xonly = true;
    c->session.tweaks = (const uint8_t (*)[KG_MPC_FROST_TR_TWEAK_BYTES])&c->tweak, c->session.n_tweaks = 1;
    c->session.is_xonly = &c->is_xonly, c->session.n_is_xonly = 1;
    return err;
}

static void head(kg_mpc_node_wr *w, const kg_mpc_key *k, const uint8_t *msg, size_t msg_len)
{
    kg_mpc_node_wr_blob(w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_mpc_node_wr_blob(w, msg, msg_len);
}

#define TR_CALL_MS 5000
#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS

/* One signature: the holders tried so far and the current signers. */
typedef struct {
    kg_mpc_coordinator *co;
    const kg_mpc_key *k;
    kg_mpc_co_failures f;     /* holders dropped so far, by index in k->ids */
    size_t who[MAXP], ns;     /* current signers (indexes in k->ids) */
    kg_mpc_net_conn *conn[MAXP]; /* by position in who */
    bool bad[MAXP], inflight[MAXP];
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
} tr_ctx;

static kg_err send_req(tr_ctx *x, size_t i, uint8_t type, const kg_bytes *body)
{
    kg_err err = kg_mpc_co_send(x->conn[i], type, x->k->g, x->sess, body, TR_CALL_MS);
    if (!err) x->inflight[i] = true;
    return err;
}

/* The answer of signer i: exactly want bytes into out. */
static kg_err recv_rsp(tr_ctx *x, size_t i, uint8_t type, uint8_t *out, size_t want)
{
    uint32_t peer = x->k->ids[x->who[i]];
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_err err = kg_mpc_co_recv(&resp, &m, x->conn[i], type, x->sess, TR_CALL_MS);
    if (err != KG_ERR_NETWORK) x->inflight[i] = false; /* an answer came, good or bad */
    if (!err && m.body_len != want)
        err = kg_err_set(KG_ERR_BAD_INPUT, "node %u answered %zu bytes, not %zu", peer, m.body_len, want);
    if (!err) memcpy(out, m.body, want);
    kg_bytes_free(&resp);
    return err;
}

/* One request to every signer, then every answer (want bytes each, into
 * out[i]). A signer that fails is marked bad and dropped for the next
 * attempt; the first such error is returned. */
static kg_err fan(tr_ctx *x, uint8_t *out, size_t want, uint8_t type, const kg_bytes *body)
{
    kg_err first = KG_OK;
    for (size_t i = 0; i < x->ns; i++) {
        kg_err e = send_req(x, i, type, body);
        if (e) { x->bad[i] = true; kg_mpc_co_fail(&x->f, x->who[i], e); first = first ? first : e; }
    }
    for (size_t i = 0; i < x->ns; i++) {
        if (x->bad[i]) continue;
        kg_err e = recv_rsp(x, i, type, out + i * want, want);
        if (e) { x->bad[i] = true; kg_mpc_co_fail(&x->f, x->who[i], e); first = first ? first : e; }
    }
    return first;
}

static kg_err round1(tr_run *c, tr_ctx *x, const uint8_t *msg, size_t msg_len, bool *retry)
{
    const kg_mpc_key *k = x->k;
    kg_mpc_node_wr w = {0};
    head(&w, k, msg, msg_len);
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err && (err = fan(x, &c->pub[0][0], sizeof c->pub[0], KG_MPC_NODE_SIGN_TR_NONCE, &w.b))) *retry = true;
    kg_bytes_free(&w.b);
    for (unsigned i = 0; i < k->t && !err; i++)
        if (kg_mpc_frost_tr_pubnonce_check(c->pub[i], sizeof c->pub[i]))
            err = kg_err_set(KG_ERR_VERIFY, "node %u sent an invalid BIP 445 public nonce", k->ids[x->who[i]]);
    kg_mpc_frost_tr_blame blame;
    if (!err) err = kg_mpc_frost_tr_nonce_agg(c->agg, &blame, (const pubnonce_t *)c->pub, k->t);
    return err;
}

static kg_err round2(tr_run *c, tr_ctx *x, const uint8_t *msg, size_t msg_len, bool *retry)
{
    const kg_mpc_key *k = x->k;
    kg_mpc_node_wr w = {0};
    head(&w, k, msg, msg_len);
    kg_mpc_node_wr_u16(&w, (uint16_t)k->t);
    for (unsigned i = 0; i < k->t; i++) {
        kg_mpc_node_wr_u16(&w, k->ids[x->who[i]]);
        kg_mpc_node_wr_fixed(&w, c->pubshares[i], KG_MPC_FROST_TR_PUBSHARE_BYTES);
    }
    kg_mpc_node_wr_fixed(&w, c->agg, sizeof c->agg);
    kg_mpc_node_wr_u16(&w, (uint16_t)c->session.n_tweaks);
    for (size_t i = 0; i < c->session.n_tweaks; i++) {
        uint8_t xo = 1;
        kg_mpc_node_wr_fixed(&w, &xo, 1);
        kg_mpc_node_wr_fixed(&w, c->tweak, sizeof c->tweak);
    }
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err && (err = fan(x, &c->psig[0][0], sizeof c->psig[0], KG_MPC_NODE_SIGN_TR_SIGN, &w.b))) *retry = true;
    kg_bytes_free(&w.b);
    return err;
}

/* PartialSigVerify of every psig: names every node whose psig is invalid. */
static kg_err check_psigs(const tr_run *c, const kg_mpc_key *k, const size_t *who)
{
    char list[1024] = "";
    size_t off = 0, bad = 0;
    for (unsigned i = 0; i < k->t; i++) {
        kg_mpc_frost_tr_blame blame;
        kg_err e = kg_mpc_frost_tr_partial_sig_verify(&blame, c->psig[i], (const pubnonce_t *)c->pub, k->t,
                                                      &c->session, i);
        if (e == KG_OK) continue;
        if (e != KG_ERR_VERIFY) return e;
        bad++;
        if (off < sizeof list - 16)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%u", bad > 1 ? ", " : "", k->ids[who[i]]);
    }
    return bad ? kg_err_set(KG_ERR_VERIFY, "invalid BIP 445 partial signatures from node(s) %s", list) : KG_OK;
}

/* Choose the first t live holders that were not dropped yet. */
static kg_err pick(tr_ctx *x)
{
    const kg_mpc_key *k = x->k;
    x->ns = 0;
    for (size_t i = 0; i < k->n && x->ns < k->t; i++) {
        if (k->stale[i] || x->f.failed[i]) continue;
        kg_err err = kg_mpc_co_connect(&x->conn[x->ns], x->co, k->ids[i]);
        if (err) { kg_mpc_co_fail(&x->f, i, err); continue; }
        x->bad[x->ns] = x->inflight[x->ns] = false;
        x->who[x->ns++] = i;
    }
    if (x->ns == k->t) return KG_OK;
    return kg_err_set(KG_ERR_NETWORK, "key %s: only %zu of the %u nodes needed are reachable and working:%s",
                      k->key_id, x->ns, k->t, x->f.off ? x->f.why : " (the others are stale: repair them)");
}

/* Give the connections back: those of failed signers, or with a request
 * still unanswered, are closed. */
static void release_all(tr_ctx *x)
{
    for (size_t i = 0; i < x->ns; i++) {
        kg_mpc_co_release(x->co, x->conn[i], !x->bad[i] && !x->inflight[i]);
        x->conn[i] = NULL;
    }
    x->ns = 0;
}

/* One session with the signers of pick(). *retry: a signer failed and
 * others may take its place. */
static kg_err attempt(tr_ctx *x, uint8_t *sig, const uint8_t *msg, size_t msg_len, const kg_mpc_sign_opts *opts,
                      bool *retry)
{
    uint8_t xonly[KG_MPC_FROST_TR_XONLY_BYTES];
    const kg_mpc_key *k = x->k;
    *retry = false;
    kg_err err = pick(x);
    tr_run *c = err ? NULL : calloc(1, sizeof *c);
    if (!err && !c) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = tr_setup(c, k, x->who, msg, msg_len, opts);
    if (!err) err = kg_crypto_random(x->sess, sizeof x->sess);
    if (!err) err = round1(c, x, msg, msg_len, retry);
    if (!err) err = round2(c, x, msg, msg_len, retry);
    if (!err) err = check_psigs(c, k, x->who);
    kg_mpc_frost_tr_blame blame;
    if (!err) err = kg_mpc_frost_tr_partial_sig_agg(sig, &blame, (const psig_t *)c->psig, k->t, &c->session, c->agg);
    if (!err) err = kg_mpc_frost_tr_session_xonly(xonly, &c->session);
    if (!err && kg_crypto_k1_schnorr_verify(sig, msg, msg_len, xonly) != KG_OK)
        err = kg_err_set(KG_ERR_INTERNAL, "the aggregated BIP340 signature does not verify");
    if (c) kg_wipe(c, sizeof *c);
    free(c);
    release_all(x);
    return err;
}

kg_err kg_mpc_co_sign_tr(kg_mpc_coordinator *co, uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES], size_t *sig_len,
                         const kg_mpc_key *k, const uint8_t *msg, size_t msg_len, const kg_mpc_sign_opts *opts)
{
    *sig_len = 0;
    memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
    if (!k->taproot || k->g != KG_MPC_GROUP_SECP256K1 || k->t < 1 || k->t > k->n || k->n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a frost-secp256k1-tr key", k->key_id);
    if (!msg && msg_len) return kg_err_set(KG_ERR_BAD_INPUT, "no message to sign");
    tr_ctx *x = calloc(1, sizeof *x);
    if (!x) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    x->co = co, x->k = k;
    kg_err err;
    bool retry = false;
    do { /* every retry drops at least one holder: at most n attempts */
        err = attempt(x, sig, msg ? msg : (const uint8_t *)"", msg_len, opts, &retry);
    } while (err && retry);
    if (!err) *sig_len = KG_MPC_FROST_TR_SIG_BYTES;
    else memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
    free(x);
    return err;
}
