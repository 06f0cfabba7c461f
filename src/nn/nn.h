/*
 * nn.h - internal interface of the small neural-network engine used by the
 * transformer model kinds (sasrec now; a BERT-style text encoder later).
 *
 * Design:
 *  - Parameters of a network live in one nn_store: four contiguous float32
 *    buffers (weights, gradients, Adam first and second moments).  A layer
 *    holds nn_param handles (offsets), so a whole network is saved, copied
 *    (best-epoch snapshot) or updated as one array.
 *  - Activations are row-major [n x width] matrices where n = batch * len
 *    (one row per token).  Every layer has an explicit forward that keeps
 *    what the backward needs in caller-owned buffers, and a backward that
 *    ACCUMULATES parameter gradients into the store and OVERWRITES the input
 *    gradient.  No allocation happens in forward/backward: callers size
 *    workspaces once per training run.
 *  - Batch-wide products (linear layers) go through cblas_sgemm from the
 *    calling thread.  Attention, which is many small per-(sequence, head)
 *    products, uses our own kernels spread over threads with
 *    core_parallel_for; each task writes disjoint outputs, so results do not
 *    depend on the thread count.
 */
#ifndef AISLE_NN_H
#define AISLE_NN_H

#include "core/core.h"

/* ------------------------------------------------------------------------
 * Parameter store and optimizer (store.c)
 * ------------------------------------------------------------------------ */
typedef struct nn_param {
    size_t off;        /* offset in the store's buffers */
    size_t rows, cols; /* shape (row-major) */
} nn_param;

typedef struct nn_store {
    float *w, *g, *m, *v; /* g, m, v only when allocated for training */
    unsigned char *decay; /* per-parameter-tensor: weight decay applies */
    unsigned char **lazy; /* per tensor: NULL (dense update) or row flags (see nn_store_set_lazy) */
    nn_param *params;
    size_t n_params, params_cap;
    size_t n; /* total floats */
    int64_t step;
} nn_store;

void nn_store_init(nn_store *s);
void nn_store_free(nn_store *s);
/* Registers a rows x cols tensor (before nn_store_alloc).  decay: whether
 * AdamW's decoupled weight decay applies (not for biases and norms). */
int nn_store_add(nn_store *s, size_t rows, size_t cols, bool decay, nn_param *out);
/* Allocates zeroed buffers; with training, also gradients and moments. */
int nn_store_alloc(nn_store *s, bool training);
static inline float *nn_w(const nn_store *s, nn_param p) { return s->w + p.off; }
static inline float *nn_g(const nn_store *s, nn_param p) { return s->g + p.off; }
static inline size_t nn_size(nn_param p) { return p.rows * p.cols; }
/* Zeroes the gradients of dense tensors (lazy tensors keep zero gradients
 * outside the rows touched since the last step, which the step clears). */
void nn_zero_grad(nn_store *s);
/* Makes tensor p (an embedding table) update lazily: the optimizer step
 * touches only rows whose flag in touched[p.rows] is set, then clears the
 * flags and those rows' gradients.  The caller flags every row it gives a
 * gradient.  As TensorFlow's LazyAdam: moments and weight decay of rows
 * absent from a batch stay as they are, which makes a step cost the batch,
 * not the catalog.  touched is owned by the caller and must be zeroed. */
void nn_store_set_lazy(nn_store *s, nn_param p, unsigned char *touched);
/* Fills a tensor with N(0, std^2) or U(-a, a). */
void nn_init_normal(nn_store *s, nn_param p, float std, core_rng *r);
void nn_init_uniform(nn_store *s, nn_param p, float a, core_rng *r);

typedef struct nn_adamw {
    float lr, beta1, beta2, eps, weight_decay;
    float clip_norm;      /* global gradient-norm clip; 0 disables */
    int64_t warmup_steps; /* linear warm-up from 0 */
    int64_t total_steps;  /* for decay; 0 = constant after warm-up */
    int decay;            /* NN_DECAY_* */
} nn_adamw;
enum { NN_DECAY_NONE = 0, NN_DECAY_LINEAR = 1, NN_DECAY_COSINE = 2 };

/* Learning rate at step (0-based) under the schedule. */
float nn_adamw_lr(const nn_adamw *o, int64_t step);
/* Global L2 norm of all gradients (double accumulation). */
double nn_grad_norm(const nn_store *s);
/* One AdamW step (Loshchilov & Hutter 2019) on every parameter, after
 * clipping the global gradient norm (Pascanu et al. 2013).  Returns the
 * norm before clipping. */
double nn_adamw_step(nn_store *s, const nn_adamw *o);

/* ------------------------------------------------------------------------
 * Elementwise layers, losses (layers.c)
 * ------------------------------------------------------------------------ */
/* Embedding lookup: out[i] = table[ids[i]] * scale; id 0 is padding and
 * gives a zero row (and receives no gradient). */
void nn_embedding_forward(const float *table, size_t d, const uint32_t *ids, size_t n, float scale, float *out);
void nn_embedding_backward(float *gtable, size_t d, const uint32_t *ids, size_t n, float scale, const float *dout);

typedef struct nn_linear {
    nn_param W, b; /* W: in x out, b: 1 x out */
    size_t in, out;
} nn_linear;
int nn_linear_init(nn_linear *l, nn_store *s, size_t in, size_t out);
/* Xavier/Glorot uniform weights, zero bias. */
void nn_linear_reset(const nn_linear *l, nn_store *s, core_rng *r);
/* y[n x out] = x[n x in] W + b */
void nn_linear_forward(const nn_store *s, const nn_linear *l, const float *x, size_t n, float *y);
/* gW += x^T dy, gb += colsum(dy), dx = dy W^T (dx may be NULL). */
void nn_linear_backward(nn_store *s, const nn_linear *l, const float *x, const float *dy, size_t n, float *dx);

typedef struct nn_layernorm {
    nn_param gamma, beta;
    size_t d;
    float eps;
} nn_layernorm;
int nn_layernorm_init(nn_layernorm *l, nn_store *s, size_t d);
void nn_layernorm_reset(const nn_layernorm *l, nn_store *s); /* gamma 1, beta 0 */
/* Ba et al. 2016.  mean, rstd: n floats kept for the backward. */
void nn_layernorm_forward(const nn_store *s, const nn_layernorm *l, const float *x, size_t n, float *y,
                          float *mean, float *rstd);
void nn_layernorm_backward(nn_store *s, const nn_layernorm *l, const float *x, const float *dy, const float *mean,
                           const float *rstd, size_t n, float *dx);

enum { NN_ACT_RELU = 0, NN_ACT_GELU = 1 };
/* y = act(x); dx = act'(x) * dy (in place allowed: dx == dy). */
void nn_act_forward(int act, const float *x, size_t n, float *y);
void nn_act_backward(int act, const float *x, const float *dy, size_t n, float *dx);

/* Inverted dropout: mask[i] = 0 with probability p else 1/(1-p); y = x*mask
 * (in place allowed).  p = 0 writes a mask of ones. */
void nn_dropout_forward(const float *x, size_t n, float p, core_rng *r, float *mask, float *y);
/* The mask alone. */
void nn_dropout_mask(size_t n, float p, core_rng *r, float *mask);
void nn_dropout_backward(const float *dy, const float *mask, size_t n, float *dx);

/* In-place softmax / log-softmax of one row (max-subtracted). */
void nn_softmax(float *x, size_t n);
void nn_log_softmax(float *x, size_t n);

/* Binary cross-entropy on a logit z with label y in {0,1}:
 * returns softplus(-z) or softplus(z); *dz = sigmoid(z) - y. */
double nn_bce_logit(float z, float y, float *dz);
/* Cross-entropy of softmax(logits[0..n)) at `target`; grad[i] =
 * p_i - [i == target].  Returns -log p_target. */
double nn_softmax_xent(const float *logits, size_t n, size_t target, float *grad);

/* ------------------------------------------------------------------------
 * Ragged batches, attention and encoder blocks (attention.c)
 *
 * A batch of sequences is stored without padding: the tokens of sequence b
 * are rows [offs[b], offs[b+1]) of every activation matrix.  Short
 * sequences (the common case in shop data) then cost only their length,
 * and no padding mask is needed.
 * ------------------------------------------------------------------------ */
typedef struct nn_batch {
    size_t batch, rows, max_len;
    size_t *offs;  /* batch + 1 row offsets */
    size_t *poffs; /* batch + 1 prefix sums of len^2 (attention weights per head) */
    size_t cap;
} nn_batch;

int nn_batch_alloc(nn_batch *bt, size_t max_batch);
void nn_batch_free(nn_batch *bt);
/* Sets the batch from the sequence lengths. */
void nn_batch_set(nn_batch *bt, const size_t *lens, size_t batch);

enum { NN_MASK_NONE = 0, NN_MASK_CAUSAL = 1 }; /* causal: position i sees j <= i */

typedef struct nn_attn_shape {
    size_t d;  /* model width; heads divide it */
    int heads;
    int mask;  /* NN_MASK_* */
} nn_attn_shape;

/* Floats of attention weights a batch needs: heads * poffs[batch]. */
static inline size_t nn_attn_weights(const nn_batch *bt, int heads) { return (size_t)heads * bt->poffs[bt->batch]; }

/* Multi-head scaled dot-product attention (Vaswani et al. 2017) over
 * qkv[rows x 3d] = [q | k | v] rows of a ragged batch, into out[rows x d].
 * P (nn_attn_weights floats) keeps the attention weights for the
 * backward.  dmask (laid out like P, or NULL) is a dropout mask applied to
 * the weights: out_i = sum_j P_ij dmask_ij v_j. */
int nn_attention_forward(const nn_attn_shape *sh, const nn_batch *bt, const float *qkv, float *P,
                         const float *dmask, float *out, int threads);
/* dqkv (overwritten) from dout; scratch holds threads * max_len floats. */
int nn_attention_backward(const nn_attn_shape *sh, const nn_batch *bt, const float *qkv, const float *P,
                          const float *dmask, const float *dout, float *dqkv, float *scratch, int threads);

/* Transformer encoder block, layout NN_LAYOUT_PRE_LN:
 *   x1 = x + Drop(Proj(Attn(LN1(x))));   y = x1 + Drop(FF2(act(FF1(LN2(x1)))))
 * or NN_LAYOUT_SASREC, the SASRec authors' block (queries normalised, keys
 * and values not; residuals from the normalised inputs):
 *   a1 = LN1(x);  x1 = a1 + Drop(Proj(Attn(Q = a1, K = V = x)))
 *   a2 = LN2(x1); y = a2 + Drop(FF2(Drop(act(FF1(a2)))))
 * Attn applies dropout attn_dropout to its weights when training.
 * mask NN_MASK_CAUSAL gives SASRec's unidirectional block, NN_MASK_NONE a
 * BERT-style bidirectional one. */
enum { NN_LAYOUT_PRE_LN = 0, NN_LAYOUT_SASREC = 1 };
typedef struct nn_block_cfg {
    size_t d, ff;
    int heads, act, mask;
    float dropout;      /* on the attention and feed-forward outputs (and, SASREC, after the activation) */
    int layout;         /* NN_LAYOUT_* */
    float attn_dropout; /* on the attention weights */
} nn_block_cfg;

typedef struct nn_block {
    nn_block_cfg c;
    nn_layernorm ln1, ln2;
    nn_linear qkv, proj, ff1, ff2;
} nn_block;

/* Activations of one block kept for the backward, plus the backward's
 * scratch, for up to max_rows tokens in sequences of up to max_len. */
typedef struct nn_block_cache {
    size_t max_rows, max_len;
    int threads;
    float *x, *a1, *mean1, *rstd1, *qkv, *P, *att, *o, *mask1, *x1, *a2, *mean2, *rstd2, *h, *act, *f, *mask2;
    float *mask3, *amask; /* SASREC mid-feed-forward and attention-weight dropout masks */
    float *d_ff, *d_qkv, *d_n1, *d_n2, *scratch;
} nn_block_cache;

int nn_block_init(nn_block *b, nn_store *s, const nn_block_cfg *c);
void nn_block_reset(const nn_block *b, nn_store *s, core_rng *r);
int nn_block_cache_alloc(nn_block_cache *c, const nn_block_cfg *cfg, size_t max_rows, size_t max_len, int threads,
                         bool training);
void nn_block_cache_free(nn_block_cache *c);
/* x, y: bt->rows x d (y must not alias x).  training enables dropout (rng
 * used only then). */
int nn_block_forward(const nn_store *s, const nn_block *b, nn_block_cache *c, const nn_batch *bt, const float *x,
                     bool training, core_rng *rng, float *y);
/* dx (overwritten, must not alias dy) from dy; accumulates parameter
 * gradients. */
int nn_block_backward(nn_store *s, const nn_block *b, nn_block_cache *c, const nn_batch *bt, const float *dy,
                      float *dx);

#endif /* AISLE_NN_H */
