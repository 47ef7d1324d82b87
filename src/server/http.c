/* The HTTP front end: libmicrohttpd callbacks and the daemon.
 *
 * MHD runs a pool of cfg.threads internal threads (MHD_OPTION_THREAD_POOL_SIZE,
 * epoll where available); each connection stays on one thread, keep-alive
 * works as HTTP/1.1 defines. For each request MHD calls us:
 *   - uri_log: first, with the raw request target exactly as sent; we
 *     allocate the kg_req here and keep the raw target, because the router
 *     does its own per-segment percent-decoding (router.c);
 *   - on_access, first call: headers are complete. We copy out the token,
 *     the Idempotency-Key and the client address, verify the client
 *     certificate when tls_client_ca is set, and refuse an announced
 *     Content-Length above max_body_bytes at once with 413 (MHD then drops
 *     the body and closes the connection);
 *   - on_access with data: append to the body; a chunked body that grows
 *     past the limit is wiped and dropped, and 413 is sent when it ends;
 *   - on_access, last call: run the pipeline (pipeline.c) and queue the
 *     JSON reply;
 *   - on_completed: free the kg_req (wiping body, token, reply).
 *
 * The reply buffer is handed to MHD with a free callback that wipes it, so
 * a plaintext in a decrypt reply does not outlive the send. Every reply is
 * application/json, Cache-Control: no-store, and carries X-Request-Id (the
 * audit log's request_id) so a client can quote it. The one exception is
 * GET /v1/sys/metrics, whose handler sets a Prometheus text reply
 * (kg_req.text / content_type). */
#include "server_int.h"

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    kg_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->srv = cls;
    r->uri = strdup(uri ? uri : "");
    if (r->uri == NULL) {
        free(r);
        return NULL;
    }
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    kg_req_free(*req_cls);
    *req_cls = NULL;
}

static void wipe_free(void *p)
{
    if (p != NULL) {
        kg_wipe(p, strlen(p));
        free(p);
    }
}

static char *dup_header(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? strdup(v) : NULL;
}

/* Authorization: Bearer <t>, else X-KashGuard-Token: <t>. */
static void read_token(kg_req *r, struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
        a += 7;
        while (*a == ' ')
            a++;
        r->token = strdup(a);
        return;
    }
    r->token = dup_header(c, "X-KashGuard-Token");
}

static void read_remote(kg_req *r, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[NI_MAXHOST];
    if (ci == NULL || ci->client_addr == NULL)
        return;
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, len, host, sizeof host, NULL, 0, NI_NUMERICHOST) == 0)
        r->remote = strdup(host);
}

/* With tls_client_ca: the peer must have sent a certificate that verifies
 * against it (MHD asked for one because of MHD_OPTION_HTTPS_MEM_TRUST). */
static bool client_cert_ok(kg_server *srv, struct MHD_Connection *c)
{
    if (srv->tls_ca_pem == NULL)
        return true;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return false;
    gnutls_session_t s = (gnutls_session_t)ci->tls_session;
    unsigned n = 0, status = 0;
    if (gnutls_certificate_get_peers(s, &n) == NULL || n == 0)
        return false;
    return gnutls_certificate_verify_peers2(s, &status) == GNUTLS_E_SUCCESS && status == 0;
}

static bool content_length_too_large(struct MHD_Connection *c, size_t max)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return false;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl && n > max;
}

static void first_call(kg_req *r, struct MHD_Connection *c, const char *method)
{
    r->method = method;
    read_token(r, c);
    r->idem_key = dup_header(c, "Idempotency-Key");
    read_remote(r, c);
    r->tls_client_ok = client_cert_ok(r->srv, c);
    r->too_large = content_length_too_large(c, r->srv->cfg.max_body_bytes);
}

/* Append a chunk; past the limit the body is wiped and dropped. */
static void append_body(kg_req *r, const char *data, size_t n)
{
    size_t max = r->srv->cfg.max_body_bytes;
    if (r->too_large)
        return;
    if (n > max - r->body_len) {
        r->too_large = true;
        if (r->body != NULL) {
            kg_wipe(r->body, r->body_cap);
            free(r->body);
        }
        r->body = NULL;
        r->body_len = r->body_cap = 0;
        return;
    }
    if (r->body_len + n > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *nb = malloc(cap);
        if (nb == NULL) {
            r->too_large = true;
            return;
        }
        if (r->body != NULL) {
            memcpy(nb, r->body, r->body_len);
            kg_wipe(r->body, r->body_cap);
            free(r->body);
        }
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
}

static enum MHD_Result respond(struct MHD_Connection *c, kg_req *r)
{
    kg_req_run(r);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(r->reply_len, r->reply, wipe_free);
    if (resp == NULL)
        return MHD_NO;
    r->reply = NULL; /* MHD owns it now */
    r->reply_len = 0;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json"); /* text: metrics */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (r->http_status == 405) {
        char allow[64];
        kg_server_allowed_methods(allow, sizeof allow, r->uri);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    }
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->http_status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    kg_req *r = *req_cls;
    if (r == NULL)
        return MHD_NO; /* out of memory in uri_log: drop the connection */
    if (r->method == NULL) {
        first_call(r, c, method);
        return r->too_large ? respond(c, r) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        append_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return respond(c, r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    kg_log(KG_LOG_WARN, "http", "detail", msg, NULL);
}

kg_err kg_server_http_start(kg_server *srv, const struct sockaddr *addr)
{
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (srv->tls_cert_pem != NULL)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        { srv->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, srv->tls_key_pem },
        { MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert_pem },
        { MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" },
        { srv->tls_ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, srv->tls_ca_pem },
        { MHD_OPTION_END, 0, NULL },
    };
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, /* first, so MHD never logs on its own */
        MHD_OPTION_SOCK_ADDR, addr,
        /* One thread: MHD's internal polling thread alone (a pool of 1 is refused). */
        srv->cfg.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)(srv->cfg.threads > 1 ? srv->cfg.threads : 4096),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
        MHD_OPTION_URI_LOG_CALLBACK, uri_log, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (srv->daemon == NULL)
        return kg_err_set(KG_ERR_IO, "cannot listen on %s (address in use, or a bad TLS key/certificate?); "
                          "pick another --listen address or check tls_cert/tls_key", srv->cfg.listen);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : 0;
    return KG_OK;
}

void kg_server_http_stop(kg_server *srv)
{
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
