/* mpi_util.c - see mpi_util.h. */
#include "mpi_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

