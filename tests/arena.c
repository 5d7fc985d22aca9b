/* arena.c - Bimp's arena API (bimp.h): every function and its edges, then a
 * randomized sequence against a model.  Run with LD_PRELOAD=<libbimp.so>:
 *   arena <label>            the API table
 *   arena <label> ops N SEED N random operations (with a debug build, the
 *                            invariant checkers run after each, and
 *                            bimp_check_heap checks the thread's arenas)
 * One PASS/FAIL line per group of checks. */
#include "common.h"
#include "../bimp.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>

/* The API, from the preloaded library. */
#define API(f) static __typeof__(f) *f##_
API(bimp_arena_create);
API(bimp_arena_destroy);
API(bimp_arena_alloc);
API(bimp_arena_calloc);
API(bimp_arena_aligned_alloc);
API(bimp_arena_mark);
API(bimp_arena_release);
API(bimp_arena_reset);
API(bimp_stats);
static void (*check_heap_)(void); /* debug builds only */

#define LOAD(f) (f##_ = (__typeof__(f) *)dlsym(RTLD_DEFAULT, #f))

static const char *label;
static size_t align; /* malloc's alignment in this build */

static struct bimp_stats stats(void)
{
    struct bimp_stats st;
    bimp_stats_(&st);
    return st;
}

static bool aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static void create_destroy(void)
{
    size_t arenas = stats().arenas;
    bimp_arena *a = bimp_arena_create_();
    CHECK(a != NULL);
    CHECK(stats().arenas == arenas + 1);
    bimp_arena_destroy_(a);
    CHECK(stats().arenas == arenas);
    bimp_arena_destroy_(NULL); /* as free(NULL) */
    /* destroy with live blocks, small and huge, and marks */
    a = bimp_arena_create_();
    size_t huge = stats().huge_blocks;
    for (int i = 0; i < 1000; i++)
        fill(bimp_arena_alloc_(a, 100), 100, i);
    bimp_arena_mark_(a);
    bimp_arena_alloc_(a, 3 << 20);
    CHECK(stats().huge_blocks == huge + 1);
    bimp_arena_destroy_(a);
    CHECK(stats().huge_blocks == huge);
    /* many arenas at once, and created again after being destroyed */
    bimp_arena *many[64];
    char *mine[64];
    for (int i = 0; i < 64; i++) {
        many[i] = bimp_arena_create_();
        fill(mine[i] = bimp_arena_alloc_(many[i], 50), 50, i);
    }
    for (int i = 0; i < 64; i++)
        CHECK(many[i] && intact(mine[i], 50, i));
    for (int i = 0; i < 64; i++)
        bimp_arena_destroy_(many[i]);
    CHECK(stats().arenas == arenas);
    group_end(label, "arena-create-destroy");
}

static void alloc_sizes(void)
{
    bimp_arena *a = bimp_arena_create_();
    char *prev = NULL;
    size_t pushes = stats().arena_allocations;
    for (size_t n = 0; n <= 4096; n += (n < 64 ? 1 : 37)) {
        char *p = bimp_arena_alloc_(a, n);
        CHECK(p != NULL && aligned(p, align));
        CHECK(malloc_usable_size(p) >= n);
        CHECK(prev == NULL || p != prev);
        fill(p, n, n);
        prev = p;
    }
    /* zero sizes: distinct blocks, as malloc(0) */
    char *z1 = bimp_arena_alloc_(a, 0), *z2 = bimp_arena_alloc_(a, 0);
    CHECK(z1 && z2 && z1 != z2);
    /* a bump: consecutive small blocks lie one after the other */
    char *x = bimp_arena_alloc_(a, 24), *y = bimp_arena_alloc_(a, 24);
    CHECK(y > x && (size_t)(y - x) <= 64);
    CHECK(stats().arena_allocations > pushes);
    /* sizes no chunk holds, and absurd ones */
    char *h = bimp_arena_alloc_(a, 5 << 20);
    CHECK(h && aligned(h, align) && malloc_usable_size(h) >= (5u << 20));
    memset(h, 7, 5 << 20);
    errno = 0;
    CHECK(bimp_arena_alloc_(a, SIZE_MAX) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(bimp_arena_alloc_(a, PTRDIFF_MAX) == NULL && errno == ENOMEM);
    bimp_arena_destroy_(a);
    group_end(label, "arena-alloc-sizes");
}

static void calloc_zeroed(void)
{
    bimp_arena *a = bimp_arena_create_();
    bimp_mark *m = bimp_arena_mark_(a);
    for (int i = 0; i < 100; i++)
        memset(bimp_arena_alloc_(a, 1000), 0xee, 1000); /* dirty memory */
    bimp_arena_release_(a, m);
    bool zero = true;
    for (int i = 0; i < 100; i++) {
        unsigned char *p = bimp_arena_calloc_(a, 10, 100);
        for (int k = 0; k < 1000; k++)
            zero &= p[k] == 0;
    }
    CHECK(zero);
    unsigned char *big = bimp_arena_calloc_(a, 1, 2 << 20);
    CHECK(big && big[0] == 0 && big[(2 << 20) - 1] == 0);
    CHECK(bimp_arena_calloc_(a, 0, 10) != NULL);
    errno = 0;
    CHECK(bimp_arena_calloc_(a, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    bimp_arena_destroy_(a);
    group_end(label, "arena-calloc");
}

static void aligned_alloc_(void)
{
    bimp_arena *a = bimp_arena_create_();
    for (size_t al = 1; al <= 4096; al *= 2)
        for (size_t n = 0; n < 3000; n += 999) {
            char *p = bimp_arena_aligned_alloc_(a, al, n);
            CHECK(p && aligned(p, al) && aligned(p, align));
            fill(p, n, al + n);
            bimp_arena_alloc_(a, 8); /* move the cursor off any alignment */
        }
    char *p = bimp_arena_aligned_alloc_(a, 1 << 20, 100); /* a mapping of its own */
    CHECK(p && aligned(p, 1 << 20));
    errno = 0;
    CHECK(bimp_arena_aligned_alloc_(a, 48, 10) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(bimp_arena_aligned_alloc_(a, 0, 10) == NULL && errno == EINVAL);
    /* a free of an aligned top pops its pad too: the next push lands where the pad began */
    bimp_mark *m = bimp_arena_mark_(a);
    char *after_mark = bimp_arena_alloc_(a, 8);
    free(after_mark);
    char *q = bimp_arena_aligned_alloc_(a, 4096, 100);
    free(q);
    CHECK(bimp_arena_alloc_(a, 8) == after_mark);
    bimp_arena_release_(a, m);
    bimp_arena_destroy_(a);
    group_end(label, "arena-aligned");
}

static void marks(void)
{
    bimp_arena *a = bimp_arena_create_();
    char *keep = bimp_arena_alloc_(a, 100);
    fill(keep, 100, 1);
    bimp_mark *oldest = bimp_arena_mark_(a);
    char *first = bimp_arena_alloc_(a, 40);
    size_t releases = stats().arena_releases, dropped = stats().arena_released_bytes;
    /* release to the newest mark: nothing after it, nothing changes */
    bimp_mark *newest = bimp_arena_mark_(a);
    char *top = bimp_arena_alloc_(a, 40);
    bimp_arena_release_(a, newest);
    CHECK(bimp_arena_alloc_(a, 40) == top); /* the same place again */
    bimp_arena_release_(a, newest);
    bimp_arena_release_(a, newest); /* twice: a mark stays after a release */
    CHECK(stats().arena_releases == releases + 3);
    /* a tree of about 4 MiB after the oldest mark, small nodes and some huge */
    size_t huge = stats().huge_blocks, in_use = stats().in_use_bytes;
    for (int i = 0; i < 40000; i++)
        fill(bimp_arena_alloc_(a, 16 + i % 185), 16, i);
    for (int i = 0; i < 3; i++)
        bimp_arena_alloc_(a, 1 << 20);
    CHECK(stats().huge_blocks == huge + 3 && stats().in_use_bytes > in_use + 4000000);
    size_t pool = stats().free_chunks;
    bimp_arena_release_(a, oldest);
    CHECK(stats().huge_blocks == huge);
    CHECK(stats().in_use_bytes < in_use + 4096);
    CHECK(stats().free_chunks > pool); /* its chunks went back to the pool */
    CHECK(stats().arena_released_bytes > dropped + 4000000);
    CHECK(intact(keep, 100, 1));
    CHECK(bimp_arena_alloc_(a, 40) == first); /* the stack is back where the mark was */
    /* nested: release to an inner mark keeps what came before it */
    bimp_arena_release_(a, oldest);
    bimp_mark *outer = bimp_arena_mark_(a);
    char *o = bimp_arena_alloc_(a, 64);
    fill(o, 64, 2);
    bimp_mark *inner = bimp_arena_mark_(a);
    for (int i = 0; i < 10000; i++)
        bimp_arena_alloc_(a, 100);
    bimp_arena_release_(a, inner);
    CHECK(intact(o, 64, 2));
    bimp_arena_release_(a, outer);
    CHECK(bimp_arena_alloc_(a, 64) == o);
    /* reset: everything, marks too; the arena stays usable */
    bimp_arena_reset_(a);
    char *again = bimp_arena_alloc_(a, 100);
    CHECK(again != NULL);
    CHECK(stats().in_use_bytes < in_use + 4096);
    bimp_arena_destroy_(a);
    group_end(label, "arena-mark-release-reset");
}

/* The same request loop, released each time, takes no more memory. */
static void release_reuses(void)
{
    bimp_arena *a = bimp_arena_create_();
    bimp_mark *m = bimp_arena_mark_(a);
    size_t chunks = 0;
    char *start = NULL;
    for (int round = 0; round < 200; round++) {
        char *p = bimp_arena_alloc_(a, 32);
        for (int i = 0; i < 5000; i++)
            bimp_arena_alloc_(a, 8 + (i * 7) % 200);
        if (round == 0)
            start = p;
        CHECK(p == start);
        bimp_arena_release_(a, m);
        if (round == 10)
            chunks = stats().chunk_bytes;
    }
    CHECK(stats().chunk_bytes <= chunks);
    bimp_arena_destroy_(a);
    group_end(label, "arena-release-reuses");
}

static void frees(void)
{
    bimp_arena *a = bimp_arena_create_();
    bimp_mark *m = bimp_arena_mark_(a);
    /* a freed top pops */
    char *p = bimp_arena_alloc_(a, 100);
    free(p);
    CHECK(bimp_arena_alloc_(a, 100) == p);
    /* a block freed below the top waits for the top: then both pop */
    bimp_arena_release_(a, m);
    char *below = bimp_arena_alloc_(a, 100), *top = bimp_arena_alloc_(a, 100);
    free(below);
    CHECK(bimp_arena_alloc_(a, 50) != below); /* an arena does not reuse below its top */
    bimp_arena_release_(a, m);
    below = bimp_arena_alloc_(a, 100);
    top = bimp_arena_alloc_(a, 100);
    free(below);
    free(top);
    CHECK(bimp_arena_alloc_(a, 100) == below);
    /* blocks freed (and freed below the top) before a release: the release
     * drops them without complaint */
    bimp_arena_release_(a, m);
    char *blk[100];
    for (int i = 0; i < 100; i++)
        blk[i] = bimp_arena_alloc_(a, 30 + i);
    for (int i = 0; i < 100; i += 3)
        free(blk[i]);
    bimp_arena_release_(a, m);
    CHECK(bimp_arena_alloc_(a, 30) == blk[0]);
    /* free of an arena's huge block */
    size_t huge = stats().huge_blocks;
    char *h = bimp_arena_alloc_(a, 2 << 20);
    free(h);
    CHECK(stats().huge_blocks == huge);
    h = bimp_arena_alloc_(a, 2 << 20);
    bimp_arena_reset_(a);
    CHECK(stats().huge_blocks == huge);
    bimp_arena_destroy_(a);
    group_end(label, "arena-free");
}

static void reallocs(void)
{
    bimp_arena *a = bimp_arena_create_();
    bimp_mark *m = bimp_arena_mark_(a);
    /* the top grows and shrinks in place */
    char *p = bimp_arena_alloc_(a, 100);
    fill(p, 100, 3);
    CHECK(realloc(p, 1000) == p && intact(p, 100, 3));
    CHECK(realloc(p, 50) == p && intact(p, 50, 3));
    /* across a chunk boundary: it moves to a new chunk, content kept, and
     * stays the arena's (the release drops it) */
    char *q = p;
    size_t n = 50;
    for (int i = 0; i < 40; i++) {
        char *r = realloc(q, n + 20000);
        CHECK(r != NULL && intact(r, 50, 3));
        q = r;
        n += 20000;
    }
    CHECK(q != p && malloc_usable_size(q) >= n);
    size_t in_use = stats().in_use_bytes + stats().huge_bytes;
    bimp_arena_release_(a, m);
    CHECK(stats().in_use_bytes + stats().huge_bytes + n / 2 < in_use);
    /* a block below the top grows by moving to the top, after a mark taken
     * since: the release to that mark drops the moved block */
    char *old = bimp_arena_alloc_(a, 64), *cover = bimp_arena_alloc_(a, 64);
    fill(old, 64, 4);
    bimp_mark *later = bimp_arena_mark_(a);
    char *moved = realloc(old, 5000);
    CHECK(moved != old && moved > (char *)later && intact(moved, 64, 4));
    bimp_arena_release_(a, later);
    CHECK((char *)bimp_arena_alloc_(a, 64) < moved + 64); /* its place is free again */
    /* shrinking a block below the top keeps it where it is */
    CHECK(realloc(cover, 16) == cover);
    /* an arena's huge block */
    char *h = bimp_arena_alloc_(a, 1 << 20);
    fill(h, 1000, 5);
    char *h2 = realloc(h, 3 << 20);
    CHECK(h2 && intact(h2, 1000, 5));
    char *h3 = realloc(h2, 100);
    CHECK(h3 && intact(h3, 100, 5));
    size_t huge = stats().huge_blocks;
    bimp_arena_reset_(a);
    CHECK(stats().huge_blocks <= huge);
    bimp_arena_destroy_(a);
    group_end(label, "arena-realloc");
}

/* Another thread frees the arena's blocks: applied at the arena's next call. */
static void *free_them(void *arg)
{
    void **blocks = arg;
    for (int i = 0; blocks[i]; i++)
        free(blocks[i]);
    return NULL;
}

static void remote_frees(void)
{
    bimp_arena *a = bimp_arena_create_();
    bimp_mark *m = bimp_arena_mark_(a);
    void *blocks[1001];
    for (int i = 0; i < 1000; i++)
        blocks[i] = bimp_arena_alloc_(a, 48);
    blocks[1000] = NULL;
    char *first = blocks[0];
    pthread_t t;
    pthread_create(&t, NULL, free_them, blocks);
    pthread_join(t, NULL);
    bimp_mark *again = bimp_arena_mark_(a); /* applies them: every block popped */
    CHECK((char *)again == first - 8);
    bimp_arena_release_(a, m);
    /* the same, then a release right away: no remote free is lost or applied twice */
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 1000; i++)
            blocks[i] = bimp_arena_alloc_(a, 16 + (i * 13) % 300);
        blocks[500] = NULL; /* the other thread frees the first half */
        pthread_create(&t, NULL, free_them, blocks);
        pthread_join(t, NULL);
        bimp_arena_release_(a, m);
    }
    CHECK(bimp_arena_alloc_(a, 48) == first);
    bimp_arena_destroy_(a);
    group_end(label, "arena-remote-free");
}

static void stats_count(void)
{
    struct bimp_stats before = stats();
    bimp_arena *a = bimp_arena_create_();
    for (int i = 0; i < 10; i++)
        bimp_arena_alloc_(a, 10);
    bimp_arena_reset_(a);
    struct bimp_stats after = stats();
    CHECK(after.arena_allocations == before.arena_allocations + 10);
    CHECK(after.arena_releases == before.arena_releases + 1);
    CHECK(after.arena_released_bytes >= before.arena_released_bytes + 10 * 24);
    CHECK(after.allocations >= before.allocations + 10);
    bimp_arena_destroy_(a);
    group_end(label, "arena-stats");
}

/* --- The randomized sequence ---------------------------------------------- */

typedef struct {
    char *p;
    size_t n;
    uint64_t seed, time;
} live;

static live blocks[4096];
static int nblocks;
static struct {
    bimp_mark *m;
    uint64_t time;
} mstack[64];
static int nmarks;

static void drop_after(uint64_t time)
{
    int k = 0;
    for (int i = 0; i < nblocks; i++)
        if (blocks[i].time <= time)
            blocks[k++] = blocks[i];
    nblocks = k;
}

static bool all_intact(void)
{
    for (int i = 0; i < nblocks; i++)
        if (!intact(blocks[i].p, blocks[i].n < 64 ? blocks[i].n : 64, blocks[i].seed))
            return false;
    return true;
}

static bool no_overlap(void)
{
    for (int i = 0; i < nblocks; i++)
        for (int j = i + 1; j < nblocks; j++) {
            char *a = blocks[i].p, *b = blocks[j].p;
            size_t na = blocks[i].n ? blocks[i].n : 1, nb = blocks[j].n ? blocks[j].n : 1;
            if (a < b + nb && b < a + na)
                return false;
        }
    return true;
}

static void random_ops(long ops, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15u + 1, clock = 0;
    bimp_arena *a = bimp_arena_create_();
    long op = 0;
    for (; op < ops && (op % 64 || !out_of_time()); op++) {
        uint64_t r = rnd(&s), kind = r % 100;
        clock++;
        if (kind < 55 && nblocks < 4096) {
            size_t n = r >> 40 & 255;
            if (kind < 2)
                n = (size_t)(r >> 32 & 0x3ffff) + 150000; /* huge now and then */
            else if (kind < 8)
                n = r >> 32 & 8191;
            char *p;
            if (kind % 11 == 3)
                p = bimp_arena_aligned_alloc_(a, (size_t)1 << (r >> 20 & 11), n);
            else if (kind % 11 == 4)
                p = bimp_arena_calloc_(a, 1, n);
            else
                p = bimp_arena_alloc_(a, n);
            CHECK(p != NULL);
            if (!p)
                break;
            fill(p, n < 64 ? n : 64, clock);
            blocks[nblocks++] = (live){ p, n, clock, clock };
        } else if (kind < 75 && nblocks) {
            int i = (int)((r >> 32) % (uint64_t)nblocks);
            free(blocks[i].p);
            blocks[i] = blocks[--nblocks];
        } else if (kind < 85 && nblocks) {
            int i = (int)((r >> 32) % (uint64_t)nblocks);
            size_t n = (r >> 16 & 1023) + 1; /* realloc(p, 0) frees p, as glibc's */
            size_t kept = n < blocks[i].n ? n : blocks[i].n;
            char *q = realloc(blocks[i].p, n);
            CHECK(q != NULL && intact(q, kept < 64 ? kept : 64, blocks[i].seed));
            fill(q, n < 64 ? n : 64, blocks[i].seed);
            if (q != blocks[i].p)
                blocks[i].time = clock; /* moved: now above every mark */
            blocks[i].p = q;
            blocks[i].n = n;
        } else if (kind < 92 && nmarks < 64) {
            mstack[nmarks].m = bimp_arena_mark_(a);
            mstack[nmarks++].time = clock;
        } else if (kind < 99 && nmarks) {
            int k = (int)((r >> 32) % (uint64_t)nmarks);
            bimp_arena_release_(a, mstack[k].m);
            drop_after(mstack[k].time);
            nmarks = k + 1;
            CHECK(all_intact());
        } else {
            bimp_arena_reset_(a);
            nblocks = nmarks = 0;
        }
        if (check_heap_)
            check_heap_();
        if (op % 512 == 0)
            CHECK(all_intact() && no_overlap());
        if (group_failures)
            break;
    }
    CHECK(all_intact() && no_overlap());
    bimp_arena_destroy_(a);
    nblocks = nmarks = 0;
    char name[64];
    snprintf(name, sizeof name, "arena-random-seed%llu", (unsigned long long)seed);
    snprintf(group_note, sizeof group_note, "%ld operations", op);
    group_end(label, name);
}

int main(int argc, char **argv)
{
    label = argc > 1 ? argv[1] : "arena";
    const char *al = getenv("BIMP_TEST_ALIGN");
    align = al && *al ? strtoul(al, NULL, 10) : 16;
    if (!bimp_is_loaded() || !LOAD(bimp_arena_create) || !LOAD(bimp_arena_destroy) ||
        !LOAD(bimp_arena_alloc) || !LOAD(bimp_arena_calloc) || !LOAD(bimp_arena_aligned_alloc) ||
        !LOAD(bimp_arena_mark) || !LOAD(bimp_arena_release) || !LOAD(bimp_arena_reset) ||
        !LOAD(bimp_stats)) {
        printf("FAIL %s/arena-setup: run with LD_PRELOAD=libbimp.so\n", label);
        return 1;
    }
    check_heap_ = (void (*)(void))dlsym(RTLD_DEFAULT, "bimp_check_heap");
    if (argc > 4 && strcmp(argv[2], "ops") == 0) {
        random_ops(atol(argv[3]), strtoull(argv[4], NULL, 10));
        return total_failures != 0;
    }
    create_destroy();
    alloc_sizes();
    calloc_zeroed();
    aligned_alloc_();
    marks();
    release_reuses();
    frees();
    reallocs();
    remote_frees();
    stats_count();
    return total_failures != 0;
}
