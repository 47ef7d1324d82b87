/* The audit log core, shared by audit_log.c (the writer), audit_verify.c
 * (the offline verifier) and audit.c (the KMS glue: keys, store, HMAC).
 *
 * The writer and the verifier need no KMS handle, no store and no seal, so
 * they are tested on plain files; the glue adds the sealed signing key and
 * the store's copy of the latest checkpoint.
 *
 * Entry hash: hash = SHA-256(prev_bytes(32) || canonical JSON of the entry
 * without "hash"), canonical = jansson JSON_SORT_KEYS | JSON_COMPACT. The
 * line on disk is the canonical JSON of the entry with "hash", then '\n'.
 * Checkpoint signature: Ed25519 over
 *   "kashguard-audit-checkpoint:" || checkpoint_seq (8 bytes BE) || head (32). */
#ifndef KASHGUARD_KMS_AUDIT_INT_H
#define KASHGUARD_KMS_AUDIT_INT_H

#include <pthread.h>
#include "kms_int.h"

#define KMS_AUDIT_CKPT_DOMAIN "kashguard-audit-checkpoint:"
#define KMS_AUDIT_CKPT_MSG_BYTES (sizeof(KMS_AUDIT_CKPT_DOMAIN) - 1 + 8 + 32)
#define KMS_AUDIT_LINE_MAX (1u << 20)   /* longest entry accepted / read */
#define KMS_AUDIT_CKPT_INTERVAL 60      /* seconds, for kms_audit_tick */

struct kms_audit {
    pthread_mutex_t mu;            /* guards everything below but store_* */
    pthread_cond_t cv;             /* signalled when a batch is durable or failed */
    int fd;                        /* O_APPEND */
    char *path;
    bool fsync;
    unsigned checkpoint_every;     /* 0 = only time/seal/close checkpoints */

    uint64_t seq;                  /* last seq handed out */
    uint8_t head[32];              /* hash of entry `seq` (zeros when empty) */
    uint64_t durable;              /* highest seq known to be on disk */
    bool failed;                   /* a write/fsync failed: refuse everything */
    bool writing;                  /* a leader is writing a batch */
    char *pend;                    /* lines not yet handed to a leader */
    size_t pend_len, pend_cap;

    uint64_t since_ckpt;           /* entries since the last checkpoint */
    int64_t ckpt_time;             /* when the last checkpoint was written */
    kg_secret *seed;               /* Ed25519 seed while unsealed, else NULL */
    uint8_t pub[32];               /* its raw public key */

    pthread_mutex_t store_mu;      /* orders puts of audit/checkpoint */
    uint64_t stored_ckpt_seq;
};

/* ---- audit_log.c ---- */
/** Open (create 0600) the log at path and continue its chain. A partial last
 *  line (a write torn by a crash: never acknowledged) is truncated away with
 *  a warning. KG_ERR_IO | KG_ERR_AUDIT (last line unreadable). */
kg_err audit_log_open(kms_audit **out, const char *path, bool fsync,
                      unsigned checkpoint_every) KG_WARN_UNUSED;
void audit_log_close(kms_audit *a);
/** Give the log its signing key (a copy of the 32-byte seed is kept). */
kg_err audit_log_set_key(kms_audit *a, const kg_secret *seed) KG_WARN_UNUSED;
void audit_log_clear_key(kms_audit *a);
/** Append and wait until durable (group commit). Adds seq, time, prev and
 *  hash to entry. *checkpoint receives a checkpoint entry appended right
 *  after it when one was due (else NULL). KG_ERR_AUDIT on any failure. */
kg_err audit_log_append(kms_audit *a, json_t *entry, json_t **checkpoint) KG_WARN_UNUSED;
/** Chain and queue entry without waiting for the disk: the next
 *  audit_log_append (by any thread) writes it in its batch, and fails if
 *  that write fails. KG_ERR_AUDIT when the log has already failed. */
kg_err audit_log_enqueue(kms_audit *a, json_t *entry, json_t **checkpoint) KG_WARN_UNUSED;
/** Write a checkpoint now when a key is present, entries were added since
 *  the last one and at least min_interval seconds passed. *checkpoint =
 *  the entry written, or NULL when none was due. */
kg_err audit_log_checkpoint(kms_audit *a, json_t **checkpoint, int64_t min_interval) KG_WARN_UNUSED;

/** The hash of an entry as above, using its own "prev" field (64 hex).
 *  KG_ERR_BAD_INPUT when prev is missing or not hex. */
kg_err audit_entry_hash(uint8_t out[static 32], const json_t *entry) KG_WARN_UNUSED;
void audit_ckpt_message(uint8_t out[static KMS_AUDIT_CKPT_MSG_BYTES], uint64_t seq,
                        const uint8_t head[static 32]);
/** An Ed25519 public key from base64 of the raw 32 bytes or of its SPKI. */
kg_err audit_pub_decode(uint8_t out[static 32], const char *b64) KG_WARN_UNUSED;
/** SPKI DER of a raw Ed25519 public key (for kg_crypto_verify). */
void audit_pub_spki(uint8_t out[static 44], const uint8_t raw[static 32]);

/* ---- audit_verify.c ---- */
/** Verify the file at path (see kg_kms_audit_verify). pinned: the trusted
 *  public key or NULL (then the first checkpoint's key is used and the
 *  report says so); key_source names where pinned came from. stored_cp: the
 *  store's latest checkpoint entry or NULL. */
kg_err audit_verify_file(json_t **report, const char *path, const uint8_t *pinned,
                         const char *key_source, const json_t *stored_cp) KG_WARN_UNUSED;

#endif
