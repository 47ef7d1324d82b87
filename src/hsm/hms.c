/* HMS core: open/close, the probe thread, events and member states, and
 * the balanced, failed-over operations on group keys.
 *
 * Balancing: among the members of the group that serve (healthy, or
 * degraded when no healthy one is left) the caller picks the lowest
 * ewma_latency * (inflight + 1), so a slow or busy member gets fewer calls
 * without being starved of the samples that would show it recovered.
 * Failover: a call that times out or fails with a member error (hms_job.c)
 * is retried on the next-best member not tried yet; the caller sees an
 * error only when every serving member failed. A member that does not know
 * a group key another member holds lost it: it is counted as an error of
 * that member and sent to re-sync ("syncing"), and the caller is served by
 * the other (mark_missing); only a key no member knows is NOT_FOUND.
 *
 * Events (member_state, key_replicated, member_resynced, group_created) are
 * queued under the lock and delivered by hms_unlock_emit after it is
 * released, so on_event may call back into HMS. */
#include "hms_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void kg_hms_config_default(kg_hms_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->probe_interval_ms = 2000;
    cfg->op_timeout_ms = 2000;
    cfg->down_after_errors = 3;
    cfg->degraded_latency_ms = 250;
    cfg->sessions_per_member = KG_HSM_DEFAULT_SESSIONS;
}

const char *kg_hms_state_name(kg_hms_state s)
{
    switch (s) {
    case KG_HMS_HEALTHY: return "healthy";
    case KG_HMS_DEGRADED: return "degraded";
    case KG_HMS_DOWN: return "down";
    case KG_HMS_SYNCING: return "syncing";
    }
    return "unknown";
}

bool hms_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > HMS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return false;
    }
    return true;
}

hms_group *hms_group_find(kg_hms *h, const char *name)
{
    for (hms_group *g = h->groups; g; g = g->next)
        if (strcmp(g->name, name) == 0)
            return g;
    return NULL;
}

hms_member *hms_member_find(kg_hms *h, const char *name)
{
    for (hms_member *m = h->members; m; m = m->next)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

bool hms_member_serving(const hms_member *m)
{
    return m->tok && (m->state == KG_HMS_HEALTHY || m->state == KG_HMS_DEGRADED);
}

/* ---------------------------------------------------------------- events */

void hms_event_push(kg_hms *h, const char *event, const char *member, const char *group, const char *state,
                    const char *reason)
{
    if (!h->cfg.on_event)
        return;
    hms_event *e = calloc(1, sizeof(*e));
    if (!e)
        return; /* an audit event lost to OOM; the state itself is right */
    snprintf(e->event, sizeof(e->event), "%s", event);
    snprintf(e->member, sizeof(e->member), "%s", member ? member : "");
    snprintf(e->group, sizeof(e->group), "%s", group ? group : "");
    snprintf(e->state, sizeof(e->state), "%s", state ? state : "");
    snprintf(e->reason, sizeof(e->reason), "%s", reason ? reason : "");
    if (h->events_tail)
        h->events_tail->next = e;
    else
        h->events = e;
    h->events_tail = e;
}

void hms_unlock_emit(kg_hms *h)
{
    hms_event *e = h->events;
    h->events = h->events_tail = NULL;
    pthread_mutex_unlock(&h->lock);
    while (e) {
        hms_event *next = e->next;
        h->cfg.on_event(h->cfg.event_ctx, e->event, e->member[0] ? e->member : NULL,
                        e->group[0] ? e->group : NULL, e->state[0] ? e->state : NULL, e->reason);
        free(e);
        e = next;
    }
}

void hms_set_state(hms_member *m, kg_hms_state s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
    va_end(ap);
    if (m->state == s)
        return;
    m->state = s;
    hms_event_push(m->h, "member_state", m->name, NULL, kg_hms_state_name(s), m->reason);
    kg_log(s == KG_HMS_DOWN ? KG_LOG_WARN : KG_LOG_INFO, "hsm member state", "member", m->name, "state",
           kg_hms_state_name(s), "reason", m->reason, NULL);
}

/* --------------------------------------------------------- open / close */

static void *probe_thread(void *arg)
{
    kg_hms *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stop) {
        struct timespec dl;
        hms_deadline(&dl, h->cfg.probe_interval_ms);
        while (!h->stop && pthread_cond_timedwait(&h->probe_cv, &h->lock, &dl) != ETIMEDOUT) {
        }
        if (h->stop)
            break;
        pthread_mutex_unlock(&h->lock);
        hms_probe_round(h);
        pthread_mutex_lock(&h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

kg_err kg_hms_open(kg_hms **out, const kg_hms_config *cfg)
{
    *out = NULL;
    kg_hms *h = calloc(1, sizeof(*h));
    if (!h)
        return kg_err_set(KG_ERR_NOMEM, "HMS");
    h->cfg = *cfg;
    if (!h->cfg.probe_interval_ms)
        h->cfg.probe_interval_ms = 2000;
    if (!h->cfg.op_timeout_ms)
        h->cfg.op_timeout_ms = 2000;
    if (!h->cfg.down_after_errors)
        h->cfg.down_after_errors = 3;
    if (!h->cfg.degraded_latency_ms)
        h->cfg.degraded_latency_ms = 250;
    if (!h->cfg.sessions_per_member)
        h->cfg.sessions_per_member = KG_HSM_DEFAULT_SESSIONS;
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->exit_cv, &ca);
    pthread_cond_init(&h->probe_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&h->probe_thread, NULL, probe_thread, h) != 0) {
        kg_hms_close(h);
        return kg_err_set(KG_ERR_INTERNAL, "cannot start the HMS probe thread");
    }
    h->probe_started = true;
    *out = h;
    return KG_OK;
}

void kg_hms_close(kg_hms *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_cond_broadcast(&h->probe_cv);
    pthread_mutex_unlock(&h->lock);
    if (h->probe_started)
        pthread_join(h->probe_thread, NULL);
    while (h->groups) {
        hms_group *g = h->groups;
        h->groups = g->next;
        free(g->tomb);
        free(g);
    }
    bool leaked = false;
    while (h->members) {
        hms_member *m = h->members;
        h->members = m->next;
        if (hms_member_stop(h, m, h->cfg.op_timeout_ms + 1000)) {
            hms_member_free(m);
        } else {
            /* A worker is inside a PKCS#11 call that does not return. It
             * will lock h->lock and read m when it does, so both stay. */
            kg_log(KG_LOG_WARN, "hsm member left behind: a PKCS#11 call hangs", "member", m->name, NULL);
            leaked = true;
        }
    }
    while (h->removed) {
        hms_member *m = h->removed;
        h->removed = m->next;
        pthread_mutex_lock(&h->lock);
        bool gone = m->live == 0; /* its detached workers may have exited since */
        pthread_mutex_unlock(&h->lock);
        if (m->stopped || gone) {
            hms_member_free(m);
        } else {
            kg_log(KG_LOG_WARN, "hsm member left behind: a PKCS#11 call hangs", "member", m->name, NULL);
            leaked = true;
        }
    }
    for (hms_event *e = h->events; e;) {
        hms_event *next = e->next;
        free(e);
        e = next;
    }
    h->events = h->events_tail = NULL;
    if (leaked)
        return;
    pthread_cond_destroy(&h->exit_cv);
    pthread_cond_destroy(&h->probe_cv);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void kg_hms_probe_now(kg_hms *h)
{
    hms_probe_round(h);
}

/* ------------------------------------------------------------- failover */

/* The best serving member of g not tried yet (lock held). */
static int pick(const hms_group *g, const bool *tried)
{
    int best = -1;
    double best_score = 0;
    bool best_healthy = false;
    for (size_t i = 0; i < g->n; i++) {
        const hms_member *m = g->members[i];
        if (tried[i] || !hms_member_serving(m))
            continue;
        bool healthy = m->state == KG_HMS_HEALTHY;
        double score = (m->ewma_ms > 0.001 ? m->ewma_ms : 0.001) * (double)(m->inflight + 1);
        if (best < 0 || (healthy && !best_healthy) || (healthy == best_healthy && score < best_score)) {
            best = (int)i;
            best_score = score;
            best_healthy = healthy;
        }
    }
    return best;
}

/* Whether j names a group key that every member of the group should hold. */
static bool group_key_job(const hms_job *j)
{
    return j->kind == JOB_SIGN || j->kind == JOB_GCM_ENC || j->kind == JOB_GCM_DEC || j->kind == JOB_OAEP_DEC ||
           j->kind == JOB_PUBLIC_DER;
}

/* Members that answered KG_ERR_NOT_FOUND for a key another member of the
 * group holds lost it (deleted on the token, a restore from an old backup,
 * a replication that never finished): count it against each of them and
 * take them out of service as "syncing", so the next probe round re-syncs
 * them (hms_probe_round) and copies the key back. Lock held. */
static void mark_missing(const hms_group *g, const hms_job *j, hms_member *const *missing, size_t n)
{
    char label[160];
    hms_label(label, sizeof(label), g->name, j->id, j->id_len);
    const char *id = label + strlen("kg/") + strlen(g->name) + 1;
    for (size_t i = 0; i < n; i++) {
        hms_member *m = missing[i];
        m->stats[j->op].errors++; /* the worker counted the call itself as an op */
        m->errors++;
        m->errors_since_probe++;
        if (m->state == KG_HMS_HEALTHY || m->state == KG_HMS_DEGRADED)
            hms_set_state(m, KG_HMS_SYNCING, "key %s missing; re-synchronising", id);
    }
}

kg_err hms_exec(kg_hms *h, const char *group, hms_job *proto, hms_job **res, hms_member **served)
{
    *res = NULL;
    if (served)
        *served = NULL;
    pthread_mutex_lock(&h->lock);
    hms_group *g = hms_group_find(h, group);
    if (!g) {
        pthread_mutex_unlock(&h->lock);
        hms_job_put(h, proto);
        return kg_err_set(KG_ERR_NOT_FOUND, "no HSM group '%s'", group);
    }
    bool tried[HMS_MAX_GROUP_MEMBERS] = {0};
    hms_member *missing[HMS_MAX_GROUP_MEMBERS];
    size_t n_missing = 0;
    bool any_fault = false;
    char last[HMS_DETAIL] = "every member is down", not_found[HMS_DETAIL] = "";
    kg_err err = KG_OK;
    for (int i; (i = pick(g, tried)) >= 0;) {
        tried[i] = true;
        hms_member *m = g->members[i];
        pthread_mutex_unlock(&h->lock);
        hms_job *j = hms_job_clone(proto);
        bool fault = false;
        err = j ? hms_call(h, m, j, &fault, res) : kg_err_set(KG_ERR_NOMEM, "HMS job");
        if (err == KG_ERR_NOT_FOUND && group_key_job(proto)) {
            /* Unknown here: ask the others before telling the caller the
             * key does not exist (one member may have lost it). */
            snprintf(not_found, sizeof(not_found), "%s", kg_err_detail(err));
            pthread_mutex_lock(&h->lock);
            missing[n_missing++] = m;
            continue;
        }
        if (!err || !fault) {
            if (!err && n_missing) { /* another member holds it: those lost it */
                pthread_mutex_lock(&h->lock);
                mark_missing(g, proto, missing, n_missing);
                hms_unlock_emit(h);
            }
            if (!err && served)
                *served = m;
            hms_job_put(h, proto);
            return err;
        }
        any_fault = true;
        snprintf(last, sizeof(last), "%s", kg_err_detail(err));
        pthread_mutex_lock(&h->lock);
        h->failovers++;
    }
    pthread_mutex_unlock(&h->lock);
    hms_job_put(h, proto);
    if (n_missing && !any_fault) /* no member knows the key: the request's own error */
        return kg_err_set(KG_ERR_NOT_FOUND, "%s (nor on any other serving member of group %s)", not_found, group);
    return kg_err_set(KG_ERR_CRYPTO, "no healthy member in group %s: %s", group, last);
}

/* --------------------------------------------------------- operations */

static kg_err key_job(hms_job **out, hms_job_kind kind, hms_op op, const uint8_t *id, size_t id_len)
{
    *out = NULL;
    if (id_len == 0 || id_len > KG_HSM_MAX_ID)
        return kg_err_set(KG_ERR_BAD_INPUT, "a key id must be 1 to %d bytes", KG_HSM_MAX_ID);
    hms_job *j = hms_job_new(kind, op);
    if (!j)
        return kg_err_set(KG_ERR_NOMEM, "HMS job");
    memcpy(j->id, id, id_len);
    j->id_len = id_len;
    *out = j;
    return KG_OK;
}

static kg_err set_in(kg_bytes *b, const uint8_t *data, size_t len)
{
    if (!data || !len)
        return KG_OK;
    return kg_bytes_set(b, data, len) ? kg_err_set(KG_ERR_NOMEM, "HMS job input") : KG_OK;
}

/* Run proto on the group and move its output into out. */
static kg_err exec_out(kg_hms *h, const char *group, hms_job *proto, kg_bytes *out)
{
    hms_job *res = NULL;
    kg_err err = hms_exec(h, group, proto, &res, NULL);
    if (!err) {
        *out = res->out;
        memset(&res->out, 0, sizeof(res->out));
    }
    hms_job_put(h, res);
    return err;
}

kg_err kg_hms_sign(kg_hms *h, kg_bytes *sig, const char *group, const uint8_t *id, size_t id_len,
                   kg_hsm_sig_format fmt, bool digest, const uint8_t *data, size_t len)
{
    memset(sig, 0, sizeof(*sig));
    if (digest && (!data || len != 32))
        return kg_err_set(KG_ERR_BAD_INPUT, "a digest to sign is 32 bytes");
    hms_job *j = NULL;
    kg_err err = key_job(&j, JOB_SIGN, HMS_OP_SIGN, id, id_len);
    if (!err && (err = set_in(&j->in, data, len)))
        hms_job_put(h, j);
    if (err)
        return err;
    j->fmt = fmt;
    j->digest = digest;
    return exec_out(h, group, j, sig);
}

static kg_err gcm(kg_hms *h, kg_bytes *out, bool enc, const char *group, const uint8_t *id, size_t id_len,
                  const uint8_t iv[KG_HSM_GCM_IV_BYTES], const uint8_t *aad, size_t aad_len,
                  const uint8_t *in, size_t in_len)
{
    memset(out, 0, sizeof(*out));
    hms_job *j = NULL;
    kg_err err = key_job(&j, enc ? JOB_GCM_ENC : JOB_GCM_DEC, enc ? HMS_OP_ENCRYPT : HMS_OP_DECRYPT, id, id_len);
    if (!err && ((err = set_in(&j->in, in, in_len)) || (err = set_in(&j->aad, aad, aad_len))))
        hms_job_put(h, j);
    if (err)
        return err;
    memcpy(j->iv, iv, KG_HSM_GCM_IV_BYTES);
    return exec_out(h, group, j, out);
}

kg_err kg_hms_aes_gcm_encrypt(kg_hms *h, kg_bytes *out, const char *group, const uint8_t *id, size_t id_len,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES], const uint8_t *aad, size_t aad_len,
                              const uint8_t *pt, size_t pt_len)
{
    return gcm(h, out, true, group, id, id_len, iv, aad, aad_len, pt, pt_len);
}

kg_err kg_hms_aes_gcm_decrypt(kg_hms *h, kg_bytes *out, const char *group, const uint8_t *id, size_t id_len,
                              const uint8_t iv[KG_HSM_GCM_IV_BYTES], const uint8_t *aad, size_t aad_len,
                              const uint8_t *ct, size_t ct_len)
{
    return gcm(h, out, false, group, id, id_len, iv, aad, aad_len, ct, ct_len);
}

kg_err kg_hms_rsa_oaep_decrypt(kg_hms *h, kg_bytes *out, const char *group, const uint8_t *id, size_t id_len,
                               const uint8_t *label, size_t label_len, const uint8_t *ct, size_t ct_len)
{
    memset(out, 0, sizeof(*out));
    hms_job *j = NULL;
    kg_err err = key_job(&j, JOB_OAEP_DEC, HMS_OP_DECRYPT, id, id_len);
    if (!err && ((err = set_in(&j->in, ct, ct_len)) || (err = set_in(&j->extra, label, label_len))))
        hms_job_put(h, j);
    if (err)
        return err;
    return exec_out(h, group, j, out);
}

kg_err kg_hms_key_public_der(kg_hms *h, kg_bytes *pub_der, const char *group, const uint8_t *id, size_t id_len)
{
    memset(pub_der, 0, sizeof(*pub_der));
    hms_job *j = NULL;
    kg_err err = key_job(&j, JOB_PUBLIC_DER, HMS_OP_OTHER, id, id_len);
    if (err)
        return err;
    return exec_out(h, group, j, pub_der);
}
