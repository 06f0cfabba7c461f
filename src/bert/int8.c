/* int8.c - the int8 product Y[n x R] = X[n x K] W^T of a linear layer whose
 * weights are int8 with one scale per row (bert_mat, IO_QUANT_INT8).
 *
 * Activations are quantised per token at run time (dynamic quantisation):
 * each row of X maps its [min, max] onto 0..127 with a zero point,
 * x ~ (q - zero) * scale.  Seven bits, not eight, so that
 * _mm256_maddubs_epi16 (u8 x s8, adjacent pairs summed into int16) can never
 * saturate: 2 * 127 * 128 < 32767.  The products are then exact integers and
 * every kernel (AVX-512 VNNI, AVX-VNNI, AVX2, scalar) gives the same int32
 * sums, hence the same floats after the shared epilogue
 *   y = (sum_k q_k w_k - zero * sum_k w_k) * (x_scale * w_scale).
 * int32 cannot overflow either: K <= 65536 (config limit) and
 * 65536 * 127 * 128 < 2^31.
 *
 * Weights are packed when the matrix is encoded (bert_mat_encode): panels
 * of 16 rows, and inside a panel K in groups of 4 bytes, each group the 16
 * rows' 4 bytes side by side (64 bytes: one zmm, the operand vpdpbusd
 * multiplies by a broadcast 4-byte group of one token).  A kernel call
 * keeps up to 6 tokens x 4 panels (64 rows) of int32 accumulators in
 * registers, so each weight load serves 6 tokens and each broadcast 4
 * panels.  Work is split over (token block x row block) tiles sized so that
 * both operands of a tile stay in L2; the caller's threads take tiles. */
#include "bert.h"

#include <math.h>
#include <string.h>

/* The run-time-picked versions must give the same floats: no fusing of
 * a * b + c into FMA where one target has it (GCC's ISO C mode already
 * keeps them apart) */
#if defined(__clang__)
#  pragma STDC FP_CONTRACT OFF
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#  include <cpuid.h>
#  include <immintrin.h>
#  define BERT_HAVE_AVX2 1
#  if defined(__clang__) || __GNUC__ >= 11 /* the avxvnni target */
#    define BERT_HAVE_VNNI 1
#  endif
#  define BERT_HAVE_AVX512 1
#endif

enum {
    GROUP_TOKENS = 6,                        /* tokens of one kernel call */
    BLOCK_PANELS = 4,                        /* panels of one kernel call */
    BLOCK_ROWS = BLOCK_PANELS * BERT_PANEL,  /* rows of a tile */
    TOK_BLOCK = 16 * GROUP_TOKENS            /* tokens of a tile */
};

size_t bert_int8_stride(size_t k) { return (k + 3) & ~(size_t)3; }

size_t bert_int8_packed_bytes(size_t rows, size_t cols) {
    size_t panels = (rows + BERT_PANEL - 1) / BERT_PANEL;
    return panels * BERT_PANEL * bert_int8_stride(cols);
}

int8_t *bert_int8_at(int8_t *packed, size_t cols, size_t r, size_t k) {
    size_t panel = BERT_PANEL * bert_int8_stride(cols);
    return packed + (r / BERT_PANEL) * panel + (k / 4) * (4 * BERT_PANEL) + (r % BERT_PANEL) * 4 + k % 4;
}

int bert_int8_kernel_best(void) {
#if defined(BERT_HAVE_AVX2)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) return BERT_KERNEL_SCALAR;
    /* the avx512 checks include the OS's saving of the zmm state */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni"))
        return BERT_KERNEL_AVX512;
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

/* The range [lo, hi] of x (always holding 0) and the codes: portable
 * loops, and an AVX-512 version of the same operations in the same order
 * (min/max are exact in any order; each code is its own
 * multiply-add-round), so the two give the same bytes. */
static void range_scalar(const float *x, size_t k, float *lo, float *hi) {
    for (size_t j = 0; j < k; j++) {
        *lo = x[j] < *lo ? x[j] : *lo;
        *hi = x[j] > *hi ? x[j] : *hi;
    }
}

/* x * inv + z lies in about [0, 127]: adding 1.5 * 2^23 rounds it to
 * nearest even in plain float arithmetic; the clamp catches the edges
 * (and maps NaN to 0). */
#define BERT_ROUND_MAGIC 12582912.0f
static void codes_scalar(const float *x, size_t k, float inv, float zf, uint8_t *q) {
    for (size_t j = 0; j < k; j++) {
        float v = (x[j] * inv + zf + BERT_ROUND_MAGIC) - BERT_ROUND_MAGIC;
        v = v > 0.0f ? v : 0.0f;
        v = v < 127.0f ? v : 127.0f;
        q[j] = (uint8_t)v;
    }
}

#if defined(BERT_HAVE_AVX512)
__attribute__((target("avx512f"))) static size_t range_avx512(const float *x, size_t k, float *lo, float *hi) {
    __m512 l = _mm512_set1_ps(*lo), h = _mm512_set1_ps(*hi);
    size_t j = 0;
    for (; j + 16 <= k; j += 16) {
        __m512 v = _mm512_loadu_ps(x + j);
        l = _mm512_min_ps(v, l); /* v < l ? v : l, as the scalar loop */
        h = _mm512_max_ps(v, h);
    }
    float ls[16], hs[16];
    _mm512_storeu_ps(ls, l);
    _mm512_storeu_ps(hs, h);
    range_scalar(ls, 16, lo, hi);
    for (int i = 0; i < 16; i++) *hi = hs[i] > *hi ? hs[i] : *hi;
    return j;
}

__attribute__((target("avx512f"))) static size_t codes_avx512(const float *x, size_t k, float inv, float zf,
                                                               uint8_t *q) {
    const __m512 vi = _mm512_set1_ps(inv), vz = _mm512_set1_ps(zf), magic = _mm512_set1_ps(BERT_ROUND_MAGIC);
    const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(127.0f);
    size_t j = 0;
    for (; j + 16 <= k; j += 16) {
        __m512 v = _mm512_sub_ps(_mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(x + j), vi), vz), magic),
                                 magic);
        v = _mm512_min_ps(_mm512_max_ps(v, zero), top); /* v > 0 ? v : 0, then v < 127 ? v : 127 */
        _mm_storeu_si128((__m128i *)(void *)(q + j), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(v)));
    }
    return j;
}
#endif

void bert_quantize_row(const float *x, size_t k, uint8_t *q, float *scale, int32_t *zero) {
    float lo = 0.0f, hi = 0.0f; /* the range always holds 0, so 0 is exact */
    size_t j = 0;
#if defined(BERT_HAVE_AVX512)
    bool avx512 = __builtin_cpu_supports("avx512f");
    if (avx512) j = range_avx512(x, k, &lo, &hi);
#endif
    range_scalar(x + j, k - j, &lo, &hi);
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
    j = 0;
#if defined(BERT_HAVE_AVX512)
    if (avx512) j = codes_avx512(x, k, inv, (float)z, q);
#endif
    codes_scalar(x + j, k - j, inv, (float)z, q + j);
    *scale = s;
    *zero = z;
}

/* A kernel: sums[i * BLOCK_ROWS + p * 16 + r] = token i's dot product with
 * row r of panel p, for nt <= GROUP_TOKENS tokens (rows of x, lda bytes
 * apart) and np <= BLOCK_PANELS panels (pbytes apart from w), over `groups`
 * 4-byte groups of K. */
typedef void (*tile_fn)(const uint8_t *x, size_t lda, const int8_t *w, size_t pbytes, size_t groups, int nt, int np,
                        int32_t *sums);

static void tile_scalar(const uint8_t *x, size_t lda, const int8_t *w, size_t pbytes, size_t groups, int nt, int np,
                        int32_t *sums) {
    for (int i = 0; i < nt; i++)
        for (int p = 0; p < np; p++) {
            int32_t acc[BERT_PANEL] = {0};
            const uint8_t *a = x + (size_t)i * lda;
            const int8_t *wp = w + (size_t)p * pbytes;
            for (size_t g = 0; g < groups; g++, a += 4, wp += 4 * BERT_PANEL)
                for (int r = 0; r < BERT_PANEL; r++)
                    for (int b = 0; b < 4; b++) acc[r] += (int32_t)a[b] * (int32_t)wp[4 * r + b];
            memcpy(sums + i * BLOCK_ROWS + p * BERT_PANEL, acc, sizeof acc);
        }
}

#if defined(BERT_HAVE_AVX2)
static inline int32_t load4(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The register-blocked body: NT tokens x NP panels of accumulators, each
 * weight vector loaded once per group and used NT times, each broadcast
 * group used NP (x LANES) times.  VEC, ZERO, LOAD, BCAST, MAD and STORE
 * are the vector width's; NT and NP are constants of each instance, so the
 * pragmas unroll every loop but the one over K and the accumulators stay
 * in registers. */
#  define BERT_UNROLL _Pragma("GCC unroll 8")
#  define BERT_TILE_BODY(VEC, LANES, ZERO, LOAD, BCAST, MAD, STORE, NT, NP)                                          \
    do {                                                                                                             \
        VEC acc[NT][NP][LANES];                                                                                      \
        BERT_UNROLL for (int i = 0; i < NT; i++) {                                                                   \
            BERT_UNROLL for (int p = 0; p < NP; p++) {                                                               \
                BERT_UNROLL for (int l = 0; l < LANES; l++) acc[i][p][l] = ZERO;                                     \
            }                                                                                                        \
        }                                                                                                            \
        for (size_t g = 0; g < groups; g++) {                                                                        \
            VEC wv[NP][LANES];                                                                                       \
            BERT_UNROLL for (int p = 0; p < NP; p++) {                                                               \
                BERT_UNROLL for (int l = 0; l < LANES; l++) wv[p][l] =                                               \
                    LOAD(w + (size_t)p * pbytes + g * (4 * BERT_PANEL) + l * (4 * BERT_PANEL / LANES));              \
            }                                                                                                        \
            BERT_UNROLL for (int i = 0; i < NT; i++) {                                                               \
                VEC b = BCAST(load4(x + (size_t)i * lda + 4 * g));                                                   \
                BERT_UNROLL for (int p = 0; p < NP; p++) {                                                           \
                    BERT_UNROLL for (int l = 0; l < LANES; l++) acc[i][p][l] = MAD(acc[i][p][l], b, wv[p][l]);       \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
        BERT_UNROLL for (int i = 0; i < NT; i++) {                                                                   \
            BERT_UNROLL for (int p = 0; p < NP; p++) {                                                               \
                BERT_UNROLL for (int l = 0; l < LANES; l++)                                                          \
                    STORE(sums + i * BLOCK_ROWS + p * BERT_PANEL + l * (BERT_PANEL / LANES), acc[i][p][l]);          \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

/* ---- AVX2 and AVX-VNNI: a panel is two ymm; one panel a call (12
 * accumulators of the 16 registers), the wrapper walks the panels ---- */
#  define Y_ZERO _mm256_setzero_si256()
#  define Y_LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#  define Y_BCAST(v) _mm256_set1_epi32(v)
#  define Y_STORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), v)
#  define Y_MAD_AVX2(acc, a, w) _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, w), _mm256_set1_epi16(1)))
#  define Y_MAD_VNNI(acc, a, w) _mm256_dpbusd_avx_epi32(acc, a, w)

#  define BERT_YMM_FN(NAME, TARGET, MAD, NT)                                                                       \
    __attribute__((target(TARGET))) static void NAME##_##NT(const uint8_t *x, size_t lda, const int8_t *w,           \
                                                            size_t pbytes, size_t groups, int32_t *sums) {           \
        BERT_TILE_BODY(__m256i, 2, Y_ZERO, Y_LOAD, Y_BCAST, MAD, Y_STORE, NT, 1);                                    \
    }
#  define BERT_YMM_KERNEL(NAME, TARGET, MAD)                                                                       \
    BERT_YMM_FN(NAME, TARGET, MAD, 1)                                                                                \
    BERT_YMM_FN(NAME, TARGET, MAD, 2)                                                                                \
    BERT_YMM_FN(NAME, TARGET, MAD, 3)                                                                                \
    BERT_YMM_FN(NAME, TARGET, MAD, 4)                                                                                \
    BERT_YMM_FN(NAME, TARGET, MAD, 5)                                                                                \
    BERT_YMM_FN(NAME, TARGET, MAD, 6)                                                                                \
    static void NAME(const uint8_t *x, size_t lda, const int8_t *w, size_t pbytes, size_t groups, int nt, int np,    \
                     int32_t *sums) {                                                                                \
        static void (*const by_nt[GROUP_TOKENS])(const uint8_t *, size_t, const int8_t *, size_t, size_t,           \
                                                 int32_t *) = {NAME##_1, NAME##_2, NAME##_3,                         \
                                                               NAME##_4, NAME##_5, NAME##_6};                        \
        for (int p = 0; p < np; p++)                                                                                 \
            by_nt[nt - 1](x, lda, w + (size_t)p * pbytes, pbytes, groups, sums + p * BERT_PANEL);                    \
    }

BERT_YMM_KERNEL(tile_avx2, "avx2", Y_MAD_AVX2)
#  if defined(BERT_HAVE_VNNI)
BERT_YMM_KERNEL(tile_vnni, "avx2,avxvnni", Y_MAD_VNNI)
#  endif

/* ---- AVX-512 VNNI: a panel is one zmm; 6 tokens x 4 panels = 24
 * accumulators of the 32 registers ---- */
#  define Z_TARGET "avx512f,avx512bw,avx512vnni"
#  define Z_ZERO _mm512_setzero_si512()
#  define Z_LOAD(p) _mm512_loadu_si512((const void *)(p))
#  define Z_BCAST(v) _mm512_set1_epi32(v)
#  define Z_MAD(acc, a, w) _mm512_dpbusd_epi32(acc, a, w)
#  define Z_STORE(p, v) _mm512_storeu_si512((void *)(p), v)
#  define BERT_ZMM_FN(NT, NP)                                                                                      \
    __attribute__((target(Z_TARGET))) static void tile_zmm_##NT##_##NP(const uint8_t *x, size_t lda,                \
                                                                       const int8_t *w, size_t pbytes,               \
                                                                       size_t groups, int32_t *sums) {               \
        BERT_TILE_BODY(__m512i, 1, Z_ZERO, Z_LOAD, Z_BCAST, Z_MAD, Z_STORE, NT, NP);                                 \
    }
#  define BERT_ZMM_NT(NT) BERT_ZMM_FN(NT, 1) BERT_ZMM_FN(NT, 2) BERT_ZMM_FN(NT, 3) BERT_ZMM_FN(NT, 4)
BERT_ZMM_NT(1)
BERT_ZMM_NT(2)
BERT_ZMM_NT(3)
BERT_ZMM_NT(4)
BERT_ZMM_NT(5)
BERT_ZMM_NT(6)
#  define BERT_ZMM_ROW(NT) {tile_zmm_##NT##_1, tile_zmm_##NT##_2, tile_zmm_##NT##_3, tile_zmm_##NT##_4}

static void tile_avx512(const uint8_t *x, size_t lda, const int8_t *w, size_t pbytes, size_t groups, int nt, int np,
                        int32_t *sums) {
    static void (*const fns[GROUP_TOKENS][BLOCK_PANELS])(const uint8_t *, size_t, const int8_t *, size_t, size_t,
                                                          int32_t *) = {BERT_ZMM_ROW(1), BERT_ZMM_ROW(2),
                                                                        BERT_ZMM_ROW(3), BERT_ZMM_ROW(4),
                                                                        BERT_ZMM_ROW(5), BERT_ZMM_ROW(6)};
    fns[nt - 1][np - 1](x, lda, w, pbytes, groups, sums);
}
#endif

static tile_fn kernel_fn(int kernel) {
#if defined(BERT_HAVE_AVX2)
    if (kernel == BERT_KERNEL_AVX512) return tile_avx512;
#  if defined(BERT_HAVE_VNNI)
    if (kernel == BERT_KERNEL_VNNI) return tile_vnni;
#  endif
    if (kernel >= BERT_KERNEL_AVX2) return tile_avx2; /* VNNI without the compiler's avxvnni target */
#endif
    (void)kernel;
    return tile_scalar;
}

typedef struct {
    const bert_mat *W;
    const uint8_t *xq;
    const float *xs;
    const int32_t *xz;
    size_t n, lda, tblocks, rblocks;
    float *Y;
    tile_fn tile;
} gemm_ctx;

static int gemm_tiles(void *vctx, size_t begin, size_t end, int tid) {
    (void)tid;
    const gemm_ctx *g = vctx;
    const bert_mat *W = g->W;
    size_t R = W->rows, lda = g->lda, groups = lda / 4, pbytes = BERT_PANEL * lda;
    size_t panels = (R + BERT_PANEL - 1) / BERT_PANEL;
    int32_t sums[GROUP_TOKENS * BLOCK_ROWS];
    for (size_t u = begin; u < end; u++) {
        /* row blocks outermost: consecutive tiles of a thread share weights */
        size_t p0 = (u / g->tblocks) * BLOCK_PANELS, t0 = (u % g->tblocks) * TOK_BLOCK;
        size_t t1 = t0 + TOK_BLOCK < g->n ? t0 + TOK_BLOCK : g->n;
        int np = (int)(panels - p0 < BLOCK_PANELS ? panels - p0 : BLOCK_PANELS);
        size_t r0 = p0 * BERT_PANEL, r1 = r0 + (size_t)np * BERT_PANEL < R ? r0 + (size_t)np * BERT_PANEL : R;
        for (size_t t = t0; t < t1; t += GROUP_TOKENS) {
            int nt = (int)(t1 - t < GROUP_TOKENS ? t1 - t : GROUP_TOKENS);
            g->tile(g->xq + t * lda, lda, W->q + p0 * pbytes, pbytes, groups, nt, np, sums);
            for (int i = 0; i < nt; i++) {
                float xs = g->xs[t + i], *y = g->Y + (t + i) * R;
                int32_t z = g->xz[t + i];
                const int32_t *s = sums + i * BLOCK_ROWS - r0;
                for (size_t r = r0; r < r1; r++) y[r] = (float)(s[r] - z * W->qsum[r]) * (xs * W->scale[r]);
            }
        }
    }
    return AISLE_OK;
}

int bert_gemm_int8(const bert_mat *W, const uint8_t *xq, const float *xs, const int32_t *xz, size_t n, float *Y,
                   int threads, int kernel) {
    size_t tblocks = (n + TOK_BLOCK - 1) / TOK_BLOCK, rblocks = (W->rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
    gemm_ctx g = {W, xq, xs, xz, n, bert_int8_stride(W->cols), tblocks, rblocks, Y, kernel_fn(kernel)};
    return core_parallel_for(threads, tblocks * rblocks, 1, gemm_tiles, &g);
}

/* ---- fp16 widening ---- */

bool bert_cpu_f16c(void) {
#if defined(BERT_HAVE_AVX2)
    __builtin_cpu_init();
    unsigned eax, ebx, ecx, edx; /* F16C: CPUID leaf 1, ECX bit 29; its ymm state is AVX's */
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx >> 29 & 1);
#else
    return false;
#endif
}

#if defined(BERT_HAVE_AVX2)
__attribute__((target("avx,f16c"))) static size_t widen_f16c(const uint16_t *h, size_t n, float *out) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(out + j, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(h + j))));
    return j;
}
#endif

void bert_f16_widen(const uint16_t *h, size_t n, float *out, bool f16c) {
    size_t j = 0;
#if defined(BERT_HAVE_AVX2)
    if (f16c) j = widen_f16c(h, n, out);
#else
    (void)f16c;
#endif
    for (; j < n; j++) out[j] = io_f16_to_f32(h[j]);
}
