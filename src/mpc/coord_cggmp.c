/* The coordinator's side of CGGMP21 (Canetti, Gennaro, Goldfeder,
 * Makriyannis, Peled, eprint 2021/060) over the node network: a generic
 * runner of one phase (keygen Fig. 5, aux info / refresh Fig. 6, presign
 * Fig. 7, all made t-of-n by the library) and the keygen and refresh
 * operations of mpc/node.h. Signing is in coord_cggmp_sign.c.
 *
 * A phase run (wire contract of node_cggmp*.c, CGGMP_* of mpc/node.h):
 * CGGMP_START to every party (each answers its round-1 envelopes), then
 * for rounds 2 and 3 each party gets the broadcasts of the others and the
 * point-to-point envelopes addressed to it, then round 4 (finish) returns
 * each party's result and a signed confirmation over its broadcast
 * transcript. The coordinator checks that every party reports the same
 * result (group key, chain code, public shares, aux digest, presignature
 * id and R) and lets the caller check it, then sends CGGMP_CONFIRM with
 * every confirmation: only then do the nodes store anything. Any failure
 * sends CGGMP_ABORT to every party.
 *
 * The coordinator only relays: broadcasts are signed by their sender and
 * p2p envelopes sealed to their receiver (it cannot read them). It still
 * checks each envelope's header and broadcast signature with the
 * registry's keys, so a node sending garbage is named at once rather than
 * by its peers. Every request of a round goes to all parties before any
 * answer is awaited: the parties compute in parallel (the proofs cost
 * hundreds of milliseconds each), a round costs the slowest party's time.
 *
 * Blame: a node's error whose text starts "party <id> " names the party
 * its checks caught (the identifiable abort of the paper); the final error
 * names the party most reporters blame, or an unreachable node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "coord_cggmp_int.h"

#define MAXP KG_MPC_CO_CG_MAXP
#define CONF_ROUND 100

typedef struct {
    kg_bytes raw;
    uint16_t to;
} env;

typedef struct {
    kg_mpc_net_conn *c;
    bool pending;   /* a request was sent, its answer not read yet */
    bool broken;    /* transport failure: the connection is not reused */
    env *e;         /* this party's envelopes of the current round */
    size_t ne;
    kg_bytes res, conf;
} party;

typedef struct {
    kg_mpc_co_cg_phase *p;
    party pt[MAXP];
    kg_mpc_net_pubkeys reg[MAXP]; /* by index in p->parts */
    bool failed;
    bool skip[MAXP];              /* send_all leaves parts[i] out */
    kg_err code;                  /* first failure */
    char why[1024];
    uint16_t culprit[MAXP + 1];   /* [0] coordinator, [i+1] reported by parts[i] */
    char cwhy[MAXP + 1][256];
    char down[512];               /* unreachable nodes and why */
} run;

static bool same_bytes(const kg_bytes *a, const kg_bytes *b)
{
    return a->len == b->len && (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

static const char *phase_name(uint16_t phase)
{
    switch (phase) {
    case KG_MPC_CO_CG_KEYGEN: return "keygen";
    case KG_MPC_CO_CG_AUX: return "aux info";
    case KG_MPC_CO_CG_REFRESH: return "refresh";
    case KG_MPC_CO_CG_RESHARE: return "reshare";
    default: return "presign";
    }
}

static int part_index(const kg_mpc_co_cg_phase *p, uint32_t id)
{
    for (size_t i = 0; i < p->np; i++)
        if (p->parts[i] == id) return (int)i;
    return -1;
}

/* parts[i] ends the phase with a result: in a reshare a new party only. */
static bool has_result(const kg_mpc_co_cg_phase *p, size_t i)
{
    if (p->phase != KG_MPC_CO_CG_RESHARE) return true;
    for (size_t k = 0; k < p->new_n; k++)
        if (p->new_ids[k] == p->parts[i]) return true;
    return false;
}

/* The number of public shares in parts[i]'s result. */
static size_t result_n(const kg_mpc_co_cg_phase *p, size_t i)
{
    if (p->phase != KG_MPC_CO_CG_RESHARE) return p->n;
    return has_result(p, i) ? p->new_n : 0;
}

size_t kg_mpc_co_cg_result_len(uint16_t phase, kg_mpc_group_id g, size_t n)
{
    size_t pl = kg_mpc_group_point_len(g);
    switch (phase) {
    case KG_MPC_CO_CG_KEYGEN: return pl + KG_CGGMP_CHAIN_CODE_BYTES + n * pl;
    case KG_MPC_CO_CG_AUX: return KG_MPC_CO_CG_AUX_DIGEST;
    case KG_MPC_CO_CG_REFRESH: return KG_MPC_CO_CG_AUX_DIGEST + n * pl;
    case KG_MPC_CO_CG_RESHARE: return n * pl; /* a new party's new public shares; 0 for one leaving */
    default: return KG_MPC_CO_CG_PRESIG_ID + pl;
    }
}

/* Record a failure. reporter: 0 the coordinator, else parts[reporter-1]
 * (whose error detail is "node <id>: <text>"). A text "party <c> <why>"
 * names culprit c; a transport failure marks the reporter down. */
static void verdict(run *r, size_t reporter, kg_err err)
{
    const char *d = kg_err_detail(err) ? kg_err_detail(err) : kg_err_str(err);
    unsigned node = 0, c = 0;
    int off = -1;
    if (!r->failed) {
        r->failed = true;
        r->code = err;
        snprintf(r->why, sizeof r->why, "%s", d);
    }
    if (reporter && err == KG_ERR_NETWORK) {
        r->p->down[reporter - 1] = true;
        r->pt[reporter - 1].broken = true;
        size_t l = strlen(r->down);
        snprintf(r->down + l, sizeof r->down - l, "%s%s", l ? "; " : "", d);
        return;
    }
    if (reporter ? sscanf(d, "node %u: party %u %n", &node, &c, &off) < 2 : sscanf(d, "party %u %n", &c, &off) < 1)
        off = -1;
    if (off > 0 && part_index(r->p, c) >= 0 && !r->culprit[reporter]) {
        r->culprit[reporter] = (uint16_t)c;
        snprintf(r->cwhy[reporter], sizeof r->cwhy[reporter], "%s", d + off);
    }
}

/* The final error: the culprit the coordinator found, else the one most
 * nodes name; else an unreachable node; else the first failure. */
static kg_err report(run *r)
{
    const kg_mpc_co_cg_phase *p = r->p;
    unsigned votes[MAXP] = {0};
    int best = -1;
    size_t from = 0;
    for (size_t i = 0; i <= p->np; i++)
        if (r->culprit[i]) votes[part_index(p, r->culprit[i])] += i ? 1 : 1000;
    for (size_t j = 0; j < p->np; j++)
        if (votes[j] && (best < 0 || votes[j] > votes[best])) best = (int)j;
    if (best >= 0) {
        while (r->culprit[from] != p->parts[best]) from++;
        r->p->blamed[best] = true;
        char by[320];
        size_t bo = 0;
        for (size_t i = 1; i <= p->np && bo < sizeof by; i++) /* every node that named it */
            if (r->culprit[i] == p->parts[best])
                bo += (size_t)snprintf(by + bo, sizeof by - bo, "%s%u", bo ? ", " : "reported by node(s) ", p->parts[i - 1]);
        if (!bo) snprintf(by, sizeof by, "found by the coordinator");
        return kg_err_set(r->code == KG_ERR_NETWORK ? KG_ERR_VERIFY : r->code,
                          "CGGMP21 %s of key %s aborted: node %u %s (%s; party %u is to blame)",
                          phase_name(p->phase), p->key_id, p->parts[best], r->cwhy[from], by, p->parts[best]);
    }
    if (r->down[0])
        return kg_err_set(KG_ERR_NETWORK, "CGGMP21 %s of key %s aborted: unreachable: %s", phase_name(p->phase),
                          p->key_id, r->down);
    return kg_err_set(r->code, "CGGMP21 %s of key %s aborted: %s", phase_name(p->phase), p->key_id, r->why);
}

static void envs_free(party *pt)
{
    for (size_t k = 0; k < pt->ne; k++) kg_bytes_free(&pt->e[k].raw);
    free(pt->e);
    pt->e = NULL;
    pt->ne = 0;
}

/* Send body to every live party (type, this session); mark them pending. */
static void send_all(run *r, uint8_t type, const kg_bytes *bodies, bool one_body)
{
    kg_mpc_co_cg_phase *p = r->p;
    for (size_t i = 0; i < p->np; i++) {
        party *pt = &r->pt[i];
        if (!pt->c || pt->broken || r->skip[i]) continue;
        kg_err e = kg_mpc_co_send(pt->c, type, p->g, p->sess, one_body ? &bodies[0] : &bodies[i], p->call_ms);
        if (e) verdict(r, e == KG_ERR_NETWORK ? i + 1 : 0, e); /* else a local failure (encoding) */
        else pt->pending = true;
    }
}

/* Check one envelope parties[i] sent in round rnd (header, signature of a
 * broadcast) and keep it. */
static kg_err env_take(run *r, size_t i, uint32_t rnd, const uint8_t *b, size_t len)
{
    kg_mpc_co_cg_phase *p = r->p;
    kg_mpc_net_envelope e;
    const uint8_t *pl = NULL;
    size_t pll = 0;
    uint16_t me = p->parts[i];
    kg_err err = kg_mpc_net_envelope_decode(&e, b, len);
    if (!err && (e.h.type != KG_MPC_NODE_CGGMP_ROUND || e.h.scheme != (uint8_t)p->g || e.h.sender != me ||
                 e.h.round != rnd || memcmp(e.h.session, p->sess, sizeof p->sess) ||
                 (e.h.receiver && part_index(p, e.h.receiver) < 0)))
        err = KG_ERR_BAD_INPUT;
    if (!err && e.h.receiver == 0 && kg_mpc_net_envelope_verify(&pl, &pll, &e, r->reg[i].sign))
        return kg_err_set(KG_ERR_VERIFY, "party %u sent a round-%u broadcast with a bad signature", me, rnd);
    if (err) return kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed round-%u envelope", me, rnd);
    env *ne = realloc(r->pt[i].e, (r->pt[i].ne + 1) * sizeof *ne);
    if (!ne) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    r->pt[i].e = ne;
    ne[r->pt[i].ne] = (env){.to = e.h.receiver};
    if (kg_bytes_set(&ne[r->pt[i].ne].raw, b, len)) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    r->pt[i].ne++;
    return KG_OK;
}

/* A round answer: a list of envelopes of round rnd. */
static kg_err read_envs(run *r, size_t i, uint32_t rnd, const kg_mpc_node_msg *m)
{
    kg_mpc_node_rd rd;
    kg_mpc_node_rd_init(&rd, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&rd);
    kg_err err = KG_OK;
    envs_free(&r->pt[i]);
    for (unsigned k = 0; k < cnt && !err; k++) {
        size_t len = 0;
        const uint8_t *b = kg_mpc_node_rd_blob(&rd, &len, KG_MPC_NET_FRAME_MAX_BYTES);
        err = b ? env_take(r, i, rnd, b, len)
                : kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed round-%u answer", r->p->parts[i], rnd);
    }
    if (!err && kg_mpc_node_rd_end(&rd, "CGGMP round answer"))
        err = kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed round-%u answer", r->p->parts[i], rnd);
    return err;
}

kg_err kg_mpc_co_cg_finish_read(uint16_t phase, kg_mpc_group_id g, size_t n, uint16_t node, const uint8_t *body,
                                size_t len, const uint8_t **res, const uint8_t **conf, size_t *conf_len)
{
    size_t want = kg_mpc_co_cg_result_len(phase, g, n);
    kg_mpc_node_rd rd;
    kg_mpc_node_rd_init(&rd, body, len);
    uint16_t ph = kg_mpc_node_rd_u16(&rd);
    *res = kg_mpc_node_rd_fixed(&rd, want);
    *conf = kg_mpc_node_rd_blob(&rd, conf_len, KG_MPC_NET_FRAME_MAX_BYTES);
    if (kg_mpc_node_rd_end(&rd, "CGGMP finish answer") || ph != phase || !*res || !*conf) {
        *res = *conf = NULL;
        *conf_len = 0;
        return kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed %s result", node, phase_name(phase));
    }
    return KG_OK;
}

/* The finish answer: u16 phase, the result, blob confirmation (a
 * broadcast of round 100 signed by the party). */
static kg_err read_finish(run *r, size_t i, const kg_mpc_node_msg *m)
{
    kg_mpc_co_cg_phase *p = r->p;
    size_t cl = 0, pll = 0;
    const uint8_t *pl = NULL, *res = NULL, *c = NULL;
    kg_mpc_net_envelope e;
    size_t rn = result_n(p, i);
    kg_err err = kg_mpc_co_cg_finish_read(p->phase, p->g, rn, p->parts[i], m->body, m->body_len, &res, &c, &cl);
    if (err) return err;
    err = kg_mpc_net_envelope_decode(&e, c, cl);
    if (!err && (e.h.sender != p->parts[i] || e.h.receiver != 0 || e.h.round != CONF_ROUND ||
                 memcmp(e.h.session, p->sess, sizeof p->sess)))
        err = KG_ERR_BAD_INPUT;
    if (err) return kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed confirmation", p->parts[i]);
    if (kg_mpc_net_envelope_verify(&pl, &pll, &e, r->reg[i].sign))
        return kg_err_set(KG_ERR_VERIFY, "party %u sent a badly signed confirmation", p->parts[i]);
    if ((rn && kg_bytes_set(&r->pt[i].res, res, kg_mpc_co_cg_result_len(p->phase, p->g, rn))) ||
        kg_bytes_set(&r->pt[i].conf, c, cl))
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    return KG_OK;
}

/* Read every pending answer of type; rnd 1..3: envelopes of that round,
 * 4: the finish, 0: an empty answer. */
static void recv_all(run *r, uint8_t type, uint32_t rnd)
{
    kg_mpc_co_cg_phase *p = r->p;
    for (size_t i = 0; i < p->np; i++) {
        party *pt = &r->pt[i];
        if (!pt->pending) continue;
        pt->pending = false;
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        kg_err e = kg_mpc_co_recv(&resp, &m, pt->c, type, p->sess, p->call_ms);
        if (e) {
            verdict(r, i + 1, e);
            continue;
        }
        if (rnd >= 1 && rnd <= 3) e = read_envs(r, i, rnd, &m);
        else if (rnd == 4) e = read_finish(r, i, &m);
        else if (m.body_len) e = kg_err_set(KG_ERR_BAD_INPUT, "party %u sent a malformed answer", p->parts[i]);
        if (e) verdict(r, 0, e);
        kg_bytes_free(&resp);
    }
}

/* The CGGMP_START body (node_cggmp.c): phase, key id, t, the parties
 * (u16 n, n ids ascending) and their envelope keys (n x {box 32, sign
 * 32}, same order), the signers (u16 count, ids; empty but for presign),
 * the key's epoch. */
static kg_err start_body(run *r, kg_mpc_node_wr *w)
{
    kg_mpc_co_cg_phase *p = r->p;
    kg_mpc_node_wr_u16(w, p->phase);
    kg_mpc_node_wr_blob(w, (const uint8_t *)p->key_id, strlen(p->key_id));
    kg_mpc_node_wr_u16(w, (uint16_t)p->t);
    kg_mpc_co_wr_ids(w, p->ids, p->n);
    for (size_t i = 0; i < p->n; i++) {
        kg_mpc_net_pubkeys k;
        kg_err err = kg_mpc_co_registry_get(&k, p->co, p->ids[i]);
        if (err) {
            kg_bytes_free(&w->b);
            return err;
        }
        int j = part_index(p, p->ids[i]);
        if (j >= 0) r->reg[j] = k;
        kg_mpc_node_wr_fixed(w, k.box, 32);
        kg_mpc_node_wr_fixed(w, k.sign, 32);
    }
    if (p->phase == KG_MPC_CO_CG_PRESIGN) kg_mpc_co_wr_ids(w, p->parts, p->np);
    else if (p->phase == KG_MPC_CO_CG_RESHARE) kg_mpc_co_wr_ids(w, p->dealers, p->n_dealers);
    else kg_mpc_node_wr_u16(w, 0);
    kg_mpc_co_wr_u32(w, p->epoch);
    if (p->phase == KG_MPC_CO_CG_RESHARE) { /* the new set, the old key's public data */
        const kg_mpc_key *o = p->old;
        kg_mpc_co_wr_ids(w, p->new_ids, p->new_n);
        kg_mpc_node_wr_u16(w, (uint16_t)o->t);
        kg_mpc_co_wr_ids(w, o->ids, o->n);
        for (size_t i = 0; i < o->n; i++) kg_mpc_co_wr_point(w, o->g, &o->pub[i]);
        kg_mpc_co_wr_point(w, o->g, &o->group_public);
        kg_mpc_node_wr_fixed(w, o->chain_code, sizeof o->chain_code);
    }
    return kg_mpc_node_wr_done(w);
}

/* The ROUND body for parts[i]: round, then every envelope of the others
 * that is a broadcast or addressed to it. */
static kg_err round_body(run *r, size_t i, uint16_t rnd, kg_mpc_node_wr *w)
{
    kg_mpc_co_cg_phase *p = r->p;
    uint16_t cnt = 0;
    for (size_t j = 0; j < p->np; j++)
        for (size_t k = 0; j != i && k < r->pt[j].ne; k++) cnt += r->pt[j].e[k].to == 0 || r->pt[j].e[k].to == p->parts[i];
    kg_mpc_node_wr_u16(w, rnd);
    kg_mpc_node_wr_u16(w, cnt);
    for (size_t j = 0; j < p->np; j++)
        for (size_t k = 0; j != i && k < r->pt[j].ne; k++)
            if (r->pt[j].e[k].to == 0 || r->pt[j].e[k].to == p->parts[i])
                kg_mpc_node_wr_blob(w, r->pt[j].e[k].raw.data, r->pt[j].e[k].raw.len);
    return kg_mpc_node_wr_done(w);
}

/* ROUND rnd; what: the answer's kind (recv_all's rnd: 4 = the finish). */
static kg_err step_round(run *r, uint16_t rnd, uint16_t what)
{
    kg_mpc_co_cg_phase *p = r->p;
    kg_bytes bodies[MAXP] = {{0}};
    kg_err err = KG_OK;
    for (size_t i = 0; i < p->np && !err; i++) {
        kg_mpc_node_wr w = {0};
        err = round_body(r, i, rnd, &w);
        bodies[i] = w.b;
    }
    if (!err) {
        send_all(r, KG_MPC_NODE_CGGMP_ROUND, bodies, false);
        recv_all(r, KG_MPC_NODE_CGGMP_ROUND, what);
    }
    for (size_t i = 0; i < p->np; i++) kg_bytes_free(&bodies[i]);
    return err;
}

/* Every party's result must be the same bytes; a minority is blamed. */
static void agree(run *r)
{
    kg_mpc_co_cg_phase *p = r->p;
    size_t best = 0, best_n = 0, nr = 0;
    for (size_t i = 0; i < p->np; i++) {
        size_t same = 0;
        if (!has_result(p, i)) continue;
        nr++;
        for (size_t j = 0; j < p->np; j++) same += has_result(p, j) && same_bytes(&r->pt[i].res, &r->pt[j].res);
        if (same > best_n) { best_n = same; best = i; }
    }
    if (best_n == nr) return;
    for (size_t i = 0; i < p->np; i++)
        if (has_result(p, i) && 2 * best_n > nr && !same_bytes(&r->pt[i].res, &r->pt[best].res)) {
            verdict(r, 0, kg_err_set(KG_ERR_CONFLICT, "party %u reported another %s result than the other nodes",
                                     p->parts[i], phase_name(p->phase)));
            return;
        }
    verdict(r, 0, kg_err_set(KG_ERR_CONFLICT, "the nodes report different %s results (no majority)",
                             phase_name(p->phase)));
}

static void confirm_all(run *r)
{
    kg_mpc_co_cg_phase *p = r->p;
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, (uint16_t)p->np);
    for (size_t i = 0; i < p->np; i++) kg_mpc_node_wr_blob(&w, r->pt[i].conf.data, r->pt[i].conf.len);
    kg_err err = kg_mpc_node_wr_done(&w);
    if (err) { verdict(r, 0, err); return; }
    for (size_t i = 0; i < p->np; i++) r->skip[i] = !has_result(p, i); /* a reshare's leaving parties: later */
    send_all(r, KG_MPC_NODE_CGGMP_CONFIRM, &w.b, true);
    memset(r->skip, 0, sizeof r->skip);
    recv_all(r, KG_MPC_NODE_CGGMP_CONFIRM, 0);
    if (p->phase == KG_MPC_CO_CG_RESHARE && !r->failed) p->confirms = w.b;
    else kg_bytes_free(&w.b);
}

/* Best effort: every reachable party drops the session. */
static void abort_all(run *r)
{
    kg_mpc_co_cg_phase *p = r->p;
    kg_bytes none = {0};
    int ms = p->call_ms;
    p->call_ms = 5000;
    bool was = r->failed;
    for (size_t i = 0; i < p->np; i++) {
        party *pt = &r->pt[i];
        if (!pt->c || pt->broken) continue;
        kg_err e = kg_mpc_co_send(pt->c, KG_MPC_NODE_CGGMP_ABORT, p->g, p->sess, &none, p->call_ms);
        if (e) pt->broken = true;
        else pt->pending = true;
    }
    for (size_t i = 0; i < p->np; i++) {
        party *pt = &r->pt[i];
        if (!pt->pending) continue;
        pt->pending = false;
        kg_bytes resp = {0};
        kg_mpc_node_msg m;
        if (kg_mpc_co_recv(&resp, &m, pt->c, KG_MPC_NODE_CGGMP_ABORT, p->sess, p->call_ms)) pt->broken = true;
        kg_bytes_free(&resp);
    }
    r->failed = was;
    p->call_ms = ms;
}

/* The protocol steps; each ends the run on any failure. */
static void steps(run *r)
{
    kg_mpc_co_cg_phase *p = r->p;
    kg_mpc_node_wr w = {0};
    kg_err err = start_body(r, &w);
    if (err) { verdict(r, 0, err); return; }
    send_all(r, KG_MPC_NODE_CGGMP_START, &w.b, true);
    kg_bytes_free(&w.b);
    recv_all(r, KG_MPC_NODE_CGGMP_START, 1);
    uint16_t last = p->phase == KG_MPC_CO_CG_RESHARE ? 3 : 4; /* the finish */
    for (uint16_t rnd = 2; rnd <= last && !r->failed; rnd++)
        if ((err = step_round(r, rnd, rnd == last ? 4 : rnd))) verdict(r, 0, err);
    if (r->failed) return;
    agree(r);
    size_t f = 0;
    while (!has_result(p, f)) f++;
    if (!r->failed && p->check && (err = p->check(p->arg, r->pt[f].res.data, r->pt[f].res.len))) verdict(r, 0, err);
    if (!r->failed) confirm_all(r);
}

/* A failed run with no culprit named and a p->identify (presign): run it
 * in the session before ABORT; its "party <id> ..." verdict names one. */
static void identify_run(run *r)
{
    kg_mpc_co_cg_phase *p = r->p;
    kg_mpc_net_conn *c[MAXP] = {NULL};
    for (size_t i = 0; i <= p->np; i++)
        if (r->culprit[i]) return;
    if (!p->identify || r->code != KG_ERR_VERIFY) return;
    for (size_t i = 0; i < p->np; i++) c[i] = r->pt[i].broken ? NULL : r->pt[i].c;
    kg_err e = p->identify(p->arg, p, c);
    if (e) verdict(r, 0, e);
}

kg_err kg_mpc_co_cg_run(kg_mpc_co_cg_phase *p)
{
    memset(p->down, 0, sizeof p->down);
    memset(p->blamed, 0, sizeof p->blamed);
    p->result = (kg_bytes){0};
    p->confirms = (kg_bytes){0};
    bool reshare_ok = p->phase != KG_MPC_CO_CG_RESHARE || (p->old && p->dealers && p->new_ids && p->new_n >= 2);
    for (size_t i = 0; reshare_ok && i < p->new_n; i++) reshare_ok = part_index(p, p->new_ids[i]) >= 0;
    if (!reshare_ok) return kg_err_set(KG_ERR_BAD_INPUT, "a CGGMP21 reshare needs the old key and a new set among its parties");
    if (p->np < 2 || p->np > MAXP || p->n > MAXP || !p->call_ms)
        return kg_err_set(KG_ERR_BAD_INPUT, "a CGGMP21 phase needs 2..%d parties", MAXP);
    run *r = calloc(1, sizeof *r);
    if (!r) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    r->p = p;
    kg_err err = kg_crypto_random(p->sess, sizeof p->sess);
    for (size_t i = 0; i < p->np && !err; i++) {
        kg_err e = kg_mpc_co_connect(&r->pt[i].c, p->co, p->parts[i]);
        if (e) verdict(r, i + 1, kg_err_set(KG_ERR_NETWORK, "%s", kg_err_detail(e)));
    }
    if (!err && !r->failed) steps(r);
    if (!err && r->failed) identify_run(r); /* a presign's δ check: identification (coord_cggmp_sign.c) */
    if (!err && r->failed) {
        err = report(r);
        char d[1400];
        snprintf(d, sizeof d, "%s", kg_err_detail(err));
        abort_all(r);
        err = kg_err_set(err, "%s", d);
    }
    if (!err) {
        size_t f = 0;
        while (!has_result(p, f)) f++;
        p->result = r->pt[f].res;
        r->pt[f].res = (kg_bytes){0};
    } else {
        kg_bytes_free(&p->confirms);
    }
    for (size_t i = 0; i < p->np; i++) {
        kg_mpc_co_release(p->co, r->pt[i].c, !r->pt[i].broken);
        envs_free(&r->pt[i]);
        kg_bytes_free(&r->pt[i].res);
        kg_bytes_free(&r->pt[i].conf);
    }
    free(r);
    return err;
}

void kg_mpc_co_cg_free(kg_mpc_co_cg_phase *p)
{
    kg_bytes_free(&p->result);
    kg_bytes_free(&p->confirms);
}

kg_err kg_mpc_co_cg_shares_check(kg_mpc_group_id g, const kg_mpc_point *pub, const kg_mpc_point *X,
                                 const uint16_t *ids, size_t n, unsigned t)
{
    uint16_t set[MAXP];
    size_t at[MAXP];
    if (t < 2 || t > n || n > MAXP) return kg_err_set(KG_ERR_BAD_INPUT, "bad threshold %u of %zu", t, n);
    for (size_t i = 0; i + 1 < t; i++) { set[i] = ids[i]; at[i] = i; }
    for (size_t j = t - 1; j < n; j++) {
        kg_mpc_point sum, term;
        kg_mpc_scalar l;
        set[t - 1] = ids[j];
        at[t - 1] = j;
        kg_mpc_point_identity(g, &sum);
        for (size_t i = 0; i < t; i++) {
            if (kg_mpc_frost_lagrange(g, &l, set[i], set, t))
                return kg_err_set(KG_ERR_BAD_INPUT, "node ids must be distinct and non-zero");
            kg_mpc_point_mul(g, &term, &l, &X[at[i]]);
            kg_mpc_point_add(g, &sum, &sum, &term);
        }
        if (!kg_mpc_point_eq(g, &sum, pub))
            return kg_err_set(KG_ERR_VERIFY, "the public shares are not %u-of-%zu shares of the group key (at node %u)",
                              t, n, ids[j]);
    }
    return KG_OK;
}

/* ---------------------------------------------------- keygen and refresh */

#define PHASE_MS 180000 /* aux proofs at 2048+ bits in a sanitizer build take seconds */

/* n points of g from b into X. */
static kg_err points_read(kg_mpc_group_id g, kg_mpc_point *X, size_t n, const uint8_t *b)
{
    size_t pl = kg_mpc_group_point_len(g);
    for (size_t i = 0; i < n; i++)
        if (kg_mpc_point_deserialize(g, &X[i], b + i * pl, pl))
            return kg_err_set(KG_ERR_VERIFY, "the nodes agree on an invalid public share");
    return KG_OK;
}

/* Keygen result: group key, chain code, public shares; checked, then
 * written to the key record (arg). */
static kg_err keygen_check(void *arg, const uint8_t *res, size_t len)
{
    kg_mpc_key *k = arg;
    size_t pl = kg_mpc_group_point_len(k->g);
    (void)len;
    if (kg_mpc_point_deserialize(k->g, &k->group_public, res, pl))
        return kg_err_set(KG_ERR_VERIFY, "the nodes agree on an invalid group key");
    memcpy(k->chain_code, res + pl, KG_CGGMP_CHAIN_CODE_BYTES);
    kg_err err = points_read(k->g, k->pub, k->n, res + pl + KG_CGGMP_CHAIN_CODE_BYTES);
    return err ? err : kg_mpc_co_cg_shares_check(k->g, &k->group_public, k->pub, k->ids, k->n, k->t);
}

/* Refresh result: aux digest, the new public shares (same group key). */
static kg_err refresh_check(void *arg, const uint8_t *res, size_t len)
{
    kg_mpc_key *k = arg; /* a copy: the caller's record changes only on success */
    (void)len;
    kg_err err = points_read(k->g, k->pub, k->n, res + KG_MPC_CO_CG_AUX_DIGEST);
    if (!err && (err = kg_mpc_co_cg_shares_check(k->g, &k->group_public, k->pub, k->ids, k->n, k->t)))
        err = kg_err_set(KG_ERR_VERIFY, "the refreshed public shares do not give the key's public key: %s",
                         kg_err_detail(err));
    return err;
}

static void phase_init(kg_mpc_co_cg_phase *p, kg_mpc_coordinator *co, const kg_mpc_key *k, uint16_t phase)
{
    *p = (kg_mpc_co_cg_phase){.co = co, .g = k->g, .phase = phase, .key_id = k->key_id, .t = k->t, .ids = k->ids,
                              .n = k->n, .parts = k->ids, .np = k->n, .epoch = k->epoch, .call_ms = PHASE_MS};
}

kg_err kg_mpc_coordinator_cggmp_keygen(kg_mpc_coordinator *co, kg_mpc_key *out, kg_mpc_group_id g, unsigned t,
                                       const uint16_t *ids, size_t n)
{
    memset(out, 0, sizeof *out);
    if (!kg_mpc_cggmp_scheme_name(g) || n < 2 || n > MAXP || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 keys are secp256k1 or P-256 with 2 <= t <= n <= %d "
                          "(got %u of %zu)", MAXP, t, n);
    kg_mpc_key *k = calloc(1, sizeof *k);
    if (!k) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    *k = (kg_mpc_key){.g = g, .t = t, .n = (unsigned)n, .ecdsa = true};
    for (size_t i = 0; i < n; i++) { /* insertion sort, distinct, non-zero */
        size_t j = i;
        while (j > 0 && k->ids[j - 1] > ids[i]) { k->ids[j] = k->ids[j - 1]; j--; }
        k->ids[j] = ids[i];
    }
    kg_err err = KG_OK;
    for (size_t i = 0; i < n && !err; i++)
        if (k->ids[i] == 0 || (i && k->ids[i] == k->ids[i - 1]))
            err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 node ids must be distinct and non-zero (got %u twice or 0)", k->ids[i]);
    uint8_t rnd[16];
    if (!err) err = kg_crypto_random(rnd, sizeof rnd);
    if (!err) {
        memcpy(k->key_id, "mpc-", 4);
        kg_hex_encode(k->key_id + 4, rnd, sizeof rnd);
    }
    kg_mpc_co_cg_phase p;
    if (!err) {
        phase_init(&p, co, k, KG_MPC_CO_CG_KEYGEN);
        p.check = keygen_check;
        p.arg = k;
        err = kg_mpc_co_cg_run(&p);
        kg_mpc_co_cg_free(&p);
    }
    if (!err) {
        phase_init(&p, co, k, KG_MPC_CO_CG_AUX);
        err = kg_mpc_co_cg_run(&p);
        kg_mpc_co_cg_free(&p);
        if (err) err = kg_err_set(err, "key %s was generated but has no aux info, so it cannot sign; make a new key: %s",
                                  k->key_id, kg_err_detail(err));
    }
    if (!err) memcpy(out, k, sizeof *out);
    free(k);
    return err;
}

kg_err kg_mpc_coordinator_cggmp_refresh(kg_mpc_coordinator *co, kg_mpc_key *key)
{
    if (!key->ecdsa || key->t < 2 || key->t > key->n || key->n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "key %s is not a CGGMP21 key with a valid threshold", key->key_id);
    kg_mpc_key *k = malloc(sizeof *k);
    if (!k) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    *k = *key;
    kg_mpc_co_cg_phase p;
    phase_init(&p, co, k, KG_MPC_CO_CG_REFRESH);
    p.check = refresh_check;
    p.arg = k;
    kg_err err = kg_mpc_co_cg_run(&p);
    kg_mpc_co_cg_free(&p);
    if (!err) {
        k->epoch++;
        memset(k->stale, 0, sizeof k->stale);
        *key = *k;
        kg_mpc_co_cg_inv_forget(co, key->key_id);
    }
    free(k);
    return err;
}
