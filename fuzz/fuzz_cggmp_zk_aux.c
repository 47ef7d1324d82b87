/* libFuzzer target for the wire readers of the CGGMP21 auxiliary-info
 * and identification proofs (cggmp_zk.h): kg_mpc_zk_{mod,prm,fac,dec,mul}
 * _read. The first byte selects the reader (mod 5), the rest is the body.
 *
 * Whatever the bytes: no crash, no leak, no read past the body; a refused
 * proof leaves its struct zeroed; an accepted one re-encodes to exactly
 * the bytes it consumed (the encoding is canonical) and is then verified
 * against fixed statements built once from two fixture safe primes
 * (N = p·q, ring-Pedersen t = 9, s = t^λ on the same N, small fixed
 * plaintexts and nonces) — the seeds in fuzz/corpus/fuzz_cggmp_zk_aux/
 * are honest proofs for exactly these statements, so the verifiers'
 * accepting paths are reached too. */
#include <stdlib.h>
#include <string.h>

#include "../src/mpc/cggmp_zk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_P "C0FF9FE3079626B2A62D94BE3DA42625464EC7424687B967E138D1690CBDE0A5906EC8EEB31FDEC45F695B56BED2682030D63F72F03FAF16916E413023117BC9B1E4321E3097F538C6B19673819D9724D6CDE3F6E84286D2E479AD06DB521A9E2434122AF758E6EE8A5CB438DB07FEC4B52C8037325ECBC40BCA121606693EAF"
#define FZ_Q "E340714CE0300AD75EA3B259B988D9DB22A98233702C105182D0D2BDC7EAB070ABE2EB173903875780D6B1BA224732B5F938C6C8AB6D4F0EA20A01149919CBAAECE5A21BD3B69F80C67FA2B5F4E9E1C4956B3CEFC99AA6C6D0A71EEFBB5F904CB83FD634D5E5817250049D2A9A70C5A931C0F58A197D0372CEBB0DEF7EBAE457"

/* The fixed statements (built once; never freed: the process exits). */
typedef struct {
    kg_mpc_paillier_sk sk;
    kg_mpc_rped_sk rsk;
    kg_mpc_zk_ctx ctx;
    BIGNUM *dec_C, *dec_y, *dec_rho;
    kg_mpc_scalar dec_x;
    BIGNUM *mul_X, *mul_Y, *mul_C, *mul_x, *mul_rho, *mul_rhox;
} fz_consts;

static BIGNUM *fz_word(unsigned long v)
{
    BIGNUM *x = BN_new();
    if (!x || !BN_set_word(x, v)) abort();
    return x;
}

static void fz_init_rped(fz_consts *c, BN_CTX *bc)
{
    kg_mpc_rped_sk *r = &c->rsk;
    BIGNUM *t = fz_word(9), *s = BN_new(), *pm = BN_new(), *qm = BN_new();
    r->lambda = NULL;
    if (!BN_hex2bn(&r->lambda, "1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF")) abort();
    r->phi = BN_new();
    if (!s || !r->phi || !BN_sub(pm, c->sk.p, BN_value_one()) || !BN_sub(qm, c->sk.q, BN_value_one()) ||
        !BN_mul(r->phi, pm, qm, bc) || !BN_mod_exp(s, t, r->lambda, c->sk.pk.n, bc) ||
        kg_mpc_rped_set(&r->pub, c->sk.pk.n, s, t))
        abort();
    BN_free(t); BN_free(s); BN_free(pm); BN_free(qm);
}

static void fz_init_stmts(fz_consts *c, BN_CTX *bc)
{
    const kg_mpc_paillier_pk *pk = &c->sk.pk;
    c->dec_y = fz_word(7);
    c->dec_rho = fz_word(5);
    c->dec_C = BN_new();
    c->mul_x = fz_word(3);
    c->mul_rhox = fz_word(11);
    c->mul_rho = fz_word(17);
    c->mul_X = BN_new();
    c->mul_Y = BN_new();
    c->mul_C = BN_new();
    BIGNUM *five = fz_word(5), *thirteen = fz_word(13), *t = BN_new(), *zero = fz_word(0);
    if (kg_mpc_paillier_enc_with(pk, c->dec_C, c->dec_y, c->dec_rho) ||
        kg_mpc_bn_to_scalar(c->ctx.group, &c->dec_x, c->dec_y) ||
        kg_mpc_paillier_enc_with(pk, c->mul_X, c->mul_x, c->mul_rhox) ||
        kg_mpc_paillier_enc_with(pk, c->mul_Y, five, thirteen) ||
        kg_mpc_paillier_mul(pk, c->mul_C, c->mul_Y, c->mul_x, false) ||
        kg_mpc_paillier_enc_with(pk, t, zero, c->mul_rho) || !BN_mod_mul(c->mul_C, c->mul_C, t, pk->nn, bc))
        abort();
    BN_free(five); BN_free(thirteen); BN_free(t); BN_free(zero);
}

static const fz_consts *fz_get(void)
{
    static fz_consts c;
    static bool done;
    if (done) return &c;
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *p = NULL, *q = NULL;
    if (!bc || !BN_hex2bn(&p, FZ_P) || !BN_hex2bn(&q, FZ_Q) || kg_mpc_paillier_sk_from_primes(&c.sk, p, q)) abort();
    static const uint8_t sid[] = "fuzz_cggmp_zk_aux";
    c.ctx = (kg_mpc_zk_ctx){.group = KG_MPC_GROUP_SECP256K1, .sid = sid, .sid_len = sizeof sid - 1, .prover = 1};
    fz_init_rped(&c, bc);
    fz_init_stmts(&c, bc);
    BN_free(p); BN_free(q); BN_CTX_free(bc);
    done = true;
    return &c;
}

/* Re-encode pf with wf; must equal the consumed prefix. */
#define FZ_CANON(wf, pf, body, used)                                                   \
    do {                                                                               \
        kg_mpc_node_wr w_;                                                             \
        memset(&w_, 0, sizeof w_);                                                     \
        wf(&w_, pf);                                                                   \
        if (kg_mpc_node_wr_done(&w_)) abort();                                         \
        if (w_.b.len != (used) || memcmp(w_.b.data, body, used)) abort();              \
        kg_bytes_free(&w_.b);                                                          \
    } while (0)

static bool fz_zeroed(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const fz_consts *c = fz_get();
    const uint8_t *body = data + 1;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, body, size - 1);
    union { kg_mpc_zk_mod m; kg_mpc_zk_prm p; kg_mpc_zk_fac f; kg_mpc_zk_dec d; kg_mpc_zk_mul u; } pf;
    memset(&pf, 0xA5, sizeof pf);
    kg_err err;
    switch (data[0] % 5) {
    case 0:
        if ((err = kg_mpc_zk_mod_read(&r, &pf.m))) break;
        FZ_CANON(kg_mpc_zk_mod_write, &pf.m, body, size - 1 - r.left);
        err = kg_mpc_zk_mod_verify(&pf.m, &c->ctx, c->sk.pk.n);
        kg_mpc_zk_mod_clear(&pf.m);
        return 0;
    case 1:
        if ((err = kg_mpc_zk_prm_read(&r, &pf.p))) break;
        FZ_CANON(kg_mpc_zk_prm_write, &pf.p, body, size - 1 - r.left);
        err = kg_mpc_zk_prm_verify(&pf.p, &c->ctx, &c->rsk.pub);
        kg_mpc_zk_prm_clear(&pf.p);
        return 0;
    case 2:
        if ((err = kg_mpc_zk_fac_read(&r, &pf.f))) break;
        FZ_CANON(kg_mpc_zk_fac_write, &pf.f, body, size - 1 - r.left);
        err = kg_mpc_zk_fac_verify(&pf.f, &c->ctx, &c->rsk.pub, c->sk.pk.n);
        kg_mpc_zk_fac_clear(&pf.f);
        return 0;
    case 3:
        if ((err = kg_mpc_zk_dec_read(&r, &pf.d))) break;
        FZ_CANON(kg_mpc_zk_dec_write, &pf.d, body, size - 1 - r.left);
        err = kg_mpc_zk_dec_verify(&pf.d, &c->ctx, &c->rsk.pub, &c->sk.pk, c->dec_C, &c->dec_x);
        kg_mpc_zk_dec_clear(&pf.d);
        return 0;
    default:
        if ((err = kg_mpc_zk_mul_read(&r, &pf.u))) break;
        FZ_CANON(kg_mpc_zk_mul_write, &pf.u, body, size - 1 - r.left);
        err = kg_mpc_zk_mul_verify(&pf.u, &c->ctx, &c->sk.pk, c->mul_X, c->mul_Y, c->mul_C);
        kg_mpc_zk_mul_clear(&pf.u);
        return 0;
    }
    /* refused: the struct must be back to zero */
    static const size_t sz[] = {sizeof(kg_mpc_zk_mod), sizeof(kg_mpc_zk_prm), sizeof(kg_mpc_zk_fac),
                                sizeof(kg_mpc_zk_dec), sizeof(kg_mpc_zk_mul)};
    if (err != KG_ERR_BAD_INPUT && err != KG_ERR_NOMEM) abort();
    if (!fz_zeroed(&pf, sz[data[0] % 5])) abort();
    return 0;
}
