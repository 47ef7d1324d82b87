/* libFuzzer target: the Bitcoin transaction parser (kg_chain_btc_tx_parse).
 *
 * Raw transactions come from PSBTs, RPC nodes and API clients, so every
 * count and length in them is attacker data. For each input the parser
 * must return KG_OK or KG_ERR_BAD_INPUT without reading out of bounds,
 * overflowing or leaking (ASan/UBSan), and when it accepts the bytes:
 *  - serializing with witness must give back exactly the same bytes
 *    (the parser accepts only canonical encodings);
 *  - the sizes, weight, txid/wtxid and every sighash algorithm on input 0
 *    must run cleanly on the parsed transaction.
 * Anything else aborts. Storage is fixed and small (64 inputs/outputs,
 * 256 witness items) so capacity errors are exercised too.
 *
 * Build:
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DKG_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_btc_tx
 *   build-fuzz/fuzz_btc_tx fuzz/corpus/fuzz_btc_tx -max_total_time=60 */
#include <stdlib.h>
#include <string.h>

#include <kashguard/chain.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kg_chain_btc_txin in[64];
    static kg_chain_btc_txout out[64];
    static kg_chain_btc_bytes items[256];
    kg_chain_btc_tx tx;
    kg_chain_btc_tx_init(&tx, in, 64, out, 64, items, 256, NULL, 0);
    kg_err e = kg_chain_btc_tx_parse(&tx, data, size);
    if (e != KG_OK) {
        if (e != KG_ERR_BAD_INPUT || tx.input_count != 0 || tx.output_count != 0)
            abort();
        return 0;
    }
    uint8_t *again = malloc(size + 1);
    size_t n = 0;
    if (again == NULL)
        return 0;
    if (kg_chain_btc_tx_serialize(again, size + 1, &n, &tx, true) != KG_OK || n != size || memcmp(again, data, size) != 0)
        abort();
    free(again);
    if (kg_chain_btc_tx_weight(&tx) < 4 * kg_chain_btc_tx_size(&tx, false))
        abort();
    uint8_t h[32];
    kg_chain_btc_tx_txid(h, &tx);
    kg_chain_btc_tx_wtxid(h, &tx);
    const kg_chain_btc_bytes *sc = &tx.outputs[0].script;
    for (uint32_t ht = 0; ht < 4; ht++) {
        if (kg_chain_btc_sighash_legacy(h, &tx, 0, sc->data, sc->len, ht | (ht & 1 ? 0x80u : 0)) != KG_OK)
            abort();
        if (kg_chain_btc_sighash_segwit_v0(h, &tx, 0, sc->data, sc->len, 1000, ht) != KG_OK)
            abort();
    }
    if (tx.input_count <= 64) {
        kg_chain_btc_txout spent[64];
        for (size_t i = 0; i < tx.input_count; i++)
            spent[i] = tx.outputs[0];
        (void)kg_chain_btc_sighash_taproot(h, &tx, 0, spent, tx.input_count, 0x83);
    }
    return 0;
}
