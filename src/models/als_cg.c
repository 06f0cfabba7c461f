/* als_cg.c - the ALS half-iteration, blocked for the memory hierarchy.
 *
 * Each row u solves (G + Y_u^T (C_u - I) Y_u) x_u = Y_u^T C_u p_u with
 * G = Y^T Y + lambda I.  Rows are taken in blocks of consecutive rows
 * (als_plan_blocks) and the block runs its conjugate-gradient steps in
 * lockstep: the dense part G P of every row's product is one register-
 * blocked block x d x d product per step, reading G from L1 (before, each
 * row paid 2 d^2 FLOPs of strided axpys per step, which dominated every
 * row with fewer than ~d/2 events), and the sparse part makes one fused
 * pass per row and step: each gathered factor row y_j is read once for
 * both t = y_j . p and acc += (c_j - 1) t y_j (before: two passes).  The
 * block is sized so its gathered rows stay in L2 across the 1 + cg_steps
 * passes.  The first pass computes the residual r = b - A x directly,
 * as acc += (c_j - (c_j - 1) y_j . x) y_j.
 *
 * The kernels use GCC vector types (explicit, so they vectorise without
 * -ffast-math in a fixed operation order) and are compiled three times on
 * x86, plain, target("avx2") and target("avx2,avx512f"), never with FMA,
 * giving the same bits (the AVX-512 build only widens the G P product,
 * whose per-element order does not depend on the width).  A row's
 * result depends only on its own data: the same for every thread count.
 *
 * With an fp16 copy of the fixed side (als_solver.y16) each gathered row
 * is read as 2d bytes and widened into an L1 buffer before the same fp32
 * arithmetic: widening is exact (F16C or io_f16_to_f32, the same values),
 * so the builds still agree bit for bit.  The item side gathers rows of
 * the user matrix at random from DRAM and is bound by how many rows the
 * miss buffers hold in flight: half the lines a row, twice the rows. */
#include "als.h"

#include <stdatomic.h>
#include <string.h>
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#  include <cpuid.h>
#  include <immintrin.h>
#endif

#if defined(__clang__)
/* clang contracts a * b + c into FMA by default where the target has it
 * (its avx512f implies fma): that would change the bits between builds */
#  pragma STDC FP_CONTRACT OFF
#endif

#if defined(__GNUC__)
/* 8-wide values: macros over an unaligned, may_alias vector type (8-wide
 * function parameters would make GCC warn about the AVX calling ABI) */
typedef float als_v8 __attribute__((vector_size(32)));
typedef float als_v8u __attribute__((vector_size(32), aligned(4), may_alias));
#  define ALS_INLINE static inline __attribute__((always_inline))
typedef float als_v16 __attribute__((vector_size(64)));
typedef float als_v16u __attribute__((vector_size(64), aligned(4), may_alias));
#  define ld8(p) (*(const als_v8u *)(p))
#  define ld16(p) (*(const als_v16u *)(p))
#  define st16(p, v) (*(als_v16u *)(p) = (v))
#  define splat16(a) ((als_v16){(a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a)})
#  define st8(p, v) (*(als_v8u *)(p) = (v))
#  define splat8(a) ((als_v8){(a), (a), (a), (a), (a), (a), (a), (a)})
#  define HSUM8(s) ((((s)[0] + (s)[4]) + ((s)[1] + (s)[5])) + (((s)[2] + (s)[6]) + ((s)[3] + (s)[7])))
#  define ALS_VEC 1
#else
#  define ALS_INLINE static inline
#  define ALS_VEC 0
#endif

int als_plan_blocks(const data_csr *csr, uint32_t d, size_t **starts, size_t *n) {
    size_t budget = ALS_BLOCK_BYTES / ((size_t)d * sizeof(float));
    if (budget == 0) budget = 1;
    /* count first, then fill: the same greedy rule twice */
    size_t *out = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t nb = 0, rows = 0, nnz = 0;
        for (uint32_t u = 0; u < csr->rows; u++) {
            size_t len = csr->indptr[u + 1] - csr->indptr[u];
            if (rows > 0 && (rows == ALS_BLOCK_ROWS || nnz + len > budget)) rows = 0, nnz = 0;
            if (rows == 0) {
                if (out) out[nb] = u;
                nb++;
            }
            rows++, nnz += len;
        }
        if (out) {
            out[nb] = csr->rows;
            *starts = out;
            *n = nb;
            return AISLE_OK;
        }
        out = core_malloc((nb + 1) * sizeof *out);
        if (!out) return core_oom("als row blocks");
    }
    return AISLE_OK;
}

/* The solver's working set, then one widened fp16 row (d floats). */
static size_t solver_bytes(uint32_t d, bool cholesky) {
    size_t cg = (3 * (size_t)ALS_BLOCK_ROWS * d + 2 * (size_t)ALS_BLOCK_ROWS) * sizeof(float);
    size_t ch = cholesky ? ((size_t)d * d + 2 * (size_t)d) * sizeof(double) : 0;
    size_t b = cg > ch ? cg : ch;
    return (b + 63) / 64 * 64;
}

size_t als_scratch_bytes(uint32_t d, bool cholesky) {
    return solver_bytes(d, cholesky) + ((size_t)d * sizeof(float) + 63) / 64 * 64;
}

/* ---- the fp16 copy ---- */

typedef void (*widen_fn)(const uint16_t *restrict h, float *restrict out, uint32_t d);

static void widen_soft(const uint16_t *restrict h, float *restrict out, uint32_t d) {
    for (uint32_t k = 0; k < d; k++) out[k] = io_f16_to_f32(h[k]);
}

typedef struct gather_copy_job {
    const float *y;
    uint16_t *out;
} gather_copy_job;

static int copy_soft(void *vj, size_t begin, size_t end, int tid) {
    (void)tid;
    const gather_copy_job *j = vj;
    for (size_t k = begin; k < end; k++) j->out[k] = io_f32_to_f16(j->y[k]);
    return AISLE_OK;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#  define ALS_DISPATCH 1
/* vcvtps2ph with round-to-nearest-even and vcvtph2ps: the same values as
 * io_f32_to_f16 / io_f16_to_f32 for every finite or infinite input */
__attribute__((target("avx2,f16c"))) static inline void widen_f16c(const uint16_t *restrict h, float *restrict out,
                                                                    uint32_t d) {
    uint32_t k = 0;
    for (; k + 8 <= d; k += 8) _mm256_storeu_ps(out + k, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + k))));
    for (; k < d; k++) out[k] = _cvtsh_ss(h[k]);
}

__attribute__((target("avx2,f16c"))) static int copy_f16c(void *vj, size_t begin, size_t end, int tid) {
    (void)tid;
    const gather_copy_job *j = vj;
    size_t k = begin;
    for (; k + 8 <= end; k += 8)
        _mm_storeu_si128((__m128i *)(j->out + k), _mm256_cvtps_ph(_mm256_loadu_ps(j->y + k), _MM_FROUND_TO_NEAREST_INT));
    for (; k < end; k++) j->out[k] = _cvtss_sh(j->y[k], _MM_FROUND_TO_NEAREST_INT);
    return AISLE_OK;
}

/* AVX2 and F16C (CPUID leaf 1, ECX bit 29: not every compiler's
 * __builtin_cpu_supports knows it).  The answer is cached like
 * __builtin_cpu_supports's own: CPUID exits to the hypervisor in a VM,
 * and the dispatch asks once per block range.  Every thread computes the
 * same value, so the race is benign (and atomic). */
static bool cpu_f16c(void) {
    static _Atomic int known; /* 0 not asked yet, 1 no, 2 yes */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (!k) {
        unsigned eax, ebx, ecx, edx;
        k = __builtin_cpu_supports("avx2") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx >> 29 & 1) ? 2 : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
}
#else
#  define ALS_DISPATCH 0
#endif

int als_gather_copy(const float *y, size_t rows, uint32_t d, uint16_t *out, int threads) {
    gather_copy_job j = {y, out};
    core_range_fn fn = copy_soft;
#if ALS_DISPATCH
    if (cpu_f16c()) fn = copy_f16c;
#endif
    /* chunks of 64K values (256 KiB read): a thread each, little else */
    return core_parallel_for(threads, rows * d, (size_t)1 << 16, fn, &j);
}

/* ---- kernels ---- */

ALS_INLINE float dot_k(const float *restrict a, const float *restrict b, uint32_t d) {
    uint32_t k = 0;
    float t = 0.0f;
#if ALS_VEC
    als_v8 s0 = splat8(0), s1 = splat8(0);
    for (; k + 16 <= d; k += 16) {
        s0 += ld8(a + k) * ld8(b + k);
        s1 += ld8(a + k + 8) * ld8(b + k + 8);
    }
    if (k + 8 <= d) s0 += ld8(a + k) * ld8(b + k), k += 8;
    als_v8 s = s0 + s1;
    t = HSUM8(s);
#endif
    for (; k < d; k++) t += a[k] * b[k];
    return t;
}

ALS_INLINE void axpy_k(float *restrict y, float a, const float *restrict x, uint32_t d) {
    uint32_t k = 0;
#if ALS_VEC
    als_v8 av = splat8(a);
    for (; k + 8 <= d; k += 8) st8(y + k, ld8(y + k) + av * ld8(x + k));
#endif
    for (; k < d; k++) y[k] += a * x[k];
}

/* out (rows x d) = P (rows x d) G (d x d, symmetric): four rows and 16
 * columns at a time in registers, G streamed from L1.  Every element is
 * sum_r p[r] g[r][c] in order r = 0, 1, ... on every path. */
ALS_INLINE void block_times_gram_from(const float *restrict P, size_t rows, const float *restrict G, uint32_t d,
                                      float *restrict out, uint32_t c0) {
    size_t i = 0;
#if ALS_VEC
    for (; i + 4 <= rows; i += 4) {
        const float *p0 = P + i * d, *p1 = p0 + d, *p2 = p1 + d, *p3 = p2 + d;
        uint32_t c = c0;
        for (; c + 16 <= d; c += 16) {
            als_v8 a0 = splat8(0), b0 = splat8(0), a1 = splat8(0), b1 = splat8(0);
            als_v8 a2 = splat8(0), b2 = splat8(0), a3 = splat8(0), b3 = splat8(0);
            for (uint32_t r = 0; r < d; r++) {
                als_v8 g0 = ld8(G + (size_t)r * d + c), g1 = ld8(G + (size_t)r * d + c + 8);
                als_v8 s = splat8(p0[r]);
                a0 += s * g0, b0 += s * g1;
                s = splat8(p1[r]);
                a1 += s * g0, b1 += s * g1;
                s = splat8(p2[r]);
                a2 += s * g0, b2 += s * g1;
                s = splat8(p3[r]);
                a3 += s * g0, b3 += s * g1;
            }
            float *o = out + i * d + c;
            st8(o, a0), st8(o + 8, b0);
            st8(o + d, a1), st8(o + d + 8, b1);
            st8(o + 2 * d, a2), st8(o + 2 * d + 8, b2);
            st8(o + 3 * d, a3), st8(o + 3 * d + 8, b3);
        }
        for (; c < d; c++)
            for (size_t q = 0; q < 4; q++) {
                float t = 0.0f;
                for (uint32_t r = 0; r < d; r++) t += P[(i + q) * d + r] * G[(size_t)r * d + c];
                out[(i + q) * d + c] = t;
            }
    }
#endif
    for (; i < rows; i++)
        for (uint32_t c = c0; c < d; c++) {
            float t = 0.0f;
            for (uint32_t r = 0; r < d; r++) t += P[i * d + r] * G[(size_t)r * d + c];
            out[i * d + c] = t;
        }
}

/* The same with 16-wide vectors for the first columns (32 at a time):
 * each element is still sum_r p[r] g[r][c] in order, so the bits do not
 * change; used by the AVX-512 build, where it halves the instructions. */
ALS_INLINE void block_times_gram(const float *restrict P, size_t rows, const float *restrict G, uint32_t d,
                                 float *restrict out, bool wide) {
    uint32_t c0 = 0;
    size_t rows4 = rows & ~(size_t)3;
#if ALS_VEC
    if (wide) {
        for (; c0 + 32 <= d; c0 += 32)
            for (size_t i = 0; i < rows4; i += 4) {
                const float *p0 = P + i * d, *p1 = p0 + d, *p2 = p1 + d, *p3 = p2 + d;
                als_v16 a0 = splat16(0), b0 = splat16(0), a1 = splat16(0), b1 = splat16(0);
                als_v16 a2 = splat16(0), b2 = splat16(0), a3 = splat16(0), b3 = splat16(0);
                for (uint32_t r = 0; r < d; r++) {
                    als_v16 g0 = ld16(G + (size_t)r * d + c0), g1 = ld16(G + (size_t)r * d + c0 + 16);
                    als_v16 t = splat16(p0[r]);
                    a0 += t * g0, b0 += t * g1;
                    t = splat16(p1[r]);
                    a1 += t * g0, b1 += t * g1;
                    t = splat16(p2[r]);
                    a2 += t * g0, b2 += t * g1;
                    t = splat16(p3[r]);
                    a3 += t * g0, b3 += t * g1;
                }
                float *o = out + i * d + c0;
                st16(o, a0), st16(o + 16, b0);
                st16(o + d, a1), st16(o + d + 16, b1);
                st16(o + 2 * d, a2), st16(o + 2 * d + 16, b2);
                st16(o + 3 * d, a3), st16(o + 3 * d + 16, b3);
            }
    }
#else
    (void)wide;
#endif
    /* the remaining columns of the 4-row groups, then the last rows whole */
    block_times_gram_from(P, rows4, G, d, out, c0);
    block_times_gram_from(P + rows4 * d, rows - rows4, G, d, out + rows4 * d, 0);
}

/* One fused pass over a row's observed items: for each j, t = y_j . v and
 * acc += coef_j y_j with coef_j = c_j - (c_j - 1) t (first = residual) or
 * (c_j - 1) t (a CG product), c_j = 1 + alpha w_j.  The rows of the next
 * items are prefetched (for the item side they come from DRAM). */
/* Gathered row j of the fixed side: y itself, or its fp16 copy widened
 * into buf. */
ALS_INLINE const float *gathered(const als_solver *c, size_t j, float *restrict buf, widen_fn widen) {
    if (!c->y16) return c->y + j * c->d;
    widen(c->y16 + j * c->d, buf, c->d);
    return buf;
}

ALS_INLINE void prefetch_row(const als_solver *c, size_t j) {
    const char *pf = c->y16 ? (const char *)(c->y16 + j * c->d) : (const char *)(c->y + j * c->d);
    size_t bytes = (size_t)c->d * (c->y16 ? sizeof(uint16_t) : sizeof(float));
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(pf + b);
}

ALS_INLINE void row_pass(const als_solver *c, const uint32_t *restrict idx, const float *restrict w, size_t n,
                         const float *restrict v, float *restrict acc, bool residual, float *restrict buf,
                         widen_fn widen) {
    uint32_t d = c->d;
    float alpha = c->alpha;
    for (size_t j = 0; j < n; j++) {
        if (j + 6 < n) prefetch_row(c, idx[j + 6]);
        const float *y = gathered(c, idx[j], buf, widen);
        float t = dot_k(y, v, d);
        float cm1 = alpha * w[j];
        axpy_k(acc, residual ? (1.0f + cm1) - cm1 * t : cm1 * t, y, d);
    }
}

/* sum over row u's observed items of c_j (1 - s)^2 - s^2, s = x_u . y_j:
 * the part of the loss the x^T G x term does not cover */
ALS_INLINE double observed_loss(const als_solver *c, size_t u, float *restrict buf, widen_fn widen) {
    uint32_t d = c->d;
    const float *x = c->x + u * d;
    double l = 0;
    for (size_t k = c->rows->indptr[u]; k < c->rows->indptr[u + 1]; k++) {
        double s = dot_k(x, gathered(c, c->rows->indices[k], buf, widen), d);
        double cj = 1.0 + (double)c->alpha * c->rows->values[k];
        l += cj * (1 - s) * (1 - s) - s * s;
    }
    return l;
}

ALS_INLINE int solve_cholesky(const als_solver *c, const uint32_t *idx, const float *w, size_t n, float *x, double *a,
                              float *restrict buf, widen_fn widen) {
    uint32_t d = c->d;
    double *b = a + (size_t)d * d;
    for (size_t k = 0; k < (size_t)d * d; k++) a[k] = c->gram[k];
    for (uint32_t k = 0; k < d; k++) b[k] = 0;
    for (size_t j = 0; j < n; j++) {
        const float *y = gathered(c, idx[j], buf, widen);
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

/* CG in lockstep over rows [r0, r1) (at most ALS_BLOCK_ROWS). */
ALS_INLINE void cg_block(const als_solver *c, size_t r0, size_t r1, float *scratch, bool wide, float *restrict buf,
                         widen_fn widen) {
    uint32_t d = c->d;
    size_t nr = r1 - r0;
    const size_t *ptr = c->rows->indptr;
    const uint32_t *ind = c->rows->indices;
    const float *val = c->rows->values;
    float *R = scratch, *P = R + (size_t)ALS_BLOCK_ROWS * d, *AP = P + (size_t)ALS_BLOCK_ROWS * d;
    float *rs = AP + (size_t)ALS_BLOCK_ROWS * d, *live = rs + ALS_BLOCK_ROWS;
    float *X = c->x + r0 * d;
    /* r = b - A x, from -G x and one residual pass */
    block_times_gram(X, nr, c->gram, d, AP, wide);
    for (size_t i = 0; i < nr; i++) {
        float *r = R + i * d;
        for (uint32_t k = 0; k < d; k++) r[k] = -AP[i * d + k];
        size_t b = ptr[r0 + i], e = ptr[r0 + i + 1];
        row_pass(c, ind + b, val + b, e - b, X + i * d, r, true, buf, widen);
        memcpy(P + i * d, r, d * sizeof *r);
        rs[i] = dot_k(r, r, d);
        live[i] = rs[i] > 1e-20f;
    }
    for (int it = 0; it < c->cg_steps; it++) {
        bool any = false;
        for (size_t i = 0; i < nr; i++) any |= live[i] != 0;
        if (!any) break;
        block_times_gram(P, nr, c->gram, d, AP, wide);
        for (size_t i = 0; i < nr; i++) {
            if (!live[i]) continue;
            float *p = P + i * d, *ap = AP + i * d, *r = R + i * d, *x = X + i * d;
            size_t b = ptr[r0 + i], e = ptr[r0 + i + 1];
            row_pass(c, ind + b, val + b, e - b, p, ap, false, buf, widen);
            float pap = dot_k(p, ap, d);
            if (!(pap > 0)) {
                live[i] = 0;
                continue;
            }
            float a = rs[i] / pap;
            axpy_k(x, a, p, d);
            axpy_k(r, -a, ap, d);
            float rs2 = dot_k(r, r, d);
            float beta = rs2 / rs[i];
            for (uint32_t k = 0; k < d; k++) p[k] = r[k] + beta * p[k];
            rs[i] = rs2;
            live[i] = rs2 > 1e-20f;
        }
    }
}

/* Thread tid's scratch and, after the solver's part, its widened row. */
ALS_INLINE void *thread_scratch(const als_solver *c, int tid, float **buf) {
    char *s = (char *)c->scratch + (size_t)tid * c->scratch_stride;
    *buf = (float *)(s + solver_bytes(c->d, c->cholesky));
    return s;
}

ALS_INLINE int solve_blocks(const als_solver *c, size_t begin, size_t end, int tid, bool wide, widen_fn widen) {
    float *buf;
    void *scratch = thread_scratch(c, tid, &buf);
    for (size_t bk = begin; bk < end; bk++) {
        size_t r0 = c->block_start[bk], r1 = c->block_start[bk + 1];
        if (!c->cholesky) {
            cg_block(c, r0, r1, scratch, wide, buf, widen);
        } else {
            for (size_t u = r0; u < r1; u++) {
                size_t b = c->rows->indptr[u], e = c->rows->indptr[u + 1];
                int rc = solve_cholesky(c, c->rows->indices + b, c->rows->values + b, e - b, c->x + u * c->d, scratch,
                                        buf, widen);
                if (rc) return rc;
            }
        }
        /* the block's gathered rows are still in L2: one more pass for the loss */
        if (c->observed_loss)
            for (size_t u = r0; u < r1; u++) c->row_loss[u] = observed_loss(c, u, buf, widen);
    }
    return AISLE_OK;
}

ALS_INLINE int loss_blocks(const als_solver *c, size_t begin, size_t end, int tid, bool wide, widen_fn widen) {
    uint32_t d = c->d;
    float *buf;
    float *gx = thread_scratch(c, tid, &buf);
    for (size_t bk = begin; bk < end; bk++) {
        size_t r0 = c->block_start[bk], r1 = c->block_start[bk + 1];
        block_times_gram(c->x + r0 * d, r1 - r0, c->gram, d, gx, wide);
        for (size_t u = r0; u < r1; u++)
            c->row_loss[u] = dot_k(c->x + u * d, gx + (u - r0) * d, d) + observed_loss(c, u, buf, widen);
    }
    return AISLE_OK;
}

static int solve_plain(void *vc, size_t begin, size_t end, int tid) {
    return solve_blocks(vc, begin, end, tid, false, widen_soft);
}
static int loss_plain(void *vc, size_t begin, size_t end, int tid) {
    return loss_blocks(vc, begin, end, tid, false, widen_soft);
}

#if ALS_DISPATCH
/* the vector builds also widen fp16 in hardware (every AVX2 CPU has F16C;
 * the dispatch checks it) */
__attribute__((target("avx2,f16c"))) static int solve_avx2(void *vc, size_t begin, size_t end, int tid) {
    return solve_blocks(vc, begin, end, tid, false, widen_f16c);
}
__attribute__((target("avx2,f16c"))) static int loss_avx2(void *vc, size_t begin, size_t end, int tid) {
    return loss_blocks(vc, begin, end, tid, false, widen_f16c);
}
__attribute__((target("avx2,f16c,avx512f"))) static int solve_avx512(void *vc, size_t begin, size_t end, int tid) {
    return solve_blocks(vc, begin, end, tid, true, widen_f16c);
}
__attribute__((target("avx2,f16c,avx512f"))) static int loss_avx512(void *vc, size_t begin, size_t end, int tid) {
    return loss_blocks(vc, begin, end, tid, true, widen_f16c);
}
static bool cpu_avx512(void) { return cpu_f16c() && __builtin_cpu_supports("avx512f"); }
#endif

int als_solve_blocks_isa(void *solver, size_t begin, size_t end, int tid, int isa) {
    switch (isa) {
    case 0:
        return solve_plain(solver, begin, end, tid);
#if ALS_DISPATCH
    case 1:
        if (!cpu_f16c()) break;
        return solve_avx2(solver, begin, end, tid);
    case 2:
        if (!cpu_avx512()) break;
        return solve_avx512(solver, begin, end, tid);
#endif
    default:
        break;
    }
    return core_error(AISLE_EUNSUPPORTED, "als kernels: instruction set %d not available", isa);
}

int als_solve_blocks(void *solver, size_t begin, size_t end, int tid) {
#if ALS_DISPATCH
    if (cpu_avx512()) return solve_avx512(solver, begin, end, tid);
    if (cpu_f16c()) return solve_avx2(solver, begin, end, tid);
#endif
    return solve_plain(solver, begin, end, tid);
}

int als_loss_blocks(void *solver, size_t begin, size_t end, int tid) {
#if ALS_DISPATCH
    if (cpu_avx512()) return loss_avx512(solver, begin, end, tid);
    if (cpu_f16c()) return loss_avx2(solver, begin, end, tid);
#endif
    return loss_plain(solver, begin, end, tid);
}
