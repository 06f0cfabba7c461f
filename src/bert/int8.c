/* int8.c - the int8 product Y[n x R] = X[n x K] W^T of a linear layer whose
 * weights are int8 with one scale per row (bert_mat, IO_QUANT_INT8).
 *
 * Activations are quantised per token at run time (dynamic quantisation):
 * each row of X maps its [min, max] onto 0..127 with a zero point,
 * x ~ (q - zero) * scale.  Seven bits, not eight, so that
 * _mm256_maddubs_epi16 (u8 x s8, adjacent pairs summed into int16) can never
 * saturate: 2 * 127 * 128 < 32767.  The products are then exact integers and
 * the AVX2 kernel, the AVX-VNNI one (vpdpbusd, where the CPU has it) and the
 * scalar one give the same int32 sums, hence the same
 * floats after the shared epilogue
 *   y = (sum_k q_k w_k - zero * sum_k w_k) * x_scale * w_scale.
 * int32 cannot overflow either: K <= 65536 (config limit) and
 * 65536 * 127 * 128 < 2^31.
 *
 * Work is split over (token block x row block) tiles so that both operands
 * of a tile stay in L2; the caller's threads take tiles. */
#include "bert.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#  include <cpuid.h>
#  include <immintrin.h>
#  define BERT_HAVE_AVX2 1
#  if defined(__clang__) || __GNUC__ >= 11 /* the avxvnni target */
#    define BERT_HAVE_VNNI 1
#  endif
#endif

enum { TOK_BLOCK = 64, ROW_BLOCK = 64 };

int bert_int8_kernel_best(void) {
#if defined(BERT_HAVE_AVX2)
    if (!__builtin_cpu_supports("avx2")) return BERT_KERNEL_SCALAR;
#  if defined(BERT_HAVE_VNNI)
    /* AVX-VNNI: CPUID leaf 7 subleaf 1, EAX bit 4 (the ymm state is the
     * one AVX2 already needs the OS to save) */
    unsigned eax, ebx, ecx, edx;
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax >> 4 & 1)) return BERT_KERNEL_VNNI;
#  endif
    return BERT_KERNEL_AVX2;
#else
    return BERT_KERNEL_SCALAR;
#endif
}

void bert_quantize_row(const float *x, size_t k, uint8_t *q, float *scale, int32_t *zero) {
    float lo = 0.0f, hi = 0.0f; /* the range always holds 0, so 0 is exact */
    for (size_t j = 0; j < k; j++) {
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
    }
    float s = (hi - lo) / 127.0f;
    if (!(s > 0.0f) || !isfinite(s)) {
        memset(q, 0, k);
        *scale = 0.0f;
        *zero = 0;
        return;
    }
    float inv = 1.0f / s;
    int32_t z = (int32_t)lrintf(-lo * inv);
    z = z < 0 ? 0 : z > 127 ? 127 : z;
    /* x * inv + z lies in about [0, 127]: adding 1.5 * 2^23 rounds it to
     * nearest even in plain float arithmetic (no libm call, so the loop
     * vectorises); the clamp catches the edges. */
    const float magic = 12582912.0f, zf = (float)z;
    for (size_t j = 0; j < k; j++) {
        float v = (x[j] * inv + zf + magic) - magic;
        v = v < 0.0f ? 0.0f : v > 127.0f ? 127.0f : v;
        q[j] = (uint8_t)v;
    }
    *scale = s;
    *zero = z;
}

static int32_t dot_scalar(const uint8_t *a, const int8_t *w, size_t k) {
    int32_t s = 0;
    for (size_t j = 0; j < k; j++) s += (int32_t)a[j] * (int32_t)w[j];
    return s;
}

/* sums[i][r] for 4 tokens x 2 rows (scalar) */
static void tile_scalar(const uint8_t *const a[4], const int8_t *const w[2], size_t k, int32_t sums[4][2]) {
    for (int i = 0; i < 4; i++)
        for (int r = 0; r < 2; r++) sums[i][r] = dot_scalar(a[i], w[r], k);
}

#if defined(BERT_HAVE_AVX2)
__attribute__((target("avx2"))) static inline int32_t hsum_avx2(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) static int32_t dot_avx2(const uint8_t *a, const int8_t *w, size_t k) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    size_t j = 0;
    for (; j + 32 <= k; j += 32) {
        __m256i p = _mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(a + j)),
                                         _mm256_loadu_si256((const __m256i *)(w + j)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
    }
    return hsum_avx2(acc) + dot_scalar(a + j, w + j, k - j);
}

/* 4 tokens x 2 rows: 8 accumulators, 6 loads per 32 columns, all in the
 * 16 ymm registers.  MAD adds the 4-products of u8 a and s8 w into int32
 * lanes: maddubs + vpmaddwd on AVX2, one vpdpbusd on AVX-VNNI (no
 * saturation in either, so the sums are the scalar kernel's). */
#  define BERT_TILE(NAME, TARGET, MAD)                                                                                 \
    __attribute__((target(TARGET))) static void NAME(const uint8_t *const a[4], const int8_t *const w[2], size_t k,    \
                                                     int32_t sums[4][2]) {                                             \
        const __m256i ones = _mm256_set1_epi16(1);                                                                     \
        (void)ones;                                                                                                    \
        __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,       \
                c31 = c00;                                                                                             \
        const uint8_t *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];                                                  \
        const int8_t *w0 = w[0], *w1 = w[1];                                                                           \
        size_t j = 0;                                                                                                  \
        for (; j + 32 <= k; j += 32) {                                                                                 \
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(w0 + j));                                                \
            __m256i x1 = _mm256_loadu_si256((const __m256i *)(w1 + j));                                                \
            __m256i v = _mm256_loadu_si256((const __m256i *)(a0 + j));                                                 \
            MAD(c00, v, x0);                                                                                           \
            MAD(c01, v, x1);                                                                                           \
            v = _mm256_loadu_si256((const __m256i *)(a1 + j));                                                         \
            MAD(c10, v, x0);                                                                                           \
            MAD(c11, v, x1);                                                                                           \
            v = _mm256_loadu_si256((const __m256i *)(a2 + j));                                                         \
            MAD(c20, v, x0);                                                                                           \
            MAD(c21, v, x1);                                                                                           \
            v = _mm256_loadu_si256((const __m256i *)(a3 + j));                                                         \
            MAD(c30, v, x0);                                                                                           \
            MAD(c31, v, x1);                                                                                           \
        }                                                                                                              \
        size_t t = k - j;                                                                                              \
        sums[0][0] = hsum_avx2(c00) + dot_scalar(a0 + j, w0 + j, t);                                                   \
        sums[0][1] = hsum_avx2(c01) + dot_scalar(a0 + j, w1 + j, t);                                                   \
        sums[1][0] = hsum_avx2(c10) + dot_scalar(a1 + j, w0 + j, t);                                                   \
        sums[1][1] = hsum_avx2(c11) + dot_scalar(a1 + j, w1 + j, t);                                                   \
        sums[2][0] = hsum_avx2(c20) + dot_scalar(a2 + j, w0 + j, t);                                                   \
        sums[2][1] = hsum_avx2(c21) + dot_scalar(a2 + j, w1 + j, t);                                                   \
        sums[3][0] = hsum_avx2(c30) + dot_scalar(a3 + j, w0 + j, t);                                                   \
        sums[3][1] = hsum_avx2(c31) + dot_scalar(a3 + j, w1 + j, t);                                                   \
    }
#  define BERT_MAD_AVX2(acc, av, wv) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(av, wv), ones))
#  define BERT_MAD_VNNI(acc, av, wv) acc = _mm256_dpbusd_avx_epi32(acc, av, wv)
BERT_TILE(tile_avx2, "avx2", BERT_MAD_AVX2)
#  if defined(BERT_HAVE_VNNI)
BERT_TILE(tile_vnni, "avx2,avxvnni", BERT_MAD_VNNI)
#  endif
#endif

typedef struct {
    const bert_mat *W;
    const uint8_t *xq;
    const float *xs;
    const int32_t *xz;
    size_t n, tblocks, rblocks;
    float *Y;
    int kernel;
} gemm_ctx;

static inline float epilogue(int32_t sum, int32_t zero, int32_t wsum, float xs, float ws) {
    return (float)(sum - zero * wsum) * (xs * ws);
}

static int gemm_tiles(void *vctx, size_t begin, size_t end, int tid) {
    (void)tid;
    const gemm_ctx *g = vctx;
    const bert_mat *W = g->W;
    size_t K = W->cols, R = W->rows;
    bool avx2 = g->kernel != BERT_KERNEL_SCALAR; /* for the remainders */
    for (size_t u = begin; u < end; u++) {
        size_t t0 = (u / g->rblocks) * TOK_BLOCK, r0 = (u % g->rblocks) * ROW_BLOCK;
        size_t t1 = t0 + TOK_BLOCK < g->n ? t0 + TOK_BLOCK : g->n, r1 = r0 + ROW_BLOCK < R ? r0 + ROW_BLOCK : R;
        size_t t = t0;
        for (; t + 4 <= t1; t += 4) {
            const uint8_t *a[4] = {g->xq + t * K, g->xq + (t + 1) * K, g->xq + (t + 2) * K, g->xq + (t + 3) * K};
            size_t r = r0;
            for (; r + 2 <= r1; r += 2) {
                const int8_t *w[2] = {W->q + r * K, W->q + (r + 1) * K};
                int32_t s[4][2];
#if defined(BERT_HAVE_VNNI)
                if (g->kernel == BERT_KERNEL_VNNI)
                    tile_vnni(a, w, K, s);
                else
#endif
#if defined(BERT_HAVE_AVX2)
                if (avx2)
                    tile_avx2(a, w, K, s);
                else
#endif
                    tile_scalar(a, w, K, s);
                for (int i = 0; i < 4; i++)
                    for (int c = 0; c < 2; c++)
                        g->Y[(t + i) * R + r + c] =
                            epilogue(s[i][c], g->xz[t + i], W->qsum[r + c], g->xs[t + i], W->scale[r + c]);
            }
            for (; r < r1; r++)
                for (int i = 0; i < 4; i++) {
                    int32_t s;
#if defined(BERT_HAVE_AVX2)
                    if (avx2)
                        s = dot_avx2(a[i], W->q + r * K, K);
                    else
#endif
                        s = dot_scalar(a[i], W->q + r * K, K);
                    g->Y[(t + i) * R + r] = epilogue(s, g->xz[t + i], W->qsum[r], g->xs[t + i], W->scale[r]);
                }
        }
        for (; t < t1; t++)
            for (size_t r = r0; r < r1; r++) {
                int32_t s;
#if defined(BERT_HAVE_AVX2)
                if (avx2)
                    s = dot_avx2(g->xq + t * K, W->q + r * K, K);
                else
#endif
                    s = dot_scalar(g->xq + t * K, W->q + r * K, K);
                g->Y[t * R + r] = epilogue(s, g->xz[t], W->qsum[r], g->xs[t], W->scale[r]);
            }
    }
    return AISLE_OK;
}

int bert_gemm_int8(const bert_mat *W, const uint8_t *xq, const float *xs, const int32_t *xz, size_t n, float *Y,
                   int threads, int kernel) {
    gemm_ctx g = {W, xq, xs, xz, n, (n + TOK_BLOCK - 1) / TOK_BLOCK, (W->rows + ROW_BLOCK - 1) / ROW_BLOCK, Y, kernel};
#if !defined(BERT_HAVE_AVX2)
    g.kernel = BERT_KERNEL_SCALAR;
#elif !defined(BERT_HAVE_VNNI)
    if (g.kernel == BERT_KERNEL_VNNI) g.kernel = BERT_KERNEL_AVX2;
#endif
    return core_parallel_for(threads, g.tblocks * g.rblocks, 1, gemm_tiles, &g);
}
