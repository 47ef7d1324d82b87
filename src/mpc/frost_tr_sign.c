/* BIP 445 FROST for BIP340: round two and aggregation.
 *
 * GetSessionValues, Sign, DeterministicSign, PartialSigVerify(Internal)
 * and PartialSigAgg of BIP 445 §Algorithms. The spec recomputes the session
 * values in every algorithm; so do we, which keeps each call independent of
 * any cached state an attacker could have modified (BIP 445 warns that the
 * session values must be protected from modification).
 *
 * Signing, s = k1 + b*k2 + e*lambda*d (BIP 445 §Signing), is done entirely
 * with libsecp256k1's constant-time secret-key operations: the public
 * factors b and e*lambda go in as "tweaks" (seckey_tweak_mul), the sums via
 * seckey_tweak_add and the sign flips (odd R, odd Q, gacc) via
 * seckey_negate, whose condition is public. libsecp256k1 refuses a zero
 * secret key, so an intermediate sum of exactly 0 (probability ~2^-256 for
 * honest nonces) makes Sign fail with KG_ERR_CRYPTO instead of producing a
 * psig. The secnonce is copied and the caller's buffer wiped first thing,
 * so a secnonce can never be used twice, whatever happens afterwards.
 *
 * Constant time (tests/ctime/test_ctime.c, Valgrind): the branches that
 * follow the secret arithmetic are on values public by design -- range
 * checks of the secrets, the libraries' "ok" flags, the pubshare and
 * pubnonce computed from them, the psig being released -- each released
 * with kg_declassify where it is computed. */
#include "frost_tr_int.h"

#include <string.h>

static const uint8_t k_one[32] = {[31] = 1};

/* b = H_noncecoef(bytes(4, 4u) || SerializeIds || aggnonce || xbytes(Q) || m).
 *
 * Deviation from the BIP text: BIP 445 0.8.0 writes the prefix as
 * bytes(4, u), but its published vectors (sign_verify, tweak, det_sign,
 * sig_agg at bips commit f7de4568) are generated with the byte length of
 * SerializeIds, 4*u (found by solving two vector psigs for b; every vector
 * passes only with 4*u). Both commit to u equally well; we follow the
 * vectors, which are what other implementations interoperate on. Revisit
 * if the BIP or its vectors change. u < 2^30 is checked by the caller. */
static kg_err noncecoef(uint8_t b[static 32], const kg_mpc_frost_tr_session *s,
                        const uint8_t aggnonce[static 66], const kg_frost_tr_pt *q)
{
    kg_crypto_sha256_ctx h;
    uint8_t x[32], hash[32];
    kg_frost_tr_tag_init(&h, "BIP0445/noncecoef");
    kg_frost_tr_put_u32(&h, (uint32_t)(4 * s->signers->u));
    kg_frost_tr_put_ids(&h, s->signers->ids, s->signers->u);
    kg_crypto_sha256_update(&h, aggnonce, 66);
    kg_frost_tr_pt_xonly(x, q);
    kg_crypto_sha256_update(&h, x, 32);
    kg_crypto_sha256_update(&h, s->msg, s->msg_len);
    kg_crypto_sha256_final(hash, &h);
    kg_err err = kg_frost_tr_sc_reduce_secret(b, hash);
    if (err == KG_OK && kg_frost_tr_sc_is_zero(b))
        err = kg_err_set(KG_ERR_CRYPTO, "frost-secp256k1-tr: nonce coefficient is zero");
    return err;
}

/* GetSessionValues (BIP 445 §Session Context). */
static kg_err session_values(kg_frost_tr_values *v, kg_mpc_frost_tr_blame *blame,
                             const kg_mpc_frost_tr_session *s, const uint8_t aggnonce[static 66])
{
    memset(v, 0, sizeof *v);
    KG_ARG_CHECK(s->signers != NULL && (s->msg != NULL || s->msg_len == 0));
    kg_mpc_frost_tr_tweak_ctx tc;
    kg_err err = kg_frost_tr_signers_check(s->signers);
    if (err == KG_OK)
        err = kg_frost_tr_tweaks_run(&tc, s);
    if (err != KG_OK)
        return err;
    if (s->signers->u >= (1u << 30))
        return kg_err_set(KG_ERR_BAD_INPUT, "at most 2^30-1 signers are supported (u=%zu)", s->signers->u);
    if (!kg_frost_tr_pt_parse(&v->q, tc.q))
        return kg_err_set(KG_ERR_INTERNAL, "frost-secp256k1-tr: tweak context lost its key");
    v->gacc_neg = tc.gacc_neg;
    memcpy(v->tacc, tc.tacc, 32);
    if ((err = noncecoef(v->b, s, aggnonce, &v->q)) != KG_OK)
        return err;
    kg_frost_tr_pt r1, r2, br2, g;
    if (!kg_frost_tr_pt_parse_ext(&r1, aggnonce) || !kg_frost_tr_pt_parse_ext(&r2, aggnonce + 33)) {
        kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_AGGNONCE, KG_MPC_FROST_TR_NO_SIGNER);
        return kg_err_set(KG_ERR_BAD_INPUT, "invalid aggnonce from the coordinator (a half is neither "
                          "a compressed point nor 33 zero bytes)");
    }
    /* R = R1 + b*R2, or G when that is infinity (BIP 445 §Dealing with
     * Infinity in Nonce Aggregation). */
    if (!kg_frost_tr_pt_mul(&br2, &r2, v->b))
        return kg_err_set(KG_ERR_INTERNAL, "frost-secp256k1-tr: point multiplication failed");
    kg_frost_tr_pt_add(&v->r, &r1, &br2);
    if (v->r.inf) {
        if (!kg_frost_tr_pt_gen(&g, k_one))
            return kg_err_set(KG_ERR_INTERNAL, "frost-secp256k1-tr: generator unavailable");
        v->r = g;
    }
    /* e = H_BIP0340/challenge(xbytes(R) || xbytes(Q) || m). */
    kg_crypto_sha256_ctx h;
    uint8_t x[32], hash[32];
    kg_frost_tr_tag_init(&h, "BIP0340/challenge");
    kg_frost_tr_pt_xonly(x, &v->r);
    kg_crypto_sha256_update(&h, x, 32);
    kg_frost_tr_pt_xonly(x, &v->q);
    kg_crypto_sha256_update(&h, x, 32);
    kg_crypto_sha256_update(&h, s->msg, s->msg_len);
    kg_crypto_sha256_final(hash, &h);
    if ((err = kg_frost_tr_sc_reduce_secret(v->e, hash)) == KG_OK && kg_frost_tr_sc_is_zero(v->e))
        err = kg_err_set(KG_ERR_CRYPTO, "frost-secp256k1-tr: challenge is zero");
    return err;
}

static int pubshare_listed(const kg_mpc_frost_tr_signers *s, const uint8_t pubshare[static 33])
{
    for (size_t i = 0; i < s->u; i++)
        if (memcmp(s->pubshares[i], pubshare, 33) == 0)
            return 1;
    return 0;
}

static int id_listed(const kg_mpc_frost_tr_signers *s, uint32_t id)
{
    for (size_t i = 0; i < s->u; i++)
        if (s->ids[i] == id)
            return 1;
    return 0;
}

/* e * lambda(my_id), negated when g * gacc = -1: the public factor of the
 * secret share in s, and of the pubshare in the verification equation. */
static kg_err share_factor(uint8_t out[static 32], const kg_frost_tr_values *v,
                           const kg_mpc_frost_tr_signers *s, uint32_t my_id)
{
    uint8_t lambda[32];
    kg_err err = kg_mpc_frost_tr_lagrange(lambda, s->ids, s->u, my_id);
    if (err == KG_OK)
        err = kg_frost_tr_sc_mul(out, v->e, lambda);
    if (err == KG_OK && (!kg_frost_tr_pt_even(&v->q) ^ (v->gacc_neg != 0)))
        err = kg_frost_tr_sc_neg(out, out);
    return err;
}

/* PartialSigVerifyInternal on precomputed session values: KG_OK when
 * s*G = Re + e*lambda*g'*P, KG_ERR_VERIFY for any failure of the BIP's
 * "fail" steps, other codes only for internal faults. */
static kg_err verify_internal(const uint8_t psig[static 32], uint32_t my_id, const uint8_t pubnonce[static 66],
                              const uint8_t pubshare[static 33], const kg_mpc_frost_tr_signers *s,
                              const kg_frost_tr_values *v)
{
    kg_frost_tr_pt r1, r2, re, p, lhs, rhs;
    uint8_t f[32];
    if (!kg_frost_tr_sc_valid(psig))
        return kg_err_set(KG_ERR_VERIFY, "the partial signature is not below the group order");
    if (!pubshare_listed(s, pubshare) || !id_listed(s, my_id))
        return kg_err_set(KG_ERR_VERIFY, "the signer's pubshare or id is not in the signer set");
    if (!kg_frost_tr_pt_parse(&r1, pubnonce) || !kg_frost_tr_pt_parse(&r2, pubnonce + 33) ||
        !kg_frost_tr_pt_parse(&p, pubshare))
        return kg_err_set(KG_ERR_VERIFY, "the signer's pubnonce or pubshare is not a point");
    kg_err err = share_factor(f, v, s, my_id);
    if (err != KG_OK)
        return err;
    if (!kg_frost_tr_pt_mul(&r2, &r2, v->b) || !kg_frost_tr_pt_mul(&p, &p, f) ||
        !kg_frost_tr_pt_gen(&lhs, psig))
        return kg_err_set(KG_ERR_INTERNAL, "frost-secp256k1-tr: point multiplication failed");
    kg_frost_tr_pt_add(&re, &r1, &r2);
    if (!kg_frost_tr_pt_even(&v->r))
        kg_frost_tr_pt_neg(&re);
    kg_frost_tr_pt_add(&rhs, &re, &p);
    if (!kg_frost_tr_pt_eq(&lhs, &rhs))
        return kg_err_set(KG_ERR_VERIFY, "the partial signature does not satisfy s*G = Re + e*lambda*P");
    return KG_OK;
}

/* The secret part of Sign: psig = k1 + b*k2 + f*d' with the nonce signs
 * already applied to k (64 bytes, modified) and f = g*gacc*e*lambda.
 * Constant time in k and d. */
static kg_err sign_scalars(uint8_t psig[static 32], uint8_t k[static 64], const uint8_t secshare[static 32],
                           const uint8_t b[static 32], const uint8_t f[static 32])
{
    const secp256k1_context *ctx = kg_frost_tr_secp();
    uint8_t ed[32];
    memcpy(ed, secshare, 32);
    int ok = secp256k1_ec_seckey_tweak_mul(ctx, ed, f);
    ok &= secp256k1_ec_seckey_tweak_mul(ctx, k + 32, b);
    memcpy(psig, k, 32);
    ok &= secp256k1_ec_seckey_tweak_add(ctx, psig, k + 32);
    ok &= secp256k1_ec_seckey_tweak_add(ctx, psig, ed);
    kg_wipe(ed, sizeof ed);
    kg_declassify(&ok, sizeof ok); /* a zero partial sum is a public failure */
    if (!ok) {
        kg_wipe(psig, 32);
        return kg_err_set(KG_ERR_CRYPTO, "frost-secp256k1-tr: a partial sum was zero; "
                          "start a new session with fresh nonces");
    }
    return KG_OK;
}

/* Sign's checks of its secret inputs (range) and of the signer's place in
 * the signer set; outputs the pubshare and pubnonce derived from them. */
static kg_err sign_check_inputs(uint8_t pubshare[static 33], uint8_t pubnonce[static 66],
                                const uint8_t k[static 64], const uint8_t secshare[static 32],
                                uint32_t my_id, const kg_mpc_frost_tr_signers *s)
{
    const secp256k1_context *ctx = kg_frost_tr_secp();
    kg_frost_tr_pt p;
    /* In range or not is public (the BIP's error); the values are not. */
    int in_range[3] = {secp256k1_ec_seckey_verify(ctx, k), secp256k1_ec_seckey_verify(ctx, k + 32),
                       secp256k1_ec_seckey_verify(ctx, secshare)};
    kg_declassify(in_range, sizeof in_range);
    if (!in_range[0])
        return kg_err_set(KG_ERR_BAD_INPUT, "first secnonce value is out of range.");
    if (!in_range[1])
        return kg_err_set(KG_ERR_BAD_INPUT, "second secnonce value is out of range.");
    if (!in_range[2])
        return kg_err_set(KG_ERR_BAD_INPUT, "The signer's secret share value is out of range.");
    if (!kg_frost_tr_pt_gen(&p, secshare))
        return kg_err_set(KG_ERR_INTERNAL, "frost-secp256k1-tr: pubkey_create failed");
    kg_frost_tr_pt_ser(pubshare, &p);
    if (!pubshare_listed(s, pubshare))
        return kg_err_set(KG_ERR_BAD_INPUT, "The signer's pubshare must be included in the list of pubshares.");
    if (!id_listed(s, my_id))
        return kg_err_set(KG_ERR_BAD_INPUT, "The signer's id must be present in the participant "
                          "identifier list. (id %u)", my_id);
    /* Stricter than BIP 445, which checks the two memberships separately:
     * the pubshare listed at my_id's position must be ours, so a signer is
     * never made to sign for another participant's slot. */
    for (size_t i = 0; i < s->u; i++)
        if (s->ids[i] == my_id && memcmp(s->pubshares[i], pubshare, 33) != 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "The signer's pubshare must be included in the list of "
                              "pubshares. (it is listed, but not at id %u's position)", my_id);
    if (!kg_frost_tr_pt_gen(&p, k))
        return kg_err_set(KG_ERR_INTERNAL, "frost-secp256k1-tr: pubkey_create failed");
    kg_frost_tr_pt_ser(pubnonce, &p);
    if (!kg_frost_tr_pt_gen(&p, k + 32))
        return kg_err_set(KG_ERR_INTERNAL, "frost-secp256k1-tr: pubkey_create failed");
    kg_frost_tr_pt_ser(pubnonce + 33, &p);
    return KG_OK;
}

kg_err kg_mpc_frost_tr_sign(uint8_t psig[static KG_MPC_FROST_TR_PSIG_BYTES], kg_mpc_frost_tr_blame *blame,
                            uint8_t secnonce[static KG_MPC_FROST_TR_SECNONCE_BYTES],
                            const uint8_t secshare[static KG_MPC_FROST_TR_SECSHARE_BYTES], uint32_t my_id,
                            const kg_mpc_frost_tr_session *session,
                            const uint8_t aggnonce[static KG_MPC_FROST_TR_AGGNONCE_BYTES])
{
    uint8_t k[64], f[32], pubshare[33], pubnonce[66];
    kg_frost_tr_values v;
    memcpy(k, secnonce, sizeof k);
    kg_wipe(secnonce, KG_MPC_FROST_TR_SECNONCE_BYTES); /* never usable twice */
    memset(psig, 0, KG_MPC_FROST_TR_PSIG_BYTES);
    kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_NONE, KG_MPC_FROST_TR_NO_SIGNER);
    kg_err err = kg_frost_tr_ensure();
    if (err == KG_OK)
        err = session_values(&v, blame, session, aggnonce);
    if (err == KG_OK)
        err = sign_check_inputs(pubshare, pubnonce, k, secshare, my_id, session->signers);
    if (err == KG_OK)
        err = share_factor(f, &v, session->signers, my_id);
    if (err == KG_OK) {
        /* k1, k2 negated when R has odd y (public condition); negate
         * fails only on a zero key, excluded above (public "ok"). */
        if (!kg_frost_tr_pt_even(&v.r)) {
            int ok = secp256k1_ec_seckey_negate(kg_frost_tr_secp(), k);
            ok &= secp256k1_ec_seckey_negate(kg_frost_tr_secp(), k + 32);
            kg_declassify(&ok, sizeof ok);
            if (!ok)
                err = kg_err_set(KG_ERR_INTERNAL, "frost-secp256k1-tr: seckey_negate failed");
        }
    }
    if (err == KG_OK)
        err = sign_scalars(psig, k, secshare, v.b, f);
    kg_wipe(k, sizeof k);
    /* psig is the public output; the self-check below branches on it. */
    kg_declassify(psig, KG_MPC_FROST_TR_PSIG_BYTES);
    if (err == KG_OK && verify_internal(psig, my_id, pubnonce, pubshare, session->signers, &v) != KG_OK)
        err = kg_err_set(KG_ERR_CRYPTO, "frost-secp256k1-tr: the partial signature failed its own "
                         "verification (computation fault); it was not released");
    if (err != KG_OK)
        kg_wipe(psig, KG_MPC_FROST_TR_PSIG_BYTES);
    return err;
}

/* The DeterministicSign nonce hash: k_i = H_deterministic/nonce(secshare' ||
 * bytes(4,my_id) || bytes(4,u) || SerializeIds || aggothernonce' ||
 * tweaked_xonly || bytes(8,len(m)) || m || bytes(1,i-1)). */
static kg_err det_nonce(uint8_t secnonce[static 64], uint8_t pubnonce[static 66], const uint8_t sharep[static 32],
                        uint32_t my_id, const kg_mpc_frost_tr_session *s, const uint8_t *aggothernonce,
                        const uint8_t xonly[static 32])
{
    kg_crypto_sha256_ctx h, h2;
    uint8_t h1v[32], h2v[32], idx = 0;
    kg_frost_tr_tag_init(&h, "BIP0445/deterministic/nonce");
    kg_crypto_sha256_update(&h, sharep, 32);
    kg_frost_tr_put_u32(&h, my_id);
    kg_frost_tr_put_u32(&h, (uint32_t)s->signers->u);
    kg_frost_tr_put_ids(&h, s->signers->ids, s->signers->u);
    if (aggothernonce != NULL)
        kg_crypto_sha256_update(&h, aggothernonce, 66);
    kg_crypto_sha256_update(&h, xonly, 32);
    kg_frost_tr_put_u64(&h, s->msg_len);
    kg_crypto_sha256_update(&h, s->msg, s->msg_len);
    h2 = h;
    kg_crypto_sha256_update(&h, &idx, 1);
    kg_crypto_sha256_final(h1v, &h);
    idx = 1;
    kg_crypto_sha256_update(&h2, &idx, 1);
    kg_crypto_sha256_final(h2v, &h2);
    kg_err err = kg_frost_tr_nonce_finish(secnonce, pubnonce, h1v, h2v);
    kg_wipe(h1v, sizeof h1v);
    kg_wipe(h2v, sizeof h2v);
    return err;
}

kg_err kg_mpc_frost_tr_sign_deterministic(uint8_t pubnonce[static KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                          uint8_t psig[static KG_MPC_FROST_TR_PSIG_BYTES],
                                          kg_mpc_frost_tr_blame *blame,
                                          const uint8_t secshare[static KG_MPC_FROST_TR_SECSHARE_BYTES],
                                          uint32_t my_id, const kg_mpc_frost_tr_session *session,
                                          const uint8_t *aggothernonce, const uint8_t *aux_rand)
{
    memset(pubnonce, 0, KG_MPC_FROST_TR_PUBNONCE_BYTES);
    memset(psig, 0, KG_MPC_FROST_TR_PSIG_BYTES);
    kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_NONE, KG_MPC_FROST_TR_NO_SIGNER);
    const kg_mpc_frost_tr_signers *s = session->signers;
    KG_ARG_CHECK(s != NULL && (s->u == 0 || s->ids != NULL) && (session->msg != NULL || session->msg_len == 0));
    kg_err err = kg_frost_tr_ensure();
    if (err != KG_OK)
        return err;
    /* The signers are validated first, as the BIP's vectors expect (its
     * text validates only inside Sign, after NonceAgg; a bad signer set
     * with an unreadable aggothernonce is a plain error, not a blame). */
    if ((err = kg_frost_tr_signers_check(s)) != KG_OK)
        return err;
    uint8_t sharep[32], xonly[32], secnonce[64], agg[66], pair[2][66];
    kg_mpc_frost_tr_tweak_ctx tc;
    if ((err = kg_frost_tr_tweaks_run(&tc, session)) != KG_OK)
        return err;
    kg_mpc_frost_tr_tweak_xonly(xonly, &tc);
    /* secshare' = secshare xor hash_BIP0445/aux(aux_rand), or secshare. */
    memset(sharep, 0, sizeof sharep);
    if (aux_rand != NULL)
        kg_crypto_tagged_hash(sharep, "BIP0445/aux", aux_rand, 32);
    for (size_t i = 0; i < 32; i++)
        sharep[i] ^= secshare[i];
    err = det_nonce(secnonce, pubnonce, sharep, my_id, session, aggothernonce, xonly);
    kg_wipe(sharep, sizeof sharep);
    if (err == KG_OK && aggothernonce != NULL) {
        memcpy(pair[0], pubnonce, 66);
        memcpy(pair[1], aggothernonce, 66);
        if (kg_mpc_frost_tr_nonce_agg(agg, NULL, (const uint8_t (*)[66])pair, 2) != KG_OK) {
            kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_AGGOTHERNONCE, KG_MPC_FROST_TR_NO_SIGNER);
            err = kg_err_set(KG_ERR_BAD_INPUT, "invalid aggothernonce from the coordinator "
                             "(a half is not a compressed point)");
        }
    } else if (err == KG_OK) {
        memcpy(agg, pubnonce, 66);
    }
    if (err == KG_OK)
        err = kg_mpc_frost_tr_sign(psig, blame, secnonce, secshare, my_id, session, agg);
    kg_wipe(secnonce, sizeof secnonce);
    if (err != KG_OK)
        memset(pubnonce, 0, KG_MPC_FROST_TR_PUBNONCE_BYTES);
    return err;
}

kg_err kg_mpc_frost_tr_partial_sig_verify(kg_mpc_frost_tr_blame *blame,
                                          const uint8_t psig[static KG_MPC_FROST_TR_PSIG_BYTES],
                                          const uint8_t (*pubnonces)[KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                          size_t n_pubnonces, const kg_mpc_frost_tr_session *session,
                                          size_t signer_index)
{
    kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_NONE, KG_MPC_FROST_TR_NO_SIGNER);
    const kg_mpc_frost_tr_signers *s = session->signers;
    KG_ARG_CHECK(s != NULL);
    kg_err err = kg_frost_tr_ensure();
    if (err == KG_OK)
        err = kg_frost_tr_signers_check(s);
    if (err != KG_OK)
        return err;
    if (n_pubnonces != s->u)
        return kg_err_set(KG_ERR_BAD_INPUT, "The pubnonces and ids arrays must have the same length. "
                          "(%zu pubnonces, %zu signers)", n_pubnonces, s->u);
    if (signer_index >= s->u)
        return kg_err_set(KG_ERR_BAD_INPUT, "signer index %zu is out of range (0..%zu)", signer_index, s->u - 1);
    uint8_t aggnonce[66];
    kg_frost_tr_values v;
    if ((err = kg_mpc_frost_tr_nonce_agg(aggnonce, blame, pubnonces, n_pubnonces)) != KG_OK ||
        (err = session_values(&v, blame, session, aggnonce)) != KG_OK)
        return err;
    err = verify_internal(psig, s->ids[signer_index], pubnonces[signer_index], s->pubshares[signer_index], s, &v);
    if (err == KG_ERR_VERIFY) {
        kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_PSIG, signer_index);
        err = kg_err_set(KG_ERR_VERIFY, "invalid partial signature from the signer at index %zu (id %u)",
                         signer_index, s->ids[signer_index]);
    }
    return err;
}

kg_err kg_mpc_frost_tr_partial_sig_agg(uint8_t sig[static KG_MPC_FROST_TR_SIG_BYTES], kg_mpc_frost_tr_blame *blame,
                                       const uint8_t (*psigs)[KG_MPC_FROST_TR_PSIG_BYTES], size_t n_psigs,
                                       const kg_mpc_frost_tr_session *session,
                                       const uint8_t aggnonce[static KG_MPC_FROST_TR_AGGNONCE_BYTES])
{
    memset(sig, 0, KG_MPC_FROST_TR_SIG_BYTES);
    kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_NONE, KG_MPC_FROST_TR_NO_SIGNER);
    KG_ARG_CHECK(session->signers != NULL && (n_psigs == 0 || psigs != NULL));
    kg_frost_tr_values v;
    kg_err err = kg_frost_tr_ensure();
    if (err == KG_OK && n_psigs != session->signers->u)
        err = kg_err_set(KG_ERR_BAD_INPUT, "The psigs and ids arrays must have the same length. "
                         "(%zu psigs, %zu signers)", n_psigs, session->signers->u);
    if (err == KG_OK)
        err = session_values(&v, blame, session, aggnonce);
    if (err != KG_OK)
        return err;
    /* s = s_1 + ... + s_u + e*g*tacc (psigs are public: BIGNUM is fine). */
    uint8_t sum[32], et[32];
    memset(sum, 0, sizeof sum);
    for (size_t i = 0; i < n_psigs && err == KG_OK; i++) {
        if (!kg_frost_tr_sc_valid(psigs[i])) {
            kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_PSIG, i);
            return kg_err_set(KG_ERR_BAD_INPUT, "invalid partial signature from the signer at index "
                              "%zu (not below the group order)", i);
        }
        err = kg_frost_tr_sc_add(sum, sum, psigs[i]);
    }
    if (err == KG_OK)
        err = kg_frost_tr_sc_mul(et, v.e, v.tacc);
    if (err == KG_OK && !kg_frost_tr_pt_even(&v.q))
        err = kg_frost_tr_sc_neg(et, et);
    if (err == KG_OK)
        err = kg_frost_tr_sc_add(sum, sum, et);
    if (err != KG_OK)
        return err;
    kg_frost_tr_pt_xonly(sig, &v.r);
    memcpy(sig + 32, sum, 32);
    return KG_OK;
}

kg_err kg_mpc_frost_tr_session_xonly(uint8_t out[static KG_MPC_FROST_TR_XONLY_BYTES],
                                     const kg_mpc_frost_tr_session *session)
{
    memset(out, 0, KG_MPC_FROST_TR_XONLY_BYTES);
    KG_ARG_CHECK(session->signers != NULL);
    kg_mpc_frost_tr_tweak_ctx tc;
    kg_err err = kg_frost_tr_tweaks_run(&tc, session);
    if (err == KG_OK)
        kg_mpc_frost_tr_tweak_xonly(out, &tc);
    return err;
}
