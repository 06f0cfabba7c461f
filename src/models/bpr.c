/* bpr.c - Bayesian personalised ranking with matrix factorisation
 * (Rendle, Freudenthaler, Gantner & Schmidt-Thieme, UAI 2009).
 *
 * Maximises sum ln sigma(x_ui - x_uj) - lambda |Theta|^2 over sampled
 * triples (u, i, j): (u, i) an observed pair drawn uniformly, j an item the
 * user did not interact with, drawn uniformly or in proportion to item
 * popularity (option negative_sampling).  x_ui = p_u . q_i.  SGD (LearnBPR).
 *
 * Parallelism: an epoch draws nnz triples in fixed chunks; chunk c uses
 * the random stream (seed, epoch, c), and threads update the shared
 * factors without locks (Hogwild, Niu et al. 2011).  With threads=1 the
 * chunks run in order, so a seed gives bit-identical models; with more
 * threads races make runs differ slightly.
 *
 * Serving: scores are p_u . q_i.  Sessions are folded in with the
 * Hu-Koren-Volinsky closed form on the BPR item factors (alpha 1, lambda =
 * foldin_reg), an approximation: BPR has no closed-form user update. */
#include "models.h"

#include <math.h>
#include <string.h>

static const option_spec bpr_options[] = {
    {"factors", AISLE_OPTION_INT, 1, 1024, "64", NULL, "bpr", "Number of latent factors."},
    {"epochs", AISLE_OPTION_INT, 1, 10000, "30", NULL, "bpr", "Epochs (each draws as many triples as there are interactions)."},
    {"learning_rate", AISLE_OPTION_FLOAT, 1e-8, 10, "0.05", NULL, "bpr", "Initial SGD learning rate."},
    {"learning_rate_decay", AISLE_OPTION_FLOAT, 0, 100, "0", NULL, "bpr",
     "Learning-rate schedule: epoch t uses learning_rate / (1 + learning_rate_decay * t)."},
    {"regularization", AISLE_OPTION_FLOAT, 0, 1e6, "0.01", NULL, "bpr", "L2 regularisation lambda."},
    {"negative_sampling", AISLE_OPTION_STRING, 0, 0, "uniform", "uniform|popularity", "bpr",
     "How negative items are sampled: uniformly, or in proportion to their popularity."},
    {"init_std", AISLE_OPTION_FLOAT, 0, 10, "0.1", NULL, "bpr", "Standard deviation of the initial factors."},
    {"foldin_reg", AISLE_OPTION_FLOAT, 1e-6, 1e6, "1", NULL, "bpr",
     "Ridge lambda of the closed-form fold-in of sessions and updated users."},
    OPTION_END};

typedef struct bpr_state {
    model_factors f; /* first member: see MODEL_FACTORS */
} bpr_state;

enum { BPR_CHUNK = 4096 };

typedef struct bpr_ctx {
    const aisle_model *m;
    model_factors *f;
    const uint32_t *row_of; /* nnz: user of each pair */
    const double *cdf;      /* n_items popularity CDF, or NULL (uniform) */
    double *chunk_loss;
    float lr, reg;
    uint64_t seed;
    int epoch;
    size_t first; /* index of the epoch's first sample this process draws (hook) */
} bpr_ctx;

static bool in_row(const data_csr *h, uint32_t u, uint32_t j) {
    size_t lo = h->indptr[u], hi = h->indptr[u + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->indices[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->indptr[u + 1] && h->indices[lo] == j;
}

static uint32_t sample_negative(const bpr_ctx *c, core_rng *rng, uint32_t ni) {
    if (!c->cdf) return (uint32_t)rng_below(rng, ni);
    double x = rng_double(rng) * c->cdf[ni - 1];
    size_t lo = 0, hi = ni - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->cdf[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo;
}

static int bpr_range(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    const bpr_ctx *c = vc;
    begin += c->first, end += c->first;
    const data_csr *h = &c->m->history;
    model_factors *f = c->f;
    uint32_t d = f->dim, ni = model_n_items(c->m);
    size_t chunk = begin / BPR_CHUNK;
    core_rng rng;
    rng_seed_stream(&rng, c->seed, (uint64_t)c->epoch << 32 | chunk);
    double loss = 0;
    for (size_t s = begin; s < end; s++) {
        size_t k = (size_t)rng_below(&rng, h->nnz);
        uint32_t u = c->row_of[k], i = h->indices[k], j = 0;
        int tries = 0;
        do j = sample_negative(c, &rng, ni);
        while (in_row(h, u, j) && ++tries < 16);
        if (in_row(h, u, j)) continue; /* the user saw (nearly) everything */
        float *p = f->user + (size_t)u * d, *qi = f->item + (size_t)i * d, *qj = f->item + (size_t)j * d;
        float x = 0;
        for (uint32_t t = 0; t < d; t++) x += p[t] * (qi[t] - qj[t]);
        float g = 1.0f / (1.0f + expf(x)); /* sigma(-x) = d ln sigma(x) / dx */
        loss += x > 0 ? log1p(exp(-(double)x)) : -(double)x + log1p(exp((double)x));
        for (uint32_t t = 0; t < d; t++) {
            float pt = p[t], it = qi[t], jt = qj[t];
            p[t] += c->lr * (g * (it - jt) - c->reg * pt);
            qi[t] += c->lr * (g * pt - c->reg * it);
            qj[t] += c->lr * (-g * pt - c->reg * jt);
        }
    }
    c->chunk_loss[chunk] = loss;
    return AISLE_OK;
}

static void bpr_free(aisle_model *m) {
    bpr_state *s = m->state;
    if (!s) return;
    model_factors_free(&s->f);
    core_free(s);
    m->state = NULL;
}

static int bpr_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                     core_progress *prog) {
    return model_bpr_train_hooked(m, ds, cat, cfg, prog, NULL);
}

int model_bpr_train_hooked(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                           core_progress *prog, const model_sgd_hook *hook) {
    (void)ds, (void)cat;
    uint32_t d = (uint32_t)config_int(cfg, bpr_options, "factors");
    int epochs = (int)config_int(cfg, bpr_options, "epochs");
    double lr0 = config_float(cfg, bpr_options, "learning_rate"), decay = config_float(cfg, bpr_options, "learning_rate_decay");
    int threads = core_thread_count(config_int(cfg, bpr_options, "threads"));
    bool pop = strcmp(config_string(cfg, bpr_options, "negative_sampling"), "popularity") == 0;
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    const data_csr *h = &m->history;
    bpr_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("bpr model");
    m->state = s;
    int rc = model_factors_alloc(&s->f, nu, ni, d, false);
    if (rc) return rc;
    s->f.reg = (float)config_float(cfg, bpr_options, "foldin_reg");
    s->f.alpha = 1.0f;
    s->f.rule = m->weight_rule;
    core_rng rng;
    uint64_t seed = (uint64_t)config_int(cfg, bpr_options, "seed");
    rng_seed(&rng, seed);
    float std = (float)config_float(cfg, bpr_options, "init_std");
    for (size_t k = 0; k < (size_t)nu * d; k++) s->f.user[k] = std * rng_normal(&rng);
    for (size_t k = 0; k < (size_t)ni * d; k++) s->f.item[k] = std * rng_normal(&rng);

    size_t nnz = h->nnz, chunks = (nnz + BPR_CHUNK - 1) / BPR_CHUNK;
    bpr_ctx c = {.m = m, .f = &s->f, .reg = (float)config_float(cfg, bpr_options, "regularization"), .seed = seed};
    uint32_t *row_of = core_malloc((nnz ? nnz : 1) * sizeof *row_of);
    double *cdf = pop ? core_malloc((size_t)ni * sizeof *cdf) : NULL;
    c.chunk_loss = core_calloc(chunks ? chunks : 1, sizeof *c.chunk_loss);
    if (!row_of || (pop && !cdf) || !c.chunk_loss) {
        rc = core_oom("bpr training");
        goto out;
    }
    for (uint32_t u = 0; u < nu; u++)
        for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) row_of[k] = u;
    if (pop) {
        double acc = 0;
        for (uint32_t j = 0; j < ni; j++) cdf[j] = acc += m->popularity[j];
    }
    c.row_of = row_of;
    c.cdf = cdf;
    /* an epoch depends on the factors and its index alone (its samples
     * come from the streams (seed, epoch, chunk)): they are the state */
    const model_ckpt_hook *ck = hook ? hook->ckpt : NULL;
    model_ckpt_part parts[2] = {{"user", s->f.user, (uint64_t)nu * d, 4}, {"item", s->f.item, (uint64_t)ni * d, 4}};
    uint64_t done = 0;
    if (ck && (rc = ck->resume(ck->ctx, parts, 2, &done))) goto out;
    for (int ep = (int)done + 1; ep <= epochs && nnz; ep++) {
        c.epoch = ep;
        c.lr = (float)(lr0 / (1.0 + decay * (ep - 1)));
        size_t lo = 0, hi = nnz;
        if (hook && (rc = hook->epoch_begin(hook->ctx, s->f.user, (size_t)nu * d, s->f.item, (size_t)ni * d, nnz,
                                            BPR_CHUNK, &lo, &hi)))
            break;
        c.first = lo;
        rc = core_parallel_for(threads, hi - lo, BPR_CHUNK, bpr_range, &c);
        if (rc) break;
        double loss = 0;
        for (size_t k = 0; k < chunks; k++) loss += c.chunk_loss[k];
        if (hook && (rc = hook->epoch_end(hook->ctx, s->f.user, (size_t)nu * d, s->f.item, (size_t)ni * d, &loss)))
            break;
        if (ck && (rc = ck->save(ck->ctx, parts, 2, (uint64_t)ep, ep == epochs))) break;
        rc = core_progress_report(prog, ep, epochs, loss / (double)nnz, NAN);
        if (rc) break;
    }
    if (!rc) model_factors_gram(s->f.item, ni, d, s->f.gram);
out:
    core_free(row_of);
    core_free(cdf);
    core_free(c.chunk_loss);
    return rc;
}

const model_ops model_bpr_ops = {
    .name = "bpr",
    .summary = "Bayesian personalised ranking matrix factorisation with sampled negatives (Rendle et al. 2009)",
    .options = bpr_options,
    .flags = MODEL_FOLD_IN | MODEL_FACTORS,
    .train = bpr_train,
    .score_items = model_factors_score_items,
    .score_one = model_factors_score_one,
    .similar_items = model_factors_similar,
    .explain = model_factors_explain,
    .update_user = model_factors_update_user,
    .describe = model_factors_describe,
    .save = model_factors_save,
    .load = model_factors_load,
    .free_state = bpr_free,
    .grow = model_factors_grow,
};
