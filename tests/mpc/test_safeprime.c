/* The safe-prime pool (safeprime.c): a persisted pool hands out checked
 * safe primes and forgets them on disk first; a tampered file is refused;
 * the background filler makes primes and stops promptly when closed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "cggmp_fixture.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/kg_safeprime_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void pool_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* Write the first n fixture primes of 1024 bits, then `extra` (may be NULL). */
static void write_pool(const char *path, unsigned n, const char *extra)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (unsigned i = 0; i < n; i++) {
        BIGNUM *p = kg_fx_prime(1024, i);
        assert_non_null(p);
        char *hex = BN_bn2hex(p);
        fprintf(f, "%s\n", hex);
        OPENSSL_free(hex);
        kg_mpc_bn_free(p);
    }
    if (extra) fputs(extra, f);
    fclose(f);
}

static unsigned count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    unsigned n = 0;
    for (int c; (c = fgetc(f)) != EOF;) n += c == '\n';
    fclose(f);
    return n;
}

static void assert_safe_prime(const BIGNUM *p, int bits)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *h = BN_new();
    assert_int_equal(BN_num_bits(p), bits);
    assert_int_equal(BN_check_prime(p, ctx, NULL), 1);
    assert_true(BN_rshift1(h, p));
    assert_int_equal(BN_check_prime(h, ctx, NULL), 1);
    BN_free(h);
    BN_CTX_free(ctx);
}

static void test_take_persisted(void **state)
{
    (void)state;
    char path[128];
    pool_path(path, sizeof(path), "pool1");
    write_pool(path, 3, NULL);
    kg_mpc_prime_pool *pool = NULL;
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 1024, 0), KG_OK);
    assert_int_equal(kg_mpc_prime_pool_ready(pool), 3);
    BIGNUM *p = NULL;
    assert_int_equal(kg_mpc_prime_pool_take(pool, &p, 0), KG_OK);
    assert_non_null(p);
    assert_safe_prime(p, 1024);
    /* it was a fixture prime, and it is gone from the file */
    bool found = false;
    for (unsigned i = 0; i < 3; i++) {
        BIGNUM *f = kg_fx_prime(1024, i);
        found |= BN_cmp(f, p) == 0;
        kg_mpc_bn_free(f);
    }
    assert_true(found);
    assert_int_equal(kg_mpc_prime_pool_ready(pool), 2);
    assert_int_equal(count_lines(path), 2);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    kg_mpc_prime_pool_close(pool);

    /* reopened: the two left, and never the one taken */
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 1024, 0), KG_OK);
    assert_int_equal(kg_mpc_prime_pool_ready(pool), 2);
    for (int i = 0; i < 2; i++) {
        BIGNUM *q = NULL;
        assert_int_equal(kg_mpc_prime_pool_take(pool, &q, 0), KG_OK);
        assert_int_not_equal(BN_cmp(p, q), 0);
        kg_mpc_bn_free(q);
    }
    assert_int_equal(count_lines(path), 0);
    kg_mpc_prime_pool_close(pool);
    kg_mpc_bn_free(p);
}

static void test_bad_files(void **state)
{
    (void)state;
    char path[128];
    pool_path(path, sizeof(path), "pool2");
    kg_mpc_prime_pool *pool = NULL;
    BIGNUM *p = kg_fx_prime(1024, 5), *h = BN_new();
    char *hex = BN_bn2hex(p);
    char line[600];
    /* one changed digit (the number stays odd): no longer prime */
    snprintf(line, sizeof(line), "%s\n", hex);
    line[strlen(hex) - 1] = line[strlen(hex) - 1] == '1' ? '3' : '1';
    const char *bad[] = {line, "xyz\n", "-17\n", "\n", "0\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_pool(path, 2, bad[i]);
        assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 1024, 0), KG_ERR_BAD_INPUT);
        assert_null(pool);
    }
    /* h = (p-1)/2 is prime but (almost surely) not safe: refused as a
     * 1023-bit safe prime, and as a 1024-bit one for its length */
    assert_true(BN_rshift1(h, p));
    char *hh = BN_bn2hex(h);
    snprintf(line, sizeof(line), "%s\n", hh);
    write_pool(path, 0, line);
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 1024, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 1023, 0), KG_ERR_BAD_INPUT);
    /* valid primes of another size */
    write_pool(path, 2, NULL);
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 1536, 0), KG_ERR_BAD_INPUT);
    assert_null(pool);
    /* unsupported sizes, unreachable path */
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 64, 0), KG_ERR_BAD_INPUT);
    assert_int_not_equal(kg_mpc_prime_pool_open(&pool, "/nonexistent-dir/x/pool", 512, 0), KG_OK);
    assert_null(pool);
    OPENSSL_free(hex);
    OPENSSL_free(hh);
    kg_mpc_bn_free(p);
    BN_free(h);
}

static void test_filler(void **state)
{
    (void)state;
    char path[128];
    pool_path(path, sizeof(path), "pool3"); /* missing: created */
    kg_mpc_prime_pool *pool = NULL;
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 512, 2), KG_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    BIGNUM *p = NULL;
    assert_int_equal(kg_mpc_prime_pool_take(pool, &p, 600000), KG_OK);
    assert_safe_prime(p, 512);
    kg_mpc_bn_free(p);
    /* it refills to the target: wait for two ready, both persisted */
    while (kg_mpc_prime_pool_ready(pool) < 2) usleep(20000);
    kg_mpc_prime_pool_close(pool);
    assert_int_equal(count_lines(path), 2);
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 512, 0), KG_OK);
    assert_int_equal(kg_mpc_prime_pool_ready(pool), 2);
    kg_mpc_prime_pool_close(pool);

    /* close() interrupts a generation in progress: a 1024-bit safe prime
     * takes seconds, so nothing is ready at once and close returns early */
    pool_path(path, sizeof(path), "pool4");
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 1024, 1), KG_OK);
    assert_int_equal(kg_mpc_prime_pool_take(pool, &p, 0), KG_ERR_CONFLICT);
    assert_null(p);
    kg_mpc_prime_pool_close(pool);

    /* no filler: take generates in the calling thread */
    pool_path(path, sizeof(path), "pool5");
    assert_int_equal(kg_mpc_prime_pool_open(&pool, path, 512, 0), KG_OK);
    assert_int_equal(kg_mpc_prime_pool_take(pool, &p, 0), KG_OK);
    assert_safe_prime(p, 512);
    kg_mpc_bn_free(p);
    kg_mpc_prime_pool_close(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_persisted),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_filler),
    };
    if (kg_crypto_init() != KG_OK) return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
