/* quant.c - exact top-k of a latent-factor model from an int8 scan.
 *
 * Reading 100k x 64 fp32 item factors (25.6 MB) per query is what bounds
 * recommend's latency, so the scan reads an int8 copy (a quarter of the
 * bytes, one scale per row) built on first use and kept with the model
 * (model_cache).  The scan only finds candidates; every candidate is
 * re-scored with model_factors_row_score, the fp32 scan's own arithmetic (on
 * the fp16 rows of a mapped quantize=fp16 file widened exactly, so the same
 * numbers as the file decoded), so the result is bit-identical to the fp32
 * scan:
 *
 *   x = x^ + rx (x^ = sx * qx, the int8 query),  v_j = v^_j + r_j (v^_j = s_j q_j)
 *   x.v_j = x^.v^_j + x^.r_j + rx.v_j, so by Cauchy-Schwarz
 *   |fp32 score - approx| <= |x^| |r_j| + (|rx| + g_d |x|) |v_j| + 8u (|approx| + |offsets|)
 *
 * where g_d = d u / (1 - d u) bounds the rounding of the fp32 dot product
 * itself (u = 2^-24) and the last term the rounding of the approximation and
 * of the bias additions.  The scan keeps the k largest LOWER bounds of
 * eligible items (tau: the k-th exact score is at least tau) and records
 * every item whose UPPER bound reaches the running tau; at the end the
 * candidates whose upper bound reaches the final tau are re-scored.  An
 * item not re-scored has an exact score < tau <= the k-th exact score, so it
 * cannot be in the top k, ties included.
 *
 * The vector loop tests a looser bound that needs only the row's scale
 * (|r_j| <= s_j R, |v_j| <= s_j N with R, N the largest ratios in the
 * model); the rare rows that pass get the per-row bound.  Rows that cannot
 * be bounded (NaN/Inf, a scale below FLT_MIN) carry scale NaN: never a lower
 * bound, always a candidate.
 *
 * Layout: blocks of 8 rows; per block, dimension quads of 32 bytes (8 rows x
 * 4 int8), so one AVX2 multiply-add covers 8 rows x 4 dimensions and the
 * 8 sums stay in the 8 lanes (no horizontal adds).  Integer sums are exact,
 * so the AVX2 loop and the portable one give the same approximations. */
#include "serve.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#  include <immintrin.h>
#  define QUANT_X86 1
#endif

enum { QB = MODEL_INT8_ROWS };   /* rows per block */
enum { SCAN_DOTS = 256 };        /* fp16 rows per block of the fp32 scan's dot products */
#define QUANT_U (FLT_EPSILON / 2) /* unit roundoff of fp32 */

/* The index (model_int8, built by src/models/factors_int8.c) kept with a
 * model that did not bring a stored one. */
typedef struct serve_quant {
    model_cache base; /* first member: m->serve_cache points here */
    model_int8 *ix;
} serve_quant;

static void quant_release(model_cache *c) {
    serve_quant *sq = (serve_quant *)c;
    model_int8_free(sq->ix);
    core_free(sq);
}

/* The model's int8 index, built by the first caller that needs it. */
static int quant_get(const aisle_model *m, const model_int8 **out) {
    const model_factors *f = m->state;
    if (f->int8) { /* stored in the file (store_int8): served as stored */
        *out = f->int8;
        return AISLE_OK;
    }
    aisle_model *mm = (aisle_model *)m; /* the cache is logically const: derived, published once */
    model_cache *c = atomic_load_explicit(&mm->serve_cache, memory_order_acquire);
    if (!c) {
        serve_quant *sq = core_calloc(1, sizeof *sq);
        if (!sq) return core_oom("int8 item index");
        sq->base.release = quant_release;
        int rc = model_int8_build(f, model_n_items(m), &sq->ix);
        if (rc) {
            core_free(sq);
            return rc;
        }
        model_cache *expect = NULL;
        if (atomic_compare_exchange_strong_explicit(&mm->serve_cache, &expect, &sq->base, memory_order_acq_rel,
                                                    memory_order_acquire))
            c = &sq->base;
        else {
            quant_release(&sq->base); /* another reader published first */
            c = expect;
        }
    }
    *out = ((const serve_quant *)c)->ix;
    return AISLE_OK;
}

void serve_quant_added_item(aisle_model *m, uint32_t j, bool had_stored) {
    if (!serve_factor_kind(m)) return;
    model_factors *f = m->state;
    uint32_t n = model_n_items(m);
    if (f->int8 && f->int8->n == n) return; /* the kind's grow appended the rows */
    if (f->int8) { /* a kind that grew its items without it: stale, so it goes */
        model_int8_free(f->int8);
        f->int8 = NULL;
    }
    model_cache *c = atomic_load_explicit(&m->serve_cache, memory_order_acquire);
    if (c) {
        serve_quant *sq = (serve_quant *)c;
        while (sq->ix->n == j && j < n && model_int8_append(sq->ix, f, j) == AISLE_OK) j++;
        if (sq->ix->n == n) return;
        c = atomic_exchange(&m->serve_cache, NULL);
        if (c) c->release(c);
    }
    /* build it again now, under the writer's lock, rather than in up to
     * every reader at once (a failure is left to the readers, which build
     * it on demand) */
    if (c || had_stored) (void)serve_quant_prepare(m);
}

int serve_quant_prepare(const aisle_model *m) {
    if (!serve_factor_kind(m) || model_n_items(m) == 0) return AISLE_OK;
    const model_int8 *ix;
    return quant_get(m, &ix);
}

bool serve_factor_kind(const aisle_model *m) {
    return (m->ops->flags & MODEL_FACTORS) && m->ops->score_items == model_factors_score_items && m->state;
}

/* ---- the scan ---- */

typedef struct cand {
    uint32_t j;
    float ub;
} cand;

typedef struct scan_state {
    const model_int8 *ix;
    const serve_sel *sel;
    const uint32_t *excl;
    size_t n_excl;
    int64_t self;
    float hmin;          /* k-th largest lower bound so far (-inf until k are known) */
    float *lbs;          /* min-heap of the k largest lower bounds */
    size_t k, n_lb;
    cand *cands;
    size_t n_cands, cap_cands;
    cand *own_cands;     /* cands when grown past the caller's buffer */
    bool oom;
    /* per query */
    float sx, base, K, S1, X1, X2;
} scan_state;

static bool in_sorted(const uint32_t *v, size_t n, uint32_t j) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < j) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo] == j;
}

static bool eligible(const scan_state *st, uint32_t j) {
    return (int64_t)j != st->self && !in_sorted(st->excl, st->n_excl, j) &&
           !in_sorted(st->sel->deny, st->sel->n_deny, j);
}

static void lb_push(scan_state *st, float lb) {
    float *h = st->lbs;
    size_t i;
    if (st->n_lb < st->k) {
        i = st->n_lb++;
        while (i > 0 && h[(i - 1) / 2] > lb) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
        h[i] = lb;
        if (st->n_lb == st->k) st->hmin = h[0];
        return;
    }
    i = 0; /* replace the root, sift down */
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= st->k) break;
        if (c + 1 < st->k && h[c + 1] < h[c]) c++;
        if (h[c] >= lb) break;
        h[i] = h[c], i = c;
    }
    h[i] = lb;
    st->hmin = h[0];
}

static void add_cand(scan_state *st, uint32_t j, float ub) {
    if (st->n_cands == st->cap_cands) {
        size_t cap = st->cap_cands * 2;
        cand *c = core_malloc(cap * sizeof *c);
        if (!c) {
            st->oom = true;
            return;
        }
        memcpy(c, st->cands, st->n_cands * sizeof *c);
        core_free(st->own_cands);
        st->cands = st->own_cands = c;
        st->cap_cands = cap;
    }
    st->cands[st->n_cands++] = (cand){j, ub};
}

/* A block in which some row's loose upper bound reaches hmin: per-row
 * bounds, candidates and lower bounds.  approx[i]: row b*QB+i. */
static void block_slow(scan_state *st, uint32_t b, const float *approx) {
    const model_int8 *ix = st->ix;
    for (uint32_t i = 0; i < QB; i++) {
        uint32_t j = b * QB + i;
        if (j >= ix->n) break;
        float a = approx[i], s = ix->scale[j];
        if (s != s) {
            add_cand(st, j, NAN);
            continue;
        }
        /* S1 holds 8u (|base| + max |bias|): the loose test's bound
         * must stay >= this one */
        float e = (st->X1 * ix->rnorm[j] + st->X2 * ix->norm[j]) * (1 + 1e-5f) + 8 * QUANT_U * fabsf(a) + st->S1;
        float ub = a + e, lb = a - e;
        if (ub < st->hmin) continue;
        add_cand(st, j, ub);
        if (lb > st->hmin && eligible(st, j)) lb_push(st, lb);
    }
}

/* The approximations of one block from its int sums. */
static inline void block_approx(const scan_state *st, uint32_t b, const int32_t *acc, float *approx) {
    const model_int8 *ix = st->ix;
    for (uint32_t i = 0; i < QB; i++) {
        float a = (float)acc[i] * (ix->scale[b * QB + i] * st->sx) + st->base;
        approx[i] = ix->ib ? a + ix->ib[b * QB + i] : a;
    }
}

static void scan_portable(scan_state *st, const int8_t *qx) {
    const model_int8 *ix = st->ix;
    for (uint32_t b = 0; b < ix->blocks; b++) {
        const int8_t *p = ix->q + (size_t)b * ix->quads * QB * 4;
        int32_t acc[QB] = {0};
        for (uint32_t g = 0; g < ix->quads; g++, p += QB * 4)
            for (uint32_t i = 0; i < QB; i++)
                acc[i] += qx[4 * g] * p[4 * i] + qx[4 * g + 1] * p[4 * i + 1] + qx[4 * g + 2] * p[4 * i + 2] +
                          qx[4 * g + 3] * p[4 * i + 3];
        float approx[QB];
        block_approx(st, b, acc, approx);
        bool hit = false;
        for (uint32_t i = 0; i < QB; i++) {
            float s = ix->scale[b * QB + i];
            float ub = approx[i] + s * st->K + 8 * QUANT_U * fabsf(approx[i]) + st->S1;
            if (!(ub < st->hmin)) hit = true;
        }
        if (hit) block_slow(st, b, approx);
    }
}

#if defined(QUANT_X86)
/* vpsignb moves qx's sign onto the row byte, so vpmaddubsw can take |qx| as
 * its unsigned operand: pairs sum to at most 2 * 127 * 127 < 2^15, no
 * saturation; vpmaddwd with ones widens each row's 4 products to int32. */
__attribute__((target("avx2"))) static void scan_avx2(scan_state *st, const int8_t *qx) {
    const model_int8 *ix = st->ix;
    uint32_t quads = ix->quads;
    __m256i ax[64], sx[64]; /* dim <= 256 (the caller checks) */
    for (uint32_t g = 0; g < quads; g++) {
        int32_t word;
        int8_t ab[4];
        for (int t = 0; t < 4; t++) ab[t] = (int8_t)(qx[4 * g + t] < 0 ? -qx[4 * g + t] : qx[4 * g + t]);
        memcpy(&word, ab, 4);
        ax[g] = _mm256_set1_epi32(word);
        memcpy(&word, qx + 4 * g, 4);
        sx[g] = _mm256_set1_epi32(word);
    }
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256 sxv = _mm256_set1_ps(st->sx), basev = _mm256_set1_ps(st->base), kv = _mm256_set1_ps(st->K),
                 s1v = _mm256_set1_ps(st->S1), uv = _mm256_set1_ps(8 * QUANT_U);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (uint32_t b = 0; b < ix->blocks; b++) {
        const int8_t *p = ix->q + (size_t)b * quads * QB * 4;
        __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
        uint32_t g = 0;
        for (; g + 2 <= quads; g += 2) {
            __m256i v0 = _mm256_loadu_si256((const __m256i *)(p + (size_t)g * 32));
            __m256i v1 = _mm256_loadu_si256((const __m256i *)(p + (size_t)g * 32 + 32));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_maddubs_epi16(ax[g], _mm256_sign_epi8(v0, sx[g])), ones));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_maddubs_epi16(ax[g + 1], _mm256_sign_epi8(v1, sx[g + 1])), ones));
        }
        if (g < quads) {
            __m256i v0 = _mm256_loadu_si256((const __m256i *)(p + (size_t)g * 32));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_maddubs_epi16(ax[g], _mm256_sign_epi8(v0, sx[g])), ones));
        }
        __m256i acc = _mm256_add_epi32(acc0, acc1);
        __m256 s = _mm256_loadu_ps(ix->scale + (size_t)b * QB);
        /* same operation order as block_approx */
        __m256 a = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_mul_ps(s, sxv)), basev);
        if (ix->ib) a = _mm256_add_ps(a, _mm256_loadu_ps(ix->ib + (size_t)b * QB));
        __m256 ub = _mm256_add_ps(_mm256_add_ps(a, _mm256_mul_ps(s, kv)),
                                  _mm256_add_ps(_mm256_mul_ps(uv, _mm256_and_ps(a, absmask)), s1v));
        __m256 hit = _mm256_cmp_ps(ub, _mm256_set1_ps(st->hmin), _CMP_NLT_UQ);
        if (_mm256_movemask_ps(hit)) {
            float approx[QB];
            _mm256_storeu_ps(approx, a);
            block_slow(st, b, approx);
        }
    }
}

static bool have_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

static void scan_int8(scan_state *st, const int8_t *qx) {
#if defined(QUANT_X86)
    if (st->ix->quads <= 64 && have_avx2()) {
        scan_avx2(st, qx);
        return;
    }
#endif
    scan_portable(st, qx);
}

/* Quantizes x into qx (quads * 4 bytes) and sets the bound's constants;
 * false when x cannot be bounded (non-finite, or norms out of range). */
static bool quant_query(scan_state *st, const float *x, uint32_t d, int8_t *qx) {
    const model_int8 *ix = st->ix;
    double amax = 0;
    for (uint32_t k = 0; k < d; k++) {
        if (!isfinite(x[k])) return false;
        amax = fmax(amax, fabs((double)x[k]));
    }
    float sx = (float)(amax / 127);
    if (!(sx >= FLT_MIN)) sx = 0; /* tiny or zero: all of x goes to rx */
    double xx = 0, hh = 0, rr = 0;
    memset(qx, 0, (size_t)ix->quads * 4);
    for (uint32_t k = 0; k < d; k++) {
        long q = sx > 0 ? lrintf(x[k] / sx) : 0;
        q = q > 127 ? 127 : q < -127 ? -127 : q;
        qx[k] = (int8_t)q;
        double h = (double)sx * (double)q, r = (double)x[k] - h;
        xx += (double)x[k] * x[k], hh += h * h, rr += r * r;
    }
    double u = QUANT_U, g = d * u / (1 - d * u);
    double x1 = sqrt(hh) * (1 + 1e-6), x2 = sqrt(rr) * (1 + 1e-6) + g * sqrt(xx) * (1 + 1e-6);
    double kk = (x1 * ix->ratio_r + x2 * ix->ratio_n) * (1 + 2e-5);
    double s1 = 8 * u * (fabs((double)st->base) + ix->ib_max) + (double)d * FLT_MIN;
    st->sx = sx;
    st->X1 = model_int8_round_up(x1), st->X2 = model_int8_round_up(x2), st->K = model_int8_round_up(kk), st->S1 = model_int8_round_up(s1);
    return isfinite(st->X1) && isfinite(st->X2) && isfinite(st->K) && isfinite(st->S1);
}

/* The fp32 scan: serve_select over scores computed in place (no n_items
 * buffer), for scan=fp32 and for what the int8 scan does not handle.  The
 * fp16 rows of a mapped file are widened a 16 KiB block at a time (F16C)
 * and scored with the same arithmetic. */
static size_t scan_fp32(const serve_sel *s, const model_factors *f, const float *x, float base, const uint32_t *excl,
                        size_t n_excl, int64_t self, size_t k, core_hit *heap) {
    if (k == 0) return 0;
    uint32_t ni = model_n_items(s->m), d = f->dim;
    size_t pe = 0, pd = 0;
    size_t total = s->has_allow ? s->n_allow : ni;
    core_topk top;
    topk_init(&top, heap, k);
    float wide[MODEL_WIDE_FLOATS], dots[SCAN_DOTS];
    const float *rows = NULL;
    /* contiguous items: a block of rows per model_factors_rows call; fp16
     * rows of a mapped file: a block of dot products widened in registers
     * (model_f16_dots: model_dot's sums), to which the offsets are added
     * as model_factors_score_row adds them */
    bool f16 = model_factors_f16(f, MODEL_SIDE_ITEMS) && !s->has_allow;
    size_t step = s->has_allow ? 1 : f16 ? SCAN_DOTS : model_factors_block_rows(f, MODEL_SIDE_ITEMS), at = 0, n = 0;
    bool dots_here = false; /* the block is the file's rows: dots[] holds its products */
    for (size_t c = 0; c < total; c++) {
        uint32_t j = s->has_allow ? s->allow[c] : (uint32_t)c;
        if (c >= at + n) {
            at = c, n = CORE_MIN(step, total - c);
            dots_here = f16 && model_f16_plain(f, MODEL_SIDE_ITEMS, j, n);
            if (dots_here) {
                model_f16_dots(x, f->item16 + (size_t)j * d, n, d, dots);
            } else { /* items added while serving: merged rows, a wide buffer at a time */
                if (f16) n = CORE_MIN(n, model_factors_block_rows(f, MODEL_SIDE_ITEMS));
                rows = model_factors_rows(f, MODEL_SIDE_ITEMS, j, n, wide);
            }
        }
        float sc;
        if (dots_here) {
            sc = dots[c - at] + base;
            if (f->item_bias) sc += f->item_bias[j];
        } else {
            sc = model_factors_score_row(f, x, base, rows + (c - at) * d, j);
        }
        if (sc != sc) continue; /* NaN: never recommended (core.h) */
        while (pe < n_excl && excl[pe] < j) pe++;
        if (pe < n_excl && excl[pe] == j) continue;
        while (pd < s->n_deny && s->deny[pd] < j) pd++;
        if (pd < s->n_deny && s->deny[pd] == j) continue;
        if ((int64_t)j == self) continue;
        if (!topk_admits(&top, sc, j)) continue;
        if (s->filter && !s->filter(s->filter_user, keys_at(&s->m->items, j), j)) continue;
        topk_push(&top, sc, j);
    }
    return topk_finish(&top);
}

_Thread_local serve_scan_stats serve_last_scan;

enum { STACK_CANDS = 512, STACK_LBS = 256, STACK_DIM = 256 };

int serve_factor_topk(const aisle_model *m, const serve_sel *sel, const model_query *q, const uint32_t *excl,
                      size_t n_excl, int64_t self, size_t k, core_hit *heap, size_t *n_out) {
    const model_factors *f = m->state;
    uint32_t d = f->dim, ni = model_n_items(m);
    float xbuf[STACK_DIM], base;
    float *tmp = NULL;
    const float *x;
    if ((q->user < 0 || model_factors_f16(f, MODEL_SIDE_USERS)) && d > STACK_DIM) { /* a session or widened row */
        tmp = core_malloc((size_t)d * sizeof *tmp);
        if (!tmp) return core_oom("session vector");
    }
    int rc = model_factors_query(f, q, tmp ? tmp : xbuf, &x, &base);
    if (rc) {
        core_free(tmp);
        return rc;
    }
    /* int8 pays off where the fp32 rows no longer sit in cache; the allow
     * list and the filter callback (which must see only would-be hits)
     * stay on the fp32 scan */
    bool int8 = sel->scan == SERVE_SCAN_INT8 || (sel->scan == SERVE_SCAN_AUTO && ni >= 4096);
    int8 = int8 && k > 0 && ni > 0 && !sel->has_allow && !sel->filter && d <= 4 * 64;
    const model_int8 *ix = NULL;
    if (int8) rc = quant_get(m, &ix);
    scan_state st;
    int8_t qx[4 * 64];
    if (!rc && int8) {
        memset(&st, 0, sizeof st);
        st.ix = ix, st.sel = sel, st.excl = excl, st.n_excl = n_excl, st.self = self, st.base = base;
        int8 = quant_query(&st, x, d, qx);
    }
    if (rc || !int8) {
        if (!rc) *n_out = scan_fp32(sel, f, x, base, excl, n_excl, self, k, heap);
        if (!rc) serve_last_scan = (serve_scan_stats){ni, ni, false};
        core_free(tmp);
        return rc;
    }
    float lb_stack[STACK_LBS];
    cand cand_stack[STACK_CANDS];
    float *wide = model_factors_f16(f, MODEL_SIDE_ITEMS) ? core_malloc((size_t)d * sizeof *wide) : NULL;
    if (model_factors_f16(f, MODEL_SIDE_ITEMS) && !wide) rc = core_oom("recommend scan");
    st.k = k;
    st.hmin = -INFINITY;
    st.lbs = k <= STACK_LBS ? lb_stack : core_malloc(k * sizeof *st.lbs);
    st.cands = cand_stack, st.cap_cands = STACK_CANDS;
    if (!rc && !st.lbs) rc = core_oom("recommend scan");
    if (!rc) scan_int8(&st, qx);
    if (!rc && st.oom) rc = core_oom("recommend candidates");
    if (!rc) {
        float tau = st.hmin;
        size_t rescored = 0;
        core_topk top;
        topk_init(&top, heap, k);
        for (size_t c = 0; c < st.n_cands; c++) {
            uint32_t j = st.cands[c].j;
            if (st.cands[c].ub < tau || !eligible(&st, j)) continue;
            float sc = model_factors_row_score(f, x, base, j, wide); /* an fp16 row: widened */
            rescored++;
            if (sc != sc || !topk_admits(&top, sc, j)) continue;
            topk_push(&top, sc, j);
        }
        *n_out = topk_finish(&top);
        serve_last_scan = (serve_scan_stats){ni, rescored, true};
    }
    if (st.lbs && st.lbs != lb_stack) core_free(st.lbs);
    core_free(st.own_cands);
    core_free(wide);
    core_free(tmp);
    return rc;
}

AISLE_API int aisle_model_prepare(const aisle_model *m) {
    if (!m) return core_error(AISLE_EINVAL, "aisle_model_prepare: model is NULL");
    return serve_quant_prepare(m);
}

AISLE_API int aisle_recommend_scan_stats(size_t *items_scanned, size_t *items_rescored, int *int8) {
    if (items_scanned) *items_scanned = serve_last_scan.items;
    if (items_rescored) *items_rescored = serve_last_scan.rescored;
    if (int8) *int8 = serve_last_scan.int8;
    return AISLE_OK;
}

/* Tests: both kernels over the same query give the same candidates (rows,
 * upper-bound bits) and the same final tau; *same = 1 when they agree or
 * the CPU has no AVX2 (then only the portable one exists). */
int serve_quant_kernels_agree(const aisle_model *m, const float *x, size_t k, bool *same) {
    *same = true;
    const model_int8 *ix;
    int rc = quant_get(m, &ix);
    if (rc) return rc;
#if defined(QUANT_X86)
    const model_factors *f = m->state;
    if (!have_avx2() || ix->quads > 64 || k == 0) return AISLE_OK;
    serve_sel sel;
    memset(&sel, 0, sizeof sel);
    sel.m = m;
    scan_state st[2];
    int8_t qx[4 * 64];
    float lbs[2][STACK_LBS];
    cand cs[2][STACK_CANDS];
    if (k > STACK_LBS) k = STACK_LBS;
    for (int v = 0; v < 2; v++) {
        memset(&st[v], 0, sizeof st[v]);
        st[v].ix = ix, st[v].sel = &sel, st[v].self = -1, st[v].k = k, st[v].hmin = -INFINITY;
        st[v].lbs = lbs[v], st[v].cands = cs[v], st[v].cap_cands = STACK_CANDS;
        if (!quant_query(&st[v], x, f->dim, qx)) return AISLE_OK;
        if (v == 0) scan_portable(&st[v], qx);
        else scan_avx2(&st[v], qx);
    }
    if (st[0].oom || st[1].oom) rc = core_oom("kernel comparison");
    *same = st[0].n_cands == st[1].n_cands && memcmp(&st[0].hmin, &st[1].hmin, sizeof(float)) == 0;
    for (size_t c = 0; *same && c < st[0].n_cands; c++)
        *same = st[0].cands[c].j == st[1].cands[c].j && memcmp(&st[0].cands[c].ub, &st[1].cands[c].ub, 4) == 0;
    core_free(st[0].own_cands);
    core_free(st[1].own_cands);
#else
    (void)x, (void)k;
#endif
    return rc;
}
