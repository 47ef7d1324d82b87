/* KashGuard chain layer: Solana.
 *
 * Addresses are the Base58 text of 32-byte Ed25519 public keys. A SOL
 * transfer is a legacy message (header, account keys, recent blockhash,
 * one compiled System Program Transfer instruction: u32 LE 2 then the u64
 * LE lamports), signed with Ed25519 over the message bytes; the wire
 * transaction is shortvec(signature count) || signatures || message.
 *
 * Plain C17, no allocation: outputs go to caller buffers (out == NULL
 * asks for the size). Keys stay in the kg_signer. */
#ifndef KASHGUARD_CHAIN_SOLANA_H
#define KASHGUARD_CHAIN_SOLANA_H

#include "../base.h"
#include "../signer.h"

#define KG_CHAIN_SOL_PUBKEY_BYTES 32
#define KG_CHAIN_SOL_SIG_BYTES 64
#define KG_CHAIN_SOL_ADDRESS_MAX_BYTES 45        /* 44 Base58 characters + NUL */
#define KG_CHAIN_SOL_TX_MAX_BYTES 1232           /* packet data size limit */
#define KG_CHAIN_SOL_TX_B58_MAX_BYTES 1700       /* Base58 of a full-size tx + NUL */

/** Base58 address of a public key; out needs KG_CHAIN_SOL_ADDRESS_MAX_BYTES. */
kg_err kg_chain_sol_address(char *out, size_t out_cap, const uint8_t pub[static 32]) KG_WARN_UNUSED KG_NONNULL(1, 3);
/** Parse an address (Base58 of exactly 32 bytes). Returns KG_OK | KG_ERR_BAD_INPUT. */
kg_err kg_chain_sol_address_decode(uint8_t pub[static 32], const char *addr) KG_WARN_UNUSED KG_NONNULL(1, 2);

/** A System Program transfer. from pays the fee and signs. */
typedef struct {
    uint8_t from[32];
    uint8_t to[32];
    uint8_t recent_blockhash[32];
    uint64_t lamports;
} kg_chain_sol_transfer;

/** The legacy message of a transfer: header (1 signature, 0 read-only
 *  signed, 1 read-only unsigned), keys [from, to, System Program] (just
 *  [from, System Program] when to == from), blockhash, and the instruction.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (out_cap too small). */
kg_err kg_chain_sol_transfer_message(uint8_t *out, size_t out_cap, size_t *out_len,
                                     const kg_chain_sol_transfer *t) KG_WARN_UNUSED KG_NONNULL(3, 4);
/** A wire transaction with one signature: shortvec(1) || sig || message. */
kg_err kg_chain_sol_tx_encode(uint8_t *out, size_t out_cap, size_t *out_len, const uint8_t sig[static 64],
                              const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED KG_NONNULL(3, 4, 5);
/** Build the message, check the signer's Ed25519 key is t->from, sign the
 *  message with KG_SIG_ED25519 and encode the transaction into out
 *  (KG_CHAIN_SOL_TX_MAX_BYTES is always enough). sig (may be NULL) gets the
 *  signature, which is also the transaction id. out is zeroed on error.
 *  Returns KG_OK | KG_ERR_BAD_INPUT | the signer's error. */
kg_err kg_chain_sol_transfer_sign(uint8_t *out, size_t out_cap, size_t *out_len, uint8_t *sig,
                                  kg_signer *signer, const kg_key_ref *ref, const kg_chain_sol_transfer *t)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 5, 6, 7);
/** Base58 of a transaction (what sendTransaction takes with encoding
 *  "base58", deprecated by Solana); up to KG_CHAIN_BASE58_MAX_BYTES of tx
 *  (a transfer is 215 bytes). Base64, the preferred encoding, is
 *  kg_b64_encode of the same bytes. */
kg_err kg_chain_sol_tx_base58(char *out, size_t out_cap, const uint8_t *tx, size_t tx_len) KG_WARN_UNUSED KG_NONNULL(1, 3);

/* ================================================== JSON-RPC client
 * A client of a Solana node's JSON-RPC API (solana_rpc.c, over the JSON-RPC
 * 2.0 transport of eth_rpc.c: libcurl + jansson, not in firmware builds).
 * Reads use commitment "confirmed". Not thread-safe: one per thread.
 * Errors: KG_ERR_NETWORK (connection, timeout, HTTP status) |
 * KG_ERR_BAD_JSON (a reply that is not what the method documents) |
 * KG_ERR_BAD_INPUT (the node answered with an error object: its code and
 * message are in the detail, e.g. a failed preflight simulation). */

typedef struct kg_chain_sol_rpc kg_chain_sol_rpc;

typedef enum {
    KG_CHAIN_SOL_TX_UNKNOWN = 0,  /* the node has not seen it (yet) */
    KG_CHAIN_SOL_TX_PROCESSED,
    KG_CHAIN_SOL_TX_CONFIRMED,
    KG_CHAIN_SOL_TX_FINALIZED,
    KG_CHAIN_SOL_TX_FAILED        /* in a block with an error: fee paid, transfer not done */
} kg_chain_sol_tx_status;

/** New client for url (http or https) with a per-request timeout in ms (0 = 10 s). */
kg_err kg_chain_sol_rpc_new(kg_chain_sol_rpc **out, const char *url, long timeout_ms) KG_WARN_UNUSED KG_NONNULL(1, 2);
void kg_chain_sol_rpc_free(kg_chain_sol_rpc *c);
/** getBalance: lamports held by pub. */
kg_err kg_chain_sol_rpc_get_balance(kg_chain_sol_rpc *c, uint64_t *lamports, const uint8_t pub[static 32])
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** getLatestBlockhash: the blockhash and the last block height at which a
 *  transaction using it is still accepted (last_valid may be NULL). */
kg_err kg_chain_sol_rpc_latest_blockhash(kg_chain_sol_rpc *c, uint8_t hash[static 32], uint64_t *last_valid)
    KG_WARN_UNUSED KG_NONNULL(1, 2);
/** sendTransaction (encoding base64, preflight simulation at "confirmed"):
 *  sig gets the signature (transaction id) the node reports. */
kg_err kg_chain_sol_rpc_send_tx(kg_chain_sol_rpc *c, uint8_t sig[static 64], const uint8_t *tx, size_t tx_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** getSignatureStatuses of one signature. err (may be NULL, err_cap bytes)
 *  gets the transaction's error as compact JSON when *out is FAILED. */
kg_err kg_chain_sol_rpc_signature_status(kg_chain_sol_rpc *c, kg_chain_sol_tx_status *out, char *err, size_t err_cap,
                                         const uint8_t sig[static 64]) KG_WARN_UNUSED KG_NONNULL(1, 2, 5);
/** Poll the status every poll_ms until it is confirmed or finalized, or
 *  max_wait_ms has passed. Returns KG_OK | KG_ERR_NOT_FOUND (not confirmed
 *  in time) | KG_ERR_BAD_INPUT (it failed: the error is in the detail) |
 *  the call's error. */
kg_err kg_chain_sol_rpc_wait_confirmed(kg_chain_sol_rpc *c, const uint8_t sig[static 64], long poll_ms,
                                       long max_wait_ms) KG_WARN_UNUSED KG_NONNULL(1, 2);

#endif
