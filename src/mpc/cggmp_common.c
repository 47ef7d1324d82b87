/* CGGMP21 plumbing shared by every phase (keygen, aux/refresh, presign,
 * sign, blame): scheme names, round message lists and their sorting by
 * sender, the blame helper of identifiable abort, the session id that every
 * Fiat-Shamir challenge absorbs (the paper's sid, §3 "ssid"), and the
 * sealed-storage encodings of a key share and of the auxiliary info
 * (Fig. 6's output). Decoders re-check everything public, so a corrupted
 * or forged record is refused rather than trusted. */
#include "cggmp_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"

#include <openssl/evp.h>

#define SHARE_VERSION 1
#define AUX_VERSION 1

/* ------------------------------------------------------------ schemes */

const char *kg_mpc_cggmp_scheme_name(kg_mpc_group_id g)
{
    switch (g) {
    case KG_MPC_GROUP_SECP256K1: return "cggmp21-secp256k1";
    case KG_MPC_GROUP_P256: return "cggmp21-p256";
    default: return NULL;
    }
}

kg_err kg_mpc_cggmp_scheme_parse(kg_mpc_group_id *g, const char *name)
{
    static const kg_mpc_group_id all[] = {KG_MPC_GROUP_SECP256K1, KG_MPC_GROUP_P256};
    *g = 0;
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(name, kg_mpc_cggmp_scheme_name(all[i]))) {
            *g = all[i];
            return KG_OK;
        }
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown CGGMP21 scheme '%s' (known: cggmp21-secp256k1, cggmp21-p256)",
                      name ? name : "");
}

/* ----------------------------------------------------------- messages */

void kg_mpc_cggmp_msgs_free(kg_mpc_cggmp_msg *msgs, size_t n)
{
    if (!msgs) return;
    for (size_t i = 0; i < n; i++) {
        /* bodies may carry secret shares (point-to-point): wipe them */
        if (msgs[i].body.data) kg_wipe(msgs[i].body.data, msgs[i].body.len);
        kg_bytes_free(&msgs[i].body);
    }
    free(msgs);
}

kg_err kg_mpc_cggmp_msg_push(kg_mpc_cggmp_msg **list, size_t *n, uint16_t from, uint16_t to,
                             const uint8_t *body, size_t len)
{
    kg_mpc_cggmp_msg *l = realloc(*list, (*n + 1) * sizeof **list);
    if (!l) return kg_err_set(KG_ERR_NOMEM, "out of memory building a CGGMP21 message list");
    *list = l;
    kg_mpc_cggmp_msg *m = &l[*n];
    memset(m, 0, sizeof *m);
    if (kg_bytes_set(&m->body, body, len) != KG_OK)
        return kg_err_set(KG_ERR_NOMEM, "out of memory building a CGGMP21 message");
    m->from = from;
    m->to = to;
    (*n)++;
    return KG_OK;
}

kg_err kg_mpc_cggmp_blame(uint16_t *culprit, uint16_t party, kg_err err, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (culprit) *culprit = party;
    return kg_err_set(err, "party %u: %s", party, buf);
}

int kg_mpc_cggmp_index(const uint16_t *ids, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return (int)i;
    return -1;
}

/* Both lists are checked whole before anything is returned, so a refused
 * input leaves the caller's round untouched (it can be retried). */
kg_err kg_mpc_cggmp_msgs_collect(const kg_mpc_cggmp_msg **bc, const kg_mpc_cggmp_msg **p2p,
                                 const kg_mpc_cggmp_msg *in, size_t n_in, const uint16_t *ids, size_t n,
                                 uint16_t me, uint16_t *culprit)
{
    const kg_mpc_cggmp_msg *b[KG_CGGMP_MAX_PARTIES] = {0}, *p[KG_CGGMP_MAX_PARTIES] = {0};
    if (n_in && !in) return kg_err_set(KG_ERR_BAD_INPUT, "no message list");
    for (size_t k = 0; k < n_in; k++) {
        const kg_mpc_cggmp_msg *m = &in[k];
        int j = kg_mpc_cggmp_index(ids, n, m->from);
        if (j < 0 || m->from == me)
            return kg_mpc_cggmp_blame(culprit, m->from, KG_ERR_BAD_INPUT, "not a sender of this round");
        if (m->to != 0 && m->to != me)
            return kg_mpc_cggmp_blame(culprit, m->from, KG_ERR_BAD_INPUT, "message addressed to party %u", m->to);
        const kg_mpc_cggmp_msg **slot = m->to == 0 ? &b[j] : &p[j];
        if ((m->to == 0 && !bc) || (m->to != 0 && !p2p))
            return kg_mpc_cggmp_blame(culprit, m->from, KG_ERR_BAD_INPUT, "unexpected %s message",
                                      m->to ? "point-to-point" : "broadcast");
        if (*slot)
            return kg_mpc_cggmp_blame(culprit, m->from, KG_ERR_BAD_INPUT, "duplicate %s message",
                                      m->to ? "point-to-point" : "broadcast");
        *slot = m;
    }
    for (size_t j = 0; j < n; j++) {
        if (ids[j] == me) continue;
        if (bc && !b[j]) return kg_mpc_cggmp_blame(culprit, ids[j], KG_ERR_BAD_INPUT, "missing broadcast message");
        if (p2p && !p[j])
            return kg_mpc_cggmp_blame(culprit, ids[j], KG_ERR_BAD_INPUT, "missing point-to-point message");
    }
    if (bc) memcpy(bc, b, n * sizeof *bc);
    if (p2p) memcpy(p2p, p, n * sizeof *p2p);
    return KG_OK;
}

/* ---------------------------------------------------------------- sid */

void kg_mpc_cggmp_commit(uint8_t out[64], const char *domain, const uint8_t sid[64], uint16_t from,
                         const uint8_t *body, size_t len)
{
    /* One SHA-512 context over the fields: the body can be large (Πprm). */
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t hdr[4] = {(uint8_t)(strlen(domain) >> 24), (uint8_t)(strlen(domain) >> 16),
                      (uint8_t)(strlen(domain) >> 8), (uint8_t)strlen(domain)};
    uint8_t f[2] = {(uint8_t)(from >> 8), (uint8_t)from};
    uint8_t bl[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    unsigned olen = 0;
    if (!c || !EVP_DigestInit_ex(c, EVP_sha512(), NULL) || !EVP_DigestUpdate(c, hdr, 4) ||
        !EVP_DigestUpdate(c, domain, strlen(domain)) || !EVP_DigestUpdate(c, sid, 64) ||
        !EVP_DigestUpdate(c, f, 2) || !EVP_DigestUpdate(c, bl, 4) || (len && !EVP_DigestUpdate(c, body, len)) ||
        !EVP_DigestFinal_ex(c, out, &olen))
        abort(); /* as kg_crypto_sha512: OpenSSL out of memory */
    EVP_MD_CTX_free(c);
}

static void wr_u32(kg_mpc_node_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    kg_mpc_node_wr_fixed(w, b, 4);
}

static void wr_str(kg_mpc_node_wr *w, const char *s)
{
    kg_mpc_node_wr_blob(w, (const uint8_t *)s, strlen(s));
}

/* The key's public data: what the share says about everyone. */
static void wr_share_public(kg_mpc_node_wr *w, const kg_mpc_cggmp_share *s)
{
    kg_mpc_node_wr_u16(w, s->t);
    kg_mpc_node_wr_u16(w, s->n);
    for (size_t i = 0; i < s->n && i < KG_CGGMP_MAX_PARTIES; i++) {
        kg_mpc_node_wr_u16(w, s->ids[i]);
        kg_mpc_point_write(w, s->group, &s->X[i]);
    }
    kg_mpc_point_write(w, s->group, &s->pub);
    kg_mpc_node_wr_fixed(w, s->chain_code, sizeof s->chain_code);
    wr_u32(w, s->epoch);
}

kg_err kg_mpc_cggmp_sid(uint8_t out[64], const char *phase, kg_mpc_group_id g, const uint8_t *session,
                        size_t session_len, const kg_mpc_cggmp_share *share, const kg_mpc_cggmp_aux *aux,
                        const uint16_t *signers, size_t n_signers)
{
    kg_mpc_node_wr w = {0};
    uint8_t grp = (uint8_t)g;
    memset(out, 0, 64);
    wr_str(&w, "kashguard/cggmp21/sid/v1");
    wr_str(&w, phase);
    kg_mpc_node_wr_blob(&w, session, session_len);
    kg_mpc_node_wr_fixed(&w, &grp, 1);
    /* presence bytes keep the optional parts unambiguous */
    uint8_t has[3] = {share != NULL, aux != NULL, signers != NULL};
    kg_mpc_node_wr_fixed(&w, has, sizeof has);
    if (share) wr_share_public(&w, share);
    if (aux) kg_mpc_node_wr_fixed(&w, aux->digest, sizeof aux->digest);
    if (signers) {
        kg_mpc_node_wr_u16(&w, (uint16_t)n_signers);
        for (size_t i = 0; i < n_signers; i++) kg_mpc_node_wr_u16(&w, signers[i]);
    }
    kg_err e = kg_mpc_node_wr_done(&w);
    if (e) return e;
    kg_crypto_sha512(out, w.b.data, w.b.len);
    kg_bytes_free(&w.b);
    return KG_OK;
}

/* -------------------------------------------------------------- shares */

static bool ids_ok(const uint16_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == 0 || (i && ids[i] <= ids[i - 1])) return false;
    return true;
}

/* Σ λ_k·X_k over the parties at positions pos[0..t-1] (Lagrange at 0). */
static kg_err interpolate(const kg_mpc_cggmp_share *s, const size_t *pos, size_t t, kg_mpc_point *out)
{
    uint16_t set[KG_CGGMP_MAX_PARTIES];
    kg_mpc_point term;
    kg_mpc_scalar l;
    for (size_t k = 0; k < t; k++) set[k] = s->ids[pos[k]];
    kg_mpc_point_identity(s->group, out);
    for (size_t k = 0; k < t; k++) {
        kg_err e = kg_mpc_frost_lagrange(s->group, &l, set[k], set, t);
        if (e) return e;
        kg_mpc_point_mul(s->group, &term, &l, &s->X[pos[k]]);
        kg_mpc_point_add(s->group, out, out, &term);
    }
    return KG_OK;
}

kg_err kg_mpc_cggmp_share_check(const kg_mpc_cggmp_share *s)
{
    if (!kg_mpc_cggmp_scheme_name(s->group)) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: bad group");
    if (s->t < 2 || s->t > s->n || s->n > KG_CGGMP_MAX_PARTIES)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: bad threshold %u of %u", s->t, s->n);
    if (!ids_ok(s->ids, s->n)) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: party ids not increasing");
    int me = kg_mpc_cggmp_index(s->ids, s->n, s->id);
    if (me < 0) return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: own id %u not among the parties", s->id);
    for (size_t i = 0; i < s->n; i++)
        if (kg_mpc_point_is_identity(s->group, &s->X[i]))
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: public share of %u is the identity", s->ids[i]);
    if (kg_mpc_point_is_identity(s->group, &s->pub))
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: public key is the identity");
    kg_mpc_point xg;
    kg_mpc_point_base_mul(s->group, &xg, &s->x);
    if (!kg_mpc_point_eq(s->group, &xg, &s->X[me]))
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: x·G is not the own public share");
    /* The first t-1 parties plus any other one must interpolate to pub:
     * then every X_j lies on the one degree t-1 polynomial through pub. */
    size_t pos[KG_CGGMP_MAX_PARTIES];
    for (size_t k = 0; k + 1 < s->t; k++) pos[k] = k;
    for (size_t j = s->t - 1u; j < s->n; j++) {
        kg_mpc_point p;
        pos[s->t - 1] = j;
        if (interpolate(s, pos, s->t, &p) != KG_OK || !kg_mpc_point_eq(s->group, &p, &s->pub))
            return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: public shares do not interpolate to the key");
    }
    return KG_OK;
}

kg_err kg_mpc_cggmp_share_encode(kg_bytes *out, const kg_mpc_cggmp_share *s)
{
    memset(out, 0, sizeof *out);
    if (s->n > KG_CGGMP_MAX_PARTIES || !kg_mpc_cggmp_scheme_name(s->group))
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: not encodable");
    kg_mpc_node_wr w = {0};
    uint8_t grp = (uint8_t)s->group;
    kg_mpc_node_wr_u16(&w, SHARE_VERSION);
    kg_mpc_node_wr_fixed(&w, &grp, 1);
    kg_mpc_node_wr_u16(&w, s->id);
    kg_mpc_node_wr_fixed(&w, s->x.b, sizeof s->x.b);
    wr_share_public(&w, s);
    kg_err e = kg_mpc_node_wr_done(&w);
    if (e) return e;
    *out = w.b;
    return KG_OK;
}

kg_err kg_mpc_cggmp_share_decode(kg_mpc_cggmp_share *out, const uint8_t *in, size_t len)
{
    kg_mpc_cggmp_share s;
    kg_mpc_node_rd r;
    kg_err e = KG_ERR_BAD_INPUT;
    memset(out, 0, sizeof *out);
    memset(&s, 0, sizeof s);
    kg_mpc_node_rd_init(&r, in, len);
    if (kg_mpc_node_rd_u16(&r) != SHARE_VERSION) goto bad;
    const uint8_t *p = kg_mpc_node_rd_fixed(&r, 1);
    if (!p || !kg_mpc_cggmp_scheme_name((kg_mpc_group_id)p[0])) goto bad;
    s.group = (kg_mpc_group_id)p[0];
    s.id = kg_mpc_node_rd_u16(&r);
    p = kg_mpc_node_rd_fixed(&r, KG_MPC_SCALAR_BYTES);
    if (!p || kg_mpc_scalar_from_bytes(s.group, &s.x, p, KG_MPC_SCALAR_BYTES)) goto bad;
    s.t = kg_mpc_node_rd_u16(&r);
    s.n = kg_mpc_node_rd_u16(&r);
    if (s.n > KG_CGGMP_MAX_PARTIES) goto bad;
    for (size_t i = 0; i < s.n; i++) {
        s.ids[i] = kg_mpc_node_rd_u16(&r);
        if (r.bad || kg_mpc_point_read(&r, s.group, &s.X[i], "public share")) goto bad;
    }
    if (kg_mpc_point_read(&r, s.group, &s.pub, "public key")) goto bad;
    p = kg_mpc_node_rd_fixed(&r, KG_CGGMP_CHAIN_CODE_BYTES);
    if (!p) goto bad;
    memcpy(s.chain_code, p, KG_CGGMP_CHAIN_CODE_BYTES);
    p = kg_mpc_node_rd_fixed(&r, 4);
    if (!p) goto bad;
    s.epoch = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if ((e = kg_mpc_node_rd_end(&r, "CGGMP21 share")) || (e = kg_mpc_cggmp_share_check(&s))) goto out;
    *out = s;
    e = KG_OK;
    goto out;
bad:
    e = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 share: malformed encoding");
out:
    kg_wipe(&s, sizeof s);
    return e;
}

/* ----------------------------------------------------------------- aux */

kg_mpc_cggmp_aux *kg_mpc_cggmp_aux_new(void)
{
    return calloc(1, sizeof(kg_mpc_cggmp_aux));
}

void kg_mpc_cggmp_aux_free(kg_mpc_cggmp_aux *a)
{
    if (!a) return;
    kg_mpc_paillier_sk_clear(&a->sk);
    kg_mpc_rped_sk_clear(&a->rsk);
    for (size_t i = 0; i < KG_CGGMP_MAX_PARTIES; i++) {
        kg_mpc_paillier_pk_clear(&a->pk[i]);
        kg_mpc_rped_clear(&a->rp[i]);
    }
    kg_wipe(a, sizeof *a);
    free(a);
}

kg_err kg_mpc_cggmp_aux_digest(kg_mpc_cggmp_aux *a)
{
    kg_mpc_node_wr w = {0};
    wr_str(&w, "kashguard/cggmp21/aux/v1");
    for (size_t i = 0; i < a->n && i < KG_CGGMP_MAX_PARTIES; i++) {
        kg_mpc_node_wr_u16(&w, a->ids[i]);
        kg_mpc_bn_write(&w, a->pk[i].n);
        kg_mpc_bn_write(&w, a->rp[i].s);
        kg_mpc_bn_write(&w, a->rp[i].t);
    }
    kg_err e = kg_mpc_node_wr_done(&w);
    if (e) return e;
    kg_crypto_sha512(a->digest, w.b.data, w.b.len);
    kg_bytes_free(&w.b);
    return KG_OK;
}

kg_err kg_mpc_cggmp_aux_encode(kg_bytes *out, const kg_mpc_cggmp_aux *a)
{
    memset(out, 0, sizeof *out);
    int me = kg_mpc_cggmp_index(a->ids, a->n, a->id);
    if (me < 0 || a->n > KG_CGGMP_MAX_PARTIES || !a->sk.p || !a->rsk.lambda)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: incomplete");
    kg_mpc_node_wr w = {0};
    kg_mpc_node_wr_u16(&w, AUX_VERSION);
    kg_mpc_node_wr_u16(&w, a->id);
    kg_mpc_node_wr_u16(&w, a->n);
    kg_mpc_bn_write(&w, a->sk.p);
    kg_mpc_bn_write(&w, a->sk.q);
    kg_mpc_bn_write(&w, a->rsk.lambda);
    for (size_t i = 0; i < a->n; i++) {
        kg_mpc_node_wr_u16(&w, a->ids[i]);
        kg_mpc_bn_write(&w, a->pk[i].n);
        kg_mpc_bn_write(&w, a->rp[i].s);
        kg_mpc_bn_write(&w, a->rp[i].t);
    }
    kg_err e = kg_mpc_node_wr_done(&w);
    if (e) return e;
    *out = w.b;
    return KG_OK;
}

/* One party's public (N, s, t), re-validated as a peer's would be. */
static kg_err aux_read_party(kg_mpc_node_rd *r, kg_mpc_cggmp_aux *a, size_t i)
{
    BIGNUM *n = NULL, *s = NULL, *t = NULL;
    const size_t max = KG_CGGMP_N_BITS_MAX / 8 + 1;
    a->ids[i] = kg_mpc_node_rd_u16(r);
    kg_err e = kg_mpc_bn_read(r, &n, max, "aux N");
    if (!e) e = kg_mpc_bn_read(r, &s, max, "aux s");
    if (!e) e = kg_mpc_bn_read(r, &t, max, "aux t");
    if (!e) e = kg_mpc_paillier_pk_set(&a->pk[i], n);
    if (!e) e = kg_mpc_rped_set(&a->rp[i], n, s, t);
    BN_free(n);
    BN_free(s);
    BN_free(t);
    return e;
}

/* The owner's secrets: sk from p, q; the ring-Pedersen λ must give s = t^λ. */
static kg_err aux_own_keys(kg_mpc_cggmp_aux *a, const BIGNUM *p, const BIGNUM *q, const BIGNUM *lambda, int me)
{
    kg_err e = kg_mpc_paillier_sk_from_primes(&a->sk, p, q);
    if (e) return e;
    if (BN_cmp(a->sk.pk.n, a->pk[me].n) != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: own primes do not give own N");
    BIGNUM *chk = BN_new();
    a->rsk.lambda = kg_mpc_bn_secret_new();
    a->rsk.phi = kg_mpc_bn_secret_new();
    if (!chk || !a->rsk.lambda || !a->rsk.phi || !BN_copy(a->rsk.lambda, lambda) ||
        !BN_copy(a->rsk.phi, a->sk.phi)) {
        BN_free(chk);
        return kg_err_set(KG_ERR_NOMEM, "out of memory decoding CGGMP21 aux");
    }
    BN_set_flags(a->rsk.lambda, BN_FLG_CONSTTIME);
    const kg_mpc_rped *rp = &a->rp[me];
    e = kg_mpc_rped_set(&a->rsk.pub, rp->mod.n, rp->s, rp->t);
    if (!e && (BN_is_negative(lambda) || BN_cmp(lambda, a->rsk.phi) >= 0))
        e = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: ring-Pedersen λ out of range");
    if (!e) e = kg_mpc_bn_exp_secret(chk, rp->t, a->rsk.lambda, &rp->mod);
    if (!e && BN_cmp(chk, rp->s) != 0) e = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: s is not t^λ");
    BN_free(chk);
    return e;
}

kg_err kg_mpc_cggmp_aux_decode(kg_mpc_cggmp_aux **out, const uint8_t *in, size_t len)
{
    BIGNUM *p = NULL, *q = NULL, *lambda = NULL;
    kg_mpc_node_rd r;
    kg_err e;
    *out = NULL;
    kg_mpc_cggmp_aux *a = kg_mpc_cggmp_aux_new();
    if (!a) return kg_err_set(KG_ERR_NOMEM, "out of memory decoding CGGMP21 aux");
    kg_mpc_node_rd_init(&r, in, len);
    uint16_t ver = kg_mpc_node_rd_u16(&r);
    a->id = kg_mpc_node_rd_u16(&r);
    a->n = kg_mpc_node_rd_u16(&r);
    if (r.bad || ver != AUX_VERSION || a->n < 2 || a->n > KG_CGGMP_MAX_PARTIES) {
        e = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: bad header");
        goto out;
    }
    const size_t half = KG_CGGMP_N_BITS_MAX / 16 + 1;
    if ((e = kg_mpc_bn_read(&r, &p, half, "aux p")) || (e = kg_mpc_bn_read(&r, &q, half, "aux q")) ||
        (e = kg_mpc_bn_read(&r, &lambda, KG_CGGMP_N_BITS_MAX / 8 + 1, "aux lambda")))
        goto out;
    BN_set_flags(p, BN_FLG_CONSTTIME);
    BN_set_flags(q, BN_FLG_CONSTTIME);
    BN_set_flags(lambda, BN_FLG_CONSTTIME);
    for (size_t i = 0; i < a->n; i++)
        if ((e = aux_read_party(&r, a, i))) goto out;
    int me = kg_mpc_cggmp_index(a->ids, a->n, a->id);
    if (!ids_ok(a->ids, a->n) || me < 0) {
        e = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: bad party list");
        goto out;
    }
    if ((e = kg_mpc_node_rd_end(&r, "CGGMP21 aux")) || (e = aux_own_keys(a, p, q, lambda, me)) ||
        (e = kg_mpc_cggmp_aux_own_crt(a, (size_t)me)) || (e = kg_mpc_cggmp_aux_digest(a)))
        goto out;
    *out = a;
    a = NULL;
out:
    if (e && e != KG_ERR_NOMEM) {
        char why[160]; /* the detail lives in the buffer kg_err_set rewrites */
        snprintf(why, sizeof why, "%s", kg_err_detail(e));
        e = kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: %s", why);
    }
    kg_mpc_bn_free(p);
    kg_mpc_bn_free(q);
    kg_mpc_bn_free(lambda);
    kg_mpc_cggmp_aux_free(a);
    return e;
}

/* --- performance engineer: CRT on the owner's entries (cggmp_crt.c) --- */

kg_err kg_mpc_cggmp_aux_own_crt(kg_mpc_cggmp_aux *a, size_t me)
{
    const BIGNUM *p = a->sk.p, *q = a->sk.q;
    if (me >= KG_CGGMP_MAX_PARTIES || !p || !q || !a->pk[me].n || !a->rp[me].mod.n || !a->rsk.pub.mod.n)
        return kg_err_set(KG_ERR_BAD_INPUT, "CGGMP21 aux: own entries missing");
    /* kg_mpc_mod_set_crt refuses factors that do not give the modulus. */
    kg_err e = kg_mpc_mod_set_crt(&a->pk[me].mod_n, p, q, 1);
    if (!e) e = kg_mpc_mod_set_crt(&a->pk[me].mod_nn, p, q, 2);
    if (!e) e = kg_mpc_mod_set_crt(&a->rp[me].mod, p, q, 1);
    if (!e && !a->rsk.pub.mod.crt) e = kg_mpc_mod_set_crt(&a->rsk.pub.mod, p, q, 1);
    return e;
}
