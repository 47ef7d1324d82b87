/* Handlers that sign transactions with a server wallet (see
 * handlers_wallets.c for what a wallet is): an Ethereum transaction from
 * its JSON fields, and a Bitcoin PSBT. Neither broadcasts anything: the
 * caller gets the signed bytes and sends them where it likes.
 *
 * sign-transaction: {"chain":"eth","tx":{...}} with the fields of the
 * transaction type -- legacy (0), EIP-2930 (1) or EIP-1559 (2) -- as
 * decimal strings (or 0x-hex quantities, or JSON integers), "to" as an
 * address (absent or null for a contract creation) and "data" as 0x-hex.
 * Every field is checked: a field the type does not have is an error
 * rather than silently dropped, since an ignored gas_price on a type-2
 * transaction would sign something other than what the caller meant. The
 * chain id is required (use "0" for an unprotected pre-EIP-155 legacy
 * transaction), and the signed transaction's sender is recovered and
 * compared with the wallet's address before it is returned.
 *
 * psbt/sign: a KMS key is a single key, not an HD tree, so the PSBT's BIP32
 * fingerprints cannot name it. An input is the wallet's when its witness
 * UTXO pays the wallet's P2WPKH or P2SH-P2WPKH script, or when it has a
 * BIP32 derivation for the wallet's public key. The PSBT signer
 * (kg_chain_psbt_sign) finds keys by fingerprint, so for the duration of
 * the call each such input gets a derivation of the wallet key with the
 * key's own fingerprint (HASH160(pub)[0..4]) and an empty path -- how
 * Bitcoin Core records non-HD keys -- and afterwards every derivation is
 * put back as it was: the PSBT comes back with only the signatures (and a
 * P2SH-P2WPKH redeem script the finalizer needs, if it was missing). */
#include "server_int.h"

#include <kashguard/chain.h>

#include <stdlib.h>
#include <string.h>

#define KG_WALLET_DATA_MAX (128 * 1024)

/* ------------------------------------------------------------ Ethereum */

/* Copy e's detail, then set it again prefixed with the field name. */
static kg_err field_err(kg_err e, const char *field)
{
    char why[256];
    snprintf(why, sizeof why, "%s", kg_err_detail(e));
    return kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.%s' is not valid: %s", field, why);
}

/* A uint256 field: decimal text, 0x-hex quantity or a JSON integer >= 0. */
static kg_err tx_u256(uint8_t out[static 32], bool *given, const json_t *tx, const char *field, bool required)
{
    const json_t *v = json_object_get(tx, field);
    memset(out, 0, 32);
    *given = v != NULL && !json_is_null(v);
    if (!*given)
        return required ? kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.%s' is required (a decimal string such as "
                                     "\"21000\")", field) : KG_OK;
    kg_err e = KG_OK;
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        kg_chain_eth_u256_from_u64(out, (uint64_t)json_integer_value(v));
    else if (!json_is_string(v))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.%s' must be a decimal string (or 0x-hex)", field);
    else if (strncmp(json_string_value(v), "0x", 2) == 0)
        e = kg_chain_eth_u256_from_hex(out, json_string_value(v), false);
    else
        e = kg_chain_eth_u256_from_dec(out, json_string_value(v));
    if (e != KG_OK) {
        memset(out, 0, 32);
        return json_is_string(v) ? field_err(e, field) : e;
    }
    return KG_OK;
}

static kg_err tx_u64(uint64_t *out, const json_t *tx, const char *field, bool required)
{
    uint8_t w[32];
    bool given = false;
    *out = 0;
    kg_err e = tx_u256(w, &given, tx, field, required);
    if (e == KG_OK && kg_chain_eth_u256_to_u64(out, w) != KG_OK)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.%s' is larger than 2^64-1", field);
    return e;
}

/* Fields a type has beyond the common ones; others present are refused. */
static kg_err tx_fields(const json_t *tx, int64_t type)
{
    static const char *const t0[] = { "type", "chain_id", "nonce", "to", "value", "data", "gas_limit",
                                      "gas_price", NULL };
    static const char *const t1[] = { "type", "chain_id", "nonce", "to", "value", "data", "gas_limit",
                                      "gas_price", "access_list", NULL };
    static const char *const t2[] = { "type", "chain_id", "nonce", "to", "value", "data", "gas_limit",
                                      "max_fee_per_gas", "max_priority_fee_per_gas", "access_list", NULL };
    const char *const *allowed = type == 0 ? t0 : type == 1 ? t1 : t2;
    kg_err e = kg_json_check_fields(tx, allowed);
    if (e != KG_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", kg_err_detail(e));
        return kg_err_set(KG_ERR_BAD_INPUT, "in 'tx' of a type-%lld transaction: %s (type 0 and 1 take "
                          "gas_price; type 2 takes max_fee_per_gas and max_priority_fee_per_gas; access_list "
                          "is for types 1 and 2)", (long long)type, why);
    }
    return KG_OK;
}

static kg_err tx_type(int64_t *type, const json_t *tx)
{
    const json_t *v = json_object_get(tx, "type");
    *type = 2;
    if (v == NULL || json_is_null(v))
        return KG_OK;
    if (json_is_integer(v))
        *type = json_integer_value(v);
    else if (json_is_string(v) && strlen(json_string_value(v)) == 1)
        *type = json_string_value(v)[0] - '0';
    else
        *type = -1;
    if (*type < 0 || *type > 2)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.type' must be 0 (legacy), 1 (EIP-2930) or 2 (EIP-1559)");
    return KG_OK;
}

/* Storage for what the tx points to: data and the access list. */
typedef struct {
    uint8_t *data;
    kg_chain_eth_access *access;
    uint8_t *keys;
} tx_store;

static void tx_store_free(tx_store *st)
{
    free(st->data);
    free(st->access);
    free(st->keys);
}

static kg_err tx_data(kg_chain_eth_tx *tx, tx_store *st, const json_t *j)
{
    const char *hex = NULL;
    kg_err e = kg_json_get_str(&hex, j, "data", false);
    if (e != KG_OK || hex == NULL)
        return e;
    size_t n = strlen(hex);
    if (strncmp(hex, "0x", 2) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.data' must be 0x-prefixed hex (\"0x\" for none)");
    if (n == 2)
        return KG_OK;
    if ((n - 2) / 2 > KG_WALLET_DATA_MAX)
        return kg_err_set(KG_ERR_TOO_LARGE, "field 'tx.data' is longer than %d bytes", KG_WALLET_DATA_MAX);
    st->data = malloc(n / 2);
    if (st->data == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    e = kg_hex_decode(st->data, n / 2, &tx->data_len, hex);
    if (e != KG_OK)
        return field_err(e, "data");
    tx->data = st->data;
    return KG_OK;
}

/* One access-list entry {"address","storage_keys":[0x + 64 hex, ...]}. */
static kg_err access_entry(kg_chain_eth_access *a, uint8_t *keys, size_t *used, size_t cap, const json_t *j,
                           size_t i)
{
    static const char *const fields[] = { "address", "storage_keys", NULL };
    const char *addr = NULL;
    const json_t *ks = json_object_get(j, "storage_keys");
    kg_err e = json_is_object(j) ? kg_json_check_fields(j, fields)
                                 : kg_err_set(KG_ERR_BAD_INPUT, "tx.access_list[%zu] must be an object", i);
    if (e == KG_OK)
        e = kg_json_get_str(&addr, j, "address", true);
    if (e == KG_OK && kg_chain_eth_addr_parse(a->address, addr) != KG_OK)
        e = field_err(KG_ERR_BAD_INPUT, "access_list.address");
    if (e == KG_OK && ks != NULL && !json_is_array(ks))
        e = kg_err_set(KG_ERR_BAD_INPUT, "tx.access_list[%zu].storage_keys must be an array", i);
    a->keys = keys + 32 * *used;
    for (size_t k = 0; e == KG_OK && k < json_array_size(ks); k++) {
        const char *hex = json_string_value(json_array_get(ks, k));
        size_t n = 0;
        if (*used >= cap)
            return kg_err_set(KG_ERR_BAD_INPUT, "tx.access_list has more than %u storage keys in all",
                              KG_CHAIN_ETH_ACCESS_KEYS_MAX);
        if (hex == NULL || strncmp(hex, "0x", 2) != 0 || strlen(hex) != 66 ||
            kg_hex_decode(keys + 32 * *used, 32, &n, hex) != KG_OK || n != 32)
            return kg_err_set(KG_ERR_BAD_INPUT, "tx.access_list[%zu].storage_keys[%zu] must be 0x and 64 hex "
                              "digits", i, k);
        ++*used;
        a->n_keys++;
    }
    return e;
}

static kg_err tx_access_list(kg_chain_eth_tx *tx, tx_store *st, const json_t *j)
{
    const json_t *al = json_object_get(j, "access_list");
    if (al == NULL || json_is_null(al))
        return KG_OK;
    size_t n = json_array_size(al), total = 0;
    if (!json_is_array(al) || n > KG_CHAIN_ETH_ACCESS_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.access_list' must be an array of at most %u entries",
                          KG_CHAIN_ETH_ACCESS_MAX);
    for (size_t i = 0; i < n; i++)
        total += json_array_size(json_object_get(json_array_get(al, i), "storage_keys"));
    if (total > KG_CHAIN_ETH_ACCESS_KEYS_MAX)
        total = KG_CHAIN_ETH_ACCESS_KEYS_MAX; /* access_entry reports the excess */
    st->access = calloc(n ? n : 1, sizeof *st->access);
    st->keys = malloc(32 * (total ? total : 1));
    if (st->access == NULL || st->keys == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        kg_err e = access_entry(&st->access[i], st->keys, &used, total, json_array_get(al, i), i);
        if (e != KG_OK)
            return e;
    }
    tx->access_list = st->access;
    tx->access_list_len = n;
    return KG_OK;
}

/* The fee fields of the type. */
static kg_err tx_fees(kg_chain_eth_tx *tx, const json_t *j)
{
    bool given = false;
    if (tx->type != KG_CHAIN_ETH_TX_DYNAMIC_FEE)
        return tx_u256(tx->gas_price, &given, j, "gas_price", true);
    kg_err e = tx_u256(tx->max_fee, &given, j, "max_fee_per_gas", true);
    if (e == KG_OK)
        e = tx_u256(tx->max_priority_fee, &given, j, "max_priority_fee_per_gas", true);
    if (e == KG_OK && kg_chain_eth_u256_cmp(tx->max_priority_fee, tx->max_fee) > 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "tx.max_priority_fee_per_gas is above tx.max_fee_per_gas");
    return e;
}

/* The "tx" object into tx (views into st). */
static kg_err tx_parse(kg_chain_eth_tx *tx, tx_store *st, const json_t *j)
{
    int64_t type = 2;
    const char *to = NULL;
    bool given = false;
    memset(tx, 0, sizeof *tx);
    if (!json_is_object(j))
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'tx' is required: an object with type, chain_id, nonce, to, "
                          "value, data, gas_limit and the fee fields");
    kg_err e = tx_type(&type, j);
    if (e == KG_OK)
        e = tx_fields(j, type);
    tx->type = (kg_chain_eth_tx_type)type;
    if (e == KG_OK)
        e = tx_u64(&tx->chain_id, j, "chain_id", true);
    if (e == KG_OK && tx->chain_id == 0 && type != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.chain_id' must not be 0 for a type-%lld transaction",
                       (long long)type);
    if (e == KG_OK)
        e = tx_u64(&tx->nonce, j, "nonce", true);
    if (e == KG_OK)
        e = tx_u64(&tx->gas_limit, j, "gas_limit", true);
    if (e == KG_OK && tx->gas_limit == 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'tx.gas_limit' must be above 0 (21000 for a plain transfer)");
    if (e == KG_OK)
        e = tx_u256(tx->value, &given, j, "value", false);
    if (e == KG_OK)
        e = tx_fees(tx, j);
    if (e == KG_OK)
        e = kg_json_get_str(&to, j, "to", false);
    if (e == KG_OK && to != NULL && to[0] != '\0') {
        tx->has_to = true;
        if (kg_chain_eth_addr_parse(tx->to, to) != KG_OK)
            e = field_err(KG_ERR_BAD_INPUT, "to");
    }
    if (e == KG_OK)
        e = tx_data(tx, st, j);
    if (e == KG_OK)
        e = tx_access_list(tx, st, j);
    return e;
}

/* Sign, encode and check the sender; *out = {"raw","hash","from"}. */
static kg_err tx_sign_render(json_t **out, kg_chain_eth_tx *tx, kg_req_wallet *w)
{
    uint8_t want[20], got[20], hash[32];
    char from[KG_CHAIN_ETH_ADDR_STR_BYTES];
    size_t n = 0;
    kg_err e = kg_chain_eth_addr_from_pubkey(want, w->pub65, 65);
    if (e == KG_OK)
        e = kg_chain_eth_tx_sign(w->signer, tx, &w->ref);
    if (e == KG_OK)
        e = kg_chain_eth_tx_sender(got, tx);
    if (e == KG_OK && memcmp(got, want, 20) != 0)
        e = kg_err_set(KG_ERR_CRYPTO, "the signed transaction recovers to another address than wallet '%s'; "
                       "nothing was returned", w->name);
    size_t cap = e == KG_OK ? kg_chain_eth_tx_encoded_len(tx) : 0;
    uint8_t *raw = cap ? malloc(cap) : NULL;
    if (e == KG_OK && raw == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_chain_eth_tx_encode(raw, cap, &n, tx);
    if (e == KG_OK)
        e = kg_chain_eth_tx_hash(hash, tx);
    if (e == KG_OK) {
        kg_chain_eth_addr_to_str(from, want);
        *out = json_pack("{s:o,s:o,s:s,s:s}", "raw", kg_json_0x(raw, n), "hash", kg_json_0x(hash, 32), "from",
                         from, "key_id", w->key_id);
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    free(raw);
    return e;
}

kg_err kg_h_wallet_sign_transaction(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "chain", "tx", NULL };
    const char *chain = NULL;
    kg_chain_eth_tx tx;
    tx_store st = { 0 };
    kg_req_wallet w;
    memset(&tx, 0, sizeof tx);
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&chain, r->json, "chain", false);
    if (e == KG_OK && chain != NULL && strcmp(chain, "eth") != 0 && strcmp(chain, "evm") != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "chain '%.64s' is not supported by sign-transaction: use eth (Bitcoin "
                       "signs PSBTs: POST .../psbt/sign)", chain);
    if (e == KG_OK)
        e = tx_parse(&tx, &st, json_object_get(r->json, "tx"));
    if (e == KG_OK && (e = kg_req_wallet_open(&w, r)) == KG_OK) {
        e = tx_sign_render(out, &tx, &w);
        kg_req_wallet_close(&w);
    }
    tx_store_free(&st);
    return e;
}

/* ---------------------------------------------------------------- PSBT */

/* The scriptPubKey of input i's witness UTXO (amount, CompactSize, script);
 * shared with handlers_mpc_wallet.c (server_int.h). */
bool kg_psbt_witness_spk(const uint8_t **spk, size_t *len, const kg_chain_psbt *p, size_t i)
{
    const kg_chain_psbt_kv *kv = kg_chain_psbt_map_find(&p->in[i], KG_PSBT_IN_WITNESS_UTXO);
    if (kv == NULL || kv->val_len < 9 || kv->val[8] >= 0xfd)
        return false; /* longer scripts are not a P2WPKH or P2SH */
    *spk = kv->val + 9;
    *len = kv->val[8];
    return 9 + *len == kv->val_len;
}

/* One input the wallet signs: its derivation as it was before (NULL: none). */
typedef struct {
    size_t index;
    uint8_t *old_val;
    size_t old_len;
    bool had;
} psbt_mark;

typedef struct {
    uint8_t key[34];                 /* 0x06 || pub33: the wallet key's derivation key */
    uint8_t fp[4];                   /* HASH160(pub33)[0..4] */
    kg_chain_btc_spk wpkh, sh_wpkh;  /* the wallet's scripts */
    uint8_t redeem[22];              /* 0x00 0x14 HASH160(pub33) */
    psbt_mark *marks;
    size_t n_marks;
} psbt_plan;

static void plan_init(psbt_plan *pl, const kg_req_wallet *w)
{
    uint8_t h[20];
    memset(pl, 0, sizeof *pl);
    kg_crypto_hash160(h, w->pub33, 33);
    memcpy(pl->fp, h, 4);
    pl->key[0] = KG_PSBT_IN_BIP32_DERIVATION;
    memcpy(pl->key + 1, w->pub33, 33);
    kg_chain_btc_spk_p2wpkh(&pl->wpkh, h);
    pl->redeem[0] = 0x00;
    pl->redeem[1] = 0x14;
    memcpy(pl->redeem + 2, h, 20);
    uint8_t sh[20];
    kg_crypto_hash160(sh, pl->redeem, sizeof pl->redeem);
    kg_chain_btc_spk_p2sh(&pl->sh_wpkh, sh);
}

/* Mark input i when it is the wallet's: save its derivation of the wallet
 * key, point that at (own fingerprint, empty path), add a missing redeem
 * script. */
static kg_err plan_input(psbt_plan *pl, kg_chain_psbt *p, size_t i)
{
    const uint8_t *spk = NULL;
    size_t spk_len = 0;
    bool has_spk = kg_psbt_witness_spk(&spk, &spk_len, p, i);
    bool wpkh = has_spk && spk_len == pl->wpkh.len && memcmp(spk, pl->wpkh.data, spk_len) == 0;
    bool sh = has_spk && spk_len == pl->sh_wpkh.len && memcmp(spk, pl->sh_wpkh.data, spk_len) == 0;
    const kg_chain_psbt_kv *d = kg_chain_psbt_map_get(&p->in[i], pl->key, sizeof pl->key);
    if (!wpkh && !sh && d == NULL)
        return KG_OK;
    psbt_mark *m = &pl->marks[pl->n_marks++];
    m->index = i;
    m->had = d != NULL;
    if (d != NULL) {
        m->old_val = malloc(d->val_len ? d->val_len : 1);
        if (m->old_val == NULL)
            return kg_err_set(KG_ERR_NOMEM, "out of memory");
        memcpy(m->old_val, d->val, d->val_len);
        m->old_len = d->val_len;
    }
    kg_err e = kg_chain_psbt_map_put(p, &p->in[i], pl->key, sizeof pl->key, pl->fp, 4);
    if (e == KG_OK && sh && kg_chain_psbt_map_find(&p->in[i], KG_PSBT_IN_REDEEM_SCRIPT) == NULL)
        e = kg_chain_psbt_set_redeem_script(p, false, i, pl->redeem, sizeof pl->redeem);
    return e;
}

/* Put every derivation back as it was (drop the ones we added). */
static kg_err plan_restore(psbt_plan *pl, kg_chain_psbt *p)
{
    kg_err e = KG_OK;
    for (size_t k = 0; k < pl->n_marks; k++) {
        psbt_mark *m = &pl->marks[k];
        kg_chain_psbt_map *map = &p->in[m->index];
        if (m->had) {
            kg_err e2 = kg_chain_psbt_map_put(p, map, pl->key, sizeof pl->key, m->old_val, m->old_len);
            e = e == KG_OK ? e2 : e;
        } else {
            for (kg_chain_psbt_kv **pp = &map->head; *pp != NULL; pp = &(*pp)->next) {
                if ((*pp)->key_len == sizeof pl->key && memcmp((*pp)->key, pl->key, sizeof pl->key) == 0) {
                    *pp = (*pp)->next;
                    break;
                }
            }
        }
        free(m->old_val);
        m->old_val = NULL;
    }
    return e;
}

static kg_err nothing_to_sign(const kg_req_wallet *w, kg_chain_btc_network net)
{
    char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES] = "";
    if (kg_chain_btc_address_from_key(addr, sizeof addr, net, KG_CHAIN_BTC_P2WPKH, w->pub33, 33, NULL) != KG_OK)
        snprintf(addr, sizeof addr, "?");
    return kg_err_set(KG_ERR_BAD_INPUT, "no input of the PSBT spends from wallet '%s': an input is signed when "
                      "its witness UTXO pays the wallet's P2WPKH (%s) or P2SH-P2WPKH script, or it has a BIP32 "
                      "derivation of the wallet's key", w->name, addr);
}

/* Mark, sign, restore. *n_signed gets the number of signatures added. */
static kg_err psbt_sign_wallet(kg_chain_psbt *p, size_t *n_signed, kg_req_wallet *w, kg_chain_btc_network net)
{
    psbt_plan pl;
    plan_init(&pl, w);
    *n_signed = 0;
    pl.marks = calloc(p->n_in ? p->n_in : 1, sizeof *pl.marks);
    if (pl.marks == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err e = KG_OK;
    for (size_t i = 0; e == KG_OK && i < p->n_in; i++)
        e = plan_input(&pl, p, i);
    if (e == KG_OK && pl.n_marks == 0)
        e = nothing_to_sign(w, net);
    if (e == KG_OK) {
        e = kg_chain_psbt_sign(p, n_signed, w->signer, w->key_id, pl.fp);
        if (e == KG_ERR_NOT_FOUND && *n_signed == 0)
            e = nothing_to_sign(w, net); /* ours by script, but already signed or not signable */
    }
    kg_err e2 = plan_restore(&pl, p);
    free(pl.marks);
    return e != KG_OK ? e : e2;
}

kg_err kg_h_wallet_psbt_sign(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "psbt", "network", NULL };
    const char *b64 = NULL, *net_name = NULL;
    kg_chain_btc_network net = KG_CHAIN_BTC_MAINNET;
    kg_chain_psbt p;
    char *signed_b64 = NULL;
    size_t n_signed = 0;
    kg_req_wallet w;
    memset(&p, 0, sizeof p);
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&b64, r->json, "psbt", true);
    if (e == KG_OK)
        e = kg_json_get_str(&net_name, r->json, "network", false);
    if (e == KG_OK && net_name != NULL)
        e = kg_chain_btc_network_parse(&net, net_name);
    /* Room for the PSBT, the signatures and the signer's tx view. */
    if (e == KG_OK)
        e = kg_chain_psbt_alloc(&p, 4 * strlen(b64) + 256 * 1024);
    if (e == KG_OK)
        e = kg_chain_psbt_parse_base64(&p, b64);
    if (e == KG_OK && (e = kg_req_wallet_open(&w, r)) == KG_OK) {
        e = psbt_sign_wallet(&p, &n_signed, &w, net);
        kg_req_wallet_close(&w);
    }
    if (e == KG_OK)
        e = kg_chain_psbt_to_base64(&signed_b64, &p);
    if (e == KG_OK) {
        *out = json_pack("{s:s,s:I}", "psbt", signed_b64, "signed_inputs", (json_int_t)n_signed);
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    free(signed_b64);
    kg_chain_psbt_free(&p);
    return e;
}
