/* The embedded SQLite backend of the store.
 *
 * Data model: one table kv(k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT
 * ROWID. Keys compare with SQLite's BINARY collation (memcmp), which is the
 * byte order kg_store_list promises.
 *
 * Durability: every connection runs journal_mode=WAL with synchronous=FULL,
 * so COMMIT returns only after the WAL has been fsync'ed; an acknowledged put
 * survives kill -9 and power loss. foreign_keys=ON and trusted_schema=OFF are
 * set for hygiene; busy_timeout covers other processes on the same file.
 *
 * Schema: kg_schema(version) records how many entries of kg_migrations[] have
 * been applied. Each migration runs in its own BEGIN IMMEDIATE transaction
 * together with the version bump, re-reading the version inside it, so two
 * processes opening a fresh file at once apply each step exactly once. A
 * database newer than this binary is refused rather than misread.
 *
 * Concurrency: a small pool of KG_SQLITE_POOL connections to the same file.
 *  - Writers: a transaction takes the in-process writer lock (mu/writer_cv)
 *    before BEGIN IMMEDIATE and keeps it until COMMIT or ROLLBACK, so at most
 *    one write transaction exists per store and autocommit writes from other
 *    threads wait for it (FIFO-ish on a condvar, not SQLite's sleep-poll).
 *    A thread that begins a second write transaction while holding one would
 *    deadlock; that is detected and reported through kg_illegal.
 *  - Readers: autocommit reads take any idle connection and run a deferred
 *    read transaction; WAL gives them a consistent snapshot without waiting
 *    for the writer, so reads do not serialise behind a long transaction.
 *    They see only committed data.
 *  Each connection is used by one thread at a time (it is checked out of the
 *    pool), so connections are opened with SQLITE_OPEN_NOMUTEX.
 *  mu protects: the idle flags of the pool and the writer flag/owner.
 *
 * Prepared statements are cached per connection. A statement that is already
 * stepping (a list callback calling back into the store) is not reused; a
 * fresh one is prepared for the nested call and finalized after it. */
#include <kashguard/store.h>

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KG_SQLITE_POOL 4
#define KG_SQLITE_BUSY_MS 10000

enum {
    ST_GET, ST_PUT, ST_CREATE, ST_DEL, ST_LIST_UB, ST_LIST_ALL,
    ST_BEGIN_W, ST_BEGIN_R, ST_COMMIT, ST_ROLLBACK, ST_COUNT_
};

static const char *const kg_sql[ST_COUNT_] = {
    [ST_GET] = "SELECT v FROM kv WHERE k = ?1",
    [ST_PUT] = "INSERT INTO kv(k, v) VALUES(?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [ST_CREATE] = "INSERT OR IGNORE INTO kv(k, v) VALUES(?1, ?2)",
    [ST_DEL] = "DELETE FROM kv WHERE k = ?1",
    [ST_LIST_UB] = "SELECT k, v FROM kv WHERE k >= ?1 AND k > ?2 AND k < ?3 ORDER BY k LIMIT ?4",
    [ST_LIST_ALL] = "SELECT k, v FROM kv WHERE k >= ?1 AND k > ?2 ORDER BY k LIMIT ?4",
    [ST_BEGIN_W] = "BEGIN IMMEDIATE",
    [ST_BEGIN_R] = "BEGIN DEFERRED",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
};

/* Migration i takes the schema from version i to i + 1. Append only. */
static const char *const kg_migrations[] = {
    "CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID",
};
#define KG_SCHEMA_VERSION ((int)(sizeof(kg_migrations) / sizeof(kg_migrations[0])))

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT_];
    bool idle;
} sq_conn;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t conn_cv;   /* a connection became idle */
    pthread_cond_t writer_cv; /* the writer lock became free */
    bool writer_held;
    pthread_t writer;
    sq_conn conn[KG_SQLITE_POOL];
} sq_store;

typedef struct {
    sq_conn *c;
    bool write;
} sq_txn;

static kg_err sq_fail(sqlite3 *db, const char *what)
{
    return kg_err_set(KG_ERR_STORE, "sqlite %s failed: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* ------------------------------------------------------- statements */

/* The cached statement idx, or a fresh one in *owned when the cached one is
 * in use by an outer call on the same connection. */
static kg_err stmt_get(sq_conn *c, int idx, sqlite3_stmt **out, sqlite3_stmt **owned)
{
    *owned = NULL;
    if (c->st[idx] != NULL && !sqlite3_stmt_busy(c->st[idx])) {
        *out = c->st[idx];
        return KG_OK;
    }
    sqlite3_stmt *s = NULL;
    unsigned flags = c->st[idx] == NULL ? SQLITE_PREPARE_PERSISTENT : 0;
    if (sqlite3_prepare_v3(c->db, kg_sql[idx], -1, flags, &s, NULL) != SQLITE_OK)
        return sq_fail(c->db, "prepare");
    if (c->st[idx] == NULL)
        c->st[idx] = s;
    else
        *owned = s;
    *out = s;
    return KG_OK;
}

static void stmt_done(sqlite3_stmt *s, sqlite3_stmt *owned)
{
    if (owned != NULL) {
        sqlite3_finalize(owned);
        return;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows. */
static kg_err exec_stmt(sq_conn *c, int idx, const char *what)
{
    sqlite3_stmt *s = NULL, *owned = NULL;
    kg_err e = stmt_get(c, idx, &s, &owned);
    if (e != KG_OK)
        return e;
    int rc = sqlite3_step(s);
    e = rc == SQLITE_DONE ? KG_OK : sq_fail(c->db, what);
    stmt_done(s, owned);
    return e;
}

/* ------------------------------------------------------ connections */

static kg_err conn_setup(sq_conn *c)
{
    sqlite3_busy_timeout(c->db, KG_SQLITE_BUSY_MS);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) != SQLITE_OK)
        return sq_fail(c->db, "PRAGMA journal_mode");
    bool wal = sqlite3_step(s) == SQLITE_ROW &&
               sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (!wal)
        return kg_err_set(KG_ERR_STORE, "the database cannot use WAL mode; put it on a local file system");
    static const char pragmas[] =
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;";
    if (sqlite3_exec(c->db, pragmas, NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(c->db, "PRAGMA");
    return KG_OK;
}

static kg_err conn_open(sq_conn *c, const char *path)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        kg_err e = kg_err_set(KG_ERR_STORE,
                              "cannot open database '%s': %s; check that its directory exists and is writable",
                              path, c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        c->db = NULL;
        return e;
    }
    sqlite3_extended_result_codes(c->db, 1);
    c->idle = true;
    return conn_setup(c);
}

static void conn_close(sq_conn *c)
{
    for (int i = 0; i < ST_COUNT_; i++) {
        sqlite3_finalize(c->st[i]);
        c->st[i] = NULL;
    }
    sqlite3_close(c->db);
    c->db = NULL;
}

/* ------------------------------------------------------- migrations */

static kg_err schema_version(sq_conn *c, int *version)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT version FROM kg_schema", -1, &s, NULL) != SQLITE_OK)
        return sq_fail(c->db, "read schema version");
    int rc = sqlite3_step(s);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_fail(c->db, "read schema version");
    return KG_OK;
}

/* Apply migration `version` if it is still pending; *done when none is. */
static kg_err migrate_step(sq_conn *c, bool *done)
{
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(c->db, "begin migration");
    int v = 0;
    kg_err e = KG_OK;
    if (sqlite3_exec(c->db, "CREATE TABLE IF NOT EXISTS kg_schema (version INTEGER NOT NULL)",
                     NULL, NULL, NULL) != SQLITE_OK)
        e = sq_fail(c->db, "create kg_schema");
    if (e == KG_OK)
        e = schema_version(c, &v);
    if (e == KG_OK && v > KG_SCHEMA_VERSION)
        e = kg_err_set(KG_ERR_STORE, "the database has schema version %d but this kashguard knows only "
                       "up to %d; upgrade kashguard", v, KG_SCHEMA_VERSION);
    *done = e == KG_OK && v == KG_SCHEMA_VERSION;
    if (e == KG_OK && !*done) {
        char bump[96];
        snprintf(bump, sizeof(bump), v == 0 ? "INSERT INTO kg_schema(version) VALUES(%d)"
                                            : "UPDATE kg_schema SET version = %d", v + 1);
        if (sqlite3_exec(c->db, kg_migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(c->db, bump, NULL, NULL, NULL) != SQLITE_OK)
            e = sq_fail(c->db, "schema migration");
    }
    if (e == KG_OK && sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        e = sq_fail(c->db, "commit migration");
    if (e != KG_OK)
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return e;
}

static kg_err migrate(sq_conn *c)
{
    bool done = false;
    for (int i = 0; i <= KG_SCHEMA_VERSION && !done; i++) {
        kg_err e = migrate_step(c, &done);
        if (e != KG_OK)
            return e;
    }
    return KG_OK;
}

/* ------------------------------------------------------ open / close */

static void sq_close(void *be)
{
    sq_store *s = be;
    if (s == NULL)
        return;
    for (int i = 0; i < KG_SQLITE_POOL; i++)
        conn_close(&s->conn[i]);
    pthread_cond_destroy(&s->writer_cv);
    pthread_cond_destroy(&s->conn_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Create the file owner-only before SQLite does (it gives the -wal and -shm
 * files the same mode), so sealed data is not world-readable. */
static kg_err create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return kg_err_set(KG_ERR_STORE, "cannot create database '%s'; check that its directory exists "
                          "and is writable", path);
    close(fd);
    return KG_OK;
}

static kg_err sq_open(void **be, const char *location)
{
    *be = NULL;
    if (location[0] == '\0' || strcmp(location, ":memory:") == 0 || strncmp(location, "file:", 5) == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "the SQLite store needs a file path, e.g. "
                          "sqlite:///var/lib/kashguard/kashguard.db");
    if (!sqlite3_threadsafe())
        return kg_err_set(KG_ERR_STORE, "the SQLite library was built without thread support");
    kg_err e = create_private(location);
    if (e != KG_OK)
        return e;
    sq_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate the store");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->conn_cv, NULL);
    pthread_cond_init(&s->writer_cv, NULL);
    e = conn_open(&s->conn[0], location);
    if (e == KG_OK)
        e = migrate(&s->conn[0]);
    for (int i = 1; i < KG_SQLITE_POOL && e == KG_OK; i++)
        e = conn_open(&s->conn[i], location);
    if (e != KG_OK) {
        sq_close(s);
        return e;
    }
    *be = s;
    return KG_OK;
}

/* ------------------------------------------------------------- pool */

static sq_conn *pool_take(sq_store *s)
{
    pthread_mutex_lock(&s->mu);
    sq_conn *c = NULL;
    while (c == NULL) {
        for (int i = 0; i < KG_SQLITE_POOL && c == NULL; i++) {
            if (s->conn[i].idle)
                c = &s->conn[i];
        }
        if (c == NULL)
            pthread_cond_wait(&s->conn_cv, &s->mu);
    }
    c->idle = false;
    pthread_mutex_unlock(&s->mu);
    return c;
}

static void pool_give(sq_store *s, sq_conn *c)
{
    pthread_mutex_lock(&s->mu);
    c->idle = true;
    pthread_cond_signal(&s->conn_cv);
    pthread_mutex_unlock(&s->mu);
}

/* Take the writer lock; false (after kg_illegal) when this thread already
 * holds it, which would otherwise deadlock. */
static bool writer_lock(sq_store *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->writer_held && pthread_equal(s->writer, pthread_self())) {
        pthread_mutex_unlock(&s->mu);
        kg_illegal("kg_store: this thread already holds a transaction; pass it instead of NULL "
                   "(or commit it before beginning another)");
        return false;
    }
    while (s->writer_held)
        pthread_cond_wait(&s->writer_cv, &s->mu);
    s->writer_held = true;
    s->writer = pthread_self();
    pthread_mutex_unlock(&s->mu);
    return true;
}

static void writer_unlock(sq_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->writer_held = false;
    pthread_cond_signal(&s->writer_cv);
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------ transactions */

static kg_err txn_start(sq_store *s, void **out, bool write)
{
    *out = NULL;
    sq_txn *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate a transaction");
    if (write && !writer_lock(s)) {
        free(t);
        return KG_ERR_ARG;
    }
    t->write = write;
    t->c = pool_take(s);
    kg_err e = exec_stmt(t->c, write ? ST_BEGIN_W : ST_BEGIN_R, "BEGIN");
    if (e != KG_OK) {
        pool_give(s, t->c);
        if (write)
            writer_unlock(s);
        free(t);
        return e;
    }
    *out = t;
    return KG_OK;
}

static kg_err sq_begin(void *be, void **txn) { return txn_start(be, txn, true); }
static kg_err sq_begin_read(void *be, void **txn) { return txn_start(be, txn, false); }

static void txn_end(sq_store *s, sq_txn *t)
{
    pool_give(s, t->c);
    if (t->write)
        writer_unlock(s);
    free(t);
}

static void sq_rollback(void *be, void *txn)
{
    sq_txn *t = txn;
    /* ROLLBACK fails harmlessly when SQLite already rolled back on its own. */
    if (sqlite3_get_autocommit(t->c->db) == 0 && exec_stmt(t->c, ST_ROLLBACK, "ROLLBACK") != KG_OK)
        sqlite3_exec(t->c->db, "ROLLBACK", NULL, NULL, NULL);
    txn_end(be, t);
}

/* Commit; on failure the transaction is rolled back. Either way it is over. */
static kg_err sq_commit(void *be, void *txn)
{
    sq_txn *t = txn;
    kg_err e = exec_stmt(t->c, ST_COMMIT, "COMMIT");
    if (e != KG_OK) {
        sq_rollback(be, txn);
        return e;
    }
    txn_end(be, t);
    return KG_OK;
}

/* ------------------------------------------------------- data calls */

static kg_err sq_get(void *be, void *txn, kg_bytes *out, const char *key)
{
    (void)be;
    sq_conn *c = ((sq_txn *)txn)->c;
    sqlite3_stmt *s = NULL, *owned = NULL;
    kg_err e = stmt_get(c, ST_GET, &s, &owned);
    if (e != KG_OK)
        return e;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const uint8_t *v = sqlite3_column_blob(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        e = (v == NULL && n > 0) ? sq_fail(c->db, "read value") : kg_bytes_set(out, v, n);
    } else {
        e = rc == SQLITE_DONE ? KG_ERR_NOT_FOUND : sq_fail(c->db, "get");
    }
    stmt_done(s, owned);
    return e;
}

static kg_err sq_put(void *be, void *txn, const char *key, const uint8_t *val, size_t len,
                     bool create_only)
{
    (void)be;
    static const uint8_t empty[1];
    sq_conn *c = ((sq_txn *)txn)->c;
    sqlite3_stmt *s = NULL, *owned = NULL;
    kg_err e = stmt_get(c, create_only ? ST_CREATE : ST_PUT, &s, &owned);
    if (e != KG_OK)
        return e;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(s, 2, len ? val : empty, len, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        e = sq_fail(c->db, "put");
    else if (create_only && sqlite3_changes(c->db) == 0)
        e = KG_ERR_CONFLICT;
    stmt_done(s, owned);
    return e;
}

static kg_err sq_del(void *be, void *txn, const char *key)
{
    (void)be;
    sq_conn *c = ((sq_txn *)txn)->c;
    sqlite3_stmt *s = NULL, *owned = NULL;
    kg_err e = stmt_get(c, ST_DEL, &s, &owned);
    if (e != KG_OK)
        return e;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        e = sq_fail(c->db, "delete");
    else if (sqlite3_changes(c->db) == 0)
        e = KG_ERR_NOT_FOUND;
    stmt_done(s, owned);
    return e;
}

/* The smallest string greater than every string starting with prefix: drop
 * trailing 0xFF bytes and increment the last remaining one. False when there
 * is none (empty prefix or all 0xFF): the range is then unbounded above.
 * Returns 1 (bounded, *out set), 0 (unbounded) or -1 (out of memory). */
static int prefix_upper_bound(char **out, const char *prefix)
{
    *out = NULL;
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xFF)
        n--;
    if (n == 0)
        return 0;
    char *ub = malloc(n + 1);
    if (ub == NULL)
        return -1;
    memcpy(ub, prefix, n);
    ub[n - 1] = (char)((unsigned char)ub[n - 1] + 1);
    ub[n] = '\0';
    *out = ub;
    return 1;
}

static kg_err sq_list(void *be, void *txn, const char *prefix, const char *after, size_t limit,
                      kg_store_list_fn fn, void *arg)
{
    (void)be;
    sq_conn *c = ((sq_txn *)txn)->c;
    char *ub = NULL;
    int bounded = prefix_upper_bound(&ub, prefix);
    if (bounded < 0)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate the list bound");
    sqlite3_stmt *s = NULL, *owned = NULL;
    kg_err e = stmt_get(c, bounded ? ST_LIST_UB : ST_LIST_ALL, &s, &owned);
    if (e != KG_OK) {
        free(ub);
        return e;
    }
    sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, after ? after : "", -1, SQLITE_STATIC);
    if (bounded)
        sqlite3_bind_text(s, 3, ub, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, limit == 0 || (uint64_t)limit > (uint64_t)INT64_MAX ? -1 : (sqlite3_int64)limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        const uint8_t *v = sqlite3_column_blob(s, 1);
        size_t n = (size_t)sqlite3_column_bytes(s, 1);
        static const uint8_t empty[1];
        if (k == NULL || (v == NULL && n > 0)) {
            rc = SQLITE_NOMEM;
            break;
        }
        if (fn(arg, k, v ? v : empty, n) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        e = sq_fail(c->db, "list");
    stmt_done(s, owned);
    free(ub);
    return e;
}

const kg_store_backend kg_store_sqlite_backend = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .begin_read = sq_begin_read,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .get = sq_get,
    .put = sq_put,
    .del = sq_del,
    .list = sq_list,
};
