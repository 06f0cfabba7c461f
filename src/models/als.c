/* als.c - implicit-feedback matrix factorisation by alternating least
 * squares (Hu, Koren & Volinsky, ICDM 2008).
 *
 * Loss: sum_{u,i} c_ui (p_ui - x_u^T y_i)^2 + lambda (|X|^2 + |Y|^2) with
 * p_ui = 1 for observed pairs (0 otherwise) and confidence
 * c_ui = 1 + alpha * w_ui.  Each half-iteration fixes one side and solves
 * (Y^T Y + Y^T (C_u - I) Y + lambda I) x_u = Y^T C_u p_u for every user,
 * using Y^T Y computed once (cblas_ssyrk, one thread) and only the user's
 * observed items for the rest.  Solver: a few conjugate-gradient steps
 * warm-started from the previous x_u (Takacs, Pilaszy & Tikk, RecSys 2011),
 * or an exact Cholesky solve.  Users are independent, so the result does
 * not depend on the thread count. */
#include "models.h"

#include <math.h>
#include <string.h>

static const option_spec als_options[] = {
    {"factors", AISLE_OPTION_INT, 1, 1024, "64", NULL, "als", "Number of latent factors."},
    {"epochs", AISLE_OPTION_INT, 1, 10000, "15", NULL, "als", "ALS iterations (each solves users, then items)."},
    {"regularization", AISLE_OPTION_FLOAT, 0, 1e6, "0.05", NULL, "als", "L2 regularisation lambda."},
    {"alpha", AISLE_OPTION_FLOAT, 0, 1e6, "2", NULL, "als",
     "Confidence slope: c = 1 + alpha * aggregated event weight."},
    {"solver", AISLE_OPTION_STRING, 0, 0, "cg", "cg|cholesky", "als",
     "Per-user solver: a few warm-started conjugate-gradient steps, or exact Cholesky."},
    {"cg_steps", AISLE_OPTION_INT, 1, 100, "3", NULL, "als", "Conjugate-gradient steps per solve (solver=cg)."},
    {"init_std", AISLE_OPTION_FLOAT, 0, 10, "0.01", NULL, "als,mf,bpr",
     "Standard deviation of the random normal initial factors."},
    OPTION_END};

typedef struct als_state {
    model_factors f; /* first member: see MODEL_FACTORS */
} als_state;

typedef struct als_ctx {
    const data_csr *rows; /* by-user (solving users) or by-item view */
    float *x;             /* side being solved */
    const float *y;       /* fixed side */
    const float *gram;    /* Y^T Y + lambda I (dim x dim) */
    uint32_t d;
    float alpha;
    int cg_steps;
    bool cholesky;
    float *scratch;       /* per thread: 4 * d floats, or d*d+2d doubles for cholesky */
    size_t scratch_stride;/* in bytes */
    double *row_loss;     /* loss pass: per row */
} als_ctx;

/* (Y^T Y + lambda I) v + sum_j (c_j - 1)(y_j . v) y_j */
static void als_matvec(const als_ctx *c, const uint32_t *idx, const float *w, size_t n, const float *v,
                       float *out) {
    uint32_t d = c->d;
    /* G v as a sum of G's rows (G is symmetric): plain axpys vectorise */
    memset(out, 0, d * sizeof *out);
    for (uint32_t r = 0; r < d; r++) model_axpy(out, v[r], c->gram + (size_t)r * d, d);
    for (size_t j = 0; j < n; j++) {
        const float *y = c->y + (size_t)idx[j] * d;
        model_axpy(out, c->alpha * w[j] * model_dot(y, v, d), y, d);
    }
}

static void solve_cg(const als_ctx *c, const uint32_t *idx, const float *w, size_t n, float *x, float *tmp) {
    uint32_t d = c->d;
    float *r = tmp, *p = tmp + d, *ap = tmp + 2 * d;
    als_matvec(c, idx, w, n, x, ap);
    for (uint32_t k = 0; k < d; k++) r[k] = -ap[k];
    for (size_t j = 0; j < n; j++) {
        const float *y = c->y + (size_t)idx[j] * d;
        float cj = 1.0f + c->alpha * w[j];
        for (uint32_t k = 0; k < d; k++) r[k] += cj * y[k];
    }
    memcpy(p, r, d * sizeof *p);
    float rs = model_dot(r, r, d);
    for (int it = 0; it < c->cg_steps && rs > 1e-20f; it++) {
        als_matvec(c, idx, w, n, p, ap);
        float pap = model_dot(p, ap, d);
        if (!(pap > 0)) break;
        float a = rs / pap;
        for (uint32_t k = 0; k < d; k++) x[k] += a * p[k], r[k] -= a * ap[k];
        float rs2 = model_dot(r, r, d);
        for (uint32_t k = 0; k < d; k++) p[k] = r[k] + (rs2 / rs) * p[k];
        rs = rs2;
    }
}

static int solve_cholesky(const als_ctx *c, const uint32_t *idx, const float *w, size_t n, float *x, double *a) {
    uint32_t d = c->d;
    double *b = a + (size_t)d * d;
    for (size_t k = 0; k < (size_t)d * d; k++) a[k] = c->gram[k];
    for (uint32_t k = 0; k < d; k++) b[k] = 0;
    for (size_t j = 0; j < n; j++) {
        const float *y = c->y + (size_t)idx[j] * d;
        double cj = 1.0 + (double)c->alpha * w[j];
        for (uint32_t r = 0; r < d; r++) {
            b[r] += cj * y[r];
            for (uint32_t s = 0; s <= r; s++) a[(size_t)r * d + s] += (cj - 1.0) * y[r] * y[s];
        }
    }
    for (uint32_t r = 0; r < d; r++)
        for (uint32_t s = r + 1; s < d; s++) a[(size_t)r * d + s] = a[(size_t)s * d + r];
    int rc = model_cholesky_solve(a, b, d);
    if (rc) return rc;
    for (uint32_t k = 0; k < d; k++) x[k] = (float)b[k];
    return AISLE_OK;
}

static int als_solve_range(void *vc, size_t begin, size_t end, int tid) {
    const als_ctx *c = vc;
    void *scratch = (char *)c->scratch + (size_t)tid * c->scratch_stride;
    for (size_t u = begin; u < end; u++) {
        size_t b = c->rows->indptr[u], e = c->rows->indptr[u + 1];
        float *x = c->x + u * c->d;
        if (c->cholesky) {
            int rc = solve_cholesky(c, c->rows->indices + b, c->rows->values + b, e - b, x, scratch);
            if (rc) return rc;
        } else {
            solve_cg(c, c->rows->indices + b, c->rows->values + b, e - b, x, scratch);
        }
    }
    return AISLE_OK;
}

/* Per-user loss without the regulariser: x^T (Y^T Y) x + sum_obs [c (1-s)^2 - s^2]. */
static int als_loss_range(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    const als_ctx *c = vc;
    uint32_t d = c->d;
    float *g = (float *)((char *)c->scratch + (size_t)tid * c->scratch_stride);
    for (size_t u = begin; u < end; u++) {
        const float *x = c->x + u * d;
        for (uint32_t r = 0; r < d; r++) g[r] = model_dot(c->gram + (size_t)r * d, x, d);
        double l = model_dot(x, g, d);
        for (size_t k = c->rows->indptr[u]; k < c->rows->indptr[u + 1]; k++) {
            double s = model_dot(x, c->y + (size_t)c->rows->indices[k] * d, d);
            double cj = 1.0 + (double)c->alpha * c->rows->values[k];
            l += cj * (1 - s) * (1 - s) - s * s;
        }
        c->row_loss[u] = l;
    }
    return AISLE_OK;
}

static void als_free(aisle_model *m) {
    als_state *s = m->state;
    if (!s) return;
    model_factors_free(&s->f);
    core_free(s);
    m->state = NULL;
}

static void random_init(float *a, size_t n, core_rng *rng, float std) {
    for (size_t k = 0; k < n; k++) a[k] = std * rng_normal(rng);
}

static int als_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                     core_progress *prog) {
    (void)cat;
    (void)ds;
    /* both sides read the history's pairs under the weight rule */
    data_csr wu, wi;
    int rc = model_weighted_history(m, &wu, &wi);
    if (rc) return rc;
    const data_csr *by_item = &wi;
    uint32_t d = (uint32_t)config_int(cfg, als_options, "factors");
    int epochs = (int)config_int(cfg, als_options, "epochs");
    float reg = (float)config_float(cfg, als_options, "regularization");
    int threads = core_thread_count(config_int(cfg, als_options, "threads"));
    als_state *s = core_calloc(1, sizeof *s);
    if (!s) {
        data_csr_free(&wu);
        data_csr_free(&wi);
        return core_oom("als model");
    }
    m->state = s;
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    rc = model_factors_alloc(&s->f, nu, ni, d, false);
    if (rc) {
        data_csr_free(&wu);
        data_csr_free(&wi);
        return rc;
    }
    s->f.rule = m->weight_rule;
    s->f.reg = reg;
    s->f.alpha = (float)config_float(cfg, als_options, "alpha");
    core_rng rng;
    rng_seed(&rng, (uint64_t)config_int(cfg, als_options, "seed"));
    float std = (float)config_float(cfg, als_options, "init_std");
    random_init(s->f.user, (size_t)nu * d, &rng, std);
    random_init(s->f.item, (size_t)ni * d, &rng, std);

    als_ctx c = {.d = d, .alpha = s->f.alpha, .cg_steps = (int)config_int(cfg, als_options, "cg_steps")};
    c.cholesky = strcmp(config_string(cfg, als_options, "solver"), "cholesky") == 0;
    c.scratch_stride = c.cholesky ? ((size_t)d * d + 2 * d) * sizeof(double) : 4 * (size_t)d * sizeof(float);
    c.scratch_stride = (c.scratch_stride + 63) / 64 * 64; /* no false sharing */
    c.scratch = core_malloc(c.scratch_stride * (size_t)threads);
    c.row_loss = core_malloc((size_t)(nu ? nu : 1) * sizeof *c.row_loss);
    float *gram = core_malloc((size_t)d * d * sizeof *gram);
    if (!c.scratch || !c.row_loss || !gram) rc = core_oom("als training");
    c.gram = gram;
    for (int ep = 1; !rc && ep <= epochs; ep++) {
        /* users given items, then items given users */
        for (int side = 0; side < 2 && !rc; side++) {
            const float *y = side == 0 ? s->f.item : s->f.user;
            size_t ny = side == 0 ? ni : nu;
            model_factors_gram(y, ny, d, gram);
            for (uint32_t k = 0; k < d; k++) gram[(size_t)k * d + k] += reg;
            c.rows = side == 0 ? &wu : by_item;
            c.x = side == 0 ? s->f.user : s->f.item;
            c.y = y;
            rc = core_parallel_for(threads, c.rows->rows, 64, als_solve_range, &c);
        }
        if (rc) break;
        /* loss with the user side evaluated against the fresh item factors */
        model_factors_gram(s->f.item, ni, d, gram);
        c.rows = &wu;
        c.x = s->f.user;
        c.y = s->f.item;
        rc = core_parallel_for(threads, nu, 64, als_loss_range, &c);
        if (rc) break;
        double loss = 0, norms = 0;
        for (uint32_t u = 0; u < nu; u++) loss += c.row_loss[u];
        for (size_t k = 0; k < (size_t)nu * d; k++) norms += (double)s->f.user[k] * s->f.user[k];
        for (size_t k = 0; k < (size_t)ni * d; k++) norms += (double)s->f.item[k] * s->f.item[k];
        loss = (loss + reg * norms) / (double)(m->history.nnz ? m->history.nnz : 1);
        rc = core_progress_report(prog, ep, epochs, loss, NAN);
    }
    /* the Gram matrix of the final item factors serves fold-in */
    if (!rc) model_factors_gram(s->f.item, ni, d, s->f.gram);
    core_free(c.scratch);
    core_free(c.row_loss);
    core_free(gram);
    data_csr_free(&wu);
    data_csr_free(&wi);
    return rc;
}

/* ---- hooks for distributed training (src/dist; see models.h) ---- */

int model_als_solve_rows(const model_als_rows *r, double *row_loss) {
    bool cholesky = strcmp(r->solver, "cholesky") == 0;
    int threads = r->threads > 0 ? r->threads : 1;
    als_ctx c = {.rows = r->rows, .x = r->x, .y = r->y, .gram = r->gram, .d = r->dim, .alpha = r->alpha,
                 .cg_steps = r->cg_steps, .cholesky = cholesky, .row_loss = row_loss};
    c.scratch_stride = cholesky && !row_loss ? ((size_t)r->dim * r->dim + 2 * r->dim) * sizeof(double)
                                             : 4 * (size_t)r->dim * sizeof(float);
    c.scratch_stride = (c.scratch_stride + 63) / 64 * 64;
    c.scratch = core_malloc(c.scratch_stride * (size_t)threads);
    if (!c.scratch) return core_oom("als rows");
    int rc = core_parallel_for(threads, r->rows->rows, 64, row_loss ? als_loss_range : als_solve_range, &c);
    core_free(c.scratch);
    return rc;
}

int model_als_state_new(aisle_model *m, uint32_t dim, model_factors **out) {
    als_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("als model");
    m->state = s;
    int rc = model_factors_alloc(&s->f, model_n_users(m), model_n_items(m), dim, false);
    if (rc) return rc;
    s->f.rule = m->weight_rule;
    s->f.reg = (float)config_float(m->config, als_options, "regularization");
    s->f.alpha = (float)config_float(m->config, als_options, "alpha");
    *out = &s->f;
    return AISLE_OK;
}

const model_ops model_als_ops = {
    .name = "als",
    .summary = "implicit-feedback matrix factorisation by alternating least squares (Hu et al. 2008)",
    .options = als_options,
    .flags = MODEL_FOLD_IN | MODEL_FACTORS,
    .train = als_train,
    .score_items = model_factors_score_items,
    .score_one = model_factors_score_one,
    .similar_items = model_factors_similar,
    .explain = model_factors_explain,
    .update_user = model_factors_update_user,
    .describe = model_factors_describe,
    .save = model_factors_save,
    .load = model_factors_load,
    .free_state = als_free,
};
