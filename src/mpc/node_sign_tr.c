/* BIP 445 (frost-secp256k1-tr) signing requests of `kashguard mpc-node`:
 * the networked half of frost_signer.c's tr_rounds, one share per node.
 *
 *   SIGN_TR_NONCE  round 1: load the key's share, NonceGen (BIP 445
 *                  §Nonce Generation, with the share, its public share,
 *                  the message and the session id as extra input), keep
 *                  the 64-byte secnonce in the session (guarded memory,
 *                  kg_secret) and answer the 66-byte pubnonce.
 *   SIGN_TR_SIGN   round 2: the coordinator's signer list (node ids and
 *                  public shares), aggnonce and tweaks; the message must
 *                  be the one of round 1. Sign (BIP 445 §Signing) with
 *                  identifier = node id - 1 (BIP 445 identifiers are the
 *                  RFC 9591 ones minus one) and answer the 32-byte psig.
 *
 * The threshold public key comes from the node's own share, never from
 * the coordinator, and kg_mpc_frost_tr_sign validates the signer list
 * against it (the public shares must interpolate to it). The session is
 * dropped after SIGN_TR_SIGN whatever happens and kg_mpc_frost_tr_sign
 * wipes the secnonce on every path, so a nonce never signs twice.
 * Test-only cheats (node_evil.h, kashguard-evil): bad-sig-share flips a bit
 * of the psig, stop-tr-sign stops the process (SIGSTOP) in round 2. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "kashguard/mpc/frost_tr.h"
#include "node_evil.h"
#include "node_int.h"

#define TR_MAX_TWEAKS 8

/* What a BIP 445 signing session keeps between the two rounds (secret). */
typedef struct {
    uint8_t secnonce[KG_MPC_FROST_TR_SECNONCE_BYTES];
    uint8_t msg_hash[32]; /* SHA-256 of the round-1 message */
} tr_state;

/* Key id blob then message blob; checks the id's syntax. */
static kg_err read_head(kg_mpc_node_rd *r, char key_id[static KG_MPC_NODE_KEY_ID_MAX + 1], const uint8_t **msg,
                        size_t *msg_len)
{
    size_t kl = 0;
    const uint8_t *kid = kg_mpc_node_rd_blob(r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    *msg = kg_mpc_node_rd_blob(r, msg_len, KG_MPC_NET_FRAME_MAX_BYTES);
    if (r->bad) return kg_err_set(KG_ERR_BAD_INPUT, "BIP 445 sign request: truncated key id or message");
    kg_err err = kg_mpc_node_key_id_check(kid, kl);
    if (err) return err;
    memset(key_id, 0, KG_MPC_NODE_KEY_ID_MAX + 1);
    memcpy(key_id, kid, kl);
    return KG_OK;
}

static kg_err load_k1_share(kg_secret **sh, kg_mpc_nd *nd, const char *key_id)
{
    kg_err err = kg_mpc_nd_share_load(sh, nd, key_id);
    if (err) return err;
    const kg_mpc_frost_key_share *share = (const kg_mpc_frost_key_share *)kg_secret_cdata(*sh);
    if (share->group == KG_MPC_GROUP_SECP256K1) return KG_OK;
    kg_secret_free(*sh);
    *sh = NULL;
    return kg_err_set(KG_ERR_BAD_INPUT, "key %s is a %s key, not a secp256k1 key for BIP 445", key_id,
                      kg_mpc_frost_scheme_name(share->group));
}

kg_err kg_mpc_nd_sign_tr_nonce(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    const uint8_t *msg = NULL;
    size_t ml = 0;
    if (m->scheme != KG_MPC_GROUP_SECP256K1)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP 445 signing needs scheme secp256k1, not %u", m->scheme);
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    kg_err err = read_head(&r, key_id, &msg, &ml);
    if (!err) err = kg_mpc_node_rd_end(&r, "BIP 445 nonce request");
    kg_secret *sh = NULL;
    if (!err) err = load_k1_share(&sh, nd, key_id);
    if (err) return err;
    const kg_mpc_frost_key_share *share = (const kg_mpc_frost_key_share *)kg_secret_cdata(sh);
    kg_mpc_nd_session *s;
    if ((err = kg_mpc_nd_session_new(&s, nd, m, KG_MPC_ND_S_SIGN_TR))) { kg_secret_free(sh); return err; }
    memcpy(s->key_id, key_id, sizeof key_id);
    s->nonce = kg_secret_new(sizeof(tr_state));
    if (!s->nonce) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    tr_state *st = s->nonce ? (tr_state *)kg_secret_data(s->nonce) : NULL;
    uint8_t pubnonce[KG_MPC_FROST_TR_PUBNONCE_BYTES];
    if (!err) kg_crypto_sha256(st->msg_hash, msg, ml);
    if (!err)
        err = kg_mpc_frost_tr_nonce_gen(st->secnonce, pubnonce, share->secret.b, share->public_share.b, NULL,
                                        msg ? msg : (const uint8_t *)"", ml, m->session, KG_MPC_NET_SESSION_ID_BYTES);
    if (!err) kg_mpc_node_wr_fixed(w, pubnonce, sizeof pubnonce);
    kg_secret_free(sh);
    if (err) kg_mpc_nd_session_drop(nd, s);
    return err;
}

/* The round-2 body after the head: signers, aggnonce, tweaks. */
typedef struct {
    size_t u;
    uint32_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    uint8_t pubshares[KG_MPC_FROST_MAX_PARTICIPANTS][KG_MPC_FROST_TR_PUBSHARE_BYTES];
    const uint8_t *aggnonce;
    size_t n_tweaks;
    uint8_t tweaks[TR_MAX_TWEAKS][KG_MPC_FROST_TR_TWEAK_BYTES];
    bool is_xonly[TR_MAX_TWEAKS];
} tr_round2;

static kg_err read_round2(tr_round2 *q, kg_mpc_node_rd *r)
{
    q->u = kg_mpc_node_rd_u16(r);
    if (q->u < 1 || q->u > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP 445 sign request: %zu signers", q->u);
    for (size_t i = 0; i < q->u; i++) {
        uint16_t id = kg_mpc_node_rd_u16(r);
        const uint8_t *p = kg_mpc_node_rd_fixed(r, KG_MPC_FROST_TR_PUBSHARE_BYTES);
        if (r->bad || id == 0) return kg_err_set(KG_ERR_BAD_INPUT, "BIP 445 sign request: bad signer %zu", i);
        q->ids[i] = (uint32_t)id - 1;
        memcpy(q->pubshares[i], p, KG_MPC_FROST_TR_PUBSHARE_BYTES);
    }
    q->aggnonce = kg_mpc_node_rd_fixed(r, KG_MPC_FROST_TR_AGGNONCE_BYTES);
    q->n_tweaks = kg_mpc_node_rd_u16(r);
    if (r->bad || q->n_tweaks > TR_MAX_TWEAKS)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP 445 sign request: truncated, or more than %d tweaks", TR_MAX_TWEAKS);
    for (size_t i = 0; i < q->n_tweaks; i++) {
        const uint8_t *x = kg_mpc_node_rd_fixed(r, 1);
        const uint8_t *t = kg_mpc_node_rd_fixed(r, KG_MPC_FROST_TR_TWEAK_BYTES);
        if (r->bad || *x > 1) return kg_err_set(KG_ERR_BAD_INPUT, "BIP 445 sign request: bad tweak %zu", i);
        kg_err err = kg_mpc_frost_tr_tweak_parse(q->tweaks[i], t, KG_MPC_FROST_TR_TWEAK_BYTES);
        if (err) return err;
        q->is_xonly[i] = *x == 1;
    }
    kg_err err = kg_mpc_node_rd_end(r, "BIP 445 sign request");
    if (!err) err = kg_mpc_frost_tr_aggnonce_check(q->aggnonce, KG_MPC_FROST_TR_AGGNONCE_BYTES);
    return err;
}

kg_err kg_mpc_nd_tr_round2_read(const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    tr_round2 *q = calloc(1, sizeof *q);
    if (!q) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_node_rd_init(&r, body, len);
    kg_err err = read_round2(q, &r);
    free(q);
    return err;
}

static kg_err tr_psig(uint8_t psig[static KG_MPC_FROST_TR_PSIG_BYTES], tr_state *st,
                      const kg_mpc_frost_key_share *share, const tr_round2 *q, const uint8_t *msg, size_t ml)
{
    uint32_t n = share->max_signers; /* BIP 445 wants ids < n: n covers the largest id */
    for (size_t i = 0; i < q->u; i++) n = q->ids[i] + 1 > n ? q->ids[i] + 1 : n;
    kg_mpc_frost_tr_signers sg = {n, share->min_signers, q->u, q->ids,
                                  (const uint8_t (*)[KG_MPC_FROST_TR_PUBSHARE_BYTES])q->pubshares, {0}};
    memcpy(sg.thresh_pk, share->group_public.b, KG_MPC_FROST_TR_PUBKEY_BYTES);
    kg_mpc_frost_tr_session ss = {&sg, (const uint8_t (*)[KG_MPC_FROST_TR_TWEAK_BYTES])q->tweaks, q->n_tweaks,
                                  q->is_xonly, q->n_tweaks, msg, ml};
    kg_mpc_frost_tr_blame blame;
    kg_err err = kg_mpc_frost_tr_sign(psig, &blame, st->secnonce, share->secret.b, (uint32_t)share->id - 1, &ss,
                                      q->aggnonce);
    if (err && blame.contrib == KG_MPC_FROST_TR_BLAME_AGGNONCE)
        err = kg_err_set(err, "the coordinator's aggregate nonce is invalid");
    return err;
}

kg_err kg_mpc_nd_sign_tr_sign(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    const uint8_t *msg = NULL;
    size_t ml = 0;
    uint8_t h[32];
    tr_state *st = (tr_state *)kg_secret_data(s->nonce);
    tr_round2 *q = calloc(1, sizeof *q);
    kg_err err = q ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    if (!err) err = read_head(&r, key_id, &msg, &ml);
    if (!err && strcmp(key_id, s->key_id) != 0)
        err = kg_err_set(KG_ERR_BAD_INPUT, "BIP 445 sign request: key id does not match the session");
    if (!err) kg_crypto_sha256(h, msg, ml);
    if (!err && !kg_ct_equal(h, st->msg_hash, sizeof h))
        err = kg_err_set(KG_ERR_BAD_INPUT, "BIP 445 sign request: not the message of round 1");
    if (!err) err = read_round2(q, &r);
    kg_secret *sh = NULL;
    if (!err) err = load_k1_share(&sh, nd, s->key_id);
    uint8_t psig[KG_MPC_FROST_TR_PSIG_BYTES];
    if (!err) err = tr_psig(psig, st, (const kg_mpc_frost_key_share *)kg_secret_cdata(sh), q, msg, ml);
    KG_MPC_EVIL_HOOK("stop-tr-sign", raise(SIGSTOP)); /* test build only: hang after round 1 */
    if (!err) KG_MPC_EVIL_HOOK("bad-sig-share", psig[31] ^= 1); /* test build only */
    if (!err) kg_mpc_node_wr_fixed(w, psig, sizeof psig);
    kg_secret_free(sh);
    free(q);
    kg_mpc_nd_session_drop(nd, s); /* the secnonce is gone either way */
    return err;
}
