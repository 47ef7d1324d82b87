/* Output script descriptors (BIP380-386): the checksum, the parser and the
 * writer. Scripts are derived in descriptor_script.c.
 *
 * Supported (BIP381 pkh, BIP382 wpkh/sh(wpkh), BIP383 multi/sortedmulti in
 * sh, wsh and sh(wsh), BIP386 tr with a key path only):
 *   pkh(KEY) wpkh(KEY) sh(wpkh(KEY)) tr(KEY)
 *   sh(MULTI) wsh(MULTI) sh(wsh(MULTI)) MULTI   MULTI = multi|sortedmulti(k,KEY,...)
 * (bare MULTI takes at most 3 keys, sh 15, wsh 20: BIP383).
 * KEY (BIP380 "Key Expressions"): an optional origin
 * [8 hex digits/path], then a hex public key (33-byte compressed; 65-byte
 * uncompressed only where BIP380 allows it, i.e. not inside segwit; 32-byte
 * x-only only in tr), a WIF private key, or an xpub/xprv (and the tpub and
 * SLIP-132 families) followed by /steps and an optional final "/ *" or "/ *'"
 * (ranged). Hardened markers ' and h are accepted on input (BIP380 lists
 * H as invalid); ' is written.
 *
 * BIP380 "Checksum": a BCH code over the descriptor's characters mapped
 * through INPUT_CHARSET (position & 31, plus one symbol per group of three
 * for position >> 5), eight symbols of CHECKSUM_CHARSET. A '#' suffix is
 * verified when present.
 *
 * The parser reads untrusted text: every length is bounded, recursion is
 * two levels deep at most, and any error leaves the output zeroed. WIF and
 * xprv keys are secrets held in the kg_wallet_desc: wipe it. */
#include <string.h>
#include <stdio.h>

#include "kashguard/chain/encoding.h"
#include "hd_int.h"

static const char INPUT_CHARSET[] =
    "0123456789()[],'/*abcdefgh@:$%{}"
    "IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~"
    "ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
static const char CHECKSUM_CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint64_t polymod(uint64_t c, unsigned val)
{
    uint8_t c0 = (uint8_t)(c >> 35);
    c = ((c & 0x7ffffffffULL) << 5) ^ val;
    if (c0 & 1) c ^= 0xf5dee51989ULL;
    if (c0 & 2) c ^= 0xa9fdca3312ULL;
    if (c0 & 4) c ^= 0x1bab10e32dULL;
    if (c0 & 8) c ^= 0x3706b1677aULL;
    if (c0 & 16) c ^= 0x644d626ffdULL;
    return c;
}

/* Checksum of the first len characters of s. */
static kg_err checksum_n(char out[static KG_WALLET_DESC_CHECKSUM_BYTES + 1], const char *s, size_t len)
{
    uint64_t c = 1;
    unsigned cls = 0, count = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        const char *p = s[i] ? strchr(INPUT_CHARSET, s[i]) : NULL;
        if (!p)
            return kg_err_set(KG_ERR_BAD_INPUT, "descriptor character %zu is not allowed (BIP380 charset)", i + 1);
        unsigned pos = (unsigned)(p - INPUT_CHARSET);
        c = polymod(c, pos & 31);
        cls = cls * 3 + (pos >> 5);
        if (++count == 3) {
            c = polymod(c, cls);
            cls = 0;
            count = 0;
        }
    }
    if (count) c = polymod(c, cls);
    for (int j = 0; j < 8; j++) c = polymod(c, 0);
    c ^= 1;
    for (int j = 0; j < 8; j++) out[j] = CHECKSUM_CHARSET[(c >> (5 * (7 - j))) & 31];
    out[8] = '\0';
    return KG_OK;
}

kg_err kg_wallet_desc_checksum(char out[static KG_WALLET_DESC_CHECKSUM_BYTES + 1], const char *desc)
{
    return checksum_n(out, desc, strlen(desc));
}

/* ---------------------------------------------------------------- parse */

typedef struct {
    const char *s;   /* the descriptor without its checksum */
    size_t len, pos;
} cursor;

static bool eat(cursor *c, const char *tok)
{
    size_t n = strlen(tok);
    if (c->len - c->pos >= n && memcmp(c->s + c->pos, tok, n) == 0) {
        c->pos += n;
        return true;
    }
    return false;
}

static kg_err expect(cursor *c, const char *tok)
{
    if (eat(c, tok)) return KG_OK;
    return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: expected '%s' at character %zu", tok, c->pos + 1);
}

/* Parse "/a/b'/c" steps from text[0..len) into path; a trailing "*" or
 * "*'" sets *ranged (only when ranged != NULL). */
static kg_err parse_steps(uint32_t *path, size_t *n, bool *ranged, bool *ranged_h, const char *t, size_t len)
{
    size_t i = 0;
    *n = 0;
    while (i < len) {
        if (t[i] != '/') return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: expected '/' in a key path");
        i++;
        if (ranged && i < len && t[i] == '*') {
            i++;
            bool h = i < len && (t[i] == '\'' || t[i] == 'h');
            if (h) i++;
            if (i != len) return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: '*' must be the last step of a key path");
            *ranged = true;
            *ranged_h = h;
            return KG_OK;
        }
        uint64_t v = 0;
        size_t digits = 0;
        while (i < len && t[i] >= '0' && t[i] <= '9' && digits < 11) { v = v * 10 + (uint64_t)(t[i++] - '0'); digits++; }
        if (!digits || v >= KG_WALLET_HARDENED)
            return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: a key path step must be a number below 2^31");
        if (i < len && (t[i] == '\'' || t[i] == 'h')) { v |= KG_WALLET_HARDENED; i++; }
        if (*n == KG_WALLET_PATH_MAX)
            return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: a key path has more than %d steps", KG_WALLET_PATH_MAX);
        path[(*n)++] = (uint32_t)v;
    }
    return KG_OK;
}

static bool all_hex(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f') || (t[i] >= 'A' && t[i] <= 'F')))
            return false;
    return true;
}

static kg_err parse_hex_key(kg_wallet_dkey *k, const char *t, size_t n, bool xonly_ok)
{
    char hex[131];
    size_t got = 0;
    memcpy(hex, t, n);
    hex[n] = '\0';
    if (kg_hex_decode(k->pub65, sizeof k->pub65, &got, hex) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: bad hex public key");
    uint8_t tmp[65];
    k->form = KG_WALLET_DKEY_HEX;
    k->pub_len = (uint8_t)got;
    if (got == 32) {
        if (!xonly_ok) return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: x-only keys are allowed only in tr()");
        tmp[0] = 0x02;
        memcpy(tmp + 1, k->pub65, 32);
        if (kg_crypto_k1_pubkey_convert(tmp, 33, tmp, 33) != KG_OK)
            return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: x-only key is not on secp256k1");
        return KG_OK;
    }
    if ((got == 33 && k->pub65[0] != 0x02 && k->pub65[0] != 0x03) || (got == 65 && k->pub65[0] != 0x04) ||
        kg_crypto_k1_pubkey_convert(tmp, got, k->pub65, got) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: hex public key is not a valid point");
    return KG_OK;
}

static kg_err parse_wif(kg_wallet_dkey *k, const char *t, size_t n)
{
    char txt[64];
    uint8_t b[40];
    size_t got = 0;
    memcpy(txt, t, n);
    txt[n] = '\0';
    kg_err err = kg_chain_base58check_decode(b, sizeof b, &got, txt);
    if (err == KG_OK && !((got == 34 && b[33] == 0x01) || got == 33))
        err = kg_err_set(KG_ERR_BAD_INPUT, "descriptor: a WIF key is 33 or 34 bytes");
    if (err == KG_OK && b[0] != 0x80 && b[0] != 0xef)
        err = kg_err_set(KG_ERR_BAD_INPUT, "descriptor: unknown WIF version %02x", b[0]);
    if (err == KG_OK && !kg_crypto_k1_seckey_valid(b + 1))
        err = kg_err_set(KG_ERR_BAD_INPUT, "descriptor: WIF private key out of range");
    if (err == KG_OK) {
        k->form = KG_WALLET_DKEY_WIF;
        k->wif_testnet = b[0] == 0xef;
        k->pub_len = got == 34 ? 33 : 65;
        memcpy(k->xkey.priv, b + 1, 32);
        k->xkey.has_priv = true;
        err = kg_crypto_k1_pubkey(k->pub65, k->pub_len, k->xkey.priv);
    }
    kg_wipe(b, sizeof b);
    kg_wipe(txt, sizeof txt);
    return err;
}

static kg_err parse_xkey(kg_wallet_dkey *k, const char *t, size_t n)
{
    size_t slash = 0;
    while (slash < n && t[slash] != '/') slash++;
    char txt[KG_WALLET_XKEY_MAX_BYTES];
    if (slash >= sizeof txt) return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: key expression too long");
    memcpy(txt, t, slash);
    txt[slash] = '\0';
    kg_err err = kg_wallet_xkey_parse(&k->xkey, &k->xkind, txt);
    kg_wipe(txt, sizeof txt);
    if (err != KG_OK) return err;
    k->form = KG_WALLET_DKEY_XKEY;
    err = parse_steps(k->deriv, &k->deriv_len, &k->ranged, &k->ranged_hardened, t + slash, n - slash);
    /* Hardened steps after an xpub are valid syntax (BIP380's vectors list
     * them); deriving a script from them fails, asking for the xprv. */
    return err;
}

typedef enum { CTX_TOP, CTX_SEGWIT, CTX_TAPROOT } key_ctx;

/* KEY up to the next ',' or ')'. */
static kg_err parse_key(kg_wallet_dkey *k, cursor *c, key_ctx ctx)
{
    size_t start = c->pos, end = start;
    while (end < c->len && c->s[end] != ',' && c->s[end] != ')') end++;
    const char *t = c->s + start;
    size_t n = end - start;
    c->pos = end;
    if (n && t[0] == '[') {
        size_t close = 1;
        while (close < n && t[close] != ']') close++;
        if (close == n) return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: key origin '[' without ']'");
        if (close < 9 || !all_hex(t + 1, 8))
            return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: key origin must start with 8 hex digits (fingerprint)");
        char fp[9];
        size_t got = 0;
        memcpy(fp, t + 1, 8);
        fp[8] = '\0';
        if (kg_hex_decode(k->origin_fp, 4, &got, fp) != KG_OK) return KG_ERR_BAD_INPUT;
        kg_err err = parse_steps(k->origin, &k->origin_len, NULL, NULL, t + 9, close - 9);
        if (err != KG_OK) return err;
        k->has_origin = true;
        t += close + 1;
        n -= close + 1;
    }
    if (n == 0) return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: missing key at character %zu", start + 1);
    if ((n == 64 || n == 66 || n == 130) && all_hex(t, n)) {
        kg_err err = parse_hex_key(k, t, n, ctx == CTX_TAPROOT);
        if (err != KG_OK) return err;
    } else if (n >= 51 && n <= 52 && !memchr(t, '/', n)) {
        kg_err err = parse_wif(k, t, n);
        if (err != KG_OK) return err;
    } else {
        kg_err err = parse_xkey(k, t, n);
        if (err != KG_OK) return err;
    }
    if (ctx != CTX_TOP && k->pub_len == 65)
        return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: uncompressed keys are not allowed in %s",
                          ctx == CTX_TAPROOT ? "tr()" : "segwit (wpkh/wsh)");
    return KG_OK;
}

static kg_err parse_multi(kg_wallet_desc *d, cursor *c, key_ctx ctx, size_t max_keys)
{
    if (eat(c, "sortedmulti(")) d->sorted = true;
    else if (!eat(c, "multi(")) return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: expected multi( or sortedmulti(");
    unsigned k = 0;
    size_t digits = 0;
    while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9' && digits < 3) {
        k = k * 10 + (unsigned)(c->s[c->pos++] - '0');
        digits++;
    }
    if (!digits) return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: multi() starts with the threshold k");
    do {
        kg_err err = expect(c, ",");
        if (err != KG_OK) return err;
        if (d->nkeys == max_keys)
            return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: at most %zu keys in this multi()", max_keys);
        err = parse_key(&d->keys[d->nkeys++], c, ctx);
        if (err != KG_OK) return err;
    } while (c->pos < c->len && c->s[c->pos] == ',');
    if (k < 1 || k > d->nkeys)
        return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: multi() threshold %u must be 1..%zu", k, d->nkeys);
    d->threshold = k;
    return expect(c, ")");
}

static kg_err parse_body(kg_wallet_desc *d, cursor *c)
{
    kg_err err;
    if (eat(c, "pkh(")) {
        d->type = KG_WALLET_DESC_PKH;
        d->nkeys = 1;
        err = parse_key(&d->keys[0], c, CTX_TOP);
    } else if (eat(c, "wpkh(")) {
        d->type = KG_WALLET_DESC_WPKH;
        d->nkeys = 1;
        err = parse_key(&d->keys[0], c, CTX_SEGWIT);
    } else if (eat(c, "tr(")) {
        d->type = KG_WALLET_DESC_TR;
        d->nkeys = 1;
        err = parse_key(&d->keys[0], c, CTX_TAPROOT);
        if (err == KG_OK && c->pos < c->len && c->s[c->pos] == ',')
            return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: tr() with a script tree is not supported; "
                              "use tr(KEY)");
    } else if (eat(c, "wsh(")) {
        d->type = KG_WALLET_DESC_WSH_MULTI;
        err = parse_multi(d, c, CTX_SEGWIT, 20);
    } else if (eat(c, "sh(")) {
        if (eat(c, "wpkh(")) {
            d->type = KG_WALLET_DESC_SH_WPKH;
            d->nkeys = 1;
            err = parse_key(&d->keys[0], c, CTX_SEGWIT);
            if (err == KG_OK) err = expect(c, ")");
        } else if (eat(c, "wsh(")) {
            d->type = KG_WALLET_DESC_SH_WSH_MULTI;
            err = parse_multi(d, c, CTX_SEGWIT, 20);
            if (err == KG_OK) err = expect(c, ")");
        } else {
            d->type = KG_WALLET_DESC_SH_MULTI;
            err = parse_multi(d, c, CTX_TOP, 15);
        }
    } else if ((c->len - c->pos >= 6 && memcmp(c->s + c->pos, "multi(", 6) == 0) ||
               (c->len - c->pos >= 12 && memcmp(c->s + c->pos, "sortedmulti(", 12) == 0)) {
        d->type = KG_WALLET_DESC_MULTI;
        return parse_multi(d, c, CTX_TOP, 3);
    } else {
        return kg_err_set(KG_ERR_BAD_INPUT, "descriptor: unsupported script; use pkh, wpkh, sh(wpkh), tr, "
                          "sh/wsh(multi) or sh/wsh(sortedmulti)");
    }
    if (err == KG_OK) err = expect(c, ")");
    return err;
}

kg_err kg_wallet_desc_parse(kg_wallet_desc *out, const char *text, bool require_checksum)
{
    memset(out, 0, sizeof *out);
    size_t n = strnlen(text, KG_WALLET_DESC_MAX_BYTES + 1);
    if (n > KG_WALLET_DESC_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "descriptor longer than %d characters", KG_WALLET_DESC_MAX_BYTES);
    const char *hash = memchr(text, '#', n);
    cursor c = { .s = text, .len = hash ? (size_t)(hash - text) : n };
    kg_err err = KG_OK;
    char sum[KG_WALLET_DESC_CHECKSUM_BYTES + 1];
    if (hash) {
        err = checksum_n(sum, text, c.len);
        if (err == KG_OK && (strlen(hash + 1) != 8 || memcmp(sum, hash + 1, 8) != 0))
            err = kg_err_set(KG_ERR_BAD_INPUT, "descriptor checksum mismatch: the text after '#' must be "
                             "the 8-character BIP380 checksum (expected %s)", strlen(hash + 1) == 8 ? sum : "8 chars");
    } else if (require_checksum) {
        err = kg_err_set(KG_ERR_BAD_INPUT, "descriptor has no '#checksum'; add the BIP380 checksum");
    }
    if (err == KG_OK) err = parse_body(out, &c);
    if (err == KG_OK && c.pos != c.len)
        err = kg_err_set(KG_ERR_BAD_INPUT, "descriptor: unexpected text at character %zu", c.pos + 1);
    if (err != KG_OK) kg_wallet_desc_wipe(out);
    return err;
}

void kg_wallet_desc_wipe(kg_wallet_desc *desc)
{
    if (desc) kg_wipe(desc, sizeof *desc);
}

bool kg_wallet_desc_is_ranged(const kg_wallet_desc *desc)
{
    for (size_t i = 0; i < desc->nkeys; i++)
        if (desc->keys[i].ranged) return true;
    return false;
}
