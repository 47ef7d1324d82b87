/* libFuzzer target for the FROST wire parsers (src/mpc/frost.c,
 * src/mpc/frost_dkg.c) and the group decoders under them (group.c).
 *
 * Byte 0 picks the group (low 2 bits) and the message kind (next 2 bits):
 * signing commitment, signature share, DKG round-1 message, or a bare
 * element + scalar. Whatever a parser accepts must re-serialize to the input
 * byte for byte (the encodings are canonical), and an accepted DKG round-1
 * message must survive the proof check without a crash. Rejections must
 * leave the output zeroed. Run e.g.
 *     ./fuzz_frost_msg -max_len=9000 fuzz/corpus/fuzz_frost_msg */
#include <kashguard/mpc/frost.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_zero(const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            abort();
}

static void commitment(kg_mpc_group_id g, const uint8_t *in, size_t len)
{
    kg_mpc_frost_commitment c;
    uint8_t out[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
    size_t out_len = 0;
    if (kg_mpc_frost_commitment_parse(g, &c, in, len) != KG_OK) {
        check_zero(&c, sizeof c);
        return;
    }
    if (kg_mpc_frost_commitment_serialize(g, out, &out_len, &c) != KG_OK || out_len != len
        || memcmp(out, in, len) != 0)
        abort();
}

static void sig_share(kg_mpc_group_id g, const uint8_t *in, size_t len)
{
    kg_mpc_frost_sig_share s;
    uint8_t out[KG_MPC_FROST_SIG_SHARE_BYTES];
    if (kg_mpc_frost_sig_share_parse(g, &s, in, len) != KG_OK) {
        check_zero(&s, sizeof s);
        return;
    }
    kg_mpc_frost_sig_share_serialize(out, &s);
    if (len != sizeof out || memcmp(out, in, len) != 0)
        abort();
}

static void round1(kg_mpc_group_id g, const uint8_t *in, size_t len)
{
    static kg_mpc_frost_dkg_round1 m;
    static uint8_t out[KG_MPC_FROST_DKG_ROUND1_MAX_BYTES];
    size_t out_len = 0;
    if (kg_mpc_frost_dkg_round1_parse(g, &m, in, len) != KG_OK) {
        check_zero(&m, sizeof m);
        return;
    }
    if (kg_mpc_frost_dkg_round1_serialize(g, out, &out_len, &m) != KG_OK || out_len != len
        || memcmp(out, in, len) != 0)
        abort();
    if (kg_mpc_frost_dkg_round1_check(g, m.t, &m) == KG_OK)
        abort(); /* a random proof of knowledge must not verify */
}

static void element(kg_mpc_group_id g, const uint8_t *in, size_t len)
{
    kg_mpc_point p;
    kg_mpc_scalar s;
    size_t pl = kg_mpc_group_point_len(g);
    if (kg_mpc_point_deserialize(g, &p, in, len < pl ? len : pl) == KG_OK) {
        uint8_t out[KG_MPC_POINT_MAX_BYTES];
        if (kg_mpc_point_serialize(g, out, &p) != KG_OK || memcmp(out, in, pl) != 0)
            abort();
        kg_mpc_point_add(g, &p, &p, &p);
    }
    if (len >= pl + 32 && kg_mpc_scalar_from_bytes(g, &s, in + pl, 32) == KG_OK)
        kg_mpc_point_base_mul(g, &p, &s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    kg_mpc_group_id g = (kg_mpc_group_id)((data[0] & 3) + 1);
    switch ((data[0] >> 2) & 3) {
    case 0: commitment(g, data + 1, size - 1); break;
    case 1: sig_share(g, data + 1, size - 1); break;
    case 2: round1(g, data + 1, size - 1); break;
    default: element(g, data + 1, size - 1); break;
    }
    return 0;
}
