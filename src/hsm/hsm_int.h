/* Private declarations shared by the PKCS#11 client files of src/hsm: the
 * module and token structs, the session-pool runner (p11_run_op with its
 * op_fn callbacks that retry once on a lost session or device), object
 * lookup and attribute helpers, and the error mapping. Not installed: only
 * the files of src/hsm include it, so PKCS#11 types stay out of the public header. */
#ifndef KASHGUARD_HSM_INT_H
#define KASHGUARD_HSM_INT_H

#include "kashguard/hsm.h"

#include <pthread.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

struct kg_hsm_module {
    char *path;
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    unsigned refs;
    bool finalize; /* we initialised it */
    struct kg_hsm_token *tokens; /* open token handles (under the module list lock) */
    struct p11_obj_lock *obj_locks; /* one per token label ever opened (under the module list lock) */
    struct kg_hsm_module *next;
};

/* Serialises the calls that create or destroy objects on one token
 * (C_GenerateKey, C_GenerateKeyPair, C_UnwrapKey, C_CreateObject,
 * C_DestroyObject: write side) against each other and against object
 * searches (C_FindObjectsInit..Final: read side), across every handle of
 * this process on that token. SoftHSM2 (its issue #573, the file object
 * store) answers some creations with CKR_GENERAL_ERROR or
 * CKR_TEMPLATE_INCONSISTENT when another thread creates an object or
 * re-reads the token's object directory (which a search does) at the same
 * time: tests/hsm/test_pkcs11.c (test_concurrent_create) fails most runs
 * with creations serialised only among themselves. Objects are made only at
 * key creation, replication and re-sync, and searches only for keys not in
 * a cache, so the lock costs nothing measurable; signing and encryption on
 * found handles never take it. Writers are preferred so a stream of
 * searches cannot starve a key creation. */
typedef struct p11_obj_lock {
    char label[33];
    pthread_rwlock_t rw;
    struct p11_obj_lock *next;
} p11_obj_lock;

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
    unsigned gen; /* raised on every reconnect and every new login; stale sessions and key handles are dropped */
    p11_obj_lock *obj_lock; /* owned by mod (see p11_obj_lock) */
    bool opening; /* in kg_hsm_token_open: the PIN is not proven yet */
    struct kg_hsm_token *next; /* in mod->tokens */
};

/* The object lock of token label in module m (created on first use). NULL on OOM. */
p11_obj_lock *p11_obj_lock_get(kg_hsm_module *m, const char *label);
/* Call expr (an object-creating/destroying PKCS#11 call) under t's object
 * lock (write side) and store its CK_RV in rv. */
#define P11_OBJ_CALL(t, rv, expr) do { pthread_rwlock_wrlock(&(t)->obj_lock->rw); (rv) = (expr); \
    pthread_rwlock_unlock(&(t)->obj_lock->rw); } while (0)
/* CALL for an object-creating/destroying call (under t's object lock). */
#define OBJ_CALL(t, st, expr, name) do { CK_RV orv_; P11_OBJ_CALL(t, orv_, expr); \
    if (orv_ != CKR_OK) { (st)->fn = (name); return orv_; } } while (0)

/* Returned by an op that set a kg_err itself (not a PKCS#11 failure). */
#define RV_KG_ERR (CKR_VENDOR_DEFINED | 0x4b47UL)

typedef struct {
    kg_err err;        /* when an op returns RV_KG_ERR */
    const char *fn;    /* the PKCS#11 function that failed */
} op_state;

/* One operation on a logged-in session s of generation gen. Returns CKR_OK,
 * a CK_RV naming st->fn, or RV_KG_ERR with st->err set. */
typedef CK_RV (*op_fn)(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, void *ctx, op_state *st);

/* Call expr; on failure record the function name and return its CK_RV. */
#define CALL(st, expr, name) do { CK_RV rv_ = (expr); if (rv_ != CKR_OK) { (st)->fn = (name); return rv_; } } while (0)

/* Guards the module list and every module's token list (pkcs11.c). */
extern pthread_mutex_t p11_mods_mu;
/* Copy a blank-padded PKCS#11 string into a NUL-terminated one (out: len + 1). */
void p11_pstr(char *out, const unsigned char *in, size_t len);
/* C_GetSlotList (present: only slots with a token) as a malloc'd array. */
kg_err p11_slot_list(CK_FUNCTION_LIST_PTR f, CK_BBOOL present, CK_SLOT_ID **ids, CK_ULONG *n);

/* The kg_err for a failed PKCS#11 call: "fn on token 'label': CKR_X". */
kg_err p11_rv_err(CK_RV rv, const char *fn, const char *label);
/* Set st->err and return RV_KG_ERR (for ops). */
CK_RV p11_fail(op_state *st, kg_err err);
/* Run op on a pooled session; a lost session or device is recovered once. */
kg_err p11_run_op(kg_hsm_token *t, op_fn op, void *ctx);
/* KG_ERR_BAD_INPUT unless 1 <= id_len <= KG_HSM_MAX_ID. */
kg_err p11_check_id(const uint8_t *id, size_t id_len);

/* The first object of class cls with CKA_ID id (*count 0, 1 or 2 = more). */
CK_RV p11_find_object(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_CLASS cls,
                      const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *out, CK_ULONG *count);
/* The private/secret (want_pub false) or public handle of key in this
 * generation, found again by CKA_ID when the cached one is stale. */
CK_RV p11_key_handle(kg_hsm_token *t, CK_SESSION_HANDLE s, unsigned gen, const kg_hsm_key *key,
                     bool want_pub, op_state *st, CK_OBJECT_HANDLE *h);
/* The kg_hsm_key_type of the private/secret object h (key type and curve). */
CK_RV p11_key_type(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_HANDLE h,
                   kg_hsm_key_type *type);
CK_RV p11_get_ulong(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_HANDLE h,
                    CK_ATTRIBUTE_TYPE type, CK_ULONG *v);
/* Read a variable-length attribute into a malloc'd buffer. */
CK_RV p11_get_bytes(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_HANDLE h,
                    CK_ATTRIBUTE_TYPE type, uint8_t **out, size_t *len);

/* DER OIDs of the curves, as CKA_EC_PARAMS. */
extern const uint8_t p11_oid_p256[10];
extern const uint8_t p11_oid_k256[7];
extern const uint8_t p11_oid_ed25519[5];
/* CKA_EC_PARAMS of an EC / Ed25519 key type (NULL, 0 for AES and RSA). */
const uint8_t *p11_ec_params(kg_hsm_key_type type, size_t *len);
/* CKA_KEY_TYPE of a key type (CKK_AES, CKK_RSA, CKK_EC, CKK_EC_EDWARDS). */
CK_KEY_TYPE p11_ck_key_type(kg_hsm_key_type type);

/* ---- replication helpers (pkcs11_wrap.c), shared with pkcs11_kek.c */

/* First byte of a wrapped KEK: the OAEP hash (and MGF1 hash) used. */
#define P11_OAEP_SHA1 1
#define P11_OAEP_SHA256 2

/* The public parts of an SPKI, in the form PKCS#11 public key objects take. */
typedef struct {
    kg_hsm_key_type type;
    uint8_t point[2 + 65];  /* CKA_EC_POINT: DER OCTET STRING around the point */
    size_t point_len;
    uint8_t n[512], e[16];  /* RSA modulus and exponent, big-endian */
    size_t n_len, e_len;
} spki_parts;

/* Parse DER SubjectPublicKeyInfo (RSA >= 2048 bits, P-256, secp256k1,
 * Ed25519) into parts. KG_ERR_BAD_INPUT for anything else. */
kg_err p11_spki_parse(spki_parts *o, const uint8_t *der, size_t len);
/* RV_KG_ERR with KG_ERR_CONFLICT when an object of class cls has this CKA_ID. */
CK_RV p11_id_unused(kg_hsm_token *t, CK_SESSION_HANDLE s, op_state *st, CK_OBJECT_CLASS cls,
                    const uint8_t *id, size_t id_len);
/* A kg_hsm_key with type and id and no handles. */
void p11_key_init(kg_hsm_key *k, kg_hsm_key_type type, const uint8_t *id, size_t id_len);
/* CKM_RSA_PKCS_OAEP parameters for hash (P11_OAEP_*) with MGF1 of the same hash. */
void p11_oaep_params(CK_RSA_PKCS_OAEP_PARAMS *p, int hash, const uint8_t *label, size_t label_len);
/* Whether rv is how a token refuses a mechanism parameter (e.g. an OAEP hash). */
bool p11_param_refused(CK_RV rv);

#endif
