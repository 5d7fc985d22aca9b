/* platform_linux.c - the platform contract (platform.h) on Linux with glibc. */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <stdint.h>
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
