/* Handlers of /v1/tokens and /v1/policies.
 *
 * A path without an accessor ("/v1/tokens/self/...") acts on the caller's
 * own token: the route table captures nothing there, so the handlers pass
 * NULL, which the KMS reads as "self". The KMS checks who may create,
 * renew, revoke tokens and manage policies; the handlers check the HTTP
 * shape. A created token is in the reply once: the route is flagged so
 * the rendered reply is wiped after sending, and the idempotency record
 * never holds it (idempotency.c). */
#include "server_int.h"

#include <string.h>

static const char *const no_fields[] = { NULL };

static kg_err check_policies(const json_t *obj)
{
    json_t *p = json_object_get(obj, "policies");
    if (p == NULL || json_is_null(p))
        return KG_OK;
    size_t i;
    json_t *v;
    if (!json_is_array(p))
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'policies' must be an array of policy names");
    json_array_foreach(p, i, v) {
        if (!json_is_string(v))
            return kg_err_set(KG_ERR_BAD_INPUT, "field 'policies' must be an array of policy names "
                              "(item %zu is not a string)", i);
    }
    return KG_OK;
}

kg_err kg_h_token_create(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "policies", "ttl", "display_name", "renewable", "explicit_max_ttl", NULL };
    const char *s = NULL;
    bool b;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = check_policies(r->json);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "ttl", false);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "display_name", false);
    if (e == KG_OK)
        e = kg_json_get_bool(&b, r->json, "renewable", false);
    if (e == KG_OK)
        e = kg_json_get_str(&s, r->json, "explicit_max_ttl", false);
    if (e != KG_OK)
        return e;
    r->sensitive = true;
    return kg_kms_token_create(r->srv->kms, r->caller, out, r->json);
}

kg_err kg_h_token_lookup(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    return e != KG_OK ? e : kg_kms_token_lookup(r->srv->kms, r->caller, out, r->target.param);
}

kg_err kg_h_token_renew(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "increment", NULL };
    const char *inc = NULL;
    int64_t secs = 0;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&inc, r->json, "increment", false);
    if (e == KG_OK && inc != NULL && kg_duration_parse(&secs, inc) != KG_OK)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'increment' must be a duration like \"1h\" or \"30m\"");
    if (e == KG_OK && secs < 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'increment' must not be negative");
    return e != KG_OK ? e : kg_kms_token_renew(r->srv->kms, r->caller, out, r->target.param, secs);
}

kg_err kg_h_token_revoke(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_token_revoke(r->srv->kms, r->caller, r->target.param);
    if (e != KG_OK)
        return e;
    *out = json_object();
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_h_policy_put(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "name", "rules", NULL };
    const char *name = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&name, r->json, "name", true);
    if (e == KG_OK && !json_is_array(json_object_get(r->json, "rules")))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'rules' is required and must be an array of rules");
    return e != KG_OK ? e : kg_kms_policy_put(r->srv->kms, r->caller, out, r->json);
}

kg_err kg_h_policy_list(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    return e != KG_OK ? e : kg_kms_policy_list(r->srv->kms, r->caller, out);
}

kg_err kg_h_policy_get(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    return e != KG_OK ? e : kg_kms_policy_get(r->srv->kms, r->caller, out, r->target.param);
}

kg_err kg_h_policy_delete(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_policy_delete(r->srv->kms, r->caller, r->target.param);
    if (e != KG_OK)
        return e;
    *out = json_object();
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}
