/* libFuzzer target for the CGGMP21 request bodies of a node
 * (src/mpc/node_cggmp.c, node_cggmp_sign.c). The first input byte picks
 * the request: 0..2 run the decoders alone (START, ROUND, SIGN), 3.. the
 * handler of CGGMP_START .. CGGMP_INFO on node 1, which holds a 2-of-3
 * secp256k1 key "fuzz" (dealer shares; no aux, no presignatures; real
 * store, seal and envelope keys). Whatever the bytes, nothing may crash or
 * leak, and a refused request must leave the node's share as it was.
 * Sessions are dropped after each input. */
#include <kashguard/mpc/node.h>
#include "../src/mpc/cggmp_int.h"
#include "../src/mpc/node_int.h"
#include "kashguard/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kg_mpc_nd nd;
static kg_mpc_node_config cfg = {.id = 1, .data_dir = "/tmp"};
static kg_mpc_cggmp_share share;
static const uint8_t types[] = {KG_MPC_NODE_CGGMP_START, KG_MPC_NODE_CGGMP_ROUND, KG_MPC_NODE_CGGMP_CONFIRM,
                                KG_MPC_NODE_CGGMP_ABORT, KG_MPC_NODE_CGGMP_SIGN, KG_MPC_NODE_CGGMP_BLAME,
                                KG_MPC_NODE_CGGMP_INFO};

static void setup(void)
{
    char path[64];
    uint8_t k[32] = {1};
    static kg_mpc_cggmp_share sh[3];
    snprintf(path, sizeof path, "/tmp/kg-fuzz-cggmp-node-%d.db", (int)getpid());
    unlink(path);
    nd.cfg = &cfg;
    if (kg_store_open(&nd.st, path) || kg_mpc_net_replay_new(&nd.replay, 64) ||
        kg_mpc_net_keys_generate(&nd.env, &nd.env_pub) || !(nd.seal_key = kg_secret_from(k, sizeof k)) ||
        kg_mpc_cggmp_dealer(KG_MPC_GROUP_SECP256K1, 2, 3, NULL, sh) ||
        kg_mpc_nd_cg_share_save(&nd, NULL, "fuzz", &sh[0], true))
        abort();
    share = sh[0];
}

static bool intact(void)
{
    kg_mpc_cggmp_share s;
    bool ok = kg_mpc_nd_cg_share_load(&nd, "fuzz", &s) == KG_OK && s.epoch == 0 && !memcmp(s.x.b, share.x.b, 32);
    kg_wipe(&s, sizeof s);
    return ok;
}

static void decoders(uint8_t which, const uint8_t *p, size_t n)
{
    if (which == 0) {
        kg_mpc_nd_cg_start_req *q = malloc(sizeof *q);
        if (q && kg_mpc_nd_cg_start_read(q, p, n) != KG_OK && q->phase) abort(); /* zeroed on error */
        free(q);
    } else if (which == 1) {
        const uint8_t *env[16];
        size_t lens[16], cnt = 0;
        uint16_t round = 0;
        if (kg_mpc_nd_cg_round_read(&round, env, lens, &cnt, 16, p, n) == KG_OK)
            for (size_t i = 0; i < cnt; i++)
                if (env[i] < p || env[i] + lens[i] > p + n) abort();
    } else {
        kg_mpc_nd_cg_sign_req q;
        if (kg_mpc_nd_cg_sign_read(&q, p, n) == KG_OK && q.depth > 255) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nd.cfg) setup();
    if (size < 1) return 0;
    unsigned sel = data[0] % (3 + sizeof types);
    if (sel < 3) {
        decoders((uint8_t)sel, data + 1, size - 1);
        return 0;
    }
    kg_mpc_node_msg m = {.type = types[sel - 3], .scheme = KG_MPC_GROUP_SECP256K1, .body = data + 1,
                         .body_len = size - 1};
    memset(m.session, 9, sizeof m.session);
    kg_mpc_node_wr w = {0};
    kg_err err = kg_mpc_nd_cggmp_handle(&nd, kg_mpc_nd_session_find(&nd, m.session), &m, &w);
    kg_bytes_free(&w.b);
    if (err && !intact()) abort(); /* a refused request changed the share */
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++) kg_mpc_nd_session_free(&nd, i);
    return 0;
}
