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
    uint32_t u, i; /* internal (block-ordered) indices */
    float r;
} rating;

#if defined(__GNUC__)
typedef float mf_v4 __attribute__((vector_size(16)));
static inline mf_v4 v4_load(const float *p) {
    mf_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void v4_store(float *p, mf_v4 v) { memcpy(p, &v, sizeof v); }
#  define MF_INLINE static inline __attribute__((always_inline))
#else
#  define MF_INLINE static inline
#endif

/* The SGD step of both model_mf_*_step and the training loop: 4-wide
 * vectors (SSE2 without -march; explicit so that it vectorises without
 * -ffast-math and keeps a fixed operation order), a scalar tail for
 * dim % 8.  hz (z given) and ha (acc given) are constants where it is
 * inlined, so each call site compiles to a branch-free loop.  The prediction uses
 * (p + z) . q in one pass. */
MF_INLINE float step(float *restrict p, float *restrict q, const float *restrict z, float *restrict acc,
                     float *restrict bu, float *restrict bi, uint32_t dim, float mean, float r, float lr, float reg,
                     float reg_bias, bool hz, bool ha) {
    uint32_t k = 0;
    float dot = 0.0f;
#if defined(__GNUC__)
    mf_v4 s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0};
    for (; k + 8 <= dim; k += 8) {
        mf_v4 x0 = v4_load(p + k), x1 = v4_load(p + k + 4);
        if (hz) x0 += v4_load(z + k), x1 += v4_load(z + k + 4);
        s0 += x0 * v4_load(q + k);
        s1 += x1 * v4_load(q + k + 4);
    }
    mf_v4 t = s0 + s1;
    dot = (t[0] + t[2]) + (t[1] + t[3]);
#endif
    for (uint32_t j = k; j < dim; j++) dot += (hz ? p[j] + z[j] : p[j]) * q[j];
    float e = r - (dot + mean + *bu + *bi);
    *bu += lr * (e - reg_bias * *bu);
    *bi += lr * (e - reg_bias * *bi);
    float a = lr * e, b = 1.0f - lr * reg;
    k = 0;
#if defined(__GNUC__)
    mf_v4 av = {a, a, a, a}, bv = {b, b, b, b}, ev = {e, e, e, e};
    for (; k + 4 <= dim; k += 4) {
        mf_v4 pk = v4_load(p + k), qk = v4_load(q + k);
        if (ha) v4_store(acc + k, v4_load(acc + k) + ev * qk);
        v4_store(p + k, bv * pk + av * qk);
        v4_store(q + k, bv * qk + av * (hz ? pk + v4_load(z + k) : pk));
    }
#endif
    for (; k < dim; k++) {
        float pk = p[k], qk = q[k];
        if (ha) acc[k] += e * qk;
        p[k] = b * pk + a * qk;
        q[k] = b * qk + a * (hz ? pk + z[k] : pk);
    }
    return e;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
/* The same step 8 lanes wide, for dim % 8 == 0 (the padded training rows).
 * Lane for lane the same operations as step(), and the dot product keeps
 * step()'s two 4-wide accumulators as the two halves of one 8-wide one,
 * so both give bit-identical results; compiled twice (plain SSE2 and
 * target("avx2"), no FMA) and picked at run time by the CPU. */
typedef float mf_v8 __attribute__((vector_size(32)));
#  define MF_LD8(v, ptr) memcpy(&(v), (ptr), sizeof(mf_v8))
#  define MF_ST8(ptr, v) memcpy((ptr), &(v), sizeof(mf_v8))
#  define MF_HAVE_STEP8 1
MF_INLINE float step8(float *restrict p, float *restrict q, const float *restrict z, float *restrict acc,
                      float *restrict bu, float *restrict bi, uint32_t dim, float mean, float r, float lr, float reg,
                      float reg_bias, bool hz, bool ha) {
    mf_v8 s = {0, 0, 0, 0, 0, 0, 0, 0}, x, y, w;
    for (uint32_t k = 0; k < dim; k += 8) {
        MF_LD8(x, p + k);
        if (hz) MF_LD8(w, z + k), x += w;
        MF_LD8(y, q + k);
        s += x * y;
    }
    float dot = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
    float e = r - (dot + mean + *bu + *bi);
    *bu += lr * (e - reg_bias * *bu);
    *bi += lr * (e - reg_bias * *bi);
    float a = lr * e, b = 1.0f - lr * reg;
    mf_v8 av = {a, a, a, a, a, a, a, a}, bv = {b, b, b, b, b, b, b, b}, ev = {e, e, e, e, e, e, e, e};
    for (uint32_t k = 0; k < dim; k += 8) {
        MF_LD8(x, p + k);
        MF_LD8(y, q + k);
        if (ha) MF_LD8(w, acc + k), w += ev * y, MF_ST8(acc + k, w);
        w = bv * x + av * y;
        MF_ST8(p + k, w);
        if (hz) MF_LD8(w, z + k), x += w;
        y = bv * y + av * x;
        MF_ST8(q + k, y);
    }
    return e;
}
#endif

float model_mf_sgd_step(float *restrict p, float *restrict q, float *bu, float *bi, uint32_t dim, float mean,
                        float r, float lr, float reg) {
    return step(p, q, NULL, NULL, bu, bi, dim, mean, r, lr, reg, reg, false, false);
}

float model_mf_svdpp_step(float *restrict p, float *restrict q, const float *restrict z, float *restrict acc,
                          float *bu, float *bi, uint32_t dim, float mean, float r, float lr, float reg,
                          float reg_bias) {
    return step(p, q, z, acc, bu, bi, dim, mean, r, lr, reg, reg_bias, z != NULL, acc != NULL);
}

typedef struct sched {
    pthread_mutex_t lock;
    int s;
    bool *row_busy, *col_busy;
    uint32_t *updates; /* per block */
    int taken;         /* blocks handed out this epoch */
} sched;

/* Training works on its own copy of the parameters, users and items
 * renumbered so that each FPSG row (column) block is a contiguous range:
 * two threads then share a cache line only at a block boundary (with the
 * original numbering, neighbouring biases and unaligned factor rows of
 * different blocks shared lines, and two threads ran 3.5x slower per
 * rating than one).  Rows are padded to dp = a multiple of 8 floats with
 * zeros that stay zero (their gradients are 0), so the kernel has no tail;
 * a user's row holds p, z and acc side by side (one stream per rating). */
typedef struct mf_ctx {
    uint32_t d, dp;    /* factors, padded */
    size_t su;         /* floats per user row: dp, or 3 dp with SVD++ (p | z | acc) */
    float *U, *Q, *Y;  /* users x su, items x dp, items x dp (SVD++) or NULL */
    float *ub, *ib;    /* biases */
    float mean;
    rating *r;         /* train ratings bucketed by block */
    size_t *bstart;    /* s*s + 1 */
    sched sc;
    double *bsse;      /* per block squared error this epoch */
    float lr, reg, reg_bias, reg_y;
    /* SVD++: N(u) and the raters of each item, internal indices */
    size_t *uptr, *iptr;
    uint32_t *uitems, *iusers;
    float *norm;       /* |N(u)|^-1/2 */
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

/* The FPSG worker: takes free blocks until the epoch's quota is handed out.
 * No per-epoch reshuffle: the ratings were shuffled once before bucketing;
 * a fixed random order gave the same ml-100k RMSE while the reshuffle's
 * random swaps over all ratings cost 10% of an epoch (LibMF also shuffles
 * only once). */
MF_INLINE int worker_body(mf_ctx *c) {
    uint32_t dp = c->dp;
    size_t su = c->su;
    int b;
    while ((b = sched_take(&c->sc)) >= 0) {
        const rating *r = c->r + c->bstart[b];
        size_t n = c->bstart[b + 1] - c->bstart[b];
        double sse = 0;
#if defined(MF_HAVE_STEP8)
#  define MF_STEP step8
#else
#  define MF_STEP step
#endif
        if (c->Y)
            for (size_t k = 0; k < n; k++) {
                float *p = c->U + r[k].u * su;
                float e = MF_STEP(p, c->Q + (size_t)r[k].i * dp, p + dp, p + 2 * (size_t)dp, &c->ub[r[k].u],
                                  &c->ib[r[k].i], dp, c->mean, r[k].r, c->lr, c->reg, c->reg_bias, true, true);
                sse += (double)e * e;
            }
        else
            for (size_t k = 0; k < n; k++) {
                float e = MF_STEP(c->U + r[k].u * su, c->Q + (size_t)r[k].i * dp, NULL, NULL, &c->ub[r[k].u],
                                  &c->ib[r[k].i], dp, c->mean, r[k].r, c->lr, c->reg, c->reg_bias, false, false);
                sse += (double)e * e;
            }
#undef MF_STEP
        c->bsse[b] += sse;
        sched_release(&c->sc, b);
    }
    return AISLE_OK;
}

static int mf_worker(void *vc, size_t begin, size_t end, int tid) {
    (void)begin, (void)end, (void)tid;
    return worker_body(vc);
}

#if defined(MF_HAVE_STEP8)
/* The same code compiled for AVX2: 8-wide vectors in one register, no FMA,
 * so the results are the same bits as mf_worker's. */
__attribute__((target("avx2"))) static int mf_worker_avx2(void *vc, size_t begin, size_t end, int tid) {
    (void)begin, (void)end, (void)tid;
    return worker_body(vc);
}
#endif

/* y += a x for the padded rows (n % 8 == 0): elementwise, so 8 lanes give
 * the same bits as model_axpy. */
MF_INLINE void axpy8(float *restrict y, float a, const float *restrict x, uint32_t n) {
#if defined(MF_HAVE_STEP8)
    mf_v8 av = {a, a, a, a, a, a, a, a}, xv, yv;
    for (uint32_t k = 0; k < n; k += 8) {
        MF_LD8(xv, x + k);
        MF_LD8(yv, y + k);
        yv += av * xv;
        MF_ST8(y + k, yv);
    }
#else
    model_axpy(y, a, x, n);
#endif
}

/* z_u = |N(u)|^-1/2 sum_{j in N(u)} y_j, and acc_u = 0 (user-parallel). */
MF_INLINE int implicit_sum_body(mf_ctx *c, size_t begin, size_t end) {
    uint32_t dp = c->dp;
    for (size_t u = begin; u < end; u++) {
        float *z = c->U + u * c->su + dp;
        memset(z, 0, 2 * (size_t)dp * sizeof *z); /* z and acc */
        for (size_t k = c->uptr[u]; k < c->uptr[u + 1]; k++) axpy8(z, 1.0f, c->Y + (size_t)c->uitems[k] * dp, dp);
        for (uint32_t k = 0; k < dp; k++) z[k] *= c->norm[u];
    }
    return AISLE_OK;
}

/* y_j <- y_j (1 - lr reg_y)^|raters| + lr sum_{u rated j} |N(u)|^-1/2 acc_u:
 * the per-user SVD++ updates of y_j applied together (item-parallel; the
 * shrink is the product of the per-user shrinks, so it stays stable). */
MF_INLINE int implicit_update_body(mf_ctx *c, size_t begin, size_t end) {
    uint32_t dp = c->dp;
    for (size_t j = begin; j < end; j++) {
        float *y = c->Y + j * dp;
        float shrink = powf(1.0f - c->lr * c->reg_y, (float)(c->iptr[j + 1] - c->iptr[j]));
        for (uint32_t k = 0; k < dp; k++) y[k] *= shrink;
        for (size_t k = c->iptr[j]; k < c->iptr[j + 1]; k++) {
            uint32_t u = c->iusers[k];
            axpy8(y, c->lr * c->norm[u], c->U + u * c->su + 2 * (size_t)dp, dp);
        }
    }
    return AISLE_OK;
}

static int implicit_sum(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    return implicit_sum_body(vc, begin, end);
}

static int implicit_update(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    return implicit_update_body(vc, begin, end);
}

#if defined(MF_HAVE_STEP8)
__attribute__((target("avx2"))) static int implicit_sum_avx2(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    return implicit_sum_body(vc, begin, end);
}

__attribute__((target("avx2"))) static int implicit_update_avx2(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    return implicit_update_body(vc, begin, end);
}
#endif

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

/* 64-byte aligned float arena of `n` floats inside `raw` (n + 16 floats). */
static float *arena_align(float *raw) { return (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63); }

static size_t pad16(size_t n) { return (n + 15) & ~(size_t)15; }

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
    mf_ctx c = {.d = d, .dp = (d + 7) & ~7u, .reg = f->reg};
    c.su = imp ? 3 * (size_t)c.dp : c.dp;
    c.reg_bias = rb < 0 ? f->reg : (float)rb;
    c.reg_y = ry < 0 ? f->reg : (float)ry;
    int sb = threads == 1 ? 1 : 2 * threads;
    c.sc.s = sb;
    /* arena: U | Q | Y | ub | ib, each part 64-byte aligned */
    size_t oq = pad16((size_t)nu * c.su), oy = oq + pad16((size_t)ni * c.dp);
    size_t oub = oy + (imp ? pad16((size_t)ni * c.dp) : 0), oib = oub + pad16(nu), alen = oib + pad16(ni) + 16;
    float *araw = core_calloc(alen, sizeof(float)), *best = NULL;
    rating *all = core_malloc((n ? n : 1) * sizeof *all);
    uint32_t *uperm = core_malloc(((size_t)nu + ni + 1) * sizeof *uperm);
    uint32_t *upos = core_malloc(((size_t)nu + ni + 1) * sizeof *upos);
    c.r = core_malloc((n ? n : 1) * sizeof *c.r);
    c.bstart = core_calloc((size_t)sb * sb + 1, sizeof *c.bstart);
    c.bsse = core_calloc((size_t)sb * sb, sizeof *c.bsse);
    c.sc.row_busy = core_calloc((size_t)sb, sizeof(bool));
    c.sc.col_busy = core_calloc((size_t)sb, sizeof(bool));
    c.sc.updates = core_calloc((size_t)sb * sb, sizeof(uint32_t));
    if (imp) {
        c.norm = core_calloc(nu ? nu : 1, sizeof *c.norm);
        c.uptr = core_calloc((size_t)nu + 1, sizeof *c.uptr);
        c.iptr = core_calloc((size_t)ni + 1, sizeof *c.iptr);
        c.uitems = core_malloc((n ? n : 1) * sizeof *c.uitems);
        c.iusers = core_malloc((n ? n : 1) * sizeof *c.iusers);
        s->y = core_calloc((size_t)(ni ? ni : 1) * d, sizeof *s->y);
        if (!c.norm || !c.uptr || !c.iptr || !c.uitems || !c.iusers || !s->y) {
            rc = core_oom("mf implicit factors");
            goto out;
        }
    }
    if (!araw || !all || !uperm || !upos || !c.r || !c.bstart || !c.bsse || !c.sc.row_busy || !c.sc.col_busy ||
        !c.sc.updates) {
        rc = core_oom("mf training");
        goto out;
    }
    float *arena = arena_align(araw);
    c.U = arena, c.Q = arena + oq, c.Y = imp ? arena + oy : NULL, c.ub = arena + oub, c.ib = arena + oib;
    uint32_t *iperm = uperm + nu, *ipos = upos + nu;
    pthread_mutex_init(&c.sc.lock, NULL);
    core_rng rng;
    rng_seed(&rng, seed);
    /* random row/column permutation: internal index = position, block =
     * position * sb / count (balances the grid, blocks contiguous) */
    for (uint32_t u = 0; u < nu; u++) uperm[u] = u;
    rng_shuffle_u32(&rng, uperm, nu);
    for (uint32_t k = 0; k < nu; k++) upos[uperm[k]] = k;
    for (uint32_t i = 0; i < ni; i++) iperm[i] = i;
    rng_shuffle_u32(&rng, iperm, ni);
    for (uint32_t k = 0; k < ni; k++) ipos[iperm[k]] = k;
    f->rmin = INFINITY, f->rmax = -INFINITY;
    for (uint32_t u = 0; u < nu; u++)
        for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) {
            all[k] = (rating){upos[u], ipos[h->indices[k]], h->values[k]};
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
    rating *val = all;
    size_t ntr = n - nval;
    rating *tr = all + nval;
    double mean = 0;
    for (size_t k = 0; k < ntr; k++) mean += tr[k].r;
    f->mean = c.mean = ntr ? (float)(mean / (double)ntr) : 0.0f;
    float std = (float)config_float(cfg, mf_options, "init_std");
    for (uint32_t u = 0; u < nu; u++)
        for (uint32_t k = 0; k < d; k++) c.U[upos[u] * c.su + k] = std * rng_normal(&rng);
    for (uint32_t i = 0; i < ni; i++)
        for (uint32_t k = 0; k < d; k++) c.Q[(size_t)ipos[i] * c.dp + k] = std * rng_normal(&rng);
    if (imp) {
        /* y starts at 0 (z = 0: the first epoch is plain biased MF).  N(u)
         * is u's whole history (validation ratings are training data), in
         * history order; the raters of each item in ascending internal order. */
        for (uint32_t k = 0; k < nu; k++) {
            uint32_t u = uperm[k];
            size_t cnt = h->indptr[u + 1] - h->indptr[u];
            c.norm[k] = cnt ? 1.0f / sqrtf((float)cnt) : 0.0f;
            c.uptr[k + 1] = c.uptr[k] + cnt;
            for (size_t j = 0; j < cnt; j++) {
                uint32_t i = ipos[h->indices[h->indptr[u] + j]];
                c.uitems[c.uptr[k] + j] = i;
                c.iptr[i + 1]++;
            }
        }
        for (uint32_t i = 0; i < ni; i++) c.iptr[i + 1] += c.iptr[i];
        /* fill with iptr[i] as the cursor of item i, then shift back */
        for (uint32_t k = 0; k < nu; k++)
            for (size_t j = c.uptr[k]; j < c.uptr[k + 1]; j++) c.iusers[c.iptr[c.uitems[j]]++] = k;
        for (uint32_t i = ni; i > 0; i--) c.iptr[i] = c.iptr[i - 1];
        c.iptr[0] = 0;
    }
#define MF_RBLOCK(k) ((uint64_t)(k) * (uint64_t)sb / nu)
#define MF_CBLOCK(k) ((uint64_t)(k) * (uint64_t)sb / ni)
    for (size_t k = 0; k < ntr; k++) c.bstart[MF_RBLOCK(tr[k].u) * sb + MF_CBLOCK(tr[k].i) + 1]++;
    for (int b = 0; b < sb * sb; b++) c.bstart[b + 1] += c.bstart[b];
    {
        size_t *fill = core_malloc((size_t)sb * sb * sizeof *fill);
        if (!fill) {
            rc = core_oom("mf training");
            goto out_lock;
        }
        memcpy(fill, c.bstart, (size_t)sb * sb * sizeof *fill);
        for (size_t k = 0; k < ntr; k++) c.r[fill[MF_RBLOCK(tr[k].u) * sb + MF_CBLOCK(tr[k].i)]++] = tr[k];
        core_free(fill);
    }
#undef MF_RBLOCK
#undef MF_CBLOCK
    if (nval && !(best = core_malloc(alen * sizeof *best))) {
        rc = core_oom("mf training");
        goto out_lock;
    }
    core_range_fn worker = mf_worker, isum = implicit_sum, iupd = implicit_update;
#if defined(MF_HAVE_STEP8)
    if (__builtin_cpu_supports("avx2")) worker = mf_worker_avx2, isum = implicit_sum_avx2, iupd = implicit_update_avx2;
#endif
    double best_rmse = INFINITY;
    int since_best = 0;
    for (int ep = 1; ep <= epochs; ep++) {
        c.lr = (float)(lr0 / (1.0 + decay * (ep - 1)));
        c.sc.taken = 0;
        memset(c.bsse, 0, (size_t)sb * sb * sizeof *c.bsse);
        if (imp) rc = core_parallel_for(threads, nu, 64, isum, &c);
        if (!rc) rc = core_parallel_for(threads, (size_t)threads, 1, worker, &c);
        if (!rc && imp) rc = core_parallel_for(threads, ni, 64, iupd, &c);
        if (!rc && imp && nval) rc = core_parallel_for(threads, nu, 64, isum, &c); /* z for validation */
        if (rc) break;
        double sse = 0;
        for (int b = 0; b < sb * sb; b++) sse += c.bsse[b];
        double train_rmse = ntr ? sqrt(sse / (double)ntr) : NAN;
        double vr = nval ? rmse(&c, f, val, nval) : NAN;
        rc = core_progress_report(prog, ep, epochs, train_rmse, vr);
        if (rc) break;
        if (nval) {
            if (vr < best_rmse) {
                best_rmse = vr;
                since_best = 0;
                memcpy(best, araw, alen * sizeof *best);
            } else if (++since_best >= patience) {
                break;
            }
        }
    }
    if (!rc && nval) memcpy(araw, best, alen * sizeof *best); /* same offset from its own base */
    if (!rc && imp) rc = core_parallel_for(threads, nu, 64, isum, &c);
    if (!rc) {
        /* back to the original numbering; with SVD++ the stored user vector
         * is p_u + z_u, so known users are scored as plain biased MF */
        for (uint32_t u = 0; u < nu; u++) {
            const float *p = c.U + upos[u] * c.su;
            for (uint32_t k = 0; k < d; k++) f->user[(size_t)u * d + k] = imp ? p[k] + p[c.dp + k] : p[k];
            f->user_bias[u] = c.ub[upos[u]];
        }
        for (uint32_t i = 0; i < ni; i++) {
            memcpy(f->item + (size_t)i * d, c.Q + (size_t)ipos[i] * c.dp, d * sizeof(float));
            if (imp) memcpy(s->y + (size_t)i * d, c.Y + (size_t)ipos[i] * c.dp, d * sizeof(float));
            f->item_bias[i] = c.ib[ipos[i]];
        }
    }
out_lock:
    pthread_mutex_destroy(&c.sc.lock);
out:
    core_free(araw);
    core_free(best);
    core_free(c.norm);
    core_free(c.uptr);
    core_free(c.iptr);
    core_free(c.uitems);
    core_free(c.iusers);
    core_free(all);
    core_free(uperm);
    core_free(upos);
    core_free(c.r);
    core_free(c.bstart);
    core_free(c.bsse);
    core_free(c.sc.row_busy);
    core_free(c.sc.col_busy);
    core_free(c.sc.updates);
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
