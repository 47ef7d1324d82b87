/* CLI output: plain text for people, the API's JSON for programs (--json).
 *
 * Plain output follows one rule (Vault's -field idea made the default for
 * the one value that matters): a command whose result is one value prints
 * that value alone (key id, ciphertext, token, PEM), so it pipes; commands
 * that describe something print aligned "field  value" lines or a table.
 * Binary results go raw to --out FILE (created 0600, written to a temporary
 * file and renamed, so a reader never sees half a key) or to stdout.
 * Before a secret is written to stdout we warn when stdout is a file other
 * users can read (wg genkey's check). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli_int.h"

void kg_cli_print_json(FILE *f, const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (!s) return;
    fputs(s, f);
    fputc('\n', f);
    kg_wipe(s, strlen(s));
    free(s);
}

const char *kg_cli_field(const json_t *obj, const char *field)
{
    const char *s = json_string_value(json_object_get(obj, field));
    return s ? s : "";
}

/* One JSON value as plain text: strings bare, null "n/a", others compact. */
static void print_value(FILE *f, const json_t *v)
{
    char *s;
    if (json_is_string(v)) { fputs(json_string_value(v), f); return; }
    if (!v || json_is_null(v)) { fputs("n/a", f); return; }
    if ((s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)))) {
        fputs(s, f);
        free(s);
    }
}

void kg_cli_print_fields(FILE *f, const json_t *obj, const char *const *fields)
{
    size_t w = 5;
    const char *k;
    json_t *v;
    if (fields) {
        for (size_t i = 0; fields[i]; i++)
            if (json_object_get(obj, fields[i]) && strlen(fields[i]) > w) w = strlen(fields[i]);
        for (size_t i = 0; fields[i]; i++) {
            if (!(v = json_object_get(obj, fields[i]))) continue;
            fprintf(f, "%-*s  ", (int)w, fields[i]);
            print_value(f, v);
            fputc('\n', f);
        }
        return;
    }
    json_object_foreach((json_t *)obj, k, v)
        if (strlen(k) > w) w = strlen(k);
    json_object_foreach((json_t *)obj, k, v) {
        fprintf(f, "%-*s  ", (int)w, k);
        print_value(f, v);
        fputc('\n', f);
    }
}

/* Width of one cell: its plain-text length. */
static size_t cell_len(const json_t *v)
{
    char *s;
    size_t n;
    if (json_is_string(v)) return strlen(json_string_value(v));
    if (!v || json_is_null(v)) return 3;
    if (!(s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)))) return 0;
    n = strlen(s);
    free(s);
    return n;
}

void kg_cli_print_table(FILE *f, const json_t *arr, const char *const *headers,
                        const char *const *fields)
{
    size_t w[16] = {0}, nf = 0, i;
    json_t *row;
    while (fields[nf] && nf < 16) { w[nf] = strlen(headers[nf]); nf++; }
    json_array_foreach((json_t *)arr, i, row)
        for (size_t c = 0; c < nf; c++) {
            size_t l = cell_len(json_object_get(row, fields[c]));
            if (l > w[c]) w[c] = l;
        }
    for (size_t c = 0; c < nf; c++)
        fprintf(f, "%-*s%s", c + 1 < nf ? (int)w[c] : 0, headers[c], c + 1 < nf ? "  " : "\n");
    json_array_foreach((json_t *)arr, i, row)
        for (size_t c = 0; c < nf; c++) {
            const json_t *v = json_object_get(row, fields[c]);
            print_value(f, v);
            if (c + 1 < nf) fprintf(f, "%*s", (int)(w[c] - cell_len(v) + 2), "");
            else fputc('\n', f);
        }
}

void kg_cli_warn_secret_stdout(kg_cli *cli)
{
    struct stat st;
    int fd = fileno(cli->out);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
    if (st.st_mode & (S_IRGRP | S_IROTH))
        fputs("Warning: writing a secret to a file other users can read; "
              "set `umask 077` first or use --out FILE (created mode 0600)\n", cli->err);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int kg_cli_write_out(kg_cli *cli, const char *path, const uint8_t *data, size_t len)
{
    if (!path || !strcmp(path, "-")) {
        if (fwrite(data, 1, len, cli->out) != len || fflush(cli->out) != 0)
            return kg_cli_usage_error(cli, "cannot write to stdout: %s", strerror(errno));
        return KG_CLI_OK;
    }
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) return kg_cli_usage_error(cli, "out of memory");
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int bad = fd < 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0) bad = 1;
    if (!bad && rename(tmp, path) != 0) { bad = 1; saved = errno; }
    if (bad) unlink(tmp);
    free(tmp);
    if (bad) return kg_cli_usage_error(cli, "cannot write '%s': %s", path, strerror(saved));
    return KG_CLI_OK;
}

int kg_cli_write_b64_field(kg_cli *cli, const char *path, const json_t *resp, const char *field)
{
    const char *b64 = json_string_value(json_object_get(resp, field));
    kg_bytes raw = {0};
    int rc;
    if (!b64 || kg_b64_decode(&raw, b64) != KG_OK) {
        fprintf(cli->err, "Error: the server's response has no valid base64 field '%s'\n", field);
        return KG_CLI_REMOTE;
    }
    rc = kg_cli_write_out(cli, path, raw.data, raw.len);
    kg_wipe(raw.data, raw.len);
    kg_bytes_free(&raw);
    return rc;
}
