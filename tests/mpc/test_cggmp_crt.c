/* CRT exponentiation on the owner's moduli (cggmp_crt.c, and its use by
 * cggmp_bn.c, paillier.c and the aux builders): every exponentiation
 * through a modulus with its factorisation attached must give exactly what
 * the plain path gives, and what OpenSSL's BN_mod_exp gives computed
 * another way, mod N̂ = p·q and mod N^2, for random, zero, ±1, negative,
 * full-length, order-multiple exponents, public and secret, one and two
 * bases; non-units behave as before (same result or same refusal). Also:
 * wrong factorisations are refused without touching the modulus, and the
 * owner's keys (Paillier, ring-Pedersen, aux entries) carry the CRT while
 * peers' entries do not. 1024-bit fixture primes (2048-bit moduli). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "../../src/mpc/cggmp_int.h"
#include "cggmp_fixture.h"

static BN_CTX *ctx;
static BIGNUM *P, *Q, *N, *NN;
/* [0]: mod N, [1]: mod N^2; plain and with the CRT attached */
static kg_mpc_mod plain[2], crt[2];

static int setup(void **state)
{
    (void)state;
    if (kg_crypto_init() != KG_OK || !(ctx = BN_CTX_new())) return -1;
    P = kg_fx_prime(1024, 0);
    Q = kg_fx_prime(1024, 1);
    N = BN_new();
    NN = BN_new();
    if (!P || !Q || !N || !NN || !BN_mul(N, P, Q, ctx) || !BN_sqr(NN, N, ctx)) return -1;
    for (unsigned k = 0; k < 2; k++) {
        const BIGNUM *m = k ? NN : N;
        if (kg_mpc_mod_init(&plain[k], m) || kg_mpc_mod_init(&crt[k], m) || kg_mpc_mod_set_crt(&crt[k], P, Q, k + 1))
            return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned k = 0; k < 2; k++) {
        kg_mpc_mod_clear(&plain[k]);
        kg_mpc_mod_clear(&crt[k]);
    }
    kg_mpc_bn_free(P);
    kg_mpc_bn_free(Q);
    BN_free(N);
    BN_free(NN);
    BN_CTX_free(ctx);
    return 0;
}

/* Independent reference: (a^|e| mod n), inverted for e < 0. */
static BIGNUM *ref_exp(const BIGNUM *a, const BIGNUM *e, const BIGNUM *n)
{
    BIGNUM *r = BN_new(), *ae = BN_dup(e), *b = BN_new();
    assert_non_null(r);
    assert_non_null(ae);
    assert_non_null(b);
    BN_set_negative(ae, 0);
    assert_true(BN_nnmod(b, a, n, ctx));
    assert_true(BN_mod_exp(r, b, ae, n, ctx));
    if (BN_is_negative(e)) assert_non_null(BN_mod_inverse(r, r, n, ctx));
    BN_free(ae);
    BN_free(b);
    return r;
}

/* a^e by every entry point, plain and CRT, against the reference. */
static void check_one(const BIGNUM *a, const BIGNUM *e, unsigned k)
{
    BIGNUM *ref = ref_exp(a, e, plain[k].n), *r = BN_new();
    assert_non_null(r);
    for (int c = 0; c < 2; c++) {
        const kg_mpc_mod *m = c ? &crt[k] : &plain[k];
        BN_zero(r);
        assert_int_equal(kg_mpc_bn_exp(r, a, e, m), KG_OK);
        assert_int_equal(BN_cmp(r, ref), 0);
        BN_zero(r);
        assert_int_equal(kg_mpc_bn_exp_secret(r, a, e, m), KG_OK);
        assert_int_equal(BN_cmp(r, ref), 0);
        if (!BN_is_negative(e)) {
            BN_zero(r);
            assert_int_equal(kg_mpc_bn_exp_ct(r, a, e, m), KG_OK);
            assert_int_equal(BN_cmp(r, ref), 0);
        }
    }
    BN_free(ref);
    BN_free(r);
}

/* a^x·b^y, public and secret, plain and CRT, against the reference. */
static void check_two(const BIGNUM *a, const BIGNUM *x, const BIGNUM *b, const BIGNUM *y, unsigned k)
{
    BIGNUM *u = ref_exp(a, x, plain[k].n), *v = ref_exp(b, y, plain[k].n), *r = BN_new();
    assert_non_null(r);
    assert_true(BN_mod_mul(u, u, v, plain[k].n, ctx));
    for (int c = 0; c < 4; c++) {
        BN_zero(r);
        assert_int_equal(kg_mpc_bn_exp2(r, a, x, b, y, c & 1 ? &crt[k] : &plain[k], c >= 2), KG_OK);
        assert_int_equal(BN_cmp(r, u), 0);
    }
    BN_free(u);
    BN_free(v);
    BN_free(r);
}

/* Exponents of every shape the proofs use, signed. */
static void exponent(BIGNUM *e, unsigned i, unsigned k)
{
    static const unsigned bits[] = {1, 8, 256, 768, 1023, 1024, 1025, 2048, 2816, 3328};
    switch (i % 14) {
    case 0: BN_zero(e); return;
    case 1: BN_one(e); return;
    case 2: assert_true(BN_copy(e, N)); return; /* r^N */
    case 3: /* a multiple of the order mod p^k: φ(N) or N·φ(N) */
        assert_true(BN_sub(e, P, BN_value_one()));
        {
            BIGNUM *t = BN_new();
            assert_true(BN_sub(t, Q, BN_value_one()) && BN_mul(e, e, t, ctx));
            if (k) assert_true(BN_mul(e, e, N, ctx));
            BN_free(t);
        }
        return;
    default:
        assert_int_equal(kg_mpc_bn_rand_pm(e, bits[i % 10], NULL), KG_OK);
    }
}

static void test_crt_matches_plain(void **state)
{
    (void)state;
    BIGNUM *a = BN_new(), *b = BN_new(), *e = BN_new(), *f = BN_new();
    for (unsigned k = 0; k < 2; k++) {
        for (unsigned i = 0; i < 28; i++) {
            assert_int_equal(kg_mpc_bn_rand_unit(a, plain[k].n), KG_OK);
            assert_int_equal(kg_mpc_bn_rand_unit(b, plain[k].n), KG_OK);
            if (i % 5 == 1) assert_true(BN_add(a, a, plain[k].n));   /* unreduced base */
            if (i % 5 == 2) BN_set_negative(a, 1);                    /* negative base */
            if (i % 5 == 3) BN_set_flags(a, BN_FLG_CONSTTIME);        /* secret base */
            exponent(e, i, k);
            exponent(f, i + 5, k);
            if (i % 2) BN_set_negative(e, !BN_is_zero(e));
            if (i % 3 == 0) BN_set_negative(f, !BN_is_zero(f));
            check_one(a, e, k);
            check_two(a, e, b, f, k);
        }
    }
    BN_free(a);
    BN_free(b);
    BN_free(e);
    BN_free(f);
}

/* Bases that are not units: the CRT path must not change the answer
 * (a^e for e >= 0 on the public path) nor the refusals. */
static void test_crt_non_units(void **state)
{
    (void)state;
    BIGNUM *a = BN_new(), *e = BN_new(), *r1 = BN_new(), *r2 = BN_new(), *z = BN_new();
    BN_zero(z);
    for (unsigned k = 0; k < 2; k++) {
        for (int c = 0; c < 3; c++) {
            if (c == 0) assert_true(BN_copy(a, P));            /* p | a */
            if (c == 1) assert_true(BN_mul_word(BN_copy(a, Q), 7)); /* q | a */
            if (c == 2) BN_zero(a);
            assert_int_equal(kg_mpc_bn_rand_pm(e, 300, NULL), KG_OK);
            BN_set_negative(e, 0);
            assert_int_equal(kg_mpc_bn_exp(r1, a, e, &plain[k]), KG_OK);
            assert_int_equal(kg_mpc_bn_exp(r2, a, e, &crt[k]), KG_OK);
            assert_int_equal(BN_cmp(r1, r2), 0);
            assert_int_equal(kg_mpc_bn_exp_ct(r2, a, e, &crt[k]), KG_OK);
            assert_int_equal(BN_cmp(r1, r2), 0);
            /* zero exponent: 1 either way */
            assert_int_equal(kg_mpc_bn_exp(r2, a, z, &crt[k]), KG_OK);
            assert_true(BN_is_one(r2));
            /* secret powers and negative powers of a non-unit: refused */
            assert_int_equal(kg_mpc_bn_exp_secret(r1, a, e, &plain[k]), KG_ERR_BAD_INPUT);
            assert_int_equal(kg_mpc_bn_exp_secret(r2, a, e, &crt[k]), KG_ERR_BAD_INPUT);
            BN_set_negative(e, 1);
            assert_int_equal(kg_mpc_bn_exp(r1, a, e, &plain[k]), KG_ERR_BAD_INPUT);
            assert_int_equal(kg_mpc_bn_exp(r2, a, e, &crt[k]), KG_ERR_BAD_INPUT);
            assert_int_equal(kg_mpc_bn_exp_ct(r2, a, e, &crt[k]), KG_ERR_BAD_INPUT);
            /* two bases, one of them zero with a zero exponent */
            if (c == 2) {
                BIGNUM *b = BN_new();
                assert_int_equal(kg_mpc_bn_rand_unit(b, plain[k].n), KG_OK);
                BN_set_negative(e, 0);
                assert_int_equal(kg_mpc_bn_exp2(r1, a, z, b, e, &plain[k], false), KG_OK);
                assert_int_equal(kg_mpc_bn_exp(r2, b, e, &plain[k]), KG_OK);
                assert_int_equal(BN_cmp(r1, r2), 0);
                BN_free(b);
            }
        }
    }
    BN_free(a);
    BN_free(e);
    BN_free(r1);
    BN_free(r2);
    BN_free(z);
}

static void test_crt_refused(void **state)
{
    (void)state;
    kg_mpc_mod m;
    assert_int_equal(kg_mpc_mod_init(&m, N), KG_OK);
    BIGNUM *p2 = kg_fx_prime(1024, 2);
    assert_non_null(p2);
    assert_int_equal(kg_mpc_mod_set_crt(&m, P, p2, 1), KG_ERR_BAD_INPUT); /* not N's factors */
    assert_int_equal(kg_mpc_mod_set_crt(&m, P, Q, 2), KG_ERR_BAD_INPUT);  /* N is not p^2·q^2 */
    assert_int_equal(kg_mpc_mod_set_crt(&m, P, Q, 3), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_mod_set_crt(&m, P, P, 1), KG_ERR_BAD_INPUT);
    assert_null(m.crt);
    assert_int_equal(kg_mpc_mod_set_crt(&m, Q, P, 1), KG_OK); /* either order */
    assert_non_null(m.crt);
    assert_int_equal(kg_mpc_mod_set_crt(&m, P, p2, 1), KG_ERR_BAD_INPUT);
    assert_non_null(m.crt); /* a refused call keeps the good factors */
    BIGNUM *a = BN_new(), *e = BN_new(), *r = BN_new(), *ref = NULL;
    assert_int_equal(kg_mpc_bn_rand_unit(a, N), KG_OK);
    assert_int_equal(kg_mpc_bn_rand_pm(e, 2816, NULL), KG_OK);
    ref = ref_exp(a, e, N);
    assert_int_equal(kg_mpc_bn_exp_secret(r, a, e, &m), KG_OK);
    assert_int_equal(BN_cmp(r, ref), 0);
    kg_mpc_mod_clear(&m);
    assert_null(m.crt);
    kg_mpc_bn_free(p2);
    BN_free(a);
    BN_free(e);
    BN_free(r);
    BN_free(ref);
}

/* The owner's keys carry the CRT and encrypt/decrypt as a peer's copy. */
static void test_owner_keys(void **state)
{
    (void)state;
    kg_mpc_paillier_sk sk;
    kg_mpc_paillier_pk pk;
    kg_mpc_rped_sk rsk;
    assert_int_equal(kg_mpc_paillier_sk_from_primes(&sk, P, Q), KG_OK);
    assert_int_equal(kg_mpc_paillier_pk_set(&pk, N), KG_OK);
    assert_int_equal(kg_mpc_rped_generate(&rsk, P, Q), KG_OK);
    assert_non_null(sk.pk.mod_n.crt);
    assert_non_null(sk.pk.mod_nn.crt);
    assert_non_null(rsk.pub.mod.crt);
    assert_null(pk.mod_nn.crt);
    BIGNUM *m = BN_new(), *r = kg_mpc_bn_secret_new(), *c1 = BN_new(), *c2 = BN_new(), *d = BN_new(), *t = BN_new();
    for (int i = 0; i < 4; i++) {
        assert_int_equal(kg_mpc_bn_rand_pm(m, 1000, NULL), KG_OK);
        assert_int_equal(kg_mpc_bn_rand_unit(r, N), KG_OK);
        assert_int_equal(kg_mpc_paillier_enc_with(&sk.pk, c1, m, r), KG_OK); /* CRT */
        assert_int_equal(kg_mpc_paillier_enc_with(&pk, c2, m, r), KG_OK);    /* plain */
        assert_int_equal(BN_cmp(c1, c2), 0);
        assert_int_equal(kg_mpc_paillier_dec(&sk, d, c1), KG_OK);
        assert_int_equal(BN_cmp(d, m), 0);
        /* s = t^λ holds through the CRT modulus and the plain one */
        assert_int_equal(kg_mpc_bn_exp_secret(t, rsk.pub.t, rsk.lambda, &rsk.pub.mod), KG_OK);
        assert_int_equal(BN_cmp(t, rsk.pub.s), 0);
    }
    BN_free(m);
    kg_mpc_bn_free(r);
    BN_free(c1);
    BN_free(c2);
    BN_free(d);
    BN_free(t);
    kg_mpc_paillier_sk_clear(&sk);
    kg_mpc_paillier_pk_clear(&pk);
    kg_mpc_rped_sk_clear(&rsk);
}

/* Dealt and decoded aux info: own entries with CRT, peers' without. */
static void test_aux_entries(void **state)
{
    (void)state;
    kg_mpc_cggmp_aux *aux[3] = {0}, *dec = NULL;
    BIGNUM *pr[6];
    for (unsigned i = 0; i < 6; i++) assert_non_null(pr[i] = kg_fx_prime(1024, i));
    uint16_t ids[3] = {1, 2, 3};
    assert_int_equal(kg_mpc_cggmp_aux_dealer(aux, ids, 3, pr), KG_OK);
    kg_bytes enc = {0};
    assert_int_equal(kg_mpc_cggmp_aux_encode(&enc, aux[1]), KG_OK);
    assert_int_equal(kg_mpc_cggmp_aux_decode(&dec, enc.data, enc.len), KG_OK);
    for (unsigned i = 0; i < 4; i++) {
        const kg_mpc_cggmp_aux *a = i < 3 ? aux[i] : dec;
        unsigned own = i < 3 ? i : 1;
        for (unsigned j = 0; j < 3; j++) {
            bool mine = j == own;
            assert_int_equal(a->pk[j].mod_n.crt != NULL, mine);
            assert_int_equal(a->pk[j].mod_nn.crt != NULL, mine);
            assert_int_equal(a->rp[j].mod.crt != NULL, mine);
        }
        assert_non_null(a->rsk.pub.mod.crt);
    }
    kg_bytes_free(&enc);
    kg_mpc_cggmp_aux_free(dec);
    for (unsigned i = 0; i < 3; i++) kg_mpc_cggmp_aux_free(aux[i]);
    for (unsigned i = 0; i < 6; i++) kg_mpc_bn_free(pr[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crt_matches_plain),
        cmocka_unit_test(test_crt_non_units),
        cmocka_unit_test(test_crt_refused),
        cmocka_unit_test(test_owner_keys),
        cmocka_unit_test(test_aux_entries),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
