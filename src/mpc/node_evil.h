/* Test-only cheating hooks of `kashguard mpc-node`.
 *
 * The tests need a party that misbehaves in each way the protocol must
 * catch, to check that the honest parties and the coordinator name it. Such
 * code must never be in the production binary, so every hook expands to
 * nothing unless the file is compiled with -DKG_MPC_EVIL=1, which CMake
 * does only for the test executable `kashguard-evil` (CMakeLists.txt). In
 * that build the environment variable KG_MPC_EVIL=<mode> picks the cheat:
 *
 *   bad-proof      the round-1 proof of knowledge is corrupted
 *   bad-share      the round-2 share to the first other party is corrupted
 *                  (and then sealed correctly, so only its receiver sees it)
 *   equivocate     the DKG confirmation carries a second, differently signed
 *                  round-1 broadcast instead of the one that was relayed
 *   bad-result     DKG finish reports a wrong group key
 *   bad-sig-share  signing answers a wrong signature share (also SIGN_PRE
 *                  and the BIP 445 psig)
 *   stop-tr-sign   the node stops itself (SIGSTOP) on a BIP 445 round-2
 *                  request: a node that fails mid-session, for failover
 *
 * CGGMP21 (threshold ECDSA) modes, one per phase that must catch them
 * (src/mpc/cggmp_evil.c; hooks in cggmp_aux.c, cggmp_presign.c and
 * node_cggmp_sign.c):
 *   cg-bad-paillier  aux: the Paillier modulus is p'·q with p' = 1 mod 4
 *                    (not Paillier-Blum); the honest Πmod code is run as if
 *                    it were the pool's p·q -> Πmod fails at every peer
 *   cg-bad-rped      aux: ring-Pedersen s = -t^λ, not in <t>; the honest
 *                    Πprm code is run on it -> Πprm fails at every peer
 *   cg-bad-enc       presign round 1: each Πenc is tampered (z1 + 1)
 *   cg-bad-mta       presign round 2: D_{j,i} is made with γ + 1 while
 *                    Πaff-g is proven for γ -> Πaff-g fails at every peer
 *   cg-bad-delta     presign round 3: δ_i + 1; every proof passes, the δ
 *                    check fails and only the identification (CGGMP_BLAME)
 *                    names the party
 *   cg-bad-sigma     signing: σ_i + 1 (identification by CGGMP_BLAME)
 *
 * KG_MPC_EVIL_HOOK(mode, statements...) runs the statements only when the
 * mode is selected; the helpers below are what the statements call. */
#ifndef KG_MPC_NODE_EVIL_H
#define KG_MPC_NODE_EVIL_H

#if defined(KG_MPC_EVIL) && KG_MPC_EVIL

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/mpc/group.h"
#include "cggmp_zk.h"

static inline bool kg_mpc_evil_is(const char *mode)
{
    const char *e = getenv("KG_MPC_EVIL");
    return e && !strcmp(e, mode);
}

/* s += 1: a scalar that is valid but wrong. */
static inline void kg_mpc_evil_bump(kg_mpc_group_id g, kg_mpc_scalar *s)
{
    uint8_t one_b[KG_MPC_SCALAR_BYTES] = {0};
    kg_mpc_scalar one;
    /* the encoding of 1: little-endian for the 25519 groups, else big-endian */
    one_b[g == KG_MPC_GROUP_ED25519 || g == KG_MPC_GROUP_RISTRETTO255 ? 0 : KG_MPC_SCALAR_BYTES - 1] = 1;
    if (kg_mpc_scalar_from_bytes(g, &one, one_b, sizeof one_b) == KG_OK) kg_mpc_scalar_add(g, s, s, &one);
}

/* CGGMP21 cheats (cggmp_evil.c; compiled into kashguard-evil only). */
/** cg-bad-paillier: replace p by a fresh prime of its size that is 1 mod
 *  4 (the pool's p is remembered for the Πmod lie below). */
void kg_mpc_evil_cg_primes(BIGNUM *p);
/** cg-bad-rped: s = N̂ - s (−1 is not in <t> for a Blum N̂). */
void kg_mpc_evil_cg_rped(kg_mpc_rped_sk *rsk);
/** cg-bad-paillier: Πmod by the honest prover for the claimed N, with the
 *  pool's p in place of the real factor p'. */
kg_err kg_mpc_evil_cg_mod_prove(kg_mpc_zk_mod *pf, const kg_mpc_zk_ctx *ctx, const kg_mpc_paillier_sk *sk);
/** cg-bad-enc: z1 + 1 in a Πenc. */
void kg_mpc_evil_cg_enc(kg_mpc_zk_enc *pf);
/** cg-bad-mta: D = D ⊕ K (D then holds (γ+1)·k + β). */
void kg_mpc_evil_cg_mta(const kg_mpc_paillier_pk *pk, BIGNUM *D, const BIGNUM *K);

#define KG_MPC_EVIL_HOOK(mode, ...)              \
    do {                                         \
        if (kg_mpc_evil_is(mode)) { __VA_ARGS__; } \
    } while (0)

#else

#define KG_MPC_EVIL_HOOK(mode, ...) \
    do {                            \
    } while (0)

#endif

#endif
