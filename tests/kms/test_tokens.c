/* Tokens: format, create/lookup/renew/revoke, the child-policy rule,
 * expiry, revocation cascade, permissions between tokens, sealed refusal. */
#include "authz_fixture.h"

static int setup(void **state)
{
    *state = fx_new(0);
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

static kg_err try_auth(fx_kms *f, const char *token)
{
    kg_kms_caller *c = NULL;
    kg_err e = kg_kms_token_authenticate(f->kms, &c, token);
    assert_true((e == KG_OK) == (c != NULL));
    kg_kms_caller_free(c);
    return e;
}

static void test_token_format_and_record(void **state)
{
    fx_kms *f = *state;
    json_t *req = json_pack("{s:[s], s:s, s:s}", "policies", "app", "ttl", "1h", "display_name", "web");
    json_t *out = NULL;
    assert_int_equal(kg_kms_token_create(f->kms, f->root, &out, req), KG_OK);
    const char *tok = json_string_value(json_object_get(out, "token"));
    const char *acc = json_string_value(json_object_get(out, "accessor"));
    assert_int_equal(strlen(tok), 46);
    assert_memory_equal(tok, "kg.", 3);
    assert_int_equal(strspn(tok + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_int_equal(strlen(acc), 26);
    assert_memory_equal(acc, "a-", 2);
    assert_int_equal(json_integer_value(json_object_get(out, "ttl")), 3600);
    assert_true(json_is_string(json_object_get(out, "expires_at")));
    assert_true(json_is_true(json_object_get(out, "renewable")));
    assert_string_equal(json_string_value(json_object_get(out, "parent")), kg_kms_caller_accessor(f->root));

    /* The store holds only the hash, never the token. */
    json_t *map = NULL, *rec = NULL;
    char key[128];
    snprintf(key, sizeof(key), "accessors/%s", acc);
    assert_int_equal(kg_store_get_json(f->st, NULL, &map, key), KG_OK);
    assert_int_equal(strlen(json_string_value(json_object_get(map, "token_hash"))), 64);
    snprintf(key, sizeof(key), "tokens/%s", json_string_value(json_object_get(map, "token_hash")));
    assert_int_equal(kg_store_get_json(f->st, NULL, &rec, key), KG_OK);
    char *dump = json_dumps(rec, 0);
    assert_null(strstr(dump, tok + 3));
    free(dump);
    json_decref(map);
    json_decref(rec);

    kg_kms_caller *c = fx_auth(f, tok);
    assert_string_equal(kg_kms_caller_accessor(c), acc);
    json_t *cj = kg_kms_caller_json(c);
    assert_string_equal(json_string_value(json_object_get(cj, "display_name")), "web");
    assert_string_equal(json_string_value(json_array_get(json_object_get(cj, "policies"), 0)), "app");
    json_decref(cj);

    /* lookup-self and by accessor (root) agree, and never show the token */
    json_t *self = NULL, *byacc = NULL;
    assert_int_equal(kg_kms_token_lookup(f->kms, c, &self, NULL), KG_OK);
    assert_int_equal(kg_kms_token_lookup(f->kms, f->root, &byacc, acc), KG_OK);
    assert_true(json_equal(self, byacc));
    assert_null(json_object_get(self, "token"));
    json_decref(self);
    json_decref(byacc);
    kg_kms_caller_free(c);
    json_decref(out);
    json_decref(req);
}

static void test_root_token_never_expires(void **state)
{
    fx_kms *f = *state;
    json_t *out = NULL;
    assert_int_equal(kg_kms_token_lookup(f->kms, f->root, &out, NULL), KG_OK);
    assert_true(json_is_null(json_object_get(out, "expires_at")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "policies"), 0)), "root");
    json_decref(out);
}

static void test_bad_tokens_rejected(void **state)
{
    fx_kms *f = *state;
    assert_int_equal(try_auth(f, ""), KG_ERR_UNAUTHENTICATED);
    assert_int_equal(try_auth(f, "kg.short"), KG_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_UNAUTHENTICATED), "malformed"));
    assert_int_equal(try_auth(f, "kg.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), KG_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_UNAUTHENTICATED), "unknown"));
    assert_int_equal(try_auth(f, "kg.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+"), KG_ERR_UNAUTHENTICATED);
}

static void test_bad_requests(void **state)
{
    fx_kms *f = *state;
    const char *bad[] = {
        "{\"policies\":[\"Bad Name\"]}", "{\"ttl\":\"5 days\"}", "{\"ttl\":0}",
        "{\"polices\":[\"app\"]}", "{\"renewable\":\"yes\"}", "{\"display_name\":\"\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *req = json_loads(bad[i], 0, NULL), *out = NULL;
        assert_int_equal(kg_kms_token_create(f->kms, f->root, &out, req), KG_ERR_BAD_INPUT);
        assert_null(out);
        json_decref(req);
    }
}

static void test_renew(void **state)
{
    fx_kms *f = *state;
    char acc[32];
    char *tok = fx_token(f, f->root, "{\"policies\":[\"app\"],\"ttl\":\"1h\",\"explicit_max_ttl\":\"3h\"}", acc);
    kg_kms_caller *c = fx_auth(f, tok);
    json_t *before = NULL, *after = NULL;
    assert_int_equal(kg_kms_token_lookup(f->kms, c, &before, NULL), KG_OK);
    assert_int_equal(kg_kms_token_renew(f->kms, c, &after, NULL, 7200), KG_OK);
    const char *b = json_string_value(json_object_get(before, "expires_at"));
    const char *a = json_string_value(json_object_get(after, "expires_at"));
    assert_true(strcmp(a, b) > 0); /* RFC 3339 UTC sorts as text */
    json_decref(after);
    /* capped at explicit_max_ttl: a huge increment ends at created + 3h */
    assert_int_equal(kg_kms_token_renew(f->kms, f->root, &after, acc, 30 * 86400), KG_OK);
    json_t *map = NULL, *rec = NULL;
    char key[128];
    snprintf(key, sizeof(key), "accessors/%s", acc);
    assert_int_equal(kg_store_get_json(f->st, NULL, &map, key), KG_OK);
    snprintf(key, sizeof(key), "tokens/%s", json_string_value(json_object_get(map, "token_hash")));
    assert_int_equal(kg_store_get_json(f->st, NULL, &rec, key), KG_OK);
    assert_int_equal(json_integer_value(json_object_get(rec, "expires_at")),
                     json_integer_value(json_object_get(rec, "created_at")) + 3 * 3600);
    json_decref(map);
    json_decref(rec);
    json_decref(before);
    json_decref(after);

    /* not renewable */
    char *t2 = fx_token(f, f->root, "{\"policies\":[\"app\"],\"renewable\":false}", acc);
    assert_int_equal(kg_kms_token_renew(f->kms, f->root, &after, acc, 0), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "renewable"));
    assert_int_equal(kg_kms_token_renew(f->kms, f->root, &after, NULL, -1), KG_ERR_BAD_INPUT);
    kg_kms_caller_free(c);
    free(tok);
    free(t2);
}

static void test_child_policy_subset(void **state)
{
    fx_kms *f = *state;
    char *pt = fx_token(f, f->root, "{\"policies\":[\"app\",\"ops\"]}", NULL);
    kg_kms_caller *p = fx_auth(f, pt);
    json_t *out = NULL;
    json_t *ok = json_pack("{s:[s]}", "policies", "app");
    assert_int_equal(kg_kms_token_create(f->kms, p, &out, ok), KG_OK);
    json_decref(out);
    json_t *esc = json_pack("{s:[s,s]}", "policies", "app", "admin");
    assert_int_equal(kg_kms_token_create(f->kms, p, &out, esc), KG_ERR_DENIED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_DENIED), "'admin'"));
    assert_null(out);
    json_t *root = json_pack("{s:[s]}", "policies", "root");
    assert_int_equal(kg_kms_token_create(f->kms, p, &out, root), KG_ERR_DENIED);
    /* no policies given: the child inherits the parent's */
    json_t *inh = json_object();
    assert_int_equal(kg_kms_token_create(f->kms, p, &out, inh), KG_OK);
    assert_int_equal(json_array_size(json_object_get(out, "policies")), 2);
    json_decref(out);

    /* manage-tokens lifts the subset rule, but never grants root */
    fx_policy(f, "{\"name\":\"tm\",\"rules\":[{\"actions\":[\"manage-tokens\"]}]}");
    char *mt = fx_token(f, f->root, "{\"policies\":[\"tm\"]}", NULL);
    kg_kms_caller *m = fx_auth(f, mt);
    assert_int_equal(kg_kms_token_create(f->kms, m, &out, esc), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_token_create(f->kms, m, &out, root), KG_ERR_DENIED);
    /* the root token may create root tokens */
    assert_int_equal(kg_kms_token_create(f->kms, f->root, &out, root), KG_OK);
    json_decref(out);
    json_decref(ok);
    json_decref(esc);
    json_decref(root);
    json_decref(inh);
    kg_kms_caller_free(p);
    kg_kms_caller_free(m);
    free(pt);
    free(mt);
}

static void test_child_expiry_capped_by_parent(void **state)
{
    fx_kms *f = *state;
    char pacc[32], cacc[32];
    char *pt = fx_token(f, f->root, "{\"policies\":[\"app\"],\"ttl\":\"1h\"}", pacc);
    kg_kms_caller *p = fx_auth(f, pt);
    char *ct = fx_token(f, p, "{\"ttl\":\"48h\"}", cacc);
    json_t *pj = NULL, *cj = NULL;
    assert_int_equal(kg_kms_token_lookup(f->kms, f->root, &pj, pacc), KG_OK);
    assert_int_equal(kg_kms_token_lookup(f->kms, f->root, &cj, cacc), KG_OK);
    assert_string_equal(json_string_value(json_object_get(pj, "expires_at")),
                        json_string_value(json_object_get(cj, "expires_at")));
    json_decref(pj);
    json_decref(cj);
    kg_kms_caller_free(p);
    free(pt);
    free(ct);
}

static void test_expiry(void **state)
{
    fx_kms *f = *state;
    char *t = fx_token(f, f->root, "{\"policies\":[\"app\"],\"ttl\":\"1s\"}", NULL);
    sleep(2);
    assert_int_equal(try_auth(f, t), KG_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_UNAUTHENTICATED), "expired"));
    /* deleted lazily: the second attempt finds nothing */
    assert_int_equal(try_auth(f, t), KG_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_UNAUTHENTICATED), "unknown"));
    free(t);
}

static void test_revoke_and_cascade(void **state)
{
    fx_kms *f = *state;
    char aacc[32], sacc[32];
    char *a = fx_token(f, f->root, "{\"policies\":[\"app\"]}", aacc);
    kg_kms_caller *ca = fx_auth(f, a);
    char *b = fx_token(f, ca, "{}", NULL);
    kg_kms_caller *cb = fx_auth(f, b);
    char *c = fx_token(f, cb, "{}", NULL);
    char *sib = fx_token(f, f->root, "{\"policies\":[\"app\"]}", sacc);
    assert_int_equal(try_auth(f, c), KG_OK);

    assert_int_equal(kg_kms_token_revoke(f->kms, f->root, aacc), KG_OK);
    assert_int_equal(try_auth(f, a), KG_ERR_UNAUTHENTICATED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_UNAUTHENTICATED), "revoked"));
    assert_int_equal(try_auth(f, b), KG_ERR_UNAUTHENTICATED);
    assert_int_equal(try_auth(f, c), KG_ERR_UNAUTHENTICATED);
    assert_int_equal(try_auth(f, sib), KG_OK);
    json_t *out = NULL;
    assert_int_equal(kg_kms_token_lookup(f->kms, f->root, &out, aacc), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_kms_token_revoke(f->kms, f->root, aacc), KG_ERR_NOT_FOUND);

    /* revoke-self */
    kg_kms_caller *cs = fx_auth(f, sib);
    assert_int_equal(kg_kms_token_revoke(f->kms, cs, NULL), KG_OK);
    assert_int_equal(try_auth(f, sib), KG_ERR_UNAUTHENTICATED);
    kg_kms_caller_free(cs);
    kg_kms_caller_free(ca);
    kg_kms_caller_free(cb);
    free(a);
    free(b);
    free(c);
    free(sib);
}

static void test_permissions_between_tokens(void **state)
{
    fx_kms *f = *state;
    char xacc[32], yacc[32], kacc[32];
    char *x = fx_token(f, f->root, "{\"policies\":[\"app\"]}", xacc);
    char *y = fx_token(f, f->root, "{\"policies\":[\"app\"]}", yacc);
    kg_kms_caller *cx = fx_auth(f, x);
    char *k = fx_token(f, cx, "{}", kacc);
    json_t *out = NULL;
    assert_int_equal(kg_kms_token_lookup(f->kms, cx, &out, yacc), KG_ERR_DENIED);
    assert_int_equal(kg_kms_token_revoke(f->kms, cx, yacc), KG_ERR_DENIED);
    assert_int_equal(kg_kms_token_renew(f->kms, cx, &out, yacc, 0), KG_ERR_DENIED);
    assert_int_equal(try_auth(f, y), KG_OK);
    /* a parent manages its own children */
    assert_int_equal(kg_kms_token_lookup(f->kms, cx, &out, kacc), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_token_revoke(f->kms, cx, kacc), KG_OK);
    assert_int_equal(try_auth(f, k), KG_ERR_UNAUTHENTICATED);
    assert_int_equal(kg_kms_token_lookup(f->kms, cx, &out, "nonsense"), KG_ERR_BAD_INPUT);
    kg_kms_caller_free(cx);
    free(x);
    free(y);
    free(k);
}

static void test_system_caller(void **state)
{
    fx_kms *f = *state;
    kg_kms_caller *s = kg_kms_caller_system();
    assert_string_equal(kg_kms_caller_accessor(s), "system");
    assert_int_equal(kg_kms_authorize(f->kms, s, "seal", NULL), KG_OK);
    json_t *out = NULL;
    assert_int_equal(kg_kms_token_lookup(f->kms, s, &out, NULL), KG_ERR_BAD_INPUT);
    json_t *req = json_pack("{s:[s]}", "policies", "app");
    assert_int_equal(kg_kms_token_create(f->kms, s, &out, req), KG_OK);
    assert_true(json_is_null(json_object_get(out, "parent")));
    json_decref(out);
    json_decref(req);
    kg_kms_caller_free(s);
}

static void test_sealed_cannot_authenticate(void **state)
{
    fx_kms *f = *state;
    char *t = fx_token(f, f->root, "{\"policies\":[\"app\"]}", NULL);
    assert_int_equal(kg_kms_seal(f->kms, f->root), KG_OK);
    assert_int_equal(try_auth(f, t), KG_ERR_SEALED);
    json_t *out = NULL;
    assert_int_equal(kg_kms_token_lookup(f->kms, f->root, &out, NULL), KG_ERR_SEALED);
    fx_unseal(f);
    assert_int_equal(try_auth(f, t), KG_OK);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_format_and_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_token_never_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tokens_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_policy_subset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_expiry_capped_by_parent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_and_cascade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permissions_between_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_cannot_authenticate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
