/* Helpers shared by the Ethereum test suites (tests/chain/test_eth*.c):
 * hex in and out, loading vector files, and a test signer over a raw
 * secp256k1 key (the kg_signer seam, as a keystore or KMS signer will
 * implement it). Header-only (static) because every test_*.c is its own
 * executable. */
#ifndef KG_TEST_ETH_UTIL_H
#define KG_TEST_ETH_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <kashguard/chain.h>
#include <kashguard/crypto.h>

/* Decode hex (optional 0x) into a new malloc'd buffer (never NULL). */
static inline uint8_t *te_hex(const char *hex, size_t *len)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    size_t n = strlen(hex) / 2;
    uint8_t *out = malloc(n ? n : 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    *len = n;
    return out;
}

/* Decode hex of exactly n bytes into out. */
static inline void te_hexn(uint8_t *out, size_t n, const char *hex)
{
    size_t len = 0;
    uint8_t *b = te_hex(hex, &len);
    assert_int_equal(len, n);
    memcpy(out, b, n);
    free(b);
}

/* Compare bytes against expected hex. */
static inline void te_assert_hex(const uint8_t *got, size_t len, const char *want_hex)
{
    size_t n = 0;
    uint8_t *want = te_hex(want_hex, &n);
    if (n != len || memcmp(got, want, n) != 0) {
        char *g = malloc(2 * len + 1);
        assert_non_null(g);
        kg_hex_encode(g, got, len);
        fail_msg("bytes differ:\n  got  %s\n  want %s", g, want_hex);
    }
    free(want);
}

static inline json_t *te_load(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", KG_VECTORS_DIR, rel);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (root == NULL)
        fail_msg("cannot load %s: %s (line %d)", path, e.text, e.line);
    return root;
}

/* --------------------------------------------------------- test signer */

typedef struct {
    uint8_t seckey[32];
    int sign_calls;
    bool hide_recid; /* report recid -1, as an MPC signer may */
} te_key;

static inline kg_err te_pub(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    te_key *k = s->impl;
    (void)ref;
    if (scheme != KG_SIG_ECDSA_SECP256K1)
        return KG_ERR_WRONG_KEY_USAGE;
    out->len = 33;
    return kg_crypto_k1_pubkey(out->data, 33, k->seckey);
}

static inline kg_err te_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                      const uint8_t *msg, size_t msg_len)
{
    te_key *k = s->impl;
    (void)ref;
    if (scheme != KG_SIG_ECDSA_SECP256K1 || msg_len != 32)
        return KG_ERR_WRONG_KEY_USAGE;
    k->sign_calls++;
    out->len = 64;
    kg_err e = kg_crypto_k1_sign_recoverable(out->data, &out->recid, k->seckey, msg);
    if (k->hide_recid)
        out->recid = -1;
    return e;
}

static const kg_signer_ops te_ops = { te_pub, te_sign, NULL };

static inline kg_signer te_signer(te_key *k, const char *seckey_hex)
{
    memset(k, 0, sizeof *k);
    te_hexn(k->seckey, 32, seckey_hex);
    kg_signer s = { &te_ops, k };
    return s;
}

#endif
