/* KashGuard store layer: one small storage interface, with an embedded
 * SQLite backend now and room for PostgreSQL (several nodes) later.
 *
 * The model is Vault's physical backend: an ordered map from string keys
 * ("keys/k-3f9a.../meta", "tokens/<hash>") to opaque byte values, with
 * get/put/create/delete/list-by-prefix, and transactions so that a
 * multi-row change is all-or-nothing. The KMS knows only this interface;
 * a backend is a table of function pointers (kg_store_backend) chosen at
 * open time by the URL scheme ("sqlite:///path/kashguard.db",
 * later "postgres://...").
 *
 * Durability: a put or a committed transaction has reached the disk when the
 * call returns (SQLite WAL with synchronous=FULL), so whatever the API
 * acknowledged survives kill -9.
 *
 * Threading: one kg_store may be used from many threads; calls are
 * serialised inside the backend where the engine needs it. A kg_store_txn
 * belongs to the thread that began it. */
#ifndef KASHGUARD_STORE_H
#define KASHGUARD_STORE_H

#include "base.h"

typedef struct kg_store kg_store;
typedef struct kg_store_txn kg_store_txn;

/** Open (creating and migrating when needed) the store at url:
 *  "sqlite:///abs/path.db", "sqlite://rel/path.db" or a bare file path.
 *  Returns KG_OK | KG_ERR_BAD_INPUT (unknown scheme) | KG_ERR_STORE. */
kg_err kg_store_open(kg_store **out, const char *url) KG_WARN_UNUSED;
void kg_store_close(kg_store *st);

/** Begin a transaction. Writes made through it are seen by its own reads and
 *  by nobody else until kg_store_txn_commit. Exactly one of commit or
 *  rollback must follow (rollback is safe after a failed commit).
 *  A store has at most one open transaction at a time: begin, and every
 *  autocommit write (txn NULL) of other threads, wait until it ends;
 *  autocommit reads do not wait (they see committed data only). So keep
 *  transactions short, and pass the open txn to every call the owning
 *  thread makes -- an autocommit write or a second begin on the thread that
 *  holds a transaction is a contract violation (kg_illegal, KG_ERR_ARG). */
kg_err kg_store_txn_begin(kg_store *st, kg_store_txn **out) KG_WARN_UNUSED;
/** On success the handle is freed. On failure the changes are already rolled
 *  back; call kg_store_txn_rollback to free the handle. */
kg_err kg_store_txn_commit(kg_store_txn *txn) KG_WARN_UNUSED;
void kg_store_txn_rollback(kg_store_txn *txn);

/* Each data call takes an optional txn: NULL means "a transaction of its
 * own" (autocommit). */

/** Read key into out (freshly allocated). KG_ERR_NOT_FOUND when absent. */
kg_err kg_store_get(kg_store *st, kg_store_txn *txn, kg_bytes *out, const char *key) KG_WARN_UNUSED;
/** Insert or replace. */
kg_err kg_store_put(kg_store *st, kg_store_txn *txn, const char *key,
                    const uint8_t *val, size_t val_len) KG_WARN_UNUSED;
/** Insert only: KG_ERR_CONFLICT when key exists (unique aliases, idempotency keys). */
kg_err kg_store_create(kg_store *st, kg_store_txn *txn, const char *key,
                       const uint8_t *val, size_t val_len) KG_WARN_UNUSED;
/** Delete; KG_ERR_NOT_FOUND when absent. */
kg_err kg_store_delete(kg_store *st, kg_store_txn *txn, const char *key) KG_WARN_UNUSED;

/** List the keys starting with prefix, in byte order, strictly after `after`
 *  (NULL or "" for the start), at most limit of them (0 = no limit). The
 *  callback gets each full key and value; returning non-zero stops the walk
 *  (not an error). */
typedef int (*kg_store_list_fn)(void *arg, const char *key, const uint8_t *val, size_t val_len);
kg_err kg_store_list(kg_store *st, kg_store_txn *txn, const char *prefix, const char *after,
                     size_t limit, kg_store_list_fn fn, void *arg) KG_WARN_UNUSED;

/** JSON convenience wrappers over get/put/create (values are compact JSON text). */
kg_err kg_store_get_json(kg_store *st, kg_store_txn *txn, json_t **out, const char *key) KG_WARN_UNUSED;
kg_err kg_store_put_json(kg_store *st, kg_store_txn *txn, const char *key, const json_t *val) KG_WARN_UNUSED;
kg_err kg_store_create_json(kg_store *st, kg_store_txn *txn, const char *key, const json_t *val) KG_WARN_UNUSED;

/* --------------------------------------------------------- backends */

/** A backend: what a PostgreSQL implementation fills in. Each function has
 *  the contract of the public call of the same name; `txn` is never NULL
 *  here (the front end opens one for autocommit calls). commit ends the
 *  transaction whether it succeeds or not (rolling back on failure); the
 *  front end never calls rollback after it. Keys reaching a backend are
 *  non-empty; values may be empty (val may then be NULL). */
typedef struct {
    const char *scheme; /* "sqlite" */
    kg_err (*open)(void **be, const char *location);
    void   (*close)(void *be);
    kg_err (*begin)(void *be, void **txn);
    kg_err (*commit)(void *be, void *txn);
    void   (*rollback)(void *be, void *txn);
    kg_err (*get)(void *be, void *txn, kg_bytes *out, const char *key);
    kg_err (*put)(void *be, void *txn, const char *key, const uint8_t *val, size_t len, bool create_only);
    kg_err (*del)(void *be, void *txn, const char *key);
    kg_err (*list)(void *be, void *txn, const char *prefix, const char *after, size_t limit,
                   kg_store_list_fn fn, void *arg);
    /* Optional: a read-only snapshot transaction for autocommit get/list,
     * ended with commit or rollback. NULL means use begin. */
    kg_err (*begin_read)(void *be, void **txn);
} kg_store_backend;

extern const kg_store_backend kg_store_sqlite_backend;

#endif
