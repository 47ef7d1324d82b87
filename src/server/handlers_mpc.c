/* Handlers of /v1/mpc/keys: threshold keys held by the dev MPC nodes
 * (mpc_dev.c), with the server as their coordinator (mpc/node.h).
 *
 *   POST /v1/mpc/keys             {"scheme","threshold","parties"} -> DKG over nodes 1..parties
 *   GET  /v1/mpc/keys/{key_id}    the key record, public parts only
 *   POST /v1/mpc/keys/{key_id}/sign {"message":b64} -> {"signature":b64}
 *
 * The server holds no share: the key record (<data>/mpc/keys/<id>.json) has
 * the group key, the public shares and the node addresses. Access goes
 * through the KMS policies like every key action: "create-key" for a DKG,
 * "describe" and "sign" on key_meta {"key_id":<id>,"alias":null}, so a
 * policy rule naming an MPC key id grants exactly that key. Without MPC
 * nodes the routes answer 503 saying how to start them. One MPC operation
 * runs at a time (srv->mpc->mu): a node serves one connection at a time. */
#include "server_int.h"

#include <kashguard/mpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX (64u * 1024u)

/* The 503 document for a server started without --mpc-nodes. */
static kg_err no_nodes(kg_req *r, json_t **out)
{
    r->status = 503;
    *out = json_pack("{s:{s:s,s:s}}", "error", "code", "mpc_unavailable", "message",
                     "no MPC nodes are configured on this server; start it with "
                     "`kashguard server --dev --mpc-nodes 3` (docs/mpc.md)");
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* An MPC key id from the path: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
static kg_err key_id_check(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    bool ok = n >= 1 && n <= KG_MPC_NODE_KEY_ID_MAX && id[0] != '.';
    for (size_t i = 0; ok && i < n; i++)
        ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9') ||
             id[i] == '.' || id[i] == '_' || id[i] == '-';
    return ok ? KG_OK : kg_err_set(KG_ERR_BAD_INPUT, "'%.80s' is not an MPC key id (like mpc-0123...)", id ? id : "");
}

/* Authorize action on the MPC key named by the path (after checking its syntax). */
static kg_err authorize_key(kg_req *r, const char *action)
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

/* The API's view of a key record: public parts only. */
static kg_err key_document(json_t **out, const kg_mpc_key *k)
{
    uint8_t pub[KG_MPC_POINT_MAX_BYTES];
    size_t pub_len = 0;
    kg_err e = kg_mpc_key_public(pub, &pub_len, k);
    json_t *nodes = json_array();
    for (unsigned i = 0; e == KG_OK && nodes != NULL && i < k->n; i++)
        json_array_append_new(nodes, json_integer(k->ids[i]));
    *out = e == KG_OK && nodes != NULL
               ? json_pack("{s:s, s:s, s:i, s:i, s:I, s:o, s:o}", "key_id", k->key_id, "scheme", kg_mpc_key_scheme(k),
                           "threshold", (int)k->t, "parties", (int)k->n, "epoch", (json_int_t)k->epoch,
                           "public_key", kg_json_b64(pub, pub_len), "nodes", nodes)
               : NULL;
    if (*out == NULL) {
        json_decref(nodes);
        return e != KG_OK ? e : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    return KG_OK;
}

kg_err kg_h_mpc_key_create(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "scheme", "threshold", "parties", NULL };
    kg_server_mpc *m = r->srv->mpc;
    const char *scheme = "frost-ed25519";
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    bool taproot = false;
    unsigned t = 0, n = 0;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_str(&scheme, r->json, "scheme", false);
    if (e == KG_OK && scheme == NULL)
        scheme = "frost-ed25519";
    if (e == KG_OK)
        e = kg_mpc_key_scheme_parse(&g, &taproot, scheme);
    if (e == KG_OK)
        e = get_count(&n, r->json, "parties", m ? m->n : 3);
    if (e == KG_OK && json_object_get(r->json, "threshold") == NULL)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'threshold' is required (2..parties)");
    if (e == KG_OK)
        e = get_count(&t, r->json, "threshold", 2);
    if (e == KG_OK && t > n)
        e = kg_err_set(KG_ERR_BAD_INPUT, "threshold %u is more than parties %u", t, n);
    json_t *probe = e == KG_OK ? json_pack("{s:n}", "alias") : NULL;
    if (e == KG_OK)
        e = probe ? kg_kms_authorize(r->srv->kms, r->caller, "create-key", probe) : KG_ERR_NOMEM;
    json_decref(probe);
    if (e != KG_OK)
        return e;
    if (m == NULL)
        return no_nodes(r, out);
    if (n > m->n)
        return kg_err_set(KG_ERR_BAD_INPUT, "parties %u is more than the %u MPC nodes of this server", n, m->n);
    uint16_t ids[KG_SERVER_MPC_NODES_MAX];
    for (unsigned i = 0; i < n; i++)
        ids[i] = (uint16_t)(i + 1);
    kg_mpc_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&m->mu);
    e = kg_mpc_coordinator_keygen(m->co, k, g, taproot, t, ids, n);
    pthread_mutex_unlock(&m->mu);
    if (e == KG_OK)
        e = kg_mpc_key_file_save(m->dir, k);
    if (e == KG_OK) {
        snprintf(r->key_id, sizeof r->key_id, "%.63s", k->key_id);
        e = key_document(out, k);
    }
    free(k);
    return e;
}

kg_err kg_h_mpc_key_get(kg_req *r, json_t **out)
{
    static const char *const no_fields[] = { NULL };
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = authorize_key(r, "describe");
    if (e != KG_OK)
        return e;
    if (r->srv->mpc == NULL)
        return no_nodes(r, out);
    kg_mpc_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    e = kg_mpc_key_file_load(k, r->srv->mpc->dir, r->target.param);
    if (e == KG_ERR_NOT_FOUND)
        e = kg_err_set(KG_ERR_NOT_FOUND, "no MPC key %.80s", r->target.param);
    if (e == KG_OK)
        e = key_document(out, k);
    free(k);
    return e;
}

kg_err kg_h_mpc_sign(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "message", NULL };
    kg_bytes msg = { 0 };
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_b64(&msg, r->json, "message", true, MSG_MAX);
    if (e == KG_OK)
        e = authorize_key(r, "sign");
    if (e == KG_OK && r->srv->mpc == NULL)
        e = no_nodes(r, out);
    else if (e == KG_OK) {
        kg_server_mpc *m = r->srv->mpc;
        uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
        size_t sig_len = 0;
        kg_mpc_key *k = calloc(1, sizeof *k);
        e = k != NULL ? kg_mpc_key_file_load(k, m->dir, r->target.param) : kg_err_set(KG_ERR_NOMEM, "out of memory");
        if (e == KG_ERR_NOT_FOUND)
            e = kg_err_set(KG_ERR_NOT_FOUND, "no MPC key %.80s", r->target.param);
        pthread_mutex_lock(&m->mu);
        if (e == KG_OK)
            e = kg_mpc_coordinator_sign(m->co, sig, &sig_len, k, msg.data, msg.len, NULL);
        pthread_mutex_unlock(&m->mu);
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
