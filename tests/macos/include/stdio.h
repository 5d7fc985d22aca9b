#ifndef STUB_STDIO_H
#define STUB_STDIO_H
#include "_types.h"
typedef struct __sFILE FILE;
size_t fwrite(const void *p, size_t size, size_t count, FILE *f);
#endif
