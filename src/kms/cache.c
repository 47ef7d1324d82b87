/* The key-material cache.
 *
 * Every encrypt, decrypt, sign or MAC needs one version's material: a store
 * read, a JSON parse and an AES-GCM unseal under the root key. A version's
 * material never changes once written, so this cache keeps the unsealed
 * material of recently used versions, keyed by the seal label
 * "key:<id>:v:<n>". It saves the hot path a third of its work.
 *
 * What keeps it safe:
 *  - Callers still read the key's metadata from the store on every request
 *    and check its state (disabled, pending deletion, destroyed) before
 *    using material, so a change made by any node takes effect at once;
 *    the cache only answers "what are the bytes of this version".
 *  - Material lives in kg_secret memory (locked, never dumped, wiped on
 *    free), like the root key it is derived from; kms_cache_clear wipes it
 *    all when the KMS is sealed or closed, and destroying a key evicts its
 *    versions.
 *
 * Shape: direct-mapped, KMS_CACHE_SLOTS slots chosen by a hash of the label;
 * a collision simply replaces the older entry. One mutex guards it; the
 * critical sections are a compare and a copy. */
#include "kms_int.h"

#include <stdlib.h>
#include <string.h>

#define KMS_CACHE_SLOTS 512
#define KMS_CACHE_LABEL 96

typedef struct {
    char label[KMS_CACHE_LABEL]; /* "" = empty */
    kg_secret *material;
    kg_bytes pub;                /* public key DER, may be empty */
} cache_slot;

struct kms_cache {
    pthread_mutex_t mu;
    cache_slot slot[KMS_CACHE_SLOTS];
};

kms_cache *kms_cache_new(void)
{
    kms_cache *c = calloc(1, sizeof(*c));
    if (c != NULL && pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

static void slot_clear(cache_slot *s)
{
    kg_secret_free(s->material);
    kg_bytes_free(&s->pub);
    memset(s, 0, sizeof(*s));
}

void kms_cache_free(kms_cache *c)
{
    if (c == NULL)
        return;
    kms_cache_clear(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* FNV-1a: spreads labels; not security relevant (the index is not secret
 * beyond what the store layout already shows). */
static size_t slot_of(const char *label)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)label; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)(h % KMS_CACHE_SLOTS);
}

bool kms_cache_get(kms_cache *c, kg_secret **material, kg_bytes *pub, const char *label)
{
    *material = NULL;
    if (c == NULL || strlen(label) >= KMS_CACHE_LABEL)
        return false;
    cache_slot *s = &c->slot[slot_of(label)];
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    if (strcmp(s->label, label) == 0) {
        *material = kg_secret_from(kg_secret_cdata(s->material), kg_secret_len(s->material));
        hit = *material != NULL;
        if (hit && pub != NULL && s->pub.len > 0 && kg_bytes_set(pub, s->pub.data, s->pub.len) != KG_OK) {
            kg_secret_free(*material);
            *material = NULL;
            hit = false;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void kms_cache_put(kms_cache *c, const char *label, const kg_secret *material, const kg_bytes *pub)
{
    if (c == NULL || strlen(label) >= KMS_CACHE_LABEL)
        return;
    cache_slot fresh = { 0 };
    strcpy(fresh.label, label);
    fresh.material = kg_secret_from(kg_secret_cdata(material), kg_secret_len(material));
    if (fresh.material == NULL ||
        (pub != NULL && pub->len > 0 && kg_bytes_set(&fresh.pub, pub->data, pub->len) != KG_OK)) {
        slot_clear(&fresh);
        return; /* out of memory: simply not cached */
    }
    cache_slot old;
    pthread_mutex_lock(&c->mu);
    cache_slot *s = &c->slot[slot_of(label)];
    old = *s;
    *s = fresh;
    pthread_mutex_unlock(&c->mu);
    slot_clear(&old);
}

void kms_cache_evict_key(kms_cache *c, const char *key_id)
{
    if (c == NULL)
        return;
    char prefix[KMS_CACHE_LABEL];
    int n = snprintf(prefix, sizeof(prefix), "key:%s:v:", key_id);
    if (n < 0 || (size_t)n >= sizeof(prefix))
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < KMS_CACHE_SLOTS; i++)
        if (strncmp(c->slot[i].label, prefix, (size_t)n) == 0)
            slot_clear(&c->slot[i]);
    pthread_mutex_unlock(&c->mu);
}

void kms_cache_clear(kms_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < KMS_CACHE_SLOTS; i++)
        slot_clear(&c->slot[i]);
    pthread_mutex_unlock(&c->mu);
}
