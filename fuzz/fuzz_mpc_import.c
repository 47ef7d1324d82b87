/* libFuzzer target for the parsers of a trusted-dealer import: the body of
 * POST /v1/mpc/keys/import (kg_server_mpc_import_parse, src/server/
 * handlers_mpc_import.c) and the node's IMPORT_SHARE and IMPORT_CONFIRM
 * request bodies (src/mpc/node_import.c), run by node 1 with a real store
 * and envelope keys. The first input byte picks the parser (0: JSON,
 * 1: IMPORT_SHARE, 2: IMPORT_CONFIRM against a pending import session of
 * nodes 1..3); the rest is its input. Whatever the bytes, nothing may crash
 * or leak, and no share may ever be stored (no input can carry a share
 * sealed by the dealer, or the other nodes' confirmations, here). */
#include <kashguard/mpc/node.h>
#include "../src/mpc/node_int.h"
#include "../src/server/server_int.h"
#include "kashguard/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kg_mpc_nd nd;
static kg_mpc_node_config cfg = {.id = 1};
static kg_mpc_net_pubkeys others[2];

static void setup(void)
{
    char path[64];
    uint8_t k[32] = {1};
    kg_secret *sk = NULL;
    snprintf(path, sizeof path, "/tmp/kg-fuzz-import-%d.db", (int)getpid());
    unlink(path);
    nd.cfg = &cfg;
    if (kg_store_open(&nd.st, path) || kg_mpc_net_replay_new(&nd.replay, 64) ||
        kg_mpc_net_keys_generate(&nd.env, &nd.env_pub) || !(nd.seal_key = kg_secret_from(k, sizeof k)))
        abort();
    for (int i = 0; i < 2; i++) {
        if (kg_mpc_net_keys_generate(&sk, &others[i])) abort();
        kg_secret_free(sk);
    }
}

/* A pending import session of nodes 1..3 with session id 9...9. */
static kg_mpc_nd_session *pending(const kg_mpc_node_msg *m)
{
    kg_mpc_nd_session *s = NULL;
    if (kg_mpc_nd_session_new(&s, &nd, m, KG_MPC_ND_S_IMPORT)) abort();
    snprintf(s->key_id, sizeof s->key_id, "fuzz");
    s->t = 2, s->n = 3, s->ep_n = 3;
    for (uint16_t i = 0; i < 3; i++) s->ep_ids[i] = (uint16_t)(i + 1);
    s->reg[0] = nd.env_pub, s->reg[1] = others[0], s->reg[2] = others[1];
    memset(s->transcript, 0xAB, sizeof s->transcript);
    s->pending = kg_secret_new(sizeof(kg_mpc_frost_key_share));
    if (!s->pending) abort();
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nd.cfg) setup();
    if (size < 1) return 0;
    if (data[0] % 3 == 0) {
        json_t *o = json_loadb((const char *)data + 1, size - 1, 0, NULL);
        kg_server_mpc_import *q = calloc(1, sizeof *q);
        if (!q) abort();
        if (o && kg_server_mpc_import_parse(q, o) == KG_OK) {
            if (q->t < 2 || q->t > q->n || q->n < 2) abort();
            for (size_t i = 1; i < q->n; i++)
                if (q->ids[i] <= q->ids[i - 1]) abort();
            kg_server_mpc_import_free(q);
        }
        free(q);
        json_decref(o);
        return 0;
    }
    kg_mpc_node_msg m = {.type = data[0] % 3 == 1 ? KG_MPC_NODE_IMPORT_SHARE : KG_MPC_NODE_IMPORT_CONFIRM,
                         .scheme = KG_MPC_GROUP_ED25519, .body = data + 1, .body_len = size - 1};
    memset(m.session, 9, sizeof m.session);
    kg_mpc_node_wr w = {0};
    kg_err err = m.type == KG_MPC_NODE_IMPORT_SHARE ? kg_mpc_nd_import_share(&nd, &m, &w)
                                                     : kg_mpc_nd_import_confirm(&nd, pending(&m), &m, &w);
    kg_bytes_free(&w.b);
    kg_secret *s = NULL;
    if (kg_mpc_nd_share_load(&s, &nd, "fuzz") == KG_OK) abort(); /* nothing can be activated from here */
    (void)err;
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++) kg_mpc_nd_session_free(&nd, i);
    return 0;
}
