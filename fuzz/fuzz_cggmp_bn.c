/* libFuzzer target for the CGGMP21 integer and point wire forms
 * (src/mpc/cggmp_bn.c): kg_mpc_bn_read and kg_mpc_point_read, which every
 * proof decoder and aux-info message uses on bytes from other parties.
 * Byte 0 picks the reader (even: integers, odd: points; bit 1 the curve),
 * byte 1 the integer size limit, the rest is a sequence of values.
 *
 * Whatever the bytes: no crash, no leak, no read past the input; every
 * accepted integer is within the limit and writes back to exactly the
 * bytes it was read from (the encoding is canonical); a refused one leaves
 * *out NULL. Accepted points serialize back to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "../src/mpc/cggmp_zk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ints(const uint8_t *p, size_t len, size_t max)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, p, len);
    while (r.left) {
        const uint8_t *start = r.p;
        BIGNUM *x = (BIGNUM *)1;
        if (kg_mpc_bn_read(&r, &x, max, "fuzz")) {
            if (x) abort();
            return;
        }
        size_t used = (size_t)(r.p - start);
        if (used - 4 > max || used - 4 > KG_CGGMP_BN_MAX_BYTES) abort();
        kg_mpc_node_wr w = {0};
        kg_mpc_bn_write(&w, x);
        if (kg_mpc_node_wr_done(&w) || w.b.len != used || memcmp(w.b.data, start, used)) abort();
        kg_bytes_free(&w.b);
        BN_free(x);
    }
}

static void points(kg_mpc_group_id g, const uint8_t *p, size_t len)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, p, len);
    size_t pl = kg_mpc_group_point_len(g);
    while (r.left) {
        const uint8_t *start = r.p;
        kg_mpc_point pt;
        if (kg_mpc_point_read(&r, g, &pt, "fuzz")) return;
        uint8_t back[KG_MPC_POINT_MAX_BYTES];
        if (kg_mpc_point_serialize(g, back, &pt) || memcmp(back, start, pl)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    if (data[0] & 1)
        points(data[0] & 2 ? KG_MPC_GROUP_P256 : KG_MPC_GROUP_SECP256K1, data + 2, size - 2);
    else
        ints(data + 2, size - 2, (size_t)data[1] * 8);
    return 0;
}
