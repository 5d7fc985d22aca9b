# The library's portable sources, under BIMP_DIR: bimp.c (the core's hot
# paths) and its cold parts in src/ (see README, "Where to change what").
# Included by the top Makefile and by the test Makefiles that compile Bimp in.
BIMP_CORE = $(BIMP_DIR)/bimp.c $(sort $(wildcard $(BIMP_DIR)/src/*.c))
BIMP_HEADERS = $(wildcard $(BIMP_DIR)/*.h) $(wildcard $(BIMP_DIR)/src/*.h)
