/* AES-256-GCM through OpenSSL's EVP interface.
 *
 * The wrapper adds what EVP leaves to the caller: size checks with a clear
 * error, inputs longer than INT_MAX fed in chunks, and the failure rule of
 * the header: on any error the output buffer (ciphertext and tag, or
 * plaintext) is wiped, so a caller that ignores the error never acts on
 * unauthenticated plaintext.
 *
 * IVs of 1 to KG_GCM_IV_MAX_BYTES (128, OpenSSL's limit) bytes are accepted
 * (GCM hashes IVs other than 96 bits with GHASH), because wrapped keys from
 * other systems use them; new
 * data should always use KG_GCM_IV_BYTES random IVs. Tags are 12 to 16 bytes
 * (NIST SP 800-38D allows shorter ones only with usage limits we do not
 * track). Tag comparison is done by OpenSSL in constant time. */
#include "crypto_int.h"

#include <limits.h>

#define GCM_MIN_TAG 12
#define GCM_CHUNK ((size_t)1 << 30)

static kg_err check_sizes(const uint8_t *iv, size_t iv_len, const uint8_t *aad, size_t aad_len,
                          size_t tag_len)
{
    KG_ARG_CHECK(iv != NULL || iv_len == 0);
    KG_ARG_CHECK(aad != NULL || aad_len == 0);
    if (iv_len == 0 || iv_len > KG_GCM_IV_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "AES-GCM IV of %zu bytes is not allowed (1 to %d "
                          "bytes); use a random %d-byte IV", iv_len, KG_GCM_IV_MAX_BYTES,
                          KG_GCM_IV_BYTES);
    if (tag_len < GCM_MIN_TAG || tag_len > KG_GCM_TAG_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "AES-GCM tag of %zu bytes is not allowed; tags "
                          "are %d to %d bytes", tag_len, GCM_MIN_TAG, KG_GCM_TAG_BYTES);
    return KG_OK;
}

/* Feed len bytes through EVP_CipherUpdate in chunks (out NULL: AAD). */
static int gcm_update(EVP_CIPHER_CTX *c, uint8_t *out, const uint8_t *in, size_t len)
{
    while (len > 0) {
        int step = (int)(len < GCM_CHUNK ? len : GCM_CHUNK), n = 0;
        if (EVP_CipherUpdate(c, out, &n, in, step) != 1)
            return 0;
        in += step;
        len -= (size_t)step;
        if (out != NULL)
            out += step;
    }
    return 1;
}

static EVP_CIPHER_CTX *gcm_start(int enc, const uint8_t *key, const uint8_t *iv, size_t iv_len,
                                 const uint8_t *aad, size_t aad_len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return NULL;
    if (EVP_CipherInit_ex(c, kg_crypto_cipher_aes256gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1 ||
        !gcm_update(c, NULL, aad, aad_len)) {
        EVP_CIPHER_CTX_free(c);
        return NULL;
    }
    return c;
}

kg_err kg_crypto_aes256gcm_encrypt(uint8_t *ct, uint8_t *tag, size_t tag_len,
                                   const uint8_t key[static KG_AES256_KEY_BYTES],
                                   const uint8_t *iv, size_t iv_len,
                                   const uint8_t *aad, size_t aad_len,
                                   const uint8_t *pt, size_t pt_len)
{
    KG_ARG_CHECK(tag != NULL);
    KG_ARG_CHECK((ct != NULL && pt != NULL) || pt_len == 0);
    kg_err err = check_sizes(iv, iv_len, aad, aad_len, tag_len);
    if (err != KG_OK)
        return err;
    EVP_CIPHER_CTX *c = gcm_start(1, key, iv, iv_len, aad, aad_len);
    uint8_t fin[16]; /* GCM's final step outputs nothing; OpenSSL wants a buffer */
    int n = 0, ok = c != NULL && gcm_update(c, ct, pt, pt_len) &&
                    EVP_CipherFinal_ex(c, fin, &n) == 1 &&
                    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, (int)tag_len, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        if (ct != NULL)
            kg_wipe(ct, pt_len);
        kg_wipe(tag, tag_len);
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to encrypt with AES-256-GCM");
    }
    return KG_OK;
}

kg_err kg_crypto_aes256gcm_decrypt(uint8_t *pt,
                                   const uint8_t key[static KG_AES256_KEY_BYTES],
                                   const uint8_t *iv, size_t iv_len,
                                   const uint8_t *aad, size_t aad_len,
                                   const uint8_t *ct, size_t ct_len,
                                   const uint8_t *tag, size_t tag_len)
{
    KG_ARG_CHECK(tag != NULL || tag_len == 0);
    KG_ARG_CHECK((ct != NULL && pt != NULL) || ct_len == 0);
    kg_err err = check_sizes(iv, iv_len, aad, aad_len, tag_len);
    if (err != KG_OK)
        return err;
    EVP_CIPHER_CTX *c = gcm_start(0, key, iv, iv_len, aad, aad_len);
    if (c == NULL)
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to set up AES-256-GCM");
    uint8_t fin[16];
    int n = 0;
    int ok = gcm_update(c, pt, ct, ct_len) &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, (int)tag_len, (void *)tag) == 1;
    if (!ok) {
        EVP_CIPHER_CTX_free(c);
        if (pt != NULL)
            kg_wipe(pt, ct_len);
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to decrypt with AES-256-GCM");
    }
    ok = EVP_CipherFinal_ex(c, fin, &n) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        if (pt != NULL)
            kg_wipe(pt, ct_len);
        return kg_err_set(KG_ERR_DECRYPT, "AES-GCM authentication failed: the key, IV, "
                          "associated data, ciphertext or tag is wrong");
    }
    return KG_OK;
}
