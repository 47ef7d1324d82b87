/* Hashes, password KDFs and ciphers the chain and wallet layers need
 * (crypto.h, "for chains"): RIPEMD-160/HASH160/SHA256d and BIP340 tagged
 * hashes for Bitcoin, Keccak-256 for Ethereum, PBKDF2 (BIP39 seeds,
 * keystore v3), scrypt and AES-128-CTR (keystore v3), Argon2id and
 * XChaCha20-Poly1305 (our own wallet files).
 *
 * Everything is a thin wrapper over OpenSSL 3 or libsodium, except
 * Keccak-256: OpenSSL 3.0 offers SHA3-256 (FIPS 202 padding 0x06) but not
 * the original Keccak padding (0x01) that Ethereum uses, and libsodium has
 * neither. So the Keccak-f[1600] permutation is written here from FIPS 202
 * §3.2-3.3 (the step mappings theta, rho, pi, chi, iota; the round constants
 * and rho offsets come from Algorithms 5 and §3.2.2 and the test suite
 * recomputes them from those algorithms) with the sponge of §4 at rate 1088
 * bits (136 bytes) and Keccak's pad10*1 with domain byte 0x01 (the Keccak
 * team's submission, which Ethereum froze before FIPS 202 changed it). The
 * permutation has no data-dependent branches or table indexes.
 *
 * RIPEMD-160: OpenSSL 3.0.0-3.0.6 had it only in the "legacy" provider;
 * 3.0.7 and later also ship it in the default provider. We fetch it once
 * from the default provider and, if that fails, load the legacy provider
 * (keeping the default one available) and fetch it from there.
 *
 * The void hashes abort if OpenSSL cannot compute them (out of memory or a
 * broken provider), as hash.c does: carrying on with an unset digest would
 * be a security bug and a void API cannot report it. */
#include "crypto_int.h"

#include <limits.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t g_empty[1];

static void die(const char *what)
{
    fprintf(stderr, "kashguard: %s (out of memory or broken OpenSSL provider); aborting\n", what);
    abort();
}

/* ------------------------------------------------------------ RIPEMD-160 */

static pthread_once_t g_rmd_once = PTHREAD_ONCE_INIT;
static EVP_MD *g_rmd160;

static void rmd_fetch_once(void)
{
    g_rmd160 = EVP_MD_fetch(NULL, "RIPEMD160", NULL);
    if (g_rmd160 != NULL)
        return;
    /* OpenSSL < 3.0.7: legacy provider only. try_load(.., 1) keeps the
     * default provider as a fallback for every other algorithm. */
    if (OSSL_PROVIDER_try_load(NULL, "legacy", 1) != NULL)
        g_rmd160 = EVP_MD_fetch(NULL, "RIPEMD160", "provider=legacy");
}

void kg_crypto_ripemd160(uint8_t out[static KG_RIPEMD160_BYTES], const uint8_t *in, size_t len)
{
    pthread_once(&g_rmd_once, rmd_fetch_once);
    if (g_rmd160 == NULL)
        die("OpenSSL has no RIPEMD-160 (neither the default nor the legacy provider has it)");
    if (EVP_Digest(len ? in : g_empty, len, out, NULL, g_rmd160, NULL) != 1)
        die("OpenSSL could not compute RIPEMD-160");
}

void kg_crypto_hash160(uint8_t out[static KG_RIPEMD160_BYTES], const uint8_t *in, size_t len)
{
    uint8_t h[KG_SHA256_BYTES];
    kg_crypto_sha256(h, in, len);
    kg_crypto_ripemd160(out, h, sizeof h);
    kg_wipe(h, sizeof h);
}

void kg_crypto_sha256d(uint8_t out[static KG_SHA256_BYTES], const uint8_t *in, size_t len)
{
    uint8_t h[KG_SHA256_BYTES];
    kg_crypto_sha256(h, in, len);
    kg_crypto_sha256(out, h, sizeof h);
    kg_wipe(h, sizeof h);
}

/* BIP340 "Design / Tagged Hashes": SHA256(SHA256(tag) || SHA256(tag) || msg). */
void kg_crypto_tagged_hash(uint8_t out[static KG_SHA256_BYTES], const char *tag,
                           const uint8_t *msg, size_t len)
{
    uint8_t th[KG_SHA256_BYTES];
    kg_crypto_sha256(th, (const uint8_t *)tag, strlen(tag));
    kg_crypto_sha256_ctx ctx;
    kg_crypto_sha256_init(&ctx);
    kg_crypto_sha256_update(&ctx, th, sizeof th);
    kg_crypto_sha256_update(&ctx, th, sizeof th);
    kg_crypto_sha256_update(&ctx, msg, len);
    kg_crypto_sha256_final(out, &ctx);
}

/* ------------------------------------------------------------ Keccak-256 */

#define KECCAK_RATE 136 /* bytes: 1600 - 2*256 bits of capacity */
#define KECCAK_ROUNDS 24

/* RC[i] of iota for rounds 0..23 (FIPS 202 Algorithms 5 and 6). */
static const uint64_t keccak_rc[KECCAK_ROUNDS] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
    0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
    0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
    0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
    0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
    0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
    0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho offsets (FIPS 202 §3.2.2) of lane A[x,y], indexed x + 5y. */
static const unsigned keccak_rho[25] = {
    0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43,
    25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14,
};

static inline uint64_t rotl64(uint64_t v, unsigned n)
{
    return n == 0 ? v : (v << n) | (v >> (64 - n)); /* n is a public constant */
}

/* Keccak-f[1600] on a state of 25 lanes, lane (x,y) at a[x + 5y], each
 * lane little-endian in the byte string (FIPS 202 §3.1.2). */
static void keccak_f1600(uint64_t a[25])
{
    uint64_t c[5], b[25];
    for (unsigned round = 0; round < KECCAK_ROUNDS; round++) {
        /* theta: add the parities of two neighbouring columns */
        for (unsigned x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (unsigned x = 0; x < 5; x++) {
            uint64_t d = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
            for (unsigned y = 0; y < 5; y++)
                a[x + 5 * y] ^= d;
        }
        /* rho and pi: B[y, 2x+3y] = ROT(A[x,y], r[x,y]) */
        for (unsigned x = 0; x < 5; x++)
            for (unsigned y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(a[x + 5 * y], keccak_rho[x + 5 * y]);
        /* chi: the only non-linear step, row by row */
        for (unsigned y = 0; y < 5; y++)
            for (unsigned x = 0; x < 5; x++)
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        /* iota */
        a[0] ^= keccak_rc[round];
    }
    kg_wipe(b, sizeof b);
    kg_wipe(c, sizeof c);
}

void kg_crypto_keccak256_init(kg_crypto_keccak_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
}

static inline void keccak_xor_byte(kg_crypto_keccak_ctx *ctx, size_t pos, uint8_t v)
{
    ctx->st[pos / 8] ^= (uint64_t)v << (8 * (pos % 8));
}

void kg_crypto_keccak256_update(kg_crypto_keccak_ctx *ctx, const uint8_t *in, size_t len)
{
    size_t pos = ctx->pos;
    while (len > 0) {
        if (pos % 8 == 0 && len >= 8) { /* whole little-endian lane */
            uint64_t lane = 0;
            for (unsigned i = 0; i < 8; i++)
                lane |= (uint64_t)in[i] << (8 * i);
            ctx->st[pos / 8] ^= lane;
            pos += 8, in += 8, len -= 8;
        } else {
            keccak_xor_byte(ctx, pos, *in);
            pos++, in++, len--;
        }
        if (pos == KECCAK_RATE) {
            keccak_f1600(ctx->st);
            pos = 0;
        }
    }
    ctx->pos = pos;
}

void kg_crypto_keccak256_final(uint8_t out[static KG_KECCAK256_BYTES], kg_crypto_keccak_ctx *ctx)
{
    /* pad10*1 with Keccak's domain bit: 0x01 ... 0x80 (the same byte
     * becomes 0x81 when only one byte of the block is left). */
    keccak_xor_byte(ctx, ctx->pos, 0x01);
    keccak_xor_byte(ctx, KECCAK_RATE - 1, 0x80);
    keccak_f1600(ctx->st);
    for (size_t i = 0; i < KG_KECCAK256_BYTES; i++)
        out[i] = (uint8_t)(ctx->st[i / 8] >> (8 * (i % 8)));
    kg_wipe(ctx, sizeof *ctx);
}

void kg_crypto_keccak256(uint8_t out[static KG_KECCAK256_BYTES], const uint8_t *in, size_t len)
{
    kg_crypto_keccak_ctx ctx;
    kg_crypto_keccak256_init(&ctx);
    kg_crypto_keccak256_update(&ctx, in, len);
    kg_crypto_keccak256_final(out, &ctx);
}

/* ------------------------------------------------------------------ KDFs */

static kg_err pbkdf2(uint8_t *out, size_t out_len, const char *name, const uint8_t *pass,
                     size_t pass_len, const uint8_t *salt, size_t salt_len, uint32_t iterations)
{
    KG_ARG_CHECK(out != NULL);
    KG_ARG_CHECK(pass != NULL || pass_len == 0);
    KG_ARG_CHECK(salt != NULL || salt_len == 0);
    if (out_len == 0 || out_len > INT_MAX || pass_len > INT_MAX || salt_len > INT_MAX ||
        iterations == 0 || iterations > INT_MAX) {
        if (out_len > 0 && out_len <= INT_MAX)
            kg_wipe(out, out_len);
        return kg_err_set(KG_ERR_BAD_INPUT, "PBKDF2-%s: output length %zu, password length %zu, "
                          "salt length %zu or iteration count %u is out of range; use 1 to "
                          "INT_MAX for each (at least 1 output byte and 1 iteration)",
                          name, out_len, pass_len, salt_len, iterations);
    }
    EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
    int ok = md != NULL &&
             PKCS5_PBKDF2_HMAC(pass_len ? (const char *)pass : "", (int)pass_len,
                               salt_len ? salt : g_empty, (int)salt_len, (int)iterations, md,
                               (int)out_len, out) == 1;
    EVP_MD_free(md);
    if (!ok) {
        kg_wipe(out, out_len);
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to compute PBKDF2-HMAC-%s", name);
    }
    return KG_OK;
}

kg_err kg_crypto_pbkdf2_sha512(uint8_t *out, size_t out_len, const uint8_t *pass, size_t pass_len,
                               const uint8_t *salt, size_t salt_len, uint32_t iterations)
{
    return pbkdf2(out, out_len, "SHA512", pass, pass_len, salt, salt_len, iterations);
}

kg_err kg_crypto_pbkdf2_sha256(uint8_t *out, size_t out_len, const uint8_t *pass, size_t pass_len,
                               const uint8_t *salt, size_t salt_len, uint32_t iterations)
{
    return pbkdf2(out, out_len, "SHA256", pass, pass_len, salt, salt_len, iterations);
}

#define SCRYPT_MAX_MEM ((uint64_t)2 << 30) /* 2 GiB, crypto.h's promise */

/* The memory EVP_PBE_scrypt allocates (B: 128*r*p, V and XY: 128*r*(N+2))
 * or UINT64_MAX when it overflows; we pass exactly this as maxmem, so
 * OpenSSL's own 32 MiB default never refuses a legitimate keystore. */
static uint64_t scrypt_mem(uint64_t n, uint32_t r, uint32_t p)
{
    uint64_t unit = 128 * (uint64_t)r; /* r < 2^32, no overflow */
    if (n > UINT64_MAX / unit - 2 - p)
        return UINT64_MAX;
    return unit * (n + 2 + p);
}

/* scrypt_beyond_rfc: RFC 7914 §2 asks for N < 2^(128*r/8) and OpenSSL
 * enforces it, but Ethereum keystores break it (geth's "light" defaults
 * and the keystore v3 test vectors use N = 2^18 with r = 1) and Go's,
 * Python's and libsodium's scrypt accept it. For those parameters we use
 * libsodium's scrypt (crypto_pwhash_scryptsalsa208sha256_ll, the same
 * function: the tests check both agree where both apply); OpenSSL's
 * otherwise. */
kg_err kg_crypto_scrypt(uint8_t *out, size_t out_len, const uint8_t *pass, size_t pass_len,
                        const uint8_t *salt, size_t salt_len, uint64_t n, uint32_t r, uint32_t p)
{
    KG_ARG_CHECK(out != NULL);
    KG_ARG_CHECK(pass != NULL || pass_len == 0);
    KG_ARG_CHECK(salt != NULL || salt_len == 0);
    if (out_len == 0) /* nothing to wipe below */
        return kg_err_set(KG_ERR_BAD_INPUT, "scrypt: ask for at least one output byte");
    kg_wipe(out, out_len);
    if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0 ||
        (uint64_t)r * p >= ((uint64_t)1 << 30)) /* RFC 7914 §2 */
        return kg_err_set(KG_ERR_BAD_INPUT, "scrypt parameters N=%llu r=%u p=%u are invalid; "
                          "N must be a power of two above 1 and r*p below 2^30",
                          (unsigned long long)n, r, p);
    uint64_t mem = scrypt_mem(n, r, p);
    if (mem > SCRYPT_MAX_MEM)
        return kg_err_set(KG_ERR_BAD_INPUT, "scrypt parameters N=%llu r=%u p=%u need more than "
                          "2 GiB of memory; lower N or r", (unsigned long long)n, r, p);
    int ok;
    if (r >= 4 || n < ((uint64_t)1 << (16 * r))) {
        ok = EVP_PBE_scrypt(pass_len ? (const char *)pass : "", pass_len,
                            salt_len ? salt : g_empty, salt_len, n, r, p, mem, out,
                            out_len) == 1;
    } else { /* N >= 2^(16r): see scrypt_beyond_rfc */
        ok = kg_crypto_ensure() == KG_OK &&
             crypto_pwhash_scryptsalsa208sha256_ll(pass_len ? pass : g_empty, pass_len,
                                                   salt_len ? salt : g_empty, salt_len, n, r,
                                                   p, out, out_len) == 0;
    }
    if (!ok) {
        kg_wipe(out, out_len);
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to compute scrypt (N=%llu r=%u p=%u); "
                          "the machine may be out of memory", (unsigned long long)n, r, p);
    }
    return KG_OK;
}

/* --------------------------------------------------------------- ciphers */

kg_err kg_crypto_aes128ctr(uint8_t *out, const uint8_t key[static 16], const uint8_t iv[static 16],
                           const uint8_t *in, size_t len)
{
    KG_ARG_CHECK((out != NULL && in != NULL) || len == 0);
    if (len == 0)
        return KG_OK;
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
    EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
    int ok = c != NULL && cctx != NULL && EVP_EncryptInit_ex2(cctx, c, key, iv, NULL) == 1;
    for (size_t done = 0; ok && done < len;) { /* EVP lengths are int */
        int chunk = len - done > (1u << 30) ? (1 << 30) : (int)(len - done), outl = 0;
        ok = EVP_EncryptUpdate(cctx, out + done, &outl, in + done, chunk) == 1 && outl == chunk;
        done += (size_t)chunk;
    }
    EVP_CIPHER_CTX_free(cctx); /* wipes the key schedule */
    EVP_CIPHER_free(c);
    if (!ok) {
        kg_wipe(out, len);
        return kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to run AES-128-CTR");
    }
    return KG_OK;
}

kg_err kg_crypto_argon2id(uint8_t *out, size_t out_len, const char *pass, size_t pass_len,
                          const uint8_t salt[static 16], uint64_t opslimit, size_t memlimit)
{
    KG_ARG_CHECK(out != NULL);
    KG_ARG_CHECK(pass != NULL || pass_len == 0);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    if (out_len > 0)
        kg_wipe(out, out_len);
    if (out_len < crypto_pwhash_BYTES_MIN || out_len > crypto_pwhash_BYTES_MAX ||
        pass_len > crypto_pwhash_PASSWD_MAX ||
        opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
        opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
        memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
        memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "Argon2id parameters are out of range (output %zu "
                          "bytes, opslimit %llu, memlimit %zu); use at least %u output bytes, "
                          "opslimit >= %u and memlimit >= %u", out_len,
                          (unsigned long long)opslimit, memlimit, (unsigned)crypto_pwhash_BYTES_MIN,
                          (unsigned)crypto_pwhash_argon2id_OPSLIMIT_MIN,
                          (unsigned)crypto_pwhash_argon2id_MEMLIMIT_MIN);
    if (crypto_pwhash(out, out_len, pass_len ? pass : "", pass_len, salt, opslimit, memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        kg_wipe(out, out_len);
        return kg_err_set(KG_ERR_NOMEM, "Argon2id could not allocate %zu bytes; lower memlimit "
                          "or free memory", memlimit);
    }
    return KG_OK;
}

kg_err kg_crypto_xchacha_encrypt(uint8_t *ct, const uint8_t key[static 32],
                                 const uint8_t nonce[static 24], const uint8_t *aad,
                                 size_t aad_len, const uint8_t *pt, size_t pt_len)
{
    KG_ARG_CHECK(ct != NULL);
    KG_ARG_CHECK(pt != NULL || pt_len == 0);
    KG_ARG_CHECK(aad != NULL || aad_len == 0);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    if (pt_len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "XChaCha20-Poly1305: plaintext of %zu bytes is too "
                          "long; split it", pt_len);
    unsigned long long ct_len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, pt_len ? pt : g_empty, pt_len,
                                                   aad_len ? aad : g_empty, aad_len, NULL,
                                                   nonce, key) != 0) {
        kg_wipe(ct, pt_len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
        return kg_err_set(KG_ERR_CRYPTO, "libsodium failed to encrypt with XChaCha20-Poly1305");
    }
    return KG_OK;
}

kg_err kg_crypto_xchacha_decrypt(uint8_t *pt, const uint8_t key[static 32],
                                 const uint8_t nonce[static 24], const uint8_t *aad,
                                 size_t aad_len, const uint8_t *ct, size_t ct_len)
{
    KG_ARG_CHECK(ct != NULL || ct_len == 0);
    KG_ARG_CHECK(aad != NULL || aad_len == 0);
    KG_ARG_CHECK(pt != NULL || ct_len <= crypto_aead_xchacha20poly1305_ietf_ABYTES);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    if (ct_len < crypto_aead_xchacha20poly1305_ietf_ABYTES)
        return kg_err_set(KG_ERR_DECRYPT, "XChaCha20-Poly1305 ciphertext of %zu bytes is "
                          "shorter than its 16-byte tag; the data is truncated", ct_len);
    size_t pt_len = ct_len - crypto_aead_xchacha20poly1305_ietf_ABYTES;
    uint8_t scratch[1];
    unsigned long long got = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt_len ? pt : scratch, &got, NULL, ct, ct_len,
                                                   aad_len ? aad : g_empty, aad_len, nonce,
                                                   key) != 0) {
        if (pt_len > 0)
            kg_wipe(pt, pt_len);
        return kg_err_set(KG_ERR_DECRYPT, "XChaCha20-Poly1305 authentication failed: wrong key, "
                          "nonce or associated data, or the ciphertext was damaged");
    }
    return KG_OK;
}
