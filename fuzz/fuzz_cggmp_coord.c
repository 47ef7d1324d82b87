/* libFuzzer target for the node answers the CGGMP21 coordinator parses
 * (coord_cggmp.c, coord_cggmp_sign.c; untrusted: a node may be malicious
 * or compromised): kg_mpc_co_cg_finish_read (a phase's finish answer),
 * kg_mpc_co_cg_info_read (CGGMP_INFO) and kg_mpc_co_cg_sign_read
 * (CGGMP_SIGN). Byte 0 picks the parser (mod 3), byte 1 the group
 * (secp256k1 or P-256) and, for finish, the phase (1..4), byte 2 the
 * number of parties (2..65); the rest is the body.
 *
 * Whatever the bytes: no crash, no leak, no read past the body; a refused
 * answer leaves the outputs empty; an accepted finish answer's result is
 * exactly the phase's result length inside the body; an accepted INFO
 * never reports more entries than its cap, each with at most 64 signers
 * (and R only from a well-formed tail);
 * an accepted SIGN answer is 32 + P or 32 + 2P bytes. */
#include <stdlib.h>
#include <string.h>

#include "kashguard/mpc/node.h"
#include "../src/mpc/coord_cggmp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kg_mpc_co_cg_presig ents[16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    kg_mpc_group_id g = data[1] & 1 ? KG_MPC_GROUP_P256 : KG_MPC_GROUP_SECP256K1;
    uint16_t phase = (uint16_t)(1 + (data[1] >> 1) % 4);
    size_t n = 2 + data[2] % 64, len = size - 3, pl = kg_mpc_group_point_len(g);
    const uint8_t *body = data + 3;
    if (data[0] % 3 == 0) {
        const uint8_t *res = (const uint8_t *)1, *conf = (const uint8_t *)1;
        size_t cl = 7;
        kg_err err = kg_mpc_co_cg_finish_read(phase, g, n, 1, body, len, &res, &conf, &cl);
        if (err && (res || conf || cl)) abort();
        if (!err && (res != body + 2 || conf < res + kg_mpc_co_cg_result_len(phase, g, n) || conf + cl != body + len))
            abort();
    } else if (data[0] % 3 == 1) {
        kg_mpc_key k = {.key_id = "mpc-fuzz", .g = g, .t = 2, .n = (unsigned)n, .epoch = 0, .ecdsa = true};
        size_t cnt = 99;
        kg_err err = kg_mpc_co_cg_info_read(&k, 1, body, len, ents, &cnt, 16);
        if (err && cnt) abort();
        for (size_t i = 0; !err && i < cnt; i++)
            if (cnt > 16 || ents[i].ns > KG_MPC_CO_CG_MAXP) abort();
    } else {
        kg_mpc_scalar sigma;
        kg_mpc_point child, R;
        bool has_R = true;
        kg_err err = kg_mpc_co_cg_sign_read(g, 1, body, len, &sigma, &child, &R, &has_R);
        if (err && has_R) abort();
        if (!err && len != 32 + pl && len != 32 + 2 * pl) abort();
    }
    return 0;
}
