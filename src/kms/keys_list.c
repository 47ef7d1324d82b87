/* Listing keys: the paged key list of the API and the live-key counts by
 * protection for the metrics endpoint. Both scan the metadata rows keys/<id>
 * (skipping the version rows keys/<id>/v/<n>) in key id order. */
#include "kms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- list */

typedef struct {
    json_t *keys;
    size_t limit;
    bool more;
    kg_err err;
} list_ctx;

static int list_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
    list_ctx *c = arg;
    if (strchr(key + 5, '/') != NULL)   /* a version row, not metadata */
        return 0;
    if (json_array_size(c->keys) == c->limit) {
        c->more = true;
        return 1;
    }
    json_t *meta = json_loadb((const char *)val, len, 0, NULL);
    json_t *pub = meta ? kms_key_public(meta) : NULL;
    json_decref(meta);
    if (pub == NULL || json_array_append_new(c->keys, pub) != 0) {
        c->err = kg_err_set(KG_ERR_STORE, "key row %.80s in the store is damaged", key);
        return 1;
    }
    return 0;
}

kg_err kg_kms_key_list(kg_kms *kms, const kg_kms_caller *who, json_t **out,
                       size_t limit, const char *cursor)
{
    KG_ARG_CHECK(kms != NULL && who != NULL && out != NULL);
    *out = NULL;
    if (limit > 1000)
        return kg_err_set(KG_ERR_BAD_INPUT, "limit must be 1..1000 (got %zu)", limit);
    if (cursor != NULL && cursor[0] != '\0' && !kms_is_key_id(cursor))
        return kg_err_set(KG_ERR_BAD_INPUT, "cursor '%.64s' is not valid; pass the next_cursor "
                          "of the previous page", cursor);
    kg_err e = kms_rdlock_unsealed(kms);
    if (e != KG_OK)
        return e;
    e = kg_kms_authorize(kms, who, "list-keys", NULL);
    list_ctx c = { json_array(), limit ? limit : 100, false, KG_OK };
    char after[64] = "";
    if (cursor != NULL && cursor[0] != '\0')
        snprintf(after, sizeof(after), "keys/%s", cursor);
    if (e == KG_OK && c.keys == NULL)
        e = kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (e == KG_OK)
        e = kg_store_list(kms->st, NULL, "keys/", after, 0, list_one, &c);
    kms_unlock(kms);
    if (e == KG_OK)
        e = c.err;
    if (e != KG_OK) {
        json_decref(c.keys);
        return e;
    }
    json_t *last = json_array_get(c.keys, json_array_size(c.keys) - 1);
    json_t *next = c.more && last ? json_deep_copy(json_object_get(last, "key_id")) : json_null();
    *out = json_pack("{s:o,s:o}", "keys", c.keys, "next_cursor", next);
    return *out ? KG_OK : kg_err_set(KG_ERR_NOMEM, "out of memory");
}

/* ----------------------------------------------------------------- counts */

typedef struct {
    uint64_t software, hsm;
} counts_ctx;

static int count_one(void *arg, const char *key, const uint8_t *val, size_t len)
{
    counts_ctx *c = arg;
    if (strchr(key + 5, '/') != NULL) /* a version row */
        return 0;
    json_t *meta = json_loadb((const char *)val, len, 0, NULL);
    const char *st = json_string_value(json_object_get(meta, "state"));
    if (meta != NULL && (st == NULL || strcmp(st, "destroyed") != 0)) {
        if (kms_key_is_hsm(meta))
            c->hsm++;
        else
            c->software++;
    }
    json_decref(meta);
    return 0;
}

kg_err kg_kms_key_counts(kg_kms *kms, uint64_t *software, uint64_t *hsm)
{
    KG_ARG_CHECK(kms != NULL && software != NULL && hsm != NULL);
    counts_ctx c = { 0, 0 };
    kg_err e = kg_store_list(kms->st, NULL, "keys/", NULL, 0, count_one, &c);
    *software = e == KG_OK ? c.software : 0;
    *hsm = e == KG_OK ? c.hsm : 0;
    return e;
}
