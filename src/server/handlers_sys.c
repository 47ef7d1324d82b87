/* Handlers of /v1/sys: health, seal status, init, unseal, seal.
 *
 * These work while the KMS is sealed or uninitialised (they are how it
 * gets out of those states), so all but seal are public routes. Health is
 * the load balancer's probe: its status code says whether this node can
 * serve (200), is sealed (503) or was never initialised (501). Init's reply
 * holds the unseal keys and the root token, shown once: its route is
 * flagged so the rendered reply's strings are wiped after use. */
#include "server_int.h"

#include <string.h>

static const char *const no_fields[] = { NULL };

static kg_err status_doc(kg_req *r, json_t **out)
{
    *out = kg_kms_status(r->srv->kms);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_h_health(kg_req *r, json_t **out)
{
    json_t *st = kg_kms_status(r->srv->kms);
    if (st == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    bool init = json_is_true(json_object_get(st, "initialized"));
    bool sealed = json_is_true(json_object_get(st, "sealed"));
    const char *ver = json_string_value(json_object_get(st, "version"));
    char now[21];
    kg_time_rfc3339(now, kg_now());
    *out = json_pack("{s:b,s:b,s:s,s:s}", "initialized", init, "sealed", sealed,
                     "version", ver ? ver : KG_SERVER_VERSION, "server_time", now);
    json_decref(st);
    if (*out == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    r->status = !init ? 501 : sealed ? 503 : 200;
    return KG_OK;
}

kg_err kg_h_seal_status(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    return e != KG_OK ? e : status_doc(r, out);
}

kg_err kg_h_init(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "shares", "threshold", NULL };
    int64_t shares = 0, threshold = 0;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_int(&shares, r->json, "shares", true);
    if (e == KG_OK)
        e = kg_json_get_int(&threshold, r->json, "threshold", true);
    if (e != KG_OK)
        return e;
    if (shares < 1 || shares > 255 || threshold < 1 || threshold > shares)
        return kg_err_set(KG_ERR_BAD_INPUT, "need 1 <= threshold <= shares <= 255 (got shares %lld, threshold %lld)",
                          (long long)shares, (long long)threshold);
    r->sensitive = true;
    return kg_kms_init(r->srv->kms, out, (unsigned)shares, (unsigned)threshold);
}

kg_err kg_h_unseal(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "key", "reset", NULL };
    const char *key = NULL;
    bool reset = false;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&key, r->json, "key", false);
    if (e == KG_OK)
        e = kg_json_get_bool(&reset, r->json, "reset", false);
    if (e != KG_OK)
        return e;
    if (reset) {
        if (key != NULL)
            return kg_err_set(KG_ERR_BAD_INPUT, "give either 'key' or 'reset', not both");
        kg_kms_unseal_reset(r->srv->kms);
        return status_doc(r, out);
    }
    if (key == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'key' is required (one base64 unseal key), or 'reset': true");
    return kg_kms_unseal(r->srv->kms, out, key);
}

kg_err kg_h_seal(kg_req *r, json_t **out)
{
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_seal(r->srv->kms, r->caller);
    if (e != KG_OK)
        return e;
    kg_log(KG_LOG_WARN, "server sealed by request", "request_id", r->request_id, NULL);
    return status_doc(r, out);
}
