/* A small fork-join helper for CGGMP21 rounds (eprint 2021/060, Figs. 6-7):
 * a party's proofs to different peers, and its checks of different peers'
 * proofs, are independent, and each is tens of milliseconds of modular
 * exponentiation, so a round runs them on a few threads.
 *
 * Every task runs to the end (no cancellation: tasks are short) and the
 * reported error is the one of the LOWEST failing index, with its detail,
 * so the culprit named is the one the sequential loop would name. Threads
 * are started per call (tens of microseconds against milliseconds of
 * work); the caller's thread works too. Each thread has its own BN_CTX
 * (kg_mpc_bn_ctx), freed when it exits; the tasks share only read-only
 * state (moduli, Montgomery contexts, the round state). KG_CGGMP_THREADS
 * in the environment caps the thread count (1: sequential; benchmarks). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cggmp_int.h"

#define PAR_MAX_THREADS 16

typedef struct {
    kg_err err;
    char detail[256];
} par_result;

typedef struct {
    kg_err (*fn)(void *arg, size_t i);
    void *arg;
    size_t n;
    size_t next; /* claimed with an atomic add */
    par_result *res;
} par_job;

static unsigned par_cap;
static pthread_once_t par_once = PTHREAD_ONCE_INIT;

static void par_init(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    par_cap = cpus < 1 ? 1 : cpus > PAR_MAX_THREADS ? PAR_MAX_THREADS : (unsigned)cpus;
    const char *env = getenv("KG_CGGMP_THREADS");
    if (env && *env) {
        char *end = NULL;
        unsigned long v = strtoul(env, &end, 10);
        if (*end == 0 && v >= 1 && v <= PAR_MAX_THREADS) par_cap = (unsigned)v;
    }
}

static void *par_worker(void *p)
{
    par_job *job = p;
    for (;;) {
        size_t i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (i >= job->n) break;
        kg_err e = job->fn(job->arg, i);
        job->res[i].err = e;
        if (e) snprintf(job->res[i].detail, sizeof job->res[i].detail, "%s", kg_err_detail(e));
    }
    return NULL;
}

kg_err kg_mpc_cggmp_par(size_t n, kg_err (*fn)(void *arg, size_t i), void *arg, size_t *failed)
{
    *failed = n;
    pthread_once(&par_once, par_init);
    size_t want = n < par_cap ? n : par_cap;
    if (want <= 1) {
        /* Sequential: the first failure is the lowest index. */
        for (size_t i = 0; i < n; i++) {
            kg_err e = fn(arg, i);
            if (e) { *failed = i; return e; }
        }
        return KG_OK;
    }
    par_job job = {fn, arg, n, 0, calloc(n, sizeof(par_result))};
    if (!job.res) return kg_err_set(KG_ERR_NOMEM, "cggmp: out of memory starting threads");
    pthread_t tid[PAR_MAX_THREADS];
    size_t started = 0;
    for (size_t t = 1; t < want; t++) {
        if (pthread_create(&tid[started], NULL, par_worker, &job) != 0) break; /* fewer threads: still correct */
        started++;
    }
    par_worker(&job);
    for (size_t t = 0; t < started; t++) pthread_join(tid[t], NULL);
    kg_err err = KG_OK;
    for (size_t i = 0; i < n && !err; i++) {
        if (!job.res[i].err) continue;
        *failed = i;
        err = kg_err_set(job.res[i].err, "%s", job.res[i].detail);
    }
    free(job.res);
    return err;
}
