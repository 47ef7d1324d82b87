/* Hex and base64: RFC 4648 vectors, round trips over every byte value and
 * many lengths, and the strictness rules (padding, canonical final bits, no
 * whitespace, no URL-safe alphabet) checked exhaustively per character
 * against a slow reference classifier. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kashguard/base.h>
#include <stdlib.h>
#include <string.h>

static void check_b64(const char *plain, const char *enc)
{
    size_t n = strlen(plain);
    char buf[64];
    assert_int_equal(kg_b64_encoded_len(n), strlen(enc) + 1);
    kg_b64_encode(buf, (const uint8_t *)plain, n);
    assert_string_equal(buf, enc);
    kg_bytes b = { 0 };
    assert_int_equal(kg_b64_decode(&b, enc), KG_OK);
    assert_int_equal(b.len, n);
    assert_non_null(b.data);
    assert_memory_equal(b.data, plain, n);
    kg_bytes_free(&b);
}

static void test_b64_rfc4648_vectors(void **state)
{
    (void)state;
    check_b64("", "");
    check_b64("f", "Zg==");
    check_b64("fo", "Zm8=");
    check_b64("foo", "Zm9v");
    check_b64("foob", "Zm9vYg==");
    check_b64("fooba", "Zm9vYmE=");
    check_b64("foobar", "Zm9vYmFy");
}

static void test_b64_all_values_and_lengths(void **state)
{
    (void)state;
    uint8_t in[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(in); i++) {
        x = x * 1103515245u + 12345u;
        in[i] = (uint8_t)(i < 256 ? i : (x >> 16));
    }
    char *enc = malloc(kg_b64_encoded_len(sizeof(in)));
    assert_non_null(enc);
    for (size_t len = 0; len <= sizeof(in); len++) {
        kg_b64_encode(enc, in, len);
        assert_int_equal(strlen(enc), kg_b64_encoded_len(len) - 1);
        kg_bytes b = { 0 };
        assert_int_equal(kg_b64_decode(&b, enc), KG_OK);
        assert_int_equal(b.len, len);
        if (len)
            assert_memory_equal(b.data, in, len);
        kg_bytes_free(&b);
    }
    /* Every symbol of the alphabet, encoder side: 0x00 0x10 0x83 ... */
    static const uint8_t all[] = { 0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8b, 0x30, 0xd3, 0x8f,
                                   0x41, 0x14, 0x93, 0x51, 0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f,
                                   0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf,
                                   0xc3, 0x1c, 0xb3, 0xd3, 0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf };
    kg_b64_encode(enc, all, sizeof(all));
    assert_string_equal(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    free(enc);
}

static void expect_b64_reject(const char *s)
{
    kg_bytes b = { (uint8_t *)1, 99 };
    assert_int_equal(kg_b64_decode(&b, s), KG_ERR_BAD_INPUT);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_true(strlen(kg_err_detail(KG_ERR_BAD_INPUT)) > 10);
}

static void test_b64_rejects(void **state)
{
    (void)state;
    expect_b64_reject("Zg");        /* missing padding */
    expect_b64_reject("Zg=");       /* short padding */
    expect_b64_reject("Z===");      /* too much padding */
    expect_b64_reject("====");
    expect_b64_reject("=Zm9");      /* padding at the start */
    expect_b64_reject("Zg==Zg==");  /* padding in the middle */
    expect_b64_reject("Zh==");      /* non-canonical: low bits set */
    expect_b64_reject("Zm9=");      /* non-canonical, one pad */
    expect_b64_reject("Zm9v=");     /* length not multiple of 4 */
    expect_b64_reject("Zm 9v");     /* whitespace */
    expect_b64_reject("Zm9v\n");
    expect_b64_reject(" Zm9v");
    expect_b64_reject("Zm9-");      /* URL-safe alphabet */
    expect_b64_reject("Zm9_");
    expect_b64_reject("Zm9\xc3\xa9"); /* non-ASCII */
}

static int is_b64_symbol(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static void test_b64_every_character(void **state)
{
    (void)state;
    for (int c = 1; c < 256; c++) {
        char s[] = "AAAAAAAA";
        s[1] = (char)c; /* a full-group position */
        kg_bytes b = { 0 };
        kg_err e = kg_b64_decode(&b, s);
        assert_int_equal(e, is_b64_symbol(c) ? KG_OK : KG_ERR_BAD_INPUT);
        kg_bytes_free(&b);
        /* last symbol before one '=' must keep its low 2 bits zero */
        char t[] = "AAAA";
        t[2] = (char)c;
        t[3] = '=';
        e = kg_b64_decode(&b, t);
        const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        int ok = c == '=' || (is_b64_symbol(c) && ((strchr(alpha, c) - alpha) & 3) == 0); /* "AA==" is fine */
        assert_int_equal(e, ok ? KG_OK : KG_ERR_BAD_INPUT);
        kg_bytes_free(&b);
    }
}

static void test_hex_round_trip(void **state)
{
    (void)state;
    uint8_t in[256], out[256];
    char hex[513];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    kg_hex_encode(hex, in, sizeof(in));
    assert_int_equal(strlen(hex), 512);
    assert_memory_equal(hex, "000102030405060708090a0b0c0d0e0f10", 34);
    assert_string_equal(hex + 500, "fafbfcfdfeff");
    size_t n = 0;
    assert_int_equal(kg_hex_decode(out, sizeof(out), &n, hex), KG_OK);
    assert_int_equal(n, 256);
    assert_memory_equal(in, out, 256);

    assert_int_equal(kg_hex_decode(out, sizeof(out), &n, "0xDEADbeef"), KG_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
    assert_int_equal(kg_hex_decode(out, sizeof(out), &n, ""), KG_OK);
    assert_int_equal(n, 0);
    kg_hex_encode(hex, in, 0);
    assert_string_equal(hex, "");
}

static void test_hex_rejects(void **state)
{
    (void)state;
    uint8_t out[4];
    size_t n = 7;
    assert_int_equal(kg_hex_decode(out, sizeof(out), &n, "abc"), KG_ERR_BAD_INPUT);
    assert_int_equal(n, 0);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "odd"));
    assert_int_equal(kg_hex_decode(out, sizeof(out), &n, "0102030405"), KG_ERR_BAD_INPUT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_BAD_INPUT), "at most 4"));
    assert_int_equal(kg_hex_decode(out, sizeof(out), &n, "0g"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_hex_decode(out, sizeof(out), &n, " 01"), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_hex_decode(out, sizeof(out), &n, "0x0x"), KG_ERR_BAD_INPUT);
    for (int c = 1; c < 256; c++) {
        char s[3] = { 'a', (char)c, 0 };
        int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        assert_int_equal(kg_hex_decode(out, sizeof(out), &n, s), ok ? KG_OK : KG_ERR_BAD_INPUT);
        assert_int_equal(n, ok ? 1 : 0);
    }
}

static void test_ct_equal_and_wipe(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_int_equal(kg_ct_equal(a, b, sizeof(a)), 1);
    b[31] ^= 1;
    assert_int_equal(kg_ct_equal(a, b, sizeof(a)), 0);
    assert_int_equal(kg_ct_equal(a, b, 0), 1);
    kg_wipe(a, sizeof(a));
    for (size_t i = 0; i < sizeof(a); i++)
        assert_int_equal(a[i], 0);
    kg_wipe(NULL, 0);
}

static void test_bytes_set(void **state)
{
    (void)state;
    kg_bytes b = { 0 };
    assert_int_equal(kg_bytes_set(&b, (const uint8_t *)"abc", 3), KG_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "abc", 3);
    kg_bytes_free(&b);
    assert_null(b.data);
    assert_int_equal(kg_bytes_set(&b, NULL, 0), KG_OK);
    assert_non_null(b.data);
    assert_int_equal(b.len, 0);
    kg_bytes_free(&b);
    kg_bytes_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_rfc4648_vectors),
        cmocka_unit_test(test_b64_all_values_and_lengths),
        cmocka_unit_test(test_b64_rejects),
        cmocka_unit_test(test_b64_every_character),
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_hex_rejects),
        cmocka_unit_test(test_ct_equal_and_wipe),
        cmocka_unit_test(test_bytes_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
