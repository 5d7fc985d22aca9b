#ifndef STUB_UNISTD_H
#define STUB_UNISTD_H
#include "_types.h"
int getpagesize(void);
int issetugid(void);
pid_t getpid(void);
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
#endif
