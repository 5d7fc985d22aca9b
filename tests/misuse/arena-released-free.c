/* arena-released-free.c - free of an arena's block that a release dropped.
 * Expect: bimp: invalid pointer <p> (in free) */
#include "misuse.h"

int main(void)
{
    void *a = ARENA_CREATE();
    void *mark = ARENA_MARK(a);
    char *p = ARENA_ALLOC(a, 100);
    ARENA_ALLOC(a, 100);
    ARENA_RELEASE(a, mark);
    announce(p);
    free(launder(p));
    return survived();
}
