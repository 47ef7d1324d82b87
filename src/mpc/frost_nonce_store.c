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
 * restored nonce is exactly the one commit made.
 *
 * Leasing (kg_mpc_frost_nonce_store_set_lease, k > 1): the durable commit of
 * `use` is the cost (one fdatasync), so it is paid once per block. A use
 * whose nonce is not leased yet runs ONE transaction that consumes the
 * requested nonce and up to k-1 more (oldest first -- the order in which
 * the coordinator's cache spends them -- by the order records below): each gets its "used" marker, holding this store object's random
 * run id, and loses its sealed record. Only after that commit are they
 * opened into guarded memory (the lease table); each is then handed out at
 * most once from memory and its slot wiped. A crash, kill or close loses
 * the table: every leased-but-unreleased nonce is discarded, never used --
 * its record is already gone and its marker names an earlier run, which a
 * later use reports ("leased to an earlier run ... discarded"). Evicting a
 * slot when the table is full is as safe. So "at most once, ever" holds
 * across crashes, and k-1 of every k uses cost no disk write.
 *   <prefix>/seq/<suite>/<id>          next order number (8 bytes, big-endian)
 *   <prefix>/order/<suite>/<id>/<n>    hex h of the nonce preprocessed n-th
 *                                      (16 hex digits: a listing gives the
 *                                      oldest first); removed with the nonce
 * The run id is public (kg_mpc_frost_nonce_store_run_id): a node reports it
 * with its commitments so a coordinator can tell a restart and drop the
 * commitments of the old run, some of which died with it. */
#include <pthread.h>
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

#define RUN_BYTES KG_MPC_FROST_NONCE_RUN_ID_BYTES
#define LEASE_MAX KG_MPC_FROST_NONCE_LEASE_MAX

/* A leased nonce in memory: its record's h, owner and opened plaintext. */
typedef struct {
    uint8_t h[16];
    uint16_t id;
    uint8_t group;
    uint8_t live, pending;
    uint64_t gen;
    uint8_t pt[PT_BYTES];
} slot;

struct kg_mpc_frost_nonce_store {
    kg_store *st;
    kg_secret *key;
    char prefix[256];
    pthread_mutex_t mu;      /* use and the lease table */
    unsigned lease;          /* block size, 1 = no leasing */
    kg_secret *table;        /* slot[LEASE_MAX], when lease > 1 */
    uint64_t gen;
    uint8_t run[RUN_BYTES];  /* this object's run id, in its used markers */
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
    if (kg_crypto_random(ns->run, sizeof ns->run) != KG_OK) {
        kg_secret_free(ns->key);
        free(ns);
        return kg_err_set(KG_ERR_CRYPTO, "no randomness for the nonce store's run id");
    }
    ns->st = st;
    ns->lease = 1;
    pthread_mutex_init(&ns->mu, NULL);
    memcpy(ns->prefix, prefix, strlen(prefix) + 1);
    *out = ns;
    return KG_OK;
}

void kg_mpc_frost_nonce_store_close(kg_mpc_frost_nonce_store *ns)
{
    if (ns == NULL)
        return;
    kg_secret_free(ns->key);
    kg_secret_free(ns->table); /* wiped: leased nonces die here, never reused */
    pthread_mutex_destroy(&ns->mu);
    free(ns);
}

kg_err kg_mpc_frost_nonce_store_set_lease(kg_mpc_frost_nonce_store *ns, unsigned k)
{
    if (k == 0 || k > LEASE_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "a nonce lease block is 1 to %d nonces, not %u", LEASE_MAX, k);
    kg_err e = KG_OK;
    pthread_mutex_lock(&ns->mu);
    if (k > 1 && ns->table == NULL && (ns->table = kg_secret_new(LEASE_MAX * sizeof(slot))) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    else
        ns->lease = k;
    pthread_mutex_unlock(&ns->mu);
    return e;
}

void kg_mpc_frost_nonce_store_run_id(const kg_mpc_frost_nonce_store *ns,
                                     uint8_t out[static KG_MPC_FROST_NONCE_RUN_ID_BYTES])
{
    memcpy(out, ns->run, RUN_BYTES);
}

size_t kg_mpc_frost_nonce_store_leased(kg_mpc_frost_nonce_store *ns)
{
    size_t n = 0;
    pthread_mutex_lock(&ns->mu);
    const slot *t = ns->table ? (const slot *)kg_secret_cdata(ns->table) : NULL;
    for (size_t i = 0; t && i < LEASE_MAX; i++)
        n += t[i].live;
    pthread_mutex_unlock(&ns->mu);
    return n;
}

/* h of commitment c: the first 16 bytes of SHA-256 of its wire form. */
static kg_err commit_hash(uint8_t h[16], kg_mpc_group_id g, const kg_mpc_frost_commitment *c)
{
    uint8_t wire[KG_MPC_FROST_COMMITMENT_MAX_BYTES], d[KG_SHA256_BYTES];
    size_t len = 0;
    kg_err e = kg_mpc_frost_commitment_serialize(g, wire, &len, c);
    if (e != KG_OK)
        return e;
    kg_crypto_sha256(d, wire, len);
    memcpy(h, d, 16);
    return KG_OK;
}

/* The record key "<prefix>/<kind>/<suite>/<id>/<tail>". */
static kg_err key_of(char out[KEY_MAX], const kg_mpc_frost_nonce_store *ns, const char *kind, kg_mpc_group_id g,
                     uint16_t id, const char *tail)
{
    int n = snprintf(out, KEY_MAX, "%s/%s/%s/%u%s%s", ns->prefix, kind, kg_mpc_group_name(g), id,
                     tail ? "/" : "", tail ? tail : "");
    if (n < 0 || n >= KEY_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "nonce store key too long");
    return KG_OK;
}

/* The record keys of commitment c (kind "nonce" or "used"). */
static kg_err rec_key(char out[KEY_MAX], const kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g,
                      const char *kind, const kg_mpc_frost_commitment *c)
{
    uint8_t h[16];
    char hex[33];
    kg_err e = commit_hash(h, g, c);
    if (e != KG_OK)
        return e;
    kg_hex_encode(hex, h, 16);
    return key_of(out, ns, kind, g, c->id, hex);
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

/* Read (in txn) and bump the order counter of (g, id); *next is the first
 * number to use, *ckey its record key. */
static kg_err seq_take(uint64_t *next, char ckey[KEY_MAX], kg_mpc_frost_nonce_store *ns, kg_store_txn *txn,
                       kg_mpc_group_id g, uint16_t id)
{
    kg_bytes v = {0};
    *next = 0;
    kg_err e = key_of(ckey, ns, "seq", g, id, NULL);
    if (e == KG_OK)
        e = kg_store_get(ns->st, txn, &v, ckey);
    if (e == KG_ERR_NOT_FOUND)
        return KG_OK;
    if (e == KG_OK && v.len == 8)
        for (size_t i = 0; i < 8; i++)
            *next = *next << 8 | v.data[i];
    else if (e == KG_OK)
        e = kg_err_set(KG_ERR_STORE, "nonce order counter %s is malformed", ckey);
    kg_bytes_free(&v);
    return e;
}

/* Make, seal and write one nonce with order number seq; *c its commitment. */
static kg_err make_one(kg_mpc_frost_commitment *c, kg_mpc_frost_nonce_store *ns, kg_store_txn *txn,
                       const kg_mpc_frost_key_share *share, uint64_t seq)
{
    kg_mpc_frost_nonce nonce;
    uint8_t rec[REC_BYTES], h[16];
    char key[KEY_MAX], okey[KEY_MAX], hex[33], num[17];
    kg_err e = kg_mpc_frost_commit(&nonce, share, NULL, NULL);
    if (e == KG_OK)
        e = rec_key(key, ns, share->group, "nonce", &nonce.commitment);
    if (e == KG_OK)
        e = seal(rec, ns, key, &nonce);
    if (e == KG_OK)
        e = kg_store_create(ns->st, txn, key, rec, sizeof rec);
    if (e == KG_OK)
        e = commit_hash(h, share->group, &nonce.commitment);
    snprintf(num, sizeof num, "%016llx", (unsigned long long)seq);
    if (e == KG_OK)
        e = key_of(okey, ns, "order", share->group, share->id, num);
    kg_hex_encode(hex, h, 16);
    if (e == KG_OK)
        e = kg_store_put(ns->st, txn, okey, (const uint8_t *)hex, 32);
    if (e == KG_OK)
        *c = nonce.commitment;
    kg_wipe(&nonce, sizeof nonce);
    return e;
}

kg_err kg_mpc_frost_nonce_store_preprocess(kg_mpc_frost_nonce_store *ns, kg_mpc_frost_commitment *commitments,
                                           size_t n, const kg_mpc_frost_key_share *share)
{
    memset(commitments, 0, n * sizeof *commitments);
    if (n == 0 || n > KG_MPC_FROST_NONCE_PREPROCESS_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "preprocess 1 to %d nonces at a time, not %zu",
                          KG_MPC_FROST_NONCE_PREPROCESS_MAX, n);
    kg_store_txn *txn = NULL; /* no ns->mu: the lease table is untouched, the store serialises writers */
    kg_err e = kg_store_txn_begin(ns->st, &txn);
    if (e != KG_OK)
        return e;
    uint64_t seq = 0;
    char ckey[KEY_MAX];
    e = seq_take(&seq, ckey, ns, txn, share->group, share->id);
    for (size_t i = 0; e == KG_OK && i < n; i++)
        e = make_one(&commitments[i], ns, txn, share, seq + i);
    uint8_t cnt[8];
    for (size_t i = 0; i < 8; i++)
        cnt[i] = (uint8_t)((seq + n) >> (56 - 8 * i));
    if (e == KG_OK)
        e = kg_store_put(ns->st, txn, ckey, cnt, sizeof cnt);
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

/* Open rec (got from key) into pt[PT_BYTES]. */
static kg_err open_rec(uint8_t pt[PT_BYTES], const kg_mpc_frost_nonce_store *ns, const char *key, const kg_bytes *rec)
{
    if (rec->len != REC_BYTES || rec->data[0] != REC_VERSION)
        return kg_err_set(KG_ERR_STORE, "nonce record %s is malformed", key);
    kg_err e = kg_crypto_aes256gcm_decrypt(pt, kg_secret_cdata(ns->key), rec->data + 1, KG_GCM_IV_BYTES,
                                           (const uint8_t *)key, strlen(key),
                                           rec->data + 1 + KG_GCM_IV_BYTES, PT_BYTES,
                                           rec->data + 1 + KG_GCM_IV_BYTES + PT_BYTES, KG_GCM_TAG_BYTES);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_DECRYPT, "nonce record %s does not open with this sealing key", key);
    return KG_OK;
}

/* The nonce in plaintext pt into *out, checked to make commitment c. */
static kg_err restore(kg_mpc_frost_nonce *out, const uint8_t pt[PT_BYTES], kg_mpc_group_id g,
                      const kg_mpc_frost_commitment *c)
{
    out->state = (uint32_t)pt[0] << 24 | (uint32_t)pt[1] << 16 | (uint32_t)pt[2] << 8 | pt[3];
    out->group = g;
    kg_mpc_point D, E;
    kg_err e = kg_mpc_scalar_from_bytes(g, &out->hiding, pt + 4, KG_MPC_SCALAR_BYTES);
    if (e == KG_OK)
        e = kg_mpc_scalar_from_bytes(g, &out->binding, pt + 4 + KG_MPC_SCALAR_BYTES, KG_MPC_SCALAR_BYTES);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_STORE, "a stored nonce of participant %u holds a malformed scalar", c->id);
    kg_mpc_point_base_mul(g, &D, &out->hiding);
    kg_mpc_point_base_mul(g, &E, &out->binding);
    if (!kg_mpc_point_eq(g, &D, &c->hiding) || !kg_mpc_point_eq(g, &E, &c->binding))
        return kg_err_set(KG_ERR_STORE, "a stored nonce of participant %u does not match its commitment", c->id);
    out->commitment = *c;
    return KG_OK;
}

/* Why the nonce record of c is missing: used, leased to a dead run, or never made. */
static kg_err gone(kg_mpc_frost_nonce_store *ns, kg_store_txn *txn, const char *used, const kg_mpc_frost_commitment *c)
{
    kg_bytes mark = {0};
    kg_err m = kg_store_get(ns->st, txn, &mark, used);
    bool other_run = m == KG_OK && mark.len == RUN_BYTES && memcmp(mark.data, ns->run, RUN_BYTES) != 0;
    kg_bytes_free(&mark);
    if (other_run)
        return kg_err_set(KG_ERR_CONFLICT, "the nonce of participant %u for this commitment was leased to an "
                          "earlier run that ended before using it; it is discarded, never used -- sign with "
                          "another preprocessed commitment", c->id);
    if (m == KG_OK)
        return kg_err_set(KG_ERR_CONFLICT, "the nonce of participant %u for this commitment was already "
                          "used; sign with another preprocessed commitment", c->id);
    return kg_err_set(KG_ERR_NOT_FOUND, "no preprocessed nonce of participant %u for this commitment", c->id);
}

/* Consume the record whose key is key (h hex tail) in txn: used marker with
 * this run's id, sealed record deleted; pt gets its plaintext. */
static kg_err consume(uint8_t pt[PT_BYTES], kg_mpc_frost_nonce_store *ns, kg_store_txn *txn, const char *key,
                      const char *used)
{
    kg_bytes rec = {0};
    kg_err e = kg_store_get(ns->st, txn, &rec, key);
    if (e == KG_OK)
        e = open_rec(pt, ns, key, &rec);
    kg_bytes_free(&rec);
    if (e == KG_OK)
        e = kg_store_create(ns->st, txn, used, ns->run, RUN_BYTES);
    if (e == KG_ERR_CONFLICT)
        e = kg_err_set(KG_ERR_CONFLICT, "the nonce for this commitment was already used");
    if (e == KG_OK)
        e = kg_store_delete(ns->st, txn, key);
    if (e != KG_OK)
        kg_wipe(pt, PT_BYTES);
    return e;
}

typedef struct { char key[KEY_MAX]; char h[33]; } order_rec;
typedef struct { order_rec *r; size_t n, cap; } order_list;

static int order_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
    order_list *l = arg;
    if (l->n == l->cap)
        return 1;
    order_rec *o = &l->r[l->n];
    if (strlen(key) >= sizeof o->key || len != 32)
        return 0; /* not ours: left alone */
    memcpy(o->key, key, strlen(key) + 1);
    memcpy(o->h, val, 32);
    o->h[32] = 0;
    l->n++;
    return 0;
}

/* A free slot of the lease table, evicting (wiping) the oldest live one
 * when full -- a leased nonce may always be dropped, never reused. */
static slot *slot_free(kg_mpc_frost_nonce_store *ns)
{
    slot *t = (slot *)kg_secret_data(ns->table), *old = NULL;
    for (size_t i = 0; i < LEASE_MAX; i++) {
        if (!t[i].live && !t[i].pending)
            return &t[i];
        if (t[i].live && (old == NULL || t[i].gen < old->gen))
            old = &t[i];
    }
    if (old != NULL)
        kg_wipe(old, sizeof *old);
    return old;
}

/* Lease up to want more nonces of (g, id), oldest first, into pending
 * slots (txn open). Order records of consumed or vanished nonces are
 * removed, that of hc (the hex h of the nonce used now) too. */
static kg_err lease_more(kg_mpc_frost_nonce_store *ns, kg_store_txn *txn, kg_mpc_group_id g, uint16_t id,
                         const char *hc, unsigned want)
{
    order_rec recs[LEASE_MAX + 8];
    order_list l = {recs, 0, want + 8};
    char prefix[KEY_MAX], key[KEY_MAX], used[KEY_MAX];
    kg_err e = key_of(prefix, ns, "order", g, id, "");
    if (e == KG_OK)
        e = kg_store_list(ns->st, txn, prefix, NULL, l.cap, order_one, &l);
    for (size_t i = 0; e == KG_OK && i < l.n; i++) {
        bool drop = strcmp(recs[i].h, hc) == 0;
        if (!drop && want > 0) {
            slot *s = slot_free(ns);
            e = key_of(key, ns, "nonce", g, id, recs[i].h);
            if (e == KG_OK)
                e = key_of(used, ns, "used", g, id, recs[i].h);
            kg_err c = e == KG_OK && s != NULL ? consume(s->pt, ns, txn, key, used) : KG_ERR_INTERNAL;
            size_t hl = 0;
            if (c == KG_OK && kg_hex_decode(s->h, sizeof s->h, &hl, recs[i].h) == KG_OK && hl == 16) {
                s->pending = 1, s->id = id, s->group = (uint8_t)g, s->gen = ++ns->gen;
                want--;
                drop = true;
            } else if (c == KG_OK) { /* a bad order record: the nonce is consumed, just not kept */
                kg_wipe(s, sizeof *s);
                drop = true;
            }
            drop = drop || c == KG_ERR_NOT_FOUND; /* stale: its nonce is gone */
        }
        if (e == KG_OK && drop && (e = kg_store_delete(ns->st, txn, recs[i].key)) == KG_ERR_NOT_FOUND)
            e = KG_OK;
    }
    return e;
}

/* Hand out the leased nonce of c from memory, if any (ns->mu held). */
static bool from_lease(kg_err *err, kg_mpc_frost_nonce *out, kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g,
                       const kg_mpc_frost_commitment *c, const uint8_t h[16])
{
    slot *t = ns->table ? (slot *)kg_secret_data(ns->table) : NULL;
    for (size_t i = 0; t && i < LEASE_MAX; i++) {
        slot *s = &t[i];
        if (!s->live || s->id != c->id || s->group != (uint8_t)g || memcmp(s->h, h, 16) != 0)
            continue;
        *err = restore(out, s->pt, g, c);
        kg_wipe(s, sizeof *s); /* handed out (or bad): gone either way */
        return true;
    }
    return false;
}

/* Settle the pending slots: live after a commit, wiped otherwise. */
static void settle(kg_mpc_frost_nonce_store *ns, bool committed)
{
    slot *t = ns->table ? (slot *)kg_secret_data(ns->table) : NULL;
    for (size_t i = 0; t && i < LEASE_MAX; i++) {
        if (!t[i].pending)
            continue;
        if (committed)
            t[i].pending = 0, t[i].live = 1;
        else
            kg_wipe(&t[i], sizeof t[i]);
    }
}

/* The durable part of use, in one transaction: consume c's nonce into pt
 * and lease up to lease-1 more. */
static kg_err use_durable(uint8_t pt[PT_BYTES], kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g,
                          const kg_mpc_frost_commitment *c, const uint8_t h[16])
{
    char key[KEY_MAX], used[KEY_MAX], hex[33];
    kg_hex_encode(hex, h, 16);
    kg_store_txn *txn = NULL;
    kg_err e = key_of(key, ns, "nonce", g, c->id, hex);
    if (e == KG_OK)
        e = key_of(used, ns, "used", g, c->id, hex);
    if (e == KG_OK)
        e = kg_store_txn_begin(ns->st, &txn);
    if (e != KG_OK)
        return e;
    e = consume(pt, ns, txn, key, used);
    if (e == KG_ERR_NOT_FOUND)
        e = gone(ns, txn, used, c);
    if (e == KG_OK)
        e = lease_more(ns, txn, g, c->id, hex, ns->table ? ns->lease - 1 : 0);
    if (e == KG_OK && (e = kg_store_txn_commit(txn)) != KG_OK) /* durable before any secret leaves */
        kg_store_txn_rollback(txn);
    else if (e != KG_OK)
        kg_store_txn_rollback(txn);
    settle(ns, e == KG_OK);
    if (e != KG_OK)
        kg_wipe(pt, PT_BYTES);
    return e;
}

kg_err kg_mpc_frost_nonce_store_use(kg_mpc_frost_nonce *out, kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g,
                                    const kg_mpc_frost_commitment *c)
{
    kg_mpc_frost_nonce n;
    uint8_t h[16], pt[PT_BYTES];
    memset(out, 0, sizeof *out);
    memset(&n, 0, sizeof n);
    if (!kg_mpc_group_valid(g) || c->id == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "need a FROST group and a commitment with a non-zero identifier");
    kg_err e = commit_hash(h, g, c);
    if (e != KG_OK)
        return e;
    pthread_mutex_lock(&ns->mu);
    if (!from_lease(&e, &n, ns, g, c, h)) {
        e = use_durable(pt, ns, g, c, h);
        if (e == KG_OK)
            e = restore(&n, pt, g, c);
        kg_wipe(pt, sizeof pt);
    }
    pthread_mutex_unlock(&ns->mu);
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
    kg_err e = key_of(prefix, ns, "nonce", g, id, "");
    if (e == KG_OK)
        e = kg_store_list(ns->st, NULL, prefix, NULL, 0, count_one, &cc);
    if (e == KG_OK)
        *out = cc.count;
    return e;
}
