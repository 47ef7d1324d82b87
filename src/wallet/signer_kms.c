/* The KMS signer: the signer seam (signer.h) over keys of a KashGuard KMS.
 *
 * ref->key names the key (id or alias); the KMS enforces the caller's
 * policies on every call ("get-public-key", "sign"), so a wallet built on
 * this signer can do no more than its token allows.
 *
 * Schemes and key specs:
 *   KG_SIG_ECDSA_SECP256K1  ECC_SECG_P256K1: kg_kms_sign over the 32-byte
 *                           digest, raw r||s (low-S, RFC 6979). The KMS does
 *                           not return a recovery id, so we find it: the one
 *                           of 0..3 for which kg_crypto_k1_recover gives the
 *                           key's public key (SEC 1 §4.1.6). The public key
 *                           is that of the version that signed (the info
 *                           names it), so a rotation between the two calls
 *                           cannot mismatch them.
 *   KG_SIG_ECDSA_P256       ECC_NIST_P256: the same, no recovery id.
 *   KG_SIG_ED25519          ED25519: the message itself.
 *   KG_SIG_BIP340           not supported yet (the KMS has no Schnorr).
 * Public keys come from kg_kms_public_key's raw form (65-byte uncompressed
 * SEC1 point, or 32 bytes for Ed25519) and are compressed to 33 bytes:
 * the prefix is 0x02 | (y & 1) (SEC 1 §2.3.3), no curve arithmetic. */
#include <kashguard/wallet/signers.h>
#include <kashguard/crypto.h>

#include <stdlib.h>
#include <string.h>

typedef struct {
    kg_kms *kms;
    const kg_kms_caller *who;
} kms_impl;

static const char *spec_for(kg_sig_scheme scheme)
{
    switch (scheme) {
    case KG_SIG_ECDSA_SECP256K1: return "ECC_SECG_P256K1";
    case KG_SIG_ECDSA_P256:      return "ECC_NIST_P256";
    case KG_SIG_ED25519:         return "ED25519";
    case KG_SIG_BIP340:
    default:                     return NULL;
    }
}

static kg_err check_ref(const kg_key_ref *ref, kg_sig_scheme scheme)
{
    if (ref->key == NULL || ref->key[0] == '\0')
        return kg_err_set(KG_ERR_BAD_INPUT, "the KMS signer needs a key id or alias in the key reference");
    if (scheme == KG_SIG_BIP340)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "BIP340 (Schnorr/Taproot) signing with a KMS key is not "
                          "supported yet; use ECDSA or a local wallet key");
    if (spec_for(scheme) == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown signature scheme %d", (int)scheme);
    if (ref->path_len != 0 || ref->taproot)
        return kg_err_set(KG_ERR_BAD_INPUT, "KMS key '%.64s' does not derive: the key reference must "
                          "have no path and no taproot tweak", ref->key);
    return KG_OK;
}

/* The public key of version (0 = current) of ref->key, in signer.h's form. */
static kg_err kms_pub(kg_pubkey *out, const kms_impl *ki, const char *key, kg_sig_scheme scheme,
                      unsigned version)
{
    json_t *doc = NULL;
    kg_bytes raw = { 0 };
    const char *spec = NULL;
    memset(out, 0, sizeof(*out));
    kg_err e = kg_kms_public_key(ki->kms, ki->who, &doc, key, version);
    if (e == KG_OK)
        e = kg_json_get_str(&spec, doc, "spec", true);
    if (e == KG_OK && strcmp(spec, spec_for(scheme)) != 0)
        e = kg_err_set(KG_ERR_WRONG_KEY_USAGE, "KMS key '%.64s' is %s; this signature needs a %s key",
                       key, spec, spec_for(scheme));
    if (e == KG_OK)
        e = kg_json_get_b64(&raw, doc, "public_key", true, 65);
    if (e == KG_OK && scheme == KG_SIG_ED25519 && raw.len == 32) {
        memcpy(out->data, raw.data, 32);
        out->len = 32;
    } else if (e == KG_OK && scheme != KG_SIG_ED25519 && raw.len == 65 && raw.data[0] == 0x04) {
        out->data[0] = (uint8_t)(0x02 | (raw.data[64] & 1));
        memcpy(out->data + 1, raw.data + 1, 32);
        out->len = 33;
    } else if (e == KG_OK) {
        e = kg_err_set(KG_ERR_INTERNAL, "KMS key '%.64s' returned a %zu-byte public key", key, raw.len);
    }
    kg_bytes_free(&raw);
    json_decref(doc);
    return e;
}

static kg_err kms_public_key(kg_signer *s, kg_pubkey *out, const kg_key_ref *ref, kg_sig_scheme scheme)
{
    KG_ARG_CHECK(s != NULL && out != NULL && ref != NULL);
    memset(out, 0, sizeof(*out));
    kg_err e = check_ref(ref, scheme);
    return e == KG_OK ? kms_pub(out, s->impl, ref->key, scheme, 0) : e;
}

/* The recovery id of sig over digest for the compressed key pub33. */
static kg_err find_recid(int *recid, const uint8_t sig[static 64], const uint8_t digest[static 32],
                         const uint8_t pub33[static 33])
{
    uint8_t want[65], got[65];
    kg_err e = kg_crypto_k1_pubkey_convert(want, sizeof(want), pub33, 33);
    for (int i = 0; e == KG_OK && i < 4; i++) {
        if (kg_crypto_k1_recover(got, sig, i, digest) == KG_OK && memcmp(got, want, 65) == 0) {
            *recid = i;
            kg_err_clear();
            return KG_OK;
        }
    }
    return e != KG_OK ? e : kg_err_set(KG_ERR_CRYPTO, "no recovery id maps the KMS signature to the key's "
                                       "public key");
}

static kg_err kms_sign(kg_signer *s, kg_signature *out, const kg_key_ref *ref, kg_sig_scheme scheme,
                       const uint8_t *msg, size_t msg_len)
{
    KG_ARG_CHECK(s != NULL && out != NULL && ref != NULL && (msg != NULL || msg_len == 0));
    kms_impl *ki = s->impl;
    memset(out, 0, sizeof(*out));
    out->recid = -1;
    kg_err e = check_ref(ref, scheme);
    if (e == KG_OK && scheme != KG_SIG_ED25519 && msg_len != 32)
        e = kg_err_set(KG_ERR_BAD_INPUT, "ECDSA signs a 32-byte digest (got %zu bytes)", msg_len);
    kg_pubkey pub;
    kg_bytes sig = { 0 };
    json_t *info = NULL;
    int64_t version = 0;
    /* Check the spec first: kg_kms_sign would sign with any asymmetric key. */
    if (e == KG_OK)
        e = kms_pub(&pub, ki, ref->key, scheme, 0);
    if (e == KG_OK)
        e = kg_kms_sign(ki->kms, ki->who, &sig, &info, ref->key,
                        scheme == KG_SIG_ED25519 ? KG_CRYPTO_INPUT_MESSAGE : KG_CRYPTO_INPUT_DIGEST,
                        KG_CRYPTO_SIG_RAW, msg, msg_len);
    if (e == KG_OK && sig.len != 64)
        e = kg_err_set(KG_ERR_INTERNAL, "the KMS returned a %zu-byte signature", sig.len);
    if (e == KG_OK && scheme == KG_SIG_ECDSA_SECP256K1) {
        e = kg_json_get_int(&version, info, "version", true);
        if (e == KG_OK && (version < 1 || version > UINT32_MAX))
            e = kg_err_set(KG_ERR_INTERNAL, "the KMS named version %lld", (long long)version);
        if (e == KG_OK)
            e = kms_pub(&pub, ki, ref->key, scheme, (unsigned)version);
        if (e == KG_OK)
            e = find_recid(&out->recid, sig.data, msg, pub.data);
    }
    if (e == KG_OK) {
        memcpy(out->data, sig.data, 64);
        out->len = 64;
    } else {
        memset(out, 0, sizeof(*out));
        out->recid = -1;
    }
    kg_bytes_free(&sig);
    json_decref(info);
    return e;
}

static void kms_close(kg_signer *s)
{
    free(s->impl);
    free(s);
}

static const kg_signer_ops kms_ops = {
    .public_key = kms_public_key,
    .sign = kms_sign,
    .close = kms_close,
};

kg_err kg_wallet_signer_kms(kg_signer **out, kg_kms *kms, const kg_kms_caller *who)
{
    KG_ARG_CHECK(out != NULL && kms != NULL && who != NULL);
    *out = NULL;
    kg_signer *s = calloc(1, sizeof(*s));
    kms_impl *ki = calloc(1, sizeof(*ki));
    if (s == NULL || ki == NULL) {
        free(s);
        free(ki);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    ki->kms = kms;
    ki->who = who;
    s->ops = &kms_ops;
    s->impl = ki;
    *out = s;
    return KG_OK;
}
