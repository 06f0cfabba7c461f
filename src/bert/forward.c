/* forward.c - BERT's encoder over a batch of sequences packed back to back
 * without padding (each sequence attends over its own real length, which
 * is what an attention mask over a padded batch computes): embeddings +
 * LayerNorm, post-LN blocks (self-attention, exact erf GELU feed-forward),
 * pooler (tanh).
 *
 * Every layer's four products (QKV, attention output, intermediate,
 * output) are one call over all the tokens of the batch: one sgemm from
 * this thread for fp32 (OpenBLAS's own threads are set only through the
 * `blas_threads` option), fp16 dequantised a tile of rows at a time into
 * scratch (F16C where the CPU has it) then sgemm, int8 through the integer kernel of int8.c.  Our own
 * threads (`threads`) run what is row-wise: embeddings, attention per
 * (sequence, head), bias + GELU, residual + bias + LayerNorm, activation
 * quantisation.  Biases are folded into those row passes instead of
 * separate sweeps. */
#include "bert.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* The run-time-picked versions must give the same floats: no fusing of
 * a * b + c into FMA where one target has it (GCC's ISO C mode already
 * keeps them apart) */
#if defined(__clang__)
#  pragma STDC FP_CONTRACT OFF
#endif

#define TILE_ROWS 256

/* Attention works on whole vectors of ATT_LANES floats: a GNU vector
 * type (lowered to what the target has) for the body compiled twice, for
 * AVX-512 and for the baseline, picked at run time.  Plain multiplies and
 * adds in the same order (ISO C mode: no contraction into FMA), so both
 * give the same floats. */
#define ATT_LANES 16
#if defined(__GNUC__)
typedef float bert_vf __attribute__((vector_size(ATT_LANES * sizeof(float))));
#  define VF_LOAD(v, p) memcpy(&(v), (p), sizeof(v))
#  define VF_STORE(p, v) memcpy((p), &(v), sizeof(v))
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#  include <immintrin.h>
#  define BERT_ATT_AVX512 1
#endif

typedef struct fwd {
    const aisle_bert *m;
    const bert_seqs *s;
    size_t ntok, H, NI, heads, d, maxn, att_floats;
    int threads;
    float *x, *qkv, *ctx, *t, *inter, *tile, *att;
    uint8_t *xq;
    float *xs;
    int32_t *xz;
    const bert_layer *L;
    /* operands of the current row pass */
    const float *qx;
    size_t qk, qlda;
    const bert_mat *tw;
    uint32_t tr0;
    const float *add, *bias, *g, *b;
} fwd;

/* r = LayerNorm(r + add + bias) (add, bias may be NULL); double sums as
 * the reference (the per-row cost is small next to the products). */
static void add_layernorm_row(float *r, const float *add, const float *bias, size_t H, const float *g, const float *b,
                              float eps) {
    if (add)
        for (size_t j = 0; j < H; j++) r[j] += add[j];
    if (bias)
        for (size_t j = 0; j < H; j++) r[j] += bias[j];
    double mean = 0, var = 0;
    for (size_t j = 0; j < H; j++) mean += r[j];
    mean /= (double)H;
    for (size_t j = 0; j < H; j++) {
        double d = r[j] - mean;
        var += d * d;
    }
    var /= (double)H;
    float inv = (float)(1.0 / sqrt(var + eps)), mu = (float)mean;
    for (size_t j = 0; j < H; j++) r[j] = (r[j] - mu) * inv * g[j] + b[j];
}

static void softmax_row(float *s, size_t n) {
    float mx = s[0];
    for (size_t j = 1; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    float sum = 0;
    for (size_t j = 0; j < n; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    float inv = 1.0f / sum;
    for (size_t j = 0; j < n; j++) s[j] *= inv;
}

/* ---- row passes (core_parallel_for bodies) ---- */

static int embed_range(void *vf, size_t begin, size_t end, int tid) {
    (void)tid;
    fwd *f = vf;
    const aisle_bert *m = f->m;
    size_t H = f->H;
    for (size_t s = begin; s < end; s++)
        for (size_t k = f->s->start[s]; k < f->s->start[s + 1]; k++) {
            float *r = f->x + k * H;
            bert_mat_row(&m->word, f->s->ids[k], r);
            const float *p = m->pos + (k - f->s->start[s]) * H, *ty = m->type + (size_t)f->s->types[k] * H;
            for (size_t j = 0; j < H; j++) r[j] += p[j] + ty[j];
            add_layernorm_row(r, NULL, NULL, H, m->emb_g, m->emb_b, m->cfg.eps);
        }
    return AISLE_OK;
}

static int addln_range(void *vf, size_t begin, size_t end, int tid) {
    (void)tid;
    fwd *f = vf;
    for (size_t i = begin; i < end; i++)
        add_layernorm_row(f->x + i * f->H, f->add + i * f->H, f->bias, f->H, f->g, f->b, f->m->cfg.eps);
    return AISLE_OK;
}

#if defined(BERT_ATT_AVX512)
/* Exact-erf GELU, 16 at a time: erf by Abramowitz & Stegun 7.1.26
 * (1 - (a1 t + ... + a5 t^5) e^(-x^2), t = 1 / (1 + p|x|), absolute error
 * below 1.5e-7, about float's own step near 1), e^(-x^2) by 2^n e^r with
 * |r| <= ln2 / 2 and a degree-6 Taylor polynomial (relative error ~1e-7).
 * erff costs about as much per element as the int8 product's share of it;
 * this is several times cheaper.  Not bit-identical to erff: picked by the
 * CPU alone (never by the int8 kernel choice), tested within 1e-6. */
__attribute__((target("avx512f"))) static void gelu_avx512(float *r, const float *bias, size_t n) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f), rsqrt2 = _mm512_set1_ps(0.70710678118654752f);
    const __m512 p = _mm512_set1_ps(0.3275911f), a1 = _mm512_set1_ps(0.254829592f), a2 = _mm512_set1_ps(-0.284496736f);
    const __m512 a3 = _mm512_set1_ps(1.421413741f), a4 = _mm512_set1_ps(-1.453152027f), a5 = _mm512_set1_ps(1.061405429f);
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f), ln2hi = _mm512_set1_ps(0.693359375f),
                 ln2lo = _mm512_set1_ps(-2.12194440e-4f), lim = _mm512_set1_ps(87.0f);
    const __m512 c2 = _mm512_set1_ps(1.0f / 2), c3 = _mm512_set1_ps(1.0f / 6), c4 = _mm512_set1_ps(1.0f / 24),
                 c5 = _mm512_set1_ps(1.0f / 120), c6 = _mm512_set1_ps(1.0f / 720);
    for (size_t j = 0; j + 16 <= n; j += 16) {
        __m512 v = _mm512_add_ps(_mm512_loadu_ps(r + j), _mm512_loadu_ps(bias + j));
        __m512 x = _mm512_mul_ps(v, rsqrt2);
        __m512 ax = _mm512_abs_ps(x);
        __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(p, ax, one));
        __m512 poly = _mm512_fmadd_ps(a5, t, a4);
        poly = _mm512_fmadd_ps(poly, t, a3);
        poly = _mm512_fmadd_ps(poly, t, a2);
        poly = _mm512_fmadd_ps(poly, t, a1);
        poly = _mm512_mul_ps(poly, t);
        /* e^(-x^2), the argument clamped where the result is 0 in float */
        __m512 e = _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)), _mm512_sub_ps(_mm512_setzero_ps(), lim));
        __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(e, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512 rr = _mm512_fnmadd_ps(k, ln2lo, _mm512_fnmadd_ps(k, ln2hi, e));
        __m512 ex = _mm512_fmadd_ps(c6, rr, c5);
        ex = _mm512_fmadd_ps(ex, rr, c4);
        ex = _mm512_fmadd_ps(ex, rr, c3);
        ex = _mm512_fmadd_ps(ex, rr, c2);
        ex = _mm512_fmadd_ps(ex, rr, one);
        ex = _mm512_fmadd_ps(ex, rr, one);
        ex = _mm512_scalef_ps(ex, k);
        __m512 erf_abs = _mm512_fnmadd_ps(poly, ex, one);
        /* erf is odd: the sign of x back on */
        __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
        __m512 erf = _mm512_mask_sub_ps(erf_abs, neg, _mm512_setzero_ps(), erf_abs);
        _mm512_storeu_ps(r + j, _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf)));
    }
}
#endif

void bert_gelu(float *r, const float *bias, size_t n) {
    size_t j = 0;
#if defined(BERT_ATT_AVX512)
    if (__builtin_cpu_supports("avx512f")) {
        j = n / 16 * 16;
        gelu_avx512(r, bias, j);
    }
#endif
    for (; j < n; j++) {
        float v = r[j] + bias[j];
        r[j] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
}

static int gelu_range(void *vf, size_t begin, size_t end, int tid) {
    (void)tid;
    fwd *f = vf;
    for (size_t i = begin; i < end; i++) bert_gelu(f->inter + i * f->NI, f->bias, f->NI);
    return AISLE_OK;
}

static int quant_range(void *vf, size_t begin, size_t end, int tid) {
    (void)tid;
    fwd *f = vf;
    for (size_t i = begin; i < end; i++)
        bert_quantize_row(f->qx + i * f->qk, f->qk, f->xq + i * f->qlda, f->xs + i, f->xz + i);
    return AISLE_OK;
}

static int dequant_range(void *vf, size_t begin, size_t end, int tid) {
    (void)tid;
    fwd *f = vf;
    for (size_t r = begin; r < end; r++) bert_mat_row(f->tw, f->tr0 + (uint32_t)r, f->tile + r * f->tw->cols);
    return AISLE_OK;
}

/* Self-attention of one (sequence, head): scores = (q + bq) . (k + bk) /
 * sqrt(d) over the sequence's own tokens, softmax, ctx = bv + sum p v (the
 * value bias comes out of the sum since the weights sum to 1).  K is
 * transposed into scratch so both inner loops run along contiguous rows. */
static inline __attribute__((always_inline)) int attention_body(fwd *f, size_t begin, size_t end, int tid) {
    size_t H = f->H, d = f->d, H3 = 3 * H;
    const float *bq = f->L->qkv_b, *bk = bq + H, *bv = bq + 2 * H;
    float scale = 1.0f / sqrtf((float)d);
    float *KT = f->att + (size_t)tid * f->att_floats;
    for (size_t p = begin; p < end; p++) {
        size_t s = p / f->heads, h = p % f->heads, s0 = f->s->start[s], n = f->s->start[s + 1] - s0;
        size_t np = (n + ATT_LANES - 1) / ATT_LANES * ATT_LANES; /* row stride: whole vectors, padding zero */
        float *sc = KT + d * np;
        for (size_t k = 0; k < d; k++) {
            float *row = KT + k * np;
            const float *kcol = f->qkv + s0 * H3 + H + h * d + k;
            float b = bk[h * d + k];
            for (size_t j = 0; j < n; j++) row[j] = kcol[j * H3] + b;
            for (size_t j = n; j < np; j++) row[j] = 0.0f;
        }
        for (size_t i = 0; i < n; i++) {
            const float *q = f->qkv + (s0 + i) * H3 + h * d;
            memset(sc, 0, np * sizeof *sc);
            for (size_t k = 0; k < d; k++) {
                float qk = (q[k] + bq[h * d + k]) * scale;
                const float *row = KT + k * np;
#if defined(__GNUC__)
                bert_vf qv = {0}, a, r;
                qv += qk;
                for (size_t j = 0; j < np; j += ATT_LANES) {
                    VF_LOAD(a, sc + j);
                    VF_LOAD(r, row + j);
                    a += qv * r;
                    VF_STORE(sc + j, a);
                }
#else
                for (size_t j = 0; j < np; j++) sc[j] += qk * row[j];
#endif
            }
            softmax_row(sc, n);
            float *c = f->ctx + (s0 + i) * H + h * d;
            memcpy(c, bv + h * d, d * sizeof *c);
            for (size_t j = 0; j < n; j++) {
                float w = sc[j];
                const float *v = f->qkv + (s0 + j) * H3 + 2 * H + h * d;
                size_t k = 0;
#if defined(__GNUC__)
                bert_vf wv = {0}, a, x;
                wv += w;
                for (; k + ATT_LANES <= d; k += ATT_LANES) {
                    VF_LOAD(a, c + k);
                    VF_LOAD(x, v + k);
                    a += wv * x;
                    VF_STORE(c + k, a);
                }
#endif
                for (; k < d; k++) c[k] += w * v[k];
            }
        }
    }
    return AISLE_OK;
}

static int attention_range(void *vf, size_t begin, size_t end, int tid) {
    return attention_body(vf, begin, end, tid);
}

#if defined(BERT_ATT_AVX512)
__attribute__((target("avx512f"))) static int attention_range_avx512(void *vf, size_t begin, size_t end, int tid) {
    return attention_body(vf, begin, end, tid);
}
#endif

/* ---- products ---- */

enum { ROW_GRAIN = 8 };

/* Y[n x W->rows] = X[n x W->cols] W^T (no bias: the row passes add it). */
static int linear(fwd *f, const bert_mat *W, const float *X, size_t n, float *Y) {
    int R = (int)W->rows, C = (int)W->cols, rc = AISLE_OK;
    if (W->enc == IO_QUANT_NONE) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, R, C, 1.0f, X, C, W->f, C, 0.0f, Y, R);
    } else if (W->enc == IO_QUANT_FP16) {
        f->tw = W;
        for (uint32_t r0 = 0; !rc && r0 < W->rows; r0 += TILE_ROWS) {
            uint32_t r1 = r0 + TILE_ROWS < W->rows ? r0 + TILE_ROWS : W->rows;
            f->tr0 = r0;
            /* F16C widens a tile in a small fraction of its sgemm's time,
             * so in this thread: our threads woken between sgemm calls
             * would only compete with OpenBLAS's spinning ones */
            if (f->m->f16c)
                bert_f16_widen(W->h + (size_t)r0 * W->cols, (size_t)(r1 - r0) * W->cols, f->tile, true);
            else
                rc = core_parallel_for(f->threads, r1 - r0, ROW_GRAIN, dequant_range, f);
            if (!rc)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)(r1 - r0), C, 1.0f, X, C, f->tile,
                            C, 0.0f, Y + r0, R);
        }
    } else {
        f->qx = X;
        f->qk = W->cols;
        f->qlda = bert_int8_stride(W->cols);
        rc = core_parallel_for(f->threads, n, ROW_GRAIN, quant_range, f);
        if (!rc) rc = bert_gemm_int8(W, f->xq, f->xs, f->xz, n, Y, f->threads, f->m->int8_kernel);
    }
    return rc;
}

int bert_forward(const aisle_bert *m, const bert_seqs *s, int threads, float *hidden, float *pooled) {
    return bert_forward_layers(m, s, threads, m->cfg.layers, hidden, pooled);
}

int bert_forward_layers(const aisle_bert *m, const bert_seqs *s, int threads, uint32_t layers, float *hidden,
                        float *pooled) {
    const bert_config *c = &m->cfg;
    fwd f;
    memset(&f, 0, sizeof f);
    f.m = m;
    f.s = s;
    f.threads = threads < 1 ? 1 : threads;
    f.ntok = s->start[s->nseq];
    f.H = c->hidden;
    f.NI = c->inter;
    f.heads = c->heads;
    f.d = f.H / f.heads;
    for (size_t i = 0; i < s->nseq; i++) {
        size_t n = s->start[i + 1] - s->start[i];
        f.maxn = n > f.maxn ? n : f.maxn;
    }
    if (f.ntok == 0) return AISLE_OK;
    size_t np = (f.maxn + ATT_LANES - 1) / ATT_LANES * ATT_LANES, wide = f.NI > f.H ? f.NI : f.H, T = f.ntok;
    f.att_floats = f.d * np + np;
    bool tile = m->enc == IO_QUANT_FP16, q8 = m->enc == IO_QUANT_INT8;
    size_t floats = T * 3 * f.H + 2 * T * f.H + T * f.NI + (tile ? (size_t)TILE_ROWS * wide : 0) +
                    (size_t)f.threads * f.att_floats + (q8 ? 2 * T : 0);
    size_t qbytes = q8 ? T * bert_int8_stride(wide) : 0, bytes = floats * sizeof(float) + qbytes;
    float *ws = core_malloc(bytes);
    if (!ws) return core_oom("bert forward workspace");
    f.x = hidden;
    f.qkv = ws;
    f.ctx = f.qkv + T * 3 * f.H;
    f.t = f.ctx + T * f.H;
    f.inter = f.t + T * f.H;
    float *next = f.inter + T * f.NI;
    if (tile) {
        f.tile = next;
        next += (size_t)TILE_ROWS * wide;
    }
    f.att = next;
    next += (size_t)f.threads * f.att_floats;
    if (q8) {
        f.xs = next;
        f.xz = (int32_t *)(next + T);
        f.xq = (uint8_t *)(next + 2 * T);
        memset(f.xq, 0, qbytes); /* row padding: meets zero weights, but defined */
    }
    core_range_fn attend = attention_range;
#if defined(BERT_ATT_AVX512)
    if (m->int8_kernel == BERT_KERNEL_AVX512) attend = attention_range_avx512; /* the CPU has AVX-512 */
#endif
    int rc = core_parallel_for(f.threads, s->nseq, 1, embed_range, &f);
    for (uint32_t l = 0; !rc && l < layers; l++) {
        const bert_layer *L = f.L = &m->layer[l];
        rc = linear(&f, &L->qkv, f.x, T, f.qkv);
        if (!rc) rc = core_parallel_for(f.threads, s->nseq * f.heads, 1, attend, &f);
        if (!rc) rc = linear(&f, &L->ao, f.ctx, T, f.t);
        f.add = f.t, f.bias = L->ao_b, f.g = L->ln1_g, f.b = L->ln1_b;
        if (!rc) rc = core_parallel_for(f.threads, T, ROW_GRAIN, addln_range, &f);
        if (!rc) rc = linear(&f, &L->in, f.x, T, f.inter);
        f.bias = L->in_b;
        if (!rc) rc = core_parallel_for(f.threads, T, ROW_GRAIN, gelu_range, &f);
        if (!rc) rc = linear(&f, &L->out, f.inter, T, f.t);
        f.add = f.t, f.bias = L->out_b, f.g = L->ln2_g, f.b = L->ln2_b;
        if (!rc) rc = core_parallel_for(f.threads, T, ROW_GRAIN, addln_range, &f);
    }
    if (!rc && pooled && c->has_pooler && layers == c->layers) {
        /* the [CLS] rows, then one product for the whole batch */
        for (size_t i = 0; i < s->nseq; i++) memcpy(f.ctx + i * f.H, f.x + s->start[i] * f.H, f.H * sizeof(float));
        rc = linear(&f, &m->pool, f.ctx, s->nseq, f.t);
        for (size_t i = 0; !rc && i < s->nseq; i++)
            for (size_t j = 0; j < f.H; j++) pooled[i * f.H + j] = tanhf(f.t[i * f.H + j] + m->pool_b[j]);
    }
    core_free(ws);
    return rc;
}

void bert_head(const aisle_bert *m, const float *pooled, float *out) {
    const bert_config *c = &m->cfg;
    for (uint32_t k = 0; k < c->num_labels; k++) { /* the classifier stays fp32 */
        const float *w = m->cls.f + (size_t)k * c->hidden;
        double z = m->cls_b[k];
        for (uint32_t j = 0; j < c->hidden; j++) z += (double)w[j] * pooled[j];
        out[k] = (float)z;
    }
    if (!c->regression) softmax_row(out, c->num_labels);
}
