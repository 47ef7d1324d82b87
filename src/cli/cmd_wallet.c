/* `kashguard wallet create|restore|list|address|import-keystore|export-keystore`
 * and the helpers every wallet command shares.
 *
 * The wallet commands run LOCALLY: they open the encrypted wallet file
 * (src/wallet/wfile.c) themselves; only `balance` and `send` talk to a chain
 * node. Contract: notes/wallet-contract.md, user docs: docs/wallet.md.
 *
 * Secrets never come from argv (Vault's rule, STYLE.md): the wallet
 * passphrase is $KASHGUARD_WALLET_PASSPHRASE or a hidden prompt (termios
 * echo off, restored on every path, as `operator unseal` does), a mnemonic
 * or BIP39 passphrase comes from a file, a keystore password from
 * --keystore-password-file, $KASHGUARD_KEYSTORE_PASSWORD or a prompt. Every
 * buffer that held one is wiped before return.
 *
 * Keys: an HD wallet signs through kg_wallet_signer_local (BIP32/SLIP-10 at
 * the path of the key reference). A single-key wallet (import-keystore)
 * signs through the small signer below, which holds the one secp256k1 key
 * in guarded memory and refuses any path. With --mpc-key (address, balance,
 * send, sign-*) no wallet file is opened: a threshold ECDSA key of MPC nodes
 * signs (cmd_wallet_mpc.c).
 *
 * Output: the essential value alone on stdout (mnemonic, name, address);
 * --json prints an object instead. Exit 1 for local errors (bad input,
 * wrong passphrase), 2 for chain-node errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "cli_int.h"
#include "kashguard/crypto.h"
#include "kashguard/wallet/hd.h"
#include "kashguard/wallet/signers.h"
#include "kashguard/chain/ethereum.h"

#define WALLET_SECRET_MAX 1100 /* passphrases and passwords: 1024 bytes + newline + room */

const kg_cli_opt kg_opts_wallet_create[] = {
    KG_WALLET_OPT_NAME,
    {"words", KG_OPT_STR, "<12|15|18|21|24>", false, "Number of mnemonic words. The default is 24."},
    {"language", KG_OPT_STR, "<wordlist>", false,
     "BIP39 wordlist: english (default), japanese, korean, spanish, chinese_simplified, "
     "chinese_traditional, french, italian, czech or portuguese."},
    {"bip39-passphrase-file", KG_OPT_STR, "<file>", false,
     "File holding an optional BIP39 passphrase (the \"25th word\"; one trailing newline is ignored)."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};
const kg_cli_opt kg_opts_wallet_restore[] = {
    KG_WALLET_OPT_NAME,
    {"mnemonic-file", KG_OPT_STR, "<file|->", true,
     "File (or - for stdin) holding the BIP39 mnemonic; spaces and newlines are normalised."},
    {"bip39-passphrase-file", KG_OPT_STR, "<file>", false,
     "File holding the BIP39 passphrase used with this mnemonic, if any."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};
const kg_cli_opt kg_opts_wallet_list[] = {KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END};
const kg_cli_opt kg_opts_wallet_address[] = {
    KG_WALLET_OPT_NAME_OR_MPC, KG_WALLET_OPT_MPC,
    {"chain", KG_OPT_STR, "<chain>", true, "btc, eth (also evm or an EVM chain id), cosmos or solana."},
    KG_WALLET_OPT_INDEX, KG_WALLET_OPT_PATH,
    {"type", KG_OPT_STR, "<type>", false,
     "btc address type: p2wpkh (default, BIP84), p2tr (BIP86), p2sh-p2wpkh (BIP49) or p2pkh (BIP44)."},
    {"network", KG_OPT_STR, "<net>", false, "btc network: mainnet (default), testnet, signet or regtest."},
    {"hrp", KG_OPT_STR, "<prefix>", false, "cosmos Bech32 prefix. The default is cosmos."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};
const kg_cli_opt kg_opts_wallet_import_keystore[] = {
    KG_WALLET_OPT_NAME,
    {"file", KG_OPT_STR, "<keystore.json>", true, "The Web3 Secret Storage (keystore v3) file to import."},
    {"keystore-password-file", KG_OPT_STR, "<file>", false,
     "File holding the keystore password. Else $KASHGUARD_KEYSTORE_PASSWORD, else a prompt."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};
const kg_cli_opt kg_opts_wallet_export_keystore[] = {
    KG_WALLET_OPT_NAME, KG_WALLET_OPT_INDEX, KG_WALLET_OPT_PATH,
    {"kdf", KG_OPT_STR, "<scrypt|pbkdf2>", false, "Key derivation of the keystore. The default is scrypt."},
    {"out", KG_OPT_STR, "<file>", false, "Write the keystore to this file (mode 0600) instead of stdout."},
    {"keystore-password-file", KG_OPT_STR, "<file>", false,
     "File holding the new keystore password. Else $KASHGUARD_KEYSTORE_PASSWORD, else a prompt."},
    KG_WALLET_OPT_DIR, KG_WALLET_OPT_JSON, KG_WALLET_OPT_END,
};

/* ------------------------------------------------------------ shared */

int kg_cli_wallet_chain(kg_cli *cli, kg_cli_chain *chain, uint64_t *chain_id)
{
    const char *c = kg_cli_str(cli, "chain");
    *chain_id = 0;
    if (!c) return kg_cli_usage_error(cli, "missing required option --chain <chain>");
    if (!strcmp(c, "btc")) *chain = KG_CLI_CHAIN_BTC;
    else if (!strcmp(c, "eth") || !strcmp(c, "evm")) *chain = KG_CLI_CHAIN_ETH;
    else if (!strcmp(c, "cosmos")) *chain = KG_CLI_CHAIN_COSMOS;
    else if (!strcmp(c, "solana")) *chain = KG_CLI_CHAIN_SOLANA;
    else if (c[0] >= '1' && c[0] <= '9' && strspn(c, "0123456789") == strlen(c) && strlen(c) <= 19) {
        *chain = KG_CLI_CHAIN_ETH;
        *chain_id = strtoull(c, NULL, 10);
    } else {
        return kg_cli_usage_error(cli, "unknown chain '%.64s'; use btc, eth (or evm, or an EVM chain id "
                                  "such as 1 or 31337), cosmos or solana", c);
    }
    return KG_CLI_OK;
}

/* One line from the terminal with echo off; the newline is cut. */
static int prompt_hidden(kg_cli *cli, char *buf, size_t cap, const char *label)
{
    struct termios old, quiet;
    char *got;
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) != 0) return KG_CLI_LOCAL;
    fprintf(cli->err, "%s (will be hidden): ", label);
    fflush(cli->err);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    got = fgets(buf, (int)cap, stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (!got) { kg_wipe(buf, cap); return kg_cli_usage_error(cli, "nothing entered"); }
    buf[strcspn(buf, "\r\n")] = 0;
    return KG_CLI_OK;
}

/* A secret from env var or a hidden prompt (confirmed twice when asked). */
static int secret_env_or_prompt(kg_cli *cli, char *buf, size_t cap, const char *env, const char *label,
                                bool confirm, const char *how)
{
    const char *v = getenv(env);
    char again[WALLET_SECRET_MAX];
    int rc;
    if (v && *v) {
        if (strlen(v) >= cap) return kg_cli_usage_error(cli, "$%s is longer than %zu bytes", env, cap - 1);
        memcpy(buf, v, strlen(v) + 1);
        return KG_CLI_OK;
    }
    if (!isatty(STDIN_FILENO)) return kg_cli_usage_error(cli, "%s", how);
    if ((rc = prompt_hidden(cli, buf, cap, label)) != KG_CLI_OK) return rc;
    if (!buf[0]) return kg_cli_usage_error(cli, "the %s must not be empty", label);
    if (confirm) {
        rc = prompt_hidden(cli, again, sizeof again, "Repeat it");
        if (rc == KG_CLI_OK && strcmp(buf, again) != 0)
            rc = kg_cli_usage_error(cli, "the two entries differ; nothing was changed");
        kg_wipe(again, sizeof again);
    }
    if (rc != KG_CLI_OK) kg_wipe(buf, cap);
    return rc;
}

int kg_cli_wallet_passphrase(kg_cli *cli, char *buf, size_t cap, bool confirm)
{
    return secret_env_or_prompt(cli, buf, cap, "KASHGUARD_WALLET_PASSPHRASE", "Wallet passphrase", confirm,
                                "set KASHGUARD_WALLET_PASSPHRASE or run in a terminal");
}

/* A secret from a file: the whole file, without one trailing newline. */
static int secret_file(kg_cli *cli, char *buf, size_t cap, const char *opt, const char *path)
{
    kg_bytes b = {0};
    kg_err e = kg_cli_read_file(&b, path, cap - 1);
    if (e != KG_OK) return kg_cli_usage_error(cli, "--%s: %s", opt, kg_err_detail(e));
    size_t n = b.len;
    if (n > 0 && b.data[n - 1] == '\n') n--;
    if (n > 0 && b.data[n - 1] == '\r') n--;
    bool nul = memchr(b.data, 0, n) != NULL;
    memcpy(buf, b.data, n);
    buf[n] = 0;
    kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
    if (nul) { kg_wipe(buf, cap); return kg_cli_usage_error(cli, "--%s: the file holds a NUL byte", opt); }
    return KG_CLI_OK;
}

/* Wallet errors as the contract words them. */
static int wallet_error(kg_cli *cli, kg_err e, const char *name)
{
    if (e == KG_ERR_DECRYPT)
        return kg_cli_usage_error(cli, "wrong passphrase for wallet '%s'", name);
    return kg_cli_local_error(cli, e);
}

int kg_cli_wallet_open(kg_cli *cli, kg_wallet_unlocked **w)
{
    const char *name = kg_cli_str(cli, "name");
    char pass[WALLET_SECRET_MAX];
    kg_err e;
    int rc;
    *w = NULL;
    if (kg_cli_wallet_is_mpc(cli)) return kg_cli_wallet_mpc_open(cli, w); /* cmd_wallet_mpc.c */
    if (!name) return kg_cli_usage_error(cli, "missing required option --name <wallet> (or --mpc-key <key-id> to "
                                         "sign with an MPC key)");
    if ((e = kg_wallet_name_check(name)) != KG_OK) return kg_cli_local_error(cli, e);
    if ((rc = kg_cli_wallet_passphrase(cli, pass, sizeof pass, false)) != KG_CLI_OK) return rc;
    e = kg_wallet_file_open(w, kg_cli_str(cli, "wallet-dir"), name, pass);
    kg_wipe(pass, sizeof pass);
    return e == KG_OK ? KG_CLI_OK : wallet_error(cli, e, name);
}

/* ------------------------------------------- the single-key signer */

static kg_err key_check(const kg_key_ref *ref, kg_sig_scheme scheme)
{
    if (ref->path_len != 0 || ref->taproot)
        return kg_err_set(KG_ERR_BAD_INPUT, "a single-key wallet has no derivation paths");
    if (scheme != KG_SIG_ECDSA_SECP256K1)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "a single-key wallet signs secp256k1 ECDSA only");
    return KG_OK;
}

static kg_err key_public(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    kg_err e = key_check(ref, scheme);
    memset(out, 0, sizeof *out);
    if (e == KG_OK) e = kg_crypto_k1_pubkey(out->data, 33, kg_secret_cdata(s->impl));
    if (e == KG_OK) out->len = 33;
    return e;
}

static kg_err key_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                       const uint8_t *msg, size_t msg_len)
{
    kg_err e = key_check(ref, scheme);
    memset(out, 0, sizeof *out);
    out->recid = -1;
    if (e == KG_OK && msg_len != 32) e = kg_err_set(KG_ERR_BAD_INPUT, "ECDSA signs a 32-byte digest");
    if (e == KG_OK) e = kg_crypto_k1_sign_recoverable(out->data, &out->recid, kg_secret_cdata(s->impl), msg);
    if (e == KG_OK) out->len = 64;
    return e;
}

static void key_close(kg_signer *s)
{
    kg_secret_free(s->impl);
    free(s);
}

static const kg_signer_ops key_ops = {key_public, key_sign, key_close};

int kg_cli_wallet_signer(kg_cli *cli, kg_signer **s, const kg_wallet_unlocked *w)
{
    kg_err e;
    *s = NULL;
    if (kg_cli_wallet_is_mpc(cli)) return kg_cli_wallet_mpc_signer(cli, s);
    if (w->kind != KG_WALLET_KIND_KEY) {
        e = kg_wallet_signer_local(s, w->seed);
        return e == KG_OK ? KG_CLI_OK : kg_cli_local_error(cli, e);
    }
    if (!(*s = calloc(1, sizeof **s)) || !((*s)->impl = kg_secret_from(kg_secret_cdata(w->key), 32))) {
        free(*s);
        *s = NULL;
        return kg_cli_usage_error(cli, "out of memory");
    }
    (*s)->ops = &key_ops;
    return KG_CLI_OK;
}

int kg_cli_wallet_ref(kg_cli *cli, kg_key_ref *ref, const kg_wallet_unlocked *w, kg_cli_chain chain,
                      uint32_t purpose, uint32_t coin)
{
    const char *path = kg_cli_str(cli, "path");
    unsigned long index = 0;
    kg_err e = KG_OK;
    memset(ref, 0, sizeof *ref);
    if (kg_cli_wallet_is_mpc(cli)) return kg_cli_wallet_mpc_ref(cli, ref, chain, purpose);
    if (path && kg_cli_str(cli, "index"))
        return kg_cli_usage_error(cli, "give --index or --path, not both");
    if (kg_cli_uint(cli, &index, "index", 0, 0, KG_HARDENED - 1)) return KG_CLI_LOCAL;
    if (w->kind == KG_WALLET_KIND_KEY) {
        if (chain != KG_CLI_CHAIN_ETH)
            return kg_cli_usage_error(cli, "wallet '%s' holds one imported Ethereum key (keystore); it has "
                                      "no %s key", w->name, chain == KG_CLI_CHAIN_BTC ? "btc" :
                                      chain == KG_CLI_CHAIN_COSMOS ? "cosmos" : "solana");
        if (path || kg_cli_str(cli, "index"))
            return kg_cli_usage_error(cli, "wallet '%s' holds one imported key: --index and --path do not "
                                      "apply", w->name);
        return KG_CLI_OK;
    }
    if (path) {
        e = kg_wallet_path_parse(ref->path, KG_PATH_MAX, &ref->path_len, path);
        if (e != KG_OK) return kg_cli_usage_error(cli, "--path: %s", kg_err_detail(e));
        for (size_t i = 0; chain == KG_CLI_CHAIN_SOLANA && i < ref->path_len; i++)
            if (!(ref->path[i] & KG_HARDENED))
                return kg_cli_usage_error(cli, "--path: solana keys (SLIP-10 ed25519) need every step "
                                          "hardened, e.g. m/44'/501'/0'/0'");
        return KG_CLI_OK;
    }
    switch (chain) {
    case KG_CLI_CHAIN_BTC: e = kg_wallet_bip44_path(ref->path, purpose, coin, 0, 0, (uint32_t)index); break;
    case KG_CLI_CHAIN_ETH: e = kg_wallet_bip44_path(ref->path, 44, 60, 0, 0, (uint32_t)index); break;
    case KG_CLI_CHAIN_COSMOS: e = kg_wallet_bip44_path(ref->path, 44, 118, 0, 0, (uint32_t)index); break;
    case KG_CLI_CHAIN_SOLANA: /* m/44'/501'/N'/0' (Phantom, solana-keygen) */
        ref->path[0] = 44 | KG_HARDENED;
        ref->path[1] = 501 | KG_HARDENED;
        ref->path[2] = (uint32_t)index | KG_HARDENED;
        ref->path[3] = 0 | KG_HARDENED;
        ref->path_len = 4;
        return KG_CLI_OK;
    }
    ref->path_len = 5;
    return e == KG_OK ? KG_CLI_OK : kg_cli_local_error(cli, e);
}

int kg_cli_wallet_eth_from(kg_cli *cli, uint8_t addr[20], kg_signer *s, const kg_key_ref *ref)
{
    kg_pubkey pk;
    kg_err e = kg_signer_public_key(s, &pk, ref, KG_SIG_ECDSA_SECP256K1);
    if (e == KG_OK) e = kg_chain_eth_addr_from_pubkey(addr, pk.data, pk.len);
    return e == KG_OK ? KG_CLI_OK : kg_cli_local_error(cli, e);
}

int kg_cli_wallet_emit(kg_cli *cli, const char *key, const char *value, json_t *more)
{
    if (!cli->json) {
        fprintf(cli->out, "%s\n", value);
        json_decref(more);
        return KG_CLI_OK;
    }
    json_t *o = json_object();
    json_object_set_new(o, key, json_string(value));
    if (more) json_object_update(o, more);
    json_decref(more);
    kg_cli_print_json(cli->out, o);
    json_decref(o);
    return KG_CLI_OK;
}

/* "m/84'/0'/0'/0/5" of ref, or "" for a single key. */
static json_t *path_json(const kg_key_ref *ref)
{
    char p[KG_WALLET_PATH_MAX_BYTES] = "";
    if (ref->path_len && kg_wallet_path_format(p, sizeof p, ref->path, ref->path_len, true) != KG_OK) p[0] = 0;
    return json_string(p);
}

/* --------------------------------------------------- create, restore */

/* Fingerprint (hex) of a wallet's BIP32 master key, from its public metadata. */
static const char *fingerprint_of(const json_t *pub)
{
    const char *f = json_string_value(json_object_get(pub, "fingerprint"));
    return f ? f : "";
}

static int create_opts(kg_cli *cli, kg_wallet_create_opts *o, char *pass, char *bip39pp)
{
    const char *ppf = kg_cli_str(cli, "bip39-passphrase-file");
    kg_err e;
    int rc;
    memset(o, 0, sizeof *o);
    o->dir = kg_cli_str(cli, "wallet-dir");
    o->name = kg_cli_str(cli, "name");
    if ((e = kg_wallet_name_check(o->name)) != KG_OK) return kg_cli_local_error(cli, e);
    if (ppf) {
        if ((rc = secret_file(cli, bip39pp, WALLET_SECRET_MAX, "bip39-passphrase-file", ppf)) != KG_CLI_OK)
            return rc;
        o->bip39_passphrase = bip39pp;
    }
    if ((rc = kg_cli_wallet_passphrase(cli, pass, WALLET_SECRET_MAX, true)) != KG_CLI_OK) return rc;
    o->passphrase = pass;
    return KG_CLI_OK;
}

/* Open the new wallet's header (no passphrase) to print its fingerprint. */
static json_t *created_json(kg_cli *cli, const char *name)
{
    json_t *list = NULL, *ent, *more = json_object();
    size_t i;
    if (kg_wallet_file_list(&list, kg_cli_str(cli, "wallet-dir")) == KG_OK)
        json_array_foreach(json_object_get(list, "wallets"), i, ent)
            if (!strcmp(kg_cli_field(ent, "name"), name)) {
                json_object_set_new(more, "fingerprint",
                                    json_string(fingerprint_of(json_object_get(ent, "public"))));
                json_object_set(more, "created_at", json_object_get(ent, "created_at"));
            }
    json_decref(list);
    kg_err_clear();
    return more;
}

int kg_cmd_wallet_create(kg_cli *cli)
{
    static const unsigned allowed[] = {12, 15, 18, 21, 24};
    char pass[WALLET_SECRET_MAX], pp[WALLET_SECRET_MAX], mnemonic[KG_WALLET_MNEMONIC_MAX_BYTES];
    uint8_t entropy[KG_WALLET_ENTROPY_MAX_BYTES];
    kg_wallet_create_opts o;
    kg_wallet_lang lang = KG_WALLET_LANG_ENGLISH;
    unsigned long words = 24;
    const char *lname = kg_cli_str(cli, "language");
    bool ok_words = false;
    int rc;
    kg_err e;
    if (kg_cli_uint(cli, &words, "words", 24, 12, 24)) return KG_CLI_LOCAL;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) ok_words |= words == allowed[i];
    if (!ok_words) return kg_cli_usage_error(cli, "--words must be 12, 15, 18, 21 or 24, not %lu", words);
    if (lname && kg_wallet_bip39_lang_parse(&lang, lname) != KG_OK)
        return kg_cli_usage_error(cli, "--language '%.40s' is not a BIP39 wordlist; use english, japanese, "
                                  "korean, spanish, chinese_simplified, chinese_traditional, french, "
                                  "italian, czech or portuguese", lname);
    if ((rc = create_opts(cli, &o, pass, pp)) != KG_CLI_OK) goto out;
    size_t elen = words * 4 / 3;
    e = kg_crypto_random(entropy, elen);
    if (e == KG_OK) e = kg_wallet_bip39_from_entropy(mnemonic, sizeof mnemonic, lang, entropy, elen);
    if (e == KG_OK) e = kg_wallet_file_create_entropy(&o, kg_wallet_bip39_lang_name(lang), entropy, elen);
    if (e != KG_OK) { rc = kg_cli_local_error(cli, e); goto out; }
    kg_cli_warn_secret_stdout(cli);
    fprintf(cli->err, "Wallet '%s' created. Write the %lu words below down on paper and keep them safe: they "
            "are shown only this once and restore the wallet with `kashguard wallet restore`.\n", o.name, words);
    json_t *more = NULL;
    if (cli->json) {
        more = created_json(cli, o.name);
        json_object_set_new(more, "name", json_string(o.name));
        json_object_set_new(more, "language", json_string(kg_wallet_bip39_lang_name(lang)));
    }
    rc = kg_cli_wallet_emit(cli, "mnemonic", mnemonic, more);
out:
    kg_wipe(pass, sizeof pass);
    kg_wipe(pp, sizeof pp);
    kg_wipe(mnemonic, sizeof mnemonic);
    kg_wipe(entropy, sizeof entropy);
    return rc;
}

/* Trim, collapse every run of ASCII whitespace into one space, lower-case
 * ASCII letters (word lists are lower case). In place. */
static void mnemonic_normalise(char *s)
{
    char *w = s;
    bool space = true;
    for (char *r = s; *r; r++) {
        char c = *r;
        if (strchr(" \t\r\n\f\v", c)) {
            if (!space) *w++ = ' ';
            space = true;
            continue;
        }
        *w++ = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        space = false;
    }
    if (w > s && w[-1] == ' ') w--;
    *w = 0;
}

int kg_cmd_wallet_restore(kg_cli *cli)
{
    char pass[WALLET_SECRET_MAX], pp[WALLET_SECRET_MAX], mnemonic[KG_WALLET_MNEMONIC_MAX_BYTES * 2];
    kg_wallet_create_opts o;
    int rc;
    kg_err e;
    mnemonic[0] = 0;
    rc = secret_file(cli, mnemonic, sizeof mnemonic, "mnemonic-file", kg_cli_str(cli, "mnemonic-file"));
    if (rc != KG_CLI_OK) return rc;
    mnemonic_normalise(mnemonic);
    if (!mnemonic[0]) { rc = kg_cli_usage_error(cli, "--mnemonic-file holds no words"); goto out; }
    /* Check the words before asking for a passphrase: a typo is the common mistake. */
    uint8_t ent[KG_WALLET_ENTROPY_MAX_BYTES];
    size_t elen = 0;
    e = kg_wallet_bip39_to_entropy(ent, sizeof ent, &elen, NULL, KG_WALLET_LANG_AUTO, mnemonic);
    kg_wipe(ent, sizeof ent);
    if (e != KG_OK) { rc = kg_cli_usage_error(cli, "invalid mnemonic: %s", kg_err_detail(e)); goto out; }
    if ((rc = create_opts(cli, &o, pass, pp)) != KG_CLI_OK) goto out;
    if ((e = kg_wallet_file_create_mnemonic(&o, mnemonic)) != KG_OK) { rc = kg_cli_local_error(cli, e); goto out; }
    rc = kg_cli_wallet_emit(cli, "name", o.name, cli->json ? created_json(cli, o.name) : NULL);
out:
    kg_wipe(pass, sizeof pass);
    kg_wipe(pp, sizeof pp);
    kg_wipe(mnemonic, sizeof mnemonic);
    return rc;
}

/* ------------------------------------------------------------- list */

int kg_cmd_wallet_list(kg_cli *cli)
{
    json_t *list = NULL, *ent, *rows = json_array();
    size_t i;
    kg_err e = kg_wallet_file_list(&list, kg_cli_str(cli, "wallet-dir"));
    if (e != KG_OK) { json_decref(rows); return kg_cli_local_error(cli, e); }
    json_array_foreach(json_object_get(list, "wallets"), i, ent) {
        json_t *pub = json_object_get(ent, "public");
        const char *kind = json_string_value(json_object_get(pub, "kind"));
        if (!cli->json) { fprintf(cli->out, "%s\n", kg_cli_field(ent, "name")); continue; }
        json_t *row = json_pack("{s:s,s:O?,s:s,s:s}", "name", kg_cli_field(ent, "name"),
                                "created_at", json_object_get(ent, "created_at"),
                                "fingerprint", fingerprint_of(pub), "kind", kind ? kind : "hd");
        if (row && json_object_get(ent, "error")) json_object_set(row, "error", json_object_get(ent, "error"));
        json_array_append_new(rows, row);
    }
    if (cli->json) {
        json_t *o = json_pack("{s:O}", "wallets", rows);
        kg_cli_print_json(cli->out, o);
        json_decref(o);
    }
    json_decref(rows);
    json_decref(list);
    return KG_CLI_OK;
}

/* ---------------------------------------------------------- address */

int kg_cmd_wallet_address(kg_cli *cli)
{
    kg_cli_chain chain;
    uint64_t cid;
    kg_wallet_unlocked *w = NULL;
    kg_signer *s = NULL;
    int rc;
    if ((rc = kg_cli_wallet_chain(cli, &chain, &cid)) != KG_CLI_OK) return rc;
    if (chain != KG_CLI_CHAIN_BTC && (kg_cli_str(cli, "type") || kg_cli_str(cli, "network")))
        return kg_cli_usage_error(cli, "--type and --network apply to --chain btc only");
    if (chain != KG_CLI_CHAIN_COSMOS && kg_cli_str(cli, "hrp"))
        return kg_cli_usage_error(cli, "--hrp applies to --chain cosmos only");
    if ((rc = kg_cli_wallet_open(cli, &w)) != KG_CLI_OK) return rc;
    if ((rc = kg_cli_wallet_signer(cli, &s, w)) != KG_CLI_OK) goto out;
    if (chain == KG_CLI_CHAIN_BTC) rc = kg_cli_wallet_btc_address(cli, s, w);
    else if (chain == KG_CLI_CHAIN_COSMOS) rc = kg_cli_wallet_cosmos_address(cli, s, w);
    else if (chain == KG_CLI_CHAIN_SOLANA) rc = kg_cli_wallet_solana_address(cli, s, w);
    else {
        kg_key_ref ref;
        uint8_t addr[20];
        char text[KG_CHAIN_ETH_ADDR_STR_BYTES];
        if ((rc = kg_cli_wallet_ref(cli, &ref, w, chain, 0, 0)) != KG_CLI_OK) goto out;
        if ((rc = kg_cli_wallet_eth_from(cli, addr, s, &ref)) != KG_CLI_OK) goto out;
        kg_chain_eth_addr_to_str(text, addr);
        rc = kg_cli_wallet_emit(cli, "address", text,
                                json_pack("{s:s,s:o}", "chain", "eth", "path", path_json(&ref)));
    }
out:
    kg_signer_close(s);
    kg_wallet_unlocked_free(w);
    return rc;
}

/* ------------------------------------------------------ keystore v3 */

static int keystore_password(kg_cli *cli, char *buf, size_t cap, bool confirm)
{
    const char *f = kg_cli_str(cli, "keystore-password-file");
    if (f) return secret_file(cli, buf, cap, "keystore-password-file", f);
    return secret_env_or_prompt(cli, buf, cap, "KASHGUARD_KEYSTORE_PASSWORD", "Keystore password", confirm,
                                "give --keystore-password-file, set KASHGUARD_KEYSTORE_PASSWORD or run in a "
                                "terminal");
}

int kg_cmd_wallet_import_keystore(kg_cli *cli)
{
    char kpass[WALLET_SECRET_MAX], pass[WALLET_SECRET_MAX], text[KG_CHAIN_ETH_ADDR_STR_BYTES];
    kg_bytes doc = {0};
    kg_secret *priv = NULL;
    uint8_t addr[20];
    kg_wallet_create_opts o;
    int rc;
    kg_err e;
    kpass[0] = pass[0] = 0;
    memset(&o, 0, sizeof o);
    o.dir = kg_cli_str(cli, "wallet-dir");
    o.name = kg_cli_str(cli, "name");
    if ((e = kg_wallet_name_check(o.name)) != KG_OK) return kg_cli_local_error(cli, e);
    if ((e = kg_cli_read_file(&doc, kg_cli_str(cli, "file"), 65536)) != KG_OK)
        return kg_cli_usage_error(cli, "--file: %s", kg_err_detail(e));
    if ((rc = keystore_password(cli, kpass, sizeof kpass, false)) != KG_CLI_OK) goto out;
    e = kg_wallet_keystore_import(&priv, addr, (const char *)doc.data, doc.len, kpass, strlen(kpass));
    if (e == KG_ERR_DECRYPT) { rc = kg_cli_usage_error(cli, "wrong password for keystore '%s'",
                                                        kg_cli_str(cli, "file")); goto out; }
    if (e != KG_OK) { rc = kg_cli_usage_error(cli, "keystore: %s", kg_err_detail(e)); goto out; }
    if ((rc = kg_cli_wallet_passphrase(cli, pass, sizeof pass, true)) != KG_CLI_OK) goto out;
    o.passphrase = pass;
    if ((e = kg_wallet_file_create_key(&o, priv)) != KG_OK) { rc = kg_cli_local_error(cli, e); goto out; }
    kg_chain_eth_addr_to_str(text, addr);
    rc = kg_cli_wallet_emit(cli, "address", text, json_pack("{s:s,s:s}", "name", o.name, "kind", "key"));
out:
    kg_secret_free(priv);
    kg_wipe(kpass, sizeof kpass);
    kg_wipe(pass, sizeof pass);
    kg_bytes_free(&doc);
    return rc;
}

/* The secp256k1 private key of ref (HD: derived; single key: copied). */
static kg_err eth_private_key(kg_secret **out, const kg_wallet_unlocked *w, const kg_key_ref *ref)
{
    kg_wallet_hdkey m, k;
    kg_err e;
    *out = NULL;
    if (w->kind == KG_WALLET_KIND_KEY) {
        *out = kg_secret_from(kg_secret_cdata(w->key), 32);
        return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    memset(&k, 0, sizeof k);
    e = kg_wallet_hd_from_seed(&m, KG_WALLET_CURVE_SECP256K1, kg_secret_cdata(w->seed), kg_secret_len(w->seed));
    if (e == KG_OK) e = kg_wallet_hd_derive_path(&k, &m, ref->path, ref->path_len);
    if (e == KG_OK && !(*out = kg_secret_from(k.priv, 32))) e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_wallet_hdkey_wipe(&m);
    kg_wallet_hdkey_wipe(&k);
    return e;
}

int kg_cmd_wallet_export_keystore(kg_cli *cli)
{
    const char *kdf = kg_cli_str(cli, "kdf"), *outp = kg_cli_str(cli, "out");
    const char *fast = getenv("KASHGUARD_WALLET_KDF");
    char kpass[WALLET_SECRET_MAX], *json = NULL;
    kg_wallet_keystore_params params;
    kg_wallet_unlocked *w = NULL;
    kg_secret *priv = NULL;
    kg_key_ref ref;
    int rc;
    kg_err e;
    kpass[0] = 0;
    if (kdf && strcmp(kdf, "scrypt") && strcmp(kdf, "pbkdf2"))
        return kg_cli_usage_error(cli, "--kdf must be scrypt or pbkdf2, not '%.32s'", kdf);
    kg_wallet_keystore_params_default(&params, kdf && !strcmp(kdf, "pbkdf2") ? KG_WALLET_KEYSTORE_PBKDF2
                                                                              : KG_WALLET_KEYSTORE_SCRYPT);
    if (fast && !strcmp(fast, "fast")) { params.n = 1024; params.c = 1024; } /* tests only */
    if ((rc = kg_cli_wallet_open(cli, &w)) != KG_CLI_OK) return rc;
    if ((rc = kg_cli_wallet_ref(cli, &ref, w, KG_CLI_CHAIN_ETH, 0, 0)) != KG_CLI_OK) goto out;
    if ((rc = keystore_password(cli, kpass, sizeof kpass, true)) != KG_CLI_OK) goto out;
    if (!kpass[0]) { rc = kg_cli_usage_error(cli, "the keystore password must not be empty"); goto out; }
    e = eth_private_key(&priv, w, &ref);
    if (e == KG_OK) e = kg_wallet_keystore_export(&json, priv, kpass, strlen(kpass), &params);
    if (e != KG_OK) { rc = kg_cli_local_error(cli, e); goto out; }
    if (outp && strcmp(outp, "-")) {
        size_t n = strlen(json);
        json[n] = 0;
        rc = kg_cli_write_out(cli, outp, (const uint8_t *)json, n);
    } else {
        fprintf(cli->out, "%s\n", json);
    }
out:
    if (json) { kg_wipe(json, strlen(json)); free(json); }
    kg_secret_free(priv);
    kg_wipe(kpass, sizeof kpass);
    kg_wallet_unlocked_free(w);
    return rc;
}
