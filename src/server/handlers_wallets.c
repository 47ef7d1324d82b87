/* Handlers of /v1/wallets: create, list, describe, addresses, and the
 * Ethereum message signatures (EIP-191 personal_sign, EIP-712 typed data).
 * Transactions and PSBTs are in handlers_wallets_tx.c.
 *
 * A server wallet is not a new kind of object: it is a naming convention
 * over KMS keys. Wallet N is the ECC_SECG_P256K1 key with alias "wallet-N"
 * (Ethereum, Bitcoin and Cosmos addresses all come from it) plus the
 * ED25519 key "wallet-N-ed25519" (Solana). Keeping the keys in the KMS
 * means a wallet inherits everything the KMS already does for keys: the
 * seal, versions, lifecycle, policies and the audit log. Every handler
 * works through the KMS as the request's caller -- kg_kms_key_create,
 * kg_kms_public_key, and kg_wallet_signer_kms (whose signatures go through
 * kg_kms_sign) -- so what a token may do with a wallet is exactly what its
 * policies allow on the wallet's keys: create-key to create, get-public-key
 * to read addresses, sign to sign. A refusal is the KMS's own 403 message.
 *
 * Once opened, the wallet's key is named by its id ("k-..."), not its
 * alias, so an alias moved by `key update` in the middle of a request
 * cannot switch the key between reading the address and signing.
 *
 * Creating is two KMS calls and not atomic: when the Ed25519 key cannot be
 * made after the secp256k1 key was, the error says so and how to add the
 * Ed25519 key by hand (POST /v1/keys with its alias); the wallet works for
 * the secp256k1 chains meanwhile and shows solana as null. Both aliases
 * are checked first, so the usual conflict (name taken) creates nothing.
 *
 * Nothing a handler here returns is secret: keys stay in the KMS. */
#include "server_int.h"

#include <kashguard/chain.h>
#include <kashguard/wallet/signers.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KG_WALLET_PREFIX "wallet-"
#define KG_WALLET_ED_SUFFIX "-ed25519"
#define KG_WALLET_MSG_MAX (64 * 1024)
#define KG_WALLET_LIST_FETCHES 64

static const char *const no_fields[] = { NULL };

json_t *kg_json_0x(const uint8_t *data, size_t n)
{
    char *s = malloc(2 * n + 3);
    if (s == NULL)
        return NULL;
    memcpy(s, "0x", 2);
    kg_hex_encode(s + 2, data, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* Names: the alias characters minus '/', 1-48 of them (so both aliases fit
 * the KMS's 64), and never ending in the suffix of the Ed25519 key, which
 * would make one wallet's Solana key another wallet's main key. */
static kg_err name_check(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    bool ok = n >= 1 && n <= KG_WALLET_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
             c == '-' || c == '.';
    }
    if (!ok)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet name '%.64s' is not valid: use 1-%d characters from "
                          "A-Z a-z 0-9 _ - .", name ? name : "", KG_WALLET_NAME_MAX);
    size_t sl = strlen(KG_WALLET_ED_SUFFIX);
    if (n >= sl && strcmp(name + n - sl, KG_WALLET_ED_SUFFIX) == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "wallet name '%s' may not end in \"%s\": that suffix names a "
                          "wallet's Solana key", name, KG_WALLET_ED_SUFFIX);
    return KG_OK;
}

/* The raw public key of a KMS key, checked to be of spec; *doc keeps the
 * KMS document (key_id, version). */
static kg_err kms_raw_pub(json_t **doc, kg_bytes *raw, kg_req *r, const char *ref, const char *spec,
                          size_t want_len)
{
    const char *got = NULL;
    *doc = NULL;
    kg_err e = kg_kms_public_key(r->srv->kms, r->caller, doc, ref, 0);
    if (e == KG_OK)
        e = kg_json_get_str(&got, *doc, "spec", true);
    if (e == KG_OK && strcmp(got, spec) != 0)
        e = kg_err_set(KG_ERR_WRONG_KEY_USAGE, "KMS key '%s' is %s, not %s, so it is not a wallet key; "
                       "wallet keys are made by POST /v1/wallets", ref, got, spec);
    if (e == KG_OK)
        e = kg_json_get_b64(raw, *doc, "public_key", true, 65);
    if (e == KG_OK && raw->len != want_len)
        e = kg_err_set(KG_ERR_INTERNAL, "KMS key '%s' returned a %zu-byte public key", ref, raw->len);
    if (e != KG_OK) {
        json_decref(*doc);
        *doc = NULL;
        kg_bytes_free(raw);
    }
    return e;
}

kg_err kg_req_wallet_open(kg_req_wallet *w, kg_req *r)
{
    memset(w, 0, sizeof *w);
    json_t *doc = NULL;
    kg_bytes raw = { 0 };
    const char *id = NULL;
    kg_err e = name_check(r->target.param);
    if (e != KG_OK)
        return e;
    snprintf(w->name, sizeof w->name, "%s", r->target.param);
    snprintf(w->alias, sizeof w->alias, KG_WALLET_PREFIX "%s", w->name);
    e = kms_raw_pub(&doc, &raw, r, w->alias, "ECC_SECG_P256K1", 65);
    if (e == KG_ERR_NOT_FOUND)
        e = kg_err_set(KG_ERR_NOT_FOUND, "no wallet '%s' (no KMS key with alias '%s'); create it with "
                       "POST /v1/wallets {\"name\":\"%s\"}", w->name, w->alias, w->name);
    if (e == KG_OK)
        e = kg_json_get_str(&id, doc, "key_id", true);
    if (e == KG_OK && (strlen(id) >= sizeof w->key_id || raw.data[0] != 0x04))
        e = kg_err_set(KG_ERR_INTERNAL, "the KMS returned a malformed key id or public key for '%s'", w->alias);
    if (e == KG_OK) {
        snprintf(w->key_id, sizeof w->key_id, "%s", id);
        memcpy(w->pub65, raw.data, 65);
        kg_req_note_key(r, doc);
        e = kg_crypto_k1_pubkey_convert(w->pub33, 33, w->pub65, 65);
    }
    if (e == KG_OK)
        e = kg_wallet_signer_kms(&w->signer, r->srv->kms, r->caller);
    w->ref.key = w->key_id;
    json_decref(doc);
    kg_bytes_free(&raw);
    if (e != KG_OK)
        kg_req_wallet_close(w);
    return e;
}

void kg_req_wallet_close(kg_req_wallet *w)
{
    kg_signer_close(w->signer);
    memset(w, 0, sizeof *w);
}

/* The Solana key: *found is false (KG_OK) when the wallet has none. */
static kg_err wallet_ed25519(uint8_t pub[static 32], char *key_id, size_t id_cap, bool *found, kg_req *r,
                             const kg_req_wallet *w)
{
    char alias[sizeof w->alias + sizeof KG_WALLET_ED_SUFFIX];
    json_t *doc = NULL;
    kg_bytes raw = { 0 };
    *found = false;
    snprintf(alias, sizeof alias, "%s" KG_WALLET_ED_SUFFIX, w->alias);
    kg_err e = kms_raw_pub(&doc, &raw, r, alias, "ED25519", 32);
    if (e == KG_ERR_NOT_FOUND) {
        kg_err_clear();
        return KG_OK;
    }
    if (e == KG_OK) {
        memcpy(pub, raw.data, 32);
        snprintf(key_id, id_cap, "%s", json_string_value(json_object_get(doc, "key_id")));
        *found = true;
    }
    json_decref(doc);
    kg_bytes_free(&raw);
    return e;
}

/* ------------------------------------------------------------ addresses */

typedef struct {
    const char *chain;             /* "eth", "btc", "cosmos", "solana" */
    kg_chain_btc_network network;
    kg_chain_btc_script_type type;
    const char *hrp;
} addr_spec;

static kg_err address_of(char *out, size_t cap, const kg_req_wallet *w, const uint8_t *ed_pub,
                         const addr_spec *a)
{
    if (strcmp(a->chain, "eth") == 0) {
        uint8_t addr[20];
        kg_err e = kg_chain_eth_addr_from_pubkey(addr, w->pub65, 65);
        if (e == KG_OK && cap >= KG_CHAIN_ETH_ADDR_STR_BYTES)
            kg_chain_eth_addr_to_str(out, addr);
        return e;
    }
    if (strcmp(a->chain, "btc") == 0)
        return kg_chain_btc_address_from_key(out, cap, a->network, a->type, w->pub33, 33, NULL);
    if (strcmp(a->chain, "cosmos") == 0)
        return kg_chain_cosmos_address(out, cap, a->hrp, w->pub33);
    if (ed_pub == NULL)
        return kg_err_set(KG_ERR_NOT_FOUND, "wallet '%s' has no Solana key: create an ED25519 key with alias "
                          "'%s" KG_WALLET_ED_SUFFIX "' (POST /v1/keys)", w->name, w->alias);
    return kg_chain_sol_address(out, cap, ed_pub);
}

/* {"name","key_id","ed25519_key_id","addresses":{eth,btc,cosmos,solana}}
 * with the default address forms (btc: mainnet P2WPKH; cosmos: "cosmos"). */
static kg_err wallet_doc(json_t **out, kg_req *r, const kg_req_wallet *w)
{
    static const char *const chains[] = { "eth", "btc", "cosmos", "solana" };
    uint8_t ed[32];
    char ed_id[64] = "", text[KG_CHAIN_BTC_ADDRESS_MAX_BYTES];
    bool has_ed = false;
    *out = NULL;
    kg_err e = wallet_ed25519(ed, ed_id, sizeof ed_id, &has_ed, r, w);
    json_t *addrs = json_object();
    for (size_t i = 0; e == KG_OK && i < 4; i++) {
        addr_spec a = { chains[i], KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_P2WPKH, "cosmos" };
        if (i == 3 && !has_ed) {
            json_object_set_new(addrs, chains[i], json_null());
            continue;
        }
        e = address_of(text, sizeof text, w, ed, &a);
        if (e == KG_OK && json_object_set_new(addrs, chains[i], json_string(text)) != 0)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (e == KG_OK)
        *out = json_pack("{s:s,s:s,s:o,s:O}", "name", w->name, "key_id", w->key_id, "ed25519_key_id",
                         has_ed ? json_string(ed_id) : json_null(), "addresses", addrs);
    json_decref(addrs);
    return e != KG_OK ? e : *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------------ create */

/* KG_OK when alias is free (or the caller may not look: the create then
 * reports the conflict), KG_ERR_CONFLICT when a key holds it. */
static kg_err alias_free(kg_req *r, const char *name, const char *alias)
{
    json_t *doc = NULL;
    kg_err e = kg_kms_key_get(r->srv->kms, r->caller, &doc, alias);
    json_decref(doc);
    if (e == KG_OK)
        return kg_err_set(KG_ERR_CONFLICT, "wallet '%s' already exists (KMS key alias '%s' is taken); "
                          "choose another name", name, alias);
    if (e == KG_ERR_NOT_FOUND || e == KG_ERR_DENIED) {
        kg_err_clear();
        return KG_OK;
    }
    return e;
}

static kg_err create_key(json_t **meta, kg_req *r, const char *spec, const char *alias, const char *what)
{
    char desc[128];
    snprintf(desc, sizeof desc, "wallet %s (%s)", r->target.param ? r->target.param : "", what);
    json_t *req = json_pack("{s:s,s:s,s:s}", "spec", spec, "alias", alias, "description", desc);
    kg_err e = req ? kg_kms_key_create(r->srv->kms, r->caller, meta, req) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(req);
    return e;
}

/* The secp256k1 key exists, the Ed25519 one could not be made. */
static kg_err half_created(kg_err e, const json_t *meta, const char *ed_alias)
{
    char why[512];
    snprintf(why, sizeof why, "%s", kg_err_detail(e));
    return kg_err_set(e, "the wallet's secp256k1 key %s was created but its Ed25519 key was not: %s. The "
                      "wallet works for eth, btc and cosmos; to add solana create an ED25519 key with alias "
                      "'%s' (POST /v1/keys)", json_string_value(json_object_get(meta, "key_id")), why, ed_alias);
}

kg_err kg_h_wallet_create(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "name", NULL };
    const char *name = NULL;
    char alias[KG_WALLET_NAME_MAX + 16], ed_alias[KG_WALLET_NAME_MAX + 24];
    json_t *meta = NULL, *ed_meta = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&name, r->json, "name", true);
    if (e == KG_OK)
        e = name_check(name);
    if (e != KG_OK)
        return e;
    snprintf(alias, sizeof alias, KG_WALLET_PREFIX "%s", name);
    snprintf(ed_alias, sizeof ed_alias, "%s" KG_WALLET_ED_SUFFIX, alias);
    /* The handlers below read the name from the path; point it at the body's. */
    free(r->target.param);
    r->target.param = strdup(name);
    if (r->target.param == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    e = alias_free(r, name, alias);
    if (e == KG_OK)
        e = alias_free(r, name, ed_alias);
    if (e == KG_OK)
        e = create_key(&meta, r, "ECC_SECG_P256K1", alias, "eth, btc, cosmos");
    if (e == KG_OK) {
        kg_req_note_key(r, meta);
        e = create_key(&ed_meta, r, "ED25519", ed_alias, "solana");
        if (e != KG_OK)
            e = half_created(e, meta, ed_alias);
    }
    json_decref(ed_meta);
    if (e != KG_OK) {
        json_decref(meta);
        return e;
    }
    kg_req_wallet w;
    if ((e = kg_req_wallet_open(&w, r)) == KG_OK) {
        e = wallet_doc(out, r, &w);
        kg_req_wallet_close(&w);
    }
    if (e == KG_ERR_DENIED) {
        /* Created, but this token may not read public keys: say what exists. */
        kg_err_clear();
        e = KG_OK;
        *out = json_pack("{s:s,s:O,s:n}", "name", name, "key_id", json_object_get(meta, "key_id"), "addresses");
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    json_decref(meta);
    return e;
}

/* ------------------------------------------------------------ list / get */

/* Append the wallets among one page of KMS key metadata. */
static kg_err list_page(json_t *wallets, const json_t *keys)
{
    size_t pl = strlen(KG_WALLET_PREFIX), sl = strlen(KG_WALLET_ED_SUFFIX);
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *k = json_array_get(keys, i);
        const char *alias = json_string_value(json_object_get(k, "alias"));
        const char *spec = json_string_value(json_object_get(k, "spec"));
        size_t n = alias ? strlen(alias) : 0;
        if (n <= pl || strncmp(alias, KG_WALLET_PREFIX, pl) != 0 || spec == NULL ||
            strcmp(spec, "ECC_SECG_P256K1") != 0 || (n >= sl && strcmp(alias + n - sl, KG_WALLET_ED_SUFFIX) == 0))
            continue;
        json_t *item = json_pack("{s:s,s:O,s:O,s:O}", "name", alias + pl, "key_id", json_object_get(k, "key_id"),
                                 "state", json_object_get(k, "state"), "created_at",
                                 json_object_get(k, "created_at"));
        if (item == NULL || json_array_append_new(wallets, item) != 0)
            return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    return KG_OK;
}

/* Pages of the KMS key list, each asking for as many keys as wallets are
 * still wanted, so the answer never exceeds limit and next_cursor (the
 * KMS's) resumes exactly after the last key looked at. */
kg_err kg_h_wallet_list(kg_req *r, json_t **out)
{
    size_t limit = r->target.limit ? r->target.limit : 100;
    char cursor[128] = "";
    json_t *wallets = json_array();
    kg_err e = kg_req_fields(r, no_fields);
    if (wallets == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (r->target.cursor != NULL)
        snprintf(cursor, sizeof cursor, "%s", r->target.cursor);
    for (int fetch = 0; e == KG_OK && fetch < KG_WALLET_LIST_FETCHES; fetch++) {
        json_t *page = NULL;
        size_t want = limit - json_array_size(wallets);
        e = kg_kms_key_list(r->srv->kms, r->caller, &page, want, cursor[0] ? cursor : NULL);
        if (e == KG_OK)
            e = list_page(wallets, json_object_get(page, "keys"));
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(page);
        if (cursor[0] == '\0' || json_array_size(wallets) >= limit)
            break;
    }
    if (e == KG_OK)
        *out = json_pack("{s:O,s:o}", "wallets", wallets, "next_cursor",
                         cursor[0] ? json_string(cursor) : json_null());
    json_decref(wallets);
    return e != KG_OK ? e : *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

kg_err kg_h_wallet_get(kg_req *r, json_t **out)
{
    kg_req_wallet w;
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK && (e = kg_req_wallet_open(&w, r)) == KG_OK) {
        e = wallet_doc(out, r, &w);
        kg_req_wallet_close(&w);
    }
    return e;
}

/* Query → addr_spec: chain required; network/type only for btc, hrp only
 * for cosmos (a selector the chain ignores is a mistake worth reporting). */
static kg_err address_query(addr_spec *a, char *chain, char *hrp, const kg_req *r)
{
    char net[80], type[80];
    bool has_net = kg_server_query_value(net, sizeof net, r->uri, "network");
    bool has_type = kg_server_query_value(type, sizeof type, r->uri, "type");
    bool has_hrp = kg_server_query_value(hrp, 80, r->uri, "hrp");
    if (!kg_server_query_value(chain, 80, r->uri, "chain"))
        return kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'chain' is required: eth, btc, cosmos or solana");
    if (strcmp(chain, "evm") == 0)
        snprintf(chain, 80, "eth");
    if (strcmp(chain, "eth") != 0 && strcmp(chain, "btc") != 0 && strcmp(chain, "cosmos") != 0 &&
        strcmp(chain, "solana") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown chain '%.64s': use eth, btc, cosmos or solana", chain);
    if ((has_net || has_type) && strcmp(chain, "btc") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "query parameters 'network' and 'type' apply to chain=btc only");
    if (has_hrp && strcmp(chain, "cosmos") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "query parameter 'hrp' applies to chain=cosmos only");
    *a = (addr_spec){ chain, KG_CHAIN_BTC_MAINNET, KG_CHAIN_BTC_P2WPKH, has_hrp ? hrp : "cosmos" };
    if (has_net) {
        kg_err e = kg_chain_btc_network_parse(&a->network, net);
        if (e != KG_OK)
            return e;
    }
    if (!has_type || strcmp(type, "p2wpkh") == 0)
        return KG_OK;
    if (strcmp(type, "p2pkh") == 0)
        a->type = KG_CHAIN_BTC_P2PKH;
    else if (strcmp(type, "p2sh-p2wpkh") == 0)
        a->type = KG_CHAIN_BTC_P2SH_P2WPKH;
    else if (strcmp(type, "p2tr") == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "type p2tr is not offered for server wallets: the KMS cannot make "
                          "BIP340 signatures yet, so coins sent there could not be spent");
    else
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown address type '%.64s': use p2wpkh, p2sh-p2wpkh or p2pkh",
                          type);
    return KG_OK;
}

static const char *type_name(kg_chain_btc_script_type t)
{
    return t == KG_CHAIN_BTC_P2PKH ? "p2pkh" : t == KG_CHAIN_BTC_P2SH_P2WPKH ? "p2sh-p2wpkh" : "p2wpkh";
}

kg_err kg_h_wallet_address(kg_req *r, json_t **out)
{
    addr_spec a;
    char chain[80], hrp[80], text[KG_CHAIN_BTC_ADDRESS_MAX_BYTES], ed_id[64];
    uint8_t ed[32];
    bool has_ed = false;
    kg_req_wallet w;
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = address_query(&a, chain, hrp, r);
    if (e != KG_OK || (e = kg_req_wallet_open(&w, r)) != KG_OK)
        return e;
    if (strcmp(a.chain, "solana") == 0)
        e = wallet_ed25519(ed, ed_id, sizeof ed_id, &has_ed, r, &w);
    if (e == KG_OK)
        e = address_of(text, sizeof text, &w, has_ed ? ed : NULL, &a);
    if (e == KG_OK) {
        *out = json_pack("{s:s,s:s,s:s}", "address", text, "chain", a.chain, "key_id",
                         has_ed ? ed_id : w.key_id);
        if (*out != NULL && strcmp(a.chain, "btc") == 0) {
            json_object_set_new(*out, "network", json_string(kg_chain_btc_network_params(a.network)->name));
            json_object_set_new(*out, "type", json_string(type_name(a.type)));
        } else if (*out != NULL && strcmp(a.chain, "cosmos") == 0)
            json_object_set_new(*out, "hrp", json_string(a.hrp));
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_req_wallet_close(&w);
    return e;
}

/* ------------------------------------------------------------ messages */

/* "chain" is optional and, when given, must be eth (or evm). */
static kg_err eth_only(const json_t *body)
{
    const char *chain = NULL;
    kg_err e = kg_json_get_str(&chain, body, "chain", false);
    if (e == KG_OK && chain != NULL && strcmp(chain, "eth") != 0 && strcmp(chain, "evm") != 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "chain '%.64s' cannot sign messages here: only eth (EIP-191, "
                       "EIP-712) is supported", chain);
    return e;
}

/* {"signature":"0x" r||s||v, "address"} (+ digest fields set by the caller). */
static kg_err sig_doc(json_t **out, const uint8_t sig[static 65], const kg_req_wallet *w)
{
    uint8_t addr[20];
    char text[KG_CHAIN_ETH_ADDR_STR_BYTES];
    kg_err e = kg_chain_eth_addr_from_pubkey(addr, w->pub65, 65);
    if (e != KG_OK)
        return e;
    kg_chain_eth_addr_to_str(text, addr);
    *out = json_pack("{s:o,s:s,s:s}", "signature", kg_json_0x(sig, 65), "address", text, "key_id", w->key_id);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* The message bytes: the text as UTF-8, or hex when encoding is "hex". */
static kg_err message_bytes(kg_bytes *msg, const json_t *body)
{
    const char *text = NULL, *enc = NULL;
    kg_err e = kg_json_get_str(&text, body, "message", true);
    if (e == KG_OK)
        e = kg_json_get_str(&enc, body, "encoding", false);
    if (e != KG_OK)
        return e;
    size_t n = strlen(text);
    if (enc == NULL || strcmp(enc, "text") == 0) {
        if (n > KG_WALLET_MSG_MAX)
            return kg_err_set(KG_ERR_TOO_LARGE, "field 'message' is longer than %d bytes", KG_WALLET_MSG_MAX);
        return kg_bytes_set(msg, (const uint8_t *)text, n);
    }
    if (strcmp(enc, "hex") != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'encoding' must be \"text\" or \"hex\"");
    if (n / 2 > KG_WALLET_MSG_MAX)
        return kg_err_set(KG_ERR_TOO_LARGE, "field 'message' is longer than %d bytes", KG_WALLET_MSG_MAX);
    msg->data = malloc(n / 2 + 1);
    if (msg->data == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    e = kg_hex_decode(msg->data, n / 2 + 1, &msg->len, text);
    if (e != KG_OK) {
        kg_bytes_free(msg);
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'message' is not hex (encoding \"hex\"): %s",
                          kg_err_detail(e));
    }
    return KG_OK;
}

kg_err kg_h_wallet_sign_message(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "chain", "message", "encoding", NULL };
    kg_bytes msg = { 0 };
    uint8_t sig[65];
    kg_req_wallet w;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = eth_only(r->json);
    if (e == KG_OK)
        e = message_bytes(&msg, r->json);
    if (e == KG_OK && (e = kg_req_wallet_open(&w, r)) == KG_OK) {
        e = kg_chain_eth_personal_sign(w.signer, sig, &w.ref, msg.data, msg.len);
        if (e == KG_OK)
            e = sig_doc(out, sig, &w);
        kg_req_wallet_close(&w);
    }
    kg_bytes_free(&msg);
    return e;
}

kg_err kg_h_wallet_sign_typed_data(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "chain", "typed_data", NULL };
    uint8_t digest[32], dsep[32], sig65[65];
    kg_chain_eth_sig sig;
    json_t *typed = json_object_get(r->json, "typed_data"), *parsed = NULL;
    kg_req_wallet w;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = eth_only(r->json);
    if (e == KG_OK && json_is_string(typed)) /* also take it as JSON text, as eth_signTypedData_v4 does */
        e = kg_json_parse_object(&parsed, json_string_value(typed), json_string_length(typed));
    if (parsed != NULL)
        typed = parsed;
    if (e == KG_OK && !json_is_object(typed))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'typed_data' is required: the EIP-712 object {types, "
                       "primaryType, domain, message}");
    if (e == KG_OK)
        e = kg_chain_eth_eip712_json_hash(digest, dsep, typed);
    if (e == KG_OK && (e = kg_req_wallet_open(&w, r)) == KG_OK) {
        e = kg_chain_eth_sign_digest(w.signer, &sig, &w.ref, digest);
        if (e == KG_OK) {
            kg_chain_eth_sig_to_bytes(sig65, &sig);
            e = sig_doc(out, sig65, &w);
        }
        if (e == KG_OK && (json_object_set_new(*out, "digest", kg_json_0x(digest, 32)) != 0 ||
                           json_object_set_new(*out, "domain_separator", kg_json_0x(dsep, 32)) != 0))
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
        kg_req_wallet_close(&w);
    }
    json_decref(parsed);
    return e;
}
