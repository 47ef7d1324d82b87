/* `kashguard wallet address|balance|send|sign-tx` for Cosmos SDK chains and
 * Solana.
 *
 * Cosmos: the key is BIP44 m/44'/118'/0'/0/N (secp256k1), the address the
 * Bech32 of RIPEMD160(SHA256(pubkey)) under --hrp (default "cosmos"). A
 * transfer is one bank MsgSend signed in SIGN_MODE_DIRECT, as a TxRaw:
 * sign-tx prints it as base64 (the caller gives chain id, account number
 * and sequence); send asks the node's REST API (--rpc, the LCD) for the
 * chain id (node_info, unless --chain-id), the account number and
 * sequence, checks the balance covers amount + fee (the node would only
 * find an overdraft in DeliverTx, after taking the fee), broadcasts with
 * BROADCAST_MODE_SYNC and waits for the tx to be in a block (up to 60 s,
 * unless --no-wait). It prints the tx hash the chain uses: upper-case hex
 * SHA256 of the TxRaw, checked against the node's.
 *
 * Solana: the key is SLIP-10 ed25519 m/44'/501'/N'/0' (Phantom, Solflare,
 * solana-keygen's default), the address its Base58 public key. A transfer
 * is a System Program transfer: sign-tx takes the recent blockhash and
 * prints the base64 wire transaction; send gets the blockhash from the
 * node (getLatestBlockhash), sends with preflight simulation (a transfer
 * the runtime would refuse is refused before it costs anything), waits
 * for "confirmed" (60 s, unless --no-wait) and prints the signature, which
 * is the transaction id.
 *
 * With --mpc-key the cosmos key is the MPC key's m/0/N (cmd_wallet_mpc.c).
 *
 * Exit codes: 1 for what is wrong locally (flags, amounts, addresses, an
 * overdraft seen before signing), 2 when the node fails or refuses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"
#include "kashguard/wallet/hd.h"
#include "kashguard/chain/cosmos.h"
#include "kashguard/chain/solana.h"
#include "kashguard/chain/encoding.h"
#include "kashguard/chain/ethereum.h"

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

/* A required option; prints the error naming the chain and the command. */
static const char *need(kg_cli *cli, const char *opt, const char *chain, int *rc)
{
    const char *v = kg_cli_str(cli, opt);
    if (!v && *rc == KG_CLI_OK)
        *rc = kg_cli_usage_error(cli, "missing required option --%s for --chain %s; see `kashguard %s --help`",
                                 opt, chain, cli->cmd->name);
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

/* A chain node failed or refused: exit 2. */
static int node_error(kg_cli *cli, kg_err e)
{
    fprintf(cli->err, "Error: %s\n", kg_err_detail(e));
    return KG_CLI_REMOTE;
}

/* ------------------------------------------------------ cosmos MsgSend */

/* One MsgSend: the flags, the key, and the transaction they make. The
 * pointers inside tx point into this struct: keep it in place. */
typedef struct {
    const char *to, *amount, *denom, *fee, *hrp, *chain_id;
    char from[KG_CHAIN_COSMOS_ADDRESS_MAX_BYTES];
    char node_chain_id[KG_CHAIN_COSMOS_CHAIN_ID_MAX_BYTES];
    kg_key_ref ref;
    kg_chain_cosmos_coin coin, fee_coin;
    kg_chain_cosmos_msg_send msg;
    kg_chain_cosmos_tx tx;
} cosmos_send;

/* The flags of sign-tx and send (checked before the wallet is opened). */
static int cosmos_flags(kg_cli *cli, cosmos_send *q, bool offline)
{
    int rc = KG_CLI_OK;
    memset(q, 0, sizeof *q);
    q->to = need(cli, "to", "cosmos", &rc);
    q->amount = need(cli, "amount", "cosmos", &rc);
    q->denom = need(cli, "denom", "cosmos", &rc);
    q->chain_id = offline ? need(cli, "chain-id", "cosmos", &rc) : kg_cli_str(cli, "chain-id");
    if (offline) {
        need(cli, "account-number", "cosmos", &rc);
        need(cli, "sequence", "cosmos", &rc);
    }
    if (rc != KG_CLI_OK) return rc;
    q->hrp = kg_cli_str(cli, "hrp") ? kg_cli_str(cli, "hrp") : "cosmos";
    q->fee = kg_cli_str(cli, "fee");
    if ((rc = cosmos_amount(cli, "amount", q->amount, true)) ||
        (q->fee && (rc = cosmos_amount(cli, "fee", q->fee, false))) ||
        (rc = u64_opt(cli, &q->tx.account_number, "account-number", 0, false)) ||
        (rc = u64_opt(cli, &q->tx.sequence, "sequence", 0, false)) ||
        (rc = u64_opt(cli, &q->tx.gas_limit, "gas", 200000, true)))
        return rc;
    kg_err e = kg_chain_cosmos_address_check(NULL, q->to, q->hrp);
    if (e != KG_OK) return kg_cli_usage_error(cli, "--to is not a '%s' address: %s", q->hrp, kg_err_detail(e));
    q->coin.denom = q->denom;
    q->coin.amount = q->amount;
    q->fee_coin.denom = kg_cli_str(cli, "fee-denom") ? kg_cli_str(cli, "fee-denom") : q->denom;
    q->fee_coin.amount = q->fee ? q->fee : "0";
    q->msg.to_address = q->to;
    q->msg.amount = &q->coin;
    q->msg.amount_count = 1;
    q->tx.msgs = &q->msg;
    q->tx.msg_count = 1;
    q->tx.memo = kg_cli_str(cli, "memo");
    q->tx.fee = &q->fee_coin;
    q->tx.fee_count = q->fee ? 1 : 0;
    return KG_CLI_OK;
}

/* The sender: key and address of --index/--path under --hrp. */
static int cosmos_sender(kg_cli *cli, cosmos_send *q, kg_signer *s, const kg_wallet_unlocked *w)
{
    int rc = kg_cli_wallet_ref(cli, &q->ref, w, KG_CLI_CHAIN_COSMOS, 0, 0);
    if (rc == KG_CLI_OK) rc = cosmos_addr(cli, q->from, sizeof q->from, q->tx.pubkey, s, &q->ref, q->hrp);
    q->msg.from_address = q->from;
    return rc;
}

/* Sign: out gets the TxRaw (COSMOS_TX_MAX bytes), sig the signature. */
static int cosmos_sign(kg_cli *cli, cosmos_send *q, kg_signer *s, uint8_t *out, size_t *len, uint8_t sig[64])
{
    q->tx.chain_id = q->chain_id;
    kg_err e = kg_chain_cosmos_tx_sign(out, COSMOS_TX_MAX, len, sig, NULL, 0, NULL, s, &q->ref, &q->tx);
    return e == KG_OK ? KG_CLI_OK : kg_cli_wallet_sign_error(cli, e);
}

int kg_cmd_wallet_sign_tx_cosmos(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w)
{
    cosmos_send q;
    uint8_t out[COSMOS_TX_MAX], sig[64];
    size_t len = 0;
    int rc;
    if ((rc = cosmos_flags(cli, &q, true)) || (rc = cosmos_sender(cli, &q, s, w)) ||
        (rc = cosmos_sign(cli, &q, s, out, &len, sig)))
        return rc;
    char *b64 = malloc(kg_b64_encoded_len(len)), sig64[96];
    if (!b64) return kg_cli_usage_error(cli, "out of memory");
    kg_b64_encode(b64, out, len);
    kg_b64_encode(sig64, sig, 64);
    rc = kg_cli_wallet_emit(cli, "tx_bytes", b64, json_pack("{s:s,s:s,s:s}", "from", q.from, "signature", sig64,
                                                           "chain_id", q.chain_id));
    free(b64);
    return rc;
}

/* a + b (decimal digit strings) into out; false when out is too small. */
static bool dec_add(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = (la > lb ? la : lb) + 1;
    unsigned carry = 0;
    if (n + 1 > cap) return false;
    out[n] = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = carry + (i < la ? (unsigned)(a[la - 1 - i] - '0') : 0) + (i < lb ? (unsigned)(b[lb - 1 - i] - '0') : 0);
        out[n - 1 - i] = (char)('0' + d % 10);
        carry = d / 10;
    }
    size_t z = strspn(out, "0");
    if (z == n) z = n - 1;
    memmove(out, out + z, n - z + 1);
    return true;
}

/* need <= have (decimal strings; a value past 2^256 counts as too much). */
static bool dec_le(const char *need_, const char *have)
{
    uint8_t a[32], b[32];
    if (kg_chain_eth_u256_from_dec(a, need_) != KG_OK) return false;
    return kg_chain_eth_u256_from_dec(b, have) == KG_OK && kg_chain_eth_u256_cmp(a, b) <= 0;
}

/* Wallets check funds before signing: a node runs the MsgSend only in
 * DeliverTx, so an overdraft passes the sync broadcast and then fails in
 * its block -- after the fee was taken. Prints the error. */
static int cosmos_funds(kg_cli *cli, kg_chain_cosmos_rpc *rpc, const cosmos_send *q)
{
    char have[KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES], sum[KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES + 2];
    bool same = !strcmp(q->denom, q->fee_coin.denom) && q->fee;
    kg_err e = kg_chain_cosmos_rpc_balance(rpc, have, q->from, q->denom);
    if (e != KG_OK) return node_error(cli, e);
    if (!dec_add(sum, sizeof sum, q->amount, same ? q->fee : "0")) sum[0] = 0;
    if (!sum[0] || !dec_le(sum, have))
        return kg_cli_usage_error(cli, "insufficient funds: %s holds %s %s, the transfer needs %s%s%s; nothing was "
                                  "sent", q->from, have, q->denom, q->amount, same ? " + fee " : "", same ? q->fee : "");
    if (q->fee && !same) {
        if ((e = kg_chain_cosmos_rpc_balance(rpc, have, q->from, q->fee_coin.denom)) != KG_OK) return node_error(cli, e);
        if (!dec_le(q->fee, have))
            return kg_cli_usage_error(cli, "insufficient funds for the fee: %s holds %s %s, the fee is %s; nothing "
                                      "was sent", q->from, have, q->fee_coin.denom, q->fee);
    }
    return KG_CLI_OK;
}

/* Chain id, account number and sequence from the node (unless given). */
static int cosmos_account(kg_cli *cli, kg_chain_cosmos_rpc *rpc, cosmos_send *q)
{
    kg_err e;
    if (!q->chain_id) {
        if ((e = kg_chain_cosmos_rpc_chain_id(rpc, q->node_chain_id)) != KG_OK) return node_error(cli, e);
        q->chain_id = q->node_chain_id;
    }
    e = kg_chain_cosmos_rpc_account(rpc, &q->tx.account_number, &q->tx.sequence, q->from);
    return e == KG_OK ? KG_CLI_OK : node_error(cli, e);
}

/* Broadcast, check the hash, wait for the block unless --no-wait. */
static int cosmos_broadcast(kg_cli *cli, kg_chain_cosmos_rpc *rpc, kg_chain_cosmos_tx_result *r, const uint8_t *tx,
                            size_t len)
{
    char hash[KG_CHAIN_COSMOS_TXHASH_BYTES];
    kg_err e = kg_chain_cosmos_rpc_broadcast(rpc, r, tx, len);
    if (e != KG_OK) return node_error(cli, e);
    kg_chain_cosmos_tx_hash(hash, tx, len);
    if (strcmp(hash, r->txhash)) {
        fprintf(cli->err, "Error: the node reports tx hash %s for a transaction whose hash is %s\n", r->txhash, hash);
        return KG_CLI_REMOTE;
    }
    if (kg_cli_bool(cli, "no-wait")) return KG_CLI_OK;
    e = kg_chain_cosmos_rpc_wait_tx(rpc, r, hash, 500, 60000);
    if (e == KG_ERR_NOT_FOUND) {
        fprintf(cli->err, "Error: transaction %s is in no block after 60 s; it may still be (query "
                "/cosmos/tx/v1beta1/txs/%s later)\n", hash, hash);
        return KG_CLI_REMOTE;
    }
    return e == KG_OK ? KG_CLI_OK : node_error(cli, e);
}

static kg_err rpc_open(kg_cli *cli, kg_chain_cosmos_rpc **c, kg_chain_sol_rpc **s)
{
    const char *url = kg_cli_str(cli, "rpc");
    if (!url) return kg_err_set(KG_ERR_BAD_INPUT, "missing required option --rpc <url>");
    kg_err e = c ? kg_chain_cosmos_rpc_new(c, url, 15000) : kg_chain_sol_rpc_new(s, url, 15000);
    return e == KG_OK ? KG_OK : kg_err_set(e, "--rpc: %s", kg_err_detail(e));
}

static int send_cosmos(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w, kg_chain_cosmos_rpc *rpc,
                       cosmos_send *q)
{
    uint8_t tx[COSMOS_TX_MAX], sig[64];
    size_t len = 0;
    kg_chain_cosmos_tx_result r;
    int rc;
    if ((rc = cosmos_sender(cli, q, s, w)) || (rc = cosmos_account(cli, rpc, q)) || (rc = cosmos_funds(cli, rpc, q)) ||
        (rc = cosmos_sign(cli, q, s, tx, &len, sig)) || (rc = cosmos_broadcast(cli, rpc, &r, tx, len)))
        return rc;
    return kg_cli_wallet_emit(cli, "tx_hash", r.txhash,
                              json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:I,s:I}", "from", q->from, "to", q->to,
                                        "amount", q->amount, "chain_id", q->chain_id, "account_number",
                                        (json_int_t)q->tx.account_number, "sequence", (json_int_t)q->tx.sequence,
                                        "status", kg_cli_bool(cli, "no-wait") ? "pending" : "success",
                                        "height", (json_int_t)r.height, "gas_used", (json_int_t)r.gas_used));
}

/* ------------------------------------------------------ solana transfer */

/* --lamports N or --amount SOL ("1.5", 9 decimals), above 0. */
static int sol_lamports(kg_cli *cli, uint64_t *out)
{
    const char *sol = kg_cli_str(cli, "amount");
    uint8_t v[32];
    if (!sol == !kg_cli_str(cli, "lamports"))
        return kg_cli_usage_error(cli, "give --lamports <n> or --amount <SOL> (one of them) for --chain solana");
    if (!sol) return u64_opt(cli, out, "lamports", 0, true);
    if (kg_chain_eth_units_parse(v, sol, 9) != KG_OK || kg_chain_eth_u256_to_u64(out, v) != KG_OK)
        return kg_cli_usage_error(cli, "--amount '%.40s' is not an amount of SOL (at most 9 decimals, e.g. 1.5)", sol);
    if (*out == 0) return kg_cli_usage_error(cli, "--amount must be above 0");
    return KG_CLI_OK;
}

static int send_solana(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w, kg_chain_sol_rpc *rpc,
                       kg_chain_sol_transfer *t)
{
    uint8_t tx[KG_CHAIN_SOL_TX_MAX_BYTES], sig[64], node_sig[64];
    char from[KG_CHAIN_SOL_ADDRESS_MAX_BYTES], sig58[KG_CHAIN_BASE58_MAX_LEN(64) + 1];
    size_t len = 0;
    kg_key_ref ref;
    int rc;
    kg_err e;
    if ((rc = kg_cli_wallet_ref(cli, &ref, w, KG_CLI_CHAIN_SOLANA, 0, 0)) || (rc = sol_pub(cli, t->from, s, &ref)))
        return rc;
    if ((e = kg_chain_sol_rpc_latest_blockhash(rpc, t->recent_blockhash, NULL)) != KG_OK) return node_error(cli, e);
    e = kg_chain_sol_transfer_sign(tx, sizeof tx, &len, sig, s, &ref, t);
    if (e == KG_OK) e = kg_chain_sol_address(from, sizeof from, t->from);
    if (e == KG_OK) e = kg_chain_base58_encode(sig58, sizeof sig58, sig, 64);
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    if ((e = kg_chain_sol_rpc_send_tx(rpc, node_sig, tx, len)) != KG_OK) return node_error(cli, e);
    if (memcmp(node_sig, sig, 64)) {
        fprintf(cli->err, "Error: the node reports another signature for transaction %s\n", sig58);
        return KG_CLI_REMOTE;
    }
    if (!kg_cli_bool(cli, "no-wait") && (e = kg_chain_sol_rpc_wait_confirmed(rpc, sig, 500, 60000)) != KG_OK) {
        fprintf(cli->err, "Error: transaction %s: %s\n", sig58, kg_err_detail(e));
        return KG_CLI_REMOTE;
    }
    return kg_cli_wallet_emit(cli, "signature", sig58,
                              json_pack("{s:s,s:s,s:I,s:s}", "from", from, "to", kg_cli_str(cli, "to"), "lamports",
                                        (json_int_t)t->lamports, "status",
                                        kg_cli_bool(cli, "no-wait") ? "pending" : "confirmed"));
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

/* ------------------------------------------------- balance and send */

bool kg_cli_wallet_is_other(const kg_cli *cli)
{
    const char *c = kg_cli_str(cli, "chain");
    return c && (!strcmp(c, "cosmos") || !strcmp(c, "solana"));
}

/* Flags checked first; then the wallet, its key, the node. */
int kg_cmd_wallet_balance_other(kg_cli *cli)
{
    bool cosmos = !strcmp(kg_cli_str(cli, "chain"), "cosmos");
    const char *denom = kg_cli_str(cli, "denom"), *hrp = kg_cli_str(cli, "hrp") ? kg_cli_str(cli, "hrp") : "cosmos";
    kg_chain_cosmos_rpc *crpc = NULL;
    kg_chain_sol_rpc *srpc = NULL;
    kg_wallet_unlocked *w = NULL;
    kg_signer *s = NULL;
    kg_key_ref ref;
    char addr[KG_CHAIN_COSMOS_ADDRESS_MAX_BYTES], amount[KG_CHAIN_COSMOS_AMOUNT_MAX_BYTES];
    uint8_t pub[33];
    uint64_t lamports = 0;
    int rc;
    kg_err e;
    if (cosmos && !denom) return kg_cli_usage_error(cli, "missing required option --denom <denom> for --chain cosmos "
                                                    "(e.g. uatom)");
    if (!cosmos && (denom || kg_cli_str(cli, "hrp")))
        return kg_cli_usage_error(cli, "--denom and --hrp apply to --chain cosmos only");
    if ((e = rpc_open(cli, cosmos ? &crpc : NULL, &srpc)) != KG_OK) return kg_cli_local_error(cli, e);
    if ((rc = kg_cli_wallet_open(cli, &w)) || (rc = kg_cli_wallet_signer(cli, &s, w)) ||
        (rc = kg_cli_wallet_ref(cli, &ref, w, cosmos ? KG_CLI_CHAIN_COSMOS : KG_CLI_CHAIN_SOLANA, 0, 0)))
        goto out;
    if (cosmos) {
        if ((rc = cosmos_addr(cli, addr, sizeof addr, pub, s, &ref, hrp))) goto out;
        if ((e = kg_chain_cosmos_rpc_balance(crpc, amount, addr, denom)) != KG_OK) { rc = node_error(cli, e); goto out; }
        rc = kg_cli_wallet_emit(cli, "balance", amount, json_pack("{s:s,s:s,s:s}", "address", addr, "unit", denom,
                                                                  "chain", "cosmos"));
        goto out;
    }
    if ((rc = sol_pub(cli, pub, s, &ref))) goto out;
    if ((e = kg_chain_sol_address(addr, sizeof addr, pub)) != KG_OK) { rc = kg_cli_local_error(cli, e); goto out; }
    if ((e = kg_chain_sol_rpc_get_balance(srpc, &lamports, pub)) != KG_OK) { rc = node_error(cli, e); goto out; }
    snprintf(amount, sizeof amount, "%llu", (unsigned long long)lamports);
    rc = kg_cli_wallet_emit(cli, "balance", amount, json_pack("{s:s,s:s,s:s}", "address", addr, "unit", "lamports",
                                                              "chain", "solana"));
out:
    kg_chain_cosmos_rpc_free(crpc);
    kg_chain_sol_rpc_free(srpc);
    kg_signer_close(s);
    kg_wallet_unlocked_free(w);
    return rc;
}

int kg_cmd_wallet_send_other(kg_cli *cli)
{
    bool cosmos = !strcmp(kg_cli_str(cli, "chain"), "cosmos");
    kg_chain_cosmos_rpc *crpc = NULL;
    kg_chain_sol_rpc *srpc = NULL;
    kg_wallet_unlocked *w = NULL;
    kg_signer *s = NULL;
    cosmos_send q;
    kg_chain_sol_transfer t;
    int rc = KG_CLI_OK;
    kg_err e;
    memset(&t, 0, sizeof t);
    if (cosmos) {
        if ((rc = cosmos_flags(cli, &q, false))) return rc;
    } else {
        const char *to = need(cli, "to", "solana", &rc);
        if (rc || (rc = sol_lamports(cli, &t.lamports))) return rc;
        if (kg_chain_sol_address_decode(t.to, to) != KG_OK)
            return kg_cli_usage_error(cli, "--to '%.60s' is not a Solana address (Base58 of 32 bytes)", to);
    }
    if ((e = rpc_open(cli, cosmos ? &crpc : NULL, &srpc)) != KG_OK) return kg_cli_local_error(cli, e);
    if (!(rc = kg_cli_wallet_open(cli, &w)) && !(rc = kg_cli_wallet_signer(cli, &s, w)))
        rc = cosmos ? send_cosmos(cli, s, w, crpc, &q) : send_solana(cli, s, w, srpc, &t);
    kg_chain_cosmos_rpc_free(crpc);
    kg_chain_sol_rpc_free(srpc);
    kg_signer_close(s);
    kg_wallet_unlocked_free(w);
    return rc;
}
