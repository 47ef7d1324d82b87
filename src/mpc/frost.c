/* FROST signing (RFC 9591 §4-§5) and trusted-dealer key generation
 * (Appendix C) over the group interface of group.h.
 *
 * The signing path follows the RFC's functions one by one, each named in its
 * comment: nonce_generate (§4.1), derive_interpolating_value (§4.2),
 * encode_group_commitment_list (§4.3), compute_binding_factors (§4.4),
 * compute_group_commitment (§4.5), compute_challenge (§4.6), commit (§5.1),
 * sign (§5.2), aggregate (§5.3), verify_signature_share (§5.4).
 *
 * Invariants: every kg_mpc_point / kg_mpc_scalar entering through a
 * package has been checked by kg_mpc_frost_package_check (sorted unique
 * non-zero identifiers, valid points); a nonce is used once: sign checks its
 * FRESH state and wipes it on every path. Hash inputs are passed as slices,
 * so no buffer holds the message twice and nothing is allocated except the
 * per-signer binding-factor array of the coordinator and the signers. */
#include <stdlib.h>
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "mpc_int.h"

#define NONCE_FRESH 0x46524e31u /* "FRN1" */

static const struct { kg_mpc_group_id g; const char *name; } schemes[] = {
    {KG_MPC_GROUP_ED25519, "frost-ed25519"},
    {KG_MPC_GROUP_RISTRETTO255, "frost-ristretto255"},
    {KG_MPC_GROUP_P256, "frost-p256"},
    {KG_MPC_GROUP_SECP256K1, "frost-secp256k1"},
};

const char *kg_mpc_frost_scheme_name(kg_mpc_group_id g)
{
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (schemes[i].g == g)
            return schemes[i].name;
    return NULL;
}

kg_err kg_mpc_frost_scheme_parse(kg_mpc_group_id *g, const char *name)
{
    *g = 0;
    for (size_t i = 0; name && i < sizeof schemes / sizeof schemes[0]; i++)
        if (strcmp(schemes[i].name, name) == 0) {
            *g = schemes[i].g;
            return KG_OK;
        }
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown FROST scheme; use one of frost-ed25519, "
                      "frost-ristretto255, frost-p256, frost-secp256k1 (frost-secp256k1-tr for Taproot)");
}

/* -------------------------------------------------- polynomials, Lagrange */

void kg_mpc_frost_poly_eval(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *c,
                            unsigned t, const kg_mpc_scalar *x)
{
    kg_mpc_scalar acc = {{0}};
    for (unsigned j = t; j-- > 0;) { /* Horner: acc = acc*x + c_j */
        kg_mpc_scalar_mul(g, &acc, &acc, x);
        kg_mpc_scalar_add(g, &acc, &acc, &c[j]);
    }
    *out = acc;
    kg_wipe(&acc, sizeof acc);
}

void kg_mpc_frost_vss_eval(kg_mpc_group_id g, kg_mpc_point *out, const kg_mpc_point *vss,
                           unsigned t, uint16_t id)
{
    kg_mpc_scalar x;
    kg_mpc_point acc, tmp;
    kg_mpc_scalar_from_u64(g, &x, id);
    kg_mpc_point_identity(g, &acc);
    for (unsigned j = t; j-- > 0;) { /* Horner in the exponent */
        kg_mpc_point_mul(g, &tmp, &x, &acc);
        kg_mpc_point_add(g, &acc, &tmp, &vss[j]);
    }
    *out = acc;
}

kg_err kg_mpc_frost_lagrange(kg_mpc_group_id g, kg_mpc_scalar *out, uint16_t id,
                             const uint16_t *ids, size_t n)
{
    kg_mpc_scalar num, den, xi, xj, d;
    bool found = false;
    memset(out, 0, sizeof *out);
    kg_mpc_scalar_from_u64(g, &num, 1);
    kg_mpc_scalar_from_u64(g, &den, 1);
    kg_mpc_scalar_from_u64(g, &xi, id);
    for (size_t j = 0; j < n; j++) {
        if (ids[j] == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "identifier 0 is not allowed");
        if (ids[j] == id) {
            if (found)
                return kg_err_set(KG_ERR_BAD_INPUT, "identifier %u appears twice", id);
            found = true;
            continue;
        }
        kg_mpc_scalar_from_u64(g, &xj, ids[j]);
        kg_mpc_scalar_mul(g, &num, &num, &xj);
        kg_mpc_scalar_sub(g, &d, &xj, &xi);
        kg_mpc_scalar_mul(g, &den, &den, &d);
    }
    if (!found)
        return kg_err_set(KG_ERR_BAD_INPUT, "identifier %u is not among the signers", id);
    kg_err e = kg_mpc_scalar_invert(g, &den, &den); /* zero only for duplicate identifiers */
    if (e != KG_OK)
        return kg_err_set(KG_ERR_BAD_INPUT, "duplicate identifiers in the signer set");
    kg_mpc_scalar_mul(g, out, &num, &den);
    return KG_OK;
}

kg_err kg_mpc_frost_secret_combine(kg_mpc_group_id g, kg_mpc_scalar *out,
                                   const kg_mpc_frost_key_share *shares, size_t k)
{
    uint16_t ids[KG_MPC_FROST_MAX_PARTICIPANTS];
    kg_mpc_scalar acc = {{0}}, l, term;
    memset(out, 0, sizeof *out);
    if (k == 0 || k > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_BAD_INPUT, "combine needs 1..%d shares", KG_MPC_FROST_MAX_PARTICIPANTS);
    for (size_t i = 0; i < k; i++)
        ids[i] = shares[i].id;
    for (size_t i = 0; i < k; i++) {
        kg_err e = kg_mpc_frost_lagrange(g, &l, ids[i], ids, k);
        if (e != KG_OK) {
            kg_wipe(&acc, sizeof acc);
            return e;
        }
        kg_mpc_scalar_mul(g, &term, &l, &shares[i].secret);
        kg_mpc_scalar_add(g, &acc, &acc, &term);
    }
    *out = acc;
    kg_wipe(&acc, sizeof acc);
    kg_wipe(&term, sizeof term);
    return KG_OK;
}

/* ------------------------------------------------ trusted dealer (App. C) */

static kg_err dealer_coeffs(kg_mpc_group_id g, kg_mpc_scalar *c, unsigned t,
                            const kg_mpc_scalar *secret, const kg_mpc_scalar *coeffs)
{
    kg_err e = KG_OK;
    if (secret)
        c[0] = *secret;
    else
        e = kg_mpc_scalar_random(g, &c[0]);
    for (unsigned j = 1; e == KG_OK && j < t; j++) {
        if (coeffs)
            c[j] = coeffs[j - 1];
        else
            e = kg_mpc_scalar_random(g, &c[j]);
    }
    if (e == KG_OK && kg_mpc_scalar_is_zero(g, &c[0]))
        e = kg_err_set(KG_ERR_BAD_INPUT, "the group secret key must not be zero");
    return e;
}

kg_err kg_mpc_frost_dealer_keygen(kg_mpc_group_id g, kg_mpc_frost_key_share *shares, kg_mpc_point *vss,
                                  unsigned t, unsigned n, const kg_mpc_scalar *secret,
                                  const kg_mpc_scalar *coeffs)
{
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    if (t < 2 || t > n || n > KG_MPC_FROST_MAX_PARTICIPANTS)
        return kg_err_set(KG_ERR_BAD_INPUT, "need 1 < t <= n <= %d (got t=%u, n=%u)",
                          KG_MPC_FROST_MAX_PARTICIPANTS, t, n);
    kg_mpc_scalar c[KG_MPC_FROST_MAX_PARTICIPANTS], x;
    kg_err e = dealer_coeffs(g, c, t, secret, coeffs);
    if (e == KG_OK) {
        for (unsigned j = 0; j < t; j++) /* vss_commit: C_j = a_j * G */
            kg_mpc_point_base_mul(g, &vss[j], &c[j]);
        for (unsigned i = 1; i <= n; i++) { /* secret_share_shard: (i, f(i)) */
            kg_mpc_frost_key_share *s = &shares[i - 1];
            memset(s, 0, sizeof *s);
            s->group = g;
            s->id = (uint16_t)i;
            s->min_signers = (uint16_t)t;
            s->max_signers = (uint16_t)n;
            kg_mpc_scalar_from_u64(g, &x, i);
            kg_mpc_frost_poly_eval(g, &s->secret, c, t, &x);
            kg_mpc_point_base_mul(g, &s->public_share, &s->secret);
            s->group_public = vss[0];
        }
    } else {
        kg_wipe(shares, n * sizeof *shares);
        memset(vss, 0, t * sizeof *vss);
    }
    kg_wipe(c, sizeof c);
    return e;
}

kg_err kg_mpc_frost_vss_verify(const kg_mpc_frost_key_share *share, const kg_mpc_point *vss, unsigned t)
{
    kg_mpc_group_id g = share->group;
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    kg_mpc_point expect, actual;
    kg_mpc_frost_vss_eval(g, &expect, vss, t, share->id);
    kg_mpc_point_base_mul(g, &actual, &share->secret);
    if (share->id == 0 || !kg_mpc_point_eq(g, &expect, &actual)
        || !kg_mpc_point_eq(g, &actual, &share->public_share)
        || !kg_mpc_point_eq(g, &vss[0], &share->group_public))
        return kg_err_set(KG_ERR_VERIFY, "the share of participant %u does not match the VSS commitment",
                          share->id);
    return KG_OK;
}

/* ------------------------------------------------------------- signing */

kg_err kg_mpc_frost_nonce_generate(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_scalar *secret,
                                   const uint8_t *random32)
{
    uint8_t rnd[32];
    memset(out, 0, sizeof *out);
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    if (random32)
        memcpy(rnd, random32, 32);
    else if (kg_crypto_random(rnd, sizeof rnd) != KG_OK)
        return KG_ERR_CRYPTO;
    const kg_mpc_slice parts[2] = {{rnd, 32}, {secret->b, KG_MPC_SCALAR_BYTES}};
    kg_err e = kg_mpc_group_hash_scalar(g, out, KG_MPC_H3, parts, 2); /* §4.1 */
    kg_wipe(rnd, sizeof rnd);
    return e;
}

kg_err kg_mpc_frost_commit(kg_mpc_frost_nonce *nonce, const kg_mpc_frost_key_share *share,
                           const uint8_t *hiding_rand, const uint8_t *binding_rand)
{
    kg_mpc_group_id g = share->group;
    memset(nonce, 0, sizeof *nonce);
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    kg_err e = kg_mpc_frost_nonce_generate(g, &nonce->hiding, &share->secret, hiding_rand);
    if (e == KG_OK)
        e = kg_mpc_frost_nonce_generate(g, &nonce->binding, &share->secret, binding_rand);
    if (e != KG_OK) {
        kg_wipe(nonce, sizeof *nonce);
        return e;
    }
    nonce->group = g; /* §5.1 commit: (D, E) = (d*G, e*G) */
    nonce->commitment.id = share->id;
    kg_mpc_point_base_mul(g, &nonce->commitment.hiding, &nonce->hiding);
    kg_mpc_point_base_mul(g, &nonce->commitment.binding, &nonce->binding);
    nonce->state = NONCE_FRESH;
    return KG_OK;
}

static bool point_ok(kg_mpc_group_id g, const kg_mpc_point *p)
{
    kg_mpc_point q;
    return kg_mpc_point_deserialize(g, &q, p->b, kg_mpc_group_point_len(g)) == KG_OK
           && memcmp(q.b, p->b, sizeof q.b) == 0;
}

kg_err kg_mpc_frost_package_check(const kg_mpc_frost_signing_package *pkg)
{
    kg_mpc_group_id g = pkg->group;
    if (!kg_mpc_group_valid(g))
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown FROST group %d", (int)g);
    if (pkg->n_commitments == 0 || !pkg->commitments || (pkg->msg_len && !pkg->msg))
        return kg_err_set(KG_ERR_BAD_INPUT, "the signing package has no commitments");
    if (!point_ok(g, &pkg->group_public))
        return kg_err_set(KG_ERR_BAD_INPUT, "the group public key is not a valid %s element",
                          kg_mpc_group_name(g));
    for (size_t i = 0; i < pkg->n_commitments; i++) {
        const kg_mpc_frost_commitment *c = &pkg->commitments[i];
        if (c->id == 0 || (i > 0 && c->id <= pkg->commitments[i - 1].id))
            return kg_err_set(KG_ERR_BAD_INPUT, "commitments must be sorted by strictly increasing "
                              "non-zero identifier (identifier %u at position %zu)", c->id, i);
        if (!point_ok(g, &c->hiding) || !point_ok(g, &c->binding))
            return kg_err_set(KG_ERR_BAD_INPUT, "the commitment of participant %u is not valid", c->id);
    }
    return KG_OK;
}

/* §4.3 encode_group_commitment_list, hashed with H5 as it is produced. */
static kg_err commitment_list_hash(const kg_mpc_frost_signing_package *pkg, uint8_t *out, size_t *out_len)
{
    kg_mpc_group_id g = pkg->group;
    size_t pl = kg_mpc_group_point_len(g), n = pkg->n_commitments;
    uint8_t *enc = malloc(n * (KG_MPC_SCALAR_BYTES + 2 * pl));
    if (!enc)
        return kg_err_set(KG_ERR_NOMEM, "out of memory encoding %zu commitments", n);
    uint8_t *p = enc;
    for (size_t i = 0; i < n; i++) {
        kg_mpc_scalar id;
        kg_mpc_scalar_from_u64(g, &id, pkg->commitments[i].id);
        memcpy(p, id.b, KG_MPC_SCALAR_BYTES);
        memcpy(p + KG_MPC_SCALAR_BYTES, pkg->commitments[i].hiding.b, pl);
        memcpy(p + KG_MPC_SCALAR_BYTES + pl, pkg->commitments[i].binding.b, pl);
        p += KG_MPC_SCALAR_BYTES + 2 * pl;
    }
    const kg_mpc_slice part = {enc, (size_t)(p - enc)};
    kg_err e = kg_mpc_group_hash_digest(g, out, out_len, KG_MPC_H5, &part, 1);
    free(enc);
    return e;
}

kg_err kg_mpc_frost_binding_factors(kg_mpc_scalar *out, const kg_mpc_frost_signing_package *pkg)
{
    kg_mpc_group_id g = pkg->group;
    uint8_t msg_hash[KG_MPC_HASH_MAX_BYTES], com_hash[KG_MPC_HASH_MAX_BYTES];
    size_t mlen = 0, clen = 0;
    const kg_mpc_slice m = {pkg->msg, pkg->msg_len};
    kg_err e = kg_mpc_group_hash_digest(g, msg_hash, &mlen, KG_MPC_H4, &m, 1);
    if (e == KG_OK)
        e = commitment_list_hash(pkg, com_hash, &clen);
    for (size_t i = 0; e == KG_OK && i < pkg->n_commitments; i++) {
        kg_mpc_scalar id; /* rho_input = PK || H4(msg) || H5(list) || id */
        kg_mpc_scalar_from_u64(g, &id, pkg->commitments[i].id);
        const kg_mpc_slice parts[4] = {{pkg->group_public.b, kg_mpc_group_point_len(g)},
                                       {msg_hash, mlen}, {com_hash, clen}, {id.b, KG_MPC_SCALAR_BYTES}};
        e = kg_mpc_group_hash_scalar(g, &out[i], KG_MPC_H1, parts, 4);
    }
    if (e != KG_OK)
        memset(out, 0, pkg->n_commitments * sizeof *out);
    return e;
}

void kg_mpc_frost_group_commitment(kg_mpc_point *out, const kg_mpc_frost_signing_package *pkg,
                                   const kg_mpc_scalar *factors)
{
    kg_mpc_group_id g = pkg->group;
    kg_mpc_point acc, t;
    kg_mpc_point_identity(g, &acc);
    for (size_t i = 0; i < pkg->n_commitments; i++) { /* §4.5: R = sum D_i + rho_i*E_i */
        kg_mpc_point_mul(g, &t, &factors[i], &pkg->commitments[i].binding);
        kg_mpc_point_add(g, &t, &t, &pkg->commitments[i].hiding);
        kg_mpc_point_add(g, &acc, &acc, &t);
    }
    *out = acc;
}

kg_err kg_mpc_frost_challenge(kg_mpc_group_id g, kg_mpc_scalar *out, const kg_mpc_point *R,
                              const kg_mpc_point *pk, const uint8_t *msg, size_t msg_len)
{
    size_t pl = kg_mpc_group_point_len(g); /* §4.6: H2(R || PK || msg) */
    const kg_mpc_slice parts[3] = {{R->b, pl}, {pk->b, pl}, {msg, msg_len}};
    return kg_mpc_group_hash_scalar(g, out, KG_MPC_H2, parts, 3);
}

/* Everything sign, verify_share and aggregate share: binding factors, R, c.
 * factors has pkg->n_commitments entries (caller frees). */
typedef struct {
    kg_mpc_scalar *factors;
    kg_mpc_point R;
    kg_mpc_scalar c;
} sign_ctx;

static kg_err sign_ctx_init(sign_ctx *sc, const kg_mpc_frost_signing_package *pkg)
{
    memset(sc, 0, sizeof *sc);
    kg_err e = kg_mpc_frost_package_check(pkg);
    if (e != KG_OK)
        return e;
    sc->factors = calloc(pkg->n_commitments, sizeof *sc->factors);
    if (!sc->factors)
        return kg_err_set(KG_ERR_NOMEM, "out of memory for %zu binding factors", pkg->n_commitments);
    e = kg_mpc_frost_binding_factors(sc->factors, pkg);
    if (e == KG_OK) {
        kg_mpc_frost_group_commitment(&sc->R, pkg, sc->factors);
        e = kg_mpc_frost_challenge(pkg->group, &sc->c, &sc->R, &pkg->group_public, pkg->msg, pkg->msg_len);
    }
    if (e != KG_OK) {
        free(sc->factors);
        sc->factors = NULL;
    }
    return e;
}

/* Index of id in the package, or -1. */
static long pkg_find(const kg_mpc_frost_signing_package *pkg, uint16_t id)
{
    for (size_t i = 0; i < pkg->n_commitments; i++)
        if (pkg->commitments[i].id == id)
            return (long)i;
    return -1;
}

/* lambda_i of the signer at position idx of the package. */
static kg_err pkg_lagrange(kg_mpc_scalar *out, const kg_mpc_frost_signing_package *pkg, size_t idx)
{
    uint16_t *ids = malloc(pkg->n_commitments * sizeof *ids);
    if (!ids)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < pkg->n_commitments; i++)
        ids[i] = pkg->commitments[i].id;
    kg_err e = kg_mpc_frost_lagrange(pkg->group, out, ids[idx], ids, pkg->n_commitments);
    free(ids);
    return e;
}

static kg_err sign_checks(const kg_mpc_frost_nonce *nonce, const kg_mpc_frost_key_share *share,
                          const kg_mpc_frost_signing_package *pkg, long *idx)
{
    if (nonce->state != NONCE_FRESH)
        return kg_err_set(KG_ERR_CONFLICT, "this FROST nonce was already used or never made; "
                          "run round one (commit) again");
    if (share->group != pkg->group || nonce->group != pkg->group)
        return kg_err_set(KG_ERR_BAD_INPUT, "the key share, nonce and package are for different groups");
    if (!kg_mpc_point_eq(pkg->group, &share->group_public, &pkg->group_public))
        return kg_err_set(KG_ERR_BAD_INPUT, "the signing package is for another group public key");
    if (pkg->n_commitments < share->min_signers)
        return kg_err_set(KG_ERR_BAD_INPUT, "%zu signers are fewer than the threshold %u",
                          pkg->n_commitments, share->min_signers);
    *idx = pkg_find(pkg, share->id);
    if (*idx < 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "participant %u is not in the signing package", share->id);
    const kg_mpc_frost_commitment *c = &pkg->commitments[*idx];
    if (!kg_mpc_point_eq(pkg->group, &c->hiding, &nonce->commitment.hiding)
        || !kg_mpc_point_eq(pkg->group, &c->binding, &nonce->commitment.binding))
        return kg_err_set(KG_ERR_BAD_INPUT, "the package's commitment for participant %u is not "
                          "the one this nonce made", share->id);
    return KG_OK;
}

kg_err kg_mpc_frost_sign(kg_mpc_frost_sig_share *out, kg_mpc_frost_nonce *nonce,
                         const kg_mpc_frost_key_share *share, const kg_mpc_frost_signing_package *pkg)
{
    kg_mpc_group_id g = pkg->group;
    sign_ctx sc = {0};
    kg_mpc_scalar lambda, t;
    long idx = -1;
    memset(out, 0, sizeof *out);
    kg_err e = sign_checks(nonce, share, pkg, &idx);
    if (e == KG_OK)
        e = sign_ctx_init(&sc, pkg);
    if (e == KG_OK)
        e = pkg_lagrange(&lambda, pkg, (size_t)idx);
    if (e == KG_OK) { /* §5.2: z = d + e*rho + lambda*sk*c */
        kg_mpc_scalar_mul(g, &t, &lambda, &share->secret);
        kg_mpc_scalar_mul(g, &t, &t, &sc.c);
        kg_mpc_scalar_add(g, &out->z, &nonce->hiding, &t);
        kg_mpc_scalar_mul(g, &t, &nonce->binding, &sc.factors[idx]);
        kg_mpc_scalar_add(g, &out->z, &out->z, &t);
        out->id = share->id;
    }
    kg_wipe(nonce, sizeof *nonce); /* never again, whatever happened */
    kg_wipe(&t, sizeof t);
    free(sc.factors);
    return e;
}

/* §5.4 with a ready context: z_i*G == D_i + rho_i*E_i + (c*lambda_i)*PK_i. */
static kg_err share_check(const kg_mpc_frost_signing_package *pkg, const sign_ctx *sc, size_t idx,
                          const kg_mpc_scalar *z, const kg_mpc_point *pk_i)
{
    kg_mpc_group_id g = pkg->group;
    kg_mpc_scalar lambda, cl;
    kg_mpc_point lhs, rhs, t;
    kg_err e = pkg_lagrange(&lambda, pkg, idx);
    if (e != KG_OK)
        return e;
    const kg_mpc_frost_commitment *c = &pkg->commitments[idx];
    kg_mpc_point_mul(g, &rhs, &sc->factors[idx], &c->binding);
    kg_mpc_point_add(g, &rhs, &rhs, &c->hiding);
    kg_mpc_scalar_mul(g, &cl, &sc->c, &lambda);
    kg_mpc_point_mul(g, &t, &cl, pk_i);
    kg_mpc_point_add(g, &rhs, &rhs, &t);
    kg_mpc_point_base_mul(g, &lhs, z);
    if (!kg_mpc_point_eq(g, &lhs, &rhs))
        return kg_err_set(KG_ERR_VERIFY, "the signature share of participant %u is invalid", c->id);
    return KG_OK;
}

kg_err kg_mpc_frost_verify_share(const kg_mpc_frost_signing_package *pkg, const kg_mpc_frost_sig_share *share,
                                 const kg_mpc_point *public_share)
{
    sign_ctx sc;
    kg_err e = sign_ctx_init(&sc, pkg);
    if (e != KG_OK)
        return e;
    long idx = pkg_find(pkg, share->id);
    if (idx < 0)
        e = kg_err_set(KG_ERR_BAD_INPUT, "participant %u is not in the signing package", share->id);
    else if (!point_ok(pkg->group, public_share))
        e = kg_err_set(KG_ERR_BAD_INPUT, "the public share of participant %u is not valid", share->id);
    else
        e = share_check(pkg, &sc, (size_t)idx, &share->z, public_share);
    free(sc.factors);
    return e;
}

static kg_err encode_sig(kg_mpc_group_id g, uint8_t *sig, size_t *sig_len, const kg_mpc_point *R,
                         const kg_mpc_scalar *z)
{
    size_t pl = kg_mpc_group_point_len(g);
    uint8_t rb[KG_MPC_POINT_MAX_BYTES];
    kg_err e = kg_mpc_point_serialize(g, rb, R);
    if (e != KG_OK)
        return kg_err_set(KG_ERR_VERIFY, "the group commitment is the identity; sign again with new nonces");
    memcpy(sig, rb, pl);
    memcpy(sig + pl, z->b, KG_MPC_SCALAR_BYTES);
    *sig_len = pl + KG_MPC_SCALAR_BYTES;
    return KG_OK;
}

kg_err kg_mpc_frost_aggregate(uint8_t sig[static KG_MPC_FROST_SIG_MAX_BYTES], size_t *sig_len,
                              uint16_t *culprits, size_t *n_culprits,
                              const kg_mpc_frost_signing_package *pkg,
                              const kg_mpc_frost_sig_share *shares, const kg_mpc_point *public_shares)
{
    sign_ctx sc;
    size_t bad = 0;
    uint16_t first = 0;
    memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
    *sig_len = 0;
    if (n_culprits)
        *n_culprits = 0;
    kg_err e = sign_ctx_init(&sc, pkg);
    if (e != KG_OK)
        return e;
    kg_mpc_scalar z = {{0}};
    for (size_t i = 0; e == KG_OK && i < pkg->n_commitments; i++) {
        if (shares[i].id != pkg->commitments[i].id || !point_ok(pkg->group, &public_shares[i])) {
            e = kg_err_set(KG_ERR_BAD_INPUT, "share %zu is not for participant %u or its public share "
                           "is invalid", i, pkg->commitments[i].id);
            break;
        }
        kg_err se = share_check(pkg, &sc, i, &shares[i].z, &public_shares[i]);
        if (se == KG_ERR_VERIFY) { /* name every cheater, not just the first */
            if (bad == 0)
                first = shares[i].id;
            if (culprits && n_culprits)
                culprits[bad] = shares[i].id;
            bad++;
        } else if (se != KG_OK)
            e = se;
        kg_mpc_scalar_add(pkg->group, &z, &z, &shares[i].z);
    }
    if (e == KG_OK && bad) {
        if (n_culprits)
            *n_culprits = bad;
        e = kg_err_set(KG_ERR_VERIFY, "%zu invalid signature share(s); participant %u sent an invalid "
                       "share: exclude it and sign again", bad, first);
    }
    if (e == KG_OK)
        e = encode_sig(pkg->group, sig, sig_len, &sc.R, &z);
    if (e == KG_OK)
        e = kg_mpc_frost_verify(pkg->group, sig, *sig_len, &pkg->group_public, pkg->msg, pkg->msg_len);
    if (e != KG_OK) {
        memset(sig, 0, KG_MPC_FROST_SIG_MAX_BYTES);
        *sig_len = 0;
    }
    free(sc.factors);
    return e;
}

kg_err kg_mpc_frost_verify(kg_mpc_group_id g, const uint8_t *sig, size_t sig_len,
                           const kg_mpc_point *pk, const uint8_t *msg, size_t msg_len)
{
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    size_t pl = kg_mpc_group_point_len(g);
    kg_mpc_point R, lhs, rhs;
    kg_mpc_scalar z, c;
    if (!sig || sig_len != pl + KG_MPC_SCALAR_BYTES || (msg_len && !msg))
        return kg_err_set(KG_ERR_VERIFY, "a %s signature is %zu bytes", kg_mpc_frost_scheme_name(g),
                          pl + KG_MPC_SCALAR_BYTES);
    if (kg_mpc_point_deserialize(g, &R, sig, pl) != KG_OK
        || kg_mpc_scalar_from_bytes(g, &z, sig + pl, KG_MPC_SCALAR_BYTES) != KG_OK
        || !point_ok(g, pk))
        return kg_err_set(KG_ERR_VERIFY, "the signature or public key is malformed");
    kg_err e = kg_mpc_frost_challenge(g, &c, &R, pk, msg, msg_len);
    if (e != KG_OK)
        return e;
    kg_mpc_point_base_mul(g, &lhs, &z); /* z*G == R + c*PK */
    kg_mpc_point_mul(g, &rhs, &c, pk);
    kg_mpc_point_add(g, &rhs, &rhs, &R);
    if (!kg_mpc_point_eq(g, &lhs, &rhs))
        return kg_err_set(KG_ERR_VERIFY, "the %s signature does not verify", kg_mpc_frost_scheme_name(g));
    return KG_OK;
}

/* ------------------------------------------------------------ wire formats */

kg_err kg_mpc_frost_commitment_serialize(kg_mpc_group_id g, uint8_t *out, size_t *out_len,
                                         const kg_mpc_frost_commitment *c)
{
    size_t pl = kg_mpc_group_point_len(g);
    *out_len = 0;
    KG_ARG_CHECK(pl != 0);
    if (c->id == 0 || !point_ok(g, &c->hiding) || !point_ok(g, &c->binding))
        return kg_err_set(KG_ERR_BAD_INPUT, "the commitment is not valid");
    out[0] = (uint8_t)(c->id >> 8);
    out[1] = (uint8_t)c->id;
    memcpy(out + 2, c->hiding.b, pl);
    memcpy(out + 2 + pl, c->binding.b, pl);
    *out_len = 2 + 2 * pl;
    return KG_OK;
}

kg_err kg_mpc_frost_commitment_parse(kg_mpc_group_id g, kg_mpc_frost_commitment *out,
                                     const uint8_t *in, size_t in_len)
{
    size_t pl = kg_mpc_group_point_len(g);
    memset(out, 0, sizeof *out);
    KG_ARG_CHECK(pl != 0);
    if (!in || in_len != 2 + 2 * pl)
        return kg_err_set(KG_ERR_BAD_INPUT, "a %s commitment is %zu bytes, got %zu",
                          kg_mpc_frost_scheme_name(g), 2 + 2 * pl, in_len);
    uint16_t id = (uint16_t)(in[0] << 8 | in[1]);
    kg_err e = id ? KG_OK : kg_err_set(KG_ERR_BAD_INPUT, "identifier 0 is not allowed");
    if (e == KG_OK)
        e = kg_mpc_point_deserialize(g, &out->hiding, in + 2, pl);
    if (e == KG_OK)
        e = kg_mpc_point_deserialize(g, &out->binding, in + 2 + pl, pl);
    if (e != KG_OK) {
        memset(out, 0, sizeof *out);
        return e;
    }
    out->id = id;
    return KG_OK;
}

void kg_mpc_frost_sig_share_serialize(uint8_t out[static KG_MPC_FROST_SIG_SHARE_BYTES],
                                      const kg_mpc_frost_sig_share *s)
{
    out[0] = (uint8_t)(s->id >> 8);
    out[1] = (uint8_t)s->id;
    memcpy(out + 2, s->z.b, KG_MPC_SCALAR_BYTES);
}

kg_err kg_mpc_frost_sig_share_parse(kg_mpc_group_id g, kg_mpc_frost_sig_share *out,
                                    const uint8_t *in, size_t in_len)
{
    memset(out, 0, sizeof *out);
    KG_ARG_CHECK(kg_mpc_group_valid(g));
    if (!in || in_len != KG_MPC_FROST_SIG_SHARE_BYTES)
        return kg_err_set(KG_ERR_BAD_INPUT, "a signature share is %d bytes, got %zu",
                          KG_MPC_FROST_SIG_SHARE_BYTES, in_len);
    uint16_t id = (uint16_t)(in[0] << 8 | in[1]);
    if (id == 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "identifier 0 is not allowed");
    kg_err e = kg_mpc_scalar_from_bytes(g, &out->z, in + 2, KG_MPC_SCALAR_BYTES);
    if (e != KG_OK)
        return e;
    out->id = id;
    return KG_OK;
}
