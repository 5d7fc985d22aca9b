#ifndef STUB_CRT_EXTERNS_H
#define STUB_CRT_EXTERNS_H
char ***_NSGetEnviron(void);
#endif
