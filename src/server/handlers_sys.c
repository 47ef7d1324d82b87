/* Handlers of /v1/sys: health, seal status, init, unseal, seal, metrics.
 *
 * These work while the KMS is sealed or uninitialised (they are how it
 * gets out of those states), so all but seal are public routes. Health is
 * the load balancer's probe: its status code says whether this node can
 * serve (200), is sealed (503) or was never initialised (501). Init's reply
 * holds the unseal keys and the root token, shown once: its route is
 * flagged so the rendered reply's strings are wiped after use.
 *
 * Metrics (GET /v1/sys/metrics) are Prometheus text format 0.0.4, not JSON:
 * the handler hands the pipeline a text reply (kg_req.text). They need a
 * token with list-keys like the other reads, since key counts and HSM
 * member names describe the deployment. */
#include "server_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const no_fields[] = { NULL };

static kg_err status_doc(kg_req *r, json_t **out)
{
    *out = kg_kms_status(r->srv->kms);
    if (*out == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    /* The KMS names its seal type; an older KMS does not, the config does. */
    if (json_object_get(*out, "seal_type") == NULL)
        json_object_set_new(*out, "seal_type",
                            json_string(r->srv->cfg.seal_pkcs11_module != NULL ? "pkcs11" : "shamir"));
    return KG_OK;
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

/* ---------------------------------------------------------------- metrics */

/* printf onto the growing buffer *buf (*len used). */
static kg_err appendf(char **buf, size_t *len, const char *fmt, ...) KG_PRINTF(3, 4);
static kg_err appendf(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *nb = n >= 0 ? realloc(*buf, *len + (size_t)n + 1) : NULL;
    if (nb == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    va_start(ap, fmt);
    vsnprintf(nb + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *buf = nb;
    *len += (size_t)n;
    return KG_OK;
}

/* kashguard_sealed and kashguard_keys{protection}. */
static kg_err kms_metrics(kg_server *srv, char **buf, size_t *len)
{
    json_t *st = kg_kms_status(srv->kms);
    bool sealed = st == NULL || json_is_true(json_object_get(st, "sealed"));
    json_decref(st);
    kg_err e = appendf(buf, len, "# HELP kashguard_sealed 1 while the KMS is sealed (or not initialised).\n"
                       "# TYPE kashguard_sealed gauge\nkashguard_sealed %d\n", sealed ? 1 : 0);
    uint64_t soft = 0, hsm = 0;
    kg_err ce = kg_kms_key_counts(srv->kms, &soft, &hsm);
    if (e == KG_OK && ce == KG_OK)
        e = appendf(buf, len, "# HELP kashguard_keys Live keys by protection.\n# TYPE kashguard_keys gauge\n"
                    "kashguard_keys{protection=\"software\"} %llu\nkashguard_keys{protection=\"hsm\"} %llu\n",
                    (unsigned long long)soft, (unsigned long long)hsm);
    return e;
}

/* kashguard_http_requests_total{method,route}: requests per route since start. */
static kg_err http_metrics(kg_server *srv, char **buf, size_t *len)
{
    kg_err e = appendf(buf, len, "# HELP kashguard_http_requests_total API requests per route since start.\n"
                       "# TYPE kashguard_http_requests_total counter\n");
    for (size_t i = 0; e == KG_OK && srv->http_requests != NULL && i < kg_server_route_count(); i++) {
        uint64_t n = srv->http_requests[i];
        const kg_route *rt = kg_server_route_at(i);
        if (n > 0)
            e = appendf(buf, len, "kashguard_http_requests_total{method=\"%s\",route=\"%s\"} %llu\n", rt->method,
                        rt->pattern, (unsigned long long)n);
    }
    return e;
}

kg_err kg_h_metrics(kg_req *r, json_t **out)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "list-keys", NULL);
    if (e == KG_OK)
        e = kms_metrics(r->srv, &buf, &len);
    if (e == KG_OK)
        e = http_metrics(r->srv, &buf, &len);
    if (e == KG_OK)
        e = kg_hms_metrics(r->srv->hms, &buf, &len);
    if (e != KG_OK) {
        free(buf);
        return e;
    }
    r->text = buf;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return KG_OK;
}
