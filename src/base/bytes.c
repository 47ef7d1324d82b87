/* Plain byte buffers, constant-time comparison and wiping.
 *
 * kg_bytes is for public data (ciphertexts, public keys, JSON values). Its
 * data pointer is never NULL after a successful kg_bytes_set, even for zero
 * length, so callers can pass it on without a special case. Secrets belong
 * in kg_secret (secret.c).
 *
 * Comparison and wiping go through libsodium: sodium_memcmp runs in time that
 * depends only on the length, and sodium_memzero is a wipe the compiler may
 * not drop as a dead store. */
#include <kashguard/base.h>

#include <sodium.h>
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define KG_HAVE_VALGRIND 1
#endif
#endif
#include <stdlib.h>
#include <string.h>

kg_err kg_bytes_set(kg_bytes *out, const uint8_t *data, size_t len)
{
    KG_ARG_CHECK(out != NULL);
    KG_ARG_CHECK(data != NULL || len == 0);
    out->data = NULL;
    out->len = 0;
    uint8_t *p = malloc(len ? len : 1);
    if (p == NULL)
        return kg_err_set(KG_ERR_NOMEM, "cannot allocate %zu bytes", len);
    if (len)
        memcpy(p, data, len);
    out->data = p;
    out->len = len;
    return KG_OK;
}

void kg_bytes_free(kg_bytes *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

int kg_ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    if (len == 0)
        return 1;
    if (a == NULL || b == NULL) {
        kg_illegal("kg_ct_equal: a != NULL && b != NULL");
        return 0;
    }
    return sodium_memcmp(a, b, len) == 0;
}

void kg_wipe(void *p, size_t len)
{
    if (p == NULL || len == 0)
        return;
    sodium_memzero(p, len);
}

void kg_declassify(const void *p, size_t len)
{
#ifdef KG_HAVE_VALGRIND
    /* A client request: a few no-op instructions when not under Valgrind. */
    (void)VALGRIND_MAKE_MEM_DEFINED(p, len);
#else
    (void)p;
    (void)len;
#endif
}
