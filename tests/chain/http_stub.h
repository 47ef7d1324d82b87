/* A tiny HTTP/1.1 server in a thread on 127.0.0.1 for the chain layer's
 * node-client suites (test_eth_rpc.c, test_solana_rpc.c, test_cosmos_rpc.c,
 * test_btc_esplora.c): it accepts one connection at a time, reads one
 * request (request line, headers, a Content-Length body), hands it to the
 * suite's handler, which writes the canned answer, and closes. Header-only
 * (static inline) because every test_*.c is its own executable; include it
 * after <cmocka.h>. */
#ifndef KG_TESTS_CHAIN_HTTP_STUB_H
#define KG_TESTS_CHAIN_HTTP_STUB_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_STUB_MAX_REQUEST (1u << 20)

/* One request as read: method, path (cut to fit) and body (malloc'd). */
typedef struct {
    char method[16];
    char path[512];
    char *body;
} http_stub_req;

/* Writes the answer to req on the connection c. */
typedef void (*http_stub_handler)(int c, const http_stub_req *req);

typedef struct {
    int fd, port;
    atomic_int stop;
    http_stub_handler handler;
    pthread_t th;
} http_stub;

/* Read one request from c into r (r->body is "" when there is none). */
static inline void http_stub_read(int c, http_stub_req *r)
{
    size_t cap = HTTP_STUB_MAX_REQUEST, len = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (;;) {
        ssize_t n = read(c, buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end == NULL)
            continue;
        char *cl = strstr(buf, "Content-Length:");
        size_t want = cl != NULL && cl < end ? (size_t)atoi(cl + 15) : 0;
        if (len >= (size_t)(end + 4 - buf) + want)
            break;
    }
    buf[len] = '\0';
    if (sscanf(buf, "%15s %511s", r->method, r->path) != 2)
        r->method[0] = r->path[0] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    r->body = strdup(end ? end + 4 : "");
    free(buf);
    assert_non_null(r->body);
}

/* Answer with status, a Content-Type and body. */
static inline void http_stub_send(int c, int status, const char *type, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, type, strlen(body));
    if (send(c, head, (size_t)n, MSG_NOSIGNAL) < 0 || send(c, body, strlen(body), MSG_NOSIGNAL) < 0)
        return;
}

static inline void http_stub_send_json(int c, int status, const char *body)
{
    http_stub_send(c, status, "application/json", body);
}

static inline void *http_stub_serve(void *arg)
{
    http_stub *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = { s->fd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        http_stub_req r = { .body = NULL };
        http_stub_read(c, &r);
        s->handler(c, &r);
        free(r.body);
        close(c);
    }
    return NULL;
}

/* Listen on an ephemeral port of 127.0.0.1 (s->port) and serve with
 * s->handler in a thread; 0 or -1 (a cmocka group setup's answer). */
static inline int http_stub_start(http_stub *s)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    socklen_t al = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    atomic_store(&s->stop, 0);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->th, NULL, http_stub_serve, s) == 0 ? 0 : -1;
}

static inline void http_stub_stop(http_stub *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->fd);
}

/* The suite's server (one per test executable): set its handler, then
 * run the group with the fixtures below, which start and stop it. */
static http_stub http_stub_server;

static inline int http_stub_setup(void **state)
{
    (void)state;
    return http_stub_start(&http_stub_server);
}

static inline int http_stub_teardown(void **state)
{
    (void)state;
    http_stub_stop(&http_stub_server);
    return 0;
}

#endif
