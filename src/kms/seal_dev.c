/* Dev mode (`kashguard server --dev`): kg_kms_dev_bootstrap initialises a
 * fresh data directory with a single unseal key share, keeps that share and
 * the root token in files next to the store (dev-unseal.key, root.token,
 * 0600, written atomically), and on later starts reads them back and
 * unseals, so a developer never types a key. Production initialises with
 * `kashguard operator init` and keeps the shares elsewhere; see seal.c for
 * how the shares and root key work. */
#include "kms_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static kg_err io_error(const char *what, const char *path)
{
    return kg_err_set(KG_ERR_IO, "%s '%.200s': %s", what, path, strerror(errno));
}

/* Write text to path atomically: a 0600 temp file in the same directory,
 * fsync'd, renamed over path, then the directory fsync'd, so a crash leaves
 * either the old file or the complete new one. */
static kg_err write_atomic(const char *dir, const char *path, const char *text)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return kg_err_set(KG_ERR_BAD_INPUT, "data directory path is too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_error("cannot create", tmp);
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            kg_err e = io_error("cannot write", tmp);
            close(fd);
            unlink(tmp);
            return e;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        kg_err e = io_error("cannot sync", tmp);
        unlink(tmp);
        return e;
    }
    if (rename(tmp, path) != 0) {
        kg_err e = io_error("cannot rename into place", path);
        unlink(tmp);
        return e;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return io_error("cannot open directory", dir);
    int rc = fsync(dfd);
    close(dfd);
    return rc == 0 ? KG_OK : io_error("cannot sync directory", dir);
}

/* Read a small text file, trailing whitespace removed. *out is malloc'd. */
static kg_err read_text(char **out, const char *path)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kg_err_set(KG_ERR_IO, "the data directory is initialised but '%.200s' cannot be read "
                          "(%s); unseal with `kashguard operator unseal` or start with a fresh "
                          "--data directory", path, strerror(errno));
    char buf[1024];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            kg_err e = io_error("cannot read", path);
            close(fd);
            kg_wipe(buf, sizeof(buf));
            return e;
        }
        len += (size_t)r;
    }
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        len--;
    buf[len] = '\0';
    *out = strdup(buf);
    kg_wipe(buf, sizeof(buf));
    return *out != NULL ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

static void free_text(char *s)
{
    if (s != NULL) {
        kg_wipe(s, strlen(s));
        free(s);
    }
}

/* Fresh data dir: init with one share, write both files. */
static kg_err dev_init(kg_kms *kms, char **share, char **token, const char *key_path,
                       const char *tok_path)
{
    json_t *doc = NULL;
    kg_err e = kg_kms_init(kms, &doc, 1, 1);
    if (e != KG_OK)
        return e;
    *share = strdup(json_string_value(json_array_get(json_object_get(doc, "unseal_keys"), 0)));
    *token = strdup(json_string_value(json_object_get(doc, "root_token")));
    json_t *rt = json_object_get(doc, "root_token");
    if (rt != NULL)
        kg_wipe((char *)json_string_value(rt), json_string_length(rt));
    json_decref(doc);
    if (*share == NULL || *token == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory in dev bootstrap");
    char line[256];
    snprintf(line, sizeof(line), "%s\n", *share);
    e = write_atomic(kms->data_dir, key_path, line);
    if (e == KG_OK) {
        snprintf(line, sizeof(line), "%s\n", *token);
        e = write_atomic(kms->data_dir, tok_path, line);
    }
    kg_wipe(line, sizeof(line));
    return e;
}

kg_err kg_kms_dev_bootstrap(kg_kms *kms, char **root_token)
{
    KG_ARG_CHECK(kms != NULL && root_token != NULL);
    *root_token = NULL;
    char key_path[4096], tok_path[4096];
    if (snprintf(key_path, sizeof(key_path), "%s/dev-unseal.key", kms->data_dir) >= (int)sizeof(key_path) ||
        snprintf(tok_path, sizeof(tok_path), "%s/root.token", kms->data_dir) >= (int)sizeof(tok_path))
        return kg_err_set(KG_ERR_BAD_INPUT, "data directory path is too long");
    if (mkdir(kms->data_dir, 0700) != 0 && errno != EEXIST)
        return io_error("cannot create data directory", kms->data_dir);

    json_t *cfg = NULL;
    kg_err e = kg_store_get_json(kms->st, NULL, &cfg, "sys/seal");
    json_decref(cfg);
    char *share = NULL, *token = NULL;
    if (e == KG_ERR_NOT_FOUND) {
        e = dev_init(kms, &share, &token, key_path, tok_path);
    } else if (e == KG_OK) {
        e = read_text(&share, key_path);
        if (e == KG_OK)
            e = read_text(&token, tok_path);
    }
    if (e == KG_OK && !kms_is_unsealed(kms)) {
        json_t *st = NULL;
        e = kg_kms_unseal(kms, &st, share);
        json_decref(st);
    }
    if (e == KG_OK && !kms_is_unsealed(kms))
        e = kg_err_set(KG_ERR_UNSEAL_KEY, "'%.200s' does not unseal this data directory "
                       "(it needs more than one key share); use `kashguard operator unseal`", key_path);
    free_text(share);
    if (e != KG_OK) {
        free_text(token);
        return e;
    }
    *root_token = token;
    return KG_OK;
}
