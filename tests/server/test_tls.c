/* TLS suite: a dev-mode server with TLS and client-certificate
 * authentication (tls_client_ca), driven by a GnuTLS client.
 *
 * Certificates (a CA, a server certificate for 127.0.0.1 and a client
 * certificate, all P-256, valid one day) are made with the openssl command
 * in a temp dir; the suite is skipped when the command is missing. Checks:
 * a client with a certificate the CA signed is served; a client without a
 * certificate, or with one from another CA, gets 401 before anything runs. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kashguard/server.h>

static kg_server *srv;
static char dir[256], data_dir[300];
static bool have_openssl;

static int run(const char *fmt, ...) KG_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static bool make_certs(void)
{
    const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1";
    return run("cd %s && openssl req -x509 %s -keyout ca.key -out ca.pem -subj /CN=kg-test-ca "
               ">/dev/null 2>&1", dir, ec) == 0 &&
           run("cd %s && openssl req -x509 %s -keyout other.key -out other.pem -subj /CN=kg-other-ca "
               ">/dev/null 2>&1", dir, ec) == 0 &&
           run("cd %s && openssl req -x509 %s -CA ca.pem -CAkey ca.key -keyout srv.key -out srv.pem "
               "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1",
               dir, ec) == 0 &&
           run("cd %s && openssl req -x509 %s -CA ca.pem -CAkey ca.key -keyout cli.key -out cli.pem "
               "-subj /CN=kg-client >/dev/null 2>&1", dir, ec) == 0 &&
           run("cd %s && openssl req -x509 %s -CA other.pem -CAkey other.key -keyout bad.key -out bad.pem "
               "-subj /CN=kg-intruder >/dev/null 2>&1", dir, ec) == 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/kg-tls-test-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    have_openssl = run("openssl version >/dev/null 2>&1") == 0 && make_certs();
    if (!have_openssl)
        return 0;
    static char cert[320], key[320], ca[320];
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    snprintf(cert, sizeof cert, "%s/srv.pem", dir);
    snprintf(key, sizeof key, "%s/srv.key", dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    kg_server_config cfg;
    kg_server_config_default(&cfg);
    cfg.dev = true;
    cfg.data_dir = data_dir;
    cfg.listen = "127.0.0.1:0";
    cfg.threads = 1;
    cfg.tls_cert = cert;
    cfg.tls_key = key;
    cfg.tls_client_ca = ca;
    cfg.kms.audit_fsync = false;
    return kg_server_start(&srv, &cfg) == KG_OK ? 0 : -1;
}

static int teardown(void **state)
{
    kg_server_stop(srv);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* GET path over TLS, optionally with a client certificate named by stem
 * ("cli" → cli.pem/cli.key). Returns the HTTP status, or -1 when the
 * handshake itself failed. */
static int tls_get(const char *path, const char *stem)
{
    char ca[320], cert[320], key[320];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    gnutls_certificate_credentials_t cred;
    assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
    assert_true(gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM) > 0);
    if (stem != NULL) {
        snprintf(cert, sizeof cert, "%s/%s.pem", dir, stem);
        snprintf(key, sizeof key, "%s/%s.key", dir, stem);
        assert_int_equal(gnutls_certificate_set_x509_key_file(cred, cert, key, GNUTLS_X509_FMT_PEM), 0);
    }
    gnutls_session_t s;
    assert_int_equal(gnutls_init(&s, GNUTLS_CLIENT), 0);
    assert_int_equal(gnutls_set_default_priority(s), 0);
    assert_int_equal(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred), 0);
    gnutls_session_set_verify_cert(s, "127.0.0.1", 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)kg_server_port(srv)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    gnutls_transport_set_int(s, fd);
    int ret, status = -1;
    do {
        ret = gnutls_handshake(s);
    } while (ret < 0 && !gnutls_error_is_fatal(ret));
    if (ret == 0) {
        char req[512], buf[8192];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
        assert_int_equal(gnutls_record_send(s, req, (size_t)n), n);
        size_t len = 0;
        ssize_t r;
        while (len < sizeof buf - 1 && (r = gnutls_record_recv(s, buf + len, sizeof buf - 1 - len)) != 0) {
            if (r < 0) {
                if (gnutls_error_is_fatal((int)r))
                    break;
                continue;
            }
            len += (size_t)r;
        }
        buf[len] = '\0';
        if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
            status = -1;
    }
    gnutls_deinit(s);
    close(fd);
    gnutls_certificate_free_credentials(cred);
    return status;
}

static void test_client_cert_accepted(void **state)
{
    if (!have_openssl)
        skip();
    assert_int_equal(tls_get("/v1/sys/seal-status", "cli"), 200);
}

static void test_no_client_cert_401(void **state)
{
    if (!have_openssl)
        skip();
    assert_int_equal(tls_get("/v1/sys/seal-status", NULL), 401);
}

static void test_foreign_client_cert_refused(void **state)
{
    if (!have_openssl)
        skip();
    assert_int_equal(tls_get("/v1/sys/seal-status", "bad"), 401);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_cert_accepted),
        cmocka_unit_test(test_no_client_cert_401),
        cmocka_unit_test(test_foreign_client_cert_refused),
    };
    return cmocka_run_group_tests_name("server_tls", tests, setup, teardown);
}
