/* freed-usable.c - malloc_usable_size of a block just freed (a newer block
 * keeps it below the top).
 * Expect: bimp: use of freed block <p> (in malloc_usable_size) */
#include "misuse.h"

#include <malloc.h>

int main(void)
{
    char *p = malloc(100);
    void *newer = malloc(100);
    memset(p, 'u', 100);
    free(p);
    announce(p);
    size_t n = malloc_usable_size(launder(p));
    printf("malloc_usable_size returned %zu\n", n);
    free(newer);
    return survived();
}
