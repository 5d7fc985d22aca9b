/* platform.h - the whole contract between Bimp's portable core (bimp.c and
 * the files of src/) and the operating system.  platform_linux.c and platform_mac.c implement it; the
 * core calls nothing else of the OS.
 *
 * Every function here may be called before any constructor has run and from
 * inside malloc itself, so none of them may allocate, use stdio or dlsym.
 * Functions returning int return 0 or an error number; none of them prints.
 */
#ifndef BIMP_PLATFORM_H
#define BIMP_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The granularity of os_map, os_unmap and os_purge. */
size_t os_page_size(void);

/* Anonymous read-write memory, zero-filled, aligned to `align` (a power of two
 * and a multiple of the page size), or NULL with errno left as the OS set it. */
void *os_map(size_t size, size_t align);
void os_unmap(void *p, size_t size);

/* The same at exactly `at` if nothing is mapped there, else NULL (nothing
 * changed): a mapping placed right beside another one, which the OS may
 * then count as one. */
void *os_map_at(void *at, size_t size);

/* Grow or shrink a mapping made by os_map, in place if possible, else by
 * moving it to a place aligned to `align`.  Returns the (possibly moved)
 * mapping, or NULL if the OS cannot; the caller then copies.  The old
 * mapping is untouched on NULL. */
void *os_remap(void *p, size_t old_size, size_t new_size, size_t align);

/* Move the pages of [from, from + size) to [to, to + size), replacing what
 * was mapped there, without touching their contents; false if the OS
 * cannot (nothing moved).  Both ranges lie in mappings made by os_map. */
bool os_move(void *from, size_t size, void *to);

/* Tell the OS the pages' contents are no longer needed; they read back as zero. */
void os_purge(void *p, size_t size);

/* The contiguous heap ("the break").  os_heap_grow extends it by `size` bytes
 * provided it still ends at `expected_end`; it returns expected_end on success
 * and NULL when the heap cannot grow or somebody else moved it.  Pass
 * expected_end == NULL once to learn where the heap ends (nothing is grown). */
void *os_heap_grow(void *expected_end, size_t size);
/* Give back the last `size` bytes if the heap still ends at `expected_end`. */
int os_heap_shrink(void *expected_end, size_t size);

/* User-space addresses fit in this many bits on the platforms Bimp runs on
 * (x86-64 and arm64 Linux with 4-level page tables, macOS): the core's
 * address map covers them, and refuses memory above. */
#define OS_ADDRESS_BITS 47

/* A lock for the core's rare paths.  Zeroed memory is an unlocked lock; one
 * 32-bit word is what a futex (Linux) and an os_unfair_lock (macOS) take. */
typedef struct {
    unsigned int word;
} os_lock;
void os_lock_acquire(os_lock *l);
void os_lock_release(os_lock *l);
/* Take the lock if it is free, without waiting: true if taken. */
bool os_lock_try(os_lock *l);

/* A monotonic clock in milliseconds, cheap enough for the core's rare paths. */
uint64_t os_now_ms(void);

/* A word of randomness from the OS, without allocating (for the bin links'
 * secret); called once. */
uint64_t os_random(void);

/* The heap profile's view of code: up to `max` return addresses of the
 * calling thread's stack, innermost first (may allocate the first time);
 * the base address of the loaded object that holds pc; pc's symbol (NULL
 * if none is known), the object's file name, and pc's offset from the
 * symbol (else from the object). */
int os_backtrace(void **frame, int max);
/* The same with each frame's canonical frame address (its caller's stack
 * pointer before the call), where the return address into frame k + 1
 * lies at cfa[k] - sizeof(void *) (x86-64): a stack taken again can be
 * checked against one taken before by reading those words.  -1 where the
 * platform cannot (then os_backtrace alone).  Like os_backtrace it may
 * allocate, and look the unwinder up (dlopen, dlsym) the first time: the
 * core calls both only from capture_stack, which sends those allocations
 * aside. */
int os_unwind(void **frame, uintptr_t *cfa, int max);
void *os_object_of(const void *pc);
void os_symbol(const void *pc, const char **symbol, const char **object, uintptr_t *offset);

/* Let another thread run. */
void os_yield(void);

/* Thread lifetime.  os_thread_init registers `on_exit`, called once at the
 * exit of every thread that called os_thread_arm(arg) with arg.  It also
 * registers the three fork handlers.  It may allocate, so the core calls it
 * only once a heap exists for the calling thread.  Returns 0 or an error. */
int os_thread_init(void (*on_exit)(void *arg),
                   void (*prepare)(void), void (*parent)(void), void (*child)(void));
void os_thread_arm(void *arg);

/* The i-th "NAME=value" string of the environment, read without allocating;
 * NULL past the last one, and always NULL if the program runs with elevated
 * privileges (setuid, setgid).  *ready is false if the environment is not
 * set up yet (early in start-up). */
const char *os_environ(size_t i, int *ready);

/* The process id, and the program's short name (never NULL), without
 * allocating. */
long os_pid(void);
const char *os_program_name(void);

/* The process's resident memory in bytes, without allocating; 0 if the
 * platform cannot tell. */
size_t os_resident_bytes(void);

/* Create (or truncate, or with `append` open at its end) a file for
 * writing, close-on-exec: a descriptor, or -1.  os_close closes what
 * os_create opened. */
int os_create(const char *path, bool append);

/* The process's mappings as pprof-style tools read them (the text of
 * Linux's /proc/self/maps), written to fd; nothing if unknown. */
void os_write_maps(int fd);

/* Call handler(signo) when signal signo arrives (SA_RESTART): false for a
 * signal the program's faults or the kernel own (SIGSEGV, SIGKILL, ...). */
bool os_on_signal(int signo, void (*handler)(int));
void os_close(int fd);

/* Guard pages: `size` bytes of address space that no access may touch (a
 * page multiple), or NULL; pages of it opened to reading and writing, or
 * closed again; false if the system refused. */
void *os_reserve(size_t size);
bool os_protect(void *p, size_t size, bool open);

/* Faults (SIGSEGV, SIGBUS) go first to mine(address): it reports and
 * aborts if the address is its own, and returns if not; then to whatever
 * handled them before (the handlers the program had installed, or the
 * default action).  False if the handler could not be installed. */
bool os_on_fault(void (*mine)(void *address));

/* Write all of a message to file descriptor fd, ignoring errors. */
void os_write(int fd, const char *msg, size_t len);
/* Abort the process. */
_Noreturn void os_fatal(void);

#endif
