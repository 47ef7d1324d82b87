/* The MPC message envelope (src/mpc/net_msg.c): sealed point-to-point and
 * signed broadcast round trips, every truncation rejected, every header
 * byte and body byte tamper-checked (AAD / signature), wrong keys rejected,
 * replays rejected, equivocation detected and named. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/mpc.h"

static kg_secret *sk[4];
static kg_mpc_net_pubkeys pk[4];

static int setup(void **state)
{
    (void)state;
    for (int i = 1; i <= 3; i++)
        if (kg_mpc_net_keys_generate(&sk[i], &pk[i]) != KG_OK)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 1; i <= 3; i++)
        kg_secret_free(sk[i]);
    return 0;
}

static kg_mpc_net_header hdr(uint16_t from, uint16_t to, uint32_t round, uint64_t seq)
{
    kg_mpc_net_header h = {.version = KG_MPC_NET_VERSION, .scheme = 1, .type = 2, .sender = from,
                           .receiver = to, .round = round, .seq = seq};
    memset(h.session, 0xab, sizeof h.session);
    return h;
}

static void test_p2p(void **state)
{
    (void)state;
    static const uint8_t msg[] = "secret share for party 2";
    kg_mpc_net_header h = hdr(1, 2, 3, 1);
    kg_bytes env = {0};
    assert_int_equal(kg_mpc_net_envelope_seal(&env, &h, sk[1], pk[2].box, msg, sizeof msg), KG_OK);
    assert_int_equal(env.len, KG_MPC_NET_HEADER_BYTES + 24 + sizeof msg + 16);
    kg_mpc_net_envelope e;
    kg_secret *pt = NULL;
    assert_int_equal(kg_mpc_net_envelope_decode(&e, env.data, env.len), KG_OK);
    assert_int_equal(e.h.sender, 1);
    assert_int_equal(e.h.receiver, 2);
    assert_int_equal(e.h.round, 3);
    assert_int_equal(kg_mpc_net_envelope_open(&pt, &e, sk[2], 2, pk[1].box), KG_OK);
    assert_int_equal(kg_secret_len(pt), sizeof msg);
    assert_memory_equal(kg_secret_cdata(pt), msg, sizeof msg);
    kg_secret_free(pt);
    /* wrong receiver key / wrong sender key / not addressed to me */
    assert_int_equal(kg_mpc_net_envelope_open(&pt, &e, sk[3], 2, pk[1].box), KG_ERR_DECRYPT);
    assert_int_equal(kg_mpc_net_envelope_open(&pt, &e, sk[2], 2, pk[3].box), KG_ERR_DECRYPT);
    assert_int_equal(kg_mpc_net_envelope_open(&pt, &e, sk[3], 3, pk[1].box), KG_ERR_BAD_INPUT);
    assert_null(pt);
    /* every truncation */
    size_t trunc = 0;
    for (size_t n = 0; n < env.len; n++, trunc++)
        assert_int_equal(kg_mpc_net_envelope_decode(&e, env.data, n), KG_ERR_BAD_INPUT);
    /* flip every bit of every byte: rejected by the decoder or by the AEAD */
    size_t flips = 0;
    for (size_t i = 0; i < env.len; i++) {
        for (int b = 0; b < 8; b++, flips++) {
            env.data[i] ^= (uint8_t)(1u << b);
            kg_err d = kg_mpc_net_envelope_decode(&e, env.data, env.len);
            if (d == KG_OK && e.h.receiver == 2) {
                assert_int_not_equal(kg_mpc_net_envelope_open(&pt, &e, sk[2], 2, pk[1].box), KG_OK);
                assert_null(pt);
            }
            env.data[i] ^= (uint8_t)(1u << b);
        }
    }
    printf("p2p: %zu truncations, %zu bit flips rejected\n", trunc, flips);
    kg_bytes_free(&env);
    /* sealing a broadcast, a self-message, seq 0 */
    h.receiver = 0;
    assert_int_equal(kg_mpc_net_envelope_seal(&env, &h, sk[1], pk[2].box, msg, 1), KG_ERR_BAD_INPUT);
    h = hdr(1, 1, 0, 1);
    assert_int_equal(kg_mpc_net_envelope_seal(&env, &h, sk[1], pk[1].box, msg, 1), KG_ERR_BAD_INPUT);
    h = hdr(1, 2, 0, 0);
    assert_int_equal(kg_mpc_net_envelope_seal(&env, &h, sk[1], pk[2].box, msg, 1), KG_ERR_BAD_INPUT);
    /* low-order X25519 key */
    static const uint8_t zero[32];
    h = hdr(1, 2, 0, 1);
    assert_int_equal(kg_mpc_net_envelope_seal(&env, &h, sk[1], zero, msg, 1), KG_ERR_BAD_INPUT);
    assert_null(env.data);
}

static void test_broadcast(void **state)
{
    (void)state;
    static const uint8_t msg[] = "round-1 commitment";
    kg_mpc_net_header h = hdr(3, 0, 1, 5);
    kg_bytes env = {0};
    assert_int_equal(kg_mpc_net_envelope_sign(&env, &h, sk[3], msg, sizeof msg), KG_OK);
    kg_mpc_net_envelope e;
    const uint8_t *p = NULL;
    size_t plen = 0;
    assert_int_equal(kg_mpc_net_envelope_decode(&e, env.data, env.len), KG_OK);
    assert_int_equal(kg_mpc_net_envelope_verify(&p, &plen, &e, pk[3].sign), KG_OK);
    assert_int_equal(plen, sizeof msg);
    assert_memory_equal(p, msg, plen);
    assert_int_equal(kg_mpc_net_envelope_verify(&p, &plen, &e, pk[1].sign), KG_ERR_VERIFY);
    for (size_t n = 0; n < env.len; n++)
        assert_int_equal(kg_mpc_net_envelope_decode(&e, env.data, n), KG_ERR_BAD_INPUT);
    for (size_t i = 0; i < env.len; i++) {
        env.data[i] ^= 0x01;
        if (kg_mpc_net_envelope_decode(&e, env.data, env.len) == KG_OK && e.h.receiver == 0)
            assert_int_not_equal(kg_mpc_net_envelope_verify(&p, &plen, &e, pk[3].sign), KG_OK);
        env.data[i] ^= 0x01;
    }
    /* an empty broadcast payload is fine */
    kg_bytes empty = {0};
    assert_int_equal(kg_mpc_net_envelope_sign(&empty, &h, sk[3], NULL, 0), KG_OK);
    assert_int_equal(kg_mpc_net_envelope_decode(&e, empty.data, empty.len), KG_OK);
    assert_int_equal(kg_mpc_net_envelope_verify(&p, &plen, &e, pk[3].sign), KG_OK);
    assert_int_equal(plen, 0);
    kg_bytes_free(&empty);
    kg_bytes_free(&env);
    h.receiver = 2;
    assert_int_equal(kg_mpc_net_envelope_sign(&env, &h, sk[3], msg, 1), KG_ERR_BAD_INPUT);
}

static void test_equivocation(void **state)
{
    (void)state;
    kg_mpc_net_header h = hdr(2, 0, 4, 1);
    kg_bytes a = {0}, b = {0}, c = {0};
    assert_int_equal(kg_mpc_net_envelope_sign(&a, &h, sk[2], (const uint8_t *)"to-1", 4), KG_OK);
    h.seq = 2;
    assert_int_equal(kg_mpc_net_envelope_sign(&b, &h, sk[2], (const uint8_t *)"to-3", 4), KG_OK);
    assert_int_equal(kg_mpc_net_envelope_sign(&c, &h, sk[2], (const uint8_t *)"to-1", 4), KG_OK);
    kg_mpc_net_envelope ea, eb, ec;
    assert_int_equal(kg_mpc_net_envelope_decode(&ea, a.data, a.len), KG_OK);
    assert_int_equal(kg_mpc_net_envelope_decode(&eb, b.data, b.len), KG_OK);
    assert_int_equal(kg_mpc_net_envelope_decode(&ec, c.data, c.len), KG_OK);
    uint32_t who = 9;
    assert_int_equal(kg_mpc_net_equivocation_check(&who, &ea, &ec, pk[2].sign), KG_OK);
    assert_int_equal(who, 0);
    assert_int_equal(kg_mpc_net_equivocation_check(&who, &ea, &eb, pk[2].sign), KG_ERR_CONFLICT);
    assert_int_equal(who, 2);
    assert_non_null(strstr(kg_err_detail(KG_ERR_CONFLICT), "party 2 equivocated"));
    assert_int_equal(kg_mpc_net_equivocation_check(&who, &ea, &eb, pk[1].sign), KG_ERR_VERIFY);
    assert_int_equal(who, 0);
    /* different rounds are not equivocation */
    eb.h.round = 5;
    assert_int_equal(kg_mpc_net_equivocation_check(&who, &ea, &eb, pk[2].sign), KG_OK);
    kg_bytes_free(&a);
    kg_bytes_free(&b);
    kg_bytes_free(&c);
}

static void test_replay(void **state)
{
    (void)state;
    kg_mpc_net_replay *r = NULL;
    assert_int_equal(kg_mpc_net_replay_new(&r, 2), KG_OK);
    kg_mpc_net_header h = hdr(1, 2, 0, 1);
    assert_int_equal(kg_mpc_net_replay_check(r, &h), KG_OK);
    assert_int_equal(kg_mpc_net_replay_check(r, &h), KG_ERR_CONFLICT); /* repeat */
    h.seq = 5;
    assert_int_equal(kg_mpc_net_replay_check(r, &h), KG_OK);
    h.seq = 4;
    assert_int_equal(kg_mpc_net_replay_check(r, &h), KG_ERR_CONFLICT); /* old */
    h.sender = 3;
    assert_int_equal(kg_mpc_net_replay_check(r, &h), KG_OK); /* other sender, own counter */
    h.session[0] = 1;
    assert_int_equal(kg_mpc_net_replay_check(r, &h), KG_ERR_TOO_LARGE); /* window full */
    uint8_t s[32];
    memset(s, 0xab, sizeof s);
    kg_mpc_net_replay_forget(r, s);
    assert_int_equal(kg_mpc_net_replay_check(r, &h), KG_OK);
    kg_mpc_net_replay_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p2p), cmocka_unit_test(test_broadcast), cmocka_unit_test(test_equivocation),
        cmocka_unit_test(test_replay),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
