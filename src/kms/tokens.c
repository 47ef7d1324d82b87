/* Tokens and callers.
 *
 * A token is "kg." + 43 base64url characters (32 random bytes). The store
 * never sees it: the record lives under tokens/<sha256 hex of the token>, and
 * accessors/<accessor> -> {"token_hash"} lets an operator name a token
 * without knowing it. Authenticating is one hash and one lookup by hash, so
 * no comparison of secret bytes ever happens and timing reveals nothing
 * about which tokens exist.
 *
 * Record (tokens/<hash>), times in Unix seconds, 0 = never:
 *   {"accessor","policies":[…],"display_name","created_at","expires_at","ttl",
 *    "explicit_max_ttl","renewable","parent":"a-…"|null}
 * A revoked token keeps a tombstone {"accessor","revoked_at","expires_at"} so
 * that authenticate can say "revoked" rather than "unknown"; its accessor
 * mapping is deleted. Expired records are deleted lazily when seen.
 *
 * Invariants:
 *   - a child never outlives its parent: its expiry (also after renewal) is
 *     capped at the parent's, so an expired parent implies expired children
 *     and only explicit revocation needs to cascade;
 *   - revocation cascades to every descendant, found by scanning the records
 *     inside the same transaction (no child list to go stale);
 *   - a child carries only policies its parent has, unless the parent is
 *     root or may "manage-tokens"; only a root parent can grant "root";
 *   - every change is one store transaction.
 * Everything here works only unsealed (kms_rdlock_unsealed), except
 * kms_token_create_root which runs inside init's own transaction. */
#include "kms_int.h"
#include "policy_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_PREFIX "kg."
#define TOKEN_B64_LEN 43
#define TOKEN_LEN (sizeof(TOKEN_PREFIX) - 1 + TOKEN_B64_LEN)
#define HASH_HEX 65
#define ACCESSOR_LEN 26 /* "a-" + 24 hex */
#define DEFAULT_TTL INT64_C(86400)
#define MAX_TTL (INT64_C(3650) * 86400)
#define DISPLAY_MAX 128
#define ANCESTOR_DEPTH_MAX 64

struct kg_kms_caller {
    char accessor[ACCESSOR_LEN + 1];
    char *display_name;
    json_t *policies;
    int64_t expires_at; /* 0 = never */
    bool root;
    bool system;
};

/* ---------------------------------------------------------------- callers */

static bool policies_have_root(const json_t *pols)
{
    size_t i;
    json_t *v;
    json_array_foreach(pols, i, v) {
        if (json_string_value(v) != NULL && strcmp(json_string_value(v), "root") == 0)
            return true;
    }
    return false;
}

static kg_kms_caller *caller_new(const char *accessor, const char *display, json_t *pols,
                                 int64_t expires_at)
{
    kg_kms_caller *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    snprintf(c->accessor, sizeof(c->accessor), "%s", accessor);
    c->display_name = strdup(display ? display : "");
    c->policies = json_incref(pols);
    c->expires_at = expires_at;
    c->root = policies_have_root(pols);
    if (c->display_name == NULL || c->policies == NULL) {
        kg_kms_caller_free(c);
        return NULL;
    }
    return c;
}

kg_kms_caller *kg_kms_caller_system(void)
{
    json_t *pols = json_pack("[s]", "root");
    kg_kms_caller *c = pols ? caller_new("system", "system", pols, 0) : NULL;
    json_decref(pols);
    if (c != NULL)
        c->system = true;
    return c;
}

void kg_kms_caller_free(kg_kms_caller *c)
{
    if (c == NULL)
        return;
    free(c->display_name);
    json_decref(c->policies);
    free(c);
}

const char *kg_kms_caller_accessor(const kg_kms_caller *c)
{
    return c ? c->accessor : "none";
}

const json_t *kms_caller_policies(const kg_kms_caller *c)
{
    return c->policies;
}

bool kms_caller_is_root(const kg_kms_caller *c)
{
    return c != NULL && c->root;
}

json_t *kg_kms_caller_json(const kg_kms_caller *c)
{
    if (c == NULL)
        return NULL;
    json_t *exp = json_null();
    if (c->expires_at != 0) {
        char ts[21];
        kg_time_rfc3339(ts, c->expires_at);
        exp = json_string(ts);
    }
    return json_pack("{s:s, s:s, s:O, s:o}", "accessor", c->accessor, "display_name",
                     c->display_name, "policies", c->policies, "expires_at", exp);
}

/* ----------------------------------------------------------- store helpers */

static void token_hash_hex(char out[static HASH_HEX], const char *token)
{
    uint8_t h[KG_SHA256_BYTES];
    kg_crypto_sha256(h, (const uint8_t *)token, strlen(token));
    kg_hex_encode(out, h, sizeof(h));
}

static void key_of(char *out, size_t cap, const char *prefix, const char *id)
{
    snprintf(out, cap, "%s%s", prefix, id);
}

static bool accessor_valid(const char *a)
{
    if (a == NULL || strlen(a) != ACCESSOR_LEN || a[0] != 'a' || a[1] != '-')
        return false;
    for (size_t i = 2; i < ACCESSOR_LEN; i++) {
        if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f')))
            return false;
    }
    return true;
}

/* Resolve an accessor to its token hash and record. KG_ERR_NOT_FOUND when
 * the accessor is unknown (revoked or purged). */
static kg_err record_by_accessor(kg_kms *kms, kg_store_txn *txn, json_t **rec,
                                 char hash[static HASH_HEX], const char *accessor)
{
    *rec = NULL;
    char key[64];
    key_of(key, sizeof(key), "accessors/", accessor);
    json_t *m = NULL;
    kg_err e = kg_store_get_json(kms->st, txn, &m, key);
    if (e != KG_OK)
        return e;
    const char *h = json_string_value(json_object_get(m, "token_hash"));
    if (h == NULL || strlen(h) != HASH_HEX - 1) {
        json_decref(m);
        return kg_err_set(KG_ERR_STORE, "accessor record '%s' is damaged", accessor);
    }
    memcpy(hash, h, HASH_HEX);
    json_decref(m);
    char tkey[96];
    key_of(tkey, sizeof(tkey), "tokens/", hash);
    return kg_store_get_json(kms->st, txn, rec, tkey);
}

static int64_t rec_int(const json_t *rec, const char *f)
{
    return (int64_t)json_integer_value(json_object_get(rec, f));
}

static bool rec_is_tombstone(const json_t *rec)
{
    return json_object_get(rec, "revoked_at") != NULL;
}

static bool rec_expired(const json_t *rec, int64_t now)
{
    int64_t exp = rec_int(rec, "expires_at");
    return exp != 0 && now >= exp;
}

/* Delete an expired record and its accessor (best effort, own transaction). */
static void purge_record(kg_kms *kms, const char *hash, const json_t *rec)
{
    kg_store_txn *txn = NULL;
    if (kg_store_txn_begin(kms->st, &txn) != KG_OK)
        return;
    char key[96];
    key_of(key, sizeof(key), "tokens/", hash);
    kg_err e = kg_store_delete(kms->st, txn, key);
    const char *acc = json_string_value(json_object_get(rec, "accessor"));
    if (e == KG_OK && acc != NULL && !rec_is_tombstone(rec)) {
        key_of(key, sizeof(key), "accessors/", acc);
        e = kg_store_delete(kms->st, txn, key);
        if (e == KG_ERR_NOT_FOUND)
            e = KG_OK;
    }
    if (e != KG_OK || kg_store_txn_commit(txn) != KG_OK)
        kg_store_txn_rollback(txn);
}

/* The public view of a record (never the token or its hash). */
static json_t *render_record(const json_t *rec)
{
    json_t *o = json_deep_copy(rec);
    if (o == NULL)
        return NULL;
    const char *tf[] = { "created_at", "expires_at" };
    for (size_t i = 0; i < 2; i++) {
        int64_t t = rec_int(rec, tf[i]);
        char ts[21];
        kg_time_rfc3339(ts, t);
        json_object_set_new(o, tf[i], t != 0 ? json_string(ts) : json_null());
    }
    return o;
}

/* ------------------------------------------------------------ authenticate */

static bool token_format_ok(const char *t)
{
    if (strlen(t) != TOKEN_LEN || strncmp(t, TOKEN_PREFIX, 3) != 0)
        return false;
    for (size_t i = 3; i < TOKEN_LEN; i++) {
        char c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static kg_err check_live(kg_kms *kms, const char *hash, const json_t *rec, const char *what)
{
    int64_t now = kg_now();
    char ts[21];
    if (rec_is_tombstone(rec)) {
        if (rec_expired(rec, now))
            purge_record(kms, hash, rec);
        kg_time_rfc3339(ts, rec_int(rec, "revoked_at"));
        return kg_err_set(KG_ERR_UNAUTHENTICATED, "%s was revoked at %s; ask for a new token", what, ts);
    }
    if (rec_expired(rec, now)) {
        purge_record(kms, hash, rec);
        kg_time_rfc3339(ts, rec_int(rec, "expires_at"));
        return kg_err_set(KG_ERR_UNAUTHENTICATED,
                          "%s expired at %s; create a new one (renew tokens before they expire)", what, ts);
    }
    return KG_OK;
}

kg_err kg_kms_token_authenticate(kg_kms *kms, kg_kms_caller **out, const char *token)
{
    KG_ARG_CHECK(kms != NULL && out != NULL);
    *out = NULL;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *rec = NULL;
    char hash[HASH_HEX];
    if (token == NULL || token[0] == '\0') {
        e = kg_err_set(KG_ERR_UNAUTHENTICATED,
                       "no token given; send it as \"Authorization: Bearer kg.…\" or set KASHGUARD_TOKEN");
        goto out;
    }
    if (!token_format_ok(token)) {
        e = kg_err_set(KG_ERR_UNAUTHENTICATED,
                       "the token is malformed (expected \"kg.\" followed by 43 base64url characters)");
        goto out;
    }
    token_hash_hex(hash, token);
    char key[96];
    key_of(key, sizeof(key), "tokens/", hash);
    e = kg_store_get_json(kms->st, NULL, &rec, key);
    if (e == KG_ERR_NOT_FOUND) {
        e = kg_err_set(KG_ERR_UNAUTHENTICATED, "unknown token; check that it was copied whole");
        goto out;
    }
    if (e != KG_OK || (e = check_live(kms, hash, rec, "the token")) != KG_OK)
        goto out;
    *out = caller_new(json_string_value(json_object_get(rec, "accessor")),
                      json_string_value(json_object_get(rec, "display_name")),
                      json_object_get(rec, "policies"), rec_int(rec, "expires_at"));
    if (*out == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory building the caller");
out:
    json_decref(rec);
    kms_unlock(kms);
    return e;
}

/* ------------------------------------------------------------------ create */

typedef struct {
    json_t *policies;
    const char *display_name;
    int64_t ttl, explicit_max_ttl;
    bool renewable;
} token_req;

static kg_err parse_duration_field(int64_t *out, const json_t *req, const char *field)
{
    json_t *v = json_object_get(req, field);
    if (v == NULL || json_is_null(v))
        return KG_OK;
    if (json_is_integer(v))
        *out = (int64_t)json_integer_value(v);
    else if (json_is_string(v)) {
        if (kg_duration_parse(out, json_string_value(v)) != KG_OK) {
            char why[256];
            snprintf(why, sizeof(why), "%s", kg_err_detail(KG_ERR_BAD_INPUT));
            return kg_err_set(KG_ERR_BAD_INPUT, "field '%s': %s", field, why);
        }
    } else
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%s' must be a duration like \"24h\" or seconds", field);
    if (*out < 0 || *out > MAX_TTL)
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%s' must be between 0 and 3650d", field);
    return KG_OK;
}

static kg_err parse_policies(json_t **out, const json_t *req, const kg_kms_caller *who)
{
    json_t *p = json_object_get(req, "policies");
    if (p == NULL || json_is_null(p)) {
        *out = json_deep_copy(who->policies);
        return KG_OK;
    }
    if (!json_is_array(p) || json_array_size(p) > 64)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'policies' must be an array of at most 64 policy names");
    json_t *arr = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(p, i, v) {
        const char *n = json_string_value(v);
        if (n == NULL || strlen(n) != json_string_length(v) || !kms_policy_name_valid(n)) {
            json_decref(arr);
            return kg_err_set(KG_ERR_BAD_INPUT,
                              "policies[%zu] is not a valid policy name (1 to 64 of a-z, 0-9, '_', '-')", i);
        }
        bool dup = false;
        size_t j;
        json_t *w;
        json_array_foreach(arr, j, w) dup = dup || strcmp(json_string_value(w), n) == 0;
        if (!dup)
            json_array_append(arr, v);
    }
    *out = arr;
    return KG_OK;
}

static kg_err parse_token_req(token_req *r, const json_t *req, const kg_kms_caller *who)
{
    static const char *const allowed[] = { "policies", "ttl", "display_name", "renewable",
                                           "explicit_max_ttl", NULL };
    memset(r, 0, sizeof(*r));
    r->ttl = DEFAULT_TTL;
    r->renewable = true;
    r->display_name = "token";
    if (req != NULL && !json_is_object(req))
        return kg_err_set(KG_ERR_BAD_INPUT, "the token request must be a JSON object");
    json_t *empty = json_object();
    const json_t *q = req ? req : empty;
    kg_err e = kg_json_check_fields(q, allowed);
    if (e == KG_OK)
        e = kg_json_get_str(&r->display_name, q, "display_name", false);
    if (e == KG_OK && (strlen(r->display_name) > DISPLAY_MAX || r->display_name[0] == '\0'))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'display_name' must be 1 to %d characters", DISPLAY_MAX);
    if (e == KG_OK)
        e = kg_json_get_bool(&r->renewable, q, "renewable", false);
    if (e == KG_OK)
        e = parse_duration_field(&r->ttl, q, "ttl");
    if (e == KG_OK && r->ttl == 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'ttl' must be at least 1s (only the root token never expires)");
    if (e == KG_OK)
        e = parse_duration_field(&r->explicit_max_ttl, q, "explicit_max_ttl");
    if (e == KG_OK)
        e = parse_policies(&r->policies, q, who);
    json_decref(empty);
    if (e == KG_OK && r->explicit_max_ttl > 0 && r->ttl > r->explicit_max_ttl)
        r->ttl = r->explicit_max_ttl;
    return e;
}

/* The child-policy rule (see the file comment). */
static kg_err check_child_policies(kg_kms *kms, const kg_kms_caller *who, const json_t *pols)
{
    if (who->root)
        return KG_OK;
    if (policies_have_root(pols))
        return kg_err_set(KG_ERR_DENIED, "token %s is not root and cannot create a token with policy 'root'",
                          who->accessor);
    if (kg_kms_authorize(kms, who, "manage-tokens", NULL) == KG_OK)
        return KG_OK;
    size_t i;
    json_t *v;
    json_array_foreach(pols, i, v) {
        bool has = false;
        size_t j;
        json_t *w;
        json_array_foreach(who->policies, j, w) has = has || json_equal(v, w);
        if (!has)
            return kg_err_set(KG_ERR_DENIED,
                              "token %s cannot create a token with policy '%s': a child token may carry only "
                              "its parent's policies unless the parent may \"manage-tokens\"",
                              who->accessor, json_string_value(v));
    }
    return KG_OK;
}

/* Fresh token, its hash and accessor. */
static kg_err token_generate(char token[static TOKEN_LEN + 1], char hash[static HASH_HEX],
                             char accessor[static ACCESSOR_LEN + 1])
{
    uint8_t raw[32], acc[12];
    kg_err e = kg_crypto_random(raw, sizeof(raw));
    if (e == KG_OK)
        e = kg_crypto_random(acc, sizeof(acc));
    if (e == KG_OK) {
        memcpy(token, TOKEN_PREFIX, 3);
        sodium_bin2base64(token + 3, TOKEN_B64_LEN + 1, raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        token_hash_hex(hash, token);
        memcpy(accessor, "a-", 2);
        kg_hex_encode(accessor + 2, acc, sizeof(acc));
    }
    kg_wipe(raw, sizeof(raw));
    return e;
}

/* Store record + accessor mapping in txn; *token receives the token. */
static kg_err token_store(kg_kms *kms, kg_store_txn *txn, json_t *rec,
                          char token[static TOKEN_LEN + 1])
{
    char hash[HASH_HEX], accessor[ACCESSOR_LEN + 1], key[96];
    kg_err e = token_generate(token, hash, accessor);
    if (e != KG_OK)
        return e;
    json_object_set_new(rec, "accessor", json_string(accessor));
    key_of(key, sizeof(key), "tokens/", hash);
    e = kg_store_create_json(kms->st, txn, key, rec);
    if (e == KG_OK) {
        json_t *m = json_pack("{s:s}", "token_hash", hash);
        key_of(key, sizeof(key), "accessors/", accessor);
        e = kg_store_create_json(kms->st, txn, key, m);
        json_decref(m);
    }
    return e;
}

static json_t *new_record(const json_t *pols, const char *display, int64_t now, int64_t expires,
                          int64_t ttl, int64_t max_ttl, bool renewable, const char *parent)
{
    return json_pack("{s:O, s:s, s:I, s:I, s:I, s:I, s:b, s:o}", "policies", pols,
                     "display_name", display, "created_at", (json_int_t)now,
                     "expires_at", (json_int_t)expires, "ttl", (json_int_t)ttl,
                     "explicit_max_ttl", (json_int_t)max_ttl, "renewable", renewable,
                     "parent", parent ? json_string(parent) : json_null());
}

kg_err kms_token_create_root(kg_kms *kms, kg_store_txn *txn, char **token)
{
    KG_ARG_CHECK(kms != NULL && txn != NULL && token != NULL);
    *token = NULL;
    json_t *pols = json_pack("[s]", "root");
    json_t *rec = new_record(pols, "root", kg_now(), 0, 0, 0, false, NULL);
    json_decref(pols);
    char t[TOKEN_LEN + 1];
    kg_err e = rec ? token_store(kms, txn, rec, t) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(rec);
    if (e == KG_OK && (*token = strdup(t)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_wipe(t, sizeof(t));
    return e;
}

/* Inside the creating transaction: the parent must not have been revoked
 * since it authenticated, or the child would escape the revocation cascade
 * (the store serialises write transactions, so this check is final). */
static kg_err parent_still_live(kg_kms *kms, kg_store_txn *txn, const kg_kms_caller *who)
{
    if (who->system)
        return KG_OK;
    char key[64];
    kg_bytes v = { 0 };
    key_of(key, sizeof(key), "accessors/", who->accessor);
    kg_err e = kg_store_get(kms->st, txn, &v, key);
    kg_bytes_free(&v);
    if (e == KG_ERR_NOT_FOUND)
        return kg_err_set(KG_ERR_UNAUTHENTICATED, "token %s was revoked; it can no longer create tokens",
                          who->accessor);
    return e;
}

static kg_err commit_or_rollback(kg_store_txn *txn, kg_err e)
{
    if (e == KG_OK)
        e = kg_store_txn_commit(txn);
    if (e != KG_OK)
        kg_store_txn_rollback(txn);
    return e;
}

kg_err kg_kms_token_create(kg_kms *kms, const kg_kms_caller *who, json_t **out, const json_t *req)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    token_req r;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *rec = NULL;
    kg_store_txn *txn = NULL;
    char token[TOKEN_LEN + 1] = "";
    if ((e = parse_token_req(&r, req, who)) != KG_OK || (e = check_child_policies(kms, who, r.policies)) != KG_OK)
        goto out;
    int64_t now = kg_now(), exp = now + r.ttl;
    if (who->expires_at != 0 && exp > who->expires_at)
        exp = who->expires_at; /* never outlive the parent */
    rec = new_record(r.policies, r.display_name, now, exp, r.ttl, r.explicit_max_ttl, r.renewable,
                     who->system ? NULL : who->accessor);
    if (rec == NULL) {
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((e = kg_store_txn_begin(kms->st, &txn)) != KG_OK)
        goto out;
    e = parent_still_live(kms, txn, who);
    e = commit_or_rollback(txn, e == KG_OK ? token_store(kms, txn, rec, token) : e);
    if (e == KG_OK && (*out = render_record(rec)) != NULL)
        json_object_set_new(*out, "token", json_string(token));
out:
    kg_wipe(token, sizeof(token));
    json_decref(rec);
    json_decref(r.policies);
    kms_unlock(kms);
    return e;
}

/* ------------------------------------------------ lookup / renew / revoke */

/* May `who` act on the token `rec` (its own, a descendant's, or any with
 * manage-tokens)? */
static kg_err may_manage(kg_kms *kms, const kg_kms_caller *who, const json_t *rec, const char *verb)
{
    const char *acc = json_string_value(json_object_get(rec, "accessor"));
    if (acc != NULL && strcmp(acc, who->accessor) == 0)
        return KG_OK;
    if (kg_kms_authorize(kms, who, "manage-tokens", NULL) == KG_OK)
        return KG_OK;
    const char *p = json_string_value(json_object_get(rec, "parent"));
    char cur[ACCESSOR_LEN + 1];
    snprintf(cur, sizeof(cur), "%s", p ? p : "");
    for (int depth = 0; cur[0] != '\0' && depth < ANCESTOR_DEPTH_MAX; depth++) {
        if (strcmp(cur, who->accessor) == 0)
            return KG_OK;
        json_t *prec = NULL;
        char h[HASH_HEX];
        if (!accessor_valid(cur) || record_by_accessor(kms, NULL, &prec, h, cur) != KG_OK)
            break;
        p = json_string_value(json_object_get(prec, "parent"));
        snprintf(cur, sizeof(cur), "%s", p ? p : "");
        json_decref(prec);
    }
    return kg_err_set(KG_ERR_DENIED,
                      "token %s may %s only itself and the tokens it created; the \"manage-tokens\" "
                      "action allows any token", who->accessor, verb);
}

/* Load the target (accessor, or the caller's own when NULL) and check access. */
static kg_err load_target(kg_kms *kms, const kg_kms_caller *who, json_t **rec,
                          char hash[static HASH_HEX], const char *accessor, const char *verb)
{
    *rec = NULL;
    if (accessor == NULL) {
        if (who->system)
            return kg_err_set(KG_ERR_BAD_INPUT, "the system caller has no token; name one by accessor");
        accessor = who->accessor;
    }
    if (!accessor_valid(accessor))
        return kg_err_set(KG_ERR_BAD_INPUT, "'%.40s' is not a token accessor (\"a-\" and 24 hex digits)",
                          accessor);
    kg_err e = record_by_accessor(kms, NULL, rec, hash, accessor);
    if (e == KG_OK && (rec_is_tombstone(*rec) || rec_expired(*rec, kg_now()))) {
        (void)check_live(kms, hash, *rec, "token"); /* purges when expired */
        e = KG_ERR_NOT_FOUND;
    }
    if (e == KG_ERR_NOT_FOUND) {
        json_decref(*rec);
        *rec = NULL;
        if (kg_kms_authorize(kms, who, "manage-tokens", NULL) != KG_OK)
            return kg_err_set(KG_ERR_DENIED, "token %s may %s only itself and the tokens it created",
                              who->accessor, verb);
        return kg_err_set(KG_ERR_NOT_FOUND, "no live token with accessor %s (expired or revoked)", accessor);
    }
    if (e == KG_OK && (e = may_manage(kms, who, *rec, verb)) != KG_OK) {
        json_decref(*rec);
        *rec = NULL;
    }
    return e;
}

kg_err kg_kms_token_lookup(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *accessor)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *rec = NULL;
    char hash[HASH_HEX];
    if ((e = load_target(kms, who, &rec, hash, accessor, "look up")) == KG_OK &&
        (*out = render_record(rec)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(rec);
    kms_unlock(kms);
    return e;
}

/* New expiry for a renewal (see kg_kms_token_renew). */
static kg_err renew_expiry(kg_kms *kms, int64_t *exp, const json_t *rec, int64_t increment)
{
    int64_t now = kg_now();
    int64_t inc = increment > 0 ? increment : rec_int(rec, "ttl");
    int64_t cur = rec_int(rec, "expires_at"), max_ttl = rec_int(rec, "explicit_max_ttl");
    int64_t t = now + inc;
    if (max_ttl > 0 && t > rec_int(rec, "created_at") + max_ttl)
        t = rec_int(rec, "created_at") + max_ttl;
    const char *parent = json_string_value(json_object_get(rec, "parent"));
    if (parent != NULL) {
        json_t *prec = NULL;
        char h[HASH_HEX];
        kg_err e = accessor_valid(parent) ? record_by_accessor(kms, NULL, &prec, h, parent) : KG_ERR_NOT_FOUND;
        if (e == KG_OK && rec_is_tombstone(prec))
            e = KG_ERR_NOT_FOUND;
        int64_t pexp = e == KG_OK ? rec_int(prec, "expires_at") : 0;
        json_decref(prec);
        if (e == KG_ERR_NOT_FOUND)
            return kg_err_set(KG_ERR_CONFLICT, "the token's parent %s no longer exists; it cannot be renewed", parent);
        if (e != KG_OK)
            return e;
        if (pexp != 0 && t > pexp)
            t = pexp;
    }
    *exp = t > cur ? t : cur; /* renewing never shortens a token */
    return KG_OK;
}

kg_err kg_kms_token_renew(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                          const char *accessor, int64_t increment)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    if (increment < 0 || increment > MAX_TTL)
        return kg_err_set(KG_ERR_BAD_INPUT, "the renewal increment must be between 0 and 3650d");
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *rec = NULL;
    char hash[HASH_HEX], key[96];
    kg_store_txn *txn = NULL;
    if ((e = load_target(kms, who, &rec, hash, accessor, "renew")) != KG_OK)
        goto out;
    if (rec_int(rec, "expires_at") != 0) {
        int64_t exp = 0;
        if (!json_is_true(json_object_get(rec, "renewable"))) {
            e = kg_err_set(KG_ERR_BAD_INPUT, "token %s was created with \"renewable\": false and cannot be renewed",
                           json_string_value(json_object_get(rec, "accessor")));
            goto out;
        }
        if ((e = renew_expiry(kms, &exp, rec, increment)) != KG_OK || (e = kg_store_txn_begin(kms->st, &txn)) != KG_OK)
            goto out;
        /* Re-read inside the transaction: a revocation that landed since
         * must not be undone by writing the old live record back. */
        key_of(key, sizeof(key), "tokens/", hash);
        json_decref(rec);
        rec = NULL;
        e = kg_store_get_json(kms->st, txn, &rec, key);
        if (e == KG_OK && rec_is_tombstone(rec))
            e = kg_err_set(KG_ERR_NOT_FOUND, "the token was revoked while it was being renewed");
        if (e == KG_OK)
            json_object_set_new(rec, "expires_at", json_integer((json_int_t)exp));
        if ((e = commit_or_rollback(txn, e == KG_OK ? kg_store_put_json(kms->st, txn, key, rec) : e)) != KG_OK)
            goto out;
    }
    if ((*out = render_record(rec)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
out:
    json_decref(rec);
    kms_unlock(kms);
    return e;
}

/* All live records: [hash, accessor, parent] triples for the cascade. */
static int collect_tokens(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    json_t *rec = json_loadb((const char *)val, val_len, 0, NULL);
    if (rec != NULL && !rec_is_tombstone(rec)) {
        json_t *parent = json_object_get(rec, "parent");
        json_array_append_new((json_t *)arg, json_pack("[s, O, O]", key + strlen("tokens/"),
                              json_object_get(rec, "accessor"), parent ? parent : json_null()));
    }
    json_decref(rec);
    return 0;
}

/* Replace one record by its tombstone and drop its accessor, in txn. */
static kg_err tombstone(kg_kms *kms, kg_store_txn *txn, const char *hash, const char *accessor, int64_t now)
{
    char key[96];
    key_of(key, sizeof(key), "tokens/", hash);
    json_t *old = NULL;
    kg_err e = kg_store_get_json(kms->st, txn, &old, key);
    if (e != KG_OK)
        return e;
    json_t *t = json_pack("{s:s, s:I, s:I}", "accessor", accessor, "revoked_at", (json_int_t)now,
                          "expires_at", (json_int_t)rec_int(old, "expires_at"));
    json_decref(old);
    e = kg_store_put_json(kms->st, txn, key, t);
    json_decref(t);
    key_of(key, sizeof(key), "accessors/", accessor);
    if (e == KG_OK && (e = kg_store_delete(kms->st, txn, key)) == KG_ERR_NOT_FOUND)
        e = KG_OK;
    return e;
}

/* Revoke `root_acc` and every descendant inside txn: a breadth-first walk
 * over the parent links of all live records, done in memory. */
static kg_err revoke_tree(kg_kms *kms, kg_store_txn *txn, const char *root_hash, const char *root_acc)
{
    json_t *all = json_array();
    kg_err e = kg_store_list(kms->st, txn, "tokens/", NULL, 0, collect_tokens, all);
    json_t *queue = json_pack("[[s, s]]", root_hash, root_acc);
    int64_t now = kg_now();
    for (size_t qi = 0; e == KG_OK && qi < json_array_size(queue); qi++) {
        json_t *item = json_array_get(queue, qi);
        const char *acc = json_string_value(json_array_get(item, 1));
        e = tombstone(kms, txn, json_string_value(json_array_get(item, 0)), acc, now);
        size_t i;
        json_t *t;
        json_array_foreach(all, i, t) {
            const char *p = json_string_value(json_array_get(t, 2));
            if (p != NULL && strcmp(p, acc) == 0)
                json_array_append_new(queue, json_pack("[O, O]", json_array_get(t, 0), json_array_get(t, 1)));
        }
    }
    json_decref(all);
    json_decref(queue);
    return e;
}

kg_err kg_kms_token_revoke(kg_kms *kms, const kg_kms_caller *who, const char *accessor)
{
    KG_ARG_CHECK(kms != NULL && who != NULL);
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *rec = NULL;
    char hash[HASH_HEX];
    kg_store_txn *txn = NULL;
    if ((e = load_target(kms, who, &rec, hash, accessor, "revoke")) == KG_OK &&
        (e = kg_store_txn_begin(kms->st, &txn)) == KG_OK)
        e = commit_or_rollback(txn, revoke_tree(kms, txn, hash,
                                                json_string_value(json_object_get(rec, "accessor"))));
    json_decref(rec);
    kms_unlock(kms);
    return e;
}
