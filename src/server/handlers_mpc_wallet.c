/* Wallets on MPC keys: a custody user holds BTC and SOL under a t-of-n
 * FROST key whose shares live on the MPC nodes (handlers_mpc.c). The server
 * signs through the networked signer (kg_mpc_coordinator_signer_new, one
 * FROST session per signature) with the chain layer doing the rest, so no
 * chain code knows the key is a threshold key.
 *
 *   GET  /v1/mpc/keys/{id}/address?chain=bitcoin&network=N | ?chain=solana
 *        bitcoin: P2TR of the x-only group key with the BIP86 tweak (BIP341
 *        "key path only"; frost-secp256k1-tr keys, BIP 445 signing);
 *        solana: Base58 of the Ed25519 group key (frost-ed25519 keys).
 *   POST /v1/mpc/keys/{id}/psbt {"psbt":b64,"network"?,"finalize"?}
 *        signs (BIP371 key path, DEFAULT or the input's sighash type) every
 *        input whose witness UTXO pays this key's P2TR script.
 *   POST /v1/mpc/keys/{id}/bitcoin/send {"to","amount_sat","fee_rate"?,
 *        "esplora","network"?} coins of the key's address from the Esplora
 *        API, coin selection (change back to the same address), sign,
 *        broadcast.
 *   POST /v1/mpc/keys/{id}/solana/transfer {"to","lamports","rpc","wait"?}
 *        a System Program transfer signed with the group key, sent through
 *        the Solana JSON-RPC client.
 *
 * Policy: the address needs "get-public-key" on the key, everything that
 * signs needs "sign" (kg_server_mpc_authorize_key). Another scheme/chain
 * pair is a 400 naming the scheme the chain needs.
 *
 * PSBT signing: kg_chain_psbt_sign finds keys by BIP32 fingerprint, and an
 * MPC group key is not an HD tree. The PSBT is parsed twice: a work copy
 * gets, for each of the key's inputs, the internal key and a key-path
 * TAP_BIP32_DERIVATION with a fingerprint of our own (HASH160 of the x-only
 * key, empty path), is signed, and only the resulting TAP_KEY_SIGs are
 * copied into the caller's PSBT: it comes back with the signatures and
 * nothing we made up. */
#include "server_int.h"

#include <kashguard/chain.h>
#include <kashguard/mpc.h>

#include <stdlib.h>
#include <string.h>

#define RPC_TIMEOUT_MS 15000
#define FEE_TARGET_BLOCKS 6
#define MIN_FEE_RATE_KVB 1000u       /* 1 sat/vB: the default min relay fee */
#define MAX_FEE_RATE_KVB 1000000u    /* 1000 sat/vB: above that it is a typo */

typedef enum { CHAIN_BITCOIN, CHAIN_SOLANA } mpc_chain;

/* An MPC key opened as a wallet of one chain. */
typedef struct {
    kg_mpc_key *k;
    kg_signer *sg;
    kg_key_ref ref;             /* taproot for bitcoin */
    uint8_t pub[32];            /* x-only internal key (bitcoin) or the Ed25519 key (solana) */
    kg_chain_btc_spk spk;       /* bitcoin: the P2TR scriptPubKey */
} mpc_wallet;

static kg_err chain_parse(mpc_chain *c, const char *name)
{
    if (strcmp(name, "bitcoin") == 0 || strcmp(name, "btc") == 0)
        *c = CHAIN_BITCOIN;
    else if (strcmp(name, "solana") == 0 || strcmp(name, "sol") == 0)
        *c = CHAIN_SOLANA;
    else
        return kg_err_set(KG_ERR_BAD_INPUT, "chain '%.64s' has no MPC wallet: use bitcoin (frost-secp256k1-tr "
                          "keys) or solana (frost-ed25519 keys)", name);
    return KG_OK;
}

/* The key's scheme must be the one the chain signs with. */
static kg_err scheme_check(const kg_mpc_key *k, mpc_chain c)
{
    if (c == CHAIN_BITCOIN && !k->taproot)
        return kg_err_set(KG_ERR_BAD_INPUT, "MPC key %s is %s: Bitcoin needs a frost-secp256k1-tr key (BIP340 "
                          "signatures, P2TR addresses)%s", k->key_id, kg_mpc_key_scheme(k),
                          k->g == KG_MPC_GROUP_ED25519 ? "; this key has a Solana address" : "");
    if (c == CHAIN_SOLANA && k->g != KG_MPC_GROUP_ED25519)
        return kg_err_set(KG_ERR_BAD_INPUT, "MPC key %s is %s: Solana needs a frost-ed25519 key%s", k->key_id,
                          kg_mpc_key_scheme(k), k->taproot ? "; this key has a Bitcoin (P2TR) address" : "");
    return KG_OK;
}

static void wallet_close(mpc_wallet *w)
{
    kg_signer_close(w->sg);
    free(w->k);
    memset(w, 0, sizeof *w);
}

/* Authorize action, load the key, check its scheme, make the signer and
 * read the public key (and, for bitcoin, the P2TR script, checked against
 * the signer's tweaked output key). A server that is no MPC coordinator
 * gets its 503 document in *out and *answered: the handler returns KG_OK. */
static kg_err wallet_open(mpc_wallet *w, bool *answered, kg_req *r, const char *action, mpc_chain c, json_t **out)
{
    kg_pubkey pk;
    memset(w, 0, sizeof *w);
    *answered = false;
    kg_err e = kg_server_mpc_authorize_key(r, action);
    if (e == KG_OK && r->srv->mpc == NULL) {
        *answered = true;
        return kg_server_mpc_unavailable(r, out);
    }
    w->k = e == KG_OK ? calloc(1, sizeof *w->k) : NULL;
    if (e == KG_OK && w->k == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_server_mpc_key_load(r->srv, w->k, r->target.param);
    if (e == KG_OK)
        e = scheme_check(w->k, c);
    if (e == KG_OK)
        e = kg_mpc_coordinator_signer_new(&w->sg, r->srv->mpc->co, w->k);
    w->ref.key = w->k ? w->k->key_id : NULL;
    if (e == KG_OK)
        e = kg_signer_public_key(w->sg, &pk, &w->ref, c == CHAIN_BITCOIN ? KG_SIG_BIP340 : KG_SIG_ED25519);
    if (e == KG_OK && pk.len != 32)
        e = kg_err_set(KG_ERR_CRYPTO, "MPC key %s: unexpected public key length %zu", w->k->key_id, pk.len);
    if (e == KG_OK)
        memcpy(w->pub, pk.data, 32);
    if (e == KG_OK && c == CHAIN_BITCOIN) {
        w->ref.taproot = true;
        e = kg_chain_btc_spk_for_key(&w->spk, KG_CHAIN_BTC_P2TR, w->pub, 32, NULL);
        if (e == KG_OK)
            e = kg_signer_public_key(w->sg, &pk, &w->ref, KG_SIG_BIP340);
        if (e == KG_OK && (w->spk.len != 34 || pk.len != 32 || memcmp(w->spk.data + 2, pk.data, 32) != 0))
            e = kg_err_set(KG_ERR_CRYPTO, "MPC key %s: the P2TR output key differs from the signer's tweaked "
                           "key; nothing was signed", w->k->key_id);
    }
    if (e != KG_OK)
        wallet_close(w);
    return e;
}

/* The wallet's address text on net (bitcoin) or Base58 (solana). */
static kg_err wallet_address(char *out, size_t cap, const mpc_wallet *w, mpc_chain c, kg_chain_btc_network net)
{
    if (c == CHAIN_SOLANA)
        return kg_chain_sol_address(out, cap, w->pub);
    return kg_chain_btc_address_encode(out, cap, net, w->spk.data, w->spk.len);
}

/* "network" of a body (default mainnet). */
static kg_err body_network(kg_chain_btc_network *net, const json_t *body)
{
    const char *name = NULL;
    *net = KG_CHAIN_BTC_MAINNET;
    kg_err e = kg_json_get_str(&name, body, "network", false);
    if (e == KG_OK && name != NULL)
        e = kg_chain_btc_network_parse(net, name);
    return e;
}

/* ------------------------------------------------------------- address */

kg_err kg_h_mpc_address(kg_req *r, json_t **out)
{
    static const char *const no_fields[] = { NULL };
    char chain[80], net_name[80], addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES];
    kg_chain_btc_network net = KG_CHAIN_BTC_MAINNET;
    mpc_chain c = CHAIN_BITCOIN;
    mpc_wallet w;
    bool answered = false;
    if (kg_server_mpc_key_is_ecdsa(r)) /* CGGMP21 keys: handlers_mpc_ecdsa_wallet.c */
        return kg_h_mpc_ecdsa_address(r, out);
    bool has_net = kg_server_query_value(net_name, sizeof net_name, r->uri, "network");
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK && !kg_server_query_value(chain, sizeof chain, r->uri, "chain"))
        e = kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'chain' is required: bitcoin or solana");
    if (e == KG_OK)
        e = chain_parse(&c, chain);
    if (e == KG_OK && has_net && c != CHAIN_BITCOIN)
        e = kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'network' applies to chain=bitcoin only");
    if (e == KG_OK && has_net)
        e = kg_chain_btc_network_parse(&net, net_name);
    if (e != KG_OK || (e = wallet_open(&w, &answered, r, "get-public-key", c, out)) != KG_OK || answered)
        return e;
    e = wallet_address(addr, sizeof addr, &w, c, net);
    if (e == KG_OK) {
        *out = json_pack("{s:s,s:s,s:s,s:s}", "key_id", w.k->key_id, "scheme", kg_mpc_key_scheme(w.k), "chain",
                         c == CHAIN_BITCOIN ? "bitcoin" : "solana", "address", addr);
        if (*out != NULL && c == CHAIN_BITCOIN) {
            json_object_set_new(*out, "network", json_string(kg_chain_btc_network_params(net)->name));
            json_object_set_new(*out, "type", json_string("p2tr"));
            json_object_set_new(*out, "internal_key", kg_json_0x(w.pub, 32));
        }
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    wallet_close(&w);
    return e;
}

/* ---------------------------------------------------------------- PSBT */

/* Our fingerprint for the work copy: HASH160(x-only key)[0..4]. */
static void key_fingerprint(uint8_t fp[4], const uint8_t x[32])
{
    uint8_t h[20];
    kg_crypto_hash160(h, x, 32);
    memcpy(fp, h, 4);
}

/* Is input i the key's (its witness UTXO pays our P2TR script)? Refuses
 * an input of ours that names another internal key or a script tree:
 * BIP86 says neither can be. */
static kg_err input_ours(bool *ours, const kg_chain_psbt *p, size_t i, const mpc_wallet *w)
{
    const uint8_t *spk = NULL;
    size_t len = 0;
    *ours = kg_psbt_witness_spk(&spk, &len, p, i) && len == w->spk.len && memcmp(spk, w->spk.data, len) == 0;
    if (!*ours)
        return KG_OK;
    const kg_chain_psbt_kv *ik = kg_chain_psbt_map_find(&p->in[i], KG_PSBT_IN_TAP_INTERNAL_KEY);
    if (ik != NULL && (ik->val_len != 32 || memcmp(ik->val, w->pub, 32) != 0))
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu pays MPC key %s's address but names another taproot "
                          "internal key; nothing was signed", i, w->k->key_id);
    if (kg_chain_psbt_map_find(&p->in[i], KG_PSBT_IN_TAP_MERKLE_ROOT) != NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "PSBT input %zu pays MPC key %s's BIP86 (key-path only) address but "
                          "has a taproot merkle root; nothing was signed", i, w->k->key_id);
    return KG_OK;
}

/* Sign the key's inputs of p through a work copy q parsed from the same
 * text; copy the TAP_KEY_SIGs into p. */
static kg_err psbt_sign_mpc(kg_chain_psbt *p, kg_chain_psbt *q, size_t *n_signed, const mpc_wallet *w,
                            kg_chain_btc_network net)
{
    char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES] = "?";
    uint8_t fp[4];
    size_t mine = 0;
    bool *ours = calloc(p->n_in ? p->n_in : 1, sizeof *ours);
    kg_err e = ours ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    key_fingerprint(fp, w->pub);
    *n_signed = 0;
    for (size_t i = 0; e == KG_OK && i < p->n_in; i++) {
        e = input_ours(&ours[i], p, i, w);
        if (e == KG_OK && ours[i]) {
            mine++;
            e = kg_chain_psbt_set_tap_internal_key(q, false, i, w->pub);
            kg_chain_psbt_map_remove_type(&q->in[i], KG_PSBT_IN_TAP_BIP32_DERIVATION);
            if (e == KG_OK)
                e = kg_chain_psbt_add_tap_bip32(q, false, i, w->pub, fp, NULL, 0);
        }
    }
    if (e == KG_OK && mine == 0 && wallet_address(addr, sizeof addr, w, CHAIN_BITCOIN, net) != KG_OK)
        snprintf(addr, sizeof addr, "?");
    if (e == KG_OK && mine == 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "no input of the PSBT spends from MPC key %s: an input is signed when "
                       "its witness UTXO pays the key's P2TR (BIP86) script, %s on %s", w->k->key_id, addr,
                       kg_chain_btc_network_params(net)->name);
    if (e == KG_OK) {
        e = kg_chain_psbt_sign(q, n_signed, w->sg, w->k->key_id, fp);
        if (e == KG_ERR_NOT_FOUND && *n_signed == 0)
            e = kg_err_set(KG_ERR_BAD_INPUT, "every input of MPC key %s in the PSBT is already signed", w->k->key_id);
    }
    for (size_t i = 0; e == KG_OK && i < p->n_in; i++) {
        const kg_chain_psbt_kv *sig = ours[i] ? kg_chain_psbt_map_find(&q->in[i], KG_PSBT_IN_TAP_KEY_SIG) : NULL;
        if (sig != NULL)
            e = kg_chain_psbt_map_put(p, &p->in[i], sig->key, sig->key_len, sig->val, sig->val_len);
    }
    free(ours);
    return e;
}

kg_err kg_server_psbt_finish(kg_chain_psbt *p, char **hex, char txid[65])
{
    size_t len = 0;
    uint8_t *raw = NULL, id[32];
    kg_chain_btc_tx tx;
    memset(&tx, 0, sizeof tx);
    kg_err e = kg_chain_psbt_finalize(p);
    if (e == KG_OK)
        e = kg_chain_psbt_extract(NULL, 0, &len, p);
    raw = e == KG_OK ? malloc(len ? len : 1) : NULL;
    *hex = e == KG_OK ? malloc(2 * len + 1) : NULL;
    if (e == KG_OK && (raw == NULL || *hex == NULL))
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_chain_psbt_extract(raw, len, &len, p);
    if (e == KG_OK)
        e = kg_chain_btc_tx_alloc(&tx, p->n_in, p->n_out, len / 2 + 1, 0);
    if (e == KG_OK)
        e = kg_chain_btc_tx_parse(&tx, raw, len);
    if (e == KG_OK) {
        kg_hex_encode(*hex, raw, len);
        kg_chain_btc_tx_txid(id, &tx);
        kg_chain_btc_txid_hex(txid, id);
    } else {
        free(*hex);
        *hex = NULL;
    }
    kg_chain_btc_tx_free(&tx);
    free(raw);
    return e;
}

kg_err kg_h_mpc_psbt(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "psbt", "network", "finalize", NULL };
    const char *b64 = NULL;
    bool finalize = false;
    kg_chain_btc_network net = KG_CHAIN_BTC_MAINNET;
    kg_chain_psbt p, q;
    char *signed_b64 = NULL, *hex = NULL, txid[65] = "";
    size_t n_signed = 0;
    bool answered = false;
    mpc_wallet w;
    memset(&p, 0, sizeof p);
    memset(&q, 0, sizeof q);
    if (kg_server_mpc_key_is_ecdsa(r)) /* CGGMP21 keys: P2WPKH (handlers_mpc_ecdsa_wallet.c) */
        return kg_h_mpc_ecdsa_psbt(r, out);
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&b64, r->json, "psbt", true);
    if (e == KG_OK)
        e = body_network(&net, r->json);
    if (e == KG_OK)
        e = kg_json_get_bool(&finalize, r->json, "finalize", false);
    if (e == KG_OK)
        e = kg_chain_psbt_alloc(&p, 4 * strlen(b64) + 256 * 1024);
    if (e == KG_OK)
        e = kg_chain_psbt_alloc(&q, 4 * strlen(b64) + 256 * 1024);
    if (e == KG_OK)
        e = kg_chain_psbt_parse_base64(&p, b64);
    if (e == KG_OK)
        e = kg_chain_psbt_parse_base64(&q, b64);
    if (e == KG_OK && (e = wallet_open(&w, &answered, r, "sign", CHAIN_BITCOIN, out)) == KG_OK && answered)
        goto done;
    if (e == KG_OK) {
        e = psbt_sign_mpc(&p, &q, &n_signed, &w, net);
        wallet_close(&w);
    }
    if (e == KG_OK)
        e = kg_chain_psbt_to_base64(&signed_b64, &p);
    if (e == KG_OK && finalize)
        e = kg_server_psbt_finish(&p, &hex, txid);
    if (e == KG_OK) {
        *out = json_pack("{s:s,s:s,s:I,s:s?,s:s?}", "key_id", r->target.param, "psbt", signed_b64, "signed_inputs",
                         (json_int_t)n_signed, "tx", hex, "txid", hex ? txid : NULL);
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
done:
    free(signed_b64);
    free(hex);
    kg_chain_psbt_free(&p);
    kg_chain_psbt_free(&q);
    return e;
}

/* -------------------------------------------------------- bitcoin/send */

/* "to" (an address of net, not dust) and "amount_sat" as the payment. */
static kg_err btc_payment(kg_chain_btc_txout *pay, kg_chain_btc_spk *to_spk, const json_t *body,
                          kg_chain_btc_network net)
{
    const char *to = NULL;
    int64_t amount = 0;
    kg_chain_btc_script_type type = KG_CHAIN_BTC_UNKNOWN;
    kg_err e = kg_json_get_str(&to, body, "to", true);
    kg_err de = e == KG_OK ? kg_chain_btc_address_decode(to_spk, &type, net, to) : KG_OK;
    if (de != KG_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", kg_err_detail(de));
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'to' is not a %s address: %s", kg_chain_btc_network_params(net)->name,
                       why);
    }
    if (e == KG_OK)
        e = kg_json_get_int(&amount, body, "amount_sat", true);
    if (e == KG_OK && (amount <= 0 || (uint64_t)amount > KG_CHAIN_BTC_MAX_MONEY))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'amount_sat' must be 1..2100000000000000 satoshis");
    bool segwit = type == KG_CHAIN_BTC_P2WPKH || type == KG_CHAIN_BTC_P2WSH || type == KG_CHAIN_BTC_P2TR ||
                  type == KG_CHAIN_BTC_WITNESS_UNKNOWN;
    uint64_t dust = e == KG_OK ? kg_chain_btc_dust_limit(to_spk->len, segwit) : 0;
    if (e == KG_OK && (uint64_t)amount < dust)
        e = kg_err_set(KG_ERR_BAD_INPUT, "amount_sat %lld is below the dust limit of that address (%llu sat); "
                       "nodes do not relay it", (long long)amount, (unsigned long long)dust);
    pay->value = e == KG_OK ? (uint64_t)amount : 0;
    pay->script.data = to_spk->data;
    pay->script.len = to_spk->len;
    return e;
}

/* "fee_rate" in sat/vB (a number), else the node's estimate; clamped. */
static kg_err btc_fee_rate(uint64_t *kvb, const json_t *body, kg_chain_btc_esplora *api)
{
    const json_t *v = json_object_get(body, "fee_rate");
    *kvb = 0;
    if (v != NULL && !json_is_null(v)) {
        double d = json_is_number(v) ? json_number_value(v) : -1;
        if (d < 1.0 || d > MAX_FEE_RATE_KVB / 1000.0)
            return kg_err_set(KG_ERR_BAD_INPUT, "field 'fee_rate' must be a number of sat/vB from 1 to %u",
                              MAX_FEE_RATE_KVB / 1000);
        *kvb = (uint64_t)(d * 1000.0 + 0.5);
        return KG_OK;
    }
    kg_err e = kg_chain_btc_esplora_fee_rate(api, kvb, FEE_TARGET_BLOCKS);
    if (e == KG_OK)
        *kvb = *kvb < MIN_FEE_RATE_KVB ? MIN_FEE_RATE_KVB : *kvb > MAX_FEE_RATE_KVB ? MAX_FEE_RATE_KVB : *kvb;
    return e;
}

/* The key's coins as P2TR candidates (*u malloc'd). */
static kg_err btc_coins(kg_chain_btc_utxo **u, size_t *n, kg_chain_btc_esplora *api, const char *addr)
{
    kg_chain_btc_esplora_utxo *got = NULL;
    *u = NULL;
    kg_err e = kg_chain_btc_esplora_utxos(api, &got, n, addr);
    if (e == KG_OK && *n == 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "insufficient funds: address %s has no coins", addr);
    if (e == KG_OK && (*u = calloc(*n, sizeof **u)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; e == KG_OK && i < *n; i++) {
        memcpy((*u)[i].txid, got[i].txid, 32);
        (*u)[i].vout = got[i].vout;
        (*u)[i].value = got[i].value;
        (*u)[i].type = KG_CHAIN_BTC_P2TR;
    }
    free(got);
    return e;
}

/* Build the transaction of sel and sign every input (all the key's). */
static kg_err btc_build_sign(kg_chain_btc_tx *tx, const kg_chain_btc_coin_selection *sel,
                             const kg_chain_btc_coin_select_params *p, mpc_wallet *w)
{
    size_t n = sel->selected_count;
    kg_chain_btc_sign_input *ins = calloc(n ? n : 1, sizeof *ins);
    kg_err e = ins ? kg_chain_btc_tx_alloc(tx, n, p->output_count + 1, n * KG_CHAIN_BTC_SIGN_ITEMS_PER_INPUT,
                                           n * KG_CHAIN_BTC_SIGN_ARENA_PER_INPUT)
                   : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_chain_btc_tx_from_selection(tx, sel, p, true);
    for (size_t k = 0; e == KG_OK && k < n; k++) {
        ins[k].type = KG_CHAIN_BTC_P2TR;
        ins[k].key = &w->ref;
        ins[k].spent.value = p->utxos[sel->selected[k]].value;
        ins[k].spent.script.data = w->spk.data;
        ins[k].spent.script.len = w->spk.len;
    }
    if (e == KG_OK)
        e = kg_chain_btc_tx_sign(tx, w->sg, ins, n);
    free(ins);
    return e;
}

/* Serialize, POST /tx, check the node's txid is ours. */
static kg_err btc_broadcast(kg_chain_btc_esplora *api, const kg_chain_btc_tx *tx, uint8_t txid[32])
{
    size_t cap = kg_chain_btc_tx_size(tx, true), len = 0;
    uint8_t *raw = malloc(cap ? cap : 1), node_txid[32];
    kg_err e = raw ? kg_chain_btc_tx_serialize(raw, cap, &len, tx, true) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_chain_btc_tx_txid(txid, tx);
    if (e == KG_OK)
        e = kg_chain_btc_esplora_broadcast(api, node_txid, raw, len);
    free(raw);
    if (e == KG_OK && memcmp(node_txid, txid, 32) != 0)
        e = kg_err_set(KG_ERR_NETWORK, "the Esplora node answered another txid than the transaction's");
    return e;
}

/* Everything after the wallet is open: coins, selection, sign, broadcast. */
static kg_err btc_send(json_t **out, mpc_wallet *w, const json_t *body, kg_chain_btc_network net)
{
    const char *url = NULL;
    char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES], hex[65];
    kg_chain_btc_txout pay;
    kg_chain_btc_spk to;
    kg_chain_btc_esplora *api = NULL;
    kg_chain_btc_utxo *coins = NULL;
    kg_chain_btc_coin_selection sel;
    kg_chain_btc_tx tx;
    uint64_t rate = 0;
    uint8_t txid[32];
    size_t n = 0;
    memset(&sel, 0, sizeof sel);
    memset(&tx, 0, sizeof tx);
    kg_err e = btc_payment(&pay, &to, body, net);
    if (e == KG_OK)
        e = kg_json_get_str(&url, body, "esplora", true);
    if (e == KG_OK)
        e = wallet_address(addr, sizeof addr, w, CHAIN_BITCOIN, net);
    if (e == KG_OK)
        e = kg_chain_btc_esplora_new(&api, url, RPC_TIMEOUT_MS);
    if (e == KG_OK)
        e = btc_fee_rate(&rate, body, api);
    if (e == KG_OK)
        e = btc_coins(&coins, &n, api, addr);
    kg_chain_btc_coin_select_params p = { coins, n, &pay, 1, rate, w->spk.data, w->spk.len };
    if (e == KG_OK && (sel.selected = calloc(n, sizeof *sel.selected)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_chain_btc_coin_select(&sel, &p);
    if (e == KG_OK)
        e = btc_build_sign(&tx, &sel, &p, w);
    if (e == KG_OK)
        e = btc_broadcast(api, &tx, txid);
    if (e == KG_OK) {
        kg_chain_btc_txid_hex(hex, txid);
        *out = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:f}", "key_id", w->k->key_id, "txid", hex, "from", addr,
                         "network", kg_chain_btc_network_params(net)->name, "amount_sat", (json_int_t)pay.value,
                         "fee_sat", (json_int_t)sel.fee, "change_sat", (json_int_t)sel.change, "inputs",
                         (json_int_t)tx.input_count, "fee_rate", (double)rate / 1000.0);
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_chain_btc_tx_free(&tx);
    free(sel.selected);
    free(coins);
    kg_chain_btc_esplora_free(api);
    return e;
}

kg_err kg_h_mpc_btc_send(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "to", "amount_sat", "fee_rate", "esplora", "network", NULL };
    kg_chain_btc_network net = KG_CHAIN_BTC_MAINNET;
    bool answered = false;
    mpc_wallet w;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = body_network(&net, r->json);
    if (e == KG_OK)
        e = kg_server_chain_url_check(r->srv, json_string_value(json_object_get(r->json, "esplora")));
    if (e != KG_OK || (e = wallet_open(&w, &answered, r, "sign", CHAIN_BITCOIN, out)) != KG_OK || answered)
        return e;
    e = btc_send(out, &w, r->json, net);
    wallet_close(&w);
    return e;
}

/* ----------------------------------------------------- solana/transfer */

static kg_err sol_send(json_t **out, mpc_wallet *w, const json_t *body)
{
    const char *to = NULL, *url = NULL;
    int64_t lamports = 0;
    bool wait = true;
    kg_chain_sol_transfer t;
    kg_chain_sol_rpc *rpc = NULL;
    uint8_t tx[KG_CHAIN_SOL_TX_MAX_BYTES], sig[64], node_sig[64];
    char from[KG_CHAIN_SOL_ADDRESS_MAX_BYTES], sig58[KG_CHAIN_BASE58_MAX_LEN(64) + 1];
    size_t len = 0;
    memset(&t, 0, sizeof t);
    kg_err e = kg_json_get_str(&to, body, "to", true);
    if (e == KG_OK && kg_chain_sol_address_decode(t.to, to) != KG_OK)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'to' is not a Solana address (Base58 of 32 bytes)");
    if (e == KG_OK)
        e = kg_json_get_int(&lamports, body, "lamports", true);
    if (e == KG_OK && lamports <= 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'lamports' must be above 0");
    if (e == KG_OK)
        e = kg_json_get_str(&url, body, "rpc", true);
    if (e == KG_OK)
        e = kg_json_get_bool(&wait, body, "wait", false);
    if (e == KG_OK && json_object_get(body, "wait") == NULL)
        wait = true;
    t.lamports = (uint64_t)lamports;
    memcpy(t.from, w->pub, 32);
    if (e == KG_OK)
        e = kg_chain_sol_rpc_new(&rpc, url, RPC_TIMEOUT_MS);
    if (e == KG_OK)
        e = kg_chain_sol_rpc_latest_blockhash(rpc, t.recent_blockhash, NULL);
    if (e == KG_OK)
        e = kg_chain_sol_transfer_sign(tx, sizeof tx, &len, sig, w->sg, &w->ref, &t);
    if (e == KG_OK)
        e = kg_chain_sol_address(from, sizeof from, t.from);
    if (e == KG_OK)
        e = kg_chain_base58_encode(sig58, sizeof sig58, sig, 64);
    if (e == KG_OK)
        e = kg_chain_sol_rpc_send_tx(rpc, node_sig, tx, len);
    if (e == KG_OK && memcmp(node_sig, sig, 64) != 0)
        e = kg_err_set(KG_ERR_NETWORK, "the Solana node reports another signature for transaction %s", sig58);
    if (e == KG_OK && wait)
        e = kg_chain_sol_rpc_wait_confirmed(rpc, sig, 300, 30000);
    if (e == KG_OK) {
        *out = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "key_id", w->k->key_id, "signature", sig58, "from", from,
                         "to", to, "lamports", (json_int_t)t.lamports, "status", wait ? "confirmed" : "pending");
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_chain_sol_rpc_free(rpc);
    return e;
}

kg_err kg_h_mpc_sol_transfer(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "to", "lamports", "rpc", "wait", NULL };
    bool answered = false;
    mpc_wallet w;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_server_chain_url_check(r->srv, json_string_value(json_object_get(r->json, "rpc")));
    if (e != KG_OK || (e = wallet_open(&w, &answered, r, "sign", CHAIN_SOLANA, out)) != KG_OK || answered)
        return e;
    e = sol_send(out, &w, r->json);
    wallet_close(&w);
    return e;
}
