/* invalid-misaligned.c - free a pointer one byte into a live block.
 * Expect: bimp: invalid pointer <p+1> (in free) */
#include "misuse.h"

int main(void)
{
    char *p = calloc(1, 100);
    void *newer = malloc(100);
    announce(p + 1);
    free(launder(p + 1));
    free(newer);
    return survived();
}
