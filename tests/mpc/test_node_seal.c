/* The node's seal key under a passphrase (src/mpc/node_seal.c): plaintext
 * without one; wrapped in seal.key.enc with one (the same key every load);
 * conversion of a plaintext seal.key (the same key, the file gone); a wrong
 * or missing passphrase refused with no file changed; a damaged file, a
 * wrong magic and absurd Argon2id parameters refused; a conversion that
 * stopped before the wipe finished when both files agree, refused when
 * they differ. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kashguard/crypto.h"
#include "../../src/mpc/node_int.h"

static char dir[64], plain[128], enc[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kg-seal-XXXXXX");
    if (kg_crypto_init() != KG_OK || !mkdtemp(dir)) return -1;
    snprintf(plain, sizeof plain, "%s/seal.key", dir);
    snprintf(enc, sizeof enc, "%s/seal.key.enc", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(plain);
    unlink(enc);
    rmdir(dir);
    return 0;
}

static size_t file_get(uint8_t *out, size_t cap, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(out, 1, cap, f);
    fclose(f);
    return n;
}

static void file_put(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void load_ok(uint8_t key[32], const char *pass)
{
    kg_secret *s = NULL;
    kg_err e = kg_mpc_nd_seal_key_load(&s, dir, pass);
    if (e) fail_msg("load: %s", kg_err_detail(e));
    memcpy(key, kg_secret_cdata(s), 32);
    kg_secret_free(s);
}

static void load_fails(kg_err want, const char *pass, const char *needle)
{
    kg_secret *s = (kg_secret *)1;
    uint8_t before[256], after[256];
    size_t bn = file_get(before, sizeof before, enc), pn = file_get(before + 128, 128, plain);
    kg_err e = kg_mpc_nd_seal_key_load(&s, dir, pass);
    assert_int_equal(e, want);
    assert_null(s);
    assert_non_null(strstr(kg_err_detail(e), needle));
    assert_int_equal(file_get(after, sizeof after, enc), bn); /* nothing changed */
    assert_int_equal(file_get(after + 128, 128, plain), pn);
    assert_memory_equal(before, after, bn);
    assert_memory_equal(before + 128, after + 128, pn);
}

static void test_plain_then_convert(void **state)
{
    (void)state;
    uint8_t k1[32], k2[32], b[256];
    load_ok(k1, NULL);
    assert_int_equal(file_get(b, sizeof b, plain), 32);
    assert_memory_equal(b, k1, 32);
    load_ok(k2, NULL);
    assert_memory_equal(k1, k2, 32);
    load_ok(k2, "pw one"); /* converted */
    assert_memory_equal(k1, k2, 32);
    assert_int_not_equal(access(plain, F_OK), 0);
    assert_int_equal(file_get(b, sizeof b, enc), 104);
    assert_memory_equal(b, "KGSEAL01", 8);
    assert_null(memmem(b, 104, k1, 32));
    load_ok(k2, "pw one");
    assert_memory_equal(k1, k2, 32);
    load_fails(KG_ERR_DECRYPT, "pw two", "wrong passphrase");
    load_fails(KG_ERR_BAD_INPUT, NULL, "protected by a passphrase");
    assert_int_not_equal(access(plain, F_OK), 0); /* no new plaintext key */
    load_fails(KG_ERR_BAD_INPUT, "", "empty");

    /* a damaged file, a wrong magic, absurd parameters */
    uint8_t good[104], bad[104];
    assert_int_equal(file_get(good, sizeof good, enc), 104);
    memcpy(bad, good, 104);
    bad[80] ^= 1;
    file_put(enc, bad, 104);
    load_fails(KG_ERR_DECRYPT, "pw one", "wrong passphrase");
    memcpy(bad, good, 104);
    bad[0] = 'X';
    file_put(enc, bad, 104);
    load_fails(KG_ERR_BAD_INPUT, "pw one", "not a KashGuard wrapped seal key");
    memcpy(bad, good, 104);
    bad[12] = 0xff; /* memlimit ~4 TiB */
    file_put(enc, bad, 104);
    load_fails(KG_ERR_BAD_INPUT, "pw one", "out of range");
    file_put(enc, good, 100);
    load_fails(KG_ERR_BAD_INPUT, "pw one", "must hold 104 bytes");
    file_put(enc, good, 104);

    /* a conversion stopped before the wipe: finished when both agree */
    file_put(plain, k1, 32);
    load_ok(k2, "pw one");
    assert_memory_equal(k1, k2, 32);
    assert_int_not_equal(access(plain, F_OK), 0);
    /* ... refused when they differ */
    k2[0] ^= 1;
    file_put(plain, k2, 32);
    load_fails(KG_ERR_CONFLICT, "pw one", "different seal keys");
}

/* A fresh node with a passphrase: no plaintext key ever written. */
static void test_fresh_wrapped(void **state)
{
    (void)state;
    uint8_t k1[32], k2[32];
    unlink(plain);
    unlink(enc);
    load_ok(k1, "fresh");
    assert_int_not_equal(access(plain, F_OK), 0);
    struct stat st;
    assert_int_equal(stat(enc, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    load_ok(k2, "fresh");
    assert_memory_equal(k1, k2, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_then_convert),
        cmocka_unit_test(test_fresh_wrapped),
    };
    return cmocka_run_group_tests_name("mpc_node_seal", tests, setup, teardown);
}
