/* double-free-below.c - free twice a block below the top: newer blocks
 * stay live above it, so the first free bins it instead of popping it.
 * Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

int main(void)
{
    char *p = malloc(200);
    void *newer[8];
    for (int i = 0; i < 8; i++)
        newer[i] = malloc(64 + 16 * (size_t)i);
    memset(p, 'b', 200);
    announce(p);
    free(p);
    free(launder(p));
    for (int i = 0; i < 8; i++)
        free(newer[i]);
    return survived();
}
