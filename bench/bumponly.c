/* bumponly: a yardstick allocator for the benchmark, never a real one.
 *
 * Memory comes from one big reservation (MAP_NORESERVE, default 4 GiB, set
 * BUMPONLY_GIB to change it).  Each thread bumps a pointer through its own
 * region (64 KiB at first, doubling up to 4 MiB), taken from the reservation
 * with an atomic add; big requests take their own piece directly.  free() does nothing, realloc() always
 * copies (unless shrinking), and calloc() does not clear because memory is
 * never reused, so it is still zero from mmap.  When the reservation is used
 * up, malloc returns NULL with errno = ENOMEM and prints one warning.
 *
 * It shows what the cheapest possible allocation costs, and how much memory
 * a program would need if nothing were ever freed.
 *
 * Built with -DSTACK_FREE it is the stackonly yardstick: free() of the block
 * a thread allocated last (the top of its bump region) takes it back, and
 * any other free does nothing.  That is the cheapest possible allocator for
 * LIFO frames, and the least time any allocator can take on them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define ALIGN 16
#define HEADER 16             /* size stored in the 8 bytes before the block */
#define REGION_MIN (64u << 10) /* a thread's first bump region */
#define REGION_MAX (4u << 20)  /* regions double up to this size */
#define BIG (REGION_MAX / 4)   /* requests above this get their own piece */

static _Atomic uintptr_t g_base; /* start of the reservation (0 until set up) */
static _Atomic uintptr_t g_next; /* next free byte in the reservation */
static uintptr_t g_end;
static _Atomic int g_warned;

static __thread uintptr_t t_cur __attribute__((tls_model("initial-exec")));
static __thread uintptr_t t_end __attribute__((tls_model("initial-exec")));
static __thread size_t t_region __attribute__((tls_model("initial-exec")));
static __thread uintptr_t t_start __attribute__((tls_model("initial-exec")));

static void say(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

static int setup(void)
{
    if (atomic_load_explicit(&g_base, memory_order_acquire)) return 1;
    size_t gib = 4;
    const char *e = getenv("BUMPONLY_GIB");
    if (e && *e) {
        long v = strtol(e, NULL, 10);
        if (v > 0 && v < 1024) gib = (size_t)v;
    }
    size_t len = gib << 30;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        say("bumponly: cannot reserve address space\n");
        return 0;
    }
    uintptr_t expect = 0;
    if (!atomic_compare_exchange_strong(&g_base, &expect, (uintptr_t)m)) {
        munmap(m, len); /* another thread won the race */
        return 1;
    }
    g_end = (uintptr_t)m + len;
    atomic_store_explicit(&g_next, (uintptr_t)m, memory_order_release);
    return 1;
}

/* take len bytes (a multiple of 4 KiB) from the shared reservation */
static uintptr_t take(size_t len)
{
    if (!setup()) return 0;
    uintptr_t p;
    while (!(p = atomic_load_explicit(&g_next, memory_order_acquire))) /* setup racing */
        ;
    p = atomic_fetch_add_explicit(&g_next, len, memory_order_relaxed);
    if (p + len > g_end || p + len < p) {
        if (!atomic_exchange(&g_warned, 1)) say("bumponly: out of memory: its reservation is used up (memory is never freed; see BUMPONLY_GIB)\n");
        return 0;
    }
    return p;
}

static void *bump(size_t size, size_t align)
{
    if (size > ((size_t)1 << 46)) {
        errno = ENOMEM;
        return NULL;
    }
    if (size == 0) size = 1;
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (align < ALIGN) align = ALIGN;
    size_t need = size + HEADER + align - ALIGN;
    uintptr_t start, user;
    if (need > BIG) {
        start = take((need + 4095) & ~(size_t)4095);
        if (!start) {
            errno = ENOMEM;
            return NULL;
        }
    } else {
        if (t_end - t_cur < need) {
            /* short-lived threads use little: start small, double up to REGION_MAX */
            size_t len = t_region ? t_region * 2 : REGION_MIN;
            if (len > REGION_MAX) len = REGION_MAX;
            while (len < need) len *= 2;
            uintptr_t r = take(len);
            if (!r) {
                errno = ENOMEM;
                return NULL;
            }
            t_region = len;
            t_start = r;
            t_cur = r;
            t_end = r + len;
        }
        start = t_cur;
    }
    user = (start + HEADER + align - 1) & ~(uintptr_t)(align - 1);
    ((size_t *)user)[-1] = size;
    if (need <= BIG) t_cur = user + size;
    return (void *)user;
}

static size_t usable(const void *p) { return ((const size_t *)p)[-1]; }

/* The common case in a few instructions, so that the yardstick measures the
 * least a bump can cost: a small request that fits the thread's region. */
EXPORT void *malloc(size_t n)
{
    size_t size = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    uintptr_t user = t_cur + HEADER;
    if (__builtin_expect(n - 1 < BIG - HEADER && size + HEADER <= t_end - t_cur, 1)) {
        ((size_t *)user)[-1] = size;
        t_cur = user + size;
        return (void *)user;
    }
    return bump(n, ALIGN);
}

#ifdef STACK_FREE
EXPORT void free(void *p)
{
    uintptr_t user = (uintptr_t)p, start = user - HEADER;
    if (p && user + usable(p) == t_cur && start >= t_start) /* the thread's top block */
        t_cur = start;
}
#else
EXPORT void free(void *p) { (void)p; }
#endif

EXPORT void *calloc(size_t k, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(k, n, &total)) {
        errno = ENOMEM;
        return NULL;
    }
#ifdef STACK_FREE
    void *p = bump(total, ALIGN); /* memory a pop gave back is reused */
    if (p) memset(p, 0, total);
    return p;
#else
    return bump(total, ALIGN); /* never reused memory is still zero from mmap */
#endif
}

EXPORT void *realloc(void *old, size_t n)
{
    if (!old) return bump(n, ALIGN);
    if (n == 0) n = 1;
    size_t have = usable(old);
    if (n <= have) return old;
    void *p = bump(n, ALIGN);
    if (p) memcpy(p, old, have);
    return p;
}

EXPORT void *reallocarray(void *old, size_t k, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(k, n, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, total);
}

static int pow2(size_t a) { return a && !(a & (a - 1)); }

EXPORT void *memalign(size_t align, size_t n)
{
    if (!pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return bump(n, align);
}

EXPORT void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (!pow2(align) || align % sizeof(void *)) return EINVAL;
    void *p = bump(n, align);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *valloc(size_t n) { return bump(n, 4096); }

EXPORT void *pvalloc(size_t n) { return bump((n + 4095) & ~(size_t)4095, 4096); }

EXPORT size_t malloc_usable_size(void *p) { return p ? usable(p) : 0; }
