/* corrupt.c - the corruption matrix: how the allocator takes the heap bugs
 * of ordinary programs, next to glibc's malloc.
 *
 * Each case is one small program bug written in plain C (an overflow into
 * the next block, a far overflow past the top, an underflow into a block's
 * own header, writes into a freed block, forged free-list links, a fake
 * block for an unsafe unlink, double and invalid frees).  Each case runs in
 * a child process of its own, once under glibc's malloc (no LD_PRELOAD) and
 * once with LD_PRELOAD=<the library>, and is classified:
 *
 *   caught     the child died by SIGABRT and wrote something on stderr;
 *   harmless   it exited 0: the post-checks found nothing wrong;
 *   crashed    any other signal, SIGABRT with nothing on stderr, any other
 *              exit status, or a hang (killed after TIMEOUT_S seconds);
 *   corrupted  it exited 3: the post-checks found silent corruption (the
 *              reason is the one line the child wrote on stderr).
 *
 * The post-checks (post_checks): after the case, the live blocks the case
 * holds must still hold what the case wrote into them (a shadow copy of every
 * byte is kept, the bug's own bytes included), the globals must be untouched;
 * then 64 mallocs and 5 callocs, each checked when it returns (not NULL,
 * 16-aligned, mapped, outside the program's image and stack, overlapping no
 * live block; calloc's memory zero) and filled with a pattern of its own; all
 * patterns are verified again, everything is freed, and 32 more blocks make
 * a second round.
 *
 * Usage:
 *   corrupt <variant> <path/to/libbimp.so> [-v]   the matrix; -v: every outcome
 *   corrupt --list                                 the cases, one a line
 *   corrupt --case N|NAME                          one case, in the foreground,
 *                       under whatever LD_PRELOAD says (ASLR off, as in the matrix)
 *
 * Output: a markdown-shaped table (lines starting with `# `), a line for each
 * case Bimp crashed on or corrupted silently, then PASS/FAIL lines per case
 * class: no crash, no silent corruption, caught at least as often as glibc
 * (with the small tier, BIMP_TEST_TIER=1: every double or invalid free
 * caught; other bugs of small blocks reach only other blocks' data).  With
 * BIMP_TEST_CHECK=1, Bimp's side runs in its check mode (BIMP_CHECK=1).
 * Exits 0 when the matrix ran (whatever the FAIL lines say), 2 when the
 * harness itself broke (a child of the wrong allocator, a control case that
 * glibc does not pass, ...). */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
extern char __executable_start[], _end[];

#define TIMEOUT_S 5.0 /* a child still running after this is killed: hung */
#define SLOW_S 1.0 /* a child still running after this no longer holds a slot, and is niced */
#define MAXJOBS 48
#define MAXCASES 2048
#define STATUS_CORRUPTED 3
#define STATUS_WRONG_ALLOCATOR 4
#define STATUS_HARNESS 5

/* ======================================================================== */
/* The cases                                                                */
/* ======================================================================== */

enum row {
    R_CONTROL,
    R_OVERFLOW_NEXT,
    R_OVERFLOW_FAR,
    R_UNDERFLOW,
    R_UAF_BINNED,
    R_UAF_POPPED,
    R_FORGED_LINK,
    R_FAKE_UNLINK,
    R_DOUBLE_FREE,
    NROWS
};

static const char *const row_names[NROWS] = {
    "control", "overflow-next", "overflow-far", "underflow-own-header", "uaf-binned",
    "uaf-popped", "forged-link", "fake-unlink", "double-free-variants",
};

/* A case: the row it is counted in, the script it runs (a row's number; a
 * control case runs another row's script with no bug in it) and the
 * script's parameters. */
typedef struct {
    uint8_t row, script;
    uint32_t size; /* s; overflow-far: the overflow's length; fake-unlink: the back distance */
    uint8_t k, v, o; /* bytes the bug writes, their value, their offset */
    uint8_t p1, p2, p3; /* the script's own */
    char name[80];
} testcase;

static testcase cases[MAXCASES];
static int ncases;

static const uint8_t values[4] = { 0x00, 0x41, 0x80, 0xff };

static const char *const next_followups[6] = {
    "free(b)", "free(a)", "free(a)+free(b)", "free(b)+free(a)", "free(b)+malloc*2", "realloc(b,2s)",
};
static const char *const far_preludes[3] = { "after-free(100000)", "after-free(20000)", "fresh" };
static const char *const far_followups[4] = { "calloc(1000)", "calloc(50000)", "malloc(100)*8", "free(a)" };
static const char *const under_followups[3] = { "free(a)", "realloc(a,2s)", "usable-size+memset" };
static const char *const forged_words[4] = { "none", "word0", "word1", "both-words" };
static const char *const unlink_paths[4] = { "pop", "merge", "trim", "free-a-first" };
static const char *const unlink_modes[3] = { "prev4", "header8", "bogus-stride" };
static const char *const double_kinds[5] = { "twice", "around-other", "top-twice", "interior", "global" };

static testcase *add(int row, int script, uint32_t size, int k, int v, int o, int p1, int p2, int p3)
{
    if (ncases == MAXCASES) {
        fprintf(stderr, "corrupt: more than %d cases\n", MAXCASES);
        exit(2);
    }
    testcase *t = &cases[ncases++];
    *t = (testcase){ .row = (uint8_t)row, .script = (uint8_t)script, .size = size, .k = (uint8_t)k,
                     .v = (uint8_t)v, .o = (uint8_t)o, .p1 = (uint8_t)p1, .p2 = (uint8_t)p2,
                     .p3 = (uint8_t)p3 };
    return t;
}

#define NAME(t, ...) snprintf((t)->name, sizeof (t)->name, __VA_ARGS__)

static void build_cases(void)
{
    testcase *t;
    /* control: the scripts of the other rows with no bug in them */
    static const uint32_t csizes[2] = { 24, 1000 };
    for (int si = 0; si < 2; si++)
        for (int layout = 0; layout < 2; layout++)
            for (int f = 0; f < 6; f++) {
                t = add(R_CONTROL, R_OVERFLOW_NEXT, csizes[si], 0, 0, 0, layout, f, 0);
                NAME(t, "control/next/%u/%s/%s", t->size, layout ? "c-after" : "b-top", next_followups[f]);
            }
    for (int pre = 0; pre < 3; pre++)
        for (int f = 0; f < 4; f++) {
            t = add(R_CONTROL, R_OVERFLOW_FAR, 0, 0, 0, 0, pre, f, 0);
            NAME(t, "control/far/%s/%s", far_preludes[pre], far_followups[f]);
        }
    static const uint32_t usizes[3] = { 24, 100, 1000 };
    for (int si = 0; si < 3; si++)
        for (int f = 0; f < 3; f++) {
            t = add(R_CONTROL, R_UNDERFLOW, usizes[si], 0, 0, 0, 0, f, 0);
            NAME(t, "control/underflow/%u/%s", t->size, under_followups[f]);
        }
    for (int si = 0; si < 2; si++) {
        for (int w = 0; w < 3; w++) {
            t = add(R_CONTROL, R_UAF_BINNED, csizes[si], 0, 0, 0, 0, w, 0);
            NAME(t, "control/binned/%u/free(m%d)", t->size, w);
        }
        t = add(R_CONTROL, R_UAF_POPPED, csizes[si], 0, 0, 0, 0, 0, 0);
        NAME(t, "control/popped/%u", t->size);
        for (int depth = 0; depth < 2; depth++) {
            t = add(R_CONTROL, R_FORGED_LINK, csizes[si], 0, 0, 0, 0, 1, depth);
            NAME(t, "control/forged/%u/%s", t->size, depth ? "second" : "head");
        }
    }

    /* 1. overflow-next: each (size, layout, value, follow-up) at least twice */
    static const uint32_t nsizes[4] = { 24, 40, 1000, 2000 };
    for (int si = 0; si < 4; si++)
        for (int layout = 0; layout < 2; layout++)
            for (int k = 1; k <= 16; k++)
                for (int vi = 0; vi < 4; vi++) {
                    int f = (k + vi + 3 * layout) % 6;
                    t = add(R_OVERFLOW_NEXT, R_OVERFLOW_NEXT, nsizes[si], k, values[vi], 0, layout, f, 0);
                    NAME(t, "overflow-next/%u/k%d/x%02x/%s/%s", t->size, k, values[vi],
                         layout ? "c-after" : "b-top", next_followups[f]);
                }

    /* 2. overflow-far */
    static const uint32_t lens[2] = { 4096, 40960 };
    for (int bi = 0; bi < 2; bi++)
        for (int li = 0; li < 2; li++)
            for (int pre = 0; pre < 3; pre++)
                for (int f = 0; f < 4; f++) {
                    t = add(R_OVERFLOW_FAR, R_OVERFLOW_FAR, lens[li], 0, 0x41, 0, pre, f, bi);
                    NAME(t, "overflow-far/%s/%u/%s/%s", bi ? "a2000" : "a16", t->size, far_preludes[pre],
                         far_followups[f]);
                }

    /* 3. underflow-own-header: each (size, value, follow-up) with 5 or 6 k */
    static const uint32_t sizes4[5] = { 24, 40, 100, 1000, 2000 };
    for (int si = 0; si < 5; si++)
        for (int k = 1; k <= 16; k++)
            for (int vi = 0; vi < 4; vi++) {
                int f = (k + vi) % 3;
                t = add(R_UNDERFLOW, R_UNDERFLOW, sizes4[si], k, values[vi], 0, 0, f, 0);
                NAME(t, "underflow-own-header/%u/k%d/x%02x/%s", t->size, k, values[vi], under_followups[f]);
            }

    /* 4. uaf-binned */
    static const int bks[8] = { 1, 2, 3, 4, 6, 8, 12, 16 };
    for (int si = 0; si < 5; si++)
        for (int o = 0; o <= 8; o += 8)
            for (int ki = 0; ki < 8; ki++)
                for (int vi = 0; vi < 4; vi++) {
                    int w = (ki + vi + o / 8) % 3;
                    t = add(R_UAF_BINNED, R_UAF_BINNED, sizes4[si], bks[ki], values[vi], o, 0, w, 0);
                    NAME(t, "uaf-binned/%u/o%d/k%d/x%02x/free(m%d)", t->size, o, bks[ki], values[vi], w);
                }

    /* 5. uaf-popped */
    static const int pks[4] = { 1, 4, 8, 16 };
    for (int si = 0; si < 5; si++)
        for (int o = 0; o <= 8; o += 8)
            for (int ki = 0; ki < 4; ki++)
                for (int vi = 0; vi < 4; vi++) {
                    t = add(R_UAF_POPPED, R_UAF_POPPED, sizes4[si], pks[ki], values[vi], o, 0, 0, 0);
                    NAME(t, "uaf-popped/%u/o%d/k%d/x%02x", t->size, o, pks[ki], values[vi]);
                }

    /* 6. forged-link: p1 the words forged, p2 what the target holds, p3 the depth */
    for (int si = 0; si < 5; si++)
        for (int w = 1; w <= 3; w++)
            for (int fake = 0; fake < 2; fake++)
                for (int depth = 0; depth < 2; depth++) {
                    t = add(R_FORGED_LINK, R_FORGED_LINK, sizes4[si], 0, 0, 0, w, fake, depth);
                    NAME(t, "forged-link/%u/%s/%s/%s", t->size, forged_words[w],
                         fake ? "fake-header" : "zero-target", depth ? "second" : "head");
                }

    /* 7. fake-unlink: p1 the path, size the back distance, p2 the links'
     * target (0 the global array, 1 a global function pointer), p3 how
     * the header is forged */
    static const uint32_t dists[3] = { 32, 496, 992 };
    for (int path = 0; path < 4; path++) {
        for (int di = 0; di < 3; di++)
            for (int link = 0; link < 2; link++) {
                t = add(R_FAKE_UNLINK, R_FAKE_UNLINK, dists[di], 0, 0, 0, path, link, 0);
                NAME(t, "fake-unlink/%s/d%u/%s/%s", unlink_paths[path], t->size,
                     link ? "hook" : "array", unlink_modes[0]);
            }
        for (int mode = 1; mode < 3; mode++) {
            t = add(R_FAKE_UNLINK, R_FAKE_UNLINK, 496, 0, 0, 0, path, 0, mode);
            NAME(t, "fake-unlink/%s/d%u/%s/%s", unlink_paths[path], t->size, "array", unlink_modes[mode]);
        }
    }

    /* 8. double-free-variants */
    static const uint32_t dsizes[4] = { 24, 100, 1000, 3000 };
    for (int si = 0; si < 4; si++)
        for (int kind = 0; kind < 5; kind++) {
            t = add(R_DOUBLE_FREE, R_DOUBLE_FREE, dsizes[si], 0, 0, 0, kind, 0, 0);
            NAME(t, "double-free-variants/%u/%s", t->size, double_kinds[kind]);
        }
}

/* ======================================================================== */
/* The child: bookkeeping of what the case owns                             */
/* ======================================================================== */

static bool foreground;
static char target[4096] __attribute__((aligned(64))); /* the forged pointers' target */
static char target_expect[4096];
static void hook_default(void) {}
static void (*volatile hook)(void) = hook_default; /* a global function pointer to aim at */
static uintptr_t stack_lo, stack_hi;

/* A block the case (or the post-check) holds: [p, p + n), and what each of
 * its bytes must read (shadow). */
typedef struct {
    unsigned char *p;
    size_t n;
    unsigned char *shadow;
    const char *label;
    int index;
} held;

#define MAXHELD 160
static held live[MAXHELD];
static int nlive;
static unsigned char shadow_pool[4 << 20];
static size_t shadow_used;
static unsigned seed_counter = 1;

static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...)
{
    static char buf[512]; /* no malloc here: snprintf of these formats does not allocate */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
}

/* Silent corruption found: one line on stderr, exit status 3. */
#define corrupted(...) \
    do { \
        say(2, "corrupted: " __VA_ARGS__); \
        _exit(STATUS_CORRUPTED); \
    } while (0)

/* The harness itself is wrong (not the allocator). */
#define harness_bug(...) \
    do { \
        say(2, "harness bug: " __VA_ARGS__); \
        _exit(STATUS_HARNESS); \
    } while (0)

static const char *label_of(const held *h)
{
    static char buf[2][32];
    static int which;
    char *b = buf[which++ & 1];
    if (h->index >= 0)
        snprintf(b, sizeof buf[0], "%s[%d]", h->label, h->index);
    else
        snprintf(b, sizeof buf[0], "%s", h->label);
    return b;
}

static void *launder(void *p)
{
    void *volatile v = p;
    return v;
}

static bool overlaps(uintptr_t a, size_t n, uintptr_t lo, uintptr_t hi)
{
    return a < hi && a + n > lo;
}

/* Every page of [a, a + n) is mapped. */
static bool mapped(uintptr_t a, size_t n)
{
    static unsigned char vec[4096];
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = a & ~(uintptr_t)(page - 1);
    size_t len = a + n - lo;
    if ((len + page - 1) / page > sizeof vec)
        return true; /* too long to ask; the post-check's blocks are not */
    return mincore((void *)lo, len, vec) == 0;
}

/* p, just returned for n bytes by `what`: a block the program may use. */
static void check_new(const void *p, size_t n, const char *what, const char *label, int index)
{
    held h = { .label = label, .index = index };
    uintptr_t a = (uintptr_t)p;
    if (!p)
        corrupted("%s(%zu) for %s returned NULL", what, n, label_of(&h));
    if (a & 15)
        corrupted("%s(%zu) for %s returned %p, not 16-aligned", what, n, label_of(&h), p);
    if (a + n < a)
        corrupted("%s(%zu) for %s returned %p, which wraps around", what, n, label_of(&h), p);
    if (overlaps(a, n, (uintptr_t)__executable_start, (uintptr_t)_end))
        corrupted("%s(%zu) for %s returned %p, inside the program's static data%s", what, n,
                  label_of(&h), p, overlaps(a, n, (uintptr_t)target, (uintptr_t)target + sizeof target)
                                     ? " (the global target array)" : "");
    if (overlaps(a, n, stack_lo, stack_hi))
        corrupted("%s(%zu) for %s returned %p, on the stack", what, n, label_of(&h), p);
    if (!mapped(a, n))
        corrupted("%s(%zu) for %s returned %p, not mapped", what, n, label_of(&h), p);
    for (int i = 0; i < nlive; i++)
        if (overlaps(a, n, (uintptr_t)live[i].p, (uintptr_t)live[i].p + live[i].n))
            corrupted("%s(%zu) for %s returned %p, overlapping live block %s [%p, +%zu)", what, n,
                      label_of(&h), p, label_of(&live[i]), (void *)live[i].p, live[i].n);
}

/* Register [p, p + n) as live, filled with a pattern of its own. */
static void hold(void *p, size_t n, const char *label, int index)
{
    if (nlive == MAXHELD || shadow_used + n > sizeof shadow_pool)
        harness_bug("too many live blocks");
    held *h = &live[nlive++];
    *h = (held){ .p = p, .n = n, .shadow = shadow_pool + shadow_used, .label = label, .index = index };
    shadow_used += (n + 15) & ~(size_t)15;
    fill(h->shadow, n, seed_counter++ * 7919u);
    memcpy(p, h->shadow, n);
}

/* A fresh block from malloc or realloc: checked, filled, registered. */
static void *take(void *p, size_t n, const char *what, const char *label, int index)
{
    check_new(p, n, what, label, index);
    hold(p, n, label, index);
    return p;
}

/* A fresh block from calloc: checked, zero, filled, registered. */
static void *take_zeroed(void *p, size_t n, const char *label, int index)
{
    check_new(p, n, "calloc", label, index);
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) {
            held h = { .label = label, .index = index };
            corrupted("calloc(%zu) for %s returned %p, not zero at offset %zu (0x%02x)", n,
                      label_of(&h), p, i, b[i]);
        }
    hold(p, n, label, index);
    return p;
}

static int find_live(const void *p)
{
    for (int i = 0; i < nlive; i++)
        if (live[i].p == p)
            return i;
    harness_bug("%p is not a live block", p);
}

/* p is no longer the program's (order kept: the post-check frees in it). */
static held let_go(void *p)
{
    int i = find_live(p);
    held h = live[i];
    memmove(&live[i], &live[i + 1], (size_t)(nlive - i - 1) * sizeof live[0]);
    nlive--;
    return h;
}

static void drop(void *p)
{
    let_go(p);
    free(p);
}

/* The bug's own writes: n bytes at dst; a byte inside a live block becomes
 * what that block must read from now on. */
static void poke(void *dst, const void *src, size_t n)
{
    volatile unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        d[i] = s[i];
        for (int j = 0; j < nlive; j++) {
            uintptr_t a = (uintptr_t)dst + i, lo = (uintptr_t)live[j].p;
            if (a >= lo && a < lo + live[j].n)
                live[j].shadow[a - lo] = s[i];
        }
    }
}

static void poke_fill(void *dst, int v, size_t n)
{
    unsigned char buf[64];
    memset(buf, v, sizeof buf);
    for (size_t i = 0; i < n; i += sizeof buf)
        poke((char *)dst + i, buf, n - i < sizeof buf ? n - i : sizeof buf);
}

static void set_target(size_t off, const void *src, size_t n)
{
    memcpy(target + off, src, n);
    memcpy(target_expect + off, src, n);
}

static void verify_live(const char *when)
{
    for (int i = 0; i < nlive; i++) {
        const held *h = &live[i];
        if (memcmp(h->p, h->shadow, h->n) == 0)
            continue;
        size_t at = 0;
        while (h->p[at] == h->shadow[at])
            at++;
        corrupted("%s: live block %s [%p, +%zu) changed at offset %zu: 0x%02x, expected 0x%02x", when,
                  label_of(h), (void *)h->p, h->n, at, h->p[at], h->shadow[at]);
    }
}

static void check_globals(const char *when)
{
    if (hook != hook_default)
        corrupted("%s: the global function pointer was overwritten with %p", when, (void *)hook);
    if (memcmp(target, target_expect, sizeof target) != 0) {
        size_t at = 0;
        while (target[at] == target_expect[at])
            at++;
        corrupted("%s: the global target array was written at offset %zu", when, at);
    }
}

/* realloc of live block p to n bytes: its contents must come along. */
static void *grow(void *p, size_t n)
{
    held old = let_go(p);
    void *q = realloc(p, n);
    check_new(q, n, "realloc", old.label, old.index);
    size_t keep = old.n < n ? old.n : n;
    if (memcmp(q, old.shadow, keep) != 0) {
        size_t at = 0;
        while (((unsigned char *)q)[at] == old.shadow[at])
            at++;
        corrupted("realloc(%s, %zu) lost its contents at offset %zu", label_of(&old), n, at);
    }
    hold(q, n, old.label, old.index);
    return q;
}

/* The stack's mapping, from /proc/self/maps (read without malloc). */
static void find_stack(void)
{
    static char buf[65536];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = 0;
    char *s = strstr(buf, "[stack]");
    if (!s)
        return;
    while (s > buf && s[-1] != '\n')
        s--;
    char *end;
    stack_lo = (uintptr_t)strtoull(s, &end, 16);
    if (*end == '-')
        stack_hi = (uintptr_t)strtoull(end + 1, NULL, 16);
    else
        stack_lo = 0;
}

/* ======================================================================== */
/* The child: post-checks and the scripts                                   */
/* ======================================================================== */

static _Noreturn void post_checks(size_t s1, size_t s2)
{
    check_globals("after the case");
    verify_live("after the case");
    void *post[64], *zeroed[5], *round2[32];
    for (int i = 0; i < 64; i++) {
        size_t n = i < 8 ? s1 : i < 12 ? s2 : 16 + (size_t)(i * 1237) % 1985;
        post[i] = take(malloc(n), n, "malloc", "post", i);
    }
    static const size_t csizes[5] = { 0, 1000, 4000, 50000, 300000 };
    for (int i = 0; i < 5; i++) {
        size_t n = i ? csizes[i] : s1;
        zeroed[i] = take_zeroed(calloc(n, 1), n, "post-calloc", i);
    }
    verify_live("after the post-check's allocations");
    check_globals("after the post-check's allocations");
    for (int i = 1; i < 64; i += 2)
        drop(post[i]);
    for (int i = 0; i < 64; i += 2)
        drop(post[i]);
    for (int i = 0; i < 5; i++)
        drop(zeroed[i]);
    verify_live("after the post-check's frees");
    while (nlive) /* the case's own blocks, oldest first */
        drop(live[0].p);
    for (int i = 0; i < 32; i++) {
        size_t n = i % 2 ? s1 : 24 + (size_t)(i * 389) % 1500;
        round2[i] = take(malloc(n), n, "malloc", "round2", i);
    }
    verify_live("in the second round");
    check_globals("in the second round");
    for (int i = 0; i < 32; i++)
        drop(round2[i]);
    if (foreground)
        say(1, "harmless: the post-checks found nothing");
    _exit(0);
}

/* Bimp's stride for n bytes (header plus payload, rounded to 16, 32 at least). */
static size_t bimp_stride(size_t n)
{
    size_t s = (n + 8 + 15) & ~(size_t)15;
    return s < 32 ? 32 : s;
}

static void run_overflow_next(const testcase *t)
{
    size_t s = t->size;
    char *a = take(malloc(s), s, "malloc", "a", -1);
    char *b = take(malloc(s), s, "malloc", "b", -1);
    if (t->p1)
        take(malloc(s), s, "malloc", "c", -1);
    poke_fill(a + s, t->v, t->k);
    switch (t->p2) {
    case 0: drop(b); break;
    case 1: drop(a); break;
    case 2: drop(a); drop(b); break;
    case 3: drop(b); drop(a); break;
    case 4:
        drop(b);
        take(malloc(s), s, "malloc", "d", -1);
        take(malloc(s), s, "malloc", "e", -1);
        break;
    case 5: grow(b, 2 * s); break;
    }
    post_checks(s, 2 * s);
}

static void on_fault(int sig)
{
    (void)sig;
    if (foreground)
        say(1, "harmless: the overflow itself faulted");
    _exit(0);
}

/* n bytes of v at dst, which may run off the mapped memory: a fault ends
 * the case as harmless. */
static void guarded_fill(char *dst, int v, size_t n)
{
    struct sigaction sa, old_segv, old_bus;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    for (size_t i = 0; i < n; i++)
        ((volatile char *)dst)[i] = (char)v;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
}

static void run_overflow_far(const testcase *t)
{
    static const size_t prelude[3] = { 100000, 20000, 0 };
    size_t x = prelude[t->p1];
    if (x) {
        void *big = malloc(x);
        check_new(big, x, "malloc", "x", -1);
        free(big);
    }
    size_t an = t->p3 ? 2000 : 16;
    char *a = take(malloc(an), an, "malloc", "a", -1);
    if (t->size)
        guarded_fill(a + an, t->v, t->size);
    switch (t->p2) {
    case 0: take_zeroed(calloc(1000, 1), 1000, "c", -1); break;
    case 1: take_zeroed(calloc(50000, 1), 50000, "c", -1); break;
    case 2:
        for (int i = 0; i < 8; i++)
            take(malloc(100), 100, "malloc", "m", i);
        break;
    case 3: drop(a); break;
    }
    post_checks(16, 1000);
}

static void run_underflow(const testcase *t)
{
    size_t s = t->size;
    take(malloc(s), s, "malloc", "p", -1);
    char *a = take(malloc(s), s, "malloc", "a", -1);
    take(malloc(s), s, "malloc", "q", -1);
    poke_fill(a - t->k, t->v, t->k);
    switch (t->p2) {
    case 0: drop(a); break;
    case 1: grow(a, 2 * s); break;
    case 2: {
        size_t u = malloc_usable_size(a);
        if (u < s || u > s + 4096)
            corrupted("malloc_usable_size(a) = %zu for a block of %zu bytes", u, s);
        verify_live("before using the usable size");
        let_go(a);
        check_new(a, u, "malloc_usable_size", "a", -1); /* the claimed extent overlaps nothing */
        memset(a, 0x5a, u);
        hold(a, u, "a", -1);
        break;
    }
    }
    post_checks(s, 2 * s);
}

static void run_uaf_binned(const testcase *t)
{
    size_t s = t->size;
    char *m[3];
    take(malloc(s), s, "malloc", "a", -1);
    char *b = take(malloc(s), s, "malloc", "b", -1);
    take(malloc(s), s, "malloc", "c", -1);
    drop(b); /* below the top: on a free list */
    poke_fill(b + t->o, t->v, t->k);
    for (int i = 0; i < 3; i++)
        m[i] = take(malloc(s), s, "malloc", "m", i);
    drop(m[t->p2]);
    post_checks(s, 2 * s);
}

static void run_uaf_popped(const testcase *t)
{
    size_t s = t->size;
    take(malloc(s), s, "malloc", "a", -1);
    char *b = take(malloc(s), s, "malloc", "b", -1);
    drop(b); /* the newest block: a stack allocator pops it */
    poke_fill(b + t->o, t->v, t->k);
    for (int i = 0; i < 2; i++)
        take(malloc(s), s, "malloc", "m", i);
    post_checks(s, 2 * s);
}

static void run_forged_link(const testcase *t)
{
    size_t s = t->size;
    take(malloc(s), s, "malloc", "a", -1);
    char *b = take(malloc(s), s, "malloc", "b", -1);
    take(malloc(s), s, "malloc", "c", -1);
    char *d = NULL;
    if (t->p3) {
        d = take(malloc(s), s, "malloc", "d", -1);
        take(malloc(s), s, "malloc", "e", -1);
    }
    if (t->p2) { /* a plausible free block's header in front of the target */
        uint32_t hdr[2] = { 0, (uint32_t)bimp_stride(s) | 2 };
        set_target(56, hdr, sizeof hdr);
    }
    drop(b);
    if (d)
        drop(d); /* b is second on its list now */
    void *forged = target + 64;
    if (t->p1 & 1)
        poke(b, &forged, sizeof forged);
    if (t->p1 & 2)
        poke(b + 8, &forged, sizeof forged);
    for (int i = 0; i < 4; i++) {
        char *p = malloc(s);
        if (p && p + s > target && p < target + sizeof target)
            corrupted("malloc(%zu) #%d returned %p, inside the global target array", s, i, (void *)p);
        take(p, s, "malloc", "m", i);
    }
    post_checks(s, 2 * s);
}

/* The unsafe unlink, in Bimp's layout: a fake free block inside a, and b's
 * header forged to say "the block before me is free, `dist` bytes back". */
static void run_fake_unlink(const testcase *t)
{
    int path = t->p1;
    size_t s = path == 0 || path == 2 ? 1000 : 2000, dist = t->size;
    char *a = take(malloc(s), s, "malloc", "a", -1);
    char *b = take(malloc(s), s, "malloc", "b", -1);
    char *c = take(malloc(16), 16, "malloc", "c", -1);
    char *fake = b - 8 - dist;
    if (fake >= a && fake + 24 <= a + s) {
        uint32_t hdr[2] = { 0, t->p3 == 2 ? (uint32_t)0x10000 | 2 : (uint32_t)dist | 2 };
        void *links[2]; /* next, prev: unbin writes next at prev+8, prev at next+16 */
        if (t->p2 == 0) {
            links[0] = target + 128 - 16;
            links[1] = target + 64 - 8;
        } else {
            links[0] = target + 256 - 16;
            links[1] = (char *)&hook - 8;
        }
        poke(fake, hdr, sizeof hdr);
        poke(fake + 8, links, sizeof links);
    }
    uint32_t bh[2] = { (uint32_t)dist | 0x80000000u, (uint32_t)bimp_stride(s) | 1 };
    poke(b - 8, bh, t->p3 == 1 ? 8 : 4);
    switch (path) {
    case 0: drop(b); check_globals("after free(b)"); drop(c); break;
    case 1: drop(b); break;
    case 2: drop(b); check_globals("after free(b)"); malloc_trim(0); break;
    case 3: drop(a); check_globals("after free(a)"); drop(b); break;
    }
    check_globals("after the case");
    post_checks(s, 16);
}

static void run_double_free(const testcase *t)
{
    size_t s = t->size;
    char *a = take(malloc(s), s, "malloc", "a", -1);
    char *x = take(malloc(s), s, "malloc", "x", -1);
    char *y = take(malloc(s), s, "malloc", "y", -1);
    switch (t->p1) {
    case 0: drop(a); free(launder(a)); break;
    case 1: drop(a); drop(x); free(launder(a)); break;
    case 2: drop(y); free(launder(y)); break;
    case 3: free(launder(a + 16)); break;
    case 4: free(launder(target + 64)); break;
    }
    post_checks(s, 2 * s);
}

static _Noreturn void run_case(int n)
{
    const testcase *t = &cases[n];
    find_stack();
    memcpy(target_expect, target, sizeof target);
    switch (t->script) {
    case R_OVERFLOW_NEXT: run_overflow_next(t); break;
    case R_OVERFLOW_FAR: run_overflow_far(t); break;
    case R_UNDERFLOW: run_underflow(t); break;
    case R_UAF_BINNED: run_uaf_binned(t); break;
    case R_UAF_POPPED: run_uaf_popped(t); break;
    case R_FORGED_LINK: run_forged_link(t); break;
    case R_FAKE_UNLINK: run_fake_unlink(t); break;
    case R_DOUBLE_FREE: run_double_free(t); break;
    }
    harness_bug("case %d has no script", n);
}

/* ======================================================================== */
/* The parent: running the children                                        */
/* ======================================================================== */

enum outcome { O_CAUGHT, O_HARMLESS, O_CRASHED, O_CORRUPTED, NOUTCOMES };
static const char *const outcome_names[NOUTCOMES] = { "caught", "harmless", "crashed", "corrupted" };
enum { GLIBC, BIMP };
static const char *const alloc_names[2] = { "glibc", "bimp" };

typedef struct {
    uint8_t outcome;
    char what[200]; /* the signal, or the first line of stderr */
} result;

static result results[2][MAXCASES];
static int harness_errors;
static char harness_first[300];

static char *envs[2][1024];

static bool dropped_var(const char *e)
{
    static const char *const prefixes[] = { "LD_PRELOAD=", "MALLOC_", "GLIBC_TUNABLES=", "BIMP_",
                                            "LIBC_FATAL_STDERR_=" };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(e, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* BIMP_TEST_CHECK=1: Bimp's cases run in its check mode (BIMP_CHECK=1). */
static bool check_mode(void)
{
    return getenv("BIMP_TEST_CHECK") && strcmp(getenv("BIMP_TEST_CHECK"), "1") == 0;
}

/* Two environments: the caller's without anything that changes either
 * malloc; Bimp's gets LD_PRELOAD (and BIMP_CHECK=1 in the check mode).
 * glibc's fatal messages go to stderr. */
static void build_envs(const char *lib)
{
    static char preload[PATH_MAX + 16];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib);
    for (int w = 0; w < 2; w++) {
        int n = 0;
        for (char **e = environ; *e && n < 1000; e++)
            if (!dropped_var(*e))
                envs[w][n++] = *e;
        envs[w][n++] = "LIBC_FATAL_STDERR_=1";
        if (w == BIMP)
            envs[w][n++] = preload;
        if (w == BIMP && check_mode())
            envs[w][n++] = "BIMP_CHECK=1";
        envs[w][n] = NULL;
    }
}

typedef struct {
    pid_t pid;
    int fd; /* the child's stderr, -1 at its end */
    int ci, which;
    double start;
    bool slow;
    char buf[256];
    size_t len, total;
} job;

static bool spawn(job *j, int ci, int which)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return false;
    char num[16];
    snprintf(num, sizeof num, "%d", ci);
    char *argv[] = { "corrupt", "--run", num, (char *)alloc_names[which], NULL };
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        dup2(fds[1], 2);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        /* no core files; a runaway allocation fails; a spinning child dies by SIGXCPU */
        struct rlimit core = { 0, 0 }, as = { 1ul << 30, 1ul << 30 }, cpu = { 3, 4 };
        setrlimit(RLIMIT_CORE, &core);
        setrlimit(RLIMIT_AS, &as);
        setrlimit(RLIMIT_CPU, &cpu);
        int pers = personality(0xffffffff);
        if (pers != -1)
            personality((unsigned long)pers | ADDR_NO_RANDOMIZE); /* the same layout every run */
        execve("/proc/self/exe", argv, envs[which]);
        _exit(127);
    }
    close(fds[1]);
    *j = (job){ .pid = pid, .fd = fds[0], .ci = ci, .which = which, .start = monotonic_seconds() };
    return true;
}

static void read_some(job *j)
{
    char tmp[4096];
    ssize_t r = read(j->fd, tmp, sizeof tmp);
    if (r <= 0) {
        if (r < 0 && errno == EINTR)
            return;
        close(j->fd);
        j->fd = -1;
        return;
    }
    size_t room = sizeof j->buf - 1 - j->len, n = (size_t)r < room ? (size_t)r : room;
    memcpy(j->buf + j->len, tmp, n);
    j->len += n;
    j->total += (size_t)r;
}

static void harness_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void harness_error(const char *fmt, ...)
{
    char line[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!harness_errors++)
        snprintf(harness_first, sizeof harness_first, "%s", line);
    if (harness_errors <= 10)
        printf("# harness: %s\n", line);
}

/* The child of j has ended (status st), or hung and was killed. */
static void classify(job *j, int st, bool hung)
{
    while (j->fd >= 0)
        read_some(j);
    j->buf[j->len] = 0;
    char *nl = strchr(j->buf, '\n');
    if (nl)
        *nl = 0;
    result *r = &results[j->which][j->ci];
    const char *name = cases[j->ci].name;
    if (hung) {
        r->outcome = O_CRASHED;
        snprintf(r->what, sizeof r->what, "hung, killed after %.0f s", TIMEOUT_S);
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGXCPU) {
        r->outcome = O_CRASHED;
        snprintf(r->what, sizeof r->what, "hung, spinning: killed by its CPU limit");
    } else if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        const char *abbrev = sigabbrev_np(sig);
        if (sig == SIGABRT && j->total > 0) {
            r->outcome = O_CAUGHT;
            snprintf(r->what, sizeof r->what, "%s", j->buf);
        } else {
            r->outcome = O_CRASHED;
            snprintf(r->what, sizeof r->what, "signal %d, SIG%s%s", sig, abbrev ? abbrev : "?",
                     sig == SIGABRT ? ", no message" : "");
        }
    } else if (WEXITSTATUS(st) == 0) {
        r->outcome = O_HARMLESS;
        snprintf(r->what, sizeof r->what, "%s", j->buf);
    } else if (WEXITSTATUS(st) == STATUS_CORRUPTED) {
        r->outcome = O_CORRUPTED;
        const char *why = j->buf;
        if (strncmp(why, "corrupted: ", 11) == 0)
            why += 11;
        snprintf(r->what, sizeof r->what, "%s", why);
    } else if (WEXITSTATUS(st) == STATUS_WRONG_ALLOCATOR) {
        r->outcome = O_CRASHED;
        snprintf(r->what, sizeof r->what, "harness error");
        harness_error("%s under %s: the child did not run on %s", name, alloc_names[j->which],
                      j->which == BIMP ? "the library given" : "glibc's malloc");
    } else if (WEXITSTATUS(st) == STATUS_HARNESS || WEXITSTATUS(st) == 127) {
        r->outcome = O_CRASHED;
        snprintf(r->what, sizeof r->what, "harness error");
        harness_error("%s under %s: exit status %d (%s)", name, alloc_names[j->which], WEXITSTATUS(st),
                      WEXITSTATUS(st) == 127 ? "exec failed" : j->buf);
    } else {
        r->outcome = O_CRASHED;
        snprintf(r->what, sizeof r->what, "exit status %d: %s", WEXITSTATUS(st), j->buf);
    }
}

/* Every case under both allocators, jobs_max children at a time (not
 * counting the slow ones: a few hung children must not hold up the rest). */
static void run_matrix(int jobs_max)
{
    job jobs[MAXJOBS];
    int running = 0, next = 0, total = 2 * ncases;
    while (next < total || running) {
        int slow = 0;
        for (int i = 0; i < running; i++)
            slow += jobs[i].slow;
        while (running - slow < jobs_max && running < MAXJOBS && next < total) {
            if (!spawn(&jobs[running], next / 2, next % 2)) {
                perror("corrupt: fork");
                exit(2);
            }
            running++;
            next++;
        }
        struct pollfd pfd[MAXJOBS];
        bool waiting = false; /* a child has closed its stderr: its exit is near */
        for (int i = 0; i < running; i++) {
            pfd[i] = (struct pollfd){ .fd = jobs[i].fd, .events = POLLIN };
            waiting |= jobs[i].fd < 0;
        }
        if (poll(pfd, (nfds_t)running, waiting ? 1 : 50) < 0 && errno != EINTR) {
            perror("corrupt: poll");
            exit(2);
        }
        for (int i = 0; i < running; i++)
            if (jobs[i].fd >= 0 && pfd[i].revents)
                read_some(&jobs[i]);
        double t = monotonic_seconds();
        for (int i = running - 1; i >= 0; i--) {
            job *j = &jobs[i];
            int st;
            pid_t r = waitpid(j->pid, &st, WNOHANG);
            if (r == j->pid) {
                classify(j, st, false);
            } else if (t - j->start > TIMEOUT_S) {
                kill(j->pid, SIGKILL);
                waitpid(j->pid, &st, 0);
                classify(j, st, true);
            } else {
                if (!j->slow && t - j->start > SLOW_S) {
                    j->slow = true;
                    setpriority(PRIO_PROCESS, (id_t)j->pid, 19);
                }
                continue;
            }
            jobs[i] = jobs[--running];
        }
    }
}

/* ======================================================================== */
/* main                                                                     */
/* ======================================================================== */

static int case_by_arg(const char *arg)
{
    char *end;
    long n = strtol(arg, &end, 10);
    if (*arg && !*end)
        return n >= 0 && n < ncases ? (int)n : -1;
    for (int i = 0; i < ncases; i++)
        if (strcmp(cases[i].name, arg) == 0)
            return i;
    return -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: corrupt <variant> <path/to/libbimp.so> [-v]\n"
                    "       corrupt --list\n"
                    "       corrupt --case N|NAME   (one case here, under the LD_PRELOAD of the environment)\n");
    return 2;
}

int main(int argc, char **argv)
{
    build_cases();
    if (argc == 4 && strcmp(argv[1], "--run") == 0) { /* a child of the matrix */
        int n = case_by_arg(argv[2]);
        if (n < 0)
            harness_bug("no case %s", argv[2]);
        if (bimp_is_loaded() != (strcmp(argv[3], "bimp") == 0))
            _exit(STATUS_WRONG_ALLOCATOR);
        run_case(n);
    }
    if (argc == 3 && strcmp(argv[1], "--case") == 0) {
        int n = case_by_arg(argv[2]);
        if (n < 0) {
            fprintf(stderr, "corrupt: no case %s (see --list)\n", argv[2]);
            return 2;
        }
        int pers = personality(0xffffffff); /* the layout of the matrix's children */
        if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE) &&
            personality((unsigned long)pers | ADDR_NO_RANDOMIZE) != -1)
            execv("/proc/self/exe", argv);
        foreground = true;
        say(1, "case %d %s, under %s", n, cases[n].name, bimp_is_loaded() ? "bimp" : "glibc (or another malloc)");
        run_case(n);
    }
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < ncases; i++) {
            for (int j = 0; j < i; j++)
                if (strcmp(cases[i].name, cases[j].name) == 0)
                    fprintf(stderr, "corrupt: duplicate case name %s\n", cases[i].name);
            printf("%d %s\n", i, cases[i].name);
        }
        return 0;
    }
    if (argc < 3 || argc > 4 || argv[1][0] == '-' || (argc == 4 && strcmp(argv[3], "-v") != 0))
        return usage();
    const char *variant = argv[1];
    bool verbose = argc == 4;
    char lib[PATH_MAX];
    if (!realpath(argv[2], lib)) {
        printf("FAIL %s/corrupt/harness: no library at %s\n", variant, argv[2]);
        return 2;
    }
    build_envs(lib);
    signal(SIGPIPE, SIG_IGN);

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs_max = cpus < 1 ? 2 : cpus > 4 ? 8 : (int)(2 * cpus);
    double t0 = monotonic_seconds();
    run_matrix(jobs_max);
    double elapsed = monotonic_seconds() - t0;

    /* The control cases check the harness: glibc must pass every one. */
    for (int i = 0; i < ncases; i++)
        if (cases[i].row == R_CONTROL && results[GLIBC][i].outcome != O_HARMLESS)
            harness_error("control case %s under glibc: %s (%s)", cases[i].name,
                          outcome_names[results[GLIBC][i].outcome], results[GLIBC][i].what);

    int count[2][NROWS + 1][NOUTCOMES] = { { { 0 } } }, rows[NROWS + 1] = { 0 };
    for (int i = 0; i < ncases; i++) {
        rows[cases[i].row]++;
        rows[NROWS]++;
        for (int w = 0; w < 2; w++) {
            count[w][cases[i].row][results[w][i].outcome]++;
            count[w][NROWS][results[w][i].outcome]++;
        }
    }
    printf("# %s/corrupt: %d cases, each under glibc and under %s, in %.1f s (%d at a time)\n", variant,
           ncases, lib, elapsed, jobs_max);
    printf("#\n# | class | cases | glibc caught | glibc harmless | glibc crashed | glibc corrupted "
           "| bimp caught | bimp harmless | bimp crashed | bimp corrupted |\n");
    printf("# |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int r = 0; r <= NROWS; r++) {
        printf("# | %s | %d |", r < NROWS ? row_names[r] : "**total**", rows[r]);
        for (int w = 0; w < 2; w++)
            for (int o = 0; o < NOUTCOMES; o++)
                printf(" %d |", count[w][r][o]);
        printf("\n");
    }
    printf("#\n");

    if (verbose)
        for (int i = 0; i < ncases; i++)
            printf("# %d %s: glibc %s%s%s%s, bimp %s%s%s%s\n", i, cases[i].name,
                   outcome_names[results[GLIBC][i].outcome], *results[GLIBC][i].what ? " (" : "",
                   results[GLIBC][i].what, *results[GLIBC][i].what ? ")" : "",
                   outcome_names[results[BIMP][i].outcome], *results[BIMP][i].what ? " (" : "",
                   results[BIMP][i].what, *results[BIMP][i].what ? ")" : "");

    /* Bimp's crashes and silent corruptions, a few per class. */
    for (int r = 0; r < NROWS; r++) {
        int shown = 0, bad = 0;
        for (int i = 0; i < ncases; i++) {
            const result *res = &results[BIMP][i];
            if (cases[i].row != r || (res->outcome != O_CRASHED && res->outcome != O_CORRUPTED))
                continue;
            if (shown++ < 6)
                printf("# bimp %s: %s (%s)\n", cases[i].name, outcome_names[res->outcome], res->what);
            bad++;
        }
        if (bad > 6)
            printf("# bimp %s: %d more crashed or corrupted\n", row_names[r], bad - 6);
    }
    printf("#\n");

    /* The assertions (none if the harness broke): in every class no crash
     * and no silent corruption (no overlapping memory handed out, nothing
     * the case holds changed but by its own bug), and caught at least as
     * often as glibc.  In a build with the small tier (BIMP_TEST_TIER=1) a
     * block up to 1 KiB has no metadata next to it for a bug to damage or
     * for Bimp to check: an overflow or a write after free there reaches
     * other blocks' data only, so how often Bimp catches such bugs is
     * reported (the table) but not asserted, but for double and invalid
     * frees, which the bitmaps catch exactly: every one is caught.  The check
 * mode (BIMP_TEST_CHECK=1) puts every block in a headered block with a
 * canary, the tier or not. */
    bool tier = getenv("BIMP_TEST_TIER") && strcmp(getenv("BIMP_TEST_TIER"), "1") == 0 && !check_mode();
    for (int r = 0; r < NROWS && !harness_errors; r++) {
        char name[128];
        const char *first_crash = NULL, *first_corrupt = NULL, *first_missed = NULL;
        int missed = 0;
        for (int i = 0; i < ncases; i++) {
            if (cases[i].row != r)
                continue;
            int o = results[BIMP][i].outcome;
            if (o == O_CRASHED && !first_crash)
                first_crash = cases[i].name;
            if (o == O_CORRUPTED && !first_corrupt)
                first_corrupt = cases[i].name;
            if (tier ? o != O_CAUGHT : results[GLIBC][i].outcome == O_CAUGHT && o != O_CAUGHT) {
                missed++;
                if (!first_missed)
                    first_missed = cases[i].name;
            }
        }
        int crashed = count[BIMP][r][O_CRASHED], corrupt = count[BIMP][r][O_CORRUPTED];
        snprintf(name, sizeof name, "corrupt/%s: no crash", row_names[r]);
        if (crashed) {
            group_failures = crashed;
            snprintf(group_first, sizeof group_first, "%d crashed (first: %s)", crashed, first_crash);
        }
        group_end(variant, name);
        snprintf(name, sizeof name, "corrupt/%s: no silent corruption", row_names[r]);
        if (corrupt) {
            group_failures = corrupt;
            snprintf(group_first, sizeof group_first, "%d corrupted (first: %s)", corrupt, first_corrupt);
        }
        group_end(variant, name);
        if (tier && r != R_DOUBLE_FREE)
            continue;
        int gc = count[GLIBC][r][O_CAUGHT], bc = count[BIMP][r][O_CAUGHT];
        snprintf(name, sizeof name, "corrupt/%s: %s", row_names[r],
                 tier ? "every one caught" : "caught at least as often as glibc");
        if (tier ? missed > 0 : bc < gc) {
            group_failures = tier ? missed : gc - bc;
            snprintf(group_first, sizeof group_first, "bimp caught %d, glibc %d; %d not caught by bimp%s (first: %s)",
                     bc, gc, missed, tier ? "" : " but by glibc", first_missed ? first_missed : "-");
        }
        group_end(variant, name);
    }
    if (harness_errors) {
        printf("FAIL %s/corrupt/harness: %d errors (first: %s)\n", variant, harness_errors, harness_first);
        return 2;
    }
    return 0;
}
