/* Reply parsers of the Cosmos REST client (cosmos_rpc.c), exposed to the
 * module and to fuzz/fuzz_chain_rpc.c: each takes the body of a 2xx reply
 * as text. They return KG_OK | KG_ERR_BAD_JSON (detail says what is
 * missing) and leave their outputs zeroed / empty on error. */
#ifndef KG_CHAIN_COSMOS_RPC_INT_H
#define KG_CHAIN_COSMOS_RPC_INT_H

#include <kashguard/chain/cosmos.h>

/** QueryAccountResponse: account number and sequence of the base account. */
kg_err kg_chain_cosmos_parse_account(uint64_t *account_number, uint64_t *sequence, const char *text, size_t len)
    KG_WARN_UNUSED;
/** QueryBalanceResponse: balance.amount (digits) into out. */
kg_err kg_chain_cosmos_parse_balance(char out[static KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES], const char *text, size_t len)
    KG_WARN_UNUSED;
/** GetNodeInfoResponse: default_node_info.network into out. */
kg_err kg_chain_cosmos_parse_chain_id(char out[static KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES], const char *text,
                                      size_t len) KG_WARN_UNUSED;
/** BroadcastTxResponse / GetTxResponse: the tx_response. */
kg_err kg_chain_cosmos_parse_tx_response(kg_chain_cosmos_tx_result *out, const char *text, size_t len) KG_WARN_UNUSED;

#endif
