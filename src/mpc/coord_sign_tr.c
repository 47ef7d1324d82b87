/* The coordinator's BIP 445 signing (frost-secp256k1-tr keys): the
 * networked half of frost_signer.c's tr_rounds.
 *
 * Connect to the first t non-stale nodes that answer (in id order), round
 * 1: SIGN_TR_NONCE to each, check every pubnonce and NonceAgg them (BIP 445
 * §Nonce Aggregation); round 2: SIGN_TR_SIGN with the signer list (node
 * ids with their public shares from the key record), the aggnonce and the
 * tweaks; then PartialSigVerify every psig (a node whose psig is invalid is
 * named), PartialSigAgg, and check the BIP340 signature under the session's
 * x-only key before returning it. With opts->taproot_tweak the key is the
 * BIP341 output key: one x-only tweak hash_TapTweak(xbytes(P) || merkle
 * root), BIP86 when there is no merkle root. BIP 445 identifiers are the
 * RFC 9591 ones (= node ids) minus one. */
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

/* One request to every signer; answers of exactly want bytes into out[i]. */
static kg_err call_all(uint8_t *out, size_t want, kg_mpc_net_conn *const *conn, const kg_mpc_key *k,
                       const size_t *who, uint8_t type, const uint8_t *sess, const kg_bytes *body)
{
    kg_err err = KG_OK;
    for (unsigned i = 0; i < k->t && !err; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        if ((err = kg_mpc_coord_call(&resp, &m, conn[who[i]], type, k->g, sess, body))) break;
        if (m.body_len != want)
            err = kg_err_set(KG_ERR_BAD_INPUT, "node %u answered %zu bytes, not %zu", k->ids[who[i]], m.body_len, want);
        else
            memcpy(out + i * want, m.body, want);
        kg_bytes_free(&resp);
    }
    return err;
}

static kg_err round1(tr_run *c, kg_mpc_net_conn *const *conn, const kg_mpc_key *k, const size_t *who,
                     const uint8_t *sess, const uint8_t *msg, size_t msg_len)
{
    kg_mpc_node_wr w = {0};
    head(&w, k, msg, msg_len);
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err) err = call_all(&c->pub[0][0], sizeof c->pub[0], conn, k, who, KG_MPC_NODE_SIGN_TR_NONCE, sess, &w.b);
    kg_bytes_free(&w.b);
    for (unsigned i = 0; i < k->t && !err; i++)
        if (kg_mpc_frost_tr_pubnonce_check(c->pub[i], sizeof c->pub[i]))
            err = kg_err_set(KG_ERR_VERIFY, "node %u sent an invalid BIP 445 public nonce", k->ids[who[i]]);
    kg_mpc_frost_tr_blame blame;
    if (!err) err = kg_mpc_frost_tr_nonce_agg(c->agg, &blame, (const pubnonce_t *)c->pub, k->t);
    return err;
}

static kg_err round2(tr_run *c, kg_mpc_net_conn *const *conn, const kg_mpc_key *k, const size_t *who,
                     const uint8_t *sess, const uint8_t *msg, size_t msg_len)
{
    kg_mpc_node_wr w = {0};
    head(&w, k, msg, msg_len);
    kg_mpc_node_wr_u16(&w, (uint16_t)k->t);
    for (unsigned i = 0; i < k->t; i++) {
        kg_mpc_node_wr_u16(&w, k->ids[who[i]]);
        kg_mpc_node_wr_fixed(&w, c->pubshares[i], KG_MPC_FROST_TR_PUBSHARE_BYTES);
    }
    kg_mpc_node_wr_fixed(&w, c->agg, sizeof c->agg);
    kg_mpc_node_wr_u16(&w, (uint16_t)c->session.n_tweaks);
    for (size_t i = 0; i < c->session.n_tweaks; i++) {
        uint8_t x = 1;
        kg_mpc_node_wr_fixed(&w, &x, 1);
        kg_mpc_node_wr_fixed(&w, c->tweak, sizeof c->tweak);
    }
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err) err = call_all(&c->psig[0][0], sizeof c->psig[0], conn, k, who, KG_MPC_NODE_SIGN_TR_SIGN, sess, &w.b);
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

static kg_err tr_sign_rounds(uint8_t *sig, kg_mpc_net_conn *const *conn, const kg_mpc_key *k, const size_t *who,
                             const uint8_t *msg, size_t msg_len, const kg_mpc_sign_opts *opts)
{
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES], xonly[KG_MPC_FROST_TR_XONLY_BYTES];
    tr_run *c = calloc(1, sizeof *c);
    if (!c) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err err = tr_setup(c, k, who, msg, msg_len, opts);
    if (!err) err = kg_crypto_random(sess, sizeof sess);
    if (!err) err = round1(c, conn, k, who, sess, msg, msg_len);
    if (!err) err = round2(c, conn, k, who, sess, msg, msg_len);
    if (!err) err = check_psigs(c, k, who);
    kg_mpc_frost_tr_blame blame;
    if (!err) err = kg_mpc_frost_tr_partial_sig_agg(sig, &blame, (const psig_t *)c->psig, k->t, &c->session, c->agg);
    if (!err) err = kg_mpc_frost_tr_session_xonly(xonly, &c->session);
    if (!err && kg_crypto_k1_schnorr_verify(sig, msg, msg_len, xonly) != KG_OK)
        err = kg_err_set(KG_ERR_INTERNAL, "the aggregated BIP340 signature does not verify");
    free(c);
    return err;
}

kg_err kg_mpc_co_sign_tr(kg_mpc_coordinator *co, uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES], size_t *sig_len,
                         const kg_mpc_key *k, const uint8_t *msg, size_t msg_len, const kg_mpc_sign_opts *opts)
{
    *sig_len = 0;
    memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
    if (!k->taproot || k->g != KG_MPC_GROUP_SECP256K1 || k->t < 1 || k->t > k->n || k->n > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a frost-secp256k1-tr key", k->key_id);
    if (!msg && msg_len) return kg_err_set(KG_ERR_BAD_INPUT, "no message to sign");
    kg_mpc_net_conn *conn[KG_MPC_FROST_MAX_PARTICIPANTS] = {NULL};
    size_t who[KG_MPC_FROST_MAX_PARTICIPANTS], live = 0, off = 0;
    char down[512] = "";
    for (size_t i = 0; i < k->n && live < k->t; i++) {
        if (k->stale[i]) continue;
        if (kg_mpc_co_connect(&conn[i], co, k->ids[i]) == KG_OK)
            who[live++] = i;
        else if (off < sizeof down - 64)
            off += (size_t)snprintf(down + off, sizeof down - off, " %s;", kg_err_detail(KG_ERR_NETWORK));
    }
    kg_err err = KG_OK;
    if (live < k->t)
        err = kg_err_set(KG_ERR_NETWORK, "only %zu of the %u nodes needed are reachable:%s", live, k->t, down);
    if (!err) err = tr_sign_rounds(sig, conn, k, who, msg ? msg : (const uint8_t *)"", msg_len, opts);
    if (!err) *sig_len = KG_MPC_FROST_TR_SIG_BYTES;
    else memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
    for (size_t i = 0; i < k->n; i++) kg_mpc_co_release(co, conn[i], !err);
    return err;
}
