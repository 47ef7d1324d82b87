/* The signer seam (DESIGN.md): anything that can produce a signature for a
 * chain -- a local HD wallet, a KMS key, an MPC group, a hardware wallet --
 * implements this one small interface, so every chain, account kind and
 * custody policy works with every signer.
 *
 * A signer signs what it is given: ECDSA and BIP340 take a 32-byte digest
 * (the chain code computed the sighash), Ed25519 takes the message itself.
 * The key is named by a kg_key_ref: a key name or id inside the signer
 * and/or a BIP32/SLIP-10 path for signers that derive, plus the Taproot
 * tweak for BIP341 key-path spends.
 *
 * Header-only: the dispatch helpers are static inline. */
#ifndef KASHGUARD_SIGNER_H
#define KASHGUARD_SIGNER_H

#include "base.h"

typedef enum {
    KG_SIG_ECDSA_SECP256K1, /* digest32 -> r||s (low-S) + recovery id */
    KG_SIG_ECDSA_P256,      /* digest32 -> r||s (low-S) */
    KG_SIG_BIP340,          /* digest32 -> 64-byte Schnorr signature */
    KG_SIG_ED25519          /* message  -> 64-byte signature */
} kg_sig_scheme;

#define KG_PATH_MAX 16
#define KG_HARDENED 0x80000000u

typedef struct {
    const char *key;             /* key name/id inside the signer; may be NULL */
    uint32_t path[KG_PATH_MAX];  /* derivation path below the signer's root */
    size_t path_len;
    bool taproot;                /* BIP341 key path: tweak the key (BIP86 when no merkle root) */
    const uint8_t *merkle_root;  /* 32 bytes or NULL */
} kg_key_ref;

/** A public key: 33-byte compressed SEC1 for secp256k1/P-256, 32-byte for
 *  Ed25519 and for BIP340 (x-only; the tweaked output key when taproot). */
typedef struct {
    uint8_t data[65];
    size_t len;
} kg_pubkey;

/** A signature: 64 bytes (r||s or Schnorr or Ed25519); recid is the ECDSA
 *  recovery id (0..3) for secp256k1, -1 otherwise. */
typedef struct {
    uint8_t data[64];
    size_t len;
    int recid;
} kg_signature;

typedef struct kg_signer kg_signer;
typedef struct {
    kg_err (*public_key)(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme);
    kg_err (*sign)(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                   const uint8_t *msg, size_t msg_len);
    void (*close)(kg_signer *s);
} kg_signer_ops;

struct kg_signer {
    const kg_signer_ops *ops;
    void *impl;
};

/** The public key the signer uses for ref under scheme. */
static inline kg_err kg_signer_public_key(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref,
                                          kg_sig_scheme scheme)
{
    return s->ops->public_key(s, out, ref, scheme);
}

/** Sign msg (a 32-byte digest, or the message for Ed25519). */
static inline kg_err kg_signer_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref,
                                    kg_sig_scheme scheme, const uint8_t *msg, size_t msg_len)
{
    return s->ops->sign(s, out, ref, scheme, msg, msg_len);
}

/** Release the signer (wipes any key material it holds). NULL is ignored. */
static inline void kg_signer_close(kg_signer *s)
{
    if (s != NULL && s->ops != NULL && s->ops->close != NULL)
        s->ops->close(s);
}

#endif
