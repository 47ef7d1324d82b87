/* Handlers of /v1/keys: create, list, describe, lifecycle (rotate, enable,
 * disable, schedule/cancel deletion, update), public key, BYOK import.
 *
 * Each handler rejects unknown body fields (a typo is an error, not a
 * silently ignored option), makes one kg_kms_* call with the caller, and
 * returns the KMS's document as is: the KMS renders key metadata once for
 * the API and the CLI alike. The KMS does the policy check and validates
 * the values (spec names, durations, alias syntax); the handler only checks
 * what the HTTP shape adds (field names, types). Key id and version go into
 * the "response" audit entry through kg_req_note_key. */
#include "server_int.h"

#include <string.h>

static const char *const no_fields[] = { NULL };

typedef kg_err (*ref_fn)(kg_kms *, const kg_kms_caller *, json_t **, const char *);

kg_err kg_req_context(const json_t **out, const json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return KG_OK;
    if (!json_is_object(v))
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%s' must be an object of string values", field);
    const char *k;
    json_t *s;
    json_object_foreach(v, k, s) {
        if (!json_is_string(s))
            return kg_err_set(KG_ERR_BAD_INPUT, "field '%s' must be an object of string values "
                              "('%.64s' is not a string)", field, k);
    }
    *out = v;
    return KG_OK;
}

json_t *kg_info_with(json_t *info, const char *field, json_t *value)
{
    if (info == NULL)
        info = json_object();
    if (info == NULL || value == NULL || json_object_set_new(info, field, value) != 0) {
        json_decref(info);
        return NULL;
    }
    return info;
}

/* The shape shared by describe/rotate/enable/disable/cancel-deletion: no
 * body fields, the key from the path, metadata back. */
static kg_err ref_op(kg_req *r, json_t **out, ref_fn fn)
{
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = fn(r->srv->kms, r->caller, out, r->target.param);
    if (e == KG_OK)
        kg_req_note_key(r, *out);
    return e;
}

kg_err kg_h_key_get(kg_req *r, json_t **out) { return ref_op(r, out, kg_kms_key_get); }
kg_err kg_h_key_rotate(kg_req *r, json_t **out) { return ref_op(r, out, kg_kms_key_rotate); }
kg_err kg_h_key_enable(kg_req *r, json_t **out) { return ref_op(r, out, kg_kms_key_enable); }
kg_err kg_h_key_disable(kg_req *r, json_t **out) { return ref_op(r, out, kg_kms_key_disable); }
kg_err kg_h_key_cancel_deletion(kg_req *r, json_t **out) { return ref_op(r, out, kg_kms_key_cancel_deletion); }

kg_err kg_h_key_create(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "spec", "alias", "description", "rotation_period",
                                          "protection", "hsm_group", NULL }; /* HSM keys: docs/hsm.md */
    const char *s = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "protection", false);
    if (e == KG_OK && s != NULL && strcmp(s, "software") != 0 && strcmp(s, "hsm") != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'protection' must be \"software\" or \"hsm\"");
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "hsm_group", false);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "spec", true);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "alias", false);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "description", false);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "rotation_period", false);
    if (e == KG_OK)
        e = kg_kms_key_create(r->srv->kms, r->caller, out, r->json);
    if (e == KG_OK)
        kg_req_note_key(r, *out);
    return e;
}

kg_err kg_h_key_list(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    if (e != KG_OK)
        return e;
    return kg_kms_key_list(r->srv->kms, r->caller, out, r->target.limit, r->target.cursor);
}

kg_err kg_h_key_schedule_deletion(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "waiting_period", NULL };
    const char *s = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "waiting_period", false);
    if (e == KG_OK)
        e = kg_kms_key_schedule_deletion(r->srv->kms, r->caller, out, r->target.param, r->json);
    if (e == KG_OK)
        kg_req_note_key(r, *out);
    return e;
}

kg_err kg_h_key_update(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "alias", "description", "rotation_period", NULL };
    const char *s = NULL;
    kg_err e = kg_req_fields(r, fields);
    for (size_t i = 0; e == KG_OK && fields[i] != NULL; i++)
        e = kg_json_get_str(&s, r->json, fields[i], false);
    if (e == KG_OK && json_object_size(r->json) == 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "nothing to update: give alias, description or rotation_period");
    if (e == KG_OK)
        e = kg_kms_key_update(r->srv->kms, r->caller, out, r->target.param, r->json);
    if (e == KG_OK)
        kg_req_note_key(r, *out);
    return e;
}

kg_err kg_h_key_public(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_public_key(r->srv->kms, r->caller, out, r->target.param, r->target.version);
    if (e == KG_OK)
        kg_req_note_key(r, *out);
    return e;
}

kg_err kg_h_import_params(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    return e != KG_OK ? e : kg_kms_import_params(r->srv->kms, r->caller, out);
}

kg_err kg_h_key_import(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "spec", "alias", "description", "import_token",
                                          "wrapped_material", "wrapping_algorithm", NULL };
    static const bool required[] = { true, false, false, true, true, true };
    const char *s = NULL;
    kg_err e = kg_req_fields(r, fields);
    for (size_t i = 0; e == KG_OK && fields[i] != NULL; i++)
        e = kg_json_get_str(&s, r->json, fields[i], required[i]);
    if (e == KG_OK)
        e = kg_kms_key_import(r->srv->kms, r->caller, out, r->json);
    if (e == KG_OK)
        kg_req_note_key(r, *out);
    return e;
}
