# vidpipe -- top-level, non-recursive Makefile.
#
# schema/ is the whole library, not only its contract: layers util/,
# contract/ and transport/, codec/, api/ (vidpipe.h), each using only those
# before it, and cli/, the programs' command line (schema/README.md).
#
#   make            build bin/vidpipe-{capture,relay,display} and tools
#   make test       install missing packages, build, run unit + e2e tests
#   make demo       install missing packages, build, run the demo pipeline
#   make asan       the tests again under AddressSanitizer + UBSan (all
#                   but those marked slow: docs/TESTING.md)
#   make soak       SOAK_SECONDS (600) of chaos, judged (docs/RELIABILITY.md)
#   make install    PREFIX=/usr/local (and DESTDIR): programs, library,
#                   header, vidpipe.pc, man pages, the Python package,
#                   systemd units (SYSTEMD_UNIT_DIR, docs/GATEWAY.md)
#   make man        the man pages, build/man/*.1 (help2man)
#   make fmt        clang-format every C/C++ source

PREFIX  ?= /usr/local
BUILD   ?= build
BIN     ?= bin
CC      ?= cc
CXX     ?= c++
OBJCOPY ?= objcopy
HELP2MAN ?= help2man
VERSION := 0.1.0

PKGS     := libzmq msgpack libturbojpeg libavcodec libavutil libswscale
CV_PKGS  := opencv4
# The relay's HTTP server (relay/http.c): libevent's evhttp, TLS, crypt(3).
HTTP_PKGS := libevent libevent_openssl libevent_pthreads openssl libcrypt
# sd_notify(3) for capture and relay as services (schema/cli/notify.c).
SD_PKGS  := libsystemd
TEST_PKG := cmocka

# A build goal on a machine without the packages stops here, naming them,
# rather than at the first compiler error.  deps installs them; test,
# demo, asan and valgrind run deps first, then build in a sub-make.
# `make lib` (python/setup.py runs it) needs the library's packages only.
NO_PKG_GOALS := deps clean test demo asan valgrind fmt bench-plots
ifneq ($(filter-out $(NO_PKG_GOALS),$(or $(MAKECMDGOALS),all)),)
ALL_PKGS := $(PKGS) $(if $(filter-out lib,$(or $(MAKECMDGOALS),all)),\
            $(CV_PKGS) $(HTTP_PKGS) $(SD_PKGS) libavformat fuse3 $(TEST_PKG) \
            gstreamer-1.0 gstreamer-base-1.0 gstreamer-video-1.0 \
            gstreamer-rtsp-server-1.0)
MISSING  := $(shell pkg-config --exists $(ALL_PKGS) || for p in $(ALL_PKGS); \
              do pkg-config --exists $$p || echo $$p; done)
ifneq ($(MISSING),)
$(error missing packages (pkg-config): $(MISSING); tools/install-deps \
    (or make deps) installs them)
endif
endif

WARN     := -Wall -Wextra -Werror
OPT      ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -DVIDPIPE_VERSION='"$(VERSION)"' -Ischema -MMD -MP
CFLAGS   += -std=c11 $(OPT) $(WARN) $(SAN) \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CXXFLAGS += -std=c++17 $(OPT) $(WARN) $(SAN) \
            $(shell pkg-config --cflags $(CV_PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
# Only the OpenCV modules the shims use.
CV_LIBS  := -lopencv_highgui -lopencv_videoio -lopencv_imgcodecs \
            -lopencv_imgproc -lopencv_core
LDFLAGS  += $(SAN)

# The library: every module of schema/ but the programs' shared cli/, as
# position-independent objects that export only the vp_ API.  The .so and
# the installed libvidpipe.a have only vp_ names global, so that a user's
# own log_init or ring_create cannot clash with ours: the .a is one
# relocatable object whose hidden (non-VP_API) symbols are made local.
# The programs, tools and unit tests use the modules' own functions too,
# and link LIB_INT, the same objects as they are.
SOVER    := 0
LIB      := $(BUILD)/libvidpipe.a
LIB_INT  := $(BUILD)/libvidpipe-internal.a
SO       := $(BUILD)/libvidpipe.so.$(VERSION)
LIB_SRC  := $(filter-out schema/cli/%,$(wildcard schema/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI      := $(BUILD)/libvidpipe-cli.a
CLI_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard schema/cli/*.c))
$(LIB_OBJ): CFLAGS += -fPIC -fvisibility=hidden -DVP_BUILDING

# Each program: every .c and .cpp in its folder.
define prog_objs
$(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c)) \
$(patsubst %.cpp,$(BUILD)/%.o,$(wildcard $(1)/*.cpp))
endef
CAPTURE_OBJ := $(call prog_objs,capture)
RELAY_OBJ   := $(call prog_objs,relay)
DISPLAY_OBJ := $(call prog_objs,display)
TOOLS_C     := $(wildcard tools/*.c)
TOOLS_BIN   := $(TOOLS_C:tools/%.c=$(BIN)/%)
RTSP_OBJ    := $(call prog_objs,rtsp)
PROGS := $(BIN)/vidpipe-capture $(BIN)/vidpipe-relay $(BIN)/vidpipe-display \
         $(BIN)/vidpipe-rtsp $(TOOLS_BIN)
MAIN_PROGS := vidpipe-capture vidpipe-relay vidpipe-display vidpipe-rtsp \
              vidpipe-inspect vidpipe-keygen vidpipe-patcheck
MANS := $(MAIN_PROGS:%=$(BUILD)/man/%.1)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Objects only pattern rules name would be deleted after the link, and
# the next make would build them again.
.SECONDARY: $(TOOLS_C:%.c=$(BUILD)/%.o) $(UNIT_SRC:%.c=$(BUILD)/%.o)

.PHONY: all lib test unit e2e demo asan valgrind install fmt clean deps \
        fuzz fuzz-regress bench bench-quick bench-plots layers man soak \
        install-test FORCE
all: $(PROGS) $(LIB) $(SO) $(BUILD)/vidpipe.pc

# What a user of the static library needs (python/setup.py links it).
lib: $(LIB) $(BUILD)/vidpipe.pc

# V=1 shows the commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX   $<")
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c -o $@ $<

$(LIB_INT): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR    $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR    $@")
	$(Q)$(LD) -r -o $(@:.a=.o) $^
	$(Q)$(OBJCOPY) --localize-hidden $(@:.a=.o)
	$(Q)rm -f $@ && $(AR) rcs $@ $(@:.a=.o)

$(CLI): $(CLI_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR    $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SO): $(LIB_OBJ)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,-soname,libvidpipe.so.$(SOVER) \
	    -Wl,--no-undefined -o $@ $^ $(LDLIBS)
	$(Q)ln -sf $(notdir $@) $(BUILD)/libvidpipe.so.$(SOVER)
	$(Q)ln -sf libvidpipe.so.$(SOVER) $(BUILD)/libvidpipe.so

# vidpipe.pc names PREFIX: remade whenever PREFIX is not the last one's,
# so `make install PREFIX=...` after a plain `make` installs the right one.
$(BUILD)/prefix: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@

$(BUILD)/vidpipe.pc: tools/vidpipe.pc.in $(BUILD)/prefix Makefile
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|; s|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(strip $(LDLIBS))|' $< > $@

# Man pages: help2man runs each program's --help and --version and adds
# docs/man/PROG.h2m (description, examples, exit status, see also).  It
# finds the synopsis after "Usage:" and the options after a heading;
# our --help says "usage:", has no heading, and ends with notes the
# include files give as sections of their own.
H2M_HELP := --help | awk 'NR == 1 { sub(/^usage:/, \"Usage:\") } \
    /^  -/ && !o { print \"Options:\"; o = 1 } o && /^[^ ]/ { exit } 1'

$(BUILD)/man/%.1: $(BIN)/% docs/man/%.h2m Makefile
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MAN   $@")
	$(Q)$(HELP2MAN) --no-info --source='vidpipe $(VERSION)' \
	    --help-option="$(H2M_HELP)" --include=docs/man/$*.h2m -o $@ $<

man: $(MANS)

$(BIN)/vidpipe-capture $(BIN)/vidpipe-relay: \
    LDLIBS += $(shell pkg-config --libs $(SD_PKGS) 2>/dev/null)
$(BIN)/vidpipe-capture: $(CAPTURE_OBJ) $(CLI) $(LIB_INT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CV_LIBS)

$(RELAY_OBJ): CFLAGS += $(shell pkg-config --cflags $(HTTP_PKGS) 2>/dev/null)
$(BIN)/vidpipe-relay: $(RELAY_OBJ) $(CLI) $(LIB_INT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(shell pkg-config --libs $(HTTP_PKGS) 2>/dev/null)

$(BIN)/vidpipe-display: $(DISPLAY_OBJ) $(CLI) $(LIB_INT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CV_LIBS) \
	    $(shell pkg-config --libs libavformat)

$(BIN)/%: $(BUILD)/tools/%.o $(CLI) $(LIB_INT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(CLI) $(LIB_INT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs $(TEST_PKG)) \
	    $(LDLIBS)

# The Python package (python/, docs/PYTHON.md): a C extension over the
# static library, built in place so that PYTHONPATH=python finds it, for
# Debian's /usr/bin/python3 and its numpy.  (pip builds the same through
# python/setup.py.)  A sanitized build makes its own package in
# $(BUILD)/python, the extension beside links to python/vidpipe/*.py, and
# leaves python/'s alone; an interpreter loads it with the ASan runtime
# preloaded (make asan runs the tests so: PY_ASAN_RT, conftest.py).
PYTHON    ?= /usr/bin/python3
PY_DIR    := $(if $(SAN),$(BUILD)/python,python)
PY_EXT    := $(PY_DIR)/vidpipe/_vidpipe$(shell $(PYTHON)-config \
               --extension-suffix 2>/dev/null)
PY_LINKS  := $(if $(SAN),$(patsubst python/%,$(PY_DIR)/%,\
               $(wildcard python/vidpipe/*.py)))
PY_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard python/src/*.c))
PY_CFLAGS := -fPIC -fvisibility=hidden \
             $(shell $(PYTHON)-config --includes 2>/dev/null) \
             -I$(shell $(PYTHON) -c 'import numpy; \
               print(numpy.get_include())' 2>/dev/null)
# Where Debian's python3 looks for the packages of a prefix.
PY_VER    := $(shell $(PYTHON) -c 'import sys; \
               print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PY_SITE   ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$\
               $(PREFIX)/lib/python$(PY_VER)/dist-packages)
$(PY_OBJ): CFLAGS += $(PY_CFLAGS)

all: $(PY_EXT) $(PY_LINKS)

# It links the installed archive, as any user of vidpipe.h would.
$(PY_EXT): $(PY_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,--exclude-libs,ALL -o $@ $^ $(LDLIBS)

$(PY_LINKS): $(PY_DIR)/vidpipe/%.py: python/vidpipe/%.py
	@mkdir -p $(dir $@)
	$(Q)ln -sf $(abspath $<) $@

# The GStreamer plugin (gst/, docs/GSTREAMER.md): vidpipesrc and
# vidpipesink, a client of vidpipe.h that carries the library statically,
# as the Python package does.  GST_PLUGIN_PATH=$(BUILD)/gstreamer-1.0
# finds it before `make install`.  Sanitized builds make it too: the tests
# load it into Debian's gst-launch-1.0 and python3 with the sanitizers'
# runtimes preloaded (tests/e2e/test_gst.py).
GST_PKGS   := gstreamer-1.0 gstreamer-base-1.0 gstreamer-video-1.0
GST_PLUGIN := $(BUILD)/gstreamer-1.0/libgstvidpipe.so
GST_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard gst/*.c))
# Where GStreamer looks for the plugins of a prefix: Debian's own
# directory for /usr, else PREFIX/lib/MULTIARCH/gstreamer-1.0 (add it to
# GST_PLUGIN_PATH, as for any prefix the system does not search).
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)
GST_PLUGIN_DIR ?= $(PREFIX)/lib/$(if $(MULTIARCH),$(MULTIARCH)/)gstreamer-1.0
$(GST_OBJ): CFLAGS += -fPIC -fvisibility=hidden \
    $(shell pkg-config --cflags $(GST_PKGS) 2>/dev/null)
$(GST_PLUGIN): $(GST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,--exclude-libs,ALL -Wl,--no-undefined \
	    -o $@ $^ $(LDLIBS) $(shell pkg-config --libs $(GST_PKGS))
all: $(GST_PLUGIN)

# vidpipe-rtsp (rtsp/, docs/RTSP.md): GStreamer's RTSP server over
# vidpipesrc, whose objects it links and registers itself, so that it
# needs no plugin path and runs sanitized too.  It includes
# "gst/gstvidpipe.h" from the top (-iquote: GStreamer's own <gst/...>
# headers are not looked for here).
RTSP_PKGS := gstreamer-rtsp-server-1.0 gstreamer-rtsp-1.0 $(GST_PKGS)
RTSP_GST  := $(BUILD)/gst/vidpipesrc.o $(BUILD)/gst/format.o
$(RTSP_OBJ): CFLAGS += -iquote . \
    $(shell pkg-config --cflags $(RTSP_PKGS) 2>/dev/null)
$(BIN)/vidpipe-rtsp: $(RTSP_OBJ) $(RTSP_GST) $(CLI) $(LIB_INT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
	    $(shell pkg-config --libs $(RTSP_PKGS) 2>/dev/null)

# A V4L2 capture device in user space (FUSE), for the e2e tests of
# capture's V4L2 source.  A client of vidpipe.h, like the Python package.
FAKECAM := $(BIN)/vidpipe-fakecam
$(BUILD)/tests/fakecam/%.o: CFLAGS += $(shell pkg-config --cflags fuse3 2>/dev/null)
$(FAKECAM): $(BUILD)/tests/fakecam/vidpipe-fakecam.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs fuse3) $(LDLIBS)
all: $(FAKECAM)

# Which layer may include and call which, and no cycles (tools/check-layers
# reads the objects' symbols: after the build); run by make test.
layers: all
	@tools/check-layers $(BUILD)

deps:
	@tools/install-deps

unit: $(UNIT_BIN)
	@tools/run-unit $(UNIT_BIN)

# The installed libvidpipe.a and .so have only vp_ names global: a
# program with its own log_init links the .a statically and runs.
install-test: all
	@tests/install/run BUILD=$(BUILD) BIN=$(BIN)

# End-to-end tests run the real programs; Debian's python3 has pytest and
# the zmq and msgpack modules install-deps installs.
e2e: all
	@VIDPIPE_BIN=$(abspath $(BIN)) \
	    VIDPIPE_GST_PLUGIN_DIR=$(abspath $(dir $(GST_PLUGIN))) \
	    $(E2E_ENV) /usr/bin/python3 -m pytest -q --durations=20 \
	    $(E2E_ARGS) tests/e2e

# Builds run a job per core; the tests themselves run one at a time.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test: deps
	@$(MAKE) --no-print-directory -j$(JOBS) all $(UNIT_BIN)
	@$(MAKE) --no-print-directory layers
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory install-test
	@$(MAKE) --no-print-directory fuzz-regress
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/bench
	@$(MAKE) --no-print-directory e2e

# libFuzzer targets (clang): `make fuzz` fuzzes each for FUZZ_SECONDS;
# `make fuzz-regress` replays the kept corpus and fuzzes each target for
# FUZZ_REGRESS_SECONDS (a check that fuzzing runs; finding is `make fuzz`).
FUZZ_SECONDS ?= 60
FUZZ_REGRESS_SECONDS ?= 1
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

fuzz-regress:
	@FUZZ_REGRESS_SECONDS=$(FUZZ_REGRESS_SECONDS) tests/fuzz/run --regress

demo: deps
	@$(MAKE) -q all 2>/dev/null || $(MAKE) --no-print-directory all
	@tools/demo

ASAN := BUILD=build-asan BIN=bin-asan OPT='-O1 -g' \
    SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all'
# The Python tests run against build-asan/python, in pytest's process too:
# it starts with the ASan runtime preloaded and without leak checking (an
# interpreter's exit leaves memory it never frees), and conftest.py takes
# both away again from the programs it starts, and gives them to the
# Python ones.
PY_ASAN_RT = $(shell $(CC) -print-file-name=libasan.so)
PY_ASAN_ENV = VIDPIPE_PY_DIR=$(abspath build-asan/python) \
    VIDPIPE_PY_ASAN=$(PY_ASAN_RT) LD_PRELOAD=$(PY_ASAN_RT) \
    ASAN_OPTIONS=detect_leaks=0
asan: deps
	@$(MAKE) --no-print-directory -j$(JOBS) $(ASAN) all \
	    $(UNIT_BIN:$(BUILD)/%=build-asan/%)
	@$(MAKE) --no-print-directory $(ASAN) unit
	@$(MAKE) --no-print-directory $(ASAN) \
	    E2E_ENV='VIDPIPE_SANITIZED=1 $(PY_ASAN_ENV)' \
	    E2E_ARGS='-m "not slow"' e2e

# Benchmarks (docs/BENCHMARKS.md): the full matrix with its plots, a quick
# one for before/after a change to a hot path, and the plots redrawn from
# the full run's JSON.
BENCH_DIR   := docs/bench
BENCH_FULL  := $(BENCH_DIR)/full.json
BENCH_QUICK := $(BUILD)/bench/quick.json
bench: all
	@mkdir -p $(BENCH_DIR)
	@VIDPIPE_BIN=$(abspath $(BIN)) tools/vidpipe-bench --json $(BENCH_FULL)
	@tools/vidpipe-bench --plots $(BENCH_FULL) $(BENCH_DIR)

bench-quick: all
	@mkdir -p $(dir $(BENCH_QUICK))
	@VIDPIPE_BIN=$(abspath $(BIN)) tools/vidpipe-bench --quick \
	    --json $(BENCH_QUICK)

bench-plots:
	$(if $(wildcard $(BENCH_FULL)),,$(error $(BENCH_FULL) not found: \
	    run `make bench` first))
	@tools/vidpipe-bench --plots $(BENCH_FULL) $(BENCH_DIR)

# The chaos soak (docs/RELIABILITY.md): SOAK_SECONDS of kill -9, SIGSTOP
# and a link going down, judged; its report goes to build/soak/.
SOAK_SECONDS ?= 600
soak: all
	@VIDPIPE_BIN=$(abspath $(BIN)) tools/vidpipe-soak --seconds $(SOAK_SECONDS) \
	    --out $(abspath $(BUILD))/soak

# Every program under valgrind memcheck in short tcp, shm and pipe
# pipelines.
valgrind: deps
	@$(MAKE) --no-print-directory all
	@VIDPIPE_BIN=$(abspath $(BIN)) tools/valgrind-e2e

# The systemd units name the programs' installed path.
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
SYSUSERS_DIR     ?= $(PREFIX)/lib/sysusers.d
UNITS := $(patsubst tools/systemd/%.in,$(BUILD)/systemd/%,\
           $(wildcard tools/systemd/*.service.in))
$(BUILD)/systemd/%: tools/systemd/%.in $(BUILD)/prefix
	@mkdir -p $(dir $@)
	$(Q)sed 's|@BINDIR@|$(PREFIX)/bin|g' $< > $@

install: all man $(UNITS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(MAIN_PROGS:%=$(BIN)/%) $(DESTDIR)$(PREFIX)/bin
	install -m 0644 schema/vidpipe.h $(DESTDIR)$(PREFIX)/include
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib
	install -m 0755 $(SO) $(DESTDIR)$(PREFIX)/lib
	ln -sf $(notdir $(SO)) $(DESTDIR)$(PREFIX)/lib/libvidpipe.so.$(SOVER)
	ln -sf libvidpipe.so.$(SOVER) $(DESTDIR)$(PREFIX)/lib/libvidpipe.so
	install -m 0644 $(BUILD)/vidpipe.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0644 $(MANS) $(DESTDIR)$(PREFIX)/share/man/man1
	install -d $(DESTDIR)$(PY_SITE)/vidpipe
	install -m 0644 python/vidpipe/*.py $(DESTDIR)$(PY_SITE)/vidpipe
	install -m 0755 $(PY_EXT) $(DESTDIR)$(PY_SITE)/vidpipe
	install -d $(DESTDIR)$(GST_PLUGIN_DIR)
	install -m 0644 $(GST_PLUGIN) $(DESTDIR)$(GST_PLUGIN_DIR)
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)$(SYSUSERS_DIR) \
	    $(DESTDIR)$(PREFIX)/share/doc/vidpipe
	install -m 0644 $(UNITS) $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	install -m 0644 tools/systemd/vidpipe.sysusers \
	    $(DESTDIR)$(SYSUSERS_DIR)/vidpipe.conf
	install -m 0644 tools/systemd/*.conf.example \
	    $(DESTDIR)$(PREFIX)/share/doc/vidpipe

fmt:
	clang-format -i $(wildcard schema/*.h schema/*/*.[ch] capture/*.[ch] capture/*.cpp \
	    relay/*.[ch] display/*.[ch] display/*.cpp tools/*.c tests/unit/*.[ch] \
	    docs/examples/*.c python/src/*.[ch] gst/*.[ch] rtsp/*.[ch])

clean:
	rm -rf build build-asan bin bin-asan python/build python/*.egg-info
	rm -f python/vidpipe/_vidpipe*.so

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
