/* small.c - the small tier (blocks up to 1 KiB in pages of equal blocks,
 * freed blocks as bits): random sequences against a model, with every
 * invariant checked after each operation in the debug builds
 * (bimp_check_heap); pops over freed runs that cross bitmap words; the
 * order of reuse and the statistics; pages given back; frees
 * by other threads (remote bits), folded in by the owner and reused; frees
 * into the heap of a thread that exited; fork with small blocks live.
 *
 *   small <variant> [seconds]        (threads are skipped when the build
 *                                     is single-threaded: BIMP_TEST_SINGLE=1)
 */
#include "common.h"
#include "../bimp.h"

#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *variant;
static int (*stats)(struct bimp_stats *);
static void (*check_heap)(void); /* debug builds only */

/* Random small sizes: mostly tiny, every class up to 1 KiB. */
static size_t random_small(uint64_t *s)
{
    uint64_t r = rnd(s);
    return r % 4 ? r / 4 % 129 : r / 4 % 1025;
}

#define SLOTS 3000

/* A random sequence of malloc, free, realloc and calloc of small blocks
 * over SLOTS slots for `seconds`, every block stamped and checked (contents,
 * alignment, usable size, no overlap with its neighbours' stamps), the
 * heap's invariants after every operation in the debug builds. */
static void model(double seconds)
{
    static unsigned char *p[SLOTS];
    static size_t n[SLOTS];
    uint64_t s = 12345;
    size_t align = getenv("BIMP_TEST_ALIGN") ? strtoul(getenv("BIMP_TEST_ALIGN"), 0, 10) : 16;
    long ops = 0;
    for (double end = monotonic_seconds() + seconds; (ops & 255) || monotonic_seconds() < end; ops++) {
        size_t k = rnd(&s) % SLOTS;
        unsigned op = (unsigned)(rnd(&s) % 8);
        if (p[k]) {
            CHECK(intact(p[k], n[k], k + n[k]));
            if (op < 5) {
                free(p[k]);
                p[k] = NULL;
            } else {
                size_t m = random_small(&s);
                unsigned char *q = realloc(p[k], m);
                CHECK(q != NULL || m == 0);
                CHECK(!q || intact(q, n[k] < m ? n[k] : m, k + n[k]));
                p[k] = q;
                n[k] = m;
                if (q)
                    fill(q, m, k + m);
            }
        } else {
            n[k] = random_small(&s);
            p[k] = op < 2 ? calloc(1, n[k]) : malloc(n[k]);
            CHECK(p[k] != NULL);
            if (!p[k])
                continue;
            CHECK(((uintptr_t)p[k] & (align - 1)) == 0 && malloc_usable_size(p[k]) >= n[k]);
            for (size_t i = 0; op < 2 && i < n[k]; i++)
                CHECK(p[k][i] == 0);
            fill(p[k], n[k], k + n[k]);
        }
        if (check_heap)
            check_heap();
    }
    for (size_t k = 0; k < SLOTS; k++) {
        CHECK(!p[k] || intact(p[k], n[k], k + n[k]));
        free(p[k]);
        p[k] = NULL;
    }
    printf("# %s: model: %ld operations\n", variant, ops);
    group_end(variant, "small/model");
}

/* One page of 16-byte blocks has 4 words of bits: a pop from the top
 * sweeps a run of freed blocks across word boundaries, and stops at the
 * first block in use (with a larger alignment, fewer blocks, one word). */
static void pops_over_runs(void)
{
    static char *b[256];
    char *probe = malloc(16);
    int M = (int)(4096 / malloc_usable_size(probe)) * 3 / 4; /* 192 blocks of 16 bytes: three words */
    free(probe);
    int tries = 0;
    for (;; tries++) { /* M blocks in a row on one page (a fresh page of their class) */
        for (int i = 0; i < M; i++)
            b[i] = malloc(16);
        int row = 1;
        for (int i = 1; i < M; i++)
            row &= b[i] == b[i - 1] + malloc_usable_size(b[0]);
        if (row || tries == 4)
            break;
    }
    size_t stride = malloc_usable_size(b[0]);
    struct bimp_stats s0, s1;
    stats(&s0);
    for (int i = 10; i < M - 1; i++) /* below the top: bits, in three words and a bit */
        free(b[i]);
    stats(&s1);
    CHECK(s1.small_below - s0.small_below == (size_t)M - 11);
    free(b[M - 1]); /* the top: pops it and sweeps all M - 11 behind it */
    stats(&s0);
    CHECK(s0.small_swept - s1.small_swept == (size_t)M - 11);
    CHECK(s0.small_pops - s1.small_pops == 1);
    char *next = malloc(16); /* the top is b[10]'s place now */
    CHECK(next == b[10]);
    free(next);
    free(b[5]); /* a bit below b[9], which stays in use */
    free(b[9]); /* the top again: pops b[9] only... */
    char *again = malloc(16);
    CHECK(again == b[5]); /* ...so the freed b[5] is taken first */
    CHECK(again + 4 * stride == b[9]);
    free(again);
    for (int i = 0; i < 9; i++)
        if (i != 5)
            free(b[i]);
    group_end(variant, "small/pops-over-freed-runs");
}

/* The order of reuse: the block freed last below a top first (the hot
 * block), then the lowest freed one; and what the statistics count. */
static void reuse_and_stats(void)
{
    char *b[8], *top;
    size_t stride;
    for (int tries = 0;; tries++) { /* eight in a row on one page, and one on top */
        for (int i = 0; i < 8; i++)
            b[i] = malloc(40);
        top = malloc(40);
        stride = malloc_usable_size(b[0]);
        int row = top == b[7] + stride;
        for (int i = 1; i < 8; i++)
            row &= b[i] == b[i - 1] + stride;
        if (row || tries == 4)
            break;
    }
    struct bimp_stats s0, s1;
    stats(&s0);
    free(b[5]);
    free(b[2]);
    stats(&s1);
    CHECK(s1.small_below - s0.small_below == 2 && s1.small_pops == s0.small_pops);
    char *p = malloc(40), *q = malloc(40);
    CHECK(p == b[2] && q == b[5]); /* the hot block, then the lowest freed */
    stats(&s0);
    CHECK(s0.small_reused - s1.small_reused == 2 && s0.small_bumped == s1.small_bumped);
    free(b[6]);
    free(b[7]);
    stats(&s1);
    free(top); /* pops the top, sweeps b[7] and b[6] */
    stats(&s0);
    CHECK(s0.small_pops - s1.small_pops == 1 && s0.small_swept - s1.small_swept == 2);
    CHECK(s1.small_in_use_bytes - s0.small_in_use_bytes == stride); /* b[6] and b[7] were not in use */
    CHECK(malloc(40) == b[6]);
    free(b[6]);
    for (int i = 0; i < 6; i++)
        free(b[i]);
    group_end(variant, "small/reuse-order-and-stats");

    /* LIFO pairs: every free pops; nothing left in use. */
    stats(&s0);
    for (size_t i = 0; i < 1000; i++) {
        char *x = malloc(1 + i % 1000);
        x[0] = 1;
        free(x);
    }
    stats(&s1);
    CHECK(s1.small_pops - s0.small_pops == 1000 && s1.small_bumped - s0.small_bumped == 1000);
    CHECK(s1.small_below == s0.small_below && s1.small_in_use_bytes == s0.small_in_use_bytes);
    CHECK(s1.allocations - s0.allocations == 1000 && s1.frees - s0.frees == 1000);
    group_end(variant, "small/lifo-pops");

    /* Every block of many pages freed in allocation order (each page's
     * last free pops it empty): the pages go back. */
    enum { MANY = 20000 };
    static char *many[MANY];
    stats(&s0);
    for (int i = 0; i < MANY; i++)
        many[i] = malloc(100);
    size_t per_page = 4096 / malloc_usable_size(many[0]);
    stats(&s1);
    CHECK(s1.small_pages >= s0.small_pages + MANY / per_page / 2);
    for (int i = 0; i < MANY; i++)
        free(many[i]);
    stats(&s1);
    CHECK(s1.small_pages <= s0.small_pages + 1);
    group_end(variant, "small/pages-given-back");
}

/* Blocks one thread allocates and another frees: the owner folds the
 * remote bits in when it next needs a page, and reuses those blocks. */
enum { REMOTE = 4000 };
static char *shared[REMOTE];
static pthread_barrier_t step;

static void *other_thread(void *arg)
{
    (void)arg;
    free(malloc(1)); /* a heap of its own: its frees are counted */
    pthread_barrier_wait(&step); /* main allocated */
    for (int i = 0; i < REMOTE; i++)
        free(shared[i]);
    pthread_barrier_wait(&step); /* freed */
    return NULL;
}

static void remote(void)
{
    pthread_t t;
    pthread_barrier_init(&step, NULL, 2);
    CHECK(pthread_create(&t, NULL, other_thread, NULL) == 0);
    for (int i = 0; i < REMOTE; i++) {
        shared[i] = malloc(64);
        fill(shared[i], 64, (uintptr_t)i);
    }
    struct bimp_stats s0, s1;
    stats(&s0);
    pthread_barrier_wait(&step);
    pthread_barrier_wait(&step);
    pthread_join(t, NULL);
    stats(&s1);
    CHECK(s1.small_remote - s0.small_remote == REMOTE);
    /* The owner takes the same memory again: every new block is one of
     * the freed ones (folded in, popped or reused). */
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < REMOTE; i++) {
        lo = (uintptr_t)shared[i] < lo ? (uintptr_t)shared[i] : lo;
        hi = (uintptr_t)shared[i] > hi ? (uintptr_t)shared[i] : hi;
    }
    int inside = 0;
    static char *again[REMOTE];
    for (int i = 0; i < REMOTE; i++) {
        again[i] = malloc(64);
        inside += (uintptr_t)again[i] >= lo && (uintptr_t)again[i] <= hi;
    }
    CHECK(inside >= REMOTE * 9 / 10);
    for (int i = 0; i < REMOTE; i++)
        free(again[i]);
    group_end(variant, "small/remote-frees-folded-and-reused");
}

/* A thread allocates and exits (its heap orphaned, its pages no longer
 * current); the main thread frees its blocks: the pages go back. */
static void *allocate_and_exit(void *arg)
{
    (void)arg;
    for (int i = 0; i < REMOTE; i++)
        shared[i] = malloc(1 + i % 1000);
    return NULL;
}

static void orphan(void)
{
    struct bimp_stats s0, s1, s2;
    stats(&s0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, allocate_and_exit, NULL) == 0);
    pthread_join(t, NULL);
    stats(&s1);
    CHECK(s1.small_pages > s0.small_pages);
    for (int i = 0; i < REMOTE; i++)
        free(shared[i]);
    stats(&s2);
    CHECK(s2.small_pages <= s0.small_pages + 2);
    CHECK(s2.small_in_use_bytes <= s0.small_in_use_bytes);
    printf("# %s: orphan: small pages %zu -> %zu -> %zu\n", variant, s0.small_pages, s1.small_pages,
           s2.small_pages);
    group_end(variant, "small/frees-into-an-exited-thread");
}

/* fork with small blocks live: the child frees and allocates them, the
 * parent's are intact. */
static void forked(void)
{
    enum { F = 2000 };
    static char *b[F];
    for (int i = 0; i < F; i++) {
        b[i] = malloc(1 + i % 500);
        fill(b[i], 1 + i % 500, (uintptr_t)i);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = 0;
        for (int i = 0; i < F; i += 2)
            free(b[i]);
        for (int i = 0; i < F; i += 2) {
            b[i] = malloc(1 + i % 500);
            fill(b[i], 1 + i % 500, (uintptr_t)i);
        }
        for (int i = 0; i < F; i++) {
            bad += !intact(b[i], 1 + i % 500, (uintptr_t)i);
            free(b[i]);
        }
        _exit(bad ? 1 : 0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < F; i++) {
        CHECK(intact(b[i], 1 + i % 500, (uintptr_t)i));
        free(b[i]);
    }
    group_end(variant, "small/fork");
}

int main(int argc, char **argv)
{
    variant = argc > 1 ? argv[1] : "default";
    double seconds = argc > 2 ? atof(argv[2]) : 2;
    stats = (int (*)(struct bimp_stats *))dlsym(RTLD_DEFAULT, "bimp_stats");
    check_heap = (void (*)(void))dlsym(RTLD_DEFAULT, "bimp_check_heap");
    CHECK(bimp_is_loaded() && stats);
    struct bimp_stats s0, s1;
    if (stats) {
        stats(&s0);
        free(malloc(24));
        stats(&s1);
        CHECK(s1.small_bumped + s1.small_reused > s0.small_bumped + s0.small_reused); /* built with the tier */
    }
    group_end(variant, "small/loaded");
    if (!stats || group_failures)
        return 1;
    printf("# %s: the small tier%s\n", variant, check_heap ? ", every invariant after each operation" : "");
    model(seconds);
    pops_over_runs();
    reuse_and_stats();
    bool single = getenv("BIMP_TEST_SINGLE") && strcmp(getenv("BIMP_TEST_SINGLE"), "1") == 0;
    if (!single) {
        remote();
        orphan();
    }
    forked();
    return total_failures != 0;
}
