/* check-freed-realloc.c - BIMP_CHECK=1: realloc of a freed block.
 * Expect: bimp: use of freed block <p> (in realloc), its stacks. */
#include "misuse.h"

int main(void)
{
    char *p = block_made_here(64);
    announce(p);
    block_freed_here(p);
    p = realloc(launder(p), 128);
    return survived();
}
