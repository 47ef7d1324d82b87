/* Small helpers of the mpc node and coordinator: 0600 files written
 * atomically, key id syntax, and the fixed layout a node uses to keep its
 * FROST key share (sealed by node.c before it reaches the store). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "node_int.h"

kg_err kg_mpc_node_file_read(kg_bytes *out, const char *path, size_t max)
{
    *out = (kg_bytes){0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kg_err_set(errno == ENOENT ? KG_ERR_NOT_FOUND : KG_ERR_IO, "cannot open %s: %s",
                          path, strerror(errno));
    uint8_t *buf = malloc(max + 1);
    size_t len = 0;
    kg_err err = buf ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    while (!err) {
        ssize_t r = read(fd, buf + len, max + 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) err = kg_err_set(KG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        else if (r == 0) break;
        else if ((len += (size_t)r) > max) err = kg_err_set(KG_ERR_TOO_LARGE, "%s is larger than %zu bytes", path, max);
    }
    close(fd);
    if (err) {
        if (buf) { kg_wipe(buf, max + 1); free(buf); }
        return err;
    }
    out->data = buf;
    out->len = len;
    return KG_OK;
}

kg_err kg_mpc_node_file_write(const char *path, const uint8_t *data, size_t len, bool excl)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return kg_err_set(KG_ERR_BAD_INPUT, "path too long: %s", path);
    if (excl && access(path, F_OK) == 0) return kg_err_set(KG_ERR_CONFLICT, "%s already exists", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return kg_err_set(KG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    bool ok = off == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && excl) {
        ok = link(tmp, path) == 0;
        int e = errno;
        unlink(tmp);
        if (!ok) return kg_err_set(e == EEXIST ? KG_ERR_CONFLICT : KG_ERR_IO, "cannot write %s: %s", path, strerror(e));
        return KG_OK;
    }
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
        return kg_err_set(KG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return KG_OK;
}

kg_err kg_mpc_node_key_id_check(const uint8_t *id, size_t len)
{
    if (!id || len == 0 || len > KG_MPC_NODE_KEY_ID_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "a key id has 1 to %d characters", KG_MPC_NODE_KEY_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok || (i == 0 && c == '.'))
            return kg_err_set(KG_ERR_BAD_INPUT, "a key id may only hold letters, digits, '-', '_' and '.'");
    }
    return KG_OK;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

void kg_mpc_node_share_pack(uint8_t out[static KG_MPC_NODE_SHARE_BYTES], const kg_mpc_frost_key_share *s)
{
    out[0] = (uint8_t)s->group;
    put16(out + 1, s->id);
    put16(out + 3, s->min_signers);
    put16(out + 5, s->max_signers);
    memcpy(out + 7, s->secret.b, KG_MPC_SCALAR_BYTES);
    memcpy(out + 7 + KG_MPC_SCALAR_BYTES, s->public_share.b, KG_MPC_POINT_MAX_BYTES);
    memcpy(out + 7 + KG_MPC_SCALAR_BYTES + KG_MPC_POINT_MAX_BYTES, s->group_public.b, KG_MPC_POINT_MAX_BYTES);
}

kg_err kg_mpc_node_share_unpack(kg_mpc_frost_key_share *s, const uint8_t in[static KG_MPC_NODE_SHARE_BYTES])
{
    memset(s, 0, sizeof *s);
    kg_mpc_group_id g = (kg_mpc_group_id)in[0];
    if (!kg_mpc_group_valid(g)) return kg_err_set(KG_ERR_BAD_INPUT, "stored key share: unknown group");
    s->group = g;
    s->id = get16(in + 1);
    s->min_signers = get16(in + 3);
    s->max_signers = get16(in + 5);
    memcpy(s->secret.b, in + 7, KG_MPC_SCALAR_BYTES);
    memcpy(s->public_share.b, in + 7 + KG_MPC_SCALAR_BYTES, KG_MPC_POINT_MAX_BYTES);
    memcpy(s->group_public.b, in + 7 + KG_MPC_SCALAR_BYTES + KG_MPC_POINT_MAX_BYTES, KG_MPC_POINT_MAX_BYTES);
    if (s->id == 0 || s->min_signers < 2 || s->max_signers < s->min_signers) {
        kg_wipe(s, sizeof *s);
        return kg_err_set(KG_ERR_BAD_INPUT, "stored key share: bad parameters");
    }
    return KG_OK;
}
