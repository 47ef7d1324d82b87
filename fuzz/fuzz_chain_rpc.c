/* libFuzzer target for the reply parsers of the Cosmos REST client
 * (src/chain/cosmos_rpc.c) and the Solana JSON-RPC client
 * (src/chain/solana_rpc.c): what a hostile or broken node can send to
 * `wallet balance|send --chain cosmos|solana`.
 *
 * The first byte picks the parser (cosmos account, balance, node_info,
 * tx_response; solana balance, blockhash, signature, status), the rest is
 * the reply text. Whatever is accepted must be well formed (digit-only
 * amounts, an upper-case 64-digit tx hash, a known status); whatever is
 * rejected must leave the outputs zeroed. Any crash, leak or sanitizer
 * report is a bug. Run e.g.
 *   ./fuzz_chain_rpc -max_len=4096 fuzz/corpus/fuzz_chain_rpc */
#include "../src/chain/cosmos_rpc_int.h"
#include "../src/chain/solana_rpc_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void cosmos(unsigned which, const char *text, size_t len)
{
    char s[KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES + KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES];
    uint64_t a = 1, b = 1;
    kg_chain_cosmos_tx_result r;
    switch (which) {
    case 0:
        if (kg_chain_cosmos_parse_account(&a, &b, text, len) != KG_OK && (a || b))
            abort();
        break;
    case 1:
        if (kg_chain_cosmos_parse_balance(s, text, len) == KG_OK) {
            if (!s[0] || strspn(s, "0123456789") != strlen(s))
                abort();
        } else if (s[0]) {
            abort();
        }
        break;
    case 2:
        if (kg_chain_cosmos_parse_chain_id(s, text, len) == KG_OK ? !s[0] || strlen(s) >= 65 : s[0] != 0)
            abort();
        break;
    default:
        if (kg_chain_cosmos_parse_tx_response(&r, text, len) == KG_OK) {
            if (strlen(r.txhash) != 64 || strspn(r.txhash, "0123456789ABCDEF") != 64)
                abort();
        } else if (r.txhash[0] || r.code || r.height) {
            abort();
        }
        break;
    }
}

static void solana(unsigned which, const char *text, size_t len)
{
    uint8_t b[64];
    uint64_t v = 1, lv = 1;
    char err[64];
    kg_chain_sol_tx_status st = KG_CHAIN_SOL_TX_FAILED;
    switch (which) {
    case 0:
        if (kg_chain_sol_parse_balance(&v, text, len) != KG_OK && v)
            abort();
        break;
    case 1:
        if (kg_chain_sol_parse_blockhash(b, &lv, text, len) != KG_OK && (!all_zero(b, 32) || lv))
            abort();
        break;
    case 2:
        if (kg_chain_sol_parse_signature(b, text, len) != KG_OK && !all_zero(b, 64))
            abort();
        break;
    default:
        if (kg_chain_sol_parse_status(&st, err, sizeof err, text, len) == KG_OK) {
            if (st > KG_CHAIN_SOL_TX_FAILED || strlen(err) >= sizeof err)
                abort();
        } else if (st != KG_CHAIN_SOL_TX_UNKNOWN || err[0]) {
            abort();
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    if (data[0] & 4)
        solana(data[0] & 3, text, size - 1);
    else
        cosmos(data[0] & 3, text, size - 1);
    return 0;
}
