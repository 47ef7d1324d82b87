/* Helpers shared by the crypto test suites: hex fields of JSON vectors,
 * loading vector files, and the valid/invalid/acceptable tally printed by
 * every Wycheproof test. Header-only (static inline) because each
 * tests/crypto/test_*.c is built as its own executable. */
#ifndef KG_CRYPTO_TEST_H
#define KG_CRYPTO_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <kashguard/crypto.h>

/* Decode hex into a new malloc'd buffer (never NULL; 1 byte for ""). */
static inline uint8_t *t_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    uint8_t *out = malloc(n ? n : 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    *len = n;
    return out;
}

/* Hex string field of a JSON object, decoded. */
static inline uint8_t *t_jhex(const json_t *obj, const char *field, size_t *len)
{
    const char *s = json_string_value(json_object_get(obj, field));
    if (s == NULL)
        fail_msg("vector field '%s' missing", field);
    return t_hex(s, len);
}

/* Load $KG_VECTORS_DIR/<rel>; fails the test if it cannot be read. */
static inline json_t *t_load(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", KG_VECTORS_DIR, rel);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (root == NULL)
        fail_msg("cannot load %s: %s (line %d)", path, e.text, e.line);
    return root;
}

/* Counts of Wycheproof outcomes. An "acceptable" vector may go either way. */
typedef struct {
    const char *name;
    unsigned valid, invalid, acceptable_pass, acceptable_fail, skipped;
} t_tally;

/* Record one vector: ok is whether our code accepted it. Fails the test
 * (naming the tcId) when a valid vector is rejected or an invalid one accepted. */
static inline void t_record(t_tally *t, const json_t *test, int ok)
{
    const char *result = json_string_value(json_object_get(test, "result"));
    long long id = (long long)json_integer_value(json_object_get(test, "tcId"));
    assert_non_null(result);
    if (strcmp(result, "valid") == 0) {
        if (!ok)
            fail_msg("%s: valid tcId %lld rejected: %s (%s)", t->name, id,
                     json_string_value(json_object_get(test, "comment")), kg_err_detail(KG_ERR_VERIFY));
        t->valid++;
    } else if (strcmp(result, "invalid") == 0) {
        if (ok)
            fail_msg("%s: invalid tcId %lld accepted: %s", t->name, id,
                     json_string_value(json_object_get(test, "comment")));
        t->invalid++;
    } else {
        if (ok)
            t->acceptable_pass++;
        else
            t->acceptable_fail++;
    }
}

static inline void t_report(const t_tally *t)
{
    printf("[ %-42s ] valid %u passed, invalid %u rejected, acceptable %u passed / %u "
           "rejected, skipped %u\n", t->name, t->valid, t->invalid, t->acceptable_pass,
           t->acceptable_fail, t->skipped);
    assert_true(t->valid + t->invalid + t->acceptable_pass + t->acceptable_fail > 0);
}

/* Iterate over every test of every group of a Wycheproof file. */
#define T_FOR_EACH_TEST(root, group, test)                                                  \
    for (size_t gi_ = 0; gi_ < json_array_size(json_object_get(root, "testGroups")); gi_++) \
        for (json_t *group = json_array_get(json_object_get(root, "testGroups"), gi_),      \
                    *tests_ = json_object_get(group, "tests");                               \
             tests_ != NULL; tests_ = NULL)                                                  \
            for (size_t ti_ = 0; ti_ < json_array_size(tests_); ti_++)                       \
                for (json_t *test = json_array_get(tests_, ti_); test != NULL; test = NULL)

static inline int t_init(void **state)
{
    (void)state;
    assert_int_equal(kg_crypto_init(), KG_OK);
    return 0;
}

#endif
