/* platform_mac.c - the platform contract (platform.h) on macOS.
 *
 * Untested: it cannot be built on the Linux machines this project is
 * developed on.  Differences from Linux:
 *  - macOS's sbrk is an emulation over a small fixed region, so "the heap" is
 *    a large PROT_NONE reservation made once, committed front to back;
 *  - there is no mremap: os_remap fails and the core copies;
 *  - locks are os_unfair_lock;
 *  - the library is built with BIMP_PREFIX (entry points bimp_malloc, ...)
 *    and dyld is told through __DATA,__interpose to route the program's
 *    malloc family to them when loaded with DYLD_INSERT_LIBRARIES.
 */
#include "platform.h"

#include <crt_externs.h>
#include <errno.h>
#include <malloc/malloc.h>
#include <os/lock.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define POSIX_CLOCK CLOCK_MONOTONIC
#include "platform_posix.h"

size_t os_page_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)getpagesize();
    return page;
}

void *os_remap(void *p, size_t old_size, size_t new_size, size_t align)
{
    (void)p, (void)old_size, (void)new_size, (void)align;
    return NULL;
}

bool os_move(void *from, size_t size, void *to)
{
    (void)from, (void)size, (void)to;
    return false;
}

void os_purge(void *p, size_t size)
{
    /* Mapping fresh pages over the range guarantees they read back as zero. */
    mmap(p, size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANON, -1, 0);
}

/* The emulated break: a reservation committed from its start. */
#define HEAP_RESERVE ((size_t)64 << 30)
static char *heap_start, *heap_end;

void *os_heap_grow(void *expected_end, size_t size)
{
    if (!heap_start) {
        void *r = mmap(NULL, HEAP_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANON, -1, 0);
        if (r == MAP_FAILED)
            return NULL;
        heap_start = heap_end = r;
    }
    if (expected_end == NULL)
        return heap_end;
    if (expected_end != heap_end || size > (size_t)(heap_start + HEAP_RESERVE - heap_end))
        return NULL;
    if (mprotect(heap_end, size, PROT_READ | PROT_WRITE) != 0)
        return NULL;
    heap_end += size;
    return expected_end;
}

int os_heap_shrink(void *expected_end, size_t size)
{
    if (expected_end != heap_end || size > (size_t)(heap_end - heap_start))
        return EAGAIN;
    os_purge(heap_end - size, size);
    if (mprotect(heap_end - size, size, PROT_NONE) != 0)
        return errno;
    heap_end -= size;
    return 0;
}

void os_lock_acquire(os_lock *l)
{
    _Static_assert(sizeof(os_unfair_lock) == sizeof(l->word), "os_unfair_lock is one word");
    os_unfair_lock_lock((os_unfair_lock *)&l->word);
}

bool os_lock_try(os_lock *l)
{
    return os_unfair_lock_trylock((os_unfair_lock *)&l->word);
}

void os_lock_release(os_lock *l)
{
    os_unfair_lock_unlock((os_unfair_lock *)&l->word);
}

/* arc4random_buf (stdlib.h) reads the kernel's entropy without allocating. */
uint64_t os_random(void)
{
    uint64_t v;
    arc4random_buf(&v, sizeof v);
    return v;
}

/* Not measured on macOS (task_info would do; untested here). */
size_t os_resident_bytes(void)
{
    return 0;
}

/* pprof finds the images itself on macOS (untested here). */
void os_write_maps(int fd)
{
    (void)fd;
}

const char *os_program_name(void)
{
    const char *name = getprogname();
    return name ? name : "?";
}

const char *os_environ(size_t i, int *ready)
{
    return environ_entry(*_NSGetEnviron(), issetugid() != 0, i, ready);
}

/* No frame addresses here: stacks are taken whole each time. */
int os_unwind(void **frame, uintptr_t *cfa, int max)
{
    (void)frame, (void)cfa, (void)max;
    return -1;
}

/* dyld interposing: (replacement, replaced) pairs. */
#define INTERPOSE(name) \
    extern __typeof__(name) bimp_##name; \
    __attribute__((used, section("__DATA,__interpose"))) static const struct { \
        const void *replacement, *replaced; \
    } interpose_##name = { (const void *)bimp_##name, (const void *)name }

INTERPOSE(malloc);
INTERPOSE(calloc);
INTERPOSE(realloc);
INTERPOSE(free);
INTERPOSE(posix_memalign);
INTERPOSE(aligned_alloc);
INTERPOSE(valloc);
INTERPOSE(reallocf);

/* macOS's malloc_size asks the zone that owns a block: Bimp answers instead. */
extern size_t bimp_malloc_usable_size(void *p);
__attribute__((used, section("__DATA,__interpose"))) static const struct {
    const void *replacement, *replaced;
} interpose_malloc_size = { (const void *)bimp_malloc_usable_size, (const void *)malloc_size };
