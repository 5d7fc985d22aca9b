/* invalid-interior-region.c - free a pointer 64 KiB into a live 200 KB
 * block of a region.  Expect: bimp: invalid pointer <p+65536> (in free) */
#include "misuse.h"

int main(void)
{
    char *p = calloc(1, 200000);
    announce(p + 65536);
    free(launder(p + 65536));
    free(p);
    return survived();
}
