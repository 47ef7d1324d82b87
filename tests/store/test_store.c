/* Store layer (SQLite backend): CRUD, create conflicts, transaction
 * visibility and rollback, ordered prefix listing, persistence and
 * migrations across reopen, threads, and the contract checks. Crash
 * durability has its own suite (test_crash.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kashguard/store.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[96];
    kg_store *st;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/kg-store-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/kg.db", f->dir);
    char url[128];
    snprintf(url, sizeof(url), "sqlite://%s", f->path);
    if (kg_store_open(&f->st, url) != KG_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kg_store_close(f->st);
    char p[128];
    static const char *const sfx[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void put_str(kg_store *st, kg_store_txn *t, const char *k, const char *v)
{
    assert_int_equal(kg_store_put(st, t, k, (const uint8_t *)v, strlen(v)), KG_OK);
}

static void expect_str(kg_store *st, kg_store_txn *t, const char *k, const char *v)
{
    kg_bytes b = { 0 };
    kg_err e = kg_store_get(st, t, &b, k);
    if (v == NULL) {
        assert_int_equal(e, KG_ERR_NOT_FOUND);
        assert_null(b.data);
        return;
    }
    assert_int_equal(e, KG_OK);
    assert_int_equal(b.len, strlen(v));
    assert_memory_equal(b.data, v, b.len);
    kg_bytes_free(&b);
}

static void test_crud(void **state)
{
    fixture *f = *state;
    expect_str(f->st, NULL, "a", NULL);
    put_str(f->st, NULL, "a", "one");
    expect_str(f->st, NULL, "a", "one");
    put_str(f->st, NULL, "a", "two");
    expect_str(f->st, NULL, "a", "two");
    static const uint8_t bin[] = { 0, 1, 0, 0xff };
    assert_int_equal(kg_store_put(f->st, NULL, "bin", bin, sizeof(bin)), KG_OK);
    kg_bytes b = { 0 };
    assert_int_equal(kg_store_get(f->st, NULL, &b, "bin"), KG_OK);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, bin, 4);
    kg_bytes_free(&b);
    assert_int_equal(kg_store_put(f->st, NULL, "empty", NULL, 0), KG_OK);
    assert_int_equal(kg_store_get(f->st, NULL, &b, "empty"), KG_OK);
    assert_int_equal(b.len, 0);
    assert_non_null(b.data);
    kg_bytes_free(&b);
    assert_int_equal(kg_store_delete(f->st, NULL, "a"), KG_OK);
    expect_str(f->st, NULL, "a", NULL);
    assert_int_equal(kg_store_delete(f->st, NULL, "a"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_store_put(f->st, NULL, "", bin, 1), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_store_get(f->st, NULL, &b, ""), KG_ERR_BAD_INPUT);
}

static void test_create_conflict(void **state)
{
    fixture *f = *state;
    assert_int_equal(kg_store_create(f->st, NULL, "alias/x", (const uint8_t *)"1", 1), KG_OK);
    assert_int_equal(kg_store_create(f->st, NULL, "alias/x", (const uint8_t *)"2", 1), KG_ERR_CONFLICT);
    expect_str(f->st, NULL, "alias/x", "1");
    /* a conflict inside a transaction leaves the transaction usable */
    kg_store_txn *t = NULL;
    assert_int_equal(kg_store_txn_begin(f->st, &t), KG_OK);
    put_str(f->st, t, "alias/y", "y");
    assert_int_equal(kg_store_create(f->st, t, "alias/x", (const uint8_t *)"3", 1), KG_ERR_CONFLICT);
    assert_int_equal(kg_store_create(f->st, t, "alias/z", (const uint8_t *)"z", 1), KG_OK);
    assert_int_equal(kg_store_txn_commit(t), KG_OK);
    expect_str(f->st, NULL, "alias/x", "1");
    expect_str(f->st, NULL, "alias/y", "y");
    expect_str(f->st, NULL, "alias/z", "z");
}

static void test_txn_commit_and_own_reads(void **state)
{
    fixture *f = *state;
    put_str(f->st, NULL, "k/old", "old");
    kg_store_txn *t = NULL;
    assert_int_equal(kg_store_txn_begin(f->st, &t), KG_OK);
    put_str(f->st, t, "k/a", "A");
    assert_int_equal(kg_store_delete(f->st, t, "k/old"), KG_OK);
    expect_str(f->st, t, "k/a", "A");       /* own write visible */
    expect_str(f->st, t, "k/old", NULL);
    expect_str(f->st, NULL, "k/a", NULL);   /* others do not see it yet */
    expect_str(f->st, NULL, "k/old", "old");
    assert_int_equal(kg_store_txn_commit(t), KG_OK);
    expect_str(f->st, NULL, "k/a", "A");
    expect_str(f->st, NULL, "k/old", NULL);
}

static void test_txn_rollback(void **state)
{
    fixture *f = *state;
    put_str(f->st, NULL, "r/keep", "1");
    kg_store_txn *t = NULL;
    assert_int_equal(kg_store_txn_begin(f->st, &t), KG_OK);
    put_str(f->st, t, "r/new", "2");
    put_str(f->st, t, "r/keep", "changed");
    kg_store_txn_rollback(t);
    expect_str(f->st, NULL, "r/new", NULL);
    expect_str(f->st, NULL, "r/keep", "1");
    /* the store is usable for the next transaction */
    assert_int_equal(kg_store_txn_begin(f->st, &t), KG_OK);
    kg_store_txn_rollback(t);
    kg_store_txn_rollback(NULL);
}

typedef struct {
    char keys[16][32];
    int n;
    int stop_after;
} collect;

static int collect_fn(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    collect *c = arg;
    assert_true(val_len == 1);
    assert_int_equal(val[0], 'v');
    assert_true(c->n < 16);
    snprintf(c->keys[c->n++], sizeof(c->keys[0]), "%s", key);
    return c->stop_after && c->n >= c->stop_after;
}

static void list_expect(kg_store *st, const char *prefix, const char *after, size_t limit, int stop,
                        const char *const *want)
{
    collect c = { .stop_after = stop };
    assert_int_equal(kg_store_list(st, NULL, prefix, after, limit, collect_fn, &c), KG_OK);
    int n = 0;
    while (want[n] != NULL) {
        assert_true(n < c.n);
        assert_string_equal(c.keys[n], want[n]);
        n++;
    }
    assert_int_equal(c.n, n);
}

static void test_list(void **state)
{
    fixture *f = *state;
    static const char *const keys[] = { "b/2", "a/1", "b/10", "b/1", "b", "c", "b0", "b/\xff", "b/\xff\xff",
                                        "\xff", "\xff\xff/x" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        put_str(f->st, NULL, keys[i], "v");
    list_expect(f->st, "b/", NULL, 0, 0,
                (const char *const[]){ "b/1", "b/10", "b/2", "b/\xff", "b/\xff\xff", NULL });
    list_expect(f->st, "b/", "b/10", 0, 0, (const char *const[]){ "b/2", "b/\xff", "b/\xff\xff", NULL });
    list_expect(f->st, "b/", "", 2, 0, (const char *const[]){ "b/1", "b/10", NULL });
    list_expect(f->st, "b/", NULL, 0, 3, (const char *const[]){ "b/1", "b/10", "b/2", NULL });
    list_expect(f->st, "b/\xff", NULL, 0, 0, (const char *const[]){ "b/\xff", "b/\xff\xff", NULL });
    list_expect(f->st, "\xff", NULL, 0, 0, (const char *const[]){ "\xff", "\xff\xff/x", NULL });
    list_expect(f->st, "zz", NULL, 0, 0, (const char *const[]){ NULL });
    list_expect(f->st, "", "b0", 0, 0, (const char *const[]){ "c", "\xff", "\xff\xff/x", NULL });
    list_expect(f->st, "", NULL, 3, 0, (const char *const[]){ "a/1", "b", "b/1", NULL });
}

typedef struct {
    kg_store *st;
    kg_store_txn *t;
    int seen;
} nested;

static int nested_fn(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    nested *n = arg;
    kg_bytes b = { 0 };
    assert_int_equal(kg_store_get(n->st, n->t, &b, key), KG_OK);
    assert_int_equal(b.len, val_len);
    assert_memory_equal(b.data, val, val_len);
    kg_bytes_free(&b);
    collect c = { 0 };
    assert_int_equal(kg_store_list(n->st, n->t, "n/", NULL, 0, collect_fn, &c), KG_OK);
    assert_int_equal(c.n, 3);
    n->seen++;
    return 0;
}

static void test_list_callback_reenters(void **state)
{
    fixture *f = *state;
    put_str(f->st, NULL, "n/1", "v");
    put_str(f->st, NULL, "n/2", "v");
    put_str(f->st, NULL, "n/3", "v");
    nested n = { .st = f->st };
    assert_int_equal(kg_store_txn_begin(f->st, &n.t), KG_OK);
    assert_int_equal(kg_store_list(f->st, n.t, "n/", NULL, 0, nested_fn, &n), KG_OK);
    assert_int_equal(kg_store_txn_commit(n.t), KG_OK);
    assert_int_equal(n.seen, 3);
    n.t = NULL;
    n.seen = 0;
    assert_int_equal(kg_store_list(f->st, NULL, "n/", NULL, 0, nested_fn, &n), KG_OK);
    assert_int_equal(n.seen, 3);
}

static int schema_version_of(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), max(version) FROM kg_schema", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    int v = sqlite3_column_int(s, 1);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void test_reopen_and_migrations(void **state)
{
    fixture *f = *state;
    put_str(f->st, NULL, "persist", "yes");
    kg_store *second = NULL;
    assert_int_equal(kg_store_open(&second, f->path), KG_OK); /* bare path, while the first is open */
    expect_str(second, NULL, "persist", "yes");
    kg_store_close(second);
    kg_store_close(f->st);
    f->st = NULL;
    char url[128];
    snprintf(url, sizeof(url), "sqlite://%s", f->path);
    assert_int_equal(kg_store_open(&f->st, url), KG_OK);
    expect_str(f->st, NULL, "persist", "yes");
    assert_int_equal(schema_version_of(f->path), 1);
}

static void test_json(void **state)
{
    fixture *f = *state;
    json_t *v = json_pack("{s:s,s:i,s:[i,i]}", "name", "k1", "version", 3, "list", 1, 2);
    assert_int_equal(kg_store_create_json(f->st, NULL, "j/1", v), KG_OK);
    assert_int_equal(kg_store_create_json(f->st, NULL, "j/1", v), KG_ERR_CONFLICT);
    json_t *got = NULL;
    assert_int_equal(kg_store_get_json(f->st, NULL, &got, "j/1"), KG_OK);
    assert_true(json_equal(v, got));
    json_decref(got);
    expect_str(f->st, NULL, "j/1", "{\"list\":[1,2],\"name\":\"k1\",\"version\":3}");
    json_object_set_new(v, "version", json_integer(4));
    assert_int_equal(kg_store_put_json(f->st, NULL, "j/1", v), KG_OK);
    assert_int_equal(kg_store_get_json(f->st, NULL, &got, "j/1"), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(got, "version")), 4);
    json_decref(got);
    json_decref(v);
    put_str(f->st, NULL, "j/bad", "{nope");
    got = (json_t *)1;
    assert_int_equal(kg_store_get_json(f->st, NULL, &got, "j/bad"), KG_ERR_STORE);
    assert_null(got);
    assert_int_equal(kg_store_get_json(f->st, NULL, &got, "j/none"), KG_ERR_NOT_FOUND);
}

static void test_open_errors(void **state)
{
    (void)state;
    kg_store *st = (kg_store *)1;
    assert_int_equal(kg_store_open(&st, "postgres://db/kg"), KG_ERR_BAD_INPUT);
    assert_null(st);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "postgres"));
    assert_int_equal(kg_store_open(&st, "sqlite://:memory:"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_store_open(&st, "sqlite://"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_store_open(&st, "sqlite:///nonexistent-dir-kg/x/kg.db"), KG_ERR_STORE);
    assert_non_null(strstr(kg_err_detail(KG_ERR_STORE), "directory exists"));
}

static int illegal_count;
static void count_hook(const char *what, void *arg)
{
    (void)what;
    (void)arg;
    illegal_count++;
}

static void test_contract_checks(void **state)
{
    fixture *f = *state;
    kg_set_illegal_hook(count_hook, NULL);
    illegal_count = 0;
    kg_store_txn *t = NULL;
    assert_int_equal(kg_store_txn_begin(f->st, &t), KG_OK);
    /* an autocommit write on the thread holding the txn would deadlock */
    assert_int_equal(kg_store_put(f->st, NULL, "x", (const uint8_t *)"1", 1), KG_ERR_ARG);
    assert_int_equal(illegal_count, 1);
    kg_store_txn *t2 = NULL;
    assert_int_equal(kg_store_txn_begin(f->st, &t2), KG_ERR_ARG);
    assert_null(t2);
    assert_int_equal(illegal_count, 2);
    /* reads without the txn are fine: committed data only */
    expect_str(f->st, NULL, "x", NULL);
    assert_int_equal(kg_store_txn_commit(t), KG_OK);
    assert_int_equal(kg_store_get(f->st, NULL, NULL, "x"), KG_ERR_ARG);
    assert_int_equal(illegal_count, 3);
    kg_set_illegal_hook(NULL, NULL);
}

/* ------------------------------------------------------------ threads */

#define N_THREADS 4
#define N_ROUNDS 40

typedef struct {
    kg_store *st;
    int id;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    char k[64], v[64];
    for (int i = 0; i < N_ROUNDS; i++) {
        snprintf(k, sizeof(k), "t/%d/%03d", w->id, i);
        snprintf(v, sizeof(v), "v%d.%d", w->id, i);
        if (i % 2 == 0) {
            if (kg_store_put(w->st, NULL, k, (const uint8_t *)v, strlen(v)) != KG_OK)
                return "put failed";
        } else {
            /* read-modify-write of a shared counter plus one own key */
            kg_store_txn *t = NULL;
            if (kg_store_txn_begin(w->st, &t) != KG_OK)
                return "begin failed";
            kg_bytes b = { 0 };
            long n = 0;
            if (kg_store_get(w->st, t, &b, "t/counter") == KG_OK) {
                char tmp[32] = { 0 };
                memcpy(tmp, b.data, b.len < 31 ? b.len : 31);
                n = strtol(tmp, NULL, 10);
                kg_bytes_free(&b);
            }
            char cnt[32];
            snprintf(cnt, sizeof(cnt), "%ld", n + 1);
            if (kg_store_put(w->st, t, "t/counter", (const uint8_t *)cnt, strlen(cnt)) != KG_OK ||
                kg_store_put(w->st, t, k, (const uint8_t *)v, strlen(v)) != KG_OK) {
                kg_store_txn_rollback(t);
                return "txn put failed";
            }
            if (kg_store_txn_commit(t) != KG_OK)
                return "commit failed";
        }
        kg_bytes b = { 0 };
        if (kg_store_get(w->st, NULL, &b, k) != KG_OK)
            return "read-back failed";
        kg_bytes_free(&b);
    }
    return NULL;
}

static int count_fn(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    (void)key;
    (void)val;
    (void)val_len;
    (*(int *)arg)++;
    return 0;
}

static void test_threads(void **state)
{
    fixture *f = *state;
    pthread_t th[N_THREADS];
    worker_arg args[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        args[i] = (worker_arg){ f->st, i };
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        if (r != NULL)
            fail_msg("thread %d: %s", i, (const char *)r);
    }
    char want[32];
    snprintf(want, sizeof(want), "%d", N_THREADS * N_ROUNDS / 2);
    expect_str(f->st, NULL, "t/counter", want);
    for (int id = 0; id < N_THREADS; id++) {
        for (int i = 0; i < N_ROUNDS; i++) {
            char k[64], v[64];
            snprintf(k, sizeof(k), "t/%d/%03d", id, i);
            snprintf(v, sizeof(v), "v%d.%d", id, i);
            expect_str(f->st, NULL, k, v);
        }
    }
    int n = 0;
    assert_int_equal(kg_store_list(f->st, NULL, "t/", NULL, 0, count_fn, &n), KG_OK);
    assert_int_equal(n, N_THREADS * N_ROUNDS + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_commit_and_own_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_callback_reenters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test_setup_teardown(test_contract_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
