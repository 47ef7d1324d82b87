/* RLP, Recursive Length Prefix (Ethereum Yellow Paper, appendix B).
 *
 * An item is a byte string or a list of items:
 *   - a single byte 0x00..0x7f is its own encoding;
 *   - a string of 0..55 bytes: 0x80+len, then the bytes;
 *   - a longer string: 0xb7+len(len), len big-endian, the bytes;
 *   - a list whose payload (the concatenated items) is 0..55 bytes: 0xc0+len;
 *   - a longer list: 0xf7+len(len), len big-endian, the payload.
 * Integers are big-endian byte strings without leading zeros (0 is the
 * empty string 0x80).
 *
 * Two encoders share the header code: the streaming sink (eth_int.h), used
 * by transaction hashing, and the public builder kg_chain_rlp_enc, which
 * writes into one buffer and inserts a list's header when the list is
 * closed (moving the payload up by the header's size).
 *
 * The decoder takes untrusted bytes, so it accepts only the canonical
 * encoding: the alternatives the format allows for one value (0x81 0x05
 * for 0x05, a long form for a short length, a length with leading zeros)
 * are rejected, as geth and the ethereum/tests vectors require. It checks
 * the whole tree once, with a depth bound, before anyone reads it. */
#include "eth_int.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- the sink */

void kg_chain_eth_sink_put(kg_chain_eth_sink *s, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (s->buf != NULL && s->len <= s->cap && n <= s->cap - s->len)
        memcpy(s->buf + s->len, p, n);
    if (s->hash != NULL)
        kg_crypto_keccak256_update(s->hash, p, n);
    s->len += n;
}

size_t kg_chain_eth_rlp_header_len(size_t len)
{
    if (len <= 55)
        return 1;
    size_t n = 0;
    for (size_t v = len; v != 0; v >>= 8)
        n++;
    return 1 + n;
}

/* Write the header of a len-byte payload into h; returns its size. */
static size_t header_bytes(uint8_t h[static 9], bool is_list, size_t len)
{
    uint8_t base = is_list ? 0xc0 : 0x80;
    if (len <= 55) {
        h[0] = (uint8_t)(base + len);
        return 1;
    }
    size_t n = kg_chain_eth_rlp_header_len(len) - 1;
    h[0] = (uint8_t)(base + 55 + n);
    for (size_t i = 0; i < n; i++)
        h[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
    return 1 + n;
}

void kg_chain_eth_sink_header(kg_chain_eth_sink *s, bool is_list, size_t len)
{
    uint8_t h[9];
    kg_chain_eth_sink_put(s, h, header_bytes(h, is_list, len));
}

void kg_chain_eth_sink_string(kg_chain_eth_sink *s, const uint8_t *p, size_t n)
{
    if (n == 1 && p[0] < 0x80) {
        kg_chain_eth_sink_put(s, p, 1);
        return;
    }
    kg_chain_eth_sink_header(s, false, n);
    kg_chain_eth_sink_put(s, p, n);
}

void kg_chain_eth_sink_uint(kg_chain_eth_sink *s, uint64_t v)
{
    uint8_t b[8];
    size_t n = 0;
    for (int i = 7; i >= 0; i--) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        if (n == 0 && c == 0)
            continue;
        b[n++] = c;
    }
    kg_chain_eth_sink_string(s, b, n);
}

void kg_chain_eth_sink_u256(kg_chain_eth_sink *s, const uint8_t v[static 32])
{
    size_t i = 0;
    while (i < 32 && v[i] == 0)
        i++;
    kg_chain_eth_sink_string(s, v + i, 32 - i);
}

/* -------------------------------------------------------- the builder */

void kg_chain_rlp_enc_init(kg_chain_rlp_enc *e, uint8_t *buf, size_t cap)
{
    memset(e, 0, sizeof *e);
    e->buf = buf;
    e->cap = buf != NULL ? cap : 0;
}

void kg_chain_rlp_enc_init_bytes(kg_chain_rlp_enc *e, kg_bytes *out)
{
    memset(e, 0, sizeof *e);
    out->data = NULL;
    out->len = 0;
    e->grow = out;
}

/* Make room for n more bytes at the end. */
static bool enc_reserve(kg_chain_rlp_enc *e, size_t n)
{
    if (e->err != KG_OK)
        return false;
    if (n <= e->cap - e->len)
        return true;
    if (e->grow == NULL) {
        e->err = kg_err_set(KG_ERR_BAD_INPUT, "RLP output does not fit in %zu bytes", e->cap);
        return false;
    }
    size_t want = e->cap ? e->cap : 64;
    while (want - e->len < n) {
        if (want > SIZE_MAX / 2) {
            e->err = kg_err_set(KG_ERR_NOMEM, "RLP output too large");
            return false;
        }
        want *= 2;
    }
    uint8_t *p = realloc(e->buf, want);
    if (p == NULL) {
        e->err = kg_err_set(KG_ERR_NOMEM, "out of memory growing the RLP output to %zu bytes", want);
        return false;
    }
    e->buf = p;
    e->cap = want;
    e->grow->data = p;
    return true;
}

static void enc_put(kg_chain_rlp_enc *e, const uint8_t *p, size_t n)
{
    if (n == 0 || !enc_reserve(e, n))
        return;
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

void kg_chain_rlp_enc_bytes(kg_chain_rlp_enc *e, const uint8_t *data, size_t len)
{
    uint8_t h[9];
    if (len == 1 && data[0] < 0x80) {
        enc_put(e, data, 1);
        return;
    }
    enc_put(e, h, header_bytes(h, false, len));
    enc_put(e, data, len);
}

void kg_chain_rlp_enc_uint(kg_chain_rlp_enc *e, uint64_t v)
{
    uint8_t w[32] = { 0 };
    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
    kg_chain_rlp_enc_u256(e, w);
}

void kg_chain_rlp_enc_u256(kg_chain_rlp_enc *e, const uint8_t v[static 32])
{
    size_t i = 0;
    while (i < 32 && v[i] == 0)
        i++;
    kg_chain_rlp_enc_bytes(e, v + i, 32 - i);
}

void kg_chain_rlp_enc_raw(kg_chain_rlp_enc *e, const uint8_t *rlp, size_t len)
{
    enc_put(e, rlp, len);
}

void kg_chain_rlp_enc_list_begin(kg_chain_rlp_enc *e)
{
    if (e->err != KG_OK)
        return;
    if (e->depth >= KG_CHAIN_RLP_MAX_DEPTH) {
        e->err = kg_err_set(KG_ERR_BAD_INPUT, "RLP lists nested deeper than %d", KG_CHAIN_RLP_MAX_DEPTH);
        return;
    }
    e->open[e->depth++] = e->len;
}

void kg_chain_rlp_enc_list_end(kg_chain_rlp_enc *e)
{
    if (e->err != KG_OK)
        return;
    if (e->depth == 0) {
        e->err = kg_err_set(KG_ERR_BAD_INPUT, "RLP list closed that was never opened");
        return;
    }
    size_t start = e->open[--e->depth];
    size_t plen = e->len - start;
    uint8_t h[9];
    size_t hl = header_bytes(h, true, plen);
    if (!enc_reserve(e, hl))
        return;
    memmove(e->buf + start + hl, e->buf + start, plen);
    memcpy(e->buf + start, h, hl);
    e->len += hl;
}

kg_err kg_chain_rlp_enc_finish(size_t *out_len, kg_chain_rlp_enc *e)
{
    *out_len = 0;
    if (e->err == KG_OK && e->depth != 0)
        e->err = kg_err_set(KG_ERR_BAD_INPUT, "%zu RLP list(s) left open", e->depth);
    if (e->err != KG_OK) {
        if (e->grow != NULL) {
            free(e->buf);
            e->grow->data = NULL;
            e->grow->len = 0;
        }
        e->buf = NULL;
        e->cap = e->len = 0;
        return e->err;
    }
    if (e->grow != NULL)
        e->grow->len = e->len;
    *out_len = e->len;
    return KG_OK;
}

/* ---------------------------------------------------------- the decoder */

/* Parse the header of the item at in[off..len): fills it (payload and raw
 * views) or fails with a detail naming the offset. Canonical forms only. */
static kg_err item_header(kg_chain_rlp_item *it, const uint8_t *in, size_t len, size_t off)
{
    const uint8_t *p = in + off;
    size_t left = len - off, hl = 1, plen = 0;
    uint8_t b = p[0];
    memset(it, 0, sizeof *it);
    it->is_list = b >= 0xc0;
    if (b < 0x80) {
        hl = 0;
        plen = 1;
    } else if (b <= 0xb7 || (b >= 0xc0 && b <= 0xf7)) {
        plen = (size_t)(b - (it->is_list ? 0xc0 : 0x80));
    } else {
        size_t nl = (size_t)(b - (it->is_list ? 0xf7 : 0xb7));
        if (nl > sizeof(size_t) || nl >= left)
            return kg_err_set(KG_ERR_BAD_INPUT, "RLP length at offset %zu runs past the end of the input", off);
        if (p[1] == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "RLP length at offset %zu has leading zero bytes", off);
        for (size_t i = 0; i < nl; i++)
            plen = (plen << 8) | p[1 + i];
        if (plen <= 55)
            return kg_err_set(KG_ERR_BAD_INPUT,
                              "RLP item at offset %zu uses the long form for %zu bytes (not canonical)", off, plen);
        hl = 1 + nl;
    }
    if (hl > left || plen > left - hl)
        return kg_err_set(KG_ERR_BAD_INPUT, "RLP item at offset %zu (%zu bytes) runs past the end of the input",
                          off, plen);
    if (!it->is_list && hl == 1 && plen == 1 && p[1] < 0x80)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "RLP byte 0x%02x at offset %zu must be encoded as itself (not canonical)", p[1], off);
    it->payload = p + hl;
    it->payload_len = plen;
    it->raw = p;
    it->raw_len = hl + plen;
    return KG_OK;
}

/* Check every item of a list payload, recursively (depth-bounded). */
static kg_err check_tree(const kg_chain_rlp_item *list, unsigned depth)
{
    if (depth > KG_CHAIN_RLP_MAX_DEPTH)
        return kg_err_set(KG_ERR_BAD_INPUT, "RLP lists nested deeper than %d", KG_CHAIN_RLP_MAX_DEPTH);
    size_t off = 0;
    while (off < list->payload_len) {
        kg_chain_rlp_item it;
        kg_err err = item_header(&it, list->payload, list->payload_len, off);
        if (err != KG_OK)
            return err;
        if (it.is_list && (err = check_tree(&it, depth + 1)) != KG_OK)
            return err;
        off += it.raw_len;
    }
    return KG_OK;
}

kg_err kg_chain_rlp_decode(kg_chain_rlp_item *out, const uint8_t *in, size_t in_len)
{
    memset(out, 0, sizeof *out);
    if (in == NULL || in_len == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "RLP input is empty");
    kg_chain_rlp_item it;
    kg_err err = item_header(&it, in, in_len, 0);
    if (err == KG_OK && it.raw_len != in_len)
        err = kg_err_set(KG_ERR_BAD_INPUT, "%zu trailing byte(s) after the RLP item", in_len - it.raw_len);
    if (err == KG_OK && it.is_list)
        err = check_tree(&it, 1);
    if (err == KG_OK)
        *out = it;
    return err;
}

kg_err kg_chain_rlp_list_items(kg_chain_rlp_item *items, size_t max, size_t *count, const kg_chain_rlp_item *list)
{
    *count = 0;
    if (!list->is_list)
        return kg_err_set(KG_ERR_BAD_INPUT, "expected an RLP list, found a string");
    size_t off = 0, n = 0;
    while (off < list->payload_len) {
        kg_chain_rlp_item it;
        kg_err err = item_header(&it, list->payload, list->payload_len, off);
        if (err != KG_OK)
            return err;
        if (n == max)
            return kg_err_set(KG_ERR_BAD_INPUT, "RLP list has more than %zu elements", max);
        items[n++] = it;
        off += it.raw_len;
    }
    *count = n;
    return KG_OK;
}

bool kg_chain_rlp_list_next(kg_chain_rlp_item *out, size_t *off, const kg_chain_rlp_item *list)
{
    if (!list->is_list || *off >= list->payload_len ||
        item_header(out, list->payload, list->payload_len, *off) != KG_OK) {
        memset(out, 0, sizeof *out);
        return false;
    }
    *off += out->raw_len;
    return true;
}

static kg_err item_int(const uint8_t **p, size_t *n, const kg_chain_rlp_item *it, const char *what, size_t max)
{
    if (it->is_list)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s must be an integer, found an RLP list", what);
    if (it->payload_len > 0 && it->payload[0] == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s has leading zero bytes (not canonical)", what);
    if (it->payload_len > max)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s is %zu bytes, more than the %zu-byte maximum (overflow)", what,
                          it->payload_len, max);
    *p = it->payload;
    *n = it->payload_len;
    return KG_OK;
}

kg_err kg_chain_rlp_item_uint(uint64_t *out, const kg_chain_rlp_item *it, const char *what)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    *out = 0;
    kg_err err = item_int(&p, &n, it, what, 8);
    if (err != KG_OK)
        return err;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    *out = v;
    return KG_OK;
}

kg_err kg_chain_rlp_item_u256(uint8_t out[static 32], const kg_chain_rlp_item *it, const char *what)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    memset(out, 0, 32);
    kg_err err = item_int(&p, &n, it, what, 32);
    if (err == KG_OK && n > 0)
        memcpy(out + 32 - n, p, n);
    return err;
}
