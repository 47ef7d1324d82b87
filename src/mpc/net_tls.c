/* Mutually authenticated TLS 1.3 connections carrying length-prefixed
 * frames, between the coordinator and the MPC nodes.
 *
 * Both sides load the private CA (net_ca.c) as their only trust anchor,
 * present their own party certificate, and require one from the peer
 * (RFC 8446 §4.3.2 CertificateRequest on the server side). After the
 * handshake the peer is known by the party id in its certificate's
 * subjectAltName URI, never by a host name. Session tickets and the session
 * cache are off: every connection does a full handshake, there is no
 * resumption state to protect.
 *
 * Sockets are non-blocking; every call has a deadline and waits with
 * poll(2) between attempts. One mutex guards the SSL object (OpenSSL does
 * not allow two threads inside one SSL at once) and is held only around
 * single SSL_* calls, never while waiting, so a reader blocked on a silent
 * peer does not stop a writer. A second and third mutex make whole frames
 * atomic among writers and among readers.
 *
 * Frame: u32 big-endian length, then that many bytes, at most
 * KG_MPC_NET_FRAME_MAX_BYTES; a larger announced length kills the
 * connection before anything is allocated. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net_int.h"

struct kg_mpc_net_tls {
    SSL_CTX *ctx;
    uint32_t party;
};

struct kg_mpc_net_listener {
    kg_mpc_net_tls *tls;
    int fd;
    uint16_t port;
};

struct kg_mpc_net_conn {
    SSL *ssl;
    int fd;
    uint32_t peer;
    bool dead;                   /* guarded by ssl_lock */
    pthread_mutex_t ssl_lock;    /* around each SSL_* call */
    pthread_mutex_t write_lock;  /* one frame at a time */
    pthread_mutex_t read_lock;
};

/* ------------------------------------------------------------ helpers */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? INT64_MAX : now_ms() + timeout_ms;
}

/* Wait for fd to become readable or writable. 1 = ready, 0 = deadline
 * passed, -1 = error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline == INT64_MAX ? -1 : deadline - now_ms();
        if (deadline != INT64_MAX && left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

static const char *ssl_errstr(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *s = e ? ERR_reason_error_string(e) : NULL;
    return s ? s : "connection reset";
}

/* Split "host:port" / "[v6]:port" / ":port" and resolve it. */
static kg_err resolve(struct addrinfo **out, const char *addr, bool passive)
{
    *out = NULL;
    char host[256];
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    if (colon == NULL || colon[1] == '\0' || (size_t)(colon - addr) >= sizeof host)
        return kg_err_set(KG_ERR_BAD_INPUT, "address '%s' is not host:port", addr ? addr : "");
    size_t hl = (size_t)(colon - addr);
    memcpy(host, addr, hl);
    host[hl] = '\0';
    char *h = host;
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        h = host + 1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
    int r = getaddrinfo(*h ? h : NULL, colon + 1, &hints, out);
    if (r != 0)
        return kg_err_set(KG_ERR_BAD_INPUT, "cannot resolve '%s': %s", addr, gai_strerror(r));
    return KG_OK;
}

static int socket_nb(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* ------------------------------------------------------------ identity */

kg_err kg_mpc_net_tls_new(kg_mpc_net_tls **out, const char *ca_cert_path, const char *cert_path,
                          const char *key_path)
{
    KG_ARG_CHECK(out != NULL && ca_cert_path != NULL && cert_path != NULL && key_path != NULL);
    *out = NULL;
    kg_mpc_net_tls *t = calloc(1, sizeof *t);
    if (t == NULL || (t->ctx = SSL_CTX_new(TLS_method())) == NULL) {
        free(t);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    kg_err err = KG_OK;
    SSL_CTX *c = t->ctx;
    if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 || SSL_CTX_set_num_tickets(c, 0) != 1)
        err = kg_err_set(KG_ERR_CRYPTO, "cannot restrict TLS to version 1.3");
    else if (SSL_CTX_load_verify_locations(c, ca_cert_path, NULL) != 1)
        err = kg_err_set(KG_ERR_BAD_INPUT, "cannot load the CA certificate %s", ca_cert_path);
    else if (SSL_CTX_use_certificate_file(c, cert_path, SSL_FILETYPE_PEM) != 1)
        err = kg_err_set(KG_ERR_BAD_INPUT, "cannot load the certificate %s", cert_path);
    else if (SSL_CTX_use_PrivateKey_file(c, key_path, SSL_FILETYPE_PEM) != 1
             || SSL_CTX_check_private_key(c) != 1)
        err = kg_err_set(KG_ERR_BAD_INPUT, "cannot load the key %s or it does not match %s", key_path,
                         cert_path);
    else
        err = kg_mpc_net_x509_party(&t->party, SSL_CTX_get0_certificate(c));
    if (err == KG_OK) {
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(c, 1); /* leaf, then the CA itself */
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        *out = t;
    } else {
        SSL_CTX_free(c);
        free(t);
    }
    ERR_clear_error();
    return err;
}

void kg_mpc_net_tls_free(kg_mpc_net_tls *tls)
{
    if (tls == NULL)
        return;
    SSL_CTX_free(tls->ctx);
    free(tls);
}

uint32_t kg_mpc_net_tls_party(const kg_mpc_net_tls *tls)
{
    return tls ? tls->party : 0;
}

/* ------------------------------------------------------------ SSL I/O */

typedef enum { OP_HANDSHAKE, OP_READ, OP_WRITE } ssl_op;

/* One SSL operation, retried until it moves data or the deadline passes.
 * *done gets the bytes moved. Returns KG_OK | KG_ERR_NETWORK; *timed_out
 * tells a timeout apart. */
static kg_err ssl_io(kg_mpc_net_conn *c, ssl_op op, uint8_t *buf, size_t len, size_t *done,
                     int64_t deadline, bool *timed_out)
{
    *done = 0;
    *timed_out = false;
    for (;;) {
        pthread_mutex_lock(&c->ssl_lock);
        if (c->dead) {
            pthread_mutex_unlock(&c->ssl_lock);
            return kg_err_set(KG_ERR_NETWORK, "the connection to party %u failed earlier; reconnect", c->peer);
        }
        ERR_clear_error();
        int r = op == OP_HANDSHAKE ? SSL_do_handshake(c->ssl)
              : op == OP_READ      ? SSL_read_ex(c->ssl, buf, len, done)
                                   : SSL_write_ex(c->ssl, buf, len, done);
        int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
        kg_err err = KG_OK;
        if (e == SSL_ERROR_ZERO_RETURN)
            err = kg_err_set(KG_ERR_NETWORK, "the peer closed the connection");
        else if (e == SSL_ERROR_SYSCALL)
            err = kg_err_set(KG_ERR_NETWORK, "connection error: %s", errno ? strerror(errno) : "peer went away");
        else if (e == SSL_ERROR_SSL)
            err = kg_err_set(KG_ERR_NETWORK, "TLS error: %s", ssl_errstr());
        pthread_mutex_unlock(&c->ssl_lock);
        if (e == SSL_ERROR_NONE || err != KG_OK)
            return err;
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return kg_err_set(KG_ERR_NETWORK, "unexpected TLS state %d", e);
        int w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
        if (w == 0) {
            *timed_out = true;
            return kg_err_set(KG_ERR_NETWORK, "timed out waiting for party %u", c->peer);
        }
        if (w < 0)
            return kg_err_set(KG_ERR_NETWORK, "poll failed: %s", strerror(errno));
    }
}

static void mark_dead(kg_mpc_net_conn *c)
{
    pthread_mutex_lock(&c->ssl_lock);
    c->dead = true;
    pthread_mutex_unlock(&c->ssl_lock);
}

/* Move exactly len bytes. *partial: some but not all bytes moved. */
static kg_err ssl_full(kg_mpc_net_conn *c, ssl_op op, uint8_t *buf, size_t len, int64_t deadline,
                       bool *timed_out_clean)
{
    size_t off = 0;
    *timed_out_clean = false;
    while (off < len) {
        size_t n = 0;
        bool to = false;
        kg_err err = ssl_io(c, op, buf + off, len - off, &n, deadline, &to);
        if (err != KG_OK) {
            *timed_out_clean = to && off == 0;
            return err;
        }
        off += n;
    }
    return KG_OK;
}

/* ------------------------------------------------------- connections */

static void conn_free(kg_mpc_net_conn *c)
{
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    pthread_mutex_destroy(&c->ssl_lock);
    pthread_mutex_destroy(&c->write_lock);
    pthread_mutex_destroy(&c->read_lock);
    free(c);
}

/* Wrap a connected socket (taken over, closed on error) and handshake. */
static kg_err conn_start(kg_mpc_net_conn **out, kg_mpc_net_tls *tls, int fd, bool server,
                         uint32_t expect, int64_t deadline)
{
    kg_mpc_net_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    c->fd = fd;
    c->peer = KG_MPC_NET_PARTY_ANY;
    pthread_mutex_init(&c->ssl_lock, NULL);
    pthread_mutex_init(&c->write_lock, NULL);
    pthread_mutex_init(&c->read_lock, NULL);
    if ((c->ssl = SSL_new(tls->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
        conn_free(c);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    server ? SSL_set_accept_state(c->ssl) : SSL_set_connect_state(c->ssl);
    size_t n = 0;
    bool to = false;
    kg_err err = ssl_io(c, OP_HANDSHAKE, NULL, 0, &n, deadline, &to);
    long vr = SSL_get_verify_result(c->ssl);
    X509 *peer = SSL_get0_peer_certificate(c->ssl);
    uint32_t id = 0;
    if (err != KG_OK && vr != X509_V_OK)
        err = kg_err_set(KG_ERR_UNAUTHENTICATED, "the peer's certificate is not from our CA: %s",
                         X509_verify_cert_error_string(vr));
    else if (err != KG_OK && !to && strstr(kg_err_detail(err), "certificate") != NULL)
        err = kg_err_set(KG_ERR_UNAUTHENTICATED, "%s", kg_err_detail(err));
    else if (err == KG_OK && (peer == NULL || vr != X509_V_OK || X509_check_ca(peer) != 0))
        err = kg_err_set(KG_ERR_UNAUTHENTICATED, "the peer presented no valid party certificate");
    else if (err == KG_OK && kg_mpc_net_x509_party(&id, peer) != KG_OK)
        err = kg_err_set(KG_ERR_UNAUTHENTICATED, "the peer's certificate names no kashguard party");
    else if (err == KG_OK && expect != KG_MPC_NET_PARTY_ANY && id != expect)
        err = kg_err_set(KG_ERR_UNAUTHENTICATED, "connected to party %u, expected party %u", id, expect);
    ERR_clear_error();
    if (err != KG_OK) {
        conn_free(c);
        return err;
    }
    c->peer = id;
    *out = c;
    return KG_OK;
}

kg_err kg_mpc_net_listen(kg_mpc_net_listener **out, kg_mpc_net_tls *tls, const char *addr)
{
    KG_ARG_CHECK(out != NULL && tls != NULL);
    *out = NULL;
    struct addrinfo *ai = NULL;
    kg_err err = resolve(&ai, addr, true);
    if (err != KG_OK)
        return err;
    int fd = -1, saved = 0;
    for (struct addrinfo *a = ai; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket_nb(a);
        int one = 1;
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
                        || bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0)) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return kg_err_set(KG_ERR_NETWORK, "cannot listen on %s: %s", addr, strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    kg_mpc_net_listener *l = calloc(1, sizeof *l);
    if (l == NULL || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        free(l);
        close(fd);
        return kg_err_set(KG_ERR_NOMEM, "out of memory");
    }
    l->tls = tls;
    l->fd = fd;
    l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    *out = l;
    return KG_OK;
}

uint16_t kg_mpc_net_listener_port(const kg_mpc_net_listener *l)
{
    return l ? l->port : 0;
}

void kg_mpc_net_listener_free(kg_mpc_net_listener *l)
{
    if (l == NULL)
        return;
    close(l->fd);
    free(l);
}

kg_err kg_mpc_net_accept(kg_mpc_net_conn **out, kg_mpc_net_listener *l, int timeout_ms)
{
    KG_ARG_CHECK(out != NULL && l != NULL);
    *out = NULL;
    int64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        int w = wait_fd(l->fd, POLLIN, deadline);
        if (w == 0)
            return kg_err_set(KG_ERR_NETWORK, "timed out waiting for a connection");
        if (w < 0)
            return kg_err_set(KG_ERR_NETWORK, "poll failed: %s", strerror(errno));
        int fd = accept(l->fd, NULL, NULL);
        if (fd < 0 && (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0)
            return kg_err_set(KG_ERR_NETWORK, "accept failed: %s", strerror(errno));
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0
            || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
            close(fd);
            return kg_err_set(KG_ERR_NETWORK, "cannot configure the socket: %s", strerror(errno));
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* timeout_ms bounds the wait for a connection, not the handshake of
         * one that came at its end: a loaded machine needs more than what
         * is left of a 1 s accept poll, and a cut handshake is a dropped
         * connection ("Broken pipe") at the peer. */
        int64_t hs = deadline_of(KG_MPC_NET_HANDSHAKE_MS);
        return conn_start(out, l->tls, fd, true, KG_MPC_NET_PARTY_ANY, hs > deadline ? hs : deadline);
    }
}

static int tcp_connect(const struct addrinfo *a, int64_t deadline, int *saved)
{
    int fd = socket_nb(a);
    if (fd < 0) {
        *saved = errno;
        return -1;
    }
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
        return fd;
    int soerr = errno;
    if (soerr == EINPROGRESS) {
        int w = wait_fd(fd, POLLOUT, deadline);
        socklen_t sl = sizeof soerr;
        if (w == 0)
            soerr = ETIMEDOUT;
        else if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
    }
    if (soerr == 0)
        return fd;
    *saved = soerr;
    close(fd);
    return -1;
}

kg_err kg_mpc_net_connect(kg_mpc_net_conn **out, kg_mpc_net_tls *tls, const char *addr,
                          uint32_t expect_party, int timeout_ms)
{
    KG_ARG_CHECK(out != NULL && tls != NULL);
    *out = NULL;
    int64_t deadline = deadline_of(timeout_ms);
    struct addrinfo *ai = NULL;
    kg_err err = resolve(&ai, addr, false);
    if (err != KG_OK)
        return err;
    int fd = -1, saved = ETIMEDOUT;
    for (struct addrinfo *a = ai; a != NULL && fd < 0; a = a->ai_next)
        fd = tcp_connect(a, deadline, &saved);
    freeaddrinfo(ai);
    if (fd < 0)
        return kg_err_set(KG_ERR_NETWORK, "cannot connect to %s: %s", addr,
                          saved == ETIMEDOUT ? "timed out" : strerror(saved));
    return conn_start(out, tls, fd, false, expect_party, deadline);
}

uint32_t kg_mpc_net_conn_peer(const kg_mpc_net_conn *c)
{
    return c ? c->peer : KG_MPC_NET_PARTY_ANY;
}

/* ------------------------------------------------------------ frames */

static kg_err write_locked(kg_mpc_net_conn *c, const uint8_t *a, size_t alen, const uint8_t *b,
                           size_t blen, int timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    bool clean = false;
    pthread_mutex_lock(&c->write_lock);
    kg_err err = ssl_full(c, OP_WRITE, (uint8_t *)a, alen, deadline, &clean);
    if (err == KG_OK && blen > 0)
        err = ssl_full(c, OP_WRITE, (uint8_t *)b, blen, deadline, &clean);
    if (err != KG_OK)
        mark_dead(c); /* a frame may be half written */
    pthread_mutex_unlock(&c->write_lock);
    return err;
}

kg_err kg_mpc_net_conn_write_raw(kg_mpc_net_conn *c, const uint8_t *data, size_t len, int timeout_ms)
{
    KG_ARG_CHECK(c != NULL && (data != NULL || len == 0));
    return write_locked(c, data, len, NULL, 0, timeout_ms);
}

kg_err kg_mpc_net_send(kg_mpc_net_conn *c, const uint8_t *frame, size_t len, int timeout_ms)
{
    KG_ARG_CHECK(c != NULL && (frame != NULL || len == 0));
    if (len > KG_MPC_NET_FRAME_MAX_BYTES)
        return kg_err_set(KG_ERR_TOO_LARGE, "frame of %zu bytes is above the %u-byte maximum", len,
                          KG_MPC_NET_FRAME_MAX_BYTES);
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    return write_locked(c, hdr, 4, frame, len, timeout_ms);
}

kg_err kg_mpc_net_recv_poll(kg_bytes *out, kg_mpc_net_conn *c, int timeout_ms, bool *idle)
{
    KG_ARG_CHECK(out != NULL && c != NULL && idle != NULL);
    out->data = NULL;
    out->len = 0;
    *idle = false;
    uint8_t hdr[4];
    bool clean = false;
    pthread_mutex_lock(&c->read_lock);
    /* Only the wait for a frame's first byte is bounded by timeout_ms. */
    kg_err err = ssl_full(c, OP_READ, hdr, 1, deadline_of(timeout_ms), &clean);
    int64_t rest = deadline_of(KG_MPC_NET_FRAME_REST_MS), asked = deadline_of(timeout_ms);
    rest = rest > asked ? rest : asked;
    bool started = err == KG_OK;
    if (started)
        err = ssl_full(c, OP_READ, hdr + 1, 3, rest, &clean);
    size_t len = 0;
    uint8_t *buf = NULL;
    if (err == KG_OK) {
        len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
        if (len > KG_MPC_NET_FRAME_MAX_BYTES)
            err = kg_err_set(KG_ERR_TOO_LARGE, "party %u announced a %zu-byte frame (maximum %u); "
                                               "connection dropped", c->peer, len, KG_MPC_NET_FRAME_MAX_BYTES);
        else if ((buf = malloc(len ? len : 1)) == NULL)
            err = kg_err_set(KG_ERR_NOMEM, "out of memory");
        else
            err = ssl_full(c, OP_READ, buf, len, rest, &clean);
    }
    if (err != KG_OK && (started || !clean))
        mark_dead(c);
    *idle = err != KG_OK && !started && clean;
    pthread_mutex_unlock(&c->read_lock);
    if (err != KG_OK) {
        free(buf);
        return err;
    }
    out->data = buf;
    out->len = len;
    return KG_OK;
}

kg_err kg_mpc_net_recv(kg_bytes *out, kg_mpc_net_conn *c, int timeout_ms)
{
    bool idle = false;
    return kg_mpc_net_recv_poll(out, c, timeout_ms, &idle);
}

void kg_mpc_net_close(kg_mpc_net_conn *c)
{
    if (c == NULL)
        return;
    if (!c->dead) {
        ERR_clear_error();
        SSL_shutdown(c->ssl); /* best effort: one non-blocking attempt */
    }
    ERR_clear_error();
    conn_free(c);
}
