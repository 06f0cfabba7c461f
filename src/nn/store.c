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
    }
    nn_param p = {s->n, rows, cols};
    s->params[s->n_params] = p;
    s->decay[s->n_params] = decay;
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

void nn_zero_grad(nn_store *s) { memset(s->g, 0, s->n * sizeof *s->g); }

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
    for (size_t i = 0; i < s->n; i++) acc += (double)s->g[i] * s->g[i];
    return sqrt(acc);
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
        size_t off = s->params[p].off, n = nn_size(s->params[p]);
        float *w = s->w + off, *g = s->g + off, *m = s->m + off, *v = s->v + off;
        float wd = s->decay[p] ? 1.0f - lr * o->weight_decay : 1.0f;
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] * gscale;
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            w[i] = w[i] * wd - step_size * m[i] / (sqrtf(v[i] * vcorr) + eps);
        }
    }
    return norm;
}
