/* PKCS#11 client: key management for HMS re-synchronisation (list keys
 * by label prefix, destroy one) and the cheap liveness ping its probes use.
 * Listing reports private/secret objects, with or without a public object,
 * so a half-replicated key is seen and can be repaired or destroyed. */
#include "hsm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ ping, destroy */

static CK_RV op_ping(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *ctx, op_state *st)
{
    (void)gen;
    (void)ctx;
    CK_SESSION_INFO si;
    CALL(st, t->f->C_GetSessionInfo(s, &si), "C_GetSessionInfo");
    if (si.state != CKS_RW_USER_FUNCTIONS && si.state != CKS_RO_USER_FUNCTIONS) {
        st->fn = "C_GetSessionInfo";
        return CKR_USER_NOT_LOGGED_IN; /* p11_run_op logs in again once */
    }
    return CKR_OK;
}

kg_err kg_hsm_token_ping(kg_hsm_token *t)
{
    return p11_run_op(t, op_ping, NULL);
}

static CK_RV op_destroy(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *ctx, op_state *st)
{
    (void)gen;
    const kg_hsm_key *k = ctx;
    static const CK_OBJECT_CLASS classes[] = { CKO_SECRET_KEY, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY };
    int destroyed = 0;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        for (;;) { /* every object of the class with this id (there should be one) */
            CK_OBJECT_HANDLE h;
            CK_ULONG n;
            CK_RV rv = p11_find_object(t, s, st, classes[i], k->id, k->id_len, &h, &n);
            if (rv != CKR_OK)
                return rv;
            if (n == 0)
                break;
            OBJ_CALL(t, st, t->f->C_DestroyObject(s, h), "C_DestroyObject");
            destroyed++;
        }
    }
    if (destroyed == 0)
        return p11_fail(st, kg_err_set(KG_ERR_NOT_FOUND, "no key with this id on token '%s'", t->label));
    return CKR_OK;
}

kg_err kg_hsm_key_destroy(kg_hsm_token *t, const kg_hsm_key *key)
{
    kg_err err = p11_check_id(key->id, key->id_len);
    if (err)
        return err;
    return p11_run_op(t, op_destroy, (void *)key);
}

/* ---------------------------------------------------------------- list */

typedef struct {
    const char *prefix;
    kg_hsm_key *v;
    size_t n, cap;
} list_ctx;

/* Every token object handle of class cls (any label), malloc'd. Session
 * objects (transport keys in flight) are not keys of a group. */
static CK_RV find_all(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_CLASS cls,
                      CK_OBJECT_HANDLE **out, size_t *n)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_TOKEN, &yes, sizeof(yes) } };
    *out = NULL;
    *n = 0;
    CK_OBJECT_HANDLE *v = NULL;
    size_t cnt = 0;
    pthread_rwlock_rdlock(&t->obj_lock->rw); /* not while an object is made: see p11_obj_lock */
    CK_RV rv = t->f->C_FindObjectsInit(s, tmpl, 2);
    if (rv != CKR_OK) {
        pthread_rwlock_unlock(&t->obj_lock->rw);
        st->fn = "C_FindObjectsInit";
        return rv;
    }
    for (;;) {
        CK_OBJECT_HANDLE *nv = realloc(v, (cnt + 64) * sizeof(*v));
        if (!nv) {
            rv = p11_fail(st, kg_err_set(KG_ERR_NOMEM, "key list"));
            break;
        }
        v = nv;
        CK_ULONG got = 0;
        rv = t->f->C_FindObjects(s, v + cnt, 64, &got);
        if (rv != CKR_OK) {
            st->fn = "C_FindObjects";
            break;
        }
        cnt += got;
        if (got < 64)
            break;
    }
    t->f->C_FindObjectsFinal(s);
    pthread_rwlock_unlock(&t->obj_lock->rw);
    if (rv != CKR_OK) {
        free(v);
        return rv;
    }
    *out = v;
    *n = cnt;
    return CKR_OK;
}

/* Add object h to the list if its label starts with the prefix and it is
 * a key of a type we know (others are skipped, not an error). */
static CK_RV list_one(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, op_state *st, list_ctx *c,
                      CK_OBJECT_HANDLE h)
{
    uint8_t *label = NULL, *id = NULL;
    size_t label_len = 0, id_len = 0, plen = strlen(c->prefix);
    CK_RV rv = p11_get_bytes(t, s, st, h, CKA_LABEL, &label, &label_len);
    if (rv != CKR_OK)
        return rv;
    bool match = label_len >= plen && memcmp(label, c->prefix, plen) == 0;
    free(label);
    if (!match)
        return CKR_OK;
    rv = p11_get_bytes(t, s, st, h, CKA_ID, &id, &id_len);
    if (rv != CKR_OK)
        return rv;
    kg_hsm_key k;
    memset(&k, 0, sizeof(k));
    op_state tst = { KG_OK, "?" };
    if (id_len == 0 || id_len > KG_HSM_MAX_ID || p11_key_type(t, s, &tst, h, &k.type) != CKR_OK) {
        free(id);
        return CKR_OK;
    }
    memcpy(k.id, id, id_len);
    k.id_len = id_len;
    free(id);
    k.priv = h;
    k.gen = gen;
    if (k.type != KG_HSM_KEY_AES256) {
        CK_ULONG n;
        rv = p11_find_object(t, s, st, CKO_PUBLIC_KEY, k.id, k.id_len, &k.pub, &n);
        if (rv != CKR_OK)
            return rv; /* k.pub stays CK_INVALID_HANDLE when there is no public object */
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        kg_hsm_key *nv = realloc(c->v, cap * sizeof(*nv));
        if (!nv)
            return p11_fail(st, kg_err_set(KG_ERR_NOMEM, "key list"));
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = k;
    return CKR_OK;
}

static CK_RV op_list(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    list_ctx *c = vctx;
    c->n = 0; /* a retried op starts over */
    static const CK_OBJECT_CLASS classes[] = { CKO_SECRET_KEY, CKO_PRIVATE_KEY };
    for (size_t i = 0; i < 2; i++) {
        CK_OBJECT_HANDLE *h;
        size_t n;
        CK_RV rv = find_all(t, s, st, classes[i], &h, &n);
        for (size_t j = 0; rv == CKR_OK && j < n; j++)
            rv = list_one(t, s, gen, st, c, h[j]);
        free(h);
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

kg_err kg_hsm_key_list(kg_hsm_token *t, kg_hsm_key **out, size_t *n, const char *label_prefix)
{
    *out = NULL;
    *n = 0;
    list_ctx c = { label_prefix, NULL, 0, 0 };
    kg_err err = p11_run_op(t, op_list, &c);
    if (err) {
        free(c.v);
        return err;
    }
    *out = c.v ? c.v : calloc(1, sizeof(kg_hsm_key)); /* never NULL on success */
    if (!*out)
        return kg_err_set(KG_ERR_NOMEM, "key list");
    *n = c.n;
    return KG_OK;
}

