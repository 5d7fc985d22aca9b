/* src/fork.c - the fork handlers (bimp.c's attach_heap gives them to
 * os_thread_init) and every_lock, the list of Bimp's locks: a new lock is
 * added there. */

#include "internal.h"

/* Fork: hold every lock across fork, so the child inherits consistent
 * shared state.  Heaps of threads that do not exist in the child stay as
 * they are: their owners may have been in the middle of a push or pop, so
 * nobody may touch them; frees into them wait in their inboxes for good.
 *
 * A fork from a signal handler that interrupted this thread inside one of
 * Bimp's locks cannot wait for that lock: then no lock is taken, and the
 * child, where only this thread lives, starts with every lock free (what
 * POSIX lets such a child do, _exit or exec, works; glibc's tst-mallocfork2).
 * That includes a fork from a handler that interrupted another fork between
 * its prepare and parent handlers, which hold every lock: so the handlers
 * nest, each fork's choice kept at its depth (bit d of fork_took_no_lock for
 * the fork d deep on this thread).  A handler that interrupts before the
 * depth is raised or after it is lowered finds the outer fork's bit neither
 * set nor needed yet. */
#define FORK_DEPTH_MAX 64
static TLS_INITIAL_EXEC unsigned fork_depth;
static TLS_INITIAL_EXEC uint64_t fork_took_no_lock;

static void every_lock(void (*act)(lock_t *))
{
    for (heap *h = load_acquire(&g.all_heaps); h; h = h->next_all)
        act(&h->lock);
    act(&g.lock);
    act(&huge_lock);
    act(&unit_map_lock);
    act(&profile_lock);
    act(&check_lock);
    act(&guard_lock);
    act(&stack_cache_lock);
}

static void lock_for_fork(lock_t *l)
{
    lock(l);
}

static void unlock_after_fork(lock_t *l)
{
    unlock(l);
}

static void reset_in_child(lock_t *l)
{
    *l = (lock_t){ 0 };
}

void before_fork(void)
{
    unsigned d = fork_depth;
    fork_depth = d + 1; /* first: a nested fork from here on works a level deeper */
    signal_fence();
    bool none = locks_held != 0 || d >= FORK_DEPTH_MAX;
    if (d < FORK_DEPTH_MAX)
        fork_took_no_lock = (fork_took_no_lock & ~((uint64_t)1 << d)) | (uint64_t)none << d;
    signal_fence();
    if (!none)
        every_lock(lock_for_fork);
}

/* The depth of the fork whose handler runs, and whether it took no lock. */
static bool fork_took_none(unsigned *d)
{
    signal_fence();
    *d = fork_depth - 1;
    return *d >= FORK_DEPTH_MAX || (fork_took_no_lock >> *d & 1);
}

static void fork_done(unsigned d)
{
    signal_fence();
    fork_depth = d; /* last: a nested fork until here still works a level deeper */
}

void after_fork_parent(void)
{
    unsigned d;
    if (!fork_took_none(&d))
        every_lock(unlock_after_fork);
    fork_done(d);
}

void after_fork_child(void)
{
    unsigned d;
    if (fork_took_none(&d)) /* the interrupted code, if it resumes, lets go of a free lock */
        every_lock(reset_in_child);
    else
        every_lock(unlock_after_fork);
    watch_forked();
    fork_done(d);
}
