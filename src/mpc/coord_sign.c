/* The coordinator's signing (RFC 9591 §5): connect to the key's nodes in id
 * order (stale ones, which missed a refresh, are skipped) and keep the
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

static kg_err sign_rounds(uint8_t *sig, size_t *sig_len, kg_mpc_net_conn *const *conn, const kg_mpc_key *k,
                          const size_t *who, const uint8_t *msg, size_t msg_len)
{
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_mpc_frost_commitment cs[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_mpc_frost_sig_share zs[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_mpc_point pubs[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_bytes raw[KG_MPC_FROST_MAX_PARTICIPANTS];
    memset(raw, 0, sizeof raw);
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err) err = kg_crypto_random(sess, sizeof sess);
    for (unsigned i = 0; i < k->t && !err; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        if ((err = kg_mpc_coord_call(&resp, &m, conn[who[i]], KG_MPC_NODE_SIGN_COMMIT, k->g, sess, &w.b))) break;
        err = kg_mpc_frost_commitment_parse(k->g, &cs[i], m.body, m.body_len);
        if (!err && cs[i].id != k->ids[who[i]])
            err = kg_err_set(KG_ERR_BAD_INPUT, "node %u committed as %u", k->ids[who[i]], cs[i].id);
        if (!err) err = kg_bytes_set(&raw[i], m.body, m.body_len);
        pubs[i] = k->pub[who[i]];
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    w = (kg_mpc_node_wr){0};
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_mpc_node_wr_blob(&w, msg, msg_len);
    kg_mpc_node_wr_u16(&w, (uint16_t)k->t);
    for (unsigned i = 0; i < k->t; i++) kg_mpc_node_wr_blob(&w, raw[i].data, raw[i].len);
    if (!err) err = kg_mpc_node_wr_done(&w);
    for (unsigned i = 0; i < k->t && !err; i++) {
        kg_bytes resp;
        kg_mpc_node_msg m;
        if ((err = kg_mpc_coord_call(&resp, &m, conn[who[i]], KG_MPC_NODE_SIGN_SHARE, k->g, sess, &w.b))) break;
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

kg_err kg_mpc_coordinator_sign(kg_mpc_coordinator *co, uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES],
                               size_t *sig_len, const kg_mpc_key *k, const uint8_t *msg, size_t msg_len,
                               const kg_mpc_sign_opts *opts)
{
    *sig_len = 0;
    memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
    if (k->taproot || (opts && opts->taproot_tweak))
        return kg_err_set(KG_ERR_BAD_INPUT, "frost-secp256k1-tr signing over the network is not available yet");
    kg_mpc_net_conn *conn[KG_MPC_FROST_MAX_PARTICIPANTS] = {NULL};
    size_t who[KG_MPC_FROST_MAX_PARTICIPANTS], live = 0;
    char down[512] = "";
    size_t off = 0;
    for (size_t i = 0; i < k->n && live < k->t; i++) {
        if (k->stale[i]) continue;
        if (kg_mpc_co_connect(&conn[i], co, k->ids[i]) == KG_OK)
            who[live++] = i;
        else if (off < sizeof down - 64)
            off += (size_t)snprintf(down + off, sizeof down - off, " %s;", kg_err_detail(KG_ERR_NETWORK));
    }
    kg_err err = KG_OK;
    if (live < k->t)
        err = kg_err_set(KG_ERR_NETWORK, "only %zu of the %u nodes needed are reachable:%s", live, k->t, down);
    if (!err) err = sign_rounds(sig, sig_len, conn, k, who, msg, msg_len);
    if (err) { *sig_len = 0; memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES); }
    for (size_t i = 0; i < k->n; i++) kg_mpc_co_release(co, conn[i], !err);
    return err;
}
