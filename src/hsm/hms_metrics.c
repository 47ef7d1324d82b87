/* HMS metrics: per member and per operation counters and fixed-bucket
 * latency histograms, written in the Prometheus text format (0.0.4) for
 * GET /v1/sys/metrics. Fixed buckets (0.5 ms to 5 s) keep a member's
 * statistics a constant-size array updated under the HMS lock with a few
 * additions; nothing is allocated on the operation path. */
#include "hms_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double hms_buckets[HMS_N_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1.0,   2.5,  5.0 };

static const char *const op_names[HMS_N_OPS] = { "sign", "encrypt", "decrypt", "generate",
                                                 "wrap", "unwrap",  "probe",   "other" };

const char *hms_op_name(hms_op op)
{
    return (unsigned)op < HMS_N_OPS ? op_names[op] : "other";
}

void hms_stats_add(hms_stats *s, double seconds, bool error)
{
    s->ops++;
    if (error)
        s->errors++;
    s->sum += seconds;
    for (size_t i = 0; i < HMS_N_BUCKETS; i++)
        if (seconds <= hms_buckets[i]) {
            s->bucket[i]++;
            break;
        }
}

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) KG_PRINTF(2, 3);
static void put(out_buf *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->oom = true;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
}

static void help(out_buf *o, const char *name, const char *type, const char *text)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void member_series(out_buf *o, const kg_hms *h)
{
    help(o, "kashguard_hsm_member_up", "gauge", "1 when the member serves operations (healthy or degraded).");
    for (const hms_member *m = h->members; m; m = m->next)
        put(o, "kashguard_hsm_member_up{member=\"%s\"} %d\n", m->name, hms_member_serving(m) ? 1 : 0);
    help(o, "kashguard_hsm_member_state", "gauge", "1 for the member's current state.");
    for (const hms_member *m = h->members; m; m = m->next)
        for (int s = KG_HMS_HEALTHY; s <= KG_HMS_SYNCING; s++)
            put(o, "kashguard_hsm_member_state{member=\"%s\",state=\"%s\"} %d\n", m->name,
                kg_hms_state_name((kg_hms_state)s), m->state == (kg_hms_state)s ? 1 : 0);
    help(o, "kashguard_hsm_operations_total", "counter", "PKCS#11 operations run on the member.");
    for (const hms_member *m = h->members; m; m = m->next)
        for (int op = 0; op < HMS_N_OPS; op++)
            put(o, "kashguard_hsm_operations_total{member=\"%s\",op=\"%s\"} %llu\n", m->name,
                hms_op_name((hms_op)op), (unsigned long long)m->stats[op].ops);
    help(o, "kashguard_hsm_errors_total", "counter", "Operations that failed or timed out because of the member.");
    for (const hms_member *m = h->members; m; m = m->next)
        for (int op = 0; op < HMS_N_OPS; op++)
            put(o, "kashguard_hsm_errors_total{member=\"%s\",op=\"%s\"} %llu\n", m->name,
                hms_op_name((hms_op)op), (unsigned long long)m->stats[op].errors);
}

static void histograms(out_buf *o, const kg_hms *h)
{
    help(o, "kashguard_hsm_operation_seconds", "histogram", "Latency of member operations.");
    for (const hms_member *m = h->members; m; m = m->next)
        for (int op = 0; op < HMS_N_OPS; op++) {
            const hms_stats *s = &m->stats[op];
            uint64_t cum = 0;
            for (size_t i = 0; i < HMS_N_BUCKETS; i++) {
                cum += s->bucket[i];
                put(o, "kashguard_hsm_operation_seconds_bucket{member=\"%s\",op=\"%s\",le=\"%g\"} %llu\n",
                    m->name, hms_op_name((hms_op)op), hms_buckets[i], (unsigned long long)cum);
            }
            put(o, "kashguard_hsm_operation_seconds_bucket{member=\"%s\",op=\"%s\",le=\"+Inf\"} %llu\n",
                m->name, hms_op_name((hms_op)op), (unsigned long long)s->ops);
            put(o, "kashguard_hsm_operation_seconds_sum{member=\"%s\",op=\"%s\"} %.6f\n", m->name,
                hms_op_name((hms_op)op), s->sum);
            put(o, "kashguard_hsm_operation_seconds_count{member=\"%s\",op=\"%s\"} %llu\n", m->name,
                hms_op_name((hms_op)op), (unsigned long long)s->ops);
        }
}

kg_err kg_hms_metrics(kg_hms *h, char **buf, size_t *len)
{
    /* The caller's buffer holds *len bytes; its capacity is unknown, so grow it first. */
    out_buf o = { NULL, *buf ? *len : 0, (*buf ? *len : 0) + 4096, false };
    o.buf = realloc(*buf, o.cap);
    if (!o.buf)
        return kg_err_set(KG_ERR_NOMEM, "metrics buffer");
    o.buf[o.len] = 0;
    pthread_mutex_lock(&h->lock);
    member_series(&o, h);
    histograms(&o, h);
    help(&o, "kashguard_hsm_failovers_total", "counter", "Operations retried on another member after a member failed.");
    put(&o, "kashguard_hsm_failovers_total %llu\n", (unsigned long long)h->failovers);
    help(&o, "kashguard_hsm_keys", "gauge", "Keys held by the group.");
    for (const hms_group *g = h->groups; g; g = g->next)
        put(&o, "kashguard_hsm_keys{group=\"%s\"} %llu\n", g->name, (unsigned long long)g->keys);
    pthread_mutex_unlock(&h->lock);
    *buf = o.buf;
    *len = o.len;
    if (o.oom)
        return kg_err_set(KG_ERR_NOMEM, "metrics buffer");
    return KG_OK;
}
