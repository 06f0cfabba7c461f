/* mf_kernels.c - the inner loops of mf training: one SGD (or SVD++) step
 * per rating, the FPSG worker that runs it over the scheduler's blocks,
 * and the SVD++ implicit sum and y update.  Written with GCC vector types
 * (explicit, so they vectorise without -ffast-math in a fixed operation
 * order) and compiled twice on x86, plain and target("avx2") without FMA,
 * giving the same bits (docs/MODELS.md). */
#include "mf.h"

#include <math.h>
#include <string.h>

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


/* The FPSG worker: takes free blocks until the epoch's quota is handed out.
 * No per-epoch reshuffle: the ratings were shuffled once before bucketing;
 * a fixed random order gave the same ml-100k RMSE while the reshuffle's
 * random swaps over all ratings cost 10% of an epoch (LibMF also shuffles
 * only once). */
MF_INLINE int worker_body(mf_ctx *c) {
    uint32_t dp = c->dp;
    size_t su = c->su;
    int b;
    while ((b = mf_sched_take(&c->sc)) >= 0) {
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
        mf_sched_release(&c->sc, b);
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

mf_kernels mf_kernels_pick(void) {
    mf_kernels k = {mf_worker, implicit_sum, implicit_update};
#if defined(MF_HAVE_STEP8)
    if (__builtin_cpu_supports("avx2")) k = (mf_kernels){mf_worker_avx2, implicit_sum_avx2, implicit_update_avx2};
#endif
    return k;
}
