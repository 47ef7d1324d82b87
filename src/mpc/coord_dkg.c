/* Distributed key generation across node processes (the Pedersen DKG of
 * frost.h, run by the nodes; mpc/node.h for the messages). The coordinator
 * sends each node the registry of envelope keys, collects the signed
 * round-1 broadcasts and relays them to everyone, routes the sealed round-2
 * shares to their receivers (reading only the header), then asks every
 * node to finish. A node that finds a bad proof or share names its sender;
 * the coordinator checks that all nodes report the same group key and
 * public shares before it returns the key record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

typedef struct {
    kg_bytes r1[KG_MPC_FROST_MAX_PARTICIPANTS];          /* r1[i]: node i's broadcast */
    kg_mpc_node_wr inbox[KG_MPC_FROST_MAX_PARTICIPANTS]; /* round-2 envelopes for node i */
    unsigned cnt[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_bytes fin[KG_MPC_FROST_MAX_PARTICIPANTS];         /* finish answers */
} dkg_state;

static kg_err dkg_round1_all(dkg_state *st, kg_mpc_net_conn *const *conn, const uint8_t *sess, kg_mpc_group_id g, unsigned t,
                             unsigned n, const char *key_id, const kg_mpc_net_pubkeys *reg)
{
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, (uint16_t)t);
    kg_mpc_node_wr_u16(&w, (uint16_t)n);
    kg_mpc_node_wr_blob(&w, (const uint8_t *)key_id, strlen(key_id));
    for (unsigned i = 1; i <= n; i++) {
        kg_mpc_node_wr_u16(&w, (uint16_t)i);
        kg_mpc_node_wr_fixed(&w, reg[i - 1].box, 32);
        kg_mpc_node_wr_fixed(&w, reg[i - 1].sign, 32);
    }
    kg_err err = kg_mpc_node_wr_done(&w);
    for (unsigned i = 0; i < n && !err; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        kg_mpc_node_rd r;
        size_t len;
        if ((err = kg_mpc_coord_call(&resp, &m, conn[i], KG_MPC_NODE_DKG_ROUND1, g, sess, &w.b))) break;
        kg_mpc_node_rd_init(&r, m.body, m.body_len);
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        err = kg_mpc_node_rd_end(&r, "DKG round 1 answer");
        if (!err) err = kg_bytes_set(&st->r1[i], p, len);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return err;
}

static kg_err dkg_round2_all(dkg_state *st, kg_mpc_net_conn *const *conn, const uint8_t *sess, kg_mpc_group_id g, unsigned n)
{
    kg_err err = KG_OK;
    for (unsigned i = 0; i < n && !err; i++) {
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_u16(&w, (uint16_t)(n - 1));
        for (unsigned j = 0; j < n; j++)
            if (j != i) kg_mpc_node_wr_blob(&w, st->r1[j].data, st->r1[j].len);
        if ((err = kg_mpc_node_wr_done(&w))) break;
        kg_bytes resp;
        kg_mpc_node_msg m;
        err = kg_mpc_coord_call(&resp, &m, conn[i], KG_MPC_NODE_DKG_ROUND2, g, sess, &w.b);
        kg_bytes_free(&w.b);
        if (err) break;
        kg_mpc_node_rd r;
        kg_mpc_node_rd_init(&r, m.body, m.body_len);
        unsigned cnt = kg_mpc_node_rd_u16(&r);
        if (cnt != n - 1) err = kg_err_set(KG_ERR_BAD_INPUT, "node %u sent %u round-2 shares", i + 1, cnt);
        for (unsigned k = 0; k < cnt && !err; k++) {
            size_t len;
            kg_mpc_net_envelope e;
            const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
            err = p ? kg_mpc_net_envelope_decode(&e, p, len) : kg_err_set(KG_ERR_BAD_INPUT, "truncated round 2 answer");
            if (!err && (e.h.receiver == 0 || e.h.receiver > n || e.h.sender != i + 1))
                err = kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a share with a bad address", i + 1);
            if (!err) {
                kg_mpc_node_wr_blob(&st->inbox[e.h.receiver - 1], p, len);
                st->cnt[e.h.receiver - 1]++;
            }
        }
        if (!err) err = kg_mpc_node_rd_end(&r, "DKG round 2 answer");
        kg_bytes_free(&resp);
    }
    return err;
}

static kg_err dkg_finish_all(dkg_state *st, kg_mpc_net_conn *const *conn, const uint8_t *sess, kg_mpc_group_id g, unsigned n)
{
    kg_err err = KG_OK;
    for (unsigned i = 0; i < n && !err; i++) {
        kg_mpc_node_wr w = {0};
        kg_mpc_node_wr_u16(&w, (uint16_t)st->cnt[i]);
        kg_mpc_node_wr_fixed(&w, st->inbox[i].b.data, st->inbox[i].b.len);
        if (st->inbox[i].bad) w.bad = true;
        if ((err = kg_mpc_node_wr_done(&w))) break;
        kg_bytes resp;
        kg_mpc_node_msg m;
        err = kg_mpc_coord_call(&resp, &m, conn[i], KG_MPC_NODE_DKG_FINISH, g, sess, &w.b);
        kg_bytes_free(&w.b);
        if (err) break;
        size_t want = (n + 1) * kg_mpc_group_point_len(g);
        if (m.body_len != want) err = kg_err_set(KG_ERR_BAD_INPUT, "node %u: bad DKG result size", i + 1);
        else if (i > 0 && memcmp(st->fin[0].data, m.body, want))
            err = kg_err_set(KG_ERR_VERIFY, "node %u reports a different group key or public shares than node 1; "
                             "the key is not usable", i + 1);
        if (!err) err = kg_bytes_set(&st->fin[i], m.body, want);
        kg_bytes_free(&resp);
    }
    return err;
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
    if (!err) err = dkg_round1_all(st, conn, sess, g, t, (unsigned)n, k->key_id, reg);
    if (!err) err = dkg_round2_all(st, conn, sess, g, (unsigned)n);
    if (!err) err = dkg_finish_all(st, conn, sess, g, (unsigned)n);
    if (!err) err = key_fill(k, g, taproot, t, (unsigned)n, st->fin[0].data);
    if (!err) memcpy(out, k, sizeof *out);
    for (size_t i = 0; st && i < KG_MPC_FROST_MAX_PARTICIPANTS; i++) {
        kg_bytes_free(&st->r1[i]);
        kg_bytes_free(&st->inbox[i].b);
        kg_bytes_free(&st->fin[i]);
    }
    free(st);
    free(k);
    for (size_t i = 0; i < n; i++) kg_mpc_co_release(co, conn[i], !err);
    return err;
}
