/* Independent BIP340/BIP341 checks for the MPC tests, with libsecp256k1
 * alone (none of our code): the taproot output key of an internal x-only
 * key, and Schnorr signature verification. Include after cmocka.h. */
#ifndef KG_TEST_BIP340_CHECK_H
#define KG_TEST_BIP340_CHECK_H

#include <stdbool.h>
#include <string.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

/* BIP341 output key of internal x-only key x (merkle root mr, or NULL for
 * the BIP86 key-path-only tweak). */
static inline void bip340_output_key(const secp256k1_context *ctx, uint8_t out[32], const uint8_t x[32],
                                     const uint8_t *mr)
{
    uint8_t buf[64], t[32];
    secp256k1_xonly_pubkey in, o;
    secp256k1_pubkey tweaked;
    int parity;
    memcpy(buf, x, 32);
    if (mr) memcpy(buf + 32, mr, 32);
    assert_int_equal(secp256k1_tagged_sha256(ctx, t, (const uint8_t *)"TapTweak", 8, buf, mr ? 64 : 32), 1);
    assert_int_equal(secp256k1_xonly_pubkey_parse(ctx, &in, x), 1);
    assert_int_equal(secp256k1_xonly_pubkey_tweak_add(ctx, &tweaked, &in, t), 1);
    assert_int_equal(secp256k1_xonly_pubkey_from_pubkey(ctx, &o, &parity, &tweaked), 1);
    assert_int_equal(secp256k1_xonly_pubkey_serialize(ctx, out, &o), 1);
}

static inline bool bip340_verify(const secp256k1_context *ctx, const uint8_t sig[64], const uint8_t *msg, size_t len,
                                 const uint8_t x[32])
{
    secp256k1_xonly_pubkey pk;
    return secp256k1_xonly_pubkey_parse(ctx, &pk, x) == 1 && secp256k1_schnorrsig_verify(ctx, sig, msg, len, &pk) == 1;
}

#endif
