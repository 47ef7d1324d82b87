/* Raw-key curve operations for the chain and wallet layers (crypto.h,
 * "for chains"): secp256k1 key arithmetic, recoverable ECDSA, BIP340
 * Schnorr and BIP341 Taproot tweaks (libsecp256k1 0.2.0 with its recovery,
 * extrakeys and schnorrsig modules); raw Ed25519 (libsodium); NIST P-256
 * scalar arithmetic (OpenSSL BIGNUM/EC) for SLIP-10.
 *
 * Unlike keys.c these work on bare 32-byte scalars and SEC1/x-only points,
 * which is what BIP32, SLIP-10, Ethereum and Bitcoin scripts handle, and
 * they allocate nothing on the secp256k1 and Ed25519 paths, so the
 * firmware can reuse them.
 *
 * Secrets: libsecp256k1 and libsodium are constant time in secret keys,
 * nonces and tweaks of secret keys; the secp256k1 context is randomised
 * (init.c). The P-256 scalar code sets BN_FLG_CONSTTIME on every secret
 * BIGNUM, which makes OpenSSL take its constant-time paths for modular
 * reduction and scalar multiplication (best effort: OpenSSL promises no
 * more). Validity of a key or of a tweak result is treated as public.
 * Every stack copy of secret material (keypairs, expanded Ed25519 keys,
 * tweaks derived from secret keys) is wiped before returning.
 *
 * On any error the outputs are zeroed; in/out secret keys are zeroed too
 * (a caller who needs the old key, as BIP32 does when it skips an index,
 * tweaks a copy). */
#include "crypto_int.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_recovery.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>
#include <string.h>

static const uint8_t g_empty[1];

/* --------------------------------------------------------------- secp256k1 */

bool kg_crypto_k1_seckey_valid(const uint8_t seckey[static 32])
{
    /* The static context is enough: seckey_verify uses no precomputation. */
    int ok = secp256k1_ec_seckey_verify(secp256k1_context_static, seckey);
    kg_declassify(&ok, sizeof ok);
    return ok == 1;
}

static kg_err k1_bad_seckey(void)
{
    return kg_err_set(KG_ERR_BAD_INPUT, "the secp256k1 secret key is not valid (it must be "
                      "between 1 and the group order minus 1)");
}

/* Serialise a parsed key as 33 (compressed) or 65 bytes. */
static void k1_serialize(uint8_t *out, size_t out_len, const secp256k1_pubkey *pk)
{
    size_t len = out_len;
    (void)secp256k1_ec_pubkey_serialize(secp256k1_context_static, out, &len, pk,
                                        out_len == 33 ? SECP256K1_EC_COMPRESSED
                                                      : SECP256K1_EC_UNCOMPRESSED);
}

kg_err kg_crypto_k1_pubkey(uint8_t *out, size_t out_len, const uint8_t seckey[static 32])
{
    KG_ARG_CHECK(out != NULL && (out_len == 33 || out_len == 65));
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK) {
        memset(out, 0, out_len);
        return err;
    }
    secp256k1_pubkey pk;
    int ok = secp256k1_ec_pubkey_create(kg_crypto_secp(), &pk, seckey);
    kg_declassify(&ok, sizeof ok);
    if (!ok) {
        memset(out, 0, out_len);
        return k1_bad_seckey();
    }
    k1_serialize(out, out_len, &pk);
    return KG_OK;
}

kg_err kg_crypto_k1_pubkey_convert(uint8_t *out, size_t out_len, const uint8_t *in, size_t in_len)
{
    KG_ARG_CHECK(out != NULL && (out_len == 33 || out_len == 65));
    KG_ARG_CHECK(in != NULL || in_len == 0);
    secp256k1_pubkey pk;
    if ((in_len != 33 && in_len != 65) ||
        !secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, in, in_len)) {
        memset(out, 0, out_len);
        return kg_err_set(KG_ERR_BAD_INPUT, "not a valid secp256k1 public key (%zu bytes); "
                          "give a 33-byte compressed or 65-byte uncompressed SEC1 point", in_len);
    }
    k1_serialize(out, out_len, &pk);
    return KG_OK;
}

kg_err kg_crypto_k1_seckey_tweak_add(uint8_t seckey[static 32], const uint8_t tweak[static 32])
{
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK) {
        kg_wipe(seckey, 32);
        return err;
    }
    int ok = secp256k1_ec_seckey_tweak_add(kg_crypto_secp(), seckey, tweak);
    kg_declassify(&ok, sizeof ok);
    if (!ok) {
        kg_wipe(seckey, 32);
        return kg_err_set(KG_ERR_BAD_INPUT, "secp256k1 secret key tweak failed: the key or the "
                          "tweak is out of range, or the sum is zero (BIP32: use the next index)");
    }
    return KG_OK;
}

kg_err kg_crypto_k1_pubkey_tweak_add(uint8_t pub33[static 33], const uint8_t tweak[static 32])
{
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK) {
        memset(pub33, 0, 33);
        return err;
    }
    secp256k1_pubkey pk;
    if (!secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, pub33, 33) ||
        !secp256k1_ec_pubkey_tweak_add(kg_crypto_secp(), &pk, tweak)) {
        memset(pub33, 0, 33);
        return kg_err_set(KG_ERR_BAD_INPUT, "secp256k1 public key tweak failed: the key is not a "
                          "compressed point, the tweak is not below the group order, or the sum "
                          "is the point at infinity (BIP32: use the next index)");
    }
    k1_serialize(pub33, 33, &pk);
    return KG_OK;
}

kg_err kg_crypto_k1_sign_recoverable(uint8_t sig64[static 64], int *recid,
                                     const uint8_t seckey[static 32],
                                     const uint8_t digest[static 32])
{
    KG_ARG_CHECK(recid != NULL);
    memset(sig64, 0, 64);
    *recid = 0;
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    secp256k1_ecdsa_recoverable_signature sig;
    /* NULL nonce function: RFC 6979. The result is always low-S. */
    int ok = secp256k1_ecdsa_sign_recoverable(kg_crypto_secp(), &sig, digest, seckey, NULL, NULL);
    kg_declassify(&ok, sizeof ok);
    if (!ok)
        return k1_bad_seckey();
    (void)secp256k1_ecdsa_recoverable_signature_serialize_compact(secp256k1_context_static,
                                                                  sig64, recid, &sig);
    return KG_OK;
}

kg_err kg_crypto_k1_recover(uint8_t pub65[static 65], const uint8_t sig64[static 64], int recid,
                            const uint8_t digest[static 32])
{
    memset(pub65, 0, 65);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    if (recid < 0 || recid > 3)
        return kg_err_set(KG_ERR_BAD_INPUT, "recovery id %d is out of range; it must be 0 to 3 "
                          "(Ethereum's v minus 27, or minus 35 + 2*chain_id)", recid);
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pk;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(secp256k1_context_static, &sig,
                                                             sig64, recid))
        return kg_err_set(KG_ERR_VERIFY, "the recoverable signature is malformed (r or s is not "
                          "below the group order)");
    if (!secp256k1_ecdsa_recover(kg_crypto_secp(), &pk, &sig, digest))
        return kg_err_set(KG_ERR_VERIFY, "no public key can be recovered from this signature "
                          "and digest");
    k1_serialize(pub65, 65, &pk);
    return KG_OK;
}

kg_err kg_crypto_k1_verify(const uint8_t *pub, size_t pub_len, const uint8_t sig64[static 64],
                           const uint8_t digest[static 32])
{
    KG_ARG_CHECK(pub != NULL || pub_len == 0);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    secp256k1_pubkey pk;
    secp256k1_ecdsa_signature sig;
    if ((pub_len != 33 && pub_len != 65) ||
        !secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, pub, pub_len))
        return kg_err_set(KG_ERR_BAD_INPUT, "not a valid secp256k1 public key (%zu bytes); give "
                          "a 33- or 65-byte SEC1 point", pub_len);
    if (!secp256k1_ecdsa_signature_parse_compact(secp256k1_context_static, &sig, sig64))
        return kg_err_set(KG_ERR_VERIFY, "the ECDSA signature is malformed (r or s is not below "
                          "the group order)");
    /* normalize returns 1 when s was high: such signatures are rejected. */
    if (secp256k1_ecdsa_signature_normalize(secp256k1_context_static, NULL, &sig))
        return kg_err_set(KG_ERR_VERIFY, "the ECDSA signature has a high S value; only low-S "
                          "signatures are accepted (BIP62/EIP-2)");
    if (!secp256k1_ecdsa_verify(kg_crypto_secp(), &sig, digest, &pk))
        return kg_err_set(KG_ERR_VERIFY, "the ECDSA signature does not verify");
    return KG_OK;
}

/* ------------------------------------------------ BIP340 / BIP341 (Taproot) */

/* A keypair of seckey; 0 when seckey is invalid. The caller wipes *kp. */
static int k1_keypair(secp256k1_keypair *kp, const uint8_t seckey[static 32])
{
    int ok = secp256k1_keypair_create(kg_crypto_secp(), kp, seckey);
    kg_declassify(&ok, sizeof ok);
    return ok;
}

kg_err kg_crypto_k1_xonly(uint8_t xonly[static 32], int *parity, const uint8_t seckey[static 32])
{
    memset(xonly, 0, 32);
    if (parity != NULL)
        *parity = 0;
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xo;
    int par = 0;
    int ok = k1_keypair(&kp, seckey) &&
             secp256k1_keypair_xonly_pub(secp256k1_context_static, &xo, &par, &kp);
    kg_wipe(&kp, sizeof kp);
    if (!ok)
        return k1_bad_seckey();
    (void)secp256k1_xonly_pubkey_serialize(secp256k1_context_static, xonly, &xo);
    if (parity != NULL)
        *parity = par;
    return KG_OK;
}

/* BIP341 taproot_tweak_pubkey: t = hash_TapTweak(P || merkle_root), where
 * an absent merkle root (key-path only) hashes P alone. */
static void taptweak(uint8_t t[static 32], const uint8_t p[static 32], const uint8_t *merkle_root)
{
    uint8_t buf[64];
    memcpy(buf, p, 32);
    if (merkle_root != NULL)
        memcpy(buf + 32, merkle_root, 32);
    kg_crypto_tagged_hash(t, "TapTweak", buf, merkle_root != NULL ? 64 : 32);
}

kg_err kg_crypto_k1_taproot_output(uint8_t out_xonly[static 32], int *parity,
                                   const uint8_t internal_xonly[static 32],
                                   const uint8_t *merkle_root)
{
    memset(out_xonly, 0, 32);
    if (parity != NULL)
        *parity = 0;
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    secp256k1_xonly_pubkey p, q;
    secp256k1_pubkey qfull;
    uint8_t t[32];
    int par = 0;
    if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &p, internal_xonly))
        return kg_err_set(KG_ERR_BAD_INPUT, "the taproot internal key is not a valid x-only "
                          "secp256k1 public key");
    taptweak(t, internal_xonly, merkle_root);
    if (!secp256k1_xonly_pubkey_tweak_add(kg_crypto_secp(), &qfull, &p, t))
        return kg_err_set(KG_ERR_BAD_INPUT, "the TapTweak hash is not below the group order or "
                          "gives the point at infinity; choose another internal key or script tree");
    if (!secp256k1_xonly_pubkey_from_pubkey(secp256k1_context_static, &q, &par, &qfull))
        return kg_err_set(KG_ERR_CRYPTO, "libsecp256k1 failed to convert the taproot output key");
    (void)secp256k1_xonly_pubkey_serialize(secp256k1_context_static, out_xonly, &q);
    if (parity != NULL)
        *parity = par;
    return KG_OK;
}

kg_err kg_crypto_k1_taproot_tweak_seckey(uint8_t seckey[static 32], const uint8_t *merkle_root)
{
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK) {
        kg_wipe(seckey, 32);
        return err;
    }
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xo;
    uint8_t p[32], t[32];
    int ok = k1_keypair(&kp, seckey) &&
             secp256k1_keypair_xonly_pub(secp256k1_context_static, &xo, NULL, &kp);
    if (ok) {
        (void)secp256k1_xonly_pubkey_serialize(secp256k1_context_static, p, &xo);
        taptweak(t, p, merkle_root);
        /* BIP341 taproot_tweak_seckey: negate d when P has odd y, then add
         * t; keypair_xonly_tweak_add does exactly that. */
        ok = secp256k1_keypair_xonly_tweak_add(kg_crypto_secp(), &kp, t);
        kg_declassify(&ok, sizeof ok);
    }
    if (!ok || !secp256k1_keypair_sec(secp256k1_context_static, seckey, &kp)) {
        ok = 0;
        kg_wipe(seckey, 32);
    }
    kg_wipe(&kp, sizeof kp);
    kg_wipe(t, sizeof t);
    return ok ? KG_OK
              : kg_err_set(KG_ERR_BAD_INPUT, "taproot secret key tweak failed: the key is not "
                           "valid or the tweaked key would be zero");
}

kg_err kg_crypto_k1_schnorr_sign_custom(uint8_t sig64[static 64], const uint8_t seckey[static 32],
                                        const uint8_t *msg, size_t msg_len, const uint8_t *aux32)
{
    KG_ARG_CHECK(msg != NULL || msg_len == 0);
    memset(sig64, 0, 64);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    uint8_t aux[32];
    if (aux32 != NULL)
        memcpy(aux, aux32, 32);
    else
        randombytes_buf(aux, sizeof aux); /* BIP340: fresh randomness is recommended */
    secp256k1_keypair kp;
    secp256k1_schnorrsig_extraparams ext = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
    ext.ndata = aux;
    int ok = k1_keypair(&kp, seckey) &&
             secp256k1_schnorrsig_sign_custom(kg_crypto_secp(), sig64, msg_len ? msg : g_empty,
                                              msg_len, &kp, &ext);
    kg_declassify(&ok, sizeof ok);
    kg_wipe(&kp, sizeof kp);
    kg_wipe(aux, sizeof aux);
    if (!ok) {
        memset(sig64, 0, 64);
        return k1_bad_seckey();
    }
    return KG_OK;
}

kg_err kg_crypto_k1_schnorr_sign(uint8_t sig64[static 64], const uint8_t seckey[static 32],
                                 const uint8_t msg32[static 32], const uint8_t *aux32)
{
    return kg_crypto_k1_schnorr_sign_custom(sig64, seckey, msg32, 32, aux32);
}

kg_err kg_crypto_k1_schnorr_verify(const uint8_t sig64[static 64], const uint8_t *msg,
                                   size_t msg_len, const uint8_t xonly[static 32])
{
    KG_ARG_CHECK(msg != NULL || msg_len == 0);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    secp256k1_xonly_pubkey pk;
    if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, xonly))
        return kg_err_set(KG_ERR_BAD_INPUT, "not a valid x-only secp256k1 public key (the x "
                          "coordinate is not on the curve or not below the field size)");
    if (!secp256k1_schnorrsig_verify(kg_crypto_secp(), sig64, msg_len ? msg : g_empty, msg_len,
                                     &pk))
        return kg_err_set(KG_ERR_VERIFY, "the BIP340 Schnorr signature does not verify");
    return KG_OK;
}

/* ------------------------------------------------------------------ Ed25519 */

kg_err kg_crypto_ed25519_pubkey(uint8_t pub[static 32], const uint8_t seed[static 32])
{
    memset(pub, 0, 32);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    int rc = crypto_sign_seed_keypair(pub, sk, seed);
    kg_wipe(sk, sizeof sk);
    if (rc != 0) {
        memset(pub, 0, 32);
        return kg_err_set(KG_ERR_CRYPTO, "libsodium failed to derive an Ed25519 public key");
    }
    return KG_OK;
}

kg_err kg_crypto_ed25519_sign(uint8_t sig[static 64], const uint8_t seed[static 32],
                              const uint8_t *msg, size_t len)
{
    KG_ARG_CHECK(msg != NULL || len == 0);
    memset(sig, 0, 64);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    int rc = crypto_sign_seed_keypair(pk, sk, seed);
    if (rc == 0)
        rc = crypto_sign_detached(sig, NULL, len ? msg : g_empty, len, sk);
    kg_wipe(sk, sizeof sk);
    if (rc != 0) {
        memset(sig, 0, 64);
        return kg_err_set(KG_ERR_CRYPTO, "libsodium failed to make an Ed25519 signature");
    }
    return KG_OK;
}

kg_err kg_crypto_ed25519_verify(const uint8_t sig[static 64], const uint8_t pub[static 32],
                                const uint8_t *msg, size_t len)
{
    KG_ARG_CHECK(msg != NULL || len == 0);
    kg_err err = kg_crypto_ensure();
    if (err != KG_OK)
        return err;
    /* libsodium rejects non-canonical S, small-order and non-canonical
     * keys and R: the strict rules Solana's runtime also applies. */
    if (crypto_sign_verify_detached(sig, len ? msg : g_empty, len, pub) != 0)
        return kg_err_set(KG_ERR_VERIFY, "the Ed25519 signature does not verify");
    return KG_OK;
}

/* -------------------------------------------------------------------- P-256 */

typedef struct {
    EC_GROUP *group;
    BN_CTX *bn;
    BIGNUM *k;     /* secret scalar, BN_FLG_CONSTTIME */
    BIGNUM *t;     /* tweak, BN_FLG_CONSTTIME (it is secret in SLIP-10) */
} p256_work;

static void p256_work_free(p256_work *w)
{
    BN_clear_free(w->k);
    BN_clear_free(w->t);
    BN_CTX_free(w->bn);
    EC_GROUP_free(w->group);
    memset(w, 0, sizeof *w);
}

/* Set up the group and load seckey into w->k; 0 on allocation failure. */
static int p256_work_new(p256_work *w, const uint8_t seckey[static 32])
{
    memset(w, 0, sizeof *w);
    w->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    w->bn = BN_CTX_secure_new();
    w->k = BN_secure_new();
    w->t = BN_secure_new();
    if (w->group == NULL || w->bn == NULL || w->k == NULL || w->t == NULL)
        return 0;
    BN_set_flags(w->k, BN_FLG_CONSTTIME);
    BN_set_flags(w->t, BN_FLG_CONSTTIME);
    return BN_bin2bn(seckey, 32, w->k) != NULL;
}

/* 0 < v < n; validity is public. */
static int p256_in_range(const p256_work *w, const BIGNUM *v)
{
    int ok = !BN_is_zero(v) && BN_cmp(v, EC_GROUP_get0_order(w->group)) < 0;
    kg_declassify(&ok, sizeof ok);
    return ok;
}

bool kg_crypto_p256_seckey_valid(const uint8_t seckey[static 32])
{
    p256_work w;
    int ok = p256_work_new(&w, seckey) && p256_in_range(&w, w.k);
    p256_work_free(&w);
    return ok;
}

kg_err kg_crypto_p256_pubkey(uint8_t pub33[static 33], const uint8_t seckey[static 32])
{
    memset(pub33, 0, 33);
    p256_work w;
    EC_POINT *pt = NULL;
    kg_err err = KG_OK;
    if (!p256_work_new(&w, seckey) || (pt = EC_POINT_new(w.group)) == NULL) {
        err = kg_err_set(KG_ERR_NOMEM, "out of memory computing a P-256 public key");
    } else if (!p256_in_range(&w, w.k)) {
        err = kg_err_set(KG_ERR_BAD_INPUT, "the P-256 secret key is not valid (it must be "
                         "between 1 and the group order minus 1)");
    } else if (EC_POINT_mul(w.group, pt, w.k, NULL, NULL, w.bn) != 1 ||
               EC_POINT_point2oct(w.group, pt, POINT_CONVERSION_COMPRESSED, pub33, 33, w.bn) != 33) {
        memset(pub33, 0, 33);
        err = kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to compute a P-256 public key");
    }
    EC_POINT_free(pt);
    p256_work_free(&w);
    return err;
}

kg_err kg_crypto_p256_seckey_tweak_add(uint8_t seckey[static 32], const uint8_t tweak[static 32])
{
    p256_work w;
    kg_err err = KG_OK;
    if (!p256_work_new(&w, seckey) || BN_bin2bn(tweak, 32, w.t) == NULL) {
        err = kg_err_set(KG_ERR_NOMEM, "out of memory tweaking a P-256 secret key");
    } else if (!p256_in_range(&w, w.k) ||
               BN_cmp(w.t, EC_GROUP_get0_order(w.group)) >= 0) {
        err = kg_err_set(KG_ERR_BAD_INPUT, "P-256 secret key tweak failed: the key is not valid "
                         "or the tweak is not below the group order (SLIP-10: use the next index)");
    } else if (BN_mod_add(w.k, w.k, w.t, EC_GROUP_get0_order(w.group), w.bn) != 1) {
        err = kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to add the P-256 tweak");
    } else if (!p256_in_range(&w, w.k)) {
        err = kg_err_set(KG_ERR_BAD_INPUT, "P-256 secret key tweak gives zero (SLIP-10: use the "
                         "next index)");
    } else if (BN_bn2binpad(w.k, seckey, 32) != 32) {
        err = kg_err_set(KG_ERR_CRYPTO, "OpenSSL failed to encode the tweaked P-256 key");
    }
    if (err != KG_OK)
        kg_wipe(seckey, 32);
    p256_work_free(&w);
    return err;
}
