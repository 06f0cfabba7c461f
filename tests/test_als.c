/* test_als.c - the blocked ALS half-iteration (src/models/als_cg.c):
 * its row blocks, its lockstep CG against a plain per-row CG in double,
 * bit-identical results for every thread count and kernel build (SSE2,
 * AVX2, AVX-512) with fp32 and with fp16 gathers (als_gather), the fp16
 * copy's rounding, the reported loss, and the data-scaled
 * regularization. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/als.h"
#include "util/test_util.h"

static uint64_t lcg_state;
static double unif(void) {
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}

/* A random CSR of rows x cols with the given row lengths (distinct,
 * sorted columns) and weights in [0.5, 3). */
static data_csr random_csr(uint32_t rows, uint32_t cols, const size_t *len) {
    data_csr c;
    memset(&c, 0, sizeof c);
    c.rows = rows, c.cols = cols;
    c.indptr = calloc(rows + 1, sizeof *c.indptr);
    for (uint32_t u = 0; u < rows; u++) c.indptr[u + 1] = c.indptr[u] + len[u];
    c.nnz = c.indptr[rows];
    c.indices = malloc((c.nnz ? c.nnz : 1) * sizeof *c.indices);
    c.values = malloc((c.nnz ? c.nnz : 1) * sizeof *c.values);
    char *used = calloc(cols, 1);
    for (uint32_t u = 0; u < rows; u++) {
        memset(used, 0, cols);
        for (size_t k = 0; k < len[u]; k++) {
            uint32_t j;
            do j = (uint32_t)(unif() * cols);
            while (used[j]);
            used[j] = 1;
        }
        size_t k = c.indptr[u];
        for (uint32_t j = 0; j < cols; j++)
            if (used[j]) c.indices[k] = j, c.values[k++] = (float)(0.5 + 2.5 * unif());
    }
    free(used);
    return c;
}

static void free_csr(data_csr *c) {
    free(c->indptr);
    free(c->indices);
    free(c->values);
}

static void test_blocks_follow_row_and_byte_limits(void **state) {
    (void)state;
    lcg_state = 1;
    uint32_t d = 64;
    size_t budget = ALS_BLOCK_BYTES / (d * sizeof(float)); /* events per block */
    /* 150 short rows, one row longer than a block's budget, an empty row,
     * then rows that fill a block by bytes before they reach 64 rows */
    size_t len[160];
    for (int u = 0; u < 150; u++) len[u] = 3;
    len[150] = budget + 5;
    len[151] = 0;
    for (int u = 152; u < 160; u++) len[u] = budget / 3;
    data_csr c = random_csr(160, (uint32_t)(budget + 10), len);
    size_t *starts = NULL, n = 0;
    assert_int_equal(als_plan_blocks(&c, d, &starts, &n), AISLE_OK);
    size_t want[] = {0, 64, 128, 150, 151, 155, 158, 160};
    assert_int_equal(n, sizeof want / sizeof want[0] - 1);
    for (size_t b = 0; b <= n; b++) assert_int_equal(starts[b], want[b]);
    /* every block within its limits, unless it is a single long row */
    for (size_t b = 0; b < n; b++) {
        size_t rows = starts[b + 1] - starts[b], nnz = c.indptr[starts[b + 1]] - c.indptr[starts[b]];
        assert_true(rows >= 1 && rows <= ALS_BLOCK_ROWS);
        assert_true(rows == 1 || nnz <= budget);
    }
    free(starts);
    free_csr(&c);
    /* no rows: no blocks */
    data_csr e;
    memset(&e, 0, sizeof e);
    size_t zero = 0;
    e.indptr = &zero;
    assert_int_equal(als_plan_blocks(&e, d, &starts, &n), AISLE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(starts[0], 0);
    free(starts);
}

/* The textbook per-row CG (Takacs et al.) in double from the same start. */
static void reference_cg(const data_csr *c, const float *y, const float *gram, uint32_t d, float alpha, int steps,
                         uint32_t u, double *x) {
    double r[64], p[64], ap[64];
    size_t b = c->indptr[u], e = c->indptr[u + 1];
#define MATVEC(v, out)                                                                                            \
    do {                                                                                                          \
        for (uint32_t i = 0; i < d; i++) {                                                                        \
            out[i] = 0;                                                                                           \
            for (uint32_t k = 0; k < d; k++) out[i] += (double)gram[i * d + k] * v[k];                            \
        }                                                                                                         \
        for (size_t j = b; j < e; j++) {                                                                          \
            const float *yj = y + (size_t)c->indices[j] * d;                                                      \
            double t = 0;                                                                                         \
            for (uint32_t k = 0; k < d; k++) t += yj[k] * v[k];                                                   \
            for (uint32_t k = 0; k < d; k++) out[k] += alpha * c->values[j] * t * yj[k];                         \
        }                                                                                                         \
    } while (0)
    MATVEC(x, ap);
    for (uint32_t k = 0; k < d; k++) r[k] = -ap[k];
    for (size_t j = b; j < e; j++)
        for (uint32_t k = 0; k < d; k++) r[k] += (1.0 + alpha * c->values[j]) * y[(size_t)c->indices[j] * d + k];
    memcpy(p, r, sizeof r);
    double rs = 0;
    for (uint32_t k = 0; k < d; k++) rs += r[k] * r[k];
    for (int it = 0; it < steps && rs > 1e-20; it++) {
        MATVEC(p, ap);
        double pap = 0;
        for (uint32_t k = 0; k < d; k++) pap += p[k] * ap[k];
        if (!(pap > 0)) break;
        double a = rs / pap, rs2 = 0;
        for (uint32_t k = 0; k < d; k++) x[k] += a * p[k], r[k] -= a * ap[k], rs2 += r[k] * r[k];
        for (uint32_t k = 0; k < d; k++) p[k] = r[k] + rs2 / rs * p[k];
        rs = rs2;
    }
#undef MATVEC
}

/* y rounded to fp16 and back, as the solver reads it from its copy */
static float *rounded_copy(const float *y, size_t n) {
    float *r = malloc(n * sizeof *r);
    for (size_t k = 0; k < n; k++) r[k] = io_f16_to_f32(io_f32_to_f16(y[k]));
    return r;
}

/* Solves 150 rows (blocks of 64, 64, 22: full and partial 4-row tiles)
 * with the blocked solver and checks each against reference_cg; with
 * fp16, the solver gathers from the fp16 copy of y and the reference is
 * run on y rounded the same way (the dense part G uses the fp32 y in
 * both, as training does). */
static void check_blocked_cg(uint32_t d, int threads, bool fp16) {
    lcg_state = 7 + d;
    uint32_t rows = 150, cols = 90;
    size_t len[150];
    for (uint32_t u = 0; u < rows; u++) len[u] = u % 17 == 0 ? 0 : (size_t)(unif() * 40);
    data_csr c = random_csr(rows, cols, len);
    float *y = malloc((size_t)cols * d * sizeof *y), *x = malloc((size_t)rows * d * sizeof *x);
    float *gram = calloc((size_t)d * d, sizeof *gram);
    for (size_t k = 0; k < (size_t)cols * d; k++) y[k] = (float)(unif() - 0.5) * 0.6f;
    for (size_t k = 0; k < (size_t)rows * d; k++) x[k] = (float)(unif() - 0.5) * 0.2f;
    for (uint32_t i = 0; i < cols; i++)
        for (uint32_t r = 0; r < d; r++)
            for (uint32_t s = 0; s < d; s++) gram[r * d + s] += y[i * d + r] * y[i * d + s];
    for (uint32_t r = 0; r < d; r++) gram[r * d + r] += 0.1f;
    float *yr = fp16 ? rounded_copy(y, (size_t)cols * d) : y; /* the rows the solver sees */
    uint16_t *y16 = NULL;
    if (fp16) {
        y16 = malloc((size_t)cols * d * sizeof *y16);
        assert_int_equal(als_gather_copy(y, cols, d, y16, threads), AISLE_OK);
    }
    double *want = malloc((size_t)rows * d * sizeof *want);
    for (size_t k = 0; k < (size_t)rows * d; k++) want[k] = x[k];
    for (uint32_t u = 0; u < rows; u++) reference_cg(&c, yr, gram, d, 2.0f, 3, u, want + (size_t)u * d);

    als_solver s = {.rows = &c, .x = x, .y = y, .y16 = y16, .gram = gram, .d = d, .alpha = 2.0f, .cg_steps = 3};
    assert_int_equal(als_plan_blocks(&c, d, (size_t **)&s.block_start, &s.n_blocks), AISLE_OK);
    assert_int_equal(s.n_blocks, 3);
    s.scratch_stride = als_scratch_bytes(d, false);
    s.scratch = malloc(s.scratch_stride * (size_t)threads);
    /* the solve also records each row's observed loss (observed_loss) */
    s.row_loss = malloc(rows * sizeof *s.row_loss);
    s.observed_loss = true;
    assert_int_equal(core_parallel_for(threads, s.n_blocks, 1, als_solve_blocks, &s), AISLE_OK);
    for (uint32_t u = 0; u < rows; u++)
        for (uint32_t k = 0; k < d; k++) {
            double got = x[(size_t)u * d + k], w = want[(size_t)u * d + k];
            if (fabs(got - w) > 2e-4 * (1 + fabs(w)))
                fail_msg("d=%u row %u factor %u: blocked CG %.7g, reference %.7g", d, u, k, got, w);
        }
    double *observed = malloc(rows * sizeof *observed);
    memcpy(observed, s.row_loss, rows * sizeof *observed);
    /* the loss pass agrees with the definition, row by row, and the
     * solve's observed loss with its part after x^T G x */
    assert_int_equal(core_parallel_for(threads, s.n_blocks, 1, als_loss_blocks, &s), AISLE_OK);
    for (uint32_t u = 0; u < rows; u++) {
        const float *xu = x + (size_t)u * d;
        double quad = 0, l = 0;
        for (uint32_t r = 0; r < d; r++)
            for (uint32_t q = 0; q < d; q++) quad += (double)xu[r] * gram[r * d + q] * xu[q];
        for (size_t j = c.indptr[u]; j < c.indptr[u + 1]; j++) {
            double t = 0, cj = 1 + 2.0 * c.values[j];
            for (uint32_t k = 0; k < d; k++) t += (double)xu[k] * yr[(size_t)c.indices[j] * d + k];
            l += cj * (1 - t) * (1 - t) - t * t;
        }
        if (fabs(quad + l - s.row_loss[u]) > 1e-4 * (1 + fabs(quad + l)))
            fail_msg("row %u loss %g, want %g", u, s.row_loss[u], quad + l);
        if (fabs(l - observed[u]) > 1e-4 * (1 + fabs(l))) fail_msg("row %u observed loss %g, want %g", u, observed[u], l);
    }
    free(observed);
    free(s.row_loss);
    free((void *)s.block_start);
    free(s.scratch);
    free(want);
    free(gram);
    free(x);
    if (fp16) free(yr);
    free(y16);
    free(y);
    free_csr(&c);
}

/* Every kernel build this CPU runs gives the same bits as the plain one
 * (with fp16: the plain build widens in software, the others with F16C). */
static void check_same_bits_every_isa(uint32_t d, bool fp16) {
    lcg_state = 11 + d;
    uint32_t rows = 150, cols = 90;
    size_t len[150];
    for (uint32_t u = 0; u < rows; u++) len[u] = (size_t)(unif() * 40);
    data_csr c = random_csr(rows, cols, len);
    float *y = malloc((size_t)cols * d * sizeof *y), *x0 = malloc((size_t)rows * d * sizeof *x0);
    float *x = malloc((size_t)rows * d * sizeof *x), *ref = malloc((size_t)rows * d * sizeof *ref);
    float *gram = calloc((size_t)d * d, sizeof *gram);
    for (size_t k = 0; k < (size_t)cols * d; k++) y[k] = (float)(unif() - 0.5) * 0.6f;
    for (size_t k = 0; k < (size_t)rows * d; k++) x0[k] = (float)(unif() - 0.5) * 0.2f;
    for (uint32_t i = 0; i < cols; i++)
        for (uint32_t r = 0; r < d; r++)
            for (uint32_t q = 0; q < d; q++) gram[r * d + q] += y[i * d + r] * y[i * d + q];
    for (uint32_t r = 0; r < d; r++) gram[r * d + r] += 0.1f;
    uint16_t *y16 = NULL;
    if (fp16) {
        y16 = malloc((size_t)cols * d * sizeof *y16);
        assert_int_equal(als_gather_copy(y, cols, d, y16, 1), AISLE_OK);
    }
    als_solver s = {.rows = &c, .x = x, .y = y, .y16 = y16, .gram = gram, .d = d, .alpha = 2.0f, .cg_steps = 3};
    assert_int_equal(als_plan_blocks(&c, d, (size_t **)&s.block_start, &s.n_blocks), AISLE_OK);
    s.scratch_stride = als_scratch_bytes(d, false);
    s.scratch = malloc(s.scratch_stride);
    int ran = 0;
    for (int isa = 0; isa < 3; isa++) {
        memcpy(x, x0, (size_t)rows * d * sizeof *x);
        int rc = als_solve_blocks_isa(&s, 0, s.n_blocks, 0, isa);
        if (rc == AISLE_EUNSUPPORTED) continue;
        assert_int_equal(rc, AISLE_OK);
        if (isa == 0) memcpy(ref, x, (size_t)rows * d * sizeof *x);
        else assert_memory_equal(ref, x, (size_t)rows * d * sizeof *x);
        ran++;
    }
    assert_true(ran >= 1);
    memcpy(x, x0, (size_t)rows * d * sizeof *x);
    assert_int_equal(als_solve_blocks(&s, 0, s.n_blocks, 0), AISLE_OK); /* the dispatched build too */
    assert_memory_equal(ref, x, (size_t)rows * d * sizeof *x);
    free((void *)s.block_start);
    free(s.scratch);
    free(y16);
    free(gram);
    free(ref);
    free(x);
    free(x0);
    free(y);
    free_csr(&c);
}

static void test_every_kernel_build_gives_the_same_bits(void **state) {
    (void)state;
    for (int fp16 = 0; fp16 < 2; fp16++) {
        check_same_bits_every_isa(64, fp16); /* the 32-wide AVX-512 G P path */
        check_same_bits_every_isa(40, fp16); /* 32 + an 8-wide chunk */
        check_same_bits_every_isa(21, fp16); /* scalar widening tails */
    }
}

static void test_blocked_cg_matches_per_row_cg(void **state) {
    (void)state;
    for (int fp16 = 0; fp16 < 2; fp16++) {
        check_blocked_cg(64, 1, fp16); /* vector paths only */
        check_blocked_cg(24, 2, fp16); /* an 8-wide chunk after the 16-wide ones */
        check_blocked_cg(21, 2, fp16); /* scalar column tails */
        check_blocked_cg(3, 1, fp16);  /* all scalar */
    }
}

/* The copy rounds to nearest, ties to even, exactly as io_f32_to_f16 (the
 * format's reference) on every thread count: halfway cases, subnormal
 * halves, the largest half, overflow to infinity, underflow to zero. */
static void test_fp16_copy_rounds_like_the_reference(void **state) {
    (void)state;
    static const float edge[] = {0.0f, -0.0f, 1.0f, -2.5f, 1.00048828125f /* 1 + 2^-11: tie, to even */,
                                 1.00146484375f /* 1 + 3 * 2^-11: tie, up */, 65504.0f, 65519.0f, 65520.0f, 1e6f,
                                 -1e6f, 6.0e-8f, 2.9e-8f, 3.0e-8f, 1e-10f, 6.1e-5f, -3.3e-6f, INFINITY, -INFINITY};
    size_t ne = sizeof edge / sizeof *edge, n = 70001; /* not a multiple of 8 or of the chunk */
    float *y = malloc(n * sizeof *y);
    uint16_t *h = malloc(n * sizeof *h);
    lcg_state = 5;
    for (size_t k = 0; k < n; k++) y[k] = k < ne ? edge[k] : (float)((unif() - 0.5) * pow(2.0, unif() * 40 - 28));
    for (int threads = 1; threads <= 3; threads += 2) {
        memset(h, 0xAA, n * sizeof *h);
        assert_int_equal(als_gather_copy(y, n, 1, h, threads), AISLE_OK);
        for (size_t k = 0; k < n; k++)
            if (h[k] != io_f32_to_f16(y[k])) fail_msg("value %zu (%.9g): copy %04x, reference %04x", k, y[k], h[k], io_f32_to_f16(y[k]));
    }
    free(h);
    free(y);
}

/* Synthetic data large enough for several blocks per side. */
static aisle_dataset *shop(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    lcg_state = 99;
    char u[16], i[16];
    for (int e = 0; e < 6000; e++) {
        snprintf(u, sizeof u, "u%d", (int)(unif() * 400));
        snprintf(i, sizeof i, "i%d", (int)(pow(unif(), 2.0) * 300));
        assert_ok(aisle_dataset_add_event(ds, u, i, "view", 1, 0));
    }
    return ds;
}

static void check_same_bits_for_every_thread_count(const char *gather) {
    aisle_dataset *ds = shop();
    aisle_model *ref = NULL;
    for (int t = 1; t <= 4; t++) {
        char opts[128];
        snprintf(opts, sizeof opts, "model=als factors=20 epochs=3 seed=3 als_gather=%s threads=%d", gather, t);
        aisle_model *m = tu_train(ds, opts);
        if (!ref) {
            ref = m;
            continue;
        }
        const model_factors *a = ref->state, *b = m->state;
        assert_memory_equal(a->user, b->user, model_n_users(m) * (size_t)a->dim * sizeof(float));
        assert_memory_equal(a->item, b->item, model_n_items(m) * (size_t)a->dim * sizeof(float));
        aisle_model_free(m);
    }
    aisle_model_free(ref);
    aisle_dataset_free(ds);
}

static void test_same_bits_for_every_thread_count(void **state) {
    (void)state;
    check_same_bits_for_every_thread_count("fp32");
    check_same_bits_for_every_thread_count("fp16");
}

/* Training with fp16 gathers ends near training with fp32: the factors
 * differ by the fp16 rounding (relative 2^-11 per value) carried through
 * the epochs.  Stated bound: relative Frobenius distance of each side
 * under 5e-3 (about 5e-4 seen), and the top-5 the same set for 95% of
 * users.  The models are not bit-identical (that would mean the copy was
 * not used). */
static double rel_distance(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t k = 0; k < n; k++) num += ((double)a[k] - b[k]) * ((double)a[k] - b[k]), den += (double)a[k] * a[k];
    return sqrt(num / (den > 0 ? den : 1));
}

static void test_fp16_gathers_stay_near_fp32(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *a = tu_train(ds, "model=als factors=16 epochs=5 seed=3 threads=2 als_gather=fp32");
    aisle_model *b = tu_train(ds, "model=als factors=16 epochs=5 seed=3 threads=2 als_gather=fp16");
    const model_factors *fa = a->state, *fb = b->state;
    size_t nu = model_n_users(a), ni = model_n_items(a), d = fa->dim;
    double du = rel_distance(fa->user, fb->user, nu * d), di = rel_distance(fa->item, fb->item, ni * d);
    if (!(du < 5e-3 && di < 5e-3)) fail_msg("fp16 against fp32: relative distance users %g, items %g", du, di);
    assert_true(du > 0 || di > 0);
    size_t same = 0;
    for (size_t u = 0; u < nu; u++) {
        const char *key, *ra[5], *rb[5];
        size_t na, nb;
        assert_ok(aisle_model_user_key(a, u, &key));
        assert_ok(aisle_recommend(a, key, 5, NULL, ra, NULL, &na));
        assert_ok(aisle_recommend(b, key, 5, NULL, rb, NULL, &nb));
        size_t hit = 0;
        for (size_t i = 0; i < na; i++)
            for (size_t j = 0; j < nb; j++) hit += strcmp(ra[i], rb[j]) == 0;
        same += na == nb && hit == na;
    }
    if (!(same >= nu * 19 / 20)) fail_msg("fp16 against fp32: the same top-5 for %zu of %zu users", same, nu);
    aisle_model_free(a);
    aisle_model_free(b);
    aisle_dataset_free(ds);
}

static void test_regularization_scales_with_the_data(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=4 epochs=1 regularization=0.3 threads=1");
    aisle_model *u = tu_train(ds, "model=als factors=4 epochs=1 regularization=0.3 scale_regularization=false threads=1");
    const model_factors *f = m->state, *g = u->state;
    double per_row = (double)m->history.nnz / (model_n_users(m) + model_n_items(m));
    assert_true(per_row > 5); /* the scaling is visible */
    assert_float_equal(f->reg, 0.3 * per_row, 1e-4);
    assert_float_equal(g->reg, 0.3, 1e-7);
    /* and it changes the solution */
    assert_true(memcmp(f->user, g->user, model_n_users(m) * (size_t)f->dim * sizeof(float)) != 0);
    aisle_model_free(m);
    aisle_model_free(u);
    aisle_dataset_free(ds);
}

static int keep_loss(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)step, (void)steps, (void)metric, (void)elapsed;
    *(double *)user = loss;
    return 0;
}

/* The loss training reports (observed part summed per item during the item
 * side, x^T Y^T Y x as <X^T X, Y^T Y>) is the objective of Hu et al. over
 * the final factors, per interaction; for both solvers.  With fp16
 * gathers the observed part is computed from the users' fp16 copy, so the
 * bound is 1e-3 instead of 1e-4. */
static void check_reported_loss(const char *solver, const char *gather, double tol) {
    aisle_dataset *ds = shop();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    char opts[128];
    snprintf(opts, sizeof opts, "model=als factors=12 epochs=2 threads=2 seed=5 solver=%s als_gather=%s", solver, gather);
    assert_ok(aisle_config_parse(cfg, opts));
    double reported = NAN;
    assert_ok(aisle_config_set_progress(cfg, keep_loss, &reported));
    aisle_model *m = NULL;
    assert_ok(aisle_model_train(ds, cfg, &m));
    const model_factors *f = m->state;
    data_csr wu, wi;
    assert_ok(model_weighted_history(m, &wu, &wi));
    uint32_t d = f->dim, nu = model_n_users(m), ni = model_n_items(m);
    double loss = 0;
    for (uint32_t u = 0; u < nu; u++) {
        const float *x = f->user + (size_t)u * d;
        for (uint32_t k = 0; k < d; k++) loss += (double)f->reg * x[k] * x[k];
        for (uint32_t i = 0; i < ni; i++) { /* every pair: c = 1, p = 0 unless observed */
            double t = 0;
            for (uint32_t k = 0; k < d; k++) t += (double)x[k] * f->item[(size_t)i * d + k];
            loss += t * t;
        }
        for (size_t j = wu.indptr[u]; j < wu.indptr[u + 1]; j++) {
            double t = 0, cj = 1 + (double)f->alpha * wu.values[j];
            for (uint32_t k = 0; k < d; k++) t += (double)x[k] * f->item[(size_t)wu.indices[j] * d + k];
            loss += cj * (1 - t) * (1 - t) - t * t;
        }
    }
    for (size_t k = 0; k < (size_t)ni * d; k++) loss += (double)f->reg * f->item[k] * f->item[k];
    loss /= (double)m->history.nnz;
    if (!(fabs(reported - loss) <= tol * fabs(loss)))
        fail_msg("%s %s: reported loss %.8g, objective %.8g", solver, gather, reported, loss);
    data_csr_free(&wu);
    data_csr_free(&wi);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_reported_loss_is_the_objective(void **state) {
    (void)state;
    check_reported_loss("cg", "fp32", 1e-4);
    check_reported_loss("cholesky", "fp32", 1e-4);
    check_reported_loss("cg", "fp16", 1e-3);
    check_reported_loss("cholesky", "fp16", 1e-3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_follow_row_and_byte_limits),
        cmocka_unit_test(test_blocked_cg_matches_per_row_cg),
        cmocka_unit_test(test_every_kernel_build_gives_the_same_bits),
        cmocka_unit_test(test_fp16_copy_rounds_like_the_reference),
        cmocka_unit_test(test_same_bits_for_every_thread_count),
        cmocka_unit_test(test_fp16_gathers_stay_near_fp32),
        cmocka_unit_test(test_regularization_scales_with_the_data),
        cmocka_unit_test(test_reported_loss_is_the_objective),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
