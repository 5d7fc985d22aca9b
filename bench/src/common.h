/* Shared helpers for the Bimp benchmark workloads.
 *
 * Every workload:
 *   - takes an optional scale argument (argv[1], a positive float, 1.0 = full run),
 *   - uses a fixed seed, so the sequence of allocations is the same on every run,
 *   - checks its own result and exits non-zero with a "FAIL" message when a check fails,
 *   - verifies (when BENCH_EXPECT_MALLOC is set by bench/run) that malloc really
 *     resolves to the preloaded allocator, so a silently ignored LD_PRELOAD
 *     cannot produce a glibc number labelled with another allocator's name.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *bench_name = "bench";

static void bench_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: FAIL: ", bench_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    exit(1);
}

#define CHECK(cond, ...)                 \
    do {                                 \
        if (__builtin_expect(!(cond), 0)) \
            bench_fail(__VA_ARGS__);     \
    } while (0)

/* ---- random numbers: xorshift64* seeded through a splitmix step ---- */

typedef struct { uint64_t s; } rng_t;

static inline rng_t rng_make(uint64_t seed)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    rng_t r = { z ? z : 1 };
    return r;
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* uniform in [0, n) */
static inline uint32_t rng_below(rng_t *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* uniform in [lo, hi] */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi)
{
    /* multiply-high, not %: a division would cost more than some mallocs */
    return lo + (size_t)(((unsigned __int128)rng_next(r) * (hi - lo + 1)) >> 64);
}

/* log-uniform in [lo, hi]: every power-of-two band is equally likely */
static inline size_t rng_logsize(rng_t *r, size_t lo, size_t hi)
{
    int blo = 63 - __builtin_clzll((unsigned long long)lo);
    int bhi = 63 - __builtin_clzll((unsigned long long)hi);
    int b = blo + (int)rng_below(r, (uint32_t)(bhi - blo + 1));
    size_t base = (size_t)1 << b;
    size_t s = base + (size_t)(((unsigned __int128)rng_next(r) * base) >> 64);
    if (s < lo) s = lo;
    if (s > hi) s = hi;
    return s;
}

/* ---- arguments and allocator check ---- */

__attribute__((unused)) static double bench_init(const char *name, int argc, char **argv)
{
    bench_name = name;
    double scale = 1.0;
    if (argc > 1) {
        char *end;
        scale = strtod(argv[1], &end);
        if (*end || !(scale > 0) || scale > 1000)
            bench_fail("usage: %s [scale>0] (got '%s')", name, argv[1]);
    }
    const char *want = getenv("BENCH_EXPECT_MALLOC");
    if (want && *want) {
        void *m = dlsym(RTLD_DEFAULT, "malloc");
        Dl_info info;
        memset(&info, 0, sizeof info);
        if (!m || !dladdr(m, &info) || !info.dli_fname)
            bench_fail("cannot tell which library provides malloc");
        const char *base = strrchr(want, '/');
        base = base ? base + 1 : want;
        if (!strstr(info.dli_fname, base))
            bench_fail("malloc comes from %s, not from %s (LD_PRELOAD ignored?)",
                       info.dli_fname, want);
    }
    return scale;
}

/* scaled count, at least 1 */
static inline size_t scaled(double scale, double n)
{
    double v = scale * n;
    return v < 1 ? 1 : (size_t)v;
}

/* ---- checked allocation ---- */

static inline void check_align(const void *p, size_t n)
{
    uintptr_t a = (uintptr_t)p;
    if (n >= 16)
        CHECK((a & 15) == 0, "block %p of %zu bytes is not 16-byte aligned", p, n);
    else if (n >= 8)
        CHECK((a & 7) == 0, "block %p of %zu bytes is not 8-byte aligned", p, n);
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    CHECK(p != NULL, "malloc(%zu) returned NULL", n);
    check_align(p, n);
    return p;
}

static inline void *xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    CHECK(p != NULL, "realloc(%p, %zu) returned NULL", old, n);
    check_align(p, n);
    return p;
}

static inline void *xcalloc(size_t k, size_t n)
{
    void *p = calloc(k, n);
    CHECK(p != NULL, "calloc(%zu, %zu) returned NULL", k, n);
    check_align(p, k * n);
    return p;
}

/* ---- stamping: write a pattern derived from a tag, verify it later ----
 * Every block gets one word at the start of every 4 KiB page and one at its
 * end (blocks under 8 bytes are filled): enough to catch overlapping or
 * lost blocks, and it touches every page, while the time measured stays the
 * allocator's rather than a memset's. */

static inline uint64_t stamp_word(uint64_t tag, size_t off)
{
    return tag + off;
}

static inline void stamp(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = (unsigned char *)p;
    if (n < 8) {
        for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(tag + i);
        return;
    }
    *(uint64_t *)b = tag;
    for (size_t i = 4096; i + 8 <= n; i += 4096) *(uint64_t *)(b + i) = stamp_word(tag, i);
    size_t last = (n - 8) & ~(size_t)7;
    *(uint64_t *)(b + last) = stamp_word(tag, last);
}

static inline int stamp_ok(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = (const unsigned char *)p;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (b[i] != (unsigned char)(tag + i)) return 0;
        return 1;
    }
    int ok = *(const uint64_t *)b == tag;
    for (size_t i = 4096; i + 8 <= n; i += 4096) ok &= *(const uint64_t *)(b + i) == stamp_word(tag, i);
    size_t last = (n - 8) & ~(size_t)7;
    return ok & (*(const uint64_t *)(b + last) == stamp_word(tag, last));
}

#define VERIFY(p, n, tag) \
    CHECK(stamp_ok((p), (n), (tag)), "block %p (%zu bytes) was corrupted", (void *)(p), (size_t)(n))

/* ---- self-describing blocks (size and tag kept in the block itself), for blocks
 * that are freed by code that did not allocate them, e.g. another thread. ---- */

typedef struct { uint64_t size; uint64_t tag; } sd_head;

static inline void *sd_alloc(size_t n, uint64_t tag)
{
    if (n < sizeof(sd_head)) n = sizeof(sd_head);
    sd_head *h = (sd_head *)xmalloc(n);
    h->size = n;
    h->tag = tag;
    stamp(h + 1, n - sizeof(sd_head), tag);
    return h;
}

/* verifies and frees; returns the size so callers can keep byte counts */
static inline size_t sd_free(void *p)
{
    sd_head *h = (sd_head *)p;
    size_t n = h->size;
    CHECK(n >= sizeof(sd_head) && n < ((size_t)1 << 40), "block %p has a corrupted header", p);
    VERIFY(h + 1, n - sizeof(sd_head), h->tag);
    free(p);
    return n;
}

#endif
