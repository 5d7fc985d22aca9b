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

/* ======================================================================== */
/* Regions                                                                  */
/* ======================================================================== */

/* Huge blocks up to REGION_BLOCK_MAX are carved from regions: big mappings,
 * each twice as big as all before it (REGION_MIN to REGION_MAX), so that a
 * program holding thousands of them leaves the kernel a few mappings, not one
 * per block (a fork copies every mapping; the kernel allows 65,530).  The
 * address map says which units of a region are free (U_REGION_FREE; their
 * pages given back), a block's (U_HUGE_START, U_HUGE) or freed and cached
 * (U_HUGE_FREED); a run is taken first-fit from the lowest free unit.
 * Larger blocks keep a mapping of their own, which mremap can grow or move
 * without copying.  Everything here is under huge_lock. */
#define REGION_BLOCK_MAX ((size_t)4 << 20)
#define REGION_MIN ((size_t)32 << 20)
#define REGION_MAX ((size_t)1 << 30)
#define REGION_SLOTS 64
_Static_assert(REGION_MIN >= 4 * REGION_BLOCK_MAX && REGION_MIN % CHUNK == 0, "a region holds several blocks");

lock_t huge_lock;
static struct region {
    char *base;
    size_t units;      /* CHUNKs */
    size_t first_free; /* no unit below it is free */
    size_t free_units;
    size_t holes; /* units unmapped while the region is in use, never reused */
} regions[REGION_SLOTS];
static size_t region_count, region_bytes;

static char *unit_at(struct region *r, size_t u)
{
    return r->base + u * CHUNK;
}

static struct region *region_of(const char *p)
{
    for (size_t i = 0; i < region_count; i++)
        if ((uintptr_t)(p - regions[i].base) < regions[i].units * CHUNK)
            return &regions[i];
    return NULL;
}

/* How many units from u on (at most k) are free. */
static size_t free_units_at(struct region *r, size_t u, size_t k)
{
    size_t n = 0;
    while (n < k && u + n < r->units && unit_kind((uintptr_t)unit_at(r, u + n)) == U_REGION_FREE)
        n++;
    return n;
}

/* The first free run of k units in r; r->units if there is none. */
static size_t free_run(struct region *r, size_t k)
{
    for (size_t u = r->first_free; u + k <= r->units;) {
        size_t n = free_units_at(r, u, k);
        if (n == k)
            return u;
        u += n + 1;
    }
    return r->units;
}

/* Units [u, u + k) of r now hold a block (marked U_HUGE for now: the
 * caller marks the block). */
static void claim(struct region *r, size_t u, size_t k)
{
    mark_units(unit_at(r, u), k * CHUNK, U_HUGE);
    r->free_units -= k;
    if (u == r->first_free)
        r->first_free = u + k;
}

/* Units from p on, len bytes, of region r are free again. */
static void unclaim(struct region *r, char *p, size_t len)
{
    size_t u = (size_t)(p - r->base) / CHUNK;
    mark_units(p, len, U_REGION_FREE);
    r->free_units += len / CHUNK;
    if (u < r->first_free)
        r->first_free = u;
}

/* A new region with room for len bytes; NULL if the OS has no room for one
 * (the block then gets a mapping of its own). */
static struct region *add_region(size_t len)
{
    if (region_count == REGION_SLOTS)
        return NULL;
    size_t size = region_bytes < REGION_MIN ? REGION_MIN : region_bytes > REGION_MAX ? REGION_MAX : region_bytes;
    char *base = NULL;
    for (; size >= REGION_MIN / 4 && size >= len; size /= 2)
        if ((base = os_map(size, CHUNK)))
            break;
    if (!base)
        return NULL;
    if (!mark_units(base, size, U_REGION_FREE)) {
        os_unmap(base, size);
        return NULL;
    }
    fetch_add(&g.maps, 1);
    struct region *r = &regions[region_count++];
    *r = (struct region){ .base = base, .units = size / CHUNK, .first_free = 0, .free_units = size / CHUNK };
    region_bytes += size;
    return r;
}

/* A run of len bytes (whole CHUNKs) from a region, first fit; NULL if
 * there is none and no new region can be made. */
static char *region_take(size_t len)
{
    size_t k = len / CHUNK;
    lock(&huge_lock);
    struct region *r = NULL;
    size_t u = 0;
    for (size_t i = 0; i < region_count && !r; i++)
        if (regions[i].free_units >= k && (u = free_run(&regions[i], k)) < regions[i].units)
            r = &regions[i];
    if (!r && (r = add_region(len)))
        u = 0;
    if (r)
        claim(r, u, k);
    unlock(&huge_lock);
    return r ? unit_at(r, u) : NULL;
}

/* Extend the region block whose mapping is [map, map + mapped) to len
 * bytes in place: true if the units after it were free, and are now its. */
static bool region_extend(char *map, size_t mapped, size_t len)
{
    lock(&huge_lock);
    struct region *r = region_of(map);
    size_t u = r ? (size_t)(map + mapped - r->base) / CHUNK : 0, k = (len - mapped) / CHUNK;
    bool ok = r && free_units_at(r, u, k) == k;
    if (ok)
        claim(r, u, k);
    unlock(&huge_lock);
    return ok;
}

/* Unmap the free runs of region r (the rest is its blocks' or already
 * unmapped): they become holes, never reused.  True if there was one. */
static bool punch_holes(struct region *r)
{
    bool any = false;
    for (size_t u = r->first_free; u < r->units; u++) {
        size_t n = free_units_at(r, u, r->units);
        if (n) {
            mark_units(unit_at(r, u), n * CHUNK, U_NONE);
            os_unmap(unit_at(r, u), n * CHUNK);
            fetch_add(&g.unmaps, 1);
            r->free_units -= n;
            r->holes += n;
            any = true;
            u += n;
        }
    }
    return any;
}

/* Give back address space: the regions with no block are unmapped (only
 * their free runs: a hole may hold somebody else's mapping by now), and
 * with `holes` (under address-space pressure) the free runs of the others
 * too.  True if anything went back. */
static bool unmap_free_regions(bool holes)
{
    bool any = false;
    for (size_t i = 0; i < region_count;) {
        struct region *r = &regions[i];
        if (r->free_units + r->holes == r->units) {
            punch_holes(r);
            region_bytes -= r->units * CHUNK;
            *r = regions[--region_count];
            any = true;
        } else {
            any |= holes && punch_holes(r);
            i++;
        }
    }
    return any;
}

/* ======================================================================== */
/* The cache of freed huge blocks                                           */
/* ======================================================================== */

/* Recently freed huge blocks' mappings, kept for BIMP_HUGE_DELAY for the
 * next huge request: a fresh mapping costs a page fault and a page of
 * zeroing for every page the program touches, a reused one nothing. */
#define HUGE_CACHE_SLOTS 32
static struct {
    size_t count;
    ATOMIC(size_t) bytes; /* read without the lock by grow_from_cache */
    struct {
        char *map;
        size_t len;
        uint64_t freed_ms;
    } slot[HUGE_CACHE_SLOTS];
} huge_cache;

/* A freed block's mapping (or part of it) goes back: its pages to the OS,
 * its units to the region, or the mapping is unmapped. */
static void drop(char *map, size_t len)
{
    struct region *r = region_of(map);
    if (r) {
        os_purge(map, len);
        fetch_add(&g.purges, 1);
        unclaim(r, map, len);
    } else {
        os_unmap(map, len);
        fetch_add(&g.unmaps, 1);
    }
}

static void uncache(size_t i)
{
    huge_cache.bytes -= huge_cache.slot[i].len;
    huge_cache.slot[i] = huge_cache.slot[--huge_cache.count];
}

/* Drop the cached mappings older than the purge delay (all if now is 0). */
static void expire_huge(uint64_t now)
{
    for (size_t i = 0; i < huge_cache.count;) {
        if (now && now < huge_cache.slot[i].freed_ms + opt.huge_delay_ms) {
            i++;
            continue;
        }
        drop(huge_cache.slot[i].map, huge_cache.slot[i].len);
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
    lock(&huge_lock);
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
    unlock(&huge_lock);
    return map;
}

/* Move the pages of cached mappings of their own into [to, to + len), which
 * lies in a fresh mapping: the shortest one that covers what is left, else
 * the longest, part of it if it is longer than needed (a region's pages
 * stay: moving them would cut the region).  Returns how many bytes from
 * the start of the range now have pages (the rest is still fresh). */
static size_t fill_from_cache(char *to, size_t len)
{
    size_t filled = 0;
    lock(&huge_lock);
    expire_huge(os_now_ms());
    while (filled < len) {
        size_t need = len - filled, pick = HUGE_CACHE_SLOTS;
        for (size_t i = 0; i < huge_cache.count; i++) {
            size_t have = huge_cache.slot[i].len, best = pick == HUGE_CACHE_SLOTS ? 0 : huge_cache.slot[pick].len;
            if (!region_of(huge_cache.slot[i].map) &&
                (pick == HUGE_CACHE_SLOTS || (best < need ? have > best : have >= need && have < best)))
                pick = i;
        }
        if (pick == HUGE_CACHE_SLOTS)
            break;
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
    unlock(&huge_lock);
    return filled;
}

/* A freed block's mapping, or its tail: kept for reuse if the cache has
 * room for it (the oldest make way), else dropped. */
static void retire(char *map, size_t len)
{
    mark_units(map, len, U_HUGE_FREED);
    lock(&huge_lock);
    uint64_t now = os_now_ms();
    expire_huge(now);
    if (len > opt.huge_cache_max / 2) {
        drop(map, len);
        unlock(&huge_lock);
        return;
    }
    while (huge_cache.count > 0 &&
           (huge_cache.count == HUGE_CACHE_SLOTS || huge_cache.bytes + len > opt.huge_cache_max)) {
        size_t oldest = 0;
        for (size_t i = 1; i < huge_cache.count; i++)
            if (huge_cache.slot[i].freed_ms < huge_cache.slot[oldest].freed_ms)
                oldest = i;
        drop(huge_cache.slot[oldest].map, huge_cache.slot[oldest].len);
        uncache(oldest);
    }
    huge_cache.slot[huge_cache.count].map = map;
    huge_cache.slot[huge_cache.count].len = len;
    huge_cache.slot[huge_cache.count].freed_ms = now;
    huge_cache.count++;
    huge_cache.bytes += len;
    unlock(&huge_lock);
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

/* Room for a huge block of n bytes aligned to align, whose offset and
 * length are *off and *len (map_over_aligned sets them): a run of a region
 * if the block is small enough, else a mapping of its own (*own set). */
static char *map_huge(size_t n, size_t align, size_t *off, size_t *len, bool *own)
{
    char *map = NULL;
    if (align <= CHUNK && *len <= REGION_BLOCK_MAX)
        map = region_take(*len);
    *own = !map;
    if (map)
        return map;
    if (!(map = align > CHUNK ? map_over_aligned(n, align, off, len) : os_map(*len, CHUNK)))
        return NULL;
    fetch_add(&g.maps, 1);
    return map;
}

/* A huge block of n bytes aligned to align; zeroed if `zero`; `growing`
 * if realloc is moving a block that grows.  A cached mapping is reused if
 * one is long enough, else a fresh one (of its own) gets the pages of
 * cached ones. */
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
        bool own;
        map = map_huge(n, align, &off, &len, &own);
        if (!map && give_back_address_space(false)) /* no room: make some, and ask again */
            map = map_huge(n, align, &off, &len, &own);
        if (!map) {
            errno = ENOMEM;
            return NULL;
        }
        mapped = len;
        if (own && align <= CHUNK)
            dirty = fill_from_cache(map, len);
    }
    if (dirty) {
        fetch_add(&g.huge_reused, 1);
        if (zero && dirty > off + HEADER)
            memset(map + off + HEADER, 0, n < dirty - off - HEADER ? n : dirty - off - HEADER);
    }
    if (!mark_units(map, mapped, U_HUGE_START)) {
        retire(map, mapped);
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
    fetch_add(&g.huge_frees, 1);
    fetch_add(&g.huge_freed_bytes, mapped);
    retire(map, mapped);
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

/* Grow the mapping [map, map + mapped) of a huge block to len bytes: a
 * region's block in place if the units after it are free, a mapping of its
 * own in place or moved (with cached pages if there are any).  The mapping,
 * or NULL if it cannot grow so (the caller copies). */
static char *grow_huge(char *map, size_t mapped, size_t len)
{
    lock(&huge_lock);
    bool in_region = region_of(map) != NULL;
    unlock(&huge_lock); /* the block's region stays while the block lives */
    if (in_region)
        return region_extend(map, mapped, len) ? map : NULL;
    char *moved = grow_from_cache(map, mapped, len);
    return moved ? moved : os_remap(map, mapped, len, CHUNK);
}

/* Resize a huge block: within its mapping if it has room (a block that
 * shrinks below a quarter of its mapping gives the rest to the cache), else
 * by growing or moving the mapping; NULL if that cannot be done (the
 * caller copies). */
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
    if (len < mapped)
        retire(map + len, mapped - len);
    else if (!(moved = grow_huge(map, mapped, len)))
        return NULL;
    if (!mark_units(moved, len, U_HUGE_START))
        fatal("no memory left to map", moved, "realloc");
    if (moved != map)
        mark_units(map, mapped, U_HUGE_FREED);
    count_huge(mapped, -1);
    return huge_place(moved, len, off, len);
}

/* Give back what the huge blocks hold unused: the cached mappings, and
 * regions with no block (holes: also the free runs of the others).  True if
 * anything went back. */
bool give_back_huge(bool holes)
{
    lock(&huge_lock);
    bool any = huge_cache.count > 0;
    expire_huge(0);
    any |= unmap_free_regions(holes);
    unlock(&huge_lock);
    return any;
}

/* The cached mappings and their bytes, for the statistics. */
void huge_cache_stats(size_t *count, size_t *bytes)
{
    lock(&huge_lock);
    *count = huge_cache.count;
    *bytes = load_relaxed(&huge_cache.bytes);
    unlock(&huge_lock);
}

/* The regions, their bytes and their free bytes, for the statistics. */
void huge_region_stats(size_t *count, size_t *bytes, size_t *free_bytes)
{
    lock(&huge_lock);
    *count = region_count;
    *bytes = region_bytes;
    *free_bytes = 0;
    for (size_t i = 0; i < region_count; i++) {
        *bytes -= regions[i].holes * CHUNK;
        *free_bytes += regions[i].free_units * CHUNK;
    }
    unlock(&huge_lock);
}
