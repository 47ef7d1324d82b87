/* Durable single-use FROST nonces (RFC 9591 §5.1 commit, preprocessed).
 *
 * RFC 9591 §5.1/§7.3: a signer's nonce pair must never be used for two
 * signatures -- two signature shares under one nonce and different
 * challenges reveal the signing share. With preprocessing (the coordinator
 * collects commitments ahead of time) the nonces outlive a process, so
 * they live in the party's kg_store, and `use` is the only way out:
 *
 *   preprocess  makes N pairs (kg_mpc_frost_commit), seals each with
 *               AES-256-GCM under the caller's 32-byte sealing key (AAD =
 *               the record's key string, so a record cannot be moved to
 *               another slot), writes them all in one transaction and
 *               returns the commitments to publish.
 *   use         in ONE transaction: read and open the record, create the
 *               "used" marker (create-only: a second marker conflicts) and
 *               delete the sealed secret; only after the commit returns
 *               (durable: WAL, synchronous=FULL) does the caller get the
 *               nonce. A crash before the commit leaves the nonce unused
 *               and never handed out; a crash after it leaves it consumed.
 *               A second use of the commitment returns KG_ERR_CONFLICT.
 *
 * Records (prefix chosen by the caller, e.g. "mpc/<group-id>"):
 *   <prefix>/nonce/<suite>/<id>/<h>  sealed nonce: 0x01 || iv(12) || ct || tag(16),
 *                                    plaintext state(4, big-endian) || d || e
 *   <prefix>/used/<suite>/<id>/<h>   empty: this commitment was consumed
 * where h is the hex of the first 16 bytes of SHA-256(commitment wire form).
 * The nonce's state word is stored as kg_mpc_frost_commit set it, so the
 * restored nonce is exactly the one commit made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "kashguard/store.h"

#define REC_VERSION 1
#define PT_BYTES (4 + 2 * KG_MPC_SCALAR_BYTES)
#define REC_BYTES (1 + KG_GCM_IV_BYTES + PT_BYTES + KG_GCM_TAG_BYTES)
#define KEY_MAX 384

struct kg_mpc_frost_nonce_store {
    kg_store *st;
    kg_secret *key;
    char prefix[256];
};

kg_err kg_mpc_frost_nonce_store_open(kg_mpc_frost_nonce_store **out, kg_store *st, const char *prefix,
                                     const uint8_t seal_key[static KG_MPC_FROST_NONCE_SEAL_KEY_BYTES])
{
    *out = NULL;
    if (st == NULL || prefix == NULL || prefix[0] == '\0' || strlen(prefix) >= sizeof((*out)->prefix))
        return kg_err_set(KG_ERR_BAD_INPUT, "a nonce store needs a store and a non-empty key prefix "
                          "(under 256 bytes)");
    kg_mpc_frost_nonce_store *ns = calloc(1, sizeof *ns);
    if (ns == NULL || (ns->key = kg_secret_from(seal_key, KG_MPC_FROST_NONCE_SEAL_KEY_BYTES)) == NULL) {
        free(ns);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    ns->st = st;
    memcpy(ns->prefix, prefix, strlen(prefix) + 1);
    *out = ns;
    return KG_OK;
}

void kg_mpc_frost_nonce_store_close(kg_mpc_frost_nonce_store *ns)
{
    if (ns == NULL)
        return;
    kg_secret_free(ns->key);
    free(ns);
}

/* The record keys of commitment c (kind "nonce" or "used"). */
static kg_err rec_key(char out[KEY_MAX], const kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g,
                      const char *kind, const kg_mpc_frost_commitment *c)
{
    uint8_t wire[KG_MPC_FROST_COMMITMENT_MAX_BYTES], h[KG_SHA256_BYTES];
    char hex[33];
    size_t len = 0;
    kg_err e = kg_mpc_frost_commitment_serialize(g, wire, &len, c);
    if (e != KG_OK)
        return e;
    kg_crypto_sha256(h, wire, len);
    kg_hex_encode(hex, h, 16);
    int n = snprintf(out, KEY_MAX, "%s/%s/%s/%u/%s", ns->prefix, kind, kg_mpc_group_name(g), c->id, hex);
    if (n < 0 || n >= KEY_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "nonce store key too long");
    return KG_OK;
}

/* Seal one nonce into rec[REC_BYTES] with AAD = key. */
static kg_err seal(uint8_t rec[REC_BYTES], const kg_mpc_frost_nonce_store *ns, const char *key,
                   const kg_mpc_frost_nonce *n)
{
    uint8_t pt[PT_BYTES];
    pt[0] = (uint8_t)(n->state >> 24), pt[1] = (uint8_t)(n->state >> 16);
    pt[2] = (uint8_t)(n->state >> 8), pt[3] = (uint8_t)n->state;
    memcpy(pt + 4, n->hiding.b, KG_MPC_SCALAR_BYTES);
    memcpy(pt + 4 + KG_MPC_SCALAR_BYTES, n->binding.b, KG_MPC_SCALAR_BYTES);
    rec[0] = REC_VERSION;
    kg_err e = kg_crypto_random(rec + 1, KG_GCM_IV_BYTES);
    if (e == KG_OK)
        e = kg_crypto_aes256gcm_encrypt(rec + 1 + KG_GCM_IV_BYTES, rec + 1 + KG_GCM_IV_BYTES + PT_BYTES,
                                        KG_GCM_TAG_BYTES, kg_secret_cdata(ns->key), rec + 1, KG_GCM_IV_BYTES,
                                        (const uint8_t *)key, strlen(key), pt, PT_BYTES);
    kg_wipe(pt, sizeof pt);
    return e;
}

kg_err kg_mpc_frost_nonce_store_preprocess(kg_mpc_frost_nonce_store *ns, kg_mpc_frost_commitment *commitments,
                                           size_t n, const kg_mpc_frost_key_share *share)
{
    memset(commitments, 0, n * sizeof *commitments);
    if (n == 0 || n > KG_MPC_FROST_NONCE_PREPROCESS_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "preprocess 1 to %d nonces at a time, not %zu",
                          KG_MPC_FROST_NONCE_PREPROCESS_MAX, n);
    kg_store_txn *txn = NULL;
    kg_err e = kg_store_txn_begin(ns->st, &txn);
    if (e != KG_OK)
        return e;
    kg_mpc_frost_nonce nonce;
    uint8_t rec[REC_BYTES];
    char key[KEY_MAX];
    for (size_t i = 0; e == KG_OK && i < n; i++) {
        e = kg_mpc_frost_commit(&nonce, share, NULL, NULL);
        if (e == KG_OK)
            e = rec_key(key, ns, share->group, "nonce", &nonce.commitment);
        if (e == KG_OK)
            e = seal(rec, ns, key, &nonce);
        if (e == KG_OK)
            e = kg_store_create(ns->st, txn, key, rec, sizeof rec);
        if (e == KG_OK)
            commitments[i] = nonce.commitment;
        kg_wipe(&nonce, sizeof nonce);
    }
    if (e == KG_OK)
        e = kg_store_txn_commit(txn);
    else
        kg_store_txn_rollback(txn), txn = NULL;
    if (e != KG_OK) {
        if (txn != NULL) /* a failed commit still needs its handle freed */
            kg_store_txn_rollback(txn);
        memset(commitments, 0, n * sizeof *commitments);
    }
    return e;
}

/* Open rec (got from key) into *out and check it makes commitment c. */
static kg_err unseal(kg_mpc_frost_nonce *out, const kg_mpc_frost_nonce_store *ns, const char *key,
                     kg_mpc_group_id g, const kg_mpc_frost_commitment *c, const kg_bytes *rec)
{
    uint8_t pt[PT_BYTES];
    if (rec->len != REC_BYTES || rec->data[0] != REC_VERSION)
        return kg_err_set(KG_ERR_STORE, "nonce record %s is malformed", key);
    kg_err e = kg_crypto_aes256gcm_decrypt(pt, kg_secret_cdata(ns->key), rec->data + 1, KG_GCM_IV_BYTES,
                                           (const uint8_t *)key, strlen(key),
                                           rec->data + 1 + KG_GCM_IV_BYTES, PT_BYTES,
                                           rec->data + 1 + KG_GCM_IV_BYTES + PT_BYTES, KG_GCM_TAG_BYTES);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_DECRYPT, "nonce record %s does not open with this sealing key", key);
    out->state = (uint32_t)pt[0] << 24 | (uint32_t)pt[1] << 16 | (uint32_t)pt[2] << 8 | pt[3];
    out->group = g;
    kg_mpc_point D, E;
    e = kg_mpc_scalar_from_bytes(g, &out->hiding, pt + 4, KG_MPC_SCALAR_BYTES);
    if (e == KG_OK)
        e = kg_mpc_scalar_from_bytes(g, &out->binding, pt + 4 + KG_MPC_SCALAR_BYTES, KG_MPC_SCALAR_BYTES);
    kg_wipe(pt, sizeof pt);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_STORE, "nonce record %s holds a malformed scalar", key);
    kg_mpc_point_base_mul(g, &D, &out->hiding);
    kg_mpc_point_base_mul(g, &E, &out->binding);
    if (!kg_mpc_point_eq(g, &D, &c->hiding) || !kg_mpc_point_eq(g, &E, &c->binding))
        return kg_err_set(KG_ERR_STORE, "nonce record %s does not match its commitment", key);
    out->commitment = *c;
    return KG_OK;
}

/* The body of use, inside txn. */
static kg_err use_txn(kg_mpc_frost_nonce *out, kg_mpc_frost_nonce_store *ns, kg_store_txn *txn,
                      kg_mpc_group_id g, const kg_mpc_frost_commitment *c)
{
    char key[KEY_MAX], used[KEY_MAX];
    kg_bytes rec = {0};
    kg_err e = rec_key(key, ns, g, "nonce", c);
    if (e == KG_OK)
        e = rec_key(used, ns, g, "used", c);
    if (e != KG_OK)
        return e;
    e = kg_store_get(ns->st, txn, &rec, key);
    if (e == KG_ERR_NOT_FOUND) {
        kg_bytes mark = {0};
        kg_err m = kg_store_get(ns->st, txn, &mark, used);
        kg_bytes_free(&mark);
        if (m == KG_OK)
            return kg_err_set(KG_ERR_CONFLICT, "the nonce of participant %u for this commitment was already "
                              "used; sign with another preprocessed commitment", c->id);
        return kg_err_set(KG_ERR_NOT_FOUND, "no preprocessed nonce of participant %u for this commitment",
                          c->id);
    }
    if (e != KG_OK)
        return e;
    e = unseal(out, ns, key, g, c, &rec);
    kg_bytes_free(&rec);
    if (e == KG_OK)
        e = kg_store_create(ns->st, txn, used, NULL, 0);
    if (e == KG_ERR_CONFLICT)
        e = kg_err_set(KG_ERR_CONFLICT, "the nonce for this commitment was already used");
    if (e == KG_OK)
        e = kg_store_delete(ns->st, txn, key);
    return e;
}

kg_err kg_mpc_frost_nonce_store_use(kg_mpc_frost_nonce *out, kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g,
                                    const kg_mpc_frost_commitment *c)
{
    kg_mpc_frost_nonce n;
    memset(out, 0, sizeof *out);
    memset(&n, 0, sizeof n);
    if (!kg_mpc_group_valid(g) || c->id == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "need a FROST group and a commitment with a non-zero identifier");
    kg_store_txn *txn = NULL;
    kg_err e = kg_store_txn_begin(ns->st, &txn);
    if (e != KG_OK)
        return e;
    e = use_txn(&n, ns, txn, g, c);
    if (e == KG_OK) {
        e = kg_store_txn_commit(txn); /* durable before the secret leaves */
        if (e != KG_OK)
            kg_store_txn_rollback(txn);
    } else {
        kg_store_txn_rollback(txn);
    }
    if (e == KG_OK)
        *out = n;
    kg_wipe(&n, sizeof n);
    return e;
}

typedef struct { size_t count; } count_ctx;

static int count_one(void *arg, const char *key, const uint8_t *val, size_t val_len)
{
    (void)key, (void)val, (void)val_len;
    ((count_ctx *)arg)->count++;
    return 0;
}

kg_err kg_mpc_frost_nonce_store_count(size_t *out, kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g, uint16_t id)
{
    char prefix[KEY_MAX];
    count_ctx cc = {0};
    *out = 0;
    int n = snprintf(prefix, sizeof prefix, "%s/nonce/%s/%u/", ns->prefix, kg_mpc_group_name(g), id);
    if (n < 0 || (size_t)n >= sizeof prefix)
        return kg_err_set(KG_ERR_BAD_INPUT, "nonce store key too long");
    kg_err e = kg_store_list(ns->st, NULL, prefix, NULL, 0, count_one, &cc);
    if (e == KG_OK)
        *out = cc.count;
    return e;
}
