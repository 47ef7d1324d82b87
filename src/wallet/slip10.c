/* Key trees: BIP32 for secp256k1 and SLIP-10 for nist256p1 and ed25519.
 *
 * BIP32 "Master key generation" and "Child key derivation (CKD)
 * functions", generalised by SLIP-10 ("Universal private key derivation
 * from master private key"):
 *   master:  I = HMAC-SHA512(curve seed string, S); IL key, IR chain code;
 *   CKDpriv: I = HMAC-SHA512(c, 0x00 || k || ser32(i))   hardened,
 *            I = HMAC-SHA512(c, serP(K) || ser32(i))     otherwise;
 *            k_i = IL + k mod n (secp256k1, nist256p1), k_i = IL (ed25519);
 *   CKDpub:  K_i = K + IL*G (secp256k1 only: crypto.h has no P-256 point
 *            tweak, and ed25519 has no public derivation at all).
 * Invalid results: BIP32 says the key is invalid and the caller moves on to
 * the next index (probability below 2^-127), so secp256k1 returns
 * KG_ERR_BAD_INPUT. SLIP-10 instead retries, with S := I for the master
 * and I := HMAC(c, 0x01 || IR || ser32(i)) for a child; nist256p1 follows
 * SLIP-10 because its order makes a retry plausible (its test vectors
 * "derivation retry" and "seed retry" exercise it).
 * All scalar arithmetic is libsecp256k1's, OpenSSL's or libsodium's through
 * crypto.h; this file only moves bytes. Temporaries are wiped at `out`. */
#include <string.h>

#include "hd_int.h"

static const char *curve_seed(kg_wallet_curve c)
{
    switch (c) {
    case KG_WALLET_CURVE_SECP256K1: return "Bitcoin seed";
    case KG_WALLET_CURVE_NIST256P1: return "Nist256p1 seed";
    case KG_WALLET_CURVE_ED25519: return "ed25519 seed";
    }
    return NULL;
}

kg_err kg_wallet_slip10_pubkey(uint8_t pub[static 33], kg_wallet_curve curve, const uint8_t priv[static 32])
{
    switch (curve) {
    case KG_WALLET_CURVE_SECP256K1: return kg_crypto_k1_pubkey(pub, 33, priv);
    case KG_WALLET_CURVE_NIST256P1: return kg_crypto_p256_pubkey(pub, priv);
    case KG_WALLET_CURVE_ED25519:
        pub[0] = 0x00;
        return kg_crypto_ed25519_pubkey(pub + 1, priv);
    }
    return kg_err_set(KG_ERR_BAD_INPUT, "unknown curve %d", (int)curve);
}

void kg_wallet_hdkey_wipe(kg_wallet_hdkey *key)
{
    if (key) kg_wipe(key, sizeof *key);
}

/* priv valid as a key of the curve (IL < n and != 0). */
static bool scalar_valid(kg_wallet_curve c, const uint8_t k[static 32])
{
    if (c == KG_WALLET_CURVE_SECP256K1) return kg_crypto_k1_seckey_valid(k);
    if (c == KG_WALLET_CURVE_NIST256P1) return kg_crypto_p256_seckey_valid(k);
    return true;
}

kg_err kg_wallet_hd_from_seed(kg_wallet_hdkey *out, kg_wallet_curve curve, const uint8_t *seed, size_t seed_len)
{
    memset(out, 0, sizeof *out);
    const char *key = curve_seed(curve);
    if (!key) return kg_err_set(KG_ERR_BAD_INPUT, "unknown curve %d", (int)curve);
    if (seed_len < 16 || seed_len > 64)
        return kg_err_set(KG_ERR_BAD_INPUT, "an HD seed is 16 to 64 bytes, not %zu", seed_len);
    uint8_t I[64];
    kg_err err = kg_crypto_hmac_sha512(I, (const uint8_t *)key, strlen(key), seed, seed_len);
    /* SLIP-10 seed retry; BIP32 calls the master invalid instead. Bounded:
     * each round has probability < 2^-32 of failing again. */
    for (int round = 0; err == KG_OK && !scalar_valid(curve, I) && round < 64; round++) {
        if (curve == KG_WALLET_CURVE_SECP256K1) {
            err = kg_err_set(KG_ERR_BAD_INPUT, "this seed gives an invalid BIP32 master key; use another seed");
            break;
        }
        uint8_t S[64];
        memcpy(S, I, 64);
        err = kg_crypto_hmac_sha512(I, (const uint8_t *)key, strlen(key), S, 64);
        kg_wipe(S, sizeof S);
    }
    if (err == KG_OK && !scalar_valid(curve, I)) err = kg_err_set(KG_ERR_CRYPTO, "master key retry did not end");
    if (err == KG_OK) {
        out->curve = curve;
        memcpy(out->priv, I, 32);
        memcpy(out->chain_code, I + 32, 32);
        out->has_priv = true;
        err = kg_wallet_slip10_pubkey(out->pub, curve, out->priv);
    }
    if (err != KG_OK) kg_wallet_hdkey_wipe(out);
    kg_wipe(I, sizeof I);
    return err;
}

static void ser32(uint8_t b[static 4], uint32_t v)
{
    b[0] = (uint8_t)(v >> 24); b[1] = (uint8_t)(v >> 16); b[2] = (uint8_t)(v >> 8); b[3] = (uint8_t)v;
}

/* k = IL + k mod n for the curve; KG_ERR_BAD_INPUT when invalid. */
static kg_err tweak_add(kg_wallet_curve c, uint8_t k[static 32], const uint8_t il[static 32])
{
    if (c == KG_WALLET_CURVE_SECP256K1) return kg_crypto_k1_seckey_tweak_add(k, il);
    return kg_crypto_p256_seckey_tweak_add(k, il);
}

static kg_err ckd_priv(kg_wallet_hdkey *child, const kg_wallet_hdkey *parent, uint32_t i)
{
    uint8_t data[37], I[64], k[32];
    kg_err err;
    if (i >= KG_WALLET_HARDENED) {
        data[0] = 0;
        memcpy(data + 1, parent->priv, 32);
    } else {
        memcpy(data, parent->pub, 33);
    }
    ser32(data + 33, i);
    err = kg_crypto_hmac_sha512(I, parent->chain_code, 32, data, sizeof data);
    for (int round = 0; err == KG_OK; round++) {
        if (parent->curve == KG_WALLET_CURVE_ED25519) {
            memcpy(k, I, 32);
            break;
        }
        memcpy(k, parent->priv, 32);
        err = tweak_add(parent->curve, k, I);
        if (err != KG_ERR_BAD_INPUT) break;
        if (parent->curve == KG_WALLET_CURVE_SECP256K1 || round == 64) {
            err = kg_err_set(KG_ERR_BAD_INPUT, "child %u%s is invalid (BIP32: probability < 2^-127); use the "
                             "next index", i & ~KG_WALLET_HARDENED, i >= KG_WALLET_HARDENED ? "'" : "");
            break;
        }
        data[0] = 0x01; /* SLIP-10 derivation retry */
        memcpy(data + 1, I + 32, 32);
        err = kg_crypto_hmac_sha512(I, parent->chain_code, 32, data, sizeof data);
    }
    if (err == KG_OK) {
        memcpy(child->priv, k, 32);
        memcpy(child->chain_code, I + 32, 32);
        child->has_priv = true;
        err = kg_wallet_slip10_pubkey(child->pub, parent->curve, child->priv);
    }
    kg_wipe(data, sizeof data);
    kg_wipe(I, sizeof I);
    kg_wipe(k, sizeof k);
    return err;
}

static kg_err ckd_pub(kg_wallet_hdkey *child, const kg_wallet_hdkey *parent, uint32_t i)
{
    uint8_t data[37], I[64], K[33];
    memcpy(data, parent->pub, 33);
    ser32(data + 33, i);
    memcpy(K, parent->pub, 33);
    kg_err err = kg_crypto_hmac_sha512(I, parent->chain_code, 32, data, sizeof data);
    if (err == KG_OK && kg_crypto_k1_pubkey_tweak_add(K, I) != KG_OK)
        err = kg_err_set(KG_ERR_BAD_INPUT, "public child %u is invalid (BIP32: probability < 2^-127); use the "
                         "next index", i);
    if (err == KG_OK) {
        memcpy(child->pub, K, 33);
        memcpy(child->chain_code, I + 32, 32);
        child->has_priv = false;
        memset(child->priv, 0, 32);
    }
    kg_wipe(I, sizeof I);
    return err;
}

kg_err kg_wallet_hd_derive(kg_wallet_hdkey *child, const kg_wallet_hdkey *parent, uint32_t index)
{
    kg_wallet_hdkey c;
    kg_err err = KG_OK;
    memset(&c, 0, sizeof c);
    if (parent->depth == 255)
        err = kg_err_set(KG_ERR_BAD_INPUT, "the key is at depth 255, the deepest BIP32 allows");
    else if (parent->curve == KG_WALLET_CURVE_ED25519 && index < KG_WALLET_HARDENED)
        err = kg_err_set(KG_ERR_BAD_INPUT, "ed25519 (SLIP-10) derives hardened children only; write %u' "
                         "instead of %u", index, index);
    else if (!parent->has_priv && index >= KG_WALLET_HARDENED)
        err = kg_err_set(KG_ERR_BAD_INPUT, "hardened child %u' needs the private key; derive it from the "
                         "xprv", index & ~KG_WALLET_HARDENED);
    else if (!parent->has_priv && parent->curve != KG_WALLET_CURVE_SECP256K1)
        err = kg_err_set(KG_ERR_WRONG_KEY_USAGE, "public derivation is available for secp256k1 keys only");
    if (err == KG_OK) {
        c.curve = parent->curve;
        c.depth = (uint8_t)(parent->depth + 1);
        c.child = index;
        kg_wallet_hd_fingerprint(c.parent_fp, parent);
        err = parent->has_priv ? ckd_priv(&c, parent, index) : ckd_pub(&c, parent, index);
    }
    if (err == KG_OK) *child = c;
    else kg_wallet_hdkey_wipe(child);
    kg_wallet_hdkey_wipe(&c);
    return err;
}

kg_err kg_wallet_hd_derive_path(kg_wallet_hdkey *child, const kg_wallet_hdkey *parent,
                                const uint32_t *path, size_t count)
{
    KG_ARG_CHECK(path != NULL || count == 0);
    kg_wallet_hdkey k = *parent;
    kg_err err = KG_OK;
    for (size_t i = 0; i < count && err == KG_OK; i++) err = kg_wallet_hd_derive(&k, &k, path[i]);
    if (err == KG_OK) *child = k;
    else kg_wallet_hdkey_wipe(child);
    kg_wallet_hdkey_wipe(&k);
    return err;
}

kg_err kg_wallet_hd_derive_str(kg_wallet_hdkey *child, const kg_wallet_hdkey *parent, const char *path)
{
    uint32_t p[KG_WALLET_PATH_MAX];
    size_t n = 0;
    kg_err err = kg_wallet_path_parse(p, KG_WALLET_PATH_MAX, &n, path);
    if (err != KG_OK) {
        kg_wallet_hdkey_wipe(child);
        return err;
    }
    return kg_wallet_hd_derive_path(child, parent, p, n);
}

void kg_wallet_hd_neuter(kg_wallet_hdkey *out, const kg_wallet_hdkey *in)
{
    if (out != in) *out = *in;
    kg_wipe(out->priv, sizeof out->priv);
    out->has_priv = false;
}

void kg_wallet_hd_fingerprint(uint8_t fp[static 4], const kg_wallet_hdkey *key)
{
    uint8_t h[20];
    kg_crypto_hash160(h, key->pub, 33);
    memcpy(fp, h, 4);
}
