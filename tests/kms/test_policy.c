/* Policies: validation messages, glob matching, the allow/deny matrix of
 * the pure rules, and kg_kms_authorize / the policy calls on a real KMS. */
#include "authz_fixture.h"
#include "../../src/kms/policy_int.h"

static void test_glob(void **state)
{
    (void)state;
    static const struct { const char *p, *s; bool m; } cases[] = {
        { "payments", "payments", true }, { "payments", "payment", false },
        { "pay*", "payments", true },     { "pay*", "pay", true },
        { "*", "", true },                { "*", "anything", true },
        { "?", "", false },               { "?", "a", true },
        { "k-3f*", "k-3f9a", true },      { "k-3f*", "k-4f9a", false },
        { "*-prod", "db-prod", true },    { "*-prod", "db-prod2", false },
        { "a*b*c", "aXbYc", true },       { "a*b*c", "aXbY", false },
        { "a*b", "abab", true },          { "a?c", "abc", true },
        { "a?c", "ac", false },           { "**x", "yyx", true },
        { "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaa", false },
        { "", "", true },                 { "", "a", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (kms_glob_match(cases[i].p, cases[i].s) != cases[i].m)
            fail_msg("glob '%s' vs '%s' should be %d", cases[i].p, cases[i].s, cases[i].m);
    }
}

static void expect_invalid(const char *json, const char *needle)
{
    json_t *doc = json_loads(json, 0, NULL), *norm = NULL;
    assert_non_null(doc);
    assert_int_equal(kms_policy_validate(&norm, doc), KG_ERR_BAD_INPUT);
    assert_null(norm);
    const char *d = kg_err_detail(KG_ERR_BAD_INPUT);
    if (strstr(d, needle) == NULL)
        fail_msg("'%s': detail '%s' lacks '%s'", json, d, needle);
    json_decref(doc);
}

static void test_validation(void **state)
{
    (void)state;
    expect_invalid("{\"rules\":[]}", "name");
    expect_invalid("{\"name\":\"Bad\",\"rules\":[]}", "not valid");
    expect_invalid("{\"name\":\"\",\"rules\":[]}", "not valid");
    expect_invalid("{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"rules\":[]}",
                   "not valid");
    expect_invalid("{\"name\":\"root\",\"rules\":[]}", "reserved");
    expect_invalid("{\"name\":\"app\"}", "rules");
    expect_invalid("{\"name\":\"app\",\"rules\":{}}", "rules");
    expect_invalid("{\"name\":\"app\",\"rules\":[],\"extra\":1}", "unknown field 'extra'");
    expect_invalid("{\"name\":\"app\",\"rules\":[{\"actions\":[\"sign\",\"sgin\"]}]}",
                   "rules[0].actions[1]: unknown action 'sgin'");
    expect_invalid("{\"name\":\"app\",\"rules\":[{\"actions\":[]}]}", "non-empty");
    expect_invalid("{\"name\":\"app\",\"rules\":[{\"keys\":[\"a\"]}]}", "\"actions\" is required");
    expect_invalid("{\"name\":\"app\",\"rules\":[{\"keys\":[\"\"],\"actions\":[\"sign\"]}]}", "keys[0]");
    expect_invalid("{\"name\":\"app\",\"rules\":[{\"keys\":[],\"actions\":[\"sign\"]}]}", "keys");
    expect_invalid("{\"name\":\"app\",\"rules\":[{\"keys\":[\"a\"],\"actions\":[\"seal\"]}]}", "global action");
    expect_invalid("{\"name\":\"app\",\"rules\":[{\"key\":[\"a\"],\"actions\":[\"sign\"]}]}",
                   "unknown field 'key'");
    expect_invalid("{\"name\":\"app\",\"rules\":[\"sign\"]}", "rules[0] must be an object");

    json_t *doc = json_loads("{\"name\":\"ok_1-x\",\"rules\":[{\"keys\":[\"p*\"],\"actions\":[\"*\"]},"
                             "{\"actions\":[\"random\",\"sign\"]}]}", 0, NULL), *norm = NULL;
    assert_int_equal(kms_policy_validate(&norm, doc), KG_OK);
    assert_string_equal(json_string_value(json_object_get(norm, "name")), "ok_1-x");
    assert_int_equal(json_array_size(json_object_get(norm, "rules")), 2);
    json_decref(norm);
    json_decref(doc);
}

static json_t *policy(const char *json)
{
    json_t *doc = json_loads(json, 0, NULL), *norm = NULL;
    assert_non_null(doc);
    assert_int_equal(kms_policy_validate(&norm, doc), KG_OK);
    json_decref(doc);
    return norm;
}

static void test_allow_matrix(void **state)
{
    (void)state;
    json_t *p = policy("{\"name\":\"app\",\"rules\":["
                       "{\"keys\":[\"payments\",\"k-3f*\"],\"actions\":[\"encrypt\",\"decrypt\",\"describe\"]},"
                       "{\"keys\":[\"sig-*\"],\"actions\":[\"*\"]},"
                       "{\"actions\":[\"create-key\",\"list-keys\",\"random\"]}]}");
    static const struct { const char *action, *id, *alias; bool allow; } m[] = {
        { "encrypt", "k-0001", "payments", true },   /* by alias */
        { "encrypt", "k-3f9a", NULL, true },         /* by id pattern */
        { "encrypt", "k-3f9a", "other", true },      /* id matches even if alias does not */
        { "encrypt", "k-0002", "other", false },
        { "sign", "k-0001", "payments", false },     /* action not in the rule */
        { "sign", "k-9", "sig-btc", true },          /* "*" on matching keys */
        { "rotate", "k-9", "sig-btc", true },
        { "list-keys", NULL, NULL, true },           /* global from a rule without keys */
        { "random", NULL, NULL, true },
        { "seal", NULL, NULL, false },               /* "*" with keys never gives global actions */
        { "read-audit", NULL, NULL, false },
        { "create-key", NULL, "anything", true },    /* keyless rule applies to any key */
        { "manage-policies", NULL, NULL, false },
        { "nonsense", "k-1", "payments", false },
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        if (kms_policy_allows(p, m[i].action, m[i].id, m[i].alias) != m[i].allow)
            fail_msg("case %zu: %s on %s/%s should be %d", i, m[i].action, m[i].id ? m[i].id : "-",
                     m[i].alias ? m[i].alias : "-", m[i].allow);
    }
    json_decref(p);
    /* default deny: an empty policy allows nothing; "*" without keys allows all */
    json_t *empty = policy("{\"name\":\"none\",\"rules\":[]}");
    json_t *all = policy("{\"name\":\"all\",\"rules\":[{\"actions\":[\"*\"]}]}");
    assert_false(kms_policy_allows(empty, "describe", "k-1", NULL));
    assert_true(kms_policy_allows(all, "seal", NULL, NULL));
    assert_true(kms_policy_allows(all, "decrypt", "k-1", "x"));
    json_decref(empty);
    json_decref(all);
}

/* ---------------------------------------------------------- on the KMS */

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

static void test_policy_crud(void **state)
{
    fx_kms *f = *state;
    json_t *doc = json_pack("{s:s, s:[{s:[s]}]}", "name", "app", "rules", "actions", "random");
    json_t *out = NULL;
    assert_int_equal(kg_kms_policy_put(f->kms, f->root, &out, doc), KG_OK);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "app");
    assert_true(json_is_string(json_object_get(out, "updated_at")));
    json_decref(out);
    assert_int_equal(kg_kms_policy_get(f->kms, f->root, &out, "app"), KG_OK);
    assert_int_equal(json_array_size(json_object_get(out, "rules")), 1);
    json_decref(out);
    assert_int_equal(kg_kms_policy_list(f->kms, f->root, &out), KG_OK);
    json_t *names = json_object_get(out, "policies");
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "root");
    assert_string_equal(json_string_value(json_array_get(names, 1)), "app");
    json_decref(out);
    assert_int_equal(kg_kms_policy_get(f->kms, f->root, &out, "root"), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_policy_delete(f->kms, f->root, "app"), KG_OK);
    assert_int_equal(kg_kms_policy_get(f->kms, f->root, &out, "app"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_kms_policy_delete(f->kms, f->root, "app"), KG_ERR_NOT_FOUND);
    assert_int_equal(kg_kms_policy_delete(f->kms, f->root, "root"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_kms_policy_get(f->kms, f->root, &out, "../x"), KG_ERR_BAD_INPUT);
    json_t *bad = json_pack("{s:s, s:[{s:[s]}]}", "name", "app", "rules", "actions", "launch");
    assert_int_equal(kg_kms_policy_put(f->kms, f->root, &out, bad), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "'launch'"));
    json_decref(bad);
    json_decref(doc);
}

static void test_authorize_on_kms(void **state)
{
    fx_kms *f = *state;
    fx_policy(f, "{\"name\":\"app\",\"rules\":[{\"keys\":[\"payments\"],\"actions\":[\"encrypt\"]},"
                 "{\"keys\":[\"k-3f*\"],\"actions\":[\"decrypt\"]}]}");
    char acc[32];
    char *t = fx_token(f, f->root, "{\"policies\":[\"app\",\"missing\"]}", acc);
    kg_kms_caller *c = fx_auth(f, t);
    json_t *pay = json_pack("{s:s, s:s}", "key_id", "k-0001", "alias", "payments");
    json_t *k3f = json_pack("{s:s}", "key_id", "k-3f77");
    assert_int_equal(kg_kms_authorize(f->kms, c, "encrypt", pay), KG_OK);
    assert_int_equal(kg_kms_authorize(f->kms, c, "decrypt", k3f), KG_OK);
    assert_int_equal(kg_kms_authorize(f->kms, c, "decrypt", pay), KG_ERR_DENIED);
    const char *d = kg_err_detail(KG_ERR_DENIED);
    assert_non_null(strstr(d, acc));
    assert_non_null(strstr(d, "policies: app, missing"));
    assert_non_null(strstr(d, "'decrypt' key 'payments' (k-0001)"));
    assert_non_null(strstr(d, "\"actions\":[\"decrypt\"]"));
    assert_int_equal(kg_kms_authorize(f->kms, c, "seal", NULL), KG_ERR_DENIED);
    assert_non_null(strstr(kg_err_detail(KG_ERR_DENIED), "'seal'"));
    assert_int_equal(kg_kms_authorize(f->kms, f->root, "seal", NULL), KG_OK);

    /* a change of policy takes effect on the next check */
    fx_policy(f, "{\"name\":\"app\",\"rules\":[{\"actions\":[\"seal\",\"encrypt\"]}]}");
    assert_int_equal(kg_kms_authorize(f->kms, c, "seal", NULL), KG_OK);
    assert_int_equal(kg_kms_authorize(f->kms, c, "encrypt", pay), KG_OK); /* keyless rule: any key */

    /* the token may read its own policy but not manage others */
    json_t *out = NULL;
    assert_int_equal(kg_kms_policy_get(f->kms, c, &out, "app"), KG_OK);
    json_decref(out);
    assert_int_equal(kg_kms_policy_list(f->kms, c, &out), KG_ERR_DENIED);
    json_t *doc = json_pack("{s:s, s:[]}", "name", "evil", "rules");
    assert_int_equal(kg_kms_policy_put(f->kms, c, &out, doc), KG_ERR_DENIED);
    assert_int_equal(kg_kms_policy_delete(f->kms, c, "app"), KG_ERR_DENIED);
    json_decref(doc);
    json_decref(pay);
    json_decref(k3f);
    kg_kms_caller_free(c);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_allow_matrix),
        cmocka_unit_test_setup_teardown(test_policy_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authorize_on_kms, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
