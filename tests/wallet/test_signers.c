/* Wallet signers. The local signer against the SLIP-10 test vectors (every
 * chain of the secp256k1, nist256p1 and ed25519 vectors: public key equal,
 * signature verifies with crypto.h), BIP86 (taproot output key) and BIP44
 * Ethereum keys of the "abandon ... about" mnemonic; the KMS signer on a
 * real KMS in a temp dir: the recovered key matches the KMS key. */
#include "../kms/core_fixture.h"

#include <kashguard/wallet.h>
#include <kashguard/wallet/hd.h>

static void hex_to(uint8_t *out, size_t len, const char *hex)
{
    size_t n = 0;
    assert_int_equal(kg_hex_decode(out, len, &n, hex), KG_OK);
    assert_int_equal(n, len);
}

static kg_key_ref ref_of(const char *path)
{
    kg_key_ref r;
    memset(&r, 0, sizeof(r));
    uint32_t p[KG_WALLET_PATH_MAX];
    size_t n = 0;
    assert_int_equal(kg_wallet_path_parse(p, KG_WALLET_PATH_MAX, &n, path), KG_OK);
    assert_true(n <= KG_PATH_MAX);
    memcpy(r.path, p, n * sizeof(uint32_t));
    r.path_len = n;
    return r;
}

/* The SPKI of a P-256 private key, for kg_crypto_verify. */
static void p256_verify(const uint8_t priv[32], const uint8_t digest[32], const kg_signature *sig)
{
    kg_secret *k = NULL;
    kg_bytes spki = { 0 };
    assert_int_equal(kg_crypto_priv_import(&k, KG_CRYPTO_P256, priv, 32), KG_OK);
    assert_int_equal(kg_crypto_pub_from_priv(&spki, KG_CRYPTO_P256, k), KG_OK);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_P256, spki.data, spki.len, KG_CRYPTO_INPUT_DIGEST,
                                      KG_CRYPTO_SIG_RAW, KG_CRYPTO_VERIFY_LOW_S, digest, 32,
                                      sig->data, sig->len), KG_OK);
    kg_bytes_free(&spki);
    kg_secret_free(k);
}

/* Sign with scheme at ref and check with an independent verifier. */
static void sign_check(kg_signer *s, const kg_key_ref *ref, kg_sig_scheme scheme, const kg_pubkey *pub,
                       const uint8_t *priv_for_p256)
{
    uint8_t digest[32];
    kg_crypto_sha256(digest, (const uint8_t *)"kashguard", 9);
    kg_signature sig;
    size_t len = scheme == KG_SIG_ED25519 ? 9 : 32;
    const uint8_t *msg = scheme == KG_SIG_ED25519 ? (const uint8_t *)"kashguard" : digest;
    kg_err e = kg_signer_sign(s, &sig, ref, scheme, msg, len);
    if (e != KG_OK)
        fprintf(stderr, "sign: %s\n", kg_err_detail(e));
    assert_int_equal(e, KG_OK);
    assert_int_equal(sig.len, 64);
    uint8_t rec[65], want[65];
    switch (scheme) {
    case KG_SIG_ECDSA_SECP256K1:
        assert_int_equal(kg_crypto_k1_verify(pub->data, pub->len, sig.data, digest), KG_OK);
        assert_true(sig.recid >= 0 && sig.recid <= 3);
        assert_int_equal(kg_crypto_k1_recover(rec, sig.data, sig.recid, digest), KG_OK);
        assert_int_equal(kg_crypto_k1_pubkey_convert(want, 65, pub->data, pub->len), KG_OK);
        assert_memory_equal(rec, want, 65);
        break;
    case KG_SIG_BIP340:
        assert_int_equal(sig.recid, -1);
        assert_int_equal(kg_crypto_k1_schnorr_verify(sig.data, digest, 32, pub->data), KG_OK);
        break;
    case KG_SIG_ED25519:
        assert_int_equal(kg_crypto_ed25519_verify(sig.data, pub->data, msg, len), KG_OK);
        break;
    case KG_SIG_ECDSA_P256:
        assert_int_equal(sig.recid, -1);
        p256_verify(priv_for_p256, digest, &sig);
        break;
    }
}

static void test_slip10_vectors(void **state)
{
    (void)state;
    json_t *all = json_load_file(KG_VECTORS_DIR "/slip10.json", 0, NULL);
    assert_non_null(all);
    size_t i, checked = 0, vectors = 0;
    json_t *v;
    json_array_foreach(json_object_get(all, "vectors"), i, v) {
        const char *curve = json_string_value(json_object_get(v, "curve"));
        kg_sig_scheme scheme;
        if (strcmp(curve, "secp256k1") == 0)
            scheme = KG_SIG_ECDSA_SECP256K1;
        else if (strcmp(curve, "nist256p1") == 0)
            scheme = KG_SIG_ECDSA_P256;
        else if (strcmp(curve, "ed25519") == 0)
            scheme = KG_SIG_ED25519;
        else
            continue; /* curve25519 is ECDH only: no signer */
        const char *seed_hex = json_string_value(json_object_get(v, "seed_hex"));
        uint8_t seed[64];
        size_t seed_len = 0;
        assert_int_equal(kg_hex_decode(seed, sizeof(seed), &seed_len, seed_hex), KG_OK);
        kg_secret *ss = kg_secret_from(seed, seed_len);
        kg_signer *s = NULL;
        assert_int_equal(kg_wallet_signer_local(&s, ss), KG_OK);
        kg_secret_free(ss);
        size_t j;
        json_t *c;
        json_array_foreach(json_object_get(v, "chains"), j, c) {
            kg_key_ref ref = ref_of(json_string_value(json_object_get(c, "chain")));
            uint8_t pub33[33], priv[32];
            hex_to(pub33, 33, json_string_value(json_object_get(c, "public")));
            hex_to(priv, 32, json_string_value(json_object_get(c, "private")));
            kg_pubkey pk;
            assert_int_equal(kg_signer_public_key(s, &pk, &ref, scheme), KG_OK);
            if (scheme == KG_SIG_ED25519) {
                assert_int_equal(pk.len, 32);
                assert_memory_equal(pk.data, pub33 + 1, 32);
            } else {
                assert_int_equal(pk.len, 33);
                assert_memory_equal(pk.data, pub33, 33);
            }
            sign_check(s, &ref, scheme, &pk, priv);
            if (scheme == KG_SIG_ECDSA_SECP256K1) { /* BIP340 on the same key: x-only */
                assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_BIP340), KG_OK);
                assert_int_equal(pk.len, 32);
                assert_memory_equal(pk.data, pub33 + 1, 32);
                sign_check(s, &ref, KG_SIG_BIP340, &pk, NULL);
            }
            checked++;
        }
        vectors++;
        kg_signer_close(s);
    }
    printf("slip10.json: %zu chains of %zu vectors (secp256k1, nist256p1, ed25519) "
           "signed and verified\n", checked, vectors);
    assert_true(checked >= 30);
    json_decref(all);
}

static kg_signer *abandon_signer(void)
{
    uint8_t seed[64];
    assert_int_equal(kg_wallet_bip39_to_seed(seed, "abandon abandon abandon abandon abandon abandon "
                                             "abandon abandon abandon abandon abandon about", NULL), KG_OK);
    kg_secret *ss = kg_secret_from(seed, sizeof(seed));
    kg_signer *s = NULL;
    assert_int_equal(kg_wallet_signer_local(&s, ss), KG_OK);
    kg_secret_free(ss);
    kg_wipe(seed, sizeof(seed));
    return s;
}

/* BIP86 test vector: m/86'/0'/0'/0/0 of "abandon ... about". */
static void test_bip86_taproot(void **state)
{
    (void)state;
    kg_signer *s = abandon_signer();
    kg_key_ref ref = ref_of("m/86'/0'/0'/0/0");
    uint8_t internal[32], output[32];
    hex_to(internal, 32, "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115");
    hex_to(output, 32, "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c");
    kg_pubkey pk;
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_BIP340), KG_OK);
    assert_memory_equal(pk.data, internal, 32);
    ref.taproot = true;
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_BIP340), KG_OK);
    assert_int_equal(pk.len, 32);
    assert_memory_equal(pk.data, output, 32);
    sign_check(s, &ref, KG_SIG_BIP340, &pk, NULL);
    /* With a script tree the output key changes and still verifies. */
    uint8_t merkle[32];
    memset(merkle, 0x5a, sizeof(merkle));
    ref.merkle_root = merkle;
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_BIP340), KG_OK);
    assert_memory_not_equal(pk.data, output, 32);
    sign_check(s, &ref, KG_SIG_BIP340, &pk, NULL);
    kg_signer_close(s);
    printf("BIP86 m/86'/0'/0'/0/0: internal and output keys match, key-path signature verifies\n");
}

/* BIP44 Ethereum account 0 of "abandon ... about": 0x9858EfFD232B4033E47d90003D41EC34EcaEda94. */
static void test_bip44_ethereum(void **state)
{
    (void)state;
    kg_signer *s = abandon_signer();
    kg_key_ref ref = ref_of("m/44'/60'/0'/0/0");
    kg_pubkey pk;
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ECDSA_SECP256K1), KG_OK);
    uint8_t pub65[65], h[32], want[20];
    assert_int_equal(kg_crypto_k1_pubkey_convert(pub65, 65, pk.data, pk.len), KG_OK);
    kg_crypto_keccak256(h, pub65 + 1, 64);
    hex_to(want, 20, "9858effd232b4033e47d90003d41ec34ecaeda94");
    assert_memory_equal(h + 12, want, 20);
    sign_check(s, &ref, KG_SIG_ECDSA_SECP256K1, &pk, NULL);
    kg_signer_close(s);
}

/* The parent-node cache never changes an answer: keys of interleaved
 * accounts, depths and curves equal a fresh derivation from the master. */
static void test_local_cache_consistent(void **state)
{
    (void)state;
    uint8_t seed[64];
    assert_int_equal(kg_wallet_bip39_to_seed(seed, "abandon abandon abandon abandon abandon abandon "
                                             "abandon abandon abandon abandon abandon about", NULL), KG_OK);
    kg_signer *s = abandon_signer();
    static const struct { const char *path; kg_sig_scheme scheme; kg_wallet_curve curve; } seq[] = {
        { "m/84'/0'/0'/0/0", KG_SIG_ECDSA_SECP256K1, KG_WALLET_CURVE_SECP256K1 },
        { "m/84'/0'/0'/0/1", KG_SIG_ECDSA_SECP256K1, KG_WALLET_CURVE_SECP256K1 },
        { "m/84'/0'/0'/1/0", KG_SIG_ECDSA_SECP256K1, KG_WALLET_CURVE_SECP256K1 },
        { "m/44'/501'/0'/0'", KG_SIG_ED25519, KG_WALLET_CURVE_ED25519 },
        { "m/84'/0'/0'/0/1", KG_SIG_ECDSA_SECP256K1, KG_WALLET_CURVE_SECP256K1 },
        { "m/44'/501'/1'/0'", KG_SIG_ED25519, KG_WALLET_CURVE_ED25519 },
        { "m/0'", KG_SIG_ECDSA_P256, KG_WALLET_CURVE_NIST256P1 },
        { "m/84'/0'/0'", KG_SIG_ECDSA_SECP256K1, KG_WALLET_CURVE_SECP256K1 },
        { "m/84'/0'/0'/0/0", KG_SIG_ECDSA_SECP256K1, KG_WALLET_CURVE_SECP256K1 },
        { "m/0'/1", KG_SIG_ECDSA_P256, KG_WALLET_CURVE_NIST256P1 },
    };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        kg_key_ref ref = ref_of(seq[i].path);
        kg_pubkey pub;
        assert_int_equal(kg_signer_public_key(s, &pub, &ref, seq[i].scheme), KG_OK);
        kg_wallet_hdkey master, key;
        assert_int_equal(kg_wallet_hd_from_seed(&master, seq[i].curve, seed, sizeof(seed)), KG_OK);
        assert_int_equal(kg_wallet_hd_derive_path(&key, &master, ref.path, ref.path_len), KG_OK);
        if (seq[i].scheme == KG_SIG_ED25519)
            assert_memory_equal(pub.data, key.pub + 1, 32);
        else
            assert_memory_equal(pub.data, key.pub, 33);
        kg_wallet_hdkey_wipe(&master);
        kg_wallet_hdkey_wipe(&key);
    }
    kg_signer_close(s);
    kg_wipe(seed, sizeof(seed));
}

static void test_local_bad_input(void **state)
{
    (void)state;
    kg_signer *s = abandon_signer();
    kg_key_ref ref = ref_of("m/44'/0'/0'/0/0");
    kg_signature sig;
    kg_pubkey pk;
    uint8_t d[33] = { 1 };
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_SECP256K1, d, 31), KG_ERR_BAD_INPUT);
    assert_int_equal(sig.len, 0);
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_BIP340, d, 33), KG_ERR_BAD_INPUT);
    ref.taproot = true;
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_SECP256K1, d, 32), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ED25519), KG_ERR_BAD_INPUT);
    ref.taproot = false;
    /* SLIP-10 ed25519 derives hardened steps only. */
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ED25519, d, 5), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ED25519), KG_ERR_BAD_INPUT);
    assert_int_equal(pk.len, 0);
    ref.path_len = KG_PATH_MAX + 1;
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ECDSA_SECP256K1), KG_ERR_BAD_INPUT);
    ref.path_len = 0; /* the master key itself */
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ECDSA_SECP256K1), KG_OK);
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, (kg_sig_scheme)42), KG_ERR_BAD_INPUT);
    kg_signer_close(s);
    kg_signer_close(NULL);
    kg_secret *tiny = kg_secret_new(8);
    assert_int_equal(kg_wallet_signer_local(&s, tiny), KG_ERR_BAD_INPUT);
    assert_null(s);
    kg_secret_free(tiny);
}

/* ------------------------------------------------------------------ KMS */

static void kms_spki(fx *f, kg_bytes *spki, const char *alias)
{
    json_t *doc = NULL;
    assert_int_equal(kg_kms_public_key(f->kms, f->sys, &doc, alias, 0), KG_OK);
    assert_int_equal(kg_json_get_b64(spki, doc, "public_key_der", true, 1024), KG_OK);
    json_decref(doc);
}

static void test_kms_signer(void **state)
{
    (void)state;
    fx *f = fx_new(1, 1, true, 7 * 86400);
    json_t *m1 = fx_create(f, "{\"spec\":\"ECC_SECG_P256K1\",\"alias\":\"eth\"}");
    json_t *m2 = fx_create(f, "{\"spec\":\"ECC_NIST_P256\",\"alias\":\"p256\"}");
    json_t *m3 = fx_create(f, "{\"spec\":\"ED25519\",\"alias\":\"ed\"}");
    json_t *m4 = fx_create(f, "{\"spec\":\"AES_256\",\"alias\":\"aes\"}");
    kg_signer *s = NULL;
    assert_int_equal(kg_wallet_signer_kms(&s, f->kms, f->sys), KG_OK);
    kg_key_ref ref;
    memset(&ref, 0, sizeof(ref));
    kg_pubkey pk;
    uint8_t digest[32];
    kg_crypto_sha256(digest, (const uint8_t *)"tx", 2);

    /* secp256k1: sign many digests; the recovery id always recovers the KMS key. */
    ref.key = "eth";
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ECDSA_SECP256K1), KG_OK);
    assert_int_equal(pk.len, 33);
    kg_bytes spki = { 0 }, raw = { 0 };
    kms_spki(f, &spki, "eth");
    assert_int_equal(kg_crypto_pub_raw(&raw, KG_CRYPTO_SECP256K1, spki.data, spki.len), KG_OK);
    uint8_t want[65];
    assert_int_equal(kg_crypto_k1_pubkey_convert(want, 65, pk.data, 33), KG_OK);
    assert_memory_equal(raw.data, want, 65);
    for (int i = 0; i < 8; i++) {
        digest[0] = (uint8_t)i;
        sign_check(s, &ref, KG_SIG_ECDSA_SECP256K1, &pk, NULL);
        kg_signature sig;
        assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_SECP256K1, digest, 32), KG_OK);
        uint8_t rec[65], h1[32], h2[32];
        assert_int_equal(kg_crypto_k1_recover(rec, sig.data, sig.recid, digest), KG_OK);
        kg_crypto_keccak256(h1, rec + 1, 64);  /* the Ethereum address matches */
        kg_crypto_keccak256(h2, raw.data + 1, 64);
        assert_memory_equal(h1 + 12, h2 + 12, 20);
    }
    kg_bytes_free(&spki);
    kg_bytes_free(&raw);
    /* After a rotation the signer follows the new version. */
    json_t *rot = NULL;
    assert_int_equal(kg_kms_key_rotate(f->kms, f->sys, &rot, "eth"), KG_OK);
    json_decref(rot);
    kg_pubkey pk2;
    assert_int_equal(kg_signer_public_key(s, &pk2, &ref, KG_SIG_ECDSA_SECP256K1), KG_OK);
    assert_memory_not_equal(pk2.data, pk.data, 33);
    sign_check(s, &ref, KG_SIG_ECDSA_SECP256K1, &pk2, NULL);

    /* P-256: verify with the KMS's SPKI. */
    ref.key = "p256";
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ECDSA_P256), KG_OK);
    assert_int_equal(pk.len, 33);
    kg_signature sig;
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_P256, digest, 32), KG_OK);
    assert_int_equal(sig.recid, -1);
    kms_spki(f, &spki, "p256");
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_P256, spki.data, spki.len, KG_CRYPTO_INPUT_DIGEST,
                                      KG_CRYPTO_SIG_RAW, KG_CRYPTO_VERIFY_LOW_S, digest, 32, sig.data, 64),
                     KG_OK);
    kg_bytes_free(&spki);

    /* Ed25519 signs the message. */
    ref.key = "ed";
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ED25519), KG_OK);
    assert_int_equal(pk.len, 32);
    sign_check(s, &ref, KG_SIG_ED25519, &pk, NULL);

    /* Refusals. */
    ref.key = "eth";
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_BIP340, digest, 32), KG_ERR_WRONG_KEY_USAGE);
    assert_non_null(strstr(kg_err_detail(KG_ERR_WRONG_KEY_USAGE), "not supported yet"));
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_P256, digest, 32), KG_ERR_WRONG_KEY_USAGE);
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_SECP256K1, digest, 20), KG_ERR_BAD_INPUT);
    ref.path_len = 1;
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_SECP256K1, digest, 32), KG_ERR_BAD_INPUT);
    ref.path_len = 0;
    ref.key = "aes";
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ECDSA_SECP256K1), KG_ERR_WRONG_KEY_USAGE);
    ref.key = "nosuch";
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_SECP256K1, digest, 32), KG_ERR_NOT_FOUND);
    ref.key = NULL;
    assert_int_equal(kg_signer_public_key(s, &pk, &ref, KG_SIG_ED25519), KG_ERR_BAD_INPUT);
    assert_int_equal(sig.len, 0);
    /* Sealed: the KMS says so. */
    ref.key = "eth";
    assert_int_equal(kg_kms_seal(f->kms, f->sys), KG_OK);
    assert_int_equal(kg_signer_sign(s, &sig, &ref, KG_SIG_ECDSA_SECP256K1, digest, 32), KG_ERR_SEALED);

    kg_signer_close(s);
    json_decref(m1);
    json_decref(m2);
    json_decref(m3);
    json_decref(m4);
    fx_free(f);
    printf("KMS signer: secp256k1 (recovery ids), P-256, Ed25519 verified; BIP340 refused\n");
}

int main(void)
{
    assert_int_equal(kg_crypto_init(), KG_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slip10_vectors),
        cmocka_unit_test(test_bip86_taproot),
        cmocka_unit_test(test_bip44_ethereum),
        cmocka_unit_test(test_local_bad_input),
        cmocka_unit_test(test_local_cache_consistent),
        cmocka_unit_test(test_kms_signer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
