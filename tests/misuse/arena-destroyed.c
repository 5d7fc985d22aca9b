/* arena-destroyed.c - bimp_arena_alloc from an arena after its destroy.
 * Expect: bimp: use of destroyed arena <arena> (in bimp_arena_alloc) */
#include "misuse.h"

int main(void)
{
    void *a = ARENA_CREATE();
    ARENA_ALLOC(a, 100);
    ARENA_DESTROY(a);
    announce(a);
    ARENA_ALLOC(launder(a), 100);
    return survived();
}
