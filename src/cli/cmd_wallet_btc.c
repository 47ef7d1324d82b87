/* `kashguard wallet address|balance|send --chain btc` and `kashguard wallet psbt sign`.
 *
 * Addresses follow the BIP44 family: the address type picks the purpose
 * (p2pkh 44, p2sh-p2wpkh 49, p2wpkh 84 -- the default --, p2tr 86) and the
 * network the coin type (0 mainnet, 1 testnet/signet/regtest), so the
 * default is m/84'/0'/0'/0/N as every BIP84 wallet. P2TR is the BIP86 key
 * path output (internal key tweaked with no script tree).
 *
 * PSBT signing (BIP174/BIP370/BIP371) is the PSBT library's signer role:
 * every input whose BIP32 (or Taproot BIP32) derivation names this wallet's
 * master key fingerprint is signed at the path the PSBT gives, after the
 * library checked the key at that path equals the PSBT's key. --extract
 * prints the network transaction for `bitcoin-cli sendrawtransaction` or
 * any block explorer.
 *
 * `wallet balance|send --chain btc` (second half of the file) scan the
 * wallet's addresses and broadcast through an Esplora REST API given by
 * --rpc: KashGuard runs no Bitcoin node. With --mpc-key (cmd_wallet_mpc.c)
 * the addresses are the MPC key's non-hardened m/0/N (receive) and m/1/N
 * (change), ECDSA types only (no p2tr). */
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"
#include "kashguard/wallet/hd.h"
#include "kashguard/chain/bitcoin.h"
#include "kashguard/chain/psbt.h"

const kg_cli_opt kg_opts_wallet_psbt_sign[] = {
    KG_WALLET_OPT_NAME,
    {"psbt", KG_OPT_STR, "<base64>", false, "The PSBT as base64 text."},
    {"psbt-file", KG_OPT_STR, "<file|->", false, "A file (or - for stdin) holding the PSBT, base64 or binary."},
    {"network", KG_OPT_STR, "<net>", false,
     "mainnet (default), testnet, signet or regtest. Only checked: the PSBT carries its own scripts."},
    {"finalize", KG_OPT_BOOL, NULL, false, "Finalize the inputs after signing (fails unless all are complete)."},
    {"extract", KG_OPT_BOOL, NULL, false, "Print the final network transaction as hex (implies --finalize)."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};

static const struct {
    const char *name;
    kg_chain_btc_script_type type;
    uint32_t purpose;
} btc_types[] = {
    {"p2wpkh", KG_CHAIN_BTC_P2WPKH, KG_WALLET_PURPOSE_BIP84},
    {"p2tr", KG_CHAIN_BTC_P2TR, KG_WALLET_PURPOSE_BIP86},
    {"p2sh-p2wpkh", KG_CHAIN_BTC_P2SH_P2WPKH, KG_WALLET_PURPOSE_BIP49},
    {"p2pkh", KG_CHAIN_BTC_P2PKH, KG_WALLET_PURPOSE_BIP44},
};

static int network_of(kg_cli *cli, kg_chain_btc_network *net)
{
    const char *n = kg_cli_str(cli, "network");
    *net = KG_CHAIN_BTC_MAINNET;
    if (n && kg_chain_btc_network_parse(net, n) != KG_OK)
        return kg_cli_usage_error(cli, "--network must be mainnet, testnet, signet or regtest, not '%.32s'", n);
    return KG_CLI_OK;
}

int kg_cli_wallet_btc_address(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w)
{
    const char *tname = kg_cli_str(cli, "type");
    size_t t = 0;
    kg_chain_btc_network net;
    kg_key_ref ref;
    kg_pubkey pk;
    char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES], path[KG_WALLET_PATH_MAX_BYTES] = "";
    int rc;
    kg_err e;
    if (tname) {
        while (t < sizeof btc_types / sizeof btc_types[0] && strcmp(btc_types[t].name, tname)) t++;
        if (t == sizeof btc_types / sizeof btc_types[0])
            return kg_cli_usage_error(cli, "--type must be p2wpkh, p2tr, p2sh-p2wpkh or p2pkh, not '%.32s'", tname);
    }
    if ((rc = network_of(cli, &net)) != KG_CLI_OK) return rc;
    rc = kg_cli_wallet_ref(cli, &ref, w, KG_CLI_CHAIN_BTC, btc_types[t].purpose,
                           net == KG_CHAIN_BTC_MAINNET ? KG_WALLET_COIN_BTC : KG_WALLET_COIN_TESTNET);
    if (rc != KG_CLI_OK) return rc;
    e = kg_signer_public_key(s, &pk, &ref, KG_SIG_ECDSA_SECP256K1);
    if (e == KG_OK)
        e = kg_chain_btc_address_from_key(addr, sizeof addr, net, btc_types[t].type, pk.data, pk.len, NULL);
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    if (kg_wallet_path_format(path, sizeof path, ref.path, ref.path_len, true) != KG_OK) path[0] = 0;
    return kg_cli_wallet_emit(cli, "address", addr,
                              json_pack("{s:s,s:s,s:s,s:s}", "chain", "btc", "network",
                                        kg_chain_btc_network_params(net)->name, "type", btc_types[t].name,
                                        "path", path));
}

/* The PSBT of --psbt / --psbt-file, parsed into p (heap arena). */
static int load_psbt(kg_cli *cli, kg_chain_psbt *p)
{
    const char *b64 = kg_cli_str(cli, "psbt"), *file = kg_cli_str(cli, "psbt-file");
    kg_bytes raw = {0};
    char *text = NULL;
    kg_err e;
    if (!b64 == !file) return kg_cli_usage_error(cli, "give exactly one of --psbt BASE64 or --psbt-file FILE");
    if (file) {
        if ((e = kg_cli_read_file(&raw, file, KG_CHAIN_PSBT_MAX_BYTES * 2)) != KG_OK)
            return kg_cli_usage_error(cli, "--psbt-file: %s", kg_err_detail(e));
        if (raw.len < 5 || memcmp(raw.data, "psbt\xff", 5) != 0) { /* base64 text: trim whitespace */
            text = calloc(1, raw.len + 1);
            size_t n = 0;
            for (size_t i = 0; text && i < raw.len; i++)
                if (!strchr(" \t\r\n", raw.data[i]) && raw.data[i]) text[n++] = (char)raw.data[i];
            b64 = text;
        }
    }
    size_t len = raw.len ? raw.len : strlen(b64);
    e = kg_chain_psbt_alloc(p, 4 * len + 65536);
    if (e == KG_OK) e = b64 ? kg_chain_psbt_parse_base64(p, b64) : kg_chain_psbt_parse(p, raw.data, raw.len);
    free(text);
    kg_bytes_free(&raw);
    if (e != KG_OK) return kg_cli_usage_error(cli, "the PSBT is not valid: %s", kg_err_detail(e));
    return KG_CLI_OK;
}

/* Sign (and maybe finalize/extract), then print. */
static int psbt_sign_print(kg_cli *cli, kg_chain_psbt *p, kg_signer *s, const uint8_t fp[4])
{
    bool extract = kg_cli_bool(cli, "extract"), fin = extract || kg_cli_bool(cli, "finalize");
    size_t n = 0, len = 0;
    char *b64 = NULL;
    uint8_t *tx = NULL;
    kg_err e = kg_chain_psbt_sign(p, &n, s, NULL, fp);
    if (e != KG_OK) return kg_cli_usage_error(cli, "cannot sign the PSBT: %s", kg_err_detail(e));
    if (fin && (e = kg_chain_psbt_finalize(p)) != KG_OK)
        return kg_cli_usage_error(cli, "signed %zu input(s) but cannot finalize: %s", n, kg_err_detail(e));
    if (extract) {
        if ((e = kg_chain_psbt_extract(NULL, 0, &len, p)) == KG_OK || e == KG_ERR_TOO_LARGE) {
            tx = malloc(len ? len : 1);
            e = tx ? kg_chain_psbt_extract(tx, len, &len, p) : kg_err_set(KG_ERR_NOMEM, "out of memory");
        }
        char *hex = e == KG_OK ? malloc(2 * len + 1) : NULL;
        if (hex) kg_hex_encode(hex, tx, len);
        free(tx);
        if (!hex) return e != KG_OK ? kg_cli_usage_error(cli, "cannot extract: %s", kg_err_detail(e))
                                    : kg_cli_usage_error(cli, "out of memory");
        int rc = kg_cli_wallet_emit(cli, "tx", hex, json_pack("{s:I}", "signed_inputs", (json_int_t)n));
        free(hex);
        return rc;
    }
    if ((e = kg_chain_psbt_to_base64(&b64, p)) != KG_OK) return kg_cli_local_error(cli, e);
    int rc = kg_cli_wallet_emit(cli, "psbt", b64, json_pack("{s:I,s:b}", "signed_inputs", (json_int_t)n,
                                                            "finalized", fin));
    free(b64);
    return rc;
}

int kg_cmd_wallet_psbt_sign(kg_cli *cli)
{
    kg_chain_psbt p;
    kg_chain_btc_network net;
    kg_wallet_unlocked *w = NULL;
    kg_signer *s = NULL;
    kg_wallet_hdkey m;
    uint8_t fp[4];
    int rc;
    kg_err e;
    memset(&p, 0, sizeof p);
    if ((rc = network_of(cli, &net)) != KG_CLI_OK) return rc;
    if ((rc = load_psbt(cli, &p)) != KG_CLI_OK) goto out;
    if ((rc = kg_cli_wallet_open(cli, &w)) != KG_CLI_OK) goto out;
    if (w->kind == KG_WALLET_KIND_KEY) {
        rc = kg_cli_usage_error(cli, "wallet '%s' holds one imported Ethereum key; PSBT signing needs an "
                                "HD wallet", w->name);
        goto out;
    }
    e = kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_SECP256K1, kg_secret_cdata(w->seed), kg_secret_len(w->seed));
    if (e == KG_OK) kg_wallet_hd_fingerprint(fp, &m);
    kg_wallet_hdkey_wipe(&m);
    if (e != KG_OK) { rc = kg_cli_local_error(cli, e); goto out; }
    if ((rc = kg_cli_wallet_signer(cli, &s, w)) != KG_CLI_OK) goto out;
    rc = psbt_sign_print(cli, &p, s, fp);
out:
    kg_signer_close(s);
    kg_wallet_unlocked_free(w);
    kg_chain_psbt_free(&p);
    return rc;
}

/* ------------------------------------------- balance and send (Esplora API)
 *
 * `wallet balance|send --chain btc --rpc URL` talk to an Esplora REST API
 * (esplora/electrs, mempool.space; see btc_esplora_rpc.c). The wallet is
 * scanned the way BIP44 wallets discover accounts: for each address type
 * of --type, the receive chain m/p'/c'/0'/0/i and the change chain
 * m/p'/c'/0'/1/i are walked until GAP_LIMIT consecutive addresses have no
 * transaction (confirmed or mempool). Balance = confirmed + mempool of all
 * of them. `send` gathers the UTXOs of the used addresses (mempool ones
 * too, so a send can spend the change of the last one), runs coin
 * selection (branch-and-bound, else largest-first with change) at the fee
 * rate, pays change to the first unused change address of the first type,
 * signals RBF (BIP125) unless --no-rbf, signs every input with the local
 * signer at its own path (BIP340 + BIP86 tweak for p2tr), broadcasts with
 * POST /tx and prints the txid. Nothing is sent when any step before the
 * broadcast fails. */

#define GAP_LIMIT 20
#define SCAN_MAX 5000          /* addresses per chain: a node claiming more used ones is not believed */
#define FEE_TARGET_BLOCKS 6
#define MIN_FEE_RATE_KVB 1000  /* 1 sat/vB: Bitcoin Core's default min relay fee */
#define MAX_FEE_RATE_KVB 100000000u

typedef struct {
    size_t type;               /* index into btc_types */
    uint32_t change, index;
    kg_chain_btc_spk spk;
    char addr[KG_CHAIN_BTC_ADDRESS_MAX_BYTES];
    uint64_t confirmed, total; /* satoshis; total includes the mempool */
    bool used;
} btc_addr;

typedef struct {
    kg_chain_btc_network net;
    size_t types[4], ntypes;
    kg_wallet_unlocked *w;
    kg_signer *s;
    kg_chain_btc_esplora *api;
    btc_addr *a;
    size_t n, cap;
    uint64_t confirmed, total;
    bool mpc; /* --mpc-key: addresses are m/change/index of the MPC key (cmd_wallet_mpc.c) */
} btc_wallet;

static void btc_wallet_free(btc_wallet *bw)
{
    free(bw->a);
    kg_chain_btc_esplora_free(bw->api);
    kg_signer_close(bw->s);
    kg_wallet_unlocked_free(bw->w);
}

/* A chain-node failure: exit 2 with the node's text. */
static int node_error(kg_cli *cli, const char *what, kg_err e)
{
    fprintf(cli->err, "Error: %s: %s\n", what, kg_err_detail(e));
    return KG_CLI_REMOTE;
}

/* --type: one type, a comma list ("p2wpkh,p2tr") or "all". Default p2wpkh. */
static int types_of(kg_cli *cli, btc_wallet *bw)
{
    const char *v = kg_cli_str(cli, "type");
    const size_t nt = sizeof btc_types / sizeof btc_types[0];
    bw->ntypes = 0;
    if (!v) { bw->types[bw->ntypes++] = 0; return KG_CLI_OK; }
    if (!strcmp(v, "all")) {
        for (size_t t = 0; t < nt; t++) bw->types[bw->ntypes++] = t;
        return KG_CLI_OK;
    }
    for (const char *p = v; *p;) {
        size_t len = strcspn(p, ","), t = 0;
        while (t < nt && (strlen(btc_types[t].name) != len || strncmp(btc_types[t].name, p, len))) t++;
        if (t == nt)
            return kg_cli_usage_error(cli, "--type takes p2wpkh, p2tr, p2sh-p2wpkh, p2pkh, a comma list of them "
                                      "or all, not '%.40s'", v);
        for (size_t k = 0; k < bw->ntypes; k++)
            if (bw->types[k] == t) return kg_cli_usage_error(cli, "--type names %s twice", btc_types[t].name);
        bw->types[bw->ntypes++] = t;
        p += len;
        if (*p == ',' && *++p == '\0') return kg_cli_usage_error(cli, "--type ends with a comma");
    }
    return KG_CLI_OK;
}

/* The key of a wallet address: m/purpose'/coin'/0'/change/index. */
static void addr_ref(kg_key_ref *ref, const btc_wallet *bw, const btc_addr *a, bool taproot)
{
    memset(ref, 0, sizeof *ref);
    if (bw->mpc) { /* non-hardened only: the MPC key's own m/change/index */
        ref->path[0] = a->change;
        ref->path[1] = a->index;
        ref->path_len = 2;
        return;
    }
    if (kg_wallet_bip44_path(ref->path, btc_types[a->type].purpose,
                             bw->net == KG_CHAIN_BTC_MAINNET ? KG_WALLET_COIN_BTC : KG_WALLET_COIN_TESTNET, 0,
                             a->change, a->index) == KG_OK)
        ref->path_len = 5; /* cannot fail: every step is below 2^31 */
    ref->taproot = taproot && btc_types[a->type].type == KG_CHAIN_BTC_P2TR;
}

/* Derive address a (type, change, index set) and ask the node about it. */
static int scan_one(kg_cli *cli, btc_wallet *bw, btc_addr *a)
{
    kg_key_ref ref;
    kg_pubkey pk;
    kg_chain_btc_esplora_addr_info info;
    addr_ref(&ref, bw, a, false);
    kg_err e = kg_signer_public_key(bw->s, &pk, &ref, KG_SIG_ECDSA_SECP256K1);
    if (e == KG_OK) e = kg_chain_btc_spk_for_key(&a->spk, btc_types[a->type].type, pk.data, pk.len, NULL);
    if (e == KG_OK) e = kg_chain_btc_address_encode(a->addr, sizeof a->addr, bw->net, a->spk.data, a->spk.len);
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    if ((e = kg_chain_btc_esplora_address(bw->api, &info, a->addr)) != KG_OK ||
        (e = kg_chain_btc_esplora_balance(&a->confirmed, &a->total, &info)) != KG_OK)
        return node_error(cli, "cannot read the balance of the wallet's addresses", e);
    a->used = info.chain.tx_count + info.mempool.tx_count > 0;
    bw->confirmed += a->confirmed;
    bw->total += a->total;
    if (bw->total > KG_CHAIN_BTC_MAX_MONEY)
        return node_error(cli, "the node's balances are not believable",
                          kg_err_set(KG_ERR_BAD_JSON, "they add up to more than 21 million BTC"));
    return KG_CLI_OK;
}

/* Walk both chains of every type up to the gap limit. */
static int scan(kg_cli *cli, btc_wallet *bw)
{
    for (size_t k = 0; k < bw->ntypes; k++)
        for (uint32_t change = 0; change < 2; change++)
            for (uint32_t i = 0, gap = 0; gap < GAP_LIMIT; i++) {
                if (i == SCAN_MAX)
                    return node_error(cli, "cannot scan the wallet", kg_err_set(KG_ERR_BAD_JSON,
                                      "the node reports over %d used addresses on one chain", SCAN_MAX));
                if (bw->n == bw->cap) {
                    size_t cap = bw->cap ? 2 * bw->cap : 64;
                    btc_addr *a = realloc(bw->a, cap * sizeof *a);
                    if (!a) return kg_cli_usage_error(cli, "out of memory");
                    bw->a = a;
                    bw->cap = cap;
                }
                btc_addr *a = &bw->a[bw->n++];
                memset(a, 0, sizeof *a);
                a->type = bw->types[k];
                a->change = change;
                a->index = i;
                int rc = scan_one(cli, bw, a);
                if (rc != KG_CLI_OK) return rc;
                gap = a->used ? 0 : gap + 1;
            }
    return KG_CLI_OK;
}

/* Flags, wallet, signer and API client; then the scan. */
static int btc_wallet_open(kg_cli *cli, btc_wallet *bw)
{
    const char *url = kg_cli_str(cli, "rpc");
    int rc;
    memset(bw, 0, sizeof *bw);
    if (!url) return kg_cli_usage_error(cli, "missing required option --rpc <url> (an Esplora API, e.g. "
                                        "https://blockstream.info/testnet/api)");
    if (kg_cli_str(cli, "index") || kg_cli_str(cli, "path"))
        return kg_cli_usage_error(cli, "--chain btc scans the wallet's addresses (gap limit %d); --index and "
                                  "--path do not apply", GAP_LIMIT);
    if ((rc = network_of(cli, &bw->net)) != KG_CLI_OK) return rc;
    if ((rc = types_of(cli, bw)) != KG_CLI_OK) return rc;
    bw->mpc = kg_cli_wallet_is_mpc(cli);
    for (size_t k = 0; bw->mpc && k < bw->ntypes; k++)
        if (btc_types[bw->types[k]].type == KG_CHAIN_BTC_P2TR)
            return kg_cli_usage_error(cli, "MPC key %s is a threshold ECDSA key; p2tr needs BIP340 Schnorr: use "
                                      "--type p2wpkh (the default)", kg_cli_str(cli, "mpc-key"));
    kg_err e = kg_chain_btc_esplora_new(&bw->api, url, 15000);
    if (e != KG_OK) return kg_cli_usage_error(cli, "--rpc: %s", kg_err_detail(e));
    if ((rc = kg_cli_wallet_open(cli, &bw->w)) != KG_CLI_OK) return rc;
    if (bw->w->kind == KG_WALLET_KIND_KEY)
        return kg_cli_usage_error(cli, "wallet '%s' holds one imported Ethereum key; it has no bitcoin addresses",
                                  bw->w->name);
    if ((rc = kg_cli_wallet_signer(cli, &bw->s, bw->w)) != KG_CLI_OK) return rc;
    return scan(cli, bw);
}

static json_t *types_json(const btc_wallet *bw)
{
    json_t *a = json_array();
    for (size_t k = 0; k < bw->ntypes; k++) json_array_append_new(a, json_string(btc_types[bw->types[k]].name));
    return a;
}

int kg_cmd_wallet_balance_btc(kg_cli *cli)
{
    btc_wallet bw;
    char dec[24];
    size_t used = 0;
    int rc;
    if (kg_cli_str(cli, "token")) return kg_cli_usage_error(cli, "--token applies to --chain eth only");
    if ((rc = btc_wallet_open(cli, &bw)) != KG_CLI_OK) goto out;
    for (size_t i = 0; i < bw.n; i++) used += bw.a[i].used;
    snprintf(dec, sizeof dec, "%llu", (unsigned long long)bw.total);
    rc = kg_cli_wallet_emit(cli, "balance", dec, json_pack("{s:s,s:I,s:I,s:s,s:o,s:I,s:I}", "unit", "sat",
                            "confirmed", (json_int_t)bw.confirmed,
                            "unconfirmed", (json_int_t)bw.total - (json_int_t)bw.confirmed,
                            "network", kg_chain_btc_network_params(bw.net)->name, "types", types_json(&bw),
                            "addresses_scanned", (json_int_t)bw.n, "addresses_used", (json_int_t)used));
out:
    btc_wallet_free(&bw);
    return rc;
}

/* --amount: BTC ("0.001", at most 8 decimals) or "<n>sat". Above 0. */
static int btc_amount(kg_cli *cli, uint64_t *out)
{
    const char *v = kg_cli_str(cli, "amount");
    size_t n = strlen(v), digits = strspn(v, "0123456789"), frac = 0;
    uint64_t x = 0;
    bool sat = n > 3 && !strcmp(v + n - 3, "sat");
    if (sat ? digits != n - 3 || digits > 16 : digits == 0 || digits > 8)
        goto bad;
    for (size_t i = 0; i < digits; i++) x = x * 10 + (uint64_t)(v[i] - '0');
    if (!sat) {
        if (v[digits] == '.') {
            frac = strspn(v + digits + 1, "0123456789");
            if (frac == 0 || frac > 8 || v[digits + 1 + frac] != '\0') goto bad;
        } else if (v[digits] != '\0') {
            goto bad;
        }
        for (size_t i = 0; i < 8; i++) x = x * 10 + (i < frac ? (uint64_t)(v[digits + 1 + i] - '0') : 0);
    }
    if (x == 0) return kg_cli_usage_error(cli, "--amount must be above 0");
    if (x > KG_CHAIN_BTC_MAX_MONEY) return kg_cli_usage_error(cli, "--amount is over 21 million BTC");
    *out = x;
    return KG_CLI_OK;
bad:
    return kg_cli_usage_error(cli, "--amount '%.40s' is not an amount: give BTC (\"0.001\", at most 8 decimals) "
                              "or satoshis (\"100000sat\")", v);
}

/* --fee-rate in sat/vB (up to 3 decimals) -> sat/kvB; 0 when not given. */
static int fee_rate_opt(kg_cli *cli, uint64_t *out)
{
    const char *v = kg_cli_str(cli, "fee-rate");
    *out = 0;
    if (!v) return KG_CLI_OK;
    size_t digits = strspn(v, "0123456789"), frac = 0;
    uint64_t x = 0;
    if (digits > 0 && digits <= 6 && v[digits] == '.') frac = strspn(v + digits + 1, "0123456789");
    if (digits == 0 || digits > 6 || (v[digits] && (v[digits] != '.' || frac == 0 || frac > 3 ||
                                                    v[digits + 1 + frac])))
        return kg_cli_usage_error(cli, "--fee-rate '%.40s' is not a rate in sat/vB such as 2 or 1.5", v);
    for (size_t i = 0; i < digits; i++) x = x * 10 + (uint64_t)(v[i] - '0');
    for (size_t i = 0; i < 3; i++) x = x * 10 + (i < frac ? (uint64_t)(v[digits + 1 + i] - '0') : 0);
    if (x < MIN_FEE_RATE_KVB)
        return kg_cli_usage_error(cli, "--fee-rate must be at least 1 sat/vB (the minimum relay fee)");
    if (x > MAX_FEE_RATE_KVB) return kg_cli_usage_error(cli, "--fee-rate is over 100000 sat/vB");
    *out = x;
    return KG_CLI_OK;
}

/* The UTXOs of the wallet: coin-selection candidates and, for each, the
 * wallet address (index into btc_wallet.a) that can spend it. */
typedef struct {
    kg_chain_btc_utxo *u;
    size_t *owner;
    size_t n, cap;
} utxo_set;

static void utxo_set_free(utxo_set *us)
{
    free(us->u);
    free(us->owner);
}

static int gather(kg_cli *cli, const btc_wallet *bw, utxo_set *us)
{
    for (size_t i = 0; i < bw->n; i++) {
        kg_chain_btc_esplora_utxo *got = NULL;
        size_t n = 0;
        if (!bw->a[i].used || bw->a[i].total == 0) continue;
        kg_err e = kg_chain_btc_esplora_utxos(bw->api, &got, &n, bw->a[i].addr);
        if (e != KG_OK) return node_error(cli, "cannot list the wallet's unspent outputs", e);
        if (us->n + n > us->cap) {
            size_t cap = us->n + n + 16;
            kg_chain_btc_utxo *u = realloc(us->u, cap * sizeof *u);
            if (u) us->u = u;
            size_t *o = u ? realloc(us->owner, cap * sizeof *o) : NULL;
            if (o) us->owner = o;
            if (!u || !o) { free(got); return kg_cli_usage_error(cli, "out of memory"); }
            us->cap = cap;
        }
        for (size_t k = 0; k < n; k++) {
            kg_chain_btc_utxo *u = &us->u[us->n];
            memcpy(u->txid, got[k].txid, 32);
            u->vout = got[k].vout;
            u->value = got[k].value;
            u->type = btc_types[bw->a[i].type].type;
            us->owner[us->n++] = i;
        }
        free(got);
    }
    return KG_CLI_OK;
}

/* The first unused change address of the first --type (the scan always
 * ends on GAP_LIMIT unused ones, so there is one). */
static const btc_addr *change_addr(const btc_wallet *bw)
{
    for (size_t i = 0; i < bw->n; i++)
        if (bw->a[i].type == bw->types[0] && bw->a[i].change == 1 && !bw->a[i].used) return &bw->a[i];
    return NULL;
}

/* Inputs and outputs from the selection, then every input signed with
 * the key of the address it spends from. */
static int build_sign(kg_cli *cli, const btc_wallet *bw, kg_chain_btc_tx *tx, const kg_chain_btc_coin_selection *sel,
                      const kg_chain_btc_coin_select_params *p, const utxo_set *us)
{
    size_t n = sel->selected_count;
    kg_chain_btc_sign_input *ins = calloc(n, sizeof *ins);
    kg_key_ref *refs = calloc(n, sizeof *refs);
    kg_err e = ins && refs ? kg_chain_btc_tx_alloc(tx, n, p->output_count + 1, n * KG_CHAIN_BTC_SIGN_ITEMS_PER_INPUT,
                                                   n * KG_CHAIN_BTC_SIGN_ARENA_PER_INPUT)
                           : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK) e = kg_chain_btc_tx_from_selection(tx, sel, p, !kg_cli_bool(cli, "no-rbf"));
    for (size_t k = 0; e == KG_OK && k < n; k++) {
        const kg_chain_btc_utxo *u = &us->u[sel->selected[k]];
        const btc_addr *a = &bw->a[us->owner[sel->selected[k]]];
        addr_ref(&refs[k], bw, a, true);
        ins[k].type = u->type;
        ins[k].key = &refs[k];
        ins[k].spent.value = u->value;
        ins[k].spent.script.data = a->spk.data;
        ins[k].spent.script.len = a->spk.len;
    }
    if (e == KG_OK) e = kg_chain_btc_tx_sign(tx, bw->s, ins, n);
    free(ins);
    free(refs);
    return e == KG_OK ? KG_CLI_OK : kg_cli_wallet_sign_error(cli, e);
}

/* Serialize, POST /tx, check the node's txid is ours; txid gets it. */
static int broadcast(kg_cli *cli, const btc_wallet *bw, const kg_chain_btc_tx *tx, uint8_t txid[32])
{
    size_t cap = kg_chain_btc_tx_size(tx, true), len = 0;
    uint8_t *raw = malloc(cap ? cap : 1), node_txid[32];
    kg_err e = raw ? kg_chain_btc_tx_serialize(raw, cap, &len, tx, true) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e != KG_OK) { free(raw); return kg_cli_local_error(cli, e); }
    kg_chain_btc_tx_txid(txid, tx);
    e = kg_chain_btc_esplora_broadcast(bw->api, node_txid, raw, len);
    free(raw);
    if (e != KG_OK) return node_error(cli, "broadcast failed", e);
    if (memcmp(node_txid, txid, 32) != 0) {
        char a[65], b[65];
        kg_chain_btc_txid_hex(a, txid);
        kg_chain_btc_txid_hex(b, node_txid);
        fprintf(cli->err, "Error: the node answered txid %s for transaction %s\n", b, a);
        return KG_CLI_REMOTE;
    }
    return KG_CLI_OK;
}

/* --to and --amount, checked before the wallet is opened. */
static int payment(kg_cli *cli, kg_chain_btc_txout *out, kg_chain_btc_spk *spk)
{
    static const char *const eth_only[] = {"token", "nft", "token-id", "chain-id", "tx-type", "gas-limit",
                                           "max-fee-gwei", "priority-fee-gwei", "nonce", "no-wait"};
    kg_chain_btc_network net;
    kg_chain_btc_script_type type = KG_CHAIN_BTC_UNKNOWN;
    int rc;
    for (size_t i = 0; i < sizeof eth_only / sizeof eth_only[0]; i++)
        if (kg_cli_str(cli, eth_only[i]))
            return kg_cli_usage_error(cli, "--%s applies to --chain eth only", eth_only[i]);
    if (!kg_cli_str(cli, "to")) return kg_cli_usage_error(cli, "missing required option --to <address>");
    if (!kg_cli_str(cli, "amount")) return kg_cli_usage_error(cli, "missing required option --amount <btc>");
    if ((rc = network_of(cli, &net)) != KG_CLI_OK) return rc;
    kg_err e = kg_chain_btc_address_decode(spk, &type, net, kg_cli_str(cli, "to"));
    if (e != KG_OK) return kg_cli_usage_error(cli, "--to: %s", kg_err_detail(e));
    if ((rc = btc_amount(cli, &out->value)) != KG_CLI_OK) return rc;
    bool segwit = type == KG_CHAIN_BTC_P2WPKH || type == KG_CHAIN_BTC_P2WSH || type == KG_CHAIN_BTC_P2TR ||
                  type == KG_CHAIN_BTC_WITNESS_UNKNOWN;
    uint64_t dust = kg_chain_btc_dust_limit(spk->len, segwit);
    if (out->value < dust)
        return kg_cli_usage_error(cli, "--amount %llu sat is below the dust limit of that address (%llu sat); "
                                  "nodes do not relay it", (unsigned long long)out->value, (unsigned long long)dust);
    out->script.data = spk->data;
    out->script.len = spk->len;
    return KG_CLI_OK;
}

static json_t *send_json(const btc_wallet *bw, const kg_chain_btc_tx *tx, const kg_chain_btc_coin_selection *sel,
                         uint64_t rate, const btc_addr *chg)
{
    return json_pack("{s:s,s:I,s:I,s:I,s:f,s:I,s:I,s:s?,s:b}", "network", kg_chain_btc_network_params(bw->net)->name,
                     "amount", (json_int_t)tx->outputs[0].value, "fee", (json_int_t)sel->fee,
                     "vsize", (json_int_t)kg_chain_btc_tx_vsize(tx), "fee_rate", (double)rate / 1000.0,
                     "inputs", (json_int_t)tx->input_count, "change", (json_int_t)sel->change,
                     "change_address", sel->change ? chg->addr : NULL,
                     "rbf", tx->input_count && tx->inputs[0].sequence == KG_CHAIN_BTC_SEQUENCE_RBF);
}

int kg_cmd_wallet_send_btc(kg_cli *cli)
{
    btc_wallet bw;
    utxo_set us = {0};
    kg_chain_btc_tx tx;
    kg_chain_btc_txout pay;
    kg_chain_btc_spk to;
    kg_chain_btc_coin_selection sel;
    uint64_t rate = 0;
    uint8_t txid[32];
    char hex[65];
    size_t *selected = NULL;
    int rc;
    kg_err e;
    memset(&bw, 0, sizeof bw);
    memset(&tx, 0, sizeof tx);
    memset(&sel, 0, sizeof sel);
    if ((rc = payment(cli, &pay, &to)) != KG_CLI_OK) return rc;
    if ((rc = fee_rate_opt(cli, &rate)) != KG_CLI_OK) return rc;
    if ((rc = btc_wallet_open(cli, &bw)) != KG_CLI_OK) goto out;
    if (!rate && (e = kg_chain_btc_esplora_fee_rate(bw.api, &rate, FEE_TARGET_BLOCKS)) != KG_OK) {
        rc = node_error(cli, "cannot get a fee estimate (give --fee-rate)", e);
        goto out;
    }
    rate = rate < MIN_FEE_RATE_KVB ? MIN_FEE_RATE_KVB : rate > MAX_FEE_RATE_KVB ? MAX_FEE_RATE_KVB : rate;
    if ((rc = gather(cli, &bw, &us)) != KG_CLI_OK) goto out;
    const btc_addr *chg = change_addr(&bw);
    kg_chain_btc_coin_select_params p = {us.u, us.n, &pay, 1, rate, chg ? chg->spk.data : NULL, chg ? chg->spk.len : 0};
    if (!(selected = calloc(us.n + 1, sizeof *selected))) { rc = kg_cli_usage_error(cli, "out of memory"); goto out; }
    sel.selected = selected;
    if ((e = kg_chain_btc_coin_select(&sel, &p)) != KG_OK) { rc = kg_cli_local_error(cli, e); goto out; }
    if ((rc = build_sign(cli, &bw, &tx, &sel, &p, &us)) != KG_CLI_OK) goto out;
    if ((rc = broadcast(cli, &bw, &tx, txid)) != KG_CLI_OK) goto out;
    kg_chain_btc_txid_hex(hex, txid);
    rc = kg_cli_wallet_emit(cli, "txid", hex, cli->json ? send_json(&bw, &tx, &sel, rate, chg) : NULL);
out:
    free(selected);
    kg_chain_btc_tx_free(&tx);
    utxo_set_free(&us);
    btc_wallet_free(&bw);
    return rc;
}
