/* PKCS#11 client: the group key-encryption key (KEK) and its transport to a
 * new member without ever existing in plaintext outside the HSMs.
 *
 * The receiving token makes an RSA-3072 transport pair (session objects,
 * private non-extractable, CKA_UNWRAP only) and exports the public SPKI; the
 * sending token imports it as a session object and wraps the KEK with
 * CKM_RSA_PKCS_OAEP; the receiver unwraps it as a token object. The OAEP
 * hash is SHA-256 where the token takes it, else SHA-1 (SoftHSM2 2.6 only
 * accepts SHA-1/MGF1-SHA-1; OAEP stays secure with SHA-1, which needs no
 * collision resistance there). The wrapped blob starts with one byte naming
 * the hash (P11_OAEP_SHA1 / P11_OAEP_SHA256) so the receiver uses the same. */
#include "hsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

/* ----------------------------------------------------------------- KEK */

/* The attributes of a group KEK, the same when it is generated and when it
 * arrives on another member. Extractable only so it can travel wrapped
 * under a transport key; sensitive, so never in plaintext. It wraps keys
 * and does nothing else. The values are static: tokens only read them. */
#define KEK_ATTRS 12

static void kek_template(CK_ATTRIBUTE tmpl[KEK_ATTRS], const char *label, const kg_hsm_key *k)
{
    static const CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    static const CK_KEY_TYPE kt = CKK_AES;
    static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    const CK_ATTRIBUTE a[KEK_ATTRS] = {
        { CKA_CLASS, (void *)&sk, sizeof(sk) }, { CKA_KEY_TYPE, (void *)&kt, sizeof(kt) },
        { CKA_TOKEN, (void *)&yes, sizeof(yes) }, { CKA_PRIVATE, (void *)&yes, sizeof(yes) },
        { CKA_SENSITIVE, (void *)&yes, sizeof(yes) }, { CKA_EXTRACTABLE, (void *)&yes, sizeof(yes) },
        { CKA_WRAP, (void *)&yes, sizeof(yes) }, { CKA_UNWRAP, (void *)&yes, sizeof(yes) },
        { CKA_ENCRYPT, (void *)&no, sizeof(no) }, { CKA_DECRYPT, (void *)&no, sizeof(no) },
        { CKA_LABEL, (void *)label, strlen(label) }, { CKA_ID, (void *)k->id, k->id_len },
    };
    memcpy(tmpl, a, sizeof(a));
}

typedef struct {
    kg_hsm_key *key;
    const char *label;
} kek_ctx;

static CK_RV op_kek_generate(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    kek_ctx *c = vctx;
    kg_hsm_key *k = c->key;
    CK_RV rv = p11_id_unused(t, s, st, CKO_SECRET_KEY, k->id, k->id_len);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[KEK_ATTRS + 1];
    kek_template(tmpl, c->label, k);
    tmpl[KEK_ATTRS] = (CK_ATTRIBUTE){ CKA_VALUE_LEN, &len, sizeof(len) };
    CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
    CK_OBJECT_HANDLE h;
    OBJ_CALL(t, st, t->f->C_GenerateKey(s, &mech, tmpl, KEK_ATTRS + 1, &h), "C_GenerateKey");
    k->priv = h;
    k->pub = CK_INVALID_HANDLE;
    k->gen = gen;
    return CKR_OK;
}

kg_err kg_hsm_kek_generate(kg_hsm_token *t, kg_hsm_key *out, const char *label, const uint8_t *id, size_t id_len)
{
    memset(out, 0, sizeof(*out));
    kg_err err = p11_check_id(id, id_len);
    if (err)
        return err;
    if (!kg_hsm_token_has_mechanism(t, CKM_AES_KEY_WRAP_PAD))
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "token '%s' lacks CKM_AES_KEY_WRAP_PAD", t->label);
    kg_hsm_key k;
    p11_key_init(&k, KG_HSM_KEY_AES256, id, id_len);
    kek_ctx c = { &k, label };
    err = p11_run_op(t, op_kek_generate, &c);
    if (!err)
        *out = k;
    return err;
}

/* ----------------------------------------------------------- transport */

static CK_RV op_transport_begin(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    kg_hsm_key *k = vctx;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = 3072;
    static const uint8_t e65537[] = { 0x01, 0x00, 0x01 };
    static const char label[] = "kg/transport";
    /* Session objects: they vanish with the session if the process dies. */
    CK_ATTRIBUTE pub[] = {
        { CKA_TOKEN, &no, sizeof(no) }, { CKA_WRAP, &yes, sizeof(yes) },
        { CKA_ENCRYPT, &no, sizeof(no) }, { CKA_VERIFY, &no, sizeof(no) },
        { CKA_MODULUS_BITS, &bits, sizeof(bits) }, { CKA_PUBLIC_EXPONENT, (void *)e65537, sizeof(e65537) },
        { CKA_LABEL, (void *)label, sizeof(label) - 1 }, { CKA_ID, k->id, k->id_len },
    };
    CK_ATTRIBUTE priv[] = {
        { CKA_TOKEN, &no, sizeof(no) }, { CKA_PRIVATE, &yes, sizeof(yes) },
        { CKA_SENSITIVE, &yes, sizeof(yes) }, { CKA_EXTRACTABLE, &no, sizeof(no) },
        { CKA_UNWRAP, &yes, sizeof(yes) }, { CKA_DECRYPT, &no, sizeof(no) },
        { CKA_SIGN, &no, sizeof(no) },
        { CKA_LABEL, (void *)label, sizeof(label) - 1 }, { CKA_ID, k->id, k->id_len },
    };
    CK_MECHANISM mech = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
    CK_OBJECT_HANDLE hpub, hpriv;
    OBJ_CALL(t, st, t->f->C_GenerateKeyPair(s, &mech, pub, sizeof(pub) / sizeof(pub[0]), priv,
                                     sizeof(priv) / sizeof(priv[0]), &hpub, &hpriv), "C_GenerateKeyPair");
    k->pub = hpub;
    k->priv = hpriv;
    k->gen = gen;
    return CKR_OK;
}

kg_err kg_hsm_transport_begin(kg_hsm_token *target, kg_hsm_key *transport, kg_bytes *pub_der)
{
    memset(transport, 0, sizeof(*transport));
    memset(pub_der, 0, sizeof(*pub_der));
    /* A random CKA_ID keeps two concurrent transports apart. The pair lives
     * as long as the pooled session that made it: a reconnect in between
     * loses it (kg_hsm_kek_unwrap then says not_found; begin again). */
    uint8_t rnd[16];
    char id[48];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return kg_err_set(KG_ERR_CRYPTO, "no randomness for the transport key id");
    int len = snprintf(id, sizeof(id), "kg-transport/");
    for (size_t i = 0; i < sizeof(rnd); i++)
        len += snprintf(id + len, sizeof(id) - (size_t)len, "%02x", rnd[i]);
    kg_hsm_key k;
    p11_key_init(&k, KG_HSM_KEY_RSA3072, (const uint8_t *)id, (size_t)len);
    kg_err err = p11_run_op(target, op_transport_begin, &k);
    if (err)
        return err;
    err = kg_hsm_key_public_der(target, pub_der, &k);
    if (err) {
        kg_hsm_transport_end(target, &k);
        return err;
    }
    *transport = k;
    return KG_OK;
}

void kg_hsm_transport_end(kg_hsm_token *target, const kg_hsm_key *transport)
{
    if (transport->id_len == 0)
        return;
    kg_err err = kg_hsm_key_destroy(target, transport);
    (void)err; /* session objects go with their session anyway */
}

typedef struct {
    const kg_hsm_key *kek;
    const spki_parts *pub;
    uint8_t out[1 + 512];
    CK_ULONG out_len;
} wrap_for_ctx;

/* Wrap the KEK under the imported transport key with hash; the imported
 * key is a session object destroyed before returning. */
static CK_RV wrap_for_hash(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, wrap_for_ctx *c,
                           CK_OBJECT_HANDLE hkek, int hash)
{
    CK_OBJECT_CLASS pk = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = CKK_RSA;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &pk, sizeof(pk) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
        { CKA_TOKEN, &no, sizeof(no) }, { CKA_WRAP, &yes, sizeof(yes) },
        { CKA_MODULUS, (void *)c->pub->n, c->pub->n_len },
        { CKA_PUBLIC_EXPONENT, (void *)c->pub->e, c->pub->e_len },
    };
    CK_OBJECT_HANDLE hpub;
    OBJ_CALL(t, st, t->f->C_CreateObject(s, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &hpub), "C_CreateObject");
    CK_RSA_PKCS_OAEP_PARAMS p;
    p11_oaep_params(&p, hash, NULL, 0);
    CK_MECHANISM mech = { CKM_RSA_PKCS_OAEP, &p, sizeof(p) };
    c->out_len = sizeof(c->out) - 1;
    CK_RV rv = t->f->C_WrapKey(s, &mech, hpub, hkek, c->out + 1, &c->out_len);
    st->fn = "C_WrapKey";
    CK_RV drv;
    P11_OBJ_CALL(t, drv, t->f->C_DestroyObject(s, hpub));
    (void)drv; /* a session object: it goes with the session anyway */
    if (rv == CKR_OK) {
        c->out[0] = (uint8_t)hash;
        c->out_len++;
    }
    return rv;
}

static CK_RV op_wrap_for(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    wrap_for_ctx *c = vctx;
    CK_OBJECT_HANDLE hkek;
    CK_RV rv = p11_key_handle(t, s, gen, c->kek, false, st, &hkek);
    if (rv != CKR_OK)
        return rv;
    rv = wrap_for_hash(t, s, st, c, hkek, P11_OAEP_SHA256);
    if (p11_param_refused(rv)) /* e.g. SoftHSM2 2.6: OAEP with SHA-1 only */
        rv = wrap_for_hash(t, s, st, c, hkek, P11_OAEP_SHA1);
    return rv;
}

kg_err kg_hsm_kek_wrap_for(kg_hsm_token *source, kg_bytes *wrapped, const kg_hsm_key *kek,
                           const uint8_t *pub_der, size_t pub_len)
{
    memset(wrapped, 0, sizeof(*wrapped));
    spki_parts pub;
    kg_err err = p11_spki_parse(&pub, pub_der, pub_len);
    if (err)
        return err;
    if (pub.type != KG_HSM_KEY_RSA3072)
        return kg_err_set(KG_ERR_BAD_INPUT, "the transport key must be an RSA key");
    if (kek->type != KG_HSM_KEY_AES256)
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "a group KEK is an AES key");
    wrap_for_ctx c;
    memset(&c, 0, sizeof(c));
    c.kek = kek;
    c.pub = &pub;
    err = p11_run_op(source, op_wrap_for, &c);
    if (!err)
        err = kg_bytes_set(wrapped, c.out, c.out_len);
    return err;
}

typedef struct {
    kg_hsm_key *kek;
    const kg_hsm_key *transport;
    const uint8_t *wrapped;
    size_t wrapped_len;
    const char *label;
} kek_unwrap_ctx;

static CK_RV op_kek_unwrap(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    kek_unwrap_ctx *c = vctx;
    kg_hsm_key *k = c->kek;
    CK_RV rv = p11_id_unused(t, s, st, CKO_SECRET_KEY, k->id, k->id_len);
    if (rv != CKR_OK)
        return rv;
    CK_OBJECT_HANDLE htr;
    rv = p11_key_handle(t, s, gen, c->transport, false, st, &htr);
    if (rv != CKR_OK)
        return rv;
    CK_ATTRIBUTE tmpl[KEK_ATTRS];
    kek_template(tmpl, c->label, k);
    CK_RSA_PKCS_OAEP_PARAMS p;
    p11_oaep_params(&p, c->wrapped[0], NULL, 0);
    CK_MECHANISM mech = { CKM_RSA_PKCS_OAEP, &p, sizeof(p) };
    CK_OBJECT_HANDLE h;
    OBJ_CALL(t, st, t->f->C_UnwrapKey(s, &mech, htr, (CK_BYTE_PTR)c->wrapped + 1, c->wrapped_len - 1, tmpl,
                               KEK_ATTRS, &h), "C_UnwrapKey");
    k->priv = h;
    k->pub = CK_INVALID_HANDLE;
    k->gen = gen;
    return CKR_OK;
}

kg_err kg_hsm_kek_unwrap(kg_hsm_token *target, kg_hsm_key *kek, const kg_hsm_key *transport,
                         const uint8_t *wrapped, size_t wrapped_len, const char *label,
                         const uint8_t *id, size_t id_len)
{
    memset(kek, 0, sizeof(*kek));
    kg_err err = p11_check_id(id, id_len);
    if (err)
        return err;
    if (wrapped_len < 2 || (wrapped[0] != P11_OAEP_SHA1 && wrapped[0] != P11_OAEP_SHA256))
        return kg_err_set(KG_ERR_BAD_INPUT, "not a wrapped group KEK (kg_hsm_kek_wrap_for output)");
    kg_hsm_key k;
    p11_key_init(&k, KG_HSM_KEY_AES256, id, id_len);
    kek_unwrap_ctx c = { &k, transport, wrapped, wrapped_len, label };
    err = p11_run_op(target, op_kek_unwrap, &c);
    if (err == KG_ERR_BAD_INPUT || err == KG_ERR_CRYPTO || err == KG_ERR_DECRYPT) {
        char detail[256];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        err = kg_err_set(KG_ERR_DECRYPT, "cannot unwrap the group KEK on token '%s' (wrong transport key or "
                         "damaged blob): %s", target->label, detail);
    }
    if (!err)
        *kek = k;
    return err;
}
