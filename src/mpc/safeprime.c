/* The safe-prime pool of CGGMP21 auxiliary info (eprint 2021/060, §3.2 /
 * Fig. 6: every key refresh gives each party a fresh Paillier-Blum modulus
 * N = p·q with p, q safe primes, which Πmod and Πprm rely on).
 *
 * A 1536-bit safe prime takes OpenSSL tens of seconds to minutes, far too
 * long to make on the request path, so a background thread keeps `target`
 * of them ready and a protocol run takes two. The pool is a file of hex
 * primes, one per line, rewritten by write-then-rename (mode 0600) after
 * every change, so a restarted node keeps what it made and a prime once
 * handed out is never handed out again: it is removed from the file
 * before take() returns it.
 *
 * The file is a secret (the primes are the factorisation of the node's
 * future modulus) and may have been altered on disk: every line is checked
 * again on open (p and (p-1)/2 prime, exact size) and a bad line makes
 * open fail instead of being skipped silently.
 *
 * Stopping: generation checks an atomic stop flag from OpenSSL's BN_GENCB
 * callback (called per candidate and per Miller-Rabin round), so close()
 * does not wait for a whole safe prime to finish. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>

#include "kashguard/err.h"
#include "cggmp_zk.h"

#define POOL_FILE_MAX (4u << 20) /* far above any sane target */

struct kg_mpc_prime_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a prime was added or taken, or stop was set */
    char *path;
    unsigned bits, target;
    BIGNUM **primes;
    size_t n, cap;
    atomic_bool stop;
    bool has_thread;
    pthread_t thread;
};

/* ------------------------------------------------------------ the file */

/* Rewrite the file from pool->primes (caller holds mu). */
static kg_err pool_persist(kg_mpc_prime_pool *pool)
{
    size_t plen = strlen(pool->path);
    char *tmp = malloc(plen + 5);
    if (!tmp) return kg_err_set(KG_ERR_NOMEM, "prime pool: out of memory");
    memcpy(tmp, pool->path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    kg_err err = KG_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        err = kg_err_set(KG_ERR_IO, "prime pool: cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < pool->n && !err; i++) {
        char *hex = BN_bn2hex(pool->primes[i]);
        if (!hex || fprintf(f, "%s\n", hex) < 0) err = kg_err_set(KG_ERR_IO, "prime pool: cannot write %s", tmp);
        if (hex) OPENSSL_clear_free(hex, strlen(hex));
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) err = kg_err_set(KG_ERR_IO, "prime pool: cannot write %s", tmp);
    if (fclose(f) != 0 && !err) err = kg_err_set(KG_ERR_IO, "prime pool: cannot write %s", tmp);
    if (!err && rename(tmp, pool->path) != 0)
        err = kg_err_set(KG_ERR_IO, "prime pool: cannot rename to %s: %s", pool->path, strerror(errno));
    if (err) unlink(tmp);
out:
    free(tmp);
    return err;
}

/* p is a safe prime of exactly `bits` bits. */
static bool safe_prime_ok(const BIGNUM *p, unsigned bits)
{
    BN_CTX *ctx = kg_mpc_bn_ctx();
    if (BN_num_bits(p) != (int)bits || BN_is_negative(p) || BN_check_prime(p, ctx, NULL) != 1) return false;
    BN_CTX_start(ctx);
    BIGNUM *h = BN_CTX_get(ctx);
    bool ok = h && BN_rshift1(h, p) && BN_check_prime(h, ctx, NULL) == 1; /* (p-1)/2 */
    BN_CTX_end(ctx);
    return ok;
}

static kg_err pool_push(kg_mpc_prime_pool *pool, BIGNUM *p)
{
    if (pool->n == pool->cap) {
        size_t cap = pool->cap ? pool->cap * 2 : 8;
        BIGNUM **np = realloc(pool->primes, cap * sizeof(*np));
        if (!np) return kg_err_set(KG_ERR_NOMEM, "prime pool: out of memory");
        pool->primes = np;
        pool->cap = cap;
    }
    pool->primes[pool->n++] = p;
    return KG_OK;
}

/* One line: upper- or lower-case hex digits only, a checked safe prime. */
static kg_err parse_line(kg_mpc_prime_pool *pool, char *line, size_t lineno)
{
    size_t len = strlen(line);
    bool hex = len > 0 && len <= (size_t)pool->bits / 4 + 2;
    for (size_t i = 0; hex && i < len; i++) hex = strchr("0123456789abcdefABCDEF", line[i]) != NULL;
    BIGNUM *p = NULL;
    if (!hex || BN_hex2bn(&p, line) != (int)len) {
        BN_free(p);
        return kg_err_set(KG_ERR_BAD_INPUT, "prime pool %s: line %zu is not a hex number", pool->path, lineno);
    }
    BN_set_flags(p, BN_FLG_CONSTTIME);
    kg_err err = safe_prime_ok(p, pool->bits) ? KG_OK
        : kg_err_set(KG_ERR_BAD_INPUT, "prime pool %s: line %zu is not a %u-bit safe prime", pool->path, lineno,
                     pool->bits);
    if (!err) err = pool_push(pool, p);
    if (err) kg_mpc_bn_free(p);
    return err;
}

static kg_err pool_load(kg_mpc_prime_pool *pool)
{
    FILE *f = fopen(pool->path, "r");
    if (!f) {
        if (errno == ENOENT) return pool_persist(pool); /* create it (empty) */
        return kg_err_set(KG_ERR_IO, "prime pool: cannot open %s: %s", pool->path, strerror(errno));
    }
    char *buf = malloc(POOL_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, POOL_FILE_MAX + 1, f) : 0;
    bool rd_err = ferror(f);
    fclose(f);
    kg_err err = KG_OK;
    if (!buf) return kg_err_set(KG_ERR_NOMEM, "prime pool: out of memory");
    if (rd_err) err = kg_err_set(KG_ERR_IO, "prime pool: cannot read %s", pool->path);
    else if (len > POOL_FILE_MAX) err = kg_err_set(KG_ERR_BAD_INPUT, "prime pool %s: file too large", pool->path);
    else if (memchr(buf, 0, len)) err = kg_err_set(KG_ERR_BAD_INPUT, "prime pool %s: NUL byte in file", pool->path);
    buf[len < POOL_FILE_MAX ? len : POOL_FILE_MAX] = 0;
    size_t lineno = 0;
    for (char *line = buf, *next; !err && line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (!next && !*line) break; /* after the final newline (or an empty file) */
        err = parse_line(pool, line, ++lineno); /* an empty line in between is refused */
    }
    kg_wipe(buf, len < POOL_FILE_MAX ? len : POOL_FILE_MAX);
    free(buf);
    return err;
}

/* ------------------------------------------------------------ generation */

static int gen_cb(int a, int b, BN_GENCB *cb)
{
    (void)a, (void)b;
    kg_mpc_prime_pool *pool = BN_GENCB_get_arg(cb);
    return pool && atomic_load(&pool->stop) ? 0 : 1; /* 0 aborts generation */
}

/* A fresh safe prime; NULL when stopped or on failure. */
static BIGNUM *gen_safe_prime(kg_mpc_prime_pool *pool)
{
    BIGNUM *p = kg_mpc_bn_secret_new();
    BN_GENCB *cb = BN_GENCB_new();
    if (!p || !cb) goto fail;
    BN_GENCB_set(cb, gen_cb, pool);
    if (BN_generate_prime_ex2(p, (int)pool->bits, 1, NULL, NULL, cb, kg_mpc_bn_ctx()) != 1) goto fail;
    BN_GENCB_free(cb);
    return p;
fail:
    BN_GENCB_free(cb);
    kg_mpc_bn_free(p);
    return NULL;
}

static void *filler(void *arg)
{
    kg_mpc_prime_pool *pool = arg;
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (!atomic_load(&pool->stop) && pool->n >= pool->target) pthread_cond_wait(&pool->cv, &pool->mu);
        pthread_mutex_unlock(&pool->mu);
        if (atomic_load(&pool->stop)) break;
        BIGNUM *p = gen_safe_prime(pool);
        if (!p) {
            if (atomic_load(&pool->stop)) break;
            sleep(1); /* out of memory: try again later rather than spin */
            continue;
        }
        pthread_mutex_lock(&pool->mu);
        if (pool_push(pool, p) != KG_OK) kg_mpc_bn_free(p);
        /* A failed write keeps the prime in memory; the next write has it. */
        else (void)pool_persist(pool);
        pthread_cond_broadcast(&pool->cv);
        pthread_mutex_unlock(&pool->mu);
    }
    return NULL;
}

/* ------------------------------------------------------------------ API */

static kg_err start_filler(kg_mpc_prime_pool *pool)
{
    if (pthread_create(&pool->thread, NULL, filler, pool) != 0)
        return kg_err_set(KG_ERR_NOMEM, "prime pool: cannot start the filler thread");
    pool->has_thread = true;
    return KG_OK;
}

kg_err kg_mpc_prime_pool_fill(kg_mpc_prime_pool *pool, unsigned target)
{
    pthread_mutex_lock(&pool->mu);
    if (target > pool->target) pool->target = target;
    kg_err err = pool->has_thread || pool->target == 0 ? KG_OK : start_filler(pool);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    return err;
}

static void pool_free(kg_mpc_prime_pool *pool)
{
    for (size_t i = 0; i < pool->n; i++) kg_mpc_bn_free(pool->primes[i]);
    free(pool->primes);
    free(pool->path);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

kg_err kg_mpc_prime_pool_open(kg_mpc_prime_pool **out, const char *path, unsigned bits, unsigned target)
{
    *out = NULL;
    if (bits < 256 || bits > KG_CGGMP_N_BITS_MAX / 2)
        return kg_err_set(KG_ERR_BAD_INPUT, "prime pool: %u-bit primes not supported", bits);
    kg_mpc_prime_pool *pool = calloc(1, sizeof(*pool));
    if (!pool) return kg_err_set(KG_ERR_NOMEM, "prime pool: out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* take()'s timeout ignores clock changes */
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&pool->stop, false);
    pool->bits = bits;
    pool->target = target;
    pool->path = strdup(path);
    kg_err err = pool->path ? pool_load(pool) : kg_err_set(KG_ERR_NOMEM, "prime pool: out of memory");
    if (!err && target > 0) err = start_filler(pool);
    if (err) {
        pool_free(pool);
        return err;
    }
    *out = pool;
    return KG_OK;
}

/* Wait until a prime is ready or the deadline passes (caller holds mu). */
static void wait_ready(kg_mpc_prime_pool *pool, unsigned timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    while (pool->n == 0 && !atomic_load(&pool->stop))
        if (pthread_cond_timedwait(&pool->cv, &pool->mu, &dl) == ETIMEDOUT) break;
}

kg_err kg_mpc_prime_pool_take(kg_mpc_prime_pool *pool, BIGNUM **out, unsigned timeout_ms)
{
    *out = NULL;
    pthread_mutex_lock(&pool->mu);
    if (pool->n == 0 && pool->target == 0) {
        /* No filler: make one here (nothing else touches the pool's file
         * for it: a prime that was never stored need not be removed). */
        pthread_mutex_unlock(&pool->mu);
        *out = gen_safe_prime(pool);
        return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "prime pool: safe prime generation failed");
    }
    wait_ready(pool, timeout_ms);
    if (pool->n == 0) {
        pthread_mutex_unlock(&pool->mu);
        return kg_err_set(KG_ERR_CONFLICT, "prime pool: no %u-bit safe prime ready after %u ms", pool->bits,
                          timeout_ms);
    }
    BIGNUM *p = pool->primes[--pool->n];
    kg_err err = pool_persist(pool);
    if (err) pool->n++; /* still stored on disk: keep it, hand nothing out */
    else *out = p;
    pthread_cond_broadcast(&pool->cv); /* the filler refills */
    pthread_mutex_unlock(&pool->mu);
    return err;
}

size_t kg_mpc_prime_pool_ready(kg_mpc_prime_pool *pool)
{
    pthread_mutex_lock(&pool->mu);
    size_t n = pool->n;
    pthread_mutex_unlock(&pool->mu);
    return n;
}

void kg_mpc_prime_pool_close(kg_mpc_prime_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    atomic_store(&pool->stop, true);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    if (pool->has_thread) pthread_join(pool->thread, NULL);
    pool_free(pool);
}
