/* FROST share refresh and repair (frost_refresh.c): after a refresh the
 * group key is unchanged, new shares sign, old and new shares no longer
 * combine, and a bad dealing is caught and its dealer named; repair
 * rebuilds a lost share from t helpers for every choice of lost participant
 * and catches a wrong piece. Four suites. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"

static const kg_mpc_group_id groups[] = {KG_MPC_GROUP_ED25519, KG_MPC_GROUP_RISTRETTO255,
                                         KG_MPC_GROUP_P256, KG_MPC_GROUP_SECP256K1};

static void sign_ok(kg_mpc_group_id g, const kg_mpc_frost_key_share *keys, unsigned t)
{
    kg_mpc_frost_nonce nonce[8];
    kg_mpc_frost_commitment coms[8];
    kg_mpc_frost_sig_share ss[8];
    kg_mpc_point pubs[8];
    static const uint8_t msg[] = "after refresh";
    for (unsigned i = 0; i < t; i++) {
        assert_int_equal(kg_mpc_frost_commit(&nonce[i], &keys[i], NULL, NULL), KG_OK);
        coms[i] = nonce[i].commitment;
        pubs[i] = keys[i].public_share;
    }
    kg_mpc_frost_signing_package pkg = {g, keys[0].group_public, msg, sizeof msg, coms, t};
    for (unsigned i = 0; i < t; i++)
        assert_int_equal(kg_mpc_frost_sign(&ss[i], &nonce[i], &keys[i], &pkg), KG_OK);
    uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t len;
    assert_int_equal(kg_mpc_frost_aggregate(sig, &len, NULL, NULL, &pkg, ss, pubs), KG_OK);
}

/* Everyone deals; participant i applies the n dealings. bad = dealer whose
 * share to participant 1 is corrupted (0: none). */
static kg_err refresh_all(kg_mpc_group_id g, kg_mpc_frost_key_share *keys, kg_mpc_point *publics,
                          unsigned t, unsigned n, uint16_t bad, uint16_t *culprit)
{
    kg_mpc_frost_dkg_round2 deal[5][5], inbox[5];
    kg_mpc_point vss[5][5];
    const kg_mpc_point *vp[5];
    for (unsigned d = 0; d < n; d++) {
        assert_int_equal(kg_mpc_frost_refresh_deal(g, deal[d], vss[d], (uint16_t)(d + 1), t, n), KG_OK);
        vp[d] = vss[d];
    }
    if (bad)
        deal[bad - 1][0].share.b[7] ^= 0x10;
    for (unsigned i = 0; i < n; i++) {
        for (unsigned d = 0; d < n; d++)
            inbox[d] = deal[d][i];
        kg_err e = kg_mpc_frost_refresh_apply(&keys[i], i == 0 ? publics : NULL, culprit, vp, inbox, n);
        if (e != KG_OK)
            return e;
    }
    return KG_OK;
}

static void test_refresh(void **state)
{
    (void)state;
    for (size_t s = 0; s < 4; s++) {
        kg_mpc_group_id g = groups[s];
        kg_mpc_frost_key_share keys[5], old[5];
        kg_mpc_point vss[3], publics[5];
        uint16_t c = 0;
        assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 3, 5, NULL, NULL), KG_OK);
        memcpy(old, keys, sizeof keys);
        for (unsigned i = 0; i < 5; i++)
            publics[i] = keys[i].public_share;
        assert_int_equal(refresh_all(g, keys, publics, 3, 5, 0, &c), KG_OK);
        for (unsigned i = 0; i < 5; i++) {
            assert_true(kg_mpc_point_eq(g, &keys[i].group_public, &old[i].group_public));
            assert_false(kg_mpc_scalar_eq(g, &keys[i].secret, &old[i].secret));
            assert_true(kg_mpc_point_eq(g, &publics[i], &keys[i].public_share));
        }
        sign_ok(g, keys, 3);
        sign_ok(g, keys + 2, 3);
        kg_mpc_scalar sk, sk_old; /* mixing old and new shares gives another secret */
        kg_mpc_frost_key_share mix[3] = {old[0], keys[1], keys[2]};
        assert_int_equal(kg_mpc_frost_secret_combine(g, &sk_old, old, 3), KG_OK);
        assert_int_equal(kg_mpc_frost_secret_combine(g, &sk, keys, 3), KG_OK);
        assert_true(kg_mpc_scalar_eq(g, &sk, &sk_old));
        assert_int_equal(kg_mpc_frost_secret_combine(g, &sk, mix, 3), KG_OK);
        assert_false(kg_mpc_scalar_eq(g, &sk, &sk_old));
        kg_mpc_frost_key_share before = keys[0]; /* a bad dealing: named, share unchanged */
        assert_int_equal(refresh_all(g, keys, NULL, 3, 5, 4, &c), KG_ERR_VERIFY);
        assert_int_equal(c, 4);
        assert_memory_equal(&before, &keys[0], sizeof before);
        /* a dealing that does not share zero would move the key: refused */
        kg_mpc_frost_dkg_round2 deal[5];
        kg_mpc_point dv[3];
        const kg_mpc_point *vp[1] = {dv};
        assert_int_equal(kg_mpc_frost_refresh_deal(g, deal, dv, 2, 3, 5), KG_OK);
        kg_mpc_scalar one;
        kg_mpc_scalar_from_u64(g, &one, 1);
        kg_mpc_point_base_mul(g, &dv[0], &one);
        kg_mpc_scalar_add(g, &deal[0].share, &deal[0].share, &one);
        assert_int_equal(kg_mpc_frost_refresh_apply(&keys[0], NULL, &c, vp, deal, 1), KG_ERR_VERIFY);
        assert_int_equal(c, 2);
        kg_wipe(keys, sizeof keys);
        kg_wipe(old, sizeof old);
    }
    printf("[ frost-refresh ] refresh 3-of-5, 4 suites: key kept, new shares sign, old+new do not combine, "
           "bad dealer named\n");
}

static void test_repair(void **state)
{
    (void)state;
    unsigned repairs = 0;
    for (size_t s = 0; s < 4; s++) {
        kg_mpc_group_id g = groups[s];
        kg_mpc_frost_key_share keys[5], got;
        kg_mpc_point vss[3];
        assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 3, 5, NULL, NULL), KG_OK);
        for (uint16_t lost = 1; lost <= 5; lost++) {
            uint16_t helpers[3];
            size_t h = 0;
            for (uint16_t i = 1; i <= 5 && h < 3; i++) /* the first three others help */
                if (i != lost)
                    helpers[h++] = i;
            kg_mpc_scalar deltas[3][3], recv[3], sigma[3];
            for (size_t i = 0; i < 3; i++)
                assert_int_equal(kg_mpc_frost_repair_step1(deltas[i], &keys[helpers[i] - 1], helpers, 3, lost), KG_OK);
            for (size_t j = 0; j < 3; j++) {
                for (size_t i = 0; i < 3; i++)
                    recv[i] = deltas[i][j];
                kg_mpc_frost_repair_step2(g, &sigma[j], recv, 3);
            }
            assert_int_equal(kg_mpc_frost_repair_step3(&got, g, lost, 3, 5, sigma, 3,
                                                       &keys[lost - 1].public_share, &keys[0].group_public), KG_OK);
            assert_memory_equal(&got, &keys[lost - 1], sizeof got);
            sigma[1].b[9] ^= 1; /* a wrong sum is detected */
            assert_int_equal(kg_mpc_frost_repair_step3(&got, g, lost, 3, 5, sigma, 3,
                                                       &keys[lost - 1].public_share, &keys[0].group_public),
                             KG_ERR_VERIFY);
            repairs++;
        }
        uint16_t bad_set[3] = {1, 2, 2};
        kg_mpc_scalar d[3];
        assert_int_equal(kg_mpc_frost_repair_step1(d, &keys[0], bad_set, 3, 4), KG_ERR_BAD_INPUT);
        uint16_t self_set[3] = {1, 2, 4};
        assert_int_equal(kg_mpc_frost_repair_step1(d, &keys[0], self_set, 3, 4), KG_ERR_BAD_INPUT);
        assert_int_equal(kg_mpc_frost_repair_step1(d, &keys[0], self_set, 2, 5), KG_ERR_BAD_INPUT);
        kg_wipe(keys, sizeof keys);
    }
    printf("[ frost-refresh ] %u repairs (every lost participant of 3-of-5, 4 suites) rebuild the exact share\n",
           repairs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_repair),
    };
    if (kg_crypto_init() != KG_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
