/* Paillier and ring-Pedersen (paillier.c) on 2048-bit fixture moduli:
 * encryption against the textbook formula (1+N)^m·r^N computed with
 * OpenSSL's BN_mod_exp, CRT decryption of signed plaintexts up to the
 * ±(N-1)/2 boundaries, the homomorphisms with signed scalars, nonce
 * recovery, and every validation (ciphertexts, public keys, primes,
 * ring-Pedersen parameters). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "cggmp_fixture.h"

static BN_CTX *ctx;
static kg_mpc_paillier_sk sk;
static BIGNUM *half; /* (N-1)/2 */

static int setup(void **state)
{
    (void)state;
    ctx = BN_CTX_new();
    half = BN_new();
    if (kg_fx_paillier_sk(&sk, 1024, 0) != KG_OK) return -1;
    return BN_rshift1(half, sk.pk.n) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kg_mpc_paillier_sk_clear(&sk);
    BN_free(half);
    BN_CTX_free(ctx);
    return 0;
}

/* (1+N)^m · r^N mod N^2, m signed, by plain BN_mod_exp. */
static BIGNUM *ref_enc(const BIGNUM *m, const BIGNUM *r)
{
    const BIGNUM *n = sk.pk.n, *nn = sk.pk.nn;
    BIGNUM *g = BN_dup(n), *am = BN_dup(m), *c = BN_new(), *t = BN_new();
    assert_true(BN_add_word(g, 1));
    BN_set_negative(am, 0);
    assert_true(BN_mod_exp(c, g, am, nn, ctx));
    if (BN_is_negative(m)) assert_non_null(BN_mod_inverse(c, c, nn, ctx));
    assert_true(BN_mod_exp(t, r, n, nn, ctx));
    assert_true(BN_mod_mul(c, c, t, nn, ctx));
    BN_free(g), BN_free(am), BN_free(t);
    return c;
}

/* enc (fresh r), compare with the reference, decrypt, recover the nonce. */
static void check_roundtrip(const BIGNUM *m)
{
    BIGNUM *c = BN_new(), *r = BN_new(), *d = BN_new(), *c2 = BN_new(), *rho = BN_new();
    assert_int_equal(kg_mpc_paillier_enc(&sk.pk, c, r, m), KG_OK);
    BIGNUM *ref = ref_enc(m, r);
    assert_int_equal(BN_cmp(c, ref), 0);
    assert_int_equal(kg_mpc_paillier_enc_sk(&sk, c2, m, r), KG_OK);
    assert_int_equal(BN_cmp(c2, ref), 0);
    assert_int_equal(kg_mpc_paillier_enc_with(&sk.pk, c2, m, r), KG_OK);
    assert_int_equal(BN_cmp(c2, ref), 0);
    assert_int_equal(kg_mpc_paillier_dec(&sk, d, c), KG_OK);
    assert_int_equal(BN_cmp(d, m), 0);
    assert_int_equal(kg_mpc_paillier_nonce(&sk, rho, c, m), KG_OK);
    assert_int_equal(BN_cmp(rho, r), 0);
    BN_free(c), BN_free(r), BN_free(d), BN_free(c2), BN_free(rho), BN_free(ref);
}

static void test_enc_dec(void **state)
{
    (void)state;
    BIGNUM *m = BN_new();
    BN_zero(m);
    check_roundtrip(m);
    BN_one(m);
    check_roundtrip(m);
    BN_set_negative(m, 1);
    check_roundtrip(m);
    BN_copy(m, half); /* (N-1)/2 */
    check_roundtrip(m);
    BN_set_negative(m, 1);
    check_roundtrip(m);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(kg_mpc_bn_rand_pm(m, (unsigned)(i < 3 ? 256 : 2040), NULL), KG_OK);
        check_roundtrip(m);
    }
    /* |m| >= N/2 cannot be encrypted */
    BIGNUM *c = BN_new(), *r = BN_new();
    BN_copy(m, half);
    assert_true(BN_add_word(m, 1));
    assert_int_equal(kg_mpc_paillier_enc(&sk.pk, c, NULL, m), KG_ERR_BAD_INPUT);
    BN_set_negative(m, 1);
    assert_int_equal(kg_mpc_paillier_enc(&sk.pk, c, NULL, m), KG_ERR_BAD_INPUT);
    /* r must be a unit */
    BN_set_word(m, 5);
    assert_int_equal(kg_mpc_paillier_enc_with(&sk.pk, c, m, sk.p), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_paillier_enc_sk(&sk, c, m, sk.q), KG_ERR_BAD_INPUT);
    BN_zero(r);
    assert_int_equal(kg_mpc_paillier_enc_with(&sk.pk, c, m, r), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_paillier_enc_with(&sk.pk, c, m, sk.pk.n), KG_ERR_BAD_INPUT);
    /* the nonce of c is only given for the m that c encrypts */
    assert_int_equal(kg_mpc_paillier_enc(&sk.pk, c, r, m), KG_OK);
    BN_set_word(m, 6);
    assert_int_equal(kg_mpc_paillier_nonce(&sk, r, c, m), KG_ERR_BAD_INPUT);
    BN_free(m), BN_free(c), BN_free(r);
}

static void test_homomorphism(void **state)
{
    (void)state;
    BIGNUM *a = BN_new(), *b = BN_new(), *k = BN_new(), *ca = BN_new(), *cb = BN_new();
    BIGNUM *c = BN_new(), *d = BN_new(), *want = BN_new();
    for (int i = 0; i < 4; i++) {
        assert_int_equal(kg_mpc_bn_rand_pm(a, 1000, NULL), KG_OK);
        assert_int_equal(kg_mpc_bn_rand_pm(b, 1000, NULL), KG_OK);
        assert_int_equal(kg_mpc_bn_rand_pm(k, 900, NULL), KG_OK);
        assert_int_equal(kg_mpc_paillier_enc(&sk.pk, ca, NULL, a), KG_OK);
        assert_int_equal(kg_mpc_paillier_enc(&sk.pk, cb, NULL, b), KG_OK);
        assert_int_equal(kg_mpc_paillier_add(&sk.pk, c, ca, cb), KG_OK);
        assert_int_equal(kg_mpc_paillier_dec(&sk, d, c), KG_OK);
        assert_true(BN_add(want, a, b));
        assert_int_equal(BN_cmp(d, want), 0);
        assert_true(BN_mul(want, a, k, ctx));
        for (int secret = 0; secret < 2; secret++) {
            assert_int_equal(kg_mpc_paillier_mul(&sk.pk, c, ca, k, secret), KG_OK);
            assert_int_equal(kg_mpc_paillier_dec(&sk, d, c), KG_OK);
            assert_int_equal(BN_cmp(d, want), 0);
        }
    }
    /* a·k past N/2 wraps into the signed range: (N-1)/2 · 2 = N-1 = -1 */
    BN_copy(a, half);
    BN_set_word(k, 2);
    assert_int_equal(kg_mpc_paillier_enc(&sk.pk, ca, NULL, a), KG_OK);
    assert_int_equal(kg_mpc_paillier_mul(&sk.pk, c, ca, k, false), KG_OK);
    assert_int_equal(kg_mpc_paillier_dec(&sk, d, c), KG_OK);
    assert_true(BN_abs_is_word(d, 1) && BN_is_negative(d));
    /* out-of-range operands */
    BN_zero(b);
    assert_int_equal(kg_mpc_paillier_add(&sk.pk, c, ca, b), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_paillier_add(&sk.pk, c, sk.pk.nn, ca), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_paillier_mul(&sk.pk, c, sk.pk.nn, k, true), KG_ERR_BAD_INPUT);
    BN_free(a), BN_free(b), BN_free(k), BN_free(ca), BN_free(cb), BN_free(c), BN_free(d), BN_free(want);
}

static void test_checks(void **state)
{
    (void)state;
    BIGNUM *c = BN_new(), *m = BN_new(), *x = BN_new();
    BN_set_word(m, 42);
    assert_int_equal(kg_mpc_paillier_enc(&sk.pk, c, NULL, m), KG_OK);
    assert_int_equal(kg_mpc_paillier_ct_check(&sk.pk, c, "c"), KG_OK);
    BN_zero(x);
    assert_int_equal(kg_mpc_paillier_ct_check(&sk.pk, x, "c"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_paillier_ct_check(&sk.pk, sk.pk.nn, "c"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_paillier_ct_check(&sk.pk, sk.pk.n, "c"), KG_ERR_BAD_INPUT);
    assert_true(BN_mul_word(BN_copy(x, sk.p), 12345));
    assert_int_equal(kg_mpc_paillier_ct_check(&sk.pk, x, "c"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_paillier_dec(&sk, m, x), KG_ERR_BAD_INPUT);
    BN_copy(x, c);
    BN_set_negative(x, 1);
    assert_int_equal(kg_mpc_paillier_ct_check(&sk.pk, x, "c"), KG_ERR_BAD_INPUT);
    assert_true(BN_add(x, c, sk.pk.nn));
    assert_int_equal(kg_mpc_paillier_ct_check(&sk.pk, x, "c"), KG_ERR_BAD_INPUT);

    /* public keys */
    kg_mpc_paillier_pk pk;
    assert_int_equal(kg_mpc_paillier_pk_set(&pk, sk.pk.n), KG_OK);
    assert_int_equal(BN_cmp(pk.nn, sk.pk.nn), 0);
    kg_mpc_paillier_pk_clear(&pk);
    assert_true(BN_add_word(BN_copy(x, sk.pk.n), 1)); /* even */
    assert_int_equal(kg_mpc_paillier_pk_set(&pk, x), KG_ERR_BAD_INPUT);
    assert_null(pk.n);
    assert_int_equal(kg_mpc_paillier_pk_set(&pk, sk.p), KG_ERR_BAD_INPUT); /* 1024 bits */
    BN_zero(x);
    assert_true(BN_set_bit(x, KG_CGGMP_N_BITS_MAX) && BN_add_word(x, 1)); /* 4097 bits */
    assert_int_equal(kg_mpc_paillier_pk_set(&pk, x), KG_ERR_BAD_INPUT);
    BN_copy(x, sk.pk.n);
    BN_set_negative(x, 1);
    assert_int_equal(kg_mpc_paillier_pk_set(&pk, x), KG_ERR_BAD_INPUT);

    /* primes */
    kg_mpc_paillier_sk bad;
    BIGNUM *q = kg_fx_prime(1024, 1);
    assert_int_equal(kg_mpc_paillier_sk_from_primes(&bad, sk.p, sk.p), KG_ERR_BAD_INPUT);
    assert_null(bad.p);
    assert_true(BN_rshift1(x, q)); /* (q-1)/2: prime, one bit shorter */
    assert_int_equal(BN_check_prime(x, ctx, NULL), 1);
    assert_int_equal(kg_mpc_paillier_sk_from_primes(&bad, sk.p, x), KG_ERR_BAD_INPUT);
    assert_true(BN_add_word(BN_copy(x, q), 4)); /* safe primes are 11 mod 12: q+4 = 0 mod 3 */
    assert_int_equal(BN_num_bits(x), BN_num_bits(q));
    assert_int_equal(kg_mpc_paillier_sk_from_primes(&bad, sk.p, x), KG_ERR_BAD_INPUT);
    assert_null(bad.pk.n);
    kg_mpc_bn_free(q);
    BN_free(c), BN_free(m), BN_free(x);
}

/* s^x · t^y mod N by BN_mod_exp, negative exponents through inverses. */
static BIGNUM *ref_pow(const BIGNUM *a, const BIGNUM *e, const BIGNUM *n)
{
    BIGNUM *r = BN_new(), *ae = BN_dup(e);
    BN_set_negative(ae, 0);
    assert_true(BN_mod_exp(r, a, ae, n, ctx));
    if (BN_is_negative(e)) assert_non_null(BN_mod_inverse(r, r, n, ctx));
    BN_free(ae);
    return r;
}

static void test_ring_pedersen(void **state)
{
    (void)state;
    kg_mpc_rped_sk rs;
    assert_int_equal(kg_fx_rped_sk(&rs, 1024, 2), KG_OK);
    const BIGNUM *n = rs.pub.mod.n;
    /* the parameters are what they claim: s = t^λ, t a square, λ < φ */
    BIGNUM *x = ref_pow(rs.pub.t, rs.lambda, n);
    assert_int_equal(BN_cmp(x, rs.pub.s), 0);
    assert_true(BN_cmp(rs.lambda, rs.phi) < 0);
    BIGNUM *p = kg_fx_prime(1024, 2), *q = kg_fx_prime(1024, 3), *phi = BN_new(), *t1 = BN_new();
    assert_true(BN_sub(phi, p, BN_value_one()) && BN_sub(t1, q, BN_value_one()) && BN_mul(phi, phi, t1, ctx));
    assert_int_equal(BN_cmp(phi, rs.phi), 0);
    assert_int_equal(BN_kronecker(rs.pub.t, p, ctx), 1);
    assert_int_equal(BN_kronecker(rs.pub.t, q, ctx), 1);

    /* commitments against the reference, signed exponents */
    BIGNUM *a = BN_new(), *b = BN_new(), *c = BN_new();
    for (int i = 0; i < 4; i++) {
        assert_int_equal(kg_mpc_bn_rand_pm(a, 256 + 512, n), KG_OK);
        assert_int_equal(kg_mpc_bn_rand_pm(b, 256, NULL), KG_OK);
        assert_int_equal(kg_mpc_rped_commit(&rs.pub, c, a, b), KG_OK);
        BIGNUM *u = ref_pow(rs.pub.s, a, n), *v = ref_pow(rs.pub.t, b, n);
        assert_true(BN_mod_mul(u, u, v, n, ctx));
        assert_int_equal(BN_cmp(c, u), 0);
        BN_free(u), BN_free(v);
    }

    /* a peer's parameters */
    kg_mpc_rped rp;
    assert_int_equal(kg_mpc_rped_set(&rp, n, rs.pub.s, rs.pub.t), KG_OK);
    kg_mpc_rped_clear(&rp);
    BIGNUM *one = BN_new(), *m1 = BN_new();
    BN_one(one);
    assert_true(BN_sub(m1, n, one));
    assert_int_equal(kg_mpc_rped_set(&rp, n, rs.pub.t, rs.pub.t), KG_ERR_BAD_INPUT); /* s = t */
    assert_int_equal(kg_mpc_rped_set(&rp, n, one, rs.pub.t), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_rped_set(&rp, n, rs.pub.s, one), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_rped_set(&rp, n, m1, rs.pub.t), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_rped_set(&rp, n, rs.pub.s, m1), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_rped_set(&rp, n, p, rs.pub.t), KG_ERR_BAD_INPUT); /* not a unit */
    assert_int_equal(kg_mpc_rped_set(&rp, n, rs.pub.s, q), KG_ERR_BAD_INPUT);
    assert_true(BN_add(a, rs.pub.s, n));
    assert_int_equal(kg_mpc_rped_set(&rp, n, a, rs.pub.t), KG_ERR_BAD_INPUT); /* >= N */
    BN_zero(a);
    assert_int_equal(kg_mpc_rped_set(&rp, n, a, rs.pub.t), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_rped_set(&rp, p, one, one), KG_ERR_BAD_INPUT);       /* small N */
    assert_true(BN_add_word(BN_copy(a, n), 1));
    assert_int_equal(kg_mpc_rped_set(&rp, a, rs.pub.s, rs.pub.t), KG_ERR_BAD_INPUT); /* even */
    assert_null(rp.s);

    /* generation refuses p = q */
    kg_mpc_rped_sk bad;
    assert_int_equal(kg_mpc_rped_generate(&bad, p, p), KG_ERR_BAD_INPUT);
    assert_null(bad.lambda);

    kg_mpc_rped_sk_clear(&rs);
    kg_mpc_bn_free(p), kg_mpc_bn_free(q);
    BN_free(x), BN_free(phi), BN_free(t1), BN_free(a), BN_free(b), BN_free(c), BN_free(one), BN_free(m1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enc_dec),
        cmocka_unit_test(test_homomorphism),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_ring_pedersen),
    };
    if (kg_crypto_init() != KG_OK) return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
