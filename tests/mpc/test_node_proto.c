/* The coordinator<->node wire format (src/mpc/node_proto.c, node_util.c):
 * request/response round trips, every truncation and every malformed header
 * field rejected, error frames carrying their code and sanitised text, the
 * bounds-checked body reader (short fields, oversized blobs, trailing
 * bytes), key id syntax and the stored key share layout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/mpc.h"
#include "../../src/mpc/node_int.h"

static kg_bytes make(uint8_t type, uint8_t scheme, const uint8_t *body, size_t len)
{
    kg_mpc_node_msg m = {.type = type, .scheme = scheme, .body = body, .body_len = len};
    for (size_t i = 0; i < sizeof m.session; i++) m.session[i] = (uint8_t)(i * 7);
    kg_bytes b = {0};
    assert_int_equal(kg_mpc_node_msg_encode(&b, &m), KG_OK);
    return b;
}

static void test_roundtrip(void **state)
{
    (void)state;
    const uint8_t body[] = {1, 2, 3, 4, 5};
    const uint8_t types[] = {KG_MPC_NODE_DKG_ROUND1, KG_MPC_NODE_DKG_ROUND2, KG_MPC_NODE_DKG_FINISH,
                             KG_MPC_NODE_SIGN_COMMIT, KG_MPC_NODE_SIGN_SHARE,
                             KG_MPC_NODE_SIGN_SHARE | KG_MPC_NODE_RESPONSE};
    for (size_t t = 0; t < sizeof types; t++) {
        kg_bytes b = make(types[t], KG_MPC_GROUP_ED25519, body, sizeof body);
        assert_int_equal(b.len, KG_MPC_NODE_HEADER_BYTES + sizeof body);
        kg_mpc_node_msg m;
        assert_int_equal(kg_mpc_node_msg_decode(&m, b.data, b.len), KG_OK);
        assert_int_equal(m.type, types[t]);
        assert_int_equal(m.scheme, KG_MPC_GROUP_ED25519);
        assert_int_equal(m.session[3], 21);
        assert_int_equal(m.body_len, sizeof body);
        assert_memory_equal(m.body, body, sizeof body);
        /* every truncation and every extension is refused */
        for (size_t n = 0; n < b.len; n++) assert_int_equal(kg_mpc_node_msg_decode(&m, b.data, n), KG_ERR_BAD_INPUT);
        uint8_t longer[64] = {0};
        memcpy(longer, b.data, b.len);
        assert_int_equal(kg_mpc_node_msg_decode(&m, longer, b.len + 1), KG_ERR_BAD_INPUT);
        kg_bytes_free(&b);
    }
    kg_bytes e = make(KG_MPC_NODE_SIGN_COMMIT, KG_MPC_GROUP_P256, NULL, 0);
    kg_mpc_node_msg m;
    assert_int_equal(kg_mpc_node_msg_decode(&m, e.data, e.len), KG_OK);
    assert_int_equal(m.body_len, 0);
    kg_bytes_free(&e);
    printf("node proto round trips: %zu types\n", sizeof types);
}

static void test_rejects(void **state)
{
    (void)state;
    kg_mpc_node_msg q = {.type = 0x33, .scheme = 1};
    kg_bytes b = {0};
    assert_int_equal(kg_mpc_node_msg_encode(&b, &q), KG_ERR_BAD_INPUT);
    q.type = KG_MPC_NODE_DKG_ROUND1;
    q.scheme = 0;
    assert_int_equal(kg_mpc_node_msg_encode(&b, &q), KG_ERR_BAD_INPUT);
    q.scheme = 9;
    assert_int_equal(kg_mpc_node_msg_encode(&b, &q), KG_ERR_BAD_INPUT);
    q.scheme = 1;
    q.body_len = KG_MPC_NET_FRAME_MAX_BYTES;
    assert_int_equal(kg_mpc_node_msg_encode(&b, &q), KG_ERR_TOO_LARGE);
    assert_null(b.data);

    kg_bytes good = make(KG_MPC_NODE_DKG_ROUND2, KG_MPC_GROUP_SECP256K1, (const uint8_t *)"ab", 2);
    kg_mpc_node_msg m;
    struct { size_t off; uint8_t val; } bad[] = {
        {0, 0}, {0, 2}, {1, 0}, {1, 0x1F}, {1, 0x7F}, {2, 0}, {2, 5}, {3, 1}, {39, 3}, {38, 1}, {36, 0x80},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t c[64];
        memcpy(c, good.data, good.len);
        c[bad[i].off] = bad[i].val;
        assert_int_equal(kg_mpc_node_msg_decode(&m, c, good.len), KG_ERR_BAD_INPUT);
        assert_int_equal(m.type, 0);
        assert_null(m.body);
    }
    assert_int_equal(kg_mpc_node_msg_decode(&m, NULL, 0), KG_ERR_BAD_INPUT);
    kg_bytes_free(&good);
    printf("node proto header rejects: %zu\n", sizeof bad / sizeof bad[0]);
}

static void test_error_frame(void **state)
{
    (void)state;
    uint8_t sess[32] = {9};
    kg_bytes b = {0};
    assert_int_equal(kg_mpc_node_error_encode(&b, sess, KG_ERR_NOT_FOUND, "no key mpc-1\n\x01"), KG_OK);
    kg_mpc_node_msg m;
    assert_int_equal(kg_mpc_node_msg_decode(&m, b.data, b.len), KG_OK);
    assert_int_equal(m.type, KG_MPC_NODE_ERROR);
    assert_int_equal(m.session[0], 9);
    assert_int_equal(kg_mpc_node_error_decode(&m, 3), KG_ERR_NOT_FOUND);
    assert_non_null(strstr(kg_err_detail(KG_ERR_NOT_FOUND), "node 3: no key mpc-1"));
    assert_null(strchr(kg_err_detail(KG_ERR_NOT_FOUND), '\x01'));
    kg_bytes_free(&b);
    /* an out-of-range code becomes internal; a short body is malformed */
    uint8_t body[2] = {0xFF, 0xFF};
    kg_mpc_node_msg e = {.type = KG_MPC_NODE_ERROR, .body = body, .body_len = 2};
    assert_int_equal(kg_mpc_node_error_decode(&e, 1), KG_ERR_INTERNAL);
    e.body_len = 1;
    assert_int_equal(kg_mpc_node_error_decode(&e, 1), KG_ERR_BAD_INPUT);
    e.type = KG_MPC_NODE_SIGN_COMMIT | KG_MPC_NODE_RESPONSE;
    e.body_len = 2;
    assert_int_equal(kg_mpc_node_error_decode(&e, 1), KG_ERR_BAD_INPUT);
}

static void test_body_codec(void **state)
{
    (void)state;
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, 0x0102);
    kg_mpc_node_wr_blob(&w, (const uint8_t *)"hello", 5);
    kg_mpc_node_wr_fixed(&w, (const uint8_t *)"xy", 2);
    assert_int_equal(kg_mpc_node_wr_done(&w), KG_OK);
    assert_int_equal(w.b.len, 2 + 4 + 5 + 2);

    kg_mpc_node_rd r;
    size_t len;
    kg_mpc_node_rd_init(&r, w.b.data, w.b.len);
    assert_int_equal(kg_mpc_node_rd_u16(&r), 0x0102);
    const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, 16);
    assert_int_equal(len, 5);
    assert_memory_equal(p, "hello", 5);
    assert_memory_equal(kg_mpc_node_rd_fixed(&r, 2), "xy", 2);
    assert_int_equal(kg_mpc_node_rd_end(&r, "t"), KG_OK);

    /* blob above its maximum, short reads, trailing bytes */
    kg_mpc_node_rd_init(&r, w.b.data, w.b.len);
    (void)kg_mpc_node_rd_u16(&r);
    assert_null(kg_mpc_node_rd_blob(&r, &len, 4));
    assert_int_equal(len, 0);
    assert_int_equal(kg_mpc_node_rd_end(&r, "t"), KG_ERR_BAD_INPUT);
    for (size_t n = 0; n < w.b.len; n++) {
        kg_mpc_node_rd_init(&r, w.b.data, n);
        (void)kg_mpc_node_rd_u16(&r);
        (void)kg_mpc_node_rd_blob(&r, &len, 16);
        (void)kg_mpc_node_rd_fixed(&r, 2);
        assert_int_equal(kg_mpc_node_rd_end(&r, "t"), KG_ERR_BAD_INPUT);
    }
    kg_mpc_node_rd_init(&r, w.b.data, w.b.len);
    (void)kg_mpc_node_rd_u16(&r);
    assert_int_equal(kg_mpc_node_rd_end(&r, "t"), KG_ERR_BAD_INPUT);
    /* a blob length near 2^32 does not wrap */
    const uint8_t huge[] = {0xFF, 0xFF, 0xFF, 0xFF, 0};
    kg_mpc_node_rd_init(&r, huge, sizeof huge);
    assert_null(kg_mpc_node_rd_blob(&r, &len, SIZE_MAX));
    kg_bytes_free(&w.b);
}

static void test_key_id_and_share(void **state)
{
    (void)state;
    assert_int_equal(kg_mpc_node_key_id_check((const uint8_t *)"mpc-0af3", 8), KG_OK);
    assert_int_equal(kg_mpc_node_key_id_check((const uint8_t *)"a/b", 3), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_node_key_id_check((const uint8_t *)"..", 2), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_node_key_id_check((const uint8_t *)"", 0), KG_ERR_BAD_INPUT);
    char longid[KG_MPC_NODE_KEY_ID_MAX + 2];
    memset(longid, 'a', sizeof longid);
    assert_int_equal(kg_mpc_node_key_id_check((const uint8_t *)longid, sizeof longid), KG_ERR_BAD_INPUT);

    kg_mpc_frost_key_share sh[3], back;
    kg_mpc_point vss[2];
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, sh, vss, 2, 3, NULL, NULL), KG_OK);
    uint8_t buf[KG_MPC_NODE_SHARE_BYTES];
    kg_mpc_node_share_pack(buf, &sh[1]);
    assert_int_equal(kg_mpc_node_share_unpack(&back, buf), KG_OK);
    assert_memory_equal(&back, &sh[1], sizeof back);
    assert_int_equal(kg_mpc_frost_vss_verify(&back, vss, 2), KG_OK);
    buf[0] = 9;
    assert_int_equal(kg_mpc_node_share_unpack(&back, buf), KG_ERR_BAD_INPUT);
    kg_wipe(sh, sizeof sh);
    kg_wipe(&back, sizeof back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_rejects), cmocka_unit_test(test_error_frame),
        cmocka_unit_test(test_body_codec), cmocka_unit_test(test_key_id_and_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
