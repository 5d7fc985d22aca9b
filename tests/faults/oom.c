/* oom.c - run with LD_PRELOAD=libbimp.so: once the process's address space
 * (RLIMIT_AS) or data size (RLIMIT_DATA) is limited to a little more than it
 * uses, allocations of every kind and size fail with NULL and errno ENOMEM
 * (posix_memalign: ENOMEM returned) instead of crashing; blocks allocated
 * before and during the shortage stay intact; and allocation works again
 * once blocks are freed.
 * Usage: oom as|data */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define HEADROOM ((size_t)48 << 20)
enum { MAXSMALL = 1 << 22, MAXHUGE = 64 };

static void *small[MAXSMALL]; /* in .bss: counted before the limit is set */
static size_t small_len[MAXSMALL];
static void *huge[MAXHUGE];
static const char *mode;
static int failures;
static char report[8192];
static size_t report_len;

/* Output without allocating: collected here, written at the end. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(report + report_len, sizeof report - report_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        report_len += (size_t)n < sizeof report - report_len ? (size_t)n : sizeof report - report_len - 1;
}

static char group_failure[300];
static int group_failures;
#define CHECK(cond, ...) \
    do { \
        if (!(cond) && !group_failures++) \
            snprintf(group_failure, sizeof group_failure, __VA_ARGS__); \
    } while (0)

static void group(const char *name)
{
    if (group_failures)
        say("FAIL faults/oom-%s/%s: %s\n", mode, name, group_failure);
    else
        say("PASS faults/oom-%s/%s\n", mode, name);
    failures += group_failures;
    group_failures = 0;
}

/* A block's stamp: its id in the first 8 bytes, and two more bytes in
 * the middle and at the end; a block under 16 bytes is stamped whole. */
static void stamp(void *p, size_t n, size_t id)
{
    unsigned char *b = p;
    if (n < 16) {
        for (size_t i = 0; i < n; i++)
            b[i] = (unsigned char)((id + i) * 7);
        return;
    }
    memcpy(b, &id, sizeof id);
    b[n / 2] = (unsigned char)(id * 13);
    b[n - 1] = (unsigned char)(id * 7);
}

static int stamped(const void *p, size_t n, size_t id)
{
    const unsigned char *b = p;
    if (n < 16) {
        for (size_t i = 0; i < n; i++)
            if (b[i] != (unsigned char)((id + i) * 7))
                return 0;
        return 1;
    }
    size_t got;
    memcpy(&got, b, sizeof got);
    return got == id && b[n / 2] == (unsigned char)(id * 13) && b[n - 1] == (unsigned char)(id * 7);
}

/* A field of /proc/self/status in bytes, read without allocating. */
static size_t status_bytes(const char *field)
{
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *at = strstr(buf, field);
    return at ? strtoull(at + strlen(field) + 1, NULL, 10) * 1024 : 0;
}

/* Expect a failed allocation: NULL and ENOMEM. */
static void expect_enomem(void *p, const char *call, size_t n)
{
    CHECK(p == NULL && errno == ENOMEM, "%s(%zu) returned %p with errno %d, wanted NULL and ENOMEM", call, n, p, errno);
    free(p);
}

/* Under the limit a call may fail or succeed, but cleanly: NULL with ENOMEM,
 * or a block that can be written and freed. */
static void expect_clean(void *p, const char *call, size_t n)
{
    CHECK(p != NULL || errno == ENOMEM, "%s(%zu) failed with errno %d, not ENOMEM", call, n, errno);
    if (p) {
        memset(p, 0x3c, n);
        free(p);
    }
}

/* `oom align4g`: a 4 GiB-aligned block under an address-space limit of 4
 * GiB and 64 MiB above what the process uses: n + align is mapped, not
 * n + 2 align. */
static int align4g(void)
{
    size_t align = (size_t)1 << 32, used = status_bytes("VmSize:");
    struct rlimit lim = { used + align + ((size_t)64 << 20), used + align + ((size_t)64 << 20) };
    if (!used || setrlimit(RLIMIT_AS, &lim) != 0) {
        printf("FAIL faults/oom-align4g: cannot limit the process (%s)\n", strerror(errno));
        return 1;
    }
    char *p = aligned_alloc(align, 1 << 20);
    if (!p || (uintptr_t)p % align) {
        printf("FAIL faults/oom-align4g: aligned_alloc(4 GiB, 1 MiB) gave %p\n", (void *)p);
        return 0;
    }
    memset(p, 1, 1 << 20);
    free(p);
    char *q = aligned_alloc(align, 1 << 20); /* and again: the first left nothing behind */
    printf("%s faults/oom-align4g: aligned_alloc(4 GiB, 1 MiB) twice under VmSize + 4 GiB + 64 MiB\n",
           q && (uintptr_t)q % align == 0 ? "PASS" : "FAIL");
    free(q);
    return 0;
}

/* `oom reuse-as|reuse-data`: memory Bimp holds and does not use is
 * available to any request, under a limit of 256 MiB above what the
 * process uses.  Small blocks fill the limit and are freed: then 1 MiB
 * blocks fill most of it again (freed chunks' address space given back:
 * the break shrinks, mapped chunks are unmapped), and so does one block of
 * half the room.  The other way round, 1 MiB blocks fill it and are freed
 * (their mappings cached for reuse): then small blocks fill most of it.
 * malloc_trim(0) brings the address space back near where it started.
 * `oom reuse-as-kept|reuse-data-kept`: the same while a 200 KiB block (a
 * run of a region) stays live throughout, so that its region keeps its
 * place while the rest of it is given back, and new mappings land in its
 * holes (a 1 MiB block there was once taken for the old region's). */
#define REUSE_ROOM ((size_t)256 << 20)
enum { SMALL_N = 100, BIG_N = 1 << 20, BIG_MAX = 512 };
static void *bigs[BIG_MAX];

/* Fill the room with blocks of n bytes, each touched, into out (at most
 * max); how many fitted. */
static size_t fill_with(void **out, size_t max, size_t n)
{
    size_t k = 0;
    for (; k < max; k++) {
        out[k] = malloc(n);
        if (!out[k])
            break;
        memset(out[k], 0x5c, n < 64 ? n : 64);
    }
    return k;
}

static void free_all(void **blocks, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(blocks[i]);
}

static int reuse(int resource)
{
    const char *field = resource == RLIMIT_AS ? "VmSize:" : "VmData:";
    size_t used = status_bytes(field);
    struct rlimit lim = { used + REUSE_ROOM, used + REUSE_ROOM };
    if (!used || setrlimit(resource, &lim) != 0) {
        printf("FAIL faults/oom-%s: cannot limit the process (%s)\n", mode, strerror(errno));
        return 1;
    }
    size_t want = REUSE_ROOM / BIG_N * 3 / 4; /* of the 256 MiB blocks the room holds */
    void *volatile kept = strstr(mode, "-kept") ? malloc(200 << 10) : NULL;

    size_t smalls = fill_with(small, MAXSMALL, SMALL_N);
    free_all(small, smalls); /* in allocation order */
    size_t after_small = fill_with(bigs, BIG_MAX, BIG_N);
    CHECK(smalls > REUSE_ROOM / 2 / (SMALL_N + 16), "only %zu blocks of %d bytes fitted", smalls, SMALL_N);
    CHECK(after_small >= want, "%zu small blocks freed, then only %zu blocks of 1 MiB fitted (want %zu)",
          smalls, after_small, want);
    free_all(bigs, after_small);
    void *half = malloc(REUSE_ROOM / 2);
    CHECK(half != NULL, "malloc(%zu MiB) failed after everything was freed", REUSE_ROOM / 2 >> 20);
    free(half);
    group("small-then-large");

    size_t bigs_n = fill_with(bigs, BIG_MAX, BIG_N);
    free_all(bigs, bigs_n);
    size_t after_big = fill_with(small, MAXSMALL, SMALL_N);
    CHECK(bigs_n >= want, "only %zu blocks of 1 MiB fitted", bigs_n);
    CHECK(after_big >= smalls * 3 / 4, "%zu blocks of 1 MiB freed, then only %zu blocks of %d bytes fitted (%zu before)",
          bigs_n, after_big, SMALL_N, smalls);
    free_all(small, after_big);
    group("large-then-small");

    size_t before_trim = status_bytes(field);
    malloc_trim(0);
    size_t after_trim = status_bytes(field);
    CHECK(after_trim <= used + ((size_t)16 << 20), "%s %zu MiB after malloc_trim(0), %zu MiB at the start",
          field, after_trim >> 20, used >> 20);
    group("trim");
    say("# oom-%s: %zu blocks of %d bytes, then %zu of 1 MiB; %zu of 1 MiB, then %zu small; %s %zu -> %zu -> %zu MiB\n",
        mode, smalls, SMALL_N, after_small, bigs_n, after_big, field, used >> 20, before_trim >> 20,
        after_trim >> 20);
    fputs(report, stdout);
    free(kept);
    return failures != 0;
}

int main(int argc, char **argv)
{
    mode = argc > 1 ? argv[1] : "as";
    if (strcmp(mode, "align4g") == 0)
        return align4g();
    if (strncmp(mode, "reuse-", 6) == 0)
        return reuse(strncmp(mode, "reuse-data", 10) == 0 ? RLIMIT_DATA : RLIMIT_AS);
    int resource = strcmp(mode, "data") == 0 ? RLIMIT_DATA : RLIMIT_AS;

    /* Before the limit: blocks of every class, stamped. */
    enum { BEFORE = 64 };
    void *before[BEFORE];
    size_t before_len[BEFORE];
    for (int i = 0; i < BEFORE; i++) {
        before_len[i] = i % 16 == 0 ? (size_t)1 << 20 : i % 4 == 0 ? 20000 : (size_t)(i * 13 + 1);
        before[i] = malloc(before_len[i]);
        if (!before[i]) {
            printf("FAIL faults/oom-%s/setup: malloc(%zu) failed before any limit\n", mode, before_len[i]);
            return 1;
        }
        stamp(before[i], before_len[i], 1000 + (size_t)i);
    }

    size_t used = status_bytes(resource == RLIMIT_AS ? "VmSize:" : "VmData:");
    struct rlimit lim = { used + HEADROOM, used + HEADROOM };
    if (!used || setrlimit(resource, &lim) != 0) {
        printf("FAIL faults/oom-%s/setup: cannot limit the process (%s)\n", mode, strerror(errno));
        return 1;
    }

    /* Far too large for the limit: every allocating call fails. */
    size_t big = (size_t)256 << 20;
    errno = 0;
    expect_enomem(malloc(big), "malloc", big);
    errno = 0;
    expect_enomem(calloc(1, big), "calloc", big);
    errno = 0;
    expect_enomem(calloc(big / 16, 16), "calloc(n/16, 16)", big);
    errno = 0;
    expect_enomem(realloc(before[0], big), "realloc", big);
    errno = 0;
    expect_enomem(realloc(before[1], big), "realloc of a small block", big);
    errno = 0;
    expect_enomem(aligned_alloc(1 << 20, big), "aligned_alloc", big);
    errno = 0;
    expect_enomem(memalign(4096, big), "memalign", big);
    errno = 0;
    expect_enomem(valloc(big), "valloc", big);
    errno = 0;
    expect_enomem(pvalloc(big), "pvalloc", big);
    void *out = (void *)1;
    int r = posix_memalign(&out, 64, big);
    CHECK(r == ENOMEM && out == (void *)1, "posix_memalign(64, %zu) returned %d", big, r);
    group("too-large");

    /* Exhaust the headroom with huge blocks, then with small ones. */
    int nhuge = 0;
    for (; nhuge < MAXHUGE; nhuge++) {
        errno = 0;
        huge[nhuge] = malloc((size_t)4 << 20);
        if (!huge[nhuge])
            break;
        stamp(huge[nhuge], (size_t)4 << 20, 2000 + (size_t)nhuge);
    }
    CHECK(nhuge < MAXHUGE, "64 blocks of 4 MiB fitted in a headroom of %zu bytes", HEADROOM);
    CHECK(nhuge == MAXHUGE || errno == ENOMEM, "malloc(4 MiB) failed with errno %d, not ENOMEM", errno);
    group("huge-exhausted");

    size_t nsmall = 0;
    uint64_t s = 88172645463325252ull;
    for (; nsmall < MAXSMALL; nsmall++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t n = 1 + s % 2000;
        errno = 0;
        small[nsmall] = nsmall % 5 == 0 ? calloc(1, n) : malloc(n);
        if (!small[nsmall])
            break;
        small_len[nsmall] = n;
        stamp(small[nsmall], n, nsmall);
    }
    CHECK(nsmall < MAXSMALL, "a million small blocks fitted");
    CHECK(nsmall == MAXSMALL || errno == ENOMEM, "small allocation failed with errno %d, not ENOMEM", errno);
    /* Now every kind of call either fails cleanly or gives a usable block
     * (a chunk's free tail may still hold a request). */
    errno = 0;
    expect_clean(malloc(100000), "malloc", 100000);
    errno = 0;
    expect_clean(calloc(100, 1000), "calloc", 100000);
    errno = 0;
    expect_clean(memalign(4096, 5000), "memalign", 5000);
    errno = 0;
    expect_clean(malloc((size_t)2 << 20), "malloc", (size_t)2 << 20);
    errno = 0;
    expect_clean(malloc(24), "malloc", 24);
    errno = 0;
    void *moved = realloc(small[0], 200000);
    CHECK(moved || errno == ENOMEM, "realloc(small, 200000) failed with errno %d", errno);
    if (moved) {
        CHECK(stamped(moved, small_len[0], 0), "realloc(small, 200000) lost the contents");
        small[0] = moved, small_len[0] = 200000, stamp(moved, 200000, 0);
    }
    out = (void *)1;
    r = posix_memalign(&out, 4096, 300000);
    CHECK(r == 0 || (r == ENOMEM && out == (void *)1), "posix_memalign(4096, 300000) returned %d", r);
    if (r == 0)
        free(out);
    group("small-exhausted");
    say("# oom-%s: limit %zu MiB above the %zu MiB in use; %d blocks of 4 MiB, then %zu small ones fitted\n",
        mode, HEADROOM >> 20, used >> 20, nhuge, nsmall);

    /* Nothing was lost or overwritten. */
    for (int i = 0; i < BEFORE; i++)
        CHECK(stamped(before[i], before_len[i], 1000 + (size_t)i), "block %d from before the limit changed", i);
    for (int i = 0; i < nhuge; i++)
        CHECK(stamped(huge[i], (size_t)4 << 20, 2000 + (size_t)i), "huge block %d changed", i);
    for (size_t i = 0; i < nsmall; i++)
        CHECK(stamped(small[i], small_len[i], i), "small block %zu of %zu bytes changed", i, small_len[i]);
    group("blocks-intact");

    /* Freeing makes room again. */
    for (int i = 0; i < nhuge; i++)
        free(huge[i]);
    void *again = malloc((size_t)4 << 20);
    CHECK(again != NULL, "malloc(4 MiB) fails after freeing %d huge blocks", nhuge);
    if (again)
        memset(again, 1, (size_t)4 << 20);
    free(again);
    for (size_t i = 0; i < nsmall; i++)
        free(small[i]);
    for (size_t i = 0; i < nsmall; i++) { /* as many bytes again */
        small[i] = malloc(small_len[i]);
        CHECK(small[i] != NULL, "malloc(%zu) fails after every small block was freed (%zu of %zu again)",
              small_len[i], i, nsmall);
        if (!small[i]) {
            nsmall = i;
            break;
        }
        stamp(small[i], small_len[i], i);
    }
    for (size_t i = 0; i < nsmall; i++)
        CHECK(stamped(small[i], small_len[i], i), "small block %zu changed after the recovery", i);
    for (size_t i = 0; i < nsmall; i++)
        free(small[i]);
    void *medium = malloc(100000);
    CHECK(medium != NULL, "malloc(100000) fails after freeing every small block");
    free(medium);
    for (int i = 0; i < BEFORE; i++)
        free(before[i]);
    group("recovers");

    fputs(report, stdout);
    return failures != 0;
}
