/* api.c - every edge of the malloc API, as glibc defines it, under Bimp.
 *
 * Run with LD_PRELOAD=<a libbimp.so>; BIMP_TEST_ALIGN names the build's
 * alignment and BIMP_TEST_SET_ERRNO=1 says it was built with BIMP_SET_ERRNO.
 * Usage: api <variant-name>
 */
#include "common.h"
#include "../bimp.h"

#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t align_of_build, page;
static int set_errno_build;
static const char *variant;

/* Functions glibc's headers do not declare. */
static void *(*p_reallocf)(void *, size_t);
static void (*p_cfree)(void *);
static void (*p_free_sized)(void *, size_t);
static void (*p_free_aligned_sized)(void *, size_t, size_t);
static bimp_arena *(*p_arena_create)(void);
static void *(*p_arena_aligned_alloc)(bimp_arena *, size_t, size_t);
static void (*p_arena_destroy)(bimp_arena *);

static int aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* A block that is live, aligned, at least n usable bytes, all writable. */
static int good_block(void *p, size_t n, size_t a)
{
    if (!p || !aligned(p, a))
        return 0;
    size_t usable = malloc_usable_size(p);
    if (usable < n)
        return 0;
    memset(p, 0x5a, usable);
    return 1;
}

#define GROUP(name) static void test_##name(void)
#define RUN(name) (test_##name(), group_end(variant, "api/" #name))

GROUP(loaded)
{
    CHECK(bimp_is_loaded());
    CHECK(p_reallocf && p_cfree && p_free_sized && p_free_aligned_sized);
    CHECK(p_arena_create && p_arena_aligned_alloc && p_arena_destroy);
}

GROUP(malloc_zero)
{
    void *a = malloc(0), *b = malloc(0);
    CHECK(a && b && a != b);
    CHECK(aligned(a, align_of_build) && aligned(b, align_of_build));
    free(a);
    free(b);
}

GROUP(sizes_and_alignment)
{
    uint64_t s = 42;
    void *kept[512];
    size_t sizes[512];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 512; i++) {
            sizes[i] = rnd(&s) % (i % 16 == 0 ? 300000 : 5000);
            kept[i] = malloc(sizes[i]);
            CHECK(good_block(kept[i], sizes[i], align_of_build));
            if (kept[i])
                fill(kept[i], sizes[i], (uintptr_t)i + round);
        }
        for (int i = 0; i < 512; i++) {
            int j = (int)((i * 7 + round) % 512);
            CHECK(intact(kept[j], sizes[j], (uintptr_t)j + round));
            free(kept[j]);
        }
    }
}

GROUP(impossible_sizes)
{
    size_t bad[] = { SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,
                     (size_t)PTRDIFF_MAX - 4096, (size_t)1 << 62 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        CHECK(malloc(bad[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(calloc(1, bad[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(memalign(64, bad[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(valloc(bad[i]) == NULL && errno == ENOMEM);
        errno = 0;
        CHECK(pvalloc(bad[i]) == NULL && errno == ENOMEM);
    }
}

GROUP(calloc)
{
    errno = 0;
    CHECK(calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(calloc((size_t)1 << 33, (size_t)1 << 31) == NULL && errno == ENOMEM);
    /* Dirty memory, freed, must come back zeroed from calloc. */
    size_t sizes[] = { 0, 1, 24, 100, 1000, 5000, 70000, 200000, 3000000 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i] ? sizes[i] : 1;
        for (int round = 0; round < 3; round++) {
            void *d = malloc(n);
            if (d)
                memset(d, 0xff, n);
            free(d);
            unsigned char *z = calloc(n, 1);
            int zero = z != NULL;
            for (size_t k = 0; z && k < n; k++)
                zero &= z[k] == 0;
            CHECK(zero);
            CHECK(good_block(z, n, align_of_build));
            free(z);
        }
    }
    void *big = calloc(1000, 1000);
    CHECK(big && ((unsigned char *)big)[999999] == 0);
    free(big);
}

/* Freed huge blocks are kept, and a later huge block gets their pages: a
 * whole mapping, or pieces of several moved into a fresh one.  Whatever the
 * pieces held must not show through calloc, realloc must keep contents as it
 * grows over cached pages or shrinks and gives its tail to the cache. */
GROUP(huge_reuse)
{
    const size_t MB = (size_t)1 << 20;
    int (*stats)(struct bimp_stats *) = (int (*)(struct bimp_stats *))dlsym(RTLD_DEFAULT, "bimp_stats");
    struct bimp_stats before, after;
    CHECK(stats && stats(&before) == 0);
    char *piece[3]; /* above 4 MiB: mappings of their own */
    for (int i = 0; i < 3; i++) {
        piece[i] = malloc((size_t)(i + 5) * MB);
        CHECK(piece[i] != NULL);
        if (piece[i])
            memset(piece[i], 0xab, (size_t)(i + 5) * MB);
    }
    for (int i = 0; i < 3; i++)
        free(piece[i]);
    /* 14.5 MiB: no single cached mapping holds it, two and a half do. */
    size_t n = 14 * MB + MB / 2;
    unsigned char *z = calloc(n, 1);
    CHECK(z != NULL);
    int zero = z != NULL;
    for (size_t k = 0; z && k < n; k++)
        zero &= z[k] == 0;
    CHECK(zero);
    CHECK(stats && stats(&after) == 0 && after.huge_reused > before.huge_reused);
    /* Grow over cached pages, keeping the contents. */
    char *spare = malloc(6 * MB);
    CHECK(spare != NULL);
    free(spare);
    char *g = malloc(5 * MB);
    CHECK(g != NULL);
    if (g) {
        fill(g, 5 * MB, 7);
        g = realloc(g, 12 * MB);
        CHECK(g && intact(g, 5 * MB, 7));
        if (g) {
            fill(g, 12 * MB, 8);
            /* Shrink below a quarter: the tail goes to the cache. */
            g = realloc(g, 2 * MB);
            CHECK(g && intact(g, 2 * MB, 8));
            char *t = calloc(5 * MB, 1);
            CHECK(t && t[0] == 0 && t[5 * MB - 1] == 0 && t[MB] == 0);
            CHECK(g && intact(g, 2 * MB, 8));
            free(t);
        }
        free(g);
    }
    free(z);
}

GROUP(realloc)
{
    /* NULL behaves as malloc; growth and shrinking keep the contents. */
    char *p = realloc(NULL, 10);
    CHECK(good_block(p, 10, align_of_build));
    fill(p, 10, 1);
    size_t steps[] = { 20, 100, 3000, 70000, 140000, 500000, 5000000, 20000000, 300000, 1000, 40, 7 };
    size_t have = 10;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *q = realloc(p, steps[i]);
        CHECK(q && aligned(q, align_of_build));
        if (!q)
            break;
        size_t keep = have < steps[i] ? have : steps[i];
        CHECK(intact(q, keep, 1));
        fill(q, steps[i], 1);
        CHECK(malloc_usable_size(q) >= steps[i]);
        p = q;
        have = steps[i];
    }
    /* A failed realloc leaves the block alone. */
    errno = 0;
    CHECK(realloc(p, (size_t)PTRDIFF_MAX + 1) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(realloc(p, SIZE_MAX) == NULL && errno == ENOMEM);
    CHECK(intact(p, have, 1));
    /* realloc(p, 0) frees and returns NULL. */
    CHECK(realloc(p, 0) == NULL);
    /* Blocks below the top grow and shrink too. */
    char *a = malloc(100), *b = malloc(100), *c = malloc(100);
    fill(a, 100, 2);
    fill(b, 100, 3);
    fill(c, 100, 4);
    b = realloc(b, 40);
    CHECK(b && intact(b, 40, 3));
    b = realloc(b, 4000);
    CHECK(b && intact(b, 40, 3));
    CHECK(intact(a, 100, 2) && intact(c, 100, 4));
    free(a);
    free(b);
    free(c);
}

GROUP(reallocarray)
{
    int *v = reallocarray(NULL, 10, sizeof(int));
    CHECK(good_block(v, 10 * sizeof(int), align_of_build));
    fill(v, 40, 9);
    errno = 0;
    CHECK(reallocarray(v, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
    CHECK(intact(v, 40, 9));
    v = reallocarray(v, 1000, sizeof(int));
    CHECK(v && intact(v, 40, 9));
    free(v);
}

GROUP(reallocf)
{
    /* On failure the block is freed: count huge blocks to see it go. */
    void *p = malloc(1 << 20);
    CHECK(p);
    size_t huge = mallinfo2().hblks;
    errno = 0;
    CHECK(p_reallocf(p, (size_t)PTRDIFF_MAX + 1) == NULL && errno == ENOMEM);
    CHECK(mallinfo2().hblks == huge - 1);
    p = p_reallocf(NULL, 100);
    CHECK(good_block(p, 100, align_of_build));
    fill(p, 100, 5);
    p = p_reallocf(p, 200);
    CHECK(p && intact(p, 100, 5));
    CHECK(p_reallocf(p, 0) == NULL);
}

GROUP(posix_memalign)
{
    size_t bad[] = { 0, 1, 2, 4, sizeof(void *) / 2, 3, 24, 48, 100, 4097, SIZE_MAX };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *out = (void *)0x1234;
        errno = 777;
        CHECK(posix_memalign(&out, bad[i], 16) == EINVAL);
        CHECK(out == (void *)0x1234);
        CHECK(errno == (set_errno_build ? EINVAL : 777));
    }
    for (size_t a = sizeof(void *); a <= ((size_t)4 << 20); a *= 2) {
        size_t sizes[] = { 0, 1, a / 2 + 1, a, 3 * a + 5 };
        for (size_t k = 0; k < 5; k++) {
            void *out = NULL;
            CHECK(posix_memalign(&out, a, sizes[k]) == 0);
            CHECK(good_block(out, sizes[k], a > align_of_build ? a : align_of_build));
            free(out);
        }
    }
    void *out = (void *)0x1234;
    errno = 777;
    CHECK(posix_memalign(&out, 64, (size_t)PTRDIFF_MAX + 1) == ENOMEM && out == (void *)0x1234);
    CHECK(errno == ENOMEM); /* as glibc, mimalloc, jemalloc and tcmalloc */
}

GROUP(memalign)
{
    /* Every power of two up to 4 MiB, and other values rounded up. */
    void *keep[64];
    int n = 0;
    for (size_t a = 1; a <= ((size_t)4 << 20); a *= 2) {
        void *p = memalign(a, 100);
        void *q = aligned_alloc(a, a * 2);
        CHECK(good_block(p, 100, a > align_of_build ? a : align_of_build));
        CHECK(good_block(q, a * 2, a > align_of_build ? a : align_of_build));
        keep[n++] = p;
        keep[n++] = q;
    }
    while (n > 0)
        free(keep[--n]);
    struct { size_t asked, got; } odd[] = { { 24, 32 }, { 100, 128 }, { 3000, 4096 },
                                            { 5000, 8192 }, { 65537, 131072 }, { 0, 1 } };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        void *p = memalign(odd[i].asked, 10);
        CHECK(good_block(p, 10, odd[i].got));
        free(p);
        errno = 0;
        CHECK(aligned_alloc(odd[i].asked, 10) == NULL && errno == EINVAL); /* C17, glibc 2.38 */
    }
    size_t not_powers[] = { 65, 3, SIZE_MAX / 2 + 1 + 64, SIZE_MAX };
    for (size_t i = 0; i < sizeof not_powers / sizeof not_powers[0]; i++) {
        errno = 0;
        CHECK(aligned_alloc(not_powers[i], 1) == NULL && errno == EINVAL);
    }
    errno = 0;
    CHECK(memalign(SIZE_MAX / 2 + 2, 1) == NULL && errno == EINVAL);
    /* Many aligned blocks in a row, freed LIFO and FIFO. */
    void *many[200];
    for (int i = 0; i < 200; i++) {
        many[i] = memalign((size_t)32 << (i % 6), 1 + i * 13);
        CHECK(good_block(many[i], 1 + i * 13, (size_t)32 << (i % 6)));
    }
    for (int i = 0; i < 100; i++)
        free(many[i]);
    for (int i = 199; i >= 100; i--)
        free(many[i]);
}

/* The address-space limit of alignment_edges' child: 1 GiB above what it
 * has mapped when it starts. */
static size_t edge_limit;

/* One aligned request at the edges, which returned p (errno err): a request
 * whose size and alignment add up to more than the limit fails with ENOMEM,
 * a small one succeeds with a good block, and anything between does one or
 * the other. */
static int edge_ok(void *p, int err, size_t a, size_t n)
{
    int impossible = n > edge_limit || a > edge_limit - n;
    int small = !impossible && a + n <= ((size_t)64 << 20);
    if (!p)
        return err == ENOMEM && !small;
    if (impossible || !aligned(p, a > align_of_build ? a : align_of_build) || malloc_usable_size(p) < n)
        return 0;
    volatile char *c = p; /* the first and the last byte are the program's */
    c[0] = 1;
    c[malloc_usable_size(p) - 1] = 2;
    return 1;
}

/* Every aligned entry point, with alignment 2^k for every k up to 63 and
 * sizes at the edges (0, near the alignment, near PTRDIFF_MAX and SIZE_MAX;
 * glibc's tst-malloc-too-large): ENOMEM for what cannot be, a good block for
 * what can, never a crash.  In a child under an address-space limit, so
 * that what fails does so fast. */
static void aligned_edges_child(void)
{
    struct rlimit lim;
    long vm_pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld", &vm_pages) != 1)
        _exit(3);
    fclose(f);
    edge_limit = (size_t)vm_pages * page + ((size_t)1 << 30);
    lim.rlim_cur = lim.rlim_max = edge_limit;
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        _exit(3);
    bimp_arena *arena = p_arena_create();
    for (unsigned k = 0; k < 64; k++) {
        size_t a = (size_t)1 << k;
        size_t n[] = { 0, 1, a - 1, a, a + 1, 2 * a - 1, 3 * a + 5, (size_t)PTRDIFF_MAX - a,
                       (size_t)PTRDIFF_MAX - a + 1, (size_t)PTRDIFF_MAX - 4096, (size_t)PTRDIFF_MAX,
                       (size_t)PTRDIFF_MAX + 1, SIZE_MAX - a, SIZE_MAX - a + 1, SIZE_MAX - 4096,
                       SIZE_MAX, ((size_t)1 << 62) + a };
        size_t count = sizeof n / sizeof n[0], from = 0;
        if (k == 63) { /* every size from 2^63 - 65536 up: the crash of glibc's test */
            count = 65536;
            from = ((size_t)1 << 63) - 65536;
        }
        for (size_t i = 0; i < count; i++) {
            size_t size = from ? from + i : n[i];
            errno = 0;
            void *p = memalign(a, size);
            CHECK(edge_ok(p, errno, a, size));
            free(p);
            errno = 0;
            p = aligned_alloc(a, size);
            CHECK(edge_ok(p, errno, a, size));
            free(p);
            if (a >= sizeof(void *)) {
                void *out = (void *)0x1234;
                int r = posix_memalign(&out, a, size);
                CHECK(r == 0 ? edge_ok(out, 0, a, size) : r == ENOMEM && out == (void *)0x1234 &&
                                                          edge_ok(NULL, ENOMEM, a, size));
                if (r == 0)
                    free(out);
            }
            errno = 0;
            p = p_arena_aligned_alloc(arena, a, size);
            CHECK(edge_ok(p, errno, a, size));
            free(p);
        }
    }
    p_arena_destroy(arena);
    errno = 0;
    CHECK(valloc(SIZE_MAX - page) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(pvalloc((size_t)PTRDIFF_MAX - page + 1) == NULL && errno == ENOMEM);
    if (group_failures) /* the parent's FAIL line names only the exit status */
        fprintf(stderr, "alignment_edges: %s\n", group_first);
    _exit(group_failures ? 1 : 0);
}

GROUP(alignment_edges)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        aligned_edges_child();
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(!WIFSIGNALED(status)); /* a crash: Bimp unmapped or touched what is not its */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

GROUP(valloc_pvalloc)
{
    void *v = valloc(1);
    CHECK(good_block(v, 1, page));
    void *w = valloc(3 * page + 1);
    CHECK(good_block(w, 3 * page + 1, page));
    void *p = pvalloc(1);
    CHECK(good_block(p, page, page));
    void *q = pvalloc(page + 1);
    CHECK(good_block(q, 2 * page, page));
    void *z = pvalloc(0);
    CHECK(good_block(z, 0, page));
    free(v);
    free(w);
    free(p);
    free(q);
    free(z);
}

GROUP(usable_size)
{
    CHECK(malloc_usable_size(NULL) == 0);
    for (size_t n = 0; n < 3000; n += 7) {
        void *p = malloc(n);
        CHECK(good_block(p, n, align_of_build));
        free(p);
    }
    void *h = malloc(5 << 20);
    CHECK(good_block(h, 5 << 20, align_of_build));
    free(h);
}

GROUP(free_variants)
{
    free(NULL);
    p_cfree(NULL);
    p_free_sized(NULL, 0);
    p_free_aligned_sized(NULL, 64, 0);
    void *a = malloc(10), *b = malloc(100), *c = aligned_alloc(256, 256), *d = malloc(1 << 20);
    CHECK(a && b && c && d);
    errno = 4321;
    p_cfree(a);
    p_free_sized(b, 100);
    p_free_aligned_sized(c, 256, 256);
    free(d);
    free(NULL);
    CHECK(errno == 4321);
}

/* free keeps errno, whatever it frees: small, huge, chunks given back. */
GROUP(free_keeps_errno)
{
    enum { N = 20000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = malloc((size_t)(i % 100) * 40 + (i % 1000 == 0 ? 400000 : 0));
    errno = 9999;
    for (int i = 0; i < N; i += 2)
        free(blocks[i]);
    for (int i = N - 1; i > 0; i -= 2)
        free(blocks[i]);
    CHECK(errno == 9999);
    malloc_trim(0);
    errno = 8888;
    free(malloc(3 << 20));
    CHECK(errno == 8888);
}

/* The stack: LIFO frees give the memory back at once, and a freed block
 * right behind the top goes with it (backward coalescing). */
GROUP(stack_discipline)
{
    /* Three headered blocks (above 1 KiB, headered in every build) in one
     * chunk (retry if the first try crossed into a new one).  The small
     * tier's stacks: tests/small.c. */
    char *a, *b, *c;
    for (int tries = 0;; tries++) {
        a = malloc(1100), b = malloc(1200), c = malloc(1300);
        if (((uintptr_t)a ^ (uintptr_t)c) < (1u << 16) || tries == 3)
            break;
    }
    CHECK(a < b && b < c);
    free(c);
    free(b);
    free(a);
    char *a2 = malloc(1100);
    CHECK(a2 == a);
    char *b2 = malloc(1200), *c2 = malloc(1300);
    free(b2); /* below the top: only marked */
    char *d = malloc(1400); /* b2 cannot hold it: pushed */
    CHECK(d > c2);
    free(d);
    free(c2); /* pops c2 and b2 behind it */
    char *e = malloc(1200);
    CHECK(e == b2);
    free(e);
    free(a2);
}

GROUP(mallinfo_and_mallopt)
{
    free(malloc(1));
    struct mallinfo2 before = mallinfo2();
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = malloc(1000);
    struct mallinfo2 during = mallinfo2();
    CHECK(during.uordblks >= before.uordblks + 100000);
    CHECK(during.arena >= during.uordblks);
    for (int i = 99; i >= 0; i--)
        free(p[i]);
    CHECK(mallinfo2().uordblks == before.uordblks);
    struct mallinfo old = mallinfo();
    CHECK((size_t)old.uordblks == before.uordblks);
    void *big = malloc(4 << 20);
    CHECK(mallinfo2().hblks == before.hblks + 1 && mallinfo2().hblkhd >= (4 << 20));
    free(big);
    CHECK(mallinfo2().hblks == before.hblks);
    /* A lower mmap threshold sends smaller requests to their own mappings. */
    CHECK(mallopt(M_MMAP_THRESHOLD, 64 * 1024) == 1);
    void *mid = malloc(100 * 1024);
    CHECK(mallinfo2().hblks == before.hblks + 1);
    free(mid);
    CHECK(mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1);
    /* A threshold of 0 is taken as SMALL_MAX, for every way of allocating:
     * no request of 1 KiB or less gets a mapping, larger ones do. */
    CHECK(mallopt(M_MMAP_THRESHOLD, 0) == 1);
    char *small = malloc(16), *after = malloc(16);
    size_t hblks = mallinfo2().hblks;
    char *grown = realloc(small, 100); /* not the top: moves */
    char *m = malloc(100), *z = calloc(100, 1);
    CHECK(grown && m && z && mallinfo2().hblks == hblks);
    char *big2 = malloc(2000);
    CHECK(big2 && mallinfo2().hblks == hblks + 1);
    free(big2);
    free(z);
    free(m);
    free(grown);
    free(after);
    CHECK(mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1);
    /* glibc's answers for the parameters Bimp has no use for: accepted. */
    int accepted[] = { -8 /* M_ARENA_MAX */, -7 /* M_ARENA_TEST */, -6 /* M_PERTURB */,
                       -5 /* M_CHECK_ACTION */, -4 /* M_MMAP_MAX */, -2 /* M_TOP_PAD */, 12345 };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
        CHECK(mallopt(accepted[i], 1) == 1);
    CHECK(mallopt(1 /* M_MXFAST */, 64) == 1 && mallopt(1, 161) == 0);
    CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1); /* glibc says 1 too; Bimp's maximum then */
    CHECK(mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1);
}

GROUP(trim_and_stats)
{
    enum { N = 5000 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = malloc(1000);
    for (int i = 0; i < N; i++)
        free(p[i]);
    int r = malloc_trim(0);
    CHECK(r == 0 || r == 1);
    /* malloc_stats writes glibc's shape to stderr. */
    char path[] = "/tmp/bimp-stats-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    dup2(fd, 2);
    malloc_stats();
    dup2(saved, 2);
    close(saved);
    char buf[1024] = { 0 };
    lseek(fd, 0, SEEK_SET);
    CHECK(read(fd, buf, sizeof buf - 1) > 0);
    CHECK(strstr(buf, "Arena 0:") && strstr(buf, "in use bytes") && strstr(buf, "max mmap bytes"));
    close(fd);
    unlink(path);
}

/* Somebody else moving the break between Bimp's growths corrupts nothing:
 * Bimp notices and takes its chunks from mmap instead. */
GROUP(foreign_sbrk)
{
    enum { N = 96 };
    static char *keep[N];
    for (int i = 0; i < N; i++) {
        if (i % 16 == 0) {
            char *mine = sbrk(4096);
            CHECK(mine != (void *)-1);
            if (mine != (void *)-1)
                memset(mine, 0x77, 4096);
        }
        keep[i] = malloc(100000);
        CHECK(good_block(keep[i], 100000, align_of_build));
        if (keep[i])
            fill(keep[i], 100000, (uintptr_t)i);
    }
    for (int i = 0; i < N; i++) {
        CHECK(intact(keep[i], 100000, (uintptr_t)i));
        free(keep[i]);
    }
}

int main(int argc, char **argv)
{
    variant = argc > 1 ? argv[1] : "default";
    align_of_build = getenv("BIMP_TEST_ALIGN") ? strtoul(getenv("BIMP_TEST_ALIGN"), 0, 10) : 16;
    set_errno_build = getenv("BIMP_TEST_SET_ERRNO") && strcmp(getenv("BIMP_TEST_SET_ERRNO"), "1") == 0;
    page = (size_t)sysconf(_SC_PAGESIZE);
    p_reallocf = (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "reallocf");
    p_cfree = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
    p_free_sized = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
    p_free_aligned_sized = (void (*)(void *, size_t, size_t))dlsym(RTLD_DEFAULT, "free_aligned_sized");
    p_arena_create = (bimp_arena * (*)(void)) dlsym(RTLD_DEFAULT, "bimp_arena_create");
    p_arena_aligned_alloc = (void *(*)(bimp_arena *, size_t, size_t))dlsym(RTLD_DEFAULT, "bimp_arena_aligned_alloc");
    p_arena_destroy = (void (*)(bimp_arena *))dlsym(RTLD_DEFAULT, "bimp_arena_destroy");
    RUN(loaded);
    if (!bimp_is_loaded())
        return 1;
    RUN(malloc_zero);
    RUN(sizes_and_alignment);
    RUN(impossible_sizes);
    RUN(calloc);
    RUN(realloc);
    RUN(huge_reuse);
    RUN(reallocarray);
    RUN(reallocf);
    RUN(posix_memalign);
    RUN(memalign);
    RUN(alignment_edges);
    RUN(valloc_pvalloc);
    RUN(usable_size);
    RUN(free_variants);
    RUN(free_keeps_errno);
    RUN(stack_discipline);
    RUN(mallinfo_and_mallopt);
    RUN(trim_and_stats);
    RUN(foreign_sbrk);
    return total_failures != 0;
}
