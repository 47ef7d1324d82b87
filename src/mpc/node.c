/* `kashguard mpc-node`: one FROST party as its own process.
 *
 * It listens for mutual-TLS connections (mpc/net.h) and serves only the
 * coordinator (party 0 by its certificate). Requests (mpc/node.h) run the
 * Pedersen DKG (frost.h, rounds 1, 2 and finish) and RFC 9591 signing
 * (commit, then sign). DKG state and signing nonces live in memory per
 * session id; a finished key share is sealed with AES-256-GCM (AAD = its
 * store key) under a 32-byte node key file (DIR/seal.key, 0600, made at the
 * first start) and kept in the node's own kg_store (DIR/node.db).
 * Node-to-node DKG data is end to end: round-1 broadcasts are signed and
 * round-2 shares sealed with the envelope keys listed in the coordinator's
 * registry message, checked against the replay window. One connection is
 * served at a time (there is one coordinator); a session left idle for ten
 * minutes is dropped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kashguard/crypto.h"
#include "kashguard/store.h"
#include "node_int.h"

#define MAX_SESSIONS 64
#define SESSION_TTL_S 600
#define RECV_TIMEOUT_MS 30000
#define SEND_TIMEOUT_MS 10000

enum { S_DKG1 = 1, S_DKG2, S_SIGN };

typedef struct {
    uint8_t id[KG_MPC_NET_SESSION_ID_BYTES];
    int kind;
    kg_mpc_group_id g;
    time_t created;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    unsigned t, n;
    kg_mpc_frost_dkg *dkg;
    kg_mpc_net_pubkeys reg[KG_MPC_FROST_MAX_PARTICIPANTS]; /* reg[i-1]: party i */
    kg_secret *nonce; /* kg_mpc_frost_nonce */
} session;

typedef struct {
    const kg_mpc_node_config *cfg;
    kg_store *st;
    kg_secret *seal_key, *env;
    kg_mpc_net_pubkeys env_pub;
    kg_mpc_net_replay *replay;
    session *s[MAX_SESSIONS];
} node;

static void session_free(node *nd, size_t i)
{
    session *s = nd->s[i];
    if (!s) return;
    kg_mpc_frost_dkg_free(s->dkg);
    kg_secret_free(s->nonce);
    kg_mpc_net_replay_forget(nd->replay, s->id);
    kg_wipe(s, sizeof *s);
    free(s);
    nd->s[i] = NULL;
}

static session *session_find(node *nd, const uint8_t *id)
{
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        if (nd->s[i] && !memcmp(nd->s[i]->id, id, KG_MPC_NET_SESSION_ID_BYTES)) return nd->s[i];
    return NULL;
}

static void session_drop(node *nd, const session *s)
{
    for (size_t i = 0; i < MAX_SESSIONS; i++)
        if (nd->s[i] == s) session_free(nd, i);
}

static kg_err session_new(session **out, node *nd, const kg_mpc_node_msg *m, int kind)
{
    *out = NULL;
    if (session_find(nd, m->session)) return kg_err_set(KG_ERR_CONFLICT, "session already exists");
    time_t now = time(NULL);
    size_t free_slot = MAX_SESSIONS;
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        if (nd->s[i] && now - nd->s[i]->created > SESSION_TTL_S) session_free(nd, i);
        if (!nd->s[i] && free_slot == MAX_SESSIONS) free_slot = i;
    }
    if (free_slot == MAX_SESSIONS) return kg_err_set(KG_ERR_TOO_LARGE, "too many open sessions; retry later");
    session *s = calloc(1, sizeof *s);
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

static void share_record(char *out, size_t cap, const char *key_id)
{
    snprintf(out, cap, "mpc/share/%s", key_id);
}

static kg_err share_save(node *nd, const char *key_id, const kg_mpc_frost_key_share *sh)
{
    char rec[128];
    uint8_t pt[KG_MPC_NODE_SHARE_BYTES], buf[KG_GCM_IV_BYTES + KG_MPC_NODE_SHARE_BYTES + KG_GCM_TAG_BYTES];
    share_record(rec, sizeof rec, key_id);
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

static kg_err share_load(kg_secret **out, node *nd, const char *key_id)
{
    char rec[128];
    kg_bytes b = {0};
    *out = NULL;
    share_record(rec, sizeof rec, key_id);
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

/* ------------------------------------------------------------- DKG */

static kg_err env_header(kg_mpc_net_header *h, const session *s, uint8_t type, uint16_t me, uint16_t to,
                         uint32_t round, uint64_t seq)
{
    memset(h, 0, sizeof *h);
    h->version = KG_MPC_NET_VERSION;
    h->scheme = (uint8_t)s->g;
    h->type = type;
    memcpy(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES);
    h->sender = me;
    h->receiver = to;
    h->round = round;
    h->seq = seq;
    return KG_OK;
}

static kg_err dkg_round1(node *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    size_t kl = 0;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned t = kg_mpc_node_rd_u16(&r), n = kg_mpc_node_rd_u16(&r);
    const uint8_t *kid = kg_mpc_node_rd_blob(&r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    if (r.bad || n < 2 || n > KG_MPC_FROST_MAX_PARTICIPANTS || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "DKG round 1: bad threshold %u of %u", t, n);
    kg_err err = kg_mpc_node_key_id_check(kid, kl);
    if (err) return err;
    if (nd->cfg->id > n) return kg_err_set(KG_ERR_BAD_INPUT, "DKG of %u parties does not include node %u", n, nd->cfg->id);
    session *s;
    if ((err = session_new(&s, nd, m, S_DKG1))) return err;
    memcpy(s->key_id, kid, kl);
    s->t = t;
    s->n = n;
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < n && !r.bad; i++) {
        uint16_t id = kg_mpc_node_rd_u16(&r);
        const uint8_t *k = kg_mpc_node_rd_fixed(&r, 64);
        if (!k || id == 0 || id > n || seen[id]) { r.bad = true; break; }
        seen[id] = true;
        memcpy(s->reg[id - 1].box, k, 32);
        memcpy(s->reg[id - 1].sign, k + 32, 32);
    }
    err = kg_mpc_node_rd_end(&r, "DKG round 1 registry (node ids must be 1..n, each once)");
    if (!err && (memcmp(&s->reg[nd->cfg->id - 1], &nd->env_pub, sizeof nd->env_pub)))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the registry's envelope keys of node %u are not this node's", nd->cfg->id);
    kg_bytes b = {0};
    if (!err) {
        char rec[128];
        share_record(rec, sizeof rec, s->key_id);
        kg_bytes tmp = {0};
        if (kg_store_get(nd->st, NULL, &tmp, rec) == KG_OK)
            err = kg_err_set(KG_ERR_CONFLICT, "key %s already exists on this node", s->key_id);
        kg_bytes_free(&tmp);
    }
    if (!err) err = kg_mpc_frost_dkg_new(&s->dkg, s->g, nd->cfg->id, t, n);
    kg_mpc_frost_dkg_round1 *msg = err ? NULL : calloc(1, sizeof *msg);
    uint8_t *ser = err ? NULL : malloc(KG_MPC_FROST_DKG_ROUND1_MAX_BYTES);
    size_t ser_len = 0;
    if (!err && (!msg || !ser)) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_frost_dkg_round1_run(s->dkg, msg, NULL, NULL);
    if (!err) err = kg_mpc_frost_dkg_round1_serialize(s->g, ser, &ser_len, msg);
    kg_mpc_net_header h;
    if (!err) err = env_header(&h, s, KG_MPC_NODE_DKG_ROUND1, nd->cfg->id, 0, 1, 1);
    if (!err) err = kg_mpc_net_envelope_sign(&b, &h, nd->env, ser, ser_len);
    free(msg);
    free(ser);
    if (err) { session_drop(nd, s); return err; }
    kg_mpc_node_wr_blob(w, b.data, b.len);
    kg_bytes_free(&b);
    return KG_OK;
}

/* Check a relayed envelope's header against the session. */
static kg_err env_check(const kg_mpc_net_envelope *e, const session *s, uint8_t type, uint32_t round,
                        uint16_t to, uint16_t me)
{
    const kg_mpc_net_header *h = &e->h;
    if (h->scheme != (uint8_t)s->g || h->type != type || h->round != round || h->receiver != to ||
        memcmp(h->session, s->id, KG_MPC_NET_SESSION_ID_BYTES) || h->sender == me || h->sender > s->n)
        return kg_err_set(KG_ERR_BAD_INPUT, "an envelope from party %u does not belong to this step", h->sender);
    return KG_OK;
}

static kg_err dkg_round2(node *nd, session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (cnt != s->n - 1) return kg_err_set(KG_ERR_BAD_INPUT, "DKG round 2 needs %u round-1 messages, got %u", s->n - 1, cnt);
    kg_mpc_frost_dkg_round1 *msgs = calloc(cnt, sizeof *msgs);
    kg_mpc_frost_dkg_round2 *out = calloc(cnt, sizeof *out);
    kg_err err = msgs && out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < cnt && !err; i++) {
        size_t len;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        const uint8_t *pl;
        size_t pl_len;
        if (!p) { err = kg_err_set(KG_ERR_BAD_INPUT, "DKG round 2: truncated message list"); break; }
        if ((err = kg_mpc_net_envelope_decode(&e, p, len))) break;
        if ((err = env_check(&e, s, KG_MPC_NODE_DKG_ROUND1, 1, 0, me))) break;
        uint16_t from = e.h.sender;
        if (seen[from]) { err = kg_err_set(KG_ERR_BAD_INPUT, "two round-1 messages from party %u", from); break; }
        seen[from] = true;
        if ((err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, s->reg[from - 1].sign))) break;
        if ((err = kg_mpc_net_replay_check(nd->replay, &e.h))) break;
        if ((err = kg_mpc_frost_dkg_round1_parse(s->g, &msgs[i], pl, pl_len))) break;
        if (msgs[i].from != from) err = kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a round-1 message of party %u", from, msgs[i].from);
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "DKG round 2 request");
    uint16_t culprit = 0;
    if (!err) {
        err = kg_mpc_frost_dkg_round2_run(s->dkg, out, &culprit, msgs, cnt);
        if (err && culprit) err = kg_err_set(err, "DKG round 1 of party %u is invalid: %s", culprit, kg_err_detail(err));
    }
    if (!err) kg_mpc_node_wr_u16(w, (uint16_t)cnt);
    for (unsigned k = 0; k < cnt && !err; k++) {
        uint8_t pl[4 + KG_MPC_SCALAR_BYTES];
        kg_mpc_net_header h;
        kg_bytes b = {0};
        pl[0] = (uint8_t)(out[k].from >> 8); pl[1] = (uint8_t)out[k].from;
        pl[2] = (uint8_t)(out[k].to >> 8); pl[3] = (uint8_t)out[k].to;
        memcpy(pl + 4, out[k].share.b, KG_MPC_SCALAR_BYTES);
        err = env_header(&h, s, KG_MPC_NODE_DKG_ROUND2, me, out[k].to, 2, 2 + k);
        if (!err) err = kg_mpc_net_envelope_seal(&b, &h, nd->env, s->reg[out[k].to - 1].box, pl, sizeof pl);
        kg_wipe(pl, sizeof pl);
        if (!err) kg_mpc_node_wr_blob(w, b.data, b.len);
        kg_bytes_free(&b);
    }
    if (out) kg_wipe(out, cnt * sizeof *out);
    free(out);
    free(msgs);
    if (err) session_drop(nd, s);
    else s->kind = S_DKG2;
    return err;
}

static kg_err dkg_finish(node *nd, session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    uint16_t me = nd->cfg->id;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (cnt != s->n - 1) return kg_err_set(KG_ERR_BAD_INPUT, "DKG finish needs %u shares, got %u", s->n - 1, cnt);
    kg_secret *sec = kg_secret_new(cnt * sizeof(kg_mpc_frost_dkg_round2) + sizeof(kg_mpc_frost_key_share));
    kg_mpc_point *pubs = calloc(s->n, sizeof *pubs);
    kg_err err = sec && pubs ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_dkg_round2 *msgs = sec ? (kg_mpc_frost_dkg_round2 *)kg_secret_data(sec) : NULL;
    bool seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {false};
    for (unsigned i = 0; i < cnt && !err; i++) {
        size_t len;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        kg_mpc_net_envelope e;
        kg_secret *pl = NULL;
        if (!p) { err = kg_err_set(KG_ERR_BAD_INPUT, "DKG finish: truncated share list"); break; }
        if ((err = kg_mpc_net_envelope_decode(&e, p, len))) break;
        if ((err = env_check(&e, s, KG_MPC_NODE_DKG_ROUND2, 2, me, me))) break;
        uint16_t from = e.h.sender;
        if (seen[from]) { err = kg_err_set(KG_ERR_BAD_INPUT, "two round-2 shares from party %u", from); break; }
        seen[from] = true;
        if ((err = kg_mpc_net_envelope_open(&pl, &e, nd->env, me, s->reg[from - 1].box))) break;
        err = kg_mpc_net_replay_check(nd->replay, &e.h);
        const uint8_t *d = kg_secret_cdata(pl);
        if (!err && (kg_secret_len(pl) != 4 + KG_MPC_SCALAR_BYTES || (uint16_t)(d[0] << 8 | d[1]) != from ||
                     (uint16_t)(d[2] << 8 | d[3]) != me))
            err = kg_err_set(KG_ERR_BAD_INPUT, "the round-2 share of party %u is malformed", from);
        if (!err) {
            msgs[i].from = from;
            msgs[i].to = me;
            err = kg_mpc_scalar_from_bytes(s->g, &msgs[i].share, d + 4, KG_MPC_SCALAR_BYTES);
        }
        kg_secret_free(pl);
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "DKG finish request");
    kg_mpc_frost_key_share *share = sec ? (kg_mpc_frost_key_share *)(msgs + cnt) : NULL;
    uint16_t culprit = 0;
    if (!err) {
        err = kg_mpc_frost_dkg_finish(s->dkg, share, pubs, &culprit, msgs, cnt);
        if (err && culprit) err = kg_err_set(err, "the DKG share of party %u is invalid: %s", culprit, kg_err_detail(err));
    }
    if (!err) err = share_save(nd, s->key_id, share);
    size_t pl_len = kg_mpc_group_point_len(s->g);
    uint8_t pt[KG_MPC_POINT_MAX_BYTES];
    if (!err) err = kg_mpc_point_serialize(s->g, pt, &share->group_public);
    if (!err) kg_mpc_node_wr_fixed(w, pt, pl_len);
    for (unsigned i = 0; i < s->n && !err; i++) {
        err = kg_mpc_point_serialize(s->g, pt, &pubs[i]);
        if (!err) kg_mpc_node_wr_fixed(w, pt, pl_len);
    }
    kg_secret_free(sec);
    free(pubs);
    session_drop(nd, s);
    return err;
}

/* ------------------------------------------------------------ signing */

static kg_err sign_commit(node *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    size_t kl = 0;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    const uint8_t *kid = kg_mpc_node_rd_blob(&r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    kg_err err = kg_mpc_node_rd_end(&r, "sign commit request");
    if (!err) err = kg_mpc_node_key_id_check(kid, kl);
    if (err) return err;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1] = {0};
    memcpy(key_id, kid, kl);
    kg_secret *sh = NULL;
    if ((err = share_load(&sh, nd, key_id))) return err;
    const kg_mpc_frost_key_share *share = (const kg_mpc_frost_key_share *)kg_secret_cdata(sh);
    if (share->group != (kg_mpc_group_id)m->scheme) {
        kg_secret_free(sh);
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is a %s key", key_id, kg_mpc_frost_scheme_name(share->group));
    }
    session *s;
    if ((err = session_new(&s, nd, m, S_SIGN))) { kg_secret_free(sh); return err; }
    memcpy(s->key_id, key_id, sizeof key_id);
    s->nonce = kg_secret_new(sizeof(kg_mpc_frost_nonce));
    if (!s->nonce) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_nonce *nonce = s->nonce ? (kg_mpc_frost_nonce *)kg_secret_data(s->nonce) : NULL;
    if (!err) err = kg_mpc_frost_commit(nonce, share, NULL, NULL);
    uint8_t c[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
    size_t cl = 0;
    if (!err) err = kg_mpc_frost_commitment_serialize(s->g, c, &cl, &nonce->commitment);
    if (!err) kg_mpc_node_wr_fixed(w, c, cl);
    kg_secret_free(sh);
    if (err) session_drop(nd, s);
    return err;
}

static kg_err sign_share(node *nd, session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    size_t kl = 0, ml = 0;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    const uint8_t *kid = kg_mpc_node_rd_blob(&r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    const uint8_t *msg = kg_mpc_node_rd_blob(&r, &ml, KG_MPC_NET_FRAME_MAX_BYTES);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    kg_err err = KG_OK;
    if (r.bad || kl != strlen(s->key_id) || memcmp(kid, s->key_id, kl))
        err = kg_err_set(KG_ERR_BAD_INPUT, "sign request: key id does not match the session");
    kg_mpc_frost_commitment *cs = err ? NULL : calloc(cnt ? cnt : 1, sizeof *cs);
    if (!err && !cs) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; i < cnt && !err; i++) {
        size_t len;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_FROST_COMMITMENT_MAX_BYTES);
        err = p ? kg_mpc_frost_commitment_parse(s->g, &cs[i], p, len)
                : kg_err_set(KG_ERR_BAD_INPUT, "sign request: truncated commitment list");
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "sign request");
    kg_secret *sh = NULL;
    if (!err) err = share_load(&sh, nd, s->key_id);
    kg_mpc_frost_sig_share z;
    memset(&z, 0, sizeof z);
    if (!err) {
        const kg_mpc_frost_key_share *share = (const kg_mpc_frost_key_share *)kg_secret_cdata(sh);
        kg_mpc_frost_signing_package pkg = {.group = s->g, .group_public = share->group_public,
                                            .msg = msg, .msg_len = ml, .commitments = cs, .n_commitments = cnt};
        err = kg_mpc_frost_sign(&z, (kg_mpc_frost_nonce *)kg_secret_data(s->nonce), share, &pkg);
    }
    if (!err) {
        uint8_t b[KG_MPC_FROST_SIG_SHARE_BYTES];
        kg_mpc_frost_sig_share_serialize(b, &z);
        kg_mpc_node_wr_fixed(w, b, sizeof b);
    }
    kg_secret_free(sh);
    free(cs);
    session_drop(nd, s); /* the nonce is gone either way */
    return err;
}

/* ---------------------------------------------------------- dispatch */

static kg_err handle(node *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    session *s = m->type == KG_MPC_NODE_DKG_ROUND1 || m->type == KG_MPC_NODE_SIGN_COMMIT ? NULL : session_find(nd, m->session);
    if (s && s->g != (kg_mpc_group_id)m->scheme) return kg_err_set(KG_ERR_BAD_INPUT, "the session has another scheme");
    switch (m->type) {
    case KG_MPC_NODE_DKG_ROUND1: return dkg_round1(nd, m, w);
    case KG_MPC_NODE_SIGN_COMMIT: return sign_commit(nd, m, w);
    case KG_MPC_NODE_DKG_ROUND2:
        if (s && s->kind == S_DKG1) return dkg_round2(nd, s, m, w);
        break;
    case KG_MPC_NODE_DKG_FINISH:
        if (s && s->kind == S_DKG2) return dkg_finish(nd, s, m, w);
        break;
    case KG_MPC_NODE_SIGN_SHARE:
        if (s && s->kind == S_SIGN) return sign_share(nd, s, m, w);
        break;
    default:
        return kg_err_set(KG_ERR_BAD_INPUT, "type 0x%02x is not a request", m->type);
    }
    return kg_err_set(KG_ERR_NOT_FOUND, "no session in the right state for this request");
}

static kg_err respond(node *nd, kg_bytes *resp, const uint8_t *frame, size_t len)
{
    kg_mpc_node_msg m;
    uint8_t zero[KG_MPC_NET_SESSION_ID_BYTES] = {0};
    kg_err err = kg_mpc_node_msg_decode(&m, frame, len);
    if (err) return kg_mpc_node_error_encode(resp, zero, err, kg_err_detail(err));
    kg_mpc_node_wr w = {0};
    err = handle(nd, &m, &w);
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

static void serve(node *nd, kg_mpc_net_conn *c, volatile int *stop)
{
    if (kg_mpc_net_conn_peer(c) != KG_MPC_NET_COORDINATOR) {
        fprintf(stderr, "mpc-node: refused party %u (only the coordinator may connect)\n", kg_mpc_net_conn_peer(c));
        return;
    }
    while (!*stop) {
        kg_bytes in = {0}, out = {0};
        if (kg_mpc_net_recv(&in, c, RECV_TIMEOUT_MS)) return;
        kg_err err = respond(nd, &out, in.data, in.len);
        kg_bytes_free(&in);
        if (!err) err = kg_mpc_net_send(c, out.data, out.len, SEND_TIMEOUT_MS);
        kg_bytes_free(&out);
        if (err) return;
    }
}

/* ---------------------------------------------------------- startup */

static kg_err load_keys(node *nd)
{
    const kg_mpc_node_config *cfg = nd->cfg;
    char path[4096];
    kg_bytes b = {0};
    snprintf(path, sizeof path, "%s/seal.key", cfg->data_dir);
    kg_err err = kg_mpc_node_file_read(&b, path, 64);
    if (err == KG_ERR_NOT_FOUND) {
        uint8_t k[32];
        err = kg_crypto_random(k, sizeof k);
        if (!err) err = kg_mpc_node_file_write(path, k, sizeof k, true);
        kg_wipe(k, sizeof k);
        if (!err) err = kg_mpc_node_file_read(&b, path, 64);
    }
    if (!err && b.len != 32) err = kg_err_set(KG_ERR_BAD_INPUT, "%s must hold 32 bytes", path);
    if (!err && !(nd->seal_key = kg_secret_from(b.data, 32))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (b.data) kg_wipe(b.data, b.len);
    kg_bytes_free(&b);
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
    node nd;
    memset(&nd, 0, sizeof nd);
    nd.cfg = cfg;
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
    if (!err) err = kg_mpc_net_tls_new(&tls, cfg->ca_cert, cfg->cert, cfg->key);
    if (!err && kg_mpc_net_tls_party(tls) != cfg->id)
        err = kg_err_set(KG_ERR_BAD_INPUT, "the certificate is for party %u, not node %u", kg_mpc_net_tls_party(tls), cfg->id);
    if (!err) err = kg_mpc_net_listen(&l, tls, cfg->listen);
    if (!err) fprintf(stderr, "mpc-node %u: listening on %s (port %u)\n", cfg->id, cfg->listen, kg_mpc_net_listener_port(l));
    while (!err && !*stop) {
        kg_mpc_net_conn *c = NULL;
        kg_err e = kg_mpc_net_accept(&c, l, 1000);
        if (e) continue; /* a timeout, or a peer the CA did not certify */
        serve(&nd, c, stop);
        kg_mpc_net_close(c);
    }
    for (size_t i = 0; i < MAX_SESSIONS; i++) session_free(&nd, i);
    kg_mpc_net_listener_free(l);
    kg_mpc_net_tls_free(tls);
    kg_mpc_net_replay_free(nd.replay);
    kg_store_close(nd.st);
    kg_secret_free(nd.seal_key);
    kg_secret_free(nd.env);
    return err;
}
