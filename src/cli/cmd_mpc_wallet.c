/* Wallets on MPC keys through the server (docs/mpc.md "Wallets on MPC
 * keys"): the server is the coordinator and signs with the key's nodes;
 * these commands are thin REST clients.
 *
 *   mpc address --key ID --chain bitcoin|solana [--network N]
 *                                   GET /v1/mpc/keys/{id}/address
 *   mpc psbt --key ID --psbt @f [--finalize] [--network N]
 *                                   POST /v1/mpc/keys/{id}/psbt
 *   mpc send --key ID --chain solana|bitcoin --to A --amount X --rpc URL
 *                                   POST .../solana/transfer | .../bitcoin/send
 *
 * Amounts: bitcoin in BTC ("0.001") or satoshis ("1500sat"); solana in SOL
 * ("0.25") or lamports ("1000000lamports"). Checked here before anything is
 * sent; the server checks again. */
#include <stdlib.h>
#include <string.h>
#include "kashguard/chain.h"
#include "cli_int.h"

#define OPT_END {NULL, 0, NULL, false, NULL}
#define OPT_KEY {"key", KG_OPT_STR, "<key-id>", true, "The MPC key (mpc-...)."}
#define OPT_JSON {"json", KG_OPT_BOOL, NULL, false, "Print the server's JSON answer."}
#define OPT_PATH {"path", KG_OPT_STR, "<m/i/j>", false, \
    "Threshold ECDSA (cggmp21) keys: the non-hardened BIP32 child to use (default m, the key itself)."}

const kg_cli_opt kg_opts_mpc_address[] = {
    OPT_KEY,
    {"chain", KG_OPT_STR, "<chain>", true,
     "bitcoin (a frost-secp256k1-tr key: P2TR, BIP86; a cggmp21-secp256k1 key: P2WPKH), solana (a frost-ed25519 "
     "key) or eth (a cggmp21-secp256k1 key)."},
    {"network", KG_OPT_STR, "<net>", false, "Bitcoin network: mainnet (default), testnet, signet or regtest."},
    OPT_PATH,
    OPT_JSON,
    OPT_END,
};
const kg_cli_opt kg_opts_mpc_psbt[] = {
    OPT_KEY,
    {"psbt", KG_OPT_STR, "<psbt>", true, "The PSBT: base64, @file (base64 or binary) or - for stdin."},
    {"finalize", KG_OPT_BOOL, NULL, false, "Finalize and print the network transaction (hex) instead of the PSBT."},
    {"network", KG_OPT_STR, "<net>", false, "Bitcoin network, for messages (default mainnet)."},
    OPT_PATH,
    OPT_JSON,
    OPT_END,
};
const kg_cli_opt kg_opts_mpc_send[] = {
    OPT_KEY,
    {"chain", KG_OPT_STR, "<chain>", true, "solana, bitcoin or eth (threshold ECDSA keys, EIP-1559)."},
    {"to", KG_OPT_STR, "<address>", true, "The recipient."},
    {"amount", KG_OPT_STR, "<amount>", true,
     "bitcoin: BTC (0.001) or satoshis (1500sat); solana: SOL (0.25) or lamports (1000000lamports)."},
    {"rpc", KG_OPT_STR, "<url>", true,
     "The node API the server talks to: an Esplora API root (bitcoin) or a Solana JSON-RPC URL."},
    {"network", KG_OPT_STR, "<net>", false, "Bitcoin network (default mainnet)."},
    {"fee-rate", KG_OPT_STR, "<sat/vB>", false, "Bitcoin fee rate (default: the node's 6-block estimate)."},
    {"no-wait", KG_OPT_BOOL, NULL, false, "Solana, eth: do not wait for the transfer to be confirmed."},
    OPT_PATH,
    OPT_JSON,
    OPT_END,
};

/* A plain word for a query value (no escaping needed). */
static int word_opt(kg_cli *cli, const char *opt)
{
    const char *v = kg_cli_str(cli, opt);
    if (v && (v[0] == '\0' || strlen(v) > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(v)))
        return kg_cli_usage_error(cli, "--%s '%.40s' is not a name (lowercase letters and digits)", opt, v);
    return KG_CLI_OK;
}

/* Call method path (the key's path + suffix) with body; print field, or all with --json. */
static int call_print(kg_cli *cli, const char *method, const char *suffix, const json_t *body, const char *field)
{
    char *path = kg_cli_path("/v1/mpc/keys/", kg_cli_str(cli, "key"), suffix);
    if (!path) return kg_cli_usage_error(cli, "out of memory");
    json_t *resp = NULL;
    int rc = kg_cli_call(cli, &resp, NULL, method, path, body);
    free(path);
    if (rc == KG_CLI_OK && resp) {
        if (kg_cli_bool(cli, "json") || cli->json) kg_cli_print_json(cli->out, resp);
        else fprintf(cli->out, "%s\n", kg_cli_field(resp, field));
    }
    json_decref(resp);
    return rc;
}

int kg_cmd_mpc_address(kg_cli *cli)
{
    const char *chain = kg_cli_str(cli, "chain"), *net = kg_cli_str(cli, "network");
    char suffix[160];
    int rc;
    const char *path = kg_cli_str(cli, "path"); /* ECDSA keys: m/0/5 (digits, '/', 'm' only) */
    if ((rc = word_opt(cli, "chain")) || (rc = word_opt(cli, "network"))) return rc;
    if (path && (strlen(path) > 60 || strspn(path, "m/0123456789") != strlen(path)))
        return kg_cli_usage_error(cli, "--path '%.40s' is not a non-hardened BIP32 path like m/0/5", path);
    snprintf(suffix, sizeof suffix, "/address?chain=%s%s%s%s%s", chain, net ? "&network=" : "", net ? net : "",
             path ? "&path=" : "", path ? path : "");
    return call_print(cli, "GET", suffix, NULL, "address");
}

int kg_cmd_mpc_psbt(kg_cli *cli)
{
    char *b64 = NULL;
    int rc = word_opt(cli, "network");
    if (rc) return rc;
    kg_err err = kg_cli_read_b64(&b64, "psbt", kg_cli_str(cli, "psbt"));
    if (err) return kg_cli_local_error(cli, err);
    bool fin = kg_cli_bool(cli, "finalize");
    json_t *body = json_pack("{s:s, s:b}", "psbt", b64, "finalize", fin);
    free(b64);
    if (body && kg_cli_str(cli, "network")) json_object_set_new(body, "network", json_string(kg_cli_str(cli, "network")));
    if (body && kg_cli_str(cli, "path")) json_object_set_new(body, "path", json_string(kg_cli_str(cli, "path")));
    if (!body) return kg_cli_usage_error(cli, "out of memory");
    rc = call_print(cli, "POST", "/psbt", body, fin ? "tx" : "psbt");
    json_decref(body);
    return rc;
}

/* --amount in base units: "<n><unit>" or a decimal of `decimals` places. */
static int amount_opt(kg_cli *cli, uint64_t *out, const char *unit, unsigned decimals, const char *coin)
{
    const char *v = kg_cli_str(cli, "amount");
    size_t n = strlen(v), u = strlen(unit);
    uint8_t w[32];
    char dec[64];
    bool base = n > u && strcmp(v + n - u, unit) == 0;
    snprintf(dec, sizeof dec, "%.*s", base ? (int)(n - u) : (int)n, v);
    if (n >= sizeof dec || dec[0] == '\0' || kg_chain_eth_units_parse(w, dec, base ? 0 : decimals) != KG_OK ||
        kg_chain_eth_u256_to_u64(out, w) != KG_OK)
        return kg_cli_usage_error(cli, "--amount '%.40s' is not an amount: give %s (at most %u decimals) or "
                                  "\"<n>%s\"", v, coin, decimals, unit);
    if (*out == 0) return kg_cli_usage_error(cli, "--amount must be above 0");
    return KG_CLI_OK;
}

static int send_bitcoin(kg_cli *cli, json_t *body)
{
    uint64_t sat = 0;
    int rc = amount_opt(cli, &sat, "sat", 8, "BTC");
    if (rc) return rc;
    if (kg_cli_bool(cli, "no-wait")) return kg_cli_usage_error(cli, "--no-wait applies to --chain solana only");
    json_object_set_new(body, "amount_sat", json_integer((json_int_t)sat));
    json_object_set_new(body, "esplora", json_string(kg_cli_str(cli, "rpc")));
    if (kg_cli_str(cli, "network")) json_object_set_new(body, "network", json_string(kg_cli_str(cli, "network")));
    const char *fr = kg_cli_str(cli, "fee-rate");
    if (fr) {
        char *end = NULL;
        double d = strtod(fr, &end);
        if (end == fr || *end != '\0' || !(d >= 1.0 && d <= 1000.0))
            return kg_cli_usage_error(cli, "--fee-rate '%.40s' must be a number of sat/vB from 1 to 1000", fr);
        json_object_set_new(body, "fee_rate", json_real(d));
    }
    return call_print(cli, "POST", "/bitcoin/send", body, "txid");
}

static int send_solana(kg_cli *cli, json_t *body)
{
    uint64_t lamports = 0;
    int rc = amount_opt(cli, &lamports, "lamports", 9, "SOL");
    if (rc) return rc;
    if (kg_cli_str(cli, "network") || kg_cli_str(cli, "fee-rate"))
        return kg_cli_usage_error(cli, "--network and --fee-rate apply to --chain bitcoin only");
    json_object_set_new(body, "lamports", json_integer((json_int_t)lamports));
    json_object_set_new(body, "rpc", json_string(kg_cli_str(cli, "rpc")));
    if (kg_cli_bool(cli, "no-wait")) json_object_set_new(body, "wait", json_false());
    return call_print(cli, "POST", "/solana/transfer", body, "signature");
}

int kg_cmd_mpc_send(kg_cli *cli)
{
    const char *chain = kg_cli_str(cli, "chain");
    bool btc = strcmp(chain, "bitcoin") == 0 || strcmp(chain, "btc") == 0;
    bool sol = strcmp(chain, "solana") == 0 || strcmp(chain, "sol") == 0;
    bool eth = strcmp(chain, "eth") == 0 || strcmp(chain, "ethereum") == 0; /* cmd_mpc_ecdsa.c */
    if (!btc && !sol && !eth) return kg_cli_usage_error(cli, "--chain '%.40s': use bitcoin, solana or eth", chain);
    if (!eth && kg_cli_str(cli, "path")) return kg_cli_usage_error(cli, "--path applies to --chain eth");
    json_t *body = json_pack("{s:s}", "to", kg_cli_str(cli, "to"));
    if (!body) return kg_cli_usage_error(cli, "out of memory");
    int rc = eth ? kg_cli_mpc_send_evm(cli, body) : btc ? send_bitcoin(cli, body) : send_solana(cli, body);
    json_decref(body);
    return rc;
}
