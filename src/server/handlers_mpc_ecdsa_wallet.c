/* Wallets on threshold ECDSA (CGGMP21) MPC keys: Ethereum and Bitcoin
 * P2WPKH under a t-of-n key whose shares live on the MPC nodes. The server
 * signs through the networked ECDSA signer
 * (kg_mpc_coordinator_ecdsa_signer_new: one CGGMP21 signature per digest,
 * from a stored presignature when there is one) and the chain layer does
 * the rest, as for a local key; the FROST wallet routes
 * (handlers_mpc_wallet.c) hand ECDSA keys over to these handlers.
 *
 *   GET  /v1/mpc/keys/{id}/address?chain=eth|bitcoin&network=N&path=m/0/1
 *        eth: EIP-55 address of the (child) key (cggmp21-secp256k1);
 *        bitcoin: P2WPKH (BIP141) of the compressed (child) key.
 *   POST /v1/mpc/keys/{id}/evm/send {"to","value_wei","rpc","path"?,
 *        "gas_limit"?,"max_fee_per_gas"?,"max_priority_fee_per_gas"?,
 *        "wait"?} an EIP-1559 transfer: chain id, nonce, fees and gas from
 *        the node (fees: 2 x next base fee + priority, priority 1 gwei),
 *        signed (kg_chain_eth_tx_sign), sent, receipt awaited.
 *   POST /v1/mpc/keys/{id}/psbt {"psbt","network"?,"finalize"?,"path"?}
 *        signs (BIP143, the input's sighash type or ALL) every input whose
 *        witness UTXO pays P2WPKH of the key at path.
 *
 * Paths are non-hardened BIP32 paths below the group key (its chain code is
 * agreed at keygen): a hardened child needs the private key, which no node
 * has. Policy: address needs "get-public-key", the others "sign".
 *
 * PSBT: kg_chain_psbt_sign finds keys by BIP32 derivation. A work copy gets,
 * for each of the key's inputs, a derivation of the child key with the
 * group key's fingerprint (HASH160(pub)[0..4]) and the path, and is signed;
 * only the PARTIAL_SIGs are copied back into the caller's PSBT. */
#include "server_int.h"

#include <kashguard/chain.h>
#include <kashguard/mpc.h>
#include <kashguard/mpc/cggmp.h>

#include <stdlib.h>
#include <string.h>

#define RPC_TIMEOUT_MS 15000
#define RECEIPT_POLL_MS 250
#define RECEIPT_WAIT_MS 60000
#define GWEI 1000000000ull

typedef struct {
    kg_mpc_key *k;
    kg_signer *sg;
    kg_key_ref ref;
    const char *path;
    uint8_t pub[33];          /* the (child) key */
    uint8_t fp[4];            /* HASH160(group key)[0..4] */
} ecdsa_wallet;

static void wallet_close(ecdsa_wallet *w)
{
    kg_signer_close(w->sg);
    free(w->k);
    memset(w, 0, sizeof *w);
}

/* Authorize, load the key (ECDSA on secp256k1: every chain here is), make
 * the signer, derive the child and check the signer agrees. *answered: the
 * 503 of a server without MPC is in *out. */
static kg_err wallet_open(ecdsa_wallet *w, bool *answered, kg_req *r, const char *action, const char *path,
                          json_t **out)
{
    kg_pubkey pk;
    uint8_t gpub[33], h[20];
    uint32_t idx[KG_PATH_MAX];
    size_t depth = 0;
    memset(w, 0, sizeof *w);
    *answered = false;
    kg_err e = kg_server_mpc_path_check(path);
    if (e == KG_OK && path != NULL)
        e = kg_mpc_cggmp_hd_path_parse(path, idx, &depth, KG_PATH_MAX);
    if (e == KG_OK)
        e = kg_server_mpc_authorize_key(r, action);
    if (e == KG_OK && r->srv->mpc == NULL) {
        *answered = true;
        return kg_server_mpc_unavailable(r, out);
    }
    w->k = e == KG_OK ? calloc(1, sizeof *w->k) : NULL;
    if (e == KG_OK && w->k == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_server_mpc_key_load(r->srv, w->k, r->target.param);
    if (e == KG_OK && (!w->k->ecdsa || w->k->g != KG_MPC_GROUP_SECP256K1))
        e = kg_err_set(KG_ERR_BAD_INPUT, "MPC key %s is %s: Ethereum and Bitcoin P2WPKH need a cggmp21-secp256k1 "
                       "key", w->k->key_id, kg_mpc_key_scheme(w->k));
    if (e == KG_OK)
        e = kg_mpc_coordinator_ecdsa_signer_new(&w->sg, r->srv->mpc->co, w->k);
    w->ref.key = w->k ? w->k->key_id : NULL;
    memcpy(w->ref.path, idx, depth * sizeof *idx);
    w->ref.path_len = depth;
    w->path = path ? path : "m";
    if (e == KG_OK)
        e = kg_server_mpc_child_pub(w->pub, w->k, path);
    if (e == KG_OK)
        e = kg_signer_public_key(w->sg, &pk, &w->ref, KG_SIG_ECDSA_SECP256K1);
    if (e == KG_OK && (pk.len != 33 || memcmp(pk.data, w->pub, 33) != 0))
        e = kg_err_set(KG_ERR_CRYPTO, "MPC key %s: the signer derives another key at %s", w->k->key_id, w->path);
    if (e == KG_OK)
        e = kg_mpc_point_serialize(w->k->g, gpub, &w->k->group_public);
    if (e == KG_OK) {
        kg_crypto_hash160(h, gpub, 33);
        memcpy(w->fp, h, 4);
    }
    if (e != KG_OK)
        wallet_close(w);
    return e;
}

/* ------------------------------------------------------------- address */

static bool is_eth(const char *c)
{
    return strcmp(c, "eth") == 0 || strcmp(c, "ethereum") == 0 || strcmp(c, "evm") == 0;
}

static bool is_btc(const char *c)
{
    return strcmp(c, "bitcoin") == 0 || strcmp(c, "btc") == 0;
}

static kg_err address_doc(json_t **out, const ecdsa_wallet *w, bool eth, kg_chain_btc_network net)
{
    char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES + KG_CHAIN_ETH_ADDR_STR_BYTES];
    uint8_t a20[20];
    kg_err e = KG_OK;
    if (eth) {
        e = kg_chain_eth_addr_from_pubkey(a20, w->pub, 33);
        if (e == KG_OK)
            kg_chain_eth_addr_to_str(addr, a20);
    } else {
        e = kg_chain_btc_address_from_key(addr, sizeof addr, net, KG_CHAIN_BTC_P2WPKH, w->pub, 33, NULL);
    }
    if (e != KG_OK)
        return e;
    *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "key_id", w->k->key_id, "scheme", kg_mpc_key_scheme(w->k), "chain",
                     eth ? "eth" : "bitcoin", "address", addr, "path", w->path, "public_key", kg_json_0x(w->pub, 33));
    if (*out != NULL && !eth) {
        json_object_set_new(*out, "network", json_string(kg_chain_btc_network_params(net)->name));
        json_object_set_new(*out, "type", json_string("p2wpkh"));
    }
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_h_mpc_ecdsa_address(kg_req *r, json_t **out)
{
    static const char *const no_fields[] = { NULL };
    char chain[80], net_name[80], path[256];
    kg_chain_btc_network net = KG_CHAIN_BTC_MAINNET;
    ecdsa_wallet w;
    bool answered = false;
    bool has_net = kg_server_query_value(net_name, sizeof net_name, r->uri, "network");
    bool has_path = kg_server_query_value(path, sizeof path, r->uri, "path");
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK && !kg_server_query_value(chain, sizeof chain, r->uri, "chain"))
        e = kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'chain' is required: eth or bitcoin");
    if (e == KG_OK && !is_eth(chain) && !is_btc(chain))
        e = kg_err_set(KG_ERR_BAD_INPUT, "chain '%.64s' has no address for a threshold ECDSA key: use eth or "
                       "bitcoin (P2WPKH)", chain);
    if (e == KG_OK && has_net && !is_btc(chain))
        e = kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'network' applies to chain=bitcoin only");
    if (e == KG_OK && has_net)
        e = kg_chain_btc_network_parse(&net, net_name);
    if (e != KG_OK ||
        (e = wallet_open(&w, &answered, r, "get-public-key", has_path ? path : NULL, out)) != KG_OK || answered)
        return e;
    e = address_doc(out, &w, is_eth(chain), net);
    wallet_close(&w);
    return e;
}

/* ------------------------------------------------------------ evm/send */

/* A wei amount: a decimal string or a non-negative JSON integer. */
static kg_err wei_field(uint8_t out[32], bool *given, const json_t *body, const char *field)
{
    const json_t *v = json_object_get(body, field);
    char buf[32];
    memset(out, 0, 32);
    *given = v != NULL && !json_is_null(v);
    if (!*given)
        return KG_OK;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return kg_chain_eth_u256_from_dec(out, buf);
    }
    if (!json_is_string(v) || kg_chain_eth_u256_from_dec(out, json_string_value(v)) != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%s' must be an amount of wei as a decimal string", field);
    return KG_OK;
}

/* The EIP-1559 fee fields: given, else 2 x next base fee + 1 gwei priority. */
static kg_err evm_fees(kg_chain_eth_tx *tx, const json_t *body, kg_chain_eth_rpc *rpc)
{
    bool has_max = false, has_prio = false;
    uint64_t base = 0, prio = GWEI, max = 0;
    kg_err e = wei_field(tx->max_fee, &has_max, body, "max_fee_per_gas");
    if (e == KG_OK)
        e = wei_field(tx->max_priority_fee, &has_prio, body, "max_priority_fee_per_gas");
    if (e == KG_OK && has_prio && kg_chain_eth_u256_to_u64(&prio, tx->max_priority_fee) != KG_OK)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'max_priority_fee_per_gas' is absurdly large");
    if (e == KG_OK && has_max && kg_chain_eth_u256_to_u64(&max, tx->max_fee) != KG_OK)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'max_fee_per_gas' is absurdly large");
    if (e == KG_OK && !has_max) {
        kg_chain_eth_fee_history fh;
        e = kg_chain_eth_rpc_fee_history(rpc, &fh, 4, 50);
        if (e == KG_OK)
            e = kg_chain_eth_u256_to_u64(&base, fh.base_fee_next);
        if (e == KG_OK && base > (UINT64_MAX - prio) / 2)
            e = kg_err_set(KG_ERR_NETWORK, "the node's base fee is absurd");
        max = 2 * base + prio;
    }
    if (e == KG_OK && prio > max)
        e = kg_err_set(KG_ERR_BAD_INPUT, "the priority fee (%llu wei) is above the max fee (%llu wei)",
                       (unsigned long long)prio, (unsigned long long)max);
    if (e == KG_OK) {
        kg_chain_eth_u256_from_u64(tx->max_fee, max);
        kg_chain_eth_u256_from_u64(tx->max_priority_fee, prio);
    }
    return e;
}

/* Recipient, value and gas limit of the body (checked before any call). */
static kg_err evm_body(kg_chain_eth_tx *tx, const json_t *body)
{
    const char *to = NULL;
    bool given = false;
    int64_t gas = 0;
    kg_err e = kg_json_get_str(&to, body, "to", true);
    if (e == KG_OK && kg_chain_eth_addr_parse(tx->to, to) != KG_OK)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'to' is not an Ethereum address (0x + 40 hex digits, EIP-55 case)");
    tx->has_to = true;
    if (e == KG_OK)
        e = wei_field(tx->value, &given, body, "value_wei");
    if (e == KG_OK && !given)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'value_wei' is required (a decimal string of wei)");
    if (e == KG_OK)
        e = kg_json_get_int(&gas, body, "gas_limit", false);
    if (e == KG_OK && json_object_get(body, "gas_limit") != NULL && (gas < 21000 || gas > 30000000))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'gas_limit' must be 21000..30000000");
    tx->gas_limit = (uint64_t)gas;
    return e;
}

/* Chain id, nonce, fees, gas; sign; send; wait. */
static kg_err evm_send(json_t **out, kg_chain_eth_tx *tx, ecdsa_wallet *w, const json_t *body, kg_chain_eth_rpc *rpc,
                       bool wait)
{
    uint8_t from[20], hash[32], node_hash[32], *raw = NULL;
    char from_s[KG_CHAIN_ETH_ADDR_STR_BYTES], to_s[KG_CHAIN_ETH_ADDR_STR_BYTES], h[67], value[80], egp[80];
    kg_chain_eth_receipt rc;
    size_t len = 0;
    memset(&rc, 0, sizeof rc);
    kg_err e = kg_chain_eth_addr_from_pubkey(from, w->pub, 33);
    if (e == KG_OK)
        e = kg_chain_eth_rpc_chain_id(rpc, &tx->chain_id);
    if (e == KG_OK)
        e = kg_chain_eth_rpc_get_nonce(rpc, &tx->nonce, from);
    if (e == KG_OK)
        e = evm_fees(tx, body, rpc);
    if (e == KG_OK && tx->gas_limit == 0) {
        kg_chain_eth_call call = { .has_from = true, .has_to = true };
        memcpy(call.from, from, 20);
        memcpy(call.to, tx->to, 20);
        memcpy(call.value, tx->value, 32);
        e = kg_chain_eth_rpc_estimate_gas(rpc, &tx->gas_limit, &call);
    }
    if (e == KG_OK)
        e = kg_chain_eth_tx_sign(w->sg, tx, &w->ref);
    size_t cap = e == KG_OK ? kg_chain_eth_tx_encoded_len(tx) : 0;
    if (e == KG_OK && (raw = malloc(cap ? cap : 1)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_chain_eth_tx_encode(raw, cap, &len, tx);
    if (e == KG_OK)
        e = kg_chain_eth_tx_hash(hash, tx);
    if (e == KG_OK)
        e = kg_chain_eth_rpc_send_raw(rpc, node_hash, raw, len);
    if (e == KG_OK && memcmp(node_hash, hash, 32) != 0)
        e = kg_err_set(KG_ERR_NETWORK, "the node reports another transaction hash than the one signed");
    if (e == KG_OK && wait)
        e = kg_chain_eth_rpc_wait_receipt(rpc, &rc, hash, RECEIPT_POLL_MS, RECEIPT_WAIT_MS);
    if (e == KG_ERR_NOT_FOUND && wait)
        e = kg_err_set(KG_ERR_NETWORK, "the transaction was sent but not mined within %d s", RECEIPT_WAIT_MS / 1000);
    free(raw);
    if (e != KG_OK)
        return e;
    h[0] = '0', h[1] = 'x';
    kg_hex_encode(h + 2, hash, 32);
    kg_chain_eth_addr_to_str(from_s, from);
    kg_chain_eth_addr_to_str(to_s, tx->to);
    kg_chain_eth_u256_to_dec(value, tx->value);
    kg_chain_eth_u256_to_dec(egp, rc.effective_gas_price);
    *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "key_id", w->k->key_id, "tx_hash", h, "from", from_s,
                     "to", to_s, "value_wei", value, "path", w->path, "chain_id", (json_int_t)tx->chain_id, "nonce",
                     (json_int_t)tx->nonce, "gas_limit", (json_int_t)tx->gas_limit);
    if (*out != NULL && wait) {
        json_object_set_new(*out, "status", json_string(rc.success ? "success" : "reverted"));
        json_object_set_new(*out, "block_number", json_integer((json_int_t)rc.block_number));
        json_object_set_new(*out, "gas_used", json_integer((json_int_t)rc.gas_used));
        json_object_set_new(*out, "effective_gas_price", json_string(egp));
    } else if (*out != NULL) {
        json_object_set_new(*out, "status", json_string("pending"));
    }
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_h_mpc_evm_send(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "to", "value_wei", "rpc", "path", "gas_limit", "max_fee_per_gas",
                                          "max_priority_fee_per_gas", "wait", NULL };
    const char *url = NULL, *path = NULL;
    bool wait = true, answered = false;
    kg_chain_eth_tx tx;
    kg_chain_eth_rpc *rpc = NULL;
    ecdsa_wallet w;
    memset(&tx, 0, sizeof tx);
    tx.type = KG_CHAIN_ETH_TX_DYNAMIC_FEE;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = evm_body(&tx, r->json);
    if (e == KG_OK)
        e = kg_json_get_str(&url, r->json, "rpc", true);
    if (e == KG_OK)
        e = kg_json_get_str(&path, r->json, "path", false);
    if (e == KG_OK)
        e = kg_json_get_bool(&wait, r->json, "wait", false);
    if (e == KG_OK && json_object_get(r->json, "wait") == NULL)
        wait = true;
    if (e == KG_OK)
        e = kg_server_chain_url_check(r->srv, url);
    if (e != KG_OK || (e = wallet_open(&w, &answered, r, "sign", path, out)) != KG_OK || answered)
        return e;
    e = kg_chain_eth_rpc_new(&rpc, url, RPC_TIMEOUT_MS);
    if (e == KG_OK)
        e = evm_send(out, &tx, &w, r->json, rpc, wait);
    kg_server_mpc_note_culprit(r, e);
    kg_chain_eth_rpc_free(rpc);
    kg_chain_eth_tx_free(&tx);
    wallet_close(&w);
    return e;
}

/* ---------------------------------------------------------------- PSBT */

/* Add our derivation to the work copy q for every input paying spk. */
static kg_err psbt_mark(kg_chain_psbt *p, kg_chain_psbt *q, bool *ours, size_t *mine, const ecdsa_wallet *w,
                        const kg_chain_btc_spk *spk)
{
    kg_err e = KG_OK;
    *mine = 0;
    for (size_t i = 0; e == KG_OK && i < p->n_in; i++) {
        const uint8_t *s = NULL;
        size_t len = 0;
        ours[i] = kg_psbt_witness_spk(&s, &len, p, i) && len == spk->len && memcmp(s, spk->data, len) == 0;
        if (!ours[i])
            continue;
        (*mine)++;
        kg_chain_psbt_map_remove_type(&q->in[i], KG_PSBT_IN_BIP32_DERIVATION);
        e = kg_chain_psbt_add_bip32(q, false, i, w->pub, w->fp, w->ref.path, w->ref.path_len);
    }
    return e;
}

/* Sign the key's P2WPKH inputs of p through q; copy the PARTIAL_SIGs back. */
static kg_err psbt_sign_ecdsa(kg_chain_psbt *p, kg_chain_psbt *q, size_t *n_signed, const ecdsa_wallet *w,
                              kg_chain_btc_network net)
{
    char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES] = "?";
    kg_chain_btc_spk spk;
    size_t mine = 0;
    bool *ours = calloc(p->n_in ? p->n_in : 1, sizeof *ours);
    kg_err e = ours ? kg_chain_btc_spk_for_key(&spk, KG_CHAIN_BTC_P2WPKH, w->pub, 33, NULL)
                    : kg_err_set(KG_ERR_NOMEM, "out of memory");
    *n_signed = 0;
    if (e == KG_OK)
        e = psbt_mark(p, q, ours, &mine, w, &spk);
    if (e == KG_OK && mine == 0 && kg_chain_btc_address_encode(addr, sizeof addr, net, spk.data, spk.len) != KG_OK)
        snprintf(addr, sizeof addr, "?");
    if (e == KG_OK && mine == 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "no input of the PSBT spends from MPC key %s at path %s: an input is signed "
                       "when its witness UTXO pays the P2WPKH script of that key, %s on %s", w->k->key_id, w->path,
                       addr, kg_chain_btc_network_params(net)->name);
    if (e == KG_OK) {
        e = kg_chain_psbt_sign(q, n_signed, w->sg, w->k->key_id, w->fp);
        if (e == KG_ERR_NOT_FOUND && *n_signed == 0)
            e = kg_err_set(KG_ERR_BAD_INPUT, "every input of MPC key %s in the PSBT is already signed", w->k->key_id);
    }
    uint8_t key[34] = { KG_PSBT_IN_PARTIAL_SIG };
    memcpy(key + 1, w->pub, 33);
    for (size_t i = 0; e == KG_OK && i < p->n_in; i++) {
        const kg_chain_psbt_kv *sig = ours[i] ? kg_chain_psbt_map_get(&q->in[i], key, sizeof key) : NULL;
        if (sig != NULL)
            e = kg_chain_psbt_map_put(p, &p->in[i], sig->key, sig->key_len, sig->val, sig->val_len);
    }
    free(ours);
    return e;
}

kg_err kg_h_mpc_ecdsa_psbt(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "psbt", "network", "finalize", "path", NULL };
    const char *b64 = NULL, *path = NULL, *net_name = NULL;
    bool finalize = false, answered = false;
    kg_chain_btc_network net = KG_CHAIN_BTC_MAINNET;
    kg_chain_psbt p, q;
    char *signed_b64 = NULL, *hex = NULL, txid[65] = "";
    size_t n_signed = 0;
    ecdsa_wallet w;
    memset(&p, 0, sizeof p);
    memset(&q, 0, sizeof q);
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&b64, r->json, "psbt", true);
    if (e == KG_OK)
        e = kg_json_get_str(&net_name, r->json, "network", false);
    if (e == KG_OK && net_name != NULL)
        e = kg_chain_btc_network_parse(&net, net_name);
    if (e == KG_OK)
        e = kg_json_get_bool(&finalize, r->json, "finalize", false);
    if (e == KG_OK)
        e = kg_json_get_str(&path, r->json, "path", false);
    if (e == KG_OK)
        e = kg_chain_psbt_alloc(&p, 4 * strlen(b64) + 256 * 1024);
    if (e == KG_OK)
        e = kg_chain_psbt_alloc(&q, 4 * strlen(b64) + 256 * 1024);
    if (e == KG_OK)
        e = kg_chain_psbt_parse_base64(&p, b64);
    if (e == KG_OK)
        e = kg_chain_psbt_parse_base64(&q, b64);
    if (e == KG_OK && (e = wallet_open(&w, &answered, r, "sign", path, out)) == KG_OK && answered)
        goto done;
    if (e == KG_OK) {
        e = psbt_sign_ecdsa(&p, &q, &n_signed, &w, net);
        kg_server_mpc_note_culprit(r, e);
        wallet_close(&w);
    }
    if (e == KG_OK)
        e = kg_chain_psbt_to_base64(&signed_b64, &p);
    if (e == KG_OK && finalize)
        e = kg_server_psbt_finish(&p, &hex, txid);
    if (e == KG_OK) {
        *out = json_pack("{s:s,s:s,s:I,s:s,s:s?,s:s?}", "key_id", r->target.param, "psbt", signed_b64,
                         "signed_inputs", (json_int_t)n_signed, "path", path ? path : "m", "tx", hex, "txid",
                         hex ? txid : NULL);
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
