/* Secrets in guarded memory.
 *
 * One sodium_malloc region holds a small header (the length) and the secret
 * bytes. The bytes sit at the very end of the region, so that reading or
 * writing one byte past them hits libsodium's trailing guard page at once;
 * the header sits at the start, 16-byte aligned (sodium_malloc places the
 * region's end against the guard page, so the total size is rounded to 16 to
 * keep the start aligned). A canary in front catches underflows when the
 * region is freed. The region is mlock'ed and excluded from core dumps, and
 * sodium_free wipes it.
 *
 * sodium_init() is called lazily here: it is idempotent and thread-safe, so
 * callers need no separate initialisation step for secret memory. */
#include <kashguard/base.h>

#include <sodium.h>
#include <stdint.h>
#include <string.h>

struct kg_secret {
    size_t len;   /* bytes of secret */
    size_t total; /* bytes in the sodium_malloc region */
};

#define KG_SECRET_ALIGN 16u
#define KG_SECRET_HDR \
    ((sizeof(struct kg_secret) + KG_SECRET_ALIGN - 1) & ~(size_t)(KG_SECRET_ALIGN - 1))

kg_secret *kg_secret_new(size_t len)
{
    if (sodium_init() < 0)
        return NULL;
    if (len > SIZE_MAX - KG_SECRET_HDR - KG_SECRET_ALIGN)
        return NULL;
    size_t total = (KG_SECRET_HDR + len + KG_SECRET_ALIGN - 1) & ~(size_t)(KG_SECRET_ALIGN - 1);
    kg_secret *s = sodium_malloc(total);
    if (s == NULL)
        return NULL;
    memset(s, 0, total);
    s->len = len;
    s->total = total;
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
    if (s != NULL)
        sodium_free(s);
}

uint8_t *kg_secret_data(kg_secret *s)
{
    if (s == NULL) {
        kg_illegal("kg_secret_data: s != NULL");
        return NULL;
    }
    return (uint8_t *)s + s->total - s->len;
}

const uint8_t *kg_secret_cdata(const kg_secret *s)
{
    if (s == NULL) {
        kg_illegal("kg_secret_cdata: s != NULL");
        return NULL;
    }
    return (const uint8_t *)s + s->total - s->len;
}

size_t kg_secret_len(const kg_secret *s)
{
    if (s == NULL) {
        kg_illegal("kg_secret_len: s != NULL");
        return 0;
    }
    return s->len;
}
