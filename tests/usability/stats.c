/* stats.c - bimp_stats() against allocation patterns whose counts are known.
 * Run with LD_PRELOAD=<libbimp.so>; linked normally, it finds bimp_stats and
 * bimp_print_stats with dlsym.  The patterns run on a thread of their own,
 * whose heap is fresh, while the main thread waits: every count they change
 * changes by exactly what the pattern implies.  One PASS/FAIL line per
 * group, `usability/stats-*`. */
#include "../common.h"
#include "../../bimp.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

static int (*get_stats)(struct bimp_stats *);
static void (*print_stats)(int);

#define LIFO_PAIRS 1000
#define D(field) (s1.field - s0.field) /* change of a count from s0 to s1 */

static void *volatile sink;

/* The patterns; runs on a fresh thread. */
static void *patterns(void *arg)
{
    (void)arg;
    struct bimp_stats s0, s1;

    /* The thread's first allocation gives it its heap (and may let the
     * thread machinery allocate); `base` stays, so the chunk never empties
     * and no free below is the last block of a chunk. */
    void *base = malloc(64);
    sink = base;

    /* N LIFO pairs: each free pops the block just pushed. */
    get_stats(&s0);
    size_t sizes_total = 0;
    for (size_t i = 0; i < LIFO_PAIRS; i++) {
        size_t n = 1 + i % 900;
        char *p = malloc(n);
        CHECK(p != NULL);
        memset(p, (int)i, n);
        sizes_total += n;
        free(p);
    }
    get_stats(&s1);
    CHECK(D(top_pops) == LIFO_PAIRS);
    CHECK(D(bumped) == LIFO_PAIRS);
    CHECK(D(allocations) == LIFO_PAIRS);
    CHECK(D(frees) == LIFO_PAIRS);
    CHECK(D(frees_below_top) == 0);
    CHECK(D(swept_blocks) == 0);
    CHECK(D(reused_exact) == 0 && D(reused_split) == 0);
    CHECK(D(popped_bytes) >= sizes_total + LIFO_PAIRS * 8);
    CHECK(D(in_use_bytes) == 0);
    group_end("usability", "stats-lifo-pops");

    /* a, b, c; free(b) is a free below the top; free(c) pops c and sweeps b;
     * then a is the top again. */
    char *a = malloc(48), *b = malloc(48), *c = malloc(48);
    get_stats(&s0);
    free(b);
    get_stats(&s1);
    CHECK(D(frees_below_top) == 1);
    CHECK(D(below_top_bytes) >= 48 + 8);
    CHECK(D(top_pops) == 0);
    CHECK(D(binned_bytes) == D(below_top_bytes));
    CHECK(D(frees) == 1);
    size_t b_stride = D(below_top_bytes);
    s0 = s1;
    free(c);
    get_stats(&s1);
    CHECK(D(top_pops) == 1);
    CHECK(D(swept_blocks) == 1);
    CHECK(D(frees_below_top) == 0);
    CHECK(D(frees) == 1);
    CHECK(s1.binned_bytes == s0.binned_bytes - b_stride); /* b left its bin */
    CHECK(s1.in_use_bytes == s0.in_use_bytes - D(popped_bytes));
    s0 = s1;
    free(a);
    get_stats(&s1);
    CHECK(D(top_pops) == 1 && D(swept_blocks) == 0);
    group_end("usability", "stats-free-below-then-sweep");

    /* A free below the top, then a malloc of the same size: exact reuse of
     * the same block, nothing bumped. */
    a = malloc(200);
    b = malloc(200);
    c = malloc(200);
    free(b);
    get_stats(&s0);
    char *d = malloc(200);
    get_stats(&s1);
    CHECK(D(reused_exact) == 1);
    CHECK(D(bumped) == 0);
    CHECK(D(allocations) == 1);
    CHECK(d == b);
    CHECK(s1.binned_bytes < s0.binned_bytes);
    free(d);
    free(c);
    free(a);
    group_end("usability", "stats-reused-exact");

    /* A free below the top of a large block, then a smaller malloc above
     * the small sizes (which would rather bump): part of the freed block. */
    a = malloc(4000);
    b = malloc(4000);
    c = malloc(64);
    free(b);
    get_stats(&s0);
    d = malloc(1500);
    get_stats(&s1);
    CHECK(D(reused_split) == 1);
    CHECK(D(bumped) == 0 && D(reused_exact) == 0);
    CHECK(d >= b && d < b + 4000);
    free(d);
    free(c);
    free(a);
    group_end("usability", "stats-reused-split");

    /* 1 MiB: a huge block, mapped and unmapped. */
    get_stats(&s0);
    char *h = malloc(1 << 20);
    CHECK(h != NULL);
    memset(h, 7, 1 << 20);
    get_stats(&s1);
    CHECK(D(huge_allocations) == 1);
    CHECK(D(allocations) == 1);
    CHECK(D(huge_bytes) >= (1 << 20));
    CHECK(s1.peak_huge_bytes >= s1.huge_bytes);
    CHECK(D(bumped) == 0);
    s0 = s1;
    free(h);
    get_stats(&s1);
    CHECK(D(huge_frees) == 1);
    CHECK(D(frees) == 1);
    CHECK(D(huge_freed_bytes) >= (1 << 20));
    CHECK(s1.huge_bytes + D(huge_freed_bytes) == s0.huge_bytes);
    group_end("usability", "stats-huge");

    free(base);
    return malloc(100); /* for the main thread to free: a remote free */
}

/* The statistics block bimp_print_stats writes: first and last lines. */
static void check_printed(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    errno = 12345;
    print_stats(fds[1]);
    CHECK(errno == 12345);
    close(fds[1]);
    static char text[65536];
    size_t len = 0;
    ssize_t got;
    while (len < sizeof text - 1 && (got = read(fds[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)got;
    close(fds[0]);
    text[len] = 0;
    char first[128];
    snprintf(first, sizeof first, "bimp " BIMP_VERSION ": statistics of pid %ld (", (long)getpid());
    CHECK(strncmp(text, first, strlen(first)) == 0);
    CHECK(len > 0 && text[len - 1] == '\n');
    char *last = len > 1 ? text + len - 2 : text;
    while (last > text && last[-1] != '\n')
        last--;
    CHECK(strncmp(last, "bimp: verdict: ", 15) == 0);
    CHECK(strstr(last, "% of frees popped a top)\n") != NULL);
    /* every line in between is a figure */
    size_t lines = 0;
    for (char *l = text; *l; l = strchr(l, '\n') + 1, lines++)
        CHECK(strncmp(l, "bimp", 4) == 0);
    CHECK(lines >= 20);
    CHECK(strstr(text, "top-of-stack pops") != NULL);
    group_end("usability", "stats-print-to-pipe");
}

int main(void)
{
    if (!bimp_is_loaded()) {
        puts("FAIL usability/stats: malloc is not Bimp's (run with LD_PRELOAD=libbimp.so)");
        return 1;
    }
    get_stats = (int (*)(struct bimp_stats *))dlsym(RTLD_DEFAULT, "bimp_stats");
    print_stats = (void (*)(int))dlsym(RTLD_DEFAULT, "bimp_print_stats");
    if (!get_stats || !print_stats) {
        puts("FAIL usability/stats: bimp_stats or bimp_print_stats not found");
        return 1;
    }
    sink = malloc(1); /* the main thread has its heap before s0 */
    free(sink);
    struct bimp_stats s0, s1;
    CHECK(get_stats(&s0) == 0);
    pthread_t t;
    void *block = NULL;
    CHECK(pthread_create(&t, NULL, patterns, NULL) == 0);
    CHECK(pthread_join(t, &block) == 0);
    get_stats(&s1);
    /* the first thread started: a heap of its own, none to adopt */
    CHECK(D(heaps_made) == 1);
    CHECK(D(heaps_adopted) == 0);
    group_end("usability", "stats-fresh-thread-heap");

    /* a block of the exited thread, freed here: a free from another thread */
    get_stats(&s0);
    free(block);
    get_stats(&s1);
    CHECK(D(remote_frees) == 1);
    CHECK(D(remote_bytes) >= 100 + 8);
    group_end("usability", "stats-remote-free");

    /* Memory kept for reuse is reported: a freed 50 MiB block stays in the
     * huge cache, resident, until it expires. */
    get_stats(&s0);
    char *big = malloc((size_t)50 << 20);
    CHECK(big != NULL);
    if (big)
        memset(big, 1, (size_t)50 << 20);
    free(big);
    get_stats(&s1);
    CHECK(D(huge_frees) == 1);
    CHECK(s1.huge_cached >= 1 && s1.huge_cached_bytes >= ((size_t)50 << 20));
    CHECK(s1.resident_bytes >= ((size_t)50 << 20));
    CHECK(s1.pool_bytes % (256 << 10) == 0 && s1.pool_purged_bytes % (256 << 10) == 0);
    group_end("usability", "stats-memory-kept-for-reuse");

    check_printed();
    return total_failures != 0;
}
