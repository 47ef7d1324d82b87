/* libFuzzer target for the strict RLP decoder (src/chain/eth_rlp.c).
 *
 * Arbitrary bytes go to kg_chain_rlp_decode. Whatever it accepts must be
 * canonical, so re-encoding the tree with the builder must give the input
 * back byte for byte; whatever it rejects must come with a one-line
 * detail. Any crash, leak or sanitizer report is a bug. Run e.g.
 *     ./fuzz_rlp -max_len=4096 fuzz/corpus/fuzz_rlp */
#include <kashguard/chain.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(kg_chain_rlp_enc *e, const kg_chain_rlp_item *it)
{
    if (!it->is_list) {
        kg_chain_rlp_enc_bytes(e, it->payload, it->payload_len);
        return;
    }
    kg_chain_rlp_item el;
    size_t off = 0;
    kg_chain_rlp_enc_list_begin(e);
    while (kg_chain_rlp_list_next(&el, &off, it))
        reencode(e, &el);
    kg_chain_rlp_enc_list_end(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kg_chain_rlp_item it;
    kg_err e = kg_chain_rlp_decode(&it, data, size);
    if (e != KG_OK) {
        if (strchr(kg_err_detail(e), '\n') != NULL || it.raw != NULL)
            abort();
        return 0;
    }
    kg_bytes out = { 0 };
    kg_chain_rlp_enc enc;
    size_t n = 0;
    kg_chain_rlp_enc_init_bytes(&enc, &out);
    reencode(&enc, &it);
    if (kg_chain_rlp_enc_finish(&n, &enc) != KG_OK || n != size || memcmp(out.data, data, size) != 0)
        abort(); /* accepted but not canonical */
    kg_bytes_free(&out);
    uint64_t u;
    uint8_t w[32];
    (void)kg_chain_rlp_item_uint(&u, &it, "x");
    (void)kg_chain_rlp_item_u256(w, &it, "x");
    return 0;
}
