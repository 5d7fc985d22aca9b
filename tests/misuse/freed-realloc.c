/* freed-realloc.c - realloc a block just freed (a newer block keeps it
 * below the top).  Expect: bimp: use of freed block <p> (in realloc) */
#include "misuse.h"

int main(void)
{
    char *p = malloc(100);
    void *newer = malloc(100);
    memset(p, 'r', 100);
    free(p);
    announce(p);
    void *q = realloc(launder(p), 200);
    printf("realloc returned %p\n", q);
    free(newer);
    return survived();
}
