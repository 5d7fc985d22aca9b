/* double-free-small.c - free twice a 40-byte block.
 * Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

int main(void)
{
    char *p = malloc(40);
    memset(p, 'a', 40);
    announce(p);
    free(p);
    free(launder(p));
    return survived();
}
