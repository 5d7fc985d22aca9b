/* arena-mark-released.c - bimp_arena_release to a mark newer than the
 * arena's top: a release to an older mark dropped it.
 * Expect: bimp: mark newer than the arena's top, or not a mark <mark> (in bimp_arena_release) */
#include "misuse.h"

int main(void)
{
    void *a = ARENA_CREATE();
    void *older = ARENA_MARK(a);
    ARENA_ALLOC(a, 100);
    void *newer = ARENA_MARK(a);
    ARENA_ALLOC(a, 100);
    ARENA_RELEASE(a, older);
    announce(newer);
    ARENA_RELEASE(a, launder(newer));
    return survived();
}
