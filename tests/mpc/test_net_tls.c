/* mTLS framed connections (src/mpc/net_tls.c) over loopback: a coordinator
 * and a node with certificates from the test CA exchange frames both ways
 * (0 bytes to the 1 MiB maximum) with the peer ids known on both sides; a
 * client certified by another CA is refused; a wrong expected party is
 * refused; oversize frames are refused on both ends; a silent peer times
 * out and the connection stays usable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kashguard/mpc.h"
#include "../../src/mpc/net_int.h"

static char dir[64];
static kg_mpc_net_tls *coord, *node1, *rogue;

static const char *path(const char *name)
{
    static char buf[8][128];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "/tmp/kg-nettls-XXXXXX");
    if (mkdtemp(dir) == NULL
        || kg_mpc_net_ca_create(path("ca.crt"), path("ca.key")) != KG_OK
        || kg_mpc_net_ca_create(path("other.crt"), path("other.key")) != KG_OK
        || kg_mpc_net_cert_issue(path("co.crt"), path("co.key"), path("ca.crt"), path("ca.key"), 0, NULL) != KG_OK
        || kg_mpc_net_cert_issue(path("n1.crt"), path("n1.key"), path("ca.crt"), path("ca.key"), 1, NULL) != KG_OK
        || kg_mpc_net_cert_issue(path("r2.crt"), path("r2.key"), path("other.crt"), path("other.key"), 2,
                                 NULL) != KG_OK)
        return -1;
    if (kg_mpc_net_tls_new(&coord, path("ca.crt"), path("co.crt"), path("co.key")) != KG_OK
        || kg_mpc_net_tls_new(&node1, path("ca.crt"), path("n1.crt"), path("n1.key")) != KG_OK
        /* the rogue trusts our CA but is certified by another one */
        || kg_mpc_net_tls_new(&rogue, path("ca.crt"), path("r2.crt"), path("r2.key")) != KG_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kg_mpc_net_tls_free(coord);
    kg_mpc_net_tls_free(node1);
    kg_mpc_net_tls_free(rogue);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct {
    kg_mpc_net_listener *l;
    kg_err accept_err;
    uint32_t peer;
    int mode; /* 0 echo 5 frames, 1 accept only, 2 expect oversize, 3 timeout then one frame */
    kg_err recv_err;
} server_arg;

static void *server(void *p)
{
    server_arg *a = p;
    kg_mpc_net_conn *c = NULL;
    a->accept_err = kg_mpc_net_accept(&c, a->l, 5000);
    if (a->accept_err != KG_OK)
        return NULL;
    a->peer = kg_mpc_net_conn_peer(c);
    kg_bytes f = {0};
    if (a->mode == 0) {
        for (int i = 0; i < 5; i++) {
            if (kg_mpc_net_recv(&f, c, 5000) != KG_OK)
                break;
            for (size_t j = 0; j < f.len; j++)
                f.data[j] ^= 0xff;
            kg_err e = kg_mpc_net_send(c, f.data, f.len, 5000);
            kg_bytes_free(&f);
            if (e != KG_OK)
                break;
        }
    } else if (a->mode == 1) {
        a->recv_err = kg_mpc_net_recv(&f, c, 2000);
        kg_bytes_free(&f);
    } else if (a->mode == 2) {
        a->recv_err = kg_mpc_net_recv(&f, c, 5000);
        kg_bytes_free(&f);
    } else {
        a->recv_err = kg_mpc_net_recv(&f, c, 100); /* client is silent */
        kg_bytes_free(&f);
        if (a->recv_err == KG_ERR_NETWORK && kg_mpc_net_recv(&f, c, 5000) == KG_OK && f.len == 3)
            a->mode = 4; /* usable after the timeout */
        kg_bytes_free(&f);
        if (kg_mpc_net_send(c, (const uint8_t *)"ok", 2, 5000) != KG_OK)
            a->mode = 5;
    }
    kg_mpc_net_close(c);
    return NULL;
}

static void start(server_arg *a, pthread_t *t, char *addr, size_t addr_len, int mode)
{
    memset(a, 0, sizeof *a);
    a->mode = mode;
    assert_int_equal(kg_mpc_net_listen(&a->l, coord, "127.0.0.1:0"), KG_OK);
    snprintf(addr, addr_len, "127.0.0.1:%u", kg_mpc_net_listener_port(a->l));
    assert_int_equal(pthread_create(t, NULL, server, a), 0);
}

static void test_frames(void **state)
{
    (void)state;
    server_arg a;
    pthread_t t;
    char addr[64];
    start(&a, &t, addr, sizeof addr, 0);
    assert_int_equal(kg_mpc_net_tls_party(coord), 0);
    assert_int_equal(kg_mpc_net_tls_party(node1), 1);
    kg_mpc_net_conn *c = NULL;
    assert_int_equal(kg_mpc_net_connect(&c, node1, addr, KG_MPC_NET_COORDINATOR, 5000), KG_OK);
    assert_int_equal(kg_mpc_net_conn_peer(c), 0);
    static const size_t sizes[] = {0, 1, 1000, 70000, KG_MPC_NET_FRAME_MAX_BYTES};
    uint8_t *buf = malloc(KG_MPC_NET_FRAME_MAX_BYTES);
    assert_non_null(buf);
    for (size_t i = 0; i < 5; i++) {
        for (size_t j = 0; j < sizes[i]; j++)
            buf[j] = (uint8_t)(j * 7 + i);
        assert_int_equal(kg_mpc_net_send(c, buf, sizes[i], 5000), KG_OK);
        kg_bytes f = {0};
        assert_int_equal(kg_mpc_net_recv(&f, c, 5000), KG_OK);
        assert_int_equal(f.len, sizes[i]);
        for (size_t j = 0; j < sizes[i]; j++)
            assert_int_equal(f.data[j], (uint8_t)~(uint8_t)(j * 7 + i));
        kg_bytes_free(&f);
    }
    free(buf);
    kg_mpc_net_close(c);
    pthread_join(t, NULL);
    assert_int_equal(a.accept_err, KG_OK);
    assert_int_equal(a.peer, 1);
    kg_mpc_net_listener_free(a.l);
}

static void test_wrong_ca(void **state)
{
    (void)state;
    server_arg a;
    pthread_t t;
    char addr[64];
    start(&a, &t, addr, sizeof addr, 1);
    kg_mpc_net_conn *c = NULL;
    kg_err e = kg_mpc_net_connect(&c, rogue, addr, KG_MPC_NET_COORDINATOR, 5000);
    if (e == KG_OK) { /* TLS 1.3: the client finishes first; the refusal arrives next */
        kg_bytes f = {0};
        assert_int_equal(kg_mpc_net_recv(&f, c, 5000), KG_ERR_NETWORK);
        kg_mpc_net_close(c);
    } else {
        assert_int_equal(e, KG_ERR_NETWORK);
    }
    pthread_join(t, NULL);
    assert_int_equal(a.accept_err, KG_ERR_UNAUTHENTICATED);
    kg_mpc_net_listener_free(a.l);
}

static void test_wrong_party(void **state)
{
    (void)state;
    server_arg a;
    pthread_t t;
    char addr[64];
    start(&a, &t, addr, sizeof addr, 1);
    kg_mpc_net_conn *c = NULL;
    assert_int_equal(kg_mpc_net_connect(&c, node1, addr, 5, 5000), KG_ERR_UNAUTHENTICATED);
    assert_null(c);
    pthread_join(t, NULL);
    kg_mpc_net_listener_free(a.l);
    /* nobody there / accept timeout / bad address */
    assert_int_equal(kg_mpc_net_connect(&c, node1, "127.0.0.1:1", KG_MPC_NET_PARTY_ANY, 2000), KG_ERR_NETWORK);
    assert_int_equal(kg_mpc_net_connect(&c, node1, "no-port", KG_MPC_NET_PARTY_ANY, 2000), KG_ERR_BAD_INPUT);
    kg_mpc_net_listener *l = NULL;
    assert_int_equal(kg_mpc_net_listen(&l, coord, "127.0.0.1:0"), KG_OK);
    assert_int_equal(kg_mpc_net_accept(&c, l, 50), KG_ERR_NETWORK);
    kg_mpc_net_listener_free(l);
}

static void test_oversize(void **state)
{
    (void)state;
    server_arg a;
    pthread_t t;
    char addr[64];
    start(&a, &t, addr, sizeof addr, 2);
    kg_mpc_net_conn *c = NULL;
    assert_int_equal(kg_mpc_net_connect(&c, node1, addr, 0, 5000), KG_OK);
    static uint8_t big[KG_MPC_NET_FRAME_MAX_BYTES + 1];
    assert_int_equal(kg_mpc_net_send(c, big, sizeof big, 5000), KG_ERR_TOO_LARGE);
    const uint8_t hdr[4] = {0x00, 0x10, 0x00, 0x01}; /* 1 MiB + 1 */
    assert_int_equal(kg_mpc_net_conn_write_raw(c, hdr, 4, 5000), KG_OK);
    pthread_join(t, NULL);
    assert_int_equal(a.recv_err, KG_ERR_TOO_LARGE);
    kg_mpc_net_close(c);
    kg_mpc_net_listener_free(a.l);
}

static void test_timeout(void **state)
{
    (void)state;
    server_arg a;
    pthread_t t;
    char addr[64];
    start(&a, &t, addr, sizeof addr, 3);
    kg_mpc_net_conn *c = NULL;
    assert_int_equal(kg_mpc_net_connect(&c, node1, addr, 0, 5000), KG_OK);
    kg_bytes f = {0};
    /* the server says "ok" only after its timeout and our frame */
    assert_int_equal(kg_mpc_net_recv(&f, c, 400), KG_ERR_NETWORK); /* silent peer */
    assert_non_null(strstr(kg_err_detail(KG_ERR_NETWORK), "timed out"));
    assert_int_equal(kg_mpc_net_send(c, (const uint8_t *)"abc", 3, 5000), KG_OK);
    kg_err e = kg_mpc_net_recv(&f, c, 5000);
    if (e != KG_OK)
        fprintf(stderr, "recv: %s\n", kg_err_detail(e));
    assert_int_equal(e, KG_OK);
    assert_int_equal(f.len, 2);
    kg_bytes_free(&f);
    pthread_join(t, NULL);
    assert_int_equal(a.recv_err, KG_ERR_NETWORK);
    assert_int_equal(a.mode, 4);
    kg_mpc_net_close(c);
    kg_mpc_net_listener_free(a.l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames),   cmocka_unit_test(test_wrong_ca), cmocka_unit_test(test_wrong_party),
        cmocka_unit_test(test_oversize), cmocka_unit_test(test_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
