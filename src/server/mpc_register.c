/* Registration of a production MPC node (POST /v1/mpc/nodes, see
 * mpc_store.c for the records): issue the node's certificate from its CSR
 * with the coordinator's CA, record its envelope public keys in the
 * registry <dir>/nodes/<id>.pub and its address in the store.
 *
 * The CSR is written to a private temporary file (<dir>/tmp, 0700) only
 * because kg_mpc_net_cert_issue reads one; the certificate is issued to
 * another and read back; both are removed. One registration at a time
 * (reg_mu), so two requests for one id cannot interleave their files. */
#include "server_int.h"

#include <kashguard/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX (64u * 1024u)

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

/* Write data to path (0600) through path.tmp, fsync and rename. */
static kg_err write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return kg_err_set(KG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    bool ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        kg_err e = kg_err_set(KG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return e;
    }
    return KG_OK;
}

static kg_err read_small(char **out, const char *path)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return kg_err_set(KG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX, f) : 0;
    fclose(f);
    if (buf == NULL || n == 0) {
        free(buf);
        return kg_err_set(KG_ERR_IO, "cannot read %s", path);
    }
    buf[n] = '\0';
    *out = buf;
    return KG_OK;
}

/* The known envelope keys of id must be env_pub (or absent). */
static kg_err check_envelope(const char *pub_path, uint16_t id, const uint8_t env_pub[static 64])
{
    uint8_t old[65];
    FILE *f = fopen(pub_path, "rb");
    if (f == NULL)
        return errno == ENOENT ? KG_OK : kg_err_set(KG_ERR_IO, "cannot read %s: %s", pub_path, strerror(errno));
    size_t n = fread(old, 1, sizeof old, f);
    fclose(f);
    if (n != 64 || memcmp(old, env_pub, 64) != 0)
        return kg_err_set(KG_ERR_CONFLICT, "MPC node %u is already registered with other envelope keys; "
                          "register the new node under another id", id);
    return KG_OK;
}

/* Issue the certificate of id from csr into *cert (PEM). */
static kg_err issue(char **cert, const char *dir, uint16_t id, const char *csr)
{
    uint8_t rnd[8];
    char hex[17], csr_path[4400], cert_path[4400], ca[4200], ca_key[4200];
    *cert = NULL;
    snprintf(csr_path, sizeof csr_path, "%s/tmp", dir);
    if (mkdir(csr_path, 0700) != 0 && errno != EEXIST)
        return kg_err_set(KG_ERR_IO, "cannot create %s: %s", csr_path, strerror(errno));
    kg_err e = kg_crypto_random(rnd, sizeof rnd);
    if (e != KG_OK)
        return e;
    kg_hex_encode(hex, rnd, sizeof rnd);
    snprintf(csr_path, sizeof csr_path, "%s/tmp/node-%u-%s.csr", dir, id, hex);
    snprintf(cert_path, sizeof cert_path, "%s/tmp/node-%u-%s.pem", dir, id, hex);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(ca_key, sizeof ca_key, "%s/ca.key", dir);
    e = write_atomic(csr_path, csr, strlen(csr));
    if (e == KG_OK)
        e = kg_mpc_net_cert_issue(cert_path, NULL, ca, ca_key, id, csr_path);
    if (e == KG_ERR_BAD_INPUT)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'csr': %s", kg_err_detail(e));
    if (e == KG_OK)
        e = read_small(cert, cert_path);
    unlink(csr_path);
    unlink(cert_path);
    return e;
}

kg_err kg_server_mpc_node_register(kg_server *srv, json_t **out, uint16_t id, const char *addr, const char *csr,
                                   const uint8_t env_pub[static 64])
{
    kg_server_mpc *m = srv->mpc;
    char pub_path[4200], ca_path[4200];
    char *cert = NULL, *ca = NULL;
    *out = NULL;
    if (m->dev && id >= 1 && id <= m->n)
        return kg_err_set(KG_ERR_CONFLICT, "MPC node %u is one of this dev server's own nodes (1..%u); "
                          "register the node under another id", id, m->n);
    snprintf(pub_path, sizeof pub_path, "%s/nodes/%u.pub", m->dir, id);
    snprintf(ca_path, sizeof ca_path, "%s/ca.pem", m->dir);
    pthread_mutex_lock(&reg_mu);
    kg_err e = check_envelope(pub_path, id, env_pub);
    if (e == KG_OK)
        e = issue(&cert, m->dir, id, csr);
    if (e == KG_OK)
        e = read_small(&ca, ca_path);
    if (e == KG_OK)
        e = write_atomic(pub_path, env_pub, 64);
    if (e == KG_OK)
        e = kg_server_mpc_node_put(srv, id, addr);
    pthread_mutex_unlock(&reg_mu);
    if (e == KG_OK) {
        *out = json_pack("{s:i, s:s, s:s, s:s}", "id", (int)id, "addr", addr, "certificate", cert, "ca", ca);
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (e == KG_OK)
        kg_log(KG_LOG_INFO, "MPC node registered", "addr", addr, NULL);
    free(cert);
    free(ca);
    return e;
}
