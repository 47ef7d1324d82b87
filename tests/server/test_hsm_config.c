/* Config file blocks of the HSM work (src/server/config.c):
 * `seal "pkcs11" { ... }` and `hsm { ... }`. Good blocks land in the
 * config with their prefix; an unknown key in a block, an unclosed block,
 * a nested block, a stray `}` and an incomplete seal block are errors that
 * name the file and the line, and leave the config untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kashguard/server.h>

static char path[64];

/* Write txt to a fresh temp file named in path. */
static void write_cfg(const char *txt)
{
    snprintf(path, sizeof path, "/tmp/kg-hsm-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
    close(fd);
}

/* Load txt into a default config; on error check the detail holds every
 * string of want[] (NULL-terminated) and that the config is unchanged. */
static kg_err load(kg_server_config *cfg, const char *txt, const char *const *want)
{
    write_cfg(txt);
    kg_server_config_default(cfg);
    kg_err e = kg_server_config_load(cfg, path);
    if (e != KG_OK) {
        const char *d = kg_err_detail(e);
        printf("  error: %s\n", d);
        assert_non_null(strstr(d, path));
        for (size_t i = 0; want != NULL && want[i] != NULL; i++) {
            if (strstr(d, want[i]) == NULL)
                fail_msg("'%s' not in: %s", want[i], d);
        }
        assert_null(cfg->seal_pkcs11_module);
        assert_null(cfg->hsm_default_group);
        assert_int_equal(cfg->hsm_op_timeout_ms, 0);
    }
    unlink(path);
    return e;
}

static void test_good_blocks(void **state)
{
    (void)state;
    kg_server_config cfg;
    const char *txt = "listen = 127.0.0.1:9000\n"
                      "seal \"pkcs11\" {\n"
                      "  module = \"/usr/lib/softhsm/libsofthsm2.so\"\n"
                      "  token_label = \"kg-seal\"\n"
                      "  pin_file = \"/etc/kg/pin\"   \n"
                      "  # a comment inside\n"
                      "\n"
                      "  key_label = \"kashguard-root-key\"\n"
                      "}\n"
                      "hsm {\n"
                      "\tprobe_interval = 2s\n"
                      "\top_timeout = 500ms\n"
                      "\tdown_after_errors = 3\n"
                      "\tdegraded_latency = 250ms\n"
                      "\tsessions = 4\n"
                      "\tdefault_group = \"main\"\n"
                      "}\n"
                      "threads = 3\n";
    assert_int_equal(load(&cfg, txt, NULL), KG_OK);
    assert_string_equal(cfg.listen, "127.0.0.1:9000");
    assert_int_equal(cfg.threads, 3);
    assert_string_equal(cfg.seal, "pkcs11");
    assert_string_equal(cfg.seal_pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
    assert_string_equal(cfg.seal_pkcs11_token_label, "kg-seal");
    assert_string_equal(cfg.seal_pkcs11_pin_file, "/etc/kg/pin");
    assert_null(cfg.seal_pkcs11_pin_env);
    assert_string_equal(cfg.seal_pkcs11_key_label, "kashguard-root-key");
    assert_int_equal(cfg.hsm_probe_interval_ms, 2000);
    assert_int_equal(cfg.hsm_op_timeout_ms, 500);
    assert_int_equal(cfg.hsm_down_after_errors, 3);
    assert_int_equal(cfg.hsm_degraded_latency_ms, 250);
    assert_int_equal(cfg.hsm_sessions, 4);
    assert_string_equal(cfg.hsm_default_group, "main");

    /* pin_env instead of pin_file, no hsm block: HSM settings stay 0 (HMS defaults). */
    assert_int_equal(load(&cfg, "seal \"pkcs11\" {\nmodule = /m.so\ntoken_label = t\npin_env = KG_PIN\n}\n", NULL),
                     KG_OK);
    assert_string_equal(cfg.seal_pkcs11_pin_env, "KG_PIN");
    assert_null(cfg.seal_pkcs11_pin_file);
    assert_int_equal(cfg.hsm_probe_interval_ms, 0);
    /* No block at all: the default seal (Shamir). */
    assert_int_equal(load(&cfg, "threads = 2\n", NULL), KG_OK);
    assert_null(cfg.seal);
}

static void test_unknown_key_in_block(void **state)
{
    (void)state;
    kg_server_config cfg;
    static const char *const want[] = { "line 3", "unknown key 'probe_intervall'", "hsm block", "line 2",
                                        "probe_interval", "default_group", NULL };
    assert_int_equal(load(&cfg, "threads = 2\nhsm {\n  probe_intervall = 2s\n}\n", want), KG_ERR_BAD_INPUT);
    /* A top-level key is not a block key. */
    static const char *const want2[] = { "line 2", "unknown key 'listen'", "seal block", "token_label", NULL };
    assert_int_equal(load(&cfg, "seal \"pkcs11\" {\nlisten = 1.2.3.4:1\n}\n", want2), KG_ERR_BAD_INPUT);
    /* A bad value inside a block names the prefixed option. */
    static const char *const want3[] = { "line 2", "hsm_op_timeout", "2s or 500ms", NULL };
    assert_int_equal(load(&cfg, "hsm {\nop_timeout = soon\n}\n", want3), KG_ERR_BAD_INPUT);
}

static void test_unclosed_block(void **state)
{
    (void)state;
    kg_server_config cfg;
    static const char *const want[] = { "hsm block opened at", "line 2", "not closed", NULL };
    assert_int_equal(load(&cfg, "threads = 2\nhsm {\n  op_timeout = 2s\n  default_group = main\n", want),
                     KG_ERR_BAD_INPUT);
}

static void test_nested_block(void **state)
{
    (void)state;
    kg_server_config cfg;
    static const char *const want[] = { "line 3", "do not nest", "line 1", NULL };
    assert_int_equal(load(&cfg, "hsm {\n  op_timeout = 2s\n  seal \"pkcs11\" {\n  }\n}\n", want),
                     KG_ERR_BAD_INPUT);
}

static void test_other_block_errors(void **state)
{
    (void)state;
    kg_server_config cfg;
    static const char *const stray[] = { "line 2", "without an open block", NULL };
    assert_int_equal(load(&cfg, "threads = 2\n}\n", stray), KG_ERR_BAD_INPUT);
    static const char *const kind[] = { "line 1", "unknown seal type 'awskms'", NULL };
    assert_int_equal(load(&cfg, "seal \"awskms\" {\n}\n", kind), KG_ERR_BAD_INPUT);
    static const char *const unknown[] = { "line 1", "unknown block 'hsms'", NULL };
    assert_int_equal(load(&cfg, "hsms {\n}\n", unknown), KG_ERR_BAD_INPUT);
    static const char *const twice[] = { "line 4", "'hsm_op_timeout' is set twice", NULL };
    assert_int_equal(load(&cfg, "hsm {\nop_timeout = 1s\n}\nhsm_op_timeout = 2s\n", twice), KG_ERR_BAD_INPUT);
    static const char *const nopin[] = { "line 1", "exactly one of pin_file and pin_env", NULL };
    assert_int_equal(load(&cfg, "seal \"pkcs11\" {\nmodule = /m.so\ntoken_label = t\n}\n", nopin),
                     KG_ERR_BAD_INPUT);
    static const char *const both[] = { "exactly one of pin_file and pin_env", NULL };
    assert_int_equal(load(&cfg, "seal \"pkcs11\" {\nmodule = /m.so\ntoken_label = t\npin_file = /p\n"
                                "pin_env = P\n}\n", both), KG_ERR_BAD_INPUT);
    static const char *const nomod[] = { "line 1", "needs module and token_label", NULL };
    assert_int_equal(load(&cfg, "seal \"pkcs11\" {\npin_env = P\n}\n", nomod), KG_ERR_BAD_INPUT);
}

/* A comment after a value (after a blank, outside quotes) is cut; a '#'
 * inside a quoted value or glued to a value stays part of it. */
static void test_trailing_comments(void **state)
{
    (void)state;
    kg_server_config cfg;
    const char *txt = "seal \"pkcs11\" {   # the seal token\n"
                      "  module = \"/usr/lib/softhsm/libsofthsm2.so\"  # Debian's SoftHSM2\n"
                      "  token_label = \"kg#seal\"\n"
                      "  pin_file = \"/etc/kg/pin\"      # or: pin_env = \"KG_SEAL_PIN\"\n"
                      "}\n"
                      "hsm {\n"
                      "\top_timeout = 20s\t# RSA-3072 generation is slow\n"
                      "\tdefault_group = main#1 # a '#' glued to a value is part of it\n"
                      "}\n";
    assert_int_equal(load(&cfg, txt, NULL), KG_OK);
    assert_string_equal(cfg.seal_pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
    assert_string_equal(cfg.seal_pkcs11_token_label, "kg#seal");
    assert_string_equal(cfg.seal_pkcs11_pin_file, "/etc/kg/pin");
    assert_null(cfg.seal_pkcs11_pin_env);
    assert_int_equal(cfg.hsm_op_timeout_ms, 20000);
    assert_string_equal(cfg.hsm_default_group, "main#1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_blocks),
        cmocka_unit_test(test_trailing_comments),
        cmocka_unit_test(test_unknown_key_in_block),
        cmocka_unit_test(test_unclosed_block),
        cmocka_unit_test(test_nested_block),
        cmocka_unit_test(test_other_block_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
