/* check-write-after-free.c - BIMP_CHECK=1: a write into a freed block,
 * found at the next free.  Expect: bimp: write after free to <p> (in free),
 * where it was allocated and freed. */
#include "misuse.h"

int main(void)
{
    char *p = block_made_here(100);
    announce(p);
    block_freed_here(p);
    ((char *)launder(p))[10] = 'x';
    free(malloc(24));
    return survived();
}
