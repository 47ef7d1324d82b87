/* PKCS#11 client: modules, slots, token session pools, keys and operations.
 * See include/kashguard/hsm.h. */
#include "kashguard/hsm.h"
#include "kashguard/crypto.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

/* ---------------------------------------------------------------- errors */

static const struct { CK_RV rv; const char *name; } rv_names[] = {
#define R(x) { x, #x }
    R(CKR_OK), R(CKR_CANCEL), R(CKR_HOST_MEMORY), R(CKR_SLOT_ID_INVALID), R(CKR_GENERAL_ERROR),
    R(CKR_FUNCTION_FAILED), R(CKR_ARGUMENTS_BAD), R(CKR_NO_EVENT), R(CKR_CANT_LOCK),
    R(CKR_ATTRIBUTE_READ_ONLY), R(CKR_ATTRIBUTE_SENSITIVE), R(CKR_ATTRIBUTE_TYPE_INVALID),
    R(CKR_ATTRIBUTE_VALUE_INVALID), R(CKR_DATA_INVALID), R(CKR_DATA_LEN_RANGE),
    R(CKR_DEVICE_ERROR), R(CKR_DEVICE_MEMORY), R(CKR_DEVICE_REMOVED),
    R(CKR_ENCRYPTED_DATA_INVALID), R(CKR_ENCRYPTED_DATA_LEN_RANGE), R(CKR_FUNCTION_CANCELED),
    R(CKR_FUNCTION_NOT_PARALLEL), R(CKR_FUNCTION_NOT_SUPPORTED), R(CKR_KEY_HANDLE_INVALID),
    R(CKR_KEY_SIZE_RANGE), R(CKR_KEY_TYPE_INCONSISTENT), R(CKR_KEY_NOT_NEEDED),
    R(CKR_KEY_CHANGED), R(CKR_KEY_NEEDED), R(CKR_KEY_INDIGESTIBLE),
    R(CKR_KEY_FUNCTION_NOT_PERMITTED), R(CKR_KEY_NOT_WRAPPABLE), R(CKR_KEY_UNEXTRACTABLE),
    R(CKR_MECHANISM_INVALID), R(CKR_MECHANISM_PARAM_INVALID), R(CKR_OBJECT_HANDLE_INVALID),
    R(CKR_OPERATION_ACTIVE), R(CKR_OPERATION_NOT_INITIALIZED), R(CKR_PIN_INCORRECT),
    R(CKR_PIN_INVALID), R(CKR_PIN_LEN_RANGE), R(CKR_PIN_EXPIRED), R(CKR_PIN_LOCKED),
    R(CKR_SESSION_CLOSED), R(CKR_SESSION_COUNT), R(CKR_SESSION_HANDLE_INVALID),
    R(CKR_SESSION_PARALLEL_NOT_SUPPORTED), R(CKR_SESSION_READ_ONLY), R(CKR_SESSION_EXISTS),
    R(CKR_SESSION_READ_ONLY_EXISTS), R(CKR_SESSION_READ_WRITE_SO_EXISTS),
    R(CKR_SIGNATURE_INVALID), R(CKR_SIGNATURE_LEN_RANGE), R(CKR_TEMPLATE_INCOMPLETE),
    R(CKR_TEMPLATE_INCONSISTENT), R(CKR_TOKEN_NOT_PRESENT), R(CKR_TOKEN_NOT_RECOGNIZED),
    R(CKR_TOKEN_WRITE_PROTECTED), R(CKR_USER_ALREADY_LOGGED_IN), R(CKR_USER_NOT_LOGGED_IN),
    R(CKR_USER_PIN_NOT_INITIALIZED), R(CKR_USER_TYPE_INVALID),
    R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), R(CKR_USER_TOO_MANY_TYPES),
    R(CKR_DOMAIN_PARAMS_INVALID), R(CKR_CURVE_NOT_SUPPORTED), R(CKR_BUFFER_TOO_SMALL),
    R(CKR_RANDOM_NO_RNG), R(CKR_CRYPTOKI_NOT_INITIALIZED), R(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    R(CKR_FUNCTION_REJECTED),
#undef R
};

const char *kg_hsm_rv_name(unsigned long rv, char buf[static 24])
{
    for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
        if (rv_names[i].rv == rv)
            return rv_names[i].name;
    snprintf(buf, 24, "CKR_0x%lx", rv);
    return buf;
}

static kg_err rv_class(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT: case CKR_USER_NOT_LOGGED_IN: case CKR_PIN_EXPIRED:
        return KG_ERR_UNAUTHENTICATED;
    case CKR_PIN_LOCKED: case CKR_FUNCTION_REJECTED: case CKR_TOKEN_WRITE_PROTECTED:
        return KG_ERR_DENIED;
    case CKR_HOST_MEMORY: case CKR_DEVICE_MEMORY:
        return KG_ERR_NOMEM;
    case CKR_ARGUMENTS_BAD: case CKR_DATA_INVALID: case CKR_DATA_LEN_RANGE:
    case CKR_ATTRIBUTE_VALUE_INVALID: case CKR_PIN_INVALID: case CKR_PIN_LEN_RANGE:
    case CKR_MECHANISM_PARAM_INVALID:
        return KG_ERR_BAD_INPUT;
    case CKR_KEY_HANDLE_INVALID: case CKR_OBJECT_HANDLE_INVALID: case CKR_SLOT_ID_INVALID:
        return KG_ERR_NOT_FOUND;
    case CKR_MECHANISM_INVALID: case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_FUNCTION_NOT_PERMITTED: case CKR_CURVE_NOT_SUPPORTED:
        return KG_ERR_WRONG_KEY_USAGE;
    case CKR_ENCRYPTED_DATA_INVALID: case CKR_ENCRYPTED_DATA_LEN_RANGE:
        return KG_ERR_DECRYPT;
    case CKR_SIGNATURE_INVALID: case CKR_SIGNATURE_LEN_RANGE:
        return KG_ERR_VERIFY;
    case CKR_DEVICE_ERROR: case CKR_DEVICE_REMOVED: case CKR_TOKEN_NOT_PRESENT:
    case CKR_SESSION_HANDLE_INVALID: case CKR_SESSION_CLOSED:
        return KG_ERR_IO;
    default:
        return KG_ERR_CRYPTO;
    }
}

static kg_err rv_err(CK_RV rv, const char *fn, const char *label)
{
    char buf[24];
    if (label)
        return kg_err_set(rv_class(rv), "%s on token '%s': %s", fn, label, kg_hsm_rv_name(rv, buf));
    return kg_err_set(rv_class(rv), "%s: %s", fn, kg_hsm_rv_name(rv, buf));
}

/* --------------------------------------------------------------- modules */

struct kg_hsm_module {
    char *path;
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    unsigned refs;
    bool finalize; /* we initialised it */
    struct kg_hsm_token *tokens; /* open token handles (under g_mods_mu) */
    struct kg_hsm_module *next;
};

static pthread_mutex_t g_mods_mu = PTHREAD_MUTEX_INITIALIZER;
static kg_hsm_module *g_mods;

kg_err kg_hsm_module_load(kg_hsm_module **out, const char *path)
{
    *out = NULL;
    char real[PATH_MAX];
    if (!realpath(path, real))
        return kg_err_set(KG_ERR_NOT_FOUND, "PKCS#11 module %s not found", path);
    pthread_mutex_lock(&g_mods_mu);
    for (kg_hsm_module *m = g_mods; m; m = m->next) {
        if (strcmp(m->path, real) == 0) {
            m->refs++;
            *out = m;
            pthread_mutex_unlock(&g_mods_mu);
            return KG_OK;
        }
    }
    kg_err err = KG_OK;
    kg_hsm_module *m = calloc(1, sizeof(*m));
    if (!m || !(m->path = strdup(real))) {
        err = kg_err_set(KG_ERR_NOMEM, "loading PKCS#11 module %s", path);
        goto fail;
    }
    m->dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) {
        const char *e = dlerror();
        err = kg_err_set(KG_ERR_IO, "cannot load PKCS#11 module %s: %s", path, e ? e : "dlopen failed");
        goto fail;
    }
    CK_C_GetFunctionList gfl;
    void *sym = dlsym(m->dl, "C_GetFunctionList");
    memcpy(&gfl, &sym, sizeof(gfl));
    if (!sym) {
        err = kg_err_set(KG_ERR_IO, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
        goto fail;
    }
    CK_RV rv = gfl(&m->f);
    if (rv != CKR_OK || !m->f) {
        err = rv != CKR_OK ? rv_err(rv, "C_GetFunctionList", NULL)
                           : kg_err_set(KG_ERR_IO, "%s: C_GetFunctionList returned no list", path);
        goto fail;
    }
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    rv = m->f->C_Initialize(&args);
    if (rv == CKR_OK) {
        m->finalize = true;
    } else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) { /* someone else in this process did */
        err = rv_err(rv, "C_Initialize", NULL);
        goto fail;
    }
    m->refs = 1;
    m->next = g_mods;
    g_mods = m;
    pthread_mutex_unlock(&g_mods_mu);
    *out = m;
    return KG_OK;
fail:
    if (m) {
        if (m->dl)
            dlclose(m->dl);
        free(m->path);
        free(m);
    }
    pthread_mutex_unlock(&g_mods_mu);
    return err;
}

void kg_hsm_module_release(kg_hsm_module *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&g_mods_mu);
    if (--m->refs == 0) {
        for (kg_hsm_module **p = &g_mods; *p; p = &(*p)->next)
            if (*p == m) {
                *p = m->next;
                break;
            }
        if (m->finalize)
            m->f->C_Finalize(NULL);
        dlclose(m->dl);
        free(m->path);
        free(m);
    }
    pthread_mutex_unlock(&g_mods_mu);
}

const char *kg_hsm_module_path(const kg_hsm_module *m) { return m->path; }

/* Copy a blank-padded PKCS#11 string into a NUL-terminated one. */
static void pstr(char *out, const unsigned char *in, size_t len)
{
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\0'))
        len--;
    memcpy(out, in, len);
    out[len] = '\0';
}

static kg_err slot_list(CK_FUNCTION_LIST_PTR f, CK_BBOOL present, CK_SLOT_ID **ids, CK_ULONG *n)
{
    *ids = NULL;
    *n = 0;
    for (int tries = 0; tries < 4; tries++) {
        CK_ULONG cnt = 0;
        CK_RV rv = f->C_GetSlotList(present, NULL, &cnt);
        if (rv != CKR_OK)
            return rv_err(rv, "C_GetSlotList", NULL);
        CK_SLOT_ID *v = calloc(cnt ? cnt : 1, sizeof(*v));
        if (!v)
            return kg_err_set(KG_ERR_NOMEM, "slot list");
        rv = f->C_GetSlotList(present, v, &cnt);
        if (rv == CKR_BUFFER_TOO_SMALL) {
            free(v);
            continue;
        }
        if (rv != CKR_OK) {
            free(v);
            return rv_err(rv, "C_GetSlotList", NULL);
        }
        *ids = v;
        *n = cnt;
        return KG_OK;
    }
    return kg_err_set(KG_ERR_CRYPTO, "C_GetSlotList: the slot list keeps changing");
}

kg_err kg_hsm_slots(kg_hsm_module *m, kg_hsm_slot_info **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    CK_SLOT_ID *ids;
    CK_ULONG cnt;
    kg_err err = slot_list(m->f, CK_FALSE, &ids, &cnt);
    if (err)
        return err;
    kg_hsm_slot_info *v = calloc(cnt ? cnt : 1, sizeof(*v));
    if (!v) {
        free(ids);
        return kg_err_set(KG_ERR_NOMEM, "slot list");
    }
    size_t k = 0;
    for (CK_ULONG i = 0; i < cnt; i++) {
        CK_SLOT_INFO si;
        if (m->f->C_GetSlotInfo(ids[i], &si) != CKR_OK)
            continue; /* vanished meanwhile */
        kg_hsm_slot_info *o = &v[k++];
        o->slot_id = ids[i];
        pstr(o->slot_description, si.slotDescription, sizeof(si.slotDescription));
        o->token_present = (si.flags & CKF_TOKEN_PRESENT) != 0;
        CK_TOKEN_INFO ti;
        if (o->token_present && m->f->C_GetTokenInfo(ids[i], &ti) == CKR_OK) {
            pstr(o->label, ti.label, sizeof(ti.label));
            pstr(o->manufacturer, ti.manufacturerID, sizeof(ti.manufacturerID));
            pstr(o->model, ti.model, sizeof(ti.model));
            pstr(o->serial, ti.serialNumber, sizeof(ti.serialNumber));
            o->token_flags = ti.flags;
            o->free_public_memory = ti.ulFreePublicMemory;
            o->free_private_memory = ti.ulFreePrivateMemory;
            o->total_public_memory = ti.ulTotalPublicMemory;
            o->total_private_memory = ti.ulTotalPrivateMemory;
        }
    }
    free(ids);
    *out = v;
    *n = k;
    return KG_OK;
}

kg_err kg_hsm_mechanisms(kg_hsm_module *m, unsigned long slot_id, unsigned long **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    CK_ULONG cnt = 0;
    CK_RV rv = m->f->C_GetMechanismList(slot_id, NULL, &cnt);
    if (rv != CKR_OK)
        return rv_err(rv, "C_GetMechanismList", NULL);
    CK_MECHANISM_TYPE *v = calloc(cnt ? cnt : 1, sizeof(*v));
    if (!v)
        return kg_err_set(KG_ERR_NOMEM, "mechanism list");
    rv = m->f->C_GetMechanismList(slot_id, v, &cnt);
    if (rv != CKR_OK) {
        free(v);
        return rv_err(rv, "C_GetMechanismList", NULL);
    }
    *out = v;
    *n = cnt;
    return KG_OK;
}

/* ---------------------------------------------------------------- tokens */

struct kg_hsm_token {
    kg_hsm_module *mod;
    CK_FUNCTION_LIST_PTR f;
    char label[33];
    CK_SLOT_ID slot;
    kg_secret *pin;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    CK_SESSION_HANDLE *idle;
    size_t n_idle, open, max;
    unsigned gen; /* raised on every reconnect; stale sessions and key handles are dropped */
    bool opening; /* in kg_hsm_token_open: the PIN is not proven yet */
    struct kg_hsm_token *next; /* in mod->tokens */
};

/* PKCS#11 login state is per application and token: while another handle
 * of ours is logged in, C_Login answers CKR_USER_ALREADY_LOGGED_IN without
 * checking the PIN. Then the PIN must match the one that handle proved. */
static bool pin_matches_open_token(kg_hsm_token *t)
{
    bool ok = false;
    pthread_mutex_lock(&g_mods_mu);
    for (kg_hsm_token *o = t->mod->tokens; o && !ok; o = o->next)
        if (strcmp(o->label, t->label) == 0 && kg_secret_len(o->pin) == kg_secret_len(t->pin) &&
            kg_ct_equal(kg_secret_cdata(o->pin), kg_secret_cdata(t->pin), kg_secret_len(t->pin)))
            ok = true;
    pthread_mutex_unlock(&g_mods_mu);
    return ok;
}

const char *kg_hsm_token_label(const kg_hsm_token *t) { return t->label; }

/* Find the slot holding the token labelled label. */
static kg_err find_slot(CK_FUNCTION_LIST_PTR f, const char *label, CK_SLOT_ID *slot)
{
    CK_SLOT_ID *ids;
    CK_ULONG cnt;
    kg_err err = slot_list(f, CK_TRUE, &ids, &cnt);
    if (err)
        return err;
    for (CK_ULONG i = 0; i < cnt; i++) {
        CK_TOKEN_INFO ti;
        char l[33];
        if (f->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
            continue;
        pstr(l, ti.label, sizeof(ti.label));
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
static kg_err session_open(kg_hsm_token *t, CK_SLOT_ID slot, CK_SESSION_HANDLE *out)
{
    CK_SESSION_HANDLE s;
    CK_RV rv = t->f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        return rv_err(rv, "C_OpenSession", t->label);
    rv = t->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)kg_secret_cdata(t->pin), kg_secret_len(t->pin));
    if (rv == CKR_USER_ALREADY_LOGGED_IN && t->opening && !pin_matches_open_token(t))
        rv = CKR_PIN_INCORRECT; /* cannot prove this PIN: refuse rather than ride on another login */
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        *out = s;
        return KG_OK;
    }
    t->f->C_CloseSession(s);
    if (rv == CKR_PIN_INCORRECT)
        return kg_err_set(KG_ERR_UNAUTHENTICATED, "wrong PIN for token %s", t->label);
    if (rv == CKR_PIN_LOCKED)
        return kg_err_set(KG_ERR_DENIED, "the user PIN of token %s is locked", t->label);
    return rv_err(rv, "C_Login", t->label);
}

static kg_err acquire(kg_hsm_token *t, CK_SESSION_HANDLE *s, unsigned *gen)
{
    pthread_mutex_lock(&t->mu);
    while (t->n_idle == 0 && t->open >= t->max)
        pthread_cond_wait(&t->cv, &t->mu);
    *gen = t->gen;
    if (t->n_idle > 0) {
        *s = t->idle[--t->n_idle];
        pthread_mutex_unlock(&t->mu);
        return KG_OK;
    }
    t->open++;
    CK_SLOT_ID slot = t->slot;
    pthread_mutex_unlock(&t->mu);
    kg_err err = session_open(t, slot, s);
    if (err) {
        pthread_mutex_lock(&t->mu);
        t->open--;
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
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

kg_err kg_hsm_token_open(kg_hsm_token **out, kg_hsm_module *m, const char *label,
                         const kg_secret *pin, size_t max_sessions)
{
    *out = NULL;
    if (strlen(label) > 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "token label '%.40s...' is longer than 32 bytes", label);
    kg_hsm_token *t = calloc(1, sizeof(*t));
    if (!t)
        return kg_err_set(KG_ERR_NOMEM, "token handle");
    t->max = max_sessions ? max_sessions : KG_HSM_DEFAULT_SESSIONS;
    t->idle = calloc(t->max, sizeof(*t->idle));
    t->pin = kg_secret_from(kg_secret_cdata(pin), kg_secret_len(pin));
    if (!t->idle || !t->pin) {
        kg_secret_free(t->pin);
        free(t->idle);
        free(t);
        return kg_err_set(KG_ERR_NOMEM, "token handle");
    }
    t->f = m->f;
    t->mod = m;
    t->opening = true;
    snprintf(t->label, sizeof(t->label), "%s", label);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    kg_err err = find_slot(t->f, label, &t->slot);
    /* Log in now so a wrong PIN fails here, and keep the session pooled. */
    CK_SESSION_HANDLE s;
    unsigned gen;
    if (!err)
        err = acquire(t, &s, &gen);
    if (err) {
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        kg_secret_free(t->pin);
        free(t->idle);
        free(t);
        return err;
    }
    release(t, s, gen, false);
    t->opening = false;
    pthread_mutex_lock(&g_mods_mu);
    m->refs++;
    t->next = m->tokens;
    m->tokens = t;
    pthread_mutex_unlock(&g_mods_mu);
    *out = t;
    return KG_OK;
}

void kg_hsm_token_close(kg_hsm_token *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&g_mods_mu);
    for (kg_hsm_token **p = &t->mod->tokens; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    pthread_mutex_unlock(&g_mods_mu);
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n_idle; i++)
        t->f->C_CloseSession(t->idle[i]);
    pthread_mutex_unlock(&t->mu);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    kg_secret_free(t->pin);
    free(t->idle);
    kg_hsm_module_release(t->mod);
    free(t);
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

/* Returned by an op that set a kg_err itself (not a PKCS#11 failure). */
#define RV_KG_ERR (CKR_VENDOR_DEFINED | 0x4b47UL)

typedef struct {
    kg_err err;        /* when an op returns RV_KG_ERR */
    const char *fn;    /* the PKCS#11 function that failed */
} op_state;

typedef CK_RV (*op_fn)(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *ctx, op_state *st);

static bool session_lost(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED || rv == CKR_USER_NOT_LOGGED_IN;
}

static bool device_lost(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT;
}

/* Run op on a pooled session; a lost session or device is recovered once. */
static kg_err run_op(kg_hsm_token *t, op_fn op, void *ctx)
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
        return rv_err(rv, st.fn, t->label);
    }
}

#define CALL(st, expr, name) do { CK_RV rv_ = (expr); if (rv_ != CKR_OK) { (st)->fn = (name); return rv_; } } while (0)

static CK_RV find_object(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_CLASS cls,
                         const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *out, CK_ULONG *count)
{
    CK_ATTRIBUTE tmpl[] = {
        { CKA_CLASS, &cls, sizeof(cls) },
        { CKA_ID, (void *)id, id_len },
    };
    *out = CK_INVALID_HANDLE;
    *count = 0;
    CALL(st, t->f->C_FindObjectsInit(s, tmpl, 2), "C_FindObjectsInit");
    CK_OBJECT_HANDLE h[2];
    CK_ULONG n = 0;
    CK_RV rv = t->f->C_FindObjects(s, h, 2, &n);
    t->f->C_FindObjectsFinal(s);
    if (rv != CKR_OK) {
        st->fn = "C_FindObjects";
        return rv;
    }
    *count = n;
    if (n > 0)
        *out = h[0];
    return CKR_OK;
}

/* The private/secret (want_pub false) or public handle of key in this generation. */
static CK_RV key_handle(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, const kg_hsm_key *key,
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
    CK_RV rv = find_object(t, s, st, cls, key->id, key->id_len, h, &n);
    if (rv != CKR_OK)
        return rv;
    if (n == 0) {
        st->err = kg_err_set(KG_ERR_NOT_FOUND, "key is gone from token '%s'", t->label);
        return RV_KG_ERR;
    }
    return CKR_OK;
}

/* DER OIDs of the curves, as CKA_EC_PARAMS. */
static const uint8_t oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_k256[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

typedef struct {
    kg_hsm_key *key;
    const char *label;
} gen_ctx;

static CK_RV op_generate(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    gen_ctx *c = vctx;
    kg_hsm_key *k = c->key;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_HANDLE h;
    CK_ULONG n;
    /* Refuse a second key with the same id: find by id would be ambiguous. */
    CK_OBJECT_CLASS cls = k->type == KG_HSM_KEY_AES256 ? CKO_SECRET_KEY : CKO_PRIVATE_KEY;
    CK_RV rv = find_object(t, s, st, cls, k->id, k->id_len, &h, &n);
    if (rv != CKR_OK)
        return rv;
    if (n > 0) {
        st->err = kg_err_set(KG_ERR_CONFLICT, "token '%s' already holds a key with this id", t->label);
        return RV_KG_ERR;
    }
    CK_ULONG label_len = strlen(c->label);
    if (k->type == KG_HSM_KEY_AES256) {
        CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
        CK_KEY_TYPE kt = CKK_AES;
        CK_ULONG len = 32;
        CK_ATTRIBUTE tmpl[] = {
            { CKA_CLASS, &sk, sizeof(sk) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
            { CKA_VALUE_LEN, &len, sizeof(len) }, { CKA_TOKEN, &yes, sizeof(yes) },
            { CKA_PRIVATE, &yes, sizeof(yes) }, { CKA_SENSITIVE, &yes, sizeof(yes) },
            { CKA_EXTRACTABLE, &no, sizeof(no) }, { CKA_ENCRYPT, &yes, sizeof(yes) },
            { CKA_DECRYPT, &yes, sizeof(yes) }, { CKA_LABEL, (void *)c->label, label_len },
            { CKA_ID, k->id, k->id_len },
        };
        CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
        CALL(st, t->f->C_GenerateKey(s, &mech, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &h), "C_GenerateKey");
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
    switch (k->type) {
    case KG_HSM_KEY_EC_P256: A(pub, np, CKA_EC_PARAMS, oid_p256, sizeof(oid_p256)); break;
    case KG_HSM_KEY_EC_SECP256K1: A(pub, np, CKA_EC_PARAMS, oid_k256, sizeof(oid_k256)); break;
    case KG_HSM_KEY_ED25519:
        mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
        A(pub, np, CKA_EC_PARAMS, oid_ed25519, sizeof(oid_ed25519));
        break;
    case KG_HSM_KEY_RSA3072:
        mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        A(pub, np, CKA_MODULUS_BITS, &bits, sizeof(bits));
        A(pub, np, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
        break;
    default:
        break;
    }
    CK_ATTRIBUTE priv[8];
    CK_ULONG nv = 0;
    A(priv, nv, CKA_TOKEN, &yes, sizeof(yes));
    A(priv, nv, CKA_PRIVATE, &yes, sizeof(yes));
    A(priv, nv, CKA_SENSITIVE, &yes, sizeof(yes));
    A(priv, nv, CKA_EXTRACTABLE, &no, sizeof(no));
    A(priv, nv, CKA_SIGN, &yes, sizeof(yes));
    A(priv, nv, CKA_LABEL, c->label, label_len);
    A(priv, nv, CKA_ID, k->id, k->id_len);
#undef A
    CK_OBJECT_HANDLE hpub, hpriv;
    CALL(st, t->f->C_GenerateKeyPair(s, &mech, pub, np, priv, nv, &hpub, &hpriv), "C_GenerateKeyPair");
    k->pub = hpub;
    k->priv = hpriv;
    k->gen = gen;
    return CKR_OK;
}

static kg_err check_id(const uint8_t *id, size_t id_len)
{
    if (id_len == 0 || id_len > KG_HSM_MAX_ID)
        return kg_err_set(KG_ERR_BAD_INPUT, "a key id must be 1 to %d bytes", KG_HSM_MAX_ID);
    return KG_OK;
}

kg_err kg_hsm_key_generate(kg_hsm_token *t, kg_hsm_key *out, kg_hsm_key_type type,
                           const char *label, const uint8_t *id, size_t id_len)
{
    memset(out, 0, sizeof(*out));
    kg_err err = check_id(id, id_len);
    if (err)
        return err;
    static const CK_MECHANISM_TYPE need[] = {
        [KG_HSM_KEY_AES256] = CKM_AES_KEY_GEN, [KG_HSM_KEY_EC_P256] = CKM_EC_KEY_PAIR_GEN,
        [KG_HSM_KEY_EC_SECP256K1] = CKM_EC_KEY_PAIR_GEN, [KG_HSM_KEY_RSA3072] = CKM_RSA_PKCS_KEY_PAIR_GEN,
        [KG_HSM_KEY_ED25519] = CKM_EC_EDWARDS_KEY_PAIR_GEN,
    };
    if ((unsigned)type > KG_HSM_KEY_ED25519)
        return kg_err_set(KG_ERR_BAD_INPUT, "unknown HSM key type %d", (int)type);
    if (!kg_hsm_token_has_mechanism(t, need[type]))
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "token '%s' cannot generate this key type", t->label);
    kg_hsm_key k;
    memset(&k, 0, sizeof(k));
    k.type = type;
    memcpy(k.id, id, id_len);
    k.id_len = id_len;
    gen_ctx c = { &k, label };
    err = run_op(t, op_generate, &c);
    if (!err)
        *out = k;
    return err;
}

typedef struct {
    kg_hsm_key *key;
} find_ctx;

static CK_RV get_ulong(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_HANDLE h,
                       CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
    CK_ATTRIBUTE a = { type, v, sizeof(*v) };
    CALL(st, t->f->C_GetAttributeValue(s, h, &a, 1), "C_GetAttributeValue");
    return CKR_OK;
}

/* Read a variable-length attribute into a malloc'd buffer. */
static CK_RV get_bytes(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_HANDLE h,
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

static CK_RV op_find(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *vctx, op_state *st)
{
    kg_hsm_key *k = ((find_ctx *)vctx)->key;
    CK_OBJECT_HANDLE h;
    CK_ULONG n;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_RV rv = find_object(t, s, st, cls, k->id, k->id_len, &h, &n);
    if (rv != CKR_OK)
        return rv;
    if (n == 0) {
        cls = CKO_PRIVATE_KEY;
        rv = find_object(t, s, st, cls, k->id, k->id_len, &h, &n);
        if (rv != CKR_OK)
            return rv;
    }
    if (n == 0) {
        st->err = kg_err_set(KG_ERR_NOT_FOUND, "no key with this id on token '%s'", t->label);
        return RV_KG_ERR;
    }
    CK_ULONG kt;
    rv = get_ulong(t, s, st, h, CKA_KEY_TYPE, &kt);
    if (rv != CKR_OK)
        return rv;
    k->priv = h;
    k->pub = CK_INVALID_HANDLE;
    if (kt == CKK_AES) {
        k->type = KG_HSM_KEY_AES256;
    } else if (kt == CKK_RSA) {
        k->type = KG_HSM_KEY_RSA3072;
    } else if (kt == CKK_EC_EDWARDS) {
        k->type = KG_HSM_KEY_ED25519;
    } else if (kt == CKK_EC) {
        uint8_t *p;
        size_t len;
        rv = get_bytes(t, s, st, h, CKA_EC_PARAMS, &p, &len);
        if (rv != CKR_OK)
            return rv;
        bool k1 = len == sizeof(oid_k256) && memcmp(p, oid_k256, len) == 0;
        bool r1 = len == sizeof(oid_p256) && memcmp(p, oid_p256, len) == 0;
        free(p);
        if (!k1 && !r1) {
            st->err = kg_err_set(KG_ERR_WRONG_KEY_USAGE, "key on token '%s' is on an unsupported curve", t->label);
            return RV_KG_ERR;
        }
        k->type = k1 ? KG_HSM_KEY_EC_SECP256K1 : KG_HSM_KEY_EC_P256;
    } else {
        st->err = kg_err_set(KG_ERR_WRONG_KEY_USAGE, "key on token '%s' has unsupported type 0x%lx", t->label, kt);
        return RV_KG_ERR;
    }
    if (k->type != KG_HSM_KEY_AES256) {
        rv = find_object(t, s, st, CKO_PUBLIC_KEY, k->id, k->id_len, &h, &n);
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
    kg_err err = check_id(id, id_len);
    if (err)
        return err;
    kg_hsm_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.id, id, id_len);
    k.id_len = id_len;
    find_ctx c = { &k };
    err = run_op(t, op_find, &c);
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
    CK_RV rv = key_handle(t, s, gen, c->key, false, st, &h);
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
    kg_err err = run_op(t, op_attrs, &c);
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
    CK_RV rv = key_handle(t, s, gen, c->key, true, st, &h);
    if (rv != CKR_OK)
        return rv;
    EVP_PKEY *pkey = NULL;
    if (c->key->type == KG_HSM_KEY_RSA3072) {
        uint8_t *mod, *exp;
        size_t mod_len, exp_len;
        rv = get_bytes(t, s, st, h, CKA_MODULUS, &mod, &mod_len);
        if (rv != CKR_OK)
            return rv;
        rv = get_bytes(t, s, st, h, CKA_PUBLIC_EXPONENT, &exp, &exp_len);
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
        rv = get_bytes(t, s, st, h, CKA_EC_POINT, &raw, &raw_len);
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
    kg_err err = run_op(t, op_pub, &c);
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
    CK_RV rv = key_handle(t, s, gen, c->key, false, st, &h);
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
    if (c->decrypt) {
        rv = t->f->C_DecryptInit(s, &mech, h);
        st->fn = "C_DecryptInit";
        if (rv == CKR_OK) {
            rv = t->f->C_Decrypt(s, (CK_BYTE_PTR)c->in, c->in_len, buf, &out_len);
            st->fn = "C_Decrypt";
        }
    } else {
        rv = t->f->C_EncryptInit(s, &mech, h);
        st->fn = "C_EncryptInit";
        if (rv == CKR_OK) {
            rv = t->f->C_Encrypt(s, (CK_BYTE_PTR)c->in, c->in_len, buf, &out_len);
            st->fn = "C_Encrypt";
        }
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
    kg_err err = run_op(t, op_gcm, &c);
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
    CK_RV rv = key_handle(t, s, gen, c->key, false, st, &h);
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
    kg_err err = run_op(t, op_sign, &c);
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
        kg_err err = run_op(t, op_sign, &c);
        if (!err)
            err = kg_bytes_set(sig, c.sig, c.sig_len);
        return err;
    }
    default:
        return kg_err_set(KG_ERR_WRONG_KEY_USAGE, "an AES key cannot sign");
    }
}
