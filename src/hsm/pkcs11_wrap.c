/* PKCS#11 client, replication part: group keys leave a token only wrapped
 * (include/kashguard/hsm.h, "replication (group KEKs)").
 *
 * A key generated sensitive-but-extractable (KG_HSM_GEN_WRAPPABLE) is
 * wrapped under the group KEK with CKM_AES_KEY_WRAP_PAD (private keys as
 * PKCS#8, which the token builds and parses) and unwrapped on every other
 * member as a sensitive, wrappable token object with the same CKA_ID and
 * label. The public half cannot travel in the wrap, so the caller passes
 * its SPKI and the public object is created from it: kg_hsm_key_find and
 * kg_hsm_key_public_der then work on the replica as on the original.
 * Also here: the SPKI and OAEP helpers the KEK transport (pkcs11_kek.c)
 * shares, and RSA-OAEP decryption (on the token, or where the token refuses
 * SHA-256 OAEP, raw RSA on the token and OAEP decoding on the host). */
#include "hsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* ------------------------------------------------------------ helpers */

/* CONFLICT when an object of class cls with this CKA_ID is on the token. */
CK_RV p11_id_unused(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_CLASS cls,
                    const uint8_t *id, size_t id_len)
{
    CK_OBJECT_HANDLE h;
    CK_ULONG n;
    CK_RV rv = p11_find_object(t, s, st, cls, id, id_len, &h, &n);
    if (rv != CKR_OK)
        return rv;
    if (n > 0)
        return p11_fail(st, kg_err_set(KG_ERR_CONFLICT, "token '%s' already holds a key with this id", t->label));
    return CKR_OK;
}

static kg_err spki_rsa(EVP_PKEY *pk, spki_parts *o)
{
    BIGNUM *n = NULL, *e = NULL;
    kg_err err = KG_OK;
    if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1 || BN_num_bits(n) < 2048 ||
        BN_num_bytes(n) > (int)sizeof(o->n) || BN_num_bytes(e) > (int)sizeof(o->e))
        err = kg_err_set(KG_ERR_BAD_INPUT, "the RSA public key is unusable (under 2048 or over 4096 bits)");
    else {
        o->n_len = (size_t)BN_bn2bin(n, o->n);
        o->e_len = (size_t)BN_bn2bin(e, o->e);
        o->type = KG_HSM_KEY_RSA3072;
    }
    BN_free(n);
    BN_free(e);
    return err;
}

static kg_err spki_ec(EVP_PKEY *pk, spki_parts *o)
{
    uint8_t pt[65];
    size_t pt_len = 0;
    if (EVP_PKEY_is_a(pk, "ED25519")) {
        pt_len = 32;
        if (EVP_PKEY_get_raw_public_key(pk, pt, &pt_len) != 1 || pt_len != 32)
            return kg_err_set(KG_ERR_BAD_INPUT, "unusable Ed25519 public key");
        o->type = KG_HSM_KEY_ED25519;
    } else {
        char group[32] = "";
        if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1)
            return kg_err_set(KG_ERR_BAD_INPUT, "EC public key without a named curve");
        if (strcmp(group, "prime256v1") == 0)
            o->type = KG_HSM_KEY_EC_P256;
        else if (strcmp(group, "secp256k1") == 0)
            o->type = KG_HSM_KEY_EC_SECP256K1;
        else
            return kg_err_set(KG_ERR_BAD_INPUT, "EC public key on unsupported curve %s", group);
        /* the uncompressed point, as the token stores generated keys */
        if (EVP_PKEY_set_utf8_string_param(pk, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed") != 1 ||
            EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pt_len) != 1 ||
            pt_len != 65)
            return kg_err_set(KG_ERR_BAD_INPUT, "unusable EC public key");
    }
    o->point[0] = 0x04; /* OCTET STRING */
    o->point[1] = (uint8_t)pt_len;
    memcpy(o->point + 2, pt, pt_len);
    o->point_len = pt_len + 2;
    return KG_OK;
}

/* Parse DER SubjectPublicKeyInfo (from another token, via HMS) into parts. */
kg_err p11_spki_parse(spki_parts *o, const uint8_t *der, size_t len)
{
    memset(o, 0, sizeof(*o));
    const unsigned char *p = der;
    EVP_PKEY *pk = len > 0 && len < 4096 ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
    if (!pk || p != der + len) {
        EVP_PKEY_free(pk);
        return kg_err_set(KG_ERR_BAD_INPUT, "the public key is not DER SubjectPublicKeyInfo");
    }
    kg_err err = EVP_PKEY_is_a(pk, "RSA") ? spki_rsa(pk, o)
               : EVP_PKEY_is_a(pk, "EC") || EVP_PKEY_is_a(pk, "ED25519") ? spki_ec(pk, o)
               : kg_err_set(KG_ERR_BAD_INPUT, "unsupported public key algorithm");
    EVP_PKEY_free(pk);
    return err;
}

void p11_oaep_params(CK_RSA_PKCS_OAEP_PARAMS *p, int hash, const uint8_t *label, size_t label_len)
{
    memset(p, 0, sizeof(*p));
    p->hashAlg = hash == P11_OAEP_SHA256 ? CKM_SHA256 : CKM_SHA_1;
    p->mgf = hash == P11_OAEP_SHA256 ? CKG_MGF1_SHA256 : CKG_MGF1_SHA1;
    p->source = CKZ_DATA_SPECIFIED;
    p->pSourceData = label_len ? (void *)label : NULL;
    p->ulSourceDataLen = label_len;
}

/* Tokens say "this OAEP hash is not supported" with one of these codes. */
bool p11_param_refused(CK_RV rv)
{
    return rv == CKR_MECHANISM_PARAM_INVALID || rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_INVALID;
}

void p11_key_init(kg_hsm_key *k, kg_hsm_key_type type, const uint8_t *id, size_t id_len)
{
    memset(k, 0, sizeof(*k));
    k->type = type;
    memcpy(k->id, id, id_len);
    k->id_len = id_len;
}

/* ------------------------------------------------------- key wrap/unwrap */

typedef struct {
    const kg_hsm_key *kek, *key;
    uint8_t *out;
    CK_ULONG out_len;
    bool unextractable; /* the key itself refused: not a token limitation */
} wrap_ctx;

static CK_RV op_key_wrap(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    wrap_ctx *c = vctx;
    CK_OBJECT_HANDLE hkek, hkey;
    CK_RV rv = p11_key_handle(t, s, gen, c->kek, false, st, &hkek);
    if (rv == CKR_OK)
        rv = p11_key_handle(t, s, gen, c->key, false, st, &hkey);
    if (rv != CKR_OK)
        return rv;
    CK_BBOOL ext = CK_FALSE;
    CK_ATTRIBUTE a = { CKA_EXTRACTABLE, &ext, sizeof(ext) };
    CALL(st, t->f->C_GetAttributeValue(s, hkey, &a, 1), "C_GetAttributeValue");
    c->unextractable = ext != CK_TRUE;
    if (ext != CK_TRUE)
        return p11_fail(st, kg_err_set(KG_ERR_WRONG_KEY_USAGE, "the key on token '%s' is not wrappable "
                                       "(generated non-extractable, e.g. for a group of one)", t->label));
    CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
    free(c->out);
    c->out = NULL;
    c->out_len = 0;
    CALL(st, t->f->C_WrapKey(s, &mech, hkek, hkey, NULL, &c->out_len), "C_WrapKey");
    if (c->out_len == 0 || c->out_len > 1 << 16 || !(c->out = malloc(c->out_len)))
        return p11_fail(st, kg_err_set(KG_ERR_NOMEM, "wrapped key buffer"));
    CALL(st, t->f->C_WrapKey(s, &mech, hkek, hkey, c->out, &c->out_len), "C_WrapKey");
    return CKR_OK;
}

kg_err kg_hsm_key_wrap(kg_hsm_token *t, kg_bytes *wrapped, const kg_hsm_key *kek, const kg_hsm_key *key)
{
    memset(wrapped, 0, sizeof(*wrapped));
    if (kek->type != KG_HSM_KEY_AES256)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "a group KEK is an AES key");
    wrap_ctx c = { kek, key, NULL, 0, false };
    kg_err err = p11_run_op(t, op_key_wrap, &c);
    if ((err == KG_ERR_CRYPTO || err == KG_ERR_WRONG_KEY_USAGE) && key->type == KG_HSM_KEY_ED25519 &&
        !c.unextractable) {
        /* SoftHSM2 2.6 answers CKR_KEY_NOT_WRAPPABLE: it cannot encode an
         * EdDSA private key as PKCS#8, so Ed25519 group keys cannot be replicated. */
        char detail[200];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        err = kg_err_set(KG_ERR_WRONG_KEY_USAGE, "the token '%s' cannot wrap Ed25519 keys (%s)", t->label, detail);
    }
    if (!err)
        err = kg_bytes_set(wrapped, c.out, c.out_len);
    free(c.out);
    return err;
}

typedef struct {
    kg_hsm_key *key;
    const kg_hsm_key *kek;
    const uint8_t *wrapped;
    size_t wrapped_len;
    const char *label;
    const spki_parts *pub;
} unwrap_ctx;

/* The public key object of an unwrapped private key, from the SPKI parts. */
static CK_RV create_public(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, unwrap_ctx *c, CK_OBJECT_HANDLE *h)
{
    CK_OBJECT_CLASS pk = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = p11_ck_key_type(c->key->type);
    CK_BBOOL yes = CK_TRUE;
    size_t oid_len = 0;
    const uint8_t *oid = p11_ec_params(c->key->type, &oid_len);
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &pk, sizeof(pk) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
        { CKA_TOKEN, &yes, sizeof(yes) }, { CKA_VERIFY, &yes, sizeof(yes) },
        { CKA_LABEL, (void *)c->label, strlen(c->label) }, { CKA_ID, c->key->id, c->key->id_len },
        { CKA_MODULUS, (void *)c->pub->n, c->pub->n_len },
        { CKA_PUBLIC_EXPONENT, (void *)c->pub->e, c->pub->e_len },
    };
    if (kt != CKK_RSA) {
        tmpl[6] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, (void *)oid, oid_len };
        tmpl[7] = (CK_ATTRIBUTE){ CKA_EC_POINT, (void *)c->pub->point, c->pub->point_len };
    }
    OBJ_CALL(t, st, t->f->C_CreateObject(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), h), "C_CreateObject");
    return CKR_OK;
}

static CK_RV op_key_unwrap(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    unwrap_ctx *c = vctx;
    kg_hsm_key *k = c->key;
    bool aes = k->type == KG_HSM_KEY_AES256;
    CK_OBJECT_CLASS cls = aes ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
    CK_RV rv = p11_id_unused(t, s, st, cls, k->id, k->id_len);
    if (rv == CKR_OK && !aes)
        rv = p11_id_unused(t, s, st, CKO_PUBLIC_KEY, k->id, k->id_len);
    CK_OBJECT_HANDLE hkek;
    if (rv == CKR_OK)
        rv = p11_key_handle(t, s, gen, c->kek, false, st, &hkek);
    if (rv != CKR_OK)
        return rv;
    CK_KEY_TYPE kt = p11_ck_key_type(k->type);
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
        { CKA_TOKEN, &yes, sizeof(yes) }, { CKA_PRIVATE, &yes, sizeof(yes) },
        { CKA_SENSITIVE, &yes, sizeof(yes) }, { CKA_EXTRACTABLE, &yes, sizeof(yes) },
        { CKA_LABEL, (void *)c->label, strlen(c->label) }, { CKA_ID, k->id, k->id_len },
        /* the usages kg_hsm_key_generate gives the same type */
        { CKA_ENCRYPT, aes ? &yes : &no, sizeof(yes) },
        { CKA_DECRYPT, aes || k->type == KG_HSM_KEY_RSA3072 ? &yes : &no, sizeof(yes) },
        { CKA_SIGN, aes ? &no : &yes, sizeof(yes) },
    };
    /* A private key template cannot carry CKA_ENCRYPT: drop it there. */
    CK_ULONG nt = sizeof(tmpl) / sizeof(tmpl[0]);
    if (!aes) {
        tmpl[8] = tmpl[10];
        nt--;
    }
    CK_MECHANISM mech = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
    CK_OBJECT_HANDLE h, hpub = CK_INVALID_HANDLE;
    OBJ_CALL(t, st, t->f->C_UnwrapKey(s, &mech, hkek, (CK_BYTE_PTR)c->wrapped, c->wrapped_len, tmpl, nt, &h),
         "C_UnwrapKey");
    if (!aes) {
        rv = create_public(t, s, st, c, &hpub);
        if (rv != CKR_OK) { /* all or nothing */
            CK_RV drv;
            P11_OBJ_CALL(t, drv, t->f->C_DestroyObject(s, h));
            (void)drv;
            return rv;
        }
    }
    k->priv = h;
    k->pub = hpub;
    k->gen = gen;
    return CKR_OK;
}

kg_err kg_hsm_key_unwrap(kg_hsm_token *t, kg_hsm_key *out, const kg_hsm_key *kek, kg_hsm_key_type type,
                         const uint8_t *wrapped, size_t wrapped_len, const char *label,
                         const uint8_t *id, size_t id_len, const uint8_t *pub_der, size_t pub_len)
{
    memset(out, 0, sizeof(*out));
    kg_err err = p11_check_id(id, id_len);
    if (err)
        return err;
    if ((unsigned)type > KG_HSM_KEY_ED25519)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown HSM key type %d", (int)type);
    if (wrapped_len < 16 || wrapped_len > 1 << 16)
        return kg_err_set(KG_ERR_BAD_INPUT, "a wrapped key is 16 to 65536 bytes, not %zu", wrapped_len);
    spki_parts pub;
    memset(&pub, 0, sizeof(pub));
    if (type != KG_HSM_KEY_AES256) {
        if (!pub_der || pub_len == 0)
            return kg_err_set(KG_ERR_BAD_INPUT, "unwrapping a private key needs its public key (SPKI)");
        err = p11_spki_parse(&pub, pub_der, pub_len);
        if (err)
            return err;
        if (pub.type != type)
            return kg_err_set(KG_ERR_BAD_INPUT, "the public key does not match the key type");
    }
    kg_hsm_key k;
    p11_key_init(&k, type, id, id_len);
    unwrap_ctx c = { &k, kek, wrapped, wrapped_len, label, &pub };
    err = p11_run_op(t, op_key_unwrap, &c);
    if (err == KG_ERR_BAD_INPUT || err == KG_ERR_CRYPTO || err == KG_ERR_DECRYPT) {
        char detail[200];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        err = kg_err_set(KG_ERR_DECRYPT, "cannot unwrap the key on token '%s' (wrong KEK, key type or "
                         "damaged blob): %s", t->label, detail);
    }
    if (!err)
        *out = k;
    return err;
}

/* ------------------------------------------------------------ RSA-OAEP */

/* The one message of every decryption failure on the host-decoded path: it
 * must not say whether the padding, the label or the length was wrong, or
 * it would be a padding oracle (Manger, CRYPTO 2001). */
#define OAEP_FAILED "RSA-OAEP decryption failed: the ciphertext, label or key is wrong"

typedef struct {
    const kg_hsm_key *key;
    const uint8_t *label, *ct;
    size_t label_len, ct_len;
    bool native, raw;  /* the token lists CKM_RSA_PKCS_OAEP / CKM_RSA_X_509 */
    bool host_decode;  /* out holds the encoded message EM (k = em_k bytes) */
    size_t em_k;
    uint8_t out[512];
    CK_ULONG out_len;
} oaep_ctx;

/* Fallback for tokens that refuse SHA-256 OAEP (SoftHSM2 2.6 takes SHA-1
 * only): the raw RSA private operation (CKM_RSA_X_509) on the token; the
 * OAEP decoding of its output follows on the host (oaep_decode). */
static CK_RV op_rsa_raw(kg_hsm_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, oaep_ctx *c, op_state *st)
{
    c->host_decode = true;
    CK_ATTRIBUTE a = { CKA_MODULUS, NULL, 0 }; /* its length is k */
    CALL(st, t->f->C_GetAttributeValue(s, h, &a, 1), "C_GetAttributeValue");
    c->em_k = a.ulValueLen;
    /* The length is public, but PKCS#11 OAEP also insists on exactly k bytes:
     * a shorter input would be a different number, not this ciphertext. */
    if (c->ct_len != c->em_k || c->em_k > sizeof(c->out))
        return p11_fail(st, kg_err_set(KG_ERR_DECRYPT, OAEP_FAILED " (token '%s')", t->label));
    CK_MECHANISM mech = { CKM_RSA_X_509, NULL, 0 };
    CALL(st, t->f->C_DecryptInit(s, &mech, h), "C_DecryptInit");
    c->out_len = sizeof(c->out);
    CK_RV rv = t->f->C_Decrypt(s, (CK_BYTE_PTR)c->ct, c->ct_len, c->out, &c->out_len);
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE || rv == CKR_DATA_INVALID ||
        rv == CKR_DATA_LEN_RANGE || (rv == CKR_OK && (c->out_len == 0 || c->out_len > c->em_k)))
        return p11_fail(st, kg_err_set(KG_ERR_DECRYPT, OAEP_FAILED " (token '%s')", t->label)); /* c >= n */
    if (rv != CKR_OK) {
        st->fn = "C_Decrypt";
        return rv;
    }
    return CKR_OK;
}

static CK_RV op_oaep_decrypt(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    oaep_ctx *c = vctx;
    CK_OBJECT_HANDLE h;
    CK_RV rv = p11_key_handle(t, s, gen, c->key, false, st, &h);
    if (rv != CKR_OK)
        return rv;
    c->host_decode = false;
    rv = CKR_MECHANISM_INVALID;
    if (c->native) { /* the token's own OAEP first: then not even EM leaves the token */
        CK_RSA_PKCS_OAEP_PARAMS p;
        p11_oaep_params(&p, P11_OAEP_SHA256, c->label, c->label_len);
        CK_MECHANISM mech = { CKM_RSA_PKCS_OAEP, &p, sizeof(p) };
        rv = t->f->C_DecryptInit(s, &mech, h);
        if (rv == CKR_OK) {
            c->out_len = sizeof(c->out);
            CALL(st, t->f->C_Decrypt(s, (CK_BYTE_PTR)c->ct, c->ct_len, c->out, &c->out_len), "C_Decrypt");
            return CKR_OK;
        }
        if (!p11_param_refused(rv)) {
            st->fn = "C_DecryptInit";
            return rv;
        }
    }
    if (c->raw)
        return op_rsa_raw(t, s, h, c, st);
    char buf[24];
    return p11_fail(st, kg_err_set(KG_ERR_WRONG_KEY_USAGE, "token '%s' cannot do RSA-OAEP with SHA-256 "
                                   "(C_DecryptInit: %s) and lacks CKM_RSA_X_509 to decode it on the host",
                                   t->label, kg_hsm_rv_name(rv, buf)));
}

/* OAEP-decode (SHA-256, MGF1-SHA-256, the label) the EM in c->out on the
 * host. OpenSSL's check is constant time in EM, including its first byte,
 * which it wants in place: EM is passed whole, zero-padded on the left to
 * num = k bytes (flen <= num; see the comment on BN_bn2binpad in its
 * rsa_oaep.c), so a non-zero leading byte fails like any other error. */
static kg_err oaep_decode(kg_bytes *out, const oaep_ctx *c, const char *token)
{
    uint8_t msg[512];
    /* RSA_padding_check_PKCS1_OAEP_mgf1 is deprecated in OpenSSL 3 without
     * a replacement that takes an EM rather than a private key. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    int n = RSA_padding_check_PKCS1_OAEP_mgf1(msg, (int)sizeof(msg), c->out, (int)c->out_len, (int)c->em_k,
                                              c->label, (int)c->label_len, EVP_sha256(), EVP_sha256());
#pragma GCC diagnostic pop
    ERR_clear_error(); /* the error queue must not tell padding from label errors either */
    kg_err err = n < 0 ? kg_err_set(KG_ERR_DECRYPT, OAEP_FAILED " (token '%s')", token)
                       : kg_bytes_set(out, msg, (size_t)n);
    kg_wipe(msg, sizeof(msg));
    return err;
}

kg_err kg_hsm_rsa_oaep_decrypt(kg_hsm_token *t, kg_bytes *out, const kg_hsm_key *key,
                               const uint8_t *label, size_t label_len, const uint8_t *ct, size_t ct_len)
{
    memset(out, 0, sizeof(*out));
    if (key->type != KG_HSM_KEY_RSA3072)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "RSA-OAEP decryption needs an RSA key");
    if (label_len > 1 << 20)
        return kg_err_set(KG_ERR_BAD_INPUT, "an RSA-OAEP label is at most 1 MiB");
    static const uint8_t empty[1];
    oaep_ctx c;
    memset(&c, 0, sizeof(c));
    c.key = key;
    c.label = label && label_len ? label : empty;
    c.label_len = label ? label_len : 0;
    c.ct = ct;
    c.ct_len = ct_len;
    c.native = kg_hsm_token_has_mechanism(t, CKM_RSA_PKCS_OAEP);
    c.raw = kg_hsm_token_has_mechanism(t, CKM_RSA_X_509);
    kg_err err = p11_run_op(t, op_oaep_decrypt, &c);
    if (err && err != KG_ERR_NOMEM && err != KG_ERR_IO && err != KG_ERR_NOT_FOUND &&
        err != KG_ERR_UNAUTHENTICATED && err != KG_ERR_WRONG_KEY_USAGE &&
        !(err == KG_ERR_DECRYPT && c.host_decode)) {
        char detail[200];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        err = kg_err_set(KG_ERR_DECRYPT, "RSA-OAEP decryption failed (%s)", detail);
    }
    if (!err && c.host_decode)
        err = oaep_decode(out, &c, t->label);
    else if (!err)
        err = kg_bytes_set(out, c.out, c.out_len);
    kg_wipe(c.out, sizeof(c.out)); /* the plaintext, or the EM it is one unmasking away from */
    return err;
}
