#ifndef STUB_EXECINFO_H
#define STUB_EXECINFO_H
int backtrace(void **frames, int max);
#endif
