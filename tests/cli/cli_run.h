/* Shared by the CLI suites: run kg_cli_main in-process with stdout and
 * stderr captured into temporary files, so a test can check both streams
 * and the exit code. Header-only (each suite is its own executable);
 * include after <cmocka.h>. */
#ifndef KG_TESTS_CLI_RUN_H
#define KG_TESTS_CLI_RUN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "kashguard/cli.h"

static inline char *cli_slurp_fd(int fd)
{
    off_t n = lseek(fd, 0, SEEK_END);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(pread(fd, s, (size_t)n, 0), n);
    return s;
}

static inline int cli_tmp_fd(void)
{
    char path[] = "/tmp/kg-cli-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    return fd;
}

/* Run kg_cli_main("kashguard", args..., NULL) with stdout/stderr captured
 * into *out and *err (malloc'd, NUL-terminated). Returns the exit code. */
static inline int run_cli(char **out, char **err, ...)
{
    char *argv[48] = {"kashguard"};
    int argc = 1, fo = cli_tmp_fd(), fe = cli_tmp_fd(), so, se, rc;
    va_list ap;
    va_start(ap, err);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 47;) argv[argc++] = a;
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    so = dup(1);
    se = dup(2);
    dup2(fo, 1);
    dup2(fe, 2);
    rc = kg_cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    *out = cli_slurp_fd(fo);
    *err = cli_slurp_fd(fe);
    close(fo);
    close(fe);
    return rc;
}

#endif
