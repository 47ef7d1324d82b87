/* Trusted dealers for CGGMP21 key shares and auxiliary info.
 *
 * FOR TESTS, BENCHMARKS AND KEY IMPORT ONLY. The paper's key generation
 * (Fig. 5) and auxiliary-info phase (Fig. 6) are distributed so that no
 * one ever holds the key or anyone else's Paillier primes; a dealer does,
 * by construction. It exists because the presigning and signing phases can
 * be tested and benchmarked without running the (slow) keygen/aux phases,
 * and because importing an existing key starts from one holder anyway. */
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "cggmp_int.h"

/* One share: x = f(id), the public shares and key filled by the caller. */
static void deal_one(kg_mpc_group_id g, kg_mpc_cggmp_share *s, const kg_mpc_scalar *coef, unsigned t,
                     uint16_t id)
{
    kg_mpc_scalar x;
    kg_mpc_scalar_from_u64(g, &x, id);
    kg_mpc_frost_poly_eval(g, &s->x, coef, t, &x);
}

kg_err kg_mpc_cggmp_dealer(kg_mpc_group_id g, unsigned t, unsigned n, const kg_mpc_scalar *secret,
                           kg_mpc_cggmp_share *shares)
{
    if (!kg_mpc_cggmp_scheme_name(g) || t < 2 || n < t || n > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "cggmp dealer: need a CGGMP21 group and 1 < t <= n <= %d",
                          KG_CGGMP_MAX_PARTIES);
    memset(shares, 0, n * sizeof *shares);
    kg_mpc_scalar coef[KG_CGGMP_MAX_PARTIES];
    uint8_t cc[KG_CGGMP_CHAIN_CODE_BYTES];
    kg_err err = kg_crypto_random(cc, sizeof cc);
    for (unsigned i = 0; !err && i < t; i++) {
        if (i == 0 && secret) coef[0] = *secret;
        else err = kg_mpc_scalar_random(g, &coef[i]);
    }
    if (err) goto out;
    kg_mpc_cggmp_share tmpl;
    memset(&tmpl, 0, sizeof tmpl);
    tmpl.group = g;
    tmpl.t = (uint16_t)t;
    tmpl.n = (uint16_t)n;
    kg_mpc_point_base_mul(g, &tmpl.pub, &coef[0]);
    memcpy(tmpl.chain_code, cc, sizeof cc);
    for (unsigned i = 0; i < n; i++) {
        tmpl.ids[i] = (uint16_t)(i + 1);
        deal_one(g, &shares[i], coef, t, tmpl.ids[i]);
        kg_mpc_point_base_mul(g, &tmpl.X[i], &shares[i].x);
    }
    for (unsigned i = 0; i < n; i++) {
        kg_mpc_scalar x = shares[i].x;
        shares[i] = tmpl;
        shares[i].id = tmpl.ids[i];
        shares[i].x = x;
        kg_wipe(&x, sizeof x);
    }
out:
    kg_wipe(coef, sizeof coef);
    kg_wipe(cc, sizeof cc);
    if (err) kg_wipe(shares, n * sizeof *shares);
    return err;
}

/* Fill everyone's public Paillier key and ring-Pedersen parameters into a
 * from the owners' secret keys. */
static kg_err aux_publics(kg_mpc_cggmp_aux *a, kg_mpc_cggmp_aux *const *owners, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        const kg_mpc_cggmp_aux *o = owners[j];
        kg_err err = kg_mpc_paillier_pk_set(&a->pk[j], o->sk.pk.n);
        if (!err) err = kg_mpc_rped_set(&a->rp[j], o->rsk.pub.mod.n, o->rsk.pub.s, o->rsk.pub.t);
        if (err) return err;
    }
    int me = kg_mpc_cggmp_index(a->ids, n, a->id);
    kg_err err = me < 0 ? kg_err_set(KG_ERR_INTERNAL, "cggmp aux dealer: own id missing")
                        : kg_mpc_cggmp_aux_own_crt(a, (size_t)me); /* own entries by CRT (cggmp_crt.c) */
    return err ? err : kg_mpc_cggmp_aux_digest(a);
}

kg_err kg_mpc_cggmp_aux_dealer(kg_mpc_cggmp_aux **auxes, const uint16_t *ids, size_t n,
                               struct bignum_st *const *primes)
{
    memset(auxes, 0, n * sizeof *auxes);
    if (n < 2 || n > KG_CGGMP_MAX_PARTIES) return kg_err_set(KG_ERR_BAD_INPUT, "cggmp aux dealer: bad party count");
    for (size_t i = 0; i < n; i++)
        if (ids[i] == 0 || (i && ids[i] <= ids[i - 1]))
            return kg_err_set(KG_ERR_BAD_INPUT, "cggmp aux dealer: ids must be increasing and non-zero");
    kg_err err = KG_OK;
    for (size_t i = 0; !err && i < n; i++) {
        kg_mpc_cggmp_aux *a = auxes[i] = kg_mpc_cggmp_aux_new();
        if (!a) { err = kg_err_set(KG_ERR_NOMEM, "cggmp aux dealer"); break; }
        a->id = ids[i];
        a->n = (uint16_t)n;
        memcpy(a->ids, ids, n * sizeof *ids);
        err = kg_mpc_paillier_sk_from_primes(&a->sk, primes[2 * i], primes[2 * i + 1]);
        if (!err) err = kg_mpc_rped_generate(&a->rsk, primes[2 * i], primes[2 * i + 1]);
    }
    for (size_t i = 0; !err && i < n; i++) err = aux_publics(auxes[i], auxes, n);
    if (err) {
        for (size_t i = 0; i < n; i++) kg_mpc_cggmp_aux_free(auxes[i]);
        memset(auxes, 0, n * sizeof *auxes);
    }
    return err;
}
