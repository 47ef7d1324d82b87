/* Operations with keys that do not encrypt: sign and verify (asymmetric
 * keys, software or HSM-protected), MAC and MAC verify (HMAC_256), the public
 * key of a version, and random bytes. Encrypt/decrypt and the ciphertext
 * format are in ops_crypt.c; what both share is in ops.c.
 *
 * Locking as in ops_crypt.c: one seal read lock per call, authorization
 * after resolving the key. Verify and public key need only the stored SPKI,
 * so they work the same for software and HSM keys; sign branches on
 * kms_key_is_hsm. Key material lives in kg_secret, wiped on every path. */
#include "kms_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SIGN_INPUT (1024 * 1024)
#define MAC_BYTES 32

/* ------------------------------------------------------ sign and verify */

kg_err kg_kms_sign(kg_kms *kms, const kg_kms_caller *who, kg_bytes *sig, json_t **info,
                   const char *ref, kg_crypto_input input, kg_crypto_sig_format format,
                   const uint8_t *data, size_t data_len)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && sig != NULL && info != NULL);
    KG_ARG_CHECK(data != NULL || data_len == 0);
    sig->data = NULL;
    sig->len = 0;
    *info = NULL;
    if (data_len > MAX_SIGN_INPUT)
        return kg_err_set(KG_ERR_TOO_LARGE, "the message is larger than %d bytes; sign its SHA-256 "
                          "digest instead", MAX_SIGN_INPUT);
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *meta = NULL;
    kg_secret *priv = NULL;
    e = kms_op_resolve(kms, who, &meta, ref, "sign");
    if (e == KG_OK && !kms_key_usage_has(meta, "sign_verify"))
        e = kms_key_wrong_usage(meta, "sign");
    unsigned v = meta ? kms_key_version(meta) : 0;
    bool hsm = e == KG_OK && kms_key_is_hsm(meta);
    if (e == KG_OK && hsm)
        e = kms_hsm_sign(kms, sig, meta, v, input, format, data, data_len);
    else if (e == KG_OK)
        e = kms_key_material(kms, &priv, NULL, kms_key_id(meta), v);
    if (e == KG_OK && !hsm)
        e = kg_crypto_sign(sig, kms_key_spec_of(meta)->type, priv, input, format, data, data_len);
    kms_unlock(kms);
    if (e == KG_OK && (*info = kms_op_info(meta, v)) == NULL) {
        kg_bytes_free(sig);
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_secret_free(priv);
    json_decref(meta);
    return e;
}

/* Try one version; KG_OK, KG_ERR_VERIFY, or another error to report. */
static kg_err verify_version(kg_kms *kms, const json_t *meta, unsigned v, kg_crypto_input input,
                             kg_crypto_sig_format format, const uint8_t *data, size_t data_len,
                             const uint8_t *sig, size_t sig_len)
{
    kg_bytes pub = { 0 };
    kg_err e = kms_key_public_der(kms, &pub, kms_key_id(meta), v);
    if (e == KG_OK)
        e = kg_crypto_verify(kms_key_spec_of(meta)->type, pub.data, pub.len, input, format, 0,
                             data, data_len, sig, sig_len);
    kg_bytes_free(&pub);
    return e;
}

kg_err kg_kms_verify(kg_kms *kms, const kg_kms_caller *who, json_t **info,
                     const char *ref, unsigned version, kg_crypto_input input,
                     kg_crypto_sig_format format, const uint8_t *data, size_t data_len,
                     const uint8_t *sig, size_t sig_len)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && info != NULL);
    KG_ARG_CHECK((data != NULL || data_len == 0) && (sig != NULL || sig_len == 0));
    *info = NULL;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *meta = NULL;
    e = kms_op_resolve(kms, who, &meta, ref, "verify");
    if (e == KG_OK && !kms_key_usage_has(meta, "sign_verify"))
        e = kms_key_wrong_usage(meta, "verify");
    unsigned cur = meta ? kms_key_version(meta) : 0, found = 0;
    if (e == KG_OK && version > cur)
        e = kg_err_set(KG_ERR_NOT_FOUND, "key '%s' has no version %u (current is %u)",
                       kms_key_name(meta), version, cur);
    for (unsigned v = version ? version : cur; e == KG_OK && v >= 1 && found == 0; v--) {
        kg_err r = verify_version(kms, meta, v, input, format, data, data_len, sig, sig_len);
        if (r == KG_OK)
            found = v;
        else if (r != KG_ERR_VERIFY)
            e = r;
        if (version != 0)
            break;
    }
    kms_unlock(kms);
    if (e == KG_OK && found == 0)
        e = kg_err_set(KG_ERR_VERIFY, "the signature is not valid for key '%s'%s", kms_key_name(meta),
                       version ? " at the given version" : " (checked every version)");
    if (e == KG_OK && (*info = kms_op_info(meta, found)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(meta);
    return e;
}

/* ------------------------------------------------------------------ MAC */

static kg_err mac_version(kg_kms *kms, uint8_t out[static MAC_BYTES], const json_t *meta,
                          unsigned v, const uint8_t *msg, size_t msg_len)
{
    kg_secret *key = NULL;
    kg_err e = kms_key_material(kms, &key, NULL, kms_key_id(meta), v);
    if (e == KG_OK)
        e = kg_crypto_hmac_sha256(out, kg_secret_cdata(key), kg_secret_len(key), msg, msg_len);
    kg_secret_free(key);
    return e;
}

static kg_err mac_begin(kg_kms *kms, const kg_kms_caller *who, json_t **meta, const char *ref,
                        const char *action, size_t msg_len)
{
    if (msg_len > MAX_SIGN_INPUT)
        return kg_err_set(KG_ERR_TOO_LARGE, "the message is larger than %d bytes", MAX_SIGN_INPUT);
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    e = kms_op_resolve(kms, who, meta, ref, action);
    if (e == KG_OK && !kms_key_usage_has(*meta, "generate_verify_mac")) {
        e = kms_key_wrong_usage(*meta, action);
        json_decref(*meta);
        *meta = NULL;
    }
    if (e != KG_OK)
        kms_unlock(kms);
    return e;
}

kg_err kg_kms_mac(kg_kms *kms, const kg_kms_caller *who, kg_bytes *mac, json_t **info,
                  const char *ref, const uint8_t *msg, size_t msg_len)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && mac != NULL && info != NULL);
    KG_ARG_CHECK(msg != NULL || msg_len == 0);
    mac->data = NULL;
    mac->len = 0;
    *info = NULL;
    json_t *meta = NULL;
    kg_err e = mac_begin(kms, who, &meta, ref, "mac", msg_len);
    if (e != KG_OK)
        return e;
    uint8_t out[MAC_BYTES];
    unsigned v = kms_key_version(meta);
    e = mac_version(kms, out, meta, v, msg, msg_len);
    kms_unlock(kms);
    if (e == KG_OK)
        e = kg_bytes_set(mac, out, MAC_BYTES);
    if (e == KG_OK && (*info = kms_op_info(meta, v)) == NULL) {
        kg_bytes_free(mac);
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_wipe(out, sizeof(out));
    json_decref(meta);
    return e;
}

kg_err kg_kms_verify_mac(kg_kms *kms, const kg_kms_caller *who, json_t **info,
                         const char *ref, const uint8_t *msg, size_t msg_len,
                         const uint8_t *mac, size_t mac_len)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && info != NULL);
    KG_ARG_CHECK((msg != NULL || msg_len == 0) && (mac != NULL || mac_len == 0));
    *info = NULL;
    json_t *meta = NULL;
    kg_err e = mac_begin(kms, who, &meta, ref, "verify-mac", msg_len);
    if (e != KG_OK)
        return e;
    unsigned found = 0;
    uint8_t out[MAC_BYTES];
    /* Every version is computed and compared in constant time, whatever
     * matched earlier, so timing does not tell which version (if any) did. */
    for (unsigned v = kms_key_version(meta); e == KG_OK && v >= 1; v--) {
        e = mac_version(kms, out, meta, v, msg, msg_len);
        if (e == KG_ERR_NOT_FOUND)
            e = KG_OK; /* no such version row: nothing to compare */
        else if (e == KG_OK && mac_len == MAC_BYTES && kg_ct_equal(out, mac, MAC_BYTES) && !found)
            found = v;
    }
    kms_unlock(kms);
    kg_wipe(out, sizeof(out));
    if (e == KG_OK && found == 0)
        e = kg_err_set(KG_ERR_VERIFY, "the MAC is not valid for key '%s'", kms_key_name(meta));
    if (e == KG_OK && (*info = kms_op_info(meta, found)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(meta);
    return e;
}

/* ------------------------------------------------ public key and random */

static kg_err public_doc(json_t **out, const json_t *meta, unsigned v, const kg_bytes *pub)
{
    const kms_key_spec *spec = kms_key_spec_of(meta);
    kg_bytes raw = { 0 };
    char *pem = NULL;
    kg_err e = kg_crypto_pub_raw(&raw, spec->type, pub->data, pub->len);
    if (e == KG_OK)
        e = kg_crypto_pub_pem(&pem, pub->data, pub->len);
    if (e == KG_OK) {
        *out = json_pack("{s:s,s:I,s:s,s:s,s:o,s:o}", "key_id", kms_key_id(meta), "version",
                         (json_int_t)v, "spec", spec->name, "public_key_pem", pem,
                         "public_key", kg_json_b64(raw.data, raw.len),
                         "public_key_der", kg_json_b64(pub->data, pub->len));
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    free(pem);
    kg_bytes_free(&raw);
    return e;
}

kg_err kg_kms_public_key(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                         const char *ref, unsigned version)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    json_t *meta = NULL;
    kg_bytes pub = { 0 };
    e = kms_op_resolve(kms, who, &meta, ref, "get-public-key");
    const kms_key_spec *spec = meta ? kms_key_spec_of(meta) : NULL;
    if (e == KG_OK && (spec == NULL || spec->symmetric))
        e = kg_err_set(KG_ERR_WRONG_KEY_USAGE, "key '%s' is a symmetric %s key and has no public key",
                       kms_key_name(meta), spec ? spec->name : "?");
    unsigned v = version ? version : (meta ? kms_key_version(meta) : 0);
    if (e == KG_OK && v > kms_key_version(meta))
        e = kg_err_set(KG_ERR_NOT_FOUND, "key '%s' has no version %u (current is %u)",
                       kms_key_name(meta), v, kms_key_version(meta));
    if (e == KG_OK)
        e = kms_key_public_der(kms, &pub, kms_key_id(meta), v);
    kms_unlock(kms);
    if (e == KG_OK)
        e = public_doc(out, meta, v, &pub);
    kg_bytes_free(&pub);
    json_decref(meta);
    return e;
}

kg_err kg_kms_random(kg_kms *kms, const kg_kms_caller *who, kg_bytes *out, size_t len)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    out->data = NULL;
    out->len = 0;
    if (len < 1 || len > 1024)
        return kg_err_set(KG_ERR_BAD_INPUT, "random bytes must be 1..1024 (got %zu)", len);
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    e = kg_kms_authorize(kms, who, "random", NULL);
    kms_unlock(kms);
    if (e != KG_OK)
        return e;
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    if ((e = kg_crypto_random(buf, len)) != KG_OK) {
        free(buf);
        return e;
    }
    out->data = buf;
    out->len = len;
    return KG_OK;
}
