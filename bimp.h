/* bimp.h - Bimp, a bump allocator that is a drop-in malloc replacement.
 *
 * Programs need no header to use Bimp: preloading libbimp.so replaces the C
 * library's malloc family.  This header declares what Bimp adds beside it.
 */
#ifndef BIMP_H
#define BIMP_H

#define BIMP_VERSION_MAJOR 0
#define BIMP_VERSION_MINOR 1
#define BIMP_VERSION_PATCH 0
#define BIMP_VERSION "0.1.0"

#endif
