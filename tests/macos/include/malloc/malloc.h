#ifndef STUB_MALLOC_MALLOC_H
#define STUB_MALLOC_MALLOC_H
#include "../_types.h"
size_t malloc_size(const void *p);
#endif
