/* test_util.c - helpers shared by the suites. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/test_util.h"

const char *tu_srcdir(void) {
    const char *s = getenv("AISLE_SRCDIR");
    return s && *s ? s : ".";
}

aisle_model *tu_train(const aisle_dataset *ds, const char *options) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, options));
    aisle_model *m = NULL;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg);
    return m;
}

const char *tu_shared_data(void) {
    static char path[1024];
    const char *s = getenv("AISLE_SHARED_DATA");
    if (s && *s) return s;
    /* a checkout beside shared/ (../shared/data), or a worktree one level
     * further down (../../shared/data) */
    snprintf(path, sizeof path, "%s/../shared/data", tu_srcdir());
    if (access(path, R_OK) == 0) return path;
    char deeper[1024];
    snprintf(deeper, sizeof deeper, "%s/../../shared/data", tu_srcdir());
    if (access(deeper, R_OK) == 0) snprintf(path, sizeof path, "%s", deeper);
    return path;
}

int tu_shared_file(char *out, size_t len, const char *rel) {
    snprintf(out, len, "%s/%s", tu_shared_data(), rel);
    if (access(out, R_OK) == 0) return 1;
    print_message("skipped: %s not present (set AISLE_SHARED_DATA to the shared data folder)\n", out);
    return 0;
}

void tu_tmpdir(char *out, size_t len, const char *name) {
    char base[1024];
    snprintf(base, sizeof base, "%s/tests/tmp", tu_srcdir());
    mkdir(base, 0755);
    snprintf(out, len, "%s/%s.%ld", base, name, (long)getpid());
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    if (system(cmd) != 0) fail_msg("cannot clean %s", out);
    if (mkdir(out, 0755) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", out, strerror(errno));
}

void tu_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot write %s: %s", path, strerror(errno));
    if (len && fwrite(data, 1, len, f) != len) fail_msg("short write %s", path);
    fclose(f);
}

/* The failing allocator keeps exact live counts.  Its counters are atomic
 * because the library allocates from its worker threads too (threads > 1):
 * the n-th allocation fails whichever thread makes it. */
static _Atomic uint64_t fa_at, fa_count;
static _Atomic int fa_sticky, fa_failed;
static _Atomic int64_t fa_live;

static int fa_should_fail(void) {
    uint64_t n = atomic_fetch_add(&fa_count, 1) + 1;
    uint64_t at = atomic_load(&fa_at);
    if (at && (n == at || (atomic_load(&fa_sticky) && n > at))) {
        atomic_store(&fa_failed, 1);
        return 1;
    }
    return 0;
}

static void *fa_malloc(void *ctx, size_t n) {
    (void)ctx;
    if (fa_should_fail()) return NULL;
    void *p = malloc(n);
    if (p) atomic_fetch_add(&fa_live, 1);
    return p;
}

static void *fa_realloc(void *ctx, void *p, size_t n) {
    (void)ctx;
    if (fa_should_fail()) return NULL;
    void *q = realloc(p, n);
    if (q && !p) atomic_fetch_add(&fa_live, 1);
    return q;
}

static void fa_free(void *ctx, void *p) {
    (void)ctx;
    if (p) atomic_fetch_sub(&fa_live, 1);
    free(p);
}

void tu_failalloc_install(uint64_t fail_at, int sticky) {
    fa_at = fail_at;
    fa_sticky = sticky;
    fa_count = 0;
    fa_failed = 0;
    fa_live = 0;
    aisle_set_allocator(fa_malloc, fa_realloc, fa_free, NULL);
}

void tu_failalloc_remove(void) { aisle_set_allocator(NULL, NULL, NULL, NULL); }
uint64_t tu_failalloc_count(void) { return fa_count; }
int64_t tu_failalloc_live(void) { return fa_live; }

uint64_t tu_oom_sweep(const char *what, tu_oom_step step, void *ctx, uint64_t stride, int sticky, uint64_t limit) {
    uint64_t failures = 0;
    for (uint64_t n = 1; n < limit; n += stride ? stride : 1) {
        tu_failalloc_install(n, sticky);
        int rc = step(ctx);
        uint64_t attempted = tu_failalloc_count();
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        if (live != 0)
            fail_msg("%s: allocation %llu failing: %lld allocations live after the call (rc %d)", what,
                     (unsigned long long)n, (long long)live, rc);
        if (rc == AISLE_OK) return failures;
        if (rc != AISLE_ENOMEM)
            fail_msg("%s: failure at allocation %llu gave %d (%s), not AISLE_ENOMEM", what, (unsigned long long)n,
                     rc, aisle_last_error());
        if (attempted < n) fail_msg("%s: failed without reaching allocation %llu", what, (unsigned long long)n);
        failures++;
    }
    fail_msg("%s: never succeeded in %llu allocation-failure points", what, (unsigned long long)limit);
    return failures;
}

void tu_filter_from_env(void) {
    const char *f = getenv("AISLE_TEST_FILTER");
    if (f && *f) cmocka_set_test_filter(f);
}

int tu_model_save_opts(const aisle_model *m, const char *path, const char *options) {
    aisle_config *cfg = NULL;
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_parse(cfg, options);
    if (!rc) rc = aisle_model_save(m, path, cfg);
    aisle_config_free(cfg);
    return rc;
}

int tu_model_load_opts(aisle_model **out, const char *path, const char *options) {
    aisle_config *cfg = NULL;
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_parse(cfg, options);
    if (!rc) rc = aisle_model_load(out, path, cfg);
    aisle_config_free(cfg);
    return rc;
}
