/* BIP 445 FROST for BIP340 (frost-secp256k1-tr), src/mpc/frost_tr*.c.
 *
 * Every case of the six BIP 445 vector files (shared/vectors/frost/bip445,
 * layout in its test_vectors_summary.md): nonce_gen, nonce_agg,
 * sign_verify, tweak, det_sign and sig_agg, valid and error cases, with the
 * blamed contribution checked for InvalidContributionError and the BIP's
 * reference error text for ValueError. Every aggregated signature is
 * verified by libsecp256k1 (kg_crypto_k1_schnorr_verify). Then trusted-dealer
 * sessions (2-of-3 and 3-of-5, every signer subset) end to end, BIP32
 * (SLIP-10 / BIP32 test vector 1) and BIP341 key-path tweaks, deterministic
 * last signer, and bad inputs: tampered psigs blame the right signer, a
 * secnonce cannot be used twice. Counts are printed per vector file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>

#include <kashguard/base.h>
#include <kashguard/crypto.h>
#include <kashguard/mpc.h>

#define MAXU 8
#define DIR "frost/bip445/"

/* ------------------------------------------------------------ helpers */

static json_t *load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/" DIR "%s", KG_VECTORS_DIR, name);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (root == NULL)
        fail_msg("cannot load %s: %s (line %d)", path, e.text, e.line);
    return root;
}

/* Decode a hex string into out (at most cap bytes); returns the length. */
static size_t hexn(uint8_t *out, size_t cap, const char *hex)
{
    size_t len = 0;
    assert_non_null(hex);
    if (kg_hex_decode(out, cap, &len, hex) != KG_OK)
        fail_msg("bad hex '%s'", hex);
    return len;
}

static void hexx(uint8_t *out, size_t n, const json_t *v)
{
    const char *s = json_string_value(v);
    if (s == NULL || hexn(out, n, s) != n)
        fail_msg("expected %zu bytes of hex", n);
}

static void expect_hex(const uint8_t *got, size_t n, const json_t *v)
{
    uint8_t want[128];
    hexx(want, n, v);
    assert_memory_equal(got, want, n);
}

static size_t jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("field '%s' is not an integer", k);
    return (size_t)json_integer_value(v);
}

/* The error object of a case against what a call returned. */
static void expect_error(const json_t *c, kg_err err, const kg_mpc_frost_tr_blame *blame)
{
    const json_t *e = json_object_get(c, "error");
    const char *type = json_string_value(json_object_get(e, "type"));
    if (err == KG_OK)
        fail_msg("case %zu (%s) succeeded but must fail", jint(c, "tc_id"),
                 json_string_value(json_object_get(c, "comment")));
    assert_int_not_equal(err, KG_ERR_ARG);
    if (strcmp(type, "ValueError") == 0) {
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (blame != NULL && blame->contrib != KG_MPC_FROST_TR_BLAME_NONE)
            fail_msg("case %zu: blamed contribution %d, want a plain error '%s' (got '%s')", jint(c, "tc_id"),
                     (int)blame->contrib, msg, kg_err_detail(err));
        if (strstr(kg_err_detail(err), msg) == NULL)
            fail_msg("case %zu: error '%s', want '%s'", jint(c, "tc_id"), kg_err_detail(err), msg);
        return;
    }
    assert_string_equal(type, "InvalidContributionError");
    assert_non_null(blame);
    const char *contrib = json_string_value(json_object_get(e, "contrib"));
    kg_mpc_frost_tr_contrib want = strcmp(contrib, "pubnonce") == 0 ? KG_MPC_FROST_TR_BLAME_PUBNONCE
                                   : strcmp(contrib, "psig") == 0   ? KG_MPC_FROST_TR_BLAME_PSIG
                                   : strcmp(contrib, "aggnonce") == 0 ? KG_MPC_FROST_TR_BLAME_AGGNONCE
                                                                      : KG_MPC_FROST_TR_BLAME_AGGOTHERNONCE;
    assert_int_equal(blame->contrib, want);
    const json_t *si = json_object_get(e, "signer_index");
    if (json_is_null(si))
        assert_true(blame->signer_index == KG_MPC_FROST_TR_NO_SIGNER);
    else
        assert_int_equal(blame->signer_index, (size_t)json_integer_value(si));
}

/* One test group's shared inputs and one case's signer set. */
typedef struct {
    const json_t *g;
    kg_mpc_frost_tr_signers s;
    uint32_t ids[MAXU];
    uint8_t pubshares[MAXU][33];
    uint8_t pubnonces[MAXU][66];
    size_t n_pubnonces;
    uint8_t tweaks[MAXU][32];
    bool is_xonly[MAXU];
    kg_mpc_frost_tr_session sess;
    uint8_t msg[64];
} tcase;

/* Entry idx of the group's shared array name, decoded to n bytes. */
static void shared(uint8_t *out, size_t n, const json_t *g, const char *name, size_t idx)
{
    const json_t *arr = json_object_get(g, name);
    assert_true(idx < json_array_size(arr));
    hexx(out, n, json_array_get(arr, idx));
}

/* Build the signers context, pubnonces, tweaks and message of case c.
 * Returns KG_OK, or the library's error when a tweak is not 32 bytes. */
static kg_err build(tcase *tc, const json_t *g, const json_t *c)
{
    memset(tc, 0, sizeof *tc);
    tc->g = g;
    tc->s.n = (uint32_t)jint(g, "n");
    tc->s.t = (uint32_t)jint(g, "t");
    hexx(tc->s.thresh_pk, 33, json_object_get(g, "thresh_pk"));
    const json_t *ids = json_object_get(c, "ids"), *psi = json_object_get(c, "pubshare_indices");
    const json_t *pni = json_object_get(c, "pubnonce_indices");
    tc->s.u = json_array_size(ids);
    assert_true(tc->s.u <= MAXU && json_array_size(psi) == tc->s.u);
    for (size_t i = 0; i < tc->s.u; i++) {
        tc->ids[i] = (uint32_t)json_integer_value(json_array_get(ids, i));
        shared(tc->pubshares[i], 33, g, "pubshares", (size_t)json_integer_value(json_array_get(psi, i)));
    }
    tc->n_pubnonces = json_array_size(pni);
    for (size_t i = 0; i < tc->n_pubnonces; i++)
        shared(tc->pubnonces[i], 66, g, "pubnonces", (size_t)json_integer_value(json_array_get(pni, i)));
    tc->s.ids = tc->ids;
    tc->s.pubshares = (const uint8_t (*)[33])tc->pubshares;
    tc->sess.signers = &tc->s;
    tc->sess.msg = tc->msg;
    tc->sess.msg_len = hexn(tc->msg, sizeof tc->msg, json_string_value(json_object_get(c, "msg")));
    /* Tweaks: shared by index (tweak, sig_agg) or inline (det_sign). */
    const json_t *ti = json_object_get(c, "tweak_indices"), *tw = json_object_get(c, "tweaks");
    const json_t *xo = json_object_get(c, "is_xonly");
    size_t nt = ti != NULL ? json_array_size(ti) : json_array_size(tw);
    assert_true(nt <= MAXU && json_array_size(xo) <= MAXU);
    for (size_t i = 0; i < nt; i++) {
        const json_t *v = ti != NULL ? json_array_get(json_object_get(g, "tweaks"),
                                                      (size_t)json_integer_value(json_array_get(ti, i)))
                                     : json_array_get(tw, i);
        uint8_t raw[64];
        size_t len = hexn(raw, sizeof raw, json_string_value(v));
        if (len != 32) /* the C API takes 32-byte tweaks; the decoder rejects others */
            return kg_mpc_frost_tr_tweak_parse(tc->tweaks[i], raw, len);
        memcpy(tc->tweaks[i], raw, 32); /* range is checked by the session */
    }
    for (size_t i = 0; i < json_array_size(xo); i++)
        tc->is_xonly[i] = json_is_true(json_array_get(xo, i));
    tc->sess.tweaks = (const uint8_t (*)[32])tc->tweaks;
    tc->sess.n_tweaks = nt;
    tc->sess.is_xonly = tc->is_xonly;
    tc->sess.n_is_xonly = json_array_size(xo);
    return KG_OK;
}

/* Verify a final signature with libsecp256k1 against the session's key. */
static void check_bip340(const uint8_t sig[64], const kg_mpc_frost_tr_session *sess)
{
    uint8_t xonly[32];
    assert_int_equal(kg_mpc_frost_tr_session_xonly(xonly, sess), KG_OK);
    assert_int_equal(kg_crypto_k1_schnorr_verify(sig, sess->msg, sess->msg_len, xonly), KG_OK);
}

/* ------------------------------------------------------ nonce_gen / agg */

static void test_nonce_gen_vectors(void **state)
{
    (void)state;
    json_t *root = load("nonce_gen_vectors.json");
    const json_t *cases = json_object_get(root, "valid_tests");
    size_t i, ok = 0;
    const json_t *c;
    json_array_foreach(cases, i, c) {
        uint8_t rand[32], sk[32], pk[33], xo[32], msg[64], extra[64], sec[64], pub[66];
        size_t msg_len = 0, extra_len = 0;
        hexx(rand, 32, json_object_get(c, "rand"));
        const json_t *jsk = json_object_get(c, "secshare"), *jpk = json_object_get(c, "pubshare");
        const json_t *jxo = json_object_get(c, "thresh_pk_xonly"), *jm = json_object_get(c, "msg");
        const json_t *je = json_object_get(c, "extra_in");
        if (!json_is_null(jsk))
            hexx(sk, 32, jsk);
        if (!json_is_null(jpk))
            hexx(pk, 33, jpk);
        if (!json_is_null(jxo))
            hexx(xo, 32, jxo);
        if (!json_is_null(jm))
            msg_len = hexn(msg, sizeof msg, json_string_value(jm));
        if (!json_is_null(je))
            extra_len = hexn(extra, sizeof extra, json_string_value(je));
        assert_int_equal(kg_mpc_frost_tr_nonce_gen_internal(
                             sec, pub, rand, json_is_null(jsk) ? NULL : sk, json_is_null(jpk) ? NULL : pk,
                             json_is_null(jxo) ? NULL : xo, json_is_null(jm) ? NULL : msg, msg_len,
                             json_is_null(je) ? NULL : extra, extra_len),
                         KG_OK);
        expect_hex(sec, 64, json_array_get(json_object_get(c, "expected"), 0));
        expect_hex(pub, 66, json_array_get(json_object_get(c, "expected"), 1));
        ok++;
    }
    printf("nonce_gen_vectors.json: %zu valid passed\n", ok);
    json_decref(root);
}

static void test_nonce_agg_vectors(void **state)
{
    (void)state;
    json_t *root = load("nonce_agg_vectors.json");
    const json_t *pool = json_object_get(root, "pubnonces");
    size_t counts[2] = {0, 0};
    const char *kinds[2] = {"valid_tests", "error_tests"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(root, kinds[k]), i, c) {
            const json_t *idx = json_object_get(c, "pubnonce_indices");
            uint8_t pn[MAXU][66], agg[66];
            size_t u = json_array_size(idx);
            for (size_t j = 0; j < u; j++)
                hexx(pn[j], 66, json_array_get(pool, (size_t)json_integer_value(json_array_get(idx, j))));
            kg_mpc_frost_tr_blame blame;
            kg_err err = kg_mpc_frost_tr_nonce_agg(agg, &blame, (const uint8_t (*)[66])pn, u);
            if (k == 0) {
                assert_int_equal(err, KG_OK);
                expect_hex(agg, 66, json_object_get(c, "expected"));
                assert_int_equal(kg_mpc_frost_tr_aggnonce_check(agg, 66), KG_OK);
            } else {
                expect_error(c, err, &blame);
                assert_int_not_equal(kg_mpc_frost_tr_pubnonce_check(pn[blame.signer_index], 66), KG_OK);
            }
            counts[k]++;
        }
    }
    printf("nonce_agg_vectors.json: %zu valid, %zu error passed\n", counts[0], counts[1]);
    json_decref(root);
}

/* ---------------------------------------------------------- sign/verify */

/* Sign case c of group g; returns the error and fills psig. */
static kg_err run_sign(uint8_t psig[32], kg_mpc_frost_tr_blame *blame, tcase *tc, const json_t *c)
{
    uint8_t sk[32], sn[64], agg[66];
    shared(sk, 32, tc->g, "secshares", jint(c, "secshare_index"));
    shared(sn, 64, tc->g, "secnonces", jint(c, "secnonce_index"));
    hexx(agg, 66, json_object_get(c, "aggnonce"));
    kg_err err = kg_mpc_frost_tr_sign(psig, blame, sn, sk, (uint32_t)jint(c, "my_id"), &tc->sess, agg);
    uint8_t zero[64] = {0};
    assert_memory_equal(sn, zero, 64); /* wiped on every path */
    return err;
}

static void sign_verify_group(const json_t *g, size_t counts[4])
{
    size_t i;
    const json_t *c;
    tcase tc;
    json_array_foreach(json_object_get(g, "valid_tests"), i, c) {
        uint8_t psig[32], agg[66], aggv[66];
        kg_mpc_frost_tr_blame blame;
        assert_int_equal(build(&tc, g, c), KG_OK);
        assert_int_equal(run_sign(psig, &blame, &tc, c), KG_OK);
        expect_hex(psig, 32, json_object_get(c, "expected"));
        /* The case's aggnonce is NonceAgg of its pubnonces, and the psig verifies. */
        hexx(agg, 66, json_object_get(c, "aggnonce"));
        assert_int_equal(kg_mpc_frost_tr_nonce_agg(aggv, NULL, (const uint8_t (*)[66])tc.pubnonces,
                                                   tc.n_pubnonces), KG_OK);
        assert_memory_equal(agg, aggv, 66);
        size_t me = 0;
        while (tc.ids[me] != jint(c, "my_id"))
            me++;
        assert_int_equal(kg_mpc_frost_tr_partial_sig_verify(&blame, psig, (const uint8_t (*)[66])tc.pubnonces,
                                                            tc.n_pubnonces, &tc.sess, me), KG_OK);
        counts[0]++;
    }
    json_array_foreach(json_object_get(g, "sign_error_tests"), i, c) {
        uint8_t psig[32], zero[32] = {0};
        kg_mpc_frost_tr_blame blame;
        assert_int_equal(build(&tc, g, c), KG_OK);
        expect_error(c, run_sign(psig, &blame, &tc, c), &blame);
        assert_memory_equal(psig, zero, 32);
        counts[1]++;
    }
    const char *kinds[2] = {"verify_fail_tests", "verify_error_tests"};
    for (int k = 0; k < 2; k++) {
        json_array_foreach(json_object_get(g, kinds[k]), i, c) {
            uint8_t psig[32];
            kg_mpc_frost_tr_blame blame;
            assert_int_equal(build(&tc, g, c), KG_OK);
            hexx(psig, 32, json_object_get(c, "psig"));
            size_t si = jint(c, "signer_index");
            kg_err err = kg_mpc_frost_tr_partial_sig_verify(&blame, psig, (const uint8_t (*)[66])tc.pubnonces,
                                                            tc.n_pubnonces, &tc.sess, si);
            if (k == 0) {
                assert_int_equal(err, KG_ERR_VERIFY);
                assert_int_equal(blame.contrib, KG_MPC_FROST_TR_BLAME_PSIG);
                assert_int_equal(blame.signer_index, si);
            } else {
                assert_int_not_equal(err, KG_ERR_VERIFY);
                expect_error(c, err, &blame);
            }
            counts[2 + k]++;
        }
    }
}

static void test_sign_verify_vectors(void **state)
{
    (void)state;
    json_t *root = load("sign_verify_vectors.json");
    size_t counts[4] = {0}, i;
    const json_t *g;
    json_array_foreach(json_object_get(root, "test_groups"), i, g)
        sign_verify_group(g, counts);
    printf("sign_verify_vectors.json: %zu valid, %zu sign_error, %zu verify_fail, %zu verify_error passed\n",
           counts[0], counts[1], counts[2], counts[3]);
    json_decref(root);
}

static void test_tweak_vectors(void **state)
{
    (void)state;
    json_t *root = load("tweak_vectors.json");
    size_t counts[2] = {0}, i, j;
    const json_t *g, *c;
    tcase tc;
    json_array_foreach(json_object_get(root, "test_groups"), i, g) {
        json_array_foreach(json_object_get(g, "valid_tests"), j, c) {
            uint8_t psig[32];
            kg_mpc_frost_tr_blame blame;
            assert_int_equal(build(&tc, g, c), KG_OK);
            assert_int_equal(run_sign(psig, &blame, &tc, c), KG_OK);
            expect_hex(psig, 32, json_object_get(c, "expected"));
            size_t me = 0;
            while (tc.ids[me] != jint(c, "my_id"))
                me++;
            assert_int_equal(kg_mpc_frost_tr_partial_sig_verify(&blame, psig, (const uint8_t (*)[66])tc.pubnonces,
                                                                tc.n_pubnonces, &tc.sess, me), KG_OK);
            counts[0]++;
        }
        json_array_foreach(json_object_get(g, "error_tests"), j, c) {
            uint8_t psig[32];
            kg_mpc_frost_tr_blame blame = {KG_MPC_FROST_TR_BLAME_NONE, KG_MPC_FROST_TR_NO_SIGNER};
            kg_err err = build(&tc, g, c);
            if (err == KG_OK)
                err = run_sign(psig, &blame, &tc, c);
            expect_error(c, err, &blame);
            counts[1]++;
        }
    }
    printf("tweak_vectors.json: %zu valid, %zu error passed\n", counts[0], counts[1]);
    json_decref(root);
}

static kg_err run_det(uint8_t pub[66], uint8_t psig[32], kg_mpc_frost_tr_blame *blame, tcase *tc, const json_t *c)
{
    uint8_t sk[32], other[66], aux[32];
    const json_t *jo = json_object_get(c, "aggothernonce"), *ja = json_object_get(c, "aux_rand");
    shared(sk, 32, tc->g, "secshares", jint(c, "secshare_index"));
    if (!json_is_null(jo))
        hexx(other, 66, jo);
    if (!json_is_null(ja))
        hexx(aux, 32, ja);
    return kg_mpc_frost_tr_sign_deterministic(pub, psig, blame, sk, (uint32_t)jint(c, "my_id"), &tc->sess,
                                              json_is_null(jo) ? NULL : other, json_is_null(ja) ? NULL : aux);
}

static void test_det_sign_vectors(void **state)
{
    (void)state;
    json_t *root = load("det_sign_vectors.json");
    size_t counts[3] = {0}, i, j;
    const json_t *g, *c;
    tcase tc;
    json_array_foreach(json_object_get(root, "test_groups"), i, g) {
        json_array_foreach(json_object_get(g, "valid_tests"), j, c) {
            uint8_t pub[66], psig[32];
            kg_mpc_frost_tr_blame blame;
            assert_int_equal(build(&tc, g, c), KG_OK);
            assert_int_equal(run_det(pub, psig, &blame, &tc, c), KG_OK);
            expect_hex(pub, 66, json_array_get(json_object_get(c, "expected"), 0));
            expect_hex(psig, 32, json_array_get(json_object_get(c, "expected"), 1));
            if (tc.s.u == 1) { /* a sole signer's psig is the whole signature */
                uint8_t sig[64];
                assert_int_equal(kg_mpc_frost_tr_partial_sig_agg(sig, &blame, (const uint8_t (*)[32])psig, 1,
                                                                 &tc.sess, pub), KG_OK);
                check_bip340(sig, &tc.sess);
                counts[2]++;
            }
            counts[0]++;
        }
        json_array_foreach(json_object_get(g, "error_tests"), j, c) {
            uint8_t pub[66], psig[32], zero[66] = {0};
            kg_mpc_frost_tr_blame blame;
            assert_int_equal(build(&tc, g, c), KG_OK);
            expect_error(c, run_det(pub, psig, &blame, &tc, c), &blame);
            assert_memory_equal(pub, zero, 66);
            assert_memory_equal(psig, zero, 32);
            counts[1]++;
        }
    }
    printf("det_sign_vectors.json: %zu valid (%zu sole-signer signatures verified by libsecp256k1), "
           "%zu error passed\n", counts[0], counts[2], counts[1]);
    json_decref(root);
}

static void test_sig_agg_vectors(void **state)
{
    (void)state;
    json_t *root = load("sig_agg_vectors.json");
    size_t counts[2] = {0}, i, j;
    const json_t *g, *c;
    tcase tc;
    json_array_foreach(json_object_get(root, "test_groups"), i, g) {
        const char *kinds[2] = {"valid_tests", "error_tests"};
        for (int k = 0; k < 2; k++) {
            json_array_foreach(json_object_get(g, kinds[k]), j, c) {
                uint8_t agg[66], psigs[MAXU][32], sig[64];
                kg_mpc_frost_tr_blame blame;
                assert_int_equal(build(&tc, g, c), KG_OK);
                hexx(agg, 66, json_object_get(c, "aggnonce"));
                const json_t *jp = json_object_get(c, "psigs");
                size_t np = json_array_size(jp);
                for (size_t p = 0; p < np; p++)
                    hexx(psigs[p], 32, json_array_get(jp, p));
                kg_err err = kg_mpc_frost_tr_partial_sig_agg(sig, &blame, (const uint8_t (*)[32])psigs, np,
                                                             &tc.sess, agg);
                if (k == 0) {
                    assert_int_equal(err, KG_OK);
                    expect_hex(sig, 64, json_object_get(c, "expected"));
                    check_bip340(sig, &tc.sess);
                } else {
                    expect_error(c, err, &blame);
                }
                counts[k]++;
            }
        }
    }
    printf("sig_agg_vectors.json: %zu valid (each verified by libsecp256k1), %zu error passed\n",
           counts[0], counts[1]);
    json_decref(root);
}

/* ------------------------------------------------- trusted dealer, e2e */

/* A trusted dealer (RFC 9591 Appendix C shape, BIP 445 identifiers): a
 * random polynomial f of degree t-1 with f(0) = secret (or a given one);
 * participant id gets f(id + 1). Our own polynomial, in OpenSSL BIGNUM. */
typedef struct {
    uint32_t n, t;
    uint8_t secret[32];
    uint8_t shares[MAXU][32];
    uint8_t pubshares[MAXU][33];
    uint8_t thresh_pk[33];
} dealer;

static void rand_scalar(uint8_t out[32])
{
    do
        assert_int_equal(kg_crypto_random(out, 32), KG_OK);
    while (!kg_crypto_k1_seckey_valid(out));
}

static void deal(dealer *d, uint32_t n, uint32_t t, const uint8_t *secret)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->t = t;
    if (secret != NULL)
        memcpy(d->secret, secret, 32);
    else
        rand_scalar(d->secret);
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *order = BN_new(), *coef[MAXU], *acc = BN_new(), *x = BN_new();
    assert_non_null(bc);
    assert_non_null(BN_hex2bn(&order, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"));
    for (uint32_t k = 0; k < t; k++) {
        uint8_t c[32];
        if (k == 0)
            memcpy(c, d->secret, 32);
        else
            rand_scalar(c);
        coef[k] = BN_bin2bn(c, 32, NULL);
    }
    for (uint32_t id = 0; id < n; id++) {
        /* Horner: f(x) = c0 + x(c1 + x(c2 + ...)), x = id + 1. */
        BN_zero(acc);
        assert_true(BN_set_word(x, id + 1));
        for (uint32_t k = t; k-- > 0;) {
            assert_true(BN_mod_mul(acc, acc, x, order, bc));
            assert_true(BN_mod_add(acc, acc, coef[k], order, bc));
        }
        assert_int_equal(BN_bn2binpad(acc, d->shares[id], 32), 32);
        assert_int_equal(kg_crypto_k1_pubkey(d->pubshares[id], 33, d->shares[id]), KG_OK);
    }
    assert_int_equal(kg_crypto_k1_pubkey(d->thresh_pk, 33, d->secret), KG_OK);
    for (uint32_t k = 0; k < t; k++)
        BN_clear_free(coef[k]);
    BN_free(order);
    BN_clear_free(acc);
    BN_free(x);
    BN_CTX_free(bc);
}

/* One full session for the signer subset ids[u] of d: NonceGen with every
 * optional argument, NonceAgg, Sign, PartialSigVerify of each, Agg. The
 * last signer signs deterministically when det is set. Returns the
 * signature in sig (already checked with libsecp256k1). */
static void session_run(uint8_t sig[64], const dealer *d, const uint32_t *ids, size_t u,
                        const uint8_t (*tweaks)[32], const bool *is_xonly, size_t n_tweaks,
                        const uint8_t *msg, size_t msg_len, bool det)
{
    kg_mpc_frost_tr_signers s = {.n = d->n, .t = d->t, .u = u, .ids = ids};
    uint8_t pubshares[MAXU][33], secn[MAXU][64], pubn[MAXU][66], psigs[MAXU][32], agg[66], xonly[32];
    for (size_t i = 0; i < u; i++)
        memcpy(pubshares[i], d->pubshares[ids[i]], 33);
    s.pubshares = (const uint8_t (*)[33])pubshares;
    memcpy(s.thresh_pk, d->thresh_pk, 33);
    assert_int_equal(kg_mpc_frost_tr_signers_validate(&s), KG_OK);
    kg_mpc_frost_tr_session sess = {.signers = &s, .tweaks = tweaks, .n_tweaks = n_tweaks,
                                    .is_xonly = is_xonly, .n_is_xonly = n_tweaks, .msg = msg, .msg_len = msg_len};
    assert_int_equal(kg_mpc_frost_tr_session_xonly(xonly, &sess), KG_OK);
    size_t last = det ? u - 1 : u;
    uint8_t extra[8] = {'s', 'e', 's', 's', 'i', 'o', 'n', (uint8_t)u};
    for (size_t i = 0; i < last; i++)
        assert_int_equal(kg_mpc_frost_tr_nonce_gen(secn[i], pubn[i], d->shares[ids[i]], pubshares[i], xonly,
                                                   msg, msg_len, extra, sizeof extra), KG_OK);
    kg_mpc_frost_tr_blame blame;
    if (det) { /* the last signer sees the others' aggregate first */
        uint8_t other[66];
        if (last > 0)
            assert_int_equal(kg_mpc_frost_tr_nonce_agg(other, &blame, (const uint8_t (*)[66])pubn, last), KG_OK);
        assert_int_equal(kg_mpc_frost_tr_sign_deterministic(pubn[last], psigs[last], &blame, d->shares[ids[last]],
                                                            ids[last], &sess, last > 0 ? other : NULL, NULL),
                         KG_OK);
    }
    assert_int_equal(kg_mpc_frost_tr_nonce_agg(agg, &blame, (const uint8_t (*)[66])pubn, u), KG_OK);
    for (size_t i = 0; i < last; i++)
        assert_int_equal(kg_mpc_frost_tr_sign(psigs[i], &blame, secn[i], d->shares[ids[i]], ids[i], &sess, agg),
                         KG_OK);
    for (size_t i = 0; i < u; i++)
        assert_int_equal(kg_mpc_frost_tr_partial_sig_verify(&blame, psigs[i], (const uint8_t (*)[66])pubn, u,
                                                            &sess, i), KG_OK);
    assert_int_equal(kg_mpc_frost_tr_partial_sig_agg(sig, &blame, (const uint8_t (*)[32])psigs, u, &sess, agg),
                     KG_OK);
    assert_int_equal(kg_crypto_k1_schnorr_verify(sig, msg, msg_len, xonly), KG_OK);
}

/* Every signer subset of size >= t of an n-participant group, no tweaks,
 * random and deterministic last signer alternately. */
static size_t all_subsets(const dealer *d, const uint8_t msg[32])
{
    size_t sessions = 0;
    for (uint32_t mask = 1; mask < (1u << d->n); mask++) {
        uint32_t ids[MAXU];
        size_t u = 0;
        for (uint32_t i = 0; i < d->n; i++)
            if (mask & (1u << i))
                ids[u++] = i;
        if (u < d->t)
            continue;
        uint8_t sig[64];
        session_run(sig, d, ids, u, NULL, NULL, 0, msg, 32, (mask & 1) != 0);
        sessions++;
    }
    return sessions;
}

static void test_dealer_end_to_end(void **state)
{
    (void)state;
    static const uint32_t cfg[2][2] = {{2, 3}, {3, 5}};
    uint8_t msg[32];
    assert_int_equal(kg_crypto_random(msg, sizeof msg), KG_OK);
    for (int c = 0; c < 2; c++) {
        dealer d;
        deal(&d, cfg[c][1], cfg[c][0], NULL);
        uint8_t derived[33];
        uint32_t ids[MAXU];
        for (uint32_t i = 0; i < d.n; i++)
            ids[i] = i;
        assert_int_equal(kg_mpc_frost_tr_thresh_pk_derive(derived, d.n, ids, (const uint8_t (*)[33])d.pubshares,
                                                          d.t), KG_OK);
        assert_memory_equal(derived, d.thresh_pk, 33);
        size_t sessions = all_subsets(&d, msg);
        /* Taproot key path: Q = P + hash_TapTweak(P)G from the x-only key,
         * checked against the crypto layer's BIP341 code, then signed. */
        kg_mpc_frost_tr_tweak_ctx tc;
        uint8_t tweak[32], out_xonly[32], want_xonly[32], plain[33], sig[64];
        int parity = -1;
        assert_int_equal(kg_mpc_frost_tr_tweak_init(&tc, d.thresh_pk), KG_OK);
        assert_int_equal(kg_mpc_frost_tr_tweak_taproot(tweak, &tc, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_tr_tweak_apply(&tc, tweak, true), KG_OK);
        kg_mpc_frost_tr_tweak_xonly(out_xonly, &tc);
        kg_mpc_frost_tr_tweak_plain(plain, &tc);
        assert_int_equal(kg_crypto_k1_taproot_output(want_xonly, &parity, d.thresh_pk + 1, NULL), KG_OK);
        assert_memory_equal(out_xonly, want_xonly, 32);
        assert_int_equal(plain[0] & 1, parity);
        bool xo = true;
        session_run(sig, &d, ids, d.t, (const uint8_t (*)[32])tweak, &xo, 1, msg, 32, false);
        assert_int_equal(kg_crypto_k1_schnorr_verify(sig, msg, 32, want_xonly), KG_OK);
        /* The same with a script tree commitment (any 32-byte merkle root). */
        uint8_t root[32];
        memset(root, 0x5a, sizeof root);
        assert_int_equal(kg_mpc_frost_tr_tweak_init(&tc, d.thresh_pk), KG_OK);
        assert_int_equal(kg_mpc_frost_tr_tweak_taproot(tweak, &tc, root), KG_OK);
        assert_int_equal(kg_crypto_k1_taproot_output(want_xonly, &parity, d.thresh_pk + 1, root), KG_OK);
        session_run(sig, &d, ids + (d.n - d.t), d.t, (const uint8_t (*)[32])tweak, &xo, 1, msg, 32, true);
        assert_int_equal(kg_crypto_k1_schnorr_verify(sig, msg, 32, want_xonly), KG_OK);
        printf("dealer %u-of-%u: %zu signer subsets signed and verified, plus 2 taproot key-path spends\n",
               d.t, d.n, sessions);
    }
}

/* BIP32 (SLIP-10 secp256k1 test vector 1 = BIP32 test vector 1): the group
 * key is m/0H's key, split 2-of-3; the non-hardened child m/0H/1 is derived
 * as a plain tweak and must equal the vector's key and chain code; a
 * threshold signature for the child (and for its Taproot output) verifies. */
static void test_bip32_taproot(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/slip10.json", KG_VECTORS_DIR);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    assert_non_null(root);
    const json_t *chains = json_object_get(json_array_get(json_object_get(root, "vectors"), 0), "chains");
    assert_string_equal(json_string_value(json_object_get(json_array_get(chains, 1), "chain")), "m/0H");
    assert_string_equal(json_string_value(json_object_get(json_array_get(chains, 2), "chain")), "m/0H/1");
    uint8_t sk[32], cc[32], child_pub[33], child_cc[32], tweaks[2][32], cc_out[32], plain[33], sig[64], msg[32];
    hexx(sk, 32, json_object_get(json_array_get(chains, 1), "private"));
    hexx(cc, 32, json_object_get(json_array_get(chains, 1), "chain_code"));
    hexx(child_pub, 33, json_object_get(json_array_get(chains, 2), "public"));
    hexx(child_cc, 32, json_object_get(json_array_get(chains, 2), "chain_code"));
    dealer d;
    deal(&d, 3, 2, sk);
    kg_mpc_frost_tr_tweak_ctx tc;
    assert_int_equal(kg_mpc_frost_tr_tweak_init(&tc, d.thresh_pk), KG_OK);
    assert_int_equal(kg_mpc_frost_tr_tweak_bip32(tweaks[0], cc_out, &tc, cc, 1), KG_OK);
    assert_memory_equal(cc_out, child_cc, 32);
    assert_int_equal(kg_mpc_frost_tr_tweak_apply(&tc, tweaks[0], false), KG_OK);
    kg_mpc_frost_tr_tweak_plain(plain, &tc);
    assert_memory_equal(plain, child_pub, 33);
    assert_int_equal(kg_mpc_frost_tr_tweak_bip32(tweaks[1], cc_out, &tc, cc, 0x80000000u), KG_ERR_BAD_INPUT);
    uint32_t ids[2] = {2, 0};
    bool modes[2] = {false, true};
    memset(msg, 0x42, sizeof msg);
    session_run(sig, &d, ids, 2, (const uint8_t (*)[32])tweaks, modes, 1, msg, sizeof msg, false);
    assert_int_equal(kg_crypto_k1_schnorr_verify(sig, msg, 32, child_pub + 1), KG_OK);
    /* m/0H/1 as a Taproot internal key: plain tweak then x-only TapTweak. */
    uint8_t out_xonly[32];
    assert_int_equal(kg_mpc_frost_tr_tweak_taproot(tweaks[1], &tc, NULL), KG_OK);
    assert_int_equal(kg_crypto_k1_taproot_output(out_xonly, NULL, child_pub + 1, NULL), KG_OK);
    session_run(sig, &d, ids, 2, (const uint8_t (*)[32])tweaks, modes, 2, msg, sizeof msg, true);
    assert_int_equal(kg_crypto_k1_schnorr_verify(sig, msg, 32, out_xonly), KG_OK);
    json_decref(root);
}

/* Bad inputs: a tampered psig is blamed on its signer and its signature
 * fails BIP340; a secnonce cannot be used twice; wrong counts, bad
 * encodings and an unknown signer are errors, never crashes. */
static void test_bad_inputs(void **state)
{
    (void)state;
    dealer d;
    deal(&d, 3, 2, NULL);
    uint32_t ids[2] = {0, 2};
    uint8_t ps[2][33], secn[2][64], pubn[2][66], psigs[2][32], agg[66], sig[64], msg[32] = {1}, keep[64];
    memcpy(ps[0], d.pubshares[0], 33);
    memcpy(ps[1], d.pubshares[2], 33);
    kg_mpc_frost_tr_signers s = {.n = 3, .t = 2, .u = 2, .ids = ids, .pubshares = (const uint8_t (*)[33])ps};
    memcpy(s.thresh_pk, d.thresh_pk, 33);
    kg_mpc_frost_tr_session sess = {.signers = &s, .msg = msg, .msg_len = 32};
    kg_mpc_frost_tr_blame blame;
    for (int i = 0; i < 2; i++)
        assert_int_equal(kg_mpc_frost_tr_nonce_gen(secn[i], pubn[i], NULL, NULL, NULL, NULL, 0, NULL, 0), KG_OK);
    assert_int_equal(kg_mpc_frost_tr_nonce_agg(agg, &blame, (const uint8_t (*)[66])pubn, 2), KG_OK);
    memcpy(keep, secn[0], 64);
    for (int i = 0; i < 2; i++)
        assert_int_equal(kg_mpc_frost_tr_sign(psigs[i], &blame, secn[i], d.shares[ids[i]], ids[i], &sess, agg),
                         KG_OK);
    /* secnonce reuse: the buffer was wiped, so a second Sign refuses it. */
    uint8_t again[32];
    assert_int_equal(kg_mpc_frost_tr_sign(again, &blame, secn[0], d.shares[0], 0, &sess, agg), KG_ERR_BAD_INPUT);
    /* Signing with our share in another participant's slot is refused. */
    assert_int_equal(kg_mpc_frost_tr_sign(again, &blame, keep, d.shares[0], 2, &sess, agg), KG_ERR_BAD_INPUT);
    psigs[1][31] ^= 1;
    assert_int_equal(kg_mpc_frost_tr_partial_sig_verify(&blame, psigs[0], (const uint8_t (*)[66])pubn, 2, &sess, 0),
                     KG_OK);
    assert_int_equal(kg_mpc_frost_tr_partial_sig_verify(&blame, psigs[1], (const uint8_t (*)[66])pubn, 2, &sess, 1),
                     KG_ERR_VERIFY);
    assert_int_equal(blame.contrib, KG_MPC_FROST_TR_BLAME_PSIG);
    assert_int_equal(blame.signer_index, 1);
    assert_int_equal(kg_mpc_frost_tr_partial_sig_agg(sig, &blame, (const uint8_t (*)[32])psigs, 2, &sess, agg), KG_OK);
    assert_int_equal(kg_crypto_k1_schnorr_verify(sig, msg, 32, d.thresh_pk + 1), KG_ERR_VERIFY);
    /* Counts and indexes. */
    assert_int_equal(kg_mpc_frost_tr_partial_sig_verify(&blame, psigs[0], (const uint8_t (*)[66])pubn, 1, &sess, 0),
                     KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_tr_partial_sig_verify(&blame, psigs[0], (const uint8_t (*)[66])pubn, 2, &sess, 2),
                     KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_tr_nonce_agg(agg, &blame, (const uint8_t (*)[66])pubn, 0), KG_ERR_BAD_INPUT);
    /* Decoders. */
    uint8_t zeros[66] = {0};
    assert_int_equal(kg_mpc_frost_tr_pubnonce_check(pubn[0], 66), KG_OK);
    assert_int_equal(kg_mpc_frost_tr_pubnonce_check(pubn[0], 65), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_tr_pubnonce_check(zeros, 66), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_tr_aggnonce_check(zeros, 66), KG_OK);
    assert_int_equal(kg_mpc_frost_tr_aggnonce_check(NULL, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_tr_psig_check(psigs[0], 32), KG_OK);
    memset(zeros, 0xff, 32);
    assert_int_equal(kg_mpc_frost_tr_psig_check(zeros, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_tr_psig_check(zeros, 31), KG_ERR_BAD_INPUT);
    uint8_t tw[32];
    assert_int_equal(kg_mpc_frost_tr_tweak_parse(tw, zeros, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_tr_tweak_parse(tw, msg, 33), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_tr_tweak_parse(tw, msg, 32), KG_OK);
}

#define E2E_TESTS                                  \
    cmocka_unit_test(test_dealer_end_to_end),      \
    cmocka_unit_test(test_bip32_taproot),          \
    cmocka_unit_test(test_bad_inputs),

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonce_gen_vectors),
        cmocka_unit_test(test_nonce_agg_vectors),
        cmocka_unit_test(test_sign_verify_vectors),
        cmocka_unit_test(test_tweak_vectors),
        cmocka_unit_test(test_det_sign_vectors),
        cmocka_unit_test(test_sig_agg_vectors),
        E2E_TESTS
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
