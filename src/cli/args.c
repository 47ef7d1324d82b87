/* CLI argument parsing and the contract's value syntax.
 *
 * Options are `--name VALUE` or `--name=VALUE` and may come anywhere after
 * the command words; "--" ends them, so a literal value starting with "--"
 * can still be given as a positional. A command accepts its own options
 * (its table in the command table) plus the global HTTP/output options.
 * Parsed values are (option, string) pairs pointing into argv: nothing is
 * copied, and handlers ask for them by name (kg_cli_str/bool/multi).
 *
 * Value syntax (rest-contract.md, mirrors Vault's `@file` / `-`):
 *  - data (--plaintext, --message, --input): "@file" = raw bytes of the
 *    file, "-" = stdin, else the literal text;
 *  - base64 (--ciphertext, --signature, --mac, --digest): literal base64, or
 *    "@file"/"-" holding base64 text (whitespace trimmed) - or, when that
 *    is not base64, the raw bytes (a DER signature written by --out);
 *  - --digest also takes hex (64 hex digits, optional 0x);
 *  - --context k=v, repeatable, into a JSON object of strings.
 * These helpers return kg_err with a kg_err_set detail and print nothing, so
 * the unit tests can check them and handlers decide how to report. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli_int.h"

#define KG_CLI_MAX_INPUT (64u * 1024 * 1024) /* a request body is at most 1 MiB anyway */

static const kg_cli_opt global_opts[] = {
    {"addr", KG_OPT_STR, "<url>", false,
     "Address of the KashGuard server. The default is http://127.0.0.1:8200. "
     "This can also be specified via the KASHGUARD_ADDR environment variable."},
    {"token", KG_OPT_STR, "<string>", false,
     "Token to authenticate with. This can also be specified via the "
     "KASHGUARD_TOKEN environment variable (preferred: argv is visible to other users)."},
    {"cacert", KG_OPT_STR, "<file>", false,
     "PEM CA bundle used to verify the server's TLS certificate. Also KASHGUARD_CACERT."},
    {"cert", KG_OPT_STR, "<file>", false,
     "PEM client certificate for mutual TLS. Also KASHGUARD_CLIENT_CERT."},
    {"client-key", KG_OPT_STR, "<file>", false,
     "PEM private key of the client certificate. Also KASHGUARD_CLIENT_KEY."},
    {"curl", KG_OPT_BOOL, NULL, false,
     "Print the equivalent curl command instead of sending the request. The "
     "token is shown as \"$KASHGUARD_TOKEN\", never in clear."},
    {"json", KG_OPT_BOOL, NULL, false,
     "Print the API's JSON response instead of plain text."},
    {NULL, 0, NULL, false, NULL},
};

const kg_cli_opt *kg_cli_global_opts(void) { return global_opts; }

int kg_cli_usage_error(kg_cli *cli, const char *fmt, ...)
{
    va_list ap;
    fputs("Error: ", cli->err);
    va_start(ap, fmt);
    vfprintf(cli->err, fmt, ap);
    va_end(ap);
    fputc('\n', cli->err);
    return KG_CLI_LOCAL;
}

int kg_cli_local_error(kg_cli *cli, kg_err err)
{
    fprintf(cli->err, "Error: %s\n", kg_err_detail(err));
    return KG_CLI_LOCAL;
}

static const kg_cli_opt *find_opt(const kg_cli_opt *tab, const char *name, size_t len)
{
    for (size_t i = 0; tab && tab[i].name; i++)
        if (strlen(tab[i].name) == len && memcmp(tab[i].name, name, len) == 0)
            return &tab[i];
    return NULL;
}

static int bool_value(kg_cli *cli, const kg_cli_opt *o, const char *v, const char **out)
{
    if (!v || !strcmp(v, "true") || !strcmp(v, "1")) { *out = "true"; return KG_CLI_OK; }
    if (!strcmp(v, "false") || !strcmp(v, "0")) { *out = "false"; return KG_CLI_OK; }
    return kg_cli_usage_error(cli, "--%s takes no value or true/false, not '%s'", o->name, v);
}

/* One "--name[=value]" at argv[*i]; advances *i past a separate value. */
static int parse_one(kg_cli *cli, int argc, char **argv, int *i)
{
    const char *a = argv[*i] + 2, *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    const kg_cli_opt *o = find_opt(cli->cmd->opts, a, len);
    if (!o && !cli->cmd->local) o = find_opt(global_opts, a, len);
    if (!o)
        return kg_cli_usage_error(cli, "unknown option --%.*s for `kashguard %s`; "
                                  "see `kashguard %s --help`", (int)len, a,
                                  cli->cmd->name, cli->cmd->name);
    const char *v = eq ? eq + 1 : NULL;
    if (o->kind == KG_OPT_BOOL) {
        if (bool_value(cli, o, v, &v)) return KG_CLI_LOCAL;
    } else if (!v) {
        if (*i + 1 >= argc)
            return kg_cli_usage_error(cli, "option --%s needs a value %s", o->name, o->metavar);
        v = argv[++*i];
    }
    if (cli->nvals >= KG_CLI_MAX_ARGS)
        return kg_cli_usage_error(cli, "too many options (at most %d)", KG_CLI_MAX_ARGS);
    cli->vals[cli->nvals].opt = o;
    cli->vals[cli->nvals++].value = v;
    return KG_CLI_OK;
}

static void apply_globals(kg_cli *cli)
{
    const char *v;
    if ((v = kg_cli_str(cli, "addr"))) cli->addr = v;
    if ((v = kg_cli_str(cli, "token"))) cli->token = v;
    if ((v = kg_cli_str(cli, "cacert"))) cli->cacert = v;
    if ((v = kg_cli_str(cli, "cert"))) cli->cert = v;
    if ((v = kg_cli_str(cli, "client-key"))) cli->client_key = v;
    if (kg_cli_str(cli, "json")) cli->json = kg_cli_bool(cli, "json");
    if (kg_cli_str(cli, "curl")) cli->curl = kg_cli_bool(cli, "curl");
}

static int check_counts(kg_cli *cli)
{
    const kg_cli_cmd *c = cli->cmd;
    for (size_t i = 0; c->opts && c->opts[i].name; i++)
        if (c->opts[i].required && !kg_cli_str(cli, c->opts[i].name))
            return kg_cli_usage_error(cli, "missing required option --%s %s; see `kashguard %s --help`",
                                      c->opts[i].name, c->opts[i].metavar, c->name);
    if ((int)cli->npos < c->min_args)
        return kg_cli_usage_error(cli, "Not enough arguments (expected %d, got %zu); usage: "
                                  "kashguard %s [options] %s", c->min_args, cli->npos, c->name, c->args);
    if ((int)cli->npos > c->max_args)
        return kg_cli_usage_error(cli, "Too many arguments (expected at most %d, got %zu); usage: "
                                  "kashguard %s [options] %s", c->max_args, cli->npos, c->name, c->args);
    return KG_CLI_OK;
}

int kg_cli_parse(kg_cli *cli, bool *help, int argc, char **argv)
{
    bool only_pos = false;
    *help = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "-help"))) {
            *help = true;
            return KG_CLI_OK;
        }
        if (!only_pos && !strcmp(a, "--")) { only_pos = true; continue; }
        if (!only_pos && a[0] == '-' && a[1] == '-') {
            if (parse_one(cli, argc, argv, &i)) return KG_CLI_LOCAL;
            continue;
        }
        if (!only_pos && a[0] == '-' && a[1] != '\0')
            return kg_cli_usage_error(cli, "unknown option '%s' (options are spelled --name); "
                                      "see `kashguard %s --help`", a, cli->cmd->name);
        if (cli->npos >= KG_CLI_MAX_ARGS)
            return kg_cli_usage_error(cli, "too many arguments");
        cli->pos[cli->npos++] = a;
    }
    apply_globals(cli);
    return check_counts(cli);
}

static const char *env_or(const char *cur, const char *var)
{
    const char *v;
    if (cur) return cur;
    v = getenv(var);
    return v && *v ? v : NULL;
}

void kg_cli_apply_env(kg_cli *cli)
{
    cli->addr = env_or(cli->addr, "KASHGUARD_ADDR");
    if (!cli->addr) cli->addr = "http://127.0.0.1:8200";
    cli->token = env_or(cli->token, "KASHGUARD_TOKEN");
    cli->cacert = env_or(cli->cacert, "KASHGUARD_CACERT");
    cli->cert = env_or(cli->cert, "KASHGUARD_CLIENT_CERT");
    cli->client_key = env_or(cli->client_key, "KASHGUARD_CLIENT_KEY");
}

const char *kg_cli_str(const kg_cli *cli, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < cli->nvals; i++)
        if (!strcmp(cli->vals[i].opt->name, name)) v = cli->vals[i].value;
    return v;
}

bool kg_cli_bool(const kg_cli *cli, const char *name)
{
    const char *v = kg_cli_str(cli, name);
    return v && !strcmp(v, "true");
}

size_t kg_cli_multi(const kg_cli *cli, const char *name, const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < cli->nvals && n < cap; i++)
        if (!strcmp(cli->vals[i].opt->name, name)) out[n++] = cli->vals[i].value;
    return n;
}

int kg_cli_uint(kg_cli *cli, unsigned long *out, const char *name,
                unsigned long def, unsigned long min, unsigned long max)
{
    const char *v = kg_cli_str(cli, name);
    char *end;
    unsigned long n;
    *out = def;
    if (!v) return KG_CLI_OK;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n < min || n > max)
        return kg_cli_usage_error(cli, "--%s must be a whole number from %lu to %lu, not '%s'",
                                  name, min, max, v);
    *out = n;
    return KG_CLI_OK;
}

/* ------------------------------------------------------------ value syntax */

kg_err kg_cli_read_file(kg_bytes *out, const char *path, size_t max)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    uint8_t *buf = NULL, *nb;
    size_t len = 0, cap = 0, n;
    out->data = NULL;
    out->len = 0;
    if (!f) return kg_err_set(KG_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            if (!(nb = realloc(buf, cap + 1))) { kg_wipe(buf, len); free(buf); buf = NULL; break; }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0 && len <= max);
    bool bad = ferror(f) != 0;
    if (f != stdin) fclose(f);
    if (!buf) return kg_err_set(KG_ERR_NOMEM, "out of memory reading '%s'", path);
    if (bad || len > max) {
        kg_wipe(buf, len);
        free(buf);
        return bad ? kg_err_set(KG_ERR_IO, "cannot read '%s'", path)
                   : kg_err_set(KG_ERR_TOO_LARGE, "'%s' is larger than %zu bytes", path, max);
    }
    buf[len] = 0; /* NUL after the data (not counted) so text users can read it as a string */
    out->data = buf;
    out->len = len;
    return KG_OK;
}

kg_err kg_cli_read_data(kg_bytes *out, const char *opt, const char *arg)
{
    out->data = NULL;
    out->len = 0;
    if (!arg) return kg_err_set(KG_ERR_BAD_INPUT, "--%s needs a value", opt);
    if (!strcmp(arg, "-")) return kg_cli_read_file(out, "-", KG_CLI_MAX_INPUT);
    if (arg[0] == '@') {
        if (!arg[1]) return kg_err_set(KG_ERR_BAD_INPUT, "--%s @: a file name must follow '@'", opt);
        return kg_cli_read_file(out, arg + 1, KG_CLI_MAX_INPUT);
    }
    return kg_bytes_set(out, (const uint8_t *)arg, strlen(arg));
}

static char *b64_of(const uint8_t *d, size_t n)
{
    char *s = malloc(kg_b64_encoded_len(n));
    if (s) kg_b64_encode(s, d, n);
    return s;
}

/* True when s (NUL-terminated) is valid standard base64 of at least one byte. */
static bool is_b64(const char *s)
{
    kg_bytes tmp = {0};
    if (!*s || kg_b64_decode(&tmp, s) != KG_OK) return false;
    kg_wipe(tmp.data, tmp.len);
    kg_bytes_free(&tmp);
    return true;
}

/* Trim ASCII whitespace (both ends and inside: wrapped base64) in place. */
static void strip_space(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++)
        if (!strchr(" \t\r\n\f\v", *r)) *w++ = *r;
    *w = 0;
}

kg_err kg_cli_read_b64(char **out, const char *opt, const char *arg)
{
    kg_bytes raw;
    kg_err e;
    *out = NULL;
    if (!arg) return kg_err_set(KG_ERR_BAD_INPUT, "--%s needs a value", opt);
    if (strcmp(arg, "-") && arg[0] != '@') {
        if (!is_b64(arg))
            return kg_err_set(KG_ERR_BAD_INPUT, "--%s is not valid base64; give base64 text or "
                              "@FILE (a file of base64 or raw bytes)", opt);
        return (*out = strdup(arg)) ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if ((e = kg_cli_read_data(&raw, opt, arg)) != KG_OK) return e;
    if (raw.len == 0) {
        kg_bytes_free(&raw);
        return kg_err_set(KG_ERR_BAD_INPUT, "--%s %s is empty", opt, arg);
    }
    char *text = malloc(raw.len + 1);
    if (text) {
        memcpy(text, raw.data, raw.len);
        text[raw.len] = 0;
        strip_space(text);
        /* A file of base64 text is decoded; anything else is taken as bytes. */
        if (!memchr(raw.data, 0, raw.len) && is_b64(text)) *out = strdup(text);
        else *out = b64_of(raw.data, raw.len);
        free(text);
    }
    kg_wipe(raw.data, raw.len);
    kg_bytes_free(&raw);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

static bool all_hex(const char *s)
{
    if (!s[0]) return false;
    for (; *s; s++)
        if (!strchr("0123456789abcdefABCDEF", *s)) return false;
    return true;
}

kg_err kg_cli_read_digest(char **out, const char *opt, const char *arg)
{
    const char *h = arg;
    uint8_t buf[64];
    size_t n;
    *out = NULL;
    if (!arg) return kg_err_set(KG_ERR_BAD_INPUT, "--%s needs a value", opt);
    if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) h += 2;
    if (all_hex(h) && strlen(h) % 2 == 0 && strlen(h) <= 2 * sizeof buf) {
        if (kg_hex_decode(buf, sizeof buf, &n, h) != KG_OK)
            return kg_err_set(KG_ERR_BAD_INPUT, "--%s is not valid hex", opt);
        *out = b64_of(buf, n);
        return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (arg != h)
        return kg_err_set(KG_ERR_BAD_INPUT, "--%s: '0x' must be followed by an even number of "
                          "hex digits (a SHA-256 digest is 64)", opt);
    return kg_cli_read_b64(out, opt, arg);
}

kg_err kg_cli_parse_context(json_t **out, const char *opt, const char *const *pairs, size_t n)
{
    json_t *ctx;
    *out = NULL;
    if (n == 0) return KG_OK;
    if (!(ctx = json_object())) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(pairs[i], '=');
        char key[256];
        size_t klen = eq ? (size_t)(eq - pairs[i]) : 0;
        kg_err e = KG_OK;
        if (!eq) e = kg_err_set(KG_ERR_BAD_INPUT, "--%s '%s' must be KEY=VALUE, e.g. --%s order=42",
                                opt, pairs[i], opt);
        else if (klen == 0) e = kg_err_set(KG_ERR_BAD_INPUT, "--%s '%s' has an empty key", opt, pairs[i]);
        else if (klen >= sizeof key) e = kg_err_set(KG_ERR_BAD_INPUT, "--%s key is longer than %zu bytes",
                                                    opt, sizeof key - 1);
        if (e == KG_OK) {
            memcpy(key, pairs[i], klen);
            key[klen] = 0;
            if (json_object_get(ctx, key))
                e = kg_err_set(KG_ERR_BAD_INPUT, "--%s key '%s' is given twice", opt, key);
            else if (json_object_set_new(ctx, key, json_string(eq + 1)))
                e = kg_err_set(KG_ERR_BAD_INPUT, "--%s '%s' is not valid UTF-8", opt, key);
        }
        if (e != KG_OK) { json_decref(ctx); return e; }
    }
    *out = ctx;
    return KG_OK;
}
