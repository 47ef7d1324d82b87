/* CGGMP21 auxiliary info and key refresh (eprint 2021/060, Fig. 6), made
 * t-of-n: the refresh deals Feldman-committed shares of a zero polynomial
 * g_i (g_i(0) = 0, degree t-1), so the Shamir shares change and the key
 * does not.
 *   R1  Paillier key N_i = p·q (safe primes from the caller's pool),
 *       ring-Pedersen (N_i, s_i, t_i) with Πprm, ρ_i, a salt and (refresh)
 *       the commitments B_i,k = b_k·G of g_i; broadcast the hash
 *       commitment V_i to all of it, so no party picks its values after
 *       seeing the others' (ρ = XOR ρ_j is then unpredictable).
 *   R2  broadcast the decommitment.
 *   R3  check V_j, |N_j| >= KG_CGGMP_N_BITS_MIN, (s_j, t_j) and Πprm_j;
 *       broadcast Πmod (N_i is Paillier-Blum); send each j a Πfac (N_i has
 *       no small factor) under j's ring-Pedersen parameters and (refresh)
 *       g_i(j). Πmod/Πfac are bound to SHA-512(sid || ρ).
 *   fin verify Πmod_j, Πfac_j and g_j(i) against B_j; the aux info (every
 *       party's N, s, t and its digest) and, for a refresh, the new share
 *       x_i + Σ g_j(i) with public shares X_k + Σ g_j(k)·G, epoch + 1.
 * Every failed check names its sender (identifiable abort). R3's proofs
 * and fin's per-peer checks run as tasks on a few threads
 * (kg_mpc_cggmp_par); the culprit named is the sequential loop's. */
#include "cggmp_int.h"

#include <stdlib.h>
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "node_evil.h" /* test-only hooks: nothing unless KG_MPC_EVIL */

enum { TAG_COM = 0x21, TAG_DECOM = 0x22, TAG_MOD = 0x23, TAG_FAC = 0x24 };
enum { R1 = 1, R2, R3, FIN, DONE, DEAD };
#define COM_DOMAIN "kashguard/cggmp21/aux-com/v1"
#define NMAX_BYTES (KG_CGGMP_N_BITS_MAX / 8 + 1)

struct kg_mpc_cggmp_aux_run {
    kg_mpc_cggmp_share share; /* secret: the share being refreshed */
    bool refresh;
    int next;
    uint16_t me; /* position in share.ids */
    uint8_t sid[64], sid2[64];
    BIGNUM *p, *q;          /* secret: the Paillier primes */
    kg_mpc_cggmp_aux *aux; /* being built; handed out by finish */
    uint8_t salt[32];
    uint8_t rho[KG_CGGMP_MAX_PARTIES][32];
    uint8_t V[KG_CGGMP_MAX_PARTIES][64];
    kg_mpc_scalar b[KG_CGGMP_MAX_PARTIES];                    /* secret: g_i's coefficients, b[0] = 0 */
    kg_mpc_point B[KG_CGGMP_MAX_PARTIES][KG_CGGMP_MAX_PARTIES]; /* [party][k]: b_k·G, [0] identity */
    kg_bytes decom;                                           /* own round-2 body */
};

static kg_err wrong_round(const kg_mpc_cggmp_aux_run *st, int want)
{
    if (st->next == want) return KG_OK;
    return kg_err_set(KG_ERR_ARG, "CGGMP21 aux: round called out of order (or after an error)");
}

static kg_mpc_zk_ctx zk_ctx(const kg_mpc_cggmp_aux_run *st, const uint8_t *sid, size_t j)
{
    kg_mpc_zk_ctx c = {st->share.group, sid, 64, st->share.ids[j]};
    return c;
}

kg_err kg_mpc_cggmp_aux_run_new(kg_mpc_cggmp_aux_run **out, const kg_mpc_cggmp_share *share, const BIGNUM *p,
                                const BIGNUM *q, bool refresh, const uint8_t *session, size_t session_len)
{
    *out = NULL;
    kg_err e = kg_mpc_cggmp_share_check(share);
    if (e) return e;
    if (BN_cmp(p, q) == 0 || BN_num_bits(p) != BN_num_bits(q) ||
        BN_num_bits(p) + BN_num_bits(q) < (int)KG_CGGMP_N_BITS_MIN ||
        BN_num_bits(p) + BN_num_bits(q) > (int)KG_CGGMP_N_BITS_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: need two distinct primes of equal size, %u..%u bits "
                                            "together", KG_CGGMP_N_BITS_MIN, KG_CGGMP_N_BITS_MAX);
    kg_mpc_cggmp_aux_run *st = calloc(1, sizeof *st);
    if (!st) return kg_err_set(KG_ERR_NOMEM, "out of memory starting CGGMP21 aux");
    st->share = *share;
    st->refresh = refresh;
    st->me = (uint16_t)kg_mpc_cggmp_index(share->ids, share->n, share->id);
    st->p = kg_mpc_bn_secret_new();
    st->q = kg_mpc_bn_secret_new();
    st->aux = kg_mpc_cggmp_aux_new();
    if (!st->p || !st->q || !st->aux || !BN_copy(st->p, p) || !BN_copy(st->q, q)) {
        kg_mpc_cggmp_aux_run_free(st);
        return kg_err_set(KG_ERR_NOMEM, "out of memory starting CGGMP21 aux");
    }
    BN_set_flags(st->p, BN_FLG_CONSTTIME);
    BN_set_flags(st->q, BN_FLG_CONSTTIME);
    e = kg_mpc_cggmp_sid(st->sid, refresh ? "refresh" : "aux", share->group, session, session_len, share, NULL,
                         NULL, 0);
    if (e) {
        kg_mpc_cggmp_aux_run_free(st);
        return e;
    }
    st->next = R1;
    *out = st;
    return KG_OK;
}

void kg_mpc_cggmp_aux_run_free(kg_mpc_cggmp_aux_run *st)
{
    if (!st) return;
    kg_mpc_bn_free(st->p);
    kg_mpc_bn_free(st->q);
    kg_mpc_cggmp_aux_free(st->aux);
    kg_bytes_free(&st->decom);
    kg_wipe(st, sizeof *st);
    free(st);
}

/* Decommitment: tag, N, s, t, Πprm, ρ_i, salt, u16 count, count points
 * (B_1..B_{t-1} when refreshing, none otherwise). */
static kg_err decom_encode(kg_mpc_cggmp_aux_run *st, const kg_mpc_zk_prm *prm)
{
    const kg_mpc_cggmp_aux *a = st->aux;
    kg_mpc_node_wr w = {0};
    uint8_t tag = TAG_DECOM;
    uint16_t cnt = st->refresh ? (uint16_t)(st->share.t - 1) : 0;
    kg_mpc_node_wr_fixed(&w, &tag, 1);
    kg_mpc_bn_write(&w, a->sk.pk.n);
    kg_mpc_bn_write(&w, a->rsk.pub.s);
    kg_mpc_bn_write(&w, a->rsk.pub.t);
    kg_mpc_zk_prm_write(&w, prm);
    kg_mpc_node_wr_fixed(&w, st->rho[st->me], 32);
    kg_mpc_node_wr_fixed(&w, st->salt, 32);
    kg_mpc_node_wr_u16(&w, cnt);
    for (size_t k = 1; k <= cnt; k++) kg_mpc_point_write(&w, st->share.group, &st->B[st->me][k]);
    kg_err e = kg_mpc_node_wr_done(&w);
    if (!e) st->decom = w.b;
    return e;
}

static kg_err round1_keys(kg_mpc_cggmp_aux_run *st)
{
    kg_mpc_cggmp_aux *a = st->aux;
    const kg_mpc_group_id g = st->share.group;
#if KG_MPC_EVIL /* test build only (node_evil.h, cggmp_evil.c) */
    if (kg_mpc_evil_is("cg-bad-paillier")) kg_mpc_evil_cg_primes(st->p);
#endif
    kg_err e = kg_mpc_paillier_sk_from_primes(&a->sk, st->p, st->q);
    if (!e) e = kg_mpc_rped_generate(&a->rsk, st->p, st->q);
#if KG_MPC_EVIL /* test build only */
    if (!e && kg_mpc_evil_is("cg-bad-rped")) kg_mpc_evil_cg_rped(&a->rsk);
#endif
    if (!e) e = kg_crypto_random(st->rho[st->me], 32);
    if (!e) e = kg_crypto_random(st->salt, 32);
    kg_mpc_scalar_zero(g, &st->b[0]);
    kg_mpc_point_identity(g, &st->B[st->me][0]);
    for (size_t k = 1; st->refresh && k < st->share.t && !e; k++) {
        e = kg_mpc_scalar_random(g, &st->b[k]);
        kg_mpc_point_base_mul(g, &st->B[st->me][k], &st->b[k]);
    }
    return e;
}

kg_err kg_mpc_cggmp_aux_run_round1(kg_mpc_cggmp_aux_run *st, kg_mpc_cggmp_msg **out, size_t *n_out)
{
    kg_mpc_zk_prm prm;
    uint8_t body[65] = {TAG_COM};
    *out = NULL;
    *n_out = 0;
    kg_err e = wrong_round(st, R1);
    if (e) return e;
    st->next = DEAD;
    memset(&prm, 0, sizeof prm);
    if ((e = round1_keys(st))) return e;
    kg_mpc_zk_ctx c = zk_ctx(st, st->sid, st->me);
    if (!(e = kg_mpc_zk_prm_prove(&prm, &c, &st->aux->rsk))) e = decom_encode(st, &prm);
    kg_mpc_zk_prm_clear(&prm);
    if (e) return e;
    kg_mpc_cggmp_commit(st->V[st->me], COM_DOMAIN, st->sid, st->share.id, st->decom.data, st->decom.len);
    memcpy(body + 1, st->V[st->me], 64);
    if ((e = kg_mpc_cggmp_msg_push(out, n_out, st->share.id, 0, body, sizeof body))) return e;
    st->next = R2;
    return KG_OK;
}

kg_err kg_mpc_cggmp_aux_run_round2(kg_mpc_cggmp_aux_run *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *bc[KG_CGGMP_MAX_PARTIES];
    const kg_mpc_cggmp_share *s = &st->share;
    *out = NULL;
    *n_out = 0;
    *culprit = 0;
    kg_err e = wrong_round(st, R2);
    if (e || (e = kg_mpc_cggmp_msgs_collect(bc, NULL, in, n_in, s->ids, s->n, s->id, culprit))) return e;
    for (size_t j = 0; j < s->n; j++)
        if (j != st->me && (bc[j]->body.len != 65 || bc[j]->body.data[0] != TAG_COM))
            return kg_mpc_cggmp_blame(culprit, s->ids[j], KG_ERR_BAD_INPUT, "aux commitment malformed");
    st->next = DEAD;
    for (size_t j = 0; j < s->n; j++)
        if (j != st->me) memcpy(st->V[j], bc[j]->body.data + 1, 64);
    if ((e = kg_mpc_cggmp_msg_push(out, n_out, s->id, 0, st->decom.data, st->decom.len))) return e;
    st->next = R3;
    return KG_OK;
}

/* j's N, s, t: sizes and ring-Pedersen checks, distinct moduli. */
static kg_err decom_params(kg_mpc_cggmp_aux_run *st, size_t j, kg_mpc_node_rd *r, uint16_t *culprit)
{
    BIGNUM *n = NULL, *s = NULL, *t = NULL;
    uint16_t from = st->share.ids[j];
    kg_mpc_cggmp_aux *a = st->aux;
    kg_err e = kg_mpc_bn_read(r, &n, NMAX_BYTES, "N");
    if (!e) e = kg_mpc_bn_read(r, &s, NMAX_BYTES, "s");
    if (!e) e = kg_mpc_bn_read(r, &t, NMAX_BYTES, "t");
    if (e) e = kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "aux decommitment malformed");
    else if (BN_is_negative(n) || BN_num_bits(n) < (int)KG_CGGMP_N_BITS_MIN)
        e = kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "Paillier modulus under %u bits",
                               KG_CGGMP_N_BITS_MIN);
    else if (kg_mpc_paillier_pk_set(&a->pk[j], n) || kg_mpc_rped_set(&a->rp[j], n, s, t))
        e = kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "bad Paillier/ring-Pedersen parameters");
    for (size_t k = 0; k < st->share.n && !e; k++)
        if (k != j && a->pk[k].n && BN_cmp(a->pk[k].n, n) == 0)
            e = kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "Paillier modulus reused from party %u",
                                   st->share.ids[k]);
    BN_free(n);
    BN_free(s);
    BN_free(t);
    return e;
}

/* Check j's decommitment against V_j and take its values. */
static kg_err decom_take(kg_mpc_cggmp_aux_run *st, size_t j, const kg_bytes *b, uint16_t *culprit)
{
    uint8_t v[64];
    kg_mpc_node_rd r;
    kg_mpc_zk_prm prm;
    const kg_mpc_group_id g = st->share.group;
    uint16_t from = st->share.ids[j], want = st->refresh ? (uint16_t)(st->share.t - 1) : 0;
    kg_mpc_cggmp_commit(v, COM_DOMAIN, st->sid, from, b->data, b->len);
    if (memcmp(v, st->V[j], 64) != 0)
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_VERIFY, "aux decommitment does not match V");
    kg_mpc_node_rd_init(&r, b->data, b->len);
    const uint8_t *tag = kg_mpc_node_rd_fixed(&r, 1);
    if (!tag || tag[0] != TAG_DECOM)
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "aux decommitment malformed");
    kg_err e = decom_params(st, j, &r, culprit);
    if (e) return e;
    memset(&prm, 0, sizeof prm);
    if (kg_mpc_zk_prm_read(&r, &prm)) {
        kg_mpc_zk_prm_clear(&prm);
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "Πprm malformed");
    }
    kg_mpc_zk_ctx c = zk_ctx(st, st->sid, j);
    e = kg_mpc_zk_prm_verify(&prm, &c, &st->aux->rp[j]);
    kg_mpc_zk_prm_clear(&prm);
    if (e) return kg_mpc_cggmp_blame(culprit, from, KG_ERR_VERIFY, "Πprm does not verify");
    const uint8_t *rho = kg_mpc_node_rd_fixed(&r, 32);
    kg_mpc_node_rd_fixed(&r, 32); /* salt: only ever hashed */
    uint16_t cnt = kg_mpc_node_rd_u16(&r);
    if (!rho || r.bad || cnt != want)
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "aux decommitment: bad refresh commitments");
    memcpy(st->rho[j], rho, 32);
    kg_mpc_point_identity(g, &st->B[j][0]);
    for (size_t k = 1; k <= cnt; k++)
        if (kg_mpc_point_read(&r, g, &st->B[j][k], "refresh commitment"))
            return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "refresh commitment %zu malformed", k);
    if (kg_mpc_node_rd_end(&r, "aux decommitment"))
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "aux decommitment malformed");
    return KG_OK;
}

/* Own entries of the aux, the joint ρ and sid2 = SHA-512(sid || ρ). */
static kg_err round3_joint(kg_mpc_cggmp_aux_run *st)
{
    kg_mpc_cggmp_aux *a = st->aux;
    uint8_t buf[64 + 32];
    kg_err e = kg_mpc_paillier_pk_set(&a->pk[st->me], a->sk.pk.n);
    if (!e) e = kg_mpc_rped_set(&a->rp[st->me], a->sk.pk.n, a->rsk.pub.s, a->rsk.pub.t);
    if (!e) e = kg_mpc_cggmp_aux_own_crt(a, st->me); /* own entries by CRT (cggmp_crt.c) */
    if (e) return e;
    memcpy(buf, st->sid, 64);
    memcpy(buf + 64, st->rho[st->me], 32);
    for (size_t j = 0; j < st->share.n; j++)
        for (size_t k = 0; k < 32 && j != st->me; k++) buf[64 + k] ^= st->rho[j][k];
    kg_crypto_sha512(st->sid2, buf, sizeof buf);
    return KG_OK;
}

/* Round 3's proofs as tasks (kg_mpc_cggmp_par): 0 is Πmod, j + 1 the Πfac
 * to party j (under j's ring-Pedersen parameters). */
typedef struct {
    kg_mpc_cggmp_aux_run *st;
    kg_mpc_zk_mod mod;
    kg_mpc_zk_fac fac[KG_CGGMP_MAX_PARTIES];
} r3_job;

static kg_err round3_task(void *arg, size_t i)
{
    r3_job *jb = arg;
    kg_mpc_cggmp_aux_run *st = jb->st;
    kg_mpc_zk_ctx c = zk_ctx(st, st->sid2, st->me);
#if KG_MPC_EVIL /* test build only */
    if (i == 0 && kg_mpc_evil_is("cg-bad-paillier")) return kg_mpc_evil_cg_mod_prove(&jb->mod, &c, &st->aux->sk);
#endif
    if (i == 0) return kg_mpc_zk_mod_prove(&jb->mod, &c, &st->aux->sk);
    if (i - 1 == st->me) return KG_OK;
    return kg_mpc_zk_fac_prove(&jb->fac[i - 1], &c, &st->aux->rp[i - 1], &st->aux->sk);
}

/* Πmod to all; Πfac (and the refresh share) to each j. */
static kg_err round3_out(kg_mpc_cggmp_aux_run *st, kg_mpc_cggmp_msg **out, size_t *n_out)
{
    const kg_mpc_cggmp_share *s = &st->share;
    kg_mpc_node_wr w = {0};
    uint8_t tag = TAG_MOD;
    r3_job *jb = calloc(1, sizeof *jb);
    if (!jb) return kg_err_set(KG_ERR_NOMEM, "out of memory in CGGMP21 aux round 3");
    jb->st = st;
    size_t failed = 0;
    kg_err e = kg_mpc_cggmp_par(s->n + 1, round3_task, jb, &failed);
    if (!e) {
        kg_mpc_node_wr_fixed(&w, &tag, 1);
        kg_mpc_zk_mod_write(&w, &jb->mod);
        if (!(e = kg_mpc_node_wr_done(&w))) e = kg_mpc_cggmp_msg_push(out, n_out, s->id, 0, w.b.data, w.b.len);
        kg_bytes_free(&w.b);
    }
    for (size_t j = 0; j < s->n && !e; j++) {
        kg_mpc_scalar x, y;
        if (j == st->me) continue;
        memset(&w, 0, sizeof w);
        tag = TAG_FAC;
        kg_mpc_node_wr_fixed(&w, &tag, 1);
        kg_mpc_zk_fac_write(&w, &jb->fac[j]);
        if (st->refresh) {
            kg_mpc_scalar_from_u64(s->group, &x, s->ids[j]);
            kg_mpc_frost_poly_eval(s->group, &y, st->b, s->t, &x);
            kg_mpc_node_wr_fixed(&w, y.b, sizeof y.b);
            kg_wipe(&y, sizeof y);
        }
        if (!(e = kg_mpc_node_wr_done(&w))) e = kg_mpc_cggmp_msg_push(out, n_out, s->id, s->ids[j], w.b.data, w.b.len);
        if (w.b.data) kg_wipe(w.b.data, w.b.len);
        kg_bytes_free(&w.b);
    }
    kg_mpc_zk_mod_clear(&jb->mod);
    for (size_t j = 0; j < s->n; j++) kg_mpc_zk_fac_clear(&jb->fac[j]);
    free(jb);
    return e;
}

kg_err kg_mpc_cggmp_aux_run_round3(kg_mpc_cggmp_aux_run *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_msg **out, size_t *n_out, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *bc[KG_CGGMP_MAX_PARTIES];
    const kg_mpc_cggmp_share *s = &st->share;
    *out = NULL;
    *n_out = 0;
    *culprit = 0;
    kg_err e = wrong_round(st, R3);
    if (e || (e = kg_mpc_cggmp_msgs_collect(bc, NULL, in, n_in, s->ids, s->n, s->id, culprit))) return e;
    st->next = DEAD;
    for (size_t j = 0; j < s->n && !e; j++)
        if (j != st->me) e = decom_take(st, j, &bc[j]->body, culprit);
    if (!e) e = round3_joint(st);
    if (!e) e = round3_out(st, out, n_out);
    if (e) {
        kg_mpc_cggmp_msgs_free(*out, *n_out);
        *out = NULL;
        *n_out = 0;
        return e;
    }
    st->next = FIN;
    return KG_OK;
}

/* j's Πmod, Πfac and refresh share; the share is added to *delta. */
static kg_err finish_one(kg_mpc_cggmp_aux_run *st, size_t j, const kg_mpc_cggmp_msg *bm,
                         const kg_mpc_cggmp_msg *pm, kg_mpc_scalar *delta, uint16_t *culprit)
{
    const kg_mpc_cggmp_share *s = &st->share;
    uint16_t from = s->ids[j];
    kg_mpc_zk_ctx c = zk_ctx(st, st->sid2, j);
    kg_mpc_node_rd r;
    kg_mpc_zk_mod mod;
    kg_mpc_zk_fac fac;
    kg_err e = KG_OK, v = KG_OK;
    memset(&mod, 0, sizeof mod);
    memset(&fac, 0, sizeof fac);
    kg_mpc_node_rd_init(&r, bm->body.data, bm->body.len);
    const uint8_t *tag = kg_mpc_node_rd_fixed(&r, 1);
    if (!tag || tag[0] != TAG_MOD || kg_mpc_zk_mod_read(&r, &mod) || kg_mpc_node_rd_end(&r, "Πmod"))
        e = kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "Πmod message malformed");
    else if ((v = kg_mpc_zk_mod_verify(&mod, &c, st->aux->pk[j].n)))
        e = kg_mpc_cggmp_blame(culprit, from, v == KG_ERR_NOMEM ? v : KG_ERR_VERIFY, "Πmod does not verify");
    else
        e = KG_OK;
    kg_mpc_zk_mod_clear(&mod);
    if (e) return e;
    kg_mpc_node_rd_init(&r, pm->body.data, pm->body.len);
    tag = kg_mpc_node_rd_fixed(&r, 1);
    if (!tag || tag[0] != TAG_FAC || kg_mpc_zk_fac_read(&r, &fac))
        e = kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "Πfac message malformed");
    else if ((v = kg_mpc_zk_fac_verify(&fac, &c, &st->aux->rp[st->me], st->aux->pk[j].n)))
        e = kg_mpc_cggmp_blame(culprit, from, v == KG_ERR_NOMEM ? v : KG_ERR_VERIFY, "Πfac does not verify");
    kg_mpc_zk_fac_clear(&fac);
    if (e) return e;
    kg_mpc_scalar y;
    kg_mpc_point p, q;
    const uint8_t *yb = st->refresh ? kg_mpc_node_rd_fixed(&r, 32) : NULL;
    if ((st->refresh && (!yb || kg_mpc_scalar_from_bytes(s->group, &y, yb, 32))) ||
        kg_mpc_node_rd_end(&r, "Πfac message"))
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_BAD_INPUT, "Πfac message malformed");
    if (!st->refresh) return KG_OK;
    kg_mpc_point_base_mul(s->group, &p, &y);
    kg_mpc_frost_vss_eval(s->group, &q, st->B[j], s->t, s->id);
    if (!kg_mpc_point_eq(s->group, &p, &q)) {
        kg_wipe(&y, sizeof y);
        return kg_mpc_cggmp_blame(culprit, from, KG_ERR_VERIFY, "refresh share does not match its commitments");
    }
    kg_mpc_scalar_add(s->group, delta, delta, &y);
    kg_wipe(&y, sizeof y);
    return KG_OK;
}

/* finish_one for every peer on threads (kg_mpc_cggmp_par), each into its
 * own share sum and culprit; the lowest failing peer is reported, as the
 * sequential loop would. */
typedef struct {
    kg_mpc_cggmp_aux_run *st;
    const kg_mpc_cggmp_msg *const *bc, *const *p2p;
    kg_mpc_scalar d[KG_CGGMP_MAX_PARTIES]; /* secret: g_j(i) */
    uint16_t culprit[KG_CGGMP_MAX_PARTIES];
} finish_job;

static kg_err finish_task(void *arg, size_t j)
{
    finish_job *fj = arg;
    if (j == fj->st->me) return KG_OK;
    return finish_one(fj->st, j, fj->bc[j], fj->p2p[j], &fj->d[j], &fj->culprit[j]);
}

static kg_err finish_all(kg_mpc_cggmp_aux_run *st, const kg_mpc_cggmp_msg *const *bc,
                         const kg_mpc_cggmp_msg *const *p2p, kg_mpc_scalar *delta, uint16_t *culprit)
{
    finish_job *fj = calloc(1, sizeof *fj);
    if (!fj) return kg_err_set(KG_ERR_NOMEM, "out of memory in CGGMP21 aux finish");
    fj->st = st; fj->bc = bc; fj->p2p = p2p;
    size_t failed = 0;
    kg_err e = kg_mpc_cggmp_par(st->share.n, finish_task, fj, &failed);
    if (e) *culprit = fj->culprit[failed];
    for (size_t j = 0; !e && j < st->share.n; j++)
        if (j != st->me) kg_mpc_scalar_add(st->share.group, delta, delta, &fj->d[j]);
    kg_wipe(fj, sizeof *fj);
    free(fj);
    return e;
}

/* The refreshed share: x + Σ g_j(i), X_k + Σ g_j(k)·G, same pub. */
static kg_err finish_share(kg_mpc_cggmp_aux_run *st, const kg_mpc_scalar *delta, kg_mpc_cggmp_share *out)
{
    kg_mpc_cggmp_share ns = st->share;
    kg_mpc_point p;
    kg_mpc_scalar_add(ns.group, &ns.x, &ns.x, delta);
    for (size_t k = 0; k < ns.n; k++)
        for (size_t j = 0; j < ns.n; j++) {
            kg_mpc_frost_vss_eval(ns.group, &p, st->B[j], ns.t, ns.ids[k]);
            kg_mpc_point_add(ns.group, &ns.X[k], &ns.X[k], &p);
        }
    ns.epoch++;
    /* share_check interpolates the new X_k to the unchanged pub */
    kg_err e = kg_mpc_cggmp_share_check(&ns);
    if (e) e = kg_err_set(KG_ERR_INTERNAL, "CGGMP21 refresh: the new shares do not interpolate to the key");
    else *out = ns;
    kg_wipe(&ns, sizeof ns);
    return e;
}

kg_err kg_mpc_cggmp_aux_run_finish(kg_mpc_cggmp_aux_run *st, const kg_mpc_cggmp_msg *in, size_t n_in,
                                   kg_mpc_cggmp_aux **aux_out, kg_mpc_cggmp_share *share_out, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *bc[KG_CGGMP_MAX_PARTIES], *p2p[KG_CGGMP_MAX_PARTIES];
    const kg_mpc_cggmp_share *s = &st->share;
    kg_mpc_scalar delta;
    *aux_out = NULL;
    if (share_out) memset(share_out, 0, sizeof *share_out);
    *culprit = 0;
    kg_err e = wrong_round(st, FIN);
    if (!e && st->refresh && !share_out) e = kg_err_set(KG_ERR_ARG, "CGGMP21 refresh: no share output");
    if (e || (e = kg_mpc_cggmp_msgs_collect(bc, p2p, in, n_in, s->ids, s->n, s->id, culprit))) return e;
    st->next = DEAD;
    kg_mpc_scalar xi; /* delta starts at g_i(i) */
    kg_mpc_scalar_from_u64(s->group, &xi, s->id);
    kg_mpc_frost_poly_eval(s->group, &delta, st->b, s->t, &xi);
    e = finish_all(st, bc, p2p, &delta, culprit);
    kg_mpc_cggmp_aux *a = st->aux;
    if (!e) {
        a->id = s->id;
        a->n = s->n;
        memcpy(a->ids, s->ids, sizeof a->ids);
        e = kg_mpc_cggmp_aux_digest(a);
    }
    if (!e && st->refresh) e = finish_share(st, &delta, share_out);
    kg_wipe(&delta, sizeof delta);
    if (e) return e;
    *aux_out = a;
    st->aux = NULL;
    st->next = DONE;
    return KG_OK;
}
