# aisle - build, test, install.
#
#   make                 library (lib/), CLI (bin/aisle)
#   make deps            install build/test dependencies (Debian/Ubuntu, apt-get;
#                        waits up to APT_LOCK_TIMEOUT s for another apt to finish)
#   make test            build and run the whole test suite; a suite that cannot
#                        run fails it unless skipped explicitly: AISLE_SKIP_GO=1,
#                        AISLE_SKIP_PYTHON=1, AISLE_SKIP_NUMPY=1
#   make lint-layers     check that every #include points down the layers
#   make check           the suite built with ASan + UBSan + LeakSanitizer
#   make demo            run `bin/aisle demo` on the built-in example store
#   make install         PREFIX=/usr/local DESTDIR= (make uninstall reverses it);
#                        as root into a directory the loader searches, runs ldconfig
#   make abi-check       compare lib/libaisle.so with abi/libaisle.abi
#   make bench           benchmarks (bench/), on ../shared/data when present
#   make storefront      the example web shop (examples/storefront); storefront-run opens it
#   make test-storefront its browser (headless Chromium) and load tests
#
# Variables: CC (gcc or clang), PREFIX, DESTDIR, LIBDIR, VARIANT (release|asan|tsan).

VERSION      := 0.1.0
ABI_MAJOR    := 1
SO_VERSION   := 1.0.0

CC           ?= cc
CXX          ?= c++
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin
DOCDIR       ?= $(PREFIX)/share/doc/aisle
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=
VARIANT      ?= release

PKGS         := openblas zlib
PKG_CFLAGS    = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS      = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS = $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN         := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
# Two include paths: the library (and the tests, which may use internals)
# sees src/; the faces (src/cli, examples, bench, docs/gen_options.c) see
# only include/, so "faces use only aisle.h" is enforced by the compiler.
COMMON_CFLAGS = -std=c11 -g -fPIC -pthread -D_GNU_SOURCE -Iinclude $(PKG_CFLAGS) $(WARN)
BASE_CFLAGS   = $(COMMON_CFLAGS) -fvisibility=hidden -DAISLE_BUILDING -Isrc
FACE_CFLAGS   = $(COMMON_CFLAGS)
OPT_release  := -O2
OPT_asan     := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
OPT_tsan     := -O1 -fno-omit-frame-pointer -fsanitize=thread
OPT_fuzz     := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
SANFLAGS_release :=
SANFLAGS_asan := -fsanitize=address,undefined
SANFLAGS_tsan := -fsanitize=thread
SANFLAGS_fuzz := -fsanitize=address,undefined
CFLAGS_ALL    = $(BASE_CFLAGS) $(OPT_$(VARIANT)) $(MPI_CFLAGS) $(CFLAGS)
CFLAGS_FACE   = $(FACE_CFLAGS) $(OPT_$(VARIANT)) $(MPI_CFLAGS) $(CFLAGS)
LDLIBS_ALL    = $(PKG_LIBS) $(MPI_LIBS) -lm -lpthread $(LDLIBS)

B            := build/$(VARIANT)
ifeq ($(VARIANT),release)
OUTLIB       := lib
OUTBIN       := bin
else
OUTLIB       := $(B)/lib
OUTBIN       := $(B)/bin
endif

# make MPI=1: libaisle_mpi (every libaisle call plus src/dist, linked with
# OpenMPI; include/aisle_mpi.h) and a CLI with --distributed, all under
# build/mpi/ so the ordinary build and its ABI stay as they are.
MPI          ?=
LIBNAME      := aisle
VERSION_MAP  := src/libaisle.map
ifeq ($(MPI),1)
B            := build/mpi$(if $(filter release,$(VARIANT)),,-$(VARIANT))
OUTLIB       := $(B)/lib
OUTBIN       := $(B)/bin
LIBNAME      := aisle_mpi
VERSION_MAP  := $(B)/libaisle_mpi.map
MPI_CFLAGS    = $(shell mpicc --showme:compile 2>/dev/null) -DAISLE_MPI
MPI_LIBS      = $(shell mpicc --showme:link 2>/dev/null)
endif
LIB_SRCS     := $(sort $(filter-out src/cli/% src/dist/%,$(wildcard src/*/*.c))) \
                $(if $(filter 1,$(MPI)),$(sort $(wildcard src/dist/*.c)))
CLI_SRCS     := $(sort $(wildcard src/cli/*.c))
LIB_OBJS     := $(patsubst src/%.c,$(B)/obj/%.o,$(LIB_SRCS))
CLI_OBJS     := $(patsubst src/%.c,$(B)/obj/%.o,$(CLI_SRCS))
TEST_SRCS    := $(sort $(wildcard tests/test_*.c))
TEST_UTIL    := $(sort $(wildcard tests/util/*.c))
TEST_BINS    := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRCS))
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 30
BENCH_SRCS   := $(sort $(wildcard bench/*.c))
BENCH_BINS   := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRCS))
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLE_BINS := $(patsubst examples/%.c,$(B)/examples/%,$(EXAMPLE_SRCS)) \
                $(patsubst examples/%.cpp,$(B)/examples/%_cpp,$(sort $(wildcard examples/*.cpp)))

SONAME       := lib$(LIBNAME).so.$(ABI_MAJOR)
SHARED       := $(OUTLIB)/lib$(LIBNAME).so.$(SO_VERSION)
STATIC       := $(OUTLIB)/lib$(LIBNAME).a
CLI          := $(OUTBIN)/aisle

.PHONY: lint-layers symbols-check docs docs-check test-bindings all deps test check check-oom check-tsan fuzz fuzz-bins fuzz-corpus demo install uninstall abi-check abi-baseline bench clean \
        examples header-check test-bins test-stages run-tests install-test print-ldconfig tooling-test doc-test
.DELETE_ON_ERROR:

# build/pkgconfig/aisle.pc describes the build tree (for the Go binding and
# programs built against lib/ without installing): part of the plain build.
all: $(SHARED) $(STATIC) $(CLI) build/pkgconfig/aisle.pc

# V=1 shows full command lines.
Q            := $(if $(V),,@)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The CLI is a face: public header only (a static pattern rule wins over
# the library's pattern rule above).
$(CLI_OBJS): $(B)/obj/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_FACE) -MMD -MP -c $< -o $@

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)

$(SHARED): $(LIB_OBJS) $(VERSION_MAP)
	@mkdir -p $(OUTLIB)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(VERSION_MAP) -Wl,--no-undefined \
	    $(SANFLAGS_$(VARIANT)) -o $@ $(LIB_OBJS) $(LDLIBS_ALL)
	ln -sf lib$(LIBNAME).so.$(SO_VERSION) $(OUTLIB)/$(SONAME)
	ln -sf $(SONAME) $(OUTLIB)/lib$(LIBNAME).so

# the MPI library: libaisle's nodes plus its own (src/dist/libaisle_mpi.map)
$(B)/libaisle_mpi.map: src/libaisle.map src/dist/libaisle_mpi.map
	@mkdir -p $(dir $@)
	$(Q)cat $^ > $@

$(STATIC): $(LIB_OBJS)
	@mkdir -p $(OUTLIB)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $(LIB_OBJS)

# The CLI uses only the public header; it links the static library so the
# binary runs from the source tree and after installation alike.
$(CLI): $(CLI_OBJS) $(STATIC)
	@mkdir -p $(OUTBIN)
	$(CC) $(SANFLAGS_$(VARIANT)) -o $@ $(CLI_OBJS) $(STATIC) $(LDLIBS_ALL)

# ---- dependencies --------------------------------------------------------
# Build and test: the library, CMocka, and what `make test` runs beyond C:
# the Python suite (python3; NumPy/SciPy for its array tests; pip, setuptools
# and wheel for the offline package install test), the Go suite, and g++ for
# the header and install tests.
DEB_PKGS := pkg-config libopenblas-dev zlib1g-dev libcmocka-dev libmicrohttpd-dev python3 python3-numpy python3-scipy \
            python3-pip python3-setuptools python3-wheel golang-go g++ libopenmpi-dev openmpi-bin
APT_GET          ?= apt-get
APT_LOCK_TIMEOUT ?= 600

# apt-get waits for the dpkg lock (DPkg::Lock::Timeout) instead of failing
# when another apt-get runs; `update` also retries while the lists lock is
# held, for up to APT_LOCK_TIMEOUT seconds.
deps:
	@missing=""; for p in $(DEB_PKGS) $(EXTRA_DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all present ($(DEB_PKGS) $(EXTRA_DEB_PKGS))"; exit 0; fi; \
	if ! command -v apt-get >/dev/null; then echo "deps: install$$missing with your package manager" >&2; exit 1; fi; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	echo "deps: installing$$missing"; \
	waited=0; \
	until $$SUDO $(APT_GET) -o DPkg::Lock::Timeout=$(APT_LOCK_TIMEOUT) update -q; do \
	    if [ $$waited -ge $(APT_LOCK_TIMEOUT) ]; then echo "deps: apt-get update kept failing for $$waited s" >&2; exit 1; fi; \
	    echo "deps: apt-get update failed (another apt may hold its lock); retrying in 10 s"; \
	    sleep 10; waited=$$((waited + 10)); \
	done; \
	DEBIAN_FRONTEND=noninteractive $$SUDO $(APT_GET) -o DPkg::Lock::Timeout=$(APT_LOCK_TIMEOUT) install -y -q \
	    --no-install-recommends $$missing

# ---- tests ---------------------------------------------------------------
$(B)/tests/%: tests/%.c $(TEST_UTIL) $(STATIC) $(wildcard tests/util/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes $(CMOCKA_CFLAGS) -Itests -o $@ $< $(TEST_UTIL) $(STATIC) \
	    $(CMOCKA_LIBS) $(LDLIBS_ALL)

$(B)/bench/%: bench/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_FACE) -Wno-missing-prototypes -o $@ $< $(STATIC) $(LDLIBS_ALL)

# the text benches share their data loading and split
$(B)/bench/bench_text $(B)/bench/bench_text_encoder: bench/bench_text_data.h
# bench_search's trained-encoder rows
$(B)/bench/bench_search: bench/bench_search_encoder.h
# the MovieLens benches share their loading, cold-start split and metrics
$(B)/bench/bench_hybrid $(B)/bench/bench_pair: bench/bench_movielens.h

$(B)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_FACE) -o $@ $< $(STATIC) $(LDLIBS_ALL)

# C++ examples (hello.cpp -> hello_cpp), against the static library too.
$(B)/examples/%_cpp: examples/%.cpp $(STATIC)
	@mkdir -p $(dir $@)
	$(CXX) -std=c++11 -Wall -Wextra -Werror -Iinclude $(PKG_CFLAGS) $(OPT_$(VARIANT)) -o $@ $< $(STATIC) $(LDLIBS_ALL)

examples: $(EXAMPLE_BINS)

test-bins: $(TEST_BINS) $(CLI) $(SHARED) $(EXAMPLE_BINS)

# The public header must compile as C99 (pedantic) and as C++.
header-check:
	@mkdir -p $(B)
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c tests/header/header_c99.c -o $(B)/header_c99.o
	$(CXX) -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -c tests/header/header_cpp.cpp -o $(B)/header_cpp.o
	@printf '#include "aisle_mpi.h"\nint main(void) { return aisle_dist_init(0, 0); }\n' > $(B)/header_mpi.c
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c $(B)/header_mpi.c -o $(B)/header_mpi_c99.o
	$(CXX) -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -x c++ -c $(B)/header_mpi.c -o $(B)/header_mpi_cpp.o
	@echo "header-check: include/aisle.h and include/aisle_mpi.h compile as C99 and C++11"

# Runs every suite even after a failure; fails at the end if any failed.
run-tests: test-bins
	@failed=""; \
	for t in $(TEST_BINS); do \
	    echo "== $$t"; \
	    AISLE_CLI=$(CURDIR)/$(CLI) AISLE_SRCDIR=$(CURDIR) $$t || failed="$$failed $$(basename $$t)"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED suites:$$failed"; exit 1; fi; \
	echo "all $(words $(TEST_BINS)) suites passed ($(VARIANT))"

# Only aisle_* symbols are exported, each with a version node AISLE_1.x.
symbols-check: $(SHARED)
	@bad=$$(nm -D --defined-only $(SHARED) | awk '{print $$NF}' | grep -vE '^(aisle_[a-z0-9_]+@@AISLE_1\.[01]|AISLE_1\.[01])$$' || true); \
	if [ -n "$$bad" ]; then echo "symbols-check: unexpected exported symbols:"; echo "$$bad"; exit 1; fi; \
	echo "symbols-check: $$(nm -D --defined-only $(SHARED) | grep -c ' aisle_') aisle_* symbols, all versioned AISLE_1.0 or AISLE_1.1"

# Every #include "..." points down the layers (docs/ARCHITECTURE.md), and
# the faces include only aisle.h; the linter's own test runs first so it
# cannot pass by matching nothing.
lint-layers:
	@sh tests/lint_layers_test.sh >/dev/null || { sh tests/lint_layers_test.sh; exit 1; }
	@sh scripts/lint_layers.sh

# The stages after the static checks are independent (the suites, the
# install, the tooling, the bindings, the README snippets), so they run
# TEST_JOBS at a time; -O prints each stage's output whole, never interleaved.
TEST_JOBS ?= 2
test: lint-layers header-check docs-check symbols-check
	@$(MAKE) --no-print-directory test-bins all
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) -O test-stages

test-stages: run-tests install-test tooling-test test-bindings doc-test

# A pkg-config file for the build tree, so bindings build against lib/
# without installing.
# Its Libs carry an rpath to lib/, so what is linked through it (the Go
# binding's programs, C/C++ programs) runs without LD_LIBRARY_PATH.
build/pkgconfig/aisle.pc: pkgconfig/aisle.pc.in Makefile
	@mkdir -p $(dir $@)
	@sed -e 's|@PREFIX@|$(CURDIR)|g' -e 's|@LIBDIR@|$(CURDIR)/lib|g' -e 's|@INCLUDEDIR@|$(CURDIR)/include|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|^Libs: -L$${libdir} -laisle$$|Libs: -L$${libdir} -Wl,-rpath,$${libdir} -laisle|' \
	    $< > $@

# Python (ctypes, standard library only) and Go (cgo) bindings, against the
# freshly built lib/.  A suite that cannot run (no python3, no NumPy/SciPy
# for the system python, no go) FAILS the target, naming `make deps` and the
# opt-out: AISLE_SKIP_PYTHON=1, AISLE_SKIP_NUMPY=1, AISLE_SKIP_GO=1.
PYTHON       ?= python3
NUMPY_PYTHON ?= /usr/bin/python3
GO           ?= go
test-bindings: all
	@if [ -d bindings/python/tests ]; then \
	    if [ "$(AISLE_SKIP_PYTHON)" = 1 ]; then echo "test-bindings: python binding tests skipped (AISLE_SKIP_PYTHON=1)"; \
	    elif command -v $(PYTHON) >/dev/null; then \
	        echo "== python bindings ($(PYTHON))"; \
	        AISLE_LIBRARY=$(CURDIR)/lib/libaisle.so.1 PYTHONPATH=$(CURDIR)/bindings/python \
	            $(PYTHON) -m unittest discover -s bindings/python/tests -t bindings/python || exit 1; \
	    else echo "test-bindings: $(PYTHON) not found: run 'make deps', or set AISLE_SKIP_PYTHON=1 to skip the Python suite" >&2; exit 1; fi; \
	    if [ "$(AISLE_SKIP_NUMPY)" = 1 ] || [ "$(AISLE_SKIP_PYTHON)" = 1 ]; then echo "test-bindings: NumPy/SciPy binding tests skipped (AISLE_SKIP_NUMPY=1)"; \
	    elif [ -x "$(NUMPY_PYTHON)" ] && "$(NUMPY_PYTHON)" -c "import numpy, scipy.sparse" 2>/dev/null; then \
	        echo "== python bindings with NumPy and SciPy ($(NUMPY_PYTHON))"; \
	        AISLE_LIBRARY=$(CURDIR)/lib/libaisle.so.1 PYTHONPATH=$(CURDIR)/bindings/python AISLE_REQUIRE_NUMPY=1 \
	            "$(NUMPY_PYTHON)" -m unittest discover -s bindings/python/tests -t bindings/python || exit 1; \
	        echo "== python package installs offline (pip install --no-build-isolation)"; \
	        PYTHON="$(NUMPY_PYTHON)" sh tests/python_install_test.sh || exit 1; \
	    else echo "test-bindings: $(NUMPY_PYTHON) cannot import numpy and scipy: run 'make deps' (python3-numpy python3-scipy), or set AISLE_SKIP_NUMPY=1" >&2; exit 1; fi; \
	fi
	@if [ -f bindings/go/go.mod ]; then \
	    if [ "$(AISLE_SKIP_GO)" = 1 ]; then echo "test-bindings: go binding tests skipped (AISLE_SKIP_GO=1)"; \
	    elif command -v $(GO) >/dev/null; then \
	        echo "== go bindings"; \
	        (cd bindings/go && PKG_CONFIG_PATH=$(CURDIR)/build/pkgconfig LD_LIBRARY_PATH=$(CURDIR)/lib \
	            GOCACHE=$(CURDIR)/build/gocache GOPATH=$(CURDIR)/build/gopath GOFLAGS=-mod=mod GOPROXY=off \
	            $(GO) test -count=1 ./...) || exit 1; \
	        echo "== go module used from outside the checkout (replace directive)"; \
	        GO="$(GO)" sh tests/go_outside_test.sh || exit 1; \
	    else echo "test-bindings: $(GO) not found: run 'make deps' (golang-go), or set AISLE_SKIP_GO=1 to skip the Go suite" >&2; exit 1; fi; \
	fi

check:
	@$(MAKE) --no-print-directory VARIANT=asan run-tests \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# libFuzzer targets (clang): each runs FUZZ_SECONDS seconds from its seed
# corpus in tests/fuzz/corpus/NAME (kept read-only; new inputs go to
# build/fuzz/corpus/NAME).  Crashes are written to build/fuzz/ and fail.
$(B)/fuzz/%: tests/fuzz/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -Wno-missing-prototypes -o $@ $< $(STATIC) $(LDLIBS_ALL)

fuzz-bins: $(FUZZ_BINS)

# Regenerates the committed seed corpora from the project itself.
fuzz-corpus: $(STATIC)
	@mkdir -p $(B)/fuzz tests/tmp
	$(Q)$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes -o $(B)/fuzz/make_corpus tests/fuzz/make_corpus.c $(STATIC) $(LDLIBS_ALL)
	$(B)/fuzz/make_corpus tests/fuzz/corpus

fuzz:
	@$(MAKE) --no-print-directory VARIANT=fuzz CC=clang fuzz-bins
	@for f in $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS)); do \
	    name=$${f#fuzz_}; mkdir -p build/fuzz/corpus/$$name build/fuzz/crashes; \
	    echo "== fuzz $$name for $(FUZZ_SECONDS) s"; \
	    build/fuzz/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	        -artifact_prefix=build/fuzz/crashes/$$name- build/fuzz/corpus/$$name tests/fuzz/corpus/$$name \
	        2>&1 | grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|INFO: Running with)" ; \
	    if ls build/fuzz/crashes/$$name-* >/dev/null 2>&1; then echo "fuzz: $$name found a crash (build/fuzz/crashes)"; exit 1; fi; \
	done; echo "fuzz: no crashes"

# Allocation-failure harness under ASan + LeakSanitizer.
check-oom:
	@$(MAKE) --no-print-directory VARIANT=asan build/asan/tests/test_oom build/asan/tests/test_search_oom \
	    build/asan/tests/test_update
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 build/asan/tests/test_oom
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 build/asan/tests/test_search_oom
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 AISLE_TEST_FILTER='test_update_allocation*' build/asan/tests/test_update

# One model shared by 8 threads under ThreadSanitizer (OpenBLAS is not
# instrumented: keep it single-threaded there).
check-tsan:
	@$(MAKE) --no-print-directory VARIANT=tsan build/tsan/tests/test_concurrency build/tsan/tests/test_search_threads \
	    build/tsan/tests/test_serve_quant build/tsan/tests/test_server build/tsan/tests/test_server_grow \
	    build/tsan/tests/test_core build/tsan/tests/test_sasrec \
	    build/tsan/tests/test_mmap build/tsan/tests/test_pair build/tsan/tests/test_nn \
	    build/tsan/tests/test_als build/tsan/tests/test_bert \
	    build/tsan/tests/test_hybrid_grow build/tsan/tests/test_pair_grow
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_STRESS_SECONDS=$${AISLE_STRESS_SECONDS:-3} \
	    build/tsan/tests/test_concurrency
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_STRESS_SECONDS=$${AISLE_STRESS_SECONDS:-3} \
	    build/tsan/tests/test_search_threads
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 build/tsan/tests/test_serve_quant
	TSAN_OPTIONS=halt_on_error=1 AISLE_TEST_FILTER='test_pool*' build/tsan/tests/test_core
	TSAN_OPTIONS=halt_on_error=1 AISLE_TEST_FILTER='test_adam*' build/tsan/tests/test_nn
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_TEST_FILTER='test_sasrec_threads*' \
	    build/tsan/tests/test_sasrec
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 build/tsan/tests/test_mmap
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_TEST_FILTER='test_pair_model_is_shared*' \
	    build/tsan/tests/test_pair
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_TEST_FILTER='test_threads_match*' \
	    build/tsan/tests/test_bert
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_STRESS_SECONDS=$${AISLE_STRESS_SECONDS:-3} \
	    build/tsan/tests/test_server
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 build/tsan/tests/test_server_grow
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 build/tsan/tests/test_als
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_TEST_FILTER='test_server_adds*' \
	    build/tsan/tests/test_hybrid_grow
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_TEST_FILTER='test_server_adds*' \
	    build/tsan/tests/test_pair_grow

# The serving stress run (issue 19, docs/SERVING.md): 8 readers + 1 writer
# (updates, new items, new users) + 1 swapper on one aisle_server for
# STRESS_SECONDS under ThreadSanitizer, then every writer step is checked
# on the final model.
STRESS_SECONDS ?= 30
.PHONY: stress
stress:
	@$(MAKE) --no-print-directory VARIANT=tsan build/tsan/tests/test_server
	TSAN_OPTIONS=halt_on_error=1 OPENBLAS_NUM_THREADS=1 AISLE_STRESS_SECONDS=$(STRESS_SECONDS) \
	    build/tsan/tests/test_server

# Installs into a scratch prefix and builds examples/hello.c against it
# through pkg-config, shared and static.
install-test: all
	@sh tests/install_test.sh

# Every code block of README.md and docs/TUTORIAL.md, run as printed on a
# slice of the shared Online Retail export (skipped with a message when the
# export is absent; tests/doc_snippets.py says how).
DOC_SNIPPET_FILES := README.md $(wildcard docs/TUTORIAL.md)
doc-test: all
	@for f in $(DOC_SNIPPET_FILES); do "$(NUMPY_PYTHON)" tests/doc_snippets.py $$f || exit 1; done

# make deps (apt lock), the plain build's pkg-config file, binding suites
# that fail unless skipped explicitly (tests/tooling_test.sh).
tooling-test: all
	@sh tests/tooling_test.sh

demo: all
	$(CLI) demo

# docs/OPTIONS.md is generated from the option table.
$(B)/gen_options: docs/gen_options.c $(STATIC)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_FACE) -Wno-missing-prototypes -o $@ $< $(STATIC) $(LDLIBS_ALL)

docs: $(B)/gen_options
	$(B)/gen_options > docs/OPTIONS.md

docs-check: $(B)/gen_options
	@$(B)/gen_options | cmp -s - docs/OPTIONS.md || { echo "docs/OPTIONS.md is stale: run make docs"; exit 1; }
	@echo "docs-check: docs/OPTIONS.md matches the option table"

# ---- distributed training (MPI) -------------------------------------------
# make MPI=1 builds build/mpi/{lib/libaisle_mpi.*,bin/aisle}; test-mpi runs
# the MPI suites at 1, 2 and 3 ranks on this machine (oversubscribed: more
# ranks than cores is fine, slower) and the CLI tests (kill, checkpoint).
MPIRUN       ?= mpirun --allow-run-as-root --oversubscribe
MPI_TEST_SRCS := $(sort $(wildcard tests/mpi/test_*.c))
MPI_TEST_UTIL := tests/mpi/mpi_util.c
$(B)/tests/mpi/%: tests/mpi/%.c $(TEST_UTIL) $(MPI_TEST_UTIL) $(STATIC) tests/util/test_util.h tests/mpi/mpi_util.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes $(CMOCKA_CFLAGS) -Itests -o $@ $< $(TEST_UTIL) $(MPI_TEST_UTIL) $(STATIC) \
	    $(CMOCKA_LIBS) $(LDLIBS_ALL)

.PHONY: mpi-bins test-mpi bench-mpi
mpi-bins: $(if $(filter 1,$(MPI)),$(SHARED) $(STATIC) $(CLI) $(patsubst tests/mpi/%.c,$(B)/tests/mpi/%,$(MPI_TEST_SRCS)))

# VARIANT=asan runs them under ASan + UBSan (build/mpi-asan; leak checks off:
# OpenMPI keeps its own allocations to the end, and the allocation-failure
# test counts aisle's).
MPI_B        := build/mpi$(if $(filter release,$(VARIANT)),,-$(VARIANT))
test-mpi:
	@command -v mpirun >/dev/null || { echo "test-mpi: mpirun missing: run 'make deps' (libopenmpi-dev openmpi-bin)" >&2; exit 1; }
	@$(MAKE) --no-print-directory MPI=1 VARIANT=$(VARIANT) mpi-bins
	@export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; \
	for t in $(patsubst tests/mpi/%.c,%,$(MPI_TEST_SRCS)); do for np in 1 2 3; do \
	    echo "== $$t at $$np rank(s) ($(VARIANT))"; \
	    timeout 300 $(MPIRUN) -np $$np $(MPI_B)/tests/mpi/$$t || { echo "test-mpi: $$t failed at $$np rank(s)"; exit 1; }; \
	done; done; \
	MPIRUN="$(MPIRUN)" AISLE_MPI_CLI=$(CURDIR)/$(MPI_B)/bin/aisle sh tests/mpi/cli_test.sh

# ALS iteration time and traffic at 1, 2 and 4 ranks (docs/SCALING.md).
bench-mpi:
	@$(MAKE) --no-print-directory MPI=1 mpi-bins
	@MPIRUN="$(MPIRUN)" AISLE_MPI_CLI=$(CURDIR)/build/mpi/bin/aisle sh bench/mpi_scaling.sh

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done

# ---- storefront example ---------------------------------------------------
# Built through pkg-config and aisle.h only, against the in-tree library
# (build/pkgconfig) or, with SF_PKGCONFIG=, against the installed one.
SF_PKGCONFIG ?= $(CURDIR)/build/pkgconfig
SF_PC         = PKG_CONFIG_PATH=$(SF_PKGCONFIG)$${PKG_CONFIG_PATH:+:$$PKG_CONFIG_PATH}
SF_SRCS      := $(wildcard examples/storefront/*.c examples/storefront/*.h)
SF_ARGS      ?=

.PHONY: storefront storefront-run storefront-deps test-storefront
storefront: build/storefront/storefront
build/storefront/storefront: $(SF_SRCS) examples/storefront/build.sh include/aisle.h $(if $(SF_PKGCONFIG),$(SHARED) build/pkgconfig/aisle.pc)
	@mkdir -p $(dir $@)
	@$(SF_PC) sh examples/storefront/build.sh $@
build/storefront/storefront-asan: $(SF_SRCS) examples/storefront/build.sh include/aisle.h $(if $(SF_PKGCONFIG),$(SHARED) build/pkgconfig/aisle.pc)
	@mkdir -p $(dir $@)
	@$(SF_PC) sh examples/storefront/build.sh $@ -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

# Opens the shop on the demo store at http://127.0.0.1:8080/ (SF_ARGS adds options).
storefront-run: build/storefront/storefront
	build/storefront/storefront $(SF_ARGS)

# Chromium (Debian) with a CJK font for the demo's Chinese titles, ab (apache2-utils), node and playwright-core (npm, into
# build/storefront; it drives the Debian chromium, never downloads a browser).
STOREFRONT_DEB_PKGS := chromium fonts-wqy-zenhei apache2-utils
storefront-deps:
	@$(MAKE) --no-print-directory deps EXTRA_DEB_PKGS="$(STOREFRONT_DEB_PKGS) $$(command -v npm >/dev/null || echo nodejs npm)"
	@[ -f build/storefront/node_modules/playwright-core/package.json ] || \
	    { mkdir -p build/storefront && cp examples/storefront/test/package.json build/storefront/ && \
	      cd build/storefront && npm install --no-audit --no-fund --loglevel=error; }

# A browser run through every page (screenshots in build/storefront/), then
# a load test and malformed requests; the servers run under ASan+UBSan for
# the browser and malformed parts, and must stop cleanly on SIGTERM.
test-storefront: build/storefront/storefront build/storefront/storefront-asan storefront-deps
	@sh examples/storefront/test/run.sh

# ---- install -------------------------------------------------------------
pkgconfig/aisle.pc: pkgconfig/aisle.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' $< > $@

# `make install` runs ldconfig when it installs as root, without DESTDIR
# (a staged install is not this machine's), into a directory the dynamic
# loader searches (its configured and trusted directories).
LOADER_DIRS   = $(shell ldconfig -v -N -X 2>/dev/null | sed -n 's|^\(/[^:]*\):.*|\1|p') \
                /lib /usr/lib /lib64 /usr/lib64
RUN_LDCONFIG  = $(if $(DESTDIR),,$(if $(filter 0,$(shell id -u)),$(if $(filter $(abspath $(LIBDIR)),$(LOADER_DIRS)),yes)))

print-ldconfig:
	@echo "$(if $(RUN_LDCONFIG),yes,no)"

INSTALLED_DOCS := README.md CHANGELOG.md LICENSE $(wildcard docs/*.md)

install: all pkgconfig/aisle.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 include/aisle.h $(DESTDIR)$(INCLUDEDIR)/aisle.h
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libaisle.so.$(SO_VERSION)
	ln -sf libaisle.so.$(SO_VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libaisle.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libaisle.a
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/aisle
	install -m 644 pkgconfig/aisle.pc $(DESTDIR)$(PKGCONFIGDIR)/aisle.pc
	install -m 644 $(INSTALLED_DOCS) $(DESTDIR)$(DOCDIR)/
	@rm -f pkgconfig/aisle.pc
	@if [ "$(RUN_LDCONFIG)" = yes ]; then echo "install: ldconfig (so programs find $(SONAME) in $(LIBDIR))"; ldconfig; \
	elif [ -z "$(DESTDIR)" ]; then echo "install: $(LIBDIR) is not in the loader cache: link programs with" \
	    "-Wl,-rpath,$(LIBDIR) or set LD_LIBRARY_PATH=$(LIBDIR) (README, Install and link)"; fi

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/aisle.h
	rm -f $(DESTDIR)$(LIBDIR)/libaisle.so.$(SO_VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libaisle.so
	rm -f $(DESTDIR)$(LIBDIR)/libaisle.a $(DESTDIR)$(BINDIR)/aisle $(DESTDIR)$(PKGCONFIGDIR)/aisle.pc
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INSTALLED_DOCS)))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# ---- ABI -----------------------------------------------------------------
# abidiff exit status is a bit field: 4 = some ABI change (e.g. an added
# function, which is compatible), 8 = incompatible change.  Only errors and
# incompatible changes fail.
abi-check: $(SHARED)
	@command -v abidiff >/dev/null || { echo "abi-check: abidiff missing (apt-get install abigail-tools)"; exit 1; }
	@abidw --no-corpus-path --out-file $(B)/libaisle.abi $(SHARED)
	@abidiff --headers-dir2 include abi/libaisle.abi $(B)/libaisle.abi > $(B)/abidiff.txt; rc=$$?; \
	cat $(B)/abidiff.txt; \
	if [ $$((rc & 3)) -ne 0 ]; then echo "abi-check: abidiff failed (status $$rc)"; exit 1; fi; \
	if [ $$((rc & 8)) -ne 0 ]; then echo "abi-check: INCOMPATIBLE ABI change against abi/libaisle.abi"; exit 1; fi; \
	echo "abi-check: compatible with abi/libaisle.abi (abidiff status $$rc)"

abi-baseline: $(SHARED)
	@mkdir -p abi
	abidw --no-corpus-path --headers-dir include --out-file abi/libaisle.abi $(SHARED)
	@echo "abi-baseline: wrote abi/libaisle.abi (note it in CHANGELOG.md)"

clean:
	rm -rf build lib bin pkgconfig/aisle.pc .stage
