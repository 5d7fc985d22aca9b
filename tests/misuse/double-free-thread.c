/* double-free-thread.c - thread A allocates a block and stays alive; thread
 * B frees it twice (both frees are remote frees).
 * Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

#include <pthread.h>
#include <semaphore.h>

static sem_t allocated, release_a;
static char *block;

static void *thread_a(void *arg)
{
    (void)arg;
    block = malloc(48);
    memset(block, 'x', 48);
    sem_post(&allocated);
    sem_wait(&release_a); /* keep A's heap owned while B misbehaves */
    return NULL;
}

static void *thread_b(void *arg)
{
    (void)arg;
    announce(block);
    free(block);
    free(launder(block));
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    sem_init(&allocated, 0, 0);
    sem_init(&release_a, 0, 0);
    pthread_create(&a, NULL, thread_a, NULL);
    sem_wait(&allocated);
    pthread_create(&b, NULL, thread_b, NULL);
    pthread_join(b, NULL);
    sem_post(&release_a);
    pthread_join(a, NULL);
    return survived();
}
