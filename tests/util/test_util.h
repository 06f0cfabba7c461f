/* test_util.h - shared helpers for the CMocka suites. */
#ifndef AISLE_TEST_UTIL_H
#define AISLE_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "aisle.h"

/* Asserts rc == AISLE_OK, printing aisle_last_error() otherwise. */
#define assert_ok(expr)                                                                       \
    do {                                                                                      \
        int rc_ = (expr);                                                                     \
        if (rc_ != AISLE_OK) fail_msg("%s -> %d (%s): %s", #expr, rc_, aisle_strerror(rc_),   \
                                      aisle_last_error());                                    \
    } while (0)

/* Asserts expr returns code and the last error contains `needle`. */
#define assert_status_msg(expr, code, needle)                                                 \
    do {                                                                                      \
        int rc_ = (expr);                                                                     \
        if (rc_ != (code)) fail_msg("%s -> %d, expected %d; message: %s", #expr, rc_, (code), \
                                    aisle_last_error());                                      \
        const char *needle_ = (needle);                                                       \
        if (needle_ && !strstr(aisle_last_error(), needle_))                                  \
            fail_msg("%s: message '%s' lacks '%s'", #expr, aisle_last_error(), needle_);     \
    } while (0)

/* A fresh scratch directory under tests/tmp/ (created); returns its path
 * in a static buffer per call site's copy. */
void tu_tmpdir(char *out, size_t len, const char *name);
/* Writes text to path (fails the test on error). */
void tu_write_file(const char *path, const void *data, size_t len);
/* Root of the source tree (AISLE_SRCDIR or "."). */
const char *tu_srcdir(void);
/* Folder of the shared real datasets: AISLE_SHARED_DATA, else
 * <srcdir>/../shared/data (or ../../shared/data from a worktree).  Tests that need a file there call
 * tu_shared_file() and skip() with a message when it returns 0. */
const char *tu_shared_data(void);
/* Fills out with <shared data>/<rel>; returns 1 if the file exists, else
 * prints "skipped: <path> not present" and returns 0. */
int tu_shared_file(char *out, size_t len, const char *rel);

/* Trains a model on ds with the options text (e.g. "model=als factors=4");
 * fails the test on any error. */
aisle_model *tu_train(const aisle_dataset *ds, const char *options);

/* aisle_model_save / aisle_model_load with an options text (e.g.
 * "compression=0 store_int8=true", "mmap=true"); return the status. */
int tu_model_save_opts(const aisle_model *m, const char *path, const char *options);
int tu_model_load_opts(aisle_model **out, const char *path, const char *options);

/* Runs only the tests whose names match $AISLE_TEST_FILTER (a cmocka
 * pattern, e.g. "test_sasrec_threads*"), when it is set: make check-tsan
 * uses it to run a suite's threaded tests alone. */
void tu_filter_from_env(void);

/* Failing allocator: counts allocations; the n-th one (1-based) and, if
 * `sticky`, every later one fails.  n = 0 never fails. */
void tu_failalloc_install(uint64_t fail_at, int sticky);
void tu_failalloc_remove(void);
uint64_t tu_failalloc_count(void);   /* allocations attempted since install */
int64_t tu_failalloc_live(void);     /* allocations not yet freed */

/* The allocation-failure sweep every suite runs: step(ctx) with the n-th
 * allocation failing (and, if `sticky`, every later one), for n = 1,
 * 1 + stride, 1 + 2 stride, ... until step succeeds.  step creates and
 * frees everything it allocates and returns its status; each failure must
 * be AISLE_ENOMEM, must have reached allocation n and must leave nothing
 * allocated, and so must the success.  Fails the test (naming `what` and
 * n) otherwise, or when step has not succeeded after `limit` points.
 * Returns the number of failure points covered. */
typedef int (*tu_oom_step)(void *ctx);
uint64_t tu_oom_sweep(const char *what, tu_oom_step step, void *ctx, uint64_t stride, int sticky, uint64_t limit);

#endif
