# adopt-tui — hand-written Makefile.
#
#   make            build build/adopt-tui
#   make demo       build and open the workbench on a bundled example
#   make check      install missing packages, build, run every test (normal + ASan/UBSan)
#   make asan       build the sanitizer binary build-asan/adopt-tui
#   make deps       install the Debian -dev packages pkg-config cannot find
#   make install    PREFIX=/usr/local DESTDIR= (binary, man pages, themes)
#   make V=1        show full commands
#
# Every src/**/*.c except src/main.c goes into one static library; every tests/unit/test_*.c
# becomes its own cmocka binary linked against it.  Adding a file never needs an edit here.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DATADIR   ?= $(PREFIX)/share/adopt-tui

PKGS      := ncursesw libcurl libcjson libpcre2-8 libcrypto
TEST_PKGS := cmocka libmicrohttpd
# pkg-config name -> Debian package that provides it (used by `make deps`).
DEB_ncursesw      := libncurses-dev
DEB_libcurl       := libcurl4-openssl-dev
DEB_libcjson      := libcjson-dev
DEB_libpcre2-8    := libpcre2-dev
DEB_libcrypto     := libssl-dev
DEB_cmocka        := libcmocka-dev
DEB_libmicrohttpd := libmicrohttpd-dev

CC        ?= cc
SANITIZE  ?= 0
ifeq ($(SANITIZE),1)
BUILD     ?= build-asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       ?= -O1 -g
else
BUILD     ?= build
SAN_FLAGS :=
OPT       ?= -O2 -g
endif

VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wno-format-nonliteral
HAVE_PKGS  = $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
PKG_CFLAGS = $(if $(HAVE_PKGS),$(shell pkg-config --cflags $(PKGS)))
PKG_LIBS   = $(if $(HAVE_PKGS),$(shell pkg-config --libs $(PKGS)))
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

CPPFLAGS  += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DADOPT_VERSION='"$(VERSION)"' \
             -DADOPT_DATADIR='"$(DATADIR)"' -Isrc
CFLAGS    ?= $(OPT)
CFLAGS    += -std=c11 $(WARN) $(SAN_FLAGS) -MMD -MP
LDFLAGS   += $(SAN_FLAGS)
LDLIBS    += -lm

ifeq ($(V),1)
Q :=
echo_cmd =
else
Q := @
echo_cmd = @printf '  %-6s %s\n' $(1) $(2);
endif

LIB_SRC   := $(sort $(wildcard src/core/*.c src/llm/*.c src/engine/*.c src/tui/*.c src/*.c))
LIB_SRC   := $(filter-out src/main.c,$(LIB_SRC))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
GEN_SRC   := $(BUILD)/gen/builtin.c
GEN_OBJ   := $(BUILD)/gen/builtin.o
BUILTIN_IN := $(sort $(wildcard themes/*.theme)) $(sort $(wildcard src/engine/roles/*.txt)) \
              $(wildcard src/tui/keys.conf)
TEST_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN  := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
SERVER_BIN := $(if $(SUPPORT_SRC),$(BUILD)/tests/llm-server)
BIN       := $(BUILD)/adopt-tui

.PHONY: all deps-ok demo check check-normal check-asan asan deps install uninstall clean bench format \
        format-check tests
# Every compile waits for deps-ok (order-only), so `make -jN` on a fresh machine installs the
# missing packages before the first compiler runs.
all: $(BIN)

$(BIN): $(BUILD)/src/main.o $(BUILD)/libadopt.a
	$(call echo_cmd,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

$(BUILD)/libadopt.a: $(LIB_OBJ) $(GEN_OBJ)
	$(call echo_cmd,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c | deps-ok
	@mkdir -p $(dir $@)
	$(call echo_cmd,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

# Built-in defaults (themes, role prompts, key bindings) are the very files users read,
# compiled in as strings.
$(GEN_SRC): $(BUILTIN_IN) tools/embed.sh
	@mkdir -p $(dir $@)
	$(call echo_cmd,GEN,$@)
	$(Q)sh tools/embed.sh $(BUILTIN_IN) > $@.tmp && mv $@.tmp $@

$(GEN_OBJ): $(GEN_SRC) | deps-ok
	$(call echo_cmd,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libadopt.a | deps-ok
	@mkdir -p $(dir $@)
	$(call echo_cmd,TEST,$@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) $(CFLAGS) -Wno-missing-prototypes \
	    -MF $@.d -o $@ $< $(BUILD)/libadopt.a $(LDFLAGS) $(TEST_LIBS) $(PKG_LIBS) $(LDLIBS)

$(BUILD)/tests/llm-server: $(SUPPORT_SRC) $(BUILD)/libadopt.a | deps-ok
	@mkdir -p $(dir $@)
	$(call echo_cmd,LINK,$@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) $(CFLAGS) -Wno-missing-prototypes \
	    -o $@ $(SUPPORT_SRC) $(BUILD)/libadopt.a $(LDFLAGS) $(TEST_LIBS) $(PKG_LIBS) $(LDLIBS)

tests: $(BIN) $(TEST_BIN) $(SERVER_BIN)

# `make check` = dependencies, the format check, normal build + every test, then the sanitizer
# build + every test.
check: deps
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory check-normal
	$(Q)$(MAKE) --no-print-directory check-asan

check-normal: tests
	$(Q)BUILD=$(BUILD) sh tests/run.sh

check-asan:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 tests
	$(Q)BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh tests/run.sh

asan:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 all

# Install what pkg-config cannot find; silent and instant when everything is present.
deps:
	$(Q)missing=""; for p in pkg-config $(PKGS) $(TEST_PKGS); do \
	    if [ $$p = pkg-config ]; then command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	    elif ! pkg-config --exists $$p 2>/dev/null; then missing="$$missing $$p"; fi; done; \
	debs=""; for p in $$missing; do case $$p in \
	    pkg-config) debs="$$debs pkg-config";; \
	    ncursesw) debs="$$debs $(DEB_ncursesw)";; libcurl) debs="$$debs $(DEB_libcurl)";; \
	    libcjson) debs="$$debs $(DEB_libcjson)";; libpcre2-8) debs="$$debs $(DEB_libpcre2-8)";; \
	    libcrypto) debs="$$debs $(DEB_libcrypto)";; cmocka) debs="$$debs $(DEB_cmocka)";; \
	    libmicrohttpd) debs="$$debs $(DEB_libmicrohttpd)";; esac; done; \
	command -v tmux >/dev/null 2>&1 || debs="$$debs tmux"; \
	command -v clang-format >/dev/null 2>&1 || debs="$$debs clang-format"; \
	command -v python3 >/dev/null 2>&1 || debs="$$debs python3"; \
	if [ -n "$$debs" ]; then \
	    sudo=""; [ "$$(id -u)" -ne 0 ] && sudo=sudo; \
	    echo "make deps: installing$$debs"; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$debs >/dev/null; \
	fi; \
	if ! command -v chromium >/dev/null 2>&1; then \
	    sudo=""; [ "$$(id -u)" -ne 0 ] && sudo=sudo; \
	    echo "make deps: installing chromium (tests only: the HTML report in a real browser)"; \
	    { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      $$sudo apt-get install -y -qq chromium >/dev/null; } || \
	    echo "make deps: chromium could not be installed; the browser test will be skipped"; \
	fi

deps-ok:
	@pkg-config --exists $(PKGS) 2>/dev/null || $(MAKE) --no-print-directory deps
	@pkg-config --exists $(PKGS) || { echo "missing libraries: run 'make deps'"; exit 1; }

# Opens the workbench on a working copy of a bundled example (sessions/ is yours; the examples
# stay pristine).  EXAMPLE=capitals make demo picks another one.
EXAMPLE ?= hotpot-mini
demo: all
	@mkdir -p sessions
	@[ -d sessions/$(EXAMPLE) ] || cp -r examples/$(EXAMPLE) sessions/$(EXAMPLE)
	./$(BIN) sessions/$(EXAMPLE)/session.json

bench: $(BIN)
	$(Q)sh bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)/themes
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/adopt-tui
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 themes/*.theme $(DESTDIR)$(DATADIR)/themes/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/adopt-tui $(DESTDIR)$(MANDIR)/man1/adopt-tui.1 \
	      $(DESTDIR)$(MANDIR)/man5/adopt-tui-session.5
	rm -rf $(DESTDIR)$(DATADIR)

# Every C file of the project follows .clang-format, except the generated Unicode tables.  The
# check needs the clang-format the file is written for (14, Debian 12's): another version
# formats a few constructs differently, so it is skipped with a message there.
FORMAT_SRC := $(filter-out src/core/squad_unidata.h,$(sort $(wildcard src/*.[ch] src/*/*.[ch] \
               tests/unit/*.[ch] tests/support/*.[ch] fuzz/*.[ch] bench/*.[ch])))
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	$(Q)if ! clang-format --version 2>/dev/null | grep -q 'version 14\.'; then \
	    echo "format-check: skipped (needs clang-format 14, the version .clang-format is for)"; \
	elif ! clang-format --dry-run --Werror $(FORMAT_SRC) 2>/tmp/adopt-format.$$$$; then \
	    head -20 /tmp/adopt-format.$$$$; rm -f /tmp/adopt-format.$$$$; \
	    echo "format-check: the files above differ from .clang-format: run 'make format'"; exit 1; \
	else rm -f /tmp/adopt-format.$$$$; echo "format-check: ok"; fi

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d $(TEST_BIN:=.d)

# ---- fuzz targets (fuzz/, see fuzz/README) ----------------------------------------------------
# Each fuzz/fuzz_*.c is one libFuzzer target.  In the normal and ASan builds it is linked with
# fuzz/driver.c (a plain main) as $(BUILD)/fuzz/fuzz_NAME, and tests/run.sh replays its seed
# corpus and past crash inputs.  `make fuzz` builds the real fuzzers with clang in build-fuzz/;
# `make fuzz-run` runs each for FUZZ_TIME seconds.  `make valgrind` runs the unit tests under
# memcheck.
FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
ifeq ($(FUZZ),1)
FUZZ_MAIN :=
FUZZ_LINK := -fsanitize=fuzzer
else
FUZZ_MAIN := fuzz/driver.c
FUZZ_LINK :=
endif

.PHONY: fuzz fuzz-bins fuzz-run valgrind
tests: $(FUZZ_BIN)
fuzz-bins: $(FUZZ_BIN)

$(BUILD)/fuzz/%: fuzz/%.c fuzz/common.c $(FUZZ_MAIN) fuzz/fuzz.h $(BUILD)/libadopt.a
	@mkdir -p $(dir $@)
	$(call echo_cmd,FUZZ,$@)
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -Ifuzz -MF $@.d -o $@ \
	    fuzz/common.c $(FUZZ_MAIN) $< $(BUILD)/libadopt.a $(LDFLAGS) $(FUZZ_LINK) $(PKG_LIBS) $(LDLIBS)

fuzz: deps-ok
	$(Q)command -v $(FUZZ_CC) >/dev/null 2>&1 && \
	    ls $$($(FUZZ_CC) -print-resource-dir)/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 || { \
	    sudo=""; [ "$$(id -u)" -ne 0 ] && sudo=sudo; echo "make fuzz: installing clang"; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$sudo apt-get install -y -qq clang libclang-rt-dev >/dev/null; }
	$(Q)$(MAKE) --no-print-directory FUZZ=1 BUILD=build-fuzz CC=$(FUZZ_CC) OPT='-O1 -g' \
	    SAN_FLAGS='-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer' \
	    fuzz-bins

# Runs every target for FUZZ_TIME seconds from its corpus (new inputs go to build-fuzz/corpus).
fuzz-run: fuzz
	$(Q)for f in build-fuzz/fuzz/fuzz_*; do [ -x $$f ] || continue; n=$${f##*/}; \
	    mkdir -p build-fuzz/corpus/$$n; echo "== $$n"; \
	    UBSAN_OPTIONS=$${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
	    $$f -max_total_time=$(FUZZ_TIME) -timeout=10 -artifact_prefix=build-fuzz/$$n- \
	    build-fuzz/corpus/$$n fuzz/corpus/$$n $$(ls -d fuzz/regress/$$n 2>/dev/null) \
	    || exit 1; done

valgrind: tests
	$(Q)command -v valgrind >/dev/null 2>&1 || { \
	    sudo=""; [ "$$(id -u)" -ne 0 ] && sudo=sudo; echo "make valgrind: installing valgrind"; \
	    $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$sudo apt-get install -y -qq valgrind >/dev/null; }
	$(Q)BUILD=$(BUILD) sh tests/valgrind.sh

-include $(FUZZ_BIN:=.d)
