/* Import of an existing private key into a t-of-n FROST group by a trusted
 * dealer (RFC 9591 Appendix C), dealer and coordinator sides (mpc/node.h
 * IMPORT_*; the node side is node_import.c).
 *
 * kg_mpc_import_deal runs on the operator's machine only: it splits the
 * secret with kg_mpc_frost_dealer_keygen (polynomial f with f(0) = secret,
 * commitments C_j = a_j*G), keeps the shares of the chosen identifiers and
 * seals each to its node's X25519 envelope key with a fresh ephemeral
 * dealer key, so whoever relays them (the coordinator, the server) learns
 * nothing but the public commitments.
 *
 * kg_mpc_coordinator_import relays: IMPORT_SHARE to every holder (each
 * opens and vss-verifies its share and answers its public share and a
 * signed confirmation of the digest of what it was given); the coordinator
 * checks every public share against the commitments and every confirmation
 * against its own digest, then sends all confirmations to every node
 * (IMPORT_CONFIRM, the echo check: each node compares them itself and only
 * then activates its share at epoch 0). On any failure every node is told
 * IMPORT_ABORT and nothing remains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS

static void put_u32(kg_crypto_sha256_ctx *c, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    kg_crypto_sha256_update(c, b, sizeof b);
}

kg_err kg_mpc_co_import_digest(uint8_t out[32], kg_mpc_group_id g, const uint8_t *session, const char *key_id, unsigned t,
                               const uint16_t *ids, size_t n, const uint8_t dealer_box[32], const kg_mpc_point *vss)
{
    static const char tag[] = "kashguard/mpc/import/v1";
    kg_crypto_sha256_ctx c;
    uint8_t pt[KG_MPC_POINT_MAX_BYTES];
    kg_crypto_sha256_init(&c);
    kg_crypto_sha256_update(&c, (const uint8_t *)tag, sizeof tag - 1);
    put_u32(&c, (uint32_t)g);
    kg_crypto_sha256_update(&c, session, KG_MPC_NET_SESSION_ID_BYTES);
    put_u32(&c, (uint32_t)strlen(key_id));
    kg_crypto_sha256_update(&c, (const uint8_t *)key_id, strlen(key_id));
    put_u32(&c, t);
    put_u32(&c, (uint32_t)n);
    for (size_t i = 0; i < n; i++) put_u32(&c, ids[i]);
    kg_crypto_sha256_update(&c, dealer_box, 32);
    for (unsigned j = 0; j < t; j++) {
        kg_err err = kg_mpc_point_serialize(g, pt, &vss[j]);
        if (err) return err;
        kg_crypto_sha256_update(&c, pt, kg_mpc_group_point_len(g));
    }
    kg_crypto_sha256_final(out, &c);
    return KG_OK;
}

kg_err kg_mpc_coordinator_node_keys(kg_mpc_net_pubkeys *out, kg_mpc_coordinator *co, uint16_t id)
{
    memset(out, 0, sizeof *out);
    return kg_mpc_co_registry_get(out, co, id);
}

/* t <= n, ids ascending in 1..255. */
static kg_err ids_check(unsigned t, const uint16_t *ids, size_t n)
{
    if (n < 2 || n > MAXP || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "a threshold t of n nodes needs 2 <= t <= n <= 255 (got %u of %zu)", t, n);
    for (size_t i = 0; i < n; i++)
        if (ids[i] == 0 || ids[i] > MAXP || (i && ids[i] <= ids[i - 1]))
            return kg_err_set(KG_ERR_BAD_INPUT, "the import's node ids must be distinct, ascending and 1..255");
    return KG_OK;
}

kg_err kg_mpc_import_deal(kg_bytes *sealed, kg_mpc_point *vss, uint8_t dealer_box[static 32], kg_mpc_group_id g,
                          unsigned t, const uint16_t *ids, size_t n, const kg_mpc_net_pubkeys *keys,
                          const kg_mpc_scalar *secret)
{
    kg_err err = kg_mpc_group_valid(g) ? ids_check(t, ids, n) : kg_err_set(KG_ERR_BAD_INPUT, "unknown group");
    if (err) return err;
    unsigned max_id = ids[n - 1];
    kg_secret *sec = kg_secret_new(max_id * sizeof(kg_mpc_frost_key_share));
    kg_secret *eph = NULL;
    kg_mpc_net_pubkeys eph_pub;
    kg_mpc_net_header h = {.version = KG_MPC_NET_VERSION, .scheme = (uint8_t)g, .type = KG_MPC_NODE_IMPORT_SHARE,
                           .sender = KG_MPC_IMPORT_DEALER, .round = 1, .seq = 1};
    err = sec ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_key_share *sh = sec ? (kg_mpc_frost_key_share *)kg_secret_data(sec) : NULL;
    if (!err) err = kg_mpc_frost_dealer_keygen(g, sh, vss, t, max_id, secret, NULL);
    if (!err) err = kg_mpc_net_keys_generate(&eph, &eph_pub);
    if (!err) err = kg_crypto_random(h.session, sizeof h.session);
    for (size_t i = 0; i < n && !err; i++) {
        uint8_t pl[4 + KG_MPC_SCALAR_BYTES];
        pl[0] = (uint8_t)(ids[i] >> 8), pl[1] = (uint8_t)ids[i];
        pl[2] = (uint8_t)(t >> 8), pl[3] = (uint8_t)t;
        memcpy(pl + 4, sh[ids[i] - 1].secret.b, KG_MPC_SCALAR_BYTES);
        h.receiver = ids[i];
        err = kg_mpc_net_envelope_seal(&sealed[i], &h, eph, keys[i].box, pl, sizeof pl);
        if (err) err = kg_err_set(err, "cannot seal the share of node %u: %s", ids[i], kg_err_detail(err));
        kg_wipe(pl, sizeof pl);
    }
    kg_secret_free(sec);
    kg_secret_free(eph);
    if (!err) memcpy(dealer_box, eph_pub.box, 32);
    for (size_t i = 0; err && i < n; i++) kg_bytes_free(&sealed[i]);
    if (err) memset(vss, 0, t * sizeof *vss);
    return err;
}

/* ------------------------------------------------------------ coordinator */

typedef struct {
    kg_mpc_coordinator *co;
    kg_mpc_net_conn *conn[MAXP];
    kg_mpc_group_id g;
    unsigned t;
    const uint16_t *ids;
    size_t n;
    const kg_mpc_point *vss;
    const uint8_t *dealer_box;
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES];
    kg_mpc_net_pubkeys reg[MAXP];
    bool in_reg[MAXP + 1];
    uint8_t digest[32];
    kg_bytes conf[MAXP];
} imp_run;

/* The session of the dealer's envelopes: all must agree and be addressed right. */
static kg_err session_of(imp_run *r, const kg_bytes *sealed)
{
    for (size_t i = 0; i < r->n; i++) {
        kg_mpc_net_envelope e;
        if (kg_mpc_net_envelope_decode(&e, sealed[i].data, sealed[i].len) || e.h.sender != KG_MPC_IMPORT_DEALER ||
            e.h.receiver != r->ids[i] || e.h.type != KG_MPC_NODE_IMPORT_SHARE || e.h.scheme != (uint8_t)r->g ||
            (i && memcmp(r->sess, e.h.session, sizeof r->sess)))
            return kg_err_set(KG_ERR_BAD_INPUT, "the sealed share for node %u is malformed or not the dealer's for "
                              "this import (seal it again with `kashguard mpc import`)", r->ids[i]);
        memcpy(r->sess, e.h.session, sizeof r->sess);
    }
    return KG_OK;
}

/* Node ids[i]'s answer to IMPORT_SHARE: PK_i and its confirmation. */
static kg_err share_answer(imp_run *r, size_t i, const kg_mpc_node_msg *m)
{
    kg_mpc_node_rd rd;
    size_t pl = kg_mpc_group_point_len(r->g), cl = 0;
    uint16_t id = r->ids[i];
    kg_mpc_point pk, want;
    kg_mpc_net_envelope e;
    const uint8_t *d = NULL;
    size_t dl = 0;
    kg_mpc_node_rd_init(&rd, m->body, m->body_len);
    const uint8_t *p = kg_mpc_node_rd_fixed(&rd, pl), *c = kg_mpc_node_rd_blob(&rd, &cl, KG_MPC_NET_FRAME_MAX_BYTES);
    if (kg_mpc_node_rd_end(&rd, "import answer") || kg_mpc_point_deserialize(r->g, &pk, p, pl) ||
        kg_mpc_net_envelope_decode(&e, c, cl) || e.h.sender != id || e.h.receiver != 0 ||
        e.h.type != KG_MPC_NODE_IMPORT_CONFIRM || memcmp(e.h.session, r->sess, sizeof r->sess))
        return kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a malformed import answer", id);
    kg_mpc_frost_vss_eval(r->g, &want, r->vss, r->t, id);
    if (!kg_mpc_point_eq(r->g, &pk, &want))
        return kg_err_set(KG_ERR_VERIFY, "node %u reported a public share that does not follow from the commitments", id);
    if (kg_mpc_net_envelope_verify(&d, &dl, &e, r->reg[id - 1].sign) || dl != 32 || memcmp(d, r->digest, 32))
        return kg_err_set(KG_ERR_VERIFY, "node %u confirmed other commitments, holders or dealer key than the "
                          "coordinator sent (or a bad signature)", id);
    return kg_bytes_set(&r->conf[i], c, cl);
}

static kg_err body_share(kg_mpc_node_wr *w, imp_run *r, const char *key_id, const kg_bytes *sealed)
{
    kg_mpc_node_wr_u16(w, (uint16_t)r->t);
    kg_mpc_node_wr_blob(w, (const uint8_t *)key_id, strlen(key_id));
    kg_mpc_co_wr_ids(w, r->ids, r->n);
    kg_mpc_co_wr_reg(w, r->reg, r->in_reg);
    kg_mpc_node_wr_fixed(w, r->dealer_box, 32);
    kg_mpc_node_wr_u16(w, (uint16_t)r->t);
    for (unsigned j = 0; j < r->t; j++) kg_mpc_co_wr_point(w, r->g, &r->vss[j]);
    kg_mpc_node_wr_blob(w, sealed->data, sealed->len);
    return kg_mpc_node_wr_done(w);
}

/* The two steps; the first error ends the run (the caller aborts). */
static kg_err run(imp_run *r, const char *key_id, const kg_bytes *sealed)
{
    kg_err err = kg_mpc_co_import_digest(r->digest, r->g, r->sess, key_id, r->t, r->ids, r->n, r->dealer_box, r->vss);
    for (size_t i = 0; i < r->n && !err; i++) {
        kg_mpc_node_wr w = {0};
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        err = body_share(&w, r, key_id, &sealed[i]);
        if (!err) err = kg_mpc_coord_call(&resp, &m, r->conn[i], KG_MPC_NODE_IMPORT_SHARE, r->g, r->sess, &w.b);
        if (!err) err = share_answer(r, i, &m);
        kg_bytes_free(&w.b);
        kg_bytes_free(&resp);
    }
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, (uint16_t)r->n);
    for (size_t i = 0; i < r->n; i++) kg_mpc_node_wr_blob(&w, r->conf[i].data, r->conf[i].len);
    if (!err) err = kg_mpc_node_wr_done(&w);
    for (size_t i = 0; i < r->n && !err; i++) {
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        err = kg_mpc_coord_call(&resp, &m, r->conn[i], KG_MPC_NODE_IMPORT_CONFIRM, r->g, r->sess, &w.b);
        if (!err && m.body_len) err = kg_err_set(KG_ERR_BAD_INPUT, "node %u sent a malformed import confirm answer", r->ids[i]);
        kg_bytes_free(&resp);
    }
    kg_bytes_free(&w.b);
    return err;
}

static void abort_all(imp_run *r)
{
    kg_bytes none = {0};
    for (size_t i = 0; i < r->n; i++) {
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        if (r->conn[i] && kg_mpc_coord_call(&resp, &m, r->conn[i], KG_MPC_NODE_IMPORT_ABORT, r->g, r->sess, &none) == KG_OK)
            kg_bytes_free(&resp);
    }
}

static kg_err key_fill(kg_mpc_key *k, const imp_run *r, bool taproot)
{
    k->g = r->g;
    k->taproot = taproot;
    k->t = r->t;
    k->n = (unsigned)r->n;
    k->epoch = 0;
    k->group_public = r->vss[0];
    for (size_t i = 0; i < r->n; i++) {
        k->ids[i] = r->ids[i];
        kg_mpc_frost_vss_eval(r->g, &k->pub[i], r->vss, r->t, r->ids[i]);
    }
    return KG_OK;
}

kg_err kg_mpc_coordinator_import(kg_mpc_coordinator *co, kg_mpc_key *out, kg_mpc_group_id g, bool taproot, unsigned t,
                                 const uint16_t *ids, size_t n, const kg_mpc_point *vss,
                                 const uint8_t dealer_box[static 32], const kg_bytes *sealed)
{
    memset(out, 0, sizeof *out);
    if (!kg_mpc_group_valid(g) || (taproot && g != KG_MPC_GROUP_SECP256K1))
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown scheme for an import");
    kg_err err = ids_check(t, ids, n);
    imp_run *r = err ? NULL : calloc(1, sizeof *r);
    kg_mpc_key *k = err ? NULL : calloc(1, sizeof *k);
    if (!err && (!r || !k)) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) {
        r->co = co, r->g = g, r->t = t, r->ids = ids, r->n = n, r->vss = vss, r->dealer_box = dealer_box;
        err = session_of(r, sealed);
    }
    for (size_t i = 0; i < n && !err; i++) {
        err = kg_mpc_co_registry_get(&r->reg[ids[i] - 1], co, ids[i]);
        if (!err) r->in_reg[ids[i]] = true;
    }
    if (!err) {
        uint8_t rnd[16];
        err = kg_crypto_random(rnd, sizeof rnd);
        memcpy(k->key_id, "mpc-", 4);
        kg_hex_encode(k->key_id + 4, rnd, sizeof rnd);
    }
    for (size_t i = 0; i < n && !err; i++) err = kg_mpc_co_connect(&r->conn[i], co, ids[i]);
    if (!err && (err = run(r, k->key_id, sealed))) { /* keep the detail across the abort calls */
        char d[1024];
        snprintf(d, sizeof d, "import aborted: %s; nothing was stored", kg_err_detail(err));
        abort_all(r);
        err = kg_err_set(err, "%s", d);
    }
    if (!err) err = key_fill(k, r, taproot);
    if (!err) memcpy(out, k, sizeof *out);
    for (size_t i = 0; r && i < n; i++) {
        kg_bytes_free(&r->conf[i]);
        kg_mpc_co_release(co, r->conn[i], !err);
    }
    free(r);
    free(k);
    return err;
}
