/* Hashes, MACs and HKDF.
 *
 * One-shot SHA-256/SHA-512 and HKDF go through OpenSSL 3 (EVP_Digest with
 * pre-fetched digests, EVP_KDF "HKDF"); HMAC goes through libsodium (see
 * below why).
 *
 * The incremental SHA-256 context is different on purpose. Its API returns
 * void and lives in a caller-owned fixed-size struct that callers may simply
 * drop (a hash chain abandoned on an error path). An EVP_MD_CTX would need a
 * heap allocation in init (which can fail, and a void function cannot say
 * so) and a free in final (which an abandoned context would leak). So the
 * context holds libsodium's crypto_hash_sha256_state in place: no
 * allocation, nothing to free, cannot fail, and the same FIPS 180-4 function
 * (the tests check it against the one-shot OpenSSL digest). final wipes the
 * state, so a finished context holds nothing of the hashed data.
 *
 * The one-shot digests also return void; OpenSSL can fail them only when
 * memory is exhausted or its provider is broken, and continuing with an
 * unset digest would be a security bug, so that case aborts with a message. */
#include "crypto_int.h"

#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(kg_crypto_sha256_ctx),
               "kg_crypto_sha256_ctx too small for libsodium's SHA-256 state");
_Static_assert(_Alignof(crypto_hash_sha256_state) <= _Alignof(kg_crypto_sha256_ctx),
               "kg_crypto_sha256_ctx under-aligned for libsodium's SHA-256 state");

static void digest_or_abort(uint8_t *out, const EVP_MD *md, const uint8_t *in, size_t len)
{
    static const uint8_t empty[1];
    if (EVP_Digest(len ? in : empty, len, out, NULL, md, NULL) != 1) {
        fputs("kashguard: OpenSSL could not compute a digest (out of memory or "
              "broken provider); aborting\n", stderr);
        abort();
    }
}

void kg_crypto_sha256(uint8_t out[static KG_SHA256_BYTES], const uint8_t *in, size_t len)
{
    digest_or_abort(out, kg_crypto_md_sha256(), in, len);
}

void kg_crypto_sha512(uint8_t out[static KG_SHA512_BYTES], const uint8_t *in, size_t len)
{
    digest_or_abort(out, kg_crypto_md_sha512(), in, len);
}

void kg_crypto_sha256_init(kg_crypto_sha256_ctx *ctx)
{
    crypto_hash_sha256_init((crypto_hash_sha256_state *)(void *)ctx->opaque);
}

void kg_crypto_sha256_update(kg_crypto_sha256_ctx *ctx, const uint8_t *in, size_t len)
{
    if (len == 0)
        return;
    crypto_hash_sha256_update((crypto_hash_sha256_state *)(void *)ctx->opaque, in, len);
}

void kg_crypto_sha256_final(uint8_t out[static KG_SHA256_BYTES], kg_crypto_sha256_ctx *ctx)
{
    crypto_hash_sha256_final((crypto_hash_sha256_state *)(void *)ctx->opaque, out);
    sodium_memzero(ctx, sizeof *ctx);
}

/* HMAC through libsodium's incremental API: it takes keys of any length
 * (hashing long ones, as RFC 2104 says) and, unlike OpenSSL 3's HMAC(),
 * looks no algorithm up by name on every call, which matters on the
 * server's hot path (the audit HMAC of every request). The Wycheproof
 * vectors pin it to the standard. */
kg_err kg_crypto_hmac_sha256(uint8_t out[static 32], const uint8_t *key, size_t key_len,
                             const uint8_t *msg, size_t msg_len)
{
    KG_ARG_CHECK(key != NULL || key_len == 0);
    KG_ARG_CHECK(msg != NULL || msg_len == 0);
    static const uint8_t empty[1];
    crypto_auth_hmacsha256_state st;
    if (crypto_auth_hmacsha256_init(&st, key_len ? key : empty, key_len) != 0 ||
        crypto_auth_hmacsha256_update(&st, msg_len ? msg : empty, msg_len) != 0 ||
        crypto_auth_hmacsha256_final(&st, out) != 0) {
        sodium_memzero(&st, sizeof st);
        kg_wipe(out, 32);
        return kg_err_set(KG_ERR_CRYPTO, "libsodium failed to compute HMAC-SHA-256");
    }
    sodium_memzero(&st, sizeof st);
    return KG_OK;
}

kg_err kg_crypto_hmac_sha512(uint8_t out[static 64], const uint8_t *key, size_t key_len,
                             const uint8_t *msg, size_t msg_len)
{
    KG_ARG_CHECK(key != NULL || key_len == 0);
    KG_ARG_CHECK(msg != NULL || msg_len == 0);
    static const uint8_t empty[1];
    crypto_auth_hmacsha512_state st;
    if (crypto_auth_hmacsha512_init(&st, key_len ? key : empty, key_len) != 0 ||
        crypto_auth_hmacsha512_update(&st, msg_len ? msg : empty, msg_len) != 0 ||
        crypto_auth_hmacsha512_final(&st, out) != 0) {
        sodium_memzero(&st, sizeof st);
        kg_wipe(out, 64);
        return kg_err_set(KG_ERR_CRYPTO, "libsodium failed to compute HMAC-SHA-512");
    }
    sodium_memzero(&st, sizeof st);
    return KG_OK;
}

kg_err kg_crypto_hkdf_sha256(uint8_t *out, size_t out_len,
                             const uint8_t *ikm, size_t ikm_len,
                             const uint8_t *salt, size_t salt_len,
                             const uint8_t *info, size_t info_len)
{
    static uint8_t empty[1];
    KG_ARG_CHECK(out != NULL || out_len == 0);
    KG_ARG_CHECK(ikm != NULL || ikm_len == 0);
    KG_ARG_CHECK(salt != NULL || salt_len == 0);
    KG_ARG_CHECK(info != NULL || info_len == 0);
    if (out_len == 0 || out_len > 255 * KG_SHA256_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "HKDF-SHA256 output length %zu is out of range; "
                          "ask for 1 to %d bytes", out_len, 255 * KG_SHA256_BYTES);

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL has no HKDF implementation available");

    OSSL_PARAM params[5];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    /* OpenSSL copies these buffers; casts drop const only for the API. */
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                    ikm_len ? (void *)ikm : empty, ikm_len);
    if (salt_len > 0) /* RFC 5869: no salt means HashLen zero bytes, OpenSSL's default */
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                        (void *)salt, salt_len);
    if (info_len > 0)
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                        (void *)info, info_len);
    params[n] = OSSL_PARAM_construct_end();

    int ok = EVP_KDF_derive(kctx, out, out_len, params);
    EVP_KDF_CTX_free(kctx);
    if (ok != 1) {
        kg_wipe(out, out_len);
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to derive an HKDF-SHA256 key");
    }
    return KG_OK;
}
