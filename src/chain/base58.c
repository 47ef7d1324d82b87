/* Base58 and Base58Check (Bitcoin's alphabet, as used by legacy addresses,
 * WIF and BIP32 extended keys).
 *
 * Base58 is a big-number base conversion: each leading zero byte becomes a
 * leading '1', the rest of the number is written in base 58. The simple
 * quadratic algorithm is used over fixed stack buffers, so inputs are
 * bounded (KG_CHAIN_BASE58_MAX_BYTES) and nothing is allocated: the
 * firmware reuses this file. Base58Check appends the first four bytes of
 * SHA256d(payload) and checks them on decode.
 *
 * Nothing here is secret (WIF/xprv callers must not rely on this for
 * constant time; it branches on digits). */
#include <string.h>
#include <stdio.h>

#include <kashguard/chain/encoding.h>
#include <kashguard/crypto.h>

static const char B58_ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* The value of character c in the alphabet, or -1. */
static int b58_value(char c)
{
    const char *p = (c == '\0') ? NULL : strchr(B58_ALPHABET, c);
    return p == NULL ? -1 : (int)(p - B58_ALPHABET);
}

kg_err kg_chain_base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t in_len)
{
    if (out_cap > 0)
        out[0] = '\0';
    if (in_len > KG_CHAIN_BASE58_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58: input of %zu bytes is over the %d-byte limit",
                          in_len, KG_CHAIN_BASE58_MAX_BYTES);
    if (in_len > 0 && in == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58: no input");
    size_t zeros = 0;
    while (zeros < in_len && in[zeros] == 0)
        zeros++;
    /* digits[] holds the base-58 number, least significant digit first. */
    uint8_t digits[KG_CHAIN_BASE58_MAX_LEN(KG_CHAIN_BASE58_MAX_BYTES)];
    size_t ndig = 0;
    for (size_t i = zeros; i < in_len; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < ndig; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry > 0) {
            digits[ndig++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    size_t need = zeros + ndig + 1;
    if (need > out_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58: output needs %zu bytes, buffer has %zu", need, out_cap);
    size_t o = 0;
    for (size_t i = 0; i < zeros; i++)
        out[o++] = '1';
    for (size_t j = ndig; j > 0; j--)
        out[o++] = B58_ALPHABET[digits[j - 1]];
    out[o] = '\0';
    return KG_OK;
}

kg_err kg_chain_base58_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in)
{
    *out_len = 0;
    size_t n = strlen(in);
    if (n == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58: empty string");
    if (n > KG_CHAIN_BASE58_MAX_LEN(KG_CHAIN_BASE58_MAX_BYTES))
        return kg_err_set(KG_ERR_BAD_INPUT, "base58: string of %zu characters is too long", n);
    size_t zeros = 0;
    while (zeros < n && in[zeros] == '1')
        zeros++;
    /* bytes[] holds the number in base 256, least significant byte first. */
    uint8_t bytes[KG_CHAIN_BASE58_MAX_LEN(KG_CHAIN_BASE58_MAX_BYTES)];
    size_t nb = 0;
    for (size_t i = zeros; i < n; i++) {
        int v = b58_value(in[i]);
        if (v < 0) {
            unsigned char c = (unsigned char)in[i];
            if (c >= 0x21 && c < 0x7f)
                return kg_err_set(KG_ERR_BAD_INPUT, "invalid base58 character '%c' at position %zu", c, i);
            return kg_err_set(KG_ERR_BAD_INPUT, "invalid base58 character 0x%02x at position %zu", c, i);
        }
        unsigned carry = (unsigned)v;
        for (size_t j = 0; j < nb; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
        while (carry > 0) {
            bytes[nb++] = (uint8_t)(carry & 0xff);
            carry >>= 8;
        }
    }
    if (zeros + nb > out_cap || zeros + nb > KG_CHAIN_BASE58_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58: decoded value of %zu bytes does not fit in %zu",
                          zeros + nb, out_cap);
    memset(out, 0, zeros);
    for (size_t j = 0; j < nb; j++)
        out[zeros + j] = bytes[nb - 1 - j];
    *out_len = zeros + nb;
    return KG_OK;
}

kg_err kg_chain_base58check_encode(char *out, size_t out_cap, const uint8_t *payload, size_t payload_len)
{
    if (out_cap > 0)
        out[0] = '\0';
    if (payload_len + 4 > KG_CHAIN_BASE58_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58check: payload of %zu bytes is too long", payload_len);
    if (payload_len > 0 && payload == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58check: no payload");
    uint8_t buf[KG_CHAIN_BASE58_MAX_BYTES];
    uint8_t h[32];
    if (payload_len > 0)
        memcpy(buf, payload, payload_len);
    kg_crypto_sha256d(h, buf, payload_len);
    memcpy(buf + payload_len, h, 4);
    return kg_chain_base58_encode(out, out_cap, buf, payload_len + 4);
}

kg_err kg_chain_base58check_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in)
{
    *out_len = 0;
    uint8_t buf[KG_CHAIN_BASE58_MAX_BYTES];
    size_t n = 0;
    kg_err e = kg_chain_base58_decode(buf, sizeof buf, &n, in);
    if (e != KG_OK)
        return e;
    if (n < 4)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58check: %zu bytes is shorter than the 4-byte checksum", n);
    uint8_t h[32];
    kg_crypto_sha256d(h, buf, n - 4);
    if (memcmp(h, buf + n - 4, 4) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58check: bad checksum (a character is mistyped)");
    if (n - 4 > out_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "base58check: payload of %zu bytes does not fit in %zu", n - 4, out_cap);
    memcpy(out, buf, n - 4);
    *out_len = n - 4;
    return KG_OK;
}
