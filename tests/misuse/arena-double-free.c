/* arena-double-free.c - free of an arena's block twice (below its top).
 * Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

int main(void)
{
    void *a = ARENA_CREATE();
    char *p = ARENA_ALLOC(a, 100);
    ARENA_ALLOC(a, 100);
    free(p);
    announce(p);
    free(launder(p));
    return survived();
}
