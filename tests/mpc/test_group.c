/* The prime-order group interface (group.h) for the four FROST groups:
 * group laws on random values, encodings (canonical scalars, element
 * validation: identity, non-canonical, small-order and off-curve inputs
 * rejected), and RFC 9380 expand_message_xmd with SHA-256 (its §K.1 test
 * vectors). The suite hashes are covered byte for byte by the RFC 9591
 * vectors in test_frost. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/group.h"

static const kg_mpc_group_id groups[] = {KG_MPC_GROUP_ED25519, KG_MPC_GROUP_RISTRETTO255,
                                         KG_MPC_GROUP_P256, KG_MPC_GROUP_SECP256K1};

static void test_laws(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        kg_mpc_group_id g = groups[i];
        for (int round = 0; round < 20; round++) {
            kg_mpc_scalar a, b, s, m, inv, one, t;
            kg_mpc_point A, B, S, P, Q;
            assert_int_equal(kg_mpc_scalar_random(g, &a), KG_OK);
            assert_int_equal(kg_mpc_scalar_random(g, &b), KG_OK);
            kg_mpc_scalar_add(g, &s, &a, &b);
            kg_mpc_point_base_mul(g, &A, &a);
            kg_mpc_point_base_mul(g, &B, &b);
            kg_mpc_point_base_mul(g, &S, &s);
            kg_mpc_point_add(g, &P, &A, &B);
            assert_true(kg_mpc_point_eq(g, &P, &S));      /* (a+b)G = aG + bG */
            kg_mpc_point_sub(g, &P, &S, &B);
            assert_true(kg_mpc_point_eq(g, &P, &A));
            kg_mpc_scalar_mul(g, &m, &a, &b);
            kg_mpc_point_mul(g, &P, &a, &B);
            kg_mpc_point_base_mul(g, &Q, &m);
            assert_true(kg_mpc_point_eq(g, &P, &Q));      /* a(bG) = (ab)G */
            assert_int_equal(kg_mpc_scalar_invert(g, &inv, &a), KG_OK);
            kg_mpc_scalar_mul(g, &t, &inv, &a);
            kg_mpc_scalar_from_u64(g, &one, 1);
            assert_true(kg_mpc_scalar_eq(g, &t, &one));
            kg_mpc_scalar_neg(g, &t, &a);
            kg_mpc_scalar_add(g, &t, &t, &a);
            assert_true(kg_mpc_scalar_is_zero(g, &t));
            kg_mpc_scalar_sub(g, &t, &s, &b);
            assert_true(kg_mpc_scalar_eq(g, &t, &a));
            kg_mpc_point_sub(g, &P, &A, &A);             /* identity arithmetic */
            assert_true(kg_mpc_point_is_identity(g, &P));
            kg_mpc_point_add(g, &Q, &P, &A);
            assert_true(kg_mpc_point_eq(g, &Q, &A));
            kg_mpc_scalar_zero(g, &t);
            kg_mpc_point_mul(g, &Q, &t, &A);
            assert_true(kg_mpc_point_is_identity(g, &Q));
            kg_mpc_point_mul(g, &Q, &a, &P);
            assert_true(kg_mpc_point_is_identity(g, &Q));
            kg_mpc_point_base_mul(g, &Q, &t);
            assert_true(kg_mpc_point_is_identity(g, &Q));
            uint8_t enc[KG_MPC_POINT_MAX_BYTES];
            assert_int_equal(kg_mpc_point_serialize(g, enc, &P), KG_ERR_BAD_INPUT);
            assert_int_equal(kg_mpc_point_serialize(g, enc, &A), KG_OK);
            assert_int_equal(kg_mpc_point_deserialize(g, &Q, enc, kg_mpc_group_point_len(g)), KG_OK);
            assert_true(kg_mpc_point_eq(g, &Q, &A));
            assert_int_equal(kg_mpc_scalar_from_bytes(g, &t, a.b, 32), KG_OK);
        }
        kg_mpc_scalar z;
        assert_int_equal(kg_mpc_scalar_invert(g, &z, &(kg_mpc_scalar){{0}}), KG_ERR_BAD_INPUT);
    }
}

static void test_scalar_encoding(void **state)
{
    (void)state;
    /* the group orders, in each suite's byte order: not canonical; order-1 is */
    static const char *orders[] = {
        "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
        "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
    };
    for (size_t i = 0; i < 4; i++) {
        kg_mpc_group_id g = groups[i];
        uint8_t b[32];
        size_t len;
        kg_mpc_scalar s;
        assert_int_equal(kg_hex_decode(b, 32, &len, orders[i]), KG_OK);
        assert_int_equal(kg_mpc_scalar_from_bytes(g, &s, b, 32), KG_ERR_BAD_INPUT);
        b[i < 2 ? 0 : 31] -= 1;
        assert_int_equal(kg_mpc_scalar_from_bytes(g, &s, b, 32), KG_OK);
        assert_int_equal(kg_mpc_scalar_from_bytes(g, &s, b, 31), KG_ERR_BAD_INPUT);
        memset(b, 0xff, 32);
        assert_int_equal(kg_mpc_scalar_from_bytes(g, &s, b, 32), KG_ERR_BAD_INPUT);
        kg_mpc_scalar r, one; /* reduce(order + 1) = 1 */
        uint8_t wide[33] = {0};
        assert_int_equal(kg_hex_decode(i < 2 ? wide : wide + 1, 32, &len, orders[i]), KG_OK);
        wide[i < 2 ? 0 : 32] += 1;
        kg_mpc_scalar_reduce(g, &r, wide, 33);
        kg_mpc_scalar_from_u64(g, &one, 1);
        assert_true(kg_mpc_scalar_eq(g, &r, &one));
    }
}

static void bad_point(kg_mpc_group_id g, const char *hexs)
{
    uint8_t b[40];
    size_t len = 0;
    kg_mpc_point p;
    assert_int_equal(kg_hex_decode(b, sizeof b, &len, hexs), KG_OK);
    assert_int_equal(kg_mpc_point_deserialize(g, &p, b, len), KG_ERR_BAD_INPUT);
    static const kg_mpc_point zero;
    assert_memory_equal(&p, &zero, sizeof p);
}

static void test_point_validation(void **state)
{
    (void)state;
    kg_mpc_group_id ed = KG_MPC_GROUP_ED25519, ri = KG_MPC_GROUP_RISTRETTO255;
    bad_point(ed, "0100000000000000000000000000000000000000000000000000000000000000"); /* identity */
    bad_point(ed, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"); /* order 2 */
    bad_point(ed, "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"); /* order 8 */
    bad_point(ed, "0000000000000000000000000000000000000000000000000000000000000000"); /* order 4 */
    bad_point(ed, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"); /* y = p */
    bad_point(ed, "58666666666666666666666666666666666666666666666666666666666666"); /* short */
    /* the base point itself is accepted and is what base_mul(1) gives */
    kg_mpc_point B, T;
    kg_mpc_scalar one;
    kg_mpc_scalar_from_u64(ed, &one, 1);
    kg_mpc_point_base_mul(ed, &B, &one);
    uint8_t base[32];
    size_t len;
    assert_int_equal(kg_hex_decode(base, 32, &len, "5866666666666666666666666666666666666666666666666666666666666666"), KG_OK);
    assert_memory_equal(B.b, base, 32);
    assert_int_equal(kg_mpc_point_deserialize(ed, &T, base, 32), KG_OK);
    bad_point(ri, "0000000000000000000000000000000000000000000000000000000000000000"); /* identity */
    bad_point(ri, "0100000000000000000000000000000000000000000000000000000000000000"); /* negative */
    bad_point(ri, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"); /* >= p */
    bad_point(ri, "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371"); /* not square */
    for (size_t i = 2; i < 4; i++) {
        kg_mpc_group_id g = groups[i];
        kg_mpc_point_base_mul(g, &B, &one);
        uint8_t b[33];
        memcpy(b, B.b, 33);
        char hexs[80];
        kg_hex_encode(hexs, b, 33);
        hexs[1] = '4'; /* 04: uncompressed prefix on 33 bytes */
        bad_point(g, hexs);
        hexs[1] = '0';
        bad_point(g, hexs);
        bad_point(g, "02ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"); /* x >= p */
        bad_point(g, "000000000000000000000000000000000000000000000000000000000000000000"); /* identity */
        bad_point(g, "00");
    }
    bad_point(KG_MPC_GROUP_SECP256K1, "020000000000000000000000000000000000000000000000000000000000000005"); /* x^3+7 not square */
}

static void test_expand_message_xmd(void **state)
{
    (void)state;
    /* RFC 9380 Appendix K.1, expand_message_xmd(SHA-256),
     * DST = "QUUX-V01-CS02-with-expander-SHA256-128", len_in_bytes = 0x20 */
    static const char dst[] = "QUUX-V01-CS02-with-expander-SHA256-128";
    static const struct { const char *msg, *out; } v[] = {
        {"", "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235"},
        {"abc", "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615"},
    };
    for (size_t i = 0; i < 2; i++) {
        uint8_t out[32], want[32];
        size_t len;
        kg_mpc_slice part = {(const uint8_t *)v[i].msg, strlen(v[i].msg)};
        assert_int_equal(kg_mpc_expand_message_xmd_sha256(out, 32, (const uint8_t *)dst, strlen(dst), &part, 1), KG_OK);
        assert_int_equal(kg_hex_decode(want, 32, &len, v[i].out), KG_OK);
        assert_memory_equal(out, want, 32);
    }
    printf("[ group ] RFC 9380 K.1 expand_message_xmd(SHA-256): 2 vectors match\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_laws),
        cmocka_unit_test(test_scalar_encoding),
        cmocka_unit_test(test_point_validation),
        cmocka_unit_test(test_expand_message_xmd),
    };
    if (kg_crypto_init() != KG_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
