/* PKCS#11 client: keys on a token. Generation (non-extractable, or
 * sensitive-but-wrappable for groups), lookup by CKA_ID with the type read
 * back from the token, the sensitive/extractable attributes, and the public
 * key as DER SubjectPublicKeyInfo built with OpenSSL. */
#include "hsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

/* DER OIDs of the curves, as CKA_EC_PARAMS. */
const uint8_t p11_oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
const uint8_t p11_oid_k256[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };
const uint8_t p11_oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

const uint8_t *p11_ec_params(kg_hsm_key_type type, size_t *len)
{
    switch (type) {
    case KG_HSM_KEY_EC_P256: *len = sizeof(p11_oid_p256); return p11_oid_p256;
    case KG_HSM_KEY_EC_SECP256K1: *len = sizeof(p11_oid_k256); return p11_oid_k256;
    case KG_HSM_KEY_ED25519: *len = sizeof(p11_oid_ed25519); return p11_oid_ed25519;
    default: *len = 0; return NULL;
    }
}

CK_KEY_TYPE p11_ck_key_type(kg_hsm_key_type type)
{
    switch (type) {
    case KG_HSM_KEY_AES256: return CKK_AES;
    case KG_HSM_KEY_RSA3072: return CKK_RSA;
    case KG_HSM_KEY_ED25519: return CKK_EC_EDWARDS;
    default: return CKK_EC;
    }
}

typedef struct {
    kg_hsm_key *key;
    const char *label;
    unsigned flags; /* KG_HSM_GEN_* */
} gen_ctx;

static CK_RV op_generate(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    gen_ctx *c = vctx;
    kg_hsm_key *k = c->key;
    CK_BBOOL yes = CK_TRUE;
    /* A group key may leave the token wrapped (never in plaintext: it stays sensitive). */
    CK_BBOOL ext = (c->flags & KG_HSM_GEN_WRAPPABLE) ? CK_TRUE : CK_FALSE;
    CK_OBJECT_HANDLE h;
    /* Refuse a second key with the same id: find by id would be ambiguous. */
    CK_OBJECT_CLASS cls = k->type == KG_HSM_KEY_AES256 ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
    CK_RV rv = p11_id_unused(t, s, st, cls, k->id, k->id_len);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG label_len = strlen(c->label);
    if (k->type == KG_HSM_KEY_AES256) {
        CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
        CK_KEY_TYPE kt = CKK_AES;
        CK_ULONG len = 32;
        CK_ATTRIBUTE tmpl[] = {
            { CKA_CLASS, &sk, sizeof(sk) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
            { CKA_VALUE_LEN, &len, sizeof(len) }, { CKA_TOKEN, &yes, sizeof(yes) },
            { CKA_PRIVATE, &yes, sizeof(yes) }, { CKA_SENSITIVE, &yes, sizeof(yes) },
            { CKA_EXTRACTABLE, &ext, sizeof(ext) }, { CKA_ENCRYPT, &yes, sizeof(yes) },
            { CKA_DECRYPT, &yes, sizeof(yes) }, { CKA_LABEL, (void *)c->label, label_len },
            { CKA_ID, k->id, k->id_len },
        };
        CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
        OBJ_CALL(t, st, t->f->C_GenerateKey(s, &mech, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &h), "C_GenerateKey");
        k->priv = h;
        k->pub = CK_INVALID_HANDLE;
        k->gen = gen;
        return CKR_OK;
    }
    CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
    CK_ULONG bits = 3072;
    static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
    CK_ATTRIBUTE pub[8];
    CK_ULONG np = 0;
#define A(arr, cnt, t_, p_, l_) do { arr[cnt].type = (t_); arr[cnt].pValue = (void *)(p_); arr[cnt].ulValueLen = (l_); cnt++; } while (0)
    A(pub, np, CKA_TOKEN, &yes, sizeof(yes));
    A(pub, np, CKA_VERIFY, &yes, sizeof(yes));
    A(pub, np, CKA_LABEL, c->label, label_len);
    A(pub, np, CKA_ID, k->id, k->id_len);
    size_t oid_len = 0;
    const uint8_t *oid = p11_ec_params(k->type, &oid_len);
    if (oid)
        A(pub, np, CKA_EC_PARAMS, oid, oid_len);
    if (k->type == KG_HSM_KEY_ED25519)
        mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
    if (k->type == KG_HSM_KEY_RSA3072) {
        mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        A(pub, np, CKA_MODULUS_BITS, &bits, sizeof(bits));
        A(pub, np, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
    }
    CK_ATTRIBUTE priv[9];
    CK_ULONG nv = 0;
    A(priv, nv, CKA_TOKEN, &yes, sizeof(yes));
    A(priv, nv, CKA_PRIVATE, &yes, sizeof(yes));
    A(priv, nv, CKA_SENSITIVE, &yes, sizeof(yes));
    A(priv, nv, CKA_EXTRACTABLE, &ext, sizeof(ext));
    A(priv, nv, CKA_SIGN, &yes, sizeof(yes));
    if (k->type == KG_HSM_KEY_RSA3072) /* RSA keys also decrypt (kg_hsm_rsa_oaep_decrypt) */
        A(priv, nv, CKA_DECRYPT, &yes, sizeof(yes));
    A(priv, nv, CKA_LABEL, c->label, label_len);
    A(priv, nv, CKA_ID, k->id, k->id_len);
#undef A
    CK_OBJECT_HANDLE hpub, hpriv;
    OBJ_CALL(t, st, t->f->C_GenerateKeyPair(s, &mech, pub, np, priv, nv, &hpub, &hpriv), "C_GenerateKeyPair");
    k->pub = hpub;
    k->priv = hpriv;
    k->gen = gen;
    return CKR_OK;
}


kg_err kg_hsm_key_generate(kg_hsm_token *t, kg_hsm_key *out, kg_hsm_key_type type,
                           const char *label, const uint8_t *id, size_t id_len)
{
    return kg_hsm_key_generate_ex(t, out, type, label, id, id_len, 0);
}

kg_err kg_hsm_key_generate_ex(kg_hsm_token *t, kg_hsm_key *out, kg_hsm_key_type type,
                              const char *label, const uint8_t *id, size_t id_len, unsigned flags)
{
    memset(out, 0, sizeof(*out));
    kg_err err = p11_check_id(id, id_len);
    if (err)
        return err;
    static const CK_MECHANISM_TYPE need[] = {
        [KG_HSM_KEY_AES256] = CKM_AES_KEY_GEN, [KG_HSM_KEY_EC_P256] = CKM_EC_KEY_PAIR_GEN,
        [KG_HSM_KEY_EC_SECP256K1] = CKM_EC_KEY_PAIR_GEN, [KG_HSM_KEY_RSA3072] = CKM_RSA_PKCS_KEY_PAIR_GEN,
        [KG_HSM_KEY_ED25519] = CKM_EC_EDWARDS_KEY_PAIR_GEN,
    };
    if ((unsigned)type > KG_HSM_KEY_ED25519)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown HSM key type %d", (int)type);
    if (flags & ~KG_HSM_GEN_WRAPPABLE)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown key generation flags 0x%x", flags);
    if (!kg_hsm_token_has_mechanism(t, need[type]))
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "token '%s' cannot generate this key type", t->label);
    kg_hsm_key k;
    memset(&k, 0, sizeof(k));
    k.type = type;
    memcpy(k.id, id, id_len);
    k.id_len = id_len;
    gen_ctx c = { &k, label, flags };
    err = p11_run_op(t, op_generate, &c);
    if (!err)
        *out = k;
    return err;
}

typedef struct {
    kg_hsm_key *key;
} find_ctx;




static CK_RV op_find(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    kg_hsm_key *k = ((find_ctx *)vctx)->key;
    CK_OBJECT_HANDLE h;
    CK_ULONG n;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_RV rv = p11_find_object(t, s, st, cls, k->id, k->id_len, &h, &n);
    if (rv != CKR_OK)
        return rv;
    if (n == 0) {
        cls = CKO_PRIVATE_KEY;
        rv = p11_find_object(t, s, st, cls, k->id, k->id_len, &h, &n);
        if (rv != CKR_OK)
            return rv;
    }
    if (n == 0) {
        st->err = kg_err_set(KG_ERR_NOT_FOUND, "no key with this id on token '%s'", t->label);
        return RV_KG_ERR;
    }
    rv = p11_key_type(t, s, st, h, &k->type);
    if (rv != CKR_OK)
        return rv;
    k->priv = h;
    k->pub = CK_INVALID_HANDLE;
    if (k->type != KG_HSM_KEY_AES256) {
        rv = p11_find_object(t, s, st, CKO_PUBLIC_KEY, k->id, k->id_len, &h, &n);
        if (rv != CKR_OK)
            return rv;
        k->pub = h; /* may be CK_INVALID_HANDLE: looked up again when needed */
    }
    k->gen = gen;
    return CKR_OK;
}

kg_err kg_hsm_key_find(kg_hsm_token *t, kg_hsm_key *out, const uint8_t *id, size_t id_len)
{
    memset(out, 0, sizeof(*out));
    kg_err err = p11_check_id(id, id_len);
    if (err)
        return err;
    kg_hsm_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.id, id, id_len);
    k.id_len = id_len;
    find_ctx c = { &k };
    err = p11_run_op(t, op_find, &c);
    if (!err)
        *out = k;
    return err;
}

typedef struct {
    const kg_hsm_key *key;
    bool sensitive, extractable;
} attr_ctx;

static CK_RV op_attrs(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    attr_ctx *c = vctx;
    CK_OBJECT_HANDLE h;
    CK_RV rv = p11_key_handle(t, s, gen, c->key, false, st, &h);
    if (rv != CKR_OK)
        return rv;
    CK_BBOOL sens = CK_FALSE, ext = CK_TRUE;
    CK_ATTRIBUTE a[] = { { CKA_SENSITIVE, &sens, sizeof(sens) }, { CKA_EXTRACTABLE, &ext, sizeof(ext) } };
    CALL(st, t->f->C_GetAttributeValue(s, h, a, 2), "C_GetAttributeValue");
    c->sensitive = sens == CK_TRUE;
    c->extractable = ext == CK_TRUE;
    return CKR_OK;
}

kg_err kg_hsm_key_attrs(kg_hsm_token *t, const kg_hsm_key *key, bool *sensitive, bool *extractable)
{
    attr_ctx c = { key, false, true };
    kg_err err = p11_run_op(t, op_attrs, &c);
    *sensitive = !err && c.sensitive;
    *extractable = err || c.extractable;
    return err;
}

/* ------------------------------------------------------------ public key */

typedef struct {
    const kg_hsm_key *key;
    EVP_PKEY *pkey;
} pub_ctx;

/* CKA_EC_POINT is a DER OCTET STRING around the point; some tokens give it bare. */
static bool unwrap_octets(const uint8_t *p, size_t len, const uint8_t **pt, size_t *pt_len)
{
    if (len >= 2 && p[0] == 0x04) {
        size_t l, off;
        if (p[1] < 0x80) {
            l = p[1];
            off = 2;
        } else if (p[1] == 0x81 && len >= 3) {
            l = p[2];
            off = 3;
        } else {
            return false;
        }
        if (off + l == len) {
            *pt = p + off;
            *pt_len = l;
            return true;
        }
    }
    *pt = p; /* raw point (uncompressed 0x04 || x || y) */
    *pt_len = len;
    return true;
}

static EVP_PKEY *pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params && pc && EVP_PKEY_fromdata_init(pc) == 1)
        if (EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
            pkey = NULL;
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    return pkey;
}

static CK_RV op_pub(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    pub_ctx *c = vctx;
    CK_OBJECT_HANDLE h;
    CK_RV rv = p11_key_handle(t, s, gen, c->key, true, st, &h);
    if (rv != CKR_OK)
        return rv;
    EVP_PKEY *pkey = NULL;
    if (c->key->type == KG_HSM_KEY_RSA3072) {
        uint8_t *mod, *exp;
        size_t mod_len, exp_len;
        rv = p11_get_bytes(t, s, st, h, CKA_MODULUS, &mod, &mod_len);
        if (rv != CKR_OK)
            return rv;
        rv = p11_get_bytes(t, s, st, h, CKA_PUBLIC_EXPONENT, &exp, &exp_len);
        if (rv != CKR_OK) {
            free(mod);
            return rv;
        }
        BIGNUM *n = BN_bin2bn(mod, (int)mod_len, NULL), *e = BN_bin2bn(exp, (int)exp_len, NULL);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        if (n && e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
            pkey = pkey_from("RSA", bld);
        OSSL_PARAM_BLD_free(bld);
        BN_free(n);
        BN_free(e);
        free(mod);
        free(exp);
    } else {
        uint8_t *raw;
        size_t raw_len;
        const uint8_t *pt;
        size_t pt_len;
        rv = p11_get_bytes(t, s, st, h, CKA_EC_POINT, &raw, &raw_len);
        if (rv != CKR_OK)
            return rv;
        if (unwrap_octets(raw, raw_len, &pt, &pt_len)) {
            if (c->key->type == KG_HSM_KEY_ED25519) {
                pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt, pt_len);
            } else {
                const char *group = c->key->type == KG_HSM_KEY_EC_P256 ? "prime256v1" : "secp256k1";
                OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
                if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
                    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, pt_len) == 1)
                    pkey = pkey_from("EC", bld);
                OSSL_PARAM_BLD_free(bld);
            }
        }
        free(raw);
    }
    if (!pkey) {
        st->err = kg_err_set(KG_ERR_CRYPTO, "cannot build the public key read from token '%s'", t->label);
        return RV_KG_ERR;
    }
    c->pkey = pkey;
    return CKR_OK;
}

kg_err kg_hsm_key_public_der(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key)
{
    memset(out, 0, sizeof(*out));
    if (key->type == KG_HSM_KEY_AES256)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "an AES key has no public key");
    pub_ctx c = { key, NULL };
    kg_err err = p11_run_op(t, op_pub, &c);
    if (err)
        return err;
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(c.pkey, &der);
    EVP_PKEY_free(c.pkey);
    if (len <= 0)
        return kg_err_set(KG_ERR_CRYPTO, "cannot encode the public key as SubjectPublicKeyInfo");
    err = kg_bytes_set(out, der, (size_t)len);
    OPENSSL_free(der);
    return err;
}
