/* attention.c - ragged batches, multi-head scaled dot-product attention
 * (Vaswani et al. 2017) with an optional causal mask, and the encoder
 * blocks built from it (pre-LN or the SASRec authors' layout).  Attention
 * work is split over (sequence, head) pairs; each pair writes only its own
 * slices, so results do not depend on the thread count. */
#include "nn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

int nn_batch_alloc(nn_batch *bt, size_t max_batch) {
    memset(bt, 0, sizeof *bt);
    bt->offs = core_calloc(max_batch + 1, sizeof *bt->offs);
    bt->poffs = core_calloc(max_batch + 1, sizeof *bt->poffs);
    if (!bt->offs || !bt->poffs) {
        nn_batch_free(bt);
        return core_oom("nn batch");
    }
    bt->cap = max_batch;
    return AISLE_OK;
}

void nn_batch_free(nn_batch *bt) {
    core_free(bt->offs);
    core_free(bt->poffs);
    memset(bt, 0, sizeof *bt);
}

void nn_batch_set(nn_batch *bt, const size_t *lens, size_t batch) {
    bt->batch = batch;
    bt->max_len = 0;
    bt->offs[0] = bt->poffs[0] = 0;
    for (size_t b = 0; b < batch; b++) {
        bt->offs[b + 1] = bt->offs[b] + lens[b];
        bt->poffs[b + 1] = bt->poffs[b] + lens[b] * lens[b];
        if (lens[b] > bt->max_len) bt->max_len = lens[b];
    }
    bt->rows = bt->offs[batch];
}

typedef struct attn_ctx {
    const nn_attn_shape *sh;
    const nn_batch *bt;
    const float *qkv;
    const float *P;
    const float *dmask; /* attention dropout mask laid out like P, or NULL */
    float *Pw;
    float *out;
    const float *dout;
    float *dqkv;
    float *scratch;
} attn_ctx;

static int attn_fwd_range(void *vctx, size_t begin, size_t end, int tid) {
    (void)tid;
    const attn_ctx *c = vctx;
    const nn_attn_shape *sh = c->sh;
    size_t d = sh->d, H = (size_t)sh->heads, dh = d / H, ld = 3 * d;
    float scale = 1.0f / sqrtf((float)dh);
    for (size_t task = begin; task < end; task++) {
        size_t b = task / H, h = task % H;
        size_t T = c->bt->offs[b + 1] - c->bt->offs[b];
        const float *base = c->qkv + c->bt->offs[b] * ld;
        float *P = c->Pw + H * c->bt->poffs[b] + h * T * T;
        for (size_t i = 0; i < T; i++) {
            const float *q = base + i * ld + h * dh;
            float *p = P + i * T;
            size_t jend = sh->mask == NN_MASK_CAUSAL ? i + 1 : T;
            float mx = -INFINITY;
            for (size_t j = 0; j < jend; j++) {
                const float *k = base + j * ld + d + h * dh;
                float s = 0;
                for (size_t t = 0; t < dh; t++) s += q[t] * k[t];
                p[j] = s * scale;
                if (p[j] > mx) mx = p[j];
            }
            float sum = 0;
            for (size_t j = 0; j < jend; j++) {
                p[j] = expf(p[j] - mx);
                sum += p[j];
            }
            for (size_t j = jend; j < T; j++) p[j] = 0.0f;
            float inv = 1.0f / sum;
            float *o = c->out + (c->bt->offs[b] + i) * d + h * dh;
            memset(o, 0, dh * sizeof *o);
            const float *m = c->dmask ? c->dmask + (p - c->Pw) : NULL;
            for (size_t j = 0; j < jend; j++) {
                p[j] *= inv;
                float pj = m ? p[j] * m[j] : p[j];
                const float *v = base + j * ld + 2 * d + h * dh;
                for (size_t t = 0; t < dh; t++) o[t] += pj * v[t];
            }
        }
    }
    return AISLE_OK;
}

int nn_attention_forward(const nn_attn_shape *sh, const nn_batch *bt, const float *qkv, float *P,
                         const float *dmask, float *out, int threads) {
    attn_ctx c = {.sh = sh, .bt = bt, .qkv = qkv, .Pw = P, .dmask = dmask, .out = out};
    size_t tasks = bt->batch * (size_t)sh->heads;
    /* threads cost a spawn each call: only worth it for enough work */
    if (bt->rows * bt->max_len * sh->d < (1u << 18)) threads = 1;
    return core_parallel_for(threads, tasks, 1, attn_fwd_range, &c);
}

static int attn_bwd_range(void *vctx, size_t begin, size_t end, int tid) {
    const attn_ctx *c = vctx;
    const nn_attn_shape *sh = c->sh;
    size_t d = sh->d, H = (size_t)sh->heads, dh = d / H, ld = 3 * d;
    float scale = 1.0f / sqrtf((float)dh);
    float *dp = c->scratch + (size_t)tid * c->bt->max_len;
    for (size_t task = begin; task < end; task++) {
        size_t b = task / H, h = task % H;
        size_t T = c->bt->offs[b + 1] - c->bt->offs[b];
        const float *base = c->qkv + c->bt->offs[b] * ld;
        float *dbase = c->dqkv + c->bt->offs[b] * ld;
        const float *P = c->P + H * c->bt->poffs[b] + h * T * T;
        for (size_t i = 0; i < T; i++)
            for (size_t w = 0; w < 3; w++) memset(dbase + i * ld + w * d + h * dh, 0, dh * sizeof(float));
        for (size_t i = 0; i < T; i++) {
            const float *p = P + i * T;
            const float *m = c->dmask ? c->dmask + (p - c->P) : NULL;
            size_t jend = sh->mask == NN_MASK_CAUSAL ? i + 1 : T;
            const float *go = c->dout + (c->bt->offs[b] + i) * d + h * dh;
            const float *q = base + i * ld + h * dh;
            float *dq = dbase + i * ld + h * dh;
            /* dP_ij = M_ij dO_i . V_j;  dV_j += P_ij M_ij dO_i (M: dropout
             * mask, 1 without) */
            float dot = 0;
            for (size_t j = 0; j < jend; j++) {
                const float *v = base + j * ld + 2 * d + h * dh;
                float *dv = dbase + j * ld + 2 * d + h * dh;
                float mj = m ? m[j] : 1.0f, pm = p[j] * mj;
                float s = 0;
                for (size_t t = 0; t < dh; t++) {
                    s += go[t] * v[t];
                    dv[t] += pm * go[t];
                }
                dp[j] = s * mj;
                dot += p[j] * dp[j];
            }
            /* softmax backward: dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik) */
            for (size_t j = 0; j < jend; j++) {
                float ds = p[j] * (dp[j] - dot) * scale;
                const float *k = base + j * ld + d + h * dh;
                float *dk = dbase + j * ld + d + h * dh;
                for (size_t t = 0; t < dh; t++) {
                    dq[t] += ds * k[t];
                    dk[t] += ds * q[t];
                }
            }
        }
    }
    return AISLE_OK;
}

int nn_attention_backward(const nn_attn_shape *sh, const nn_batch *bt, const float *qkv, const float *P,
                          const float *dmask, const float *dout, float *dqkv, float *scratch, int threads) {
    attn_ctx c = {.sh = sh, .bt = bt, .qkv = qkv, .P = P, .dmask = dmask, .dout = dout, .dqkv = dqkv,
                  .scratch = scratch};
    if (bt->rows * bt->max_len * sh->d < (1u << 18)) threads = 1;
    return core_parallel_for(threads, bt->batch * (size_t)sh->heads, 1, attn_bwd_range, &c);
}

/* ---- encoder block ---- */

int nn_block_init(nn_block *b, nn_store *s, const nn_block_cfg *c) {
    if (c->heads < 1 || c->d % (size_t)c->heads)
        return core_error(AISLE_EINVAL, "transformer block: width %zu is not a multiple of heads %d", c->d, c->heads);
    b->c = *c;
    int rc = nn_layernorm_init(&b->ln1, s, c->d);
    if (!rc) rc = nn_linear_init(&b->qkv, s, c->d, 3 * c->d);
    if (!rc) rc = nn_linear_init(&b->proj, s, c->d, c->d);
    if (!rc) rc = nn_layernorm_init(&b->ln2, s, c->d);
    if (!rc) rc = nn_linear_init(&b->ff1, s, c->d, c->ff);
    if (!rc) rc = nn_linear_init(&b->ff2, s, c->ff, c->d);
    return rc;
}

void nn_block_reset(const nn_block *b, nn_store *s, core_rng *r) {
    nn_layernorm_reset(&b->ln1, s);
    nn_layernorm_reset(&b->ln2, s);
    nn_linear_reset(&b->qkv, s, r);
    nn_linear_reset(&b->proj, s, r);
    nn_linear_reset(&b->ff1, s, r);
    nn_linear_reset(&b->ff2, s, r);
}

void nn_block_cache_free(nn_block_cache *c) {
    if (!c) return;
    float **bufs[] = {&c->x, &c->a1, &c->mean1, &c->rstd1, &c->qkv, &c->P, &c->att, &c->o, &c->mask1, &c->x1,
                      &c->a2, &c->mean2, &c->rstd2, &c->h, &c->act, &c->f, &c->mask2, &c->mask3, &c->amask,
                      &c->d_ff, &c->d_qkv, &c->d_n1, &c->d_n2, &c->scratch};
    for (size_t i = 0; i < CORE_ARRAY_LEN(bufs); i++) {
        core_free(*bufs[i]);
        *bufs[i] = NULL;
    }
}

int nn_block_cache_alloc(nn_block_cache *c, const nn_block_cfg *cfg, size_t max_rows, size_t max_len, int threads,
                         bool training) {
    memset(c, 0, sizeof *c);
    c->max_rows = max_rows;
    c->max_len = max_len;
    c->threads = threads < 1 ? 1 : threads;
    size_t n = max_rows, len = max_len, d = cfg->d, f = cfg->ff, H = (size_t)cfg->heads;
    struct {
        float **p;
        size_t count;
        bool train_only;
    } want[] = {
        {&c->x, n * d, false},     {&c->a1, n * d, false},    {&c->mean1, n, false},       {&c->rstd1, n, false},
        {&c->qkv, n * 3 * d, false}, {&c->P, n * H * len, false}, {&c->att, n * d, false},  {&c->o, n * d, false},
        {&c->mask1, n * d, true},  {&c->x1, n * d, false},    {&c->a2, n * d, false},      {&c->mean2, n, false},
        {&c->rstd2, n, false},     {&c->h, n * f, false},     {&c->act, n * f, false},     {&c->f, n * d, false},
        {&c->mask2, n * d, true},  {&c->mask3, n * f, true},   {&c->amask, n * H * len, true},
        {&c->d_ff, n * f, true},   {&c->d_qkv, n * 3 * d, true}, {&c->d_n1, n * d, true},
        {&c->d_n2, n * d, true},   {&c->scratch, (size_t)c->threads * len, true},
    };
    for (size_t i = 0; i < CORE_ARRAY_LEN(want); i++) {
        if (want[i].train_only && !training) continue;
        *want[i].p = core_malloc((want[i].count ? want[i].count : 1) * sizeof(float));
        if (!*want[i].p) {
            nn_block_cache_free(c);
            return core_oom("transformer block workspace");
        }
    }
    return AISLE_OK;
}

/* SASREC layout: queries from LN1(x), keys and values from x itself; the
 * qkv linear's weight columns [0,d) act on LN1(x), [d,3d) on x. */
static void qkv_split_forward(const nn_store *s, const nn_linear *l, const float *a1, const float *x, size_t n,
                              float *qkv) {
    size_t d = l->in, ld = l->out;
    const float *bias = nn_w(s, l->b), *W = nn_w(s, l->W);
    for (size_t i = 0; i < n; i++) memcpy(qkv + i * ld, bias, ld * sizeof *qkv);
    if (n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)d, 1.0f, a1, (int)d, W, (int)ld, 1.0f,
                qkv, (int)ld);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)(2 * d), (int)d, 1.0f, x, (int)d, W + d,
                (int)ld, 1.0f, qkv + d, (int)ld);
}

/* Gradients of qkv_split_forward: parameter gradients accumulate; da1 +=
 * dQ Wq^T; dx = dKV Wkv^T (overwritten). */
static void qkv_split_backward(nn_store *s, const nn_linear *l, const float *a1, const float *x, const float *dqkv,
                               size_t n, float *da1, float *dx) {
    size_t d = l->in, ld = l->out;
    if (n == 0) return;
    float *gW = nn_g(s, l->W), *gb = nn_g(s, l->b);
    const float *W = nn_w(s, l->W);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)n, 1.0f, a1, (int)d, dqkv, (int)ld, 1.0f,
                gW, (int)ld);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)(2 * d), (int)n, 1.0f, x, (int)d, dqkv + d,
                (int)ld, 1.0f, gW + d, (int)ld);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < ld; k++) gb[k] += dqkv[i * ld + k];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)d, (int)d, 1.0f, dqkv, (int)ld, W, (int)ld, 1.0f,
                da1, (int)d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)d, (int)(2 * d), 1.0f, dqkv + d, (int)ld, W + d,
                (int)ld, 0.0f, dx, (int)d);
}

/* Keyed dropout (nn_batch.keys): sequence b's part of mask, units
 * [offs[b] * per, offs[b+1] * per), from the stream (keys[b], salt, which). */
enum { MASK_ATTN = 0, MASK_PROJ = 1, MASK_FF = 2, MASK_MID = 3 };
static void keyed_mask(const nn_batch *bt, const size_t *offs, size_t per, float p, uint64_t salt, int which,
                       float *mask) {
    for (size_t b = 0; b < bt->batch; b++) {
        core_rng r;
        rng_seed_stream(&r, bt->keys[b], salt * 4 + (uint64_t)which);
        nn_dropout_mask((offs[b + 1] - offs[b]) * per, p, &r, mask + offs[b] * per);
    }
}

/* Dropout of x[rows x width] in place, the mask into mask. */
static void block_dropout(const nn_batch *bt, uint64_t salt, int which, size_t width, float p, core_rng *rng,
                          float *mask, float *x) {
    size_t n = bt->rows * width;
    if (!bt->keys) {
        nn_dropout_forward(x, n, p, rng, mask, x);
        return;
    }
    keyed_mask(bt, bt->offs, width, p, salt, which, mask);
    for (size_t i = 0; i < n; i++) x[i] *= mask[i];
}

int nn_block_forward(const nn_store *s, const nn_block *b, nn_block_cache *c, const nn_batch *bt, const float *x,
                     bool training, core_rng *rng, float *y) {
    size_t n = bt->rows, d = b->c.d, f = b->c.ff;
    float p = training ? b->c.dropout : 0.0f;
    bool sasrec = b->c.layout == NN_LAYOUT_SASREC, adrop = training && b->c.attn_dropout > 0;
    memcpy(c->x, x, n * d * sizeof *x);
    nn_layernorm_forward(s, &b->ln1, c->x, n, c->a1, c->mean1, c->rstd1);
    if (sasrec)
        qkv_split_forward(s, &b->qkv, c->a1, c->x, n, c->qkv);
    else
        nn_linear_forward(s, &b->qkv, c->a1, n, c->qkv);
    /* drawn here, before the parallel attention, so the random stream does
     * not depend on the thread count */
    if (adrop && bt->keys)
        keyed_mask(bt, bt->poffs, (size_t)b->c.heads, b->c.attn_dropout, c->salt, MASK_ATTN, c->amask);
    else if (adrop)
        nn_dropout_mask(nn_attn_weights(bt, b->c.heads), b->c.attn_dropout, rng, c->amask);
    nn_attn_shape sh = {d, b->c.heads, b->c.mask};
    int rc = nn_attention_forward(&sh, bt, c->qkv, c->P, adrop ? c->amask : NULL, c->att, c->threads);
    if (rc) return rc;
    nn_linear_forward(s, &b->proj, c->att, n, c->o);
    if (p > 0) block_dropout(bt, c->salt, MASK_PROJ, d, p, rng, c->mask1, c->o);
    const float *res1 = sasrec ? c->a1 : c->x; /* SASREC: the residual is the normalised query */
    for (size_t i = 0; i < n * d; i++) c->x1[i] = res1[i] + c->o[i];
    nn_layernorm_forward(s, &b->ln2, c->x1, n, c->a2, c->mean2, c->rstd2);
    nn_linear_forward(s, &b->ff1, c->a2, n, c->h);
    nn_act_forward(b->c.act, c->h, n * f, c->act);
    if (sasrec && p > 0) block_dropout(bt, c->salt, MASK_MID, f, p, rng, c->mask3, c->act);
    nn_linear_forward(s, &b->ff2, c->act, n, c->f);
    if (p > 0) block_dropout(bt, c->salt, MASK_FF, d, p, rng, c->mask2, c->f);
    const float *res2 = sasrec ? c->a2 : c->x1;
    for (size_t i = 0; i < n * d; i++) y[i] = res2[i] + c->f[i];
    return AISLE_OK;
}

int nn_block_backward(nn_store *s, const nn_block *b, nn_block_cache *c, const nn_batch *bt, const float *dy,
                      float *dx) {
    size_t n = bt->rows, d = b->c.d, f = b->c.ff;
    bool drop = b->c.dropout > 0, sasrec = b->c.layout == NN_LAYOUT_SASREC;
    /* FFN branch: d_n1 = dropout'(dy) */
    if (drop)
        nn_dropout_backward(dy, c->mask2, n * d, c->d_n1);
    else
        memcpy(c->d_n1, dy, n * d * sizeof *dy);
    nn_linear_backward(s, &b->ff2, c->act, c->d_n1, n, c->d_ff);
    if (sasrec && drop) nn_dropout_backward(c->d_ff, c->mask3, n * f, c->d_ff);
    nn_act_backward(b->c.act, c->h, c->d_ff, n * f, c->d_ff);
    nn_linear_backward(s, &b->ff1, c->a2, c->d_ff, n, c->d_n2);
    if (sasrec) /* y = a2 + FFN(a2): the residual joins before LN2 */
        for (size_t i = 0; i < n * d; i++) c->d_n2[i] += dy[i];
    nn_layernorm_backward(s, &b->ln2, c->x1, c->d_n2, c->mean2, c->rstd2, n, c->d_n1);
    /* dx1: gradient at x1 */
    if (sasrec)
        memcpy(dx, c->d_n1, n * d * sizeof *dx);
    else
        for (size_t i = 0; i < n * d; i++) dx[i] = dy[i] + c->d_n1[i];
    /* attention branch */
    if (drop)
        nn_dropout_backward(dx, c->mask1, n * d, c->d_n1);
    else
        memcpy(c->d_n1, dx, n * d * sizeof *dx);
    nn_linear_backward(s, &b->proj, c->att, c->d_n1, n, c->d_n2);
    nn_attn_shape sh = {d, b->c.heads, b->c.mask};
    int rc = nn_attention_backward(&sh, bt, c->qkv, c->P, b->c.attn_dropout > 0 ? c->amask : NULL, c->d_n2, c->d_qkv,
                                   c->scratch, c->threads);
    if (rc) return rc;
    if (sasrec) {
        /* d_a1 = dx1 (residual) + dQ Wq^T, in d_n1; dx = dKV Wkv^T + LN1'(d_a1) */
        memcpy(c->d_n1, dx, n * d * sizeof *dx);
        qkv_split_backward(s, &b->qkv, c->a1, c->x, c->d_qkv, n, c->d_n1, dx);
    } else {
        nn_linear_backward(s, &b->qkv, c->a1, c->d_qkv, n, c->d_n1);
    }
    nn_layernorm_backward(s, &b->ln1, c->x, c->d_n1, c->mean1, c->rstd1, n, c->d_n2);
    for (size_t i = 0; i < n * d; i++) dx[i] += c->d_n2[i];
    return AISLE_OK;
}
