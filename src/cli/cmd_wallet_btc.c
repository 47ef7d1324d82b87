/* `kashguard wallet address --chain btc` and `kashguard wallet psbt sign`.
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
 * library checked the key at that path equals the PSBT's key. There is no
 * broadcast: KashGuard runs no Bitcoin node; --extract prints the network
 * transaction for `bitcoin-cli sendrawtransaction` or any block explorer. */
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
