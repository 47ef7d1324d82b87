/* The seal key of `kashguard mpc-node`: the 32-byte AES-256-GCM key that
 * seals every key share in node.db (node.c). Without a passphrase it is
 * DIR/seal.key (0600, made at the first start). With one it is kept only
 * wrapped, "sealed like KMS material", in DIR/seal.key.enc:
 *
 *   offset size
 *     0     8   magic "KGSEAL01"
 *     8     4   Argon2id opslimit (u32 BE)
 *    12     4   Argon2id memlimit in KiB (u32 BE)
 *    16    16   salt (random)
 *    32    24   XChaCha20-Poly1305 nonce (random)
 *    56    48   the seal key encrypted (32) and its tag (16); AAD = bytes 0..55
 *
 * The wrapping key is Argon2id(passphrase, salt) (RFC 9106, libsodium); the
 * parameters are recorded, so they can be raised later without breaking
 * old files (and a file asking for absurd ones is refused). A wrong
 * passphrase fails the tag check: the node refuses to start and changes
 * nothing. An existing plaintext seal.key is converted at the first start
 * with a passphrase: seal.key.enc is written (exclusively, fsync'd) and
 * read back, then seal.key is overwritten with zeros and removed. A node
 * whose seal.key.enc exists refuses to start without the passphrase rather
 * than making a new seal key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define SEAL_MAGIC "KGSEAL01"
#define SEAL_HEAD 56
#define SEAL_FILE (SEAL_HEAD + 32 + 16)
#define SEAL_OPS 3
#define SEAL_MEM_KIB (64u * 1024u)
#define SEAL_OPS_MAX 16
#define SEAL_MEM_KIB_MAX (1024u * 1024u)

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static kg_err wrap_key(uint8_t kek[32], const uint8_t *head, const char *pass, const char *path)
{
    uint32_t ops = get32(head + 8), mem = get32(head + 12);
    if (memcmp(head, SEAL_MAGIC, 8) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s is not a KashGuard wrapped seal key", path);
    if (ops < 1 || ops > SEAL_OPS_MAX || mem < 8 || mem > SEAL_MEM_KIB_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s asks for Argon2id parameters out of range (ops %u, %u KiB)", path,
                          ops, mem);
    return kg_crypto_argon2id(kek, 32, pass, strlen(pass), head + 16, ops, (size_t)mem * 1024u);
}

/* Unwrap path's seal key with pass into *out. */
static kg_err seal_open(kg_secret **out, const char *path, const char *pass)
{
    kg_bytes b = {0};
    uint8_t kek[32], key[32];
    kg_err err = kg_mpc_node_file_read(&b, path, SEAL_FILE);
    if (!err && b.len != SEAL_FILE) err = kg_err_set(KG_ERR_BAD_INPUT, "%s must hold %d bytes", path, SEAL_FILE);
    if (!err) err = wrap_key(kek, b.data, pass, path);
    if (!err) err = kg_crypto_xchacha_decrypt(key, kek, b.data + 32, b.data, SEAL_HEAD, b.data + SEAL_HEAD, 48);
    if (err == KG_ERR_DECRYPT)
        err = kg_err_set(KG_ERR_DECRYPT, "wrong passphrase for %s (or the file is damaged); the node did not start "
                         "and nothing was changed", path);
    if (!err && !(*out = kg_secret_from(key, sizeof key))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_wipe(kek, sizeof kek);
    kg_wipe(key, sizeof key);
    kg_bytes_free(&b);
    return err;
}

/* Write key wrapped under pass to path (which must not exist). */
static kg_err seal_write(const char *path, const uint8_t key[32], const char *pass)
{
    uint8_t f[SEAL_FILE], kek[32];
    memcpy(f, SEAL_MAGIC, 8);
    put32(f + 8, SEAL_OPS);
    put32(f + 12, SEAL_MEM_KIB);
    kg_err err = kg_crypto_random(f + 16, 16 + 24);
    if (!err) err = wrap_key(kek, f, pass, path);
    if (!err) err = kg_crypto_xchacha_encrypt(f + SEAL_HEAD, kek, f + 32, f, SEAL_HEAD, key, 32);
    if (!err) err = kg_mpc_node_file_write(path, f, sizeof f, true);
    kg_wipe(kek, sizeof kek);
    return err;
}

/* Overwrite a file with zeros (fsync'd), then remove it. */
static kg_err wipe_file(const char *path, size_t len)
{
    uint8_t z[64] = {0};
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && len <= sizeof z && write(fd, z, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0) ok = close(fd) == 0 && ok;
    if (ok) ok = unlink(path) == 0;
    return ok ? KG_OK : kg_err_set(KG_ERR_IO, "cannot wipe and remove %s: %s", path, strerror(errno));
}

/* With a passphrase: open seal.key.enc, or make it (from seal.key when
 * there is one, then wiped; else a new random key). */
static kg_err load_wrapped(kg_secret **out, const char *plain, const char *enc, const char *pass)
{
    kg_bytes b = {0};
    if (access(enc, F_OK) == 0) {
        kg_err err = seal_open(out, enc, pass);
        if (err || access(plain, F_OK) != 0) return err;
        /* a conversion stopped before the wipe: finish it if both agree */
        if (!(err = kg_mpc_node_file_read(&b, plain, 64)) &&
            (b.len != 32 || !kg_ct_equal(b.data, kg_secret_cdata(*out), 32)))
            err = kg_err_set(KG_ERR_CONFLICT, "%s and %s hold different seal keys; keep the right one", plain, enc);
        if (b.data) kg_wipe(b.data, b.len);
        kg_bytes_free(&b);
        if (!err) err = wipe_file(plain, 32);
        if (err) { kg_secret_free(*out); *out = NULL; }
        return err;
    }
    uint8_t k[32];
    kg_err err = kg_mpc_node_file_read(&b, plain, 64);
    bool convert = err == KG_OK;
    if (err == KG_ERR_NOT_FOUND) err = kg_crypto_random(k, sizeof k);
    else if (!err && b.len != 32) err = kg_err_set(KG_ERR_BAD_INPUT, "%s must hold 32 bytes", plain);
    else if (!err) memcpy(k, b.data, 32);
    if (b.data) kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
    if (!err) err = seal_write(enc, k, pass);
    kg_wipe(k, sizeof k);
    if (!err) err = seal_open(out, enc, pass); /* read back before the plaintext goes */
    if (!err && convert) {
        if ((err = wipe_file(plain, 32))) { kg_secret_free(*out); *out = NULL; }
        else fprintf(stderr, "mpc-node: %s is now wrapped under the passphrase in %s (plaintext removed)\n", plain, enc);
    }
    return err;
}

kg_err kg_mpc_nd_seal_key_load(kg_secret **out, const char *data_dir, const char *passphrase)
{
    char plain[4096], enc[4096];
    kg_bytes b = {0};
    *out = NULL;
    snprintf(plain, sizeof plain, "%s/seal.key", data_dir);
    snprintf(enc, sizeof enc, "%s/seal.key.enc", data_dir);
    if (passphrase && !*passphrase) return kg_err_set(KG_ERR_BAD_INPUT, "the node passphrase is empty");
    if (passphrase) return load_wrapped(out, plain, enc, passphrase);
    if (access(enc, F_OK) == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "%s is protected by a passphrase: give --passphrase-file or set "
                          "KASHGUARD_NODE_PASSPHRASE", enc);
    kg_err err = kg_mpc_node_file_read(&b, plain, 64);
    if (err == KG_ERR_NOT_FOUND) {
        uint8_t k[32];
        err = kg_crypto_random(k, sizeof k);
        if (!err) err = kg_mpc_node_file_write(plain, k, sizeof k, true);
        kg_wipe(k, sizeof k);
        if (!err) err = kg_mpc_node_file_read(&b, plain, 64);
    }
    if (!err && b.len != 32) err = kg_err_set(KG_ERR_BAD_INPUT, "%s must hold 32 bytes", plain);
    if (!err && !(*out = kg_secret_from(b.data, 32))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (b.data) kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
    return err;
}
