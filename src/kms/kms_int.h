/* Declarations shared inside the KMS module (never in the public header).
 *
 * Files and owners of the pieces:
 *   kms.c      open/close, config, tick
 *   seal.c     init, unseal, seal, the root key and the
 *              kms_seal_encrypt/decrypt helpers every at-rest secret uses
 *   seal_dev.c   dev mode: kg_kms_dev_bootstrap (one share kept in the data dir)
 *   keys.c     key metadata, specs, aliases, versions, key creation
 *   lifecycle.c  rotate, enable/disable, deletion schedule, update, the key tick
 *   import.c   BYOK import (wrapping key, unwrap, store)
 *   cache.c    the cache of unsealed key material
 *   keys_list.c  the key list and live-key counts (metrics)
 *   hsm_keys.c   HSM-protected keys: generation in a kg_hms group, operations there
 *   seal_pkcs11.c  auto-unseal with a key on a PKCS#11 token
 *   ops.c      what the key operations share: metadata fields, resolve +
 *              authorize, usage check, info JSON, stored public key
 *   ops_crypt.c  the KGC1 ciphertext format, encrypt/decrypt/re-encrypt/data-key
 *   ops_sign.c   sign/verify, MAC/verify-MAC, public key, random
 *   tokens.c   tokens and callers
 *   policy.c   policies and kg_kms_authorize; policy_rules.c the rule language
 *   audit.c    the hash-chained audit log and checkpoints; audit_log.c the
 *              writer, audit_verify.c offline verify
 *
 * Store layout (keys of the kg_store map):
 *   sys/seal                 {"shares","threshold","root_key_enc":b64,"seal_type",
 *                             "root_key_hsm"?:b64,...}
 *   keys/<key_id>            key metadata (public JSON, see kms.h)
 *   keys/<key_id>/v/<n,10 digits> {"material_enc":b64,"public_key_der":b64?}, or for
 *                            HSM keys {"hsm_id":"<key_id>/<n>","public_key_der":b64?}
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

    /* Auto-unseal from a PKCS#11 token (seal_pkcs11.c), guarded by p11_mu.
     * Lock order: p11_mu before seal_lock (never the other way round). */
    pthread_mutex_t p11_mu;
    char *seal_error;          /* why the last auto-unseal failed; NULL = none */
    bool auto_unseal_off;      /* no auto-unseal until restart: an operator sealed on
                                * purpose, or the failure cannot fix itself (wrong PIN) */
    bool auto_unseal_busy;     /* an attempt is talking to the token */
    int64_t auto_unseal_next;  /* kg_now() of the next retry from kg_kms_tick */
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
/** Install a recovered root key (takes ownership of root): derive the
 *  audit HMAC key and record the unseal in the audit log, as every unseal
 *  path does. A KMS that is already unsealed keeps its key. */
void kms_install_root(kg_kms *kms, kg_secret *root);
/** Whether the root key is in memory now. */
bool kms_is_unsealed(kg_kms *kms);
/** Lock helpers: take the read lock and fail with KG_ERR_SEALED (and a
 *  message saying how to unseal) when sealed. Pair with kms_unlock. */
kg_err kms_rdlock_unsealed(kg_kms *kms);
void kms_unlock(kg_kms *kms);

/* ---- seal_pkcs11.c: auto-unseal with a key inside a PKCS#11 token ---- */
/** Name of the AES-GCM AAD and the default CKA_LABEL/CKA_ID of the seal key. */
#define KMS_P11_DEFAULT_KEY_LABEL "kashguard-root-key"
kg_err kms_p11_open(kg_kms *kms);
void kms_p11_close(kg_kms *kms);
/** At init with cfg.seal_pkcs11_module set: find or generate the seal key
 *  on the token and add "seal_type":"pkcs11", "root_key_hsm" (b64 of
 *  iv || ct || tag), "pkcs11_token" and "pkcs11_key_label" to seal_row.
 *  Without a module: "seal_type":"shamir". */
kg_err kms_p11_seal_root(kg_kms *kms, json_t *seal_row, const kg_secret *root);
/** Try to auto-unseal now (open; kg_kms_tick when due unless force is
 *  false and the retry time has not come). Records or clears seal_error. */
void kms_p11_auto_unseal(kg_kms *kms, bool force);
/** Add "seal_type" (and "seal_error" when the last attempt failed) to a
 *  status document; seal_row is the stored sys/seal row or NULL. */
void kms_p11_status(kg_kms *kms, json_t *st, const json_t *seal_row);
/** An operator sealed: stop auto-unsealing until the KMS is reopened. */
void kms_p11_on_seal(kg_kms *kms);

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
/** Whether s is a key id ("k-" + 24 lowercase hex digits). */
bool kms_is_key_id(const char *s);
/** Resolve ref (id or alias) to metadata. KG_ERR_NOT_FOUND with a clear message. */
kg_err kms_key_resolve(kg_kms *kms, kg_store_txn *txn, json_t **meta, const char *ref);
/** Load and unseal the material of one version (and its public key DER when asymmetric). */
kg_err kms_key_material(kg_kms *kms, kg_secret **material, kg_bytes *pub_der,
                        const char *key_id, unsigned version);
/** The alias of a key if it has one, else its id (for messages). */
const char *kms_key_name(const json_t *meta);
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

/* ---- ops.c: shared by ops_crypt.c, ops_sign.c and hsm_keys.c ---- */
/** "key_id" and "current_version" of key metadata. */
const char *kms_key_id(const json_t *meta);
unsigned kms_key_version(const json_t *meta);
/** Whether the key's spec allows `what` ("encrypt_decrypt", "sign_verify",
 *  "generate_verify_mac"), and the KG_ERR_WRONG_KEY_USAGE saying it cannot `op`. */
bool kms_key_usage_has(const json_t *meta, const char *what);
kg_err kms_key_wrong_usage(const json_t *meta, const char *op);
/** {"key_id","version"}: the info document every operation returns. */
json_t *kms_op_info(const json_t *meta, unsigned version);
/** Resolve ref, authorize action on it and check the key is usable, with
 *  the read lock already held; *meta is NULL on error. */
kg_err kms_op_resolve(kg_kms *kms, const kg_kms_caller *who, json_t **meta,
                      const char *ref, const char *action);
/** The stored public key (SPKI DER) of version v, read without unsealing material. */
kg_err kms_key_public_der(kg_kms *kms, kg_bytes *pub, const char *id, unsigned v);
/** out = a || b (malloc'd). */
kg_err kms_bytes_join(kg_bytes *out, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* ---- hsm_keys.c: HSM-protected keys ("protection":"hsm") ---- */
#define KMS_HSM_GROUP_MAX 72
/** Whether meta is an HSM-protected key (no material in the store). */
bool kms_key_is_hsm(const json_t *meta);
/** Its "hsm_group" ("" when none). */
const char *kms_key_hsm_group(const json_t *meta);
/** "protection" / "hsm_group" of a create request. */
kg_err kms_hsm_parse_protection(const json_t *req, bool *hsm, const char **group);
/** Check spec for HSM protection and choose the group: requested, else
 *  cfg.hsm_default_group, else the only group. 400 / 404 with the reason. */
kg_err kms_hsm_pick_group(kg_kms *kms, const kms_key_spec *spec, const char *requested,
                          char group[static KMS_HSM_GROUP_MAX]);
/** A key version generated in the HSM group before the transaction that records it. */
typedef struct {
    char group[KMS_HSM_GROUP_MAX];
    char hsm_id[KG_HSM_MAX_ID + 1];  /* CKA_ID "<key_id>/<version>" */
    unsigned version;
    kg_bytes pub;                    /* SPKI for asymmetric specs */
    bool made;
} kms_hsm_version;
kg_err kms_hsm_version_new(kg_kms *kms, kms_hsm_version *hv, const kms_key_spec *spec,
                           const char *group, const char *key_id, unsigned version);
/** Free hv; with destroy (the store did not record it) destroy it in the HSM. */
void kms_hsm_version_drop(kg_kms *kms, kms_hsm_version *hv, bool destroy);
/** The version row {"hsm_id","public_key_der"?,"created_at"}. */
json_t *kms_hsm_version_row(const kms_hsm_version *hv);
/** Destroy every version of a (now destroyed) HSM key in its group; logs failures. */
void kms_hsm_destroy_versions(kg_kms *kms, const json_t *meta);
/** At open: re-tell the fleet (kg_hms_key_forget) about every version of
 *  every destroyed HSM key, so none comes back from a member that missed
 *  its destruction. Errors are logged. */
void kms_hsm_forget_destroyed(kg_kms *kms);
/** AES-256-GCM on the HSM: body = iv(12) || ct || tag(16) with a random IV. */
kg_err kms_hsm_aes_encrypt(kg_kms *kms, kg_bytes *body, const json_t *meta, unsigned v,
                           const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len);
/** The inverse; KG_ERR_DECRYPT for any authentication failure. */
kg_err kms_hsm_aes_decrypt(kg_kms *kms, kg_secret **pt, const json_t *meta, unsigned v,
                           const uint8_t *aad, size_t aad_len, const uint8_t *body, size_t body_len);
/** RSA-OAEP-SHA-256 decrypt on the HSM with label as the OAEP label. */
kg_err kms_hsm_rsa_decrypt(kg_kms *kms, kg_secret **pt, const json_t *meta, unsigned v,
                           const uint8_t *label, size_t label_len, const uint8_t *ct, size_t ct_len);
/** Sign on the HSM; ECDSA normalised to low-S in DER or raw form. */
kg_err kms_hsm_sign(kg_kms *kms, kg_bytes *sig, const json_t *meta, unsigned v, kg_crypto_input input,
                    kg_crypto_sig_format fmt, const uint8_t *data, size_t len);
/** Add the HSM version hv to meta inside txn (as kms_key_add_version). */
kg_err kms_key_add_hsm_version(kg_kms *kms, kg_store_txn *txn, json_t *meta,
                               const kms_hsm_version *hv);

#endif
