/* The KMS handle: configuration, open/close, periodic work and the seal
 * status document.
 *
 * A kg_kms is shared by every server thread. It holds no key state of its
 * own beyond the root key (seal.c) and the unseal progress: keys, tokens,
 * policies and the seal configuration all live in the store, so several
 * nodes on one store see the same KMS. Two locks, always taken in this
 * order when both are needed:
 *   unseal_mu  the shares submitted so far (unseal progress);
 *   seal_lock  the root key: read-held by every operation for as long as it
 *              uses the key, write-held only to install or wipe it.
 * kg_kms_close seals (the audit log gets its final checkpoint first) and
 * frees everything; no other thread may use the handle by then. */
#include "kms_int.h"

#include <stdlib.h>
#include <string.h>

#define KG_KMS_VERSION "0.1.0"

void kg_kms_config_default(kg_kms_config *cfg)
{
    if (cfg == NULL) {
        kg_illegal("kg_kms_config_default: cfg != NULL");
        return;
    }
    memset(cfg, 0, sizeof(*cfg));
    cfg->data_dir = "./data";
    cfg->min_deletion_wait = 7 * 86400;
    cfg->default_deletion_wait = 30 * 86400;
    cfg->audit_fsync = true;
    cfg->audit_checkpoint_every = 1000;
}

static kg_err check_config(const kg_kms_config *cfg)
{
    if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0')
        return kg_err_set(KG_ERR_BAD_INPUT, "the KMS needs a data directory (config data_dir)");
    if (cfg->min_deletion_wait < 0 || cfg->default_deletion_wait < 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "deletion waiting periods must not be negative");
    if (cfg->default_deletion_wait < cfg->min_deletion_wait)
        return kg_err_set(KG_ERR_BAD_INPUT,
                          "default_deletion_wait (%lld s) is shorter than min_deletion_wait (%lld s)",
                          (long long)cfg->default_deletion_wait, (long long)cfg->min_deletion_wait);
    return KG_OK;
}

kg_err kg_kms_open(kg_kms **out, kg_store *st, const kg_kms_config *cfg)
{
    KG_ARG_CHECK(out != NULL && st != NULL && cfg != NULL);
    *out = NULL;
    kg_err e = check_config(cfg);
    if (e != KG_OK)
        return e;
    e = kg_crypto_init();
    if (e != KG_OK)
        return e;
    kg_kms *kms = calloc(1, sizeof(*kms));
    if (kms == NULL)
        return kg_err_set(KG_ERR_NOMEM, "out of memory opening the KMS");
    kms->st = st;
    kms->cfg = *cfg;
    kms->data_dir = strdup(cfg->data_dir);
    if (kms->data_dir == NULL) {
        free(kms);
        return kg_err_set(KG_ERR_NOMEM, "out of memory opening the KMS");
    }
    kms->cfg.data_dir = kms->data_dir;
    if (pthread_rwlock_init(&kms->seal_lock, NULL) != 0) {
        free(kms->data_dir);
        free(kms);
        return kg_err_set(KG_ERR_INTERNAL, "could not create the seal lock");
    }
    if (pthread_mutex_init(&kms->unseal_mu, NULL) != 0) {
        pthread_rwlock_destroy(&kms->seal_lock);
        free(kms->data_dir);
        free(kms);
        return kg_err_set(KG_ERR_INTERNAL, "could not create the unseal mutex");
    }
    kms->cache = kms_cache_new();
    e = kms->cache != NULL ? kms_p11_open(kms) : kg_err_set(KG_ERR_NOMEM, "out of memory opening the KMS");
    if (e == KG_OK && (e = kms_audit_open(kms)) != KG_OK)
        kms_p11_close(kms);
    if (e != KG_OK) {
        kms_cache_free(kms->cache);
        pthread_mutex_destroy(&kms->unseal_mu);
        pthread_rwlock_destroy(&kms->seal_lock);
        free(kms->data_dir);
        free(kms);
        return e;
    }
    /* seal "pkcs11": unseal from the token now; a failure leaves the KMS
     * sealed with the reason in kg_kms_status, and kg_kms_tick retries. */
    kms_p11_auto_unseal(kms, true);
    kms_hsm_forget_destroyed(kms);
    *out = kms;
    return KG_OK;
}

void kg_kms_close(kg_kms *kms)
{
    if (kms == NULL)
        return;
    kms_forget_root(kms);
    kms_audit_close(kms);
    kms_cache_free(kms->cache);
    kg_kms_unseal_reset(kms);
    kms_p11_close(kms);
    pthread_mutex_destroy(&kms->unseal_mu);
    pthread_rwlock_destroy(&kms->seal_lock);
    free(kms->data_dir);
    free(kms);
}

void kg_kms_tick(kg_kms *kms)
{
    if (kms == NULL) {
        kg_illegal("kg_kms_tick: kms != NULL");
        return;
    }
    pthread_rwlock_rdlock(&kms->seal_lock);
    bool sealed = kms->root_key == NULL;
    pthread_rwlock_unlock(&kms->seal_lock);
    if (sealed) {
        kms_p11_auto_unseal(kms, false); /* retries a failed auto-unseal when due */
        return;
    }
    /* Each piece takes the locks it needs and re-checks the seal itself:
     * a seal may land between these calls. */
    kms_keys_tick(kms);
    kms_audit_tick(kms);
}

json_t *kg_kms_status(kg_kms *kms)
{
    if (kms == NULL) {
        kg_illegal("kg_kms_status: kms != NULL");
        return NULL;
    }
    json_t *cfg = NULL;
    kg_err e = kg_store_get_json(kms->st, NULL, &cfg, "sys/seal");
    pthread_mutex_lock(&kms->unseal_mu);
    unsigned progress = kms->unseal_count;
    pthread_mutex_unlock(&kms->unseal_mu);
    pthread_rwlock_rdlock(&kms->seal_lock);
    bool sealed = kms->root_key == NULL;
    pthread_rwlock_unlock(&kms->seal_lock);

    json_int_t shares = 0, threshold = 0;
    if (e == KG_OK) {
        shares = json_integer_value(json_object_get(cfg, "shares"));
        threshold = json_integer_value(json_object_get(cfg, "threshold"));
    }
    json_t *st = json_pack("{s:b,s:b,s:I,s:I,s:I,s:s}",
                           "initialized", e == KG_OK, "sealed", sealed,
                           "threshold", threshold, "shares", shares,
                           "progress", (json_int_t)(sealed ? progress : 0),
                           "version", KG_KMS_VERSION);
    if (st != NULL && e != KG_OK && e != KG_ERR_NOT_FOUND)
        json_object_set_new(st, "error", json_string(kg_err_code(e)));
    if (st != NULL)
        kms_p11_status(kms, st, e == KG_OK ? cfg : NULL);
    json_decref(cfg);
    return st;
}
