/* The MPC coordinator as a library: enrolment (private CA, node
 * certificates, the registry of node envelope keys), the coordinator object
 * (TLS identity, address book, connections to nodes) and one
 * request/response exchange with a node. The protocols themselves are in
 * coord_dkg.c (key generation), coord_sign.c (signing), coord_refresh.c
 * (refresh, reshare, repair) and coord_status.c (probes).
 *
 * Connection pool: a mutual-TLS 1.3 handshake costs about 2.5 ms on this
 * machine, more than the FROST work of a signature, so connections are
 * kept. kg_mpc_co_release puts a healthy connection on its node's idle list
 * (at most POOL_IDLE_MAX per node); kg_mpc_co_connect takes one back after a
 * health check -- a zero-timeout read that must find nothing to read: a
 * node that restarted, was killed or closed an idle connection shows up
 * as end-of-file or an error, and such a connection is closed and the next
 * one (or a fresh handshake) used, transparently. A connection is used by
 * one caller at a time, so any number of threads can sign at once.
 *
 * The coordinator holds no secret share: it connects to each node over
 * mutual TLS as party 0 (mpc/net.h), sends the requests of mpc/node.h and
 * relays the nodes' envelopes -- signed broadcasts to everyone, sealed
 * point-to-point messages to their receiver only (it reads just the header
 * to route them). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kashguard/crypto.h"
#include "coord_cggmp_int.h"
#include "node_int.h"


#define CALL_MS 30000
#define POOL_IDLE_MAX 32

/* An idle pooled connection to node id at addr. */
typedef struct pooled {
    struct pooled *next;
    uint16_t id;
    char addr[128];
    kg_mpc_net_conn *c;
} pooled;

struct kg_mpc_coordinator {
    char dir[4096];
    kg_mpc_net_tls *tls;
    pthread_mutex_t mu; /* guards the address book and the pool */
    kg_mpc_coord_node *book;
    size_t n_book, cap_book;
    pooled *idle;       /* idle connections, most recently released first */
    kg_mpc_co_cache *cache; /* preprocessed commitments (coord_cache.c) */
    struct kg_mpc_co_cg_inv *cg_inv; /* CGGMP21 presignatures (coord_cggmp_sign.c) */
};

kg_err kg_mpc_coordinator_new(kg_mpc_coordinator **out, const char *dir)
{
    char ca[4200], cert[4200], key[4200];
    *out = NULL;
    if (strlen(dir) >= 4000) return kg_err_set(KG_ERR_BAD_INPUT, "the coordinator directory path is too long");
    kg_mpc_coordinator *co = calloc(1, sizeof *co);
    if (!co) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    snprintf(co->dir, sizeof co->dir, "%s", dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/coordinator.pem", dir);
    snprintf(key, sizeof key, "%s/coordinator.key", dir);
    kg_err err = kg_mpc_net_tls_new(&co->tls, ca, cert, key);
    if (err) {
        free(co);
        return err;
    }
    pthread_mutex_init(&co->mu, NULL);
    if ((err = kg_mpc_co_cache_new(&co->cache, co))) {
        kg_mpc_coordinator_free(co);
        return err;
    }
    *out = co;
    return KG_OK;
}

void kg_mpc_coordinator_free(kg_mpc_coordinator *co)
{
    if (!co) return;
    kg_mpc_co_cache_free(co->cache);
    kg_mpc_co_cg_inv_free(co->cg_inv);
    for (pooled *p = co->idle, *nx; p; p = nx) {
        nx = p->next;
        kg_mpc_net_close(p->c);
        free(p);
    }
    kg_mpc_net_tls_free(co->tls);
    pthread_mutex_destroy(&co->mu);
    free(co->book);
    free(co);
}

kg_err kg_mpc_coordinator_set_node(kg_mpc_coordinator *co, uint16_t id, const char *addr)
{
    if (id == 0 || !addr || !*addr || strlen(addr) >= sizeof co->book[0].addr)
        return kg_err_set(KG_ERR_BAD_INPUT, "a node needs an id 1..65535 and a host:port address");
    kg_err err = KG_OK;
    pthread_mutex_lock(&co->mu);
    size_t i = 0;
    while (i < co->n_book && co->book[i].id < id) i++;
    if (i == co->n_book || co->book[i].id != id) { /* insert at i, keeping ids ascending */
        if (co->n_book == co->cap_book) {
            size_t cap = co->cap_book ? 2 * co->cap_book : 16;
            kg_mpc_coord_node *b = realloc(co->book, cap * sizeof *b);
            if (!b) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
            else { co->book = b; co->cap_book = cap; }
        }
        if (!err) {
            memmove(&co->book[i + 1], &co->book[i], (co->n_book - i) * sizeof *co->book);
            co->n_book++;
            co->book[i].id = id;
        }
    }
    if (!err) snprintf(co->book[i].addr, sizeof co->book[i].addr, "%s", addr);
    pthread_mutex_unlock(&co->mu);
    return err;
}

const char *kg_mpc_co_dir(const kg_mpc_coordinator *co)
{
    return co->dir;
}

kg_mpc_co_cache *kg_mpc_co_cache_of(kg_mpc_coordinator *co)
{
    return co->cache;
}

struct kg_mpc_co_cg_inv **kg_mpc_co_cg_inv_slot(kg_mpc_coordinator *co)
{
    return &co->cg_inv;
}

/* An idle connection is healthy when a zero-timeout read finds nothing:
 * the read times out and leaves it usable. End-of-file, a TLS alert or a
 * stray frame mean it must go. */
static bool idle_healthy(kg_mpc_net_conn *c)
{
    kg_bytes b = {0};
    bool idle = false;
    kg_err err = kg_mpc_net_recv_poll(&b, c, 0, &idle);
    if (!err) {
        kg_bytes_free(&b);
        return false;
    }
    return idle;
}

/* Take an idle connection to id at addr off the pool (NULL if none). */
static kg_mpc_net_conn *pool_take(kg_mpc_coordinator *co, uint16_t id, const char *addr)
{
    pthread_mutex_lock(&co->mu);
    pooled **pp = &co->idle, *hit = NULL;
    while (*pp && !hit) {
        if ((*pp)->id == id && !strcmp((*pp)->addr, addr)) {
            hit = *pp;
            *pp = hit->next;
        } else {
            pp = &(*pp)->next;
        }
    }
    pthread_mutex_unlock(&co->mu);
    if (!hit) return NULL;
    kg_mpc_net_conn *c = hit->c;
    free(hit);
    return c;
}

kg_err kg_mpc_co_connect(kg_mpc_net_conn **out, kg_mpc_coordinator *co, uint16_t id)
{
    char addr[128] = "";
    *out = NULL;
    pthread_mutex_lock(&co->mu);
    for (size_t i = 0; i < co->n_book; i++)
        if (co->book[i].id == id) snprintf(addr, sizeof addr, "%s", co->book[i].addr);
    pthread_mutex_unlock(&co->mu);
    if (!addr[0]) return kg_err_set(KG_ERR_NOT_FOUND, "node %u has no address; add it first", id);
    for (kg_mpc_net_conn *c; (c = pool_take(co, id, addr));) {
        if (idle_healthy(c)) {
            *out = c;
            return KG_OK;
        }
        kg_mpc_net_close(c); /* the node restarted or dropped it: try the next */
    }
    kg_err err = kg_mpc_net_connect(out, co->tls, addr, id, KG_MPC_COORD_CONNECT_MS);
    if (err) {
        char d[512]; /* copied: kg_err_set writes the buffer kg_err_detail returns */
        snprintf(d, sizeof d, "%s", kg_err_detail(err) ? kg_err_detail(err) : kg_err_str(err));
        err = kg_err_set(err, "node %u at %s: %s", id, addr, d);
    }
    return err;
}

kg_err kg_mpc_coordinator_book_save(kg_mpc_coordinator *co)
{
    kg_mpc_coord_node *b = calloc(KG_MPC_NET_PARTY_MAX, sizeof *b);
    if (!b) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    size_t n = kg_mpc_co_nodes(co, b, KG_MPC_NET_PARTY_MAX);
    char p[4200];
    snprintf(p, sizeof p, "%s/nodes", co->dir);
    kg_err err = kg_mpc_node_mkdir(p);
    for (size_t i = 0; i < n && !err; i++) {
        snprintf(p, sizeof p, "%s/nodes/%u.addr", co->dir, b[i].id);
        err = kg_mpc_node_file_write(p, (const uint8_t *)b[i].addr, strlen(b[i].addr), false);
    }
    free(b);
    return err;
}

kg_err kg_mpc_coordinator_book_load(kg_mpc_coordinator *co)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/nodes", co->dir);
    DIR *d = opendir(p);
    if (!d) return errno == ENOENT ? KG_OK : kg_err_set(KG_ERR_IO, "cannot read %s: %s", p, strerror(errno));
    kg_err err = KG_OK;
    for (struct dirent *e; !err && (e = readdir(d));) {
        unsigned id = 0;
        char rest[8] = "";
        if (sscanf(e->d_name, "%5u.add%1s", &id, rest) != 2 || strcmp(rest, "r") || id == 0 || id > 65535) continue;
        kg_bytes b = {0};
        snprintf(p, sizeof p, "%s/nodes/%u.addr", co->dir, id);
        err = kg_mpc_node_file_read(&b, p, 127);
        char addr[128] = "";
        if (!err) {
            memcpy(addr, b.data, b.len);
            addr[strcspn(addr, "\r\n")] = 0;
            err = kg_mpc_coordinator_set_node(co, (uint16_t)id, addr);
        }
        kg_bytes_free(&b);
    }
    closedir(d);
    return err;
}

size_t kg_mpc_co_nodes(kg_mpc_coordinator *co, kg_mpc_coord_node *out, size_t cap)
{
    pthread_mutex_lock(&co->mu);
    size_t n = co->n_book < cap ? co->n_book : cap;
    if (n) memcpy(out, co->book, n * sizeof *out);
    pthread_mutex_unlock(&co->mu);
    return n;
}

kg_err kg_mpc_co_registry_get(kg_mpc_net_pubkeys *out, const kg_mpc_coordinator *co, uint16_t id)
{
    char p[4200];
    kg_bytes b = {0};
    snprintf(p, sizeof p, "%s/nodes/%u.pub", co->dir, id);
    kg_err err = kg_mpc_node_file_read(&b, p, 64);
    if (err == KG_ERR_NOT_FOUND) return kg_err_set(err, "node %u is not enrolled (no %s); run `kashguard mpc node-cert`", id, p);
    if (!err && b.len != 64) err = kg_err_set(KG_ERR_BAD_INPUT, "%s must hold 64 bytes", p);
    if (!err) {
        memcpy(out->box, b.data, 32);
        memcpy(out->sign, b.data + 32, 32);
    }
    kg_bytes_free(&b);
    return err;
}

void kg_mpc_co_release(kg_mpc_coordinator *co, kg_mpc_net_conn *c, bool healthy)
{
    if (!c) return;
    uint32_t id = kg_mpc_net_conn_peer(c);
    pooled *p = healthy && id >= 1 && id <= 65535 ? calloc(1, sizeof *p) : NULL;
    if (!p) {
        kg_mpc_net_close(c);
        return;
    }
    p->id = (uint16_t)id;
    p->c = c;
    size_t same = 0;
    pthread_mutex_lock(&co->mu);
    for (size_t i = 0; i < co->n_book; i++)
        if (co->book[i].id == id) snprintf(p->addr, sizeof p->addr, "%s", co->book[i].addr);
    for (pooled *q = co->idle; q; q = q->next) same += q->id == id;
    if (p->addr[0] && same < POOL_IDLE_MAX) {
        p->next = co->idle;
        co->idle = p;
        p = NULL;
    }
    pthread_mutex_unlock(&co->mu);
    if (p) {
        kg_mpc_net_close(c);
        free(p);
    }
}

/* One request/response exchange; *resp is the raw frame, *m points into it. */
kg_err kg_mpc_co_send(kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g, const uint8_t *session,
                      const kg_bytes *body, int timeout_ms)
{
    kg_bytes req = {0};
    kg_mpc_node_msg q = {.type = type, .scheme = (uint8_t)g, .body = body->data, .body_len = body->len};
    memcpy(q.session, session, KG_MPC_NET_SESSION_ID_BYTES);
    kg_err err = kg_mpc_node_msg_encode(&req, &q);
    if (!err) err = kg_mpc_net_send(c, req.data, req.len, timeout_ms);
    kg_bytes_free(&req);
    return err ? kg_err_set(err, "node %u: %s", kg_mpc_net_conn_peer(c), kg_err_detail(err)) : KG_OK;
}

kg_err kg_mpc_co_recv(kg_bytes *resp, kg_mpc_node_msg *m, kg_mpc_net_conn *c, uint8_t type, const uint8_t *session,
                      int timeout_ms)
{
    uint32_t peer = kg_mpc_net_conn_peer(c);
    *resp = (kg_bytes){0};
    kg_err err = kg_mpc_net_recv(resp, c, timeout_ms);
    if (err) return kg_err_set(err, "node %u: %s", peer, kg_err_detail(err));
    err = kg_mpc_node_msg_decode(m, resp->data, resp->len);
    if (!err && m->type == KG_MPC_NODE_ERROR) err = kg_mpc_node_error_decode(m, peer);
    else if (!err && (m->type != (type | KG_MPC_NODE_RESPONSE) || memcmp(m->session, session, KG_MPC_NET_SESSION_ID_BYTES)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "node %u answered another request", peer);
    if (err) kg_bytes_free(resp);
    return err;
}

kg_err kg_mpc_coord_call(kg_bytes *resp, kg_mpc_node_msg *m, kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g,
                         const uint8_t *session, const kg_bytes *body)
{
    *resp = (kg_bytes){0};
    kg_err err = kg_mpc_co_send(c, type, g, session, body, CALL_MS);
    return err ? err : kg_mpc_co_recv(resp, m, c, type, session, CALL_MS);
}

void kg_mpc_co_fail(kg_mpc_co_failures *f, size_t idx, kg_err err)
{
    const char *d = kg_err_detail(err);
    f->failed[idx] = true;
    if (f->off < sizeof f->why - 16)
        f->off += (size_t)snprintf(f->why + f->off, sizeof f->why - f->off, " %s;", d ? d : kg_err_str(err));
    if (f->off > sizeof f->why) f->off = sizeof f->why;
}

kg_err kg_mpc_node_mkdir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST) return KG_OK;
    return kg_err_set(KG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
}

kg_err kg_mpc_coord_ca_init(const char *dir)
{
    char a[4096], b[4096], c[4096], d[4096];
    kg_err err = kg_mpc_node_mkdir(dir);
    snprintf(a, sizeof a, "%s/nodes", dir);
    if (!err) err = kg_mpc_node_mkdir(a);
    snprintf(a, sizeof a, "%s/keys", dir);
    if (!err) err = kg_mpc_node_mkdir(a);
    snprintf(a, sizeof a, "%s/ca.pem", dir);
    snprintf(b, sizeof b, "%s/ca.key", dir);
    snprintf(c, sizeof c, "%s/coordinator.pem", dir);
    snprintf(d, sizeof d, "%s/coordinator.key", dir);
    if (!err) err = kg_mpc_net_ca_create(a, b);
    if (!err) err = kg_mpc_net_cert_issue(c, d, a, b, KG_MPC_NET_COORDINATOR, NULL);
    return err;
}

kg_err kg_mpc_coord_node_enroll(const char *dir, uint16_t id, const char *out_dir)
{
    char a[4096], b[4096], c[4096], d[4096];
    if (id == 0) return kg_err_set(KG_ERR_BAD_INPUT, "a node id is 1..65535");
    kg_err err = kg_mpc_node_mkdir(out_dir);
    snprintf(a, sizeof a, "%s/ca.pem", dir);
    snprintf(b, sizeof b, "%s/ca.key", dir);
    snprintf(c, sizeof c, "%s/node.pem", out_dir);
    snprintf(d, sizeof d, "%s/node.key", out_dir);
    if (!err) err = kg_mpc_net_cert_issue(c, d, a, b, id, NULL);
    kg_secret *sec = NULL;
    kg_mpc_net_pubkeys pub;
    if (!err) err = kg_mpc_net_keys_generate(&sec, &pub);
    snprintf(a, sizeof a, "%s/envelope.key", out_dir);
    if (!err) err = kg_mpc_node_file_write(a, kg_secret_cdata(sec), kg_secret_len(sec), true);
    kg_secret_free(sec);
    uint8_t pb[64];
    memcpy(pb, pub.box, 32);
    memcpy(pb + 32, pub.sign, 32);
    snprintf(a, sizeof a, "%s/envelope.pub", out_dir);
    if (!err) err = kg_mpc_node_file_write(a, pb, sizeof pb, false);
    snprintf(a, sizeof a, "%s/nodes", dir);
    if (!err) err = kg_mpc_node_mkdir(a);
    snprintf(a, sizeof a, "%s/nodes/%u.pub", dir, id);
    if (!err) err = kg_mpc_node_file_write(a, pb, sizeof pb, false);
    return err;
}


