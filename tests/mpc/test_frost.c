/* FROST (RFC 9591) signing and trusted-dealer keys: every RFC 9591 vector
 * file of the four suites (shares from the dealer polynomial, nonces from
 * the given randomness, commitments, binding factors, signature shares and
 * the final signature, byte for byte), the Zcash Foundation vectors
 * (vectors.json, vectors-big-identifier.json), Ed25519 signatures checked
 * by libsodium and OpenSSL, random t-of-n with every signer subset for
 * n <= 5, cheater naming, nonce reuse and the wire parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"

static const struct { kg_mpc_group_id g; const char *cfrg, *zf; } suites[] = {
    {KG_MPC_GROUP_ED25519, "frost-ed25519-sha512", "frost-ed25519"},
    {KG_MPC_GROUP_RISTRETTO255, "frost-ristretto255-sha512", "frost-ristretto255"},
    {KG_MPC_GROUP_P256, "frost-p256-sha256", "frost-p256"},
    {KG_MPC_GROUP_SECP256K1, "frost-secp256k1-sha256", "frost-secp256k1"},
};
#define N_SUITES (sizeof suites / sizeof suites[0])

static unsigned n_files, n_shares, n_nonces, n_factors, n_sig_shares, n_sigs;

static json_t *load(const char *fmt, const char *name)
{
    char path[512];
    json_error_t err;
    snprintf(path, sizeof path, fmt, KG_VECTORS_DIR, name);
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("cannot load %s: %s", path, err.text);
    return j;
}

static size_t hex(uint8_t *out, size_t cap, const json_t *s)
{
    size_t len = 0;
    assert_true(json_is_string(s));
    assert_int_equal(kg_hex_decode(out, cap, &len, json_string_value(s)), KG_OK);
    return len;
}

static long num(const json_t *v) /* the files mix "3" and 3 */
{
    return json_is_string(v) ? strtol(json_string_value(v), NULL, 10) : (long)json_integer_value(v);
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

static void assert_scalar(kg_mpc_group_id g, const kg_mpc_scalar *s, const json_t *v)
{
    kg_mpc_scalar want;
    scalar_of(g, &want, v);
    assert_memory_equal(want.b, s->b, 32);
}

static void assert_point(kg_mpc_group_id g, const kg_mpc_point *p, const json_t *v)
{
    kg_mpc_point want;
    point_of(g, &want, v);
    assert_memory_equal(want.b, p->b, sizeof want.b);
}

/* Ed25519 signatures must verify with libsodium and with OpenSSL (SPKI). */
static void check_ed25519_interop(const uint8_t *sig, const kg_mpc_point *pk, const uint8_t *msg, size_t len)
{
    static const uint8_t spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    uint8_t spki[44];
    memcpy(spki, spki_prefix, 12);
    memcpy(spki + 12, pk->b, 32);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, len, pk->b), 0);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_ED25519, spki, sizeof spki, KG_CRYPTO_INPUT_MESSAGE,
                                      KG_CRYPTO_SIG_RAW, 0, msg, len, sig, 64), KG_OK);
}

/* Shares: dealer keygen reproduces every listed share from the polynomial
 * (poly_eval for groups over 255 members, the big-identifier files). */
static void vector_shares(kg_mpc_group_id g, const json_t *in, unsigned t, unsigned n,
                          kg_mpc_frost_key_share *keys, const kg_mpc_point *pk)
{
    kg_mpc_scalar secret, coeffs[8];
    const json_t *cs = json_object_get(in, "share_polynomial_coefficients"), *v;
    size_t i;
    scalar_of(g, &secret, json_object_get(in, "group_secret_key"));
    assert_int_equal(json_array_size(cs), t - 1);
    json_array_foreach(cs, i, v) scalar_of(g, &coeffs[i], v);
    kg_mpc_point vss[8];
    if (n <= KG_MPC_FROST_MAX_PARTICIPANTS) {
        kg_mpc_frost_key_share all[KG_MPC_FROST_MAX_PARTICIPANTS];
        assert_int_equal(kg_mpc_frost_dealer_keygen(g, all, vss, t, n, &secret, coeffs), KG_OK);
        assert_true(kg_mpc_point_eq(g, &vss[0], pk));
        for (unsigned k = 0; k < n; k++)
            assert_int_equal(kg_mpc_frost_vss_verify(&all[k], vss, t), KG_OK);
    }
    kg_mpc_scalar c[8];
    c[0] = secret;
    memcpy(c + 1, coeffs, (t - 1) * sizeof c[0]);
    json_array_foreach(json_object_get(in, "participant_shares"), i, v) {
        uint16_t id = (uint16_t)num(json_object_get(v, "identifier"));
        kg_mpc_frost_key_share *k = &keys[id];
        kg_mpc_scalar x;
        memset(k, 0, sizeof *k);
        k->group = g, k->id = id, k->min_signers = (uint16_t)t, k->max_signers = (uint16_t)n;
        kg_mpc_scalar_from_u64(g, &x, id);
        kg_mpc_frost_poly_eval(g, &k->secret, c, t, &x);
        assert_scalar(g, &k->secret, json_object_get(v, "participant_share"));
        kg_mpc_point_base_mul(g, &k->public_share, &k->secret);
        k->group_public = *pk;
        n_shares++;
    }
}

static void run_vector(kg_mpc_group_id g, json_t *j)
{
    const json_t *cfg = json_object_get(j, "config"), *in = json_object_get(j, "inputs"), *v;
    unsigned t = (unsigned)num(json_object_get(cfg, "MIN_PARTICIPANTS"));
    unsigned n = (unsigned)num(json_object_get(cfg, "MAX_PARTICIPANTS"));
    const json_t *pkj = json_object_get(in, "group_public_key");
    if (!pkj)
        pkj = json_object_get(in, "verifying_key_key"); /* ZF files */
    kg_mpc_point pk, derived;
    kg_mpc_scalar gsk;
    point_of(g, &pk, pkj);
    scalar_of(g, &gsk, json_object_get(in, "group_secret_key"));
    kg_mpc_point_base_mul(g, &derived, &gsk);
    assert_true(kg_mpc_point_eq(g, &pk, &derived));
    kg_mpc_frost_key_share *keys = calloc(n + 1, sizeof *keys);
    assert_non_null(keys);
    vector_shares(g, in, t, n, keys, &pk);

    uint8_t msg[256], rh[32], rb[32];
    size_t msg_len = hex(msg, sizeof msg, json_object_get(in, "message")), i;
    const json_t *r1 = json_object_get(json_object_get(j, "round_one_outputs"), "outputs");
    size_t ns = json_array_size(r1);
    kg_mpc_frost_nonce nonces[8];
    kg_mpc_frost_commitment coms[8];
    kg_mpc_point pubs[8];
    json_array_foreach(r1, i, v) { /* round one from the vector's randomness */
        uint16_t id = (uint16_t)num(json_object_get(v, "identifier"));
        assert_int_equal(hex(rh, 32, json_object_get(v, "hiding_nonce_randomness")), 32);
        assert_int_equal(hex(rb, 32, json_object_get(v, "binding_nonce_randomness")), 32);
        assert_int_equal(kg_mpc_frost_commit(&nonces[i], &keys[id], rh, rb), KG_OK);
        assert_scalar(g, &nonces[i].hiding, json_object_get(v, "hiding_nonce"));
        assert_scalar(g, &nonces[i].binding, json_object_get(v, "binding_nonce"));
        assert_point(g, &nonces[i].commitment.hiding, json_object_get(v, "hiding_nonce_commitment"));
        assert_point(g, &nonces[i].commitment.binding, json_object_get(v, "binding_nonce_commitment"));
        coms[i] = nonces[i].commitment;
        pubs[i] = keys[id].public_share;
        n_nonces += 2;
    }
    kg_mpc_frost_signing_package pkg = {g, pk, msg, msg_len, coms, ns};
    kg_mpc_scalar rho[8];
    assert_int_equal(kg_mpc_frost_binding_factors(rho, &pkg), KG_OK);
    json_array_foreach(r1, i, v) {
        assert_scalar(g, &rho[i], json_object_get(v, "binding_factor"));
        n_factors++;
    }
    kg_mpc_frost_sig_share ss[8];
    const json_t *r2 = json_object_get(json_object_get(j, "round_two_outputs"), "outputs");
    json_array_foreach(r2, i, v) { /* round two */
        uint16_t id = (uint16_t)num(json_object_get(v, "identifier"));
        assert_int_equal(id, coms[i].id);
        assert_int_equal(kg_mpc_frost_sign(&ss[i], &nonces[i], &keys[id], &pkg), KG_OK);
        assert_scalar(g, &ss[i].z, json_object_get(v, "sig_share"));
        assert_int_equal(nonces[i].state, 0); /* wiped */
        assert_int_equal(kg_mpc_frost_verify_share(&pkg, &ss[i], &pubs[i]), KG_OK);
        n_sig_shares++;
    }
    uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES], want[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t sig_len = 0, nc = 0;
    uint16_t culprits[8];
    assert_int_equal(kg_mpc_frost_aggregate(sig, &sig_len, culprits, &nc, &pkg, ss, pubs), KG_OK);
    size_t want_len = hex(want, sizeof want, json_object_get(json_object_get(j, "final_output"), "sig"));
    assert_int_equal(sig_len, want_len);
    assert_memory_equal(sig, want, sig_len);
    assert_int_equal(kg_mpc_frost_verify(g, sig, sig_len, &pk, msg, msg_len), KG_OK);
    if (g == KG_MPC_GROUP_ED25519)
        check_ed25519_interop(sig, &pk, msg, msg_len);
    n_sigs++;
    free(keys);
}

static void test_cfrg_vectors(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_SUITES; s++) {
        json_t *j = load("%s/frost/cfrg/%s.json", suites[s].cfrg);
        run_vector(suites[s].g, j);
        json_decref(j);
        n_files++;
    }
    printf("[ frost ] skipped frost-ed448-shake256.json: no Ed448 group in KashGuard (RFC 9591 "
           "FROST(Ed448, SHAKE256) is not a supported scheme)\n");
    printf("[ frost ] RFC 9591 (cfrg) vectors: %u files, %u shares, %u nonces, %u binding factors, "
           "%u signature shares, %u signatures: all match\n",
           n_files, n_shares, n_nonces, n_factors, n_sig_shares, n_sigs);
}

static void test_zf_vectors(void **state)
{
    (void)state;
    unsigned files = 0, shares0 = n_shares, sigs0 = n_sigs;
    for (size_t s = 0; s < N_SUITES; s++) {
        static const char *kinds[] = {"vectors", "vectors-big-identifier"};
        for (size_t k = 0; k < 2; k++) {
            char name[128];
            snprintf(name, sizeof name, "%s-%s", suites[s].zf, kinds[k]);
            json_t *j = load("%s/frost/zcashfoundation/%s.json", name);
            run_vector(suites[s].g, j);
            json_decref(j);
            files++;
        }
    }
    printf("[ frost ] skipped frost-ed448-*.json (no Ed448 group) and frost-secp256k1-tr-*.json "
           "(the Taproot variant, tested with frost_tr)\n");
    printf("[ frost ] Zcash Foundation vectors: %u files, %u shares, %u signatures: all match\n",
           files, n_shares - shares0, n_sigs - sigs0);
}

/* ---------------------------------------------------------------- random */

static size_t low_byte(kg_mpc_group_id g) /* the least significant scalar byte */
{
    return g == KG_MPC_GROUP_ED25519 || g == KG_MPC_GROUP_RISTRETTO255 ? 0 : 31;
}

/* Sign msg with the signers in mask (bit i = identifier i+1); returns the
 * aggregate's result; with tamper != 0 the share of that identifier is
 * altered and must be named. */
static kg_err sign_subset(kg_mpc_group_id g, const kg_mpc_frost_key_share *keys, unsigned n, unsigned mask,
                          uint16_t tamper, uint8_t *sig, size_t *sig_len)
{
    kg_mpc_frost_nonce nonce[16];
    kg_mpc_frost_commitment coms[16];
    kg_mpc_frost_sig_share ss[16];
    kg_mpc_point pubs[16];
    const kg_mpc_frost_key_share *who[16];
    size_t k = 0;
    static const uint8_t msg[] = "KashGuard FROST test message";
    for (unsigned i = 0; i < n; i++)
        if (mask & (1u << i)) {
            who[k] = &keys[i];
            assert_int_equal(kg_mpc_frost_commit(&nonce[k], who[k], NULL, NULL), KG_OK);
            coms[k] = nonce[k].commitment;
            pubs[k] = keys[i].public_share;
            k++;
        }
    kg_mpc_frost_signing_package pkg = {g, keys[0].group_public, msg, sizeof msg - 1, coms, k};
    for (size_t i = 0; i < k; i++) {
        kg_err e = kg_mpc_frost_sign(&ss[i], &nonce[i], who[i], &pkg);
        if (e != KG_OK)
            return e; /* fewer than t signers */
        if (ss[i].id == tamper) {
            kg_mpc_scalar one;
            kg_mpc_scalar_from_u64(g, &one, 1);
            kg_mpc_scalar_add(g, &ss[i].z, &ss[i].z, &one);
        }
    }
    uint16_t culprits[16];
    size_t nc = 99;
    kg_err e = kg_mpc_frost_aggregate(sig, sig_len, culprits, &nc, &pkg, ss, pubs);
    if (tamper) {
        assert_int_equal(e, KG_ERR_VERIFY);
        assert_int_equal(nc, 1);
        assert_int_equal(culprits[0], tamper);
        assert_non_null(strstr(kg_err_detail(e), "participant"));
    } else {
        assert_int_equal(nc, 0);
    }
    return e;
}

static void test_random_subsets(void **state)
{
    (void)state;
    static const uint8_t msg[] = "KashGuard FROST test message";
    unsigned sigs = 0, refused = 0;
    for (size_t s = 0; s < N_SUITES; s++) {
        kg_mpc_group_id g = suites[s].g;
        for (unsigned n = 2; n <= 5; n++)
            for (unsigned t = 2; t <= n; t++) {
                kg_mpc_frost_key_share keys[5];
                kg_mpc_point vss[5];
                assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, t, n, NULL, NULL), KG_OK);
                for (unsigned mask = 1; mask < (1u << n); mask++) {
                    uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
                    size_t sig_len = 0;
                    kg_err e = sign_subset(g, keys, n, mask, 0, sig, &sig_len);
                    if ((unsigned)__builtin_popcount(mask) < t) {
                        assert_int_equal(e, KG_ERR_BAD_INPUT);
                        refused++;
                        continue;
                    }
                    assert_int_equal(e, KG_OK);
                    assert_int_equal(kg_mpc_frost_verify(g, sig, sig_len, &keys[0].group_public,
                                                         msg, sizeof msg - 1), KG_OK);
                    if (g == KG_MPC_GROUP_ED25519)
                        check_ed25519_interop(sig, &keys[0].group_public, msg, sizeof msg - 1);
                    sigs++;
                }
                kg_wipe(keys, sizeof keys);
            }
    }
    printf("[ frost ] every signer subset of every t-of-n with n <= 5, 4 suites: %u signatures verify, "
           "%u under-threshold sets refused\n", sigs, refused);
}

static void test_larger_groups(void **state)
{
    (void)state;
    static const unsigned tn[][2] = {{7, 10}, {2, 16}, {16, 16}};
    for (size_t s = 0; s < N_SUITES; s++)
        for (size_t p = 0; p < 3; p++) {
            unsigned t = tn[p][0], n = tn[p][1];
            kg_mpc_frost_key_share keys[16];
            kg_mpc_point vss[16];
            uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
            size_t sig_len;
            assert_int_equal(kg_mpc_frost_dealer_keygen(suites[s].g, keys, vss, t, n, NULL, NULL), KG_OK);
            unsigned mask = 0; /* the last t members */
            for (unsigned i = n - t; i < n; i++)
                mask |= 1u << i;
            assert_int_equal(sign_subset(suites[s].g, keys, n, mask, 0, sig, &sig_len), KG_OK);
            kg_mpc_scalar sk;
            assert_int_equal(kg_mpc_frost_secret_combine(suites[s].g, &sk, keys + (n - t), t), KG_OK);
            kg_mpc_point pk;
            kg_mpc_point_base_mul(suites[s].g, &pk, &sk);
            assert_true(kg_mpc_point_eq(suites[s].g, &pk, &keys[0].group_public));
        }
    kg_mpc_frost_key_share big[255];
    kg_mpc_point vss[255];
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, big, vss, 255, 255, NULL, NULL), KG_OK);
    assert_int_equal(kg_mpc_frost_vss_verify(&big[254], vss, 255), KG_OK);
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, big, vss, 2, 256, NULL, NULL),
                     KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, big, vss, 1, 3, NULL, NULL),
                     KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, big, vss, 4, 3, NULL, NULL),
                     KG_ERR_BAD_INPUT);
}

static void test_cheater_named(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_SUITES; s++) {
        kg_mpc_frost_key_share keys[5];
        kg_mpc_point vss[3];
        uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
        size_t sig_len = 7;
        assert_int_equal(kg_mpc_frost_dealer_keygen(suites[s].g, keys, vss, 3, 5, NULL, NULL), KG_OK);
        for (uint16_t bad = 1; bad <= 5; bad++) {
            assert_int_equal(sign_subset(suites[s].g, keys, 5, 0x1f, bad, sig, &sig_len), KG_ERR_VERIFY);
            assert_int_equal(sig_len, 0);
        }
        /* a tampered key share fails its VSS check, naming the holder */
        keys[3].secret.b[low_byte(suites[s].g)] ^= 1;
        kg_err e = kg_mpc_frost_vss_verify(&keys[3], vss, 3);
        assert_int_equal(e, KG_ERR_VERIFY);
        assert_non_null(strstr(kg_err_detail(e), "participant 4"));
    }
}

static void test_nonce_single_use(void **state)
{
    (void)state;
    static const uint8_t msg[] = "m";
    for (size_t s = 0; s < N_SUITES; s++) {
        kg_mpc_group_id g = suites[s].g;
        kg_mpc_frost_key_share keys[3];
        kg_mpc_point vss[2];
        kg_mpc_frost_nonce n1, n2, copy;
        kg_mpc_frost_sig_share ss;
        assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 2, 3, NULL, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_commit(&n1, &keys[0], NULL, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_commit(&n2, &keys[2], NULL, NULL), KG_OK);
        kg_mpc_frost_commitment coms[2] = {n1.commitment, n2.commitment};
        kg_mpc_frost_signing_package pkg = {g, keys[0].group_public, msg, 1, coms, 2};
        copy = n1;
        assert_int_equal(kg_mpc_frost_sign(&ss, &n1, &keys[0], &pkg), KG_OK);
        assert_int_equal(kg_mpc_frost_sign(&ss, &n1, &keys[0], &pkg), KG_ERR_CONFLICT);
        /* a nonce whose commitment is not the package's is refused and wiped */
        kg_mpc_frost_commitment swapped[2] = {coms[0], coms[1]};
        swapped[0].hiding = coms[1].hiding;
        kg_mpc_frost_signing_package bad = {g, keys[0].group_public, msg, 1, swapped, 2};
        assert_int_equal(kg_mpc_frost_sign(&ss, &copy, &keys[0], &bad), KG_ERR_BAD_INPUT);
        assert_int_equal(copy.state, 0);
        /* unsorted, duplicate and zero identifiers; a signer not in the set */
        kg_mpc_frost_commitment rev[2] = {coms[1], coms[0]};
        kg_mpc_frost_signing_package p2 = {g, keys[0].group_public, msg, 1, rev, 2};
        assert_int_equal(kg_mpc_frost_package_check(&p2), KG_ERR_BAD_INPUT);
        rev[0] = coms[0];
        p2.commitments = rev;
        assert_int_equal(kg_mpc_frost_package_check(&p2), KG_ERR_BAD_INPUT);
        rev[0].id = 0;
        assert_int_equal(kg_mpc_frost_package_check(&p2), KG_ERR_BAD_INPUT);
        assert_int_equal(kg_mpc_frost_commit(&n1, &keys[1], NULL, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_sign(&ss, &n1, &keys[1], &pkg), KG_ERR_BAD_INPUT);
        assert_int_equal(n1.state, 0);
        kg_wipe(keys, sizeof keys);
    }
}

static void test_wire(void **state)
{
    (void)state;
    for (size_t s = 0; s < N_SUITES; s++) {
        kg_mpc_group_id g = suites[s].g;
        kg_mpc_frost_key_share keys[2];
        kg_mpc_point vss[2];
        kg_mpc_frost_nonce n;
        kg_mpc_frost_commitment c;
        uint8_t buf[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
        size_t len = 0;
        assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 2, 2, NULL, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_commit(&n, &keys[1], NULL, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_commitment_serialize(g, buf, &len, &n.commitment), KG_OK);
        assert_int_equal(len, 2 + 2 * kg_mpc_group_point_len(g));
        assert_int_equal(kg_mpc_frost_commitment_parse(g, &c, buf, len), KG_OK);
        assert_memory_equal(&c, &n.commitment, sizeof c);
        assert_int_equal(kg_mpc_frost_commitment_parse(g, &c, buf, len - 1), KG_ERR_BAD_INPUT);
        buf[3] ^= 0x55;
        kg_err e = kg_mpc_frost_commitment_parse(g, &c, buf, len); /* most flips leave the group */
        assert_true(e == KG_ERR_BAD_INPUT || e == KG_OK);
        buf[0] = buf[1] = 0;
        assert_int_equal(kg_mpc_frost_commitment_parse(g, &c, buf, len), KG_ERR_BAD_INPUT);
        kg_mpc_frost_sig_share ss = {7, keys[0].secret}, back;
        uint8_t sb[KG_MPC_FROST_SIG_SHARE_BYTES];
        kg_mpc_frost_sig_share_serialize(sb, &ss);
        assert_int_equal(kg_mpc_frost_sig_share_parse(g, &back, sb, sizeof sb), KG_OK);
        assert_memory_equal(&back, &ss, sizeof ss);
        memset(sb + 2, 0xff, 32); /* >= the order */
        assert_int_equal(kg_mpc_frost_sig_share_parse(g, &back, sb, sizeof sb), KG_ERR_BAD_INPUT);
        kg_wipe(keys, sizeof keys);
        kg_wipe(&n, sizeof n);
    }
    kg_mpc_group_id g;
    assert_int_equal(kg_mpc_frost_scheme_parse(&g, "frost-p256"), KG_OK);
    assert_int_equal(g, KG_MPC_GROUP_P256);
    assert_int_equal(kg_mpc_frost_scheme_parse(&g, "frost-ed448"), KG_ERR_BAD_INPUT);
    assert_string_equal(kg_mpc_frost_scheme_name(KG_MPC_GROUP_RISTRETTO255), "frost-ristretto255");
}

static void test_verify_rejects(void **state)
{
    (void)state;
    static const uint8_t msg[] = "hello";
    for (size_t s = 0; s < N_SUITES; s++) {
        kg_mpc_group_id g = suites[s].g;
        kg_mpc_frost_key_share keys[3];
        kg_mpc_point vss[2];
        uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
        size_t len = 0;
        assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 2, 3, NULL, NULL), KG_OK);
        assert_int_equal(sign_subset(g, keys, 3, 0x5, 0, sig, &len), KG_OK);
        assert_int_equal(kg_mpc_frost_verify(g, sig, len, &keys[0].group_public,
                                             (const uint8_t *)"KashGuard FROST test message", 28), KG_OK);
        assert_int_equal(kg_mpc_frost_verify(g, sig, len, &keys[0].group_public, msg, 5), KG_ERR_VERIFY);
        assert_int_equal(kg_mpc_frost_verify(g, sig, len - 1, &keys[0].group_public, msg, 5), KG_ERR_VERIFY);
        sig[kg_mpc_group_point_len(g) + low_byte(g)] ^= 1;
        assert_int_equal(kg_mpc_frost_verify(g, sig, len, &keys[0].group_public,
                                             (const uint8_t *)"KashGuard FROST test message", 28), KG_ERR_VERIFY);
        kg_wipe(keys, sizeof keys);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfrg_vectors),
        cmocka_unit_test(test_zf_vectors),
        cmocka_unit_test(test_random_subsets),
        cmocka_unit_test(test_larger_groups),
        cmocka_unit_test(test_cheater_named),
        cmocka_unit_test(test_nonce_single_use),
        cmocka_unit_test(test_wire),
        cmocka_unit_test(test_verify_rejects),
    };
    if (kg_crypto_init() != KG_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
