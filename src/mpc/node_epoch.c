/* Share epochs of `kashguard mpc-node` and the second phase of a refresh
 * or reshare (mpc/node.h: EPOCH_COMMIT, EPOCH_ABORT, EPOCH_DELETE), plus
 * the dispatch of every EPOCH_* and REPAIR_* request.
 *
 * Records in the node's kg_store (all sealed with AES-256-GCM under the
 * node's seal key, AAD = the record name, except the epoch):
 *   mpc/share/<key>    the active share (node.c's format, so SIGN reads it)
 *   mpc/epoch/<key>    its epoch, 4 bytes BE (absent = 0: the DKG)
 *   mpc/pending/<key>  epoch || session id || share: the result of an
 *                      EPOCH_FINISH, waiting for EPOCH_COMMIT
 * COMMIT swaps pending -> active and writes the epoch in one store
 * transaction (the old share is overwritten, so it is gone); ABORT deletes
 * the pending share of its session; a new FINISH overwrites it. Whatever
 * happens, a node holds one usable share of one epoch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS
#define SC KG_MPC_SCALAR_BYTES
#define SID KG_MPC_NET_SESSION_ID_BYTES
#define PEND_PT (4 + SID + KG_MPC_NODE_SHARE_BYTES)

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* ------------------------------------------------------------ the store */

static void rec_name(char *out, size_t cap, const char *what, const char *key_id)
{
    snprintf(out, cap, "mpc/%s/%s", what, key_id);
}

/* AES-256-GCM under the node's seal key, AAD = the record name. */
static kg_err seal_put(kg_mpc_nd *nd, kg_store_txn *txn, const char *rec, const uint8_t *pt, size_t len)
{
    uint8_t buf[KG_GCM_IV_BYTES + PEND_PT + KG_GCM_TAG_BYTES];
    kg_err err = kg_crypto_random(buf, KG_GCM_IV_BYTES);
    if (!err)
        err = kg_crypto_aes256gcm_encrypt(buf + KG_GCM_IV_BYTES, buf + KG_GCM_IV_BYTES + len, KG_GCM_TAG_BYTES,
                                          kg_secret_cdata(nd->seal_key), buf, KG_GCM_IV_BYTES,
                                          (const uint8_t *)rec, strlen(rec), pt, len);
    if (!err) err = kg_store_put(nd->st, txn, rec, buf, KG_GCM_IV_BYTES + len + KG_GCM_TAG_BYTES);
    return err;
}

kg_err kg_mpc_nd_share_epoch(uint32_t *epoch, kg_mpc_nd *nd, const char *key_id)
{
    char rec[128];
    kg_bytes b = {0};
    *epoch = 0;
    rec_name(rec, sizeof rec, "epoch", key_id);
    kg_err err = kg_store_get(nd->st, NULL, &b, rec);
    if (err == KG_ERR_NOT_FOUND) return KG_OK;
    if (!err && b.len != 4) err = kg_err_set(KG_ERR_STORE, "the epoch record of key %s is corrupt", key_id);
    if (!err) *epoch = get32(b.data);
    kg_bytes_free(&b);
    return err;
}

kg_err kg_mpc_nd_share_replace(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, const kg_mpc_frost_key_share *sh,
                               uint32_t epoch)
{
    char rec[128];
    uint8_t pt[KG_MPC_NODE_SHARE_BYTES], e[4];
    kg_mpc_nd_share_record(rec, sizeof rec, key_id);
    kg_mpc_node_share_pack(pt, sh);
    kg_err err = seal_put(nd, txn, rec, pt, sizeof pt);
    kg_wipe(pt, sizeof pt);
    put32(e, epoch);
    rec_name(rec, sizeof rec, "epoch", key_id);
    if (!err) err = kg_store_put(nd->st, txn, rec, e, sizeof e);
    return err;
}

kg_err kg_mpc_nd_pending_save(kg_mpc_nd *nd, const char *key_id, const kg_mpc_frost_key_share *sh, uint32_t epoch,
                           const uint8_t *session)
{
    char rec[128];
    uint8_t pt[PEND_PT];
    rec_name(rec, sizeof rec, "pending", key_id);
    put32(pt, epoch);
    memcpy(pt + 4, session, SID);
    kg_mpc_node_share_pack(pt + 4 + SID, sh);
    kg_err err = seal_put(nd, NULL, rec, pt, sizeof pt);
    kg_wipe(pt, sizeof pt);
    return err;
}

/* The pending share of key_id: *out a kg_mpc_frost_key_share; KG_ERR_NOT_FOUND if none. */
static kg_err pending_load(kg_secret **out, uint32_t *epoch, uint8_t *session, kg_mpc_nd *nd, const char *key_id)
{
    char rec[128];
    kg_bytes b = {0};
    uint8_t pt[PEND_PT];
    *out = NULL;
    rec_name(rec, sizeof rec, "pending", key_id);
    kg_err err = kg_store_get(nd->st, NULL, &b, rec);
    if (err) return err;
    if (b.len != KG_GCM_IV_BYTES + PEND_PT + KG_GCM_TAG_BYTES)
        err = kg_err_set(KG_ERR_STORE, "the pending share of key %s is corrupt", key_id);
    if (!err)
        err = kg_crypto_aes256gcm_decrypt(pt, kg_secret_cdata(nd->seal_key), b.data, KG_GCM_IV_BYTES,
                                          (const uint8_t *)rec, strlen(rec), b.data + KG_GCM_IV_BYTES, PEND_PT,
                                          b.data + KG_GCM_IV_BYTES + PEND_PT, KG_GCM_TAG_BYTES);
    kg_bytes_free(&b);
    kg_secret *s = err ? NULL : kg_secret_new(sizeof(kg_mpc_frost_key_share));
    if (!err && !s) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_node_share_unpack((kg_mpc_frost_key_share *)kg_secret_data(s), pt + 4 + SID);
    if (!err) {
        *epoch = get32(pt);
        memcpy(session, pt + 4, SID);
        *out = s;
    } else {
        kg_secret_free(s);
    }
    kg_wipe(pt, sizeof pt);
    return err;
}

kg_err kg_mpc_nd_ep_del(kg_mpc_nd *nd, kg_store_txn *txn, const char *what, const char *key_id)
{
    char rec[128];
    rec_name(rec, sizeof rec, what, key_id);
    kg_err err = kg_store_delete(nd->st, txn, rec);
    return err == KG_ERR_NOT_FOUND ? KG_OK : err;
}

/* The active share of key_id, which must be at epoch and of group g. */
kg_err kg_mpc_nd_ep_load_at(kg_secret **out, kg_mpc_nd *nd, const char *key_id, kg_mpc_group_id g, uint32_t epoch)
{
    uint32_t have = 0;
    kg_err err = kg_mpc_nd_share_load(out, nd, key_id);
    if (!err) err = kg_mpc_nd_share_epoch(&have, nd, key_id);
    if (!err && have != epoch)
        err = kg_err_set(KG_ERR_CONFLICT, "key %s is at epoch %u on this node, not %u: the node missed a refresh "
                         "or reshare; repair it first (kashguard mpc repair)", key_id, have, epoch);
    if (!err && ((const kg_mpc_frost_key_share *)kg_secret_cdata(*out))->group != g)
        err = kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a %s key", key_id, kg_mpc_frost_scheme_name(g));
    if (err) {
        kg_secret_free(*out);
        *out = NULL;
    }
    return err;
}

/* ------------------------------------------------- COMMIT, ABORT, DELETE */

static kg_err rd_key_epoch(char *key_id, uint32_t *epoch, const kg_mpc_node_msg *m, bool with_epoch, const char *what)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    kg_err err = kg_mpc_nd_ep_rd_key_id(&r, key_id);
    if (with_epoch) *epoch = kg_mpc_nd_ep_rd_u32(&r);
    if (!err) err = kg_mpc_node_rd_end(&r, what);
    return err;
}

/* Make the pending share of this session active at epoch (one transaction). */
static kg_err ep_commit(kg_mpc_nd *nd, const kg_mpc_node_msg *m)
{
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint32_t epoch = 0, pe = 0, have = 0;
    uint8_t sess[SID];
    kg_secret *sh = NULL;
    kg_err err = rd_key_epoch(key_id, &epoch, m, true, "EPOCH_COMMIT request");
    if (err) return err;
    err = pending_load(&sh, &pe, sess, nd, key_id);
    if (err == KG_ERR_NOT_FOUND) { /* a retried COMMIT that already went through is fine */
        kg_secret *cur = NULL;
        err = kg_mpc_nd_share_epoch(&have, nd, key_id);
        if (!err && have == epoch && kg_mpc_nd_share_load(&cur, nd, key_id) == KG_OK) {
            kg_secret_free(cur);
            return KG_OK;
        }
        return kg_err_set(KG_ERR_NOT_FOUND, "no pending share of key %s to commit (aborted, or FINISH failed)", key_id);
    }
    const kg_mpc_frost_key_share *s = err ? NULL : (const kg_mpc_frost_key_share *)kg_secret_cdata(sh);
    if (!err && (memcmp(sess, m->session, SID) || pe != epoch || s->group != (kg_mpc_group_id)m->scheme))
        err = kg_err_set(KG_ERR_CONFLICT, "the pending share of key %s belongs to another session or epoch", key_id);
    kg_store_txn *txn = NULL;
    if (!err) err = kg_store_txn_begin(nd->st, &txn);
    if (!err) err = kg_mpc_nd_share_replace(nd, txn, key_id, s, epoch);
    if (!err) err = kg_mpc_nd_ep_del(nd, txn, "pending", key_id);
    if (!err) {
        err = kg_store_txn_commit(txn);
        if (!err) txn = NULL;
    }
    if (txn) kg_store_txn_rollback(txn);
    kg_secret_free(sh);
    return err;
}

/* Drop this session's pending share (none is fine). */
static kg_err ep_abort(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m)
{
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint32_t pe = 0;
    uint8_t sess[SID];
    kg_secret *sh = NULL;
    kg_err err = rd_key_epoch(key_id, NULL, m, false, "EPOCH_ABORT request");
    if (err) return err;
    if (s && (s->kind == KG_MPC_ND_S_EPOCH || s->kind == KG_MPC_ND_S_REPAIR)) kg_mpc_nd_session_drop(nd, s);
    err = pending_load(&sh, &pe, sess, nd, key_id);
    kg_secret_free(sh);
    if (err == KG_ERR_NOT_FOUND) return KG_OK;
    if (!err && !memcmp(sess, m->session, SID)) err = kg_mpc_nd_ep_del(nd, NULL, "pending", key_id);
    return err;
}

/* A reshare left this node out: delete its share (at epoch or older). */
static kg_err ep_delete(kg_mpc_nd *nd, const kg_mpc_node_msg *m)
{
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint32_t epoch = 0, have = 0;
    kg_err err = rd_key_epoch(key_id, &epoch, m, true, "EPOCH_DELETE request");
    if (!err) err = kg_mpc_nd_share_epoch(&have, nd, key_id);
    if (!err && have > epoch)
        err = kg_err_set(KG_ERR_CONFLICT, "key %s is at epoch %u on this node, newer than %u: not deleting it", key_id,
                         have, epoch);
    kg_store_txn *txn = NULL;
    if (!err) err = kg_store_txn_begin(nd->st, &txn);
    if (!err) err = kg_mpc_nd_ep_del(nd, txn, "share", key_id);
    if (!err) err = kg_mpc_nd_ep_del(nd, txn, "epoch", key_id);
    if (!err) err = kg_mpc_nd_ep_del(nd, txn, "pending", key_id);
    if (!err) {
        err = kg_store_txn_commit(txn);
        if (!err) txn = NULL;
    }
    if (txn) kg_store_txn_rollback(txn);
    return err;
}

kg_err kg_mpc_nd_epoch_handle(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    switch (m->type) {
    case KG_MPC_NODE_EPOCH_DEAL: return kg_mpc_nd_epoch_deal(nd, m, w);
    case KG_MPC_NODE_EPOCH_FINISH: return kg_mpc_nd_epoch_finish(nd, s && s->kind == KG_MPC_ND_S_EPOCH ? s : NULL, m, w);
    case KG_MPC_NODE_EPOCH_COMMIT: return ep_commit(nd, m);
    case KG_MPC_NODE_EPOCH_ABORT: return ep_abort(nd, s, m);
    case KG_MPC_NODE_EPOCH_DELETE: /* a dealer left out of a reshare: its DEAL session ends here too */
        if (s && s->kind == KG_MPC_ND_S_EPOCH) kg_mpc_nd_session_drop(nd, s);
        return ep_delete(nd, m);
    case KG_MPC_NODE_REPAIR_STEP1: return kg_mpc_nd_repair_step1(nd, m, w);
    case KG_MPC_NODE_REPAIR_STEP2:
        if (s && s->kind == KG_MPC_ND_S_REPAIR) return kg_mpc_nd_repair_step2(nd, s, m, w);
        return kg_err_set(KG_ERR_NOT_FOUND, "no repair session in the right state for this request");
    case KG_MPC_NODE_REPAIR_FINISH: return kg_mpc_nd_repair_finish(nd, m, w);
    default: return kg_err_set(KG_ERR_BAD_INPUT, "type 0x%02x is not an epoch request", m->type);
    }
}
