/* guard-overflow.c - BIMP_GUARD_RATE=1 (every allocation guarded): a read
 * one byte past a 48-byte block faults against its guard page.  Expect:
 * bimp: overflow past the end of <p>, the access, where it was allocated. */
#include "misuse.h"

int main(void)
{
    free(malloc(8)); /* a thread's first block is never guarded */
    char *p = block_made_here(48);
    announce(p);
    volatile char c = ((volatile char *)launder(p))[48];
    (void)c;
    return survived();
}
