/* mpi_util.c - see mpi_util.h. */
#include "mpi_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int g_rank, g_size;
char g_dir[512];
static const char *g_dir_name;

/* The shared scratch directory: rank 0 makes it, every rank learns it. */
static int setup(void **state) {
    (void)state;
    if (g_rank == 0) tu_tmpdir(g_dir, sizeof g_dir, g_dir_name);
    MPI_Bcast(g_dir, sizeof g_dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    return 0;
}

int tm_main(int *argc, char ***argv, const char *dir, const struct CMUnitTest *tests, size_t n) {
    assert_ok(aisle_dist_init(argc, argv));
    assert_ok(aisle_dist_rank(&g_rank, &g_size));
    tu_filter_from_env();
    g_dir_name = dir;
    int failed = _cmocka_run_group_tests(dir, tests, n, setup, NULL);
    aisle_dist_finalize();
    return failed ? 1 : 0;
}

void tm_path(char *out, size_t len, const char *name) { snprintf(out, len, "%s/%s", g_dir, name); }

double tm_factor_diff(const aisle_model *a, const aisle_model *b, double *largest) {
    const model_factors *fa = a->state, *fb = b->state;
    assert_int_equal(fa->dim, fb->dim);
    assert_int_equal(a->users.n, b->users.n);
    assert_int_equal(a->items.n, b->items.n);
    double diff = 0, big = 0;
    size_t nu = a->users.n * fa->dim, ni = a->items.n * fa->dim;
    for (size_t k = 0; k < nu + ni; k++) {
        float x = k < nu ? fa->user[k] : fa->item[k - nu], y = k < nu ? fb->user[k] : fb->item[k - nu];
        diff = fmax(diff, fabs((double)x - y));
        big = fmax(big, fabs((double)x));
    }
    if (largest) *largest = big;
    return diff;
}

int tm_agree(int rc) {
    dist_comm c;
    int crc = dist_comm_world(&c);
    return crc ? crc : dist_agree(&c, rc);
}

/* Every allocation point of one rank (the last) fails once in turn while
 * the others allocate freely: every rank must return the same status --
 * AISLE_OK or AISLE_ENOMEM -- and nothing may hang (a rank that skipped a
 * collective after a failed allocation would leave the others waiting
 * until make test-mpi's timeout) or leak.  At one rank this is the plain
 * allocation-failure sweep. */
void tm_sweep_one_rank(int (*step)(const char *, const char *), const char *name, const char *train,
                           const char *test) {
    int victim = g_size - 1;
    unsigned long long total = 0;
    tu_failalloc_install(0, 0);
    assert_ok(step(train, test));
    if (g_rank == victim) total = tu_failalloc_count();
    tu_failalloc_remove();
    MPI_Bcast(&total, 1, MPI_UNSIGNED_LONG_LONG, victim, MPI_COMM_WORLD);
    /* at several ranks every 10th point (a different tenth at 2 and 3
     * ranks) keeps make test-mpi in seconds; AISLE_MPI_OOM_STRIDE=1 runs
     * them all (minutes) */
    const char *env = getenv("AISLE_MPI_OOM_STRIDE");
    uint64_t stride = env ? strtoull(env, NULL, 10) : g_size > 1 ? 10 : 1;
    if (stride == 0) stride = 1;
    const char *first = getenv("AISLE_MPI_OOM_FIRST"); /* to rerun one point */
    for (uint64_t n = first ? strtoull(first, NULL, 10) : 1 + (uint64_t)(g_size - 1) % stride; n <= total; n += stride) {
        tu_failalloc_install(g_rank == victim ? n : 0, 0);
        int rc = step(train, test);
        int64_t live = tu_failalloc_live();
        tu_failalloc_remove();
        if (live != 0)
            fail_msg("failure at allocation %llu of rank %d leaked %lld allocations on rank %d",
                     (unsigned long long)n, victim, (long long)live, g_rank);
        if (rc != AISLE_OK && rc != AISLE_ENOMEM)
            fail_msg("failure at allocation %llu of rank %d gave %d (%s) on rank %d, not AISLE_ENOMEM",
                     (unsigned long long)n, victim, rc, aisle_last_error(), g_rank);
        if (first && g_rank == victim) print_message("rank %d: %d %s\n", victim, rc, rc ? aisle_last_error() : "");
        int lo = rc, hi = rc;
        MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        if (lo != hi)
            fail_msg("failure at allocation %llu of rank %d: ranks disagree (%d vs %d; rank %d: %d %s)", (unsigned long long)n,
                     victim, lo, hi, g_rank, rc, rc ? aisle_last_error() : "");
    }
    if (g_rank == 0)
        print_message("dist %s: every %llu of %llu failure points on rank %d of %d\n", name, (unsigned long long)stride,
                      total, victim, g_size);
    assert_true(total > 50);
}


/* Whether both models saved to buffers are the same bytes. */
static bool same_model_bytes(const aisle_model *a, const aisle_model *b) {
    void *ba = NULL, *bb = NULL;
    size_t la = 0, lb = 0;
    assert_ok(aisle_model_save_buffer(a, NULL, &ba, &la));
    assert_ok(aisle_model_save_buffer(b, NULL, &bb, &lb));
    bool same = la == lb && memcmp(ba, bb, la) == 0;
    aisle_free(ba);
    aisle_free(bb);
    return same;
}

void tm_same_model_bytes(const aisle_model *a, const aisle_model *b, const char *what) {
    if (!same_model_bytes(a, b)) fail_msg("%s: the model files differ", what);
}

unsigned char *tm_file_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int g_progress_calls, g_stop_after;
static int stop_after_n(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)user, (void)step, (void)steps, (void)loss, (void)metric, (void)elapsed;
    return ++g_progress_calls >= g_stop_after;
}

void tm_stop_after(aisle_config *cfg, int n) {
    g_progress_calls = 0, g_stop_after = n;
    if (g_rank == 0) assert_ok(aisle_config_set_progress(cfg, n ? stop_after_n : NULL, NULL));
}

static aisle_config *parsed(const char *options, const char *more) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, options));
    if (more) assert_ok(aisle_config_parse(cfg, more));
    return cfg;
}

void tm_check_resume(const char *name, tm_train_fn train, void *ctx, const char *options, int every, int stop_after,
                     const char *other, const char *field) {
    char ckpt[600], file[64];
    snprintf(file, sizeof file, "%s.ckpt", name);
    tm_path(ckpt, sizeof ckpt, file);
    if (g_rank == 0) unlink(ckpt);
    MPI_Barrier(MPI_COMM_WORLD);
    aisle_config *cfg = parsed(options, NULL);
    aisle_model *a = NULL, *b = NULL, *tmp = (aisle_model *)1;
    assert_ok(train(ctx, cfg, NULL, 0, &a));
    tm_stop_after(cfg, stop_after);
    assert_status_msg(train(ctx, cfg, ckpt, every, &tmp), AISLE_ECANCELLED, "rank 0: ");
    assert_null(tmp);
    tm_stop_after(cfg, 0);
    assert_ok(train(ctx, cfg, ckpt, every, &b));
    /* rank 0 compares; every rank fails together (a failure on rank 0
     * alone would leave the others waiting in the next collective) */
    int same = g_rank != 0 || same_model_bytes(a, b);
    MPI_Bcast(&same, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!same) fail_msg("%s at %d rank(s): the resumed model differs from the uninterrupted one", name, g_size);
    if (g_rank == 0)
        printf("# %s at %d rank(s): resumed after %d progress calls (checkpoint every %d) = uninterrupted\n", name,
               g_size, stop_after, every);
    /* another option value: refused by every rank, naming the field */
    aisle_config *changed = parsed(options, other);
    assert_status_msg(train(ctx, changed, ckpt, every, &tmp), AISLE_EFORMAT, field);
    assert_non_null(strstr(aisle_last_error(), "rank 0: "));
    aisle_config_free(changed);
    /* truncated, then not a checkpoint: a clean error everywhere */
    if (g_rank == 0) {
        size_t n = 0;
        unsigned char *bytes = tm_file_bytes(ckpt, &n);
        tu_write_file(ckpt, bytes, n / 2);
        free(bytes);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    assert_status_msg(train(ctx, cfg, ckpt, every, &tmp), AISLE_EFORMAT, "checkpoint");
    if (g_rank == 0) tu_write_file(ckpt, "user_id,item_id\n", 16);
    MPI_Barrier(MPI_COMM_WORLD);
    assert_status_msg(train(ctx, cfg, ckpt, every, &tmp), AISLE_EFORMAT, "checkpoint");
    assert_null(tmp);
    aisle_model_free(a);
    aisle_model_free(b);
    aisle_config_free(cfg);
}

void tm_check_sparse_sum(const char *name, tm_bytes_train_fn train, void *ctx, const char *options,
                         double *sparse_bytes, double *dense_bytes) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, options));
    aisle_model *sparse = NULL, *dense = NULL;
    double sb = 0, db = 0;
    assert_ok(train(ctx, cfg, &sparse, &sb));
    setenv("AISLE_DIST_DENSE_SUM", "1", 1); /* every rank: read when training starts */
    int rc = train(ctx, cfg, &dense, &db);
    unsetenv("AISLE_DIST_DENSE_SUM");
    assert_ok(rc);
    if (g_rank == 0) {
        printf("# %s at %d rank(s): %.0f bytes sent with the sparse sum, %.0f dense\n", name, g_size, sb, db);
        tm_same_model_bytes(sparse, dense, name);
    }
    if (g_size > 1 && !(sb < db)) fail_msg("%s: rank %d sent %.0f bytes sparse, %.0f dense", name, g_rank, sb, db);
    if (sparse_bytes) *sparse_bytes = sb;
    if (dense_bytes) *dense_bytes = db;
    aisle_model_free(sparse);
    aisle_model_free(dense);
    aisle_config_free(cfg);
}
