/* Handlers of the MPC key maintenance and node routes (the server as
 * coordinator, mpc/node.h):
 *
 *   POST /v1/mpc/keys/{key_id}/refresh  {}                        new shares, same key
 *   POST /v1/mpc/keys/{key_id}/reshare  {"threshold":T,"parties":[ids]}
 *        (FROST and CGGMP21 keys)
 *   POST /v1/mpc/keys/{key_id}/repair   {"node":N}                rebuild N's share
 *   POST /v1/mpc/keys/{key_id}/resync   {}                        rebuild the record from
 *        the nodes (after a crash between the nodes' commit and the record's save)
 *        -> the key document (with "stale":[ids]); policy action "rotate"
 *   GET  /v1/mpc/nodes                  {"nodes":[{"id","addr","up","rtt_ms","error","shares"}]}
 *        policy action "list-keys"
 *   POST /v1/mpc/nodes {"id","addr","csr","envelope_public"} -> {"certificate","ca",...}
 *        registration (mpc_register.c); policy action "manage-policies" (admins)
 *
 * Refresh, reshare and repair of one key are serialised by the key's lock
 * stripe (server_int.h) and the record is replaced only if its epoch is the
 * one the operation started from (kg_server_mpc_key_update), so two
 * concurrent refreshes cannot both win; the new record is durable before
 * the answer. */
#include "server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSR_MAX (16u * 1024u)

typedef struct {
    int kind; /* 0 refresh, 1 reshare, 2 repair, 3 resync */
    unsigned t;
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    size_t n;
    uint16_t node;
} key_op;

static pthread_mutex_t *key_stripe(kg_server_mpc *m, const char *key_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = key_id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return &m->key_mu[h % KG_SERVER_MPC_KEY_STRIPES];
}

/* Load, run op on the nodes, write back (epoch compared), answer the document. */
static kg_err run_key_op(kg_req *r, json_t **out, const key_op *op)
{
    kg_server_mpc *m = r->srv->mpc;
    kg_err e = kg_server_mpc_authorize_key(r, "rotate");
    if (e != KG_OK)
        return e;
    if (m == NULL)
        return kg_server_mpc_unavailable(r, out);
    kg_mpc_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    pthread_mutex_t *stripe = key_stripe(m, r->target.param);
    pthread_mutex_lock(stripe);
    e = kg_server_mpc_key_load(r->srv, k, r->target.param);
    uint32_t old_epoch = k->epoch;
    if (e == KG_OK && k->ecdsa && op->kind == 2) /* CGGMP21 keys (coord_cggmp*.c) */
        e = kg_mpc_coordinator_cggmp_repair(m->co, k, op->node);
    else if (e == KG_OK && k->ecdsa && op->kind == 3)
        e = kg_mpc_coordinator_cggmp_resync(m->co, k);
    else if (e == KG_OK && k->ecdsa && op->kind == 1)
        e = kg_mpc_coordinator_cggmp_reshare(m->co, k, op->t, op->ids, op->n);
    else if (e == KG_OK && k->ecdsa)
        e = kg_mpc_coordinator_cggmp_refresh(m->co, k);
    else if (e == KG_OK) {
        if (op->kind == 0)
            e = kg_mpc_coordinator_refresh(m->co, k);
        else if (op->kind == 1)
            e = kg_mpc_coordinator_reshare(m->co, k, op->t, op->ids, op->n);
        else if (op->kind == 2)
            e = kg_mpc_coordinator_repair(m->co, k, op->node);
        else
            e = kg_mpc_coordinator_resync(m->co, k);
    }
    kg_server_mpc_note_culprit(r, e);
    if (e == KG_OK)
        e = kg_server_mpc_key_update(r->srv, k, old_epoch);
    pthread_mutex_unlock(stripe);
    if (e == KG_OK)
        e = kg_server_mpc_key_document(out, k);
    free(k);
    return e;
}

kg_err kg_h_mpc_refresh(kg_req *r, json_t **out)
{
    static const char *const no_fields[] = { NULL };
    key_op op = { .kind = 0 };
    kg_err e = kg_req_fields(r, no_fields);
    return e == KG_OK ? run_key_op(r, out, &op) : e;
}

kg_err kg_h_mpc_resync(kg_req *r, json_t **out)
{
    static const char *const no_fields[] = { NULL };
    key_op op = { .kind = 3 };
    kg_err e = kg_req_fields(r, no_fields);
    return e == KG_OK ? run_key_op(r, out, &op) : e;
}

/* A node id field or array entry: 1..65535. */
static kg_err node_id(uint16_t *out, const json_t *v, const char *field)
{
    json_int_t id = json_is_integer(v) ? json_integer_value(v) : 0;
    if (id < 1 || id > 65535)
        return kg_err_set(KG_ERR_BAD_INPUT, "field '%s' must hold node ids 1..65535", field);
    *out = (uint16_t)id;
    return KG_OK;
}

kg_err kg_h_mpc_reshare(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "threshold", "parties", NULL };
    key_op op = { .kind = 1 };
    int64_t t = 0;
    const json_t *arr = json_object_get(r->json, "parties");
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_int(&t, r->json, "threshold", true);
    if (e == KG_OK && (!json_is_array(arr) || json_array_size(arr) < 2 ||
                       json_array_size(arr) > KG_MPC_FROST_MAX_PARTICIPANTS))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'parties' must be an array of 2..%d node ids",
                       KG_MPC_FROST_MAX_PARTICIPANTS);
    op.n = e == KG_OK ? json_array_size(arr) : 0;
    for (size_t i = 0; e == KG_OK && i < op.n; i++) {
        e = node_id(&op.ids[i], json_array_get(arr, i), "parties");
        for (size_t j = 0; e == KG_OK && j < i; j++)
            if (op.ids[j] == op.ids[i])
                e = kg_err_set(KG_ERR_BAD_INPUT, "field 'parties' names node %u twice", op.ids[i]);
    }
    if (e == KG_OK && (t < 2 || (size_t)t > op.n))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'threshold' must be 2..%zu (the number of parties)", op.n);
    op.t = (unsigned)t;
    return e == KG_OK ? run_key_op(r, out, &op) : e;
}

kg_err kg_h_mpc_repair(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "node", NULL };
    key_op op = { .kind = 2 };
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK && json_object_get(r->json, "node") == NULL)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'node' is required (the node id to repair)");
    if (e == KG_OK)
        e = node_id(&op.node, json_object_get(r->json, "node"), "node");
    return e == KG_OK ? run_key_op(r, out, &op) : e;
}

static json_t *status_entry(const kg_mpc_node_status *s)
{
    return json_pack("{s:i, s:s, s:b, s:o, s:o, s:o}", "id", (int)s->id, "addr", s->addr, "up", s->up, "rtt_ms",
                     s->up ? json_real(s->rtt_ms) : json_null(), "error", s->up ? json_null() : json_string(s->error),
                     "shares", s->shares >= 0 ? json_integer(s->shares) : json_null());
}

kg_err kg_h_mpc_nodes(kg_req *r, json_t **out)
{
    static const char *const no_fields[] = { NULL };
    kg_server_mpc *m = r->srv->mpc;
    kg_err e = kg_req_fields(r, no_fields);
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "list-keys", NULL);
    if (e != KG_OK)
        return e;
    if (m == NULL)
        return kg_server_mpc_unavailable(r, out);
    kg_mpc_node_status *st = calloc(KG_SERVER_MPC_BOOK_MAX, sizeof *st);
    json_t *arr = json_array();
    size_t n = 0;
    e = st && arr ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_mpc_coordinator_status(m->co, st, &n, KG_SERVER_MPC_BOOK_MAX);
    for (size_t i = 0; e == KG_OK && i < n; i++) {
        json_t *ent = status_entry(&st[i]);
        kg_mpc_net_pubkeys pk; /* the envelope keys a dealer seals to (mpc import) */
        if (ent != NULL && kg_mpc_coordinator_node_keys(&pk, m->co, st[i].id) == KG_OK) {
            uint8_t b[64];
            memcpy(b, pk.box, 32);
            memcpy(b + 32, pk.sign, 32);
            json_object_set_new(ent, "envelope_public", kg_json_b64(b, sizeof b));
        }
        if (json_array_append_new(arr, ent) != 0)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    free(st);
    *out = e == KG_OK ? json_pack("{s:o}", "nodes", arr) : NULL;
    if (e == KG_OK && *out == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e != KG_OK && (*out == NULL))
        json_decref(arr);
    return e;
}

/* "host:port" with a port 1..65535, printable, no spaces. */
static kg_err addr_check(const char *addr)
{
    size_t n = strlen(addr);
    const char *colon = strrchr(addr, ':');
    bool ok = n > 2 && n < 128 && colon != NULL && colon != addr && colon[1] != '\0';
    for (size_t i = 0; ok && i < n; i++)
        ok = addr[i] > 0x20 && addr[i] < 0x7F;
    char *end = NULL;
    long port = ok ? strtol(colon + 1, &end, 10) : 0;
    if (!ok || *end != '\0' || port < 1 || port > 65535)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'addr' must be host:port (port 1..65535), not '%.100s'", addr);
    return KG_OK;
}

kg_err kg_h_mpc_node_add(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "id", "addr", "csr", "envelope_public", NULL };
    const char *addr = NULL, *csr = NULL;
    int64_t id = 0;
    kg_bytes env = { 0 };
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_int(&id, r->json, "id", true);
    if (e == KG_OK && (id < 1 || id > 65535))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'id' must be a node id 1..65535");
    if (e == KG_OK)
        e = kg_json_get_str(&addr, r->json, "addr", true);
    if (e == KG_OK)
        e = addr_check(addr);
    if (e == KG_OK)
        e = kg_json_get_str(&csr, r->json, "csr", true);
    if (e == KG_OK && (strlen(csr) > CSR_MAX || strstr(csr, "-----BEGIN CERTIFICATE REQUEST-----") == NULL))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'csr' must be a PEM certificate request (kashguard mpc node-init)");
    if (e == KG_OK)
        e = kg_json_get_b64(&env, r->json, "envelope_public", true, 64);
    if (e == KG_OK && env.len != 64)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'envelope_public' must be 64 bytes (X25519 || Ed25519 public keys)");
    if (e == KG_OK)
        e = kg_kms_authorize(r->srv->kms, r->caller, "manage-policies", NULL);
    if (e == KG_OK && r->srv->mpc == NULL)
        e = kg_server_mpc_unavailable(r, out);
    else if (e == KG_OK)
        e = kg_server_mpc_node_register(r->srv, out, (uint16_t)id, addr, csr, env.data);
    kg_bytes_free(&env);
    return e;
}
