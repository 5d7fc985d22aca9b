/* alignment-wrong.c - free_aligned_sized, alignment 4096, of a block from
 * malloc whose address is not a multiple of 4096.
 * Expect: bimp: wrong alignment for <p> (in free_aligned_sized) */
#include "misuse.h"

int main(void)
{
    free_aligned_sized_fn free_aligned_sized_ = (free_aligned_sized_fn)entry("free_aligned_sized");
    void *spare[4];
    int spares = 0;
    char *p = malloc(100);
    while (((uintptr_t)p & 4095) == 0 && spares < 4) { /* want one that is not 4096-aligned */
        spare[spares++] = p;
        p = malloc(100);
    }
    memset(p, 'w', 100);
    announce(p);
    free_aligned_sized_(launder(p), 4096, 100);
    while (spares > 0)
        free(spare[--spares]);
    return survived();
}
