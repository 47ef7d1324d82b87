/* kg_mpc_coordinator_status: probe every node of the address book with a
 * PING (mpc/node.h) and report, per node, whether it is up, the round trip
 * of the PING exchange (TLS handshake excluded) and, when it is down, why
 * (the connect or TLS error, an ERROR answer, a wrong node id).
 *
 * The probes run in parallel, one thread per node (at most PROBE_THREADS
 * at a time), so one unreachable host costs one connect timeout
 * (KG_MPC_COORD_CONNECT_MS), not one per node. The PING answer is parsed as
 * untrusted bytes (node id, shares held, open sessions; exact length). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define PROBE_THREADS 32

typedef struct {
    kg_mpc_coordinator *co;
    kg_mpc_node_status *st;
} probe_job;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Parse a PING answer: id, shares, sessions (u16 each), nothing else. */
kg_err kg_mpc_co_ping_answer_read(uint16_t want, int *shares, const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    *shares = 0;
    kg_mpc_node_rd_init(&r, body, len);
    uint16_t id = kg_mpc_node_rd_u16(&r);
    uint16_t n = kg_mpc_node_rd_u16(&r);
    (void)kg_mpc_node_rd_u16(&r);
    kg_err err = kg_mpc_node_rd_end(&r, "PING answer");
    if (!err && id != want) err = kg_err_set(KG_ERR_BAD_INPUT, "node %u answered as node %u", want, id);
    if (!err) *shares = n;
    return err;
}

/* One probe: fills st->up, rtt_ms, shares or error. */
static void probe(kg_mpc_coordinator *co, kg_mpc_node_status *st)
{
    uint8_t session[KG_MPC_NET_SESSION_ID_BYTES];
    kg_mpc_net_conn *c = NULL;
    kg_bytes resp = {0}, body = {0};
    kg_mpc_node_msg m;
    st->up = false;
    st->rtt_ms = 0;
    st->shares = -1;
    kg_err err = kg_crypto_random(session, sizeof session);
    if (!err) err = kg_mpc_co_connect(&c, co, st->id);
    double t0 = now_ms();
    if (!err) err = kg_mpc_coord_call(&resp, &m, c, KG_MPC_NODE_PING, KG_MPC_GROUP_ED25519, session, &body);
    double t1 = now_ms();
    if (!err) err = kg_mpc_co_ping_answer_read(st->id, &st->shares, m.body, m.body_len);
    kg_bytes_free(&resp);
    kg_mpc_co_release(co, c, !err);
    if (err) {
        st->shares = -1;
        snprintf(st->error, sizeof st->error, "%s", kg_err_detail(err));
        return;
    }
    st->up = true;
    st->rtt_ms = t1 - t0;
    st->error[0] = 0;
}

static void *probe_main(void *arg)
{
    probe_job *j = arg;
    probe(j->co, j->st);
    return NULL;
}

kg_err kg_mpc_coordinator_status(kg_mpc_coordinator *co, kg_mpc_node_status *out, size_t *n, size_t cap)
{
    *n = 0;
    if (!co || (!out && cap)) return kg_err_set(KG_ERR_BAD_INPUT, "status needs a coordinator and an output array");
    kg_mpc_coord_node *book = cap ? calloc(cap, sizeof *book) : NULL;
    if (cap && !book) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    size_t count = cap ? kg_mpc_co_nodes(co, book, cap) : 0;
    for (size_t i = 0; i < count; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].id = book[i].id;
        snprintf(out[i].addr, sizeof out[i].addr, "%s", book[i].addr);
    }
    free(book);
    probe_job jobs[PROBE_THREADS];
    pthread_t th[PROBE_THREADS];
    for (size_t base = 0; base < count; base += PROBE_THREADS) {
        size_t k = count - base < PROBE_THREADS ? count - base : PROBE_THREADS;
        bool started[PROBE_THREADS] = {0};
        for (size_t i = 0; i < k; i++) {
            jobs[i] = (probe_job){.co = co, .st = &out[base + i]};
            started[i] = pthread_create(&th[i], NULL, probe_main, &jobs[i]) == 0;
            if (!started[i]) probe(co, &out[base + i]); /* no thread: probe inline */
        }
        for (size_t i = 0; i < k; i++)
            if (started[i]) pthread_join(th[i], NULL);
    }
    *n = count;
    return KG_OK;
}
