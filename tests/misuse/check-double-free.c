/* check-double-free.c - BIMP_CHECK=1: a block freed twice, while the check
 * mode holds it back.  Expect: bimp: double free of <p> (in free), where it
 * was allocated and first freed. */
#include "misuse.h"

int main(void)
{
    char *p = block_made_here(64);
    announce(p);
    block_freed_here(p);
    free(launder(p));
    return survived();
}
