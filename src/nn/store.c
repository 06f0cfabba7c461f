/* store.c - parameter store, initialisers and the AdamW optimizer with
 * warm-up, decay and global-norm gradient clipping. */
#include "nn.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

void nn_store_init(nn_store *s) { memset(s, 0, sizeof *s); }

void nn_store_free(nn_store *s) {
    if (!s) return;
    core_free(s->w);
    core_free(s->g);
    core_free(s->m);
    core_free(s->v);
    core_free(s->decay);
    core_free(s->lazy);
    core_free(s->rows_dense);
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
        unsigned char *rd = core_realloc(s->rows_dense, s->params_cap);
        if (!rd) return core_oom("nn parameter table");
        s->rows_dense = rd;
    }
    nn_param p = {s->n, rows, cols};
    s->params[s->n_params] = p;
    s->decay[s->n_params] = decay;
    s->lazy[s->n_params] = NULL;
    s->rows_dense[s->n_params] = 0;
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
        if (s->params[i].off == p.off) s->lazy[i] = touched, s->rows_dense[i] = 0;
}

void nn_store_set_grad_rows(nn_store *s, nn_param p, unsigned char *rows) {
    for (size_t i = 0; i < s->n_params; i++)
        if (s->params[i].off == p.off) s->lazy[i] = rows, s->rows_dense[i] = rows != NULL;
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

/* The update, four floats at a time where SSE2 is there: sqrtps and divps
 * round exactly like their scalar forms and no step is fused or
 * reordered, so both paths give the same bits (scalar sqrtf cannot be
 * vectorised by the compiler because of errno).  g NULL: a zero gradient,
 * computed as one (the same bits) without reading it. */
static void adam_span(float *w, const float *g, float *m, float *v, size_t n, float gscale, float wd, float b1,
                      float b2, float step_size, float vcorr, float eps) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128 vgs = _mm_set1_ps(gscale), vwd = _mm_set1_ps(wd), vb1 = _mm_set1_ps(b1), vb2 = _mm_set1_ps(b2);
    const __m128 v1b1 = _mm_set1_ps(1.0f - b1), v1b2 = _mm_set1_ps(1.0f - b2), vss = _mm_set1_ps(step_size);
    const __m128 vvc = _mm_set1_ps(vcorr), veps = _mm_set1_ps(eps);
    for (; i + 4 <= n; i += 4) {
        __m128 gi = g ? _mm_mul_ps(_mm_loadu_ps(g + i), vgs) : _mm_setzero_ps();
        __m128 mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(v1b1, gi));
        __m128 vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)), _mm_mul_ps(_mm_mul_ps(v1b2, gi), gi));
        __m128 den = _mm_add_ps(_mm_sqrt_ps(_mm_mul_ps(vi, vvc)), veps);
        __m128 wi = _mm_sub_ps(_mm_mul_ps(_mm_loadu_ps(w + i), vwd), _mm_div_ps(_mm_mul_ps(vss, mi), den));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        _mm_storeu_ps(w + i, wi);
    }
#endif
    for (; i < n; i++) {
        float gi = g ? g[i] * gscale : 0.0f;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        w[i] = w[i] * wd - step_size * m[i] / (sqrtf(v[i] * vcorr) + eps);
    }
}

/* Row r of tensor p: flagged rows of a lazy or grad-rows tensor are
 * updated and their gradient and flag cleared; unflagged rows are skipped
 * (lazy) or updated with their zero gradient left unread (grad rows). */
static void adam_flagged_row(nn_store *s, size_t p, size_t r, float gscale, float wd, const nn_adamw *o,
                             float step_size, float vcorr) {
    nn_param q = s->params[p];
    size_t off = q.off + r * q.cols;
    bool has_g = s->lazy[p][r] != 0;
    if (!has_g && !s->rows_dense[p]) return;
    adam_span(s->w + off, has_g ? s->g + off : NULL, s->m + off, s->v + off, q.cols, gscale, wd, o->beta1,
              o->beta2, step_size, vcorr, o->eps);
    if (!has_g) return;
    memset(s->g + off, 0, q.cols * sizeof *s->g);
    s->lazy[p][r] = 0;
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
        for (size_t r = 0; r < q.rows; r++) adam_flagged_row(s, p, r, gscale, wd, o, step_size, vcorr);
    }
    return norm;
}

/* ---- the same step split over a thread pool (nn_adamw_step_pool) ----
 * Work units are row ranges of one tensor of about ADAM_UNIT floats, fixed
 * by the store's shape alone: each unit's squared-norm partial sum has its
 * own slot, and the slots are added in unit order, so the norm, and hence
 * every update, is the same for any thread count. */
#define ADAM_UNIT 16384

typedef struct adam_job {
    nn_store *s;
    const nn_adamw *o;
    double *partial; /* per unit */
    size_t n_units;
    float gscale, lr, step_size, vcorr;
} adam_job;

static size_t adam_rows_per_unit(nn_param q) { return q.cols >= ADAM_UNIT ? 1 : ADAM_UNIT / (q.cols ? q.cols : 1); }

/* Units of tensor p, and the tensor and first row of unit u. */
static size_t adam_units_of(nn_param q) {
    size_t per = adam_rows_per_unit(q);
    return q.rows ? (q.rows + per - 1) / per : 0;
}

static void adam_locate(const nn_store *s, size_t u, size_t *p, size_t *r0, size_t *r1) {
    size_t i = 0;
    for (;; i++) {
        size_t k = adam_units_of(s->params[i]);
        if (u < k) break;
        u -= k;
    }
    nn_param q = s->params[i];
    size_t per = adam_rows_per_unit(q);
    *p = i;
    *r0 = u * per;
    *r1 = *r0 + per < q.rows ? *r0 + per : q.rows;
}

/* Sum of squares in double, in four lanes (lane k: elements 4i+k), added
 * as (l0 + l1) + (l2 + l3), then the tail: the same order with and
 * without SSE2. */
static double sum_squares(const float *g, size_t n) {
    size_t i = 0;
    double acc;
#if defined(__SSE2__)
    __m128d a01 = _mm_setzero_pd(), a23 = _mm_setzero_pd();
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(g + i);
        __m128d lo = _mm_cvtps_pd(x), hi = _mm_cvtps_pd(_mm_movehl_ps(x, x));
        a01 = _mm_add_pd(a01, _mm_mul_pd(lo, lo));
        a23 = _mm_add_pd(a23, _mm_mul_pd(hi, hi));
    }
    double l[4];
    _mm_storeu_pd(l, a01);
    _mm_storeu_pd(l + 2, a23);
#else
    double l[4] = {0, 0, 0, 0};
    for (; i + 4 <= n; i += 4)
        for (size_t k = 0; k < 4; k++) l[k] += (double)g[i + k] * (double)g[i + k];
#endif
    acc = (l[0] + l[1]) + (l[2] + l[3]);
    for (; i < n; i++) acc += (double)g[i] * (double)g[i];
    return acc;
}

static int adam_norm_units(void *vjob, size_t begin, size_t end, int tid) {
    (void)tid;
    adam_job *j = vjob;
    const nn_store *s = j->s;
    for (size_t u = begin; u < end; u++) {
        size_t p, r0, r1;
        adam_locate(s, u, &p, &r0, &r1);
        nn_param q = s->params[p];
        double acc = 0;
        if (!s->lazy[p]) acc = sum_squares(s->g + q.off + r0 * q.cols, (r1 - r0) * q.cols);
        else
            for (size_t r = r0; r < r1; r++)
                if (s->lazy[p][r]) acc += sum_squares(s->g + q.off + r * q.cols, q.cols);
        j->partial[u] = acc;
    }
    return AISLE_OK;
}

static int adam_update_units(void *vjob, size_t begin, size_t end, int tid) {
    (void)tid;
    adam_job *j = vjob;
    nn_store *s = j->s;
    const nn_adamw *o = j->o;
    for (size_t u = begin; u < end; u++) {
        size_t p, r0, r1;
        adam_locate(s, u, &p, &r0, &r1);
        nn_param q = s->params[p];
        float wd = s->decay[p] ? 1.0f - j->lr * o->weight_decay : 1.0f;
        if (s->lazy[p]) {
            for (size_t r = r0; r < r1; r++) adam_flagged_row(s, p, r, j->gscale, wd, o, j->step_size, j->vcorr);
            continue;
        }
        size_t off = q.off + r0 * q.cols, n = (r1 - r0) * q.cols;
        adam_span(s->w + off, s->g + off, s->m + off, s->v + off, n, j->gscale, wd, o->beta1, o->beta2, j->step_size,
                  j->vcorr, o->eps);
        memset(s->g + off, 0, n * sizeof *s->g);
    }
    return AISLE_OK;
}

int nn_adamw_step_pool(nn_store *s, const nn_adamw *o, core_pool *pool, double *norm) {
    adam_job j = {.s = s, .o = o};
    for (size_t p = 0; p < s->n_params; p++) j.n_units += adam_units_of(s->params[p]);
    j.partial = core_malloc((j.n_units ? j.n_units : 1) * sizeof *j.partial);
    if (!j.partial) return core_oom("nn optimizer step");
    /* a unit is ~64 KB of gradient: a few per thread pay for the wake-up */
    if (j.n_units < 4 * (size_t)core_pool_threads(pool)) pool = NULL;
    int rc = core_pool_for(pool, j.n_units, 1, adam_norm_units, &j);
    if (rc) {
        core_free(j.partial);
        return rc;
    }
    double acc = 0;
    for (size_t u = 0; u < j.n_units; u++) acc += j.partial[u];
    core_free(j.partial);
    double nrm = sqrt(acc);
    j.gscale = o->clip_norm > 0 && nrm > o->clip_norm ? (float)(o->clip_norm / nrm) : 1.0f;
    j.lr = nn_adamw_lr(o, s->step);
    s->step++;
    double b1t = 1.0 - pow(o->beta1, (double)s->step), b2t = 1.0 - pow(o->beta2, (double)s->step);
    j.step_size = (float)(j.lr / b1t);
    j.vcorr = (float)(1.0 / b2t);
    rc = core_pool_for(pool, j.n_units, 1, adam_update_units, &j);
    if (rc) return rc;
    if (norm) *norm = nrm;
    return AISLE_OK;
}
