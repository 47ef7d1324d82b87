/* The local signer: the signer seam (signer.h) over an HD seed in memory.
 *
 * Each call derives the key named by ref->path from the seed -- BIP32
 * ("Master key generation", CKDpriv) for secp256k1 ECDSA and BIP340,
 * SLIP-10 for nist256p1 (P-256) and ed25519 -- uses it, and wipes it.
 *
 * The parent of the last derived key (an account's external chain, e.g.
 * m/84'/0'/0'/0) is kept per curve, in guarded memory, so the next key of
 * the same account costs one derivation step instead of five: a transaction
 * asks for the public key and then the signature of each key, and a PSBT
 * signs several keys of one account (measured in docs/benchmarks.md). The
 * parent is no more sensitive than the seed the signer already holds; close
 * wipes both. A mutex makes one signer safe to share between threads.
 *
 * Schemes (signer.h):
 *   KG_SIG_ECDSA_SECP256K1  RFC 6979 ECDSA, low-S, with the recovery id
 *                           (kg_crypto_k1_sign_recoverable);
 *   KG_SIG_ECDSA_P256       ECDSA over the digest, r||s, low-S (kg_crypto_sign);
 *   KG_SIG_BIP340           BIP340 Schnorr; with ref->taproot the key is
 *                           first tweaked per BIP341 "Signature validation
 *                           rules" / BIP86 (kg_crypto_k1_taproot_tweak_seckey),
 *                           and the public key is the x-only output key Q;
 *   KG_SIG_ED25519          RFC 8032 Ed25519 of the message, seed = SLIP-10 key.
 *
 * Plain C over crypto.h and hd.h; the only allocation in the signing path
 * is P-256's kg_secret (kg_crypto_sign takes one). */
#include <kashguard/wallet/signers.h>
#include <kashguard/wallet/hd.h>
#include <kashguard/crypto.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CURVES 3 /* secp256k1, nist256p1, ed25519 */

typedef struct {
    kg_secret *seed;
    pthread_mutex_t mu;                  /* guards the parent cache */
    kg_secret *parent[CURVES];           /* a kg_wallet_hdkey, or NULL */
    uint32_t parent_path[CURVES][KG_PATH_MAX];
    size_t parent_len[CURVES];
} local_impl;

static kg_wallet_curve curve_of(kg_sig_scheme scheme)
{
    switch (scheme) {
    case KG_SIG_ECDSA_P256: return KG_WALLET_CURVE_NIST256P1;
    case KG_SIG_ED25519:    return KG_WALLET_CURVE_ED25519;
    case KG_SIG_ECDSA_SECP256K1:
    case KG_SIG_BIP340:
    default:                return KG_WALLET_CURVE_SECP256K1;
    }
}

/* Derive the private key of ref under scheme into *key. */
static kg_err derive(kg_wallet_hdkey *key, local_impl *li, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    if (scheme != KG_SIG_ECDSA_SECP256K1 && scheme != KG_SIG_ECDSA_P256 && scheme != KG_SIG_BIP340 &&
        scheme != KG_SIG_ED25519)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown signature scheme %d", (int)scheme);
    if (ref->path_len > KG_PATH_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "a key path has at most %d steps (got %zu)", KG_PATH_MAX,
                          ref->path_len);
    if (ref->taproot && scheme != KG_SIG_BIP340)
        return kg_err_set(KG_ERR_BAD_INPUT, "a taproot tweak applies to BIP340 signatures only");
    kg_wallet_curve curve = curve_of(scheme);
    int c = (int)curve;
    if (c < 0 || c >= CURVES)
        return kg_err_set(KG_ERR_INTERNAL, "no cache slot for curve %d", c);
    if (ref->path_len == 0) {
        kg_err e = kg_wallet_hd_from_seed(key, curve, kg_secret_cdata(li->seed), kg_secret_len(li->seed));
        if (e != KG_OK)
            kg_wallet_hdkey_wipe(key);
        return e;
    }
    size_t plen = ref->path_len - 1;
    kg_wallet_hdkey parent;
    kg_err e = KG_OK;
    pthread_mutex_lock(&li->mu);
    if (li->parent[c] != NULL && li->parent_len[c] == plen &&
        memcmp(li->parent_path[c], ref->path, plen * sizeof(uint32_t)) == 0) {
        memcpy(&parent, kg_secret_cdata(li->parent[c]), sizeof(parent));
    } else {
        kg_wallet_hdkey master;
        e = kg_wallet_hd_from_seed(&master, curve, kg_secret_cdata(li->seed), kg_secret_len(li->seed));
        if (e == KG_OK)
            e = kg_wallet_hd_derive_path(&parent, &master, ref->path, plen);
        kg_wallet_hdkey_wipe(&master);
        kg_secret *cached = e == KG_OK ? kg_secret_from((const uint8_t *)&parent, sizeof(parent)) : NULL;
        if (cached != NULL) { /* out of memory: simply not cached */
            kg_secret_free(li->parent[c]);
            li->parent[c] = cached;
            memcpy(li->parent_path[c], ref->path, plen * sizeof(uint32_t));
            li->parent_len[c] = plen;
        }
    }
    pthread_mutex_unlock(&li->mu);
    if (e == KG_OK)
        e = kg_wallet_hd_derive(key, &parent, ref->path[plen]);
    kg_wallet_hdkey_wipe(&parent);
    if (e != KG_OK)
        kg_wallet_hdkey_wipe(key);
    return e;
}

static kg_err local_public_key(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    KG_ARG_CHECK(s != NULL && out != NULL && ref != NULL);
    memset(out, 0, sizeof(*out));
    kg_wallet_hdkey key;
    memset(&key, 0, sizeof(key));
    int parity = 0;
    uint8_t xonly[32];
    kg_err e = derive(&key, s->impl, ref, scheme);
    if (e == KG_OK && scheme == KG_SIG_ED25519) {
        memcpy(out->data, key.pub + 1, 32); /* SLIP-10 writes 0x00 || key */
        out->len = 32;
    } else if (e == KG_OK && scheme == KG_SIG_BIP340) {
        memcpy(xonly, key.pub + 1, 32);
        if (ref->taproot)
            e = kg_crypto_k1_taproot_output(out->data, &parity, xonly, ref->merkle_root);
        else
            memcpy(out->data, xonly, 32);
        out->len = e == KG_OK ? 32 : 0;
    } else if (e == KG_OK) {
        memcpy(out->data, key.pub, 33);
        out->len = 33;
    }
    kg_wallet_hdkey_wipe(&key);
    if (e != KG_OK)
        memset(out, 0, sizeof(*out));
    return e;
}

static kg_err sign_p256(kg_signature *out, const uint8_t priv[static 32], const uint8_t digest[static 32])
{
    kg_bytes sig = { 0 };
    kg_secret *k = kg_secret_from(priv, 32);
    if (k == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_err e = kg_crypto_sign(&sig, KG_CRYPTO_P256, k, KG_CRYPTO_INPUT_DIGEST, KG_CRYPTO_SIG_RAW, digest, 32);
    kg_secret_free(k);
    if (e == KG_OK && sig.len != 64)
        e = kg_err_set(KG_ERR_CRYPTO, "P-256 signature of unexpected size %zu", sig.len);
    if (e == KG_OK)
        memcpy(out->data, sig.data, 64);
    kg_bytes_free(&sig);
    return e;
}

static kg_err local_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                         const uint8_t *msg, size_t msg_len)
{
    KG_ARG_CHECK(s != NULL && out != NULL && ref != NULL && (msg != NULL || msg_len == 0));
    memset(out, 0, sizeof(*out));
    out->recid = -1;
    if (scheme != KG_SIG_ED25519 && msg_len != 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "ECDSA and BIP340 sign a 32-byte digest (got %zu bytes)", msg_len);
    kg_wallet_hdkey key;
    memset(&key, 0, sizeof(key));
    int recid = -1;
    kg_err e = derive(&key, s->impl, ref, scheme);
    if (e == KG_OK) {
        switch (scheme) {
        case KG_SIG_ECDSA_SECP256K1:
            e = kg_crypto_k1_sign_recoverable(out->data, &recid, key.priv, msg);
            break;
        case KG_SIG_ECDSA_P256:
            e = sign_p256(out, key.priv, msg);
            break;
        case KG_SIG_BIP340:
            if (ref->taproot)
                e = kg_crypto_k1_taproot_tweak_seckey(key.priv, ref->merkle_root);
            if (e == KG_OK)
                e = kg_crypto_k1_schnorr_sign(out->data, key.priv, msg, NULL);
            break;
        case KG_SIG_ED25519:
        default:
            e = kg_crypto_ed25519_sign(out->data, key.priv, msg, msg_len);
            break;
        }
    }
    kg_wallet_hdkey_wipe(&key);
    if (e == KG_OK) {
        out->len = 64;
        out->recid = scheme == KG_SIG_ECDSA_SECP256K1 ? recid : -1;
    } else {
        memset(out, 0, sizeof(*out));
        out->recid = -1;
    }
    return e;
}

static void local_close(kg_signer *s)
{
    local_impl *li = s->impl;
    if (li != NULL) {
        kg_secret_free(li->seed);
        for (int c = 0; c < CURVES; c++)
            kg_secret_free(li->parent[c]);
        pthread_mutex_destroy(&li->mu);
    }
    free(li);
    free(s);
}

static const kg_signer_ops local_ops = {
    .public_key = local_public_key,
    .sign = local_sign,
    .close = local_close,
};

kg_err kg_wallet_signer_local(kg_signer **out, const kg_secret *seed)
{
    KG_ARG_CHECK(out != NULL && seed != NULL);
    *out = NULL;
    size_t n = kg_secret_len(seed);
    if (n < 16 || n > 64)
        return kg_err_set(KG_ERR_BAD_INPUT, "an HD seed is 16..64 bytes (got %zu)", n);
    kg_signer *s = calloc(1, sizeof(*s));
    local_impl *li = calloc(1, sizeof(*li));
    if (s != NULL && li != NULL && pthread_mutex_init(&li->mu, NULL) == 0)
        li->seed = kg_secret_from(kg_secret_cdata(seed), n);
    if (s == NULL || li == NULL || li->seed == NULL) {
        if (li != NULL && li->seed == NULL && s != NULL)
            pthread_mutex_destroy(&li->mu);
        free(s);
        free(li);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    s->ops = &local_ops;
    s->impl = li;
    *out = s;
    return KG_OK;
}
