/* libFuzzer target for the KEY_INFO answer (mpc/node.h), which the
 * coordinator's RESYNC (coord_resync.c) reads from every node of its
 * address book: kg_mpc_co_keyinfo_answer_read. The first byte picks the
 * suite, the second the node id expected, the rest is the body.
 *
 * Whatever the bytes: no crash, no leak, no read past the body; an
 * accepted answer is exactly 2 + 4 + point-length bytes, names the node
 * expected and its point serializes back to the same bytes; a refused one
 * leaves the outputs zeroed. */
#include <kashguard/mpc/node.h>
#include "../src/mpc/node_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const kg_mpc_group_id groups[] = {KG_MPC_GROUP_ED25519, KG_MPC_GROUP_RISTRETTO255, KG_MPC_GROUP_P256,
                                         KG_MPC_GROUP_SECP256K1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    kg_mpc_group_id g = groups[data[0] % 4];
    uint16_t want = data[1];
    const uint8_t *body = data + 2;
    size_t len = size - 2;
    uint32_t epoch = 1;
    kg_mpc_point pub;
    memset(&pub, 0xAA, sizeof pub);
    size_t pl = kg_mpc_group_point_len(g);
    kg_err err = kg_mpc_co_keyinfo_answer_read(&epoch, &pub, want, g, body, len);
    if (err) {
        static const kg_mpc_point zero;
        if (epoch != 0 || memcmp(&pub, &zero, sizeof pub)) abort();
        return 0;
    }
    if (len != 6 + pl || ((uint16_t)(body[0] << 8 | body[1])) != want) abort();
    uint32_t e = (uint32_t)body[2] << 24 | (uint32_t)body[3] << 16 | (uint32_t)body[4] << 8 | body[5];
    if (e != epoch) abort();
    uint8_t back[KG_MPC_POINT_MAX_BYTES];
    if (kg_mpc_point_serialize(g, back, &pub) || memcmp(back, body + 6, pl)) abort();
    return 0;
}
