/* Shared fixture of the KMS core suites (test_seal, test_keys, test_ops):
 * a real SQLite store in a fresh mkdtemp directory, a KMS opened on it,
 * optionally initialised and unsealed, and the system caller.
 * Everything is static inline so a suite may use any subset. */
#ifndef KG_TEST_KMS_CORE_FIXTURE_H
#define KG_TEST_KMS_CORE_FIXTURE_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw */
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kashguard/kms.h>
#include "../../src/kms/kms_int.h"

typedef struct {
    char dir[256];
    char url[300];
    kg_store *st;
    kg_kms *kms;
    kg_kms_caller *sys;
    json_t *init;          /* kg_kms_init output, or NULL */
    int64_t min_wait;
} fx;

static inline void fx_open_kms(fx *f)
{
    assert_int_equal(kg_store_open(&f->st, f->url), KG_OK);
    kg_kms_config cfg;
    kg_kms_config_default(&cfg);
    cfg.data_dir = f->dir;
    cfg.audit_fsync = false;
    cfg.min_deletion_wait = f->min_wait;
    cfg.default_deletion_wait = f->min_wait > 86400 ? f->min_wait : 86400;
    assert_int_equal(kg_kms_open(&f->kms, f->st, &cfg), KG_OK);
}

/* Unseal with the first `threshold` shares of f->init. */
static inline void fx_unseal(fx *f)
{
    json_t *keys = json_object_get(f->init, "unseal_keys");
    size_t t = (size_t)json_integer_value(json_object_get(f->init, "threshold"));
    for (size_t i = 0; i < t; i++) {
        json_t *st = NULL;
        assert_int_equal(kg_kms_unseal(f->kms, &st, json_string_value(json_array_get(keys, i))), KG_OK);
        json_decref(st);
    }
    json_t *st = kg_kms_status(f->kms);
    assert_false(json_is_true(json_object_get(st, "sealed")));
    json_decref(st);
}

/* A fresh store + KMS; shares == 0 leaves it uninitialised. */
static inline fx *fx_new(unsigned shares, unsigned threshold, bool unseal, int64_t min_wait)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/kg-kms-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof(f->url), "sqlite://%s/kg.db", f->dir);
    f->min_wait = min_wait;
    kg_log_set_level(KG_LOG_WARN);
    assert_int_equal(kg_crypto_init(), KG_OK);
    fx_open_kms(f);
    f->sys = kg_kms_caller_system();
    assert_non_null(f->sys);
    if (shares > 0)
        assert_int_equal(kg_kms_init(f->kms, &f->init, shares, threshold), KG_OK);
    if (unseal)
        fx_unseal(f);
    return f;
}

/* Close and reopen KMS and store on the same files (a restart). */
static inline void fx_reopen(fx *f)
{
    kg_kms_close(f->kms);
    kg_store_close(f->st);
    f->kms = NULL;
    f->st = NULL;
    fx_open_kms(f);
}

static inline int fx_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static inline void fx_free(fx *f)
{
    kg_kms_close(f->kms);
    kg_store_close(f->st);
    kg_kms_caller_free(f->sys);
    json_decref(f->init);
    nftw(f->dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
}

/* Create a key from a JSON text request; returns its metadata. */
static inline json_t *fx_create(fx *f, const char *req_text)
{
    json_t *req = json_loads(req_text, 0, NULL);
    assert_non_null(req);
    json_t *meta = NULL;
    kg_err e = kg_kms_key_create(f->kms, f->sys, &meta, req);
    if (e != KG_OK)
        fprintf(stderr, "create failed: %s\n", kg_err_detail(e));
    assert_int_equal(e, KG_OK);
    json_decref(req);
    return meta;
}

static inline const char *fx_id(const json_t *meta)
{
    return json_string_value(json_object_get(meta, "key_id"));
}

static inline size_t fx_key_count(fx *f)
{
    json_t *out = NULL;
    assert_int_equal(kg_kms_key_list(f->kms, f->sys, &out, 1000, NULL), KG_OK);
    size_t n = json_array_size(json_object_get(out, "keys"));
    json_decref(out);
    return n;
}

static inline bool fx_sealed(fx *f)
{
    json_t *st = kg_kms_status(f->kms);
    bool s = json_is_true(json_object_get(st, "sealed"));
    json_decref(st);
    return s;
}

#endif
