/* Internals of the Esplora API client (btc_esplora_rpc.c): the parsers of
 * the node's replies, taking the reply text, so that the fuzz target
 * (fuzz/fuzz_esplora.c) can drive them without a network. Each checks
 * every field's type and range (amounts <= 21e6 BTC) and returns
 * KG_ERR_BAD_JSON (or KG_ERR_NOMEM) with outputs zeroed/NULL on error. */
#ifndef KG_CHAIN_BTC_ESPLORA_INT_H
#define KG_CHAIN_BTC_ESPLORA_INT_H

#include "kashguard/chain/bitcoin.h"

/** GET /address/:addr reply -> chain and mempool stats (spent <= funded). */
kg_err kg_chain_btc_esplora_parse_address(kg_chain_btc_esplora_addr_info *out, const char *text, size_t len)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** GET /address/:addr/utxo reply -> malloc'd array (free()); NULL when empty. */
kg_err kg_chain_btc_esplora_parse_utxos(kg_chain_btc_esplora_utxo **out, size_t *count, const char *text, size_t len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** GET /fee-estimates reply -> sat/kvB for target_blocks (see kg_chain_btc_esplora_fee_rate). */
kg_err kg_chain_btc_esplora_parse_fees(uint64_t *sat_kvb, unsigned target_blocks, const char *text, size_t len)
    KG_WARN_UNUSED KG_NONNULL(1, 3);
/** GET /tx/:txid/status reply -> confirmed, block height (0 when unconfirmed). */
kg_err kg_chain_btc_esplora_parse_status(bool *confirmed, uint32_t *block_height, const char *text, size_t len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

#endif
