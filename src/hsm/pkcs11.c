/* PKCS#11 client: error classes, modules (dlopen, reference
 * counted per real path so two users never C_Initialize one module twice)
 * and slot/mechanism discovery. The rest of the client: pkcs11_token.c
 * (session pools), pkcs11_names.c (CKR_/CKM_ names), pkcs11_keys.c,
 * pkcs11_ops.c, pkcs11_manage.c, pkcs11_kek.c and pkcs11_wrap.c; see
 * include/kashguard/hsm.h. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np (glibc) for the object locks */
#include "hsm_int.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- errors */

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

kg_err p11_rv_err(CK_RV rv, const char *fn, const char *label)
{
    char buf[24];
    if (label)
        return kg_err_set(rv_class(rv), "%s on token '%s': %s", fn, label, kg_hsm_rv_name(rv, buf));
    return kg_err_set(rv_class(rv), "%s: %s", fn, kg_hsm_rv_name(rv, buf));
}

CK_RV p11_fail(op_state *st, kg_err err)
{
    st->err = err;
    return RV_KG_ERR;
}

/* --------------------------------------------------------------- modules */

pthread_mutex_t p11_mods_mu = PTHREAD_MUTEX_INITIALIZER;
static kg_hsm_module *g_mods;

kg_err kg_hsm_module_load(kg_hsm_module **out, const char *path)
{
    *out = NULL;
    char real[PATH_MAX];
    if (!realpath(path, real))
        return kg_err_set(KG_ERR_NOT_FOUND, "PKCS#11 module %s not found", path);
    pthread_mutex_lock(&p11_mods_mu);
    for (kg_hsm_module *m = g_mods; m; m = m->next) {
        if (strcmp(m->path, real) == 0) {
            m->refs++;
            *out = m;
            pthread_mutex_unlock(&p11_mods_mu);
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
        err = rv != CKR_OK ? p11_rv_err(rv, "C_GetFunctionList", NULL)
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
        err = p11_rv_err(rv, "C_Initialize", NULL);
        goto fail;
    }
    m->refs = 1;
    m->next = g_mods;
    g_mods = m;
    pthread_mutex_unlock(&p11_mods_mu);
    *out = m;
    return KG_OK;
fail:
    if (m) {
        if (m->dl)
            dlclose(m->dl);
        free(m->path);
        free(m);
    }
    pthread_mutex_unlock(&p11_mods_mu);
    return err;
}

p11_obj_lock *p11_obj_lock_get(kg_hsm_module *m, const char *label)
{
    pthread_mutex_lock(&p11_mods_mu);
    p11_obj_lock *l = m->obj_locks;
    while (l && strcmp(l->label, label) != 0)
        l = l->next;
    if (!l && (l = calloc(1, sizeof(*l)))) {
        snprintf(l->label, sizeof(l->label), "%s", label);
        pthread_rwlockattr_t a;
        pthread_rwlockattr_init(&a);
#ifdef __GLIBC__
        pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
        pthread_rwlock_init(&l->rw, &a);
        pthread_rwlockattr_destroy(&a);
        l->next = m->obj_locks;
        m->obj_locks = l;
    }
    pthread_mutex_unlock(&p11_mods_mu);
    return l;
}

void kg_hsm_module_release(kg_hsm_module *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&p11_mods_mu);
    if (--m->refs == 0) {
        for (kg_hsm_module **p = &g_mods; *p; p = &(*p)->next)
            if (*p == m) {
                *p = m->next;
                break;
            }
        if (m->finalize)
            m->f->C_Finalize(NULL);
        while (m->obj_locks) {
            p11_obj_lock *l = m->obj_locks;
            m->obj_locks = l->next;
            pthread_rwlock_destroy(&l->rw);
            free(l);
        }
        /* The library stays mapped (no dlclose): vendor modules may leave
         * threads or atexit handlers behind after C_Finalize, and a leak
         * report about a module's own memory must still name the module
         * (tests suppress SoftHSM2 2.6's known leaks by library name). A
         * later load of the same path dlopens the same mapping again. */
        free(m->path);
        free(m);
    }
    pthread_mutex_unlock(&p11_mods_mu);
}

const char *kg_hsm_module_path(const kg_hsm_module *m) { return m->path; }

/* Copy a blank-padded PKCS#11 string into a NUL-terminated one. */
void p11_pstr(char *out, const unsigned char *in, size_t len)
{
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\0'))
        len--;
    memcpy(out, in, len);
    out[len] = '\0';
}

kg_err p11_slot_list(CK_FUNCTION_LIST_PTR f, CK_BBOOL present, CK_SLOT_ID **ids, CK_ULONG *n)
{
    *ids = NULL;
    *n = 0;
    for (int tries = 0; tries < 4; tries++) {
        CK_ULONG cnt = 0;
        CK_RV rv = f->C_GetSlotList(present, NULL, &cnt);
        if (rv != CKR_OK)
            return p11_rv_err(rv, "C_GetSlotList", NULL);
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
            return p11_rv_err(rv, "C_GetSlotList", NULL);
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
    kg_err err = p11_slot_list(m->f, CK_FALSE, &ids, &cnt);
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
        p11_pstr(o->slot_description, si.slotDescription, sizeof(si.slotDescription));
        o->token_present = (si.flags & CKF_TOKEN_PRESENT) != 0;
        CK_TOKEN_INFO ti;
        if (o->token_present && m->f->C_GetTokenInfo(ids[i], &ti) == CKR_OK) {
            p11_pstr(o->label, ti.label, sizeof(ti.label));
            p11_pstr(o->manufacturer, ti.manufacturerID, sizeof(ti.manufacturerID));
            p11_pstr(o->model, ti.model, sizeof(ti.model));
            p11_pstr(o->serial, ti.serialNumber, sizeof(ti.serialNumber));
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
        return p11_rv_err(rv, "C_GetMechanismList", NULL);
    CK_MECHANISM_TYPE *v = calloc(cnt ? cnt : 1, sizeof(*v));
    if (!v)
        return kg_err_set(KG_ERR_NOMEM, "mechanism list");
    rv = m->f->C_GetMechanismList(slot_id, v, &cnt);
    if (rv != CKR_OK) {
        free(v);
        return p11_rv_err(rv, "C_GetMechanismList", NULL);
    }
    *out = v;
    *n = cnt;
    return KG_OK;
}
