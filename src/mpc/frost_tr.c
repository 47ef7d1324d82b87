/* BIP 445 FROST for BIP340: key material, tweaking and round one.
 *
 * This file holds the parts of BIP 445 §Algorithms that come before
 * signing: the Signers Context check (ValidateSignersCtx,
 * DeriveThreshPubkey, DeriveInterpolatingValue), the Tweak Context
 * (TweakCtxInit, ApplyTweak, GetXonlyPubkey, GetPlainPubkey) with helpers
 * that compute the BIP32 and BIP341 tweaks, NonceGen and NonceAgg, and the
 * decoders of the wire encodings. Signing and aggregation are in
 * frost_tr_sign.c; the point and scalar helpers in frost_tr_math.c.
 *
 * Error texts follow the BIP's reference implementation where it has one
 * ("The number of signers must be between t and n.") so that a log line can
 * be matched against the test vectors' expected errors.
 *
 * Constant time: NonceGen touches the secret share only through a byte
 * xor, SHA-256 and libsecp256k1 (see frost_tr_math.c for the one rare
 * variable-time reduction). Everything else here is public data. */
#include "frost_tr_int.h"

#include <string.h>

/* ---------------------------------------------------------- signers ctx */

static int has_duplicates(const uint32_t *ids, size_t u)
{
    for (size_t i = 0; i < u; i++)
        for (size_t j = i + 1; j < u; j++)
            if (ids[i] == ids[j])
                return 1;
    return 0;
}

kg_err kg_mpc_frost_tr_lagrange(uint8_t out[static 32], const uint32_t *ids, size_t u, uint32_t my_id)
{
    memset(out, 0, 32);
    size_t found = 0;
    for (size_t i = 0; i < u; i++)
        found += ids[i] == my_id;
    if (found == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "The signer's id must be present in the participant "
                          "identifier list. (id %u is not among the %zu signers)", my_id, u);
    if (has_duplicates(ids, u))
        return kg_err_set(KG_ERR_BAD_INPUT, "The participant identifier list contains duplicate elements.");
    uint8_t num[32], den[32], v[32];
    kg_frost_tr_sc_from_u64(num, 1);
    kg_frost_tr_sc_from_u64(den, 1);
    kg_err err = KG_OK;
    for (size_t i = 0; i < u && err == KG_OK; i++) {
        if (ids[i] == my_id)
            continue;
        /* num *= id_i + 1; den *= id_i - my_id (BIP 445: identifiers shifted by one). */
        kg_frost_tr_sc_from_u64(v, (uint64_t)ids[i] + 1);
        err = kg_frost_tr_sc_mul(num, num, v);
        if (err == KG_OK && ids[i] > my_id) {
            kg_frost_tr_sc_from_u64(v, ids[i] - my_id);
        } else if (err == KG_OK) {
            kg_frost_tr_sc_from_u64(v, my_id - ids[i]);
            err = kg_frost_tr_sc_neg(v, v);
        }
        if (err == KG_OK)
            err = kg_frost_tr_sc_mul(den, den, v);
    }
    if (err == KG_OK)
        err = kg_frost_tr_sc_inv(den, den);
    if (err == KG_OK)
        err = kg_frost_tr_sc_mul(out, num, den);
    if (err != KG_OK)
        memset(out, 0, 32);
    return err;
}

/* DeriveThreshPubkey on checked inputs: Q = sum lambda_i * P_i. */
static kg_err derive_thresh(kg_frost_tr_pt *q, const uint32_t *ids,
                            const uint8_t (*pubshares)[KG_MPC_FROST_TR_PUBSHARE_BYTES], size_t u)
{
    memset(q, 0, sizeof *q);
    q->inf = 1;
    for (size_t i = 0; i < u; i++) {
        uint8_t lambda[32];
        kg_frost_tr_pt p;
        kg_err err = kg_mpc_frost_tr_lagrange(lambda, ids, u, ids[i]);
        if (err != KG_OK)
            return err;
        if (!kg_frost_tr_pt_parse(&p, pubshares[i]) || !kg_frost_tr_pt_mul(&p, &p, lambda))
            return kg_err_set(KG_ERR_BAD_INPUT, "Invalid pubshare at index %zu.", i);
        kg_frost_tr_pt_add(q, q, &p);
    }
    if (q->inf)
        return kg_err_set(KG_ERR_BAD_INPUT, "The threshold pubkey must not be the point at infinity.");
    return KG_OK;
}

/* The per-signer checks of ValidateSignersCtx: ids in range, points valid,
 * no duplicates. */
static kg_err check_ids_points(uint32_t n, const uint32_t *ids,
                               const uint8_t (*pubshares)[KG_MPC_FROST_TR_PUBSHARE_BYTES], size_t u)
{
    for (size_t i = 0; i < u; i++) {
        kg_frost_tr_pt p;
        if (ids[i] >= n)
            return kg_err_set(KG_ERR_BAD_INPUT, "The participant identifier at index %zu is out of "
                              "range. (%u is not in 0..%u)", i, ids[i], n - 1);
        if (!kg_frost_tr_pt_parse(&p, pubshares[i]))
            return kg_err_set(KG_ERR_BAD_INPUT, "Invalid pubshare at index %zu.", i);
    }
    if (has_duplicates(ids, u))
        return kg_err_set(KG_ERR_BAD_INPUT, "The participant identifier list contains duplicate elements.");
    return KG_OK;
}

kg_err kg_mpc_frost_tr_thresh_pk_derive(uint8_t out[static KG_MPC_FROST_TR_PUBKEY_BYTES], uint32_t n,
                                        const uint32_t *ids,
                                        const uint8_t (*pubshares)[KG_MPC_FROST_TR_PUBSHARE_BYTES], size_t u)
{
    memset(out, 0, KG_MPC_FROST_TR_PUBKEY_BYTES);
    KG_ARG_CHECK(u == 0 || (ids != NULL && pubshares != NULL));
    kg_err err = kg_frost_tr_ensure();
    if (err != KG_OK)
        return err;
    if (u == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "no public shares given; pass at least one");
    kg_frost_tr_pt q;
    if ((err = check_ids_points(n, ids, pubshares, u)) != KG_OK ||
        (err = derive_thresh(&q, ids, pubshares, u)) != KG_OK)
        return err;
    kg_frost_tr_pt_ser(out, &q);
    return KG_OK;
}

kg_err kg_frost_tr_signers_check(const kg_mpc_frost_tr_signers *s)
{
    KG_ARG_CHECK(s->u == 0 || (s->ids != NULL && s->pubshares != NULL));
    if (s->t < 1 || s->t > s->n)
        return kg_err_set(KG_ERR_BAD_INPUT, "The threshold t must be between 1 and n. (t=%u, n=%u)",
                          s->t, s->n);
    if (s->u < s->t || s->u > s->n)
        return kg_err_set(KG_ERR_BAD_INPUT, "The number of signers must be between t and n. "
                          "(u=%zu, t=%u, n=%u)", s->u, s->t, s->n);
    kg_frost_tr_pt q, want;
    kg_err err = check_ids_points(s->n, s->ids, s->pubshares, s->u);
    if (err == KG_OK)
        err = derive_thresh(&q, s->ids, s->pubshares, s->u);
    if (err != KG_OK)
        return err;
    if (!kg_frost_tr_pt_parse(&want, s->thresh_pk) || !kg_frost_tr_pt_eq(&q, &want))
        return kg_err_set(KG_ERR_BAD_INPUT, "The provided key material is incorrect. (the signers' "
                          "public shares do not interpolate to thresh_pk)");
    return KG_OK;
}

kg_err kg_mpc_frost_tr_signers_validate(const kg_mpc_frost_tr_signers *signers)
{
    kg_err err = kg_frost_tr_ensure();
    return err != KG_OK ? err : kg_frost_tr_signers_check(signers);
}

/* --------------------------------------------------------------- tweaks */

kg_err kg_mpc_frost_tr_tweak_init(kg_mpc_frost_tr_tweak_ctx *ctx,
                                  const uint8_t thresh_pk[static KG_MPC_FROST_TR_PUBKEY_BYTES])
{
    memset(ctx, 0, sizeof *ctx);
    kg_frost_tr_pt q;
    kg_err err = kg_frost_tr_ensure();
    if (err != KG_OK)
        return err;
    if (!kg_frost_tr_pt_parse(&q, thresh_pk))
        return kg_err_set(KG_ERR_BAD_INPUT, "The threshold public key is not a valid compressed point.");
    memcpy(ctx->q, thresh_pk, sizeof ctx->q);
    return KG_OK;
}

kg_err kg_mpc_frost_tr_tweak_apply(kg_mpc_frost_tr_tweak_ctx *ctx,
                                   const uint8_t tweak[static KG_MPC_FROST_TR_TWEAK_BYTES], bool is_xonly)
{
    kg_frost_tr_pt q;
    kg_err err = kg_frost_tr_ensure();
    if (err != KG_OK)
        return err;
    if (!kg_frost_tr_pt_parse(&q, ctx->q))
        return kg_err_set(KG_ERR_BAD_INPUT, "the tweak context holds no valid key; "
                          "start it with kg_mpc_frost_tr_tweak_init");
    int neg = is_xonly && !kg_frost_tr_pt_even(&q);
    if (!kg_frost_tr_sc_valid(tweak))
        return kg_err_set(KG_ERR_BAD_INPUT, "The tweak value is out of range.");
    if (neg)
        kg_frost_tr_pt_neg(&q);
    /* Q' = g*Q + t*G: pubkey_tweak_add fails only when Q' is infinity. */
    if (!secp256k1_ec_pubkey_tweak_add(kg_frost_tr_secp(), &q.p, tweak))
        return kg_err_set(KG_ERR_BAD_INPUT, "The result of tweaking cannot be infinity.");
    uint8_t tacc[32];
    memcpy(tacc, ctx->tacc, 32);
    if (neg && (err = kg_frost_tr_sc_neg(tacc, tacc)) != KG_OK)
        return err;
    if ((err = kg_frost_tr_sc_add(tacc, tweak, tacc)) != KG_OK)
        return err;
    kg_frost_tr_pt_ser(ctx->q, &q);
    ctx->gacc_neg ^= (uint8_t)neg;
    memcpy(ctx->tacc, tacc, 32);
    return KG_OK;
}

void kg_mpc_frost_tr_tweak_xonly(uint8_t out[static KG_MPC_FROST_TR_XONLY_BYTES],
                                 const kg_mpc_frost_tr_tweak_ctx *ctx)
{
    memcpy(out, ctx->q + 1, KG_MPC_FROST_TR_XONLY_BYTES);
}

void kg_mpc_frost_tr_tweak_plain(uint8_t out[static KG_MPC_FROST_TR_PUBKEY_BYTES],
                                 const kg_mpc_frost_tr_tweak_ctx *ctx)
{
    memcpy(out, ctx->q, KG_MPC_FROST_TR_PUBKEY_BYTES);
}

kg_err kg_mpc_frost_tr_tweak_parse(uint8_t out[static KG_MPC_FROST_TR_TWEAK_BYTES], const uint8_t *in,
                                   size_t in_len)
{
    memset(out, 0, KG_MPC_FROST_TR_TWEAK_BYTES);
    if (in == NULL || in_len != KG_MPC_FROST_TR_TWEAK_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "The tweak must be a 32-byte array. (got %zu bytes)", in_len);
    if (!kg_frost_tr_sc_valid(in))
        return kg_err_set(KG_ERR_BAD_INPUT, "The tweak value is out of range.");
    memcpy(out, in, KG_MPC_FROST_TR_TWEAK_BYTES);
    return KG_OK;
}

kg_err kg_mpc_frost_tr_tweak_bip32(uint8_t tweak[static KG_MPC_FROST_TR_TWEAK_BYTES],
                                   uint8_t child_chaincode[static KG_MPC_FROST_TR_CHAINCODE_BYTES],
                                   const kg_mpc_frost_tr_tweak_ctx *ctx,
                                   const uint8_t chaincode[static KG_MPC_FROST_TR_CHAINCODE_BYTES],
                                   uint32_t index)
{
    memset(tweak, 0, KG_MPC_FROST_TR_TWEAK_BYTES);
    memset(child_chaincode, 0, KG_MPC_FROST_TR_CHAINCODE_BYTES);
    if (index >= 0x80000000u)
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP32 index %u is hardened; a threshold key can only "
                          "derive non-hardened children (index < 2^31)", index);
    /* BIP32 CKDpub: I = HMAC-SHA512(c_par, serP(K_par) || ser32(i)). */
    uint8_t data[37], mac[64];
    memcpy(data, ctx->q, 33);
    for (int i = 0; i < 4; i++)
        data[33 + i] = (uint8_t)(index >> (24 - 8 * i));
    kg_err err = kg_crypto_hmac_sha512(mac, chaincode, KG_MPC_FROST_TR_CHAINCODE_BYTES, data, sizeof data);
    if (err != KG_OK)
        return err;
    if (!kg_frost_tr_sc_valid(mac))
        return kg_err_set(KG_ERR_BAD_INPUT, "BIP32 child %u is invalid (I_L >= n); use the next index", index);
    memcpy(tweak, mac, 32);
    memcpy(child_chaincode, mac + 32, 32);
    return KG_OK;
}

kg_err kg_mpc_frost_tr_tweak_taproot(uint8_t tweak[static KG_MPC_FROST_TR_TWEAK_BYTES],
                                     const kg_mpc_frost_tr_tweak_ctx *ctx, const uint8_t *merkle_root)
{
    uint8_t buf[64];
    memcpy(buf, ctx->q + 1, 32);
    if (merkle_root != NULL)
        memcpy(buf + 32, merkle_root, 32);
    kg_crypto_tagged_hash(tweak, "TapTweak", buf, merkle_root != NULL ? 64 : 32);
    if (!kg_frost_tr_sc_valid(tweak)) {
        memset(tweak, 0, KG_MPC_FROST_TR_TWEAK_BYTES);
        return kg_err_set(KG_ERR_BAD_INPUT, "the TapTweak hash is not below the group order; "
                          "this key cannot be used as a Taproot internal key");
    }
    return KG_OK;
}

kg_err kg_frost_tr_tweaks_run(kg_mpc_frost_tr_tweak_ctx *tc, const kg_mpc_frost_tr_session *s)
{
    if (s->n_tweaks != s->n_is_xonly)
        return kg_err_set(KG_ERR_BAD_INPUT, "The tweaks and is_xonly arrays must have the same length. "
                          "(%zu tweaks, %zu modes)", s->n_tweaks, s->n_is_xonly);
    KG_ARG_CHECK(s->n_tweaks == 0 || (s->tweaks != NULL && s->is_xonly != NULL));
    kg_err err = kg_mpc_frost_tr_tweak_init(tc, s->signers->thresh_pk);
    for (size_t i = 0; i < s->n_tweaks && err == KG_OK; i++)
        err = kg_mpc_frost_tr_tweak_apply(tc, s->tweaks[i], s->is_xonly[i]);
    return err;
}

/* ---------------------------------------------------------------- nonces */

kg_err kg_frost_tr_nonce_finish(uint8_t secnonce[static 64], uint8_t pubnonce[static 66],
                                const uint8_t h1[static 32], const uint8_t h2[static 32])
{
    kg_frost_tr_pt r1, r2;
    kg_err err = kg_frost_tr_sc_reduce_secret(secnonce, h1);
    if (err == KG_OK)
        err = kg_frost_tr_sc_reduce_secret(secnonce + 32, h2);
    /* k = 0 has probability ~2^-256 (BIP 445 lists it for completeness). */
    if (err == KG_OK && (!kg_frost_tr_pt_gen(&r1, secnonce) || !kg_frost_tr_pt_gen(&r2, secnonce + 32) ||
                         r1.inf || r2.inf))
        err = kg_err_set(KG_ERR_CRYPTO, "frost-secp256k1-tr: derived a zero nonce; try again");
    if (err != KG_OK) {
        kg_wipe(secnonce, 64);
        memset(pubnonce, 0, 66);
        return err;
    }
    kg_frost_tr_pt_ser(pubnonce, &r1);
    kg_frost_tr_pt_ser(pubnonce + 33, &r2);
    return KG_OK;
}

kg_err kg_mpc_frost_tr_nonce_gen_internal(uint8_t secnonce[static KG_MPC_FROST_TR_SECNONCE_BYTES],
                                          uint8_t pubnonce[static KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                          const uint8_t rand[static 32], const uint8_t *secshare,
                                          const uint8_t *pubshare, const uint8_t *thresh_pk_xonly,
                                          const uint8_t *msg, size_t msg_len,
                                          const uint8_t *extra_in, size_t extra_in_len)
{
    memset(secnonce, 0, KG_MPC_FROST_TR_SECNONCE_BYTES);
    memset(pubnonce, 0, KG_MPC_FROST_TR_PUBNONCE_BYTES);
    KG_ARG_CHECK(extra_in != NULL || extra_in_len == 0);
    kg_err err = kg_frost_tr_ensure();
    if (err != KG_OK)
        return err;
    if ((uint64_t)extra_in_len > UINT32_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "extra_in is %zu bytes; at most 2^32-1 are allowed", extra_in_len);
    /* rand' = secshare xor hash_BIP0445/aux(rand), or rand. */
    uint8_t randp[32], h1[32], h2[32];
    if (secshare != NULL) {
        kg_crypto_tagged_hash(randp, "BIP0445/aux", rand, 32);
        for (size_t i = 0; i < 32; i++)
            randp[i] ^= secshare[i];
    } else {
        memcpy(randp, rand, 32);
    }
    kg_crypto_sha256_ctx h;
    kg_frost_tr_tag_init(&h, "BIP0445/nonce");
    kg_crypto_sha256_update(&h, randp, 32);
    uint8_t len1 = pubshare != NULL ? 33 : 0, len2 = thresh_pk_xonly != NULL ? 32 : 0;
    kg_crypto_sha256_update(&h, &len1, 1);
    kg_crypto_sha256_update(&h, pubshare, len1);
    kg_crypto_sha256_update(&h, &len2, 1);
    kg_crypto_sha256_update(&h, thresh_pk_xonly, len2);
    uint8_t present = msg != NULL;
    kg_crypto_sha256_update(&h, &present, 1);
    if (present) {
        kg_frost_tr_put_u64(&h, msg_len);
        kg_crypto_sha256_update(&h, msg, msg_len);
    }
    kg_frost_tr_put_u32(&h, (uint32_t)extra_in_len);
    kg_crypto_sha256_update(&h, extra_in, extra_in_len);
    kg_crypto_sha256_ctx h_2 = h;
    uint8_t idx = 0;
    kg_crypto_sha256_update(&h, &idx, 1);
    kg_crypto_sha256_final(h1, &h);
    idx = 1;
    kg_crypto_sha256_update(&h_2, &idx, 1);
    kg_crypto_sha256_final(h2, &h_2);
    err = kg_frost_tr_nonce_finish(secnonce, pubnonce, h1, h2);
    kg_wipe(randp, sizeof randp);
    kg_wipe(h1, sizeof h1);
    kg_wipe(h2, sizeof h2);
    return err;
}

kg_err kg_mpc_frost_tr_nonce_gen(uint8_t secnonce[static KG_MPC_FROST_TR_SECNONCE_BYTES],
                                 uint8_t pubnonce[static KG_MPC_FROST_TR_PUBNONCE_BYTES],
                                 const uint8_t *secshare, const uint8_t *pubshare,
                                 const uint8_t *thresh_pk_xonly, const uint8_t *msg, size_t msg_len,
                                 const uint8_t *extra_in, size_t extra_in_len)
{
    uint8_t rand[32];
    kg_err err = kg_crypto_random(rand, sizeof rand);
    if (err != KG_OK) {
        memset(secnonce, 0, KG_MPC_FROST_TR_SECNONCE_BYTES);
        memset(pubnonce, 0, KG_MPC_FROST_TR_PUBNONCE_BYTES);
        return err;
    }
    err = kg_mpc_frost_tr_nonce_gen_internal(secnonce, pubnonce, rand, secshare, pubshare,
                                             thresh_pk_xonly, msg, msg_len, extra_in, extra_in_len);
    kg_wipe(rand, sizeof rand);
    return err;
}

kg_err kg_mpc_frost_tr_nonce_agg(uint8_t aggnonce[static KG_MPC_FROST_TR_AGGNONCE_BYTES],
                                 kg_mpc_frost_tr_blame *blame,
                                 const uint8_t (*pubnonces)[KG_MPC_FROST_TR_PUBNONCE_BYTES], size_t u)
{
    memset(aggnonce, 0, KG_MPC_FROST_TR_AGGNONCE_BYTES);
    kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_NONE, KG_MPC_FROST_TR_NO_SIGNER);
    KG_ARG_CHECK(u == 0 || pubnonces != NULL);
    kg_err err = kg_frost_tr_ensure();
    if (err != KG_OK)
        return err;
    if (u == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "no public nonces to aggregate; pass at least one");
    /* R_j = R_1,j + ... + R_u,j for j = 1, 2; the first bad half blames its
     * signer (BIP 445 §Nonce Aggregation, j outer, i inner). */
    for (size_t j = 0; j < 2; j++) {
        kg_frost_tr_pt sum, p;
        memset(&sum, 0, sizeof sum);
        sum.inf = 1;
        for (size_t i = 0; i < u; i++) {
            if (!kg_frost_tr_pt_parse(&p, pubnonces[i] + 33 * j)) {
                memset(aggnonce, 0, KG_MPC_FROST_TR_AGGNONCE_BYTES);
                kg_frost_tr_blame(blame, KG_MPC_FROST_TR_BLAME_PUBNONCE, i);
                return kg_err_set(KG_ERR_BAD_INPUT, "invalid pubnonce from the signer at index %zu "
                                  "(half %zu is not a compressed point)", i, j + 1);
            }
            kg_frost_tr_pt_add(&sum, &sum, &p);
        }
        kg_frost_tr_pt_ser(aggnonce + 33 * j, &sum);
    }
    return KG_OK;
}

/* ------------------------------------------------------------- decoders */

kg_err kg_mpc_frost_tr_pubnonce_check(const uint8_t *in, size_t len)
{
    kg_frost_tr_pt p;
    kg_err err = kg_frost_tr_ensure();
    if (err != KG_OK)
        return err;
    if (in == NULL || len != KG_MPC_FROST_TR_PUBNONCE_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "a pubnonce is 66 bytes (got %zu)", len);
    if (!kg_frost_tr_pt_parse(&p, in) || !kg_frost_tr_pt_parse(&p, in + 33))
        return kg_err_set(KG_ERR_BAD_INPUT, "the pubnonce is not two compressed points");
    return KG_OK;
}

kg_err kg_mpc_frost_tr_aggnonce_check(const uint8_t *in, size_t len)
{
    kg_frost_tr_pt p;
    kg_err err = kg_frost_tr_ensure();
    if (err != KG_OK)
        return err;
    if (in == NULL || len != KG_MPC_FROST_TR_AGGNONCE_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "an aggnonce is 66 bytes (got %zu)", len);
    if (!kg_frost_tr_pt_parse_ext(&p, in) || !kg_frost_tr_pt_parse_ext(&p, in + 33))
        return kg_err_set(KG_ERR_BAD_INPUT, "the aggnonce is not two compressed points (or zeros)");
    return KG_OK;
}

kg_err kg_mpc_frost_tr_psig_check(const uint8_t *in, size_t len)
{
    if (in == NULL || len != KG_MPC_FROST_TR_PSIG_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "a partial signature is 32 bytes (got %zu)", len);
    if (!kg_frost_tr_sc_valid(in))
        return kg_err_set(KG_ERR_BAD_INPUT, "the partial signature is not below the group order");
    return KG_OK;
}
