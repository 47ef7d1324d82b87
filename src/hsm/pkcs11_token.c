/* PKCS#11 client: tokens as bounded pools of logged-in sessions, the
 * operation runner that recovers once from a lost session or device
 * (re-login, or reconnect: find the token by label again), and the object
 * lookup / attribute helpers every operation uses. */
#include "hsm_int.h"

#include "kashguard/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- tokens */

/* PKCS#11 login state is per application and token: while another handle
 * of ours is logged in, C_Login answers CKR_USER_ALREADY_LOGGED_IN without
 * checking the PIN. Then the PIN must match the one that handle proved. */
static bool pin_matches_open_token(kg_hsm_token *t, bool *any_open)
{
    bool ok = false;
    *any_open = false;
    pthread_mutex_lock(&p11_mods_mu);
    for (kg_hsm_token *o = t->mod->tokens; o && !ok; o = o->next) {
        if (o == t || strcmp(o->label, t->label) != 0)
            continue;
        *any_open = true;
        if (kg_secret_len(o->pin) == kg_secret_len(t->pin) &&
            kg_ct_equal(kg_secret_cdata(o->pin), kg_secret_cdata(t->pin), kg_secret_len(t->pin)))
            ok = true;
    }
    pthread_mutex_unlock(&p11_mods_mu);
    return ok;
}

/* C_Login answered CKR_USER_ALREADY_LOGGED_IN for a handle being opened.
 * If an open handle of ours proved the same PIN, that login is ours. If no
 * handle of ours is open, the login is stale (left by a handle whose sessions
 * could not be closed, e.g. a member taken out while its token hung): log out
 * and log in again, which checks this PIN. Otherwise refuse. */
static CK_RV login_already(kg_hsm_token *t, CK_SESSION_HANDLE s)
{
    bool any_open = false;
    if (pin_matches_open_token(t, &any_open))
        return CKR_USER_ALREADY_LOGGED_IN;
    if (any_open)
        return CKR_PIN_INCORRECT; /* cannot prove this PIN: refuse rather than ride on another login */
    t->f->C_Logout(s);
    return t->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)kg_secret_cdata(t->pin), kg_secret_len(t->pin));
}

const char *kg_hsm_token_label(const kg_hsm_token *t) { return t->label; }

/* Find the slot holding the token labelled label. */
static kg_err find_slot(CK_FUNCTION_LIST_PTR f, const char *label, CK_SLOT_ID *slot)
{
    CK_SLOT_ID *ids;
    CK_ULONG cnt;
    kg_err err = p11_slot_list(f, CK_TRUE, &ids, &cnt);
    if (err)
        return err;
    for (CK_ULONG i = 0; i < cnt; i++) {
        CK_TOKEN_INFO ti;
        char l[33];
        if (f->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
            continue;
        p11_pstr(l, ti.label, sizeof(ti.label));
        if (strcmp(l, label) == 0) {
            *slot = ids[i];
            free(ids);
            return KG_OK;
        }
    }
    free(ids);
    return kg_err_set(KG_ERR_NOT_FOUND, "no PKCS#11 token labelled '%s'", label);
}

/* Open a session on the token's slot and log in (an already logged-in
 * application is fine: login state is per application and token). */
static kg_err session_open(kg_hsm_token *t, CK_SLOT_ID slot, CK_SESSION_HANDLE *out, bool *fresh_login)
{
    *fresh_login = false;
    CK_SESSION_HANDLE s;
    CK_RV rv = t->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        return p11_rv_err(rv, "C_OpenSession", t->label);
    rv = t->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)kg_secret_cdata(t->pin), kg_secret_len(t->pin));
    if (rv == CKR_USER_ALREADY_LOGGED_IN && t->opening)
        rv = login_already(t, s);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        *fresh_login = rv == CKR_OK;
        *out = s;
        return KG_OK;
    }
    t->f->C_CloseSession(s);
    if (rv == CKR_PIN_INCORRECT)
        return kg_err_set(KG_ERR_UNAUTHENTICATED, "wrong PIN for token %s", t->label);
    if (rv == CKR_PIN_LOCKED)
        return kg_err_set(KG_ERR_DENIED, "the user PIN of token %s is locked", t->label);
    return p11_rv_err(rv, "C_Login", t->label);
}

/* A pooled session and the generation it belongs to. Object handles are
 * only valid while the application stays logged in: SoftHSM2, for one,
 * drops the handles of private objects when the last session of the
 * application closes and numbers them anew after the next login. So the
 * generation is raised whenever this pool opens a session while it holds
 * none (the application may have been logged out: raised before the login,
 * so no concurrent caller pairs the new login with the old generation) and
 * whenever C_Login really logs in (CKR_OK, not ALREADY_LOGGED_IN: someone
 * logged the application out). Cached kg_hsm_key handles of an older
 * generation are then found again by CKA_ID (p11_key_handle). */
static kg_err acquire(kg_hsm_token *t, CK_SESSION_HANDLE *s, unsigned *gen)
{
    pthread_mutex_lock(&t->mu);
    while (t->n_idle == 0 && t->open >= t->max)
        pthread_cond_wait(&t->cv, &t->mu);
    if (t->n_idle > 0) {
        *gen = t->gen;
        *s = t->idle[--t->n_idle];
        pthread_mutex_unlock(&t->mu);
        return KG_OK;
    }
    bool bumped = t->open++ == 0;
    if (bumped)
        t->gen++;
    *gen = t->gen;
    CK_SLOT_ID slot = t->slot;
    pthread_mutex_unlock(&t->mu);
    bool fresh = false;
    kg_err err = session_open(t, slot, s, &fresh);
    pthread_mutex_lock(&t->mu);
    if (err) {
        t->open--;
        pthread_cond_signal(&t->cv);
    } else if (fresh && !bumped && *gen == t->gen) {
        *gen = ++t->gen;
    }
    pthread_mutex_unlock(&t->mu);
    return err;
}

static void release(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, bool bad)
{
    pthread_mutex_lock(&t->mu);
    if (bad || gen != t->gen) {
        t->open--;
        pthread_mutex_unlock(&t->mu);
        t->f->C_CloseSession(s); /* may fail on a dead session: nothing to do */
        pthread_mutex_lock(&t->mu);
    } else {
        t->idle[t->n_idle++] = s;
    }
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* The device went away: drop the idle sessions, find the token again by
 * label (its slot may have changed) and start a new generation. Sessions in
 * use are closed when they come back. Only the first caller that saw gen acts. */
static void reconnect(kg_hsm_token *t, unsigned gen)
{
    pthread_mutex_lock(&t->mu);
    if (t->gen == gen) {
        t->gen++;
        for (size_t i = 0; i < t->n_idle; i++)
            t->f->C_CloseSession(t->idle[i]);
        t->open -= t->n_idle;
        t->n_idle = 0;
        CK_SLOT_ID slot;
        if (find_slot(t->f, t->label, &slot) == KG_OK)
            t->slot = slot;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
}

/* Free a handle that holds no module reference (open failed, or close
 * released it); its sessions are closed already. */
static void token_free(kg_hsm_token *t)
{
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    kg_secret_free(t->pin);
    free(t->idle);
    free(t);
}

kg_err kg_hsm_token_open(kg_hsm_token **out, kg_hsm_module *m, const char *label,
                         const kg_secret *pin, size_t max_sessions)
{
    *out = NULL;
    if (strlen(label) > 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "token label '%.40s...' is longer than 32 bytes", label);
    kg_hsm_token *t = calloc(1, sizeof(*t));
    if (!t)
        return kg_err_set(KG_ERR_NOMEM, "token handle");
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->max = max_sessions ? max_sessions : KG_HSM_DEFAULT_SESSIONS;
    t->idle = calloc(t->max, sizeof(*t->idle));
    t->pin = kg_secret_from(kg_secret_cdata(pin), kg_secret_len(pin));
    t->obj_lock = p11_obj_lock_get(m, label);
    if (!t->idle || !t->pin || !t->obj_lock) {
        token_free(t);
        return kg_err_set(KG_ERR_NOMEM, "token handle");
    }
    t->f = m->f;
    t->mod = m;
    t->opening = true;
    /* Each handle starts its generations in its own range, so key handles
     * cached for another token handle (or a zeroed kg_hsm_key) never look
     * current here: they are found again by CKA_ID instead. */
    static unsigned gen_base;
    t->gen = __atomic_add_fetch(&gen_base, 1u << 16, __ATOMIC_RELAXED);
    snprintf(t->label, sizeof(t->label), "%s", label);
    kg_err err = find_slot(t->f, label, &t->slot);
    /* Log in now so a wrong PIN fails here, and keep the session pooled. */
    CK_SESSION_HANDLE s;
    unsigned gen;
    if (!err)
        err = acquire(t, &s, &gen);
    if (err) {
        token_free(t);
        return err;
    }
    release(t, s, gen, false);
    t->opening = false;
    pthread_mutex_lock(&p11_mods_mu);
    m->refs++;
    t->next = m->tokens;
    m->tokens = t;
    pthread_mutex_unlock(&p11_mods_mu);
    *out = t;
    return KG_OK;
}

void kg_hsm_token_close(kg_hsm_token *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&p11_mods_mu);
    for (kg_hsm_token **p = &t->mod->tokens; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    pthread_mutex_unlock(&p11_mods_mu);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n_idle; i++)
        t->f->C_CloseSession(t->idle[i]);
    pthread_mutex_unlock(&t->mu);
    kg_hsm_module_release(t->mod);
    token_free(t);
}

bool kg_hsm_token_has_mechanism(kg_hsm_token *t, unsigned long mechanism)
{
    CK_MECHANISM_INFO info;
    pthread_mutex_lock(&t->mu);
    CK_SLOT_ID slot = t->slot;
    pthread_mutex_unlock(&t->mu);
    return t->f->C_GetMechanismInfo(slot, mechanism, &info) == CKR_OK;
}

/* ------------------------------------------------------------ operations */

static bool session_lost(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_USER_NOT_LOGGED_IN;
}

static bool device_lost(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT;
}

/* Run op on a pooled session; a lost session or device is recovered once. */
kg_err p11_run_op(kg_hsm_token *t, op_fn op, void *ctx)
{
    for (int attempt = 0;; attempt++) {
        CK_SESSION_HANDLE s;
        unsigned gen;
        kg_err err = acquire(t, &s, &gen);
        if (err) {
            if (attempt == 0 && err == KG_ERR_IO) { /* e.g. the device is gone: reconnect once */
                reconnect(t, gen);
                continue;
            }
            return err;
        }
        op_state st = { KG_OK, "?" };
        CK_RV rv = op(t, s, gen, ctx, &st);
        bool lost_s = session_lost(rv), lost_d = device_lost(rv);
        release(t, s, gen, lost_s || lost_d);
        if ((lost_s || lost_d) && attempt == 0) {
            /* The other idle sessions are most likely dead too (logout,
             * C_CloseAllSessions, device gone): start a new generation so the
             * retry runs on a fresh, logged-in session. */
            reconnect(t, gen);
            continue;
        }
        if (rv == CKR_OK)
            return KG_OK;
        if (rv == RV_KG_ERR)
            return st.err;
        return p11_rv_err(rv, st.fn, t->label);
    }
}

CK_RV p11_find_object(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_CLASS cls,
                      const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *out, CK_ULONG *count)
{
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_ID, (void *)id, id_len },
    };
    *out = CK_INVALID_HANDLE;
    *count = 0;
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    pthread_rwlock_rdlock(&t->obj_lock->rw); /* not while an object is made: see p11_obj_lock */
    CK_RV rv = t->f->C_FindObjectsInit(s, tmpl, 2);
    st->fn = "C_FindObjectsInit";
    if (rv == CKR_OK) {
        rv = t->f->C_FindObjects(s, h, 2, &n);
        st->fn = "C_FindObjects";
        t->f->C_FindObjectsFinal(s);
    }
    pthread_rwlock_unlock(&t->obj_lock->rw);
    if (rv != CKR_OK)
        return rv;
    *count = n;
    if (n > 0)
        *out = h[0];
    return CKR_OK;
}

/* The private/secret (want_pub false) or public handle of key in this generation. */
CK_RV p11_key_handle(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, const kg_hsm_key *key,
                     bool want_pub, op_state *st, CK_OBJECT_HANDLE *h)
{
    if (key->gen == gen) {
        *h = want_pub ? key->pub : key->priv;
        if (*h != CK_INVALID_HANDLE)
            return CKR_OK;
    }
    CK_OBJECT_CLASS cls = want_pub ? CKO_PUBLIC_KEY
                        : key->type == KG_HSM_KEY_AES256 ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
    CK_ULONG n;
    CK_RV rv = p11_find_object(t, s, st, cls, key->id, key->id_len, h, &n);
    if (rv != CKR_OK)
        return rv;
    if (n == 0) {
        st->err = kg_err_set(KG_ERR_NOT_FOUND, "key is gone from token '%s'", t->label);
        return RV_KG_ERR;
    }
    return CKR_OK;
}

kg_err p11_check_id(const uint8_t *id, size_t id_len)
{
    if (!id || id_len == 0 || id_len > KG_HSM_MAX_ID)
        return kg_err_set(KG_ERR_BAD_INPUT, "a key id must be 1 to %d bytes", KG_HSM_MAX_ID);
    return KG_OK;
}

CK_RV p11_get_ulong(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_HANDLE h,
                    CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
    CK_ATTRIBUTE a = { type, v, sizeof(*v) };
    CALL(st, t->f->C_GetAttributeValue(s, h, &a, 1), "C_GetAttributeValue");
    return CKR_OK;
}

/* Read a variable-length attribute into a malloc'd buffer. */
CK_RV p11_get_bytes(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_HANDLE h,
                    CK_ATTRIBUTE_TYPE type, uint8_t **out, size_t *len)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    *out = NULL;
    CALL(st, t->f->C_GetAttributeValue(s, h, &a, 1), "C_GetAttributeValue");
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 1 << 16) {
        st->err = kg_err_set(KG_ERR_CRYPTO, "token '%s' returned no attribute 0x%lx", t->label, type);
        return RV_KG_ERR;
    }
    a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1);
    if (!a.pValue) {
        st->err = kg_err_set(KG_ERR_NOMEM, "attribute");
        return RV_KG_ERR;
    }
    CK_RV rv = t->f->C_GetAttributeValue(s, h, &a, 1);
    if (rv != CKR_OK) {
        free(a.pValue);
        st->fn = "C_GetAttributeValue";
        return rv;
    }
    *out = a.pValue;
    *len = a.ulValueLen;
    return CKR_OK;
}

CK_RV p11_key_type(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_HANDLE h,
                   kg_hsm_key_type *type)
{
    CK_ULONG kt;
    CK_RV rv = p11_get_ulong(t, s, st, h, CKA_KEY_TYPE, &kt);
    if (rv != CKR_OK)
        return rv;
    if (kt == CKK_AES) {
        *type = KG_HSM_KEY_AES256;
    } else if (kt == CKK_RSA) {
        *type = KG_HSM_KEY_RSA3072;
    } else if (kt == CKK_EC_EDWARDS) {
        *type = KG_HSM_KEY_ED25519;
    } else if (kt == CKK_EC) {
        uint8_t *p;
        size_t len;
        rv = p11_get_bytes(t, s, st, h, CKA_EC_PARAMS, &p, &len);
        if (rv != CKR_OK)
            return rv;
        bool k1 = len == sizeof(p11_oid_k256) && memcmp(p, p11_oid_k256, len) == 0;
        bool r1 = len == sizeof(p11_oid_p256) && memcmp(p, p11_oid_p256, len) == 0;
        free(p);
        if (!k1 && !r1)
            return p11_fail(st, kg_err_set(KG_ERR_WRONG_KEY_USAGE,
                                           "key on token '%s' is on an unsupported curve", t->label));
        *type = k1 ? KG_HSM_KEY_EC_SECP256K1 : KG_HSM_KEY_EC_P256;
    } else {
        return p11_fail(st, kg_err_set(KG_ERR_WRONG_KEY_USAGE,
                                       "key on token '%s' has unsupported type 0x%lx", t->label, kt));
    }
    return CKR_OK;
}
