/* harness.c - decodes a byte string into calls of Bimp's prefixed API and
 * checks every result against a shadow model of the live blocks (see
 * harness.h for the encoding).  Checked:
 *   - every returned block is aligned as asked (16 for malloc, calloc and
 *     realloc; the next power of two of the asked alignment for memalign and
 *     aligned_alloc; the page for valloc and pvalloc);
 *   - its usable size is at least the request (a page multiple for pvalloc)
 *     and stays the same until it is resized;
 *   - it overlaps no other live block, usable sizes counted;
 *   - calloc's block reads as zero;
 *   - a per-block pattern is intact at every realloc (the kept prefix too),
 *     free, malloc_trim and failed allocation;
 *   - free, cfree, free_sized and free_aligned_sized leave errno alone;
 *   - absurd requests return NULL with errno ENOMEM (posix_memalign: ENOMEM
 *     and errno ENOMEM, its output untouched; invalid alignments EINVAL,
 *     errno untouched) and leave
 *     the old block of a failed realloc live and intact;
 *   - realloc(p, 0) frees p and returns NULL; mallopt's return values;
 *   - arenas: a release drops exactly the blocks allocated (or moved by
 *     realloc) after its mark, and nothing later placed overlaps a block the
 *     model still holds.
 * Blocks also move between threads: a helper thread allocates blocks that
 * this thread frees, and frees or resizes blocks this thread allocated. */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bimp's API, as bimp.c names it under -DBIMP_PREFIX: bimp.h declares the
 * prefixed library's functions; these three are not part of it. */
#include "../../bimp.h"
void bimp_cfree(void *p);
struct mallinfo2 bimp_mallinfo2(void);
struct mallinfo bimp_mallinfo(void);

#ifdef BIMP_ALIGN
#define MIN_ALIGN ((size_t)BIMP_ALIGN)
#else
#define MIN_ALIGN ((size_t)16)
#endif
#define MMAP_THRESHOLD_MAX 131072     /* README: M_MMAP_THRESHOLD is at most 128 KiB */
#define LIVE_CAP ((size_t)16 << 20)   /* bytes live at once, at most */
#define ERRNO_MARK 7777               /* an errno value no call of Bimp's sets */

void (*harness_on_failure)(const char *message);
int harness_trace;
unsigned long harness_op_counts[OP_COUNT];
const char *const harness_op_names[OP_COUNT] = {
    "malloc", "calloc", "realloc", "reallocarray", "reallocf", "aligned_alloc", "memalign",
    "posix_memalign", "valloc", "pvalloc", "free", "cfree", "free_sized", "malloc_usable_size",
    "malloc_trim", "mallinfo", "mallopt", "absurd", "free_newest", "remote_alloc",
    "remote_free", "helper_exit", "check_all", "arena_alloc", "arena_mark", "arena_release",
    "arena_reset",
};

/* ------------------------------------------------------------------------ */
/* The shadow model                                                         */
/* ------------------------------------------------------------------------ */

enum kind {
    K_PLAIN,   /* malloc, calloc, realloc: free_sized(p, req) is right */
    K_ALIGNED, /* aligned_alloc and friends with a power of two: free_aligned_sized(p, align, req) */
    K_OTHER,   /* valloc, pvalloc, odd alignments: only free and cfree */
};

typedef struct {
    unsigned char *p; /* NULL: the slot is empty */
    size_t req;       /* the size asked for */
    size_t len;       /* bytes carrying the pattern */
    size_t usable;    /* malloc_usable_size when it was made or resized */
    size_t align;     /* the alignment asked for (K_ALIGNED) */
    uint64_t seed, birth;
    uint64_t arena_time; /* an arena block's place in the arena's history; 0: not the arena's */
    enum kind kind;
    const char *from; /* the call that made or last resized it */
} shadow;

static shadow slots[SLOTS];
/* The input's arena, its marks, and the clock that orders its blocks and marks. */
static bimp_arena *arena;
static struct {
    bimp_mark *m;
    uint64_t time;
} marks[8];
static int nmarks;
static uint64_t arena_clock;
static size_t live_bytes;
static uint64_t births;
static const uint8_t *in, *in_end;
static unsigned long calls, op_number;
static const char *op_name = "start";

static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void fail(const char *fmt, ...)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "operation %lu (%s): ", op_number, op_name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (harness_on_failure)
        harness_on_failure(msg);
    fprintf(stderr, "%s\n", msg);
    abort();
}

/* ------------------------------------------------------------------------ */
/* Patterns                                                                 */
/* ------------------------------------------------------------------------ */

static inline uint64_t word_at(uint64_t seed, size_t k)
{
    uint64_t x = (seed + k) * 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29);
}

static inline unsigned char byte_at(uint64_t seed, size_t i)
{
    return (unsigned char)(word_at(seed, i >> 3) >> ((i & 7) * 8));
}

/* Byte i of every block is byte_at(seed, i): a prefix kept by realloc still
 * matches after the block moved. */
static void fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    size_t i = from;
    for (; i < to && (i & 7); i++)
        p[i] = byte_at(seed, i);
    for (; i + 8 <= to; i += 8) {
        uint64_t w = word_at(seed, i >> 3);
        memcpy(p + i, &w, 8);
    }
    for (; i < to; i++)
        p[i] = byte_at(seed, i);
}

/* The first byte in [from, to) that does not match, or SIZE_MAX. */
static size_t first_bad(const unsigned char *p, size_t from, size_t to, uint64_t seed)
{
    size_t i = from;
    for (; i < to && (i & 7); i++)
        if (p[i] != byte_at(seed, i))
            return i;
    for (; i + 8 <= to; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w != word_at(seed, i >> 3))
            break;
    }
    for (; i < to; i++)
        if (p[i] != byte_at(seed, i))
            return i;
    return SIZE_MAX;
}

static void check_block(const shadow *b, const char *when)
{
    size_t bad = first_bad(b->p, 0, b->len, b->seed);
    if (bad != SIZE_MAX)
        fail("block %p (slot %d, %zu bytes from %s) changed at byte %zu %s",
             (void *)b->p, (int)(b - slots), b->req, b->from, bad, when);
}

/* Like check_block, but in a block of more than 8 KiB only the first and
 * last 4 KiB and one word in every 256 bytes between: enough to see a page
 * given back or overwritten, at a fraction of the cost. */
static void check_block_sampled(const shadow *b, const char *when)
{
    if (b->len <= 8192) {
        check_block(b, when);
        return;
    }
    size_t bad = first_bad(b->p, 0, 4096, b->seed);
    for (size_t i = 4096; bad == SIZE_MAX && i + 8 <= b->len - 4096; i += 256)
        bad = first_bad(b->p, i, i + 8, b->seed);
    if (bad == SIZE_MAX)
        bad = first_bad(b->p, b->len - 4096, b->len, b->seed);
    if (bad != SIZE_MAX)
        fail("block %p (slot %d, %zu bytes from %s) changed at byte %zu %s",
             (void *)b->p, (int)(b - slots), b->req, b->from, bad, when);
}

static void check_all(const char *when)
{
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p) {
            check_block_sampled(&slots[i], when);
            size_t u = bimp_malloc_usable_size(slots[i].p);
            calls++;
            if (u != slots[i].usable)
                fail("usable size of %p (slot %d, from %s) changed from %zu to %zu %s",
                     (void *)slots[i].p, i, slots[i].from, slots[i].usable, u, when);
        }
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

static uint8_t byte(void)
{
    return in < in_end ? *in++ : 0;
}

static int slot(void)
{
    return byte() % SLOTS;
}

static const size_t boundary_sizes[16] = {
    0, 8, 16, 24, 32, 1016, 1024, 2048, 4096, 65536, 131072 - 16, 131072, 131072 + 16,
    262144 - 64, 262144, 524288,
};

static size_t size_operand(void)
{
    uint8_t b0 = byte();
    switch (b0 >> 4) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
        return (size_t)((b0 & 15) << 8 | byte()) % 1025;
    case 8:
        return b0 & 15;
    case 9: case 10: case 11: {
        size_t hi = byte();
        return 1025 + (hi << 8 | byte());
    }
    case 12: {
        size_t mid = byte();
        return ((size_t)(b0 & 15) << 16 | mid << 8 | byte()) % 600001;
    }
    case 13: case 14: {
        size_t base = boundary_sizes[b0 & 15];
        int delta = byte() % 17 - 8;
        return delta < 0 && base < (size_t)-delta ? 0 : base + (size_t)(ptrdiff_t)delta;
    }
    default: {
        size_t b1 = byte();
        if (!(b0 & 8)) /* another 128 KiB to 600 KB */
            return 131072 + (b1 << 8 | byte()) * 7;
        return b1 < 240 ? (b1 + 1) * 4096 : (b1 - 239) * 262144; /* up to 4 MiB */
    }
    }
}

static size_t align_operand(void)
{
    uint8_t b = byte();
    if (b < 200)
        return (size_t)1 << (b % 13);
    if (b < 240)
        return (size_t)1 << (13 + b % 10);
    return (size_t)(b - 240) * 24;
}

static bool power_of_two(size_t a)
{
    return a && !(a & (a - 1));
}

/* The alignment memalign and aligned_alloc promise for `align`. */
static size_t promised_alignment(size_t align)
{
    size_t a = 1;
    while (a < align)
        a <<= 1;
    return a < MIN_ALIGN ? MIN_ALIGN : a;
}

/* Keep the live total bounded: a request that would pass the cap shrinks. */
static size_t capped(size_t n, size_t freed_first)
{
    return live_bytes - freed_first + n > LIVE_CAP ? n % 4096 : n;
}

/* ------------------------------------------------------------------------ */
/* The helper thread: remote allocations and frees                          */
/* ------------------------------------------------------------------------ */

enum { H_MALLOC, H_CALLOC, H_ALIGNED, H_FREE, H_FREE_SIZED, H_FREE_ALIGNED_SIZED, H_CFREE, H_REALLOC, H_EXIT };

static struct {
    int op;
    void *p;
    size_t align, n;
    int errno_in, errno_out;
    void *result;
} job;
static sem_t job_ready, job_done;
static pthread_t helper;
static bool helper_live, sems_ready;

static void *helper_main(void *arg)
{
    (void)arg;
    for (;;) {
        while (sem_wait(&job_ready) != 0)
            ;
        errno = job.errno_in;
        switch (job.op) {
        case H_MALLOC: job.result = bimp_malloc(job.n); break;
        case H_CALLOC: job.result = bimp_calloc(1, job.n); break;
        case H_ALIGNED: job.result = bimp_aligned_alloc(job.align, job.n); break;
        case H_FREE: bimp_free(job.p); break;
        case H_FREE_SIZED: bimp_free_sized(job.p, job.n); break;
        case H_FREE_ALIGNED_SIZED: bimp_free_aligned_sized(job.p, job.align, job.n); break;
        case H_CFREE: bimp_cfree(job.p); break;
        case H_REALLOC: job.result = bimp_realloc(job.p, job.n); break;
        case H_EXIT: break;
        }
        job.errno_out = errno;
        int op = job.op;
        sem_post(&job_done);
        if (op == H_EXIT)
            return NULL;
    }
}

/* Run one call in the helper thread and wait for it. */
static void *remote(int op, void *p, size_t align, size_t n, int errno_in, int *errno_out)
{
    if (!sems_ready) {
        sem_init(&job_ready, 0, 0);
        sem_init(&job_done, 0, 0);
        sems_ready = true;
    }
    if (!helper_live) {
        if (op == H_EXIT)
            return NULL;
        if (pthread_create(&helper, NULL, helper_main, NULL) != 0)
            fail("cannot start the helper thread");
        helper_live = true;
    }
    job.op = op;
    job.p = p;
    job.align = align;
    job.n = n;
    job.errno_in = errno_in;
    job.result = NULL;
    sem_post(&job_ready);
    while (sem_wait(&job_done) != 0)
        ;
    if (op == H_EXIT) {
        pthread_join(helper, NULL);
        helper_live = false;
    }
    calls += op != H_EXIT;
    if (errno_out)
        *errno_out = job.errno_out;
    return job.result;
}

/* ------------------------------------------------------------------------ */
/* Blocks in and out of the model                                           */
/* ------------------------------------------------------------------------ */

/* The checks every new or moved block must pass: alignment, usable size,
 * no overlap with any live block but slot `self`.  Returns the usable size. */
static size_t check_placed(const unsigned char *p, size_t req, size_t align, int self, const char *what)
{
    if ((uintptr_t)p % align)
        fail("%s(%zu) returned %p, not aligned to %zu", what, req, (const void *)p, align);
    size_t usable = bimp_malloc_usable_size((void *)p);
    calls++;
    if (usable < req)
        fail("%s(%zu) returned %p with usable size %zu", what, req, (const void *)p, usable);
    uintptr_t a0 = (uintptr_t)p, a1 = a0 + (usable ? usable : 1);
    for (int i = 0; i < SLOTS; i++) {
        const shadow *o = &slots[i];
        if (i == self || !o->p)
            continue;
        uintptr_t b0 = (uintptr_t)o->p, b1 = b0 + (o->usable ? o->usable : 1);
        if (a0 < b1 && b0 < a1)
            fail("%s(%zu) returned %p (usable %zu), overlapping live block %p (slot %d, usable %zu, from %s)",
                 what, req, (const void *)p, usable, (void *)o->p, i, o->usable, o->from);
    }
    return usable;
}

static void place(int s, void *p, size_t req, size_t check_align, size_t asked_align, enum kind kind,
                  const char *what, bool zeroed)
{
    if (!p)
        fail("%s(%zu) returned NULL (errno %d)", what, req, errno);
    size_t usable = check_placed(p, req, check_align, s, what);
    unsigned char *b = p;
    if (zeroed)
        for (size_t i = 0; i < req; i++)
            if (b[i])
                fail("%s(%zu) returned %p whose byte %zu is %#x, not zero", what, req, p, i, b[i]);
    if (harness_trace)
        fprintf(stderr, "    slot %d = %s(%zu) = %p, usable %zu\n", s, what, req, p, usable);
    shadow *sh = &slots[s];
    sh->p = b;
    sh->req = sh->len = req;
    sh->usable = usable;
    sh->align = asked_align;
    sh->kind = kind;
    sh->birth = ++births;
    sh->seed = births * 0x2545f4914f6cdd1dull ^ (uintptr_t)p;
    sh->from = what;
    fill(b, 0, req, sh->seed);
    live_bytes += usable;
}

static void forget(int s)
{
    if (harness_trace)
        fprintf(stderr, "    slot %d freed: %p\n", s, (void *)slots[s].p);
    live_bytes -= slots[s].usable;
    memset(&slots[s], 0, sizeof slots[s]);
}

/* Free slot s's block the way its kind allows; `how`: 0 free, 1 cfree,
 * 2 the sized free that fits. */
static void release(int s, int how, int errno_value)
{
    shadow *b = &slots[s];
    check_block(b, "before it was freed");
    const char *fn = how == 1 ? "cfree" : "free";
    errno = errno_value;
    if (how == 1) {
        bimp_cfree(b->p);
    } else if (how == 2 && b->kind == K_PLAIN) {
        fn = "free_sized";
        bimp_free_sized(b->p, b->req);
    } else if (how == 2 && b->kind == K_ALIGNED) {
        fn = "free_aligned_sized";
        bimp_free_aligned_sized(b->p, b->align, b->req);
    } else {
        bimp_free(b->p);
    }
    calls++;
    if (errno != errno_value)
        fail("%s(%p) changed errno from %d to %d", fn, (void *)b->p, errno_value, errno);
    forget(s);
}

/* Make room in slot s for a new block. */
static void evict(int s)
{
    if (slots[s].p)
        release(s, (int)(slots[s].birth % 3), ERRNO_MARK);
}

enum resize_call { R_REALLOC, R_REALLOCARRAY, R_REALLOCF, R_REMOTE };

/* Resize slot s's block to count * each bytes with the given call. */
static void resize(int s, enum resize_call how, size_t count, size_t each)
{
    static const char *const names[] = { "realloc", "reallocarray", "reallocf", "realloc in the helper thread" };
    const char *what = names[how];
    shadow *b = &slots[s];
    size_t n = count * each;
    if (n > b->usable && capped(n, b->usable) != n) {
        each %= 4096;
        n = count * each;
    }
    check_block(b, "before it was resized");
    void *q;
    errno = 0;
    switch (how) {
    case R_REALLOC: q = bimp_realloc(b->p, n); break;
    case R_REALLOCARRAY: q = bimp_reallocarray(b->p, count, each); break;
    case R_REALLOCF: q = bimp_reallocf(b->p, n); break;
    default: q = remote(H_REALLOC, b->p, 0, n, 0, NULL); break;
    }
    calls += how != R_REMOTE;
    if (n == 0) {
        if (q)
            fail("%s(%p, 0) returned %p, not NULL", what, (void *)b->p, q);
        forget(s);
        return;
    }
    if (!q)
        fail("%s(%p, %zu) returned NULL (errno %d)", what, (void *)b->p, n, errno);
    size_t keep = b->len < n ? b->len : n;
    size_t bad = first_bad(q, 0, keep, b->seed);
    if (bad != SIZE_MAX)
        fail("%s(%p (%zu bytes from %s), %zu) = %p lost the contents at byte %zu", what, (void *)b->p,
             b->len, b->from, n, q, bad);
    size_t usable = check_placed(q, n, MIN_ALIGN, s, what);
    fill(q, keep, n, b->seed);
    if (harness_trace)
        fprintf(stderr, "    slot %d = %s(%p, %zu) = %p, usable %zu\n", s, what, (void *)b->p, n, q, usable);
    live_bytes += usable - b->usable;
    if (b->arena_time && q != b->p) /* moved: to the arena's top, or to the helper's heap */
        b->arena_time = how == R_REMOTE ? 0 : ++arena_clock;
    b->p = q;
    b->req = b->len = n;
    b->usable = usable;
    b->align = 0;
    b->kind = K_PLAIN;
    b->from = what;
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */
/* ------------------------------------------------------------------------ */

static void op_aligned(int which)
{
    static const char *const names[] = { "aligned_alloc", "memalign", "posix_memalign" };
    int s = slot();
    size_t align = align_operand(), n = size_operand();
    if (align >= ((size_t)1 << 20))
        n %= 65536; /* the mapping is align + n long */
    evict(s);
    n = capped(n, 0);
    enum kind kind = power_of_two(align) ? K_ALIGNED : K_OTHER;
    void *p;
    if (which == 0 && !power_of_two(align)) { /* C17, glibc 2.38: EINVAL */
        errno = ERRNO_MARK;
        p = bimp_aligned_alloc(align, n);
        calls++;
        if (p || errno != EINVAL)
            fail("aligned_alloc(%zu, %zu) returned %p, errno %d: wanted NULL, EINVAL", align, n, p, errno);
        return;
    }
    if (which == 0) {
        p = bimp_aligned_alloc(align, n);
    } else if (which == 1) {
        p = bimp_memalign(align, n);
    } else {
        void *const untouched = (void *)(uintptr_t)0x5a5a5a5a;
        void *out = untouched;
        errno = ERRNO_MARK;
        int r = bimp_posix_memalign(&out, align, n);
        calls++;
        if (!power_of_two(align) || align < sizeof(void *)) {
            if (r != EINVAL || out != untouched || errno != ERRNO_MARK)
                fail("posix_memalign(%zu, %zu) returned %d, output %p, errno %d: wanted EINVAL, "
                     "output untouched, errno %d", align, n, r, out, errno, ERRNO_MARK);
            return;
        }
        if (r != 0)
            fail("posix_memalign(%zu, %zu) returned %d", align, n, r);
        p = out;
    }
    calls += which != 2;
    place(s, p, n, promised_alignment(align), align, kind, names[which], false);
}

static const size_t absurd_sizes[] = {
    SIZE_MAX, SIZE_MAX - 8, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1, PTRDIFF_MAX,
    PTRDIFF_MAX - 4096, (size_t)1 << 62, (size_t)1 << 50, (size_t)1 << 48,
};

static void op_absurd(void)
{
    int s = slot();
    int call = byte() % 13;
    size_t a = absurd_sizes[byte() % (sizeof absurd_sizes / sizeof absurd_sizes[0])];
    size_t big = (size_t)1 << 33;
    void *old = slots[s].p, *q = NULL;
    const char *what;
    if (old)
        check_block(&slots[s], "before a failing call");
    errno = 0;
    switch (call) {
    case 0: what = "malloc"; q = bimp_malloc(a); break;
    case 1: what = "calloc(1, n)"; q = bimp_calloc(1, a); break;
    case 2: what = "calloc overflowing"; q = bimp_calloc(big, big); break;
    case 3: what = "calloc(n, 2)"; q = bimp_calloc(a, 2); break;
    case 4: what = "realloc"; q = bimp_realloc(old, a); break;
    case 5: what = "reallocarray overflowing"; q = bimp_reallocarray(old, big, big); break;
    case 6: what = "reallocarray(p, 1, n)"; q = bimp_reallocarray(old, 1, a); break;
    case 7: what = "reallocf"; q = bimp_reallocf(old, a); break;
    case 8: what = "aligned_alloc(64, n)"; q = bimp_aligned_alloc(64, a); break;
    case 9: what = "memalign(4096, n)"; q = bimp_memalign(4096, a); break;
    case 10: what = "valloc"; q = bimp_valloc(a); break;
    case 11: what = "pvalloc"; q = bimp_pvalloc(a); break;
    default: {
        void *const untouched = (void *)(uintptr_t)0x5a5a5a5a;
        void *out = untouched;
        errno = ERRNO_MARK;
        int r = bimp_posix_memalign(&out, 64, a);
        calls++;
        if (r != ENOMEM || out != untouched || errno != ENOMEM)
            fail("posix_memalign(64, %zu) returned %d, output %p, errno %d: wanted ENOMEM, output "
                 "untouched, errno ENOMEM", a, r, out, errno);
        check_all("after a failed posix_memalign");
        return;
    }
    }
    calls++;
    if (q || errno != ENOMEM)
        fail("%s(%p, %zu) returned %p with errno %d: wanted NULL and ENOMEM", what, old, a, q, errno);
    if (call == 7 && old) /* reallocf frees the block when it fails */
        forget(s);
    check_all("after a failed allocation");
}

static void op_mallopt(void)
{
    static const int mmap_values[] = { 0, 512, 1024, 1025, 4096, 65536, 131072, 131073, 262144, -1, INT_MAX };
    static const int trim_values[] = { 0, 1, 262144, 2 << 20, 64 << 20, -1 };
    static const int other_params[] = { M_TOP_PAD, M_MMAP_MAX, M_CHECK_ACTION, M_PERTURB,
                                        M_ARENA_TEST, M_ARENA_MAX, M_MXFAST, 0, 12345 };
    int which = byte() % 3, index = byte();
    int param, value, want;
    if (which == 0) {
        param = M_MMAP_THRESHOLD;
        value = mmap_values[index % (sizeof mmap_values / sizeof mmap_values[0])];
        want = 1; /* glibc's answer for every value */
    } else if (which == 1) {
        param = M_TRIM_THRESHOLD;
        value = trim_values[index % (sizeof trim_values / sizeof trim_values[0])];
        want = 1;
    } else {
        param = other_params[index % (sizeof other_params / sizeof other_params[0])];
        value = index;
        want = param != M_MXFAST || value <= 160; /* glibc: 0 only for a fastbin size above 160 */
    }
    int r = bimp_mallopt(param, value);
    calls++;
    if (r != want)
        fail("mallopt(%d, %d) returned %d, wanted %d", param, value, r, want);
}

static void op_remote_alloc(void)
{
    static const char *const names[] = { "malloc in the helper thread", "calloc in the helper thread",
                                         "aligned_alloc in the helper thread" };
    int s = slot();
    int call = byte() % 3;
    size_t align = align_operand(), n = size_operand();
    if (align >= ((size_t)1 << 20))
        n %= 65536;
    if (call == 2 && !power_of_two(align))
        align = promised_alignment(align); /* aligned_alloc refuses others (op_aligned) */
    evict(s);
    n = capped(n, 0);
    void *p = remote(call == 0 ? H_MALLOC : call == 1 ? H_CALLOC : H_ALIGNED, NULL, align, n, 0, NULL);
    if (call == 2)
        place(s, p, n, promised_alignment(align), align, power_of_two(align) ? K_ALIGNED : K_OTHER,
              names[call], false);
    else
        place(s, p, n, MIN_ALIGN, 0, K_PLAIN, names[call], call == 1);
}

static void op_remote_free(void)
{
    int s = slot();
    int call = byte() % 4;
    size_t n = size_operand();
    shadow *b = &slots[s];
    if (!b->p)
        return;
    if (call == 3) {
        resize(s, R_REMOTE, 1, n);
        return;
    }
    check_block(b, "before the helper thread freed it");
    int op = H_FREE, after;
    size_t align = 0;
    if (call == 1)
        op = H_CFREE;
    else if (call == 2 && b->kind == K_PLAIN)
        op = H_FREE_SIZED;
    else if (call == 2 && b->kind == K_ALIGNED)
        op = H_FREE_ALIGNED_SIZED, align = b->align;
    remote(op, b->p, align, b->req, ERRNO_MARK, &after);
    if (after != ERRNO_MARK)
        fail("a free in the helper thread of %p changed errno from %d to %d", (void *)b->p, ERRNO_MARK, after);
    forget(s);
}

static void op_free_newest(void)
{
    int k = byte() % 8 + 1;
    while (k-- > 0) {
        int newest = -1;
        for (int i = 0; i < SLOTS; i++)
            if (slots[i].p && (newest < 0 || slots[i].birth > slots[newest].birth))
                newest = i;
        if (newest < 0)
            return;
        release(newest, 0, ERRNO_MARK);
    }
}

/* ------------------------------------------------------------------------ */
/* Arenas                                                                   */
/* ------------------------------------------------------------------------ */

static void op_arena_alloc(void)
{
    static const char *const names[] = { "bimp_arena_alloc", "bimp_arena_calloc", "bimp_arena_aligned_alloc" };
    int s = slot();
    int call = byte() % 3;
    size_t align = align_operand(), n = size_operand();
    if (!power_of_two(align))
        align = promised_alignment(align);
    if (align >= ((size_t)1 << 20))
        n %= 65536;
    evict(s);
    n = capped(n, 0);
    if (!arena && !(arena = bimp_arena_create()))
        fail("bimp_arena_create failed (errno %d)", errno);
    void *p = call == 0 ? bimp_arena_alloc(arena, n)
            : call == 1 ? bimp_arena_calloc(arena, 1, n)
                        : bimp_arena_aligned_alloc(arena, align, n);
    calls++;
    if (call == 2)
        place(s, p, n, promised_alignment(align), align, K_ALIGNED, names[call], false);
    else
        place(s, p, n, MIN_ALIGN, 0, K_PLAIN, names[call], call == 1);
    slots[s].arena_time = ++arena_clock;
}

static void op_arena_mark(void)
{
    if (nmarks == 8)
        return;
    if (!arena && !(arena = bimp_arena_create()))
        fail("bimp_arena_create failed (errno %d)", errno);
    marks[nmarks].m = bimp_arena_mark(arena);
    calls++;
    if (!marks[nmarks].m)
        fail("bimp_arena_mark failed (errno %d)", errno);
    marks[nmarks++].time = ++arena_clock;
}

/* The arena drops every block after `time` (0: all of them): so does the model. */
static void arena_dropped(uint64_t time, const char *when)
{
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p && slots[i].arena_time > time)
            forget(i);
    check_all(when);
}

static void op_arena_release(void)
{
    int k = byte();
    if (!nmarks)
        return;
    k %= nmarks;
    errno = ERRNO_MARK;
    bimp_arena_release(arena, marks[k].m);
    calls++;
    if (errno != ERRNO_MARK)
        fail("bimp_arena_release changed errno to %d", errno);
    nmarks = k + 1;
    arena_dropped(marks[k].time, "after bimp_arena_release");
}

static void op_arena_reset(void)
{
    if (!arena)
        return;
    bimp_arena_reset(arena);
    calls++;
    nmarks = 0;
    arena_dropped(0, "after bimp_arena_reset");
}

static void step(enum harness_op op)
{
    int s, count;
    size_t n, each;
    switch (op) {
    case OP_MALLOC:
        s = slot();
        n = size_operand();
        evict(s);
        n = capped(n, 0);
        calls++;
        place(s, bimp_malloc(n), n, MIN_ALIGN, 0, K_PLAIN, "malloc", false);
        break;
    case OP_CALLOC:
        s = slot();
        count = byte() % 9;
        n = size_operand();
        evict(s);
        n = capped(n, 0);
        each = count ? n / (size_t)count : n;
        calls++;
        place(s, bimp_calloc((size_t)count, each), (size_t)count * each, MIN_ALIGN, 0, K_PLAIN, "calloc", true);
        break;
    case OP_REALLOC:
    case OP_REALLOCF:
        s = slot();
        n = size_operand();
        if (slots[s].p) {
            resize(s, op == OP_REALLOC ? R_REALLOC : R_REALLOCF, 1, n);
        } else {
            n = capped(n, 0);
            calls++;
            place(s, op == OP_REALLOC ? bimp_realloc(NULL, n) : bimp_reallocf(NULL, n), n, MIN_ALIGN, 0,
                  K_PLAIN, op == OP_REALLOC ? "realloc(NULL)" : "reallocf(NULL)", false);
        }
        break;
    case OP_REALLOCARRAY:
        s = slot();
        count = byte() % 9;
        n = size_operand();
        each = count ? n / (size_t)count : n;
        if (slots[s].p) {
            resize(s, R_REALLOCARRAY, (size_t)count, each);
        } else {
            if (capped((size_t)count * each, 0) != (size_t)count * each)
                each %= 4096;
            calls++;
            place(s, bimp_reallocarray(NULL, (size_t)count, each), (size_t)count * each, MIN_ALIGN, 0,
                  K_PLAIN, "reallocarray(NULL)", false);
        }
        break;
    case OP_ALIGNED_ALLOC:
        op_aligned(0);
        break;
    case OP_MEMALIGN:
        op_aligned(1);
        break;
    case OP_POSIX_MEMALIGN:
        op_aligned(2);
        break;
    case OP_VALLOC:
    case OP_PVALLOC: {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        s = slot();
        n = size_operand();
        evict(s);
        n = capped(n, 0);
        calls++;
        if (op == OP_VALLOC)
            place(s, bimp_valloc(n), n, page, 0, K_OTHER, "valloc", false);
        else /* the whole rounded-up size is the program's */
            place(s, bimp_pvalloc(n), n ? (n + page - 1) / page * page : page, page, 0, K_OTHER, "pvalloc", false);
        break;
    }
    case OP_FREE:
    case OP_CFREE:
    case OP_FREE_SIZED: {
        s = slot();
        int e = byte() + 1;
        int how = op == OP_FREE ? 0 : op == OP_CFREE ? 1 : 2;
        if (slots[s].p) {
            release(s, how, e);
        } else {
            errno = e;
            if (how == 0)
                bimp_free(NULL);
            else if (how == 1)
                bimp_cfree(NULL);
            else
                bimp_free_sized(NULL, (size_t)e), bimp_free_aligned_sized(NULL, 64, (size_t)e);
            calls++;
            if (errno != e)
                fail("freeing NULL changed errno from %d to %d", e, errno);
        }
        break;
    }
    case OP_USABLE_SIZE:
        s = slot();
        calls++;
        if (!slots[s].p) {
            if (bimp_malloc_usable_size(NULL) != 0)
                fail("malloc_usable_size(NULL) is not 0");
        } else {
            shadow *b = &slots[s];
            size_t u = bimp_malloc_usable_size(b->p);
            if (u != b->usable)
                fail("usable size of %p (from %s) changed from %zu to %zu", (void *)b->p, b->from, b->usable, u);
            fill(b->p, b->len, u, b->seed); /* the program may use all of it */
            b->len = u;
        }
        break;
    case OP_TRIM: {
        size_t pad = (size_t)byte() << 10;
        int r = bimp_malloc_trim(pad);
        calls++;
        if (r != 0 && r != 1)
            fail("malloc_trim(%zu) returned %d", pad, r);
        check_all("after malloc_trim");
        break;
    }
    case OP_MALLINFO: {
        struct mallinfo2 m = bimp_mallinfo2();
        struct mallinfo m1 = bimp_mallinfo();
        calls += 2;
        if (m.uordblks > m.arena)
            fail("mallinfo2: %zu bytes in use of an arena of %zu", m.uordblks, m.arena);
        if (m.hblks <= INT_MAX && (size_t)m1.hblks != m.hblks)
            fail("mallinfo says %d huge blocks, mallinfo2 %zu", m1.hblks, m.hblks);
        break;
    }
    case OP_MALLOPT:
        op_mallopt();
        break;
    case OP_ABSURD:
        op_absurd();
        break;
    case OP_FREE_NEWEST:
        op_free_newest();
        break;
    case OP_REMOTE_ALLOC:
        op_remote_alloc();
        break;
    case OP_REMOTE_FREE:
        op_remote_free();
        break;
    case OP_HELPER_EXIT:
        remote(H_EXIT, NULL, 0, 0, 0, NULL);
        break;
    case OP_CHECK_ALL:
        check_all("when checked");
        break;
    case OP_ARENA_ALLOC:
        op_arena_alloc();
        break;
    case OP_ARENA_MARK:
        op_arena_mark();
        break;
    case OP_ARENA_RELEASE:
        op_arena_release();
        break;
    case OP_ARENA_RESET:
        op_arena_reset();
        break;
    case OP_COUNT:
        break;
    }
}

unsigned long harness_run(const uint8_t *data, size_t size)
{
    in = data;
    in_end = data + size;
    calls = 0;
    op_number = 0;
    /* Every input starts from the default thresholds. */
    op_name = "reset";
    if (bimp_mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) != 1 || bimp_mallopt(M_TRIM_THRESHOLD, 2 << 20) != 1)
        fail("mallopt cannot restore the default thresholds");
    calls += 2;
    while (in < in_end) {
        enum harness_op op = (enum harness_op)(byte() % OP_COUNT);
        op_number++;
        op_name = harness_op_names[op];
        harness_op_counts[op]++;
        if (harness_trace)
            fprintf(stderr, "%lu %s\n", op_number, op_name);
        step(op);
    }
    op_name = "end of input";
    check_all("at the end of the input");
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p)
            release(i, i % 3, ERRNO_MARK);
    if (arena) {
        bimp_arena_destroy(arena);
        calls++;
        arena = NULL;
        nmarks = 0;
    }
    if (live_bytes != 0)
        fail("the model lost track of %zu bytes", live_bytes);
    return calls;
}
