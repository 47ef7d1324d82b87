/* Unit tests of `kashguard wallet ...` argument handling: every wallet
 * command is in the table with a synopsis and Vault-shaped help (reachable
 * as `help wallet X`, `wallet X --help` and for the three-word `wallet psbt
 * sign`), missing flags, bad chains, bad indexes, bad amounts and wrong
 * passphrases exit 1 with a clear message and print nothing on stdout, and
 * the local paths that need no node (restore, address, sign-message,
 * offline sign-tx, keystore round trip) give the known answers for
 * hardhat's "test test ... junk" mnemonic. kg_cli_main runs in-process with
 * stdout/stderr captured; the wallet directory is a fresh temp dir and
 * KASHGUARD_WALLET_KDF=fast keeps Argon2id cheap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "kashguard/cli.h"
#include "../../src/cli/cli_int.h"
#include "cli_run.h"

#define HARDHAT "test test test test test test test test test test test junk"
#define ADDR0 "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define ADDR1 "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

static char wdir[64], mfile[96];

static int setup(void **state)
{
    (void)state;
    snprintf(wdir, sizeof wdir, "/tmp/kg-wcli-XXXXXX");
    assert_non_null(mkdtemp(wdir));
    snprintf(mfile, sizeof mfile, "%s/words.txt", wdir);
    FILE *f = fopen(mfile, "w");
    assert_non_null(f);
    fputs("  TEST test\ttest test test test\n test test test test test junk\n\n", f); /* messy on purpose */
    fclose(f);
    setenv("KASHGUARD_WALLET_DIR", wdir, 1);
    setenv("KASHGUARD_WALLET_KDF", "fast", 1);
    setenv("KASHGUARD_WALLET_PASSPHRASE", "correct horse", 1);
    unsetenv("KASHGUARD_KEYSTORE_PASSWORD");
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", wdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Exit 1, nothing on stdout, needle on stderr. */
static void expect_local(const char *needle, char **out, char **err, int rc)
{
    if (rc != 1) fail_msg("rc %d (want 1); stderr: %s", rc, *err);
    assert_string_equal(*out, "");
    if (!strstr(*err, needle)) fail_msg("stderr lacks \"%s\": %s", needle, *err);
    free(*out);
    free(*err);
}

/* Exit 0 and stdout equal to want + "\n". */
static void expect_out(const char *want, char **out, char **err, int rc)
{
    char line[1024];
    if (rc != 0) fail_msg("rc %d; stderr: %s", rc, *err);
    snprintf(line, sizeof line, "%s\n", want);
    assert_string_equal(*out, line);
    free(*out);
    free(*err);
}

/* ------------------------------------------------------- the table, help */

static const char *const wallet_cmds[] = {
    "wallet create", "wallet restore", "wallet list", "wallet address", "wallet balance", "wallet send",
    "wallet sign-tx", "wallet sign-message", "wallet sign-typed-data", "wallet psbt sign",
    "wallet import-keystore", "wallet export-keystore", NULL};

static void test_every_wallet_command_has_help(void **state)
{
    char *out, *err, usage[96];
    (void)state;
    for (size_t i = 0; wallet_cmds[i]; i++) {
        const kg_cli_cmd *c = kg_cli_commands();
        while (c->name && strcmp(c->name, wallet_cmds[i])) c++;
        if (!c->name) fail_msg("'%s' is not in the command table", wallet_cmds[i]);
        assert_true(c->local);
        assert_non_null(strstr(c->help, "$ kashguard wallet "));
        snprintf(usage, sizeof usage, "Usage: kashguard %s [options]", c->name);
        /* argv words: "wallet" "create" or "wallet" "psbt" "sign" */
        char words[3][32] = {"", "", ""};
        int n = sscanf(c->name, "%31s %31s %31s", words[0], words[1], words[2]);
        int rc = n == 3 ? run_cli(&out, &err, words[0], words[1], words[2], "--help", NULL)
                        : run_cli(&out, &err, words[0], words[1], "--help", NULL);
        assert_int_equal(rc, 0);
        if (!strstr(out, usage)) fail_msg("help of '%s' lacks \"%s\"", c->name, usage);
        assert_non_null(strstr(out, "Command Options:"));
        assert_non_null(strstr(out, "--wallet-dir"));
        assert_null(strstr(out, "HTTP Options:"));
        free(out);
        free(err);
        rc = n == 3 ? run_cli(&out, &err, "help", words[0], words[1], words[2], NULL)
                    : run_cli(&out, &err, "help", words[0], words[1], NULL);
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out, usage));
        free(out);
        free(err);
    }
    assert_int_equal(run_cli(&out, &err, "help", "wallet", NULL), 0);
    assert_non_null(strstr(out, "psbt sign"));
    assert_non_null(strstr(out, "sign-typed-data"));
    free(out);
    free(err);
    expect_local("Subcommands:", &out, &err, run_cli(&out, &err, "wallet", "psbt", NULL));
}

/* ------------------------------------------------------- usage errors */

static void test_missing_flags(void **state)
{
    char *out, *err;
    (void)state;
    expect_local("missing required option --name", &out, &err, run_cli(&out, &err, "wallet", "create", NULL));
    expect_local("missing required option --mnemonic-file", &out, &err,
                 run_cli(&out, &err, "wallet", "restore", "--name", "x", NULL));
    expect_local("missing required option --chain", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "x", NULL));
    expect_local("missing required option --rpc", &out, &err,
                 run_cli(&out, &err, "wallet", "balance", "--name", "x", "--chain", "eth", NULL));
    expect_local("missing required option --rpc", &out, &err,
                 run_cli(&out, &err, "wallet", "send", "--name", "x", "--chain", "eth", "--to", ADDR1,
                         "--amount", "1", NULL));
    expect_local("missing required option --message", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-message", "--name", "x", "--chain", "eth", NULL));
    expect_local("missing required option --file", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-typed-data", "--name", "x", "--chain", "eth", NULL));
    expect_local("exactly one of --psbt", &out, &err, run_cli(&out, &err, "wallet", "psbt", "sign", "--name", "x", NULL));
    expect_local("--nope", &out, &err, run_cli(&out, &err, "wallet", "list", "--nope", NULL));
    expect_local("--addr", &out, &err, run_cli(&out, &err, "wallet", "list", "--addr", "http://x", NULL));
}

static void test_restore_and_addresses(void **state)
{
    char *out, *err;
    (void)state;
    expect_out("hh", &out, &err, run_cli(&out, &err, "wallet", "restore", "--name", "hh", "--mnemonic-file", mfile, NULL));
    expect_local("already exists", &out, &err,
                 run_cli(&out, &err, "wallet", "restore", "--name", "hh", "--mnemonic-file", mfile, NULL));
    expect_out(ADDR0, &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "eth", NULL));
    expect_out(ADDR1, &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "31337",
                                          "--index", "1", NULL));
    expect_out(ADDR1, &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "evm",
                                          "--path", "m/44'/60'/0'/0/1", NULL));
    expect_out("hh", &out, &err, run_cli(&out, &err, "wallet", "list", NULL));
}

static void test_bad_chain_index_path(void **state)
{
    char *out, *err;
    (void)state;
    expect_local("unknown chain 'doge'", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "doge", NULL));
    expect_local("unknown chain '0'", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "0", NULL));
    expect_local("--index must be a whole number", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "eth", "--index", "-1", NULL));
    expect_local("--index must be a whole number", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "eth", "--index", "2147483648", NULL));
    expect_local("--index must be a whole number", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "eth", "--index", "x1", NULL));
    expect_local("not both", &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "eth",
                                                 "--index", "1", "--path", "m/0", NULL));
    expect_local("--path", &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "eth",
                                               "--path", "m/x'", NULL));
    expect_local("hardened", &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "solana",
                                                 "--path", "m/44'/501'/0'/0", NULL));
    expect_local("--type must be", &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain",
                                                       "btc", "--type", "p2sh", NULL));
    expect_local("--network must be", &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain",
                                                          "btc", "--network", "moon", NULL));
    expect_local("--chain btc only", &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain",
                                                         "eth", "--type", "p2tr", NULL));
    expect_local("psbt sign", &out, &err, run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "btc", NULL));
    expect_local("only", &out, &err, run_cli(&out, &err, "wallet", "sign-message", "--name", "hh", "--chain", "cosmos",
                                             "--message", "m", NULL));
    expect_local("wallet name", &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "../x", "--chain", "eth", NULL));
    expect_local("no wallet 'nosuch'", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "nosuch", "--chain", "eth", NULL));
}

static void test_wrong_passphrase(void **state)
{
    char *out, *err;
    (void)state;
    setenv("KASHGUARD_WALLET_PASSPHRASE", "wrong", 1);
    expect_local("Error: wrong passphrase for wallet 'hh'", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "eth", NULL));
    unsetenv("KASHGUARD_WALLET_PASSPHRASE");
    if (!isatty(0))
        expect_local("set KASHGUARD_WALLET_PASSPHRASE or run in a terminal", &out, &err,
                     run_cli(&out, &err, "wallet", "address", "--name", "hh", "--chain", "eth", NULL));
    setenv("KASHGUARD_WALLET_PASSPHRASE", "correct horse", 1);
}

static void test_create_words(void **state)
{
    char *out, *err;
    (void)state;
    expect_local("--words must be", &out, &err, run_cli(&out, &err, "wallet", "create", "--name", "c", "--words", "13", NULL));
    expect_local("--language", &out, &err, run_cli(&out, &err, "wallet", "create", "--name", "c", "--language", "klingon", NULL));
    assert_int_equal(run_cli(&out, &err, "wallet", "create", "--name", "c12", "--words", "12", NULL), 0);
    size_t spaces = 0;
    for (char *p = out; *p; p++) spaces += *p == ' ';
    assert_int_equal(spaces, 11);
    assert_non_null(strstr(err, "Write the 12 words"));
    free(out);
    free(err);
}

/* ----------------------------------------------------- amounts, sign-tx */

static void test_send_amounts_rejected(void **state)
{
    static const char *const bad[] = {"0", "-1", "abc", "1.2.3", "0wei", "1e18", "", "0.0000000000000000001", NULL};
    char *out, *err;
    (void)state;
    for (size_t i = 0; bad[i]; i++)
        expect_local("--amount", &out, &err,
                     run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "eth", "--chain-id", "1",
                             "--nonce", "0", "--gas-limit", "21000", "--max-fee-gwei", "30", "--to", ADDR1,
                             "--amount", bad[i], NULL));
    expect_local("whole number of token base units", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "eth", "--chain-id", "1",
                         "--nonce", "0", "--gas-limit", "60000", "--max-fee-gwei", "30", "--to", ADDR1,
                         "--token", ADDR0, "--amount", "1.5", NULL));
    expect_local("--to", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "eth", "--chain-id", "1",
                         "--nonce", "0", "--gas-limit", "21000", "--max-fee-gwei", "30", "--to", "0x1234",
                         "--amount", "1", NULL));
    expect_local("--nonce", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "eth", "--chain-id", "1",
                         "--gas-limit", "21000", "--max-fee-gwei", "30", "--to", ADDR1, "--amount", "1", NULL));
    expect_local("--chain-id", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "eth", "--nonce", "0",
                         "--gas-limit", "21000", "--max-fee-gwei", "30", "--to", ADDR1, "--amount", "1", NULL));
}

static void test_offline_sign_tx_and_message(void **state)
{
    char *out, *err;
    (void)state;
    assert_int_equal(run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "eth", "--chain-id", "1",
                             "--nonce", "0", "--gas-limit", "21000", "--max-fee-gwei", "30", "--to", ADDR1,
                             "--amount", "1", NULL), 0);
    assert_true(strncmp(out, "0x02f8", 6) == 0); /* EIP-1559 envelope, list header */
    assert_non_null(strchr(out, '\n'));
    free(out);
    free(err);
    assert_int_equal(run_cli(&out, &err, "wallet", "sign-message", "--name", "hh", "--chain", "eth",
                             "--message", "hello", NULL), 0);
    assert_int_equal(strlen(out), 2 + 130 + 1);
    assert_true(out[130] == '1' && (out[131] == 'b' || out[131] == 'c')); /* v = 27/28 */
    free(out);
    free(err);
    expect_local("--recent-blockhash", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "solana", "--to",
                         "11111111111111111111111111111111", "--lamports", "5", NULL));
    expect_local("--lamports must be", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "solana", "--to",
                         "11111111111111111111111111111111", "--lamports", "0", "--recent-blockhash",
                         "11111111111111111111111111111111", NULL));
    expect_local("--account-number", &out, &err,
                 run_cli(&out, &err, "wallet", "sign-tx", "--name", "hh", "--chain", "cosmos", "--to", "cosmos1x",
                         "--amount", "5", "--denom", "uatom", "--chain-id", "c", "--sequence", "0", NULL));
}

static void test_keystore_round_trip(void **state)
{
    char *out, *err, ks[128], pw[128];
    (void)state;
    snprintf(ks, sizeof ks, "%s/ks.json", wdir);
    snprintf(pw, sizeof pw, "%s/pw.txt", wdir);
    FILE *f = fopen(pw, "w");
    assert_non_null(f);
    fputs("ks-pass\n", f);
    fclose(f);
    assert_int_equal(run_cli(&out, &err, "wallet", "export-keystore", "--name", "hh", "--index", "1", "--kdf",
                             "pbkdf2", "--keystore-password-file", pw, "--out", ks, NULL), 0);
    free(out);
    free(err);
    expect_out(ADDR1, &out, &err, run_cli(&out, &err, "wallet", "import-keystore", "--name", "one", "--file", ks,
                                          "--keystore-password-file", pw, NULL));
    expect_out(ADDR1, &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "one", "--chain", "eth", NULL));
    expect_local("do not apply", &out, &err,
                 run_cli(&out, &err, "wallet", "address", "--name", "one", "--chain", "eth", "--index", "1", NULL));
    expect_local("no btc key", &out, &err, run_cli(&out, &err, "wallet", "address", "--name", "one", "--chain", "btc", NULL));
    setenv("KASHGUARD_KEYSTORE_PASSWORD", "nope", 1);
    expect_local("wrong password", &out, &err,
                 run_cli(&out, &err, "wallet", "import-keystore", "--name", "two", "--file", ks, NULL));
    unsetenv("KASHGUARD_KEYSTORE_PASSWORD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_wallet_command_has_help),
        cmocka_unit_test(test_missing_flags),
        cmocka_unit_test(test_restore_and_addresses),
        cmocka_unit_test(test_bad_chain_index_path),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_create_words),
        cmocka_unit_test(test_send_amounts_rejected),
        cmocka_unit_test(test_offline_sign_tx_and_message),
        cmocka_unit_test(test_keystore_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
