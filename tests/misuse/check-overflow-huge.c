/* check-overflow-huge.c - BIMP_CHECK=1: a string's terminator past the
 * end of a 3 MiB block, found at its free.  Expect: bimp: overflow past the
 * end of <p> (in free). */
#include "misuse.h"

int main(void)
{
    size_t n = (size_t)3 << 20;
    char *p = block_made_here(n);
    announce(p);
    memset(launder(p), 'a', n);
    p[n] = 0;
    free(p);
    return survived();
}
