/* A node's CGGMP21 presign precomputations (cggmp_presign_prep.c), made
 * in idle time by one background worker and kept in memory only.
 *
 * Why: most of a party's presigning exponentiations (the Paillier
 * randomisers and ring-Pedersen commitments on the peers' moduli, the
 * nonces and their encryptions) depend on neither the session nor the
 * peers' messages (CGGMP21 Fig. 7). After a presign CONFIRM the node asks
 * for KG_MPC_ND_CG_PREP_TARGET preps for that (key, signing set); the
 * worker loads the share and aux info from the store (thread-safe) WITHOUT
 * nd->mu, computes at a lower scheduling priority, and files the result;
 * the next CGGMP_START of a presign for the same set takes one (under
 * nd->mu, then this file's own short lock: nd->mu -> c->mu, never the
 * other way). A prep is bound to the key's epoch and aux digest: the
 * library refuses a stale one and the node then runs the plain presign.
 * Preps are single use, wiped when used or dropped; nothing is stored.
 * The aux info the worker decodes (its prime checks cost tens of ms) is
 * kept as a spare for the next START of that set, with a stamp of the
 * sealed record it came from: START takes it only when the stored record
 * is still that one (kg_mpc_nd_cgprep_aux), else it decodes as before.
 * At node start the worker first asks for the (key, set) pairs it can
 * guess from the store: every key with aux info and the signing sets of
 * its stored presignatures.
 * KG_CGGMP_PREP=0 in the environment turns the worker off (benchmarks). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cggmp_int.h"
#include "node_int.h"

#define PREP_ENTRIES 8
#define PREP_NICE 10

typedef struct {
    bool used;
    char key_id[KG_MPC_NODE_KEY_ID_MAX + 1];
    uint32_t epoch;
    uint16_t signers[KG_CGGMP_MAX_PARTIES];
    size_t ns;
    time_t seen;
    bool failed; /* the last fill failed: wait for the next want */
    unsigned gen;
    size_t n_ready;
    kg_mpc_cggmp_presign_prep *ready[KG_MPC_ND_CG_PREP_TARGET];
    kg_mpc_cggmp_aux *aux; /* a spare decoded aux info (for the next START), or NULL */
    uint8_t aux_stamp[32]; /* kg_mpc_nd_cg_aux_stamp of the record it came from */
} prep_entry;

struct kg_mpc_nd_cgprep {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool stop;
    unsigned gen;
    prep_entry e[PREP_ENTRIES];
};

static void entry_clear(prep_entry *e)
{
    for (size_t i = 0; i < e->n_ready; i++) kg_mpc_cggmp_presign_prep_free(e->ready[i]);
    kg_mpc_cggmp_aux_free(e->aux);
    memset(e, 0, sizeof *e);
}

static prep_entry *entry_find(struct kg_mpc_nd_cgprep *c, const char *key_id, const uint16_t *signers, size_t ns)
{
    for (size_t i = 0; i < PREP_ENTRIES; i++) {
        prep_entry *e = &c->e[i];
        if (e->used && e->ns == ns && !strcmp(e->key_id, key_id) && !memcmp(e->signers, signers, ns * sizeof *signers))
            return e;
    }
    return NULL;
}

/* The first entry that wants one more prep. */
static prep_entry *entry_hungry(struct kg_mpc_nd_cgprep *c)
{
    for (size_t i = 0; i < PREP_ENTRIES; i++)
        if (c->e[i].used && !c->e[i].failed && c->e[i].n_ready < KG_MPC_ND_CG_PREP_TARGET) return &c->e[i];
    return NULL;
}

/* One prep for (key, epoch, set), from the stored share and aux info;
 * *aux gets the decoded aux info and stamp its record's stamp (the same
 * before and after decoding, else KG_ERR_CONFLICT). */
static kg_err prep_make(kg_mpc_nd *nd, const prep_entry *want, kg_mpc_cggmp_presign_prep **out,
                        kg_mpc_cggmp_aux **aux, uint8_t stamp[32])
{
    uint8_t again[32];
    kg_mpc_cggmp_share *sh = calloc(1, sizeof *sh);
    kg_err err = sh ? kg_mpc_nd_cg_aux_stamp(nd, want->key_id, stamp) : kg_err_set(KG_ERR_NOMEM, "out of memory");
    if (!err) err = kg_mpc_nd_cg_share_load(nd, want->key_id, sh);
    if (!err && sh->epoch != want->epoch) err = kg_err_set(KG_ERR_CONFLICT, "presign prep: the key changed epoch");
    if (!err) err = kg_mpc_nd_cg_aux_load(nd, want->key_id, aux);
    if (!err) err = kg_mpc_cggmp_presign_prep_new(out, sh, *aux, want->signers, want->ns);
    if (!err) err = kg_mpc_nd_cg_aux_stamp(nd, want->key_id, again);
    if (!err && memcmp(stamp, again, sizeof again)) err = kg_err_set(KG_ERR_CONFLICT, "presign prep: aux info changed");
    if (err) {
        kg_mpc_cggmp_presign_prep_free(*out), *out = NULL;
        kg_mpc_cggmp_aux_free(*aux), *aux = NULL;
    }
    if (sh) kg_wipe(sh, sizeof *sh);
    free(sh);
    return err;
}

/* ------------------------------------------------ seeding at node start */

typedef struct {
    char keys[PREP_ENTRIES][KG_MPC_NODE_KEY_ID_MAX + 1];
    size_t n;
} seed_keys;

/* Records "cggmp/<key>/aux": a key with aux info. */
static int seed_key(void *arg, const char *name, const uint8_t *val, size_t len)
{
    (void)val, (void)len;
    seed_keys *k = arg;
    const char *key = name + strlen("cggmp/"), *end = strchr(key, '/');
    size_t kl = end ? (size_t)(end - key) : 0;
    if (!end || strcmp(end, "/aux") || kl == 0 || kl > KG_MPC_NODE_KEY_ID_MAX) return 0;
    memcpy(k->keys[k->n], key, kl);
    k->keys[k->n][kl] = 0;
    return ++k->n == PREP_ENTRIES; /* enough */
}

typedef struct {
    kg_mpc_nd *nd;
    const char *key;
    uint32_t epoch;
} seed_set;

static int seed_presig(void *arg, const uint8_t id[32], const kg_mpc_nd_cg_presig_meta *m)
{
    (void)id;
    seed_set *s = arg;
    if (!m->used && m->ns) kg_mpc_nd_cgprep_want(s->nd, s->key, s->epoch, m->signers, m->ns);
    return 0;
}

static void seed(kg_mpc_nd *nd)
{
    seed_keys k;
    memset(&k, 0, sizeof k);
    if (kg_store_list(nd->st, NULL, "cggmp/", NULL, 0, seed_key, &k) != KG_OK) return;
    for (size_t i = 0; i < k.n; i++) {
        kg_mpc_cggmp_share *sh = calloc(1, sizeof *sh);
        if (sh && kg_mpc_nd_cg_share_load(nd, k.keys[i], sh) == KG_OK) {
            seed_set s = {nd, k.keys[i], sh->epoch};
            kg_err e = kg_mpc_nd_cg_presig_list(nd, NULL, k.keys[i], seed_presig, &s);
            (void)e; /* best effort: a failed guess costs the next presign only its precomputation */
        }
        if (sh) kg_wipe(sh, sizeof *sh);
        free(sh);
    }
}

static void *prep_worker(void *arg)
{
    kg_mpc_nd *nd = arg;
    struct kg_mpc_nd_cgprep *c = nd->cgprep;
#ifdef SYS_gettid /* Linux: nice this thread only, so the rounds keep the CPU */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), PREP_NICE);
#endif
    seed(nd); /* without c->mu: it calls kg_mpc_nd_cgprep_want */
    pthread_mutex_lock(&c->mu);
    for (;;) {
        prep_entry *e = NULL;
        while (!c->stop && !(e = entry_hungry(c))) pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop) break;
        prep_entry want = *e; /* a copy: the entry may go while we compute */
        want.n_ready = 0;
        pthread_mutex_unlock(&c->mu);
        kg_mpc_cggmp_presign_prep *p = NULL;
        kg_mpc_cggmp_aux *aux = NULL;
        uint8_t stamp[32];
        kg_err err = prep_make(nd, &want, &p, &aux, stamp);
        pthread_mutex_lock(&c->mu);
        e = entry_find(c, want.key_id, want.signers, want.ns);
        bool same = e && e->gen == want.gen && e->epoch == want.epoch;
        if (!err && same && e->n_ready < KG_MPC_ND_CG_PREP_TARGET) e->ready[e->n_ready++] = p, p = NULL;
        else if (err && same) e->failed = true;
        if (!err && same && (!e->aux || memcmp(e->aux_stamp, stamp, sizeof stamp))) {
            kg_mpc_cggmp_aux_free(e->aux); /* keep the newest decoded aux info as the spare */
            e->aux = aux, aux = NULL;
            memcpy(e->aux_stamp, stamp, sizeof stamp);
        }
        kg_mpc_cggmp_presign_prep_free(p);
        kg_mpc_cggmp_aux_free(aux);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

kg_err kg_mpc_nd_cgprep_open(kg_mpc_nd *nd)
{
    const char *env = getenv("KG_CGGMP_PREP");
    if (env && !strcmp(env, "0")) return KG_OK; /* off: nd->cgprep stays NULL */
    struct kg_mpc_nd_cgprep *c = calloc(1, sizeof *c);
    if (!c) return kg_err_set(KG_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    nd->cgprep = c;
    if (pthread_create(&c->th, NULL, prep_worker, nd) != 0) {
        nd->cgprep = NULL;
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return kg_err_set(KG_ERR_NOMEM, "cannot start the presign precomputation thread");
    }
    return KG_OK;
}

void kg_mpc_nd_cgprep_close(kg_mpc_nd *nd)
{
    struct kg_mpc_nd_cgprep *c = nd->cgprep;
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    for (size_t i = 0; i < PREP_ENTRIES; i++) entry_clear(&c->e[i]);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    nd->cgprep = NULL;
}

void kg_mpc_nd_cgprep_want(kg_mpc_nd *nd, const char *key_id, uint32_t epoch, const uint16_t *signers, size_t ns)
{
    struct kg_mpc_nd_cgprep *c = nd->cgprep;
    if (!c || ns == 0 || ns > KG_CGGMP_MAX_PARTIES || strlen(key_id) > KG_MPC_NODE_KEY_ID_MAX) return;
    pthread_mutex_lock(&c->mu);
    prep_entry *e = entry_find(c, key_id, signers, ns);
    if (e && e->epoch != epoch) entry_clear(e), e = NULL; /* a refreshed key: its old preps are useless */
    if (!e) { /* a free slot, else the least recently seen */
        e = &c->e[0];
        for (size_t i = 0; i < PREP_ENTRIES && e->used; i++)
            if (!c->e[i].used || c->e[i].seen < e->seen) e = &c->e[i];
        entry_clear(e);
        e->used = true;
        snprintf(e->key_id, sizeof e->key_id, "%s", key_id);
        e->epoch = epoch;
        memcpy(e->signers, signers, ns * sizeof *signers);
        e->ns = ns;
        e->gen = ++c->gen;
    }
    e->seen = time(NULL);
    e->failed = false;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

kg_mpc_cggmp_presign_prep *kg_mpc_nd_cgprep_take(kg_mpc_nd *nd, const char *key_id, uint32_t epoch,
                                                 const uint16_t *signers, size_t ns)
{
    struct kg_mpc_nd_cgprep *c = nd->cgprep;
    kg_mpc_cggmp_presign_prep *p = NULL;
    if (!c) return NULL;
    pthread_mutex_lock(&c->mu);
    prep_entry *e = entry_find(c, key_id, signers, ns);
    if (e && e->epoch != epoch) entry_clear(e), e = NULL; /* made before a refresh: wipe them now */
    if (e && e->n_ready) p = e->ready[--e->n_ready], e->ready[e->n_ready] = NULL;
    if (e) e->seen = time(NULL);
    pthread_mutex_unlock(&c->mu);
    return p;
}

kg_mpc_cggmp_aux *kg_mpc_nd_cgprep_aux(kg_mpc_nd *nd, const char *key_id, uint32_t epoch, const uint16_t *signers,
                                       size_t ns)
{
    struct kg_mpc_nd_cgprep *c = nd->cgprep;
    kg_mpc_cggmp_aux *aux = NULL;
    uint8_t now[32];
    if (!c || kg_mpc_nd_cg_aux_stamp(nd, key_id, now) != KG_OK) return NULL;
    pthread_mutex_lock(&c->mu);
    prep_entry *e = entry_find(c, key_id, signers, ns);
    if (e && e->epoch == epoch && e->aux && !memcmp(e->aux_stamp, now, sizeof now)) aux = e->aux, e->aux = NULL;
    pthread_mutex_unlock(&c->mu);
    return aux;
}

size_t kg_mpc_nd_cgprep_ready(kg_mpc_nd *nd, const char *key_id, const uint16_t *signers, size_t ns)
{
    struct kg_mpc_nd_cgprep *c = nd->cgprep;
    if (!c) return 0;
    pthread_mutex_lock(&c->mu);
    prep_entry *e = entry_find(c, key_id, signers, ns);
    size_t n = e ? e->n_ready : 0;
    pthread_mutex_unlock(&c->mu);
    return n;
}
