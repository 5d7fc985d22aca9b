/* double-free-medium.c - free twice a 10 KB block that has live blocks on
 * both sides.  Expect: bimp: double free of <p> (in free) */
#include "misuse.h"

int main(void)
{
    void *before = malloc(100);
    char *p = malloc(10 * 1024);
    void *after = malloc(100);
    memset(p, 'm', 10 * 1024);
    announce(p);
    free(p);
    free(launder(p));
    free(before);
    free(after);
    return survived();
}
