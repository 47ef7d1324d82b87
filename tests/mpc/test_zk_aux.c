/* The auxiliary-info proofs of CGGMP21: Πmod (zk_mod.c), Πprm (zk_prm.c)
 * and Πfac (zk_fac.c). Completeness with real keys from the 1024-bit
 * fixture primes; rejection of every tampered field, of a wrong context
 * (session, prover, group) and statement, of moduli that are not
 * Paillier-Blum (p ≡ 1 mod 4; p^2·q) against a best-effort cheating
 * prover, of an s outside <t>, of a modulus with a small factor; wire
 * round trips and malformed encodings. One honest proof of each kind is
 * made once and shared (tampered in place, then restored). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cggmp_fixture.h"

#define REJECTED(e) assert_true((e) == KG_ERR_VERIFY || (e) == KG_ERR_BAD_INPUT)

static kg_mpc_paillier_sk sk0;  /* the prover's Paillier key (primes 0, 1) */
static kg_mpc_rped_sk rsk0;     /* the prover's ring-Pedersen parameters (same N) */
static kg_mpc_rped_sk rsk2;     /* the verifier's parameters (primes 2, 3) */
static kg_mpc_zk_ctx ctx;
static kg_mpc_zk_mod mod_pf;
static kg_mpc_zk_prm prm_pf;
static kg_mpc_zk_fac fac_pf;
static BN_CTX *bc;

static int setup(void **state)
{
    (void)state;
    bc = BN_CTX_new();
    ctx = kg_fx_zk_ctx(KG_MPC_GROUP_SECP256K1, "test-zk-aux", 3);
    if (!bc || kg_fx_paillier_sk(&sk0, 1024, 0) || kg_fx_rped_sk(&rsk0, 1024, 0) || kg_fx_rped_sk(&rsk2, 1024, 2))
        return -1;
    if (kg_mpc_zk_mod_prove(&mod_pf, &ctx, &sk0) || kg_mpc_zk_prm_prove(&prm_pf, &ctx, &rsk0) ||
        kg_mpc_zk_fac_prove(&fac_pf, &ctx, &rsk2.pub, &sk0))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kg_mpc_zk_mod_clear(&mod_pf);
    kg_mpc_zk_prm_clear(&prm_pf);
    kg_mpc_zk_fac_clear(&fac_pf);
    kg_mpc_paillier_sk_clear(&sk0);
    kg_mpc_rped_sk_clear(&rsk0);
    kg_mpc_rped_sk_clear(&rsk2);
    BN_CTX_free(bc);
    return 0;
}

/* Contexts that differ from ctx in one field each. */
static void other_ctxs(kg_mpc_zk_ctx out[3])
{
    out[0] = kg_fx_zk_ctx(KG_MPC_GROUP_SECP256K1, "test-zk-aux!", 3);
    out[1] = kg_fx_zk_ctx(KG_MPC_GROUP_SECP256K1, "test-zk-aux", 4);
    out[2] = kg_fx_zk_ctx(KG_MPC_GROUP_P256, "test-zk-aux", 3);
}

static void bump(BIGNUM *x, long d)
{
    if (d > 0) assert_true(BN_add_word(x, (BN_ULONG)d));
    else assert_true(BN_sub_word(x, (BN_ULONG)-d));
}

/* ------------------------------------------------------------------ Πmod */

static void test_mod_complete(void **state)
{
    (void)state;
    assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, sk0.pk.n), KG_OK);
    /* Independent check of one repetition with plain OpenSSL arithmetic. */
    const BIGNUM *n = sk0.pk.n;
    BIGNUM *t = BN_new(), *u = BN_new();
    BN_set_word(u, 4);
    assert_true(BN_mod_exp(t, mod_pf.x[5], u, n, bc));
    assert_true(BN_mod_exp(u, mod_pf.z[5], n, n, bc));
    /* z^N = y and x^4 = ±w^b·y: so x^4 / z^N is ±1 or ±w. */
    assert_non_null(BN_mod_inverse(u, u, n, bc));
    assert_true(BN_mod_mul(t, t, u, n, bc));
    if (mod_pf.b[5]) {
        assert_non_null(BN_mod_inverse(u, mod_pf.w, n, bc));
        assert_true(BN_mod_mul(t, t, u, n, bc));
    }
    if (mod_pf.a[5]) assert_true(BN_sub(t, n, t));
    assert_true(BN_is_one(t));
    BN_free(t);
    BN_free(u);
}

static void test_mod_context(void **state)
{
    (void)state;
    kg_mpc_zk_ctx o[3];
    other_ctxs(o);
    for (int i = 0; i < 3; i++) assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &o[i], sk0.pk.n), KG_ERR_VERIFY);
    kg_mpc_paillier_sk sk1;
    assert_int_equal(kg_fx_paillier_sk(&sk1, 1024, 4), KG_OK);
    REJECTED(kg_mpc_zk_mod_verify(&mod_pf, &ctx, sk1.pk.n));
    kg_mpc_paillier_sk_clear(&sk1);
}

static void test_mod_tamper(void **state)
{
    (void)state;
    const BIGNUM *n = sk0.pk.n;
    BIGNUM *fields[] = {mod_pf.w, mod_pf.x[0], mod_pf.x[KG_CGGMP_M - 1], mod_pf.z[0], mod_pf.z[KG_CGGMP_M - 1]};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        bump(fields[i], 2);
        REJECTED(kg_mpc_zk_mod_verify(&mod_pf, &ctx, n));
        bump(fields[i], -2);
    }
    size_t idx[] = {0, 77, KG_CGGMP_M - 1};
    for (size_t k = 0; k < 3; k++) {
        mod_pf.a[idx[k]] ^= 1;
        assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, n), KG_ERR_VERIFY);
        mod_pf.a[idx[k]] ^= 1;
        mod_pf.b[idx[k]] ^= 1;
        assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, n), KG_ERR_VERIFY);
        mod_pf.b[idx[k]] ^= 1;
    }
    uint8_t a3 = mod_pf.a[3];
    mod_pf.a[3] = 2;
    assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, n), KG_ERR_BAD_INPUT);
    mod_pf.a[3] = a3;
    BIGNUM *save = mod_pf.x[9];
    mod_pf.x[9] = BN_dup(n);
    assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, n), KG_ERR_BAD_INPUT);
    BN_free(mod_pf.x[9]);
    mod_pf.x[9] = save;
    /* w of Jacobi symbol +1: w^2 (recomputing nothing else). */
    save = mod_pf.w;
    mod_pf.w = BN_new();
    assert_true(BN_mod_sqr(mod_pf.w, save, n, bc));
    assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, n), KG_ERR_VERIFY);
    BN_free(mod_pf.w);
    mod_pf.w = save;
    assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, n), KG_OK);
}

/* A best-effort cheating prover for N = p^e·q (e = 1 or 2): the real
 * transcript, z = y^(N^-1 mod λ) when that exists, x a fourth root of the
 * first twist that is a square mod p and q found with BN_mod_sqrt (N = pq
 * only). Must never verify when N is not Paillier-Blum. */
static void cheat_mod(kg_mpc_zk_mod *pf, const BIGNUM *p, const BIGNUM *q, int e)
{
    memset(pf, 0, sizeof *pf);
    BIGNUM *n = BN_new(), *lam = BN_new(), *t = BN_new(), *d = BN_new(), *y = BN_new(), *yt = BN_new();
    BIGNUM *rp = BN_new(), *rq = BN_new();
    assert_true(BN_mul(n, p, q, bc));
    if (e == 2) assert_true(BN_mul(n, n, p, bc));
    assert_true(BN_sub(lam, p, BN_value_one()) && BN_sub(t, q, BN_value_one()) && BN_mul(lam, lam, t, bc));
    bool have_d = BN_mod_inverse(d, n, lam, bc) != NULL;
    pf->w = BN_new();
    do assert_true(BN_rand_range(pf->w, n));
    while (BN_kronecker(pf->w, n, bc) != -1);
    kg_mpc_fs fs;
    assert_int_equal(kg_mpc_fs_init(&fs, "kashguard/cggmp21/mod/v1", &ctx), KG_OK);
    kg_mpc_fs_bn(&fs, "N", n);
    kg_mpc_fs_bn(&fs, "w", pf->w);
    for (size_t i = 0; i < KG_CGGMP_M; i++) {
        assert_int_equal(kg_mpc_fs_challenge_mod(&fs, y, n), KG_OK);
        pf->x[i] = BN_new();
        pf->z[i] = BN_new();
        if (have_d) assert_true(BN_mod_exp(pf->z[i], y, d, n, bc));
        else BN_one(pf->z[i]);
        BN_one(pf->x[i]);
        for (int ab = 0; ab < 4 && e == 1; ab++) {
            assert_true(BN_copy(yt, y));
            if (ab & 2) assert_true(BN_mod_mul(yt, yt, pf->w, n, bc));
            if (ab & 1) assert_true(BN_sub(yt, n, yt));
            if (BN_kronecker(yt, p, bc) != 1 || BN_kronecker(yt, q, bc) != 1) continue;
            /* a square root of a root that is itself a square, per prime */
            bool ok = true;
            const BIGNUM *pr[2] = {p, q};
            BIGNUM *out[2] = {rp, rq};
            for (int k = 0; k < 2 && ok; k++) {
                assert_true(BN_nnmod(t, yt, pr[k], bc));
                ok = BN_mod_sqrt(out[k], t, pr[k], bc) != NULL;
                if (ok && BN_kronecker(out[k], pr[k], bc) != 1) assert_true(BN_sub(out[k], pr[k], out[k]));
                ok = ok && BN_kronecker(out[k], pr[k], bc) == 1 && BN_mod_sqrt(out[k], out[k], pr[k], bc);
            }
            pf->a[i] = (uint8_t)(ab & 1);
            pf->b[i] = (uint8_t)(ab >> 1);
            if (ok) { /* CRT */
                assert_non_null(BN_mod_inverse(t, q, p, bc));
                assert_true(BN_mod_sub(rp, rp, rq, p, bc) && BN_mod_mul(rp, rp, t, p, bc) && BN_mul(rp, rp, q, bc) &&
                            BN_add(pf->x[i], rp, rq));
            }
            break;
        }
    }
    kg_mpc_fs_free(&fs);
    BN_free(n); BN_free(lam); BN_free(t); BN_free(d); BN_free(y); BN_free(yt); BN_free(rp); BN_free(rq);
}

static void test_mod_not_blum(void **state)
{
    (void)state;
    BIGNUM *p1 = BN_new(), *four = BN_new(), *one = BN_new(), *q = kg_fx_prime(1024, 5), *n = BN_new();
    assert_true(BN_set_word(four, 4) && BN_set_word(one, 1));
    do { /* p ≡ 1 mod 4, with p·q of the full 2048 bits the verifier asks for */
        assert_true(BN_generate_prime_ex(p1, 1024, 0, four, one, NULL));
        assert_true(BN_mul(n, p1, q, bc));
    } while (BN_num_bits(n) < 2048);
    kg_mpc_zk_mod pf;
    /* The honest prover refuses such a key. */
    kg_mpc_paillier_sk bad;
    memset(&bad, 0, sizeof bad);
    if (kg_mpc_paillier_sk_from_primes(&bad, p1, q) == KG_OK) {
        assert_int_equal(kg_mpc_zk_mod_prove(&pf, &ctx, &bad), KG_ERR_BAD_INPUT);
        kg_mpc_paillier_sk_clear(&bad);
    }
    cheat_mod(&pf, p1, q, 1);
    assert_true(BN_mul(n, p1, q, bc));
    assert_int_equal(kg_mpc_zk_mod_verify(&pf, &ctx, n), KG_ERR_VERIFY);
    kg_mpc_zk_mod_clear(&pf);
    /* N = p^2·q with Blum primes */
    BIGNUM *p = kg_fx_prime(1024, 6);
    cheat_mod(&pf, p, q, 2);
    assert_true(BN_mul(n, p, q, bc) && BN_mul(n, n, p, bc));
    assert_int_equal(kg_mpc_zk_mod_verify(&pf, &ctx, n), KG_ERR_VERIFY);
    kg_mpc_zk_mod_clear(&pf);
    /* Sanity of the cheater: on a real Paillier-Blum modulus it is honest. */
    BIGNUM *p0 = kg_fx_prime(1024, 0), *q0 = kg_fx_prime(1024, 1);
    cheat_mod(&pf, p0, q0, 1);
    assert_int_equal(kg_mpc_zk_mod_verify(&pf, &ctx, sk0.pk.n), KG_OK);
    kg_mpc_zk_mod_clear(&pf);
    /* Even and small moduli are malformed. */
    assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, four), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_zk_mod_verify(&mod_pf, &ctx, p1), KG_ERR_BAD_INPUT);
    BN_free(p1); BN_free(four); BN_free(one); BN_free(n);
    kg_mpc_bn_free(q); kg_mpc_bn_free(p); kg_mpc_bn_free(p0); kg_mpc_bn_free(q0);
}

/* ------------------------------------------------------------------ Πprm */

static void test_prm_complete(void **state)
{
    (void)state;
    assert_int_equal(kg_mpc_zk_prm_verify(&prm_pf, &ctx, &rsk0.pub), KG_OK);
    kg_mpc_zk_ctx o[3];
    other_ctxs(o);
    for (int i = 0; i < 3; i++) assert_int_equal(kg_mpc_zk_prm_verify(&prm_pf, &o[i], &rsk0.pub), KG_ERR_VERIFY);
    REJECTED(kg_mpc_zk_prm_verify(&prm_pf, &ctx, &rsk2.pub));
}

static void test_prm_tamper(void **state)
{
    (void)state;
    BIGNUM *fields[] = {prm_pf.A[0], prm_pf.A[KG_CGGMP_M - 1], prm_pf.z[0], prm_pf.z[64], prm_pf.z[KG_CGGMP_M - 1]};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        bump(fields[i], 1);
        REJECTED(kg_mpc_zk_prm_verify(&prm_pf, &ctx, &rsk0.pub));
        bump(fields[i], -1);
    }
    BIGNUM *save = prm_pf.z[7];
    prm_pf.z[7] = BN_dup(rsk0.pub.mod.n);
    assert_int_equal(kg_mpc_zk_prm_verify(&prm_pf, &ctx, &rsk0.pub), KG_ERR_BAD_INPUT);
    BN_set_negative(prm_pf.z[7], 1);
    assert_int_equal(kg_mpc_zk_prm_verify(&prm_pf, &ctx, &rsk0.pub), KG_ERR_BAD_INPUT);
    BN_free(prm_pf.z[7]);
    prm_pf.z[7] = save;
    save = prm_pf.A[8];
    prm_pf.A[8] = BN_new();
    BN_zero(prm_pf.A[8]);
    assert_int_equal(kg_mpc_zk_prm_verify(&prm_pf, &ctx, &rsk0.pub), KG_ERR_BAD_INPUT);
    BN_free(prm_pf.A[8]);
    prm_pf.A[8] = save;
    assert_int_equal(kg_mpc_zk_prm_verify(&prm_pf, &ctx, &rsk0.pub), KG_OK);
}

static void test_prm_s_not_in_t(void **state)
{
    (void)state;
    /* t is a square, so <t> holds only squares; −s is a non-square
     * (−1 is one mod a Blum modulus) and not in <t>. The prover runs its
     * honest algorithm with λ; the proof must fail. */
    kg_mpc_rped_sk bad = rsk0;
    BIGNUM *s2 = BN_new();
    assert_true(BN_sub(s2, rsk0.pub.mod.n, rsk0.pub.s));
    bad.pub.s = s2;
    kg_mpc_rped rp;
    memset(&rp, 0, sizeof rp);
    assert_int_equal(kg_mpc_rped_set(&rp, rsk0.pub.mod.n, s2, rsk0.pub.t), KG_OK);
    kg_mpc_zk_prm pf;
    assert_int_equal(kg_mpc_zk_prm_prove(&pf, &ctx, &bad), KG_OK);
    assert_int_equal(kg_mpc_zk_prm_verify(&pf, &ctx, &rp), KG_ERR_VERIFY);
    kg_mpc_zk_prm_clear(&pf);
    kg_mpc_rped_clear(&rp);
    BN_free(s2);
}

/* ------------------------------------------------------------------ Πfac */

static void test_fac_complete(void **state)
{
    (void)state;
    assert_int_equal(kg_mpc_zk_fac_verify(&fac_pf, &ctx, &rsk2.pub, sk0.pk.n), KG_OK);
    kg_mpc_zk_ctx o[3];
    other_ctxs(o);
    for (int i = 0; i < 3; i++) assert_int_equal(kg_mpc_zk_fac_verify(&fac_pf, &o[i], &rsk2.pub, sk0.pk.n), KG_ERR_VERIFY);
    REJECTED(kg_mpc_zk_fac_verify(&fac_pf, &ctx, &rsk0.pub, sk0.pk.n)); /* other verifier's aux */
    kg_mpc_paillier_sk sk1;
    assert_int_equal(kg_fx_paillier_sk(&sk1, 1024, 4), KG_OK);
    REJECTED(kg_mpc_zk_fac_verify(&fac_pf, &ctx, &rsk2.pub, sk1.pk.n));
    kg_mpc_paillier_sk_clear(&sk1);
}

static void test_fac_tamper(void **state)
{
    (void)state;
    BIGNUM *fields[] = {fac_pf.P, fac_pf.Q, fac_pf.A, fac_pf.B, fac_pf.T, fac_pf.sigma,
                        fac_pf.z1, fac_pf.z2, fac_pf.w1, fac_pf.w2, fac_pf.v};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        bump(fields[i], 1);
        REJECTED(kg_mpc_zk_fac_verify(&fac_pf, &ctx, &rsk2.pub, sk0.pk.n));
        bump(fields[i], -1);
    }
    /* z1, z2 outside ±2^(ℓ+ε)·√N0: √N0 < 2^1024 here, so 2^(ℓ+ε+1025) is out. */
    BIGNUM *big = BN_new();
    BN_zero(big);
    assert_true(BN_set_bit(big, KG_CGGMP_ELL + KG_CGGMP_EPS + 1025));
    BIGNUM *save = fac_pf.z1;
    fac_pf.z1 = big;
    assert_int_equal(kg_mpc_zk_fac_verify(&fac_pf, &ctx, &rsk2.pub, sk0.pk.n), KG_ERR_VERIFY);
    fac_pf.z1 = save;
    save = fac_pf.z2;
    BN_set_negative(big, 1);
    fac_pf.z2 = big;
    assert_int_equal(kg_mpc_zk_fac_verify(&fac_pf, &ctx, &rsk2.pub, sk0.pk.n), KG_ERR_VERIFY);
    fac_pf.z2 = save;
    BN_free(big);
    save = fac_pf.Q;
    fac_pf.Q = BN_dup(rsk2.pub.mod.n);
    assert_int_equal(kg_mpc_zk_fac_verify(&fac_pf, &ctx, &rsk2.pub, sk0.pk.n), KG_ERR_BAD_INPUT);
    BN_free(fac_pf.Q);
    fac_pf.Q = save;
    assert_int_equal(kg_mpc_zk_fac_verify(&fac_pf, &ctx, &rsk2.pub, sk0.pk.n), KG_OK);
}

static void test_fac_small_factor(void **state)
{
    (void)state;
    /* N0 = (256-bit prime) × (a 2048-bit cofactor): the honest prover's
     * proof must not verify (z2 = β + e·q is far outside the range). */
    kg_mpc_paillier_sk bad;
    memset(&bad, 0, sizeof bad);
    BIGNUM *a = kg_fx_prime(1024, 7), *b = kg_fx_prime(1024, 8), *n = BN_new();
    bad.p = BN_new();
    bad.q = BN_new();
    assert_true(BN_generate_prime_ex(bad.p, 256, 0, NULL, NULL, NULL));
    assert_true(BN_mul(bad.q, a, b, bc) && BN_mul(n, bad.p, bad.q, bc));
    assert_int_equal(kg_mpc_paillier_pk_set(&bad.pk, n), KG_OK);
    kg_mpc_zk_fac pf;
    assert_int_equal(kg_mpc_zk_fac_prove(&pf, &ctx, &rsk2.pub, &bad), KG_OK);
    assert_int_equal(kg_mpc_zk_fac_verify(&pf, &ctx, &rsk2.pub, n), KG_ERR_VERIFY);
    kg_mpc_zk_fac_clear(&pf);
    kg_mpc_paillier_pk_clear(&bad.pk);
    BN_free(bad.p); BN_free(bad.q); BN_free(n);
    kg_mpc_bn_free(a); kg_mpc_bn_free(b);
}

/* -------------------------------------------------------------- encodings */

typedef void (*write_fn)(kg_mpc_node_wr *, const void *);
typedef kg_err (*read_fn)(kg_mpc_node_rd *, void *);
typedef void (*clear_fn)(void *);

static void w_mod(kg_mpc_node_wr *w, const void *p) { kg_mpc_zk_mod_write(w, p); }
static void w_prm(kg_mpc_node_wr *w, const void *p) { kg_mpc_zk_prm_write(w, p); }
static void w_fac(kg_mpc_node_wr *w, const void *p) { kg_mpc_zk_fac_write(w, p); }
static kg_err r_mod(kg_mpc_node_rd *r, void *p) { return kg_mpc_zk_mod_read(r, p); }
static kg_err r_prm(kg_mpc_node_rd *r, void *p) { return kg_mpc_zk_prm_read(r, p); }
static kg_err r_fac(kg_mpc_node_rd *r, void *p) { return kg_mpc_zk_fac_read(r, p); }
static void c_mod(void *p) { kg_mpc_zk_mod_clear(p); }
static void c_prm(void *p) { kg_mpc_zk_prm_clear(p); }
static void c_fac(void *p) { kg_mpc_zk_fac_clear(p); }

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

static void test_codec(void **state)
{
    (void)state;
    kg_mpc_zk_mod m;
    kg_mpc_zk_prm p;
    kg_mpc_zk_fac f;
    check_codec(w_mod, r_mod, c_mod, &mod_pf, &m, sizeof m);
    check_codec(w_prm, r_prm, c_prm, &prm_pf, &p, sizeof p);
    check_codec(w_fac, r_fac, c_fac, &fac_pf, &f, sizeof f);
    /* a decoded proof verifies */
    kg_bytes b = encode(w_fac, &fac_pf);
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, b.data, b.len);
    assert_int_equal(kg_mpc_zk_fac_read(&r, &f), KG_OK);
    assert_int_equal(kg_mpc_zk_fac_verify(&f, &ctx, &rsk2.pub, sk0.pk.n), KG_OK);
    kg_mpc_zk_fac_clear(&f);
    kg_bytes_free(&b);
    /* Πmod: an a byte that is not a bit is refused by the reader */
    b = encode(w_mod, &mod_pf);
    b.data[b.len - 2 * KG_CGGMP_M] = 2;
    kg_mpc_node_rd_init(&r, b.data, b.len);
    assert_int_equal(kg_mpc_zk_mod_read(&r, &m), KG_ERR_BAD_INPUT);
    kg_bytes_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mod_complete),  cmocka_unit_test(test_mod_context),
        cmocka_unit_test(test_mod_tamper),    cmocka_unit_test(test_mod_not_blum),
        cmocka_unit_test(test_prm_complete),  cmocka_unit_test(test_prm_tamper),
        cmocka_unit_test(test_prm_s_not_in_t), cmocka_unit_test(test_fac_complete),
        cmocka_unit_test(test_fac_tamper),    cmocka_unit_test(test_fac_small_factor),
        cmocka_unit_test(test_codec),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
