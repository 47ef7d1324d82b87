/* PSBT key-value maps: the arena, the generic map operations, the strict
 * parser and the serializer (BIP174 "Specification", BIP370 "Specification").
 *
 * Format: magic "psbt" 0xff, then the global map, one map per input and one
 * per output. A map is a sequence of <keylen><key><vallen><value> pairs
 * (lengths are CompactSize) ended by a single 0x00. The first CompactSize
 * of a key is its type.
 *
 * Design: the input is copied once into the PSBT's arena and the entries
 * point into that copy, so parsing costs the input size plus one small
 * node per entry and never calls malloc. Entries keep parse order (the
 * serializer reproduces the input byte for byte); kg_chain_psbt_map_put
 * inserts new keys in key order.
 *
 * Strictness: every field this code knows is checked for its key-data and
 * value shape (psbt_rules below), duplicates are refused, the counts of
 * maps must match the transaction, and BIP370 says which fields v0 and v2
 * must and must not carry. Unknown and proprietary keys are kept as they
 * are. Bounds: KG_CHAIN_PSBT_MAX_BYTES, KG_CHAIN_PSBT_MAX_IO and
 * KG_CHAIN_PSBT_MAX_PER_MAP entries per map (so duplicate detection stays cheap). */
#include "psbt_int.h"

#include <stdlib.h>
#include <string.h>
#include <kashguard/crypto.h>

static const uint8_t psbt_magic[5] = { 'p', 's', 'b', 't', 0xff };

/* ------------------------------------------------------ reader / writer */

bool kg_psbt_rd_bytes(kg_psbt_rd *r, const uint8_t **out, size_t n)
{
    if (n > r->len - r->pos)
        return false;
    *out = r->p + r->pos;
    r->pos += n;
    return true;
}

bool kg_psbt_rd_u32(kg_psbt_rd *r, uint32_t *v)
{
    const uint8_t *b = NULL;
    if (!kg_psbt_rd_bytes(r, &b, 4))
        return false;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return true;
}

bool kg_psbt_rd_u64(kg_psbt_rd *r, uint64_t *v)
{
    uint32_t lo = 0, hi = 0;
    if (!kg_psbt_rd_u32(r, &lo) || !kg_psbt_rd_u32(r, &hi))
        return false;
    *v = (uint64_t)hi << 32 | lo;
    return true;
}

bool kg_psbt_rd_cs(kg_psbt_rd *r, uint64_t *v)
{
    const uint8_t *b = NULL;
    if (!kg_psbt_rd_bytes(r, &b, 1))
        return false;
    if (b[0] < 0xfd) {
        *v = b[0];
        return true;
    }
    size_t n = b[0] == 0xfd ? 2 : b[0] == 0xfe ? 4 : 8;
    if (!kg_psbt_rd_bytes(r, &b, n))
        return false;
    uint64_t x = 0;
    for (size_t i = n; i-- > 0;)
        x = x << 8 | b[i];
    /* Minimal encoding only, as Bitcoin Core's ReadCompactSize. */
    if ((n == 2 && x < 0xfd) || (n == 4 && x <= 0xffff) || (n == 8 && x <= 0xffffffffu))
        return false;
    *v = x;
    return true;
}

void kg_psbt_wr_bytes(kg_psbt_wr *w, const void *b, size_t n)
{
    if (w->p != NULL && n <= w->cap - w->len && w->len <= w->cap && n > 0)
        memcpy(w->p + w->len, b, n);
    w->len += n;
}

void kg_psbt_wr_u32(kg_psbt_wr *w, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    kg_psbt_wr_bytes(w, b, 4);
}

void kg_psbt_wr_u64(kg_psbt_wr *w, uint64_t v)
{
    kg_psbt_wr_u32(w, (uint32_t)v);
    kg_psbt_wr_u32(w, (uint32_t)(v >> 32));
}

size_t kg_psbt_cs_len(uint64_t v)
{
    return v < 0xfd ? 1 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

void kg_psbt_wr_cs(kg_psbt_wr *w, uint64_t v)
{
    uint8_t b[9];
    size_t n = kg_psbt_cs_len(v);
    b[0] = n == 1 ? (uint8_t)v : n == 3 ? 0xfd : n == 5 ? 0xfe : 0xff;
    for (size_t i = 1; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (i - 1)));
    kg_psbt_wr_bytes(w, b, n);
}

/* ---------------------------------------------------------------- arena */

void kg_chain_psbt_init(kg_chain_psbt *p, uint8_t *arena, size_t arena_len)
{
    memset(p, 0, sizeof *p);
    p->arena = arena;
    p->arena_cap = arena_len;
}

kg_err kg_chain_psbt_alloc(kg_chain_psbt *p, size_t arena_len)
{
    memset(p, 0, sizeof *p);
    uint8_t *a = malloc(arena_len ? arena_len : 1);
    if (a == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate a %zu-byte PSBT arena", arena_len);
    kg_chain_psbt_init(p, a, arena_len);
    p->arena_owned = true;
    return KG_OK;
}

void kg_chain_psbt_reset(kg_chain_psbt *p)
{
    uint8_t *a = p->arena;
    size_t cap = p->arena_cap;
    bool owned = p->arena_owned;
    kg_chain_psbt_init(p, a, cap);
    p->arena_owned = owned;
}

void kg_chain_psbt_free(kg_chain_psbt *p)
{
    if (p == NULL)
        return;
    if (p->arena != NULL)
        kg_wipe(p->arena, p->arena_cap);
    if (p->arena_owned)
        free(p->arena);
    memset(p, 0, sizeof *p);
}

void *kg_psbt_arena(kg_chain_psbt *p, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    size_t start = (p->arena_used + align - 1) & ~(align - 1);
    if (p->arena == NULL || start > p->arena_cap || n > p->arena_cap - start)
        return NULL;
    p->arena_used = start + n;
    return p->arena + start;
}

/* ----------------------------------------------------------------- maps */

bool kg_psbt_key_type(uint64_t *type, const uint8_t **data, size_t *data_len,
                      const uint8_t *key, size_t key_len)
{
    kg_psbt_rd r = { key, key_len, 0 };
    if (!kg_psbt_rd_cs(&r, type))
        return false;
    *data = key + r.pos;
    *data_len = key_len - r.pos;
    return true;
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

const kg_chain_psbt_kv *kg_chain_psbt_map_get(const kg_chain_psbt_map *m, const uint8_t *key, size_t key_len)
{
    for (const kg_chain_psbt_kv *e = m->head; e != NULL; e = e->next)
        if (key_cmp(e->key, e->key_len, key, key_len) == 0)
            return e;
    return NULL;
}

const kg_chain_psbt_kv *kg_chain_psbt_map_find(const kg_chain_psbt_map *m, uint64_t type)
{
    for (const kg_chain_psbt_kv *e = m->head; e != NULL; e = e->next) {
        uint64_t t = 0;
        const uint8_t *d = NULL;
        size_t dl = 0;
        if (kg_psbt_key_type(&t, &d, &dl, e->key, e->key_len) && t == type)
            return e;
    }
    return NULL;
}

/* Insertion order. Keys sort by their bytes, except the partial
 * signatures of an input, which Bitcoin Core keeps ordered by the key's
 * HASH160 (its map is keyed by CKeyID); the BIP's combiner vector follows
 * that order, and following it makes our output match Core's. */
static int insert_cmp(bool input_map, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (input_map && alen > 1 && blen > 1 && a[0] == KG_PSBT_IN_PARTIAL_SIG && b[0] == KG_PSBT_IN_PARTIAL_SIG) {
        uint8_t ha[20], hb[20];
        kg_crypto_hash160(ha, a + 1, alen - 1);
        kg_crypto_hash160(hb, b + 1, blen - 1);
        int c = memcmp(ha, hb, 20);
        if (c != 0)
            return c;
    }
    return key_cmp(a, alen, b, blen);
}

kg_err kg_chain_psbt_map_put(kg_chain_psbt *p, kg_chain_psbt_map *m, const uint8_t *key, size_t key_len,
                             const uint8_t *val, size_t val_len)
{
    kg_chain_psbt_kv **at = &m->head;
    bool input_map = p->in != NULL && m >= p->in && m < p->in + p->n_in;
    while (*at != NULL && insert_cmp(input_map, (*at)->key, (*at)->key_len, key, key_len) < 0)
        at = &(*at)->next;
    bool replace = *at != NULL && key_cmp((*at)->key, (*at)->key_len, key, key_len) == 0;
    size_t used = p->arena_used;
    kg_chain_psbt_kv *e = replace ? *at : kg_psbt_arena(p, sizeof *e);
    uint8_t *kv = kg_psbt_arena(p, key_len + val_len + 1);
    if (e == NULL || kv == NULL) {
        p->arena_used = used;
        return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT arena (%zu bytes) is full; give the PSBT a larger arena",
                          p->arena_cap);
    }
    memcpy(kv, key, key_len);
    if (val_len > 0)
        memcpy(kv + key_len, val, val_len);
    e->val = kv + key_len;
    e->val_len = val_len;
    if (!replace) {
        e->key = kv;
        e->key_len = key_len;
        e->next = *at;
        *at = e;
    }
    return KG_OK;
}

void kg_chain_psbt_map_remove_type(kg_chain_psbt_map *m, uint64_t type)
{
    kg_chain_psbt_kv **at = &m->head;
    while (*at != NULL) {
        uint64_t t = 0;
        const uint8_t *d = NULL;
        size_t dl = 0;
        if (kg_psbt_key_type(&t, &d, &dl, (*at)->key, (*at)->key_len) && t == type)
            *at = (*at)->next;
        else
            at = &(*at)->next;
    }
}

kg_err kg_psbt_put(kg_chain_psbt *p, kg_chain_psbt_map *m, uint8_t type, const uint8_t *kdata, size_t kdata_len,
                   const uint8_t *val, size_t val_len)
{
    uint8_t key[1 + 80];
    if (kdata_len > sizeof key - 1 || type >= 0xfd)
        return kg_err_set(KG_ERR_INTERNAL, "PSBT key too long");
    key[0] = type;
    if (kdata_len > 0)
        memcpy(key + 1, kdata, kdata_len);
    return kg_chain_psbt_map_put(p, m, key, 1 + kdata_len, val, val_len);
}

const kg_chain_psbt_kv *kg_psbt_get(const kg_chain_psbt_map *m, uint8_t type, const uint8_t *kdata, size_t kdata_len)
{
    uint8_t key[1 + 80];
    if (kdata_len > sizeof key - 1)
        return NULL;
    key[0] = type;
    if (kdata_len > 0)
        memcpy(key + 1, kdata, kdata_len);
    return kg_chain_psbt_map_get(m, key, 1 + kdata_len);
}

/* --------------------------------------------------------- field rules */

enum { MAP_GLOBAL, MAP_IN, MAP_OUT };
enum { KD_NONE, KD_PUB, KD_XPUB, KD_20, KD_32, KD_64, KD_CTRL };
enum { V_ANY, V_NONEMPTY, V_1, V_4, V_8, V_32, V_CS, V_TX, V_UTX, V_TXOUT, V_BIP32, V_TAPBIP32, V_SIG, V_WIT,
       V_LEAF };
enum { VER_ALL, VER_0, VER_2 };

typedef struct {
    uint8_t map, type, kd, val, ver;
    const char *name;
} psbt_rule;

static const psbt_rule psbt_rules[] = {
    { MAP_GLOBAL, 0x00, KD_NONE, V_UTX, VER_0, "PSBT_GLOBAL_UNSIGNED_TX" },
    { MAP_GLOBAL, 0x01, KD_XPUB, V_BIP32, VER_ALL, "PSBT_GLOBAL_XPUB" },
    { MAP_GLOBAL, 0x02, KD_NONE, V_4, VER_2, "PSBT_GLOBAL_TX_VERSION" },
    { MAP_GLOBAL, 0x03, KD_NONE, V_4, VER_2, "PSBT_GLOBAL_FALLBACK_LOCKTIME" },
    { MAP_GLOBAL, 0x04, KD_NONE, V_CS, VER_2, "PSBT_GLOBAL_INPUT_COUNT" },
    { MAP_GLOBAL, 0x05, KD_NONE, V_CS, VER_2, "PSBT_GLOBAL_OUTPUT_COUNT" },
    { MAP_GLOBAL, 0x06, KD_NONE, V_1, VER_2, "PSBT_GLOBAL_TX_MODIFIABLE" },
    { MAP_GLOBAL, 0xFB, KD_NONE, V_4, VER_ALL, "PSBT_GLOBAL_VERSION" },
    { MAP_IN, 0x00, KD_NONE, V_TX, VER_ALL, "PSBT_IN_NON_WITNESS_UTXO" },
    { MAP_IN, 0x01, KD_NONE, V_TXOUT, VER_ALL, "PSBT_IN_WITNESS_UTXO" },
    { MAP_IN, 0x02, KD_PUB, V_NONEMPTY, VER_ALL, "PSBT_IN_PARTIAL_SIG" },
    { MAP_IN, 0x03, KD_NONE, V_4, VER_ALL, "PSBT_IN_SIGHASH_TYPE" },
    { MAP_IN, 0x04, KD_NONE, V_ANY, VER_ALL, "PSBT_IN_REDEEM_SCRIPT" },
    { MAP_IN, 0x05, KD_NONE, V_ANY, VER_ALL, "PSBT_IN_WITNESS_SCRIPT" },
    { MAP_IN, 0x06, KD_PUB, V_BIP32, VER_ALL, "PSBT_IN_BIP32_DERIVATION" },
    { MAP_IN, 0x07, KD_NONE, V_ANY, VER_ALL, "PSBT_IN_FINAL_SCRIPTSIG" },
    { MAP_IN, 0x08, KD_NONE, V_WIT, VER_ALL, "PSBT_IN_FINAL_SCRIPTWITNESS" },
    { MAP_IN, 0x0A, KD_20, V_ANY, VER_ALL, "PSBT_IN_RIPEMD160" },
    { MAP_IN, 0x0B, KD_32, V_ANY, VER_ALL, "PSBT_IN_SHA256" },
    { MAP_IN, 0x0C, KD_20, V_ANY, VER_ALL, "PSBT_IN_HASH160" },
    { MAP_IN, 0x0D, KD_32, V_ANY, VER_ALL, "PSBT_IN_HASH256" },
    { MAP_IN, 0x0E, KD_NONE, V_32, VER_2, "PSBT_IN_PREVIOUS_TXID" },
    { MAP_IN, 0x0F, KD_NONE, V_4, VER_2, "PSBT_IN_OUTPUT_INDEX" },
    { MAP_IN, 0x10, KD_NONE, V_4, VER_2, "PSBT_IN_SEQUENCE" },
    { MAP_IN, 0x11, KD_NONE, V_4, VER_2, "PSBT_IN_REQUIRED_TIME_LOCKTIME" },
    { MAP_IN, 0x12, KD_NONE, V_4, VER_2, "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME" },
    { MAP_IN, 0x13, KD_NONE, V_SIG, VER_ALL, "PSBT_IN_TAP_KEY_SIG" },
    { MAP_IN, 0x14, KD_64, V_SIG, VER_ALL, "PSBT_IN_TAP_SCRIPT_SIG" },
    { MAP_IN, 0x15, KD_CTRL, V_LEAF, VER_ALL, "PSBT_IN_TAP_LEAF_SCRIPT" },
    { MAP_IN, 0x16, KD_32, V_TAPBIP32, VER_ALL, "PSBT_IN_TAP_BIP32_DERIVATION" },
    { MAP_IN, 0x17, KD_NONE, V_32, VER_ALL, "PSBT_IN_TAP_INTERNAL_KEY" },
    { MAP_IN, 0x18, KD_NONE, V_32, VER_ALL, "PSBT_IN_TAP_MERKLE_ROOT" },
    { MAP_OUT, 0x00, KD_NONE, V_ANY, VER_ALL, "PSBT_OUT_REDEEM_SCRIPT" },
    { MAP_OUT, 0x01, KD_NONE, V_ANY, VER_ALL, "PSBT_OUT_WITNESS_SCRIPT" },
    { MAP_OUT, 0x02, KD_PUB, V_BIP32, VER_ALL, "PSBT_OUT_BIP32_DERIVATION" },
    { MAP_OUT, 0x03, KD_NONE, V_8, VER_2, "PSBT_OUT_AMOUNT" },
    { MAP_OUT, 0x04, KD_NONE, V_ANY, VER_2, "PSBT_OUT_SCRIPT" },
    { MAP_OUT, 0x05, KD_NONE, V_32, VER_ALL, "PSBT_OUT_TAP_INTERNAL_KEY" },
    { MAP_OUT, 0x06, KD_NONE, V_NONEMPTY, VER_ALL, "PSBT_OUT_TAP_TREE" },
    { MAP_OUT, 0x07, KD_32, V_TAPBIP32, VER_ALL, "PSBT_OUT_TAP_BIP32_DERIVATION" },
};

static bool kd_ok(int kd, const uint8_t *d, size_t n)
{
    switch (kd) {
    case KD_NONE: return n == 0;
    case KD_PUB: { /* a valid point, as Bitcoin Core's CPubKey::IsFullyValid */
        uint8_t tmp[65];
        return (n == 33 || n == 65) && kg_crypto_k1_pubkey_convert(tmp, n, d, n) == KG_OK;
    }
    case KD_XPUB: return n == 78;
    case KD_20:   return n == 20;
    case KD_32:   return n == 32;
    case KD_64:   return n == 64;
    case KD_CTRL: return n >= 33 && (n - 33) % 32 == 0 && (n - 33) / 32 <= 128;
    default:      return false;
    }
}

/* A witness stack: count, then that many length-prefixed items, exactly. */
static bool witness_ok(const uint8_t *v, size_t n)
{
    kg_psbt_rd r = { v, n, 0 };
    uint64_t cnt = 0, len = 0;
    const uint8_t *b = NULL;
    if (!kg_psbt_rd_cs(&r, &cnt) || cnt > n)
        return false;
    for (uint64_t i = 0; i < cnt; i++)
        if (!kg_psbt_rd_cs(&r, &len) || len > n || !kg_psbt_rd_bytes(&r, &b, (size_t)len))
            return false;
    return r.pos == n;
}

static bool val_ok(int vt, const uint8_t *v, size_t n)
{
    kg_psbt_rd r = { v, n, 0 };
    uint64_t x = 0, len = 0;
    const uint8_t *b = NULL;
    kg_psbt_txinfo ti;
    bool wit = false;
    switch (vt) {
    case V_ANY:      return true;
    case V_NONEMPTY: return n > 0;
    case V_1:        return n == 1;
    case V_4:        return n == 4;
    case V_8:        return n == 8;
    case V_32:       return n == 32;
    case V_CS:       return kg_psbt_rd_cs(&r, &x) && r.pos == n;
    case V_TX:       return kg_psbt_tx_scan(&ti, v, n, true, &wit) == KG_OK;
    case V_UTX:      return kg_psbt_tx_scan(&ti, v, n, false, &wit) == KG_OK;
    case V_TXOUT:    return kg_psbt_rd_u64(&r, &x) && kg_psbt_rd_cs(&r, &len) && len <= n &&
                            kg_psbt_rd_bytes(&r, &b, (size_t)len) && r.pos == n;
    case V_BIP32:    return n >= 4 && n % 4 == 0;
    case V_TAPBIP32: return kg_psbt_rd_cs(&r, &x) && x <= n / 32 && kg_psbt_rd_bytes(&r, &b, (size_t)x * 32) &&
                            (n - r.pos) >= 4 && (n - r.pos) % 4 == 0;
    case V_SIG:      return n == 64 || n == 65;
    case V_WIT:      return witness_ok(v, n);
    case V_LEAF:     return n >= 1;
    default:         return false;
    }
}

static const char *map_name(int map)
{
    return map == MAP_GLOBAL ? "global map" : map == MAP_IN ? "input" : "output";
}

/* Check one entry of a map of kind map in a PSBT of version ver. */
static kg_err check_entry(const kg_chain_psbt_kv *e, int map, size_t idx, uint32_t ver)
{
    uint64_t type = 0;
    const uint8_t *kd = NULL;
    size_t kdl = 0;
    if (!kg_psbt_key_type(&type, &kd, &kdl, e->key, e->key_len))
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s %zu: a key has a malformed type", map_name(map), idx);
    for (size_t i = 0; i < sizeof psbt_rules / sizeof psbt_rules[0]; i++) {
        const psbt_rule *ru = &psbt_rules[i];
        if (ru->map != map || ru->type != type)
            continue;
        if ((ru->ver == VER_0 && ver != 0) || (ru->ver == VER_2 && ver != 2))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s %zu: %s is not allowed in a version %u PSBT (BIP370)",
                              map_name(map), idx, ru->name, (unsigned)ver);
        if (!kd_ok(ru->kd, kd, kdl))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s %zu: %s has key data of a wrong size (%zu bytes)",
                              map_name(map), idx, ru->name, kdl);
        if (!val_ok(ru->val, e->val, e->val_len))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s %zu: the value of %s is malformed (%zu bytes)",
                              map_name(map), idx, ru->name, e->val_len);
        return KG_OK;
    }
    return KG_OK; /* unknown or proprietary: kept as is */
}

/* ---------------------------------------------------------------- parse */

/* Read one map into m; entries point into the (arena) buffer of r. */
static kg_err parse_map(kg_chain_psbt *p, kg_chain_psbt_map *m, kg_psbt_rd *r, int map, size_t idx)
{
    kg_chain_psbt_kv **tail = &m->head;
    size_t count = 0;
    for (;;) {
        uint64_t klen = 0, vlen = 0;
        const uint8_t *key = NULL, *val = NULL;
        if (!kg_psbt_rd_cs(r, &klen))
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s %zu: ends before its 0x00 separator (truncated?)",
                              map_name(map), idx);
        if (klen == 0)
            return KG_OK;
        if (klen > r->len || !kg_psbt_rd_bytes(r, &key, (size_t)klen) || !kg_psbt_rd_cs(r, &vlen) ||
            vlen > r->len || !kg_psbt_rd_bytes(r, &val, (size_t)vlen))
            return kg_err_set(KG_ERR_BAD_INPUT,
                              "PSBT %s %zu: a key or value is longer than the data left (truncated?)",
                              map_name(map), idx);
        if (kg_chain_psbt_map_get(m, key, (size_t)klen) != NULL)
            return kg_err_set(KG_ERR_BAD_INPUT, "PSBT %s %zu: duplicate key (BIP174 forbids repeated keys)",
                              map_name(map), idx);
        if (++count > KG_CHAIN_PSBT_MAX_PER_MAP)
            return kg_err_set(KG_ERR_TOO_LARGE, "PSBT %s %zu: more than %u entries", map_name(map), idx,
                              KG_CHAIN_PSBT_MAX_PER_MAP);
        kg_chain_psbt_kv *e = kg_psbt_arena(p, sizeof *e);
        if (e == NULL)
            return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT arena (%zu bytes) is full; give it a larger arena",
                              p->arena_cap);
        *e = (kg_chain_psbt_kv){ NULL, key, (size_t)klen, val, (size_t)vlen };
        *tail = e;
        tail = &e->next;
    }
}

/* Read a global field that is a u32 / compact size; false if absent. */
static bool global_u32(uint32_t *v, const kg_chain_psbt *p, uint8_t type)
{
    const kg_chain_psbt_kv *e = kg_psbt_get(&p->global, type, NULL, 0);
    if (e == NULL || e->val_len != 4)
        return false;
    kg_psbt_rd r = { e->val, 4, 0 };
    return kg_psbt_rd_u32(&r, v);
}

static bool global_cs(uint64_t *v, const kg_chain_psbt *p, uint8_t type)
{
    const kg_chain_psbt_kv *e = kg_psbt_get(&p->global, type, NULL, 0);
    if (e == NULL)
        return false;
    kg_psbt_rd r = { e->val, e->val_len, 0 };
    return kg_psbt_rd_cs(&r, v) && r.pos == e->val_len;
}

/* Version and counts from the global map (BIP370 "PSBT_GLOBAL_VERSION"). */
static kg_err parse_counts(kg_chain_psbt *p)
{
    uint32_t ver = 0;
    if (kg_psbt_get(&p->global, KG_PSBT_GLOBAL_VERSION, NULL, 0) != NULL && !global_u32(&ver, p, 0xFB))
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT_GLOBAL_VERSION must be 4 bytes");
    if (ver != 0 && ver != 2)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT version %u is not supported (only 0 and 2)", (unsigned)ver);
    p->version = ver;
    if (ver == 0) {
        const kg_chain_psbt_kv *tx = kg_psbt_get(&p->global, KG_PSBT_GLOBAL_UNSIGNED_TX, NULL, 0);
        if (tx == NULL)
            return kg_err_set(KG_ERR_BAD_INPUT, "a version 0 PSBT needs PSBT_GLOBAL_UNSIGNED_TX; "
                              "the global map has none (or its key is malformed)");
        kg_psbt_txinfo ti;
        bool wit = false;
        kg_err e = kg_psbt_tx_scan(&ti, tx->val, tx->val_len, false, &wit);
        if (e != KG_OK)
            return e;
        p->n_in = ti.n_in;
        p->n_out = ti.n_out;
        return KG_OK;
    }
    uint64_t ni = 0, no = 0;
    uint32_t txv = 0;
    if (!global_u32(&txv, p, KG_PSBT_GLOBAL_TX_VERSION) || !global_cs(&ni, p, KG_PSBT_GLOBAL_INPUT_COUNT) ||
        !global_cs(&no, p, KG_PSBT_GLOBAL_OUTPUT_COUNT))
        return kg_err_set(KG_ERR_BAD_INPUT, "a version 2 PSBT needs PSBT_GLOBAL_TX_VERSION, INPUT_COUNT and "
                          "OUTPUT_COUNT (BIP370)");
    if (ni > KG_CHAIN_PSBT_MAX_IO || no > KG_CHAIN_PSBT_MAX_IO)
        return kg_err_set(KG_ERR_TOO_LARGE, "PSBT has more than %u inputs or outputs", KG_CHAIN_PSBT_MAX_IO);
    p->n_in = (size_t)ni;
    p->n_out = (size_t)no;
    return KG_OK;
}

kg_err kg_psbt_check_structure(const kg_chain_psbt *p)
{
    kg_err e = KG_OK;
    for (const kg_chain_psbt_kv *x = p->global.head; x != NULL && e == KG_OK; x = x->next)
        e = check_entry(x, MAP_GLOBAL, 0, p->version);
    for (size_t i = 0; i < p->n_in && e == KG_OK; i++) {
        for (const kg_chain_psbt_kv *x = p->in[i].head; x != NULL && e == KG_OK; x = x->next)
            e = check_entry(x, MAP_IN, i, p->version);
        if (e == KG_OK && p->version == 2 && (kg_psbt_get(&p->in[i], KG_PSBT_IN_PREVIOUS_TXID, NULL, 0) == NULL ||
                                              kg_psbt_get(&p->in[i], KG_PSBT_IN_OUTPUT_INDEX, NULL, 0) == NULL))
            e = kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu lacks PSBT_IN_PREVIOUS_TXID or OUTPUT_INDEX "
                           "(required in version 2)", i);
    }
    for (size_t i = 0; i < p->n_out && e == KG_OK; i++) {
        for (const kg_chain_psbt_kv *x = p->out[i].head; x != NULL && e == KG_OK; x = x->next)
            e = check_entry(x, MAP_OUT, i, p->version);
        if (e == KG_OK && p->version == 2 && (kg_psbt_get(&p->out[i], KG_PSBT_OUT_AMOUNT, NULL, 0) == NULL ||
                                              kg_psbt_get(&p->out[i], KG_PSBT_OUT_SCRIPT, NULL, 0) == NULL))
            e = kg_err_set(KG_ERR_BAD_INPUT, "PSBT output %zu lacks PSBT_OUT_AMOUNT or PSBT_OUT_SCRIPT "
                           "(required in version 2)", i);
    }
    return e;
}

static kg_err parse_body(kg_chain_psbt *p, kg_psbt_rd *r)
{
    const uint8_t *magic = NULL;
    if (!kg_psbt_rd_bytes(r, &magic, 5) || memcmp(magic, psbt_magic, 5) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "not a PSBT: it does not start with the magic \"psbt\" 0xff");
    kg_err e = parse_map(p, &p->global, r, MAP_GLOBAL, 0);
    if (e == KG_OK)
        e = parse_counts(p);
    if (e != KG_OK)
        return e;
    p->in = kg_psbt_arena(p, (p->n_in ? p->n_in : 1) * sizeof *p->in);
    p->out = kg_psbt_arena(p, (p->n_out ? p->n_out : 1) * sizeof *p->out);
    if (p->in == NULL || p->out == NULL)
        return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT arena is full; give it a larger arena");
    memset(p->in, 0, (p->n_in ? p->n_in : 1) * sizeof *p->in);
    memset(p->out, 0, (p->n_out ? p->n_out : 1) * sizeof *p->out);
    for (size_t i = 0; i < p->n_in && e == KG_OK; i++)
        e = parse_map(p, &p->in[i], r, MAP_IN, i);
    for (size_t i = 0; i < p->n_out && e == KG_OK; i++)
        e = parse_map(p, &p->out[i], r, MAP_OUT, i);
    if (e != KG_OK)
        return e;
    if (r->pos != r->len)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT has %zu bytes after its last output map", r->len - r->pos);
    return kg_psbt_check_structure(p);
}

kg_err kg_chain_psbt_parse(kg_chain_psbt *p, const uint8_t *in, size_t in_len)
{
    kg_chain_psbt_reset(p);
    if (in == NULL && in_len > 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT bytes missing");
    if (in_len > KG_CHAIN_PSBT_MAX_BYTES)
        return kg_err_set(KG_ERR_TOO_LARGE, "PSBT is %zu bytes; the limit is %u", in_len, KG_CHAIN_PSBT_MAX_BYTES);
    uint8_t *copy = kg_psbt_arena(p, in_len ? in_len : 1);
    if (copy == NULL)
        return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT arena (%zu bytes) cannot hold a %zu-byte PSBT",
                          p->arena_cap, in_len);
    if (in_len > 0)
        memcpy(copy, in, in_len);
    kg_psbt_rd r = { copy, in_len, 0 };
    kg_err e = parse_body(p, &r);
    if (e != KG_OK)
        kg_chain_psbt_reset(p);
    return e;
}

kg_err kg_chain_psbt_parse_base64(kg_chain_psbt *p, const char *b64)
{
    kg_bytes raw = { 0 };
    kg_chain_psbt_reset(p);
    if (strlen(b64) > (size_t)KG_CHAIN_PSBT_MAX_BYTES / 3 * 4 + 4)
        return kg_err_set(KG_ERR_TOO_LARGE, "base64 PSBT too long");
    if (kg_b64_decode(&raw, b64) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "the PSBT is not valid standard base64 (with padding)");
    kg_err e = kg_chain_psbt_parse(p, raw.data, raw.len);
    kg_bytes_free(&raw);
    return e;
}

/* ------------------------------------------------------------ serialize */

static void write_map(kg_psbt_wr *w, const kg_chain_psbt_map *m)
{
    for (const kg_chain_psbt_kv *e = m->head; e != NULL; e = e->next) {
        kg_psbt_wr_cs(w, e->key_len);
        kg_psbt_wr_bytes(w, e->key, e->key_len);
        kg_psbt_wr_cs(w, e->val_len);
        kg_psbt_wr_bytes(w, e->val, e->val_len);
    }
    kg_psbt_wr_bytes(w, "", 1);
}

kg_err kg_chain_psbt_serialize(uint8_t *out, size_t out_cap, size_t *out_len, const kg_chain_psbt *p)
{
    kg_psbt_wr w = { out, out ? out_cap : 0, 0 };
    kg_psbt_wr_bytes(&w, psbt_magic, 5);
    write_map(&w, &p->global);
    for (size_t i = 0; i < p->n_in; i++)
        write_map(&w, &p->in[i]);
    for (size_t i = 0; i < p->n_out; i++)
        write_map(&w, &p->out[i]);
    *out_len = w.len;
    if (out != NULL && w.len > out_cap) {
        memset(out, 0, out_cap);
        return kg_err_set(KG_ERR_TOO_LARGE, "the PSBT needs %zu bytes; the buffer has %zu", w.len, out_cap);
    }
    return KG_OK;
}

kg_err kg_chain_psbt_to_base64(char **b64, const kg_chain_psbt *p)
{
    size_t n = 0;
    *b64 = NULL;
    kg_err e = kg_chain_psbt_serialize(NULL, 0, &n, p);
    uint8_t *raw = e == KG_OK ? malloc(n) : NULL;
    char *s = raw ? malloc(kg_b64_encoded_len(n)) : NULL;
    if (s == NULL) {
        free(raw);
        return e != KG_OK ? e : kg_err_set(KG_ERR_NOMEM, "out of memory encoding a PSBT");
    }
    e = kg_chain_psbt_serialize(raw, n, &n, p);
    if (e == KG_OK) {
        kg_b64_encode(s, raw, n);
        *b64 = s;
    } else {
        free(s);
    }
    free(raw);
    return e;
}
