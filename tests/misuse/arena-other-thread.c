/* arena-other-thread.c - bimp_arena_mark from a thread that did not create
 * the arena.
 * Expect: bimp: arena used by a thread that did not create it <arena> (in bimp_arena_mark) */
#include "misuse.h"

#include <pthread.h>

static void *use(void *arena)
{
    ARENA_MARK(arena);
    return NULL;
}

int main(void)
{
    void *a = ARENA_CREATE();
    ARENA_ALLOC(a, 100);
    announce(a);
    pthread_t t;
    pthread_create(&t, NULL, use, a);
    pthread_join(t, NULL);
    return survived();
}
