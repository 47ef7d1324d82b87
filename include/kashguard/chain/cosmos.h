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

#endif
