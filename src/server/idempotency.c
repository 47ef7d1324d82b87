/* Idempotency-Key for the creating calls (POST /v1/keys, /v1/keys/import,
 * /v1/tokens, /v1/policies): a retried request never creates twice.
 *
 * Record: store key "idempotency/<hex sha256(accessor|method|path|key)>",
 * so one client's keys never collide with another's, holding
 *   {"state":"pending"|"done","body_hash":"<sha256 of the body>",
 *    "started_at":t,"expires_at":t+24h,"status":200,"response":{...}}.
 *
 * Protocol (safe across threads and, through the store, across nodes):
 *   - claim the key with kg_store_create (insert-only) as "pending";
 *   - if it exists: a different body hash is 409 conflict; "done" replays
 *     the stored reply; "pending" is 409 (the first attempt is still
 *     running) unless it is older than KG_IDEM_STALE, which means its node
 *     died mid-request: then, like an expired record, it is deleted and the
 *     claim retried;
 *   - after the handler: success stores the reply as "done"; failure
 *     deletes the claim so the client can retry (errors are not replayed:
 *     a retry after "sealed" must be able to succeed).
 *
 * Token values are never written to the store (only their hash is, by the
 * KMS): a stored token-create reply has its "token" field removed, so a
 * replay returns the token's accessor and metadata (enough to look it up or
 * revoke it) with "token": null. Expired records are swept by the ticker. */
#include "server_int.h"

#include <stdio.h>
#include <string.h>

#define KG_IDEM_TTL (24 * 3600)
#define KG_IDEM_STALE 300
#define KG_IDEM_PREFIX "idempotency/"

static void sha256_hex(char out[65], const uint8_t *d, size_t n)
{
    uint8_t h[KG_SHA256_BYTES];
    kg_crypto_sha256(h, d, n);
    kg_hex_encode(out, h, sizeof h);
}

static kg_err check_header(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 255)
        return kg_err_set(KG_ERR_BAD_INPUT, "the Idempotency-Key header must be 1 to 255 characters");
    for (size_t i = 0; i < n; i++) {
        if (k[i] < 0x21 || k[i] > 0x7e)
            return kg_err_set(KG_ERR_BAD_INPUT,
                              "the Idempotency-Key header must be printable ASCII without spaces (a UUID works)");
    }
    return KG_OK;
}

static void derive_key(kg_req *r, kg_idem *st)
{
    kg_crypto_sha256_ctx c;
    const char *acc = r->caller ? kg_kms_caller_accessor(r->caller) : "";
    size_t plen = strcspn(r->uri, "?#");
    kg_crypto_sha256_init(&c);
    kg_crypto_sha256_update(&c, (const uint8_t *)acc, strlen(acc));
    kg_crypto_sha256_update(&c, (const uint8_t *)"|", 1);
    kg_crypto_sha256_update(&c, (const uint8_t *)r->method, strlen(r->method));
    kg_crypto_sha256_update(&c, (const uint8_t *)"|", 1);
    kg_crypto_sha256_update(&c, (const uint8_t *)r->uri, plen);
    kg_crypto_sha256_update(&c, (const uint8_t *)"|", 1);
    kg_crypto_sha256_update(&c, (const uint8_t *)r->idem_key, strlen(r->idem_key));
    uint8_t h[KG_SHA256_BYTES];
    kg_crypto_sha256_final(h, &c);
    char hex[65];
    kg_hex_encode(hex, h, sizeof h);
    snprintf(st->store_key, sizeof st->store_key, KG_IDEM_PREFIX "%s", hex);
    sha256_hex(st->body_hash, (const uint8_t *)(r->body ? r->body : ""), r->body_len);
}

/* Decide what an existing record means. *retry: delete it and claim again. */
static kg_err judge(kg_idem *st, json_t *rec, json_t **replay, int *status, bool *retry)
{
    const char *state = json_string_value(json_object_get(rec, "state"));
    const char *hash = json_string_value(json_object_get(rec, "body_hash"));
    json_int_t expires = json_integer_value(json_object_get(rec, "expires_at"));
    json_int_t started = json_integer_value(json_object_get(rec, "started_at"));
    int64_t now = kg_now();
    *retry = false;
    if (state == NULL || hash == NULL || expires <= now ||
        (strcmp(state, "pending") == 0 && started + KG_IDEM_STALE <= now)) {
        *retry = true;
        return KG_OK;
    }
    if (strcmp(hash, st->body_hash) != 0)
        return kg_err_set(KG_ERR_CONFLICT, "this Idempotency-Key was already used with a different request "
                          "body; use a new key for a new request");
    if (strcmp(state, "done") != 0)
        return kg_err_set(KG_ERR_CONFLICT, "a request with this Idempotency-Key is still in progress; "
                          "retry it in a moment");
    json_t *resp = json_object_get(rec, "response");
    if (!json_is_object(resp))
        return kg_err_set(KG_ERR_STORE, "the stored idempotent reply is damaged");
    *replay = json_deep_copy(resp);
    *status = (int)json_integer_value(json_object_get(rec, "status"));
    if (*status < 200 || *status > 299)
        *status = 200;
    return *replay ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_idem_begin(kg_req *r, kg_idem *st, json_t **replay, int *replay_status)
{
    memset(st, 0, sizeof *st);
    *replay = NULL;
    if (r->idem_key == NULL)
        return KG_OK;
    kg_err e = check_header(r->idem_key);
    if (e != KG_OK)
        return e;
    derive_key(r, st);
    kg_store *s = r->srv->store;
    for (int attempt = 0; attempt < 3; attempt++) {
        int64_t now = kg_now();
        json_t *rec = json_pack("{s:s,s:s,s:I,s:I}", "state", "pending", "body_hash", st->body_hash,
                                "started_at", (json_int_t)now, "expires_at", (json_int_t)(now + KG_IDEM_TTL));
        if (rec == NULL)
            return kg_err_set(KG_ERR_NOMEM, "out of memory");
        e = kg_store_create_json(s, NULL, st->store_key, rec);
        json_decref(rec);
        if (e == KG_OK) {
            st->claimed = true;
            return KG_OK;
        }
        if (e != KG_ERR_CONFLICT)
            return e;
        json_t *old = NULL;
        e = kg_store_get_json(s, NULL, &old, st->store_key);
        if (e == KG_ERR_NOT_FOUND)
            continue;
        if (e != KG_OK)
            return e;
        bool retry;
        e = judge(st, old, replay, replay_status, &retry);
        json_decref(old);
        if (e != KG_OK || !retry)
            return e;
        kg_err de = kg_store_delete(s, NULL, st->store_key);
        if (de != KG_OK && de != KG_ERR_NOT_FOUND)
            return de;
    }
    return kg_err_set(KG_ERR_CONFLICT, "the Idempotency-Key is contended by concurrent requests; retry");
}

void kg_idem_finish(kg_req *r, kg_idem *st, kg_err e, const json_t *doc)
{
    if (!st->claimed)
        return;
    kg_store *s = r->srv->store;
    json_t *resp = (e == KG_OK && doc != NULL) ? json_deep_copy(doc) : NULL;
    if (resp != NULL && json_object_get(resp, "token") != NULL)
        json_object_set_new(resp, "token", json_null());
    int64_t now = kg_now();
    json_t *rec = resp ? json_pack("{s:s,s:s,s:I,s:I,s:i,s:o}", "state", "done", "body_hash", st->body_hash,
                                   "started_at", (json_int_t)now, "expires_at", (json_int_t)(now + KG_IDEM_TTL),
                                   "status", r->status ? r->status : 200, "response", resp)
                       : NULL;
    if (rec != NULL && kg_store_put_json(s, NULL, st->store_key, rec) == KG_OK) {
        json_decref(rec);
        return;
    }
    if (rec != NULL)
        kg_log(KG_LOG_WARN, "could not store an idempotent reply; a retry will run again",
               "request_id", r->request_id, NULL);
    json_decref(rec);
    if (kg_store_delete(s, NULL, st->store_key) != KG_OK)
        kg_log(KG_LOG_WARN, "could not drop an idempotency claim; it expires on its own",
               "request_id", r->request_id, NULL);
}

typedef struct {
    int64_t now;
    char keys[64][96];
    size_t n;
    char last[96];
} sweep_state;

static int sweep_fn(void *arg, const char *key, const uint8_t *val, size_t len)
{
    sweep_state *s = arg;
    snprintf(s->last, sizeof s->last, "%s", key);
    json_t *rec = json_loadb((const char *)val, len, 0, NULL);
    json_int_t exp = json_integer_value(json_object_get(rec, "expires_at"));
    json_decref(rec);
    if (exp <= s->now && s->n < 64)
        snprintf(s->keys[s->n++], sizeof s->keys[0], "%s", key);
    return s->n == 64;
}

void kg_idem_sweep(kg_server *srv)
{
    sweep_state s;
    memset(&s, 0, sizeof s);
    s.now = kg_now();
    for (int round = 0; round < 100; round++) {
        s.n = 0;
        char after[96];
        snprintf(after, sizeof after, "%s", s.last);
        if (kg_store_list(srv->store, NULL, KG_IDEM_PREFIX, after, 256, sweep_fn, &s) != KG_OK)
            return;
        for (size_t i = 0; i < s.n; i++)
            (void)!kg_store_delete(srv->store, NULL, s.keys[i]);
        if (strcmp(after, s.last) == 0)
            return;
    }
}
