/* libFuzzer target for the refresh, reshare and repair request bodies of
 * a node (src/mpc/node_refresh.c, node_epoch.c, node_repair.c). The first
 * input byte picks the request (EPOCH_DEAL .. REPAIR_FINISH), the rest is
 * its body, handled by node 1 of a 2-of-3 Ed25519 key "fuzz" (real store,
 * seal and envelope keys). Whatever the bytes, nothing may crash or leak,
 * and a refused request must leave the node's active share and epoch as
 * they were (an EPOCH_DELETE of the key is a valid request: the share is
 * put back). Sessions are dropped after each input. */
#include <kashguard/mpc/node.h>
#include "../src/mpc/node_int.h"
#include "kashguard/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static kg_mpc_nd nd;
static kg_mpc_node_config cfg = {.id = 1};
static kg_mpc_frost_key_share share;
static const uint8_t types[] = {KG_MPC_NODE_EPOCH_DEAL, KG_MPC_NODE_EPOCH_FINISH, KG_MPC_NODE_EPOCH_COMMIT,
                                KG_MPC_NODE_EPOCH_ABORT, KG_MPC_NODE_EPOCH_DELETE, KG_MPC_NODE_REPAIR_STEP1,
                                KG_MPC_NODE_REPAIR_STEP2, KG_MPC_NODE_REPAIR_FINISH};

static void setup(void)
{
    char path[64];
    uint8_t k[32] = {1};
    kg_mpc_frost_key_share sh[3];
    kg_mpc_point vss[2];
    snprintf(path, sizeof path, "/tmp/kg-fuzz-epoch-%d.db", (int)getpid());
    unlink(path);
    nd.cfg = &cfg;
    if (kg_store_open(&nd.st, path) || kg_mpc_net_replay_new(&nd.replay, 64) ||
        kg_mpc_net_keys_generate(&nd.env, &nd.env_pub) || !(nd.seal_key = kg_secret_from(k, sizeof k)) ||
        kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_ED25519, sh, vss, 2, 3, NULL, NULL) ||
        kg_mpc_nd_share_save(&nd, "fuzz", &sh[0]))
        abort();
    share = sh[0];
}

/* The active share is the original one at epoch 0. */
static bool intact(void)
{
    kg_secret *s = NULL;
    uint32_t e = 1;
    bool ok = kg_mpc_nd_share_load(&s, &nd, "fuzz") == KG_OK && kg_mpc_nd_share_epoch(&e, &nd, "fuzz") == KG_OK &&
              e == 0 && !memcmp(((const kg_mpc_frost_key_share *)kg_secret_cdata(s))->secret.b, share.secret.b, 32);
    kg_secret_free(s);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!nd.cfg) setup();
    if (size < 1) return 0;
    kg_mpc_node_msg m = {.type = types[data[0] % sizeof types], .scheme = KG_MPC_GROUP_ED25519,
                         .body = data + 1, .body_len = size - 1};
    memset(m.session, 9, sizeof m.session);
    kg_mpc_node_wr w = {0};
    kg_err err = kg_mpc_nd_epoch_handle(&nd, kg_mpc_nd_session_find(&nd, m.session), &m, &w);
    kg_bytes_free(&w.b);
    if (err && !intact()) abort(); /* a refused request changed the share */
    if (!err && m.type == KG_MPC_NODE_EPOCH_DELETE) {
        kg_store_txn *txn = NULL;
        if (kg_store_txn_begin(nd.st, &txn) || kg_mpc_nd_share_replace(&nd, txn, "fuzz", &share, 0) ||
            kg_store_txn_commit(txn))
            abort();
    }
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++) kg_mpc_nd_session_free(&nd, i);
    return 0;
}
