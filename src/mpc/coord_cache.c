/* The coordinator's cache of preprocessed FROST commitments (RFC 9591 §5.1
 * round one run ahead of time).
 *
 * For each (node, key) it keeps the commitments the node published in
 * answer to SIGN_PREPROCESS; the node holds their nonces sealed in its
 * store (node_sign.c) and consumes each at most once. A commitment leaves
 * the cache when a signature takes it (kg_mpc_co_cache_pop, oldest first:
 * the nodes lease blocks of nonces in that order, so a block is spent
 * whole) and comes back only if it was never sent. The answer also names
 * the node's nonce-store run: a new run means the node restarted and the
 * nonces it had leased are gone, so the entry's older commitments are
 * dropped before the new ones go in. When a node fails, its entry is dropped (it
 * may have restarted with other nonces); asking it again costs one
 * PREPROCESS.
 *
 * Refill: with a batch size set (kg_mpc_coordinator_set_preprocess), a
 * signature that leaves an entry below batch/4 + 1 commitments queues it
 * for the background worker, which asks the node for `batch` more. The
 * worker is one thread per coordinator, started with the first non-zero
 * batch and joined by kg_mpc_co_cache_free. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define BATCH_MAX 100
#define ENTRY_MAX 4096 /* commitments kept per (node, key) */

typedef struct {
    uint8_t b[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
    uint8_t len;
} item;

typedef struct {
    uint16_t node;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    kg_mpc_group_id g;
    item *it;
    size_t head, n, cap; /* live items: it[head..n) */
    uint8_t run[KG_MPC_FROST_NONCE_RUN_ID_BYTES];
    bool has_run;
    bool queued, filling;
} entry;

struct kg_mpc_co_cache {
    kg_mpc_coordinator *co;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    entry *e;
    size_t n_e, cap_e;
    unsigned batch;
    bool worker_on, quit;
    pthread_t worker;
};

kg_err kg_mpc_co_cache_new(kg_mpc_co_cache **out, kg_mpc_coordinator *co)
{
    kg_mpc_co_cache *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    c->co = co;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    *out = c;
    return KG_OK;
}

void kg_mpc_co_cache_free(kg_mpc_co_cache *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->quit = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->worker_on) pthread_join(c->worker, NULL);
    for (size_t i = 0; i < c->n_e; i++) free(c->e[i].it);
    free(c->e);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The entry of (node, key_id), created when create is set; c->mu held. */
static entry *find(kg_mpc_co_cache *c, uint16_t node, const char *key_id, bool create)
{
    for (size_t i = 0; i < c->n_e; i++)
        if (c->e[i].node == node && !strcmp(c->e[i].key_id, key_id)) return &c->e[i];
    if (!create || strlen(key_id) > KG_MPC_NODE_KEY_ID_MAX) return NULL;
    if (c->n_e == c->cap_e) {
        size_t cap = c->cap_e ? 2 * c->cap_e : 16;
        entry *e = realloc(c->e, cap * sizeof *e);
        if (!e) return NULL;
        c->e = e;
        c->cap_e = cap;
    }
    entry *e = &c->e[c->n_e++];
    memset(e, 0, sizeof *e);
    e->node = node;
    snprintf(e->key_id, sizeof e->key_id, "%s", key_id);
    return e;
}

bool kg_mpc_co_cache_pop(kg_mpc_co_cache *c, uint16_t node, const char *key_id, uint8_t *out, size_t *len)
{
    bool hit = false;
    *len = 0;
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, node, key_id, false);
    if (e && e->n > e->head) { /* FIFO: the nodes lease their nonces oldest first */
        item *it = &e->it[e->head++];
        memcpy(out, it->b, it->len);
        *len = it->len;
        hit = true;
        if (e->head == e->n) e->head = e->n = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void kg_mpc_co_cache_push(kg_mpc_co_cache *c, uint16_t node, const char *key_id, const uint8_t *commit, size_t len)
{
    if (len == 0 || len > KG_MPC_FROST_COMMITMENT_MAX_BYTES) return;
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, node, key_id, true);
    if (e && e->n == e->cap && e->head) { /* compact */
        memmove(e->it, e->it + e->head, (e->n - e->head) * sizeof *e->it);
        e->n -= e->head;
        e->head = 0;
    }
    if (e && e->n == e->cap && e->cap < ENTRY_MAX) {
        size_t cap = e->cap ? 2 * e->cap : 64;
        item *it = realloc(e->it, cap * sizeof *it);
        if (it) { e->it = it; e->cap = cap; }
    }
    if (e && e->n < e->cap) {
        memcpy(e->it[e->n].b, commit, len);
        e->it[e->n++].len = (uint8_t)len;
    }
    pthread_mutex_unlock(&c->mu);
}

void kg_mpc_co_cache_drop(kg_mpc_co_cache *c, uint16_t node, const char *key_id)
{
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, node, key_id, false);
    if (e) e->head = e->n = 0;
    pthread_mutex_unlock(&c->mu);
}

void kg_mpc_co_cache_want(kg_mpc_co_cache *c, uint16_t node, const char *key_id, kg_mpc_group_id g)
{
    pthread_mutex_lock(&c->mu);
    entry *e = c->batch ? find(c, node, key_id, true) : NULL;
    if (e && !e->queued && !e->filling && e->n - e->head < c->batch / 4 + 1) {
        e->g = g;
        e->queued = true;
        pthread_cond_signal(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

/* A new run of node's nonce store: drop the entry's commitments (the old
 * run's leased nonces died with it) and remember the run. */
static void run_seen(kg_mpc_co_cache *c, uint16_t node, const char *key_id, const uint8_t *run)
{
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, node, key_id, true);
    if (e && (!e->has_run || memcmp(e->run, run, sizeof e->run))) {
        if (e->has_run) e->head = e->n = 0;
        memcpy(e->run, run, sizeof e->run);
        e->has_run = true;
    }
    pthread_mutex_unlock(&c->mu);
}

kg_err kg_mpc_co_preprocess_answer_read(uint8_t (*raw)[KG_MPC_FROST_COMMITMENT_MAX_BYTES], size_t *lens,
                                        uint8_t run[static KG_MPC_FROST_NONCE_RUN_ID_BYTES], kg_mpc_group_id g,
                                        uint16_t node, unsigned n, const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, body, len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    kg_err err = r.bad || cnt != n ? kg_err_set(KG_ERR_BAD_INPUT, "node %u answered %u commitments, not %u", node,
                                                r.bad ? 0 : cnt, n)
                                   : KG_OK;
    for (unsigned i = 0; i < n && !err; i++) {
        kg_mpc_frost_commitment cm;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &lens[i], KG_MPC_FROST_COMMITMENT_MAX_BYTES);
        err = p ? kg_mpc_frost_commitment_parse(g, &cm, p, lens[i])
                : kg_err_set(KG_ERR_BAD_INPUT, "node %u: truncated commitment list", node);
        if (!err && cm.id != node) err = kg_err_set(KG_ERR_BAD_INPUT, "a commitment of node %u names %u", node, cm.id);
        if (!err) memcpy(raw[i], p, lens[i]);
    }
    const uint8_t *id = err ? NULL : kg_mpc_node_rd_fixed(&r, KG_MPC_FROST_NONCE_RUN_ID_BYTES);
    if (!err) err = kg_mpc_node_rd_end(&r, "preprocess answer");
    if (!err) memcpy(run, id, KG_MPC_FROST_NONCE_RUN_ID_BYTES);
    if (err) {
        memset(run, 0, KG_MPC_FROST_NONCE_RUN_ID_BYTES);
        memset(raw, 0, n * sizeof *raw);
        memset(lens, 0, n * sizeof *lens);
    }
    return err;
}

kg_err kg_mpc_co_cache_fill(kg_mpc_coordinator *co, uint16_t node, const char *key_id, kg_mpc_group_id g, unsigned n)
{
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_mpc_net_conn *conn = NULL;
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)key_id, strlen(key_id));
    kg_mpc_node_wr_u16(&w, (uint16_t)n);
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err) err = kg_crypto_random(sess, sizeof sess);
    uint8_t (*raw)[KG_MPC_FROST_COMMITMENT_MAX_BYTES] = err ? NULL : calloc(n ? n : 1, sizeof *raw);
    size_t *lens = err ? NULL : calloc(n ? n : 1, sizeof *lens);
    if (!err && (!raw || !lens)) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_co_connect(&conn, co, node);
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    if (!err) err = kg_mpc_coord_call(&resp, &m, conn, KG_MPC_NODE_SIGN_PREPROCESS, g, sess, &w.b);
    kg_bytes_free(&w.b);
    uint8_t run[KG_MPC_FROST_NONCE_RUN_ID_BYTES];
    if (!err) err = kg_mpc_co_preprocess_answer_read(raw, lens, run, g, node, n, m.body, m.body_len);
    kg_mpc_co_cache *c = kg_mpc_co_cache_of(co);
    if (!err) run_seen(c, node, key_id, run);
    for (unsigned i = 0; i < n && !err; i++) kg_mpc_co_cache_push(c, node, key_id, raw[i], lens[i]); /* all or none */
    kg_bytes_free(&resp);
    free(raw);
    free(lens);
    if (conn) kg_mpc_co_release(co, conn, !err);
    return err;
}

static void *worker(void *arg)
{
    kg_mpc_co_cache *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->quit) {
        entry *e = NULL;
        for (size_t i = 0; i < c->n_e && !e; i++)
            if (c->e[i].queued) e = &c->e[i];
        if (!e) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        uint16_t node = e->node;
        char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
        memcpy(key_id, e->key_id, sizeof key_id);
        kg_mpc_group_id g = e->g;
        unsigned batch = c->batch;
        e->queued = false;
        e->filling = true;
        pthread_mutex_unlock(&c->mu);
        kg_err err = batch ? kg_mpc_co_cache_fill(c->co, node, key_id, g, batch) : KG_OK;
        (void)err; /* on failure the next signature asks again */
        pthread_mutex_lock(&c->mu);
        if ((e = find(c, node, key_id, false))) e->filling = false; /* c->e may have moved */
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

kg_err kg_mpc_coordinator_set_preprocess(kg_mpc_coordinator *co, unsigned batch)
{
    if (batch > BATCH_MAX) return kg_err_set(KG_ERR_BAD_INPUT, "preprocess at most %d commitments at a time", BATCH_MAX);
    kg_mpc_co_cache *c = kg_mpc_co_cache_of(co);
    kg_err err = KG_OK;
    pthread_mutex_lock(&c->mu);
    c->batch = batch;
    if (batch && !c->worker_on) {
        if (pthread_create(&c->worker, NULL, worker, c) == 0) c->worker_on = true;
        else err = kg_err_set(KG_ERR_INTERNAL, "cannot start the preprocessing thread");
    }
    pthread_mutex_unlock(&c->mu);
    return err;
}

typedef struct {
    kg_mpc_coordinator *co;
    uint16_t node;
    const kg_mpc_key *k;
    unsigned n;
    kg_err err;
    char why[256];
    pthread_t th;
    bool started;
} fill_job;

static void *fill_thread(void *arg)
{
    fill_job *j = arg;
    j->err = kg_mpc_co_cache_fill(j->co, j->node, j->k->key_id, j->k->g, j->n);
    if (j->err) snprintf(j->why, sizeof j->why, "%s", kg_err_detail(j->err) ? kg_err_detail(j->err) : "");
    return NULL;
}

kg_err kg_mpc_coordinator_preprocess(kg_mpc_coordinator *co, const kg_mpc_key *k, unsigned n)
{
    if (n == 0 || n > BATCH_MAX) return kg_err_set(KG_ERR_BAD_INPUT, "preprocess 1 to %d commitments", BATCH_MAX);
    if (k->taproot) return kg_err_set(KG_ERR_BAD_INPUT, "preprocessing is for RFC 9591 keys, not frost-secp256k1-tr");
    fill_job *j = calloc(k->n ? k->n : 1, sizeof *j);
    if (!j) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < k->n; i++) {
        j[i] = (fill_job){.co = co, .node = k->ids[i], .k = k, .n = n};
        if (!k->stale[i]) j[i].started = pthread_create(&j[i].th, NULL, fill_thread, &j[i]) == 0;
        if (!k->stale[i] && !j[i].started) fill_thread(&j[i]);
    }
    char down[1024] = "";
    size_t off = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (j[i].started) pthread_join(j[i].th, NULL);
        if (j[i].err && off < sizeof down - 16)
            off += (size_t)snprintf(down + off, sizeof down - off, " %s;", j[i].why);
        if (off >= sizeof down) off = sizeof down - 1;
    }
    free(j);
    return off ? kg_err_set(KG_ERR_NETWORK, "preprocessing failed on some nodes of key %s:%s", k->key_id, down) : KG_OK;
}
