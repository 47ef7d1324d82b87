/* Fiat-Shamir transcripts for the CGGMP21 proofs (eprint 2021/060, §2.2
 * and §C: every Σ-protocol is made non-interactive by hashing the
 * statement, the prover's first message and the context).
 *
 * The transcript is SHA-512 over length-prefixed, labelled fields, so no
 * two different sequences of fields hash the same bytes:
 *   u32 len(domain) || domain || u32 len(sid) || sid || u16 prover ||
 *   u8 group || per field: u32 len(label) || label || u32 len || value.
 * The context (session id with the aux digest, prover index) is absorbed
 * first: a proof made for one session or one prover is useless in another.
 *
 * Challenges come from an expandable stream SHA-512(seed || u64 counter)
 * (big-endian), seed = the transcript digest. Values in a range are drawn
 * by rejection over the minimal number of bits, so they are exactly
 * uniform: the soundness analysis assumes e uniform in ±q (no modular
 * bias from reducing a wide hash). */
#include <string.h>

#include <openssl/evp.h>

#include "kashguard/err.h"
#include "cggmp_zk.h"
#include "mpc_int.h"

static void put_u32(uint8_t b[4], size_t v)
{
    b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
}

static void absorb(kg_mpc_fs *fs, const void *p, size_t len)
{
    if (fs->final) kg_mpc_fatal("cggmp fs: field absorbed after the first challenge");
    if (len && EVP_DigestUpdate(fs->md, p, len) != 1) kg_mpc_fatal("cggmp fs: SHA-512 update failed");
}

/* u32 len || data */
static void absorb_lp(kg_mpc_fs *fs, const uint8_t *data, size_t len)
{
    uint8_t b[4];
    put_u32(b, len);
    absorb(fs, b, 4);
    absorb(fs, data, len);
}

kg_err kg_mpc_fs_init(kg_mpc_fs *fs, const char *domain, const kg_mpc_zk_ctx *ctx)
{
    memset(fs, 0, sizeof(*fs));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha512(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return kg_err_set(KG_ERR_NOMEM, "cggmp fs: cannot start SHA-512");
    }
    fs->md = md;
    fs->used = sizeof(fs->block); /* no block drawn yet */
    absorb_lp(fs, (const uint8_t *)domain, strlen(domain));
    absorb_lp(fs, ctx->sid, ctx->sid_len);
    uint8_t b[3] = {(uint8_t)(ctx->prover >> 8), (uint8_t)ctx->prover, (uint8_t)ctx->group};
    absorb(fs, b, 3);
    return KG_OK;
}

void kg_mpc_fs_bytes(kg_mpc_fs *fs, const char *label, const uint8_t *data, size_t len)
{
    absorb_lp(fs, (const uint8_t *)label, strlen(label));
    absorb_lp(fs, data, len);
}

void kg_mpc_fs_bn(kg_mpc_fs *fs, const char *label, const BIGNUM *x)
{
    /* The value is the kg_mpc_bn_write form: sign byte, minimal magnitude. */
    int n = BN_num_bytes(x);
    uint8_t sign = BN_is_negative(x) ? 1 : 0;
    uint8_t *mag = OPENSSL_malloc(n ? (size_t)n : 1);
    if (!mag) kg_mpc_fatal("cggmp fs: out of memory");
    if (n) BN_bn2bin(x, mag);
    uint8_t b[4];
    absorb_lp(fs, (const uint8_t *)label, strlen(label));
    put_u32(b, (size_t)n + 1);
    absorb(fs, b, 4);
    absorb(fs, &sign, 1);
    absorb(fs, mag, (size_t)n);
    OPENSSL_free(mag);
}

void kg_mpc_fs_point(kg_mpc_fs *fs, const char *label, kg_mpc_group_id g, const kg_mpc_point *p)
{
    uint8_t buf[KG_MPC_POINT_MAX_BYTES] = {0};
    size_t len = kg_mpc_group_point_len(g);
    /* The identity has no SEC1 compressed form; it is absorbed as len zero
     * bytes, which no serialized point equals (prefix 02 or 03). */
    if (kg_mpc_point_serialize(g, buf, p) != KG_OK) memset(buf, 0, sizeof(buf));
    kg_mpc_fs_bytes(fs, label, buf, len);
}

/* ------------------------------------------------------------ challenges */

static kg_err squeeze(kg_mpc_fs *fs, uint8_t *out, size_t len)
{
    if (!fs->final) {
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(fs->md, fs->seed, &n) != 1 || n != sizeof(fs->seed))
            return kg_err_set(KG_ERR_CRYPTO, "cggmp fs: SHA-512 failed");
        fs->final = true;
    }
    while (len) {
        if (fs->used == sizeof(fs->block)) {
            uint8_t ctr[8];
            for (int i = 0; i < 8; i++) ctr[i] = (uint8_t)(fs->counter >> (56 - 8 * i));
            unsigned int n = 0;
            if (EVP_DigestInit_ex(fs->md, EVP_sha512(), NULL) != 1 ||
                EVP_DigestUpdate(fs->md, fs->seed, sizeof(fs->seed)) != 1 ||
                EVP_DigestUpdate(fs->md, ctr, 8) != 1 || EVP_DigestFinal_ex(fs->md, fs->block, &n) != 1)
                return kg_err_set(KG_ERR_CRYPTO, "cggmp fs: SHA-512 failed");
            fs->counter++;
            fs->used = 0;
        }
        size_t take = sizeof(fs->block) - fs->used;
        if (take > len) take = len;
        memcpy(out, fs->block + fs->used, take);
        fs->used += take;
        out += take;
        len -= take;
    }
    return KG_OK;
}

/* x uniform in [0, bound]: draw bits(bound) bits, reject above bound.
 * Each try succeeds with probability > 1/2. */
static kg_err draw_upto(kg_mpc_fs *fs, BIGNUM *x, const BIGNUM *bound)
{
    uint8_t buf[KG_CGGMP_BN_MAX_BYTES];
    int bits = BN_num_bits(bound);
    size_t nbytes = ((size_t)bits + 7) / 8;
    KG_ARG_CHECK(bits > 0 && nbytes <= sizeof(buf));
    uint8_t mask = (uint8_t)(bits % 8 ? (1u << (bits % 8)) - 1 : 0xff);
    for (;;) {
        kg_err err = squeeze(fs, buf, nbytes);
        if (err) return err;
        buf[0] &= mask;
        if (!BN_bin2bn(buf, (int)nbytes, x)) return kg_err_set(KG_ERR_NOMEM, "cggmp fs: out of memory");
        if (BN_cmp(x, bound) <= 0) return KG_OK;
    }
}

kg_err kg_mpc_fs_challenge_pm(kg_mpc_fs *fs, BIGNUM *e, const BIGNUM *q)
{
    KG_ARG_CHECK(!BN_is_negative(q) && !BN_is_zero(q));
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *q2 = BN_CTX_get(ctx);
    kg_err err = q2 && BN_lshift1(q2, q) ? KG_OK : kg_err_set(KG_ERR_NOMEM, "cggmp fs: out of memory");
    /* u uniform in [0, 2q], e = u - q uniform in [-q, q]. */
    if (!err) err = draw_upto(fs, e, q2);
    if (!err && !BN_sub(e, e, q)) err = kg_err_set(KG_ERR_NOMEM, "cggmp fs: out of memory");
    if (err) BN_zero(e);
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_fs_challenge_mod(kg_mpc_fs *fs, BIGNUM *x, const BIGNUM *n)
{
    KG_ARG_CHECK(!BN_is_negative(n) && !BN_is_zero(n));
    BN_CTX *ctx = kg_mpc_bn_ctx();
    BN_CTX_start(ctx);
    BIGNUM *top = BN_CTX_get(ctx);
    kg_err err = top && BN_sub(top, n, BN_value_one()) ? KG_OK
                                                       : kg_err_set(KG_ERR_NOMEM, "cggmp fs: out of memory");
    if (!err && BN_is_zero(top)) BN_zero(x); /* n = 1: the only value */
    else if (!err) err = draw_upto(fs, x, top);
    if (err) BN_zero(x);
    BN_CTX_end(ctx);
    return err;
}

kg_err kg_mpc_fs_challenge_bits(kg_mpc_fs *fs, uint8_t *out, size_t nbits)
{
    uint8_t byte = 0;
    for (size_t i = 0; i < nbits; i++) {
        if (i % 8 == 0) {
            kg_err err = squeeze(fs, &byte, 1);
            if (err) {
                memset(out, 0, nbits);
                return err;
            }
        }
        out[i] = (uint8_t)((byte >> (i % 8)) & 1);
    }
    return KG_OK;
}

void kg_mpc_fs_free(kg_mpc_fs *fs)
{
    EVP_MD_CTX_free(fs->md);
    kg_wipe(fs, sizeof(*fs));
}
