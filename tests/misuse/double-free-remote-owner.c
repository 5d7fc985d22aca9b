/* double-free-remote-owner.c - the main thread allocates a block, another
 * thread frees it (a remote free, not yet applied by the owner), then the
 * owner frees it again.
 * Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

#include <pthread.h>

static char *block;

static void *freer(void *arg)
{
    (void)arg;
    free(block);
    return NULL;
}

int main(void)
{
    block = malloc(48);
    memset(block, 'x', 48);
    char *above = malloc(48); /* so the block is not the top */
    pthread_t t;
    pthread_create(&t, NULL, freer, NULL);
    pthread_join(t, NULL);
    announce(block);
    free(launder(block));
    free(above);
    return survived();
}
