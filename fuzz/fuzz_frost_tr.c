/* libFuzzer target for the BIP 445 (frost-secp256k1-tr) wire decoders in
 * src/mpc/frost_tr.c: pubnonce (66 bytes), aggnonce (66), partial
 * signature (32), tweak (32), and NonceAgg over a list of received
 * pubnonces, which is what a coordinator runs on untrusted input.
 *
 * Properties checked (abort on violation): the length checks are exact; a
 * list of pubnonces aggregates iff every one passes the pubnonce decoder,
 * and the blame names the first bad one; an aggregate always passes the
 * aggnonce decoder. Any crash or sanitizer report is a bug. Run e.g.
 *     ./fuzz_frost_tr -max_len=1024 fuzz/corpus/fuzz_frost_tr */
#include <kashguard/mpc.h>

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kg_err pn = kg_mpc_frost_tr_pubnonce_check(data, size);
    (void)kg_mpc_frost_tr_aggnonce_check(data, size);
    kg_err ps = kg_mpc_frost_tr_psig_check(data, size);
    if ((size != 66 && pn == KG_OK) || (size != 32 && ps == KG_OK))
        abort();
    uint8_t tw[32];
    if (kg_mpc_frost_tr_tweak_parse(tw, data, size) == KG_OK && (size != 32 || memcmp(tw, data, 32) != 0))
        abort();

    /* NonceAgg over the input cut into 66-byte pubnonces (at most 8). */
    uint8_t list[8][66], agg[66];
    size_t u = size / 66 > 8 ? 8 : size / 66, first_bad = SIZE_MAX;
    for (size_t i = 0; i < u; i++) {
        memcpy(list[i], data + 66 * i, 66);
        if (first_bad == SIZE_MAX && kg_mpc_frost_tr_pubnonce_check(list[i], 66) != KG_OK)
            first_bad = i;
    }
    kg_mpc_frost_tr_blame blame;
    kg_err err = kg_mpc_frost_tr_nonce_agg(agg, &blame, (const uint8_t (*)[66])list, u);
    if (u == 0) {
        if (err == KG_OK) /* nothing to aggregate must be an error */
            abort();
        return 0;
    }
    if (first_bad == SIZE_MAX) {
        if (err != KG_OK || kg_mpc_frost_tr_aggnonce_check(agg, 66) != KG_OK)
            abort();
    } else if (err == KG_OK || blame.contrib != KG_MPC_FROST_TR_BLAME_PUBNONCE) {
        abort();
    }
    /* The blamed signer is within the list (BIP 445 scans first halves,
     * then second halves, so it need not be first_bad itself). */
    if (first_bad != SIZE_MAX && blame.signer_index >= u)
        abort();
    return 0;
}
