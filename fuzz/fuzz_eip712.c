/* libFuzzer target for EIP-712 typed data from JSON
 * (src/chain/eth_eip712_json.c and the hashing in eth_eip712.c).
 *
 * Arbitrary bytes are parsed as JSON and hashed as typed data. Malformed
 * typed data must give KG_ERR_BAD_INPUT with a one-line detail and a zero
 * digest; nothing may crash, leak or recurse without bound. Run e.g.
 *     ./fuzz_eip712 -max_len=8192 fuzz/corpus/fuzz_eip712 */
#include <kashguard/chain.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL)
        return 0;
    uint8_t digest[32], ds[32];
    kg_err e = kg_chain_eth_eip712_json_hash(digest, ds, j);
    if (e != KG_OK) {
        if (strchr(kg_err_detail(e), '\n') != NULL)
            abort();
        for (int i = 0; i < 32; i++)
            if (digest[i] != 0)
                abort();
    }
    json_decref(j);
    return 0;
}
