/* HMS jobs and member workers.
 *
 * Every PKCS#11 call HMS makes on a member runs on one of that member's
 * worker threads, never on the caller's: a PKCS#11 call cannot be
 * interrupted, and an HSM that hangs must cost the caller op_timeout_ms, not
 * forever. A caller builds a job (which owns copies of its inputs), queues it
 * on the member and waits on the job's condition variable up to the
 * deadline. If the deadline passes first the caller abandons the job: it
 * drops its reference, takes the member down, and tries another member; the
 * worker frees the job when the hung call finally returns.
 *
 * Errors are sorted in two: those that say the member failed (device,
 * token, session, login: KG_ERR_IO, KG_ERR_CRYPTO, ...) count against it
 * and make the caller fail over; those that are the request's own fault
 * (bad input, wrong key usage, failed decryption, unknown key) are returned
 * as they are, since every member would answer the same. The exception is
 * KG_ERR_NOT_FOUND for a group key: hms_exec asks the other members, since
 * one member may have lost a key the others hold. */
#include "hms_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ jobs */

hms_job *hms_job_new(hms_job_kind kind, hms_op op)
{
    hms_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->kind = kind;
    j->op = op;
    j->refs = 1;
    return j;
}

static bool bytes_copy(kg_bytes *dst, const kg_bytes *src)
{
    memset(dst, 0, sizeof(*dst));
    if (!src->data)
        return true;
    return kg_bytes_set(dst, src->data, src->len) == KG_OK;
}

/* A job may carry plaintext (the input of an encryption, the output of a
 * decryption): wipe before freeing. */
static void bytes_wipe_free(kg_bytes *b)
{
    if (b->data)
        kg_wipe(b->data, b->len);
    kg_bytes_free(b);
}

static void job_free(hms_job *j)
{
    bytes_wipe_free(&j->in);
    bytes_wipe_free(&j->aad);
    bytes_wipe_free(&j->extra);
    bytes_wipe_free(&j->out);
    free(j->list);
    if (j->show)
        json_decref((json_t *)j->show);
    pthread_cond_destroy(&j->cv);
    free(j);
}

hms_job *hms_job_clone(const hms_job *src)
{
    hms_job *j = hms_job_new(src->kind, src->op);
    if (!j)
        return NULL;
    j->type = src->type;
    memcpy(j->id, src->id, sizeof(j->id));
    j->id_len = src->id_len;
    memcpy(j->id2, src->id2, sizeof(j->id2));
    j->id2_len = src->id2_len;
    memcpy(j->label, src->label, sizeof(j->label));
    j->key = src->key;
    memcpy(j->iv, src->iv, sizeof(j->iv));
    j->fmt = src->fmt;
    j->digest = src->digest;
    j->flags = src->flags;
    if (!bytes_copy(&j->in, &src->in) || !bytes_copy(&j->aad, &src->aad) ||
        !bytes_copy(&j->extra, &src->extra)) {
        job_free(j);
        return NULL;
    }
    return j;
}

void hms_job_put(kg_hms *h, hms_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&h->lock);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&h->lock);
    if (last)
        job_free(j);
}

/* ---------------------------------------------------------- running jobs */

/* Look id up in m's handle cache, else on the token (and remember it). */
static kg_err find(hms_member *m, kg_hsm_token *t, kg_hsm_key *k, const uint8_t *id, size_t id_len, bool *hit)
{
    pthread_mutex_lock(&m->cache_mu);
    for (size_t i = 0; i < HMS_KEY_CACHE; i++) {
        const kg_hsm_key *c = &m->cache[i].key;
        if (c->id_len == id_len && memcmp(c->id, id, id_len) == 0) {
            *k = *c;
            *hit = true;
            pthread_mutex_unlock(&m->cache_mu);
            return KG_OK;
        }
    }
    pthread_mutex_unlock(&m->cache_mu);
    kg_err err = kg_hsm_key_find(t, k, id, id_len);
    if (err)
        return err;
    pthread_mutex_lock(&m->cache_mu);
    m->cache[m->cache_next].key = *k;
    m->cache_next = (m->cache_next + 1) % HMS_KEY_CACHE;
    pthread_mutex_unlock(&m->cache_mu);
    return KG_OK;
}

static void forget(hms_member *m, const uint8_t *id, size_t id_len)
{
    pthread_mutex_lock(&m->cache_mu);
    for (size_t i = 0; i < HMS_KEY_CACHE; i++) {
        kg_hsm_key *c = &m->cache[i].key;
        if (c->id_len == id_len && memcmp(c->id, id, id_len) == 0)
            memset(c, 0, sizeof(*c));
    }
    pthread_mutex_unlock(&m->cache_mu);
}

/* The key operations (everything but OPEN/PROBE/SHOW) on token t. */
static kg_err run_key_job(hms_member *m, kg_hsm_token *t, hms_job *j, bool *hit)
{
    kg_hsm_key k, kek;
    kg_err err = KG_OK;
    switch (j->kind) {
    case JOB_SIGN:
        if ((err = find(m, t, &k, j->id, j->id_len, hit)))
            return err;
        return j->digest ? kg_hsm_sign_digest(t, &j->out, &k, j->fmt, j->in.data)
                         : kg_hsm_sign(t, &j->out, &k, j->fmt, j->in.data, j->in.len);
    case JOB_GCM_ENC: case JOB_GCM_DEC:
        if ((err = find(m, t, &k, j->id, j->id_len, hit)))
            return err;
        return j->kind == JOB_GCM_ENC
            ? kg_hsm_aes_gcm_encrypt(t, &j->out, &k, j->iv, j->aad.data, j->aad.len, j->in.data, j->in.len)
            : kg_hsm_aes_gcm_decrypt(t, &j->out, &k, j->iv, j->aad.data, j->aad.len, j->in.data, j->in.len);
    case JOB_OAEP_DEC:
        if ((err = find(m, t, &k, j->id, j->id_len, hit)))
            return err;
        return kg_hsm_rsa_oaep_decrypt(t, &j->out, &k, j->extra.data, j->extra.len,
                                       j->in.data ? j->in.data : (const uint8_t *)"", j->in.len);
    case JOB_GENERATE:
        if ((err = kg_hsm_key_generate_ex(t, &j->key_out, j->type, j->label, j->id, j->id_len, j->flags)))
            return err;
        return j->type == KG_HSM_KEY_AES256 ? KG_OK : kg_hsm_key_public_der(t, &j->out, &j->key_out);
    case JOB_PUBLIC_DER:
        if ((err = find(m, t, &k, j->id, j->id_len, hit)))
            return err;
        return kg_hsm_key_public_der(t, &j->out, &k);
    case JOB_DESTROY:
        if ((err = find(m, t, &k, j->id, j->id_len, hit)))
            return err;
        forget(m, j->id, j->id_len);
        return kg_hsm_key_destroy(t, &k);
    case JOB_FIND:
        return kg_hsm_key_find(t, &j->key_out, j->id, j->id_len);
    case JOB_LIST:
        return kg_hsm_key_list(t, &j->list, &j->n_list, j->label);
    case JOB_KEK_GENERATE:
        return kg_hsm_kek_generate(t, &j->key_out, j->label, j->id, j->id_len);
    case JOB_TRANSPORT_BEGIN:
        return kg_hsm_transport_begin(t, &j->key_out, &j->out);
    case JOB_KEK_WRAP_FOR:
        if ((err = find(m, t, &kek, j->id2, j->id2_len, hit)))
            return err;
        return kg_hsm_kek_wrap_for(t, &j->out, &kek, j->in.data, j->in.len);
    case JOB_KEK_UNWRAP:
        return kg_hsm_kek_unwrap(t, &j->key_out, &j->key, j->in.data, j->in.len, j->label, j->id2, j->id2_len);
    case JOB_TRANSPORT_END:
        kg_hsm_transport_end(t, &j->key);
        return KG_OK;
    case JOB_KEY_WRAP:
        if ((err = find(m, t, &kek, j->id2, j->id2_len, hit)) || (err = find(m, t, &k, j->id, j->id_len, hit)))
            return err;
        return kg_hsm_key_wrap(t, &j->out, &kek, &k);
    case JOB_KEY_UNWRAP:
        if ((err = find(m, t, &kek, j->id2, j->id2_len, hit)))
            return err;
        return kg_hsm_key_unwrap(t, &j->key_out, &kek, j->type, j->in.data, j->in.len, j->label, j->id,
                                 j->id_len, j->extra.data, j->extra.len);
    default:
        return kg_err_set(KG_ERR_INTERNAL, "unknown HMS job %d", (int)j->kind);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_job(hms_member *m, kg_hsm_token *t, hms_job *j)
{
    kg_err_clear();
    double t0 = now_s();
    kg_err err;
    if (j->kind == JOB_OPEN || j->kind == JOB_PROBE)
        err = hms_probe_run(m, t, j);
    else if (j->kind == JOB_SHOW)
        err = hms_show_run(m, t, j);
    else if (!t)
        err = kg_err_set(KG_ERR_IO, "member %s is not open", m->name);
    else {
        /* A cached handle is trusted within its token generation: the
         * client raises the generation on every reconnect and new login
         * (SoftHSM2 numbers objects anew then), so a stale handle is found
         * again by CKA_ID there. A handle of an object destroyed behind our
         * back answers NOT_FOUND: forget it, and hms_exec sends the member
         * to re-sync. */
        bool hit = false;
        err = run_key_job(m, t, j, &hit);
        if (hit && err == KG_ERR_NOT_FOUND) {
            forget(m, j->id, j->id_len);
            forget(m, j->id2, j->id2_len);
        }
    }
    j->seconds = now_s() - t0;
    j->err = err;
    if (err)
        snprintf(j->detail, sizeof(j->detail), "%s", kg_err_detail(err));
}

/* Feed the latency EWMA the balancer uses with operations like the ones it
 * balances (sign, encrypt, decrypt) and with the probe's signature, so a
 * member that lost the comparison once still gets fresh samples every
 * probe interval instead of being starved by one slow key replication. */
static void ewma_sample(hms_member *m, const hms_job *j)
{
    double s = -1;
    if (j->op == HMS_OP_SIGN || j->op == HMS_OP_ENCRYPT || j->op == HMS_OP_DECRYPT)
        s = j->seconds;
    else if (j->kind == JOB_PROBE && j->sign_seconds > 0)
        s = j->sign_seconds;
    if (s >= 0)
        m->ewma_ms = m->ewma_ms * 0.8 + s * 1000.0 * 0.2;
}

static void *worker(void *arg)
{
    hms_member *m = arg;
    kg_hms *h = m->h;
    pthread_mutex_lock(&h->lock);
    while (!m->stop) {
        hms_job *j = m->head;
        if (!j) {
            pthread_cond_wait(&m->cv, &h->lock);
            continue;
        }
        m->head = j->next;
        if (!m->head)
            m->tail = NULL;
        kg_hsm_token *t = m->tok;
        pthread_mutex_unlock(&h->lock);
        run_job(m, t, j);
        pthread_mutex_lock(&h->lock);
        j->done = true;
        m->inflight--;
        if (j->kind == JOB_PROBE || j->kind == JOB_OPEN)
            m->probe_pending = false;
        if (!j->abandoned) {
            bool fault = j->err && hms_member_error(j->err);
            hms_stats_add(&m->stats[j->op], j->seconds, fault);
            m->ops++;
            if (fault)
                m->errors++;
            else
                ewma_sample(m, j);
        }
        pthread_cond_broadcast(&j->cv);
        bool last = --j->refs == 0;
        if (last) {
            pthread_mutex_unlock(&h->lock);
            job_free(j);
            pthread_mutex_lock(&h->lock);
        }
    }
    m->live--;
    pthread_cond_broadcast(&h->exit_cv);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* -------------------------------------------------------- submit / wait */

void hms_submit_locked(hms_member *m, hms_job *j)
{
    if (m->stop) { /* removed (or closing): no worker will take it */
        j->done = true;
        j->err = KG_ERR_NOT_FOUND;
        snprintf(j->detail, sizeof(j->detail), "HSM member %s was removed", m->name);
        pthread_cond_broadcast(&j->cv);
        return;
    }
    j->refs++;
    j->next = NULL;
    if (m->tail)
        m->tail->next = j;
    else
        m->head = j;
    m->tail = j;
    m->inflight++;
    pthread_cond_signal(&m->cv);
}

void hms_deadline(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

bool hms_wait_locked(kg_hms *h, hms_job *j, const struct timespec *deadline)
{
    while (!j->done) {
        if (pthread_cond_timedwait(&j->cv, &h->lock, deadline) == ETIMEDOUT && !j->done) {
            j->abandoned = true;
            return false;
        }
    }
    return true;
}

bool hms_member_error(kg_err err)
{
    switch (err) {
    case KG_OK: case KG_ERR_BAD_INPUT: case KG_ERR_DECRYPT: case KG_ERR_VERIFY:
    case KG_ERR_WRONG_KEY_USAGE: case KG_ERR_NOT_FOUND: case KG_ERR_CONFLICT: case KG_ERR_ARG:
        return false;
    default: /* KG_ERR_IO, KG_ERR_CRYPTO, KG_ERR_NOMEM, KG_ERR_UNAUTHENTICATED, KG_ERR_DENIED, ... */
        return true;
    }
}

static const char *job_fn(const hms_job *j)
{
    switch (j->kind) {
    case JOB_SIGN: return "C_Sign";
    case JOB_GCM_ENC: return "C_Encrypt";
    case JOB_GCM_DEC: case JOB_OAEP_DEC: return "C_Decrypt";
    case JOB_GENERATE: case JOB_KEK_GENERATE: return "C_GenerateKey";
    case JOB_TRANSPORT_BEGIN: return "C_GenerateKeyPair";
    case JOB_KEY_WRAP: case JOB_KEK_WRAP_FOR: return "C_WrapKey";
    case JOB_KEY_UNWRAP: case JOB_KEK_UNWRAP: return "C_UnwrapKey";
    case JOB_DESTROY: case JOB_TRANSPORT_END: return "C_DestroyObject";
    case JOB_FIND: case JOB_LIST: return "C_FindObjects";
    case JOB_PROBE: return "probe";
    case JOB_OPEN: return "open (C_Initialize/C_Login)";
    default: return "PKCS#11 call";
    }
}

void hms_member_failed(hms_member *m, bool timeout, const char *what)
{
    m->consecutive_errors++;
    m->errors_since_probe++;
    unsigned limit = m->h->cfg.down_after_errors ? m->h->cfg.down_after_errors : 1;
    if (m->state == KG_HMS_DOWN)
        return;
    if (timeout || m->consecutive_errors >= limit)
        hms_set_state(m, KG_HMS_DOWN, "%s", what);
    else if (m->state == KG_HMS_HEALTHY)
        hms_set_state(m, KG_HMS_DEGRADED, "%s (%u of %u errors before down)", what, m->consecutive_errors, limit);
}

unsigned hms_timeout_ms(const kg_hms *h, hms_job_kind kind)
{
    switch (kind) {
    case JOB_SIGN: case JOB_GCM_ENC: case JOB_GCM_DEC: case JOB_OAEP_DEC: case JOB_PROBE: case JOB_FIND:
    case JOB_PUBLIC_DER: case JOB_SHOW:
        return h->cfg.op_timeout_ms;
    default: { /* key generation (RSA-3072 takes seconds on some HSMs), wrapping, opening */
        unsigned long t = 10UL * h->cfg.op_timeout_ms;
        return t < 5000 ? 5000 : t > 600000 ? 600000 : (unsigned)t;
    }
    }
}

kg_err hms_call(kg_hms *h, hms_member *m, hms_job *j, bool *member_fault, hms_job **result)
{
    *member_fault = false;
    if (result)
        *result = NULL;
    struct timespec dl;
    unsigned timeout = hms_timeout_ms(h, j->kind);
    hms_deadline(&dl, timeout);
    pthread_mutex_lock(&h->lock);
    hms_submit_locked(m, j);
    if (!hms_wait_locked(h, j, &dl)) {
        char what[HMS_DETAIL];
        snprintf(what, sizeof(what), "operation %s timed out after %u ms", job_fn(j), timeout);
        hms_stats_add(&m->stats[j->op], timeout / 1000.0, true);
        m->ops++;
        m->errors++;
        hms_member_failed(m, true, what);
        hms_unlock_emit(h);
        hms_job_put(h, j);
        *member_fault = true;
        return kg_err_set(KG_ERR_IO, "member %s: %s", m->name, what);
    }
    kg_err err = j->err;
    if (err && hms_member_error(err)) {
        char what[HMS_DETAIL];
        snprintf(what, sizeof(what), "%s", j->detail);
        hms_member_failed(m, false, what);
        *member_fault = true;
    } else {
        m->consecutive_errors = 0;
    }
    hms_unlock_emit(h);
    if (err)
        kg_err_set(err, "%s", j->detail);
    if (result && !err)
        *result = j;
    else
        hms_job_put(h, j);
    return err;
}

/* -------------------------------------------------------- start / stop */

kg_err hms_member_start(kg_hms *h, hms_member *m)
{
    size_t n = h->cfg.sessions_per_member ? h->cfg.sessions_per_member : KG_HSM_DEFAULT_SESSIONS;
    m->threads = calloc(n, sizeof(pthread_t));
    if (!m->threads)
        return kg_err_set(KG_ERR_NOMEM, "member %s workers", m->name);
    pthread_cond_init(&m->cv, NULL);
    pthread_mutex_init(&m->cache_mu, NULL);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&h->lock);
        m->live++;
        pthread_mutex_unlock(&h->lock);
        if (pthread_create(&m->threads[i], NULL, worker, m) != 0) {
            pthread_mutex_lock(&h->lock);
            m->live--;
            pthread_mutex_unlock(&h->lock);
            break;
        }
        m->n_threads++;
    }
    return m->n_threads ? KG_OK : kg_err_set(KG_ERR_INTERNAL, "cannot start workers of member %s", m->name);
}

/* Fail the queued jobs, ask the workers to exit and wait up to wait_ms for
 * them. A worker inside a hung PKCS#11 call cannot be stopped: then every
 * thread is detached and false tells the caller to leak the member (and the
 * kg_hms whose lock the worker will take when the call returns). */
bool hms_member_stop(kg_hms *h, hms_member *m, unsigned wait_ms)
{
    struct timespec dl;
    hms_deadline(&dl, wait_ms);
    pthread_mutex_lock(&h->lock);
    m->stop = true;
    for (hms_job *j = m->head; j; j = m->head) {
        m->head = j->next;
        j->done = true;
        j->err = KG_ERR_INTERNAL;
        snprintf(j->detail, sizeof(j->detail), "HMS is closing");
        m->inflight--;
        pthread_cond_broadcast(&j->cv);
        if (--j->refs == 0)
            job_free(j);
    }
    m->tail = NULL;
    pthread_cond_broadcast(&m->cv);
    while (m->live > 0)
        if (pthread_cond_timedwait(&h->exit_cv, &h->lock, &dl) == ETIMEDOUT)
            break;
    bool clean = m->live == 0;
    pthread_mutex_unlock(&h->lock);
    for (size_t i = 0; i < m->n_threads; i++) {
        if (clean)
            pthread_join(m->threads[i], NULL);
        else
            pthread_detach(m->threads[i]);
    }
    return clean;
}

kg_err hms_run_on(kg_hms *h, hms_member *m, hms_job *j, hms_job **result)
{
    bool fault = false;
    if (!j)
        return kg_err_set(KG_ERR_NOMEM, "HMS job");
    return hms_call(h, m, j, &fault, result);
}
