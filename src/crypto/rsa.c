/* RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017 §7.1), for wrapping
 * keys to and from other systems (cloud KMS imports, HSM key transport).
 *
 * The label is optional (empty by default, as in RFC 8017); when a label is
 * given, the same label must be given to decrypt. Decryption reports every
 * failure - wrong size, bad padding, wrong label, wrong key - as the single
 * KG_ERR_DECRYPT with one fixed message, and OpenSSL's OAEP decoding is
 * constant time, so no padding oracle (Manger's attack) reaches a caller.
 * The plaintext goes straight into guarded memory: OpenSSL decrypts into a
 * modulus-sized kg_secret, which is copied to an exact-size one and wiped. */
#include "crypto_int.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

/* Configure c for OAEP; the label is copied (OpenSSL takes ownership). */
static int oaep_params(EVP_PKEY_CTX *c, const uint8_t *label, size_t label_len)
{
    if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) != 1)
        return 0;
    if (label_len == 0)
        return 1;
    if (label_len > INT_MAX)
        return 0;
    uint8_t *copy = OPENSSL_memdup(label, label_len);
    if (copy == NULL)
        return 0;
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(c, copy, (int)label_len) != 1) {
        OPENSSL_free(copy);
        return 0;
    }
    return 1;
}

kg_err kg_crypto_rsa_oaep_encrypt(kg_bytes *ct, const uint8_t *spki, size_t spki_len,
                                  const uint8_t *label, size_t label_len,
                                  const uint8_t *pt, size_t pt_len)
{
    KG_ARG_CHECK(ct != NULL);
    KG_ARG_CHECK(spki != NULL || spki_len == 0);
    KG_ARG_CHECK(label != NULL || label_len == 0);
    KG_ARG_CHECK(pt != NULL || pt_len == 0);
    ct->data = NULL;
    ct->len = 0;
    EVP_PKEY *pkey = NULL;
    kg_err err = kg_crypto_pkey_from_spki(&pkey, KG_CRYPTO_RSA4096, spki, spki_len);
    if (err != KG_OK) /* any of the three sizes will do for wrapping */
        err = kg_crypto_pkey_from_spki(&pkey, KG_CRYPTO_RSA3072, spki, spki_len);
    if (err != KG_OK)
        err = kg_crypto_pkey_from_spki(&pkey, KG_CRYPTO_RSA2048, spki, spki_len);
    if (err != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "the wrapping key is not an RSA-2048, RSA-3072 or "
                          "RSA-4096 SubjectPublicKeyInfo");
    size_t max_pt = (size_t)EVP_PKEY_get_size(pkey) - 2 * KG_SHA256_BYTES - 2;
    if (pt_len > max_pt) {
        EVP_PKEY_free(pkey);
        return kg_err_set(KG_ERR_BAD_INPUT, "OAEP can wrap at most %zu bytes with this key; "
                          "got %zu", max_pt, pt_len);
    }
    static const uint8_t empty[1];
    size_t len = (size_t)EVP_PKEY_get_size(pkey);
    uint8_t *buf = malloc(len);
    EVP_PKEY_CTX *c = buf ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    int ok = c != NULL && EVP_PKEY_encrypt_init(c) == 1 && oaep_params(c, label, label_len) &&
             EVP_PKEY_encrypt(c, buf, &len, pt_len ? pt : empty, pt_len) == 1;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pkey);
    err = ok ? kg_bytes_set(ct, buf, len)
             : kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to encrypt with RSA-OAEP");
    free(buf);
    return err;
}

/* Which RSA type the PKCS#8 key is (the caller's key has no type here). */
static kg_err rsa_priv_pkey(EVP_PKEY **out, const kg_secret *priv)
{
    static const kg_crypto_key_type types[] = {KG_CRYPTO_RSA2048, KG_CRYPTO_RSA3072,
                                               KG_CRYPTO_RSA4096};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (kg_crypto_pkey_from_priv(out, types[i], priv) == KG_OK)
            return KG_OK;
    return kg_err_set(KG_ERR_BAD_INPUT, "the private key is not an RSA-2048, RSA-3072 or "
                      "RSA-4096 PKCS#8 key");
}

kg_err kg_crypto_rsa_oaep_decrypt(kg_secret **pt, const kg_secret *priv,
                                  const uint8_t *label, size_t label_len,
                                  const uint8_t *ct, size_t ct_len)
{
    KG_ARG_CHECK(pt != NULL && priv != NULL);
    KG_ARG_CHECK(label != NULL || label_len == 0);
    KG_ARG_CHECK(ct != NULL || ct_len == 0);
    *pt = NULL;
    EVP_PKEY *pkey = NULL;
    kg_err err = rsa_priv_pkey(&pkey, priv);
    if (err != KG_OK)
        return err;
    size_t k = (size_t)EVP_PKEY_get_size(pkey), len = k;
    kg_secret *buf = ct_len == k ? kg_secret_new(k) : NULL;
    EVP_PKEY_CTX *c = buf ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    int ok = c != NULL && EVP_PKEY_decrypt_init(c) == 1 && oaep_params(c, label, label_len) &&
             EVP_PKEY_decrypt(c, kg_secret_data(buf), &len, ct, ct_len) == 1 && len <= k;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pkey);
    ERR_clear_error(); /* OpenSSL's error queue must not tell padding errors apart */
    if (ok && (*pt = kg_secret_from(kg_secret_data(buf), len)) == NULL)
        err = kg_err_set(KG_ERR_NOMEM, "cannot allocate the decrypted plaintext");
    else if (!ok)
        err = kg_err_set(KG_ERR_DECRYPT, "RSA-OAEP decryption failed: the ciphertext, label or "
                         "key is wrong");
    kg_secret_free(buf);
    return err;
}
