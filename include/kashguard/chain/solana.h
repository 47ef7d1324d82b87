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

#endif
