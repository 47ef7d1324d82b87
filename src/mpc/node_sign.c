/* The signing requests of `kashguard mpc-node` (RFC 9591 §5): commit draws
 * a fresh nonce pair for the key's share and answers its commitment; share
 * takes the signing package, computes this node's signature share and wipes
 * the nonce whatever happens, so a nonce never signs twice.
 *
 * Preprocessing (RFC 9591 §5.1 run ahead, as its §7.3 allows): PREPROCESS
 * makes n nonce pairs with kg_mpc_frost_nonce_store (frost.h) in this
 * node's kg_store under "mpc/pre/<key id>", sealed with AES-256-GCM under
 * HKDF-SHA256(seal.key, info "kashguard mpc-node nonce seal v1"), and
 * answers their commitments and the store's run id (u16 n, n blobs, 16
 * bytes); the coordinator caches them. SIGN_PRE then
 * signs in one round trip: the package is checked first (so bad input
 * consumes nothing), then kg_mpc_frost_nonce_store_use hands the nonce out
 * once: the store of each key stays open for the node's life and leases
 * nonces in blocks of LEASE_BLOCK -- one durable transaction consumes a
 * block (oldest first, the order the coordinator's FIFO cache spends
 * them) before any of it leaves, the rest are served from guarded memory
 * once each, and a restart discards what was leased and unused (a later
 * SIGN_PRE naming one is refused; the coordinator falls back). The share
 * is computed and the nonce wiped. A commitment this node never made, or one
 * already used, is refused by name. These two need no session, so node.c
 * runs them without the node lock (the store is thread-safe). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_evil.h"
#include "node_int.h"

#define PREPROCESS_MAX 100
#define LEASE_BLOCK 32 /* nonces consumed per durable transaction */

kg_err kg_mpc_nd_sign_commit(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
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
    if ((err = kg_mpc_nd_share_load(&sh, nd, key_id))) return err;
    const kg_mpc_frost_key_share *share = (const kg_mpc_frost_key_share *)kg_secret_cdata(sh);
    if (share->group != (kg_mpc_group_id)m->scheme) {
        kg_secret_free(sh);
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is a %s key", key_id, kg_mpc_frost_scheme_name(share->group));
    }
    kg_mpc_nd_session *s;
    if ((err = kg_mpc_nd_session_new(&s, nd, m, KG_MPC_ND_S_SIGN))) { kg_secret_free(sh); return err; }
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
    if (err) kg_mpc_nd_session_drop(nd, s);
    return err;
}

kg_err kg_mpc_nd_sign_share(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
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
    if (!err) err = kg_mpc_nd_share_load(&sh, nd, s->key_id);
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
        KG_MPC_EVIL_HOOK("bad-sig-share", kg_mpc_evil_bump((kg_mpc_group_id)m->scheme, &z.z)); /* test build only */
        kg_mpc_frost_sig_share_serialize(b, &z);
        kg_mpc_node_wr_fixed(w, b, sizeof b);
    }
    kg_secret_free(sh);
    free(cs);
    kg_mpc_nd_session_drop(nd, s); /* the nonce is gone either way */
    return err;
}

/* ------------------------------------------------------- preprocessing */

/* Read the key id blob at the head of a request into key_id. */
static kg_err read_key_id(char key_id[static KG_MPC_NODE_KEY_ID_MAX + 1], kg_mpc_node_rd *r)
{
    size_t kl = 0;
    memset(key_id, 0, KG_MPC_NODE_KEY_ID_MAX + 1);
    const uint8_t *kid = kg_mpc_node_rd_blob(r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    kg_err err = r->bad ? kg_err_set(KG_ERR_BAD_INPUT, "sign request: no key id") : kg_mpc_node_key_id_check(kid, kl);
    if (!err) memcpy(key_id, kid, kl);
    return err;
}

/* Load the share of key_id, checking the scheme. */
static kg_err load_key(kg_secret **sh, const char *key_id, kg_mpc_nd *nd, const kg_mpc_node_msg *m)
{
    *sh = NULL;
    kg_err err = kg_mpc_nd_share_load(sh, nd, key_id);
    if (err) return err;
    const kg_mpc_frost_key_share *share = (const kg_mpc_frost_key_share *)kg_secret_cdata(*sh);
    if (share->group != (kg_mpc_group_id)m->scheme) {
        kg_secret_free(*sh);
        *sh = NULL;
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is a %s key", key_id, kg_mpc_frost_scheme_name(share->group));
    }
    return KG_OK;
}

/* The nonce stores of this node, one per key, open for the node's life so
 * their leases (blocks of LEASE_BLOCK nonces consumed in one durable
 * transaction, handed out from memory) span requests. */
struct kg_mpc_nd_pre {
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    kg_mpc_frost_nonce_store *ns;
    struct kg_mpc_nd_pre *next;
};
static pthread_mutex_t pre_mu = PTHREAD_MUTEX_INITIALIZER;

/* Open the nonce store of key_id (records "mpc/pre/<key id>"). */
static kg_err nonce_store_open(kg_mpc_frost_nonce_store **out, kg_mpc_nd *nd, const char *key_id)
{
    static const char info[] = "kashguard mpc-node nonce seal v1";
    uint8_t k[KG_MPC_FROST_NONCE_SEAL_KEY_BYTES];
    char prefix[128];
    snprintf(prefix, sizeof prefix, "mpc/pre/%s", key_id);
    kg_err err = kg_crypto_hkdf_sha256(k, sizeof k, kg_secret_cdata(nd->seal_key), kg_secret_len(nd->seal_key), NULL, 0,
                                       (const uint8_t *)info, sizeof info - 1);
    if (!err) err = kg_mpc_frost_nonce_store_open(out, nd->st, prefix, k);
    kg_wipe(k, sizeof k);
    if (!err && (err = kg_mpc_frost_nonce_store_set_lease(*out, LEASE_BLOCK))) {
        kg_mpc_frost_nonce_store_close(*out);
        *out = NULL;
    }
    return err;
}

/* The nonce store of key_id on this node (borrowed: the node owns it). */
static kg_err nonce_store(kg_mpc_frost_nonce_store **out, kg_mpc_nd *nd, const char *key_id)
{
    kg_err err = KG_OK;
    *out = NULL;
    pthread_mutex_lock(&pre_mu);
    for (struct kg_mpc_nd_pre *p = nd->pre; p && !*out; p = p->next)
        if (!strcmp(p->key_id, key_id)) *out = p->ns;
    struct kg_mpc_nd_pre *p = *out ? NULL : calloc(1, sizeof *p);
    if (!*out && !p) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (p && !(err = nonce_store_open(&p->ns, nd, key_id))) {
        snprintf(p->key_id, sizeof p->key_id, "%s", key_id);
        p->next = nd->pre;
        nd->pre = p;
        *out = p->ns;
    } else {
        free(p);
    }
    pthread_mutex_unlock(&pre_mu);
    return err;
}

void kg_mpc_nd_pre_free(kg_mpc_nd *nd)
{
    pthread_mutex_lock(&pre_mu);
    while (nd->pre) {
        struct kg_mpc_nd_pre *p = nd->pre;
        nd->pre = p->next;
        kg_mpc_frost_nonce_store_close(p->ns); /* leased, unused nonces are wiped: never used */
        free(p);
    }
    pthread_mutex_unlock(&pre_mu);
}

kg_err kg_mpc_nd_preprocess_read(char key_id[static KG_MPC_NODE_KEY_ID_MAX + 1], unsigned *n, const uint8_t *body,
                                 size_t len)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, body, len);
    kg_err err = read_key_id(key_id, &r);
    *n = kg_mpc_node_rd_u16(&r);
    if (!err) err = kg_mpc_node_rd_end(&r, "preprocess request");
    if (!err && (*n == 0 || *n > PREPROCESS_MAX))
        err = kg_err_set(KG_ERR_BAD_INPUT, "preprocess 1 to %d commitments at a time, not %u", PREPROCESS_MAX, *n);
    if (err) *n = 0;
    return err;
}

kg_err kg_mpc_nd_sign_preprocess(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    kg_secret *sh = NULL;
    unsigned n = 0;
    kg_err err = kg_mpc_nd_preprocess_read(key_id, &n, m->body, m->body_len);
    if (!err) err = load_key(&sh, key_id, nd, m);
    kg_mpc_frost_nonce_store *ns = NULL;
    kg_mpc_frost_commitment *cs = err ? NULL : calloc(n, sizeof *cs);
    if (!err && !cs) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = nonce_store(&ns, nd, key_id);
    if (!err) err = kg_mpc_frost_nonce_store_preprocess(ns, cs, n, (const kg_mpc_frost_key_share *)kg_secret_cdata(sh));
    if (!err) kg_mpc_node_wr_u16(w, (uint16_t)n);
    for (unsigned i = 0; i < n && !err; i++) {
        uint8_t c[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
        size_t cl = 0;
        err = kg_mpc_frost_commitment_serialize((kg_mpc_group_id)m->scheme, c, &cl, &cs[i]);
        if (!err) kg_mpc_node_wr_blob(w, c, cl);
    }
    uint8_t run[KG_MPC_FROST_NONCE_RUN_ID_BYTES];
    if (!err) kg_mpc_frost_nonce_store_run_id(ns, run);
    if (!err) kg_mpc_node_wr_fixed(w, run, sizeof run); /* a new run id tells the coordinator of a restart */
    kg_secret_free(sh);
    free(cs);
    return err;
}

kg_err kg_mpc_nd_sign_pre_read(kg_mpc_nd_pre_req *q, kg_mpc_group_id g, const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    memset(q, 0, sizeof *q);
    kg_mpc_node_rd_init(&r, body, len);
    kg_err err = read_key_id(q->key_id, &r);
    if (err) return err;
    q->msg = kg_mpc_node_rd_blob(&r, &q->msg_len, KG_MPC_NET_FRAME_MAX_BYTES);
    q->cnt = kg_mpc_node_rd_u16(&r);
    if (r.bad || q->cnt == 0 || q->cnt > KG_MPC_FROST_MAX_PARTICIPANTS) {
        memset(q, 0, sizeof *q);
        return kg_err_set(KG_ERR_BAD_INPUT, "sign request: no message, or no or too many commitments");
    }
    if (!(q->cs = calloc(q->cnt, sizeof *q->cs))) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    for (unsigned i = 0; i < q->cnt && !err; i++) {
        size_t cl;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &cl, KG_MPC_FROST_COMMITMENT_MAX_BYTES);
        err = p ? kg_mpc_frost_commitment_parse(g, &q->cs[i], p, cl)
                : kg_err_set(KG_ERR_BAD_INPUT, "sign request: truncated commitment list");
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "sign request");
    if (err) {
        free(q->cs);
        memset(q, 0, sizeof *q);
    }
    return err;
}

/* A short name of commitment c for error messages: hex of the start of D. */
static void commit_name(char out[static 17], kg_mpc_group_id g, const kg_mpc_frost_commitment *c)
{
    uint8_t b[KG_MPC_FROST_COMMITMENT_MAX_BYTES];
    size_t len = 0;
    out[0] = 0;
    if (kg_mpc_frost_commitment_serialize(g, b, &len, c) == KG_OK && len >= 10) kg_hex_encode(out, b + 2, 8);
}

/* Consume this node's preprocessed nonce of pkg and sign. */
static kg_err sign_pre(kg_mpc_frost_sig_share *z, kg_mpc_nd *nd, const char *key_id, const kg_mpc_frost_key_share *share,
                       const kg_mpc_frost_signing_package *pkg)
{
    const kg_mpc_frost_commitment *mine = NULL;
    kg_err err = kg_mpc_frost_package_check(pkg);
    for (size_t i = 0; i < pkg->n_commitments && !err; i++)
        if (pkg->commitments[i].id == share->id) mine = &pkg->commitments[i];
    if (!err && !mine) err = kg_err_set(KG_ERR_BAD_INPUT, "the signing package has no commitment of node %u", share->id);
    if (!err && pkg->n_commitments < share->min_signers)
        err = kg_err_set(KG_ERR_BAD_INPUT, "key %s needs %u signers, the package has %zu", key_id, share->min_signers,
                         pkg->n_commitments);
    if (err) return err; /* bad input consumes no nonce */
    kg_mpc_frost_nonce_store *ns = NULL;
    kg_secret *nb = kg_secret_new(sizeof(kg_mpc_frost_nonce));
    if (!nb) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_frost_nonce *nonce = (kg_mpc_frost_nonce *)kg_secret_data(nb);
    char name[17];
    commit_name(name, pkg->group, mine);
    err = nonce_store(&ns, nd, key_id);
    if (!err) err = kg_mpc_frost_nonce_store_use(nonce, ns, pkg->group, mine);
    if (err == KG_ERR_CONFLICT)
        err = kg_err_set(err, "commitment %s of node %u for key %s is spent (%s); a nonce signs once, "
                         "ask for fresh commitments", name, share->id, key_id,
                         kg_err_detail(err) ? kg_err_detail(err) : "already used");
    else if (err == KG_ERR_NOT_FOUND)
        err = kg_err_set(err, "node %u holds no preprocessed nonce for commitment %s of key %s (never made here, "
                         "or lost); ask for fresh commitments", share->id, name, key_id);
    if (!err) err = kg_mpc_frost_sign(z, nonce, share, pkg);
    kg_secret_free(nb); /* wiped */
    return err;
}

kg_err kg_mpc_nd_sign_pre(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_nd_pre_req q;
    kg_secret *sh = NULL;
    kg_err err = kg_mpc_nd_sign_pre_read(&q, (kg_mpc_group_id)m->scheme, m->body, m->body_len);
    if (!err) err = load_key(&sh, q.key_id, nd, m);
    kg_mpc_frost_sig_share z;
    memset(&z, 0, sizeof z);
    if (!err) {
        const kg_mpc_frost_key_share *share = (const kg_mpc_frost_key_share *)kg_secret_cdata(sh);
        kg_mpc_frost_signing_package pkg = {.group = share->group, .group_public = share->group_public,
                                            .msg = q.msg, .msg_len = q.msg_len, .commitments = q.cs,
                                            .n_commitments = q.cnt};
        err = sign_pre(&z, nd, q.key_id, share, &pkg);
    }
    if (!err) {
        uint8_t b[KG_MPC_FROST_SIG_SHARE_BYTES];
        KG_MPC_EVIL_HOOK("bad-sig-share", kg_mpc_evil_bump((kg_mpc_group_id)m->scheme, &z.z)); /* test build only */
        kg_mpc_frost_sig_share_serialize(b, &z);
        kg_mpc_node_wr_fixed(w, b, sizeof b);
    }
    kg_secret_free(sh);
    free(q.cs);
    return err;
}
