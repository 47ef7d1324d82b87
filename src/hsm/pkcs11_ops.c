/* PKCS#11 client: operations with a key on the token: AES-256-GCM and
 * signatures (ECDSA over a SHA-256 digest computed here, RSA-PSS, EdDSA),
 * each run through p11_run_op so a lost session is recovered. */
#include "hsm_int.h"

#include "kashguard/crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>

/* ------------------------------------------------------------ AES-GCM */

typedef struct {
    const kg_hsm_key *key;
    bool decrypt;
    const uint8_t *iv, *aad, *in;
    size_t aad_len, in_len;
    kg_bytes *out;
} gcm_ctx;

static CK_RV op_gcm(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    gcm_ctx *c = vctx;
    CK_OBJECT_HANDLE h;
    CK_RV rv = p11_key_handle(t, s, gen, c->key, false, st, &h);
    if (rv != CKR_OK)
        return rv;
    uint8_t iv[KG_HSM_GCM_IV_BYTES];
    memcpy(iv, c->iv, sizeof(iv));
    CK_GCM_PARAMS p;
    memset(&p, 0, sizeof(p));
    p.pIv = iv;
    p.ulIvLen = sizeof(iv);
    p.ulIvBits = sizeof(iv) * 8;
    p.pAAD = (CK_BYTE_PTR)c->aad;
    p.ulAADLen = c->aad_len;
    p.ulTagBits = KG_HSM_GCM_TAG_BYTES * 8;
    CK_MECHANISM mech = { CKM_AES_GCM, &p, sizeof(p) };
    size_t cap = c->in_len + KG_HSM_GCM_TAG_BYTES;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        st->err = kg_err_set(KG_ERR_NOMEM, "AES-GCM buffer");
        return RV_KG_ERR;
    }
    CK_ULONG out_len = cap;
    /* C_Encrypt* and C_Decrypt* take the same arguments */
    CK_C_EncryptInit init = c->decrypt ? t->f->C_DecryptInit : t->f->C_EncryptInit;
    CK_C_Encrypt run = c->decrypt ? t->f->C_Decrypt : t->f->C_Encrypt;
    rv = init(s, &mech, h);
    st->fn = c->decrypt ? "C_DecryptInit" : "C_EncryptInit";
    if (rv == CKR_OK) {
        rv = run(s, (CK_BYTE_PTR)c->in, c->in_len, buf, &out_len);
        st->fn = c->decrypt ? "C_Decrypt" : "C_Encrypt";
    }
    if (rv == CKR_OK) {
        kg_err err = kg_bytes_set(c->out, buf, out_len);
        if (err) {
            st->err = err;
            rv = RV_KG_ERR;
        }
    }
    kg_wipe(buf, cap);
    free(buf);
    return rv;
}

static kg_err gcm(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key, bool decrypt,
                  const uint8_t *iv, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len)
{
    memset(out, 0, sizeof(*out));
    if (key->type != KG_HSM_KEY_AES256)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "AES-GCM needs an AES key");
    if (decrypt && in_len < KG_HSM_GCM_TAG_BYTES)
        return kg_err_set(KG_ERR_DECRYPT, "ciphertext shorter than the GCM tag");
    static const uint8_t empty[1];
    gcm_ctx c = { key, decrypt, iv, aad ? aad : empty, in ? in : empty, aad ? aad_len : 0, in_len, out };
    kg_err err = p11_run_op(t, op_gcm, &c);
    if (err && decrypt && err != KG_ERR_NOMEM && err != KG_ERR_IO && err != KG_ERR_NOT_FOUND &&
        err != KG_ERR_UNAUTHENTICATED && err != KG_ERR_WRONG_KEY_USAGE) {
        /* Tokens report a bad tag variously (CKR_ENCRYPTED_DATA_INVALID, CKR_GENERAL_ERROR, ...). */
        char detail[256];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        err = kg_err_set(KG_ERR_DECRYPT, "AES-GCM authentication failed (%s)", detail);
    }
    return err;
}

kg_err kg_hsm_aes_gcm_encrypt(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES], const uint8_t *aad, size_t aad_len,
                              const uint8_t *pt, size_t pt_len)
{
    return gcm(t, out, key, false, iv, aad, aad_len, pt, pt_len);
}

kg_err kg_hsm_aes_gcm_decrypt(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES], const uint8_t *aad, size_t aad_len,
                              const uint8_t *ct, size_t ct_len)
{
    return gcm(t, out, key, true, iv, aad, aad_len, ct, ct_len);
}

/* ------------------------------------------------------------------ sign */

typedef struct {
    const kg_hsm_key *key;
    CK_MECHANISM mech;
    const uint8_t *data;
    size_t len;
    uint8_t sig[512];
    CK_ULONG sig_len;
} sign_ctx;

static CK_RV op_sign(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    sign_ctx *c = vctx;
    CK_OBJECT_HANDLE h;
    CK_RV rv = p11_key_handle(t, s, gen, c->key, false, st, &h);
    if (rv != CKR_OK)
        return rv;
    CALL(st, t->f->C_SignInit(s, &c->mech, h), "C_SignInit");
    c->sig_len = sizeof(c->sig);
    CALL(st, t->f->C_Sign(s, (CK_BYTE_PTR)c->data, c->len, c->sig, &c->sig_len), "C_Sign");
    return CKR_OK;
}

static kg_err ecdsa_out(kg_bytes *sig, const uint8_t *raw, size_t raw_len, kg_hsm_sig_format fmt)
{
    if (fmt == KG_HSM_SIG_RAW)
        return kg_bytes_set(sig, raw, raw_len);
    if (raw_len != 64)
        return kg_err_set(KG_ERR_CRYPTO, "the token returned a %zu-byte ECDSA signature", raw_len);
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *sv = BN_bin2bn(raw + 32, 32, NULL);
    if (!es || !r || !sv || ECDSA_SIG_set0(es, r, sv) != 1) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(sv);
        return kg_err_set(KG_ERR_NOMEM, "ECDSA signature");
    }
    unsigned char *der = NULL;
    int len = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (len <= 0)
        return kg_err_set(KG_ERR_CRYPTO, "cannot DER-encode the ECDSA signature");
    kg_err err = kg_bytes_set(sig, der, (size_t)len);
    OPENSSL_free(der);
    return err;
}

static kg_err sign_ec(kg_hsm_token *t, kg_bytes *sig, const kg_hsm_key *key, kg_hsm_sig_format fmt,
                      const uint8_t digest[32])
{
    sign_ctx c;
    memset(&c, 0, sizeof(c));
    c.key = key;
    c.mech.mechanism = CKM_ECDSA;
    c.data = digest;
    c.len = 32;
    kg_err err = p11_run_op(t, op_sign, &c);
    if (!err)
        err = ecdsa_out(sig, c.sig, c.sig_len, fmt);
    return err;
}

kg_err kg_hsm_sign_digest(kg_hsm_token *t, kg_bytes *sig, const kg_hsm_key *key, kg_hsm_sig_format fmt,
                          const uint8_t digest[32])
{
    memset(sig, 0, sizeof(*sig));
    if (key->type != KG_HSM_KEY_EC_P256 && key->type != KG_HSM_KEY_EC_SECP256K1)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "signing a digest needs an ECDSA key");
    return sign_ec(t, sig, key, fmt, digest);
}

kg_err kg_hsm_sign(kg_hsm_token *t, kg_bytes *sig, const kg_hsm_key *key, kg_hsm_sig_format fmt,
                   const uint8_t *msg, size_t msg_len)
{
    memset(sig, 0, sizeof(*sig));
    static const uint8_t empty[1];
    if (!msg)
        msg = empty;
    switch (key->type) {
    case KG_HSM_KEY_EC_P256:
    case KG_HSM_KEY_EC_SECP256K1: {
        uint8_t d[KG_SHA256_BYTES];
        kg_crypto_sha256(d, msg, msg_len);
        return sign_ec(t, sig, key, fmt, d);
    }
    case KG_HSM_KEY_RSA3072:
    case KG_HSM_KEY_ED25519: {
        sign_ctx c;
        memset(&c, 0, sizeof(c));
        CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
        c.key = key;
        if (key->type == KG_HSM_KEY_RSA3072) {
            c.mech.mechanism = CKM_SHA256_RSA_PKCS_PSS;
            c.mech.pParameter = &pss;
            c.mech.ulParameterLen = sizeof(pss);
        } else {
            c.mech.mechanism = CKM_EDDSA;
        }
        c.data = msg;
        c.len = msg_len;
        kg_err err = p11_run_op(t, op_sign, &c);
        if (!err)
            err = kg_bytes_set(sig, c.sig, c.sig_len);
        return err;
    }
    default:
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "an AES key cannot sign");
    }
}
