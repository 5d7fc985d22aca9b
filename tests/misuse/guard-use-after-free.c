/* guard-use-after-free.c - BIMP_GUARD_RATE=1: a write into a guarded block
 * after its free faults.  Expect: bimp: use after free of <p>, the access,
 * where it was allocated and freed. */
#include "misuse.h"

int main(void)
{
    free(malloc(8));
    char *p = block_made_here(100);
    announce(p);
    block_freed_here(p);
    ((volatile char *)launder(p))[7] = 'x';
    return survived();
}
