/* Private to the four CGGMP21 range proofs (zk_enc.c, zk_affg.c,
 * zk_logstar.c, zk_mulstar.c): the response arithmetic and the verifier
 * equations they share, defined once in zk_enc.c so that each proof file
 * reads as its paper figure. Not part of the cggmp_zk.h contract. */
#ifndef KG_MPC_ZK_RANGE_INT_H
#define KG_MPC_ZK_RANGE_INT_H

#include "cggmp_zk.h"

/** r = (1+N)^m mod N^2 for a signed m, as 1 + (m mod N)·N (the binomial
 *  expansion: no exponentiation). KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_zk_one_plus_n(BIGNUM *r, const BIGNUM *m, const kg_mpc_paillier_pk *pk) KG_WARN_UNUSED;
/** z = a + e·x over the integers (the responses z_i = mask + e·witness);
 *  z gets BN_FLG_CONSTTIME. KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_zk_affine(BIGNUM *z, const BIGNUM *a, const BIGNUM *e, const BIGNUM *x) KG_WARN_UNUSED;
/** w = r·ρ^e mod m (the Paillier nonce response; ρ secret).
 *  KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_zk_nonce_resp(BIGNUM *w, const BIGNUM *r, const BIGNUM *rho, const BIGNUM *e,
                            const kg_mpc_mod *m) KG_WARN_UNUSED;
/** *ok = (s^z1 · t^z2 == C · S^e mod N̂) for public z1, z2, e.
 *  KG_OK | KG_ERR_BAD_INPUT | KG_ERR_NOMEM. */
kg_err kg_mpc_zk_rped_eq(bool *ok, const kg_mpc_rped *aux, const BIGNUM *z1, const BIGNUM *z2,
                         const BIGNUM *C, const BIGNUM *S, const BIGNUM *e) KG_WARN_UNUSED;
/** *ok = (base^zb · (1+N)^zm · w^N == A · K^e mod N^2); base (with zb)
 *  and zm may each be NULL (factor left out). KG_OK | KG_ERR_BAD_INPUT |
 *  KG_ERR_NOMEM. */
kg_err kg_mpc_zk_paillier_eq(bool *ok, const kg_mpc_paillier_pk *pk, const BIGNUM *base, const BIGNUM *zb,
                             const BIGNUM *zm, const BIGNUM *w, const BIGNUM *A, const BIGNUM *K,
                             const BIGNUM *e) KG_WARN_UNUSED;
/** *ok = (z·B == Y + e·X); B NULL: the generator. KG_OK | KG_ERR_NOMEM. */
kg_err kg_mpc_zk_point_eq(bool *ok, kg_mpc_group_id g, const BIGNUM *z, const kg_mpc_point *B,
                          const kg_mpc_point *Y, const BIGNUM *e, const kg_mpc_point *X) KG_WARN_UNUSED;
/** Absorb the verifier's ring-Pedersen parameters (N̂, s, t). */
void kg_mpc_zk_fs_aux(kg_mpc_fs *fs, const kg_mpc_rped *aux);
/** KG_OK when x is a unit mod n, else KG_ERR_BAD_INPUT "<proof>: <what>
 *  is not a unit (party <p>)". */
kg_err kg_mpc_zk_need_unit(const BIGNUM *x, const BIGNUM *n, const char *proof, const char *what,
                           uint16_t party) KG_WARN_UNUSED;
/** KG_OK for secp256k1/P-256 (*q their order), else KG_ERR_ARG. */
kg_err kg_mpc_zk_order(kg_mpc_group_id g, const BIGNUM **q, const char *proof) KG_WARN_UNUSED;
/* The shared first message of Πenc and Πlog* for witness w (in ±2^ℓ):
 * masks α, μ, r, γ and S = s^w t^μ, A = enc_N0(α; r), C = s^α t^γ.
 * proof and witness name the caller's proof and witness in errors. */
kg_err kg_mpc_zk_enc_commit(kg_mpc_zk_enc_pre *pre, const kg_mpc_rped *aux, const kg_mpc_paillier_pk *n0,
                            const BIGNUM *w, const char *proof, const char *witness) KG_WARN_UNUSED;

#endif
