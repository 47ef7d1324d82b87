/* Precomputation for CGGMP21 presigning (eprint 2021/060, Fig. 7).
 *
 * Much of a party's presigning work depends on neither the other signers'
 * messages nor the session: the nonces k, γ and their encryptions under
 * the own key (round 1), the MtA masks β, β̂ with enc_j(β; s) under the
 * peer's key and F = enc_me(β; r) (round 2), and the first messages of
 * this party's Πenc (round 1), Πaff-g (round 2, all but C^α) and Πlog*
 * (rounds 2 and 3, all but α·B): their masks, the Paillier randomisers
 * r^N on the peers' moduli and the ring-Pedersen commitments on the
 * peers' parameters, which CRT cannot speed up. Computing them in idle
 * time leaves the rounds with the responses, the parts that need K_j, and
 * the verification of the peers' proofs. The math is the same: the plain
 * provers are _precommit then _prove_pre (cggmp_zk.h).
 *
 * A prep is bound (bind) to the key's public data and epoch, the aux
 * digest, the party and the signing set; it is secret, in memory only,
 * and single use: kg_mpc_cggmp_presign_new_prep moves its values into the
 * presign state and marks it used, every _pre is wiped by the proof that
 * answers it. */
#include <stdlib.h>
#include <string.h>

#include "kashguard/mpc/frost.h"
#include "cggmp_int.h"

#define MAXP KG_CGGMP_MAX_PARTIES

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The sorted set, its checks (as kg_mpc_cggmp_presign_new), positions in
 * aux->ids, my position and the binding digest. */
static kg_err prep_set(uint16_t *sorted, int *apos, size_t *mp, uint8_t bind[64], const kg_mpc_cggmp_share *sh,
                       const kg_mpc_cggmp_aux *aux, const uint16_t *signers, size_t ns)
{
    if (!kg_mpc_cggmp_scheme_name(sh->group) || aux->id != sh->id)
        return kg_err_set(KG_ERR_BAD_INPUT, "presign prep: share and aux info do not match");
    if (ns < sh->t || ns > sh->n || ns > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "presign prep: %zu signers for a %u-of-%u key", ns, sh->t, sh->n);
    memcpy(sorted, signers, ns * sizeof *signers);
    qsort(sorted, ns, sizeof *sorted, cmp_u16);
    *mp = ns;
    for (size_t j = 0; j < ns; j++) {
        apos[j] = kg_mpc_cggmp_index(aux->ids, aux->n, sorted[j]);
        if (kg_mpc_cggmp_index(sh->ids, sh->n, sorted[j]) < 0 || apos[j] < 0 || (j && sorted[j] == sorted[j - 1]))
            return kg_err_set(KG_ERR_BAD_INPUT, "presign prep: signer %u unknown or repeated", sorted[j]);
        if (sorted[j] == sh->id) *mp = j;
    }
    if (*mp == ns) return kg_err_set(KG_ERR_BAD_INPUT, "presign prep: party %u is not in the signing set", sh->id);
    return kg_mpc_cggmp_sid(bind, "presign-prep", sh->group, NULL, 0, sh, aux, sorted, ns);
}

/* x <- F_q as a secret BIGNUM, c = enc_own(x; nonce) (round 1's K, G). */
static kg_err prep_nonce(const kg_mpc_cggmp_aux *aux, kg_mpc_group_id g, kg_mpc_scalar *x, BIGNUM **xb, BIGNUM **c,
                         BIGNUM **nonce)
{
    kg_err err = kg_mpc_scalar_random(g, x);
    if (err) return err;
    if (!(*xb = kg_mpc_scalar_to_bn(g, x)) || !(*nonce = kg_mpc_bn_secret_new()) || !(*c = BN_new()))
        return kg_err_set(KG_ERR_NOMEM, "presign prep");
    err = kg_mpc_bn_rand_unit(*nonce, aux->sk.pk.n);
    if (!err) err = kg_mpc_paillier_enc_sk(&aux->sk, *c, *xb, *nonce);
    return err;
}

/* One MtA toward peer pj (key pk, parameters rp) for the witness x. */
static kg_err prep_mta(kg_mpc_cggmp_prep_mta *m, kg_mpc_group_id g, const kg_mpc_cggmp_aux *aux,
                       const kg_mpc_paillier_pk *pk, const kg_mpc_rped *rp, const BIGNUM *x)
{
    if (!(m->beta = kg_mpc_bn_secret_new()) || !(m->s = kg_mpc_bn_secret_new()) ||
        !(m->r = kg_mpc_bn_secret_new()) || !(m->Dp = BN_new()) || !(m->F = BN_new()))
        return kg_err_set(KG_ERR_NOMEM, "presign prep");
    kg_err err = kg_mpc_bn_rand_pm(m->beta, KG_CGGMP_ELL_PRIME, NULL);
    if (!err) err = kg_mpc_bn_rand_unit(m->s, pk->n);
    if (!err) err = kg_mpc_bn_rand_unit(m->r, aux->sk.pk.n);
    if (!err) err = kg_mpc_paillier_enc_with(pk, m->Dp, m->beta, m->s);
    if (!err) err = kg_mpc_paillier_enc_sk(&aux->sk, m->F, m->beta, m->r);
    if (!err) err = kg_mpc_zk_affg_precommit(&m->pf, g, rp, pk, &aux->sk.pk, x, m->beta);
    return err;
}

static void prep_mta_clear(kg_mpc_cggmp_prep_mta *m)
{
    kg_mpc_bn_free(m->beta); kg_mpc_bn_free(m->s); kg_mpc_bn_free(m->r);
    kg_mpc_bn_free(m->Dp); kg_mpc_bn_free(m->F);
    kg_mpc_zk_affg_pre_clear(&m->pf);
    memset(m, 0, sizeof *m);
}

/* Everything toward the peer at position j; wb = w = λ·x as a BIGNUM. */
static kg_err prep_peer(kg_mpc_cggmp_presign_prep *p, const kg_mpc_cggmp_aux *aux, int apos, size_t j,
                        const BIGNUM *wb)
{
    const kg_mpc_paillier_pk *pk = &aux->pk[apos], *own = &aux->sk.pk;
    const kg_mpc_rped *rp = &aux->rp[apos];
    kg_err err = kg_mpc_zk_enc_precommit(&p->enc[j], rp, own, p->kb);
    if (!err) err = prep_mta(&p->mta[j][0], p->g, aux, pk, rp, p->gb);
    if (!err) err = prep_mta(&p->mta[j][1], p->g, aux, pk, rp, wb);
    if (!err) err = kg_mpc_zk_logstar_precommit(&p->lg[j], rp, own, p->gb);
    if (!err) err = kg_mpc_zk_logstar_precommit(&p->lk[j], rp, own, p->kb);
    return err;
}

/* w = λ_me·x for the signing set (as kg_mpc_cggmp_presign_new). */
static BIGNUM *prep_w(const kg_mpc_cggmp_share *sh, const uint16_t *sorted, size_t ns)
{
    kg_mpc_scalar lam, w;
    if (kg_mpc_frost_lagrange(sh->group, &lam, sh->id, sorted, ns) != KG_OK) return NULL;
    kg_mpc_scalar_mul(sh->group, &w, &lam, &sh->x);
    BIGNUM *wb = kg_mpc_scalar_to_bn(sh->group, &w);
    kg_wipe(&w, sizeof w);
    return wb;
}

kg_err kg_mpc_cggmp_presign_prep_new(kg_mpc_cggmp_presign_prep **out, const kg_mpc_cggmp_share *share,
                                     const kg_mpc_cggmp_aux *aux, const uint16_t *signers, size_t n_signers)
{
    *out = NULL;
    int apos[MAXP];
    kg_mpc_cggmp_presign_prep *p = calloc(1, sizeof *p);
    if (!p) return kg_err_set(KG_ERR_NOMEM, "presign prep");
    kg_err err = kg_mpc_cggmp_share_check(share);
    if (!err) err = prep_set(p->signers, apos, &p->mp, p->bind, share, aux, signers, n_signers);
    if (err) { free(p); return err; }
    p->g = share->group, p->me = share->id, p->ns = n_signers;
    BIGNUM *wb = prep_w(share, p->signers, p->ns);
    if (!wb) err = kg_err_set(KG_ERR_NOMEM, "presign prep");
    if (!err) err = prep_nonce(aux, p->g, &p->k, &p->kb, &p->K, &p->rho);
    if (!err) err = prep_nonce(aux, p->g, &p->gamma, &p->gb, &p->G, &p->nu);
    for (size_t j = 0; !err && j < p->ns; j++)
        if (j != p->mp) err = prep_peer(p, aux, apos[j], j, wb);
    kg_mpc_bn_free(wb);
    if (err) { kg_mpc_cggmp_presign_prep_free(p); return err; }
    *out = p;
    return KG_OK;
}

kg_err kg_mpc_cggmp_presign_prep_check(const kg_mpc_cggmp_presign_prep *prep, const kg_mpc_cggmp_share *share,
                                       const kg_mpc_cggmp_aux *aux, const uint16_t *signers, size_t n_signers)
{
    if (prep->used) return kg_err_set(KG_ERR_BAD_INPUT, "presign prep: already used (single use)");
    uint16_t sorted[MAXP];
    int apos[MAXP];
    size_t mp = 0;
    uint8_t bind[64];
    kg_err err = prep_set(sorted, apos, &mp, bind, share, aux, signers, n_signers);
    if (err) return err;
    if (prep->me != share->id || prep->g != share->group || prep->ns != n_signers ||
        memcmp(prep->bind, bind, sizeof bind))
        return kg_err_set(KG_ERR_BAD_INPUT, "presign prep: made for another key, epoch, aux info, party or signing set");
    return KG_OK;
}

bool kg_mpc_cggmp_presign_prep_usable(const kg_mpc_cggmp_presign_prep *prep, const uint16_t *signers, size_t n)
{
    if (prep->used || n != prep->ns || n > MAXP) return false;
    uint16_t sorted[MAXP];
    memcpy(sorted, signers, n * sizeof *signers);
    qsort(sorted, n, sizeof *sorted, cmp_u16);
    return memcmp(sorted, prep->signers, n * sizeof *sorted) == 0;
}

kg_mpc_cggmp_presign_prep *kg_mpc_cggmp_presign_prep_take(kg_mpc_cggmp_presign_prep *prep)
{
    kg_mpc_cggmp_presign_prep *p = malloc(sizeof *p);
    if (!p) return NULL;
    memcpy(p, prep, sizeof *p);
    /* the values now belong to p: prep keeps no pointer and no secret */
    kg_wipe(prep, sizeof *prep);
    prep->used = true;
    return p;
}

void kg_mpc_cggmp_presign_prep_free(kg_mpc_cggmp_presign_prep *p)
{
    if (!p) return;
    kg_mpc_bn_free(p->kb); kg_mpc_bn_free(p->gb); kg_mpc_bn_free(p->rho); kg_mpc_bn_free(p->nu);
    kg_mpc_bn_free(p->K); kg_mpc_bn_free(p->G);
    for (size_t j = 0; j < MAXP; j++) {
        kg_mpc_zk_enc_pre_clear(&p->enc[j]);
        prep_mta_clear(&p->mta[j][0]);
        prep_mta_clear(&p->mta[j][1]);
        kg_mpc_zk_logstar_pre_clear(&p->lg[j]);
        kg_mpc_zk_logstar_pre_clear(&p->lk[j]);
    }
    kg_wipe(p, sizeof *p);
    free(p);
}
