/* test_nn.c - the neural-network engine: every layer's backward pass
 * against central finite differences, the optimizer, and thread-count
 * independence of attention. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "util/test_util.h"

/* ---- finite-difference harness ----
 * The scalar checked is L = sum_i r_i * y_i (r fixed random), accumulated
 * in double; its gradient wrt y is r, fed to the backward. */

typedef struct gc_case gc_case;
struct gc_case {
    double (*loss)(gc_case *c);  /* forward, returns L */
    void (*backward)(gc_case *c); /* forward + backward with dy = r; fills analytic grads */
    void *ctx;
};

/* Relative error ||a - num|| / max(||a||, ||num||) over one array. */
static double gc_check(gc_case *c, float *x, const float *analytic, size_t n, float eps) {
    double diff = 0, na = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = c->loss(c);
        x[i] = keep - eps;
        double lm = c->loss(c);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * (double)eps);
        diff += (num - analytic[i]) * (num - analytic[i]);
        na += (double)analytic[i] * analytic[i];
        nn += num * num;
    }
    double den = sqrt(na > nn ? na : nn);
    assert_true(den > 1e-6); /* a zero gradient would make the check vacuous */
    return sqrt(diff) / den;
}

static void fill_normal(float *x, size_t n, core_rng *r, float std) {
    for (size_t i = 0; i < n; i++) x[i] = std * rng_normal(r);
}

static double dot_r(const float *y, const float *r, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * r[i];
    return s;
}

/* ---- linear ---- */
typedef struct {
    nn_store s;
    nn_linear l;
    size_t n;
    float *x, *y, *r, *dx;
} lin_ctx;

static double lin_loss(gc_case *c) {
    lin_ctx *k = c->ctx;
    nn_linear_forward(&k->s, &k->l, k->x, k->n, k->y);
    return dot_r(k->y, k->r, k->n * k->l.out);
}
static void lin_back(gc_case *c) {
    lin_ctx *k = c->ctx;
    nn_zero_grad(&k->s);
    lin_loss(c);
    nn_linear_backward(&k->s, &k->l, k->x, k->r, k->n, k->dx);
}

static void test_linear_backward_matches_finite_differences(void **state) {
    (void)state;
    lin_ctx k = {.n = 5};
    core_rng r;
    rng_seed(&r, 1);
    nn_store_init(&k.s);
    assert_ok(nn_linear_init(&k.l, &k.s, 4, 3));
    assert_ok(nn_store_alloc(&k.s, true));
    nn_linear_reset(&k.l, &k.s, &r);
    fill_normal(nn_w(&k.s, k.l.b), 3, &r, 0.5f);
    float x[20], y[15], rr[15], dx[20];
    fill_normal(x, 20, &r, 1);
    fill_normal(rr, 15, &r, 1);
    k.x = x, k.y = y, k.r = rr, k.dx = dx;
    gc_case c = {lin_loss, lin_back, &k};
    lin_back(&c);
    float gx[20];
    memcpy(gx, dx, sizeof gx);
    assert_true(gc_check(&c, x, gx, 20, 1e-2f) < 1e-3);
    assert_true(gc_check(&c, nn_w(&k.s, k.l.W), nn_g(&k.s, k.l.W), 12, 1e-2f) < 1e-3);
    assert_true(gc_check(&c, nn_w(&k.s, k.l.b), nn_g(&k.s, k.l.b), 3, 1e-2f) < 1e-3);
    nn_store_free(&k.s);
}

/* ---- layer norm ---- */
typedef struct {
    nn_store s;
    nn_layernorm l;
    size_t n;
    float *x, *y, *r, *dx, mean[8], rstd[8];
} ln_ctx;

static double ln_loss(gc_case *c) {
    ln_ctx *k = c->ctx;
    nn_layernorm_forward(&k->s, &k->l, k->x, k->n, k->y, k->mean, k->rstd);
    return dot_r(k->y, k->r, k->n * k->l.d);
}
static void ln_back(gc_case *c) {
    ln_ctx *k = c->ctx;
    nn_zero_grad(&k->s);
    ln_loss(c);
    nn_layernorm_backward(&k->s, &k->l, k->x, k->r, k->mean, k->rstd, k->n, k->dx);
}

static void test_layernorm_backward_matches_finite_differences(void **state) {
    (void)state;
    ln_ctx k = {.n = 4};
    core_rng r;
    rng_seed(&r, 2);
    nn_store_init(&k.s);
    assert_ok(nn_layernorm_init(&k.l, &k.s, 6));
    assert_ok(nn_store_alloc(&k.s, true));
    fill_normal(nn_w(&k.s, k.l.gamma), 6, &r, 1);
    fill_normal(nn_w(&k.s, k.l.beta), 6, &r, 1);
    float x[24], y[24], rr[24], dx[24], gx[24];
    fill_normal(x, 24, &r, 2);
    fill_normal(rr, 24, &r, 1);
    k.x = x, k.y = y, k.r = rr, k.dx = dx;
    gc_case c = {ln_loss, ln_back, &k};
    ln_back(&c);
    memcpy(gx, dx, sizeof gx);
    assert_true(gc_check(&c, x, gx, 24, 1e-2f) < 1e-3);
    assert_true(gc_check(&c, nn_w(&k.s, k.l.gamma), nn_g(&k.s, k.l.gamma), 6, 1e-2f) < 1e-3);
    assert_true(gc_check(&c, nn_w(&k.s, k.l.beta), nn_g(&k.s, k.l.beta), 6, 1e-2f) < 1e-3);
    nn_store_free(&k.s);
}

/* ---- activations ---- */
typedef struct {
    int act;
    size_t n;
    float *x, *y, *r, *dx;
} act_ctx;

static double act_loss(gc_case *c) {
    act_ctx *k = c->ctx;
    nn_act_forward(k->act, k->x, k->n, k->y);
    return dot_r(k->y, k->r, k->n);
}
static void act_back(gc_case *c) {
    act_ctx *k = c->ctx;
    act_loss(c);
    nn_act_backward(k->act, k->x, k->r, k->n, k->dx);
}

static void test_activation_backward_matches_finite_differences(void **state) {
    (void)state;
    core_rng r;
    rng_seed(&r, 3);
    float x[32], y[32], rr[32], dx[32];
    for (int act = NN_ACT_RELU; act <= NN_ACT_GELU; act++) {
        fill_normal(x, 32, &r, 1.5f);
        /* keep ReLU inputs away from its kink */
        for (int i = 0; i < 32; i++)
            if (fabsf(x[i]) < 0.05f) x[i] = 0.3f;
        fill_normal(rr, 32, &r, 1);
        act_ctx k = {act, 32, x, y, rr, dx};
        gc_case c = {act_loss, act_back, &k};
        act_back(&c);
        float g[32];
        memcpy(g, dx, sizeof g);
        assert_true(gc_check(&c, x, g, 32, 1e-2f) < 1e-3);
    }
}

/* ---- embedding ---- */
static void test_embedding_padding_row_is_zero_and_gets_no_gradient(void **state) {
    (void)state;
    float table[4 * 3], g[4 * 3] = {0}, out[5 * 3], dout[5 * 3];
    for (int i = 0; i < 12; i++) table[i] = (float)(i + 1);
    for (int i = 0; i < 15; i++) dout[i] = (float)(i + 1) * 0.5f;
    uint32_t ids[5] = {2, 0, 3, 2, 0};
    nn_embedding_forward(table, 3, ids, 5, 2.0f, out);
    for (int k = 0; k < 3; k++) {
        assert_float_equal(out[0 * 3 + k], 2.0f * table[2 * 3 + k], 0);
        assert_float_equal(out[1 * 3 + k], 0.0f, 0);
        assert_float_equal(out[2 * 3 + k], 2.0f * table[3 * 3 + k], 0);
    }
    nn_embedding_backward(g, 3, ids, 5, 2.0f, dout);
    for (int k = 0; k < 3; k++) {
        assert_float_equal(g[0 * 3 + k], 0.0f, 0); /* padding row */
        assert_float_equal(g[1 * 3 + k], 0.0f, 0); /* unused row */
        assert_float_equal(g[2 * 3 + k], 2.0f * (dout[0 * 3 + k] + dout[3 * 3 + k]), 1e-6);
        assert_float_equal(g[3 * 3 + k], 2.0f * dout[2 * 3 + k], 1e-6);
    }
}

/* ---- attention (ragged batch: sequences of lengths 5 and 3) ---- */
typedef struct {
    nn_attn_shape sh;
    nn_batch bt;
    float *qkv, *P, *out, *r, *dqkv, *scratch;
    const float *dmask; /* attention dropout mask or NULL */
} att_ctx;

static double att_loss(gc_case *c) {
    att_ctx *k = c->ctx;
    assert_ok(nn_attention_forward(&k->sh, &k->bt, k->qkv, k->P, k->dmask, k->out, 1));
    return dot_r(k->out, k->r, k->bt.rows * k->sh.d);
}
static void att_back(gc_case *c) {
    att_ctx *k = c->ctx;
    att_loss(c);
    assert_ok(nn_attention_backward(&k->sh, &k->bt, k->qkv, k->P, k->dmask, k->r, k->dqkv, k->scratch, 1));
}

static void check_attention(int mask, float attn_dropout) {
    enum { N = 8, D = 8, H = 2 };
    const size_t lens[2] = {5, 3};
    core_rng r;
    rng_seed(&r, 4 + (uint64_t)mask);
    float qkv[N * 3 * D], P[H * (25 + 9)], out[N * D], rr[N * D], dqkv[N * 3 * D], g[N * 3 * D], scratch[5];
    float dmask[H * (25 + 9)];
    nn_dropout_mask(H * (25 + 9), attn_dropout, &r, dmask);
    att_ctx k = {.sh = {D, H, mask}, .qkv = qkv, .P = P, .out = out, .r = rr, .dqkv = dqkv, .scratch = scratch,
                 .dmask = attn_dropout > 0 ? dmask : NULL};
    assert_ok(nn_batch_alloc(&k.bt, 2));
    nn_batch_set(&k.bt, lens, 2);
    assert_int_equal(k.bt.rows, N);
    assert_int_equal(nn_attn_weights(&k.bt, H), H * (25 + 9));
    fill_normal(qkv, N * 3 * D, &r, 1);
    fill_normal(rr, N * D, &r, 1);
    gc_case c = {att_loss, att_back, &k};
    att_back(&c);
    memcpy(g, dqkv, sizeof g);
    assert_true(gc_check(&c, qkv, g, N * 3 * D, 1e-2f) < 1e-3);
    /* rows of P sum to 1; (causal) future keys get exactly zero */
    for (size_t b = 0; b < 2; b++)
        for (size_t h = 0; h < H; h++)
            for (size_t i = 0; i < lens[b]; i++) {
                const float *p = P + H * k.bt.poffs[b] + h * lens[b] * lens[b] + i * lens[b];
                double sum = 0;
                for (size_t j = 0; j < lens[b]; j++) {
                    if (mask == NN_MASK_CAUSAL && j > i) assert_float_equal(p[j], 0.0f, 0);
                    sum += p[j];
                }
                assert_float_equal(sum, 1.0, 1e-5);
            }
    /* sequences do not see each other: changing sequence 1 leaves
     * sequence 0's output unchanged */
    float keep[5 * D];
    memcpy(keep, out, sizeof keep);
    for (size_t i = 5 * 3 * D; i < N * 3 * D; i++) qkv[i] += 1.0f;
    att_loss(&c);
    assert_memory_equal(keep, out, sizeof keep);
    nn_batch_free(&k.bt);
}

static void test_causal_attention_backward_matches_finite_differences(void **state) {
    (void)state;
    check_attention(NN_MASK_CAUSAL, 0);
}

static void test_attention_with_weight_dropout_backward_matches_finite_differences(void **state) {
    (void)state;
    check_attention(NN_MASK_CAUSAL, 0.3f);
    check_attention(NN_MASK_NONE, 0.3f);
}

static void test_bidirectional_attention_backward_matches_finite_differences(void **state) {
    (void)state;
    check_attention(NN_MASK_NONE, 0);
}

/* ---- whole encoder block, with dropout (fixed mask by reseeding) ---- */
typedef struct {
    nn_store s;
    nn_block b;
    nn_block_cache cache;
    nn_batch bt;
    float *x, *y, *r, *dx;
} blk_ctx;

static double blk_loss(gc_case *c) {
    blk_ctx *k = c->ctx;
    core_rng r;
    rng_seed(&r, 99);
    assert_ok(nn_block_forward(&k->s, &k->b, &k->cache, &k->bt, k->x, true, &r, k->y));
    return dot_r(k->y, k->r, k->bt.rows * k->b.c.d);
}
static void blk_back(gc_case *c) {
    blk_ctx *k = c->ctx;
    nn_zero_grad(&k->s);
    blk_loss(c);
    assert_ok(nn_block_backward(&k->s, &k->b, &k->cache, &k->bt, k->r, k->dx));
}

static void check_block(int mask, int act, int layout, float attn_dropout) {
    enum { N = 7, D = 8 };
    const size_t lens[2] = {4, 3};
    blk_ctx k = {0};
    core_rng r;
    rng_seed(&r, 5);
    nn_store_init(&k.s);
    nn_block_cfg cfg = {D, 12, 2, act, mask, 0.2f, layout, attn_dropout};
    assert_ok(nn_block_init(&k.b, &k.s, &cfg));
    assert_ok(nn_store_alloc(&k.s, true));
    nn_block_reset(&k.b, &k.s, &r);
    /* non-trivial norms and biases so every path carries gradient */
    for (size_t p = 0; p < k.s.n_params; p++)
        if (k.s.params[p].rows == 1)
            for (size_t i = 0; i < k.s.params[p].cols; i++) k.s.w[k.s.params[p].off + i] += 0.3f * rng_normal(&r);
    assert_ok(nn_block_cache_alloc(&k.cache, &cfg, N, 4, 1, true));
    assert_ok(nn_batch_alloc(&k.bt, 2));
    nn_batch_set(&k.bt, lens, 2);
    float x[N * D], y[N * D], rr[N * D], dx[N * D], gx[N * D];
    fill_normal(x, N * D, &r, 1);
    fill_normal(rr, N * D, &r, 1);
    k.x = x, k.y = y, k.r = rr, k.dx = dx;
    gc_case c = {blk_loss, blk_back, &k};
    blk_back(&c);
    memcpy(gx, dx, sizeof gx);
    assert_true(gc_check(&c, x, gx, N * D, 1e-2f) < 1e-3);
    float *g = malloc(k.s.n * sizeof *g);
    assert_non_null(g);
    memcpy(g, k.s.g, k.s.n * sizeof *g);
    for (size_t p = 0; p < k.s.n_params; p++) {
        nn_param q = k.s.params[p];
        double err = gc_check(&c, nn_w(&k.s, q), g + q.off, nn_size(q), 1e-2f);
        if (err >= 1e-3) fail_msg("block parameter %zu (%zux%zu): relative error %g", p, q.rows, q.cols, err);
    }
    free(g);
    nn_batch_free(&k.bt);
    nn_block_cache_free(&k.cache);
    nn_store_free(&k.s);
}

static void test_causal_gelu_block_backward_matches_finite_differences(void **state) {
    (void)state;
    check_block(NN_MASK_CAUSAL, NN_ACT_GELU, NN_LAYOUT_PRE_LN, 0);
}

/* the SASRec authors' layout, with attention-weight dropout */
static void test_sasrec_layout_block_backward_matches_finite_differences(void **state) {
    (void)state;
    check_block(NN_MASK_CAUSAL, NN_ACT_GELU, NN_LAYOUT_SASREC, 0.25f);
    check_block(NN_MASK_CAUSAL, NN_ACT_GELU, NN_LAYOUT_SASREC, 0);
    check_block(NN_MASK_NONE, NN_ACT_RELU, NN_LAYOUT_PRE_LN, 0.25f);
}

static void test_bidirectional_relu_block_backward_matches_finite_differences(void **state) {
    (void)state;
    check_block(NN_MASK_NONE, NN_ACT_RELU, NN_LAYOUT_PRE_LN, 0);
}

/* ---- losses ---- */
typedef struct {
    float *z;
    size_t n, target;
    int kind; /* 0 softmax xent, 1 bce */
    float *g;
} loss_ctx;

static double loss_loss(gc_case *c) {
    loss_ctx *k = c->ctx;
    float tmp[16];
    if (k->kind == 0) return nn_softmax_xent(k->z, k->n, k->target, tmp);
    double s = 0;
    for (size_t i = 0; i < k->n; i++) s += nn_bce_logit(k->z[i], i == k->target ? 1.0f : 0.0f, tmp);
    return s;
}
static void loss_back(gc_case *c) {
    loss_ctx *k = c->ctx;
    if (k->kind == 0) {
        nn_softmax_xent(k->z, k->n, k->target, k->g);
        return;
    }
    for (size_t i = 0; i < k->n; i++) nn_bce_logit(k->z[i], i == k->target ? 1.0f : 0.0f, &k->g[i]);
}

static void test_loss_gradients_match_finite_differences(void **state) {
    (void)state;
    core_rng r;
    rng_seed(&r, 6);
    for (int kind = 0; kind < 2; kind++) {
        float z[6], g[6], ga[6];
        fill_normal(z, 6, &r, 2);
        loss_ctx k = {z, 6, 2, kind, g};
        gc_case c = {loss_loss, loss_back, &k};
        loss_back(&c);
        memcpy(ga, g, sizeof ga);
        assert_true(gc_check(&c, z, ga, 6, 1e-2f) < 1e-3);
    }
    /* extreme logits stay finite */
    float gz;
    assert_true(isfinite(nn_bce_logit(200.0f, 0.0f, &gz)));
    assert_true(isfinite(nn_bce_logit(-200.0f, 1.0f, &gz)));
    assert_float_equal(nn_bce_logit(-200.0f, 1.0f, &gz), 200.0, 1e-6);
}

static void test_softmax_and_log_softmax_agree(void **state) {
    (void)state;
    float a[5] = {1, -2, 3.5f, 0, 4}, b[5];
    memcpy(b, a, sizeof a);
    nn_softmax(a, 5);
    nn_log_softmax(b, 5);
    double sum = 0;
    for (int i = 0; i < 5; i++) {
        sum += a[i];
        assert_float_equal(logf(a[i]), b[i], 1e-5);
    }
    assert_float_equal(sum, 1.0, 1e-6);
}

/* ---- optimizer ---- */
static void test_adamw_schedule_clipping_and_convergence(void **state) {
    (void)state;
    nn_adamw o = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0,
                  .clip_norm = 1.0f, .warmup_steps = 10, .total_steps = 110, .decay = NN_DECAY_LINEAR};
    assert_float_equal(nn_adamw_lr(&o, 0), 0.01f, 1e-7);
    assert_float_equal(nn_adamw_lr(&o, 9), 0.1f, 1e-7);
    assert_float_equal(nn_adamw_lr(&o, 110), 0.01f, 1e-7); /* decays to 10% */
    assert_true(nn_adamw_lr(&o, 60) < 0.1f && nn_adamw_lr(&o, 60) > 0.01f);
    /* minimise ||w - t||^2 */
    nn_store s;
    nn_store_init(&s);
    nn_param p;
    assert_ok(nn_store_add(&s, 1, 4, true, &p));
    assert_ok(nn_store_alloc(&s, true));
    const float t[4] = {3, -1, 0.5f, 2};
    double first = 0;
    for (int it = 0; it < 300; it++) {
        float *w = nn_w(&s, p), *g = nn_g(&s, p);
        for (int i = 0; i < 4; i++) g[i] = 2 * (w[i] - t[i]);
        double norm = nn_adamw_step(&s, &o);
        if (it == 0) first = norm;
    }
    assert_true(first > 1.0); /* the clip was active at the start */
    for (int i = 0; i < 4; i++) assert_float_equal(nn_w(&s, p)[i], t[i], 0.05);
    nn_store_free(&s);
}

static void test_lazy_adam_updates_only_touched_rows(void **state) {
    (void)state;
    nn_adamw o = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f};
    nn_store s;
    nn_store_init(&s);
    nn_param e, b;
    assert_ok(nn_store_add(&s, 5, 3, true, &e));
    assert_ok(nn_store_add(&s, 1, 3, false, &b));
    assert_ok(nn_store_alloc(&s, true));
    unsigned char touched[5] = {0};
    nn_store_set_lazy(&s, e, touched);
    for (size_t i = 0; i < 15; i++) nn_w(&s, e)[i] = 1.0f;
    nn_zero_grad(&s);
    nn_g(&s, e)[2 * 3 + 1] = 0.5f;
    touched[2] = 1;
    nn_g(&s, b)[0] = 1.0f;
    nn_adamw_step(&s, &o);
    for (size_t r = 0; r < 5; r++)
        for (size_t k = 0; k < 3; k++) {
            float w = nn_w(&s, e)[r * 3 + k];
            if (r != 2) assert_float_equal(w, 1.0f, 0); /* untouched: no decay either */
            else if (k == 1) assert_true(w < 0.95f);  /* gradient step */
            else assert_true(w < 1.0f && w > 0.95f);   /* decay only */
            assert_float_equal(nn_g(&s, e)[r * 3 + k], 0.0f, 0);
        }
    assert_int_equal(touched[2], 0);
    assert_true(nn_w(&s, b)[0] < 0);
    nn_store_free(&s);
}

/* nn_store_set_grad_rows: a dense AdamW step that reads and clears only
 * the flagged rows' gradients gives the same bits as the plain dense step
 * (serial and on a pool), untouched rows included (their moments decay
 * and their weights move). */
static void test_adam_grad_rows_match_dense_bit_for_bit(void **state) {
    (void)state;
    enum { ROWS = 1000, COLS = 50, STEPS = 6 };
    nn_adamw o = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f, .weight_decay = 0.1f,
                  .warmup_steps = 2, .total_steps = STEPS, .decay = NN_DECAY_COSINE};
    nn_store s[3];
    nn_param e[3], b[3];
    unsigned char flags[2][ROWS];
    memset(flags, 0, sizeof flags);
    core_pool *pool;
    assert_ok(core_pool_new(&pool, 2));
    for (int k = 0; k < 3; k++) {
        nn_store_init(&s[k]);
        assert_ok(nn_store_add(&s[k], ROWS, COLS, true, &e[k]));
        assert_ok(nn_store_add(&s[k], 3, 7, false, &b[k]));
        assert_ok(nn_store_alloc(&s[k], true));
        core_rng r;
        rng_seed(&r, 11);
        fill_normal(s[k].w, s[k].n, &r, 1);
        if (k) nn_store_set_grad_rows(&s[k], e[k], flags[k - 1]);
    }
    core_rng r;
    rng_seed(&r, 12);
    for (int step = 0; step < STEPS; step++) {
        for (int t = 0; t < 40; t++) { /* a few rows with a gradient, the small tensor dense */
            size_t row = rng_below(&r, ROWS);
            for (size_t c = 0; c < COLS; c++) {
                float g = rng_normal(&r);
                for (int k = 0; k < 3; k++) nn_g(&s[k], e[k])[row * COLS + c] += g;
            }
            flags[0][row] = flags[1][row] = 1;
        }
        for (size_t i = 0; i < 21; i++) {
            float g = rng_normal(&r);
            for (int k = 0; k < 3; k++) nn_g(&s[k], b[k])[i] = g;
        }
        assert_ok(nn_adamw_step_pool(&s[0], &o, NULL, NULL)); /* plain dense */
        assert_ok(nn_adamw_step_pool(&s[1], &o, pool, NULL)); /* flagged rows, two threads */
        nn_adamw_step(&s[2], &o);                              /* flagged rows, serial */
        nn_zero_grad(&s[2]);
        for (size_t row = 0; row < ROWS; row++) assert_int_equal(flags[0][row] | flags[1][row], 0);
    }
    for (int k = 1; k < 3; k++) {
        assert_memory_equal(s[0].w, s[k].w, s[0].n * sizeof(float));
        assert_memory_equal(s[0].m, s[k].m, s[0].n * sizeof(float));
        assert_memory_equal(s[0].v, s[k].v, s[0].n * sizeof(float));
        for (size_t i = 0; i < s[k].n; i++) assert_true(s[k].g[i] == 0.0f);
    }
    for (int k = 0; k < 3; k++) nn_store_free(&s[k]);
    core_pool_free(pool);
}

static void test_attention_result_does_not_depend_on_thread_count(void **state) {
    (void)state;
    enum { B = 40, T = 30, D = 32, H = 2 };
    core_rng r;
    rng_seed(&r, 7);
    size_t lens[B];
    for (int b = 0; b < B; b++) lens[b] = 1 + rng_below(&r, T);
    nn_batch bt;
    assert_ok(nn_batch_alloc(&bt, B));
    nn_batch_set(&bt, lens, B);
    size_t n = bt.rows, np = nn_attn_weights(&bt, H);
    float *qkv = malloc(n * 3 * D * sizeof(float)), *dout = malloc(n * D * sizeof(float));
    float *P1 = malloc(np * sizeof(float)), *P2 = malloc(np * sizeof(float));
    float *o1 = malloc(n * D * sizeof(float)), *o2 = malloc(n * D * sizeof(float));
    float *d1 = malloc(n * 3 * D * sizeof(float)), *d2 = malloc(n * 3 * D * sizeof(float));
    float *scratch = malloc(4 * T * sizeof(float));
    fill_normal(qkv, n * 3 * D, &r, 1);
    fill_normal(dout, n * D, &r, 1);
    nn_attn_shape sh = {D, H, NN_MASK_CAUSAL};
    assert_true(n * T * D >= (1u << 18)); /* large enough to be split over threads */
    assert_ok(nn_attention_forward(&sh, &bt, qkv, P1, NULL, o1, 1));
    assert_ok(nn_attention_forward(&sh, &bt, qkv, P2, NULL, o2, 4));
    assert_memory_equal(o1, o2, n * D * sizeof(float));
    assert_ok(nn_attention_backward(&sh, &bt, qkv, P1, NULL, dout, d1, scratch, 1));
    assert_ok(nn_attention_backward(&sh, &bt, qkv, P2, NULL, dout, d2, scratch, 4));
    assert_memory_equal(d1, d2, n * 3 * D * sizeof(float));
    free(qkv), free(dout), free(P1), free(P2), free(o1), free(o2), free(d1), free(d2), free(scratch);
    nn_batch_free(&bt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_backward_matches_finite_differences),
        cmocka_unit_test(test_layernorm_backward_matches_finite_differences),
        cmocka_unit_test(test_activation_backward_matches_finite_differences),
        cmocka_unit_test(test_embedding_padding_row_is_zero_and_gets_no_gradient),
        cmocka_unit_test(test_causal_attention_backward_matches_finite_differences),
        cmocka_unit_test(test_bidirectional_attention_backward_matches_finite_differences),
        cmocka_unit_test(test_attention_with_weight_dropout_backward_matches_finite_differences),
        cmocka_unit_test(test_causal_gelu_block_backward_matches_finite_differences),
        cmocka_unit_test(test_bidirectional_relu_block_backward_matches_finite_differences),
        cmocka_unit_test(test_sasrec_layout_block_backward_matches_finite_differences),
        cmocka_unit_test(test_loss_gradients_match_finite_differences),
        cmocka_unit_test(test_softmax_and_log_softmax_agree),
        cmocka_unit_test(test_adamw_schedule_clipping_and_convergence),
        cmocka_unit_test(test_lazy_adam_updates_only_touched_rows),
        cmocka_unit_test(test_adam_grad_rows_match_dense_bit_for_bit),
        cmocka_unit_test(test_attention_result_does_not_depend_on_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
