/* HMS members: registration and removal, opening, health probes and their states,
 * discovery (kg_hms_member_show) and the member JSON.
 *
 * A member is one token of one PKCS#11 module, with its own PIN copy in
 * guarded memory and its own worker threads (hms_job.c). The probe runs
 * every probe_interval_ms as a job on each member, bounded by op_timeout_ms
 * like any other call: login check (kg_hsm_token_ping), then a signature
 * with the member's P-256 probe key "kg/probe" (made on the first probe)
 * verified here with OpenSSL on the exported public key, so a token that
 * answers but computes garbage is caught too. A member that never opened is
 * opened by its probe, except after a wrong or locked PIN: retrying a wrong
 * PIN every two seconds would lock the token's PIN on a real HSM; the
 * reason tells the operator to remove the member and add it again with the
 * right PIN (kg_hms_member_remove, at the end of this file). */
#include "hms_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <p11-kit-1/p11-kit/pkcs11.h>

#define PROBE_ID "kg/probe"

/* ------------------------------------------------------------ opening */

kg_err hms_member_open(hms_member *m)
{
    kg_hms *h = m->h;
    pthread_mutex_lock(&h->lock);
    bool open = m->tok != NULL;
    pthread_mutex_unlock(&h->lock);
    if (open)
        return KG_OK;
    kg_hsm_module *mod = NULL;
    kg_hsm_token *tok = NULL;
    kg_err err = kg_hsm_module_load(&mod, m->module_path);
    if (err)
        return err;
    size_t n = h->cfg.sessions_per_member ? h->cfg.sessions_per_member : KG_HSM_DEFAULT_SESSIONS;
    err = kg_hsm_token_open(&tok, mod, m->token_label, m->pin, n);
    if (err) {
        char detail[HMS_DETAIL];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        kg_hsm_module_release(mod);
        return kg_err_set(err, "%s", detail);
    }
    pthread_mutex_lock(&h->lock);
    m->mod = mod;
    m->tok = tok;
    pthread_mutex_unlock(&h->lock);
    return KG_OK;
}

/* ------------------------------------------------------------- probe */

static kg_err verify_probe(const kg_bytes *pub, const kg_bytes *sig, const uint8_t *msg, size_t len)
{
    const unsigned char *p = pub->data;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)pub->len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = pk && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestVerify(md, sig->data, sig->len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    return ok ? KG_OK : kg_err_set(KG_ERR_CRYPTO, "the probe signature does not verify");
}

/* Find or make the member's probe key and cache it with its public key. */
static kg_err probe_key(hms_member *m, kg_hsm_token *t)
{
    const uint8_t *id = (const uint8_t *)PROBE_ID;
    kg_hsm_key k;
    kg_err err = kg_hsm_key_find(t, &k, id, strlen(PROBE_ID));
    if (err == KG_ERR_NOT_FOUND) {
        err = kg_hsm_key_generate(t, &k, KG_HSM_KEY_EC_P256, PROBE_ID, id, strlen(PROBE_ID));
        if (err == KG_ERR_CONFLICT)
            err = kg_hsm_key_find(t, &k, id, strlen(PROBE_ID));
    }
    kg_bytes_free(&m->probe_pub);
    if (!err)
        err = kg_hsm_key_public_der(t, &m->probe_pub, &k);
    m->probe_key = k;
    m->probe_ready = !err;
    return err;
}

kg_err hms_probe_run(hms_member *m, kg_hsm_token *t, hms_job *j)
{
    if (!t) {
        kg_err err = hms_member_open(m);
        if (err)
            return err;
        pthread_mutex_lock(&m->h->lock);
        t = m->tok;
        pthread_mutex_unlock(&m->h->lock);
    }
    kg_err err = kg_hsm_token_ping(t);
    if (err)
        return err;
    bool cached = m->probe_ready;
    if (!cached && (err = probe_key(m, t)))
        return err;
    static const uint8_t msg[] = "kashguard hsm probe";
    kg_bytes sig = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = kg_hsm_sign(t, &sig, &m->probe_key, KG_HSM_SIG_DER, msg, sizeof(msg));
    if (err == KG_ERR_NOT_FOUND && cached && !probe_key(m, t)) /* the probe key was deleted: make it again */
        err = kg_hsm_sign(t, &sig, &m->probe_key, KG_HSM_SIG_DER, msg, sizeof(msg));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    j->sign_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!err)
        err = verify_probe(&m->probe_pub, &sig, msg, sizeof(msg));
    kg_bytes_free(&sig);
    if (err)
        m->probe_ready = false; /* look the key up again next time */
    return err;
}

/* Judge one member by its probe job (lock held). Returns true when the
 * member came back up and must be re-synchronised. */
static bool probe_result(kg_hms *h, hms_member *m, hms_job *j, bool done)
{
    if (!done) {
        char what[HMS_DETAIL];
        snprintf(what, sizeof(what), "probe timed out after %u ms", h->cfg.op_timeout_ms);
        hms_stats_add(&m->stats[HMS_OP_PROBE], h->cfg.op_timeout_ms / 1000.0, true);
        m->ops++;
        m->errors++;
        hms_member_failed(m, true, what);
        return false;
    }
    if (j->err) {
        char advice[HMS_DETAIL];
        if (!m->tok && (j->err == KG_ERR_UNAUTHENTICATED || j->err == KG_ERR_DENIED)) {
            m->no_retry = true;
            hms_set_state(m, KG_HMS_DOWN, "%.120s; %.180s", j->detail, hms_pin_advice(m, advice, sizeof(advice)));
        } else if (m->state == KG_HMS_DOWN) {
            snprintf(m->reason, sizeof(m->reason), "probe failed: %.280s", j->detail);
        } else {
            char what[HMS_DETAIL];
            snprintf(what, sizeof(what), "probe failed: %.280s", j->detail);
            hms_member_failed(m, false, what);
        }
        return false;
    }
    m->consecutive_errors = 0;
    double ms = j->seconds * 1000.0;
    if (m->state == KG_HMS_DOWN || m->state == KG_HMS_SYNCING) {
        if (m->state == KG_HMS_DOWN) /* a syncing member keeps its reason (e.g. a missing key) */
            hms_set_state(m, KG_HMS_SYNCING, "probe ok after being down; re-synchronising");
        m->errors_since_probe = 0;
        return true;
    }
    if (ms > h->cfg.degraded_latency_ms)
        hms_set_state(m, KG_HMS_DEGRADED, "probe took %.0f ms (over %u ms)", ms, h->cfg.degraded_latency_ms);
    else if (m->errors_since_probe)
        hms_set_state(m, KG_HMS_DEGRADED, "%u failed calls since the last probe", m->errors_since_probe);
    else
        hms_set_state(m, KG_HMS_HEALTHY, "probe ok (%.1f ms)", ms);
    m->errors_since_probe = 0;
    return false;
}

static void resync_member(kg_hms *h, hms_member *m)
{
    kg_err err = hms_resync(h, m);
    char detail[HMS_DETAIL];
    snprintf(detail, sizeof(detail), "%s", err ? kg_err_detail(err) : "");
    pthread_mutex_lock(&h->lock);
    if (m->state == KG_HMS_SYNCING) {
        if (err)
            hms_set_state(m, KG_HMS_DOWN, "re-sync failed: %s", detail);
        else
            hms_set_state(m, KG_HMS_HEALTHY, "re-synchronised");
    }
    hms_unlock_emit(h);
}

void hms_probe_round(kg_hms *h)
{
    pthread_mutex_lock(&h->lock);
    size_t n = 0;
    for (hms_member *m = h->members; m; m = m->next)
        n++;
    hms_member **ms = calloc(n ? n : 1, sizeof(*ms));
    hms_job **js = calloc(n ? n : 1, sizeof(*js));
    bool *again = calloc(n ? n : 1, sizeof(*again));
    if (!ms || !js || !again) {
        pthread_mutex_unlock(&h->lock);
        free(ms), free(js), free(again);
        return;
    }
    size_t k = 0;
    for (hms_member *m = h->members; m && k < n; m = m->next) {
        if (m->probe_pending || m->no_retry)
            continue; /* a probe still hangs in the token, or a PIN we must not retry */
        hms_job *j = hms_job_new(m->tok ? JOB_PROBE : JOB_OPEN, HMS_OP_PROBE);
        if (!j)
            break;
        m->probe_pending = true;
        hms_submit_locked(m, j);
        ms[k] = m;
        js[k++] = j;
    }
    struct timespec dl, dl_open;
    hms_deadline(&dl, h->cfg.op_timeout_ms);
    hms_deadline(&dl_open, hms_timeout_ms(h, JOB_OPEN));
    for (size_t i = 0; i < k; i++) {
        bool done = hms_wait_locked(h, js[i], js[i]->kind == JOB_OPEN ? &dl_open : &dl);
        again[i] = probe_result(h, ms[i], js[i], done);
    }
    hms_unlock_emit(h);
    for (size_t i = 0; i < k; i++)
        hms_job_put(h, js[i]);
    for (size_t i = 0; i < k; i++)
        if (again[i])
            resync_member(h, ms[i]);
    free(ms), free(js), free(again);
}

/* ------------------------------------------------------------ discovery */

static json_t *mech_json(unsigned long mech)
{
    char buf[24];
    return json_string(kg_hsm_mechanism_name(mech, buf));
}

static json_t *mem_json(unsigned long v)
{
    return v == ULONG_MAX ? json_null() : json_integer((json_int_t)v);
}

kg_err hms_show_run(hms_member *m, kg_hsm_token *t, hms_job *j)
{
    if (!t || !m->mod)
        return kg_err_set(KG_ERR_IO, "member %s is not open", m->name);
    kg_hsm_slot_info *slots = NULL;
    size_t n = 0;
    kg_err err = kg_hsm_slots(m->mod, &slots, &n);
    if (err)
        return err;
    size_t i = 0;
    while (i < n && !(slots[i].token_present && strcmp(slots[i].label, m->token_label) == 0))
        i++;
    if (i == n) {
        free(slots);
        return kg_err_set(KG_ERR_IO, "token '%s' of member %s is no longer present", m->token_label, m->name);
    }
    kg_hsm_slot_info *s = &slots[i];
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)s->slot_id));
    json_object_set_new(o, "description", json_string(s->slot_description));
    json_object_set_new(o, "manufacturer", json_string(s->manufacturer));
    json_object_set_new(o, "model", json_string(s->model));
    json_object_set_new(o, "serial", json_string(s->serial));
    json_object_set_new(o, "free_public_memory", mem_json(s->free_public_memory));
    json_object_set_new(o, "total_public_memory", mem_json(s->total_public_memory));
    json_object_set_new(o, "free_private_memory", mem_json(s->free_private_memory));
    json_object_set_new(o, "total_private_memory", mem_json(s->total_private_memory));
    unsigned long *mechs = NULL;
    size_t nm = 0;
    err = kg_hsm_mechanisms(m->mod, s->slot_id, &mechs, &nm);
    free(slots);
    if (err) {
        json_decref(o);
        return err;
    }
    json_t *arr = json_array();
    for (size_t k = 0; k < nm; k++)
        json_array_append_new(arr, mech_json(mechs[k]));
    free(mechs);
    json_t *res = json_object();
    json_object_set_new(res, "slot", o);
    json_object_set_new(res, "mechanisms", arr);
    j->show = res;
    return KG_OK;
}

/* ---------------------------------------------------------- member JSON */

/* The list entry of m (lock held). */
static json_t *member_json(kg_hms *h, const hms_member *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(m->name));
    json_object_set_new(o, "module", json_string(m->module_path));
    json_object_set_new(o, "token", json_string(m->token_label));
    json_object_set_new(o, "state", json_string(kg_hms_state_name(m->state)));
    json_object_set_new(o, "reason", json_string(m->reason));
    /* to the microsecond (ewma_ms >= 0; no libm for round()) */
    json_object_set_new(o, "latency_ms", json_real((double)(int64_t)(m->ewma_ms * 1000.0 + 0.5) / 1000.0));
    json_object_set_new(o, "ops", json_integer((json_int_t)m->ops));
    json_object_set_new(o, "errors", json_integer((json_int_t)m->errors));
    json_t *g = json_array();
    for (hms_group *gr = h->groups; gr; gr = gr->next)
        for (size_t i = 0; i < gr->n; i++)
            if (gr->members[i] == m)
                json_array_append_new(g, json_string(gr->name));
    json_object_set_new(o, "groups", g);
    return o;
}

json_t *kg_hms_members_json(kg_hms *h)
{
    json_t *a = json_array();
    pthread_mutex_lock(&h->lock);
    for (hms_member *m = h->members; m; m = m->next)
        json_array_append_new(a, member_json(h, m));
    pthread_mutex_unlock(&h->lock);
    return a;
}

kg_err kg_hms_member_show(kg_hms *h, json_t **out, const char *name)
{
    *out = NULL;
    pthread_mutex_lock(&h->lock);
    hms_member *m = hms_member_find(h, name);
    json_t *o = m ? member_json(h, m) : NULL;
    bool open = m && m->tok;
    pthread_mutex_unlock(&h->lock);
    if (!m)
        return kg_err_set(KG_ERR_NOT_FOUND, "no HSM member '%s'", name);
    if (open) {
        hms_job *j = hms_job_new(JOB_SHOW, HMS_OP_OTHER), *res = NULL;
        bool fault = false;
        kg_err err = j ? hms_call(h, m, j, &fault, &res) : KG_ERR_NOMEM;
        if (!err) {
            json_object_update(o, (json_t *)res->show);
        } else {
            json_object_set_new(o, "discovery_error", json_string(kg_err_detail(err)));
        }
        hms_job_put(h, res);
    }
    *out = o;
    return KG_OK;
}

/* ------------------------------------------------------------- adding */

const char *hms_pin_advice(const hms_member *m, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "not retried automatically (PIN lockout): remove it with `kashguard hsm remove %s` and add it again "
             "with the right PIN", m->name);
    return buf;
}

void hms_member_free(hms_member *m)
{
    if (!m)
        return;
    kg_hsm_token_close(m->tok);
    kg_hsm_module_release(m->mod);
    kg_secret_free(m->pin);
    kg_bytes_free(&m->probe_pub);
    free(m->module_path);
    free(m->threads);
    if (m->threads) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->cache_mu);
    }
    free(m);
}

static kg_err member_new(kg_hms *h, hms_member **out, const char *name, const char *path, const char *label,
                         const kg_secret *pin)
{
    *out = NULL;
    if (!hms_name_ok(name))
        return kg_err_set(KG_ERR_BAD_INPUT, "member name must be 1 to 64 of [A-Za-z0-9_.-]");
    if (!*path)
        return kg_err_set(KG_ERR_BAD_INPUT, "member %s: the module path is empty", name);
    if (!*label || strlen(label) > 32)
        return kg_err_set(KG_ERR_BAD_INPUT, "member %s: a token label is 1 to 32 bytes", name);
    hms_member *m = calloc(1, sizeof(*m));
    if (!m)
        return kg_err_set(KG_ERR_NOMEM, "member %s", name);
    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->token_label, sizeof(m->token_label), "%s", label);
    m->module_path = strdup(path);
    m->pin = kg_secret_from(kg_secret_cdata(pin), kg_secret_len(pin));
    m->h = h;
    m->state = KG_HMS_DOWN;
    m->ewma_ms = 1.0;
    if (!m->module_path || !m->pin) {
        hms_member_free(m);
        return kg_err_set(KG_ERR_NOMEM, "member %s", name);
    }
    *out = m;
    return KG_OK;
}

kg_err kg_hms_member_add(kg_hms *h, const char *name, const char *module_path, const char *token_label,
                         const kg_secret *pin, bool must_open)
{
    pthread_mutex_lock(&h->lock);
    bool taken = hms_member_find(h, name) != NULL;
    pthread_mutex_unlock(&h->lock);
    if (taken)
        return kg_err_set(KG_ERR_CONFLICT, "an HSM member named '%s' exists", name);
    hms_member *m = NULL;
    kg_err err = member_new(h, &m, name, module_path, token_label, pin);
    if (err)
        return err;
    err = hms_member_open(m);
    if (err && must_open) {
        char detail[HMS_DETAIL];
        snprintf(detail, sizeof(detail), "%s", kg_err_detail(err));
        hms_member_free(m);
        return kg_err_set(err, "%s", detail);
    }
    if (err) {
        m->no_retry = err == KG_ERR_UNAUTHENTICATED || err == KG_ERR_DENIED;
        char advice[HMS_DETAIL];
        snprintf(m->reason, sizeof(m->reason), "cannot open: %.120s%s%.180s", kg_err_detail(err),
                 m->no_retry ? "; " : "", m->no_retry ? hms_pin_advice(m, advice, sizeof(advice)) : "");
    } else {
        m->state = KG_HMS_HEALTHY;
        snprintf(m->reason, sizeof(m->reason), "opened");
    }
    if ((err = hms_member_start(h, m))) {
        hms_member_stop(h, m, 1000);
        hms_member_free(m);
        return err;
    }
    pthread_mutex_lock(&h->lock);
    if (hms_member_find(h, name)) {
        pthread_mutex_unlock(&h->lock);
        hms_member_stop(h, m, 1000);
        hms_member_free(m);
        return kg_err_set(KG_ERR_CONFLICT, "an HSM member named '%s' exists", name);
    }
    hms_member **pp = &h->members;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    hms_event_push(h, "member_state", m->name, NULL, kg_hms_state_name(m->state), m->reason);
    hms_unlock_emit(h);
    return KG_OK;
}

/* ------------------------------------------------------------ removing */

/* The groups of m as "g1, g2" (lock held); false when it is in none. */
static bool member_groups(kg_hms *h, const hms_member *m, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (hms_group *g = h->groups; g; g = g->next)
        for (size_t i = 0; i < g->n; i++)
            if (g->members[i] == m && used < cap) {
                int w = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", g->name);
                used += w > 0 ? (size_t)w : 0;
            }
    return buf[0] != '\0';
}

/* A removed member leaves the list at once but its struct is kept until
 * kg_hms_close: a probe round or a show that picked it before may still
 * hold it (they find its jobs failed: hms_submit_locked on a stopped
 * member). Its workers stop and its token closes now, which ends its
 * sessions and login on the HSM. */
kg_err kg_hms_member_remove(kg_hms *h, const char *name)
{
    pthread_mutex_lock(&h->lock);
    hms_member **pp = &h->members;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    hms_member *m = *pp;
    if (!m) {
        pthread_mutex_unlock(&h->lock);
        return kg_err_set(KG_ERR_NOT_FOUND, "no HSM member '%.64s'", name);
    }
    char groups[HMS_DETAIL];
    if (member_groups(h, m, groups, sizeof(groups))) {
        pthread_mutex_unlock(&h->lock);
        return kg_err_set(KG_ERR_CONFLICT, "HSM member '%s' is in group(s) %s: groups keep their members", name,
                          groups);
    }
    *pp = m->next;
    m->next = h->removed;
    h->removed = m;
    hms_event_push(h, "member_removed", m->name, NULL, "removed", "removed by request");
    hms_unlock_emit(h);
    m->stopped = hms_member_stop(h, m, h->cfg.op_timeout_ms + 1000);
    if (m->stopped) {
        pthread_mutex_lock(&h->lock);
        kg_hsm_token *t = m->tok;
        m->tok = NULL;
        m->state = KG_HMS_DOWN;
        snprintf(m->reason, sizeof(m->reason), "removed");
        pthread_mutex_unlock(&h->lock);
        kg_hsm_token_close(t);
    } else {
        kg_log(KG_LOG_WARN, "hsm member removed while a PKCS#11 call hangs: its token is closed when HMS closes",
               "member", m->name, NULL);
    }
    kg_log(KG_LOG_INFO, "hsm member removed", "member", name, NULL);
    return KG_OK;
}
