/* `kashguard mpc-node`: one FROST party as its own process.
 *
 * It listens for mutual-TLS connections (mpc/net.h) and serves only the
 * coordinator (party 0 by its certificate). Requests (mpc/node.h) run the
 * Pedersen DKG (frost.h, rounds 1, 2 and finish; node_dkg.c) and RFC 9591
 * signing (commit, then sign; node_sign.c). DKG state and signing nonces live in memory per
 * session id; a finished key share is sealed with AES-256-GCM (AAD = its
 * store key) under a 32-byte node key file (DIR/seal.key, 0600, made at the
 * first start) and kept in the node's own kg_store (DIR/node.db).
 * Node-to-node DKG data is end to end: round-1 broadcasts are signed and
 * round-2 shares sealed with the envelope keys listed in the coordinator's
 * registry message, checked against the replay window. Each coordinator
 * connection is served by its own thread (the coordinator keeps a pool of
 * them and signs many messages at once); requests that touch sessions run
 * under the node lock nd->mu, the preprocessed signing requests
 * (node_sign.c) without it (the store is thread-safe). A connection idle
 * for ten minutes is closed, as is a session left idle that long. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kashguard/crypto.h"
#include "kashguard/store.h"
#include "node_int.h"

#define SEND_TIMEOUT_MS 10000
#define IDLE_MAX_S 600 /* an idle coordinator connection is closed after this */
#define MAX_CONNS 256

void kg_mpc_nd_session_free(kg_mpc_nd *nd, size_t i)
{
    kg_mpc_nd_session *s = nd->s[i];
    if (!s) return;
    kg_mpc_frost_dkg_free(s->dkg);
    kg_secret_free(s->nonce);
    kg_mpc_nd_dkg_state_free(s);
    kg_mpc_nd_cggmp_state_free(s); /* node_cggmp.c */
    kg_mpc_net_replay_forget(nd->replay, s->id);
    kg_wipe(s, sizeof *s);
    free(s);
    nd->s[i] = NULL;
}

kg_mpc_nd_session *kg_mpc_nd_session_find(kg_mpc_nd *nd, const uint8_t *id)
{
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++)
        if (nd->s[i] && !memcmp(nd->s[i]->id, id, KG_MPC_NET_SESSION_ID_BYTES)) return nd->s[i];
    return NULL;
}

void kg_mpc_nd_session_drop(kg_mpc_nd *nd, const kg_mpc_nd_session *s)
{
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++)
        if (nd->s[i] == s) kg_mpc_nd_session_free(nd, i);
}

kg_err kg_mpc_nd_session_new(kg_mpc_nd_session **out, kg_mpc_nd *nd, const kg_mpc_node_msg *m, int kind)
{
    *out = NULL;
    if (kg_mpc_nd_session_find(nd, m->session)) return kg_err_set(KG_ERR_CONFLICT, "session already exists");
    time_t now = time(NULL);
    size_t free_slot = KG_MPC_ND_MAX_SESSIONS;
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++) {
        if (nd->s[i] && now - nd->s[i]->created > KG_MPC_ND_SESSION_TTL_S) kg_mpc_nd_session_free(nd, i);
        if (!nd->s[i] && free_slot == KG_MPC_ND_MAX_SESSIONS) free_slot = i;
    }
    if (free_slot == KG_MPC_ND_MAX_SESSIONS) return kg_err_set(KG_ERR_TOO_LARGE, "too many open sessions; retry later");
    kg_mpc_nd_session *s = calloc(1, sizeof *s);
    if (!s) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    memcpy(s->id, m->session, KG_MPC_NET_SESSION_ID_BYTES);
    s->kind = kind;
    s->g = (kg_mpc_group_id)m->scheme;
    s->created = now;
    nd->s[free_slot] = s;
    *out = s;
    return KG_OK;
}

/* ---------------------------------------------------------- share store */

void kg_mpc_nd_share_record(char *out, size_t cap, const char *key_id)
{
    snprintf(out, cap, "mpc/share/%s", key_id);
}

kg_err kg_mpc_nd_share_save(kg_mpc_nd *nd, const char *key_id, const kg_mpc_frost_key_share *sh)
{
    char rec[128];
    uint8_t pt[KG_MPC_NODE_SHARE_BYTES], buf[KG_GCM_IV_BYTES + KG_MPC_NODE_SHARE_BYTES + KG_GCM_TAG_BYTES];
    kg_mpc_nd_share_record(rec, sizeof rec, key_id);
    kg_mpc_node_share_pack(pt, sh);
    kg_err err = kg_crypto_random(buf, KG_GCM_IV_BYTES);
    if (!err)
        err = kg_crypto_aes256gcm_encrypt(buf + KG_GCM_IV_BYTES, buf + KG_GCM_IV_BYTES + sizeof pt, KG_GCM_TAG_BYTES,
                                          kg_secret_cdata(nd->seal_key), buf, KG_GCM_IV_BYTES,
                                          (const uint8_t *)rec, strlen(rec), pt, sizeof pt);
    kg_wipe(pt, sizeof pt);
    if (!err) err = kg_store_create(nd->st, NULL, rec, buf, sizeof buf);
    if (err == KG_ERR_CONFLICT) err = kg_err_set(KG_ERR_CONFLICT, "key %s already exists on this node", key_id);
    return err;
}

kg_err kg_mpc_nd_share_load(kg_secret **out, kg_mpc_nd *nd, const char *key_id)
{
    char rec[128];
    kg_bytes b = {0};
    *out = NULL;
    kg_mpc_nd_share_record(rec, sizeof rec, key_id);
    kg_err err = kg_store_get(nd->st, NULL, &b, rec);
    if (err == KG_ERR_NOT_FOUND) return kg_err_set(KG_ERR_NOT_FOUND, "no key %s on this node", key_id);
    if (err) return err;
    if (b.len != KG_GCM_IV_BYTES + KG_MPC_NODE_SHARE_BYTES + KG_GCM_TAG_BYTES) {
        kg_bytes_free(&b);
        return kg_err_set(KG_ERR_STORE, "the stored share of %s is corrupt", key_id);
    }
    uint8_t pt[KG_MPC_NODE_SHARE_BYTES];
    err = kg_crypto_aes256gcm_decrypt(pt, kg_secret_cdata(nd->seal_key), b.data, KG_GCM_IV_BYTES,
                                      (const uint8_t *)rec, strlen(rec), b.data + KG_GCM_IV_BYTES,
                                      KG_MPC_NODE_SHARE_BYTES, b.data + KG_GCM_IV_BYTES + KG_MPC_NODE_SHARE_BYTES,
                                      KG_GCM_TAG_BYTES);
    kg_bytes_free(&b);
    kg_secret *s = err ? NULL : kg_secret_new(sizeof(kg_mpc_frost_key_share));
    if (!err && !s) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_node_share_unpack((kg_mpc_frost_key_share *)kg_secret_data(s), pt);
    else if (err == KG_ERR_DECRYPT) err = kg_err_set(KG_ERR_DECRYPT, "cannot unseal the share of %s (wrong seal.key?)", key_id);
    kg_wipe(pt, sizeof pt);
    if (err) { kg_secret_free(s); return err; }
    *out = s;
    return KG_OK;
}

/* ---------------------------------------------------------- dispatch */

static kg_err handle(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_nd_session *s = m->type == KG_MPC_NODE_DKG_ROUND1 || m->type == KG_MPC_NODE_SIGN_COMMIT ? NULL : kg_mpc_nd_session_find(nd, m->session);
    if (s && s->g != (kg_mpc_group_id)m->scheme) return kg_err_set(KG_ERR_BAD_INPUT, "the session has another scheme");
    switch (m->type) {
    case KG_MPC_NODE_DKG_ROUND1: return kg_mpc_nd_dkg_round1(nd, m, w);
    case KG_MPC_NODE_SIGN_COMMIT: return kg_mpc_nd_sign_commit(nd, m, w);
    case KG_MPC_NODE_SIGN_TR_NONCE: return kg_mpc_nd_sign_tr_nonce(nd, m, w);
    case KG_MPC_NODE_SIGN_TR_SIGN:
        if (s && s->kind == KG_MPC_ND_S_SIGN_TR) return kg_mpc_nd_sign_tr_sign(nd, s, m, w);
        break;
    case KG_MPC_NODE_PING: return kg_mpc_nd_ping(nd, m, w);
    case KG_MPC_NODE_KEY_INFO: return kg_mpc_nd_key_info(nd, m, w);
    case KG_MPC_NODE_EPOCH_DEAL: case KG_MPC_NODE_EPOCH_FINISH: case KG_MPC_NODE_EPOCH_COMMIT:
    case KG_MPC_NODE_EPOCH_ABORT: case KG_MPC_NODE_EPOCH_DELETE: case KG_MPC_NODE_REPAIR_STEP1:
    case KG_MPC_NODE_REPAIR_STEP2: case KG_MPC_NODE_REPAIR_FINISH:
        return kg_mpc_nd_epoch_handle(nd, s, m, w);
    case KG_MPC_NODE_DKG_ROUND2:
        if (s && s->kind == KG_MPC_ND_S_DKG1) return kg_mpc_nd_dkg_round2(nd, s, m, w);
        break;
    case KG_MPC_NODE_DKG_FINISH:
        if (s && s->kind == KG_MPC_ND_S_DKG2) return kg_mpc_nd_dkg_finish(nd, s, m, w);
        break;
    case KG_MPC_NODE_DKG_CONFIRM:
        if (s && s->kind == KG_MPC_ND_S_DKG3) return kg_mpc_nd_dkg_confirm(nd, s, m, w);
        break;
    case KG_MPC_NODE_DKG_ABORT: return kg_mpc_nd_dkg_abort(nd, s, m, w);
    case KG_MPC_NODE_SIGN_SHARE:
        if (s && s->kind == KG_MPC_ND_S_SIGN) return kg_mpc_nd_sign_share(nd, s, m, w);
        break;
    case KG_MPC_NODE_IMPORT_SHARE: return kg_mpc_nd_import_share(nd, m, w);
    case KG_MPC_NODE_IMPORT_CONFIRM:
        if (s && s->kind == KG_MPC_ND_S_IMPORT) return kg_mpc_nd_import_confirm(nd, s, m, w);
        break;
    case KG_MPC_NODE_IMPORT_ABORT: return kg_mpc_nd_import_abort(nd, s, m, w);
    case KG_MPC_NODE_CGGMP_START: case KG_MPC_NODE_CGGMP_ROUND: case KG_MPC_NODE_CGGMP_CONFIRM:
    case KG_MPC_NODE_CGGMP_ABORT: case KG_MPC_NODE_CGGMP_SIGN: case KG_MPC_NODE_CGGMP_BLAME:
    case KG_MPC_NODE_CGGMP_INFO:
        return kg_mpc_nd_cggmp_handle(nd, s, m, w); /* node_cggmp.c */
    default:
        return kg_err_set(KG_ERR_BAD_INPUT, "type 0x%02x is not a request", m->type);
    }
    return kg_err_set(KG_ERR_NOT_FOUND, "no session in the right state for this request");
}

static kg_err respond(kg_mpc_nd *nd, kg_bytes *resp, const uint8_t *frame, size_t len)
{
    kg_mpc_node_msg m;
    uint8_t zero[KG_MPC_NET_SESSION_ID_BYTES] = {0};
    kg_err err = kg_mpc_node_msg_decode(&m, frame, len);
    if (err) return kg_mpc_node_error_encode(resp, zero, err, kg_err_detail(err));
    kg_mpc_node_wr w = {0};
    if (m.type == KG_MPC_NODE_SIGN_PREPROCESS) /* no session: runs without the node lock */
        err = kg_mpc_nd_sign_preprocess(nd, &m, &w);
    else if (m.type == KG_MPC_NODE_SIGN_PRE)
        err = kg_mpc_nd_sign_pre(nd, &m, &w);
    else {
        pthread_mutex_lock(&nd->mu);
        err = handle(nd, &m, &w);
        pthread_mutex_unlock(&nd->mu);
    }
    if (!err) err = kg_mpc_node_wr_done(&w);
    if (err) {
        kg_bytes_free(&w.b);
        return kg_mpc_node_error_encode(resp, m.session, err, kg_err_detail(err));
    }
    kg_mpc_node_msg out = {.type = (uint8_t)(m.type | KG_MPC_NODE_RESPONSE), .scheme = m.scheme,
                           .body = w.b.data, .body_len = w.b.len};
    memcpy(out.session, m.session, sizeof out.session);
    err = kg_mpc_node_msg_encode(resp, &out);
    kg_bytes_free(&w.b);
    return err;
}

/* One connection, until the peer closes it, it stays idle for
 * IDLE_MAX_S, or the node stops (checked every second). */
static void serve(kg_mpc_nd *nd, kg_mpc_net_conn *c, volatile int *stop)
{
    if (kg_mpc_net_conn_peer(c) != KG_MPC_NET_COORDINATOR) {
        fprintf(stderr, "mpc-node: refused party %u (only the coordinator may connect)\n", kg_mpc_net_conn_peer(c));
        return;
    }
    time_t last = time(NULL);
    while (!*stop) {
        kg_bytes in = {0}, out = {0};
        bool idle = false; /* nothing came: the connection is still usable */
        kg_err err = kg_mpc_net_recv_poll(&in, c, 1000, &idle);
        if (err) {
            if (!idle || time(NULL) - last > IDLE_MAX_S) return;
            continue;
        }
        err = respond(nd, &out, in.data, in.len);
        kg_bytes_free(&in);
        if (!err) err = kg_mpc_net_send(c, out.data, out.len, SEND_TIMEOUT_MS);
        kg_bytes_free(&out);
        if (err) return;
        last = time(NULL);
    }
}

/* The connection threads: one per coordinator connection, counted so
 * that a stopping node waits for them. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned n;
} conn_count;

typedef struct {
    kg_mpc_nd *nd;
    kg_mpc_net_conn *c;
    volatile int *stop;
    conn_count *cc;
} conn_job;

static void *conn_thread(void *arg)
{
    conn_job *j = arg;
    serve(j->nd, j->c, j->stop);
    kg_mpc_net_close(j->c);
    pthread_mutex_lock(&j->cc->mu);
    j->cc->n--;
    pthread_cond_signal(&j->cc->cv);
    pthread_mutex_unlock(&j->cc->mu);
    free(j);
    return NULL;
}

/* Serve c on its own thread (closed at once when MAX_CONNS are open). */
static void conn_start(kg_mpc_nd *nd, kg_mpc_net_conn *c, volatile int *stop, conn_count *cc)
{
    conn_job *j = calloc(1, sizeof *j);
    pthread_mutex_lock(&cc->mu);
    bool room = j && cc->n < MAX_CONNS;
    if (room) cc->n++;
    pthread_mutex_unlock(&cc->mu);
    pthread_t th;
    pthread_attr_t at;
    bool started = false;
    if (room && pthread_attr_init(&at) == 0) {
        *j = (conn_job){.nd = nd, .c = c, .stop = stop, .cc = cc};
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&th, &at, conn_thread, j) == 0;
        pthread_attr_destroy(&at);
    }
    if (started) return;
    if (!room) fprintf(stderr, "mpc-node %u: %d connections open; refused one more\n", nd->cfg->id, MAX_CONNS);
    if (room) {
        pthread_mutex_lock(&cc->mu);
        cc->n--;
        pthread_mutex_unlock(&cc->mu);
    }
    free(j);
    kg_mpc_net_close(c);
}

/* ---------------------------------------------------------- startup */

static kg_err load_keys(kg_mpc_nd *nd)
{
    const kg_mpc_node_config *cfg = nd->cfg;
    kg_bytes b = {0};
    kg_err err = kg_mpc_nd_seal_key_load(&nd->seal_key, cfg->data_dir, cfg->passphrase); /* node_seal.c */
    if (err) return err;
    if ((err = kg_mpc_node_file_read(&b, cfg->envelope_key, 128))) return err;
    if (b.len != KG_MPC_NET_KEYS_SECRET_BYTES)
        err = kg_err_set(KG_ERR_BAD_INPUT, "%s must hold %d bytes of envelope keys", cfg->envelope_key,
                         KG_MPC_NET_KEYS_SECRET_BYTES);
    if (!err && !(nd->env = kg_secret_from(b.data, b.len))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
    if (!err) err = kg_mpc_net_keys_public(&nd->env_pub, nd->env);
    return err;
}

kg_err kg_mpc_node_run(const kg_mpc_node_config *cfg, volatile int *stop)
{
    kg_mpc_nd nd;
    memset(&nd, 0, sizeof nd);
    nd.cfg = cfg;
    pthread_mutex_init(&nd.mu, NULL);
    kg_mpc_net_tls *tls = NULL;
    kg_mpc_net_listener *l = NULL;
    char path[4096];
    if (cfg->id == 0) return kg_err_set(KG_ERR_BAD_INPUT, "a node id is 1..65535");
    if (mkdir(cfg->data_dir, 0700) != 0 && access(cfg->data_dir, W_OK) != 0)
        return kg_err_set(KG_ERR_IO, "cannot use the data directory %s", cfg->data_dir);
    snprintf(path, sizeof path, "%s/node.db", cfg->data_dir);
    kg_err err = load_keys(&nd);
    if (!err) err = kg_store_open(&nd.st, path);
    if (!err) err = kg_mpc_net_replay_new(&nd.replay, 4096);
    if (!err) err = kg_mpc_nd_cg_pool_open(&nd, cfg->paillier_bits); /* CGGMP21 safe primes, filled in the background */
    if (!err) err = kg_mpc_nd_cgprep_open(&nd); /* CGGMP21 presign precomputation (node_cggmp_prep.c) */
    if (!err) err = kg_mpc_net_tls_new(&tls, cfg->ca_cert, cfg->cert, cfg->key);
    if (!err && kg_mpc_net_tls_party(tls) != cfg->id)
        err = kg_err_set(KG_ERR_BAD_INPUT, "the certificate is for party %u, not node %u", kg_mpc_net_tls_party(tls), cfg->id);
    if (!err) err = kg_mpc_net_listen(&l, tls, cfg->listen);
    if (!err) fprintf(stderr, "mpc-node %u: listening on %s (port %u)\n", cfg->id, cfg->listen, kg_mpc_net_listener_port(l));
    conn_count cc = {.n = 0};
    pthread_mutex_init(&cc.mu, NULL);
    pthread_cond_init(&cc.cv, NULL);
    while (!err && !*stop) {
        kg_mpc_net_conn *c = NULL;
        kg_err e = kg_mpc_net_accept(&c, l, 1000);
        if (e) continue; /* a timeout, or a peer the CA did not certify */
        conn_start(&nd, c, stop, &cc);
    }
    pthread_mutex_lock(&cc.mu); /* *stop is set: every thread ends within a second */
    while (cc.n) pthread_cond_wait(&cc.cv, &cc.mu);
    pthread_mutex_unlock(&cc.mu);
    pthread_cond_destroy(&cc.cv);
    pthread_mutex_destroy(&cc.mu);
    kg_mpc_nd_cgprep_close(&nd); /* before the store closes: the worker reads it */
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++) kg_mpc_nd_session_free(&nd, i);
    kg_mpc_net_listener_free(l);
    kg_mpc_net_tls_free(tls);
    kg_mpc_net_replay_free(nd.replay);
    kg_mpc_nd_pre_free(&nd);
    kg_mpc_nd_cg_pool_close(&nd);
    kg_store_close(nd.st);
    kg_secret_free(nd.seal_key);
    kg_secret_free(nd.env);
    pthread_mutex_destroy(&nd.mu);
    return err;
}
