/* Ethereum transactions: encoding, signing hash, signing, hash.
 *
 * Three formats (the ones every EVM chain accepts today):
 *   legacy      rlp([nonce, gasPrice, gasLimit, to, value, data, v, r, s])
 *               signing hash: keccak(rlp(first 6 fields)) before EIP-155;
 *               with a chain id (EIP-155) keccak(rlp(6 fields, chainId, 0, 0))
 *               and v = chainId*2 + 35 + parity (27 + parity without).
 *   EIP-2930    0x01 || rlp([chainId, nonce, gasPrice, gasLimit, to, value,
 *               data, accessList, yParity, r, s])
 *   EIP-1559    0x02 || rlp([chainId, nonce, maxPriorityFeePerGas,
 *               maxFeePerGas, gasLimit, to, value, data, accessList,
 *               yParity, r, s])
 * Typed transactions (EIP-2718) sign keccak(type || rlp(fields without the
 * signature)). An access list is rlp([[address, [storageKey, ...]], ...]).
 * `to` is the empty string for contract creation.
 *
 * The encoder streams through kg_chain_eth_sink (eth_int.h): each list is
 * emitted once into a counting sink to learn its payload length, then for
 * real. So the signing hash is computed with no buffer and no allocation
 * (the firmware signs this way), and kg_chain_eth_tx_encode writes into
 * the caller's buffer. Decoding is in eth_tx_decode.c. */
#include "eth_int.h"

#include <string.h>

typedef enum { MODE_UNSIGNED, MODE_SIGNED } emit_mode;

/* Largest chain id whose EIP-155 v (chainId*2 + 36) still fits in 64 bits. */
#define MAX_LEGACY_CHAIN_ID ((UINT64_MAX - 36) / 2)

static kg_err tx_check(const kg_chain_eth_tx *tx)
{
    if (tx->type != KG_CHAIN_ETH_TX_LEGACY && tx->type != KG_CHAIN_ETH_TX_ACCESS_LIST &&
        tx->type != KG_CHAIN_ETH_TX_DYNAMIC_FEE)
        return kg_err_set(KG_ERR_BAD_INPUT, "unsupported transaction type %d (0 legacy, 1 EIP-2930, 2 EIP-1559)",
                          (int)tx->type);
    if (tx->type == KG_CHAIN_ETH_TX_LEGACY && tx->access_list_len > 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "a legacy transaction cannot carry an access list; use type 1 or 2");
    if (tx->type == KG_CHAIN_ETH_TX_LEGACY && tx->chain_id > MAX_LEGACY_CHAIN_ID)
        return kg_err_set(KG_ERR_BAD_INPUT, "chain id %llu is too large for an EIP-155 v value",
                          (unsigned long long)tx->chain_id);
    if (tx->type != KG_CHAIN_ETH_TX_LEGACY && tx->chain_id == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "typed transactions need a chain id (set chain_id)");
    if (tx->data == NULL && tx->data_len > 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction data is NULL with a non-zero length");
    if (tx->access_list_len > KG_CHAIN_ETH_ACCESS_MAX || (tx->access_list_len > 0 && tx->access_list == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "access list missing or longer than %d entries", KG_CHAIN_ETH_ACCESS_MAX);
    for (size_t i = 0; i < tx->access_list_len; i++)
        if (tx->access_list[i].n_keys > 0 && tx->access_list[i].keys == NULL)
            return kg_err_set(KG_ERR_BAD_INPUT, "access list entry %zu has keys == NULL", i);
    if (tx->type == KG_CHAIN_ETH_TX_DYNAMIC_FEE && kg_chain_eth_u256_cmp(tx->max_priority_fee, tx->max_fee) > 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "max priority fee is above the max fee per gas (EIP-1559)");
    return KG_OK;
}

/* ------------------------------------------------------------- emitters */

static void emit_entry(kg_chain_eth_sink *s, const kg_chain_eth_access *a)
{
    kg_chain_eth_sink_string(s, a->address, 20);
    /* each key is 0xa0 + 32 bytes */
    kg_chain_eth_sink_header(s, true, a->n_keys * 33);
    for (size_t k = 0; k < a->n_keys; k++)
        kg_chain_eth_sink_string(s, a->keys + 32 * k, 32);
}

static size_t entry_len(const kg_chain_eth_access *a)
{
    size_t keys = a->n_keys * 33;
    return 21 + kg_chain_eth_rlp_header_len(keys) + keys;
}

static void emit_access_list(kg_chain_eth_sink *s, const kg_chain_eth_tx *tx)
{
    size_t total = 0;
    for (size_t i = 0; i < tx->access_list_len; i++) {
        size_t e = entry_len(&tx->access_list[i]);
        total += kg_chain_eth_rlp_header_len(e) + e;
    }
    kg_chain_eth_sink_header(s, true, total);
    for (size_t i = 0; i < tx->access_list_len; i++) {
        kg_chain_eth_sink_header(s, true, entry_len(&tx->access_list[i]));
        emit_entry(s, &tx->access_list[i]);
    }
}

static void emit_sig(kg_chain_eth_sink *s, uint64_t v, const kg_chain_eth_sig *sig)
{
    kg_chain_eth_sink_uint(s, v);
    kg_chain_eth_sink_u256(s, sig->r);
    kg_chain_eth_sink_u256(s, sig->s);
}

/* The list payload (the fields, without the list header). */
static void emit_fields(kg_chain_eth_sink *s, const kg_chain_eth_tx *tx, emit_mode mode)
{
    bool typed = tx->type != KG_CHAIN_ETH_TX_LEGACY;
    if (typed)
        kg_chain_eth_sink_uint(s, tx->chain_id);
    kg_chain_eth_sink_uint(s, tx->nonce);
    if (tx->type == KG_CHAIN_ETH_TX_DYNAMIC_FEE) {
        kg_chain_eth_sink_u256(s, tx->max_priority_fee);
        kg_chain_eth_sink_u256(s, tx->max_fee);
    } else {
        kg_chain_eth_sink_u256(s, tx->gas_price);
    }
    kg_chain_eth_sink_uint(s, tx->gas_limit);
    kg_chain_eth_sink_string(s, tx->to, tx->has_to ? 20 : 0);
    kg_chain_eth_sink_u256(s, tx->value);
    kg_chain_eth_sink_string(s, tx->data, tx->data_len);
    if (typed)
        emit_access_list(s, tx);
    if (mode == MODE_SIGNED) {
        uint64_t v = (uint64_t)tx->sig.y_parity;
        if (!typed)
            v += tx->chain_id ? tx->chain_id * 2 + 35 : 27;
        emit_sig(s, v, &tx->sig);
    } else if (!typed && tx->chain_id != 0) { /* EIP-155 signing payload */
        kg_chain_eth_sink_uint(s, tx->chain_id);
        kg_chain_eth_sink_uint(s, 0);
        kg_chain_eth_sink_uint(s, 0);
    }
}

/* type byte (typed txs), list header, fields. */
static void emit_tx(kg_chain_eth_sink *s, const kg_chain_eth_tx *tx, emit_mode mode)
{
    kg_chain_eth_sink count = KG_CHAIN_ETH_SINK_COUNT;
    emit_fields(&count, tx, mode);
    if (tx->type != KG_CHAIN_ETH_TX_LEGACY) {
        uint8_t t = (uint8_t)tx->type;
        kg_chain_eth_sink_put(s, &t, 1);
    }
    kg_chain_eth_sink_header(s, true, count.len);
    emit_fields(s, tx, mode);
}

/* ------------------------------------------------------------- public */

kg_err kg_chain_eth_tx_signing_hash(uint8_t out[static 32], const kg_chain_eth_tx *tx)
{
    memset(out, 0, 32);
    kg_err err = tx_check(tx);
    if (err != KG_OK)
        return err;
    kg_crypto_keccak_ctx k;
    kg_chain_eth_sink s = { NULL, 0, 0, &k };
    kg_crypto_keccak256_init(&k);
    emit_tx(&s, tx, MODE_UNSIGNED);
    kg_crypto_keccak256_final(out, &k);
    return KG_OK;
}

kg_err kg_chain_eth_tx_sign(kg_signer *signer, kg_chain_eth_tx *tx, const kg_key_ref *ref)
{
    uint8_t h[32];
    kg_chain_eth_sig sig;
    tx->is_signed = false;
    memset(&tx->sig, 0, sizeof tx->sig);
    kg_err err = kg_chain_eth_tx_signing_hash(h, tx);
    if (err == KG_OK)
        err = kg_chain_eth_sign_digest(signer, &sig, ref, h);
    if (err != KG_OK)
        return err;
    tx->sig = sig;
    tx->is_signed = true;
    return KG_OK;
}

size_t kg_chain_eth_tx_encoded_len(const kg_chain_eth_tx *tx)
{
    if (tx_check(tx) != KG_OK)
        return 0;
    kg_chain_eth_sink s = KG_CHAIN_ETH_SINK_COUNT;
    emit_tx(&s, tx, tx->is_signed ? MODE_SIGNED : MODE_UNSIGNED);
    return s.len;
}

kg_err kg_chain_eth_tx_encode(uint8_t *out, size_t out_cap, size_t *out_len, const kg_chain_eth_tx *tx)
{
    *out_len = 0;
    kg_err err = tx_check(tx);
    if (err != KG_OK)
        return err;
    if (tx->is_signed && !kg_chain_eth_sig_valid(&tx->sig, false))
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction signature values are invalid; sign it again");
    kg_chain_eth_sink s = { out, out_cap, 0, NULL };
    emit_tx(&s, tx, tx->is_signed ? MODE_SIGNED : MODE_UNSIGNED);
    if (s.len > out_cap) {
        memset(out, 0, out_cap);
        return kg_err_set(KG_ERR_BAD_INPUT, "transaction needs %zu bytes; the buffer has %zu", s.len, out_cap);
    }
    *out_len = s.len;
    return KG_OK;
}

kg_err kg_chain_eth_tx_hash(uint8_t out[static 32], const kg_chain_eth_tx *tx)
{
    memset(out, 0, 32);
    if (!tx->is_signed)
        return kg_err_set(KG_ERR_BAD_INPUT, "an unsigned transaction has no hash yet; sign it first");
    kg_err err = tx_check(tx);
    if (err != KG_OK)
        return err;
    kg_crypto_keccak_ctx k;
    kg_chain_eth_sink s = { NULL, 0, 0, &k };
    kg_crypto_keccak256_init(&k);
    emit_tx(&s, tx, MODE_SIGNED);
    kg_crypto_keccak256_final(out, &k);
    return KG_OK;
}

kg_err kg_chain_eth_tx_sender(uint8_t addr[static 20], const kg_chain_eth_tx *tx)
{
    uint8_t h[32];
    memset(addr, 0, 20);
    if (!tx->is_signed)
        return kg_err_set(KG_ERR_BAD_INPUT, "the transaction is not signed: it has no sender");
    kg_err err = kg_chain_eth_tx_signing_hash(h, tx);
    if (err != KG_OK)
        return err;
    return kg_chain_eth_sig_recover(addr, &tx->sig, h);
}
