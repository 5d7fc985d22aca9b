#ifndef STUB_FCNTL_H
#define STUB_FCNTL_H
#include "_types.h"
#define O_WRONLY 0x0001
#define O_CREAT 0x0200
#define O_TRUNC 0x0400
#define O_APPEND 0x0008
#define O_CLOEXEC 0x01000000
int open(const char *path, int flags, ...);
#endif
