/* JSON helpers over jansson for request bodies and stored records.
 *
 * Parsing is strict: duplicate keys are rejected (two "policy" fields must
 * not let one component see the first and another the last), the top level
 * must be an object, and nesting deeper than KG_JSON_MAX_DEPTH is refused
 * after the parse by a walk that stops as soon as the limit is crossed
 * (jansson itself caps recursion at 2048, so the parse cannot blow the stack).
 * Parse errors name the line and column so a user can find the typo.
 *
 * The getters give one uniform message per mistake ("field 'spec' must be a
 * string"), so every handler reports bad input the same way. A JSON null is
 * treated like an absent field. String results point into the json_t and
 * live as long as the document. Decoded base64 may be key material, so it is
 * wiped when rejected. */
#include <kashguard/base.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when v nests no deeper than max levels (an empty object is 1). */
static bool depth_ok(const json_t *v, int max)
{
    if (!json_is_object(v) && !json_is_array(v))
        return true;
    if (max <= 0)
        return false;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (!depth_ok(json_array_get(v, i), max - 1))
                return false;
        }
        return true;
    }
    const char *k;
    json_t *child;
    json_object_foreach((json_t *)v, k, child) {
        if (!depth_ok(child, max - 1))
            return false;
    }
    return true;
}

kg_err kg_json_parse_object(json_t **out, const char *buf, size_t len)
{
    KG_ARG_CHECK(out != NULL);
    KG_ARG_CHECK(buf != NULL || len == 0);
    *out = NULL;
    json_error_t jerr;
    json_t *v = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        return kg_err_set(KG_ERR_BAD_JSON, "invalid JSON at line %d, column %d: %.200s",
                          jerr.line, jerr.column, jerr.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return kg_err_set(KG_ERR_BAD_INPUT, "expected a JSON object ({...}) at the top level");
    }
    if (!depth_ok(v, KG_JSON_MAX_DEPTH)) {
        json_decref(v);
        return kg_err_set(KG_ERR_BAD_JSON, "JSON nests deeper than %d levels", KG_JSON_MAX_DEPTH);
    }
    *out = v;
    return KG_OK;
}

/* Fetch field; NULL when absent or null. Sets the "missing" error when it is
 * required and absent. */
static kg_err get_field(json_t **v, const json_t *obj, const char *field, bool required)
{
    *v = json_object_get(obj, field);
    if (*v != NULL && json_is_null(*v))
        *v = NULL;
    if (*v == NULL && required)
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%.64s' is required", field);
    return KG_OK;
}

kg_err kg_json_get_str(const char **out, const json_t *obj, const char *field, bool required)
{
    KG_ARG_CHECK(out != NULL && obj != NULL && field != NULL);
    json_t *v;
    kg_err e = get_field(&v, obj, field, required);
    if (e != KG_OK || v == NULL)
        return e;
    if (!json_is_string(v))
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%.64s' must be a string", field);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%.64s' must not contain NUL characters", field);
    *out = json_string_value(v);
    return KG_OK;
}

kg_err kg_json_get_int(int64_t *out, const json_t *obj, const char *field, bool required)
{
    KG_ARG_CHECK(out != NULL && obj != NULL && field != NULL);
    json_t *v;
    kg_err e = get_field(&v, obj, field, required);
    if (e != KG_OK || v == NULL)
        return e;
    if (!json_is_integer(v))
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%.64s' must be an integer", field);
    *out = (int64_t)json_integer_value(v);
    return KG_OK;
}

kg_err kg_json_get_bool(bool *out, const json_t *obj, const char *field, bool required)
{
    KG_ARG_CHECK(out != NULL && obj != NULL && field != NULL);
    json_t *v;
    kg_err e = get_field(&v, obj, field, required);
    if (e != KG_OK || v == NULL)
        return e;
    if (!json_is_boolean(v))
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%.64s' must be true or false", field);
    *out = json_is_true(v);
    return KG_OK;
}

kg_err kg_json_get_b64(kg_bytes *out, const json_t *obj, const char *field, bool required,
                       size_t max_len)
{
    KG_ARG_CHECK(out != NULL && obj != NULL && field != NULL);
    const char *s = NULL;
    kg_err e = kg_json_get_str(&s, obj, field, required);
    if (e != KG_OK || s == NULL)
        return e;
    /* Bound the work before decoding: 4 symbols per 3 bytes. */
    if (strlen(s) / 4 * 3 > max_len + 2)
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%.64s' is longer than %zu bytes", field, max_len);
    kg_bytes b = { 0 };
    if (kg_b64_decode(&b, s) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "field '%.64s' must be standard base64 with '=' padding (no whitespace)", field);
    if (b.len > max_len) {
        kg_wipe(b.data, b.len);
        kg_bytes_free(&b);
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%.64s' is longer than %zu bytes", field, max_len);
    }
    kg_bytes_free(out);
    *out = b;
    return KG_OK;
}

kg_err kg_json_check_fields(const json_t *obj, const char *const *allowed)
{
    KG_ARG_CHECK(obj != NULL && allowed != NULL);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], k) == 0;
        if (known)
            continue;
        char list[256] = "";
        size_t used = 0;
        for (size_t i = 0; allowed[i] != NULL && used < sizeof(list); i++) {
            int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", allowed[i]);
            if (n < 0)
                break;
            used += (size_t)n;
        }
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown field '%.64s'; allowed fields: %s", k,
                          allowed[0] ? list : "(none)");
    }
    return KG_OK;
}

json_t *kg_json_b64(const uint8_t *data, size_t len)
{
    if (data == NULL && len > 0) {
        kg_illegal("kg_json_b64: data != NULL || len == 0");
        return NULL;
    }
    size_t n = kg_b64_encoded_len(len);
    char *s = malloc(n);
    if (s == NULL)
        return NULL;
    kg_b64_encode(s, data, len);
    json_t *j = json_stringn(s, n - 1);
    free(s);
    return j;
}
