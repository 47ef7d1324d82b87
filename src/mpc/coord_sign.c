/* The coordinator's signing (RFC 9591 §5): load the key record written by
 * kg_mpc_coord_keygen, connect to the key's nodes in id order and keep the
 * first t that answer (a node that is down is skipped), collect their
 * round-one commitments, send every signer the signing package (message and
 * the commitments sorted by id), and aggregate the signature shares with
 * kg_mpc_frost_aggregate, which verifies each share against the node's
 * public share and names the culprits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

typedef struct {
    kg_mpc_group_id g;
    unsigned t, n;
    kg_mpc_point group_public;
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    char addr[KG_MPC_FROST_MAX_PARTICIPANTS][128];
    kg_mpc_point pub[KG_MPC_FROST_MAX_PARTICIPANTS];
} key_record;

static kg_err b64_point(kg_mpc_point *out, kg_mpc_group_id g, const json_t *o, const char *field)
{
    kg_bytes b = {0};
    kg_err err = kg_json_get_b64(&b, o, field, true, KG_MPC_POINT_MAX_BYTES);
    if (!err) err = kg_mpc_point_deserialize(g, out, b.data, b.len);
    kg_bytes_free(&b);
    return err;
}

static kg_err record_load(key_record *k, const char *dir, const char *key_id)
{
    char p[4096];
    kg_bytes b = {0};
    memset(k, 0, sizeof *k);
    kg_err err = kg_mpc_node_key_id_check((const uint8_t *)key_id, strlen(key_id));
    if (err) return err;
    snprintf(p, sizeof p, "%s/keys/%s.json", dir, key_id);
    if ((err = kg_mpc_node_file_read(&b, p, 1 << 20)))
        return err == KG_ERR_NOT_FOUND ? kg_err_set(err, "no MPC key %s in %s/keys", key_id, dir) : err;
    json_t *o = NULL, *nodes;
    const char *scheme = NULL;
    int64_t t = 0, n = 0;
    err = kg_json_parse_object(&o, (const char *)b.data, b.len);
    kg_bytes_free(&b);
    if (!err) err = kg_json_get_str(&scheme, o, "scheme", true);
    if (!err) err = kg_mpc_frost_scheme_parse(&k->g, scheme);
    if (!err) err = kg_json_get_int(&t, o, "threshold", true);
    if (!err) err = kg_json_get_int(&n, o, "n", true);
    nodes = o ? json_object_get(o, "nodes") : NULL;
    if (!err && (t < 2 || n < t || n > KG_MPC_FROST_MAX_PARTICIPANTS || !json_is_array(nodes) ||
                 json_array_size(nodes) != (size_t)n))
        err = kg_err_set(KG_ERR_BAD_INPUT, "%s: bad threshold or node list", p);
    if (!err) err = b64_point(&k->group_public, k->g, o, "public_key");
    for (size_t i = 0; !err && i < (size_t)n; i++) {
        const json_t *e = json_array_get(nodes, i);
        const char *addr = NULL;
        int64_t id = 0;
        err = kg_json_get_int(&id, e, "id", true);
        if (!err) err = kg_json_get_str(&addr, e, "addr", true);
        if (!err && (id < 1 || id > n || strlen(addr) >= sizeof k->addr[i] || (i && id <= k->ids[i - 1])))
            err = kg_err_set(KG_ERR_BAD_INPUT, "%s: bad node entry %zu", p, i);
        if (!err) {
            k->ids[i] = (uint16_t)id;
            snprintf(k->addr[i], sizeof k->addr[i], "%s", addr);
            err = b64_point(&k->pub[i], k->g, e, "public_share");
        }
    }
    json_decref(o);
    k->t = (unsigned)t;
    k->n = (unsigned)n;
    if (err) memset(k, 0, sizeof *k);
    return err;
}

static kg_err sign_rounds(uint8_t *sig, size_t *sig_len, kg_mpc_coord *co, const key_record *k,
                          const size_t *who, const char *key_id, const uint8_t *msg, size_t msg_len)
{
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_mpc_frost_commitment cs[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_mpc_frost_sig_share zs[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_mpc_point pubs[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_bytes raw[KG_MPC_FROST_MAX_PARTICIPANTS];
    memset(raw, 0, sizeof raw);
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)key_id, strlen(key_id));
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err) err = kg_crypto_random(sess, sizeof sess);
    for (unsigned i = 0; i < k->t && !err; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        if ((err = kg_mpc_coord_call(&resp, &m, co->c[who[i]], KG_MPC_NODE_SIGN_COMMIT, k->g, sess, &w.b))) break;
        err = kg_mpc_frost_commitment_parse(k->g, &cs[i], m.body, m.body_len);
        if (!err && cs[i].id != k->ids[who[i]])
            err = kg_err_set(KG_ERR_BAD_INPUT, "node %u committed as %u", k->ids[who[i]], cs[i].id);
        if (!err) err = kg_bytes_set(&raw[i], m.body, m.body_len);
        pubs[i] = k->pub[who[i]];
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    w = (kg_mpc_node_wr){0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)key_id, strlen(key_id));
    kg_mpc_node_wr_blob(&w, msg, msg_len);
    kg_mpc_node_wr_u16(&w, (uint16_t)k->t);
    for (unsigned i = 0; i < k->t; i++) kg_mpc_node_wr_blob(&w, raw[i].data, raw[i].len);
    if (!err) err = kg_mpc_node_wr_done(&w);
    for (unsigned i = 0; i < k->t && !err; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        if ((err = kg_mpc_coord_call(&resp, &m, co->c[who[i]], KG_MPC_NODE_SIGN_SHARE, k->g, sess, &w.b))) break;
        err = kg_mpc_frost_sig_share_parse(k->g, &zs[i], m.body, m.body_len);
        if (!err && zs[i].id != cs[i].id) err = kg_err_set(KG_ERR_BAD_INPUT, "node %u answered as %u", cs[i].id, zs[i].id);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    for (unsigned i = 0; i < KG_MPC_FROST_MAX_PARTICIPANTS; i++) kg_bytes_free(&raw[i]);
    if (err) return err;
    kg_mpc_frost_signing_package pkg = {.group = k->g, .group_public = k->group_public, .msg = msg,
                                        .msg_len = msg_len, .commitments = cs, .n_commitments = k->t};
    uint16_t culprits[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t nc = 0;
    err = kg_mpc_frost_aggregate(sig, sig_len, culprits, &nc, &pkg, zs, pubs);
    if (err == KG_ERR_VERIFY && nc) {
        char list[1024] = "";
        size_t off = 0;
        for (size_t i = 0; i < nc && off < sizeof list - 8; i++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%u", i ? ", " : "", culprits[i]);
        err = kg_err_set(KG_ERR_VERIFY, "invalid signature shares from node(s) %s", list);
    }
    return err;
}

kg_err kg_mpc_coord_sign(uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES], size_t *sig_len,
                         const char *dir, const char *key_id, const uint8_t *msg, size_t msg_len)
{
    *sig_len = 0;
    key_record *k = calloc(1, sizeof *k);
    if (!k) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_coord co;
    size_t who[KG_MPC_FROST_MAX_PARTICIPANTS], live = 0;
    char down[512] = "";
    size_t off = 0;
    kg_err err = record_load(k, dir, key_id);
    if (!err) err = kg_mpc_coord_tls(&co, dir);
    else memset(&co, 0, sizeof co);
    for (size_t i = 0; i < k->n && live < k->t && !err; i++) {
        if (kg_mpc_net_connect(&co.c[i], co.tls, k->addr[i], k->ids[i], KG_MPC_COORD_CONNECT_MS) == KG_OK)
            who[live++] = i;
        else if (off < sizeof down - 64)
            off += (size_t)snprintf(down + off, sizeof down - off, " node %u (%s): %s;", k->ids[i], k->addr[i],
                                    kg_err_detail(KG_ERR_NETWORK));
    }
    if (!err && live < k->t)
        err = kg_err_set(KG_ERR_NETWORK, "only %zu of the %u nodes needed are reachable:%s", live, k->t, down);
    if (!err) err = sign_rounds(sig, sig_len, &co, k, who, key_id, msg, msg_len);
    if (err) { *sig_len = 0; memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES); }
    kg_mpc_coord_close(&co);
    free(k);
    return err;
}
