/* The server's MPC records in its kg_store (store.h), and node
 * registration.
 *
 *   mpc/key/<key id>   kg_mpc_key_to_json: public values only (group key,
 *                      public shares, epoch, stale holders)
 *   mpc/node/<id>      {"id","addr","registered_at"}: a registered node
 *
 * A record is written before the API answers, so an acknowledged key or
 * registration survives kill -9 (store.h: a put is durable on return).
 * Refresh, reshare and repair replace a key record with a compare of its
 * epoch in one store transaction: of two writers that started from the
 * same epoch only the first wins (the handlers also serialise them per key).
 *
 * Key records of older servers were files <dir>/keys/<id>.json; at start
 * each one is copied into the store and renamed <id>.json.migrated, so a
 * dev data dir keeps its keys.
 *
 * Registration (POST /v1/mpc/nodes, mpc_register.c): the node made its TLS key and CSR
 * (`kashguard mpc node-init`), so its secret never leaves it; the server
 * issues the certificate from the CSR with the coordinator's CA
 * (kg_mpc_net_cert_issue), records the node's envelope public keys in
 * <dir>/nodes/<id>.pub (the registry the DKG reads) and its address in the
 * store. Registering an id again with the same envelope keys renews the
 * certificate and may change the address; other envelope keys for a known
 * id are refused (the node's shares are bound to them). */
#include "server_int.h"

#include <kashguard/crypto.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>



static void key_record(char *out, size_t cap, const char *key_id)
{
    snprintf(out, cap, "mpc/key/%s", key_id);
}

kg_err kg_server_mpc_key_load(kg_server *srv, kg_mpc_key *k, const char *key_id)
{
    char rec[128];
    json_t *o = NULL;
    memset(k, 0, sizeof *k);
    key_record(rec, sizeof rec, key_id);
    kg_err e = kg_store_get_json(srv->store, NULL, &o, rec);
    if (e == KG_ERR_NOT_FOUND)
        return kg_err_set(KG_ERR_NOT_FOUND, "no MPC key %.80s", key_id);
    if (e == KG_OK)
        e = kg_mpc_key_from_json(k, o);
    json_decref(o);
    if (e != KG_OK && e != KG_ERR_NOMEM)
        e = kg_err_set(KG_ERR_STORE, "the stored record of MPC key %.80s is unreadable: %s", key_id, kg_err_detail(e));
    return e;
}

kg_err kg_server_mpc_key_create(kg_server *srv, const kg_mpc_key *k)
{
    char rec[128];
    json_t *o = NULL;
    key_record(rec, sizeof rec, k->key_id);
    kg_err e = kg_mpc_key_to_json(&o, k);
    if (e == KG_OK)
        e = kg_store_create_json(srv->store, NULL, rec, o);
    json_decref(o);
    if (e == KG_ERR_CONFLICT)
        e = kg_err_set(KG_ERR_CONFLICT, "MPC key %s already exists", k->key_id);
    return e;
}

kg_err kg_server_mpc_key_update(kg_server *srv, const kg_mpc_key *k, uint32_t old_epoch)
{
    char rec[128];
    json_t *o = NULL, *cur = NULL;
    kg_store_txn *txn = NULL;
    kg_mpc_key *stored = calloc(1, sizeof *stored);
    key_record(rec, sizeof rec, k->key_id);
    kg_err e = stored ? kg_mpc_key_to_json(&o, k) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_store_txn_begin(srv->store, &txn);
    if (e == KG_OK)
        e = kg_store_get_json(srv->store, txn, &cur, rec);
    if (e == KG_OK)
        e = kg_mpc_key_from_json(stored, cur);
    if (e == KG_OK && stored->epoch != old_epoch)
        e = kg_err_set(KG_ERR_CONFLICT, "MPC key %s changed meanwhile (epoch %u, expected %u); retry", k->key_id,
                       stored->epoch, old_epoch);
    if (e == KG_OK)
        e = kg_store_put_json(srv->store, txn, rec, o);
    if (e == KG_OK)
        e = kg_store_txn_commit(txn);
    else if (txn != NULL)
        kg_store_txn_rollback(txn);
    json_decref(o);
    json_decref(cur);
    free(stored);
    return e;
}

/* One <id>.json file of dir/keys into the store, then rename it. */
static kg_err migrate_one(kg_server *srv, const char *dir, const char *name)
{
    char id[KG_MPC_NODE_KEY_ID_MAX + 1], from[4400], to[4420];
    size_t n = strlen(name);
    if (n <= 5 || n - 5 > KG_MPC_NODE_KEY_ID_MAX || strcmp(name + n - 5, ".json") != 0 || name[0] == '.')
        return KG_OK;
    snprintf(id, sizeof id, "%.*s", (int)(n - 5), name);
    kg_mpc_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err e = kg_mpc_key_file_load(k, dir, id);
    if (e == KG_OK)
        e = kg_server_mpc_key_create(srv, k);
    if (e == KG_ERR_CONFLICT) /* migrated before, rename lost: the store wins */
        e = KG_OK;
    free(k);
    snprintf(from, sizeof from, "%s/keys/%s", dir, name);
    snprintf(to, sizeof to, "%s.migrated", from);
    if (e == KG_OK && rename(from, to) != 0)
        e = kg_err_set(KG_ERR_IO, "cannot rename %s after moving it into the store: %s", from, strerror(errno));
    if (e == KG_OK)
        kg_log(KG_LOG_INFO, "MPC key record moved into the store", "key_id", id, NULL);
    return e;
}

kg_err kg_server_mpc_migrate(kg_server *srv)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/keys", srv->mpc->dir);
    DIR *d = opendir(p);
    if (d == NULL)
        return errno == ENOENT ? KG_OK : kg_err_set(KG_ERR_IO, "cannot read %s: %s", p, strerror(errno));
    kg_err e = KG_OK;
    for (struct dirent *de; e == KG_OK && (de = readdir(d)) != NULL;)
        e = migrate_one(srv, srv->mpc->dir, de->d_name);
    closedir(d);
    return e;
}

/* ------------------------------------------------------------ node book */

kg_err kg_server_mpc_book_set(kg_server_mpc *m, uint16_t id, const char *addr)
{
    kg_err e = kg_mpc_coordinator_set_node(m->co, id, addr);
    if (e != KG_OK)
        return e;
    pthread_mutex_lock(&m->book_mu);
    size_t i = 0;
    while (i < m->n_book && m->book[i].id < id)
        i++;
    if (i == m->n_book || m->book[i].id != id) {
        if (m->n_book == KG_SERVER_MPC_BOOK_MAX) {
            pthread_mutex_unlock(&m->book_mu);
            return kg_err_set(KG_ERR_TOO_LARGE, "this server coordinates at most %d MPC nodes", KG_SERVER_MPC_BOOK_MAX);
        }
        memmove(&m->book[i + 1], &m->book[i], (m->n_book - i) * sizeof m->book[0]);
        m->n_book++;
        m->book[i].id = id;
    }
    snprintf(m->book[i].addr, sizeof m->book[i].addr, "%s", addr);
    pthread_mutex_unlock(&m->book_mu);
    return KG_OK;
}

size_t kg_server_mpc_book(kg_server_mpc *m, kg_mpc_coord_node *out, size_t cap)
{
    pthread_mutex_lock(&m->book_mu);
    size_t n = m->n_book < cap ? m->n_book : cap;
    memcpy(out, m->book, n * sizeof *out);
    pthread_mutex_unlock(&m->book_mu);
    return n;
}

kg_err kg_server_mpc_node_put(kg_server *srv, uint16_t id, const char *addr)
{
    char rec[64];
    snprintf(rec, sizeof rec, "mpc/node/%u", id);
    json_t *o = json_pack("{s:i, s:s, s:I}", "id", (int)id, "addr", addr, "registered_at", (json_int_t)time(NULL));
    kg_err e = o ? kg_store_put_json(srv->store, NULL, rec, o) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(o);
    if (e == KG_OK)
        e = kg_server_mpc_book_set(srv->mpc, id, addr);
    return e;
}

typedef struct {
    kg_server_mpc *m;
    kg_err e;
} load_ctx;

static int load_node(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    load_ctx *c = arg;
    json_t *o = NULL;
    int64_t id = 0;
    const char *addr = NULL;
    kg_err e = kg_json_parse_object(&o, (const char *)val, val_len);
    if (e == KG_OK)
        e = kg_json_get_int(&id, o, "id", true);
    if (e == KG_OK)
        e = kg_json_get_str(&addr, o, "addr", true);
    if (e == KG_OK && (id < 1 || id > 65535))
        e = kg_err_set(KG_ERR_BAD_INPUT, "bad node id");
    if (e == KG_OK)
        e = kg_server_mpc_book_set(c->m, (uint16_t)id, addr);
    if (e != KG_OK)
        c->e = kg_err_set(KG_ERR_STORE, "the MPC node record %s is unreadable: %s", key, kg_err_detail(e));
    json_decref(o);
    return c->e != KG_OK;
}

kg_err kg_server_mpc_nodes_load(kg_server *srv)
{
    load_ctx c = { srv->mpc, KG_OK };
    kg_err e = kg_store_list(srv->store, NULL, "mpc/node/", NULL, 0, load_node, &c);
    return e != KG_OK ? e : c.e;
}
