/*
 * Check for kg_pkcs11_fault (CTest hsm/test_fault): loads the module with
 * dlopen over a private SoftHSM2 token and proves pass-through, fail, delay,
 * hang, "after N", "slot S" and '*' rules. Exits 77 (skip) without SoftHSM2.
 *
 *   kg_pkcs11_fault_check /path/to/libkg_pkcs11_fault.so
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dlfcn.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

static char dir[256];
static char control[300];
static int failures;

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
      failures++;                                                           \
    }                                                                       \
  } while (0)
#define CHECK_RV(expr, want)                                                \
  do {                                                                      \
    CK_RV got_ = (expr);                                                    \
    if (got_ != (CK_RV)(want)) {                                            \
      fprintf(stderr, "FAIL %s:%d: %s = 0x%lx, want 0x%lx\n", __FILE__,     \
              __LINE__, #expr, (unsigned long)got_, (unsigned long)(want)); \
      failures++;                                                           \
    }                                                                       \
  } while (0)

/* Replace the control file atomically (temp + rename: a new inode, so the
 * module always sees the change even within one mtime tick). */
static void set_rules(const char *text) {
  char tmp[320];
  snprintf(tmp, sizeof tmp, "%s.tmp", control);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    perror(tmp);
    exit(1);
  }
  fputs(text, f);
  fclose(f);
  if (rename(tmp, control) != 0) {
    perror("rename");
    exit(1);
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(p);
}

static void cleanup(void) {
  if (dir[0])
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int run(char *const argv[]) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout))
      _exit(126);
    execvp(argv[0], argv);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) < 0)
    return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct hang_arg {
  CK_FUNCTION_LIST *p11;
  CK_SESSION_HANDLE s;
  CK_RV rv;
  atomic_int done;
};

static void *hang_thread(void *p) {
  struct hang_arg *a = p;
  unsigned char buf[16];
  a->rv = a->p11->C_GenerateRandom(a->s, buf, sizeof buf);
  atomic_store(&a->done, 1);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s libkg_pkcs11_fault.so\n", argv[0]);
    return 2;
  }
  const char *softhsm = getenv("KG_SOFTHSM_MODULE");
  if (!softhsm || !*softhsm)
    softhsm = "/usr/lib/softhsm/libsofthsm2.so";
  if (access(softhsm, R_OK) != 0) {
    printf("SKIP: SoftHSM2 module %s not found\n", softhsm);
    return 77;
  }

  const char *tmpdir = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/kg-p11-fault-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  atexit(cleanup);
  char tokens[300], conf[300];
  snprintf(tokens, sizeof tokens, "%s/tokens", dir);
  snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
  snprintf(control, sizeof control, "%s/faults", dir);
  if (mkdir(tokens, 0700) != 0) {
    perror("mkdir");
    return 1;
  }
  FILE *f = fopen(conf, "w");
  if (!f)
    return 1;
  fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens);
  fclose(f);
  setenv("SOFTHSM2_CONF", conf, 1);
  char *init[] = {"softhsm2-util", "--init-token", "--free", "--label", "f",
                  "--pin", "1234", "--so-pin", "5678", NULL};
  int rc = run(init);
  if (rc == 127) {
    printf("SKIP: softhsm2-util not found\n");
    return 77;
  }
  if (rc != 0) {
    fprintf(stderr, "softhsm2-util --init-token failed (%d)\n", rc);
    return 1;
  }

  setenv("KG_P11_FAULT_MODULE", softhsm, 1);
  setenv("KG_P11_FAULT_CONTROL", control, 1);
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  CK_C_GetFunctionList get;
  *(void **)&get = dlsym(h, "C_GetFunctionList");
  if (!get) {
    fprintf(stderr, "no C_GetFunctionList\n");
    return 1;
  }
  CK_FUNCTION_LIST *p11 = NULL;
  CK_RV rv = get(&p11);
  if (rv != CKR_OK || !p11) {
    fprintf(stderr, "C_GetFunctionList = 0x%lx\n", (unsigned long)rv);
    return 1;
  }

  /* Pass-through (no control file yet). */
  CK_C_INITIALIZE_ARGS ia = {.flags = CKF_OS_LOCKING_OK};
  CHECK_RV(p11->C_Initialize(&ia), CKR_OK);
  CK_SLOT_ID slots[8];
  CK_ULONG n = 8;
  CHECK_RV(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
  if (failures || n < 1) {
    fprintf(stderr, "no initialized token\n");
    return 1;
  }
  CK_SLOT_ID slot = slots[0];
  CK_SESSION_HANDLE s = 0;
  CHECK_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s), CKR_OK);
  CHECK_RV(p11->C_Login(s, CKU_USER, (unsigned char *)"1234", 4), CKR_OK);
  CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
  CK_ULONG klen = 32;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &klen, sizeof klen},
                         {CKA_ENCRYPT, &yes, sizeof yes}};
  CK_OBJECT_HANDLE key = 0;
  CHECK_RV(p11->C_GenerateKey(s, &gen, tmpl, 2, &key), CKR_OK);
  unsigned char iv[16] = {0}, pt[32] = "kashguard fault injection test!", ct[64];
  CK_MECHANISM enc = {CKM_AES_CBC_PAD, iv, sizeof iv};
  CK_ULONG ctlen = sizeof ct;
  CHECK_RV(p11->C_EncryptInit(s, &enc, key), CKR_OK);
  CHECK_RV(p11->C_Encrypt(s, pt, sizeof pt, ct, &ctlen), CKR_OK);
  CHECK(ctlen == 48);

  /* fail: C_Encrypt returns the code, and like a failing device it ends the
   * operation (PKCS#11 5.2), so the next call needs a new C_EncryptInit ... */
  set_rules("# comment\nC_Encrypt fail CKR_DEVICE_ERROR\n");
  CHECK_RV(p11->C_EncryptInit(s, &enc, key), CKR_OK);
  ctlen = sizeof ct;
  CHECK_RV(p11->C_Encrypt(s, pt, sizeof pt, ct, &ctlen), CKR_DEVICE_ERROR);
  unsigned char rnd[16];
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_OK);
  set_rules("");
  ctlen = sizeof ct;
  CHECK_RV(p11->C_Encrypt(s, pt, sizeof pt, ct, &ctlen), CKR_OPERATION_NOT_INITIALIZED);
  /* ... and removing the rule restores it. */
  CHECK_RV(p11->C_EncryptInit(s, &enc, key), CKR_OK);
  CHECK_RV(p11->C_Encrypt(s, pt, sizeof pt, ct, &ctlen), CKR_OK);
  CHECK(ctlen == 48);
  set_rules("C_Encrypt fail 0x30\n");
  CHECK_RV(p11->C_EncryptInit(s, &enc, key), CKR_OK);
  CHECK_RV(p11->C_Encrypt(s, pt, sizeof pt, ct, &ctlen), CKR_DEVICE_ERROR);
  unlink(control); /* a missing file is pass-through */
  ctlen = sizeof ct;
  CHECK_RV(p11->C_EncryptInit(s, &enc, key), CKR_OK);
  CHECK_RV(p11->C_Encrypt(s, pt, sizeof pt, ct, &ctlen), CKR_OK);

  /* delay: a lower bound only. */
  set_rules("C_GenerateRandom delay 300\n");
  double t0 = now_ms();
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_OK);
  CHECK(now_ms() - t0 >= 300.0);

  /* after N: from the N-th call since the file changed. */
  set_rules("C_GenerateRandom fail CKR_DEVICE_MEMORY after 3\n");
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_OK);
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_OK);
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_DEVICE_MEMORY);
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_DEVICE_MEMORY);

  /* slot S: session functions through the session's slot. */
  char buf[200];
  snprintf(buf, sizeof buf, "C_GenerateRandom fail CKR_DEVICE_ERROR slot %lu\n",
           (unsigned long)slot + 1);
  set_rules(buf);
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_OK);
  snprintf(buf, sizeof buf, "C_GetTokenInfo fail CKR_TOKEN_NOT_PRESENT slot %lu\n"
           "C_GenerateRandom fail CKR_DEVICE_ERROR slot %lu\n",
           (unsigned long)slot, (unsigned long)slot);
  set_rules(buf);
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_DEVICE_ERROR);
  CK_TOKEN_INFO ti;
  CHECK_RV(p11->C_GetTokenInfo(slot, &ti), CKR_TOKEN_NOT_PRESENT);

  /* hang: blocks until another thread removes the rule. */
  set_rules("C_GenerateRandom hang\n");
  struct hang_arg ha = {.p11 = p11, .s = s, .rv = CKR_GENERAL_ERROR};
  pthread_t th;
  t0 = now_ms();
  if (pthread_create(&th, NULL, hang_thread, &ha) != 0)
    return 1;
  struct timespec wait = {0, 400 * 1000000L};
  nanosleep(&wait, NULL);
  CHECK(atomic_load(&ha.done) == 0);
  set_rules("");
  pthread_join(th, NULL);
  CHECK(atomic_load(&ha.done) == 1);
  CHECK_RV(ha.rv, CKR_OK);
  CHECK(now_ms() - t0 >= 400.0);

  /* '*': everything fails, except C_GetFunctionList and C_Finalize. */
  set_rules("* fail CKR_DEVICE_REMOVED\n");
  CK_INFO info;
  CHECK_RV(p11->C_GetInfo(&info), CKR_DEVICE_REMOVED);
  n = 8;
  CHECK_RV(p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_DEVICE_REMOVED);
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_DEVICE_REMOVED);
  CHECK_RV(p11->C_EncryptInit(s, &enc, key), CKR_DEVICE_REMOVED);
  CK_SESSION_HANDLE s2 = 0;
  CHECK_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_DEVICE_REMOVED);
  CK_FUNCTION_LIST *again = NULL;
  CHECK_RV(get(&again), CKR_OK);
  CHECK(again == p11);
  set_rules("");
  CHECK_RV(p11->C_GetInfo(&info), CKR_OK);
  CHECK_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_OK);

  set_rules("* fail CKR_DEVICE_REMOVED\n");
  CHECK_RV(p11->C_Logout(s), CKR_DEVICE_REMOVED);
  set_rules("");
  CHECK_RV(p11->C_Logout(s), CKR_OK);
  CHECK_RV(p11->C_CloseSession(s), CKR_OK);
  set_rules("* fail CKR_DEVICE_REMOVED\n");
  CHECK_RV(p11->C_Finalize(NULL), CKR_OK);

  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("kg_pkcs11_fault: all checks passed\n");
  return 0;
}
