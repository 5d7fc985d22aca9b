/* size-too-small.c - free_sized with a size much smaller than allocated.
 * Expect: bimp: wrong size for <p> (in free_sized) */
#include "misuse.h"

int main(void)
{
    free_sized_fn free_sized_ = (free_sized_fn)entry("free_sized");
    char *p = malloc(1000);
    memset(p, 's', 1000);
    announce(p);
    free_sized_(launder(p), 10);
    return survived();
}
