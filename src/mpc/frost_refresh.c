/* FROST share refresh and repair, on top of the dealer/DKG primitives.
 *
 * Refresh: proactive secret sharing (Herzberg, Jarecki, Krawczyk, Yung
 * 1995). Each participant deals a random degree t-1 sharing of zero with a
 * Feldman commitment whose constant term is the identity; every participant
 * checks each dealing against its commitment and adds it. Because every
 * dealing shares zero, the group key PK is unchanged, while the new shares
 * lie on a new random polynomial: a mix of old and new shares interpolates
 * to garbage, so shares leaked before the refresh become useless.
 *
 * Repair: the repairable threshold scheme of Laing and Stinson ("Enrollment
 * repair", as in ZF frost's repairable.rs). Helper i holds sk_i = f(i);
 * f(r) = sum_i lambda_i(r) f(i) over a set of t helpers, with lambda_i(r)
 * the Lagrange coefficient at x = r. Each helper splits its term into t
 * random pieces so that no single party sees a term; the participant
 * rebuilds f(r) and checks it against its public share PK_r, so a wrong
 * piece is detected (though not attributed: that needs commitments to the
 * pieces, left for the networked version). */
#include <string.h>

#include "kashguard/mpc/frost.h"
#include "mpc_int.h"

kg_err kg_mpc_frost_refresh_deal(kg_mpc_group_id g, kg_mpc_frost_dkg_round2 *shares, kg_mpc_point *vss,
                                 uint16_t from, unsigned t, unsigned n)
{
    if (!kg_mpc_group_valid(g) || t < 2 || t > n || n > KG_MPC_FROST_MAX_PARTICIPANTS || from < 1 || from > n)
        return kg_err_set(KG_ERR_BAD_INPUT, "need a FROST group, 1 < t <= n <= %d and 1 <= from <= n",
                          KG_MPC_FROST_MAX_PARTICIPANTS);
    kg_mpc_scalar c[KG_MPC_FROST_MAX_PARTICIPANTS], x;
    kg_err e = KG_OK;
    kg_mpc_scalar_zero(g, &c[0]); /* g(0) = 0 */
    for (unsigned j = 1; e == KG_OK && j < t; j++)
        e = kg_mpc_scalar_random(g, &c[j]);
    for (unsigned j = 0; e == KG_OK && j < t; j++)
        kg_mpc_point_base_mul(g, &vss[j], &c[j]);
    for (unsigned l = 1; e == KG_OK && l <= n; l++) {
        shares[l - 1].from = from, shares[l - 1].to = (uint16_t)l;
        kg_mpc_scalar_from_u64(g, &x, l);
        kg_mpc_frost_poly_eval(g, &shares[l - 1].share, c, t, &x);
    }
    kg_wipe(c, sizeof c);
    return e;
}

/* One dealing: addressed to us, constant term the identity, share on it. */
static kg_err refresh_check(const kg_mpc_frost_key_share *share, const kg_mpc_point *vss,
                            const kg_mpc_frost_dkg_round2 *m)
{
    kg_mpc_group_id g = share->group;
    kg_mpc_point expect, actual;
    kg_mpc_scalar canon;
    if (m->to != share->id || m->from < 1 || m->from > share->max_signers)
        return kg_err_set(KG_ERR_BAD_INPUT, "refresh dealing from %u to %u is not for participant %u",
                          m->from, m->to, share->id);
    if (!kg_mpc_point_is_identity(g, &vss[0]))
        return kg_err_set(KG_ERR_VERIFY, "participant %u's refresh dealing does not share zero "
                          "(it would change the group key)", m->from);
    for (unsigned j = 1; j < share->min_signers; j++) {
        kg_mpc_point q;
        if (kg_mpc_point_deserialize(g, &q, vss[j].b, kg_mpc_group_point_len(g)) != KG_OK
            || memcmp(q.b, vss[j].b, sizeof q.b) != 0)
            return kg_err_set(KG_ERR_VERIFY, "participant %u's refresh commitment is malformed", m->from);
    }
    if (kg_mpc_scalar_from_bytes(g, &canon, m->share.b, KG_MPC_SCALAR_BYTES) != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "participant %u sent a malformed refresh share", m->from);
    kg_mpc_frost_vss_eval(g, &expect, vss, share->min_signers, share->id);
    kg_mpc_point_base_mul(g, &actual, &m->share);
    if (!kg_mpc_point_eq(g, &expect, &actual))
        return kg_err_set(KG_ERR_VERIFY, "participant %u sent an invalid refresh share", m->from);
    return KG_OK;
}

kg_err kg_mpc_frost_refresh_apply(kg_mpc_frost_key_share *share, kg_mpc_point *public_shares, uint16_t *culprit,
                                  const kg_mpc_point *const *vss, const kg_mpc_frost_dkg_round2 *msgs, size_t k)
{
    kg_mpc_group_id g = share->group;
    uint8_t seen[KG_MPC_FROST_MAX_PARTICIPANTS + 1] = {0};
    *culprit = 0;
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    if (k == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "a refresh needs at least one dealing");
    for (size_t i = 0; i < k; i++) { /* check everything before changing anything */
        kg_err e = refresh_check(share, vss[i], &msgs[i]);
        if (e == KG_OK && seen[msgs[i].from])
            e = kg_err_set(KG_ERR_BAD_INPUT, "two refresh dealings from participant %u", msgs[i].from);
        if (e != KG_OK) {
            *culprit = msgs[i].from;
            return e;
        }
        seen[msgs[i].from] = 1;
    }
    kg_mpc_point v;
    for (size_t i = 0; i < k; i++) {
        kg_mpc_scalar_add(g, &share->secret, &share->secret, &msgs[i].share);
        for (unsigned j = 1; public_shares && j <= share->max_signers; j++) {
            kg_mpc_frost_vss_eval(g, &v, vss[i], share->min_signers, (uint16_t)j);
            kg_mpc_point_add(g, &public_shares[j - 1], &public_shares[j - 1], &v);
        }
    }
    kg_mpc_point_base_mul(g, &share->public_share, &share->secret);
    return KG_OK;
}

/* lambda_i(x) = prod_{j != i} (x - x_j) / (x_i - x_j) over helpers[]. */
static kg_err lagrange_at(kg_mpc_group_id g, kg_mpc_scalar *out, uint16_t id, const uint16_t *ids,
                          size_t n, uint16_t at)
{
    kg_mpc_scalar num, den, xi, xj, x, d;
    kg_mpc_scalar_from_u64(g, &num, 1);
    kg_mpc_scalar_from_u64(g, &den, 1);
    kg_mpc_scalar_from_u64(g, &xi, id);
    kg_mpc_scalar_from_u64(g, &x, at);
    for (size_t j = 0; j < n; j++) {
        if (ids[j] == id)
            continue;
        kg_mpc_scalar_from_u64(g, &xj, ids[j]);
        kg_mpc_scalar_sub(g, &d, &x, &xj);
        kg_mpc_scalar_mul(g, &num, &num, &d);
        kg_mpc_scalar_sub(g, &d, &xi, &xj);
        kg_mpc_scalar_mul(g, &den, &den, &d);
    }
    kg_err e = kg_mpc_scalar_invert(g, &den, &den);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "duplicate helper identifiers");
    kg_mpc_scalar_mul(g, out, &num, &den);
    return KG_OK;
}

kg_err kg_mpc_frost_repair_step1(kg_mpc_scalar *deltas, const kg_mpc_frost_key_share *share,
                                 const uint16_t *helpers, size_t n, uint16_t lost_id)
{
    kg_mpc_group_id g = share->group;
    kg_mpc_scalar lambda, term, sum;
    bool self = false;
    memset(deltas, 0, n * sizeof *deltas);
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    if (n < share->min_signers || n > KG_MPC_FROST_MAX_PARTICIPANTS || lost_id == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "a repair needs at least t = %u helpers and a lost identifier",
                          share->min_signers);
    for (size_t i = 0; i < n; i++) {
        if (helpers[i] == lost_id || helpers[i] == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "participant %u cannot help repair itself", lost_id);
        for (size_t j = 0; j < i; j++)
            if (helpers[j] == helpers[i])
                return kg_err_set(KG_ERR_BAD_INPUT, "helper %u is listed twice", helpers[i]);
        self |= helpers[i] == share->id;
    }
    if (!self)
        return kg_err_set(KG_ERR_BAD_INPUT, "participant %u is not among the helpers", share->id);
    kg_err e = lagrange_at(g, &lambda, share->id, helpers, n, lost_id);
    if (e != KG_OK)
        return e;
    kg_mpc_scalar_mul(g, &term, &lambda, &share->secret); /* lambda_i(r) * sk_i */
    kg_mpc_scalar_zero(g, &sum);
    for (size_t k = 0; e == KG_OK && k + 1 < n; k++) { /* n-1 random pieces, the last one fixes the sum */
        e = kg_mpc_scalar_random(g, &deltas[k]);
        kg_mpc_scalar_add(g, &sum, &sum, &deltas[k]);
    }
    kg_mpc_scalar_sub(g, &deltas[n - 1], &term, &sum);
    if (e != KG_OK)
        kg_wipe(deltas, n * sizeof *deltas);
    kg_wipe(&term, sizeof term);
    kg_wipe(&sum, sizeof sum);
    return e;
}

void kg_mpc_frost_repair_step2(kg_mpc_group_id g, kg_mpc_scalar *sigma, const kg_mpc_scalar *deltas, size_t n)
{
    kg_mpc_scalar acc;
    kg_mpc_scalar_zero(g, &acc);
    for (size_t i = 0; i < n; i++)
        kg_mpc_scalar_add(g, &acc, &acc, &deltas[i]);
    *sigma = acc;
    kg_wipe(&acc, sizeof acc);
}

kg_err kg_mpc_frost_repair_step3(kg_mpc_frost_key_share *out, kg_mpc_group_id g, uint16_t id,
                                 unsigned t, unsigned n, const kg_mpc_scalar *sigmas, size_t n_sigmas,
                                 const kg_mpc_point *public_share, const kg_mpc_point *group_public)
{
    memset(out, 0, sizeof *out);
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    if (t < 2 || t > n || n > KG_MPC_FROST_MAX_PARTICIPANTS || id < 1 || id > n || n_sigmas < t)
        return kg_err_set(KG_ERR_BAD_INPUT, "a repair needs at least t sums for a valid identifier");
    kg_mpc_scalar sk;
    kg_mpc_point pk;
    kg_mpc_frost_repair_step2(g, &sk, sigmas, n_sigmas);
    kg_mpc_point_base_mul(g, &pk, &sk);
    if (!kg_mpc_point_eq(g, &pk, public_share)) {
        kg_wipe(&sk, sizeof sk);
        return kg_err_set(KG_ERR_VERIFY, "the repaired share of participant %u does not match its public "
                          "share: a helper sent a wrong value; repair again with other helpers", id);
    }
    out->group = g, out->id = id, out->min_signers = (uint16_t)t, out->max_signers = (uint16_t)n;
    out->secret = sk, out->public_share = pk, out->group_public = *group_public;
    kg_wipe(&sk, sizeof sk);
    return KG_OK;
}
