/* Reshare of a CGGMP21 key over the node network: the same public key and
 * chain code on a new set of nodes and/or a new threshold.
 *
 * CGGMP21 (eprint 2021/060) has no resharing; the library's
 * cggmp_reshare.c is the verifiable secret redistribution FROST's reshare
 * uses (Feldman VSS of λ_i·x_i by at least t old holders, commit first).
 * The operation, each step a phase run of coord_cggmp.c:
 *   1. dealers: the old holders that answer CGGMP_INFO at the key's epoch
 *      (at least the old t);
 *   2. phase 5 (reshare) on dealers ∪ new set: START carries the new set
 *      and the key record's public data (new-only nodes have no share to
 *      learn it from); the new public shares are checked to be new_t-of-n
 *      shares of the unchanged key; CONFIRM goes to the new set only, whose
 *      nodes keep the new share STAGED in memory;
 *   3. phase 2 (aux) on the new set at epoch + 1: its CONFIRM stores share
 *      and aux together (and deletes the old epoch's presignatures): the
 *      new key becomes active;
 *   4. the reshare CONFIRM to the old holders leaving: they delete their
 *      records of the key (best effort, as FROST's EPOCH_DELETE).
 * A failure before step 3's CONFIRM sends ABORT to every participant of
 * the reshare session and leaves the old key working at its epoch.
 *
 * Repair (kg_mpc_coordinator_cggmp_repair) is this reshare to the same set
 * and threshold with t up-to-date holders other than the repaired node as
 * dealers: the repaired node (stale, or its store lost) only receives, its
 * old record, if any, is replaced, and the aux run gives everyone new
 * Paillier keys. CGGMP21's refresh (Fig. 6) is n-party, so a node that is
 * down stops a refresh rather than missing it; repair covers a node that
 * lost its data or came back from an old backup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coord_cggmp_int.h"

#define MAXP KG_MPC_CO_CG_MAXP
#define RESHARE_MS 180000

size_t kg_mpc_co_cg_tell(kg_mpc_coordinator *co, kg_mpc_group_id g, const uint8_t *sess, uint8_t type,
                         const kg_bytes *body, const uint16_t *ids, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        kg_mpc_net_conn *c = NULL;
        if (kg_mpc_co_connect(&c, co, ids[i])) continue;
        kg_mpc_node_wr w = {0};
        if (body && body->len) kg_mpc_node_wr_fixed(&w, body->data, body->len);
        kg_err e = kg_mpc_co_call0(c, type, g, sess, &w);
        kg_mpc_co_release(co, c, e != KG_ERR_NETWORK);
        ok += e == KG_OK;
    }
    return ok;
}

static bool has_id(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

/* Does node id answer CGGMP_INFO for k at k's epoch? */
static bool holder_live(kg_mpc_coordinator *co, const kg_mpc_key *k, uint16_t id)
{
    kg_mpc_net_conn *c = NULL;
    uint8_t sess[KG_MPC_NET_SESSION_ID_BYTES] = {0};
    if (kg_mpc_co_connect(&c, co, id)) return false;
    kg_mpc_node_wr w = {0};
    kg_bytes resp = {0};
    kg_mpc_node_msg m;
    kg_mpc_node_wr_blob(&w, (const uint8_t *)k->key_id, strlen(k->key_id));
    kg_err e = kg_mpc_node_wr_done(&w);
    if (!e) e = kg_mpc_coord_call(&resp, &m, c, KG_MPC_NODE_CGGMP_INFO, k->g, sess, &w.b);
    bool ok = !e && m.body_len >= 4 &&
              ((uint32_t)m.body[0] << 24 | (uint32_t)m.body[1] << 16 | (uint32_t)m.body[2] << 8 | m.body[3]) == k->epoch;
    kg_mpc_co_release(co, c, e != KG_ERR_NETWORK);
    kg_bytes_free(&resp);
    kg_bytes_free(&w.b);
    return ok;
}

/* The new set sorted into nk (t, n, ids); distinct, non-zero. */
static kg_err new_set(kg_mpc_key *nk, unsigned new_t, const uint16_t *new_ids, size_t new_n)
{
    if (new_n < 2 || new_n > MAXP || new_t < 2 || new_t > new_n)
        return kg_err_set(KG_ERR_BAD_INPUT, "a CGGMP21 reshare needs 2 <= threshold <= parties <= %d (got %u of %zu)",
                          MAXP, new_t, new_n);
    for (size_t i = 0; i < new_n; i++) {
        size_t j = i;
        while (j > 0 && nk->ids[j - 1] > new_ids[i]) { nk->ids[j] = nk->ids[j - 1]; j--; }
        nk->ids[j] = new_ids[i];
    }
    for (size_t i = 0; i < new_n; i++)
        if (nk->ids[i] == 0 || (i && nk->ids[i] == nk->ids[i - 1]))
            return kg_err_set(KG_ERR_BAD_INPUT, "the new node ids must be distinct and non-zero (%u)", nk->ids[i]);
    nk->t = new_t;
    nk->n = (unsigned)new_n;
    return KG_OK;
}

/* The reshare result: the new public shares of the same key. */
static kg_err reshare_check(void *arg, const uint8_t *res, size_t len)
{
    kg_mpc_key *nk = arg;
    size_t pl = kg_mpc_group_point_len(nk->g);
    if (len != nk->n * pl) return kg_err_set(KG_ERR_BAD_INPUT, "the reshare result has the wrong length");
    for (size_t i = 0; i < nk->n; i++)
        if (kg_mpc_point_deserialize(nk->g, &nk->pub[i], res + i * pl, pl))
            return kg_err_set(KG_ERR_VERIFY, "the nodes agree on an invalid new public share");
    kg_err err = kg_mpc_co_cg_shares_check(nk->g, &nk->group_public, nk->pub, nk->ids, nk->n, nk->t);
    if (err) err = kg_err_set(KG_ERR_VERIFY, "the reshared public shares do not give the key's public key: %s",
                              kg_err_detail(err));
    return err;
}

/* Dealers (live old holders other than skip, at most cap) and participants
 * (dealers ∪ new set), sorted. */
static kg_err sets(kg_mpc_coordinator *co, const kg_mpc_key *old, const kg_mpc_key *nk, uint16_t skip, size_t cap,
                   uint16_t *dealers, size_t *nd, uint16_t *parts, size_t *np)
{
    char down[256] = "";
    *nd = *np = 0;
    for (size_t i = 0; i < old->n && *nd < cap; i++) {
        if (old->ids[i] == skip) continue; /* repair: the node repaired only receives */
        if (holder_live(co, old, old->ids[i])) dealers[(*nd)++] = old->ids[i];
        else snprintf(down + strlen(down), sizeof down - strlen(down), " %u", old->ids[i]);
    }
    if (*nd < old->t)
        return kg_err_set(KG_ERR_NETWORK, "key %s: only %zu of its nodes answer at epoch %u to deal, it needs %u "
                          "(down or at another epoch:%s)", old->key_id, *nd, old->epoch, old->t, down);
    for (size_t a = 0, b = 0; a < *nd || b < nk->n;) {
        uint16_t x = a < *nd ? dealers[a] : UINT16_MAX, y = b < nk->n ? nk->ids[b] : UINT16_MAX;
        uint16_t v = x < y ? x : y;
        if (x == v) a++;
        if (y == v) b++;
        if (*np >= MAXP) return kg_err_set(KG_ERR_BAD_INPUT, "a reshare can have at most %d participants", MAXP);
        parts[(*np)++] = v;
    }
    return KG_OK;
}

/* Steps 2 and 3; on failure ABORT to every reshare participant. */
static kg_err run_both(kg_mpc_coordinator *co, const kg_mpc_key *old, kg_mpc_key *nk, kg_mpc_co_cg_phase *rp,
                       const uint16_t *dealers, size_t nd, const uint16_t *parts, size_t np)
{
    *rp = (kg_mpc_co_cg_phase){.co = co, .g = old->g, .phase = KG_MPC_CO_CG_RESHARE, .key_id = old->key_id,
                               .t = nk->t, .ids = parts, .n = np, .parts = parts, .np = np, .epoch = old->epoch,
                               .call_ms = RESHARE_MS, .check = reshare_check, .arg = nk, .dealers = dealers,
                               .n_dealers = nd, .new_ids = nk->ids, .new_n = nk->n, .old = old};
    kg_err err = kg_mpc_co_cg_run(rp);
    if (err) return err; /* the run sent ABORT */
    kg_mpc_co_cg_phase ap = {.co = co, .g = nk->g, .phase = KG_MPC_CO_CG_AUX, .key_id = nk->key_id, .t = nk->t,
                             .ids = nk->ids, .n = nk->n, .parts = nk->ids, .np = nk->n, .epoch = nk->epoch,
                             .call_ms = RESHARE_MS};
    err = kg_mpc_co_cg_run(&ap);
    kg_mpc_co_cg_free(&ap);
    if (err) {
        kg_bytes none = {0};
        char d[1400];
        snprintf(d, sizeof d, "%s", kg_err_detail(err));
        (void)kg_mpc_co_cg_tell(co, old->g, rp->sess, KG_MPC_NODE_CGGMP_ABORT, &none, parts, np);
        err = kg_err_set(err, "the new nodes of key %s could not make their aux info: %s", old->key_id, d);
    }
    return err;
}

/* The reshare of key to new_ids with threshold new_t; dealers: live
 * holders other than skip, at most cap. what names the operation in errors. */
static kg_err redistribute(kg_mpc_coordinator *co, kg_mpc_key *key, unsigned new_t, const uint16_t *new_ids,
                           size_t new_n, uint16_t skip, size_t cap, const char *what)
{
    if (!key->ecdsa || key->t < 2 || key->t > key->n || key->n > MAXP || key->epoch == UINT32_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a CGGMP21 key with a valid threshold", key->key_id);
    kg_mpc_key *nk = calloc(1, sizeof *nk);
    kg_mpc_co_cg_phase *rp = calloc(1, sizeof *rp);
    uint16_t dealers[MAXP], parts[MAXP], leaving[MAXP];
    size_t nd = 0, np = 0, nl = 0;
    kg_err err = nk && rp ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) {
        *nk = *key;
        memset(nk->ids, 0, sizeof nk->ids);
        memset(nk->pub, 0, sizeof nk->pub);
        memset(nk->stale, 0, sizeof nk->stale);
        nk->epoch = key->epoch + 1;
        err = new_set(nk, new_t, new_ids, new_n);
    }
    if (!err) err = sets(co, key, nk, skip, cap, dealers, &nd, parts, &np);
    if (!err) err = run_both(co, key, nk, rp, dealers, nd, parts, np);
    if (err) {
        char d[1400];
        snprintf(d, sizeof d, "%s", kg_err_detail(err));
        err = kg_err_set(err, "%s of key %s failed; the key is unchanged (epoch %u, %u-of-%u): %s", what, key->key_id,
                         key->epoch, key->t, key->n, d);
    } else {
        for (size_t i = 0; i < nd; i++)
            if (!has_id(nk->ids, nk->n, dealers[i])) leaving[nl++] = dealers[i];
        /* the new set is active: the old holders leaving delete their share */
        (void)kg_mpc_co_cg_tell(co, key->g, rp->sess, KG_MPC_NODE_CGGMP_CONFIRM, &rp->confirms, leaving, nl);
        *key = *nk;
        kg_mpc_co_cg_inv_forget(co, key->key_id);
    }
    if (rp) kg_mpc_co_cg_free(rp);
    free(rp);
    free(nk);
    return err;
}

kg_err kg_mpc_coordinator_cggmp_reshare(kg_mpc_coordinator *co, kg_mpc_key *key, unsigned new_t,
                                        const uint16_t *new_ids, size_t new_n)
{
    return redistribute(co, key, new_t, new_ids, new_n, 0, MAXP, "reshare");
}

/* Repair = a reshare to the same set and threshold dealt by t up-to-date
 * holders other than the node repaired (which only receives: a node does
 * not load its share for a reshare it does not deal in, so an old-epoch
 * record or none at all is fine; the aux CONFIRM overwrites it), then the
 * aux run of the whole set at epoch + 1 (everyone gets new Paillier keys:
 * the repaired node needs its own and the others need its). */
kg_err kg_mpc_coordinator_cggmp_repair(kg_mpc_coordinator *co, kg_mpc_key *key, uint16_t node)
{
    if (!key->ecdsa || key->t < 2 || key->t > key->n || key->n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a CGGMP21 key with a valid threshold", key->key_id);
    if (!has_id(key->ids, key->n, node))
        return kg_err_set(KG_ERR_BAD_INPUT, "node %u does not hold key %s (holders: %u-of-%u); reshare to add a node",
                          node, key->key_id, key->t, key->n);
    uint16_t ids[MAXP];
    memcpy(ids, key->ids, key->n * sizeof *ids);
    char what[48];
    snprintf(what, sizeof what, "repair of node %u", node);
    return redistribute(co, key, key->t, ids, key->n, node, key->t, what);
}
