/* size-aligned.c - free_aligned_sized with the right alignment but a size
 * much larger than allocated.
 * Expect: bimp: wrong size for <p> (in free_aligned_sized) */
#include "misuse.h"

int main(void)
{
    free_aligned_sized_fn free_aligned_sized_ = (free_aligned_sized_fn)entry("free_aligned_sized");
    char *p = aligned_alloc(64, 256);
    memset(p, 'a', 256);
    announce(p);
    free_aligned_sized_(launder(p), 64, 8192);
    return survived();
}
