/* Structured logging: one JSON object per line on stderr.
 *
 * Each call renders {"time","level","msg", key: value...} with jansson (which
 * does the escaping, so a value cannot break out of its string or inject a
 * line) and hands the whole line, newline included, to a single write(2).
 * Lines from different threads therefore never interleave (writes to a pipe
 * up to PIPE_BUF are atomic; on files and terminals one write() per line is
 * the best POSIX offers, and short writes are finished in a loop).
 *
 * The minimum level comes from KASHGUARD_LOG_LEVEL (debug|info|warn|error,
 * default info), read once; kg_log_set_level overrides it. The level is an
 * atomic, so changing it while other threads log is safe. Logging never
 * fails its caller: when memory runs out it writes a fixed fallback line. */
#include <kashguard/base.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const kg_level_names[] = { "debug", "info", "warn", "error" };

static atomic_int kg_log_min = KG_LOG_INFO;
static pthread_once_t kg_log_once = PTHREAD_ONCE_INIT;
static atomic_bool kg_log_explicit;

static void log_init_from_env(void)
{
    const char *env = getenv("KASHGUARD_LOG_LEVEL");
    if (env == NULL || atomic_load(&kg_log_explicit))
        return;
    for (int i = 0; i < 4; i++) {
        if (strcmp(env, kg_level_names[i]) == 0)
            atomic_store(&kg_log_min, i);
    }
}

void kg_log_set_level(kg_log_level min)
{
    pthread_once(&kg_log_once, log_init_from_env);
    if ((int)min < KG_LOG_DEBUG || (int)min > KG_LOG_ERROR)
        min = KG_LOG_INFO;
    atomic_store(&kg_log_explicit, true);
    atomic_store(&kg_log_min, (int)min);
}

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Build the log object; NULL when out of memory. */
static json_t *log_object(kg_log_level level, const char *msg, va_list ap)
{
    char ts[21];
    kg_time_rfc3339(ts, kg_now());
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = json_object_set_new(o, "time", json_string(ts));
    bad |= json_object_set_new(o, "level", json_string(kg_level_names[level]));
    /* json_string rejects invalid UTF-8; fall back to a marker, never drop the line. */
    json_t *m = json_string(msg ? msg : "");
    bad |= json_object_set_new(o, "msg", m ? m : json_string("(invalid UTF-8)"));
    for (const char *k = va_arg(ap, const char *); k != NULL; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        json_t *jv = v ? json_string(v) : json_null();
        /* A key that is not valid UTF-8 is dropped rather than losing the line. */
        (void)json_object_set_new(o, k, jv ? jv : json_string("(invalid UTF-8)"));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void kg_log(kg_log_level level, const char *msg, ...)
{
    pthread_once(&kg_log_once, log_init_from_env);
    if ((int)level < KG_LOG_DEBUG || (int)level > KG_LOG_ERROR)
        level = KG_LOG_ERROR;
    if ((int)level < atomic_load(&kg_log_min))
        return;
    va_list ap;
    va_start(ap, msg);
    json_t *o = log_object(level, msg, ap);
    va_end(ap);
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (line == NULL) {
        static const char fallback[] = "{\"level\":\"error\",\"msg\":\"log line lost: out of memory\"}\n";
        write_all(fallback, sizeof(fallback) - 1);
        return;
    }
    size_t n = strlen(line);
    char *buf = malloc(n + 2);
    if (buf != NULL) {
        memcpy(buf, line, n);
        buf[n] = '\n';
        write_all(buf, n + 1);
        free(buf);
    }
    free(line);
}
