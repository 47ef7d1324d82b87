/* Shared by the benchmarks: the "machine:" line every bench prints first
 * (docs/benchmarks.md records it beside the figures). Header-only because
 * CMake builds each .c file under bench/ into a binary of its own. */
#ifndef KG_BENCH_MACHINE_H
#define KG_BENCH_MACHINE_H

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static inline void bench_print_machine(void)
{
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL) {
            const char *colon = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
                snprintf(model, sizeof(model), "%s", colon + 2);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        }
        fclose(f);
    }
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof(u));
    printf("machine: nproc=%ld, cpu=\"%s\", kernel=\"%s %s %s\"\n", sysconf(_SC_NPROCESSORS_ONLN), model,
           u.sysname, u.release, u.machine);
}

#endif
