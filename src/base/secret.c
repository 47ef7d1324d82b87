/* Secrets in guarded memory.
 *
 * Large secrets (over 4 KiB with the header) get a sodium_malloc region of
 * their own: a small header (the length) and the secret bytes at the very
 * end, so that reading or writing one byte past them hits libsodium's
 * trailing guard page at once; a canary in front catches underflows when the
 * region is freed.
 *
 * Small secrets -- keys, digests, short plaintexts, i.e. nearly all of them
 * -- come from size-class arenas instead. A sodium_malloc region per secret
 * costs an mmap, two mprotects, an mlock, and on free an munlock and munmap
 * whose TLB shootdowns stall every core: measured here, that was a fifth of
 * the server's CPU time per encrypt request. The arenas are themselves
 * sodium_malloc chunks (64 KiB, mlock'ed, excluded from core dumps, guard
 * pages at both ends) carved into fixed-size slots; a freed slot is wiped
 * with sodium_memzero before it goes back on its free list. What is lost is
 * a guard page between two small secrets of the same chunk; what is kept is
 * the part that protects secrets from other processes and the disk (locked,
 * never swapped or dumped, wiped on free). Chunks are never returned: the
 * arena is bounded by the peak number of live secrets.
 *
 * Sanitizer builds use a sodium_malloc region for every secret, so ASan and
 * the guard pages see each one on its own.
 *
 * sodium_init() is called lazily here: it is idempotent and thread-safe, so
 * callers need no separate initialisation step for secret memory. */
#include <kashguard/base.h>

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

struct kg_secret {
    size_t len;   /* bytes of secret */
    size_t total; /* bytes in the region or slot, header included */
    size_t off;   /* where the secret starts, from the header */
    int cls;      /* arena size class, or -1 for a region of its own */
};

#define KG_SECRET_ALIGN 16u
#define KG_SECRET_HDR \
    ((sizeof(struct kg_secret) + KG_SECRET_ALIGN - 1) & ~(size_t)(KG_SECRET_ALIGN - 1))

#if defined(__SANITIZE_ADDRESS__)
#define KG_SECRET_ARENA 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KG_SECRET_ARENA 0
#endif
#endif
#ifndef KG_SECRET_ARENA
#define KG_SECRET_ARENA 1
#endif

#define ARENA_CLASSES 7          /* slots of 64, 128, ..., 4096 bytes */
#define ARENA_MIN_SLOT 64u
#define ARENA_CHUNK (64u * 1024u)

typedef struct slot { struct slot *next; } slot;
static struct {
    pthread_mutex_t mu;
    slot *free;
} arena[ARENA_CLASSES] = {
    { PTHREAD_MUTEX_INITIALIZER, NULL }, { PTHREAD_MUTEX_INITIALIZER, NULL },
    { PTHREAD_MUTEX_INITIALIZER, NULL }, { PTHREAD_MUTEX_INITIALIZER, NULL },
    { PTHREAD_MUTEX_INITIALIZER, NULL }, { PTHREAD_MUTEX_INITIALIZER, NULL },
    { PTHREAD_MUTEX_INITIALIZER, NULL },
};

static int arena_class(size_t total)
{
    if (!KG_SECRET_ARENA)
        return -1;
    size_t size = ARENA_MIN_SLOT;
    for (int c = 0; c < ARENA_CLASSES; c++, size <<= 1)
        if (total <= size)
            return c;
    return -1;
}

/* A wiped slot of class c, carving a new chunk when the free list is empty. */
static void *arena_take(int c)
{
    size_t size = ARENA_MIN_SLOT << c;
    pthread_mutex_lock(&arena[c].mu);
    if (arena[c].free == NULL) {
        uint8_t *chunk = sodium_malloc(ARENA_CHUNK);
        if (chunk != NULL) {
            for (size_t o = 0; o + size <= ARENA_CHUNK; o += size) {
                slot *sl = (slot *)(chunk + o);
                sl->next = arena[c].free;
                arena[c].free = sl;
            }
        }
    }
    slot *sl = arena[c].free;
    if (sl != NULL)
        arena[c].free = sl->next;
    pthread_mutex_unlock(&arena[c].mu);
    if (sl != NULL)
        sodium_memzero(sl, size);
    return sl;
}

static void arena_give(int c, void *p)
{
    size_t size = ARENA_MIN_SLOT << c;
    sodium_memzero(p, size);
    pthread_mutex_lock(&arena[c].mu);
    ((slot *)p)->next = arena[c].free;
    arena[c].free = p;
    pthread_mutex_unlock(&arena[c].mu);
}

kg_secret *kg_secret_new(size_t len)
{
    if (sodium_init() < 0)
        return NULL;
    if (len > SIZE_MAX - KG_SECRET_HDR - KG_SECRET_ALIGN)
        return NULL;
    size_t total = (KG_SECRET_HDR + len + KG_SECRET_ALIGN - 1) & ~(size_t)(KG_SECRET_ALIGN - 1);
    int cls = arena_class(total);
    kg_secret *s;
    if (cls >= 0) {
        s = arena_take(cls);
        if (s == NULL)
            return NULL;
        s->total = ARENA_MIN_SLOT << cls;
        s->off = KG_SECRET_HDR;
    } else {
        s = sodium_malloc(total);
        if (s == NULL)
            return NULL;
        memset(s, 0, total);
        s->total = total;
        s->off = total - len; /* against the trailing guard page */
    }
    s->len = len;
    s->cls = cls;
    return s;
}

kg_secret *kg_secret_from(const uint8_t *data, size_t len)
{
    if (data == NULL && len > 0) {
        kg_illegal("kg_secret_from: data != NULL || len == 0");
        return NULL;
    }
    kg_secret *s = kg_secret_new(len);
    if (s != NULL && len > 0)
        memcpy(kg_secret_data(s), data, len);
    return s;
}

void kg_secret_free(kg_secret *s)
{
    if (s == NULL)
        return;
    if (s->cls >= 0)
        arena_give(s->cls, s);
    else
        sodium_free(s);
}

uint8_t *kg_secret_data(kg_secret *s)
{
    if (s == NULL) {
        kg_illegal("kg_secret_data: s != NULL");
        return NULL;
    }
    return (uint8_t *)s + s->off;
}

const uint8_t *kg_secret_cdata(const kg_secret *s)
{
    if (s == NULL) {
        kg_illegal("kg_secret_cdata: s != NULL");
        return NULL;
    }
    return (const uint8_t *)s + s->off;
}

size_t kg_secret_len(const kg_secret *s)
{
    if (s == NULL) {
        kg_illegal("kg_secret_len: s != NULL");
        return 0;
    }
    return s->len;
}
