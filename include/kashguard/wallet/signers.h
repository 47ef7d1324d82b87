/* KashGuard wallet signers: implementations of the signer seam
 * (include/kashguard/signer.h) for the self-custody wallet.
 *
 *   local  an HD wallet seed held in memory (kg_wallet_file_open's seed):
 *          every call derives the key at ref->path -- BIP32 for secp256k1
 *          ECDSA and BIP340, SLIP-10 nist256p1 for P-256, SLIP-10 ed25519
 *          (hardened steps only) for Ed25519 -- signs, and wipes it.
 *   kms    a key of a KashGuard KMS (ref->key = key id or alias), used
 *          through kg_kms_public_key / kg_kms_sign with the caller's
 *          policies: ECC_SECG_P256K1 (ECDSA + recovery id), ECC_NIST_P256,
 *          ED25519. BIP340 with a KMS key is not supported yet.
 *
 * Both follow signer.h: ECDSA and BIP340 sign a 32-byte digest, Ed25519
 * the message itself; ECDSA signatures are 64-byte r||s, low-S, and
 * secp256k1 ones carry the recovery id. Public keys: 33-byte compressed
 * for ECDSA, 32-byte x-only for BIP340 (the tweaked output key when
 * ref->taproot), 32 bytes for Ed25519.
 *
 * kg_signer_close() releases a signer made here, including the kg_signer
 * itself. A signer may be used by one thread at a time. */
#ifndef KASHGUARD_WALLET_SIGNERS_H
#define KASHGUARD_WALLET_SIGNERS_H

#include "../signer.h"
#include "../kms.h"

/** A signer over an HD seed (16..64 bytes; copied into guarded memory and
 *  wiped by close). ref->key is ignored; ref->path is the full path from
 *  the master key (m/...).
 *  Returns KG_OK | KG_ERR_BAD_INPUT (seed length) | KG_ERR_NOMEM.
 *  sign/public_key return KG_OK | KG_ERR_BAD_INPUT (digest not 32 bytes,
 *  path too long, a non-hardened step for Ed25519, taproot with a scheme
 *  other than BIP340) | KG_ERR_CRYPTO.
 *  Secrets: derived keys live on the stack for one call and are wiped;
 *  constant time in them as far as crypto.h is. */
kg_err kg_wallet_signer_local(kg_signer **out, const kg_secret *seed) KG_WARN_UNUSED;

/** A signer over the keys of kms, acting as who (both borrowed: they must
 *  outlive the signer). ref->key names the key; ref->path must be empty
 *  and ref->taproot false.
 *  sign/public_key return KG_OK | KG_ERR_BAD_INPUT | KG_ERR_WRONG_KEY_USAGE
 *  (the key's spec does not fit the scheme; BIP340) | any error of
 *  kg_kms_public_key / kg_kms_sign (KG_ERR_NOT_FOUND, KG_ERR_DENIED,
 *  KG_ERR_SEALED, ...). */
kg_err kg_wallet_signer_kms(kg_signer **out, kg_kms *kms, const kg_kms_caller *who) KG_WARN_UNUSED;

#endif
