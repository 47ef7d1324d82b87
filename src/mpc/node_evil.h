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
 * KG_MPC_EVIL_HOOK(mode, statements...) runs the statements only when the
 * mode is selected; the helpers below are what the statements call. */
#ifndef KG_MPC_NODE_EVIL_H
#define KG_MPC_NODE_EVIL_H

#if defined(KG_MPC_EVIL) && KG_MPC_EVIL

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/mpc/group.h"

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
