/* mf.c - explicit-rating matrix factorisation with biases trained by SGD,
 * parallelised as in FPSG (Chin, Zhuang, Juan & Lin, "A Fast Parallel
 * Stochastic Gradient Method for Matrix Factorization in Shared Memory
 * Systems", ACM TIST 2015).
 *
 * Minimises J = sum_{(u,i) observed} (r_ui - rhat_ui)^2
 *             + lambda (|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2)
 * with rhat_ui = mu + b_u + b_i + p_u . q_i (Koren, Bell & Volinsky 2009).
 *
 * FPSG: users and items are randomly permuted into s x s blocks (s = 2 *
 * threads, 1 with one thread).  A scheduler hands each thread a free block
 * -- one whose row block and column block no other thread is updating --
 * preferring the least updated; blocks sharing neither rows nor columns
 * touch disjoint parameters, so updates need no locks.  Only the scheduler
 * takes a mutex.  The ratings are shuffled once, then visited in that
 * order every epoch (as in LibMF).  Training works on a block-ordered,
 * padded, aligned copy of the parameters (see mf_ctx) with 8-wide kernels
 * built for SSE2 and AVX2 (same bits; docs/MODELS.md).
 * Learning rate: lr_t = learning_rate / (1 + learning_rate_decay * t).
 * Early stopping: with validation_fraction > 0 a random fraction of the ratings is
 * held out; training stops when its RMSE has not improved for `patience`
 * epochs and the best epoch's parameters are kept.
 *
 * implicit_feedback=true adds SVD++ (Koren, "Factorization Meets the
 * Neighborhood", KDD 2008, eq. 15):
 *   rhat_ui = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j)
 * where N(u) is every item of u's TRAINING history (held-out validation
 * ratings included: they are training data; test data never is).  As in
 * the efficient SVD++ implementations, the implicit sum z_u is computed
 * once per user per epoch and the y gradient of a user is accumulated over
 * its ratings (acc_u = sum_i e_ui q_i) and applied once: here at the end of
 * the epoch, item-parallel (each y_j is owned by one thread, summing its
 * raters in a fixed order), which needs no locks and keeps the FPSG grid for
 * p, q and the biases.  After training z_u is folded into the stored user
 * vector (p_u + z_u), so scoring a known user is plain biased MF; y is
 * saved (its own section): an anonymous session S (and a user re-fitted
 * after new events) gets x = z_S + the ridge fold-in of factors.c on the
 * residual ratings, and explain splits q_i . x over the session items.
 *
 * This file: options, training set-up and epochs, model ops.  The FPSG
 * scheduler is in mf_fpsg.c, the SIMD kernels in mf_kernels.c (shared
 * declarations: mf.h). */
#include "mf.h"

#include <math.h>
#include <string.h>

static const option_spec mf_options[] = {
    {"factors", AISLE_OPTION_INT, 1, 1024, "32", NULL, "mf", "Number of latent factors."},
    {"epochs", AISLE_OPTION_INT, 1, 10000, "100", NULL, "mf", "Maximum SGD epochs."},
    {"learning_rate", AISLE_OPTION_FLOAT, 1e-8, 10, "0.007", NULL, "mf", "Initial SGD learning rate."},
    {"learning_rate_decay", AISLE_OPTION_FLOAT, 0, 100, "0.1", NULL, "mf",
     "Learning-rate schedule: epoch t uses learning_rate / (1 + learning_rate_decay * t)."},
    {"regularization", AISLE_OPTION_FLOAT, 0, 1e6, "0.1", NULL, "mf", "L2 regularisation lambda."},
    {"init_std", AISLE_OPTION_FLOAT, 0, 10, "0.05", NULL, "mf", "Standard deviation of the initial factors."},
    {"validation_fraction", AISLE_OPTION_FLOAT, 0, 0.9, "0", NULL, "mf",
     "Fraction of ratings held out for early stopping (0: train on all, fixed epochs)."},
    {"patience", AISLE_OPTION_INT, 1, 1000, "3", NULL, "mf",
     "Epochs without validation improvement before stopping."},
    {"implicit_feedback", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "mf",
     "SVD++: add |N(u)|^-1/2 sum of implicit item factors y_j over the items the user rated."},
    {"regularization_bias", AISLE_OPTION_FLOAT, -1, 1e6, "0.02", NULL, "mf",
     "L2 regularisation of the biases (-1: same as regularization)."},
    {"regularization_implicit", AISLE_OPTION_FLOAT, -1, 1e6, "-1", NULL, "mf",
     "L2 regularisation of the implicit factors y (-1: same as regularization)."},
    OPTION_END};

typedef struct mf_state {
    model_factors f; /* first member: see MODEL_FACTORS */
    float *y;        /* n_items x dim implicit factors (SVD++), or NULL */
} mf_state;

static double rmse(const mf_ctx *c, const model_factors *f, const rating *r, size_t n) {
    double sse = 0;
    for (size_t k = 0; k < n; k++) {
        const float *p = c->U + r[k].u * c->su, *q = c->Q + (size_t)r[k].i * c->dp;
        float v = c->mean + c->ub[r[k].u] + c->ib[r[k].i] + model_dot(p, q, c->dp);
        if (c->Y) v += model_dot(p + c->dp, q, c->dp);
        v = v < f->rmin ? f->rmin : v > f->rmax ? f->rmax : v;
        sse += (double)(r[k].r - v) * (r[k].r - v);
    }
    return n ? sqrt(sse / (double)n) : NAN;
}

static void mf_free(aisle_model *m) {
    mf_state *s = m->state;
    if (!s) return;
    model_factors_free(&s->f);
    core_free(s->y);
    core_free(s);
    m->state = NULL;
}

static size_t pad16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Training state beside the mf_ctx: the aligned arena U | Q | Y | ub | ib
 * the kernels update, every rating (the validation part first), the
 * random permutations (users, then items) and the best epoch's arena. */
typedef struct mf_fit {
    mf_ctx c;
    uint32_t nu, ni, d;
    bool imp;               /* SVD++ */
    float *araw, *best;     /* arena allocation (alen floats), best epoch's copy */
    size_t alen;
    rating *all;            /* n ratings: nval validation, then training */
    size_t n, nval;
    uint32_t *uperm, *upos; /* nu + ni: position -> index and index -> position */
} mf_fit;

static void fit_free(mf_fit *t) {
    mf_ctx *c = &t->c;
    mf_sched_free(&c->sc);
    core_free(t->araw);
    core_free(t->best);
    core_free(c->norm);
    core_free(c->uptr);
    core_free(c->iptr);
    core_free(c->uitems);
    core_free(c->iusers);
    core_free(t->all);
    core_free(t->uperm);
    core_free(t->upos);
    core_free(c->r);
    core_free(c->bstart);
    core_free(c->bsse);
}

/* Allocates the arena (each part 64-byte aligned), the rating copies, the
 * permutations, the FPSG grid of sb x sb blocks, and for SVD++ the index
 * of N(u) and of each item's raters and the model's y. */
static int fit_alloc(mf_fit *t, mf_state *s, int sb) {
    mf_ctx *c = &t->c;
    uint32_t nu = t->nu, ni = t->ni;
    size_t n = t->n;
    size_t oq = pad16((size_t)nu * c->su), oy = oq + pad16((size_t)ni * c->dp);
    size_t oub = oy + (t->imp ? pad16((size_t)ni * c->dp) : 0), oib = oub + pad16(nu);
    t->alen = oib + pad16(ni) + 16;
    t->araw = core_calloc(t->alen, sizeof(float));
    t->all = core_malloc((n ? n : 1) * sizeof *t->all);
    t->uperm = core_malloc(((size_t)nu + ni + 1) * sizeof *t->uperm);
    t->upos = core_malloc(((size_t)nu + ni + 1) * sizeof *t->upos);
    c->r = core_malloc((n ? n : 1) * sizeof *c->r);
    c->bstart = core_calloc((size_t)sb * sb + 1, sizeof *c->bstart);
    c->bsse = core_calloc((size_t)sb * sb, sizeof *c->bsse);
    if (t->imp) {
        c->norm = core_calloc(nu ? nu : 1, sizeof *c->norm);
        c->uptr = core_calloc((size_t)nu + 1, sizeof *c->uptr);
        c->iptr = core_calloc((size_t)ni + 1, sizeof *c->iptr);
        c->uitems = core_malloc((n ? n : 1) * sizeof *c->uitems);
        c->iusers = core_malloc((n ? n : 1) * sizeof *c->iusers);
        s->y = core_calloc((size_t)(ni ? ni : 1) * t->d, sizeof *s->y);
        if (!c->norm || !c->uptr || !c->iptr || !c->uitems || !c->iusers || !s->y)
            return core_oom("mf implicit factors");
    }
    if (!t->araw || !t->all || !t->uperm || !t->upos || !c->r || !c->bstart || !c->bsse) return core_oom("mf training");
    int rc = mf_sched_init(&c->sc, sb);
    if (rc) return rc;
    float *arena = (float *)(((uintptr_t)t->araw + 63) & ~(uintptr_t)63); /* 16 spare floats */
    c->U = arena, c->Q = arena + oq, c->Y = t->imp ? arena + oy : NULL, c->ub = arena + oub, c->ib = arena + oib;
    return AISLE_OK;
}

/* Random row and column permutations (internal index = position), the
 * ratings in internal indices and their range, shuffled once with the
 * first nval held out, the training mean and the initial factors. */
static void fit_load_ratings(mf_fit *t, const data_csr *h, model_factors *f, core_rng *rng, double vfrac,
                             float std) {
    mf_ctx *c = &t->c;
    uint32_t nu = t->nu, ni = t->ni, d = t->d;
    uint32_t *uperm = t->uperm, *upos = t->upos, *iperm = uperm + nu, *ipos = upos + nu;
    for (uint32_t u = 0; u < nu; u++) uperm[u] = u;
    rng_shuffle_u32(rng, uperm, nu);
    for (uint32_t k = 0; k < nu; k++) upos[uperm[k]] = k;
    for (uint32_t i = 0; i < ni; i++) iperm[i] = i;
    rng_shuffle_u32(rng, iperm, ni);
    for (uint32_t k = 0; k < ni; k++) ipos[iperm[k]] = k;
    f->rmin = INFINITY, f->rmax = -INFINITY;
    for (uint32_t u = 0; u < nu; u++)
        for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) {
            t->all[k] = (rating){upos[u], ipos[h->indices[k]], h->values[k]};
            f->rmin = CORE_MIN(f->rmin, h->values[k]);
            f->rmax = CORE_MAX(f->rmax, h->values[k]);
        }
    t->nval = (size_t)(vfrac * (double)t->n);
    for (size_t k = t->n; k > 1; k--) {
        size_t j = (size_t)rng_below(rng, k);
        rating x = t->all[k - 1];
        t->all[k - 1] = t->all[j];
        t->all[j] = x;
    }
    size_t ntr = t->n - t->nval;
    const rating *tr = t->all + t->nval;
    double mean = 0;
    for (size_t k = 0; k < ntr; k++) mean += tr[k].r;
    f->mean = c->mean = ntr ? (float)(mean / (double)ntr) : 0.0f;
    for (uint32_t u = 0; u < nu; u++)
        for (uint32_t k = 0; k < d; k++) c->U[upos[u] * c->su + k] = std * rng_normal(rng);
    for (uint32_t i = 0; i < ni; i++)
        for (uint32_t k = 0; k < d; k++) c->Q[(size_t)ipos[i] * c->dp + k] = std * rng_normal(rng);
}

/* SVD++: y starts at 0 (z = 0: the first epoch is plain biased MF).  N(u)
 * is u's whole history (validation ratings are training data), in history
 * order; the raters of each item in ascending internal order. */
static void fit_implicit_index(mf_fit *t, const data_csr *h) {
    mf_ctx *c = &t->c;
    uint32_t nu = t->nu, ni = t->ni;
    const uint32_t *uperm = t->uperm, *ipos = t->upos + nu;
    for (uint32_t k = 0; k < nu; k++) {
        uint32_t u = uperm[k];
        size_t cnt = h->indptr[u + 1] - h->indptr[u];
        c->norm[k] = cnt ? 1.0f / sqrtf((float)cnt) : 0.0f;
        c->uptr[k + 1] = c->uptr[k] + cnt;
        for (size_t j = 0; j < cnt; j++) {
            uint32_t i = ipos[h->indices[h->indptr[u] + j]];
            c->uitems[c->uptr[k] + j] = i;
            c->iptr[i + 1]++;
        }
    }
    for (uint32_t i = 0; i < ni; i++) c->iptr[i + 1] += c->iptr[i];
    /* fill with iptr[i] as the cursor of item i, then shift back */
    for (uint32_t k = 0; k < nu; k++)
        for (size_t j = c->uptr[k]; j < c->uptr[k + 1]; j++) c->iusers[c->iptr[c->uitems[j]]++] = k;
    for (uint32_t i = ni; i > 0; i--) c->iptr[i] = c->iptr[i - 1];
    c->iptr[0] = 0;
}

/* The epochs: SVD++ implicit sums, the FPSG pass, the y update; progress
 * with train and validation RMSE; early stopping back to the best epoch's
 * arena (same offset from its own base); the final implicit sums. */
static int fit_epochs(mf_fit *t, const model_factors *f, int threads, int epochs, int patience, float lr0,
                      double decay, core_progress *prog, mf_dsgd *dsgd) {
    mf_ctx *c = &t->c;
    int sb = c->sc.s, rc = AISLE_OK;
    size_t nval = t->nval, ntr = t->n - nval;
    if (nval && !(t->best = core_malloc(t->alen * sizeof *t->best))) return core_oom("mf training");
    mf_kernels k = mf_kernels_pick();
    double best_rmse = INFINITY;
    int since_best = 0;
    /* The state an epoch depends on: the arena (factors, biases, SVD++'s
     * y and per-user sums), the best epoch's copy and the early-stopping
     * counters; the learning rate is a function of the epoch, and the
     * random draws all happen before the first epoch. */
    const model_ckpt_hook *ck = dsgd ? dsgd->hook->ckpt : NULL;
    uint64_t done = 0, scalars[2] = {0, 0};
    size_t used = t->alen - 16; /* the aligned part */
    model_ckpt_part parts[3] = {{"arena", c->U, used, 4},
                                {"early_stopping", scalars, 2, 8},
                                {"best", t->best ? t->best + (c->U - t->araw) : NULL, used, 4}};
    size_t n_parts = nval ? 3 : 2;
    memcpy(&scalars[0], &best_rmse, sizeof best_rmse);
    if (ck) {
        if ((rc = ck->resume(ck->ctx, parts, n_parts, &done))) return rc;
        memcpy(&best_rmse, &scalars[0], sizeof best_rmse);
        since_best = (int)scalars[1];
    }
    bool stop = nval && since_best >= patience; /* a resumed run that had stopped */
    for (int ep = (int)done + 1; !stop && ep <= epochs; ep++) {
        c->lr = (float)(lr0 / (1.0 + decay * (ep - 1)));
        c->sc.taken = 0;
        memset(c->bsse, 0, (size_t)sb * sb * sizeof *c->bsse);
        if (t->imp) rc = core_parallel_for(threads, t->nu, 64, k.implicit_sum, c);
        double sse = 0;
        if (!rc && dsgd) rc = mf_dsgd_epoch(dsgd, c, threads, k.epoch, &sse); /* distributed (src/dist) */
        else if (!rc) rc = core_parallel_for(threads, (size_t)threads, 1, k.epoch, c);
        if (!rc && t->imp) rc = core_parallel_for(threads, t->ni, 64, k.implicit_update, c);
        if (!rc && t->imp && nval) rc = core_parallel_for(threads, t->nu, 64, k.implicit_sum, c); /* z for validation */
        if (rc) return rc;
        for (int b = 0; !dsgd && b < sb * sb; b++) sse += c->bsse[b];
        double train_rmse = ntr ? sqrt(sse / (double)ntr) : NAN;
        /* SGD on values far outside a rating scale (summed implicit events,
         * quantities) blows up; a model of NaN scores would recommend
         * nothing, so say so instead */
        if (ntr && !isfinite(train_rmse))
            return core_error(AISLE_ERANGE,
                              "mf diverged at epoch %d (training error is not finite) on values %g..%g: mf predicts "
                              "ratings; for implicit events (views, purchases, quantities) train als, bpr or "
                              "itemknn, or lower learning_rate",
                              ep, (double)f->rmin, (double)f->rmax);
        double vr = nval ? rmse(c, f, t->all, nval) : NAN;
        if (nval) {
            if (vr < best_rmse) {
                best_rmse = vr;
                since_best = 0;
                memcpy(t->best, t->araw, t->alen * sizeof *t->best);
            } else {
                stop = ++since_best >= patience;
            }
        }
        if (ck) {
            memcpy(&scalars[0], &best_rmse, sizeof best_rmse);
            scalars[1] = (uint64_t)since_best;
            if ((rc = ck->save(ck->ctx, parts, n_parts, (uint64_t)ep, stop || ep == epochs))) return rc;
        }
        rc = core_progress_report(prog, ep, epochs, train_rmse, vr);
        if (rc) return rc;
    }
    if (nval) memcpy(t->araw, t->best, t->alen * sizeof *t->best);
    if (t->imp) rc = core_parallel_for(threads, t->nu, 64, k.implicit_sum, c);
    return rc;
}

/* Back to the original numbering; with SVD++ the stored user vector is
 * p_u + z_u, so known users are scored as plain biased MF. */
static void fit_export(const mf_fit *t, mf_state *s) {
    const mf_ctx *c = &t->c;
    model_factors *f = &s->f;
    uint32_t d = t->d;
    const uint32_t *upos = t->upos, *ipos = t->upos + t->nu;
    for (uint32_t u = 0; u < t->nu; u++) {
        const float *p = c->U + upos[u] * c->su;
        for (uint32_t k = 0; k < d; k++) f->user[(size_t)u * d + k] = t->imp ? p[k] + p[c->dp + k] : p[k];
        f->user_bias[u] = c->ub[upos[u]];
    }
    for (uint32_t i = 0; i < t->ni; i++) {
        memcpy(f->item + (size_t)i * d, c->Q + (size_t)ipos[i] * c->dp, d * sizeof(float));
        if (t->imp) memcpy(s->y + (size_t)i * d, c->Y + (size_t)ipos[i] * c->dp, d * sizeof(float));
        f->item_bias[i] = c->ib[ipos[i]];
    }
}

static int mf_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                    core_progress *prog) {
    return model_mf_train_hooked(m, ds, cat, cfg, prog, NULL);
}

int model_mf_train_hooked(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                          core_progress *prog, const model_mf_hook *hook) {
    (void)ds, (void)cat;
    const option_spec *o = mf_options;
    uint32_t d = (uint32_t)config_int(cfg, o, "factors");
    int threads = core_thread_count(config_int(cfg, o, "threads"));
    mf_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("mf model");
    m->state = s;
    int rc = model_factors_alloc(&s->f, model_n_users(m), model_n_items(m), d, true);
    if (rc) return rc;
    model_factors *f = &s->f;
    f->reg = (float)config_float(cfg, o, "regularization");
    double rb = config_float(cfg, o, "regularization_bias"), ry = config_float(cfg, o, "regularization_implicit");
    mf_fit t = {.c = {.d = d, .dp = (d + 7) & ~7u, .reg = f->reg}, .nu = model_n_users(m), .ni = model_n_items(m),
                .d = d, .imp = config_bool(cfg, o, "implicit_feedback"), .n = m->history.nnz};
    t.c.su = t.imp ? 3 * (size_t)t.c.dp : t.c.dp;
    t.c.reg_bias = rb < 0 ? f->reg : (float)rb;
    t.c.reg_y = ry < 0 ? f->reg : (float)ry;
    rc = fit_alloc(&t, s, threads == 1 ? 1 : 2 * threads);
    if (!rc) {
        core_rng rng;
        rng_seed(&rng, (uint64_t)config_int(cfg, o, "seed"));
        fit_load_ratings(&t, &m->history, f, &rng, config_float(cfg, o, "validation_fraction"),
                         (float)config_float(cfg, o, "init_std"));
        if (t.imp) fit_implicit_index(&t, &m->history);
        rc = mf_fpsg_bucket(&t.c, t.all + t.nval, t.n - t.nval, t.nu, t.ni);
    }
    mf_dsgd dsgd = {.hook = hook};
    if (!rc && hook) rc = mf_dsgd_init(&dsgd, hook, &t.c, t.all + t.nval, t.n - t.nval, t.nu, t.ni);
    if (!rc)
        rc = fit_epochs(&t, f, threads, (int)config_int(cfg, o, "epochs"), (int)config_int(cfg, o, "patience"),
                        (float)config_float(cfg, o, "learning_rate"), config_float(cfg, o, "learning_rate_decay"),
                        prog, hook ? &dsgd : NULL);
    if (!rc) fit_export(&t, s);
    mf_dsgd_free(&dsgd);
    fit_free(&t);
    return rc;
}

/* The factor sections of factors.c, plus +5: the SVD++ y matrix (items x
 * dim tensor).  Not required: known users' vectors already include the
 * implicit term, so a reader that skips it still scores them right. */
static int mf_save(const aisle_model *m, io_writer *w) {
    const mf_state *s = m->state;
    int rc = model_factors_save(m, w);
    if (rc || !s->y) return rc;
    core_buf b;
    buf_init(&b);
    rc = io_put_tensor(&b, s->y, model_n_items(m), s->f.dim, io_writer_quant(w));
    if (!rc) rc = io_writer_add_section(w, IO_SECTION_KIND + 5, 0, &b);
    buf_free(&b);
    return rc;
}

static int mf_load(aisle_model *m, io_reader *r) {
    int rc = model_factors_load(m, r);
    if (!rc) {
        /* model_factors_load allocated a bare model_factors: grow it to mf_state */
        mf_state *s = core_realloc(m->state, sizeof *s);
        if (!s) rc = core_oom("mf model");
        else {
            m->state = s;
            s->y = NULL;
        }
    }
    if (rc) {
        model_factors_free_state(m); /* state is still a bare model_factors */
        return rc;
    }
    mf_state *s = m->state;
    /* mf is always trained on ratings: its scores add the global mean and
     * both biases, and SVD++ folds in against them (docs/FORMAT.md) */
    if (!s->f.explicit_r)
        return core_error(AISLE_EFORMAT, "section 256 (model kind): an mf model must be explicit (with biases), "
                                         "found explicit 0");
    if (io_reader_has_section(r, IO_SECTION_KIND + 5)) {
        io_cursor c;
        uint64_t rows, cols;
        rc = io_reader_section(r, IO_SECTION_KIND + 5, &c);
        if (!rc) rc = io_get_tensor(&c, &s->y, &rows, &cols, model_n_items(m), s->f.dim);
        if (!rc) rc = io_cursor_done(&c);
    }
    return rc;
}

/* The vector of a session (or a history re-fit) with SVD++: the implicit
 * sum z_s = |S|^-1/2 sum_{j in S} y_j, plus the ridge fold-in of factors.c
 * on what z_s leaves unexplained (targets r_j - q_j . z_s), so
 * x = z_s + (Q_S^T Q_S + lambda I)^-1 Q_S^T (r - mu - b - Q_S z_s).  If
 * z_item >= 0, wz receives W q_item (explain).  Without y: plain fold-in. */
static int mf_session_vector(const mf_state *s, const model_query *q, float *x, int64_t z_item, float *wz) {
    const model_factors *f = &s->f;
    if (!s->y) return model_factors_fold_in(f, q->items, q->weights, q->n_items, x, z_item, wz);
    uint32_t d = f->dim;
    size_t n = q->n_items;
    float *z = core_calloc((size_t)d * 2 + (n ? n : 1), sizeof *z);
    if (!z) return core_oom("session vector");
    float *wide = z + d, *w = z + 2 * (size_t)d; /* wide: an fp16 item row of a mapped file */
    float norm = n ? 1.0f / sqrtf((float)n) : 0.0f;
    for (size_t j = 0; j < n; j++) model_axpy(z, norm, s->y + (size_t)q->items[j] * d, d);
    for (size_t j = 0; j < n; j++)
        w[j] = (q->weights ? q->weights[j] : f->rmax) - model_dot(model_factors_item_row(f, q->items[j], wide), z, d);
    int rc = model_factors_fold_in(f, q->items, w, n, x, z_item, wz);
    if (!rc) model_axpy(x, 1.0f, z, d);
    core_free(z);
    return rc;
}

static int mf_score_items(const aisle_model *m, const model_query *q, float *scores) {
    const mf_state *s = m->state;
    if (q->user >= 0 || !s->y) return model_factors_score_items(m, q, scores);
    const model_factors *f = &s->f;
    uint32_t d = f->dim, ni = model_n_items(m);
    float *x = core_malloc((size_t)d * sizeof *x);
    if (!x) return core_oom("session vector");
    int rc = mf_session_vector(s, q, x, -1, NULL);
    float wide[MODEL_WIDE_FLOATS];
    uint32_t step = model_factors_block_rows(f, MODEL_SIDE_ITEMS);
    for (uint32_t j0 = 0; !rc && j0 < ni; j0 += CORE_MIN(step, ni - j0)) {
        uint32_t n = CORE_MIN(step, ni - j0);
        const float *rows = model_factors_rows(f, MODEL_SIDE_ITEMS, j0, n, wide);
        for (uint32_t i = 0; i < n; i++)
            scores[j0 + i] = model_dot(x, rows + (size_t)i * d, d) + f->mean + f->item_bias[j0 + i];
    }
    core_free(x);
    return rc;
}

static int mf_score_one(const aisle_model *m, const model_query *q, uint32_t item, float *score) {
    const mf_state *s = m->state;
    if (q->user >= 0 || !s->y) return model_factors_score_one(m, q, item, score);
    const model_factors *f = &s->f;
    float *x = core_malloc((size_t)f->dim * 2 * sizeof *x);
    if (!x) return core_oom("session vector");
    int rc = mf_session_vector(s, q, x, -1, NULL);
    if (!rc) {
        float v = model_dot(x, model_factors_item_row(f, item, x + f->dim), f->dim) + f->mean + f->item_bias[item];
        *score = v < f->rmin ? f->rmin : v > f->rmax ? f->rmax : v;
    }
    core_free(x);
    return rc;
}

/* q_i . x split over the history: item j contributes its ridge term
 * (r_j - mu - b_j - q_j . z) q_i^T W q_j plus its implicit term
 * |N|^-1/2 q_i . y_j (exact decomposition of the folded-in q_i . x). */
static int mf_explain(const aisle_model *m, const model_query *q, uint32_t item, float *contrib) {
    const mf_state *s = m->state;
    if (!s->y) return model_factors_explain(m, q, item, contrib);
    const model_factors *f = &s->f;
    uint32_t d = f->dim;
    size_t n = q->n_items;
    float *x = core_malloc(((size_t)d * 5) * sizeof *x);
    if (!x) return core_oom("explain");
    float *wz = x + d, *z = x + 2 * (size_t)d, *wide_i = x + 3 * (size_t)d, *wide_j = x + 4 * (size_t)d;
    int rc = mf_session_vector(s, q, x, item, wz);
    if (!rc) {
        float norm = n ? 1.0f / sqrtf((float)n) : 0.0f;
        const float *qi = model_factors_item_row(f, item, wide_i);
        memset(z, 0, d * sizeof *z);
        for (size_t j = 0; j < n; j++) model_axpy(z, norm, s->y + (size_t)q->items[j] * d, d);
        for (size_t j = 0; j < n; j++) {
            const float *qj = model_factors_item_row(f, q->items[j], wide_j);
            float t = (q->weights ? q->weights[j] : f->rmax) - model_dot(qj, z, d) - f->mean - f->item_bias[q->items[j]];
            contrib[j] = t * model_dot(wz, qj, d) + norm * model_dot(qi, s->y + (size_t)q->items[j] * d, d);
        }
    }
    core_free(x);
    return rc;
}

static int mf_update_user(aisle_model *m, uint32_t user) {
    mf_state *s = m->state;
    model_query q;
    model_user_query(m, user, &q);
    float *row;
    int rc = model_factors_row_w(&s->f, MODEL_SIDE_USERS, user, &row);
    if (rc) return rc;
    return mf_session_vector(s, &q, row, -1, NULL);
}

/* New users only: a new item would need a bias and (SVD++) an implicit
 * row that nothing here can estimate. */
static int mf_grow(aisle_model *m, uint32_t old_users, uint32_t old_items, const float *item_vector, size_t dim) {
    if (model_n_items(m) > old_items)
        return core_error(AISLE_EUNSUPPORTED, "model kind 'mf' cannot add items while serving (an item needs a "
                                              "trained bias); retrain with the item's ratings");
    return model_factors_grow(m, old_users, old_items, item_vector, dim);
}

const float *model_mf_implicit(const aisle_model *m) { return ((const mf_state *)m->state)->y; }

static int mf_describe(const aisle_model *m, core_buf *out) {
    const mf_state *s = m->state;
    int rc = model_factors_describe(m, out);
    if (!rc) rc = buf_printf(out, "implicit_feedback: %s\n", s->y ? "true" : "false");
    return rc;
}

const model_ops model_mf_ops = {
    .name = "mf",
    .summary = "explicit-rating matrix factorisation with biases, parallel SGD (FPSG)",
    .options = mf_options,
    .flags = MODEL_FOLD_IN | MODEL_FACTORS | MODEL_PREDICTS_RATINGS,
    .train = mf_train,
    .score_items = mf_score_items,
    .score_one = mf_score_one,
    .similar_items = model_factors_similar,
    .explain = mf_explain,
    .update_user = mf_update_user,
    .describe = mf_describe,
    .save = mf_save,
    .load = mf_load,
    .free_state = mf_free,
    .grow = mf_grow,
};

