/* HMS replication: generating and destroying group keys on every member,
 * and re-synchronising a member that comes back (see hms_group.c for the
 * design). Every PKCS#11 call goes through the member's workers with the
 * usual deadline; a member that fails here goes down and catches up at its
 * next re-sync. */
#include "hms_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hms_job *job_for(hms_job_kind kind, hms_op op, const char *group, const uint8_t *id, size_t id_len)
{
    hms_job *j = hms_job_new(kind, op);
    if (!j)
        return NULL;
    memcpy(j->id, id, id_len);
    j->id_len = id_len;
    hms_kek_id(j->id2, &j->id2_len, group);
    hms_label(j->label, sizeof(j->label), group, id, id_len);
    return j;
}

/* Unwrap a wrapped group key on dst. */
static kg_err unwrap_on(kg_hms *h, const char *group, hms_member *dst, kg_hsm_key_type type, const uint8_t *id,
                        size_t id_len, const kg_bytes *wrapped, const kg_bytes *pub)
{
    hms_job *j = job_for(JOB_KEY_UNWRAP, HMS_OP_UNWRAP, group, id, id_len);
    if (j) {
        j->type = type;
        if (kg_bytes_set(&j->in, wrapped->data, wrapped->len) ||
            (pub->data && kg_bytes_set(&j->extra, pub->data, pub->len))) {
            hms_job_put(h, j);
            j = NULL;
        }
    }
    return hms_run_on(h, dst, j, NULL);
}

static void replicated_event(kg_hms *h, const char *group, hms_member *src, hms_member *dst, const char *label)
{
    char reason[HMS_DETAIL];
    snprintf(reason, sizeof(reason), "key %.200s copied from %s", label, src->name);
    pthread_mutex_lock(&h->lock);
    hms_event_push(h, "key_replicated", dst->name, group, kg_hms_state_name(dst->state), reason);
    hms_unlock_emit(h);
}

/* Copy key (type, id) of group from src to dst: public key and wrap on
 * src, unwrap on dst. */
static kg_err copy_key(kg_hms *h, const char *group, hms_member *src, hms_member *dst, const kg_hsm_key *k)
{
    hms_job *pub = NULL, *wr = NULL;
    kg_err err = KG_OK;
    if (k->type != KG_HSM_KEY_AES256)
        err = hms_run_on(h, src, job_for(JOB_PUBLIC_DER, HMS_OP_OTHER, group, k->id, k->id_len), &pub);
    if (!err)
        err = hms_run_on(h, src, job_for(JOB_KEY_WRAP, HMS_OP_WRAP, group, k->id, k->id_len), &wr);
    if (!err) {
        static const kg_bytes none = {0};
        err = unwrap_on(h, group, dst, k->type, k->id, k->id_len, &wr->out, pub ? &pub->out : &none);
        if (!err) {
            char label[160];
            hms_label(label, sizeof(label), group, k->id, k->id_len);
            replicated_event(h, group, src, dst, label);
        }
    }
    hms_job_put(h, pub);
    hms_job_put(h, wr);
    return err;
}

/* Serving members of group other than skip (lock held). */
static size_t serving(const hms_group *g, const hms_member *skip, hms_member **out)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->members[i] != skip && hms_member_serving(g->members[i]))
            out[n++] = g->members[i];
    return n;
}

/* Tombstones of group g (lock held). */
static bool tomb_has(const hms_group *g, const uint8_t *id, size_t id_len)
{
    for (size_t i = 0; i < g->n_tomb; i++)
        if (g->tomb[i].id_len == id_len && memcmp(g->tomb[i].id, id, id_len) == 0)
            return true;
    return false;
}

/* Add (dead) or drop (!dead: the id was generated again) a tombstone (lock
 * held). Out of memory only loses the tombstone: logged. */
static void tomb_set(hms_group *g, const uint8_t *id, size_t id_len, bool dead)
{
    for (size_t i = 0; i < g->n_tomb; i++)
        if (g->tomb[i].id_len == id_len && memcmp(g->tomb[i].id, id, id_len) == 0) {
            if (!dead)
                g->tomb[i] = g->tomb[--g->n_tomb]; /* the id lives again */
            return;
        }
    if (!dead)
        return;
    if (g->n_tomb == g->cap_tomb) {
        size_t cap = g->cap_tomb ? 2 * g->cap_tomb : 16;
        kg_hsm_key *t = realloc(g->tomb, cap * sizeof(*t));
        if (!t) {
            kg_log(KG_LOG_ERROR, "out of memory recording a destroyed hsm key", "group", g->name, NULL);
            return;
        }
        g->tomb = t;
        g->cap_tomb = cap;
    }
    kg_hsm_key *t = &g->tomb[g->n_tomb++];
    memset(t, 0, sizeof(*t));
    memcpy(t->id, id, id_len);
    t->id_len = id_len;
}

/* Copy the key res just generated on src to the serving members of g.
 * Without a wrapped copy the key would live on one member only: then it is
 * undone (destroyed, tombstoned) and the caller gets the error. */
static kg_err replicate_new(kg_hms *h, hms_group *g, hms_member *src, const hms_job *res)
{
    hms_member *dst[HMS_MAX_GROUP_MEMBERS];
    pthread_mutex_lock(&h->lock);
    size_t nd = g->n > 1 ? serving(g, src, dst) : 0;
    pthread_mutex_unlock(&h->lock);
    if (!nd)
        return KG_OK;
    hms_job *wr = NULL;
    kg_err err = hms_run_on(h, src, job_for(JOB_KEY_WRAP, HMS_OP_WRAP, g->name, res->id, res->id_len), &wr);
    if (err) {
        char detail[HMS_DETAIL];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        (void)hms_run_on(h, src, job_for(JOB_DESTROY, HMS_OP_OTHER, g->name, res->id, res->id_len), NULL);
        pthread_mutex_lock(&h->lock);
        tomb_set(g, res->id, res->id_len, true);
        pthread_mutex_unlock(&h->lock);
        return kg_err_set(err, "group %s: cannot wrap the new key for replication: %s", g->name, detail);
    }
    for (size_t i = 0; i < nd; i++) {
        kg_err e = unwrap_on(h, g->name, dst[i], res->type, res->id, res->id_len, &wr->out, &res->out);
        if (!e)
            replicated_event(h, g->name, src, dst[i], res->label);
        else
            kg_log(KG_LOG_WARN, "hsm key replication failed; the member catches up at re-sync", "member",
                   dst[i]->name, "group", g->name, "error", kg_err_detail(e), NULL);
    }
    hms_job_put(h, wr);
    return KG_OK;
}

kg_err kg_hms_key_generate(kg_hms *h, const char *group, kg_hsm_key_type type, const uint8_t *id, size_t id_len,
                           kg_bytes *pub_der)
{
    if (pub_der)
        memset(pub_der, 0, sizeof(*pub_der));
    if (id_len == 0 || id_len > KG_HSM_MAX_ID)
        return kg_err_set(KG_ERR_BAD_INPUT, "a key id must be 1 to %d bytes", KG_HSM_MAX_ID);
    pthread_mutex_lock(&h->lock);
    hms_group *g = hms_group_find(h, group);
    size_t n = g ? g->n : 0;
    pthread_mutex_unlock(&h->lock);
    if (!g)
        return kg_err_set(KG_ERR_NOT_FOUND, "no HSM group '%s'", group);
    hms_job *proto = job_for(JOB_GENERATE, HMS_OP_GENERATE, group, id, id_len), *res = NULL;
    if (!proto)
        return kg_err_set(KG_ERR_NOMEM, "HMS job");
    proto->type = type;
    proto->flags = n > 1 ? KG_HSM_GEN_WRAPPABLE : 0;
    hms_member *src = NULL;
    kg_err err = hms_exec(h, group, proto, &res, &src);
    if (err == KG_ERR_WRONG_KEY_USAGE) {
        char detail[HMS_DETAIL];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        return kg_err_set(err, "unsupported mechanism for this key type on group %s: %s", group, detail);
    }
    if (err)
        return err;
    pthread_mutex_lock(&h->lock);
    tomb_set(g, id, id_len, false);
    g->changes++;
    pthread_mutex_unlock(&h->lock);
    if ((err = replicate_new(h, g, src, res))) {
        hms_job_put(h, res);
        return err;
    }
    pthread_mutex_lock(&h->lock);
    g->keys++;
    pthread_mutex_unlock(&h->lock);
    if (pub_der && type != KG_HSM_KEY_AES256) {
        *pub_der = res->out;
        memset(&res->out, 0, sizeof(res->out));
    }
    hms_job_put(h, res);
    return KG_OK;
}

kg_err kg_hms_key_destroy(kg_hms *h, const char *group, const uint8_t *id, size_t id_len)
{
    if (id_len == 0 || id_len > KG_HSM_MAX_ID)
        return kg_err_set(KG_ERR_BAD_INPUT, "a key id must be 1 to %d bytes", KG_HSM_MAX_ID);
    hms_member *ms[HMS_MAX_GROUP_MEMBERS];
    pthread_mutex_lock(&h->lock);
    hms_group *g = hms_group_find(h, group);
    size_t n = g ? serving(g, NULL, ms) : 0;
    pthread_mutex_unlock(&h->lock);
    if (!g)
        return kg_err_set(KG_ERR_NOT_FOUND, "no HSM group '%s'", group);
    if (!n)
        return kg_err_set(KG_ERR_CRYPTO, "no healthy member in group %s", group);
    size_t found = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        kg_err err = hms_run_on(h, ms[i], job_for(JOB_DESTROY, HMS_OP_OTHER, group, id, id_len), NULL);
        if (!err)
            found++;
        else if (err != KG_ERR_NOT_FOUND)
            failed++; /* a failing member goes down and drops the key at re-sync */
    }
    if (!found && !failed)
        return kg_err_set(KG_ERR_NOT_FOUND, "no key with this id in group %s", group);
    pthread_mutex_lock(&h->lock);
    tomb_set(g, id, id_len, true);
    if (found && g->keys)
        g->keys--;
    g->changes++;
    pthread_mutex_unlock(&h->lock);
    return found ? KG_OK : kg_err_set(KG_ERR_CRYPTO, "group %s: the key could not be destroyed on any member", group);
}

kg_err kg_hms_key_forget(kg_hms *h, const char *group, const uint8_t *id, size_t id_len)
{
    if (id_len == 0 || id_len > KG_HSM_MAX_ID)
        return kg_err_set(KG_ERR_BAD_INPUT, "a key id must be 1 to %d bytes", KG_HSM_MAX_ID);
    hms_member *ms[HMS_MAX_GROUP_MEMBERS];
    pthread_mutex_lock(&h->lock);
    hms_group *g = hms_group_find(h, group);
    size_t n = 0;
    if (g) {
        /* First the tombstone: a re-sync running now must not copy it. */
        tomb_set(g, id, id_len, true);
        g->changes++;
        n = serving(g, NULL, ms);
    }
    pthread_mutex_unlock(&h->lock);
    if (!g)
        return kg_err_set(KG_ERR_NOT_FOUND, "no HSM group '%s'", group);
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        kg_err err = hms_run_on(h, ms[i], job_for(JOB_DESTROY, HMS_OP_OTHER, group, id, id_len), NULL);
        if (!err)
            found++;
        else if (err != KG_ERR_NOT_FOUND) /* the member goes down and drops the key at re-sync */
            kg_log(KG_LOG_WARN, "hsm key destroy failed; the member drops it at re-sync", "member", ms[i]->name,
                   "group", group, "error", kg_err_detail(err), NULL);
    }
    pthread_mutex_lock(&h->lock);
    if (found && g->keys)
        g->keys--;
    pthread_mutex_unlock(&h->lock);
    return KG_OK;
}

/* ------------------------------------------------------------ re-sync */

static bool has_id(const kg_hsm_key *v, size_t n, const kg_hsm_key *k)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].id_len == k->id_len && memcmp(v[i].id, k->id, k->id_len) == 0)
            return true;
    return false;
}

static kg_err list_on(kg_hms *h, const char *group, hms_member *m, hms_job **res)
{
    hms_job *j = hms_job_new(JOB_LIST, HMS_OP_OTHER);
    if (j)
        snprintf(j->label, sizeof(j->label), "kg/%s/", group);
    return hms_run_on(h, m, j, res);
}

static bool is_dead(kg_hms *h, const hms_group *g, const kg_hsm_key *k)
{
    pthread_mutex_lock(&h->lock);
    bool dead = tomb_has(g, k->id, k->id_len);
    pthread_mutex_unlock(&h->lock);
    return dead;
}

static kg_err destroy_dead(kg_hms *h, hms_group *g, hms_member *m, const kg_hsm_key *k, size_t *removed)
{
    kg_err err = hms_run_on(h, m, job_for(JOB_DESTROY, HMS_OP_OTHER, g->name, k->id, k->id_len), NULL);
    if (err == KG_ERR_NOT_FOUND)
        return KG_OK;
    if (!err)
        (*removed)++;
    return err;
}

/* With nobody to compare against (a group of one, or the first member of
 * its group back): m keeps its keys, except those forgotten meanwhile. */
static kg_err purge_dead(kg_hms *h, hms_group *g, hms_member *m, size_t *removed)
{
    pthread_mutex_lock(&h->lock);
    size_t nt = g->n_tomb;
    pthread_mutex_unlock(&h->lock);
    if (!nt)
        return KG_OK;
    hms_job *lm = NULL;
    kg_err err = list_on(h, g->name, m, &lm);
    for (size_t i = 0; !err && i < lm->n_list; i++)
        if (is_dead(h, g, &lm->list[i]))
            err = destroy_dead(h, g, m, &lm->list[i], removed);
    hms_job_put(h, lm);
    return err;
}

/* One comparison pass of dst against src for group. */
/* A key only the returning member dst holds and nobody destroyed through
 * HMS: copy it to the serving members (those that have it answer
 * KG_ERR_CONFLICT) rather than lose it. */
static void restore_key(kg_hms *h, hms_group *g, hms_member *dst, const kg_hsm_key *k)
{
    hms_member *to[HMS_MAX_GROUP_MEMBERS];
    pthread_mutex_lock(&h->lock);
    size_t n = serving(g, dst, to);
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < n; i++) {
        kg_err err = copy_key(h, g->name, dst, to[i], k);
        if (err && err != KG_ERR_CONFLICT)
            kg_log(KG_LOG_WARN, "hsm re-sync could not copy a key back", "member", to[i]->name, "group", g->name,
                   "error", kg_err_detail(err), NULL);
    }
}

static kg_err resync_pass(kg_hms *h, hms_group *g, hms_member *src, hms_member *dst, size_t *copied,
                          size_t *removed)
{
    const char *group = g->name;
    hms_job *ls = NULL, *ld = NULL;
    kg_err err = hms_kek_ensure(h, group, src, dst);
    if (!err)
        err = list_on(h, group, src, &ls);
    if (!err)
        err = list_on(h, group, dst, &ld);
    uint8_t kid[KG_HSM_MAX_ID];
    size_t klen = 0;
    hms_kek_id(kid, &klen, group);
    kg_hsm_key kek = { .id_len = klen };
    memcpy(kek.id, kid, klen);
    for (size_t i = 0; !err && i < ls->n_list; i++) {
        const kg_hsm_key *k = &ls->list[i];
        bool on_dst = has_id(ld->list, ld->n_list, k);
        if (has_id(&kek, 1, k))
            continue;
        if (is_dead(h, g, k)) {
            /* forgotten while both could not be reached: drop it on both,
             * never copy it; a failure on the source is the source's
             * problem (it goes down and re-syncs), not dst's */
            kg_err e = destroy_dead(h, g, src, k, removed);
            if (e)
                kg_log(KG_LOG_WARN, "hsm re-sync could not destroy a forgotten key", "member", src->name,
                       "group", group, "error", kg_err_detail(e), NULL);
            if (on_dst)
                err = destroy_dead(h, g, dst, k, removed);
        } else if (!on_dst && !(err = copy_key(h, group, src, dst, k))) {
            (*copied)++;
        }
    }
    for (size_t i = 0; !err && i < ld->n_list; i++) {
        const kg_hsm_key *k = &ld->list[i];
        if (has_id(&kek, 1, k) || has_id(ls->list, ls->n_list, k))
            continue;
        if (!is_dead(h, g, k))
            restore_key(h, g, dst, k);
        else
            err = destroy_dead(h, g, dst, k, removed);
    }
    hms_job_put(h, ls);
    hms_job_put(h, ld);
    return err;
}

/* Re-sync m in group g: source = best serving member; passes repeat while
 * keys are generated or destroyed meanwhile (at most three). */
static kg_err resync_group(kg_hms *h, hms_group *g, hms_member *m)
{
    size_t copied = 0, removed = 0;
    for (int pass = 0; pass < 3; pass++) {
        hms_member *src[HMS_MAX_GROUP_MEMBERS];
        pthread_mutex_lock(&h->lock);
        if (h->stop) {
            pthread_mutex_unlock(&h->lock);
            return kg_err_set(KG_ERR_INTERNAL, "HMS is closing");
        }
        uint64_t changes = g->changes;
        size_t n = serving(g, m, src);
        pthread_mutex_unlock(&h->lock);
        kg_err err = n ? resync_pass(h, g, src[0], m, &copied, &removed) : purge_dead(h, g, m, &removed);
        if (err)
            return err;
        pthread_mutex_lock(&h->lock);
        bool stable = g->changes == changes;
        pthread_mutex_unlock(&h->lock);
        if (stable)
            break;
    }
    if (g->n < 2 && !removed)
        return KG_OK; /* a group of one has nothing to re-sync unless a forgotten key went */
    char reason[HMS_DETAIL];
    snprintf(reason, sizeof(reason), "%zu key(s) replicated, %zu removed", copied, removed);
    pthread_mutex_lock(&h->lock);
    hms_event_push(h, "member_resynced", m->name, g->name, kg_hms_state_name(m->state), reason);
    hms_unlock_emit(h);
    return KG_OK;
}

kg_err hms_resync(kg_hms *h, hms_member *m)
{
    /* Keys come back as new objects: no cached handle may outlive them. */
    pthread_mutex_lock(&m->cache_mu);
    memset(m->cache, 0, sizeof(m->cache));
    pthread_mutex_unlock(&m->cache_mu);
    pthread_mutex_lock(&h->lock);
    size_t n = 0;
    hms_group *gs[64];
    for (hms_group *g = h->groups; g && n < 64; g = g->next)
        for (size_t i = 0; i < g->n; i++)
            if (g->members[i] == m)
                gs[n++] = g; /* a group of one too: its forgotten keys */
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < n; i++) {
        kg_err err = resync_group(h, gs[i], m);
        if (err)
            return err;
    }
    return KG_OK;
}
