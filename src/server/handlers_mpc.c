/* Handlers of /v1/mpc/keys: threshold keys held by MPC nodes (dev children
 * of mpc_dev.c or nodes registered through POST /v1/mpc/nodes), with the
 * server as their coordinator (mpc/node.h).
 *
 *   POST /v1/mpc/keys             {"scheme","threshold","parties"?,"nodes"?}
 *                                 -> DKG over the given node ids, or the
 *                                 first `parties` nodes (default: all)
 *   GET  /v1/mpc/keys/{key_id}    the key document, public parts only
 *   POST /v1/mpc/keys/{key_id}/sign {"message":b64} -> {"signature":b64}
 *   (refresh, reshare, repair and the node routes: handlers_mpc_ops.c)
 *
 * The server holds no share: the key record in its store (mpc_store.c,
 * written before the answer) has the group key and the public shares.
 * Access goes through the KMS policies like every key action: "create-key"
 * for a DKG, "describe" and "sign" on key_meta {"key_id":<id>,"alias":null},
 * so a policy rule naming an MPC key id grants exactly that key. Without
 * MPC the routes answer 503 saying how to enable it. Network operations
 * run concurrently: nodes serve many connections and the coordinator is
 * thread-safe. */
#include "server_int.h"

#include <kashguard/mpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX (64u * 1024u)

/* The 503 document for a server that is not an MPC coordinator. */
kg_err kg_server_mpc_unavailable(kg_req *r, json_t **out)
{
    r->status = 503;
    *out = json_pack("{s:{s:s,s:s}}", "error", "code", "mpc_unavailable", "message",
                     "this server is not an MPC coordinator; start it with `mpc = true` in its config "
                     "(--mpc) and register nodes, or for a try `kashguard server --dev --mpc-nodes 3` "
                     "(docs/mpc.md)");
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* An MPC key id from the path (the syntax every node and record use). */
static kg_err key_id_check(const char *id)
{
    kg_err e = kg_mpc_node_key_id_check((const uint8_t *)id, id != NULL ? strlen(id) : 0);
    return e == KG_OK ? KG_OK
                      : kg_err_set(e, "'%.80s' is not an MPC key id (like mpc-0123...): %s", id ? id : "", kg_err_detail(e));
}

/* Authorize action on the MPC key named by the path (after checking its syntax). */
kg_err kg_server_mpc_authorize_key(kg_req *r, const char *action)
{
    kg_err e = key_id_check(r->target.param);
    if (e != KG_OK)
        return e;
    snprintf(r->key_id, sizeof r->key_id, "%.63s", r->target.param);
    json_t *meta = json_pack("{s:s, s:n}", "key_id", r->target.param, "alias");
    e = meta ? kg_kms_authorize(r->srv->kms, r->caller, action, meta) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(meta);
    return e;
}

/* Optional positive integer field with a default. */
static kg_err get_count(unsigned *out, const json_t *obj, const char *field, unsigned def)
{
    int64_t v = def;
    kg_err e = kg_json_get_int(&v, obj, field, false);
    if (e == KG_OK && json_object_get(obj, field) == NULL)
        v = def;
    if (e == KG_OK && (v < 2 || v > KG_MPC_FROST_MAX_PARTICIPANTS))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field '%s' must be 2..%d", field, KG_MPC_FROST_MAX_PARTICIPANTS);
    *out = e == KG_OK ? (unsigned)v : 0;
    return e;
}

/* The API's view of a key record: public parts only; "stale" lists the
 * holders that missed a refresh (repair them). */
kg_err kg_server_mpc_key_document(json_t **out, const kg_mpc_key *k)
{
    uint8_t pub[KG_MPC_POINT_MAX_BYTES];
    size_t pub_len = 0;
    kg_err e = kg_mpc_key_public(pub, &pub_len, k);
    json_t *nodes = json_array(), *stale = json_array();
    for (unsigned i = 0; e == KG_OK && nodes != NULL && stale != NULL && i < k->n; i++) {
        json_array_append_new(nodes, json_integer(k->ids[i]));
        if (k->stale[i])
            json_array_append_new(stale, json_integer(k->ids[i]));
    }
    *out = e == KG_OK && nodes != NULL && stale != NULL
               ? json_pack("{s:s, s:s, s:i, s:i, s:I, s:o, s:o, s:o}", "key_id", k->key_id, "scheme",
                           kg_mpc_key_scheme(k), "threshold", (int)k->t, "parties", (int)k->n, "epoch",
                           (json_int_t)k->epoch, "public_key", kg_json_b64(pub, pub_len), "nodes", nodes, "stale",
                           stale)
               : NULL;
    if (*out == NULL) {
        json_decref(nodes);
        json_decref(stale);
        return e != KG_OK ? e : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (k->ecdsa) /* CGGMP21: the BIP32 chain code of the group key (public) */
        json_object_set_new(*out, "chain_code", kg_json_b64(k->chain_code, sizeof k->chain_code));
    return KG_OK;
}

/* The key's node ids: the "nodes" array, else the first n of the book. */
static kg_err pick_nodes(uint16_t *ids, kg_server_mpc *m, const json_t *body, unsigned n)
{
    kg_mpc_coord_node *book = calloc(KG_SERVER_MPC_BOOK_MAX, sizeof *book);
    if (book == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    size_t nb = kg_server_mpc_book(m, book, KG_SERVER_MPC_BOOK_MAX);
    const json_t *arr = json_object_get(body, "nodes");
    kg_err e = KG_OK;
    if (arr == NULL && n > nb)
        e = kg_err_set(KG_ERR_BAD_INPUT, "parties %u is more than the %zu MPC nodes of this server", n, nb);
    for (unsigned i = 0; arr == NULL && e == KG_OK && i < n; i++)
        ids[i] = book[i].id;
    for (unsigned i = 0; arr != NULL && e == KG_OK && i < n; i++) {
        json_t *v = json_array_get(arr, i);
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : 0;
        bool known = false, dup = false;
        for (size_t j = 0; j < nb; j++)
            known = known || book[j].id == id;
        for (unsigned j = 0; j < i; j++)
            dup = dup || ids[j] == id;
        if (!known || dup)
            e = kg_err_set(KG_ERR_BAD_INPUT, "field 'nodes': %s node id %lld", dup ? "repeated" : "unknown",
                           (long long)id);
        else
            ids[i] = (uint16_t)id;
    }
    free(book);
    return e;
}

/* The default party count: the "nodes" array's length, else every node. */
static unsigned default_parties(kg_server_mpc *m, const json_t *body)
{
    const json_t *arr = json_object_get(body, "nodes");
    if (json_is_array(arr))
        return (unsigned)json_array_size(arr);
    if (m == NULL)
        return 3;
    pthread_mutex_lock(&m->book_mu);
    unsigned n = (unsigned)m->n_book;
    pthread_mutex_unlock(&m->book_mu);
    return n;
}

/* Body of POST /v1/mpc/keys: scheme, threshold, party count. */
static kg_err create_params(kg_req *r, kg_mpc_group_id *g, bool *taproot, bool *ecdsa, unsigned *t, unsigned *n)
{
    static const char *const fields[] = { "scheme", "threshold", "parties", "nodes", NULL };
    const char *scheme = NULL;
    const json_t *arr = json_object_get(r->json, "nodes");
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&scheme, r->json, "scheme", false);
    if (e == KG_OK)
        e = kg_mpc_key_scheme_parse_any(g, taproot, ecdsa, scheme ? scheme : "frost-ed25519");
    if (e == KG_OK && arr != NULL && !json_is_array(arr))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'nodes' must be an array of node ids");
    if (e == KG_OK)
        e = get_count(n, r->json, "parties", default_parties(r->srv->mpc, r->json));
    if (e == KG_OK && arr != NULL && json_array_size(arr) != *n)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'nodes' names %zu nodes, parties is %u", json_array_size(arr), *n);
    if (e == KG_OK && json_object_get(r->json, "threshold") == NULL)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'threshold' is required (2..parties)");
    if (e == KG_OK)
        e = get_count(t, r->json, "threshold", 2);
    if (e == KG_OK && *t > *n)
        e = kg_err_set(KG_ERR_BAD_INPUT, "threshold %u is more than parties %u", *t, *n);
    return e;
}

/* "create-key" for a new MPC key: it has no alias, so the rules that allow
 * creating keys without naming one decide. */
kg_err kg_server_mpc_authorize_create(kg_req *r)
{
    json_t *probe = json_pack("{s:n}", "alias");
    kg_err e = probe != NULL ? kg_kms_authorize(r->srv->kms, r->caller, "create-key", probe)
                             : kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(probe);
    return e;
}

kg_err kg_h_mpc_key_create(kg_req *r, json_t **out)
{
    kg_server_mpc *m = r->srv->mpc;
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    bool taproot = false, ecdsa = false;
    unsigned t = 0, n = 0;
    kg_err e = create_params(r, &g, &taproot, &ecdsa, &t, &n);
    if (e == KG_OK)
        e = kg_server_mpc_authorize_create(r);
    if (e != KG_OK)
        return e;
    if (m == NULL)
        return kg_server_mpc_unavailable(r, out);
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    e = pick_nodes(ids, m, r->json, n);
    kg_mpc_key *k = e == KG_OK ? calloc(1, sizeof *k) : NULL;
    if (e != KG_OK || k == NULL)
        return e != KG_OK ? e : kg_err_set(KG_ERR_NOMEM, "out of memory");
    e = ecdsa ? kg_mpc_coordinator_cggmp_keygen(m->co, k, g, t, ids, n) /* CGGMP21: handlers_mpc_ecdsa.c */
              : kg_mpc_coordinator_keygen(m->co, k, g, taproot, t, ids, n);
    kg_server_mpc_note_culprit(r, e);
    if (e == KG_OK)
        e = kg_server_mpc_key_create(r->srv, k);
    if (e == KG_OK) {
        snprintf(r->key_id, sizeof r->key_id, "%.63s", k->key_id);
        e = kg_server_mpc_key_document(out, k);
    }
    free(k);
    return e;
}

kg_err kg_h_mpc_key_get(kg_req *r, json_t **out)
{
    static const char *const no_fields[] = { NULL };
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_server_mpc_authorize_key(r, "describe");
    if (e != KG_OK)
        return e;
    if (r->srv->mpc == NULL)
        return kg_server_mpc_unavailable(r, out);
    kg_mpc_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    e = kg_server_mpc_key_load(r->srv, k, r->target.param);
    if (e == KG_OK)
        e = kg_server_mpc_key_document(out, k);
    free(k);
    return e;
}

kg_err kg_h_mpc_sign(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "message", NULL };
    kg_bytes msg = { 0 };
    if (json_object_get(r->json, "digest") != NULL || kg_server_mpc_key_is_ecdsa(r)) /* CGGMP21 keys sign digests */
        return kg_h_mpc_ecdsa_sign(r, out);
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_b64(&msg, r->json, "message", true, MSG_MAX);
    if (e == KG_OK)
        e = kg_server_mpc_authorize_key(r, "sign");
    if (e == KG_OK && r->srv->mpc == NULL)
        e = kg_server_mpc_unavailable(r, out);
    else if (e == KG_OK) {
        kg_server_mpc *m = r->srv->mpc;
        uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
        size_t sig_len = 0;
        kg_mpc_key *k = calloc(1, sizeof *k);
        e = k != NULL ? kg_server_mpc_key_load(r->srv, k, r->target.param) : kg_err_set(KG_ERR_NOMEM, "out of memory");
        if (e == KG_OK) {
            e = kg_mpc_coordinator_sign(m->co, sig, &sig_len, k, msg.data, msg.len, NULL);
        }
        free(k);
        if (e == KG_OK) {
            *out = json_pack("{s:s, s:o}", "key_id", r->target.param, "signature", kg_json_b64(sig, sig_len));
            if (*out == NULL)
                e = kg_err_set(KG_ERR_NOMEM, "out of memory");
        }
    }
    kg_bytes_free(&msg);
    return e;
}
