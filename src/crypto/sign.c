/* kg_crypto_sign / kg_crypto_verify: one entry point per direction for every
 * key type, so the KMS never branches on algorithms itself.
 *
 * Input modes: KG_CRYPTO_INPUT_MESSAGE hashes the message with SHA-256 here
 * (ECDSA, RSA-PSS) or signs it as is (pure Ed25519, RFC 8032);
 * KG_CRYPTO_INPUT_DIGEST takes a caller-computed 32-byte SHA-256 digest and
 * is refused for Ed25519, which has no prehashed form in this API (Ed25519ph
 * is a different algorithm; silently signing a digest as a message would
 * produce signatures nobody else checks the same way).
 *
 * ECDSA is delegated to ecdsa.c. Ed25519 and RSASSA-PSS (SHA-256, MGF1 with
 * SHA-256, 32-byte salt: what KMS clients call PS256) use OpenSSL's EVP
 * interface. Every verification failure, including a signature that cannot
 * even be parsed, is KG_ERR_VERIFY; KG_ERR_BAD_INPUT is kept for a bad key. */
#include "crypto_int.h"

#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#define ED25519_SIG_BYTES 64
#define PSS_SALT_BYTES 32

static kg_err check_common(kg_crypto_key_type t, kg_crypto_input input,
                           kg_crypto_sig_format format)
{
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    if (input != KG_CRYPTO_INPUT_MESSAGE && input != KG_CRYPTO_INPUT_DIGEST)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown signature input mode %d", (int)input);
    if (format != KG_CRYPTO_SIG_DER && format != KG_CRYPTO_SIG_RAW)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown signature format %d", (int)format);
    if (t == KG_CRYPTO_ED25519 && input == KG_CRYPTO_INPUT_DIGEST)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "Ed25519 signs the message itself, not a "
                          "digest; send the message with input mode 'message'");
    if (!kg_crypto_is_ec(t) && t != KG_CRYPTO_ED25519 && !kg_crypto_is_rsa(t, NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown key type %d", (int)t);
    return KG_OK;
}

/* The SHA-256 digest the ECDSA/RSA operation works on. */
static kg_err input_digest(uint8_t out[KG_SHA256_BYTES], kg_crypto_input input,
                           const uint8_t *data, size_t data_len)
{
    if (input == KG_CRYPTO_INPUT_MESSAGE) {
        kg_crypto_sha256(out, data, data_len);
        return KG_OK;
    }
    if (data_len != KG_SHA256_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "a digest must be a 32-byte SHA-256 value; got %zu "
                          "bytes (send the message itself with input mode 'message')", data_len);
    memcpy(out, data, KG_SHA256_BYTES);
    return KG_OK;
}

/* Set up ctx for RSASSA-PSS with SHA-256 / MGF1-SHA-256 / 32-byte salt. */
static int pss_params(EVP_PKEY_CTX *c)
{
    return EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(c, PSS_SALT_BYTES) == 1;
}

/* Sign with an OpenSSL key: Ed25519 over the message, RSA-PSS over digest. */
static kg_err evp_sign(kg_bytes *sig, kg_crypto_key_type t, const kg_secret *priv,
                       const uint8_t *data, size_t data_len, const uint8_t digest[32])
{
    EVP_PKEY *pkey = NULL;
    kg_err err = kg_crypto_pkey_from_priv(&pkey, t, priv);
    if (err != KG_OK)
        return err;
    size_t len = (size_t)EVP_PKEY_get_size(pkey);
    uint8_t *buf = malloc(len);
    int ok = 0;
    if (buf != NULL && t == KG_CRYPTO_ED25519) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        static const uint8_t empty[1];
        ok = m != NULL && EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, pkey, NULL) == 1 &&
             EVP_DigestSign(m, buf, &len, data_len ? data : empty, data_len) == 1;
        EVP_MD_CTX_free(m);
    } else if (buf != NULL) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        ok = c != NULL && EVP_PKEY_sign_init(c) == 1 && pss_params(c) &&
             EVP_PKEY_sign(c, buf, &len, digest, KG_SHA256_BYTES) == 1;
        EVP_PKEY_CTX_free(c);
    }
    EVP_PKEY_free(pkey);
    err = ok ? kg_bytes_set(sig, buf, len)
             : kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to sign with the %s key",
                          t == KG_CRYPTO_ED25519 ? "Ed25519" : "RSA");
    free(buf);
    return err;
}

kg_err kg_crypto_sign(kg_bytes *sig, kg_crypto_key_type t, const kg_secret *priv,
                      kg_crypto_input input, kg_crypto_sig_format format,
                      const uint8_t *data, size_t data_len)
{
    KG_ARG_CHECK(sig != NULL && priv != NULL);
    KG_ARG_CHECK(data != NULL || data_len == 0);
    sig->data = NULL;
    sig->len = 0;
    kg_err err = check_common(t, input, format);
    if (err != KG_OK)
        return err;
    uint8_t digest[KG_SHA256_BYTES];
    if (t != KG_CRYPTO_ED25519 && (err = input_digest(digest, input, data, data_len)) != KG_OK)
        return err;
    if (!kg_crypto_is_ec(t))
        return evp_sign(sig, t, priv, data, data_len, digest);

    uint8_t rs[64], der[72];
    if ((err = kg_ecdsa_sign_digest(rs, t, priv, digest)) != KG_OK)
        return err;
    if (format == KG_CRYPTO_SIG_RAW)
        return kg_bytes_set(sig, rs, sizeof rs);
    size_t n = kg_ecdsa_der_encode(der, rs);
    return kg_bytes_set(sig, der, n);
}

static kg_err evp_verify(kg_crypto_key_type t, const uint8_t *spki, size_t spki_len,
                         const uint8_t *data, size_t data_len, const uint8_t digest[32],
                         const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY *pkey = NULL;
    kg_err err = kg_crypto_pkey_from_spki(&pkey, t, spki, spki_len);
    if (err != KG_OK)
        return err;
    int rc = 0;
    if (t == KG_CRYPTO_ED25519) {
        EVP_MD_CTX *m = sig_len == ED25519_SIG_BYTES ? EVP_MD_CTX_new() : NULL;
        static const uint8_t empty[1];
        rc = m != NULL && EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, pkey, NULL) == 1 &&
             EVP_DigestVerify(m, sig, sig_len, data_len ? data : empty, data_len) == 1;
        EVP_MD_CTX_free(m);
    } else if (sig_len == (size_t)EVP_PKEY_get_size(pkey)) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        rc = c != NULL && EVP_PKEY_verify_init(c) == 1 && pss_params(c) &&
             EVP_PKEY_verify(c, sig, sig_len, digest, KG_SHA256_BYTES) == 1;
        EVP_PKEY_CTX_free(c);
    }
    EVP_PKEY_free(pkey);
    return rc ? KG_OK : kg_err_set(KG_ERR_VERIFY, "the %s signature does not verify",
                                   t == KG_CRYPTO_ED25519 ? "Ed25519" : "RSA-PSS");
}

kg_err kg_crypto_verify(kg_crypto_key_type t, const uint8_t *spki, size_t spki_len,
                        kg_crypto_input input, kg_crypto_sig_format format, unsigned flags,
                        const uint8_t *data, size_t data_len,
                        const uint8_t *sig, size_t sig_len)
{
    KG_ARG_CHECK(spki != NULL || spki_len == 0);
    KG_ARG_CHECK(data != NULL || data_len == 0);
    KG_ARG_CHECK(sig != NULL || sig_len == 0);
    kg_err err = check_common(t, input, format);
    if (err != KG_OK)
        return err;
    uint8_t digest[KG_SHA256_BYTES];
    if (t != KG_CRYPTO_ED25519 && (err = input_digest(digest, input, data, data_len)) != KG_OK)
        return err;
    if (!kg_crypto_is_ec(t))
        return evp_verify(t, spki, spki_len, data, data_len, digest, sig, sig_len);

    uint8_t rs[64];
    if (format == KG_CRYPTO_SIG_RAW) {
        if (sig_len != sizeof rs)
            return kg_err_set(KG_ERR_VERIFY, "a raw ECDSA signature is 64 bytes (r||s); got %zu",
                              sig_len);
        memcpy(rs, sig, sizeof rs);
    } else if (!kg_ecdsa_der_parse(rs, sig, sig_len)) {
        return kg_err_set(KG_ERR_VERIFY, "the signature is not a strict DER ECDSA signature");
    }
    return kg_ecdsa_verify_digest(t, spki, spki_len, flags, digest, rs);
}
