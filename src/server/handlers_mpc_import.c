/* POST /v1/mpc/keys/import: an existing private key brought into the
 * server's MPC nodes by a trusted dealer (RFC 9591 Appendix C; the dealer
 * is `kashguard mpc import` on the operator's machine, docs/mpc.md
 * "Importing an existing key").
 *
 *   {"scheme","threshold","parties":[ids],"commitments":[b64 points],
 *    "dealer_public":b64 (the dealer's 32-byte X25519 key),
 *    "shares":{"<id>":b64 sealed envelope, ...}}  -> the key document
 *
 * The server only relays: every share is sealed to its node's envelope key
 * (the keys are published by GET /v1/mpc/nodes as "envelope_public"), so
 * neither the key nor a share is ever in the server's hands, logs or audit
 * log. The nodes check their shares against the commitments and each
 * other's confirmations (kg_mpc_coordinator_import) before activating;
 * the record is stored like a DKG's (epoch 0). Policy: "create-key". */
#include "server_int.h"

#include <kashguard/mpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXP KG_MPC_FROST_MAX_PARTICIPANTS
#define SEALED_MAX 512 /* a sealed share is ~150 bytes */

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static kg_err parse_ids(kg_server_mpc_import *q, const json_t *arr)
{
    if (!json_is_array(arr) || json_array_size(arr) < 2 || json_array_size(arr) > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'parties' must be an array of 2..%d node ids", MAXP);
    q->n = json_array_size(arr);
    for (size_t i = 0; i < q->n; i++) {
        const json_t *v = json_array_get(arr, i);
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : 0;
        if (id < 1 || id > MAXP) return kg_err_set(KG_ERR_BAD_INPUT, "field 'parties': node ids are 1..%d", MAXP);
        q->ids[i] = (uint16_t)id;
    }
    qsort(q->ids, q->n, sizeof *q->ids, cmp_u16);
    for (size_t i = 1; i < q->n; i++)
        if (q->ids[i] == q->ids[i - 1]) return kg_err_set(KG_ERR_BAD_INPUT, "field 'parties' names node %u twice", q->ids[i]);
    return KG_OK;
}

static kg_err parse_vss(kg_server_mpc_import *q, const json_t *arr)
{
    if (!json_is_array(arr) || json_array_size(arr) != q->t)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'commitments' must be an array of %u base64 points (one per "
                          "threshold)", q->t);
    kg_err e = KG_OK;
    for (unsigned j = 0; j < q->t && e == KG_OK; j++) {
        const char *s = json_string_value(json_array_get(arr, j));
        kg_bytes b = { 0 };
        if (s == NULL || kg_b64_decode(&b, s) != KG_OK ||
            kg_mpc_point_deserialize(q->g, &q->vss[j], b.data, b.len) != KG_OK)
            e = kg_err_set(KG_ERR_BAD_INPUT, "field 'commitments': entry %u is not a valid point of the scheme", j);
        kg_bytes_free(&b);
    }
    return e;
}

static kg_err parse_shares(kg_server_mpc_import *q, const json_t *obj)
{
    if (!json_is_object(obj) || json_object_size(obj) != q->n)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'shares' must map each of the %zu parties to its sealed share", q->n);
    kg_err e = KG_OK;
    for (size_t i = 0; i < q->n && e == KG_OK; i++) {
        char id[8];
        snprintf(id, sizeof id, "%u", q->ids[i]);
        const char *s = json_string_value(json_object_get(obj, id));
        if (s == NULL || strlen(s) > SEALED_MAX * 2 || kg_b64_decode(&q->sealed[i], s) != KG_OK ||
            q->sealed[i].len > SEALED_MAX)
            e = kg_err_set(KG_ERR_BAD_INPUT, "field 'shares': no valid sealed share for node %u", q->ids[i]);
    }
    return e;
}

void kg_server_mpc_import_free(kg_server_mpc_import *q)
{
    for (size_t i = 0; i < MAXP; i++)
        kg_bytes_free(&q->sealed[i]);
}

kg_err kg_server_mpc_import_parse(kg_server_mpc_import *q, const json_t *body)
{
    const char *scheme = NULL;
    int64_t t = 0;
    kg_bytes db = { 0 };
    memset(q, 0, sizeof *q);
    kg_err e = json_is_object(body) ? kg_json_get_str(&scheme, body, "scheme", false)
                                    : kg_err_set(KG_ERR_BAD_INPUT, "the body must be a JSON object");
    if (e == KG_OK)
        e = kg_mpc_key_scheme_parse(&q->g, &q->taproot, scheme ? scheme : "frost-ed25519");
    if (e == KG_OK)
        e = parse_ids(q, json_object_get(body, "parties"));
    if (e == KG_OK)
        e = kg_json_get_int(&t, body, "threshold", true);
    if (e == KG_OK && (t < 2 || (size_t)t > q->n))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'threshold' must be 2..%zu (the number of parties)", q->n);
    q->t = e == KG_OK ? (unsigned)t : 0;
    if (e == KG_OK)
        e = parse_vss(q, json_object_get(body, "commitments"));
    if (e == KG_OK)
        e = kg_json_get_b64(&db, body, "dealer_public", true, 64);
    if (e == KG_OK && db.len != 32)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'dealer_public' must be the dealer's 32-byte X25519 key");
    if (e == KG_OK)
        memcpy(q->dealer_box, db.data, 32);
    kg_bytes_free(&db);
    if (e == KG_OK)
        e = parse_shares(q, json_object_get(body, "shares"));
    if (e != KG_OK) {
        kg_server_mpc_import_free(q);
        memset(q, 0, sizeof *q);
    }
    return e;
}

/* Every party must be a node of this server. */
static kg_err known_nodes(kg_server_mpc *m, const kg_server_mpc_import *q)
{
    kg_mpc_coord_node *book = calloc(KG_SERVER_MPC_BOOK_MAX, sizeof *book);
    if (book == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    size_t nb = kg_server_mpc_book(m, book, KG_SERVER_MPC_BOOK_MAX);
    kg_err e = KG_OK;
    for (size_t i = 0; i < q->n && e == KG_OK; i++) {
        bool known = false;
        for (size_t j = 0; j < nb; j++)
            known = known || book[j].id == q->ids[i];
        if (!known)
            e = kg_err_set(KG_ERR_BAD_INPUT, "field 'parties': unknown node id %u (see GET /v1/mpc/nodes)", q->ids[i]);
    }
    free(book);
    return e;
}

kg_err kg_h_mpc_key_import(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "scheme", "threshold", "parties", "commitments", "dealer_public", "shares",
                                          NULL };
    kg_server_mpc *m = r->srv->mpc;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_server_mpc_authorize_create(r);
    if (e != KG_OK)
        return e;
    if (m == NULL)
        return kg_server_mpc_unavailable(r, out);
    kg_server_mpc_import *q = calloc(1, sizeof *q);
    kg_mpc_key *k = calloc(1, sizeof *k);
    e = q && k ? kg_server_mpc_import_parse(q, r->json) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = known_nodes(m, q);
    if (e == KG_OK)
        e = kg_mpc_coordinator_import(m->co, k, q->g, q->taproot, q->t, q->ids, q->n, q->vss, q->dealer_box, q->sealed);
    if (e == KG_OK)
        e = kg_server_mpc_key_create(r->srv, k);
    if (e == KG_OK) {
        snprintf(r->key_id, sizeof r->key_id, "%.63s", k->key_id);
        e = kg_server_mpc_key_document(out, k);
    }
    if (q)
        kg_server_mpc_import_free(q);
    free(q);
    free(k);
    return e;
}
