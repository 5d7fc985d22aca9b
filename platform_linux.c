/* platform_linux.c - the platform contract (platform.h) on Linux with glibc. */
#define _GNU_SOURCE
#include "platform.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <unwind.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POSIX_CLOCK CLOCK_MONOTONIC_COARSE
#include "platform_posix.h"

extern char **environ;

size_t os_page_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

void *os_remap(void *p, size_t old_size, size_t new_size, size_t align)
{
    void *q = mremap(p, old_size, new_size, 0);
    if (q != MAP_FAILED)
        return q;
    void *target = os_map(new_size, align);
    if (!target)
        return NULL;
    q = mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    if (q == MAP_FAILED) {
        munmap(target, new_size);
        return NULL;
    }
    return q;
}

bool os_move(void *from, size_t size, void *to)
{
    return mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to) == to;
}

void os_purge(void *p, size_t size)
{
    madvise(p, size, MADV_DONTNEED);
}

void *os_heap_grow(void *expected_end, size_t size)
{
    void *end = sbrk(0);
    if (expected_end == NULL || end == (void *)-1)
        return end == (void *)-1 ? NULL : end;
    if (end != expected_end || size > (size_t)INTPTR_MAX)
        return NULL;
    if (sbrk((intptr_t)size) == (void *)-1)
        return NULL;
    return expected_end;
}

int os_heap_shrink(void *expected_end, size_t size)
{
    if (sbrk(0) != expected_end || size > (size_t)INTPTR_MAX)
        return EAGAIN;
    return sbrk(-(intptr_t)size) == (void *)-1 ? errno : 0;
}

/* A futex lock: 0 free, 1 held, 2 held with waiters. */
void os_lock_acquire(os_lock *l)
{
    unsigned int c = 0;
    if (__atomic_compare_exchange_n(&l->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    if (c != 2)
        c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        syscall(SYS_futex, &l->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = __atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE);
    }
}

bool os_lock_try(os_lock *l)
{
    unsigned int c = 0;
    return __atomic_compare_exchange_n(&l->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void os_lock_release(os_lock *l)
{
    if (__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2)
        syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The kernel's 16 random bytes for this process (AT_RANDOM), mixed with
 * the clock in case a loader did not provide them. */
uint64_t os_random(void)
{
    const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
    uint64_t v = 0, w = 0;
    if (r) {
        memcpy(&v, r, sizeof v);
        memcpy(&w, r + sizeof v, sizeof w);
    }
    v ^= w;
    return v ^ os_now_ms() * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)&v;
}

/* The second field of /proc/self/statm, in pages. */
size_t os_resident_bytes(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *p = strchr(buf, ' ');
    size_t pages = 0;
    for (p = p ? p + 1 : buf + n; *p >= '0' && *p <= '9'; p++)
        pages = pages * 10 + (size_t)(*p - '0');
    return pages * os_page_size();
}

void os_write_maps(int fd)
{
    char buf[4096];
    int in = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    ssize_t n;
    while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        os_write(fd, buf, (size_t)n);
    if (in >= 0)
        close(in);
}

const char *os_program_name(void)
{
    return program_invocation_short_name ? program_invocation_short_name : "?";
}

const char *os_environ(size_t i, int *ready)
{
    return environ_entry(environ, getauxval(AT_SECURE) != 0, i, ready);
}

/* os_unwind: libgcc's unwinder, found once glibc's backtrace has loaded it
 * (Bimp links nothing but libc), asked for each frame's IP and CFA. */
static struct {
    int tried;
    _Unwind_Reason_Code (*backtrace)(_Unwind_Trace_Fn, void *);
    _Unwind_Ptr (*ip)(struct _Unwind_Context *);
    _Unwind_Word (*cfa)(struct _Unwind_Context *);
} unwinder;

typedef struct {
    void **frame;
    uintptr_t *cfa;
    int depth, max;
} unwind_walk;

static _Unwind_Reason_Code unwind_step(struct _Unwind_Context *context, void *arg)
{
    unwind_walk *w = arg;
    void *ip = (void *)__atomic_load_n(&unwinder.ip, __ATOMIC_RELAXED)(context);
    if (w->depth == w->max || !ip) /* (past the outermost frame, an IP of 0) */
        return _URC_END_OF_STACK;
    w->frame[w->depth] = ip;
    w->cfa[w->depth++] = (uintptr_t)__atomic_load_n(&unwinder.cfa, __ATOMIC_RELAXED)(context);
    return _URC_NO_REASON;
}

int os_unwind(void **frame, uintptr_t *cfa, int max)
{
#if defined(__x86_64__)
    if (!__atomic_load_n(&unwinder.tried, __ATOMIC_ACQUIRE)) {
        void *gcc = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NOLOAD);
        if (!gcc)
            return -1; /* not loaded yet: backtrace loads it */
        /* (two threads may both get here: they store the same) */
        __atomic_store_n(&unwinder.backtrace, (_Unwind_Reason_Code(*)(_Unwind_Trace_Fn, void *))dlsym(gcc, "_Unwind_Backtrace"), __ATOMIC_RELAXED);
        __atomic_store_n(&unwinder.ip, (_Unwind_Ptr(*)(struct _Unwind_Context *))dlsym(gcc, "_Unwind_GetIP"), __ATOMIC_RELAXED);
        __atomic_store_n(&unwinder.cfa, (_Unwind_Word(*)(struct _Unwind_Context *))dlsym(gcc, "_Unwind_GetCFA"), __ATOMIC_RELAXED);
        __atomic_store_n(&unwinder.tried, 1, __ATOMIC_RELEASE);
    }
    if (!__atomic_load_n(&unwinder.backtrace, __ATOMIC_RELAXED) || !__atomic_load_n(&unwinder.ip, __ATOMIC_RELAXED) ||
        !__atomic_load_n(&unwinder.cfa, __ATOMIC_RELAXED))
        return -1;
    unwind_walk w = { frame, cfa, 0, max };
    __atomic_load_n(&unwinder.backtrace, __ATOMIC_RELAXED)(unwind_step, &w);
    return w.depth;
#else
    (void)frame, (void)cfa, (void)max;
    return -1;
#endif
}
