/* libFuzzer target for the CGGMP21 keygen message decoders and the share
 * and aux sealed-storage decoders (src/mpc/cggmp_keygen.c,
 * cggmp_common.c). The first input byte picks the decoder:
 *   0  kg_mpc_cggmp_share_decode      1  kg_mpc_cggmp_aux_decode
 *   2  a keygen round-1 commitment (party 2 -> party 1, round 2)
 *   3  a keygen decommitment (round 3); the harness commits to the fuzzed
 *      body as party 2's V so the parser past the V check is reached
 *   4  keygen round-3 messages (finish): the rest split into a broadcast
 *      (first 33 bytes) and a point-to-point body
 * Party 1 of a fresh 2-of-2 secp256k1 keygen handles the bytes. Whatever
 * they are, nothing may crash or leak, and a decoded share must pass
 * kg_mpc_cggmp_share_check. (The aux-info round messages are not fuzzed
 * here: a state at their round costs a Paillier key and a Πprm per input;
 * their proof readers have their own targets.) */
#include "../src/mpc/cggmp_int.h"
#include "kashguard/crypto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t ids[2] = {1, 2};
static const uint8_t session[] = "fuzz";
static bool ready;

/* Party 1 at round `round`, with party 2's previous messages in out2. */
static kg_mpc_cggmp_keygen *party1_at(int round, kg_mpc_cggmp_keygen **p2, kg_mpc_cggmp_msg **out2, size_t *n2)
{
    kg_mpc_cggmp_keygen *p1 = NULL;
    kg_mpc_cggmp_msg *o1 = NULL, *t1 = NULL, *t2 = NULL;
    size_t n1 = 0, m1 = 0, m2 = 0;
    uint16_t c;
    if (kg_mpc_cggmp_keygen_new(&p1, KG_MPC_GROUP_SECP256K1, 1, 2, ids, 2, session, 4) ||
        kg_mpc_cggmp_keygen_new(p2, KG_MPC_GROUP_SECP256K1, 2, 2, ids, 2, session, 4) ||
        kg_mpc_cggmp_keygen_round1(p1, &o1, &n1) || kg_mpc_cggmp_keygen_round1(*p2, out2, n2))
        abort();
    for (int r = 3; r <= round; r++) {
        kg_err e1 = r == 3 ? kg_mpc_cggmp_keygen_round2(p1, *out2, *n2, &t1, &m1, &c)
                           : kg_mpc_cggmp_keygen_round3(p1, *out2, *n2, &t1, &m1, &c);
        kg_err e2 = r == 3 ? kg_mpc_cggmp_keygen_round2(*p2, o1, n1, &t2, &m2, &c)
                           : kg_mpc_cggmp_keygen_round3(*p2, o1, n1, &t2, &m2, &c);
        if (e1 || e2) abort();
        kg_mpc_cggmp_msgs_free(o1, n1);
        kg_mpc_cggmp_msgs_free(*out2, *n2);
        o1 = t1, n1 = m1, *out2 = t2, *n2 = m2;
    }
    kg_mpc_cggmp_msgs_free(o1, n1);
    return p1;
}

/* Party 1 at round 3 having accepted V = commit(body) from party 2. */
static kg_mpc_cggmp_keygen *party1_committed(const uint8_t *body, size_t len)
{
    kg_mpc_cggmp_keygen *p1 = NULL;
    kg_mpc_cggmp_msg *o = NULL;
    size_t n = 0;
    uint16_t c;
    uint8_t sid[64], com[65] = {0x11};
    if (kg_mpc_cggmp_sid(sid, "keygen", KG_MPC_GROUP_SECP256K1, session, 4, NULL, NULL, ids, 2)) abort();
    kg_mpc_cggmp_commit(com + 1, "kashguard/cggmp21/keygen-com/v1", sid, 2, body, len);
    kg_mpc_cggmp_msg in = {.from = 2, .to = 0, .body = {com, sizeof com}};
    if (kg_mpc_cggmp_keygen_new(&p1, KG_MPC_GROUP_SECP256K1, 1, 2, ids, 2, session, 4) ||
        kg_mpc_cggmp_keygen_round1(p1, &o, &n))
        abort();
    kg_mpc_cggmp_msgs_free(o, n);
    if (kg_mpc_cggmp_keygen_round2(p1, &in, 1, &o, &n, &c)) abort();
    kg_mpc_cggmp_msgs_free(o, n);
    return p1;
}

static void fuzz_keygen(int mode, const uint8_t *d, size_t len)
{
    kg_mpc_cggmp_keygen *p1 = NULL, *p2 = NULL;
    kg_mpc_cggmp_msg in[2] = {{.from = 2, .to = 0, .body = {(uint8_t *)d, len}}}, *out = NULL, *o2 = NULL;
    size_t n_out = 0, n2 = 0;
    uint16_t c = 0;
    kg_mpc_cggmp_share sh;
    if (mode == 2) {
        p1 = party1_at(2, &p2, &o2, &n2);
        (void)kg_mpc_cggmp_keygen_round2(p1, in, 1, &out, &n_out, &c);
    } else if (mode == 3) {
        p1 = party1_committed(d, len);
        (void)kg_mpc_cggmp_keygen_round3(p1, in, 1, &out, &n_out, &c);
    } else {
        p1 = party1_at(4, &p2, &o2, &n2);
        size_t cut = len < 33 ? len : 33;
        in[0].body.len = cut;
        in[1] = (kg_mpc_cggmp_msg){.from = 2, .to = 1, .body = {(uint8_t *)d + cut, len - cut}};
        if (kg_mpc_cggmp_keygen_finish(p1, in, 2, &sh, &c) == KG_OK && kg_mpc_cggmp_share_check(&sh)) abort();
    }
    kg_mpc_cggmp_msgs_free(out, n_out);
    kg_mpc_cggmp_msgs_free(o2, n2);
    kg_mpc_cggmp_keygen_free(p1);
    kg_mpc_cggmp_keygen_free(p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        if (kg_crypto_init()) abort();
        ready = true;
    }
    if (size < 1) return 0;
    const uint8_t *d = data + 1;
    size_t len = size - 1;
    switch (data[0] % 5) {
    case 0: {
        kg_mpc_cggmp_share s;
        if (kg_mpc_cggmp_share_decode(&s, d, len) == KG_OK && kg_mpc_cggmp_share_check(&s)) abort();
        break;
    }
    case 1: {
        kg_mpc_cggmp_aux *a = NULL;
        if (kg_mpc_cggmp_aux_decode(&a, d, len) == KG_OK && !a) abort();
        kg_mpc_cggmp_aux_free(a);
        break;
    }
    default:
        fuzz_keygen(data[0] % 5, d, len);
    }
    return 0;
}
