/* libFuzzer target for MPC message bodies parsed from untrusted bytes that
 * had no target of their own (node_int.h "Parsers of untrusted message
 * bodies"). The first byte picks the parser, the second a parameter (suite,
 * node id or size), the rest is the body:
 *
 *   0  SIGN_PRE request            kg_mpc_nd_sign_pre_read      (node_sign.c)
 *   1  SIGN_PREPROCESS request     kg_mpc_nd_preprocess_read    (node_sign.c)
 *   2  SIGN_PREPROCESS answer      kg_mpc_co_preprocess_answer_read (coord_cache.c)
 *   3  BIP 445 round-2 request     kg_mpc_nd_tr_round2_read     (node_sign_tr.c)
 *   4  PING answer                 kg_mpc_co_ping_answer_read   (coord_status.c)
 *   5  DKG finish answer           kg_mpc_co_dkg_finish_read    (coord_dkg.c),
 *                                  its confirmation through kg_mpc_net_envelope_decode
 *
 * Whatever the bytes: no crash, no leak, no read past the body; what is
 * accepted is consistent (counts in range, pointers inside the body, parsed
 * commitments serialize back to the same bytes); what is refused leaves the
 * outputs zeroed. */
#include <kashguard/crypto.h>
#include <kashguard/mpc/node.h>
#include "../src/mpc/node_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const kg_mpc_group_id groups[] = {KG_MPC_GROUP_ED25519, KG_MPC_GROUP_RISTRETTO255, KG_MPC_GROUP_P256,
                                         KG_MPC_GROUP_SECP256K1};

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

static void sign_pre(kg_mpc_group_id g, const uint8_t *body, size_t len)
{
    kg_mpc_nd_pre_req q;
    if (kg_mpc_nd_sign_pre_read(&q, g, body, len) != KG_OK) {
        if (!all_zero(&q, sizeof q)) abort();
        return;
    }
    if (q.cnt == 0 || q.cnt > KG_MPC_FROST_MAX_PARTICIPANTS || !q.cs || !q.key_id[0]) abort();
    if (q.msg_len && (q.msg < body || q.msg + q.msg_len > body + len)) abort();
    for (unsigned i = 0; i < q.cnt; i++) {
        uint8_t b[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
        size_t bl = 0;
        kg_mpc_frost_commitment back;
        if (kg_mpc_frost_commitment_serialize(g, b, &bl, &q.cs[i]) != KG_OK) abort();
        if (kg_mpc_frost_commitment_parse(g, &back, b, bl) != KG_OK || back.id != q.cs[i].id) abort();
    }
    free(q.cs);
}

static void preprocess_req(const uint8_t *body, size_t len)
{
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    unsigned n = 7;
    if (kg_mpc_nd_preprocess_read(key_id, &n, body, len) != KG_OK) {
        if (n != 0) abort();
        return;
    }
    if (n == 0 || n > 100 || !key_id[0] || strlen(key_id) > KG_MPC_NODE_KEY_ID_MAX) abort();
}

static void preprocess_answer(kg_mpc_group_id g, uint8_t param, const uint8_t *body, size_t len)
{
    unsigned n = (unsigned)(param % 8) + 1;
    uint16_t node = (uint16_t)(param / 8 + 1);
    uint8_t raw[8][KG_MPC_FROST_COMMITMENT_MAX_BYTES];
    size_t lens[8];
    uint8_t run[KG_MPC_FROST_NONCE_RUN_ID_BYTES];
    memset(lens, 0xff, sizeof lens);
    memset(run, 0xff, sizeof run);
    if (kg_mpc_co_preprocess_answer_read(raw, lens, run, g, node, n, body, len) != KG_OK) {
        if (!all_zero(lens, n * sizeof lens[0]) || !all_zero(raw, n * sizeof raw[0]) || !all_zero(run, sizeof run))
            abort();
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        kg_mpc_frost_commitment c;
        if (lens[i] == 0 || lens[i] > KG_MPC_FROST_COMMITMENT_MAX_BYTES) abort();
        if (kg_mpc_frost_commitment_parse(g, &c, raw[i], lens[i]) != KG_OK || c.id != node) abort();
    }
}

static void dkg_finish(uint8_t param, const uint8_t *body, size_t len)
{
    kg_bytes fin = {0}, conf = {0};
    size_t want = (size_t)param + 1;
    if (kg_mpc_co_dkg_finish_read(&fin, &conf, want, body, len) != KG_OK) {
        if (fin.data || fin.len || conf.data || conf.len) abort();
        return;
    }
    if (fin.len != want || memcmp(fin.data, body, want) != 0) abort();
    kg_mpc_net_envelope e;
    (void)kg_mpc_net_envelope_decode(&e, conf.data, conf.len);
    kg_bytes_free(&fin);
    kg_bytes_free(&conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        if (kg_crypto_init() != KG_OK) abort();
        init = true;
    }
    if (size < 2) return 0;
    const uint8_t *body = data + 2;
    size_t len = size - 2;
    kg_mpc_group_id g = groups[data[1] % 4];
    int shares = -1;
    switch (data[0] % 6) {
    case 0: sign_pre(g, body, len); break;
    case 1: preprocess_req(body, len); break;
    case 2: preprocess_answer(g, data[1] / 4, body, len); break;
    case 3: (void)kg_mpc_nd_tr_round2_read(body, len); break;
    case 4:
        if (kg_mpc_co_ping_answer_read(data[1], &shares, body, len) == KG_OK ? shares < 0 || shares > 65535 : shares != 0)
            abort();
        break;
    default: dkg_finish(data[1], body, len); break;
    }
    return 0;
}
