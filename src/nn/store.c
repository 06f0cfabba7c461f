/* store.c - parameter store, initialisers and the AdamW optimizer with
 * warm-up, decay and global-norm gradient clipping. */
#include "nn.h"

#include <math.h>
#include <string.h>

void nn_store_init(nn_store *s) { memset(s, 0, sizeof *s); }

void nn_store_free(nn_store *s) {
    if (!s) return;
    core_free(s->w);
    core_free(s->g);
    core_free(s->m);
    core_free(s->v);
    core_free(s->decay);
    core_free(s->lazy);
    core_free(s->params);
    nn_store_init(s);
}

int nn_store_add(nn_store *s, size_t rows, size_t cols, bool decay, nn_param *out) {
    size_t cap = s->params_cap;
    int rc = core_grow((void **)&s->params, &s->params_cap, s->n_params + 1, sizeof *s->params);
    if (rc) return rc;
    if (s->params_cap != cap) {
        unsigned char *d = core_realloc(s->decay, s->params_cap);
        if (!d) return core_oom("nn parameter table");
        s->decay = d;
        unsigned char **lz = core_realloc(s->lazy, s->params_cap * sizeof *lz);
        if (!lz) return core_oom("nn parameter table");
        s->lazy = lz;
    }
    nn_param p = {s->n, rows, cols};
    s->params[s->n_params] = p;
    s->decay[s->n_params] = decay;
    s->lazy[s->n_params] = NULL;
    s->n_params++;
    s->n += rows * cols;
    *out = p;
    return AISLE_OK;
}

int nn_store_alloc(nn_store *s, bool training) {
    size_t n = s->n ? s->n : 1;
    s->w = core_calloc(n, sizeof *s->w);
    if (!s->w) return core_oom("nn parameters");
    if (training) {
        s->g = core_calloc(n, sizeof *s->g);
        s->m = core_calloc(n, sizeof *s->m);
        s->v = core_calloc(n, sizeof *s->v);
        if (!s->g || !s->m || !s->v) return core_oom("nn gradients and optimizer moments");
    }
    s->step = 0;
    return AISLE_OK;
}

void nn_zero_grad(nn_store *s) {
    for (size_t p = 0; p < s->n_params; p++)
        if (!s->lazy[p]) memset(s->g + s->params[p].off, 0, nn_size(s->params[p]) * sizeof *s->g);
}

void nn_store_set_lazy(nn_store *s, nn_param p, unsigned char *touched) {
    for (size_t i = 0; i < s->n_params; i++)
        if (s->params[i].off == p.off) s->lazy[i] = touched;
}

void nn_init_normal(nn_store *s, nn_param p, float std, core_rng *r) {
    float *w = nn_w(s, p);
    for (size_t i = 0; i < nn_size(p); i++) w[i] = std * rng_normal(r);
}

void nn_init_uniform(nn_store *s, nn_param p, float a, core_rng *r) {
    float *w = nn_w(s, p);
    for (size_t i = 0; i < nn_size(p); i++) w[i] = a * (2.0f * rng_float(r) - 1.0f);
}

float nn_adamw_lr(const nn_adamw *o, int64_t step) {
    double lr = o->lr;
    if (o->warmup_steps > 0 && step < o->warmup_steps) return (float)(lr * (double)(step + 1) / (double)o->warmup_steps);
    if (o->total_steps > o->warmup_steps && o->decay != NN_DECAY_NONE) {
        double t = (double)(step - o->warmup_steps) / (double)(o->total_steps - o->warmup_steps);
        if (t > 1) t = 1;
        /* decay to 10% of the peak rather than 0, so late epochs still learn */
        double f = o->decay == NN_DECAY_LINEAR ? 1.0 - t : 0.5 * (1.0 + cos(M_PI * t));
        lr *= 0.1 + 0.9 * f;
    }
    return (float)lr;
}

double nn_grad_norm(const nn_store *s) {
    double acc = 0;
    for (size_t p = 0; p < s->n_params; p++) {
        nn_param q = s->params[p];
        for (size_t r = 0; r < q.rows; r++) {
            if (s->lazy[p] && !s->lazy[p][r]) continue;
            const float *g = s->g + q.off + r * q.cols;
            for (size_t i = 0; i < q.cols; i++) acc += (double)g[i] * g[i];
        }
    }
    return sqrt(acc);
}

static void adam_span(float *w, float *g, float *m, float *v, size_t n, float gscale, float wd, float b1, float b2,
                      float step_size, float vcorr, float eps) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gscale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] = w[i] * wd - step_size * m[i] / (sqrtf(v[i] * vcorr) + eps);
    }
}

double nn_adamw_step(nn_store *s, const nn_adamw *o) {
    double norm = nn_grad_norm(s);
    float gscale = 1.0f;
    if (o->clip_norm > 0 && norm > o->clip_norm) gscale = (float)(o->clip_norm / norm);
    float lr = nn_adamw_lr(o, s->step);
    s->step++;
    double b1t = 1.0 - pow(o->beta1, (double)s->step), b2t = 1.0 - pow(o->beta2, (double)s->step);
    float step_size = (float)(lr / b1t), vcorr = (float)(1.0 / b2t);
    float b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    for (size_t p = 0; p < s->n_params; p++) {
        nn_param q = s->params[p];
        float wd = s->decay[p] ? 1.0f - lr * o->weight_decay : 1.0f;
        if (!s->lazy[p]) {
            adam_span(s->w + q.off, s->g + q.off, s->m + q.off, s->v + q.off, nn_size(q), gscale, wd, b1, b2,
                      step_size, vcorr, eps);
            continue;
        }
        for (size_t r = 0; r < q.rows; r++) {
            if (!s->lazy[p][r]) continue;
            size_t off = q.off + r * q.cols;
            adam_span(s->w + off, s->g + off, s->m + off, s->v + off, q.cols, gscale, wd, b1, b2, step_size, vcorr,
                      eps);
            memset(s->g + off, 0, q.cols * sizeof *s->g);
            s->lazy[p][r] = 0;
        }
    }
    return norm;
}
