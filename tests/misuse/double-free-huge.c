/* double-free-huge.c - free twice a 4 MiB block (a mapping of its own, gone
 * after the first free).  Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

int main(void)
{
    size_t n = (size_t)4 << 20;
    char *p = malloc(n);
    memset(p, 'h', n);
    announce(p);
    free(p);
    free(launder(p));
    return survived();
}
