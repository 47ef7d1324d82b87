/* Server configuration: defaults and the `key = value` config file.
 *
 * One table (`options[]`) names every option with its type and where it
 * lands in kg_server_config (STYLE: a config table, as Redis's
 * static_configs[]). The file format is deliberately small: one
 * `key = value` per line, '#' starts a comment (a whole line, or after a
 * blank outside quotes at the end of one), blank lines ignored,
 * values optionally in double quotes. An unknown key, a repeated key or a
 * bad value is an error naming the file, the line and the key, and the
 * config is left as it was (the file is applied to a copy first), so a
 * typo never silently falls back to a default.
 *
 * Blocks group related keys: `seal "pkcs11" {` ... `}` and `hsm {` ... `}`,
 * each on its own lines. A key inside a block is looked up with the
 * block's prefix ("seal_pkcs11_", "hsm_"), so the table stays flat and the
 * same key written flat (`hsm_op_timeout = 2s`) means the same thing. A
 * block cannot nest; an unknown key in a block names the block and what it
 * accepts; a block still open at the end of the file names the line that
 * opened it. Blocks only ever add keys: nothing in them is required
 * unless the block is there (then seal "pkcs11" needs module, token_label
 * and exactly one of pin_file / pin_env, checked when the file ends).
 *
 * Strings are copied and live for the process (the config is read once
 * at start). Command-line flags are applied by the caller after the file,
 * so they win. */
#include "server_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KG_CFG_LINE_MAX 4096

typedef enum { OPT_STR, OPT_BOOL, OPT_SIZE, OPT_UINT, OPT_DURATION, OPT_MS } opt_type;

typedef struct {
    const char *name;
    opt_type type;
    size_t offset;   /* into kg_server_config */
    uint64_t min, max;
} cfg_option;

#define SOFF(f) offsetof(kg_server_config, f)
#define KOFF(f) (offsetof(kg_server_config, kms) + offsetof(kg_kms_config, f))

static const cfg_option options[] = {
    { "listen",                 OPT_STR,      SOFF(listen), 0, 0 },
    { "data_dir",               OPT_STR,      SOFF(data_dir), 0, 0 },
    { "store_url",              OPT_STR,      SOFF(store_url), 0, 0 },
    { "tls_cert",               OPT_STR,      SOFF(tls_cert), 0, 0 },
    { "tls_key",                OPT_STR,      SOFF(tls_key), 0, 0 },
    { "tls_client_ca",          OPT_STR,      SOFF(tls_client_ca), 0, 0 },
    { "tls_disable",            OPT_BOOL,     SOFF(tls_disable), 0, 0 },
    { "max_body_bytes",         OPT_SIZE,     SOFF(max_body_bytes), 1024, 64u << 20 },
    { "threads",                OPT_UINT,     SOFF(threads), 1, 256 },
    { "min_deletion_wait",      OPT_DURATION, KOFF(min_deletion_wait), 0, 0 },
    { "audit_fsync",            OPT_BOOL,     KOFF(audit_fsync), 0, 0 },
    { "audit_checkpoint_every", OPT_UINT,     KOFF(audit_checkpoint_every), 1, 1000000 },
    { "mpc",                    OPT_BOOL,     SOFF(mpc), 0, 0 },
    { "mpc_dir",                OPT_STR,      SOFF(mpc_dir), 0, 0 },
    { "chain_rpc_allow",        OPT_STR,      SOFF(chain_rpc_allow), 0, 0 },
    /* seal "pkcs11" { ... } */
    { "seal_pkcs11_module",      OPT_STR,     SOFF(seal_pkcs11_module), 0, 0 },
    { "seal_pkcs11_token_label", OPT_STR,     SOFF(seal_pkcs11_token_label), 0, 0 },
    { "seal_pkcs11_pin_file",    OPT_STR,     SOFF(seal_pkcs11_pin_file), 0, 0 },
    { "seal_pkcs11_pin_env",     OPT_STR,     SOFF(seal_pkcs11_pin_env), 0, 0 },
    { "seal_pkcs11_key_label",   OPT_STR,     SOFF(seal_pkcs11_key_label), 0, 0 },
    /* hsm { ... }: times in ms ("2s", "500ms") */
    { "hsm_probe_interval",     OPT_MS,       SOFF(hsm_probe_interval_ms), 100, 3600000 },
    { "hsm_op_timeout",         OPT_MS,       SOFF(hsm_op_timeout_ms), 10, 600000 },
    { "hsm_down_after_errors",  OPT_UINT,     SOFF(hsm_down_after_errors), 1, 1000 },
    { "hsm_degraded_latency",   OPT_MS,       SOFF(hsm_degraded_latency_ms), 1, 600000 },
    { "hsm_sessions",           OPT_UINT,     SOFF(hsm_sessions), 1, 256 },
    { "hsm_default_group",      OPT_STR,      SOFF(hsm_default_group), 0, 0 },
};

#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= 64, "the `seen` mask of kg_server_config_load has 64 bits");

/* The blocks: `<word> {` or `<word> "<kind>" {`, and the prefix their keys get. */
typedef struct {
    const char *word, *kind, *prefix;
} cfg_block;

static const cfg_block blocks[] = {
    { "seal", "pkcs11", "seal_pkcs11_" },
    { "hsm",  NULL,     "hsm_" },
};

void kg_server_config_default(kg_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->data_dir = "./data";
    cfg->listen = "127.0.0.1:8200";
    cfg->max_body_bytes = 1u << 20;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* Workers block while the audit batch they joined reaches the disk; more
     * of them than cores lets group commit gather bigger batches (measured:
     * 16 threads on 2 cores gave 1.6x the encrypt throughput of 4 at 64
     * connections, docs/benchmarks.md). */
    cfg->threads = cores > 0 ? (unsigned)(cores >= 8 ? 64 : 8 * cores) : 16;
    if (cfg->threads < 8)
        cfg->threads = 8;
    kg_kms_config_default(&cfg->kms);
}

static bool parse_bool(bool *out, const char *v)
{
    static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *out = strcmp(v, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* Decimal with an optional K/KiB/M/MiB suffix (powers of 1024). */
static bool parse_size(uint64_t *out, const char *v)
{
    char *end;
    errno = 0;
    if (*v < '0' || *v > '9')
        return false;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0)
        return false;
    uint64_t mult = 1;
    if (strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0)
        mult = 1024;
    else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0)
        mult = 1024 * 1024;
    else if (*end != '\0')
        return false;
    if (n > UINT64_MAX / mult)
        return false;
    *out = n * mult;
    return true;
}

/* A time in milliseconds: "<n>ms", "<n>s", "<n>m" or plain seconds. */
static bool parse_ms(uint64_t *out, const char *v)
{
    char *end;
    errno = 0;
    if (*v < '0' || *v > '9')
        return false;
    unsigned long long n = strtoull(v, &end, 10);
    uint64_t mult = 0;
    if (strcmp(end, "ms") == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    if (errno != 0 || mult == 0 || n > UINT32_MAX / mult)
        return false;
    *out = n * mult;
    return true;
}

/* Strings from config files live for the process. They are chained from
 * a static list so they stay reachable (and a leak checker agrees). */
typedef struct kept_str {
    struct kept_str *next;
    char s[];
} kept_str;
static kept_str *kept;
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *keep_string(const char *v)
{
    size_t n = strlen(v);
    kept_str *k = malloc(sizeof *k + n + 1);
    if (k == NULL)
        return NULL;
    memcpy(k->s, v, n + 1);
    pthread_mutex_lock(&kept_mu);
    k->next = kept;
    kept = k;
    pthread_mutex_unlock(&kept_mu);
    return k->s;
}

static kg_err apply(kg_server_config *cfg, const cfg_option *o, const char *v, const char *where)
{
    void *dst = (char *)cfg + o->offset;
    uint64_t n = 0;
    int64_t secs = 0;
    switch (o->type) {
    case OPT_STR: {
        const char *s = keep_string(v);
        if (s == NULL)
            return kg_err_set(KG_ERR_NOMEM, "out of memory");
        *(const char **)dst = s;
        return KG_OK;
    }
    case OPT_BOOL:
        if (!parse_bool(dst, v))
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: '%s' must be true or false", where, o->name);
        return KG_OK;
    case OPT_SIZE:
    case OPT_UINT:
        if (!parse_size(&n, v) || (o->type == OPT_UINT && strspn(v, "0123456789") != strlen(v)) ||
            n < o->min || n > o->max)
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: '%s' must be a number from %llu to %llu", where, o->name,
                              (unsigned long long)o->min, (unsigned long long)o->max);
        if (o->type == OPT_SIZE)
            *(size_t *)dst = (size_t)n;
        else
            *(unsigned *)dst = (unsigned)n;
        return KG_OK;
    case OPT_MS:
        if (!parse_ms(&n, v) || n < o->min || n > o->max)
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: '%s' must be a time like 2s or 500ms, from %llums to %llums",
                              where, o->name, (unsigned long long)o->min, (unsigned long long)o->max);
        *(unsigned *)dst = (unsigned)n;
        return KG_OK;
    default:
        if (kg_duration_parse(&secs, v) != KG_OK || secs < 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: '%s' must be a duration like 7d, 12h or 90m", where, o->name);
        *(int64_t *)dst = secs;
        return KG_OK;
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* The parser's position: the open block (NULL at top level) and the line
 * that opened it, and a bit per option to refuse repeats. */
typedef struct {
    const cfg_block *block;
    char block_where[300];
    uint64_t seen;
    bool had_seal;
    char seal_where[300];    /* the seal block's line, for check_blocks */
} cfg_state;

/* "a, b, c" of the keys of block b (the option names minus its prefix). */
static void block_keys(char *out, size_t cap, const cfg_block *b)
{
    size_t used = 0, pl = strlen(b->prefix);
    out[0] = '\0';
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strncmp(options[i].name, b->prefix, pl) != 0)
            continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", options[i].name + pl);
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}

/* A `word {` or `word "kind" {` line: open the block. */
static kg_err open_block(cfg_state *st, char *line, const char *where)
{
    size_t n = strlen(line);
    line[n - 1] = '\0'; /* the '{' */
    char *head = trim(line), *kind = strchr(head, ' ');
    if (kind == NULL)
        kind = strchr(head, '\t');
    if (kind != NULL) {
        *kind = '\0';
        kind = trim(kind + 1);
        size_t kn = strlen(kind);
        if (kn < 2 || kind[0] != '"' || kind[kn - 1] != '"')
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: a block starts like `seal \"pkcs11\" {` or `hsm {`", where);
        kind[kn - 1] = '\0';
        kind++;
    }
    if (st->block != NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: block '%.32s' inside the block opened at %s: blocks do not nest "
                          "(close it with `}` first)", where, head, st->block_where);
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        const cfg_block *b = &blocks[i];
        if (strcmp(head, b->word) != 0)
            continue;
        if ((b->kind == NULL) != (kind == NULL) || (kind != NULL && strcmp(kind, b->kind) != 0))
            return kg_err_set(KG_ERR_BAD_INPUT, b->kind ? "%s: unknown %s type '%.32s' (known: %s \"%s\" { ... })"
                                                        : "%s: the %s block takes no type ('%.32s'): write `%s {`",
                              where, b->word, kind ? kind : "", b->word, b->kind ? b->kind : "");
        st->block = b;
        snprintf(st->block_where, sizeof st->block_where, "%s", where);
        return KG_OK;
    }
    return kg_err_set(KG_ERR_BAD_INPUT, "%s: unknown block '%.32s' (known: seal \"pkcs11\" { ... }, hsm { ... })",
                      where, head);
}

/* One `key = value` line (inside a block, key gets the block's prefix). */
static kg_err parse_line(kg_server_config *cfg, char *line, const char *where, cfg_state *st)
{
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: expected `key = value`", where);
    *eq = '\0';
    char *key = trim(line), *val = trim(eq + 1);
    size_t vn = strlen(val);
    if (vn >= 2 && val[0] == '"' && val[vn - 1] == '"') {
        val[vn - 1] = '\0';
        val++;
    }
    char full[160];
    snprintf(full, sizeof full, "%s%.64s", st->block ? st->block->prefix : "", key);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strcmp(full, options[i].name) != 0)
            continue;
        if (st->seen & (UINT64_C(1) << i))
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: '%s' is set twice", where, full);
        st->seen |= UINT64_C(1) << i;
        return apply(cfg, &options[i], val, where);
    }
    if (st->block != NULL) {
        char known[512];
        block_keys(known, sizeof known, st->block);
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: unknown key '%.64s' in the %s block opened at %s (known: %s)",
                          where, key, st->block->word, st->block_where, known);
    }
    return kg_err_set(KG_ERR_BAD_INPUT, "%s: unknown key '%.64s' (known: listen, data_dir, store_url, tls_cert, "
                      "tls_key, tls_client_ca, tls_disable, max_body_bytes, threads, min_deletion_wait, "
                      "audit_fsync, audit_checkpoint_every, mpc, mpc_dir, chain_rpc_allow, and the blocks "
                      "seal \"pkcs11\" { ... } and hsm { ... })", where, key);
}

/* Cut a trailing comment: a '#' outside double quotes that starts the line
 * or follows a blank (so `op_timeout = 2s  # why` works, while a '#' inside
 * a value such as a URL fragment or a quoted string stays). */
static void strip_comment(char *s)
{
    bool quoted = false;
    for (char *p = s; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == '#' && !quoted && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
    }
}

/* One non-comment line: a block opening, a block end or a key. */
static kg_err parse_any(kg_server_config *cfg, char *s, const char *where, cfg_state *st)
{
    size_t n = strlen(s);
    if (strcmp(s, "}") == 0) {
        if (st->block == NULL)
            return kg_err_set(KG_ERR_BAD_INPUT, "%s: `}` without an open block", where);
        if (strcmp(st->block->word, "seal") == 0) {
            cfg->seal = st->block->kind;
            st->had_seal = true;
            snprintf(st->seal_where, sizeof st->seal_where, "%s", st->block_where);
        }
        st->block = NULL;
        return KG_OK;
    }
    if (s[n - 1] == '{' && strchr(s, '=') == NULL)
        return open_block(st, s, where);
    return parse_line(cfg, s, where, st);
}

/* What must hold once the whole file is read. */
static kg_err check_blocks(const kg_server_config *cfg, const cfg_state *st, const char *path)
{
    if (st->block != NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: the %s block opened at %s is not closed (add a line `}`)", path,
                          st->block->word, st->block_where);
    bool any = cfg->seal_pkcs11_module || cfg->seal_pkcs11_token_label || cfg->seal_pkcs11_pin_file ||
               cfg->seal_pkcs11_pin_env || cfg->seal_pkcs11_key_label;
    if (!any && !st->had_seal)
        return KG_OK;
    const char *where = st->had_seal ? st->seal_where : path;
    if (cfg->seal_pkcs11_module == NULL || cfg->seal_pkcs11_token_label == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: seal \"pkcs11\" needs module and token_label", where);
    if ((cfg->seal_pkcs11_pin_file == NULL) == (cfg->seal_pkcs11_pin_env == NULL))
        return kg_err_set(KG_ERR_BAD_INPUT, "%s: seal \"pkcs11\" needs exactly one of pin_file and pin_env "
                          "(the PIN itself never goes into the config)", where);
    return KG_OK;
}

kg_err kg_server_config_load(kg_server_config *cfg, const char *path)
{
    KG_ARG_CHECK(cfg != NULL && path != NULL);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return kg_err_set(KG_ERR_IO, "cannot open config file %s: %s", path, strerror(errno));
    kg_server_config tmp = *cfg;
    char line[KG_CFG_LINE_MAX], where[300];
    cfg_state st = { 0 };
    kg_err e = KG_OK;
    for (unsigned no = 1; e == KG_OK && fgets(line, sizeof line, f) != NULL; no++) {
        snprintf(where, sizeof where, "%.256s line %u", path, no);
        if (strchr(line, '\n') == NULL && !feof(f)) {
            e = kg_err_set(KG_ERR_BAD_INPUT, "%s: line longer than %d bytes", where, KG_CFG_LINE_MAX - 2);
            break;
        }
        strip_comment(line);
        char *s = trim(line);
        if (*s == '\0')
            continue;
        e = parse_any(&tmp, s, where, &st);
    }
    if (e == KG_OK && ferror(f))
        e = kg_err_set(KG_ERR_IO, "cannot read config file %s", path);
    fclose(f);
    if (e == KG_OK)
        e = check_blocks(&tmp, &st, path);
    if (e == KG_OK) {
        if (tmp.seal_pkcs11_module != NULL)
            tmp.seal = "pkcs11";
        *cfg = tmp;
    }
    return e;
}
