/* FROST resharing: move a group key to a new participant set and/or a new
 * threshold without ever assembling the key (the redistribution protocol
 * of Desmedt and Jajodia 1997, with Feldman VSS as in Wong, Wang and Wing,
 * "Verifiable secret redistribution", 2002).
 *
 * A set D of at least t old participants deals: old participant i holds
 * s_i = f(i) and lambda_i, its Lagrange coefficient at 0 for the set D
 * (RFC 9591 §4.2), so sum_{i in D} lambda_i s_i = f(0) = s. Each dealer
 * draws a fresh polynomial g_i of degree t'-1 with g_i(0) = lambda_i s_i,
 * broadcasts its Feldman commitment C_i = (g_i coefficients * G) and sends
 * g_i(j) privately to each new participant j. New participant j checks
 * every dealt share against its dealer's commitment (naming a dealer whose
 * share is wrong), checks that the constant terms C_i[0] add up to the
 * unchanged group public key (and, when the old public shares are given,
 * that C_i[0] = lambda_i * PK_i, naming the dealer who dealt something else),
 * and takes s'_j = sum_i g_i(j): the polynomial g = sum_i g_i has degree t'-1
 * and g(0) = s, so the new shares are a t'-of-n' sharing of the same key.
 * Old shares do not combine with new ones: g and f are independent.
 *
 * The commitments must reach every new participant identically (broadcast
 * with echo, as in the DKG); the shares travel on confidential
 * authenticated channels. Those belong to the networked layer. */
#include <string.h>

#include "kashguard/mpc/frost.h"
#include "mpc_int.h"

/* 1 <= ids distinct, non-zero; n in [lo, KG_MPC_FROST_MAX_PARTICIPANTS]. */
static kg_err ids_check(const uint16_t *ids, size_t n, size_t lo, const char *what)
{
    if (n < lo || n > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_BAD_INPUT, "the %s set has %zu members; it needs %zu to %d", what, n, lo,
                          KG_MPC_FROST_MAX_PARTICIPANTS);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "identifier 0 in the %s set; identifiers start at 1", what);
        for (size_t j = 0; j < i; j++)
            if (ids[j] == ids[i])
                return kg_err_set(KG_ERR_BAD_INPUT, "identifier %u appears twice in the %s set", ids[i], what);
    }
    return KG_OK;
}

kg_err kg_mpc_frost_reshare_deal(kg_mpc_frost_dkg_round2 *shares, kg_mpc_point *vss,
                                 const kg_mpc_frost_key_share *share,
                                 const uint16_t *dealers, size_t n_dealers,
                                 const uint16_t *new_ids, size_t n_new, unsigned new_t)
{
    kg_mpc_group_id g = share->group;
    memset(shares, 0, n_new * sizeof *shares);
    memset(vss, 0, new_t * sizeof *vss);
    if (!kg_mpc_group_valid(g))
        return kg_err_set(KG_ERR_BAD_INPUT, "the key share is not for a FROST group");
    kg_err e = ids_check(dealers, n_dealers, share->min_signers < 2 ? 2 : share->min_signers, "dealer");
    if (e == KG_OK)
        e = ids_check(new_ids, n_new, 2, "new participant");
    if (e != KG_OK)
        return e;
    if (new_t < 2 || new_t > n_new)
        return kg_err_set(KG_ERR_BAD_INPUT, "the new threshold %u must be between 2 and the %zu new participants",
                          new_t, n_new);
    kg_mpc_scalar c[KG_MPC_FROST_MAX_PARTICIPANTS], lambda, x;
    e = kg_mpc_frost_lagrange(g, &lambda, share->id, dealers, n_dealers); /* names a share not in D */
    if (e != KG_OK)
        return e;
    kg_mpc_scalar_mul(g, &c[0], &lambda, &share->secret); /* g_i(0) = lambda_i * s_i */
    for (unsigned j = 1; e == KG_OK && j < new_t; j++)
        e = kg_mpc_scalar_random(g, &c[j]);
    for (unsigned j = 0; e == KG_OK && j < new_t; j++)
        kg_mpc_point_base_mul(g, &vss[j], &c[j]);
    for (size_t k = 0; e == KG_OK && k < n_new; k++) {
        shares[k].from = share->id, shares[k].to = new_ids[k];
        kg_mpc_scalar_from_u64(g, &x, new_ids[k]);
        kg_mpc_frost_poly_eval(g, &shares[k].share, c, new_t, &x);
    }
    kg_wipe(c, sizeof c);
    if (e != KG_OK) {
        kg_wipe(shares, n_new * sizeof *shares);
        memset(vss, 0, new_t * sizeof *vss);
    }
    return e;
}

/* One dealing: addressed to `to`, a well-formed commitment, the share on it,
 * and (when the dealer's old public share is known) the right constant. */
static kg_err reshare_check(kg_mpc_group_id g, uint16_t to, unsigned new_t, const kg_mpc_point *vss,
                            const kg_mpc_frost_dkg_round2 *m, const kg_mpc_point *old_public,
                            const uint16_t *dealers, size_t k)
{
    kg_mpc_point expect, actual;
    kg_mpc_scalar canon, lambda;
    if (m->to != to)
        return kg_err_set(KG_ERR_BAD_INPUT, "reshare dealing from %u is for %u, not for participant %u",
                          m->from, m->to, to);
    for (unsigned j = 0; j < new_t; j++) {
        kg_mpc_point q;
        if (kg_mpc_point_deserialize(g, &q, vss[j].b, kg_mpc_group_point_len(g)) != KG_OK
            || memcmp(q.b, vss[j].b, sizeof q.b) != 0)
            return kg_err_set(KG_ERR_VERIFY, "dealer %u's reshare commitment is malformed", m->from);
    }
    if (kg_mpc_scalar_from_bytes(g, &canon, m->share.b, KG_MPC_SCALAR_BYTES) != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "dealer %u sent a malformed reshare share", m->from);
    kg_mpc_frost_vss_eval(g, &expect, vss, new_t, to);
    kg_mpc_point_base_mul(g, &actual, &m->share);
    if (!kg_mpc_point_eq(g, &expect, &actual))
        return kg_err_set(KG_ERR_VERIFY, "dealer %u sent participant %u a reshare share that does not match "
                          "its commitment", m->from, to);
    if (old_public != NULL) {
        kg_err e = kg_mpc_frost_lagrange(g, &lambda, m->from, dealers, k);
        if (e != KG_OK)
            return e;
        kg_mpc_point_mul(g, &expect, &lambda, old_public);
        if (!kg_mpc_point_eq(g, &expect, &vss[0]))
            return kg_err_set(KG_ERR_VERIFY, "dealer %u did not deal its own share (constant term is not "
                              "lambda * PK_%u)", m->from, m->from);
    }
    return KG_OK;
}

kg_err kg_mpc_frost_reshare_finish(kg_mpc_frost_key_share *out, kg_mpc_point *public_shares, uint16_t *culprit,
                                   kg_mpc_group_id g, const kg_mpc_point *group_public, uint16_t id,
                                   const uint16_t *new_ids, size_t n_new, unsigned new_t,
                                   const kg_mpc_point *const *vss, const kg_mpc_frost_dkg_round2 *msgs, size_t k,
                                   const kg_mpc_point *old_publics)
{
    uint16_t dealers[KG_MPC_FROST_MAX_PARTICIPANTS];
    memset(out, 0, sizeof *out);
    if (public_shares)
        memset(public_shares, 0, n_new * sizeof *public_shares);
    *culprit = 0;
    if (!kg_mpc_group_valid(g))
        return kg_err_set(KG_ERR_BAD_INPUT, "not a FROST group");
    kg_err e = ids_check(new_ids, n_new, 2, "new participant");
    if (e != KG_OK)
        return e;
    if (new_t < 2 || new_t > n_new)
        return kg_err_set(KG_ERR_BAD_INPUT, "the new threshold %u must be between 2 and the %zu new participants",
                          new_t, n_new);
    bool member = false;
    for (size_t i = 0; i < n_new; i++)
        member |= new_ids[i] == id;
    if (!member)
        return kg_err_set(KG_ERR_BAD_INPUT, "participant %u is not in the new participant set", id);
    if (k < 2 || k > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_BAD_INPUT, "a reshare needs 2 to %d dealings, got %zu",
                          KG_MPC_FROST_MAX_PARTICIPANTS, k);
    for (size_t i = 0; i < k; i++)
        dealers[i] = msgs[i].from;
    e = ids_check(dealers, k, 2, "dealer");
    if (e != KG_OK)
        return e;
    for (size_t i = 0; i < k; i++) { /* check every dealing before using any */
        e = reshare_check(g, id, new_t, vss[i], &msgs[i], old_publics ? &old_publics[i] : NULL, dealers, k);
        if (e != KG_OK) {
            *culprit = msgs[i].from;
            return e;
        }
    }
    kg_mpc_point sum, v;
    kg_mpc_point_identity(g, &sum);
    for (size_t i = 0; i < k; i++)
        kg_mpc_point_add(g, &sum, &sum, &vss[i][0]);
    if (!kg_mpc_point_eq(g, &sum, group_public))
        return kg_err_set(KG_ERR_VERIFY, "the dealers' constant terms do not add up to the group public key: "
                          "a dealer dealt a wrong value or too few old participants dealt; give the old "
                          "public shares to find out which");
    kg_mpc_scalar s;
    kg_mpc_scalar_zero(g, &s);
    for (size_t i = 0; i < k; i++)
        kg_mpc_scalar_add(g, &s, &s, &msgs[i].share);
    out->group = g, out->id = id, out->min_signers = (uint16_t)new_t, out->max_signers = (uint16_t)n_new;
    out->secret = s, out->group_public = *group_public;
    kg_mpc_point_base_mul(g, &out->public_share, &s);
    kg_wipe(&s, sizeof s);
    for (size_t j = 0; public_shares && j < n_new; j++) {
        kg_mpc_point_identity(g, &public_shares[j]);
        for (size_t i = 0; i < k; i++) {
            kg_mpc_frost_vss_eval(g, &v, vss[i], new_t, new_ids[j]);
            kg_mpc_point_add(g, &public_shares[j], &public_shares[j], &v);
        }
    }
    return KG_OK;
}
