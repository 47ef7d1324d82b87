/* Policies in the store (policies/<name>) and kg_kms_authorize.
 *
 * The rules themselves live in policy_rules.c; this file adds the store, the
 * permission checks on the policy calls and the denial message. Design:
 *   - "root" is built in and never stored: a caller holding it (the root
 *     token, the system caller) passes every check without a store read.
 *   - A caller's policies are loaded at each check, so a policy change takes
 *     effect on the next request of every token that names it (and on every
 *     node sharing the store). A policy that does not exist has no rules.
 *   - Writing, deleting and listing policies need "manage-policies"; reading
 *     one also works for a policy the caller itself carries (so a token can
 *     see why it is denied).
 *   - A denial says who was denied what and which rule would allow it: it is
 *     the message an operator reads when an application breaks, so it has to
 *     point to the fix. */
#include "kms_int.h"
#include "policy_int.h"

#include <stdio.h>
#include <string.h>

#define POLICY_KEY_MAX (sizeof("policies/") + KMS_POLICY_NAME_MAX)

static void policy_key(char out[static POLICY_KEY_MAX], const char *name)
{
    snprintf(out, POLICY_KEY_MAX, "policies/%s", name);
}

static json_t *root_policy_doc(void)
{
    return json_pack("{s:s, s:[{s:[s]}], s:b}", "name", "root", "rules", "actions", "*",
                     "builtin", 1);
}

/* "a, b, c" of the caller's policies for messages (truncated politely). */
static void policies_text(char *out, size_t cap, const json_t *pols)
{
    size_t used = 0, i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(pols, i, v) {
        int n = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", json_string_value(v));
        if (n < 0 || (size_t)n >= cap - used) {
            if (cap > 4)
                memcpy(out + cap - 4, "...", 4);
            return;
        }
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(out, cap, "none");
}

static kg_err deny(const kg_kms_caller *who, const char *action, const char *key_id,
                   const char *alias)
{
    char pols[160];
    policies_text(pols, sizeof(pols), kms_caller_policies(who));
    const char *acc = kg_kms_caller_accessor(who);
    if (key_id == NULL && alias == NULL) {
        bool global = false;
        if (kms_action_known(action, &global) && !global)
            return kg_err_set(KG_ERR_DENIED,
                              "token %s (policies: %s) is not allowed to '%s' here; a policy rule with "
                              "\"actions\":[\"%s\"] and no \"keys\" would allow it", acc, pols, action, action);
        return kg_err_set(KG_ERR_DENIED,
                          "token %s (policies: %s) is not allowed to '%s'; a policy rule with "
                          "\"actions\":[\"%s\"] and no \"keys\" would allow it", acc, pols, action, action);
    }
    if (alias != NULL && key_id != NULL)
        return kg_err_set(KG_ERR_DENIED,
                          "token %s (policies: %s) is not allowed to '%s' key '%s' (%s); a policy rule "
                          "with \"actions\":[\"%s\"] on this key would allow it",
                          acc, pols, action, alias, key_id, action);
    return kg_err_set(KG_ERR_DENIED,
                      "token %s (policies: %s) is not allowed to '%s' key '%s'; a policy rule with "
                      "\"actions\":[\"%s\"] on this key would allow it",
                      acc, pols, action, alias ? alias : key_id, action);
}

kg_err kg_kms_authorize(kg_kms *kms, const kg_kms_caller *who, const char *action,
                        const json_t *key_meta)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && action != NULL);
    if (!kms_action_known(action, NULL)) {
        kg_illegal("kg_kms_authorize: unknown action");
        return KG_ERR_ARG;
    }
    if (kms_caller_is_root(who))
        return KG_OK;
    const char *key_id = key_meta ? json_string_value(json_object_get(key_meta, "key_id")) : NULL;
    const char *alias = key_meta ? json_string_value(json_object_get(key_meta, "alias")) : NULL;
    const json_t *pols = kms_caller_policies(who);
    size_t i;
    json_t *v;
    json_array_foreach(pols, i, v) {
        const char *name = json_string_value(v);
        if (name == NULL || !kms_policy_name_valid(name))
            continue;
        char key[POLICY_KEY_MAX];
        policy_key(key, name);
        json_t *doc = NULL;
        kg_err e = kg_store_get_json(kms->st, NULL, &doc, key);
        if (e == KG_ERR_NOT_FOUND)
            continue; /* a missing policy has no rules */
        if (e != KG_OK)
            return e;
        bool ok = kms_policy_allows(doc, action, key_id, alias);
        json_decref(doc);
        if (ok)
            return KG_OK;
    }
    return deny(who, action, key_id, alias);
}

/* True when the caller carries policy `name` itself. */
static bool caller_has_policy(const kg_kms_caller *who, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(kms_caller_policies(who), i, v) {
        if (json_string_value(v) != NULL && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

kg_err kg_kms_policy_put(kg_kms *kms, const kg_kms_caller *who, json_t **out, const json_t *doc)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *norm = NULL;
    if ((e = kg_kms_authorize(kms, who, "manage-policies", NULL)) != KG_OK)
        goto out;
    if ((e = kms_policy_validate(&norm, doc)) != KG_OK)
        goto out;
    char ts[21];
    kg_time_rfc3339(ts, kg_now());
    json_object_set_new(norm, "updated_at", json_string(ts));
    char key[POLICY_KEY_MAX];
    policy_key(key, json_string_value(json_object_get(norm, "name")));
    if ((e = kg_store_put_json(kms->st, NULL, key, norm)) != KG_OK)
        goto out;
    *out = norm;
    norm = NULL;
out:
    json_decref(norm);
    kms_unlock(kms);
    return e;
}

static kg_err check_name(const char *name)
{
    if (name == NULL || !kms_policy_name_valid(name))
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "policy name '%.64s' is not valid; use 1 to %d characters of a-z, 0-9, '_' and '-'",
                          name ? name : "", KMS_POLICY_NAME_MAX);
    return KG_OK;
}

kg_err kg_kms_policy_get(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *name)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    kg_err e = check_name(name);
    if (e != KG_OK)
        return e;
    if ((e = kms_rdlock_unsealed(kms)) != KG_OK)
        return e;
    if (!caller_has_policy(who, name) && (e = kg_kms_authorize(kms, who, "manage-policies", NULL)) != KG_OK)
        goto out;
    if (strcmp(name, "root") == 0) {
        *out = root_policy_doc();
        goto out;
    }
    char key[POLICY_KEY_MAX];
    policy_key(key, name);
    e = kg_store_get_json(kms->st, NULL, out, key);
    if (e == KG_ERR_NOT_FOUND)
        e = kg_err_set(KG_ERR_NOT_FOUND, "no policy named '%s'; list them with `kashguard policy list`", name);
out:
    kms_unlock(kms);
    return e;
}

static int collect_name(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    (void)val;
    (void)val_len;
    json_array_append_new((json_t *)arg, json_string(key + strlen("policies/")));
    return 0;
}

kg_err kg_kms_policy_list(kg_kms *kms, const kg_kms_caller *who, json_t **out)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *names = json_array();
    json_array_append_new(names, json_string("root"));
    if ((e = kg_kms_authorize(kms, who, "manage-policies", NULL)) == KG_OK)
        e = kg_store_list(kms->st, NULL, "policies/", NULL, 0, collect_name, names);
    if (e == KG_OK)
        *out = json_pack("{s:o}", "policies", names);
    else
        json_decref(names);
    kms_unlock(kms);
    return e;
}

kg_err kg_kms_policy_delete(kg_kms *kms, const kg_kms_caller *who, const char *name)
{
    KG_ARG_CHECK(kms != NULL && who != NULL);
    kg_err e = check_name(name);
    if (e != KG_OK)
        return e;
    if (strcmp(name, "root") == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "policy 'root' is built in and cannot be deleted");
    if ((e = kms_rdlock_unsealed(kms)) != KG_OK)
        return e;
    if ((e = kg_kms_authorize(kms, who, "manage-policies", NULL)) == KG_OK) {
        char key[POLICY_KEY_MAX];
        policy_key(key, name);
        e = kg_store_delete(kms->st, NULL, key);
        if (e == KG_ERR_NOT_FOUND)
            e = kg_err_set(KG_ERR_NOT_FOUND, "no policy named '%s'", name);
    }
    kms_unlock(kms);
    return e;
}
