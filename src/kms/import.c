/* BYOK: importing key material the customer generated elsewhere.
 *
 * Step 1 (kg_kms_import_params) makes a fresh RSA-3072 wrapping key and an
 * import token naming it. The private half is sealed under the root key in
 * import/<token> = {"wrapping_key_enc","expires_at"}; it is valid 24 hours
 * and for one successful import.
 * Step 2 (kg_kms_key_import) unwraps the material with it:
 *   RSAES_OAEP_SHA_256:        OAEP(SHA-256, MGF1-SHA-256, no label) of the
 *                              material itself (fits only small material);
 *   RSA_AES_KEY_WRAP_SHA_256:  (PKCS#11 CKM_RSA_AES_KEY_WRAP) 384 bytes of
 *                              OAEP of a fresh AES-256 key, then the material
 *                              wrapped with that key by AES key wrap with
 *                              padding (RFC 5649, OpenSSL's
 *                              EVP_aes_256_wrap_pad; we write no primitive).
 * The material must be 32 bytes for AES_256/HMAC_256, or a private key of
 * the spec (PKCS#8 DER; kg_crypto_priv_import checks it really is one).
 * The new key, its alias, its version and the deletion of the import token
 * are one store transaction, so a token can never import twice. A failed
 * import changes nothing, and the token stays usable until it expires. */
#include "kms_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_TTL 86400
#define TOKEN_HEX 32
#define RSA_WRAP_BYTES 384  /* RSA-3072 */
#define ALG_KWP "RSA_AES_KEY_WRAP_SHA_256"
#define ALG_OAEP "RSAES_OAEP_SHA_256"

static kg_err token_check(const char *t)
{
    bool ok = strlen(t) == TOKEN_HEX;
    for (size_t i = 0; ok && t[i] != '\0'; i++)
        ok = (t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f');
    if (!ok)
        return kg_err_set(KG_ERR_BAD_INPUT, "import_token is not valid; use the import_token returned "
                          "by `kashguard key import-params`");
    return KG_OK;
}

/* Seal and store the wrapping key under a new token. */
static kg_err store_wrapping_key(kg_kms *kms, char token[static TOKEN_HEX + 1], int64_t expires,
                                 const kg_secret *priv)
{
    uint8_t r[TOKEN_HEX / 2];
    kg_err e = kg_crypto_random(r, sizeof(r));
    if (e != KG_OK)
        return e;
    kg_hex_encode(token, r, sizeof(r));
    char label[64], skey[64];
    snprintf(label, sizeof(label), "import:%s", token);
    snprintf(skey, sizeof(skey), "import/%s", token);
    kg_bytes enc = { 0 };
    e = kms_seal_encrypt(kms, &enc, label, kg_secret_cdata(priv), kg_secret_len(priv));
    if (e != KG_OK)
        return e;
    json_t *row = json_pack("{s:o,s:I}", "wrapping_key_enc", kg_json_b64(enc.data, enc.len),
                            "expires_at", (json_int_t)expires);
    e = row ? kg_store_create_json(kms->st, NULL, skey, row) : KG_ERR_NOMEM;
    json_decref(row);
    kg_bytes_free(&enc);
    return e;
}

kg_err kg_kms_import_params(kg_kms *kms, const kg_kms_caller *who, json_t **out)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    kg_secret *priv = NULL;
    kg_bytes pub = { 0 };
    char *pem = NULL, token[TOKEN_HEX + 1], when[21];
    int64_t expires = kg_now() + IMPORT_TTL;
    e = kg_kms_authorize(kms, who, "import-key", NULL);
    if (e == KG_OK)
        e = kg_crypto_keygen(&priv, KG_CRYPTO_RSA3072);
    if (e == KG_OK)
        e = kg_crypto_pub_from_priv(&pub, KG_CRYPTO_RSA3072, priv);
    if (e == KG_OK)
        e = kg_crypto_pub_pem(&pem, pub.data, pub.len);
    if (e == KG_OK)
        e = store_wrapping_key(kms, token, expires, priv);
    kms_unlock(kms);
    kg_time_rfc3339(when, expires);
    if (e == KG_OK) {
        *out = json_pack("{s:s,s:s,s:s,s:[s,s],s:s}", "import_token", token, "public_key_pem", pem,
                         "wrapping_algorithm", ALG_KWP, "wrapping_algorithms", ALG_KWP, ALG_OAEP,
                         "expires_at", when);
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_secret_free(priv);
    kg_bytes_free(&pub);
    free(pem);
    return e;
}

/* --------------------------------------------------------------- import */

typedef struct {
    const kms_key_spec *spec;
    const char *alias, *description, *token, *alg;
    kg_bytes wrapped;
} import_req;

static kg_err parse_import(import_req *r, const json_t *req)
{
    static const char *const allowed[] = { "spec", "alias", "description", "import_token",
                                           "wrapped_material", "wrapping_algorithm", "protection",
                                           NULL };
    const char *spec = NULL, *prot = NULL;
    r->alg = ALG_KWP;
    kg_err e = kg_json_check_fields(req, allowed);
    if (e == KG_OK) e = kg_json_get_str(&spec, req, "spec", true);
    if (e == KG_OK) e = kg_json_get_str(&r->alias, req, "alias", false);
    if (e == KG_OK) e = kg_json_get_str(&r->description, req, "description", false);
    if (e == KG_OK) e = kg_json_get_str(&r->token, req, "import_token", true);
    if (e == KG_OK) e = kg_json_get_str(&r->alg, req, "wrapping_algorithm", false);
    if (e == KG_OK) e = kg_json_get_str(&prot, req, "protection", false);
    /* HSM keys are generated inside the HSM, non-extractable: material that
     * existed outside it cannot become one. */
    if (e == KG_OK && prot != NULL && strcmp(prot, "software") != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "imported keys are software keys (\"protection\":\"software\"); "
                       "HSM-protected keys are generated inside the HSM with `kashguard key create "
                       "--protection hsm`");
    if (e == KG_OK) e = kg_json_get_b64(&r->wrapped, req, "wrapped_material", true, 1 << 14);
    if (e != KG_OK)
        return e;
    if ((r->spec = kms_key_spec_find(spec)) == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown key spec '%.32s'", spec);
    if (strcmp(r->alg, ALG_KWP) != 0 && strcmp(r->alg, ALG_OAEP) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "wrapping_algorithm must be " ALG_KWP " or " ALG_OAEP);
    if (r->alias != NULL && (e = kms_alias_check(r->alias)) != KG_OK)
        return e;
    if ((e = kms_check_description(r->description)) != KG_OK)
        return e;
    return token_check(r->token);
}

/* The wrapping private key of a live import token. */
static kg_err load_wrapping_key(kg_kms *kms, kg_secret **priv, const char *token)
{
    char skey[64], label[64];
    snprintf(skey, sizeof(skey), "import/%s", token);
    snprintf(label, sizeof(label), "import:%s", token);
    json_t *row = NULL;
    kg_err e = kg_store_get_json(kms->st, NULL, &row, skey);
    if (e == KG_ERR_NOT_FOUND)
        return kg_err_set(KG_ERR_NOT_FOUND, "import token not found (unknown, expired or already "
                          "used); get a new one with `kashguard key import-params`");
    if (e != KG_OK)
        return e;
    kg_bytes enc = { 0 };
    if (json_integer_value(json_object_get(row, "expires_at")) < kg_now())
        e = kg_err_set(KG_ERR_BAD_INPUT, "the import token has expired (they are valid 24 hours); "
                       "get a new one with `kashguard key import-params`");
    else if (kg_json_get_b64(&enc, row, "wrapping_key_enc", true, 1 << 14) != KG_OK)
        e = kg_err_set(KG_ERR_STORE, "import row in the store is damaged");
    json_decref(row);
    if (e == KG_OK)
        e = kms_seal_decrypt(kms, priv, label, enc.data, enc.len);
    kg_bytes_free(&enc);
    return e;
}

/* RFC 5649 unwrap with OpenSSL. KG_ERR_DECRYPT when the integrity check fails. */
static kg_err kwp_unwrap(kg_secret **out, const uint8_t key[static 32], const uint8_t *in, size_t len)
{
    *out = NULL;
    if (len < 16 || len % 8 != 0 || len > (1 << 14))
        return KG_ERR_DECRYPT;
    kg_secret *buf = kg_secret_new(len);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    kg_err e = (buf && c) ? KG_OK : KG_ERR_NOMEM;
    if (e == KG_OK) {
        EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        if (EVP_DecryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, key, NULL) != 1 ||
            EVP_DecryptUpdate(c, kg_secret_data(buf), &n, in, (int)len) != 1 || n <= 0 ||
            EVP_DecryptFinal_ex(c, kg_secret_data(buf) + n, &fin) != 1)
            e = KG_ERR_DECRYPT;
    }
    EVP_CIPHER_CTX_free(c);
    if (e == KG_OK && (*out = kg_secret_from(kg_secret_cdata(buf), (size_t)n)) == NULL)
        e = KG_ERR_NOMEM;
    kg_secret_free(buf);
    return e;
}

static kg_err unwrap(kg_secret **material, const kg_secret *priv, const import_req *r)
{
    *material = NULL;
    kg_err e;
    if (strcmp(r->alg, ALG_OAEP) == 0) {
        e = kg_crypto_rsa_oaep_decrypt(material, priv, NULL, 0, r->wrapped.data, r->wrapped.len);
    } else if (r->wrapped.len <= RSA_WRAP_BYTES) {
        e = KG_ERR_DECRYPT;
    } else {
        kg_secret *aes = NULL;
        e = kg_crypto_rsa_oaep_decrypt(&aes, priv, NULL, 0, r->wrapped.data, RSA_WRAP_BYTES);
        if (e == KG_OK && kg_secret_len(aes) != 32)
            e = KG_ERR_DECRYPT;
        if (e == KG_OK)
            e = kwp_unwrap(material, kg_secret_cdata(aes), r->wrapped.data + RSA_WRAP_BYTES,
                           r->wrapped.len - RSA_WRAP_BYTES);
        kg_secret_free(aes);
    }
    if (e == KG_ERR_NOMEM)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "wrapped_material could not be unwrapped with this import "
                          "token's key using %s; wrap it with the public key of the same "
                          "import-params call", r->alg);
    return KG_OK;
}

/* Check the material fits the spec; *norm is the native encoding. */
static kg_err check_material(kg_secret **norm, const kms_key_spec *spec, const kg_secret *m)
{
    *norm = NULL;
    if (spec->symmetric) {
        if (kg_secret_len(m) != 32)
            return kg_err_set(KG_ERR_BAD_INPUT, "%s material must be exactly 32 bytes (got %zu)",
                              spec->name, kg_secret_len(m));
        *norm = kg_secret_from(kg_secret_cdata(m), 32);
        return *norm ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (kg_crypto_priv_import(norm, spec->type, kg_secret_cdata(m), kg_secret_len(m)) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "the unwrapped material is not a valid %s private key; "
                          "import the key as PKCS#8 DER", spec->name);
    return KG_OK;
}

kg_err kg_kms_key_import(kg_kms *kms, const kg_kms_caller *who, json_t **out, const json_t *req)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL && req != NULL);
    *out = NULL;
    import_req r = { 0 };
    kg_err e = parse_import(&r, req);
    if (e != KG_OK) {
        kg_bytes_free(&r.wrapped);
        return e;
    }
    if ((e = kms_rdlock_unsealed(kms)) != KG_OK) {
        kg_bytes_free(&r.wrapped);
        return e;
    }
    kg_secret *priv = NULL, *raw = NULL, *material = NULL;
    json_t *meta = NULL;
    char consume[64];
    snprintf(consume, sizeof(consume), "import/%s", r.token);
    e = kg_kms_authorize(kms, who, "import-key", NULL);
    if (e == KG_OK)
        e = load_wrapping_key(kms, &priv, r.token);
    if (e == KG_OK)
        e = unwrap(&raw, priv, &r);
    if (e == KG_OK)
        e = check_material(&material, r.spec, raw);
    if (e == KG_OK)
        e = kms_key_store_new(kms, &meta, r.spec, r.alias, r.description, 0, "imported", material,
                              consume);
    kms_unlock(kms);
    kg_secret_free(priv);
    kg_secret_free(raw);
    kg_secret_free(material);
    kg_bytes_free(&r.wrapped);
    if (e != KG_OK)
        return e;
    *out = kms_key_public(meta);
    json_decref(meta);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}
