/* CGGMP21 online signing, identification and key facts on an MPC node:
 * CGGMP_SIGN, CGGMP_BLAME and CGGMP_INFO (mpc/node.h, docs/mpc.md).
 *
 * SIGN is the one-round signing of CGGMP21 Fig. 8: σ_i = k_i·(m + r·δ)
 * + r·χ_i from a stored presignature, where δ is the BIP32 (SLIP-10 on
 * P-256) non-hardened child tweak the node derives itself from its share's
 * group key and chain code (cggmp_hd.c): the coordinator names a path, it
 * cannot pick an arbitrary tweak. A presignature is single use (two σ_i
 * from one reveal the key share), so the node records it as USED, with
 * the digest and path it signs, in a committed store transaction BEFORE it
 * computes σ_i; a crash after that loses one presignature, never reuses
 * one. A request that fails to parse, names another key, a bad path or an
 * unknown or used presignature burns nothing.
 *
 * BLAME produces this node's identification proofs (cggmp_blame.c):
 * kind 1 after a presign whose δ check failed (Fig. 7 output step: Πmul
 * and Πdec of δ_i, from the session's presign state), kind 2 after a
 * signature that did not verify (Fig. 8: Πmul* and Πdec of σ_i, from the
 * stored presignature, only for the digest and path it was used for: a
 * proof for another message would hand out a second σ).
 *
 * BLAME kinds 3 and 4 are the other half of the identification: the
 * coordinator holds no Paillier key, so it cannot check Πmul/Πdec itself.
 * It relays every signer's kind 1 (3) or kind 2 (4) proofs to every
 * signer, which verifies each other signer's proof against its OWN
 * ring-Pedersen parameters and its OWN copies of the ciphertexts (from the
 * presign state or the stored presignature) and answers the list of
 * parties whose proof failed or is missing. An honest party's proof
 * always verifies, so the honest signers agree on the culprit.
 *
 * INFO reports public facts: the share's epoch, the aux digest and the
 * unused presignatures with their signing sets, then (a tail the
 * coordinator may read) each one's R, so a coordinator that did not run
 * the presign (a restarted or one-shot one) can use them. A request that
 * adds flag byte 1 also gets the share's public data (t, holders, group
 * key, chain code, public shares) after that: the coordinator's resync. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "cggmp_int.h"
#include "node_evil.h" /* test-only hooks: nothing unless KG_MPC_EVIL */
#include "node_int.h"

#define INFO_MAX_PRESIGS 4000 /* keeps the answer far below a frame */

/* ------------------------------------------------------------ decoders */

static kg_err rd_key_id(kg_mpc_node_rd *r, char *out)
{
    size_t kl = 0;
    const uint8_t *kid = kg_mpc_node_rd_blob(r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    if (!kid) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP request: missing key id");
    kg_err err = kg_mpc_node_key_id_check(kid, kl);
    if (!err) memcpy(out, kid, kl), out[kl] = 0;
    return err;
}

/* key id, presig id 32, digest 32, path (u16 depth, depth x u32). */
static kg_err sign_parse(kg_mpc_nd_cg_sign_req *q, kg_mpc_node_rd *r)
{
    kg_err err = rd_key_id(r, q->key_id);
    if (err) return err;
    const uint8_t *id = kg_mpc_node_rd_fixed(r, 32), *d = kg_mpc_node_rd_fixed(r, 32);
    unsigned depth = kg_mpc_node_rd_u16(r);
    if (!id || !d || r->bad || depth > 255)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP sign: truncated request or path deeper than 255");
    memcpy(q->presig, id, 32);
    memcpy(q->digest, d, 32);
    for (unsigned i = 0; i < depth; i++) {
        q->path[i] = kg_mpc_nd_ep_rd_u32(r);
        if (r->bad || q->path[i] >= 0x80000000u)
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP sign: path level %u is truncated or hardened (MPC keys "
                              "derive non-hardened children only)", i);
    }
    q->depth = depth;
    return KG_OK;
}

kg_err kg_mpc_nd_cg_sign_read(kg_mpc_nd_cg_sign_req *q, const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    memset(q, 0, sizeof *q);
    kg_mpc_node_rd_init(&r, body, len);
    kg_err err = sign_parse(q, &r);
    if (!err) err = kg_mpc_node_rd_end(&r, "CGGMP sign request");
    if (err) memset(q, 0, sizeof *q);
    return err;
}

void kg_mpc_nd_cg_path_hash(uint8_t out[32], const uint32_t *path, size_t depth)
{
    kg_crypto_sha256_ctx h;
    uint8_t b[4] = {0, 0, (uint8_t)(depth >> 8), (uint8_t)depth};
    kg_crypto_sha256_init(&h);
    kg_crypto_sha256_update(&h, b + 2, 2);
    for (size_t i = 0; i < depth; i++) {
        b[0] = (uint8_t)(path[i] >> 24), b[1] = (uint8_t)(path[i] >> 16);
        b[2] = (uint8_t)(path[i] >> 8), b[3] = (uint8_t)path[i];
        kg_crypto_sha256_update(&h, b, 4);
    }
    kg_crypto_sha256_final(out, &h);
}

/* ---------------------------------------------------------------- sign */

/* The presignature of q for share sh, checked to be usable. */
static kg_err presig_for(kg_mpc_nd *nd, kg_mpc_cggmp_presig **ps, kg_mpc_nd_cg_presig_meta *meta,
                         const kg_mpc_nd_cg_sign_req *q, const kg_mpc_cggmp_share *sh)
{
    kg_err err = kg_mpc_nd_cg_presig_load(nd, q->key_id, q->presig, ps, meta);
    if (err) return err;
    if (kg_mpc_cggmp_presig_group(*ps) != sh->group || !kg_mpc_point_eq(sh->group, kg_mpc_cggmp_presig_pub(*ps), &sh->pub))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the presignature is not for key %s", q->key_id);
    if (err) { kg_mpc_cggmp_presig_free(*ps); *ps = NULL; }
    return err;
}

/* The share of q's key and the child tweak and key of q's path. */
static kg_err derive(kg_mpc_nd *nd, kg_mpc_cggmp_share *sh, kg_mpc_scalar *tweak, kg_mpc_point *child,
                     const kg_mpc_nd_cg_sign_req *q, kg_mpc_group_id g)
{
    uint8_t cc[32];
    kg_err err = kg_mpc_nd_cg_share_load(nd, q->key_id, sh);
    if (!err && sh->group != g) err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP key %s is of another curve", q->key_id);
    if (!err && q->depth) err = kg_mpc_cggmp_hd_derive(g, &sh->pub, sh->chain_code, q->path, q->depth, tweak, child, cc);
    if (!err && !q->depth) *child = sh->pub;
    return err;
}

kg_err kg_mpc_nd_cggmp_sign(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_nd_cg_sign_req *q = calloc(1, sizeof *q);
    kg_mpc_cggmp_share *sh = calloc(1, sizeof *sh);
    kg_mpc_cggmp_presig *ps = NULL;
    kg_mpc_nd_cg_presig_meta meta;
    kg_mpc_scalar tweak, sigma;
    kg_mpc_point child;
    uint8_t ph[32];
    kg_mpc_group_id g = (kg_mpc_group_id)m->scheme;
    memset(&tweak, 0, sizeof tweak);
    kg_err err = q && sh ? kg_mpc_nd_cg_sign_read(q, m->body, m->body_len) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = derive(nd, sh, &tweak, &child, q, g);
    if (!err) err = presig_for(nd, &ps, &meta, q, sh);
    if (!err && meta.used) err = kg_err_set(KG_ERR_CONFLICT, "the presignature was already used (single use): presign again");
    if (!err) {
        kg_mpc_nd_cg_path_hash(ph, q->path, q->depth);
        err = kg_mpc_nd_cg_presig_use(nd, q->key_id, q->presig, q->digest, ph); /* durable before σ_i exists */
    }
    if (!err) err = kg_mpc_cggmp_sign_share(ps, q->digest, q->depth ? &tweak : NULL, &sigma);
    if (!err) KG_MPC_EVIL_HOOK("cg-bad-sigma", kg_mpc_evil_bump(g, &sigma)); /* test build only */
    if (!err) {
        kg_mpc_node_wr_fixed(w, sigma.b, sizeof sigma.b);
        kg_mpc_point_write(w, g, &child);
    }
    kg_mpc_cggmp_presig_free(ps);
    kg_wipe(&sigma, sizeof sigma);
    kg_wipe(&tweak, sizeof tweak);
    if (sh) kg_wipe(sh, sizeof *sh);
    free(sh);
    free(q);
    return err;
}

/* ---------------------------------------------------------------- info */

typedef struct {
    kg_mpc_node_wr w;
    unsigned n;
    uint8_t (*ids)[32]; /* the listed ids, for the R tail */
} info_ctx;

static int info_one(void *arg, const uint8_t id[32], const kg_mpc_nd_cg_presig_meta *meta)
{
    info_ctx *c = arg;
    if (meta->used) return 0;
    if (c->n == INFO_MAX_PRESIGS) return 1;
    if (c->ids) memcpy(c->ids[c->n], id, 32);
    kg_mpc_node_wr_fixed(&c->w, id, 32);
    kg_mpc_node_wr_u16(&c->w, meta->ns);
    for (unsigned i = 0; i < meta->ns; i++) kg_mpc_node_wr_u16(&c->w, meta->signers[i]);
    c->n++;
    return 0;
}

/* The INFO tail: u16 count, then each listed presignature's R (read back
 * from the store after the listing). */
static kg_err info_tail(kg_mpc_nd *nd, const char *key_id, kg_mpc_group_id g, uint8_t (*ids)[32], unsigned n,
                        kg_mpc_node_wr *w)
{
    kg_err err = KG_OK;
    kg_mpc_node_wr_u16(w, (uint16_t)n);
    for (unsigned i = 0; i < n && !err; i++) {
        kg_mpc_cggmp_presig *ps = NULL;
        kg_mpc_nd_cg_presig_meta meta;
        err = kg_mpc_nd_cg_presig_load(nd, key_id, ids[i], &ps, &meta);
        if (!err) kg_mpc_point_write(w, g, kg_mpc_cggmp_presig_R(ps));
        kg_mpc_cggmp_presig_free(ps);
    }
    return err ? err : kg_mpc_node_wr_done(w);
}

/* The public tail (request flag 1, for the coordinator's resync): t u16,
 * u16 n + ids, group key P, chain code 32, n x P public shares. */
static void info_public(const kg_mpc_cggmp_share *sh, kg_mpc_node_wr *w)
{
    kg_mpc_node_wr_u16(w, (uint16_t)sh->t);
    kg_mpc_node_wr_u16(w, (uint16_t)sh->n);
    for (unsigned i = 0; i < sh->n; i++) kg_mpc_node_wr_u16(w, sh->ids[i]);
    kg_mpc_point_write(w, sh->group, &sh->pub);
    kg_mpc_node_wr_fixed(w, sh->chain_code, KG_CGGMP_CHAIN_CODE_BYTES);
    for (unsigned i = 0; i < sh->n; i++) kg_mpc_point_write(w, sh->group, &sh->X[i]);
}

kg_err kg_mpc_nd_cggmp_info(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    kg_mpc_node_rd r;
    kg_mpc_cggmp_share *sh = calloc(1, sizeof *sh);
    kg_mpc_cggmp_aux *aux = NULL;
    info_ctx c = {.n = 0, .ids = calloc(INFO_MAX_PRESIGS, 32)};
    kg_mpc_node_wr tail = {0}, pubw = {0};
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    kg_err err = sh ? rd_key_id(&r, key_id) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    const uint8_t *fl = !err && r.left ? kg_mpc_node_rd_fixed(&r, 1) : NULL; /* optional: 1 asks for the public tail */
    unsigned flags = fl ? fl[0] : 0;
    if (!err) err = kg_mpc_node_rd_end(&r, "CGGMP info request");
    if (!err && flags > 1) err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP info: unknown flags 0x%02x", flags);
    if (!err) err = kg_mpc_nd_cg_share_load(nd, key_id, sh);
    if (!err && sh->group != (kg_mpc_group_id)m->scheme)
        err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP key %s is of another curve", key_id);
    if (!err && flags) {
        info_public(sh, &pubw);
        err = kg_mpc_node_wr_done(&pubw);
    }
    uint32_t epoch = sh ? sh->epoch : 0;
    if (sh) kg_wipe(sh, sizeof *sh);
    free(sh);
    kg_err ea = err ? KG_OK : kg_mpc_nd_cg_aux_load(nd, key_id, &aux);
    if (!err && ea && ea != KG_ERR_NOT_FOUND) err = ea;
    if (!err && !c.ids) err = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_nd_cg_presig_list(nd, NULL, key_id, info_one, &c);
    if (!err) err = info_tail(nd, key_id, (kg_mpc_group_id)m->scheme, c.ids, c.n, &tail);
    if (!err) err = kg_mpc_node_wr_done(&c.w);
    if (!err) {
        uint8_t e[5] = {(uint8_t)(epoch >> 24), (uint8_t)(epoch >> 16), (uint8_t)(epoch >> 8), (uint8_t)epoch,
                        aux ? 1 : 0};
        uint8_t zero[64] = {0};
        kg_mpc_node_wr_fixed(w, e, sizeof e);
        kg_mpc_node_wr_fixed(w, aux ? aux->digest : zero, 64);
        kg_mpc_node_wr_u16(w, (uint16_t)c.n);
        if (c.w.b.len) kg_mpc_node_wr_fixed(w, c.w.b.data, c.w.b.len);
        kg_mpc_node_wr_fixed(w, tail.b.data, tail.b.len);
        if (pubw.b.len) kg_mpc_node_wr_fixed(w, pubw.b.data, pubw.b.len);
    }
    kg_bytes_free(&c.w.b);
    kg_bytes_free(&tail.b);
    kg_bytes_free(&pubw.b);
    free(c.ids);
    kg_mpc_cggmp_aux_free(aux);
    return err;
}

/* --------------------------------------------------------------- blame */

/* Statement rows of prover position me: D_in[k] = D_{me,k}, F_out[k] = F_{k,me}. */
static size_t rows_of(const kg_mpc_cggmp_blame_inputs *bi, size_t me, bool hat, const BIGNUM **D_in,
                      const BIGNUM **F_out)
{
    size_t n = 0, ns = bi->ns;
    for (size_t k = 0; k < ns; k++) {
        if (k == me) continue;
        D_in[n] = (hat ? bi->Dh : bi->D)[me * ns + k];
        F_out[n] = (hat ? bi->Fh : bi->F)[k * ns + me];
        n++;
    }
    return n;
}

static size_t rows(const kg_mpc_cggmp_blame_inputs *bi, bool hat, const BIGNUM **D_in, const BIGNUM **F_out)
{
    return rows_of(bi, bi->me_pos, hat, D_in, F_out);
}

/* The verifiers' ring-Pedersen parameters, from the key's aux info. */
static kg_err verifiers(const kg_mpc_rped **v, const kg_mpc_cggmp_aux *aux, const uint16_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int k = kg_mpc_cggmp_index(aux->ids, aux->n, ids[i]);
        if (k < 0) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame: verifier %u does not hold the key", ids[i]);
        v[i] = &aux->rp[k];
    }
    return KG_OK;
}

/* Kind 1: the δ proof from the session's presign state. */
static kg_err blame_delta(kg_mpc_nd *nd, const kg_mpc_nd_session *s, const uint16_t *ver_ids, size_t nv,
                          kg_mpc_node_wr *w)
{
    const kg_mpc_cggmp_presign *st = kg_mpc_nd_cggmp_presign_of(s);
    const kg_mpc_cggmp_aux *aux = kg_mpc_nd_cggmp_aux_of(s);
    kg_mpc_cggmp_blame_inputs bi;
    const kg_mpc_rped *v[KG_CGGMP_MAX_PARTIES];
    const BIGNUM *D_in[KG_CGGMP_MAX_PARTIES], *F_out[KG_CGGMP_MAX_PARTIES];
    kg_mpc_cggmp_blame_delta b;
    memset(&b, 0, sizeof b);
    if (!st || !aux) return kg_err_set(KG_ERR_NOT_FOUND, "no presign run of this session to blame");
    kg_err err = kg_mpc_cggmp_presign_blame_inputs(st, &bi);
    if (!err && !bi.delta) err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame: the presign run has not reached its δ check");
    if (!err) err = verifiers(v, aux, ver_ids, nv);
    if (!err) {
        size_t np = rows(&bi, false, D_in, F_out);
        kg_mpc_zk_ctx ctx = {.group = bi.group, .sid = bi.sid, .sid_len = 64, .prover = nd->cfg->id};
        err = kg_mpc_cggmp_blame_delta_prove(&b, &ctx, v, nv, &aux->sk, bi.K[bi.me_pos], bi.G[bi.me_pos], bi.gamma,
                                             bi.nu, D_in, F_out, np, &bi.delta[bi.me_pos]);
    }
    if (!err) {
        kg_mpc_node_wr pw = {0};
        kg_mpc_cggmp_blame_delta_write(&pw, &b);
        if (!(err = kg_mpc_node_wr_done(&pw))) kg_mpc_node_wr_blob(w, pw.b.data, pw.b.len);
        kg_bytes_free(&pw.b);
    }
    kg_mpc_cggmp_blame_delta_clear(&b);
    return err;
}

/* Kind 2: the σ proof from the stored presignature, for the digest and
 * path it was used with only. */
static kg_err blame_sigma(kg_mpc_nd *nd, const kg_mpc_nd_cg_sign_req *q, kg_mpc_group_id g, const uint16_t *ver_ids,
                          size_t nv, kg_mpc_node_wr *w)
{
    kg_mpc_cggmp_share *sh = calloc(1, sizeof *sh);
    kg_mpc_cggmp_presig *ps = NULL;
    kg_mpc_cggmp_aux *aux = NULL;
    kg_mpc_nd_cg_presig_meta meta;
    kg_mpc_scalar tweak, sigma, mm, r;
    kg_mpc_point child;
    kg_mpc_cggmp_blame_inputs bi;
    kg_mpc_cggmp_blame_sigma b;
    const kg_mpc_rped *v[KG_CGGMP_MAX_PARTIES];
    const BIGNUM *D_in[KG_CGGMP_MAX_PARTIES], *F_out[KG_CGGMP_MAX_PARTIES];
    uint8_t ph[32];
    memset(&b, 0, sizeof b);
    memset(&tweak, 0, sizeof tweak);
    memset(&sigma, 0, sizeof sigma);
    kg_err err = sh ? derive(nd, sh, &tweak, &child, q, g) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = presig_for(nd, &ps, &meta, q, sh);
    kg_mpc_nd_cg_path_hash(ph, q->path, q->depth);
    if (!err && (!meta.used || memcmp(meta.digest, q->digest, 32) || memcmp(meta.path, ph, 32)))
        err = kg_err_set(KG_ERR_CONFLICT, "CGGMP blame: this presignature did not sign that digest and path here");
    if (!err) err = kg_mpc_nd_cg_aux_load(nd, q->key_id, &aux);
    if (!err) err = kg_mpc_cggmp_presig_blame_inputs(ps, &bi);
    if (!err) err = verifiers(v, aux, ver_ids, nv);
    if (!err) err = kg_mpc_cggmp_sign_scalars(g, kg_mpc_cggmp_presig_R(ps), q->digest, &mm, &r);
    if (!err) err = kg_mpc_cggmp_sign_share(ps, q->digest, q->depth ? &tweak : NULL, &sigma); /* the σ_i it sent */
    if (!err) {
        size_t np = rows(&bi, true, D_in, F_out);
        kg_mpc_zk_ctx ctx = {.group = g, .sid = bi.sid, .sid_len = 64, .prover = nd->cfg->id};
        err = kg_mpc_cggmp_blame_sigma_prove(&b, &ctx, v, nv, &aux->sk, bi.K[bi.me_pos], &bi.W[bi.me_pos], bi.w, D_in,
                                             F_out, np, q->digest, &r, q->depth ? &tweak : NULL, &sigma);
    }
    if (!err) {
        kg_mpc_node_wr pw = {0};
        kg_mpc_cggmp_blame_sigma_write(&pw, g, &b);
        if (!(err = kg_mpc_node_wr_done(&pw))) kg_mpc_node_wr_blob(w, pw.b.data, pw.b.len);
        kg_bytes_free(&pw.b);
    }
    kg_mpc_cggmp_blame_sigma_clear(&b);
    kg_mpc_cggmp_presig_free(ps);
    kg_mpc_cggmp_aux_free(aux);
    kg_wipe(&sigma, sizeof sigma);
    kg_wipe(&tweak, sizeof tweak);
    if (sh) kg_wipe(sh, sizeof *sh);
    free(sh);
    return err;
}

/* ------------------------------------------------ blame verification */

/* A verify request's proofs: for each prover its id, (kind 4) the σ_j the
 * coordinator received, and its proof blob (empty: it gave none). */
typedef struct {
    size_t nv, np;
    uint16_t ver[KG_CGGMP_MAX_PARTIES];
    uint16_t prover[KG_CGGMP_MAX_PARTIES];
    const uint8_t *sigma[KG_CGGMP_MAX_PARTIES];
    const uint8_t *proof[KG_CGGMP_MAX_PARTIES];
    size_t proof_len[KG_CGGMP_MAX_PARTIES];
} vreq;

static kg_err vreq_parse(vreq *v, kg_mpc_node_rd *r, bool sigma)
{
    v->nv = kg_mpc_node_rd_u16(r);
    if (r->bad || v->nv == 0 || v->nv > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame verify: %zu verifiers", v->nv);
    for (size_t i = 0; i < v->nv; i++) v->ver[i] = kg_mpc_node_rd_u16(r);
    v->np = kg_mpc_node_rd_u16(r);
    if (r->bad || v->np > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame verify: %zu provers", v->np);
    for (size_t i = 0; i < v->np && !r->bad; i++) {
        v->prover[i] = kg_mpc_node_rd_u16(r);
        if (sigma) v->sigma[i] = kg_mpc_node_rd_fixed(r, KG_MPC_SCALAR_BYTES);
        v->proof[i] = kg_mpc_node_rd_blob(r, &v->proof_len[i], KG_MPC_NET_FRAME_MAX_BYTES);
        if (!v->proof[i] || (sigma && !v->sigma[i])) r->bad = true;
    }
    return r->bad ? kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame verify: truncated proof list") : KG_OK;
}

/* The request's entry of prover id, or -1. */
static int vreq_find(const vreq *v, uint16_t id)
{
    for (size_t i = 0; i < v->np; i++)
        if (v->prover[i] == id) return (int)i;
    return -1;
}

/* This node's verifier index and ring-Pedersen parameters. */
static kg_err my_verifier(const kg_mpc_cggmp_aux *aux, const vreq *v, uint16_t me, size_t *vi, const kg_mpc_rped **rp)
{
    int i = kg_mpc_cggmp_index(v->ver, v->nv, me), k = kg_mpc_cggmp_index(aux->ids, aux->n, me);
    if (i < 0 || k < 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame verify: node %u is not among the verifiers", me);
    *vi = (size_t)i;
    *rp = &aux->rp[k];
    return KG_OK;
}

/* The σ statement's public scalars (kind 4); NULL for δ (kind 3). */
typedef struct {
    const uint8_t *digest;
    kg_mpc_scalar r;
    const kg_mpc_scalar *tweak; /* NULL: no derivation */
} sig_stmt;

/* One prover's proof against this node's own statement: KG_OK or why not. */
static kg_err verify_one(kg_mpc_nd *nd, const kg_mpc_cggmp_blame_inputs *bi, const kg_mpc_cggmp_aux *aux,
                         const vreq *v, size_t pos, const sig_stmt *q)
{
    uint16_t j = bi->signers[pos];
    int e = vreq_find(v, j), a = kg_mpc_cggmp_index(aux->ids, aux->n, j);
    size_t vi = 0;
    const kg_mpc_rped *rp = NULL;
    const BIGNUM *D_in[KG_CGGMP_MAX_PARTIES], *F_out[KG_CGGMP_MAX_PARTIES];
    kg_err err = my_verifier(aux, v, nd->cfg->id, &vi, &rp);
    if (err) return err;
    if (e < 0 || v->proof_len[e] == 0 || a < 0) return kg_err_set(KG_ERR_VERIFY, "gave no identification proof");
    kg_mpc_zk_ctx ctx = {.group = bi->group, .sid = bi->sid, .sid_len = 64, .prover = j};
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, v->proof[e], v->proof_len[e]);
    size_t np = rows_of(bi, pos, q != NULL, D_in, F_out);
    if (!q) {
        kg_mpc_cggmp_blame_delta b;
        if (!(err = kg_mpc_cggmp_blame_delta_read(&r, &b)) && !(err = kg_mpc_node_rd_end(&r, "δ blame proof")))
            err = kg_mpc_cggmp_blame_delta_verify(&b, &ctx, rp, vi, &aux->pk[a], bi->K[pos], bi->G[pos], D_in, F_out,
                                                  np, &bi->delta[pos]);
        kg_mpc_cggmp_blame_delta_clear(&b);
        return err;
    }
    kg_mpc_cggmp_blame_sigma b;
    kg_mpc_scalar sig;
    if (kg_mpc_scalar_from_bytes(bi->group, &sig, v->sigma[e], KG_MPC_SCALAR_BYTES))
        return kg_err_set(KG_ERR_VERIFY, "sent a σ that is not a scalar");
    if (!(err = kg_mpc_cggmp_blame_sigma_read(&r, bi->group, &b)) && !(err = kg_mpc_node_rd_end(&r, "σ blame proof")))
        err = kg_mpc_cggmp_blame_sigma_verify(&b, &ctx, rp, vi, &aux->pk[a], bi->K[pos], &bi->W[pos], D_in, F_out, np,
                                              q->digest, &q->r, q->tweak, &sig);
    kg_mpc_cggmp_blame_sigma_clear(&b);
    return err;
}

/* Verify every other signer's proof; answer u16 count + the ids whose
 * proof failed or is missing (each also logged with the reason). */
static kg_err verify_all(kg_mpc_nd *nd, const kg_mpc_cggmp_blame_inputs *bi, const kg_mpc_cggmp_aux *aux,
                         const vreq *v, const sig_stmt *q, kg_mpc_node_wr *w)
{
    uint16_t bad[KG_CGGMP_MAX_PARTIES];
    size_t nb = 0, vi = 0;
    const kg_mpc_rped *rp = NULL;
    kg_err err = my_verifier(aux, v, nd->cfg->id, &vi, &rp);
    for (size_t pos = 0; pos < bi->ns && !err; pos++) {
        if (pos == bi->me_pos) continue;
        kg_err e = verify_one(nd, bi, aux, v, pos, q);
        if (e == KG_ERR_NOMEM || e == KG_ERR_ARG) return e; /* ours, not the prover's */
        if (!e) continue;
        bad[nb++] = bi->signers[pos];
        fprintf(stderr, "mpc-node %u: CGGMP21 %s identification: party %u is to blame: %s\n", nd->cfg->id,
                q ? "signature" : "presign", bi->signers[pos], kg_err_detail(e) ? kg_err_detail(e) : kg_err_str(e));
    }
    if (err) return err;
    kg_mpc_node_wr_u16(w, (uint16_t)nb);
    for (size_t i = 0; i < nb; i++) kg_mpc_node_wr_u16(w, bad[i]);
    return KG_OK;
}

/* Kind 3: the δ proofs of the session's failed presign. */
static kg_err verify_delta(kg_mpc_nd *nd, const kg_mpc_nd_session *s, const vreq *v, kg_mpc_node_wr *w)
{
    const kg_mpc_cggmp_presign *st = kg_mpc_nd_cggmp_presign_of(s);
    const kg_mpc_cggmp_aux *aux = kg_mpc_nd_cggmp_aux_of(s);
    kg_mpc_cggmp_blame_inputs bi;
    if (!st || !aux) return kg_err_set(KG_ERR_NOT_FOUND, "no presign run of this session to check proofs against");
    kg_err err = kg_mpc_cggmp_presign_blame_inputs(st, &bi);
    if (!err && !bi.delta) err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame: the presign run has not reached its δ check");
    return err ? err : verify_all(nd, &bi, aux, v, NULL, w);
}

/* Kind 4: the σ proofs for presignature q->presig, digest and path. */
static kg_err verify_sigma(kg_mpc_nd *nd, const kg_mpc_nd_cg_sign_req *q, kg_mpc_group_id g, const vreq *v,
                           kg_mpc_node_wr *w)
{
    kg_mpc_cggmp_share *sh = calloc(1, sizeof *sh);
    kg_mpc_cggmp_presig *ps = NULL;
    kg_mpc_cggmp_aux *aux = NULL;
    kg_mpc_nd_cg_presig_meta meta;
    kg_mpc_scalar tweak, mm;
    kg_mpc_point child;
    kg_mpc_cggmp_blame_inputs bi;
    sig_stmt st = {.digest = q->digest};
    memset(&tweak, 0, sizeof tweak);
    kg_err err = sh ? derive(nd, sh, &tweak, &child, q, g) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = presig_for(nd, &ps, &meta, q, sh);
    if (!err) err = kg_mpc_nd_cg_aux_load(nd, q->key_id, &aux);
    if (!err) err = kg_mpc_cggmp_presig_blame_inputs(ps, &bi);
    if (!err) err = kg_mpc_cggmp_sign_scalars(g, kg_mpc_cggmp_presig_R(ps), q->digest, &mm, &st.r);
    st.tweak = q->depth ? &tweak : NULL;
    if (!err) err = verify_all(nd, &bi, aux, v, &st, w);
    kg_mpc_cggmp_presig_free(ps);
    kg_mpc_cggmp_aux_free(aux);
    kg_wipe(&tweak, sizeof tweak);
    if (sh) kg_wipe(sh, sizeof *sh);
    free(sh);
    return err;
}

kg_err kg_mpc_nd_cggmp_blame(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    kg_mpc_node_rd r;
    kg_mpc_nd_cg_sign_req *q = calloc(1, sizeof *q);
    uint16_t ids[KG_CGGMP_MAX_PARTIES];
    if (!q) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned kind = kg_mpc_node_rd_u16(&r);
    kg_err err = kind >= 1 && kind <= 4 ? KG_OK : kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame: unknown kind %u", kind);
    if (!err && (kind == 2 || kind == 4)) err = sign_parse(q, &r);
    if (!err && kind >= 3) {
        vreq *v = calloc(1, sizeof *v);
        err = v ? vreq_parse(v, &r, kind == 4) : kg_err_set(KG_ERR_NOMEM, "out of memory");
        if (!err) err = kg_mpc_node_rd_end(&r, "CGGMP blame verify request");
        if (!err) err = kind == 3 ? verify_delta(nd, s, v, w) : verify_sigma(nd, q, (kg_mpc_group_id)m->scheme, v, w);
        free(v);
        free(q);
        return err;
    }
    unsigned nv = err ? 0 : kg_mpc_node_rd_u16(&r);
    if (!err && (nv == 0 || nv > KG_CGGMP_MAX_PARTIES)) err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP blame: %u verifiers", nv);
    for (unsigned i = 0; i < nv && !err; i++) ids[i] = kg_mpc_node_rd_u16(&r);
    if (!err) err = kg_mpc_node_rd_end(&r, "CGGMP blame request");
    if (!err) err = kind == 1 ? blame_delta(nd, s, ids, nv, w) : blame_sigma(nd, q, (kg_mpc_group_id)m->scheme, ids, nv, w);
    free(q);
    return err;
}
