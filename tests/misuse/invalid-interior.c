/* invalid-interior.c - free a pointer 16 bytes into a live block.
 * Expect: bimp: invalid pointer <p+16> (in free) */
#include "misuse.h"

int main(void)
{
    char *p = calloc(1, 100);
    void *newer = malloc(100);
    announce(p + 16);
    free(launder(p + 16));
    free(newer);
    return survived();
}
