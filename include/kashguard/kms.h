/* KashGuard KMS: keys, versions, lifecycle, crypto operations, the seal,
 * tokens, policies and the tamper-evident audit log.
 *
 * The KMS sits on the crypto and store layers and knows nothing of HTTP:
 * the server layer parses requests, calls one function here, and renders
 * the result. Every function that acts for a client takes the caller
 * (kg_kms_caller) and enforces the caller's policies itself, so no entry
 * point can forget a check (and later the MPC nodes can run the same code).
 *
 * Objects are returned as JSON (json_t *, caller owns the reference): the
 * same documents the REST API returns, so the handlers stay one line. Key
 * metadata looks like
 *   {"key_id":"k-...","alias":"payments","spec":"AES_256","usage":"encrypt_decrypt",
 *    "state":"enabled","origin":"generated","created_at":"...","current_version":2,
 *    "rotation_period":"90d","next_rotation_at":"...","deletion_date":null,
 *    "versions":[{"version":1,"state":"enabled","created_at":"..."},...]}
 *
 * The seal: all key material in the store is encrypted under the root key
 * with AES-256-GCM, with AAD binding it to the key id and version. The root
 * key is itself encrypted under an unseal key that is split with Shamir
 * (kg_crypto_shamir_split) into N shares, T of which unseal. While sealed,
 * only the sys calls work (KG_ERR_SEALED otherwise).
 *
 * Threading: a kg_kms may be shared by all server threads. State shared
 * between nodes lives in the store; nothing here assumes a single process. */
#ifndef KASHGUARD_KMS_H
#define KASHGUARD_KMS_H

#include "base.h"
#include "crypto.h"
#include "hsm.h"
#include "store.h"

typedef struct kg_kms kg_kms;

typedef struct {
    const char *data_dir;          /* the audit log is <data_dir>/audit.log */
    int64_t min_deletion_wait;     /* seconds; schedule-deletion refuses shorter waits (default 7 days) */
    int64_t default_deletion_wait; /* seconds; default 30 days */
    bool audit_fsync;              /* fdatasync every audit batch (default true) */
    unsigned audit_checkpoint_every; /* entries between signed checkpoints (default 1000) */

    /* HSM-protected keys (docs/hsm.md): keys created with "protection":"hsm"
     * live in a group of the fleet manager. NULL hms: such requests fail
     * with a clear error. */
    kg_hms *hms;                    /* not owned */
    const char *hsm_default_group;  /* group when a request names none; NULL = the only group */

    /* Auto-unseal (config `seal "pkcs11" { ... }`): the root key is also
     * stored encrypted under an AES-256 key inside the HSM (AES-GCM on the
     * token), so the KMS unseals itself at open when the token is reachable
     * and stays sealed with the reason in kg_kms_status otherwise (retried by
     * kg_kms_tick). The Shamir shares of init remain recovery keys.
     * NULL module = no auto-unseal. */
    const char *seal_pkcs11_module;
    const char *seal_pkcs11_token;        /* token label */
    const kg_secret *seal_pkcs11_pin;     /* not owned; read from a file or env by the caller */
    const char *seal_pkcs11_key_label;    /* default "kashguard-root-key" */
} kg_kms_config;

/** Fill cfg with the defaults above (data_dir = "./data"). */
void kg_kms_config_default(kg_kms_config *cfg);

/** Open the KMS on an open store (not owned). Opens the audit log.
 *  The KMS starts sealed (or uninitialised). */
kg_err kg_kms_open(kg_kms **out, kg_store *st, const kg_kms_config *cfg) KG_WARN_UNUSED;
/** Write a final audit checkpoint when unsealed, seal, close the audit log, free. */
void kg_kms_close(kg_kms *kms);

/* --------------------------------------------------------------- callers */

/** Who is asking. Built by kg_kms_token_authenticate() from a bearer token,
 *  or kg_kms_caller_system() for the server's own work (dev bootstrap,
 *  automatic rotation). Callers own and free it with kg_kms_caller_free. */
typedef struct kg_kms_caller kg_kms_caller;

/** Resolve a bearer token to a caller. Returns KG_OK |
 *  KG_ERR_UNAUTHENTICATED (unknown, revoked or expired token; the detail
 *  says which, without echoing the token) | KG_ERR_SEALED. */
kg_err kg_kms_token_authenticate(kg_kms *kms, kg_kms_caller **out, const char *token) KG_WARN_UNUSED;
kg_kms_caller *kg_kms_caller_system(void);
void kg_kms_caller_free(kg_kms_caller *c);
/** The token's accessor (safe to log/audit; never the token), or "system". */
const char *kg_kms_caller_accessor(const kg_kms_caller *c);
/** The caller's display name and policies as JSON (for audit / lookup-self). */
json_t *kg_kms_caller_json(const kg_kms_caller *c);

/* ------------------------------------------------------------------ sys */

/** {"initialized":bool,"sealed":bool,"threshold":T,"shares":N,"progress":k,"version":"...",
 *   "seal_type":"shamir"|"pkcs11","seal_error"?:"why auto-unseal failed (while sealed)"} */
json_t *kg_kms_status(kg_kms *kms);

/** Initialise: make the root key and N unseal shares (threshold T), the
 *  audit signing key and a root token. Leaves the KMS sealed, except with
 *  cfg.seal_pkcs11_module: then the root key is also sealed by a key on the
 *  token (found or generated there) and the KMS is left unsealed; the shares
 *  are recovery keys. A token problem fails init and stores nothing.
 *  *out = {"unseal_keys":[b64...],"root_token":"kg.…","audit_public_key":"b64"}:
 *  shown once, never stored in plaintext. KG_ERR_ALREADY_INIT | KG_ERR_BAD_INPUT. */
kg_err kg_kms_init(kg_kms *kms, json_t **out, unsigned shares, unsigned threshold) KG_WARN_UNUSED;
/** Submit one unseal share (base64). When T distinct shares are in, the
 *  root key is recovered and checked; a wrong combination resets progress
 *  and returns KG_ERR_UNSEAL_KEY. *out = the status document. */
kg_err kg_kms_unseal(kg_kms *kms, json_t **out, const char *share_b64) KG_WARN_UNUSED;
/** Forget any unseal progress. */
void kg_kms_unseal_reset(kg_kms *kms);
/** Seal: wipe the root key from memory. Requires a caller allowed "seal".
 *  With seal "pkcs11" it also stops automatic unsealing until the KMS is
 *  reopened (server restart): an operator's seal is deliberate. */
kg_err kg_kms_seal(kg_kms *kms, const kg_kms_caller *who) KG_WARN_UNUSED;

/** Dev mode: on a fresh data dir, init with one share and write the share to
 *  <data_dir>/dev-unseal.key and the root token to <data_dir>/root.token
 *  (mode 0600); on an existing one, read them back. Then unseal.
 *  *root_token gets a malloc'd copy of the root token. */
kg_err kg_kms_dev_bootstrap(kg_kms *kms, char **root_token) KG_WARN_UNUSED;

/** Periodic work (automatic rotation due, deletions due to be destroyed,
 *  time-based audit checkpoint). Call every few seconds. While sealed it
 *  only retries a failed seal "pkcs11" auto-unseal, every 5 s (not after a
 *  wrong or locked PIN, which would use up the token's PIN tries, nor after
 *  an operator's kg_kms_seal: those wait for a restart). */
void kg_kms_tick(kg_kms *kms);

/* ----------------------------------------------------------------- keys */

/* Key specs: "AES_256", "HMAC_256", "ECC_NIST_P256", "ECC_SECG_P256K1",
 * "ED25519", "RSA_3072", "RSA_4096". Key references (`ref`) are a key id
 * ("k-…") or an alias. */

/** Create a key. req: {"spec":..., "alias"?, "description"?, "rotation_period"?: "90d"}.
 *  *out = key metadata. KG_ERR_BAD_INPUT | KG_ERR_CONFLICT (alias taken) |
 *  KG_ERR_DENIED | KG_ERR_SEALED. */
kg_err kg_kms_key_create(kg_kms *kms, const kg_kms_caller *who, json_t **out, const json_t *req) KG_WARN_UNUSED;
kg_err kg_kms_key_get(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref) KG_WARN_UNUSED;
/** Live (not destroyed) keys by protection, for the metrics endpoint. Works
 *  sealed too (reads metadata only); no caller check. */
kg_err kg_kms_key_counts(kg_kms *kms, uint64_t *software, uint64_t *hsm) KG_WARN_UNUSED;
/** {"keys":[metadata...],"next_cursor":"..."|null}; limit 1..1000 (0 = 100). */
kg_err kg_kms_key_list(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                       size_t limit, const char *cursor) KG_WARN_UNUSED;
/** Add a new version that becomes current. */
kg_err kg_kms_key_rotate(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref) KG_WARN_UNUSED;
kg_err kg_kms_key_enable(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref) KG_WARN_UNUSED;
kg_err kg_kms_key_disable(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref) KG_WARN_UNUSED;
/** req: {"waiting_period":"30d"} (optional). The key becomes unusable at once
 *  and its material is destroyed when the period ends (kg_kms_tick). */
kg_err kg_kms_key_schedule_deletion(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                                    const char *ref, const json_t *req) KG_WARN_UNUSED;
kg_err kg_kms_key_cancel_deletion(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref) KG_WARN_UNUSED;
/** Update alias / description / rotation_period. req: any of those fields. */
kg_err kg_kms_key_update(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                         const char *ref, const json_t *req) KG_WARN_UNUSED;

/** BYOK step 1: a fresh RSA-3072 wrapping key, valid 24 h.
 *  *out = {"import_token":"…","public_key_pem":"…","wrapping_algorithm":
 *  "RSA_AES_KEY_WRAP_SHA_256"|"RSAES_OAEP_SHA_256","expires_at":"…"}. */
kg_err kg_kms_import_params(kg_kms *kms, const kg_kms_caller *who, json_t **out) KG_WARN_UNUSED;
/** BYOK step 2. req: {"spec":…,"alias"?,"import_token":…,"wrapped_material":b64,
 *  "wrapping_algorithm":…}. RSAES_OAEP_SHA_256: material OAEP-encrypted directly.
 *  RSA_AES_KEY_WRAP_SHA_256 (PKCS#11 CKM_RSA_AES_KEY_WRAP): a fresh AES-256 key
 *  OAEP-encrypted (first 384 bytes) followed by the material wrapped with it by
 *  AES key wrap with padding (RFC 5649). Material: 32 raw bytes for AES_256 and
 *  HMAC_256, PKCS#8 DER for asymmetric specs. */
kg_err kg_kms_key_import(kg_kms *kms, const kg_kms_caller *who, json_t **out, const json_t *req) KG_WARN_UNUSED;

/** Public key of the current (or given, version > 0) version of an asymmetric key.
 *  *out = {"key_id","version","spec","public_key_pem","public_key":b64 raw,"public_key_der":b64 SPKI}. */
kg_err kg_kms_public_key(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                         const char *ref, unsigned version) KG_WARN_UNUSED;

/* ------------------------------------------------------------ operations */

/* The encryption context is a JSON object of string values (or NULL = none).
 * It is bound as AAD in canonical form (keys sorted), so decrypt must present
 * the same context. Ciphertexts are self-describing: they carry the key id
 * and version (see docs/kms.md, "Ciphertext format"), so decrypt finds the
 * key by itself; when ref is not NULL it must name the same key. */

/** Encrypt pt under the current version of an AES_256 key (or RSA_*: OAEP,
 *  small payloads). *ct = self-describing ciphertext. *info = {"key_id","version"}. */
kg_err kg_kms_encrypt(kg_kms *kms, const kg_kms_caller *who, kg_bytes *ct, json_t **info,
                      const char *ref, const json_t *context,
                      const uint8_t *pt, size_t pt_len) KG_WARN_UNUSED;
/** KG_ERR_DECRYPT for a wrong context or a damaged ciphertext, one message for all. */
kg_err kg_kms_decrypt(kg_kms *kms, const kg_kms_caller *who, kg_secret **pt, json_t **info,
                      const char *ref, const json_t *context,
                      const uint8_t *ct, size_t ct_len) KG_WARN_UNUSED;
/** Decrypt under its key and encrypt under dst_ref inside the server
 *  (needs "decrypt" on the source key and "re-encrypt" on the destination). */
kg_err kg_kms_reencrypt(kg_kms *kms, const kg_kms_caller *who, kg_bytes *ct, json_t **info,
                        const char *dst_ref, const json_t *src_context, const json_t *dst_context,
                        const uint8_t *src_ct, size_t src_ct_len) KG_WARN_UNUSED;
/** A fresh data key of key_bytes (16..64, default 32) bytes and its ciphertext under ref.
 *  pt may be NULL (generate-data-key-without-plaintext). */
kg_err kg_kms_data_key(kg_kms *kms, const kg_kms_caller *who, kg_secret **pt, kg_bytes *ct,
                       json_t **info, const char *ref, const json_t *context,
                       size_t key_bytes) KG_WARN_UNUSED;

/** Sign a message or a 32-byte SHA-256 digest with the current version.
 *  format: KG_CRYPTO_SIG_DER (default) or RAW for ECDSA. */
kg_err kg_kms_sign(kg_kms *kms, const kg_kms_caller *who, kg_bytes *sig, json_t **info,
                   const char *ref, kg_crypto_input input, kg_crypto_sig_format format,
                   const uint8_t *data, size_t data_len) KG_WARN_UNUSED;
/** Verify against every enabled version (or only `version` when > 0).
 *  KG_OK | KG_ERR_VERIFY. *info = {"key_id","version" (the one that verified)}. */
kg_err kg_kms_verify(kg_kms *kms, const kg_kms_caller *who, json_t **info,
                     const char *ref, unsigned version, kg_crypto_input input,
                     kg_crypto_sig_format format, const uint8_t *data, size_t data_len,
                     const uint8_t *sig, size_t sig_len) KG_WARN_UNUSED;
/** HMAC-SHA256 with the current version of a HMAC_256 key. */
kg_err kg_kms_mac(kg_kms *kms, const kg_kms_caller *who, kg_bytes *mac, json_t **info,
                  const char *ref, const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED;
/** Constant-time check against every enabled version. KG_OK | KG_ERR_VERIFY. */
kg_err kg_kms_verify_mac(kg_kms *kms, const kg_kms_caller *who, json_t **info,
                         const char *ref, const uint8_t *msg, size_t msg_len,
                         const uint8_t *mac, size_t mac_len) KG_WARN_UNUSED;
/** 1..1024 random bytes (needs the "random" action; works only unsealed). */
kg_err kg_kms_random(kg_kms *kms, const kg_kms_caller *who, kg_bytes *out, size_t len) KG_WARN_UNUSED;

/* ---------------------------------------------------- tokens and policies */

/* Tokens look like "kg." followed by 43 base64url characters. Only their
 * SHA-256 is stored. Every token has an accessor (safe to show and log) that
 * names it for lookup and revocation. The root token carries the built-in
 * policy "root" (everything). Others carry named policies:
 *   {"name":"payments-app","rules":[
 *      {"keys":["payments","k-3f*"],"actions":["encrypt","decrypt","describe"]},
 *      {"actions":["create-key","list-keys","random"]}]}
 * A rule with "keys" applies to key actions on keys whose id or alias
 * matches a pattern ('*' matches any run of characters, '?' one); a rule
 * without "keys" applies to any key and to the global actions. Anything not
 * allowed by some rule is denied (default deny).
 * Key actions: describe, encrypt, decrypt, re-encrypt, data-key, sign, verify,
 * mac, verify-mac, get-public-key, rotate, enable, disable, schedule-deletion,
 * cancel-deletion, update, create-key (matched against the new alias).
 * Global actions: list-keys, import-key, random, seal, read-audit,
 * manage-policies, manage-tokens (create child tokens with a subset of one's
 * own policies is always allowed; manage-tokens allows any policies and
 * revoking others' tokens). "*" allows every action. */

/** req: {"policies":["a","b"],"ttl":"24h","display_name"?,"renewable"?:true,
 *  "explicit_max_ttl"?}. *out = {"token":"kg.…","accessor","policies","expires_at",…}. */
kg_err kg_kms_token_create(kg_kms *kms, const kg_kms_caller *who, json_t **out, const json_t *req) KG_WARN_UNUSED;
/** Lookup by accessor (NULL = the caller's own token). */
kg_err kg_kms_token_lookup(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *accessor) KG_WARN_UNUSED;
/** Extend by increment seconds (0 = the token's ttl), capped at explicit_max_ttl. */
kg_err kg_kms_token_renew(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                          const char *accessor, int64_t increment) KG_WARN_UNUSED;
/** Revoke by accessor (NULL = the caller's own token). */
kg_err kg_kms_token_revoke(kg_kms *kms, const kg_kms_caller *who, const char *accessor) KG_WARN_UNUSED;

kg_err kg_kms_policy_put(kg_kms *kms, const kg_kms_caller *who, json_t **out, const json_t *doc) KG_WARN_UNUSED;
kg_err kg_kms_policy_get(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *name) KG_WARN_UNUSED;
kg_err kg_kms_policy_list(kg_kms *kms, const kg_kms_caller *who, json_t **out) KG_WARN_UNUSED;
kg_err kg_kms_policy_delete(kg_kms *kms, const kg_kms_caller *who, const char *name) KG_WARN_UNUSED;

/** Check one action. key_meta is the key's metadata for key actions, NULL
 *  for global ones; new_alias is the alias for create-key. KG_OK, or
 *  KG_ERR_DENIED with a detail naming the token accessor, the action and the
 *  key, and saying which policy would allow it. The KMS calls this itself in
 *  every function above; it is public for the server's own routes. */
kg_err kg_kms_authorize(kg_kms *kms, const kg_kms_caller *who, const char *action,
                        const json_t *key_meta) KG_WARN_UNUSED;

/* ----------------------------------------------------------------- audit */

/* The audit log is a file of JSON lines, <data_dir>/audit.log. Each entry
 * carries "seq" (1, 2, …), "prev" (the previous entry's hash) and "hash" =
 * SHA-256 over prev and the entry's canonical JSON without "hash". Every
 * audit_checkpoint_every entries (and at seal and shutdown) a "checkpoint"
 * entry signs (seq, hash) with the Ed25519 audit key; the latest checkpoint
 * is also kept in the store, so a truncated log is detected. Identifying
 * fields (token accessors, remote addresses, aliases in requests) are
 * HMAC-SHA256'd with a key derived from the root key ("hmac-sha256:…");
 * secrets, plaintexts and tokens are never written. */

/** Append one entry (the server builds it: type, request fields, status) and
 *  make it durable before returning. Fails closed: on any error the caller
 *  must fail the request with KG_ERR_AUDIT. Thread-safe with group commit. */
kg_err kg_kms_audit_append(kg_kms *kms, json_t *entry) KG_WARN_UNUSED;
/** Append without waiting for the disk: the entry is chained and queued, and
 *  the next kg_kms_audit_append (from any thread) makes it durable in the
 *  same batch, or fails if it cannot. The server uses it for the request
 *  entry of a request that changes nothing, whose response entry then waits
 *  for both: nothing is released before its record is on disk, at the cost
 *  of one disk flush per request instead of two. */
kg_err kg_kms_audit_enqueue(kg_kms *kms, json_t *entry) KG_WARN_UNUSED;
/** HMAC an identifying value for the audit log ("hmac-sha256:<hex>"); while
 *  sealed, returns "sealed:sha256:<hex>" of a salted hash instead. malloc'd. */
char *kg_kms_audit_hmac(kg_kms *kms, const char *value);
/** Read the last `limit` entries (after seq `after` when > 0):
 *  {"entries":[...],"next":seq}. Needs "read-audit". */
kg_err kg_kms_audit_read(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                         uint64_t after, size_t limit) KG_WARN_UNUSED;

/** Verify an audit log offline: `path` is the log file or a data dir (then
 *  the store's latest checkpoint and audit public key are checked too).
 *  public_key_b64 (may be NULL) pins the audit key. *report =
 *  {"ok":bool,"entries":N,"checkpoints":M,"first_bad_seq":…,"first_bad_line":…,"reason":"…"}.
 *  Returns KG_OK when intact, KG_ERR_AUDIT_TAMPERED (with the reason) when not,
 *  KG_ERR_IO when unreadable. */
kg_err kg_kms_audit_verify(json_t **report, const char *path, const char *public_key_b64) KG_WARN_UNUSED;

#endif
