/* The store front end: URL dispatch, autocommit wrapping, argument checks
 * and the JSON convenience calls.
 *
 * A store URL names its backend by scheme ("sqlite:///abs/path.db",
 * "sqlite://rel/path.db", or a bare path meaning SQLite); the backend table
 * below is the only place a new engine (PostgreSQL) has to be added.
 *
 * Every data call takes an optional transaction. With NULL, the call runs in
 * a transaction of its own: writes begin, act and commit (rolling back if the
 * action fails, so a failed call changes nothing); reads use the backend's
 * read snapshot (begin_read) where it has one, so they need not queue behind
 * a writer. Backends therefore always see a transaction.
 *
 * A kg_store_txn carries a `finished` flag: after a failed commit the backend
 * has already ended the transaction, and the handle lives on only so that
 * the documented kg_store_txn_rollback can free it safely. Using a finished
 * handle for data calls is a contract violation. */
#include <kashguard/store.h>

#include <stdlib.h>
#include <string.h>

struct kg_store {
    const kg_store_backend *be;
    void *h;
};

struct kg_store_txn {
    kg_store *st;
    void *h;
    bool finished;
};

static const kg_store_backend *const kg_backends[] = { &kg_store_sqlite_backend };

/* Split url into backend and location. */
static kg_err resolve_url(const kg_store_backend **be, const char **loc, const char *url)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL) {
        *be = &kg_store_sqlite_backend;
        *loc = url;
        return KG_OK;
    }
    size_t n = (size_t)(sep - url);
    for (size_t i = 0; i < sizeof(kg_backends) / sizeof(kg_backends[0]); i++) {
        if (strlen(kg_backends[i]->scheme) == n && strncmp(kg_backends[i]->scheme, url, n) == 0) {
            *be = kg_backends[i];
            *loc = sep + 3;
            return KG_OK;
        }
    }
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown store scheme '%.*s'; use sqlite:///path/to/kashguard.db",
                      (int)(n > 32 ? 32 : n), url);
}

kg_err kg_store_open(kg_store **out, const char *url)
{
    KG_ARG_CHECK(out != NULL && url != NULL);
    *out = NULL;
    const kg_store_backend *be = NULL;
    const char *loc = NULL;
    kg_err e = resolve_url(&be, &loc, url);
    if (e != KG_OK)
        return e;
    kg_store *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate the store");
    st->be = be;
    e = be->open(&st->h, loc);
    if (e != KG_OK) {
        free(st);
        return e;
    }
    *out = st;
    return KG_OK;
}

void kg_store_close(kg_store *st)
{
    if (st == NULL)
        return;
    st->be->close(st->h);
    free(st);
}

kg_err kg_store_txn_begin(kg_store *st, kg_store_txn **out)
{
    KG_ARG_CHECK(st != NULL && out != NULL);
    *out = NULL;
    kg_store_txn *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate a transaction");
    kg_err e = st->be->begin(st->h, &t->h);
    if (e != KG_OK) {
        free(t);
        return e;
    }
    t->st = st;
    *out = t;
    return KG_OK;
}

kg_err kg_store_txn_commit(kg_store_txn *txn)
{
    KG_ARG_CHECK(txn != NULL && !txn->finished);
    kg_err e = txn->st->be->commit(txn->st->h, txn->h);
    if (e != KG_OK) {
        txn->finished = true;
        txn->h = NULL;
        return e;
    }
    free(txn);
    return KG_OK;
}

void kg_store_txn_rollback(kg_store_txn *txn)
{
    if (txn == NULL)
        return;
    if (!txn->finished)
        txn->st->be->rollback(txn->st->h, txn->h);
    free(txn);
}

/* ------------------------------------------------------- autocommit */

/* The backend transaction to use: txn's, or a new one in *own. */
static kg_err txn_for(kg_store *st, kg_store_txn *txn, bool write, void **h, void **own)
{
    *own = NULL;
    if (txn != NULL) {
        if (txn->finished || txn->st != st) {
            kg_illegal("kg_store: txn is finished or belongs to another store");
            return KG_ERR_ARG;
        }
        *h = txn->h;
        return KG_OK;
    }
    kg_err e = (!write && st->be->begin_read) ? st->be->begin_read(st->h, own) : st->be->begin(st->h, own);
    *h = *own;
    return e;
}

/* End an autocommit transaction: commit when the call succeeded (a failed
 * commit is the call's error), roll back otherwise. Reads that found nothing
 * still end cleanly. */
static kg_err txn_done(kg_store *st, void *own, kg_err e)
{
    if (own == NULL)
        return e;
    if (e == KG_OK)
        return st->be->commit(st->h, own);
    st->be->rollback(st->h, own);
    return e;
}

static kg_err check_key(const char *key)
{
    if (key[0] == '\0')
        return kg_err_set(KG_ERR_BAD_INPUT, "store keys must not be empty");
    return KG_OK;
}

kg_err kg_store_get(kg_store *st, kg_store_txn *txn, kg_bytes *out, const char *key)
{
    KG_ARG_CHECK(st != NULL && out != NULL && key != NULL);
    out->data = NULL;
    out->len = 0;
    kg_err e = check_key(key);
    void *h, *own;
    if (e == KG_OK)
        e = txn_for(st, txn, false, &h, &own);
    if (e != KG_OK)
        return e;
    e = txn_done(st, own, st->be->get(st->h, h, out, key));
    if (e != KG_OK)
        kg_bytes_free(out);
    return e;
}

static kg_err put_common(kg_store *st, kg_store_txn *txn, const char *key, const uint8_t *val,
                         size_t val_len, bool create_only)
{
    KG_ARG_CHECK(st != NULL && key != NULL && (val != NULL || val_len == 0));
    kg_err e = check_key(key);
    void *h, *own;
    if (e == KG_OK)
        e = txn_for(st, txn, true, &h, &own);
    if (e != KG_OK)
        return e;
    return txn_done(st, own, st->be->put(st->h, h, key, val, val_len, create_only));
}

kg_err kg_store_put(kg_store *st, kg_store_txn *txn, const char *key, const uint8_t *val, size_t val_len)
{
    return put_common(st, txn, key, val, val_len, false);
}

kg_err kg_store_create(kg_store *st, kg_store_txn *txn, const char *key, const uint8_t *val,
                       size_t val_len)
{
    return put_common(st, txn, key, val, val_len, true);
}

kg_err kg_store_delete(kg_store *st, kg_store_txn *txn, const char *key)
{
    KG_ARG_CHECK(st != NULL && key != NULL);
    kg_err e = check_key(key);
    void *h, *own;
    if (e == KG_OK)
        e = txn_for(st, txn, true, &h, &own);
    if (e != KG_OK)
        return e;
    return txn_done(st, own, st->be->del(st->h, h, key));
}

kg_err kg_store_list(kg_store *st, kg_store_txn *txn, const char *prefix, const char *after,
                     size_t limit, kg_store_list_fn fn, void *arg)
{
    KG_ARG_CHECK(st != NULL && prefix != NULL && fn != NULL);
    void *h, *own;
    kg_err e = txn_for(st, txn, false, &h, &own);
    if (e != KG_OK)
        return e;
    return txn_done(st, own, st->be->list(st->h, h, prefix, after ? after : "", limit, fn, arg));
}

/* ------------------------------------------------------------- JSON */

kg_err kg_store_get_json(kg_store *st, kg_store_txn *txn, json_t **out, const char *key)
{
    KG_ARG_CHECK(out != NULL);
    *out = NULL;
    kg_bytes b = { 0 };
    kg_err e = kg_store_get(st, txn, &b, key);
    if (e != KG_OK)
        return e;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    kg_bytes_free(&b);
    if (v == NULL)
        return kg_err_set(KG_ERR_STORE, "the stored value is not valid JSON (%.120s); the store may be damaged",
                          jerr.text);
    *out = v;
    return KG_OK;
}

static kg_err put_json_common(kg_store *st, kg_store_txn *txn, const char *key, const json_t *val,
                              bool create_only)
{
    KG_ARG_CHECK(val != NULL);
    /* Sorted keys: the same document always stores the same bytes. */
    char *s = json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (s == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot serialise the JSON value");
    kg_err e = put_common(st, txn, key, (const uint8_t *)s, strlen(s), create_only);
    free(s);
    return e;
}

kg_err kg_store_put_json(kg_store *st, kg_store_txn *txn, const char *key, const json_t *val)
{
    return put_json_common(st, txn, key, val, false);
}

kg_err kg_store_create_json(kg_store *st, kg_store_txn *txn, const char *key, const json_t *val)
{
    return put_json_common(st, txn, key, val, true);
}
