/* Handlers of /v1/sys/hsm: the HSM fleet manager (kg_hms) over REST.
 *
 *   POST /v1/sys/hsm/members  {"name"?, "module", "token", "pin_file"|"pin_env"}
 *                             -> the member (name defaults to the token label)
 *   GET  /v1/sys/hsm/members  -> {"members":[...]}
 *   GET  /v1/sys/hsm/members/{name} -> the member with slot, mechanisms, free space
 *   DELETE /v1/sys/hsm/members/{name} -> {"name", "removed": true} (not while in a group)
 *   POST /v1/sys/hsm/groups   {"name", "members":[...]} -> the group
 *   GET  /v1/sys/hsm/groups   -> {"groups":[...]}
 *
 * The PIN of a member never travels in a request: the body names a file on
 * the server's machine or a variable of the server's environment, which
 * the server reads (hsm_store.c) and stores the name of, not the PIN.
 * Registering is an admin act ("manage-policies", like MPC node
 * registration); reading needs "list-keys".
 *
 * A wrong PIN is KG_ERR_UNAUTHENTICATED in the hsm layer; here it becomes
 * 400 bad_input with the same message, because a 401 tells the client its
 * API token is bad. The HMS registers nothing when a member cannot open
 * (must_open), so a bad request changes nothing. The record is written
 * after the HMS accepted the member; if that store write fails the request
 * fails and the member lives in memory only until the next restart.
 * Removing takes the member out of the HMS (workers stop, token closes),
 * then deletes its record; a stored record the HMS does not hold (its PIN
 * could not be read at start, so it was skipped) is deleted all the same. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HSM_GROUP_MAX_MEMBERS 64

static const char *const no_fields[] = { NULL };

static const char *str_of(const json_t *obj, const char *field)
{
    const char *v = json_string_value(json_object_get(obj, field));
    return v ? v : "";
}

/* Member and group names: [A-Za-z0-9_.-]{1,64} (store keys, object labels). */
static kg_err name_check(const char *what, const char *name)
{
    size_t n = strlen(name);
    bool ok = n >= 1 && n <= 64 &&
              strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
    return ok ? KG_OK : kg_err_set(KG_ERR_BAD_INPUT, "%s name '%.80s' must be 1 to 64 of A-Z a-z 0-9 _ . -", what,
                                   name);
}

/* An HMS error as the API shows it (see the comment at the top). */
static kg_err api_error(kg_err e)
{
    if (e == KG_ERR_UNAUTHENTICATED || e == KG_ERR_DENIED)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s", kg_err_detail(e));
    return e;
}

/* The entry called name in arr (a members or groups list, stolen), as a
 * new reference, or NULL. */
static json_t *entry_named(json_t *arr, const char *name)
{
    json_t *found = NULL, *m;
    size_t i;
    json_array_foreach(arr, i, m) {
        if (strcmp(str_of(m, "name"), name) == 0) {
            found = json_incref(m);
            break;
        }
    }
    json_decref(arr);
    return found;
}

/* A GET of the whole list (members or groups): {key: list(hms)}. */
static kg_err list_reply(kg_req *r, json_t **out, const char *key, json_t *(*list)(kg_hms *))
{
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "list-keys", NULL);
    if (e != KG_OK)
        return e;
    json_t *arr = list(r->srv->hms);
    *out = arr ? json_pack("{s:o}", key, arr) : NULL;
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_h_hsm_member_add(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "name", "module", "token", "pin_file", "pin_env", NULL };
    const char *name = NULL, *module = NULL, *token = NULL, *pin_file = NULL, *pin_env = NULL;
    kg_secret *pin = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&name, r->json, "name", false);
    if (e == KG_OK)
        e = kg_json_get_str(&module, r->json, "module", true);
    if (e == KG_OK)
        e = kg_json_get_str(&token, r->json, "token", true);
    if (e == KG_OK)
        e = kg_json_get_str(&pin_file, r->json, "pin_file", false);
    if (e == KG_OK)
        e = kg_json_get_str(&pin_env, r->json, "pin_env", false);
    if (e == KG_OK && (module[0] == '\0' || token[0] == '\0'))
        e = kg_err_set(KG_ERR_BAD_INPUT, "fields 'module' and 'token' must not be empty");
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "manage-policies", NULL);
    if (e == KG_OK && name == NULL)
        name = token;
    if (e == KG_OK)
        e = name_check("HSM member", name);
    char what[160];
    snprintf(what, sizeof what, "HSM member '%.64s'", name ? name : "");
    if (e == KG_OK)
        e = kg_server_pin_read(&pin, pin_file, pin_env, what);
    if (e == KG_OK)
        e = api_error(kg_hms_member_add(r->srv->hms, name, module, token, pin, true));
    kg_secret_free(pin);
    if (e == KG_OK)
        e = kg_server_hsm_member_put(r->srv, name, module, token, pin_file, pin_env);
    if (e != KG_OK)
        return e;
    *out = entry_named(kg_hms_members_json(r->srv->hms), name);
    return *out ? KG_OK : kg_err_set(KG_ERR_INTERNAL, "HSM member %s was added but is not listed", name);
}

kg_err kg_h_hsm_members(kg_req *r, json_t **out)
{
    return list_reply(r, out, "members", kg_hms_members_json);
}

kg_err kg_h_hsm_member_get(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "list-keys", NULL);
    if (e == KG_OK)
        e = kg_hms_member_show(r->srv->hms, out, r->target.param);
    return e;
}

/* The "members" array of a group request: 1..64 distinct names. */
static kg_err group_members(const char **names, size_t *n, const json_t *arr)
{
    *n = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > HSM_GROUP_MAX_MEMBERS)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'members' must be an array of 1 to %d member names",
                          HSM_GROUP_MAX_MEMBERS);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *m = json_string_value(json_array_get(arr, i));
        if (m == NULL || m[0] == '\0')
            return kg_err_set(KG_ERR_BAD_INPUT, "field 'members' must hold member names (strings)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], m) == 0)
                return kg_err_set(KG_ERR_BAD_INPUT, "member '%.64s' is named twice in 'members'", m);
        names[(*n)++] = m;
    }
    return KG_OK;
}

kg_err kg_h_hsm_group_create(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "name", "members", NULL };
    const char *name = NULL, *names[HSM_GROUP_MAX_MEMBERS];
    size_t n = 0;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&name, r->json, "name", true);
    if (e == KG_OK)
        e = name_check("HSM group", name);
    if (e == KG_OK)
        e = group_members(names, &n, json_object_get(r->json, "members"));
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "manage-policies", NULL);
    if (e == KG_OK && kg_hms_group_exists(r->srv->hms, name))
        e = kg_err_set(KG_ERR_CONFLICT, "HSM group '%.64s' already exists", name);
    if (e == KG_OK)
        e = api_error(kg_hms_group_create(r->srv->hms, name, names, n));
    if (e == KG_OK)
        e = kg_server_hsm_group_put(r->srv, name, json_object_get(r->json, "members"));
    if (e != KG_OK)
        return e;
    *out = entry_named(kg_hms_groups_json(r->srv->hms), name);
    return *out ? KG_OK : kg_err_set(KG_ERR_INTERNAL, "HSM group %s was created but is not listed", name);
}

kg_err kg_h_hsm_groups(kg_req *r, json_t **out)
{
    return list_reply(r, out, "groups", kg_hms_groups_json);
}

kg_err kg_h_hsm_member_remove(kg_req *r, json_t **out)
{
    const char *name = r->target.param;
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "manage-policies", NULL);
    if (e == KG_OK)
        e = name_check("HSM member", name);
    bool in_hms = false;
    if (e == KG_OK) {
        e = kg_hms_member_remove(r->srv->hms, name);
        in_hms = e == KG_OK;
        if (e == KG_ERR_NOT_FOUND)
            e = KG_OK; /* maybe stored only: the record decides below */
    }
    if (e == KG_OK) {
        bool stored = false;
        e = kg_server_hsm_member_delete(r->srv, name, &stored);
        if (e == KG_OK && !in_hms && !stored)
            e = kg_err_set(KG_ERR_NOT_FOUND, "no HSM member '%.64s'", name);
    }
    if (e != KG_OK)
        return e;
    *out = json_pack("{s:s, s:b}", "name", name, "removed", 1);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}
