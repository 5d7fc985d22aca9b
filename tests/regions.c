/* tests/regions.c - huge blocks up to 4 MiB are cut from regions (src/huge.c):
 * where a block lands, growth in place, reuse of freed runs, alignment,
 * what gets a mapping of its own, the statistics, malloc_trim, fork and
 * threads.  A process of its own, so that the regions start empty.
 *
 *   regions VARIANT SECONDS
 * SECONDS: how long threads churn through regions; 0: no threads. */
#include "common.h"
#include "../bimp.h"
#include <malloc.h>
#include <pthread.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>

static const char *variant;
static int (*stats)(struct bimp_stats *);
#define KIB ((size_t)1024)
#define MIB (KIB * KIB)
#define GROUP(name) static void test_##name(void)
#define RUN(name) (test_##name(), group_end(variant, "regions/" #name))

static struct bimp_stats now(void)
{
    struct bimp_stats s;
    memset(&s, 0, sizeof s);
    CHECK(stats && stats(&s) == 0);
    return s;
}

static int count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    while (f && (c = getc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* Bytes mapped: the kernel merges neighbouring mappings of the same kind, so
 * an unmapped region can leave the count of lines unchanged, never this. */
static size_t mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    size_t n = 0;
    unsigned long lo, hi;
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            n += hi - lo;
    if (f)
        fclose(f);
    return n;
}

/* Stamp (and check) the first and last 4 KiB of a block: cheap enough for
 * hundreds of megabytes of blocks. */
static void stamp(void *p, size_t n, uintptr_t seed)
{
    fill(p, 4 * KIB, seed);
    fill((char *)p + n - 4 * KIB, 4 * KIB, seed + 1);
}

static int stamped(const void *p, size_t n, uintptr_t seed)
{
    return intact(p, 4 * KIB, seed) && intact((const char *)p + n - 4 * KIB, 4 * KIB, seed + 1);
}

static int start_mappings;
static char *a, *b;

/* The first huge block makes the first region, 32 MiB. */
GROUP(first)
{
    struct bimp_stats s0 = now();
    CHECK(s0.huge_regions == 0);
    a = malloc(200000);
    CHECK(a != NULL);
    struct bimp_stats s = now();
    CHECK(s.huge_regions == 1);
    CHECK(s.huge_region_bytes == 32 * MIB);
    CHECK(s.huge_region_free_bytes < 32 * MIB - 200000 && s.huge_region_free_bytes > 31 * MIB);
    CHECK(malloc_usable_size(a) >= 200000 && malloc_usable_size(a) < 200000 + 16 * KIB);
    CHECK(s.huge_blocks == s0.huge_blocks + 1);
    CHECK(count_mappings() <= start_mappings + 2); /* the region, and a leaf of the address map */
    memset(a, 'a', 200000);
}

/* realloc grows a block into the free grains after it, without moving it. */
GROUP(grow_in_place)
{
    char *q = realloc(a, 1000000);
    CHECK(q == a);
    a = q;
    for (size_t i = 0; a && i < 200000; i += 997)
        CHECK(a[i] == 'a');
    memset(a, 'A', 1000000);
    b = malloc(200000);
    CHECK(b != NULL && b > a + 1000000); /* first fit: after a */
    memset(b, 'b', 200000);
    q = realloc(b, 3 * MIB);
    CHECK(q == b);
    b = q;
    CHECK(b && b[199999] == 'b');
    /* Shrinking keeps the block where it is. */
    q = realloc(b, 3 * MIB / 2);
    CHECK(q == b);
}

/* A freed run is cached, then (malloc_trim) given back to its region, and
 * the lowest free grains are taken first; reused memory is zeroed by calloc. */
GROUP(reuse)
{
    char *old = a;
    free(a);
    struct bimp_stats s = now();
    CHECK(s.huge_cached >= 1);
    malloc_trim(0);
    s = now();
    CHECK(s.huge_cached == 0 && s.huge_regions == 1); /* b still lives in it */
    char *c = malloc(150000);
    CHECK(c == old);
    free(c);
    char *d = malloc(300000);
    memset(d, 0xff, 300000);
    free(d);
    unsigned char *z = calloc(1, 300000); /* the cached run, or fresh grains */
    int zero = z != NULL;
    for (size_t i = 0; z && i < 300000; i++)
        zero &= z[i] == 0;
    CHECK(zero);
    free(z);
    a = NULL;
}

/* Alignment up to 16 KiB comes from a region, beyond from a mapping of its own. */
GROUP(aligned)
{
    size_t aligns[] = { 64, 4096, 16 * KIB, 64 * KIB, 256 * KIB, MIB };
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        void *p = aligned_alloc(aligns[i], 300000);
        CHECK(p != NULL && ((uintptr_t)p & (aligns[i] - 1)) == 0);
        CHECK(malloc_usable_size(p) >= 300000);
        if (p)
            memset(p, 'x', 300000);
        void *q = realloc(p, 600000);
        CHECK(q && ((char *)q)[299999] == 'x');
        free(q);
    }
}

/* Above 4 MiB a block gets a mapping of its own, which realloc grows. */
GROUP(own_mapping)
{
    struct bimp_stats s0 = now();
    char *p = malloc(5 * MIB);
    CHECK(p != NULL);
    struct bimp_stats s = now();
    CHECK(s.huge_region_bytes == s0.huge_region_bytes && s.huge_region_free_bytes == s0.huge_region_free_bytes);
    CHECK(s.maps > s0.maps);
    if (p) {
        fill(p, 5 * MIB, 5);
        p = realloc(p, 50 * MIB);
        CHECK(p && intact(p, 5 * MIB, 5));
    }
    free(p);
}

/* Thousands of blocks: a few regions, a few mappings, every block intact. */
GROUP(many)
{
    enum { N = 2000 };
    malloc_trim(0); /* no cached mapping counts below */
    static char *p[N];
    static size_t n[N];
    uint64_t r = 42;
    for (int i = 0; i < N; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        n[i] = 130 * KIB + r % (270 * KIB);
        p[i] = malloc(n[i]);
        CHECK(p[i] != NULL);
        if (p[i])
            stamp(p[i], n[i], (uintptr_t)i);
    }
    for (int i = 0; i < N; i += 2) {
        free(p[i]);
        p[i] = malloc(n[i] / 2);
        CHECK(p[i] != NULL);
        if (p[i])
            stamp(p[i], n[i] /= 2, (uintptr_t)i);
    }
    struct bimp_stats s = now();
    CHECK(s.huge_regions >= 4 && s.huge_regions <= 7); /* about 530 MB: 32+32+64+128+256+512 MiB */
    CHECK(count_mappings() <= start_mappings + 12);
    for (int i = 0; i < N; i++) {
        CHECK(stamped(p[i], n[i], (uintptr_t)i));
        free(p[i]);
    }
}

/* A child frees and allocates the parent's region blocks. */
GROUP(fork)
{
    char *p = malloc(400000);
    CHECK(p != NULL);
    if (!p)
        return;
    fill(p, 400000, 9);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = intact(p, 400000, 9);
        free(p);
        char *q = malloc(800000);
        ok &= q != NULL;
        if (q)
            memset(q, 1, 800000);
        free(q);
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(intact(p, 400000, 9));
    free(p);
}

/* Threads taking and freeing runs of the same regions, for a time. */
static double seconds;
static void *churn(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    uint64_t r = 77 + id;
    char *p[16] = { 0 };
    size_t n[16] = { 0 };
    long bad = 0;
    double end = monotonic_seconds() + seconds;
    do {
        for (int k = 0; k < 256; k++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            int i = (int)(r % 16);
            if (p[i]) {
                bad += !stamped(p[i], n[i], id * 16 + (uintptr_t)i);
                if (r & 256) {
                    free(p[i]);
                    p[i] = NULL;
                    continue;
                }
                size_t m = 130 * KIB + (r >> 20) % (3 * MIB);
                char *q = realloc(p[i], m);
                if (!q) {
                    bad++;
                    continue;
                }
                bad += !intact(q, 4 * KIB, id * 16 + (uintptr_t)i);
                p[i] = q, n[i] = m;
            } else {
                n[i] = 130 * KIB + (r >> 20) % (3 * MIB);
                if (!(p[i] = malloc(n[i]))) {
                    bad++;
                    continue;
                }
            }
            stamp(p[i], n[i], id * 16 + (uintptr_t)i);
        }
    } while (monotonic_seconds() < end);
    for (int i = 0; i < 16; i++)
        free(p[i]);
    return (void *)bad;
}

GROUP(threads)
{
    pthread_t t[3];
    for (uintptr_t i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, churn, (void *)i) == 0);
    for (int i = 0; i < 3; i++) {
        void *bad = (void *)1;
        pthread_join(t[i], &bad);
        CHECK(bad == NULL);
    }
}

/* With every block freed, malloc_trim unmaps the regions. */
GROUP(trim)
{
    unsigned char *page = (unsigned char *)((uintptr_t)b & -(uintptr_t)sysconf(_SC_PAGESIZE)), v;
    free(b);
    b = NULL;
    size_t before = mapped_bytes();
    malloc_trim(0);
    struct bimp_stats s = now();
    CHECK(s.huge_regions == 0 && s.huge_region_bytes == 0);
    CHECK(mapped_bytes() < before);
    CHECK(mincore(page, 1, &v) == -1 && errno == ENOMEM); /* b's region is gone */
    char *p = malloc(200000); /* and a new one comes when needed */
    CHECK(p != NULL && now().huge_regions == 1);
    free(p);
}

int main(int argc, char **argv)
{
    variant = argc > 1 ? argv[1] : "default";
    seconds = argc > 2 ? atof(argv[2]) : 1;
    stats = (int (*)(struct bimp_stats *))dlsym(RTLD_DEFAULT, "bimp_stats");
    if (!bimp_is_loaded() || !stats) {
        printf("FAIL %s/regions: Bimp is not loaded\n", variant);
        return 1;
    }
    start_mappings = count_mappings();
    RUN(first);
    RUN(grow_in_place);
    RUN(reuse);
    RUN(aligned);
    RUN(own_mapping);
    RUN(many);
    RUN(fork);
    if (seconds > 0) /* (0 for the single-threaded build) */
        RUN(threads);
    RUN(trim);
    return total_failures != 0;
}
