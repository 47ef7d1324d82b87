/* CGGMP21 resharing: move an ECDSA key to a new set of parties and/or a new
 * threshold with the same public key and chain code.
 *
 * CGGMP21 (eprint 2021/060) refreshes shares among the same parties (Fig. 6)
 * but has no resharing; this is the verifiable secret redistribution of
 * Desmedt-Jajodia / Wong-Wang-Wing that FROST uses (frost_reshare.c, whose
 * dealing and checks are reused here on the converted share), made a round
 * protocol on kg_mpc_cggmp_msg with commit-then-reveal as in keygen (Fig. 5):
 *   R1  every dealer i (a set D of >= t old parties) draws g_i of degree
 *       t'-1 with g_i(0) = λ_i·x_i (λ_i: its Lagrange coefficient in D) and
 *       broadcasts V_i, a hash commitment to (C_i = g_i's coefficients·G,
 *       chain code, salt). Non-dealers send nothing.
 *   R2  after every V_j: the decommitment (broadcast) and g_i(j) to every
 *       new party j (p2p). A dealer fixed C_i before seeing anybody's, so it
 *       cannot adapt its dealing to the others' (no rogue dealing).
 *   fin every new party checks each V_j, the chain code, each g_j(me)
 *       against C_j and C_j[0] = λ_j·X_j (X_j: j's old public share), so the
 *       constants add up to the unchanged key; x' = Σ g_j(me), the new public
 *       shares from the commitments, epoch + 1.
 * Every failed check names its dealer. Malformed, missing and duplicate
 * messages are refused before any state changes (the round can be called
 * again); a failed check (cheating) ends the run. The new shares carry no
 * Paillier keys: the new set runs aux (refresh = false) next. */
#include "cggmp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"

enum { TAG_COM = 0x21, TAG_DECOM = 0x22, TAG_SHARE = 0x23 };
enum { R1 = 1, R2, FIN, DONE, DEAD };
#define COM_DOMAIN "kashguard/cggmp21/reshare-com/v1"
#define MAXP KG_CGGMP_MAX_PARTIES

struct kg_mpc_cggmp_reshare {
    kg_mpc_group_id g;
    uint16_t id;
    bool dealer, receiver;
    int next;
    kg_mpc_cggmp_share old; /* own old share (dealer) or the key's public data (x zero) */
    uint16_t nd, dealers[MAXP]; /* sorted */
    uint16_t nn, new_ids[MAXP]; /* sorted */
    uint16_t new_t;
    uint16_t me_d;   /* own position in dealers (dealer only) */
    uint8_t sid[64];
    kg_mpc_frost_dkg_round2 deal[MAXP]; /* secret: own g_i(new_ids[k]) */
    kg_mpc_point C[MAXP][MAXP];         /* [dealer pos][k]; others' are finish scratch */
    uint8_t cc[MAXP][KG_CGGMP_CHAIN_CODE_BYTES]; /* finish scratch: dealers' chain codes */
    uint8_t u[32];
    uint8_t V[MAXP][64];
};

static kg_err wrong_round(const kg_mpc_cggmp_reshare *st, int want)
{
    if (st->next == want) return KG_OK;
    return kg_err_set(KG_ERR_ARG, "CGGMP21 reshare: round called out of order, after an error, or by a party "
                                  "that has no part in it");
}

/* Copy ids[0..n-1] sorted into out; distinct, non-zero, 1..MAXP of them. */
static kg_err ids_sorted(uint16_t *out, const uint16_t *ids, size_t n, size_t lo, const char *what)
{
    if (n < lo || n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: %zu %s; want %zu to %d", n, what, lo, MAXP);
    memcpy(out, ids, n * sizeof *ids);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint16_t x = out[j];
            out[j] = out[j - 1];
            out[j - 1] = x;
        }
    for (size_t i = 0; i < n; i++)
        if (out[i] == 0 || (i && out[i] == out[i - 1]))
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: %s must be distinct and non-zero", what);
    return KG_OK;
}

/* The old key's public data must be usable: the dealers are old parties,
 * enough of them, and their public shares interpolate to the key (so the
 * dealers' constants, each checked against λ_j·X_j, add up to pub). */
static kg_err old_check(const kg_mpc_cggmp_reshare *st)
{
    const kg_mpc_cggmp_share *o = &st->old;
    kg_mpc_point sum, term;
    kg_mpc_scalar lam;
    if (o->t < 2 || o->t > o->n || o->n > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: old key has bad threshold %u of %u", o->t, o->n);
    for (size_t i = 0; i < o->n; i++)
        if (o->ids[i] == 0 || (i && o->ids[i] <= o->ids[i - 1]) || kg_mpc_point_is_identity(st->g, &o->X[i]))
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: old key's parties or public shares malformed");
    if (st->nd < o->t)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: %u dealers, the old threshold is %u", st->nd, o->t);
    if (o->epoch == UINT32_MAX) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: epoch exhausted");
    kg_mpc_point_identity(st->g, &sum);
    for (size_t i = 0; i < st->nd; i++) {
        int k = kg_mpc_cggmp_index(o->ids, o->n, st->dealers[i]);
        if (k < 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: dealer %u is not a party of the old key",
                              st->dealers[i]);
        if (kg_mpc_frost_lagrange(st->g, &lam, st->dealers[i], st->dealers, st->nd)) return KG_ERR_BAD_INPUT;
        kg_mpc_point_mul(st->g, &term, &lam, &o->X[k]);
        kg_mpc_point_add(st->g, &sum, &sum, &term);
    }
    if (kg_mpc_point_is_identity(st->g, &o->pub) || !kg_mpc_point_eq(st->g, &sum, &o->pub))
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: the old public shares do not interpolate to the key");
    return KG_OK;
}

/* sid = SHA-512(base sid of phase "reshare", old public data, D, new set, t'). */
static kg_err make_sid(kg_mpc_cggmp_reshare *st, const uint8_t *session, size_t session_len)
{
    uint8_t base[64];
    kg_mpc_node_wr w = {0};
    kg_err e = kg_mpc_cggmp_sid(base, "reshare", st->g, session, session_len, &st->old, NULL, NULL, 0);
    if (e) return e;
    kg_mpc_node_wr_blob(&w, (const uint8_t *)"kashguard/cggmp21/reshare-sid/v1", 32);
    kg_mpc_node_wr_fixed(&w, base, sizeof base);
    kg_mpc_node_wr_u16(&w, st->nd);
    for (size_t i = 0; i < st->nd; i++) kg_mpc_node_wr_u16(&w, st->dealers[i]);
    kg_mpc_node_wr_u16(&w, st->nn);
    for (size_t i = 0; i < st->nn; i++) kg_mpc_node_wr_u16(&w, st->new_ids[i]);
    kg_mpc_node_wr_u16(&w, st->new_t);
    if ((e = kg_mpc_node_wr_done(&w))) return e;
    kg_crypto_sha512(st->sid, w.b.data, w.b.len);
    kg_bytes_free(&w.b);
    return KG_OK;
}

static kg_err setup(kg_mpc_cggmp_reshare *st, const kg_mpc_cggmp_share *old, uint16_t id, const uint16_t *dealers,
                    size_t n_dealers, const uint16_t *new_ids, size_t n_new, uint16_t new_t)
{
    kg_err e;
    if (!kg_mpc_cggmp_scheme_name(old->group))
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: group is not secp256k1/P-256");
    if ((e = ids_sorted(st->dealers, dealers, n_dealers, 2, "dealers")) ||
        (e = ids_sorted(st->new_ids, new_ids, n_new, 2, "new parties")))
        return e;
    if (new_t < 2 || new_t > n_new)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: bad new threshold %u of %zu", new_t, n_new);
    st->g = old->group, st->id = id, st->new_t = new_t;
    st->nd = (uint16_t)n_dealers, st->nn = (uint16_t)n_new;
    int d = kg_mpc_cggmp_index(st->dealers, st->nd, id);
    st->dealer = d >= 0;
    st->receiver = kg_mpc_cggmp_index(st->new_ids, st->nn, id) >= 0;
    st->me_d = st->dealer ? (uint16_t)d : 0;
    if (!st->dealer && !st->receiver)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: party %u neither deals nor receives", id);
    st->old = *old;
    if (st->dealer) {
        if (old->id != id) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 reshare: dealer %u given another's share", id);
        if ((e = kg_mpc_cggmp_share_check(old))) return e;
    } else {
        kg_wipe(&st->old.x, sizeof st->old.x); /* a receiver only needs the public data */
        st->old.id = 0;
    }
    return old_check(st);
}

kg_err kg_mpc_cggmp_reshare_new(kg_mpc_cggmp_reshare **out, const kg_mpc_cggmp_share *old, uint16_t id,
                                const uint16_t *dealers, size_t n_dealers, const uint16_t *new_ids, size_t n_new,
                                uint16_t new_t, const uint8_t *session, size_t session_len)
{
    *out = NULL;
    kg_mpc_cggmp_reshare *st = calloc(1, sizeof *st);
    if (!st) return kg_err_set(KG_ERR_NOMEM, "out of memory starting CGGMP21 reshare");
    kg_err e = setup(st, old, id, dealers, n_dealers, new_ids, n_new, new_t);
    if (!e) e = make_sid(st, session, session_len);
    if (e) {
        kg_mpc_cggmp_reshare_free(st);
        return e;
    }
    st->next = R1;
    *out = st;
    return KG_OK;
}

void kg_mpc_cggmp_reshare_free(kg_mpc_cggmp_reshare *st)
{
    if (!st) return;
    kg_wipe(st, sizeof *st);
    free(st);
}

const uint8_t *kg_mpc_cggmp_reshare_sid(const kg_mpc_cggmp_reshare *st)
{
    return st->sid;
}

/* Decommitment body: tag, u16 t', t' points C, chain code, salt u. */
static kg_err decom_encode(kg_bytes *out, const kg_mpc_cggmp_reshare *st)
{
    kg_mpc_node_wr w = {0};
    uint8_t tag = TAG_DECOM;
    kg_mpc_node_wr_fixed(&w, &tag, 1);
    kg_mpc_node_wr_u16(&w, st->new_t);
    for (size_t k = 0; k < st->new_t; k++) kg_mpc_point_write(&w, st->g, &st->C[st->me_d][k]);
    kg_mpc_node_wr_fixed(&w, st->old.chain_code, KG_CGGMP_CHAIN_CODE_BYTES);
    kg_mpc_node_wr_fixed(&w, st->u, 32);
    kg_err e = kg_mpc_node_wr_done(&w);
    if (!e) *out = w.b;
    return e;
}

/* Parse dealer position j's decommitment into the finish scratch. */
static kg_err decom_decode(kg_mpc_cggmp_reshare *st, size_t j, const kg_bytes *b, uint16_t *culprit)
{
    kg_mpc_node_rd r;
    uint16_t from = st->dealers[j];
    kg_mpc_node_rd_init(&r, b->data, b->len);
    const uint8_t *tag = kg_mpc_node_rd_fixed(&r, 1);
    uint16_t cnt = kg_mpc_node_rd_u16(&r);
    if (!tag || r.bad || tag[0] != TAG_DECOM)
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "reshare decommitment malformed");
    if (cnt != st->new_t)
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "reshare dealing has %u commitments, want %u",
                                  cnt, st->new_t);
    for (size_t k = 0; k < cnt; k++)
        if (kg_mpc_point_read(&r, st->g, &st->C[j][k], "reshare commitment"))
            return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "reshare commitment %zu malformed", k);
    const uint8_t *cc = kg_mpc_node_rd_fixed(&r, KG_CGGMP_CHAIN_CODE_BYTES);
    kg_mpc_node_rd_fixed(&r, 32); /* salt: only ever hashed */
    if (!cc || kg_mpc_node_rd_end(&r, "reshare decommitment"))
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "reshare decommitment malformed");
    memcpy(st->cc[j], cc, KG_CGGMP_CHAIN_CODE_BYTES);
    return KG_OK;
}

static kg_err push_tagged(kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t from, uint16_t to, uint8_t tag,
                          const uint8_t *data, size_t len)
{
    uint8_t buf[1 + 64];
    buf[0] = tag;
    memcpy(buf + 1, data, len);
    kg_err e = kg_mpc_cggmp_msg_push(out, n_out, from, to, buf, 1 + len);
    kg_wipe(buf, sizeof buf);
    return e;
}

/* The dealing, through FROST's: the same Shamir convention (x = id). */
static kg_err deal(kg_mpc_cggmp_reshare *st)
{
    const kg_mpc_cggmp_share *o = &st->old;
    kg_mpc_frost_key_share fs = {.group = st->g, .id = o->id, .min_signers = o->t, .max_signers = o->n,
                                 .secret = o->x, .group_public = o->pub};
    fs.public_share = o->X[kg_mpc_cggmp_index(o->ids, o->n, o->id)];
    kg_err e = kg_mpc_frost_reshare_deal(st->deal, st->C[st->me_d], &fs, st->dealers, st->nd, st->new_ids, st->nn,
                                         st->new_t);
    kg_wipe(&fs, sizeof fs);
    return e;
}

kg_err kg_mpc_cggmp_reshare_round1(kg_mpc_cggmp_reshare *st, kg_mpc_cggmp_msg **out, size_t *n_out)
{
    kg_bytes body = {0};
    *out = NULL;
    *n_out = 0;
    kg_err e = wrong_round(st, R1);
    if (e) return e;
    st->next = DEAD;
    if (st->dealer) {
        if ((e = deal(st)) || (e = kg_crypto_random(st->u, 32)) || (e = decom_encode(&body, st))) return e;
        kg_mpc_cggmp_commit(st->V[st->me_d], COM_DOMAIN, st->sid, st->id, body.data, body.len);
        kg_bytes_free(&body);
        if ((e = push_tagged(out, n_out, st->id, 0, TAG_COM, st->V[st->me_d], 64))) return e;
    }
    st->next = R2;
    return KG_OK;
}

static kg_err round2_out(kg_mpc_cggmp_reshare *st, kg_mpc_cggmp_msg **out, size_t *n_out)
{
    kg_bytes body = {0};
    kg_err e = decom_encode(&body, st);
    if (e) return e;
    e = kg_mpc_cggmp_msg_push(out, n_out, st->id, 0, body.data, body.len);
    kg_bytes_free(&body);
    for (size_t k = 0; k < st->nn && !e; k++)
        if (st->new_ids[k] != st->id)
            e = push_tagged(out, n_out, st->id, st->new_ids[k], TAG_SHARE, st->deal[k].share.b, 32);
    return e;
}

kg_err kg_mpc_cggmp_reshare_round2(kg_mpc_cggmp_reshare *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *bc[MAXP];
    *out = NULL;
    *n_out = 0;
    *culprit = 0;
    kg_err e = wrong_round(st, R2);
    if (e || (e = kg_mpc_cggmp_msgs_collect(bc, NULL, in, n_in, st->dealers, st->nd, st->id, culprit))) return e;
    for (size_t j = 0; j < st->nd; j++)
        if (st->dealers[j] != st->id && (bc[j]->body.len != 65 || bc[j]->body.data[0] != TAG_COM))
            return kg_mpc_cggmp_blame(culprit, st->dealers[j], KG_ERR_BAD_INPUT, "reshare commitment malformed");
    st->next = DEAD;
    for (size_t j = 0; j < st->nd; j++)
        if (st->dealers[j] != st->id) memcpy(st->V[j], bc[j]->body.data + 1, 64);
    if (st->dealer && (e = round2_out(st, out, n_out))) {
        kg_mpc_cggmp_msgs_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
        return e;
    }
    st->next = st->receiver ? FIN : DONE;
    return KG_OK;
}

/* Parse every other dealer's decommitment and share (no state but scratch
 * is touched: a malformed message can be replaced and finish called again). */
static kg_err finish_parse(kg_mpc_cggmp_reshare *st, const kg_mpc_cggmp_msg *const *bc,
                           const kg_mpc_cggmp_msg *const *p2p, kg_mpc_frost_dkg_round2 *msgs, uint16_t *culprit)
{
    size_t me_n = (size_t)kg_mpc_cggmp_index(st->new_ids, st->nn, st->id);
    for (size_t j = 0; j < st->nd; j++) {
        msgs[j].from = st->dealers[j], msgs[j].to = st->id;
        if (j == st->me_d && st->dealer) {
            msgs[j].share = st->deal[me_n].share;
            continue;
        }
        kg_err e = decom_decode(st, j, &bc[j]->body, culprit);
        if (e) return e;
        const kg_bytes *b = &p2p[j]->body;
        if (b->len != 33 || b->data[0] != TAG_SHARE ||
            kg_mpc_scalar_from_bytes(st->g, &msgs[j].share, b->data + 1, 32))
            return kg_mpc_cggmp_blame(culprit, st->dealers[j], KG_ERR_BAD_INPUT, "reshare share malformed");
    }
    return KG_OK;
}

/* Commitments and chain codes (the checks FROST's finish does not do). */
static kg_err finish_commitments(const kg_mpc_cggmp_reshare *st, const kg_mpc_cggmp_msg *const *bc, uint16_t *culprit)
{
    uint8_t v[64];
    for (size_t j = 0; j < st->nd; j++) {
        if (j == st->me_d && st->dealer) continue;
        kg_mpc_cggmp_commit(v, COM_DOMAIN, st->sid, st->dealers[j], bc[j]->body.data, bc[j]->body.len);
        if (memcmp(v, st->V[j], 64) != 0)
            return kg_mpc_cggmp_blame(culprit, st->dealers[j], KG_ERR_VERIFY,
                                      "reshare decommitment does not match its commitment V");
        if (memcmp(st->cc[j], st->old.chain_code, KG_CGGMP_CHAIN_CODE_BYTES) != 0)
            return kg_mpc_cggmp_blame(culprit, st->dealers[j], KG_ERR_VERIFY,
                                      "reshare chain code differs from the key's");
    }
    return KG_OK;
}

/* FROST's finish: each share against its dealer's commitments, C_j[0] =
 * λ_j·X_j, Σ C_j[0] = pub; x' and the new public shares. A failure it
 * blames is re-worded "party <id>: ..." as every CGGMP21 blame is. */
static kg_err finish_frost(kg_mpc_cggmp_reshare *st, const kg_mpc_frost_dkg_round2 *msgs, kg_mpc_cggmp_share *s,
                           uint16_t *culprit)
{
    const kg_mpc_point *vss[MAXP];
    kg_mpc_point olds[MAXP];
    kg_mpc_frost_key_share fs;
    uint16_t c = 0;
    for (size_t j = 0; j < st->nd; j++) {
        vss[j] = st->C[j];
        olds[j] = st->old.X[kg_mpc_cggmp_index(st->old.ids, st->old.n, st->dealers[j])];
    }
    kg_err e = kg_mpc_frost_reshare_finish(&fs, s->X, &c, st->g, &st->old.pub, st->id, st->new_ids, st->nn,
                                           st->new_t, vss, msgs, st->nd, olds);
    if (e) {
        char why[256];
        snprintf(why, sizeof why, "%s", kg_err_detail(e));
        kg_wipe(&fs, sizeof fs);
        return c ? kg_mpc_cggmp_blame(culprit, c, e, "reshare: %s", why) : kg_err_set(e, "CGGMP21 reshare: %s", why);
    }
    s->x = fs.secret;
    kg_wipe(&fs, sizeof fs);
    return KG_OK;
}

kg_err kg_mpc_cggmp_reshare_finish(kg_mpc_cggmp_reshare *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_share *out, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *bc[MAXP] = {0}, *p2p[MAXP] = {0};
    kg_mpc_frost_dkg_round2 msgs[MAXP];
    kg_mpc_cggmp_share s;
    memset(out, 0, sizeof *out);
    memset(&s, 0, sizeof s);
    *culprit = 0;
    kg_err e = wrong_round(st, FIN);
    if (e || (e = kg_mpc_cggmp_msgs_collect(bc, p2p, in, n_in, st->dealers, st->nd, st->id, culprit))) return e;
    if ((e = finish_parse(st, bc, p2p, msgs, culprit))) goto out;
    st->next = DEAD; /* from here a failure is a cheating dealer */
    if ((e = finish_commitments(st, bc, culprit)) || (e = finish_frost(st, msgs, &s, culprit))) goto out;
    s.group = st->g, s.id = st->id, s.t = st->new_t, s.n = st->nn;
    memcpy(s.ids, st->new_ids, sizeof s.ids);
    s.pub = st->old.pub;
    memcpy(s.chain_code, st->old.chain_code, KG_CGGMP_CHAIN_CODE_BYTES);
    s.epoch = st->old.epoch + 1;
    if (kg_mpc_cggmp_share_check(&s) != KG_OK) {
        e = kg_err_set(KG_ERR_INTERNAL, "CGGMP21 reshare: the new share is inconsistent");
        goto out;
    }
    *out = s;
    st->next = DONE;
out:
    kg_wipe(msgs, sizeof msgs);
    kg_wipe(&s, sizeof s);
    return e;
}
