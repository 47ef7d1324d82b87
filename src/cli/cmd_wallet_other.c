/* `kashguard wallet address|sign-tx` for Cosmos SDK chains and Solana.
 *
 * Cosmos: the key is BIP44 m/44'/118'/0'/0/N (secp256k1), the address the
 * Bech32 of RIPEMD160(SHA256(pubkey)) under --hrp (default "cosmos"), and
 * sign-tx builds one bank MsgSend, signs it in SIGN_MODE_DIRECT and prints
 * the broadcast-ready TxRaw as base64 (what /cosmos/tx/v1beta1/txs takes as
 * tx_bytes). The account number and sequence come from the caller: there is
 * no Cosmos RPC client.
 *
 * Solana: the key is SLIP-10 ed25519 m/44'/501'/N'/0' (Phantom, Solflare,
 * solana-keygen's default), the address its Base58 public key, and sign-tx
 * a System Program transfer with the caller's recent blockhash, printed as
 * the base64 wire transaction (sendTransaction with encoding "base64"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"
#include "kashguard/wallet/hd.h"
#include "kashguard/chain/cosmos.h"
#include "kashguard/chain/solana.h"
#include "kashguard/chain/encoding.h"

#define COSMOS_TX_MAX 4096

/* "m/44'/118'/0'/0/5" of ref. */
static json_t *path_of(const kg_key_ref *ref)
{
    char p[KG_WALLET_PATH_MAX_BYTES] = "";
    if (kg_wallet_path_format(p, sizeof p, ref->path, ref->path_len, true) != KG_OK) p[0] = 0;
    return json_string(p);
}

/* Cosmos address of ref under hrp into out. Prints the error. */
static int cosmos_addr(kg_cli *cli, char *out, size_t cap, uint8_t pub33[33], kg_signer *s,
                       const kg_key_ref *ref, const char *hrp)
{
    kg_pubkey pk;
    kg_err e = kg_signer_public_key(s, &pk, ref, KG_SIG_ECDSA_SECP256K1);
    if (e == KG_OK && pk.len != 33) e = kg_err_set(KG_ERR_CRYPTO, "the signer gave no compressed key");
    if (e == KG_OK) e = kg_chain_cosmos_address(out, cap, hrp, pk.data);
    if (e != KG_OK) return kg_cli_usage_error(cli, "%s", kg_err_detail(e));
    memcpy(pub33, pk.data, 33);
    return KG_CLI_OK;
}

int kg_cli_wallet_cosmos_address(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w)
{
    const char *hrp = kg_cli_str(cli, "hrp") ? kg_cli_str(cli, "hrp") : "cosmos";
    char addr[KG_CHAIN_COSMOS_ADDRESS_MAX_BYTES];
    uint8_t pub[33];
    kg_key_ref ref;
    int rc = kg_cli_wallet_ref(cli, &ref, w, KG_CLI_CHAIN_COSMOS, 0, 0);
    if (rc == KG_CLI_OK) rc = cosmos_addr(cli, addr, sizeof addr, pub, s, &ref, hrp);
    if (rc != KG_CLI_OK) return rc;
    return kg_cli_wallet_emit(cli, "address", addr,
                              json_pack("{s:s,s:s,s:o}", "chain", "cosmos", "hrp", hrp, "path", path_of(&ref)));
}

static int sol_pub(kg_cli *cli, uint8_t pub[32], kg_signer *s, const kg_key_ref *ref)
{
    kg_pubkey pk;
    kg_err e = kg_signer_public_key(s, &pk, ref, KG_SIG_ED25519);
    if (e == KG_OK && pk.len != 32) e = kg_err_set(KG_ERR_CRYPTO, "the signer gave no Ed25519 key");
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    memcpy(pub, pk.data, 32);
    return KG_CLI_OK;
}

int kg_cli_wallet_solana_address(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w)
{
    char addr[KG_CHAIN_SOL_ADDRESS_MAX_BYTES];
    uint8_t pub[32];
    kg_key_ref ref;
    int rc = kg_cli_wallet_ref(cli, &ref, w, KG_CLI_CHAIN_SOLANA, 0, 0);
    if (rc == KG_CLI_OK) rc = sol_pub(cli, pub, s, &ref);
    if (rc != KG_CLI_OK) return rc;
    if (kg_chain_sol_address(addr, sizeof addr, pub) != KG_OK) return kg_cli_usage_error(cli, "bad key");
    return kg_cli_wallet_emit(cli, "address", addr, json_pack("{s:s,s:o}", "chain", "solana", "path", path_of(&ref)));
}

/* A required option; prints the error naming the chain. */
static const char *need(kg_cli *cli, const char *opt, const char *chain, int *rc)
{
    const char *v = kg_cli_str(cli, opt);
    if (!v && *rc == KG_CLI_OK)
        *rc = kg_cli_usage_error(cli, "missing required option --%s for --chain %s; see `kashguard wallet "
                                 "sign-tx --help`", opt, chain);
    return v;
}

/* An unsigned 64-bit decimal option (absent: def). */
static int u64_opt(kg_cli *cli, uint64_t *out, const char *opt, uint64_t def, bool positive)
{
    const char *v = kg_cli_str(cli, opt);
    char *end;
    *out = def;
    if (!v) return KG_CLI_OK;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-' || v[0] == '+' || v[0] == ' ' || (positive && n == 0))
        return kg_cli_usage_error(cli, "--%s must be a whole number%s, not '%.40s'", opt,
                                  positive ? " above 0" : "", v);
    *out = n;
    return KG_CLI_OK;
}

/* A Cosmos SDK Int amount: digits only, not all zero when positive. */
static int cosmos_amount(kg_cli *cli, const char *opt, const char *v, bool positive)
{
    if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 77)
        return kg_cli_usage_error(cli, "--%s must be a whole number of base units (e.g. 1000000 uatom), "
                                  "not '%.40s'", opt, v);
    if (positive && strspn(v, "0") == strlen(v)) return kg_cli_usage_error(cli, "--%s must be above 0", opt);
    return KG_CLI_OK;
}

int kg_cmd_wallet_sign_tx_cosmos(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w)
{
    int rc = KG_CLI_OK;
    const char *to = need(cli, "to", "cosmos", &rc), *amount = need(cli, "amount", "cosmos", &rc);
    const char *denom = need(cli, "denom", "cosmos", &rc), *chain_id = need(cli, "chain-id", "cosmos", &rc);
    const char *hrp = kg_cli_str(cli, "hrp") ? kg_cli_str(cli, "hrp") : "cosmos";
    const char *fee = kg_cli_str(cli, "fee"), *fee_denom = kg_cli_str(cli, "fee-denom");
    char from[KG_CHAIN_COSMOS_ADDRESS_MAX_BYTES];
    uint8_t out[COSMOS_TX_MAX], sig[64];
    size_t len = 0;
    kg_key_ref ref;
    kg_chain_cosmos_tx tx;
    kg_chain_cosmos_msg_send msg;
    kg_chain_cosmos_coin coin, fee_coin;
    need(cli, "account-number", "cosmos", &rc);
    need(cli, "sequence", "cosmos", &rc);
    if (rc != KG_CLI_OK) return rc;
    memset(&tx, 0, sizeof tx);
    if ((rc = cosmos_amount(cli, "amount", amount, true)) || (fee && (rc = cosmos_amount(cli, "fee", fee, false))) ||
        (rc = u64_opt(cli, &tx.account_number, "account-number", 0, false)) ||
        (rc = u64_opt(cli, &tx.sequence, "sequence", 0, false)) ||
        (rc = u64_opt(cli, &tx.gas_limit, "gas", 200000, true)))
        return rc;
    kg_err e = kg_chain_cosmos_address_check(NULL, to, hrp);
    if (e != KG_OK) return kg_cli_usage_error(cli, "--to is not a '%s' address: %s", hrp, kg_err_detail(e));
    if ((rc = kg_cli_wallet_ref(cli, &ref, w, KG_CLI_CHAIN_COSMOS, 0, 0)) != KG_CLI_OK) return rc;
    if ((rc = cosmos_addr(cli, from, sizeof from, tx.pubkey, s, &ref, hrp)) != KG_CLI_OK) return rc;
    coin.denom = denom;
    coin.amount = amount;
    fee_coin.denom = fee_denom ? fee_denom : denom;
    fee_coin.amount = fee ? fee : "0";
    msg.from_address = from;
    msg.to_address = to;
    msg.amount = &coin;
    msg.amount_count = 1;
    tx.msgs = &msg;
    tx.msg_count = 1;
    tx.memo = kg_cli_str(cli, "memo");
    tx.fee = &fee_coin;
    tx.fee_count = fee ? 1 : 0;
    tx.chain_id = chain_id;
    e = kg_chain_cosmos_tx_sign(out, sizeof out, &len, sig, NULL, 0, NULL, s, &ref, &tx);
    if (e != KG_OK) return kg_cli_usage_error(cli, "%s", kg_err_detail(e));
    char *b64 = malloc(kg_b64_encoded_len(len)), sig64[96];
    if (!b64) return kg_cli_usage_error(cli, "out of memory");
    kg_b64_encode(b64, out, len);
    kg_b64_encode(sig64, sig, 64);
    rc = kg_cli_wallet_emit(cli, "tx_bytes", b64, json_pack("{s:s,s:s,s:s}", "from", from, "signature", sig64,
                                                           "chain_id", chain_id));
    free(b64);
    return rc;
}

int kg_cmd_wallet_sign_tx_solana(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w)
{
    int rc = KG_CLI_OK;
    const char *to = need(cli, "to", "solana", &rc), *bh = need(cli, "recent-blockhash", "solana", &rc);
    kg_chain_sol_transfer t;
    kg_key_ref ref;
    uint8_t out[KG_CHAIN_SOL_TX_MAX_BYTES], sig[64];
    size_t len = 0;
    char from[KG_CHAIN_SOL_ADDRESS_MAX_BYTES], sig58[KG_CHAIN_BASE58_MAX_LEN(64) + 1];
    need(cli, "lamports", "solana", &rc);
    if (rc != KG_CLI_OK) return rc;
    memset(&t, 0, sizeof t);
    if ((rc = u64_opt(cli, &t.lamports, "lamports", 0, true)) != KG_CLI_OK) return rc;
    if (kg_chain_sol_address_decode(t.to, to) != KG_OK)
        return kg_cli_usage_error(cli, "--to '%.60s' is not a Solana address (Base58 of 32 bytes)", to);
    if (kg_chain_sol_address_decode(t.recent_blockhash, bh) != KG_OK)
        return kg_cli_usage_error(cli, "--recent-blockhash '%.60s' is not a Base58 hash of 32 bytes "
                                  "(getLatestBlockhash)", bh);
    if ((rc = kg_cli_wallet_ref(cli, &ref, w, KG_CLI_CHAIN_SOLANA, 0, 0)) != KG_CLI_OK) return rc;
    if ((rc = sol_pub(cli, t.from, s, &ref)) != KG_CLI_OK) return rc;
    kg_err e = kg_chain_sol_transfer_sign(out, sizeof out, &len, sig, s, &ref, &t);
    if (e == KG_OK) e = kg_chain_sol_address(from, sizeof from, t.from);
    if (e == KG_OK) e = kg_chain_base58_encode(sig58, sizeof sig58, sig, 64);
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    char b64[KG_CHAIN_SOL_TX_MAX_BYTES / 3 * 4 + 8];
    kg_b64_encode(b64, out, len);
    return kg_cli_wallet_emit(cli, "tx", b64, json_pack("{s:s,s:s}", "from", from, "signature", sig58));
}
