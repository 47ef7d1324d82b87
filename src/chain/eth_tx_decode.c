/* Decoding raw Ethereum transactions from untrusted bytes.
 *
 * The envelope (EIP-2718): a first byte >= 0xc0 is a legacy RLP list; a
 * first byte 0x00..0x7f is a transaction type followed by its RLP payload
 * (we accept 1, EIP-2930 and 2, EIP-1559). Field layouts are in eth_tx.c.
 *
 * The checks are those a node applies before it looks at state (they are
 * what the ethereum/tests TransactionTests expect):
 *   - RLP canonical (eth_rlp.c), exactly one item, the right field count;
 *   - integers without leading zeros; nonce < 2^64-1 (EIP-2681); gas
 *     limit and chain id within 64 bits; fees and value within 256 bits;
 *   - `to` empty (creation) or 20 bytes; access-list addresses exactly 20
 *     bytes and storage keys exactly 32;
 *   - EIP-1559: maxPriorityFeePerGas <= maxFeePerGas; every type:
 *     gasLimit * (max) gas price fits in 256 bits;
 *   - signature: legacy v is 27/28 or chainId*2+35/36 with chainId > 0
 *     (EIP-155), typed yParity is 0 or 1; r and s in [1, n-1] and
 *     s <= n/2 (EIP-2, Homestead); the sender must recover.
 * Which chain ids a caller accepts is its own policy: the decoded
 * chain_id is returned, not judged.
 *
 * Unsigned forms (KG_CHAIN_ETH_DECODE_UNSIGNED): a 6-field legacy list, the
 * EIP-155 signing payload [.., chainId, 0, 0], or a typed list without the
 * three signature fields. The tx owns one heap block holding a copy of
 * data and the decoded access list (kg_chain_eth_tx_free releases it). */
#include "eth_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 12

/* Cursor over the fields of the transaction list. */
typedef struct {
    const kg_chain_rlp_item *f;
    size_t n, i;
} fields;

static kg_err take_uint(uint64_t *out, fields *fs, const char *what)
{
    return kg_chain_rlp_item_uint(out, &fs->f[fs->i++], what);
}

static kg_err take_u256(uint8_t out[static 32], fields *fs, const char *what)
{
    return kg_chain_rlp_item_u256(out, &fs->f[fs->i++], what);
}

static kg_err take_to(kg_chain_eth_tx *tx, fields *fs)
{
    const kg_chain_rlp_item *it = &fs->f[fs->i++];
    if (it->is_list || (it->payload_len != 0 && it->payload_len != 20))
        return kg_err_set(KG_ERR_BAD_INPUT, "'to' must be empty (contract creation) or a 20-byte address");
    tx->has_to = it->payload_len == 20;
    if (tx->has_to)
        memcpy(tx->to, it->payload, 20);
    return KG_OK;
}

/* Check the shape of an access list and count its entries and keys. */
static kg_err access_count(size_t *n_entries, size_t *n_keys, const kg_chain_rlp_item *al)
{
    kg_chain_rlp_item e, part[2], key;
    size_t off = 0, cnt = 0;
    *n_entries = *n_keys = 0;
    if (!al->is_list)
        return kg_err_set(KG_ERR_BAD_INPUT, "access list must be an RLP list");
    while (kg_chain_rlp_list_next(&e, &off, al)) {
        size_t i = *n_entries, koff = 0;
        if (!e.is_list || kg_chain_rlp_list_items(part, 2, &cnt, &e) != KG_OK || cnt != 2)
            return kg_err_set(KG_ERR_BAD_INPUT, "access list entry %zu must be [address, [storage keys]]", i);
        if (part[0].is_list || part[0].payload_len != 20)
            return kg_err_set(KG_ERR_BAD_INPUT, "access list entry %zu: address is %zu bytes, not 20", i,
                              part[0].payload_len);
        if (!part[1].is_list)
            return kg_err_set(KG_ERR_BAD_INPUT, "access list entry %zu: storage keys must be a list", i);
        while (kg_chain_rlp_list_next(&key, &koff, &part[1])) {
            if (key.is_list || key.payload_len != 32)
                return kg_err_set(KG_ERR_BAD_INPUT, "access list entry %zu: storage key is %zu bytes, not 32", i,
                                  key.payload_len);
            if (++*n_keys > KG_CHAIN_ETH_ACCESS_KEYS_MAX)
                return kg_err_set(KG_ERR_BAD_INPUT, "access list has more than %d storage keys",
                                  KG_CHAIN_ETH_ACCESS_KEYS_MAX);
        }
        if (++*n_entries > KG_CHAIN_ETH_ACCESS_MAX)
            return kg_err_set(KG_ERR_BAD_INPUT, "access list has more than %d entries", KG_CHAIN_ETH_ACCESS_MAX);
    }
    return KG_OK;
}

/* Allocate the tx's block and copy data and the access list into it. */
static kg_err take_owned(kg_chain_eth_tx *tx, const kg_chain_rlp_item *data, const kg_chain_rlp_item *al)
{
    size_t n_ent = 0, n_keys = 0, off = 0, cnt = 0;
    if (data->is_list)
        return kg_err_set(KG_ERR_BAD_INPUT, "'data' must be a byte string, not a list");
    if (al != NULL) {
        kg_err err = access_count(&n_ent, &n_keys, al);
        if (err != KG_OK)
            return err;
    }
    size_t size = n_ent * sizeof(kg_chain_eth_access) + n_keys * 32 + data->payload_len;
    uint8_t *block = malloc(size ? size : 1);
    if (block == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory decoding a %zu-byte transaction", data->payload_len);
    kg_chain_eth_access *ent = (kg_chain_eth_access *)(void *)block;
    uint8_t *keys = block + n_ent * sizeof(kg_chain_eth_access), *dp = keys + n_keys * 32;
    kg_chain_rlp_item e, part[2], key;
    for (size_t i = 0; al != NULL && kg_chain_rlp_list_next(&e, &off, al); i++) {
        size_t koff = 0;
        if (kg_chain_rlp_list_items(part, 2, &cnt, &e) != KG_OK || cnt != 2)
            break; /* not reached: access_count checked the shape */
        memcpy(ent[i].address, part[0].payload, 20);
        ent[i].keys = keys;
        ent[i].n_keys = 0;
        while (kg_chain_rlp_list_next(&key, &koff, &part[1])) {
            memcpy(keys, key.payload, 32);
            keys += 32;
            ent[i].n_keys++;
        }
    }
    if (data->payload_len > 0)
        memcpy(dp, data->payload, data->payload_len);
    tx->owned_ = block;
    tx->data = dp;
    tx->data_len = data->payload_len;
    tx->access_list = n_ent ? ent : NULL;
    tx->access_list_len = n_ent;
    return KG_OK;
}

/* gas_limit * price must fit in 256 bits (a node computes the cost so).
 * 32-bit limbs so it also runs where there is no 128-bit type. */
static kg_err check_cost(uint64_t gas, const uint8_t price[static 32])
{
    uint32_t p[8], r[10] = { 0 }, m[2] = { (uint32_t)gas, (uint32_t)(gas >> 32) };
    for (int i = 0; i < 8; i++) /* p[0] is the least significant limb */
        p[i] = ((uint32_t)price[31 - 4 * i - 3] << 24) | ((uint32_t)price[31 - 4 * i - 2] << 16) |
               ((uint32_t)price[31 - 4 * i - 1] << 8) | price[31 - 4 * i];
    for (int j = 0; j < 2; j++) {
        uint64_t carry = 0;
        for (int i = 0; i < 8; i++) {
            uint64_t t = (uint64_t)p[i] * m[j] + r[i + j] + carry;
            r[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        for (int k = 8 + j; k < 10 && carry != 0; k++) {
            uint64_t t = (uint64_t)r[k] + carry;
            r[k] = (uint32_t)t;
            carry = t >> 32;
        }
    }
    if (r[8] != 0 || r[9] != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "gas limit * gas price overflows 256 bits");
    return KG_OK;
}

/* Legacy v: 27/28, or chainId*2 + 35/36 (EIP-155). */
static kg_err legacy_v(kg_chain_eth_tx *tx, fields *fs)
{
    uint64_t v = 0;
    if (fs->f[fs->i].payload_len > 8) {
        fs->i++;
        return kg_err_set(KG_ERR_BAD_INPUT, "v is larger than 64 bits: invalid chain id");
    }
    kg_err err = take_uint(&v, fs, "v");
    if (err != KG_OK)
        return err;
    if (v == 27 || v == 28) {
        tx->chain_id = 0;
        tx->sig.y_parity = (int)(v - 27);
    } else if (v >= 37) {
        tx->chain_id = (v - 35) / 2;
        tx->sig.y_parity = (int)((v - 35) % 2);
    } else {
        return kg_err_set(KG_ERR_BAD_INPUT, "v is %llu: expected 27/28 or chainId*2+35/36 (EIP-155) "
                          "with a chain id above 0", (unsigned long long)v);
    }
    return KG_OK;
}

static kg_err take_sig(kg_chain_eth_tx *tx, fields *fs, bool typed)
{
    kg_err err;
    if (typed) {
        uint64_t yp = 0;
        if ((err = take_uint(&yp, fs, "yParity")) != KG_OK)
            return err;
        if (yp > 1)
            return kg_err_set(KG_ERR_BAD_INPUT, "yParity is %llu; expected 0 or 1", (unsigned long long)yp);
        tx->sig.y_parity = (int)yp;
    } else if ((err = legacy_v(tx, fs)) != KG_OK) {
        return err;
    }
    if ((err = take_u256(tx->sig.r, fs, "signature r")) != KG_OK || (err = take_u256(tx->sig.s, fs, "signature s")) != KG_OK)
        return err;
    if (!kg_chain_eth_sig_valid(&tx->sig, true))
        return kg_err_set(KG_ERR_BAD_INPUT, "invalid signature: r and s must be in [1, n-1] and s <= n/2 (EIP-2)");
    tx->is_signed = true;
    return KG_OK;
}

/* The fields common to every type after the type-specific fee fields. */
static kg_err take_body(kg_chain_eth_tx *tx, fields *fs)
{
    kg_err err;
    bool typed = tx->type != KG_CHAIN_ETH_TX_LEGACY;
    if (typed && (err = take_uint(&tx->chain_id, fs, "chain id")) != KG_OK)
        return err;
    if (typed && tx->chain_id == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "typed transaction has chain id 0");
    if ((err = take_uint(&tx->nonce, fs, "nonce")) != KG_OK)
        return err;
    if (tx->nonce == UINT64_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "nonce must be below 2^64-1 (EIP-2681)");
    if (tx->type == KG_CHAIN_ETH_TX_DYNAMIC_FEE) {
        if ((err = take_u256(tx->max_priority_fee, fs, "max priority fee per gas")) != KG_OK ||
            (err = take_u256(tx->max_fee, fs, "max fee per gas")) != KG_OK)
            return err;
    } else if ((err = take_u256(tx->gas_price, fs, "gas price")) != KG_OK) {
        return err;
    }
    if ((err = take_uint(&tx->gas_limit, fs, "gas limit")) != KG_OK || (err = take_to(tx, fs)) != KG_OK ||
        (err = take_u256(tx->value, fs, "value")) != KG_OK)
        return err;
    const kg_chain_rlp_item *data = &fs->f[fs->i++];
    const kg_chain_rlp_item *al = typed ? &fs->f[fs->i++] : NULL;
    if ((err = take_owned(tx, data, al)) != KG_OK)
        return err;
    if (tx->type == KG_CHAIN_ETH_TX_DYNAMIC_FEE && kg_chain_eth_u256_cmp(tx->max_priority_fee, tx->max_fee) > 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "max priority fee per gas is above the max fee per gas (EIP-1559)");
    return check_cost(tx->gas_limit, tx->type == KG_CHAIN_ETH_TX_DYNAMIC_FEE ? tx->max_fee : tx->gas_price);
}

/* Field counts: body, and with the three signature fields. */
static kg_err check_count(const kg_chain_eth_tx *tx, size_t n, bool allow_unsigned)
{
    size_t body = tx->type == KG_CHAIN_ETH_TX_LEGACY ? 6 : tx->type == KG_CHAIN_ETH_TX_ACCESS_LIST ? 8 : 9;
    if (n == body + 3 || (allow_unsigned && n == body))
        return KG_OK;
    return kg_err_set(KG_ERR_BAD_INPUT, "transaction of type %d has %zu fields; expected %zu%s", (int)tx->type, n,
                      body + 3, allow_unsigned ? " (or the unsigned form)" : "");
}

static kg_err decode(kg_chain_eth_tx *tx, const uint8_t *raw, size_t raw_len, unsigned flags)
{
    kg_chain_rlp_item list, f[MAX_FIELDS];
    size_t n = 0;
    kg_err err;
    if (raw_len == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "raw transaction is empty");
    if (raw[0] >= 0xc0) {
        tx->type = KG_CHAIN_ETH_TX_LEGACY;
    } else if (raw[0] == 1 || raw[0] == 2) {
        tx->type = (kg_chain_eth_tx_type)raw[0];
        raw++;
        raw_len--;
    } else if (raw[0] < 0x80) {
        return kg_err_set(KG_ERR_BAD_INPUT, "unsupported transaction type 0x%02x (1 and 2 are supported)", raw[0]);
    } else {
        return kg_err_set(KG_ERR_BAD_INPUT, "raw transaction is an RLP string, not a transaction list");
    }
    if ((err = kg_chain_rlp_decode(&list, raw, raw_len)) != KG_OK)
        return err;
    if (!list.is_list)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction payload must be an RLP list");
    if ((err = kg_chain_rlp_list_items(f, MAX_FIELDS, &n, &list)) != KG_OK ||
        (err = check_count(tx, n, (flags & KG_CHAIN_ETH_DECODE_UNSIGNED) != 0)) != KG_OK)
        return err;
    fields fs = { f, n, 0 };
    if ((err = take_body(tx, &fs)) != KG_OK)
        return err;
    if (fs.i == n)
        return KG_OK; /* unsigned form */
    bool typed = tx->type != KG_CHAIN_ETH_TX_LEGACY;
    /* EIP-155 signing payload: [.., chainId, 0, 0] */
    if (!typed && (flags & KG_CHAIN_ETH_DECODE_UNSIGNED) && f[7].payload_len == 0 && f[8].payload_len == 0 &&
        !f[7].is_list && !f[8].is_list) {
        if ((err = take_uint(&tx->chain_id, &fs, "chain id")) != KG_OK)
            return err;
        if (tx->chain_id == 0 || tx->chain_id > (UINT64_MAX - 36) / 2)
            return kg_err_set(KG_ERR_BAD_INPUT, "EIP-155 signing payload has an invalid chain id");
        return KG_OK;
    }
    return take_sig(tx, &fs, typed);
}

kg_err kg_chain_eth_tx_decode(kg_chain_eth_tx *tx, uint8_t *sender, const uint8_t *raw, size_t raw_len,
                              unsigned flags)
{
    memset(tx, 0, sizeof *tx);
    if (sender != NULL)
        memset(sender, 0, 20);
    kg_err err = raw != NULL ? decode(tx, raw, raw_len, flags)
                             : kg_err_set(KG_ERR_BAD_INPUT, "raw transaction is empty");
    if (err == KG_OK && tx->is_signed && tx->type == KG_CHAIN_ETH_TX_LEGACY && tx->chain_id > (UINT64_MAX - 36) / 2)
        err = kg_err_set(KG_ERR_BAD_INPUT, "chain id too large");
    if (err == KG_OK && tx->is_signed) {
        uint8_t addr[20];
        err = kg_chain_eth_tx_sender(addr, tx);
        if (err == KG_OK && sender != NULL)
            memcpy(sender, addr, 20);
    }
    if (err != KG_OK)
        kg_chain_eth_tx_free(tx);
    return err;
}

void kg_chain_eth_tx_free(kg_chain_eth_tx *tx)
{
    if (tx == NULL)
        return;
    free(tx->owned_);
    memset(tx, 0, sizeof *tx);
}
