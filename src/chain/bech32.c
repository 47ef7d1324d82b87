/* Bech32 (BIP173) and Bech32m (BIP350) with any human-readable part, the
 * 8-bit <-> 5-bit regrouping, and segwit addresses.
 *
 * A Bech32 string is HRP '1' DATA, where DATA is 5-bit values in the
 * alphabet "qpzry9x8gf2tvdw0s3jn54khce6mua7l" ending with a 6-value BCH
 * checksum over (expanded HRP || values). Bech32 and Bech32m differ only
 * in the constant the checksum polymod must equal (1 vs 0x2bc830a3).
 * Decoding enforces BIP173 §"Bech32": length limit, characters 33..126,
 * no mixed case, the last '1' as separator, HRP of 1..83, a data part of
 * at least 6 characters. Segwit addresses (BIP173 §"Segwit address
 * format", BIP350 §"Addresses for segregated witness outputs") add the
 * witness version rules: v0 with Bech32 and a 20/32-byte program, v1..16
 * with Bech32m and 2..40 bytes.
 *
 * Fixed buffers only (no allocation): the firmware reuses this file. */
#include <string.h>
#include <ctype.h>
#include <strings.h>

#include <kashguard/chain/encoding.h>

static const char CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
#define BECH32_CONST 1u
#define BECH32M_CONST 0x2bc830a3u
/* Longest string any caller may allow; bounds the stack buffers. */
#define BECH32_HARD_MAX 1023

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
    static const uint32_t GEN[5] = { 0x3b6a57b2u, 0x26508e6du, 0x1ea119fau, 0x3d4233ddu, 0x2a1462b3u };
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffffu) << 5) ^ v;
    for (int i = 0; i < 5; i++)
        if ((top >> i) & 1u)
            chk ^= GEN[i];
    return chk;
}

/* Polymod over hrp (already lower case) expanded, then values. */
static uint32_t polymod(const char *hrp, size_t hrp_len, const uint8_t *vals, size_t n)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < hrp_len; i++)
        chk = polymod_step(chk, (uint8_t)((unsigned char)hrp[i] >> 5));
    chk = polymod_step(chk, 0);
    for (size_t i = 0; i < hrp_len; i++)
        chk = polymod_step(chk, (uint8_t)((unsigned char)hrp[i] & 31));
    for (size_t i = 0; i < n; i++)
        chk = polymod_step(chk, vals[i]);
    return chk;
}

static int charset_value(char c)
{
    const char *p = (c == '\0') ? NULL : strchr(CHARSET, c);
    return p == NULL ? -1 : (int)(p - CHARSET);
}

kg_err kg_chain_bech32_encode(char *out, size_t out_cap, const char *hrp, const uint8_t *data5,
                              size_t data5_len, kg_chain_bech32_variant variant, size_t max_len)
{
    if (out_cap > 0)
        out[0] = '\0';
    if (max_len == 0)
        max_len = KG_CHAIN_BECH32_MAX_LEN;
    size_t hl = strlen(hrp);
    if (hl == 0 || hl > KG_CHAIN_BECH32_HRP_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: the prefix must have 1 to %d characters, not %zu",
                          KG_CHAIN_BECH32_HRP_MAX, hl);
    if (variant != KG_CHAIN_BECH32 && variant != KG_CHAIN_BECH32M)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: unknown checksum variant %d", (int)variant);
    size_t total = hl + 1 + data5_len + 6;
    if (total > max_len || total > BECH32_HARD_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: %zu characters is over the %zu limit", total, max_len);
    if (total + 1 > out_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: output needs %zu bytes, buffer has %zu", total + 1, out_cap);
    char lhrp[KG_CHAIN_BECH32_HRP_MAX + 1];
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)hrp[i];
        if (c < 33 || c > 126)
            return kg_err_set(KG_ERR_BAD_INPUT, "bech32: prefix character 0x%02x at position %zu is not printable ASCII", c, i);
        lhrp[i] = (char)tolower(c);
    }
    uint8_t vals[BECH32_HARD_MAX];
    for (size_t i = 0; i < data5_len; i++) {
        if (data5[i] > 31)
            return kg_err_set(KG_ERR_BAD_INPUT, "bech32: data value %u at index %zu is over 31", data5[i], i);
        vals[i] = data5[i];
    }
    memset(vals + data5_len, 0, 6);
    uint32_t c = polymod(lhrp, hl, vals, data5_len + 6) ^
                 (variant == KG_CHAIN_BECH32M ? BECH32M_CONST : BECH32_CONST);
    for (size_t i = 0; i < 6; i++)
        vals[data5_len + i] = (uint8_t)((c >> (5 * (5 - i))) & 31);
    memcpy(out, lhrp, hl);
    out[hl] = '1';
    for (size_t i = 0; i < data5_len + 6; i++)
        out[hl + 1 + i] = CHARSET[vals[i]];
    out[total] = '\0';
    return KG_OK;
}

/* Checks length, characters and case; finds the separator. */
static kg_err bech32_check_text(size_t *sep, const char *in, size_t n, size_t max_len)
{
    if (n > max_len)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: %zu characters is over the %zu limit", n, max_len);
    bool lower = false, upper = false;
    size_t pos = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 33 || c > 126)
            return kg_err_set(KG_ERR_BAD_INPUT, "bech32: character 0x%02x at position %zu is not printable ASCII", c, i);
        lower |= (c >= 'a' && c <= 'z');
        upper |= (c >= 'A' && c <= 'Z');
        if (c == '1')
            pos = i;
    }
    if (lower && upper)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: mixed upper and lower case");
    if (pos == n)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: no separator '1'");
    if (pos == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: empty prefix before the separator '1'");
    if (pos > KG_CHAIN_BECH32_HRP_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: prefix of %zu characters is over %d", pos, KG_CHAIN_BECH32_HRP_MAX);
    if (n - pos - 1 < 6)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: data part of %zu characters is shorter than the 6-character checksum",
                          n - pos - 1);
    *sep = pos;
    return KG_OK;
}

kg_err kg_chain_bech32_decode(char *hrp_out, size_t hrp_cap, uint8_t *data5, size_t data5_cap,
                              size_t *data5_len, kg_chain_bech32_variant *variant,
                              const char *in, size_t max_len)
{
    if (hrp_cap > 0)
        hrp_out[0] = '\0';
    *data5_len = 0;
    *variant = 0;
    if (max_len == 0)
        max_len = KG_CHAIN_BECH32_MAX_LEN;
    if (max_len > BECH32_HARD_MAX)
        max_len = BECH32_HARD_MAX;
    size_t n = strnlen(in, max_len + 1);
    size_t sep = 0;
    kg_err e = bech32_check_text(&sep, in, n, max_len);
    if (e != KG_OK)
        return e;
    char hrp[KG_CHAIN_BECH32_HRP_MAX + 1];
    for (size_t i = 0; i < sep; i++)
        hrp[i] = (char)tolower((unsigned char)in[i]);
    hrp[sep] = '\0';
    uint8_t vals[BECH32_HARD_MAX];
    size_t nv = n - sep - 1;
    for (size_t i = 0; i < nv; i++) {
        int v = charset_value((char)tolower((unsigned char)in[sep + 1 + i]));
        if (v < 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "bech32: invalid data character '%c' at position %zu",
                              in[sep + 1 + i], sep + 1 + i);
        vals[i] = (uint8_t)v;
    }
    uint32_t c = polymod(hrp, sep, vals, nv);
    kg_chain_bech32_variant var;
    if (c == BECH32_CONST)
        var = KG_CHAIN_BECH32;
    else if (c == BECH32M_CONST)
        var = KG_CHAIN_BECH32M;
    else
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: bad checksum (a character is mistyped or missing)");
    if (sep + 1 > hrp_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: prefix of %zu characters does not fit in %zu", sep, hrp_cap);
    if (nv - 6 > data5_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: %zu data values do not fit in %zu", nv - 6, data5_cap);
    memcpy(hrp_out, hrp, sep + 1);
    memcpy(data5, vals, nv - 6);
    *data5_len = nv - 6;
    *variant = var;
    return KG_OK;
}

kg_err kg_chain_bits_convert(uint8_t *out, size_t out_cap, size_t *out_len, const uint8_t *in,
                             size_t in_len, unsigned from_bits, unsigned to_bits, bool pad)
{
    *out_len = 0;
    if (from_bits < 1 || from_bits > 8 || to_bits < 1 || to_bits > 8)
        return kg_err_set(KG_ERR_BAD_INPUT, "bit regrouping: group sizes must be 1..8 bits");
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    const uint32_t maxv = (1u << to_bits) - 1;
    for (size_t i = 0; i < in_len; i++) {
        if ((in[i] >> from_bits) != 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "bit regrouping: value %u at index %zu is wider than %u bits",
                              in[i], i, from_bits);
        acc = ((acc << from_bits) | in[i]) & 0xffffu;
        bits += from_bits;
        while (bits >= to_bits) {
            bits -= to_bits;
            if (o >= out_cap)
                return kg_err_set(KG_ERR_BAD_INPUT, "bit regrouping: output does not fit in %zu", out_cap);
            out[o++] = (uint8_t)((acc >> bits) & maxv);
        }
    }
    if (pad) {
        if (bits > 0) {
            if (o >= out_cap)
                return kg_err_set(KG_ERR_BAD_INPUT, "bit regrouping: output does not fit in %zu", out_cap);
            out[o++] = (uint8_t)((acc << (to_bits - bits)) & maxv);
        }
    } else if (bits >= from_bits || ((acc << (to_bits - bits)) & maxv) != 0) {
        return kg_err_set(KG_ERR_BAD_INPUT, "bit regrouping: invalid padding (%u leftover bits%s)",
                          bits, bits >= from_bits ? "" : ", not zero");
    }
    *out_len = o;
    return KG_OK;
}

kg_err kg_chain_bech32_encode_bytes(char *out, size_t out_cap, const char *hrp, const uint8_t *data,
                                    size_t data_len, kg_chain_bech32_variant variant, size_t max_len)
{
    if (out_cap > 0)
        out[0] = '\0';
    uint8_t five[BECH32_HARD_MAX];
    size_t n = 0;
    if (data_len > BECH32_HARD_MAX * 5 / 8)
        return kg_err_set(KG_ERR_BAD_INPUT, "bech32: %zu bytes is too long to encode", data_len);
    kg_err e = kg_chain_bits_convert(five, sizeof five, &n, data, data_len, 8, 5, true);
    if (e != KG_OK)
        return e;
    return kg_chain_bech32_encode(out, out_cap, hrp, five, n, variant, max_len);
}

kg_err kg_chain_bech32_decode_bytes(char *hrp_out, size_t hrp_cap, uint8_t *data, size_t data_cap,
                                    size_t *data_len, kg_chain_bech32_variant *variant,
                                    const char *in, const char *expect_hrp, size_t max_len)
{
    *data_len = 0;
    uint8_t five[BECH32_HARD_MAX];
    size_t n = 0;
    kg_chain_bech32_variant v;
    kg_err e = kg_chain_bech32_decode(hrp_out, hrp_cap, five, sizeof five, &n, &v, in, max_len);
    if (e == KG_OK && expect_hrp != NULL && strcasecmp(hrp_out, expect_hrp) != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "address has prefix '%s', expected '%s'", hrp_out, expect_hrp);
    if (e == KG_OK)
        e = kg_chain_bits_convert(data, data_cap, data_len, five, n, 5, 8, false);
    if (e != KG_OK) {
        *data_len = 0;
        *variant = 0;
        if (hrp_cap > 0)
            hrp_out[0] = '\0';
        return e;
    }
    *variant = v;
    return KG_OK;
}

kg_err kg_chain_segwit_addr_encode(char *out, size_t out_cap, const char *hrp, unsigned witver,
                                   const uint8_t *prog, size_t prog_len)
{
    if (out_cap > 0)
        out[0] = '\0';
    if (witver > 16)
        return kg_err_set(KG_ERR_BAD_INPUT, "segwit: witness version %u is over 16", witver);
    if (prog_len < 2 || prog_len > KG_CHAIN_SEGWIT_PROGRAM_MAX || (witver == 0 && prog_len != 20 && prog_len != 32))
        return kg_err_set(KG_ERR_BAD_INPUT, "segwit: a version %u program cannot be %zu bytes", witver, prog_len);
    uint8_t five[1 + 64];
    size_t n = 0;
    five[0] = (uint8_t)witver;
    kg_err e = kg_chain_bits_convert(five + 1, sizeof five - 1, &n, prog, prog_len, 8, 5, true);
    if (e != KG_OK)
        return e;
    return kg_chain_bech32_encode(out, out_cap, hrp, five, n + 1,
                                  witver == 0 ? KG_CHAIN_BECH32 : KG_CHAIN_BECH32M, 0);
}

kg_err kg_chain_segwit_addr_decode(unsigned *witver, uint8_t prog[static KG_CHAIN_SEGWIT_PROGRAM_MAX],
                                   size_t *prog_len, const char *hrp, const char *addr)
{
    *witver = 0;
    *prog_len = 0;
    char got[KG_CHAIN_BECH32_HRP_MAX + 1];
    uint8_t five[KG_CHAIN_BECH32_MAX_LEN];
    size_t n = 0;
    kg_chain_bech32_variant v;
    kg_err e = kg_chain_bech32_decode(got, sizeof got, five, sizeof five, &n, &v, addr, 0);
    if (e != KG_OK)
        return e;
    if (strcasecmp(got, hrp) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "segwit address has prefix '%s', expected '%s'", got, hrp);
    if (n < 1)
        return kg_err_set(KG_ERR_BAD_INPUT, "segwit address has an empty data part (no witness version)");
    if (five[0] > 16)
        return kg_err_set(KG_ERR_BAD_INPUT, "segwit address has witness version %u; the highest is 16", five[0]);
    if ((five[0] == 0) != (v == KG_CHAIN_BECH32))
        return kg_err_set(KG_ERR_BAD_INPUT, "segwit version %u address must use %s, not %s (BIP350)", five[0],
                          five[0] == 0 ? "Bech32" : "Bech32m", v == KG_CHAIN_BECH32 ? "Bech32" : "Bech32m");
    uint8_t p[64];
    size_t pl = 0;
    e = kg_chain_bits_convert(p, sizeof p, &pl, five + 1, n - 1, 5, 8, false);
    if (e != KG_OK)
        return e;
    if (pl < 2 || pl > KG_CHAIN_SEGWIT_PROGRAM_MAX || (five[0] == 0 && pl != 20 && pl != 32))
        return kg_err_set(KG_ERR_BAD_INPUT, "segwit version %u program cannot be %zu bytes", five[0], pl);
    memcpy(prog, p, pl);
    *prog_len = pl;
    *witver = five[0];
    return KG_OK;
}
