/* check-overflow.c - BIMP_CHECK=1: a byte written past a 40-byte block,
 * found at its free.  Expect: bimp: overflow past the end of <p> (in free),
 * the block and the byte, where it was allocated. */
#include "misuse.h"

int main(void)
{
    char *p = block_made_here(40);
    announce(p);
    launder(p);
    p[40] = 'x';
    free(p);
    return survived();
}
