/* libFuzzer target for the CGGMP_INFO answer with the public tail that the
 * coordinator's resync parses (kg_mpc_co_cg_info_pub_read,
 * coord_cggmp_resync.c; untrusted: a node may be malicious or
 * compromised). Byte 0 picks the group (bit 0: P-256, else secp256k1);
 * the rest is the body.
 *
 * Whatever the bytes: no crash, no leak, no read past the body; a refused
 * answer leaves the output zeroed; an accepted one has 2 <= t <= n <= 64,
 * ascending non-zero ids, and a body long enough for the fixed head and
 * its public tail. */
#include <stdlib.h>
#include <string.h>

#include "kashguard/mpc/node.h"
#include "../src/mpc/coord_cggmp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kg_mpc_co_cg_info_pub out;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    kg_mpc_group_id g = data[0] & 1 ? KG_MPC_GROUP_P256 : KG_MPC_GROUP_SECP256K1;
    memset(&out, 0xa5, sizeof out);
    kg_err err = kg_mpc_co_cg_info_pub_read(g, 1, data + 1, size - 1, &out);
    if (err) {
        static const kg_mpc_co_cg_info_pub zero;
        if (memcmp(&out, &zero, sizeof out)) abort();
        return 0;
    }
    if (out.t < 2 || out.t > out.n || out.n > KG_MPC_CO_CG_MAXP) abort();
    for (unsigned i = 0; i < out.n; i++)
        if (out.ids[i] == 0 || (i && out.ids[i] <= out.ids[i - 1])) abort();
    /* the tail: t, n, ids, group key, chain code, n points */
    size_t tail = 4 + 2 * (size_t)out.n + 32 + (1 + (size_t)out.n) * kg_mpc_group_point_len(g);
    if (size - 1 < 4 + 65 + 2 + 2 + tail) abort();
    return 0;
}
