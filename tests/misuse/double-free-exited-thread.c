/* double-free-exited-thread.c - a thread allocates a block and exits (its
 * heap is orphaned); the main thread then frees the block twice.
 * Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

#include <pthread.h>

static void *allocate(void *arg)
{
    (void)arg;
    char *p = malloc(48);
    memset(p, 'o', 48);
    return p;
}

int main(void)
{
    pthread_t t;
    void *p;
    pthread_create(&t, NULL, allocate, NULL);
    pthread_join(t, &p);
    announce(p);
    free(p);
    free(launder(p));
    return survived();
}
