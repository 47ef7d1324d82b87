/* Tests of CGGMP21 presigning and signing (cggmp_presign.c, cggmp_sign.c,
 * cggmp_dealer.c), every party in one process with dealt keys and aux info
 * on the 1024-bit fixture primes (2048-bit moduli).
 *
 * Signatures are checked independently of our code: libsecp256k1
 * (secp256k1_ecdsa_verify, which also refuses high-S, and ecdsa_recover
 * with the recovery id) and OpenSSL EVP for P-256 (DER-encoded r, s).
 * Cheating: a tampered message of each round (Πenc, Πaff-g, D, Πlog*, δ)
 * is named by every honest party; malformed, duplicate and missing
 * messages are refused and the round is retried. Prints (does not assert)
 * per-party presign and sign times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "../../src/mpc/cggmp_int.h"
#include "cggmp_fixture.h"

#define NP 5
static kg_mpc_cggmp_aux *auxes[NP]; /* parties 1..5, fixture primes 0..9 */

static int setup(void **state)
{
    (void)state;
    if (kg_crypto_init() != KG_OK) return -1;
    BIGNUM *pr[2 * NP];
    for (unsigned i = 0; i < 2 * NP; i++)
        if (!(pr[i] = kg_fx_prime(1024, i))) return -1;
    uint16_t ids[NP] = {1, 2, 3, 4, 5};
    kg_err err = kg_mpc_cggmp_aux_dealer(auxes, ids, NP, pr);
    for (unsigned i = 0; i < 2 * NP; i++) kg_mpc_bn_free(pr[i]);
    return err ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < NP; i++) kg_mpc_cggmp_aux_free(auxes[i]);
    return 0;
}

/* ------------------------------------------------------------ tampering */

enum { T_NONE, T_ENC, T_AFFG, T_LOG2, T_D, T_LOG3, T_DELTA };
typedef struct {
    int kind;
    uint16_t who;
} tamper;

static void body_replace(kg_mpc_cggmp_msg *m, kg_mpc_node_wr *w)
{
    assert_int_equal(kg_mpc_node_wr_done(w), KG_OK);
    kg_bytes_free(&m->body);
    m->body = w->b;
}

static void tamper_p2p(int kind, kg_mpc_group_id g, kg_mpc_cggmp_msg *m)
{
    kg_mpc_node_rd r;
    kg_mpc_node_wr w = {0};
    kg_mpc_node_rd_init(&r, m->body.data, m->body.len);
    if (kind == T_ENC) {
        kg_mpc_zk_enc e = {0};
        assert_int_equal(kg_mpc_zk_enc_read(&r, &e), KG_OK);
        assert_true(BN_add_word(e.z1, 1));
        kg_mpc_zk_enc_write(&w, &e);
        kg_mpc_zk_enc_clear(&e);
    } else if (kind == T_AFFG || kind == T_LOG2) {
        kg_mpc_zk_affg a1 = {0}, a2 = {0};
        kg_mpc_zk_logstar l = {0};
        assert_int_equal(kg_mpc_zk_affg_read(&r, g, &a1), KG_OK);
        assert_int_equal(kg_mpc_zk_affg_read(&r, g, &a2), KG_OK);
        assert_int_equal(kg_mpc_zk_logstar_read(&r, g, &l), KG_OK);
        assert_true(BN_add_word(kind == T_AFFG ? a2.z2 : l.z1, 1));
        kg_mpc_zk_affg_write(&w, g, &a1);
        kg_mpc_zk_affg_write(&w, g, &a2);
        kg_mpc_zk_logstar_write(&w, g, &l);
        kg_mpc_zk_affg_clear(&a1);
        kg_mpc_zk_affg_clear(&a2);
        kg_mpc_zk_logstar_clear(&l);
    } else {
        kg_mpc_zk_logstar l = {0};
        assert_int_equal(kg_mpc_zk_logstar_read(&r, g, &l), KG_OK);
        assert_true(BN_add_word(l.z1, 1));
        kg_mpc_zk_logstar_write(&w, g, &l);
        kg_mpc_zk_logstar_clear(&l);
    }
    body_replace(m, &w);
}

/* Round-2 broadcast: every D_{a,who} gets plaintext + 1 (still a valid
 * ciphertext under N_a, so only Πaff-g can catch it). */
static void tamper_D(kg_mpc_group_id g, kg_mpc_cggmp_msg *m, const uint16_t *signers, size_t ns)
{
    kg_mpc_node_rd r;
    kg_mpc_node_wr w = {0};
    kg_mpc_point G;
    kg_mpc_node_rd_init(&r, m->body.data, m->body.len);
    assert_int_equal(kg_mpc_point_read(&r, g, &G, "Γ"), KG_OK);
    kg_mpc_point_write(&w, g, &G);
    for (size_t a = 0; a < ns; a++) {
        if (signers[a] == m->from) continue;
        const kg_mpc_paillier_pk *pk = &auxes[signers[a] - 1]->sk.pk;
        for (int f = 0; f < 4; f++) {
            BIGNUM *c = NULL;
            assert_int_equal(kg_mpc_bn_read(&r, &c, KG_CGGMP_BN_MAX_BYTES, "ct"), KG_OK);
            if (f == 0) {
                BIGNUM *one = BN_new();
                assert_true(BN_add(one, pk->n, BN_value_one()));
                assert_true(BN_mod_mul(c, c, one, pk->nn, kg_mpc_bn_ctx()));
                BN_free(one);
            }
            kg_mpc_bn_write(&w, c);
            BN_free(c);
        }
    }
    body_replace(m, &w);
}

static void tamper_apply(const tamper *t, int round, kg_mpc_group_id g, kg_mpc_cggmp_msg *msgs, size_t n,
                         const uint16_t *signers, size_t ns)
{
    static const int when[] = {[T_ENC] = 1, [T_AFFG] = 2, [T_LOG2] = 2, [T_D] = 2, [T_LOG3] = 3, [T_DELTA] = 3};
    if (!t || t->kind == T_NONE || when[t->kind] != round) return;
    for (size_t i = 0; i < n; i++) {
        kg_mpc_cggmp_msg *m = &msgs[i];
        if (m->from != t->who) continue;
        if (t->kind == T_D && m->to == 0) tamper_D(g, m, signers, ns);
        else if (t->kind == T_DELTA && m->to == 0) m->body.data[31] ^= 0x01; /* δ (big-endian): δ ± 1 */
        else if (t->kind != T_D && t->kind != T_DELTA && m->to != 0) tamper_p2p(t->kind, g, m);
    }
}

/* ------------------------------------------------------------ the driver */

typedef struct {
    kg_mpc_group_id g;
    kg_mpc_cggmp_share shares[NP];
    size_t ns;
    uint16_t signers[NP];
    kg_mpc_cggmp_presign *st[NP];
    kg_mpc_cggmp_presig *ps[NP];
    kg_err err[NP];
    uint16_t culprit[NP];
    int fail_round; /* 0: none */
    double secs[NP];
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The messages of the previous round that party id receives. */
static size_t inbox(kg_mpc_cggmp_msg *box, kg_mpc_cggmp_msg *const *out, const size_t *n_out, size_t ns, uint16_t id,
                    const uint16_t *signers)
{
    size_t k = 0;
    for (size_t i = 0; i < ns; i++) {
        if (signers[i] == id) continue;
        for (size_t j = 0; j < n_out[i]; j++)
            if (out[i][j].to == 0 || out[i][j].to == id) box[k++] = out[i][j];
    }
    return k;
}

static void msgs_free_all(kg_mpc_cggmp_msg **out, size_t *n, size_t ns)
{
    for (size_t i = 0; i < ns; i++) { kg_mpc_cggmp_msgs_free(out[i], n[i]); out[i] = NULL; n[i] = 0; }
}

static void run_presign(run *R, const tamper *t)
{
    kg_mpc_cggmp_msg *out[NP] = {0}, *nout[NP] = {0}, box[4 * NP];
    size_t n[NP] = {0}, nn[NP] = {0};
    static const uint8_t session[] = "test session";
    R->fail_round = 0;
    for (size_t i = 0; i < R->ns; i++) {
        uint16_t id = R->signers[i];
        double t0 = now();
        assert_int_equal(kg_mpc_cggmp_presign_new(&R->st[i], &R->shares[id - 1], auxes[id - 1], R->signers, R->ns,
                                                  session, sizeof session),
                         KG_OK);
        assert_int_equal(kg_mpc_cggmp_presign_round1(R->st[i], &out[i], &n[i]), KG_OK);
        assert_int_equal(n[i], R->ns); /* one broadcast, ns-1 p2p */
        R->secs[i] = now() - t0;
    }
    for (int round = 2; round <= 4 && !R->fail_round; round++) {
        for (size_t i = 0; i < R->ns; i++) tamper_apply(t, round - 1, R->g, out[i], n[i], R->signers, R->ns);
        for (size_t i = 0; i < R->ns; i++) {
            size_t k = inbox(box, out, n, R->ns, R->signers[i], R->signers);
            double t0 = now();
            R->culprit[i] = 0xffff;
            if (round == 2) R->err[i] = kg_mpc_cggmp_presign_round2(R->st[i], box, k, &nout[i], &nn[i], &R->culprit[i]);
            else if (round == 3)
                R->err[i] = kg_mpc_cggmp_presign_round3(R->st[i], box, k, &nout[i], &nn[i], &R->culprit[i]);
            else R->err[i] = kg_mpc_cggmp_presign_finish(R->st[i], box, k, &R->ps[i], &R->culprit[i]);
            R->secs[i] += now() - t0;
            if (R->err[i]) R->fail_round = round;
        }
        msgs_free_all(out, n, R->ns);
        memcpy(out, nout, sizeof out);
        memcpy(n, nn, sizeof n);
        memset(nout, 0, sizeof nout);
        memset(nn, 0, sizeof nn);
    }
    msgs_free_all(out, n, R->ns);
}

static void run_free(run *R)
{
    for (size_t i = 0; i < NP; i++) {
        kg_mpc_cggmp_presign_free(R->st[i]);
        kg_mpc_cggmp_presig_free(R->ps[i]);
        R->st[i] = NULL;
        R->ps[i] = NULL;
    }
}

static void run_init(run *R, kg_mpc_group_id g, unsigned t, unsigned n, const uint16_t *signers, size_t ns)
{
    memset(R, 0, sizeof *R);
    R->g = g;
    assert_int_equal(kg_mpc_cggmp_dealer(g, t, n, NULL, R->shares), KG_OK);
    for (unsigned i = 0; i < n; i++) assert_int_equal(kg_mpc_cggmp_share_check(&R->shares[i]), KG_OK);
    R->ns = ns;
    memcpy(R->signers, signers, ns * sizeof *signers);
}

/* ------------------------------------------------------- independent checks */

static void check_secp256k1(const uint8_t sig[64], int recid, const uint8_t digest[32], const kg_mpc_point *pub)
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY | SECP256K1_CONTEXT_SIGN);
    secp256k1_ecdsa_signature s;
    secp256k1_pubkey pk, rec;
    assert_int_equal(secp256k1_ecdsa_signature_parse_compact(ctx, &s, sig), 1);
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, pub->b, 33), 1);
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &s, digest, &pk), 1); /* refuses high-S */
    assert_int_equal(secp256k1_ecdsa_signature_normalize(ctx, NULL, &s), 0); /* already low-S */
    secp256k1_ecdsa_recoverable_signature rs;
    assert_int_equal(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, recid), 1);
    assert_int_equal(secp256k1_ecdsa_recover(ctx, &rec, &rs, digest), 1);
    uint8_t a[33], b[33];
    size_t la = 33, lb = 33;
    assert_int_equal(secp256k1_ec_pubkey_serialize(ctx, a, &la, &pk, SECP256K1_EC_COMPRESSED), 1);
    assert_int_equal(secp256k1_ec_pubkey_serialize(ctx, b, &lb, &rec, SECP256K1_EC_COMPRESSED), 1);
    assert_memory_equal(a, b, 33);
    secp256k1_context_destroy(ctx);
}

static void check_p256(const uint8_t sig[64], const uint8_t digest[32], const kg_mpc_point *pub)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    assert_non_null(bld);
    assert_true(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0));
    assert_true(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub->b, 33));
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pk = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(fc), 1);
    assert_int_equal(EVP_PKEY_fromdata(fc, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    /* low-S: s <= q/2 */
    BIGNUM *q = BN_new(), *h = BN_new();
    assert_true(BN_hex2bn(&q, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"));
    assert_true(BN_rshift1(h, q));
    assert_true(BN_cmp(s, h) <= 0);
    BN_free(q);
    BN_free(h);
    assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(es, &der);
    assert_true(dl > 0);
    EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new(pk, NULL);
    assert_int_equal(EVP_PKEY_verify_init(vc), 1);
    assert_int_equal(EVP_PKEY_verify(vc, der, (size_t)dl, digest, 32), 1);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(vc);
    EVP_PKEY_CTX_free(fc);
    EVP_PKEY_free(pk);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
}

/* Sign digest with every presignature of R (tweak optional) and check. */
static void sign_and_check(run *R, const uint8_t digest[32], const kg_mpc_scalar *tweak)
{
    kg_mpc_scalar sig_i[NP];
    for (size_t i = 0; i < R->ns; i++) {
        double t0 = now();
        assert_int_equal(kg_mpc_cggmp_sign_share(R->ps[i], digest, tweak, &sig_i[i]), KG_OK);
        R->secs[i] = now() - t0;
        assert_true(kg_mpc_point_eq(R->g, kg_mpc_cggmp_presig_R(R->ps[i]), kg_mpc_cggmp_presig_R(R->ps[0])));
        assert_memory_equal(kg_mpc_cggmp_presig_id(R->ps[i]), kg_mpc_cggmp_presig_id(R->ps[0]), 32);
    }
    kg_mpc_point pub = R->shares[0].pub, tG;
    if (tweak) {
        kg_mpc_point_base_mul(R->g, &tG, tweak);
        kg_mpc_point_add(R->g, &pub, &pub, &tG);
    }
    uint8_t sig[64];
    int recid = -1;
    assert_int_equal(kg_mpc_cggmp_sign_combine(R->g, kg_mpc_cggmp_presig_R(R->ps[0]), &pub, digest, sig_i, R->ns, sig,
                                               &recid),
                     KG_OK);
    assert_true(recid >= 0 && recid <= 3);
    if (R->g == KG_MPC_GROUP_SECP256K1) check_secp256k1(sig, recid, digest, &pub);
    else check_p256(sig, digest, &pub);
}

static void digest_of(uint8_t d[32], const char *msg)
{
    kg_crypto_sha256(d, (const uint8_t *)msg, strlen(msg));
}

/* ------------------------------------------------------- identification */

/* The statement-level inputs of cggmp_blame.c for prover position j, from
 * anyone's blame inputs: D_in[k] = D_{j,k}, F_out[k] = F_{k,j}, k != j. */
static size_t blame_rows(const kg_mpc_cggmp_blame_inputs *bi, size_t j, bool hat, const BIGNUM **D_in,
                         const BIGNUM **F_out)
{
    size_t n = 0, ns = bi->ns;
    for (size_t k = 0; k < ns; k++) {
        if (k == j) continue;
        D_in[n] = (hat ? bi->Dh : bi->D)[j * ns + k];
        F_out[n] = (hat ? bi->Fh : bi->F)[k * ns + j];
        assert_non_null(D_in[n]);
        assert_non_null(F_out[n]);
        n++;
    }
    return n;
}

static void verifiers_of(const kg_mpc_rped **v, const uint16_t *signers, size_t ns)
{
    for (size_t k = 0; k < ns; k++) v[k] = &auxes[signers[k] - 1]->rsk.pub;
}

/* After a failed δ check: every party proves its δ_i; every honest party
 * checks every other's proof and names exactly the cheater. */
static void identify_delta(run *R, uint16_t cheater)
{
    kg_mpc_cggmp_blame_delta pr[NP];
    const kg_mpc_rped *ver[NP];
    verifiers_of(ver, R->signers, R->ns);
    memset(pr, 0, sizeof pr);
    for (size_t i = 0; i < R->ns; i++) {
        kg_mpc_cggmp_blame_inputs bi;
        const BIGNUM *Din[NP], *Fout[NP];
        assert_int_equal(kg_mpc_cggmp_presign_blame_inputs(R->st[i], &bi), KG_OK);
        size_t np = blame_rows(&bi, i, false, Din, Fout);
        kg_mpc_zk_ctx ctx = {.group = R->g, .sid = bi.sid, .sid_len = 64, .prover = R->signers[i]};
        assert_int_equal(kg_mpc_cggmp_blame_delta_prove(&pr[i], &ctx, ver, R->ns, &auxes[R->signers[i] - 1]->sk,
                                                        bi.K[i], bi.G[i], bi.gamma, bi.nu, Din, Fout, np,
                                                        &bi.delta[i]),
                         KG_OK);
    }
    for (size_t v = 0; v < R->ns; v++) {
        if (R->signers[v] == cheater) continue;
        kg_mpc_cggmp_blame_inputs bi;
        assert_int_equal(kg_mpc_cggmp_presign_blame_inputs(R->st[v], &bi), KG_OK);
        for (size_t j = 0; j < R->ns; j++) {
            if (j == v) continue;
            const BIGNUM *Din[NP], *Fout[NP];
            size_t np = blame_rows(&bi, j, false, Din, Fout);
            kg_mpc_zk_ctx ctx = {.group = R->g, .sid = bi.sid, .sid_len = 64, .prover = R->signers[j]};
            kg_err e = kg_mpc_cggmp_blame_delta_verify(&pr[j], &ctx, ver[v], v, &auxes[R->signers[j] - 1]->sk.pk,
                                                       bi.K[j], bi.G[j], Din, Fout, np, &bi.delta[j]);
            assert_int_equal(e, R->signers[j] == cheater ? KG_ERR_VERIFY : KG_OK);
        }
    }
    for (size_t i = 0; i < R->ns; i++) kg_mpc_cggmp_blame_delta_clear(&pr[i]);
}

/* After a failed combine: every signer proves its σ_i from its
 * presignature; the wrong one is named by every honest party. */
static void identify_sigma(run *R, const kg_mpc_scalar *sig_i, const uint8_t d[32], uint16_t cheater)
{
    kg_mpc_cggmp_blame_sigma pr[NP];
    const kg_mpc_rped *ver[NP];
    kg_mpc_scalar m, r;
    verifiers_of(ver, R->signers, R->ns);
    memset(pr, 0, sizeof pr);
    assert_int_equal(kg_mpc_cggmp_sign_scalars(R->g, kg_mpc_cggmp_presig_R(R->ps[0]), d, &m, &r), KG_OK);
    for (size_t i = 0; i < R->ns; i++) {
        kg_mpc_cggmp_blame_inputs bi;
        const BIGNUM *Din[NP], *Fout[NP];
        assert_int_equal(kg_mpc_cggmp_presig_blame_inputs(R->ps[i], &bi), KG_OK);
        size_t np = blame_rows(&bi, i, true, Din, Fout);
        kg_mpc_scalar own;
        assert_int_equal(kg_mpc_cggmp_sign_share(R->ps[i], d, NULL, &own), KG_OK);
        kg_mpc_zk_ctx ctx = {.group = R->g, .sid = bi.sid, .sid_len = 64, .prover = R->signers[i]};
        assert_int_equal(kg_mpc_cggmp_blame_sigma_prove(&pr[i], &ctx, ver, R->ns, &auxes[R->signers[i] - 1]->sk,
                                                        bi.K[i], &bi.W[i], bi.w, Din, Fout, np, d, &r, NULL, &own),
                         KG_OK);
    }
    for (size_t v = 0; v < R->ns; v++) {
        if (R->signers[v] == cheater) continue;
        kg_mpc_cggmp_blame_inputs bi;
        assert_int_equal(kg_mpc_cggmp_presig_blame_inputs(R->ps[v], &bi), KG_OK);
        for (size_t j = 0; j < R->ns; j++) {
            if (j == v) continue;
            const BIGNUM *Din[NP], *Fout[NP];
            size_t np = blame_rows(&bi, j, true, Din, Fout);
            kg_mpc_zk_ctx ctx = {.group = R->g, .sid = bi.sid, .sid_len = 64, .prover = R->signers[j]};
            kg_err e = kg_mpc_cggmp_blame_sigma_verify(&pr[j], &ctx, ver[v], v, &auxes[R->signers[j] - 1]->sk.pk,
                                                       bi.K[j], &bi.W[j], Din, Fout, np, d, &r, NULL, &sig_i[j]);
            assert_int_equal(e, R->signers[j] == cheater ? KG_ERR_VERIFY : KG_OK);
        }
    }
    for (size_t i = 0; i < R->ns; i++) kg_mpc_cggmp_blame_sigma_clear(&pr[i]);
}

/* ------------------------------------------------------------------ tests */

static void presign_sign(kg_mpc_group_id g, unsigned t, unsigned n, const uint16_t *set, size_t ns, bool tweaked)
{
    run R;
    run_init(&R, g, t, n, set, ns);
    run_presign(&R, NULL);
    assert_int_equal(R.fail_round, 0);
    uint8_t d[32];
    digest_of(d, "hello cggmp21");
    kg_mpc_scalar tw;
    assert_int_equal(kg_mpc_scalar_random(g, &tw), KG_OK);
    sign_and_check(&R, d, tweaked ? &tw : NULL);
    run_free(&R);
}

static void test_secp256k1_2of3(void **state)
{
    (void)state;
    static const uint16_t a[] = {1, 2}, b[] = {3, 1};
    presign_sign(KG_MPC_GROUP_SECP256K1, 2, 3, a, 2, false);
    presign_sign(KG_MPC_GROUP_SECP256K1, 2, 3, b, 2, true);
}

static void test_p256_2of3(void **state)
{
    (void)state;
    static const uint16_t a[] = {2, 3}, b[] = {1, 2, 3};
    presign_sign(KG_MPC_GROUP_P256, 2, 3, a, 2, false);
    presign_sign(KG_MPC_GROUP_P256, 2, 3, b, 3, true);
}

static void test_3of5(void **state)
{
    (void)state;
    static const uint16_t a[] = {1, 3, 5}, b[] = {2, 4, 5};
    presign_sign(KG_MPC_GROUP_SECP256K1, 3, 5, a, 3, false);
    presign_sign(KG_MPC_GROUP_P256, 3, 5, b, 3, true);
}

/* HD tweak, presignature round trip, reuse across signing sets, wrong σ. */
static void test_tweak_encode_mix(void **state)
{
    (void)state;
    static const uint16_t a[] = {1, 2}, b[] = {2, 3};
    run R, S;
    run_init(&R, KG_MPC_GROUP_SECP256K1, 2, 3, a, 2);
    run_presign(&R, NULL);
    assert_int_equal(R.fail_round, 0);
    /* encode/decode keeps everything the signature depends on */
    for (size_t i = 0; i < R.ns; i++) {
        kg_bytes enc = {0}, enc2 = {0};
        kg_mpc_cggmp_presig *back = NULL;
        assert_int_equal(kg_mpc_cggmp_presig_encode(&enc, R.ps[i]), KG_OK);
        assert_int_equal(kg_mpc_cggmp_presig_decode(&back, enc.data, enc.len), KG_OK);
        assert_int_equal(kg_mpc_cggmp_presig_encode(&enc2, back), KG_OK);
        assert_int_equal(enc.len, enc2.len);
        assert_memory_equal(enc.data, enc2.data, enc.len);
        /* malformed: truncated, trailing byte, bad version, tampered id */
        kg_mpc_cggmp_presig *bad = (kg_mpc_cggmp_presig *)1;
        assert_int_equal(kg_mpc_cggmp_presig_decode(&bad, enc.data, enc.len - 1), KG_ERR_BAD_INPUT);
        assert_null(bad);
        uint8_t *x = malloc(enc.len + 1);
        memcpy(x, enc.data, enc.len);
        x[enc.len] = 0;
        assert_int_equal(kg_mpc_cggmp_presig_decode(&bad, x, enc.len + 1), KG_ERR_BAD_INPUT);
        x[1] ^= 2;
        assert_int_equal(kg_mpc_cggmp_presig_decode(&bad, x, enc.len), KG_ERR_BAD_INPUT);
        x[1] ^= 2;
        x[10 + 2 * R.ns + 64] ^= 1; /* first byte of the id */
        assert_int_equal(kg_mpc_cggmp_presig_decode(&bad, x, enc.len), KG_ERR_BAD_INPUT);
        free(x);
        kg_bytes_free(&enc);
        kg_bytes_free(&enc2);
        kg_mpc_cggmp_presig_free(R.ps[i]);
        R.ps[i] = back;
    }
    uint8_t d[32];
    digest_of(d, "child key message");
    kg_mpc_scalar tw;
    kg_mpc_scalar_from_u64(R.g, &tw, 0x1234567890abcdefULL);
    sign_and_check(&R, d, &tw);

    /* a presignature of another signing set of the same key */
    run_init(&S, R.g, 2, 3, b, 2);
    memcpy(S.shares, R.shares, sizeof S.shares);
    run_presign(&S, NULL);
    assert_int_equal(S.fail_round, 0);
    kg_mpc_scalar mix[2];
    assert_int_equal(kg_mpc_cggmp_sign_share(R.ps[0], d, NULL, &mix[0]), KG_OK);
    assert_int_equal(kg_mpc_cggmp_sign_share(S.ps[1], d, NULL, &mix[1]), KG_OK);
    uint8_t sig[64];
    int rec;
    assert_int_equal(kg_mpc_cggmp_sign_combine(R.g, kg_mpc_cggmp_presig_R(R.ps[0]), &R.shares[0].pub, d, mix, 2, sig,
                                               &rec),
                     KG_ERR_VERIFY);
    assert_int_equal(kg_mpc_cggmp_sign_combine(R.g, kg_mpc_cggmp_presig_R(S.ps[0]), &R.shares[0].pub, d, mix, 2, sig,
                                               &rec),
                     KG_ERR_VERIFY);
    /* a wrong σ_i */
    kg_mpc_scalar good[2], one;
    assert_int_equal(kg_mpc_cggmp_sign_share(S.ps[0], d, NULL, &good[0]), KG_OK);
    assert_int_equal(kg_mpc_cggmp_sign_share(S.ps[1], d, NULL, &good[1]), KG_OK);
    assert_int_equal(kg_mpc_cggmp_sign_combine(S.g, kg_mpc_cggmp_presig_R(S.ps[0]), &S.shares[0].pub, d, good, 2, sig,
                                               &rec),
                     KG_OK);
    kg_mpc_scalar_from_u64(S.g, &one, 1);
    kg_mpc_scalar_add(S.g, &good[1], &good[1], &one);
    assert_int_equal(kg_mpc_cggmp_sign_combine(S.g, kg_mpc_cggmp_presig_R(S.ps[0]), &S.shares[0].pub, d, good, 2, sig,
                                               &rec),
                     KG_ERR_VERIFY);
    identify_sigma(&S, good, d, S.signers[1]);
    run_free(&R);
    run_free(&S);
}

/* A party tampering in one round is named by every honest party. */
static void cheat(int kind, kg_err want, int fail_round)
{
    static const uint16_t set[] = {1, 2, 3};
    run R;
    run_init(&R, KG_MPC_GROUP_SECP256K1, 3, 3, set, 3);
    tamper t = {.kind = kind, .who = 2};
    run_presign(&R, &t);
    assert_int_equal(R.fail_round, fail_round);
    for (size_t i = 0; i < R.ns; i++) {
        if (R.signers[i] == t.who) continue;
        assert_int_equal(R.err[i], want);
        if (want == KG_ERR_VERIFY && kind == T_DELTA) {
            assert_int_equal(R.culprit[i], 0); /* identification's job */
            kg_mpc_cggmp_blame_inputs bi;
            assert_int_equal(kg_mpc_cggmp_presign_blame_inputs(R.st[i], &bi), KG_OK);
            assert_non_null(bi.delta);
            assert_non_null(bi.D[(i == 0 ? 1 : 0) * 3 + i]);
        } else {
            assert_int_equal(R.culprit[i], t.who);
        }
        assert_null(R.ps[i]);
    }
    if (kind == T_DELTA) identify_delta(&R, t.who);
    run_free(&R);
}

static void test_cheat_enc(void **s) { (void)s; cheat(T_ENC, KG_ERR_VERIFY, 2); }
static void test_cheat_affg(void **s) { (void)s; cheat(T_AFFG, KG_ERR_VERIFY, 3); }
static void test_cheat_log2(void **s) { (void)s; cheat(T_LOG2, KG_ERR_VERIFY, 3); }
static void test_cheat_D(void **s) { (void)s; cheat(T_D, KG_ERR_VERIFY, 3); }
static void test_cheat_log3(void **s) { (void)s; cheat(T_LOG3, KG_ERR_VERIFY, 4); }
static void test_cheat_delta(void **s) { (void)s; cheat(T_DELTA, KG_ERR_VERIFY, 4); }

/* Missing, duplicate, misaddressed and malformed input is refused without
 * changing the state; the right input then completes the run. */
static void test_bad_messages_retry(void **state)
{
    (void)state;
    static const uint16_t set[] = {1, 2, 3};
    run R;
    run_init(&R, KG_MPC_GROUP_P256, 2, 3, set, 3);
    static const uint8_t session[] = "retry";
    kg_mpc_cggmp_msg *out[3] = {0}, *o2 = NULL, box[16];
    size_t n[3] = {0}, n2 = 0;
    uint16_t c = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(kg_mpc_cggmp_presign_new(&R.st[i], &R.shares[i], auxes[i], set, 3, session, sizeof session),
                         KG_OK);
        assert_int_equal(kg_mpc_cggmp_presign_round1(R.st[i], &out[i], &n[i]), KG_OK);
    }
    /* out of order */
    assert_int_equal(kg_mpc_cggmp_presign_round3(R.st[0], NULL, 0, &o2, &n2, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_presign_round1(R.st[0], &o2, &n2), KG_ERR_BAD_INPUT);
    size_t k = inbox(box, out, n, 3, 1, set);
    assert_int_equal(k, 4);
    /* missing */
    assert_int_equal(kg_mpc_cggmp_presign_round2(R.st[0], box, k - 1, &o2, &n2, &c), KG_ERR_BAD_INPUT);
    assert_null(o2);
    /* duplicate */
    box[k] = box[0];
    assert_int_equal(kg_mpc_cggmp_presign_round2(R.st[0], box, k + 1, &o2, &n2, &c), KG_ERR_BAD_INPUT);
    /* addressed to another party */
    kg_mpc_cggmp_msg saved = box[1];
    box[1].to = 3;
    assert_int_equal(kg_mpc_cggmp_presign_round2(R.st[0], box, k, &o2, &n2, &c), KG_ERR_BAD_INPUT);
    box[1] = saved;
    /* truncated body: names the sender */
    for (size_t i = 0; i < k; i++) {
        kg_mpc_cggmp_msg m = box[i];
        box[i].body.len--;
        c = 0;
        assert_int_equal(kg_mpc_cggmp_presign_round2(R.st[0], box, k, &o2, &n2, &c), KG_ERR_BAD_INPUT);
        assert_int_equal(c, m.from);
        box[i] = m;
    }
    /* garbage body */
    uint8_t junk[7] = {0, 0, 0, 3, 1, 2, 3};
    saved = box[0];
    box[0].body.data = junk;
    box[0].body.len = sizeof junk;
    assert_int_equal(kg_mpc_cggmp_presign_round2(R.st[0], box, k, &o2, &n2, &c), KG_ERR_BAD_INPUT);
    assert_int_equal(c, saved.from);
    box[0] = saved;
    assert_null(o2);
    assert_int_equal(n2, 0);
    msgs_free_all(out, n, 3);
    for (size_t i = 0; i < 3; i++) kg_mpc_cggmp_presign_free(R.st[i]);
    /* the full run still works after all that (a fresh run with the same
     * shares, driven by the normal path) */
    run_presign(&R, NULL);
    assert_int_equal(R.fail_round, 0);
    uint8_t d[32];
    digest_of(d, "after retry");
    sign_and_check(&R, d, NULL);
    run_free(&R);
}

/* Retry inside one run: round 2 refuses a broken list, accepts the right one. */
static void test_retry_same_state(void **state)
{
    (void)state;
    static const uint16_t set[] = {1, 3};
    kg_mpc_cggmp_share sh[3];
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 3, NULL, sh), KG_OK);
    kg_mpc_cggmp_presign *st[2] = {0};
    kg_mpc_cggmp_msg *out[2] = {0}, *o3[2] = {0}, box[8];
    size_t n[2] = {0}, n3[2] = {0};
    uint16_t c;
    static const uint8_t session[] = "retry-2";
    for (size_t i = 0; i < 2; i++) {
        uint16_t id = set[i];
        assert_int_equal(kg_mpc_cggmp_presign_new(&st[i], &sh[id - 1], auxes[id - 1], set, 2, session, sizeof session),
                         KG_OK);
        assert_int_equal(kg_mpc_cggmp_presign_round1(st[i], &out[i], &n[i]), KG_OK);
    }
    for (size_t i = 0; i < 2; i++) {
        size_t k = inbox(box, out, n, 2, set[i], set);
        assert_int_equal(kg_mpc_cggmp_presign_round2(st[i], box, k - 1, &o3[i], &n3[i], &c), KG_ERR_BAD_INPUT);
        assert_int_equal(kg_mpc_cggmp_presign_round2(st[i], box, k, &o3[i], &n3[i], &c), KG_OK);
    }
    msgs_free_all(out, n, 2);
    for (size_t i = 0; i < 2; i++) { out[i] = o3[i]; n[i] = n3[i]; o3[i] = NULL; n3[i] = 0; }
    for (size_t i = 0; i < 2; i++) {
        size_t k = inbox(box, out, n, 2, set[i], set);
        assert_int_equal(kg_mpc_cggmp_presign_round3(st[i], box, 0, &o3[i], &n3[i], &c), KG_ERR_BAD_INPUT);
        assert_int_equal(kg_mpc_cggmp_presign_round3(st[i], box, k, &o3[i], &n3[i], &c), KG_OK);
    }
    msgs_free_all(out, n, 2);
    kg_mpc_cggmp_presig *ps[2] = {0};
    for (size_t i = 0; i < 2; i++) {
        size_t k = inbox(box, o3, n3, 2, set[i], set);
        assert_int_equal(kg_mpc_cggmp_presign_finish(st[i], box, k - 1, &ps[i], &c), KG_ERR_BAD_INPUT);
        assert_int_equal(kg_mpc_cggmp_presign_finish(st[i], box, k, &ps[i], &c), KG_OK);
    }
    msgs_free_all(o3, n3, 2);
    uint8_t d[32], sig[64];
    int rec;
    digest_of(d, "same state");
    kg_mpc_scalar s[2];
    for (size_t i = 0; i < 2; i++) assert_int_equal(kg_mpc_cggmp_sign_share(ps[i], d, NULL, &s[i]), KG_OK);
    assert_int_equal(kg_mpc_cggmp_sign_combine(KG_MPC_GROUP_SECP256K1, kg_mpc_cggmp_presig_R(ps[0]), &sh[0].pub, d, s,
                                               2, sig, &rec),
                     KG_OK);
    check_secp256k1(sig, rec, d, &sh[0].pub);
    for (size_t i = 0; i < 2; i++) {
        kg_mpc_cggmp_presign_free(st[i]);
        kg_mpc_cggmp_presig_free(ps[i]);
    }
}

static void test_dealer_args(void **state)
{
    (void)state;
    kg_mpc_cggmp_share sh[3];
    kg_mpc_scalar x;
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 1, 3, NULL, sh), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 4, 3, NULL, sh), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_ED25519, 2, 3, NULL, sh), KG_ERR_BAD_INPUT);
    /* a given secret: pub = secret·G */
    kg_mpc_scalar_from_u64(KG_MPC_GROUP_P256, &x, 42);
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_P256, 2, 3, &x, sh), KG_OK);
    kg_mpc_point P;
    kg_mpc_point_base_mul(KG_MPC_GROUP_P256, &P, &x);
    for (int i = 0; i < 3; i++) {
        assert_true(kg_mpc_point_eq(KG_MPC_GROUP_P256, &P, &sh[i].pub));
        assert_int_equal(sh[i].id, i + 1);
        assert_int_equal(kg_mpc_cggmp_share_check(&sh[i]), KG_OK);
    }
    /* a signer outside the key, too few signers */
    static const uint16_t bad[] = {1, 9}, one[] = {1};
    kg_mpc_cggmp_presign *st = NULL;
    assert_int_equal(kg_mpc_cggmp_presign_new(&st, &sh[0], auxes[0], bad, 2, NULL, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_presign_new(&st, &sh[0], auxes[0], one, 1, NULL, 0), KG_ERR_BAD_INPUT);
    assert_null(st);
}

/* Per-party times at 2048-bit moduli (printed, not asserted). */
static void test_timing(void **state)
{
    (void)state;
    static const uint16_t set[] = {1, 2, 3};
    run R;
    run_init(&R, KG_MPC_GROUP_SECP256K1, 3, 3, set, 3);
    run_presign(&R, NULL);
    assert_int_equal(R.fail_round, 0);
    double pre[NP];
    memcpy(pre, R.secs, sizeof pre);
    uint8_t d[32];
    digest_of(d, "timing");
    sign_and_check(&R, d, NULL);
    for (size_t i = 0; i < R.ns; i++)
        printf("# cggmp 3-of-3 secp256k1, 2048-bit N: party %u presign %.3f s, sign share %.6f s\n", R.signers[i],
               pre[i], R.secs[i]);
    run_free(&R);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dealer_args),
        cmocka_unit_test(test_secp256k1_2of3),
        cmocka_unit_test(test_p256_2of3),
        cmocka_unit_test(test_3of5),
        cmocka_unit_test(test_tweak_encode_mix),
        cmocka_unit_test(test_cheat_enc),
        cmocka_unit_test(test_cheat_affg),
        cmocka_unit_test(test_cheat_log2),
        cmocka_unit_test(test_cheat_D),
        cmocka_unit_test(test_cheat_log3),
        cmocka_unit_test(test_cheat_delta),
        cmocka_unit_test(test_bad_messages_retry),
        cmocka_unit_test(test_retry_same_state),
        cmocka_unit_test(test_timing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
