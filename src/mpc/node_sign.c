/* The signing requests of `kashguard mpc-node` (RFC 9591 §5): commit draws
 * a fresh nonce pair for the key's share and answers its commitment; share
 * takes the signing package, computes this node's signature share and wipes
 * the nonce whatever happens, so a nonce never signs twice. */
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "node_int.h"

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
        kg_mpc_frost_sig_share_serialize(b, &z);
        kg_mpc_node_wr_fixed(w, b, sizeof b);
    }
    kg_secret_free(sh);
    free(cs);
    kg_mpc_nd_session_drop(nd, s); /* the nonce is gone either way */
    return err;
}
