/* Bitcoin signature hashes: what an input's signature commits to.
 *
 *  - Legacy (original Satoshi algorithm, Bitcoin Core SignatureHash for
 *    SigVersion BASE): a modified copy of the transaction, with the input's
 *    scriptCode (OP_CODESEPARATORs removed) in its scriptSig and the others
 *    empty, NONE/SINGLE zeroing other inputs' sequences and trimming
 *    outputs, ANYONECANPAY keeping only this input; then the 4-byte hash
 *    type; SHA256d. SIGHASH_SINGLE with no matching output hashes to the
 *    number 1 (the well-known "SINGLE bug" consensus keeps).
 *  - BIP143 (segwit v0): the fixed-layout preimage of hashPrevouts,
 *    hashSequence, the outpoint, scriptCode, amount, nSequence and
 *    hashOutputs, so each input costs O(size) and commits to its amount.
 *  - BIP341 (taproot key path, ext_flag 0, no annex): SigMsg, with single
 *    SHA-256 hashes of prevouts, amounts, scriptPubKeys, sequences and
 *    outputs, hashed as TaggedHash("TapSighash", 0x00 || SigMsg).
 *
 * Each preimage is written once, through btc_writer, either into a buffer
 * (tests, devices that display it) or straight into SHA-256: no buffer the
 * size of the transaction, no allocation (firmware reuse). The per-tx
 * sub-hashes are recomputed per input (O(n^2) for n inputs; fine for the
 * sizes a wallet signs). */
#include "btc_int.h"

#define SIGHASH_MASK 0x1fu

static void sha256d_final(uint8_t out[static 32], kg_crypto_sha256_ctx *ctx)
{
    uint8_t h[32];
    kg_crypto_sha256_final(h, ctx);
    kg_crypto_sha256(out, h, 32);
}

/* ------------------------------------------------------------ legacy */

/* Length of the opcode at s[i..n) including its push data; 0 if truncated. */
static size_t op_len(const uint8_t *s, size_t i, size_t n)
{
    uint8_t op = s[i];
    size_t hdr = 1, data = 0;
    if (op >= 0x01 && op <= 0x4b) {
        data = op;
    } else if (op == 0x4c || op == 0x4d || op == 0x4e) {
        size_t nb = op == 0x4c ? 1 : op == 0x4d ? 2 : 4;
        if (n - i - 1 < nb)
            return 0;
        for (size_t k = nb; k > 0; k--)
            data = data << 8 | s[i + k];
        hdr += nb;
    }
    if (data > n - i - hdr)
        return 0;
    return hdr + data;
}

/* scriptCode without OP_CODESEPARATOR (0xab), as Core serializes it. A
 * truncated push ends the parse; the remaining bytes are kept as they are. */
static void write_script_code_legacy(btc_writer *w, const uint8_t *s, size_t n)
{
    size_t seps = 0;
    for (size_t i = 0, l; i < n; i += l) {
        l = op_len(s, i, n);
        if (l == 0)
            break;
        seps += s[i] == 0xab;
    }
    btc_w_varint(w, n - seps);
    size_t start = 0, i = 0;
    while (i < n) {
        size_t l = op_len(s, i, n);
        if (l == 0)
            break;
        if (s[i] == 0xab) {
            btc_w_bytes(w, s + start, i - start);
            start = i + 1;
        }
        i += l;
    }
    btc_w_bytes(w, s + start, n - start);
}

kg_err kg_chain_btc_sighash_legacy(uint8_t out[static 32], const kg_chain_btc_tx *tx, size_t index,
                                   const uint8_t *script_code, size_t script_code_len, uint32_t hash_type)
{
    memset(out, 0, 32);
    if (index >= tx->input_count)
        return kg_err_set(KG_ERR_BAD_INPUT, "sighash: input %zu does not exist (the tx has %zu)", index, tx->input_count);
    unsigned base = hash_type & SIGHASH_MASK;
    bool acp = (hash_type & KG_CHAIN_BTC_SIGHASH_ANYONECANPAY) != 0;
    if (base == KG_CHAIN_BTC_SIGHASH_SINGLE && index >= tx->output_count) {
        out[0] = 1; /* the SINGLE bug: the "hash" is uint256 one, little-endian */
        return KG_OK;
    }
    kg_crypto_sha256_ctx ctx;
    kg_crypto_sha256_init(&ctx);
    btc_writer w = { .sha = &ctx };
    btc_w_u32(&w, tx->version);
    btc_w_varint(&w, acp ? 1 : tx->input_count);
    for (size_t i = 0; i < tx->input_count; i++) {
        if (acp && i != index)
            continue;
        const kg_chain_btc_txin *in = &tx->inputs[i];
        btc_w_bytes(&w, in->prev_txid, 32);
        btc_w_u32(&w, in->prev_vout);
        if (i == index)
            write_script_code_legacy(&w, script_code, script_code_len);
        else
            btc_w_varint(&w, 0);
        bool zero_seq = i != index && (base == KG_CHAIN_BTC_SIGHASH_NONE || base == KG_CHAIN_BTC_SIGHASH_SINGLE);
        btc_w_u32(&w, zero_seq ? 0 : in->sequence);
    }
    size_t nout = base == KG_CHAIN_BTC_SIGHASH_NONE ? 0 : base == KG_CHAIN_BTC_SIGHASH_SINGLE ? index + 1 : tx->output_count;
    btc_w_varint(&w, nout);
    for (size_t i = 0; i < nout; i++) {
        if (base == KG_CHAIN_BTC_SIGHASH_SINGLE && i != index) {
            btc_w_u64(&w, UINT64_MAX); /* a "null" output: value -1, empty script */
            btc_w_varint(&w, 0);
            continue;
        }
        btc_w_u64(&w, tx->outputs[i].value);
        btc_w_varbytes(&w, tx->outputs[i].script.data, tx->outputs[i].script.len);
    }
    btc_w_u32(&w, tx->locktime);
    btc_w_u32(&w, hash_type);
    sha256d_final(out, &ctx);
    return KG_OK;
}

/* ------------------------------------------------------------ BIP143 */

typedef enum { H_PREVOUTS, H_SEQUENCES, H_OUTPUTS, H_AMOUNTS, H_SPKS } sub_hash;

/* One of the per-transaction hashes; double SHA-256 for BIP143, single for BIP341. */
/* spent[] is walked with a byte stride so that tx_sign can pass the
 * kg_chain_btc_txout embedded in its kg_chain_btc_sign_input array. */
typedef struct {
    const kg_chain_btc_txout *base;
    size_t stride;
} spent_list;

static const kg_chain_btc_txout *spent_at(const spent_list *s, size_t i)
{
    return (const kg_chain_btc_txout *)(const void *)((const uint8_t *)s->base + i * s->stride);
}

static void tx_sub_hash(uint8_t out[static 32], const kg_chain_btc_tx *tx, const spent_list *spent,
                        sub_hash which, bool dbl)
{
    kg_crypto_sha256_ctx ctx;
    kg_crypto_sha256_init(&ctx);
    btc_writer w = { .sha = &ctx };
    size_t n = which == H_OUTPUTS ? tx->output_count : tx->input_count;
    for (size_t i = 0; i < n; i++) {
        switch (which) {
        case H_PREVOUTS:
            btc_w_bytes(&w, tx->inputs[i].prev_txid, 32);
            btc_w_u32(&w, tx->inputs[i].prev_vout);
            break;
        case H_SEQUENCES:
            btc_w_u32(&w, tx->inputs[i].sequence);
            break;
        case H_OUTPUTS:
            btc_w_u64(&w, tx->outputs[i].value);
            btc_w_varbytes(&w, tx->outputs[i].script.data, tx->outputs[i].script.len);
            break;
        case H_AMOUNTS:
            btc_w_u64(&w, spent_at(spent, i)->value);
            break;
        case H_SPKS:
            btc_w_varbytes(&w, spent_at(spent, i)->script.data, spent_at(spent, i)->script.len);
            break;
        }
    }
    if (dbl)
        sha256d_final(out, &ctx);
    else
        kg_crypto_sha256_final(out, &ctx);
}

static void output_hash(uint8_t out[static 32], const kg_chain_btc_txout *o, bool dbl)
{
    kg_crypto_sha256_ctx ctx;
    kg_crypto_sha256_init(&ctx);
    btc_writer w = { .sha = &ctx };
    btc_w_u64(&w, o->value);
    btc_w_varbytes(&w, o->script.data, o->script.len);
    if (dbl)
        sha256d_final(out, &ctx);
    else
        kg_crypto_sha256_final(out, &ctx);
}

static void write_bip143(btc_writer *w, const kg_chain_btc_tx *tx, size_t index, const uint8_t *sc, size_t sc_len,
                         uint64_t amount, uint32_t hash_type)
{
    static const uint8_t ZERO[32] = { 0 };
    unsigned base = hash_type & SIGHASH_MASK;
    bool acp = (hash_type & KG_CHAIN_BTC_SIGHASH_ANYONECANPAY) != 0;
    bool single_or_none = base == KG_CHAIN_BTC_SIGHASH_SINGLE || base == KG_CHAIN_BTC_SIGHASH_NONE;
    uint8_t h[32];
    const kg_chain_btc_txin *in = &tx->inputs[index];
    btc_w_u32(w, tx->version);
    if (!acp)
        tx_sub_hash(h, tx, NULL, H_PREVOUTS, true);
    btc_w_bytes(w, acp ? ZERO : h, 32);
    if (!acp && !single_or_none)
        tx_sub_hash(h, tx, NULL, H_SEQUENCES, true);
    btc_w_bytes(w, (!acp && !single_or_none) ? h : ZERO, 32);
    btc_w_bytes(w, in->prev_txid, 32);
    btc_w_u32(w, in->prev_vout);
    btc_w_varbytes(w, sc, sc_len);
    btc_w_u64(w, amount);
    btc_w_u32(w, in->sequence);
    if (!single_or_none)
        tx_sub_hash(h, tx, NULL, H_OUTPUTS, true);
    else if (base == KG_CHAIN_BTC_SIGHASH_SINGLE && index < tx->output_count)
        output_hash(h, &tx->outputs[index], true);
    else
        memset(h, 0, 32);
    btc_w_bytes(w, h, 32);
    btc_w_u32(w, tx->locktime);
    btc_w_u32(w, hash_type);
}

static kg_err check_segwit_args(const kg_chain_btc_tx *tx, size_t index, const uint8_t *sc, size_t sc_len)
{
    if (index >= tx->input_count)
        return kg_err_set(KG_ERR_BAD_INPUT, "sighash: input %zu does not exist (the tx has %zu)", index, tx->input_count);
    if ((sc == NULL && sc_len > 0) || sc_len > KG_CHAIN_BTC_SCRIPT_MAX_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "sighash: script code of %zu bytes is not valid", sc_len);
    return KG_OK;
}

kg_err kg_chain_btc_sighash_segwit_v0(uint8_t out[static 32], const kg_chain_btc_tx *tx, size_t index,
                                      const uint8_t *script_code, size_t script_code_len, uint64_t amount,
                                      uint32_t hash_type)
{
    memset(out, 0, 32);
    kg_err e = check_segwit_args(tx, index, script_code, script_code_len);
    if (e != KG_OK)
        return e;
    kg_crypto_sha256_ctx ctx;
    kg_crypto_sha256_init(&ctx);
    btc_writer w = { .sha = &ctx };
    write_bip143(&w, tx, index, script_code, script_code_len, amount, hash_type);
    sha256d_final(out, &ctx);
    return KG_OK;
}

kg_err kg_chain_btc_sighash_segwit_v0_preimage(uint8_t *out, size_t out_cap, size_t *out_len,
                                               const kg_chain_btc_tx *tx, size_t index,
                                               const uint8_t *script_code, size_t script_code_len,
                                               uint64_t amount, uint32_t hash_type)
{
    *out_len = 0;
    kg_err e = check_segwit_args(tx, index, script_code, script_code_len);
    if (e != KG_OK)
        return e;
    btc_writer w = { .buf = out, .cap = out_cap };
    write_bip143(&w, tx, index, script_code, script_code_len, amount, hash_type);
    if (w.len > out_cap) {
        memset(out, 0, out_cap);
        return kg_err_set(KG_ERR_BAD_INPUT, "sighash preimage needs %zu bytes, buffer has %zu", w.len, out_cap);
    }
    *out_len = w.len;
    return KG_OK;
}

/* ------------------------------------------------------------ BIP341 */

static kg_err check_taproot_args(const kg_chain_btc_tx *tx, size_t index, size_t spent_count, uint8_t hash_type)
{
    if (index >= tx->input_count)
        return kg_err_set(KG_ERR_BAD_INPUT, "sighash: input %zu does not exist (the tx has %zu)", index, tx->input_count);
    if (spent_count != tx->input_count)
        return kg_err_set(KG_ERR_BAD_INPUT, "taproot sighash needs the spent output of all %zu inputs, got %zu",
                          tx->input_count, spent_count);
    unsigned base = hash_type & 0x7fu;
    if (!(hash_type == 0 || (base >= 1 && base <= 3)))
        return kg_err_set(KG_ERR_BAD_INPUT, "taproot sighash type 0x%02x is not valid (BIP341)", hash_type);
    if (base == KG_CHAIN_BTC_SIGHASH_SINGLE && index >= tx->output_count)
        return kg_err_set(KG_ERR_BAD_INPUT, "SIGHASH_SINGLE on input %zu but the tx has only %zu outputs",
                          index, tx->output_count);
    return KG_OK;
}

static void write_sigmsg(btc_writer *w, const kg_chain_btc_tx *tx, size_t index, const spent_list *spent,
                         uint8_t hash_type)
{
    unsigned base = hash_type & 3u;
    bool acp = (hash_type & KG_CHAIN_BTC_SIGHASH_ANYONECANPAY) != 0;
    uint8_t h[32];
    btc_w_u8(w, hash_type);
    btc_w_u32(w, tx->version);
    btc_w_u32(w, tx->locktime);
    if (!acp) {
        static const sub_hash ORDER[4] = { H_PREVOUTS, H_AMOUNTS, H_SPKS, H_SEQUENCES };
        for (size_t k = 0; k < 4; k++) {
            tx_sub_hash(h, tx, spent, ORDER[k], false);
            btc_w_bytes(w, h, 32);
        }
    }
    if (base != KG_CHAIN_BTC_SIGHASH_NONE && base != KG_CHAIN_BTC_SIGHASH_SINGLE) {
        tx_sub_hash(h, tx, NULL, H_OUTPUTS, false);
        btc_w_bytes(w, h, 32);
    }
    btc_w_u8(w, 0); /* spend_type: ext_flag 0 (key path), no annex */
    if (acp) {
        const kg_chain_btc_txin *in = &tx->inputs[index];
        btc_w_bytes(w, in->prev_txid, 32);
        btc_w_u32(w, in->prev_vout);
        btc_w_u64(w, spent_at(spent, index)->value);
        btc_w_varbytes(w, spent_at(spent, index)->script.data, spent_at(spent, index)->script.len);
        btc_w_u32(w, in->sequence);
    } else {
        btc_w_u32(w, (uint32_t)index);
    }
    if (base == KG_CHAIN_BTC_SIGHASH_SINGLE) {
        output_hash(h, &tx->outputs[index], false);
        btc_w_bytes(w, h, 32);
    }
}

kg_err kg_chain_btc_sighash_taproot(uint8_t out[static 32], const kg_chain_btc_tx *tx, size_t index,
                                    const kg_chain_btc_txout *spent, size_t spent_count, uint8_t hash_type)
{
    return kg_chain_btc_sighash_taproot_strided_(out, tx, index, spent, sizeof *spent, spent_count, hash_type);
}

kg_err kg_chain_btc_sighash_taproot_strided_(uint8_t out[static 32], const kg_chain_btc_tx *tx, size_t index,
                                             const kg_chain_btc_txout *spent, size_t stride, size_t spent_count,
                                             uint8_t hash_type)
{
    spent_list sl = { spent, stride };
    memset(out, 0, 32);
    kg_err e = check_taproot_args(tx, index, spent_count, hash_type);
    if (e != KG_OK)
        return e;
    uint8_t tag[32];
    kg_crypto_sha256(tag, (const uint8_t *)"TapSighash", 10);
    kg_crypto_sha256_ctx ctx;
    kg_crypto_sha256_init(&ctx);
    kg_crypto_sha256_update(&ctx, tag, 32);
    kg_crypto_sha256_update(&ctx, tag, 32);
    btc_writer w = { .sha = &ctx };
    btc_w_u8(&w, 0x00); /* epoch */
    write_sigmsg(&w, tx, index, &sl, hash_type);
    kg_crypto_sha256_final(out, &ctx);
    return KG_OK;
}

kg_err kg_chain_btc_sighash_taproot_sigmsg(uint8_t *out, size_t out_cap, size_t *out_len,
                                           const kg_chain_btc_tx *tx, size_t index,
                                           const kg_chain_btc_txout *spent, size_t spent_count, uint8_t hash_type)
{
    *out_len = 0;
    kg_err e = check_taproot_args(tx, index, spent_count, hash_type);
    if (e != KG_OK)
        return e;
    spent_list sl = { spent, sizeof *spent };
    btc_writer w = { .buf = out, .cap = out_cap };
    btc_w_u8(&w, 0x00); /* epoch, as the BIP341 vectors print SigMsg */
    write_sigmsg(&w, tx, index, &sl, hash_type);
    if (w.len > out_cap) {
        memset(out, 0, out_cap);
        return kg_err_set(KG_ERR_BAD_INPUT, "taproot SigMsg needs %zu bytes, buffer has %zu", w.len, out_cap);
    }
    *out_len = w.len;
    return KG_OK;
}
