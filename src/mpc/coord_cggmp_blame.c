/* Identifiable abort over the node network (CGGMP21, eprint 2021/060:
 * Fig. 7 output step after a failed δ·G = ΣΔ_j check, Fig. 8 after a
 * signature that does not verify). No single proof failed, so every
 * signer proves its broadcast value (CGGMP_BLAME kind 1 / 2: Πmul or Πmul*
 * and one Πdec per verifier, cggmp_blame.c). The coordinator holds no
 * Paillier key and cannot check them: it relays the whole set to every
 * signer (kind 3 / 4), each checks every other signer's proof against its
 * own ring-Pedersen parameters and ciphertexts (node_cggmp_sign.c) and
 * answers whom it blames. A party is named only when every other signer
 * that answered names it; the detail says who named whom. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coord_cggmp_int.h"

#define MAXP KG_MPC_CO_CG_MAXP

#define BLAME_MS 120000 /* a proof per verifier at 2048+ bits in a sanitizer build */

typedef struct {
    kg_bytes proof[MAXP];
    bool answered[MAXP];          /* the verify answer came */
    bool names[MAXP][MAXP];       /* [s][j]: signer s blames signer j */
    char why[MAXP][200];          /* a signer's failure to prove or verify */
    const uint16_t *signers;
    size_t ns;
} blame_run;

/* Send body to every connected signer, then read each answer (type BLAME)
 * into on(s, body) or record the failure. */
static void blame_round(kg_mpc_net_conn **c, size_t ns, kg_mpc_group_id g, const uint8_t *sess, const kg_bytes *body,
                        blame_run *b, void (*on)(blame_run *, size_t, const kg_mpc_node_msg *))
{
    bool sent[MAXP] = {false};
    for (size_t s = 0; s < ns; s++) {
        kg_err e = c[s] ? kg_mpc_co_send(c[s], KG_MPC_NODE_CGGMP_BLAME, g, sess, body, BLAME_MS) : KG_ERR_NETWORK;
        if (e) snprintf(b->why[s], sizeof b->why[s], "%s", c[s] && kg_err_detail(e) ? kg_err_detail(e) : "unreachable");
        sent[s] = !e;
    }
    for (size_t s = 0; s < ns; s++) {
        if (!sent[s]) continue;
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        kg_err e = kg_mpc_co_recv(&resp, &m, c[s], KG_MPC_NODE_CGGMP_BLAME, sess, BLAME_MS);
        if (e) snprintf(b->why[s], sizeof b->why[s], "%s", kg_err_detail(e) ? kg_err_detail(e) : kg_err_str(e));
        else on(b, s, &m);
        kg_bytes_free(&resp);
    }
}

static void on_proof(blame_run *b, size_t s, const kg_mpc_node_msg *m)
{
    kg_mpc_node_rd r;
    size_t len = 0;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES);
    if (!p || kg_mpc_node_rd_end(&r, "CGGMP_BLAME answer") || kg_bytes_set(&b->proof[s], p, len))
        snprintf(b->why[s], sizeof b->why[s], "a malformed identification proof");
}

static void on_verdict(blame_run *b, size_t s, const kg_mpc_node_msg *m)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    bool names[MAXP] = {false};
    for (unsigned i = 0; i < cnt && !r.bad; i++) {
        uint16_t id = kg_mpc_node_rd_u16(&r);
        for (size_t j = 0; j < b->ns; j++) names[j] |= b->signers[j] == id && j != s;
    }
    if (r.bad || cnt > MAXP || kg_mpc_node_rd_end(&r, "CGGMP_BLAME verify answer")) {
        snprintf(b->why[s], sizeof b->why[s], "a malformed verification answer");
        return;
    }
    memcpy(b->names[s], names, sizeof names);
    b->answered[s] = true;
}

/* The detail: "party X ... (who named whom)"; *culprit 0 when the
 * answers do not agree on anybody. */
static void blame_verdict(const blame_run *b, const uint16_t *signers, size_t ns, char *out, size_t cap,
                          uint16_t *culprit)
{
    char who[900] = "";
    size_t off = 0;
    *culprit = 0;
    for (size_t s = 0; s < ns && off < sizeof who; s++) {
        if (!b->answered[s]) {
            off += (size_t)snprintf(who + off, sizeof who - off, "%snode %u did not check (%s)", off ? "; " : "",
                                    signers[s], b->why[s]);
            continue;
        }
        off += (size_t)snprintf(who + off, sizeof who - off, "%snode %u names", off ? "; " : "", signers[s]);
        bool any = false;
        for (size_t j = 0; j < ns && off < sizeof who; j++)
            if (b->names[s][j]) { off += (size_t)snprintf(who + off, sizeof who - off, " %u", signers[j]); any = true; }
        if (!any && off < sizeof who) off += (size_t)snprintf(who + off, sizeof who - off, " nobody");
    }
    for (size_t j = 0; j < ns && !*culprit; j++) {
        size_t by = 0, against = 0;
        for (size_t s = 0; s < ns; s++)
            if (s != j && b->answered[s]) { by += b->names[s][j]; against += !b->names[s][j]; }
        if (by && !against) *culprit = signers[j];
    }
    if (*culprit)
        snprintf(out, cap, "party %u failed its identification proof (party %u is named by every other signer that "
                 "checked: %s)", *culprit, *culprit, who);
    else
        snprintf(out, cap, "the signers do not agree on a culprit (%s)", who);
}

kg_err kg_mpc_co_cg_blame_identify(kg_mpc_net_conn **c, const uint16_t *signers, size_t ns, kg_mpc_group_id g,
                             const uint8_t *sess, const kg_bytes *sbody, const kg_mpc_scalar *sigma, char *out,
                             size_t cap, uint16_t *culprit)
{
    blame_run *b = calloc(1, sizeof *b);
    kg_mpc_node_wr w = {0}, v = {0};
    if (!b) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    b->signers = signers;
    b->ns = ns;
    kg_mpc_node_wr_u16(&w, sbody ? 2 : 1);
    kg_mpc_node_wr_u16(&v, sbody ? 4 : 3);
    if (sbody) { kg_mpc_node_wr_fixed(&w, sbody->data, sbody->len); kg_mpc_node_wr_fixed(&v, sbody->data, sbody->len); }
    kg_mpc_co_wr_ids(&w, signers, ns);
    kg_err err = kg_mpc_node_wr_done(&w);
    if (!err) blame_round(c, ns, g, sess, &w.b, b, on_proof);
    kg_mpc_co_wr_ids(&v, signers, ns);
    kg_mpc_node_wr_u16(&v, (uint16_t)ns);
    for (size_t s = 0; s < ns; s++) {
        kg_mpc_node_wr_u16(&v, signers[s]);
        if (sigma) kg_mpc_node_wr_fixed(&v, sigma[s].b, sizeof sigma[s].b);
        kg_mpc_node_wr_blob(&v, b->proof[s].data, b->proof[s].len);
    }
    if (!err) err = kg_mpc_node_wr_done(&v);
    if (!err) {
        blame_round(c, ns, g, sess, &v.b, b, on_verdict);
        blame_verdict(b, signers, ns, out, cap, culprit);
    }
    for (size_t s = 0; s < ns; s++) kg_bytes_free(&b->proof[s]);
    kg_bytes_free(&w.b);
    kg_bytes_free(&v.b);
    free(b);
    return err;
}

kg_err kg_mpc_co_cg_presign_identify(void *arg, kg_mpc_co_cg_phase *p, kg_mpc_net_conn **c)
{
    (void)arg;
    char d[1200];
    uint16_t culprit = 0;
    kg_err err = kg_mpc_co_cg_blame_identify(c, p->parts, p->np, p->g, p->sess, NULL, NULL, d, sizeof d, &culprit);
    if (err) return err;
    return kg_err_set(KG_ERR_VERIFY, "%s", d);
}
