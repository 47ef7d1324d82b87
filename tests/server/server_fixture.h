/* Shared by the server suites: a real dev-mode server started in-process on
 * 127.0.0.1 with an ephemeral port and a temporary data directory, and a
 * minimal HTTP/1.1 client over a raw socket (one request per connection).
 * Header-only: each suite is its own executable; include after <cmocka.h>. */
#ifndef KG_TESTS_SERVER_FIXTURE_H
#define KG_TESTS_SERVER_FIXTURE_H

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kashguard/server.h>

static kg_server *srv;
static char data_dir[256];
static const char *root;

typedef struct {
    int status;
    char headers[4096];
    json_t *json;
} resp;

static inline void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the server may close early (413); read what it said */
        p += w;
        n -= (size_t)w;
    }
}

/* One request; extra (may be NULL) are header lines ending in \r\n;
 * raw_tail (may be NULL) is sent verbatim after the headers instead of a
 * body with Content-Length (for the size-limit tests). */
static inline void http_raw(resp *out, const char *method, const char *path, const char *extra,
                            const char *body, const char *raw_tail, size_t raw_len)
{
    memset(out, 0, sizeof *out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)kg_server_port(srv)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char head[8192];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s", method, path,
                     extra ? extra : "");
    if (raw_tail == NULL)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n\r\n", body ? strlen(body) : 0);
    send_all(fd, head, (size_t)n);
    if (raw_tail != NULL)
        send_all(fd, raw_tail, raw_len);
    else if (body != NULL)
        send_all(fd, body, strlen(body));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t r;
    while ((r = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
        len += (size_t)r;
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    close(fd);
    buf[len] = '\0';
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &out->status), 1);
    char *sep = strstr(buf, "\r\n\r\n");
    assert_non_null(sep);
    snprintf(out->headers, sizeof out->headers, "%.*s", (int)(sep - buf), buf);
    out->json = json_loads(sep + 4, 0, NULL);
    assert_non_null(out->json);
    free(buf);
}

/* A request with a bearer token (NULL: none) and more header lines. */
static inline void http_x(resp *out, const char *method, const char *path, const char *token, const char *extra,
                          const char *body)
{
    char hdr[1024] = "";
    int n = token != NULL ? snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token) : 0;
    if (extra != NULL)
        snprintf(hdr + n, sizeof hdr - (size_t)n, "%s", extra);
    http_raw(out, method, path, hdr, body, NULL, 0);
}

static inline void http(resp *out, const char *method, const char *path, const char *token, const char *body)
{
    http_x(out, method, path, token, NULL, body);
}

static inline const char *err_code(const resp *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
}

static inline const char *err_msg(const resp *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
}

static inline void expect_error(resp *r, int status, const char *code)
{
    if (r->status != status)
        fprintf(stderr, "unexpected %d: %s\n", r->status, err_msg(r) ? err_msg(r) : "(no error)");
    assert_int_equal(r->status, status);
    assert_non_null(err_code(r));
    assert_string_equal(err_code(r), code);
    json_decref(r->json);
}

static inline int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

/* Start a dev server in a fresh /tmp/<prefix>-XXXXXX data dir. 0 or -1. */
static inline int server_setup(const char *prefix)
{
    snprintf(data_dir, sizeof data_dir, "/tmp/%s-XXXXXX", prefix);
    if (mkdtemp(data_dir) == NULL)
        return -1;
    kg_server_config cfg;
    kg_server_config_default(&cfg);
    cfg.dev = true;
    cfg.data_dir = data_dir;
    cfg.listen = "127.0.0.1:0";
    cfg.threads = 2;
    cfg.kms.audit_fsync = false;
    if (kg_server_start(&srv, &cfg) != KG_OK) {
        fprintf(stderr, "start: %s\n", kg_err_detail(KG_ERR_INTERNAL));
        return -1;
    }
    root = kg_server_dev_root_token(srv);
    return root != NULL && kg_server_port(srv) != 0 ? 0 : -1;
}

static inline int server_teardown(void)
{
    kg_server_stop(srv);
    nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

#endif
