/* libFuzzer target for raw Ethereum transaction decoding
 * (src/chain/eth_tx_decode.c), signed and unsigned forms.
 *
 * A decoded transaction must re-encode to exactly the input (the decoder
 * accepts only canonical encodings), a signed one must have a sender and
 * a hash, and a rejected one must leave the outputs zeroed. Run e.g.
 *     ./fuzz_eth_tx -max_len=8192 fuzz/corpus/fuzz_eth_tx */
#include <kashguard/chain.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned flags[2] = { 0, KG_CHAIN_ETH_DECODE_UNSIGNED };
    for (int f = 0; f < 2; f++) {
        kg_chain_eth_tx tx;
        uint8_t sender[20], h[32];
        kg_err e = kg_chain_eth_tx_decode(&tx, sender, data, size, flags[f]);
        if (e != KG_OK) {
            for (int i = 0; i < 20; i++)
                if (sender[i] != 0)
                    abort();
            if (tx.owned_ != NULL || tx.is_signed)
                abort();
            continue;
        }
        uint8_t *re = malloc(size ? size : 1);
        size_t n = 0;
        if (re == NULL)
            abort();
        if (kg_chain_eth_tx_encoded_len(&tx) != size || kg_chain_eth_tx_encode(re, size, &n, &tx) != KG_OK ||
            n != size || memcmp(re, data, size) != 0)
            abort();
        free(re);
        if (tx.is_signed && kg_chain_eth_tx_hash(h, &tx) != KG_OK)
            abort();
        if (kg_chain_eth_tx_signing_hash(h, &tx) != KG_OK)
            abort();
        kg_chain_eth_tx_free(&tx);
    }
    return 0;
}
