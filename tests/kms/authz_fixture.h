/* A KMS on a fresh temp data dir, initialised (one share) and unsealed,
 * with the root token authenticated: shared by test_tokens.c,
 * test_policy.c and test_audit.c. */
#ifndef KG_TESTS_KMS_AUTHZ_FIXTURE_H
#define KG_TESTS_KMS_AUTHZ_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kashguard/kms.h"

typedef struct {
    char dir[64];
    kg_store *st;
    kg_kms *kms;
    kg_kms_caller *root;
    json_t *init;      /* kg_kms_init output */
    unsigned ckpt_every;
} fx_kms;

static inline void fx_open(fx_kms *f)
{
    char db[128];
    snprintf(db, sizeof(db), "%s/kashguard.db", f->dir);
    assert_int_equal(kg_store_open(&f->st, db), KG_OK);
    kg_kms_config cfg;
    kg_kms_config_default(&cfg);
    cfg.data_dir = f->dir;
    cfg.audit_fsync = false; /* tests do not need the disk flush */
    if (f->ckpt_every)
        cfg.audit_checkpoint_every = f->ckpt_every;
    assert_int_equal(kg_kms_open(&f->kms, f->st, &cfg), KG_OK);
}

static inline void fx_unseal(fx_kms *f)
{
    json_t *st = NULL;
    const char *share = json_string_value(json_array_get(json_object_get(f->init, "unseal_keys"), 0));
    assert_non_null(share);
    assert_int_equal(kg_kms_unseal(f->kms, &st, share), KG_OK);
    json_decref(st);
}

static inline fx_kms *fx_new(unsigned ckpt_every)
{
    assert_int_equal(kg_crypto_init(), KG_OK);
    fx_kms *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->ckpt_every = ckpt_every;
    snprintf(f->dir, sizeof(f->dir), "/tmp/kg-authz-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    fx_open(f);
    assert_int_equal(kg_kms_init(f->kms, &f->init, 1, 1), KG_OK);
    fx_unseal(f);
    const char *tok = json_string_value(json_object_get(f->init, "root_token"));
    assert_int_equal(kg_kms_token_authenticate(f->kms, &f->root, tok), KG_OK);
    return f;
}

/* Close the KMS and the store but keep the data dir (for reopen tests). */
static inline void fx_close(fx_kms *f)
{
    kg_kms_caller_free(f->root);
    f->root = NULL;
    kg_kms_close(f->kms);
    f->kms = NULL;
    kg_store_close(f->st);
    f->st = NULL;
}

static inline void fx_free(fx_kms *f)
{
    if (f->kms != NULL)
        fx_close(f);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    json_decref(f->init);
    free(f);
}

/* Put a policy from JSON text as root. */
static inline void fx_policy(fx_kms *f, const char *json)
{
    json_t *doc = json_loads(json, 0, NULL), *out = NULL;
    assert_non_null(doc);
    assert_int_equal(kg_kms_policy_put(f->kms, f->root, &out, doc), KG_OK);
    json_decref(out);
    json_decref(doc);
}

/* Create a token (request as JSON text) as `who`; returns the token string
 * (malloc'd) and optionally the accessor copy. */
static inline char *fx_token(fx_kms *f, const kg_kms_caller *who, const char *req_json, char acc[32])
{
    json_t *req = json_loads(req_json, 0, NULL), *out = NULL;
    assert_non_null(req);
    kg_err e = kg_kms_token_create(f->kms, who, &out, req);
    if (e != KG_OK)
        fprintf(stderr, "token create: %s\n", kg_err_detail(e));
    assert_int_equal(e, KG_OK);
    char *t = strdup(json_string_value(json_object_get(out, "token")));
    if (acc != NULL)
        snprintf(acc, 32, "%s", json_string_value(json_object_get(out, "accessor")));
    json_decref(out);
    json_decref(req);
    return t;
}

static inline kg_kms_caller *fx_auth(fx_kms *f, const char *token)
{
    kg_kms_caller *c = NULL;
    assert_int_equal(kg_kms_token_authenticate(f->kms, &c, token), KG_OK);
    return c;
}

#endif
