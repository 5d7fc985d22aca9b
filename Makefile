# Bimp: `make` builds the library, `make test` runs the tests (`make
# test-long` their long forms too), `make debug`
# builds the library with its invariant checkers on after every operation.

VERSION := $(shell sed -n 's/^\#define BIMP_VERSION "\(.*\)"/\1/p' bimp.h)
VERSION_MAJOR := $(firstword $(subst ., ,$(VERSION)))
UNAME := $(shell uname -s)
ifeq ($(UNAME),Darwin)
  PLATFORM := platform_mac.c
  LIB := libbimp.dylib
  LIBFLAGS := -dynamiclib -DBIMP_PREFIX
else
  PLATFORM := platform_linux.c
  LIB := libbimp.so
  # nodelete: a thread may still run Bimp's exit hook after a dlclose.
  LIBFLAGS := -shared -Wl,-soname,libbimp.so.$(VERSION_MAJOR) -Wl,-z,nodelete
  # The prefixed library: bimp_malloc, bimp_free, ... beside the C library's.
  PLIB := libbimp-prefixed.so
  PLIBFLAGS := -shared -Wl,-soname,$(PLIB).$(VERSION_MAJOR) -Wl,-z,nodelete -DBIMP_PREFIX
endif

CC ?= cc
CFLAGS ?= -O2 -g
# Inside the allocator the compiler must not turn malloc+memset into calloc
# (which would call itself) or assume anything about these functions.
# Pairing two pointer stores into one vector store costs the fast paths four
# instructions for two (callgrind: 7% more per malloc/free pair).
BIMP_CFLAGS := -std=gnu11 -Wall -Wextra -fPIC -fvisibility=hidden -pthread \
  -fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free \
  -fno-builtin-memset -fno-builtin-memcpy -ftls-model=initial-exec -fno-tree-slp-vectorize
BIMP_DIR := .
include sources.mk
SOURCES := $(BIMP_CORE) $(PLATFORM)
HEADERS := $(BIMP_HEADERS)

all: $(LIB) $(PLIB)

# Each library with its soname link beside it: programs linked with -L. -lbimp
# (or -lbimp-prefixed) find it.
$(LIB): $(SOURCES) $(HEADERS) Makefile sources.mk
	$(CC) $(BIMP_CFLAGS) $(CFLAGS) $(LIBFLAGS) -o $@ $(SOURCES) -pthread
ifneq ($(UNAME),Darwin)
	ln -sf $(LIB) $(LIB).$(VERSION_MAJOR)

$(PLIB): $(SOURCES) $(HEADERS) Makefile sources.mk
	$(CC) $(BIMP_CFLAGS) $(CFLAGS) $(PLIBFLAGS) -o $@ $(SOURCES) -pthread
	ln -sf $(PLIB) $(PLIB).$(VERSION_MAJOR)
endif

# Variant builds used by the tests: build/<name>/libbimp.so
VARIANTS := debug debug32 debug64 align32 align64 seterrno single prefix tier tierdebug tierdebug64 tiersingle
VARIANT_FLAGS_debug := -DBIMP_DEBUG -O1
VARIANT_FLAGS_debug32 := -DBIMP_DEBUG -O1 -DBIMP_ALIGN=32
VARIANT_FLAGS_debug64 := -DBIMP_DEBUG -O1 -DBIMP_ALIGN=64
VARIANT_FLAGS_align32 := -DBIMP_ALIGN=32
VARIANT_FLAGS_align64 := -DBIMP_ALIGN=64
VARIANT_FLAGS_seterrno := -DBIMP_SET_ERRNO
VARIANT_FLAGS_single := -DBIMP_SINGLE_THREADED
VARIANT_FLAGS_prefix := -DBIMP_PREFIX
VARIANT_FLAGS_tier := -DBIMP_SMALL_TIER
VARIANT_FLAGS_tierdebug := -DBIMP_SMALL_TIER -DBIMP_DEBUG -O1
VARIANT_FLAGS_tierdebug64 := -DBIMP_SMALL_TIER -DBIMP_DEBUG -O1 -DBIMP_ALIGN=64
VARIANT_FLAGS_tiersingle := -DBIMP_SMALL_TIER -DBIMP_SINGLE_THREADED

build/%/$(LIB): $(SOURCES) $(HEADERS) Makefile sources.mk
	@mkdir -p $(dir $@)
	$(CC) $(BIMP_CFLAGS) $(CFLAGS) $(VARIANT_FLAGS_$*) $(LIBFLAGS) -o $@ $(SOURCES) -pthread

debug: build/debug/$(LIB)

variants: $(foreach v,$(VARIANTS),build/$(v)/$(LIB))

# The libraries build in parallel (one job per core), then the tests run.
JOBS := $(shell nproc 2>/dev/null || echo 2)
test:
	@$(MAKE) --no-print-directory -j$(JOBS) all variants
	@tests/run

# The long forms too: every build of each test, stress and fuzzing for minutes.
test-long:
	@$(MAKE) --no-print-directory -j$(JOBS) all variants
	@LONG=1 tests/run

bench: all
	@bench/install-deps
	bench/run

clean:
	rm -rf $(LIB) $(LIB).$(VERSION_MAJOR) $(PLIB) $(PLIB).$(VERSION_MAJOR) build tests/build bench/build

# make install / uninstall (PREFIX, DESTDIR): see install.mk
-include install.mk

.PHONY: all debug variants test test-long bench clean
