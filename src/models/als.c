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
 * not depend on the thread count.  The half-iteration itself (blocked
 * for cache, CG in lockstep over a block of rows) is in als_cg.c. */
#include "als.h"

#include <math.h>
#include <string.h>
#if defined(__linux__)
#  include <sys/mman.h>
#endif

static const option_spec als_options[] = {
    {"factors", AISLE_OPTION_INT, 1, 1024, "64", NULL, "als", "Number of latent factors."},
    {"epochs", AISLE_OPTION_INT, 1, 10000, "15", NULL, "als", "ALS iterations (each solves users, then items)."},
    /* defaults chosen by validation NDCG@10 on MovieLens-100K u1.base
     * (bench_cf als-tune, docs/BENCHMARKS.md); lambda was 0.05 unscaled before */
    {"regularization", AISLE_OPTION_FLOAT, 0, 1e6, "1", NULL, "als",
     "L2 regularisation lambda (multiplied by the mean interactions per row when scale_regularization=true)."},
    {"scale_regularization", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "als",
     "Multiply regularization by nnz / (users + items), so one value suits small and large data; false: as given."},
    {"alpha", AISLE_OPTION_FLOAT, 0, 1e6, "2", NULL, "als",
     "Confidence slope: c = 1 + alpha * aggregated event weight."},
    {"solver", AISLE_OPTION_STRING, 0, 0, "cg", "cg|cholesky", "als",
     "Per-user solver: a few warm-started conjugate-gradient steps, or exact Cholesky."},
    {"cg_steps", AISLE_OPTION_INT, 1, 100, "3", NULL, "als", "Conjugate-gradient steps per solve (solver=cg)."},
    /* default chosen by bench_cf als-iter and bench_cf als (docs/BENCHMARKS.md) */
    {"als_gather", AISLE_OPTION_STRING, 0, 0, "fp16", "fp32|fp16", "als",
     "Precision of the fixed side's factor rows the solves gather: fp16 reads a rounded copy refreshed every "
     "half-iteration (half the memory traffic; changes the factors within fp16 rounding), fp32 the factors."},
    {"init_std", AISLE_OPTION_FLOAT, 0, 10, "0.01", NULL, "als,mf,bpr",
     "Standard deviation of the random normal initial factors."},
    OPTION_END};

typedef struct als_state {
    model_factors f; /* first member: see MODEL_FACTORS */
} als_state;

static void als_free(aisle_model *m) {
    als_state *s = m->state;
    if (!s) return;
    model_factors_free(&s->f);
    core_free(s);
    m->state = NULL;
}

/* Transparent huge pages for a factor matrix, asked for before its first
 * write: the item side gathers rows of the user matrix at random, and with
 * 4 KiB pages nearly every gathered row also misses the TLB (a two-level
 * page walk in a VM); at 1M users it cost about 15% of an iteration's CPU
 * (docs/BENCHMARKS.md).  Only the whole 2 MiB pages inside the block;
 * advice only, a refusal changes nothing. */
static void advise_huge_pages(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t page = (uintptr_t)1 << 21;
    uintptr_t first = ((uintptr_t)p + page - 1) & ~(page - 1), last = ((uintptr_t)p + bytes) & ~(page - 1);
    if (last > first) (void)madvise((void *)first, last - first, MADV_HUGEPAGE);
#else
    (void)p, (void)bytes;
#endif
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
    advise_huge_pages(s->f.user, (size_t)nu * d * sizeof(float));
    advise_huge_pages(s->f.item, (size_t)ni * d * sizeof(float));
    s->f.rule = m->weight_rule;
    /* A fixed lambda that suits MovieLens (about 30 interactions per row)
     * drives every factor of a small shop's sparse matrix to zero: scale it
     * with the data.  The model stores the effective value (fold-in uses it). */
    reg = model_als_effective_reg(cfg, (double)wu.nnz, nu, ni);
    s->f.reg = reg;
    s->f.alpha = (float)config_float(cfg, als_options, "alpha");
    core_rng rng;
    rng_seed(&rng, (uint64_t)config_int(cfg, als_options, "seed"));
    float std = (float)config_float(cfg, als_options, "init_std");
    random_init(s->f.user, (size_t)nu * d, &rng, std);
    random_init(s->f.item, (size_t)ni * d, &rng, std);

    als_solver c = {.d = d, .alpha = s->f.alpha, .cg_steps = (int)config_int(cfg, als_options, "cg_steps")};
    c.cholesky = strcmp(config_string(cfg, als_options, "solver"), "cholesky") == 0;
    c.scratch_stride = als_scratch_bytes(d, c.cholesky);
    c.scratch = core_malloc(c.scratch_stride * (size_t)threads);
    /* the fp16 copy of the fixed side, refreshed before each half (its rows
     * are what the solve gathers: see als_cg.c) */
    bool fp16 = strcmp(config_string(cfg, als_options, "als_gather"), "fp16") == 0;
    size_t copy_rows = nu > ni ? nu : ni;
    uint16_t *y16 = fp16 ? core_malloc((copy_rows ? copy_rows : 1) * (size_t)d * sizeof *y16) : NULL;
    if (y16) advise_huge_pages(y16, copy_rows * (size_t)d * sizeof *y16);
    /* the loss is summed per item (the item side records it) */
    c.row_loss = core_malloc((size_t)(ni ? ni : 1) * sizeof *c.row_loss);
    /* gram: the regularised system matrix of the current side; gram_x,
     * gram_y: X^T X and Y^T Y, the latter kept from the end of one epoch
     * to the start of the next */
    float *gram = core_malloc(3 * (size_t)d * d * sizeof *gram);
    float *gram_x = gram ? gram + (size_t)d * d : NULL, *gram_y = gram ? gram_x + (size_t)d * d : NULL;
    size_t *ublocks = NULL, *iblocks = NULL, nub = 0, nib = 0;
    if (!c.scratch || !c.row_loss || !gram || (fp16 && !y16)) rc = core_oom("als training");
    if (!rc) rc = als_plan_blocks(&wu, d, &ublocks, &nub);
    if (!rc) rc = als_plan_blocks(by_item, d, &iblocks, &nib);
    if (!rc) model_factors_gram(s->f.item, ni, d, gram_y);
    for (int ep = 1; !rc && ep <= epochs; ep++) {
        /* users given items, then items given users */
        for (int side = 0; side < 2 && !rc; side++) {
            if (side == 1) model_factors_gram(s->f.user, nu, d, gram_x);
            memcpy(gram, side == 0 ? gram_y : gram_x, (size_t)d * d * sizeof *gram);
            for (uint32_t k = 0; k < d; k++) gram[(size_t)k * d + k] += reg;
            c.gram = gram;
            c.rows = side == 0 ? &wu : by_item;
            c.x = side == 0 ? s->f.user : s->f.item;
            c.y = side == 0 ? s->f.item : s->f.user;
            c.block_start = side == 0 ? ublocks : iblocks;
            c.n_blocks = side == 0 ? nub : nib;
            /* the item side leaves both sides final: it records the
             * observed part of the loss while its rows are in cache,
             * saving a loss pass that gathered every event's row again */
            c.observed_loss = side == 1;
            if (y16) {
                rc = als_gather_copy(c.y, side == 0 ? ni : nu, d, y16, threads);
                c.y16 = y16;
            }
            if (!rc) rc = core_parallel_for(threads, c.n_blocks, 1, als_solve_blocks, &c);
        }
        if (rc) break;
        /* the rest of the loss: sum_u x_u^T (Y^T Y) x_u = <X^T X, Y^T Y> */
        model_factors_gram(s->f.item, ni, d, gram_y);
        double loss = 0, quad = 0, norms = 0;
        for (uint32_t i = 0; i < ni; i++) loss += c.row_loss[i];
        for (size_t k = 0; k < (size_t)d * d; k++) quad += (double)gram_x[k] * gram_y[k];
        for (size_t k = 0; k < (size_t)nu * d; k++) norms += (double)s->f.user[k] * s->f.user[k];
        for (size_t k = 0; k < (size_t)ni * d; k++) norms += (double)s->f.item[k] * s->f.item[k];
        loss = (loss + quad + reg * norms) / (double)(m->history.nnz ? m->history.nnz : 1);
        rc = core_progress_report(prog, ep, epochs, loss, NAN);
    }
    /* the Gram matrix of the final item factors serves fold-in */
    if (!rc) memcpy(s->f.gram, gram_y, (size_t)d * d * sizeof *gram);
    core_free(c.scratch);
    core_free(y16);
    core_free(c.row_loss);
    core_free(ublocks);
    core_free(iblocks);
    core_free(gram);
    data_csr_free(&wu);
    data_csr_free(&wi);
    return rc;
}

/* ---- hooks for distributed training (src/dist; see models.h) ---- */

int model_als_solve_rows(const model_als_rows *r, double *row_loss) {
    bool cholesky = strcmp(r->solver, "cholesky") == 0;
    int threads = r->threads > 0 ? r->threads : 1;
    als_solver c = {.rows = r->rows, .x = r->x, .y = r->y, .gram = r->gram, .d = r->dim, .alpha = r->alpha,
                    .cg_steps = r->cg_steps, .cholesky = cholesky && !row_loss, .row_loss = row_loss};
    size_t *blocks = NULL;
    int rc = als_plan_blocks(r->rows, r->dim, &blocks, &c.n_blocks);
    if (rc) return rc;
    c.block_start = blocks;
    c.scratch_stride = als_scratch_bytes(r->dim, c.cholesky);
    c.scratch = core_malloc(c.scratch_stride * (size_t)threads);
    /* the same fp16 copy of y as als_train gathers from (all of y's rows:
     * the rows' columns) */
    uint16_t *y16 = NULL;
    if (r->gather && strcmp(r->gather, "fp16") == 0) {
        size_t n = (size_t)r->rows->cols * r->dim;
        y16 = core_malloc((n ? n : 1) * sizeof *y16);
        if (y16) rc = als_gather_copy(r->y, r->rows->cols, r->dim, y16, threads);
        c.y16 = y16;
        if (!y16) rc = core_oom("als rows");
    }
    if (!rc && !c.scratch) rc = core_oom("als rows");
    if (!rc) rc = core_parallel_for(threads, c.n_blocks, 1, row_loss ? als_loss_blocks : als_solve_blocks, &c);
    core_free(y16);
    core_free(c.scratch);
    core_free(blocks);
    return rc;
}

float model_als_effective_reg(const aisle_config *cfg, double pairs, uint32_t users, uint32_t items) {
    float reg = (float)config_float(cfg, als_options, "regularization");
    if (config_bool(cfg, als_options, "scale_regularization") && (double)users + (double)items > 0)
        reg = (float)((double)reg * pairs / ((double)users + (double)items));
    return reg;
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
    .grow = model_factors_grow,
};
