/* Test helpers shared by the CGGMP21 suites (header-only, static inline).
 *
 * Generating safe primes takes seconds to minutes, so the suites use the
 * fixed safe primes of tests/mpc/fixtures/safe_primes_<bits>.txt (one hex
 * prime a line, made with `openssl prime -generate -safe`). Keys are built
 * from consecutive lines: prime i and i+1 give N = p_i · p_{i+1}; use a
 * different i per party so every party has its own modulus. 1024-bit
 * primes give 2048-bit moduli (the minimum the verifiers accept), which
 * keeps the sanitizer build fast.
 *
 * Every function returns NULL / a kg_err instead of asserting, so the
 * header does not depend on cmocka; wrap calls in assert_* in the test. */
#ifndef KG_TESTS_CGGMP_FIXTURE_H
#define KG_TESTS_CGGMP_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>

#include "../../src/mpc/cggmp_zk.h"

#ifndef KG_SOURCE_DIR
#define KG_SOURCE_DIR "."
#endif

/** Path of the fixture file for bits-bit primes (1024 or 1536). */
static inline void kg_fx_prime_path(char *out, size_t cap, unsigned bits)
{
    snprintf(out, cap, "%s/tests/mpc/fixtures/safe_primes_%u.txt", KG_SOURCE_DIR, bits);
}

/** The i-th (0-based) safe prime of the bits-bit fixture as a new secret
 *  BIGNUM (free with kg_mpc_bn_free); NULL if the file or line is missing. */
static inline BIGNUM *kg_fx_prime(unsigned bits, unsigned i)
{
    char path[1024], line[2048];
    kg_fx_prime_path(path, sizeof(path), bits);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    BIGNUM *p = NULL;
    for (unsigned k = 0; fgets(line, sizeof(line), f); k++) {
        if (k != i) continue;
        line[strcspn(line, "\r\n")] = 0;
        if (BN_hex2bn(&p, line) == 0) p = NULL;
        break;
    }
    fclose(f);
    if (p) BN_set_flags(p, BN_FLG_CONSTTIME);
    return p;
}

/** Number of primes in the bits-bit fixture (0 if missing). */
static inline unsigned kg_fx_prime_count(unsigned bits)
{
    char path[1024], line[2048];
    kg_fx_prime_path(path, sizeof(path), bits);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    unsigned n = 0;
    while (fgets(line, sizeof(line), f))
        if (line[0] != '\n' && line[0] != '\r') n++;
    fclose(f);
    return n;
}

/** Paillier key on N = p_i · p_{i+1} of the bits-bit fixture. */
static inline kg_err kg_fx_paillier_sk(kg_mpc_paillier_sk *sk, unsigned bits, unsigned i)
{
    memset(sk, 0, sizeof(*sk));
    BIGNUM *p = kg_fx_prime(bits, i), *q = kg_fx_prime(bits, i + 1);
    kg_err err = p && q ? kg_mpc_paillier_sk_from_primes(sk, p, q) : KG_ERR_IO;
    kg_mpc_bn_free(p);
    kg_mpc_bn_free(q);
    return err;
}

/** Ring-Pedersen parameters on N̂ = p_i · p_{i+1} (the same modulus as
 *  kg_fx_paillier_sk(.., i), as in the paper's aux info). */
static inline kg_err kg_fx_rped_sk(kg_mpc_rped_sk *sk, unsigned bits, unsigned i)
{
    memset(sk, 0, sizeof(*sk));
    BIGNUM *p = kg_fx_prime(bits, i), *q = kg_fx_prime(bits, i + 1);
    kg_err err = p && q ? kg_mpc_rped_generate(sk, p, q) : KG_ERR_IO;
    kg_mpc_bn_free(p);
    kg_mpc_bn_free(q);
    return err;
}

/** A proof context with a readable session id (sid must outlive ctx). */
static inline kg_mpc_zk_ctx kg_fx_zk_ctx(kg_mpc_group_id g, const char *sid, uint16_t prover)
{
    kg_mpc_zk_ctx c = {.group = g, .sid = (const uint8_t *)sid, .sid_len = strlen(sid), .prover = prover};
    return c;
}

/** A new BIGNUM from a signed decimal string ("-12"); NULL on error. */
static inline BIGNUM *kg_fx_bn(const char *dec)
{
    BIGNUM *x = NULL;
    return BN_dec2bn(&x, dec) ? x : NULL;
}

#endif
