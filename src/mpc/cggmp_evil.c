/* Test-only CGGMP21 cheats of `kashguard-evil` (src/mpc/node_evil.h lists
 * the modes). The tests need a party that breaks each phase of CGGMP21
 * (eprint 2021/060: Fig. 6 aux info, Fig. 7 presigning, Fig. 8 signing)
 * in the way the paper's checks must catch, so that they can see the
 * honest parties name it. The production build compiles this file to
 * nothing: CMake defines KG_MPC_EVIL only for the kg_mpc_evil objects. */
#if defined(KG_MPC_EVIL) && KG_MPC_EVIL

#include <openssl/bn.h>
#include "cggmp_int.h"
#include "node_evil.h"

static BIGNUM *pool_p; /* cg-bad-paillier: the pool prime replaced (one aux at a time in tests) */

void kg_mpc_evil_cg_primes(BIGNUM *p)
{
    BIGNUM *p1 = BN_new(), *add = BN_new(), *rem = BN_new();
    int bits = BN_num_bits(p), ok = p1 && add && rem && BN_set_word(add, 4) && BN_set_word(rem, 1);
    /* The top two bits set, like the pool's primes, so that N keeps its full
     * size and only Πmod (not the size check) can refuse it. */
    do ok = ok && BN_generate_prime_ex(p1, bits, 0, add, rem, NULL);
    while (ok && !BN_is_bit_set(p1, bits - 2));
    if (ok) {
        BN_free(pool_p);
        pool_p = BN_dup(p);
        BN_copy(p, p1); /* N = p1·q: p1 = 1 mod 4, so N is not a Paillier-Blum modulus */
    }
    BN_free(p1);
    BN_free(add);
    BN_free(rem);
}

void kg_mpc_evil_cg_rped(kg_mpc_rped_sk *rsk)
{
    /* s' = −s: −1 has Jacobi symbol +1 but is a non-residue mod a Blum N̂,
     * while <t> lies in the quadratic residues, so s' is not in <t>. */
    if (rsk->pub.s && rsk->pub.mod.n) BN_sub(rsk->pub.s, rsk->pub.mod.n, rsk->pub.s);
}

kg_err kg_mpc_evil_cg_mod_prove(kg_mpc_zk_mod *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_sk *sk)
{
    kg_mpc_paillier_sk fake = *sk; /* shallow: only the factor the prover reads changes */
    if (pool_p) fake.p = pool_p;
    return kg_mpc_zk_mod_prove(pf, ctx, &fake);
}

void kg_mpc_evil_cg_enc(kg_mpc_zk_enc *pf)
{
    if (pf->z1) BN_add_word(pf->z1, 1);
}

void kg_mpc_evil_cg_mta(const kg_mpc_paillier_pk *pk, BIGNUM *D, const BIGNUM *K)
{
    if (kg_mpc_paillier_add(pk, D, D, K) != KG_OK) BN_add_word(D, 1);
}

#else
typedef int kg_mpc_cggmp_evil_unused; /* ISO C: a translation unit needs a declaration */
#endif
