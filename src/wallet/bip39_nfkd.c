/* Unicode NFKD normalisation for BIP39 mnemonics and passphrases.
 *
 * BIP39 ("From mnemonic to seed") hashes NFKD(mnemonic) and
 * "mnemonic" || NFKD(passphrase). A passphrase typed on a keyboard usually
 * arrives composed (NFC: "é" as U+00E9), a Japanese mnemonic uses the
 * ideographic space U+3000, and a Korean one may come as precomposed Hangul
 * syllables; all of them must hash as their decompositions or the seed is
 * wrong. So this is a complete NFKD (UAX #15 section 1.2 / 3.11), not a
 * subset:
 *   1. decode strict UTF-8 (no overlongs, surrogates or values > U+10FFFF);
 *   2. replace every code point by its full compatibility decomposition:
 *      Hangul syllables algorithmically (Unicode 3.12 "Conjoining Jamo
 *      Behavior"), everything else from the table that
 *      scripts/gen-wordlists.py generates from Python's unicodedata into
 *      bip39_nfkd_table.c (the Unicode version is recorded there);
 *   3. put each run of non-starters into canonical order: a stable sort by
 *      canonical combining class (the "Canonical Ordering Algorithm").
 * A run of more than 32 non-starters is rejected rather than buffered
 * without bound (no real text needs that; see UAX #15 "Stream-Safe Text
 * Format", which caps it at 30). No allocation: the caller's buffer. */
#include <string.h>

#include "hd_int.h"

#define MAX_MARKS 32

typedef struct {
    char *out;
    size_t cap;
    size_t len;
    bool overflow;
    uint32_t marks[MAX_MARKS];
    uint8_t mark_ccc[MAX_MARKS];
    size_t nmarks;
    bool too_many_marks;
} nfkd_writer;

/* Decode one code point of strict UTF-8 (RFC 3629 section 4). Returns the
 * number of bytes used, 0 on invalid input. */
static size_t utf8_decode(uint32_t *cp, const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { n = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

static void put_utf8(nfkd_writer *w, uint32_t cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) { b[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { b[0] = (unsigned char)(0xC0 | (cp >> 6)); b[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12)); b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18)); b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); b[3] = (unsigned char)(0x80 | (cp & 0x3F)); n = 4;
    }
    if (w->len + n + 1 > w->cap) { w->overflow = true; return; }
    memcpy(w->out + w->len, b, n);
    w->len += n;
}

static unsigned ccc_of(uint32_t cp)
{
    size_t lo = 0, hi = kg_wallet_ccc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < kg_wallet_ccc_ranges[mid][0]) hi = mid;
        else if (cp > kg_wallet_ccc_ranges[mid][1]) lo = mid + 1;
        else return kg_wallet_ccc_ranges[mid][2];
    }
    return 0;
}

static void flush_marks(nfkd_writer *w)
{
    for (size_t i = 0; i < w->nmarks; i++) put_utf8(w, w->marks[i]);
    w->nmarks = 0;
}

/* Emit one fully decomposed code point, keeping non-starters in order. */
static void emit(nfkd_writer *w, uint32_t cp)
{
    unsigned c = ccc_of(cp);
    if (c == 0) {
        flush_marks(w);
        put_utf8(w, cp);
        return;
    }
    if (w->nmarks == MAX_MARKS) { w->too_many_marks = true; return; }
    size_t i = w->nmarks;
    while (i > 0 && w->mark_ccc[i - 1] > c) { /* stable: equal classes keep order */
        w->marks[i] = w->marks[i - 1];
        w->mark_ccc[i] = w->mark_ccc[i - 1];
        i--;
    }
    w->marks[i] = cp;
    w->mark_ccc[i] = (uint8_t)c;
    w->nmarks++;
}

static void decompose(nfkd_writer *w, uint32_t cp)
{
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: L V (T) */
        uint32_t s = cp - 0xAC00;
        emit(w, 0x1100 + s / 588);
        emit(w, 0x1161 + (s % 588) / 28);
        if (s % 28) emit(w, 0x11A7 + s % 28);
        return;
    }
    size_t lo = 0, hi = kg_wallet_nfkd_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < kg_wallet_nfkd_keys[mid]) hi = mid;
        else if (cp > kg_wallet_nfkd_keys[mid]) lo = mid + 1;
        else {
            uint32_t off = kg_wallet_nfkd_offs[mid] >> 5, n = kg_wallet_nfkd_offs[mid] & 31;
            for (uint32_t i = 0; i < n; i++) emit(w, kg_wallet_nfkd_data[off + i]);
            return;
        }
    }
    emit(w, cp);
}

kg_err kg_wallet_utf8_nfkd(char *out, size_t out_cap, size_t *out_len, const char *in)
{
    nfkd_writer w = { .out = out, .cap = out_cap };
    const unsigned char *p = (const unsigned char *)in;
    size_t pos = 0;
    if (out_len) *out_len = 0;
    while (p[pos]) {
        uint32_t cp = 0;
        size_t n = utf8_decode(&cp, p + pos);
        if (n == 0) {
            kg_wipe(&w, sizeof w);
            if (out_cap) kg_wipe(out, out_cap);
            return kg_err_set(KG_ERR_BAD_INPUT, "the text is not valid UTF-8 (byte %zu); "
                              "give it in UTF-8", pos + 1);
        }
        decompose(&w, cp);
        pos += n;
    }
    flush_marks(&w);
    bool overflow = w.overflow || out_cap == 0, marks = w.too_many_marks;
    size_t len = w.len;
    kg_wipe(&w, sizeof w);
    if (overflow || marks) {
        if (out_cap) kg_wipe(out, out_cap);
        if (marks)
            return kg_err_set(KG_ERR_BAD_INPUT, "the text has more than %d combining marks in a row",
                              MAX_MARKS);
        return kg_err_set(KG_ERR_BAD_INPUT, "the text is too long once normalised (NFKD): at most "
                          "%zu bytes fit", out_cap ? out_cap - 1 : 0);
    }
    out[len] = '\0';
    if (out_len) *out_len = len;
    return KG_OK;
}
