/* Base layer: the error table and per-thread detail, the illegal-argument
 * hook, guarded secrets, time and durations, and structured logging. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kashguard/base.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_err_table(void **state)
{
    (void)state;
    assert_int_equal(KG_OK, 0);
    for (int i = 0; i < KG_ERR_COUNT_; i++) {
        const char *c = kg_err_code((kg_err)i);
        assert_non_null(c);
        assert_true(strlen(kg_err_str((kg_err)i)) > 0);
        for (const char *p = c; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        assert_int_equal(kg_err_from_code(c), i);
        int st = kg_err_http((kg_err)i);
        assert_true(st >= 200 && st <= 599);
        assert_true(i == KG_OK ? st == 200 : st >= 400);
        for (int j = i + 1; j < KG_ERR_COUNT_; j++)
            assert_string_not_equal(c, kg_err_code((kg_err)j));
    }
    assert_int_equal(kg_err_http(KG_ERR_NOT_FOUND), 404);
    assert_int_equal(kg_err_http(KG_ERR_SEALED), 503);
    assert_int_equal(kg_err_http(KG_ERR_CONFLICT), 409);
    assert_string_equal(kg_err_code(KG_ERR_KEY_DISABLED), "key_disabled");
    assert_int_equal(kg_err_from_code("no_such_code"), KG_ERR_INTERNAL);
    assert_int_equal(kg_err_from_code(NULL), KG_ERR_INTERNAL);
    assert_string_equal(kg_err_code((kg_err)KG_ERR_COUNT_), "internal");
    assert_string_equal(kg_err_code((kg_err)-1), "internal");
}

static void test_err_detail(void **state)
{
    (void)state;
    kg_err_clear();
    assert_string_equal(kg_err_detail(KG_ERR_NOT_FOUND), kg_err_str(KG_ERR_NOT_FOUND));
    assert_int_equal(kg_err_set(KG_ERR_NOT_FOUND, "no key '%s'", "payments"), KG_ERR_NOT_FOUND);
    assert_string_equal(kg_err_detail(KG_ERR_NOT_FOUND), "no key 'payments'");
    /* asked about another code: the default text, not a stale detail */
    assert_string_equal(kg_err_detail(KG_ERR_SEALED), kg_err_str(KG_ERR_SEALED));
    kg_err_set(KG_ERR_BAD_INPUT, "bad name '%s'", "a\r\nINFO forged\tline");
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "bad name 'a  INFO forged line'");
    kg_err_set(KG_ERR_BAD_INPUT, "x\xff\xc3(");
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "x?" "?(");
    kg_err_clear();
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), kg_err_str(KG_ERR_BAD_INPUT));
}

static void test_err_detail_truncation(void **state)
{
    (void)state;
    char big[1200];
    /* 2-byte UTF-8 characters, so truncation can land mid-character */
    for (size_t i = 0; i + 1 < sizeof(big); i += 2) {
        big[i] = (char)0xc3;
        big[i + 1] = (char)0xa9;
    }
    big[sizeof(big) - 1] = 0;
    kg_err_set(KG_ERR_BAD_INPUT, "x%s", big);
    const char *d = kg_err_detail(KG_ERR_BAD_INPUT);
    assert_true(strlen(d) <= 511);
    json_t *j = json_string(d); /* valid UTF-8 */
    assert_non_null(j);
    json_decref(j);
}

static void *other_thread(void *arg)
{
    (void)arg;
    kg_err_set(KG_ERR_SEALED, "thread detail");
    return NULL;
}

static void test_err_detail_is_per_thread(void **state)
{
    (void)state;
    kg_err_set(KG_ERR_SEALED, "main detail");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, NULL);
    assert_string_equal(kg_err_detail(KG_ERR_SEALED), "main detail");
}

static int illegal_count;
static void counting_hook(const char *what, void *arg)
{
    (void)what;
    assert_ptr_equal(arg, &illegal_count);
    illegal_count++;
}

static void test_illegal_hook(void **state)
{
    (void)state;
    kg_set_illegal_hook(counting_hook, &illegal_count);
    illegal_count = 0;
    size_t n;
    assert_int_equal(kg_hex_decode(NULL, 0, &n, NULL), KG_ERR_ARG);
    assert_int_equal(illegal_count, 1);
    assert_int_equal(kg_b64_decode(NULL, "Zg=="), KG_ERR_ARG);
    assert_int_equal(illegal_count, 2);
    assert_null(kg_secret_data(NULL));
    assert_int_equal(illegal_count, 3);
    kg_set_illegal_hook(NULL, NULL);
}

static void test_secret(void **state)
{
    (void)state;
    kg_secret *z = kg_secret_new(0);
    assert_non_null(z);
    assert_int_equal(kg_secret_len(z), 0);
    kg_secret_free(z);

    kg_secret *s = kg_secret_new(33);
    assert_non_null(s);
    assert_int_equal(kg_secret_len(s), 33);
    uint8_t *p = kg_secret_data(s);
    for (size_t i = 0; i < 33; i++)
        assert_int_equal(p[i], 0);
    memset(p, 0xAB, 33);
    assert_ptr_equal(kg_secret_cdata(s), p);
    kg_secret *c = kg_secret_from(kg_secret_cdata(s), kg_secret_len(s));
    assert_non_null(c);
    assert_true(kg_ct_equal(kg_secret_cdata(c), p, 33));
    kg_secret_free(s);
    kg_secret_free(c);
    kg_secret_free(NULL);
    for (size_t len = 1; len < 70; len++) {
        s = kg_secret_new(len);
        assert_non_null(s);
        memset(kg_secret_data(s), 0x11, len);
        assert_int_equal(kg_secret_len(s), len);
        kg_secret_free(s);
    }
    /* Every size class and the large path: a new secret is all zero even
     * when it reuses the memory of one just freed (slots are wiped), and
     * is usable to its last byte. */
    static const size_t sizes[] = { 1, 32, 100, 200, 500, 1000, 2000, 4000, 4096, 5000, 70000 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int round = 0; round < 3; round++) {
            s = kg_secret_new(sizes[i]);
            assert_non_null(s);
            uint8_t *d = kg_secret_data(s);
            for (size_t j = 0; j < sizes[i]; j++)
                assert_int_equal(d[j], 0);
            memset(d, 0xAA, sizes[i]);
            kg_secret_free(s);
        }
    }
    /* Many live at once: distinct, non-overlapping buffers. */
    kg_secret *live[300];
    for (int i = 0; i < 300; i++) {
        live[i] = kg_secret_new(48);
        assert_non_null(live[i]);
        memset(kg_secret_data(live[i]), i & 0xff, 48);
    }
    for (int i = 0; i < 300; i++) {
        for (size_t j = 0; j < 48; j++)
            assert_int_equal(kg_secret_cdata(live[i])[j], i & 0xff);
        kg_secret_free(live[i]);
    }
}

static void test_time(void **state)
{
    (void)state;
    char b[21];
    kg_time_rfc3339(b, 0);
    assert_string_equal(b, "1970-01-01T00:00:00Z");
    kg_time_rfc3339(b, 1764127910);
    assert_string_equal(b, "2025-11-26T03:31:50Z");
    kg_time_rfc3339(b, INT64_MAX);
    assert_string_equal(b, "9999-12-31T23:59:59Z");
    kg_time_rfc3339(b, -5);
    assert_string_equal(b, "1970-01-01T00:00:00Z");
    assert_true(kg_now() > 1700000000);
}

static void test_duration(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(kg_duration_parse(&v, "30d"), KG_OK);
    assert_int_equal(v, 30 * 86400);
    assert_int_equal(kg_duration_parse(&v, "12h"), KG_OK);
    assert_int_equal(v, 43200);
    assert_int_equal(kg_duration_parse(&v, "90m"), KG_OK);
    assert_int_equal(v, 5400);
    assert_int_equal(kg_duration_parse(&v, "45s"), KG_OK);
    assert_int_equal(v, 45);
    assert_int_equal(kg_duration_parse(&v, "3600"), KG_OK);
    assert_int_equal(v, 3600);
    assert_int_equal(kg_duration_parse(&v, "0"), KG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(kg_duration_parse(&v, "9223372036854775807"), KG_OK);
    assert_int_equal(v, INT64_MAX);
    static const char *const bad[] = { "", "-5", "+5", "5x", "5dd", " 5", "5 ", "d", "1.5h", "0x10",
                                       "9223372036854775808", "106751991167301d", "99999999999999999999s",
                                       "5\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 77;
        assert_int_equal(kg_duration_parse(&v, bad[i]), KG_ERR_BAD_INPUT);
        assert_int_equal(v, 0);
    }
    assert_int_equal(kg_duration_parse(&v, "106751991167300d"), KG_OK);
}

/* Run kg_log with stderr redirected into a temp file; return what it wrote. */
static char *capture_log(kg_log_level lvl, const char *msg, const char *k, const char *v)
{
    char path[] = "/tmp/kg-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    kg_log(lvl, msg, k, v, NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    return buf;
}

static void test_log(void **state)
{
    (void)state;
    kg_log_set_level(KG_LOG_INFO);
    char *out = capture_log(KG_LOG_INFO, "server listening", "addr", "127.0.0.1:8200\n{\"forged\":1}");
    size_t n = strlen(out);
    assert_true(n > 0);
    assert_int_equal(out[n - 1], '\n');
    assert_null(memchr(out, '\n', n - 1)); /* exactly one line */
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "server listening");
    assert_string_equal(json_string_value(json_object_get(o, "addr")), "127.0.0.1:8200\n{\"forged\":1}");
    assert_int_equal(strlen(json_string_value(json_object_get(o, "time"))), 20);
    json_decref(o);
    free(out);

    out = capture_log(KG_LOG_DEBUG, "hidden", NULL, NULL);
    assert_string_equal(out, "");
    free(out);
    kg_log_set_level(KG_LOG_DEBUG);
    out = capture_log(KG_LOG_DEBUG, "shown", NULL, NULL);
    assert_non_null(strstr(out, "\"level\":\"debug\""));
    free(out);
    kg_log_set_level(KG_LOG_ERROR);
    out = capture_log(KG_LOG_WARN, "hidden", NULL, NULL);
    assert_string_equal(out, "");
    free(out);
    kg_log_set_level(KG_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_err_detail),
        cmocka_unit_test(test_err_detail_truncation),
        cmocka_unit_test(test_err_detail_is_per_thread),
        cmocka_unit_test(test_illegal_hook),
        cmocka_unit_test(test_secret),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
