/* Hex and base64 (RFC 4648 §4, standard alphabet with padding).
 *
 * These encodings carry key material (imported keys, unseal shares, wrapped
 * secrets), so the per-character work is branch-free and table-free: each
 * character is classified with arithmetic masks (all-ones or zero) built from
 * the sign bit of a subtraction, in the spirit of WireGuard's encoding.c.
 * Invalid characters are accumulated into an error mask that is inspected
 * once, after the whole input has been processed. What stays variable time
 * is only what is public anyway: the input length and the amount of padding
 * (both fix the output length).
 *
 * Decoding is strict so that every byte string has exactly one accepted
 * encoding: base64 requires a length that is a multiple of 4, padding only
 * at the end, no whitespace, and zero bits in the unused low bits of the last
 * symbol (non-canonical "QR==" for "QQ==" is rejected). */
#include <kashguard/base.h>

#include <stdlib.h>
#include <string.h>

/* All-ones when a < b, else zero. Valid for |a - b| < 2^31. */
static uint32_t ct_lt(int32_t a, int32_t b)
{
    return 0u - ((uint32_t)(a - b) >> 31);
}

/* All-ones when lo <= c <= hi, else zero. */
static uint32_t ct_range(int32_t c, int32_t lo, int32_t hi)
{
    return ct_lt(lo - 1, c) & ct_lt(c, hi + 1);
}

/* ------------------------------------------------------------------ hex */

static char hex_digit(uint32_t nibble)
{
    /* '0'..'9' then 'a'..'f': 'a' - '0' - 10 == 39 */
    return (char)(nibble + '0' + (ct_lt(9, (int32_t)nibble) & 39u));
}

void kg_hex_encode(char *out, const uint8_t *in, size_t in_len)
{
    if (out == NULL || (in == NULL && in_len > 0)) {
        kg_illegal("kg_hex_encode: out != NULL && (in != NULL || in_len == 0)");
        return;
    }
    for (size_t i = 0; i < in_len; i++) {
        out[2 * i] = hex_digit(in[i] >> 4);
        out[2 * i + 1] = hex_digit(in[i] & 0x0F);
    }
    out[2 * in_len] = '\0';
}

/* The value of one hex digit; *bad collects all-ones when c is no digit. */
static uint32_t hex_val(int32_t c, uint32_t *bad)
{
    uint32_t dg = ct_range(c, '0', '9');
    uint32_t lo = ct_range(c, 'a', 'f');
    uint32_t up = ct_range(c, 'A', 'F');
    *bad |= ~(dg | lo | up);
    return ((dg & (uint32_t)(c - '0')) | (lo & (uint32_t)(c - 'a' + 10)) |
            (up & (uint32_t)(c - 'A' + 10))) & 0x0F;
}

/* The length of a NUL-terminated encoding of a secret. Where the string ends
 * is public (the secret's size), but strlen's test of every byte against NUL
 * is a branch on secret bytes as far as the constant-time test can tell; so
 * each "is this the end" answer is declassified, and nothing else. */
static size_t public_strlen(const char *s)
{
    size_t n = 0;
    for (;;) {
        unsigned end = (unsigned char)s[n] == 0;
        kg_declassify(&end, sizeof end);
        if (end)
            return n;
        n++;
    }
}

/* 1 when s starts with "0x"/"0X". Both bytes are read without a
 * short-circuit; the answer is public: 'x' is never a hex digit, so for an
 * encoded secret it is 0 whatever the secret is. */
static unsigned has_0x(const char *s)
{
    unsigned c0 = (unsigned char)s[0];
    unsigned empty = c0 == 0;
    kg_declassify(&empty, sizeof empty); /* the length is public */
    if (empty)
        return 0; /* s[1] is past the end */
    unsigned c1 = (unsigned char)s[1];
    unsigned pre = (unsigned)(c0 == '0') & (unsigned)((c1 | 0x20u) == 'x');
    kg_declassify(&pre, sizeof pre);
    return pre;
}

kg_err kg_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *hex)
{
    KG_ARG_CHECK(out_len != NULL);
    KG_ARG_CHECK(hex != NULL);
    KG_ARG_CHECK(out != NULL || out_cap == 0);
    *out_len = 0;
    if (has_0x(hex))
        hex += 2;
    size_t n = public_strlen(hex);
    if (n % 2 != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "hex string has an odd number of digits (%zu)", n);
    if (n / 2 > out_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "hex string decodes to %zu bytes; at most %zu allowed",
                          n / 2, out_cap);
    uint32_t bad = 0;
    for (size_t i = 0; i < n / 2; i++) {
        uint32_t hi = hex_val((unsigned char)hex[2 * i], &bad);
        uint32_t lo = hex_val((unsigned char)hex[2 * i + 1], &bad);
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    kg_declassify(&bad, sizeof bad); /* valid or not is public */
    if (bad) {
        kg_wipe(out, n / 2);
        return kg_err_set(KG_ERR_BAD_INPUT, "hex string contains a character that is not 0-9, a-f or A-F");
    }
    *out_len = n / 2;
    return KG_OK;
}

/* --------------------------------------------------------------- base64 */

size_t kg_b64_encoded_len(size_t in_len)
{
    return 4 * ((in_len + 2) / 3) + 1;
}

static char b64_char(uint32_t v)
{
    /* A-Z: v+65; a-z: v+71; 0-9: v-4; '+': v-19; '/': v-16 */
    uint32_t c = v + 'A';
    c += ct_lt(25, (int32_t)v) & 6u;
    c -= ct_lt(51, (int32_t)v) & 75u;
    c -= ct_lt(61, (int32_t)v) & 15u;
    c += ct_lt(62, (int32_t)v) & 3u;
    return (char)c;
}

void kg_b64_encode(char *out, const uint8_t *in, size_t in_len)
{
    if (out == NULL || (in == NULL && in_len > 0)) {
        kg_illegal("kg_b64_encode: out != NULL && (in != NULL || in_len == 0)");
        return;
    }
    size_t i = 0, o = 0;
    for (; i + 3 <= in_len; i += 3) {
        uint32_t w = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = b64_char((w >> 18) & 63);
        out[o++] = b64_char((w >> 12) & 63);
        out[o++] = b64_char((w >> 6) & 63);
        out[o++] = b64_char(w & 63);
    }
    size_t rest = in_len - i;
    if (rest > 0) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (rest == 2)
            w |= (uint32_t)in[i + 1] << 8;
        out[o++] = b64_char((w >> 18) & 63);
        out[o++] = b64_char((w >> 12) & 63);
        out[o++] = rest == 2 ? b64_char((w >> 6) & 63) : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* The 6-bit value of one base64 symbol; *bad collects all-ones otherwise. */
static uint32_t b64_val(int32_t c, uint32_t *bad)
{
    uint32_t up = ct_range(c, 'A', 'Z');
    uint32_t lo = ct_range(c, 'a', 'z');
    uint32_t dg = ct_range(c, '0', '9');
    uint32_t pl = ct_range(c, '+', '+');
    uint32_t sl = ct_range(c, '/', '/');
    *bad |= ~(up | lo | dg | pl | sl);
    return ((up & (uint32_t)(c - 'A')) | (lo & (uint32_t)(c - 'a' + 26)) |
            (dg & (uint32_t)(c - '0' + 52)) | (pl & 62u) | (sl & 63u)) & 63u;
}

/* Decode the n-symbol body (n % 4 in {0, 2, 3}) of a base64 string. Returns
 * the error mask; out gets (n * 3) / 4 bytes. */
static uint32_t b64_decode_body(uint8_t *out, const char *s, size_t n)
{
    uint32_t bad = 0;
    size_t o = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w = (b64_val((unsigned char)s[i], &bad) << 18) |
                     (b64_val((unsigned char)s[i + 1], &bad) << 12) |
                     (b64_val((unsigned char)s[i + 2], &bad) << 6) |
                     b64_val((unsigned char)s[i + 3], &bad);
        out[o++] = (uint8_t)(w >> 16);
        out[o++] = (uint8_t)(w >> 8);
        out[o++] = (uint8_t)w;
    }
    size_t rest = n - i;
    if (rest >= 2) {
        uint32_t w = (b64_val((unsigned char)s[i], &bad) << 18) |
                     (b64_val((unsigned char)s[i + 1], &bad) << 12);
        if (rest == 3)
            w |= b64_val((unsigned char)s[i + 2], &bad) << 6;
        out[o++] = (uint8_t)(w >> 16);
        if (rest == 3)
            out[o++] = (uint8_t)(w >> 8);
        /* Canonical form: the bits below the last output byte must be zero. */
        uint32_t extra = w & (rest == 2 ? 0xFFFFu : 0xFFu);
        bad |= 0u - ((extra | (0u - extra)) >> 31);
    }
    return bad;
}

kg_err kg_b64_decode(kg_bytes *out, const char *b64)
{
    KG_ARG_CHECK(out != NULL);
    KG_ARG_CHECK(b64 != NULL);
    out->data = NULL;
    out->len = 0;
    size_t n = public_strlen(b64);
    if (n % 4 != 0)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "base64 length %zu is not a multiple of 4; use standard base64 with '=' padding", n);
    /* Padding decides the output length, which is public. */
    unsigned p1 = n > 0 ? (unsigned)((unsigned char)b64[n - 1] == '=') : 0u;
    unsigned p2 = n > 1 ? (unsigned)((unsigned char)b64[n - 2] == '=') : 0u;
    size_t pad = p1 + (p1 & p2);
    kg_declassify(&pad, sizeof pad);
    size_t body = n - pad;
    size_t len = body / 4 * 3 + (pad ? 3 - pad : 0);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate %zu bytes for base64 data", len);
    uint32_t bad = b64_decode_body(buf, b64, body);
    kg_declassify(&bad, sizeof bad); /* valid or not is public */
    if (bad) {
        kg_wipe(buf, len);
        free(buf);
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "not valid base64: use the standard alphabet (A-Z a-z 0-9 + /) with '=' padding "
                          "at the end only, no whitespace, and canonical final bits");
    }
    out->data = buf;
    out->len = len;
    return KG_OK;
}
