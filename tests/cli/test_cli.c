/* CLI unit tests: the value syntax (@file, -, literal, base64 with raw-file
 * fallback, hex digests, --context k=v), the command table (every command
 * has a synopsis and Vault-shaped help reachable three ways), and the exit
 * codes of local mistakes (1) and an unreachable server (2). kg_cli_main
 * runs in-process with stdout/stderr captured; KASHGUARD_ADDR points at a
 * closed port so no test can reach a real server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "kashguard/cli.h"
#include "../../src/cli/cli_int.h"
#include "cli_run.h"

#define DEAD_ADDR "http://127.0.0.1:1"

/* ------------------------------------------------------------ helpers */

static char *write_tmp(const void *data, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/kg-cli-val-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

static int setup(void **state)
{
    (void)state;
    setenv("KASHGUARD_ADDR", DEAD_ADDR, 1);
    unsetenv("KASHGUARD_TOKEN");
    return 0;
}

/* ------------------------------------------------------------ data values */

static void test_data_literal(void **state)
{
    kg_bytes b;
    (void)state;
    assert_int_equal(kg_cli_read_data(&b, "plaintext", "hello"), KG_OK);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "hello", 5);
    kg_bytes_free(&b);
}

static void test_data_file_binary(void **state)
{
    static const uint8_t bin[] = {0, 1, 2, 0xff, '\n', 0};
    kg_bytes b;
    char *p = write_tmp(bin, sizeof bin), arg[80];
    (void)state;
    snprintf(arg, sizeof arg, "@%s", p);
    assert_int_equal(kg_cli_read_data(&b, "plaintext", arg), KG_OK);
    assert_int_equal(b.len, sizeof bin);
    assert_memory_equal(b.data, bin, sizeof bin);
    kg_bytes_free(&b);
    unlink(p);
}

static void test_data_stdin(void **state)
{
    kg_bytes b;
    char *p = write_tmp("from stdin\n", 11);
    int saved = dup(0), fd;
    (void)state;
    assert_true((fd = open(p, O_RDONLY)) >= 0);
    dup2(fd, 0);
    close(fd);
    clearerr(stdin);
    assert_int_equal(kg_cli_read_data(&b, "message", "-"), KG_OK);
    dup2(saved, 0);
    close(saved);
    clearerr(stdin);
    assert_int_equal(b.len, 11);
    assert_memory_equal(b.data, "from stdin\n", 11);
    kg_bytes_free(&b);
    unlink(p);
}

static void test_data_missing_file(void **state)
{
    kg_bytes b = {(uint8_t *)1, 1};
    (void)state;
    assert_int_equal(kg_cli_read_data(&b, "plaintext", "@/nonexistent/kg-file"), KG_ERR_IO);
    assert_null(b.data);
    assert_non_null(strstr(kg_err_detail(KG_ERR_IO), "/nonexistent/kg-file"));
    assert_int_equal(kg_cli_read_data(&b, "plaintext", "@"), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "--plaintext"));
}

/* ---------------------------------------------------------- base64 values */

static void test_b64_literal(void **state)
{
    char *s;
    (void)state;
    assert_int_equal(kg_cli_read_b64(&s, "ciphertext", "aGVsbG8="), KG_OK);
    assert_string_equal(s, "aGVsbG8=");
    free(s);
    assert_int_equal(kg_cli_read_b64(&s, "ciphertext", "not base64!"), KG_ERR_BAD_INPUT);
    assert_null(s);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "--ciphertext"));
    assert_int_equal(kg_cli_read_b64(&s, "ciphertext", "aGVsbG8"), KG_ERR_BAD_INPUT); /* no padding */
}

static void test_b64_file_text_trimmed(void **state)
{
    const char text[] = "  aGVs\nbG8=\r\n";
    char *p = write_tmp(text, sizeof text - 1), arg[80], *s;
    (void)state;
    snprintf(arg, sizeof arg, "@%s", p);
    assert_int_equal(kg_cli_read_b64(&s, "signature", arg), KG_OK);
    assert_string_equal(s, "aGVsbG8=");
    free(s);
    unlink(p);
}

static void test_b64_file_raw_fallback(void **state)
{
    static const uint8_t der[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
    char *p = write_tmp(der, sizeof der), arg[80], *s;
    (void)state;
    snprintf(arg, sizeof arg, "@%s", p);
    assert_int_equal(kg_cli_read_b64(&s, "signature", arg), KG_OK);
    assert_string_equal(s, "MAYCAQECAQI="); /* base64 of the raw bytes */
    free(s);
    unlink(p);
    p = write_tmp("", 0);
    snprintf(arg, sizeof arg, "@%s", p);
    assert_int_equal(kg_cli_read_b64(&s, "signature", arg), KG_ERR_BAD_INPUT);
    unlink(p);
}

static void test_digest_hex_and_b64(void **state)
{
    /* SHA-256("abc") */
    const char *hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const char *b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
    char with0x[80], *s;
    (void)state;
    assert_int_equal(kg_cli_read_digest(&s, "digest", hex), KG_OK);
    assert_string_equal(s, b64);
    free(s);
    snprintf(with0x, sizeof with0x, "0x%s", hex);
    assert_int_equal(kg_cli_read_digest(&s, "digest", with0x), KG_OK);
    assert_string_equal(s, b64);
    free(s);
    assert_int_equal(kg_cli_read_digest(&s, "digest", b64), KG_OK);
    assert_string_equal(s, b64);
    free(s);
    assert_int_equal(kg_cli_read_digest(&s, "digest", "0xzz"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_cli_read_digest(&s, "digest", "abc"), KG_ERR_BAD_INPUT); /* odd hex, bad b64 */
    assert_null(s);
}

/* ----------------------------------------------------------------- context */

static void test_context_pairs(void **state)
{
    const char *pairs[] = {"order=42", "note=a=b", "empty="};
    json_t *ctx;
    (void)state;
    assert_int_equal(kg_cli_parse_context(&ctx, "context", pairs, 3), KG_OK);
    assert_int_equal(json_object_size(ctx), 3);
    assert_string_equal(json_string_value(json_object_get(ctx, "order")), "42");
    assert_string_equal(json_string_value(json_object_get(ctx, "note")), "a=b");
    assert_string_equal(json_string_value(json_object_get(ctx, "empty")), "");
    json_decref(ctx);
    assert_int_equal(kg_cli_parse_context(&ctx, "context", pairs, 0), KG_OK);
    assert_null(ctx);
}

static void test_context_errors(void **state)
{
    const char *noeq[] = {"order42"}, *nokey[] = {"=42"}, *dup[] = {"a=1", "a=2"};
    json_t *ctx;
    (void)state;
    assert_int_equal(kg_cli_parse_context(&ctx, "context", noeq, 1), KG_ERR_BAD_INPUT);
    assert_null(ctx);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "KEY=VALUE"));
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "order42"));
    assert_int_equal(kg_cli_parse_context(&ctx, "context", nokey, 1), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "empty key"));
    assert_int_equal(kg_cli_parse_context(&ctx, "source-context", dup, 2), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "twice"));
    assert_null(ctx);
}

/* ------------------------------------------------------------ command table */

static void split_name(const char *name, char *w1, char *w2, size_t cap)
{
    const char *sp = strchr(name, ' ');
    snprintf(w1, cap, "%.*s", sp ? (int)(sp - name) : (int)strlen(name), name);
    snprintf(w2, cap, "%s", sp ? sp + 1 : "");
}

static void test_table_complete(void **state)
{
    size_t n = 0;
    (void)state;
    for (const kg_cli_cmd *c = kg_cli_commands(); c->name; c++, n++) {
        assert_non_null(c->run);
        assert_true(c->synopsis && strlen(c->synopsis) > 5);
        assert_non_null(c->args);
        assert_non_null(strstr(c->help, "$ kashguard "));
        assert_true(c->min_args <= c->max_args);
        for (const kg_cli_opt *o = c->opts; o && o->name; o++) {
            assert_true(o->help && strlen(o->help) > 5);
            if (o->kind != KG_OPT_BOOL) assert_non_null(o->metavar);
        }
    }
    assert_true(n >= 38); /* every command of the contract */
}

static void check_help(const kg_cli_cmd *c, int rc, char *out, char *err)
{
    char usage[96];
    snprintf(usage, sizeof usage, "Usage: kashguard %s [options]", c->name);
    assert_int_equal(rc, 0);
    if (!strstr(out, usage)) fail_msg("help of '%s' lacks \"%s\": %s", c->name, usage, out);
    assert_non_null(strstr(out, c->synopsis ? "$ kashguard" : ""));
    if (c->opts && c->opts[0].name) assert_non_null(strstr(out, "Command Options:"));
    if (!c->local) assert_non_null(strstr(out, "HTTP Options:"));
    else assert_null(strstr(out, "HTTP Options:"));
    assert_string_equal(err, "");
    free(out);
    free(err);
}

static void test_help_every_command(void **state)
{
    char w1[32], w2[32], *out, *err;
    (void)state;
    for (const kg_cli_cmd *c = kg_cli_commands(); c->name; c++) {
        split_name(c->name, w1, w2, sizeof w1);
        int rc = w2[0] ? run_cli(&out, &err, "help", w1, w2, NULL) : run_cli(&out, &err, "help", w1, NULL);
        check_help(c, rc, out, err);
        rc = w2[0] ? run_cli(&out, &err, w1, w2, "--help", NULL) : run_cli(&out, &err, w1, "--help", NULL);
        check_help(c, rc, out, err);
        rc = w2[0] ? run_cli(&out, &err, w1, w2, "-h", NULL) : run_cli(&out, &err, w1, "-h", NULL);
        check_help(c, rc, out, err);
    }
}

static void test_top_help(void **state)
{
    char *out, *err;
    (void)state;
    assert_int_equal(run_cli(&out, &err, "help", NULL), 0);
    assert_non_null(strstr(out, "Usage: kashguard <command>"));
    assert_non_null(strstr(out, "Common commands:"));
    assert_non_null(strstr(out, "encrypt"));
    free(out); free(err);
    assert_int_equal(run_cli(&out, &err, "help", "key", NULL), 0);
    assert_non_null(strstr(out, "public-key"));
    free(out); free(err);
    assert_int_equal(run_cli(&out, &err, NULL), 1); /* no command: usage on stderr */
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "Usage:"));
    free(out); free(err);
}

/* ------------------------------------------------------- local error exits */

/* Takes the buffers by address: they are filled by run_cli(), the last
 * argument, and argument evaluation order is unspecified in C. */
static void expect_local(const char *needle, char **out, char **err, int rc)
{
    assert_int_equal(rc, 1);
    assert_string_equal(*out, "");
    if (!strstr(*err, needle)) fail_msg("stderr lacks \"%s\": %s", needle, *err);
    free(*out);
    free(*err);
}

static void test_unknown_command(void **state)
{
    char *out, *err;
    (void)state;
    expect_local("Usage:", &out, &err, run_cli(&out, &err, "frobnicate", NULL));
    expect_local("unknown command", &out, &err, run_cli(&out, &err, "frobnicate", NULL));
    expect_local("Subcommands:", &out, &err, run_cli(&out, &err, "key", NULL));
    expect_local("Subcommands:", &out, &err, run_cli(&out, &err, "key", "explode", NULL));
    expect_local("unknown command", &out, &err, run_cli(&out, &err, "help", "nosuch", NULL));
}

static void test_usage_errors(void **state)
{
    char *out, *err;
    (void)state;
    expect_local("--spec", &out, &err, run_cli(&out, &err, "key", "create", "--alias", "x", NULL));
    expect_local("--plaintext", &out, &err, run_cli(&out, &err, "encrypt", "--key", "k", NULL));
    expect_local("--nope", &out, &err, run_cli(&out, &err, "key", "list", "--nope", NULL));
    expect_local("needs a value", &out, &err, run_cli(&out, &err, "encrypt", "--key", NULL));
    expect_local("Not enough arguments (expected 1, got 0)", &out, &err, run_cli(&out, &err, "key", "get", NULL));
    expect_local("Too many arguments", &out, &err, run_cli(&out, &err, "key", "get", "a", "b", NULL));
    expect_local("exactly one of --message or --digest", &out, &err,
                 run_cli(&out, &err, "sign", "--key", "s", NULL));
    expect_local("exactly one of --message or --digest", &out, &err,
                 run_cli(&out, &err, "sign", "--key", "s", "--message", "m", "--digest", "00", NULL));
    expect_local("KEY=VALUE", &out, &err,
                 run_cli(&out, &err, "encrypt", "--key", "k", "--plaintext", "p", "--context", "order", NULL));
    expect_local("--bytes", &out, &err, run_cli(&out, &err, "random", "--bytes", "0", NULL));
    expect_local("--format", &out, &err, run_cli(&out, &err, "key", "public-key", "s", "--format", "jwk", NULL));
    expect_local("--ciphertext", &out, &err, run_cli(&out, &err, "decrypt", "--ciphertext", "%%%", NULL));
    expect_local("larger than --shares", &out, &err,
                 run_cli(&out, &err, "operator", "init", "--shares", "2", "--threshold", "3", NULL));
    expect_local("--tls", &out, &err, run_cli(&out, &err, "server", "--tls", NULL));
    expect_local("--addr", &out, &err, run_cli(&out, &err, "audit", "verify", "x", "--addr", "y", NULL));
}

/* --------------------------------------------------------------- the wire */

static void test_connection_refused(void **state)
{
    char *out, *err;
    (void)state;
    assert_int_equal(run_cli(&out, &err, "key", "list", NULL), 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "Error: could not connect to " DEAD_ADDR));
    assert_non_null(strstr(err, "kashguard server --dev"));
    assert_non_null(strstr(err, "(network_failed)"));
    free(out); free(err);
}

static void test_curl_hides_token(void **state)
{
    char *out, *err;
    (void)state;
    assert_int_equal(run_cli(&out, &err, "--token", "kg.SECRET-TOKEN", "--curl", "encrypt", "--key", "pay ments/x",
                             "--plaintext", "hi", "--context", "order=42", NULL), 0);
    assert_non_null(strstr(out, "curl -sS -X POST"));
    assert_non_null(strstr(out, "\"Authorization: Bearer $KASHGUARD_TOKEN\""));
    assert_non_null(strstr(out, DEAD_ADDR "/v1/keys/pay%20ments%2Fx/encrypt"));
    assert_non_null(strstr(out, "{\"plaintext\":\"aGk=\",\"context\":{\"order\":\"42\"}}"));
    assert_null(strstr(out, "SECRET-TOKEN"));
    assert_string_equal(err, "");
    free(out); free(err);
}

static void test_unseal_argv_warns_and_redacts(void **state)
{
    char *out, *err;
    (void)state;
    assert_int_equal(run_cli(&out, &err, "operator", "unseal", "--curl", "c2hhcmUta2V5", NULL), 0);
    assert_non_null(strstr(err, "shell history"));
    assert_non_null(strstr(out, "/v1/sys/unseal"));
    assert_null(strstr(out, "c2hhcmUta2V5"));
    free(out); free(err);
}

static void test_binary_exit_codes(void **state)
{
    char cmd[1024];
    int st;
    (void)state;
    snprintf(cmd, sizeof cmd, "'%s' no-such-command >/dev/null 2>&1", KG_BINARY);
    st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    snprintf(cmd, sizeof cmd, "'%s' help encrypt >/dev/null 2>&1", KG_BINARY);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 0);
    snprintf(cmd, sizeof cmd, "KASHGUARD_ADDR=%s '%s' status >/dev/null 2>&1", DEAD_ADDR, KG_BINARY);
    st = system(cmd);
    assert_int_equal(WEXITSTATUS(st), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_literal),
        cmocka_unit_test(test_data_file_binary),
        cmocka_unit_test(test_data_stdin),
        cmocka_unit_test(test_data_missing_file),
        cmocka_unit_test(test_b64_literal),
        cmocka_unit_test(test_b64_file_text_trimmed),
        cmocka_unit_test(test_b64_file_raw_fallback),
        cmocka_unit_test(test_digest_hex_and_b64),
        cmocka_unit_test(test_context_pairs),
        cmocka_unit_test(test_context_errors),
        cmocka_unit_test(test_table_complete),
        cmocka_unit_test(test_help_every_command),
        cmocka_unit_test(test_top_help),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_curl_hides_token),
        cmocka_unit_test(test_unseal_argv_warns_and_redacts),
        cmocka_unit_test(test_binary_exit_codes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
