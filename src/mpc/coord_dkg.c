/* Distributed key generation across node processes (the Pedersen DKG of
 * frost.h, run by the nodes; mpc/node.h for the messages). The coordinator
 * sends each node the registry of envelope keys, collects the signed
 * round-1 broadcasts and relays them to everyone, routes the sealed round-2
 * shares to their receivers (reading only the header), asks every node to
 * finish, and then runs the echo check: it hands every node the n signed
 * confirmations of the round-1 transcript (node_dkg.c), and each node
 * activates its pending share only if they all agree.
 *
 * The coordinator checks what it can itself: every round-1 broadcast's
 * signature and proof of knowledge, and that every node's reported group
 * key and public shares follow from the round-1 commitments (PK = sum of
 * the C_j0, PK_i = sum_j f_j(i)*G evaluated on the summed commitments). Every
 * step is sent to every node even after one fails, so each honest node's
 * verdict is collected; on any failure every node is told DKG_ABORT (its
 * pending or just-activated share is deleted), no record is returned, and
 * the error names the party the nodes and the coordinator blame ("DKG
 * aborted: node 2 sent an invalid proof of knowledge (reported by nodes 1,
 * 3; confirmed by the coordinator)"). A blame about a sealed share cannot
 * be checked by the coordinator: it reports who raised it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MAXN KG_MPC_FROST_MAX_PARTICIPANTS

typedef struct {
    kg_mpc_net_conn *const *conn; /* conn[i]: node i+1 */
    const uint8_t *sess;
    const char *key_id;
    kg_mpc_group_id g;
    unsigned t, n;
    kg_bytes r1[MAXN];          /* r1[i]: node i+1's broadcast */
    kg_mpc_node_wr inbox[MAXN]; /* round-2 envelopes for node i+1 */
    unsigned cnt[MAXN];
    kg_bytes fin[MAXN];         /* finish results: group key, n public shares */
    kg_bytes conf[MAXN];        /* signed confirmations */
    bool have_expect;
    kg_mpc_point sum[MAXN];     /* sum of every node's round-1 commitments */
    /* Verdicts of the current run: [0] the coordinator's, [i] node i's. */
    bool failed[MAXN + 1];
    kg_err code[MAXN + 1];
    uint16_t culprit[MAXN + 1];
    char why[MAXN + 1][240];
} dkg_state;

/* Record reporter's (0 = the coordinator) first error. A detail of the form
 * "node <r>: party <c> <reason>" (a node's blame, node.h) or, from the
 * coordinator, "party <c> <reason>" names culprit c. */
static void verdict(dkg_state *st, unsigned reporter, kg_err err)
{
    if (st->failed[reporter]) return;
    const char *d = kg_err_detail(err);
    unsigned r = 0, c = 0;
    int off = -1;
    st->failed[reporter] = true;
    st->code[reporter] = err;
    if (reporter) {
        if (sscanf(d, "node %u: party %u %n", &r, &c, &off) < 2 || r != reporter) off = -1;
    } else if (sscanf(d, "party %u %n", &c, &off) < 1) {
        off = -1;
    }
    if (off > 0 && c >= 1 && c <= st->n && c != reporter) { /* a node's self-blame counts as none */
        st->culprit[reporter] = (uint16_t)c;
        snprintf(st->why[reporter], sizeof st->why[reporter], "%s", d + off);
    } else {
        snprintf(st->why[reporter], sizeof st->why[reporter], "%s", d);
    }
}

static bool any_failed(const dkg_state *st)
{
    for (unsigned i = 0; i <= st->n; i++)
        if (st->failed[i]) return true;
    return false;
}

/* The final error: the party blamed by the coordinator, else by the most
 * nodes, with who reported it; without a blame the first error. */
static kg_err report(const dkg_state *st)
{
    unsigned votes[MAXN + 1] = {0}, best = st->culprit[0];
    for (unsigned i = 1; i <= st->n; i++)
        if (st->culprit[i]) votes[st->culprit[i]]++;
    for (unsigned c = 1; !st->culprit[0] && c <= st->n; c++)
        if (votes[c] > votes[best]) best = c;
    if (!best) {
        for (unsigned i = 1; i <= st->n; i++)
            if (st->failed[i]) return kg_err_set(st->code[i], "DKG aborted: %s; key %s was not created", st->why[i], st->key_id);
        return kg_err_set(st->code[0], "DKG aborted: %s; key %s was not created", st->why[0], st->key_id);
    }
    char who[700] = "";
    size_t off = 0;
    unsigned first = st->culprit[0] == best ? 0 : MAXN + 1, k = 0;
    for (unsigned i = 1; i <= st->n; i++) {
        if (st->culprit[i] != best) continue;
        if (first > MAXN) first = i;
        if (off < sizeof who - 32)
            off += (size_t)snprintf(who + off, sizeof who - off, "%s%u", k++ ? ", " : (votes[best] > 1 ? "reported by nodes " : "reported by node "), i);
    }
    if (st->culprit[0] == best && off < sizeof who - 40)
        snprintf(who + off, sizeof who - off, "%s", k ? "; confirmed by the coordinator" : "found by the coordinator");
    return kg_err_set(st->code[first], "DKG aborted: node %u %s (%s); key %s was not created", best,
                      st->why[first], who, st->key_id);
}

static kg_err call(kg_bytes *resp, kg_mpc_node_msg *m, dkg_state *st, unsigned i, uint8_t type, const kg_bytes *body)
{
    kg_err err = kg_mpc_coord_call(resp, m, st->conn[i], type, st->g, st->sess, body);
    if (err) verdict(st, i + 1, err);
    return err;
}

static kg_err dkg_round1_all(dkg_state *st, const char *key_id, const kg_mpc_net_pubkeys *reg)
{
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, (uint16_t)st->t);
    kg_mpc_node_wr_u16(&w, (uint16_t)st->n);
    kg_mpc_node_wr_blob(&w, (const uint8_t *)key_id, strlen(key_id));
    for (unsigned i = 1; i <= st->n; i++) {
        kg_mpc_node_wr_u16(&w, (uint16_t)i);
        kg_mpc_node_wr_fixed(&w, reg[i - 1].box, 32);
        kg_mpc_node_wr_fixed(&w, reg[i - 1].sign, 32);
    }
    kg_err err = kg_mpc_node_wr_done(&w);
    if (err) return err;
    for (unsigned i = 0; i < st->n; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        kg_mpc_node_rd r;
        size_t len;
        if (call(&resp, &m, st, i, KG_MPC_NODE_DKG_ROUND1, &w.b)) continue;
        kg_mpc_node_rd_init(&r, m.body, m.body_len);
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        if (kg_mpc_node_rd_end(&r, "DKG round 1 answer") || kg_bytes_set(&st->r1[i], p, len))
            verdict(st, 0, kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed DKG round-1 answer", i + 1));
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return KG_OK;
}

/* The coordinator's own check of node i+1's round-1 broadcast (it came
 * over node i+1's authenticated connection, so a bad one is its own);
 * adds its commitments to st->sum. */
static void check_round1(dkg_state *st, unsigned i, const kg_mpc_net_pubkeys *reg, kg_mpc_frost_dkg_round1 *msg)
{
    kg_mpc_net_envelope e;
    const uint8_t *pl = NULL;
    size_t pl_len = 0;
    unsigned id = i + 1;
    kg_err err = kg_mpc_net_envelope_decode(&e, st->r1[i].data, st->r1[i].len);
    if (!err && (e.h.sender != id || e.h.type != KG_MPC_NODE_DKG_ROUND1 || e.h.round != 1 || e.h.receiver != 0 ||
                 memcmp(e.h.session, st->sess, KG_MPC_NET_SESSION_ID_BYTES)))
        err = KG_ERR_BAD_INPUT;
    if (!err) err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, reg[i].sign);
    if (!err) err = kg_mpc_frost_dkg_round1_parse(st->g, msg, pl, pl_len);
    if (err || msg->from != id) {
        verdict(st, 0, kg_err_set(KG_ERR_VERIFY, "party %u sent a malformed or badly signed DKG round-1 broadcast", id));
        st->have_expect = false;
        return;
    }
    if ((err = kg_mpc_frost_dkg_round1_check(st->g, st->t, msg))) {
        char d[240];
        snprintf(d, sizeof d, "%s", kg_err_detail(err));
        const char *rest = strstr(d, " sent ");
        verdict(st, 0, kg_err_set(err, "party %u %s", id, rest ? rest + 1 : "sent an invalid DKG round-1 broadcast"));
        st->have_expect = false;
        return;
    }
    for (unsigned j = 0; j < st->t; j++)
        if (i == 0) st->sum[j] = msg->commitment[j];
        else kg_mpc_point_add(st->g, &st->sum[j], &st->sum[j], &msg->commitment[j]);
}

static kg_err dkg_round2_all(dkg_state *st)
{
    unsigned n = st->n;
    for (unsigned i = 0; i < n; i++) {
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_u16(&w, (uint16_t)(n - 1));
        for (unsigned j = 0; j < n; j++)
            if (j != i) kg_mpc_node_wr_blob(&w, st->r1[j].data, st->r1[j].len);
        kg_err err = kg_mpc_node_wr_done(&w);
        if (err) return err;
        kg_bytes resp;
        kg_mpc_node_msg m;
        err = call(&resp, &m, st, i, KG_MPC_NODE_DKG_ROUND2, &w.b);
        kg_bytes_free(&w.b);
        if (err) continue;
        kg_mpc_node_rd r;
        kg_mpc_node_rd_init(&r, m.body, m.body_len);
        unsigned cnt = kg_mpc_node_rd_u16(&r);
        if (cnt != n - 1) err = KG_ERR_BAD_INPUT;
        for (unsigned k = 0; k < cnt && !err; k++) {
            size_t len;
            kg_mpc_net_envelope e;
            const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
            err = p ? kg_mpc_net_envelope_decode(&e, p, len) : KG_ERR_BAD_INPUT;
            if (!err && (e.h.receiver == 0 || e.h.receiver > n || e.h.sender != i + 1)) err = KG_ERR_BAD_INPUT;
            if (!err) {
                kg_mpc_node_wr_blob(&st->inbox[e.h.receiver - 1], p, len);
                st->cnt[e.h.receiver - 1]++;
            }
        }
        if (!err) err = kg_mpc_node_rd_end(&r, "DKG round 2 answer");
        if (err) verdict(st, 0, kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed DKG round-2 answer", i + 1));
        kg_bytes_free(&resp);
    }
    return KG_OK;
}

kg_err kg_mpc_co_dkg_finish_read(kg_bytes *fin, kg_bytes *conf, size_t want, const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    size_t cl = 0;
    kg_mpc_node_rd_init(&r, body, len);
    const uint8_t *res = kg_mpc_node_rd_fixed(&r, want);
    const uint8_t *c = kg_mpc_node_rd_blob(&r, &cl, KG_MPC_NET_FRAME_MAX_BYTES);
    kg_err err = kg_mpc_node_rd_end(&r, "DKG finish answer");
    if (!err && !res) err = kg_err_set(KG_ERR_BAD_INPUT, "DKG finish answer: no results");
    if (!err && (kg_bytes_set(fin, res, want) || kg_bytes_set(conf, c, cl)))
        err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (err) {
        kg_bytes_free(fin);
        kg_bytes_free(conf);
    }
    return err;
}

static kg_err dkg_finish_all(dkg_state *st)
{
    size_t pl = kg_mpc_group_point_len(st->g), want = (st->n + 1) * pl;
    for (unsigned i = 0; i < st->n; i++) {
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_u16(&w, (uint16_t)st->cnt[i]);
        kg_mpc_node_wr_fixed(&w, st->inbox[i].b.data, st->inbox[i].b.len);
        if (st->inbox[i].bad) w.bad = true;
        kg_err err = kg_mpc_node_wr_done(&w);
        if (err) return err;
        kg_bytes resp;
        kg_mpc_node_msg m;
        err = call(&resp, &m, st, i, KG_MPC_NODE_DKG_FINISH, &w.b);
        kg_bytes_free(&w.b);
        if (err) continue;
        if (kg_mpc_co_dkg_finish_read(&st->fin[i], &st->conf[i], want, m.body, m.body_len))
            verdict(st, 0, kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed DKG finish answer", i + 1));
        kg_bytes_free(&resp);
    }
    return KG_OK;
}

/* Every node's group key and public shares against the ones the round-1
 * commitments give: a node that reports others is named. */
static void check_results(dkg_state *st)
{
    size_t pl = kg_mpc_group_point_len(st->g);
    uint8_t *exp = malloc((st->n + 1) * pl);
    kg_mpc_point p;
    if (!exp) { verdict(st, 0, kg_err_set(KG_ERR_NOMEM, "out of memory")); return; }
    kg_err err = kg_mpc_point_serialize(st->g, exp, &st->sum[0]);
    for (unsigned i = 1; i <= st->n && !err; i++) {
        kg_mpc_frost_vss_eval(st->g, &p, st->sum, st->t, (uint16_t)i);
        uint8_t b[KG_MPC_POINT_MAX_BYTES];
        err = kg_mpc_point_serialize(st->g, b, &p);
        memcpy(exp + i * pl, b, pl);
    }
    for (unsigned i = 0; i < st->n && !err; i++)
        if (memcmp(st->fin[i].data, exp, (st->n + 1) * pl))
            verdict(st, 0, kg_err_set(KG_ERR_VERIFY, "party %u reported a group key or public shares that do not "
                                      "follow from the round-1 commitments", i + 1));
    if (err) verdict(st, 0, err);
    free(exp);
}

static kg_err dkg_confirm_all(dkg_state *st)
{
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, (uint16_t)st->n);
    for (unsigned i = 0; i < st->n; i++) kg_mpc_node_wr_blob(&w, st->conf[i].data, st->conf[i].len);
    kg_err err = kg_mpc_node_wr_done(&w);
    for (unsigned i = 0; i < st->n && !err; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        if (call(&resp, &m, st, i, KG_MPC_NODE_DKG_CONFIRM, &w.b)) continue;
        if (m.body_len) verdict(st, 0, kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed DKG confirm answer", i + 1));
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return err;
}

/* Tell every node to forget the session (best effort: a node that is down
 * has nothing but memory state, which is gone with it). */
static void dkg_abort_all(dkg_state *st)
{
    kg_bytes none = {0};
    for (unsigned i = 0; i < st->n; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        if (!st->conn[i]) continue;
        if (kg_mpc_coord_call(&resp, &m, st->conn[i], KG_MPC_NODE_DKG_ABORT, st->g, st->sess, &none) == KG_OK)
            kg_bytes_free(&resp);
    }
}

/* The protocol steps; a step that fails anywhere ends the run. */
static kg_err dkg_run(dkg_state *st, const char *key_id, const kg_mpc_net_pubkeys *reg)
{
    kg_err err = dkg_round1_all(st, key_id, reg);
    if (err || any_failed(st)) return err;
    kg_mpc_frost_dkg_round1 *msg = calloc(1, sizeof *msg);
    if (!msg) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    st->have_expect = true;
    for (unsigned i = 0; i < st->n; i++) check_round1(st, i, reg, msg);
    free(msg);
    if (!(err = dkg_round2_all(st)) && !any_failed(st)) err = dkg_finish_all(st);
    if (err || any_failed(st)) return err;
    if (st->have_expect) check_results(st);
    if (any_failed(st)) return KG_OK;
    return dkg_confirm_all(st);
}

/* The public parts of the record from the nodes' agreed DKG result
 * (group key, then the public share of nodes 1..n). */
static kg_err key_fill(kg_mpc_key *out, kg_mpc_group_id g, bool taproot, unsigned t, unsigned n, const uint8_t *res)
{
    size_t pl = kg_mpc_group_point_len(g);
    out->g = g;
    out->taproot = taproot;
    out->t = t;
    out->n = n;
    kg_err err = kg_mpc_point_deserialize(g, &out->group_public, res, pl);
    for (unsigned i = 0; i < n && !err; i++) {
        out->ids[i] = (uint16_t)(i + 1);
        err = kg_mpc_point_deserialize(g, &out->pub[i], res + (i + 1) * pl, pl);
    }
    return err;
}

kg_err kg_mpc_coordinator_keygen(kg_mpc_coordinator *co, kg_mpc_key *out, kg_mpc_group_id g, bool taproot,
                                 unsigned t, const uint16_t *ids, size_t n)
{
    memset(out, 0, sizeof *out);
    if (!kg_mpc_group_valid(g) || (taproot && g != KG_MPC_GROUP_SECP256K1) || n < 2 ||
        n > KG_MPC_FROST_MAX_PARTICIPANTS || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "a threshold t of n nodes needs 2 <= t <= n <= 255 (got %u of %zu)", t, n);
    kg_mpc_net_pubkeys reg[KG_MPC_FROST_MAX_PARTICIPANTS];
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == 0 || ids[i] > n || seen[ids[i]])
            return kg_err_set(KG_ERR_BAD_INPUT, "a DKG of %zu nodes uses node ids 1..%zu, each once (got %u)", n, n, ids[i]);
        seen[ids[i]] = true;
        kg_err err = kg_mpc_co_registry_get(&reg[ids[i] - 1], co, ids[i]);
        if (err) return err;
    }
    kg_mpc_net_conn *conn[KG_MPC_FROST_MAX_PARTICIPANTS] = {NULL}; /* conn[i]: node i+1 */
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_err err = kg_crypto_random(sess, sizeof sess);
    for (unsigned id = 1; id <= n && !err; id++) err = kg_mpc_co_connect(&conn[id - 1], co, (uint16_t)id);
    dkg_state *st = err ? NULL : calloc(1, sizeof *st);
    if (!err && !st) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_key *k = err ? NULL : calloc(1, sizeof *k);
    if (!err && !k) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) {
        uint8_t rnd[16];
        err = kg_crypto_random(rnd, sizeof rnd);
        memcpy(k->key_id, "mpc-", 4);
        kg_hex_encode(k->key_id + 4, rnd, sizeof rnd);
    }
    if (!err) {
        st->conn = conn;
        st->sess = sess;
        st->key_id = k->key_id;
        st->g = g;
        st->t = t;
        st->n = (unsigned)n;
        err = dkg_run(st, k->key_id, reg);
        if (!err && any_failed(st)) err = report(st);
        if (err) { /* keep the error's detail across the abort calls */
            char d[1024];
            snprintf(d, sizeof d, "%s", kg_err_detail(err));
            dkg_abort_all(st);
            err = kg_err_set(err, "%s", d);
        }
    }
    if (!err) err = key_fill(k, g, taproot, t, (unsigned)n, st->fin[0].data);
    if (!err) memcpy(out, k, sizeof *out);
    for (size_t i = 0; st && i < MAXN; i++) {
        kg_bytes_free(&st->r1[i]);
        kg_bytes_free(&st->inbox[i].b);
        kg_bytes_free(&st->fin[i]);
        kg_bytes_free(&st->conf[i]);
    }
    free(st);
    free(k);
    for (size_t i = 0; i < n; i++) kg_mpc_co_release(co, conn[i], !err);
    return err;
}
