/* layers.c - embeddings, linear layers (cblas_sgemm), layer normalization,
 * activations, dropout, softmax and the losses, each with its backward. */
#include "nn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void nn_embedding_forward(const float *table, size_t d, const uint32_t *ids, size_t n, float scale, float *out) {
    for (size_t i = 0; i < n; i++) {
        float *o = out + i * d;
        if (ids[i] == 0) {
            memset(o, 0, d * sizeof *o);
            continue;
        }
        const float *t = table + (size_t)ids[i] * d;
        for (size_t k = 0; k < d; k++) o[k] = t[k] * scale;
    }
}

void nn_embedding_backward(float *gtable, size_t d, const uint32_t *ids, size_t n, float scale, const float *dout) {
    /* sequential on purpose: rows repeat, and a fixed order keeps sums
     * bit-identical run to run */
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == 0) continue;
        float *g = gtable + (size_t)ids[i] * d;
        const float *o = dout + i * d;
        for (size_t k = 0; k < d; k++) g[k] += o[k] * scale;
    }
}

int nn_linear_init(nn_linear *l, nn_store *s, size_t in, size_t out) {
    l->in = in;
    l->out = out;
    int rc = nn_store_add(s, in, out, true, &l->W);
    if (!rc) rc = nn_store_add(s, 1, out, false, &l->b);
    return rc;
}

void nn_linear_reset(const nn_linear *l, nn_store *s, core_rng *r) {
    nn_init_uniform(s, l->W, sqrtf(6.0f / (float)(l->in + l->out)), r);
    memset(nn_w(s, l->b), 0, l->out * sizeof(float));
}

void nn_linear_forward(const nn_store *s, const nn_linear *l, const float *x, size_t n, float *y) {
    const float *b = nn_w(s, l->b);
    for (size_t i = 0; i < n; i++) memcpy(y + i * l->out, b, l->out * sizeof *y);
    if (n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)l->out, (int)l->in, 1.0f, x, (int)l->in,
                nn_w(s, l->W), (int)l->out, 1.0f, y, (int)l->out);
}

void nn_linear_backward(nn_store *s, const nn_linear *l, const float *x, const float *dy, size_t n, float *dx) {
    if (n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l->in, (int)l->out, (int)n, 1.0f, x, (int)l->in, dy,
                (int)l->out, 1.0f, nn_g(s, l->W), (int)l->out);
    float *gb = nn_g(s, l->b);
    for (size_t i = 0; i < n; i++) {
        const float *r = dy + i * l->out;
        for (size_t k = 0; k < l->out; k++) gb[k] += r[k];
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)l->in, (int)l->out, 1.0f, dy, (int)l->out,
                    nn_w(s, l->W), (int)l->out, 0.0f, dx, (int)l->in);
}

int nn_layernorm_init(nn_layernorm *l, nn_store *s, size_t d) {
    l->d = d;
    l->eps = 1e-5f;
    int rc = nn_store_add(s, 1, d, false, &l->gamma);
    if (!rc) rc = nn_store_add(s, 1, d, false, &l->beta);
    return rc;
}

void nn_layernorm_reset(const nn_layernorm *l, nn_store *s) {
    float *g = nn_w(s, l->gamma), *b = nn_w(s, l->beta);
    for (size_t k = 0; k < l->d; k++) g[k] = 1.0f, b[k] = 0.0f;
}

void nn_layernorm_forward(const nn_store *s, const nn_layernorm *l, const float *x, size_t n, float *y,
                          float *mean, float *rstd) {
    const float *g = nn_w(s, l->gamma), *b = nn_w(s, l->beta);
    size_t d = l->d;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        float *yi = y + i * d;
        double mu = 0, var = 0;
        for (size_t k = 0; k < d; k++) mu += xi[k];
        mu /= (double)d;
        for (size_t k = 0; k < d; k++) var += ((double)xi[k] - mu) * ((double)xi[k] - mu);
        var /= (double)d;
        float r = (float)(1.0 / sqrt(var + l->eps)), m = (float)mu;
        mean[i] = m;
        rstd[i] = r;
        for (size_t k = 0; k < d; k++) yi[k] = (xi[k] - m) * r * g[k] + b[k];
    }
}

void nn_layernorm_backward(nn_store *s, const nn_layernorm *l, const float *x, const float *dy, const float *mean,
                           const float *rstd, size_t n, float *dx) {
    const float *g = nn_w(s, l->gamma);
    float *gg = nn_g(s, l->gamma), *gb = nn_g(s, l->beta);
    size_t d = l->d;
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * d, *dyi = dy + i * d;
        float *dxi = dx + i * d;
        float m = mean[i], r = rstd[i];
        float s1 = 0, s2 = 0; /* mean(dxhat), mean(dxhat * xhat) */
        for (size_t k = 0; k < d; k++) {
            float xh = (xi[k] - m) * r, dxh = dyi[k] * g[k];
            gg[k] += dyi[k] * xh;
            gb[k] += dyi[k];
            s1 += dxh;
            s2 += dxh * xh;
        }
        s1 /= (float)d;
        s2 /= (float)d;
        for (size_t k = 0; k < d; k++) {
            float xh = (xi[k] - m) * r;
            dxi[k] = r * (dyi[k] * g[k] - s1 - xh * s2);
        }
    }
}

/* GELU with the exact Gaussian CDF (Hendrycks & Gimpel 2016). */
void nn_act_forward(int act, const float *x, size_t n, float *y) {
    if (act == NN_ACT_RELU) {
        for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
    } else {
        for (size_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
    }
}

void nn_act_backward(int act, const float *x, const float *dy, size_t n, float *dx) {
    if (act == NN_ACT_RELU) {
        for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0.0f;
    } else {
        const float inv_sqrt_2pi = 0.3989422804014327f;
        for (size_t i = 0; i < n; i++) {
            float cdf = 0.5f * (1.0f + erff(x[i] * (float)M_SQRT1_2));
            float pdf = inv_sqrt_2pi * expf(-0.5f * x[i] * x[i]);
            dx[i] = dy[i] * (cdf + x[i] * pdf);
        }
    }
}

void nn_dropout_mask(size_t n, float p, core_rng *r, float *mask) {
    if (p <= 0) {
        for (size_t i = 0; i < n; i++) mask[i] = 1.0f;
        return;
    }
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) mask[i] = rng_float(r) < p ? 0.0f : keep;
}

void nn_dropout_forward(const float *x, size_t n, float p, core_rng *r, float *mask, float *y) {
    nn_dropout_mask(n, p, r, mask);
    for (size_t i = 0; i < n; i++) y[i] = x[i] * mask[i];
}

void nn_dropout_backward(const float *dy, const float *mask, size_t n, float *dx) {
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
}

void nn_softmax(float *x, size_t n) {
    if (n == 0) return;
    float mx = x[0];
    for (size_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++) x[i] *= inv;
}

void nn_log_softmax(float *x, size_t n) {
    if (n == 0) return;
    float mx = x[0];
    for (size_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    float lse = (float)(mx + log(sum));
    for (size_t i = 0; i < n; i++) x[i] -= lse;
}

/* log(1 + e^z) without overflow. */
static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

double nn_bce_logit(float z, float y, float *dz) {
    double sig = 1.0 / (1.0 + exp(-(double)z));
    *dz = (float)(sig - y);
    return y > 0.5f ? softplus(-(double)z) : softplus((double)z);
}

double nn_softmax_xent(const float *logits, size_t n, size_t target, float *grad) {
    float mx = logits[0];
    for (size_t i = 1; i < n; i++) mx = logits[i] > mx ? logits[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += exp((double)logits[i] - mx);
    double lse = mx + log(sum);
    for (size_t i = 0; i < n; i++) grad[i] = (float)exp((double)logits[i] - lse) - (i == target ? 1.0f : 0.0f);
    return lse - logits[target];
}
