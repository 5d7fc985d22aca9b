/* arena-mark-other.c - bimp_arena_release of arena a to a mark of arena b.
 * Expect: bimp: mark of another arena <mark> (in bimp_arena_release) */
#include "misuse.h"

int main(void)
{
    void *a = ARENA_CREATE(), *b = ARENA_CREATE();
    ARENA_ALLOC(a, 100);
    ARENA_ALLOC(b, 100);
    void *mark = ARENA_MARK(b);
    ARENA_ALLOC(b, 100);
    announce(mark);
    ARENA_RELEASE(a, launder(mark));
    return survived();
}
