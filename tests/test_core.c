/* test_core.c - version, error model, configuration, allocator hook, and
 * the core helpers (key dictionaries, RNG, threads, buffers). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "core/core.h"
#include "util/test_util.h"

/* ---- version ---- */

static void test_version_matches_header(void **state) {
    (void)state;
    assert_string_equal(aisle_version(), AISLE_VERSION_STRING);
    assert_int_equal(aisle_version_number(), AISLE_VERSION_NUMBER);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", AISLE_VERSION_MAJOR, AISLE_VERSION_MINOR, AISLE_VERSION_PATCH);
    assert_string_equal(aisle_version(), expect);
}

/* ---- errors ---- */

static void test_strerror_covers_every_code(void **state) {
    (void)state;
    const int codes[] = {AISLE_OK, AISLE_EINVAL, AISLE_ENOMEM, AISLE_EIO, AISLE_EFORMAT, AISLE_ENOTFOUND,
                         AISLE_ERANGE, AISLE_EUNSUPPORTED, AISLE_ECANCELLED, AISLE_ESTATE, AISLE_EVERSION,
                         AISLE_EINTERNAL};
    for (size_t i = 0; i < CORE_ARRAY_LEN(codes); i++) {
        const char *s = aisle_strerror(codes[i]);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
        for (size_t j = 0; j < i; j++) assert_string_not_equal(s, aisle_strerror(codes[j]));
    }
    assert_string_equal(aisle_strerror(-12345), "unknown error");
    assert_string_equal(aisle_strerror(7), "unknown error");
    /* explicit, stable values: part of the ABI */
    assert_int_equal(AISLE_EINVAL, -1);
    assert_int_equal(AISLE_ENOMEM, -2);
    assert_int_equal(AISLE_EFORMAT, -4);
    assert_int_equal(AISLE_ECANCELLED, -8);
}

static void test_last_error_set_and_cleared(void **state) {
    (void)state;
    aisle_clear_error();
    assert_string_equal(aisle_last_error(), "");
    assert_int_equal(aisle_config_new(NULL), AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "aisle_config_new"));
    aisle_clear_error();
    assert_string_equal(aisle_last_error(), "");
}

static void *error_thread(void *arg) {
    (void)arg;
    aisle_config *cfg;
    aisle_config_new(&cfg);
    int rc = aisle_config_set_int(cfg, "no_such_option_in_thread", 1);
    aisle_config_free(cfg);
    static int ok;
    ok = rc == AISLE_ENOTFOUND && strstr(aisle_last_error(), "no_such_option_in_thread") != NULL;
    return &ok;
}

static void test_last_error_is_thread_local(void **state) {
    (void)state;
    aisle_clear_error();
    core_error(AISLE_EIO, "main thread message");
    pthread_t t;
    void *res;
    assert_int_equal(pthread_create(&t, NULL, error_thread, NULL), 0);
    pthread_join(t, &res);
    assert_true(*(int *)res);
    assert_string_equal(aisle_last_error(), "main thread message");
}

static void test_error_prefix_and_io_error(void **state) {
    (void)state;
    core_error(AISLE_EFORMAT, "bad byte at 7");
    assert_int_equal(core_error_prefix(AISLE_EFORMAT, "section %d", 3), AISLE_EFORMAT);
    assert_string_equal(aisle_last_error(), "section 3: bad byte at 7");
    FILE *f = fopen("/nonexistent/dir/x", "r");
    assert_null(f);
    assert_int_equal(core_io_error("/nonexistent/dir/x", "open"), AISLE_EIO);
    assert_non_null(strstr(aisle_last_error(), "/nonexistent/dir/x: open: "));
}

/* ---- config ---- */

static void test_config_typed_set_get(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    int64_t v;
    assert_ok(aisle_config_get_int(cfg, "threads", &v));
    assert_int_equal(v, 0); /* default */
    int set;
    assert_ok(aisle_config_is_set(cfg, "threads", &set));
    assert_false(set);
    assert_ok(aisle_config_set_int(cfg, "threads", 4));
    assert_ok(aisle_config_get_int(cfg, "threads", &v));
    assert_int_equal(v, 4);
    assert_ok(aisle_config_is_set(cfg, "threads", &set));
    assert_true(set);
    assert_ok(aisle_config_set_string(cfg, "model", "popular"));
    char buf[32];
    assert_ok(aisle_config_get_string(cfg, "model", buf, sizeof buf));
    assert_string_equal(buf, "popular");
    assert_ok(aisle_config_get_string(cfg, "threads", buf, sizeof buf));
    assert_string_equal(buf, "4");
    assert_ok(aisle_config_set(cfg, "exclude_seen", "no"));
    assert_ok(aisle_config_get_int(cfg, "exclude_seen", &v));
    assert_int_equal(v, 0);
    assert_ok(aisle_config_unset(cfg, "threads"));
    assert_ok(aisle_config_get_int(cfg, "threads", &v));
    assert_int_equal(v, 0);
    aisle_config_free(cfg);
}

static void test_config_rejects_unknown_wrong_type_out_of_range(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_status_msg(aisle_config_set_int(cfg, "facters", 3), AISLE_ENOTFOUND, "unknown option 'facters'");
    assert_status_msg(aisle_config_set_int(cfg, "threads", 100000), AISLE_ERANGE, "[0, 256]");
    assert_status_msg(aisle_config_set_int(cfg, "threads", -1), AISLE_ERANGE, "'threads'");
    assert_status_msg(aisle_config_set_float(cfg, "threads", 1.5), AISLE_EINVAL, "threads");
    assert_status_msg(aisle_config_set_int(cfg, "model", 3), AISLE_EINVAL, "model");
    assert_status_msg(aisle_config_set(cfg, "threads", "four"), AISLE_EINVAL, "got 'four'");
    assert_status_msg(aisle_config_set(cfg, "threads", "4x"), AISLE_EINVAL, "threads");
    assert_status_msg(aisle_config_set(cfg, "threads", ""), AISLE_EINVAL, "threads");
    assert_status_msg(aisle_config_set(cfg, "quantize", "fp8"), AISLE_EINVAL, "none|fp16|int8");
    assert_status_msg(aisle_config_set(cfg, "exclude_seen", "maybe"), AISLE_EINVAL, "boolean");
    assert_status_msg(aisle_config_set_float(cfg, "half_life", NAN), AISLE_EINVAL, "finite");
    assert_status_msg(aisle_config_set_float(cfg, "half_life", -1.0), AISLE_ERANGE, "half_life");
    assert_status_msg(aisle_config_set_int(NULL, "threads", 1), AISLE_EINVAL, NULL);
    assert_status_msg(aisle_config_set_int(cfg, NULL, 1), AISLE_EINVAL, NULL);
    /* nothing was stored by the failed calls */
    char text[64];
    assert_ok(aisle_config_to_string(cfg, text, sizeof text, NULL));
    assert_string_equal(text, "");
    aisle_config_free(cfg);
}

static void test_config_parse_good(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "  model=popular, threads=2;seed=7\n half_life=1.5 popular_by=\"weight\""));
    int64_t v;
    double f;
    assert_ok(aisle_config_get_int(cfg, "threads", &v));
    assert_int_equal(v, 2);
    assert_ok(aisle_config_get_int(cfg, "seed", &v));
    assert_int_equal(v, 7);
    assert_ok(aisle_config_get_float(cfg, "half_life", &f));
    assert_true(f == 1.5);
    char text[256];
    size_t need;
    assert_ok(aisle_config_to_string(cfg, text, sizeof text, &need));
    assert_string_equal(text, "model=popular threads=2 seed=7 half_life=1.5 popular_by=weight");
    assert_int_equal(need, strlen(text));
    /* round trip through the text form */
    aisle_config *again;
    assert_ok(aisle_config_new(&again));
    assert_ok(aisle_config_parse(again, text));
    char text2[256];
    assert_ok(aisle_config_to_string(again, text2, sizeof text2, NULL));
    assert_string_equal(text, text2);
    /* regression (found by fuzz_config): values holding characters the
     * parser treats as separators (\v, \f) must be quoted on output */
    assert_ok(aisle_config_set_string(again, "model", "a\vb\fc\"d"));
    assert_ok(aisle_config_to_string(again, text2, sizeof text2, NULL));
    aisle_config *third;
    assert_ok(aisle_config_new(&third));
    assert_ok(aisle_config_parse(third, text2));
    assert_string_equal(config_string(third, NULL, "model"), "a\vb\fc\"d");
    aisle_config_free(third);
    /* too small a buffer */
    assert_status_msg(aisle_config_to_string(cfg, text, 5, &need), AISLE_ERANGE, "too small");
    assert_string_equal(text, "");
    aisle_config_free(again);
    aisle_config_free(cfg);
}

static void test_config_parse_bad_is_all_or_nothing(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "threads=3"));
    assert_status_msg(aisle_config_parse(cfg, "seed=9 threads=999"), AISLE_ERANGE, "pair 2");
    assert_status_msg(aisle_config_parse(cfg, "seed=9 threads"), AISLE_EFORMAT, "expected key=value");
    assert_status_msg(aisle_config_parse(cfg, "=4"), AISLE_EFORMAT, "pair 1");
    assert_status_msg(aisle_config_parse(cfg, "model=\"als"), AISLE_EFORMAT, "unterminated");
    assert_status_msg(aisle_config_parse(cfg, "seed=1 nope=2"), AISLE_ENOTFOUND, "'nope'");
    /* integer bounds compare exactly: 2^53 + 1 is past seed's 2^53 */
    aisle_config *big;
    assert_ok(aisle_config_new(&big));
    assert_ok(aisle_config_parse(big, "seed=9007199254740992"));
    assert_status_msg(aisle_config_parse(big, "seed=9007199254740993"), AISLE_ERANGE, "seed");
    assert_status_msg(aisle_config_set_int(big, "seed", 9007199254740993LL), AISLE_ERANGE, "seed");
    aisle_config_free(big);
    int64_t v;
    assert_ok(aisle_config_get_int(cfg, "threads", &v));
    assert_int_equal(v, 3);
    int set;
    assert_ok(aisle_config_is_set(cfg, "seed", &set));
    assert_false(set);
    assert_ok(aisle_config_parse(cfg, ""));
    aisle_config_free(cfg);
}

static void test_config_copy_and_kind_check(void **state) {
    (void)state;
    aisle_config *cfg, *copy;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=popular seed=5"));
    assert_ok(aisle_config_copy(cfg, &copy));
    aisle_config_free(cfg);
    int64_t v;
    assert_ok(aisle_config_get_int(copy, "seed", &v));
    assert_int_equal(v, 5);
    assert_string_equal(config_string(copy, NULL, "model"), "popular");
    /* a kind's table may narrow a generic option */
    static const option_spec narrow[] = {{"seed", AISLE_OPTION_INT, 0, 3, "1", NULL, "test", "narrow seed"},
                                         OPTION_END};
    assert_status_msg(config_check(copy, narrow, "model 'test'"), AISLE_ERANGE, "for model 'test'");
    assert_int_equal(config_int(NULL, narrow, "seed"), 1); /* kind default */
    assert_int_equal(config_int(NULL, NULL, "seed"), 42);  /* generic default */
    aisle_config_free(copy);
    aisle_config_free(NULL);
}

static void test_option_table_is_documented(void **state) {
    (void)state;
    int n = aisle_option_count();
    assert_true(n > 5);
    for (int i = 0; i < n; i++) {
        const char *name, *def, *range, *scope, *help;
        int type;
        assert_ok(aisle_option_info(i, &name, &type, &def, &range, &scope, &help));
        assert_true(strlen(name) > 0);
        assert_true(strlen(help) > 10);
        assert_true(type >= AISLE_OPTION_INT && type <= AISLE_OPTION_BOOL);
        /* every default is itself a valid value */
        const option_spec *spec = option_at(option_table_at, i);
        config_entry e;
        if (config_parse_value(spec, def, &e) != AISLE_OK) fail_msg("default of '%s' invalid: %s", name, aisle_last_error());
        core_free(e.s);
    }
    /* a name declared by several tables (kinds sharing "factors", ...) must
     * have one type everywhere: values are parsed by the first declaration */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (!strcmp(option_at(option_table_at, i)->name, option_at(option_table_at, j)->name) && option_at(option_table_at, i)->type != option_at(option_table_at, j)->type)
                fail_msg("option '%s' is declared with two types (scopes %s and %s)", option_at(option_table_at, i)->name,
                         option_at(option_table_at, i)->scope, option_at(option_table_at, j)->scope);
    assert_int_equal(aisle_option_info(n, NULL, NULL, NULL, NULL, NULL, NULL), AISLE_ERANGE);
    assert_int_equal(aisle_option_info(-1, NULL, NULL, NULL, NULL, NULL, NULL), AISLE_ERANGE);
}

static void test_config_progress_callback(void **state) {
    (void)state;
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_int_equal(aisle_config_set_progress(NULL, NULL, NULL), AISLE_EINVAL);
    assert_ok(aisle_config_set_progress(cfg, NULL, NULL));
    core_progress p;
    core_progress_init(&p, cfg);
    assert_ok(core_progress_report(&p, 1, 2, 0.5, NAN));
    aisle_config_free(cfg);
}

/* ---- allocator ---- */

static void plain_free(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

static void test_allocator_requires_all_functions(void **state) {
    (void)state;
    assert_status_msg(aisle_set_allocator(NULL, NULL, plain_free, NULL), AISLE_EINVAL, "all three");
    assert_ok(aisle_set_allocator(NULL, NULL, NULL, NULL));
}

static void test_allocator_failure_is_reported_and_leak_free(void **state) {
    (void)state;
    /* Fail each allocation of a config workflow in turn: every failure must
     * be AISLE_ENOMEM and leave nothing allocated. */
    int succeeded = 0;
    for (uint64_t n = 1; n < 200 && !succeeded; n++) {
        tu_failalloc_install(n, 0);
        aisle_config *cfg = NULL;
        int rc = aisle_config_new(&cfg);
        if (!rc) rc = aisle_config_parse(cfg, "model=popular threads=2 seed=3");
        if (!rc) {
            char buf[128];
            rc = aisle_config_to_string(cfg, buf, sizeof buf, NULL);
        }
        aisle_config_free(cfg);
        if (rc) assert_int_equal(rc, AISLE_ENOMEM);
        else succeeded = 1;
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        assert_int_equal(live, 0);
    }
    assert_true(succeeded);
}

static void test_allocator_counts_every_allocation(void **state) {
    (void)state;
    tu_failalloc_install(0, 0);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_true(tu_failalloc_count() >= 1);
    assert_true(tu_failalloc_live() >= 1);
    aisle_config_free(cfg);
    assert_int_equal(tu_failalloc_live(), 0);
    tu_failalloc_remove();
}

/* ---- helpers ---- */

/* A borrowed dictionary (a mapped model file's key table) is trusted for
 * nothing: a full table, entries past the count and offsets outside the
 * arena still give bounded lookups; insertions go to an owned part after
 * the borrowed keys (nothing copied: the base stays borrowed), and the
 * borrowed memory is never written. */
static void test_keys_borrowed_table_stays_in_bounds(void **state) {
    (void)state;
    static const char arena[] = "mug\0tea\0kettle"; /* 15 bytes, the last a NUL */
    const uint64_t good[3] = {0, 4, 8};
    uint32_t slots[4] = {0};
    for (uint32_t i = 0; i < 3; i++) {
        const char *key = arena + good[i];
        size_t h = keys_slot_of(key, strlen(key), 4);
        while (slots[h]) h = (h + 1) & 3;
        slots[h] = i + 1;
    }
    uint32_t slots0[4];
    memcpy(slots0, slots, sizeof slots);
    core_keys k;
    keys_init(&k);
    keys_borrow(&k, arena, sizeof arena, good, 3, slots, 4);
    assert_int_equal(keys_find(&k, "tea", 3), 1);
    assert_int_equal(keys_find(&k, "kettle", 6), 2);
    assert_int_equal(keys_find(&k, "kett", 4), -1);
    assert_int_equal(keys_find(&k, "cups", 4), -1);
    /* a full table (no empty slot to stop at: at most 4 probes), offsets far
     * outside the arena and slots past the count */
    const uint64_t bad[3] = {0, 1ull << 40, sizeof arena};
    uint32_t junk[4] = {9, 2, 3, 7};
    keys_borrow(&k, arena, sizeof arena, bad, 3, junk, 4);
    assert_string_equal(keys_at(&k, 1), "");
    assert_string_equal(keys_at(&k, 2), "");
    assert_int_equal(keys_find(&k, "tea", 3), -1);
    assert_int_equal(keys_find(&k, "", 0), -1);
    /* insertions join an owned part after the borrowed keys and work
     * (past the owned table's first rehash too); the base is not copied */
    keys_borrow(&k, arena, sizeof arena, good, 3, slots, 4);
    uint32_t idx;
    bool added;
    assert_ok(keys_intern(&k, "cups", 4, &idx, &added));
    assert_true(added && k.borrowed);
    assert_int_equal(idx, 3);
    assert_int_equal(k.n, 4);
    assert_int_equal(k.arena_len, 5); /* "cups" alone: the base stays where it is */
    char key[32];
    for (uint32_t i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "added%u", i);
        assert_ok(keys_intern(&k, key, strlen(key), &idx, &added));
        assert_true(added);
        assert_int_equal(idx, 4 + i);
    }
    assert_ok(keys_intern(&k, "tea", 3, &idx, &added)); /* a base key is found, not added */
    assert_false(added);
    assert_int_equal(idx, 1);
    assert_int_equal(keys_find(&k, "mug", 3), 0);
    assert_int_equal(keys_find(&k, "cups", 4), 3);
    assert_int_equal(keys_find(&k, "added99", 7), 103);
    assert_string_equal(keys_at(&k, 2), "kettle");
    assert_string_equal(keys_at(&k, 3), "cups");
    assert_string_equal(keys_at(&k, 103), "added99");
    assert_memory_equal(slots, slots0, sizeof slots); /* never written */
    /* a copy merges base and added keys into an owned dictionary */
    core_keys c;
    assert_ok(keys_copy(&c, &k));
    assert_false(c.borrowed);
    assert_int_equal(c.n, 104);
    assert_int_equal(keys_find(&c, "tea", 3), 1);
    assert_int_equal(keys_find(&c, "added42", 7), 46);
    assert_string_equal(keys_at(&c, 103), "added99");
    keys_clear(&c);
    /* truncating into the owned part, then into the base (a rolled-back
     * insert): dropped keys are gone, the next key takes the next index */
    keys_truncate(&k, 5);
    assert_int_equal(keys_find(&k, "added0", 6), 4);
    assert_int_equal(keys_find(&k, "added1", 6), -1);
    keys_truncate(&k, 2);
    assert_int_equal(keys_find(&k, "kettle", 6), -1);
    assert_int_equal(keys_find(&k, "cups", 4), -1);
    assert_int_equal(keys_find(&k, "tea", 3), 1);
    assert_ok(keys_intern(&k, "kettle", 6, &idx, &added));
    assert_true(added);
    assert_int_equal(idx, 2);
    assert_string_equal(keys_at(&k, 2), "kettle");
    keys_clear(&k);
    /* a repeated or empty key (a corrupt, unverified table) is refused
     * when the dictionary is copied (saving does: model_file.c) */
    static const char twice[] = "mug\0mug";
    const uint64_t dup[2] = {0, 4};
    keys_borrow(&k, twice, sizeof twice, dup, 2, slots, 4);
    assert_ok(keys_intern(&k, "cups", 4, &idx, &added));
    assert_status_msg(keys_copy(&c, &k), AISLE_EFORMAT, "repeats");
    assert_true(k.borrowed); /* unchanged */
    const uint64_t empty[2] = {0, sizeof twice - 1};
    keys_borrow(&k, twice, sizeof twice, empty, 2, slots, 4);
    assert_status_msg(keys_copy(&c, &k), AISLE_EFORMAT, "empty");
    keys_clear(&k); /* frees the owned part only */
}

static void test_keys_intern_find_truncate(void **state) {
    (void)state;
    core_keys k;
    keys_init(&k);
    char key[32];
    for (uint32_t i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "item-%u", i);
        uint32_t idx;
        bool added;
        assert_ok(keys_intern(&k, key, strlen(key), &idx, &added));
        assert_int_equal(idx, i);
        assert_true(added);
    }
    uint32_t idx;
    bool added;
    assert_ok(keys_intern(&k, "item-17", 7, &idx, &added));
    assert_int_equal(idx, 17);
    assert_false(added);
    assert_int_equal(keys_find(&k, "item-999", 8), 999);
    assert_int_equal(keys_find(&k, "item-1000", 9), -1);
    assert_string_equal(keys_at(&k, 500), "item-500");
    keys_truncate(&k, 10);
    assert_int_equal(k.n, 10);
    assert_int_equal(keys_find(&k, "item-9", 6), 9);
    assert_int_equal(keys_find(&k, "item-10", 7), -1);
    assert_ok(keys_intern(&k, "new", 3, &idx, NULL));
    assert_int_equal(idx, 10);
    core_keys c;
    assert_ok(keys_copy(&c, &k));
    assert_int_equal(keys_find(&c, "new", 3), 10);
    assert_int_equal(keys_intern(&k, "a\0b", 3, &idx, NULL), AISLE_EINVAL);
    keys_clear(&c);
    keys_clear(&k);
}

static void test_rng_is_deterministic_and_uniform(void **state) {
    (void)state;
    core_rng a, b;
    rng_seed(&a, 123);
    rng_seed(&b, 123);
    for (int i = 0; i < 100; i++) assert_true(rng_next(&a) == rng_next(&b));
    /* fixed first value: the same stream on every platform */
    rng_seed(&a, 0);
    uint64_t first = rng_next(&a);
    rng_seed(&a, 0);
    assert_true(rng_next(&a) == first);
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) counts[rng_below(&a, 10)]++;
    for (int i = 0; i < 10; i++) assert_true(counts[i] > 9500 && counts[i] < 10500);
    double sum = 0, sq = 0;
    for (int i = 0; i < 100000; i++) {
        float x = rng_normal(&a);
        sum += x;
        sq += (double)x * x;
    }
    assert_true(fabs(sum / 100000) < 0.02);
    assert_true(fabs(sq / 100000 - 1.0) < 0.03);
    for (int i = 0; i < 1000; i++) {
        float f = rng_float(&a);
        assert_true(f >= 0.0f && f < 1.0f);
    }
    rng_seed_stream(&a, 1, 0);
    rng_seed_stream(&b, 1, 1);
    assert_true(rng_next(&a) != rng_next(&b));
}

typedef struct sum_ctx {
    uint64_t *out;
    size_t fail_at;
} sum_ctx;

static int sum_range(void *ctx, size_t b, size_t e, int tid) {
    (void)tid;
    sum_ctx *c = ctx;
    for (size_t i = b; i < e; i++) {
        if (i == c->fail_at) return core_error(AISLE_ERANGE, "failed at %zu", i);
        c->out[i] = i * i;
    }
    return AISLE_OK;
}

static void test_parallel_for_covers_range_and_propagates_errors(void **state) {
    (void)state;
    size_t n = 10007;
    uint64_t *out = calloc(n, sizeof *out);
    for (int threads = 1; threads <= 4; threads++) {
        memset(out, 0, n * sizeof *out);
        sum_ctx c = {out, (size_t)-1};
        assert_ok(core_parallel_for(threads, n, 64, sum_range, &c));
        for (size_t i = 0; i < n; i++) assert_true(out[i] == i * i);
        c.fail_at = 5000;
        aisle_clear_error();
        assert_int_equal(core_parallel_for(threads, n, 64, sum_range, &c), AISLE_ERANGE);
        assert_string_equal(aisle_last_error(), "failed at 5000"); /* message crosses threads */
    }
    free(out);
    assert_int_equal(core_thread_count(3), 3);
    assert_true(core_thread_count(0) >= 1);
    assert_int_equal(core_thread_count(100000), 256);
}

/* Counts the tids a pool call used (workers write only their own slot). */
typedef struct tid_ctx {
    int used[8];
} tid_ctx;

static int mark_tid(void *ctx, size_t b, size_t e, int tid) {
    (void)b, (void)e;
    ((tid_ctx *)ctx)->used[tid] = 1;
    return AISLE_OK;
}

static void test_pool_reuses_threads_covers_range_and_propagates_errors(void **state) {
    (void)state;
    size_t n = 10007;
    uint64_t *out = calloc(n, sizeof *out);
    for (int threads = 1; threads <= 4; threads++) {
        core_pool *pool;
        assert_ok(core_pool_new(&pool, threads));
        assert_int_equal(core_pool_threads(pool), threads);
        /* many calls on the same workers: each covers the range, an error
         * stops it and its message reaches the caller, the next is clean */
        for (int round = 0; round < 50; round++) {
            memset(out, 0, n * sizeof *out);
            sum_ctx c = {out, round % 5 == 4 ? (size_t)(round * 97) : (size_t)-1};
            aisle_clear_error();
            int rc = core_pool_for(pool, n, 64, sum_range, &c);
            if (c.fail_at != (size_t)-1) {
                char want[64];
                snprintf(want, sizeof want, "failed at %zu", c.fail_at);
                assert_int_equal(rc, AISLE_ERANGE);
                assert_string_equal(aisle_last_error(), want);
                continue;
            }
            assert_ok(rc);
            for (size_t i = 0; i < n; i++) assert_true(out[i] == i * i);
        }
        tid_ctx t = {{0}};
        assert_ok(core_pool_for(pool, 1000, 1, mark_tid, &t));
        for (int k = threads; k < 8; k++) assert_int_equal(t.used[k], 0); /* tids stay below the pool size */
        core_pool_free(pool);
    }
    /* no pool: the calling thread alone */
    sum_ctx c = {out, (size_t)-1};
    assert_ok(core_pool_for(NULL, n, 64, sum_range, &c));
    assert_true(out[n - 1] == (uint64_t)(n - 1) * (n - 1));
    assert_int_equal(core_pool_threads(NULL), 1);
    core_pool_free(NULL);
    free(out);
}

/* Home ranges: with two threads and 100 chunks, thread 0's home is
 * [0, 50) and thread 1's [50, 100).  Chunk 0 (thread 0's first) waits
 * until chunk 49 has run: only thread 1 can run it, after its own range,
 * by taking thread 0's chunks from the far end.  Chunk 50 (thread 1's
 * first) waits until chunk 0 has started, so a slow start of thread 0
 * (TSan, a loaded machine) cannot let thread 1 steal the whole range
 * first.  The waits are bounded so a broken pool fails instead of hanging. */
typedef struct steal_ctx {
    int tid_of[100], order_of[100];
    atomic_int done49, started0, seq;
} steal_ctx;

static void wait_for(atomic_int *flag) {
    for (int waited = 0; !atomic_load(flag) && waited < 120000; waited++) usleep(500);
}

static int steal_chunk(void *ctx, size_t b, size_t e, int tid) {
    steal_ctx *c = ctx;
    for (size_t i = b; i < e; i++) {
        if (i == 0) {
            atomic_store(&c->started0, 1);
            wait_for(&c->done49);
        }
        if (i == 50) wait_for(&c->started0);
        c->tid_of[i] = tid;
        c->order_of[i] = atomic_fetch_add(&c->seq, 1);
        if (i == 49) atomic_store(&c->done49, 1);
    }
    return AISLE_OK;
}

static void test_pool_runs_home_ranges_first_and_steals_from_the_far_end(void **state) {
    (void)state;
    core_pool *pool;
    assert_ok(core_pool_new(&pool, 2));
    if (core_pool_threads(pool) < 2) { /* no second thread could be started */
        core_pool_free(pool);
        skip();
    }
    steal_ctx c;
    memset(&c, 0, sizeof c);
    atomic_init(&c.done49, 0);
    atomic_init(&c.started0, 0);
    atomic_init(&c.seq, 0);
    assert_ok(core_pool_for(pool, 100, 1, steal_chunk, &c));
    assert_int_equal(c.tid_of[0], 0);
    for (int i = 49; i < 100; i++) assert_int_equal(c.tid_of[i], 1);
    for (int i = 51; i < 100; i++) assert_true(c.order_of[i - 1] < c.order_of[i]); /* its own range in order */
    assert_true(c.order_of[99] < c.order_of[49]);                                  /* then the theft */
    core_pool_free(pool);
}

static void test_buf_printf_and_export(void **state) {
    (void)state;
    core_buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++) assert_ok(buf_printf(&b, "%d,", i));
    assert_int_equal(strncmp(b.data, "0,1,2,", 6), 0);
    char small[4];
    size_t need;
    assert_int_equal(buf_export(&b, small, sizeof small, &need), AISLE_ERANGE);
    assert_int_equal(need, b.len);
    buf_free(&b);
    assert_ok(core_copy_string("abc", small, sizeof small, &need));
    assert_string_equal(small, "abc");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_matches_header),
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_last_error_set_and_cleared),
        cmocka_unit_test(test_last_error_is_thread_local),
        cmocka_unit_test(test_error_prefix_and_io_error),
        cmocka_unit_test(test_config_typed_set_get),
        cmocka_unit_test(test_config_rejects_unknown_wrong_type_out_of_range),
        cmocka_unit_test(test_config_parse_good),
        cmocka_unit_test(test_config_parse_bad_is_all_or_nothing),
        cmocka_unit_test(test_config_copy_and_kind_check),
        cmocka_unit_test(test_option_table_is_documented),
        cmocka_unit_test(test_config_progress_callback),
        cmocka_unit_test(test_allocator_requires_all_functions),
        cmocka_unit_test(test_allocator_failure_is_reported_and_leak_free),
        cmocka_unit_test(test_allocator_counts_every_allocation),
        cmocka_unit_test(test_keys_intern_find_truncate),
        cmocka_unit_test(test_keys_borrowed_table_stays_in_bounds),
        cmocka_unit_test(test_rng_is_deterministic_and_uniform),
        cmocka_unit_test(test_parallel_for_covers_range_and_propagates_errors),
        cmocka_unit_test(test_pool_reuses_threads_covers_range_and_propagates_errors),
        cmocka_unit_test(test_pool_runs_home_ranges_first_and_steals_from_the_far_end),
        cmocka_unit_test(test_buf_printf_and_export),
    };
    tu_filter_from_env();
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
