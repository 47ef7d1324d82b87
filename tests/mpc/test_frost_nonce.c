/* Durable single-use FROST nonces (frost_nonce_store.c) over a real SQLite
 * store in a temp dir: preprocessed nonces sign; a second use conflicts;
 * consumption survives reopening and a SIGKILL right after the use was
 * acknowledged; records are sealed (wrong key and swapped records fail to
 * open and consume nothing); unknown commitments and bad arguments are
 * refused. Leasing: one use consumes a block durably, the block's nonces
 * sign once each from memory, and what a close or a SIGKILL mid-block
 * leaves unused is never handed out again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "kashguard/crypto.h"
#include "kashguard/mpc/frost.h"
#include "kashguard/store.h"

static const kg_mpc_group_id groups[] = {KG_MPC_GROUP_ED25519, KG_MPC_GROUP_RISTRETTO255,
                                         KG_MPC_GROUP_P256, KG_MPC_GROUP_SECP256K1};

typedef struct {
    char dir[64];
    char db[96];
    uint8_t key[32];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/kg-nonce-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->db, sizeof f->db, "%s/party.db", f->dir);
    if (kg_crypto_random(f->key, sizeof f->key) != KG_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void open_both(kg_store **st, kg_mpc_frost_nonce_store **ns, const fixture *f, const uint8_t *key)
{
    assert_int_equal(kg_store_open(st, f->db), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_open(ns, *st, "mpc/g1", key), KG_OK);
}

static void close_both(kg_store *st, kg_mpc_frost_nonce_store *ns)
{
    kg_mpc_frost_nonce_store_close(ns);
    kg_store_close(st);
}

static size_t count(kg_mpc_frost_nonce_store *ns, kg_mpc_group_id g, uint16_t id)
{
    size_t n = 99;
    assert_int_equal(kg_mpc_frost_nonce_store_count(&n, ns, g, id), KG_OK);
    return n;
}

/* Participant 1 signs with a stored nonce, participant 2 with a fresh one. */
static void sign_with_stored(kg_mpc_group_id g, const kg_mpc_frost_key_share *keys, kg_mpc_frost_nonce *n1)
{
    kg_mpc_frost_nonce n2;
    kg_mpc_frost_commitment coms[2];
    kg_mpc_frost_sig_share ss[2];
    kg_mpc_point pubs[2] = {keys[0].public_share, keys[1].public_share};
    static const uint8_t msg[] = "preprocessed";
    assert_int_equal(kg_mpc_frost_commit(&n2, &keys[1], NULL, NULL), KG_OK);
    coms[0] = n1->commitment, coms[1] = n2.commitment;
    kg_mpc_frost_signing_package pkg = {g, keys[0].group_public, msg, sizeof msg, coms, 2};
    assert_int_equal(kg_mpc_frost_sign(&ss[0], n1, &keys[0], &pkg), KG_OK);
    assert_int_equal(kg_mpc_frost_sign(&ss[1], &n2, &keys[1], &pkg), KG_OK);
    uint8_t sig[KG_MPC_FROST_SIG_MAX_BYTES];
    size_t len = 0;
    assert_int_equal(kg_mpc_frost_aggregate(sig, &len, NULL, NULL, &pkg, ss, pubs), KG_OK);
    assert_int_equal(kg_mpc_frost_verify(g, sig, len, &keys[0].group_public, msg, sizeof msg), KG_OK);
}

static void test_use_once_and_reopen(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < 4; i++) {
        kg_mpc_group_id g = groups[i];
        kg_mpc_frost_key_share keys[3];
        kg_mpc_point vss[2];
        kg_mpc_frost_commitment coms[5];
        kg_mpc_frost_nonce n;
        kg_store *st;
        kg_mpc_frost_nonce_store *ns;
        assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 2, 3, NULL, NULL), KG_OK);
        open_both(&st, &ns, f, f->key);
        assert_int_equal(kg_mpc_frost_nonce_store_preprocess(ns, coms, 5, &keys[0]), KG_OK);
        assert_int_equal(count(ns, g, 1), 5);
        assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[0]), KG_OK);
        assert_int_equal(n.commitment.id, 1);
        sign_with_stored(g, keys, &n);
        assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[0]), KG_ERR_CONFLICT);
        assert_true(n.state == 0 && n.commitment.id == 0); /* nothing handed out */
        assert_int_equal(count(ns, g, 1), 4);
        close_both(st, ns);
        /* reopened: consumed stays consumed, the rest still work */
        open_both(&st, &ns, f, f->key);
        assert_int_equal(count(ns, g, 1), 4);
        assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[0]), KG_ERR_CONFLICT);
        assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[3]), KG_OK);
        sign_with_stored(g, keys, &n);
        assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[3]), KG_ERR_CONFLICT);
        assert_int_equal(count(ns, g, 1), 3);
        /* a commitment that was never preprocessed here */
        kg_mpc_frost_nonce other;
        assert_int_equal(kg_mpc_frost_commit(&other, &keys[0], NULL, NULL), KG_OK);
        assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &other.commitment), KG_ERR_NOT_FOUND);
        close_both(st, ns);
        kg_wipe(keys, sizeof keys), kg_wipe(&other, sizeof other);
    }
}

typedef struct { char keys[8][256]; kg_bytes vals[8]; size_t n; } listing;

static int collect(void *arg, const char *key, const uint8_t *val, size_t len)
{
    listing *l = arg;
    if (l->n == 8)
        return 1;
    snprintf(l->keys[l->n], sizeof l->keys[0], "%s", key);
    if (kg_bytes_set(&l->vals[l->n], val, len) != KG_OK)
        return 1;
    l->n++;
    return 0;
}

static void test_sealed(void **state)
{
    fixture *f = *state;
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    kg_mpc_frost_key_share keys[3];
    kg_mpc_point vss[2];
    kg_mpc_frost_commitment coms[2];
    kg_mpc_frost_nonce n;
    kg_store *st;
    kg_mpc_frost_nonce_store *ns, *wrong;
    uint8_t bad_key[32];
    memcpy(bad_key, f->key, 32);
    bad_key[0] ^= 1;
    assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 2, 3, NULL, NULL), KG_OK);
    open_both(&st, &ns, f, f->key);
    assert_int_equal(kg_mpc_frost_nonce_store_preprocess(ns, coms, 2, &keys[1]), KG_OK);
    /* the wrong sealing key opens nothing and consumes nothing */
    assert_int_equal(kg_mpc_frost_nonce_store_open(&wrong, st, "mpc/g1", bad_key), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, wrong, g, &coms[0]), KG_ERR_DECRYPT);
    kg_mpc_frost_nonce_store_close(wrong);
    assert_int_equal(count(ns, g, 2), 2);
    /* the records hold no plaintext scalars and cannot be swapped (AAD) */
    listing l = {0};
    assert_int_equal(kg_store_list(st, NULL, "mpc/g1/nonce/ed25519/2/", NULL, 0, collect, &l), KG_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.vals[0].len, 1 + 12 + 68 + 16);
    assert_int_equal(kg_store_put(st, NULL, l.keys[0], l.vals[1].data, l.vals[1].len), KG_OK);
    assert_int_equal(kg_store_put(st, NULL, l.keys[1], l.vals[0].data, l.vals[0].len), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[0]), KG_ERR_DECRYPT);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[1]), KG_ERR_DECRYPT);
    /* swapped back, they open */
    assert_int_equal(kg_store_put(st, NULL, l.keys[0], l.vals[0].data, l.vals[0].len), KG_OK);
    assert_int_equal(kg_store_put(st, NULL, l.keys[1], l.vals[1].data, l.vals[1].len), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[0]), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[1]), KG_OK);
    kg_wipe(&n, sizeof n);
    for (size_t i = 0; i < l.n; i++)
        kg_bytes_free(&l.vals[i]);
    close_both(st, ns);
    kg_wipe(keys, sizeof keys);
}

static void test_bad_args(void **state)
{
    fixture *f = *state;
    kg_mpc_frost_key_share keys[3];
    kg_mpc_point vss[2];
    kg_mpc_frost_commitment coms[2];
    kg_mpc_frost_nonce n;
    kg_store *st;
    kg_mpc_frost_nonce_store *ns;
    assert_int_equal(kg_store_open(&st, f->db), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_open(&ns, st, "", f->key), KG_ERR_BAD_INPUT);
    assert_null(ns);
    assert_int_equal(kg_mpc_frost_nonce_store_open(&ns, NULL, "p", f->key), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_nonce_store_open(&ns, st, "p", f->key), KG_OK);
    assert_int_equal(kg_mpc_frost_dealer_keygen(KG_MPC_GROUP_P256, keys, vss, 2, 3, NULL, NULL), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_preprocess(ns, coms, 0, &keys[0]), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_nonce_store_preprocess(ns, coms, 2, &keys[0]), KG_OK);
    coms[0].id = 0;
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, KG_MPC_GROUP_P256, &coms[0]), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, (kg_mpc_group_id)9, &coms[1]), KG_ERR_BAD_INPUT);
    /* the same commitment under another participant's id is not ours */
    coms[1].id = 2;
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, KG_MPC_GROUP_P256, &coms[1]), KG_ERR_NOT_FOUND);
    close_both(st, ns);
    kg_wipe(keys, sizeof keys);
}

/* Child: use the nonce, ack on the pipe, wait to be killed. */
static _Noreturn void child_use(const fixture *f, const kg_mpc_frost_commitment *c, int wfd)
{
    kg_store *st;
    kg_mpc_frost_nonce_store *ns;
    kg_mpc_frost_nonce n;
    if (kg_store_open(&st, f->db) != KG_OK || kg_mpc_frost_nonce_store_open(&ns, st, "mpc/g1", f->key) != KG_OK)
        _exit(2);
    char ack = kg_mpc_frost_nonce_store_use(&n, ns, KG_MPC_GROUP_ED25519, c) == KG_OK ? 'Y' : 'N';
    if (write(wfd, &ack, 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

static void test_sigkill_after_use(void **state)
{
    fixture *f = *state;
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    kg_mpc_frost_key_share keys[3];
    kg_mpc_point vss[2];
    kg_mpc_frost_commitment coms[3];
    kg_mpc_frost_nonce n;
    kg_store *st;
    kg_mpc_frost_nonce_store *ns;
    assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 2, 3, NULL, NULL), KG_OK);
    open_both(&st, &ns, f, f->key);
    assert_int_equal(kg_mpc_frost_nonce_store_preprocess(ns, coms, 3, &keys[2]), KG_OK);
    close_both(st, ns);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_use(f, &coms[1], fds[1]);
    }
    close(fds[1]);
    char ack = 0;
    assert_int_equal(read(fds[0], &ack, 1), 1);
    assert_int_equal(ack, 'Y');
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(fds[0]);
    open_both(&st, &ns, f, f->key);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[1]), KG_ERR_CONFLICT);
    assert_int_equal(count(ns, g, 3), 2);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[0]), KG_OK);
    kg_wipe(&n, sizeof n);
    close_both(st, ns);
    kg_wipe(keys, sizeof keys);
}

/* Leasing: the first use consumes a block of 4 (count drops by 4): the
 * nonce used and the 3 oldest others; they sign once each from memory, a
 * close discards the rest, and the next miss leases a new block. */
static void test_lease_block(void **state)
{
    fixture *f = *state;
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    kg_mpc_frost_key_share keys[3];
    kg_mpc_point vss[2];
    kg_mpc_frost_commitment coms[10];
    kg_mpc_frost_nonce n;
    kg_store *st;
    kg_mpc_frost_nonce_store *ns;
    assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 2, 3, NULL, NULL), KG_OK);
    open_both(&st, &ns, f, f->key);
    assert_int_equal(kg_mpc_frost_nonce_store_set_lease(ns, 0), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_nonce_store_set_lease(ns, KG_MPC_FROST_NONCE_LEASE_MAX + 1), KG_ERR_BAD_INPUT);
    assert_int_equal(kg_mpc_frost_nonce_store_set_lease(ns, 4), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_preprocess(ns, coms, 6, &keys[0]), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_preprocess(ns, coms + 6, 4, &keys[0]), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[0]), KG_OK); /* leases 0, 1, 2, 3 */
    sign_with_stored(g, keys, &n);
    assert_int_equal(count(ns, g, 1), 6);          /* consumed durably */
    assert_int_equal(kg_mpc_frost_nonce_store_leased(ns), 3);
    for (size_t i = 1; i <= 2; i++) {              /* served from memory, once */
        assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[i]), KG_OK);
        sign_with_stored(g, keys, &n);
        assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[i]), KG_ERR_CONFLICT);
        assert_true(n.state == 0 && n.commitment.id == 0);
    }
    assert_int_equal(kg_mpc_frost_nonce_store_leased(ns), 1);
    assert_int_equal(count(ns, g, 1), 6);
    close_both(st, ns);                            /* coms[3] leased, never used: discarded */
    open_both(&st, &ns, f, f->key);
    assert_int_equal(kg_mpc_frost_nonce_store_set_lease(ns, 4), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[3]), KG_ERR_CONFLICT);
    assert_non_null(strstr(kg_err_detail(KG_ERR_CONFLICT), "earlier run"));
    assert_true(n.state == 0 && n.commitment.id == 0);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[9]), KG_OK); /* leases 9, 4, 5, 6 */
    sign_with_stored(g, keys, &n);
    assert_int_equal(count(ns, g, 1), 2);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[4]), KG_OK);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[7]), KG_OK); /* a miss: leases 7, 8 */
    assert_int_equal(count(ns, g, 1), 0);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[8]), KG_OK);
    sign_with_stored(g, keys, &n);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[9]), KG_ERR_CONFLICT);
    assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[8]), KG_ERR_CONFLICT);
    assert_int_equal(kg_mpc_frost_nonce_store_leased(ns), 2); /* 5 and 6 */
    kg_wipe(&n, sizeof n);
    close_both(st, ns);
    kg_wipe(keys, sizeof keys);
}

/* Child: lease a block of 8 with one use (0 and the oldest 7: 1..7),
 * take one more (1) from memory, ack, wait to be killed. */
static _Noreturn void child_lease(const fixture *f, const kg_mpc_frost_commitment *coms, int wfd)
{
    kg_store *st;
    kg_mpc_frost_nonce_store *ns;
    kg_mpc_frost_nonce n;
    if (kg_store_open(&st, f->db) != KG_OK || kg_mpc_frost_nonce_store_open(&ns, st, "mpc/g1", f->key) != KG_OK ||
        kg_mpc_frost_nonce_store_set_lease(ns, 8) != KG_OK)
        _exit(2);
    bool ok = kg_mpc_frost_nonce_store_use(&n, ns, KG_MPC_GROUP_ED25519, &coms[0]) == KG_OK &&
              kg_mpc_frost_nonce_store_use(&n, ns, KG_MPC_GROUP_ED25519, &coms[1]) == KG_OK &&
              kg_mpc_frost_nonce_store_leased(ns) == 6;
    char ack = ok ? 'Y' : 'N';
    if (write(wfd, &ack, 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

/* SIGKILL mid-block: the 6 nonces leased but not handed out are never
 * handed out again, by a new run with or without leasing; the nonces
 * outside the block still sign once. */
static void test_sigkill_mid_block(void **state)
{
    fixture *f = *state;
    kg_mpc_group_id g = KG_MPC_GROUP_ED25519;
    kg_mpc_frost_key_share keys[3];
    kg_mpc_point vss[2];
    kg_mpc_frost_commitment coms[12];
    kg_mpc_frost_nonce n;
    kg_store *st;
    kg_mpc_frost_nonce_store *ns;
    assert_int_equal(kg_mpc_frost_dealer_keygen(g, keys, vss, 2, 3, NULL, NULL), KG_OK);
    open_both(&st, &ns, f, f->key);
    assert_int_equal(kg_mpc_frost_nonce_store_preprocess(ns, coms, 12, &keys[0]), KG_OK);
    close_both(st, ns);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_lease(f, coms, fds[1]);
    }
    close(fds[1]);
    char ack = 0;
    assert_int_equal(read(fds[0], &ack, 1), 1);
    assert_int_equal(ack, 'Y');
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(fds[0]);
    for (unsigned lease = 1; lease <= 8; lease += 7) {
        open_both(&st, &ns, f, f->key);
        assert_int_equal(kg_mpc_frost_nonce_store_set_lease(ns, lease), KG_OK);
        assert_int_equal(count(ns, g, 1), 4);
        static const size_t block[8] = {0, 1, 2, 3, 4, 5, 6, 7};
        for (size_t i = 0; i < 8; i++) {
            assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[block[i]]), KG_ERR_CONFLICT);
            assert_true(n.state == 0 && n.commitment.id == 0);
        }
        assert_int_equal(kg_mpc_frost_nonce_store_leased(ns), 0);
        if (lease == 1) { /* checked again with leasing on */
            close_both(st, ns);
            continue;
        }
        for (size_t i = 8; i < 12; i++) {              /* outside the block: each signs once */
            assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[i]), KG_OK);
            sign_with_stored(g, keys, &n);
            assert_int_equal(kg_mpc_frost_nonce_store_use(&n, ns, g, &coms[i]), KG_ERR_CONFLICT);
        }
        close_both(st, ns);
    }
    kg_wipe(&n, sizeof n);
    kg_wipe(keys, sizeof keys);
}

int main(void)
{
    if (kg_crypto_init() != KG_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_use_once_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_after_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_mid_block, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
