/* double-free-top.c - free twice the most recent allocation (the top of its
 * chunk's stack), with older blocks still live below it.
 * Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

int main(void)
{
    void *older[8];
    for (int i = 0; i < 8; i++)
        older[i] = malloc(64 + 16 * (size_t)i);
    char *p = malloc(200);
    memset(p, 't', 200);
    announce(p);
    free(p);
    free(launder(p));
    for (int i = 0; i < 8; i++)
        free(older[i]);
    return survived();
}
