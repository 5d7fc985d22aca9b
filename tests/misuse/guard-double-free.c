/* guard-double-free.c - BIMP_GUARD_RATE=1: a guarded block freed twice.
 * Expect: bimp: double free of <p> (in free), its stacks. */
#include "misuse.h"

int main(void)
{
    free(malloc(8));
    char *p = block_made_here(100);
    announce(p);
    block_freed_here(p);
    free(launder(p));
    return survived();
}
