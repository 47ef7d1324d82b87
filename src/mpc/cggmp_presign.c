/* CGGMP21 three-round presigning (eprint 2021/060, Fig. 7 "Presigning"),
 * one function per round and party, no I/O.
 *
 *  R1  k, γ <- F_q; K = enc(k; ρ), G = enc(γ; ν) broadcast; Πenc for K to
 *      each j under j's ring-Pedersen parameters.
 *  R2  check Πenc; Γ = γ·G; for each j the MtA ciphertexts D, F (γ) and
 *      D̂, F̂ (w = λ·x) with Πaff-g, and Πlog* for (G, Γ). The ciphertexts
 *      go in the broadcast (they hide their plaintexts and the paper's
 *      identification needs every party to hold them); the proofs, bound
 *      to the verifier's parameters, go point to point.
 *  R3  check; δ_i, χ_i; broadcast (δ_i, Δ_i = k·Γ) with Πlog* p2p.
 *  Finish: check Πlog*, δ·G = ΣΔ_j, R = δ^-1·Γ (= k^-1·G).
 * Every round parses and verifies all its input into temporaries before
 * touching the state, so a refused input can be fixed and retried. The
 * matrices' layout and the α/β convention are in cggmp_int.h.
 * The proofs to different peers, and the checks of different peers'
 * proofs, are independent: each round runs them as tasks on a few threads
 * (kg_mpc_cggmp_par, cggmp_par.c), writes the messages afterwards in peer
 * order and names the culprit the sequential loop would.
 * With a precomputation (kg_mpc_cggmp_presign_new_prep, cggmp_presign_prep.c)
 * the rounds take k, γ, K, G, the MtA values and the proofs' first
 * messages from it (each moved out once) and compute only what needs the
 * peers' messages: the same values, made earlier. */
#include <stdlib.h>
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "cggmp_int.h"
#include "node_evil.h" /* test-only hooks: nothing unless KG_MPC_EVIL */

#define MAXP KG_CGGMP_MAX_PARTIES
#define BNMAX KG_CGGMP_BN_MAX_BYTES

struct kg_mpc_cggmp_presign {
    kg_mpc_group_id g;
    uint16_t me;
    size_t ns, mp; /* signing-set size, own position */
    int round;     /* rounds done; -1 after a failed δ check */
    uint16_t signers[MAXP];
    int apos[MAXP]; /* a signer's index in aux->ids */
    const kg_mpc_cggmp_aux *aux;
    uint8_t sid[64];
    kg_mpc_point pub, W[MAXP], Gamma[MAXP], Delta[MAXP], Gsum;
    kg_mpc_scalar w, k, gamma, chi, delta[MAXP];
    BIGNUM *kb, *gb, *wb, *rho, *nu; /* secret */
    BIGNUM *K[MAXP], *G[MAXP];
    BIGNUM **D, **F, **Dh, **Fh; /* ns*ns */
    BIGNUM *beta[MAXP], *s[MAXP], *r[MAXP], *bh[MAXP], *sh[MAXP], *rh[MAXP]; /* secret, by receiver */
    kg_mpc_cggmp_presign_prep *pp; /* NULL, or the precomputation the rounds consume */
};

static kg_mpc_zk_ctx zctx(const kg_mpc_cggmp_presign *st, uint16_t prover)
{
    return (kg_mpc_zk_ctx){.group = st->g, .sid = st->sid, .sid_len = sizeof st->sid, .prover = prover};
}
static const kg_mpc_paillier_pk *pk_of(const kg_mpc_cggmp_presign *st, size_t j)
{
    return &st->aux->pk[st->apos[j]];
}
static const kg_mpc_rped *rp_of(const kg_mpc_cggmp_presign *st, size_t j)
{
    return &st->aux->rp[st->apos[j]];
}
static void bns_free(BIGNUM **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) { kg_mpc_bn_free(v[i]); v[i] = NULL; }
}
static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* ------------------------------------------------------------------ new */

/* Signing set: sorted, distinct, members of the key, me among them; the
 * additive share w = λ·x and every W_j = λ_j·X_j. */
static kg_err setup_set(kg_mpc_cggmp_presign *st, const kg_mpc_cggmp_share *sh, const uint16_t *signers, size_t ns)
{
    if (ns < sh->t || ns > sh->n || ns > MAXP)
        return kg_err_set(KG_ERR_BAD_INPUT, "presign: %zu signers for a %u-of-%u key", ns, sh->t, sh->n);
    memcpy(st->signers, signers, ns * sizeof *signers);
    qsort(st->signers, ns, sizeof *st->signers, cmp_u16);
    st->ns = ns;
    for (size_t j = 0; j < ns; j++) {
        int x = kg_mpc_cggmp_index(sh->ids, sh->n, st->signers[j]);
        st->apos[j] = kg_mpc_cggmp_index(st->aux->ids, st->aux->n, st->signers[j]);
        if (x < 0 || st->apos[j] < 0 || (j && st->signers[j] == st->signers[j - 1]))
            return kg_err_set(KG_ERR_BAD_INPUT, "presign: signer %u unknown or repeated", st->signers[j]);
        kg_mpc_scalar lam;
        kg_err err = kg_mpc_frost_lagrange(st->g, &lam, st->signers[j], st->signers, ns);
        if (err) return err;
        kg_mpc_point_mul(st->g, &st->W[j], &lam, &sh->X[x]);
        if (st->signers[j] == st->me) { st->mp = j; kg_mpc_scalar_mul(st->g, &st->w, &lam, &sh->x); }
    }
    if (kg_mpc_cggmp_index(st->signers, ns, st->me) < 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "presign: party %u is not in the signing set", st->me);
    return KG_OK;
}

kg_err kg_mpc_cggmp_presign_new(kg_mpc_cggmp_presign **out, const kg_mpc_cggmp_share *share,
                                const kg_mpc_cggmp_aux *aux, const uint16_t *signers, size_t n_signers,
                                const uint8_t *session, size_t len)
{
    *out = NULL;
    if (!kg_mpc_cggmp_scheme_name(share->group) || aux->id != share->id || (len && !session))
        return kg_err_set(KG_ERR_BAD_INPUT, "presign: share and aux info do not match");
    if (kg_mpc_cggmp_share_check(share) != KG_OK) return KG_ERR_BAD_INPUT;
    kg_mpc_cggmp_presign *st = calloc(1, sizeof *st);
    if (!st) return kg_err_set(KG_ERR_NOMEM, "presign state");
    st->g = share->group;
    st->me = share->id;
    st->aux = aux;
    st->pub = share->pub;
    kg_err err = setup_set(st, share, signers, n_signers);
    size_t nn = st->ns * st->ns;
    if (!err && (!(st->D = calloc(nn, sizeof(BIGNUM *))) || !(st->F = calloc(nn, sizeof(BIGNUM *))) ||
                 !(st->Dh = calloc(nn, sizeof(BIGNUM *))) || !(st->Fh = calloc(nn, sizeof(BIGNUM *)))))
        err = kg_err_set(KG_ERR_NOMEM, "presign state");
    if (!err)
        err = kg_mpc_cggmp_sid(st->sid, "presign", st->g, session, len, share, aux, st->signers, st->ns);
    if (!err && !(st->wb = kg_mpc_scalar_to_bn(st->g, &st->w))) err = kg_err_set(KG_ERR_NOMEM, "presign");
    if (err) { kg_mpc_cggmp_presign_free(st); return err; }
    *out = st;
    return KG_OK;
}

kg_err kg_mpc_cggmp_presign_new_prep(kg_mpc_cggmp_presign **out, const kg_mpc_cggmp_share *share,
                                     const kg_mpc_cggmp_aux *aux, const uint16_t *signers, size_t n_signers,
                                     const uint8_t *session, size_t len, kg_mpc_cggmp_presign_prep *prep)
{
    *out = NULL;
    kg_err err = kg_mpc_cggmp_presign_prep_check(prep, share, aux, signers, n_signers);
    if (!err) err = kg_mpc_cggmp_presign_new(out, share, aux, signers, n_signers, session, len);
    if (err) return err;
    if (!((*out)->pp = kg_mpc_cggmp_presign_prep_take(prep))) {
        kg_mpc_cggmp_presign_free(*out);
        *out = NULL;
        return kg_err_set(KG_ERR_NOMEM, "presign state");
    }
    return KG_OK;
}

void kg_mpc_cggmp_presign_free(kg_mpc_cggmp_presign *st)
{
    if (!st) return;
    size_t nn = st->ns * st->ns;
    bns_free(st->D, nn); bns_free(st->F, nn); bns_free(st->Dh, nn); bns_free(st->Fh, nn);
    free(st->D); free(st->F); free(st->Dh); free(st->Fh);
    bns_free(st->K, MAXP); bns_free(st->G, MAXP);
    bns_free(st->beta, MAXP); bns_free(st->s, MAXP); bns_free(st->r, MAXP);
    bns_free(st->bh, MAXP); bns_free(st->sh, MAXP); bns_free(st->rh, MAXP);
    kg_mpc_bn_free(st->kb); kg_mpc_bn_free(st->gb); kg_mpc_bn_free(st->wb);
    kg_mpc_bn_free(st->rho); kg_mpc_bn_free(st->nu);
    kg_mpc_cggmp_presign_prep_free(st->pp);
    kg_wipe(st, sizeof *st);
    free(st);
}

static kg_err round_check(const kg_mpc_cggmp_presign *st, int want, const char *name)
{
    if (st->round != want) return kg_err_set(KG_ERR_BAD_INPUT, "presign: %s out of order", name);
    return KG_OK;
}

static kg_err wr_push(kg_mpc_node_wr *w, kg_mpc_cggmp_msg **out, size_t *n, uint16_t from, uint16_t to)
{
    kg_err err = kg_mpc_node_wr_done(w);
    if (!err) err = kg_mpc_cggmp_msg_push(out, n, from, to, w->b.data, w->b.len);
    kg_bytes_free(&w->b);
    memset(w, 0, sizeof *w);
    return err;
}

static void out_reset(kg_mpc_cggmp_msg **out, size_t *n)
{
    kg_mpc_cggmp_msgs_free(*out, *n);
    *out = NULL;
    *n = 0;
}

/* -------------------------------------------------------------- round 1 */

/* x <- F_q as a secret BIGNUM, c = enc_own(x; nonce). */
static kg_err enc_fresh(const kg_mpc_cggmp_presign *st, kg_mpc_scalar *x, BIGNUM **xb, BIGNUM **c, BIGNUM **nonce)
{
    const kg_mpc_paillier_sk *sk = &st->aux->sk;
    kg_err err = kg_mpc_scalar_random(st->g, x);
    if (err) return err;
    if (!(*xb = kg_mpc_scalar_to_bn(st->g, x)) || !(*nonce = kg_mpc_bn_secret_new()) || !(*c = BN_new()))
        return kg_err_set(KG_ERR_NOMEM, "presign round 1");
    err = kg_mpc_bn_rand_unit(*nonce, sk->pk.n);
    if (!err) err = kg_mpc_paillier_enc_sk(sk, *c, *xb, *nonce);
    return err;
}

/* k, γ, K, G from the precomputation (moved: single use). */
static kg_err prep_nonces(const kg_mpc_cggmp_presign *st, kg_mpc_scalar *k, kg_mpc_scalar *gm, BIGNUM **kb,
                          BIGNUM **gb, BIGNUM **K, BIGNUM **G, BIGNUM **rho, BIGNUM **nu)
{
    kg_mpc_cggmp_presign_prep *p = st->pp;
    if (!p->K) return kg_err_set(KG_ERR_BAD_INPUT, "presign round 1: precomputation already used");
    *k = p->k, *gm = p->gamma, *kb = p->kb, *gb = p->gb, *K = p->K, *G = p->G, *rho = p->rho, *nu = p->nu;
    p->kb = p->gb = p->K = p->G = p->rho = p->nu = NULL;
    kg_wipe(&p->k, sizeof p->k);
    kg_wipe(&p->gamma, sizeof p->gamma);
    return KG_OK;
}

/* Round 1's Πenc to every peer j: one task each (kg_mpc_cggmp_par). */
typedef struct {
    const kg_mpc_cggmp_presign *st;
    const BIGNUM *K, *k, *rho;
    kg_mpc_zk_enc pf[MAXP];
} r1_job;

static kg_err r1_prove(void *arg, size_t j)
{
    r1_job *jb = arg;
    const kg_mpc_cggmp_presign *st = jb->st;
    if (j == st->mp) return KG_OK;
    kg_mpc_zk_ctx ctx = zctx(st, st->me);
    if (st->pp)
        return kg_mpc_zk_enc_prove_pre(&jb->pf[j], &st->pp->enc[j], &ctx, rp_of(st, j), &st->aux->sk.pk, jb->K, jb->k,
                                       jb->rho);
    return kg_mpc_zk_enc_prove(&jb->pf[j], &ctx, rp_of(st, j), &st->aux->sk.pk, jb->K, jb->k, jb->rho);
}

kg_err kg_mpc_cggmp_presign_round1(kg_mpc_cggmp_presign *st, kg_mpc_cggmp_msg **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    kg_err err = round_check(st, 0, "round 1");
    if (err) return err;
    kg_mpc_scalar k, gm;
    BIGNUM *kb = NULL, *gb = NULL, *K = NULL, *G = NULL, *rho = NULL, *nu = NULL;
    if (st->pp) {
        err = prep_nonces(st, &k, &gm, &kb, &gb, &K, &G, &rho, &nu);
    } else {
        err = enc_fresh(st, &k, &kb, &K, &rho);
        if (!err) err = enc_fresh(st, &gm, &gb, &G, &nu);
    }
    kg_mpc_node_wr w = {0};
    if (!err) {
        kg_mpc_bn_write(&w, K);
        kg_mpc_bn_write(&w, G);
        err = wr_push(&w, out, n_out, st->me, 0);
    }
    r1_job *jb = err ? NULL : calloc(1, sizeof *jb);
    if (!err && !jb) err = kg_err_set(KG_ERR_NOMEM, "presign round 1");
    size_t failed = 0;
    if (!err) {
        jb->st = st; jb->K = K; jb->k = kb; jb->rho = rho;
        err = kg_mpc_cggmp_par(st->ns, r1_prove, jb, &failed);
    }
    for (size_t j = 0; !err && j < st->ns; j++) {
        if (j == st->mp) continue;
#if KG_MPC_EVIL /* test build only */
        if (kg_mpc_evil_is("cg-bad-enc")) kg_mpc_evil_cg_enc(&jb->pf[j]);
#endif
        kg_mpc_zk_enc_write(&w, &jb->pf[j]);
        err = wr_push(&w, out, n_out, st->me, st->signers[j]);
    }
    for (size_t j = 0; jb && j < st->ns; j++) kg_mpc_zk_enc_clear(&jb->pf[j]);
    free(jb);
    if (err) {
        kg_bytes_free(&w.b);
        out_reset(out, n_out);
        kg_mpc_bn_free(kb); kg_mpc_bn_free(gb); kg_mpc_bn_free(K); kg_mpc_bn_free(G);
        kg_mpc_bn_free(rho); kg_mpc_bn_free(nu);
        kg_wipe(&k, sizeof k); kg_wipe(&gm, sizeof gm);
        return err;
    }
    st->k = k; st->gamma = gm; st->kb = kb; st->gb = gb; st->rho = rho; st->nu = nu;
    st->K[st->mp] = K;
    st->G[st->mp] = G;
    kg_wipe(&k, sizeof k); kg_wipe(&gm, sizeof gm);
    st->round = 1;
    return KG_OK;
}

/* -------------------------------------------------------------- round 2 */

/* A ciphertext under pk from a reader. */
static kg_err ct_read(kg_mpc_node_rd *r, const kg_mpc_paillier_pk *pk, BIGNUM **c, const char *what)
{
    kg_err err = kg_mpc_bn_read(r, c, BNMAX, what);
    if (!err) err = kg_mpc_paillier_ct_check(pk, *c, what);
    return err;
}

/* j's round-1 messages: K_j, G_j and the Πenc addressed to me. */
static kg_err r2_check(const kg_mpc_cggmp_presign *st, size_t j, const kg_mpc_cggmp_msg *bc,
                       const kg_mpc_cggmp_msg *pp, BIGNUM **K, BIGNUM **G)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, bc->body.data, bc->body.len);
    kg_err err = ct_read(&r, pk_of(st, j), K, "K");
    if (!err) err = ct_read(&r, pk_of(st, j), G, "G");
    if (!err) err = kg_mpc_node_rd_end(&r, "round 1 broadcast");
    if (err) return err;
    kg_mpc_zk_enc pf = {0};
    kg_mpc_node_rd_init(&r, pp->body.data, pp->body.len);
    err = kg_mpc_zk_enc_read(&r, &pf);
    if (!err) err = kg_mpc_node_rd_end(&r, "Πenc");
    kg_mpc_zk_ctx ctx = zctx(st, st->signers[j]);
    if (!err) err = kg_mpc_zk_enc_verify(&pf, &ctx, rp_of(st, st->mp), pk_of(st, j), *K);
    kg_mpc_zk_enc_clear(&pf);
    return err;
}

/* r2_check for every peer j, one task each. */
typedef struct {
    const kg_mpc_cggmp_presign *st;
    const kg_mpc_cggmp_msg *const *bc, *const *pp;
    BIGNUM **K, **G;
} r2c_job;

static kg_err r2_check_task(void *arg, size_t j)
{
    r2c_job *cj = arg;
    if (j == cj->st->mp) return KG_OK;
    return r2_check(cj->st, j, cj->bc[j], cj->pp[j], &cj->K[j], &cj->G[j]);
}

/* Secrets and ciphertexts the round-2 MtA with one receiver j creates. */
typedef struct {
    BIGNUM *beta, *s, *r, *D, *F;
} mta;
static void mta_free(mta *m)
{
    kg_mpc_bn_free(m->beta); kg_mpc_bn_free(m->s); kg_mpc_bn_free(m->r);
    kg_mpc_bn_free(m->D); kg_mpc_bn_free(m->F);
    memset(m, 0, sizeof *m);
}

/* β <- ±2^ℓ', its nonces, F = enc_me(β; r) and t = enc_j(β; s): fresh. */
static kg_err mta_fresh(const kg_mpc_cggmp_presign *st, size_t j, mta *m, BIGNUM **t)
{
    const kg_mpc_paillier_pk *pj = pk_of(st, j);
    const kg_mpc_paillier_sk *sk = &st->aux->sk;
    if (!(*t = BN_new()) || !(m->beta = kg_mpc_bn_secret_new()) || !(m->s = kg_mpc_bn_secret_new()) ||
        !(m->r = kg_mpc_bn_secret_new()) || !(m->F = BN_new()))
        return kg_err_set(KG_ERR_NOMEM, "presign round 2");
    kg_err err = kg_mpc_bn_rand_pm(m->beta, KG_CGGMP_ELL_PRIME, NULL);
    if (!err) err = kg_mpc_bn_rand_unit(m->s, pj->n);
    if (!err) err = kg_mpc_bn_rand_unit(m->r, sk->pk.n);
    if (!err) err = kg_mpc_paillier_enc_with(pj, *t, m->beta, m->s);
    if (!err) err = kg_mpc_paillier_enc_sk(sk, m->F, m->beta, m->r);
    return err;
}

/* The same values from the precomputation (moved: single use). */
static kg_err mta_take(const kg_mpc_cggmp_presign *st, size_t j, size_t kind, mta *m, BIGNUM **t)
{
    kg_mpc_cggmp_prep_mta *p = &st->pp->mta[j][kind];
    if (!p->beta) return kg_err_set(KG_ERR_BAD_INPUT, "presign round 2: precomputation already used");
    m->beta = p->beta, m->s = p->s, m->r = p->r, m->F = p->F, *t = p->Dp;
    p->beta = p->s = p->r = p->F = p->Dp = NULL;
    return KG_OK;
}

/* D = K_j^x ⊕ enc_j(β; s), F = enc_me(β; r), β <- ±2^ℓ', with Πaff-g for
 * (x, X) to j; kind 0: x = γ, 1: x = w (the precomputation's slot). */
static kg_err mta_make(const kg_mpc_cggmp_presign *st, size_t j, size_t kind, const BIGNUM *x, const kg_mpc_point *X,
                       mta *m, kg_mpc_node_wr *pp)
{
    const kg_mpc_paillier_pk *pj = pk_of(st, j);
    const kg_mpc_paillier_sk *sk = &st->aux->sk;
    BIGNUM *t = NULL;
    kg_err err = st->pp ? mta_take(st, j, kind, m, &t) : mta_fresh(st, j, m, &t);
    if (!err && !(m->D = BN_new())) err = kg_err_set(KG_ERR_NOMEM, "presign round 2");
    if (!err) err = kg_mpc_paillier_mul(pj, m->D, st->K[j], x, true);
    if (!err) err = kg_mpc_paillier_add(pj, m->D, m->D, t);
#if KG_MPC_EVIL /* test build only: D made with γ + 1, Πaff-g below for γ */
    if (!err && x == st->gb && kg_mpc_evil_is("cg-bad-mta")) kg_mpc_evil_cg_mta(pj, m->D, st->K[j]);
#endif
    kg_mpc_bn_free(t);
    kg_mpc_zk_affg pf = {0};
    kg_mpc_zk_ctx ctx = zctx(st, st->me);
    if (!err && st->pp)
        err = kg_mpc_zk_affg_prove_pre(&pf, &st->pp->mta[j][kind].pf, &ctx, rp_of(st, j), pj, &sk->pk, st->K[j], m->D,
                                       m->F, X, x, m->beta, m->s, m->r);
    else if (!err)
        err = kg_mpc_zk_affg_prove(&pf, &ctx, rp_of(st, j), pj, &sk->pk, st->K[j], m->D, m->F, X, x, m->beta,
                                   m->s, m->r);
    if (!err) kg_mpc_zk_affg_write(pp, st->g, &pf);
    kg_mpc_zk_affg_clear(&pf);
    return err;
}

/* My round-2 proofs: per peer j three independent tasks (Πaff-g for γ,
 * Πaff-g for w, Πlog* for (G, Γ)), each into its own writer; index
 * 3j + kind keeps the sequential order for the error reported. */
typedef struct {
    const kg_mpc_cggmp_presign *st;
    const kg_mpc_point *Gam;
    mta *m, *mh;
    kg_mpc_node_wr wr[MAXP][3];
} r2_job;

static kg_err r2_prove(void *arg, size_t i)
{
    r2_job *jb = arg;
    const kg_mpc_cggmp_presign *st = jb->st;
    size_t j = i / 3, kind = i % 3;
    if (j == st->mp) return KG_OK;
    kg_mpc_node_wr *w = &jb->wr[j][kind];
    if (kind == 0) return mta_make(st, j, 0, st->gb, jb->Gam, &jb->m[j], w);
    if (kind == 1) return mta_make(st, j, 1, st->wb, &st->W[st->mp], &jb->mh[j], w);
    kg_mpc_zk_logstar pf = {0};
    kg_mpc_zk_ctx ctx = zctx(st, st->me);
    kg_err err = st->pp ? kg_mpc_zk_logstar_prove_pre(&pf, &st->pp->lg[j], &ctx, rp_of(st, j), &st->aux->sk.pk,
                                                      st->G[st->mp], jb->Gam, NULL, st->gb, st->nu)
                        : kg_mpc_zk_logstar_prove(&pf, &ctx, rp_of(st, j), &st->aux->sk.pk, st->G[st->mp], jb->Gam,
                                                  NULL, st->gb, st->nu);
    if (!err) kg_mpc_zk_logstar_write(w, st->g, &pf);
    kg_mpc_zk_logstar_clear(&pf);
    return err;
}

/* My round-2 messages, built from the accepted K_j. m[j], mh[j] get the
 * secrets kept. */
static kg_err r2_make(const kg_mpc_cggmp_presign *st, const kg_mpc_point *Gam, mta *m, mta *mh,
                      kg_mpc_cggmp_msg **out, size_t *n_out)
{
    r2_job *jb = calloc(1, sizeof *jb);
    if (!jb) return kg_err_set(KG_ERR_NOMEM, "presign round 2");
    jb->st = st; jb->Gam = Gam; jb->m = m; jb->mh = mh;
    size_t failed = 0;
    kg_err err = kg_mpc_cggmp_par(3 * st->ns, r2_prove, jb, &failed);
    kg_mpc_node_wr bc = {0}, pp = {0};
    kg_mpc_point_write(&bc, st->g, Gam);
    for (size_t j = 0; !err && j < st->ns; j++) {
        if (j == st->mp) continue;
        for (size_t k = 0; k < 3; k++) {
            const kg_mpc_node_wr *x = &jb->wr[j][k];
            if (x->bad) pp.bad = true; /* wr_push reports it */
            else kg_mpc_node_wr_fixed(&pp, x->b.data, x->b.len);
        }
        err = wr_push(&pp, out, n_out, st->me, st->signers[j]);
        if (err) break;
        kg_mpc_bn_write(&bc, m[j].D);
        kg_mpc_bn_write(&bc, m[j].F);
        kg_mpc_bn_write(&bc, mh[j].D);
        kg_mpc_bn_write(&bc, mh[j].F);
    }
    if (!err) err = wr_push(&bc, out, n_out, st->me, 0);
    kg_bytes_free(&bc.b);
    kg_bytes_free(&pp.b);
    for (size_t j = 0; j < st->ns; j++)
        for (size_t k = 0; k < 3; k++) kg_bytes_free(&jb->wr[j][k].b);
    free(jb);
    return err;
}

kg_err kg_mpc_cggmp_presign_round2(kg_mpc_cggmp_presign *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit)
{
    *out = NULL;
    *n_out = 0;
    *culprit = 0;
    kg_err err = round_check(st, 1, "round 2");
    const kg_mpc_cggmp_msg *bc[MAXP] = {0}, *pp[MAXP] = {0};
    if (!err) err = kg_mpc_cggmp_msgs_collect(bc, pp, in, n_in, st->signers, st->ns, st->me, culprit);
    if (err) return err;
    BIGNUM *K[MAXP] = {0}, *G[MAXP] = {0};
    mta m[MAXP], mh[MAXP];
    memset(m, 0, sizeof m);
    memset(mh, 0, sizeof mh);
    r2c_job cj = {st, bc, pp, K, G};
    size_t failed = 0;
    err = kg_mpc_cggmp_par(st->ns, r2_check_task, &cj, &failed);
    if (err) err = kg_mpc_cggmp_blame(culprit, st->signers[failed], err, "round 1: %s", kg_err_detail(err));
    kg_mpc_point Gam;
    kg_mpc_point_base_mul(st->g, &Gam, &st->gamma);
    if (!err) {
        /* r2_make reads K_j from the state: lend them, take them back on error */
        for (size_t j = 0; j < st->ns; j++)
            if (j != st->mp) { st->K[j] = K[j]; st->G[j] = G[j]; }
        err = r2_make(st, &Gam, m, mh, out, n_out);
        for (size_t j = 0; err && j < st->ns; j++)
            if (j != st->mp) { st->K[j] = NULL; st->G[j] = NULL; }
    }
    if (err) {
        out_reset(out, n_out);
        bns_free(K, MAXP); bns_free(G, MAXP);
        for (size_t j = 0; j < MAXP; j++) { mta_free(&m[j]); mta_free(&mh[j]); }
        return err;
    }
    size_t ns = st->ns;
    for (size_t j = 0; j < ns; j++) {
        if (j == st->mp) continue;
        st->beta[j] = m[j].beta; st->s[j] = m[j].s; st->r[j] = m[j].r;
        st->bh[j] = mh[j].beta; st->sh[j] = mh[j].s; st->rh[j] = mh[j].r;
        st->D[j * ns + st->mp] = m[j].D; st->F[j * ns + st->mp] = m[j].F;
        st->Dh[j * ns + st->mp] = mh[j].D; st->Fh[j * ns + st->mp] = mh[j].F;
    }
    st->Gamma[st->mp] = Gam;
    st->round = 2;
    return KG_OK;
}

/* -------------------------------------------------------------- round 3 */

/* The four ciphertexts j made for every receiver a != j (column j). */
static kg_err r3_read_bc(const kg_mpc_cggmp_presign *st, size_t j, const kg_mpc_cggmp_msg *bc, kg_mpc_point *Gam,
                         BIGNUM **D, BIGNUM **F, BIGNUM **Dh, BIGNUM **Fh)
{
    size_t ns = st->ns;
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, bc->body.data, bc->body.len);
    kg_err err = kg_mpc_point_read(&r, st->g, Gam, "Γ");
    for (size_t a = 0; !err && a < ns; a++) {
        if (a == j) continue;
        size_t x = a * ns + j;
        err = ct_read(&r, pk_of(st, a), &D[x], "D");
        if (!err) err = ct_read(&r, pk_of(st, j), &F[x], "F");
        if (!err) err = ct_read(&r, pk_of(st, a), &Dh[x], "D̂");
        if (!err) err = ct_read(&r, pk_of(st, j), &Fh[x], "F̂");
    }
    if (!err) err = kg_mpc_node_rd_end(&r, "round 2 broadcast");
    return err;
}

/* j's proofs to me, parsed: Πaff-g for (D_{me,j}, F_{me,j}, Γ_j), for
 * (D̂, F̂, W_j), Πlog* for (G_j, Γ_j). Verified by r3_verify. */
typedef struct {
    const kg_mpc_cggmp_presign *st;
    const kg_mpc_point *Gam;
    BIGNUM *const *D, *const *F, *const *Dh, *const *Fh;
    size_t limit; /* peers j < limit parsed */
    kg_mpc_zk_affg a1[MAXP], a2[MAXP];
    kg_mpc_zk_logstar l[MAXP];
} r3_job;

static kg_err r3_parse_pp(const kg_mpc_cggmp_presign *st, const kg_mpc_cggmp_msg *pp, r3_job *jb, size_t j)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, pp->body.data, pp->body.len);
    kg_err err = kg_mpc_zk_affg_read(&r, st->g, &jb->a1[j]);
    if (!err) err = kg_mpc_zk_affg_read(&r, st->g, &jb->a2[j]);
    if (!err) err = kg_mpc_zk_logstar_read(&r, st->g, &jb->l[j]);
    if (!err) err = kg_mpc_node_rd_end(&r, "round 2 proofs");
    return err;
}

/* Task 3j + kind: one of j's three proofs (the sequential order). */
static kg_err r3_verify(void *arg, size_t i)
{
    r3_job *jb = arg;
    const kg_mpc_cggmp_presign *st = jb->st;
    size_t j = i / 3, kind = i % 3, x = st->mp * st->ns + j;
    if (j == st->mp || j >= jb->limit) return KG_OK;
    kg_mpc_zk_ctx ctx = zctx(st, st->signers[j]);
    const kg_mpc_rped *aux = rp_of(st, st->mp);
    const kg_mpc_paillier_pk *me = pk_of(st, st->mp), *pj = pk_of(st, j);
    const BIGNUM *K = st->K[st->mp];
    if (kind == 0) return kg_mpc_zk_affg_verify(&jb->a1[j], &ctx, aux, me, pj, K, jb->D[x], jb->F[x], &jb->Gam[j]);
    if (kind == 1) return kg_mpc_zk_affg_verify(&jb->a2[j], &ctx, aux, me, pj, K, jb->Dh[x], jb->Fh[x], &st->W[j]);
    return kg_mpc_zk_logstar_verify(&jb->l[j], &ctx, aux, pj, st->G[j], &jb->Gam[j], NULL);
}

/* Read every peer's round-2 messages in order, stopping at the first
 * malformed one, then verify the proofs of the peers before it on
 * threads: the culprit is the one the sequential loop would name. */
static kg_err r3_check_all(const kg_mpc_cggmp_presign *st, r3_job *jb, const kg_mpc_cggmp_msg *const *bc,
                           const kg_mpc_cggmp_msg *const *pp, kg_mpc_point *Gam, BIGNUM **D, BIGNUM **F,
                           BIGNUM **Dh, BIGNUM **Fh, uint16_t *culprit)
{
    size_t ns = st->ns, bad = ns, failed = 0;
    char why[256] = "";
    kg_err perr = KG_OK;
    for (size_t j = 0; j < ns && !perr; j++) {
        if (j == st->mp) continue;
        perr = r3_read_bc(st, j, bc[j], &Gam[j], D, F, Dh, Fh);
        if (!perr) perr = r3_parse_pp(st, pp[j], jb, j);
        if (perr) { bad = j; snprintf(why, sizeof why, "%s", kg_err_detail(perr)); }
    }
    jb->st = st; jb->Gam = Gam; jb->D = D; jb->F = F; jb->Dh = Dh; jb->Fh = Fh; jb->limit = bad;
    kg_err err = kg_mpc_cggmp_par(3 * ns, r3_verify, jb, &failed);
    if (err) return kg_mpc_cggmp_blame(culprit, st->signers[failed / 3], err, "round 2: %s", kg_err_detail(err));
    if (perr) return kg_mpc_cggmp_blame(culprit, st->signers[bad], perr, "round 2: %s", why);
    return KG_OK;
}

static void r3_job_free(r3_job *jb)
{
    for (size_t j = 0; jb && j < MAXP; j++) {
        kg_mpc_zk_affg_clear(&jb->a1[j]);
        kg_mpc_zk_affg_clear(&jb->a2[j]);
        kg_mpc_zk_logstar_clear(&jb->l[j]);
    }
    free(jb);
}

/* acc += dec(c) − own (mod q). */
static kg_err mta_share(const kg_mpc_cggmp_presign *st, kg_mpc_scalar *acc, const BIGNUM *c, const BIGNUM *own)
{
    BIGNUM *a = kg_mpc_bn_secret_new();
    if (!a) return kg_err_set(KG_ERR_NOMEM, "presign round 3");
    kg_mpc_scalar s1, s2;
    kg_err err = kg_mpc_paillier_dec(&st->aux->sk, a, c);
    if (!err) err = kg_mpc_bn_to_scalar(st->g, &s1, a);
    if (!err) err = kg_mpc_bn_to_scalar(st->g, &s2, own);
    if (!err) {
        kg_mpc_scalar_add(st->g, acc, acc, &s1);
        kg_mpc_scalar_sub(st->g, acc, acc, &s2);
    }
    kg_mpc_bn_free(a);
    kg_wipe(&s1, sizeof s1);
    kg_wipe(&s2, sizeof s2);
    return err;
}

/* Round 3's own work as tasks: [0, 2ns) the MtA shares dec(D_{me,j}) − β
 * (2j) and dec(D̂_{me,j}) − β̂ (2j + 1), [2ns, 3ns) Πlog* for (K, Δ) to j. */
typedef struct {
    const kg_mpc_cggmp_presign *st;
    BIGNUM *const *D, *const *Dh;
    const kg_mpc_point *Gs, *Delta;
    kg_mpc_scalar share[MAXP][2]; /* secret */
    kg_mpc_zk_logstar pf[MAXP];
} r3m_job;

static kg_err r3_make_task(void *arg, size_t i)
{
    r3m_job *jb = arg;
    const kg_mpc_cggmp_presign *st = jb->st;
    size_t ns = st->ns, j = i < 2 * ns ? i / 2 : i - 2 * ns, x = st->mp * ns + j;
    if (j == st->mp) return KG_OK;
    if (i < 2 * ns && i % 2 == 0) return mta_share(st, &jb->share[j][0], jb->D[x], st->beta[j]);
    if (i < 2 * ns) return mta_share(st, &jb->share[j][1], jb->Dh[x], st->bh[j]);
    kg_mpc_zk_ctx ctx = zctx(st, st->me);
    if (st->pp)
        return kg_mpc_zk_logstar_prove_pre(&jb->pf[j], &st->pp->lk[j], &ctx, rp_of(st, j), &st->aux->sk.pk,
                                           st->K[st->mp], jb->Delta, jb->Gs, st->kb, st->rho);
    return kg_mpc_zk_logstar_prove(&jb->pf[j], &ctx, rp_of(st, j), &st->aux->sk.pk, st->K[st->mp], jb->Delta,
                                   jb->Gs, st->kb, st->rho);
}

/* δ_i, χ_i, Δ_i and my round-3 messages. */
static kg_err r3_make(const kg_mpc_cggmp_presign *st, const kg_mpc_point *Gs, BIGNUM *const *D, BIGNUM *const *Dh,
                      kg_mpc_scalar *delta, kg_mpc_scalar *chi, kg_mpc_point *Delta, kg_mpc_cggmp_msg **out,
                      size_t *n_out)
{
    r3m_job *jb = calloc(1, sizeof *jb);
    if (!jb) return kg_err_set(KG_ERR_NOMEM, "presign round 3");
    kg_mpc_scalar_mul(st->g, delta, &st->k, &st->gamma);
    kg_mpc_scalar_mul(st->g, chi, &st->k, &st->w);
    kg_mpc_point_mul(st->g, Delta, &st->k, Gs);
    jb->st = st; jb->D = D; jb->Dh = Dh; jb->Gs = Gs; jb->Delta = Delta;
    size_t failed = 0;
    kg_err err = kg_mpc_cggmp_par(3 * st->ns, r3_make_task, jb, &failed);
    for (size_t j = 0; !err && j < st->ns; j++) {
        if (j == st->mp) continue; /* addition mod q: any order gives the same δ, χ */
        kg_mpc_scalar_add(st->g, delta, delta, &jb->share[j][0]);
        kg_mpc_scalar_add(st->g, chi, chi, &jb->share[j][1]);
    }
#if KG_MPC_EVIL /* test build only: a wrong δ_i that no round proof covers */
    if (!err && kg_mpc_evil_is("cg-bad-delta")) kg_mpc_evil_bump(st->g, delta);
#endif
    kg_mpc_node_wr w = {0};
    if (!err) {
        kg_mpc_node_wr_fixed(&w, delta->b, sizeof delta->b);
        kg_mpc_point_write(&w, st->g, Delta);
        err = wr_push(&w, out, n_out, st->me, 0);
    }
    for (size_t j = 0; !err && j < st->ns; j++) {
        if (j == st->mp) continue;
        kg_mpc_zk_logstar_write(&w, st->g, &jb->pf[j]);
        err = wr_push(&w, out, n_out, st->me, st->signers[j]);
    }
    kg_bytes_free(&w.b);
    for (size_t j = 0; j < st->ns; j++) kg_mpc_zk_logstar_clear(&jb->pf[j]);
    kg_wipe(jb->share, sizeof jb->share);
    free(jb);
    return err;
}

kg_err kg_mpc_cggmp_presign_round3(kg_mpc_cggmp_presign *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit)
{
    *out = NULL;
    *n_out = 0;
    *culprit = 0;
    kg_err err = round_check(st, 2, "round 3");
    const kg_mpc_cggmp_msg *bc[MAXP] = {0}, *pp[MAXP] = {0};
    if (!err) err = kg_mpc_cggmp_msgs_collect(bc, pp, in, n_in, st->signers, st->ns, st->me, culprit);
    if (err) return err;
    size_t ns = st->ns, nn = ns * ns;
    BIGNUM **T = calloc(4 * nn, sizeof *T); /* D, F, D̂, F̂ matrices (my column empty) */
    if (!T) return kg_err_set(KG_ERR_NOMEM, "presign round 3");
    BIGNUM **D = T, **F = T + nn, **Dh = T + 2 * nn, **Fh = T + 3 * nn;
    kg_mpc_point Gam[MAXP];
    memcpy(Gam, st->Gamma, sizeof Gam);
    r3_job *jb = calloc(1, sizeof *jb);
    if (!jb) err = kg_err_set(KG_ERR_NOMEM, "presign round 3");
    if (!err) err = r3_check_all(st, jb, bc, pp, Gam, D, F, Dh, Fh, culprit);
    r3_job_free(jb);
    kg_mpc_point Gs = Gam[0];
    for (size_t j = 1; j < ns; j++) kg_mpc_point_add(st->g, &Gs, &Gs, &Gam[j]);
    kg_mpc_scalar delta, chi;
    kg_mpc_point Delta;
    if (!err) err = r3_make(st, &Gs, D, Dh, &delta, &chi, &Delta, out, n_out);
    if (err) {
        out_reset(out, n_out);
        bns_free(T, 4 * nn);
    } else {
        for (size_t x = 0; x < nn; x++) {
            if (x % ns == st->mp) continue; /* my column: made in round 2 */
            st->D[x] = D[x]; st->F[x] = F[x]; st->Dh[x] = Dh[x]; st->Fh[x] = Fh[x];
        }
        memcpy(st->Gamma, Gam, sizeof Gam);
        st->Gsum = Gs;
        st->delta[st->mp] = delta;
        st->Delta[st->mp] = Delta;
        st->chi = chi;
        st->round = 3;
    }
    free(T);
    kg_wipe(&chi, sizeof chi);
    return err;
}

/* --------------------------------------------------------------- finish */

/* j's round-3 messages: δ_j, Δ_j and Πlog* for (K_j, Δ_j) on base Γ. */
static kg_err fin_check(const kg_mpc_cggmp_presign *st, size_t j, const kg_mpc_cggmp_msg *bc,
                        const kg_mpc_cggmp_msg *pp, kg_mpc_scalar *delta, kg_mpc_point *Delta)
{
    kg_mpc_node_rd r;
    kg_mpc_node_rd_init(&r, bc->body.data, bc->body.len);
    const uint8_t *d = kg_mpc_node_rd_fixed(&r, KG_MPC_SCALAR_BYTES);
    kg_err err = d ? kg_mpc_scalar_from_bytes(st->g, delta, d, KG_MPC_SCALAR_BYTES)
                   : kg_err_set(KG_ERR_BAD_INPUT, "round 3 broadcast: truncated δ");
    if (!err) err = kg_mpc_point_read(&r, st->g, Delta, "Δ");
    if (!err) err = kg_mpc_node_rd_end(&r, "round 3 broadcast");
    if (err) return err;
    kg_mpc_zk_logstar pf = {0};
    kg_mpc_node_rd_init(&r, pp->body.data, pp->body.len);
    err = kg_mpc_zk_logstar_read(&r, st->g, &pf);
    if (!err) err = kg_mpc_node_rd_end(&r, "round 3 Πlog*");
    kg_mpc_zk_ctx ctx = zctx(st, st->signers[j]);
    if (!err) err = kg_mpc_zk_logstar_verify(&pf, &ctx, rp_of(st, st->mp), pk_of(st, j), st->K[j], Delta, &st->Gsum);
    kg_mpc_zk_logstar_clear(&pf);
    return err;
}

/* fin_check for every peer j, one task each. */
typedef struct {
    const kg_mpc_cggmp_presign *st;
    const kg_mpc_cggmp_msg *const *bc, *const *pp;
    kg_mpc_scalar *delta;
    kg_mpc_point *Delta;
} fin_job;

static kg_err fin_task(void *arg, size_t j)
{
    fin_job *fj = arg;
    if (j == fj->st->mp) return KG_OK;
    return fin_check(fj->st, j, fj->bc[j], fj->pp[j], &fj->delta[j], &fj->Delta[j]);
}

/* A copy that keeps the secret flag (NULL in, NULL out). */
static bool dup_to(BIGNUM **out, const BIGNUM *x)
{
    if (!x) return true;
    if (!(*out = BN_dup(x))) return false;
    if (BN_get_flags(x, BN_FLG_CONSTTIME)) BN_set_flags(*out, BN_FLG_CONSTTIME);
    return true;
}

/* The presignature gets copies: the state keeps its values, so it can
 * still answer an identification round run by the others. */
static kg_err fin_make(kg_mpc_cggmp_presign *st, const kg_mpc_point *R, kg_mpc_cggmp_presig **out)
{
    size_t ns = st->ns, nn = ns * ns;
    kg_mpc_cggmp_presig *ps = kg_mpc_cggmp_presig_alloc(ns);
    if (!ps) return kg_err_set(KG_ERR_NOMEM, "presignature");
    ps->group = st->g;
    ps->me = st->me;
    ps->ns = (uint16_t)ns;
    ps->me_pos = (uint16_t)st->mp;
    memcpy(ps->signers, st->signers, sizeof ps->signers);
    memcpy(ps->sid, st->sid, sizeof ps->sid);
    ps->R = *R;
    ps->pub = st->pub;
    memcpy(ps->W, st->W, sizeof ps->W);
    ps->k = st->k;
    ps->chi = st->chi;
    ps->w = st->w;
    bool ok = dup_to(&ps->rho, st->rho);
    for (size_t j = 0; ok && j < ns; j++)
        ok = dup_to(&ps->K[j], st->K[j]) && dup_to(&ps->beta_hat[j], st->bh[j]) && dup_to(&ps->r_hat[j], st->rh[j]);
    for (size_t x = 0; ok && x < nn; x++) ok = dup_to(&ps->Dh[x], st->Dh[x]) && dup_to(&ps->Fh[x], st->Fh[x]);
    if (!ok) { kg_mpc_cggmp_presig_free(ps); return kg_err_set(KG_ERR_NOMEM, "presignature"); }
    uint8_t rb[KG_MPC_POINT_MAX_BYTES];
    kg_err err = kg_mpc_point_serialize(st->g, rb, R);
    if (err) { kg_mpc_cggmp_presig_free(ps); return err; }
    kg_crypto_sha256_ctx h;
    kg_crypto_sha256_init(&h);
    kg_crypto_sha256_update(&h, ps->sid, sizeof ps->sid);
    kg_crypto_sha256_update(&h, rb, kg_mpc_group_point_len(st->g));
    kg_crypto_sha256_final(ps->id, &h);
    *out = ps;
    st->round = 4;
    return KG_OK;
}

kg_err kg_mpc_cggmp_presign_finish(kg_mpc_cggmp_presign *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_presig **out, uint16_t *culprit)
{
    *out = NULL;
    *culprit = 0;
    kg_err err = round_check(st, 3, "finish");
    const kg_mpc_cggmp_msg *bc[MAXP] = {0}, *pp[MAXP] = {0};
    if (!err) err = kg_mpc_cggmp_msgs_collect(bc, pp, in, n_in, st->signers, st->ns, st->me, culprit);
    if (err) return err;
    kg_mpc_scalar delta[MAXP];
    kg_mpc_point Delta[MAXP];
    memcpy(delta, st->delta, sizeof delta);
    memcpy(Delta, st->Delta, sizeof Delta);
    fin_job fj = {st, bc, pp, delta, Delta};
    size_t failed = 0;
    err = kg_mpc_cggmp_par(st->ns, fin_task, &fj, &failed);
    if (err) err = kg_mpc_cggmp_blame(culprit, st->signers[failed], err, "round 3: %s", kg_err_detail(err));
    if (err) return err;
    /* Every proof held: keep what was received (identification needs it). */
    memcpy(st->delta, delta, sizeof delta);
    memcpy(st->Delta, Delta, sizeof Delta);
    kg_mpc_scalar d = delta[0], di;
    kg_mpc_point S = Delta[0], dG, R;
    for (size_t j = 1; j < st->ns; j++) {
        kg_mpc_scalar_add(st->g, &d, &d, &delta[j]);
        kg_mpc_point_add(st->g, &S, &S, &Delta[j]);
    }
    kg_mpc_point_base_mul(st->g, &dG, &d);
    if (!kg_mpc_point_eq(st->g, &dG, &S) || kg_mpc_scalar_invert(st->g, &di, &d) != KG_OK) {
        st->round = -1;
        return kg_err_set(KG_ERR_VERIFY, "presign: δ·G != ΣΔ_j (a party sent a wrong δ_j: run the identification)");
    }
    kg_mpc_point_mul(st->g, &R, &di, &st->Gsum);
    if (kg_mpc_point_is_identity(st->g, &R)) return kg_err_set(KG_ERR_VERIFY, "presign: R is the identity");
    return fin_make(st, &R, out);
}

kg_err kg_mpc_cggmp_presign_blame_inputs(const kg_mpc_cggmp_presign *st, kg_mpc_cggmp_blame_inputs *o)
{
    memset(o, 0, sizeof *o);
    if (st->round != 3 && st->round != 4 && st->round != -1)
        return kg_err_set(KG_ERR_BAD_INPUT, "presign: identification needs a state after round 3");
    o->group = st->g;
    o->me = st->me;
    o->ns = st->ns;
    o->me_pos = st->mp;
    o->signers = st->signers;
    o->sid = st->sid;
    o->K = (const BIGNUM *const *)st->K;
    o->G = (const BIGNUM *const *)st->G;
    o->Gamma = st->Gamma;
    o->W = st->W;
    o->Gamma_sum = &st->Gsum;
    if (st->round != 3) { o->Delta = st->Delta; o->delta = st->delta; }
    o->D = (const BIGNUM *const *)st->D;
    o->F = (const BIGNUM *const *)st->F;
    o->Dh = (const BIGNUM *const *)st->Dh;
    o->Fh = (const BIGNUM *const *)st->Fh;
    o->k = &st->k;
    o->w = &st->w;
    o->chi = &st->chi;
    o->gamma = st->gb;
    o->rho = st->rho;
    o->nu = st->nu;
    o->beta = (const BIGNUM *const *)st->beta;
    o->s = (const BIGNUM *const *)st->s;
    o->r = (const BIGNUM *const *)st->r;
    o->beta_hat = (const BIGNUM *const *)st->bh;
    o->s_hat = (const BIGNUM *const *)st->sh;
    o->r_hat = (const BIGNUM *const *)st->rh;
    return KG_OK;
}
