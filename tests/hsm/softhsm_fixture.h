/* SoftHSM2 tokens for the HSM suites: a private temp dir with its own
 * softhsm2.conf (SOFTHSM2_CONF points at it) and N tokens initialised by
 * softhsm2-util, removed again at the end, so no suite sees another's
 * tokens or the machine's. SoftHSM2 stays mapped for the whole run: its
 * known leaks (OpenSSL memory in C_SignInit for EdDSA) are then reported
 * under its name, which SOFTHSM_FX_LSAN_HOOKS suppresses while leaks of
 * ours still fail the sanitizer build.
 * Everything is static inline so a suite may use any subset. */
#ifndef KG_TEST_HSM_SOFTHSM_FIXTURE_H
#define KG_TEST_HSM_SOFTHSM_FIXTURE_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw */
/* Verify an HSM signature with OpenSSL, independently of the client, on the
 * key's SubjectPublicKeyInfo: ECDSA with SHA-256 (DER), RSA-PSS SHA-256 with
 * MGF1-SHA-256 and a 32-byte salt, pure Ed25519. 1 = valid, 0 = invalid,
 * -1 = the key or the verifier could not be set up. */
static inline int softhsm_fx_ossl_verify(const uint8_t *spki, size_t spki_len, kg_hsm_key_type type,
                                         const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len)
{
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = -1;
    if (pk && md && EVP_DigestVerifyInit(md, &pc, type == KG_HSM_KEY_ED25519 ? NULL : EVP_sha256(), NULL, pk) == 1 &&
        (type != KG_HSM_KEY_RSA3072 ||
         (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) == 1)))
        ok = EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1 ? 1 : 0;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return ok;
}

#endif

#include <dlfcn.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "kashguard/hsm.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define SOFTHSM_FX_PIN "1234"
#define SOFTHSM_FX_SO_PIN "5678"

/* Define the sanitizer hooks once per suite (they must be extern):
 * SoftHSM2's leaks plus extra, more "leak:<lib>\n" lines or "". */
#define SOFTHSM_FX_LSAN_HOOKS(extra)                                                            \
    const char *__lsan_default_suppressions(void);                                              \
    const char *__lsan_default_suppressions(void) { return "leak:libsofthsm2.so\n" extra; }     \
    const char *__asan_default_options(void);                                                   \
    const char *__asan_default_options(void) { return "fast_unwind_on_malloc=0"; }

typedef struct {
    char dir[64];   /* the temp dir: softhsm2.conf and tokens/ */
    char conf[128]; /* dir/softhsm2.conf */
} softhsm_fx;

/* Whether SoftHSM2 and softhsm2-util are installed; says so when not
 * (main then returns 77, skip). */
static inline bool softhsm_fx_available(void)
{
    if (access(SOFTHSM, R_OK) == 0 && system("command -v softhsm2-util >/dev/null 2>&1") == 0)
        return true;
    printf("skip: SoftHSM2 (%s, softhsm2-util) is not installed\n", SOFTHSM);
    return false;
}

/* SoftHSM2's dlopen handle, mapped on first use and never closed (see the
 * top of this file); also for tests that call its C_GetFunctionList. */
static inline void *softhsm_fx_lib(void)
{
    static void *lib;
    if (!lib)
        lib = dlopen(SOFTHSM, RTLD_NOW | RTLD_LOCAL);
    return lib;
}

/* A fresh temp dir /tmp/<name>-XXXXXX with an empty token dir and a
 * softhsm2.conf that SOFTHSM2_CONF now names. 0, or -1. */
static inline int softhsm_fx_init(softhsm_fx *shm, const char *name)
{
    snprintf(shm->dir, sizeof(shm->dir), "/tmp/%s-XXXXXX", name);
    if (!mkdtemp(shm->dir))
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/tokens", shm->dir);
    if (mkdir(path, 0700) != 0)
        return -1;
    snprintf(shm->conf, sizeof(shm->conf), "%s/softhsm2.conf", shm->dir);
    FILE *f = fopen(shm->conf, "w");
    if (!f)
        return -1;
    fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", shm->dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", shm->conf, 1);
    return softhsm_fx_lib() ? 0 : -1;
}

/* Initialise a token labelled label with user PIN pin (SO PIN 5678) in
 * the first free slot. 0, or -1. */
static inline int softhsm_fx_add_token(const char *label, const char *pin)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "softhsm2-util --init-token --free --label %s --pin %s --so-pin %s >/dev/null",
             label, pin, SOFTHSM_FX_SO_PIN);
    return system(cmd) == 0 ? 0 : -1;
}

/* softhsm_fx_init plus n tokens labels[i], all with PIN 1234. 0, or -1. */
static inline int softhsm_fx_setup(softhsm_fx *shm, const char *name, const char *const *labels, size_t n)
{
    if (softhsm_fx_init(shm, name) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (softhsm_fx_add_token(labels[i], SOFTHSM_FX_PIN) != 0)
            return -1;
    return 0;
}

static inline int softhsm_fx_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* Remove the temp dir with the tokens in it. */
static inline void softhsm_fx_teardown(softhsm_fx *shm)
{
    if (shm->dir[0])
        nftw(shm->dir, softhsm_fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    shm->dir[0] = '\0';
}

/* Replace the rules of the fault-injecting module (tests/hsm/fault) in the
 * file control: written aside and renamed, so the module never reads half
 * a file. 0, or -1. */
static inline int softhsm_fx_fault_rules(const char *control, const char *rules)
{
    char tmp[256];
    snprintf(tmp, sizeof(tmp), "%s.new", control);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fputs(rules, f);
    fclose(f);
    return rename(tmp, control) == 0 ? 0 : -1;
}

/* Make the fault module wrap SoftHSM2 with no rules yet, its control file
 * (path into control) in the temp dir. 0, or -1. */
static inline int softhsm_fx_fault_init(const softhsm_fx *shm, char *control, size_t cap)
{
    snprintf(control, cap, "%s/faults", shm->dir);
    setenv("KG_P11_FAULT_MODULE", SOFTHSM, 1);
    setenv("KG_P11_FAULT_CONTROL", control, 1);
    return softhsm_fx_fault_rules(control, "");
}

/* s as a kg_secret (PINs are kg_secrets everywhere in the client). */
static inline kg_secret *softhsm_fx_pin(const char *s)
{
    return kg_secret_from((const uint8_t *)s, strlen(s));
}

/* Verify an HSM signature with OpenSSL, independently of the client, on the
 * key's SubjectPublicKeyInfo: ECDSA with SHA-256 (DER), RSA-PSS SHA-256 with
 * MGF1-SHA-256 and a 32-byte salt, pure Ed25519. 1 = valid, 0 = invalid,
 * -1 = the key or the verifier could not be set up. */
static inline int softhsm_fx_ossl_verify(const uint8_t *spki, size_t spki_len, kg_hsm_key_type type,
                                         const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len)
{
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = -1;
    if (pk && md && EVP_DigestVerifyInit(md, &pc, type == KG_HSM_KEY_ED25519 ? NULL : EVP_sha256(), NULL, pk) == 1 &&
        (type != KG_HSM_KEY_RSA3072 ||
         (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha256()) == 1)))
        ok = EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1 ? 1 : 0;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return ok;
}

#endif
