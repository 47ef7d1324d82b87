/* Server suite: a real server in this process (dev mode, temp data dir,
 * 127.0.0.1, ephemeral port) driven over real sockets by a small HTTP/1.1
 * client, plus the pure parts (target parser, body parser, config file).
 *
 * The client sends one request per connection ("Connection: close") and
 * reads to EOF, so no test depends on timing. The sealing test runs last
 * and unseals again with the dev unseal key from the data dir. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kashguard/server.h>
#include "server_fixture.h"


static int setup(void **state)
{
    return server_setup("kg-server-test");
}

static int teardown(void **state)
{
    return server_teardown();
}

/* Create an AES key and return its id (static buffer). */
static const char *create_key(const char *body)
{
    static char id[64];
    resp r;
    http(&r, "POST", "/v1/keys", root, body);
    assert_int_equal(r.status, 200);
    const char *k = json_string_value(json_object_get(r.json, "key_id"));
    assert_non_null(k);
    snprintf(id, sizeof id, "%s", k);
    json_decref(r.json);
    return id;
}

static void test_health(void **state)
{
    resp r;
    http(&r, "GET", "/v1/sys/health", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "initialized")));
    assert_true(json_is_false(json_object_get(r.json, "sealed")));
    assert_non_null(json_object_get(r.json, "server_time"));
    assert_non_null(strstr(r.headers, "X-Request-Id: r-"));
    json_decref(r.json);
}

static void test_unknown_route_404(void **state)
{
    resp r;
    http(&r, "GET", "/v1/nothing/here", root, NULL);
    expect_error(&r, 404, "not_found");
    http(&r, "GET", "/v1/keys/", root, NULL);
    expect_error(&r, 404, "not_found");
}

static void test_wrong_method_405(void **state)
{
    resp r;
    http(&r, "DELETE", "/v1/keys", root, NULL);
    assert_non_null(strstr(r.headers, "Allow: POST, GET"));
    expect_error(&r, 405, "method_not_allowed");
    http(&r, "GET", "/v1/sys/seal", root, NULL);
    expect_error(&r, 405, "method_not_allowed");
}

static void test_no_token_401(void **state)
{
    resp r;
    http(&r, "GET", "/v1/keys", NULL, NULL);
    expect_error(&r, 401, "unauthenticated");
}

static void test_bad_token_401(void **state)
{
    resp r;
    http(&r, "GET", "/v1/keys", "kg.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    expect_error(&r, 401, "unauthenticated");
    http_raw(&r, "GET", "/v1/keys", "X-KashGuard-Token: nope\r\n", NULL, NULL, 0);
    expect_error(&r, 401, "unauthenticated");
}

static void test_x_token_header_accepted(void **state)
{
    char extra[256];
    snprintf(extra, sizeof extra, "X-KashGuard-Token: %s\r\n", root);
    resp r;
    http_raw(&r, "GET", "/v1/keys", extra, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_true(json_is_array(json_object_get(r.json, "keys")));
    json_decref(r.json);
}

static void test_malformed_json_400(void **state)
{
    resp r;
    http(&r, "POST", "/v1/keys", root, "{\"spec\": ");
    expect_error(&r, 400, "bad_json");
    http(&r, "POST", "/v1/keys", root, "[1,2]");
    expect_error(&r, 400, "bad_input");
}

static void test_wrong_type_names_field(void **state)
{
    resp r;
    http(&r, "POST", "/v1/keys", root, "{\"spec\":5}");
    assert_int_equal(r.status, 400);
    assert_string_equal(err_code(&r), "bad_input");
    assert_non_null(strstr(err_msg(&r), "spec"));
    json_decref(r.json);
}

static void test_unknown_field_400(void **state)
{
    resp r;
    http(&r, "POST", "/v1/keys", root, "{\"spec\":\"AES_256\",\"colour\":\"red\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(err_code(&r), "bad_input");
    assert_non_null(strstr(err_msg(&r), "colour"));
    json_decref(r.json);
}

static void test_bad_query_400(void **state)
{
    resp r;
    http(&r, "GET", "/v1/keys?limit=0", root, NULL);
    expect_error(&r, 400, "bad_input");
    http(&r, "GET", "/v1/keys?colour=red", root, NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(err_msg(&r), "colour"));
    json_decref(r.json);
}

static void test_oversized_content_length_413(void **state)
{
    char extra[512];
    snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", root, 2 << 20);
    resp r;
    http_raw(&r, "POST", "/v1/keys", extra, NULL, "{", 1);
    expect_error(&r, 413, "too_large");
}

static void test_oversized_chunked_413(void **state)
{
    size_t n = (1u << 20) + 16;
    char *raw = malloc(n + 64);
    assert_non_null(raw);
    int h = snprintf(raw, 64, "%zx\r\n", n);
    memset(raw + h, 'a', n);
    memcpy(raw + h + n, "\r\n0\r\n\r\n", 7);
    char extra[512];
    snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", root);
    resp r;
    http_raw(&r, "POST", "/v1/keys", extra, NULL, raw, (size_t)h + n + 7);
    free(raw);
    expect_error(&r, 413, "too_large");
}

static void test_encrypt_decrypt_roundtrip(void **state)
{
    const char *id = create_key("{\"spec\":\"AES_256\",\"alias\":\"srv-test\"}");
    char path[128], body[512];
    resp r;
    snprintf(path, sizeof path, "/v1/keys/%s/encrypt", id);
    http(&r, "POST", path, root, "{\"plaintext\":\"aGVsbG8gd29ybGQ=\",\"context\":{\"app\":\"t\"}}");
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "key_id")), id);
    snprintf(body, sizeof body, "{\"ciphertext\":\"%s\",\"context\":{\"app\":\"t\"}}",
             json_string_value(json_object_get(r.json, "ciphertext")));
    json_decref(r.json);
    http(&r, "POST", "/v1/keys/srv-test/decrypt", root, body);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "plaintext")), "aGVsbG8gd29ybGQ=");
    json_decref(r.json);
    http(&r, "POST", "/v1/decrypt", root, body);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "plaintext")), "aGVsbG8gd29ybGQ=");
    json_decref(r.json);
}

static void test_batch_encrypt_per_item_error(void **state)
{
    const char *id = create_key("{\"spec\":\"AES_256\"}");
    char path[128];
    snprintf(path, sizeof path, "/v1/keys/%s/encrypt", id);
    resp r;
    http(&r, "POST", path, root,
         "{\"batch\":[{\"plaintext\":\"YQ==\"},{\"plaintext\":\"not base64!\"},{\"plaintext\":\"Yg==\"}]}");
    assert_int_equal(r.status, 200);
    json_t *b = json_object_get(r.json, "batch");
    assert_int_equal(json_array_size(b), 3);
    assert_non_null(json_string_value(json_object_get(json_array_get(b, 0), "ciphertext")));
    json_t *err = json_object_get(json_array_get(b, 1), "error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), "bad_input");
    assert_non_null(json_string_value(json_object_get(json_array_get(b, 2), "ciphertext")));
    json_decref(r.json);
    http(&r, "POST", path, root, "{\"batch\":[]}");
    expect_error(&r, 400, "bad_input");
}

static void test_idempotent_create(void **state)
{
    char extra[512];
    snprintf(extra, sizeof extra, "Authorization: Bearer %s\r\nIdempotency-Key: test-key-1\r\n", root);
    const char *body = "{\"spec\":\"AES_256\",\"description\":\"once\"}";
    resp a, b, c;
    http_raw(&a, "POST", "/v1/keys", extra, body, NULL, 0);
    http_raw(&b, "POST", "/v1/keys", extra, body, NULL, 0);
    assert_int_equal(a.status, 200);
    assert_int_equal(b.status, 200);
    assert_string_equal(json_string_value(json_object_get(a.json, "key_id")),
                        json_string_value(json_object_get(b.json, "key_id")));
    http_raw(&c, "POST", "/v1/keys", extra, "{\"spec\":\"AES_256\",\"description\":\"other\"}", NULL, 0);
    expect_error(&c, 409, "conflict");
    json_decref(a.json);
    json_decref(b.json);
}


static void test_policy_token_scoping(void **state)
{
    resp r;
    http(&r, "POST", "/v1/policies", root,
         "{\"name\":\"srv-app\",\"rules\":[{\"keys\":[\"srv-*\"],\"actions\":[\"encrypt\"]}]}");
    assert_int_equal(r.status, 200);
    json_decref(r.json);
    http(&r, "POST", "/v1/tokens", root, "{\"policies\":[\"srv-app\"],\"ttl\":\"1h\"}");
    assert_int_equal(r.status, 200);
    char tok[128];
    snprintf(tok, sizeof tok, "%s", json_string_value(json_object_get(r.json, "token")));
    json_decref(r.json);
    http(&r, "POST", "/v1/keys/srv-test/encrypt", tok, "{\"plaintext\":\"YQ==\"}");
    assert_int_equal(r.status, 200);
    json_decref(r.json);
    http(&r, "POST", "/v1/keys", tok, "{\"spec\":\"AES_256\"}");
    expect_error(&r, 403, "permission_denied");
    http(&r, "GET", "/v1/tokens/self", tok, NULL);
    assert_int_equal(r.status, 200);
    assert_null(json_object_get(r.json, "token"));
    json_decref(r.json);
    http(&r, "POST", "/v1/tokens/self/revoke", tok, NULL);
    assert_int_equal(r.status, 200);
    json_decref(r.json);
    http(&r, "GET", "/v1/tokens/self", tok, NULL);
    expect_error(&r, 401, "unauthenticated");
}

static void test_sign_verify(void **state)
{
    const char *id = create_key("{\"spec\":\"ECC_NIST_P256\"}");
    char path[128], body[1024];
    resp r;
    snprintf(path, sizeof path, "/v1/keys/%s/sign", id);
    http(&r, "POST", path, root, "{\"message\":\"aGk=\"}");
    assert_int_equal(r.status, 200);
    snprintf(body, sizeof body, "{\"message\":\"aGk=\",\"signature\":\"%s\"}",
             json_string_value(json_object_get(r.json, "signature")));
    json_decref(r.json);
    snprintf(path, sizeof path, "/v1/keys/%s/verify", id);
    http(&r, "POST", path, root, body);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "valid")));
    json_decref(r.json);
    char *m = strstr(body, "aGk=");
    memcpy(m, "aGo=", 4); /* another message: the same signature must not verify */
    http(&r, "POST", path, root, body);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "valid")));
    json_decref(r.json);
    snprintf(path, sizeof path, "/v1/keys/%s/sign", id);
    http(&r, "POST", path, root, "{\"message\":\"aGk=\",\"digest\":\"aGk=\"}");
    expect_error(&r, 400, "bad_input");
}

static void test_audit_read(void **state)
{
    resp r;
    http(&r, "GET", "/v1/audit?limit=5", root, NULL);
    assert_int_equal(r.status, 200);
    json_t *e = json_object_get(r.json, "entries");
    assert_true(json_is_array(e));
    assert_true(json_array_size(e) > 0 && json_array_size(e) <= 5);
    json_decref(r.json);
    http(&r, "POST", "/v1/audit/hash", root, "{\"input\":\"srv-test\"}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "hash")), "hmac-sha256:"));
    json_decref(r.json);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (buf)
        buf[got] = '\0';
    return buf;
}

static void test_audit_has_no_secrets(void **state)
{
    char path[512];
    snprintf(path, sizeof path, "%s/audit.log", data_dir);
    char *log = read_file(path);
    assert_non_null(log);
    assert_non_null(strstr(log, "\"request\""));
    assert_non_null(strstr(log, "\"response\""));
    assert_null(strstr(log, root));
    assert_null(strstr(log, "aGVsbG8gd29ybGQ="));
    assert_null(strstr(log, "srv-test")); /* aliases are HMAC'd */
    free(log);
}

static void test_sealed_503(void **state)
{
    const char *id = create_key("{\"spec\":\"AES_256\"}");
    char path[128], body[512];
    snprintf(path, sizeof path, "/v1/keys/%s/encrypt", id);
    resp r;
    http(&r, "POST", "/v1/sys/seal", root, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "sealed")));
    json_decref(r.json);
    http(&r, "POST", path, root, "{\"plaintext\":\"YQ==\"}");
    expect_error(&r, 503, "sealed");
    http(&r, "GET", "/v1/sys/health", NULL, NULL);
    assert_int_equal(r.status, 503);
    json_decref(r.json);
    /* Unseal with the dev key so later suites see a working server. */
    snprintf(body, sizeof body, "%s/dev-unseal.key", data_dir);
    char *key = read_file(body);
    assert_non_null(key);
    key[strcspn(key, "\r\n")] = '\0';
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", key);
    free(key);
    http(&r, "POST", "/v1/sys/unseal", NULL, body);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "sealed")));
    json_decref(r.json);
    http(&r, "POST", path, root, "{\"plaintext\":\"YQ==\"}");
    assert_int_equal(r.status, 200);
    json_decref(r.json);
}

/* ------------------------------------------------------- pure parsers */

static void test_parse_target(void **state)
{
    kg_server_target t;
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v1/keys/pay%2Fments?limit=5&cursor=a%20b"), KG_OK);
    assert_string_equal(t.param, "pay/ments");
    assert_int_equal(t.limit, 5);
    assert_string_equal(t.cursor, "a b");
    assert_string_equal(t.action, "describe");
    kg_server_target_free(&t);
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v1/tokens/self"), KG_OK);
    assert_null(t.param);
    kg_server_target_free(&t);
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v1/keys/a%00b"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v1/keys/a%zz"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v1/keys?limit=5&limit=6"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v1/keys?limit=1001"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v1/keys/k-1/public-key?version=-1"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_server_parse_target(&t, "PUT", "/v1/keys"), KG_ERR_METHOD);
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v2/keys"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_server_parse_target(&t, "GET", "/v1/keys//rotate"), KG_ERR_NOT_FOUND);
}

static void test_parse_body(void **state)
{
    json_t *j = NULL;
    assert_int_equal(kg_server_parse_body(&j, " \r\n", 3, 100), KG_OK);
    assert_true(json_is_object(j));
    json_decref(j);
    assert_int_equal(kg_server_parse_body(&j, "{}", 2, 1), KG_ERR_TOO_LARGE);
    assert_null(j);
    assert_int_equal(kg_server_parse_body(&j, "{\"a\":1,\"a\":2}", 13, 100), KG_ERR_BAD_JSON);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    char body[220];
    snprintf(body, sizeof body, "{\"a\":%.200s}", deep);
    assert_int_not_equal(kg_server_parse_body(&j, body, strlen(body), 1000), KG_OK);
    assert_null(j);
}

static void test_config_load(void **state)
{
    char path[] = "/tmp/kg-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *txt = "# comment\nlisten = 127.0.0.1:9000\nthreads = 3\ntls_disable = true\n"
                      "max_body_bytes = 2M\nmin_deletion_wait = 1d\n";
    assert_int_equal(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
    close(fd);
    kg_server_config cfg;
    kg_server_config_default(&cfg);
    assert_int_equal(kg_server_config_load(&cfg, path), KG_OK);
    assert_string_equal(cfg.listen, "127.0.0.1:9000");
    assert_int_equal(cfg.threads, 3);
    assert_true(cfg.tls_disable);
    assert_int_equal(cfg.max_body_bytes, 2u << 20);
    assert_int_equal(cfg.kms.min_deletion_wait, 86400);
    FILE *f = fopen(path, "w");
    fputs("threads = 2\n\nlisten_addr = x\n", f);
    fclose(f);
    kg_server_config_default(&cfg);
    assert_int_equal(kg_server_config_load(&cfg, path), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "listen_addr"));
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "line 3"));
    assert_int_not_equal(cfg.threads, 0);
    unlink(path);
}

static void test_start_refuses_unsafe_config(void **state)
{
    kg_server *s = NULL;
    kg_server_config cfg;
    kg_server_config_default(&cfg);
    cfg.data_dir = data_dir;
    cfg.listen = "127.0.0.1:0";
    assert_int_equal(kg_server_start(&s, &cfg), KG_ERR_BAD_INPUT); /* no TLS, not dev */
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "tls_cert"));
    cfg.dev = true;
    cfg.listen = "0.0.0.0:0";
    assert_int_equal(kg_server_start(&s, &cfg), KG_ERR_BAD_INPUT); /* dev off loopback */
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "loopback"));
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_parse_target),
        cmocka_unit_test(test_parse_body),
        cmocka_unit_test(test_config_load),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_unknown_route_404),
        cmocka_unit_test(test_wrong_method_405),
        cmocka_unit_test(test_no_token_401),
        cmocka_unit_test(test_bad_token_401),
        cmocka_unit_test(test_x_token_header_accepted),
        cmocka_unit_test(test_malformed_json_400),
        cmocka_unit_test(test_wrong_type_names_field),
        cmocka_unit_test(test_unknown_field_400),
        cmocka_unit_test(test_bad_query_400),
        cmocka_unit_test(test_oversized_content_length_413),
        cmocka_unit_test(test_oversized_chunked_413),
        cmocka_unit_test(test_encrypt_decrypt_roundtrip),
        cmocka_unit_test(test_batch_encrypt_per_item_error),
        cmocka_unit_test(test_idempotent_create),
        cmocka_unit_test(test_policy_token_scoping),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_audit_read),
        cmocka_unit_test(test_start_refuses_unsafe_config),
        cmocka_unit_test(test_audit_has_no_secrets),
        cmocka_unit_test(test_sealed_503),
    };
    int fails = cmocka_run_group_tests_name("server_pure", pure, NULL, NULL);
    fails += cmocka_run_group_tests_name("server_live", live, setup, teardown);
    return fails;
}
