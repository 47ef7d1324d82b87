/* Handlers of threshold ECDSA (CGGMP21) keys on the MPC nodes, the server
 * as their coordinator (mpc/node.h, coord_cggmp*.c):
 *
 *   POST /v1/mpc/keys {"scheme":"cggmp21-secp256k1"|"cggmp21-p256",...}
 *        key generation then aux info (handlers_mpc.c calls
 *        kg_mpc_coordinator_cggmp_keygen for these schemes)
 *   POST /v1/mpc/keys/{id}/presign {"count":N} -> {"made":N}
 *        N (1..1000) single-use presignatures made ahead, so a signature
 *        is one round trip to t nodes [sign]
 *   POST /v1/mpc/keys/{id}/sign {"digest":b64 (32 bytes),"path":"m/0/5"?}
 *        -> {"signature":b64 r||s (low-S),"recovery_id","public_key":b64
 *        (33 bytes, the key signed for: the group key or its non-hardened
 *        BIP32 child at path),"path"} [sign]; kg_h_mpc_sign hands ECDSA
 *        keys to kg_h_mpc_ecdsa_sign
 *   POST /v1/mpc/keys/{id}/refresh  new Paillier keys and shares, same key
 *        (handlers_mpc_ops.c calls kg_mpc_coordinator_cggmp_refresh) [rotate]
 *
 * ECDSA signs a digest, never a message: the chain or application hashes
 * (SHA-256, Keccak-256, a sighash), so "message" on an ECDSA key is a 400
 * saying so. Every body is checked before anything reaches a node, so bad
 * input costs no presignature. A failed phase names the node to blame
 * ("party <id> ..."); kg_server_mpc_note_culprit puts that id in the
 * request's audit response entry ("culprit"). */
#include "server_int.h"

#include <kashguard/mpc.h>
#include <kashguard/mpc/cggmp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRESIGN_MAX 1000
#define PATH_TEXT_MAX 200
#define PATH_DEPTH_MAX 16

bool kg_server_mpc_key_is_ecdsa(kg_req *r)
{
    const char *id = r->target.param;
    if (r->srv->mpc == NULL || id == NULL || kg_mpc_node_key_id_check((const uint8_t *)id, strlen(id)) != KG_OK)
        return false;
    kg_mpc_key *k = calloc(1, sizeof *k);
    bool ecdsa = k != NULL && kg_server_mpc_key_load(r->srv, k, id) == KG_OK && k->ecdsa;
    free(k);
    return ecdsa;
}

void kg_server_mpc_note_culprit(kg_req *r, kg_err e)
{
    if (e == KG_OK || e == KG_ERR_NOMEM)
        return;
    const char *d = kg_err_detail(e), *p = d ? strstr(d, "party ") : NULL;
    char *end = NULL;
    unsigned long id = p ? strtoul(p + 6, &end, 10) : 0;
    if (p && end != p + 6 && id >= 1 && id <= 65535)
        r->mpc_culprit = (uint16_t)id;
}

kg_err kg_server_mpc_path_check(const char *path)
{
    uint32_t idx[PATH_DEPTH_MAX];
    size_t depth = 0;
    if (path == NULL)
        return KG_OK;
    if (strlen(path) > PATH_TEXT_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'path' is too long (at most %d levels)", PATH_DEPTH_MAX);
    kg_err e = kg_mpc_cggmp_hd_path_parse(path, idx, &depth, PATH_DEPTH_MAX);
    if (e != KG_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", kg_err_detail(e));
        return kg_err_set(KG_ERR_BAD_INPUT, "field 'path' '%.60s': %s", path, why);
    }
    return KG_OK;
}

kg_err kg_server_mpc_child_pub(uint8_t out[33], const kg_mpc_key *k, const char *path)
{
    uint32_t idx[PATH_DEPTH_MAX];
    size_t depth = 0;
    kg_mpc_point pub = k->group_public;
    kg_mpc_scalar tweak;
    uint8_t cc[32];
    kg_err e = path ? kg_mpc_cggmp_hd_path_parse(path, idx, &depth, PATH_DEPTH_MAX) : KG_OK;
    if (e == KG_OK && depth > 0)
        e = kg_mpc_cggmp_hd_derive(k->g, &k->group_public, k->chain_code, idx, depth, &tweak, &pub, cc);
    if (e == KG_OK)
        e = kg_mpc_point_serialize(k->g, out, &pub);
    kg_wipe(&tweak, sizeof tweak);
    return e;
}

/* Load the path's key (describe/sign already authorized); 400 unless ECDSA. */
static kg_err load_ecdsa(kg_mpc_key **out, kg_req *r, const char *what)
{
    kg_mpc_key *k = calloc(1, sizeof *k);
    kg_err e = k ? kg_server_mpc_key_load(r->srv, k, r->target.param) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK && !k->ecdsa)
        e = kg_err_set(KG_ERR_BAD_INPUT, "MPC key %s is %s: %s applies to threshold ECDSA keys (cggmp21-secp256k1, "
                       "cggmp21-p256)", k->key_id, kg_mpc_key_scheme(k), what);
    if (e != KG_OK) {
        free(k);
        k = NULL;
    }
    *out = k;
    return e;
}

/* "digest" (base64 of exactly 32 bytes) and "path" of a sign body. */
static kg_err sign_params(kg_req *r, uint8_t digest[32], const char **path)
{
    static const char *const fields[] = { "digest", "path", "message", NULL };
    kg_bytes d = { 0 };
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK && json_object_get(r->json, "message") != NULL)
        e = kg_err_set(KG_ERR_BAD_INPUT, "MPC key %.63s is a threshold ECDSA key: it signs a 32-byte digest, not a "
                       "message; hash the message (SHA-256, Keccak-256, the sighash) and send {\"digest\": base64 of "
                       "the 32 bytes}", r->target.param);
    if (e == KG_OK)
        e = kg_json_get_b64(&d, r->json, "digest", true, 4096);
    if (e == KG_OK && d.len != 32)
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'digest' must be base64 of 32 bytes (a SHA-256 or Keccak-256 "
                       "digest), got %zu bytes", d.len);
    if (e == KG_OK)
        memcpy(digest, d.data, 32);
    kg_bytes_free(&d);
    if (e == KG_OK)
        e = kg_json_get_str(path, r->json, "path", false);
    if (e == KG_OK)
        e = kg_server_mpc_path_check(*path);
    return e;
}

kg_err kg_h_mpc_ecdsa_sign(kg_req *r, json_t **out)
{
    uint8_t digest[32], sig[64], pub[KG_MPC_POINT_MAX_BYTES];
    const char *path = NULL;
    int recid = -1;
    kg_mpc_point child;
    kg_mpc_key *k = NULL;
    kg_err e = sign_params(r, digest, &path);
    if (e == KG_OK)
        e = kg_server_mpc_authorize_key(r, "sign");
    if (e == KG_OK && r->srv->mpc == NULL)
        return kg_server_mpc_unavailable(r, out);
    if (e == KG_OK)
        e = load_ecdsa(&k, r, "a digest signature");
    if (e == KG_OK) {
        e = kg_mpc_coordinator_cggmp_sign(r->srv->mpc->co, k, digest, path, sig, &recid, &child);
        kg_server_mpc_note_culprit(r, e);
    }
    if (e == KG_OK)
        e = kg_mpc_point_serialize(k->g, pub, &child);
    if (e == KG_OK) {
        *out = json_pack("{s:s, s:s, s:o, s:i, s:o, s:s}", "key_id", k->key_id, "scheme", kg_mpc_key_scheme(k),
                         "signature", kg_json_b64(sig, 64), "recovery_id", recid, "public_key", kg_json_b64(pub, 33),
                         "path", path ? path : "m");
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    free(k);
    return e;
}

kg_err kg_h_mpc_presign(kg_req *r, json_t **out)
{
    static const char *const fields[] = { "count", NULL };
    int64_t count = 0;
    unsigned made = 0;
    kg_mpc_key *k = NULL;
    kg_err e = kg_req_fields(r, fields);
    if (e == KG_OK)
        e = kg_json_get_int(&count, r->json, "count", true);
    if (e == KG_OK && (count < 1 || count > PRESIGN_MAX))
        e = kg_err_set(KG_ERR_BAD_INPUT, "field 'count' must be 1..%d presignatures, got %lld", PRESIGN_MAX,
                       (long long)count);
    if (e == KG_OK)
        e = kg_server_mpc_authorize_key(r, "sign");
    if (e == KG_OK && r->srv->mpc == NULL)
        return kg_server_mpc_unavailable(r, out);
    if (e == KG_OK)
        e = load_ecdsa(&k, r, "presign");
    if (e == KG_OK) {
        e = kg_mpc_coordinator_cggmp_presign(r->srv->mpc->co, k, (unsigned)count, &made);
        kg_server_mpc_note_culprit(r, e);
    }
    if (e == KG_OK) {
        *out = json_pack("{s:s, s:I, s:I}", "key_id", k->key_id, "requested", (json_int_t)count, "made",
                         (json_int_t)made);
        if (*out == NULL)
            e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    free(k);
    return e;
}
