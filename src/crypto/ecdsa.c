/* ECDSA over P-256 (OpenSSL) and secp256k1 (libsecp256k1), on 32-byte
 * digests, plus the strict DER signature codec both share.
 *
 * Internally a signature is always r||s, 32 bytes each. DER is only a wire
 * format, handled here by hand rather than by d2i_ECDSA_SIG because the rule
 * must be exact: DER has one encoding per value, and every BER variant
 * (long-form or padded lengths, leading zero bytes, negative integers,
 * trailing data) is rejected. Accepting them would make signatures
 * malleable, which is what Wycheproof's BER tests and Bitcoin's BIP66 forbid.
 *
 * Low-S: for every ECDSA signature (r, s) the pair (r, n - s) is valid too.
 * We always emit the low form (s <= n/2): libsecp256k1 does so by itself, and
 * P-256 signatures from OpenSSL are normalised here. On verification, high-S
 * is accepted unless the caller asks for KG_CRYPTO_VERIFY_LOW_S (Bitcoin's
 * rule); libsecp256k1 rejects high-S outright, so without the flag we
 * normalise before verifying.
 *
 * Signing with secp256k1 uses RFC 6979 deterministic nonces (libsecp256k1's
 * default) on the randomised global context; P-256 signing uses OpenSSL's
 * constant-time, blinded implementation with random nonces. Nothing about
 * a signature's validity is secret, so verification may be variable time. */
#include "crypto_int.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <string.h>

static const uint8_t P256_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
static const uint8_t K256_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

/* ----------------------------------------------------------- DER codec */

/* Read a DER length at der[*pos]. Short form below 128; long form only as
 * 0x81 followed by a value >= 128 (ECDSA-Sig-Values never need more). */
static int der_len(const uint8_t *der, size_t der_len_total, size_t *pos, size_t *out)
{
    if (*pos >= der_len_total)
        return 0;
    uint8_t b = der[(*pos)++];
    if (b < 0x80) {
        *out = b;
        return 1;
    }
    if (b != 0x81 || *pos >= der_len_total || der[*pos] < 0x80)
        return 0;
    *out = der[(*pos)++];
    return 1;
}

/* Read a positive, minimally encoded INTEGER of at most 32 bytes into out. */
static int der_int(uint8_t out[32], const uint8_t *der, size_t total, size_t *pos)
{
    size_t len = 0;
    if (*pos >= total || der[(*pos)++] != 0x02 || !der_len(der, total, pos, &len) ||
        len == 0 || len > total - *pos)
        return 0;
    const uint8_t *v = der + *pos;
    if (v[0] & 0x80)
        return 0; /* negative */
    if (len > 1 && v[0] == 0x00 && !(v[1] & 0x80))
        return 0; /* superfluous leading zero */
    *pos += len;
    if (v[0] == 0x00 && len > 1) {
        v++;
        len--;
    }
    if (len > 32)
        return 0;
    memset(out, 0, 32);
    memcpy(out + 32 - len, v, len);
    return 1;
}

int kg_ecdsa_der_parse(uint8_t rs[64], const uint8_t *der, size_t der_total)
{
    size_t pos = 0, seq = 0;
    memset(rs, 0, 64);
    if (der == NULL || der_total < 2 || der[pos++] != 0x30 ||
        !der_len(der, der_total, &pos, &seq) || seq != der_total - pos)
        return 0;
    if (!der_int(rs, der, der_total, &pos) || !der_int(rs + 32, der, der_total, &pos) ||
        pos != der_total) {
        memset(rs, 0, 64);
        return 0;
    }
    return 1;
}

static size_t der_put_int(uint8_t *out, const uint8_t v[32])
{
    size_t skip = 0;
    while (skip < 31 && v[skip] == 0)
        skip++;
    size_t pad = v[skip] & 0x80 ? 1 : 0, len = 32 - skip + pad;
    out[0] = 0x02;
    out[1] = (uint8_t)len;
    out[2] = 0x00;
    memcpy(out + 2 + pad, v + skip, 32 - skip);
    return 2 + len;
}

size_t kg_ecdsa_der_encode(uint8_t out[72], const uint8_t rs[64])
{
    size_t n = 2;
    n += der_put_int(out + n, rs);
    n += der_put_int(out + n, rs + 32);
    out[0] = 0x30;
    out[1] = (uint8_t)(n - 2); /* at most 70: always the short form */
    return n;
}

/* ----------------------------------------------------------- secp256k1 */

static kg_err k256_sign(uint8_t rs[64], const kg_secret *priv, const uint8_t digest[32])
{
    secp256k1_ecdsa_signature sig;
    if (kg_secret_len(priv) != 32 ||
        !secp256k1_ecdsa_sign(kg_crypto_secp(), &sig, digest, kg_secret_cdata(priv), NULL, NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "the secp256k1 private key is not valid");
    secp256k1_ecdsa_signature_serialize_compact(kg_crypto_secp(), rs, &sig);
    return KG_OK;
}

static kg_err k256_verify(EVP_PKEY *pkey, unsigned flags, const uint8_t digest[32],
                          const uint8_t rs[64])
{
    uint8_t point[KG_EC_POINT_BYTES];
    secp256k1_pubkey pk;
    secp256k1_ecdsa_signature sig;
    const secp256k1_context *ctx = kg_crypto_secp();
    kg_err err = kg_crypto_ec_point(point, pkey);
    if (err != KG_OK)
        return err;
    if (!secp256k1_ec_pubkey_parse(ctx, &pk, point, sizeof point))
        return kg_err_set(KG_ERR_BAD_INPUT, "the secp256k1 public key is not a valid point");
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &sig, rs))
        return kg_err_set(KG_ERR_VERIFY, "the signature's r or s is not below the group order");
    if (!(flags & KG_CRYPTO_VERIFY_LOW_S))
        secp256k1_ecdsa_signature_normalize(ctx, &sig, &sig);
    if (!secp256k1_ecdsa_verify(ctx, &sig, digest, &pk))
        return kg_err_set(KG_ERR_VERIFY, (flags & KG_CRYPTO_VERIFY_LOW_S)
                          ? "the signature does not verify (or is not in low-S form)"
                          : "the signature does not verify");
    return KG_OK;
}

/* --------------------------------------------------------------- P-256 */

/* Reduce s to its low form in place: s = order - s when s > order/2. */
static int low_s(uint8_t s[32], const uint8_t order[32])
{
    BIGNUM *n = BN_bin2bn(order, 32, NULL), *half = BN_new(), *v = BN_bin2bn(s, 32, NULL);
    int ok = n && half && v && BN_rshift1(half, n);
    if (ok && BN_cmp(v, half) > 0)
        ok = BN_sub(v, n, v) && BN_bn2binpad(v, s, 32) == 32;
    BN_free(n);
    BN_free(half);
    BN_free(v);
    return ok;
}

static kg_err p256_sign(uint8_t rs[64], const kg_secret *priv, const uint8_t digest[32])
{
    EVP_PKEY *pkey = NULL;
    kg_err err = kg_crypto_pkey_from_priv(&pkey, KG_CRYPTO_P256, priv);
    if (err != KG_OK)
        return err;
    uint8_t der[80];
    size_t der_n = sizeof der;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = c != NULL && EVP_PKEY_sign_init(c) == 1 &&
             EVP_PKEY_sign(c, der, &der_n, digest, 32) == 1;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pkey);
    /* OpenSSL's output is DER already; our strict parser doubles as a check. */
    if (!ok || !kg_ecdsa_der_parse(rs, der, der_n) || !low_s(rs + 32, P256_N)) {
        memset(rs, 0, 64);
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to produce a P-256 signature");
    }
    return KG_OK;
}

/* 1 when 0 < v < n (and, with low_s, v <= n/2), comparing big-endian bytes. */
static int p256_in_range(const uint8_t v[32], int low_s)
{
    uint8_t half[32];
    unsigned carry = 0;
    for (size_t i = 0; i < 32; i++) { /* half = n >> 1 */
        half[i] = (uint8_t)((P256_N[i] >> 1) | (carry << 7));
        carry = P256_N[i] & 1;
    }
    static const uint8_t zero[32];
    return memcmp(v, zero, 32) != 0 && memcmp(v, P256_N, 32) < 0 &&
           (!low_s || memcmp(v, half, 32) <= 0);
}

static kg_err p256_verify(EVP_PKEY *pkey, unsigned flags, const uint8_t digest[32],
                          const uint8_t rs[64])
{
    if (!p256_in_range(rs, 0) || !p256_in_range(rs + 32, (flags & KG_CRYPTO_VERIFY_LOW_S) != 0))
        return kg_err_set(KG_ERR_VERIFY, (flags & KG_CRYPTO_VERIFY_LOW_S)
                          ? "the signature's r or s is out of range (or s is not low)"
                          : "the signature's r or s is out of range");
    uint8_t der[72];
    size_t der_n = kg_ecdsa_der_encode(der, rs);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (c == NULL || EVP_PKEY_verify_init(c) != 1) {
        EVP_PKEY_CTX_free(c);
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to set up P-256 verification");
    }
    int rc = EVP_PKEY_verify(c, der, der_n, digest, 32);
    EVP_PKEY_CTX_free(c);
    return rc == 1 ? KG_OK : kg_err_set(KG_ERR_VERIFY, "the signature does not verify");
}

/* ------------------------------------------------------------ dispatch */

kg_err kg_ecdsa_sign_digest(uint8_t rs[64], kg_crypto_key_type t, const kg_secret *priv,
                            const uint8_t digest[32])
{
    return t == KG_CRYPTO_SECP256K1 ? k256_sign(rs, priv, digest) : p256_sign(rs, priv, digest);
}

kg_err kg_ecdsa_verify_digest(kg_crypto_key_type t, const uint8_t *spki, size_t spki_len,
                              unsigned flags, const uint8_t digest[32], const uint8_t rs[64])
{
    EVP_PKEY *pkey = NULL;
    kg_err err = kg_crypto_pkey_from_spki(&pkey, t, spki, spki_len);
    if (err != KG_OK)
        return err;
    err = t == KG_CRYPTO_SECP256K1 ? k256_verify(pkey, flags, digest, rs)
                                   : p256_verify(pkey, flags, digest, rs);
    EVP_PKEY_free(pkey);
    return err;
}

kg_err kg_crypto_ecdsa_finish(kg_bytes *sig, kg_crypto_key_type t, const uint8_t *rs, size_t rs_len,
                              kg_crypto_sig_format format)
{
    KG_ARG_CHECK(sig != NULL && rs != NULL);
    sig->data = NULL;
    sig->len = 0;
    if (t != KG_CRYPTO_P256 && t != KG_CRYPTO_SECP256K1)
        return kg_err_set(KG_ERR_BAD_INPUT, "not an ECDSA key type");
    if (rs_len != 64)
        return kg_err_set(KG_ERR_CRYPTO, "an ECDSA signature of %zu bytes, not r || s (64)", rs_len);
    uint8_t v[64], der[72];
    memcpy(v, rs, 64);
    if (!low_s(v + 32, t == KG_CRYPTO_P256 ? P256_N : K256_N))
        return kg_err_set(KG_ERR_NOMEM, "out of memory normalising an ECDSA signature");
    if (format == KG_CRYPTO_SIG_RAW)
        return kg_bytes_set(sig, v, 64);
    size_t n = kg_ecdsa_der_encode(der, v);
    return kg_bytes_set(sig, der, n);
}
