/* The four CGGMP21 range proofs of presigning and signing-phase
 * identification (cggmp_zk.h): Πenc, Πaff-g, Πlog*, Πmul*.
 *
 * Keys are real: Paillier and ring-Pedersen on 2048-bit moduli from the
 * fixture safe primes (cggmp_fixture.h). The statements are built here
 * with plain OpenSSL arithmetic (BN_mod_exp, not the library's helpers),
 * and checked by decrypting, so the proofs are tested against an
 * independent construction. For each proof, on secp256k1 and P-256:
 * completeness; every BIGNUM field +1 and every point replaced is
 * refused; z1 (and Πaff-g's z2) just out of range is refused; a wrong
 * statement, another session id or prover and another verifier's
 * ring-Pedersen parameters are refused; an out-of-range witness is refused
 * by the prover; the wire form round-trips and truncated, padded or
 * oversized encodings are refused.
 *
 * KG_WRITE_FUZZ_SEEDS=<dir> also writes the libFuzzer seeds of
 * fuzz/fuzz_cggmp_zk_presign.c (selector byte, then an encoding). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cggmp_fixture.h"
#include "../../src/mpc/zk_range_int.h"

static kg_mpc_paillier_sk skA, skB; /* A: the verifier's key, B: the prover's */
static kg_mpc_rped_sk rpA, rpC;     /* A: the verifier's aux; C: someone else's */

static const kg_mpc_group_id groups[] = {KG_MPC_GROUP_SECP256K1, KG_MPC_GROUP_P256};

/* ------------------------------------------------------------- statements */

typedef struct {
    kg_mpc_group_id g;
    const kg_mpc_rped *aux;
    const kg_mpc_paillier_pk *n0, *n1;
    BIGNUM *C, *D, *Y; /* Πenc: C is K */
    kg_mpc_point X, B;
    bool use_B;
    BIGNUM *x, *y, *rho, *rho_y;
} fx_stmt;

static void stmt_free(fx_stmt *st)
{
    BN_free(st->C);
    BN_free(st->D);
    BN_free(st->Y);
    kg_mpc_bn_free(st->x);
    kg_mpc_bn_free(st->y);
    kg_mpc_bn_free(st->rho);
    kg_mpc_bn_free(st->rho_y);
    memset(st, 0, sizeof *st);
}

/* a^e mod m for a signed e, with OpenSSL only. */
static BIGNUM *pow_signed(const BIGNUM *a, const BIGNUM *e, const BIGNUM *m)
{
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *r = BN_new(), *ae = BN_dup(e), *base = BN_new();
    assert_non_null(bc);
    assert_non_null(r);
    assert_non_null(base);
    BN_set_negative(ae, 0);
    if (BN_is_negative(e)) assert_non_null(BN_mod_inverse(base, a, m, bc));
    else assert_non_null(BN_copy(base, a));
    assert_true(BN_mod_exp(r, base, ae, m, bc));
    BN_free(ae);
    BN_free(base);
    BN_CTX_free(bc);
    return r;
}

static BIGNUM *rand_pm(unsigned bits)
{
    BIGNUM *x = kg_mpc_bn_secret_new();
    assert_non_null(x);
    assert_int_equal(kg_mpc_bn_rand_pm(x, bits, NULL), KG_OK);
    return x;
}

static void rand_point(kg_mpc_group_id g, kg_mpc_point *p)
{
    kg_mpc_scalar s;
    assert_int_equal(kg_mpc_scalar_random(g, &s), KG_OK);
    kg_mpc_point_base_mul(g, p, &s);
}

/* A fresh ciphertext of a random plaintext under pk. */
static BIGNUM *rand_ct(const kg_mpc_paillier_pk *pk, BIGNUM **rho)
{
    BIGNUM *c = BN_new(), *m = rand_pm(KG_CGGMP_ELL), *r = kg_mpc_bn_secret_new();
    assert_non_null(c);
    assert_int_equal(kg_mpc_paillier_enc(pk, c, r, m), KG_OK);
    kg_mpc_bn_free(m);
    if (rho) *rho = r;
    else kg_mpc_bn_free(r);
    return c;
}

/* Πenc: K = enc_B(k; ρ), k in ±2^ℓ. */
static void build_enc(fx_stmt *st, kg_mpc_group_id g)
{
    memset(st, 0, sizeof *st);
    st->g = g;
    st->aux = &rpA.pub;
    st->n0 = &skB.pk;
    st->x = rand_pm(KG_CGGMP_ELL);
    st->C = BN_new();
    st->rho = kg_mpc_bn_secret_new();
    assert_int_equal(kg_mpc_paillier_enc(st->n0, st->C, st->rho, st->x), KG_OK);
}

/* Πlog*: C = enc_B(x; ρ), X = x·B (B random on secp256k1, G on P-256). */
static void build_logstar(fx_stmt *st, kg_mpc_group_id g)
{
    build_enc(st, g);
    st->use_B = g == KG_MPC_GROUP_SECP256K1;
    if (st->use_B) rand_point(g, &st->B);
    assert_int_equal(kg_mpc_point_mul_bn(g, &st->X, st->x, st->use_B ? &st->B : NULL), KG_OK);
}

/* Πmul*: D = C^x · ρ^N mod N^2 under the prover's key B, X = x·G. */
static void build_mulstar(fx_stmt *st, kg_mpc_group_id g)
{
    memset(st, 0, sizeof *st);
    st->g = g;
    st->aux = &rpA.pub;
    st->n0 = &skB.pk;
    st->x = rand_pm(KG_CGGMP_ELL);
    st->C = rand_ct(st->n0, NULL);
    st->rho = kg_mpc_bn_secret_new();
    assert_int_equal(kg_mpc_bn_rand_unit(st->rho, st->n0->n), KG_OK);
    BIGNUM *cx = pow_signed(st->C, st->x, st->n0->nn), *rn = pow_signed(st->rho, st->n0->n, st->n0->nn);
    BN_CTX *bc = BN_CTX_new();
    st->D = BN_new();
    assert_true(BN_mod_mul(st->D, cx, rn, st->n0->nn, bc));
    BN_free(cx);
    BN_free(rn);
    BN_CTX_free(bc);
    assert_int_equal(kg_mpc_point_mul_bn(g, &st->X, st->x, NULL), KG_OK);
}

/* Πaff-g as presigning uses it: party i (key B) holds x = γ_i, answers
 * j's (key A) encrypted nonce C = K_j with D = K_j^γ_i · enc_A(y; ρ) and
 * Y = enc_B(y; ρy), y = β in ±2^ℓ', X = γ_i·G. */
static void build_affg(fx_stmt *st, kg_mpc_group_id g)
{
    memset(st, 0, sizeof *st);
    st->g = g;
    st->aux = &rpA.pub;
    st->n0 = &skA.pk;
    st->n1 = &skB.pk;
    kg_mpc_scalar gamma;
    assert_int_equal(kg_mpc_scalar_random(g, &gamma), KG_OK);
    st->x = kg_mpc_scalar_to_bn(g, &gamma);
    assert_non_null(st->x);
    st->y = rand_pm(KG_CGGMP_ELL_PRIME);
    st->C = rand_ct(st->n0, NULL);
    BIGNUM *enc_y = BN_new(), *cx = pow_signed(st->C, st->x, st->n0->nn);
    st->rho = kg_mpc_bn_secret_new();
    assert_int_equal(kg_mpc_paillier_enc(st->n0, enc_y, st->rho, st->y), KG_OK);
    BN_CTX *bc = BN_CTX_new();
    st->D = BN_new();
    assert_true(BN_mod_mul(st->D, cx, enc_y, st->n0->nn, bc));
    st->Y = BN_new();
    st->rho_y = kg_mpc_bn_secret_new();
    assert_int_equal(kg_mpc_paillier_enc(st->n1, st->Y, st->rho_y, st->y), KG_OK);
    assert_int_equal(kg_mpc_point_mul_bn(g, &st->X, st->x, NULL), KG_OK);
    /* Independent check of the statement: D decrypts to k·x + y. */
    BIGNUM *k = BN_new(), *dm = BN_new(), *want = BN_new();
    assert_int_equal(kg_mpc_paillier_dec(&skA, k, st->C), KG_OK);
    assert_int_equal(kg_mpc_paillier_dec(&skA, dm, st->D), KG_OK);
    assert_true(BN_mul(want, k, st->x, bc) && BN_add(want, want, st->y));
    assert_int_equal(BN_cmp(want, dm), 0);
    BN_free(k);
    BN_free(dm);
    BN_free(want);
    BN_free(enc_y);
    BN_free(cx);
    BN_CTX_free(bc);
}

/* --------------------------------------------------------- proof vtables */

typedef union {
    kg_mpc_zk_enc enc;
    kg_mpc_zk_affg affg;
    kg_mpc_zk_logstar ls;
    kg_mpc_zk_mulstar ms;
} any_pf;

typedef struct {
    const char *name;
    void (*build)(fx_stmt *st, kg_mpc_group_id g);
    kg_err (*prove)(any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *st);
    kg_err (*verify)(const any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *st);
    void (*write)(kg_mpc_node_wr *w, kg_mpc_group_id g, const any_pf *pf);
    kg_err (*read)(kg_mpc_node_rd *r, kg_mpc_group_id g, any_pf *pf);
    void (*clear)(any_pf *pf);
    size_t nbn, bn_off[12];
    size_t npt, pt_off[1];
    size_t z1_off, z2_off; /* z2_off 0: no second range check */
    size_t nsbn, sbn_off[3]; /* statement integers */
} proof_ops;

static kg_err enc_prove(any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *s)
{
    return kg_mpc_zk_enc_prove(&pf->enc, c, s->aux, s->n0, s->C, s->x, s->rho);
}
static kg_err enc_verify(const any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *s)
{
    return kg_mpc_zk_enc_verify(&pf->enc, c, s->aux, s->n0, s->C);
}
static void enc_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const any_pf *pf)
{
    (void)g;
    kg_mpc_zk_enc_write(w, &pf->enc);
}
static kg_err enc_read(kg_mpc_node_rd *r, kg_mpc_group_id g, any_pf *pf)
{
    (void)g;
    return kg_mpc_zk_enc_read(r, &pf->enc);
}
static void enc_clear(any_pf *pf) { kg_mpc_zk_enc_clear(&pf->enc); }

static kg_err affg_prove(any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *s)
{
    return kg_mpc_zk_affg_prove(&pf->affg, c, s->aux, s->n0, s->n1, s->C, s->D, s->Y, &s->X, s->x, s->y, s->rho,
                                s->rho_y);
}
static kg_err affg_verify(const any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *s)
{
    return kg_mpc_zk_affg_verify(&pf->affg, c, s->aux, s->n0, s->n1, s->C, s->D, s->Y, &s->X);
}
static void affg_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const any_pf *pf) { kg_mpc_zk_affg_write(w, g, &pf->affg); }
static kg_err affg_read(kg_mpc_node_rd *r, kg_mpc_group_id g, any_pf *pf) { return kg_mpc_zk_affg_read(r, g, &pf->affg); }
static void affg_clear(any_pf *pf) { kg_mpc_zk_affg_clear(&pf->affg); }

static kg_err ls_prove(any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *s)
{
    return kg_mpc_zk_logstar_prove(&pf->ls, c, s->aux, s->n0, s->C, &s->X, s->use_B ? &s->B : NULL, s->x, s->rho);
}
static kg_err ls_verify(const any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *s)
{
    return kg_mpc_zk_logstar_verify(&pf->ls, c, s->aux, s->n0, s->C, &s->X, s->use_B ? &s->B : NULL);
}
static void ls_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const any_pf *pf) { kg_mpc_zk_logstar_write(w, g, &pf->ls); }
static kg_err ls_read(kg_mpc_node_rd *r, kg_mpc_group_id g, any_pf *pf) { return kg_mpc_zk_logstar_read(r, g, &pf->ls); }
static void ls_clear(any_pf *pf) { kg_mpc_zk_logstar_clear(&pf->ls); }

static kg_err ms_prove(any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *s)
{
    return kg_mpc_zk_mulstar_prove(&pf->ms, c, s->aux, s->n0, s->C, s->D, &s->X, s->x, s->rho);
}
static kg_err ms_verify(const any_pf *pf, const kg_mpc_zk_ctx *c, const fx_stmt *s)
{
    return kg_mpc_zk_mulstar_verify(&pf->ms, c, s->aux, s->n0, s->C, s->D, &s->X);
}
static void ms_write(kg_mpc_node_wr *w, kg_mpc_group_id g, const any_pf *pf) { kg_mpc_zk_mulstar_write(w, g, &pf->ms); }
static kg_err ms_read(kg_mpc_node_rd *r, kg_mpc_group_id g, any_pf *pf) { return kg_mpc_zk_mulstar_read(r, g, &pf->ms); }
static void ms_clear(any_pf *pf) { kg_mpc_zk_mulstar_clear(&pf->ms); }

#define EO(f) offsetof(kg_mpc_zk_enc, f)
#define AO(f) offsetof(kg_mpc_zk_affg, f)
#define LO(f) offsetof(kg_mpc_zk_logstar, f)
#define MO(f) offsetof(kg_mpc_zk_mulstar, f)
#define SO(f) offsetof(fx_stmt, f)

static const proof_ops OPS[4] = {
    {"enc", build_enc, enc_prove, enc_verify, enc_write, enc_read, enc_clear,
     6, {EO(S), EO(A), EO(C), EO(z1), EO(z2), EO(z3)}, 0, {0}, EO(z1), 0, 1, {SO(C)}},
    {"affg", build_affg, affg_prove, affg_verify, affg_write, affg_read, affg_clear,
     12, {AO(A), AO(By), AO(E), AO(F), AO(S), AO(T), AO(z1), AO(z2), AO(z3), AO(z4), AO(w), AO(wy)},
     1, {AO(Bx)}, AO(z1), AO(z2), 3, {SO(C), SO(D), SO(Y)}},
    {"logstar", build_logstar, ls_prove, ls_verify, ls_write, ls_read, ls_clear,
     6, {LO(S), LO(A), LO(D), LO(z1), LO(z2), LO(z3)}, 1, {LO(Y)}, LO(z1), 0, 1, {SO(C)}},
    {"mulstar", build_mulstar, ms_prove, ms_verify, ms_write, ms_read, ms_clear,
     6, {MO(A), MO(E), MO(S), MO(z1), MO(z2), MO(w)}, 1, {MO(Bx)}, MO(z1), 0, 2, {SO(C), SO(D)}},
};

#define BN_AT(base, off) (*(BIGNUM **)((char *)(base) + (off)))
#define PT_AT(base, off) ((kg_mpc_point *)((char *)(base) + (off)))

static void assert_refused(kg_err e)
{
    if (e != KG_ERR_VERIFY && e != KG_ERR_BAD_INPUT) fail_msg("expected a refusal, got %d", (int)e);
}

/* ------------------------------------------------------------------ checks */

static void check_tamper(const proof_ops *op, any_pf *pf, const kg_mpc_zk_ctx *ctx, const fx_stmt *st)
{
    for (size_t i = 0; i < op->nbn; i++) {
        BIGNUM *f = BN_AT(pf, op->bn_off[i]);
        assert_true(BN_add_word(f, 1));
        assert_refused(op->verify(pf, ctx, st));
        assert_true(BN_sub_word(f, 1));
    }
    for (size_t i = 0; i < op->npt; i++) {
        kg_mpc_point save = *PT_AT(pf, op->pt_off[i]);
        rand_point(st->g, PT_AT(pf, op->pt_off[i]));
        assert_refused(op->verify(pf, ctx, st));
        *PT_AT(pf, op->pt_off[i]) = save;
    }
    /* Just outside the ranges: refused as a failed proof. */
    size_t zo[2] = {op->z1_off, op->z2_off};
    unsigned zb[2] = {KG_CGGMP_ELL + KG_CGGMP_EPS, KG_CGGMP_ELL_PRIME + KG_CGGMP_EPS};
    for (size_t i = 0; i < 2 && (i == 0 || zo[1]); i++) {
        BIGNUM *z = BN_AT(pf, zo[i]), *save = BN_dup(z);
        BN_zero(z);
        assert_true(BN_set_bit(z, zb[i]) && BN_add_word(z, 1));
        assert_int_equal(op->verify(pf, ctx, st), KG_ERR_VERIFY);
        BN_set_negative(z, 1);
        assert_int_equal(op->verify(pf, ctx, st), KG_ERR_VERIFY);
        assert_non_null(BN_copy(z, save));
        BN_free(save);
    }
    assert_int_equal(op->verify(pf, ctx, st), KG_OK); /* restored */
}

static void check_statement(const proof_ops *op, any_pf *pf, const kg_mpc_zk_ctx *ctx, fx_stmt *st)
{
    for (size_t i = 0; i < op->nsbn; i++) {
        BIGNUM *f = BN_AT(st, op->sbn_off[i]);
        assert_true(BN_add_word(f, 1));
        assert_refused(op->verify(pf, ctx, st));
        assert_true(BN_sub_word(f, 1));
    }
    if (op->npt) { /* X, and Πlog*'s base B */
        kg_mpc_point save = st->X;
        rand_point(st->g, &st->X);
        assert_refused(op->verify(pf, ctx, st));
        st->X = save;
        if (st->use_B) {
            save = st->B;
            rand_point(st->g, &st->B);
            assert_refused(op->verify(pf, ctx, st));
            st->B = save;
        }
    }
    kg_mpc_zk_ctx other = kg_fx_zk_ctx(st->g, "presign-sid-2", ctx->prover);
    assert_refused(op->verify(pf, &other, st));
    other = kg_fx_zk_ctx(st->g, "presign-sid-1", (uint16_t)(ctx->prover + 1));
    assert_refused(op->verify(pf, &other, st));
    const kg_mpc_rped *aux = st->aux;
    st->aux = &rpC.pub;
    assert_refused(op->verify(pf, ctx, st));
    st->aux = aux;
}

static void check_witness_range(const proof_ops *op, const kg_mpc_zk_ctx *ctx, fx_stmt *st)
{
    BIGNUM *save = st->x, *big = BN_new();
    assert_true(BN_set_bit(big, KG_CGGMP_ELL + KG_CGGMP_EPS + 1));
    any_pf pf;
    for (int neg = 0; neg < 2; neg++) {
        BN_set_negative(big, neg);
        st->x = big;
        memset(&pf, 0xA5, sizeof pf);
        assert_int_equal(op->prove(&pf, ctx, st), KG_ERR_BAD_INPUT);
        for (size_t i = 0; i < op->nbn; i++) assert_null(BN_AT(&pf, op->bn_off[i])); /* cleared */
    }
    /* 2^ℓ + 1: the first value outside the witness range. */
    BN_zero(big);
    assert_true(BN_set_bit(big, KG_CGGMP_ELL) && BN_add_word(big, 1));
    assert_int_equal(op->prove(&pf, ctx, st), KG_ERR_BAD_INPUT);
    st->x = save;
    if (st->y) { /* Πaff-g: y beyond ±2^ℓ' */
        save = st->y;
        BN_zero(big);
        assert_true(BN_set_bit(big, KG_CGGMP_ELL_PRIME + KG_CGGMP_EPS + 1));
        st->y = big;
        assert_int_equal(op->prove(&pf, ctx, st), KG_ERR_BAD_INPUT);
        st->y = save;
    }
    BN_free(big);
}

static void check_encoding(const proof_ops *op, const any_pf *pf, const kg_mpc_zk_ctx *ctx, const fx_stmt *st)
{
    kg_mpc_node_wr w = {0};
    op->write(&w, st->g, pf);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    any_pf back;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, w.b.data, w.b.len);
    assert_int_equal(op->read(&r, st->g, &back), KG_OK);
    assert_int_equal(kg_mpc_node_rd_end(&r, "proof"), KG_OK);
    assert_int_equal(op->verify(&back, ctx, st), KG_OK);
    kg_mpc_node_wr w2 = {0};
    op->write(&w2, st->g, &back);
    assert_int_equal(kg_mpc_node_wr_done(&w2), KG_OK);
    assert_int_equal(w2.b.len, w.b.len);
    assert_memory_equal(w2.b.data, w.b.data, w.b.len);
    kg_bytes_free(&w2.b);
    op->clear(&back);
    /* Every truncation is refused (and leaves the struct empty). */
    for (size_t len = 0; len < w.b.len; len++) {
        kg_mpc_node_rd_init(&r, w.b.data, len);
        assert_int_not_equal(op->read(&r, st->g, &back), KG_OK);
        for (size_t i = 0; i < op->nbn; i++) assert_null(BN_AT(&back, op->bn_off[i]));
    }
    /* A trailing byte: the reader stops at the proof, the caller's
     * rd_end refuses the rest. */
    uint8_t *pad = malloc(w.b.len + 1);
    assert_non_null(pad);
    memcpy(pad, w.b.data, w.b.len);
    pad[w.b.len] = 0;
    kg_mpc_node_rd_init(&r, pad, w.b.len + 1);
    assert_int_equal(op->read(&r, st->g, &back), KG_OK);
    assert_int_not_equal(kg_mpc_node_rd_end(&r, "proof"), KG_OK);
    op->clear(&back);
    free(pad);
    /* An integer field over KG_CGGMP_BN_MAX_BYTES is refused. */
    uint8_t big[KG_CGGMP_BN_MAX_BYTES + 1];
    memset(big, 0x11, sizeof big);
    big[0] = 0;
    kg_mpc_node_wr wb = {0};
    kg_mpc_node_wr_blob(&wb, big, sizeof big);
    kg_mpc_node_wr_fixed(&wb, w.b.data, w.b.len);
    assert_int_equal(kg_mpc_node_wr_done(&wb), KG_OK);
    kg_mpc_node_rd_init(&r, wb.b.data, wb.b.len);
    assert_int_not_equal(op->read(&r, st->g, &back), KG_OK);
    kg_bytes_free(&wb.b);
    /* The seeds of fuzz/fuzz_cggmp_zk_presign.c, when asked. */
    const char *dir = getenv("KG_WRITE_FUZZ_SEEDS");
    if (dir && st->g == KG_MPC_GROUP_SECP256K1) {
        char path[1024];
        uint8_t sel = (uint8_t)(op - OPS);
        snprintf(path, sizeof path, "%s/seed-%u", dir, (unsigned)sel + 1);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(&sel, 1, 1, f), 1);
        assert_int_equal(fwrite(w.b.data, 1, w.b.len, f), w.b.len);
        fclose(f);
    }
    kg_bytes_free(&w.b);
}

static void run_proof(const proof_ops *op)
{
    for (size_t gi = 0; gi < 2; gi++) {
        kg_mpc_group_id g = groups[gi];
        fx_stmt st;
        op->build(&st, g);
        kg_mpc_zk_ctx ctx = kg_fx_zk_ctx(g, "presign-sid-1", 2);
        any_pf pf;
        memset(&pf, 0, sizeof pf);
        assert_int_equal(op->prove(&pf, &ctx, &st), KG_OK);
        assert_int_equal(op->verify(&pf, &ctx, &st), KG_OK);
        check_tamper(op, &pf, &ctx, &st);
        check_statement(op, &pf, &ctx, &st);
        check_encoding(op, &pf, &ctx, &st);
        check_witness_range(op, &ctx, &st);
        /* An empty struct is refused, not dereferenced. */
        any_pf empty;
        memset(&empty, 0, sizeof empty);
        assert_int_equal(op->verify(&empty, &ctx, &st), KG_ERR_BAD_INPUT);
        op->clear(&pf);
        stmt_free(&st);
    }
}

static void test_enc(void **state)
{
    (void)state;
    run_proof(&OPS[0]);
}
static void test_affg(void **state)
{
    (void)state;
    run_proof(&OPS[1]);
}
static void test_logstar(void **state)
{
    (void)state;
    run_proof(&OPS[2]);
}
static void test_mulstar(void **state)
{
    (void)state;
    run_proof(&OPS[3]);
}

/* Πaff-g with y negative and at the edge of ±2^ℓ' (presigning's -β). */
static void test_affg_edges(void **state)
{
    (void)state;
    fx_stmt st;
    build_affg(&st, KG_MPC_GROUP_SECP256K1);
    kg_mpc_zk_ctx ctx = kg_fx_zk_ctx(st.g, "presign-sid-edge", 1);
    /* Rebuild D and Y for y = -2^ℓ'. */
    BN_zero(st.y);
    assert_true(BN_set_bit(st.y, KG_CGGMP_ELL_PRIME));
    BN_set_negative(st.y, 1);
    BIGNUM *cx = pow_signed(st.C, st.x, st.n0->nn), *ey = BN_new();
    assert_int_equal(kg_mpc_paillier_enc_with(st.n0, ey, st.y, st.rho), KG_OK);
    BN_CTX *bc = BN_CTX_new();
    assert_true(BN_mod_mul(st.D, cx, ey, st.n0->nn, bc));
    assert_int_equal(kg_mpc_paillier_enc_with(st.n1, st.Y, st.y, st.rho_y), KG_OK);
    kg_mpc_zk_affg pf;
    memset(&pf, 0, sizeof pf);
    assert_int_equal(kg_mpc_zk_affg_prove(&pf, &ctx, st.aux, st.n0, st.n1, st.C, st.D, st.Y, &st.X, st.x, st.y,
                                          st.rho, st.rho_y), KG_OK);
    assert_int_equal(kg_mpc_zk_affg_verify(&pf, &ctx, st.aux, st.n0, st.n1, st.C, st.D, st.Y, &st.X), KG_OK);
    /* The prover's and verifier's keys swapped: refused. */
    assert_refused(kg_mpc_zk_affg_verify(&pf, &ctx, st.aux, st.n1, st.n0, st.C, st.D, st.Y, &st.X));
    kg_mpc_zk_affg_clear(&pf);
    BN_free(cx);
    BN_free(ey);
    BN_CTX_free(bc);
    stmt_free(&st);
}

/* (1+N)^m as 1 + m·N against BN_mod_exp, both signs. */
static void test_one_plus_n(void **state)
{
    (void)state;
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *base = BN_dup(skB.pk.n), *r = BN_new();
    assert_true(BN_add_word(base, 1));
    for (int i = 0; i < 4; i++) {
        BIGNUM *m = rand_pm(KG_CGGMP_ELL_PRIME + KG_CGGMP_EPS);
        BN_set_negative(m, i & 1);
        assert_int_equal(kg_mpc_zk_one_plus_n(r, m, &skB.pk), KG_OK);
        BIGNUM *want = pow_signed(base, m, skB.pk.nn);
        assert_int_equal(BN_cmp(r, want), 0);
        BN_free(want);
        kg_mpc_bn_free(m);
    }
    BN_free(base);
    BN_free(r);
    BN_CTX_free(bc);
}

static int setup(void **state)
{
    (void)state;
    if (kg_fx_paillier_sk(&skA, 1024, 0) || kg_fx_paillier_sk(&skB, 1024, 2) || kg_fx_rped_sk(&rpA, 1024, 0) ||
        kg_fx_rped_sk(&rpC, 1024, 4))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kg_mpc_paillier_sk_clear(&skA);
    kg_mpc_paillier_sk_clear(&skB);
    kg_mpc_rped_sk_clear(&rpA);
    kg_mpc_rped_sk_clear(&rpC);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_plus_n), cmocka_unit_test(test_enc),     cmocka_unit_test(test_affg),
        cmocka_unit_test(test_affg_edges), cmocka_unit_test(test_logstar), cmocka_unit_test(test_mulstar),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
