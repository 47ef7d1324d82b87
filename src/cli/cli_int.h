/* KashGuard CLI internals shared by the files of src/cli/.
 *
 * Shape (wg.c + Vault CLI): main.c holds ONE command table (kg_cli_cmd: the
 * command path, handler, synopsis, help text and option table); args.c parses
 * argv against that table and turns value arguments (@file, -, literal,
 * base64, hex, k=v) into request fields; client.c speaks HTTP with libcurl;
 * output.c renders responses; each cmd_<group>.c holds the handlers of one
 * command group. A handler parses its options, makes one API call (or, for
 * `server` and `audit verify`, one library call) and prints the result.
 *
 * Exit codes everywhere: KG_CLI_OK 0, KG_CLI_LOCAL 1 (usage or local error),
 * KG_CLI_REMOTE 2 (the server said no, or could not be reached). */
#ifndef KG_CLI_INT_H
#define KG_CLI_INT_H

#include <stdio.h>
#include "kashguard/base.h"

enum { KG_CLI_OK = 0, KG_CLI_LOCAL = 1, KG_CLI_REMOTE = 2 };

/* ------------------------------------------------------------ options */

typedef enum {
    KG_OPT_BOOL,   /* --flag (also --flag=true|false) */
    KG_OPT_STR,    /* --name VALUE or --name=VALUE; the last one wins */
    KG_OPT_MULTI   /* repeatable: --context a=1 --context b=2 */
} kg_cli_opt_kind;

typedef struct {
    const char *name;      /* without the leading "--" */
    kg_cli_opt_kind kind;
    const char *metavar;   /* "<string>", "<duration>", ... (NULL for BOOL) */
    bool required;
    const char *help;      /* one or two sentences */
} kg_cli_opt;

#define KG_CLI_MAX_ARGS 64  /* option values + positionals of one invocation */

typedef struct kg_cli kg_cli;
typedef int (*kg_cli_handler)(kg_cli *cli);

typedef struct {
    const char *name;       /* command path: "key create" */
    kg_cli_handler run;
    const char *synopsis;   /* one line, for `kashguard help` */
    const char *args;       /* usage tail after [options]: "REF", "[KEY]" */
    const char *help;       /* paragraph(s) and `$` examples, 2-space indented */
    const kg_cli_opt *opts; /* terminated by {NULL}; may be NULL */
    int min_args, max_args; /* positional arguments */
    bool local;             /* no HTTP: hide the HTTP options in help */
} kg_cli_cmd;

typedef struct {
    const kg_cli_opt *opt;
    const char *value;      /* "true" for a BOOL given bare */
} kg_cli_optval;

typedef struct kg_cli_http kg_cli_http;

/* Everything one invocation knows. Lives on kg_cli_main's stack. */
struct kg_cli {
    const kg_cli_cmd *cmd;
    /* global options (flag beats environment beats default) */
    const char *addr, *token, *cacert, *cert, *client_key;
    bool json, curl;
    kg_cli_optval vals[KG_CLI_MAX_ARGS];
    size_t nvals;
    const char *pos[KG_CLI_MAX_ARGS];
    size_t npos;
    kg_cli_http *http;      /* lazily created, reused (keep-alive) */
    FILE *out, *err;        /* stdout / stderr (tests may swap them) */
};

/* ------------------------------------------------- command table (main.c) */

/** The command table, terminated by {NULL}. */
const kg_cli_cmd *kg_cli_commands(void);
/** Print the Vault-shaped help of cmd ("Usage: kashguard <name> ..."). */
void kg_cli_print_help(FILE *f, const kg_cli_cmd *cmd);

/* ------------------------------------------------------ parsing (args.c) */

/** The global options (HTTP and output), terminated by {NULL}. */
const kg_cli_opt *kg_cli_global_opts(void);
/** Parse argv (everything after the command words) into cli: options of the
 *  command and global options anywhere, "--" ends options. Checks required
 *  options and the positional count. On error prints "Error: ..." and a hint
 *  to cli->err and returns KG_CLI_LOCAL. `*help` is set for -h/--help. */
int kg_cli_parse(kg_cli *cli, bool *help, int argc, char **argv);
/** Fill addr/token/TLS from the environment where no flag set them. */
void kg_cli_apply_env(kg_cli *cli);

/** Last value of option `name`, or NULL. */
const char *kg_cli_str(const kg_cli *cli, const char *name);
bool kg_cli_bool(const kg_cli *cli, const char *name);
/** Values of a repeatable option: fills out[] (cap entries), returns the count. */
size_t kg_cli_multi(const kg_cli *cli, const char *name, const char **out, size_t cap);
/** Parse an unsigned option in [min, max]; absent -> def. Prints the error. */
int kg_cli_uint(kg_cli *cli, unsigned long *out, const char *name,
                unsigned long def, unsigned long min, unsigned long max);

/* Value syntax (contract): these return KG_OK or KG_ERR_BAD_INPUT/KG_ERR_IO
 * with a kg_err_set detail naming the option; they print nothing. */

/** Data argument: "@file" = the file's bytes, "-" = all of stdin, else the literal text. */
kg_err kg_cli_read_data(kg_bytes *out, const char *opt, const char *arg) KG_WARN_UNUSED;
/** Base64 argument: literal base64, "-"/"@file" holding base64 text
 *  (whitespace trimmed) or, when that is not base64, raw bytes. *out =
 *  canonical base64 (malloc'd). */
kg_err kg_cli_read_b64(char **out, const char *opt, const char *arg) KG_WARN_UNUSED;
/** Digest argument: hex (optional 0x) or base64 (as kg_cli_read_b64). *out = base64. */
kg_err kg_cli_read_digest(char **out, const char *opt, const char *arg) KG_WARN_UNUSED;
/** Build a context object from "k=v" strings (NULL object when n == 0).
 *  A missing '=', an empty key or a repeated key is KG_ERR_BAD_INPUT. */
kg_err kg_cli_parse_context(json_t **out, const char *opt, const char *const *pairs,
                            size_t n) KG_WARN_UNUSED;
/** Read a whole file (or stdin for "-"), at most max bytes. */
kg_err kg_cli_read_file(kg_bytes *out, const char *path, size_t max) KG_WARN_UNUSED;

/** Print "Error: <detail>" for a local failure and return KG_CLI_LOCAL. */
int kg_cli_local_error(kg_cli *cli, kg_err err);
/** printf-style local error: "Error: ..." + newline, returns KG_CLI_LOCAL. */
int kg_cli_usage_error(kg_cli *cli, const char *fmt, ...) KG_PRINTF(2, 3);

/* ------------------------------------------------------ HTTP (client.c) */

/** Call the API. path starts with "/v1/"; body may be NULL (no body).
 *  Returns KG_CLI_OK with *out = the JSON response (NULL after --curl, which
 *  prints the request instead of sending it), or KG_CLI_REMOTE after printing
 *  "Error: <message> (<code>)", or KG_CLI_LOCAL for a local failure.
 *  When status is not NULL every HTTP status is accepted and returned there
 *  (for `status`, where 503 sealed is an answer, not a failure). */
int kg_cli_call(kg_cli *cli, json_t **out, long *status, const char *method,
                const char *path, const json_t *body);
/** As kg_cli_call with a body given as text, wiped from memory after the call
 *  (unseal keys); in --curl output the body is shown as '<redacted>'. */
int kg_cli_call_secret(kg_cli *cli, json_t **out, const char *method, const char *path,
                       char *body);
/** "/v1/<a><escaped ref><b>": ref URL-escaped. malloc'd; NULL on OOM. */
char *kg_cli_path(const char *a, const char *ref, const char *b);
/** Free the HTTP handle (end of kg_cli_main). */
void kg_cli_http_free(kg_cli *cli);
/** Shell-quote s in single quotes onto f (for --curl). */
void kg_cli_shell_quote(FILE *f, const char *s);

/* ------------------------------------------------------ output (output.c) */

/** Pretty JSON (2-space indent, key order kept) and a newline. */
void kg_cli_print_json(FILE *f, const json_t *j);
/** Aligned "field  value" lines for the listed fields (all when NULL);
 *  arrays/objects print as compact JSON, null as "n/a". */
void kg_cli_print_fields(FILE *f, const json_t *obj, const char *const *fields);
/** Columns: header names and matching fields of each object of arr. */
void kg_cli_print_table(FILE *f, const json_t *arr, const char *const *headers,
                        const char *const *fields);
/** Write bytes to path (mode 0600, replaced atomically) or to cli->out when
 *  path is NULL or "-". Prints the error; returns an exit code. */
int kg_cli_write_out(kg_cli *cli, const char *path, const uint8_t *data, size_t len);
/** Decode the base64 field `field` of resp and write it raw (see kg_cli_write_out). */
int kg_cli_write_b64_field(kg_cli *cli, const char *path, const json_t *resp, const char *field);
/** wg genkey's check: warn when stdout is a file other users can read and
 *  a secret is about to be written to it. */
void kg_cli_warn_secret_stdout(kg_cli *cli);
/** String field of obj or "" (never NULL). */
const char *kg_cli_field(const json_t *obj, const char *field);

/* -------------------------------------------------- handlers (cmd_*.c) */

int kg_cmd_server(kg_cli *cli);
int kg_cmd_status(kg_cli *cli);
int kg_cmd_operator_init(kg_cli *cli);
int kg_cmd_operator_unseal(kg_cli *cli);
int kg_cmd_operator_seal(kg_cli *cli);
int kg_cmd_operator_status(kg_cli *cli);
int kg_cmd_key_create(kg_cli *cli);
int kg_cmd_key_list(kg_cli *cli);
int kg_cmd_key_get(kg_cli *cli);
int kg_cmd_key_action(kg_cli *cli);   /* rotate, enable, disable, cancel-deletion */
int kg_cmd_key_schedule_deletion(kg_cli *cli);
int kg_cmd_key_update(kg_cli *cli);
int kg_cmd_key_public_key(kg_cli *cli);
int kg_cmd_key_import_params(kg_cli *cli);
int kg_cmd_key_import(kg_cli *cli);
int kg_cmd_encrypt(kg_cli *cli);
int kg_cmd_decrypt(kg_cli *cli);
int kg_cmd_reencrypt(kg_cli *cli);
int kg_cmd_data_key(kg_cli *cli);
int kg_cmd_sign(kg_cli *cli);
int kg_cmd_verify(kg_cli *cli);
int kg_cmd_mac(kg_cli *cli);
int kg_cmd_verify_mac(kg_cli *cli);
int kg_cmd_random(kg_cli *cli);
int kg_cmd_token_create(kg_cli *cli);
int kg_cmd_token_lookup(kg_cli *cli);
int kg_cmd_token_renew(kg_cli *cli);
int kg_cmd_token_revoke(kg_cli *cli);
int kg_cmd_policy_write(kg_cli *cli);
int kg_cmd_policy_read(kg_cli *cli);
int kg_cmd_policy_list(kg_cli *cli);
int kg_cmd_policy_delete(kg_cli *cli);
int kg_cmd_audit_list(kg_cli *cli);
int kg_cmd_audit_hash(kg_cli *cli);
int kg_cmd_audit_verify(kg_cli *cli);
int kg_cmd_wallet_create(kg_cli *cli);
int kg_cmd_wallet_restore(kg_cli *cli);
int kg_cmd_wallet_list(kg_cli *cli);
int kg_cmd_wallet_address(kg_cli *cli);
int kg_cmd_wallet_import_keystore(kg_cli *cli);
int kg_cmd_wallet_export_keystore(kg_cli *cli);
int kg_cmd_wallet_balance(kg_cli *cli);
int kg_cmd_wallet_send(kg_cli *cli);
int kg_cmd_wallet_sign_tx(kg_cli *cli);
int kg_cmd_wallet_sign_message(kg_cli *cli);
int kg_cmd_wallet_sign_typed_data(kg_cli *cli);
int kg_cmd_wallet_psbt_sign(kg_cli *cli);
int kg_cmd_mpc_ca_init(kg_cli *cli);
int kg_cmd_mpc_node_cert(kg_cli *cli);
int kg_cmd_mpc_keygen(kg_cli *cli);
int kg_cmd_mpc_sign(kg_cli *cli);
int kg_cmd_mpc_node(kg_cli *cli);
/* cmd_mpc_rest.c: the server as coordinator, node enrolment. */
int kg_cli_mpc_keygen_rest(kg_cli *cli);
int kg_cli_mpc_sign_rest(kg_cli *cli);
int kg_cmd_mpc_status(kg_cli *cli);
int kg_cmd_mpc_node_init(kg_cli *cli);
int kg_cmd_mpc_node_add(kg_cli *cli);
extern const kg_cli_opt kg_opts_mpc_status[], kg_opts_mpc_node_init[], kg_opts_mpc_node_add[];
extern const kg_cli_opt kg_opts_mpc_ca_init[], kg_opts_mpc_node_cert[], kg_opts_mpc_keygen[],
    kg_opts_mpc_sign[], kg_opts_mpc_node[];
/* cmd_mpc.c: the standalone coordinator of --ca-dir (address book loaded,
 * --nodes added and saved; ids gets the --nodes ids, capacity 255). */
typedef struct kg_mpc_coordinator kg_mpc_coordinator;
int local_coordinator(kg_cli *cli, kg_mpc_coordinator **co, uint16_t *ids, size_t *n);
/* cmd_mpc_refresh.c: refresh, reshare and repair of an MPC key. */
int kg_cmd_mpc_refresh(kg_cli *cli);
int kg_cmd_mpc_reshare(kg_cli *cli);
int kg_cmd_mpc_repair(kg_cli *cli);
extern const kg_cli_opt kg_opts_mpc_refresh[], kg_opts_mpc_reshare[], kg_opts_mpc_repair[];
int kg_cmd_mpc_resync(kg_cli *cli);
extern const kg_cli_opt kg_opts_mpc_resync[];
/* cmd_mpc_wallet.c: wallets on MPC keys through the server. */
int kg_cmd_mpc_address(kg_cli *cli);
int kg_cmd_mpc_psbt(kg_cli *cli);
int kg_cmd_mpc_send(kg_cli *cli);
extern const kg_cli_opt kg_opts_mpc_address[], kg_opts_mpc_psbt[], kg_opts_mpc_send[];
/* cmd_mpc_ecdsa.c: threshold ECDSA (CGGMP21) keys: presign, digest signing
 * (from kg_cmd_mpc_sign when --digest/--digest-b64 is given), EVM sends
 * (from kg_cmd_mpc_send for --chain eth; body holds "to"). */
int kg_cmd_mpc_presign(kg_cli *cli);
extern const kg_cli_opt kg_opts_mpc_presign[];
int kg_cli_mpc_sign_digest(kg_cli *cli);
int kg_cli_mpc_send_evm(kg_cli *cli, json_t *body);
/* cmd_mpc_import.c: import an existing key (the CLI is the trusted dealer). */
int kg_cmd_mpc_import(kg_cli *cli);
extern const kg_cli_opt kg_opts_mpc_import[];

/* cmd_hsm.c: the server's HSM fleet (REST /v1/sys/hsm). */
int kg_cmd_hsm_add(kg_cli *cli);
int kg_cmd_hsm_list(kg_cli *cli);
int kg_cmd_hsm_show(kg_cli *cli);
int kg_cmd_hsm_remove(kg_cli *cli);
int kg_cmd_hsm_group_create(kg_cli *cli);
int kg_cmd_hsm_groups(kg_cli *cli);
extern const kg_cli_opt kg_opts_hsm_add[], kg_opts_hsm_group_create[];

/* Option tables of each group (defined next to their handlers). */
extern const kg_cli_opt kg_opts_server[], kg_opts_operator_init[], kg_opts_operator_unseal[],
    kg_opts_key_create[], kg_opts_key_list[], kg_opts_key_schedule_deletion[],
    kg_opts_key_update[], kg_opts_key_public_key[], kg_opts_key_import_params[],
    kg_opts_key_import[], kg_opts_encrypt[], kg_opts_decrypt[], kg_opts_reencrypt[],
    kg_opts_data_key[], kg_opts_sign[], kg_opts_verify[], kg_opts_mac[], kg_opts_verify_mac[],
    kg_opts_random[], kg_opts_token_create[], kg_opts_token_renew[], kg_opts_audit_list[],
    kg_opts_audit_verify[];
extern const kg_cli_opt kg_opts_wallet_create[], kg_opts_wallet_restore[], kg_opts_wallet_list[],
    kg_opts_wallet_address[], kg_opts_wallet_import_keystore[], kg_opts_wallet_export_keystore[],
    kg_opts_wallet_balance[], kg_opts_wallet_send[], kg_opts_wallet_sign_tx[],
    kg_opts_wallet_sign_message[], kg_opts_wallet_sign_typed_data[], kg_opts_wallet_psbt_sign[];

/* ------------------------------------- wallet helpers (cmd_wallet*.c) */

#include "kashguard/signer.h"
#include "kashguard/wallet/store.h"

/* The wallet commands run locally (they open the encrypted wallet file
 * themselves), so their option tables carry --wallet-dir and --json. */
#define KG_WALLET_OPT_DIR {"wallet-dir", KG_OPT_STR, "<dir>", false, \
    "Directory of wallet files. The default is $KASHGUARD_WALLET_DIR, else ~/.kashguard/wallets."}
#define KG_WALLET_OPT_JSON {"json", KG_OPT_BOOL, NULL, false, \
    "Print a JSON object instead of the value alone."}
#define KG_WALLET_OPT_NAME {"name", KG_OPT_STR, "<wallet>", true, "Name of the wallet."}
#define KG_WALLET_OPT_INDEX {"index", KG_OPT_STR, "<n>", false, \
    "Address index on the chain's standard path (0..2147483647). The default is 0."}
#define KG_WALLET_OPT_PATH {"path", KG_OPT_STR, "<m/...>", false, \
    "Full derivation path instead of --index, e.g. \"m/44'/60'/1'/0/0\"."}
#define KG_WALLET_OPT_END {NULL, 0, NULL, false, NULL}
/* Commands that can sign with an MPC key (cmd_wallet_mpc.c): --name is then
 * optional (kg_cli_wallet_open asks for it unless --mpc-key is given). */
#define KG_WALLET_OPT_NAME_OR_MPC {"name", KG_OPT_STR, "<wallet>", false, \
    "Name of the wallet (required unless --mpc-key is given)."}
#define KG_WALLET_OPT_MPC \
    {"mpc-key", KG_OPT_STR, "<key-id>", false, \
     "Sign with this threshold ECDSA MPC key (cggmp21-secp256k1) instead of a wallet file; its account of " \
     "--index N is m/0/N and --path must be non-hardened."}, \
    {"ca-dir", KG_OPT_STR, "<dir>", false, \
     "With --mpc-key: coordinate the key's MPC nodes from this `mpc ca-init` directory. Without it the " \
     "KashGuard server (--addr or KASHGUARD_ADDR, KASHGUARD_TOKEN) coordinates."}

typedef enum { KG_CLI_CHAIN_BTC, KG_CLI_CHAIN_ETH, KG_CLI_CHAIN_COSMOS, KG_CLI_CHAIN_SOLANA } kg_cli_chain;

/** Parse --chain: btc | eth | evm | <EVM chain id> | cosmos | solana.
 *  *chain_id gets the numeric id (0 when not given). Prints the error. */
int kg_cli_wallet_chain(kg_cli *cli, kg_cli_chain *chain, uint64_t *chain_id);
/** The wallet passphrase: $KASHGUARD_WALLET_PASSPHRASE, else a hidden
 *  prompt on a terminal (twice when confirm). Prints the error. */
int kg_cli_wallet_passphrase(kg_cli *cli, char *buf, size_t cap, bool confirm);
/** Open wallet --name of --wallet-dir with the passphrase; *w is a
 *  kg_wallet_unlocked (free with kg_wallet_unlocked_free). Prints the error. */
int kg_cli_wallet_open(kg_cli *cli, kg_wallet_unlocked **w);
/** A signer over the opened wallet (HD seed or single key). Prints the error. */
int kg_cli_wallet_signer(kg_cli *cli, kg_signer **s, const kg_wallet_unlocked *w);
/** The key reference for chain from --index / --path (btc: purpose of the
 *  address type, coin of the network). Prints the error. */
int kg_cli_wallet_ref(kg_cli *cli, kg_key_ref *ref, const kg_wallet_unlocked *w, kg_cli_chain chain,
                      uint32_t purpose, uint32_t coin);
/** The EIP-55 address of ref's key; prints the error. */
int kg_cli_wallet_eth_from(kg_cli *cli, uint8_t addr[20], kg_signer *s, const kg_key_ref *ref);
/** Print value alone, or {"key": value, ...more} with --json (more may be
 *  NULL; stolen). Returns KG_CLI_OK. */
int kg_cli_wallet_emit(kg_cli *cli, const char *key, const char *value, json_t *more);
/** Address of the wallet key (chain-specific; cmd_wallet_btc.c / _other.c). */
int kg_cli_wallet_btc_address(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w);
int kg_cli_wallet_cosmos_address(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w);
int kg_cli_wallet_solana_address(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w);
int kg_cmd_wallet_sign_tx_cosmos(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w);
int kg_cmd_wallet_sign_tx_solana(kg_cli *cli, kg_signer *s, const kg_wallet_unlocked *w);
/** `wallet balance|send --chain btc` over an Esplora API (cmd_wallet_btc.c). */
int kg_cmd_wallet_balance_btc(kg_cli *cli);
int kg_cmd_wallet_send_btc(kg_cli *cli);
/** `wallet balance|send --chain cosmos|solana` over the chain's REST /
 *  JSON-RPC API (cmd_wallet_other.c); is_other: --chain is one of them. */
bool kg_cli_wallet_is_other(const kg_cli *cli);
int kg_cmd_wallet_balance_other(kg_cli *cli);
int kg_cmd_wallet_send_other(kg_cli *cli);
/** cmd_wallet_mpc.c: `wallet ... --mpc-key KEY [--ca-dir DIR]`. is_mpc: the
 *  option is given. mpc_open: a placeholder wallet (no secrets; the key id
 *  as its name). mpc_signer: the MPC key's signer (standalone coordinator
 *  with --ca-dir, else the server). mpc_ref: m/0/--index or a non-hardened
 *  --path (hardened levels, solana and btc p2tr refused). sign_error: a
 *  signing failure's exit code (MPC node/server failures exit 2). All print
 *  their errors. */
bool kg_cli_wallet_is_mpc(const kg_cli *cli);
int kg_cli_wallet_mpc_open(kg_cli *cli, kg_wallet_unlocked **w);
int kg_cli_wallet_mpc_signer(kg_cli *cli, kg_signer **s);
int kg_cli_wallet_mpc_ref(kg_cli *cli, kg_key_ref *ref, kg_cli_chain chain, uint32_t purpose);
int kg_cli_wallet_sign_error(kg_cli *cli, kg_err e);

#endif
