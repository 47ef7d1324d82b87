/* The coordinator's key records (kg_mpc_key, mpc/node.h): scheme names of
 * the API, the public key as the API shows it, and the JSON form the server
 * keeps in its store and the CLI in files. A record read back is untrusted
 * (a file an operator may have edited): every field is checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/mpc/cggmp.h"
#include "node_int.h"

#define TAPROOT_SCHEME "frost-secp256k1-tr"

const char *kg_mpc_key_scheme(const kg_mpc_key *k)
{
    if (k->ecdsa) return kg_mpc_cggmp_scheme_name(k->g);
    return k->taproot ? TAPROOT_SCHEME : kg_mpc_frost_scheme_name(k->g);
}

kg_err kg_mpc_key_scheme_parse(kg_mpc_group_id *g, bool *taproot, const char *name)
{
    *taproot = name && strcmp(name, TAPROOT_SCHEME) == 0;
    if (*taproot) {
        *g = KG_MPC_GROUP_SECP256K1;
        return KG_OK;
    }
    return kg_mpc_frost_scheme_parse(g, name);
}

kg_err kg_mpc_key_scheme_parse_any(kg_mpc_group_id *g, bool *taproot, bool *ecdsa, const char *name)
{
    *ecdsa = name && strncmp(name, "cggmp21-", 8) == 0;
    if (*ecdsa) {
        *taproot = false;
        if (kg_mpc_cggmp_scheme_parse(g, name) == KG_OK) return KG_OK;
        *ecdsa = false;
    } else if (kg_mpc_key_scheme_parse(g, taproot, name) == KG_OK) {
        return KG_OK;
    }
    *g = 0;
    *taproot = false;
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown MPC scheme \"%s\": use frost-ed25519, frost-ristretto255, "
                      "frost-p256, frost-secp256k1, frost-secp256k1-tr, cggmp21-secp256k1 or cggmp21-p256",
                      name ? name : "");
}

kg_err kg_mpc_key_public(uint8_t out[static KG_MPC_POINT_MAX_BYTES], size_t *out_len, const kg_mpc_key *k)
{
    kg_err err = kg_mpc_point_serialize(k->g, out, &k->group_public);
    *out_len = err ? 0 : kg_mpc_group_point_len(k->g);
    if (!err && k->taproot) { /* BIP340: the x coordinate only */
        memmove(out, out + 1, 32);
        *out_len = 32;
    }
    return err;
}

static json_t *point_b64(const kg_mpc_key *k, const kg_mpc_point *p)
{
    uint8_t b[KG_MPC_POINT_MAX_BYTES];
    return kg_mpc_point_serialize(k->g, b, p) ? NULL : kg_json_b64(b, kg_mpc_group_point_len(k->g));
}

kg_err kg_mpc_key_to_json(json_t **out, const kg_mpc_key *k)
{
    json_t *nodes = json_array();
    for (unsigned i = 0; nodes && i < k->n; i++)
        if (json_array_append_new(nodes, json_pack("{s:i, s:o*, s:b}", "id", (int)k->ids[i], "public_share",
                                                   point_b64(k, &k->pub[i]), "stale", k->stale[i])))
            break;
    *out = nodes && json_array_size(nodes) == k->n
               ? json_pack("{s:s, s:s, s:i, s:i, s:I, s:o*, s:o}", "key_id", k->key_id, "scheme", kg_mpc_key_scheme(k),
                           "threshold", (int)k->t, "n", (int)k->n, "epoch", (json_int_t)k->epoch, "public_key",
                           point_b64(k, &k->group_public), "nodes", nodes)
               : NULL;
    if (!*out) {
        json_decref(nodes);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (k->ecdsa && json_object_set_new(*out, "chain_code", kg_json_b64(k->chain_code, sizeof k->chain_code))) {
        json_decref(*out);
        *out = NULL;
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (!json_object_get(*out, "public_key")) {
        json_decref(*out);
        *out = NULL;
        return kg_err_set(KG_ERR_INTERNAL, "key %s has an invalid group key", k->key_id);
    }
    return KG_OK;
}

static kg_err get_point(kg_mpc_point *out, kg_mpc_group_id g, const json_t *o, const char *field)
{
    kg_bytes b = {0};
    kg_err err = kg_json_get_b64(&b, o, field, true, KG_MPC_POINT_MAX_BYTES);
    if (!err) err = kg_mpc_point_deserialize(g, out, b.data, b.len);
    kg_bytes_free(&b);
    return err;
}

static kg_err chain_code_from_json(kg_mpc_key *k, const json_t *o)
{
    kg_bytes b = {0};
    kg_err err = kg_json_get_b64(&b, o, "chain_code", true, sizeof k->chain_code);
    if (!err && b.len != sizeof k->chain_code)
        err = kg_err_set(KG_ERR_BAD_INPUT, "key record: a CGGMP21 chain_code is 32 bytes");
    if (!err) memcpy(k->chain_code, b.data, sizeof k->chain_code);
    kg_bytes_free(&b);
    return err;
}

static kg_err nodes_from_json(kg_mpc_key *k, const json_t *nodes)
{
    for (unsigned i = 0; i < k->n; i++) {
        const json_t *e = json_array_get(nodes, i);
        int64_t id = 0;
        kg_err err = kg_json_get_int(&id, e, "id", true);
        if (!err && (id < 1 || id > KG_MPC_NET_PARTY_MAX || (i && id <= k->ids[i - 1])))
            err = kg_err_set(KG_ERR_BAD_INPUT, "node ids must be ascending in 1..65535 (entry %u)", i);
        if (!err) err = get_point(&k->pub[i], k->g, e, "public_share");
        if (err) return kg_err_set(err, "key record, node entry %u: %s", i, kg_err_detail(err));
        k->ids[i] = (uint16_t)id;
        k->stale[i] = json_is_true(json_object_get(e, "stale"));
    }
    return KG_OK;
}

kg_err kg_mpc_key_from_json(kg_mpc_key *k, const json_t *o)
{
    const char *id = NULL, *scheme = NULL;
    int64_t t = 0, n = 0, epoch = 0;
    memset(k, 0, sizeof *k);
    kg_err err = json_is_object(o) ? KG_OK : kg_err_set(KG_ERR_BAD_INPUT, "a key record is a JSON object");
    if (!err) err = kg_json_get_str(&id, o, "key_id", true);
    if (!err) err = kg_mpc_node_key_id_check((const uint8_t *)id, strlen(id));
    if (!err) err = kg_json_get_str(&scheme, o, "scheme", true);
    if (!err) err = kg_mpc_key_scheme_parse_any(&k->g, &k->taproot, &k->ecdsa, scheme);
    if (!err) err = kg_json_get_int(&t, o, "threshold", true);
    if (!err) err = kg_json_get_int(&n, o, "n", true);
    if (!err) err = kg_json_get_int(&epoch, o, "epoch", false);
    const json_t *nodes = json_object_get(o, "nodes");
    if (!err && (t < 2 || n < t || n > KG_MPC_FROST_MAX_PARTICIPANTS || epoch < 0 || epoch > UINT32_MAX ||
                 !json_is_array(nodes) || json_array_size(nodes) != (size_t)n))
        err = kg_err_set(KG_ERR_BAD_INPUT, "key record: bad threshold, epoch or node list");
    if (!err) err = get_point(&k->group_public, k->g, o, "public_key");
    if (!err && k->ecdsa) err = chain_code_from_json(k, o);
    if (!err) {
        snprintf(k->key_id, sizeof k->key_id, "%s", id);
        k->t = (unsigned)t;
        k->n = (unsigned)n;
        k->epoch = (uint32_t)epoch;
        err = nodes_from_json(k, nodes);
    }
    if (err) memset(k, 0, sizeof *k);
    return err;
}

kg_err kg_mpc_key_file_save(const char *dir, const kg_mpc_key *k)
{
    char p[4200];
    json_t *o = NULL;
    snprintf(p, sizeof p, "%s/keys", dir);
    kg_err err = kg_mpc_node_mkdir(p);
    if (!err) err = kg_mpc_key_to_json(&o, k);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (!err && !text) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    snprintf(p, sizeof p, "%s/keys/%s.json", dir, k->key_id);
    if (!err) err = kg_mpc_node_file_write(p, (const uint8_t *)text, strlen(text), false);
    free(text);
    return err;
}

kg_err kg_mpc_key_file_load(kg_mpc_key *k, const char *dir, const char *key_id)
{
    char p[4200];
    kg_bytes b = {0};
    json_t *o = NULL;
    memset(k, 0, sizeof *k);
    kg_err err = kg_mpc_node_key_id_check((const uint8_t *)key_id, strlen(key_id));
    if (err) return err;
    snprintf(p, sizeof p, "%s/keys/%s.json", dir, key_id);
    if ((err = kg_mpc_node_file_read(&b, p, 1 << 20)))
        return err == KG_ERR_NOT_FOUND ? kg_err_set(err, "no MPC key %s in %s/keys", key_id, dir) : err;
    err = kg_json_parse_object(&o, (const char *)b.data, b.len);
    kg_bytes_free(&b);
    if (!err) err = kg_mpc_key_from_json(k, o);
    json_decref(o);
    if (err) return kg_err_set(err, "%s: %s", p, kg_err_detail(err));
    return KG_OK;
}
