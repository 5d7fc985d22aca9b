/* freed-realloc-region.c - realloc a freed 500 KB block of a region.
 * Expect: bimp: use of freed block <p> (in realloc) */
#include "misuse.h"

int main(void)
{
    char *p = malloc(500000);
    memset(p, 'f', 500000);
    announce(p);
    free(p);
    p = realloc(launder(p), 600000);
    return survived();
}
