/* FROST resharing (frost_reshare.c), four suites: 2-of-3 -> 3-of-5,
 * 3-of-5 -> 2-of-3 and 2-of-3 -> 2-of-4 with new identifiers keep the
 * group key; the new shares sign (Ed25519 also checked with libsodium);
 * old and new shares do not mix; a tampered dealt share names its dealer,
 * a dealer sharing the wrong value is caught (and named given the old
 * public shares); bad arguments are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"

#define MAXP 8

static const kg_mpc_group_id groups[] = {KG_MPC_GROUP_ED25519, KG_MPC_GROUP_RISTRETTO255,
                                         KG_MPC_GROUP_P256, KG_MPC_GROUP_SECP256K1};

/* Sign with keys[0..k-1] (sorted ids); returns aggregate's result. */
static kg_err sign_with(kg_mpc_group_id g, const kg_mpc_frost_key_share *keys, unsigned k, uint8_t *sig,
                        size_t *len, const uint8_t *msg, size_t msg_len)
{
    kg_mpc_frost_nonce nonce[MAXP];
    kg_mpc_frost_commitment coms[MAXP];
    kg_mpc_frost_sig_share ss[MAXP];
    kg_mpc_point pubs[MAXP];
    for (unsigned i = 0; i < k; i++) {
        assert_int_equal(kg_mpc_frost_commit(&nonce[i], &keys[i], NULL, NULL), KG_OK);
        coms[i] = nonce[i].commitment;
        pubs[i] = keys[i].public_share;
    }
    kg_mpc_frost_signing_package pkg = {g, keys[0].group_public, msg, msg_len, coms, k};
    for (unsigned i = 0; i < k; i++)
        assert_int_equal(kg_mpc_frost_sign(&ss[i], &nonce[i], &keys[i], &pkg), KG_OK);
    return kg_mpc_frost_aggregate(sig, len, NULL, NULL, &pkg, ss, pubs);
}

typedef struct {
    uint16_t tamper_dealer; /* corrupt this dealer's share to the first new participant */
    uint16_t wrong_dealer;  /* this dealer deals (s_i + 1) instead of s_i */
    bool with_old_publics;
} faults;

/* Old keys old[0..n_old-1] (ids 1..n_old); dealers given by id. Every new
 * participant finishes; the first error is returned with its culprit. */
static kg_err reshare(kg_mpc_group_id g, const kg_mpc_frost_key_share *old, const uint16_t *dealers, size_t nd,
                      const uint16_t *new_ids, size_t n_new, unsigned new_t, kg_mpc_frost_key_share *out,
                      const faults *f, uint16_t *culprit)
{
    kg_mpc_frost_dkg_round2 deal[MAXP][MAXP], inbox[MAXP];
    kg_mpc_point vss[MAXP][MAXP], pubs[MAXP], olds[MAXP];
    const kg_mpc_point *vp[MAXP];
    for (size_t d = 0; d < nd; d++) {
        kg_mpc_frost_key_share k = old[dealers[d] - 1];
        if (f && f->wrong_dealer == dealers[d]) {
            kg_mpc_scalar one;
            kg_mpc_scalar_from_u64(g, &one, 1);
            kg_mpc_scalar_add(g, &k.secret, &k.secret, &one);
        }
        assert_int_equal(kg_mpc_frost_reshare_deal(deal[d], vss[d], &k, dealers, nd, new_ids, n_new, new_t), KG_OK);
        vp[d] = vss[d];
        olds[d] = old[dealers[d] - 1].public_share;
        kg_wipe(&k, sizeof k);
    }
    if (f && f->tamper_dealer) {
        for (size_t d = 0; d < nd; d++)
            if (dealers[d] == f->tamper_dealer)
                deal[d][0].share.b[5] ^= 0x01;
    }
    for (size_t j = 0; j < n_new; j++) {
        for (size_t d = 0; d < nd; d++)
            inbox[d] = deal[d][j];
        kg_err e = kg_mpc_frost_reshare_finish(&out[j], pubs, culprit, g, &old[0].group_public, new_ids[j],
                                               new_ids, n_new, new_t, vp, inbox, nd,
                                               f && f->with_old_publics ? olds : NULL);
        if (e != KG_OK)
            return e;
        assert_true(kg_mpc_point_eq(g, &pubs[j], &out[j].public_share)); /* public data matches */
        assert_true(kg_mpc_point_eq(g, &out[j].group_public, &old[0].group_public));
        assert_int_equal(out[j].min_signers, new_t);
    }
    return KG_OK;
}

static void check_case(kg_mpc_group_id g, unsigned t, unsigned n, const uint16_t *dealers, size_t nd,
                       const uint16_t *new_ids, size_t n_new, unsigned new_t)
{
    kg_mpc_frost_key_share old[MAXP], nw[MAXP], mix[MAXP];
    kg_mpc_point vss[MAXP];
    uint16_t culprit = 99;
    assert_int_equal(kg_mpc_frost_dealer_keygen(g, old, vss, t, n, NULL, NULL), KG_OK);
    assert_int_equal(reshare(g, old, dealers, nd, new_ids, n_new, new_t, nw, NULL, &culprit), KG_OK);
    assert_int_equal(culprit, 0);
    /* the same secret, a new sharing */
    kg_mpc_scalar s_old, s_new;
    assert_int_equal(kg_mpc_frost_secret_combine(g, &s_old, old, t), KG_OK);
    assert_int_equal(kg_mpc_frost_secret_combine(g, &s_new, nw, new_t), KG_OK);
    assert_true(kg_mpc_scalar_eq(g, &s_old, &s_new));
    /* sign with the first t' and the last t' new shares */
    static const uint8_t msg[] = "reshared group signs";
    uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t len = 0;
    for (int pass = 0; pass < 2; pass++) {
        const kg_mpc_frost_key_share *k = pass == 0 ? nw : nw + (n_new - new_t);
        assert_int_equal(sign_with(g, k, new_t, sig, &len, msg, sizeof msg), KG_OK);
        assert_int_equal(kg_mpc_frost_verify(g, sig, len, &old[0].group_public, msg, sizeof msg), KG_OK);
        if (g == KG_MPC_GROUP_ED25519) {
            assert_int_equal(len, 64);
            assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, old[0].group_public.b), 0);
        }
    }
    /* old shares mixed with new ones: the signature (or secret) is wrong.
     * mix[0] is an old share whose id is not among the new ones used. */
    size_t m = 0;
    for (size_t i = 0; i < n && m == 0; i++) {
        bool clash = false;
        for (size_t j = 0; j < new_t - 1; j++)
            clash |= new_ids[n_new - 1 - j] == old[i].id;
        if (!clash)
            mix[m++] = old[i];
    }
    assert_int_equal(m, 1);
    for (size_t j = 0; j + 1 < new_t; j++) /* the t'-1 highest new shares */
        mix[m++] = nw[n_new - new_t + 1 + j];
    for (size_t i = 0; i < m; i++) /* signing needs one threshold value and sorted ids */
        mix[i].min_signers = (uint16_t)new_t;
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && mix[j - 1].id > mix[j].id; j--) {
            kg_mpc_frost_key_share tmp = mix[j];
            mix[j] = mix[j - 1], mix[j - 1] = tmp;
        }
    assert_int_not_equal(sign_with(g, mix, new_t, sig, &len, msg, sizeof msg), KG_OK);
    assert_int_equal(kg_mpc_frost_secret_combine(g, &s_new, mix, new_t), KG_OK);
    assert_false(kg_mpc_scalar_eq(g, &s_old, &s_new));
    kg_wipe(old, sizeof old), kg_wipe(nw, sizeof nw), kg_wipe(mix, sizeof mix);
}

static void test_2of3_to_3of5(void **state)
{
    (void)state;
    static const uint16_t dealers[] = {1, 3}, ids[] = {1, 2, 3, 4, 5};
    for (size_t i = 0; i < 4; i++)
        check_case(groups[i], 2, 3, dealers, 2, ids, 5, 3);
}

static void test_3of5_to_2of3(void **state)
{
    (void)state;
    static const uint16_t dealers[] = {2, 4, 5}, ids[] = {1, 2, 3};
    for (size_t i = 0; i < 4; i++)
        check_case(groups[i], 3, 5, dealers, 3, ids, 3, 2);
}

static void test_2of3_to_2of4_new_ids(void **state)
{
    (void)state;
    static const uint16_t dealers[] = {2, 3}, ids[] = {4, 5, 6, 7};
    static const uint16_t all[] = {1, 2, 3}, wide[] = {10, 20, 30, 40, 50};
    for (size_t i = 0; i < 4; i++) {
        check_case(groups[i], 2, 3, dealers, 2, ids, 4, 2);
        check_case(groups[i], 2, 3, all, 3, wide, 5, 4); /* more dealers than t also works */
    }
}

static void test_tampered_share_names_dealer(void **state)
{
    (void)state;
    static const uint16_t dealers[] = {1, 2, 4}, ids[] = {1, 2, 3, 4, 5};
    for (size_t i = 0; i < 4; i++) {
        kg_mpc_group_id g = groups[i];
        kg_mpc_frost_key_share old[MAXP], nw[MAXP];
        kg_mpc_point vss[MAXP];
        uint16_t culprit = 0;
        assert_int_equal(kg_mpc_frost_dealer_keygen(g, old, vss, 3, 4, NULL, NULL), KG_OK);
        faults f = {.tamper_dealer = 2};
        assert_int_equal(reshare(g, old, dealers, 3, ids, 5, 3, nw, &f, &culprit), KG_ERR_VERIFY);
        assert_int_equal(culprit, 2);
        for (size_t j = 0; j < sizeof nw[0]; j++) /* nothing output */
            assert_int_equal(((const uint8_t *)&nw[0])[j], 0);
        /* a dealer who deals a wrong value: caught by the group-key sum... */
        faults w = {.wrong_dealer = 4};
        assert_int_equal(reshare(g, old, dealers, 3, ids, 5, 3, nw, &w, &culprit), KG_ERR_VERIFY);
        assert_int_equal(culprit, 0);
        /* ...and named given the old public shares */
        w.with_old_publics = true;
        assert_int_equal(reshare(g, old, dealers, 3, ids, 5, 3, nw, &w, &culprit), KG_ERR_VERIFY);
        assert_int_equal(culprit, 4);
        /* honest run with old publics passes */
        faults ok = {.with_old_publics = true};
        assert_int_equal(reshare(g, old, dealers, 3, ids, 5, 3, nw, &ok, &culprit), KG_OK);
        kg_wipe(old, sizeof old), kg_wipe(nw, sizeof nw);
    }
}

static void test_bad_args(void **state)
{
    (void)state;
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    kg_mpc_frost_key_share old[MAXP], out;
    kg_mpc_point vss[MAXP], pubs[MAXP];
    kg_mpc_frost_dkg_round2 deal[MAXP][MAXP], inbox[MAXP];
    const kg_mpc_point *vp[MAXP];
    uint16_t culprit = 0;
    assert_int_equal(kg_mpc_frost_dealer_keygen(g, old, vss, 3, 5, NULL, NULL), KG_OK);
    static const uint16_t two[] = {1, 2}, three[] = {1, 2, 3}, dup[] = {1, 2, 2}, ids[] = {1, 2, 3};
    static const uint16_t zero[] = {0, 1, 2}, other[] = {2, 3, 4};
    /* fewer dealers than t, dealer not in the set, duplicates, bad t' */
    assert_int_equal(kg_mpc_frost_reshare_deal(deal[0], vss, &old[0], two, 2, ids, 3, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_reshare_deal(deal[0], vss, &old[0], other, 3, ids, 3, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_reshare_deal(deal[0], vss, &old[0], dup, 3, ids, 3, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_reshare_deal(deal[0], vss, &old[0], three, 3, zero, 3, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_reshare_deal(deal[0], vss, &old[0], three, 3, ids, 3, 4), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_reshare_deal(deal[0], vss, &old[0], three, 3, ids, 3, 1), KG_ERR_BAD_INPUT);
    /* too few dealings: the constant terms do not sum to the key */
    kg_mpc_point v[3][MAXP];
    for (size_t d = 0; d < 3; d++) {
        assert_int_equal(kg_mpc_frost_reshare_deal(deal[d], v[d], &old[d], three, 3, ids, 3, 2), KG_OK);
        vp[d] = v[d];
        inbox[d] = deal[d][0];
    }
    assert_int_equal(kg_mpc_frost_reshare_finish(&out, pubs, &culprit, g, &old[0].group_public, 1, ids, 3, 2,
                                                 vp, inbox, 2, NULL), KG_ERR_VERIFY);
    assert_int_equal(kg_mpc_frost_reshare_finish(&out, pubs, &culprit, g, &old[0].group_public, 1, ids, 3, 2,
                                                 vp, inbox, 3, NULL), KG_OK);
    /* a dealing addressed to someone else, an id outside the new set */
    assert_int_equal(kg_mpc_frost_reshare_finish(&out, pubs, &culprit, g, &old[0].group_public, 2, ids, 3, 2,
                                                 vp, inbox, 3, NULL), KG_ERR_BAD_INPUT);
    assert_int_equal(culprit, 1);
    assert_int_equal(kg_mpc_frost_reshare_finish(&out, pubs, &culprit, g, &old[0].group_public, 9, ids, 3, 2,
                                                 vp, inbox, 3, NULL), KG_ERR_BAD_INPUT);
    /* a malformed commitment point names its dealer */
    memset(v[1][1].b, 0xff, sizeof v[1][1].b);
    assert_int_equal(kg_mpc_frost_reshare_finish(&out, pubs, &culprit, g, &old[0].group_public, 1, ids, 3, 2,
                                                 vp, inbox, 3, NULL), KG_ERR_VERIFY);
    assert_int_equal(culprit, 2);
    kg_wipe(old, sizeof old), kg_wipe(&out, sizeof out), kg_wipe(deal, sizeof deal);
}

int main(void)
{
    assert_int_equal(kg_crypto_init(), KG_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_2of3_to_3of5),
        cmocka_unit_test(test_3of5_to_2of3),
        cmocka_unit_test(test_2of3_to_2of4_new_ids),
        cmocka_unit_test(test_tampered_share_names_dealer),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
