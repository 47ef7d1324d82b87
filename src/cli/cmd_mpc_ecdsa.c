/* The MPC commands of threshold ECDSA (CGGMP21) keys:
 *
 *   mpc presign --key K --count N     POST /v1/mpc/keys/{id}/presign: N
 *                                     single-use presignatures made ahead
 *   mpc sign --key K --digest HEX|--digest-b64 B64 [--path m/0/5]
 *                                     POST .../sign {"digest","path"}, or with
 *                                     --ca-dir this command coordinates
 *                                     (kg_mpc_coordinator_cggmp_sign)
 *   mpc send --chain eth ...          POST .../evm/send (EIP-1559 transfer)
 *
 * `mpc keygen --scheme cggmp21-...` and `mpc refresh` of an ECDSA key go
 * through their usual commands (cmd_mpc.c, cmd_mpc_refresh.c), which call
 * the CGGMP21 coordinator functions for these keys; `mpc address` and
 * `mpc psbt` take --path for ECDSA keys (cmd_mpc_wallet.c). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/chain.h"
#include "kashguard/mpc.h"
#include "cli_int.h"

#define OPT_END {NULL, 0, NULL, false, NULL}

const kg_cli_opt kg_opts_mpc_presign[] = {
    {"key", KG_OPT_STR, "<key-id>", false, "The MPC key (mpc-...); or give it as the argument."},
    {"count", KG_OPT_STR, "<n>", true, "How many presignatures to make (1..1000)."},
    {"json", KG_OPT_BOOL, NULL, false, "Print the server's JSON answer."},
    OPT_END,
};

/* The key of a command: --key, else the single argument. */
static const char *key_arg(const kg_cli *cli)
{
    const char *k = kg_cli_str(cli, "key");
    return k ? k : cli->npos == 1 ? cli->pos[0] : NULL;
}

int kg_cmd_mpc_presign(kg_cli *cli)
{
    unsigned long count = 0;
    const char *key = key_arg(cli);
    if (!key) return kg_cli_usage_error(cli, "give the MPC key: `mpc presign KEY --count N` (or --key KEY)");
    if (kg_cli_str(cli, "key") && cli->npos) return kg_cli_usage_error(cli, "give the key once: --key or KEY");
    if (kg_cli_uint(cli, &count, "count", 0, 1, 1000)) return KG_CLI_LOCAL;
    json_t *body = json_pack("{s:I}", "count", (json_int_t)count), *resp = NULL;
    char *path = kg_cli_path("/v1/mpc/keys/", key, "/presign");
    int rc = body && path ? kg_cli_call(cli, &resp, NULL, "POST", path, body) : kg_cli_usage_error(cli, "out of memory");
    if (rc == KG_CLI_OK && resp) {
        if (kg_cli_bool(cli, "json") || cli->json) kg_cli_print_json(cli->out, resp);
        else fprintf(cli->out, "made %lld presignatures for %s\n", (long long)json_integer_value(json_object_get(resp, "made")),
                     key);
    }
    json_decref(resp);
    json_decref(body);
    free(path);
    return rc;
}

/* --digest (hex, 0x optional) or --digest-b64 -> 32 bytes. */
static int digest_opt(kg_cli *cli, uint8_t d[32])
{
    const char *hex = kg_cli_str(cli, "digest"), *b64 = kg_cli_str(cli, "digest-b64");
    kg_bytes b = {0};
    size_t len = 0;
    if ((hex != NULL) == (b64 != NULL)) return kg_cli_usage_error(cli, "give one of --digest HEX and --digest-b64 B64");
    if (hex) {
        if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex += 2;
        if (strlen(hex) != 64 || kg_hex_decode(d, 32, &len, hex) != KG_OK || len != 32)
            return kg_cli_usage_error(cli, "--digest must be 64 hex digits (32 bytes: a SHA-256 or Keccak-256 digest)");
        return KG_CLI_OK;
    }
    if (kg_b64_decode(&b, b64) != KG_OK || b.len != 32) {
        kg_bytes_free(&b);
        return kg_cli_usage_error(cli, "--digest-b64 must be base64 of 32 bytes");
    }
    memcpy(d, b.data, 32);
    kg_bytes_free(&b);
    return KG_CLI_OK;
}

static void print_sig(kg_cli *cli, const char *key, const char *sig, int recid, const char *pub, const char *path)
{
    if (kg_cli_bool(cli, "json") || cli->json) {
        json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "key_id", key, "signature", sig, "recovery_id", recid,
                              "public_key", pub, "path", path);
        kg_cli_print_json(cli->out, o);
        json_decref(o);
        return;
    }
    fprintf(cli->out, "signature    %s\nrecovery_id  %d\npublic_key   %s\n", sig, recid, pub);
}

/* Standalone (--ca-dir): this command coordinates the key's nodes. */
static int sign_local(kg_cli *cli, const uint8_t d[32], const char *path)
{
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t n = 0;
    uint8_t sig[64], pub[KG_MPC_POINT_MAX_BYTES];
    int recid = -1;
    kg_mpc_point child;
    kg_mpc_coordinator *co = NULL;
    kg_mpc_key *k = calloc(1, sizeof *k);
    if (!k) return kg_cli_usage_error(cli, "out of memory");
    kg_err err = kg_mpc_key_file_load(k, kg_cli_str(cli, "ca-dir"), kg_cli_str(cli, "key"));
    if (err) {
        free(k);
        return kg_cli_local_error(cli, err);
    }
    int rc = local_coordinator(cli, &co, ids, &n);
    if (!rc) {
        err = k->ecdsa ? kg_mpc_coordinator_cggmp_sign(co, k, d, path, sig, &recid, &child)
                       : kg_err_set(KG_ERR_BAD_INPUT, "MPC key %s is %s: --digest needs a threshold ECDSA key "
                                    "(cggmp21-*); sign FROST keys with --message", k->key_id, kg_mpc_key_scheme(k));
        if (!err) err = kg_mpc_point_serialize(k->g, pub, &child);
        if (err) {
            fprintf(cli->err, "Error: %s\n", kg_err_detail(err));
            rc = err == KG_ERR_BAD_INPUT || err == KG_ERR_NOT_FOUND ? KG_CLI_LOCAL : KG_CLI_REMOTE;
        } else {
            char s64[100], p64[64];
            kg_b64_encode(s64, sig, 64);
            kg_b64_encode(p64, pub, 33);
            print_sig(cli, k->key_id, s64, recid, p64, path ? path : "m");
        }
    }
    kg_mpc_coordinator_free(co);
    free(k);
    return rc;
}

int kg_cli_mpc_sign_digest(kg_cli *cli)
{
    uint8_t d[32];
    char b64[64];
    const char *path = kg_cli_str(cli, "path");
    int rc = digest_opt(cli, d);
    if (rc) return rc;
    if (kg_cli_str(cli, "message")) return kg_cli_usage_error(cli, "give --message (FROST keys) or --digest (ECDSA "
                                                                "keys), not both");
    if (kg_cli_bool(cli, "taproot")) return kg_cli_usage_error(cli, "--taproot applies to frost-secp256k1-tr keys");
    signal(SIGPIPE, SIG_IGN);
    if (kg_cli_str(cli, "ca-dir")) return sign_local(cli, d, path);
    if (kg_cli_str(cli, "nodes")) return kg_cli_usage_error(cli, "--nodes needs --ca-dir (a standalone coordinator)");
    kg_b64_encode(b64, d, 32);
    json_t *body = json_pack("{s:s}", "digest", b64), *resp = NULL;
    if (body && path) json_object_set_new(body, "path", json_string(path));
    char *p = kg_cli_path("/v1/mpc/keys/", kg_cli_str(cli, "key"), "/sign");
    rc = body && p ? kg_cli_call(cli, &resp, NULL, "POST", p, body) : kg_cli_usage_error(cli, "out of memory");
    if (rc == KG_CLI_OK && resp)
        print_sig(cli, kg_cli_str(cli, "key"), kg_cli_field(resp, "signature"),
                  (int)json_integer_value(json_object_get(resp, "recovery_id")), kg_cli_field(resp, "public_key"),
                  kg_cli_field(resp, "path"));
    json_decref(resp);
    json_decref(body);
    free(p);
    return rc;
}

/* `mpc send --chain eth`: --amount in ETH ("0.5") or wei ("1000wei"). */
int kg_cli_mpc_send_evm(kg_cli *cli, json_t *body)
{
    const char *v = kg_cli_str(cli, "amount");
    size_t n = strlen(v);
    uint8_t w[32];
    char dec[100], wei[KG_CHAIN_ETH_U256_DEC_BYTES];
    bool base = n > 3 && strcmp(v + n - 3, "wei") == 0;
    snprintf(dec, sizeof dec, "%.*s", base ? (int)(n - 3) : (int)n, v);
    if (n >= sizeof dec || dec[0] == '\0' || kg_chain_eth_units_parse(w, dec, base ? 0 : 18) != KG_OK)
        return kg_cli_usage_error(cli, "--amount '%.40s' is not an amount: give ETH (at most 18 decimals) or "
                                  "\"<n>wei\"", v);
    if (kg_cli_str(cli, "network") || kg_cli_str(cli, "fee-rate"))
        return kg_cli_usage_error(cli, "--network and --fee-rate apply to --chain bitcoin only");
    kg_chain_eth_u256_to_dec(wei, w);
    json_object_set_new(body, "value_wei", json_string(wei));
    json_object_set_new(body, "rpc", json_string(kg_cli_str(cli, "rpc")));
    if (kg_cli_str(cli, "path")) json_object_set_new(body, "path", json_string(kg_cli_str(cli, "path")));
    if (kg_cli_bool(cli, "no-wait")) json_object_set_new(body, "wait", json_false());
    char *p = kg_cli_path("/v1/mpc/keys/", kg_cli_str(cli, "key"), "/evm/send");
    json_t *resp = NULL;
    int rc = p ? kg_cli_call(cli, &resp, NULL, "POST", p, body) : kg_cli_usage_error(cli, "out of memory");
    if (rc == KG_CLI_OK && resp) {
        if (kg_cli_bool(cli, "json") || cli->json) kg_cli_print_json(cli->out, resp);
        else fprintf(cli->out, "%s\n", kg_cli_field(resp, "tx_hash"));
    }
    json_decref(resp);
    free(p);
    return rc;
}
