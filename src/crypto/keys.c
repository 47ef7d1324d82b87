/* Asymmetric keys: generation, import, and the public-key encodings.
 *
 * Native private-key encodings (crypto.h): a 32-byte big-endian scalar for
 * P-256 and secp256k1, the 32-byte RFC 8032 seed for Ed25519, PKCS#8 DER for
 * RSA. Every private key that leaves this file is in that form and has been
 * checked (scalar in [1, n-1], RSA key consistent and of the right size), so
 * the signing code can trust it.
 *
 * Public keys are SubjectPublicKeyInfo DER. For the EC and Ed25519 types we
 * build it by hand: the SPKI of a named-curve key is a fixed prefix (the
 * algorithm identifier and the BIT STRING header) followed by the point, so
 * there is nothing to get wrong and no allocation. Parsing goes through
 * OpenSSL's d2i_PUBKEY, which checks that the point lies on the curve and
 * accepts every valid form (compressed points too); we add the checks it
 * leaves to us: the curve or algorithm matches the expected type, the RSA
 * modulus has the expected size, and no bytes trail the structure.
 *
 * secp256k1 private keys never enter OpenSSL: libsecp256k1 signs and derives
 * with them in constant time. P-256 keys enter OpenSSL through
 * EVP_PKEY_fromdata with the scalar in a BN_secure BIGNUM, which OpenSSL
 * treats with its constant-time code paths and wipes when freed. */
#include "crypto_int.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* SEQUENCE { SEQUENCE { id-ecPublicKey, <curve OID> }, BIT STRING (0 unused) } */
static const uint8_t SPKI_P256[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const uint8_t SPKI_K256[] = {
    0x30, 0x56, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a, 0x03, 0x42, 0x00};
/* SEQUENCE { SEQUENCE { id-Ed25519 }, BIT STRING (0 unused) } */
static const uint8_t SPKI_ED25519[] = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

/* The P-256 group order n, big-endian (secp256k1's is checked by libsecp256k1). */
static const uint8_t P256_ORDER[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

int kg_crypto_is_ec(kg_crypto_key_type t)
{
    return t == KG_CRYPTO_P256 || t == KG_CRYPTO_SECP256K1;
}

int kg_crypto_is_rsa(kg_crypto_key_type t, int *bits)
{
    int b = t == KG_CRYPTO_RSA2048 ? 2048 : t == KG_CRYPTO_RSA3072 ? 3072
          : t == KG_CRYPTO_RSA4096 ? 4096 : 0;
    if (bits != NULL)
        *bits = b;
    return b != 0;
}

const char *kg_crypto_ec_group_name(kg_crypto_key_type t)
{
    return t == KG_CRYPTO_P256 ? "prime256v1" : t == KG_CRYPTO_SECP256K1 ? "secp256k1" : NULL;
}

static kg_err check_type(kg_crypto_key_type t)
{
    if (kg_crypto_is_ec(t) || t == KG_CRYPTO_ED25519 || kg_crypto_is_rsa(t, NULL))
        return KG_OK;
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown key type %d", (int)t);
}

/* 1 when the 32-byte big-endian scalar k is in [1, n-1]; constant time in k. */
static int ec_scalar_valid(kg_crypto_key_type t, const uint8_t k[32])
{
    if (t == KG_CRYPTO_SECP256K1)
        return secp256k1_ec_seckey_verify(kg_crypto_secp(), k);
    uint8_t le_k[32], le_n[32];
    for (size_t i = 0; i < 32; i++) {
        le_k[i] = k[31 - i];
        le_n[i] = P256_ORDER[31 - i];
    }
    /* sodium_compare and sodium_is_zero are constant time (little-endian). */
    int below_n = sodium_compare(le_k, le_n, 32) < 0, zero = sodium_is_zero(le_k, 32);
    int ok = below_n & (zero ^ 1); /* both always computed: no early exit */
    sodium_memzero(le_k, sizeof le_k);
    return ok;
}

/* ------------------------------------------------------------- PKCS#8 */

/* PKCS#8 PrivateKeyInfo, or the "traditional" per-algorithm DER that
 * `openssl genpkey -outform DER` and many HSM exports produce (SEC1
 * ECPrivateKey, PKCS#1 RSAPrivateKey). Either must be the whole input. */
static kg_err pkcs8_decode(EVP_PKEY **out, const uint8_t *der, size_t der_len)
{
    *out = NULL;
    if (der_len > LONG_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "the private key is too large");
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)der_len);
    if (p8 != NULL && p == der + der_len) {
        *out = EVP_PKCS82PKEY(p8);
        PKCS8_PRIV_KEY_INFO_free(p8);
        if (*out == NULL)
            return kg_err_set(KG_ERR_BAD_INPUT, "the PKCS#8 private key could not be decoded "
                              "(unsupported algorithm or corrupt key)");
        return KG_OK;
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    p = der;
    EVP_PKEY *pkey = d2i_AutoPrivateKey(NULL, &p, (long)der_len);
    if (pkey == NULL || p != der + der_len) {
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return kg_err_set(KG_ERR_BAD_INPUT, "the private key is neither in its native encoding "
                          "nor DER (PKCS#8 PrivateKeyInfo, SEC1 ECPrivateKey or PKCS#1 RSAPrivateKey)");
    }
    *out = pkey;
    return KG_OK;
}

static kg_err pkcs8_encode(kg_secret **out, EVP_PKEY *pkey)
{
    *out = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    int len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
    kg_secret *s = len > 0 ? kg_secret_new((size_t)len) : NULL;
    unsigned char *p = s ? kg_secret_data(s) : NULL;
    if (s == NULL || i2d_PKCS8_PRIV_KEY_INFO(p8, &p) != len) {
        PKCS8_PRIV_KEY_INFO_free(p8);
        kg_secret_free(s);
        return kg_err_set(KG_ERR_CRYPTO, "could not encode the private key as PKCS#8");
    }
    PKCS8_PRIV_KEY_INFO_free(p8);
    *out = s;
    return KG_OK;
}

/* Checks an RSA key: plain rsaEncryption, the right modulus size, consistent. */
static kg_err rsa_check(EVP_PKEY *pkey, kg_crypto_key_type t, int need_private)
{
    int bits = 0;
    kg_crypto_is_rsa(t, &bits);
    if (!EVP_PKEY_is_a(pkey, "RSA"))
        return kg_err_set(KG_ERR_BAD_INPUT, "the key is not an RSA (rsaEncryption) key");
    if (EVP_PKEY_get_bits(pkey) != bits)
        return kg_err_set(KG_ERR_BAD_INPUT, "the RSA key has %d bits but the key type needs %d",
                          EVP_PKEY_get_bits(pkey), bits);
    if (need_private) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int ok = c != NULL && EVP_PKEY_check(c) == 1;
        EVP_PKEY_CTX_free(c);
        if (!ok)
            return kg_err_set(KG_ERR_BAD_INPUT, "the RSA private key is inconsistent "
                              "(its primes, exponents and modulus do not match)");
    }
    return KG_OK;
}

/* The group name of an EC OpenSSL key matches t. */
static int ec_group_is(const EVP_PKEY *pkey, kg_crypto_key_type t)
{
    char name[64];
    size_t len = 0;
    if (!EVP_PKEY_is_a(pkey, "EC") ||
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1)
        return 0;
    return strcmp(name, kg_crypto_ec_group_name(t)) == 0;
}

/* The native encoding of a decoded PKCS#8 key of type t. */
static kg_err native_from_pkey(kg_secret **out, kg_crypto_key_type t, EVP_PKEY *pkey)
{
    *out = NULL;
    if (kg_crypto_is_rsa(t, NULL)) {
        kg_err err = rsa_check(pkey, t, 1);
        return err != KG_OK ? err : pkcs8_encode(out, pkey);
    }
    kg_secret *s = kg_secret_new(32);
    if (s == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate a private key");
    int ok = 0;
    if (t == KG_CRYPTO_ED25519) {
        size_t len = 32;
        ok = EVP_PKEY_is_a(pkey, "ED25519") &&
             EVP_PKEY_get_raw_private_key(pkey, kg_secret_data(s), &len) == 1 && len == 32;
    } else if (ec_group_is(pkey, t)) {
        BIGNUM *d = NULL;
        ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1 &&
             BN_bn2binpad(d, kg_secret_data(s), 32) == 32 &&
             ec_scalar_valid(t, kg_secret_data(s));
        BN_clear_free(d);
    }
    if (!ok) {
        kg_secret_free(s);
        return kg_err_set(KG_ERR_BAD_INPUT, "the PKCS#8 key is not a valid %s private key",
                          t == KG_CRYPTO_ED25519 ? "Ed25519" : kg_crypto_ec_group_name(t));
    }
    *out = s;
    return KG_OK;
}

/* --------------------------------------------------------- generation */

kg_err kg_crypto_keygen(kg_secret **priv, kg_crypto_key_type t)
{
    KG_ARG_CHECK(priv != NULL);
    *priv = NULL;
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK || (err = check_type(t)) != KG_OK)
        return err;
    int bits = 0;
    if (kg_crypto_is_rsa(t, &bits)) {
        if (bits < 3072)
            return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "RSA-2048 keys can only be imported "
                              "(for interoperability); generate RSA-3072 or RSA-4096 instead");
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
        if (pkey == NULL)
            return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to generate an RSA-%d key", bits);
        err = pkcs8_encode(priv, pkey);
        EVP_PKEY_free(pkey);
        return err;
    }
    kg_secret *s = kg_secret_new(32);
    if (s == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate a private key");
    /* Rejection sampling: a uniform 256-bit string is out of range with
     * probability below 2^-32 for both curves; Ed25519 seeds are any 32 bytes. */
    do {
        randombytes_buf(kg_secret_data(s), 32);
    } while (t != KG_CRYPTO_ED25519 && !ec_scalar_valid(t, kg_secret_data(s)));
    *priv = s;
    return KG_OK;
}

kg_err kg_crypto_priv_import(kg_secret **priv, kg_crypto_key_type t,
                             const uint8_t *in, size_t in_len)
{
    KG_ARG_CHECK(priv != NULL);
    KG_ARG_CHECK(in != NULL || in_len == 0);
    *priv = NULL;
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK || (err = check_type(t)) != KG_OK)
        return err;
    if (!kg_crypto_is_rsa(t, NULL) && in_len == 32) {
        int valid = t == KG_CRYPTO_ED25519 || ec_scalar_valid(t, in);
        kg_declassify(&valid, sizeof valid); /* in range or not is public */
        if (!valid)
            return kg_err_set(KG_ERR_BAD_INPUT, "the %s private key is out of range "
                              "(it must be between 1 and the group order minus 1)",
                              kg_crypto_ec_group_name(t));
        *priv = kg_secret_from(in, 32);
        return *priv ? KG_OK : kg_err_set(KG_ERR_NOMEM, "cannot allocate a private key");
    }
    EVP_PKEY *pkey = NULL;
    if ((err = pkcs8_decode(&pkey, in, in_len)) != KG_OK)
        return err;
    err = native_from_pkey(priv, t, pkey);
    EVP_PKEY_free(pkey);
    return err;
}

/* ------------------------------------------------ OpenSSL key objects */

/* The uncompressed public point of the P-256 scalar d. */
static kg_err p256_point(uint8_t out[KG_EC_POINT_BYTES], const BIGNUM *d)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
    int ok = pt != NULL && EC_POINT_mul(g, pt, d, NULL, NULL, NULL) == 1 &&
             EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, out, KG_EC_POINT_BYTES,
                                NULL) == KG_EC_POINT_BYTES;
    EC_POINT_free(pt);
    EC_GROUP_free(g);
    return ok ? KG_OK : kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to derive a P-256 public key");
}

static kg_err p256_pkey(EVP_PKEY **out, const kg_secret *priv)
{
    uint8_t point[KG_EC_POINT_BYTES];
    BIGNUM *d = BN_secure_new();
    if (d == NULL || BN_bin2bn(kg_secret_cdata(priv), 32, d) == NULL) {
        BN_clear_free(d);
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate a P-256 key");
    }
    BN_set_flags(d, BN_FLG_CONSTTIME);
    kg_err err = p256_point(point, d);
    OSSL_PARAM_BLD *bld = err == KG_OK ? OSSL_PARAM_BLD_new() : NULL;
    OSSL_PARAM *params = NULL;
    if (bld != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point))
        params = OSSL_PARAM_BLD_to_param(bld);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    EVP_PKEY_CTX *c = params ? EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL) : NULL;
    if (c == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
        EVP_PKEY_fromdata(c, out, EVP_PKEY_KEYPAIR, params) != 1) {
        *out = NULL;
        err = err != KG_OK ? err : kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to load a P-256 key");
    }
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(params); /* the secure part holding d is cleared on free */
    return err;
}

kg_err kg_crypto_pkey_from_priv(EVP_PKEY **out, kg_crypto_key_type t, const kg_secret *priv)
{
    *out = NULL;
    if (kg_crypto_is_rsa(t, NULL)) {
        kg_err err = pkcs8_decode(out, kg_secret_cdata(priv), kg_secret_len(priv));
        if (err == KG_OK && (err = rsa_check(*out, t, 0)) != KG_OK) {
            EVP_PKEY_free(*out);
            *out = NULL;
        }
        return err;
    }
    if (kg_secret_len(priv) != 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "the private key has %zu bytes; this key type "
                          "uses 32", kg_secret_len(priv));
    if (t == KG_CRYPTO_P256) {
        int valid = ec_scalar_valid(t, kg_secret_cdata(priv));
        kg_declassify(&valid, sizeof valid); /* in range or not is public */
        if (!valid)
            return kg_err_set(KG_ERR_BAD_INPUT, "the P-256 private key is out of range");
        return p256_pkey(out, priv);
    }
    if (t == KG_CRYPTO_ED25519) {
        *out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, kg_secret_cdata(priv), 32);
        return *out ? KG_OK : kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to load an Ed25519 key");
    }
    return kg_err_set(KG_ERR_INTERNAL, "key type %d has no OpenSSL private key", (int)t);
}

kg_err kg_crypto_pkey_from_spki(EVP_PKEY **out, kg_crypto_key_type t,
                                const uint8_t *spki, size_t spki_len)
{
    *out = NULL;
    kg_err err = check_type(t);
    if (err != KG_OK)
        return err;
    const unsigned char *p = spki;
    EVP_PKEY *pkey = spki_len <= LONG_MAX ? d2i_PUBKEY(NULL, &p, (long)spki_len) : NULL;
    if (pkey == NULL || p != spki + spki_len) {
        EVP_PKEY_free(pkey);
        return kg_err_set(KG_ERR_BAD_INPUT, "the public key is not a valid SubjectPublicKeyInfo DER");
    }
    if (kg_crypto_is_rsa(t, NULL))
        err = rsa_check(pkey, t, 0);
    else if (t == KG_CRYPTO_ED25519 && !EVP_PKEY_is_a(pkey, "ED25519"))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the public key is not an Ed25519 key");
    else if (kg_crypto_is_ec(t) && !ec_group_is(pkey, t))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the public key is not an EC key on %s",
                         kg_crypto_ec_group_name(t));
    if (err != KG_OK) {
        EVP_PKEY_free(pkey);
        return err;
    }
    *out = pkey;
    return KG_OK;
}

kg_err kg_crypto_ec_point(uint8_t out[KG_EC_POINT_BYTES], const EVP_PKEY *pkey)
{
    BIGNUM *x = NULL, *y = NULL;
    out[0] = 0x04;
    int ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
             EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
             BN_bn2binpad(x, out + 1, 32) == 32 && BN_bn2binpad(y, out + 33, 32) == 32;
    BN_free(x);
    BN_free(y);
    return ok ? KG_OK : kg_err_set(KG_ERR_BAD_INPUT, "the EC public key has no usable point");
}

/* ------------------------------------------------------- public keys */

static kg_err spki_concat(kg_bytes *spki, const uint8_t *prefix, size_t prefix_len,
                          const uint8_t *key, size_t key_len)
{
    uint8_t buf[sizeof SPKI_P256 + KG_EC_POINT_BYTES];
    memcpy(buf, prefix, prefix_len);
    memcpy(buf + prefix_len, key, key_len);
    return kg_bytes_set(spki, buf, prefix_len + key_len);
}

static kg_err spki_from_pkey(kg_bytes *spki, EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(pkey, &der);
    if (len <= 0)
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to encode the public key");
    kg_err err = kg_bytes_set(spki, der, (size_t)len);
    OPENSSL_free(der);
    return err;
}

static kg_err k256_point(uint8_t out[KG_EC_POINT_BYTES], const kg_secret *priv)
{
    secp256k1_pubkey pk;
    size_t len = KG_EC_POINT_BYTES;
    if (kg_secret_len(priv) != 32 ||
        !secp256k1_ec_pubkey_create(kg_crypto_secp(), &pk, kg_secret_cdata(priv)))
        return kg_err_set(KG_ERR_BAD_INPUT, "the secp256k1 private key is not valid");
    secp256k1_ec_pubkey_serialize(kg_crypto_secp(), out, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    return KG_OK;
}

kg_err kg_crypto_pub_from_priv(kg_bytes *spki, kg_crypto_key_type t, const kg_secret *priv)
{
    KG_ARG_CHECK(spki != NULL && priv != NULL);
    spki->data = NULL;
    spki->len = 0;
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK || (err = check_type(t)) != KG_OK)
        return err;
    uint8_t point[KG_EC_POINT_BYTES];
    if (t == KG_CRYPTO_SECP256K1) {
        if ((err = k256_point(point, priv)) != KG_OK)
            return err;
        return spki_concat(spki, SPKI_K256, sizeof SPKI_K256, point, sizeof point);
    }
    EVP_PKEY *pkey = NULL;
    if ((err = kg_crypto_pkey_from_priv(&pkey, t, priv)) != KG_OK)
        return err;
    if (t == KG_CRYPTO_P256) {
        if ((err = kg_crypto_ec_point(point, pkey)) == KG_OK)
            err = spki_concat(spki, SPKI_P256, sizeof SPKI_P256, point, sizeof point);
    } else if (t == KG_CRYPTO_ED25519) {
        size_t len = 32;
        if (EVP_PKEY_get_raw_public_key(pkey, point, &len) != 1 || len != 32)
            err = kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to derive an Ed25519 public key");
        else
            err = spki_concat(spki, SPKI_ED25519, sizeof SPKI_ED25519, point, 32);
    } else {
        err = spki_from_pkey(spki, pkey);
    }
    EVP_PKEY_free(pkey);
    return err;
}

kg_err kg_crypto_pub_raw(kg_bytes *raw, kg_crypto_key_type t, const uint8_t *spki, size_t spki_len)
{
    KG_ARG_CHECK(raw != NULL);
    KG_ARG_CHECK(spki != NULL || spki_len == 0);
    raw->data = NULL;
    raw->len = 0;
    EVP_PKEY *pkey = NULL;
    kg_err err = kg_crypto_pkey_from_spki(&pkey, t, spki, spki_len);
    if (err != KG_OK)
        return err;
    uint8_t buf[KG_EC_POINT_BYTES];
    size_t len = 32;
    if (kg_crypto_is_ec(t)) {
        if ((err = kg_crypto_ec_point(buf, pkey)) == KG_OK)
            err = kg_bytes_set(raw, buf, sizeof buf);
    } else if (t == KG_CRYPTO_ED25519) {
        if (EVP_PKEY_get_raw_public_key(pkey, buf, &len) != 1 || len != 32)
            err = kg_err_set(KG_ERR_BAD_INPUT, "the Ed25519 public key is not usable");
        else
            err = kg_bytes_set(raw, buf, 32);
    } else {
        unsigned char *der = NULL;
        int n = i2d_PublicKey(pkey, &der);
        err = n > 0 ? kg_bytes_set(raw, der, (size_t)n)
                    : kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to encode the RSA public key");
        OPENSSL_free(der);
    }
    EVP_PKEY_free(pkey);
    return err;
}

kg_err kg_crypto_pub_pem(char **pem, const uint8_t *spki, size_t spki_len)
{
    KG_ARG_CHECK(pem != NULL);
    KG_ARG_CHECK(spki != NULL || spki_len == 0);
    *pem = NULL;
    /* Only a parseable SPKI is exported, but its exact bytes are kept. */
    const unsigned char *p = spki;
    EVP_PKEY *pkey = spki_len <= LONG_MAX ? d2i_PUBKEY(NULL, &p, (long)spki_len) : NULL;
    EVP_PKEY_free(pkey);
    if (pkey == NULL || p != spki + spki_len)
        return kg_err_set(KG_ERR_BAD_INPUT, "the public key is not a valid SubjectPublicKeyInfo DER");
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len = 0;
    if (bio == NULL || PEM_write_bio(bio, "PUBLIC KEY", "", spki, (long)spki_len) <= 0 ||
        (len = BIO_get_mem_data(bio, &data)) <= 0 || (*pem = malloc((size_t)len + 1)) == NULL) {
        BIO_free(bio);
        return kg_err_set(KG_ERR_NOMEM, "could not encode the public key as PEM");
    }
    memcpy(*pem, data, (size_t)len);
    (*pem)[len] = '\0';
    BIO_free(bio);
    return KG_OK;
}
