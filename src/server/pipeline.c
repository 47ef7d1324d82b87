/* The request pipeline: everything between "the body has arrived" and "this
 * JSON goes back", independent of the HTTP library (http.c feeds it).
 *
 * Order, for every request:
 *   1. resolve the target against the route table (404 / 405 / 400);
 *   2. check the body: size (413), JSON object, depth (400 bad_json);
 *   3. authenticate the bearer token unless the route is a public sys route
 *      (401; 503 while sealed);
 *   4. write the "request" audit entry. If that fails the request fails
 *      with 500 audit_failed and nothing else happens (fail closed). Failed
 *      requests from steps 1-3 are audited too, with their error;
 *   5. the Idempotency-Key check, then the handler;
 *   6. write the "response" audit entry; if that fails, the reply is
 *      discarded (wiped) and replaced by 500 audit_failed, so no result
 *      leaves the server unrecorded;
 *   7. render the JSON reply.
 *
 * The health probe skips the audit (it is polled every few seconds by load
 * balancers and carries nothing sensitive).
 *
 * What is never written to the audit log or the logs: bodies, plaintexts,
 * tokens. Identifying values (token accessor, client address, key aliases
 * in paths) go through kg_kms_audit_hmac. Key ids ("k-…") are kept: they
 * are random and name no customer data.
 *
 * Secrets in flight: the raw body, every string of the parsed body and of
 * replies flagged sensitive (decrypt, data-key, random, token create, init)
 * are overwritten before their memory is freed. Replies are rendered with
 * json_dumpb into one exactly-sized buffer, so no growing intermediate
 * buffer leaves copies behind. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kg_err kg_server_parse_body(json_t **out, const char *body, size_t len, size_t max_len)
{
    KG_ARG_CHECK(out != NULL);
    KG_ARG_CHECK(body != NULL || len == 0);
    *out = NULL;
    if (len > max_len)
        return kg_err_set(KG_ERR_TOO_LARGE, "the request body is larger than %zu bytes", max_len);
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len) {
        *out = json_object();
        return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    return kg_json_parse_object(out, body, len);
}

void kg_json_wipe_strings(json_t *doc)
{
    if (json_is_string(doc)) {
        kg_wipe((char *)json_string_value(doc), json_string_length(doc));
    } else if (json_is_array(doc)) {
        for (size_t i = 0; i < json_array_size(doc); i++)
            kg_json_wipe_strings(json_array_get(doc, i));
    } else if (json_is_object(doc)) {
        const char *k;
        json_t *v;
        json_object_foreach(doc, k, v) {
            kg_json_wipe_strings(v);
        }
    }
}

void kg_req_reply_json(kg_req *r, int status, json_t *doc)
{
    if (r->reply != NULL) {
        kg_wipe(r->reply, r->reply_len);
        free(r->reply);
        r->reply = NULL;
    }
    /* 15 significant digits: a latency of 4.338 prints as 4.338, not as
     * jansson's default 17-digit 4.3380000000000001. */
    const size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(15);
    size_t n = doc ? json_dumpb(doc, NULL, 0, flags) : 0;
    char *buf = n ? malloc(n + 1) : NULL;
    if (buf == NULL || json_dumpb(doc, buf, n, flags) != n) {
        free(buf);
        static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
        buf = strdup(oom);
        n = buf ? strlen(oom) : 0;
        status = 500;
    } else {
        buf[n] = '\0';
    }
    if (doc != NULL && (r->sensitive || (r->route && (r->route->flags & KG_ROUTE_SECRET_OUT))))
        kg_json_wipe_strings(doc);
    json_decref(doc);
    r->reply = buf;
    r->reply_len = n;
    r->http_status = status;
    r->content_type = NULL; /* JSON */
}

/* A handler's text reply (metrics) becomes the reply as is. */
static void reply_text(kg_req *r)
{
    if (r->reply != NULL) {
        kg_wipe(r->reply, r->reply_len);
        free(r->reply);
    }
    r->reply = r->text;
    r->reply_len = strlen(r->text);
    r->text = NULL;
    r->http_status = r->status ? r->status : 200;
}

void kg_req_reply_error(kg_req *r, kg_err e, const char *msg)
{
    json_t *doc = json_pack("{s:{s:s,s:s}}", "error", "code", kg_err_code(e),
                            "message", msg ? msg : kg_err_str(e));
    kg_req_reply_json(r, kg_err_http(e), doc);
}

void kg_req_note_key(kg_req *r, const json_t *info)
{
    const char *id = json_string_value(json_object_get(info, "key_id"));
    if (id != NULL && strlen(id) < sizeof r->key_id)
        snprintf(r->key_id, sizeof r->key_id, "%s", id);
    json_t *v = json_object_get(info, "version");
    if (!json_is_integer(v))
        v = json_object_get(info, "current_version");
    if (json_is_integer(v))
        r->key_version = (int64_t)json_integer_value(v);
}

kg_err kg_req_fields(const kg_req *r, const char *const *allowed)
{
    return kg_json_check_fields(r->json, allowed);
}

static void new_request_id(kg_req *r)
{
    uint8_t rnd[8] = { 0 };
    if (kg_crypto_random(rnd, sizeof rnd) != KG_OK) {
        static _Atomic uint64_t fallback;
        uint64_t n = ++fallback ^ (uint64_t)kg_now() << 20;
        memcpy(rnd, &n, sizeof rnd);
    }
    memcpy(r->request_id, "r-", 2);
    kg_hex_encode(r->request_id + 2, rnd, sizeof rnd);
}

/* Add field = HMAC(value) to entry (skipped when value is NULL). */
static void set_hmac(kg_req *r, json_t *entry, const char *field, const char *value)
{
    if (value == NULL)
        return;
    char *h = kg_kms_audit_hmac(r->srv->kms, value);
    if (h != NULL)
        json_object_set_new(entry, field, json_string(h));
    free(h);
}

static bool is_key_id(const char *ref)
{
    return ref != NULL && strncmp(ref, "k-", 2) == 0;
}

/* The path as audited: the route's pattern with the captured segment put
 * back (key ids as is, aliases and accessors HMAC'd, policy names as is).
 * An unrouted path is HMAC'd whole: it may name anything. */
static json_t *audit_path(kg_req *r)
{
    char *hpath = NULL;
    if (r->route == NULL) {
        char path[4097];
        snprintf(path, sizeof path, "%.*s", (int)strcspn(r->uri, "?#"), r->uri);
        hpath = kg_kms_audit_hmac(r->srv->kms, path);
        json_t *j = json_string(hpath ? hpath : "");
        free(hpath);
        return j;
    }
    const char *pat = r->route->pattern, *open = strchr(pat, '{');
    if (open == NULL)
        return json_string(pat);
    const char *close = strchr(open, '}');
    const char *p = r->target.param;
    bool keep = strncmp(open, "{name}", 6) == 0 || (strncmp(open, "{ref}", 5) == 0 && is_key_id(p));
    char *seg = keep ? strdup(p) : kg_kms_audit_hmac(r->srv->kms, p);
    json_t *j = json_sprintf("%.*s%s%s", (int)(open - pat), pat, seg ? seg : "", close + 1);
    free(seg);
    return j;
}

/* The request entry. It must be on disk before a request that changes state
 * runs (durable); for one that changes nothing (refused, or a read-only
 * route) it is only queued, and the durable response entry carries it to
 * disk before anything is sent back. */
static kg_err audit_request(kg_req *r, bool durable)
{
    char now[21];
    kg_time_rfc3339(now, kg_now());
    json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s}", "type", "request", "request_id", r->request_id,
                          "time", now, "method", r->method, "path", audit_path(r),
                          "action", r->route ? r->route->action : "unknown");
    if (e == NULL)
        return kg_err_set(KG_ERR_AUDIT, "could not build the audit entry (out of memory)");
    if (r->route && strstr(r->route->pattern, "{ref}") && is_key_id(r->target.param))
        json_object_set_new(e, "key_id", json_string(r->target.param));
    if (r->caller != NULL)
        set_hmac(r, e, "accessor", kg_kms_caller_accessor(r->caller));
    set_hmac(r, e, "remote", r->remote);
    kg_err err = durable ? kg_kms_audit_append(r->srv->kms, e) : kg_kms_audit_enqueue(r->srv->kms, e);
    json_decref(e);
    return err;
}

static kg_err audit_response(kg_req *r, kg_err result)
{
    json_t *e = json_pack("{s:s,s:s,s:i}", "type", "response", "request_id", r->request_id,
                          "status", r->http_status);
    if (e == NULL)
        return kg_err_set(KG_ERR_AUDIT, "could not build the audit entry (out of memory)");
    if (result != KG_OK)
        json_object_set_new(e, "error", json_string(kg_err_code(result)));
    if (r->key_id[0] != '\0')
        json_object_set_new(e, "key_id", json_string(r->key_id));
    if (r->key_version > 0)
        json_object_set_new(e, "key_version", json_integer(r->key_version));
    if (r->mpc_culprit != 0)
        json_object_set_new(e, "culprit", json_integer(r->mpc_culprit));
    kg_err err = kg_kms_audit_append(r->srv->kms, e);
    json_decref(e);
    return err;
}

static kg_err authenticate(kg_req *r)
{
    if (!r->tls_client_ok)
        return kg_err_set(KG_ERR_UNAUTHENTICATED,
                          "a client certificate signed by the configured tls_client_ca is required");
    if (r->route->flags & KG_ROUTE_NOAUTH)
        return KG_OK;
    if (r->token == NULL || r->token[0] == '\0')
        return kg_err_set(KG_ERR_UNAUTHENTICATED,
                          "no token: send `Authorization: Bearer <token>` (the CLI reads KASHGUARD_TOKEN)");
    return kg_kms_token_authenticate(r->srv->kms, &r->caller, r->token);
}

/* Steps 1-3: everything that can refuse a request before it is audited. */
static kg_err admit(kg_req *r)
{
    kg_err e = kg_server_parse_target(&r->target, r->method, r->uri);
    if (e != KG_OK)
        return e;
    r->route = r->target.route;
    if (r->too_large)
        return kg_err_set(KG_ERR_TOO_LARGE, "the request body is larger than %zu bytes (max_body_bytes)",
                          r->srv->cfg.max_body_bytes);
    e = kg_server_parse_body(&r->json, r->body, r->body_len, r->srv->cfg.max_body_bytes);
    if (e != KG_OK)
        return e;
    return authenticate(r);
}

/* Step 5: the idempotency check around the handler. */
static kg_err dispatch(kg_req *r, json_t **doc)
{
    *doc = NULL;
    if (!(r->route->flags & KG_ROUTE_IDEMPOTENT))
        return r->route->handler(r, doc);
    kg_idem st;
    json_t *replay = NULL;
    int rs = 200;
    kg_err e = kg_idem_begin(r, &st, &replay, &rs);
    if (e != KG_OK)
        return e;
    if (replay != NULL) {
        kg_req_note_key(r, replay);
        r->status = rs;
        *doc = replay;
        return KG_OK;
    }
    e = r->route->handler(r, doc);
    kg_idem_finish(r, &st, e, *doc);
    return e;
}

/* Keep the detail of e before later calls (audit) overwrite it. */
static char *detail_copy(kg_err e)
{
    return e == KG_OK ? NULL : strdup(kg_err_detail(e));
}

void kg_req_run(kg_req *r)
{
    kg_err_clear();
    new_request_id(r);
    kg_err e = admit(r);
    char *msg = detail_copy(e);
    json_t *doc = NULL;
    if (r->route != NULL && (r->route->flags & KG_ROUTE_NOAUDIT)) {
        if (e == KG_OK) {
            e = r->route->handler(r, &doc);
            free(msg);
            msg = detail_copy(e);
        }
    } else {
        kg_err ae = audit_request(r, e == KG_OK && !(r->route->flags & KG_ROUTE_READONLY));
        if (ae != KG_OK) {
            kg_log(KG_LOG_ERROR, "audit write failed; request refused", "request_id", r->request_id,
                   "detail", kg_err_detail(ae), NULL);
            free(msg);
            kg_req_reply_error(r, KG_ERR_AUDIT, "the request could not be recorded in the audit log; "
                               "nothing was done (check the data dir's disk space and permissions)");
            return;
        }
        if (e == KG_OK) {
            e = dispatch(r, &doc);
            free(msg);
            msg = detail_copy(e);
        }
    }
    if (r->route != NULL && r->srv->http_requests != NULL)
        r->srv->http_requests[kg_server_route_index(r->route)]++;
    if (e == KG_OK && r->text != NULL) {
        json_decref(doc);
        reply_text(r);
    } else if (e == KG_OK) {
        kg_req_reply_json(r, r->status ? r->status : 200, doc);
    } else {
        if (doc != NULL) {
            kg_json_wipe_strings(doc);
            json_decref(doc);
        }
        kg_req_reply_error(r, e, msg);
    }
    free(msg);
    if (r->route != NULL && (r->route->flags & KG_ROUTE_NOAUDIT))
        return;
    if (audit_response(r, e) != KG_OK) {
        kg_log(KG_LOG_ERROR, "audit write failed after the handler; reply withheld", "request_id",
               r->request_id, NULL);
        kg_req_reply_error(r, KG_ERR_AUDIT, "the result could not be recorded in the audit log, so it is "
                           "withheld; check the data dir's disk space and permissions");
    }
}

void kg_req_free(kg_req *r)
{
    if (r == NULL)
        return;
    if (r->body != NULL) {
        kg_wipe(r->body, r->body_cap);
        free(r->body);
    }
    if (r->json != NULL) {
        kg_json_wipe_strings(r->json);
        json_decref(r->json);
    }
    if (r->token != NULL) {
        kg_wipe(r->token, strlen(r->token));
        free(r->token);
    }
    if (r->reply != NULL) {
        kg_wipe(r->reply, r->reply_len);
        free(r->reply);
    }
    free(r->text);
    kg_kms_caller_free(r->caller);
    kg_server_target_free(&r->target);
    free(r->idem_key);
    free(r->remote);
    free(r->uri);
    free(r);
}
