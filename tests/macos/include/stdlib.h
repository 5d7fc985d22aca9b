#ifndef STUB_STDLIB_H
#define STUB_STDLIB_H
#include "_types.h"
void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *p, size_t size);
void *reallocf(void *p, size_t size);
void free(void *p);
void *valloc(size_t size);
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **out, size_t align, size_t size);
_Noreturn void abort(void);
void arc4random_buf(void *buf, size_t n);
const char *getprogname(void);
#endif
