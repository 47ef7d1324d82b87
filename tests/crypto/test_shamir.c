/* Shamir secret sharing: exhaustive over every t-of-n with n <= 5 and every
 * subset of the shares (subsets of size >= t recover the secret, subsets of
 * size t-1 do not), larger parameters, and the input checks (duplicate or
 * zero index, mismatched lengths, impossible thresholds). */
#include "crypto_test.h"

#define SECRET_LEN 32

static kg_secret *random_secret(size_t len)
{
    kg_secret *s = kg_secret_new(len);
    assert_non_null(s);
    assert_int_equal(kg_crypto_random(kg_secret_data(s), len), KG_OK);
    return s;
}

static int recovers(const kg_secret *secret, kg_secret **shares, unsigned mask, unsigned n)
{
    const kg_secret *pick[255];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        if (mask & (1u << i))
            pick[k++] = shares[i];
    kg_secret *out = NULL;
    assert_int_equal(kg_crypto_shamir_combine(&out, pick, k), KG_OK);
    assert_int_equal(kg_secret_len(out), kg_secret_len(secret));
    int same = memcmp(kg_secret_cdata(out), kg_secret_cdata(secret), kg_secret_len(secret)) == 0;
    kg_secret_free(out);
    return same;
}

static void test_exhaustive_small(void **state)
{
    (void)state;
    unsigned checked = 0;
    for (unsigned n = 1; n <= 5; n++) {
        for (unsigned t = 1; t <= n; t++) {
            kg_secret *secret = random_secret(SECRET_LEN), *shares[5];
            assert_int_equal(kg_crypto_shamir_split(shares, secret, n, t), KG_OK);
            for (unsigned i = 0; i < n; i++) {
                assert_int_equal(kg_secret_len(shares[i]), 1 + SECRET_LEN);
                assert_int_equal(kg_secret_cdata(shares[i])[0], i + 1);
            }
            for (unsigned mask = 1; mask < (1u << n); mask++) {
                unsigned k = (unsigned)__builtin_popcount(mask);
                if (k >= t)
                    assert_true(recovers(secret, shares, mask, n));
                else if (k == t - 1) /* one share short: 2^-256 chance of a match */
                    assert_false(recovers(secret, shares, mask, n));
                checked++;
            }
            for (unsigned i = 0; i < n; i++)
                kg_secret_free(shares[i]);
            kg_secret_free(secret);
        }
    }
    printf("[ shamir ] %u share subsets checked for every t-of-n with n <= 5\n", checked);
}

static void test_large(void **state)
{
    (void)state;
    static const unsigned params[][2] = {{255, 255}, {255, 1}, {200, 100}, {10, 7}};
    for (size_t p = 0; p < sizeof params / sizeof params[0]; p++) {
        unsigned n = params[p][0], t = params[p][1];
        kg_secret *secret = random_secret(5), *shares[255];
        assert_int_equal(kg_crypto_shamir_split(shares, secret, n, t), KG_OK);
        /* the last t shares, in reverse order */
        const kg_secret *pick[255];
        for (unsigned i = 0; i < t; i++)
            pick[i] = shares[n - 1 - i];
        kg_secret *out = NULL;
        assert_int_equal(kg_crypto_shamir_combine(&out, pick, t), KG_OK);
        assert_memory_equal(kg_secret_cdata(out), kg_secret_cdata(secret), 5);
        kg_secret_free(out);
        for (unsigned i = 0; i < n; i++)
            kg_secret_free(shares[i]);
        kg_secret_free(secret);
    }
}

/* Shares of one byte with a threshold of 1 are the secret itself. */
static void test_threshold_one(void **state)
{
    (void)state;
    const uint8_t b[3] = {0x00, 0x80, 0xff};
    kg_secret *secret = kg_secret_from(b, sizeof b), *shares[3];
    assert_int_equal(kg_crypto_shamir_split(shares, secret, 3, 1), KG_OK);
    for (unsigned i = 0; i < 3; i++)
        assert_memory_equal(kg_secret_cdata(shares[i]) + 1, b, sizeof b);
    for (unsigned i = 0; i < 3; i++)
        kg_secret_free(shares[i]);
    kg_secret_free(secret);
}

static void test_bad_input(void **state)
{
    (void)state;
    kg_secret *secret = random_secret(16), *shares[5], *out = NULL;
    assert_int_equal(kg_crypto_shamir_split(shares, secret, 3, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_shamir_split(shares, secret, 3, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_crypto_shamir_split(shares, secret, 0, 0), KG_ERR_BAD_INPUT);
    assert_null(shares[0]);
    kg_secret *empty = kg_secret_new(0);
    assert_int_equal(kg_crypto_shamir_split(shares, empty, 3, 2), KG_ERR_BAD_INPUT);
    kg_secret_free(empty);

    assert_int_equal(kg_crypto_shamir_split(shares, secret, 5, 3), KG_OK);
    const kg_secret *dup[3] = {shares[0], shares[1], shares[0]};
    assert_int_equal(kg_crypto_shamir_combine(&out, dup, 3), KG_ERR_BAD_INPUT);
    assert_null(out);
    assert_int_equal(kg_crypto_shamir_combine(&out, dup, 0), KG_ERR_BAD_INPUT);
    kg_secret *shorter = kg_secret_from(kg_secret_cdata(shares[2]), 10);
    const kg_secret *mixed[3] = {shares[0], shares[1], shorter};
    assert_int_equal(kg_crypto_shamir_combine(&out, mixed, 3), KG_ERR_BAD_INPUT);
    kg_secret *zero_x = kg_secret_from(kg_secret_cdata(shares[2]), 17);
    kg_secret_data(zero_x)[0] = 0;
    const kg_secret *zx[3] = {shares[0], shares[1], zero_x};
    assert_int_equal(kg_crypto_shamir_combine(&out, zx, 3), KG_ERR_BAD_INPUT);
    assert_null(out);
    kg_secret_free(shorter);
    kg_secret_free(zero_x);
    for (unsigned i = 0; i < 5; i++)
        kg_secret_free(shares[i]);
    kg_secret_free(secret);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustive_small),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_threshold_one),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests_name("crypto/shamir", tests, t_init, NULL);
}
