/* src/glue.h - what every file of Bimp needs before its data model: the
 * configuration (build options), the compiler's attributes, the threading
 * layer (atomics and locks, plain in the single-threaded build), and the
 * prefixed build's renaming of the entry points.  Private: not installed.
 * The data model (layout, invariants, state) is src/internal.h. */
#ifndef BIMP_GLUE_H
#define BIMP_GLUE_H

#include "../bimp.h"
#include "../platform.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* FILE, fwrite: only for malloc_info's caller-given stream */
#include <string.h>
#include <strings.h> /* strncasecmp */

/* Everything below (and in internal.h) is Bimp's own, hidden from the
 * program: only EXPORT (the entry points) is seen outside the library. */
#pragma GCC visibility push(hidden)

/* ======================================================================== */
/* Configuration                                                            */
/* ======================================================================== */

/* Alignment of every block, and the granule of all block sizes. */
#ifndef BIMP_ALIGN
#define BIMP_ALIGN 16
#endif
#if BIMP_ALIGN < 8 || (BIMP_ALIGN & (BIMP_ALIGN - 1)) != 0
#error "BIMP_ALIGN must be a power of two and at least 8 (the block header's size)"
#endif
#if BIMP_ALIGN > 4096
#error "BIMP_ALIGN above 4096 is not supported"
#endif

/* log2 of the chunk size; chunks are aligned to their size. */
#ifndef BIMP_CHUNK_SHIFT
#define BIMP_CHUNK_SHIFT 18
#endif
#if BIMP_CHUNK_SHIFT < 16 || BIMP_CHUNK_SHIFT > 24
#error "BIMP_CHUNK_SHIFT must be between 16 and 24"
#endif

/* BIMP_SET_ERRNO: also report posix_memalign's failures through errno. */
#ifdef BIMP_SET_ERRNO
#define SET_ERRNO_ALWAYS 1
#else
#define SET_ERRNO_ALWAYS 0
#endif

/* BIMP_DEBUG: run the invariant checkers after every operation. */
#ifdef BIMP_DEBUG
#define DEBUG_CHECKS 1
#else
#define DEBUG_CHECKS 0
#endif

/* BIMP_SMALL_TIER: requests up to 1 KiB go to pages of equal blocks without
 * headers (src/small.c, "Small blocks" below) instead of the headered
 * stack.  Off by default until it is faster where it is not yet (README,
 * "The small tier"); compiled in either way, and tested in a build of its
 * own. */
#ifdef BIMP_SMALL_TIER
#define SMALL_TIER 1
#else
#define SMALL_TIER 0
#endif


/* Compiler specifics, in one place. */
#define EXPORT __attribute__((visibility("default")))
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define COLD __attribute__((cold, noinline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CACHE_ALIGNED _Alignas(64)
#define CONSTRUCTOR __attribute__((constructor))
#define DESTRUCTOR __attribute__((destructor))
#define TLS_INITIAL_EXEC __thread __attribute__((tls_model("initial-exec")))
/* Orders the thread's memory accesses against a signal handler's on it. */
#define signal_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)
/* The threading layer: the single-threaded build (BIMP_SINGLE_THREADED)
 * turns atomics into plain operations and per-thread variables into plain
 * ones, here, in the locks below, and in the thread's heap (my_heap and
 * its kin, src/internal.h); the rest of the core tests THREADED, a
 * constant, and has no #ifdef of it. */
#ifdef BIMP_SINGLE_THREADED
#define THREADED 0
#define PER_THREAD
#define ATOMIC(T) T
#define load_relaxed(p) (*(p))
#define load_acquire(p) (*(p))
#define store_relaxed(p, v) (*(p) = (v))
#define store_release(p, v) (*(p) = (v))
#define exchange_acquire(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) = (v); old_; })
/* compare_exchange(p, &expected, desired): true and *p = desired if *p was
 * expected, else false and expected = *p. */
#define compare_exchange(p, e, d) \
    ({ bool ok_ = *(p) == *(e); if (ok_) *(p) = (d); else *(e) = *(p); ok_; })
#define fetch_or(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) |= (v); old_; })
#define fetch_add(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) += (v); old_; })
#define fetch_sub(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) -= (v); old_; })
#define fetch_and(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) &= (v); old_; })
#else
#include <stdatomic.h>
#define THREADED 1
#define PER_THREAD TLS_INITIAL_EXEC
#define ATOMIC(T) _Atomic(T)
#define load_relaxed(p) atomic_load_explicit(p, memory_order_relaxed)
#define load_acquire(p) atomic_load_explicit(p, memory_order_acquire)
#define store_relaxed(p, v) atomic_store_explicit(p, v, memory_order_relaxed)
#define store_release(p, v) atomic_store_explicit(p, v, memory_order_release)
#define exchange_acquire(p, v) atomic_exchange_explicit(p, v, memory_order_acquire)
#define compare_exchange(p, e, d) \
    atomic_compare_exchange_weak_explicit(p, e, d, memory_order_acq_rel, memory_order_relaxed)
#define fetch_or(p, v) atomic_fetch_or_explicit(p, v, memory_order_acq_rel)
#define fetch_add(p, v) atomic_fetch_add_explicit(p, v, memory_order_relaxed)
#define fetch_sub(p, v) atomic_fetch_sub_explicit(p, v, memory_order_relaxed)
#define fetch_and(p, v) atomic_fetch_and_explicit(p, v, memory_order_acq_rel)
#endif
/* A statistics counter: written by its heap's owner only, with plain adds
 * (the fast paths cannot afford more), and read by others only through
 * peek() in gather(), which ThreadSanitizer is told to ignore: the figures
 * may lag, an aligned word is never torn. */
#define stat_add(x, v) ((x) += (v))
#define peek(x) (*(volatile __typeof__(x) *)&(x))
#define NO_THREAD_SANITIZER __attribute__((no_sanitize("thread")))

/* Locks: Bimp's own, counted per thread (locks_held). */
#ifdef BIMP_SINGLE_THREADED
typedef int lock_t;
static const int locks_held = 0;
static inline void lock(lock_t *l) { (void)l; }
static inline void unlock(lock_t *l) { (void)l; }
static inline bool try_lock(lock_t *l) { (void)l; return true; }
#else
typedef os_lock lock_t;
/* How many of Bimp's locks the thread holds, or is about to take: a fork
 * from a signal handler that interrupted one of them must not wait for it
 * (before_fork).  Counted before the lock is taken and after it is let go,
 * with compiler fences, as a handler on this thread would see it. */
extern TLS_INITIAL_EXEC int locks_held;
static inline void lock(lock_t *l)
{
    locks_held++;
    signal_fence();
    os_lock_acquire(l);
}
static inline void unlock(lock_t *l)
{
    os_lock_release(l);
    signal_fence();
    locks_held--;
}
/* Take the lock if it is free: true if taken (then unlock it). */
static inline bool try_lock(lock_t *l)
{
    locks_held++;
    signal_fence();
    if (os_lock_try(l))
        return true;
    signal_fence();
    locks_held--;
    return false;
}
#endif

/* ======================================================================== */
/* The entry points' names                                                  */
/* ======================================================================== */

/* The entry points are written under the C library's names below; the
 * prefixed library (BIMP_PREFIX) renames them here, in one place, to
 * bimp_malloc, bimp_free, ... (declared in bimp.h), and replaces nothing. */
#ifdef BIMP_PREFIX
#define aligned_alloc bimp_aligned_alloc
#define calloc bimp_calloc
#define cfree bimp_cfree
#define free bimp_free
#define free_aligned_sized bimp_free_aligned_sized
#define free_sized bimp_free_sized
#define mallinfo bimp_mallinfo
#define mallinfo2 bimp_mallinfo2
#define malloc bimp_malloc
#define malloc_info bimp_malloc_info
#define malloc_stats bimp_malloc_stats
#define malloc_trim bimp_malloc_trim
#define malloc_usable_size bimp_malloc_usable_size
#define mallopt bimp_mallopt
#define memalign bimp_memalign
#define posix_memalign bimp_posix_memalign
#define pvalloc bimp_pvalloc
#define realloc bimp_realloc
#define reallocarray bimp_reallocarray
#define reallocf bimp_reallocf
#define valloc bimp_valloc
#endif

#pragma GCC visibility pop

#endif
