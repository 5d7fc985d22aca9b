/* guard-overflow-slack.c - BIMP_GUARD_RATE=1: a byte written past a 40-byte
 * block, within its page (its end is rounded to 16), found at its free.
 * Expect: bimp: overflow past the end of <p> (in free). */
#include "misuse.h"

int main(void)
{
    free(malloc(8));
    char *p = block_made_here(40);
    announce(p);
    ((char *)launder(p))[40] = 'x';
    free(p);
    return survived();
}
