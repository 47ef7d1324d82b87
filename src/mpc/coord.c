/* The MPC coordinator as a library: enrolment (private CA, node
 * certificates, the registry of node envelope keys), distributed key
 * generation across `kashguard mpc-node` processes and threshold signing.
 *
 * The coordinator holds no secret share: it connects to each node over
 * mutual TLS as party 0 (mpc/net.h), sends the requests of mpc/node.h and
 * relays the nodes' envelopes -- signed round-1 broadcasts to everyone,
 * sealed round-2 shares to their receiver only (it reads just the header to
 * route them). It checks that every node reports the same group key and
 * public shares, then writes the key record dir/keys/<id>.json. Signing
 * uses the first t nodes (by id) that accept a connection, runs RFC 9591
 * round one and two and aggregates with kg_mpc_frost_aggregate, which
 * verifies every share and names the culprits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kashguard/crypto.h"
#include "node_int.h"


#define CALL_MS 30000

void kg_mpc_coord_close(kg_mpc_coord *co)
{
    for (size_t i = 0; i < KG_MPC_FROST_MAX_PARTICIPANTS; i++) kg_mpc_net_close(co->c[i]);
    kg_mpc_net_tls_free(co->tls);
    memset(co, 0, sizeof *co);
}

kg_err kg_mpc_coord_tls(kg_mpc_coord *co, const char *dir)
{
    char ca[4096], cert[4096], key[4096];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/coordinator.pem", dir);
    snprintf(key, sizeof key, "%s/coordinator.key", dir);
    memset(co, 0, sizeof *co);
    return kg_mpc_net_tls_new(&co->tls, ca, cert, key);
}

/* One request/response exchange; *resp is the raw frame, *m points into it. */
kg_err kg_mpc_coord_call(kg_bytes *resp, kg_mpc_node_msg *m, kg_mpc_net_conn *c, uint8_t type, kg_mpc_group_id g,
                   const uint8_t *session, const kg_bytes *body)
{
    kg_bytes req = {0};
    uint32_t peer = kg_mpc_net_conn_peer(c);
    kg_mpc_node_msg q = {.type = type, .scheme = (uint8_t)g, .body = body->data, .body_len = body->len};
    memcpy(q.session, session, KG_MPC_NET_SESSION_ID_BYTES);
    *resp = (kg_bytes){0};
    kg_err err = kg_mpc_node_msg_encode(&req, &q);
    if (!err) err = kg_mpc_net_send(c, req.data, req.len, CALL_MS);
    kg_bytes_free(&req);
    if (!err) err = kg_mpc_net_recv(resp, c, CALL_MS);
    if (err) return kg_err_set(err, "node %u: %s", peer, kg_err_detail(err));
    err = kg_mpc_node_msg_decode(m, resp->data, resp->len);
    if (!err && m->type == KG_MPC_NODE_ERROR) err = kg_mpc_node_error_decode(m, peer);
    else if (!err && (m->type != (type | KG_MPC_NODE_RESPONSE) || memcmp(m->session, session, KG_MPC_NET_SESSION_ID_BYTES)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "node %u answered another request", peer);
    if (err) kg_bytes_free(resp);
    return err;
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

static kg_err registry_get(uint8_t out[64], const char *dir, uint16_t id)
{
    char p[4096];
    kg_bytes b = {0};
    snprintf(p, sizeof p, "%s/nodes/%u.pub", dir, id);
    kg_err err = kg_mpc_node_file_read(&b, p, 64);
    if (err == KG_ERR_NOT_FOUND) return kg_err_set(err, "node %u is not enrolled (no %s); run `kashguard mpc node-cert`", id, p);
    if (!err && b.len != 64) err = kg_err_set(KG_ERR_BAD_INPUT, "%s must hold 64 bytes", p);
    if (!err) memcpy(out, b.data, 64);
    kg_bytes_free(&b);
    return err;
}

/* ------------------------------------------------------------- keygen */

typedef struct {
    kg_bytes r1[KG_MPC_FROST_MAX_PARTICIPANTS];          /* r1[i]: node i's broadcast */
    kg_mpc_node_wr inbox[KG_MPC_FROST_MAX_PARTICIPANTS]; /* round-2 envelopes for node i */
    unsigned cnt[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_bytes fin[KG_MPC_FROST_MAX_PARTICIPANTS];         /* finish answers */
} dkg_state;

static kg_err dkg_round1_all(dkg_state *st, kg_mpc_coord *co, const uint8_t *sess, kg_mpc_group_id g, unsigned t,
                             unsigned n, const char *key_id, const uint8_t reg[][64])
{
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, (uint16_t)t);
    kg_mpc_node_wr_u16(&w, (uint16_t)n);
    kg_mpc_node_wr_blob(&w, (const uint8_t *)key_id, strlen(key_id));
    for (unsigned i = 1; i <= n; i++) {
        kg_mpc_node_wr_u16(&w, (uint16_t)i);
        kg_mpc_node_wr_fixed(&w, reg[i - 1], 64);
    }
    kg_err err = kg_mpc_node_wr_done(&w);
    for (unsigned i = 0; i < n && !err; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        kg_mpc_node_rd r;
        size_t len;
        if ((err = kg_mpc_coord_call(&resp, &m, co->c[i], KG_MPC_NODE_DKG_ROUND1, g, sess, &w.b))) break;
        kg_mpc_node_rd_init(&r, m.body, m.body_len);
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        err = kg_mpc_node_rd_end(&r, "DKG round 1 answer");
        if (!err) err = kg_bytes_set(&st->r1[i], p, len);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return err;
}

static kg_err dkg_round2_all(dkg_state *st, kg_mpc_coord *co, const uint8_t *sess, kg_mpc_group_id g, unsigned n)
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
        err = kg_mpc_coord_call(&resp, &m, co->c[i], KG_MPC_NODE_DKG_ROUND2, g, sess, &w.b);
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

static kg_err dkg_finish_all(dkg_state *st, kg_mpc_coord *co, const uint8_t *sess, kg_mpc_group_id g, unsigned n)
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
        err = kg_mpc_coord_call(&resp, &m, co->c[i], KG_MPC_NODE_DKG_FINISH, g, sess, &w.b);
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

static kg_err record_write(const char *dir, const char *key_id, kg_mpc_group_id g, unsigned t,
                           const kg_mpc_coord_node *nodes, unsigned n, const uint8_t *res)
{
    size_t pl = kg_mpc_group_point_len(g);
    json_t *arr = json_array(), *o = NULL;
    for (unsigned id = 1; id <= n && arr; id++)
        for (unsigned i = 0; i < n; i++)
            if (nodes[i].id == id)
                json_array_append_new(arr, json_pack("{s:i, s:s, s:o}", "id", (int)id, "addr", nodes[i].addr,
                                                     "public_share", kg_json_b64(res + id * pl, pl)));
    if (arr) o = json_pack("{s:s, s:s, s:i, s:i, s:o, s:o}", "key_id", key_id, "scheme", kg_mpc_frost_scheme_name(g),
                           "threshold", (int)t, "n", (int)n, "public_key", kg_json_b64(res, pl), "nodes", arr);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!text) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    char p[4096];
    snprintf(p, sizeof p, "%s/keys", dir);
    kg_err err = kg_mpc_node_mkdir(p);
    snprintf(p, sizeof p, "%s/keys/%s.json", dir, key_id);
    if (!err) err = kg_mpc_node_file_write(p, (const uint8_t *)text, strlen(text), true);
    free(text);
    return err;
}

kg_err kg_mpc_coord_keygen(char key_id[static KG_MPC_NODE_KEY_ID_MAX + 1], uint8_t *pub, size_t *pub_len,
                           const char *dir, kg_mpc_group_id g, unsigned t, const kg_mpc_coord_node *nodes, size_t n)
{
    key_id[0] = 0;
    *pub_len = 0;
    if (!kg_mpc_group_valid(g) || n < 2 || n > KG_MPC_FROST_MAX_PARTICIPANTS || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "a threshold t of n nodes needs 2 <= t <= n <= 255 (got %u of %zu)", t, n);
    uint8_t reg[KG_MPC_FROST_MAX_PARTICIPANTS][64];
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (size_t i = 0; i < n; i++) {
        if (nodes[i].id == 0 || nodes[i].id > n || seen[nodes[i].id])
            return kg_err_set(KG_ERR_BAD_INPUT, "node ids must be 1..%zu, each once (got %u)", n, nodes[i].id);
        seen[nodes[i].id] = true;
        kg_err err = registry_get(reg[nodes[i].id - 1], dir, nodes[i].id);
        if (err) return err;
    }
    kg_mpc_coord co;
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES], rnd[16];
    kg_err err = kg_mpc_coord_tls(&co, dir);
    if (!err) err = kg_crypto_random(sess, sizeof sess);
    if (!err) err = kg_crypto_random(rnd, sizeof rnd);
    char kid[KG_MPC_NODE_KEY_ID_MAX + 1] = "mpc-";
    kg_hex_encode(kid + 4, rnd, sizeof rnd);
    for (unsigned id = 1; id <= n && !err; id++)
        for (size_t i = 0; i < n && !err; i++)
            if (nodes[i].id == id) {
                err = kg_mpc_net_connect(&co.c[id - 1], co.tls, nodes[i].addr, id, KG_MPC_COORD_CONNECT_MS);
                if (err) err = kg_err_set(err, "node %u at %s: %s", id, nodes[i].addr, kg_err_detail(err));
            }
    dkg_state *st = err ? NULL : calloc(1, sizeof *st);
    if (!err && !st) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = dkg_round1_all(st, &co, sess, g, t, (unsigned)n, kid, (const uint8_t(*)[64])reg);
    if (!err) err = dkg_round2_all(st, &co, sess, g, (unsigned)n);
    if (!err) err = dkg_finish_all(st, &co, sess, g, (unsigned)n);
    if (!err) err = record_write(dir, kid, g, t, nodes, (unsigned)n, st->fin[0].data);
    if (!err) {
        *pub_len = kg_mpc_group_point_len(g);
        memcpy(pub, st->fin[0].data, *pub_len);
        memcpy(key_id, kid, sizeof kid);
    }
    for (size_t i = 0; st && i < KG_MPC_FROST_MAX_PARTICIPANTS; i++) {
        kg_bytes_free(&st->r1[i]);
        kg_bytes_free(&st->inbox[i].b);
        kg_bytes_free(&st->fin[i]);
    }
    free(st);
    kg_mpc_coord_close(&co);
    return err;
}
