/* libFuzzer target for the CGGMP21 reshare message decoders
 * (src/mpc/cggmp_reshare.c). Party 1 of a reshare of a 2-of-2 secp256k1 key
 * to the parties 1, 2, 3 (threshold 2; dealers 1 and 2) takes party 2's
 * messages from the input. The first byte picks the decoder:
 *   0  a round-1 commitment V (round 2)
 *   1  a decommitment (finish) with party 2's honest share; the harness
 *      gives party 1 V = commit(input) in round 2, so the input gets past
 *      the commitment check into the VSS and constant-term checks
 *   2  as 1, but the input is split: the first 133 bytes (a decommitment's
 *      size) are the decommitment, the rest the point-to-point share
 * Whatever the bytes, nothing may crash or leak; a share that finish
 * accepts must pass kg_mpc_cggmp_share_check and keep the public key. */
#include "../src/mpc/cggmp_int.h"
#include "kashguard/crypto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DECOM_LEN (1 + 2 + 2 * 33 + 32 + 32)
static const uint16_t dealers[2] = {1, 2}, news[3] = {1, 2, 3};
static const uint8_t session[] = "fuzz";
static kg_mpc_cggmp_share key[2];
static bool ready;

static kg_mpc_cggmp_reshare *party(uint16_t id, kg_mpc_cggmp_msg **o, size_t *n)
{
    kg_mpc_cggmp_reshare *st = NULL;
    if (kg_mpc_cggmp_reshare_new(&st, &key[id - 1], id, dealers, 2, news, 3, 2, session, 4) ||
        kg_mpc_cggmp_reshare_round1(st, o, n))
        abort();
    return st;
}

static void fuzz_round2(const uint8_t *d, size_t len)
{
    kg_mpc_cggmp_msg *o = NULL, *o2 = NULL;
    size_t n = 0, n2 = 0;
    uint16_t c;
    kg_mpc_cggmp_msg in = {.from = 2, .to = 0, .body = {(uint8_t *)d, len}};
    kg_mpc_cggmp_reshare *p1 = party(1, &o, &n);
    if (kg_mpc_cggmp_reshare_round2(p1, &in, 1, &o2, &n2, &c) == KG_OK && n2 != 3) abort();
    kg_mpc_cggmp_msgs_free(o, n);
    kg_mpc_cggmp_msgs_free(o2, n2);
    kg_mpc_cggmp_reshare_free(p1);
}

/* Party 1 at finish having accepted V = commit(decom) from party 2; in
 * share the honest share party 2 sent it (borrowed from *o2). */
static void fuzz_finish(const uint8_t *decom, size_t dlen, const uint8_t *share, size_t slen)
{
    kg_mpc_cggmp_msg *o1 = NULL, *o2 = NULL, *r1 = NULL, *r2 = NULL;
    size_t n1 = 0, n2 = 0, m1 = 0, m2 = 0;
    uint16_t c;
    uint8_t com[65] = {0x21};
    kg_mpc_cggmp_share out;
    kg_mpc_cggmp_reshare *p1 = party(1, &o1, &n1), *p2 = party(2, &o2, &n2);
    kg_mpc_cggmp_commit(com + 1, "kashguard/cggmp21/reshare-com/v1", kg_mpc_cggmp_reshare_sid(p1), 2, decom, dlen);
    kg_mpc_cggmp_msg v = {.from = 2, .to = 0, .body = {com, sizeof com}};
    if (kg_mpc_cggmp_reshare_round2(p1, &v, 1, &r1, &m1, &c) || kg_mpc_cggmp_reshare_round2(p2, o1, n1, &r2, &m2, &c))
        abort();
    kg_mpc_cggmp_msg in[2] = {{.from = 2, .to = 0, .body = {(uint8_t *)decom, dlen}},
                              {.from = 2, .to = 1, .body = {(uint8_t *)share, slen}}};
    for (size_t k = 0; !share && k < m2; k++)
        if (r2[k].to == 1) in[1].body = r2[k].body;
    if (kg_mpc_cggmp_reshare_finish(p1, in, 2, &out, &c) == KG_OK &&
        (kg_mpc_cggmp_share_check(&out) || !kg_mpc_point_eq(out.group, &out.pub, &key[0].pub)))
        abort();
    kg_wipe(&out, sizeof out);
    kg_mpc_cggmp_msgs_free(o1, n1);
    kg_mpc_cggmp_msgs_free(o2, n2);
    kg_mpc_cggmp_msgs_free(r1, m1);
    kg_mpc_cggmp_msgs_free(r2, m2);
    kg_mpc_cggmp_reshare_free(p1);
    kg_mpc_cggmp_reshare_free(p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (kg_crypto_init() || kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 2, NULL, key)) abort();
        ready = true;
    }
    if (size < 1) return 0;
    const uint8_t *d = data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0:
        fuzz_round2(d, len);
        break;
    case 1:
        fuzz_finish(d, len, NULL, 0);
        break;
    default: {
        size_t cut = len < DECOM_LEN ? len : DECOM_LEN;
        fuzz_finish(d, cut, d + cut, len - cut);
    }
    }
    return 0;
}
