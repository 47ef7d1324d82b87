/* KashGuard chain layer: Cosmos SDK.
 *
 * Addresses: Bech32 (BIP173) of RIPEMD160(SHA256(33-byte compressed
 * secp256k1 key)) under any prefix ("cosmos", "osmo", "juno", ...).
 *
 * Transactions: a bank MsgSend (cosmos.bank.v1beta1.MsgSend in a
 * google.protobuf.Any) in a TxBody (messages, memo, timeout_height), an
 * AuthInfo with one SignerInfo (PubKey Any of
 * /cosmos.crypto.secp256k1.PubKey, ModeInfo single SIGN_MODE_DIRECT,
 * sequence) and a Fee (amount, gas_limit); the SignDoc (body_bytes,
 * auth_info_bytes, chain_id, account_number) is signed as
 * ECDSA-secp256k1(SHA256(SignDoc)), low-S, 64-byte r||s, and the result is
 * the broadcast-ready TxRaw (body_bytes, auth_info_bytes, signatures).
 *
 * The protobuf encoding is written by hand (proto3 wire format: varint
 * tags, length-delimited fields, default values omitted, fields in field
 * number order) -- the same bytes as the Go SDK and @cosmjs/proto-signing.
 * Plain C17, no allocation: every output goes to a caller buffer (pass
 * out == NULL to learn the size). Nothing here is secret; keys stay in the
 * kg_signer. */
#ifndef KASHGUARD_CHAIN_COSMOS_H
#define KASHGUARD_CHAIN_COSMOS_H

#include "../base.h"
#include "../signer.h"

#define KG_CHAIN_COSMOS_ADDRESS_MAX_BYTES 91   /* Bech32 limit 90 + NUL */
#define KG_CHAIN_COSMOS_MAX_COINS 16
#define KG_CHAIN_COSMOS_MAX_MSGS 16
#define KG_CHAIN_COSMOS_MEMO_MAX 256            /* the SDK's default MaxMemoCharacters */
#define KG_CHAIN_COSMOS_SIG_BYTES 64

/** Address of a 33-byte compressed secp256k1 key under prefix hrp.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (key not a valid compressed point, bad
 *  prefix, out_cap too small). */
kg_err kg_chain_cosmos_address(char *out, size_t out_cap, const char *hrp, const uint8_t pub33[static 33])
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4);
/** Check an address: Bech32 with 20 bytes of data, and prefix hrp when hrp
 *  is not NULL. hash20 (may be NULL) gets the account hash. */
kg_err kg_chain_cosmos_address_check(uint8_t *hash20, const char *addr, const char *hrp) KG_WARN_UNUSED KG_NONNULL(2);

/** A coin: denom ([a-zA-Z][a-zA-Z0-9/:._-]{2,127}) and a decimal amount
 *  (digits only, no sign, as the SDK's Int string). */
typedef struct {
    const char *denom;
    const char *amount;
} kg_chain_cosmos_coin;

/** cosmos.bank.v1beta1.MsgSend. */
typedef struct {
    const char *from_address;
    const char *to_address;
    const kg_chain_cosmos_coin *amount;
    size_t amount_count;
} kg_chain_cosmos_msg_send;

/** Everything a SIGN_MODE_DIRECT transaction with one signer needs. */
typedef struct {
    const kg_chain_cosmos_msg_send *msgs;  /* 1..KG_CHAIN_COSMOS_MAX_MSGS */
    size_t msg_count;
    const char *memo;                      /* NULL or "" for none */
    uint64_t timeout_height;               /* 0 = none */
    uint8_t pubkey[33];                    /* the signer's compressed key */
    uint64_t sequence;
    const kg_chain_cosmos_coin *fee;       /* fee amount (may be empty) */
    size_t fee_count;
    uint64_t gas_limit;
    const char *chain_id;                  /* e.g. "cosmoshub-4" */
    uint64_t account_number;
} kg_chain_cosmos_tx;

/** The protobuf encodings. Each writes into out (out_cap bytes) and sets
 *  *out_len; with out == NULL only *out_len is set. Returns KG_OK |
 *  KG_ERR_BAD_INPUT (a field is invalid, detail names it; or out_cap too
 *  small, detail gives the size). */
kg_err kg_chain_cosmos_body_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                                   const kg_chain_cosmos_tx *tx) KG_WARN_UNUSED KG_NONNULL(3, 4);
kg_err kg_chain_cosmos_auth_info_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                                        const kg_chain_cosmos_tx *tx) KG_WARN_UNUSED KG_NONNULL(3, 4);
/** SignDoc from already encoded body and auth info. */
kg_err kg_chain_cosmos_sign_doc_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                                       const uint8_t *body, size_t body_len,
                                       const uint8_t *auth_info, size_t auth_info_len,
                                       const char *chain_id, uint64_t account_number) KG_WARN_UNUSED KG_NONNULL(3, 4, 6, 8);
/** TxRaw from body, auth info and one 64-byte signature. */
kg_err kg_chain_cosmos_tx_raw_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                                     const uint8_t *body, size_t body_len,
                                     const uint8_t *auth_info, size_t auth_info_len,
                                     const uint8_t sig[static 64]) KG_WARN_UNUSED KG_NONNULL(3, 4, 6, 8);

/** Build, sign and encode: asks signer for the key of ref (it must equal
 *  tx->pubkey), signs SHA256(SignDoc) with KG_SIG_ECDSA_SECP256K1 and
 *  writes the TxRaw into out. sign_doc (may be NULL) gets the SignDoc bytes
 *  too (sign_doc_cap bytes). out and the optional sig (64 bytes) are
 *  zeroed on error. Returns the errors above | KG_ERR_BAD_INPUT (the
 *  signer's key is not tx->pubkey) | the signer's error. */
kg_err kg_chain_cosmos_tx_sign(uint8_t *out, size_t out_cap, size_t *out_len, uint8_t *sig,
                               uint8_t *sign_doc, size_t sign_doc_cap, size_t *sign_doc_len,
                               kg_signer *signer, const kg_key_ref *ref, const kg_chain_cosmos_tx *tx)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 8, 9, 10);

/* ================================================ LCD REST client
 * A client of a node's REST API (the Cosmos SDK's gRPC-gateway "LCD",
 * usually port 1317): cosmos_rpc.c, libcurl + jansson, so it is not part of
 * firmware builds. Not thread-safe: one client per thread. Errors:
 *   KG_ERR_NETWORK   could not connect, timed out, an HTTP error without a
 *                    JSON body;
 *   KG_ERR_BAD_JSON  the reply is not the JSON the endpoint documents;
 *   KG_ERR_NOT_FOUND the node answered 404 / gRPC NotFound (no such account);
 *   KG_ERR_BAD_INPUT the node answered with an error (its message is in the
 *                    detail), or refused a transaction (code != 0). */

#define KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES 80    /* a 256-bit Int in decimal (78 digits) + NUL */
#define KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES 65  /* CometBFT allows 50 characters */
#define KG_CHAIN_COSMOS_TXHASH_BYTES 65        /* 64 upper-case hex digits + NUL */

typedef struct kg_chain_cosmos_rpc kg_chain_cosmos_rpc;

/** What the node says about a transaction (TxResponse). */
typedef struct {
    uint32_t code;                               /* 0 = success, else an error of codespace */
    char codespace[33];
    char txhash[KG_CHAIN_COSMOS_TXHASH_BYTES];
    uint64_t height;                             /* 0 until it is in a block */
    uint64_t gas_wanted, gas_used;
    char raw_log[513];                           /* cut at 512 bytes, CR/LF removed */
} kg_chain_cosmos_tx_result;

/** New client for the REST API at url (http or https; a trailing '/' is
 *  ignored) with a per-request timeout in ms (0 = 10 s). */
kg_err kg_chain_cosmos_rpc_new(kg_chain_cosmos_rpc **out, const char *url, long timeout_ms)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
void kg_chain_cosmos_rpc_free(kg_chain_cosmos_rpc *c);
/** GET /cosmos/auth/v1beta1/accounts/{addr}: account number and sequence
 *  (BaseAccount, or the base account of a vesting/module/Eth account).
 *  KG_ERR_NOT_FOUND when the chain has no record of addr (never funded). */
kg_err kg_chain_cosmos_rpc_account(kg_chain_cosmos_rpc *c, uint64_t *account_number, uint64_t *sequence,
                                   const char *addr) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** GET /cosmos/bank/v1beta1/balances/{addr}/by_denom?denom=D: the amount
 *  (decimal digits) into out ("0" when addr holds none). */
kg_err kg_chain_cosmos_rpc_balance(kg_chain_cosmos_rpc *c, char out[static KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES],
                                   const char *addr, const char *denom) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** GET /cosmos/base/tendermint/v1beta1/node_info: default_node_info.network. */
kg_err kg_chain_cosmos_rpc_chain_id(kg_chain_cosmos_rpc *c, char out[static KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES])
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** POST /cosmos/tx/v1beta1/txs {tx_bytes, mode BROADCAST_MODE_SYNC} (CheckTx
 *  only). out gets the tx_response whenever the node sent one; a code != 0
 *  returns KG_ERR_BAD_INPUT with code, codespace and raw_log in the detail. */
kg_err kg_chain_cosmos_rpc_broadcast(kg_chain_cosmos_rpc *c, kg_chain_cosmos_tx_result *out,
                                     const uint8_t *tx, size_t tx_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** GET /cosmos/tx/v1beta1/txs/{hash}: *found is false (KG_OK) while the
 *  transaction is in no block. A found tx may have failed: check out->code. */
kg_err kg_chain_cosmos_rpc_get_tx(kg_chain_cosmos_rpc *c, kg_chain_cosmos_tx_result *out, bool *found,
                                  const char *txhash) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** Poll get_tx every poll_ms until max_wait_ms has passed. Returns KG_OK
 *  (in a block with code 0) | KG_ERR_NOT_FOUND (not in a block in time) |
 *  KG_ERR_BAD_INPUT (in a block, failed: code and raw_log in the detail and
 *  in out) | the call's error. */
kg_err kg_chain_cosmos_rpc_wait_tx(kg_chain_cosmos_rpc *c, kg_chain_cosmos_tx_result *out, const char *txhash,
                                   long poll_ms, long max_wait_ms) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** The transaction hash the chain uses: upper-case hex of SHA256(TxRaw bytes). */
void kg_chain_cosmos_tx_hash(char out[static KG_CHAIN_COSMOS_TXHASH_BYTES], const uint8_t *tx, size_t tx_len)
    KG_NONNULL(1, 2);

#endif
