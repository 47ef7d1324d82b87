/* HSM-protected keys ("protection":"hsm"): keys generated inside a group
 * of the HSM fleet manager (kg_hms, cfg.hms) and used only there.
 *
 * The KMS keeps the same metadata row as for software keys, plus
 * "protection":"hsm" and "hsm_group":G, and one version row per version:
 *   keys/<id>/v/<n> = {"hsm_id":"<key_id>/<n>","public_key_der":b64?,"created_at"}
 * hsm_id is the CKA_ID of the key's objects in every member of the group;
 * no key material, sealed or not, is ever in the store, so
 * kms_key_material is never called for these keys: every operation that
 * needs the private or secret key comes here instead (ops_crypt.c and
 * ops_sign.c branch on kms_key_is_hsm first). What only needs the public key (verify, public
 * key, RSA encrypt) uses the stored SPKI exactly as for software keys.
 *
 * Destroyed keys stay destroyed on the HSMs across restarts: HMS keeps
 * its tombstones in memory only, so kg_kms_open hands it every version of
 * every destroyed HSM key again (kms_hsm_forget_destroyed, from the
 * metadata, which is not sealed); a member that missed the destruction
 * would otherwise copy the key back to the others at re-sync.
 *
 * Versions are generated in the HSM before the store transaction that
 * records them (generation is slow, and a transaction holds the store's
 * write lock); if the transaction then fails, the new HSM key is destroyed
 * again. Destroying a key (after its deletion wait) destroys every version
 * in the group once the store says "destroyed".
 *
 * ECDSA signatures from the token are normalised to low-S (s -> n - s when
 * s > n/2), like the software keys' signatures, so both kinds of key give
 * signatures Bitcoin-style verifiers accept. */
#include "kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HSM_SPECS "AES_256, ECC_NIST_P256, ECC_SECG_P256K1, ED25519, RSA_3072"

bool kms_key_is_hsm(const json_t *meta)
{
    const char *p = json_string_value(json_object_get(meta, "protection"));
    return p != NULL && strcmp(p, "hsm") == 0;
}

const char *kms_key_hsm_group(const json_t *meta)
{
    const char *g = json_string_value(json_object_get(meta, "hsm_group"));
    return g != NULL ? g : "";
}

static kg_err hsm_type(kg_hsm_key_type *t, const kms_key_spec *spec)
{
    static const struct { const char *name; kg_hsm_key_type t; } map[] = {
        { "AES_256", KG_HSM_KEY_AES256 },      { "ECC_NIST_P256", KG_HSM_KEY_EC_P256 },
        { "ECC_SECG_P256K1", KG_HSM_KEY_EC_SECP256K1 }, { "ED25519", KG_HSM_KEY_ED25519 },
        { "RSA_3072", KG_HSM_KEY_RSA3072 },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].name, spec->name) == 0) {
            *t = map[i].t;
            return KG_OK;
        }
    }
    return kg_err_set(KG_ERR_BAD_INPUT, "%s keys cannot be HSM-protected; with \"protection\":\"hsm\" "
                      "use one of " HSM_SPECS, spec->name);
}

/* For a new HSM key of spec: its HSM key type, and the fleet it needs. */
static kg_err hsm_can_make(const kg_kms *kms, const kms_key_spec *spec, kg_hsm_key_type *t)
{
    kg_err e = hsm_type(t, spec);
    if (e == KG_OK && kms->cfg.hms == NULL)
        e = kg_err_set(KG_ERR_BAD_INPUT, "HSM-protected keys need an HSM group: register HSMs "
                       "with `kashguard hsm add` and create a group");
    return e;
}

/* The hms of the config for an existing HSM key (a server restarted
 * without its HSM configuration cannot use the key). */
static kg_err need_hms(const kg_kms *kms, const json_t *meta, kg_hms **h)
{
    *h = kms->cfg.hms;
    if (*h == NULL)
        return kg_err_set(KG_ERR_CRYPTO, "key '%s' is HSM-protected (group '%s') but this server has "
                          "no HSM fleet configured", kms_key_name(meta), kms_key_hsm_group(meta));
    return KG_OK;
}

/* The CKA_ID of version v, "<key_id>/<v>", into buf; its length, 0 if too long. */
static size_t hsm_id(char buf[static KG_HSM_MAX_ID + 1], const char *key_id, unsigned v)
{
    int n = snprintf(buf, KG_HSM_MAX_ID + 1, "%s/%u", key_id, v);
    return n > 0 && n <= KG_HSM_MAX_ID ? (size_t)n : 0;
}

/* ---------------------------------------------------------------- create */

kg_err kms_hsm_parse_protection(const json_t *req, bool *hsm, const char **group)
{
    const char *prot = NULL;
    *hsm = false;
    *group = NULL;
    kg_err e = kg_json_get_str(&prot, req, "protection", false);
    if (e == KG_OK)
        e = kg_json_get_str(group, req, "hsm_group", false);
    if (e != KG_OK)
        return e;
    if (prot != NULL && strcmp(prot, "hsm") != 0 && strcmp(prot, "software") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "protection must be \"software\" (the default) or "
                          "\"hsm\", got '%.32s'", prot);
    *hsm = prot != NULL && strcmp(prot, "hsm") == 0;
    if (*group != NULL && !*hsm)
        return kg_err_set(KG_ERR_BAD_INPUT, "hsm_group is only for keys with \"protection\":\"hsm\"");
    return KG_OK;
}

/* The only group of the fleet, or a 400 saying to name one. */
static kg_err only_group(kg_kms *kms, char group[static KMS_HSM_GROUP_MAX])
{
    json_t *groups = kg_hms_groups_json(kms->cfg.hms);
    size_t n = json_array_size(groups);
    const char *g = n == 1 ? json_string_value(json_object_get(json_array_get(groups, 0), "name")) : NULL;
    kg_err e = KG_OK;
    if (n == 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "there is no HSM group yet: create one with "
                       "`kashguard hsm group-create NAME --members ...`");
    else if (g == NULL)
        e = kg_err_set(KG_ERR_BAD_INPUT, "there are %zu HSM groups: name one with \"hsm_group\" "
                       "(or set hsm default_group in the config)", n);
    else if (strlen(g) >= KMS_HSM_GROUP_MAX)
        e = kg_err_set(KG_ERR_BAD_INPUT, "HSM group name '%.80s' is too long", g);
    else
        snprintf(group, KMS_HSM_GROUP_MAX, "%s", g);
    json_decref(groups);
    return e;
}

kg_err kms_hsm_pick_group(kg_kms *kms, const kms_key_spec *spec, const char *requested,
                          char group[static KMS_HSM_GROUP_MAX])
{
    group[0] = '\0';
    kg_hsm_key_type t = KG_HSM_KEY_AES256;
    kg_err e = hsm_can_make(kms, spec, &t);
    if (e != KG_OK)
        return e;
    const char *g = requested != NULL ? requested : kms->cfg.hsm_default_group;
    if (g == NULL)
        return only_group(kms, group);
    if (strlen(g) >= KMS_HSM_GROUP_MAX || !kg_hms_group_exists(kms->cfg.hms, g))
        return kg_err_set(KG_ERR_NOT_FOUND, "no HSM group '%.64s'%s; list groups with "
                          "`kashguard hsm groups`", g, requested ? "" : " (the configured default_group)");
    snprintf(group, KMS_HSM_GROUP_MAX, "%s", g);
    return KG_OK;
}

kg_err kms_hsm_version_new(kg_kms *kms, kms_hsm_version *hv, const kms_key_spec *spec,
                           const char *group, const char *key_id, unsigned version)
{
    memset(hv, 0, sizeof(*hv));
    kg_hsm_key_type t = KG_HSM_KEY_AES256;
    kg_err e = hsm_can_make(kms, spec, &t);
    if (e != KG_OK)
        return e;
    snprintf(hv->group, sizeof(hv->group), "%s", group);
    size_t n = hsm_id(hv->hsm_id, key_id, version);
    if (n == 0)
        return kg_err_set(KG_ERR_INTERNAL, "HSM key id too long");
    hv->version = version;
    e = kg_hms_key_generate(kms->cfg.hms, group, t, (const uint8_t *)hv->hsm_id, n,
                            spec->symmetric ? NULL : &hv->pub);
    if (e == KG_OK && !spec->symmetric && hv->pub.len == 0)
        e = kg_err_set(KG_ERR_CRYPTO, "HSM group '%s' returned no public key for %s", group, hv->hsm_id);
    if (e != KG_OK) {
        kg_bytes_free(&hv->pub);
        return e;
    }
    hv->made = true;
    return KG_OK;
}

void kms_hsm_version_drop(kg_kms *kms, kms_hsm_version *hv, bool destroy)
{
    if (destroy && hv->made && kms->cfg.hms != NULL) {
        kg_err e = kg_hms_key_forget(kms->cfg.hms, hv->group, (const uint8_t *)hv->hsm_id,
                                     strlen(hv->hsm_id));
        if (e != KG_OK)
            kg_log(KG_LOG_WARN, "could not destroy an unrecorded HSM key", "hsm_id", hv->hsm_id,
                   "group", hv->group, "error", kg_err_detail(e), NULL);
    }
    kg_bytes_free(&hv->pub);
    hv->made = false;
}

json_t *kms_hsm_version_row(const kms_hsm_version *hv)
{
    json_t *row = json_pack("{s:s,s:I}", "hsm_id", hv->hsm_id, "created_at", (json_int_t)kg_now());
    if (row != NULL && hv->pub.len > 0 &&
        json_object_set_new(row, "public_key_der", kg_json_b64(hv->pub.data, hv->pub.len)) != 0) {
        json_decref(row);
        row = NULL;
    }
    return row;
}

void kms_hsm_destroy_versions(kg_kms *kms, const json_t *meta)
{
    const char *id = kms_key_id(meta);
    unsigned cur = kms_key_version(meta);
    if (id == NULL)
        return;
    if (kms->cfg.hms == NULL) {
        kg_log(KG_LOG_WARN, "HSM key destroyed in the store but no HSM fleet is configured to "
               "destroy its objects", "key_id", id, "group", kms_key_hsm_group(meta), NULL);
        return;
    }
    for (unsigned v = 1; v <= cur; v++) {
        char hid[KG_HSM_MAX_ID + 1];
        size_t hid_len = hsm_id(hid, id, v);
        /* forget, not destroy: a member that is down (or fails now) drops
         * the key when it comes back instead of failing the destruction. */
        kg_err e = kg_hms_key_forget(kms->cfg.hms, kms_key_hsm_group(meta), (const uint8_t *)hid,
                                     hid_len);
        if (e != KG_OK)
            kg_log(KG_LOG_WARN, "could not destroy an HSM key version", "hsm_id", hid, "group",
                   kms_key_hsm_group(meta), "error", kg_err_detail(e), NULL);
    }
}

/* kms_hsm_forget_destroyed: one metadata row. */
static int forget_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
    kg_kms *kms = arg;
    if (strchr(key + 5, '/') != NULL) /* a version row */
        return 0;
    json_t *meta = json_loadb((const char *)val, len, 0, NULL);
    const char *st = json_string_value(json_object_get(meta, "state"));
    if (meta != NULL && kms_key_is_hsm(meta) && st != NULL && strcmp(st, "destroyed") == 0)
        kms_hsm_destroy_versions(kms, meta);
    json_decref(meta);
    return 0;
}

void kms_hsm_forget_destroyed(kg_kms *kms)
{
    if (kms->cfg.hms == NULL)
        return;
    kg_err e = kg_store_list(kms->st, NULL, "keys/", NULL, 0, forget_one, kms);
    if (e != KG_OK)
        kg_log(KG_LOG_WARN, "could not list the destroyed HSM keys for the HSM fleet", "error",
               kg_err_detail(e), NULL);
}

/* ------------------------------------------------------------ operations */

/* Where an operation on one version of an HSM key goes: the fleet, the
 * key's group and the CKA_ID of the version in every member. */
typedef struct {
    kg_hms *h;
    const char *group;
    char id[KG_HSM_MAX_ID + 1];
    size_t id_len;
} hsm_target;

static kg_err target_of(kg_kms *kms, const json_t *meta, unsigned v, hsm_target *t)
{
    t->group = kms_key_hsm_group(meta);
    t->id_len = hsm_id(t->id, kms_key_id(meta), v);
    return need_hms(kms, meta, &t->h);
}

kg_err kms_hsm_aes_encrypt(kg_kms *kms, kg_bytes *body, const json_t *meta, unsigned v,
                           const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len)
{
    body->data = NULL;
    body->len = 0;
    hsm_target t = { 0 };
    uint8_t iv[KG_HSM_GCM_IV_BYTES];
    kg_bytes ct = { 0 };
    kg_err e = target_of(kms, meta, v, &t);
    if (e == KG_OK)
        e = kg_crypto_random(iv, sizeof(iv));
    if (e == KG_OK)
        e = kg_hms_aes_gcm_encrypt(t.h, &ct, t.group, (const uint8_t *)t.id, t.id_len,
                                   iv, aad, aad_len, pt, pt_len);
    if (e == KG_OK && ct.len != pt_len + KG_HSM_GCM_TAG_BYTES)
        e = kg_err_set(KG_ERR_CRYPTO, "HSM group '%s' returned a malformed AES-GCM ciphertext",
                       t.group);
    if (e == KG_OK)
        e = kms_bytes_join(body, iv, sizeof(iv), ct.data, ct.len);
    kg_bytes_free(&ct);
    return e;
}

/* Plaintext bytes from the token into a kg_secret, wiping the copy. */
static kg_err to_secret(kg_secret **out, kg_bytes *b)
{
    *out = kg_secret_from(b->data, b->len);
    kg_wipe(b->data, b->len);
    kg_bytes_free(b);
    return *out != NULL ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kms_hsm_aes_decrypt(kg_kms *kms, kg_secret **pt, const json_t *meta, unsigned v,
                           const uint8_t *aad, size_t aad_len, const uint8_t *body, size_t body_len)
{
    *pt = NULL;
    if (body_len < KG_HSM_GCM_IV_BYTES + KG_HSM_GCM_TAG_BYTES)
        return KG_ERR_DECRYPT;
    hsm_target t = { 0 };
    kg_bytes out = { 0 };
    kg_err e = target_of(kms, meta, v, &t);
    if (e == KG_OK)
        e = kg_hms_aes_gcm_decrypt(t.h, &out, t.group, (const uint8_t *)t.id, t.id_len, body,
                                   aad, aad_len, body + KG_HSM_GCM_IV_BYTES,
                                   body_len - KG_HSM_GCM_IV_BYTES);
    return e == KG_OK ? to_secret(pt, &out) : e;
}

kg_err kms_hsm_rsa_decrypt(kg_kms *kms, kg_secret **pt, const json_t *meta, unsigned v,
                           const uint8_t *label, size_t label_len, const uint8_t *ct, size_t ct_len)
{
    *pt = NULL;
    hsm_target t = { 0 };
    kg_bytes out = { 0 };
    kg_err e = target_of(kms, meta, v, &t);
    if (e == KG_OK)
        e = kg_hms_rsa_oaep_decrypt(t.h, &out, t.group, (const uint8_t *)t.id, t.id_len, label,
                                    label_len, ct, ct_len);
    return e == KG_OK ? to_secret(pt, &out) : e;
}

kg_err kms_hsm_sign(kg_kms *kms, kg_bytes *sig, const json_t *meta, unsigned v, kg_crypto_input input,
                    kg_crypto_sig_format fmt, const uint8_t *data, size_t len)
{
    sig->data = NULL;
    sig->len = 0;
    const kms_key_spec *spec = kms_key_spec_of(meta);
    bool ec = spec->type == KG_CRYPTO_P256 || spec->type == KG_CRYPTO_SECP256K1;
    bool digest = input == KG_CRYPTO_INPUT_DIGEST;
    if (digest && !ec)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "HSM-protected %s keys sign messages only; a "
                          "digest input is for ECDSA keys", spec->name);
    if (digest && len != 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "a digest input must be 32 bytes (SHA-256), got %zu", len);
    hsm_target t = { 0 };
    kg_bytes raw = { 0 };
    kg_err e = target_of(kms, meta, v, &t);
    if (e == KG_OK)
        e = kg_hms_sign(t.h, ec ? &raw : sig, t.group, (const uint8_t *)t.id, t.id_len,
                        KG_HSM_SIG_RAW, digest, data, len);
    if (e != KG_OK || !ec)
        return e;
    e = kg_crypto_ecdsa_finish(sig, spec->type, raw.data, raw.len, fmt);
    kg_bytes_free(&raw);
    return e;
}
