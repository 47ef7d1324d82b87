/* The signer seam (signer.h) for a FROST group whose shares are all held
 * in this process: a test harness and a reference for the networked
 * signer, which runs the same two rounds with one share per node.
 *
 * sign runs the two rounds end to end with the first t shares (in
 * increasing identifier order) and aggregates, checking every share.
 *
 * Schemes:
 *   KG_SIG_ED25519 with a frost-ed25519 group: RFC 9591 §5 (commit, sign,
 *     aggregate with §5.4 share checks); the result is a plain RFC 8032
 *     signature under the 32-byte group key.
 *   KG_SIG_BIP340 with a secp256k1 group: the same key shares run BIP 445
 *     (frost-secp256k1-tr, mpc/frost_tr.h: NonceGen, NonceAgg, Sign,
 *     PartialSigVerify, PartialSigAgg), which gives a BIP340 signature of
 *     the 32-byte digest under the x-only group key -- BIP341-tweaked when
 *     ref->taproot (merkle_root or none, as BIP86). RFC 9591's own
 *     secp256k1 signatures are not BIP340 (other challenge hash, no even-y
 *     rule), so they are never produced here. BIP 445 identifiers are the
 *     RFC identifiers minus one (its x coordinate is id + 1).
 *   No suite makes ECDSA; every other pair is refused
 *   (KG_ERR_WRONG_KEY_USAGE). Derivation paths are refused: the group key
 *   is not derived by this signer.
 * The shares live in guarded memory (kg_secret), wiped by close. */
#include <stdlib.h>
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "kashguard/mpc/frost_tr.h"
#include "kashguard/signer.h"

typedef struct {
    kg_mpc_group_id g;
    unsigned t;
    size_t n;
    kg_secret *shares; /* n kg_mpc_frost_key_share, sorted by identifier */
} frost_signer;

static kg_err ref_check(const frost_signer *fs, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    if (ref != NULL && ref->path_len != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "a FROST group key has no derivation path; use an empty path");
    if (scheme == KG_SIG_ED25519 && fs->g == KG_MPC_GROUP_ED25519) {
        if (ref != NULL && ref->taproot)
            return kg_err_set(KG_ERR_BAD_INPUT, "a Taproot tweak applies only to BIP340 keys");
        return KG_OK;
    }
    if (scheme == KG_SIG_BIP340 && fs->g == KG_MPC_GROUP_SECP256K1)
        return KG_OK;
    if (scheme == KG_SIG_BIP340)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "%s does not make BIP340 signatures; use a secp256k1 group",
                          kg_mpc_frost_scheme_name(fs->g));
    return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "a %s group signs only %s", kg_mpc_frost_scheme_name(fs->g),
                      fs->g == KG_MPC_GROUP_ED25519 ? "Ed25519 (KG_SIG_ED25519)" :
                      fs->g == KG_MPC_GROUP_SECP256K1 ? "BIP340 (KG_SIG_BIP340, via BIP 445)" :
                      "with its own RFC 9591 signature format, which no chain scheme uses");
}

/* BIP 445 Signers and Session Contexts for the first t shares (points into
 * itself: do not move it). */
typedef struct {
    uint32_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    uint8_t pubshares[KG_MPC_FROST_MAX_PARTICIPANTS][KG_MPC_FROST_TR_PUBSHARE_BYTES];
    uint8_t tweak[KG_MPC_FROST_TR_TWEAK_BYTES];
    bool is_xonly;
    kg_mpc_frost_tr_signers signers;
    kg_mpc_frost_tr_session session;
} tr_ctx;

static kg_err tr_setup(tr_ctx *c, const frost_signer *fs, const kg_key_ref *ref, const uint8_t *msg, size_t msg_len)
{
    const kg_mpc_frost_key_share *k = (const kg_mpc_frost_key_share *)kg_secret_cdata(fs->shares);
    uint32_t n = 0;
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < fs->n; i++) /* BIP 445 wants ids < n: n covers the largest identifier */
        n = k[i].id > n ? k[i].id : n, n = k[i].max_signers > n ? k[i].max_signers : n;
    for (unsigned i = 0; i < fs->t; i++) {
        c->ids[i] = (uint32_t)k[i].id - 1;
        memcpy(c->pubshares[i], k[i].public_share.b, KG_MPC_FROST_TR_PUBSHARE_BYTES);
    }
    c->signers = (kg_mpc_frost_tr_signers){n, fs->t, fs->t, c->ids, c->pubshares, {0}};
    memcpy(c->signers.thresh_pk, k[0].group_public.b, KG_MPC_FROST_TR_PUBKEY_BYTES);
    c->session = (kg_mpc_frost_tr_session){&c->signers, NULL, 0, NULL, 0, msg, msg_len};
    if (ref == NULL || !ref->taproot)
        return KG_OK;
    kg_mpc_frost_tr_tweak_ctx tc;
    kg_err e = kg_mpc_frost_tr_tweak_init(&tc, c->signers.thresh_pk);
    if (e == KG_OK)
        e = kg_mpc_frost_tr_tweak_taproot(c->tweak, &tc, ref->merkle_root);
    c->is_xonly = true;
    c->session.tweaks = &c->tweak, c->session.n_tweaks = 1;
    c->session.is_xonly = &c->is_xonly, c->session.n_is_xonly = 1;
    return e;
}

/* BIP 445 round one, round two, partial signature checks, aggregation. */
static kg_err tr_rounds(uint8_t sig[static 64], const frost_signer *fs, const tr_ctx *c,
                        const uint8_t *msg, size_t msg_len)
{
    const kg_mpc_frost_key_share *k = (const kg_mpc_frost_key_share *)kg_secret_cdata(fs->shares);
    unsigned t = fs->t;
    uint8_t (*sec)[KG_MPC_FROST_TR_SECNONCE_BYTES] = calloc(t, sizeof *sec);
    uint8_t (*pub)[KG_MPC_FROST_TR_PUBNONCE_BYTES] = calloc(t, sizeof *pub);
    uint8_t (*psig)[KG_MPC_FROST_TR_PSIG_BYTES] = calloc(t, sizeof *psig);
    uint8_t agg[KG_MPC_FROST_TR_AGGNONCE_BYTES], xonly[32];
    kg_mpc_frost_tr_blame blame;
    kg_err e = sec && pub && psig ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; e == KG_OK && i < t; i++)
        e = kg_mpc_frost_tr_nonce_gen(sec[i], pub[i], k[i].secret.b, k[i].public_share.b, NULL, msg, msg_len,
                                      NULL, 0);
    if (e == KG_OK)
        e = kg_mpc_frost_tr_nonce_agg(agg, &blame, (const uint8_t (*)[KG_MPC_FROST_TR_PUBNONCE_BYTES])pub, t);
    for (unsigned i = 0; e == KG_OK && i < t; i++)
        e = kg_mpc_frost_tr_sign(psig[i], &blame, sec[i], k[i].secret.b, c->ids[i], &c->session, agg);
    for (unsigned i = 0; e == KG_OK && i < t; i++)
        e = kg_mpc_frost_tr_partial_sig_verify(&blame, psig[i], (const uint8_t (*)[KG_MPC_FROST_TR_PUBNONCE_BYTES])pub,
                                               t, &c->session, i);
    if (e == KG_OK)
        e = kg_mpc_frost_tr_partial_sig_agg(sig, &blame, (const uint8_t (*)[KG_MPC_FROST_TR_PSIG_BYTES])psig, t,
                                            &c->session, agg);
    if (e == KG_OK)
        e = kg_mpc_frost_tr_session_xonly(xonly, &c->session);
    if (e == KG_OK && kg_crypto_k1_schnorr_verify(sig, msg, msg_len, xonly) != KG_OK)
        e = kg_err_set(KG_ERR_INTERNAL, "the aggregated BIP340 signature does not verify");
    if (sec)
        kg_wipe(sec, t * sizeof *sec);
    free(sec), free(pub), free(psig);
    return e;
}

static kg_err fs_public_key(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    frost_signer *fs = s->impl;
    memset(out, 0, sizeof *out);
    kg_err e = ref_check(fs, ref, scheme);
    if (e != KG_OK)
        return e;
    if (scheme == KG_SIG_BIP340) {
        tr_ctx c;
        e = tr_setup(&c, fs, ref, NULL, 0);
        if (e == KG_OK)
            e = kg_mpc_frost_tr_session_xonly(out->data, &c.session);
        out->len = e == KG_OK ? KG_MPC_FROST_TR_XONLY_BYTES : 0;
        return e;
    }
    const kg_mpc_frost_key_share *k = (const kg_mpc_frost_key_share *)kg_secret_cdata(fs->shares);
    size_t len = kg_mpc_group_point_len(fs->g);
    memcpy(out->data, k[0].group_public.b, len);
    out->len = len;
    return KG_OK;
}

/* Both rounds and aggregation with shares k[0..t-1]; scratch arrays of t. */
static kg_err run_rounds(uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES], size_t *sig_len,
                         const kg_mpc_frost_key_share *k, unsigned t, const uint8_t *msg, size_t msg_len)
{
    kg_mpc_frost_nonce *nonces = calloc(t, sizeof *nonces);
    kg_mpc_frost_commitment *coms = calloc(t, sizeof *coms);
    kg_mpc_frost_sig_share *ss = calloc(t, sizeof *ss);
    kg_mpc_point *pubs = calloc(t, sizeof *pubs);
    kg_err e = KG_OK;
    if (!nonces || !coms || !ss || !pubs)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; e == KG_OK && i < t; i++) {
        e = kg_mpc_frost_commit(&nonces[i], &k[i], NULL, NULL);
        if (e == KG_OK)
            coms[i] = nonces[i].commitment, pubs[i] = k[i].public_share;
    }
    kg_mpc_frost_signing_package pkg = {k[0].group, k[0].group_public, msg, msg_len, coms, t};
    for (unsigned i = 0; e == KG_OK && i < t; i++)
        e = kg_mpc_frost_sign(&ss[i], &nonces[i], &k[i], &pkg);
    if (e == KG_OK)
        e = kg_mpc_frost_aggregate(sig, sig_len, NULL, NULL, &pkg, ss, pubs);
    if (nonces)
        kg_wipe(nonces, t * sizeof *nonces);
    if (ss)
        kg_wipe(ss, t * sizeof *ss);
    free(nonces), free(coms), free(ss), free(pubs);
    return e;
}

static kg_err fs_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                      const uint8_t *msg, size_t msg_len)
{
    frost_signer *fs = s->impl;
    memset(out, 0, sizeof *out);
    out->recid = -1;
    kg_err e = ref_check(fs, ref, scheme);
    if (e != KG_OK)
        return e;
    if (msg == NULL && msg_len != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "no message to sign");
    uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t len = 0;
    if (scheme == KG_SIG_BIP340) {
        tr_ctx c;
        if (msg_len != 32)
            return kg_err_set(KG_ERR_BAD_INPUT, "BIP340 signs a 32-byte digest, not %zu bytes", msg_len);
        e = tr_setup(&c, fs, ref, msg, msg_len);
        if (e == KG_OK)
            e = tr_rounds(out->data, fs, &c, msg, msg_len);
        out->len = e == KG_OK ? 64 : 0;
        if (e != KG_OK)
            memset(out->data, 0, sizeof out->data);
        return e;
    }
    e = run_rounds(sig, &len, (const kg_mpc_frost_key_share *)kg_secret_cdata(fs->shares), fs->t, msg, msg_len);
    if (e == KG_OK && len != 64)
        e = kg_err_set(KG_ERR_INTERNAL, "FROST produced a %zu-byte signature for a 64-byte scheme", len);
    if (e == KG_OK) {
        memcpy(out->data, sig, 64);
        out->len = 64;
    }
    return e;
}

static void fs_close(kg_signer *s)
{
    frost_signer *fs = s->impl;
    if (fs != NULL)
        kg_secret_free(fs->shares);
    free(fs);
    free(s);
}

static const kg_signer_ops frost_signer_ops = {fs_public_key, fs_sign, fs_close};

/* The shares must form one group: same suite, key and threshold, distinct
 * identifiers, each public share matching its secret. */
static kg_err shares_check(kg_mpc_group_id g, unsigned t, const kg_mpc_frost_key_share *shares, size_t n)
{
    if (!kg_mpc_group_valid(g) || t < 2 || n < t || n > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_BAD_INPUT, "a FROST signer needs a suite, a threshold t >= 2 and at least t "
                          "shares (got t = %u, %zu shares)", t, n);
    for (size_t i = 0; i < n; i++) {
        kg_mpc_point pk;
        if (shares[i].group != g || shares[i].min_signers != t || shares[i].id == 0
            || !kg_mpc_point_eq(g, &shares[i].group_public, &shares[0].group_public))
            return kg_err_set(KG_ERR_BAD_INPUT, "share %zu (participant %u) is not a %u-of-n %s share of the "
                              "same group key", i, shares[i].id, t, kg_mpc_frost_scheme_name(g));
        for (size_t j = 0; j < i; j++)
            if (shares[j].id == shares[i].id)
                return kg_err_set(KG_ERR_BAD_INPUT, "two shares of participant %u", shares[i].id);
        kg_mpc_point_base_mul(g, &pk, &shares[i].secret);
        if (!kg_mpc_point_eq(g, &pk, &shares[i].public_share))
            return kg_err_set(KG_ERR_BAD_INPUT, "participant %u's public share does not match its secret",
                              shares[i].id);
    }
    return KG_OK;
}

kg_err kg_mpc_frost_signer_new(kg_signer **out, kg_mpc_group_id g, unsigned t,
                               const kg_mpc_frost_key_share *shares, size_t n)
{
    *out = NULL;
    kg_err e = shares_check(g, t, shares, n);
    if (e != KG_OK)
        return e;
    kg_signer *s = calloc(1, sizeof *s);
    frost_signer *fs = calloc(1, sizeof *fs);
    /* sodium_malloc aligns the end of the block: a multiple of 16 keeps the start aligned */
    size_t size = (n * sizeof *shares + 15) & ~(size_t)15;
    if (s == NULL || fs == NULL || (fs->shares = kg_secret_new(size)) == NULL) {
        free(s), free(fs);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    memcpy(kg_secret_data(fs->shares), shares, n * sizeof *shares);
    kg_mpc_frost_key_share *k = (kg_mpc_frost_key_share *)kg_secret_data(fs->shares);
    for (size_t i = 1; i < n; i++) /* insertion sort by identifier: the package order */
        for (size_t j = i; j > 0 && k[j - 1].id > k[j].id; j--) {
            kg_mpc_frost_key_share tmp = k[j];
            k[j] = k[j - 1], k[j - 1] = tmp;
            kg_wipe(&tmp, sizeof tmp);
        }
    fs->g = g, fs->t = t, fs->n = n;
    s->ops = &frost_signer_ops;
    s->impl = fs;
    *out = s;
    return KG_OK;
}
