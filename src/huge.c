/* src/huge.c - blocks above the huge threshold: runs of regions up to 4 MiB,
 * mappings of their own above, and the cache of freed ones. */

#include "internal.h"

/* ======================================================================== */
/* Huge blocks                                                              */
/* ======================================================================== */

static void count_huge(size_t len, int sign)
{
    if (sign > 0) {
        size_t n = fetch_add(&rare.huge_blocks, 1) + 1;
        size_t bytes = fetch_add(&rare.huge_bytes, len) + len;
        if (n > load_relaxed(&rare.peak_huge_blocks))
            store_relaxed(&rare.peak_huge_blocks, n);
        if (bytes > load_relaxed(&rare.peak_huge_bytes))
            store_relaxed(&rare.peak_huge_bytes, bytes);
    } else {
        fetch_sub(&rare.huge_blocks, 1);
        fetch_sub(&rare.huge_bytes, len);
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

/* Huge blocks up to REGION_BLOCK_MAX are cut from regions: big mappings,
 * each as big as all before it (REGION_MIN to REGION_MAX), so that a program
 * holding thousands of them leaves the kernel a few mappings, not one per
 * block (a fork copies every mapping and its page tables; the kernel allows
 * 65,530 mappings).  A block takes a run of REGION_GRAINs, first fit from
 * the lowest free grain, so that blocks lie as densely as glibc's (the page
 * tables a fork copies follow the address space the blocks spread over).
 * A byte per grain, in the region's first grains, says what the grain is
 * (enum grain_state); the address map marks the region's units U_REGION.
 * Larger blocks keep a mapping of their own, which mremap grows or moves
 * without copying.  All of it is under huge_lock.  Invariants (checked by
 * check_region in debug builds):
 *  R1. The first meta_grains(grains) grains are RG_META, no other is.
 *  R2. No grain below first_free is RG_FREE; free_grains counts RG_FREE,
 *      hole_grains RG_HOLE (grains where nothing of Bimp's is mapped).
 *  R3. A run starts with RG_START (a live block) or RG_FREED (a cached
 *      one); RG_BODY follows only RG_START or RG_BODY. */
#define REGION_BLOCK_MAX ((size_t)4 << 20)
#define REGION_MIN ((size_t)32 << 20)
#define REGION_MAX ((size_t)1 << 30)
#define REGION_SLOTS 64
_Static_assert(REGION_MIN >= 4 * REGION_BLOCK_MAX && REGION_MIN % CHUNK == 0, "a region holds several blocks");
_Static_assert(CHUNK % REGION_GRAIN == 0, "a unit of the address map is whole grains");

lock_t huge_lock;
static struct region {
    char *base;
    uint8_t *state;     /* a byte per grain (enum grain_state), at base */
    size_t grains;
    size_t first_free;  /* no grain below it is free */
    size_t free_grains;
    size_t hole_grains; /* unmapped while the region is in use, never reused */
} regions[REGION_SLOTS];
static size_t region_count, region_bytes;

#define GRAINS_PER_UNIT (CHUNK / REGION_GRAIN)

/* The grains at a region's start that hold the state of its grains. */
static size_t meta_grains(size_t grains)
{
    return align_up(grains, REGION_GRAIN) / REGION_GRAIN;
}

/* The region p lies in; NULL if none.  A hole is no longer its region's:
 * a later mapping (even another region) may lie there. */
static struct region *region_of(const void *p)
{
    for (size_t i = 0; i < region_count; i++) {
        size_t at = (size_t)((const char *)p - regions[i].base);
        if (at < regions[i].grains * REGION_GRAIN && regions[i].state[at / REGION_GRAIN] != RG_HOLE)
            return &regions[i];
    }
    return NULL;
}

static size_t grain_of(struct region *r, const void *p)
{
    return (size_t)((const char *)p - r->base) / REGION_GRAIN;
}

static char *grain_at(struct region *r, size_t i)
{
    return r->base + i * REGION_GRAIN;
}

/* Invariants R1-R3 of region r (debug builds). */
static void check_region(struct region *r)
{
    if (!DEBUG_CHECKS)
        return;
    size_t meta = meta_grains(r->grains), free = 0, holes = 0;
    for (size_t i = 0; i < r->grains; i++) {
        unsigned s = r->state[i], before = i ? r->state[i - 1] : RG_META;
        REQUIRE((i < meta) == (s == RG_META), "R1: a region's state is its first grains", grain_at(r, i));
        REQUIRE(s != RG_FREE || i >= r->first_free, "R2: no free grain below first_free", grain_at(r, i));
        REQUIRE(s != RG_BODY || before == RG_START || before == RG_BODY, "R3: a body follows its start", grain_at(r, i));
        free += s == RG_FREE;
        holes += s == RG_HOLE;
    }
    REQUIRE(free == r->free_grains && holes == r->hole_grains, "R2: the counts of free grains and holes", r->base);
}

/* [p, p + len) of region r is now `first` and then `rest` (the counts
 * are already what they will be). */
static void set_grains(struct region *r, const void *p, size_t len, unsigned first, unsigned rest)
{
    size_t i = grain_of(r, p), end = i + len / REGION_GRAIN;
    r->state[i] = (uint8_t)first;
    memset(r->state + i + 1, (int)rest, end - i - 1);
    check_region(r); /* R1-R3 */
}

/* How many grains from i on (at most k) are free. */
static size_t free_grains_at(struct region *r, size_t i, size_t k)
{
    size_t n = 0;
    while (n < k && i + n < r->grains && r->state[i + n] == RG_FREE)
        n++;
    return n;
}

/* The first free run of k grains in r; r->grains if there is none. */
static size_t free_run(struct region *r, size_t k)
{
    for (size_t i = r->first_free; i + k <= r->grains;) {
        size_t n = free_grains_at(r, i, k);
        if (n == k)
            return i;
        i += n + 1;
    }
    return r->grains;
}

/* Grains [i, i + k) of r now hold a block (its start, then its body). */
static void claim(struct region *r, size_t i, size_t k, unsigned first)
{
    r->free_grains -= k;
    if (i == r->first_free)
        r->first_free = i + k;
    set_grains(r, grain_at(r, i), k * REGION_GRAIN, first, RG_BODY);
}

/* A fresh mapping, [map, map + len), recorded in the address map as `kind`
 * (a huge block's or a region); NULL (and unmapped) if the address map has
 * no room to say so, or map is NULL. */
static char *recorded(char *map, size_t len, unsigned kind)
{
    if (!map)
        return NULL;
    if (!mark_units(map, len, kind)) {
        os_unmap(map, len);
        return NULL;
    }
    fetch_add(&rare.maps, 1);
    return map;
}

/* A new region with room for len bytes; NULL if the OS has no room for one
 * (the block then gets a mapping of its own). */
static struct region *add_region(size_t len)
{
    if (region_count == REGION_SLOTS)
        return NULL;
    size_t size = region_bytes < REGION_MIN ? REGION_MIN : region_bytes > REGION_MAX ? REGION_MAX : region_bytes;
    char *base = NULL, *newest = region_count ? regions[region_count - 1].base : NULL;
    for (; size >= REGION_MIN / 4 && size >= 2 * len; size /= 2) {
        /* right below the newest region (mappings grow down), so that the
         * kernel counts them as one mapping; else anywhere */
        if ((uintptr_t)newest > size && (base = os_map_at(newest - size, size)))
            break;
        if ((base = os_map(size, CHUNK)))
            break;
    }
    if (!recorded(base, size, U_REGION))
        return NULL;
    size_t grains = size / REGION_GRAIN, meta = meta_grains(grains);
    struct region *r = &regions[region_count++];
    *r = (struct region){ .base = base, .state = (uint8_t *)base, .grains = grains, .first_free = meta,
                          .free_grains = grains - meta };
    memset(r->state, RG_META, meta); /* the rest is RG_FREE (0), as the OS gave it */
    region_bytes += size;
    return r;
}

/* A run of len bytes (whole grains) from a region, marked a block's;
 * NULL if there is none and no new region can be made. */
static char *region_take(size_t len)
{
    size_t k = len / REGION_GRAIN, i = 0;
    lock(&huge_lock);
    struct region *r = NULL;
    for (size_t j = 0; j < region_count && !r; j++)
        if (regions[j].free_grains >= k && (i = free_run(&regions[j], k)) < regions[j].grains)
            r = &regions[j];
    if (!r && (r = add_region(len)))
        i = r->first_free;
    if (r)
        claim(r, i, k, RG_START);
    unlock(&huge_lock);
    return r ? grain_at(r, i) : NULL;
}

/* Extend the region block whose run is [map, map + mapped) to len bytes in
 * place: true if the grains after it were free, and are now its. */
static bool region_extend(char *map, size_t mapped, size_t len)
{
    lock(&huge_lock);
    struct region *r = region_of(map);
    size_t i = r ? grain_of(r, map + mapped) : 0, k = (len - mapped) / REGION_GRAIN;
    bool ok = r && free_grains_at(r, i, k) == k;
    if (ok)
        claim(r, i, k, RG_BODY);
    unlock(&huge_lock);
    return ok;
}

/* The grains of [p, p + len) of region r, with no pages, are free again. */
static void unclaim(struct region *r, char *p, size_t len)
{
    r->free_grains += len / REGION_GRAIN;
    if (grain_of(r, p) < r->first_free)
        r->first_free = grain_of(r, p);
    set_grains(r, p, len, RG_FREE, RG_FREE);
}

/* Unmap the units of region r (CHUNK-sized) that are wholly free: they
 * become holes.  True if any went. */
static bool punch_holes(struct region *r)
{
    bool any = false;
    for (size_t i = 0; i < r->grains; i += GRAINS_PER_UNIT) {
        if (free_grains_at(r, i, GRAINS_PER_UNIT) < GRAINS_PER_UNIT)
            continue;
        r->free_grains -= GRAINS_PER_UNIT;
        r->hole_grains += GRAINS_PER_UNIT;
        mark_units(grain_at(r, i), CHUNK, U_NONE); /* first: a stale pointer into it is no block */
        set_grains(r, grain_at(r, i), CHUNK, RG_HOLE, RG_HOLE);
        os_unmap(grain_at(r, i), CHUNK);
        fetch_add(&rare.unmaps, 1);
        any = true;
    }
    return any;
}

/* Unmap region r, which holds no block (not its holes: one may hold
 * somebody else's mapping by now), and forget it. */
static void unmap_region(struct region *r)
{
    region_bytes -= r->grains * REGION_GRAIN;
    size_t first = 0; /* the run with the state goes last */
    for (size_t i = 0; i < r->grains;) {
        size_t n = 0;
        while (i + n < r->grains && r->state[i + n] != RG_HOLE)
            n++;
        if (n) /* (not the holes: other mappings may be recorded there) */
            mark_units(grain_at(r, i), n * REGION_GRAIN, U_NONE);
        if (i == 0)
            first = n;
        else if (n)
            os_unmap(grain_at(r, i), n * REGION_GRAIN);
        i += n + (n == 0);
    }
    os_unmap(r->base, first * REGION_GRAIN);
    fetch_add(&rare.unmaps, 1);
    *r = regions[--region_count];
}

/* Give back address space: the regions with no block are unmapped, and
 * with `holes` (under address-space pressure) the free units of the others
 * too.  True if anything went back. */
static bool unmap_free_regions(bool holes)
{
    bool any = false;
    for (size_t i = 0; i < region_count;) {
        struct region *r = &regions[i];
        if (r->free_grains + r->hole_grains + meta_grains(r->grains) == r->grains) {
            unmap_region(r);
            any = true;
        } else {
            any |= holes && punch_holes(r);
            i++;
        }
    }
    return any;
}

/* What the grain at a, in a region, is (enum grain_state). */
unsigned region_state(const void *a)
{
    lock(&huge_lock);
    struct region *r = region_of(a);
    unsigned s = r ? r->state[grain_of(r, a)] : RG_HOLE;
    unlock(&huge_lock);
    return s;
}

/* A huge block's run or mapping starts at map. */
bool huge_starts_at(const char *map)
{
    unsigned k = unit_kind((uintptr_t)map);
    if (k == U_HUGE_START)
        return !((uintptr_t)map & (CHUNK - 1));
    return k == U_REGION && !((uintptr_t)map & (REGION_GRAIN - 1)) && region_state(map) == RG_START;
}

/* ======================================================================== */
/* The cache of freed huge blocks                                           */
/* ======================================================================== */

/* Recently freed huge blocks' runs and mappings, kept for BIMP_HUGE_DELAY
 * for the next huge request: fresh memory costs a page fault and a page of
 * zeroing for every page the program touches, reused memory nothing. */
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

static bool regional(const char *map)
{
    return unit_kind((uintptr_t)map) == U_REGION;
}

/* [map, map + len) holds a live huge block (starting at map); false if
 * the address map has no room to say so. */
static bool mark_live(char *map, size_t len)
{
    if (!regional(map))
        return mark_units(map, len, U_HUGE_START);
    lock(&huge_lock);
    set_grains(region_of(map), map, len, RG_START, RG_BODY);
    unlock(&huge_lock);
    return true;
}

/* A freed block's run or mapping (or part of it) goes back: its pages to
 * the OS, its grains to the region, or the mapping is unmapped. */
static void drop(char *map, size_t len)
{
    struct region *r = region_of(map);
    if (r) {
        os_purge(map, len);
        fetch_add(&rare.purges, 1);
        unclaim(r, map, len);
    } else {
        os_unmap(map, len);
        fetch_add(&rare.unmaps, 1);
    }
}

static void uncache(size_t i)
{
    huge_cache.bytes -= huge_cache.slot[i].len;
    huge_cache.slot[i] = huge_cache.slot[--huge_cache.count];
}

/* Drop the cached runs and mappings older than the purge delay (all if now is 0). */
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

/* A cached run or mapping with room for len bytes aligned to align, its
 * pages still present; *mapped is set to its length.  For a block that
 * realloc is growing the longest one (the block will likely grow on, into
 * it), else the shortest one long enough; NULL if none is. */
static char *reuse_huge(size_t len, size_t align, bool growing, size_t *mapped)
{
    size_t pick = HUGE_CACHE_SLOTS;
    lock(&huge_lock);
    expire_huge(os_now_ms());
    for (size_t i = 0; i < huge_cache.count; i++) {
        size_t have = huge_cache.slot[i].len;
        if (have >= len && (align <= REGION_GRAIN || !regional(huge_cache.slot[i].map)) &&
            (pick == HUGE_CACHE_SLOTS || (have < huge_cache.slot[pick].len) != growing))
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
            if (!regional(huge_cache.slot[i].map) &&
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

/* A freed block's run or mapping, or its tail: kept for reuse if the cache
 * has room for it (the oldest make way), else dropped. */
static void retire(char *map, size_t len)
{
    bool in_region = regional(map);
    if (!in_region)
        mark_units(map, len, U_HUGE_FREED);
    lock(&huge_lock);
    if (in_region)
        set_grains(region_of(map), map, len, RG_FREED, RG_FREED);
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

/* ======================================================================== */
/* Allocation, free, resize                                                 */
/* ======================================================================== */

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
    *len = huge_length(*off, n, CHUNK);
    if (map > raw)
        os_unmap(raw, (size_t)(map - raw));
    if (map + *len < raw + raw_len)
        os_unmap(map + *len, (size_t)(raw + raw_len - (map + *len)));
    return map;
}

/* Room for a huge block of n bytes aligned to align, whose offset and
 * length are *off and *len: a run of `run` bytes of a region if run is not
 * 0 (*len counted in grains), else, or if no region has room, a mapping of
 * its own (*len counted in CHUNKs; map_over_aligned sets *off).  *mapped
 * is set to the length of the run or mapping. */
static char *map_huge(size_t n, size_t align, size_t *off, size_t *len, size_t run, size_t *mapped)
{
    char *map = run ? region_take(run) : NULL;
    if (map) {
        *mapped = run;
        return map;
    }
    *len = huge_length(*off, n, CHUNK);
    map = align > CHUNK ? map_over_aligned(n, align, off, len) : os_map(*len, CHUNK);
    *mapped = *len;
    return recorded(map, *len, U_HUGE_START);
}

/* A huge block of n bytes aligned to align; zeroed if `zero`; `growing`
 * if realloc is moving a block that grows.  A cached run or mapping is
 * reused if one is long enough, else a fresh one is made (a fresh mapping
 * of its own gets the pages of cached ones). */
void *huge_alloc(size_t n, size_t align, bool zero, bool growing)
{
    if (align < GRANULE)
        align = GRANULE;
    if (n > HUGE_MAX || align > HUGE_MAX - n) { /* then no size below wraps */
        errno = ENOMEM;
        return NULL;
    }
    size_t off = huge_offset(align), mapped = 0, dirty = 0;
    size_t len = huge_length(off, n, REGION_GRAIN), run = 0;
    if (align <= REGION_GRAIN && len && len <= REGION_BLOCK_MAX) {
        /* a run of a region; one that realloc grows gets room to grow into
         * twice its size (pages come only where it writes), else blocks
         * that grow side by side would be copied at every step */
        size_t twice = growing ? huge_length(off, 2 * n, REGION_GRAIN) : len;
        run = twice < REGION_BLOCK_MAX ? twice : REGION_BLOCK_MAX;
    }
    char *map = align <= CHUNK ? reuse_huge(len, align, growing, &mapped) : NULL;
    fetch_add(&rare.huge_allocations, 1);
    if (map) {
        dirty = mapped;
        len = huge_length(off, n, huge_grain(map));
        if (!mark_live(map, mapped)) {
            retire(map, mapped);
            errno = ENOMEM;
            return NULL;
        }
    } else {
        map = map_huge(n, align, &off, &len, run, &mapped);
        if (!map && give_back_address_space(false)) /* no room: make some, and ask again */
            map = map_huge(n, align, &off, &len, run, &mapped);
        if (!map) {
            errno = ENOMEM;
            return NULL;
        }
        if (align <= CHUNK && !regional(map))
            dirty = fill_from_cache(map, len);
    }
    if (dirty) {
        fetch_add(&rare.huge_reused, 1);
        if (zero && dirty > off + HEADER)
            memset(map + off + HEADER, 0, n < dirty - off - HEADER ? n : dirty - off - HEADER);
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
    fetch_add(&rare.huge_frees, 1);
    fetch_add(&rare.huge_freed_bytes, mapped);
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
    fetch_add(&rare.maps, 1);
    fill_from_cache(to + mapped, len - mapped);
    return to;
}

/* A copied block's old run goes back at once: kept in the cache, its pages
 * would only add to the peak. */
static void drop_copied(char *map, size_t mapped)
{
    lock(&huge_lock);
    drop(map, mapped);
    unlock(&huge_lock);
}

/* Move the region block [map, map + mapped), of which `length` bytes are
 * in use, to a new run of `run` bytes: its bytes are copied (moving its
 * pages would cut the region into pieces the kernel cannot merge), and the
 * old run's pages go back at once.  The new run, or NULL if there is none. */
static char *region_move(char *map, size_t mapped, size_t length, size_t run)
{
    char *to = region_take(run);
    if (!to)
        return NULL;
    memcpy(to, map, length);
    drop_copied(map, mapped);
    return to;
}

/* Move region block b, whose run is [map, map + mapped), grown past
 * REGION_BLOCK_MAX to n bytes, to a mapping of its own (which mremap can
 * grow without copying): its bytes are copied, its old run dropped.  The
 * new block, or NULL if there is no memory (b is kept). */
static void *leave_region(block *b, char *map, size_t mapped, size_t n)
{
    void *q = huge_alloc(n, GRANULE, false, true);
    if (!q)
        return NULL;
    memcpy(q, payload_of(b), huge_usable(b));
    count_huge(mapped, -1);
    drop_copied(map, mapped);
    return q;
}

/* Resize a huge block: within its run or mapping if it has room (a block
 * that shrinks below a quarter of it gives the rest to the cache), else a
 * region's block in place if the grains after it are free, else copied to
 * a new run (or past 4 MiB to a mapping of its own), a mapping of its own
 * grown or moved (with cached pages if there are any); NULL if that cannot
 * be done (the caller copies). */
void *huge_resize(block *b, size_t n)
{
    char *map = huge_map(b);
    huge_words *w = huge_words_of(map);
    size_t off = w->offset, mapped = w->mapped;
    bool in_region = regional(map);
    size_t len = huge_length(off, n, in_region ? REGION_GRAIN : CHUNK);
    if (!len)
        return NULL;
    if (len <= mapped && (len >= w->length || len >= mapped / 4)) {
        w->length = len;
        return payload_of(b);
    }
    char *moved = map;
    size_t run = len; /* the run or mapping the block will have */
    if (len < mapped) {
        retire(map + len, mapped - len);
    } else if (in_region) { /* (room to grow into twice its size, if it moves) */
        if (len > REGION_BLOCK_MAX)
            return leave_region(b, map, mapped, n);
        run = 2 * len < REGION_BLOCK_MAX ? 2 * len : REGION_BLOCK_MAX;
        if (region_extend(map, mapped, len))
            run = len;
        else if (!(moved = region_move(map, mapped, w->length, run)))
            return NULL;
    } else if (!(moved = grow_from_cache(map, mapped, len)) && !(moved = os_remap(map, mapped, len, CHUNK))) {
        return NULL;
    }
    if (!in_region) {
        if (!mark_units(moved, len, U_HUGE_START))
            fatal("no memory left to map", moved, "realloc");
        if (moved != map)
            mark_units(map, mapped, U_HUGE_FREED);
    }
    count_huge(mapped, -1);
    return huge_place(moved, run, off, len);
}

/* Give back what the huge blocks hold unused: the cached runs and
 * mappings, and regions with no block (holes: also the free units of the
 * others).  True if anything went back. */
bool give_back_huge(bool holes)
{
    lock(&huge_lock);
    bool any = huge_cache.count > 0;
    expire_huge(0);
    any |= unmap_free_regions(holes);
    unlock(&huge_lock);
    return any;
}

/* The cached runs and mappings and their bytes, for the statistics. */
void huge_cache_stats(size_t *count, size_t *bytes)
{
    lock(&huge_lock);
    *count = huge_cache.count;
    *bytes = load_relaxed(&huge_cache.bytes);
    unlock(&huge_lock);
}

/* What the huge blocks hold unused: cached runs and mappings, and free grains. */
size_t huge_unused_bytes(void)
{
    size_t count, cached, regions_now, bytes, free_bytes;
    huge_cache_stats(&count, &cached);
    huge_region_stats(&regions_now, &bytes, &free_bytes);
    return cached + free_bytes;
}

/* The regions, their bytes (but holes) and their free bytes, for the statistics. */
void huge_region_stats(size_t *count, size_t *bytes, size_t *free_bytes)
{
    lock(&huge_lock);
    *count = region_count;
    *bytes = *free_bytes = 0;
    for (size_t i = 0; i < region_count; i++) {
        *bytes += (regions[i].grains - regions[i].hole_grains) * REGION_GRAIN;
        *free_bytes += regions[i].free_grains * REGION_GRAIN;
    }
    unlock(&huge_lock);
}
