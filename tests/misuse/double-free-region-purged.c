/* double-free-region-purged.c - free twice a 300 KB block whose run has
 * gone back to its region (malloc_trim purges the cache) in between.
 * Expect: bimp: double free of <p> (in free) */
#include "misuse.h"
#include <malloc.h>

int main(void)
{
    size_t n = 300000;
    char *keep = malloc(n); /* the region stays */
    char *p = malloc(n);
    memset(p, 'r', n);
    announce(p);
    free(p);
    malloc_trim(0);
    free(launder(p));
    free(keep);
    return survived();
}
