/* common.h - helpers shared by Bimp's C tests.
 *
 * Tests print one line per group of checks, `PASS <name>` or
 * `FAIL <name>: <first failed check>`; tests/run counts those lines. */
#ifndef BIMP_TEST_COMMON_H
#define BIMP_TEST_COMMON_H
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int group_failures, total_failures;
static char group_first[256];
static char group_note[160]; /* said after a passing group's name, then cleared */

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            if (!group_failures++) \
                snprintf(group_first, sizeof group_first, "line %d: %s", __LINE__, #cond); \
        } \
    } while (0)

static inline void group_end(const char *prefix, const char *name)
{
    if (group_failures)
        printf("FAIL %s/%s: %s\n", prefix, name, group_first);
    else
        printf("PASS %s/%s%s%s\n", prefix, name, group_note[0] ? ": " : "", group_note);
    fflush(stdout);
    group_note[0] = 0;
    total_failures += group_failures;
    group_failures = 0;
}

/* True when the process's malloc is Bimp's. */
static inline int bimp_is_loaded(void)
{
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    return sym && dladdr(sym, &info) && info.dli_fname && strstr(info.dli_fname, "libbimp");
}

/* A pattern byte for position i of a block identified by seed. */
static inline unsigned char pattern(uintptr_t seed, size_t i)
{
    return (unsigned char)((seed * 2654435761u) >> 7 ^ i * 31);
}

static inline void fill(void *p, size_t n, uintptr_t seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern(seed, i);
}

static inline int intact(const void *p, size_t n, uintptr_t seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern(seed, i))
            return 0;
    return 1;
}

/* A monotonic clock, in seconds: tests are bounded by time. */
static inline double monotonic_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A stress loop's budget: its count of operations, and BIMP_TEST_SECONDS
 * (default 5) from the first call, whichever ends first, so that a loaded
 * machine makes a stress test shorter, not longer.  Say the count reached
 * in group_note. */
static inline int out_of_time(void)
{
    static double deadline;
    if (deadline == 0) {
        const char *s = getenv("BIMP_TEST_SECONDS");
        deadline = monotonic_seconds() + (s ? atof(s) : 5);
    }
    return monotonic_seconds() > deadline;
}

/* The process's resident memory, in bytes. */
static inline size_t resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* xorshift64*: deterministic random numbers for tests. */
static inline uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

#endif
