/* libFuzzer target for the MPC envelope decoder (src/mpc/net_msg.c).
 *
 * Whatever kg_mpc_net_envelope_decode accepts must re-encode to the same 56
 * header bytes with the body pointing just after them; a rejection must
 * leave the output zeroed. An accepted point-to-point envelope is opened and
 * an accepted broadcast verified with fixed keys: both must fail cleanly
 * (the fuzzer cannot forge a tag or a signature), never crash. Run e.g.
 *     ./fuzz_mpc_envelope -max_len=4096 fuzz/corpus/fuzz_mpc_envelope */
#include <kashguard/mpc/net.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kg_secret *sk;
    static kg_mpc_net_pubkeys pk;
    if (sk == NULL && kg_mpc_net_keys_generate(&sk, &pk) != KG_OK)
        abort();
    kg_mpc_net_envelope e;
    if (kg_mpc_net_envelope_decode(&e, data, size) != KG_OK) {
        static const kg_mpc_net_envelope zero;
        if (memcmp(&e, &zero, sizeof e) != 0)
            abort();
        return 0;
    }
    uint8_t hdr[KG_MPC_NET_HEADER_BYTES];
    if (kg_mpc_net_header_encode(hdr, &e.h) != KG_OK || memcmp(hdr, data, sizeof hdr) != 0
        || e.body != data + KG_MPC_NET_HEADER_BYTES || e.h.body_len != size - KG_MPC_NET_HEADER_BYTES)
        abort();
    if (e.h.receiver != 0) {
        kg_secret *pt = NULL;
        if (kg_mpc_net_envelope_open(&pt, &e, sk, e.h.receiver, pk.box) == KG_OK)
            abort();
        kg_secret_free(pt);
    } else {
        const uint8_t *p = NULL;
        size_t n = 0;
        if (kg_mpc_net_envelope_verify(&p, &n, &e, pk.sign) == KG_OK)
            abort();
    }
    return 0;
}
