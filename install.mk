# install.mk - `make install`, `make uninstall` and `make libbimp.a`;
# included by the top Makefile, whose LIB, VERSION, VERSION_MAJOR, SOURCES,
# HEADERS, CC, CFLAGS and BIMP_CFLAGS it uses.
#
#   make install   [PREFIX=/usr/local] [DESTDIR=]   installs:
#     $(LIBDIR)/libbimp.so.$(VERSION), with the symlinks libbimp.so.$(VERSION_MAJOR)
#       (the soname) and libbimp.so (for -lbimp)
#     $(LIBDIR)/libbimp.a
#     $(INCLUDEDIR)/bimp.h
#     $(PKGCONFIGDIR)/bimp.pc, made from bimp.pc.in
#     $(MANDIR)/man3/bimp.3
#   and on Linux the prefixed library (bimp_malloc, ... beside libc's malloc):
#     $(LIBDIR)/libbimp-prefixed.so.$(VERSION), with its two symlinks
#     $(PKGCONFIGDIR)/bimp-prefixed.pc
#   make uninstall [PREFIX=...] [DESTDIR=]   removes exactly those files
#     (the directories stay).
#
# Linking libbimp.a into a program replaces malloc in that program alone;
# preloading libbimp.so (or linking with -lbimp) replaces it in a program
# and every library it loads.

, := ,
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
AR ?= ar
INSTALL ?= install

# The names the shared library is installed under.
ifeq ($(LIB),libbimp.dylib)
  LIB_REAL := libbimp.$(VERSION).dylib
  LIB_LINKS := libbimp.dylib
else
  LIB_REAL := libbimp.so.$(VERSION)
  LIB_LINKS := libbimp.so.$(VERSION_MAJOR) libbimp.so
  PLIB_REAL := $(PLIB).$(VERSION)
  PLIB_LINKS := $(PLIB).$(VERSION_MAJOR) $(PLIB)
endif

# bimp.pc's directories, relative to ${prefix} where they are under PREFIX.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

INSTALLED := $(LIBDIR)/$(LIB_REAL) $(addprefix $(LIBDIR)/,$(LIB_LINKS)) \
  $(LIBDIR)/libbimp.a $(INCLUDEDIR)/bimp.h $(PKGCONFIGDIR)/bimp.pc $(MANDIR)/man3/bimp.3 \
  $(if $(PLIB),$(LIBDIR)/$(PLIB_REAL) $(addprefix $(LIBDIR)/,$(PLIB_LINKS)) $(PKGCONFIGDIR)/bimp-prefixed.pc)

# A pkg-config file from bimp.pc.in: $(call make_pc,name,description,output)
make_pc = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|g' \
  -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|g' -e 's|@VERSION@|$(VERSION)|g' \
  -e 's|@NAME@|$(1)|g' -e 's|@DESCRIPTION@|$(2)|g' bimp.pc.in >$(3)

# The static library: the same sources and flags as the shared one.
STATIC_OBJECTS := $(patsubst %.c,build/static/%.o,$(SOURCES))

build/static/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(BIMP_CFLAGS) $(CFLAGS) -c -o $@ $<

libbimp.a: $(STATIC_OBJECTS)
	rm -f $@
	$(AR) rcs $@ $^

# bimp.pc is written afresh by every install: it holds PREFIX.
install: $(LIB) $(PLIB) libbimp.a bimp.h bimp.pc.in bimp.3
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/$(LIB_REAL)
	for link in $(LIB_LINKS); do ln -sfn $(LIB_REAL) $(DESTDIR)$(LIBDIR)/$$link || exit 1; done
	$(INSTALL) -m 644 libbimp.a $(DESTDIR)$(LIBDIR)/libbimp.a
	$(INSTALL) -m 644 bimp.h $(DESTDIR)$(INCLUDEDIR)/bimp.h
	@mkdir -p build
	$(call make_pc,bimp,Bimp$(,) a bump allocator that is a drop-in malloc replacement,build/bimp.pc)
	$(INSTALL) -m 644 build/bimp.pc $(DESTDIR)$(PKGCONFIGDIR)/bimp.pc
ifneq ($(PLIB),)
	$(INSTALL) -m 755 $(PLIB) $(DESTDIR)$(LIBDIR)/$(PLIB_REAL)
	for link in $(PLIB_LINKS); do ln -sfn $(PLIB_REAL) $(DESTDIR)$(LIBDIR)/$$link || exit 1; done
	$(call make_pc,bimp-prefixed,Bimp beside the C library malloc: bimp_malloc$(,) bimp_free and the rest,build/bimp-prefixed.pc)
	$(INSTALL) -m 644 build/bimp-prefixed.pc $(DESTDIR)$(PKGCONFIGDIR)/bimp-prefixed.pc
endif
	$(INSTALL) -m 644 bimp.3 $(DESTDIR)$(MANDIR)/man3/bimp.3
	@if [ -z "$(DESTDIR)" ] && [ "$$(uname -s)" = Linux ] && [ "$$(id -u)" = 0 ] && \
	  command -v ldconfig >/dev/null 2>&1; then echo ldconfig; ldconfig; fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# `make clean` (top Makefile) removes build/, hence the objects; this removes
# the archive beside it.
clean: clean-static
clean-static:
	rm -f libbimp.a

.PHONY: install uninstall clean-static
