/* HMS groups: creation with the group KEK, key generation and destruction
 * on every member, and the re-synchronisation of a member that comes back.
 *
 * A group of two or more members holds one AES-256 key-encryption key,
 * label "kg/<group>/kek", on every member. It is generated on one member and
 * reaches the others wrapped under a transport RSA key pair made on the
 * receiving member (kg_hsm_transport_begin / kek_wrap_for / kek_unwrap), so
 * it never exists in plaintext outside an HSM. Group keys are generated on
 * one member as sensitive-but-wrappable, wrapped once under the KEK and
 * unwrapped on each other serving member. A group of one member has no KEK
 * and its keys are not extractable at all.
 *
 * Re-sync (hms_resync, run by the probe thread when a down member answers
 * again, while it is "syncing" and serves nothing): per group, take a
 * serving member as the source, give the target the KEK if it lacks it,
 * list "kg/<group>/" on both, copy what the target lacks, destroy what only
 * the target has when it was destroyed through HMS while the target was
 * down (the group's tombstones), and copy any other target-only key to the
 * serving members instead: members coming back in an unlucky order must
 * not destroy the last copy of a key. A key generated or
 * destroyed during the re-sync bumps the group's change counter and the
 * comparison runs again, so the member does not come back one key short. */
#include "hms_int.h"
#include "kashguard/crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- names */

void hms_label(char *out, size_t cap, const char *group, const uint8_t *id, size_t id_len)
{
    bool printable = true;
    for (size_t i = 0; i < id_len; i++)
        printable = printable && id[i] > 0x20 && id[i] < 0x7f;
    if (printable) {
        snprintf(out, cap, "kg/%s/%.*s", group, (int)id_len, (const char *)id);
        return;
    }
    char hex[2 * KG_HSM_MAX_ID + 1];
    kg_hex_encode(hex, id, id_len);
    snprintf(out, cap, "kg/%s/x:%s", group, hex);
}

/* The KEK's CKA_ID: "kek/<group>", or a hash of the name when that would
 * not fit in KG_HSM_MAX_ID. Never a KMS id, which start with "k-". */
void hms_kek_id(uint8_t id[KG_HSM_MAX_ID], size_t *len, const char *group)
{
    size_t n = strlen(group);
    if (n + 4 <= KG_HSM_MAX_ID) {
        memcpy(id, "kek/", 4);
        memcpy(id + 4, group, n);
        *len = n + 4;
        return;
    }
    uint8_t d[KG_SHA256_BYTES];
    kg_crypto_sha256(d, (const uint8_t *)group, n);
    char hex[2 * KG_SHA256_BYTES + 1];
    kg_hex_encode(hex, d, KG_SHA256_BYTES);
    memcpy(id, "kek#", 4);
    memcpy(id + 4, hex, 60);
    *len = 64;
}

static hms_job *job_kek(hms_job_kind kind, hms_op op, const char *group)
{
    hms_job *j = hms_job_new(kind, op);
    if (j) {
        hms_kek_id(j->id2, &j->id2_len, group);
        memcpy(j->id, j->id2, j->id2_len);
        j->id_len = j->id2_len;
        snprintf(j->label, sizeof(j->label), "kg/%s/kek", group);
    }
    return j;
}

/* ------------------------------------------------------------ the KEK */

/* Bring the group KEK from src to dst under a transport key made on dst. */
static kg_err kek_transport(kg_hms *h, const char *group, hms_member *src, hms_member *dst)
{
    hms_job *begin = NULL, *wrapped = NULL;
    kg_err err = hms_run_on(h, dst, hms_job_new(JOB_TRANSPORT_BEGIN, HMS_OP_GENERATE), &begin);
    if (err)
        return err;
    hms_job *w = job_kek(JOB_KEK_WRAP_FOR, HMS_OP_WRAP, group);
    if (w && kg_bytes_set(&w->in, begin->out.data, begin->out.len)) {
        hms_job_put(h, w);
        w = NULL;
    }
    err = hms_run_on(h, src, w, &wrapped);
    if (!err) {
        hms_job *u = job_kek(JOB_KEK_UNWRAP, HMS_OP_UNWRAP, group);
        if (u) {
            u->key = begin->key_out;
            if (kg_bytes_set(&u->in, wrapped->out.data, wrapped->out.len)) {
                hms_job_put(h, u);
                u = NULL;
            }
        }
        err = hms_run_on(h, dst, u, NULL);
    }
    char detail[HMS_DETAIL];
    snprintf(detail, sizeof(detail), "%s", err ? kg_err_detail(err) : "");
    hms_job *end = hms_job_new(JOB_TRANSPORT_END, HMS_OP_OTHER);
    if (end) {
        end->key = begin->key_out;
        (void)hms_run_on(h, dst, end, NULL);
    }
    hms_job_put(h, begin);
    hms_job_put(h, wrapped);
    return err ? kg_err_set(err, "%s", detail) : KG_OK;
}

/* Whether m holds the group KEK: KG_OK, KG_ERR_NOT_FOUND or a member error. */
static kg_err kek_find(kg_hms *h, const char *group, hms_member *m)
{
    return hms_run_on(h, m, job_kek(JOB_FIND, HMS_OP_OTHER, group), NULL);
}

/* Make sure every serving member in ms has the KEK. Members that fail are
 * left to the probe/re-sync; an error only when no member could get it. */
static kg_err kek_setup(kg_hms *h, const char *group, hms_member **ms, size_t n, bool any_down)
{
    bool has[HMS_MAX_GROUP_MEMBERS] = {0};
    int src = -1;
    for (size_t i = 0; i < n; i++) {
        kg_err err = kek_find(h, group, ms[i]);
        if (!err && src < 0)
            src = (int)i;
        has[i] = !err;
        if (err && err != KG_ERR_NOT_FOUND)
            return err;
    }
    if (src < 0) {
        if (any_down)
            return kg_err_set(KG_ERR_CRYPTO, "cannot create group %s: no member holds its KEK and some "
                              "members are down", group);
        kg_err err = hms_run_on(h, ms[0], job_kek(JOB_KEK_GENERATE, HMS_OP_GENERATE, group), NULL);
        if (err)
            return err;
        src = 0;
        has[0] = true;
    }
    for (size_t i = 0; i < n; i++) {
        kg_err err = has[i] ? KG_OK : kek_transport(h, group, ms[(size_t)src], ms[i]);
        if (err)
            return err;
    }
    return KG_OK;
}

/* ---------------------------------------------------------- the group */

static kg_err count_keys(kg_hms *h, const char *group, hms_member *m, uint64_t *keys)
{
    hms_job *j = hms_job_new(JOB_LIST, HMS_OP_OTHER), *res = NULL;
    if (j)
        snprintf(j->label, sizeof(j->label), "kg/%s/", group);
    kg_err err = hms_run_on(h, m, j, &res);
    if (!err) {
        uint8_t kid[KG_HSM_MAX_ID];
        size_t klen = 0;
        hms_kek_id(kid, &klen, group);
        *keys = 0;
        for (size_t i = 0; i < res->n_list; i++)
            if (!(res->list[i].id_len == klen && memcmp(res->list[i].id, kid, klen) == 0))
                (*keys)++;
    }
    hms_job_put(h, res);
    return err;
}

/* Look the members up and check them (lock held). */
static kg_err resolve(kg_hms *h, const char *name, const char *const *names, size_t n, hms_member **ms,
                      hms_member **up, size_t *n_up)
{
    if (!hms_name_ok(name))
        return kg_err_set(KG_ERR_BAD_INPUT, "group name must be 1 to 64 of [A-Za-z0-9_.-]");
    if (n == 0 || n > HMS_MAX_GROUP_MEMBERS)
        return kg_err_set(KG_ERR_BAD_INPUT, "group %s needs 1 to %d members", name, HMS_MAX_GROUP_MEMBERS);
    if (hms_group_find(h, name))
        return kg_err_set(KG_ERR_CONFLICT, "an HSM group named '%s' exists", name);
    *n_up = 0;
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !(ms[i] = hms_member_find(h, names[i])))
            return kg_err_set(KG_ERR_NOT_FOUND, "group %s: no HSM member '%s'", name, names[i] ? names[i] : "");
        for (size_t k = 0; k < i; k++)
            if (ms[k] == ms[i])
                return kg_err_set(KG_ERR_BAD_INPUT, "group %s lists member %s twice", name, names[i]);
        if (hms_member_serving(ms[i]))
            up[(*n_up)++] = ms[i];
    }
    return KG_OK;
}

kg_err kg_hms_group_create(kg_hms *h, const char *name, const char *const *members, size_t n_members)
{
    hms_member *ms[HMS_MAX_GROUP_MEMBERS], *up[HMS_MAX_GROUP_MEMBERS];
    size_t n_up = 0;
    pthread_mutex_lock(&h->lock);
    kg_err err = resolve(h, name, members, n_members, ms, up, &n_up);
    pthread_mutex_unlock(&h->lock);
    if (err)
        return err;
    /* No member up: a re-open at restart with the HSMs unreachable. The
     * group is registered; re-sync sets the KEK up as members come back. */
    if (n_up == 0)
        kg_log(KG_LOG_WARN, "hsm group registered with no member up", "group", name, NULL);
    else if (n_members > 1 && (err = kek_setup(h, name, up, n_up, n_up < n_members)))
        return err;
    uint64_t keys = 0;
    if (n_up)
        (void)count_keys(h, name, up[0], &keys);
    hms_group *g = calloc(1, sizeof(*g));
    if (!g)
        return kg_err_set(KG_ERR_NOMEM, "group %s", name);
    snprintf(g->name, sizeof(g->name), "%s", name);
    memcpy(g->members, ms, n_members * sizeof(ms[0]));
    g->n = n_members;
    g->keys = keys;
    pthread_mutex_lock(&h->lock);
    if (hms_group_find(h, name)) {
        pthread_mutex_unlock(&h->lock);
        free(g);
        return kg_err_set(KG_ERR_CONFLICT, "an HSM group named '%s' exists", name);
    }
    hms_group **pp = &h->groups;
    while (*pp)
        pp = &(*pp)->next;
    *pp = g;
    char reason[HMS_DETAIL];
    snprintf(reason, sizeof(reason), "%zu member(s), %s, %llu key(s)", n_members,
             n_members > 1 ? "replicated under a group KEK" : "not replicated", (unsigned long long)keys);
    hms_event_push(h, "group_created", NULL, name, NULL, reason);
    hms_unlock_emit(h);
    return KG_OK;
}

json_t *kg_hms_groups_json(kg_hms *h)
{
    json_t *a = json_array();
    pthread_mutex_lock(&h->lock);
    for (hms_group *g = h->groups; g; g = g->next) {
        json_t *o = json_object(), *ms = json_array();
        for (size_t i = 0; i < g->n; i++)
            json_array_append_new(ms, json_string(g->members[i]->name));
        json_object_set_new(o, "name", json_string(g->name));
        json_object_set_new(o, "members", ms);
        json_object_set_new(o, "replicated", json_boolean(g->n > 1));
        json_object_set_new(o, "keys", json_integer((json_int_t)g->keys));
        json_array_append_new(a, o);
    }
    pthread_mutex_unlock(&h->lock);
    return a;
}

bool kg_hms_group_exists(kg_hms *h, const char *name)
{
    pthread_mutex_lock(&h->lock);
    bool ok = hms_group_find(h, name) != NULL;
    pthread_mutex_unlock(&h->lock);
    return ok;
}

kg_err hms_kek_ensure(kg_hms *h, const char *group, hms_member *src, hms_member *dst)
{
    /* src first: if neither has the KEK (a group registered while every
     * member was down), it is generated on the serving member. */
    hms_member *ms[2] = { src, dst };
    return kek_setup(h, group, ms, 2, false);
}
