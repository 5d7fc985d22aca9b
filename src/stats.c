/* src/stats.c - the statistics: the snapshot (gather), the size
 * histogram, the text and JSON reports (STAT_ROWS), and glibc's
 * malloc_stats, mallinfo, mallinfo2 and malloc_info. */

#include "internal.h"

struct rare_counts rare;
bool sizes_counted;

/* ======================================================================== */
/* Statistics                                                               */
/* ======================================================================== */

/* The bytes below the cursors of h's chunks and, if `live` is not NULL, the
 * blocks in use there.  Under g.lock, which keeps h's chunks from leaving
 * its list, but without stopping h's owner: a block it is splitting or
 * merging right now may be miscounted, and the walk stops at anything that
 * is not a block yet. */
static NO_THREAD_SANITIZER size_t survey(heap *h, size_t *live)
{
    size_t stacked = 0;
    for (chunk *c = h->chunks; c; c = c->next_own) {
        char *at = first_of(c), *cursor = peek(c->cursor);
        stacked += (size_t)(cursor - at);
        while (live && at < cursor) {
            uint32_t info = load_relaxed(&((block *)at)->info);
            size_t stride = stride_of(info);
            if (stride < MIN_STRIDE || stride > (size_t)(cursor - at))
                break;
            *live += info & B_INUSE;
            at += stride;
        }
    }
    return stacked;
}

/* Everything bimp_stats reports, gathered from every heap and the globals.
 * The pops are not counted as they happen, which cost free's fast path
 * 2.5% on LIFO frames: every block malloc handed out is now in use, or was
 * freed by a pop or below a top, so the pops are what is left, and the
 * bytes in use are what lies below the cursors and is not binned.  Without
 * `walk`, the blocks in use are not counted and the pops are left 0
 * (mallinfo needs the bytes only). */
NO_THREAD_SANITIZER void gather(struct bimp_stats *st, bool walk)
{
    memset(st, 0, sizeof *st);
    size_t small_freed = 0; /* small blocks allocated and no longer in use */
    lock(&g.lock);
    for (heap *h = load_acquire(&g.all_heaps); h; h = h->next_all) {
        size_t small_live = 0, small_bytes = 0;
        for (chunk *c = h->chunks; c; c = c->next_own)
            if (peek(c->kind) == CK_PAGES)
                small_survey((page_chunk *)c, &small_live, &small_bytes, &st->small_pages);
        size_t small_allocated = peek(h->n.small_bumped) + peek(h->n.small_reused);
        st->small_bumped += peek(h->n.small_bumped);
        st->small_reused += peek(h->n.small_reused);
        st->small_swept += peek(h->n.small_swept);
        st->small_below += peek(h->n.small_below);
        st->small_remote += peek(h->n.small_remote);
        st->small_in_use_bytes += small_bytes;
        small_freed += small_allocated > small_live ? small_allocated - small_live : 0;
        size_t live = 0, stacked = survey(h, walk ? &live : NULL);
        size_t binned = peek(h->binned), in_use = stacked > binned ? stacked - binned : 0;
        size_t out = peek(h->handed_out), below = peek(h->n.below), below_bytes = peek(h->n.below_bytes);
        size_t bumped = peek(h->n.bumped), exact = peek(h->n.exact), refit = peek(h->n.refit);
        size_t allocated = bumped + exact + refit;
        st->in_use_bytes += in_use;
        st->binned_bytes += binned;
        if (peek(h->kind) != HEAP_THREAD) { /* an arena's, live or destroyed */
            st->arena_allocations += bumped;
            st->arena_releases += peek(h->n.released);
            st->arena_released_bytes += peek(h->n.released_bytes);
            continue;
        }
        st->bumped += bumped;
        st->reused_exact += exact;
        st->reused_split += refit;
        if (walk && allocated > live + below) /* another thread's figures may be torn */
            st->top_pops += allocated - live - below;
        if (walk && out > in_use + below_bytes)
            st->popped_bytes += out - in_use - below_bytes;
        st->swept_blocks += peek(h->n.swept);
        st->frees_below_top += below;
        st->below_top_bytes += below_bytes;
        st->remote_frees += peek(h->n.remote);
        st->remote_bytes += peek(h->n.remote_bytes);
    }
    /* Every small block allocated is in use, or was freed below a top, by
     * another thread, or by a pop: the pops are what is left. */
    if (small_freed > st->small_below + st->small_remote)
        st->small_pops = small_freed - st->small_below - st->small_remote;
    st->in_use_bytes += st->small_in_use_bytes;
    pool_stats(st);
    unlock(&g.lock);
    huge_cache_stats(&st->huge_cached, &st->huge_cached_bytes);
    huge_region_stats(&st->huge_regions, &st->huge_region_bytes, &st->huge_region_free_bytes);
    st->resident_bytes = os_resident_bytes();
#define COPY_RARE(f) st->f = load_relaxed(&rare.f);
    RARE_COUNTS(COPY_RARE)
#undef COPY_RARE
    size_t guarded, guarded_frees; /* guard sampling's blocks count in the totals only */
    guard_counts(&guarded, &guarded_frees);
    st->allocations = st->bumped + st->reused_exact + st->reused_split + st->huge_allocations +
                      st->arena_allocations + st->small_bumped + st->small_reused + guarded;
    st->frees = st->top_pops + st->frees_below_top + st->huge_frees + st->small_pops + st->small_below +
                st->small_remote + guarded_frees;
}

/* ======================================================================== */
/* The size histogram (counted by watch, src/watch.c)                      */
/* ======================================================================== */

size_t size_bin_max(unsigned bin)
{
    if (bin == 0)
        return 16;
    unsigned k = (bin - 1) / 2 + 4;
    return (bin - 1) % 2 ? (size_t)2 << k : ((size_t)3 << k) / 2;
}

/* A request of n bytes, counted in heap h's table (mapped at its first
 * count); false for the shared sentinels, which count nothing. */
bool count_size(heap *h, size_t n)
{
    if (UNLIKELY(!h->sizes)) {
        if (h == &unattached_heap || h == &exited_heap || h == &late_heap)
            return false;
        h->sizes = os_map(SIZE_BINS * sizeof *h->sizes, os_page_size());
        if (!h->sizes)
            return true; /* no memory: not counted */
    }
    unsigned k = size_bin(n);
    h->sizes[k].count++;
    h->sizes[k].bytes += n;
    return true;
}

/* Every heap's histogram added up. */
NO_THREAD_SANITIZER void size_histogram(size_count *out)
{
    memset(out, 0, SIZE_BINS * sizeof *out);
    lock(&g.lock);
    for (heap *h = load_acquire(&g.all_heaps); h; h = h->next_all)
        for (unsigned k = 0; h->sizes && k < SIZE_BINS; k++) {
            out[k].count += peek(h->sizes[k].count);
            out[k].bytes += peek(h->sizes[k].bytes);
        }
    unlock(&g.lock);
}

/* ======================================================================== */
/* Reports                                                                  */
/* ======================================================================== */

/* One labelled line of the statistics: label, count, bytes, remark. */
static void stat_line(text *t, int fd, const char *label, size_t count, size_t bytes,
                      const char *remark)
{
    put_str(t, "bimp:   ");
    put_str(t, label);
    put_column(t, 40);
    if (count != SIZE_MAX)
        put_human(t, count, false);
    put_column(t, 50);
    if (bytes != SIZE_MAX)
        put_human(t, bytes, true);
    if (remark) {
        put_column(t, 62);
        put_str(t, remark);
    }
    put_line_to(t, fd);
}

/* How stack-shaped the program is: the share of frees that popped a top. */
static const char *verdict_of(const struct bimp_stats *st, size_t *percent)
{
    size_t pops = st->top_pops + st->small_pops;
    size_t frees = pops + st->frees_below_top + st->small_below + st->small_remote;
    *percent = frees ? pops * 100 / frees : 0;
    if (!frees)
        return "nothing was freed";
    if (*percent >= 90)
        return "stack-shaped: nearly every free popped the top of a stack";
    if (*percent >= 50)
        return "mostly stack-shaped: most frees popped the top of a stack";
    if (*percent >= 10)
        return "partly stack-shaped: reuse below the tops did much of the work";
    return "not stack-shaped: reuse below the tops did the work";
}

/* Every statistic, once.  A row of the text report, in its order: a label
 * (indented under the row it details), the fields of struct bimp_stats it
 * shows as a count and as bytes (NONE: not shown), its unit (CHUNK_COUNT:
 * the count is the bytes in chunks; CHUNK_BYTES: the bytes are the count's
 * chunks), a remark, and a field the remark counts ("swept N freed blocks
 * behind them").  A row without a label is the JSON report's alone.  The
 * JSON report names every field once, in the struct's order.  A new
 * statistic: its field in bimp.h, a row here, and its sum in gather(). */
#define STAT_ROWS(ROW)                                                                                   \
    ROW("allocations", F(allocations), NONE, 0, NULL, NONE)                                              \
    ROW("  small, pushed on a page", F(small_bumped), NONE, 0, NULL, NONE)                               \
    ROW("  small, reused", F(small_reused), NONE, 0, NULL, NONE)                                         \
    ROW("  pushed on a top", F(bumped), NONE, 0, NULL, NONE)                                             \
    ROW("  reused, exact size", F(reused_exact), NONE, 0, NULL, NONE)                                    \
    ROW("  reused, split", F(reused_split), NONE, 0, NULL, NONE)                                         \
    ROW("  huge (region or mapping)", F(huge_allocations), NONE, 0, NULL, NONE)                          \
    ROW("    of which reused mappings", F(huge_reused), NONE, 0, NULL, NONE)                             \
    ROW("frees; memory came back by", F(frees), NONE, 0, NULL, NONE)                                     \
    ROW("  small, pops of a page's top", F(small_pops), NONE, 0, NULL, F(small_swept))                  \
    ROW("  small, below a page's top", F(small_below), NONE, 0, NULL, NONE)                              \
    ROW("  small, from other threads", F(small_remote), NONE, 0, NULL, NONE)                             \
    ROW("  top-of-stack pops", F(top_pops), F(popped_bytes), 0, NULL, F(swept_blocks))                 \
    ROW("  reuse below the top", F(frees_below_top), F(below_top_bytes), 0, NULL, NONE)                 \
    ROW("  frees from other threads", F(remote_frees), F(remote_bytes), 0, NULL, NONE)                  \
    ROW("  whole-chunk resets", F(chunk_resets), NONE, CHUNK_BYTES, NULL, NONE)                          \
    ROW("  huge frees", F(huge_frees), F(huge_freed_bytes), 0, "unmapped, or cached for reuse", NONE)   \
    ROW("in use now", NONE, F(in_use_bytes), 0, NULL, NONE)                                              \
    ROW("  small blocks, in pages", F(small_pages), F(small_in_use_bytes), 0,                            \
        "pages in use, bytes of blocks in use", NONE)                                                    \
    ROW(NULL, NONE, F(binned_bytes), 0, NULL, NONE)                                                      \
    ROW("chunks from the OS now", NONE, F(chunk_bytes), CHUNK_COUNT, NULL, NONE)                         \
    ROW("  at the peak", NONE, F(peak_chunk_bytes), CHUNK_COUNT, NULL, NONE)                             \
    ROW(NULL, F(free_chunks), NONE, 0, NULL, NONE)                                                       \
    ROW("  free, kept with pages", NONE, F(pool_bytes), CHUNK_COUNT, NULL, NONE)                         \
    ROW("  free, pages given back", NONE, F(pool_purged_bytes), CHUNK_COUNT, NULL, NONE)                 \
    ROW("huge blocks now", F(huge_blocks), F(huge_bytes), 0, NULL, NONE)                                 \
    ROW("  at the peak", F(peak_huge_blocks), F(peak_huge_bytes), 0, NULL, NONE)                         \
    ROW("  freed, cached for reuse", F(huge_cached), F(huge_cached_bytes), 0, NULL, NONE)                \
    ROW("  regions they are cut from", F(huge_regions), F(huge_region_bytes), 0, NULL, NONE)             \
    ROW("    free, pages given back", NONE, F(huge_region_free_bytes), 0, NULL, NONE)                    \
    ROW("resident memory now", NONE, F(resident_bytes), 0, "the OS's count, for the whole process", NONE) \
    ROW("system calls: brk grow", F(brk_grows), NONE, 0, NULL, NONE)                                     \
    ROW("  brk shrink", F(brk_shrinks), NONE, 0, NULL, NONE)                                             \
    ROW("  mmap", F(maps), NONE, 0, NULL, NONE)                                                          \
    ROW("  munmap", F(unmaps), NONE, 0, NULL, NONE)                                                      \
    ROW("  madvise (purges)", F(purges), NONE, 0, NULL, NONE)                                            \
    ROW("thread heaps made", F(heaps_made), NONE, 0, NULL, NONE)                                         \
    ROW("  adopted from exited threads", F(heaps_adopted), NONE, 0, NULL, NONE)                          \
    ROW("arenas now", F(arenas), NONE, 0, NULL, NONE)                                                    \
    ROW("  pushes on arenas", F(arena_allocations), NONE, 0, NULL, NONE)                                 \
    ROW("  releases and resets", F(arena_releases), F(arena_released_bytes), 0, NULL, NONE)

enum { CHUNK_COUNT = 1, CHUNK_BYTES = 2 };
#define STAT_INDEX(f) (offsetof(struct bimp_stats, f) / sizeof(size_t))
#define STAT_COUNT (sizeof(struct bimp_stats) / sizeof(size_t))

/* The rows, with each field as its index in struct bimp_stats (-1: NONE). */
#define F(f) STAT_INDEX(f)
#define NONE -1
#define AS_ROW(label, count, bytes, unit, remark, counted) { label, count, bytes, counted, unit, remark },
static const struct stat_row {
    const char *label;
    signed char count, bytes, counted;
    unsigned char unit;
    const char *remark;
} stat_rows[] = { STAT_ROWS(AS_ROW) };
#undef F
#undef NONE

/* The fields' names, by index (a field named twice would be an error). */
#define F(f) [STAT_INDEX(f)] = #f,
#define NONE
#define AS_NAMES(label, count, bytes, unit, remark, counted) count bytes counted
static const char *const stat_names[STAT_COUNT] = { STAT_ROWS(AS_NAMES) };
#undef F

/* Every field of the struct is named once: as many names as fields, and
 * their bits add up to all of the fields' bits. */
#define F(f) +((uint64_t)1 << STAT_INDEX(f))
#define AS_BITS(label, count, bytes, unit, remark, counted) count bytes counted
_Static_assert(STAT_COUNT < 64 && 0 STAT_ROWS(AS_BITS) == ((uint64_t)1 << STAT_COUNT) - 1,
               "every field of struct bimp_stats is in STAT_ROWS, once");
#undef F
#define F(f) +1
_Static_assert(0 STAT_ROWS(AS_BITS) == STAT_COUNT, "every field of struct bimp_stats is in STAT_ROWS, once");
#undef F
#undef NONE

/* The size histogram as text: a row per bin with allocations, and a bar. */
static void print_sizes(int fd)
{
    if (!sizes_counted)
        return;
    size_count bins[SIZE_BINS];
    size_histogram(bins);
    size_t most = 0;
    for (unsigned k = 0; k < SIZE_BINS; k++)
        most = bins[k].count > most ? bins[k].count : most;
    if (!most)
        return;
    text t = { .len = 0 };
    put_str(&t, "bimp: sizes requested (allocations through malloc, calloc, realloc's moves, ...):");
    put_line_to(&t, fd);
    for (unsigned k = 0; k < SIZE_BINS; k++) {
        if (!bins[k].count)
            continue;
        put_str(&t, "bimp:   up to ");
        put_human(&t, size_bin_max(k), true);
        put_column(&t, 26);
        put_human(&t, bins[k].count, false);
        put_column(&t, 36);
        put_human(&t, bins[k].bytes, true);
        put_column(&t, 48);
        for (size_t bar = 0; bar < (bins[k].count * 30 + most - 1) / most; bar++)
            put_str(&t, "#");
        put_line_to(&t, fd);
    }
}

static void print_stats(int fd)
{
    struct bimp_stats st;
    gather(&st, true);
    const size_t *field = (const size_t *)&st;
    text t = { .len = 0 };
    put_str(&t, "bimp " BIMP_VERSION ": statistics of ");
    put_process(&t);
    put_line_to(&t, fd);
    for (size_t k = 0; k < sizeof stat_rows / sizeof stat_rows[0]; k++) {
        const struct stat_row *r = &stat_rows[k];
        if (!r->label)
            continue;
        size_t count = r->count < 0 ? SIZE_MAX : field[r->count];
        size_t bytes = r->bytes < 0 ? SIZE_MAX : field[r->bytes];
        if (r->unit == CHUNK_COUNT)
            count = bytes / CHUNK;
        if (r->unit == CHUNK_BYTES)
            bytes = count * CHUNK;
        text m = { .len = 0 };
        if (r->counted >= 0) {
            put_str(&m, "swept ");
            put_human(&m, field[r->counted], false);
            put_str(&m, " freed blocks behind them");
            m.buf[m.len] = 0;
        }
        stat_line(&t, fd, r->label, count, bytes, r->counted >= 0 ? m.buf : r->remark);
    }
    print_sizes(fd);
    size_t percent;
    const char *verdict = verdict_of(&st, &percent);
    put_str(&t, "bimp: verdict: ");
    put_str(&t, verdict);
    put_str(&t, " (");
    put_uint(&t, percent, 10, 0);
    put_str(&t, "% of frees popped a top)");
    put_line_to(&t, fd);
}

/* One JSON object on one line: the version, pid, program, `extra` (members
 * with a trailing comma, or ""), the options in force, every field of
 * struct bimp_stats, and the size histogram if it is counted. */
void print_stats_json(int fd, const char *extra)
{
    struct bimp_stats st;
    gather(&st, true);
    text t = { .len = 0 };
    put_str(&t, "{\"bimp\": \"" BIMP_VERSION "\", ");
    put_str(&t, extra);
    put_str(&t, "\"pid\": ");
    put_uint(&t, (unsigned long long)os_pid(), 10, 0);
    put_str(&t, ", \"program\": ");
    put_json_str(&t, os_program_name());
    put_str(&t, ", \"options\": {");
    put_options_json(&t, fd);
    os_write(fd, t.buf, t.len); /* the line is longer than the buffer: written in parts */
    t.len = 0;
    put_str(&t, "}, \"stats\": {");
    const size_t *field = (const size_t *)&st;
    for (size_t k = 0; k < STAT_COUNT; k++) {
        if (t.len > sizeof t.buf - 64) {
            os_write(fd, t.buf, t.len);
            t.len = 0;
        }
        put_str(&t, k ? ", \"" : "\"");
        put_str(&t, stat_names[k]);
        put_str(&t, "\": ");
        put_uint(&t, field[k], 10, 0);
    }
    put_str(&t, "}");
    if (sizes_counted) {
        size_count bins[SIZE_BINS];
        size_histogram(bins);
        put_str(&t, ", \"sizes\": [");
        for (unsigned k = 0, first = 1; k < SIZE_BINS; k++) {
            if (!bins[k].count)
                continue;
            if (t.len > sizeof t.buf - 96) {
                os_write(fd, t.buf, t.len);
                t.len = 0;
            }
            put_str(&t, first ? "{\"max\": " : ", {\"max\": ");
            put_uint(&t, size_bin_max(k), 10, 0);
            put_str(&t, ", \"allocations\": ");
            put_uint(&t, bins[k].count, 10, 0);
            put_str(&t, ", \"bytes\": ");
            put_uint(&t, bins[k].bytes, 10, 0);
            put_str(&t, "}");
            first = 0;
        }
        put_str(&t, "]");
    }
    put_str(&t, "}");
    put_line_to(&t, fd);
}

/* BIMP_SHOW_STATS: the statistics when the program ends, on standard error
 * as it is then, or in BIMP_STATS_FILE (%p: the pid). */
void show_stats(void)
{
    int fd = opt.stats_file[0] ? create_report(opt.stats_file, "", false) : 2;
    if (opt.show_stats == STATS_JSON)
        print_stats_json(fd, "");
    else
        print_stats(fd);
    if (fd != 2)
        os_close(fd);
}

/* BIMP_PROGRAM: the name a process runs as (what ps shows), so that a
 * program started through a shell or a wrapper reports alone. */
bool reports_wanted(void)
{
    return !opt.program[0] || strcmp(opt.program, os_program_name()) == 0;
}



/* glibc's struct mallinfo2 and mallinfo, field for field:
 * Bimp includes no libc-specific header. */
struct mallinfo2 {
    size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
struct mallinfo {
    int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

EXPORT struct mallinfo2 mallinfo2(void)
{
    struct bimp_stats st;
    gather(&st, false);
    struct mallinfo2 mi = { 0 };
    mi.arena = st.chunk_bytes;
    mi.ordblks = st.free_chunks;
    mi.hblks = st.huge_blocks;
    mi.hblkhd = st.huge_bytes;
    mi.uordblks = st.in_use_bytes;
    mi.fordblks = st.chunk_bytes - st.in_use_bytes;
    mi.fsmblks = st.binned_bytes;
    mi.keepcost = st.free_chunks * CHUNK;
    return mi;
}

EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m = mallinfo2();
    struct mallinfo mi = {
        .arena = (int)m.arena, .ordblks = (int)m.ordblks, .hblks = (int)m.hblks,
        .hblkhd = (int)m.hblkhd, .uordblks = (int)m.uordblks, .fordblks = (int)m.fordblks,
        .fsmblks = (int)m.fsmblks, .keepcost = (int)m.keepcost,
    };
    return mi;
}

/* glibc's shape, Bimp's numbers: the chunk heap is "Arena 0". */
EXPORT void malloc_stats(void)
{
    int saved = errno;
    struct bimp_stats st;
    gather(&st, false);
    text out = { .len = 0 };
    struct { const char *label; size_t value; } rows[] = {
        { "system bytes     = ", st.chunk_bytes },
        { "in use bytes     = ", st.in_use_bytes },
        { NULL, 0 },
        { "system bytes     = ", st.chunk_bytes + st.huge_bytes },
        { "in use bytes     = ", st.in_use_bytes + st.huge_bytes },
        { "max mmap regions = ", st.peak_huge_blocks },
        { "max mmap bytes   = ", st.peak_huge_bytes },
    };
    put_str(&out, "Arena 0:");
    put_line(&out);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!rows[i].label) {
            put_str(&out, "Total (incl. mmap):");
        } else {
            put_str(&out, rows[i].label);
            put_uint(&out, rows[i].value, 10, 10);
        }
        put_line(&out);
    }
    errno = saved;
}

/* glibc's XML shape, Bimp's numbers. */
EXPORT int malloc_info(int flags, FILE *fp)
{
    if (flags != 0)
        return EINVAL; /* as glibc: the error is the result, errno stays */
    struct bimp_stats st;
    gather(&st, false);
    text t = { .len = 0 };
    struct { const char *open; size_t a; const char *mid; size_t b; } rows[] = {
        { "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n</sizes>\n<total type=\"fast\" count=\"", 0, "\" size=\"", 0 },
        { "\"/>\n<total type=\"rest\" count=\"", st.free_chunks, "\" size=\"", st.binned_bytes + st.free_chunks * CHUNK },
        { "\"/>\n<system type=\"current\" size=\"", st.chunk_bytes, "\"/>\n<system type=\"max\" size=\"", st.peak_chunk_bytes },
        { "\"/>\n<aspace type=\"total\" size=\"", st.chunk_bytes, "\"/>\n<aspace type=\"mprotect\" size=\"", st.chunk_bytes },
        { "\"/>\n</heap>\n<total type=\"fast\" count=\"", 0, "\" size=\"", 0 },
        { "\"/>\n<total type=\"rest\" count=\"", st.free_chunks, "\" size=\"", st.binned_bytes + st.free_chunks * CHUNK },
        { "\"/>\n<total type=\"mmap\" count=\"", st.huge_blocks, "\" size=\"", st.huge_bytes },
        { "\"/>\n<system type=\"current\" size=\"", st.chunk_bytes + st.huge_bytes, "\"/>\n<system type=\"max\" size=\"", st.peak_chunk_bytes + st.peak_huge_bytes },
        { "\"/>\n<aspace type=\"total\" size=\"", st.chunk_bytes + st.huge_bytes, "\"/>\n<aspace type=\"mprotect\" size=\"", st.chunk_bytes + st.huge_bytes },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        put_str(&t, rows[i].open);
        put_uint(&t, rows[i].a, 10, 0);
        put_str(&t, rows[i].mid);
        put_uint(&t, rows[i].b, 10, 0);
        if (t.len > sizeof t.buf - 128) {
            fwrite(t.buf, 1, t.len, fp);
            t.len = 0;
        }
    }
    put_str(&t, "\"/>\n</malloc>\n");
    fwrite(t.buf, 1, t.len, fp);
    return 0;
}

EXPORT int bimp_stats(struct bimp_stats *stats)
{
    gather(stats, true);
    return 0;
}

EXPORT void bimp_print_stats(int fd)
{
    int saved = errno;
    print_stats(fd);
    errno = saved;
}

EXPORT void bimp_print_stats_json(int fd)
{
    int saved = errno;
    print_stats_json(fd, "");
    errno = saved;
}

