/* bench_http_load: closed-loop HTTP load against a running kashguard server.
 *
 *   bench_http_load --addr http://127.0.0.1:8200 --token kg.… --duration 5 \
 *                   --connections 1,8,64 [SCENARIO...]
 *
 * It starts nothing itself (bench/run.sh starts a dev server and runs it).
 * Scenarios: health, encrypt, decrypt, sign-p256, sign-secp256k1,
 * sign-ed25519 (default: all, health first since it is the baseline).
 *
 * Design. Before the timed runs, each scenario is prepared once over an
 * ordinary connection: the keys it needs are created with POST /v1/keys
 * (decrypt also encrypts one payload to get a real ciphertext), and the
 * request is sent once and must return 200, so a broken setup is reported
 * instead of being measured as a stream of errors. The timed request is
 * then a fixed byte string built once.
 *
 * For each connection count N, N threads each open one HTTP/1.1 keep-alive
 * connection (raw POSIX sockets, TCP_NODELAY), meet at a barrier, and send
 * the request back to back for the duration: one request in flight per
 * connection, so the figures measure the server, not a client library.
 * A request counts only when its whole response arrived before the deadline
 * with status 200; any other status, a transport error or a timeout counts
 * as an error (and the connection is reopened). Latency is taken per
 * request with CLOCK_MONOTONIC and p50/p99 are nearest-rank over every
 * successful request of the run. "vs health" is the scenario's req/s
 * divided by health's at the same connection count: what the KMS work
 * (audit, crypto, store) costs relative to the bare HTTP path.
 *
 * The response parser handles what an HTTP/1.1 server may send back on a
 * keep-alive connection: Content-Length or chunked bodies, and
 * "Connection: close" (the connection is reopened for the next request).
 *
 * Exit status: 0 when every run completed without errors, 1 on a usage or
 * setup error, 2 when some request failed during a timed run. */
#include "bench_machine.h"
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kashguard/base.h"

#define MAX_CONN_COUNTS 16
#define MAX_SCENARIOS 16
#define MAX_THREADS 1024
#define IO_TIMEOUT_S 30
#define MAX_RESPONSE (4u << 20)

/* ------------------------------------------------------------ options */

typedef struct {
    char host[256];     /* for getaddrinfo (brackets of an IPv6 literal removed) */
    char port[16];
    char authority[300]; /* the Host header, as given in --addr */
    const char *token;
    unsigned duration;
    unsigned conns[MAX_CONN_COUNTS];
    size_t n_conns;
    const char *scenarios[MAX_SCENARIOS];
    size_t n_scenarios;
} bench_opts;

/* What each scenario sends: the key it creates (NULL: none) and the
 * operation on it, POST /v1/keys/<id>/<op>. */
typedef struct {
    const char *name;
    const char *spec;
    const char *op;
} scenario_def;

static const scenario_def scenario_defs[] = {
    { "health", NULL, NULL },
    { "encrypt", "AES_256", "encrypt" },
    { "decrypt", "AES_256", "decrypt" },
    { "sign-p256", "ECC_NIST_P256", "sign" },
    { "sign-secp256k1", "ECC_SECG_P256K1", "sign" },
    { "sign-ed25519", "ED25519", "sign" },
};
#define N_SCENARIO_DEFS (sizeof(scenario_defs) / sizeof(scenario_defs[0]))

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------- connections */

/* One keep-alive connection with its read buffer and the last body. */
typedef struct {
    const bench_opts *o;
    int fd;
    char *buf;      /* received bytes not yet consumed: buf[0..len) */
    size_t len, cap;
    char *body;     /* the last response body, NUL-terminated */
    size_t body_len, body_cap;
} http_conn;

typedef struct {
    int status;
    bool close;     /* the server said "Connection: close" */
} http_resp;

static void conn_close(http_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
}

static void conn_free(http_conn *c)
{
    conn_close(c);
    free(c->buf);
    free(c->body);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static int conn_open(http_conn *c)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    conn_close(c);
    if (getaddrinfo(c->o->host, c->o->port, &hints, &res) != 0)
        return -1;
    for (struct addrinfo *ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            continue;
        }
        int one = 1;
        struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        c->fd = fd;
    }
    freeaddrinfo(res);
    return c->fd >= 0 ? 0 : -1;
}

static int conn_send(http_conn *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read more bytes into the buffer; -1 on EOF, error, timeout or overflow. */
static int conn_fill(http_conn *c)
{
    if (c->cap - c->len < 4096) {
        size_t cap = c->cap ? 2 * c->cap : 16384;
        if (cap > MAX_RESPONSE)
            return -1;
        char *b = realloc(c->buf, cap);
        if (b == NULL)
            return -1;
        c->buf = b;
        c->cap = cap;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c->len += (size_t)n;
        return 0;
    }
}

/* Index of the first CRLF at or after `from`, reading as needed; -1 on failure. */
static long conn_find_crlf(http_conn *c, size_t from)
{
    size_t i = from;
    for (;;) {
        for (; i + 1 < c->len; i++)
            if (c->buf[i] == '\r' && c->buf[i + 1] == '\n')
                return (long)i;
        if (conn_fill(c) != 0)
            return -1;
    }
}

static int conn_need(http_conn *c, size_t n)
{
    while (c->len < n)
        if (conn_fill(c) != 0)
            return -1;
    return 0;
}

static int body_append(http_conn *c, const char *data, size_t len)
{
    if (c->body_len + len + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_len + len + 1)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (b == NULL)
            return -1;
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, data, len);
    c->body_len += len;
    c->body[c->body_len] = '\0';
    return 0;
}

/* Drop the first n buffered bytes (keep what belongs to a later response). */
static void conn_consume(http_conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* ------------------------------------------------------ HTTP responses */

/* Parse the status line and headers of buf[0..end). Returns 0 or -1. */
static int parse_head(const char *buf, size_t end, http_resp *r, long long *content_length,
                      bool *chunked)
{
    if (end < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -1;
    r->status = atoi(buf + 9);
    r->close = buf[7] == '0'; /* HTTP/1.0 closes unless told otherwise */
    *content_length = -1;
    *chunked = false;
    const char *p = memchr(buf, '\n', end);
    while (p != NULL && (size_t)(p + 1 - buf) < end) {
        const char *line = p + 1;
        const char *eol = memchr(line, '\n', end - (size_t)(line - buf));
        if (eol == NULL)
            break;
        char val[128];
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon != NULL) {
            const char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = (size_t)(eol - v);
            vl = vl >= sizeof(val) ? sizeof(val) - 1 : vl;
            memcpy(val, v, vl);
            val[vl] = '\0';
            size_t nl = (size_t)(colon - line);
            if (nl == 14 && strncasecmp(line, "content-length", nl) == 0)
                *content_length = atoll(val);
            else if (nl == 17 && strncasecmp(line, "transfer-encoding", nl) == 0)
                *chunked = strstr(val, "chunked") != NULL;
            else if (nl == 10 && strncasecmp(line, "connection", nl) == 0)
                r->close = strncasecmp(val, "close", 5) == 0;
        }
        p = eol;
    }
    return 0;
}

/* Decode a chunked body starting at buf[pos]; *used gets the bytes consumed. */
static int read_chunked(http_conn *c, size_t pos, size_t *used)
{
    for (;;) {
        long eol = conn_find_crlf(c, pos);
        if (eol < 0)
            return -1;
        char *end;
        unsigned long size = strtoul(c->buf + pos, &end, 16);
        if (end == c->buf + pos || size > MAX_RESPONSE)
            return -1;
        pos = (size_t)eol + 2;
        if (size == 0)
            break;
        if (conn_need(c, pos + size + 2) != 0 || body_append(c, c->buf + pos, size) != 0)
            return -1;
        pos += size + 2;
    }
    for (;;) { /* trailers, up to the empty line */
        long eol = conn_find_crlf(c, pos);
        if (eol < 0)
            return -1;
        bool empty = (size_t)eol == pos;
        pos = (size_t)eol + 2;
        if (empty)
            break;
    }
    *used = pos;
    return 0;
}

/* Offset just past the empty line that ends the headers, reading as needed. */
static long conn_find_head_end(http_conn *c)
{
    size_t i = 0;
    for (;;) {
        for (; i + 3 < c->len; i++)
            if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0)
                return (long)i + 4;
        if (conn_fill(c) != 0)
            return -1;
    }
}

/* Read one whole response; its body lands in c->body. 0 or -1. */
static int read_response(http_conn *c, http_resp *r)
{
    long eoh = conn_find_head_end(c);
    if (eoh < 0)
        return -1;
    size_t body_start = (size_t)eoh;
    long long clen;
    bool chunked;
    if (parse_head(c->buf, body_start, r, &clen, &chunked) != 0)
        return -1;
    c->body_len = 0;
    if (body_append(c, "", 0) != 0)
        return -1;
    size_t used;
    if (chunked) {
        if (read_chunked(c, body_start, &used) != 0)
            return -1;
    } else {
        size_t n = clen > 0 ? (size_t)clen : 0;
        if (clen < 0 && r->status != 204 && r->status != 304)
            return -1; /* body delimited by close: not a keep-alive answer */
        if (n > MAX_RESPONSE || conn_need(c, body_start + n) != 0 ||
            body_append(c, c->buf + body_start, n) != 0)
            return -1;
        used = body_start + n;
    }
    conn_consume(c, used);
    return 0;
}

/* Send a prebuilt request and read its response; reopens a closed
 * connection first. On failure the connection is closed. */
static int http_roundtrip(http_conn *c, const char *req, size_t req_len, http_resp *r)
{
    if (c->fd < 0 && conn_open(c) != 0)
        return -1;
    if (conn_send(c, req, req_len) != 0 || read_response(c, r) != 0) {
        conn_close(c);
        return -1;
    }
    if (r->close)
        conn_close(c);
    return 0;
}

/* ---------------------------------------------------------- requests */

typedef struct {
    char *data;
    size_t len;
} http_req;

static int req_build(http_req *out, const bench_opts *o, const char *method, const char *path,
                     const char *json_body)
{
    size_t blen = json_body ? strlen(json_body) : 0;
    size_t cap = 512 + strlen(path) + strlen(o->authority) + strlen(o->token) + blen;
    out->data = malloc(cap);
    if (out->data == NULL)
        return -1;
    int n;
    if (json_body != NULL)
        n = snprintf(out->data, cap,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, o->authority, o->token, blen, json_body);
    else
        n = snprintf(out->data, cap, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
                     method, path, o->authority, o->token);
    if (n < 0 || (size_t)n >= cap) {
        free(out->data);
        out->data = NULL;
        return -1;
    }
    out->len = (size_t)n;
    return 0;
}

/* One setup call: send, expect 200, return the parsed JSON body (or NULL
 * after printing what went wrong). */
static json_t *api_call(http_conn *c, const char *method, const char *path, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    http_req rq = { 0 };
    http_resp r = { 0 };
    json_t *out = NULL;
    if ((body != NULL && text == NULL) || req_build(&rq, c->o, method, path, text) != 0) {
        fprintf(stderr, "bench: out of memory building %s %s\n", method, path);
    } else if (http_roundtrip(c, rq.data, rq.len, &r) != 0) {
        fprintf(stderr, "bench: %s %s: no response from %s (is the server running?)\n",
                method, path, c->o->authority);
    } else if (r.status != 200) {
        fprintf(stderr, "bench: %s %s: HTTP %d %s\n", method, path, r.status, c->body);
    } else if (kg_json_parse_object(&out, c->body, c->body_len) != KG_OK) {
        fprintf(stderr, "bench: %s %s: response is not a JSON object\n", method, path);
        out = NULL;
    }
    free(text);
    free(rq.data);
    return out;
}

/* A copy of one string field of a setup response, or NULL (with a message). */
static char *json_field_dup(json_t *obj, const char *field)
{
    const char *v = NULL;
    if (obj == NULL)
        return NULL;
    if (kg_json_get_str(&v, obj, field, true) != KG_OK || v == NULL) {
        fprintf(stderr, "bench: response has no string field '%s'\n", field);
        return NULL;
    }
    return strdup(v);
}

/* POST /v1/keys {"spec":spec}; the new key id (malloc'd) or NULL. */
static char *key_create(http_conn *c, const char *spec)
{
    json_t *req = json_pack("{s:s, s:s}", "spec", spec, "description", "bench_http_load");
    json_t *resp = req ? api_call(c, "POST", "/v1/keys", req) : NULL;
    char *id = json_field_dup(resp, "key_id");
    json_decref(req);
    json_decref(resp);
    return id;
}

/* A JSON object {field: base64(len bytes of a fixed pattern)}. */
static json_t *b64_payload(const char *field, size_t len)
{
    uint8_t data[256];
    if (len > sizeof(data))
        return NULL;
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 131u + 7u);
    json_t *v = kg_json_b64(data, len);
    return v ? json_pack("{s:o}", field, v) : NULL;
}

/* ---------------------------------------------------------- scenarios */

/* The request body of a keyed scenario (decrypt makes its ciphertext first). */
static json_t *scenario_body(http_conn *c, const scenario_def *def, const char *key_id)
{
    if (strcmp(def->op, "sign") == 0)
        return b64_payload("message", 32);
    json_t *enc = b64_payload("plaintext", 256);
    if (strcmp(def->op, "encrypt") == 0 || enc == NULL)
        return enc;
    char path[256];
    snprintf(path, sizeof(path), "/v1/keys/%s/encrypt", key_id);
    json_t *resp = api_call(c, "POST", path, enc);
    char *ct = json_field_dup(resp, "ciphertext");
    json_t *body = ct ? json_pack("{s:s}", "ciphertext", ct) : NULL;
    free(ct);
    json_decref(resp);
    json_decref(enc);
    return body;
}

/* Build the request a scenario repeats, after creating what it needs and
 * checking that the request succeeds once. 0 or -1 (with a message). */
static int scenario_prepare(http_req *out, const bench_opts *o, const scenario_def *def)
{
    http_conn c = { .o = o, .fd = -1 };
    int rc = -1;
    char *key_id = NULL;
    json_t *body = NULL;
    char path[256];
    if (def->spec == NULL) {
        rc = req_build(out, o, "GET", "/v1/sys/health", NULL);
    } else if ((key_id = key_create(&c, def->spec)) != NULL &&
               (body = scenario_body(&c, def, key_id)) != NULL) {
        char *text = json_dumps(body, JSON_COMPACT);
        snprintf(path, sizeof(path), "/v1/keys/%s/%s", key_id, def->op);
        rc = text ? req_build(out, o, "POST", path, text) : -1;
        free(text);
    }
    http_resp r = { 0 };
    if (rc == 0 && (http_roundtrip(&c, out->data, out->len, &r) != 0 || r.status != 200)) {
        fprintf(stderr, "bench: %s: the request failed before the run: %s%d %s\n", def->name,
                r.status ? "HTTP " : "no response ", r.status, c.body ? c.body : "");
        free(out->data);
        out->data = NULL;
        rc = -1;
    }
    free(key_id);
    json_decref(body);
    conn_free(&c);
    return rc;
}

/* ------------------------------------------------------------ workers */

/* The start gate: workers connect, then wait until main opens it, so
 * connection set-up is not part of the measured window. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open, abort;
    uint64_t deadline_ns;
} start_gate;

typedef struct {
    const bench_opts *o;
    const http_req *req;
    start_gate *gate;
    uint64_t ok, errors;
    int first_err_status;     /* 0: none yet; -1: transport error */
    char first_err[160];
    uint64_t *lat;            /* latency of each successful request, ns */
    size_t n_lat, cap_lat;
} worker;

static void worker_error(worker *w, int status, const char *body)
{
    w->errors++;
    if (w->first_err_status != 0)
        return;
    w->first_err_status = status;
    snprintf(w->first_err, sizeof(w->first_err), "%s", body ? body : "");
}

static int worker_record(worker *w, uint64_t ns)
{
    if (w->n_lat == w->cap_lat) {
        size_t cap = w->cap_lat ? 2 * w->cap_lat : 4096;
        uint64_t *l = realloc(w->lat, cap * sizeof(*l));
        if (l == NULL)
            return -1;
        w->lat = l;
        w->cap_lat = cap;
    }
    w->lat[w->n_lat++] = ns;
    w->ok++;
    return 0;
}

/* Wait for the gate; the run's deadline, or 0 when the run was aborted. */
static uint64_t gate_wait(start_gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    uint64_t deadline = g->abort ? 0 : g->deadline_ns;
    pthread_mutex_unlock(&g->mu);
    return deadline;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    http_conn c = { .o = w->o, .fd = -1 };
    (void)conn_open(&c); /* a failure is retried (and counted) in the loop */
    uint64_t deadline = gate_wait(w->gate);
    while (deadline != 0) {
        http_resp r = { 0 };
        uint64_t t0 = now_ns();
        int rc = http_roundtrip(&c, w->req->data, w->req->len, &r);
        uint64_t t1 = now_ns();
        if (t1 >= deadline)
            break; /* finished after the window: not counted either way */
        if (rc != 0) {
            worker_error(w, -1, NULL);
            struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
            nanosleep(&pause, NULL); /* do not spin on a dead server */
        } else if (r.status != 200) {
            worker_error(w, r.status, c.body);
        } else if (worker_record(w, t1 - t0) != 0) {
            worker_error(w, -1, "out of memory");
        }
    }
    conn_free(&c);
    return NULL;
}

/* ------------------------------------------------------------ one run */

typedef struct {
    double rps, p50_ms, p99_ms;
    uint64_t ok, errors;
} run_result;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double percentile_ms(const uint64_t *v, size_t n, unsigned pct)
{
    if (n == 0)
        return 0.0;
    size_t rank = (n * pct + 99) / 100;
    return (double)v[rank ? rank - 1 : 0] / 1e6;
}

/* Merge the workers' counts and latencies into res. 0 or -1 (no memory). */
static int run_summarise(run_result *res, worker *w, unsigned n, unsigned duration)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        res->ok += w[i].ok;
        res->errors += w[i].errors;
        total += w[i].n_lat;
    }
    uint64_t *all = malloc((total ? total : 1) * sizeof(*all));
    if (all == NULL)
        return -1;
    size_t k = 0;
    for (unsigned i = 0; i < n; i++) {
        memcpy(all + k, w[i].lat, w[i].n_lat * sizeof(*all));
        k += w[i].n_lat;
    }
    qsort(all, total, sizeof(*all), cmp_u64);
    res->rps = (double)res->ok / (double)duration;
    res->p50_ms = percentile_ms(all, total, 50);
    res->p99_ms = percentile_ms(all, total, 99);
    free(all);
    for (unsigned i = 0; i < n; i++) {
        if (w[i].first_err_status != 0) {
            if (w[i].first_err_status > 0)
                fprintf(stderr, "bench: first error: HTTP %d %s\n", w[i].first_err_status,
                        w[i].first_err);
            else
                fprintf(stderr, "bench: first error: no response (refused, closed or timed "
                                "out) %s\n", w[i].first_err);
            break;
        }
    }
    return 0;
}

static void gate_open(start_gate *g, bool abort, uint64_t duration_s)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    g->abort = abort;
    g->deadline_ns = now_ns() + duration_s * 1000000000u;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Run n connections for the duration. 0, or -1 when threads could not start. */
static int run_load(run_result *res, const bench_opts *o, const http_req *req, unsigned n)
{
    start_gate gate = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
    worker *w = calloc(n, sizeof(*w));
    pthread_t *th = calloc(n, sizeof(*th));
    unsigned started = 0;
    int rc = -1;
    memset(res, 0, sizeof(*res));
    if (w != NULL && th != NULL) {
        for (; started < n; started++) {
            w[started] = (worker){ .o = o, .req = req, .gate = &gate };
            if (pthread_create(&th[started], NULL, worker_main, &w[started]) != 0)
                break;
        }
        struct timespec settle = { .tv_nsec = 100 * 1000 * 1000 }; /* let them connect */
        nanosleep(&settle, NULL);
        gate_open(&gate, started < n, o->duration);
        for (unsigned i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        if (started == n)
            rc = run_summarise(res, w, n, o->duration);
        else
            fprintf(stderr, "bench: could not start %u threads\n", n);
        for (unsigned i = 0; i < started; i++)
            free(w[i].lat);
    }
    free(w);
    free(th);
    return rc;
}

/* ------------------------------------------------------------- report */

/* Print the target and the server's version (GET /v1/sys/health). */
static int print_server(const bench_opts *o)
{
    http_conn c = { .o = o, .fd = -1 };
    json_t *h = api_call(&c, "GET", "/v1/sys/health", NULL);
    conn_free(&c);
    if (h == NULL) {
        fprintf(stderr, "bench: the server at %s is not healthy (it must be initialised and "
                        "unsealed; start one with `kashguard server --dev`)\n", o->authority);
        return -1;
    }
    const char *version = "?";
    if (kg_json_get_str(&version, h, "version", false) != KG_OK || version == NULL)
        version = "?";
    printf("server: http://%s, kashguard %s; duration %u s per run; one request in flight per "
           "connection\n\n", o->authority, version, o->duration);
    json_decref(h);
    return 0;
}

static void print_row(const char *name, unsigned conns, const run_result *r, double health_rps)
{
    char ratio[32] = "-";
    if (health_rps > 0)
        snprintf(ratio, sizeof(ratio), "%.3f", r->rps / health_rps);
    printf("%-16s %5u %11.1f %9.3f %9.3f %8llu %10s\n", name, conns, r->rps, r->p50_ms,
           r->p99_ms, (unsigned long long)r->errors, ratio);
    fflush(stdout);
}

/* ------------------------------------------------------------ options */

static int usage(const char *why)
{
    if (why != NULL)
        fprintf(stderr, "bench_http_load: %s\n", why);
    fprintf(stderr,
            "Usage: bench_http_load [--addr http://HOST:PORT] [--token T] [--duration S]\n"
            "                       [--connections 1,8,64] [SCENARIO...]\n"
            "Scenarios: health encrypt decrypt sign-p256 sign-secp256k1 sign-ed25519 (default: all)\n"
            "--addr and --token default to $KASHGUARD_ADDR and $KASHGUARD_TOKEN.\n");
    return 1;
}

/* Split "http://host:port" (or "http://[v6]:port") into o's fields. */
static int parse_addr(bench_opts *o, const char *addr)
{
    if (strncmp(addr, "https://", 8) == 0)
        return usage("https is not supported: run the server with --dev or tls_disable on loopback");
    if (strncmp(addr, "http://", 7) != 0)
        return usage("--addr must look like http://127.0.0.1:8200");
    const char *hp = addr + 7;
    size_t n = strcspn(hp, "/");
    if (n == 0 || n >= sizeof(o->authority))
        return usage("--addr has no host (or a host that is too long)");
    memcpy(o->authority, hp, n);
    o->authority[n] = '\0';
    char *a = o->authority, *colon = strrchr(a, ':');
    if (colon == NULL || strchr(colon, ']') != NULL)
        return usage("--addr needs an explicit port, e.g. http://127.0.0.1:8200");
    bool bracket = a[0] == '[';
    size_t hl = (size_t)(colon - a) - (bracket ? 2 : 0);
    memcpy(o->host, a + (bracket ? 1 : 0), hl);
    o->host[hl] = '\0';
    snprintf(o->port, sizeof(o->port), "%s", colon + 1);
    return 0;
}

static int parse_conns(bench_opts *o, const char *list)
{
    o->n_conns = 0;
    for (const char *p = list; *p != '\0';) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v < 1 || v > MAX_THREADS || o->n_conns == MAX_CONN_COUNTS ||
            (*end != ',' && *end != '\0'))
            return usage("--connections takes a list like 1,8,64 (each 1..1024, at most 16)");
        o->conns[o->n_conns++] = (unsigned)v;
        p = *end == ',' ? end + 1 : end;
    }
    return o->n_conns > 0 ? 0 : usage("--connections is empty");
}

static const scenario_def *scenario_find(const char *name)
{
    for (size_t i = 0; i < N_SCENARIO_DEFS; i++)
        if (strcmp(scenario_defs[i].name, name) == 0)
            return &scenario_defs[i];
    return NULL;
}

/* The value of --name VALUE or --name=VALUE at argv[*i], or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == '\0' && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int parse_args(bench_opts *o, int argc, char **argv)
{
    const char *addr = getenv("KASHGUARD_ADDR"), *v;
    o->token = getenv("KASHGUARD_TOKEN");
    o->duration = 5;
    o->conns[0] = 1, o->conns[1] = 8, o->conns[2] = 64, o->n_conns = 3;
    for (int i = 1; i < argc; i++) {
        if ((v = opt_value(argc, argv, &i, "--addr")) != NULL) {
            addr = v;
        } else if ((v = opt_value(argc, argv, &i, "--token")) != NULL) {
            o->token = v;
        } else if ((v = opt_value(argc, argv, &i, "--duration")) != NULL) {
            o->duration = (unsigned)strtoul(v, NULL, 10);
            if (o->duration < 1 || o->duration > 3600)
                return usage("--duration takes whole seconds, 1..3600");
        } else if ((v = opt_value(argc, argv, &i, "--connections")) != NULL) {
            if (parse_conns(o, v) != 0)
                return 1;
        } else if (argv[i][0] == '-') {
            return usage(strcmp(argv[i], "--help") == 0 ? NULL : "unknown option or missing value");
        } else if (scenario_find(argv[i]) == NULL || o->n_scenarios == MAX_SCENARIOS) {
            return usage("unknown scenario");
        } else {
            o->scenarios[o->n_scenarios++] = argv[i];
        }
    }
    if (o->token == NULL || o->token[0] == '\0')
        return usage("no token: pass --token or set KASHGUARD_TOKEN (dev: <data>/root.token)");
    return parse_addr(o, addr ? addr : "http://127.0.0.1:8200");
}

/* Scenarios in run order: as given (default all), health moved first since
 * the other rows are compared with it. */
static size_t run_order(const scenario_def **out, const bench_opts *o)
{
    size_t n = 0;
    bool want_health = o->n_scenarios == 0;
    for (size_t i = 0; i < o->n_scenarios; i++)
        want_health |= strcmp(o->scenarios[i], "health") == 0;
    if (want_health)
        out[n++] = &scenario_defs[0];
    for (size_t i = 0; i < (o->n_scenarios ? o->n_scenarios : N_SCENARIO_DEFS); i++) {
        const scenario_def *d = o->n_scenarios ? scenario_find(o->scenarios[i]) : &scenario_defs[i];
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= out[k] == d;
        if (!dup)
            out[n++] = d;
    }
    return n;
}

int main(int argc, char **argv)
{
    bench_opts o = { 0 };
    if (parse_args(&o, argc, argv) != 0)
        return 1;
    bench_print_machine();
    if (print_server(&o) != 0)
        return 1;
    const scenario_def *order[MAX_SCENARIOS + 1];
    size_t n = run_order(order, &o);
    double health[MAX_CONN_COUNTS] = { 0 };
    int status = 0;
    printf("%-16s %5s %11s %9s %9s %8s %10s\n", "scenario", "conns", "req/s", "p50 ms", "p99 ms",
           "errors", "vs health");
    for (size_t s = 0; s < n; s++) {
        http_req req = { 0 };
        if (scenario_prepare(&req, &o, order[s]) != 0) {
            printf("%-16s  (skipped: set-up failed, see stderr)\n", order[s]->name);
            status = 1;
            continue;
        }
        for (size_t k = 0; k < o.n_conns; k++) {
            run_result r;
            if (run_load(&r, &o, &req, o.conns[k]) != 0) {
                status = 1;
                continue;
            }
            if (order[s] == &scenario_defs[0])
                health[k] = r.rps;
            print_row(order[s]->name, o.conns[k], &r, health[k]);
            if (r.errors > 0 && status == 0)
                status = 2;
        }
        free(req.data);
    }
    return status;
}
