/* Keys: specs, metadata, creation, lookup, listing, and access to the
 * material of one version. Lifecycle changes (rotate, enable, disable,
 * deletion, update, the periodic tick) are in lifecycle.c; BYOK import in
 * import.c.
 *
 * A key is a metadata row keys/<id> plus one row per version,
 * keys/<id>/v/<n as 10 digits> = {"material_enc","public_key_der"?}, and an
 * optional alias row aliases/<alias> = {"key_id"}. The material is sealed
 * under the root key with AAD "key:<id>:v:<n>" (kms_seal_encrypt), so a
 * blob moved to another key or version no longer decrypts. Rows of one key
 * change together in one store transaction, so a crash never leaves an alias
 * without its key or a version without metadata.
 *
 * Ids are "k-" + 24 random hex digits. Aliases are 1-64 characters of
 * [A-Za-z0-9_-./] and never start with "k-", so a reference is an id or an
 * alias, never ambiguous. The metadata row is the public document of kms.h
 * plus a few internal numbers (fields starting with "_": rotation period and
 * due times as Unix seconds) that kms_key_public strips. */
#include "kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_ID_HEX 24
#define MATERIAL_BYTES 32

/* The type field is unused (and arbitrary) for the symmetric specs. */
static const kms_key_spec SPECS[] = {
    { "AES_256", true, KG_CRYPTO_P256, "encrypt_decrypt" },
    { "HMAC_256", true, KG_CRYPTO_P256, "generate_verify_mac" },
    { "ECC_NIST_P256", false, KG_CRYPTO_P256, "sign_verify" },
    { "ECC_SECG_P256K1", false, KG_CRYPTO_SECP256K1, "sign_verify" },
    { "ED25519", false, KG_CRYPTO_ED25519, "sign_verify" },
    { "RSA_3072", false, KG_CRYPTO_RSA3072, "encrypt_decrypt_sign_verify" },
    { "RSA_4096", false, KG_CRYPTO_RSA4096, "encrypt_decrypt_sign_verify" },
};
#define SPEC_NAMES "AES_256, HMAC_256, ECC_NIST_P256, ECC_SECG_P256K1, ED25519, RSA_3072, RSA_4096"

const kms_key_spec *kms_key_spec_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(SPECS) / sizeof(SPECS[0]); i++) {
        if (strcmp(SPECS[i].name, name) == 0)
            return &SPECS[i];
    }
    return NULL;
}

const kms_key_spec *kms_key_spec_of(const json_t *meta)
{
    return kms_key_spec_find(json_string_value(json_object_get(meta, "spec")));
}

kg_err kms_alias_check(const char *alias)
{
    size_t n = strlen(alias);
    bool ok = n >= 1 && n <= 64 && strncmp(alias, "k-", 2) != 0;
    for (size_t i = 0; ok && i < n; i++) {
        char c = alias[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.' || c == '/';
    }
    if (!ok)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "alias '%.64s' is not valid: use 1-64 characters from A-Z a-z 0-9 _ - . / "
                          "and do not start with \"k-\" (reserved for key ids)", alias);
    return KG_OK;
}

static bool is_key_id(const char *s)
{
    if (strncmp(s, "k-", 2) != 0 || strlen(s) != 2 + KEY_ID_HEX)
        return false;
    for (size_t i = 2; s[i] != '\0'; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

bool kms_is_key_id(const char *s)
{
    return s != NULL && is_key_id(s);
}

static json_t *ts_json(int64_t t)
{
    if (t <= 0)
        return json_null();
    char buf[21];
    kg_time_rfc3339(buf, t);
    return json_string(buf);
}

json_t *kms_key_public(const json_t *meta)
{
    json_t *pub = json_deep_copy(meta);
    if (pub == NULL)
        return NULL;
    /* Keys created before HSM protection existed are software keys. */
    if (json_object_get(pub, "protection") == NULL &&
        json_object_set_new(pub, "protection", json_string("software")) != 0) {
        json_decref(pub);
        return NULL;
    }
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(pub, tmp, k, v) {
        if (k[0] == '_')
            json_object_del(pub, k);
    }
    return pub;
}

/* ------------------------------------------------------------- creation */

static kg_err new_key_id(char out[static 3 + KEY_ID_HEX])
{
    uint8_t r[KEY_ID_HEX / 2];
    kg_err e = kg_crypto_random(r, sizeof(r));
    if (e != KG_OK)
        return e;
    out[0] = 'k';
    out[1] = '-';
    kg_hex_encode(out + 2, r, sizeof(r));
    return KG_OK;
}

static kg_err version_key(char *buf, size_t cap, const char *id, unsigned v)
{
    if (snprintf(buf, cap, "keys/%s/v/%010u", id, v) >= (int)cap)
        return kg_err_set(KG_ERR_INTERNAL, "store key too long");
    return KG_OK;
}

/* Seal material and store it as version v of key id (inside txn). */
static kg_err put_version(kg_kms *kms, kg_store_txn *txn, const char *id, unsigned v,
                          const kms_key_spec *spec, const kg_secret *material)
{
    char label[96], skey[96];
    snprintf(label, sizeof(label), "key:%s:v:%u", id, v);
    kg_err e = version_key(skey, sizeof(skey), id, v);
    if (e != KG_OK)
        return e;
    kg_bytes enc = { 0 }, pub = { 0 };
    if (!spec->symmetric)
        e = kg_crypto_pub_from_priv(&pub, spec->type, material);
    if (e == KG_OK)
        e = kms_seal_encrypt(kms, &enc, label, kg_secret_cdata(material), kg_secret_len(material));
    json_t *row = NULL;
    if (e == KG_OK) {
        row = json_pack("{s:o,s:I}", "material_enc", kg_json_b64(enc.data, enc.len),
                        "created_at", (json_int_t)kg_now());
        if (row != NULL && !spec->symmetric &&
            json_object_set_new(row, "public_key_der", kg_json_b64(pub.data, pub.len)) != 0) {
            json_decref(row);
            row = NULL;
        }
        if (row == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory storing key material");
    }
    if (e == KG_OK)
        e = kg_store_create_json(kms->st, txn, skey, row);
    json_decref(row);
    kg_bytes_free(&enc);
    kg_bytes_free(&pub);
    return e;
}

/* Record an HSM-generated version (no material: its hsm_id and public key). */
static kg_err put_hsm_version(kg_kms *kms, kg_store_txn *txn, const char *id,
                              const kms_hsm_version *hv)
{
    char skey[96];
    kg_err e = version_key(skey, sizeof(skey), id, hv->version);
    json_t *row = e == KG_OK ? kms_hsm_version_row(hv) : NULL;
    if (e == KG_OK && row == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory storing an HSM key version");
    if (e == KG_OK)
        e = kg_store_create_json(kms->st, txn, skey, row);
    json_decref(row);
    return e;
}

kg_err kms_key_gen_material(kg_secret **out, const kms_key_spec *spec)
{
    *out = NULL;
    if (!spec->symmetric)
        return kg_crypto_keygen(out, spec->type);
    kg_secret *s = kg_secret_new(MATERIAL_BYTES);
    if (s == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory generating a key");
    kg_err e = kg_crypto_random(kg_secret_data(s), MATERIAL_BYTES);
    if (e != KG_OK) {
        kg_secret_free(s);
        return e;
    }
    *out = s;
    return KG_OK;
}

/* Rotation fields of meta from a period in seconds (0 = no rotation). */
static kg_err set_rotation(json_t *meta, int64_t period, int64_t now)
{
    char buf[32];
    json_t *str = json_null();
    if (period > 0) {
        if (period % 86400 == 0)
            snprintf(buf, sizeof(buf), "%lldd", (long long)(period / 86400));
        else if (period % 3600 == 0)
            snprintf(buf, sizeof(buf), "%lldh", (long long)(period / 3600));
        else if (period % 60 == 0)
            snprintf(buf, sizeof(buf), "%lldm", (long long)(period / 60));
        else
            snprintf(buf, sizeof(buf), "%llds", (long long)period);
        str = json_string(buf);
    }
    int64_t next = period > 0 ? now + period : 0;
    if (json_object_set_new(meta, "rotation_period", str) != 0 ||
        json_object_set_new(meta, "next_rotation_at", ts_json(next)) != 0 ||
        json_object_set_new(meta, "_rotation_seconds", json_integer(period)) != 0 ||
        json_object_set_new(meta, "_next_rotation", json_integer(next)) != 0)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    return KG_OK;
}

kg_err kms_key_rotation_set(json_t *meta, int64_t period, int64_t now)
{
    return set_rotation(meta, period, now);
}

static kg_err append_version(json_t *meta, unsigned v);

kg_err kms_key_add_version(kg_kms *kms, kg_store_txn *txn, json_t *meta,
                           const kg_secret *material)
{
    const kms_key_spec *spec = kms_key_spec_of(meta);
    const char *id = json_string_value(json_object_get(meta, "key_id"));
    json_t *versions = json_object_get(meta, "versions");
    if (spec == NULL || id == NULL || !json_is_array(versions))
        return kg_err_set(KG_ERR_STORE, "key metadata in the store is damaged");
    unsigned v = (unsigned)json_integer_value(json_object_get(meta, "current_version")) + 1;
    if (kms_key_is_hsm(meta))
        return kg_err_set(KG_ERR_INTERNAL, "software material offered for HSM key %s", id);
    kg_err e = put_version(kms, txn, id, v, spec, material);
    if (e != KG_OK)
        return e;
    return append_version(meta, v);
}

kg_err kms_key_add_hsm_version(kg_kms *kms, kg_store_txn *txn, json_t *meta,
                               const kms_hsm_version *hv)
{
    const char *id = json_string_value(json_object_get(meta, "key_id"));
    unsigned v = (unsigned)json_integer_value(json_object_get(meta, "current_version")) + 1;
    if (id == NULL || !kms_key_is_hsm(meta) || !json_is_array(json_object_get(meta, "versions")))
        return kg_err_set(KG_ERR_STORE, "key metadata in the store is damaged");
    /* The version was generated before this transaction as current + 1: if
     * another node rotated meanwhile, this one is stale (the caller drops it). */
    if (hv->version != v)
        return KG_ERR_CONFLICT;
    kg_err e = put_hsm_version(kms, txn, id, hv);
    return e == KG_OK ? append_version(meta, v) : e;
}

/* Append version v (just stored) to meta's versions and make it current. */
static kg_err append_version(json_t *meta, unsigned v)
{
    json_t *versions = json_object_get(meta, "versions");
    int64_t now = kg_now();
    json_t *ver = json_pack("{s:I,s:s,s:o}", "version", (json_int_t)v, "state", "enabled",
                            "created_at", ts_json(now));
    if (ver == NULL || json_array_append_new(versions, ver) != 0 ||
        json_object_set_new(meta, "current_version", json_integer(v)) != 0)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    int64_t period = json_integer_value(json_object_get(meta, "_rotation_seconds"));
    return period > 0 ? set_rotation(meta, period, now) : KG_OK;
}

static json_t *new_meta(const char *id, const kms_key_spec *spec, const char *alias,
                        const char *description, const char *origin, int64_t now)
{
    json_t *meta = json_pack("{s:s,s:o,s:s,s:s,s:s,s:s,s:s,s:o,s:i,s:o,s:[{s:i,s:s,s:o}],s:I}",
                             "key_id", id, "alias", alias ? json_string(alias) : json_null(),
                             "description", description ? description : "",
                             "spec", spec->name, "usage", spec->usage, "state", "enabled",
                             "origin", origin, "created_at", ts_json(now), "current_version", 1,
                             "deletion_date", json_null(),
                             "versions", "version", 1, "state", "enabled", "created_at", ts_json(now),
                             "_deletion_time", (json_int_t)0);
    return meta;
}

static kg_err alias_conflict(const char *alias)
{
    return kg_err_set(KG_ERR_CONFLICT, "alias '%s' is already used by another key; choose "
                      "another alias or move it with `kashguard key update`", alias);
}

/* The metadata of a new key; hsm (may be NULL) is its HSM version 1. */
static json_t *make_meta(const char *id, const kms_key_spec *spec, const char *alias,
                         const char *description, int64_t rotation_seconds, const char *origin,
                         const kms_hsm_version *hsm)
{
    int64_t now = kg_now();
    json_t *meta = new_meta(id, spec, alias, description, origin, now);
    if (meta == NULL || set_rotation(meta, rotation_seconds, now) != KG_OK ||
        json_object_set_new(meta, "protection", json_string(hsm ? "hsm" : "software")) != 0 ||
        (hsm != NULL && json_object_set_new(meta, "hsm_group", json_string(hsm->group)) != 0)) {
        json_decref(meta);
        return NULL;
    }
    return meta;
}

/* kms_key_store_new for a software key (material) or an HSM key whose
 * version 1 was generated in the HSM already (hsm). */
static kg_err store_new(kg_kms *kms, json_t **out, const char *id, const kms_key_spec *spec,
                        const char *alias, const char *description, int64_t rotation_seconds,
                        const char *origin, const kg_secret *material, const char *consume,
                        const kms_hsm_version *hsm)
{
    *out = NULL;
    char skey[128];
    kg_err e = KG_OK;
    json_t *meta = make_meta(id, spec, alias, description, rotation_seconds, origin, hsm);
    if (meta == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory creating a key");
    kg_store_txn *txn = NULL;
    e = kg_store_txn_begin(kms->st, &txn);
    if (e == KG_OK) {
        snprintf(skey, sizeof(skey), "keys/%s", id);
        e = kg_store_create_json(kms->st, txn, skey, meta);
    }
    if (e == KG_OK && alias != NULL) {
        snprintf(skey, sizeof(skey), "aliases/%s", alias);
        json_t *row = json_pack("{s:s}", "key_id", id);
        e = row ? kg_store_create_json(kms->st, txn, skey, row) : KG_ERR_NOMEM;
        json_decref(row);
        if (e == KG_ERR_CONFLICT)
            e = alias_conflict(alias);
    }
    if (e == KG_OK)
        e = hsm != NULL ? put_hsm_version(kms, txn, id, hsm) : put_version(kms, txn, id, 1, spec, material);
    if (e == KG_OK && consume != NULL) {
        e = kg_store_delete(kms->st, txn, consume);
        if (e == KG_ERR_NOT_FOUND)
            e = kg_err_set(KG_ERR_CONFLICT, "%s was used by another request at the same time", consume);
    }
    if (e == KG_OK)
        e = kg_store_txn_commit(txn);
    if (e != KG_OK) {
        if (txn != NULL)
            kg_store_txn_rollback(txn);
        json_decref(meta);
        return e;
    }
    *out = meta;
    return KG_OK;
}

kg_err kms_key_store_new(kg_kms *kms, json_t **out, const kms_key_spec *spec, const char *alias,
                         const char *description, int64_t rotation_seconds, const char *origin,
                         const kg_secret *material, const char *consume)
{
    *out = NULL;
    char id[3 + KEY_ID_HEX];
    kg_err e = new_key_id(id);
    if (e != KG_OK)
        return e;
    return store_new(kms, out, id, spec, alias, description, rotation_seconds, origin, material,
                     consume, NULL);
}

/* A new HSM-protected key: version 1 is generated in the group first (slow,
 * outside any transaction) and destroyed again if the store refuses it. */
static kg_err create_hsm(kg_kms *kms, json_t **out, const kms_key_spec *spec, const char *alias,
                         const char *description, int64_t rotation_seconds, const char *group)
{
    *out = NULL;
    char id[3 + KEY_ID_HEX], skey[96];
    kg_err e = new_key_id(id);
    if (e != KG_OK)
        return e;
    if (alias != NULL) { /* a taken alias should not cost an HSM key generation */
        json_t *row = NULL;
        snprintf(skey, sizeof(skey), "aliases/%s", alias);
        e = kg_store_get_json(kms->st, NULL, &row, skey);
        json_decref(row);
        if (e == KG_OK)
            return alias_conflict(alias);
        if (e != KG_ERR_NOT_FOUND)
            return e;
    }
    kms_hsm_version hv;
    e = kms_hsm_version_new(kms, &hv, spec, group, id, 1);
    if (e != KG_OK)
        return e;
    e = store_new(kms, out, id, spec, alias, description, rotation_seconds, "generated", NULL, NULL, &hv);
    kms_hsm_version_drop(kms, &hv, e != KG_OK);
    return e;
}

kg_err kms_parse_rotation(int64_t *out, const char *s)
{
    *out = 0;
    int64_t v = 0;
    kg_err e = kg_duration_parse(&v, s);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "rotation_period: %s", kg_err_detail(e));
    if (v != 0 && (v < 60 || v > 3650LL * 86400))
        return kg_err_set(KG_ERR_BAD_INPUT, "rotation_period must be between 60s and 3650d "
                          "(or \"0\" for no automatic rotation), got '%.32s'", s);
    *out = v;
    return KG_OK;
}

kg_err kms_check_description(const char *d)
{
    if (d != NULL && strlen(d) > 1024)
        return kg_err_set(KG_ERR_BAD_INPUT, "description is longer than 1024 bytes");
    return KG_OK;
}

static kg_err parse_create(const json_t *req, const kms_key_spec **spec, const char **alias,
                           const char **desc, int64_t *rotation)
{
    static const char *const allowed[] = { "spec", "alias", "description", "rotation_period",
                                           "protection", "hsm_group", NULL };
    const char *spec_name = NULL, *rot = NULL;
    kg_err e = kg_json_check_fields(req, allowed);
    if (e == KG_OK)
        e = kg_json_get_str(&spec_name, req, "spec", true);
    if (e == KG_OK)
        e = kg_json_get_str(alias, req, "alias", false);
    if (e == KG_OK)
        e = kg_json_get_str(desc, req, "description", false);
    if (e == KG_OK)
        e = kg_json_get_str(&rot, req, "rotation_period", false);
    if (e != KG_OK)
        return e;
    *spec = kms_key_spec_find(spec_name);
    if (*spec == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown key spec '%.32s'; use one of " SPEC_NAMES,
                          spec_name);
    if (*alias != NULL && (e = kms_alias_check(*alias)) != KG_OK)
        return e;
    if ((e = kms_check_description(*desc)) != KG_OK)
        return e;
    return rot != NULL ? kms_parse_rotation(rotation, rot) : KG_OK;
}

kg_err kg_kms_key_create(kg_kms *kms, const kg_kms_caller *who, json_t **out, const json_t *req)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL && req != NULL);
    *out = NULL;
    const kms_key_spec *spec = NULL;
    const char *alias = NULL, *desc = NULL, *group_req = NULL;
    int64_t rotation = 0;
    bool hsm = false;
    char group[KMS_HSM_GROUP_MAX] = "";
    kg_err e = parse_create(req, &spec, &alias, &desc, &rotation);
    if (e == KG_OK)
        e = kms_hsm_parse_protection(req, &hsm, &group_req);
    if (e == KG_OK && hsm)
        e = kms_hsm_pick_group(kms, spec, group_req, group);
    if (e != KG_OK)
        return e;
    if ((e = kms_rdlock_unsealed(kms)) != KG_OK)
        return e;
    json_t *probe = json_pack("{s:o}", "alias", alias ? json_string(alias) : json_null());
    e = probe ? kg_kms_authorize(kms, who, "create-key", probe) : KG_ERR_NOMEM;
    json_decref(probe);
    kg_secret *material = NULL;
    json_t *meta = NULL;
    if (e == KG_OK && hsm)
        e = create_hsm(kms, &meta, spec, alias, desc, rotation, group);
    else if (e == KG_OK)
        e = kms_key_gen_material(&material, spec);
    if (e == KG_OK && !hsm)
        e = kms_key_store_new(kms, &meta, spec, alias, desc, rotation, "generated", material,
                              NULL);
    kms_unlock(kms);
    kg_secret_free(material);
    if (e != KG_OK)
        return e;
    *out = kms_key_public(meta);
    json_decref(meta);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------------- lookup */

kg_err kms_key_resolve(kg_kms *kms, kg_store_txn *txn, json_t **meta, const char *ref)
{
    KG_ARG_CHECK(kms != NULL && meta != NULL);
    *meta = NULL;
    if (ref == NULL || ref[0] == '\0')
        return kg_err_set(KG_ERR_BAD_INPUT, "a key reference (key id or alias) is required");
    char skey[128];
    const char *id = ref;
    json_t *alias_row = NULL;
    kg_err e;
    if (strncmp(ref, "k-", 2) == 0) {
        if (!is_key_id(ref))
            return kg_err_set(KG_ERR_NOT_FOUND, "no key with id '%.64s' (key ids are \"k-\" and 24 "
                              "hex digits); list keys with `kashguard key list`", ref);
    } else {
        if ((e = kms_alias_check(ref)) != KG_OK)
            return e;
        snprintf(skey, sizeof(skey), "aliases/%s", ref);
        e = kg_store_get_json(kms->st, txn, &alias_row, skey);
        if (e == KG_ERR_NOT_FOUND)
            return kg_err_set(KG_ERR_NOT_FOUND, "no key with alias '%s'; list keys with "
                              "`kashguard key list`", ref);
        if (e != KG_OK)
            return e;
        id = json_string_value(json_object_get(alias_row, "key_id"));
        if (id == NULL || !is_key_id(id)) {
            json_decref(alias_row);
            return kg_err_set(KG_ERR_STORE, "alias row for '%s' in the store is damaged", ref);
        }
    }
    snprintf(skey, sizeof(skey), "keys/%s", id);
    e = kg_store_get_json(kms->st, txn, meta, skey);
    if (e == KG_ERR_NOT_FOUND)
        e = kg_err_set(KG_ERR_NOT_FOUND, "no key with id '%s'; list keys with `kashguard key list`", id);
    json_decref(alias_row);
    return e;
}

const char *kms_key_name(const json_t *meta)
{
    const char *a = json_string_value(json_object_get(meta, "alias"));
    return a ? a : json_string_value(json_object_get(meta, "key_id"));
}

kg_err kms_key_usable(const json_t *meta)
{
    const char *state = json_string_value(json_object_get(meta, "state"));
    const char *name = kms_key_name(meta);
    if (state != NULL && strcmp(state, "enabled") == 0)
        return KG_OK;
    if (state != NULL && strcmp(state, "disabled") == 0)
        return kg_err_set(KG_ERR_KEY_DISABLED, "key '%s' is disabled; enable it with "
                          "`kashguard key enable %s`", name, name);
    if (state != NULL && strcmp(state, "pending_deletion") == 0)
        return kg_err_set(KG_ERR_KEY_PENDING_DELETION, "key '%s' is scheduled for deletion on %s; "
                          "keep it with `kashguard key cancel-deletion %s`", name,
                          json_string_value(json_object_get(meta, "deletion_date")), name);
    return kg_err_set(KG_ERR_KEY_DESTROYED, "the material of key '%s' was destroyed; data "
                      "encrypted under it cannot be recovered", name);
}

kg_err kms_key_material(kg_kms *kms, kg_secret **material, kg_bytes *pub_der,
                        const char *key_id, unsigned version)
{
    KG_ARG_CHECK(kms != NULL && material != NULL && key_id != NULL);
    *material = NULL;
    if (pub_der != NULL) {
        pub_der->data = NULL;
        pub_der->len = 0;
    }
    char skey[128], label[96];
    kg_err e = version_key(skey, sizeof(skey), key_id, version);
    if (e != KG_OK)
        return e;
    snprintf(label, sizeof(label), "key:%s:v:%u", key_id, version);
    if (kms_cache_get(kms->cache, material, pub_der, label))
        return KG_OK;
    /* Always read the public key too (into pub when the caller does not
     * want it), so that the cache entry is complete for the next caller. */
    kg_bytes local = { 0 }, *pub = pub_der != NULL ? pub_der : &local;
    json_t *row = NULL;
    e = kg_store_get_json(kms->st, NULL, &row, skey);
    if (e == KG_ERR_NOT_FOUND)
        return kg_err_set(KG_ERR_NOT_FOUND, "key '%s' has no version %u (or its material was destroyed)",
                          key_id, version);
    if (e != KG_OK)
        return e;
    if (json_object_get(row, "hsm_id") != NULL) { /* ops_*.c branch on kms_key_is_hsm first */
        json_decref(row);
        return kg_err_set(KG_ERR_INTERNAL, "key '%s' is HSM-protected: its material is never in "
                          "the store", key_id);
    }
    kg_bytes enc = { 0 };
    e = kg_json_get_b64(&enc, row, "material_enc", true, 1 << 16);
    if (e == KG_OK && json_object_get(row, "public_key_der") != NULL)
        e = kg_json_get_b64(pub, row, "public_key_der", true, 1 << 16);
    json_decref(row);
    if (e == KG_OK)
        e = kms_seal_decrypt(kms, material, label, enc.data, enc.len);
    else
        e = kg_err_set(KG_ERR_STORE, "version row %s in the store is damaged", skey);
    kg_bytes_free(&enc);
    if (e == KG_OK)
        kms_cache_put(kms->cache, label, *material, pub);
    else
        kg_bytes_free(pub);
    kg_bytes_free(&local);
    return e;
}

/* A key action on ref: lock, resolve, authorize. On KG_OK the caller holds
 * the read lock and owns *meta. */
kg_err kms_key_begin(kg_kms *kms, const kg_kms_caller *who, json_t **meta, const char *ref,
                     const char *action)
{
    *meta = NULL;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    e = kms_key_resolve(kms, NULL, meta, ref);
    if (e == KG_OK)
        e = kg_kms_authorize(kms, who, action, *meta);
    if (e != KG_OK) {
        json_decref(*meta);
        *meta = NULL;
        kms_unlock(kms);
    }
    return e;
}

kg_err kg_kms_key_get(kg_kms *kms, const kg_kms_caller *who, json_t **out, const char *ref)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    json_t *meta = NULL;
    kg_err e = kms_key_begin(kms, who, &meta, ref, "describe");
    if (e != KG_OK)
        return e;
    kms_unlock(kms);
    *out = kms_key_public(meta);
    json_decref(meta);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}
