/* uint256 values as 32-byte big-endian arrays: the EVM word.
 *
 * Ethereum amounts (wei), fees and token ids do not fit in 64 bits, so the
 * chain code keeps them as the 32-byte big-endian word the EVM and the ABI
 * use, and converts only at the edges: decimal text (the CLI and the API),
 * JSON-RPC "quantities" ("0x1a", Ethereum JSON-RPC spec, hex encoding),
 * and amounts in units ("1.5" ether = 1.5 * 10^18 wei). Only the small
 * multiply-by-10 / divide-by-10 steps those conversions need are here, on
 * 32-bit limbs; anything more is a bignum and belongs to OpenSSL. Every
 * conversion reports overflow instead of wrapping. */
#include "eth_int.h"

#include <string.h>

bool kg_chain_eth_is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

void kg_chain_eth_u256_from_u64(uint8_t out[static 32], uint64_t v)
{
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[31 - i] = (uint8_t)(v >> (8 * i));
}

kg_err kg_chain_eth_u256_to_u64(uint64_t *out, const uint8_t v[static 32])
{
    *out = 0;
    if (!kg_chain_eth_is_zero(v, 24))
        return kg_err_set(KG_ERR_BAD_INPUT, "value does not fit in 64 bits");
    uint64_t r = 0;
    for (int i = 24; i < 32; i++)
        r = (r << 8) | v[i];
    *out = r;
    return KG_OK;
}

int kg_chain_eth_u256_cmp(const uint8_t a[static 32], const uint8_t b[static 32])
{
    int c = memcmp(a, b, 32);
    return (c > 0) - (c < 0);
}

/* v = v * m + add; false on overflow (v is then garbage). */
static bool mul_add(uint8_t v[static 32], unsigned m, unsigned add)
{
    unsigned carry = add;
    for (int i = 31; i >= 0; i--) {
        unsigned t = (unsigned)v[i] * m + carry;
        v[i] = (uint8_t)t;
        carry = t >> 8;
    }
    return carry == 0;
}

/* v = v / 10; returns the remainder. */
static unsigned div10(uint8_t v[static 32])
{
    unsigned rem = 0;
    for (int i = 0; i < 32; i++) {
        unsigned cur = (rem << 8) | v[i];
        v[i] = (uint8_t)(cur / 10);
        rem = cur % 10;
    }
    return rem;
}

kg_err kg_chain_eth_u256_from_dec(uint8_t out[static 32], const char *s)
{
    memset(out, 0, 32);
    if (*s == '\0')
        return kg_err_set(KG_ERR_BAD_INPUT, "empty number; give a decimal integer");
    uint8_t v[32] = { 0 };
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return kg_err_set(KG_ERR_BAD_INPUT, "invalid character '%c' in decimal number (digits only)",
                              (*p >= 0x20 && *p < 0x7f) ? *p : '?');
        if (!mul_add(v, 10, (unsigned)(*p - '0')))
            return kg_err_set(KG_ERR_BAD_INPUT, "number is larger than 2^256-1 (uint256 overflow)");
    }
    memcpy(out, v, 32);
    return KG_OK;
}

void kg_chain_eth_u256_to_dec(char out[static KG_CHAIN_ETH_U256_DEC_BYTES], const uint8_t v[static 32])
{
    uint8_t t[32];
    char rev[KG_CHAIN_ETH_U256_DEC_BYTES];
    size_t n = 0;
    memcpy(t, v, 32);
    do {
        rev[n++] = (char)('0' + div10(t));
    } while (!kg_chain_eth_is_zero(t, 32));
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

kg_err kg_chain_eth_u256_from_hex(uint8_t out[static 32], const char *s, bool strict)
{
    memset(out, 0, 32);
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return kg_err_set(KG_ERR_BAD_INPUT, "quantity must start with 0x");
    const char *d = s + 2;
    size_t n = strlen(d);
    if (n == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "quantity has no digits (zero is 0x0)");
    if (strict && n > 1 && d[0] == '0')
        return kg_err_set(KG_ERR_BAD_INPUT, "quantity has leading zeros");
    while (!strict && n > 1 && d[0] == '0') {
        d++;
        n--;
    }
    if (n > 64)
        return kg_err_set(KG_ERR_BAD_INPUT, "quantity is larger than 2^256-1 (uint256 overflow)");
    uint8_t v[32] = { 0 };
    for (size_t i = 0; i < n; i++) {
        int x = hexval(d[n - 1 - i]);
        if (x < 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "invalid hex digit in quantity");
        v[31 - i / 2] |= (uint8_t)(i % 2 ? x << 4 : x);
    }
    memcpy(out, v, 32);
    return KG_OK;
}

void kg_chain_eth_u256_to_hex(char out[static 67], const uint8_t v[static 32])
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0, i = 0;
    out[n++] = '0';
    out[n++] = 'x';
    while (i < 64 && ((v[i / 2] >> (i % 2 ? 0 : 4)) & 0xf) == 0)
        i++;
    if (i == 64)
        out[n++] = '0';
    for (; i < 64; i++)
        out[n++] = digits[(v[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    out[n] = '\0';
}

kg_err kg_chain_eth_units_parse(uint8_t out[static 32], const char *s, unsigned decimals)
{
    char digits[160];
    size_t n = 0, frac = 0;
    bool dot = false, any = false;
    memset(out, 0, 32);
    if (decimals > 77)
        return kg_err_set(KG_ERR_BAD_INPUT, "at most 77 decimals are supported (got %u)", decimals);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '.' && !dot) {
            dot = true;
            continue;
        }
        if (*p < '0' || *p > '9')
            return kg_err_set(KG_ERR_BAD_INPUT, "invalid amount '%.40s': use digits and one '.'", s);
        any = true;
        if (dot && ++frac > decimals)
            return kg_err_set(KG_ERR_BAD_INPUT, "amount '%.40s' has more than %u decimal places", s, decimals);
        if (n == 0 && *p == '0')
            continue; /* drop leading zeros */
        if (n + 1 >= sizeof digits - decimals)
            return kg_err_set(KG_ERR_BAD_INPUT, "amount is larger than 2^256-1 (uint256 overflow)");
        digits[n++] = *p;
    }
    if (!any)
        return kg_err_set(KG_ERR_BAD_INPUT, "empty amount; give a number like 1.5");
    for (; frac < decimals; frac++)
        if (n > 0)
            digits[n++] = '0';
    if (n == 0)
        digits[n++] = '0';
    digits[n] = '\0';
    return kg_chain_eth_u256_from_dec(out, digits);
}

kg_err kg_chain_eth_units_format(char *out, size_t out_cap, const uint8_t v[static 32], unsigned decimals)
{
    char dec[KG_CHAIN_ETH_U256_DEC_BYTES], res[KG_CHAIN_ETH_U256_DEC_BYTES + 80];
    if (out_cap > 0)
        out[0] = '\0';
    if (decimals > 77)
        return kg_err_set(KG_ERR_BAD_INPUT, "at most 77 decimals are supported (got %u)", decimals);
    kg_chain_eth_u256_to_dec(dec, v);
    size_t n = strlen(dec), k = 0;
    if (n <= decimals) { /* 0.000ddd */
        res[k++] = '0';
        res[k++] = '.';
        for (size_t i = n; i < decimals; i++)
            res[k++] = '0';
        memcpy(res + k, dec, n);
        k += n;
    } else {
        memcpy(res, dec, n - decimals);
        k = n - decimals;
        res[k++] = '.';
        memcpy(res + k, dec + n - decimals, decimals);
        k += decimals;
    }
    while (k > 0 && res[k - 1] == '0' && decimals > 0)
        k--;
    if (k > 0 && res[k - 1] == '.')
        k--;
    res[k] = '\0';
    if (k + 1 > out_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "output buffer too small: %zu bytes needed", k + 1);
    memcpy(out, res, k + 1);
    return KG_OK;
}
