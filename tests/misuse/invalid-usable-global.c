/* invalid-usable-global.c - malloc_usable_size of a global variable.
 * Expect: bimp: invalid pointer <p> (in malloc_usable_size) */
#include "misuse.h"

#include <malloc.h>

_Alignas(64) char global_buffer[256] = "a global, not a heap block";

int main(void)
{
    char *p = global_buffer + 64;
    announce(p);
    size_t n = malloc_usable_size(launder(p));
    printf("malloc_usable_size returned %zu\n", n);
    return survived();
}
