/* The CGGMP21 big-integer layer (cggmp_bn.c) and Fiat-Shamir transcript
 * (cggmp_fs.c): signed exponentiation against OpenSSL's BN_mod_exp computed
 * another way, sampling ranges, the group bridges against OpenSSL EC, the
 * integer wire encoding (round trips and every malformed form refused) and
 * the transcript's binding and challenge ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "kashguard/crypto.h"
#include "cggmp_fixture.h"

static BN_CTX *ctx;

/* reference: a^e mod n with e of any sign, as (a^|e|)^-1 for e < 0 (the
 * implementation does (a^-1)^|e|). */
static BIGNUM *ref_exp(const BIGNUM *a, const BIGNUM *e, const BIGNUM *n)
{
    BIGNUM *r = BN_new(), *ae = BN_dup(e);
    assert_non_null(r);
    assert_non_null(ae);
    BN_set_negative(ae, 0);
    assert_true(BN_mod_exp(r, a, ae, n, ctx));
    if (BN_is_negative(e)) assert_non_null(BN_mod_inverse(r, r, n, ctx));
    BN_free(ae);
    return r;
}

static void check_exp(const BIGNUM *a, const BIGNUM *e, const kg_mpc_mod *m)
{
    BIGNUM *ref = ref_exp(a, e, m->n), *r1 = BN_new(), *r2 = BN_new();
    assert_int_equal(kg_mpc_bn_exp(r1, a, e, m), KG_OK);
    assert_int_equal(kg_mpc_bn_exp_secret(r2, a, e, m), KG_OK);
    assert_int_equal(BN_cmp(r1, ref), 0);
    assert_int_equal(BN_cmp(r2, ref), 0);
    BN_free(ref);
    BN_free(r1);
    BN_free(r2);
}

static void test_exp(void **state)
{
    (void)state;
    BIGNUM *p = kg_fx_prime(1024, 0), *q = kg_fx_prime(1024, 1), *n = BN_new();
    assert_non_null(p);
    assert_non_null(q);
    assert_true(BN_mul(n, p, q, ctx));
    kg_mpc_mod m;
    assert_int_equal(kg_mpc_mod_init(&m, n), KG_OK);
    BIGNUM *a = BN_new(), *e = BN_new(), *x = BN_new(), *y = BN_new(), *r = BN_new();
    for (int i = 0; i < 8; i++) {
        assert_int_equal(kg_mpc_bn_rand_unit(a, n), KG_OK);
        assert_int_equal(kg_mpc_bn_rand_pm(e, 700 + (unsigned)i * 300, NULL), KG_OK);
        check_exp(a, e, &m);
        BN_set_negative(e, !BN_is_negative(e));
        check_exp(a, e, &m);
    }
    BN_zero(e);
    check_exp(a, e, &m);
    BN_set_word(e, 1);
    check_exp(a, e, &m);
    BN_set_negative(e, 1);
    check_exp(a, e, &m);
    /* bases outside [0, n) are reduced first */
    assert_true(BN_add(x, a, n));
    BN_set_word(e, 65537);
    check_exp(x, e, &m);
    BN_set_negative(x, 1);
    BN_set_negative(e, 1);
    check_exp(x, e, &m);
    /* a secret (BN_FLG_CONSTTIME) base through the public-exponent path */
    assert_true(BN_copy(x, a));
    BN_set_flags(x, BN_FLG_CONSTTIME);
    check_exp(x, e, &m);
    BN_set_negative(e, 0);
    check_exp(x, e, &m);
    BN_set_negative(e, 1);
    /* r may alias the base */
    assert_true(BN_copy(x, a));
    assert_int_equal(kg_mpc_bn_exp_secret(x, x, e, &m), KG_OK);
    BIGNUM *ref = ref_exp(a, e, n);
    assert_int_equal(BN_cmp(x, ref), 0);
    BN_free(ref);

    /* a non-invertible base: a negative power is refused, the secret path
     * refuses it always (it needs a^-1 for its constant-time choice) */
    BN_set_negative(e, 0);
    assert_int_equal(kg_mpc_bn_exp(r, p, e, &m), KG_OK);
    BN_set_negative(e, 1);
    assert_int_equal(kg_mpc_bn_exp(r, p, e, &m), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_bn_exp_secret(r, p, e, &m), KG_ERR_BAD_INPUT);

    /* exp2 = a^x · b^y, public and secret paths */
    BIGNUM *b = BN_new();
    assert_int_equal(kg_mpc_bn_rand_unit(b, n), KG_OK);
    assert_int_equal(kg_mpc_bn_rand_pm(x, 800, n), KG_OK);
    assert_int_equal(kg_mpc_bn_rand_pm(y, 800, NULL), KG_OK);
    BIGNUM *u = ref_exp(a, x, n), *v = ref_exp(b, y, n);
    assert_true(BN_mod_mul(u, u, v, n, ctx));
    assert_int_equal(kg_mpc_bn_exp2(r, a, x, b, y, &m, false), KG_OK);
    assert_int_equal(BN_cmp(r, u), 0);
    assert_int_equal(kg_mpc_bn_exp2(r, a, x, b, y, &m, true), KG_OK);
    assert_int_equal(BN_cmp(r, u), 0);
    BN_free(u);
    BN_free(v);

    /* mod_init refuses even and tiny moduli */
    kg_mpc_mod bad;
    BN_set_word(x, 1);
    assert_int_equal(kg_mpc_mod_init(&bad, x), KG_ERR_BAD_INPUT);
    assert_true(BN_lshift1(x, n));
    assert_int_equal(kg_mpc_mod_init(&bad, x), KG_ERR_BAD_INPUT);
    BN_set_word(x, 3);
    assert_int_equal(kg_mpc_mod_init(&bad, x), KG_OK);
    kg_mpc_mod_clear(&bad);

    kg_mpc_mod_clear(&m);
    BN_free(a), BN_free(b), BN_free(e), BN_free(x), BN_free(y), BN_free(r), BN_free(n);
    kg_mpc_bn_free(p), kg_mpc_bn_free(q);
}

static void test_sampling(void **state)
{
    (void)state;
    BIGNUM *x = BN_new(), *mult = BN_new(), *b = BN_new();
    BN_set_word(mult, 3);
    for (int k = 0; k < 2; k++) {
        const BIGNUM *mu = k ? mult : NULL;
        long bound = k ? 768 : 256, lo = 0, hi = 0;
        int neg = 0, pos = 0;
        for (int i = 0; i < 3000; i++) {
            assert_int_equal(kg_mpc_bn_rand_pm(x, 8, mu), KG_OK);
            assert_true(kg_mpc_bn_in_pm(x, 8, mu));
            long v = (long)BN_get_word(x);
            if (BN_is_negative(x)) v = -v, neg++;
            else if (v) pos++;
            assert_true(v >= -bound && v <= bound);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        assert_true(neg > 1000 && pos > 1000);
        /* spread over the whole range, not just a part of it */
        assert_true(lo < -bound * 9 / 10 && hi > bound * 9 / 10);
    }
    /* in_pm at the boundaries: |x| <= 2^k·M */
    BN_zero(b);
    assert_true(BN_set_bit(b, 300));
    assert_true(kg_mpc_bn_in_pm(b, 300, NULL));
    BN_set_negative(b, 1);
    assert_true(kg_mpc_bn_in_pm(b, 300, NULL));
    assert_true(BN_sub_word(b, 1)); /* -(2^300 + 1) */
    assert_false(kg_mpc_bn_in_pm(b, 300, NULL));
    BN_set_negative(b, 0);
    assert_false(kg_mpc_bn_in_pm(b, 300, NULL));
    assert_true(BN_lshift(b, mult, 300));
    assert_true(kg_mpc_bn_in_pm(b, 300, mult));
    assert_true(BN_add_word(b, 1));
    assert_false(kg_mpc_bn_in_pm(b, 300, mult));
    /* large ranges: ±2^(ℓ+ε)·N */
    BIGNUM *n = BN_new();
    assert_true(BN_rand(n, 2048, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD));
    for (int i = 0; i < 20; i++) {
        assert_int_equal(kg_mpc_bn_rand_pm(x, KG_CGGMP_ELL + KG_CGGMP_EPS, n), KG_OK);
        assert_true(kg_mpc_bn_in_pm(x, KG_CGGMP_ELL + KG_CGGMP_EPS, n));
        assert_true(BN_num_bits(x) > 2048 + 700); /* not a small value */
    }
    /* units */
    BIGNUM *p = kg_fx_prime(1024, 2), *q = kg_fx_prime(1024, 3);
    assert_true(BN_mul(n, p, q, ctx));
    for (int i = 0; i < 10; i++) {
        assert_int_equal(kg_mpc_bn_rand_unit(x, n), KG_OK);
        assert_true(kg_mpc_bn_is_unit(x, n));
    }
    assert_false(kg_mpc_bn_is_unit(p, n));
    assert_false(kg_mpc_bn_is_unit(n, n));
    BN_zero(x);
    assert_false(kg_mpc_bn_is_unit(x, n));
    BN_set_word(x, 1);
    assert_true(kg_mpc_bn_is_unit(x, n));
    BN_set_negative(x, 1);
    assert_false(kg_mpc_bn_is_unit(x, n));
    kg_mpc_bn_free(p), kg_mpc_bn_free(q);
    BN_free(n), BN_free(x), BN_free(mult), BN_free(b);
}

static void test_group_bridge(void **state)
{
    (void)state;
    const kg_mpc_group_id gs[2] = {KG_MPC_GROUP_SECP256K1, KG_MPC_GROUP_P256};
    const int nids[2] = {NID_secp256k1, NID_X9_62_prime256v1};
    assert_null(kg_mpc_group_order(KG_MPC_GROUP_ED25519));
    for (int i = 0; i < 2; i++) {
        kg_mpc_group_id g = gs[i];
        EC_GROUP *ec = EC_GROUP_new_by_curve_name(nids[i]);
        assert_non_null(ec);
        const BIGNUM *q = kg_mpc_group_order(g);
        assert_non_null(q);
        assert_int_equal(BN_cmp(q, EC_GROUP_get0_order(ec)), 0);
        EC_GROUP_free(ec);

        /* x mod q for x = q + 5 and x = -5 */
        kg_mpc_scalar s, five, t;
        kg_mpc_scalar_from_u64(g, &five, 5);
        BIGNUM *x = BN_dup(q);
        assert_true(BN_add_word(x, 5));
        assert_int_equal(kg_mpc_bn_to_scalar(g, &s, x), KG_OK);
        assert_true(kg_mpc_scalar_eq(g, &s, &five));
        BN_set_word(x, 5);
        BN_set_negative(x, 1);
        assert_int_equal(kg_mpc_bn_to_scalar(g, &s, x), KG_OK);
        kg_mpc_scalar_neg(g, &t, &five);
        assert_true(kg_mpc_scalar_eq(g, &s, &t));
        /* scalar -> BIGNUM -> scalar */
        assert_int_equal(kg_mpc_scalar_random(g, &s), KG_OK);
        BIGNUM *y = kg_mpc_scalar_to_bn(g, &s);
        assert_non_null(y);
        assert_true(BN_cmp(y, q) < 0);
        assert_int_equal(kg_mpc_bn_to_scalar(g, &t, y), KG_OK);
        assert_true(kg_mpc_scalar_eq(g, &s, &t));

        /* (-y)·G + y·G = O, and y·P matches kg_mpc_point_mul */
        kg_mpc_point A, B, C, P;
        assert_int_equal(kg_mpc_point_mul_bn(g, &A, y, NULL), KG_OK);
        kg_mpc_point_base_mul(g, &P, &s);
        assert_true(kg_mpc_point_eq(g, &A, &P));
        BN_set_negative(y, 1);
        assert_int_equal(kg_mpc_point_mul_bn(g, &B, y, NULL), KG_OK);
        kg_mpc_point_add(g, &C, &A, &B);
        assert_true(kg_mpc_point_is_identity(g, &C));
        assert_int_equal(kg_mpc_point_mul_bn(g, &C, x, &P), KG_OK); /* x = -5 */
        kg_mpc_scalar_neg(g, &t, &five);
        kg_mpc_point_mul(g, &B, &t, &P);
        assert_true(kg_mpc_point_eq(g, &B, &C));

        /* point wire form */
        kg_mpc_node_wr w = {0};
        kg_mpc_point_write(&w, g, &P);
        assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
        assert_int_equal(w.b.len, kg_mpc_group_point_len(g));
        kg_mpc_node_rd r;
        kg_mpc_node_rd_init(&r, w.b.data, w.b.len);
        assert_int_equal(kg_mpc_point_read(&r, g, &A, "P"), KG_OK);
        assert_true(kg_mpc_point_eq(g, &A, &P));
        w.b.data[1] ^= 0x55; /* likely off the curve; a wrong prefix surely bad */
        w.b.data[0] = 0x05;
        kg_mpc_node_rd_init(&r, w.b.data, w.b.len);
        assert_int_equal(kg_mpc_point_read(&r, g, &A, "P"), KG_ERR_BAD_INPUT);
        kg_mpc_node_rd_init(&r, w.b.data, w.b.len - 1);
        assert_int_equal(kg_mpc_point_read(&r, g, &A, "P"), KG_ERR_BAD_INPUT);
        kg_bytes_free(&w.b);
        kg_mpc_node_wr w2 = {0};
        kg_mpc_point_identity(g, &A);
        kg_mpc_point_write(&w2, g, &A); /* the identity is never written */
        assert_int_not_equal(kg_mpc_node_wr_done(&w2), KG_OK);
        BN_free(x);
        kg_mpc_bn_free(y);
    }
}

/* Read one integer from bytes; checks all input is consumed on success. */
static kg_err read_bytes(const uint8_t *p, size_t len, size_t max, BIGNUM **out)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, p, len);
    kg_err err = kg_mpc_bn_read(&r, out, max, "x");
    if (!err) assert_int_equal(kg_mpc_node_rd_end(&r, "x"), KG_OK);
    return err;
}

static void roundtrip(const BIGNUM *x, const uint8_t *expect, size_t expect_len)
{
    kg_mpc_node_wr w = {0};
    kg_mpc_bn_write(&w, x);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    if (expect) {
        assert_int_equal(w.b.len, expect_len);
        assert_memory_equal(w.b.data, expect, expect_len);
    }
    BIGNUM *y = NULL;
    assert_int_equal(read_bytes(w.b.data, w.b.len, KG_CGGMP_BN_MAX_BYTES, &y), KG_OK);
    assert_int_equal(BN_cmp(x, y), 0);
    BN_free(y);
    kg_bytes_free(&w.b);
}

static void test_bn_encoding(void **state)
{
    (void)state;
    BIGNUM *x = BN_new(), *y = NULL;
    BN_zero(x);
    roundtrip(x, (const uint8_t[]){0, 0, 0, 1, 0x00}, 5);
    BN_set_word(x, 1);
    roundtrip(x, (const uint8_t[]){0, 0, 0, 2, 0x00, 0x01}, 6);
    BN_set_negative(x, 1);
    roundtrip(x, (const uint8_t[]){0, 0, 0, 2, 0x01, 0x01}, 6);
    BN_set_word(x, 256);
    BN_set_negative(x, 1);
    roundtrip(x, (const uint8_t[]){0, 0, 0, 3, 0x01, 0x01, 0x00}, 7);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(kg_mpc_bn_rand_pm(x, 4000, NULL), KG_OK);
        roundtrip(x, NULL, 0);
    }
    /* the largest value that fits: 1279 magnitude bytes */
    BN_zero(x);
    assert_true(BN_set_bit(x, 8 * (KG_CGGMP_BN_MAX_BYTES - 1) - 1));
    BN_set_negative(x, 1);
    roundtrip(x, NULL, 0);

    /* malformed */
    static const struct { uint8_t b[8]; size_t len; } bad[] = {
        {{0, 0, 0, 0}, 4},                   /* empty */
        {{0, 0, 0, 1, 0x01}, 5},             /* negative zero */
        {{0, 0, 0, 2, 0x01, 0x00}, 6},       /* negative zero, padded */
        {{0, 0, 0, 2, 0x00, 0x00}, 6},       /* zero, non-minimal */
        {{0, 0, 0, 3, 0x00, 0x00, 0x05}, 7}, /* non-minimal */
        {{0, 0, 0, 3, 0x01, 0x00, 0x05}, 7}, /* non-minimal negative */
        {{0, 0, 0, 2, 0x02, 0x05}, 6},       /* bad sign byte */
        {{0, 0, 0, 2, 0xff, 0x05}, 6},       /* bad sign byte */
        {{0, 0, 0, 3, 0x00, 0x05}, 6},       /* truncated */
        {{0, 0, 0}, 3},                      /* truncated length */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(read_bytes(bad[i].b, bad[i].len, KG_CGGMP_BN_MAX_BYTES, &y), KG_ERR_BAD_INPUT);
        assert_null(y);
    }
    /* the max_bytes limit counts the sign byte */
    const uint8_t four[] = {0, 0, 0, 4, 0x00, 0x01, 0x02, 0x03};
    assert_int_equal(read_bytes(four, sizeof(four), 4, &y), KG_OK);
    assert_int_equal(BN_get_word(y), 0x010203);
    BN_free(y);
    assert_int_equal(read_bytes(four, sizeof(four), 3, &y), KG_ERR_BAD_INPUT);
    assert_null(y);
    /* a value over KG_CGGMP_BN_MAX_BYTES is refused even if max_bytes asks more */
    size_t big = KG_CGGMP_BN_MAX_BYTES + 1;
    uint8_t *buf = calloc(1, big + 4);
    assert_non_null(buf);
    buf[2] = (uint8_t)(big >> 8), buf[3] = (uint8_t)big, buf[5] = 1;
    assert_int_equal(read_bytes(buf, big + 4, big, &y), KG_ERR_BAD_INPUT);
    assert_null(y);
    free(buf);
    /* and kg_mpc_bn_write refuses to produce it */
    BN_zero(x);
    assert_true(BN_set_bit(x, 8 * KG_CGGMP_BN_MAX_BYTES));
    kg_mpc_node_wr w = {0};
    kg_mpc_bn_write(&w, x);
    assert_int_not_equal(kg_mpc_node_wr_done(&w), KG_OK);
    BN_free(x);
}

/* ------------------------------------------------------------ Fiat-Shamir */

typedef struct {
    const char *domain, *sid, *label;
    uint16_t prover;
    long value;
} fs_in;

/* The challenge e in ±q of a transcript over one integer and one point. */
static void fs_run(const fs_in *in, BIGNUM *e)
{
    kg_mpc_zk_ctx c = kg_fx_zk_ctx(KG_MPC_GROUP_SECP256K1, in->sid, in->prover);
    kg_mpc_fs fs;
    assert_int_equal(kg_mpc_fs_init(&fs, in->domain, &c), KG_OK);
    BIGNUM *v = BN_new();
    BN_set_word(v, (BN_ULONG)(in->value < 0 ? -in->value : in->value));
    BN_set_negative(v, in->value < 0);
    kg_mpc_fs_bn(&fs, in->label, v);
    kg_mpc_point G;
    kg_mpc_scalar one;
    kg_mpc_scalar_from_u64(KG_MPC_GROUP_SECP256K1, &one, 1);
    kg_mpc_point_base_mul(KG_MPC_GROUP_SECP256K1, &G, &one);
    kg_mpc_fs_point(&fs, "G", KG_MPC_GROUP_SECP256K1, &G);
    kg_mpc_fs_bytes(&fs, "m", (const uint8_t *)"msg", 3);
    assert_int_equal(kg_mpc_fs_challenge_pm(&fs, e, kg_mpc_group_order(KG_MPC_GROUP_SECP256K1)), KG_OK);
    kg_mpc_fs_free(&fs);
    BN_free(v);
}

static void test_fs_binding(void **state)
{
    (void)state;
    const fs_in base = {"kashguard/test/v1", "session-1", "X", 3, 12345};
    fs_in v[7];
    for (int i = 0; i < 7; i++) v[i] = base;
    v[1].domain = "kashguard/test/v2";
    v[2].sid = "session-2";
    v[3].prover = 4;
    v[4].label = "Y";
    v[5].value = -12345; /* only the sign differs */
    v[6].value = 12346;
    BIGNUM *e[7], *again = BN_new();
    for (int i = 0; i < 7; i++) {
        e[i] = BN_new();
        fs_run(&v[i], e[i]);
    }
    fs_run(&base, again);
    assert_int_equal(BN_cmp(e[0], again), 0); /* deterministic */
    for (int i = 1; i < 7; i++)
        for (int j = 0; j < i; j++) assert_int_not_equal(BN_cmp(e[i], e[j]), 0);
    for (int i = 0; i < 7; i++) BN_free(e[i]);
    BN_free(again);
}

static void test_fs_ranges(void **state)
{
    (void)state;
    kg_mpc_zk_ctx c = kg_fx_zk_ctx(KG_MPC_GROUP_P256, "ranges", 1);
    BIGNUM *q = BN_new(), *e = BN_new(), *n = BN_new();
    /* a small q so both ends of ±q get hit: 7 -> e in [-7, 7] */
    BN_set_word(q, 7);
    int seen[15] = {0};
    kg_mpc_fs fs;
    assert_int_equal(kg_mpc_fs_init(&fs, "kashguard/test/ranges", &c), KG_OK);
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(kg_mpc_fs_challenge_pm(&fs, e, q), KG_OK);
        assert_true(BN_num_bits(e) <= 3);
        long x = (long)BN_get_word(e) * (BN_is_negative(e) ? -1 : 1);
        assert_true(x >= -7 && x <= 7);
        seen[x + 7]++;
    }
    for (int i = 0; i < 15; i++) assert_true(seen[i] > 100); /* 200 expected each */
    /* the real q: e in [-q, q], both signs */
    const BIGNUM *gq = kg_mpc_group_order(KG_MPC_GROUP_P256);
    int neg = 0;
    for (int i = 0; i < 200; i++) {
        assert_int_equal(kg_mpc_fs_challenge_pm(&fs, e, gq), KG_OK);
        assert_true(BN_ucmp(e, gq) <= 0);
        neg += BN_is_negative(e);
    }
    assert_true(neg > 50 && neg < 150);
    /* [0, n) */
    assert_true(BN_rand(n, 2048, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD));
    for (int i = 0; i < 50; i++) {
        assert_int_equal(kg_mpc_fs_challenge_mod(&fs, e, n), KG_OK);
        assert_false(BN_is_negative(e));
        assert_true(BN_cmp(e, n) < 0);
    }
    BN_set_word(n, 5);
    int hit[5] = {0};
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(kg_mpc_fs_challenge_mod(&fs, e, n), KG_OK);
        assert_true(BN_get_word(e) < 5);
        hit[BN_get_word(e)]++;
    }
    for (int i = 0; i < 5; i++) assert_true(hit[i] > 100);
    /* bits */
    uint8_t bits[KG_CGGMP_M * 4];
    assert_int_equal(kg_mpc_fs_challenge_bits(&fs, bits, sizeof(bits)), KG_OK);
    int ones = 0;
    for (size_t i = 0; i < sizeof(bits); i++) {
        assert_true(bits[i] <= 1);
        ones += bits[i];
    }
    assert_true(ones > 150 && ones < 362);
    kg_mpc_fs_free(&fs);

    /* the stream is a function of the transcript: same calls, same values */
    uint8_t b1[40], b2[40];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(kg_mpc_fs_init(&fs, "kashguard/test/ranges", &c), KG_OK);
        assert_int_equal(kg_mpc_fs_challenge_mod(&fs, e, n), KG_OK);
        assert_int_equal(kg_mpc_fs_challenge_bits(&fs, k ? b2 : b1, 40), KG_OK);
        kg_mpc_fs_free(&fs);
    }
    assert_memory_equal(b1, b2, 40);
    BN_free(q), BN_free(e), BN_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_group_bridge),
        cmocka_unit_test(test_bn_encoding),
        cmocka_unit_test(test_fs_binding),
        cmocka_unit_test(test_fs_ranges),
    };
    if (kg_crypto_init() != KG_OK) return 1;
    ctx = BN_CTX_new();
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    BN_CTX_free(ctx);
    return rc;
}
