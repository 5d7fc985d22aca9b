/* invalid-mmap.c - free an address inside a mapping the program made itself.
 * The mapping is filled with junk and the address sits just past a 4 MiB
 * boundary of it, where Bimp, had it made the mapping, would keep a chunk
 * header: Bimp must not trust what it finds there.
 * Expect: bimp: invalid pointer <p> (in free) */
#include "misuse.h"

#include <sys/mman.h>

int main(void)
{
    size_t align = (size_t)4 << 20, span = 2 * align;
    char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 2;
    char *base = (char *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
    memset(base, 0xa5, 65536);
    char *p = base + 4096 + 64;
    announce(p);
    free(launder(p));
    return survived();
}
