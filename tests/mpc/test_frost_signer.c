/* The FROST signer seam (frost_signer.c): an Ed25519 FROST group held in
 * one process signs through signer.h and libsodium's
 * crypto_sign_verify_detached accepts the signatures under the group key
 * (also for a freshly reshared group); a secp256k1 group makes BIP340
 * signatures (plain and Taproot-tweaked) through BIP 445 that libsecp256k1
 * verifies; schemes and suites that FROST does not serve, derivation paths
 * and bad share sets are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "kashguard/signer.h"

static void sign_verify(kg_signer *s, const kg_mpc_point *group_public)
{
    kg_pubkey pk;
    kg_key_ref ref = {0};
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ED25519), KG_OK);
    assert_int_equal(pk.len, 32);
    assert_memory_equal(pk.data, group_public->b, 32);
    uint8_t msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 1);
    static const size_t lens[] = {0, 1, 32, 300};
    for (size_t i = 0; i < 4; i++) {
        kg_signature sig;
        assert_int_equal(kg_signer_sign(s, &sig, NULL, KG_SIG_ED25519, msg, lens[i]), KG_OK);
        assert_int_equal(sig.len, 64);
        assert_int_equal(sig.recid, -1);
        assert_int_equal(crypto_sign_verify_detached(sig.data, msg, lens[i], pk.data), 0);
        msg[0] ^= 1; /* and not for another message */
        assert_int_not_equal(crypto_sign_verify_detached(sig.data, msg, lens[i] ? lens[i] : 1, pk.data), 0);
        msg[0] ^= 1;
    }
}

static void test_ed25519_group_signs(void **state)
{
    (void)state;
    kg_mpc_frost_key_share keys[5], some[3];
    kg_mpc_point vss[3];
    kg_signer *s = NULL;
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, keys, vss, 3, 5, NULL, NULL), KG_OK);
    /* all five shares, out of order */
    kg_mpc_frost_key_share shuffled[5] = {keys[4], keys[1], keys[3], keys[0], keys[2]};
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 3, shuffled, 5), KG_OK);
    sign_verify(s, &keys[0].group_public);
    kg_signer_close(s);
    /* exactly t shares, not the first ones */
    some[0] = keys[4], some[1] = keys[2], some[2] = keys[1];
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 3, some, 3), KG_OK);
    sign_verify(s, &keys[0].group_public);
    kg_signer_close(s);
    kg_signer_close(NULL);
    kg_wipe(keys, sizeof keys), kg_wipe(shuffled, sizeof shuffled), kg_wipe(some, sizeof some);
}

static void test_reshared_group_signs(void **state)
{
    (void)state;
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    kg_mpc_frost_key_share old[3], nw[4];
    kg_mpc_point vss[2], cv[2][3];
    kg_mpc_frost_dkg_round2 deal[2][4], inbox[2];
    const kg_mpc_point *vp[2] = {cv[0], cv[1]};
    static const uint16_t dealers[] = {1, 3}, ids[] = {4, 5, 6, 7};
    uint16_t culprit = 0;
    assert_int_equal(kg_mpc_frost_dealer_keygen(g, old, vss, 2, 3, NULL, NULL), KG_OK);
    for (size_t d = 0; d < 2; d++)
        assert_int_equal(kg_mpc_frost_reshare_deal(deal[d], cv[d], &old[dealers[d] - 1], dealers, 2, ids, 4, 3),
                         KG_OK);
    for (size_t j = 0; j < 4; j++) {
        inbox[0] = deal[0][j], inbox[1] = deal[1][j];
        assert_int_equal(kg_mpc_frost_reshare_finish(&nw[j], NULL, &culprit, g, &old[0].group_public, ids[j],
                                                     ids, 4, 3, vp, inbox, 2, NULL), KG_OK);
    }
    kg_signer *s = NULL;
    assert_int_equal(kg_mpc_frost_signer_new(&s, g, 3, nw + 1, 3), KG_OK);
    sign_verify(s, &old[0].group_public);
    kg_signer_close(s);
    /* the new threshold is 3: two new shares are not a signer */
    assert_int_equal(kg_mpc_frost_signer_new(&s, g, 3, nw, 2), KG_ERR_BAD_INPUT);
    kg_wipe(old, sizeof old), kg_wipe(nw, sizeof nw), kg_wipe(deal, sizeof deal);
}

static void test_refused(void **state)
{
    (void)state;
    kg_mpc_frost_key_share keys[3];
    kg_mpc_point vss[2];
    kg_signer *s = NULL;
    kg_pubkey pk;
    kg_signature sig;
    kg_key_ref ref = {0};
    static const uint8_t digest[32] = {1};
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, keys, vss, 2, 3, NULL, NULL), KG_OK);
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 2, keys, 3), KG_OK);
    static const kg_sig_scheme others[] = {KG_SIG_ECDSA_SECP256K1, KG_SIG_ECDSA_P256, KG_SIG_BIP340};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(kg_signer_public_key(s, &pk, &ref, others[i]), KG_ERR_WRONG_KEY_USAGE);
        assert_int_equal(pk.len, 0);
        assert_int_equal(kg_signer_sign(s, &sig, &ref, others[i], digest, 32), KG_ERR_WRONG_KEY_USAGE);
        assert_int_equal(sig.len, 0);
    }
    ref.path[0] = KG_HARDENED | 44, ref.path_len = 1;
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ED25519, digest, 32), KG_ERR_BAD_INPUT);
    ref.path_len = 0, ref.taproot = true;
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ED25519), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_signer_sign(s, &sig, NULL, KG_SIG_ED25519, NULL, 5), KG_ERR_BAD_INPUT);
    kg_signer_close(s);

    /* other suites: no chain scheme, except BIP340 for secp256k1 (via BIP 445) */
    static const kg_mpc_group_id gs[] = {KG_MPC_GROUP_RISTRETTO255, KG_MPC_GROUP_P256, KG_MPC_GROUP_SECP256K1};
    for (size_t i = 0; i < 3; i++) {
        kg_mpc_frost_key_share k[3];
        assert_int_equal(kg_mpc_frost_dealer_keygen(gs[i], k, vss, 2, 3, NULL, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_signer_new(&s, gs[i], 2, k, 2), KG_OK);
        for (int sc = KG_SIG_ECDSA_SECP256K1; sc <= KG_SIG_ED25519; sc++) {
            if (sc == KG_SIG_BIP340 && gs[i] == KG_MPC_GROUP_SECP256K1)
                continue;
            assert_int_equal(kg_signer_public_key(s, &pk, NULL, (kg_sig_scheme)sc), KG_ERR_WRONG_KEY_USAGE);
            assert_int_equal(kg_signer_sign(s, &sig, NULL, (kg_sig_scheme)sc, digest, 32), KG_ERR_WRONG_KEY_USAGE);
        }
        kg_signer_close(s);
        kg_wipe(k, sizeof k);
    }
    kg_wipe(keys, sizeof keys);
}

/* BIP340 through BIP 445 with the RFC shares of a secp256k1 group: plain
 * and Taproot (BIP86 and with a merkle root), checked with libsecp256k1's
 * verifier against keys derived independently (kg_crypto_k1_*). */
static void bip340_check(kg_signer *s, const kg_mpc_frost_key_share *any)
{
    uint8_t digest[32], internal[32], expect[32];
    for (size_t i = 0; i < 32; i++)
        digest[i] = (uint8_t)(0xa5 ^ i);
    memcpy(internal, any->group_public.b + 1, 32); /* x of the group key */
    static const uint8_t root[32] = {7, 7, 7};
    for (int mode = 0; mode < 3; mode++) {
        kg_key_ref ref = {0};
        ref.taproot = mode > 0;
        ref.merkle_root = mode == 2 ? root : NULL;
        if (mode == 0)
            memcpy(expect, internal, 32);
        else
            assert_int_equal(kg_crypto_k1_taproot_output(expect, NULL, internal, ref.merkle_root), KG_OK);
        kg_pubkey pk;
        kg_signature sig;
        assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_BIP340), KG_OK);
        assert_int_equal(pk.len, 32);
        assert_memory_equal(pk.data, expect, 32);
        assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_BIP340, digest, 32), KG_OK);
        assert_int_equal(sig.len, 64);
        assert_int_equal(sig.recid, -1);
        assert_int_equal(kg_crypto_k1_schnorr_verify(sig.data, digest, 32, expect), KG_OK);
        digest[0] ^= 1;
        assert_int_equal(kg_crypto_k1_schnorr_verify(sig.data, digest, 32, expect), KG_ERR_VERIFY);
        digest[0] ^= 1;
    }
    kg_signature sig;
    assert_int_equal(kg_signer_sign(s, &sig, NULL, KG_SIG_BIP340, digest, 31), KG_ERR_BAD_INPUT);
}

static void test_secp256k1_bip340(void **state)
{
    (void)state;
    kg_mpc_group_id g = KG_MPC_GROUP_SECP256K1;
    kg_mpc_frost_key_share keys[5], nw[4];
    kg_mpc_point vss[3], cv[3][2];
    kg_signer *s = NULL;
    assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 3, 5, NULL, NULL), KG_OK);
    kg_mpc_frost_key_share some[3] = {keys[4], keys[1], keys[3]};
    assert_int_equal(kg_mpc_frost_signer_new(&s, g, 3, some, 3), KG_OK);
    bip340_check(s, &keys[0]);
    kg_signer_close(s);
    /* reshared to 2-of-4 with identifiers 6..9 (beyond the old n) */
    kg_mpc_frost_dkg_round2 deal[3][4], inbox[3];
    const kg_mpc_point *vp[3] = {cv[0], cv[1], cv[2]};
    static const uint16_t dealers[] = {1, 2, 5}, ids[] = {6, 7, 8, 9};
    uint16_t culprit = 0;
    for (size_t d = 0; d < 3; d++)
        assert_int_equal(kg_mpc_frost_reshare_deal(deal[d], cv[d], &keys[dealers[d] - 1], dealers, 3, ids, 4, 2),
                         KG_OK);
    for (size_t j = 0; j < 4; j++) {
        for (size_t d = 0; d < 3; d++)
            inbox[d] = deal[d][j];
        assert_int_equal(kg_mpc_frost_reshare_finish(&nw[j], NULL, &culprit, g, &keys[0].group_public, ids[j],
                                                     ids, 4, 2, vp, inbox, 3, NULL), KG_OK);
    }
    assert_int_equal(kg_mpc_frost_signer_new(&s, g, 2, nw + 2, 2), KG_OK);
    bip340_check(s, &keys[0]);
    kg_signer_close(s);
    kg_wipe(keys, sizeof keys), kg_wipe(nw, sizeof nw), kg_wipe(some, sizeof some), kg_wipe(deal, sizeof deal);
}

static void test_bad_shares(void **state)
{
    (void)state;
    kg_mpc_frost_key_share keys[3], other[3], bad[3];
    kg_mpc_point vss[2];
    kg_signer *s = (kg_signer *)1;
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, keys, vss, 2, 3, NULL, NULL), KG_OK);
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, other, vss, 2, 3, NULL, NULL), KG_OK);
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 2, keys, 1), KG_ERR_BAD_INPUT);
    assert_null(s);
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 1, keys, 3), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_P256, 2, keys, 3), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 3, keys, 3), KG_ERR_BAD_INPUT);
    bad[0] = keys[0], bad[1] = other[1]; /* two groups */
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 2, bad, 2), KG_ERR_BAD_INPUT);
    bad[0] = keys[0], bad[1] = keys[0]; /* the same participant twice */
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 2, bad, 2), KG_ERR_BAD_INPUT);
    bad[0] = keys[0], bad[1] = keys[1];
    bad[1].secret.b[0] ^= 1; /* secret does not match its public share */
    assert_int_equal(kg_mpc_frost_signer_new(&s, KG_MPC_GROUP_ED25519, 2, bad, 2), KG_ERR_BAD_INPUT);
    assert_null(s);
    kg_wipe(keys, sizeof keys), kg_wipe(other, sizeof other), kg_wipe(bad, sizeof bad);
}

int main(void)
{
    if (kg_crypto_init() != KG_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ed25519_group_signs),
        cmocka_unit_test(test_reshared_group_signs),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_secp256k1_bip340),
        cmocka_unit_test(test_bad_shares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
