/* size-too-large.c - free_sized with a size much larger than allocated.
 * Expect: bimp: wrong size for <p> (in free_sized) */
#include "misuse.h"

int main(void)
{
    free_sized_fn free_sized_ = (free_sized_fn)entry("free_sized");
    char *p = malloc(100);
    memset(p, 's', 100);
    announce(p);
    free_sized_(launder(p), 10000);
    return survived();
}
