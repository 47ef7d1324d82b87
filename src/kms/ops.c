/* What every key operation shares (ops_crypt.c: the ciphertext format,
 * encrypt/decrypt/re-encrypt/data keys; ops_sign.c: sign/verify/MAC/public
 * key/random; hsm_keys.c: the same operations on an HSM): reading the
 * fields of key metadata, resolving and authorizing a key reference, the
 * usage check and its error, the {"key_id","version"} info document, the
 * stored public key of a version and joining two byte strings.
 *
 * All of these run with the seal read lock held by the caller. */
#include "kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kms_key_id(const json_t *meta)
{
    return json_string_value(json_object_get(meta, "key_id"));
}

unsigned kms_key_version(const json_t *meta)
{
    return (unsigned)json_integer_value(json_object_get(meta, "current_version"));
}

bool kms_key_usage_has(const json_t *meta, const char *what)
{
    const kms_key_spec *s = kms_key_spec_of(meta);
    return s != NULL && strstr(s->usage, what) != NULL;
}

kg_err kms_key_wrong_usage(const json_t *meta, const char *op)
{
    const kms_key_spec *s = kms_key_spec_of(meta);
    return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "key '%s' is a %s key (usage %s) and cannot %s",
                      kms_key_name(meta), s ? s->name : "?", s ? s->usage : "?", op);
}

json_t *kms_op_info(const json_t *meta, unsigned version)
{
    return json_pack("{s:s,s:I}", "key_id", kms_key_id(meta), "version", (json_int_t)version);
}

kg_err kms_op_resolve(kg_kms *kms, const kg_kms_caller *who, json_t **meta,
                      const char *ref, const char *action)
{
    kg_err e = kms_key_resolve(kms, NULL, meta, ref);
    if (e == KG_OK)
        e = kg_kms_authorize(kms, who, action, *meta);
    if (e == KG_OK)
        e = kms_key_usable(*meta);
    if (e != KG_OK) {
        json_decref(*meta);
        *meta = NULL;
    }
    return e;
}

kg_err kms_key_public_der(kg_kms *kms, kg_bytes *pub, const char *id, unsigned v)
{
    char skey[96];
    snprintf(skey, sizeof(skey), "keys/%s/v/%010u", id, v);
    json_t *row = NULL;
    kg_err e = kg_store_get_json(kms->st, NULL, &row, skey);
    if (e == KG_ERR_NOT_FOUND)
        return kg_err_set(KG_ERR_NOT_FOUND, "key %s has no version %u", id, v);
    if (e == KG_OK && kg_json_get_b64(pub, row, "public_key_der", true, 1 << 16) != KG_OK)
        e = kg_err_set(KG_ERR_STORE, "version row %s in the store is damaged", skey);
    json_decref(row);
    return e;
}

kg_err kms_bytes_join(kg_bytes *out, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    out->len = 0;
    if ((out->data = malloc(a_len + b_len + 1)) == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (a_len > 0)
        memcpy(out->data, a, a_len);
    if (b_len > 0)
        memcpy(out->data + a_len, b, b_len);
    out->len = a_len + b_len;
    return KG_OK;
}
