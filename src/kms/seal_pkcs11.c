/* Auto-unseal: the root key sealed by an AES-256 key inside a PKCS#11 token
 * (config `seal "pkcs11" { module, token_label, pin_file|pin_env, key_label }`).
 *
 * At init the seal key (CKA_LABEL = CKA_ID = key_label, default
 * "kashguard-root-key") is found on the token or generated there, sensitive
 * and non-extractable, and the root key is encrypted with it on the token
 * (CKM_AES_GCM, random 12-byte IV, AAD "kashguard-root-key"). sys/seal then
 * holds "root_key_hsm" = b64(iv || ct || tag) next to the Shamir-sealed
 * "root_key_enc", and "seal_type":"pkcs11". The Shamir shares stay valid as
 * recovery keys for `kashguard operator unseal` when the token is lost.
 *
 * At open, and from kg_kms_tick every RETRY_SECONDS while it keeps failing
 * (module missing, token absent, key gone; not a wrong or locked PIN, which
 * only a corrected PIN and a restart can fix: retrying would use up the
 * token's PIN attempts),
 * the KMS loads the module, opens the token, decrypts root_key_hsm there and
 * installs the root key the same way a Shamir unseal does (audit entry,
 * derived keys). A failure (module missing, token absent, wrong PIN, key
 * gone, blob damaged) leaves the KMS sealed; kg_kms_status shows the reason
 * as "seal_error" and a log line says it. No detail ever contains the PIN:
 * the PKCS#11 client never puts it in one.
 *
 * An operator who seals on purpose (kg_kms_seal) means it: no automatic
 * unseal happens again until the KMS is reopened (server restart); a Shamir
 * unseal still works. The module and token are opened only for the attempt
 * and closed again, so a hung or removed seal token holds nothing between
 * attempts. */
#include "kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_SECONDS 5
#define ROOT_AAD "kashguard-root-key"
#define ROOT_BYTES 32
#define BLOB_BYTES (KG_HSM_GCM_IV_BYTES + ROOT_BYTES + KG_HSM_GCM_TAG_BYTES)

kg_err kms_p11_open(kg_kms *kms)
{
    if (pthread_mutex_init(&kms->p11_mu, NULL) != 0)
        return kg_err_set(KG_ERR_INTERNAL, "could not create the auto-unseal mutex");
    return KG_OK;
}

void kms_p11_close(kg_kms *kms)
{
    free(kms->seal_error);
    kms->seal_error = NULL;
    pthread_mutex_destroy(&kms->p11_mu);
}

static const char *key_label(const kg_kms *kms)
{
    const char *l = kms->cfg.seal_pkcs11_key_label;
    return l != NULL && l[0] != '\0' ? l : KMS_P11_DEFAULT_KEY_LABEL;
}

static const char *token_label(const kg_kms *kms)
{
    return kms->cfg.seal_pkcs11_token != NULL ? kms->cfg.seal_pkcs11_token : "";
}

/* Re-set the current detail with a prefix (kg_err_detail's buffer is the
 * one kg_err_set writes, so copy it first). */
static kg_err prefixed(kg_err e, const char *prefix)
{
    char d[512];
    snprintf(d, sizeof(d), "%s", kg_err_detail(e));
    return kg_err_set(e, "%s: %s", prefix, d);
}

/* Load the module and open the token of the config. */
static kg_err open_token(kg_kms *kms, kg_hsm_module **mod, kg_hsm_token **tok)
{
    *mod = NULL;
    *tok = NULL;
    const kg_kms_config *c = &kms->cfg;
    if (c->seal_pkcs11_token == NULL || c->seal_pkcs11_token[0] == '\0')
        return kg_err_set(KG_ERR_BAD_INPUT, "seal \"pkcs11\" needs token_label (the label of the "
                          "token that holds the seal key)");
    if (c->seal_pkcs11_pin == NULL)
        return kg_err_set(KG_ERR_BAD_INPUT, "seal \"pkcs11\" needs the PIN of token '%s' "
                          "(pin_file or pin_env)", c->seal_pkcs11_token);
    kg_err e = kg_hsm_module_load(mod, c->seal_pkcs11_module);
    if (e != KG_OK)
        return prefixed(e, "cannot load the PKCS#11 module of the seal");
    e = kg_hsm_token_open(tok, *mod, c->seal_pkcs11_token, c->seal_pkcs11_pin, 1);
    if (e != KG_OK) {
        e = prefixed(e, "cannot open the seal token");
        kg_hsm_module_release(*mod);
        *mod = NULL;
    }
    return e;
}

static void close_token(kg_hsm_module *mod, kg_hsm_token *tok)
{
    kg_hsm_token_close(tok);
    kg_hsm_module_release(mod);
}

/* ------------------------------------------------------------------ init */

static kg_err find_or_make_key(kg_kms *kms, kg_hsm_token *tok, kg_hsm_key *key)
{
    const char *l = key_label(kms);
    size_t n = strlen(l);
    if (n > KG_HSM_MAX_ID)
        return kg_err_set(KG_ERR_BAD_INPUT, "seal key_label '%.80s' is longer than %d bytes", l,
                          KG_HSM_MAX_ID);
    kg_err e = kg_hsm_key_find(tok, key, (const uint8_t *)l, n);
    if (e == KG_ERR_NOT_FOUND)
        e = kg_hsm_key_generate(tok, key, KG_HSM_KEY_AES256, l, (const uint8_t *)l, n);
    if (e == KG_OK && key->type != KG_HSM_KEY_AES256)
        e = kg_err_set(KG_ERR_BAD_INPUT, "the object '%s' on token '%s' is not an AES key; choose "
                       "another seal key_label", l, token_label(kms));
    return e;
}

static kg_err encrypt_root(kg_kms *kms, kg_bytes *blob, const kg_secret *root)
{
    kg_hsm_module *mod = NULL;
    kg_hsm_token *tok = NULL;
    kg_hsm_key key;
    memset(&key, 0, sizeof(key));
    uint8_t iv[KG_HSM_GCM_IV_BYTES];
    kg_bytes ct = { 0 };
    kg_err e = open_token(kms, &mod, &tok);
    if (e == KG_OK)
        e = find_or_make_key(kms, tok, &key);
    if (e == KG_OK)
        e = kg_crypto_random(iv, sizeof(iv));
    if (e == KG_OK)
        e = kg_hsm_aes_gcm_encrypt(tok, &ct, &key, iv, (const uint8_t *)ROOT_AAD, strlen(ROOT_AAD),
                                   kg_secret_cdata(root), kg_secret_len(root));
    close_token(mod, tok);
    if (e == KG_OK && ct.len != ROOT_BYTES + KG_HSM_GCM_TAG_BYTES)
        e = kg_err_set(KG_ERR_CRYPTO, "the seal token returned %zu bytes for the root key", ct.len);
    if (e == KG_OK && (blob->data = malloc(BLOB_BYTES)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory sealing the root key");
    if (e == KG_OK) {
        memcpy(blob->data, iv, sizeof(iv));
        memcpy(blob->data + sizeof(iv), ct.data, ct.len);
        blob->len = BLOB_BYTES;
    }
    kg_bytes_free(&ct);
    return e;
}

kg_err kms_p11_seal_root(kg_kms *kms, json_t *seal_row, const kg_secret *root)
{
    KG_ARG_CHECK(kms != NULL && seal_row != NULL && root != NULL);
    if (kms->cfg.seal_pkcs11_module == NULL)
        return json_object_set_new(seal_row, "seal_type", json_string("shamir")) == 0
                   ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_bytes blob = { 0 };
    kg_err e = encrypt_root(kms, &blob, root);
    if (e != KG_OK) {
        kg_log(KG_LOG_ERROR, "init with seal \"pkcs11\" failed", "error", kg_err_detail(e), NULL);
        return e;
    }
    if (json_object_set_new(seal_row, "seal_type", json_string("pkcs11")) != 0 ||
        json_object_set_new(seal_row, "root_key_hsm", kg_json_b64(blob.data, blob.len)) != 0 ||
        json_object_set_new(seal_row, "pkcs11_token", json_string(token_label(kms))) != 0 ||
        json_object_set_new(seal_row, "pkcs11_key_label", json_string(key_label(kms))) != 0)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    kg_bytes_free(&blob);
    return e;
}

/* ----------------------------------------------------------- auto-unseal */

/* Decrypt root_key_hsm of the seal row on the token. */
static kg_err decrypt_root(kg_kms *kms, kg_secret **root, const json_t *row)
{
    *root = NULL;
    kg_bytes blob = { 0 }, pt = { 0 };
    kg_err e = kg_json_get_b64(&blob, row, "root_key_hsm", true, 256);
    if (e != KG_OK || blob.len != BLOB_BYTES) {
        kg_bytes_free(&blob);
        return kg_err_set(KG_ERR_STORE, "root_key_hsm in the seal configuration (sys/seal) is damaged");
    }
    kg_hsm_module *mod = NULL;
    kg_hsm_token *tok = NULL;
    kg_hsm_key key;
    memset(&key, 0, sizeof(key));
    const char *l = key_label(kms);
    e = open_token(kms, &mod, &tok);
    if (e == KG_OK) {
        e = kg_hsm_key_find(tok, &key, (const uint8_t *)l, strlen(l));
        if (e == KG_ERR_NOT_FOUND)
            e = kg_err_set(KG_ERR_NOT_FOUND, "the seal key '%s' is not on token '%s' (deleted, or "
                           "another token?); unseal with the recovery keys", l, token_label(kms));
    }
    if (e == KG_OK) {
        e = kg_hsm_aes_gcm_decrypt(tok, &pt, &key, blob.data, (const uint8_t *)ROOT_AAD,
                                   strlen(ROOT_AAD), blob.data + KG_HSM_GCM_IV_BYTES,
                                   blob.len - KG_HSM_GCM_IV_BYTES);
        if (e == KG_ERR_DECRYPT)
            e = kg_err_set(KG_ERR_UNSEAL_KEY, "the seal key '%s' on token '%s' does not decrypt the "
                           "root key (the key was replaced?); unseal with the recovery keys",
                           l, token_label(kms));
        else if (e == KG_OK && pt.len != ROOT_BYTES)
            e = kg_err_set(KG_ERR_CRYPTO, "the seal token returned a root key of %zu bytes", pt.len);
    }
    close_token(mod, tok);
    if (e == KG_OK && (*root = kg_secret_from(pt.data, pt.len)) == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory unsealing");
    kg_wipe(pt.data, pt.len);
    kg_bytes_free(&pt);
    kg_bytes_free(&blob);
    return e;
}

static void set_error(kg_kms *kms, const char *msg)
{
    pthread_mutex_lock(&kms->p11_mu);
    free(kms->seal_error);
    kms->seal_error = msg != NULL ? strdup(msg) : NULL;
    pthread_mutex_unlock(&kms->p11_mu);
}

/* One attempt: KG_OK when unsealed (or nothing to do), else the reason. */
static kg_err attempt(kg_kms *kms, bool *retry)
{
    *retry = false;
    json_t *row = NULL;
    kg_err e = kg_store_get_json(kms->st, NULL, &row, "sys/seal");
    if (e == KG_ERR_NOT_FOUND)
        return KG_OK; /* not initialised: `operator init` seals on the token */
    if (e != KG_OK)
        return e;
    const char *type = json_string_value(json_object_get(row, "seal_type"));
    bool p11_row = type != NULL && strcmp(type, "pkcs11") == 0;
    if (!p11_row && kms->cfg.seal_pkcs11_module != NULL)
        e = kg_err_set(KG_ERR_BAD_INPUT, "the KMS was initialised with the Shamir seal, so the seal "
                       "\"pkcs11\" configuration is not used; unseal with `kashguard operator unseal`");
    else if (p11_row && kms->cfg.seal_pkcs11_module == NULL)
        e = kg_err_set(KG_ERR_BAD_INPUT, "the KMS was initialised with seal \"pkcs11\" but the "
                       "configuration has no seal \"pkcs11\" block; unseal with the recovery keys "
                       "(`kashguard operator unseal`)");
    kg_secret *root = NULL;
    if (e == KG_OK && p11_row) {
        e = decrypt_root(kms, &root, row);
        /* The PIN is read once by the caller: trying the same wrong PIN
         * again cannot succeed, and every try counts against the token's
         * PIN retry limit (a hardware HSM locks the PIN after a few). */
        *retry = e != KG_OK && e != KG_ERR_UNAUTHENTICATED && e != KG_ERR_DENIED;
    }
    json_decref(row);
    if (root == NULL)
        return e;
    pthread_mutex_lock(&kms->p11_mu);
    bool off = kms->auto_unseal_off; /* an operator sealed meanwhile: respect it */
    if (!off)
        kms_install_root(kms, root);
    else
        kg_secret_free(root);
    pthread_mutex_unlock(&kms->p11_mu);
    if (!off) {
        kg_kms_unseal_reset(kms);
        kg_log(KG_LOG_INFO, "kms unsealed", "seal", "pkcs11", "token", token_label(kms), NULL);
    }
    return KG_OK;
}

void kms_p11_auto_unseal(kg_kms *kms, bool force)
{
    int64_t now = kg_now();
    pthread_mutex_lock(&kms->p11_mu);
    bool go = !kms->auto_unseal_off && !kms->auto_unseal_busy &&
              (force || (kms->seal_error != NULL && now >= kms->auto_unseal_next));
    if (go)
        kms->auto_unseal_busy = true;
    pthread_mutex_unlock(&kms->p11_mu);
    if (!go || kms_is_unsealed(kms)) {
        if (go) {
            pthread_mutex_lock(&kms->p11_mu);
            kms->auto_unseal_busy = false;
            pthread_mutex_unlock(&kms->p11_mu);
        }
        return;
    }
    bool retry = false;
    kg_err e = attempt(kms, &retry);
    if (e != KG_OK) {
        kg_log(KG_LOG_ERROR, "auto-unseal failed; the KMS stays sealed", "error",
               kg_err_detail(e), "retry", retry ? "in 5s" : "no (fix the configuration and restart, "
               "or unseal with the recovery keys)", NULL);
        set_error(kms, kg_err_detail(e));
    } else {
        set_error(kms, NULL);
    }
    pthread_mutex_lock(&kms->p11_mu);
    kms->auto_unseal_busy = false;
    kms->auto_unseal_next = now + RETRY_SECONDS;
    if (!retry && e != KG_OK)
        kms->auto_unseal_off = true; /* retrying cannot help (or would use up PIN tries) */
    pthread_mutex_unlock(&kms->p11_mu);
}

void kms_p11_on_seal(kg_kms *kms)
{
    pthread_mutex_lock(&kms->p11_mu);
    kms->auto_unseal_off = true;
    pthread_mutex_unlock(&kms->p11_mu);
}

void kms_p11_status(kg_kms *kms, json_t *st, const json_t *seal_row)
{
    const char *type = json_string_value(json_object_get(seal_row, "seal_type"));
    if (type == NULL)
        type = seal_row == NULL && kms->cfg.seal_pkcs11_module != NULL ? "pkcs11" : "shamir";
    json_object_set_new(st, "seal_type", json_string(type));
    pthread_mutex_lock(&kms->p11_mu);
    if (kms->seal_error != NULL && json_is_true(json_object_get(st, "sealed")))
        json_object_set_new(st, "seal_error", json_string(kms->seal_error));
    pthread_mutex_unlock(&kms->p11_mu);
}
