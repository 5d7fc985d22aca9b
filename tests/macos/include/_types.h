/* Types several stubs share (Darwin: <sys/_types.h>). */
#ifndef STUB_TYPES_H
#define STUB_TYPES_H
#include <stddef.h>
#include <stdint.h>
typedef long ssize_t;
typedef long long off_t;
typedef unsigned short mode_t;
typedef int pid_t;
#endif
