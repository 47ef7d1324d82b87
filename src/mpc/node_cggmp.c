/* CGGMP21 phases on an MPC node: CGGMP_START, CGGMP_ROUND, CGGMP_CONFIRM
 * and CGGMP_ABORT (mpc/node.h, docs/mpc.md) for keygen (CGGMP21 Fig. 5,
 * t-of-n), aux info and key refresh (Fig. 6) and presigning (Fig. 7).
 *
 * One generic round driver serves the four phases: the library
 * (mpc/cggmp.h) does no I/O, a round takes the previous round's messages
 * and returns this party's. The node opens the relayed envelopes (net.h:
 * broadcasts signed by their sender, point-to-point messages sealed to
 * their receiver, keys from the START registry), checks them against the
 * session and a per-session replay window (sequence numbers increase per
 * sender), hands the payloads to the round, and wraps what the round
 * returns into envelopes of its own (round r, seq r*1000 + index + 1).
 *
 * The paper assumes an authenticated broadcast channel; the coordinator
 * only relays, so the node closes each phase with an echo check: after
 * the last round it signs (round 100, seq 100000) the SHA-256 digest of the
 * phase transcript (every broadcast envelope of rounds 1..3 as this node
 * sent and received them, sorted by (round, sender, seq), each u32
 * length-prefixed) and keeps the phase result PENDING in the session.
 * CGGMP_CONFIRM carries every participant's signed digest; only when all
 * equal ours is the result stored, in one store transaction. A session
 * that never finishes expires (KG_MPC_ND_SESSION_TTL_S) and is wiped. All
 * request bodies are parsed and every envelope authenticated before any
 * state changes: a malformed or forged request leaves the session as it
 * was. A failed round (a party cheated) ends the session, except a presign
 * whose δ check failed with no single culprit: that state stays for
 * CGGMP_BLAME kind 1 (node_cggmp_sign.c).
 *
 * Reshare (phase 5, cggmp_reshare.c): the dealers (START's signers, old
 * holders) and the new set run rounds 1, 2 and a finish (ROUND 3). A new
 * party's share stays in memory after CONFIRM (STAGED): the aux phase the
 * coordinator runs next on the new set (phase 2 at epoch + 1) takes it,
 * and its CONFIRM stores share and aux together and deletes the old
 * epoch's presignatures; an ABORT or expiry before that leaves the old
 * share active. An old holder outside the new set gets its CONFIRM only
 * after that aux succeeded, and then deletes its records of the key.
 *
 * Finished sessions (DONE, or a failed presign kept for BLAME) stay only
 * for a late ABORT or BLAME: they do not count against
 * KG_MPC_ND_MAX_CGGMP_SESSIONS and the oldest are evicted first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kashguard/crypto.h"
#include "cggmp_int.h"
#include "node_int.h"

#define CONFIRM_ROUND 100
#define MAX_ENV (2 * KG_CGGMP_MAX_PARTIES)
#define PRIME_WAIT_MS 3000
enum { ST_FINISHED = 5, ST_DONE = 6, ST_FAILED = 7, ST_STAGED = 8 };

typedef struct {
    uint32_t round;
    uint16_t sender;
    uint64_t seq;
    kg_bytes env;
} bc_entry;

struct kg_mpc_nd_cg {
    kg_mpc_nd_cg_start_req q;
    uint16_t me, np, parts[KG_CGGMP_MAX_PARTIES]; /* participants: the signers (presign) or every holder */
    unsigned next;                                /* the ROUND expected (2, 3, 4), or ST_* */
    kg_mpc_cggmp_keygen *kg;
    kg_mpc_cggmp_aux_run *ar;
    kg_mpc_cggmp_presign *ps;
    kg_mpc_cggmp_reshare *rs;
    kg_mpc_cggmp_aux *aux;                      /* presign: the key's aux (borrowed by ps) */
    uint64_t last_seq[KG_CGGMP_MAX_PARTIES];    /* by position in parts */
    bc_entry *bc;
    size_t n_bc;
    uint8_t digest[32];
    kg_mpc_cggmp_share *share;   /* pending: keygen, refresh */
    kg_mpc_cggmp_aux *aux_new;   /* pending: aux, refresh */
    kg_mpc_cggmp_presig *presig; /* pending: presign */
    uint8_t presig_id[32];       /* once stored */
    kg_mpc_cggmp_share *staged;  /* aux after a reshare: the new share (stored with the aux) */
    uint8_t staged_from[KG_MPC_NET_SESSION_ID_BYTES]; /* ... of this reshare session */
};

static const char *const phase_name[] = {"", "keygen", "aux", "refresh", "presign", "reshare"};

/* ------------------------------------------------------------ decoders */

static kg_err rd_ids(kg_mpc_node_rd *r, uint16_t *ids, uint16_t *n, unsigned lo, const char *what)
{
    unsigned cnt = kg_mpc_node_rd_u16(r);
    if (r->bad || cnt < lo || cnt > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: %u %s (%u..%u allowed)", cnt, what, lo, KG_CGGMP_MAX_PARTIES);
    for (unsigned i = 0; i < cnt; i++) {
        ids[i] = kg_mpc_node_rd_u16(r);
        if (r->bad || ids[i] == 0 || (i && ids[i] <= ids[i - 1]))
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: the %s must be ascending ids 1..65535", what);
    }
    *n = (uint16_t)cnt;
    return KG_OK;
}

/* Phase 5's tail: new parties, old t, old parties, their public shares,
 * the group key, the chain code. */
static kg_err reshare_parse(kg_mpc_nd_cg_start_req *q, kg_mpc_node_rd *r)
{
    kg_err err = rd_ids(r, q->new_ids, &q->new_n, 2, "new parties");
    if (err) return err;
    q->old_t = kg_mpc_node_rd_u16(r);
    if ((err = rd_ids(r, q->old_ids, &q->old_n, 2, "old parties"))) return err;
    for (unsigned i = 0; i <= q->old_n; i++) {
        const uint8_t *p = kg_mpc_node_rd_fixed(r, 33);
        if (!p) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: truncated old public shares");
        memcpy(i < q->old_n ? q->old_X[i] : q->old_pub, p, 33);
    }
    const uint8_t *cc = kg_mpc_node_rd_fixed(r, 32);
    if (!cc) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: truncated chain code");
    memcpy(q->chain_code, cc, 32);
    return KG_OK;
}

/* Every participant deals (an old party) or receives; old_t dealers. */
static kg_err reshare_sets(const kg_mpc_nd_cg_start_req *q)
{
    if (q->old_t < 2 || q->old_t > q->old_n || q->ns < q->old_t || q->t > q->new_n)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP reshare: %u dealers of an old %u-of-%u key to %u-of-%u", q->ns,
                          q->old_t, q->old_n, q->t, q->new_n);
    for (unsigned i = 0; i < q->ns; i++)
        if (kg_mpc_cggmp_index(q->old_ids, q->old_n, q->signers[i]) < 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP reshare: dealer %u is not an old party", q->signers[i]);
    for (unsigned i = 0; i < q->new_n; i++)
        if (kg_mpc_cggmp_index(q->ids, q->n, q->new_ids[i]) < 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP reshare: new party %u has no envelope keys", q->new_ids[i]);
    for (unsigned i = 0; i < q->n; i++)
        if (kg_mpc_cggmp_index(q->signers, q->ns, q->ids[i]) < 0 &&
            kg_mpc_cggmp_index(q->new_ids, q->new_n, q->ids[i]) < 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP reshare: party %u neither deals nor receives", q->ids[i]);
    return KG_OK;
}

static kg_err start_parse(kg_mpc_nd_cg_start_req *q, const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    size_t kl = 0;
    kg_mpc_node_rd_init(&r, body, len);
    q->phase = kg_mpc_node_rd_u16(&r);
    const uint8_t *kid = kg_mpc_node_rd_blob(&r, &kl, KG_MPC_NODE_KEY_ID_MAX);
    q->t = kg_mpc_node_rd_u16(&r);
    if (r.bad || q->phase < KG_MPC_ND_CG_KEYGEN || q->phase > KG_MPC_ND_CG_RESHARE)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: unknown phase %u (1 keygen, 2 aux, 3 refresh, 4 presign, "
                          "5 reshare)", q->phase);
    kg_err err = kg_mpc_node_key_id_check(kid, kl);
    if (err) return err;
    memcpy(q->key_id, kid, kl);
    if ((err = rd_ids(&r, q->ids, &q->n, 2, "parties"))) return err;
    if (q->t < 2 || q->t > q->n) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: bad threshold %u of %u", q->t, q->n);
    for (unsigned i = 0; i < q->n; i++) {
        const uint8_t *k = kg_mpc_node_rd_fixed(&r, 64);
        if (!k) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: truncated envelope keys");
        memcpy(q->reg[i].box, k, 32);
        memcpy(q->reg[i].sign, k + 32, 32);
    }
    if ((err = rd_ids(&r, q->signers, &q->ns, 0, "signers"))) return err;
    q->epoch = kg_mpc_nd_ep_rd_u32(&r);
    if (q->phase == KG_MPC_ND_CG_RESHARE && (err = reshare_parse(q, &r))) return err;
    if ((err = kg_mpc_node_rd_end(&r, "CGGMP start request"))) return err;
    bool presign = q->phase == KG_MPC_ND_CG_PRESIGN;
    if (q->phase == KG_MPC_ND_CG_RESHARE) {
        if ((err = reshare_sets(q))) return err;
    } else if (presign ? q->ns < q->t : q->ns != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: %u signers for %s with threshold %u", q->ns,
                          phase_name[q->phase], q->t);
    for (unsigned i = 0; i < q->ns; i++)
        if (kg_mpc_cggmp_index(q->ids, q->n, q->signers[i]) < 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: signer %u does not hold the key", q->signers[i]);
    if (q->phase == KG_MPC_ND_CG_KEYGEN && q->epoch != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP start: keygen is epoch 0, not %u", q->epoch);
    return KG_OK;
}

kg_err kg_mpc_nd_cg_start_read(kg_mpc_nd_cg_start_req *q, const uint8_t *body, size_t len)
{
    memset(q, 0, sizeof *q);
    kg_err err = start_parse(q, body, len);
    if (err) memset(q, 0, sizeof *q);
    return err;
}

kg_err kg_mpc_nd_cg_round_read(uint16_t *round, const uint8_t **p, size_t *lens, size_t *cnt, size_t cap,
                               const uint8_t *body, size_t len)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, body, len);
    *cnt = 0;
    *round = kg_mpc_node_rd_u16(&r);
    unsigned n = kg_mpc_node_rd_u16(&r);
    if (r.bad || *round < 2 || *round > 4 || n > cap) {
        *round = 0;
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP round: bad round or too many envelopes (%u)", n);
    }
    for (unsigned i = 0; i < n && !r.bad; i++) p[i] = kg_mpc_node_rd_blob(&r, &lens[i], KG_MPC_NET_FRAME_MAX_BYTES);
    kg_err err = kg_mpc_node_rd_end(&r, "CGGMP round request");
    if (err) { *round = 0; return err; }
    *cnt = n;
    return KG_OK;
}

/* ------------------------------------------------------------- state */

void kg_mpc_nd_cggmp_state_free(kg_mpc_nd_session *s)
{
    struct kg_mpc_nd_cg *c = s->cg;
    if (!c) return;
    kg_mpc_cggmp_keygen_free(c->kg);
    kg_mpc_cggmp_aux_run_free(c->ar);
    kg_mpc_cggmp_presign_free(c->ps);
    kg_mpc_cggmp_reshare_free(c->rs);
    kg_mpc_cggmp_aux_free(c->aux);
    kg_mpc_cggmp_aux_free(c->aux_new);
    kg_mpc_cggmp_presig_free(c->presig);
    if (c->share) kg_wipe(c->share, sizeof *c->share);
    free(c->share);
    if (c->staged) kg_wipe(c->staged, sizeof *c->staged);
    free(c->staged);
    for (size_t i = 0; i < c->n_bc; i++) kg_bytes_free(&c->bc[i].env);
    free(c->bc);
    kg_wipe(c, sizeof *c);
    free(c);
    s->cg = NULL;
}

const kg_mpc_cggmp_presign *kg_mpc_nd_cggmp_presign_of(const kg_mpc_nd_session *s)
{
    return s && s->kind == KG_MPC_ND_S_CGGMP && s->cg ? s->cg->ps : NULL;
}

const kg_mpc_cggmp_aux *kg_mpc_nd_cggmp_aux_of(const kg_mpc_nd_session *s)
{
    return s && s->kind == KG_MPC_ND_S_CGGMP && s->cg ? s->cg->aux : NULL;
}

static int part_pos(const struct kg_mpc_nd_cg *c, uint16_t id) { return kg_mpc_cggmp_index(c->parts, c->np, id); }

static const kg_mpc_net_pubkeys *reg_of(const struct kg_mpc_nd_cg *c, uint16_t id)
{
    return &c->q.reg[kg_mpc_cggmp_index(c->q.ids, c->q.n, id)];
}

static kg_err bc_add(struct kg_mpc_nd_cg *c, uint32_t round, uint16_t sender, uint64_t seq, const uint8_t *p, size_t len)
{
    bc_entry *nb = realloc(c->bc, (c->n_bc + 1) * sizeof *nb);
    if (!nb) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    c->bc = nb;
    bc_entry *e = &c->bc[c->n_bc];
    memset(e, 0, sizeof *e);
    e->round = round, e->sender = sender, e->seq = seq;
    kg_err err = kg_bytes_set(&e->env, p, len);
    if (!err) c->n_bc++;
    return err;
}

static int bc_cmp(const void *a, const void *b)
{
    const bc_entry *x = a, *y = b;
    if (x->round != y->round) return x->round < y->round ? -1 : 1;
    if (x->sender != y->sender) return x->sender < y->sender ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* c->digest = SHA-256 over the broadcasts sorted by (round, sender, seq),
 * each as u32 length || envelope. */
static void transcript_digest(struct kg_mpc_nd_cg *c)
{
    kg_crypto_sha256_ctx h;
    qsort(c->bc, c->n_bc, sizeof *c->bc, bc_cmp);
    kg_crypto_sha256_init(&h);
    for (size_t i = 0; i < c->n_bc; i++) {
        size_t l = c->bc[i].env.len;
        uint8_t b[4] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l};
        kg_crypto_sha256_update(&h, b, 4);
        kg_crypto_sha256_update(&h, c->bc[i].env.data, l);
    }
    kg_crypto_sha256_final(c->digest, &h);
}

/* --------------------------------------------------------- envelopes */

/* Wrap a round's outgoing messages: u16 count, then one envelope blob each. */
static kg_err emit(kg_mpc_nd *nd, kg_mpc_nd_session *s, unsigned round, const kg_mpc_cggmp_msg *out, size_t n_out,
                   kg_mpc_node_wr *w)
{
    struct kg_mpc_nd_cg *c = s->cg;
    kg_err err = KG_OK;
    kg_mpc_node_wr_u16(w, (uint16_t)n_out);
    for (size_t i = 0; i < n_out && !err; i++) {
        kg_mpc_net_header h;
        kg_bytes b = {0};
        uint64_t seq = (uint64_t)round * 1000 + i + 1;
        if (out[i].to && (out[i].to == c->me || part_pos(c, out[i].to) < 0))
            return kg_err_set(KG_ERR_CRYPTO, "CGGMP %s round %u: a message to party %u, not a participant",
                              phase_name[c->q.phase], round, out[i].to);
        err = kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_CGGMP_ROUND, c->me, out[i].to, round, seq);
        if (!err && !out[i].to) err = kg_mpc_net_envelope_sign(&b, &h, nd->env, out[i].body.data, out[i].body.len);
        if (!err && !out[i].to) err = bc_add(c, round, c->me, seq, b.data, b.len);
        if (!err && out[i].to)
            err = kg_mpc_net_envelope_seal(&b, &h, nd->env, reg_of(c, out[i].to)->box, out[i].body.data, out[i].body.len);
        if (!err) kg_mpc_node_wr_blob(w, b.data, b.len);
        kg_bytes_free(&b);
    }
    return err;
}

/* Authenticate one relayed envelope of round `round` and append its
 * payload to *msgs. seen[pos] bit 1: a broadcast, bit 2: a p2p message. */
static kg_err take_env(kg_mpc_nd *nd, const kg_mpc_nd_session *s, uint32_t round, const uint8_t *p, size_t len,
                       kg_mpc_cggmp_msg **msgs, size_t *n, uint8_t *seen, uint64_t *seq_max)
{
    const struct kg_mpc_nd_cg *c = s->cg;
    kg_mpc_net_envelope e;
    kg_err err = kg_mpc_net_envelope_decode(&e, p, len);
    if (err) return err;
    uint16_t from = e.h.sender;
    int pos = part_pos(c, from);
    const kg_mpc_net_header *h = &e.h;
    if (pos < 0 || from == c->me || h->scheme != (uint8_t)s->g || h->type != KG_MPC_NODE_CGGMP_ROUND ||
        h->round != round || (h->receiver && h->receiver != c->me) || memcmp(h->session, s->id, sizeof h->session))
        return kg_err_set(KG_ERR_BAD_INPUT, "an envelope from party %u does not belong to round %u of this session",
                          from, round);
    uint8_t bit = e.h.receiver ? 2 : 1;
    if (seen[pos] & bit) return kg_err_set(KG_ERR_BAD_INPUT, "two round-%u %s messages from party %u", round,
                                           bit == 1 ? "broadcast" : "point-to-point", from);
    if (e.h.seq <= c->last_seq[pos])
        return kg_err_set(KG_ERR_BAD_INPUT, "a replayed or old envelope from party %u (seq %llu)", from,
                          (unsigned long long)e.h.seq);
    seen[pos] |= bit;
    if (e.h.seq > seq_max[pos]) seq_max[pos] = e.h.seq;
    if (!e.h.receiver) {
        const uint8_t *pl = NULL;
        size_t pl_len = 0;
        if ((err = kg_mpc_net_envelope_verify(&pl, &pl_len, &e, reg_of(c, from)->sign)))
            return kg_err_set(err, "the round-%u broadcast of party %u has a bad signature", round, from);
        return kg_mpc_cggmp_msg_push(msgs, n, from, 0, pl, pl_len);
    }
    kg_secret *pl = NULL;
    if ((err = kg_mpc_net_envelope_open(&pl, &e, nd->env, c->me, reg_of(c, from)->box)))
        return kg_err_set(err, "cannot open the round-%u message of party %u", round, from);
    err = kg_mpc_cggmp_msg_push(msgs, n, from, c->me, kg_secret_cdata(pl), kg_secret_len(pl));
    kg_secret_free(pl);
    return err;
}

/* ------------------------------------------------------------ rounds */

static kg_err run_round(struct kg_mpc_nd_cg *c, unsigned r, const kg_mpc_cggmp_msg *in, size_t n_in,
                        kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit)
{
    switch (c->q.phase) {
    case KG_MPC_ND_CG_KEYGEN:
        return r == 2 ? kg_mpc_cggmp_keygen_round2(c->kg, in, n_in, out, n_out, culprit)
                      : kg_mpc_cggmp_keygen_round3(c->kg, in, n_in, out, n_out, culprit);
    case KG_MPC_ND_CG_AUX: case KG_MPC_ND_CG_REFRESH:
        return r == 2 ? kg_mpc_cggmp_aux_run_round2(c->ar, in, n_in, out, n_out, culprit)
                      : kg_mpc_cggmp_aux_run_round3(c->ar, in, n_in, out, n_out, culprit);
    case KG_MPC_ND_CG_RESHARE: return kg_mpc_cggmp_reshare_round2(c->rs, in, n_in, out, n_out, culprit);
    default:
        return r == 2 ? kg_mpc_cggmp_presign_round2(c->ps, in, n_in, out, n_out, culprit)
                      : kg_mpc_cggmp_presign_round3(c->ps, in, n_in, out, n_out, culprit);
    }
}

/* The ROUND that finishes the phase: 3 for a reshare, else 4. */
static unsigned last_round(const struct kg_mpc_nd_cg *c) { return c->q.phase == KG_MPC_ND_CG_RESHARE ? 3 : 4; }

/* Reshare finish: a new party's new public shares (nothing from an old
 * party leaving: it only dealt). */
static kg_err reshare_finish(struct kg_mpc_nd_cg *c, const kg_mpc_cggmp_msg *in, size_t n_in, kg_mpc_node_wr *w,
                             uint16_t *culprit)
{
    if (kg_mpc_cggmp_index(c->q.new_ids, c->q.new_n, c->me) >= 0) {
        if (!(c->share = calloc(1, sizeof *c->share))) return kg_err_set(KG_ERR_NOMEM, "out of memory");
        kg_err err = kg_mpc_cggmp_reshare_finish(c->rs, in, n_in, c->share, culprit);
        if (err) return err;
    }
    kg_mpc_node_wr_u16(w, c->q.phase);
    for (unsigned i = 0; c->share && i < c->share->n; i++) kg_mpc_point_write(w, c->share->group, &c->share->X[i]);
    return KG_OK;
}

/* The phase result of the finish answer (node.h). */
static kg_err run_finish(struct kg_mpc_nd_cg *c, const kg_mpc_cggmp_msg *in, size_t n_in, kg_mpc_node_wr *w,
                         uint16_t *culprit)
{
    kg_mpc_group_id g;
    kg_err err = KG_OK;
    if (c->q.phase == KG_MPC_ND_CG_RESHARE) return reshare_finish(c, in, n_in, w, culprit);
    bool need_share = c->q.phase == KG_MPC_ND_CG_KEYGEN || c->q.phase == KG_MPC_ND_CG_REFRESH;
    if (need_share && !(c->share = calloc(1, sizeof *c->share))) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (c->q.phase == KG_MPC_ND_CG_KEYGEN) err = kg_mpc_cggmp_keygen_finish(c->kg, in, n_in, c->share, culprit);
    else if (c->q.phase == KG_MPC_ND_CG_PRESIGN) err = kg_mpc_cggmp_presign_finish(c->ps, in, n_in, &c->presig, culprit);
    else err = kg_mpc_cggmp_aux_run_finish(c->ar, in, n_in, &c->aux_new, c->share, culprit);
    if (err) return err;
    kg_mpc_node_wr_u16(w, c->q.phase);
    if (c->q.phase == KG_MPC_ND_CG_PRESIGN) {
        g = kg_mpc_cggmp_presig_group(c->presig);
        kg_mpc_node_wr_fixed(w, kg_mpc_cggmp_presig_id(c->presig), 32);
        kg_mpc_point_write(w, g, kg_mpc_cggmp_presig_R(c->presig));
        return KG_OK;
    }
    if (c->aux_new) kg_mpc_node_wr_fixed(w, c->aux_new->digest, sizeof c->aux_new->digest);
    if (!c->share) return KG_OK;
    g = c->share->group;
    if (c->q.phase == KG_MPC_ND_CG_KEYGEN) {
        kg_mpc_point_write(w, g, &c->share->pub);
        kg_mpc_node_wr_fixed(w, c->share->chain_code, KG_CGGMP_CHAIN_CODE_BYTES);
    }
    for (unsigned i = 0; i < c->share->n; i++) kg_mpc_point_write(w, g, &c->share->X[i]);
    return KG_OK;
}

/* The signed confirmation blob (round 100): the transcript digest. */
static kg_err confirmation(kg_mpc_nd *nd, kg_mpc_nd_session *s, kg_mpc_node_wr *w)
{
    kg_mpc_net_header h;
    kg_bytes b = {0};
    transcript_digest(s->cg);
    kg_err err = kg_mpc_nd_env_header(&h, s, KG_MPC_NODE_CGGMP_CONFIRM, s->cg->me, 0, CONFIRM_ROUND,
                                      (uint64_t)CONFIRM_ROUND * 1000);
    if (!err) err = kg_mpc_net_envelope_sign(&b, &h, nd->env, s->cg->digest, sizeof s->cg->digest);
    if (!err) kg_mpc_node_wr_blob(w, b.data, b.len);
    kg_bytes_free(&b);
    return err;
}

/* Every other participant must have sent something this round. */
static kg_err all_present(const struct kg_mpc_nd_cg *c, const uint8_t *seen, unsigned round)
{
    for (unsigned i = 0; i < c->np; i++)
        if (c->parts[i] != c->me && !seen[i] &&
            (c->q.phase != KG_MPC_ND_CG_RESHARE || kg_mpc_cggmp_index(c->q.signers, c->q.ns, c->parts[i]) >= 0))
            return kg_err_set(KG_ERR_BAD_INPUT, "party %u sent nothing for round %u (relay every message)", c->parts[i],
                              round);
    return KG_OK;
}

static kg_err cg_round(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    struct kg_mpc_nd_cg *c = s->cg;
    const uint8_t *p[MAX_ENV];
    size_t lens[MAX_ENV], cnt = 0, n_in = 0, n_out = 0;
    uint16_t round = 0, culprit = 0;
    uint8_t seen[KG_CGGMP_MAX_PARTIES] = {0};
    uint64_t seq_max[KG_CGGMP_MAX_PARTIES] = {0};
    kg_mpc_cggmp_msg *in = NULL, *out = NULL;
    kg_err err = kg_mpc_nd_cg_round_read(&round, p, lens, &cnt, MAX_ENV, m->body, m->body_len);
    if (err) return err;
    if (round != c->next)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP %s: round %u is not the next step of this session",
                          phase_name[c->q.phase], round);
    for (size_t i = 0; i < cnt && !err; i++) err = take_env(nd, s, round - 1, p[i], lens[i], &in, &n_in, seen, seq_max);
    if (!err) err = all_present(c, seen, round - 1);
    if (err) { /* nothing changed: the coordinator may retry with the right list */
        kg_mpc_cggmp_msgs_free(in, n_in);
        return err;
    }
    /* Authentic and complete: from here a failure ends the session. */
    unsigned last = last_round(c);
    if (round < last) err = run_round(c, round, in, n_in, &out, &n_out, &culprit);
    else err = run_finish(c, in, n_in, w, &culprit);
    for (size_t i = 0; i < cnt && !err; i++) { /* the received broadcasts join the transcript */
        kg_mpc_net_envelope e;
        if (kg_mpc_net_envelope_decode(&e, p[i], lens[i]) == KG_OK && !e.h.receiver)
            err = bc_add(c, e.h.round, e.h.sender, e.h.seq, p[i], lens[i]);
    }
    for (unsigned i = 0; i < c->np && !err; i++)
        if (seq_max[i]) c->last_seq[i] = seq_max[i];
    if (!err) err = round < last ? emit(nd, s, round, out, n_out, w) : confirmation(nd, s, w);
    kg_mpc_cggmp_msgs_free(in, n_in);
    kg_mpc_cggmp_msgs_free(out, n_out);
    if (!err) {
        c->next = round < last ? round + 1u : ST_FINISHED;
        return KG_OK;
    }
    if (c->q.phase == KG_MPC_ND_CG_PRESIGN && round == 4 && err == KG_ERR_VERIFY && culprit == 0) {
        c->next = ST_FAILED; /* δ check failed: kept for CGGMP_BLAME kind 1 until ABORT or expiry */
        return err;
    }
    kg_mpc_nd_session_drop(nd, s);
    return err;
}

/* ------------------------------------------------------------- start */

/* The holder's share for aux, refresh and presign, checked against the request. */
static kg_err load_held(kg_mpc_nd *nd, kg_mpc_cggmp_share *sh, const kg_mpc_nd_cg_start_req *q, kg_mpc_group_id g)
{
    kg_err err = kg_mpc_nd_cg_share_load(nd, q->key_id, sh);
    if (err) return err;
    if (sh->group != g) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP key %s is of another curve", q->key_id);
    if (sh->epoch != q->epoch)
        return kg_err_set(KG_ERR_CONFLICT, "node %u holds epoch %u of key %s, asked for %u: repair/resync", sh->id,
                          sh->epoch, q->key_id, q->epoch);
    if (sh->t != q->t || sh->n != q->n || memcmp(sh->ids, q->ids, q->n * sizeof *q->ids))
        return kg_err_set(KG_ERR_BAD_INPUT, "the parties or threshold of key %s differ from node %u's share",
                          q->key_id, sh->id);
    return KG_OK;
}

static kg_err take_primes(kg_mpc_nd *nd, BIGNUM **p, BIGNUM **q)
{
    if (!nd->primes) return kg_err_set(KG_ERR_CONFLICT, "node %u has no safe-prime pool", nd->cfg->id);
    kg_err err = kg_mpc_prime_pool_take(nd->primes, p, PRIME_WAIT_MS);
    if (!err) err = kg_mpc_prime_pool_take(nd->primes, q, PRIME_WAIT_MS);
    if (err == KG_ERR_CONFLICT)
        err = kg_err_set(KG_ERR_CONFLICT, "node %u: no safe primes ready yet (the pool fills in the background): "
                         "retry later", nd->cfg->id);
    return err;
}

/* The old key's public data of a reshare request (x and id zero). */
static kg_err old_public(kg_mpc_cggmp_share *pd, const kg_mpc_nd_cg_start_req *q, kg_mpc_group_id g)
{
    memset(pd, 0, sizeof *pd);
    pd->group = g, pd->t = q->old_t, pd->n = q->old_n, pd->epoch = q->epoch;
    memcpy(pd->ids, q->old_ids, q->old_n * sizeof *q->old_ids);
    memcpy(pd->chain_code, q->chain_code, sizeof pd->chain_code);
    for (unsigned i = 0; i <= q->old_n; i++)
        if (kg_mpc_point_deserialize(g, i < q->old_n ? &pd->X[i] : &pd->pub, i < q->old_n ? q->old_X[i] : q->old_pub, 33))
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP reshare: an invalid point in the old key's public data");
    return KG_OK;
}

static bool same_public(const kg_mpc_cggmp_share *a, const kg_mpc_cggmp_share *b)
{
    bool eq = a->t == b->t && a->n == b->n && !memcmp(a->ids, b->ids, a->n * sizeof *a->ids) &&
              kg_mpc_point_eq(a->group, &a->pub, &b->pub) && !memcmp(a->chain_code, b->chain_code, sizeof a->chain_code);
    for (unsigned i = 0; eq && i < a->n; i++) eq = kg_mpc_point_eq(a->group, &a->X[i], &b->X[i]);
    return eq;
}

/* A dealer deals from its own share, which must be what the request says
 * the old key is; a new party takes the old key's public data from the
 * request (the library binds it into the session id: data that differs
 * from the dealers' makes every commitment check fail). */
static kg_err reshare_prepare(kg_mpc_nd *nd, kg_mpc_nd_session *s, struct kg_mpc_nd_cg *c, kg_mpc_cggmp_share *sh)
{
    const kg_mpc_nd_cg_start_req *q = &c->q;
    kg_mpc_cggmp_share *pd = calloc(1, sizeof *pd);
    bool dealer = kg_mpc_cggmp_index(q->signers, q->ns, c->me) >= 0;
    kg_err err = pd ? old_public(pd, q, s->g) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err && dealer) err = kg_mpc_nd_cg_share_load(nd, q->key_id, sh);
    if (!err && dealer && sh->group != s->g) err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP key %s is of another curve", q->key_id);
    if (!err && dealer && sh->epoch != q->epoch)
        err = kg_err_set(KG_ERR_CONFLICT, "node %u holds epoch %u of key %s, asked for %u: repair/resync", c->me,
                         sh->epoch, q->key_id, q->epoch);
    if (!err && dealer && !same_public(sh, pd))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the coordinator's record of key %s differs from node %u's share: resync",
                         q->key_id, c->me);
    if (!err)
        err = kg_mpc_cggmp_reshare_new(&c->rs, dealer ? sh : pd, c->me, q->signers, q->ns, q->new_ids, q->new_n, q->t,
                                       s->id, sizeof s->id);
    if (pd) kg_wipe(pd, sizeof *pd);
    free(pd);
    return err;
}

/* The reshare session whose confirmed new share an aux request at the
 * new epoch is for, or NULL. */
static kg_mpc_nd_session *staged_find(kg_mpc_nd *nd, const kg_mpc_nd_cg_start_req *q, kg_mpc_group_id g)
{
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++) {
        kg_mpc_nd_session *s = nd->s[i];
        const struct kg_mpc_nd_cg *c = s && s->kind == KG_MPC_ND_S_CGGMP ? s->cg : NULL;
        if (!c || c->q.phase != KG_MPC_ND_CG_RESHARE || c->next != ST_STAGED || s->g != g ||
            strcmp(c->q.key_id, q->key_id) || time(NULL) - s->created > KG_MPC_ND_SESSION_TTL_S)
            continue;
        const kg_mpc_cggmp_share *sh = c->share;
        if (sh->epoch == q->epoch && sh->t == q->t && sh->n == q->n && !memcmp(sh->ids, q->ids, q->n * sizeof *q->ids))
            return s;
    }
    return NULL;
}

/* Aux and refresh run on the held share; an aux right after a reshare on
 * the new share that reshare left STAGED (kept in c->staged). */
static kg_err aux_share(kg_mpc_nd *nd, kg_mpc_nd_session *s, struct kg_mpc_nd_cg *c, kg_mpc_cggmp_share *sh)
{
    kg_mpc_nd_session *rs = c->q.phase == KG_MPC_ND_CG_AUX ? staged_find(nd, &c->q, s->g) : NULL;
    if (!rs) return load_held(nd, sh, &c->q, s->g);
    if (!(c->staged = malloc(sizeof *c->staged))) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    *c->staged = *rs->cg->share;
    *sh = *rs->cg->share;
    memcpy(c->staged_from, rs->id, sizeof c->staged_from);
    return KG_OK;
}

/* The aux info and presign state, from node_cggmp_prep.c's worker when it
 * has them for this key, epoch and signing set: a spare decoded aux info
 * of the stored record, a ready precomputation (a stale one is refused by
 * the library: then the plain start). */
static kg_err presign_state(kg_mpc_nd *nd, kg_mpc_nd_session *s, struct kg_mpc_nd_cg *c, const kg_mpc_cggmp_share *sh)
{
    const kg_mpc_nd_cg_start_req *q = &c->q;
    kg_err err = (c->aux = kg_mpc_nd_cgprep_aux(nd, q->key_id, sh->epoch, q->signers, q->ns))
                     ? KG_OK
                     : kg_mpc_nd_cg_aux_load(nd, q->key_id, &c->aux);
    if (err) return err;
    kg_mpc_cggmp_presign_prep *pp = kg_mpc_nd_cgprep_take(nd, q->key_id, sh->epoch, q->signers, q->ns);
    err = pp ? kg_mpc_cggmp_presign_new_prep(&c->ps, sh, c->aux, q->signers, q->ns, s->id, sizeof s->id, pp)
             : KG_ERR_NOT_FOUND;
    kg_mpc_cggmp_presign_prep_free(pp);
    if (err) err = kg_mpc_cggmp_presign_new(&c->ps, sh, c->aux, q->signers, q->ns, s->id, sizeof s->id);
    return err;
}

/* The phase's library state (round 1 not yet run). */
static kg_err prepare(kg_mpc_nd *nd, kg_mpc_nd_session *s, struct kg_mpc_nd_cg *c)
{
    const kg_mpc_nd_cg_start_req *q = &c->q;
    kg_mpc_cggmp_share *sh = calloc(1, sizeof *sh);
    BIGNUM *p1 = NULL, *p2 = NULL;
    if (!sh) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err err = KG_OK;
    if (q->phase == KG_MPC_ND_CG_KEYGEN) {
        err = kg_mpc_nd_cg_share_load(nd, q->key_id, sh);
        if (err == KG_OK) err = kg_err_set(KG_ERR_CONFLICT, "CGGMP key %s already exists on this node", q->key_id);
        else if (err == KG_ERR_NOT_FOUND)
            err = kg_mpc_cggmp_keygen_new(&c->kg, s->g, c->me, q->t, q->ids, q->n, s->id, sizeof s->id);
    } else if (q->phase == KG_MPC_ND_CG_PRESIGN) {
        err = load_held(nd, sh, q, s->g);
        if (!err) err = presign_state(nd, s, c, sh); /* aux info and precomputation from node_cggmp_prep.c when ready */
    } else if (q->phase == KG_MPC_ND_CG_RESHARE) {
        err = reshare_prepare(nd, s, c, sh);
    } else {
        err = aux_share(nd, s, c, sh);
        if (!err) err = take_primes(nd, &p1, &p2);
        if (!err)
            err = kg_mpc_cggmp_aux_run_new(&c->ar, sh, p1, p2, q->phase == KG_MPC_ND_CG_REFRESH, s->id, sizeof s->id);
    }
    kg_mpc_bn_free(p1);
    kg_mpc_bn_free(p2);
    kg_wipe(sh, sizeof *sh);
    free(sh);
    return err;
}

static kg_err run_round1(struct kg_mpc_nd_cg *c, kg_mpc_cggmp_msg **out, size_t *n_out)
{
    if (c->kg) return kg_mpc_cggmp_keygen_round1(c->kg, out, n_out);
    if (c->ar) return kg_mpc_cggmp_aux_run_round1(c->ar, out, n_out);
    if (c->rs) return kg_mpc_cggmp_reshare_round1(c->rs, out, n_out);
    return kg_mpc_cggmp_presign_round1(c->ps, out, n_out);
}

/* A CGGMP session still at work (a round, a CONFIRM, a staged reshare). */
static bool cg_live(const kg_mpc_nd_session *s)
{
    return s->kind == KG_MPC_ND_S_CGGMP && s->cg && s->cg->next != ST_DONE && s->cg->next != ST_FAILED;
}

static size_t cggmp_sessions(const kg_mpc_nd *nd)
{
    size_t k = 0;
    for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++) k += nd->s[i] && cg_live(nd->s[i]);
    return k;
}

/* Finished sessions are kept for a late ABORT (keygen, presign) or BLAME
 * only: at most KG_MPC_ND_MAX_CGGMP_SESSIONS - 1 of them, and none when
 * the session table is full; the oldest go first. */
static void evict_finished(kg_mpc_nd *nd)
{
    for (;;) {
        size_t fin = 0, free_slots = 0, oldest = KG_MPC_ND_MAX_SESSIONS;
        for (size_t i = 0; i < KG_MPC_ND_MAX_SESSIONS; i++) {
            const kg_mpc_nd_session *s = nd->s[i];
            if (!s) { free_slots++; continue; }
            if (s->kind != KG_MPC_ND_S_CGGMP || cg_live(s)) continue;
            fin++;
            if (oldest == KG_MPC_ND_MAX_SESSIONS || s->created < nd->s[oldest]->created) oldest = i;
        }
        if (!fin || (fin < KG_MPC_ND_MAX_CGGMP_SESSIONS && free_slots)) return;
        kg_mpc_nd_session_free(nd, oldest);
    }
}

static kg_err cg_start(kg_mpc_nd *nd, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    struct kg_mpc_nd_cg *c = calloc(1, sizeof *c);
    kg_mpc_nd_session *s = NULL;
    kg_mpc_cggmp_msg *out = NULL;
    size_t n_out = 0;
    if (!c) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err err = kg_mpc_nd_cg_start_read(&c->q, m->body, m->body_len);
    c->me = nd->cfg->id;
    int me = err ? -1 : kg_mpc_cggmp_index(c->q.ids, c->q.n, c->me);
    if (!err && me < 0) err = kg_err_set(KG_ERR_BAD_INPUT, "the CGGMP key's parties do not include node %u", c->me);
    if (!err && memcmp(&c->q.reg[me], &nd->env_pub, sizeof nd->env_pub))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the registry's envelope keys of node %u are not this node's", c->me);
    c->np = c->q.phase == KG_MPC_ND_CG_PRESIGN ? c->q.ns : c->q.n;
    memcpy(c->parts, c->q.phase == KG_MPC_ND_CG_PRESIGN ? c->q.signers : c->q.ids, c->np * sizeof *c->parts);
    if (!err && kg_mpc_cggmp_index(c->parts, c->np, c->me) < 0)
        err = kg_err_set(KG_ERR_BAD_INPUT, "node %u is not among the signers", c->me);
    if (!err && m->scheme != KG_MPC_GROUP_SECP256K1 && m->scheme != KG_MPC_GROUP_P256)
        err = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 runs on secp256k1 or P-256, not scheme %u", m->scheme);
    if (!err && cggmp_sessions(nd) >= KG_MPC_ND_MAX_CGGMP_SESSIONS)
        err = kg_err_set(KG_ERR_TOO_LARGE, "node %u has %d CGGMP sessions open; retry later", c->me,
                         KG_MPC_ND_MAX_CGGMP_SESSIONS);
    if (err) { kg_wipe(c, sizeof *c); free(c); return err; }
    evict_finished(nd);
    if ((err = kg_mpc_nd_session_new(&s, nd, m, KG_MPC_ND_S_CGGMP))) { free(c); return err; }
    s->cg = c;
    snprintf(s->key_id, sizeof s->key_id, "%s", c->q.key_id);
    s->t = c->q.t;
    s->n = c->q.n;
    err = prepare(nd, s, c);
    if (!err) err = run_round1(c, &out, &n_out);
    if (!err) err = emit(nd, s, 1, out, n_out, w);
    kg_mpc_cggmp_msgs_free(out, n_out);
    if (err) { kg_mpc_nd_session_drop(nd, s); return err; }
    c->next = 2;
    return KG_OK;
}

/* ------------------------------------------------------------ confirm */

/* Store the pending result, in one transaction. */
static kg_err activate(kg_mpc_nd *nd, struct kg_mpc_nd_cg *c)
{
    kg_store_txn *txn = NULL;
    const char *key = c->q.key_id;
    kg_err err = kg_store_txn_begin(nd->st, &txn);
    if (err) return err;
    switch (c->q.phase) {
    case KG_MPC_ND_CG_KEYGEN: err = kg_mpc_nd_cg_share_save(nd, txn, key, c->share, true); break;
    case KG_MPC_ND_CG_PRESIGN: err = kg_mpc_nd_cg_presig_save(nd, txn, key, c->presig); break;
    case KG_MPC_ND_CG_REFRESH: err = kg_mpc_nd_cg_share_save(nd, txn, key, c->share, false); /* fall through */
    default:
        if (!err && c->staged) err = kg_mpc_nd_cg_share_save(nd, txn, key, c->staged, false); /* a reshare's */
        if (!err) err = kg_mpc_nd_cg_aux_save(nd, txn, key, c->aux_new);
        /* presignatures were made under the old shares / Paillier keys */
        if (!err) err = kg_mpc_nd_cg_presigs_delete(nd, txn, key);
    }
    if (!err && (err = kg_store_txn_commit(txn)) == KG_OK) return KG_OK;
    kg_store_txn_rollback(txn);
    return err;
}

/* One confirmation: its sender's position and signed digest (into raw). */
static kg_err confirm_open(int *pos, const uint8_t **digest, const kg_mpc_nd_session *s, const uint8_t *raw, size_t len)
{
    const struct kg_mpc_nd_cg *c = s->cg;
    kg_mpc_net_envelope e;
    size_t pl_len = 0;
    kg_err err = kg_mpc_net_envelope_decode(&e, raw, len);
    if (err) return err;
    const kg_mpc_net_header *h = &e.h;
    *pos = part_pos(c, h->sender);
    if (*pos < 0 || h->scheme != (uint8_t)s->g || h->type != KG_MPC_NODE_CGGMP_CONFIRM || h->round != CONFIRM_ROUND ||
        h->receiver != 0 || memcmp(h->session, s->id, sizeof h->session))
        return kg_err_set(KG_ERR_BAD_INPUT, "a confirmation from party %u does not belong to this session", h->sender);
    if ((err = kg_mpc_net_envelope_verify(digest, &pl_len, &e, reg_of(c, h->sender)->sign)))
        return kg_err_set(err, "the confirmation of party %u has a bad signature", h->sender);
    if (pl_len != 32) return kg_err_set(KG_ERR_BAD_INPUT, "party %u signed a malformed confirmation", h->sender);
    return KG_OK;
}

/* A confirmed reshare: a new party keeps its new share STAGED for the aux
 * phase; an old party leaving deletes its records of the key (unless it
 * holds a newer epoch than the one dealt from). */
static kg_err reshare_confirmed(kg_mpc_nd *nd, struct kg_mpc_nd_cg *c)
{
    kg_mpc_cggmp_reshare_free(c->rs), c->rs = NULL;
    if (c->share) {
        c->next = ST_STAGED;
        return KG_OK;
    }
    kg_mpc_cggmp_share *cur = calloc(1, sizeof *cur);
    kg_err err = cur ? kg_mpc_nd_cg_share_load(nd, c->q.key_id, cur) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err && cur->epoch > c->q.epoch)
        err = kg_err_set(KG_ERR_CONFLICT, "node %u holds epoch %u of key %s, newer than the reshared %u: not "
                         "deleting it", c->me, cur->epoch, c->q.key_id, c->q.epoch);
    else if (!err || err == KG_ERR_NOT_FOUND)
        err = kg_mpc_nd_cg_key_delete(nd, NULL, c->q.key_id);
    if (cur) kg_wipe(cur, sizeof *cur);
    free(cur);
    if (!err) c->next = ST_DONE;
    return err;
}

static kg_err cg_confirm(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m)
{
    struct kg_mpc_nd_cg *c = s->cg;
    const uint8_t *digest[KG_CGGMP_MAX_PARTIES] = {NULL};
    kg_mpc_node_rd r;
    if (c->next == ST_DONE || c->next == ST_STAGED) return KG_OK; /* a retry: already active / staged */
    if (c->next != ST_FINISHED)
        return kg_err_set(KG_ERR_NOT_FOUND, "no CGGMP result waiting for confirmation in this session");
    kg_mpc_node_rd_init(&r, m->body, m->body_len);
    unsigned cnt = kg_mpc_node_rd_u16(&r);
    if (r.bad || cnt != c->np)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP confirm needs %u confirmations, got %u", c->np, cnt);
    for (unsigned i = 0; i < cnt; i++) {
        size_t len = 0;
        int pos = -1;
        const uint8_t *p = kg_mpc_node_rd_blob(&r, &len, KG_MPC_NET_FRAME_MAX_BYTES), *d = NULL;
        if (!p) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP confirm: truncated confirmation list");
        kg_err err = confirm_open(&pos, &d, s, p, len);
        if (err) return err;
        if (digest[pos]) return kg_err_set(KG_ERR_BAD_INPUT, "two confirmations from party %u", c->parts[pos]);
        digest[pos] = d;
    }
    kg_err err = kg_mpc_node_rd_end(&r, "CGGMP confirm request");
    if (err) return err;
    /* Authentic: from here a failure ends the phase on this node. */
    for (unsigned i = 0; i < c->np && !err; i++)
        if (memcmp(digest[i], c->digest, sizeof c->digest))
            err = kg_err_set(KG_ERR_CONFLICT, "party %u confirmed a different %s transcript than mine: a party "
                             "equivocated or the coordinator relayed different messages", c->parts[i],
                             phase_name[c->q.phase]);
    if (!err && c->q.phase == KG_MPC_ND_CG_REFRESH) { /* still the epoch this run started from? */
        kg_mpc_cggmp_share *cur = calloc(1, sizeof *cur);
        err = cur ? load_held(nd, cur, &c->q, s->g) : kg_err_set(KG_ERR_NOMEM, "out of memory");
        if (cur) kg_wipe(cur, sizeof *cur);
        free(cur);
    }
    if (!err && c->q.phase == KG_MPC_ND_CG_RESHARE) {
        if ((err = reshare_confirmed(nd, c))) kg_mpc_nd_session_drop(nd, s);
        return err;
    }
    if (!err) err = activate(nd, c);
    if (err) { kg_mpc_nd_session_drop(nd, s); return err; }
    if (c->q.phase == KG_MPC_ND_CG_PRESIGN) /* refill in the background for the next presign of this set */
        kg_mpc_nd_cgprep_want(nd, c->q.key_id, c->q.epoch, c->q.signers, c->q.ns);
    if (c->staged) { /* the reshare is complete: its session ends */
        kg_mpc_nd_session *rs = kg_mpc_nd_session_find(nd, c->staged_from);
        if (rs && rs->kind == KG_MPC_ND_S_CGGMP) kg_mpc_nd_session_drop(nd, rs);
        kg_wipe(c->staged, sizeof *c->staged);
        free(c->staged), c->staged = NULL;
    }
    /* Stored: drop the secrets held in memory (an ABORT needs only the presig id). */
    c->next = ST_DONE;
    if (c->presig) memcpy(c->presig_id, kg_mpc_cggmp_presig_id(c->presig), sizeof c->presig_id);
    kg_mpc_cggmp_keygen_free(c->kg), c->kg = NULL;
    kg_mpc_cggmp_aux_run_free(c->ar), c->ar = NULL;
    kg_mpc_cggmp_presign_free(c->ps), c->ps = NULL;
    kg_mpc_cggmp_aux_free(c->aux), c->aux = NULL;
    kg_mpc_cggmp_aux_free(c->aux_new), c->aux_new = NULL;
    kg_mpc_cggmp_presig_free(c->presig), c->presig = NULL;
    if (c->share) kg_wipe(c->share, sizeof *c->share);
    free(c->share), c->share = NULL;
    return KG_OK;
}

static kg_err cg_abort(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m)
{
    if (m->body_len) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP abort takes no body");
    if (!s) return KG_OK; /* finished with an error, expired, or never started */
    if (s->kind != KG_MPC_ND_S_CGGMP) return kg_err_set(KG_ERR_BAD_INPUT, "the session is not a CGGMP phase");
    const struct kg_mpc_nd_cg *c = s->cg;
    kg_err err = KG_OK;
    /* Activated in this session but the coordinator gave up: a new key or
     * presignature it will not record goes too. An aux or refresh cannot
     * be undone (the old values are gone): the coordinator resyncs. */
    if (c->next == ST_DONE && c->q.phase == KG_MPC_ND_CG_KEYGEN) err = kg_mpc_nd_cg_key_delete(nd, NULL, c->q.key_id);
    if (c->next == ST_DONE && c->q.phase == KG_MPC_ND_CG_PRESIGN)
        err = kg_mpc_nd_cg_presig_drop(nd, c->q.key_id, c->presig_id);
    kg_mpc_nd_session_drop(nd, s);
    return err;
}

kg_err kg_mpc_nd_cggmp_handle(kg_mpc_nd *nd, kg_mpc_nd_session *s, const kg_mpc_node_msg *m, kg_mpc_node_wr *w)
{
    if (s && s->kind == KG_MPC_ND_S_CGGMP && time(NULL) - s->created > KG_MPC_ND_SESSION_TTL_S) {
        kg_mpc_nd_session_drop(nd, s); /* expired: wiped, as if it never was */
        s = NULL;
    }
    bool mine = s && s->kind == KG_MPC_ND_S_CGGMP && s->cg;
    switch (m->type) {
    case KG_MPC_NODE_CGGMP_START: {
        kg_err err = kg_mpc_nd_cg_pool_fill(nd); /* this node does CGGMP21 work: keep primes ready */
        return err ? err : cg_start(nd, m, w);
    }
    case KG_MPC_NODE_CGGMP_ROUND:
        if (mine && s->cg->next >= 2 && s->cg->next <= 4) return cg_round(nd, s, m, w);
        break;
    case KG_MPC_NODE_CGGMP_CONFIRM:
        if (mine) return cg_confirm(nd, s, m);
        break;
    case KG_MPC_NODE_CGGMP_ABORT: return cg_abort(nd, s, m);
    case KG_MPC_NODE_CGGMP_SIGN: return kg_mpc_nd_cggmp_sign(nd, m, w);
    case KG_MPC_NODE_CGGMP_BLAME: return kg_mpc_nd_cggmp_blame(nd, mine ? s : NULL, m, w);
    case KG_MPC_NODE_CGGMP_INFO: return kg_mpc_nd_cggmp_info(nd, m, w);
    default: return kg_err_set(KG_ERR_BAD_INPUT, "type 0x%02x is not a CGGMP request", m->type);
    }
    return kg_err_set(KG_ERR_NOT_FOUND, "no CGGMP session in the right state for this request (failed, expired "
                      "after %d s, or never started)", KG_MPC_ND_SESSION_TTL_S);
}
