/* The CGGMP21 records of an MPC node and its safe-prime pool.
 *
 * Records live in the node's kg_store next to the FROST shares and are
 * sealed the same way (node.c: AES-256-GCM under the node's seal key, the
 * record name bound as AAD, a fresh random IV per write):
 *
 *   cggmp/<key>/share          kg_mpc_cggmp_share_encode (epoch inside)
 *   cggmp/<key>/aux            kg_mpc_cggmp_aux_encode (Paillier secrets)
 *   cggmp/<key>/presig/<hex>   kg_mpc_cggmp_presig_encode, with a clear
 *                              header (used flag, order of use, what it
 *                              signed, the signing set)
 *
 * A record is: u16 header length, header, IV 12, ciphertext, tag 16, with
 * AAD = record name || u16 || header, so the header can be read without
 * unsealing (INFO lists presignatures, SIGN prunes used ones) yet cannot be
 * changed without the seal key: a presignature marked used cannot be
 * "unused" by editing the database (CGGMP21 §4: a presignature is single
 * use; two signatures from one reveal the key).
 *
 * Used presignatures are kept for identification (CGGMP21 Fig. 8 needs the
 * presignature's secrets to prove a σ_i correct) until 100 newer ones were
 * used or the key is refreshed.
 *
 * The safe-prime pool (safeprime.c) is <data_dir>/cggmp-primes.txt, primes
 * of half the Paillier modulus size, four kept ready by a background
 * thread once the node does CGGMP21 work (its first CGGMP request, or a
 * pool file left by earlier work at start); FROST-only nodes stay idle. */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "cggmp_int.h"
#include "node_int.h"

#define HDR_MAX (1 + 1 + 8 + 32 + 32 + 2 + 2 * KG_CGGMP_MAX_PARTIES)
#define USED_KEEP 100
#define RECORD_MAX 200

static void rec_name(char *out, const char *key_id, const char *what)
{
    snprintf(out, RECORD_MAX, "cggmp/%s/%s", key_id, what);
}

static void presig_name(char *out, const char *key_id, const uint8_t id[32])
{
    char hex[65];
    kg_hex_encode(hex, id, 32);
    snprintf(out, RECORD_MAX, "cggmp/%s/presig/%s", key_id, hex);
}

/* AAD = name || u16 header length || header. */
static uint8_t *aad_make(size_t *len, const char *rec, const uint8_t *hdr, size_t hl)
{
    size_t nl = strlen(rec);
    uint8_t *a = malloc(nl + 2 + hl + 1);
    if (!a) return NULL;
    memcpy(a, rec, nl);
    a[nl] = (uint8_t)(hl >> 8);
    a[nl + 1] = (uint8_t)hl;
    if (hl) memcpy(a + nl + 2, hdr, hl);
    *len = nl + 2 + hl;
    return a;
}

/* Seal pt under record name rec with clear header hdr; store it. */
static kg_err seal_put(kg_mpc_nd *nd, kg_store_txn *txn, const char *rec, const uint8_t *hdr, size_t hl,
                       const uint8_t *pt, size_t pl, bool create)
{
    size_t al = 0, total = 2 + hl + KG_GCM_IV_BYTES + pl + KG_GCM_TAG_BYTES;
    uint8_t *aad = aad_make(&al, rec, hdr, hl), *buf = malloc(total);
    kg_err err = aad && buf ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) {
        buf[0] = (uint8_t)(hl >> 8);
        buf[1] = (uint8_t)hl;
        if (hl) memcpy(buf + 2, hdr, hl);
        err = kg_crypto_random(buf + 2 + hl, KG_GCM_IV_BYTES);
    }
    uint8_t *ct = buf ? buf + 2 + hl + KG_GCM_IV_BYTES : NULL;
    if (!err)
        err = kg_crypto_aes256gcm_encrypt(ct, ct + pl, KG_GCM_TAG_BYTES, kg_secret_cdata(nd->seal_key), buf + 2 + hl,
                                          KG_GCM_IV_BYTES, aad, al, pt, pl);
    if (!err) err = create ? kg_store_create(nd->st, txn, rec, buf, total) : kg_store_put(nd->st, txn, rec, buf, total);
    free(aad);
    free(buf);
    return err;
}

/* Split a stored record into its header and sealed part (no unsealing). */
static kg_err rec_split(const uint8_t **hdr, size_t *hl, const uint8_t *b, size_t len, const char *rec)
{
    if (len < 2) return kg_err_set(KG_ERR_STORE, "the record %s is corrupt", rec);
    *hl = (size_t)b[0] << 8 | b[1];
    if (len < 2 + *hl + KG_GCM_IV_BYTES + KG_GCM_TAG_BYTES) return kg_err_set(KG_ERR_STORE, "the record %s is corrupt", rec);
    *hdr = b + 2;
    return KG_OK;
}

/* Read and unseal record rec: *pt a new secret, hdr (optional) a copy of
 * the clear header (at most HDR_MAX bytes). */
static kg_err load_open(kg_mpc_nd *nd, kg_store_txn *txn, const char *rec, kg_secret **pt, uint8_t *hdr, size_t *hl_out)
{
    kg_bytes b = {0};
    const uint8_t *h = NULL;
    size_t hl = 0, al = 0;
    *pt = NULL;
    kg_err err = kg_store_get(nd->st, txn, &b, rec);
    if (err) return err == KG_ERR_NOT_FOUND ? kg_err_set(KG_ERR_NOT_FOUND, "no record %s on this node", rec) : err;
    if (!(err = rec_split(&h, &hl, b.data, b.len, rec)) && (hl > HDR_MAX || b.len == 2 + hl + KG_GCM_IV_BYTES + KG_GCM_TAG_BYTES))
        err = kg_err_set(KG_ERR_STORE, "the record %s is corrupt", rec);
    size_t cl = err ? 0 : b.len - 2 - hl - KG_GCM_IV_BYTES - KG_GCM_TAG_BYTES;
    uint8_t *aad = err ? NULL : aad_make(&al, rec, h, hl);
    kg_secret *s = err ? NULL : kg_secret_new(cl);
    if (!err && (!aad || !s)) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err)
        err = kg_crypto_aes256gcm_decrypt(kg_secret_data(s), kg_secret_cdata(nd->seal_key), h + hl, KG_GCM_IV_BYTES,
                                          aad, al, h + hl + KG_GCM_IV_BYTES, cl, h + hl + KG_GCM_IV_BYTES + cl,
                                          KG_GCM_TAG_BYTES);
    if (err == KG_ERR_DECRYPT) err = kg_err_set(KG_ERR_DECRYPT, "cannot unseal %s (wrong seal.key, or altered)", rec);
    if (!err && hdr) memcpy(hdr, h, hl);
    if (!err && hl_out) *hl_out = hl;
    free(aad);
    kg_bytes_free(&b);
    if (err) { kg_secret_free(s); return err; }
    *pt = s;
    return KG_OK;
}

/* ------------------------------------------------------------ share, aux */

kg_err kg_mpc_nd_cg_share_save(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, const kg_mpc_cggmp_share *sh,
                               bool create)
{
    char rec[RECORD_MAX];
    kg_bytes b = {0};
    rec_name(rec, key_id, "share");
    kg_err err = kg_mpc_cggmp_share_encode(&b, sh);
    if (!err) err = seal_put(nd, txn, rec, NULL, 0, b.data, b.len, create);
    if (err == KG_ERR_CONFLICT) err = kg_err_set(KG_ERR_CONFLICT, "CGGMP key %s already exists on this node", key_id);
    if (b.data) kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
    return err;
}

kg_err kg_mpc_nd_cg_share_load(kg_mpc_nd *nd, const char *key_id, kg_mpc_cggmp_share *out)
{
    char rec[RECORD_MAX];
    kg_secret *pt = NULL;
    memset(out, 0, sizeof *out);
    rec_name(rec, key_id, "share");
    kg_err err = load_open(nd, NULL, rec, &pt, NULL, NULL);
    if (err == KG_ERR_NOT_FOUND) return kg_err_set(KG_ERR_NOT_FOUND, "no CGGMP key %s on this node", key_id);
    if (!err) err = kg_mpc_cggmp_share_decode(out, kg_secret_cdata(pt), kg_secret_len(pt));
    kg_secret_free(pt);
    return err;
}

kg_err kg_mpc_nd_cg_aux_save(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, const kg_mpc_cggmp_aux *a)
{
    char rec[RECORD_MAX];
    kg_bytes b = {0};
    rec_name(rec, key_id, "aux");
    kg_err err = kg_mpc_cggmp_aux_encode(&b, a);
    if (!err) err = seal_put(nd, txn, rec, NULL, 0, b.data, b.len, false);
    if (b.data) kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
    return err;
}

kg_err kg_mpc_nd_cg_aux_load(kg_mpc_nd *nd, const char *key_id, kg_mpc_cggmp_aux **out)
{
    char rec[RECORD_MAX];
    kg_secret *pt = NULL;
    *out = NULL;
    rec_name(rec, key_id, "aux");
    kg_err err = load_open(nd, NULL, rec, &pt, NULL, NULL);
    if (err == KG_ERR_NOT_FOUND)
        return kg_err_set(KG_ERR_NOT_FOUND, "CGGMP key %s has no aux info on this node: run aux first", key_id);
    if (!err) err = kg_mpc_cggmp_aux_decode(out, kg_secret_cdata(pt), kg_secret_len(pt));
    kg_secret_free(pt);
    return err;
}

/* ---------------------------------------------------------- presignatures */

static size_t meta_write(uint8_t *h, const kg_mpc_nd_cg_presig_meta *m)
{
    size_t o = 0;
    h[o++] = 1; /* header version */
    h[o++] = m->used ? 1 : 0;
    for (int i = 7; i >= 0; i--) h[o++] = (uint8_t)(m->used_seq >> (8 * i));
    memcpy(h + o, m->digest, 32), o += 32;
    memcpy(h + o, m->path, 32), o += 32;
    h[o++] = (uint8_t)(m->ns >> 8);
    h[o++] = (uint8_t)m->ns;
    for (size_t i = 0; i < m->ns; i++) h[o++] = (uint8_t)(m->signers[i] >> 8), h[o++] = (uint8_t)m->signers[i];
    return o;
}

static kg_err meta_read(kg_mpc_nd_cg_presig_meta *m, const uint8_t *h, size_t hl, const char *rec)
{
    memset(m, 0, sizeof *m);
    size_t o = 2;
    if (hl < 1 + 1 + 8 + 64 + 2 || h[0] != 1 || h[1] > 1) return kg_err_set(KG_ERR_STORE, "the record %s is corrupt", rec);
    m->used = h[1] == 1;
    for (int i = 0; i < 8; i++) m->used_seq = m->used_seq << 8 | h[o++];
    memcpy(m->digest, h + o, 32), o += 32;
    memcpy(m->path, h + o, 32), o += 32;
    m->ns = (uint16_t)(h[o] << 8 | h[o + 1]), o += 2;
    if (m->ns == 0 || m->ns > KG_CGGMP_MAX_PARTIES || hl != o + 2 * (size_t)m->ns)
        return kg_err_set(KG_ERR_STORE, "the record %s is corrupt", rec);
    for (size_t i = 0; i < m->ns; i++, o += 2) m->signers[i] = (uint16_t)(h[o] << 8 | h[o + 1]);
    return KG_OK;
}

static kg_err presig_put(kg_mpc_nd *nd, kg_store_txn *txn, const char *rec, const kg_mpc_nd_cg_presig_meta *m,
                         const uint8_t *pt, size_t pl, bool create)
{
    uint8_t hdr[HDR_MAX];
    size_t hl = meta_write(hdr, m);
    return seal_put(nd, txn, rec, hdr, hl, pt, pl, create);
}

kg_err kg_mpc_nd_cg_presig_save(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, const kg_mpc_cggmp_presig *ps)
{
    char rec[RECORD_MAX];
    kg_mpc_nd_cg_presig_meta m;
    kg_bytes b = {0};
    size_t ns = 0;
    memset(&m, 0, sizeof m);
    const uint16_t *sg = kg_mpc_cggmp_presig_signers(ps, &ns);
    if (ns == 0 || ns > KG_CGGMP_MAX_PARTIES) return kg_err_set(KG_ERR_BAD_INPUT, "a presignature without signers");
    m.ns = (uint16_t)ns;
    memcpy(m.signers, sg, ns * sizeof *sg);
    presig_name(rec, key_id, kg_mpc_cggmp_presig_id(ps));
    kg_err err = kg_mpc_cggmp_presig_encode(&b, ps);
    if (!err) err = presig_put(nd, txn, rec, &m, b.data, b.len, true);
    if (err == KG_ERR_CONFLICT) err = kg_err_set(KG_ERR_CONFLICT, "presignature already stored for key %s", key_id);
    if (b.data) kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
    return err;
}

kg_err kg_mpc_nd_cg_presig_load(kg_mpc_nd *nd, const char *key_id, const uint8_t id[32], kg_mpc_cggmp_presig **out,
                                kg_mpc_nd_cg_presig_meta *meta)
{
    char rec[RECORD_MAX];
    uint8_t hdr[HDR_MAX];
    size_t hl = 0;
    kg_secret *pt = NULL;
    if (out) *out = NULL;
    presig_name(rec, key_id, id);
    kg_err err = load_open(nd, NULL, rec, &pt, hdr, &hl);
    if (err == KG_ERR_NOT_FOUND) return kg_err_set(KG_ERR_NOT_FOUND, "no such presignature of key %s on this node", key_id);
    if (!err) err = meta_read(meta, hdr, hl, rec);
    if (!err && out) err = kg_mpc_cggmp_presig_decode(out, kg_secret_cdata(pt), kg_secret_len(pt));
    kg_secret_free(pt);
    return err;
}

/* The headers of a key's presignatures (the list walk). */
typedef struct {
    kg_mpc_nd_cg_presig_fn fn;
    void *arg;
    size_t prefix_len;
    kg_err err;
} walk_ctx;

static int walk_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
    walk_ctx *c = arg;
    const uint8_t *h = NULL;
    size_t hl = 0, idl = 0;
    uint8_t id[32];
    kg_mpc_nd_cg_presig_meta m;
    c->err = rec_split(&h, &hl, val, len, key);
    if (!c->err && hl > HDR_MAX) c->err = kg_err_set(KG_ERR_STORE, "the record %s is corrupt", key);
    if (!c->err) c->err = meta_read(&m, h, hl, key);
    if (!c->err && (kg_hex_decode(id, sizeof id, &idl, key + c->prefix_len) != KG_OK || idl != 32))
        c->err = kg_err_set(KG_ERR_STORE, "the record name %s is corrupt", key);
    if (c->err) return 1;
    return c->fn(c->arg, id, &m);
}

kg_err kg_mpc_nd_cg_presig_list(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, kg_mpc_nd_cg_presig_fn fn,
                                void *arg)
{
    char prefix[RECORD_MAX];
    rec_name(prefix, key_id, "presig/");
    walk_ctx c = {.fn = fn, .arg = arg, .prefix_len = strlen(prefix), .err = KG_OK};
    kg_err err = kg_store_list(nd->st, txn, prefix, NULL, 0, walk_one, &c);
    return err ? err : c.err;
}

/* Pruning: the used presignatures in order of use. */
typedef struct {
    size_t n, cap;
    uint64_t *seq;
    uint8_t (*id)[32];
    uint64_t max_seq;
} used_list;

static int used_add(void *arg, const uint8_t id[32], const kg_mpc_nd_cg_presig_meta *m)
{
    used_list *u = arg;
    if (m->used_seq > u->max_seq) u->max_seq = m->used_seq;
    if (!m->used) return 0;
    if (u->n == u->cap) {
        size_t nc = u->cap ? 2 * u->cap : 64;
        uint64_t *s = realloc(u->seq, nc * sizeof *s);
        if (s) u->seq = s;
        uint8_t(*i)[32] = s ? realloc(u->id, nc * sizeof *i) : NULL;
        if (!i) return 1;
        u->id = i;
        u->cap = nc;
    }
    u->seq[u->n] = m->used_seq;
    memcpy(u->id[u->n++], id, 32);
    return 0;
}

/* Delete the used presignatures that have USED_KEEP newer ones. */
static kg_err prune(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id, const used_list *u)
{
    kg_err err = KG_OK;
    for (size_t i = 0; i < u->n && !err; i++) {
        size_t newer = 0;
        for (size_t j = 0; j < u->n; j++) newer += u->seq[j] > u->seq[i];
        if (newer < USED_KEEP) continue;
        char rec[RECORD_MAX];
        presig_name(rec, key_id, u->id[i]);
        err = kg_store_delete(nd->st, txn, rec);
    }
    return err;
}

kg_err kg_mpc_nd_cg_presig_use(kg_mpc_nd *nd, const char *key_id, const uint8_t id[32], const uint8_t digest[32],
                               const uint8_t path_hash[32])
{
    char rec[RECORD_MAX];
    uint8_t hdr[HDR_MAX];
    size_t hl = 0;
    kg_secret *pt = NULL;
    kg_mpc_nd_cg_presig_meta m;
    used_list u = {0};
    kg_store_txn *txn = NULL;
    presig_name(rec, key_id, id);
    kg_err err = kg_store_txn_begin(nd->st, &txn);
    if (err) return err;
    err = load_open(nd, txn, rec, &pt, hdr, &hl);
    if (err == KG_ERR_NOT_FOUND) err = kg_err_set(KG_ERR_NOT_FOUND, "no such presignature of key %s on this node", key_id);
    if (!err) err = meta_read(&m, hdr, hl, rec);
    if (!err && m.used)
        err = kg_err_set(KG_ERR_CONFLICT, "the presignature was already used (single use): presign again");
    if (!err) err = kg_mpc_nd_cg_presig_list(nd, txn, key_id, used_add, &u);
    if (!err) {
        m.used = true;
        m.used_seq = u.max_seq + 1;
        memcpy(m.digest, digest, 32);
        memcpy(m.path, path_hash, 32);
        err = presig_put(nd, txn, rec, &m, kg_secret_cdata(pt), kg_secret_len(pt), false);
    }
    if (!err && used_add(&u, id, &m)) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = prune(nd, txn, key_id, &u);
    kg_secret_free(pt);
    free(u.seq);
    free(u.id);
    if (!err && (err = kg_store_txn_commit(txn)) == KG_OK) return KG_OK;
    kg_store_txn_rollback(txn);
    return err;
}

kg_err kg_mpc_nd_cg_presig_drop(kg_mpc_nd *nd, const char *key_id, const uint8_t id[32])
{
    char rec[RECORD_MAX];
    kg_mpc_nd_cg_presig_meta m;
    kg_err err = kg_mpc_nd_cg_presig_load(nd, key_id, id, NULL, &m);
    if (err == KG_ERR_NOT_FOUND) return KG_OK;
    if (err || m.used) return err; /* a used one stays for identification */
    presig_name(rec, key_id, id);
    err = kg_store_delete(nd->st, NULL, rec);
    return err == KG_ERR_NOT_FOUND ? KG_OK : err;
}

/* Delete every record under prefix (collected first: no writes while the
 * walk runs). */
typedef struct {
    char (*names)[RECORD_MAX];
    size_t n, cap;
} name_list;

static int name_add(void *arg, const char *key, const uint8_t *val, size_t len)
{
    name_list *l = arg;
    (void)val, (void)len;
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        char(*p)[RECORD_MAX] = realloc(l->names, nc * sizeof *p);
        if (!p) return 1;
        l->names = p;
        l->cap = nc;
    }
    snprintf(l->names[l->n++], RECORD_MAX, "%s", key);
    return 0;
}

static kg_err delete_prefix(kg_mpc_nd *nd, kg_store_txn *txn, const char *prefix)
{
    name_list l = {0};
    kg_err err = kg_store_list(nd->st, txn, prefix, NULL, 0, name_add, &l);
    for (size_t i = 0; i < l.n && !err; i++) err = kg_store_delete(nd->st, txn, l.names[i]);
    free(l.names);
    return err;
}

kg_err kg_mpc_nd_cg_presigs_delete(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id)
{
    char prefix[RECORD_MAX];
    rec_name(prefix, key_id, "presig/");
    return delete_prefix(nd, txn, prefix);
}

kg_err kg_mpc_nd_cg_key_delete(kg_mpc_nd *nd, kg_store_txn *txn, const char *key_id)
{
    char prefix[RECORD_MAX];
    rec_name(prefix, key_id, "");
    return delete_prefix(nd, txn, prefix);
}

/* ------------------------------------------------------- safe-prime pool */

kg_err kg_mpc_nd_cg_pool_open(kg_mpc_nd *nd, unsigned paillier_bits)
{
    char path[4096];
    if (!paillier_bits) paillier_bits = 3072;
    if (paillier_bits != 2048 && paillier_bits != 3072 && paillier_bits != 4096)
        return kg_err_set(KG_ERR_BAD_INPUT, "--paillier-bits must be 2048, 3072 or 4096, not %u", paillier_bits);
    snprintf(path, sizeof path, "%s/cggmp-primes.txt", nd->cfg->data_dir);
    /* Idle until this node does CGGMP21 work (kg_mpc_nd_cg_pool_fill): a
     * pool file left by earlier work means it does, so fill from the start. */
    bool used = access(path, F_OK) == 0;
    kg_err err = kg_mpc_prime_pool_open(&nd->primes, path, paillier_bits / 2, used ? KG_MPC_ND_CG_PRIMES : 0);
    if (err) return kg_err_set(err, "the safe-prime pool %s: %s", path, kg_err_detail(err));
    return KG_OK;
}

kg_err kg_mpc_nd_cg_pool_fill(kg_mpc_nd *nd)
{
    return nd->primes ? kg_mpc_prime_pool_fill(nd->primes, KG_MPC_ND_CG_PRIMES) : KG_OK;
}

void kg_mpc_nd_cg_pool_close(kg_mpc_nd *nd)
{
    kg_mpc_prime_pool_close(nd->primes);
    nd->primes = NULL;
}

/* --- presign precomputation engineer (node_cggmp_prep.c) --- */
kg_err kg_mpc_nd_cg_aux_stamp(kg_mpc_nd *nd, const char *key_id, uint8_t out[32])
{
    char rec[RECORD_MAX];
    kg_bytes b = {0};
    rec_name(rec, key_id, "aux");
    kg_err err = kg_store_get(nd->st, NULL, &b, rec);
    if (!err) kg_crypto_sha256(out, b.data, b.len); /* sealed bytes: a fresh IV per save, so any save changes it */
    kg_bytes_free(&b);
    return err;
}
/* --- end presign precomputation --- */
