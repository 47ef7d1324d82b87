/* Tests of BIP32 non-hardened derivation for CGGMP21 keys (cggmp_hd.c):
 * path parsing, the BIP32 published test vectors 1 and 2 (their
 * non-hardened steps, from the parent xpub to the child xpub), the SLIP-10
 * P-256 vectors (including the "derivation retry" index, where BIP32 says
 * "use the next index"), child = pub + tweak·G, and threshold keys: a
 * 2-of-3 dealt key whose recombined secret plus the tweak signs for the
 * child key (libsecp256k1 for secp256k1, OpenSSL through kg_crypto for
 * P-256). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <secp256k1.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/cggmp.h"

/* ------------------------------------------------------------ helpers */

static void hex(uint8_t *out, size_t len, const char *h)
{
    size_t n = 0;
    assert_int_equal(kg_hex_decode(out, len, &n, h), KG_OK);
    assert_int_equal(n, len);
}

/* A test-only base58check decoder for the BIP32 xpub strings (the chain
 * layer has the real one; the mpc tests link only kg_mpc). */
static void b58check(uint8_t out[82], const char *s)
{
    static const char alpha[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    uint8_t buf[82] = {0};
    for (; *s; s++) {
        const char *p = strchr(alpha, *s);
        assert_non_null(p);
        unsigned carry = (unsigned)(p - alpha);
        for (size_t i = sizeof buf; i-- > 0;) {
            carry += 58u * buf[i];
            buf[i] = (uint8_t)carry;
            carry >>= 8;
        }
        assert_int_equal(carry, 0);
    }
    uint8_t h1[32], h2[32];
    kg_crypto_sha256(h1, buf, 78);
    kg_crypto_sha256(h2, h1, 32);
    assert_memory_equal(h2, buf + 78, 4);
    memcpy(out, buf, 82);
}

/* An xpub's chain code and key (BIP32 "Serialization format": version 4,
 * depth 1, fingerprint 4, child number 4, chain code 32, key 33). */
static void xpub(kg_mpc_point *K, uint8_t chain[32], const char *s)
{
    uint8_t raw[82];
    b58check(raw, s);
    memcpy(chain, raw + 13, 32);
    assert_int_equal(kg_mpc_point_deserialize(KG_MPC_GROUP_SECP256K1, K, raw + 45, 33), KG_OK);
}

/* ----------------------------------------------------------- parsing */

static void test_path_parse(void **state)
{
    (void)state;
    uint32_t p[8];
    size_t d = 99;
    assert_int_equal(kg_mpc_cggmp_hd_path_parse("m", p, &d, 8), KG_OK);
    assert_int_equal(d, 0);
    assert_int_equal(kg_mpc_cggmp_hd_path_parse("m/0/5", p, &d, 8), KG_OK);
    assert_int_equal(d, 2);
    assert_int_equal(p[0], 0);
    assert_int_equal(p[1], 5);
    assert_int_equal(kg_mpc_cggmp_hd_path_parse("m/2147483647/1000000000/7", p, &d, 8), KG_OK);
    assert_int_equal(d, 3);
    assert_int_equal(p[0], 2147483647u);
    assert_int_equal(p[1], 1000000000u);

    static const char *bad[] = {
        "", "M", "0/1", "m/", "m//1", "m/1/", "/m/1", "m1", "m/0'", "m/0h", "m/0H", "m/44'/0'/0'",
        "m/2147483648", "m/4294967296", "m/99999999999999999999", "m/-1", "m/+1", "m/1a", "m/ 1",
        "m/1 ", "m/01", "m/0x10", "m/h", "m/1/2/3/4/5/6/7/8/9",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 7;
        kg_err e = kg_mpc_cggmp_hd_path_parse(bad[i], p, &d, 8);
        if (e != KG_ERR_BAD_INPUT)
            fail_msg("path \"%s\" gave %d", bad[i], (int)e);
        assert_int_equal(d, 0);
    }
    /* The hardened refusal explains itself. */
    assert_int_equal(kg_mpc_cggmp_hd_path_parse("m/0/1'", p, &d, 8), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "non-hardened"));
    assert_int_equal(kg_mpc_cggmp_hd_path_parse("m/2147483648", p, &d, 8), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "non-hardened"));
    /* max bounds the depth; "m" needs no room. */
    assert_int_equal(kg_mpc_cggmp_hd_path_parse("m/1/2", p, &d, 1), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_cggmp_hd_path_parse("m", NULL, &d, 0), KG_OK);
}

/* ------------------------------------------------- BIP32 / SLIP-10 vectors */

/* Published BIP32 test vectors (bitcoin/bips bip-0032.mediawiki, "Test
 * Vectors"; also /work/shared/vectors/bip32.json): every non-hardened step,
 * as (parent xpub, path from it, child xpub). */
static const struct {
    const char *parent, *path, *child;
} k_bip32[] = {
    /* Vector 1: m/0H -> m/0H/1 */
    {"xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
     "m/1",
     "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ"},
    /* Vector 1: m/0H/1/2H -> m/0H/1/2H/2 */
    {"xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
     "m/2",
     "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV"},
    /* Vector 1: m/0H/1/2H -> m/0H/1/2H/2/1000000000 (two levels at once) */
    {"xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
     "m/2/1000000000",
     "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy"},
    /* Vector 2: m -> m/0 (from the master xpub) */
    {"xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
     "m/0",
     "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH"},
    /* Vector 2: m/0/2147483647H -> m/0/2147483647H/1 */
    {"xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a",
     "m/1",
     "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon"},
    /* Vector 2: m/0/2147483647H/1/2147483646H -> .../2 */
    {"xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL",
     "m/2",
     "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt"},
};

static void check_tweak(kg_mpc_group_id g, const kg_mpc_point *pub, const kg_mpc_scalar *tweak,
                        const kg_mpc_point *child)
{
    kg_mpc_point tG, sum;
    kg_mpc_point_base_mul(g, &tG, tweak);
    kg_mpc_point_add(g, &sum, pub, &tG);
    assert_true(kg_mpc_point_eq(g, &sum, child));
}

static void test_bip32_vectors(void **state)
{
    (void)state;
    const kg_mpc_group_id g = KG_MPC_GROUP_SECP256K1;
    for (size_t i = 0; i < sizeof k_bip32 / sizeof k_bip32[0]; i++) {
        kg_mpc_point K, Kc, want;
        uint8_t c[32], cc[32], want_c[32];
        uint32_t path[4];
        size_t depth = 0;
        kg_mpc_scalar tweak;
        xpub(&K, c, k_bip32[i].parent);
        xpub(&want, want_c, k_bip32[i].child);
        assert_int_equal(kg_mpc_cggmp_hd_path_parse(k_bip32[i].path, path, &depth, 4), KG_OK);
        assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, path, depth, &tweak, &Kc, cc), KG_OK);
        assert_true(kg_mpc_point_eq(g, &Kc, &want));
        assert_memory_equal(cc, want_c, 32);
        check_tweak(g, &K, &tweak, &Kc);
        /* Outputs may alias inputs. */
        assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, path, depth, &tweak, &K, c), KG_OK);
        assert_true(kg_mpc_point_eq(g, &K, &want));
        assert_memory_equal(c, want_c, 32);
    }
}

/* SLIP-10 (satoshilabs slip-0010.md, "Test vectors"; also
 * /work/shared/vectors/slip10.json): nist256p1 vector 2 m -> m/0, and
 * secp256k1 vector 2 m -> m/0 given as raw chain code and key. */
static void slip10_step(kg_mpc_group_id g, const char *c_hex, const char *k_hex, uint32_t idx,
                        const char *cc_hex, const char *kc_hex)
{
    uint8_t c[32], cc[32], want_c[32], raw[33];
    kg_mpc_point K, Kc, want;
    kg_mpc_scalar tweak;
    hex(c, 32, c_hex);
    hex(raw, 33, k_hex);
    assert_int_equal(kg_mpc_point_deserialize(g, &K, raw, 33), KG_OK);
    hex(want_c, 32, cc_hex);
    hex(raw, 33, kc_hex);
    assert_int_equal(kg_mpc_point_deserialize(g, &want, raw, 33), KG_OK);
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, &idx, 1, &tweak, &Kc, cc), KG_OK);
    assert_true(kg_mpc_point_eq(g, &Kc, &want));
    assert_memory_equal(cc, want_c, 32);
    check_tweak(g, &K, &tweak, &Kc);
}

static void test_slip10_vectors(void **state)
{
    (void)state;
    slip10_step(KG_MPC_GROUP_P256, "96cd4465a9644e31528eda3592aa35eb39a9527769ce1855beafc1b81055e75d",
                "02c9e16154474b3ed5b38218bb0463e008f89ee03e62d22fdcc8014beab25b48fa", 0,
                "84e9c258bb8557a40e0d041115b376dd55eda99c0042ce29e81ebe4efed9b86a",
                "039b6df4bece7b6c81e2adfeea4bcf5c8c8a6e40ea7ffa3cf6e8494c61a1fc82cc");
    slip10_step(KG_MPC_GROUP_SECP256K1, "60499f801b896d83179a4374aeb7822aaeaceaa0db1f85ee3e904c4defbd9689",
                "03cbcaa9c98c877a26977d00825c956a238e8dddfbd322cce4f74b0b5bd6ace4a7", 0,
                "f0909affaa7ee7abe5dd4e100598d4dc53cd709d5a5c2cac40e7412f232f7c9c",
                "02fc9e5af0ac8d9b3cecfe2a888e2117ba3d089d8585886c9c826b6b22a98d12ea");
}

/* SLIP-10 "Test derivation retry for nist256p1": from m/28578H, index
 * 33941 gives I_L >= n. SLIP-10 re-hashes; BIP32 (which we follow) says the
 * index is invalid and to use the next one, which must then work. */
static void test_invalid_index(void **state)
{
    (void)state;
    const kg_mpc_group_id g = KG_MPC_GROUP_P256;
    uint8_t c[32], cc[32], raw[33];
    kg_mpc_point K, Kc;
    kg_mpc_scalar tweak;
    hex(c, 32, "e94c8ebe30c2250a14713212f6449b20f3329105ea15b652ca5bdfc68f6c65c2");
    hex(raw, 33, "02519b5554a4872e8c9c1c847115363051ec43e93400e030ba3c36b52a3e70a5b7");
    assert_int_equal(kg_mpc_point_deserialize(g, &K, raw, 33), KG_OK);
    uint32_t path[2] = {33941, 0};
    memset(cc, 0xAA, sizeof cc);
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, path, 1, &tweak, &Kc, cc), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "index 33941 is invalid"));
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "use 33942"));
    static const uint8_t zero[32];
    assert_memory_equal(cc, zero, 32); /* outputs cleared */
    assert_true(kg_mpc_scalar_is_zero(g, &tweak));
    /* Deeper in a path the same step fails too. */
    uint32_t deep[2] = {0, 0};
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, path, 2, &tweak, &Kc, cc), KG_ERR_BAD_INPUT);
    path[0] = 33942;
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, path, 1, &tweak, &Kc, cc), KG_OK);
    check_tweak(g, &K, &tweak, &Kc);
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, deep, 2, &tweak, &Kc, cc), KG_OK);
}

static void test_derive_refusals(void **state)
{
    (void)state;
    const kg_mpc_group_id g = KG_MPC_GROUP_SECP256K1;
    kg_mpc_scalar x, tweak;
    kg_mpc_point K, Kc, id;
    uint8_t c[32] = {1}, cc[32];
    assert_int_equal(kg_mpc_scalar_random(g, &x), KG_OK);
    kg_mpc_point_base_mul(g, &K, &x);
    uint32_t hard[2] = {1, 0x80000000u};
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, hard, 2, &tweak, &Kc, cc), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "non-hardened"));
    kg_mpc_point_identity(g, &id);
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &id, c, hard, 1, &tweak, &Kc, cc), KG_ERR_BAD_INPUT);
    kg_mpc_point Ke;
    kg_mpc_scalar xe;
    assert_int_equal(kg_mpc_scalar_random(KG_MPC_GROUP_ED25519, &xe), KG_OK);
    kg_mpc_point_base_mul(KG_MPC_GROUP_ED25519, &Ke, &xe);
    assert_int_equal(kg_mpc_cggmp_hd_derive(KG_MPC_GROUP_ED25519, &Ke, c, hard, 1, &tweak, &Kc, cc),
                     KG_ERR_BAD_INPUT);
    /* depth 0: the key itself, tweak 0. */
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, NULL, 0, &tweak, &Kc, cc), KG_OK);
    assert_true(kg_mpc_point_eq(g, &K, &Kc));
    assert_memory_equal(c, cc, 32);
    assert_true(kg_mpc_scalar_is_zero(g, &tweak));
}

/* ---------------------------------------------------- threshold signing */

/* A 2-of-3 key from the trusted dealer (cggmp_dealer.c); parties 1 and 3
 * recombine with their Lagrange coefficients λ1 = 3/(3-1), λ3 = 1/(1-3).
 * *x gets the key, K and c the group key and chain code of the shares. */
static void dealt_key(kg_mpc_group_id g, kg_mpc_scalar *x, kg_mpc_point *K, uint8_t c[32])
{
    kg_mpc_cggmp_share sh[3];
    kg_mpc_scalar two, three, inv, l1, l3, a, b;
    assert_int_equal(kg_mpc_cggmp_dealer(g, 2, 3, NULL, sh), KG_OK);
    assert_int_equal(sh[0].id, 1);
    assert_int_equal(sh[2].id, 3);
    kg_mpc_scalar_from_u64(g, &two, 2);
    kg_mpc_scalar_from_u64(g, &three, 3);
    assert_int_equal(kg_mpc_scalar_invert(g, &inv, &two), KG_OK);
    kg_mpc_scalar_mul(g, &l1, &three, &inv); /* 3/2 */
    kg_mpc_scalar_neg(g, &l3, &inv);         /* 1/(-2) */
    kg_mpc_scalar_mul(g, &a, &sh[0].x, &l1);
    kg_mpc_scalar_mul(g, &b, &sh[2].x, &l3);
    kg_mpc_scalar_add(g, x, &a, &b);
    kg_mpc_point xG;
    kg_mpc_point_base_mul(g, &xG, x);
    assert_true(kg_mpc_point_eq(g, &xG, &sh[0].pub));
    assert_memory_equal(sh[0].chain_code, sh[2].chain_code, 32);
    *K = sh[0].pub;
    memcpy(c, sh[0].chain_code, 32);
    kg_wipe(sh, sizeof sh);
}

static void test_threshold_secp256k1(void **state)
{
    (void)state;
    const kg_mpc_group_id g = KG_MPC_GROUP_SECP256K1;
    kg_mpc_scalar xc, tweak, child_x;
    kg_mpc_point K, Kc;
    uint8_t c[32], cc[32], digest[32], pub33[33];
    dealt_key(g, &xc, &K, c);
    uint32_t path[8];
    size_t depth = 0;
    assert_int_equal(kg_mpc_cggmp_hd_path_parse("m/44/0/7/1/123456", path, &depth, 8), KG_OK);
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, path, depth, &tweak, &Kc, cc), KG_OK);
    kg_mpc_scalar_add(g, &child_x, &xc, &tweak);

    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
    kg_crypto_sha256(digest, (const uint8_t *)"hd child", 8);
    secp256k1_ecdsa_signature sig;
    secp256k1_pubkey pk;
    assert_int_equal(secp256k1_ecdsa_sign(ctx, &sig, digest, child_x.b, NULL, NULL), 1);
    assert_int_equal(kg_mpc_point_serialize(g, pub33, &Kc), KG_OK);
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, pub33, 33), 1);
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &sig, digest, &pk), 1);
    /* The parent key does not verify it. */
    assert_int_equal(kg_mpc_point_serialize(g, pub33, &K), KG_OK);
    assert_int_equal(secp256k1_ec_pubkey_parse(ctx, &pk, pub33, 33), 1);
    assert_int_equal(secp256k1_ecdsa_verify(ctx, &sig, digest, &pk), 0);
    secp256k1_context_destroy(ctx);
}

static void test_threshold_p256(void **state)
{
    (void)state;
    const kg_mpc_group_id g = KG_MPC_GROUP_P256;
    kg_mpc_scalar xc, tweak, child_x;
    kg_mpc_point K, Kc;
    uint8_t c[32], cc[32], pub33[33];
    dealt_key(g, &xc, &K, c);
    uint32_t path[2] = {0, 5};
    assert_int_equal(kg_mpc_cggmp_hd_derive(g, &K, c, path, 2, &tweak, &Kc, cc), KG_OK);
    kg_mpc_scalar_add(g, &child_x, &xc, &tweak);

    /* Sign with OpenSSL (kg_crypto) using the combined key, verify against
     * an SPKI built from child_pub (compressed point). */
    kg_secret *priv = kg_secret_from(child_x.b, 32);
    assert_non_null(priv);
    kg_bytes sig = {0};
    const uint8_t msg[] = "hd child on p256";
    assert_int_equal(kg_crypto_sign(&sig, KG_CRYPTO_P256, priv, KG_CRYPTO_INPUT_MESSAGE, KG_CRYPTO_SIG_DER,
                                    msg, sizeof msg), KG_OK);
    static const char spki_prefix[] = "3039301306072a8648ce3d020106082a8648ce3d030107032200";
    uint8_t spki[26 + 33];
    hex(spki, 26, spki_prefix);
    assert_int_equal(kg_mpc_point_serialize(g, pub33, &Kc), KG_OK);
    memcpy(spki + 26, pub33, 33);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_P256, spki, sizeof spki, KG_CRYPTO_INPUT_MESSAGE,
                                      KG_CRYPTO_SIG_DER, 0, msg, sizeof msg, sig.data, sig.len), KG_OK);
    assert_int_equal(kg_mpc_point_serialize(g, pub33, &K), KG_OK);
    memcpy(spki + 26, pub33, 33);
    assert_int_equal(kg_crypto_verify(KG_CRYPTO_P256, spki, sizeof spki, KG_CRYPTO_INPUT_MESSAGE,
                                      KG_CRYPTO_SIG_DER, 0, msg, sizeof msg, sig.data, sig.len), KG_ERR_VERIFY);
    kg_bytes_free(&sig);
    kg_secret_free(priv);
}

int main(void)
{
    assert_int_equal(kg_crypto_init(), KG_OK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_parse),
        cmocka_unit_test(test_bip32_vectors),
        cmocka_unit_test(test_slip10_vectors),
        cmocka_unit_test(test_invalid_index),
        cmocka_unit_test(test_derive_refusals),
        cmocka_unit_test(test_threshold_secp256k1),
        cmocka_unit_test(test_threshold_p256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
