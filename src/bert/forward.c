/* forward.c - BERT's encoder on one sequence (no padding needed: each
 * sequence runs at its own length, which is what an attention mask over a
 * padded batch computes): embeddings + LayerNorm, post-LN blocks (self-
 * attention, exact erf GELU feed-forward), pooler (tanh) and the head.
 * The big products are sgemm calls; fp16/int8 matrices are dequantized a
 * tile of rows at a time into per-thread scratch, so they never exist in
 * fp32 as a whole. */
#include "bert.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define TILE_ROWS 128

static size_t tile_floats(const bert_config *c) {
    size_t w = c->inter > c->hidden ? c->inter : c->hidden;
    return TILE_ROWS * w;
}

size_t bert_ws_floats(const bert_config *c, size_t n) {
    size_t H = c->hidden;
    return n * H           /* x */
           + n * 3 * H     /* qkv */
           + n * H         /* ctx */
           + n * H         /* t */
           + n * c->inter  /* inter */
           + n * n         /* scores of one head */
           + tile_floats(c) + 2 * H;
}

/* Y[n x rows] = X[n x cols] W^T + bias */
static void matmul(const bert_mat *W, const float *X, size_t n, const float *bias, float *Y, float *tile) {
    int R = (int)W->rows, C = (int)W->cols;
    if (W->enc == IO_QUANT_NONE) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, R, C, 1.0f, X, C, W->f, C, 0.0f, Y, R);
    } else {
        for (uint32_t r0 = 0; r0 < W->rows; r0 += TILE_ROWS) {
            uint32_t r1 = r0 + TILE_ROWS < W->rows ? r0 + TILE_ROWS : W->rows;
            for (uint32_t r = r0; r < r1; r++) bert_mat_row(W, r, tile + (size_t)(r - r0) * W->cols);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)(r1 - r0), C, 1.0f, X, C, tile, C, 0.0f,
                        Y + r0, R);
        }
    }
    if (bias)
        for (size_t i = 0; i < n; i++) {
            float *y = Y + i * (size_t)R;
            for (int j = 0; j < R; j++) y[j] += bias[j];
        }
}

/* x = LayerNorm(x + add) per row (add may be NULL). */
static void add_layernorm(float *x, const float *add, size_t n, size_t H, const float *g, const float *b, float eps) {
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * H;
        if (add)
            for (size_t j = 0; j < H; j++) r[j] += add[i * H + j];
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

void bert_forward(const aisle_bert *m, const uint32_t *ids, const uint32_t *types, size_t n, float *ws, float *hidden,
                  float *pooled) {
    const bert_config *c = &m->cfg;
    size_t H = c->hidden, NI = c->inter, heads = c->heads, d = H / heads;
    float *x = hidden, *qkv = ws, *ctx = qkv + n * 3 * H, *t = ctx + n * H, *inter = t + n * H, *S = inter + n * NI,
          *tile = S + n * n, *vec = tile + tile_floats(c);
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * H;
        bert_mat_row(&m->word, ids[i], r);
        const float *p = m->pos + i * H, *ty = m->type + (size_t)types[i] * H;
        for (size_t j = 0; j < H; j++) r[j] += p[j] + ty[j];
    }
    add_layernorm(x, NULL, n, H, m->emb_g, m->emb_b, c->eps);
    float scale = 1.0f / sqrtf((float)d);
    for (uint32_t l = 0; l < c->layers; l++) {
        const bert_layer *L = &m->layer[l];
        matmul(&L->qkv, x, n, L->qkv_b, qkv, tile);
        for (size_t h = 0; h < heads; h++) {
            const float *Q = qkv + h * d, *K = qkv + H + h * d, *V = qkv + 2 * H + h * d;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)d, scale, Q, (int)(3 * H), K,
                        (int)(3 * H), 0.0f, S, (int)n);
            for (size_t i = 0; i < n; i++) softmax_row(S + i * n, n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)n, 1.0f, S, (int)n, V,
                        (int)(3 * H), 0.0f, ctx + h * d, (int)H);
        }
        matmul(&L->ao, ctx, n, L->ao_b, t, tile);
        add_layernorm(x, t, n, H, L->ln1_g, L->ln1_b, c->eps);
        matmul(&L->in, x, n, L->in_b, inter, tile);
        for (size_t i = 0; i < n * NI; i++) inter[i] = 0.5f * inter[i] * (1.0f + erff(inter[i] * 0.70710678118654752f));
        matmul(&L->out, inter, n, L->out_b, t, tile);
        add_layernorm(x, t, n, H, L->ln2_g, L->ln2_b, c->eps);
    }
    if (pooled && c->has_pooler) {
        matmul(&m->pool, x, 1, m->pool_b, vec, tile);
        for (size_t j = 0; j < H; j++) pooled[j] = tanhf(vec[j]);
    }
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
