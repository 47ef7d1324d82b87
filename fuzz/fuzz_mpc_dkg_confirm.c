/* libFuzzer target for the node's DKG_CONFIRM handler (src/mpc/node_dkg.c):
 * the input is the request body a coordinator sends (a count, then signed
 * confirmation envelopes, each holding a digest and a round-1 envelope).
 * A node of a 2-of-3 session with real envelope keys and signed round-1
 * envelopes parses it; whatever the bytes, the handler must not crash or
 * leak, and a request it refuses as malformed must leave the session (and
 * its pending share) in place. */
#include <kashguard/mpc/node.h>
#include "../src/mpc/node_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kg_mpc_nd nd;
static kg_mpc_node_config cfg = {.id = 1};
static kg_secret *keys[3];
static kg_mpc_net_pubkeys pub[3];

static void setup(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/kg-fuzz-confirm-%d.db", (int)getpid());
    nd.cfg = &cfg;
    if (kg_store_open(&nd.st, path) || kg_mpc_net_replay_new(&nd.replay, 64)) abort();
    for (int i = 0; i < 3; i++)
        if (kg_mpc_net_keys_generate(&keys[i], &pub[i])) abort();
    nd.env = keys[0];
    nd.env_pub = pub[0];
}

static kg_mpc_nd_session *session(void)
{
    kg_mpc_nd_session *s = calloc(1, sizeof *s);
    if (!s) abort();
    memset(s->id, 7, sizeof s->id);
    s->kind = KG_MPC_ND_S_DKG3;
    s->g = KG_MPC_GROUP_ED25519;
    s->t = 2;
    s->n = 3;
    snprintf(s->key_id, sizeof s->key_id, "fuzz");
    s->r1 = calloc(3, sizeof *s->r1);
    s->pending = kg_secret_new(sizeof(kg_mpc_frost_key_share));
    if (!s->r1 || !s->pending) abort();
    for (uint16_t i = 1; i <= 3; i++) {
        kg_mpc_net_header h;
        uint8_t pl[8] = {0, (uint8_t)i};
        s->reg[i - 1] = pub[i - 1];
        if (kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_DKG_ROUND1, i, 0, 1, 1) ||
            kg_mpc_net_envelope_sign(&s->r1[i - 1], &h, keys[i - 1], pl, sizeof pl))
            abort();
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nd.cfg) setup();
    kg_mpc_nd_session *s = session();
    nd.s[0] = s;
    kg_mpc_node_msg m = {.type = KG_MPC_NODE_DKG_CONFIRM, .scheme = KG_MPC_GROUP_ED25519, .body = data, .body_len = size};
    memcpy(m.session, s->id, sizeof m.session);
    kg_mpc_node_wr w = {0};
    kg_err err = kg_mpc_nd_dkg_confirm(&nd, s, &m, &w);
    if (err == KG_ERR_BAD_INPUT && nd.s[0] && !nd.s[0]->pending) abort(); /* refused, yet the share is gone */
    kg_bytes_free(&w.b);
    kg_mpc_nd_session_free(&nd, 0);
    return 0;
}
