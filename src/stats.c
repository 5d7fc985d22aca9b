/* src/stats.c - the statistics: the snapshot (gather), the text and JSON
 * reports, and glibc's malloc_stats, mallinfo, mallinfo2 and malloc_info. */

#include "internal.h"

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
    st->heaps_made = load_relaxed(&g.heaps_made);
    st->heaps_adopted = load_relaxed(&g.heaps_adopted);
    unlock(&g.lock);
    huge_cache_stats(&st->huge_cached, &st->huge_cached_bytes);
    huge_region_stats(&st->huge_regions, &st->huge_region_bytes, &st->huge_region_free_bytes);
    st->resident_bytes = os_resident_bytes();
    st->huge_allocations = load_relaxed(&g.huge_allocs);
    st->huge_frees = load_relaxed(&g.huge_frees);
    st->huge_freed_bytes = load_relaxed(&g.huge_freed_bytes);
    st->huge_reused = load_relaxed(&g.huge_reused);
    st->huge_bytes = load_relaxed(&g.huge_bytes);
    st->huge_blocks = load_relaxed(&g.huge_count);
    st->peak_huge_blocks = load_relaxed(&g.huge_peak_count);
    st->peak_huge_bytes = load_relaxed(&g.huge_peak_bytes);
    st->maps = load_relaxed(&g.maps);
    st->unmaps = load_relaxed(&g.unmaps);
    st->purges = load_relaxed(&g.purges);
    st->arenas = load_relaxed(&g.arenas);
    size_t guarded, guarded_frees; /* guard sampling's blocks count in the totals only */
    guard_counts(&guarded, &guarded_frees);
    st->allocations = st->bumped + st->reused_exact + st->reused_split + st->huge_allocations +
                      st->arena_allocations + st->small_bumped + st->small_reused + guarded;
    st->frees = st->top_pops + st->frees_below_top + st->huge_frees + st->small_pops + st->small_below +
                st->small_remote + guarded_frees;
}

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

/* The text report, a line per row: a label (indented under the row it
 * details), then a count and bytes, each a field of struct bimp_stats
 * (STAT_NONE: not shown).  CHUNK_COUNT counts the bytes field in chunks;
 * CHUNK_BYTES gives the count field's chunks in bytes. */
#define STAT(f) ((signed char)(offsetof(struct bimp_stats, f) / sizeof(size_t)))
#define STAT_NONE ((signed char)-1)
enum { CHUNK_COUNT = 1, CHUNK_BYTES = 2 };
static const struct stat_row {
    const char *label;
    signed char count, bytes;
    unsigned char chunks;
    const char *remark; /* "swept", "small swept": the swept blocks */
} stat_rows[] = {
    { "allocations", STAT(allocations), STAT_NONE, 0, NULL },
    { "  small, pushed on a page", STAT(small_bumped), STAT_NONE, 0, NULL },
    { "  small, reused", STAT(small_reused), STAT_NONE, 0, NULL },
    { "  pushed on a top", STAT(bumped), STAT_NONE, 0, NULL },
    { "  reused, exact size", STAT(reused_exact), STAT_NONE, 0, NULL },
    { "  reused, split", STAT(reused_split), STAT_NONE, 0, NULL },
    { "  huge (region or mapping)", STAT(huge_allocations), STAT_NONE, 0, NULL },
    { "    of which reused mappings", STAT(huge_reused), STAT_NONE, 0, NULL },
    { "frees; memory came back by", STAT(frees), STAT_NONE, 0, NULL },
    { "  small, pops of a page's top", STAT(small_pops), STAT_NONE, 0, "small swept" },
    { "  small, below a page's top", STAT(small_below), STAT_NONE, 0, NULL },
    { "  small, from other threads", STAT(small_remote), STAT_NONE, 0, NULL },
    { "  top-of-stack pops", STAT(top_pops), STAT(popped_bytes), 0, "swept" },
    { "  reuse below the top", STAT(frees_below_top), STAT(below_top_bytes), 0, NULL },
    { "  frees from other threads", STAT(remote_frees), STAT(remote_bytes), 0, NULL },
    { "  whole-chunk resets", STAT(chunk_resets), STAT_NONE, CHUNK_BYTES, NULL },
    { "  huge frees", STAT(huge_frees), STAT(huge_freed_bytes), 0, "unmapped, or cached for reuse" },
    { "in use now", STAT_NONE, STAT(in_use_bytes), 0, NULL },
    { "  small blocks, in pages", STAT(small_pages), STAT(small_in_use_bytes), 0, "pages in use, bytes of blocks in use" },
    { "chunks from the OS now", STAT_NONE, STAT(chunk_bytes), CHUNK_COUNT, NULL },
    { "  at the peak", STAT_NONE, STAT(peak_chunk_bytes), CHUNK_COUNT, NULL },
    { "  free, kept with pages", STAT_NONE, STAT(pool_bytes), CHUNK_COUNT, NULL },
    { "  free, pages given back", STAT_NONE, STAT(pool_purged_bytes), CHUNK_COUNT, NULL },
    { "huge blocks now", STAT(huge_blocks), STAT(huge_bytes), 0, NULL },
    { "  at the peak", STAT(peak_huge_blocks), STAT(peak_huge_bytes), 0, NULL },
    { "  freed, cached for reuse", STAT(huge_cached), STAT(huge_cached_bytes), 0, NULL },
    { "  regions they are cut from", STAT(huge_regions), STAT(huge_region_bytes), 0, NULL },
    { "    free, pages given back", STAT_NONE, STAT(huge_region_free_bytes), 0, NULL },
    { "resident memory now", STAT_NONE, STAT(resident_bytes), 0, "the OS's count, for the whole process" },
    { "system calls: brk grow", STAT(brk_grows), STAT_NONE, 0, NULL },
    { "  brk shrink", STAT(brk_shrinks), STAT_NONE, 0, NULL },
    { "  mmap", STAT(maps), STAT_NONE, 0, NULL },
    { "  munmap", STAT(unmaps), STAT_NONE, 0, NULL },
    { "  madvise (purges)", STAT(purges), STAT_NONE, 0, NULL },
    { "thread heaps made", STAT(heaps_made), STAT_NONE, 0, NULL },
    { "  adopted from exited threads", STAT(heaps_adopted), STAT_NONE, 0, NULL },
    { "arenas now", STAT(arenas), STAT_NONE, 0, NULL },
    { "  pushes on arenas", STAT(arena_allocations), STAT_NONE, 0, NULL },
    { "  releases and resets", STAT(arena_releases), STAT(arena_released_bytes), 0, NULL },
};

/* The size histogram as text: a row per bin with allocations, and a bar. */
static void print_sizes(int fd)
{
    if (!counting_sizes())
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
        size_t count = r->count == STAT_NONE ? SIZE_MAX : field[r->count];
        size_t bytes = r->bytes == STAT_NONE ? SIZE_MAX : field[r->bytes];
        if (r->chunks == CHUNK_COUNT)
            count = bytes / CHUNK;
        if (r->chunks == CHUNK_BYTES)
            bytes = count * CHUNK;
        char remark[96];
        const char *said = r->remark;
        if (said && (strcmp(said, "swept") == 0 || strcmp(said, "small swept") == 0)) {
            text m = { .len = 0 };
            put_str(&m, "swept ");
            put_human(&m, said[0] == 's' && said[1] == 'm' ? st.small_swept : st.swept_blocks, false);
            put_str(&m, " freed blocks behind them");
            memcpy(remark, m.buf, m.len);
            remark[m.len] = 0;
            said = remark;
        }
        stat_line(&t, fd, r->label, count, bytes, said);
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

/* The fields of struct bimp_stats, for the JSON report. */
#define STAT_FIELD(f) { #f, offsetof(struct bimp_stats, f) }
static const struct {
    const char *name;
    size_t offset;
} stat_fields[] = {
    STAT_FIELD(allocations), STAT_FIELD(bumped), STAT_FIELD(reused_exact), STAT_FIELD(reused_split),
    STAT_FIELD(huge_allocations), STAT_FIELD(huge_reused), STAT_FIELD(frees), STAT_FIELD(top_pops),
    STAT_FIELD(popped_bytes), STAT_FIELD(swept_blocks), STAT_FIELD(frees_below_top),
    STAT_FIELD(below_top_bytes), STAT_FIELD(remote_frees), STAT_FIELD(remote_bytes),
    STAT_FIELD(huge_frees), STAT_FIELD(huge_freed_bytes), STAT_FIELD(chunk_resets),
    STAT_FIELD(in_use_bytes), STAT_FIELD(binned_bytes), STAT_FIELD(chunk_bytes),
    STAT_FIELD(peak_chunk_bytes), STAT_FIELD(free_chunks), STAT_FIELD(huge_bytes),
    STAT_FIELD(peak_huge_bytes), STAT_FIELD(brk_grows), STAT_FIELD(brk_shrinks), STAT_FIELD(maps),
    STAT_FIELD(unmaps), STAT_FIELD(purges), STAT_FIELD(heaps_made), STAT_FIELD(heaps_adopted),
    STAT_FIELD(pool_bytes), STAT_FIELD(pool_purged_bytes), STAT_FIELD(huge_cached),
    STAT_FIELD(huge_cached_bytes), STAT_FIELD(resident_bytes), STAT_FIELD(huge_blocks),
    STAT_FIELD(peak_huge_blocks), STAT_FIELD(arenas), STAT_FIELD(arena_allocations),
    STAT_FIELD(arena_releases), STAT_FIELD(arena_released_bytes), STAT_FIELD(small_bumped),
    STAT_FIELD(small_reused), STAT_FIELD(small_pops), STAT_FIELD(small_swept), STAT_FIELD(small_below),
    STAT_FIELD(small_remote), STAT_FIELD(small_pages), STAT_FIELD(small_in_use_bytes),
    STAT_FIELD(huge_regions), STAT_FIELD(huge_region_bytes), STAT_FIELD(huge_region_free_bytes),
};
_Static_assert(sizeof stat_fields / sizeof stat_fields[0] == sizeof(struct bimp_stats) / sizeof(size_t),
               "every field of struct bimp_stats is in stat_fields");

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
    for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) {
        if (t.len > sizeof t.buf - 64) {
            os_write(fd, t.buf, t.len);
            t.len = 0;
        }
        put_str(&t, k ? ", \"" : "\"");
        put_str(&t, stat_fields[k].name);
        put_str(&t, "\": ");
        put_uint(&t, *(const size_t *)((const char *)&st + stat_fields[k].offset), 10, 0);
    }
    put_str(&t, "}");
    if (counting_sizes()) {
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
static void show_stats(void)
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

