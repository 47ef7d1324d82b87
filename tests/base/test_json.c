/* JSON helpers: strict parsing (duplicates, depth, top-level object, error
 * position) and the typed getters' behaviour and messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kashguard/base.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse_ok(const char *s)
{
    json_t *o = NULL;
    assert_int_equal(kg_json_parse_object(&o, s, strlen(s)), KG_OK);
    assert_non_null(o);
    return o;
}

static void test_parse_errors(void **state)
{
    (void)state;
    json_t *o = (json_t *)1;
    const char *bad = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    assert_int_equal(kg_json_parse_object(&o, bad, strlen(bad)), KG_ERR_BAD_JSON);
    assert_null(o);
    const char *d = kg_err_detail(KG_ERR_BAD_JSON);
    assert_non_null(strstr(d, "line 3"));
    assert_non_null(strstr(d, "column"));

    const char *dup = "{\"a\":1,\"a\":2}";
    assert_int_equal(kg_json_parse_object(&o, dup, strlen(dup)), KG_ERR_BAD_JSON);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_JSON), "duplicate"));

    assert_int_equal(kg_json_parse_object(&o, "[1,2]", 5), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_json_parse_object(&o, "\"x\"", 3), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_json_parse_object(&o, "", 0), KG_ERR_BAD_JSON);
    assert_int_equal(kg_json_parse_object(&o, "{} x", 4), KG_ERR_BAD_JSON);
    assert_int_equal(kg_json_parse_object(&o, "{\"a\":\"\\u0000\"}", 14), KG_ERR_BAD_JSON);
    /* length is honoured: the bytes after len are not parsed */
    o = NULL;
    assert_int_equal(kg_json_parse_object(&o, "{}garbage", 2), KG_OK);
    json_decref(o);
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* depth d: d-1 arrays inside one object */
    for (int d = 30; d <= 34; d++) {
        char buf[256] = "{\"a\":";
        size_t n = strlen(buf);
        for (int i = 0; i < d - 1; i++) buf[n++] = '[';
        for (int i = 0; i < d - 1; i++) buf[n++] = ']';
        buf[n++] = '}';
        buf[n] = 0;
        json_t *o = NULL;
        kg_err e = kg_json_parse_object(&o, buf, n);
        if (d <= 32) {
            assert_int_equal(e, KG_OK);
            json_decref(o);
        } else {
            assert_int_equal(e, KG_ERR_BAD_JSON);
            assert_null(o);
            assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_JSON), "deeper than 32"));
        }
    }
}

static void test_getters(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"name\":\"k1\",\"n\":42,\"neg\":-7,\"f\":1.5,\"on\":true,\"nil\":null,"
                         "\"blob\":\"Zm9vYmFy\",\"badb\":\"Zm9\"}");
    const char *s = NULL;
    assert_int_equal(kg_json_get_str(&s, o, "name", true), KG_OK);
    assert_string_equal(s, "k1");
    s = "unchanged";
    assert_int_equal(kg_json_get_str(&s, o, "missing", false), KG_OK);
    assert_string_equal(s, "unchanged");
    assert_int_equal(kg_json_get_str(&s, o, "nil", false), KG_OK);
    assert_string_equal(s, "unchanged");
    assert_int_equal(kg_json_get_str(&s, o, "missing", true), KG_ERR_BAD_INPUT);
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "field 'missing' is required");
    assert_int_equal(kg_json_get_str(&s, o, "n", true), KG_ERR_BAD_INPUT);
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "field 'n' must be a string");

    int64_t i = 0;
    assert_int_equal(kg_json_get_int(&i, o, "n", true), KG_OK);
    assert_int_equal(i, 42);
    assert_int_equal(kg_json_get_int(&i, o, "neg", true), KG_OK);
    assert_int_equal(i, -7);
    assert_int_equal(kg_json_get_int(&i, o, "f", true), KG_ERR_BAD_INPUT);
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "field 'f' must be an integer");
    assert_int_equal(kg_json_get_int(&i, o, "name", false), KG_ERR_BAD_INPUT);

    bool b = false;
    assert_int_equal(kg_json_get_bool(&b, o, "on", true), KG_OK);
    assert_true(b);
    assert_int_equal(kg_json_get_bool(&b, o, "n", true), KG_ERR_BAD_INPUT);
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "field 'n' must be true or false");
    json_decref(o);
}

static void test_get_b64(void **state)
{
    (void)state;
    json_t *o = parse_ok("{\"blob\":\"Zm9vYmFy\",\"badb\":\"Zm9\",\"n\":1}");
    kg_bytes v = { 0 };
    assert_int_equal(kg_json_get_b64(&v, o, "blob", true, 6), KG_OK);
    assert_int_equal(v.len, 6);
    assert_memory_equal(v.data, "foobar", 6);
    kg_bytes_free(&v);
    assert_int_equal(kg_json_get_b64(&v, o, "blob", true, 5), KG_ERR_BAD_INPUT);
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "field 'blob' is longer than 5 bytes");
    assert_null(v.data);
    assert_int_equal(kg_json_get_b64(&v, o, "blob", true, 1), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_json_get_b64(&v, o, "badb", true, 100), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "field 'badb' must be standard base64"));
    assert_int_equal(kg_json_get_b64(&v, o, "n", true, 100), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_json_get_b64(&v, o, "absent", false, 100), KG_OK);
    assert_null(v.data);
    json_decref(o);

    json_t *j = kg_json_b64((const uint8_t *)"foob", 4);
    assert_string_equal(json_string_value(j), "Zm9vYg==");
    json_decref(j);
}

static void test_check_fields(void **state)
{
    (void)state;
    static const char *const allowed[] = { "name", "spec", NULL };
    json_t *o = parse_ok("{\"name\":\"a\",\"spec\":\"b\"}");
    assert_int_equal(kg_json_check_fields(o, allowed), KG_OK);
    json_decref(o);
    o = parse_ok("{\"name\":\"a\",\"sepc\":\"b\"}");
    assert_int_equal(kg_json_check_fields(o, allowed), KG_ERR_BAD_INPUT);
    assert_string_equal(kg_err_detail(KG_ERR_BAD_INPUT), "unknown field 'sepc'; allowed fields: name, spec");
    json_decref(o);
    static const char *const none[] = { NULL };
    o = parse_ok("{\"x\\ny\":1}");
    assert_int_equal(kg_json_check_fields(o, none), KG_ERR_BAD_INPUT);
    assert_null(strchr(kg_err_detail(KG_ERR_BAD_INPUT), '\n'));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_get_b64),
        cmocka_unit_test(test_check_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
