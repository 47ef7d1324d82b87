/* Policy rules: what a policy document may say and what it allows.
 *
 * A policy is {"name":"payments-app","rules":[rule,...]}; a rule is
 * {"keys"?:[pattern,...],"actions":[action|"*",...]}. The evaluation is the
 * one documented in kms.h:
 *   - a rule with "keys" applies only to key actions, on a key whose id or
 *     alias matches one of its patterns;
 *   - a rule without "keys" applies to every key and to the global actions;
 *   - "*" stands for every action the rule can apply to;
 *   - anything no rule allows is denied (default deny).
 * Validation is strict because a policy typo silently denying (or worse,
 * allowing) is the classic access-control bug: an unknown action, an empty
 * pattern, an unknown field or a global action inside a rule with "keys"
 * (which could never apply) are all errors that name the place.
 *
 * Everything here is pure (no store, no locks); policy.c adds the store. */
#include "policy_int.h"

#include <stdio.h>
#include <string.h>

/* The action table: one row per action, so the list in kms.h, validation
 * and the error text cannot drift apart. */
static const struct {
    const char *name;
    bool global;
} kms_actions[] = {
    { "describe", false },        { "encrypt", false },       { "decrypt", false },
    { "re-encrypt", false },      { "data-key", false },      { "sign", false },
    { "verify", false },          { "mac", false },           { "verify-mac", false },
    { "get-public-key", false },  { "rotate", false },        { "enable", false },
    { "disable", false },         { "schedule-deletion", false },
    { "cancel-deletion", false }, { "update", false },        { "create-key", false },
    { "list-keys", true },        { "import-key", true },     { "random", true },
    { "seal", true },             { "read-audit", true },     { "manage-policies", true },
    { "manage-tokens", true },
};

#define KMS_NACTIONS (sizeof(kms_actions) / sizeof(kms_actions[0]))

bool kms_action_known(const char *action, bool *global)
{
    for (size_t i = 0; i < KMS_NACTIONS; i++) {
        if (strcmp(kms_actions[i].name, action) == 0) {
            if (global != NULL)
                *global = kms_actions[i].global;
            return true;
        }
    }
    return false;
}

bool kms_policy_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > KMS_POLICY_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Classic two-pointer glob with a single backtrack point: on a mismatch after
 * a '*', let that star swallow one more character. O(len(p) * len(s)) worst
 * case, constant space; inputs are bounded by validation. */
bool kms_glob_match(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s != '\0') {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || (*p != '\0' && *p == *s)) {
            p++;
            s++;
        } else if (star != NULL) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* A comma-separated list of every action for error messages. */
static void action_list(char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < KMS_NACTIONS && used < cap; i++) {
        int n = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", kms_actions[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static kg_err validate_keys(json_t **out, const json_t *keys, size_t r)
{
    if (!json_is_array(keys) || json_array_size(keys) == 0)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "rules[%zu].keys must be a non-empty array of key id or alias patterns "
                          "(omit \"keys\" to apply the rule to every key)", r);
    json_t *arr = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(keys, i, v) {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        size_t n = s ? strlen(s) : 0;
        bool ok = s != NULL && n == json_string_length(v) && n > 0 && n <= KMS_POLICY_PATTERN_MAX;
        for (size_t j = 0; ok && j < n; j++)
            ok = (unsigned char)s[j] >= 0x20 && s[j] != 0x7f;
        if (!ok) {
            json_decref(arr);
            return kg_err_set(KG_ERR_BAD_INPUT,
                              "rules[%zu].keys[%zu] must be a non-empty pattern of at most %d "
                              "printable characters ('*' and '?' are wildcards)",
                              r, i, KMS_POLICY_PATTERN_MAX);
        }
        json_array_append(arr, v);
    }
    *out = arr;
    return KG_OK;
}

static kg_err check_one_action(const json_t *v, size_t r, size_t i, bool has_keys)
{
    const char *a = json_is_string(v) ? json_string_value(v) : NULL;
    if (a == NULL || strlen(a) != json_string_length(v))
        return kg_err_set(KG_ERR_BAD_INPUT, "rules[%zu].actions[%zu] must be a string", r, i);
    if (strcmp(a, "*") == 0)
        return KG_OK;
    bool global = false;
    if (!kms_action_known(a, &global)) {
        char list[400];
        action_list(list, sizeof(list));
        return kg_err_set(KG_ERR_BAD_INPUT, "rules[%zu].actions[%zu]: unknown action '%.40s'; "
                          "valid actions are \"*\", %s", r, i, a, list);
    }
    if (global && has_keys)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "rules[%zu].actions[%zu]: '%s' is a global action and never applies in a "
                          "rule with \"keys\"; move it to a rule without \"keys\"", r, i, a);
    return KG_OK;
}

static kg_err validate_actions(json_t **out, const json_t *actions, size_t r, bool has_keys)
{
    if (!json_is_array(actions) || json_array_size(actions) == 0)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "rules[%zu].actions must be a non-empty array of action names or \"*\"", r);
    json_t *arr = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(actions, i, v) {
        kg_err e = check_one_action(v, r, i, has_keys);
        if (e != KG_OK) {
            json_decref(arr);
            return e;
        }
        json_array_append(arr, v);
    }
    *out = arr;
    return KG_OK;
}

static kg_err validate_rule(json_t **out, const json_t *rule, size_t r)
{
    if (!json_is_object(rule))
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "rules[%zu] must be an object like {\"keys\":[\"payments\"],\"actions\":[\"encrypt\"]}", r);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rule, k, v) {
        if (strcmp(k, "keys") != 0 && strcmp(k, "actions") != 0)
            return kg_err_set(KG_ERR_BAD_INPUT,
                              "rules[%zu]: unknown field '%.64s'; a rule has \"keys\" (optional) and \"actions\"",
                              r, k);
    }
    json_t *keys = json_object_get(rule, "keys");
    json_t *actions = json_object_get(rule, "actions");
    if (actions == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "rules[%zu]: field \"actions\" is required", r);
    json_t *nk = NULL, *na = NULL;
    kg_err e = KG_OK;
    if (keys != NULL && !json_is_null(keys))
        e = validate_keys(&nk, keys, r);
    if (e == KG_OK)
        e = validate_actions(&na, actions, r, nk != NULL);
    if (e != KG_OK) {
        json_decref(nk);
        return e;
    }
    json_t *o = json_object();
    if (nk != NULL)
        json_object_set_new(o, "keys", nk);
    json_object_set_new(o, "actions", na);
    *out = o;
    return KG_OK;
}

static kg_err validate_name(const json_t *doc, const char **name)
{
    json_t *n = json_object_get(doc, "name");
    if (n == NULL || !json_is_string(n))
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'name' is required and must be a string");
    *name = json_string_value(n);
    if (strlen(*name) != json_string_length(n) || !kms_policy_name_valid(*name))
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "policy name '%.64s' is not valid; use 1 to %d characters of a-z, 0-9, '_' and '-'",
                          *name, KMS_POLICY_NAME_MAX);
    if (strcmp(*name, "root") == 0)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "policy name 'root' is reserved for the built-in policy; choose another name");
    return KG_OK;
}

kg_err kms_policy_validate(json_t **norm, const json_t *doc)
{
    KG_ARG_CHECK(norm != NULL);
    *norm = NULL;
    if (doc == NULL || !json_is_object(doc))
        return kg_err_set(KG_ERR_BAD_INPUT, "a policy must be a JSON object {\"name\":…,\"rules\":[…]}");
    static const char *const allowed[] = { "name", "rules", NULL };
    kg_err e = kg_json_check_fields(doc, allowed);
    if (e != KG_OK)
        return e;
    const char *name = NULL;
    if ((e = validate_name(doc, &name)) != KG_OK)
        return e;
    json_t *rules = json_object_get(doc, "rules");
    if (rules == NULL || !json_is_array(rules))
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'rules' is required and must be an array of rules");
    if (json_array_size(rules) > KMS_POLICY_RULES_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "a policy may hold at most %d rules", KMS_POLICY_RULES_MAX);
    json_t *nr = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(rules, i, v) {
        json_t *r = NULL;
        if ((e = validate_rule(&r, v, i)) != KG_OK) {
            json_decref(nr);
            return e;
        }
        json_array_append_new(nr, r);
    }
    *norm = json_pack("{s:s, s:o}", "name", name, "rules", nr);
    return *norm ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory building the policy");
}

static bool rule_has_action(const json_t *actions, const char *action)
{
    size_t i;
    json_t *v;
    json_array_foreach(actions, i, v) {
        const char *a = json_string_value(v);
        if (a != NULL && (strcmp(a, "*") == 0 || strcmp(a, action) == 0))
            return true;
    }
    return false;
}

static bool keys_match(const json_t *keys, const char *key_id, const char *alias)
{
    size_t i;
    json_t *v;
    json_array_foreach(keys, i, v) {
        const char *p = json_string_value(v);
        if (p == NULL)
            continue;
        if ((key_id != NULL && kms_glob_match(p, key_id)) || (alias != NULL && kms_glob_match(p, alias)))
            return true;
    }
    return false;
}

bool kms_policy_allows(const json_t *policy, const char *action,
                       const char *key_id, const char *alias)
{
    bool global = false;
    if (policy == NULL || action == NULL || !kms_action_known(action, &global))
        return false;
    const json_t *rules = json_object_get(policy, "rules");
    size_t i;
    json_t *rule;
    json_array_foreach(rules, i, rule) {
        const json_t *keys = json_object_get(rule, "keys");
        if (!rule_has_action(json_object_get(rule, "actions"), action))
            continue;
        if (keys == NULL)
            return true;
        if (!global && keys_match(keys, key_id, alias))
            return true;
    }
    return false;
}
