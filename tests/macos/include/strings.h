#ifndef STUB_STRINGS_H
#define STUB_STRINGS_H
#include "_types.h"
int strncasecmp(const char *a, const char *b, size_t n);
#endif
