/* Pedersen DKG with proofs of knowledge for FROST (Komlo-Goldberg, FROST
 * paper Figure 1), in the form the Zcash Foundation's frost implements and
 * its vectors_dkg.json files test. RFC 9591 specifies no DKG.
 *
 * Round 1 (each participant i): draw f_i(x) = a_i0 + a_i1 x + ... of degree
 *   t-1; broadcast C_i = (a_i0*G, ..., a_i(t-1)*G) and a Schnorr proof of
 *   knowledge of a_i0: k random, R_i = k*G, c_i = HDKG(SerializeScalar(i) ||
 *   SerializeElement(a_i0*G) || SerializeElement(R_i)), mu_i = k + a_i0*c_i.
 * Round 2: check every other participant's proof (R_l == mu_l*G -
 *   c_l*C_l0) and send f_i(l) to each l over a confidential, authenticated
 *   channel (the net layer's job).
 * Finish: check each received f_l(i) against C_l (f_l(i)*G == sum_k
 *   C_lk i^k), then sk_i = sum_l f_l(i), PK = sum_l C_l0, PK_j = sum_l
 *   C_l(j).
 * The broadcast of round 1 must be consistent (every party sees the same
 * C_l): the net layer must provide an echo/reliable broadcast.
 *
 * The session is an explicit state machine (STYLE.md): NEW -> ROUND1 ->
 * ROUND2 -> DONE; each step checks the state it expects and moves on only on
 * success; any failure moves it to ABORTED and wipes every secret, so a
 * party that cheated is named (culprit) and no key material comes out. The
 * secret part (coefficients, own share) lives in sodium_malloc'd memory. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "kashguard/mpc/frost.h"
#include "mpc_int.h"

typedef enum { DKG_NEW = 1, DKG_ROUND1, DKG_ROUND2, DKG_DONE, DKG_ABORTED } dkg_state;

typedef struct {
    kg_mpc_scalar coeffs[KG_MPC_FROST_MAX_PARTICIPANTS]; /* a_i0 .. a_i(t-1) */
    kg_mpc_scalar own_share;                             /* f_i(i) */
} dkg_secrets;

struct kg_mpc_frost_dkg {
    dkg_state state;
    kg_mpc_group_id g;
    uint16_t id;
    unsigned t, n;
    dkg_secrets *sec;     /* sodium_malloc */
    kg_mpc_point *coms;   /* n * t points: C_l at coms[(l-1)*t] (public) */
};

static void dkg_abort(kg_mpc_frost_dkg *d)
{
    if (d->sec)
        sodium_memzero(d->sec, sizeof *d->sec);
    d->state = DKG_ABORTED;
}

kg_err kg_mpc_frost_dkg_new(kg_mpc_frost_dkg **out, kg_mpc_group_id g, uint16_t id, unsigned t, unsigned n)
{
    *out = NULL;
    if (!kg_mpc_group_valid(g))
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown FROST group %d", (int)g);
    if (t < 2 || t > n || n > KG_MPC_FROST_MAX_PARTICIPANTS || id < 1 || id > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "need 1 < t <= n <= %d and 1 <= id <= n (got t=%u n=%u id=%u)",
                          KG_MPC_FROST_MAX_PARTICIPANTS, t, n, id);
    if (sodium_init() < 0)
        return kg_err_set(KG_ERR_CRYPTO, "libsodium failed to initialise");
    kg_mpc_frost_dkg *d = calloc(1, sizeof *d);
    if (d) {
        d->sec = sodium_malloc(sizeof *d->sec);
        d->coms = calloc((size_t)n * t, sizeof *d->coms);
    }
    if (!d || !d->sec || !d->coms) {
        kg_mpc_frost_dkg_free(d);
        return kg_err_set(KG_ERR_NOMEM, "out of memory for a DKG session");
    }
    sodium_memzero(d->sec, sizeof *d->sec);
    d->state = DKG_NEW, d->g = g, d->id = id, d->t = t, d->n = n;
    *out = d;
    return KG_OK;
}

void kg_mpc_frost_dkg_free(kg_mpc_frost_dkg *d)
{
    if (!d)
        return;
    if (d->sec)
        sodium_free(d->sec); /* wipes */
    free(d->coms);
    free(d);
}

static kg_err expect_state(kg_mpc_frost_dkg *d, dkg_state want, const char *step)
{
    if (d->state == want)
        return KG_OK;
    if (d->state == DKG_ABORTED)
        return kg_err_set(KG_ERR_CONFLICT, "the DKG session was aborted; start a new one");
    return kg_err_set(KG_ERR_CONFLICT, "DKG %s called out of order", step);
}

/* c = HDKG(SerializeScalar(id) || SerializeElement(C_0) || SerializeElement(R)) */
static kg_err pok_challenge(kg_mpc_group_id g, kg_mpc_scalar *c, uint16_t id,
                            const kg_mpc_point *c0, const kg_mpc_point *R)
{
    kg_mpc_scalar ids;
    size_t pl = kg_mpc_group_point_len(g);
    kg_mpc_scalar_from_u64(g, &ids, id);
    const kg_mpc_slice parts[3] = {{ids.b, KG_MPC_SCALAR_BYTES}, {c0->b, pl}, {R->b, pl}};
    return kg_mpc_group_hash_scalar(g, c, KG_MPC_HDKG, parts, 3);
}

kg_err kg_mpc_frost_dkg_round1_run(kg_mpc_frost_dkg *d, kg_mpc_frost_dkg_round1 *msg,
                                   const kg_mpc_scalar *coeffs, const kg_mpc_scalar *proof_k)
{
    kg_mpc_group_id g = d->g;
    kg_mpc_scalar k = {{0}}, c;
    memset(msg, 0, sizeof *msg);
    kg_err e = expect_state(d, DKG_NEW, "round 1");
    for (unsigned j = 0; e == KG_OK && j < d->t; j++) { /* Round 1 step 1: a_i0..a_i(t-1) */
        if (coeffs)
            d->sec->coeffs[j] = coeffs[j];
        else
            e = kg_mpc_scalar_random(g, &d->sec->coeffs[j]);
    }
    if (e == KG_OK && kg_mpc_scalar_is_zero(g, &d->sec->coeffs[0]))
        e = kg_err_set(KG_ERR_BAD_INPUT, "a_i0 must not be zero");
    if (e == KG_OK && proof_k)
        k = *proof_k;
    else if (e == KG_OK)
        e = kg_mpc_scalar_random(g, &k);
    if (e == KG_OK) {
        msg->from = d->id, msg->t = (uint16_t)d->t;
        for (unsigned j = 0; j < d->t; j++) /* step 3: phi_ij = a_ij * G */
            kg_mpc_point_base_mul(g, &msg->commitment[j], &d->sec->coeffs[j]);
        kg_mpc_point_base_mul(g, &msg->proof_R, &k); /* step 2: sigma_i = (R_i, mu_i) */
        e = pok_challenge(g, &c, d->id, &msg->commitment[0], &msg->proof_R);
    }
    if (e == KG_OK) {
        kg_mpc_scalar_mul(g, &msg->proof_mu, &d->sec->coeffs[0], &c);
        kg_mpc_scalar_add(g, &msg->proof_mu, &msg->proof_mu, &k);
        memcpy(&d->coms[(size_t)(d->id - 1) * d->t], msg->commitment, d->t * sizeof msg->commitment[0]);
        d->state = DKG_ROUND1;
    } else {
        memset(msg, 0, sizeof *msg);
        dkg_abort(d);
    }
    kg_wipe(&k, sizeof k);
    return e;
}

static bool point_valid(kg_mpc_group_id g, const kg_mpc_point *p)
{
    kg_mpc_point q;
    return kg_mpc_point_deserialize(g, &q, p->b, kg_mpc_group_point_len(g)) == KG_OK
           && memcmp(q.b, p->b, sizeof q.b) == 0;
}

kg_err kg_mpc_frost_dkg_round1_check(kg_mpc_group_id g, unsigned t, const kg_mpc_frost_dkg_round1 *m)
{
    kg_mpc_scalar c, canon;
    kg_mpc_point lhs, tmp;
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    if (m->t != t || t < 1 || t > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_VERIFY, "participant %u sent %u commitments, expected %u", m->from, m->t, t);
    for (unsigned j = 0; j < t; j++)
        if (!point_valid(g, &m->commitment[j]))
            return kg_err_set(KG_ERR_VERIFY, "participant %u sent an invalid commitment", m->from);
    if (!point_valid(g, &m->proof_R)
        || kg_mpc_scalar_from_bytes(g, &canon, m->proof_mu.b, KG_MPC_SCALAR_BYTES) != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "participant %u sent a malformed proof of knowledge", m->from);
    kg_err e = pok_challenge(g, &c, m->from, &m->commitment[0], &m->proof_R);
    if (e != KG_OK)
        return e;
    kg_mpc_point_base_mul(g, &lhs, &m->proof_mu); /* step 5: R == mu*G - c*phi_0 */
    kg_mpc_point_mul(g, &tmp, &c, &m->commitment[0]);
    kg_mpc_point_sub(g, &lhs, &lhs, &tmp);
    if (!kg_mpc_point_eq(g, &lhs, &m->proof_R))
        return kg_err_set(KG_ERR_VERIFY, "participant %u sent an invalid proof of knowledge", m->from);
    return KG_OK;
}

/* Checks that the senders of msgs are exactly the other n-1 participants. */
static kg_err check_senders(const kg_mpc_frost_dkg *d, uint16_t *culprit, const uint16_t *from, size_t k)
{
    uint8_t seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {0};
    if (k != d->n - 1)
        return kg_err_set(KG_ERR_BAD_INPUT, "expected %u messages (one per other participant), got %zu",
                          d->n - 1, k);
    for (size_t i = 0; i < k; i++) {
        if (from[i] < 1 || from[i] > d->n || from[i] == d->id || seen[from[i]]) {
            *culprit = from[i];
            return kg_err_set(KG_ERR_BAD_INPUT, "unexpected or repeated message from participant %u", from[i]);
        }
        seen[from[i]] = 1;
    }
    return KG_OK;
}

kg_err kg_mpc_frost_dkg_round2_run(kg_mpc_frost_dkg *d, kg_mpc_frost_dkg_round2 *out, uint16_t *culprit,
                                   const kg_mpc_frost_dkg_round1 *msgs, size_t n_msgs)
{
    uint16_t from[KG_MPC_FROST_MAX_PARTICIPANTS] = {0};
    kg_mpc_scalar x;
    *culprit = 0;
    kg_err e = expect_state(d, DKG_ROUND1, "round 2");
    if (e != KG_OK) {
        dkg_abort(d);
        return e;
    }
    for (size_t i = 0; i < n_msgs && i < KG_MPC_FROST_MAX_PARTICIPANTS; i++)
        from[i] = msgs[i].from;
    e = check_senders(d, culprit, from, n_msgs);
    for (size_t i = 0; e == KG_OK && i < n_msgs; i++) {
        e = kg_mpc_frost_dkg_round1_check(d->g, d->t, &msgs[i]);
        if (e != KG_OK)
            *culprit = msgs[i].from;
        else
            memcpy(&d->coms[(size_t)(msgs[i].from - 1) * d->t], msgs[i].commitment,
                   d->t * sizeof msgs[i].commitment[0]);
    }
    if (e != KG_OK) {
        dkg_abort(d);
        return e;
    }
    size_t k = 0; /* Round 2 step 1: (l, f_i(l)) to every l != i; keep f_i(i) */
    for (uint16_t l = 1; l <= d->n; l++) {
        kg_mpc_scalar_from_u64(d->g, &x, l);
        if (l == d->id) {
            kg_mpc_frost_poly_eval(d->g, &d->sec->own_share, d->sec->coeffs, d->t, &x);
            continue;
        }
        out[k].from = d->id, out[k].to = l;
        kg_mpc_frost_poly_eval(d->g, &out[k].share, d->sec->coeffs, d->t, &x);
        k++;
    }
    sodium_memzero(d->sec->coeffs, sizeof d->sec->coeffs); /* "deleting f_i" */
    d->state = DKG_ROUND2;
    return KG_OK;
}

/* sum of shares received, each checked against its sender's commitment */
static kg_err receive_shares(kg_mpc_frost_dkg *d, kg_mpc_scalar *sum, uint16_t *culprit,
                             const kg_mpc_frost_dkg_round2 *msgs, size_t n_msgs)
{
    kg_mpc_point expect, actual;
    for (size_t i = 0; i < n_msgs; i++) {
        const kg_mpc_frost_dkg_round2 *m = &msgs[i];
        kg_mpc_scalar canon;
        *culprit = m->from;
        if (m->to != d->id)
            return kg_err_set(KG_ERR_BAD_INPUT, "participant %u sent a share meant for %u", m->from, m->to);
        if (kg_mpc_scalar_from_bytes(d->g, &canon, m->share.b, KG_MPC_SCALAR_BYTES) != KG_OK)
            return kg_err_set(KG_ERR_VERIFY, "participant %u sent a malformed share", m->from);
        kg_mpc_frost_vss_eval(d->g, &expect, &d->coms[(size_t)(m->from - 1) * d->t], d->t, d->id);
        kg_mpc_point_base_mul(d->g, &actual, &m->share);
        if (!kg_mpc_point_eq(d->g, &expect, &actual))
            return kg_err_set(KG_ERR_VERIFY, "participant %u sent an invalid secret share "
                              "(it does not match its commitment)", m->from);
        kg_mpc_scalar_add(d->g, sum, sum, &m->share);
    }
    *culprit = 0;
    return KG_OK;
}

/* PK = sum_l C_l0 and PK_j = sum_l C_l(j). */
static void group_publics(const kg_mpc_frost_dkg *d, kg_mpc_point *pk, kg_mpc_point *publics)
{
    kg_mpc_point v;
    kg_mpc_point_identity(d->g, pk);
    for (unsigned l = 0; l < d->n; l++)
        kg_mpc_point_add(d->g, pk, pk, &d->coms[(size_t)l * d->t]);
    for (unsigned j = 1; publics && j <= d->n; j++) {
        kg_mpc_point_identity(d->g, &publics[j - 1]);
        for (unsigned l = 0; l < d->n; l++) {
            kg_mpc_frost_vss_eval(d->g, &v, &d->coms[(size_t)l * d->t], d->t, (uint16_t)j);
            kg_mpc_point_add(d->g, &publics[j - 1], &publics[j - 1], &v);
        }
    }
}

kg_err kg_mpc_frost_dkg_finish(kg_mpc_frost_dkg *d, kg_mpc_frost_key_share *share,
                               kg_mpc_point *public_shares, uint16_t *culprit,
                               const kg_mpc_frost_dkg_round2 *msgs, size_t n_msgs)
{
    uint16_t from[KG_MPC_FROST_MAX_PARTICIPANTS] = {0};
    memset(share, 0, sizeof *share);
    *culprit = 0;
    kg_err e = expect_state(d, DKG_ROUND2, "finish");
    if (e != KG_OK) {
        dkg_abort(d);
        return e;
    }
    for (size_t i = 0; i < n_msgs && i < KG_MPC_FROST_MAX_PARTICIPANTS; i++)
        from[i] = msgs[i].from;
    e = check_senders(d, culprit, from, n_msgs);
    kg_mpc_scalar sum = d->sec->own_share;
    if (e == KG_OK)
        e = receive_shares(d, &sum, culprit, msgs, n_msgs);
    if (e != KG_OK) {
        kg_wipe(&sum, sizeof sum);
        dkg_abort(d);
        return e;
    }
    share->group = d->g, share->id = d->id;
    share->min_signers = (uint16_t)d->t, share->max_signers = (uint16_t)d->n;
    share->secret = sum;
    kg_mpc_point_base_mul(d->g, &share->public_share, &sum);
    group_publics(d, &share->group_public, public_shares);
    kg_wipe(&sum, sizeof sum);
    sodium_memzero(d->sec, sizeof *d->sec);
    d->state = DKG_DONE;
    return KG_OK;
}

/* ------------------------------------------------------------- wire form */

kg_err kg_mpc_frost_dkg_round1_serialize(kg_mpc_group_id g, uint8_t *out, size_t *out_len,
                                         const kg_mpc_frost_dkg_round1 *m)
{
    size_t pl = kg_mpc_group_point_len(g), off = 4;
    *out_len = 0;
    KG_ARG_CHECK(pl != 0);
    if (m->t < 1 || m->t > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_BAD_INPUT, "a round-1 message holds 1..%d commitments", KG_MPC_FROST_MAX_PARTICIPANTS);
    out[0] = (uint8_t)(m->from >> 8), out[1] = (uint8_t)m->from;
    out[2] = (uint8_t)(m->t >> 8), out[3] = (uint8_t)m->t;
    for (unsigned j = 0; j < m->t; j++, off += pl)
        memcpy(out + off, m->commitment[j].b, pl);
    memcpy(out + off, m->proof_R.b, pl);
    memcpy(out + off + pl, m->proof_mu.b, KG_MPC_SCALAR_BYTES);
    *out_len = off + pl + KG_MPC_SCALAR_BYTES;
    return KG_OK;
}

kg_err kg_mpc_frost_dkg_round1_parse(kg_mpc_group_id g, kg_mpc_frost_dkg_round1 *out,
                                     const uint8_t *in, size_t in_len)
{
    size_t pl = kg_mpc_group_point_len(g);
    memset(out, 0, sizeof *out);
    KG_ARG_CHECK(pl != 0);
    if (!in || in_len < 4)
        return kg_err_set(KG_ERR_BAD_INPUT, "the round-1 message is truncated");
    unsigned from = (unsigned)in[0] << 8 | in[1], t = (unsigned)in[2] << 8 | in[3];
    if (from == 0 || t < 1 || t > KG_MPC_FROST_MAX_PARTICIPANTS || in_len != 4 + (t + 1) * pl + KG_MPC_SCALAR_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "the round-1 message has a bad identifier, threshold or length");
    kg_err e = KG_OK;
    size_t off = 4;
    for (unsigned j = 0; e == KG_OK && j < t; j++, off += pl)
        e = kg_mpc_point_deserialize(g, &out->commitment[j], in + off, pl);
    if (e == KG_OK)
        e = kg_mpc_point_deserialize(g, &out->proof_R, in + off, pl);
    if (e == KG_OK)
        e = kg_mpc_scalar_from_bytes(g, &out->proof_mu, in + off + pl, KG_MPC_SCALAR_BYTES);
    if (e != KG_OK) {
        memset(out, 0, sizeof *out);
        return e;
    }
    out->from = (uint16_t)from, out->t = (uint16_t)t;
    return KG_OK;
}
