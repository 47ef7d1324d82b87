/* libFuzzer target: ciphertext parsing in kg_kms_decrypt.
 *
 * Ciphertexts come from clients and are parsed before anything is
 * authenticated:
 *   "KGC1" | id_len (1) | key id | version (4, big-endian) | iv (12) | ct | tag (16)
 * (docs/kms.md). Every length and field in that header is attacker data, so
 * the parser must reject any byte string with a clean error and never read
 * out of bounds, overflow, leak or crash.
 *
 * Set-up (once, LLVMFuzzerInitialize): a real KMS on a SQLite store in a
 * mkdtemp directory, initialised with one share, unsealed with it, with one
 * AES_256 key, and one real ciphertext of a known plaintext, which must
 * decrypt (else the harness itself is broken and would fuzz nothing).
 *
 * Each input is decrypted twice as the system caller:
 *   1. as the whole ciphertext, which exercises the header parser;
 *   2. spliced behind a valid header prefix "KGC1" | id_len | <our key id>,
 *      so the fuzzer controls version, iv, body and tag of a ciphertext whose
 *      key exists: this reaches the version lookup and AES-GCM paths, which a
 *      random key id never would.
 * Neither may return KG_OK unless its bytes are exactly the real ciphertext
 * made at set-up (forging a GCM tag is not something a fuzzer does), in
 * which case the plaintext must be the known one; anything else aborts.
 *
 * The temp directory is removed at exit. Build:
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DKG_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_ciphertext
 *   build-fuzz/fuzz_ciphertext fuzz/corpus/fuzz_ciphertext -max_total_time=60 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kashguard/kms.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SPLICE 4096

static const uint8_t known_pt[] = "fuzz_ciphertext known plaintext";

static struct {
    char dir[64];
    kg_store *st;
    kg_kms *kms;
    kg_kms_caller *sys;
    char *key_id;
    kg_bytes real_ct;    /* the one valid ciphertext */
    uint8_t prefix[4 + 1 + 255];
    size_t prefix_len;
} fz;

static void die(const char *what, kg_err e)
{
    fprintf(stderr, "fuzz_ciphertext set-up: %s: %s (%s)\n", what, kg_err_code(e), kg_err_detail(e));
    abort();
}

static void fuzz_cleanup(void)
{
    kg_bytes_free(&fz.real_ct);
    free(fz.key_id);
    kg_kms_caller_free(fz.sys);
    kg_kms_close(fz.kms);
    kg_store_close(fz.st);
    DIR *d = opendir(fz.dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char path[512];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", fz.dir, de->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(fz.dir);
}

/* Open the store and KMS in a fresh temp dir, init with one share, unseal. */
static void setup_kms(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fz.dir, sizeof(fz.dir), "%s/kg-fuzz-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(fz.dir) == NULL)
        die("mkdtemp", KG_ERR_IO);
    char db[128];
    snprintf(db, sizeof(db), "%s/kashguard.db", fz.dir);
    kg_err e = kg_store_open(&fz.st, db);
    if (e != KG_OK)
        die("kg_store_open", e);
    kg_kms_config cfg;
    kg_kms_config_default(&cfg);
    cfg.data_dir = fz.dir;
    cfg.audit_fsync = false; /* speed; durability is not what is fuzzed */
    if ((e = kg_kms_open(&fz.kms, fz.st, &cfg)) != KG_OK)
        die("kg_kms_open", e);
    atexit(fuzz_cleanup);
    json_t *init = NULL, *status = NULL;
    if ((e = kg_kms_init(fz.kms, &init, 1, 1)) != KG_OK)
        die("kg_kms_init", e);
    const char *share = json_string_value(json_array_get(json_object_get(init, "unseal_keys"), 0));
    if (share == NULL)
        die("kg_kms_init output has no unseal_keys[0]", KG_ERR_INTERNAL);
    if ((e = kg_kms_unseal(fz.kms, &status, share)) != KG_OK)
        die("kg_kms_unseal", e);
    json_decref(status);
    json_decref(init);
    fz.sys = kg_kms_caller_system();
    if (fz.sys == NULL)
        die("kg_kms_caller_system", KG_ERR_NOMEM);
}

/* One AES_256 key, a real ciphertext under it, and the splice prefix. */
static void setup_key(void)
{
    json_t *req = json_pack("{s:s}", "spec", "AES_256"), *meta = NULL, *info = NULL;
    kg_err e = kg_kms_key_create(fz.kms, fz.sys, &meta, req);
    if (e != KG_OK)
        die("kg_kms_key_create", e);
    const char *id = json_string_value(json_object_get(meta, "key_id"));
    size_t id_len = id ? strlen(id) : 0;
    if (id_len == 0 || id_len > 255)
        die("key metadata has no usable key_id", KG_ERR_INTERNAL);
    fz.key_id = strdup(id);
    memcpy(fz.prefix, "KGC1", 4);
    fz.prefix[4] = (uint8_t)id_len;
    memcpy(fz.prefix + 5, id, id_len);
    fz.prefix_len = 5 + id_len;
    json_decref(meta);
    json_decref(req);
    e = kg_kms_encrypt(fz.kms, fz.sys, &fz.real_ct, &info, fz.key_id, NULL, known_pt, sizeof(known_pt));
    if (e != KG_OK)
        die("kg_kms_encrypt", e);
    json_decref(info);
}

/* Decrypt ct; abort if it succeeds on anything but the real ciphertext. */
static void check_decrypt(const uint8_t *ct, size_t ct_len)
{
    kg_secret *pt = NULL;
    json_t *info = NULL;
    kg_err e = kg_kms_decrypt(fz.kms, fz.sys, &pt, &info, NULL, NULL, ct, ct_len);
    if (e == KG_OK) {
        bool real = ct_len == fz.real_ct.len && memcmp(ct, fz.real_ct.data, ct_len) == 0;
        bool same = pt != NULL && kg_secret_len(pt) == sizeof(known_pt) &&
                    memcmp(kg_secret_cdata(pt), known_pt, sizeof(known_pt)) == 0;
        if (!real || !same) {
            fprintf(stderr, "kg_kms_decrypt accepted a ciphertext that was never made\n");
            abort();
        }
    } else if (pt != NULL || info != NULL) {
        fprintf(stderr, "kg_kms_decrypt failed (%s) but left an output set\n", kg_err_code(e));
        abort();
    }
    kg_secret_free(pt);
    json_decref(info);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    kg_err e = kg_crypto_init();
    if (e != KG_OK)
        die("kg_crypto_init", e);
    kg_log_set_level(KG_LOG_ERROR);
    setup_kms();
    setup_key();
    check_decrypt(fz.real_ct.data, fz.real_ct.len);
    kg_secret *pt = NULL;
    json_t *info = NULL;
    if (kg_kms_decrypt(fz.kms, fz.sys, &pt, &info, NULL, NULL, fz.real_ct.data, fz.real_ct.len) != KG_OK)
        die("the real ciphertext does not decrypt", KG_ERR_INTERNAL);
    kg_secret_free(pt);
    json_decref(info);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decrypt(data, size);
    if (size <= MAX_SPLICE) {
        uint8_t buf[sizeof(fz.prefix) + MAX_SPLICE];
        memcpy(buf, fz.prefix, fz.prefix_len);
        if (size > 0)
            memcpy(buf + fz.prefix_len, data, size);
        check_decrypt(buf, fz.prefix_len + size);
    }
    kg_err_clear();
    return 0;
}
