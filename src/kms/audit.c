/* The KMS side of the audit log: opening it in the data dir, the sealed
 * signing key, the store's copy of the latest checkpoint, the HMAC of
 * identifying values, reading entries back and verifying a data dir.
 *
 * The chain and group commit live in audit_log.c, verification in
 * audit_verify.c; neither needs the seal. Here:
 *   - init makes an Ed25519 key; its seed is sealed under the root key
 *     (AES-256-GCM, blob iv||ct||tag, AAD "audit-key": the kms_seal_encrypt
 *     format, done here because init runs while the KMS is still sealed) and
 *     stored with the public key at audit/key;
 *   - unseal loads the seed into the log, seal and close write a final
 *     checkpoint and wipe it, so checkpoints are only written while unsealed;
 *   - every checkpoint, once durable in the file, is also put at
 *     audit/checkpoint (under store_mu, never going backwards), so verify can
 *     tell a log cut short from a complete one;
 *   - HMACs use a key derived from the root key ("audit-hmac"), so the same
 *     accessor or alias always maps to the same value and an operator can
 *     search for it (POST /v1/audit/hash). While sealed there is no such key:
 *     a salted SHA-256 ("sealed:sha256:…", salt random per process) still
 *     keeps raw identifiers out of the log. */
#include "audit_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUDIT_KEY_LABEL "audit-key"
#define READ_LIMIT_DEFAULT 100
#define READ_LIMIT_MAX 1000

/* ----------------------------------------------------------- checkpoints */

static void store_checkpoint(kg_kms *kms, json_t *cp)
{
    if (cp == NULL)
        return;
    kms_audit *a = kms->audit;
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(cp, "seq"));
    pthread_mutex_lock(&a->store_mu);
    if (seq > a->stored_ckpt_seq) {
        if (kg_store_put_json(kms->st, NULL, "audit/checkpoint", cp) == KG_OK)
            a->stored_ckpt_seq = seq;
        else
            kg_log(KG_LOG_ERROR, "could not store the latest audit checkpoint",
                   "detail", kg_err_detail(KG_ERR_STORE), NULL);
    }
    pthread_mutex_unlock(&a->store_mu);
    json_decref(cp);
}

static void checkpoint_now(kg_kms *kms, int64_t min_interval)
{
    json_t *cp = NULL;
    if (kms->audit != NULL && audit_log_checkpoint(kms->audit, &cp, min_interval) == KG_OK)
        store_checkpoint(kms, cp);
}

/* Compare the store's checkpoint with the file we continue: a log shorter
 * than what the store saw was cut; say so loudly (verify will fail). */
static void check_against_store(kg_kms *kms)
{
    json_t *cp = NULL;
    if (kg_store_get_json(kms->st, NULL, &cp, "audit/checkpoint") != KG_OK)
        return;
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(cp, "seq"));
    kms->audit->stored_ckpt_seq = seq;
    if (seq > kms->audit->seq) {
        char a[24], b[24];
        snprintf(a, sizeof(a), "%llu", (unsigned long long)kms->audit->seq);
        snprintf(b, sizeof(b), "%llu", (unsigned long long)seq);
        kg_log(KG_LOG_ERROR, "the audit log is shorter than the store's latest checkpoint: it was truncated "
               "or replaced; run `kashguard audit verify` on the data dir", "log_seq", a, "checkpoint_seq", b, NULL);
    }
    json_decref(cp);
}

kg_err kms_audit_open(kg_kms *kms)
{
    KG_ARG_CHECK(kms != NULL && kms->data_dir != NULL);
    size_t n = strlen(kms->data_dir) + sizeof("/audit.log");
    char *path = malloc(n);
    if (path == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory opening the audit log");
    snprintf(path, n, "%s/audit.log", kms->data_dir);
    kg_err e = audit_log_open(&kms->audit, path, kms->cfg.audit_fsync, kms->cfg.audit_checkpoint_every);
    free(path);
    if (e == KG_OK)
        check_against_store(kms);
    return e;
}

void kms_audit_close(kg_kms *kms)
{
    if (kms == NULL || kms->audit == NULL)
        return;
    checkpoint_now(kms, 0);
    audit_log_close(kms->audit);
    kms->audit = NULL;
}

void kms_audit_tick(kg_kms *kms)
{
    checkpoint_now(kms, KMS_AUDIT_CKPT_INTERVAL);
}

void kms_audit_on_seal(kg_kms *kms)
{
    if (kms->audit == NULL)
        return;
    checkpoint_now(kms, 0);
    audit_log_clear_key(kms->audit);
}

void kms_audit_on_unseal(kg_kms *kms)
{
    if (kms->audit == NULL)
        return;
    json_t *rec = NULL;
    kg_bytes enc = { 0 };
    kg_secret *seed = NULL;
    kg_err e = kg_store_get_json(kms->st, NULL, &rec, "audit/key");
    if (e == KG_OK)
        e = kg_json_get_b64(&enc, rec, "private_key_enc", true, 256);
    if (e == KG_OK)
        e = kms_seal_decrypt(kms, &seed, AUDIT_KEY_LABEL, enc.data, enc.len);
    if (e == KG_OK && kg_secret_len(seed) != 32)
        e = kg_err_set(KG_ERR_CRYPTO, "the stored audit key has the wrong size");
    if (e == KG_OK)
        e = audit_log_set_key(kms->audit, seed);
    if (e != KG_OK)
        kg_log(KG_LOG_ERROR, "could not load the audit signing key; no checkpoints will be written",
               "detail", kg_err_detail(e), NULL);
    kg_secret_free(seed);
    kg_bytes_free(&enc);
    json_decref(rec);
}

/* Seal the seed under the root key in the kms_seal_encrypt format. */
static kg_err seal_seed(kg_bytes *out, const kg_secret *root_key, const kg_secret *seed)
{
    size_t len = KG_GCM_IV_BYTES + 32 + KG_GCM_TAG_BYTES;
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory sealing the audit key");
    kg_err e = kg_crypto_random(buf, KG_GCM_IV_BYTES);
    if (e == KG_OK)
        e = kg_crypto_aes256gcm_encrypt(buf + KG_GCM_IV_BYTES, buf + KG_GCM_IV_BYTES + 32, KG_GCM_TAG_BYTES,
                                        kg_secret_cdata(root_key), buf, KG_GCM_IV_BYTES,
                                        (const uint8_t *)AUDIT_KEY_LABEL, strlen(AUDIT_KEY_LABEL),
                                        kg_secret_cdata(seed), 32);
    if (e != KG_OK) {
        free(buf);
        return e;
    }
    out->data = buf;
    out->len = len;
    return KG_OK;
}

kg_err kms_audit_init_keys(kg_kms *kms, kg_store_txn *txn, const kg_secret *root_key, json_t *init_out)
{
    KG_ARG_CHECK(kms != NULL && txn != NULL && root_key != NULL && kg_secret_len(root_key) == 32 &&
                 init_out != NULL);
    kg_secret *seed = NULL;
    kg_bytes spki = { 0 }, raw = { 0 }, enc = { 0 };
    json_t *rec = NULL;
    kg_err e = kg_crypto_keygen(&seed, KG_CRYPTO_ED25519);
    if (e == KG_OK)
        e = kg_crypto_pub_from_priv(&spki, KG_CRYPTO_ED25519, seed);
    if (e == KG_OK)
        e = kg_crypto_pub_raw(&raw, KG_CRYPTO_ED25519, spki.data, spki.len);
    if (e == KG_OK)
        e = seal_seed(&enc, root_key, seed);
    if (e == KG_OK) {
        rec = json_pack("{s:o, s:o, s:I}", "public_key", kg_json_b64(raw.data, raw.len),
                        "private_key_enc", kg_json_b64(enc.data, enc.len), "created_at", (json_int_t)kg_now());
        e = rec ? kg_store_create_json(kms->st, txn, "audit/key", rec) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    if (e == KG_OK && json_object_set(init_out, "audit_public_key", json_object_get(rec, "public_key")) != 0)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    json_decref(rec);
    kg_secret_free(seed);
    kg_bytes_free(&spki);
    kg_bytes_free(&raw);
    kg_bytes_free(&enc);
    return e;
}

/* ---------------------------------------------------------------- append */

static kg_err append(kg_kms *kms, json_t *entry, bool wait)
{
    KG_ARG_CHECK(kms != NULL && entry != NULL);
    if (kms->audit == NULL)
        return kg_err_set(KG_ERR_AUDIT, "the audit log is not open");
    json_t *cp = NULL;
    kg_err e = wait ? audit_log_append(kms->audit, entry, &cp) : audit_log_enqueue(kms->audit, entry, &cp);
    store_checkpoint(kms, cp);
    return e;
}

kg_err kg_kms_audit_append(kg_kms *kms, json_t *entry)
{
    return append(kms, entry, true);
}

kg_err kg_kms_audit_enqueue(kg_kms *kms, json_t *entry)
{
    return append(kms, entry, false);
}

/* ------------------------------------------------------------------ HMAC */

static uint8_t sealed_salt[32];
static pthread_once_t sealed_salt_once = PTHREAD_ONCE_INIT;

static void sealed_salt_init(void)
{
    if (kg_crypto_random(sealed_salt, sizeof(sealed_salt)) != KG_OK)
        abort(); /* no randomness at all: nothing else would work either */
}

char *kg_kms_audit_hmac(kg_kms *kms, const char *value)
{
    if (kms == NULL || value == NULL) {
        kg_illegal("kg_kms_audit_hmac: kms != NULL && value != NULL");
        return NULL;
    }
    uint8_t mac[32];
    bool keyed = false;
    /* Take the lock directly (not kms_rdlock_unsealed): being sealed is a
     * normal case here and must not overwrite the thread's error detail.
     * The key is HKDF(root key, "audit-hmac"), derived once at unseal. */
    pthread_rwlock_rdlock(&kms->seal_lock);
    if (kms->audit_hmac_key != NULL)
        keyed = kg_crypto_hmac_sha256(mac, kg_secret_cdata(kms->audit_hmac_key), 32,
                                      (const uint8_t *)value, strlen(value)) == KG_OK;
    pthread_rwlock_unlock(&kms->seal_lock);
    const char *prefix = "hmac-sha256:";
    if (!keyed) {
        pthread_once(&sealed_salt_once, sealed_salt_init);
        kg_crypto_sha256_ctx ctx;
        kg_crypto_sha256_init(&ctx);
        kg_crypto_sha256_update(&ctx, sealed_salt, sizeof(sealed_salt));
        kg_crypto_sha256_update(&ctx, (const uint8_t *)value, strlen(value));
        kg_crypto_sha256_final(mac, &ctx);
        prefix = "sealed:sha256:";
    }
    size_t pl = strlen(prefix);
    char *out = malloc(pl + 65);
    if (out != NULL) {
        memcpy(out, prefix, pl);
        kg_hex_encode(out + pl, mac, sizeof(mac));
    }
    return out;
}

/* ------------------------------------------------------------------ read */

typedef struct {
    uint64_t after;
    size_t limit;
    json_t *entries; /* ring of the last `limit` (after == 0) or the first `limit` after `after` */
} read_state;

static bool read_line(read_state *r, const char *buf, size_t len)
{
    json_t *j = json_loadb(buf, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return true; /* the reader shows the log; verify judges it */
    }
    uint64_t seq = (uint64_t)json_integer_value(json_object_get(j, "seq"));
    if (r->after > 0 && seq <= r->after) {
        json_decref(j);
        return true;
    }
    json_array_append_new(r->entries, j);
    if (r->after == 0 && json_array_size(r->entries) > r->limit)
        json_array_remove(r->entries, 0);
    return r->after == 0 || json_array_size(r->entries) < r->limit;
}

static kg_err read_file(kg_kms *kms, read_state *r)
{
    const char *path = kms->audit->path;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return kg_err_set(KG_ERR_IO, "cannot open the audit log %s", path);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&buf, &cap, f)) > 0) {
        if (buf[n - 1] != '\n')
            break; /* a batch being written right now */
        if (!read_line(r, buf, (size_t)n - 1))
            break;
    }
    free(buf);
    bool err = ferror(f);
    fclose(f);
    return err ? kg_err_set(KG_ERR_IO, "error reading the audit log %s", path) : KG_OK;
}

kg_err kg_kms_audit_read(kg_kms *kms, const kg_kms_caller *who, json_t **out, uint64_t after, size_t limit)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    if (limit > READ_LIMIT_MAX)
        return kg_err_set(KG_ERR_BAD_INPUT, "limit must be between 1 and %d", READ_LIMIT_MAX);
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    read_state r = { .after = after, .limit = limit ? limit : READ_LIMIT_DEFAULT, .entries = json_array() };
    if ((e = kg_kms_authorize(kms, who, "read-audit", NULL)) == KG_OK)
        e = kms->audit ? read_file(kms, &r) : kg_err_set(KG_ERR_AUDIT, "the audit log is not open");
    kms_unlock(kms);
    if (e != KG_OK) {
        json_decref(r.entries);
        return e;
    }
    size_t n = json_array_size(r.entries);
    uint64_t next = n ? (uint64_t)json_integer_value(json_object_get(json_array_get(r.entries, n - 1), "seq"))
                      : after;
    *out = json_pack("{s:o, s:I}", "entries", r.entries, "next", (json_int_t)next);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* ---------------------------------------------------------------- verify */

/* For a data dir: the store's audit key and latest checkpoint. The store is
 * only read; it is not opened at all when the database file is absent. */
static kg_err load_from_store(const char *dir, uint8_t key[32], bool *have_key, json_t **cp)
{
    size_t n = strlen(dir) + sizeof("/kashguard.db");
    char *db = malloc(n);
    if (db == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    snprintf(db, n, "%s/kashguard.db", dir);
    kg_store *st = NULL;
    kg_err e = access(db, R_OK) == 0 ? kg_store_open(&st, db) : KG_ERR_NOT_FOUND;
    free(db);
    if (e == KG_ERR_NOT_FOUND)
        return KG_OK;
    if (e != KG_OK)
        return e;
    json_t *rec = NULL;
    if (kg_store_get_json(st, NULL, &rec, "audit/key") == KG_OK) {
        *have_key = audit_pub_decode(key, json_string_value(json_object_get(rec, "public_key"))) == KG_OK;
        json_decref(rec);
    }
    if (kg_store_get_json(st, NULL, cp, "audit/checkpoint") != KG_OK)
        *cp = NULL;
    kg_store_close(st);
    return KG_OK;
}

kg_err kg_kms_audit_verify(json_t **report, const char *path, const char *public_key_b64)
{
    KG_ARG_CHECK(report != NULL && path != NULL);
    *report = NULL;
    uint8_t pinned[32], stored_key[32];
    bool have_pinned = false, have_stored = false;
    if (public_key_b64 != NULL) {
        kg_err e = audit_pub_decode(pinned, public_key_b64);
        if (e != KG_OK)
            return e;
        have_pinned = true;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return kg_err_set(KG_ERR_IO, "cannot find '%s': give an audit log file or a data dir", path);
    if (!S_ISDIR(st.st_mode))
        return audit_verify_file(report, path, have_pinned ? pinned : NULL, "pinned", NULL);
    json_t *cp = NULL;
    kg_err e = load_from_store(path, stored_key, &have_stored, &cp);
    if (e == KG_OK && have_pinned && have_stored && memcmp(pinned, stored_key, 32) != 0) {
        *report = json_pack("{s:b, s:n, s:n, s:s}", "ok", 0, "first_bad_seq", "first_bad_line", "reason",
                            "the store's audit public key differs from the pinned key");
        e = kg_err_set(KG_ERR_AUDIT_TAMPERED, "the store's audit public key differs from the pinned key");
    } else if (e == KG_OK) {
        size_t n = strlen(path) + sizeof("/audit.log");
        char *file = malloc(n);
        if (file == NULL) {
            json_decref(cp);
            return kg_err_set(KG_ERR_NOMEM, "out of memory");
        }
        snprintf(file, n, "%s/audit.log", path);
        const uint8_t *key = have_pinned ? pinned : have_stored ? stored_key : NULL;
        e = audit_verify_file(report, file, key, have_pinned ? "pinned" : "store", cp);
        free(file);
    }
    json_decref(cp);
    return e;
}
