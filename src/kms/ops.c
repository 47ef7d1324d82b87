/* Cryptographic operations with KMS keys: encrypt, decrypt, re-encrypt,
 * data keys, sign/verify, MAC, public keys and random bytes.
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
 * kg_secret and is freed (wiped) on every path. */
#include "kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_MAGIC "KGC1"
#define HDR_MAX (4 + 1 + 64 + 4)
#define MAX_PLAINTEXT (64 * 1024)
#define MAX_SIGN_INPUT (1024 * 1024)
#define MAX_CONTEXT_ENTRIES 64
#define MAC_BYTES 32

static kg_err decrypt_error(void)
{
    return kg_err_set(KG_ERR_DECRYPT, "the ciphertext could not be decrypted: it is damaged, was "
                      "not made by this KMS, or the encryption context differs");
}

static const char *meta_id(const json_t *meta)
{
    return json_string_value(json_object_get(meta, "key_id"));
}

static const char *meta_name(const json_t *meta)
{
    const char *a = json_string_value(json_object_get(meta, "alias"));
    return a ? a : meta_id(meta);
}

static unsigned meta_version(const json_t *meta)
{
    return (unsigned)json_integer_value(json_object_get(meta, "current_version"));
}

static bool usage_has(const json_t *meta, const char *what)
{
    const kms_key_spec *s = kms_key_spec_of(meta);
    return s != NULL && strstr(s->usage, what) != NULL;
}

static kg_err wrong_usage(const json_t *meta, const char *op)
{
    const kms_key_spec *s = kms_key_spec_of(meta);
    return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "key '%s' is a %s key (usage %s) and cannot %s",
                      meta_name(meta), s ? s->name : "?", s ? s->usage : "?", op);
}

static json_t *info_json(const json_t *meta, unsigned version)
{
    return json_pack("{s:s,s:I}", "key_id", meta_id(meta), "version", (json_int_t)version);
}

/* Resolve and authorize with the read lock already held. */
static kg_err resolve_auth(kg_kms *kms, const kg_kms_caller *who, json_t **meta,
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
    if (e == KG_OK && (ct->data = malloc(hdr_len + rsa.len)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK) {
        memcpy(ct->data, hdr, hdr_len);
        memcpy(ct->data + hdr_len, rsa.data, rsa.len);
        ct->len = hdr_len + rsa.len;
    }
    kg_bytes_free(&rsa);
    return e;
}

static kg_err load_public(kg_kms *kms, kg_bytes *pub, const char *id, unsigned v);

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
    if (e == KG_OK && (ct->data = malloc(hdr_len + body.len)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK) {
        memcpy(ct->data, hdr, hdr_len);
        memcpy(ct->data + hdr_len, body.data, body.len);
        ct->len = hdr_len + body.len;
    }
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
    kg_err e = load_public(kms, &pub, meta_id(meta), v);
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
    if (spec == NULL || !usage_has(meta, "encrypt_decrypt"))
        return wrong_usage(meta, "encrypt");
    if (pt_len > MAX_PLAINTEXT)
        return kg_err_set(KG_ERR_TOO_LARGE, "the plaintext is %zu bytes; at most %d can be encrypted "
                          "directly (encrypt larger data locally under a data key)", pt_len, MAX_PLAINTEXT);
    if (!spec->symmetric && pt_len > rsa_max_plaintext(spec))
        return kg_err_set(KG_ERR_TOO_LARGE, "the plaintext is %zu bytes; %s keys encrypt at most %zu "
                          "bytes (use an AES_256 key or a data key)", pt_len, spec->name,
                          rsa_max_plaintext(spec));
    unsigned v = meta_version(meta);
    uint8_t hdr[HDR_MAX];
    size_t hdr_len = header_build(hdr, meta_id(meta), v);
    if (kms_key_is_hsm(meta))
        return hsm_encrypt(kms, ct, meta, spec, v, hdr, hdr_len, canon, pt, pt_len);
    kg_secret *key = NULL;
    kg_bytes pub = { 0 };
    kg_err e = kms_key_material(kms, &key, &pub, meta_id(meta), v);
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
    kg_err e = resolve_auth(kms, who, &meta, ref, action);
    if (e == KG_OK)
        e = encrypt_meta(kms, ct, meta, canon, pt, pt_len);
    if (e == KG_OK && (*info = info_json(meta, meta_version(meta))) == NULL) {
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
    kg_err e = resolve_auth(kms, who, meta, ref ? ref : id, action);
    if (e == KG_ERR_NOT_FOUND && ref == NULL)
        return decrypt_error();
    if (e != KG_OK)
        return e;
    if (ref != NULL && strcmp(meta_id(*meta), id) != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "the ciphertext was made with key %s, not with '%.64s'; "
                       "decrypt without a key reference or with the right one", id, ref);
    else if (!usage_has(*meta, "encrypt_decrypt"))
        e = wrong_usage(*meta, "decrypt");
    else if (v > meta_version(*meta))
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
    if (e == KG_OK && (*info = info_json(meta, v)) == NULL) {
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

/* ------------------------------------------------------ sign and verify */

/* The public key (SPKI DER) of version v, read without unsealing material. */
static kg_err load_public(kg_kms *kms, kg_bytes *pub, const char *id, unsigned v)
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
    e = resolve_auth(kms, who, &meta, ref, "sign");
    if (e == KG_OK && !usage_has(meta, "sign_verify"))
        e = wrong_usage(meta, "sign");
    unsigned v = meta ? meta_version(meta) : 0;
    bool hsm = e == KG_OK && kms_key_is_hsm(meta);
    if (e == KG_OK && hsm)
        e = kms_hsm_sign(kms, sig, meta, v, input, format, data, data_len);
    else if (e == KG_OK)
        e = kms_key_material(kms, &priv, NULL, meta_id(meta), v);
    if (e == KG_OK && !hsm)
        e = kg_crypto_sign(sig, kms_key_spec_of(meta)->type, priv, input, format, data, data_len);
    kms_unlock(kms);
    if (e == KG_OK && (*info = info_json(meta, v)) == NULL) {
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
    kg_err e = load_public(kms, &pub, meta_id(meta), v);
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
    e = resolve_auth(kms, who, &meta, ref, "verify");
    if (e == KG_OK && !usage_has(meta, "sign_verify"))
        e = wrong_usage(meta, "verify");
    unsigned cur = meta ? meta_version(meta) : 0, found = 0;
    if (e == KG_OK && version > cur)
        e = kg_err_set(KG_ERR_NOT_FOUND, "key '%s' has no version %u (current is %u)",
                       meta_name(meta), version, cur);
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
        e = kg_err_set(KG_ERR_VERIFY, "the signature is not valid for key '%s'%s", meta_name(meta),
                       version ? " at the given version" : " (checked every version)");
    if (e == KG_OK && (*info = info_json(meta, found)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(meta);
    return e;
}

/* ------------------------------------------------------------------ MAC */

static kg_err mac_version(kg_kms *kms, uint8_t out[static MAC_BYTES], const json_t *meta,
                          unsigned v, const uint8_t *msg, size_t msg_len)
{
    kg_secret *key = NULL;
    kg_err e = kms_key_material(kms, &key, NULL, meta_id(meta), v);
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
    e = resolve_auth(kms, who, meta, ref, action);
    if (e == KG_OK && !usage_has(*meta, "generate_verify_mac")) {
        e = wrong_usage(*meta, action);
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
    unsigned v = meta_version(meta);
    e = mac_version(kms, out, meta, v, msg, msg_len);
    kms_unlock(kms);
    if (e == KG_OK)
        e = kg_bytes_set(mac, out, MAC_BYTES);
    if (e == KG_OK && (*info = info_json(meta, v)) == NULL) {
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
    for (unsigned v = meta_version(meta); e == KG_OK && v >= 1; v--) {
        e = mac_version(kms, out, meta, v, msg, msg_len);
        if (e == KG_ERR_NOT_FOUND)
            e = KG_OK; /* no such version row: nothing to compare */
        else if (e == KG_OK && mac_len == MAC_BYTES && kg_ct_equal(out, mac, MAC_BYTES) && !found)
            found = v;
    }
    kms_unlock(kms);
    kg_wipe(out, sizeof(out));
    if (e == KG_OK && found == 0)
        e = kg_err_set(KG_ERR_VERIFY, "the MAC is not valid for key '%s'", meta_name(meta));
    if (e == KG_OK && (*info = info_json(meta, found)) == NULL)
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
        *out = json_pack("{s:s,s:I,s:s,s:s,s:o,s:o}", "key_id", meta_id(meta), "version",
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
    e = resolve_auth(kms, who, &meta, ref, "get-public-key");
    const kms_key_spec *spec = meta ? kms_key_spec_of(meta) : NULL;
    if (e == KG_OK && (spec == NULL || spec->symmetric))
        e = kg_err_set(KG_ERR_WRONG_KEY_USAGE, "key '%s' is a symmetric %s key and has no public key",
                       meta_name(meta), spec ? spec->name : "?");
    unsigned v = version ? version : (meta ? meta_version(meta) : 0);
    if (e == KG_OK && v > meta_version(meta))
        e = kg_err_set(KG_ERR_NOT_FOUND, "key '%s' has no version %u (current is %u)",
                       meta_name(meta), v, meta_version(meta));
    if (e == KG_OK)
        e = load_public(kms, &pub, meta_id(meta), v);
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
