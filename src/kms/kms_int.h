/* Declarations shared inside the KMS module (never in the public header).
 *
 * Files and owners of the pieces:
 *   kms.c      open/close, config, tick
 *   seal.c     init, unseal, seal, dev bootstrap, the root key and the
 *              kms_seal_encrypt/decrypt helpers every at-rest secret uses
 *   keys.c     key metadata, lifecycle, rotation, aliases, import
 *   ops.c      encrypt/decrypt/re-encrypt/data-key/sign/verify/mac/random,
 *              the ciphertext format
 *   tokens.c   tokens and callers
 *   policy.c   policies and kg_kms_authorize
 *   audit.c    the hash-chained audit log, checkpoints, offline verify
 *
 * Store layout (keys of the kg_store map):
 *   sys/seal                 {"shares","threshold","root_key_enc":b64,...}
 *   keys/<key_id>            key metadata (public JSON, see kms.h)
 *   keys/<key_id>/v/<n,10 digits> {"material_enc":b64,"public_key_der":b64?}
 *   aliases/<alias>          {"key_id":…}
 *   import/<import_token>    {"wrapping_key_enc":b64,"expires_at":…}
 *   tokens/<sha256 hex>      token record (without the token)
 *   accessors/<accessor>     {"token_hash":…}
 *   policies/<name>          policy document
 *   audit/key                {"public_key":b64,"private_key_enc":b64}
 *   audit/checkpoint         the latest checkpoint entry
 */
#ifndef KASHGUARD_KMS_INT_H
#define KASHGUARD_KMS_INT_H

#include <pthread.h>
#include "kashguard/kms.h"

typedef struct kms_audit kms_audit; /* audit.c */
typedef struct kms_cache kms_cache; /* cache.c */

struct kg_kms {
    kg_store *st;
    kg_kms_config cfg;
    char *data_dir;                 /* owned copy of cfg.data_dir */

    /* The root key: NULL while sealed. Readers (every operation) take the
     * read lock for as long as they use it; seal/unseal take the write lock. */
    pthread_rwlock_t seal_lock;
    kg_secret *root_key;            /* 32 bytes */

    /* Unseal progress: the distinct shares submitted so far. */
    pthread_mutex_t unseal_mu;
    kg_secret *unseal_shares[255];
    unsigned unseal_count;

    kms_audit *audit;
    /* The audit HMAC key, derived from the root key at unseal (NULL while
     * sealed); guarded by seal_lock like the root key. */
    kg_secret *audit_hmac_key;
    /* Unsealed material of recently used key versions; cleared at seal. */
    kms_cache *cache;
};

/* ---- cache.c ---- */
kms_cache *kms_cache_new(void);
void kms_cache_free(kms_cache *c);
/** A copy of the cached material (and public key DER when pub != NULL) of
 *  the version with seal label `label`; false on a miss. */
bool kms_cache_get(kms_cache *c, kg_secret **material, kg_bytes *pub, const char *label);
void kms_cache_put(kms_cache *c, const char *label, const kg_secret *material, const kg_bytes *pub);
/** Forget every version of key_id (its material was destroyed). */
void kms_cache_evict_key(kms_cache *c, const char *key_id);
/** Wipe everything (seal, close). */
void kms_cache_clear(kms_cache *c);

/* ---- seal.c ---- */
/** Encrypt a secret for the store under the root key with AES-256-GCM,
 *  AAD = label (e.g. "key:k-…:v:1"). Caller holds seal_lock (read).
 *  Output: iv(12) || ct || tag(16). KG_ERR_SEALED when sealed. */
kg_err kms_seal_encrypt(kg_kms *kms, kg_bytes *out, const char *label,
                        const uint8_t *pt, size_t pt_len);
/** The inverse; KG_ERR_CRYPTO if the stored blob fails authentication. */
kg_err kms_seal_decrypt(kg_kms *kms, kg_secret **out, const char *label,
                        const uint8_t *blob, size_t blob_len);
/** Derive a 32-byte subkey of the root key (HKDF-SHA256, info = purpose). */
kg_err kms_root_derive(kg_kms *kms, uint8_t out[static 32], const char *purpose);
/** Seal: take the write lock and wipe the root key and everything derived
 *  from it (audit HMAC key, material cache), after a last audit checkpoint. */
void kms_forget_root(kg_kms *kms);
/** Lock helpers: take the read lock and fail with KG_ERR_SEALED (and a
 *  message saying how to unseal) when sealed. Pair with kms_unlock. */
kg_err kms_rdlock_unsealed(kg_kms *kms);
void kms_unlock(kg_kms *kms);

/* ---- tokens.c ---- */
/** Create the root token inside init's transaction. *token is malloc'd. */
kg_err kms_token_create_root(kg_kms *kms, kg_store_txn *txn, char **token);
/** Policies of a caller (array of names); "root" for root and system. */
const json_t *kms_caller_policies(const kg_kms_caller *c);
bool kms_caller_is_root(const kg_kms_caller *c);

/* ---- audit.c ---- */
kg_err kms_audit_open(kg_kms *kms);
void kms_audit_close(kg_kms *kms);
/** At init: make the Ed25519 audit key, store it (private part sealed under
 *  the root key, which init passes in since the KMS is still sealed). Adds
 *  "audit_public_key" to init_out. */
kg_err kms_audit_init_keys(kg_kms *kms, kg_store_txn *txn, const kg_secret *root_key,
                           json_t *init_out);
/** Called with the write lock held right after unseal / before seal. */
void kms_audit_on_unseal(kg_kms *kms);
void kms_audit_on_seal(kg_kms *kms);
/** Time-based checkpoint from kg_kms_tick. */
void kms_audit_tick(kg_kms *kms);

/* ---- keys.c ---- */
/** Resolve ref (id or alias) to metadata. KG_ERR_NOT_FOUND with a clear message. */
kg_err kms_key_resolve(kg_kms *kms, kg_store_txn *txn, json_t **meta, const char *ref);
/** Load and unseal the material of one version (and its public key DER when asymmetric). */
kg_err kms_key_material(kg_kms *kms, kg_secret **material, kg_bytes *pub_der,
                        const char *key_id, unsigned version);
/** Check that the key may be used now (enabled; not pending deletion or
 *  destroyed) with the user-facing message. */
kg_err kms_key_usable(const json_t *meta);
/** Rotation and deletion work due now (from kg_kms_tick). */
void kms_keys_tick(kg_kms *kms);

/* ---- keys.c: shared with import.c and ops.c ---- */
/** One key spec: its name, whether its material is 32 random bytes
 *  (symmetric) or a private key of `type`, and the usage it implies. */
typedef struct {
    const char *name;          /* "AES_256", "ECC_NIST_P256", ... */
    bool symmetric;
    kg_crypto_key_type type;   /* asymmetric specs only */
    const char *usage;         /* "encrypt_decrypt", "sign_verify", ... */
} kms_key_spec;
/** The spec named name, or NULL. */
const kms_key_spec *kms_key_spec_find(const char *name);
/** The spec of stored metadata (never NULL for a well-formed record). */
const kms_key_spec *kms_key_spec_of(const json_t *meta);
/** KG_OK, or KG_ERR_BAD_INPUT explaining the alias rules. */
kg_err kms_alias_check(const char *alias);
/** The public form of stored metadata (internal "_" fields dropped). */
json_t *kms_key_public(const json_t *meta);
/** Store a new key (metadata, alias, version 1 with material and, for
 *  asymmetric specs, its public key) in one transaction, which also deletes
 *  the store row `consume` when not NULL (a one-time import token).
 *  Caller holds the read lock. *out = the stored metadata. */
kg_err kms_key_store_new(kg_kms *kms, json_t **out, const kms_key_spec *spec, const char *alias,
                         const char *description, int64_t rotation_seconds, const char *origin,
                         const kg_secret *material, const char *consume);

/** Lock, resolve ref and authorize action on it. On KG_OK the caller holds
 *  the read lock (release with kms_unlock) and owns *meta. */
kg_err kms_key_begin(kg_kms *kms, const kg_kms_caller *who, json_t **meta, const char *ref,
                     const char *action);
/** Fresh material for spec: 32 random bytes or a private key. */
kg_err kms_key_gen_material(kg_secret **out, const kms_key_spec *spec);
/** Add material as a new version of meta inside txn and make it current;
 *  the caller writes meta back. Caller holds the read lock. */
kg_err kms_key_add_version(kg_kms *kms, kg_store_txn *txn, json_t *meta,
                           const kg_secret *material);
/** Set the rotation fields of meta (period 0 = none), next due now + period. */
kg_err kms_key_rotation_set(json_t *meta, int64_t period, int64_t now);
/** Parse a rotation_period ("90d"; "0" = none; else 60 s .. 3650 d). */
kg_err kms_parse_rotation(int64_t *out, const char *s);
/** Descriptions are at most 1024 bytes (NULL is fine). */
kg_err kms_check_description(const char *d);

#endif
