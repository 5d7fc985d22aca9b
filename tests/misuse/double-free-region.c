/* double-free-region.c - free twice a 200 KB block (a run of a region,
 * freed and cached after the first free).  Expect: bimp: double free of <p>
 * (in free) */
#include "misuse.h"

int main(void)
{
    size_t n = 200000;
    char *p = malloc(n);
    memset(p, 'r', n);
    announce(p);
    free(p);
    free(launder(p));
    return survived();
}
