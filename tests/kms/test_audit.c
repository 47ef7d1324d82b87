/* The audit log: chain + checkpoints written by audit_log.c, every kind of
 * tampering caught by the verifier at the right seq and line, group commit
 * from 8 threads, reopen, torn-tail recovery, fail-closed on write errors,
 * and the KMS glue (HMAC, read, store checkpoint, data-dir verify). */
#include "authz_fixture.h"
#include "../../src/kms/audit_int.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#define EVERY 5
#define N_APPEND 20 /* -> 24 lines: checkpoints at seq 6, 12, 18, 24 */

typedef struct {
    char dir[64];
    char path[96];
    kg_secret *seed;
    uint8_t pub[32];
    json_t *last_cp;
} afx;

static void afx_key(afx *x)
{
    assert_int_equal(kg_crypto_keygen(&x->seed, KG_CRYPTO_ED25519), KG_OK);
    kg_bytes spki = { 0 }, raw = { 0 };
    assert_int_equal(kg_crypto_pub_from_priv(&spki, KG_CRYPTO_ED25519, x->seed), KG_OK);
    assert_int_equal(kg_crypto_pub_raw(&raw, KG_CRYPTO_ED25519, spki.data, spki.len), KG_OK);
    memcpy(x->pub, raw.data, 32);
    kg_bytes_free(&spki);
    kg_bytes_free(&raw);
}

static kms_audit *afx_open(afx *x, unsigned every)
{
    kms_audit *a = NULL;
    assert_int_equal(audit_log_open(&a, x->path, false, every), KG_OK);
    assert_int_equal(audit_log_set_key(a, x->seed), KG_OK);
    return a;
}

static void append_n(afx *x, kms_audit *a, int n)
{
    for (int i = 0; i < n; i++) {
        json_t *e = json_pack("{s:s, s:s, s:i}", "type", "request", "action", "encrypt", "n", i);
        json_t *cp = NULL;
        assert_int_equal(audit_log_append(a, e, &cp), KG_OK);
        assert_true(json_is_integer(json_object_get(e, "seq")));
        if (cp != NULL) {
            json_decref(x->last_cp);
            x->last_cp = cp;
        }
        json_decref(e);
    }
}

static int setup(void **state)
{
    assert_int_equal(kg_crypto_init(), KG_OK);
    afx *x = calloc(1, sizeof(*x));
    snprintf(x->dir, sizeof(x->dir), "/tmp/kg-audit-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    snprintf(x->path, sizeof(x->path), "%s/audit.log", x->dir);
    afx_key(x);
    kms_audit *a = afx_open(x, EVERY);
    append_n(x, a, N_APPEND);
    audit_log_close(a);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    afx *x = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
    assert_int_equal(system(cmd), 0);
    kg_secret_free(x->seed);
    json_decref(x->last_cp);
    free(x);
    return 0;
}

/* ------------------------------------------------------- file helpers */

typedef struct {
    char *l[256];
    size_t n;
} lines;

static void read_lines(lines *L, const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    L->n = 0;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t r;
    while ((r = getline(&buf, &cap, f)) > 0) {
        assert_true(L->n < 256);
        if (buf[r - 1] == '\n')
            buf[r - 1] = '\0';
        L->l[L->n++] = strdup(buf);
    }
    free(buf);
    fclose(f);
}

static void write_lines(const lines *L, const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < L->n; i++)
        fprintf(f, "%s\n", L->l[i]);
    fclose(f);
}

static void free_lines(lines *L)
{
    for (size_t i = 0; i < L->n; i++)
        free(L->l[i]);
    L->n = 0;
}

static void set_line(lines *L, size_t i, json_t *j)
{
    free(L->l[i]);
    L->l[i] = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
}

/* Recompute prev/hash from line `from` (0-based) on, as a forger would. */
static void rechain(lines *L, size_t from)
{
    char prev[65];
    if (from == 0) {
        memset(prev, '0', 64);
        prev[64] = '\0';
    } else {
        json_t *p = json_loads(L->l[from - 1], 0, NULL);
        snprintf(prev, sizeof(prev), "%s", json_string_value(json_object_get(p, "hash")));
        json_decref(p);
    }
    for (size_t i = from; i < L->n; i++) {
        json_t *j = json_loads(L->l[i], 0, NULL);
        assert_non_null(j);
        json_object_set_new(j, "prev", json_string(prev));
        uint8_t h[32];
        assert_int_equal(audit_entry_hash(h, j), KG_OK);
        kg_hex_encode(prev, h, 32);
        json_object_set_new(j, "hash", json_string(prev));
        set_line(L, i, j);
        json_decref(j);
    }
}

/* Verify path and check the outcome: bad_seq 0 means "must be intact". */
static json_t *expect(afx *x, const uint8_t *pinned, const json_t *stored, uint64_t bad_seq,
                      uint64_t bad_line, const char *needle)
{
    json_t *r = NULL;
    kg_err e = audit_verify_file(&r, x->path, pinned, "pinned", stored);
    assert_non_null(r);
    const char *reason = json_string_value(json_object_get(r, "reason"));
    if (bad_seq == 0) {
        if (e != KG_OK)
            fail_msg("expected intact, got: %s", reason);
        assert_true(json_is_true(json_object_get(r, "ok")));
        return r;
    }
    if (e != KG_ERR_AUDIT_TAMPERED)
        fail_msg("expected tampering at seq %llu, got err %d (%s)", (unsigned long long)bad_seq, e, reason);
    assert_false(json_is_true(json_object_get(r, "ok")));
    if ((uint64_t)json_integer_value(json_object_get(r, "first_bad_seq")) != bad_seq ||
        (uint64_t)json_integer_value(json_object_get(r, "first_bad_line")) != bad_line)
        fail_msg("expected seq %llu line %llu, got seq %lld line %lld: %s", (unsigned long long)bad_seq,
                 (unsigned long long)bad_line, (long long)json_integer_value(json_object_get(r, "first_bad_seq")),
                 (long long)json_integer_value(json_object_get(r, "first_bad_line")), reason);
    if (strstr(reason, needle) == NULL)
        fail_msg("reason '%s' lacks '%s'", reason, needle);
    assert_string_equal(kg_err_detail(KG_ERR_AUDIT_TAMPERED), reason);
    return r;
}

static void expect_free(afx *x, const uint8_t *pinned, const json_t *stored, uint64_t seq,
                        uint64_t line, const char *needle)
{
    json_decref(expect(x, pinned, stored, seq, line, needle));
}

/* ------------------------------------------------------------- tests */

static void test_intact(void **state)
{
    afx *x = *state;
    json_t *r = expect(x, x->pub, x->last_cp, 0, 0, "");
    assert_int_equal(json_integer_value(json_object_get(r, "entries")), 24);
    assert_int_equal(json_integer_value(json_object_get(r, "checkpoints")), 4);
    assert_int_equal(json_integer_value(json_object_get(r, "unsigned_tail")), 0);
    json_decref(r);
    /* without a pinned key: the first checkpoint's key, said so */
    r = expect(x, NULL, NULL, 0, 0, "");
    assert_string_equal(json_string_value(json_object_get(r, "key")), "log");
    json_decref(r);
    struct stat st;
    assert_int_equal(stat(x->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(json_integer_value(json_object_get(x->last_cp, "checkpoint_seq")), 23);
}

static void test_edited_entry(void **state)
{
    afx *x = *state;
    lines L;
    read_lines(&L, x->path);
    json_t *j = json_loads(L.l[2], 0, NULL);
    json_object_set_new(j, "action", json_string("decrypt"));
    set_line(&L, 2, j);
    json_decref(j);
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 3, 3, "modified");
    /* a forger who re-hashes the chain is caught by the next checkpoint */
    rechain(&L, 2);
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 6, 6, "head does not match");
    free_lines(&L);
}

static void test_deleted_line(void **state)
{
    afx *x = *state;
    lines L;
    read_lines(&L, x->path);
    free(L.l[2]);
    memmove(&L.l[2], &L.l[3], (L.n - 3) * sizeof(char *));
    L.n--;
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 3, 3, "missing");
    free_lines(&L);
}

static void test_inserted_line(void **state)
{
    afx *x = *state;
    lines L;
    read_lines(&L, x->path);
    memmove(&L.l[4], &L.l[3], (L.n - 3) * sizeof(char *));
    L.l[3] = strdup(L.l[2]);
    L.n++;
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 4, 4, "duplicated");
    /* a fabricated entry with the right seq but a forged prev */
    json_t *j = json_loads(L.l[3], 0, NULL);
    json_object_set_new(j, "seq", json_integer(4));
    uint8_t h[32];
    assert_int_equal(audit_entry_hash(h, j), KG_OK);
    char hex[65];
    kg_hex_encode(hex, h, 32);
    json_object_set_new(j, "hash", json_string(hex));
    set_line(&L, 3, j);
    json_decref(j);
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 4, 4, "prev hash mismatch");
    free_lines(&L);
}

static void test_swapped_lines(void **state)
{
    afx *x = *state;
    lines L;
    read_lines(&L, x->path);
    char *t = L.l[7];
    L.l[7] = L.l[8];
    L.l[8] = t;
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 8, 8, "missing");
    free_lines(&L);
}

static void test_checkpoint_signature(void **state)
{
    afx *x = *state;
    lines L;
    read_lines(&L, x->path);
    json_t *j = json_loads(L.l[11], 0, NULL); /* seq 12: a checkpoint */
    assert_string_equal(json_string_value(json_object_get(j, "type")), "checkpoint");
    kg_bytes sig = { 0 };
    assert_int_equal(kg_b64_decode(&sig, json_string_value(json_object_get(j, "sig"))), KG_OK);
    sig.data[10] ^= 1;
    json_object_set_new(j, "sig", kg_json_b64(sig.data, sig.len));
    kg_bytes_free(&sig);
    set_line(&L, 11, j);
    json_decref(j);
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 12, 12, "modified");
    rechain(&L, 11);
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 12, 12, "bad signature");
    free_lines(&L);
}

static void test_key_mismatch(void **state)
{
    afx *x = *state;
    uint8_t other[32];
    memcpy(other, x->pub, 32);
    other[0] ^= 0x80;
    expect_free(x, other, NULL, 6, 6, "different public key");
}

static void test_unparseable_line(void **state)
{
    afx *x = *state;
    lines L;
    read_lines(&L, x->path);
    free(L.l[4]);
    L.l[4] = strdup("{\"seq\":5, this is not json");
    write_lines(&L, x->path);
    expect_free(x, x->pub, NULL, 5, 5, "not a valid audit entry");
    free_lines(&L);
}

static void test_truncated_tail(void **state)
{
    afx *x = *state;
    lines L;
    read_lines(&L, x->path);
    for (size_t i = 20; i < L.n; i++)
        free(L.l[i]);
    L.n = 20;
    write_lines(&L, x->path);
    /* alone the file looks fine (its unsigned tail is reported) ... */
    json_t *r = expect(x, x->pub, NULL, 0, 0, "");
    assert_int_equal(json_integer_value(json_object_get(r, "unsigned_tail")), 2);
    json_decref(r);
    /* ... the store's checkpoint (seq 24) shows the cut */
    expect_free(x, x->pub, x->last_cp, 21, 21, "removed from the end");
    /* and a forged store checkpoint is refused */
    json_t *forged = json_deep_copy(x->last_cp);
    json_object_set_new(forged, "checkpoint_seq", json_integer(3));
    json_t *r2 = NULL;
    assert_int_equal(audit_verify_file(&r2, x->path, x->pub, "pinned", forged), KG_ERR_AUDIT_TAMPERED);
    assert_non_null(strstr(json_string_value(json_object_get(r2, "reason")), "store"));
    json_decref(r2);
    json_decref(forged);
    free_lines(&L);
}

static void test_reopen_continues(void **state)
{
    afx *x = *state;
    kms_audit *a = afx_open(x, EVERY);
    append_n(x, a, 3);
    json_t *cp = NULL;
    assert_int_equal(audit_log_checkpoint(a, &cp, 0), KG_OK);
    assert_non_null(cp);
    assert_int_equal(json_integer_value(json_object_get(cp, "seq")), 28);
    /* nothing new since: no second checkpoint */
    json_t *cp2 = NULL;
    assert_int_equal(audit_log_checkpoint(a, &cp2, 0), KG_OK);
    assert_null(cp2);
    audit_log_close(a);
    json_t *r = expect(x, x->pub, cp, 0, 0, "");
    assert_int_equal(json_integer_value(json_object_get(r, "entries")), 28);
    json_decref(r);
    json_decref(cp);
}

static void test_partial_tail_recovered(void **state)
{
    afx *x = *state;
    struct stat before, after;
    assert_int_equal(stat(x->path, &before), 0);
    int fd = open(x->path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    const char torn[] = "{\"action\":\"encrypt\",\"hash\":\"ab";
    assert_int_equal(write(fd, torn, sizeof(torn) - 1), (ssize_t)sizeof(torn) - 1);
    close(fd);
    json_t *r = expect(x, x->pub, NULL, 0, 0, "");
    assert_true(json_is_true(json_object_get(r, "partial_tail")));
    json_decref(r);
    kms_audit *a = afx_open(x, EVERY);
    assert_int_equal(stat(x->path, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    append_n(x, a, 1);
    audit_log_close(a);
    r = expect(x, x->pub, NULL, 0, 0, "");
    assert_int_equal(json_integer_value(json_object_get(r, "entries")), 25);
    assert_false(json_is_true(json_object_get(r, "partial_tail")));
    json_decref(r);
}

static void test_fail_closed(void **state)
{
    (void)state;
    kms_audit *a = NULL;
    assert_int_equal(audit_log_open(&a, "/dev/full", true, 0), KG_OK);
    json_t *e = json_pack("{s:s}", "type", "request"), *cp = NULL;
    assert_int_equal(audit_log_append(a, e, &cp), KG_ERR_AUDIT);
    assert_int_equal(audit_log_append(a, e, &cp), KG_ERR_AUDIT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_AUDIT), "restart"));
    json_decref(e);
    audit_log_close(a);
}

/* An enqueued entry is not on disk until a durable append follows, which
 * then writes both, in seq order; and no checkpoint is taken on an enqueue. */
static void test_enqueue_then_append(void **state)
{
    afx *x = *state;
    kms_audit *a = afx_open(x, 1);
    struct stat before, after;
    assert_int_equal(stat(x->path, &before), 0);
    json_t *req = json_pack("{s:s}", "type", "request"), *rsp = json_pack("{s:s}", "type", "response");
    json_t *cp = NULL;
    assert_int_equal(audit_log_enqueue(a, req, &cp), KG_OK);
    assert_null(cp);
    assert_int_equal(stat(x->path, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(audit_log_append(a, rsp, &cp), KG_OK);
    assert_non_null(cp); /* every=1: the durable append checkpoints both */
    json_int_t seq = json_integer_value(json_object_get(req, "seq"));
    assert_int_equal(json_integer_value(json_object_get(rsp, "seq")), seq + 1);
    assert_int_equal(json_integer_value(json_object_get(cp, "checkpoint_seq")), seq + 1);
    assert_int_equal(stat(x->path, &after), 0);
    assert_true(after.st_size > before.st_size);
    json_decref(cp);
    json_decref(req);
    json_decref(rsp);
    audit_log_close(a);
    json_t *r = expect(x, x->pub, NULL, 0, 0, "");
    assert_int_equal(json_integer_value(json_object_get(r, "entries")), seq + 2);
    json_decref(r);
}

/* A failed write after an enqueue fails the durable append that carried it. */
static void test_enqueue_fail_closed(void **state)
{
    (void)state;
    kms_audit *a = NULL;
    assert_int_equal(audit_log_open(&a, "/dev/full", true, 0), KG_OK);
    json_t *e = json_pack("{s:s}", "type", "request"), *cp = NULL;
    assert_int_equal(audit_log_enqueue(a, e, &cp), KG_OK);
    assert_int_equal(audit_log_append(a, e, &cp), KG_ERR_AUDIT);
    assert_int_equal(audit_log_enqueue(a, e, &cp), KG_ERR_AUDIT);
    json_decref(e);
    audit_log_close(a);
}

typedef struct {
    kms_audit *a;
    int fails;
} thr_arg;

static void *appender(void *p)
{
    thr_arg *t = p;
    for (int i = 0; i < 50; i++) {
        json_t *e = json_pack("{s:s, s:i}", "type", "request", "i", i), *cp = NULL;
        if (audit_log_append(t->a, e, &cp) != KG_OK)
            t->fails++;
        json_decref(cp);
        json_decref(e);
    }
    return NULL;
}

static void test_concurrent_appends(void **state)
{
    afx *x = *state;
    kms_audit *a = NULL;
    assert_int_equal(audit_log_open(&a, x->path, true, 7), KG_OK);
    assert_int_equal(audit_log_set_key(a, x->seed), KG_OK);
    pthread_t th[8];
    thr_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (thr_arg){ a, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, appender, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].fails, 0);
    }
    audit_log_close(a);
    json_t *r = expect(x, x->pub, NULL, 0, 0, "");
    json_int_t entries = json_integer_value(json_object_get(r, "entries"));
    json_int_t cps = json_integer_value(json_object_get(r, "checkpoints"));
    assert_int_equal(entries - cps, 24 - 4 + 400);
    assert_true(cps >= 4 + 400 / 8);
    json_decref(r);
}

/* ------------------------------------------------------- the KMS glue */

static void test_kms_audit(void **state)
{
    (void)state;
    fx_kms *f = fx_new(3);
    char *h1 = kg_kms_audit_hmac(f->kms, "a-0123");
    char *h2 = kg_kms_audit_hmac(f->kms, "a-0123");
    char *h3 = kg_kms_audit_hmac(f->kms, "a-0124");
    assert_memory_equal(h1, "hmac-sha256:", 12);
    assert_int_equal(strlen(h1), 12 + 64);
    assert_string_equal(h1, h2);
    assert_string_not_equal(h1, h3);
    for (int i = 0; i < 10; i++) {
        json_t *e = json_pack("{s:s, s:s, s:i}", "type", "request", "accessor", h1, "i", i);
        assert_int_equal(kg_kms_audit_append(f->kms, e), KG_OK);
        json_decref(e);
    }
    /* read: the last 3, then a page after seq 2 */
    json_t *out = NULL;
    assert_int_equal(kg_kms_audit_read(f->kms, f->root, &out, 0, 3), KG_OK);
    json_t *ents = json_object_get(out, "entries");
    assert_int_equal(json_array_size(ents), 3);
    assert_int_equal(json_integer_value(json_object_get(out, "next")),
                     json_integer_value(json_object_get(json_array_get(ents, 2), "seq")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ents, 2), "seq")), 13);
    json_decref(out);
    assert_int_equal(kg_kms_audit_read(f->kms, f->root, &out, 2, 3), KG_OK);
    ents = json_object_get(out, "entries");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ents, 0), "seq")), 3);
    assert_int_equal(json_integer_value(json_object_get(out, "next")), 5);
    json_decref(out);
    char *t = fx_token(f, f->root, "{\"policies\":[\"app\"]}", NULL);
    kg_kms_caller *c = fx_auth(f, t);
    assert_int_equal(kg_kms_audit_read(f->kms, c, &out, 0, 3), KG_ERR_DENIED);
    kg_kms_caller_free(c);
    free(t);

    /* seal: a final checkpoint lands in the file and the store */
    assert_int_equal(kg_kms_seal(f->kms, f->root), KG_OK);
    char *hs = kg_kms_audit_hmac(f->kms, "a-0123");
    assert_memory_equal(hs, "sealed:sha256:", 14);
    json_t *cp = NULL;
    assert_int_equal(kg_store_get_json(f->st, NULL, &cp, "audit/checkpoint"), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(cp, "seq")), 14);
    json_decref(cp);
    json_t *e = json_pack("{s:s}", "type", "request"); /* appends still work sealed, unsigned */
    assert_int_equal(kg_kms_audit_append(f->kms, e), KG_OK);
    json_decref(e);
    fx_close(f);

    /* offline verify of the data dir: store key, pinned key, wrong key */
    json_t *r = NULL;
    assert_int_equal(kg_kms_audit_verify(&r, f->dir, NULL), KG_OK);
    assert_string_equal(json_string_value(json_object_get(r, "key")), "store");
    assert_int_equal(json_integer_value(json_object_get(r, "entries")), 15);
    json_decref(r);
    const char *pub = json_string_value(json_object_get(f->init, "audit_public_key"));
    assert_int_equal(kg_kms_audit_verify(&r, f->dir, pub), KG_OK);
    json_decref(r);
    assert_int_equal(kg_kms_audit_verify(&r, f->dir, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), KG_ERR_AUDIT_TAMPERED);
    json_decref(r);
    assert_int_equal(kg_kms_audit_verify(&r, "/nonexistent/kg", NULL), KG_ERR_IO);

    /* cut the last two lines: the data dir verify sees it, the file alone does not */
    char path[128];
    snprintf(path, sizeof(path), "%s/audit.log", f->dir);
    lines L;
    read_lines(&L, path);
    free(L.l[--L.n]);
    free(L.l[--L.n]);
    write_lines(&L, path);
    free_lines(&L);
    assert_int_equal(kg_kms_audit_verify(&r, f->dir, NULL), KG_ERR_AUDIT_TAMPERED);
    assert_int_equal(json_integer_value(json_object_get(r, "first_bad_seq")), 14);
    json_decref(r);
    assert_int_equal(kg_kms_audit_verify(&r, path, NULL), KG_OK);
    json_decref(r);

    /* reopening the KMS continues the chain after the cut */
    fx_open(f);
    e = json_pack("{s:s}", "type", "request");
    assert_int_equal(kg_kms_audit_append(f->kms, e), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(e, "seq")), 14);
    json_decref(e);
    free(h1);
    free(h2);
    free(h3);
    free(hs);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inserted_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unparseable_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_tail_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_then_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_fail_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
        cmocka_unit_test(test_kms_audit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
