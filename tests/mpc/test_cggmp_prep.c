/* Tests of the presign precomputation (cggmp_presign_prep.c and the split
 * provers _precommit / _prove_pre of zk_enc.c, zk_affg.c, zk_logstar.c),
 * every party in one process with dealt keys and aux info on the 1024-bit
 * fixture primes (2048-bit moduli).
 *
 * Completeness: presigns where every party, or only some, use a prep give
 * signatures that libsecp256k1 (secp256k1_ecdsa_verify) accepts, and the
 * split proofs verify with the unchanged verifiers. Single use: a prep is
 * refused the second time, a _pre the second time; a prep for another
 * signing set, party, key or aux info is refused and stays usable; a round
 * refused for a missing message consumes nothing and is retried.
 * Node: the background worker of node_cggmp_prep.c fills preps for a
 * (key, set) asked for or seen in the store's presignatures at start, from
 * the stored share and aux, up to the target, and keeps the aux it decoded
 * as a spare for START while the stored record is unchanged;
 * one taken starts a presign; a key at another epoch gets none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <secp256k1.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"
#include "../../src/mpc/cggmp_int.h"
#include "../../src/mpc/node_int.h"
#include "cggmp_fixture.h"

#define NP 3
static kg_mpc_cggmp_aux *auxes[NP], *other[NP]; /* other: the same ids on other primes */

static int setup(void **state)
{
    (void)state;
    if (kg_crypto_init() != KG_OK) return -1;
    BIGNUM *pr[4 * NP];
    for (unsigned i = 0; i < 4 * NP; i++)
        if (!(pr[i] = kg_fx_prime(1024, i))) return -1;
    uint16_t ids[NP] = {1, 2, 3};
    kg_err err = kg_mpc_cggmp_aux_dealer(auxes, ids, NP, pr);
    if (!err) err = kg_mpc_cggmp_aux_dealer(other, ids, NP, pr + 2 * NP);
    for (unsigned i = 0; i < 4 * NP; i++) kg_mpc_bn_free(pr[i]);
    return err ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < NP; i++) kg_mpc_cggmp_aux_free(auxes[i]), kg_mpc_cggmp_aux_free(other[i]);
    return 0;
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

/* A full presign of signers with st[] already made; ps[] gets the presignatures. */
static void presign_run(kg_mpc_cggmp_presign **st, const uint16_t *signers, size_t ns, kg_mpc_cggmp_presig **ps)
{
    kg_mpc_cggmp_msg *out[NP] = {0}, *nout[NP] = {0}, box[4 * NP];
    size_t n[NP] = {0}, nn[NP] = {0};
    for (size_t i = 0; i < ns; i++) assert_int_equal(kg_mpc_cggmp_presign_round1(st[i], &out[i], &n[i]), KG_OK);
    for (int round = 2; round <= 4; round++) {
        for (size_t i = 0; i < ns; i++) {
            size_t k = inbox(box, out, n, ns, signers[i], signers);
            uint16_t culprit = 0xffff;
            if (round < 4) { /* a missing message: refused, nothing consumed, the retry below works */
                kg_mpc_cggmp_msg *o = NULL;
                size_t no = 0;
                kg_err e = round == 2 ? kg_mpc_cggmp_presign_round2(st[i], box, k - 1, &o, &no, &culprit)
                                      : kg_mpc_cggmp_presign_round3(st[i], box, k - 1, &o, &no, &culprit);
                assert_int_equal(e, KG_ERR_BAD_INPUT);
                assert_null(o);
            }
            kg_err err = round == 2   ? kg_mpc_cggmp_presign_round2(st[i], box, k, &nout[i], &nn[i], &culprit)
                         : round == 3 ? kg_mpc_cggmp_presign_round3(st[i], box, k, &nout[i], &nn[i], &culprit)
                                      : kg_mpc_cggmp_presign_finish(st[i], box, k, &ps[i], &culprit);
            if (err) fprintf(stderr, "round %d party %u: %s\n", round, signers[i], kg_err_detail(err));
            assert_int_equal(err, KG_OK);
        }
        for (size_t i = 0; i < ns; i++) {
            kg_mpc_cggmp_msgs_free(out[i], n[i]);
            out[i] = nout[i], n[i] = nn[i], nout[i] = NULL, nn[i] = 0;
        }
    }
    for (size_t i = 0; i < ns; i++) kg_mpc_cggmp_msgs_free(out[i], n[i]);
}

/* Sign and check with libsecp256k1 (independent of our code). */
static void sign_check(kg_mpc_cggmp_presig **ps, size_t ns, const kg_mpc_point *pub)
{
    uint8_t digest[32], sig[64];
    kg_crypto_sha256(digest, (const uint8_t *)"prep", 4);
    kg_mpc_scalar s[NP];
    for (size_t i = 0; i < ns; i++) assert_int_equal(kg_mpc_cggmp_sign_share(ps[i], digest, NULL, &s[i]), KG_OK);
    int recid = -1;
    assert_int_equal(kg_mpc_cggmp_sign_combine(KG_MPC_GROUP_SECP256K1, kg_mpc_cggmp_presig_R(ps[0]), pub, digest, s, ns,
                                               sig, &recid),
                     KG_OK);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_VERIFY);
    secp256k1_ecdsa_signature es;
    secp256k1_pubkey pk;
    assert_int_equal(secp256k1_ecdsa_signature_parse_compact(ctx, &es, sig), 1);
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, pub->b, 33), 1);
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &es, digest, &pk), 1);
    secp256k1_context_destroy(ctx);
}

/* 2-of-3, signers {1, 3} or {1, 2, 3}; use[i]: signer i presigns from a prep. */
static void presign_with(const kg_mpc_cggmp_share *sh, const uint16_t *signers, size_t ns, const bool *use)
{
    kg_mpc_cggmp_presign *st[NP] = {0};
    kg_mpc_cggmp_presig *ps[NP] = {0};
    kg_mpc_cggmp_presign_prep *pp[NP] = {0};
    static const uint8_t session[] = "prep session";
    for (size_t i = 0; i < ns; i++) {
        uint16_t id = signers[i];
        if (!use[i]) {
            assert_int_equal(kg_mpc_cggmp_presign_new(&st[i], &sh[id - 1], auxes[id - 1], signers, ns, session,
                                                      sizeof session),
                             KG_OK);
            continue;
        }
        assert_int_equal(kg_mpc_cggmp_presign_prep_new(&pp[i], &sh[id - 1], auxes[id - 1], signers, ns), KG_OK);
        assert_true(kg_mpc_cggmp_presign_prep_usable(pp[i], signers, ns));
        assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st[i], &sh[id - 1], auxes[id - 1], signers, ns, session,
                                                       sizeof session, pp[i]),
                         KG_OK);
        /* consumed: a second use is refused and makes no state */
        kg_mpc_cggmp_presign *again = (kg_mpc_cggmp_presign *)1;
        assert_false(kg_mpc_cggmp_presign_prep_usable(pp[i], signers, ns));
        assert_int_equal(kg_mpc_cggmp_presign_new_prep(&again, &sh[id - 1], auxes[id - 1], signers, ns, session,
                                                       sizeof session, pp[i]),
                         KG_ERR_BAD_INPUT);
        assert_null(again);
    }
    presign_run(st, signers, ns, ps);
    sign_check(ps, ns, &sh[0].pub);
    for (size_t i = 0; i < ns; i++) {
        kg_mpc_cggmp_presign_free(st[i]);
        kg_mpc_cggmp_presig_free(ps[i]);
        kg_mpc_cggmp_presign_prep_free(pp[i]);
    }
}

static void test_prep_all(void **state)
{
    (void)state;
    kg_mpc_cggmp_share sh[NP];
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 3, NULL, sh), KG_OK);
    const uint16_t set[2] = {3, 1}; /* any order */
    const bool use[2] = {true, true};
    presign_with(sh, set, 2, use);
    kg_wipe(sh, sizeof sh);
}

static void test_prep_mixed(void **state)
{
    (void)state;
    kg_mpc_cggmp_share sh[NP];
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 3, NULL, sh), KG_OK);
    const uint16_t set[3] = {1, 2, 3};
    const bool use[3] = {true, false, true};
    presign_with(sh, set, 3, use);
    kg_wipe(sh, sizeof sh);
}

/* Another signing set, party, key or aux: refused, prep unchanged and still
 * usable for what it was made for. */
static void test_prep_refused(void **state)
{
    (void)state;
    kg_mpc_cggmp_share sh[NP], sh2[NP];
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 3, NULL, sh), KG_OK);
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 3, NULL, sh2), KG_OK);
    const uint16_t set[2] = {1, 2}, set2[2] = {1, 3}, set3[3] = {1, 2, 3};
    kg_mpc_cggmp_presign_prep *pp = NULL;
    kg_mpc_cggmp_presign *st = NULL;
    static const uint8_t ses[] = "s";
    assert_int_equal(kg_mpc_cggmp_presign_prep_new(&pp, &sh[0], auxes[0], set, 2), KG_OK);
    assert_false(kg_mpc_cggmp_presign_prep_usable(pp, set2, 2));
    assert_false(kg_mpc_cggmp_presign_prep_usable(pp, set3, 3));
    assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st, &sh[0], auxes[0], set2, 2, ses, 1, pp), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st, &sh[0], auxes[0], set3, 3, ses, 1, pp), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st, &sh[0], other[0], set, 2, ses, 1, pp), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st, &sh2[0], auxes[0], set, 2, ses, 1, pp), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st, &sh[1], auxes[1], set, 2, ses, 1, pp), KG_ERR_BAD_INPUT);
    kg_mpc_cggmp_share next = sh[0];
    next.epoch++; /* a refreshed key */
    assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st, &next, auxes[0], set, 2, ses, 1, pp), KG_ERR_BAD_INPUT);
    assert_null(st);
    assert_true(kg_mpc_cggmp_presign_prep_usable(pp, set, 2));
    assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st, &sh[0], auxes[0], set, 2, ses, 1, pp), KG_OK);
    kg_mpc_cggmp_presign_free(st);
    kg_mpc_cggmp_presign_prep_free(pp);
    /* bad sets are refused when making one */
    const uint16_t bad[2] = {2, 3}, dup[2] = {1, 1};
    assert_int_equal(kg_mpc_cggmp_presign_prep_new(&pp, &sh[0], auxes[0], bad, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_presign_prep_new(&pp, &sh[0], auxes[0], dup, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_presign_prep_new(&pp, &sh[0], auxes[1], set, 2), KG_ERR_BAD_INPUT);
    assert_null(pp);
    kg_wipe(sh, sizeof sh);
    kg_wipe(sh2, sizeof sh2);
}

/* The split provers: complete, single use, bound to their moduli. */
static void test_zk_split(void **state)
{
    (void)state;
    const kg_mpc_group_id g = KG_MPC_GROUP_SECP256K1;
    const kg_mpc_paillier_sk *sk = &auxes[0]->sk;
    const kg_mpc_paillier_pk *peer = &auxes[1]->pk[1];
    const kg_mpc_rped *aux = &auxes[1]->rp[1], *aux2 = &auxes[2]->rp[2];
    kg_mpc_zk_ctx ctx = {.group = g, .sid = (const uint8_t *)"sid", .sid_len = 3, .prover = 1};
    kg_mpc_scalar ks;
    assert_int_equal(kg_mpc_scalar_random(g, &ks), KG_OK);
    BIGNUM *k = kg_mpc_scalar_to_bn(g, &ks), *rho = kg_mpc_bn_secret_new(), *K = BN_new();
    assert_int_equal(kg_mpc_paillier_enc(&sk->pk, K, rho, k), KG_OK);
    /* Πenc */
    kg_mpc_zk_enc_pre ep;
    kg_mpc_zk_enc pf;
    assert_int_equal(kg_mpc_zk_enc_precommit(&ep, aux, &sk->pk, k), KG_OK);
    assert_int_equal(kg_mpc_zk_enc_prove_pre(&pf, &ep, &ctx, aux, &sk->pk, K, k, rho), KG_OK);
    assert_int_equal(kg_mpc_zk_enc_verify(&pf, &ctx, aux, &sk->pk, K), KG_OK);
    kg_mpc_zk_enc_clear(&pf);
    assert_null(ep.S);
    assert_int_equal(kg_mpc_zk_enc_prove_pre(&pf, &ep, &ctx, aux, &sk->pk, K, k, rho), KG_ERR_BAD_INPUT);
    assert_null(pf.z1);
    assert_int_equal(kg_mpc_zk_enc_precommit(&ep, aux, &sk->pk, k), KG_OK);
    assert_int_equal(kg_mpc_zk_enc_prove_pre(&pf, &ep, &ctx, aux2, &sk->pk, K, k, rho), KG_ERR_BAD_INPUT);
    assert_null(ep.alpha); /* wiped even when refused */
    /* Πlog* on base G (X = k·G) */
    kg_mpc_point X;
    kg_mpc_point_base_mul(g, &X, &ks);
    kg_mpc_zk_logstar_pre lp;
    kg_mpc_zk_logstar lf;
    assert_int_equal(kg_mpc_zk_logstar_precommit(&lp, aux, &sk->pk, k), KG_OK);
    assert_int_equal(kg_mpc_zk_logstar_prove_pre(&lf, &lp, &ctx, aux, &sk->pk, K, &X, NULL, k, rho), KG_OK);
    assert_int_equal(kg_mpc_zk_logstar_verify(&lf, &ctx, aux, &sk->pk, K, &X, NULL), KG_OK);
    kg_mpc_zk_logstar_clear(&lf);
    assert_int_equal(kg_mpc_zk_logstar_prove_pre(&lf, &lp, &ctx, aux, &sk->pk, K, &X, NULL, k, rho), KG_ERR_BAD_INPUT);
    /* Πaff-g: D = C^x·enc_peer(y; s) under the peer's key C = its K */
    BIGNUM *y = kg_mpc_bn_secret_new(), *s = kg_mpc_bn_secret_new(), *ry = kg_mpc_bn_secret_new();
    BIGNUM *C = BN_new(), *D = BN_new(), *Y = BN_new(), *t = BN_new();
    assert_int_equal(kg_mpc_bn_rand_pm(y, KG_CGGMP_ELL_PRIME, NULL), KG_OK);
    assert_int_equal(kg_mpc_paillier_enc(peer, C, NULL, k), KG_OK);
    assert_int_equal(kg_mpc_paillier_mul(peer, D, C, k, true), KG_OK);
    assert_int_equal(kg_mpc_paillier_enc(peer, t, s, y), KG_OK);
    assert_int_equal(kg_mpc_paillier_add(peer, D, D, t), KG_OK);
    assert_int_equal(kg_mpc_paillier_enc(&sk->pk, Y, ry, y), KG_OK);
    kg_mpc_zk_affg_pre ap;
    kg_mpc_zk_affg af;
    assert_int_equal(kg_mpc_zk_affg_precommit(&ap, g, aux, peer, &sk->pk, k, y), KG_OK);
    assert_int_equal(kg_mpc_zk_affg_prove_pre(&af, &ap, &ctx, aux, peer, &sk->pk, C, D, Y, &X, k, y, s, ry), KG_OK);
    assert_int_equal(kg_mpc_zk_affg_verify(&af, &ctx, aux, peer, &sk->pk, C, D, Y, &X), KG_OK);
    kg_mpc_zk_affg_clear(&af);
    assert_null(ap.A0);
    assert_int_equal(kg_mpc_zk_affg_prove_pre(&af, &ap, &ctx, aux, peer, &sk->pk, C, D, Y, &X, k, y, s, ry),
                     KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_zk_affg_precommit(&ap, g, aux, peer, &sk->pk, k, y), KG_OK);
    assert_int_equal(kg_mpc_zk_affg_prove_pre(&af, &ap, &ctx, aux, &sk->pk, &sk->pk, C, D, Y, &X, k, y, s, ry),
                     KG_ERR_BAD_INPUT);
    kg_mpc_zk_enc_clear(&pf);
    BIGNUM *all[] = {k, rho, K, y, s, ry, C, D, Y, t};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) kg_mpc_bn_free(all[i]);
}

/* A node with a store and seal key only (no network): enough for the worker. */
static void test_node_worker(void **state)
{
    (void)state;
    kg_mpc_nd nd;
    kg_mpc_node_config cfg;
    char dir[128], db[160];
    uint8_t k[32];
    memset(&nd, 0, sizeof nd);
    memset(&cfg, 0, sizeof cfg);
    snprintf(dir, sizeof dir, "/tmp/kg-test-cggmp-prep-%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(db, sizeof db, "%s/node.db", dir);
    cfg.id = 1;
    cfg.data_dir = dir;
    nd.cfg = &cfg;
    assert_int_equal(kg_store_open(&nd.st, db), KG_OK);
    assert_int_equal(kg_crypto_random(k, sizeof k), KG_OK);
    assert_non_null(nd.seal_key = kg_secret_from(k, sizeof k));
    kg_mpc_cggmp_share sh[NP];
    assert_int_equal(kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 3, NULL, sh), KG_OK);
    assert_int_equal(kg_mpc_nd_cg_share_save(&nd, NULL, "k1", &sh[0], true), KG_OK);
    assert_int_equal(kg_mpc_nd_cg_aux_save(&nd, NULL, "k1", auxes[0]), KG_OK);
    /* an unused presignature of the set {1, 2} in the store: the worker
     * starts on that set by itself (node start) */
    const uint16_t set[2] = {1, 2};
    kg_mpc_cggmp_presign *st = NULL;
    kg_mpc_cggmp_presign *sts[2] = {0};
    kg_mpc_cggmp_presig *ps[2] = {0};
    for (int i = 0; i < 2; i++)
        assert_int_equal(kg_mpc_cggmp_presign_new(&sts[i], &sh[i], auxes[i], set, 2, (const uint8_t *)"n", 1), KG_OK);
    presign_run(sts, set, 2, ps);
    assert_int_equal(kg_mpc_nd_cg_presig_save(&nd, NULL, "k1", ps[0]), KG_OK);
    for (int i = 0; i < 2; i++) kg_mpc_cggmp_presign_free(sts[i]), kg_mpc_cggmp_presig_free(ps[i]);
    assert_int_equal(kg_mpc_nd_cgprep_open(&nd), KG_OK);
    assert_non_null(nd.cgprep);
    for (int i = 0; i < 600 && kg_mpc_nd_cgprep_ready(&nd, "k1", set, 2) < KG_MPC_ND_CG_PREP_TARGET; i++)
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    assert_int_equal(kg_mpc_nd_cgprep_ready(&nd, "k1", set, 2), KG_MPC_ND_CG_PREP_TARGET);
    /* the spare decoded aux info: the stored one, taken once */
    kg_mpc_cggmp_aux *a = kg_mpc_nd_cgprep_aux(&nd, "k1", 0, set, 2);
    assert_non_null(a);
    assert_memory_equal(a->digest, auxes[0]->digest, sizeof a->digest);
    kg_mpc_cggmp_aux_free(a);
    assert_null(kg_mpc_nd_cgprep_aux(&nd, "k1", 0, set, 2));
    kg_mpc_cggmp_presign_prep *pp = kg_mpc_nd_cgprep_take(&nd, "k1", 0, set, 2);
    assert_non_null(pp);
    assert_int_equal(kg_mpc_cggmp_presign_new_prep(&st, &sh[0], auxes[0], set, 2, (const uint8_t *)"s", 1, pp), KG_OK);
    kg_mpc_cggmp_presign_free(st);
    kg_mpc_cggmp_presign_prep_free(pp);
    /* asked again (after a CONFIRM): refilled to the target */
    kg_mpc_nd_cgprep_want(&nd, "k1", 0, set, 2);
    for (int i = 0; i < 600 && kg_mpc_nd_cgprep_ready(&nd, "k1", set, 2) < KG_MPC_ND_CG_PREP_TARGET; i++)
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    assert_int_equal(kg_mpc_nd_cgprep_ready(&nd, "k1", set, 2), KG_MPC_ND_CG_PREP_TARGET);
    /* the aux record saved again (a new seal): the spare is stale, refused */
    assert_int_equal(kg_mpc_nd_cg_aux_save(&nd, NULL, "k1", auxes[0]), KG_OK);
    assert_null(kg_mpc_nd_cgprep_aux(&nd, "k1", 0, set, 2));
    /* asked for another epoch (a refresh): the old ones are wiped */
    assert_null(kg_mpc_nd_cgprep_take(&nd, "k1", 1, set, 2));
    assert_int_equal(kg_mpc_nd_cgprep_ready(&nd, "k1", set, 2), 0);
    /* a key at an epoch the store does not hold: the worker gives up, no prep */
    kg_mpc_nd_cgprep_want(&nd, "k1", 7, set, 2);
    nanosleep(&(struct timespec){0, 300000000}, NULL);
    assert_int_equal(kg_mpc_nd_cgprep_ready(&nd, "k1", set, 2), 0);
    kg_mpc_nd_cgprep_close(&nd);
    assert_null(nd.cgprep);
    kg_store_close(nd.st);
    kg_secret_free(nd.seal_key);
    kg_wipe(sh, sizeof sh);
    const char *files[] = {"node.db", "node.db-wal", "node.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zk_split),
        cmocka_unit_test(test_prep_refused),
        cmocka_unit_test(test_prep_all),
        cmocka_unit_test(test_prep_mixed),
        cmocka_unit_test(test_node_worker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
