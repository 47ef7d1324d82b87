/* KashGuard hsm layer: the PKCS#11 client (foundation of the HSM backing
 * for the KMS and the HSM fleet manager).
 *
 * A module (a PKCS#11 shared library such as SoftHSM2's
 * /usr/lib/softhsm/libsofthsm2.so) is loaded once per path and reference
 * counted, so two users of one module do not C_Initialize it twice. A token
 * is opened by label with a PIN into a kg_hsm_token: a thread-safe, bounded
 * pool of logged-in sessions. An operation that fails with
 * CKR_SESSION_HANDLE_INVALID / CKR_SESSION_CLOSED / CKR_USER_NOT_LOGGED_IN
 * (fresh session and re-login) or CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT
 * (reconnect: drop the pool, find the token by label again, log in again)
 * is retried once.
 *
 * Keys are generated on the token, sensitive and non-extractable, with a
 * label and a CKA_ID. Every PKCS#11 failure becomes a kg_err whose detail
 * names the function and the CKR_ code ("C_Sign on token 'kg-test':
 * CKR_KEY_HANDLE_INVALID"). PINs are held only in kg_secret memory and never
 * appear in a detail or a log line.
 *
 * No PKCS#11 types appear here: slot ids, flags and mechanisms are the
 * CK_ULONG values of the PKCS#11 specification as unsigned long. */
#ifndef KASHGUARD_HSM_H
#define KASHGUARD_HSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base.h"

typedef struct kg_hsm_module kg_hsm_module;
typedef struct kg_hsm_token kg_hsm_token;

/* --------------------------------------------------------------- modules */

/** Load the PKCS#11 module at path (dlopen, C_GetFunctionList, C_Initialize
 *  with CKF_OS_LOCKING_OK). A path already loaded returns the same module
 *  with its reference count raised. Returns KG_OK | KG_ERR_NOT_FOUND (no
 *  file at path; the detail names it) | KG_ERR_IO (not a PKCS#11 module) |
 *  KG_ERR_CRYPTO (C_Initialize failed) | KG_ERR_NOMEM. */
kg_err kg_hsm_module_load(kg_hsm_module **out, const char *path) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Drop one reference; the last one calls C_Finalize and unloads. NULL is ignored.
 *  Close every token of the module first. */
void kg_hsm_module_release(kg_hsm_module *m);
/** The path the module was loaded from. */
const char *kg_hsm_module_path(const kg_hsm_module *m);

/** One slot as C_GetSlotInfo / C_GetTokenInfo describe it. Strings are
 *  NUL-terminated with the PKCS#11 blank padding removed; the token fields
 *  are empty/zero when token_present is false. */
typedef struct {
    unsigned long slot_id;
    bool token_present;
    char slot_description[65];
    char label[33];
    char manufacturer[33];
    char model[17];
    char serial[17];
    unsigned long token_flags;         /* CKF_TOKEN_INITIALIZED, CKF_LOGIN_REQUIRED, ... */
    unsigned long free_public_memory;  /* bytes; ULONG_MAX when the token does not say */
    unsigned long free_private_memory;
    unsigned long total_public_memory;
    unsigned long total_private_memory;
} kg_hsm_slot_info;

/** Every slot of m (C_GetSlotList(FALSE)). *out is a malloc'd array of *n
 *  entries for free(). Returns KG_OK | KG_ERR_CRYPTO | KG_ERR_NOMEM. */
kg_err kg_hsm_slots(kg_hsm_module *m, kg_hsm_slot_info **out, size_t *n) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** The mechanisms (CKM_* values) slot_id supports, as a malloc'd array for free(). */
kg_err kg_hsm_mechanisms(kg_hsm_module *m, unsigned long slot_id, unsigned long **out, size_t *n)
    KG_WARN_UNUSED KG_NONNULL(1, 3, 4);

/* ---------------------------------------------------------------- tokens */

/** Default bound of the session pool of a token. */
#define KG_HSM_DEFAULT_SESSIONS 8

/** Open the token labelled label (exact match after blank trimming) and log
 *  in as the user with pin. max_sessions bounds the pool (0 = default);
 *  callers beyond it wait for a free session. The token keeps its own copy of
 *  the PIN in guarded memory for re-login. Returns KG_OK |
 *  KG_ERR_NOT_FOUND (no such token) | KG_ERR_UNAUTHENTICATED ("wrong PIN
 *  for token X") | KG_ERR_DENIED (PIN locked) | KG_ERR_CRYPTO | KG_ERR_NOMEM. */
kg_err kg_hsm_token_open(kg_hsm_token **out, kg_hsm_module *m, const char *label,
                         const kg_secret *pin, size_t max_sessions) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** Close the token's sessions and free it. NULL is ignored. Other users of
 *  the same token in this process keep their login only while one of their
 *  sessions stays open (PKCS#11 login state is per application). */
void kg_hsm_token_close(kg_hsm_token *t);
/** The token's label and current slot id. */
const char *kg_hsm_token_label(const kg_hsm_token *t);
/** Whether the token lists mechanism (CKM_* value). */
bool kg_hsm_token_has_mechanism(kg_hsm_token *t, unsigned long mechanism);

/* ------------------------------------------------------------------ keys */

typedef enum {
    KG_HSM_KEY_AES256,       /* CKK_AES, 32 bytes: AES-256-GCM */
    KG_HSM_KEY_EC_P256,      /* CKK_EC on prime256v1: ECDSA */
    KG_HSM_KEY_EC_SECP256K1, /* CKK_EC on secp256k1: ECDSA */
    KG_HSM_KEY_RSA3072,      /* CKK_RSA, 3072 bits, e = 65537: RSA-PSS SHA-256 */
    KG_HSM_KEY_ED25519,      /* CKK_EC_EDWARDS: EdDSA, only if the token lists it */
} kg_hsm_key_type;

/** Largest CKA_ID accepted. */
#define KG_HSM_MAX_ID 64

/** A reference to a key on a token (no key material). Plain value: copy it
 *  freely; it stays valid while the token handle lives. The object handles
 *  are a cache: after a reconnect the key is found again by CKA_ID. */
typedef struct {
    kg_hsm_key_type type;
    uint8_t id[KG_HSM_MAX_ID];
    size_t id_len;
    unsigned long priv;   /* private or secret key object handle */
    unsigned long pub;    /* public key object handle (0 for AES) */
    unsigned gen;         /* token generation the handles belong to */
} kg_hsm_key;

/** Generate a key of type on t, sensitive and non-extractable, as token
 *  objects labelled label with CKA_ID id. Returns KG_OK | KG_ERR_BAD_INPUT
 *  (empty or too long id) | KG_ERR_CONFLICT (a key with this id exists) |
 *  KG_ERR_WRONG_KEY_USAGE (the token lacks the mechanism, e.g. Ed25519) |
 *  KG_ERR_CRYPTO | KG_ERR_NOMEM. */
kg_err kg_hsm_key_generate(kg_hsm_token *t, kg_hsm_key *out, kg_hsm_key_type type,
                           const char *label, const uint8_t *id, size_t id_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 4, 5);
/** Find the key with CKA_ID id. Returns KG_OK | KG_ERR_NOT_FOUND | KG_ERR_CRYPTO. */
kg_err kg_hsm_key_find(kg_hsm_token *t, kg_hsm_key *out, const uint8_t *id, size_t id_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** CKA_SENSITIVE and CKA_EXTRACTABLE of the key's private/secret object. */
kg_err kg_hsm_key_attrs(kg_hsm_token *t, const kg_hsm_key *key, bool *sensitive, bool *extractable)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** The public key as DER SubjectPublicKeyInfo (EC point with its curve, RSA
 *  modulus and exponent, Ed25519 point). KG_ERR_WRONG_KEY_USAGE for AES. */
kg_err kg_hsm_key_public_der(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/* ------------------------------------------------------------ operations */

#define KG_HSM_GCM_IV_BYTES 12
#define KG_HSM_GCM_TAG_BYTES 16

/** AES-256-GCM (CKM_AES_GCM, 128-bit tag) with a 12-byte IV the caller
 *  never reuses under one key. out gets ciphertext || tag. */
kg_err kg_hsm_aes_gcm_encrypt(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES],
                              const uint8_t *aad, size_t aad_len,
                              const uint8_t *pt, size_t pt_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** The inverse. Returns KG_ERR_DECRYPT when the tag, IV, AAD or ciphertext is wrong. */
kg_err kg_hsm_aes_gcm_decrypt(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES],
                              const uint8_t *aad, size_t aad_len,
                              const uint8_t *ct, size_t ct_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);

typedef enum {
    KG_HSM_SIG_DER, /* ECDSA: DER SEQUENCE { r, s } (X.509 / OpenSSL form) */
    KG_HSM_SIG_RAW, /* ECDSA: r || s, 32 bytes each, big-endian (PKCS#11 form) */
} kg_hsm_sig_format;

/** Sign msg with key:
 *   EC keys:  SHA-256 of msg computed here, then CKM_ECDSA on the token,
 *             returned in fmt (DER or raw r||s). The low-s form is not forced.
 *   RSA keys: CKM_SHA256_RSA_PKCS_PSS, MGF1-SHA-256, 32-byte salt (fmt ignored).
 *   Ed25519:  CKM_EDDSA (pure Ed25519) over msg, 64 bytes (fmt ignored).
 *  KG_ERR_WRONG_KEY_USAGE for AES keys. */
kg_err kg_hsm_sign(kg_hsm_token *t, kg_bytes *sig, const kg_hsm_key *key, kg_hsm_sig_format fmt,
                   const uint8_t *msg, size_t msg_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** ECDSA over a 32-byte digest the caller computed (e.g. a Bitcoin sighash). */
kg_err kg_hsm_sign_digest(kg_hsm_token *t, kg_bytes *sig, const kg_hsm_key *key, kg_hsm_sig_format fmt,
                          const uint8_t digest[32]) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 5);

/** "CKR_PIN_INCORRECT" for rv, or "CKR_0x..." in buf for unknown values. */
const char *kg_hsm_rv_name(unsigned long rv, char buf[static 24]);
/** "CKM_AES_KEY_WRAP_PAD" for mech (every CKM_ of p11-kit's pkcs11.h), or "CKM_0x..." in buf for unknown values. */
const char *kg_hsm_mechanism_name(unsigned long mech, char buf[static 24]);

/* ------------------------------------------- replication (group KEKs) */
/* A group of tokens holds the same keys. A key made for a group is
 * generated on one member as sensitive but wrappable (CKA_EXTRACTABLE true,
 * CKA_SENSITIVE true: it can leave the token only wrapped, never in
 * plaintext), then wrapped under the group's key-encryption key (KEK,
 * CKM_AES_KEY_WRAP_PAD) and unwrapped on every other member. The KEK is an
 * AES-256 key with CKA_WRAP/CKA_UNWRAP that reaches a new member wrapped
 * under an RSA-3072 transport key pair generated on that member
 * (CKM_RSA_PKCS_OAEP), so it never exists in plaintext outside the HSMs. */

/** Flags of kg_hsm_key_generate_ex. */
#define KG_HSM_GEN_WRAPPABLE 1u  /* sensitive but CKA_EXTRACTABLE: for group keys */

/** kg_hsm_key_generate with flags (0 = exactly kg_hsm_key_generate). */
kg_err kg_hsm_key_generate_ex(kg_hsm_token *t, kg_hsm_key *out, kg_hsm_key_type type,
                              const char *label, const uint8_t *id, size_t id_len, unsigned flags)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 4, 5);
/** Destroy the key's objects (private/secret and public). KG_ERR_NOT_FOUND
 *  when it is not on the token. */
kg_err kg_hsm_key_destroy(kg_hsm_token *t, const kg_hsm_key *key) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Every private or secret key object whose CKA_LABEL starts with
 *  label_prefix, as a malloc'd array (free()) of *n keys with type and id
 *  filled (handles too). */
kg_err kg_hsm_key_list(kg_hsm_token *t, kg_hsm_key **out, size_t *n, const char *label_prefix)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);

/** Generate a group KEK (AES-256, CKA_WRAP, CKA_UNWRAP, sensitive,
 *  extractable only for transport) with label and id. */
kg_err kg_hsm_kek_generate(kg_hsm_token *t, kg_hsm_key *out, const char *label,
                           const uint8_t *id, size_t id_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** On the receiving token: make an RSA-3072 transport key pair (session
 *  objects, private non-extractable) and return its public key as SPKI DER. */
kg_err kg_hsm_transport_begin(kg_hsm_token *target, kg_hsm_key *transport, kg_bytes *pub_der)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** On the sending token: wrap kek for the transport public key (imported as
 *  a session object) with CKM_RSA_PKCS_OAEP. */
kg_err kg_hsm_kek_wrap_for(kg_hsm_token *source, kg_bytes *wrapped, const kg_hsm_key *kek,
                           const uint8_t *pub_der, size_t pub_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** On the receiving token: unwrap the KEK as a token object with label and id. */
kg_err kg_hsm_kek_unwrap(kg_hsm_token *target, kg_hsm_key *kek, const kg_hsm_key *transport,
                         const uint8_t *wrapped, size_t wrapped_len, const char *label,
                         const uint8_t *id, size_t id_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4, 6, 7);
/** Destroy the transport key pair. */
void kg_hsm_transport_end(kg_hsm_token *target, const kg_hsm_key *transport);

/** Wrap key under kek (CKM_AES_KEY_WRAP_PAD; private keys as PKCS#8). */
kg_err kg_hsm_key_wrap(kg_hsm_token *t, kg_bytes *wrapped, const kg_hsm_key *kek, const kg_hsm_key *key)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
/** Unwrap as a token key of type with label and id, sensitive and
 *  wrappable; for asymmetric types the public key object is created from
 *  pub_der (SPKI) with the same label and id. */
kg_err kg_hsm_key_unwrap(kg_hsm_token *t, kg_hsm_key *out, const kg_hsm_key *kek, kg_hsm_key_type type,
                         const uint8_t *wrapped, size_t wrapped_len, const char *label,
                         const uint8_t *id, size_t id_len, const uint8_t *pub_der, size_t pub_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 5, 7, 8);

/** RSA-OAEP (SHA-256, MGF1-SHA-256, label as the OAEP source data) decrypt
 *  with an RSA key on the token. The token's CKM_RSA_PKCS_OAEP is used when
 *  it takes SHA-256. Tokens that refuse it (SoftHSM2 2.6 does SHA-1 OAEP
 *  only) but list CKM_RSA_X_509 do the raw RSA private operation, and the
 *  OAEP decoding runs on the host (OpenSSL, constant time, the encoded
 *  message wiped): the private key stays on the token, and the plaintext
 *  was coming to the host anyway. KG_ERR_DECRYPT for any padding, label or
 *  length problem (on the host path one message for all of them: no padding
 *  oracle); KG_ERR_WRONG_KEY_USAGE (detail says so) when the token can do
 *  neither. */
kg_err kg_hsm_rsa_oaep_decrypt(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key,
                               const uint8_t *label, size_t label_len,
                               const uint8_t *ct, size_t ct_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 6);
/** A cheap liveness check: C_GetSessionInfo on a pooled session, logged in. */
kg_err kg_hsm_token_ping(kg_hsm_token *t) KG_WARN_UNUSED KG_NONNULL(1);

/* ================================================================= HMS */
/* The HSM fleet manager: members (one token of one module each), groups of
 * members that hold the same keys, health probes, least-latency balancing,
 * failover and re-synchronisation, metrics.
 *
 * Every PKCS#11 call of a member runs on that member's worker threads; the
 * caller waits at most op_timeout_ms. A call that times out or fails with a
 * device/token/session error counts against the member; after
 * down_after_errors consecutive failures (or one timeout) the member is
 * "down" with the reason and the operation is retried on another healthy
 * member of the group, so callers see a failure only when no member can
 * serve. A probe every probe_interval_ms (login check, sign + verify with
 * the member's probe key) moves members between healthy (probe latency
 * under degraded_latency_ms), degraded (slower, or recent errors) and down;
 * a down member whose probe succeeds again is re-synchronised (keys its
 * groups hold elsewhere and it lacks are replicated to it; group keys it has
 * and the others do not are destroyed) before it serves again.
 *
 * Key identities: the caller (the KMS) chooses the CKA_ID (<= 64 bytes);
 * HMS labels objects "kg/<group>/<id>" so a group's keys can be listed. */

typedef struct kg_hms kg_hms;

typedef enum { KG_HMS_HEALTHY, KG_HMS_DEGRADED, KG_HMS_DOWN, KG_HMS_SYNCING } kg_hms_state;

typedef struct {
    unsigned probe_interval_ms;   /* default 2000 */
    unsigned op_timeout_ms;       /* default 2000: a call that takes longer takes the member out */
    unsigned down_after_errors;   /* default 3 consecutive failed calls */
    unsigned degraded_latency_ms; /* default 250: probe slower than this = degraded */
    unsigned sessions_per_member; /* default KG_HSM_DEFAULT_SESSIONS, also the worker count */
    /* State changes and replication events, for the audit log. event is
     * "member_state" | "key_replicated" | "member_resynced" | "group_created";
     * called from HMS threads without HMS locks held. May be NULL. */
    void (*on_event)(void *ctx, const char *event, const char *member, const char *group,
                     const char *state, const char *reason);
    void *event_ctx;
} kg_hms_config;

void kg_hms_config_default(kg_hms_config *cfg);
/** Start the fleet manager (its probe thread) with no members. */
kg_err kg_hms_open(kg_hms **out, const kg_hms_config *cfg) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Stop the probe thread and workers (a worker stuck in a hung call is
 *  detached), close tokens, release modules. NULL is ignored. */
void kg_hms_close(kg_hms *h);

/** Register a member. With must_open, the module must load and the token
 *  open now (the error is returned and nothing is registered: missing
 *  module -> KG_ERR_NOT_FOUND, wrong PIN -> KG_ERR_UNAUTHENTICATED, ...);
 *  without it (restart from stored registrations) a member that cannot
 *  open is registered as down with the reason and probes retry it.
 *  Names: [A-Za-z0-9_.-]{1,64}; a taken name is KG_ERR_CONFLICT. */
kg_err kg_hms_member_add(kg_hms *h, const char *name, const char *module_path, const char *token_label,
                         const kg_secret *pin, bool must_open) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4, 5);
/** Remove a member: its workers stop and its token closes (sessions and
 *  login end). KG_ERR_NOT_FOUND for an unknown name; KG_ERR_CONFLICT,
 *  naming the groups, while it is in a group. A member down for a wrong
 *  PIN is removed and added again with the right one. */
kg_err kg_hms_member_remove(kg_hms *h, const char *name) KG_WARN_UNUSED KG_NONNULL(1, 2);
/** Members as a JSON array of {name, module, token, state, reason,
 *  latency_ms (EWMA), ops, errors, groups[]}. New reference. */
json_t *kg_hms_members_json(kg_hms *h);
/** One member with discovery: the list entry plus slot {id, description,
 *  manufacturer, model, serial, free/total public/private memory} and
 *  mechanisms (CKM names). KG_ERR_NOT_FOUND for an unknown name. */
kg_err kg_hms_member_show(kg_hms *h, json_t **out, const char *name) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/** Create (or, at restart, re-open) a group of members. Finds the group KEK
 *  ("kg/<group>/kek") on the members that have it, generates it on one
 *  member if none has it, and transports it to the others. A group of one
 *  member makes non-extractable keys and has no KEK. Members must exist
 *  and be up for a new group. */
kg_err kg_hms_group_create(kg_hms *h, const char *name, const char *const *members, size_t n_members)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** Groups as a JSON array of {name, members[], replicated, keys}. */
json_t *kg_hms_groups_json(kg_hms *h);
bool kg_hms_group_exists(kg_hms *h, const char *name);

/** Generate a key in group on one healthy member and replicate it to every
 *  other healthy one (members that are down get it at re-sync). pub_der
 *  (may be NULL) receives the SPKI for asymmetric types. Errors: unknown
 *  group KG_ERR_NOT_FOUND; no member lists the mechanism
 *  KG_ERR_WRONG_KEY_USAGE ("unsupported mechanism ... on group X");
 *  no healthy member KG_ERR_CRYPTO ("no healthy member in group X: ..."). */
kg_err kg_hms_key_generate(kg_hms *h, const char *group, kg_hsm_key_type type, const uint8_t *id,
                           size_t id_len, kg_bytes *pub_der) KG_WARN_UNUSED KG_NONNULL(1, 2, 4);
/** Destroy the key on every member (down members at re-sync). */
kg_err kg_hms_key_destroy(kg_hms *h, const char *group, const uint8_t *id, size_t id_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** Record that the key is destroyed for good, whoever holds it now: the
 *  group's tombstone makes every re-sync destroy it on a member that has it
 *  and never copy it, and it is destroyed now on the serving members that
 *  have it. KG_OK also when no member has it (or none is serving: they drop
 *  it when they come back). The KMS calls it at every start for each
 *  version of its destroyed HSM keys (tombstones live in memory only) and
 *  for each version it destroys. Errors: unknown group KG_ERR_NOT_FOUND,
 *  bad id length KG_ERR_BAD_INPUT. */
kg_err kg_hms_key_forget(kg_hms *h, const char *group, const uint8_t *id, size_t id_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3);

/** Operations on a group key, balanced and failed over as described above.
 *  digest: data is a 32-byte digest (EC keys only), else the message. */
kg_err kg_hms_sign(kg_hms *h, kg_bytes *sig, const char *group, const uint8_t *id, size_t id_len,
                   kg_hsm_sig_format fmt, bool digest, const uint8_t *data, size_t len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);
kg_err kg_hms_aes_gcm_encrypt(kg_hms *h, kg_bytes *out, const char *group, const uint8_t *id, size_t id_len,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES], const uint8_t *aad, size_t aad_len,
                              const uint8_t *pt, size_t pt_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4, 6);
kg_err kg_hms_aes_gcm_decrypt(kg_hms *h, kg_bytes *out, const char *group, const uint8_t *id, size_t id_len,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES], const uint8_t *aad, size_t aad_len,
                              const uint8_t *ct, size_t ct_len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4, 6);
kg_err kg_hms_rsa_oaep_decrypt(kg_hms *h, kg_bytes *out, const char *group, const uint8_t *id, size_t id_len,
                               const uint8_t *label, size_t label_len, const uint8_t *ct, size_t ct_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4, 8);
/** The SPKI DER of an asymmetric group key, read from an up member. */
kg_err kg_hms_key_public_der(kg_hms *h, kg_bytes *pub_der, const char *group, const uint8_t *id, size_t id_len)
    KG_WARN_UNUSED KG_NONNULL(1, 2, 3, 4);

/** Append the HMS metrics in Prometheus text format (HELP/TYPE lines) to
 *  *buf (malloc'd, grown; *buf may be NULL, *len its length):
 *  kashguard_hsm_member_up{member}, kashguard_hsm_member_state{member,state},
 *  kashguard_hsm_operations_total{member,op}, kashguard_hsm_errors_total{member,op},
 *  kashguard_hsm_operation_seconds_bucket/_sum/_count{member,op,le},
 *  kashguard_hsm_failovers_total, kashguard_hsm_keys{group}. */
kg_err kg_hms_metrics(kg_hms *h, char **buf, size_t *len) KG_WARN_UNUSED KG_NONNULL(1, 2, 3);
/** Run one probe round now (tests; the probe thread does this on its own). */
void kg_hms_probe_now(kg_hms *h);
/** State name: "healthy" | "degraded" | "down" | "syncing". */
const char *kg_hms_state_name(kg_hms_state s);

#endif
