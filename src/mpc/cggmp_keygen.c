/* CGGMP21 key generation (eprint 2021/060, Fig. 5), made t-of-n with
 * Feldman VSS so that any t parties can sign (the paper's §1.2.8 threshold
 * variant):
 *   R1  party i picks f_i (degree t-1), F_i = (a_k·G), rid_i, a Schnorr
 *       commitment A_i = τ·G and a salt u_i, and broadcasts the hash
 *       commitment V_i to all of it (nobody can pick its F_i after seeing
 *       the others': no rogue-key attack).
 *   R2  broadcast the decommitment.
 *   R3  check every V_j, rid = XOR rid_j; send f_i(j) to each j; broadcast
 *       the Schnorr response z_i (Πsch: knowledge of a_0 = log F_i[0]) with
 *       the challenge bound to sid, i and the joint rid.
 *   fin verify every share against F_j and every Πsch; x_i = Σ f_j(i).
 * Every failed check names its sender (identifiable abort). */
#include "cggmp_int.h"

#include <stdlib.h>
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"

enum { TAG_COM = 0x11, TAG_DECOM = 0x12, TAG_SCH = 0x13, TAG_SHARE = 0x14 };
enum { R1 = 1, R2, R3, FIN, DONE, DEAD };
#define COM_DOMAIN "kashguard/cggmp21/keygen-com/v1"

struct kg_mpc_cggmp_keygen {
    kg_mpc_group_id g;
    uint16_t id, t, n, me;
    uint16_t ids[KG_CGGMP_MAX_PARTIES];
    int next; /* the round function expected next */
    uint8_t sid[64];
    kg_mpc_scalar a[KG_CGGMP_MAX_PARTIES]; /* secret: f_i's coefficients */
    kg_mpc_scalar tau;                     /* secret: Πsch nonce */
    kg_mpc_scalar own;                     /* secret: f_i(i) */
    uint8_t u[32];
    uint8_t rid[KG_CGGMP_MAX_PARTIES][32];
    uint8_t rid_all[32];
    uint8_t V[KG_CGGMP_MAX_PARTIES][64];
    kg_mpc_point A[KG_CGGMP_MAX_PARTIES];
    kg_mpc_point F[KG_CGGMP_MAX_PARTIES][KG_CGGMP_MAX_PARTIES]; /* [party][k] */
};

static kg_err wrong_round(const kg_mpc_cggmp_keygen *st, int want)
{
    if (st->next == want) return KG_OK;
    return kg_err_set(KG_ERR_ARG, "CGGMP21 keygen: round called out of order (or after an error)");
}

static void sort_ids(uint16_t *ids, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            uint16_t x = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = x;
        }
}

kg_err kg_mpc_cggmp_keygen_new(kg_mpc_cggmp_keygen **out, kg_mpc_group_id g, uint16_t id, uint16_t t,
                               const uint16_t *ids, size_t n, const uint8_t *session, size_t session_len)
{
    *out = NULL;
    if (!kg_mpc_cggmp_scheme_name(g)) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 keygen: group is not secp256k1/P-256");
    if (n > KG_CGGMP_MAX_PARTIES || t < 2 || t > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 keygen: bad threshold %u of %zu", t, n);
    kg_mpc_cggmp_keygen *st = calloc(1, sizeof *st);
    if (!st) return kg_err_set(KG_ERR_NOMEM, "out of memory starting CGGMP21 keygen");
    memcpy(st->ids, ids, n * sizeof *ids);
    sort_ids(st->ids, n);
    for (size_t i = 0; i < n; i++)
        if (st->ids[i] == 0 || (i && st->ids[i] == st->ids[i - 1])) {
            free(st);
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 keygen: party ids must be distinct and non-zero");
        }
    int me = kg_mpc_cggmp_index(st->ids, n, id);
    if (me < 0) {
        free(st);
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 keygen: own id %u not among the parties", id);
    }
    st->g = g;
    st->id = id;
    st->t = t;
    st->n = (uint16_t)n;
    st->me = (uint16_t)me;
    kg_err e = kg_mpc_cggmp_sid(st->sid, "keygen", g, session, session_len, NULL, NULL, st->ids, n);
    if (e) {
        free(st);
        return e;
    }
    st->next = R1;
    *out = st;
    return KG_OK;
}

void kg_mpc_cggmp_keygen_free(kg_mpc_cggmp_keygen *st)
{
    if (!st) return;
    kg_wipe(st, sizeof *st);
    free(st);
}

/* Decommitment body: tag, rid, u, u16 t, t points F, point A. */
static kg_err decom_encode(kg_bytes *out, const kg_mpc_cggmp_keygen *st)
{
    kg_mpc_node_wr w = {0};
    uint8_t tag = TAG_DECOM;
    kg_mpc_node_wr_fixed(&w, &tag, 1);
    kg_mpc_node_wr_fixed(&w, st->rid[st->me], 32);
    kg_mpc_node_wr_fixed(&w, st->u, 32);
    kg_mpc_node_wr_u16(&w, st->t);
    for (size_t k = 0; k < st->t; k++) kg_mpc_point_write(&w, st->g, &st->F[st->me][k]);
    kg_mpc_point_write(&w, st->g, &st->A[st->me]);
    kg_err e = kg_mpc_node_wr_done(&w);
    if (!e) *out = w.b;
    return e;
}

/* Parse j's decommitment into the state (after its commitment matched). */
static kg_err decom_decode(kg_mpc_cggmp_keygen *st, size_t j, const kg_bytes *b, uint16_t *culprit)
{
    kg_mpc_node_rd r;
    uint16_t from = st->ids[j];
    kg_mpc_node_rd_init(&r, b->data, b->len);
    const uint8_t *tag = kg_mpc_node_rd_fixed(&r, 1);
    const uint8_t *rid = kg_mpc_node_rd_fixed(&r, 32);
    kg_mpc_node_rd_fixed(&r, 32); /* u: only ever hashed */
    uint16_t cnt = kg_mpc_node_rd_u16(&r);
    if (!tag || !rid || r.bad || tag[0] != TAG_DECOM)
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "keygen decommitment malformed");
    if (cnt != st->t)
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "keygen VSS has %u commitments, want %u", cnt,
                                  st->t);
    memcpy(st->rid[j], rid, 32);
    for (size_t k = 0; k < cnt; k++)
        if (kg_mpc_point_read(&r, st->g, &st->F[j][k], "VSS commitment"))
            return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "keygen VSS commitment %zu malformed", k);
    if (kg_mpc_point_read(&r, st->g, &st->A[j], "Schnorr commitment") || kg_mpc_node_rd_end(&r, "decommitment"))
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "keygen decommitment malformed");
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

kg_err kg_mpc_cggmp_keygen_round1(kg_mpc_cggmp_keygen *st, kg_mpc_cggmp_msg **out, size_t *n_out)
{
    kg_bytes body = {0};
    *out = NULL;
    *n_out = 0;
    kg_err e = wrong_round(st, R1);
    if (e) return e;
    st->next = DEAD;
    for (size_t k = 0; k < st->t && !e; k++) {
        e = kg_mpc_scalar_random(st->g, &st->a[k]);
        kg_mpc_point_base_mul(st->g, &st->F[st->me][k], &st->a[k]);
    }
    if (!e) e = kg_mpc_scalar_random(st->g, &st->tau);
    if (!e) e = kg_crypto_random(st->rid[st->me], 32);
    if (!e) e = kg_crypto_random(st->u, 32);
    if (e) return e;
    kg_mpc_point_base_mul(st->g, &st->A[st->me], &st->tau);
    if ((e = decom_encode(&body, st))) return e;
    kg_mpc_cggmp_commit(st->V[st->me], COM_DOMAIN, st->sid, st->id, body.data, body.len);
    kg_bytes_free(&body);
    if ((e = push_tagged(out, n_out, st->id, 0, TAG_COM, st->V[st->me], 64))) return e;
    st->next = R2;
    return KG_OK;
}

kg_err kg_mpc_cggmp_keygen_round2(kg_mpc_cggmp_keygen *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                  kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *bc[KG_CGGMP_MAX_PARTIES];
    kg_bytes body = {0};
    *out = NULL;
    *n_out = 0;
    *culprit = 0;
    kg_err e = wrong_round(st, R2);
    if (e || (e = kg_mpc_cggmp_msgs_collect(bc, NULL, in, n_in, st->ids, st->n, st->id, culprit))) return e;
    for (size_t j = 0; j < st->n; j++)
        if (j != st->me && (bc[j]->body.len != 65 || bc[j]->body.data[0] != TAG_COM))
            return kg_mpc_cggmp_blame(culprit, st->ids[j], KG_ERR_BAD_INPUT, "keygen commitment malformed");
    st->next = DEAD;
    for (size_t j = 0; j < st->n; j++)
        if (j != st->me) memcpy(st->V[j], bc[j]->body.data + 1, 64);
    if ((e = decom_encode(&body, st))) return e;
    e = kg_mpc_cggmp_msg_push(out, n_out, st->id, 0, body.data, body.len);
    kg_bytes_free(&body);
    if (e) return e;
    st->next = R3;
    return KG_OK;
}

/* Πsch challenge: e = SHA-512(domain, sid, prover, rid, X, A) mod q. */
static void sch_challenge(const kg_mpc_cggmp_keygen *st, kg_mpc_scalar *e, size_t j)
{
    kg_mpc_node_wr w = {0};
    uint8_t h[64];
    kg_mpc_node_wr_blob(&w, (const uint8_t *)"kashguard/cggmp21/sch/v1", 24);
    kg_mpc_node_wr_fixed(&w, st->sid, 64);
    kg_mpc_node_wr_u16(&w, st->ids[j]);
    kg_mpc_node_wr_fixed(&w, st->rid_all, 32);
    kg_mpc_point_write(&w, st->g, &st->F[j][0]);
    kg_mpc_point_write(&w, st->g, &st->A[j]);
    if (kg_mpc_node_wr_done(&w)) abort(); /* a few hundred bytes */
    kg_crypto_sha512(h, w.b.data, w.b.len);
    kg_bytes_free(&w.b);
    kg_mpc_scalar_reduce(st->g, e, h, sizeof h);
}

static kg_err round3_out(kg_mpc_cggmp_keygen *st, kg_mpc_cggmp_msg **out, size_t *n_out)
{
    kg_mpc_scalar e, z, x, s;
    kg_err err = KG_OK;
    sch_challenge(st, &e, st->me);
    kg_mpc_scalar_mul(st->g, &z, &e, &st->a[0]);
    kg_mpc_scalar_add(st->g, &z, &z, &st->tau);
    err = push_tagged(out, n_out, st->id, 0, TAG_SCH, z.b, 32);
    for (size_t j = 0; j < st->n && !err; j++) {
        kg_mpc_scalar_from_u64(st->g, &x, st->ids[j]);
        kg_mpc_frost_poly_eval(st->g, &s, st->a, st->t, &x);
        if (j == st->me)
            st->own = s;
        else
            err = push_tagged(out, n_out, st->id, st->ids[j], TAG_SHARE, s.b, 32);
    }
    kg_wipe(&s, sizeof s);
    kg_wipe(&z, sizeof z);
    return err;
}

kg_err kg_mpc_cggmp_keygen_round3(kg_mpc_cggmp_keygen *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                  kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *bc[KG_CGGMP_MAX_PARTIES];
    uint8_t v[64];
    *out = NULL;
    *n_out = 0;
    *culprit = 0;
    kg_err e = wrong_round(st, R3);
    if (e || (e = kg_mpc_cggmp_msgs_collect(bc, NULL, in, n_in, st->ids, st->n, st->id, culprit))) return e;
    st->next = DEAD;
    memcpy(st->rid_all, st->rid[st->me], 32);
    for (size_t j = 0; j < st->n; j++) {
        if (j == st->me) continue;
        kg_mpc_cggmp_commit(v, COM_DOMAIN, st->sid, st->ids[j], bc[j]->body.data, bc[j]->body.len);
        if (memcmp(v, st->V[j], 64) != 0)
            return kg_mpc_cggmp_blame(culprit, st->ids[j], KG_ERR_VERIFY, "keygen decommitment does not match V");
        if ((e = decom_decode(st, j, &bc[j]->body, culprit))) return e;
        for (size_t b = 0; b < 32; b++) st->rid_all[b] ^= st->rid[j][b];
    }
    if ((e = round3_out(st, out, n_out))) {
        kg_mpc_cggmp_msgs_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
        return e;
    }
    st->next = FIN;
    return KG_OK;
}

/* Check j's share f_j(i) against F_j and j's Πsch; add the share to x. */
static kg_err finish_one(kg_mpc_cggmp_keygen *st, size_t j, const kg_mpc_cggmp_msg *sch,
                         const kg_mpc_cggmp_msg *sh, kg_mpc_scalar *x, uint16_t *culprit)
{
    kg_mpc_scalar z, s, e;
    kg_mpc_point p, q;
    uint16_t from = st->ids[j];
    if (sch->body.len != 33 || sch->body.data[0] != TAG_SCH ||
        kg_mpc_scalar_from_bytes(st->g, &z, sch->body.data + 1, 32))
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "keygen Schnorr response malformed");
    if (sh->body.len != 33 || sh->body.data[0] != TAG_SHARE ||
        kg_mpc_scalar_from_bytes(st->g, &s, sh->body.data + 1, 32))
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "keygen share malformed");
    kg_mpc_point_base_mul(st->g, &p, &s);
    kg_mpc_frost_vss_eval(st->g, &q, st->F[j], st->t, st->id);
    if (!kg_mpc_point_eq(st->g, &p, &q)) {
        kg_wipe(&s, sizeof s);
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_VERIFY, "keygen share does not match its VSS commitments");
    }
    sch_challenge(st, &e, j); /* z·G = A_j + e·F_j[0] */
    kg_mpc_point_base_mul(st->g, &p, &z);
    kg_mpc_point_mul(st->g, &q, &e, &st->F[j][0]);
    kg_mpc_point_add(st->g, &q, &q, &st->A[j]);
    if (!kg_mpc_point_eq(st->g, &p, &q)) {
        kg_wipe(&s, sizeof s);
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_VERIFY, "keygen Schnorr proof (Πsch) does not verify");
    }
    kg_mpc_scalar_add(st->g, x, x, &s);
    kg_wipe(&s, sizeof s);
    return KG_OK;
}

/* Public shares, key and chain code: the same at every party. */
static void finish_public(const kg_mpc_cggmp_keygen *st, kg_mpc_cggmp_share *s)
{
    kg_mpc_point p;
    uint8_t in[28 + 32], h[64];
    for (size_t k = 0; k < st->n; k++) {
        kg_mpc_point_identity(st->g, &s->X[k]);
        for (size_t j = 0; j < st->n; j++) {
            kg_mpc_frost_vss_eval(st->g, &p, st->F[j], st->t, st->ids[k]);
            kg_mpc_point_add(st->g, &s->X[k], &s->X[k], &p);
        }
    }
    kg_mpc_point_identity(st->g, &s->pub);
    for (size_t j = 0; j < st->n; j++) kg_mpc_point_add(st->g, &s->pub, &s->pub, &st->F[j][0]);
    memcpy(in, "kashguard/cggmp21/chain-code", 28);
    memcpy(in + 28, st->rid_all, 32);
    kg_crypto_sha512(h, in, sizeof in);
    memcpy(s->chain_code, h, KG_CGGMP_CHAIN_CODE_BYTES);
}

kg_err kg_mpc_cggmp_keygen_finish(kg_mpc_cggmp_keygen *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                  kg_mpc_cggmp_share *out, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *bc[KG_CGGMP_MAX_PARTIES], *p2p[KG_CGGMP_MAX_PARTIES];
    kg_mpc_cggmp_share s;
    memset(out, 0, sizeof *out);
    *culprit = 0;
    kg_err e = wrong_round(st, FIN);
    if (e || (e = kg_mpc_cggmp_msgs_collect(bc, p2p, in, n_in, st->ids, st->n, st->id, culprit))) return e;
    st->next = DEAD;
    memset(&s, 0, sizeof s);
    s.x = st->own;
    for (size_t j = 0; j < st->n && !e; j++)
        if (j != st->me) e = finish_one(st, j, bc[j], p2p[j], &s.x, culprit);
    if (!e) {
        s.group = st->g;
        s.id = st->id;
        s.t = st->t;
        s.n = st->n;
        memcpy(s.ids, st->ids, sizeof s.ids);
        s.epoch = 0;
        finish_public(st, &s);
        if (kg_mpc_cggmp_share_check(&s) != KG_OK)
            e = kg_err_set(KG_ERR_INTERNAL, "CGGMP21 keygen: the new share is inconsistent");
    }
    if (!e) {
        *out = s;
        st->next = DONE;
    }
    kg_wipe(&s, sizeof s);
    return e;
}
