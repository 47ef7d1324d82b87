/* Declarations shared inside the wallet storage area (wfile.c,
 * keystore_v3.c, keystore_v3_json.c); never in a public header.
 *
 * keystore_v3.c is the JSON-free core of Web3 Secret Storage (firmware can
 * reuse it): a parsed document is a wstore_keystore, with fixed buffers. */
#ifndef KASHGUARD_WSTORE_INT_H
#define KASHGUARD_WSTORE_INT_H

#include "kashguard/wallet/store.h"

#define WSTORE_KS_SALT_MIN 8
#define WSTORE_KS_SALT_MAX 64
#define WSTORE_KS_KEY_BYTES 32   /* the plaintext: a secp256k1 private key */
#define WSTORE_KS_DKLEN 32

/* One keystore v3 document, decoded. */
typedef struct {
    kg_wallet_keystore_params kdf;
    uint8_t salt[WSTORE_KS_SALT_MAX];
    size_t salt_len;
    uint8_t iv[16];
    uint8_t ciphertext[WSTORE_KS_KEY_BYTES];
    uint8_t mac[32];
    uint8_t id[16];              /* UUID bytes */
    bool has_address;
    uint8_t address[20];
} wstore_keystore;

/* Parse a keystore v3 JSON document (keystore_v3_json.c) strictly; nothing
 * is derived. KG_ERR_TOO_LARGE | KG_ERR_BAD_JSON | KG_ERR_BAD_INPUT. */
kg_err wstore_keystore_parse(wstore_keystore *ks, const char *json, size_t json_len) KG_WARN_UNUSED;

/* Check kdf parameters against the import bounds (store.h). KG_ERR_BAD_INPUT
 * with a detail naming the parameter. */
kg_err wstore_keystore_params_check(const kg_wallet_keystore_params *p) KG_WARN_UNUSED;

/* Derive, check the MAC (constant time), decrypt, check the key and the
 * address. priv32 is wiped on error. */
kg_err wstore_keystore_decrypt(uint8_t priv32[static 32], uint8_t address[static 20],
                               const wstore_keystore *ks,
                               const char *password, size_t password_len) KG_WARN_UNUSED;

/* Fill ks (fresh salt, IV, UUID v4) by encrypting priv32 under password. */
kg_err wstore_keystore_encrypt(wstore_keystore *ks, const uint8_t priv32[static 32],
                               const char *password, size_t password_len,
                               const kg_wallet_keystore_params *p) KG_WARN_UNUSED;

/* The Ethereum address of a secp256k1 private key: keccak256(X||Y)[12..32]. */
kg_err wstore_eth_address(uint8_t address[static 20], const uint8_t priv32[static 32]) KG_WARN_UNUSED;

#endif
