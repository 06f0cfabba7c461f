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
        /* the confidence reads the weight under the model's rule (log by default) */
        double c = 1 + f->alpha * model_weight_apply(&m->weight_rule, (float)w), p = w > 0 ? 1 : 0;
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
    aisle_model *m = tu_train(ds, opts);
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

static void test_mf_svdpp_step_matches_hand_computation(void **state) {
    (void)state;
    float p[2] = {0.1f, 0.2f}, q[2] = {0.3f, -0.1f}, z[2] = {0.2f, 0.1f}, acc[2] = {0, 0}, bu = 0.5f, bi = -0.2f;
    /* pred = 3 + 0.5 - 0.2 + p.q (0.01) + z.q (0.05) = 3.36, e = 0.64 */
    float e = model_mf_svdpp_step(p, q, z, acc, &bu, &bi, 2, 3.0f, 4.0f, 0.1f, 0.5f, 0.2f);
    assert_float_equal(e, 0.64, 1e-6);
    assert_float_equal(bu, 0.554, 1e-6);    /* 0.5 + 0.1 (0.64 - 0.2 * 0.5), reg_bias */
    assert_float_equal(bi, -0.132, 1e-6);   /* -0.2 + 0.1 (0.64 + 0.2 * 0.2) */
    assert_float_equal(acc[0], 0.192, 1e-6);/* e q (old q): the user's y gradient */
    assert_float_equal(acc[1], -0.064, 1e-6);
    assert_float_equal(p[0], 0.1142, 1e-6); /* 0.1 + 0.1 (0.64 * 0.3 - 0.5 * 0.1) */
    assert_float_equal(p[1], 0.1836, 1e-6); /* 0.2 + 0.1 (0.64 * -0.1 - 0.5 * 0.2) */
    assert_float_equal(q[0], 0.3042, 1e-6); /* 0.3 + 0.1 (0.64 (0.1 + 0.2) - 0.15): old p + z */
    assert_float_equal(q[1], -0.0758, 1e-6);/* -0.1 + 0.1 (0.64 (0.2 + 0.1) + 0.05) */
    /* without z and acc it is the biased-MF step (with reg_bias = reg) */
    float p2[2] = {0.1f, 0.2f}, q2[2] = {0.3f, -0.1f}, bu2 = 0.5f, bi2 = -0.2f;
    float p3[2] = {0.1f, 0.2f}, q3[2] = {0.3f, -0.1f}, bu3 = 0.5f, bi3 = -0.2f;
    float e2 = model_mf_svdpp_step(p2, q2, NULL, NULL, &bu2, &bi2, 2, 3.0f, 4.0f, 0.1f, 0.5f, 0.5f);
    float e3 = model_mf_sgd_step(p3, q3, &bu3, &bi3, 2, 3.0f, 4.0f, 0.1f, 0.5f);
    assert_float_equal(e2, e3, 0);
    assert_memory_equal(p2, p3, sizeof p2);
    assert_memory_equal(q2, q3, sizeof q2);
    assert_float_equal(bu2, bu3, 0);
}

/* The vectorised step (4/8-wide with a scalar tail) agrees with the
 * scalar formulas for a length that is not a multiple of 4 or 8. */
static void test_mf_svdpp_step_vector_and_tail_match_scalar(void **state) {
    (void)state;
    enum { D = 19 };
    float p[D], q[D], z[D], acc[D], rp[D], rq[D], racc[D], bu = 0.1f, bi = -0.3f;
    for (int k = 0; k < D; k++) {
        p[k] = rp[k] = 0.05f * (float)(k % 7) - 0.1f;
        q[k] = rq[k] = 0.03f * (float)(k % 5) - 0.05f;
        z[k] = 0.02f * (float)(k % 3);
        acc[k] = racc[k] = 0.01f * (float)k;
    }
    double dot = 0;
    for (int k = 0; k < D; k++) dot += (double)(rp[k] + z[k]) * rq[k];
    double e = 4.0 - (dot + 3.5 + 0.1 - 0.3);
    float ev = model_mf_svdpp_step(p, q, z, acc, &bu, &bi, D, 3.5f, 4.0f, 0.01f, 0.1f, 0.02f);
    assert_float_equal(ev, e, 1e-5);
    assert_float_equal(bu, 0.1 + 0.01 * (e - 0.02 * 0.1), 1e-6);
    assert_float_equal(bi, -0.3 + 0.01 * (e + 0.02 * 0.3), 1e-6);
    for (int k = 0; k < D; k++) {
        assert_float_equal(acc[k], racc[k] + e * rq[k], 1e-6);
        assert_float_equal(p[k], rp[k] + 0.01 * (e * rq[k] - 0.1 * rp[k]), 1e-6);
        assert_float_equal(q[k], rq[k] + 0.01 * (e * (rp[k] + z[k]) - 0.1 * rq[k]), 1e-6);
    }
}

/* SVD++ learns y, which the stored user vectors include: with the items a
 * user rated as the only signal, users who rated different item sets get
 * different vectors even with biases and explicit factors removed. */
static void test_mf_implicit_feedback_learns_y(void **state) {
    (void)state;
    aisle_dataset *ds = tiny_dataset();
    aisle_model *on = tu_train(ds, "model=mf factors=4 epochs=20 threads=1 learning_rate=0.02");
    aisle_model *off = tu_train(ds, "model=mf factors=4 epochs=20 threads=1 learning_rate=0.02 implicit_feedback=false");
    const float *y = model_mf_implicit(on);
    assert_non_null(y);
    assert_null(model_mf_implicit(off));
    const model_factors *f = on->state;
    double norm = 0;
    for (size_t k = 0; k < (size_t)model_n_items(on) * f->dim; k++) {
        assert_true(isfinite(y[k]));
        norm += (double)y[k] * y[k];
    }
    assert_true(norm > 0);
    /* the two models differ only by the implicit term (same seed, same init) */
    const model_factors *g = off->state;
    assert_true(memcmp(f->user, g->user, model_n_users(on) * f->dim * sizeof(float)) != 0);
    aisle_model_free(on);
    aisle_model_free(off);
    aisle_dataset_free(ds);
}

/* y travels in its own section: a loaded model has the same y bit for bit,
 * the same scores, and a model without implicit feedback has none. */
static void test_mf_implicit_save_load_round_trip(void **state) {
    (void)state;
    aisle_dataset *ds = tiny_dataset();
    const char *opts[] = {"model=mf factors=3 epochs=5 implicit_feedback=true regularization_implicit=0.05",
                          "model=mf factors=3 epochs=5 implicit_feedback=false"};
    for (int k = 0; k < 2; k++) {
        aisle_model *m = tu_train(ds, opts[k]), *l = NULL;
        void *buf;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
        assert_ok(aisle_model_load_buffer(&l, buf, len, NULL));
        const float *ym = model_mf_implicit(m), *yl = model_mf_implicit(l);
        if (k == 0) {
            assert_non_null(yl);
            assert_memory_equal(ym, yl, model_n_items(m) * 3 * sizeof(float));
        } else {
            assert_null(yl);
        }
        float a, b;
        assert_ok(aisle_score(m, "u1", "i3", &a));
        assert_ok(aisle_score(l, "u1", "i3", &b));
        assert_float_equal(a, b, 0);
        aisle_free(buf);
        aisle_model_free(m);
        aisle_model_free(l);
    }
    aisle_dataset_free(ds);
}

/* An anonymous session is folded in with the implicit term (x = z_S +
 * ridge on the residuals), and explain splits q_i . x exactly over the
 * session items. */
static void test_mf_implicit_session_fold_in_and_explain(void **state) {
    (void)state;
    aisle_dataset *ds = tiny_dataset();
    aisle_model *m = tu_train(ds, "model=mf factors=3 epochs=30 threads=1 learning_rate=0.02 regularization_implicit=0.01");
    const model_factors *f = m->state;
    uint32_t items[2] = {0, 3};
    float w[2] = {3.0f, 1.0f}, with_y[8], plain[8], contrib[2];
    model_query q = {.user = -1, .items = items, .weights = w, .n_items = 2};
    uint32_t ni = model_n_items(m);
    assert_true(ni <= 8);
    assert_ok(m->ops->score_items(m, &q, with_y));
    assert_ok(model_factors_score_items(m, &q, plain));
    assert_true(memcmp(with_y, plain, ni * sizeof(float)) != 0); /* y is used */
    for (uint32_t i = 0; i < ni; i++) {
        assert_ok(m->ops->explain(m, &q, i, contrib));
        double sum = contrib[0] + contrib[1];
        assert_float_equal(sum, with_y[i] - f->mean - f->item_bias[i], 1e-4);
    }
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

/* Determinism contract: threads=1 and a seed give bit-identical y (and
 * factors, checked by check_deterministic); threads=2 is not bit-identical
 * (FPSG block order) but y is still finite and learned. */
static void test_mf_implicit_deterministic_with_one_thread(void **state) {
    (void)state;
    aisle_dataset *ds = tiny_dataset();
    const char *opts = "model=mf factors=4 epochs=4 threads=1 validation_fraction=0.2";
    aisle_model *a = tu_train(ds, opts), *b = tu_train(ds, opts);
    assert_memory_equal(model_mf_implicit(a), model_mf_implicit(b), model_n_items(a) * 4 * sizeof(float));
    aisle_model *c = tu_train(ds, "model=mf factors=4 epochs=4 threads=2");
    const float *yc = model_mf_implicit(c);
    for (size_t k = 0; k < (size_t)model_n_items(c) * 4; k++) assert_true(isfinite(yc[k]));
    aisle_model_free(a);
    aisle_model_free(b);
    aisle_model_free(c);
    aisle_dataset_free(ds);
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
    aisle_model *m = tu_train(ds, "model=mf factors=4 epochs=300 learning_rate=0.05 learning_rate_decay=0 regularization=0.001 threads=1");
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
    check_cancel("model=mf epochs=5 factors=2 validation_fraction=0.2");
    check_cancel("model=bpr epochs=5 factors=2");
}

static void check_deterministic(const char *opts) {
    aisle_dataset *ds = tiny_dataset();
    aisle_model *a = tu_train(ds, opts), *b = tu_train(ds, opts);
    const model_factors *fa = a->state, *fb = b->state;
    assert_memory_equal(fa->user, fb->user, model_n_users(a) * fa->dim * sizeof(float));
    assert_memory_equal(fa->item, fb->item, model_n_items(a) * fa->dim * sizeof(float));
    /* a different seed gives different factors: the seed is used */
    char other[256];
    snprintf(other, sizeof other, "%s seed=7", opts);
    aisle_model *c = tu_train(ds, other);
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
    check_deterministic("model=mf factors=4 epochs=3 threads=1 validation_fraction=0.2");
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
    aisle_model *m = tu_train(ds, "model=mf factors=32 epochs=25 regularization=0.08 threads=2");
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

/* Item columns of `tiny` (users u0..u3):
 *   i0 = (1,0,1,0)  i1 = (2,1,0,0)  i2 = (0,3,0,1)  i3 = (0,0,2,1)  i4 = (1,0,1,0)
 * cosine: i0.i4 = 2/(sqrt2 sqrt2) = 1; i0.i1 = i0.i3 = 2/(sqrt2 sqrt5); i1.i2 = 3/(sqrt5 sqrt10);
 * i2.i3 = 1/(sqrt10 sqrt5); i0.i2 = 0.  Dense indices follow first appearance:
 * i0=0, i1=1, i4=2, i2=3, i3=4. */
static void test_itemknn_cosine_similarities_by_hand(void **state) {
    (void)state;
    aisle_dataset *ds = tiny_dataset();
    aisle_model *m = tu_train(ds, "model=itemknn similarity=cosine neighbours=10 weight_scale=linear");
    const char *items[4];
    float s[4];
    size_t n;
    assert_ok(aisle_similar_items(m, "i0", 4, NULL, items, s, &n));
    assert_int_equal(n, 3); /* i2 never co-occurs with i0 */
    assert_string_equal(items[0], "i4");
    assert_float_equal(s[0], 1.0, 1e-6);
    assert_string_equal(items[1], "i1"); /* tie with i3: lower index first */
    assert_string_equal(items[2], "i3");
    assert_float_equal(s[1], 2 / (sqrt(2) * sqrt(5)), 1e-6);
    assert_float_equal(s[2], 2 / (sqrt(2) * sqrt(5)), 1e-6);
    /* u1 = {i1: 1, i2: 3}: score(i3) = 1 * 0 + 3 * sim(i2, i3) */
    float sc;
    assert_ok(aisle_score(m, "u1", "i3", &sc));
    assert_float_equal(sc, 3 / (sqrt(10) * sqrt(5)), 1e-6);
    assert_ok(aisle_recommend(m, "u1", 3, NULL, items, s, &n));
    assert_int_equal(n, 3);
    assert_string_equal(items[0], "i0"); /* 1 * sim(i1, i0), tied with i4 */
    assert_string_equal(items[1], "i4");
    assert_string_equal(items[2], "i3");
    float shares[2];
    assert_ok(aisle_explain(m, "u1", "i3", 2, items, shares, &n));
    assert_int_equal(n, 1); /* i1 contributes nothing */
    assert_string_equal(items[0], "i2");
    assert_float_equal(shares[0], 1.0, 1e-6);
    aisle_model_free(m);
    /* one neighbour per item keeps only the best */
    m = tu_train(ds, "model=itemknn neighbours=1 weight_scale=linear");
    assert_ok(aisle_similar_items(m, "i0", 4, NULL, items, s, &n));
    assert_int_equal(n, 1);
    assert_string_equal(items[0], "i4");
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_itemknn_tfidf_and_bm25_by_hand(void **state) {
    (void)state;
    aisle_dataset *ds = tiny_dataset();
    /* idf_u = ln(5 items) - ln(1 + n_u): n = 3, 2, 3, 2 */
    double idf[4] = {log(5) - log(4), log(5) - log(3), log(5) - log(4), log(5) - log(3)};
    aisle_model *m = tu_train(ds, "model=itemknn similarity=tfidf weight_scale=linear");
    const char *items[4];
    float s[4];
    size_t n;
    assert_ok(aisle_similar_items(m, "i0", 1, NULL, items, s, &n));
    /* i0.i4 over u0 and u2 (weights 1): idf0^2 + idf2^2; i0.i1: only u0 */
    assert_string_equal(items[0], "i4");
    assert_float_equal(s[0], idf[0] * idf[0] + idf[2] * idf[2], 1e-6);
    aisle_model_free(m);
    /* bm25 with K1 = 1, B = 1: x = w (K1 + 1) / (K1 len_i / avg + w) * idf_u,
     * len = column sums: i0 2, i1 3, i2 4, i3 3, i4 2, avg 2.8 */
    m = tu_train(ds, "model=itemknn similarity=bm25 bm25_k1=1 bm25_b=1 weight_scale=linear");
    assert_ok(aisle_similar_items(m, "i2", 4, NULL, items, s, &n));
    double x_u1_i2 = 3 * 2 / (4 / 2.8 + 3) * idf[1], x_u1_i1 = 1 * 2 / (3 / 2.8 + 1) * idf[1];
    double x_u3_i2 = 1 * 2 / (4 / 2.8 + 1) * idf[3], x_u3_i3 = 1 * 2 / (3 / 2.8 + 1) * idf[3];
    double want_i1 = x_u1_i2 * x_u1_i1, want_i3 = x_u3_i2 * x_u3_i3;
    assert_int_equal(n, 2);
    assert_string_equal(items[0], want_i1 > want_i3 ? "i1" : "i3");
    assert_float_equal(s[0], want_i1 > want_i3 ? want_i1 : want_i3, 1e-5);
    assert_float_equal(s[1], want_i1 > want_i3 ? want_i3 : want_i1, 1e-5);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

typedef struct trace {
    int calls;
    double first_loss, last_loss, last_metric;
} trace;

static int record(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)steps, (void)elapsed;
    trace *t = user;
    t->calls++;
    if (step == 1) t->first_loss = loss;
    t->last_loss = loss;
    t->last_metric = metric;
    return 0;
}

static aisle_model *train_traced(const aisle_dataset *ds, const char *opts, trace *t) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    memset(t, 0, sizeof *t);
    assert_ok(aisle_config_set_progress(cfg, record, t));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg);
    return m;
}

static void test_bpr_and_als_losses_fall(void **state) {
    (void)state;
    aisle_dataset *ds = tiny_dataset();
    trace t;
    aisle_model *m = train_traced(ds, "model=bpr factors=4 epochs=200 learning_rate=0.1 threads=1", &t);
    assert_int_equal(t.calls, 200);
    assert_true(t.last_loss < 0.5 * t.first_loss);
    aisle_model_free(m);
    m = train_traced(ds, "model=bpr factors=4 epochs=200 learning_rate=0.1 negative_sampling=popularity threads=1", &t);
    assert_true(t.last_loss < t.first_loss);
    aisle_model_free(m);
    m = train_traced(ds, "model=als factors=4 epochs=10 threads=1", &t);
    assert_true(t.last_loss < t.first_loss);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_mf_early_stopping_reports_validation_rmse(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[16], i[16];
    for (int a = 0; a < 30; a++)
        for (int b = 0; b < 20; b++)
            if ((a * 7 + b * 3) % 4 != 0) {
                snprintf(u, sizeof u, "u%d", a);
                snprintf(i, sizeof i, "i%d", b);
                assert_ok(aisle_dataset_add_event(ds, u, i, "rating", 1 + (a % 3 + b % 2 + (a * b) % 3), 0));
            }
    trace t;
    /* no regularisation and a large step: validation error turns up soon */
    aisle_model *m = train_traced(ds, "model=mf factors=16 epochs=500 learning_rate=0.05 learning_rate_decay=0 "
                                      "regularization=0 init_std=0.3 validation_fraction=0.3 patience=2 threads=1",
                                  &t);
    assert_true(t.calls < 500);
    assert_false(isnan(t.last_metric));
    assert_true(t.last_metric > 0);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_option_names_have_one_type_across_tables(void **state) {
    (void)state;
    int n = aisle_option_count();
    for (int a = 0; a < n; a++) {
        const char *na;
        int ta;
        assert_ok(aisle_option_info(a, &na, &ta, NULL, NULL, NULL, NULL));
        for (int b = a + 1; b < n; b++) {
            const char *nb;
            int tb;
            assert_ok(aisle_option_info(b, &nb, &tb, NULL, NULL, NULL, NULL));
            if (strcmp(na, nb) == 0 && ta != tb) fail_msg("option '%s' has types %d and %d", na, ta, tb);
        }
    }
}

/* Every allocation failure during training returns AISLE_ENOMEM, leaks
 * nothing (LeakSanitizer in `make check`) and never hands out a model. */
static void test_training_survives_every_allocation_failure(void **state) {
    (void)state;
    const char *kinds[] = {"model=als factors=2 epochs=2 threads=2", "model=als factors=2 epochs=2 solver=cholesky",
                           "model=mf factors=2 epochs=2 threads=2 validation_fraction=0.2",
                           "model=bpr factors=2 epochs=2 threads=1 negative_sampling=popularity",
                           "model=itemknn threads=2"};
    aisle_dataset *ds = tiny_dataset();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        aisle_config *cfg;
        assert_ok(aisle_config_new(&cfg));
        assert_ok(aisle_config_parse(cfg, kinds[k]));
        int ok = 0;
        for (uint64_t at = 1; at < 2000 && !ok; at++) {
            aisle_model *m = NULL;
            tu_failalloc_install(at, 0);
            int rc = aisle_model_train(ds, cfg, &m);
            tu_failalloc_remove();
            if (rc == AISLE_OK) {
                ok = 1;
                aisle_model_free(m);
            } else {
                if (rc != AISLE_ENOMEM) fail_msg("%s: allocation %llu: %d %s", kinds[k], (unsigned long long)at, rc,
                                                 aisle_last_error());
                assert_null(m);
            }
        }
        assert_true(ok);
        aisle_config_free(cfg);
    }
    aisle_dataset_free(ds);
}

/* Every score a caller can see, for every user and a session. */
static void all_scores(const aisle_model *m, float *out, size_t *n) {
    size_t nu, ni, k = 0, got;
    assert_ok(aisle_model_user_count(m, &nu));
    assert_ok(aisle_model_item_count(m, &ni));
    aisle_rec_options *o;
    assert_ok(aisle_rec_options_new(&o));
    assert_ok(aisle_rec_options_set(o, "exclude_seen", "false"));
    for (size_t u = 0; u < nu; u++) {
        const char *key;
        assert_ok(aisle_model_user_key(m, u, &key));
        assert_ok(aisle_recommend(m, key, ni, o, NULL, out + k, &got));
        k += got;
    }
    const char *session[] = {"i1", "i3"};
    assert_ok(aisle_recommend_for_items(m, session, NULL, 2, ni, o, NULL, out + k, &got));
    k += got;
    assert_ok(aisle_similar_items(m, "i2", ni, o, NULL, out + k, &got));
    k += got;
    aisle_rec_options_free(o);
    *n = k;
}

static void test_save_load_round_trip_every_kind(void **state) {
    (void)state;
    const char *kinds[] = {"model=als factors=3 epochs=3", "model=mf factors=3 epochs=3",
                           "model=bpr factors=3 epochs=3", "model=itemknn", "model=itemknn similarity=bm25"};
    aisle_dataset *ds = tiny_dataset();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        aisle_model *m = tu_train(ds, kinds[k]), *l = NULL;
        void *buf;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
        assert_ok(aisle_model_load_buffer(&l, buf, len, NULL));
        float a[256], b[256];
        size_t na, nb;
        all_scores(m, a, &na);
        all_scores(l, b, &nb);
        assert_int_equal(na, nb);
        assert_true(na > 20);
        assert_memory_equal(a, b, na * sizeof *a);
        float e1[8], e2[8];
        size_t n1, n2;
        assert_ok(aisle_explain(m, "u0", "i3", 8, NULL, e1, &n1));
        assert_ok(aisle_explain(l, "u0", "i3", 8, NULL, e2, &n2));
        assert_int_equal(n1, n2);
        assert_memory_equal(e1, e2, n1 * sizeof *e1);
        /* a truncated file is refused, never half-loaded */
        aisle_model *bad = NULL;
        assert_int_not_equal(aisle_model_load_buffer(&bad, buf, len / 2, NULL), AISLE_OK);
        assert_null(bad);
        aisle_free(buf);
        aisle_model_free(m);
        aisle_model_free(l);
    }
    aisle_dataset_free(ds);
}

/* fp16 factors make the file smaller and change scores by little. */
static void test_fp16_save_keeps_scores_close(void **state) {
    (void)state;
    aisle_dataset *ds = tiny_dataset();
    aisle_model *m = tu_train(ds, "model=als factors=3 epochs=10 threads=1"), *l = NULL;
    aisle_config *save;
    assert_ok(aisle_config_new(&save));
    assert_ok(aisle_config_set(save, "quantize", "fp16"));
    void *buf, *buf32;
    size_t len, len32;
    assert_ok(aisle_model_save_buffer(m, save, &buf, &len));
    assert_ok(aisle_model_save_buffer(m, NULL, &buf32, &len32));
    assert_true(len < len32);
    assert_ok(aisle_model_load_buffer(&l, buf, len, NULL));
    const char *u[] = {"u0", "u1", "u2", "u3"};
    for (int k = 0; k < 4; k++) {
        float a, b;
        assert_ok(aisle_score(m, u[k], "i3", &a));
        assert_ok(aisle_score(l, u[k], "i3", &b));
        assert_float_equal(a, b, 1e-3 + 1e-2 * fabs(a));
    }
    aisle_free(buf);
    aisle_free(buf32);
    aisle_config_free(save);
    aisle_model_free(m);
    aisle_model_free(l);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_als_cholesky_converges_to_normal_equations),
        cmocka_unit_test(test_als_cg_converges_to_normal_equations),
        cmocka_unit_test(test_mf_sgd_step_matches_hand_computation),
        cmocka_unit_test(test_mf_svdpp_step_matches_hand_computation),
        cmocka_unit_test(test_mf_svdpp_step_vector_and_tail_match_scalar),
        cmocka_unit_test(test_mf_implicit_feedback_learns_y),
        cmocka_unit_test(test_mf_implicit_save_load_round_trip),
        cmocka_unit_test(test_mf_implicit_deterministic_with_one_thread),
        cmocka_unit_test(test_mf_implicit_session_fold_in_and_explain),
        cmocka_unit_test(test_mf_fits_small_ratings),
        cmocka_unit_test(test_progress_cancels_every_kind),
        cmocka_unit_test(test_one_thread_same_seed_is_bit_identical),
        cmocka_unit_test(test_itemknn_cosine_similarities_by_hand),
        cmocka_unit_test(test_itemknn_tfidf_and_bm25_by_hand),
        cmocka_unit_test(test_bpr_and_als_losses_fall),
        cmocka_unit_test(test_mf_early_stopping_reports_validation_rmse),
        cmocka_unit_test(test_option_names_have_one_type_across_tables),
        cmocka_unit_test(test_training_survives_every_allocation_failure),
        cmocka_unit_test(test_save_load_round_trip_every_kind),
        cmocka_unit_test(test_fp16_save_keeps_scores_close),
        cmocka_unit_test(test_mf_movielens_u1_rmse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
