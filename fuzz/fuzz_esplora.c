/* libFuzzer target for the Esplora API reply parsers (src/chain/btc_esplora_rpc.c):
 * what a hostile or broken node can send to `wallet balance|send --chain btc`.
 *
 * The first byte picks the parser (address stats, UTXO list, fee
 * estimates, tx status), the rest is the reply text. Whatever is accepted
 * must be within range (amounts <= 21e6 BTC, spent <= funded, a fee rate
 * the coin selection takes); whatever is rejected must leave the outputs
 * zeroed and carry a detail. Any crash, leak or sanitizer report is a bug.
 * Run e.g.  ./fuzz_esplora -max_len=4096 fuzz/corpus/fuzz_esplora */
#include <kashguard/chain.h>
#include "../src/chain/btc_esplora_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0: {
        kg_chain_btc_esplora_addr_info info;
        uint64_t conf = 0, total = 0;
        if (kg_chain_btc_esplora_parse_address(&info, text, len) == KG_OK) {
            if (kg_chain_btc_esplora_balance(&conf, &total, &info) != KG_OK || total > 2 * KG_CHAIN_BTC_MAX_MONEY)
                abort();
        } else if (info.chain.funded_sum != 0 || info.mempool.funded_sum != 0) {
            abort();
        }
        break;
    }
    case 1: {
        kg_chain_btc_esplora_utxo *u = NULL;
        size_t n = 0;
        if (kg_chain_btc_esplora_parse_utxos(&u, &n, text, len) == KG_OK) {
            for (size_t i = 0; i < n; i++)
                if (u[i].value > KG_CHAIN_BTC_MAX_MONEY || (!u[i].confirmed && u[i].block_height != 0))
                    abort();
        } else if (u != NULL || n != 0) {
            abort();
        }
        free(u);
        break;
    }
    case 2: {
        uint64_t r = 1;
        if (kg_chain_btc_esplora_parse_fees(&r, 6, text, len) == KG_OK) {
            if (r > 100000000u)
                abort();
        } else if (r != 0) {
            abort();
        }
        break;
    }
    default: {
        bool conf = true;
        uint32_t h = 1;
        if (kg_chain_btc_esplora_parse_status(&conf, &h, text, len) != KG_OK && (conf || h != 0))
            abort();
        break;
    }
    }
    return 0;
}
