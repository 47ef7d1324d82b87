/* Private declarations of HMS, the HSM fleet manager (src/hsm/hms*.c):
 * the member, job and group structs, the worker/job machinery every PKCS#11
 * call of a member goes through, the per-member/per-op statistics and the
 * event queue. One mutex (kg_hms.lock) guards all of it: HMS state is small
 * and every critical section is a few field updates, never a PKCS#11 call.
 * Not installed. */
#ifndef KASHGUARD_HMS_INT_H
#define KASHGUARD_HMS_INT_H

#include "kashguard/hsm.h"

#include <pthread.h>

#define HMS_NAME_MAX 64
#define HMS_MAX_GROUP_MEMBERS 16
#define HMS_DETAIL 320

/* Operations counted in the metrics (kashguard_hsm_*{op}). */
typedef enum { HMS_OP_SIGN, HMS_OP_ENCRYPT, HMS_OP_DECRYPT, HMS_OP_GENERATE, HMS_OP_WRAP,
               HMS_OP_UNWRAP, HMS_OP_PROBE, HMS_OP_OTHER, HMS_N_OPS } hms_op;
#define HMS_N_BUCKETS 13
extern const double hms_buckets[HMS_N_BUCKETS];
const char *hms_op_name(hms_op op);

typedef struct {
    uint64_t ops, errors;
    uint64_t bucket[HMS_N_BUCKETS]; /* cumulative at export, plain counts here */
    double sum;                     /* seconds */
} hms_stats;

/* What a job does on the member's token. */
typedef enum {
    JOB_OPEN, JOB_PROBE, JOB_SHOW, JOB_SIGN, JOB_GCM_ENC, JOB_GCM_DEC, JOB_OAEP_DEC, JOB_GENERATE,
    JOB_PUBLIC_DER, JOB_DESTROY, JOB_FIND, JOB_LIST, JOB_KEK_GENERATE, JOB_TRANSPORT_BEGIN,
    JOB_KEK_WRAP_FOR, JOB_KEK_UNWRAP, JOB_TRANSPORT_END, JOB_KEY_WRAP, JOB_KEY_UNWRAP,
} hms_job_kind;

/* A job owns copies of its inputs and holds its outputs, because a caller
 * that times out abandons it while the worker may still be inside the
 * PKCS#11 call: the last of the two references (caller, worker) frees it. */
typedef struct hms_job {
    struct hms_job *next;
    int refs;
    bool done, abandoned;
    pthread_cond_t cv;
    hms_job_kind kind;
    hms_op op;
    /* inputs */
    kg_hsm_key_type type;
    uint8_t id[KG_HSM_MAX_ID];
    size_t id_len;
    uint8_t id2[KG_HSM_MAX_ID]; /* the KEK's id */
    size_t id2_len;
    char label[160];
    kg_hsm_key key;             /* transport key (KEK_UNWRAP, TRANSPORT_END) */
    kg_bytes in, aad, extra;    /* data / aad / pub_der, OAEP label, wrapped */
    uint8_t iv[KG_HSM_GCM_IV_BYTES];
    kg_hsm_sig_format fmt;
    bool digest;
    unsigned flags;
    /* outputs */
    kg_err err;
    char detail[HMS_DETAIL];
    kg_bytes out;
    kg_hsm_key key_out;
    kg_hsm_key *list;
    size_t n_list;
    double seconds;
    double sign_seconds; /* JOB_PROBE: the C_Sign part, a latency sample for balancing */
    void *show; /* JOB_SHOW: json_t* */
} hms_job;

/* Key handles by CKA_ID: a C_FindObjects per operation doubles the cost of
 * a signature on SoftHSM (measured in tests/hsm/test_hms.c). */
#define HMS_KEY_CACHE 128
typedef struct {
    kg_hsm_key key; /* key.id/id_len is the cache key; id_len 0 = free slot */
} hms_cached_key;

typedef struct hms_member hms_member;
struct hms_member {
    char name[HMS_NAME_MAX + 1];
    char *module_path;
    char token_label[33];
    kg_secret *pin;
    kg_hsm_module *mod;      /* NULL until opened (set once by an OPEN job or member_add) */
    kg_hsm_token *tok;
    kg_hms *h;
    kg_hms_state state;
    char reason[HMS_DETAIL];
    bool no_retry;           /* wrong/locked PIN: never retried automatically (lockout) */
    bool probe_pending;      /* a probe job has not come back (hung) */
    pthread_mutex_t cache_mu;
    hms_cached_key cache[HMS_KEY_CACHE];
    size_t cache_next;       /* round-robin replacement */
    bool probe_ready;        /* probe_key/probe_pub cached (only the one probe job in flight uses them) */
    kg_hsm_key probe_key;
    kg_bytes probe_pub;
    unsigned consecutive_errors, errors_since_probe;
    double ewma_ms;
    unsigned inflight;
    uint64_t ops, errors;
    hms_stats stats[HMS_N_OPS];
    /* workers */
    pthread_t *threads;
    size_t n_threads, live;
    hms_job *head, *tail;
    pthread_cond_t cv;
    bool stop;
    bool stopped;            /* removed, and its workers exited (kg_hms_member_remove) */
    hms_member *next;
};

typedef struct hms_group {
    char name[HMS_NAME_MAX + 1];
    hms_member *members[HMS_MAX_GROUP_MEMBERS];
    size_t n;
    uint64_t keys;
    uint64_t changes; /* bumped by every generate/destroy (re-sync restarts on a change) */
    /* Ids destroyed through kg_hms_key_destroy / kg_hms_key_forget (a
     * growable array, freed with the group at kg_hms_close): re-sync
     * destroys these on any member that has one and never copies them, and
     * copies any other key found on one member only to the others, so a
     * key is never lost because the members that held it came back in the
     * wrong order. Not a ring: an evicted tombstone would let a returning
     * member resurrect the key. The KMS re-records its destroyed keys at
     * every start (kg_hms_key_forget), so they survive restarts too. */
    kg_hsm_key *tomb;
    size_t n_tomb, cap_tomb;
    struct hms_group *next;
} hms_group;

typedef struct hms_event {
    struct hms_event *next;
    char event[24], member[HMS_NAME_MAX + 1], group[HMS_NAME_MAX + 1], state[16];
    char reason[HMS_DETAIL];
} hms_event;

struct kg_hms {
    kg_hms_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t exit_cv, probe_cv;
    hms_member *members;
    hms_member *removed;     /* kg_hms_member_remove: freed at kg_hms_close */
    hms_group *groups;
    hms_event *events, *events_tail;
    uint64_t failovers;
    bool stop;
    pthread_t probe_thread;
    bool probe_started;
};

/* ----------------------------------------------------- hms.c (core) */
bool hms_name_ok(const char *name);
/* Queue an event; emitted by hms_unlock_emit. Caller holds h->lock. */
void hms_event_push(kg_hms *h, const char *event, const char *member, const char *group,
                    const char *state, const char *reason);
/* Unlock h->lock, then call on_event for every queued event. */
void hms_unlock_emit(kg_hms *h);
/* Change m's state (caller holds the lock); queues a member_state event. */
void hms_set_state(hms_member *m, kg_hms_state s, const char *fmt, ...) KG_PRINTF(3, 4);
hms_group *hms_group_find(kg_hms *h, const char *name);
hms_member *hms_member_find(kg_hms *h, const char *name);
bool hms_member_serving(const hms_member *m);
/* Run a copy of proto on the best serving member of group, failing over to
 * the next on a member error. *res gets the finished job (hms_job_put it),
 * *served (may be NULL) the member that ran it. Consumes proto. */
kg_err hms_exec(kg_hms *h, const char *group, hms_job *proto, hms_job **res, hms_member **served);

/* ------------------------------------------- hms_member.c (workers) */
hms_job *hms_job_new(hms_job_kind kind, hms_op op);
/* Copy the inputs of j into a new job (for a retry on another member). */
hms_job *hms_job_clone(const hms_job *j);
/* Drop one reference (caller must not hold h->lock). */
void hms_job_put(kg_hms *h, hms_job *j);
/* Queue j on m (takes a worker reference, counts it in flight). Lock held. */
void hms_submit_locked(hms_member *m, hms_job *j);
/* Wait until j is done or deadline_ms passes (lock held). true = done. On a
 * timeout the job is marked abandoned (the worker frees it). */
bool hms_wait_locked(kg_hms *h, hms_job *j, const struct timespec *deadline);
void hms_deadline(struct timespec *ts, unsigned ms);
/* The deadline of a job: op_timeout_ms for operations and probes; ten times
 * that (at least 5 s) for key generation, wrapping and opening. */
unsigned hms_timeout_ms(const kg_hms *h, hms_job_kind kind);
/* Submit j to m and wait hms_timeout_ms. Returns the job's error (its detail
 * set on this thread); a timeout or a device/token failure counts against m.
 * *member_fault tells whether the error was the member's. Consumes j. */
kg_err hms_call(kg_hms *h, hms_member *m, hms_job *j, bool *member_fault, hms_job **result);
/* hms_call for group maintenance (KEK, replication, re-sync), which does not
 * need to know whose fault an error was; j == NULL (a failed allocation) is
 * KG_ERR_NOMEM. */
kg_err hms_run_on(kg_hms *h, hms_member *m, hms_job *j, hms_job **result);
/* Whether err from a member means the member (device, token, session) failed. */
bool hms_member_error(kg_err err);
/* Record a failure of m (lock held): down after down_after_errors or a timeout. */
void hms_member_failed(hms_member *m, bool timeout, const char *what);
kg_err hms_member_start(kg_hms *h, hms_member *m);
/* Stop m's workers; false when some stay stuck (m must then be leaked). */
bool hms_member_stop(kg_hms *h, hms_member *m, unsigned wait_ms);
void hms_member_free(hms_member *m);
kg_err hms_member_open(hms_member *m);
/* What to do about a wrong or locked PIN, into buf (names the member). */
const char *hms_pin_advice(const hms_member *m, char *buf, size_t cap);
/* Job bodies run on a worker (hms_member.c): login check + sign/verify with
 * the probe key (opening the member first if it never opened); discovery. */
kg_err hms_probe_run(hms_member *m, kg_hsm_token *t, hms_job *j);
kg_err hms_show_run(hms_member *m, kg_hsm_token *t, hms_job *j);
void hms_probe_round(kg_hms *h);

/* ------------------------------------------- hms_group.c (groups) */
/* Re-synchronise m into every group it belongs to. Caller holds no lock. */
kg_err hms_resync(kg_hms *h, hms_member *m);
/* "kg/<group>/<id>" (id in hex after "x:" when not printable ASCII). */
void hms_label(char *out, size_t cap, const char *group, const uint8_t *id, size_t id_len);
/* The CKA_ID of the group KEK. */
void hms_kek_id(uint8_t id[KG_HSM_MAX_ID], size_t *len, const char *group);
/* Give dst the group KEK (from src) unless it has it. */
kg_err hms_kek_ensure(kg_hms *h, const char *group, hms_member *src, hms_member *dst);

/* ------------------------------------------- hms_metrics.c */
void hms_stats_add(hms_stats *s, double seconds, bool error);

#endif
