/* Result parsers of the Solana JSON-RPC client (solana_rpc.c), exposed to
 * the module and to fuzz/fuzz_chain_rpc.c: each takes the JSON text of a
 * method's "result" member. They return KG_OK | KG_ERR_BAD_JSON and leave
 * their outputs zeroed on error. */
#ifndef KG_CHAIN_SOLANA_RPC_INT_H
#define KG_CHAIN_SOLANA_RPC_INT_H

#include <kashguard/chain/solana.h>

/** getBalance: {context, value: lamports}. */
kg_err kg_chain_sol_parse_balance(uint64_t *lamports, const char *text, size_t len) KG_WARN_UNUSED;
/** getLatestBlockhash: {context, value: {blockhash, lastValidBlockHeight}}. */
kg_err kg_chain_sol_parse_blockhash(uint8_t hash[static 32], uint64_t *last_valid, const char *text, size_t len)
    KG_WARN_UNUSED;
/** sendTransaction: a Base58 signature string. */
kg_err kg_chain_sol_parse_signature(uint8_t sig[static 64], const char *text, size_t len) KG_WARN_UNUSED;
/** getSignatureStatuses of one signature: {context, value: [null | status]}. */
kg_err kg_chain_sol_parse_status(kg_chain_sol_tx_status *out, char *err, size_t err_cap, const char *text, size_t len)
    KG_WARN_UNUSED;

#endif
