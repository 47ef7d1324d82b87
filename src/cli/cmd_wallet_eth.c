/* `kashguard wallet balance|send|sign-tx|sign-message|sign-typed-data` for
 * Ethereum and every EVM chain (sign-tx hands cosmos/solana to
 * cmd_wallet_other.c).
 *
 * A transaction is built the way wallets do, every field overridable:
 *   chain id  --chain-id, a numeric --chain, else eth_chainId (checked
 *             against the node when both are known: a tx for the wrong
 *             chain is refused before signing);
 *   nonce     --nonce, else eth_getTransactionCount(from, "pending");
 *   fees      type 2 (EIP-1559, default): priority = --priority-fee-gwei or
 *             1 gwei, max = --max-fee-gwei or 2 * next base fee + priority
 *             (eth_feeHistory; eth_gasPrice when the node has no base fee)
 *             -- the doubling keeps the tx valid through six full blocks;
 *             type 0/1: gas price = --max-fee-gwei or eth_gasPrice;
 *   gas       --gas-limit, else eth_estimateGas (+20% for contract calls,
 *             whose cost can move between estimate and inclusion);
 *   payload   ETH: to/value; --token: ERC-20 transfer(to, amount);
 *             --nft: ERC-721 safeTransferFrom(from, to, id).
 * It is signed with the wallet's key at m/44'/60'/0'/0/N (or the single
 * imported key, or with --mpc-key an MPC key's child m/0/N: cmd_wallet_mpc.c)
 * through the kg_signer seam, sent with
 * eth_sendRawTransaction, and `send` waits up to 60 s for the receipt.
 *
 * Exit codes: 1 for anything wrong locally (flags, amounts, addresses,
 * passphrase), 2 when the node fails or refuses (unreachable, RPC error,
 * estimate reverted, tx reverted or not mined in time). */
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"
#include "kashguard/chain/ethereum.h"

#define GWEI 1000000000ull
#define RECEIPT_WAIT_MS 60000
#define RECEIPT_POLL_MS 250

#define ETH_TX_OPTS \
    {"chain", KG_OPT_STR, "<chain>", true, \
     "eth (also evm or an EVM chain id such as 1 or 31337); send also btc, cosmos, solana."}, \
    KG_WALLET_OPT_INDEX, KG_WALLET_OPT_PATH, \
    {"rpc", KG_OPT_STR, "<url>", false, \
     "The node: eth/solana JSON-RPC URL, btc Esplora API base URL, cosmos LCD REST URL."}, \
    {"to", KG_OPT_STR, "<address>", false, "Recipient address (0x..., EIP-55 checked when mixed case)."}, \
    {"amount", KG_OPT_STR, "<amount>", false, \
     "ETH in ether (\"1.5\"), or with a unit suffix (\"1000wei\", \"2gwei\"); with --token, token base units."}, \
    {"token", KG_OPT_STR, "<address>", false, "Send this ERC-20 token instead of ETH (--amount in base units)."}, \
    {"nft", KG_OPT_STR, "<address>", false, "Send the ERC-721 token --token-id of this contract."}, \
    {"token-id", KG_OPT_STR, "<id>", false, "The ERC-721 token id (with --nft)."}, \
    {"chain-id", KG_OPT_STR, "<id>", false, "EVM chain id. The default is the node's eth_chainId."}, \
    {"tx-type", KG_OPT_STR, "<2|1|0>", false, "2 EIP-1559 (default), 1 EIP-2930, 0 legacy (EIP-155)."}, \
    {"gas-limit", KG_OPT_STR, "<n>", false, "Gas limit. The default is the node's eth_estimateGas."}, \
    {"max-fee-gwei", KG_OPT_STR, "<gwei>", false, \
     "Type 2: max fee per gas. Type 0/1: the gas price. The default comes from the node."}, \
    {"priority-fee-gwei", KG_OPT_STR, "<gwei>", false, "Type 2: max priority fee per gas. The default is 1."}, \
    {"nonce", KG_OPT_STR, "<n>", false, "Nonce. The default is the node's pending transaction count."}

const kg_cli_opt kg_opts_wallet_send[] = {
    KG_WALLET_OPT_NAME_OR_MPC, KG_WALLET_OPT_MPC, ETH_TX_OPTS,
    {"no-wait", KG_OPT_BOOL, NULL, false, "Print the tx hash once the node accepted it; do not wait for the receipt."},
    {"type", KG_OPT_STR, "<types>", false,
     "btc: address types to scan: p2wpkh (default), p2tr, p2sh-p2wpkh, p2pkh, a comma list or all."},
    {"network", KG_OPT_STR, "<net>", false, "btc: mainnet (default), testnet, signet or regtest."},
    {"fee-rate", KG_OPT_STR, "<sat/vB>", false,
     "btc: fee rate. The default is the node's estimate for 6 blocks (/fee-estimates), at least 1."},
    {"no-rbf", KG_OPT_BOOL, NULL, false, "btc: do not signal replace-by-fee (BIP125)."},
    {"denom", KG_OPT_STR, "<denom>", false, "cosmos: denomination of --amount (base units), e.g. uatom."},
    {"fee", KG_OPT_STR, "<n>", false, "cosmos: fee amount in --fee-denom (default no fee)."},
    {"fee-denom", KG_OPT_STR, "<denom>", false, "cosmos: fee denomination. The default is --denom."},
    {"gas", KG_OPT_STR, "<n>", false, "cosmos: gas limit. The default is 200000."},
    {"memo", KG_OPT_STR, "<text>", false, "cosmos: memo (at most 256 characters)."},
    {"hrp", KG_OPT_STR, "<prefix>", false, "cosmos: Bech32 prefix. The default is cosmos."},
    {"lamports", KG_OPT_STR, "<n>", false, "solana: lamports to transfer (or --amount in SOL, e.g. 1.5)."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};
const kg_cli_opt kg_opts_wallet_sign_tx[] = {
    KG_WALLET_OPT_NAME_OR_MPC, KG_WALLET_OPT_MPC, ETH_TX_OPTS,
    {"denom", KG_OPT_STR, "<denom>", false, "cosmos: denomination of --amount, e.g. uatom."},
    {"account-number", KG_OPT_STR, "<n>", false, "cosmos: the sender's account number."},
    {"sequence", KG_OPT_STR, "<n>", false, "cosmos: the sender's sequence."},
    {"fee", KG_OPT_STR, "<n>", false, "cosmos: fee amount in --fee-denom (default no fee)."},
    {"fee-denom", KG_OPT_STR, "<denom>", false, "cosmos: fee denomination. The default is --denom."},
    {"gas", KG_OPT_STR, "<n>", false, "cosmos: gas limit. The default is 200000."},
    {"memo", KG_OPT_STR, "<text>", false, "cosmos: memo (at most 256 characters)."},
    {"hrp", KG_OPT_STR, "<prefix>", false, "cosmos: Bech32 prefix. The default is cosmos."},
    {"lamports", KG_OPT_STR, "<n>", false, "solana: lamports to transfer."},
    {"recent-blockhash", KG_OPT_STR, "<base58>", false, "solana: a recent blockhash (getLatestBlockhash)."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};
const kg_cli_opt kg_opts_wallet_balance[] = {
    KG_WALLET_OPT_NAME_OR_MPC, KG_WALLET_OPT_MPC,
    {"chain", KG_OPT_STR, "<chain>", true, "eth (also evm or an EVM chain id), btc, cosmos or solana."},
    {"rpc", KG_OPT_STR, "<url>", true,
     "The node: eth/solana JSON-RPC URL, btc Esplora API base URL, cosmos LCD REST URL."},
    KG_WALLET_OPT_INDEX, KG_WALLET_OPT_PATH,
    {"token", KG_OPT_STR, "<address>", false, "Print the balance of this ERC-20 token instead of ETH."},
    {"type", KG_OPT_STR, "<types>", false,
     "btc: address types to scan: p2wpkh (default), p2tr, p2sh-p2wpkh, p2pkh, a comma list or all."},
    {"network", KG_OPT_STR, "<net>", false, "btc: mainnet (default), testnet, signet or regtest."},
    {"denom", KG_OPT_STR, "<denom>", false, "cosmos: the denomination to show, e.g. uatom (required)."},
    {"hrp", KG_OPT_STR, "<prefix>", false, "cosmos: Bech32 prefix. The default is cosmos."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};
const kg_cli_opt kg_opts_wallet_sign_message[] = {
    KG_WALLET_OPT_NAME_OR_MPC, KG_WALLET_OPT_MPC,
    {"chain", KG_OPT_STR, "<chain>", true, "eth (also evm or an EVM chain id)."},
    {"message", KG_OPT_STR, "<text|@file|->", true, "The message: text, @FILE for a file's bytes, - for stdin."},
    KG_WALLET_OPT_INDEX, KG_WALLET_OPT_PATH, KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};
const kg_cli_opt kg_opts_wallet_sign_typed_data[] = {
    KG_WALLET_OPT_NAME_OR_MPC, KG_WALLET_OPT_MPC,
    {"chain", KG_OPT_STR, "<chain>", true, "eth (also evm or an EVM chain id)."},
    {"file", KG_OPT_STR, "<typed.json|->", true,
     "EIP-712 typed data as eth_signTypedData_v4 JSON: {types, primaryType, domain, message}."},
    KG_WALLET_OPT_INDEX, KG_WALLET_OPT_PATH, KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};

/* An opened wallet, its signer and the key reference for --index/--path. */
typedef struct {
    kg_wallet_unlocked *w;
    kg_signer *s;
    kg_key_ref ref;
    uint8_t from[20];
    uint64_t chain_id;     /* from a numeric --chain; 0 otherwise */
    kg_chain_eth_rpc *rpc; /* --rpc, or NULL */
} eth_ctx;

static void ctx_free(eth_ctx *c)
{
    kg_chain_eth_rpc_free(c->rpc);
    kg_signer_close(c->s);
    kg_wallet_unlocked_free(c->w);
}

/* Check --chain is an EVM chain, open the wallet, find the key and address. */
static int ctx_open(kg_cli *cli, eth_ctx *c)
{
    kg_cli_chain chain;
    const char *url = kg_cli_str(cli, "rpc");
    int rc;
    memset(c, 0, sizeof *c);
    if ((rc = kg_cli_wallet_chain(cli, &chain, &c->chain_id)) != KG_CLI_OK) return rc;
    if (chain != KG_CLI_CHAIN_ETH)
        return kg_cli_usage_error(cli, "`kashguard %s` supports --chain eth (or evm, or an EVM chain id) only",
                                  cli->cmd->name);
    if (url) {
        kg_err e = kg_chain_eth_rpc_new(&c->rpc, url, 15000);
        if (e != KG_OK) return kg_cli_usage_error(cli, "--rpc: %s", kg_err_detail(e));
    }
    if ((rc = kg_cli_wallet_open(cli, &c->w)) != KG_CLI_OK) return rc;
    if ((rc = kg_cli_wallet_signer(cli, &c->s, c->w)) != KG_CLI_OK) return rc;
    if ((rc = kg_cli_wallet_ref(cli, &c->ref, c->w, KG_CLI_CHAIN_ETH, 0, 0)) != KG_CLI_OK) return rc;
    return kg_cli_wallet_eth_from(cli, c->from, c->s, &c->ref);
}

/* A chain-node failure: exit 2. */
static int node_error(kg_cli *cli, const char *what, kg_err e)
{
    if (what) fprintf(cli->err, "Error: %s: %s\n", what, kg_err_detail(e));
    else fprintf(cli->err, "Error: %s\n", kg_err_detail(e)); /* the detail names the RPC method */
    return KG_CLI_REMOTE;
}

static void hex0x(char *out, const uint8_t *in, size_t n)
{
    out[0] = '0';
    out[1] = 'x';
    kg_hex_encode(out + 2, in, n);
}

static int addr_opt(kg_cli *cli, uint8_t out[20], const char *opt)
{
    kg_err e = kg_chain_eth_addr_parse(out, kg_cli_str(cli, opt));
    return e == KG_OK ? KG_CLI_OK : kg_cli_usage_error(cli, "--%s: %s", opt, kg_err_detail(e));
}

static int u64_opt(kg_cli *cli, uint64_t *out, const char *opt)
{
    uint8_t v[32];
    const char *s = kg_cli_str(cli, opt);
    if (kg_chain_eth_u256_from_dec(v, s) != KG_OK || kg_chain_eth_u256_to_u64(out, v) != KG_OK)
        return kg_cli_usage_error(cli, "--%s must be a whole number, not '%.40s'", opt, s);
    return KG_CLI_OK;
}

/* --amount: ether ("1.5"), "<n>wei", "<x>gwei"; token base units with --token. Must be > 0. */
static int amount_opt(kg_cli *cli, uint8_t out[32], bool base_units)
{
    static const uint8_t zero[32];
    const char *v = kg_cli_str(cli, "amount");
    char num[100];
    size_t n = strlen(v);
    unsigned decimals = 18;
    kg_err e;
    if (n >= sizeof num) return kg_cli_usage_error(cli, "--amount is too long");
    memcpy(num, v, n + 1);
    if (!base_units && n > 4 && !strcmp(num + n - 4, "gwei")) { num[n - 4] = 0; decimals = 9; }
    else if (!base_units && n > 3 && !strcmp(num + n - 3, "wei")) { num[n - 3] = 0; decimals = 0; }
    else if (base_units) decimals = 0;
    e = decimals ? kg_chain_eth_units_parse(out, num, decimals) : kg_chain_eth_u256_from_dec(out, num);
    if (e != KG_OK)
        return kg_cli_usage_error(cli, base_units ? "--amount '%.40s' must be a whole number of token base units"
                                  : "--amount '%.40s' is not an amount: give ether (\"1.5\") or wei (\"1000wei\")", v);
    if (!memcmp(out, zero, 32)) return kg_cli_usage_error(cli, "--amount must be above 0");
    return KG_CLI_OK;
}

static int gwei_opt(kg_cli *cli, uint64_t *out, const char *opt)
{
    uint8_t v[32];
    const char *s = kg_cli_str(cli, opt);
    if (kg_chain_eth_units_parse(v, s, 9) != KG_OK || kg_chain_eth_u256_to_u64(out, v) != KG_OK)
        return kg_cli_usage_error(cli, "--%s must be an amount of gwei such as 1.5, not '%.40s'", opt, s);
    return KG_CLI_OK;
}

/* Chain id: flags, then the node (which must agree). */
static int tx_chain_id(kg_cli *cli, eth_ctx *c, uint64_t *out)
{
    uint64_t given = c->chain_id, node = 0, flag;
    int rc;
    if (kg_cli_str(cli, "chain-id")) {
        if ((rc = u64_opt(cli, &flag, "chain-id")) != KG_CLI_OK) return rc;
        if (flag == 0) return kg_cli_usage_error(cli, "--chain-id must be above 0");
        if (given && given != flag)
            return kg_cli_usage_error(cli, "--chain %llu and --chain-id %llu differ", (unsigned long long)given,
                                      (unsigned long long)flag);
        given = flag;
    }
    if (c->rpc) {
        kg_err e = kg_chain_eth_rpc_chain_id(c->rpc, &node);
        if (e != KG_OK) return node_error(cli, NULL, e);
        if (given && given != node)
            return kg_cli_usage_error(cli, "chain id %llu was asked for but the node at %s is chain %llu",
                                      (unsigned long long)given, kg_cli_str(cli, "rpc"), (unsigned long long)node);
        given = node;
    }
    if (!given) return kg_cli_usage_error(cli, "give --chain-id (or --rpc to ask the node)");
    *out = given;
    return KG_CLI_OK;
}

/* to/value/data of the payment (ETH, ERC-20 or ERC-721). data holds 100 bytes. */
static int tx_payload(kg_cli *cli, eth_ctx *c, kg_chain_eth_tx *tx, uint8_t *data)
{
    const char *token = kg_cli_str(cli, "token"), *nft = kg_cli_str(cli, "nft");
    uint8_t to[20], v[32];
    int rc;
    if (!kg_cli_str(cli, "to")) return kg_cli_usage_error(cli, "missing required option --to <address>");
    if (token && nft) return kg_cli_usage_error(cli, "give --token or --nft, not both");
    if (!nft && kg_cli_str(cli, "token-id")) return kg_cli_usage_error(cli, "--token-id goes with --nft");
    if ((rc = addr_opt(cli, to, "to")) != KG_CLI_OK) return rc;
    tx->has_to = true;
    if (nft) {
        const char *id = kg_cli_str(cli, "token-id"), *a = kg_cli_str(cli, "amount");
        if (!id) return kg_cli_usage_error(cli, "--nft needs --token-id <id>");
        if (a && strcmp(a, "1")) return kg_cli_usage_error(cli, "an ERC-721 token is sent whole: drop --amount");
        if (kg_chain_eth_u256_from_dec(v, id) != KG_OK)
            return kg_cli_usage_error(cli, "--token-id must be a whole number, not '%.40s'", id);
        if ((rc = addr_opt(cli, tx->to, "nft")) != KG_CLI_OK) return rc;
        kg_chain_eth_abi_erc721_safe_transfer_from(data, c->from, to, v);
        tx->data = data;
        tx->data_len = KG_CHAIN_ETH_ERC721_CALL_BYTES;
        return KG_CLI_OK;
    }
    if (!kg_cli_str(cli, "amount")) return kg_cli_usage_error(cli, "missing required option --amount <amount>");
    if ((rc = amount_opt(cli, v, token != NULL)) != KG_CLI_OK) return rc;
    if (!token) {
        memcpy(tx->to, to, 20);
        memcpy(tx->value, v, 32);
        return KG_CLI_OK;
    }
    if ((rc = addr_opt(cli, tx->to, "token")) != KG_CLI_OK) return rc;
    kg_chain_eth_abi_erc20_transfer(data, to, v);
    tx->data = data;
    tx->data_len = KG_CHAIN_ETH_ERC20_CALL_BYTES;
    return KG_CLI_OK;
}

/* Fees (see the file comment). */
static int tx_fees(kg_cli *cli, eth_ctx *c, kg_chain_eth_tx *tx)
{
    uint64_t max = 0, prio = GWEI, base = 0;
    bool has_max = kg_cli_str(cli, "max-fee-gwei") != NULL;
    uint8_t gp[32];
    int rc;
    if (has_max && (rc = gwei_opt(cli, &max, "max-fee-gwei")) != KG_CLI_OK) return rc;
    if (tx->type == KG_CHAIN_ETH_TX_DYNAMIC_FEE) {
        if (kg_cli_str(cli, "priority-fee-gwei") && (rc = gwei_opt(cli, &prio, "priority-fee-gwei")) != KG_CLI_OK)
            return rc;
        if (!has_max && !c->rpc) return kg_cli_usage_error(cli, "give --max-fee-gwei (or --rpc to ask the node)");
        if (!has_max) {
            kg_chain_eth_fee_history fh;
            kg_err e = kg_chain_eth_rpc_fee_history(c->rpc, &fh, 4, 50);
            if (e == KG_OK) e = kg_chain_eth_u256_to_u64(&base, fh.base_fee_next);
            if (e != KG_OK && (e = kg_chain_eth_rpc_gas_price(c->rpc, gp)) == KG_OK)
                e = kg_chain_eth_u256_to_u64(&base, gp);
            if (e != KG_OK) return node_error(cli, "cannot get the fee from the node", e);
            if (base > (UINT64_MAX - prio) / 2) return kg_cli_usage_error(cli, "the node's base fee is absurd");
            max = 2 * base + prio;
        }
        if (prio > max)
            return kg_cli_usage_error(cli, "the priority fee (%llu wei) is above the max fee (%llu wei)",
                                      (unsigned long long)prio, (unsigned long long)max);
        kg_chain_eth_u256_from_u64(tx->max_fee, max);
        kg_chain_eth_u256_from_u64(tx->max_priority_fee, prio);
        return KG_CLI_OK;
    }
    if (kg_cli_str(cli, "priority-fee-gwei"))
        return kg_cli_usage_error(cli, "--priority-fee-gwei applies to --tx-type 2 only; use --max-fee-gwei "
                                  "for the gas price");
    if (has_max) { kg_chain_eth_u256_from_u64(tx->gas_price, max); return KG_CLI_OK; }
    if (!c->rpc) return kg_cli_usage_error(cli, "give --max-fee-gwei (the gas price) or --rpc");
    kg_err e = kg_chain_eth_rpc_gas_price(c->rpc, tx->gas_price);
    return e == KG_OK ? KG_CLI_OK : node_error(cli, NULL, e);
}

/* Nonce and gas limit. */
static int tx_nonce_gas(kg_cli *cli, eth_ctx *c, kg_chain_eth_tx *tx)
{
    kg_err e;
    int rc;
    if (kg_cli_str(cli, "nonce")) {
        if ((rc = u64_opt(cli, &tx->nonce, "nonce")) != KG_CLI_OK) return rc;
    } else if (!c->rpc) {
        return kg_cli_usage_error(cli, "give --nonce (or --rpc to ask the node)");
    } else if ((e = kg_chain_eth_rpc_get_nonce(c->rpc, &tx->nonce, c->from)) != KG_OK) {
        return node_error(cli, NULL, e);
    }
    if (kg_cli_str(cli, "gas-limit")) {
        if ((rc = u64_opt(cli, &tx->gas_limit, "gas-limit")) != KG_CLI_OK) return rc;
        if (tx->gas_limit < 21000) return kg_cli_usage_error(cli, "--gas-limit must be at least 21000");
        return KG_CLI_OK;
    }
    if (!c->rpc) return kg_cli_usage_error(cli, "give --gas-limit (or --rpc to estimate it)");
    kg_chain_eth_call call;
    memset(&call, 0, sizeof call);
    call.has_from = call.has_to = true;
    memcpy(call.from, c->from, 20);
    memcpy(call.to, tx->to, 20);
    memcpy(call.value, tx->value, 32);
    call.data = tx->data;
    call.data_len = tx->data_len;
    if ((e = kg_chain_eth_rpc_estimate_gas(c->rpc, &tx->gas_limit, &call)) != KG_OK)
        return node_error(cli, "the transaction would fail", e);
    if (tx->data_len) tx->gas_limit += tx->gas_limit / 5;
    return KG_CLI_OK;
}

/* Build and sign the transaction of the flags. data: 100 bytes. */
static int tx_build_sign(kg_cli *cli, eth_ctx *c, kg_chain_eth_tx *tx, uint8_t *data)
{
    unsigned long type = 2;
    int rc;
    memset(tx, 0, sizeof *tx);
    if (kg_cli_uint(cli, &type, "tx-type", 2, 0, 2)) return KG_CLI_LOCAL;
    tx->type = (kg_chain_eth_tx_type)type;
    if ((rc = tx_payload(cli, c, tx, data)) != KG_CLI_OK) return rc;
    if ((rc = tx_chain_id(cli, c, &tx->chain_id)) != KG_CLI_OK) return rc;
    if ((rc = tx_fees(cli, c, tx)) != KG_CLI_OK) return rc;
    if ((rc = tx_nonce_gas(cli, c, tx)) != KG_CLI_OK) return rc;
    kg_err e = kg_chain_eth_tx_sign(c->s, tx, &c->ref);
    return e == KG_OK ? KG_CLI_OK : kg_cli_wallet_sign_error(cli, e);
}

/* The signed raw tx as 0x-hex (malloc'd) and its hash. */
static int tx_raw(kg_cli *cli, char **hex, uint8_t **raw, size_t *len, uint8_t hash[32], const kg_chain_eth_tx *tx)
{
    size_t cap = kg_chain_eth_tx_encoded_len(tx);
    *hex = NULL;
    *raw = malloc(cap ? cap : 1);
    kg_err e = *raw ? kg_chain_eth_tx_encode(*raw, cap, len, tx) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK) e = kg_chain_eth_tx_hash(hash, tx);
    if (e == KG_OK && !(*hex = malloc(2 * *len + 3))) e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e != KG_OK) { free(*raw); *raw = NULL; return kg_cli_local_error(cli, e); }
    hex0x(*hex, *raw, *len);
    return KG_CLI_OK;
}

static json_t *tx_json(const eth_ctx *c, const kg_chain_eth_tx *tx, const uint8_t hash[32])
{
    char from[KG_CHAIN_ETH_ADDR_STR_BYTES], to[KG_CHAIN_ETH_ADDR_STR_BYTES], h[67];
    kg_chain_eth_addr_to_str(from, c->from);
    kg_chain_eth_addr_to_str(to, tx->to);
    hex0x(h, hash, 32);
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:i}", "hash", h, "from", from, "to", to,
                     "chain_id", (json_int_t)tx->chain_id, "nonce", (json_int_t)tx->nonce,
                     "gas_limit", (json_int_t)tx->gas_limit, "type", (int)tx->type);
}

int kg_cmd_wallet_send(kg_cli *cli)
{
    eth_ctx c;
    kg_chain_eth_tx tx;
    kg_chain_eth_receipt r;
    uint8_t data[100], hash[32], node_hash[32], *raw = NULL;
    char *hex = NULL, h[67];
    size_t len = 0;
    int rc;
    kg_err e;
    memset(&tx, 0, sizeof tx);
    memset(&c, 0, sizeof c);
    if (kg_cli_str(cli, "chain") && !strcmp(kg_cli_str(cli, "chain"), "btc")) return kg_cmd_wallet_send_btc(cli);
    if (kg_cli_wallet_is_other(cli)) return kg_cmd_wallet_send_other(cli);
    if (!kg_cli_str(cli, "rpc")) return kg_cli_usage_error(cli, "missing required option --rpc <url>; to sign "
                                                           "without sending use `kashguard wallet sign-tx`");
    if ((rc = ctx_open(cli, &c)) != KG_CLI_OK) goto out;
    if ((rc = tx_build_sign(cli, &c, &tx, data)) != KG_CLI_OK) goto out;
    if ((rc = tx_raw(cli, &hex, &raw, &len, hash, &tx)) != KG_CLI_OK) goto out;
    hex0x(h, hash, 32);
    if ((e = kg_chain_eth_rpc_send_raw(c.rpc, node_hash, raw, len)) != KG_OK) {
        rc = node_error(cli, "the node refused the transaction", e);
        goto out;
    }
    json_t *more = cli->json ? tx_json(&c, &tx, hash) : NULL;
    if (!kg_cli_bool(cli, "no-wait")) {
        e = kg_chain_eth_rpc_wait_receipt(c.rpc, &r, hash, RECEIPT_POLL_MS, RECEIPT_WAIT_MS);
        if (e == KG_ERR_NOT_FOUND) {
            fprintf(cli->err, "Error: transaction %s was not mined within %d s; it may still be (check it "
                    "later, or replace it with the same --nonce %llu)\n", h, RECEIPT_WAIT_MS / 1000,
                    (unsigned long long)tx.nonce);
            rc = KG_CLI_REMOTE;
        } else if (e != KG_OK) {
            rc = node_error(cli, NULL, e);
        } else if (!r.success) {
            fprintf(cli->err, "Error: transaction %s reverted (status 0) in block %llu, gas used %llu\n", h,
                    (unsigned long long)r.block_number, (unsigned long long)r.gas_used);
            rc = KG_CLI_REMOTE;
        } else if (more) {
            json_object_set_new(more, "status", json_string("success"));
            json_object_set_new(more, "block_number", json_integer((json_int_t)r.block_number));
            json_object_set_new(more, "gas_used", json_integer((json_int_t)r.gas_used));
        }
    } else if (more) {
        json_object_set_new(more, "status", json_string("pending"));
    }
    if (rc == KG_CLI_OK) {
        json_object_del(more, "hash");
        rc = kg_cli_wallet_emit(cli, "tx_hash", h, more);
    } else {
        json_decref(more);
    }
out:
    free(hex);
    free(raw);
    kg_chain_eth_tx_free(&tx);
    ctx_free(&c);
    return rc;
}

int kg_cmd_wallet_sign_tx(kg_cli *cli)
{
    kg_cli_chain chain;
    uint64_t cid;
    eth_ctx c;
    kg_chain_eth_tx tx;
    uint8_t data[100], hash[32], *raw = NULL;
    char *hex = NULL;
    size_t len = 0;
    int rc;
    memset(&tx, 0, sizeof tx);
    memset(&c, 0, sizeof c);
    if ((rc = kg_cli_wallet_chain(cli, &chain, &cid)) != KG_CLI_OK) return rc;
    if (chain == KG_CLI_CHAIN_BTC)
        return kg_cli_usage_error(cli, "bitcoin transactions are signed as PSBTs: use `kashguard wallet psbt sign`");
    if (chain != KG_CLI_CHAIN_ETH) {
        kg_wallet_unlocked *w = NULL;
        kg_signer *s = NULL;
        if ((rc = kg_cli_wallet_open(cli, &w)) == KG_CLI_OK && (rc = kg_cli_wallet_signer(cli, &s, w)) == KG_CLI_OK)
            rc = chain == KG_CLI_CHAIN_COSMOS ? kg_cmd_wallet_sign_tx_cosmos(cli, s, w)
                                              : kg_cmd_wallet_sign_tx_solana(cli, s, w);
        kg_signer_close(s);
        kg_wallet_unlocked_free(w);
        return rc;
    }
    if ((rc = ctx_open(cli, &c)) != KG_CLI_OK) goto out;
    if ((rc = tx_build_sign(cli, &c, &tx, data)) != KG_CLI_OK) goto out;
    if ((rc = tx_raw(cli, &hex, &raw, &len, hash, &tx)) != KG_CLI_OK) goto out;
    rc = kg_cli_wallet_emit(cli, "raw", hex, cli->json ? tx_json(&c, &tx, hash) : NULL);
out:
    free(hex);
    free(raw);
    kg_chain_eth_tx_free(&tx);
    ctx_free(&c);
    return rc;
}

int kg_cmd_wallet_balance(kg_cli *cli)
{
    eth_ctx c;
    uint8_t bal[32], token[20];
    char dec[KG_CHAIN_ETH_U256_DEC_BYTES], from[KG_CHAIN_ETH_ADDR_STR_BYTES];
    const char *tok = kg_cli_str(cli, "token");
    int rc;
    kg_err e;
    if (kg_cli_str(cli, "chain") && !strcmp(kg_cli_str(cli, "chain"), "btc")) return kg_cmd_wallet_balance_btc(cli);
    if (kg_cli_wallet_is_other(cli)) return kg_cmd_wallet_balance_other(cli);
    if (tok && addr_opt(cli, token, "token") != KG_CLI_OK) return KG_CLI_LOCAL;
    if ((rc = ctx_open(cli, &c)) != KG_CLI_OK) goto out;
    if (!tok) {
        if ((e = kg_chain_eth_rpc_get_balance(c.rpc, bal, c.from)) != KG_OK) { rc = node_error(cli, NULL, e); goto out; }
    } else { /* balanceOf(address) */
        uint8_t call_data[36] = {0};
        kg_chain_eth_call call;
        kg_bytes ret = {0};
        kg_chain_eth_abi_selector(call_data, "balanceOf(address)");
        memcpy(call_data + 16, c.from, 20);
        memset(&call, 0, sizeof call);
        call.has_to = true;
        memcpy(call.to, token, 20);
        call.data = call_data;
        call.data_len = sizeof call_data;
        if ((e = kg_chain_eth_rpc_call_contract(c.rpc, &ret, &call)) != KG_OK) { rc = node_error(cli, NULL, e); goto out; }
        if (ret.len != 32) {
            kg_bytes_free(&ret);
            fprintf(cli->err, "Error: %s did not answer balanceOf with one uint256; is it an ERC-20 contract?\n", tok);
            rc = KG_CLI_REMOTE;
            goto out;
        }
        memcpy(bal, ret.data, 32);
        kg_bytes_free(&ret);
    }
    kg_chain_eth_u256_to_dec(dec, bal);
    kg_chain_eth_addr_to_str(from, c.from);
    rc = kg_cli_wallet_emit(cli, "balance", dec, json_pack("{s:s,s:s,s:s?}", "address", from, "unit",
                                                           tok ? "token" : "wei", "token", tok));
out:
    ctx_free(&c);
    return rc;
}

/* Print a 65-byte r||s||v signature (and its signer, digest with --json). */
static int print_sig(kg_cli *cli, const eth_ctx *c, const uint8_t sig[65], const uint8_t *digest)
{
    char hex[2 * 65 + 3], from[KG_CHAIN_ETH_ADDR_STR_BYTES], d[67];
    hex0x(hex, sig, 65);
    kg_chain_eth_addr_to_str(from, c->from);
    if (digest) hex0x(d, digest, 32);
    return kg_cli_wallet_emit(cli, "signature", hex, json_pack("{s:s,s:s?}", "address", from, "digest",
                                                               digest ? d : NULL));
}

int kg_cmd_wallet_sign_message(kg_cli *cli)
{
    eth_ctx c;
    kg_bytes msg = {0};
    uint8_t sig[65], digest[32];
    int rc;
    kg_err e = kg_cli_read_data(&msg, "message", kg_cli_str(cli, "message"));
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    if ((rc = ctx_open(cli, &c)) != KG_CLI_OK) goto out;
    if ((e = kg_chain_eth_personal_sign(c.s, sig, &c.ref, msg.data, msg.len)) != KG_OK) {
        rc = kg_cli_wallet_sign_error(cli, e);
        goto out;
    }
    kg_chain_eth_personal_hash(digest, msg.data, msg.len);
    rc = print_sig(cli, &c, sig, digest);
out:
    kg_bytes_free(&msg);
    ctx_free(&c);
    return rc;
}

int kg_cmd_wallet_sign_typed_data(kg_cli *cli)
{
    eth_ctx c;
    kg_bytes doc = {0};
    json_t *typed = NULL;
    kg_chain_eth_sig sig;
    uint8_t digest[32], out[65];
    int rc;
    kg_err e = kg_cli_read_file(&doc, kg_cli_str(cli, "file"), 1u << 20);
    memset(&c, 0, sizeof c);
    if (e == KG_OK) e = kg_json_parse_object(&typed, (const char *)doc.data, doc.len);
    if (e == KG_OK) e = kg_chain_eth_eip712_json_hash(digest, NULL, typed);
    kg_bytes_free(&doc);
    if (e != KG_OK) { json_decref(typed); return kg_cli_usage_error(cli, "--file: %s", kg_err_detail(e)); }
    if ((rc = ctx_open(cli, &c)) != KG_CLI_OK) goto out;
    if ((e = kg_chain_eth_sign_digest(c.s, &sig, &c.ref, digest)) != KG_OK) {
        rc = kg_cli_wallet_sign_error(cli, e);
        goto out;
    }
    kg_chain_eth_sig_to_bytes(out, &sig);
    rc = print_sig(cli, &c, out, digest);
out:
    json_decref(typed);
    ctx_free(&c);
    return rc;
}
