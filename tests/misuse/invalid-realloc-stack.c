/* invalid-realloc-stack.c - realloc a stack address.
 * Expect: bimp: invalid pointer <p> (in realloc) */
#include "misuse.h"

int main(void)
{
    _Alignas(16) char frame[256];
    memset(frame, 0, sizeof frame);
    char *p = frame + 64;
    announce(p);
    void *q = realloc(launder(p), 100);
    printf("realloc returned %p\n", q);
    return survived() + frame[0];
}
