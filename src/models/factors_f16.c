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
 * bit for bit.  Writers (aisle_update_user, users and items added) write
 * fp32 rows into the side's overlay (struct model_f16_side, models.h): a
 * row of its own for each written row, one block for the added rows;
 * readers get the merged rows.  The file is never written and the side
 * never copied. */
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

const float *model_f16_rows_merged(const model_factors *f, int side, size_t first, size_t n, float *tmp) {
    const struct model_f16_side *o = &f->f16[side];
    uint32_t d = f->dim;
    if (first >= o->n16) return o->tail + (first - o->n16) * d; /* added rows: contiguous */
    if (n == 1) {
        const float *w = model_f16_written(o, first, d);
        if (w) return w;
    }
    size_t in_file = CORE_MIN(n, o->n16 - first);
    model_f16_widen((side == MODEL_SIDE_ITEMS ? f->item16 : f->user16) + first * d, tmp, in_file * d);
    /* written rows over the widened ones, a page at a time (a page nobody
     * wrote is skipped whole) */
    for (size_t r = first; o->written && r < first + in_file;) {
        size_t page_end = CORE_MIN((r / MODEL_F16_PAGE + 1) * MODEL_F16_PAGE, first + in_file);
        if (!o->page[r / MODEL_F16_PAGE]) {
            r = page_end;
            continue;
        }
        for (; r < page_end; r++) {
            const float *w = model_f16_written(o, r, d);
            if (w) memcpy(tmp + (r - first) * d, w, d * sizeof *tmp);
        }
    }
    if (n > in_file) memcpy(tmp + in_file * d, o->tail, (n - in_file) * d * sizeof *tmp);
    return tmp;
}

/* The arena slot of a row written for the first time: a page of slots for
 * its page, room in the chunk table, a chunk; each allocation is kept once
 * made, so a failure leaves the overlay consistent (and the row unwritten). */
static int new_slot(struct model_f16_side *o, size_t r, uint32_t dim, const uint16_t *h) {
    size_t pages = (o->n16 + MODEL_F16_PAGE - 1) / MODEL_F16_PAGE;
    if (!o->page && !(o->page = core_calloc(pages, sizeof *o->page))) return AISLE_ENOMEM;
    uint32_t **pg = &o->page[r / MODEL_F16_PAGE];
    if (!*pg && !(*pg = core_calloc(MODEL_F16_PAGE, sizeof **pg))) return AISLE_ENOMEM;
    size_t slot = o->written, c = slot / MODEL_F16_CHUNK;
    if (c >= o->chunk_cap) {
        size_t cap = CORE_MAX((size_t)8, o->chunk_cap * 2);
        float **t = core_reallocarray(o->chunk, cap, sizeof *t);
        if (!t) return AISLE_ENOMEM;
        memset(t + o->chunk_cap, 0, (cap - o->chunk_cap) * sizeof *t);
        o->chunk = t, o->chunk_cap = cap;
    }
    if (!o->chunk[c] && !(o->chunk[c] = core_malloc((size_t)MODEL_F16_CHUNK * dim * sizeof **o->chunk)))
        return AISLE_ENOMEM;
    model_f16_widen(h + r * dim, o->chunk[c] + (slot % MODEL_F16_CHUNK) * dim, dim);
    (*pg)[r % MODEL_F16_PAGE] = (uint32_t)slot + 1; /* slot < n16 <= UINT32_MAX: the key dictionaries' bound */
    o->written++;
    return AISLE_OK;
}

int model_factors_row_w(model_factors *f, int side, size_t r, float **out) {
    float *a = side == MODEL_SIDE_ITEMS ? f->item : f->user;
    if (a) {
        *out = a + r * f->dim;
        return AISLE_OK;
    }
    struct model_f16_side *o = &f->f16[side];
    float *w = model_f16_written(o, r, f->dim);
    if (!w) {
        if (new_slot(o, r, f->dim, side == MODEL_SIDE_ITEMS ? f->item16 : f->user16))
            return core_oom("a written row of a mapped fp16 model");
        w = model_f16_written(o, r, f->dim);
    }
    *out = w;
    return AISLE_OK;
}

int model_f16_reserve(model_factors *f, int side, size_t rows) {
    struct model_f16_side *o = &f->f16[side];
    if (!model_factors_f16(f, side) || rows <= o->n16 + o->tail_cap) return AISLE_OK;
    size_t cap = CORE_MAX(rows - o->n16, o->tail_cap + o->tail_cap / 2);
    float *t = core_reallocarray(o->tail, cap * f->dim, sizeof *t);
    if (!t) return core_oom("rows added to a mapped fp16 model");
    o->tail = t, o->tail_cap = cap;
    return AISLE_OK;
}

void model_f16_side_free(struct model_f16_side *o) {
    for (size_t p = 0; o->page && p < (o->n16 + MODEL_F16_PAGE - 1) / MODEL_F16_PAGE; p++) core_free(o->page[p]);
    for (size_t c = 0; c < o->chunk_cap; c++) core_free(o->chunk[c]);
    core_free(o->page);
    core_free(o->chunk);
    core_free(o->tail);
    memset(o, 0, sizeof *o);
}

int model_factors_side_fp32(const model_factors *f, int side, size_t rows, const float **out, float **owned) {
    *owned = NULL;
    if (!model_factors_f16(f, side)) {
        *out = side == MODEL_SIDE_ITEMS ? f->item : f->user;
        return AISLE_OK;
    }
    size_t d = f->dim;
    float *p = core_malloc((rows ? rows * d : 1) * sizeof *p);
    if (!p) return core_oom("an fp32 copy of mapped fp16 factors");
    /* the merged rows, a block at a time, each read into its place */
    size_t step = model_factors_block_rows(f, side);
    for (size_t r = 0; r < rows; r += step) {
        size_t n = CORE_MIN(step, rows - r);
        const float *got = model_factors_rows(f, side, r, n, p + r * d);
        if (got != p + r * d) memcpy(p + r * d, got, n * d * sizeof *p);
    }
    *owned = p, *out = p;
    return AISLE_OK;
}
