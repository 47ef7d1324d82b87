/*
 * kg_pkcs11_fault: a test-only PKCS#11 module that wraps a real one and, on
 * instruction, fails, delays or hangs chosen functions (docs/hsm.md,
 * "Fault injection for tests").
 *
 *   KG_P11_FAULT_MODULE   path of the real module (dlopen'ed on first use)
 *   KG_P11_FAULT_CONTROL  path of the control file (optional)
 *
 * The control file holds one rule a line; the first rule that matches a call
 * wins; '#' starts a comment:
 *
 *   <C_Name|*> fail <CKR_NAME|number> [after N] [slot S]
 *   <C_Name|*> delay <ms>             [after N] [slot S]
 *   <C_Name|*> hang                   [after N] [slot S]
 *
 * '*' matches every function except C_GetFunctionList and C_Finalize. The
 * file is re-read whenever its mtime, size or inode changes, so a test can
 * change the behaviour of a running process (write a temp file and rename it
 * over the control file so every change is seen). "after N" applies the rule
 * from the N-th call of that function on, counting calls since the control
 * file last changed. "slot S" matches calls on slot S: the slot-taking
 * functions directly, session functions through the session's slot. A
 * missing or empty file means pass-through. Dependencies: libc, dl, pthread.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define KGF_EXPORT __attribute__((visibility("default")))
#define HANG_POLL_MS 50
#define MAX_RULES 64

enum action { ACT_FAIL, ACT_DELAY, ACT_HANG };
enum sel { SEL_NONE, SEL_SLOT, SEL_SESSION };

struct rule {
  int fn;                 /* function index, or -1 for '*' */
  enum action act;
  CK_RV code;             /* ACT_FAIL */
  unsigned long ms;       /* ACT_DELAY */
  unsigned long after;    /* 0 or 1: every call; N: from the N-th call on */
  int has_slot;
  CK_SLOT_ID slot;
};

static const struct {
  const char *name;
  CK_RV rv;
} ckr_names[] = {
  {"CKR_OK", CKR_OK},
  {"CKR_CANCEL", CKR_CANCEL},
  {"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
  {"CKR_SLOT_ID_INVALID", CKR_SLOT_ID_INVALID},
  {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
  {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
  {"CKR_ARGUMENTS_BAD", CKR_ARGUMENTS_BAD},
  {"CKR_NO_EVENT", CKR_NO_EVENT},
  {"CKR_NEED_TO_CREATE_THREADS", CKR_NEED_TO_CREATE_THREADS},
  {"CKR_CANT_LOCK", CKR_CANT_LOCK},
  {"CKR_ATTRIBUTE_READ_ONLY", CKR_ATTRIBUTE_READ_ONLY},
  {"CKR_ATTRIBUTE_SENSITIVE", CKR_ATTRIBUTE_SENSITIVE},
  {"CKR_ATTRIBUTE_TYPE_INVALID", CKR_ATTRIBUTE_TYPE_INVALID},
  {"CKR_ATTRIBUTE_VALUE_INVALID", CKR_ATTRIBUTE_VALUE_INVALID},
  {"CKR_ACTION_PROHIBITED", CKR_ACTION_PROHIBITED},
  {"CKR_DATA_INVALID", CKR_DATA_INVALID},
  {"CKR_DATA_LEN_RANGE", CKR_DATA_LEN_RANGE},
  {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
  {"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
  {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
  {"CKR_ENCRYPTED_DATA_INVALID", CKR_ENCRYPTED_DATA_INVALID},
  {"CKR_ENCRYPTED_DATA_LEN_RANGE", CKR_ENCRYPTED_DATA_LEN_RANGE},
  {"CKR_FUNCTION_CANCELED", CKR_FUNCTION_CANCELED},
  {"CKR_FUNCTION_NOT_PARALLEL", CKR_FUNCTION_NOT_PARALLEL},
  {"CKR_FUNCTION_NOT_SUPPORTED", CKR_FUNCTION_NOT_SUPPORTED},
  {"CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID},
  {"CKR_KEY_SIZE_RANGE", CKR_KEY_SIZE_RANGE},
  {"CKR_KEY_TYPE_INCONSISTENT", CKR_KEY_TYPE_INCONSISTENT},
  {"CKR_KEY_NOT_NEEDED", CKR_KEY_NOT_NEEDED},
  {"CKR_KEY_CHANGED", CKR_KEY_CHANGED},
  {"CKR_KEY_NEEDED", CKR_KEY_NEEDED},
  {"CKR_KEY_INDIGESTIBLE", CKR_KEY_INDIGESTIBLE},
  {"CKR_KEY_FUNCTION_NOT_PERMITTED", CKR_KEY_FUNCTION_NOT_PERMITTED},
  {"CKR_KEY_NOT_WRAPPABLE", CKR_KEY_NOT_WRAPPABLE},
  {"CKR_KEY_UNEXTRACTABLE", CKR_KEY_UNEXTRACTABLE},
  {"CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID},
  {"CKR_MECHANISM_PARAM_INVALID", CKR_MECHANISM_PARAM_INVALID},
  {"CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID},
  {"CKR_OPERATION_ACTIVE", CKR_OPERATION_ACTIVE},
  {"CKR_OPERATION_NOT_INITIALIZED", CKR_OPERATION_NOT_INITIALIZED},
  {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
  {"CKR_PIN_INVALID", CKR_PIN_INVALID},
  {"CKR_PIN_LEN_RANGE", CKR_PIN_LEN_RANGE},
  {"CKR_PIN_EXPIRED", CKR_PIN_EXPIRED},
  {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
  {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
  {"CKR_SESSION_COUNT", CKR_SESSION_COUNT},
  {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
  {"CKR_SESSION_PARALLEL_NOT_SUPPORTED", CKR_SESSION_PARALLEL_NOT_SUPPORTED},
  {"CKR_SESSION_READ_ONLY", CKR_SESSION_READ_ONLY},
  {"CKR_SESSION_EXISTS", CKR_SESSION_EXISTS},
  {"CKR_SESSION_READ_ONLY_EXISTS", CKR_SESSION_READ_ONLY_EXISTS},
  {"CKR_SESSION_READ_WRITE_SO_EXISTS", CKR_SESSION_READ_WRITE_SO_EXISTS},
  {"CKR_SIGNATURE_INVALID", CKR_SIGNATURE_INVALID},
  {"CKR_SIGNATURE_LEN_RANGE", CKR_SIGNATURE_LEN_RANGE},
  {"CKR_TEMPLATE_INCOMPLETE", CKR_TEMPLATE_INCOMPLETE},
  {"CKR_TEMPLATE_INCONSISTENT", CKR_TEMPLATE_INCONSISTENT},
  {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
  {"CKR_TOKEN_NOT_RECOGNIZED", CKR_TOKEN_NOT_RECOGNIZED},
  {"CKR_TOKEN_WRITE_PROTECTED", CKR_TOKEN_WRITE_PROTECTED},
  {"CKR_UNWRAPPING_KEY_SIZE_RANGE", CKR_UNWRAPPING_KEY_SIZE_RANGE},
  {"CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT", CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT},
  {"CKR_USER_ALREADY_LOGGED_IN", CKR_USER_ALREADY_LOGGED_IN},
  {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
  {"CKR_USER_PIN_NOT_INITIALIZED", CKR_USER_PIN_NOT_INITIALIZED},
  {"CKR_USER_TYPE_INVALID", CKR_USER_TYPE_INVALID},
  {"CKR_USER_ANOTHER_ALREADY_LOGGED_IN", CKR_USER_ANOTHER_ALREADY_LOGGED_IN},
  {"CKR_USER_TOO_MANY_TYPES", CKR_USER_TOO_MANY_TYPES},
  {"CKR_WRAPPED_KEY_INVALID", CKR_WRAPPED_KEY_INVALID},
  {"CKR_WRAPPED_KEY_LEN_RANGE", CKR_WRAPPED_KEY_LEN_RANGE},
  {"CKR_WRAPPING_KEY_HANDLE_INVALID", CKR_WRAPPING_KEY_HANDLE_INVALID},
  {"CKR_WRAPPING_KEY_SIZE_RANGE", CKR_WRAPPING_KEY_SIZE_RANGE},
  {"CKR_WRAPPING_KEY_TYPE_INCONSISTENT", CKR_WRAPPING_KEY_TYPE_INCONSISTENT},
  {"CKR_RANDOM_SEED_NOT_SUPPORTED", CKR_RANDOM_SEED_NOT_SUPPORTED},
  {"CKR_RANDOM_NO_RNG", CKR_RANDOM_NO_RNG},
  {"CKR_DOMAIN_PARAMS_INVALID", CKR_DOMAIN_PARAMS_INVALID},
  {"CKR_CURVE_NOT_SUPPORTED", CKR_CURVE_NOT_SUPPORTED},
  {"CKR_BUFFER_TOO_SMALL", CKR_BUFFER_TOO_SMALL},
  {"CKR_SAVED_STATE_INVALID", CKR_SAVED_STATE_INVALID},
  {"CKR_INFORMATION_SENSITIVE", CKR_INFORMATION_SENSITIVE},
  {"CKR_STATE_UNSAVEABLE", CKR_STATE_UNSAVEABLE},
  {"CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED},
  {"CKR_CRYPTOKI_ALREADY_INITIALIZED", CKR_CRYPTOKI_ALREADY_INITIALIZED},
  {"CKR_MUTEX_BAD", CKR_MUTEX_BAD},
  {"CKR_MUTEX_NOT_LOCKED", CKR_MUTEX_NOT_LOCKED},
  {"CKR_NEW_PIN_MODE", CKR_NEW_PIN_MODE},
  {"CKR_NEXT_OTP", CKR_NEXT_OTP},
  {"CKR_EXCEEDED_MAX_ITERATIONS", CKR_EXCEEDED_MAX_ITERATIONS},
  {"CKR_FIPS_SELF_TEST_FAILED", CKR_FIPS_SELF_TEST_FAILED},
  {"CKR_LIBRARY_LOAD_FAILED", CKR_LIBRARY_LOAD_FAILED},
  {"CKR_PIN_TOO_WEAK", CKR_PIN_TOO_WEAK},
  {"CKR_PUBLIC_KEY_INVALID", CKR_PUBLIC_KEY_INVALID},
  {"CKR_FUNCTION_REJECTED", CKR_FUNCTION_REJECTED},
  {"CKR_VENDOR_DEFINED", CKR_VENDOR_DEFINED},
};

/* Function indices, in CK_FUNCTION_LIST order. */
enum fn_idx {
  IDX_C_Initialize,
  IDX_C_Finalize,
  IDX_C_GetInfo,
  IDX_C_GetFunctionList,
  IDX_C_GetSlotList,
  IDX_C_GetSlotInfo,
  IDX_C_GetTokenInfo,
  IDX_C_GetMechanismList,
  IDX_C_GetMechanismInfo,
  IDX_C_InitToken,
  IDX_C_InitPIN,
  IDX_C_SetPIN,
  IDX_C_OpenSession,
  IDX_C_CloseSession,
  IDX_C_CloseAllSessions,
  IDX_C_GetSessionInfo,
  IDX_C_GetOperationState,
  IDX_C_SetOperationState,
  IDX_C_Login,
  IDX_C_Logout,
  IDX_C_CreateObject,
  IDX_C_CopyObject,
  IDX_C_DestroyObject,
  IDX_C_GetObjectSize,
  IDX_C_GetAttributeValue,
  IDX_C_SetAttributeValue,
  IDX_C_FindObjectsInit,
  IDX_C_FindObjects,
  IDX_C_FindObjectsFinal,
  IDX_C_EncryptInit,
  IDX_C_Encrypt,
  IDX_C_EncryptUpdate,
  IDX_C_EncryptFinal,
  IDX_C_DecryptInit,
  IDX_C_Decrypt,
  IDX_C_DecryptUpdate,
  IDX_C_DecryptFinal,
  IDX_C_DigestInit,
  IDX_C_Digest,
  IDX_C_DigestUpdate,
  IDX_C_DigestKey,
  IDX_C_DigestFinal,
  IDX_C_SignInit,
  IDX_C_Sign,
  IDX_C_SignUpdate,
  IDX_C_SignFinal,
  IDX_C_SignRecoverInit,
  IDX_C_SignRecover,
  IDX_C_VerifyInit,
  IDX_C_Verify,
  IDX_C_VerifyUpdate,
  IDX_C_VerifyFinal,
  IDX_C_VerifyRecoverInit,
  IDX_C_VerifyRecover,
  IDX_C_DigestEncryptUpdate,
  IDX_C_DecryptDigestUpdate,
  IDX_C_SignEncryptUpdate,
  IDX_C_DecryptVerifyUpdate,
  IDX_C_GenerateKey,
  IDX_C_GenerateKeyPair,
  IDX_C_WrapKey,
  IDX_C_UnwrapKey,
  IDX_C_DeriveKey,
  IDX_C_SeedRandom,
  IDX_C_GenerateRandom,
  IDX_C_GetFunctionStatus,
  IDX_C_CancelFunction,
  IDX_C_WaitForSlotEvent,
  FN_COUNT
};

static const char *const fn_names[FN_COUNT] = {
  [IDX_C_Initialize] = "C_Initialize",
  [IDX_C_Finalize] = "C_Finalize",
  [IDX_C_GetInfo] = "C_GetInfo",
  [IDX_C_GetFunctionList] = "C_GetFunctionList",
  [IDX_C_GetSlotList] = "C_GetSlotList",
  [IDX_C_GetSlotInfo] = "C_GetSlotInfo",
  [IDX_C_GetTokenInfo] = "C_GetTokenInfo",
  [IDX_C_GetMechanismList] = "C_GetMechanismList",
  [IDX_C_GetMechanismInfo] = "C_GetMechanismInfo",
  [IDX_C_InitToken] = "C_InitToken",
  [IDX_C_InitPIN] = "C_InitPIN",
  [IDX_C_SetPIN] = "C_SetPIN",
  [IDX_C_OpenSession] = "C_OpenSession",
  [IDX_C_CloseSession] = "C_CloseSession",
  [IDX_C_CloseAllSessions] = "C_CloseAllSessions",
  [IDX_C_GetSessionInfo] = "C_GetSessionInfo",
  [IDX_C_GetOperationState] = "C_GetOperationState",
  [IDX_C_SetOperationState] = "C_SetOperationState",
  [IDX_C_Login] = "C_Login",
  [IDX_C_Logout] = "C_Logout",
  [IDX_C_CreateObject] = "C_CreateObject",
  [IDX_C_CopyObject] = "C_CopyObject",
  [IDX_C_DestroyObject] = "C_DestroyObject",
  [IDX_C_GetObjectSize] = "C_GetObjectSize",
  [IDX_C_GetAttributeValue] = "C_GetAttributeValue",
  [IDX_C_SetAttributeValue] = "C_SetAttributeValue",
  [IDX_C_FindObjectsInit] = "C_FindObjectsInit",
  [IDX_C_FindObjects] = "C_FindObjects",
  [IDX_C_FindObjectsFinal] = "C_FindObjectsFinal",
  [IDX_C_EncryptInit] = "C_EncryptInit",
  [IDX_C_Encrypt] = "C_Encrypt",
  [IDX_C_EncryptUpdate] = "C_EncryptUpdate",
  [IDX_C_EncryptFinal] = "C_EncryptFinal",
  [IDX_C_DecryptInit] = "C_DecryptInit",
  [IDX_C_Decrypt] = "C_Decrypt",
  [IDX_C_DecryptUpdate] = "C_DecryptUpdate",
  [IDX_C_DecryptFinal] = "C_DecryptFinal",
  [IDX_C_DigestInit] = "C_DigestInit",
  [IDX_C_Digest] = "C_Digest",
  [IDX_C_DigestUpdate] = "C_DigestUpdate",
  [IDX_C_DigestKey] = "C_DigestKey",
  [IDX_C_DigestFinal] = "C_DigestFinal",
  [IDX_C_SignInit] = "C_SignInit",
  [IDX_C_Sign] = "C_Sign",
  [IDX_C_SignUpdate] = "C_SignUpdate",
  [IDX_C_SignFinal] = "C_SignFinal",
  [IDX_C_SignRecoverInit] = "C_SignRecoverInit",
  [IDX_C_SignRecover] = "C_SignRecover",
  [IDX_C_VerifyInit] = "C_VerifyInit",
  [IDX_C_Verify] = "C_Verify",
  [IDX_C_VerifyUpdate] = "C_VerifyUpdate",
  [IDX_C_VerifyFinal] = "C_VerifyFinal",
  [IDX_C_VerifyRecoverInit] = "C_VerifyRecoverInit",
  [IDX_C_VerifyRecover] = "C_VerifyRecover",
  [IDX_C_DigestEncryptUpdate] = "C_DigestEncryptUpdate",
  [IDX_C_DecryptDigestUpdate] = "C_DecryptDigestUpdate",
  [IDX_C_SignEncryptUpdate] = "C_SignEncryptUpdate",
  [IDX_C_DecryptVerifyUpdate] = "C_DecryptVerifyUpdate",
  [IDX_C_GenerateKey] = "C_GenerateKey",
  [IDX_C_GenerateKeyPair] = "C_GenerateKeyPair",
  [IDX_C_WrapKey] = "C_WrapKey",
  [IDX_C_UnwrapKey] = "C_UnwrapKey",
  [IDX_C_DeriveKey] = "C_DeriveKey",
  [IDX_C_SeedRandom] = "C_SeedRandom",
  [IDX_C_GenerateRandom] = "C_GenerateRandom",
  [IDX_C_GetFunctionStatus] = "C_GetFunctionStatus",
  [IDX_C_CancelFunction] = "C_CancelFunction",
  [IDX_C_WaitForSlotEvent] = "C_WaitForSlotEvent",
};


/* ---- state ------------------------------------------------------------ */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* rules, module, sessions */
static CK_FUNCTION_LIST *real;                    /* set once, under lock */
static struct rule rules[MAX_RULES];
static size_t n_rules;
static int have_stat;                                    /* last stat() succeeded */
static struct stat last_st;
static atomic_ulong calls[FN_COUNT];                     /* since the last reload */

struct sess {
  CK_SESSION_HANDLE h;
  CK_SLOT_ID slot;
};
static struct sess *sessions;
static size_t n_sessions, cap_sessions;

static void sleep_ms(unsigned long ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- control file ----------------------------------------------------- */

static int fn_lookup(const char *name) {
  for (int i = 0; i < FN_COUNT; i++)
    if (strcmp(fn_names[i], name) == 0)
      return i;
  return -2;
}

static int parse_ulong(const char *s, unsigned long *out) {
  char *end;
  if (!s || !*s)
    return -1;
  errno = 0;
  unsigned long v = strtoul(s, &end, 0);
  if (errno || *end)
    return -1;
  *out = v;
  return 0;
}

static int parse_ckr(const char *s, CK_RV *out) {
  for (size_t i = 0; i < sizeof ckr_names / sizeof ckr_names[0]; i++)
    if (strcmp(ckr_names[i].name, s) == 0) {
      *out = ckr_names[i].rv;
      return 0;
    }
  unsigned long v;
  if (parse_ulong(s, &v) != 0)
    return -1;
  *out = v;
  return 0;
}

static int parse_line(char *line, struct rule *r) {
  char *save = NULL, *tok[8];
  int n = 0;
  char *hash = strchr(line, '#');
  if (hash)
    *hash = '\0';
  for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
    if (n == 8)
      return -1;
    tok[n++] = t;
  }
  if (n == 0)
    return 1; /* blank */
  if (n < 2)
    return -1;
  memset(r, 0, sizeof *r);
  if (strcmp(tok[0], "*") == 0)
    r->fn = -1;
  else if ((r->fn = fn_lookup(tok[0])) < 0)
    return -1;
  int i = 2;
  if (strcmp(tok[1], "fail") == 0) {
    if (n < 3 || parse_ckr(tok[2], &r->code) != 0)
      return -1;
    r->act = ACT_FAIL;
    i = 3;
  } else if (strcmp(tok[1], "delay") == 0) {
    if (n < 3 || parse_ulong(tok[2], &r->ms) != 0)
      return -1;
    r->act = ACT_DELAY;
    i = 3;
  } else if (strcmp(tok[1], "hang") == 0) {
    r->act = ACT_HANG;
  } else {
    return -1;
  }
  while (i < n) {
    unsigned long v;
    if (i + 1 >= n || parse_ulong(tok[i + 1], &v) != 0)
      return -1;
    if (strcmp(tok[i], "after") == 0) {
      r->after = v;
    } else if (strcmp(tok[i], "slot") == 0) {
      r->has_slot = 1;
      r->slot = v;
    } else {
      return -1;
    }
    i += 2;
  }
  return 0;
}

/* Re-read the control file when it changed. Caller holds lock. */
static void reload_locked(void) {
  const char *path = getenv("KG_P11_FAULT_CONTROL");
  struct stat st;
  int ok = path && *path && stat(path, &st) == 0;
  if (ok == have_stat &&
      (!ok || (st.st_mtim.tv_sec == last_st.st_mtim.tv_sec &&
               st.st_mtim.tv_nsec == last_st.st_mtim.tv_nsec &&
               st.st_size == last_st.st_size && st.st_ino == last_st.st_ino &&
               st.st_dev == last_st.st_dev)))
    return;
  have_stat = ok;
  if (ok)
    last_st = st;
  n_rules = 0;
  for (int i = 0; i < FN_COUNT; i++)
    atomic_store(&calls[i], 0);
  FILE *f = ok ? fopen(path, "r") : NULL;
  if (!f)
    return;
  char line[512];
  unsigned lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    struct rule r;
    int rc = parse_line(line, &r);
    if (rc < 0)
      fprintf(stderr, "kg_pkcs11_fault: %s:%u: bad rule ignored\n", path, lineno);
    else if (rc == 0 && n_rules < MAX_RULES)
      rules[n_rules++] = r;
  }
  fclose(f);
}

/* ---- session -> slot map ------------------------------------------------ */

static void session_add(CK_SESSION_HANDLE h, CK_SLOT_ID slot) {
  pthread_mutex_lock(&lock);
  if (n_sessions == cap_sessions) {
    size_t cap = cap_sessions ? cap_sessions * 2 : 64;
    struct sess *p = realloc(sessions, cap * sizeof *p);
    if (!p) {
      pthread_mutex_unlock(&lock);
      return; /* the slot filter just won't see this session */
    }
    sessions = p;
    cap_sessions = cap;
  }
  sessions[n_sessions++] = (struct sess){h, slot};
  pthread_mutex_unlock(&lock);
}

static void session_del(CK_SESSION_HANDLE h) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < n_sessions; i++)
    if (sessions[i].h == h) {
      sessions[i] = sessions[--n_sessions];
      break;
    }
  pthread_mutex_unlock(&lock);
}

static void session_del_slot(CK_SLOT_ID slot) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < n_sessions;)
    if (sessions[i].slot == slot)
      sessions[i] = sessions[--n_sessions];
    else
      i++;
  pthread_mutex_unlock(&lock);
}

static void session_clear(void) {
  pthread_mutex_lock(&lock);
  free(sessions);
  sessions = NULL;
  n_sessions = cap_sessions = 0;
  pthread_mutex_unlock(&lock);
}

/* ---- the real module ---------------------------------------------------- */

static CK_RV load_real_locked(void) {
  if (real)
    return CKR_OK;
  const char *path = getenv("KG_P11_FAULT_MODULE");
  if (!path || !*path) {
    fprintf(stderr, "kg_pkcs11_fault: KG_P11_FAULT_MODULE is not set\n");
    return CKR_GENERAL_ERROR;
  }
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "kg_pkcs11_fault: %s\n", dlerror());
    return CKR_GENERAL_ERROR;
  }
  CK_C_GetFunctionList get;
  *(void **)&get = dlsym(h, "C_GetFunctionList");
  CK_FUNCTION_LIST *list = NULL;
  if (!get || get(&list) != CKR_OK || !list) {
    fprintf(stderr, "kg_pkcs11_fault: %s: no usable C_GetFunctionList\n", path);
    dlclose(h);
    return CKR_GENERAL_ERROR;
  }
  real = list; /* never dlclose'd: the module stays for the process */
  return CKR_OK;
}

/* ---- the decision ------------------------------------------------------- */

/* Find the first rule matching call number `n` of function `fn` with the
 * given selector. Caller holds lock. Returns 0 and fills *out when found. */
static int match_locked(int fn, enum sel sel, unsigned long val, unsigned long n,
                        struct rule *out) {
  int have_slot = 0;
  CK_SLOT_ID slot = 0;
  if (sel == SEL_SLOT) {
    have_slot = 1;
    slot = val;
  } else if (sel == SEL_SESSION) {
    for (size_t i = 0; i < n_sessions; i++)
      if (sessions[i].h == val) {
        have_slot = 1;
        slot = sessions[i].slot;
        break;
      }
  }
  for (size_t i = 0; i < n_rules; i++) {
    const struct rule *r = &rules[i];
    if (r->fn == -1) {
      if (fn == IDX_C_GetFunctionList || fn == IDX_C_Finalize)
        continue;
    } else if (r->fn != fn) {
      continue;
    }
    if (r->after > 1 && n < r->after)
      continue;
    if (r->has_slot && (!have_slot || slot != r->slot))
      continue;
    *out = *r;
    return 0;
  }
  return -1;
}

/* Called at the top of every wrapper: loads the real module, counts the
 * call and applies the first matching rule. Returns CKR_OK to forward. */
static CK_RV fault_enter(int fn, enum sel sel, unsigned long val) {
  /* Re-read the file first, so that a change resets the counters before
   * this call is counted. */
  pthread_mutex_lock(&lock);
  reload_locked();
  pthread_mutex_unlock(&lock);
  unsigned long n = atomic_fetch_add(&calls[fn], 1) + 1;
  for (;;) {
    struct rule r;
    pthread_mutex_lock(&lock);
    CK_RV rv = fn == IDX_C_GetFunctionList ? CKR_OK : load_real_locked();
    reload_locked();
    int found = rv == CKR_OK && match_locked(fn, sel, val, n, &r) == 0;
    pthread_mutex_unlock(&lock);
    if (rv != CKR_OK || !found)
      return rv;
    switch (r.act) {
    case ACT_FAIL:
      return r.code == CKR_OK ? CKR_GENERAL_ERROR : r.code;
    case ACT_DELAY:
      sleep_ms(r.ms);
      return CKR_OK;
    case ACT_HANG:
      sleep_ms(HANG_POLL_MS); /* then re-read the file and decide again */
      break;
    }
  }
}

/* A real device whose single-part C_Encrypt/C_Decrypt/C_Digest/C_Sign fails
 * ends the operation (PKCS#11 2.40, 5.2: an error other than
 * CKR_BUFFER_TOO_SMALL terminates it). An injected failure does the same:
 * the real call runs into a scratch buffer and its result is dropped, so the
 * session is not left with an active operation. */
static void end_real_op(CK_RV (*fn)(CK_SESSION_HANDLE, unsigned char *, unsigned long, unsigned char *,
                                    unsigned long *),
                        CK_SESSION_HANDLE session, unsigned char *in, unsigned long in_len)
{
  unsigned long cap = in_len + 1024;
  unsigned char *buf = real != NULL ? malloc(cap) : NULL;
  if (buf == NULL)
    return;
  (void)fn(session, in, in_len, buf, &cap);
  memset(buf, 0, in_len + 1024);
  free(buf);
}

/* One wrapper per entry: count, apply any matching rule, forward. */
static CK_RV f_C_Initialize(void *init_args)
{
  CK_RV rv = fault_enter(IDX_C_Initialize, SEL_NONE, 0);
  if (rv != CKR_OK)
    return rv;
  return real->C_Initialize(init_args);
}

static CK_RV f_C_Finalize(void *reserved)
{
  CK_RV rv = fault_enter(IDX_C_Finalize, SEL_NONE, 0);
  if (rv != CKR_OK)
    return rv;
  rv = real->C_Finalize(reserved);
  if (rv == CKR_OK)
    session_clear();
  return rv;
}

static CK_RV f_C_GetInfo(CK_INFO *info)
{
  CK_RV rv = fault_enter(IDX_C_GetInfo, SEL_NONE, 0);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetInfo(info);
}

static CK_RV f_C_GetSlotList(unsigned char token_present, CK_SLOT_ID *slot_list, unsigned long *count)
{
  CK_RV rv = fault_enter(IDX_C_GetSlotList, SEL_NONE, 0);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetSlotList(token_present, slot_list, count);
}

static CK_RV f_C_GetSlotInfo(CK_SLOT_ID slot_id, CK_SLOT_INFO *info)
{
  CK_RV rv = fault_enter(IDX_C_GetSlotInfo, SEL_SLOT, slot_id);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetSlotInfo(slot_id, info);
}

static CK_RV f_C_GetTokenInfo(CK_SLOT_ID slot_id, CK_TOKEN_INFO *info)
{
  CK_RV rv = fault_enter(IDX_C_GetTokenInfo, SEL_SLOT, slot_id);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetTokenInfo(slot_id, info);
}

static CK_RV f_C_GetMechanismList(CK_SLOT_ID slot_id, CK_MECHANISM_TYPE *mechanism_list, unsigned long *count)
{
  CK_RV rv = fault_enter(IDX_C_GetMechanismList, SEL_SLOT, slot_id);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetMechanismList(slot_id, mechanism_list, count);
}

static CK_RV f_C_GetMechanismInfo(CK_SLOT_ID slot_id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
  CK_RV rv = fault_enter(IDX_C_GetMechanismInfo, SEL_SLOT, slot_id);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetMechanismInfo(slot_id, type, info);
}

static CK_RV f_C_InitToken(CK_SLOT_ID slot_id, unsigned char *pin, unsigned long pin_len, unsigned char *label)
{
  CK_RV rv = fault_enter(IDX_C_InitToken, SEL_SLOT, slot_id);
  if (rv != CKR_OK)
    return rv;
  return real->C_InitToken(slot_id, pin, pin_len, label);
}

static CK_RV f_C_InitPIN(CK_SESSION_HANDLE session, unsigned char *pin, unsigned long pin_len)
{
  CK_RV rv = fault_enter(IDX_C_InitPIN, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_InitPIN(session, pin, pin_len);
}

static CK_RV f_C_SetPIN(CK_SESSION_HANDLE session, unsigned char *old_pin, unsigned long old_len, unsigned char *new_pin, unsigned long new_len)
{
  CK_RV rv = fault_enter(IDX_C_SetPIN, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SetPIN(session, old_pin, old_len, new_pin, new_len);
}

static CK_RV f_C_OpenSession(CK_SLOT_ID slot_id, CK_FLAGS flags, void *application, CK_NOTIFY notify, CK_SESSION_HANDLE *session)
{
  CK_RV rv = fault_enter(IDX_C_OpenSession, SEL_SLOT, slot_id);
  if (rv != CKR_OK)
    return rv;
  rv = real->C_OpenSession(slot_id, flags, application, notify, session);
  if (rv == CKR_OK && session)
    session_add(*session, slot_id);
  return rv;
}

static CK_RV f_C_CloseSession(CK_SESSION_HANDLE session)
{
  CK_RV rv = fault_enter(IDX_C_CloseSession, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  rv = real->C_CloseSession(session);
  if (rv == CKR_OK)
    session_del(session);
  return rv;
}

static CK_RV f_C_CloseAllSessions(CK_SLOT_ID slot_id)
{
  CK_RV rv = fault_enter(IDX_C_CloseAllSessions, SEL_SLOT, slot_id);
  if (rv != CKR_OK)
    return rv;
  rv = real->C_CloseAllSessions(slot_id);
  if (rv == CKR_OK)
    session_del_slot(slot_id);
  return rv;
}

static CK_RV f_C_GetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO *info)
{
  CK_RV rv = fault_enter(IDX_C_GetSessionInfo, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetSessionInfo(session, info);
}

static CK_RV f_C_GetOperationState(CK_SESSION_HANDLE session, unsigned char *operation_state, unsigned long *operation_state_len)
{
  CK_RV rv = fault_enter(IDX_C_GetOperationState, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetOperationState(session, operation_state, operation_state_len);
}

static CK_RV f_C_SetOperationState(CK_SESSION_HANDLE session, unsigned char *operation_state, unsigned long operation_state_len, CK_OBJECT_HANDLE encryption_key, CK_OBJECT_HANDLE authentiation_key)
{
  CK_RV rv = fault_enter(IDX_C_SetOperationState, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SetOperationState(session, operation_state, operation_state_len, encryption_key, authentiation_key);
}

static CK_RV f_C_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user_type, unsigned char *pin, unsigned long pin_len)
{
  CK_RV rv = fault_enter(IDX_C_Login, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_Login(session, user_type, pin, pin_len);
}

static CK_RV f_C_Logout(CK_SESSION_HANDLE session)
{
  CK_RV rv = fault_enter(IDX_C_Logout, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_Logout(session);
}

static CK_RV f_C_CreateObject(CK_SESSION_HANDLE session, CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *object)
{
  CK_RV rv = fault_enter(IDX_C_CreateObject, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_CreateObject(session, templ, count, object);
}

static CK_RV f_C_CopyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *new_object)
{
  CK_RV rv = fault_enter(IDX_C_CopyObject, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_CopyObject(session, object, templ, count, new_object);
}

static CK_RV f_C_DestroyObject(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object)
{
  CK_RV rv = fault_enter(IDX_C_DestroyObject, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DestroyObject(session, object);
}

static CK_RV f_C_GetObjectSize(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, unsigned long *size)
{
  CK_RV rv = fault_enter(IDX_C_GetObjectSize, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetObjectSize(session, object, size);
}

static CK_RV f_C_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE *templ, unsigned long count)
{
  CK_RV rv = fault_enter(IDX_C_GetAttributeValue, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetAttributeValue(session, object, templ, count);
}

static CK_RV f_C_SetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE *templ, unsigned long count)
{
  CK_RV rv = fault_enter(IDX_C_SetAttributeValue, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SetAttributeValue(session, object, templ, count);
}

static CK_RV f_C_FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE *templ, unsigned long count)
{
  CK_RV rv = fault_enter(IDX_C_FindObjectsInit, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_FindObjectsInit(session, templ, count);
}

static CK_RV f_C_FindObjects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *object, unsigned long max_object_count, unsigned long *object_count)
{
  CK_RV rv = fault_enter(IDX_C_FindObjects, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_FindObjects(session, object, max_object_count, object_count);
}

static CK_RV f_C_FindObjectsFinal(CK_SESSION_HANDLE session)
{
  CK_RV rv = fault_enter(IDX_C_FindObjectsFinal, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_FindObjectsFinal(session);
}

static CK_RV f_C_EncryptInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
  CK_RV rv = fault_enter(IDX_C_EncryptInit, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_EncryptInit(session, mechanism, key);
}

static CK_RV f_C_Encrypt(CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *encrypted_data, unsigned long *encrypted_data_len)
{
  CK_RV rv = fault_enter(IDX_C_Encrypt, SEL_SESSION, session);
  if (rv != CKR_OK) {
    end_real_op(real->C_Encrypt, session, data, data_len);
    return rv;
  }
  return real->C_Encrypt(session, data, data_len, encrypted_data, encrypted_data_len);
}

static CK_RV f_C_EncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len)
{
  CK_RV rv = fault_enter(IDX_C_EncryptUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_EncryptUpdate(session, part, part_len, encrypted_part, encrypted_part_len);
}

static CK_RV f_C_EncryptFinal(CK_SESSION_HANDLE session, unsigned char *last_encrypted_part, unsigned long *last_encrypted_part_len)
{
  CK_RV rv = fault_enter(IDX_C_EncryptFinal, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_EncryptFinal(session, last_encrypted_part, last_encrypted_part_len);
}

static CK_RV f_C_DecryptInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
  CK_RV rv = fault_enter(IDX_C_DecryptInit, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DecryptInit(session, mechanism, key);
}

static CK_RV f_C_Decrypt(CK_SESSION_HANDLE session, unsigned char *encrypted_data, unsigned long encrypted_data_len, unsigned char *data, unsigned long *data_len)
{
  CK_RV rv = fault_enter(IDX_C_Decrypt, SEL_SESSION, session);
  if (rv != CKR_OK) {
    end_real_op(real->C_Decrypt, session, encrypted_data, encrypted_data_len);
    return rv;
  }
  return real->C_Decrypt(session, encrypted_data, encrypted_data_len, data, data_len);
}

static CK_RV f_C_DecryptUpdate(CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len)
{
  CK_RV rv = fault_enter(IDX_C_DecryptUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DecryptUpdate(session, encrypted_part, encrypted_part_len, part, part_len);
}

static CK_RV f_C_DecryptFinal(CK_SESSION_HANDLE session, unsigned char *last_part, unsigned long *last_part_len)
{
  CK_RV rv = fault_enter(IDX_C_DecryptFinal, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DecryptFinal(session, last_part, last_part_len);
}

static CK_RV f_C_DigestInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism)
{
  CK_RV rv = fault_enter(IDX_C_DigestInit, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DigestInit(session, mechanism);
}

static CK_RV f_C_Digest(CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *digest, unsigned long *digest_len)
{
  CK_RV rv = fault_enter(IDX_C_Digest, SEL_SESSION, session);
  if (rv != CKR_OK) {
    end_real_op(real->C_Digest, session, data, data_len);
    return rv;
  }
  return real->C_Digest(session, data, data_len, digest, digest_len);
}

static CK_RV f_C_DigestUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len)
{
  CK_RV rv = fault_enter(IDX_C_DigestUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DigestUpdate(session, part, part_len);
}

static CK_RV f_C_DigestKey(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key)
{
  CK_RV rv = fault_enter(IDX_C_DigestKey, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DigestKey(session, key);
}

static CK_RV f_C_DigestFinal(CK_SESSION_HANDLE session, unsigned char *digest, unsigned long *digest_len)
{
  CK_RV rv = fault_enter(IDX_C_DigestFinal, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DigestFinal(session, digest, digest_len);
}

static CK_RV f_C_SignInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
  CK_RV rv = fault_enter(IDX_C_SignInit, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SignInit(session, mechanism, key);
}

static CK_RV f_C_Sign(CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long *signature_len)
{
  CK_RV rv = fault_enter(IDX_C_Sign, SEL_SESSION, session);
  if (rv != CKR_OK) {
    end_real_op(real->C_Sign, session, data, data_len);
    return rv;
  }
  return real->C_Sign(session, data, data_len, signature, signature_len);
}

static CK_RV f_C_SignUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len)
{
  CK_RV rv = fault_enter(IDX_C_SignUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SignUpdate(session, part, part_len);
}

static CK_RV f_C_SignFinal(CK_SESSION_HANDLE session, unsigned char *signature, unsigned long *signature_len)
{
  CK_RV rv = fault_enter(IDX_C_SignFinal, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SignFinal(session, signature, signature_len);
}

static CK_RV f_C_SignRecoverInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
  CK_RV rv = fault_enter(IDX_C_SignRecoverInit, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SignRecoverInit(session, mechanism, key);
}

static CK_RV f_C_SignRecover(CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long *signature_len)
{
  CK_RV rv = fault_enter(IDX_C_SignRecover, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SignRecover(session, data, data_len, signature, signature_len);
}

static CK_RV f_C_VerifyInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
  CK_RV rv = fault_enter(IDX_C_VerifyInit, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_VerifyInit(session, mechanism, key);
}

static CK_RV f_C_Verify(CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len, unsigned char *signature, unsigned long signature_len)
{
  CK_RV rv = fault_enter(IDX_C_Verify, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_Verify(session, data, data_len, signature, signature_len);
}

static CK_RV f_C_VerifyUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len)
{
  CK_RV rv = fault_enter(IDX_C_VerifyUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_VerifyUpdate(session, part, part_len);
}

static CK_RV f_C_VerifyFinal(CK_SESSION_HANDLE session, unsigned char *signature, unsigned long signature_len)
{
  CK_RV rv = fault_enter(IDX_C_VerifyFinal, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_VerifyFinal(session, signature, signature_len);
}

static CK_RV f_C_VerifyRecoverInit(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE key)
{
  CK_RV rv = fault_enter(IDX_C_VerifyRecoverInit, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_VerifyRecoverInit(session, mechanism, key);
}

static CK_RV f_C_VerifyRecover(CK_SESSION_HANDLE session, unsigned char *signature, unsigned long signature_len, unsigned char *data, unsigned long *data_len)
{
  CK_RV rv = fault_enter(IDX_C_VerifyRecover, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_VerifyRecover(session, signature, signature_len, data, data_len);
}

static CK_RV f_C_DigestEncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len)
{
  CK_RV rv = fault_enter(IDX_C_DigestEncryptUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DigestEncryptUpdate(session, part, part_len, encrypted_part, encrypted_part_len);
}

static CK_RV f_C_DecryptDigestUpdate(CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len)
{
  CK_RV rv = fault_enter(IDX_C_DecryptDigestUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DecryptDigestUpdate(session, encrypted_part, encrypted_part_len, part, part_len);
}

static CK_RV f_C_SignEncryptUpdate(CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len, unsigned char *encrypted_part, unsigned long *encrypted_part_len)
{
  CK_RV rv = fault_enter(IDX_C_SignEncryptUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SignEncryptUpdate(session, part, part_len, encrypted_part, encrypted_part_len);
}

static CK_RV f_C_DecryptVerifyUpdate(CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, unsigned char *part, unsigned long *part_len)
{
  CK_RV rv = fault_enter(IDX_C_DecryptVerifyUpdate, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DecryptVerifyUpdate(session, encrypted_part, encrypted_part_len, part, part_len);
}

static CK_RV f_C_GenerateKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *key)
{
  CK_RV rv = fault_enter(IDX_C_GenerateKey, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_GenerateKey(session, mechanism, templ, count, key);
}

static CK_RV f_C_GenerateKeyPair(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_ATTRIBUTE *public_key_template, unsigned long public_key_attribute_count, CK_ATTRIBUTE *private_key_template, unsigned long private_key_attribute_count, CK_OBJECT_HANDLE *public_key, CK_OBJECT_HANDLE *private_key)
{
  CK_RV rv = fault_enter(IDX_C_GenerateKeyPair, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_GenerateKeyPair(session, mechanism, public_key_template, public_key_attribute_count, private_key_template, private_key_attribute_count, public_key, private_key);
}

static CK_RV f_C_WrapKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE wrapping_key, CK_OBJECT_HANDLE key, unsigned char *wrapped_key, unsigned long *wrapped_key_len)
{
  CK_RV rv = fault_enter(IDX_C_WrapKey, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_WrapKey(session, mechanism, wrapping_key, key, wrapped_key, wrapped_key_len);
}

static CK_RV f_C_UnwrapKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE unwrapping_key, unsigned char *wrapped_key, unsigned long wrapped_key_len, CK_ATTRIBUTE *templ, unsigned long attribute_count, CK_OBJECT_HANDLE *key)
{
  CK_RV rv = fault_enter(IDX_C_UnwrapKey, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_UnwrapKey(session, mechanism, unwrapping_key, wrapped_key, wrapped_key_len, templ, attribute_count, key);
}

static CK_RV f_C_DeriveKey(CK_SESSION_HANDLE session, CK_MECHANISM *mechanism, CK_OBJECT_HANDLE base_key, CK_ATTRIBUTE *templ, unsigned long attribute_count, CK_OBJECT_HANDLE *key)
{
  CK_RV rv = fault_enter(IDX_C_DeriveKey, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_DeriveKey(session, mechanism, base_key, templ, attribute_count, key);
}

static CK_RV f_C_SeedRandom(CK_SESSION_HANDLE session, unsigned char *seed, unsigned long seed_len)
{
  CK_RV rv = fault_enter(IDX_C_SeedRandom, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_SeedRandom(session, seed, seed_len);
}

static CK_RV f_C_GenerateRandom(CK_SESSION_HANDLE session, unsigned char *random_data, unsigned long random_len)
{
  CK_RV rv = fault_enter(IDX_C_GenerateRandom, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_GenerateRandom(session, random_data, random_len);
}

static CK_RV f_C_GetFunctionStatus(CK_SESSION_HANDLE session)
{
  CK_RV rv = fault_enter(IDX_C_GetFunctionStatus, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_GetFunctionStatus(session);
}

static CK_RV f_C_CancelFunction(CK_SESSION_HANDLE session)
{
  CK_RV rv = fault_enter(IDX_C_CancelFunction, SEL_SESSION, session);
  if (rv != CKR_OK)
    return rv;
  return real->C_CancelFunction(session);
}

static CK_RV f_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID *slot, void *reserved)
{
  CK_RV rv = fault_enter(IDX_C_WaitForSlotEvent, SEL_NONE, 0);
  if (rv != CKR_OK)
    return rv;
  return real->C_WaitForSlotEvent(flags, slot, reserved);
}

static CK_RV f_C_GetFunctionList(CK_FUNCTION_LIST **function_list);

static CK_FUNCTION_LIST fault_list = {
  .version = {CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
  .C_Initialize = f_C_Initialize,
  .C_Finalize = f_C_Finalize,
  .C_GetInfo = f_C_GetInfo,
  .C_GetFunctionList = f_C_GetFunctionList,
  .C_GetSlotList = f_C_GetSlotList,
  .C_GetSlotInfo = f_C_GetSlotInfo,
  .C_GetTokenInfo = f_C_GetTokenInfo,
  .C_GetMechanismList = f_C_GetMechanismList,
  .C_GetMechanismInfo = f_C_GetMechanismInfo,
  .C_InitToken = f_C_InitToken,
  .C_InitPIN = f_C_InitPIN,
  .C_SetPIN = f_C_SetPIN,
  .C_OpenSession = f_C_OpenSession,
  .C_CloseSession = f_C_CloseSession,
  .C_CloseAllSessions = f_C_CloseAllSessions,
  .C_GetSessionInfo = f_C_GetSessionInfo,
  .C_GetOperationState = f_C_GetOperationState,
  .C_SetOperationState = f_C_SetOperationState,
  .C_Login = f_C_Login,
  .C_Logout = f_C_Logout,
  .C_CreateObject = f_C_CreateObject,
  .C_CopyObject = f_C_CopyObject,
  .C_DestroyObject = f_C_DestroyObject,
  .C_GetObjectSize = f_C_GetObjectSize,
  .C_GetAttributeValue = f_C_GetAttributeValue,
  .C_SetAttributeValue = f_C_SetAttributeValue,
  .C_FindObjectsInit = f_C_FindObjectsInit,
  .C_FindObjects = f_C_FindObjects,
  .C_FindObjectsFinal = f_C_FindObjectsFinal,
  .C_EncryptInit = f_C_EncryptInit,
  .C_Encrypt = f_C_Encrypt,
  .C_EncryptUpdate = f_C_EncryptUpdate,
  .C_EncryptFinal = f_C_EncryptFinal,
  .C_DecryptInit = f_C_DecryptInit,
  .C_Decrypt = f_C_Decrypt,
  .C_DecryptUpdate = f_C_DecryptUpdate,
  .C_DecryptFinal = f_C_DecryptFinal,
  .C_DigestInit = f_C_DigestInit,
  .C_Digest = f_C_Digest,
  .C_DigestUpdate = f_C_DigestUpdate,
  .C_DigestKey = f_C_DigestKey,
  .C_DigestFinal = f_C_DigestFinal,
  .C_SignInit = f_C_SignInit,
  .C_Sign = f_C_Sign,
  .C_SignUpdate = f_C_SignUpdate,
  .C_SignFinal = f_C_SignFinal,
  .C_SignRecoverInit = f_C_SignRecoverInit,
  .C_SignRecover = f_C_SignRecover,
  .C_VerifyInit = f_C_VerifyInit,
  .C_Verify = f_C_Verify,
  .C_VerifyUpdate = f_C_VerifyUpdate,
  .C_VerifyFinal = f_C_VerifyFinal,
  .C_VerifyRecoverInit = f_C_VerifyRecoverInit,
  .C_VerifyRecover = f_C_VerifyRecover,
  .C_DigestEncryptUpdate = f_C_DigestEncryptUpdate,
  .C_DecryptDigestUpdate = f_C_DecryptDigestUpdate,
  .C_SignEncryptUpdate = f_C_SignEncryptUpdate,
  .C_DecryptVerifyUpdate = f_C_DecryptVerifyUpdate,
  .C_GenerateKey = f_C_GenerateKey,
  .C_GenerateKeyPair = f_C_GenerateKeyPair,
  .C_WrapKey = f_C_WrapKey,
  .C_UnwrapKey = f_C_UnwrapKey,
  .C_DeriveKey = f_C_DeriveKey,
  .C_SeedRandom = f_C_SeedRandom,
  .C_GenerateRandom = f_C_GenerateRandom,
  .C_GetFunctionStatus = f_C_GetFunctionStatus,
  .C_CancelFunction = f_C_CancelFunction,
  .C_WaitForSlotEvent = f_C_WaitForSlotEvent,
};

static CK_RV f_C_GetFunctionList(CK_FUNCTION_LIST **function_list) {
  return C_GetFunctionList(function_list);
}

KGF_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST **function_list) {
  if (!function_list)
    return CKR_ARGUMENTS_BAD;
  CK_RV rv = fault_enter(IDX_C_GetFunctionList, SEL_NONE, 0);
  if (rv != CKR_OK)
    return rv;
  *function_list = &fault_list;
  return CKR_OK;
}
