/* Bitcoin transactions: storage, the strict parser, serialization, txid.
 *
 * Format (Bitcoin Core's serialization; BIP144 for segwit):
 *   version u32 | [marker 0x00, flag 0x01] | vin count | vin* | vout count |
 *   vout* | [witness stack per input] | locktime u32
 * with CompactSize counts/lengths. The parser takes untrusted bytes: every
 * count is checked against the bytes left (an input is at least 41 bytes,
 * an output 9, a witness item 1) and against the caller's capacity before
 * anything is stored, CompactSize must be minimal, values and their sum are
 * at most 21e6 BTC, the segwit flag must be 1 and some witness non-empty
 * (Core: "superfluous witness record"), and no byte may trail. The parsed
 * transaction holds views into the input buffer: nothing is copied or
 * allocated, so it is usable in the firmware.
 *
 * txid = SHA256d(legacy serialization), wtxid = SHA256d(BIP144 form)
 * (BIP141 "Transaction ID"), streamed into SHA-256 by btc_writer. */
#include <stdlib.h>
#include <stdio.h>

#include "btc_int.h"

void kg_chain_btc_tx_init(kg_chain_btc_tx *tx, kg_chain_btc_txin *inputs, size_t input_cap,
                          kg_chain_btc_txout *outputs, size_t output_cap,
                          kg_chain_btc_bytes *items, size_t item_cap, uint8_t *arena, size_t arena_cap)
{
    memset(tx, 0, sizeof *tx);
    tx->version = 2;
    tx->inputs = inputs;
    tx->input_cap = inputs != NULL ? input_cap : 0;
    tx->outputs = outputs;
    tx->output_cap = outputs != NULL ? output_cap : 0;
    tx->items = items;
    tx->item_cap = items != NULL ? item_cap : 0;
    tx->arena = arena;
    tx->arena_cap = arena != NULL ? arena_cap : 0;
}

kg_err kg_chain_btc_tx_alloc(kg_chain_btc_tx *tx, size_t input_cap, size_t output_cap, size_t item_cap, size_t arena_cap)
{
    memset(tx, 0, sizeof *tx);
    if (input_cap > KG_CHAIN_BTC_TX_MAX_BYTES / 41 || output_cap > KG_CHAIN_BTC_TX_MAX_BYTES / 9 ||
        item_cap > KG_CHAIN_BTC_TX_MAX_BYTES || arena_cap > KG_CHAIN_BTC_TX_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction capacity is larger than any valid transaction");
    size_t a = input_cap * sizeof(kg_chain_btc_txin);
    size_t b = output_cap * sizeof(kg_chain_btc_txout);
    size_t c = item_cap * sizeof(kg_chain_btc_bytes);
    uint8_t *mem = calloc(1, a + b + c + arena_cap + 1);
    if (mem == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory for a transaction");
    kg_chain_btc_tx_init(tx, (kg_chain_btc_txin *)(void *)mem, input_cap,
                         (kg_chain_btc_txout *)(void *)(mem + a), output_cap,
                         (kg_chain_btc_bytes *)(void *)(mem + a + b), item_cap, mem + a + b + c, arena_cap);
    tx->heap_ = mem;
    return KG_OK;
}

void kg_chain_btc_tx_free(kg_chain_btc_tx *tx)
{
    if (tx == NULL || tx->heap_ == NULL)
        return;
    free(tx->heap_);
    memset(tx, 0, sizeof *tx);
}

kg_err kg_chain_btc_tx_add_input(kg_chain_btc_tx *tx, const uint8_t prev_txid[static 32], uint32_t prev_vout, uint32_t sequence)
{
    if (tx->input_count >= tx->input_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction has room for %zu inputs; allocate more", tx->input_cap);
    kg_chain_btc_txin *in = &tx->inputs[tx->input_count++];
    memset(in, 0, sizeof *in);
    memcpy(in->prev_txid, prev_txid, 32);
    in->prev_vout = prev_vout;
    in->sequence = sequence;
    return KG_OK;
}

kg_err kg_chain_btc_tx_add_output(kg_chain_btc_tx *tx, uint64_t value, const uint8_t *script, size_t script_len)
{
    if (tx->output_count >= tx->output_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction has room for %zu outputs; allocate more", tx->output_cap);
    if (value > KG_CHAIN_BTC_MAX_MONEY)
        return kg_err_set(KG_ERR_BAD_INPUT, "output value %llu sat is over 21 million BTC", (unsigned long long)value);
    if (script_len > KG_CHAIN_BTC_SCRIPT_MAX_BYTES || (script_len > 0 && script == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "output script of %zu bytes is not valid", script_len);
    kg_chain_btc_txout *o = &tx->outputs[tx->output_count++];
    o->value = value;
    o->script.data = script;
    o->script.len = script_len;
    return KG_OK;
}

/* ------------------------------------------------------------- parser */

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} rd;

static kg_err rd_fail(const rd *r, const char *what)
{
    return kg_err_set(KG_ERR_BAD_INPUT, "bad transaction: %s at byte %zu of %zu", what, r->pos, r->len);
}

static kg_err rd_bytes(rd *r, const uint8_t **out, size_t n, const char *what)
{
    if (n > r->len - r->pos)
        return rd_fail(r, what);
    *out = r->p + r->pos;
    r->pos += n;
    return KG_OK;
}

static kg_err rd_u32(rd *r, uint32_t *v, const char *what)
{
    const uint8_t *b = NULL;
    kg_err e = rd_bytes(r, &b, 4, what);
    if (e == KG_OK)
        *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return e;
}

static kg_err rd_u64(rd *r, uint64_t *v, const char *what)
{
    uint32_t lo = 0, hi = 0;
    kg_err e = rd_u32(r, &lo, what);
    if (e == KG_OK)
        e = rd_u32(r, &hi, what);
    *v = (uint64_t)hi << 32 | lo;
    return e;
}

/* A minimal CompactSize no larger than max (bounded by the caller from the bytes left). */
static kg_err rd_varint(rd *r, uint64_t *v, uint64_t max, const char *what)
{
    const uint8_t *b = NULL;
    *v = 0;
    if (rd_bytes(r, &b, 1, what) != KG_OK)
        return rd_fail(r, what);
    uint64_t x = b[0];
    if (b[0] == 0xfd || b[0] == 0xfe || b[0] == 0xff) {
        size_t n = b[0] == 0xfd ? 2 : b[0] == 0xfe ? 4 : 8;
        if (rd_bytes(r, &b, n, what) != KG_OK)
            return rd_fail(r, what);
        x = 0;
        for (size_t i = n; i > 0; i--)
            x = x << 8 | b[i - 1];
        uint64_t min = n == 2 ? 0xfd : n == 4 ? 0x10000 : 0x100000000ull;
        if (x < min)
            return kg_err_set(KG_ERR_BAD_INPUT, "bad transaction: non-minimal length encoding for %s at byte %zu", what, r->pos);
    }
    if (x > max)
        return kg_err_set(KG_ERR_BAD_INPUT, "bad transaction: %s of %llu is more than the %zu bytes left allow (byte %zu)",
                          what, (unsigned long long)x, r->len - r->pos, r->pos);
    *v = x;
    return KG_OK;
}

static kg_err rd_script(rd *r, kg_chain_btc_bytes *out, const char *what)
{
    uint64_t n = 0;
    size_t left = r->len - r->pos;
    kg_err e = rd_varint(r, &n, left < KG_CHAIN_BTC_SCRIPT_MAX_BYTES ? left : KG_CHAIN_BTC_SCRIPT_MAX_BYTES, what);
    if (e == KG_OK)
        e = rd_bytes(r, &out->data, (size_t)n, what);
    out->len = (size_t)n;
    if (n == 0)
        out->data = NULL;
    return e;
}

static kg_err parse_inputs(kg_chain_btc_tx *tx, rd *r)
{
    uint64_t n = 0;
    kg_err e = rd_varint(r, &n, (r->len - r->pos) / 41, "input count");
    if (e != KG_OK)
        return e;
    if (n == 0)
        return rd_fail(r, "no inputs");
    if (n > tx->input_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction has %llu inputs, room for %zu", (unsigned long long)n, tx->input_cap);
    for (size_t i = 0; i < n && e == KG_OK; i++) {
        kg_chain_btc_txin *in = &tx->inputs[i];
        const uint8_t *id = NULL;
        memset(in, 0, sizeof *in);
        e = rd_bytes(r, &id, 32, "truncated input");
        if (e == KG_OK) {
            memcpy(in->prev_txid, id, 32);
            e = rd_u32(r, &in->prev_vout, "truncated input");
        }
        if (e == KG_OK)
            e = rd_script(r, &in->script_sig, "scriptSig length");
        if (e == KG_OK)
            e = rd_u32(r, &in->sequence, "truncated input sequence");
        tx->input_count = i + 1;
    }
    return e;
}

static kg_err parse_outputs(kg_chain_btc_tx *tx, rd *r)
{
    uint64_t n = 0, total = 0;
    kg_err e = rd_varint(r, &n, (r->len - r->pos) / 9, "output count");
    if (e != KG_OK)
        return e;
    if (n == 0)
        return rd_fail(r, "no outputs");
    if (n > tx->output_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction has %llu outputs, room for %zu", (unsigned long long)n, tx->output_cap);
    for (size_t i = 0; i < n && e == KG_OK; i++) {
        kg_chain_btc_txout *o = &tx->outputs[i];
        memset(o, 0, sizeof *o);
        e = rd_u64(r, &o->value, "truncated output value");
        if (e == KG_OK && (o->value > KG_CHAIN_BTC_MAX_MONEY || (total += o->value) > KG_CHAIN_BTC_MAX_MONEY))
            e = rd_fail(r, "output value over 21 million BTC");
        if (e == KG_OK)
            e = rd_script(r, &o->script, "output script length");
        tx->output_count = i + 1;
    }
    return e;
}

static kg_err parse_witnesses(kg_chain_btc_tx *tx, rd *r)
{
    bool any = false;
    kg_err e = KG_OK;
    for (size_t i = 0; i < tx->input_count && e == KG_OK; i++) {
        uint64_t n = 0;
        e = rd_varint(r, &n, r->len - r->pos, "witness item count");
        if (e != KG_OK)
            break;
        if (n > tx->item_cap - tx->item_count)
            return kg_err_set(KG_ERR_BAD_INPUT, "transaction has more witness items than the %zu it has room for",
                              tx->item_cap);
        kg_chain_btc_txin *in = &tx->inputs[i];
        in->witness = n > 0 ? &tx->items[tx->item_count] : NULL;
        for (size_t k = 0; k < n && e == KG_OK; k++) {
            uint64_t len = 0;
            kg_chain_btc_bytes *it = &tx->items[tx->item_count];
            e = rd_varint(r, &len, r->len - r->pos, "witness item length");
            if (e == KG_OK)
                e = rd_bytes(r, &it->data, (size_t)len, "truncated witness item");
            it->len = (size_t)len;
            if (len == 0)
                it->data = NULL;
            tx->item_count++;
            in->witness_count = k + 1;
        }
        any |= n > 0;
    }
    if (e == KG_OK && !any)
        return rd_fail(r, "segwit marker but every witness is empty");
    return e;
}

static kg_err parse_body(kg_chain_btc_tx *tx, rd *r)
{
    kg_err e = rd_u32(r, &tx->version, "truncated version");
    bool segwit = false;
    if (e == KG_OK && r->pos < r->len && r->p[r->pos] == 0x00) {
        if (r->len - r->pos < 2 || r->p[r->pos + 1] != 0x01) {
            r->pos++;
            return rd_fail(r, "segwit flag is not 0x01 (or no inputs)");
        }
        r->pos += 2;
        segwit = true;
    }
    if (e == KG_OK)
        e = parse_inputs(tx, r);
    if (e == KG_OK)
        e = parse_outputs(tx, r);
    if (e == KG_OK && segwit)
        e = parse_witnesses(tx, r);
    if (e == KG_OK)
        e = rd_u32(r, &tx->locktime, "truncated locktime");
    if (e == KG_OK && r->pos != r->len)
        e = kg_err_set(KG_ERR_BAD_INPUT, "bad transaction: %zu trailing bytes after the locktime", r->len - r->pos);
    return e;
}

kg_err kg_chain_btc_tx_parse(kg_chain_btc_tx *tx, const uint8_t *raw, size_t raw_len)
{
    tx->input_count = tx->output_count = tx->item_count = tx->arena_len = 0;
    tx->version = tx->locktime = 0;
    if (raw_len > KG_CHAIN_BTC_TX_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction of %zu bytes is over the 4 MB limit", raw_len);
    rd r = { raw, raw_len, 0 };
    kg_err e = parse_body(tx, &r);
    if (e != KG_OK) {
        tx->input_count = tx->output_count = tx->item_count = 0;
        tx->version = tx->locktime = 0;
    }
    return e;
}

/* ---------------------------------------------------------- serializer */

bool kg_chain_btc_tx_has_witness_(const kg_chain_btc_tx *tx)
{
    for (size_t i = 0; i < tx->input_count; i++)
        if (tx->inputs[i].witness_count > 0)
            return true;
    return false;
}

void kg_chain_btc_tx_write_(btc_writer *w, const kg_chain_btc_tx *tx, bool witness)
{
    witness = witness && kg_chain_btc_tx_has_witness_(tx);
    btc_w_u32(w, tx->version);
    if (witness) {
        btc_w_u8(w, 0x00);
        btc_w_u8(w, 0x01);
    }
    btc_w_varint(w, tx->input_count);
    for (size_t i = 0; i < tx->input_count; i++) {
        const kg_chain_btc_txin *in = &tx->inputs[i];
        btc_w_bytes(w, in->prev_txid, 32);
        btc_w_u32(w, in->prev_vout);
        btc_w_varbytes(w, in->script_sig.data, in->script_sig.len);
        btc_w_u32(w, in->sequence);
    }
    btc_w_varint(w, tx->output_count);
    for (size_t i = 0; i < tx->output_count; i++) {
        btc_w_u64(w, tx->outputs[i].value);
        btc_w_varbytes(w, tx->outputs[i].script.data, tx->outputs[i].script.len);
    }
    for (size_t i = 0; witness && i < tx->input_count; i++) {
        const kg_chain_btc_txin *in = &tx->inputs[i];
        btc_w_varint(w, in->witness_count);
        for (size_t k = 0; k < in->witness_count; k++)
            btc_w_varbytes(w, in->witness[k].data, in->witness[k].len);
    }
    btc_w_u32(w, tx->locktime);
}

size_t kg_chain_btc_tx_size(const kg_chain_btc_tx *tx, bool witness)
{
    btc_writer w = { 0 };
    kg_chain_btc_tx_write_(&w, tx, witness);
    return w.len;
}

size_t kg_chain_btc_tx_weight(const kg_chain_btc_tx *tx)
{
    return kg_chain_btc_tx_size(tx, false) * 3 + kg_chain_btc_tx_size(tx, true);
}

size_t kg_chain_btc_tx_vsize(const kg_chain_btc_tx *tx)
{
    return (kg_chain_btc_tx_weight(tx) + 3) / 4;
}

kg_err kg_chain_btc_tx_serialize(uint8_t *out, size_t out_cap, size_t *out_len, const kg_chain_btc_tx *tx, bool witness)
{
    *out_len = 0;
    size_t need = kg_chain_btc_tx_size(tx, witness);
    if (need > out_cap)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction needs %zu bytes, buffer has %zu", need, out_cap);
    btc_writer w = { .buf = out, .cap = out_cap };
    kg_chain_btc_tx_write_(&w, tx, witness);
    *out_len = w.len;
    return KG_OK;
}

static void tx_hash(uint8_t out[static 32], const kg_chain_btc_tx *tx, bool witness)
{
    kg_crypto_sha256_ctx ctx;
    uint8_t h[32];
    kg_crypto_sha256_init(&ctx);
    btc_writer w = { .sha = &ctx };
    kg_chain_btc_tx_write_(&w, tx, witness);
    kg_crypto_sha256_final(h, &ctx);
    kg_crypto_sha256(out, h, 32);
}

void kg_chain_btc_tx_txid(uint8_t out[static 32], const kg_chain_btc_tx *tx) { tx_hash(out, tx, false); }

void kg_chain_btc_tx_wtxid(uint8_t out[static 32], const kg_chain_btc_tx *tx) { tx_hash(out, tx, true); }

void kg_chain_btc_txid_hex(char out[static 65], const uint8_t txid[static 32])
{
    uint8_t rev[32];
    for (size_t i = 0; i < 32; i++)
        rev[i] = txid[31 - i];
    kg_hex_encode(out, rev, 32);
}

kg_err kg_chain_btc_txid_parse(uint8_t out[static 32], const char *hex)
{
    uint8_t rev[32];
    size_t n = 0;
    memset(out, 0, 32);
    if (strlen(hex) != 64 || kg_hex_decode(rev, sizeof rev, &n, hex) != KG_OK || n != 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "a txid is 64 hex digits");
    for (size_t i = 0; i < 32; i++)
        out[i] = rev[31 - i];
    return KG_OK;
}
