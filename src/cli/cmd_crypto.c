/* Cryptographic operations: encrypt, decrypt, re-encrypt, data-key, sign,
 * verify, mac, verify-mac, random. Each builds one JSON body from the value
 * arguments (see args.c for @file / - / base64 / hex / k=v), makes one call
 * and prints the one value that matters:
 *   encrypt, re-encrypt -> base64 ciphertext   decrypt -> the raw plaintext
 *   sign -> base64 signature (raw bytes with --out)   mac -> base64 MAC
 *   verify, verify-mac -> "valid" and exit 0, or exit 2 when invalid.
 * Plaintexts are wiped from our buffers once sent or written. */
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"

#define OPT_KEY(req) {"key", KG_OPT_STR, "<ref>", req, "Key id (k-...) or alias."}
#define OPT_CONTEXT {"context", KG_OPT_MULTI, "<key=value>", false, \
    "Encryption context pair bound to the ciphertext; decrypt must give the same pairs."}
#define OPT_END {NULL, 0, NULL, false, NULL}
#define OPT_MESSAGE {"message", KG_OPT_STR, "<data>", false, \
    "The message: literal text, @FILE for a file's bytes, or - for stdin."}
#define OPT_DIGEST {"digest", KG_OPT_STR, "<hex|b64>", false, \
    "A SHA-256 digest instead of --message: 64 hex digits or base64 (or @FILE)."}
#define OPT_SIGFORMAT {"format", KG_OPT_STR, "<der|raw>", false, \
    "ECDSA signature encoding: der (default) or raw (r||s)."}

const kg_cli_opt kg_opts_encrypt[] = {
    OPT_KEY(true),
    {"plaintext", KG_OPT_STR, "<data>", true, "Data to encrypt: literal text, @FILE, or - for stdin."},
    OPT_CONTEXT,
    {"out", KG_OPT_STR, "<file>", false, "Write the base64 ciphertext to this file instead of stdout."},
    OPT_END,
};
const kg_cli_opt kg_opts_decrypt[] = {
    {"ciphertext", KG_OPT_STR, "<b64|@file>", true, "The ciphertext: base64, or @FILE / - holding it."},
    OPT_KEY(false), OPT_CONTEXT,
    {"out", KG_OPT_STR, "<file>", false, "Write the plaintext to this file (mode 0600) instead of stdout."},
    OPT_END,
};
const kg_cli_opt kg_opts_reencrypt[] = {
    {"key", KG_OPT_STR, "<ref>", true, "Destination key id or alias."},
    {"ciphertext", KG_OPT_STR, "<b64|@file>", true, "The ciphertext to move: base64 or @FILE."},
    {"source-context", KG_OPT_MULTI, "<key=value>", false, "Context the ciphertext was made with."},
    {"context", KG_OPT_MULTI, "<key=value>", false, "Context to bind to the new ciphertext."},
    OPT_END,
};
const kg_cli_opt kg_opts_data_key[] = {
    OPT_KEY(true),
    {"bytes", KG_OPT_STR, "<int>", false, "Data key size in bytes (16-64). The default is 32."},
    {"no-plaintext", KG_OPT_BOOL, NULL, false, "Return only the encrypted data key."},
    OPT_CONTEXT, OPT_END,
};
const kg_cli_opt kg_opts_sign[] = {
    OPT_KEY(true), OPT_MESSAGE, OPT_DIGEST, OPT_SIGFORMAT,
    {"out", KG_OPT_STR, "<file>", false, "Write the raw signature bytes to this file."},
    OPT_END,
};
const kg_cli_opt kg_opts_verify[] = {
    OPT_KEY(true), OPT_MESSAGE, OPT_DIGEST,
    {"signature", KG_OPT_STR, "<b64|@file>", true, "The signature: base64, or @FILE of base64 or raw bytes."},
    OPT_SIGFORMAT,
    {"version", KG_OPT_STR, "<int>", false, "Check only this key version. The default is every enabled one."},
    OPT_END,
};
const kg_cli_opt kg_opts_mac[] = {
    OPT_KEY(true),
    {"message", KG_OPT_STR, "<data>", true, "The message: literal text, @FILE, or - for stdin."},
    OPT_END,
};
const kg_cli_opt kg_opts_verify_mac[] = {
    OPT_KEY(true),
    {"message", KG_OPT_STR, "<data>", true, "The message: literal text, @FILE, or - for stdin."},
    {"mac", KG_OPT_STR, "<b64|@file>", true, "The MAC to check: base64 or @FILE."},
    OPT_END,
};
const kg_cli_opt kg_opts_random[] = {
    {"bytes", KG_OPT_STR, "<int>", false, "Number of bytes (1-1024). The default is 32."},
    {"format", KG_OPT_STR, "<base64|hex>", false, "Output encoding. The default is base64."},
    OPT_END,
};

/* field = base64 of the data argument of option opt. */
static int add_data(kg_cli *cli, json_t *req, const char *opt, const char *field)
{
    kg_bytes d;
    kg_err e = kg_cli_read_data(&d, opt, kg_cli_str(cli, opt));
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    json_t *s = kg_json_b64(d.data, d.len);
    kg_wipe(d.data, d.len);
    kg_bytes_free(&d);
    if (!s || json_object_set_new(req, field, s)) return kg_cli_usage_error(cli, "out of memory");
    return KG_CLI_OK;
}

/* field = canonical base64 of the base64 argument of option opt. */
static int add_b64(kg_cli *cli, json_t *req, const char *opt, const char *field, bool digest)
{
    char *b64 = NULL;
    const char *v = kg_cli_str(cli, opt);
    kg_err e = digest ? kg_cli_read_digest(&b64, opt, v) : kg_cli_read_b64(&b64, opt, v);
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    int bad = json_object_set_new(req, field, json_string(b64));
    free(b64);
    return bad ? kg_cli_usage_error(cli, "out of memory") : KG_CLI_OK;
}

static int add_context(kg_cli *cli, json_t *req, const char *opt, const char *field)
{
    const char *pairs[KG_CLI_MAX_ARGS];
    size_t n = kg_cli_multi(cli, opt, pairs, KG_CLI_MAX_ARGS);
    json_t *ctx = NULL;
    kg_err e = kg_cli_parse_context(&ctx, opt, pairs, n);
    if (e != KG_OK) return kg_cli_local_error(cli, e);
    if (ctx && json_object_set_new(req, field, ctx)) return kg_cli_usage_error(cli, "out of memory");
    return KG_CLI_OK;
}

/* --message or --digest, exactly one. */
static int add_message_or_digest(kg_cli *cli, json_t *req)
{
    bool m = kg_cli_str(cli, "message") != NULL, d = kg_cli_str(cli, "digest") != NULL;
    if (m == d)
        return kg_cli_usage_error(cli, "give exactly one of --message or --digest; see `kashguard %s --help`",
                                  cli->cmd->name);
    return m ? add_data(cli, req, "message", "message") : add_b64(cli, req, "digest", "digest", true);
}

static int add_sig_format(kg_cli *cli, json_t *req)
{
    const char *f = kg_cli_str(cli, "format");
    if (!f) return KG_CLI_OK;
    if (strcmp(f, "der") && strcmp(f, "raw"))
        return kg_cli_usage_error(cli, "--format must be der or raw, not '%s'", f);
    json_object_set_new(req, "format", json_string(f));
    return KG_CLI_OK;
}

/* POST req to /v1/keys/<--key>/<op> (or `path` when given); frees req. */
static int key_call(kg_cli *cli, json_t **resp, json_t *req, const char *op, const char *path)
{
    char suffix[32], *p = NULL;
    int rc;
    *resp = NULL;
    snprintf(suffix, sizeof suffix, "/%s", op);
    if (!path && !(p = kg_cli_path("/v1/keys/", kg_cli_str(cli, "key"), suffix))) {
        json_decref(req);
        return kg_cli_usage_error(cli, "out of memory");
    }
    rc = kg_cli_call(cli, resp, NULL, "POST", path ? path : p, req);
    free(p);
    json_decref(req);
    return rc;
}

/* Print the string field (a base64 value) alone, to --out or stdout. */
static int print_value(kg_cli *cli, json_t *resp, const char *field, const char *out)
{
    int rc = KG_CLI_OK;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else if (out) {
        const char *v = kg_cli_field(resp, field);
        size_t n = strlen(v);
        char *line = malloc(n + 2);
        if (!line) rc = kg_cli_usage_error(cli, "out of memory");
        else {
            memcpy(line, v, n);
            line[n] = '\n';
            rc = kg_cli_write_out(cli, out, (const uint8_t *)line, n + 1);
            free(line);
        }
    } else fprintf(cli->out, "%s\n", kg_cli_field(resp, field));
    json_decref(resp);
    return rc;
}

int kg_cmd_encrypt(kg_cli *cli)
{
    json_t *req = json_object(), *resp;
    int rc;
    if (!req) return kg_cli_usage_error(cli, "out of memory");
    if ((rc = add_data(cli, req, "plaintext", "plaintext")) || (rc = add_context(cli, req, "context", "context"))) {
        json_decref(req);
        return rc;
    }
    if ((rc = key_call(cli, &resp, req, "encrypt", NULL)) != KG_CLI_OK || !resp) return rc;
    return print_value(cli, resp, "ciphertext", kg_cli_str(cli, "out"));
}

int kg_cmd_decrypt(kg_cli *cli)
{
    json_t *req = json_object(), *resp;
    const char *out = kg_cli_str(cli, "out");
    int rc;
    if (!req) return kg_cli_usage_error(cli, "out of memory");
    if ((rc = add_b64(cli, req, "ciphertext", "ciphertext", false)) ||
        (rc = add_context(cli, req, "context", "context"))) {
        json_decref(req);
        return rc;
    }
    rc = key_call(cli, &resp, req, "decrypt", kg_cli_str(cli, "key") ? NULL : "/v1/decrypt");
    if (rc != KG_CLI_OK || !resp) return rc;
    if (!out) kg_cli_warn_secret_stdout(cli);
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else rc = kg_cli_write_b64_field(cli, out, resp, "plaintext");
    json_decref(resp);
    return rc;
}

int kg_cmd_reencrypt(kg_cli *cli)
{
    json_t *req = json_object(), *resp;
    int rc;
    if (!req) return kg_cli_usage_error(cli, "out of memory");
    if ((rc = add_b64(cli, req, "ciphertext", "ciphertext", false)) ||
        (rc = add_context(cli, req, "source-context", "source_context")) ||
        (rc = add_context(cli, req, "context", "context"))) {
        json_decref(req);
        return rc;
    }
    if ((rc = key_call(cli, &resp, req, "re-encrypt", NULL)) != KG_CLI_OK || !resp) return rc;
    return print_value(cli, resp, "ciphertext", NULL);
}

int kg_cmd_data_key(kg_cli *cli)
{
    static const char *const fld[] = {"ciphertext", "plaintext", "key_id", "version", NULL};
    unsigned long bytes;
    bool with_pt = !kg_cli_bool(cli, "no-plaintext");
    json_t *req, *resp;
    int rc;
    if (kg_cli_uint(cli, &bytes, "bytes", 32, 16, 64)) return KG_CLI_LOCAL;
    if (!(req = json_pack("{sIsb}", "bytes", (json_int_t)bytes, "plaintext", with_pt)))
        return kg_cli_usage_error(cli, "out of memory");
    if ((rc = add_context(cli, req, "context", "context"))) { json_decref(req); return rc; }
    if ((rc = key_call(cli, &resp, req, "data-key", NULL)) != KG_CLI_OK || !resp) return rc;
    if (with_pt) kg_cli_warn_secret_stdout(cli);
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else kg_cli_print_fields(cli->out, resp, fld);
    json_decref(resp);
    return KG_CLI_OK;
}

int kg_cmd_sign(kg_cli *cli)
{
    const char *out = kg_cli_str(cli, "out");
    json_t *req = json_object(), *resp;
    int rc;
    if (!req) return kg_cli_usage_error(cli, "out of memory");
    if ((rc = add_message_or_digest(cli, req)) || (rc = add_sig_format(cli, req))) {
        json_decref(req);
        return rc;
    }
    if ((rc = key_call(cli, &resp, req, "sign", NULL)) != KG_CLI_OK || !resp) return rc;
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else if (out) rc = kg_cli_write_b64_field(cli, out, resp, "signature");
    else fprintf(cli->out, "%s\n", kg_cli_field(resp, "signature"));
    json_decref(resp);
    return rc;
}

/* verify / verify-mac answer {"valid":bool}: exit 0 valid, 2 invalid. */
static int print_valid(kg_cli *cli, json_t *resp, const char *what)
{
    bool valid = json_is_true(json_object_get(resp, "valid"));
    if (cli->json) kg_cli_print_json(cli->out, resp);
    else if (valid) fputs("valid\n", cli->out);
    if (!valid && !cli->json) fprintf(cli->err, "Error: the %s is not valid (invalid_signature)\n", what);
    json_decref(resp);
    return valid ? KG_CLI_OK : KG_CLI_REMOTE;
}

int kg_cmd_verify(kg_cli *cli)
{
    unsigned long version;
    json_t *req = json_object(), *resp;
    int rc;
    if (!req) return kg_cli_usage_error(cli, "out of memory");
    if ((rc = kg_cli_uint(cli, &version, "version", 0, 1, 1000000)) || (rc = add_message_or_digest(cli, req)) ||
        (rc = add_b64(cli, req, "signature", "signature", false)) || (rc = add_sig_format(cli, req))) {
        json_decref(req);
        return rc;
    }
    if (version) json_object_set_new(req, "version", json_integer((json_int_t)version));
    if ((rc = key_call(cli, &resp, req, "verify", NULL)) != KG_CLI_OK || !resp) return rc;
    return print_valid(cli, resp, "signature");
}

int kg_cmd_mac(kg_cli *cli)
{
    json_t *req = json_object(), *resp;
    int rc;
    if (!req) return kg_cli_usage_error(cli, "out of memory");
    if ((rc = add_data(cli, req, "message", "message"))) { json_decref(req); return rc; }
    if ((rc = key_call(cli, &resp, req, "mac", NULL)) != KG_CLI_OK || !resp) return rc;
    return print_value(cli, resp, "mac", NULL);
}

int kg_cmd_verify_mac(kg_cli *cli)
{
    json_t *req = json_object(), *resp;
    int rc;
    if (!req) return kg_cli_usage_error(cli, "out of memory");
    if ((rc = add_data(cli, req, "message", "message")) || (rc = add_b64(cli, req, "mac", "mac", false))) {
        json_decref(req);
        return rc;
    }
    if ((rc = key_call(cli, &resp, req, "verify-mac", NULL)) != KG_CLI_OK || !resp) return rc;
    return print_valid(cli, resp, "MAC");
}

int kg_cmd_random(kg_cli *cli)
{
    const char *fmt = kg_cli_str(cli, "format");
    unsigned long bytes;
    json_t *req, *resp;
    kg_bytes raw = {0};
    int rc;
    if (fmt && strcmp(fmt, "base64") && strcmp(fmt, "hex"))
        return kg_cli_usage_error(cli, "--format must be base64 or hex, not '%s'", fmt);
    if (kg_cli_uint(cli, &bytes, "bytes", 32, 1, 1024)) return KG_CLI_LOCAL;
    if (!(req = json_pack("{sI}", "bytes", (json_int_t)bytes))) return kg_cli_usage_error(cli, "out of memory");
    if ((rc = key_call(cli, &resp, req, "random", "/v1/random")) != KG_CLI_OK || !resp) return rc;
    if (cli->json || !fmt || !strcmp(fmt, "base64")) return print_value(cli, resp, "random", NULL);
    if (kg_b64_decode(&raw, kg_cli_field(resp, "random")) != KG_OK) {
        json_decref(resp);
        fputs("Error: the server's response has no valid base64 field 'random'\n", cli->err);
        return KG_CLI_REMOTE;
    }
    char *hex = malloc(raw.len * 2 + 1);
    if (hex) {
        kg_hex_encode(hex, raw.data, raw.len);
        fprintf(cli->out, "%s\n", hex);
        kg_wipe(hex, raw.len * 2);
        free(hex);
    }
    kg_wipe(raw.data, raw.len);
    kg_bytes_free(&raw);
    json_decref(resp);
    return hex ? KG_CLI_OK : kg_cli_usage_error(cli, "out of memory");
}
