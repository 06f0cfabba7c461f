/* test_models.c - the collaborative-filtering kinds (mf, als, itemknn, bpr):
 * algorithms checked against hand or closed-form computations,
 * determinism, cancellation, and a MovieLens-100K quality bound. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "util/test_util.h"

/* A tiny implicit matrix: rows are users, columns items, 0 = no event. */
static const float tiny[4][5] = {
    {1, 2, 0, 0, 1},
    {0, 1, 3, 0, 0},
    {1, 0, 0, 2, 1},
    {0, 0, 1, 1, 0},
};

static aisle_dataset *tiny_dataset(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[16], i[16];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 5; c++)
            if (tiny[r][c] > 0) {
                snprintf(u, sizeof u, "u%d", r);
                snprintf(i, sizeof i, "i%d", c);
                assert_ok(aisle_dataset_add_event(ds, u, i, "view", tiny[r][c], 0));
            }
    return ds;
}

static aisle_model *train(const aisle_dataset *ds, const char *opts) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    aisle_model *m = NULL;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg);
    return m;
}

/* x = (Y^T C Y + lambda I)^-1 Y^T C p solved by Gaussian elimination in double. */
static void normal_equations(const model_factors *f, const aisle_model *m, uint32_t u, double *x) {
    uint32_t d = f->dim;
    double a[16 * 17];
    assert_true(d <= 16);
    memset(a, 0, sizeof a);
    for (uint32_t j = 0; j < model_n_items(m); j++) {
        double w = 0;
        for (size_t k = m->history.indptr[u]; k < m->history.indptr[u + 1]; k++)
            if (m->history.indices[k] == j) w = m->history.values[k];
        double c = 1 + f->alpha * w, p = w > 0 ? 1 : 0;
        const float *y = f->item + (size_t)j * d;
        for (uint32_t r = 0; r < d; r++) {
            for (uint32_t s = 0; s < d; s++) a[r * (d + 1) + s] += c * y[r] * y[s];
            a[r * (d + 1) + d] += c * p * y[r];
        }
    }
    for (uint32_t r = 0; r < d; r++) a[r * (d + 1) + r] += f->reg;
    for (uint32_t col = 0; col < d; col++) {
        for (uint32_t r = col + 1; r < d; r++) {
            double q = a[r * (d + 1) + col] / a[col * (d + 1) + col];
            for (uint32_t s = col; s <= d; s++) a[r * (d + 1) + s] -= q * a[col * (d + 1) + s];
        }
    }
    for (uint32_t r = d; r-- > 0;) {
        double t = a[r * (d + 1) + d];
        for (uint32_t s = r + 1; s < d; s++) t -= a[r * (d + 1) + s] * x[s];
        x[r] = t / a[r * (d + 1) + r];
    }
}

static void check_als_fixed_point(const char *opts, double tol) {
    aisle_dataset *ds = tiny_dataset();
    aisle_model *m = train(ds, opts);
    const model_factors *f = m->state;
    for (uint32_t u = 0; u < model_n_users(m); u++) {
        double x[16];
        normal_equations(f, m, u, x);
        for (uint32_t k = 0; k < f->dim; k++)
            if (fabs(x[k] - f->user[u * f->dim + k]) > tol)
                fail_msg("user %u factor %u: ALS %g, normal equations %g", u, k, f->user[u * f->dim + k], x[k]);
    }
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_als_cholesky_converges_to_normal_equations(void **state) {
    (void)state;
    check_als_fixed_point("model=als factors=3 epochs=200 solver=cholesky regularization=0.1 alpha=2 threads=1",
                          1e-4);
}

static void test_als_cg_converges_to_normal_equations(void **state) {
    (void)state;
    check_als_fixed_point("model=als factors=3 epochs=300 solver=cg cg_steps=3 regularization=0.1 alpha=2 threads=2",
                          1e-3);
}

static void test_mf_sgd_step_matches_hand_computation(void **state) {
    (void)state;
    float p[2] = {0.1f, 0.2f}, q[2] = {0.3f, -0.1f}, bu = 0.5f, bi = -0.2f;
    /* pred = 3 + 0.5 - 0.2 + 0.03 - 0.02 = 3.31, e = 0.69 */
    float e = model_mf_sgd_step(p, q, &bu, &bi, 2, 3.0f, 4.0f, 0.1f, 0.5f);
    assert_float_equal(e, 0.69, 1e-6);
    assert_float_equal(bu, 0.544, 1e-6);   /* 0.5 + 0.1 (0.69 - 0.25) */
    assert_float_equal(bi, -0.121, 1e-6);  /* -0.2 + 0.1 (0.69 + 0.1) */
    assert_float_equal(p[0], 0.1157, 1e-6);/* 0.1 + 0.1 (0.69 * 0.3 - 0.05) */
    assert_float_equal(p[1], 0.1831, 1e-6);/* 0.2 + 0.1 (0.69 * -0.1 - 0.1) */
    assert_float_equal(q[0], 0.2919, 1e-6);/* 0.3 + 0.1 (0.69 * 0.1 - 0.15), old p */
    assert_float_equal(q[1], -0.0812, 1e-6);/* -0.1 + 0.1 (0.69 * 0.2 + 0.05) */
}

static void test_mf_fits_small_ratings(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    /* two taste groups */
    const char *users[] = {"a", "b", "c", "d"};
    const char *items[] = {"x", "y", "z", "w"};
    const float r[4][4] = {{5, 4, 1, 1}, {4, 5, 1, 2}, {1, 1, 5, 4}, {2, 1, 4, 5}};
    for (int u = 0; u < 4; u++)
        for (int i = 0; i < 4; i++) assert_ok(aisle_dataset_add_event(ds, users[u], items[i], "rating", r[u][i], 0));
    aisle_model *m = train(ds, "model=mf factors=4 epochs=300 learning_rate=0.05 lr_decay=0 regularization=0.001 threads=1");
    double se = 0;
    for (int u = 0; u < 4; u++)
        for (int i = 0; i < 4; i++) {
            float s;
            assert_ok(aisle_score(m, users[u], items[i], &s));
            se += (s - r[u][i]) * (s - r[u][i]);
        }
    assert_true(sqrt(se / 16) < 0.1);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static int stop_at_two(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)steps, (void)loss, (void)metric, (void)elapsed;
    (*(int *)user)++;
    return step >= 2;
}

static void check_cancel(const char *opts) {
    aisle_dataset *ds = tiny_dataset();
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    int calls = 0;
    assert_ok(aisle_config_set_progress(cfg, stop_at_two, &calls));
    aisle_model *m = (aisle_model *)(uintptr_t)1;
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_ECANCELLED, "cancelled");
    assert_int_equal(calls, 2);
    assert_ptr_equal(m, (aisle_model *)(uintptr_t)1);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_progress_cancels_every_kind(void **state) {
    (void)state;
    check_cancel("model=als epochs=5 factors=2");
    check_cancel("model=mf epochs=5 factors=2 validation=0.2");
    check_cancel("model=bpr epochs=5 factors=2");
}

static void check_deterministic(const char *opts) {
    aisle_dataset *ds = tiny_dataset();
    aisle_model *a = train(ds, opts), *b = train(ds, opts);
    const model_factors *fa = a->state, *fb = b->state;
    assert_memory_equal(fa->user, fb->user, model_n_users(a) * fa->dim * sizeof(float));
    assert_memory_equal(fa->item, fb->item, model_n_items(a) * fa->dim * sizeof(float));
    /* a different seed gives different factors: the seed is used */
    char other[256];
    snprintf(other, sizeof other, "%s seed=7", opts);
    aisle_model *c = train(ds, other);
    const model_factors *fc = c->state;
    assert_true(memcmp(fa->item, fc->item, model_n_items(a) * fa->dim * sizeof(float)) != 0);
    aisle_model_free(a);
    aisle_model_free(b);
    aisle_model_free(c);
    aisle_dataset_free(ds);
}

static void test_one_thread_same_seed_is_bit_identical(void **state) {
    (void)state;
    check_deterministic("model=als factors=4 epochs=3 threads=1");
    check_deterministic("model=mf factors=4 epochs=3 threads=1 validation=0.2");
    check_deterministic("model=bpr factors=4 epochs=3 threads=1");
}

static void test_mf_movielens_u1_rmse(void **state) {
    (void)state;
    char path[1024];
    if (!tu_shared_file(path, sizeof path, "ml-100k/u.data")) skip();
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    /* u1.base / u1.test are lines 20001.. / 1..20000 of u.data (mku.sh) */
    static struct { char u[16], i[16]; float r; } test[20000];
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    int a, b, c, line = 0;
    long t;
    while (fscanf(f, "%d %d %d %ld", &a, &b, &c, &t) == 4) {
        if (line < 20000) {
            snprintf(test[line].u, 16, "%d", a);
            snprintf(test[line].i, 16, "%d", b);
            test[line].r = (float)c;
        } else {
            char us[16], is[16];
            snprintf(us, 16, "%d", a);
            snprintf(is, 16, "%d", b);
            assert_ok(aisle_dataset_add_event(ds, us, is, "rating", c, t));
        }
        line++;
    }
    fclose(f);
    assert_int_equal(line, 100000);
    /* small and fast (the sanitizer build runs this too); the bound is loose */
    aisle_model *m = train(ds, "model=mf factors=32 epochs=25 regularization=0.08 threads=2");
    double se = 0;
    for (int k = 0; k < 20000; k++) {
        float s;
        if (aisle_score(m, test[k].u, test[k].i, &s) != AISLE_OK) s = 3.5f;
        se += (s - test[k].r) * (s - test[k].r);
    }
    double rmse = sqrt(se / 20000);
    print_message("ml-100k u1 mf rmse %.4f\n", rmse);
    assert_true(rmse < 0.95);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_als_cholesky_converges_to_normal_equations),
        cmocka_unit_test(test_als_cg_converges_to_normal_equations),
        cmocka_unit_test(test_mf_sgd_step_matches_hand_computation),
        cmocka_unit_test(test_mf_fits_small_ratings),
        cmocka_unit_test(test_progress_cancels_every_kind),
        cmocka_unit_test(test_one_thread_same_seed_is_bit_identical),
        cmocka_unit_test(test_mf_movielens_u1_rmse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
