/* src/watch.c - what malloc's countdown leads to: the heap profile's
 * samples, guard sampling's and the check mode's blocks, the size
 * histogram's counts (src/stats.c keeps it), and the live reports
 * (numbered dumps every BIMP_DUMP_BYTES allocated, every
 * BIMP_DUMP_SECONDS, on BIMP_DUMP_SIGNAL, or from bimp_dump); and what
 * is reported at exit. */

#include "internal.h"

/* ======================================================================== */
/* The watch: one slow call per countdown                                   */
/* ======================================================================== */

/* malloc counts the requested bytes down (my_countdown) and calls watch()
 * when the count goes below zero.  With nothing watching, the countdown
 * is out of reach, and malloc pays the subtraction and the test only.
 * Otherwise the countdown is the nearest of:
 *   - the bytes before the profile's next sample (BIMP_PROFILE);
 *   - DUMP_STEP, while live reports are on: each thread adds what it
 *     allocated to the process's count every DUMP_STEP bytes (and one
 *     allocation), and that is when it looks whether a dump is due (so a
 *     dump is late by at most that much of some thread's allocations);
 *   - the bytes before this thread's next guarded block (BIMP_GUARD_RATE);
 *   - none at all (every allocation calls watch) while the size histogram
 *     counts, which is whenever statistics will be reported, and in the
 *     check mode (BIMP_CHECK), which takes every allocation. */
#define DUMP_STEP ((ptrdiff_t)64 << 10)

static PER_THREAD ptrdiff_t drawn;     /* what this thread's countdown was last set to */
static PER_THREAD ptrdiff_t to_sample; /* bytes before this thread's next sample */
static PER_THREAD size_t unreported;   /* bytes not yet added to w.allocated */
static PER_THREAD ptrdiff_t to_guard;  /* bytes before this thread's next guarded block */
static PER_THREAD bool guard_drawn;    /* to_guard was drawn: a thread's first block is not guarded */

static struct {
    ptrdiff_t step;            /* the countdown's longest: PTRDIFF_MAX, DUMP_STEP or -1 */
    bool dumps;                /* live reports are on */
    bool counts_only;          /* the histogram counts, and nothing else watches */
    ATOMIC(size_t) allocated;  /* bytes, as threads added them */
    ATOMIC(size_t) next_bytes; /* the count at which the next dump by bytes is due */
    ATOMIC(uint64_t) next_ms;  /* the time at which the next dump by time is due */
    ATOMIC(int) requested;     /* the signal came */
    ATOMIC(int) dumping;       /* a thread writes a dump */
    unsigned written;          /* dumps so far */
    uint64_t start_ms;
} w = { .step = PTRDIFF_MAX };

static void dump(const char *reason);

static void on_dump_signal(int signo)
{
    (void)signo;
    store_relaxed(&w.requested, 1); /* only this: the dump waits for an allocation */
}

/* Options are read: what watches, from now on.  The calling thread's
 * countdown starts again (allocations before the options were read drew
 * no sample); other threads' at their next watch. */
void watch_start(void)
{
    w.dumps = opt.dump_bytes || opt.dump_seconds || opt.dump_signal;
    sizes_counted = opt.show_stats || w.dumps;
    w.step = sizes_counted || opt.check ? -1 : w.dumps ? DUMP_STEP : PTRDIFF_MAX;
    w.counts_only = sizes_counted && !w.dumps && !opt.profile && !opt.check && !opt.guard_rate;
    w.start_ms = os_now_ms();
    store_relaxed(&w.next_bytes, opt.dump_bytes ? opt.dump_bytes : SIZE_MAX);
    store_relaxed(&w.next_ms, opt.dump_seconds ? w.start_ms + opt.dump_seconds * 1000 : UINT64_MAX);
    if (opt.dump_signal && !os_on_signal((int)opt.dump_signal, on_dump_signal)) {
        text t = { .len = 0 };
        put_str(&t, "bimp: ignoring BIMP_DUMP_SIGNAL=");
        put_uint(&t, opt.dump_signal, 10, 0);
        put_str(&t, ": a signal the program's faults or the kernel own, or none; no dump on a signal");
        put_line(&t);
        opt.dump_signal = 0;
    }
    if (opt.guard_rate)
        seed_intervals(os_random()); /* each run guards other blocks */
    if (opt.profile || opt.guard_rate || w.step != PTRDIFF_MAX)
        *my_countdown() = drawn = to_sample = 0;
}

/* In a forked child: a dump another thread was writing will not finish. */
void watch_forked(void)
{
    store_relaxed(&w.dumping, 0);
}

/* A dump is due: by bytes, by time, or asked for by the signal. */
static const char *due(size_t allocated)
{
    if (allocated >= load_relaxed(&w.next_bytes))
        return "bytes";
    if (opt.dump_seconds && os_now_ms() >= load_relaxed(&w.next_ms))
        return "seconds";
    return load_relaxed(&w.requested) ? "signal" : NULL;
}

/* The countdown went below zero in malloc(n): count, maybe dump, set the
 * next countdown.  WATCH_* flags: this allocation is the profile's sample;
 * it must be counted after it is made (the thread has no heap yet). */
unsigned watch(size_t n)
{
    ptrdiff_t *countdown = my_countdown();
    if (UNLIKELY(unwinding)) { /* the unwinder's own, at its first use: aside (capture_stack) */
        *countdown = -1;
        return WATCH_ASIDE;
    }
    if (w.counts_only) { /* statistics without profile or live reports: the histogram alone */
        *countdown = -1;
        return count_size(my_heap(), n) ? WATCH_PLAIN : WATCH_COUNT_AFTER;
    }
    size_t bytes = (size_t)drawn - (size_t)*countdown; /* since the last watch, n included */
    if (bytes > ((size_t)1 << 48))
        bytes = (size_t)1 << 48; /* an absurd request, which fails */
    unsigned what = WATCH_PLAIN;
    if (opt.profile) {
        to_sample -= (ptrdiff_t)bytes;
        if (to_sample < 0) {
            to_sample = next_interval();
            what = WATCH_SAMPLE;
        }
    }
    ptrdiff_t next = opt.profile && to_sample < w.step ? to_sample : w.step;
    if (opt.guard_rate) {
        to_guard = guard_drawn ? to_guard - (ptrdiff_t)bytes : draw_interval(opt.guard_rate);
        if (to_guard < 0) {
            to_guard = draw_interval(opt.guard_rate);
            what |= WATCH_GUARD;
        }
        guard_drawn = true;
        next = to_guard < next ? to_guard : next;
    }
    if (opt.check)
        what |= WATCH_CHECK;
    *countdown = drawn = next;
    if (w.dumps && (unreported += bytes) >= (size_t)DUMP_STEP) {
        const char *reason = due(fetch_add(&w.allocated, unreported) + unreported);
        unreported = 0;
        if (reason && !locks_held) /* never with a lock of Bimp's held (the unwinder's mallocs) */
            dump(reason);
    }
    /* Counted after the dump: a dump's figures are of allocations made. */
    if (sizes_counted && !count_size(my_heap(), n))
        what |= WATCH_COUNT_AFTER;
    return what;
}

/* ======================================================================== */
/* Dumps                                                                    */
/* ======================================================================== */

/* Dump number k: a line of JSON statistics appended to PREFIX.stats.jsonl
 * and, with the profile on, PREFIX.k.heap and PREFIX.k.below.heap (k in
 * four digits at least), where PREFIX is BIMP_DUMP_FILE (%p: the pid).
 * One thread writes at a time; another that finds a dump due meanwhile
 * leaves it to that one. */
static void dump(const char *reason)
{
    int idle = 0;
    if (!compare_exchange(&w.dumping, &idle, 1))
        return;
    size_t allocated = load_relaxed(&w.allocated);
    bool by_call = strcmp(reason, "call") == 0 || strcmp(reason, "exit") == 0;
    if (by_call || due(allocated) == reason) {
        if (opt.dump_bytes && allocated >= load_relaxed(&w.next_bytes))
            store_relaxed(&w.next_bytes, allocated - allocated % opt.dump_bytes + opt.dump_bytes);
        uint64_t now = os_now_ms();
        if (opt.dump_seconds && now >= load_relaxed(&w.next_ms))
            store_relaxed(&w.next_ms, now + opt.dump_seconds * 1000);
        if (strcmp(reason, "signal") == 0)
            store_relaxed(&w.requested, 0);
        if (reports_wanted()) {
            unsigned k = ++w.written;
            const char *prefix = opt.dump_file[0] ? opt.dump_file : "bimp.%p";
            text extra = { .len = 0 };
            put_str(&extra, "\"dump\": ");
            put_uint(&extra, k, 10, 0);
            put_str(&extra, ", \"reason\": \"");
            put_str(&extra, reason);
            put_str(&extra, "\", \"ms\": ");
            put_uint(&extra, now - w.start_ms, 10, 0);
            put_str(&extra, ", \"allocated_bytes\": ");
            put_uint(&extra, allocated, 10, 0);
            put_str(&extra, ", ");
            extra.buf[extra.len < sizeof extra.buf ? extra.len : sizeof extra.buf - 1] = 0;
            int fd = create_report(prefix, ".stats.jsonl", true);
            print_stats_json(fd, extra.buf);
            if (fd != 2)
                os_close(fd);
            for (int below = 0; opt.profile && below < 2; below++) {
                text suffix = { .len = 0 };
                put_str(&suffix, k < 10 ? ".000" : k < 100 ? ".00" : k < 1000 ? ".0" : ".");
                put_uint(&suffix, k, 10, 0);
                put_str(&suffix, below ? ".below.heap" : ".heap");
                suffix.buf[suffix.len] = 0;
                fd = create_report(prefix, suffix.buf, false);
                if (fd != 2) {
                    profile_pprof(fd, below);
                    os_close(fd);
                }
            }
        }
    }
    store_release(&w.dumping, 0);
}

/* At exit, with live reports on: the last dump. */
static void dump_at_exit(void)
{
    if (opt.dump_bytes || opt.dump_seconds || opt.dump_signal)
        dump("exit");
}

EXPORT void bimp_dump(void)
{
    int saved = errno;
    dump("call");
    errno = saved;
}

/* At exit: the last dump, the statistics and the profile; then the check
 * mode's last look at every block, which may abort. */
static DESTRUCTOR void at_exit(void)
{
    dump_at_exit();
    if (reports_wanted() && opt.show_stats)
        show_stats();
    if (reports_wanted() && opt.profile)
        profile_at_exit();
    check_at_exit();
}
