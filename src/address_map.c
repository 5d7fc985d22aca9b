/* src/address_map.c - which CHUNK-sized units of the address space are Bimp's:
 * kept here, read by the lookups in internal.h. */

#include "internal.h"

/* ======================================================================== */
/* The address map                                                          */
/* ======================================================================== */

/* The map and free's fast range (what they mean: internal.h). */
ATOMIC(ATOMIC(uint8_t) *) unit_map[ROOT_SIZE];
lock_t unit_map_lock;
ATOMIC(uintptr_t) fast_lo, fast_granules;

/* Record [p, p + len), CHUNK-aligned, as `kind`; false if out of memory. */
bool mark_units(void *p, size_t len, unsigned kind)
{
    uintptr_t first = (uintptr_t)p >> BIMP_CHUNK_SHIFT, end = first + len / CHUNK;
    if ((end - 1) >> LEAF_BITS >= ROOT_SIZE)
        return false;
    for (uintptr_t u = first; u < end; u++) {
        ATOMIC(uint8_t) *leaf = load_acquire(&unit_map[u >> LEAF_BITS]);
        if (!leaf) {
            lock(&unit_map_lock);
            leaf = load_relaxed(&unit_map[u >> LEAF_BITS]);
            if (!leaf && !(leaf = os_map((size_t)1 << LEAF_BITS, os_page_size()))) {
                unlock(&unit_map_lock);
                return false;
            }
            store_release(&unit_map[u >> LEAF_BITS], leaf);
            unlock(&unit_map_lock);
        }
        uint8_t tag = (uint8_t)(kind == U_HUGE_START && u != first ? U_HUGE : kind);
        store_relaxed(&leaf[u & (((uintptr_t)1 << LEAF_BITS) - 1)], tag);
    }
    return true;
}

/* The break's chunks, [lo, hi), changed: tell free's fast check. */
void note_break(char *lo, char *hi)
{
    store_relaxed(&fast_granules, 0); /* briefly slower, never wrong */
    store_relaxed(&fast_lo, (uintptr_t)lo + GRANULE);
    if (hi > lo)
        store_relaxed(&fast_granules, (uintptr_t)(hi - lo - GRANULE) / GRANULE);
}


