/* factors_f16.c - the factor tensors of a mapped quantize=fp16 file served
 * as stored (load option mmap; docs/FORMAT.md "Mapped models").
 *
 * Such a file holds user and item factors as IEEE binary16.  Decoding them
 * on open would double the bytes of the mapping in private memory and
 * stop processes from sharing them, so a mapped open points user16 /
 * item16 at the file's bytes and leaves the fp32 pointers NULL.  Every read
 * path asks model_factors_rows (models.h) for the rows it touches, which
 * widens them into the caller's buffer: one row per re-scored candidate,
 * a 16 KiB block at a time for loops over every item (the fp32 scan,
 * similar items), a cache-sized tile before each sgemm of the batch path.
 * Widening binary16 to binary32 is exact, so every score equals the one
 * computed from the same file loaded without mmap (which decodes to fp32)
 * bit for bit.  Writers (aisle_update_user, users and items added) first
 * widen the side they write into owned memory (model_factors_unshare):
 * the file is never written. */
#include "models.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#  include <cpuid.h>
#  include <immintrin.h>
#  define F16_X86 1

/* vcvtph2ps: the values io_f16_to_f32 gives for every finite or infinite
 * input (a signalling NaN comes back quiet; NaN scores are never shown) */
__attribute__((target("avx2,f16c"))) static void widen_f16c(const uint16_t *h, float *out, size_t n) {
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(h + k)));
        __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(h + k + 8)));
        _mm256_storeu_ps(out + k, a);
        _mm256_storeu_ps(out + k + 8, b);
    }
    for (; k + 8 <= n; k += 8)
        _mm256_storeu_ps(out + k, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(h + k))));
    for (; k < n; k++) out[k] = _cvtsh_ss(h[k]);
}

/* model_dot(x, row) for n rows at once, the row widened in registers:
 * lanes 0-3 of acc are model_dot's s0, lanes 4-7 its s1 (a multiply and an
 * add per step, never fused: the build has no FMA), then the same
 * horizontal order and scalar tail, so every sum is model_dot's bit for
 * bit.  Four rows interleave to hide the add latency. */
__attribute__((target("avx2,f16c"))) static void dots_f16c(const float *x, const uint16_t *h, size_t n, uint32_t d,
                                                            float *out) {
    size_t i = 0;
    for (; i < n; i += 4) {
        size_t rows = n - i < 4 ? n - i : 4;
        const uint16_t *r[4];
        for (size_t q = 0; q < 4; q++) r[q] = h + (i + (q < rows ? q : 0)) * d;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        uint32_t k = 0;
        for (; k + 8 <= d; k += 8) {
            __m256 xv = _mm256_loadu_ps(x + k);
            for (size_t q = 0; q < 4; q++)
                acc[q] = _mm256_add_ps(acc[q], _mm256_mul_ps(xv, _mm256_cvtph_ps(_mm_loadu_si128(
                                                                  (const __m128i *)(const void *)(r[q] + k)))));
        }
        for (size_t q = 0; q < rows; q++) {
            float t[4];
            _mm_storeu_ps(t, _mm_add_ps(_mm256_castps256_ps128(acc[q]), _mm256_extractf128_ps(acc[q], 1)));
            float sum = (t[0] + t[2]) + (t[1] + t[3]);
            for (uint32_t j = k; j < d; j++) sum += x[j] * _cvtsh_ss(r[q][j]);
            out[i + q] = sum;
        }
    }
}

/* CPUID leaf 1 ECX bit 29 (F16C) with AVX2, asked once; every thread
 * computes the same answer, so the race is benign. */
static bool have_f16c(void) {
    static _Atomic int known; /* 0 not asked, 1 no, 2 yes */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (!k) {
        unsigned a, b, c, d;
        bool yes = __builtin_cpu_supports("avx2") && __get_cpuid(1, &a, &b, &c, &d) && ((c >> 29) & 1);
        k = yes ? 2 : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
}
#endif

void model_f16_widen(const uint16_t *h, float *out, size_t n) {
#if defined(F16_X86)
    if (have_f16c()) {
        widen_f16c(h, out, n);
        return;
    }
#endif
    for (size_t k = 0; k < n; k++) out[k] = io_f16_to_f32(h[k]);
}

void model_f16_dots(const float *x, const uint16_t *h, size_t n, uint32_t d, float *out) {
#if defined(F16_X86)
    if (have_f16c()) {
        dots_f16c(x, h, n, d, out);
        return;
    }
#endif
    float row[MODEL_WIDE_FLOATS]; /* d <= 1024: the load and the factors options bound it */
    for (size_t i = 0; i < n; i++) {
        model_f16_widen(h + i * d, row, d);
        out[i] = model_dot(x, row, d);
    }
}

static float *widened(const uint16_t *h, size_t rows, size_t cap, uint32_t dim) {
    size_t want = (cap > rows ? cap : rows) * dim;
    float *p = core_malloc((want ? want : 1) * sizeof *p);
    if (p) model_f16_widen(h, p, rows * dim);
    return p;
}

int model_factors_unshare(model_factors *f, int side, size_t rows, size_t cap) {
    if (!model_factors_f16(f, side)) return AISLE_OK;
    const uint16_t *h = side == MODEL_SIDE_ITEMS ? f->item16 : f->user16;
    float *p = widened(h, rows, cap, f->dim);
    if (!p) return core_oom(side == MODEL_SIDE_ITEMS ? "item factors copied out of a mapped fp16 model"
                                                     : "user factors copied out of a mapped fp16 model");
    if (side == MODEL_SIDE_ITEMS) f->item = p, f->item16 = NULL, f->borrowed &= ~(unsigned)MODEL_BORROWED_ITEM;
    else f->user = p, f->user16 = NULL, f->borrowed &= ~(unsigned)MODEL_BORROWED_USER;
    return AISLE_OK;
}

int model_factors_side_fp32(const model_factors *f, int side, size_t rows, const float **out, float **owned) {
    *owned = NULL;
    if (!model_factors_f16(f, side)) {
        *out = side == MODEL_SIDE_ITEMS ? f->item : f->user;
        return AISLE_OK;
    }
    *owned = widened(side == MODEL_SIDE_ITEMS ? f->item16 : f->user16, rows, rows, f->dim);
    if (!*owned) return core_oom("saving a mapped fp16 model");
    *out = *owned;
    return AISLE_OK;
}
