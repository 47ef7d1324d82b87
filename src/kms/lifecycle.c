/* Key lifecycle: rotate, enable, disable, schedule and cancel deletion,
 * update, and the periodic tick that rotates due keys and destroys keys
 * whose deletion date has passed.
 *
 * States (as in AWS KMS):
 *   enabled  --disable-->  disabled  --enable--> enabled
 *   enabled|disabled --schedule-deletion--> pending_deletion (unusable at once)
 *   pending_deletion --cancel-deletion--> disabled (the owner re-enables on purpose)
 *   pending_deletion --tick after deletion_date--> destroyed
 * A destroyed key keeps its metadata (so old ciphertexts get a clear
 * "destroyed" error), but every version row with its material is deleted
 * and its alias is released.
 *
 * The tick also deletes expired BYOK import tokens (import/<token>).
 *
 * Every change is read-modify-write of the metadata row inside one store
 * transaction (with the alias and version rows it touches), re-reading the
 * row inside the transaction so concurrent changes from other nodes are not
 * lost. Authorization runs before the transaction opens, since it reads
 * policies from the store itself. Slow work (key generation) also happens
 * before the transaction. */
#include "kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef kg_err (*apply_fn)(kg_kms *kms, kg_store_txn *txn, json_t *meta, const void *arg);

static const char *state_of(const json_t *meta)
{
    const char *s = json_string_value(json_object_get(meta, "state"));
    return s ? s : "";
}

static kg_err put_meta(kg_kms *kms, kg_store_txn *txn, const json_t *meta)
{
    char skey[64];
    snprintf(skey, sizeof(skey), "keys/%s", json_string_value(json_object_get(meta, "key_id")));
    return kg_store_put_json(kms->st, txn, skey, meta);
}

/* Apply fn to the key's metadata in one transaction. Caller holds the read
 * lock; id is the resolved key id. *out (optional) = the new public form. */
static kg_err change_in_txn(kg_kms *kms, json_t **out, const char *id, apply_fn fn, const void *arg)
{
    kg_store_txn *txn = NULL;
    json_t *meta = NULL;
    kg_err e = kg_store_txn_begin(kms->st, &txn);
    if (e == KG_OK)
        e = kms_key_resolve(kms, txn, &meta, id);
    if (e == KG_OK)
        e = fn(kms, txn, meta, arg);
    if (e == KG_OK)
        e = put_meta(kms, txn, meta);
    if (e == KG_OK)
        e = kg_store_txn_commit(txn);
    if (e != KG_OK && txn != NULL)
        kg_store_txn_rollback(txn);
    if (e == KG_OK && out != NULL && (*out = kms_key_public(meta)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(meta);
    return e;
}

static kg_err change_key(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref,
                         const char *action, apply_fn fn, const void *arg)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    json_t *meta = NULL;
    kg_err e = kms_key_begin(kms, who, &meta, ref, action);
    if (e != KG_OK)
        return e;
    e = change_in_txn(kms, out, json_string_value(json_object_get(meta, "key_id")), fn, arg);
    kms_unlock(kms);
    json_decref(meta);
    return e;
}

/* ---------------------------------------------------------------- rotate */

/* A new version made before the transaction: software material, or a key
 * generated in the HSM group (HSM-protected keys). */
typedef struct {
    kg_secret *material;
    kms_hsm_version hsm;
} new_version;

static kg_err new_version_make(kg_kms *kms, new_version *nv, const json_t *meta)
{
    memset(nv, 0, sizeof(*nv));
    if (!kms_key_is_hsm(meta))
        return kms_key_gen_material(&nv->material, kms_key_spec_of(meta));
    unsigned next = (unsigned)json_integer_value(json_object_get(meta, "current_version")) + 1;
    return kms_hsm_version_new(kms, &nv->hsm, kms_key_spec_of(meta), kms_key_hsm_group(meta),
                               json_string_value(json_object_get(meta, "key_id")), next);
}

/* recorded: the store holds the version now (else an HSM key is destroyed again). */
static void new_version_free(kg_kms *kms, new_version *nv, bool recorded)
{
    kg_secret_free(nv->material);
    nv->material = NULL;
    kms_hsm_version_drop(kms, &nv->hsm, !recorded);
}

static kg_err add_new_version(kg_kms *kms, kg_store_txn *txn, json_t *meta, const new_version *nv)
{
    if (kms_key_is_hsm(meta) != nv->hsm.made)
        return KG_ERR_CONFLICT; /* changed since the version was made */
    return nv->hsm.made ? kms_key_add_hsm_version(kms, txn, meta, &nv->hsm)
                        : kms_key_add_version(kms, txn, meta, nv->material);
}

static kg_err apply_rotate(kg_kms *kms, kg_store_txn *txn, json_t *meta, const void *arg)
{
    kg_err e = kms_key_usable(meta);
    if (e != KG_OK)
        return e;
    e = add_new_version(kms, txn, meta, arg);
    if (e == KG_ERR_CONFLICT)
        e = kg_err_set(KG_ERR_CONFLICT, "key '%s' was rotated by another request at the same "
                       "time; try again", kms_key_name(meta));
    return e;
}

static kg_err check_rotatable(const json_t *meta)
{
    const char *origin = json_string_value(json_object_get(meta, "origin"));
    if (origin != NULL && strcmp(origin, "generated") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "key '%s' holds imported material and cannot be rotated "
                          "by the KMS; import the new material as a new key", kms_key_name(meta));
    return kms_key_usable(meta);
}

kg_err kg_kms_key_rotate(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    json_t *meta = NULL;
    kg_err e = kms_key_begin(kms, who, &meta, ref, "rotate");
    if (e != KG_OK)
        return e;
    new_version nv;
    memset(&nv, 0, sizeof(nv));
    e = check_rotatable(meta);
    if (e == KG_OK)
        e = new_version_make(kms, &nv, meta);
    if (e == KG_OK)
        e = change_in_txn(kms, out, json_string_value(json_object_get(meta, "key_id")),
                          apply_rotate, &nv);
    kms_unlock(kms);
    new_version_free(kms, &nv, e == KG_OK);
    json_decref(meta);
    return e;
}

/* -------------------------------------------------------- enable/disable */

/* Errors for a change that only makes sense before deletion. */
static kg_err not_deleting(const json_t *meta, const char *what)
{
    const char *st = state_of(meta);
    if (strcmp(st, "pending_deletion") == 0)
        return kg_err_set(KG_ERR_KEY_PENDING_DELETION, "key '%s' is scheduled for deletion; cancel "
                          "that first with `kashguard key cancel-deletion %s`, then %s it",
                          kms_key_name(meta), kms_key_name(meta), what);
    if (strcmp(st, "destroyed") == 0)
        return kg_err_set(KG_ERR_KEY_DESTROYED, "the material of key '%s' was destroyed; it "
                          "cannot be changed any more", kms_key_name(meta));
    return KG_OK;
}

static kg_err apply_state(kg_kms *kms, kg_store_txn *txn, json_t *meta, const void *arg)
{
    const char *target = arg;
    kg_err e = not_deleting(meta, strcmp(target, "enabled") == 0 ? "enable" : "disable");
    if (e != KG_OK)
        return e;
    if (json_object_set_new(meta, "state", json_string(target)) != 0)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    return KG_OK;
}

kg_err kg_kms_key_enable(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref)
{
    return change_key(kms, who, out, ref, "enable", apply_state, "enabled");
}

kg_err kg_kms_key_disable(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref)
{
    return change_key(kms, who, out, ref, "disable", apply_state, "disabled");
}

/* -------------------------------------------------------------- deletion */

static kg_err apply_schedule(kg_kms *kms, kg_store_txn *txn, json_t *meta, const void *arg)
{
    kg_err e = not_deleting(meta, "schedule");
    if (e != KG_OK)
        return e;
    int64_t when = kg_now() + *(const int64_t *)arg;
    char buf[21];
    kg_time_rfc3339(buf, when);
    if (json_object_set_new(meta, "state", json_string("pending_deletion")) != 0 ||
        json_object_set_new(meta, "deletion_date", json_string(buf)) != 0 ||
        json_object_set_new(meta, "_deletion_time", json_integer(when)) != 0)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    return KG_OK;
}

static kg_err parse_wait(const kg_kms *kms, int64_t *wait, const json_t *req)
{
    static const char *const allowed[] = { "waiting_period", NULL };
    const char *s = NULL;
    *wait = kms->cfg.default_deletion_wait;
    kg_err e = req ? kg_json_check_fields(req, allowed) : KG_OK;
    if (e == KG_OK && req != NULL)
        e = kg_json_get_str(&s, req, "waiting_period", false);
    if (e == KG_OK && s != NULL && kg_duration_parse(wait, s) != KG_OK)
        e = kg_err_set(KG_ERR_BAD_INPUT, "waiting_period: %s", kg_err_detail(KG_ERR_BAD_INPUT));
    if (e != KG_OK)
        return e;
    if (*wait < kms->cfg.min_deletion_wait)
        return kg_err_set(KG_ERR_BAD_INPUT, "waiting_period must be at least %lld seconds (%lld days) "
                          "on this server; deleting a key cannot be undone",
                          (long long)kms->cfg.min_deletion_wait,
                          (long long)(kms->cfg.min_deletion_wait / 86400));
    if (*wait > 3650LL * 86400)
        return kg_err_set(KG_ERR_BAD_INPUT, "waiting_period must be at most 3650d");
    return KG_OK;
}

kg_err kg_kms_key_schedule_deletion(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                                    const char *ref, const json_t *req)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    int64_t wait = 0;
    kg_err e = parse_wait(kms, &wait, req);
    if (e != KG_OK)
        return e;
    return change_key(kms, who, out, ref, "schedule-deletion", apply_schedule, &wait);
}

static kg_err apply_cancel(kg_kms *kms, kg_store_txn *txn, json_t *meta, const void *arg)
{
    const char *st = state_of(meta);
    if (strcmp(st, "destroyed") == 0)
        return kg_err_set(KG_ERR_KEY_DESTROYED, "the material of key '%s' was already destroyed",
                          kms_key_name(meta));
    if (strcmp(st, "pending_deletion") != 0)
        return kg_err_set(KG_ERR_CONFLICT, "key '%s' is not scheduled for deletion", kms_key_name(meta));
    if (json_object_set_new(meta, "state", json_string("disabled")) != 0 ||
        json_object_set_new(meta, "deletion_date", json_null()) != 0 ||
        json_object_set_new(meta, "_deletion_time", json_integer(0)) != 0)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    return KG_OK;
}

kg_err kg_kms_key_cancel_deletion(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref)
{
    return change_key(kms, who, out, ref, "cancel-deletion", apply_cancel, NULL);
}

/* ---------------------------------------------------------------- update */

typedef struct {
    const char *alias, *description;
    bool has_rotation;
    int64_t rotation;
} update_req;

static kg_err parse_update(update_req *u, const json_t *req)
{
    static const char *const allowed[] = { "alias", "description", "rotation_period", NULL };
    const char *rot = NULL;
    memset(u, 0, sizeof(*u));
    kg_err e = kg_json_check_fields(req, allowed);
    if (e == KG_OK)
        e = kg_json_get_str(&u->alias, req, "alias", false);
    if (e == KG_OK)
        e = kg_json_get_str(&u->description, req, "description", false);
    if (e == KG_OK)
        e = kg_json_get_str(&rot, req, "rotation_period", false);
    if (e == KG_OK && u->alias != NULL)
        e = kms_alias_check(u->alias);
    if (e == KG_OK)
        e = kms_check_description(u->description);
    if (e == KG_OK && rot != NULL) {
        u->has_rotation = true;
        e = kms_parse_rotation(&u->rotation, rot);
    }
    if (e == KG_OK && u->alias == NULL && u->description == NULL && !u->has_rotation)
        e = kg_err_set(KG_ERR_BAD_INPUT, "nothing to update: give alias, description or "
                       "rotation_period (\"0\" turns automatic rotation off)");
    return e;
}

static kg_err move_alias(kg_kms *kms, kg_store_txn *txn, json_t *meta, const char *alias)
{
    const char *old = json_string_value(json_object_get(meta, "alias"));
    if (old != NULL && strcmp(old, alias) == 0)
        return KG_OK;
    char skey[96];
    snprintf(skey, sizeof(skey), "aliases/%s", alias);
    json_t *row = json_pack("{s:O}", "key_id", json_object_get(meta, "key_id"));
    kg_err e = row ? kg_store_create_json(kms->st, txn, skey, row) : KG_ERR_NOMEM;
    json_decref(row);
    if (e == KG_ERR_CONFLICT)
        return kg_err_set(KG_ERR_CONFLICT, "alias '%s' is already used by another key; choose "
                          "another alias", alias);
    if (e == KG_OK && old != NULL) {
        snprintf(skey, sizeof(skey), "aliases/%s", old);
        e = kg_store_delete(kms->st, txn, skey);
        if (e == KG_ERR_NOT_FOUND)
            e = KG_OK;
    }
    if (e == KG_OK && json_object_set_new(meta, "alias", json_string(alias)) != 0)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    return e;
}

static kg_err apply_update(kg_kms *kms, kg_store_txn *txn, json_t *meta, const void *arg)
{
    const update_req *u = arg;
    kg_err e = not_deleting(meta, "update");
    if (e == KG_OK && u->has_rotation && u->rotation > 0) {
        const char *origin = json_string_value(json_object_get(meta, "origin"));
        if (origin != NULL && strcmp(origin, "generated") != 0)
            e = kg_err_set(KG_ERR_BAD_INPUT, "key '%s' holds imported material; automatic "
                           "rotation is only for keys the KMS generated", kms_key_name(meta));
    }
    if (e == KG_OK && u->alias != NULL)
        e = move_alias(kms, txn, meta, u->alias);
    if (e == KG_OK && u->description != NULL &&
        json_object_set_new(meta, "description", json_string(u->description)) != 0)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK && u->has_rotation)
        e = kms_key_rotation_set(meta, u->rotation, kg_now());
    return e;
}

kg_err kg_kms_key_update(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                         const char *ref, const json_t *req)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL && req != NULL);
    *out = NULL;
    update_req u;
    kg_err e = parse_update(&u, req);
    if (e != KG_OK)
        return e;
    return change_key(kms, who, out, ref, "update", apply_update, &u);
}

/* ------------------------------------------------------------------ tick */

typedef struct {
    json_t *rotate;   /* key ids due for rotation */
    json_t *destroy;  /* key ids due for destruction */
    int64_t now;
} due_ctx;

static int collect_due(void *arg, const char *key, const uint8_t *val, size_t len)
{
    due_ctx *c = arg;
    if (strchr(key + 5, '/') != NULL)
        return 0;
    json_t *meta = json_loadb((const char *)val, len, 0, NULL);
    const char *st = state_of(meta);
    json_int_t next = json_integer_value(json_object_get(meta, "_next_rotation"));
    json_int_t del = json_integer_value(json_object_get(meta, "_deletion_time"));
    json_t *id = json_object_get(meta, "key_id");
    if (id != NULL && strcmp(st, "enabled") == 0 && next > 0 && next <= c->now)
        json_array_append(c->rotate, id);
    else if (id != NULL && strcmp(st, "pending_deletion") == 0 && del <= c->now)
        json_array_append(c->destroy, id);
    json_decref(meta);
    return 0;
}

static kg_err apply_tick_rotate(kg_kms *kms, kg_store_txn *txn, json_t *meta, const void *arg)
{
    json_int_t next = json_integer_value(json_object_get(meta, "_next_rotation"));
    if (strcmp(state_of(meta), "enabled") != 0 || next <= 0 || next > kg_now())
        return KG_ERR_CONFLICT; /* changed since the scan: nothing to do */
    return add_new_version(kms, txn, meta, arg);
}

static int collect_rows(void *arg, const char *key, const uint8_t *val, size_t len)
{
    return json_array_append_new(arg, json_string(key)) != 0;
}

static kg_err apply_destroy(kg_kms *kms, kg_store_txn *txn, json_t *meta, const void *arg)
{
    if (strcmp(state_of(meta), "pending_deletion") != 0 ||
        json_integer_value(json_object_get(meta, "_deletion_time")) > kg_now())
        return KG_ERR_CONFLICT; /* cancelled since the scan */
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "keys/%s/v/", json_string_value(json_object_get(meta, "key_id")));
    json_t *rows = json_array();
    kg_err e = rows ? kg_store_list(kms->st, txn, prefix, NULL, 0, collect_rows, rows) : KG_ERR_NOMEM;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (e == KG_OK)
            e = kg_store_delete(kms->st, txn, json_string_value(r));
    }
    json_decref(rows);
    const char *alias = json_string_value(json_object_get(meta, "alias"));
    if (e == KG_OK && alias != NULL) {
        snprintf(prefix, sizeof(prefix), "aliases/%s", alias);
        e = kg_store_delete(kms->st, txn, prefix);
        if (e == KG_ERR_NOT_FOUND)
            e = KG_OK;
    }
    json_array_foreach(json_object_get(meta, "versions"), i, r)
        json_object_set_new(r, "state", json_string("destroyed"));
    if (e == KG_OK && (json_object_set_new(meta, "state", json_string("destroyed")) != 0 ||
                       json_object_set_new(meta, "alias", json_null()) != 0))
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    return e;
}

static void tick_one(kg_kms *kms, const char *id, bool rotate)
{
    json_t *meta = NULL;
    new_version nv;
    memset(&nv, 0, sizeof(nv));
    kg_err e = kms_key_resolve(kms, NULL, &meta, id);
    if (e == KG_OK && rotate)
        e = new_version_make(kms, &nv, meta);
    if (e == KG_OK)
        e = change_in_txn(kms, NULL, id, rotate ? apply_tick_rotate : apply_destroy, &nv);
    new_version_free(kms, &nv, e == KG_OK);
    if (e == KG_OK && !rotate)
        kms_cache_evict_key(kms->cache, id);
    /* The store says "destroyed" now: destroy the HSM objects too (every
     * version up to the current one of the metadata read above). */
    if (e == KG_OK && !rotate && kms_key_is_hsm(meta))
        kms_hsm_destroy_versions(kms, meta);
    json_decref(meta);
    if (e == KG_OK) {
        kg_log(KG_LOG_INFO, rotate ? "key rotated automatically" : "key material destroyed",
               "key_id", id, NULL);
        /* The server's own changes belong in the audit trail as much as a
         * client's: record them as "event" entries. */
        json_t *ev = json_pack("{s:s, s:s, s:s, s:s}", "type", "event",
                               "event", rotate ? "key-rotated" : "key-destroyed",
                               "key_id", id, "by", "system");
        if (ev == NULL || kg_kms_audit_append(kms, ev) != KG_OK)
            kg_log(KG_LOG_ERROR, "could not audit a scheduled key change", "key_id", id, NULL);
        json_decref(ev);
    }
    else if (e != KG_ERR_CONFLICT)
        kg_log(KG_LOG_WARN, rotate ? "automatic rotation failed" : "key destruction failed",
               "key_id", id, "error", kg_err_detail(e), NULL);
}

/* Import tokens past their expiry: their wrapping keys are dead weight. */
static int collect_expired(void *arg, const char *key, const uint8_t *val, size_t len)
{
    due_ctx *c = arg;
    json_t *row = json_loadb((const char *)val, len, 0, NULL);
    if (row != NULL && json_integer_value(json_object_get(row, "expires_at")) < c->now)
        json_array_append_new(c->destroy, json_string(key));
    json_decref(row);
    return 0;
}

static void purge_import_tokens(kg_kms *kms, int64_t now)
{
    due_ctx c = { NULL, json_array(), now };
    if (c.destroy != NULL &&
        kg_store_list(kms->st, NULL, "import/", NULL, 0, collect_expired, &c) == KG_OK) {
        size_t i;
        json_t *k;
        json_array_foreach(c.destroy, i, k) {
            if (kg_store_delete(kms->st, NULL, json_string_value(k)) != KG_OK)
                break; /* not found = another node purged it; retry next tick otherwise */
        }
    }
    json_decref(c.destroy);
}

void kms_keys_tick(kg_kms *kms)
{
    if (kms_rdlock_unsealed(kms) != KG_OK)
        return;
    due_ctx c = { json_array(), json_array(), kg_now() };
    if (c.rotate != NULL && c.destroy != NULL &&
        kg_store_list(kms->st, NULL, "keys/", NULL, 0, collect_due, &c) == KG_OK) {
        size_t i;
        json_t *id;
        json_array_foreach(c.rotate, i, id)
            tick_one(kms, json_string_value(id), true);
        json_array_foreach(c.destroy, i, id)
            tick_one(kms, json_string_value(id), false);
    }
    purge_import_tokens(kms, c.now);
    kms_unlock(kms);
    json_decref(c.rotate);
    json_decref(c.destroy);
}
