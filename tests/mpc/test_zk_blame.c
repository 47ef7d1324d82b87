/* The identification proofs of CGGMP21: Πdec (zk_dec.c) and Πmul
 * (zk_mul.c). Completeness with real keys from the 1024-bit fixture primes
 * (Πdec with a full-size plaintext |y| ~ N0/2 and a small one), checked
 * against decryption computed independently; rejection of every tampered
 * field, a false statement (wrong x, wrong ciphertexts), a wrong context
 * (session, prover, group), out-of-range values; wire round trips and
 * malformed encodings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cggmp_fixture.h"

#define REJECTED(e) assert_true((e) == KG_ERR_VERIFY || (e) == KG_ERR_BAD_INPUT)

static kg_mpc_paillier_sk sk0; /* the prover's Paillier key (primes 0, 1) */
static kg_mpc_rped_sk rsk2;    /* the verifier's ring-Pedersen parameters (primes 2, 3) */
static kg_mpc_zk_ctx ctx;
static BN_CTX *bc;
/* Πdec statement: C = enc(y; rho), x = y mod q */
static BIGNUM *dec_y, *dec_rho, *dec_C;
static kg_mpc_scalar dec_x;
static kg_mpc_zk_dec dec_pf;
/* Πmul statement: X = enc(x; rho_x), C = Y^x · rho^N */
static BIGNUM *mul_x, *mul_rho, *mul_rhox, *mul_X, *mul_Y, *mul_C;
static kg_mpc_zk_mul mul_pf;

/* a signed value uniform in about ±n/2 */
static BIGNUM *rand_half(const BIGNUM *n)
{
    BIGNUM *y = kg_mpc_bn_secret_new(), *h = BN_new();
    assert_true(BN_rand_range(y, n) && BN_rshift1(h, n) && BN_sub(y, y, h));
    BN_free(h);
    return y;
}

static void make_dec(const BIGNUM *y)
{
    const kg_mpc_paillier_pk *pk = &sk0.pk;
    dec_y = BN_dup(y);
    dec_rho = BN_new();
    dec_C = BN_new();
    assert_int_equal(kg_mpc_paillier_enc(pk, dec_C, dec_rho, dec_y), KG_OK);
    assert_int_equal(kg_mpc_bn_to_scalar(ctx.group, &dec_x, dec_y), KG_OK);
}

static void free_dec(void)
{
    BN_free(dec_y); BN_free(dec_rho); BN_free(dec_C);
    dec_y = dec_rho = dec_C = NULL;
}

static int setup(void **state)
{
    (void)state;
    bc = BN_CTX_new();
    ctx = kg_fx_zk_ctx(KG_MPC_GROUP_SECP256K1, "test-zk-blame", 2);
    if (!bc || kg_fx_paillier_sk(&sk0, 1024, 0) || kg_fx_rped_sk(&rsk2, 1024, 2)) return -1;
    const kg_mpc_paillier_pk *pk = &sk0.pk;
    BIGNUM *y = rand_half(pk->n);
    make_dec(y);
    BN_free(y);
    if (kg_mpc_zk_dec_prove(&dec_pf, &ctx, &rsk2.pub, pk, dec_C, &dec_x, dec_y, dec_rho)) return -1;
    /* Πmul: x in ±2^ℓ (a nonce share), Y an encryption of a large value */
    mul_x = BN_new(); mul_rho = BN_new(); mul_rhox = BN_new(); mul_X = BN_new(); mul_Y = BN_new(); mul_C = BN_new();
    BIGNUM *k = rand_half(pk->n), *t = BN_new(), *zero = BN_new();
    BN_zero(zero);
    if (kg_mpc_bn_rand_pm(mul_x, KG_CGGMP_ELL, NULL) || kg_mpc_paillier_enc(pk, mul_X, mul_rhox, mul_x) ||
        kg_mpc_paillier_enc(pk, mul_Y, NULL, k) || kg_mpc_bn_rand_unit(mul_rho, pk->n) ||
        kg_mpc_paillier_mul(pk, mul_C, mul_Y, mul_x, true) || kg_mpc_paillier_enc_with(pk, t, zero, mul_rho) ||
        !BN_mod_mul(mul_C, mul_C, t, pk->nn, bc))
        return -1;
    /* independent: C decrypts to k·x mod N */
    BIGNUM *m = BN_new(), *want = BN_new();
    if (kg_mpc_paillier_dec(&sk0, m, mul_C) || !BN_mul(want, k, mul_x, bc) || !BN_mod_sub(want, want, m, pk->n, bc) ||
        !BN_is_zero(want))
        return -1;
    BN_free(m); BN_free(want); BN_free(k); BN_free(t); BN_free(zero);
    if (kg_mpc_zk_mul_prove(&mul_pf, &ctx, pk, mul_X, mul_Y, mul_C, mul_x, mul_rho, mul_rhox)) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kg_mpc_zk_dec_clear(&dec_pf);
    kg_mpc_zk_mul_clear(&mul_pf);
    free_dec();
    BIGNUM *f[] = {mul_x, mul_rho, mul_rhox, mul_X, mul_Y, mul_C};
    for (size_t i = 0; i < 6; i++) BN_free(f[i]);
    kg_mpc_paillier_sk_clear(&sk0);
    kg_mpc_rped_sk_clear(&rsk2);
    BN_CTX_free(bc);
    return 0;
}

static void other_ctxs(kg_mpc_zk_ctx out[3])
{
    out[0] = kg_fx_zk_ctx(KG_MPC_GROUP_SECP256K1, "test-zk-blame?", 2);
    out[1] = kg_fx_zk_ctx(KG_MPC_GROUP_SECP256K1, "test-zk-blame", 1);
    out[2] = kg_fx_zk_ctx(KG_MPC_GROUP_P256, "test-zk-blame", 2);
}

static void bump(BIGNUM *x, long d)
{
    if (d > 0) assert_true(BN_add_word(x, (BN_ULONG)d));
    else assert_true(BN_sub_word(x, (BN_ULONG)-d));
}

/* ------------------------------------------------------------------ Πdec */

static void test_dec_complete(void **state)
{
    (void)state;
    /* the statement, independently: C decrypts to y, x = y mod q */
    BIGNUM *m = BN_new(), *xb = kg_mpc_scalar_to_bn(ctx.group, &dec_x), *r = BN_new();
    assert_int_equal(kg_mpc_paillier_dec(&sk0, m, dec_C), KG_OK);
    assert_int_equal(BN_cmp(m, dec_y), 0);
    assert_true(BN_nnmod(r, dec_y, kg_mpc_group_order(ctx.group), bc));
    assert_int_equal(BN_cmp(r, xb), 0);
    assert_true(BN_num_bits(dec_y) > 1500); /* a full-size plaintext */
    BN_free(m); BN_free(r); kg_mpc_bn_free(xb);
    assert_int_equal(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x), KG_OK);
    /* γ = α mod q with z1 ≡ γ + e·y: z1 is wide (α ← ±2^(ℓ+ε)·N0) */
    assert_true(BN_num_bits(dec_pf.z1) > BN_num_bits(sk0.pk.n) + (int)KG_CGGMP_ELL);
    kg_mpc_zk_ctx o[3];
    other_ctxs(o);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kg_mpc_zk_dec_verify(&dec_pf, &o[i], &rsk2.pub, &sk0.pk, dec_C, &dec_x), KG_ERR_VERIFY);
}

static void test_dec_small_and_negative(void **state)
{
    (void)state;
    const char *ys[] = {"0", "-1", "12345678901234567890", "-98765432109876543210987654321"};
    BIGNUM *Y0 = dec_y, *R0 = dec_rho, *C0 = dec_C;
    kg_mpc_scalar x0 = dec_x;
    for (size_t i = 0; i < 4; i++) {
        BIGNUM *y = kg_fx_bn(ys[i]);
        make_dec(y);
        kg_mpc_zk_dec pf;
        assert_int_equal(kg_mpc_zk_dec_prove(&pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x, dec_y, dec_rho), KG_OK);
        assert_int_equal(kg_mpc_zk_dec_verify(&pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x), KG_OK);
        kg_mpc_zk_dec_clear(&pf);
        free_dec();
        BN_free(y);
    }
    dec_y = Y0; dec_rho = R0; dec_C = C0; dec_x = x0;
}

static void test_dec_false_statement(void **state)
{
    (void)state;
    /* x' = x + 1: the honest prover's proof for the false claim fails */
    BIGNUM *xb = kg_mpc_scalar_to_bn(ctx.group, &dec_x);
    kg_mpc_scalar x1;
    assert_true(BN_add_word(xb, 1));
    assert_int_equal(kg_mpc_bn_to_scalar(ctx.group, &x1, xb), KG_OK);
    kg_mpc_zk_dec pf;
    assert_int_equal(kg_mpc_zk_dec_prove(&pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &x1, dec_y, dec_rho), KG_OK);
    assert_int_equal(kg_mpc_zk_dec_verify(&pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &x1), KG_ERR_VERIFY);
    kg_mpc_zk_dec_clear(&pf);
    /* the honest proof against x', another C, another verifier aux */
    REJECTED(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &x1));
    BIGNUM *C2 = BN_new();
    assert_int_equal(kg_mpc_paillier_enc(&sk0.pk, C2, NULL, dec_y), KG_OK); /* same y, other nonce */
    REJECTED(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &rsk2.pub, &sk0.pk, C2, &dec_x));
    kg_mpc_rped_sk other;
    assert_int_equal(kg_fx_rped_sk(&other, 1024, 4), KG_OK);
    REJECTED(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &other.pub, &sk0.pk, dec_C, &dec_x));
    kg_mpc_rped_sk_clear(&other);
    BN_free(C2);
    kg_mpc_bn_free(xb);
}

static void test_dec_tamper(void **state)
{
    (void)state;
    BIGNUM *f[] = {dec_pf.S, dec_pf.T, dec_pf.A, dec_pf.gamma, dec_pf.z1, dec_pf.z2, dec_pf.w};
    for (size_t i = 0; i < 7; i++) {
        bump(f[i], 1);
        REJECTED(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x));
        bump(f[i], -1);
    }
    /* z1 + N0 keeps the encryption check and breaks the mod-q one */
    assert_true(BN_add(dec_pf.z1, dec_pf.z1, sk0.pk.n));
    assert_int_equal(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x), KG_ERR_VERIFY);
    assert_true(BN_sub(dec_pf.z1, dec_pf.z1, sk0.pk.n));
    BIGNUM *save = dec_pf.gamma;
    dec_pf.gamma = BN_dup(kg_mpc_group_order(ctx.group));
    assert_int_equal(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x), KG_ERR_BAD_INPUT);
    BN_free(dec_pf.gamma);
    dec_pf.gamma = save;
    save = dec_pf.w;
    dec_pf.w = BN_new();
    BN_zero(dec_pf.w);
    assert_int_equal(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x), KG_ERR_BAD_INPUT);
    BN_free(dec_pf.w);
    dec_pf.w = save;
    assert_int_equal(kg_mpc_zk_dec_verify(&dec_pf, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x), KG_OK);
}

/* ------------------------------------------------------------------ Πmul */

static void test_mul_complete(void **state)
{
    (void)state;
    assert_int_equal(kg_mpc_zk_mul_verify(&mul_pf, &ctx, &sk0.pk, mul_X, mul_Y, mul_C), KG_OK);
    kg_mpc_zk_ctx o[3];
    other_ctxs(o);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kg_mpc_zk_mul_verify(&mul_pf, &o[i], &sk0.pk, mul_X, mul_Y, mul_C), KG_ERR_VERIFY);
    /* statement swapped around or replaced */
    REJECTED(kg_mpc_zk_mul_verify(&mul_pf, &ctx, &sk0.pk, mul_Y, mul_X, mul_C));
    BIGNUM *C2 = BN_new();
    assert_true(BN_mod_mul(C2, mul_C, mul_Y, sk0.pk.nn, bc)); /* = Y^(x+1)·ρ^N */
    REJECTED(kg_mpc_zk_mul_verify(&mul_pf, &ctx, &sk0.pk, mul_X, mul_Y, C2));
    /* the honest prover on a false statement (C2 with witness x) fails */
    kg_mpc_zk_mul pf;
    assert_int_equal(kg_mpc_zk_mul_prove(&pf, &ctx, &sk0.pk, mul_X, mul_Y, C2, mul_x, mul_rho, mul_rhox), KG_OK);
    assert_int_equal(kg_mpc_zk_mul_verify(&pf, &ctx, &sk0.pk, mul_X, mul_Y, C2), KG_ERR_VERIFY);
    kg_mpc_zk_mul_clear(&pf);
    BN_free(C2);
}

static void test_mul_tamper(void **state)
{
    (void)state;
    BIGNUM *f[] = {mul_pf.A, mul_pf.B, mul_pf.z, mul_pf.u, mul_pf.v};
    for (size_t i = 0; i < 5; i++) {
        bump(f[i], 1);
        REJECTED(kg_mpc_zk_mul_verify(&mul_pf, &ctx, &sk0.pk, mul_X, mul_Y, mul_C));
        bump(f[i], -1);
    }
    BIGNUM *save = mul_pf.z;
    mul_pf.z = BN_new();
    BN_zero(mul_pf.z);
    assert_true(BN_set_bit(mul_pf.z, 2600));
    assert_int_equal(kg_mpc_zk_mul_verify(&mul_pf, &ctx, &sk0.pk, mul_X, mul_Y, mul_C), KG_ERR_BAD_INPUT);
    BN_free(mul_pf.z);
    mul_pf.z = save;
    save = mul_pf.A;
    mul_pf.A = BN_dup(sk0.pk.nn);
    assert_int_equal(kg_mpc_zk_mul_verify(&mul_pf, &ctx, &sk0.pk, mul_X, mul_Y, mul_C), KG_ERR_BAD_INPUT);
    BN_free(mul_pf.A);
    mul_pf.A = save;
    assert_int_equal(kg_mpc_zk_mul_verify(&mul_pf, &ctx, &sk0.pk, mul_X, mul_Y, mul_C), KG_OK);
}

/* -------------------------------------------------------------- encodings */

typedef void (*write_fn)(kg_mpc_node_wr *, const void *);
typedef kg_err (*read_fn)(kg_mpc_node_rd *, void *);
typedef void (*clear_fn)(void *);


static kg_bytes encode(write_fn wf, const void *pf)
{
    kg_mpc_node_wr w;
    memset(&w, 0, sizeof w);
    wf(&w, pf);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    return w.b;
}

/* Round trip (same bytes again), truncations, a trailing byte and an
 * oversized first field refused. out (size sz) receives the decoded proof. */
static void check_codec(write_fn wf, read_fn rf, clear_fn cf, const void *pf, void *out, size_t sz)
{
    kg_bytes b = encode(wf, pf);
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, b.data, b.len);
    assert_int_equal(rf(&r, out), KG_OK);
    assert_int_equal(kg_mpc_node_rd_end(&r, "proof"), KG_OK);
    kg_bytes b2 = encode(wf, out);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    kg_bytes_free(&b2);
    cf(out);
    uint8_t *zero = calloc(1, sz);
    size_t cuts[] = {0, 1, 5, b.len / 2, b.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        kg_mpc_node_rd_init(&r, b.data, cuts[i]);
        assert_int_equal(rf(&r, out), KG_ERR_BAD_INPUT);
        assert_memory_equal(out, zero, sz); /* cleared on error */
    }
    /* trailing byte: the proof reads, the caller's end check refuses */
    uint8_t *ext = malloc(b.len + 1);
    memcpy(ext, b.data, b.len);
    ext[b.len] = 0;
    kg_mpc_node_rd_init(&r, ext, b.len + 1);
    assert_int_equal(rf(&r, out), KG_OK);
    assert_int_equal(kg_mpc_node_rd_end(&r, "proof"), KG_ERR_BAD_INPUT);
    cf(out);
    free(ext);
    /* first field oversized: a 1300-byte integer */
    kg_mpc_node_wr w;
    memset(&w, 0, sizeof w);
    uint8_t big[1300];
    memset(big, 0x5a, sizeof big);
    big[0] = 0;
    kg_mpc_node_wr_blob(&w, big, sizeof big);
    kg_mpc_node_wr_fixed(&w, b.data, b.len);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    kg_mpc_node_rd_init(&r, w.b.data, w.b.len);
    assert_int_equal(rf(&r, out), KG_ERR_BAD_INPUT);
    assert_memory_equal(out, zero, sz);
    kg_bytes_free(&w.b);
    free(zero);
    kg_bytes_free(&b);
}

static void w_dec(kg_mpc_node_wr *w, const void *p) { kg_mpc_zk_dec_write(w, p); }
static void w_mul(kg_mpc_node_wr *w, const void *p) { kg_mpc_zk_mul_write(w, p); }
static kg_err r_dec(kg_mpc_node_rd *r, void *p) { return kg_mpc_zk_dec_read(r, p); }
static kg_err r_mul(kg_mpc_node_rd *r, void *p) { return kg_mpc_zk_mul_read(r, p); }
static void c_dec(void *p) { kg_mpc_zk_dec_clear(p); }
static void c_mul(void *p) { kg_mpc_zk_mul_clear(p); }

static void test_codec(void **state)
{
    (void)state;
    kg_mpc_zk_dec d;
    kg_mpc_zk_mul m;
    check_codec(w_dec, r_dec, c_dec, &dec_pf, &d, sizeof d);
    check_codec(w_mul, r_mul, c_mul, &mul_pf, &m, sizeof m);
    kg_bytes b = encode(w_dec, &dec_pf);
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, b.data, b.len);
    assert_int_equal(kg_mpc_zk_dec_read(&r, &d), KG_OK);
    assert_int_equal(kg_mpc_zk_dec_verify(&d, &ctx, &rsk2.pub, &sk0.pk, dec_C, &dec_x), KG_OK);
    kg_mpc_zk_dec_clear(&d);
    kg_bytes_free(&b);
    b = encode(w_mul, &mul_pf);
    kg_mpc_node_rd_init(&r, b.data, b.len);
    assert_int_equal(kg_mpc_zk_mul_read(&r, &m), KG_OK);
    assert_int_equal(kg_mpc_zk_mul_verify(&m, &ctx, &sk0.pk, mul_X, mul_Y, mul_C), KG_OK);
    kg_mpc_zk_mul_clear(&m);
    kg_bytes_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dec_complete),        cmocka_unit_test(test_dec_small_and_negative),
        cmocka_unit_test(test_dec_false_statement), cmocka_unit_test(test_dec_tamper),
        cmocka_unit_test(test_mul_complete),        cmocka_unit_test(test_mul_tamper),
        cmocka_unit_test(test_codec),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
