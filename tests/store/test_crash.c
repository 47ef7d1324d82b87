/* Crash durability: what the store acknowledged survives kill -9.
 *
 * A child process opens the store and does puts (every third one inside a
 * two-key transaction), writing the index of each to a pipe only after the
 * call returned KG_OK. The parent SIGKILLs it after a random number of
 * acknowledgements -- the child keeps working meanwhile, so the kill lands
 * at an arbitrary point of a put, a commit or an fsync. The parent drains the
 * pipe (every index in it was acknowledged), reopens the store and checks
 * that each acknowledged key holds exactly its value, and that a transaction
 * is all-or-nothing. The outcome asserted does not depend on when the kill
 * lands, only which keys are checked does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <kashguard/store.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CRASH_ROUNDS 6
#define CRASH_MAX_PUTS 400

static void key_of(char *k, size_t n, int round, int i, char which)
{
    snprintf(k, n, "crash/%d/%05d%c", round, i, which);
}

static void val_of(char *v, size_t n, int round, int i)
{
    snprintf(v, n, "value-%d-%d-%0*d", round, i, 1 + i % 50, i);
}

static int child_put(kg_store *st, int round, int i)
{
    char k[64], k2[64], v[128];
    key_of(k, sizeof(k), round, i, 'a');
    val_of(v, sizeof(v), round, i);
    if (i % 3 != 0)
        return kg_store_put(st, NULL, k, (const uint8_t *)v, strlen(v)) == KG_OK;
    key_of(k2, sizeof(k2), round, i, 'b');
    kg_store_txn *t = NULL;
    if (kg_store_txn_begin(st, &t) != KG_OK)
        return 0;
    if (kg_store_put(st, t, k, (const uint8_t *)v, strlen(v)) != KG_OK ||
        kg_store_put(st, t, k2, (const uint8_t *)v, strlen(v)) != KG_OK) {
        kg_store_txn_rollback(t);
        return 0;
    }
    return kg_store_txn_commit(t) == KG_OK;
}

static void child_main(const char *path, int round, int fd)
{
    kg_store *st = NULL;
    if (kg_store_open(&st, path) != KG_OK)
        _exit(2);
    for (int i = 0; i < CRASH_MAX_PUTS; i++) {
        if (!child_put(st, round, i))
            _exit(3);
        if (write(fd, &i, sizeof(i)) != (ssize_t)sizeof(i))
            _exit(4);
    }
    /* never close cleanly: a finished child waits to be killed too */
    for (;;)
        pause();
}

/* Run one round; return how many puts were acknowledged. */
static int crash_round(const char *path, int round, int kill_after)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_main(path, round, p[1]);
    }
    close(p[1]);
    int acked = 0, idx;
    bool killed = false;
    for (;;) {
        ssize_t r = read(p[0], &idx, sizeof(idx));
        if (r < 0 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof(idx))
            break;
        assert_int_equal(idx, acked); /* acknowledgements arrive in order */
        acked++;
        if (!killed && acked >= kill_after) {
            kill(pid, SIGKILL);
            killed = true;
        }
        if (acked == CRASH_MAX_PUTS && !killed) {
            kill(pid, SIGKILL);
            killed = true;
        }
    }
    close(p[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    return acked;
}

static void check_round(kg_store *st, int round, int acked)
{
    char k[64], k2[64], v[128];
    for (int i = 0; i < acked; i++) {
        key_of(k, sizeof(k), round, i, 'a');
        val_of(v, sizeof(v), round, i);
        kg_bytes b = { 0 };
        assert_int_equal(kg_store_get(st, NULL, &b, k), KG_OK);
        assert_int_equal(b.len, strlen(v));
        assert_memory_equal(b.data, v, b.len);
        kg_bytes_free(&b);
        if (i % 3 == 0) {
            key_of(k2, sizeof(k2), round, i, 'b');
            assert_int_equal(kg_store_get(st, NULL, &b, k2), KG_OK);
            kg_bytes_free(&b);
        }
    }
    /* the put in flight at the kill: both keys of a transaction or neither */
    key_of(k, sizeof(k), round, acked, 'a');
    key_of(k2, sizeof(k2), round, acked, 'b');
    kg_bytes b = { 0 };
    kg_err ea = kg_store_get(st, NULL, &b, k);
    kg_bytes_free(&b);
    if (acked % 3 == 0) {
        kg_err eb = kg_store_get(st, NULL, &b, k2);
        kg_bytes_free(&b);
        assert_int_equal(ea, eb);
    }
}

static void test_kill9_keeps_acknowledged_writes(void **state)
{
    (void)state;
    char dir[] = "/tmp/kg-crash-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[96];
    snprintf(path, sizeof(path), "%s/kg.db", dir);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    print_message("crash seed %u\n", seed);
    srand(seed);
    int acked_in[CRASH_ROUNDS] = { 0 };
    for (int round = 0; round < CRASH_ROUNDS; round++) {
        int kill_after = 1 + rand() % CRASH_MAX_PUTS;
        int acked = crash_round(path, round, kill_after);
        assert_true(acked >= kill_after);
        acked_in[round] = acked;
        /* every round so far, so later crashes cannot have lost earlier data */
        kg_store *st = NULL;
        assert_int_equal(kg_store_open(&st, path), KG_OK);
        for (int r = 0; r <= round; r++)
            check_round(st, r, acked_in[r]);
        kg_store_close(st);
    }
    char p[128];
    static const char *const sfx[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_keeps_acknowledged_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
