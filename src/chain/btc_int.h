/* Private helpers of the Bitcoin code (src/chain/btc_*.c): a byte writer
 * that either appends to a buffer or feeds SHA-256, so that serialization,
 * txid and the sighash preimages are written by one piece of code and
 * hashed without an intermediate buffer (no allocation: firmware reuse). */
#ifndef KG_CHAIN_BTC_INT_H
#define KG_CHAIN_BTC_INT_H

#include <string.h>
#include <kashguard/chain/bitcoin.h>
#include <kashguard/crypto.h>

typedef struct {
    kg_crypto_sha256_ctx *sha; /* when set, bytes go to the hash */
    uint8_t *buf;              /* else to buf (NULL: only count) */
    size_t cap;
    size_t len;                /* bytes written (or that would be) */
} btc_writer;

static inline void btc_w_bytes(btc_writer *w, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (w->sha != NULL)
        kg_crypto_sha256_update(w->sha, p, n);
    else if (w->buf != NULL && w->len + n <= w->cap)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static inline void btc_w_u8(btc_writer *w, uint8_t v) { btc_w_bytes(w, &v, 1); }

static inline void btc_w_u32(btc_writer *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    btc_w_bytes(w, b, 4);
}

static inline void btc_w_u64(btc_writer *w, uint64_t v)
{
    btc_w_u32(w, (uint32_t)v);
    btc_w_u32(w, (uint32_t)(v >> 32));
}

/* CompactSize (the "varint" of the serialization format). */
static inline void btc_w_varint(btc_writer *w, uint64_t v)
{
    if (v < 0xfd) {
        btc_w_u8(w, (uint8_t)v);
    } else if (v <= 0xffff) {
        btc_w_u8(w, 0xfd);
        uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
        btc_w_bytes(w, b, 2);
    } else if (v <= 0xffffffffu) {
        btc_w_u8(w, 0xfe);
        btc_w_u32(w, (uint32_t)v);
    } else {
        btc_w_u8(w, 0xff);
        btc_w_u64(w, v);
    }
}

static inline void btc_w_varbytes(btc_writer *w, const uint8_t *p, size_t n)
{
    btc_w_varint(w, n);
    btc_w_bytes(w, p, n);
}

/* Write tx in the legacy or BIP144 form (btc_tx.c). */
void kg_chain_btc_tx_write_(btc_writer *w, const kg_chain_btc_tx *tx, bool witness);
/* Does any input carry a witness? */
bool kg_chain_btc_tx_has_witness_(const kg_chain_btc_tx *tx);

/* Taproot sighash over spent outputs laid out every stride bytes (btc_sighash.c). */
kg_err kg_chain_btc_sighash_taproot_strided_(uint8_t out[static 32], const kg_chain_btc_tx *tx, size_t index,
                                             const kg_chain_btc_txout *spent, size_t stride, size_t spent_count,
                                             uint8_t hash_type);

#endif
