/* src/huge.c - blocks above the huge threshold: mappings of their own, and
 * the cache of freed ones. */

#include "internal.h"

/* ======================================================================== */
/* Huge blocks                                                              */
/* ======================================================================== */

static void count_huge(size_t len, int sign)
{
    if (sign > 0) {
        size_t n = fetch_add(&g.huge_count, 1) + 1;
        size_t bytes = fetch_add(&g.huge_bytes, len) + len;
        if (n > load_relaxed(&g.huge_peak_count))
            store_relaxed(&g.huge_peak_count, n);
        if (bytes > load_relaxed(&g.huge_peak_bytes))
            store_relaxed(&g.huge_peak_bytes, bytes);
    } else {
        fetch_sub(&g.huge_count, 1);
        fetch_sub(&g.huge_bytes, len);
    }
}

/* A huge mapping is ready: its words, its block. */
static void *huge_place(char *map, size_t mapped, size_t off, size_t len)
{
    *huge_words_of(map) = (huge_words){ .mapped = mapped, .offset = off, .length = len };
    block *b = (block *)(map + off);
    b->prev = (uint32_t)off;
    store_relaxed(&b->info, B_HUGE | B_INUSE);
    count_huge(mapped, +1);
    return payload_of(b);
}

/* Recently freed huge mappings, kept for BIMP_HUGE_DELAY for the next huge
 * request: a fresh mapping costs a page fault and a page of zeroing for
 * every page the program touches, a reused one nothing. */
#define HUGE_CACHE_SLOTS 32
lock_t huge_cache_lock;
static struct {
    size_t count;
    ATOMIC(size_t) bytes; /* read without the lock by grow_from_cache */
    struct {
        char *map;
        size_t len;
        uint64_t freed_ms;
    } slot[HUGE_CACHE_SLOTS];
} huge_cache;




static void uncache(size_t i)
{
    huge_cache.bytes -= huge_cache.slot[i].len;
    huge_cache.slot[i] = huge_cache.slot[--huge_cache.count];
}

/* Unmap the cached mappings older than the purge delay (all if now is 0). */
static void expire_huge(uint64_t now)
{
    for (size_t i = 0; i < huge_cache.count;) {
        if (now && now < huge_cache.slot[i].freed_ms + opt.huge_delay_ms) {
            i++;
            continue;
        }
        os_unmap(huge_cache.slot[i].map, huge_cache.slot[i].len);
        fetch_add(&g.unmaps, 1);
        uncache(i);
    }
}

/* A cached mapping with room for len bytes, its pages still present;
 * *mapped is set to its length.  For a block that realloc is growing the
 * longest one (the block will likely grow on, into it), else the shortest
 * one long enough; NULL if none is. */
static char *reuse_huge(size_t len, bool growing, size_t *mapped)
{
    size_t pick = HUGE_CACHE_SLOTS;
    lock(&huge_cache_lock);
    expire_huge(os_now_ms());
    for (size_t i = 0; i < huge_cache.count; i++) {
        size_t have = huge_cache.slot[i].len;
        if (have >= len && (pick == HUGE_CACHE_SLOTS || (have < huge_cache.slot[pick].len) != growing))
            pick = i;
    }
    char *map = NULL;
    if (pick != HUGE_CACHE_SLOTS) {
        map = huge_cache.slot[pick].map;
        *mapped = huge_cache.slot[pick].len;
        uncache(pick);
    }
    unlock(&huge_cache_lock);
    return map;
}

/* Move the pages of cached mappings into [to, to + len), which lies in a
 * fresh mapping: the shortest one that covers what is left, else the
 * longest, part of it if it is longer than needed.  Returns how many bytes
 * from the start of the range now have pages (the rest is still fresh). */
static size_t fill_from_cache(char *to, size_t len)
{
    size_t filled = 0;
    lock(&huge_cache_lock);
    expire_huge(os_now_ms());
    while (filled < len && huge_cache.count) {
        size_t need = len - filled, pick = 0;
        for (size_t i = 1; i < huge_cache.count; i++) {
            size_t have = huge_cache.slot[i].len, best = huge_cache.slot[pick].len;
            if (best < need ? have > best : have >= need && have < best)
                pick = i;
        }
        char *from = huge_cache.slot[pick].map;
        size_t take = huge_cache.slot[pick].len < need ? huge_cache.slot[pick].len : need;
        if (!os_move(from, take, to + filled))
            break;
        if (take == huge_cache.slot[pick].len) {
            uncache(pick);
        } else {
            huge_cache.slot[pick].map += take;
            huge_cache.slot[pick].len -= take;
            huge_cache.bytes -= take;
        }
        filled += take;
    }
    unlock(&huge_cache_lock);
    return filled;
}

/* Keep a freed mapping for reuse; false if it does not fit the cache. */
static bool cache_huge(char *map, size_t len)
{
    if (len > opt.huge_cache_max / 2)
        return false;
    lock(&huge_cache_lock);
    uint64_t now = os_now_ms();
    expire_huge(now);
    while (huge_cache.count > 0 &&
           (huge_cache.count == HUGE_CACHE_SLOTS || huge_cache.bytes + len > opt.huge_cache_max)) {
        size_t oldest = 0;
        for (size_t i = 1; i < huge_cache.count; i++)
            if (huge_cache.slot[i].freed_ms < huge_cache.slot[oldest].freed_ms)
                oldest = i;
        os_unmap(huge_cache.slot[oldest].map, huge_cache.slot[oldest].len);
        fetch_add(&g.unmaps, 1);
        uncache(oldest);
    }
    huge_cache.slot[huge_cache.count].map = map;
    huge_cache.slot[huge_cache.count].len = len;
    huge_cache.slot[huge_cache.count].freed_ms = now;
    huge_cache.count++;
    huge_cache.bytes += len;
    unlock(&huge_cache_lock);
    return true;
}

/* A fresh mapping for n bytes whose payload is aligned to `align`, above
 * CHUNK: n + align bytes are mapped, and all but the chunks around the
 * aligned payload given back (the address space asked for stays near
 * glibc's, n + align, not n + 2 align).  Sets *off and *len as
 * huge_place takes them; NULL when out of memory. */
static char *map_over_aligned(size_t n, size_t align, size_t *off, size_t *len)
{
    size_t front = sizeof(huge_words) + HEADER; /* n + align + front fits: HUGE_MAX */
    size_t raw_len = align_up(n + align + front, CHUNK);
    char *raw = os_map(raw_len, CHUNK);
    if (!raw)
        return NULL;
    char *payload = (char *)align_up((uintptr_t)raw + front, align);
    char *map = (char *)((uintptr_t)(payload - front) & ~(CHUNK - 1));
    *off = (size_t)(payload - HEADER - map);
    *len = huge_length(*off, n);
    if (map > raw)
        os_unmap(raw, (size_t)(map - raw));
    if (map + *len < raw + raw_len)
        os_unmap(map + *len, (size_t)(raw + raw_len - (map + *len)));
    return map;
}

/* A fresh mapping for a huge block of n bytes aligned to align, whose
 * offset and length are *off and *len (map_over_aligned sets them). */
static char *map_huge(size_t n, size_t align, size_t *off, size_t *len)
{
    return align > CHUNK ? map_over_aligned(n, align, off, len) : os_map(*len, CHUNK);
}

/* A huge block of n bytes aligned to align; zeroed if `zero`; `growing`
 * if realloc is moving a block that grows.  A cached mapping is reused if
 * one is long enough, else a fresh one gets the pages of cached ones. */
void *huge_alloc(size_t n, size_t align, bool zero, bool growing)
{
    if (align < GRANULE)
        align = GRANULE;
    if (n > HUGE_MAX || align > HUGE_MAX - n) { /* then no size below wraps */
        errno = ENOMEM;
        return NULL;
    }
    size_t off = huge_offset(align), mapped = 0, dirty = 0;
    size_t len = huge_length(off, n);
    char *map = align <= CHUNK ? reuse_huge(len, growing, &mapped) : NULL;
    fetch_add(&g.huge_allocs, 1);
    if (map) {
        dirty = mapped;
    } else {
        map = map_huge(n, align, &off, &len);
        if (!map && give_back_address_space(false)) /* no room: make some, and ask again */
            map = map_huge(n, align, &off, &len);
        if (!map) {
            errno = ENOMEM;
            return NULL;
        }
        fetch_add(&g.maps, 1);
        mapped = len;
        if (align <= CHUNK)
            dirty = fill_from_cache(map, len);
    }
    if (dirty) {
        fetch_add(&g.huge_reused, 1);
        if (zero && dirty > off + HEADER)
            memset(map + off + HEADER, 0, n < dirty - off - HEADER ? n : dirty - off - HEADER);
    }
    if (!mark_units(map, mapped, U_HUGE_START)) {
        os_unmap(map, mapped);
        errno = ENOMEM;
        return NULL;
    }
    return huge_place(map, mapped, off, len);
}

void huge_free(block *b, const char *function)
{
    if (!(fetch_and(&b->info, ~(uint32_t)B_INUSE) & B_INUSE))
        fatal("double free of", payload_of(b), function);
    char *map = huge_map(b);
    size_t mapped = huge_words_of(map)->mapped;
    count_huge(mapped, -1);
    mark_units(map, mapped, U_HUGE_FREED);
    fetch_add(&g.huge_frees, 1);
    fetch_add(&g.huge_freed_bytes, mapped);
    if (!cache_huge(map, mapped)) {
        os_unmap(map, mapped);
        fetch_add(&g.unmaps, 1);
    }
}

/* Give the pages of a huge mapping from `from` on to the cache (or back to
 * the OS); they are no longer part of the block's mapping. */
static void drop_huge_tail(char *from, size_t len)
{
    mark_units(from, len, U_HUGE_FREED);
    if (!cache_huge(from, len)) {
        os_unmap(from, len);
        fetch_add(&g.unmaps, 1);
    }
}

/* Grow a huge mapping to len bytes with the pages of cached mappings: the
 * mapping moves to the front of a fresh one, the cache fills the rest.
 * NULL if there is nothing cached or the OS cannot. */
static char *grow_from_cache(char *map, size_t mapped, size_t len)
{
    if (!load_relaxed(&huge_cache.bytes))
        return NULL;
    char *to = os_map(len, CHUNK);
    if (!to)
        return NULL;
    if (!os_move(map, mapped, to)) {
        os_unmap(to, len);
        return NULL;
    }
    fetch_add(&g.maps, 1);
    fill_from_cache(to + mapped, len - mapped);
    return to;
}

/* Resize a huge block: within its mapping if it has room (a block that
 * shrinks below a quarter of its mapping gives the rest to the cache), else
 * by growing or moving the mapping, with cached pages if there are any;
 * NULL if the OS cannot (the caller copies). */
void *huge_resize(block *b, size_t n)
{
    char *map = huge_map(b);
    huge_words *w = huge_words_of(map);
    size_t off = w->offset, mapped = w->mapped;
    size_t len = huge_length(off, n);
    if (!len)
        return NULL;
    if (len <= mapped && (len >= w->length || len >= mapped / 4)) {
        w->length = len;
        return payload_of(b);
    }
    char *moved = map;
    if (len < mapped) {
        drop_huge_tail(map + len, mapped - len);
    } else if (!(moved = grow_from_cache(map, mapped, len)) &&
               !(moved = os_remap(map, mapped, len, CHUNK))) {
        return NULL;
    }
    if (!mark_units(moved, len, U_HUGE_START))
        fatal("no memory left to map", moved, "realloc");
    if (moved != map)
        mark_units(map, mapped, U_HUGE_FREED);
    count_huge(mapped, -1);
    return huge_place(moved, len, off, len);
}


/* Unmap every cached mapping (malloc_trim): true if there was one. */
bool empty_huge_cache(void)
{
    lock(&huge_cache_lock);
    bool any = huge_cache.count > 0;
    expire_huge(0);
    unlock(&huge_cache_lock);
    return any;
}

/* The cached mappings and their bytes, for the statistics. */
void huge_cache_stats(size_t *count, size_t *bytes)
{
    lock(&huge_cache_lock);
    *count = huge_cache.count;
    *bytes = load_relaxed(&huge_cache.bytes);
    unlock(&huge_cache_lock);
}
