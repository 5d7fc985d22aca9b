/* check-stack-path.c - BIMP_CHECK=1: the stacks in a report are the
 * block's own, though stacks are kept and taken again from a cache: blocks
 * are made and freed many times through one path, then the buggy one
 * through another that shares the innermost frames and the stack depth.
 * Expect: bimp: overflow past the end of <p> (in free), allocated at
 * block_made_here <- path_b <- main. */
#include "misuse.h"

__attribute__((noinline)) char *path_a(size_t n)
{
    char *volatile p = block_made_here(n);
    return p;
}

__attribute__((noinline)) char *path_b(size_t n)
{
    char *volatile p = block_made_here(n);
    return p;
}

int main(void)
{
    for (int i = 0; i < 1000; i++)
        free(path_a(32));
    char *p = path_b(32);
    announce(p);
    ((char *)launder(p))[32] = 'x';
    free(p);
    return survived();
}
