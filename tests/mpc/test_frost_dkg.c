/* FROST Pedersen DKG (frost_dkg.c): every Zcash Foundation vectors_dkg.json
 * of the four suites (commitments from the given coefficients, the given
 * proofs of knowledge verify, round-2 shares, final signing shares,
 * verifying shares and group key), random DKGs whose keys then sign, the
 * cheater naming (bad proof, bad share), the state machine order, and the
 * round-1 wire format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"

static const struct { kg_mpc_group_id g; const char *zf; } suites[] = {
    {KG_MPC_GROUP_ED25519, "frost-ed25519"},
    {KG_MPC_GROUP_RISTRETTO255, "frost-ristretto255"},
    {KG_MPC_GROUP_P256, "frost-p256"},
    {KG_MPC_GROUP_SECP256K1, "frost-secp256k1"},
};
#define N_SUITES (sizeof suites / sizeof suites[0])

static size_t hex(uint8_t *out, size_t cap, const json_t *s)
{
    size_t len = 0;
    assert_true(json_is_string(s));
    assert_int_equal(kg_hex_decode(out, cap, &len, json_string_value(s)), KG_OK);
    return len;
}

static void scalar_of(kg_mpc_group_id g, kg_mpc_scalar *s, const json_t *v)
{
    uint8_t b[64];
    assert_int_equal(kg_mpc_scalar_from_bytes(g, s, b, hex(b, sizeof b, v)), KG_OK);
}

static void point_of(kg_mpc_group_id g, kg_mpc_point *p, const json_t *v)
{
    uint8_t b[64];
    assert_int_equal(kg_mpc_point_deserialize(g, p, b, hex(b, sizeof b, v)), KG_OK);
}

/* The round-1 message participant `who` published in the vector file. */
static void vector_round1(kg_mpc_group_id g, kg_mpc_frost_dkg_round1 *m, const json_t *p)
{
    const json_t *v;
    size_t i, pl = kg_mpc_group_point_len(g);
    uint8_t pok[128];
    memset(m, 0, sizeof *m);
    m->from = (uint16_t)json_integer_value(json_object_get(p, "identifier"));
    json_array_foreach(json_object_get(p, "vss_commitments"), i, v) point_of(g, &m->commitment[i], v);
    m->t = (uint16_t)json_array_size(json_object_get(p, "vss_commitments"));
    assert_int_equal(hex(pok, sizeof pok, json_object_get(p, "proof_of_knowledge")), pl + 32);
    assert_int_equal(kg_mpc_point_deserialize(g, &m->proof_R, pok, pl), KG_OK);
    assert_int_equal(kg_mpc_scalar_from_bytes(g, &m->proof_mu, pok + pl, 32), KG_OK);
}

static unsigned n_proofs, n_r2, n_final;

static void run_dkg_vector(kg_mpc_group_id g, const json_t *j)
{
    const json_t *cfg = json_object_get(j, "config"), *in = json_object_get(j, "inputs");
    unsigned t = (unsigned)json_integer_value(json_object_get(cfg, "MIN_PARTICIPANTS"));
    unsigned n = (unsigned)json_integer_value(json_object_get(cfg, "MAX_PARTICIPANTS"));
    assert_true(n <= 8 && t <= n);
    kg_mpc_frost_dkg_round1 *r1 = calloc(n + 1, sizeof *r1), *others = calloc(n, sizeof *r1);
    kg_mpc_frost_dkg_round2 out[8], inbox[8];
    kg_mpc_point vk, publics[8];
    char key[16];
    assert_non_null(r1);
    assert_non_null(others);
    point_of(g, &vk, json_object_get(in, "verifying_key"));
    for (unsigned i = 1; i <= n; i++) { /* the published round-1 messages and their proofs */
        snprintf(key, sizeof key, "%u", i);
        vector_round1(g, &r1[i], json_object_get(in, key));
        assert_int_equal(kg_mpc_frost_dkg_round1_check(g, t, &r1[i]), KG_OK);
        n_proofs++;
    }
    for (unsigned i = 1; i <= n; i++) {
        const json_t *p = json_object_get(in, (snprintf(key, sizeof key, "%u", i), key));
        kg_mpc_scalar coeffs[2];
        kg_mpc_frost_dkg *d = NULL;
        kg_mpc_frost_dkg_round1 mine;
        uint16_t culprit = 0;
        assert_int_equal(t, 2); /* the files give a_i0 ("signing_key") and one "coefficient" */
        scalar_of(g, &coeffs[0], json_object_get(p, "signing_key"));
        scalar_of(g, &coeffs[1], json_object_get(p, "coefficient"));
        assert_int_equal(kg_mpc_frost_dkg_new(&d, g, (uint16_t)i, t, n), KG_OK);
        assert_int_equal(kg_mpc_frost_dkg_round1_run(d, &mine, coeffs, NULL), KG_OK);
        assert_memory_equal(mine.commitment, r1[i].commitment, t * sizeof mine.commitment[0]);
        assert_int_equal(kg_mpc_frost_dkg_round1_check(g, t, &mine), KG_OK); /* our own proof */
        size_t k = 0;
        for (unsigned l = 1; l <= n; l++)
            if (l != i)
                others[k++] = r1[l];
        assert_int_equal(kg_mpc_frost_dkg_round2_run(d, out, &culprit, others, k), KG_OK);
        for (size_t m = 0; m < k; m++) { /* f_i(l) == participant l's signing_shares[i] */
            const json_t *pl = json_object_get(in, (snprintf(key, sizeof key, "%u", out[m].to), key));
            snprintf(key, sizeof key, "%u", i);
            kg_mpc_scalar want;
            scalar_of(g, &want, json_object_get(json_object_get(pl, "signing_shares"), key));
            assert_memory_equal(want.b, out[m].share.b, 32);
            n_r2++;
        }
        const json_t *recv = json_object_get(p, "signing_shares"), *v;
        const char *from;
        k = 0;
        json_object_foreach((json_t *)recv, from, v) {
            inbox[k].from = (uint16_t)atoi(from), inbox[k].to = (uint16_t)i;
            scalar_of(g, &inbox[k].share, v);
            k++;
        }
        kg_mpc_frost_key_share share;
        assert_int_equal(kg_mpc_frost_dkg_finish(d, &share, publics, &culprit, inbox, k), KG_OK);
        kg_mpc_scalar want;
        scalar_of(g, &want, json_object_get(p, "signing_share"));
        assert_memory_equal(want.b, share.secret.b, 32);
        kg_mpc_point wpub;
        point_of(g, &wpub, json_object_get(p, "verifying_share"));
        assert_true(kg_mpc_point_eq(g, &wpub, &share.public_share));
        assert_true(kg_mpc_point_eq(g, &wpub, &publics[i - 1]));
        assert_true(kg_mpc_point_eq(g, &vk, &share.group_public));
        n_final++;
        kg_mpc_frost_dkg_free(d);
        kg_wipe(&share, sizeof share);
    }
    free(r1);
    free(others);
}

static void test_zf_dkg_vectors(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_SUITES; s++) {
        char path[512];
        json_error_t err;
        snprintf(path, sizeof path, "%s/frost/zcashfoundation/%s-vectors_dkg.json", KG_VECTORS_DIR, suites[s].zf);
        json_t *j = json_load_file(path, 0, &err);
        if (!j)
            fail_msg("cannot load %s: %s", path, err.text);
        run_dkg_vector(suites[s].g, j);
        json_decref(j);
    }
    printf("[ frost-dkg ] Zcash Foundation vectors_dkg.json: 4 files, %u proofs of knowledge verified, "
           "%u round-2 shares and %u final key shares (signing share, verifying share, group key) match; "
           "skipped ed448 (no group) and secp256k1-tr (frost_tr)\n", n_proofs, n_r2, n_final);
}

/* ---------------------------------------------------------------- random */

typedef struct {
    kg_mpc_frost_dkg *d[16];
    kg_mpc_frost_dkg_round1 *r1;      /* n messages */
    kg_mpc_frost_dkg_round2 r2[16][16]; /* r2[sender][k] */
    kg_mpc_frost_key_share keys[16];
} net;

/* Run rounds 1 and 2 for everyone; corrupt is applied to the round-1
 * message of bad_r1 (0: none). Returns the first failure. */
static kg_err run_rounds(net *nt, kg_mpc_group_id g, unsigned t, unsigned n, uint16_t bad_r1, uint16_t *culprit)
{
    nt->r1 = calloc(n, sizeof *nt->r1);
    kg_mpc_frost_dkg_round1 *others = calloc(n, sizeof *others);
    assert_non_null(nt->r1);
    assert_non_null(others);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(kg_mpc_frost_dkg_new(&nt->d[i], g, (uint16_t)(i + 1), t, n), KG_OK);
        assert_int_equal(kg_mpc_frost_dkg_round1_run(nt->d[i], &nt->r1[i], NULL, NULL), KG_OK);
    }
    if (bad_r1) { /* a wrong proof: mu + 1 */
        kg_mpc_scalar one;
        kg_mpc_scalar_from_u64(g, &one, 1);
        kg_mpc_scalar_add(g, &nt->r1[bad_r1 - 1].proof_mu, &nt->r1[bad_r1 - 1].proof_mu, &one);
    }
    kg_err first = KG_OK;
    for (unsigned i = 0; i < n; i++) {
        size_t k = 0;
        for (unsigned l = 0; l < n; l++)
            if (l != i)
                others[k++] = nt->r1[l];
        kg_err e = kg_mpc_frost_dkg_round2_run(nt->d[i], nt->r2[i], culprit, others, k);
        if (e != KG_OK && first == KG_OK)
            first = e;
    }
    free(others);
    return first;
}

static kg_err run_finish(net *nt, unsigned n, uint16_t bad_from, uint16_t bad_to, uint16_t *culprit)
{
    kg_mpc_frost_dkg_round2 inbox[16];
    kg_err first = KG_OK;
    for (unsigned i = 0; i < n; i++) {
        size_t k = 0;
        for (unsigned l = 0; l < n; l++)
            for (unsigned m = 0; l != i && m < n - 1; m++)
                if (nt->r2[l][m].to == i + 1)
                    inbox[k++] = nt->r2[l][m];
        for (size_t m = 0; m < k; m++)
            if (inbox[m].from == bad_from && inbox[m].to == bad_to)
                inbox[m].share.b[16] ^= 0x01;
        uint16_t c = 0;
        kg_err e = kg_mpc_frost_dkg_finish(nt->d[i], &nt->keys[i], NULL, &c, inbox, k);
        if (e != KG_OK && first == KG_OK) {
            first = e;
            *culprit = c;
            static const kg_mpc_frost_key_share zero;
            assert_memory_equal(&nt->keys[i], &zero, sizeof zero); /* no key material */
        }
    }
    return first;
}

static void net_free(net *nt, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        kg_mpc_frost_dkg_free(nt->d[i]);
    free(nt->r1);
    kg_wipe(nt, sizeof *nt);
}

static void sign_with(kg_mpc_group_id g, const kg_mpc_frost_key_share *keys, unsigned t)
{
    kg_mpc_frost_nonce nonce[16];
    kg_mpc_frost_commitment coms[16];
    kg_mpc_frost_sig_share ss[16];
    kg_mpc_point pubs[16];
    static const uint8_t msg[] = "dkg then sign";
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

static void test_random_dkg(void **state)
{
    (void)state;
    static const unsigned tn[][2] = {{2, 2}, {2, 3}, {3, 5}, {5, 5}, {4, 7}};
    unsigned runs = 0;
    for (size_t s = 0; s < N_SUITES; s++)
        for (size_t p = 0; p < sizeof tn / sizeof tn[0]; p++) {
            kg_mpc_group_id g = suites[s].g;
            unsigned t = tn[p][0], n = tn[p][1];
            net *nt = calloc(1, sizeof *nt);
            uint16_t c = 0;
            assert_non_null(nt);
            assert_int_equal(run_rounds(nt, g, t, n, 0, &c), KG_OK);
            assert_int_equal(run_finish(nt, n, 0, 0, &c), KG_OK);
            for (unsigned i = 1; i < n; i++)
                assert_true(kg_mpc_point_eq(g, &nt->keys[i].group_public, &nt->keys[0].group_public));
            kg_mpc_scalar sk; /* any t shares give the key of PK */
            kg_mpc_point pk;
            assert_int_equal(kg_mpc_frost_secret_combine(g, &sk, nt->keys + (n - t), t), KG_OK);
            kg_mpc_point_base_mul(g, &pk, &sk);
            assert_true(kg_mpc_point_eq(g, &pk, &nt->keys[0].group_public));
            sign_with(g, nt->keys, t);
            net_free(nt, n);
            free(nt);
            runs++;
        }
    printf("[ frost-dkg ] %u random DKGs (4 suites x 2-of-2 .. 4-of-7) agree on the key and sign\n", runs);
}

static void test_cheaters_named(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_SUITES; s++) {
        kg_mpc_group_id g = suites[s].g;
        net *nt = calloc(1, sizeof *nt);
        uint16_t c = 0;
        assert_non_null(nt);
        kg_err e = run_rounds(nt, g, 2, 3, 2, &c); /* participant 2's proof is wrong */
        assert_int_equal(e, KG_ERR_VERIFY);
        assert_int_equal(c, 2);
        assert_non_null(strstr(kg_err_detail(e), "participant 2"));
        kg_mpc_frost_key_share ks; /* the aborted session refuses to continue */
        kg_mpc_frost_dkg_round2 none[2];
        assert_int_equal(kg_mpc_frost_dkg_finish(nt->d[0], &ks, NULL, &c, none, 2), KG_ERR_CONFLICT);
        net_free(nt, 3);
        memset(nt, 0, sizeof *nt);
        assert_int_equal(run_rounds(nt, g, 3, 4, 0, &c), KG_OK);
        c = 0;
        e = run_finish(nt, 4, 3, 1, &c); /* participant 3 sends 1 a bad share */
        assert_int_equal(e, KG_ERR_VERIFY);
        assert_int_equal(c, 3);
        assert_non_null(strstr(kg_err_detail(e), "participant 3"));
        net_free(nt, 4);
        free(nt);
    }
}

static void test_state_machine(void **state)
{
    (void)state;
    kg_mpc_frost_dkg *d = NULL;
    kg_mpc_frost_dkg_round1 m;
    kg_mpc_frost_dkg_round2 out[2];
    kg_mpc_frost_key_share ks;
    uint16_t c;
    assert_int_equal(kg_mpc_frost_dkg_new(&d, KG_MPC_GROUP_P256, 4, 2, 3), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_dkg_new(&d, KG_MPC_GROUP_P256, 1, 1, 3), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_dkg_new(&d, KG_MPC_GROUP_P256, 1, 2, 256), KG_ERR_BAD_INPUT);
    /* any step out of order aborts the session (STYLE.md: failure -> ABORTED) */
    assert_int_equal(kg_mpc_frost_dkg_new(&d, KG_MPC_GROUP_P256, 1, 2, 3), KG_OK);
    assert_int_equal(kg_mpc_frost_dkg_round2_run(d, out, &c, &m, 2), KG_ERR_CONFLICT);
    assert_int_equal(kg_mpc_frost_dkg_round1_run(d, &m, NULL, NULL), KG_ERR_CONFLICT);
    kg_mpc_frost_dkg_free(d);
    assert_int_equal(kg_mpc_frost_dkg_new(&d, KG_MPC_GROUP_P256, 1, 2, 3), KG_OK);
    assert_int_equal(kg_mpc_frost_dkg_finish(d, &ks, NULL, &c, out, 2), KG_ERR_CONFLICT);
    kg_mpc_frost_dkg_free(d);
    assert_int_equal(kg_mpc_frost_dkg_new(&d, KG_MPC_GROUP_P256, 1, 2, 3), KG_OK);
    assert_int_equal(kg_mpc_frost_dkg_round1_run(d, &m, NULL, NULL), KG_OK);
    kg_mpc_frost_dkg_round1 two[2] = {m, m}; /* our own message echoed back, and a duplicate */
    assert_int_equal(kg_mpc_frost_dkg_round2_run(d, out, &c, two, 2), KG_ERR_BAD_INPUT);
    assert_int_equal(c, 1);
    assert_int_equal(kg_mpc_frost_dkg_round1_run(d, &m, NULL, NULL), KG_ERR_CONFLICT);
    kg_mpc_frost_dkg_free(d);
}

static void test_round1_wire(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_SUITES; s++) {
        kg_mpc_group_id g = suites[s].g;
        kg_mpc_frost_dkg *d = NULL;
        kg_mpc_frost_dkg_round1 m, back;
        static uint8_t buf[KG_MPC_FROST_DKG_ROUND1_MAX_BYTES];
        size_t len = 0;
        assert_int_equal(kg_mpc_frost_dkg_new(&d, g, 2, 3, 4), KG_OK);
        assert_int_equal(kg_mpc_frost_dkg_round1_run(d, &m, NULL, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_dkg_round1_serialize(g, buf, &len, &m), KG_OK);
        assert_int_equal(len, 4 + 4 * kg_mpc_group_point_len(g) + 32);
        assert_int_equal(kg_mpc_frost_dkg_round1_parse(g, &back, buf, len), KG_OK);
        assert_memory_equal(&back, &m, sizeof m);
        assert_int_equal(kg_mpc_frost_dkg_round1_check(g, 3, &back), KG_OK);
        assert_int_equal(kg_mpc_frost_dkg_round1_check(g, 2, &back), KG_ERR_VERIFY);
        assert_int_equal(kg_mpc_frost_dkg_round1_parse(g, &back, buf, len - 1), KG_ERR_BAD_INPUT);
        buf[3] = 0;
        assert_int_equal(kg_mpc_frost_dkg_round1_parse(g, &back, buf, len), KG_ERR_BAD_INPUT);
        kg_mpc_frost_dkg_free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zf_dkg_vectors),
        cmocka_unit_test(test_random_dkg),
        cmocka_unit_test(test_cheaters_named),
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_round1_wire),
    };
    if (kg_crypto_init() != KG_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
