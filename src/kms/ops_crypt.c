/* The KGC1 ciphertext format and the operations that make and open it:
 * encrypt, decrypt, re-encrypt and data keys (sign/verify/MAC/public key/
 * random are in ops_sign.c; what both share is in ops.c).
 *
 * Ciphertext format (self-describing, so decrypt finds the key itself):
 *
 *   offset  size    field
 *   0       4       magic "KGC1"
 *   4       1       L = length of the key id (26 for "k-" + 24 hex)
 *   5       L       key id (ASCII, never an alias)
 *   5+L     4       key version, big-endian
 *   --- AES_256 keys ---
 *   9+L     12      AES-GCM IV (random)
 *   21+L    n       AES-256-GCM ciphertext (n = plaintext length)
 *   21+L+n  16      GCM tag
 *   --- RSA_3072 / RSA_4096 keys ---
 *   9+L     k       RSAES-OAEP-SHA-256 ciphertext (k = 384 or 512 bytes),
 *                   no IV or tag; the OAEP label plays the role of the AAD
 *
 * The additional authenticated data (GCM AAD, or OAEP label) is the header
 * (bytes 0 .. 9+L) followed by the canonical encryption context: the
 * context object serialised by jansson with JSON_SORT_KEYS|JSON_COMPACT
 * (e.g. {"dept":"hr","tenant":"42"}), or nothing when there is no context
 * or it is empty. So a ciphertext cannot be moved to another key id or
 * version, and decrypt must present the same context. Context values must
 * be strings; at most 64 entries. Plaintexts are at most 64 KiB (AES) or
 * 318 / 446 bytes (RSA-3072 / RSA-4096 OAEP).
 *
 * Every failure to authenticate (tampered bytes, wrong context, a header
 * naming a key or version that does not exist) is the same KG_ERR_DECRYPT
 * with the same message, so the error is no oracle. A key that is disabled,
 * pending deletion or destroyed gives that state's error instead.
 *
 * Locking: each call takes the seal read lock once for its whole duration
 * (helpers here assume it is held) and authorizes after resolving the key,
 * so policy patterns match both id and alias. Key material lives in
 * kg_secret and is freed (wiped) on every path. HSM-protected keys
 * (hsm_keys.c) use the same format and AAD; only the GCM or OAEP step runs
 * on the HSM. */
#include "kms_int.h"

#include <stdlib.h>
#include <string.h>

#define CT_MAGIC "KGC1"
#define HDR_MAX (4 + 1 + 64 + 4)
#define MAX_PLAINTEXT (64 * 1024)
#define MAX_CONTEXT_ENTRIES 64

static kg_err decrypt_error(void)
{
    return kg_err_set(KG_ERR_DECRYPT, "the ciphertext could not be decrypted: it is damaged, was "
                      "not made by this KMS, or the encryption context differs");
}

/* ------------------------------------------------------------ context */

/* The canonical context (malloc'd, may be ""), or KG_ERR_BAD_INPUT. */
static kg_err context_canon(char **out, const json_t *ctx)
{
    *out = NULL;
    if (ctx != NULL && !json_is_null(ctx)) {
        if (!json_is_object(ctx))
            return kg_err_set(KG_ERR_BAD_INPUT, "the encryption context must be a JSON object of "
                              "string values, e.g. {\"tenant\":\"42\"}");
        if (json_object_size(ctx) > MAX_CONTEXT_ENTRIES)
            return kg_err_set(KG_ERR_BAD_INPUT, "the encryption context has %zu entries; at most %d "
                              "are allowed", json_object_size(ctx), MAX_CONTEXT_ENTRIES);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)ctx, k, v) {
            if (!json_is_string(v))
                return kg_err_set(KG_ERR_BAD_INPUT, "encryption context value '%.64s' must be a "
                                  "string", k);
        }
    }
    if (ctx == NULL || !json_is_object(ctx) || json_object_size(ctx) == 0)
        *out = strdup("");
    else
        *out = json_dumps(ctx, JSON_SORT_KEYS | JSON_COMPACT);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* AAD = header || canonical context; *aad is malloc'd. */
static kg_err make_aad(uint8_t **aad, size_t *aad_len, const uint8_t *hdr, size_t hdr_len,
                       const char *canon)
{
    size_t clen = strlen(canon);
    *aad = malloc(hdr_len + clen + 1);
    if (*aad == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    memcpy(*aad, hdr, hdr_len);
    memcpy(*aad + hdr_len, canon, clen);
    *aad_len = hdr_len + clen;
    return KG_OK;
}

static size_t header_build(uint8_t out[static HDR_MAX], const char *id, unsigned v)
{
    size_t l = strlen(id);
    memcpy(out, CT_MAGIC, 4);
    out[4] = (uint8_t)l;
    memcpy(out + 5, id, l);
    out[5 + l] = (uint8_t)(v >> 24);
    out[6 + l] = (uint8_t)(v >> 16);
    out[7 + l] = (uint8_t)(v >> 8);
    out[8 + l] = (uint8_t)v;
    return 9 + l;
}

/* Parse the header: id (NUL-terminated into id[65]), version, header length. */
static kg_err header_parse(char id[static 65], unsigned *v, size_t *hdr_len,
                           const uint8_t *ct, size_t ct_len)
{
    if (ct_len < 5 || memcmp(ct, CT_MAGIC, 4) != 0)
        return decrypt_error();
    size_t l = ct[4];
    if (l < 3 || l > 64 || ct_len < 9 + l)
        return decrypt_error();
    memcpy(id, ct + 5, l);
    id[l] = '\0';
    if (strlen(id) != l || strncmp(id, "k-", 2) != 0)
        return decrypt_error();
    *v = ((unsigned)ct[5 + l] << 24) | ((unsigned)ct[6 + l] << 16) | ((unsigned)ct[7 + l] << 8) |
         ct[8 + l];
    *hdr_len = 9 + l;
    return *v >= 1 ? KG_OK : decrypt_error();
}

/* ------------------------------------------------------------ encrypt */

static size_t rsa_max_plaintext(const kms_key_spec *s)
{
    return (s->type == KG_CRYPTO_RSA4096 ? 512 : 384) - 2 * KG_SHA256_BYTES - 2;
}

static kg_err aes_seal(kg_bytes *ct, const kg_secret *key, const uint8_t *hdr, size_t hdr_len,
                       const char *canon, const uint8_t *pt, size_t pt_len)
{
    uint8_t *aad = NULL;
    size_t aad_len = 0;
    kg_err e = make_aad(&aad, &aad_len, hdr, hdr_len, canon);
    if (e != KG_OK)
        return e;
    size_t total = hdr_len + KG_GCM_IV_BYTES + pt_len + KG_GCM_TAG_BYTES;
    uint8_t *buf = malloc(total);
    if (buf == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    uint8_t *iv = buf + hdr_len;
    if (e == KG_OK) {
        memcpy(buf, hdr, hdr_len);
        e = kg_crypto_random(iv, KG_GCM_IV_BYTES);
    }
    if (e == KG_OK)
        e = kg_crypto_aes256gcm_encrypt(iv + KG_GCM_IV_BYTES, iv + KG_GCM_IV_BYTES + pt_len,
                                        KG_GCM_TAG_BYTES, kg_secret_cdata(key), iv, KG_GCM_IV_BYTES,
                                        aad, aad_len, pt, pt_len);
    free(aad);
    if (e != KG_OK) {
        free(buf);
        return e;
    }
    ct->data = buf;
    ct->len = total;
    return KG_OK;
}

static kg_err rsa_seal(kg_bytes *ct, const kg_bytes *pub, const uint8_t *hdr, size_t hdr_len,
                       const char *canon, const uint8_t *pt, size_t pt_len)
{
    uint8_t *aad = NULL;
    size_t aad_len = 0;
    kg_bytes rsa = { 0 };
    kg_err e = make_aad(&aad, &aad_len, hdr, hdr_len, canon);
    if (e == KG_OK)
        e = kg_crypto_rsa_oaep_encrypt(&rsa, pub->data, pub->len, aad, aad_len, pt, pt_len);
    free(aad);
    if (e == KG_OK)
        e = kms_bytes_join(ct, hdr, hdr_len, rsa.data, rsa.len);
    kg_bytes_free(&rsa);
    return e;
}

/* HSM-protected AES_256: the same KGC1 format and AAD, GCM on the HSM. */
static kg_err hsm_aes_seal(kg_kms *kms, kg_bytes *ct, const json_t *meta, unsigned v,
                           const uint8_t *hdr, size_t hdr_len, const char *canon,
                           const uint8_t *pt, size_t pt_len)
{
    uint8_t *aad = NULL;
    size_t aad_len = 0;
    kg_bytes body = { 0 };
    kg_err e = make_aad(&aad, &aad_len, hdr, hdr_len, canon);
    if (e == KG_OK)
        e = kms_hsm_aes_encrypt(kms, &body, meta, v, aad, aad_len, pt, pt_len);
    free(aad);
    if (e == KG_OK)
        e = kms_bytes_join(ct, hdr, hdr_len, body.data, body.len);
    kg_bytes_free(&body);
    return e;
}

/* Encrypt with an HSM-protected key: AES on the HSM; RSA needs only the
 * stored public key, so it stays in software. */
static kg_err hsm_encrypt(kg_kms *kms, kg_bytes *ct, const json_t *meta, const kms_key_spec *spec,
                          unsigned v, const uint8_t *hdr, size_t hdr_len, const char *canon,
                          const uint8_t *pt, size_t pt_len)
{
    if (spec->symmetric)
        return hsm_aes_seal(kms, ct, meta, v, hdr, hdr_len, canon, pt, pt_len);
    kg_bytes pub = { 0 };
    kg_err e = kms_key_public_der(kms, &pub, kms_key_id(meta), v);
    if (e == KG_OK)
        e = rsa_seal(ct, &pub, hdr, hdr_len, canon, pt, pt_len);
    kg_bytes_free(&pub);
    return e;
}

/* Encrypt under the current version of a resolved, usable key. Lock held. */
static kg_err encrypt_meta(kg_kms *kms, kg_bytes *ct, const json_t *meta, const char *canon,
                           const uint8_t *pt, size_t pt_len)
{
    const kms_key_spec *spec = kms_key_spec_of(meta);
    if (spec == NULL || !kms_key_usage_has(meta, "encrypt_decrypt"))
        return kms_key_wrong_usage(meta, "encrypt");
    if (pt_len > MAX_PLAINTEXT)
        return kg_err_set(KG_ERR_TOO_LARGE, "the plaintext is %zu bytes; at most %d can be encrypted "
                          "directly (encrypt larger data locally under a data key)", pt_len, MAX_PLAINTEXT);
    if (!spec->symmetric && pt_len > rsa_max_plaintext(spec))
        return kg_err_set(KG_ERR_TOO_LARGE, "the plaintext is %zu bytes; %s keys encrypt at most %zu "
                          "bytes (use an AES_256 key or a data key)", pt_len, spec->name,
                          rsa_max_plaintext(spec));
    unsigned v = kms_key_version(meta);
    uint8_t hdr[HDR_MAX];
    size_t hdr_len = header_build(hdr, kms_key_id(meta), v);
    if (kms_key_is_hsm(meta))
        return hsm_encrypt(kms, ct, meta, spec, v, hdr, hdr_len, canon, pt, pt_len);
    kg_secret *key = NULL;
    kg_bytes pub = { 0 };
    kg_err e = kms_key_material(kms, &key, &pub, kms_key_id(meta), v);
    if (e == KG_OK && spec->symmetric)
        e = aes_seal(ct, key, hdr, hdr_len, canon, pt, pt_len);
    else if (e == KG_OK)
        e = rsa_seal(ct, &pub, hdr, hdr_len, canon, pt, pt_len);
    kg_secret_free(key);
    kg_bytes_free(&pub);
    return e;
}

/* Resolve + authorize + encrypt with the lock held; *meta_out optional. */
static kg_err encrypt_locked(kg_kms *kms, const kg_kms_caller *who, kg_bytes *ct, json_t **info,
                             const char *ref, const char *action, const char *canon,
                             const uint8_t *pt, size_t pt_len)
{
    json_t *meta = NULL;
    kg_err e = kms_op_resolve(kms, who, &meta, ref, action);
    if (e == KG_OK)
        e = encrypt_meta(kms, ct, meta, canon, pt, pt_len);
    if (e == KG_OK && (*info = kms_op_info(meta, kms_key_version(meta))) == NULL) {
        kg_bytes_free(ct);
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    json_decref(meta);
    return e;
}

kg_err kg_kms_encrypt(kg_kms *kms, const kg_kms_caller *who, kg_bytes *ct, json_t **info,
                      const char *ref, const json_t *context, const uint8_t *pt, size_t pt_len)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && ct != NULL && info != NULL);
    KG_ARG_CHECK(pt != NULL || pt_len == 0);
    ct->data = NULL;
    ct->len = 0;
    *info = NULL;
    char *canon = NULL;
    kg_err e = context_canon(&canon, context);
    if (e != KG_OK)
        return e;
    if ((e = kms_rdlock_unsealed(kms)) == KG_OK) {
        e = encrypt_locked(kms, who, ct, info, ref, "encrypt", canon, pt, pt_len);
        kms_unlock(kms);
    }
    free(canon);
    return e;
}

/* ------------------------------------------------------------ decrypt */

static kg_err aes_open(kg_secret **pt, const kg_secret *key, const uint8_t *aad, size_t aad_len,
                       const uint8_t *body, size_t body_len)
{
    if (body_len < KG_GCM_IV_BYTES + KG_GCM_TAG_BYTES)
        return decrypt_error();
    size_t n = body_len - KG_GCM_IV_BYTES - KG_GCM_TAG_BYTES;
    kg_secret *out = kg_secret_new(n);
    if (out == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err e = kg_crypto_aes256gcm_decrypt(kg_secret_data(out), kg_secret_cdata(key),
                                           body, KG_GCM_IV_BYTES, aad, aad_len,
                                           body + KG_GCM_IV_BYTES, n,
                                           body + KG_GCM_IV_BYTES + n, KG_GCM_TAG_BYTES);
    if (e != KG_OK) {
        kg_secret_free(out);
        return decrypt_error();
    }
    *pt = out;
    return KG_OK;
}

/* Find, authorize and check the key of a ciphertext. ref (optional) must
 * name the same key. A header naming no existing key or version is
 * KG_ERR_DECRYPT like any other damage. */
static kg_err decrypt_key(kg_kms *kms, const kg_kms_caller *who, json_t **meta, const char *ref,
                          const char *action, const char *id, unsigned v)
{
    kg_err e = kms_op_resolve(kms, who, meta, ref ? ref : id, action);
    if (e == KG_ERR_NOT_FOUND && ref == NULL)
        return decrypt_error();
    if (e != KG_OK)
        return e;
    if (ref != NULL && strcmp(kms_key_id(*meta), id) != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "the ciphertext was made with key %s, not with '%.64s'; "
                       "decrypt without a key reference or with the right one", id, ref);
    else if (!kms_key_usage_has(*meta, "encrypt_decrypt"))
        e = kms_key_wrong_usage(*meta, "decrypt");
    else if (v > kms_key_version(*meta))
        e = decrypt_error();
    if (e != KG_OK) {
        json_decref(*meta);
        *meta = NULL;
    }
    return e;
}

/* Decrypt with an HSM-protected key; authentication failures and missing
 * versions are the one KG_ERR_DECRYPT, other HSM errors (no healthy
 * member, SHA-256 OAEP unsupported by the token) pass through. */
static kg_err hsm_decrypt(kg_kms *kms, kg_secret **pt, const json_t *meta, const kms_key_spec *spec,
                          unsigned v, const uint8_t *aad, size_t aad_len,
                          const uint8_t *body, size_t body_len)
{
    kg_err e = spec->symmetric ? kms_hsm_aes_decrypt(kms, pt, meta, v, aad, aad_len, body, body_len)
                               : kms_hsm_rsa_decrypt(kms, pt, meta, v, aad, aad_len, body, body_len);
    return e == KG_ERR_DECRYPT || e == KG_ERR_NOT_FOUND ? decrypt_error() : e;
}

/* Decrypt with a software key's material (unsealed from the store). */
static kg_err soft_decrypt(kg_kms *kms, kg_secret **pt, const kms_key_spec *spec, const char *id,
                           unsigned v, const uint8_t *aad, size_t aad_len,
                           const uint8_t *body, size_t body_len)
{
    kg_secret *key = NULL;
    kg_err e = kms_key_material(kms, &key, NULL, id, v);
    if (e == KG_ERR_NOT_FOUND)
        e = decrypt_error();
    if (e == KG_OK && spec->symmetric)
        e = aes_open(pt, key, aad, aad_len, body, body_len);
    else if (e == KG_OK && kg_crypto_rsa_oaep_decrypt(pt, key, aad, aad_len, body, body_len) != KG_OK)
        e = decrypt_error();
    kg_secret_free(key);
    return e;
}

static kg_err decrypt_locked(kg_kms *kms, const kg_kms_caller *who, kg_secret **pt, json_t **info,
                             const char *ref, const char *action, const char *canon,
                             const uint8_t *ct, size_t ct_len)
{
    char id[65];
    unsigned v = 0;
    size_t hdr_len = 0;
    json_t *meta = NULL;
    kg_err e = header_parse(id, &v, &hdr_len, ct, ct_len);
    if (e == KG_OK)
        e = decrypt_key(kms, who, &meta, ref, action, id, v);
    if (e != KG_OK)
        return e;
    const kms_key_spec *spec = kms_key_spec_of(meta);
    uint8_t *aad = NULL;
    size_t aad_len = 0;
    e = make_aad(&aad, &aad_len, ct, hdr_len, canon);
    if (e == KG_OK && kms_key_is_hsm(meta))
        e = hsm_decrypt(kms, pt, meta, spec, v, aad, aad_len, ct + hdr_len, ct_len - hdr_len);
    else if (e == KG_OK)
        e = soft_decrypt(kms, pt, spec, id, v, aad, aad_len, ct + hdr_len, ct_len - hdr_len);
    if (e == KG_OK && (*info = kms_op_info(meta, v)) == NULL) {
        kg_secret_free(*pt);
        *pt = NULL;
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    free(aad);
    json_decref(meta);
    return e;
}

kg_err kg_kms_decrypt(kg_kms *kms, const kg_kms_caller *who, kg_secret **pt, json_t **info,
                      const char *ref, const json_t *context, const uint8_t *ct, size_t ct_len)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && pt != NULL && info != NULL);
    KG_ARG_CHECK(ct != NULL || ct_len == 0);
    *pt = NULL;
    *info = NULL;
    char *canon = NULL;
    kg_err e = context_canon(&canon, context);
    if (e != KG_OK)
        return e;
    if ((e = kms_rdlock_unsealed(kms)) == KG_OK) {
        e = decrypt_locked(kms, who, pt, info, ref, "decrypt", canon, ct, ct_len);
        kms_unlock(kms);
    }
    free(canon);
    return e;
}

kg_err kg_kms_reencrypt(kg_kms *kms, const kg_kms_caller *who, kg_bytes *ct, json_t **info,
                        const char *dst_ref, const json_t *src_context, const json_t *dst_context,
                        const uint8_t *src_ct, size_t src_ct_len)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && ct != NULL && info != NULL);
    KG_ARG_CHECK(src_ct != NULL || src_ct_len == 0);
    ct->data = NULL;
    ct->len = 0;
    *info = NULL;
    char *src_canon = NULL, *dst_canon = NULL;
    kg_secret *pt = NULL;
    json_t *src_info = NULL;
    kg_err e = context_canon(&src_canon, src_context);
    if (e == KG_OK)
        e = context_canon(&dst_canon, dst_context);
    if (e == KG_OK && (e = kms_rdlock_unsealed(kms)) == KG_OK) {
        e = decrypt_locked(kms, who, &pt, &src_info, NULL, "decrypt", src_canon, src_ct, src_ct_len);
        if (e == KG_OK)
            e = encrypt_locked(kms, who, ct, info, dst_ref, "re-encrypt", dst_canon,
                               kg_secret_cdata(pt), kg_secret_len(pt));
        kms_unlock(kms);
    }
    if (e == KG_OK &&
        (json_object_set(*info, "source_key_id", json_object_get(src_info, "key_id")) != 0 ||
         json_object_set(*info, "source_version", json_object_get(src_info, "version")) != 0)) {
        json_decref(*info);
        *info = NULL;
        kg_bytes_free(ct);
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_secret_free(pt);
    json_decref(src_info);
    free(src_canon);
    free(dst_canon);
    return e;
}

kg_err kg_kms_data_key(kg_kms *kms, const kg_kms_caller *who, kg_secret **pt, kg_bytes *ct,
                       json_t **info, const char *ref, const json_t *context, size_t key_bytes)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && ct != NULL && info != NULL);
    if (pt != NULL)
        *pt = NULL;
    ct->data = NULL;
    ct->len = 0;
    *info = NULL;
    if (key_bytes == 0)
        key_bytes = 32;
    if (key_bytes < 16 || key_bytes > 64)
        return kg_err_set(KG_ERR_BAD_INPUT, "data keys are 16..64 bytes (got %zu)", key_bytes);
    char *canon = NULL;
    kg_err e = context_canon(&canon, context);
    if (e != KG_OK)
        return e;
    kg_secret *dk = kg_secret_new(key_bytes);
    if (dk == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK && (e = kms_rdlock_unsealed(kms)) == KG_OK) {
        e = kg_crypto_random(kg_secret_data(dk), key_bytes);
        if (e == KG_OK)
            e = encrypt_locked(kms, who, ct, info, ref, "data-key", canon,
                               kg_secret_cdata(dk), key_bytes);
        kms_unlock(kms);
    }
    free(canon);
    if (e == KG_OK && pt != NULL) {
        *pt = dk;
        dk = NULL;
    }
    kg_secret_free(dk);
    return e;
}
