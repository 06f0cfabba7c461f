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
 * takes a mutex.  Learning rate: lr_t = learning_rate / (1 + learning_rate_decay * t).
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
 * residual ratings, and explain splits q_i . x over the session items. */
#include "models.h"

#include <math.h>
#include <pthread.h>
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
    {"threads", AISLE_OPTION_INT, 0, 256, "0", NULL, "all", "Worker threads; 0 uses every online CPU."},
    {"seed", AISLE_OPTION_INT, 0, 9007199254740992.0, "42", NULL, "all", "Random seed."},
    OPTION_END};

typedef struct mf_state {
    model_factors f; /* first member: see MODEL_FACTORS */
    float *y;        /* n_items x dim implicit factors (SVD++), or NULL */
} mf_state;

typedef struct rating {
    uint32_t u, i;
    float r;
} rating;

float model_mf_sgd_step(float *restrict p, float *restrict q, float *bu, float *bi, uint32_t dim, float mean,
                        float r, float lr, float reg) {
    float pred = model_dot(p, q, dim) + mean + *bu + *bi;
    float e = r - pred;
    *bu += lr * (e - reg * *bu);
    *bi += lr * (e - reg * *bi);
    float a = lr * e, b = 1.0f - lr * reg;
    for (uint32_t k = 0; k < dim; k++) {
        float pk = p[k];
        p[k] = b * pk + a * q[k];
        q[k] = b * q[k] + a * pk;
    }
    return e;
}

float model_mf_svdpp_step(float *restrict p, float *restrict q, const float *z, float *acc, float *bu, float *bi,
                          uint32_t dim, float mean, float r, float lr, float reg, float reg_bias) {
    float pred = model_dot(p, q, dim) + mean + *bu + *bi;
    if (z) pred += model_dot(z, q, dim);
    float e = r - pred;
    *bu += lr * (e - reg_bias * *bu);
    *bi += lr * (e - reg_bias * *bi);
    float a = lr * e, b = 1.0f - lr * reg;
    for (uint32_t k = 0; k < dim; k++) {
        float pk = p[k], qk = q[k];
        if (acc) acc[k] += e * qk;
        p[k] = b * pk + a * qk;
        q[k] = b * qk + a * (z ? pk + z[k] : pk);
    }
    return e;
}

typedef struct sched {
    pthread_mutex_t lock;
    int s;
    bool *row_busy, *col_busy;
    uint32_t *updates; /* per block */
    int taken;         /* blocks handed out this epoch */
} sched;

typedef struct mf_ctx {
    model_factors *f;
    rating *r;       /* train ratings bucketed by block */
    size_t *bstart;  /* s*s + 1 */
    sched sc;
    double *bsse;    /* per block squared error this epoch */
    float lr, reg, reg_bias, reg_y;
    bool plain;      /* no SVD++ and reg_bias == reg: the original step */
    uint64_t seed;
    int epoch;
    /* SVD++ (NULL otherwise) */
    const data_csr *h; /* N(u) */
    float *y, *z, *acc, *norm; /* items x d, users x d, users x d, users */
    size_t *iptr;      /* items + 1: raters of each item */
    uint32_t *iusers;
} mf_ctx;

/* Takes a free block, least updated first (lowest index on ties, which
 * keeps one thread's order fixed); -1 when the epoch's quota is handed out. */
static int sched_take(sched *sc) {
    pthread_mutex_lock(&sc->lock);
    int best = -1;
    if (sc->taken < sc->s * sc->s) {
        for (int b = 0; b < sc->s * sc->s; b++) {
            int br = b / sc->s, bc = b % sc->s;
            if (sc->row_busy[br] || sc->col_busy[bc]) continue;
            if (best < 0 || sc->updates[b] < sc->updates[best]) best = b;
        }
        if (best >= 0) {
            sc->row_busy[best / sc->s] = sc->col_busy[best % sc->s] = true;
            sc->taken++;
        }
    }
    pthread_mutex_unlock(&sc->lock);
    return best;
}

static void sched_release(sched *sc, int b) {
    pthread_mutex_lock(&sc->lock);
    sc->row_busy[b / sc->s] = sc->col_busy[b % sc->s] = false;
    sc->updates[b]++;
    pthread_mutex_unlock(&sc->lock);
}

static int mf_worker(void *vc, size_t begin, size_t end, int tid) {
    (void)begin, (void)end, (void)tid;
    mf_ctx *c = vc;
    model_factors *f = c->f;
    uint32_t d = f->dim;
    int b;
    while ((b = sched_take(&c->sc)) >= 0) {
        rating *r = c->r + c->bstart[b];
        size_t n = c->bstart[b + 1] - c->bstart[b];
        /* a fresh order per (epoch, block): deterministic whatever thread runs it */
        core_rng rng;
        rng_seed_stream(&rng, c->seed, (uint64_t)c->epoch * 1000003u + (uint64_t)b);
        for (size_t k = n; k > 1; k--) {
            size_t j = (size_t)rng_below(&rng, k);
            rating t = r[k - 1];
            r[k - 1] = r[j];
            r[j] = t;
        }
        double sse = 0;
        for (size_t k = 0; k < n; k++) {
            float e;
            float *p = f->user + (size_t)r[k].u * d, *q = f->item + (size_t)r[k].i * d;
            if (c->plain)
                e = model_mf_sgd_step(p, q, &f->user_bias[r[k].u], &f->item_bias[r[k].i], d, f->mean, r[k].r, c->lr,
                                      c->reg);
            else
                e = model_mf_svdpp_step(p, q, c->z ? c->z + (size_t)r[k].u * d : NULL,
                                        c->acc ? c->acc + (size_t)r[k].u * d : NULL, &f->user_bias[r[k].u],
                                        &f->item_bias[r[k].i], d, f->mean, r[k].r, c->lr, c->reg, c->reg_bias);
            sse += (double)e * e;
        }
        c->bsse[b] += sse;
        sched_release(&c->sc, b);
    }
    return AISLE_OK;
}

/* z_u = |N(u)|^-1/2 sum_{j in N(u)} y_j, and acc_u = 0 (user-parallel). */
static int implicit_sum(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    mf_ctx *c = vc;
    uint32_t d = c->f->dim;
    for (size_t u = begin; u < end; u++) {
        float *z = c->z + u * d;
        memset(z, 0, d * sizeof *z);
        memset(c->acc + u * d, 0, d * sizeof *z);
        for (size_t k = c->h->indptr[u]; k < c->h->indptr[u + 1]; k++)
            model_axpy(z, 1.0f, c->y + (size_t)c->h->indices[k] * d, d);
        for (uint32_t k = 0; k < d; k++) z[k] *= c->norm[u];
    }
    return AISLE_OK;
}

/* y_j <- y_j (1 - lr reg_y)^|raters| + lr sum_{u rated j} |N(u)|^-1/2 acc_u:
 * the per-user SVD++ updates of y_j applied together (item-parallel; the
 * shrink is the product of the per-user shrinks, so it stays stable). */
static int implicit_update(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    mf_ctx *c = vc;
    uint32_t d = c->f->dim;
    for (size_t j = begin; j < end; j++) {
        float *y = c->y + j * d;
        float shrink = powf(1.0f - c->lr * c->reg_y, (float)(c->iptr[j + 1] - c->iptr[j]));
        for (uint32_t k = 0; k < d; k++) y[k] *= shrink;
        for (size_t k = c->iptr[j]; k < c->iptr[j + 1]; k++) {
            uint32_t u = c->iusers[k];
            model_axpy(y, c->lr * c->norm[u], c->acc + (size_t)u * d, d);
        }
    }
    return AISLE_OK;
}

static double rmse(const model_factors *f, const float *z, const rating *r, size_t n) {
    double sse = 0;
    for (size_t k = 0; k < n; k++) {
        float p = f->mean + f->user_bias[r[k].u] + f->item_bias[r[k].i];
        const float *pu = f->user + (size_t)r[k].u * f->dim, *qi = f->item + (size_t)r[k].i * f->dim;
        for (uint32_t j = 0; j < f->dim; j++) p += pu[j] * qi[j];
        if (z)
            for (uint32_t j = 0; j < f->dim; j++) p += z[(size_t)r[k].u * f->dim + j] * qi[j];
        p = p < f->rmin ? f->rmin : p > f->rmax ? f->rmax : p;
        sse += (double)(r[k].r - p) * (r[k].r - p);
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

/* Copies parameters (for keeping the best epoch). */
static void snapshot(model_factors *dst, const model_factors *src, uint32_t nu, uint32_t ni) {
    memcpy(dst->user, src->user, (size_t)nu * src->dim * sizeof(float));
    memcpy(dst->item, src->item, (size_t)ni * src->dim * sizeof(float));
    memcpy(dst->user_bias, src->user_bias, nu * sizeof(float));
    memcpy(dst->item_bias, src->item_bias, ni * sizeof(float));
}

static int mf_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                    core_progress *prog) {
    (void)ds, (void)cat;
    uint32_t d = (uint32_t)config_int(cfg, mf_options, "factors");
    int epochs = (int)config_int(cfg, mf_options, "epochs");
    float lr0 = (float)config_float(cfg, mf_options, "learning_rate");
    double decay = config_float(cfg, mf_options, "learning_rate_decay");
    double vfrac = config_float(cfg, mf_options, "validation_fraction");
    int patience = (int)config_int(cfg, mf_options, "patience");
    int threads = core_thread_count(config_int(cfg, mf_options, "threads"));
    uint64_t seed = (uint64_t)config_int(cfg, mf_options, "seed");
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    const data_csr *h = &m->history;
    size_t n = h->nnz;
    mf_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("mf model");
    m->state = s;
    int rc = model_factors_alloc(&s->f, nu, ni, d, true);
    if (rc) return rc;
    model_factors *f = &s->f;
    f->reg = (float)config_float(cfg, mf_options, "regularization");

    bool imp = config_bool(cfg, mf_options, "implicit_feedback");
    double rb = config_float(cfg, mf_options, "regularization_bias");
    double ry = config_float(cfg, mf_options, "regularization_implicit");
    mf_ctx c = {.f = f, .reg = f->reg, .seed = seed, .h = h};
    c.reg_bias = rb < 0 ? f->reg : (float)rb;
    c.reg_y = ry < 0 ? f->reg : (float)ry;
    c.plain = !imp && c.reg_bias == c.reg;
    float *best_y = NULL;
    int sb = threads == 1 ? 1 : 2 * threads;
    c.sc.s = sb;
    rating *all = core_malloc((n ? n : 1) * sizeof *all);
    rating *val = NULL;
    uint32_t *perm = core_malloc((size_t)CORE_MAX(nu, ni) * sizeof *perm + 4);
    c.r = core_malloc((n ? n : 1) * sizeof *c.r);
    c.bstart = core_calloc((size_t)sb * sb + 1, sizeof *c.bstart);
    c.bsse = core_calloc((size_t)sb * sb, sizeof *c.bsse);
    c.sc.row_busy = core_calloc((size_t)sb, sizeof(bool));
    c.sc.col_busy = core_calloc((size_t)sb, sizeof(bool));
    c.sc.updates = core_calloc((size_t)sb * sb, sizeof(uint32_t));
    uint32_t *rblock = core_malloc((size_t)(nu ? nu : 1) * sizeof *rblock);
    uint32_t *cblock = core_malloc((size_t)(ni ? ni : 1) * sizeof *cblock);
    model_factors best = {0};
    if (imp) {
        s->y = core_calloc((size_t)(ni ? ni : 1) * d, sizeof *s->y);
        c.z = core_calloc((size_t)(nu ? nu : 1) * d, sizeof *c.z);
        c.acc = core_calloc((size_t)(nu ? nu : 1) * d, sizeof *c.acc);
        c.norm = core_calloc(nu ? nu : 1, sizeof *c.norm);
        c.iptr = core_calloc((size_t)ni + 1, sizeof *c.iptr);
        c.iusers = core_malloc((n ? n : 1) * sizeof *c.iusers);
        if (!s->y || !c.z || !c.acc || !c.norm || !c.iptr || !c.iusers) {
            rc = core_oom("mf implicit factors");
            goto out;
        }
        c.y = s->y;
    }
    if (!all || !perm || !c.r || !c.bstart || !c.bsse || !c.sc.row_busy || !c.sc.col_busy || !c.sc.updates ||
        !rblock || !cblock) {
        rc = core_oom("mf training");
        goto out;
    }
    pthread_mutex_init(&c.sc.lock, NULL);
    core_rng rng;
    rng_seed(&rng, seed);
    f->rmin = INFINITY, f->rmax = -INFINITY;
    for (uint32_t u = 0; u < nu; u++)
        for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) {
            all[k] = (rating){u, h->indices[k], h->values[k]};
            f->rmin = CORE_MIN(f->rmin, h->values[k]);
            f->rmax = CORE_MAX(f->rmax, h->values[k]);
        }
    /* hold out a random validation fraction */
    size_t nval = (size_t)(vfrac * (double)n);
    for (size_t k = n; k > 1; k--) {
        size_t j = (size_t)rng_below(&rng, k);
        rating t = all[k - 1];
        all[k - 1] = all[j];
        all[j] = t;
    }
    val = all;
    size_t ntr = n - nval;
    rating *tr = all + nval;
    double mean = 0;
    for (size_t k = 0; k < ntr; k++) mean += tr[k].r;
    f->mean = ntr ? (float)(mean / (double)ntr) : 0.0f;
    float std = (float)config_float(cfg, mf_options, "init_std");
    for (size_t k = 0; k < (size_t)nu * d; k++) f->user[k] = std * rng_normal(&rng);
    for (size_t k = 0; k < (size_t)ni * d; k++) f->item[k] = std * rng_normal(&rng);
    if (imp) {
        /* y starts at 0 (z = 0: the first epoch is plain biased MF); the
         * transpose of the history lists each item's raters, users ascending */
        for (uint32_t u = 0; u < nu; u++) {
            size_t cnt = h->indptr[u + 1] - h->indptr[u];
            c.norm[u] = cnt ? 1.0f / sqrtf((float)cnt) : 0.0f;
            for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) c.iptr[h->indices[k] + 1]++;
        }
        for (uint32_t i = 0; i < ni; i++) c.iptr[i + 1] += c.iptr[i];
        /* fill with iptr[i] as the cursor of item i, then shift back */
        for (uint32_t u = 0; u < nu; u++)
            for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) c.iusers[c.iptr[h->indices[k]]++] = u;
        for (uint32_t i = ni; i > 0; i--) c.iptr[i] = c.iptr[i - 1];
        c.iptr[0] = 0;
    }
    /* random row/column permutation into blocks (balances the grid) */
    for (uint32_t u = 0; u < nu; u++) perm[u] = u;
    rng_shuffle_u32(&rng, perm, nu);
    for (uint32_t u = 0; u < nu; u++) rblock[perm[u]] = (uint32_t)((uint64_t)u * sb / nu);
    for (uint32_t i = 0; i < ni; i++) perm[i] = i;
    rng_shuffle_u32(&rng, perm, ni);
    for (uint32_t i = 0; i < ni; i++) cblock[perm[i]] = (uint32_t)((uint64_t)i * sb / ni);
    for (size_t k = 0; k < ntr; k++) c.bstart[rblock[tr[k].u] * sb + cblock[tr[k].i] + 1]++;
    for (int b = 0; b < sb * sb; b++) c.bstart[b + 1] += c.bstart[b];
    {
        size_t *fill = core_malloc((size_t)sb * sb * sizeof *fill);
        if (!fill) {
            rc = core_oom("mf training");
            goto out_lock;
        }
        memcpy(fill, c.bstart, (size_t)sb * sb * sizeof *fill);
        for (size_t k = 0; k < ntr; k++) c.r[fill[rblock[tr[k].u] * sb + cblock[tr[k].i]]++] = tr[k];
        core_free(fill);
    }
    if (nval) {
        rc = model_factors_alloc(&best, nu, ni, d, true);
        if (!rc && imp && !(best_y = core_malloc((size_t)(ni ? ni : 1) * d * sizeof *best_y)))
            rc = core_oom("mf training");
        if (rc) goto out_lock;
    }
    double best_rmse = INFINITY;
    int since_best = 0;
    for (int ep = 1; ep <= epochs; ep++) {
        c.epoch = ep;
        c.lr = (float)(lr0 / (1.0 + decay * (ep - 1)));
        c.sc.taken = 0;
        memset(c.bsse, 0, (size_t)sb * sb * sizeof *c.bsse);
        if (imp) rc = core_parallel_for(threads, nu, 64, implicit_sum, &c);
        if (!rc) rc = core_parallel_for(threads, (size_t)threads, 1, mf_worker, &c);
        if (!rc && imp) rc = core_parallel_for(threads, ni, 64, implicit_update, &c);
        if (!rc && imp && nval) rc = core_parallel_for(threads, nu, 64, implicit_sum, &c); /* z for validation */
        if (rc) break;
        double sse = 0;
        for (int b = 0; b < sb * sb; b++) sse += c.bsse[b];
        double train_rmse = ntr ? sqrt(sse / (double)ntr) : NAN;
        double vr = nval ? rmse(f, c.z, val, nval) : NAN;
        rc = core_progress_report(prog, ep, epochs, train_rmse, vr);
        if (rc) break;
        if (nval) {
            if (vr < best_rmse) {
                best_rmse = vr;
                since_best = 0;
                snapshot(&best, f, nu, ni);
                if (imp) memcpy(best_y, s->y, (size_t)ni * d * sizeof *best_y);
            } else if (++since_best >= patience) {
                break;
            }
        }
    }
    if (!rc && nval) {
        snapshot(f, &best, nu, ni);
        if (imp) memcpy(s->y, best_y, (size_t)ni * d * sizeof *best_y);
    }
    if (!rc && imp) {
        /* store p_u + z_u: known users are then scored as plain biased MF */
        rc = core_parallel_for(threads, nu, 64, implicit_sum, &c);
        for (size_t k = 0; !rc && k < (size_t)nu * d; k++) f->user[k] += c.z[k];
    }
out_lock:
    pthread_mutex_destroy(&c.sc.lock);
out:
    model_factors_free(&best);
    core_free(best_y);
    core_free(c.z);
    core_free(c.acc);
    core_free(c.norm);
    core_free(c.iptr);
    core_free(c.iusers);
    core_free(all);
    core_free(perm);
    core_free(c.r);
    core_free(c.bstart);
    core_free(c.bsse);
    core_free(c.sc.row_busy);
    core_free(c.sc.col_busy);
    core_free(c.sc.updates);
    core_free(rblock);
    core_free(cblock);
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
    float *z = core_calloc((size_t)d + (n ? n : 1), sizeof *z);
    if (!z) return core_oom("session vector");
    float *w = z + d;
    float norm = n ? 1.0f / sqrtf((float)n) : 0.0f;
    for (size_t j = 0; j < n; j++) model_axpy(z, norm, s->y + (size_t)q->items[j] * d, d);
    for (size_t j = 0; j < n; j++)
        w[j] = (q->weights ? q->weights[j] : f->rmax) - model_dot(f->item + (size_t)q->items[j] * d, z, d);
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
    for (uint32_t j = 0; !rc && j < ni; j++) scores[j] = model_dot(x, f->item + (size_t)j * d, d) + f->mean + f->item_bias[j];
    core_free(x);
    return rc;
}

static int mf_score_one(const aisle_model *m, const model_query *q, uint32_t item, float *score) {
    const mf_state *s = m->state;
    if (q->user >= 0 || !s->y) return model_factors_score_one(m, q, item, score);
    const model_factors *f = &s->f;
    float *x = core_malloc((size_t)f->dim * sizeof *x);
    if (!x) return core_oom("session vector");
    int rc = mf_session_vector(s, q, x, -1, NULL);
    if (!rc) {
        float v = model_dot(x, f->item + (size_t)item * f->dim, f->dim) + f->mean + f->item_bias[item];
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
    float *x = core_malloc(((size_t)d * 3) * sizeof *x);
    if (!x) return core_oom("explain");
    float *wz = x + d, *z = x + 2 * (size_t)d;
    int rc = mf_session_vector(s, q, x, item, wz);
    if (!rc) {
        float norm = n ? 1.0f / sqrtf((float)n) : 0.0f;
        const float *qi = f->item + (size_t)item * d;
        memset(z, 0, d * sizeof *z);
        for (size_t j = 0; j < n; j++) model_axpy(z, norm, s->y + (size_t)q->items[j] * d, d);
        for (size_t j = 0; j < n; j++) {
            const float *qj = f->item + (size_t)q->items[j] * d;
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
    return mf_session_vector(s, &q, s->f.user + (size_t)user * s->f.dim, -1, NULL);
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
};
