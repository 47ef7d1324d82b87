/* The seal: the root key, how it is protected at rest, and how it gets back
 * into memory.
 *
 * init makes two 32-byte keys. The root key encrypts every secret the store
 * holds (key material, the audit signing key, import wrapping keys) through
 * kms_seal_encrypt: AES-256-GCM, blob = iv(12) || ct || tag(16), with AAD =
 * a label naming what the blob is ("key:k-…:v:3"), so a blob copied to
 * another row does not decrypt. The unseal key encrypts the root key the
 * same way (AAD "kashguard-root-key"); it is split with Shamir into N shares
 * (T of which recover it), handed to the operators once, and never stored.
 * The store row sys/seal holds {"shares","threshold","root_key_enc"}.
 * (Dev mode, which keeps a single share on disk, is in seal_dev.c.)
 *
 * Unsealing collects distinct shares (a share submitted twice counts once).
 * On the T-th it recombines the unseal key and decrypts the root key; the
 * GCM tag is what tells a wrong share from a right one, since Shamir itself
 * always "succeeds". A failure wipes the progress so the operators start
 * again. Locks: unseal_mu (progress) before seal_lock (root key), always in
 * that order. Every secret here is in kg_secret or wiped before return. */
#include "kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_KEY_AAD "kashguard-root-key"
#define KEY_BYTES 32
#define SHARE_BYTES (1 + KEY_BYTES)
#define SEAL_OVERHEAD (KG_GCM_IV_BYTES + KG_GCM_TAG_BYTES)

static kg_err sealed_error(void)
{
    return kg_err_set(KG_ERR_SEALED,
                      "the KMS is sealed; unseal it with `kashguard operator unseal` "
                      "(or initialise it first with `kashguard operator init`)");
}

kg_err kms_rdlock_unsealed(kg_kms *kms)
{
    KG_ARG_CHECK(kms != NULL);
    pthread_rwlock_rdlock(&kms->seal_lock);
    if (kms->root_key == NULL) {
        pthread_rwlock_unlock(&kms->seal_lock);
        return sealed_error();
    }
    return KG_OK;
}

void kms_unlock(kg_kms *kms)
{
    pthread_rwlock_unlock(&kms->seal_lock);
}

/* AES-256-GCM of pt under key with AAD label into out = iv || ct || tag. */
static kg_err seal_with(kg_bytes *out, const uint8_t key[static KEY_BYTES], const char *label,
                        const uint8_t *pt, size_t pt_len)
{
    out->data = NULL;
    out->len = 0;
    uint8_t *buf = malloc(pt_len + SEAL_OVERHEAD);
    if (buf == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory sealing a secret");
    kg_err e = kg_crypto_random(buf, KG_GCM_IV_BYTES);
    if (e == KG_OK)
        e = kg_crypto_aes256gcm_encrypt(buf + KG_GCM_IV_BYTES, buf + KG_GCM_IV_BYTES + pt_len,
                                        KG_GCM_TAG_BYTES, key, buf, KG_GCM_IV_BYTES,
                                        (const uint8_t *)label, strlen(label), pt, pt_len);
    if (e != KG_OK) {
        free(buf);
        return e;
    }
    out->data = buf;
    out->len = pt_len + SEAL_OVERHEAD;
    return KG_OK;
}

static kg_err unseal_with(kg_secret **out, const uint8_t key[static KEY_BYTES], const char *label,
                          const uint8_t *blob, size_t blob_len)
{
    *out = NULL;
    if (blob_len < SEAL_OVERHEAD)
        return kg_err_set(KG_ERR_CRYPTO, "sealed blob '%.80s' is truncated", label);
    size_t ct_len = blob_len - SEAL_OVERHEAD;
    kg_secret *pt = kg_secret_new(ct_len);
    if (pt == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory unsealing a secret");
    kg_err e = kg_crypto_aes256gcm_decrypt(kg_secret_data(pt), key, blob, KG_GCM_IV_BYTES,
                                           (const uint8_t *)label, strlen(label),
                                           blob + KG_GCM_IV_BYTES, ct_len,
                                           blob + KG_GCM_IV_BYTES + ct_len, KG_GCM_TAG_BYTES);
    if (e != KG_OK) {
        kg_secret_free(pt);
        return kg_err_set(KG_ERR_CRYPTO, "sealed blob '%.80s' failed authentication "
                          "(store corrupted or written under another root key)", label);
    }
    *out = pt;
    return KG_OK;
}

kg_err kms_seal_encrypt(kg_kms *kms, kg_bytes *out, const char *label,
                        const uint8_t *pt, size_t pt_len)
{
    KG_ARG_CHECK(kms != NULL && out != NULL && label != NULL && (pt != NULL || pt_len == 0));
    if (kms->root_key == NULL) {
        out->data = NULL;
        out->len = 0;
        return sealed_error();
    }
    return seal_with(out, kg_secret_cdata(kms->root_key), label, pt, pt_len);
}

kg_err kms_seal_decrypt(kg_kms *kms, kg_secret **out, const char *label,
                        const uint8_t *blob, size_t blob_len)
{
    KG_ARG_CHECK(kms != NULL && out != NULL && label != NULL && (blob != NULL || blob_len == 0));
    *out = NULL;
    if (kms->root_key == NULL)
        return sealed_error();
    return unseal_with(out, kg_secret_cdata(kms->root_key), label, blob, blob_len);
}

kg_err kms_root_derive(kg_kms *kms, uint8_t out[static 32], const char *purpose)
{
    KG_ARG_CHECK(kms != NULL && purpose != NULL);
    if (kms->root_key == NULL) {
        kg_wipe(out, 32);
        return sealed_error();
    }
    return kg_crypto_hkdf_sha256(out, 32, kg_secret_cdata(kms->root_key), KEY_BYTES,
                                 NULL, 0, (const uint8_t *)purpose, strlen(purpose));
}

/* ------------------------------------------------------------------ init */

static kg_err check_init_params(unsigned shares, unsigned threshold)
{
    if (shares < 1 || shares > 255 || threshold < 1 || threshold > shares)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "shares must be 1..255 and threshold 1..shares (got shares=%u, threshold=%u)",
                          shares, threshold);
    if (shares > 1 && threshold < 2)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "threshold must be at least 2 when there are several shares "
                          "(a threshold of 1 makes every share the whole unseal key)");
    return KG_OK;
}

/* The new root key sealed under a new unseal key, and that key's shares. */
static kg_err make_keys(kg_secret **root, kg_bytes *root_enc, kg_secret **shares,
                        unsigned n, unsigned t)
{
    kg_secret *unseal = kg_secret_new(KEY_BYTES);
    *root = kg_secret_new(KEY_BYTES);
    kg_err e = KG_OK;
    if (unseal == NULL || *root == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory initialising the KMS");
    if (e == KG_OK)
        e = kg_crypto_random(kg_secret_data(unseal), KEY_BYTES);
    if (e == KG_OK)
        e = kg_crypto_random(kg_secret_data(*root), KEY_BYTES);
    if (e == KG_OK)
        e = seal_with(root_enc, kg_secret_cdata(unseal), ROOT_KEY_AAD,
                      kg_secret_cdata(*root), KEY_BYTES);
    if (e == KG_OK)
        e = kg_crypto_shamir_split(shares, unseal, n, t);
    kg_secret_free(unseal);
    if (e != KG_OK) {
        kg_secret_free(*root);
        *root = NULL;
        kg_bytes_free(root_enc);
    }
    return e;
}

static json_t *shares_json(kg_secret *const *shares, unsigned n)
{
    json_t *arr = json_array();
    for (unsigned i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, kg_json_b64(kg_secret_cdata(shares[i]),
                                                   kg_secret_len(shares[i]))) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* One transaction: the seal row, the root token and the audit key. */
static kg_err init_store(kg_kms *kms, json_t *out, const kg_secret *root,
                         const kg_bytes *root_enc, unsigned n, unsigned t)
{
    json_t *cfg = json_pack("{s:i,s:I,s:I,s:o,s:I}", "format", 1, "shares", (json_int_t)n,
                            "threshold", (json_int_t)t,
                            "root_key_enc", kg_json_b64(root_enc->data, root_enc->len),
                            "created_at", (json_int_t)kg_now());
    if (cfg == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory initialising the KMS");
    /* With a seal "pkcs11" config the root key is also sealed on the token
     * (before the transaction: the token may be slow). */
    kg_err e0 = kms_p11_seal_root(kms, cfg, root);
    if (e0 != KG_OK) {
        json_decref(cfg);
        return e0;
    }
    kg_store_txn *txn = NULL;
    char *token = NULL;
    kg_err e = kg_store_txn_begin(kms->st, &txn);
    if (e == KG_OK) {
        e = kg_store_create_json(kms->st, txn, "sys/seal", cfg);
        if (e == KG_ERR_CONFLICT)
            e = kg_err_set(KG_ERR_ALREADY_INIT, "the KMS is already initialised; unseal it with "
                           "`kashguard operator unseal`");
    }
    if (e == KG_OK)
        e = kms_token_create_root(kms, txn, &token);
    if (e == KG_OK)
        e = kms_audit_init_keys(kms, txn, root, out);
    if (e == KG_OK)
        e = kg_store_txn_commit(txn);
    if (e != KG_OK && txn != NULL)
        kg_store_txn_rollback(txn);
    else if (e == KG_OK && json_object_set_new(out, "root_token", json_string(token)) != 0)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory initialising the KMS");
    if (token != NULL) {
        kg_wipe(token, strlen(token));
        free(token);
    }
    json_decref(cfg);
    return e;
}

kg_err kg_kms_init(kg_kms *kms, json_t **out, unsigned shares, unsigned threshold)
{
    KG_ARG_CHECK(kms != NULL && out != NULL);
    *out = NULL;
    kg_err e = check_init_params(shares, threshold);
    if (e != KG_OK)
        return e;
    json_t *cfg = NULL;
    e = kg_store_get_json(kms->st, NULL, &cfg, "sys/seal");
    json_decref(cfg);
    if (e == KG_OK)
        return kg_err_set(KG_ERR_ALREADY_INIT,
                          "the KMS is already initialised; unseal it with `kashguard operator unseal`");
    if (e != KG_ERR_NOT_FOUND)
        return e;

    kg_secret *root = NULL, *parts[255] = { 0 };
    kg_bytes root_enc = { 0 };
    e = make_keys(&root, &root_enc, parts, shares, threshold);
    if (e != KG_OK)
        return e;
    json_t *doc = json_pack("{s:o,s:I,s:I}", "unseal_keys", shares_json(parts, shares),
                            "shares", (json_int_t)shares, "threshold", (json_int_t)threshold);
    if (doc == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory initialising the KMS");
    if (e == KG_OK)
        e = init_store(kms, doc, root, &root_enc, shares, threshold);
    /* Out of memory here only leaves the (initialised) KMS sealed. */
    kg_secret *root_copy = e == KG_OK && kms->cfg.seal_pkcs11_module != NULL
                               ? kg_secret_from(kg_secret_cdata(root), kg_secret_len(root)) : NULL;
    for (unsigned i = 0; i < shares; i++)
        kg_secret_free(parts[i]);
    kg_secret_free(root);
    kg_bytes_free(&root_enc);
    if (e != KG_OK) {
        json_decref(doc);
        return e;
    }
    kg_log(KG_LOG_INFO, "kms initialised", NULL);
    /* Auto-unseal configured: the token will unseal at every start, so
     * init leaves the KMS unsealed (the shares are recovery keys). */
    if (kms->cfg.seal_pkcs11_module != NULL && root_copy != NULL) {
        kms_install_root(kms, root_copy);
        root_copy = NULL;
        kg_log(KG_LOG_INFO, "kms unsealed", "seal", "pkcs11", NULL);
    }
    kg_secret_free(root_copy);
    *out = doc;
    return KG_OK;
}

/* ---------------------------------------------------------------- unseal */

static void reset_locked(kg_kms *kms)
{
    for (unsigned i = 0; i < kms->unseal_count; i++) {
        kg_secret_free(kms->unseal_shares[i]);
        kms->unseal_shares[i] = NULL;
    }
    kms->unseal_count = 0;
}

void kg_kms_unseal_reset(kg_kms *kms)
{
    if (kms == NULL) {
        kg_illegal("kg_kms_unseal_reset: kms != NULL");
        return;
    }
    pthread_mutex_lock(&kms->unseal_mu);
    reset_locked(kms);
    pthread_mutex_unlock(&kms->unseal_mu);
}

static bool is_unsealed(kg_kms *kms)
{
    pthread_rwlock_rdlock(&kms->seal_lock);
    bool u = kms->root_key != NULL;
    pthread_rwlock_unlock(&kms->seal_lock);
    return u;
}

static kg_err load_seal_config(kg_kms *kms, unsigned *threshold, kg_bytes *root_enc)
{
    json_t *cfg = NULL;
    kg_err e = kg_store_get_json(kms->st, NULL, &cfg, "sys/seal");
    if (e == KG_ERR_NOT_FOUND)
        return kg_err_set(KG_ERR_NOT_INIT,
                          "the KMS is not initialised; run `kashguard operator init` first");
    if (e != KG_OK)
        return e;
    json_int_t t = json_integer_value(json_object_get(cfg, "threshold"));
    e = kg_json_get_b64(root_enc, cfg, "root_key_enc", true, 1024);
    json_decref(cfg);
    if (e != KG_OK || t < 1 || t > 255) {
        kg_bytes_free(root_enc);
        return kg_err_set(KG_ERR_STORE, "the seal configuration (sys/seal) in the store is damaged");
    }
    *threshold = (unsigned)t;
    return KG_OK;
}

/* Add one decoded share to the progress. Returns KG_OK when it was new or a
 * duplicate of one already in; KG_ERR_UNSEAL_KEY when it conflicts. */
static kg_err add_share(kg_kms *kms, const kg_bytes *share)
{
    if (share->len != SHARE_BYTES || share->data[0] == 0)
        return kg_err_set(KG_ERR_UNSEAL_KEY, "this is not an unseal key of this KMS "
                          "(expected the base64 text printed by `kashguard operator init`)");
    for (unsigned i = 0; i < kms->unseal_count; i++) {
        const uint8_t *have = kg_secret_cdata(kms->unseal_shares[i]);
        if (have[0] != share->data[0])
            continue;
        if (kg_ct_equal(have, share->data, SHARE_BYTES))
            return KG_OK;
        return kg_err_set(KG_ERR_UNSEAL_KEY,
                          "two different unseal keys with the same share number were submitted; "
                          "progress was reset, start again with the correct keys");
    }
    kg_secret *s = kg_secret_from(share->data, share->len);
    if (s == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory unsealing");
    kms->unseal_shares[kms->unseal_count++] = s;
    return KG_OK;
}

/* Recombine, decrypt the root key and install it. Caller holds unseal_mu. */
static kg_err try_unseal(kg_kms *kms, const kg_bytes *root_enc)
{
    kg_secret *unseal = NULL, *root = NULL;
    kg_err e = kg_crypto_shamir_combine(&unseal, (const kg_secret *const *)kms->unseal_shares,
                                        kms->unseal_count);
    if (e == KG_OK && kg_secret_len(unseal) == KEY_BYTES)
        e = unseal_with(&root, kg_secret_cdata(unseal), ROOT_KEY_AAD, root_enc->data, root_enc->len);
    else if (e == KG_OK)
        e = KG_ERR_CRYPTO;
    kg_secret_free(unseal);
    if (e != KG_OK || kg_secret_len(root) != KEY_BYTES) {
        kg_secret_free(root);
        return kg_err_set(KG_ERR_UNSEAL_KEY,
                          "the unseal keys do not open this KMS (one of them is wrong); "
                          "progress was reset, start again with `kashguard operator unseal`");
    }
    kms_install_root(kms, root);
    kg_log(KG_LOG_INFO, "kms unsealed", NULL);
    return KG_OK;
}

void kms_install_root(kg_kms *kms, kg_secret *root)
{
    pthread_rwlock_wrlock(&kms->seal_lock);
    if (kms->root_key == NULL) {
        kms->root_key = root;
        root = NULL;
        uint8_t hk[32];
        if (kms_root_derive(kms, hk, "audit-hmac") == KG_OK)
            kms->audit_hmac_key = kg_secret_from(hk, sizeof(hk));
        kg_wipe(hk, sizeof(hk));
        kms_audit_on_unseal(kms);
    }
    pthread_rwlock_unlock(&kms->seal_lock);
    kg_secret_free(root);
}

bool kms_is_unsealed(kg_kms *kms)
{
    return is_unsealed(kms);
}

static kg_err unseal_step(kg_kms *kms, const char *share_b64)
{
    unsigned threshold = 0;
    kg_bytes root_enc = { 0 }, share = { 0 };
    kg_err e = load_seal_config(kms, &threshold, &root_enc);
    if (e != KG_OK)
        return e;
    if (kg_b64_decode(&share, share_b64) != KG_OK) {
        kg_bytes_free(&root_enc);
        return kg_err_set(KG_ERR_BAD_INPUT, "the unseal key must be standard base64 "
                          "(as printed by `kashguard operator init`)");
    }
    pthread_mutex_lock(&kms->unseal_mu);
    if (is_unsealed(kms)) {
        reset_locked(kms);
    } else {
        e = add_share(kms, &share);
        if (e == KG_OK && kms->unseal_count >= threshold)
            e = try_unseal(kms, &root_enc);
        if (e != KG_OK || is_unsealed(kms))
            reset_locked(kms);
    }
    pthread_mutex_unlock(&kms->unseal_mu);
    kg_wipe(share.data, share.len);
    kg_bytes_free(&share);
    kg_bytes_free(&root_enc);
    return e;
}

kg_err kg_kms_unseal(kg_kms *kms, json_t **out, const char *share_b64)
{
    KG_ARG_CHECK(kms != NULL && out != NULL && share_b64 != NULL);
    *out = NULL;
    kg_err e = unseal_step(kms, share_b64);
    if (e != KG_OK)
        return e;
    *out = kg_kms_status(kms);
    return *out != NULL ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

void kms_forget_root(kg_kms *kms)
{
    pthread_rwlock_wrlock(&kms->seal_lock);
    if (kms->root_key != NULL) {
        kms_audit_on_seal(kms); /* its last checkpoint still needs the key */
        kg_secret_free(kms->root_key);
        kms->root_key = NULL;
    }
    kg_secret_free(kms->audit_hmac_key);
    kms->audit_hmac_key = NULL;
    kms_cache_clear(kms->cache);
    pthread_rwlock_unlock(&kms->seal_lock);
}

kg_err kg_kms_seal(kg_kms *kms, const kg_kms_caller *who)
{
    KG_ARG_CHECK(kms != NULL && who != NULL);
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    e = kg_kms_authorize(kms, who, "seal", NULL);
    kms_unlock(kms);
    if (e != KG_OK)
        return e;
    kms_p11_on_seal(kms);
    kms_forget_root(kms);
    kg_kms_unseal_reset(kms);
    kg_log(KG_LOG_INFO, "kms sealed", "by", kg_kms_caller_accessor(who), NULL);
    return KG_OK;
}
