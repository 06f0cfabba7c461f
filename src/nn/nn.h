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
    unsigned char *rows_dense; /* per tensor with row flags: update every row (nn_store_set_grad_rows) */
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
/* Keeps AdamW dense on tensor p (every row's moments, decay and update
 * move each step) but tells the optimizer which rows can have a nonzero
 * gradient: the caller flags in rows[p.rows] every row it gives a
 * gradient, the others must hold zero gradients.  The norm then reads the
 * flagged rows only and the update of the other rows neither reads nor
 * clears their gradient: the same bits as without flags, for less memory
 * traffic (an embedding table of which a step touches a few rows).  The
 * step clears the flags.  rows NULL: back to a plain dense tensor. */
void nn_store_set_grad_rows(nn_store *s, nn_param p, unsigned char *rows);
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
/* The same step on a thread pool (NULL: this thread), for stores large
 * enough that the optimizer pass matters.  Differences from
 * nn_adamw_step: the norm is summed in fixed units (so it may differ from
 * nn_adamw_step's in the last bits, but never between pools of different
 * sizes), and every gradient is left zero afterwards (no nn_zero_grad
 * needed before the next backward).  *norm (may be NULL): the norm before
 * clipping.  Returns AISLE_OK or AISLE_ENOMEM (nothing updated then). */
int nn_adamw_step_pool(nn_store *s, const nn_adamw *o, core_pool *pool, double *norm);

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
    /* Training: one key per sequence, or NULL.  With keys, a block draws
     * sequence b's dropout masks from its own stream (keys[b], the block's
     * salt, the mask), row by row, so a sequence gets the same masks
     * whichever batch, thread or rank computes it (the text encoder's
     * data-parallel training needs that); without, from the rng given to
     * the forward, in batch order (sasrec). */
    const uint64_t *keys;
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
    uint64_t salt; /* mixed into keyed dropout streams (nn_batch.keys): the block's index */
} nn_block_cache;

int nn_block_init(nn_block *b, nn_store *s, const nn_block_cfg *c);
void nn_block_reset(const nn_block *b, nn_store *s, core_rng *r);
int nn_block_cache_alloc(nn_block_cache *c, const nn_block_cfg *cfg, size_t max_rows, size_t max_len, int threads,
                         bool training);
void nn_block_cache_free(nn_block_cache *c);
/* x, y: bt->rows x d (y must not alias x).  training enables dropout:
 * masks keyed by sequence when bt->keys is set (rng unused), else drawn
 * from rng. */
int nn_block_forward(const nn_store *s, const nn_block *b, nn_block_cache *c, const nn_batch *bt, const float *x,
                     bool training, core_rng *rng, float *y);
/* dx (overwritten, must not alias dy) from dy; accumulates parameter
 * gradients. */
int nn_block_backward(nn_store *s, const nn_block *b, nn_block_cache *c, const nn_batch *bt, const float *dy,
                      float *dx);


/* ------------------------------------------------------------------------
 * BERT-style text encoder (encoder_input.c, encoder.c, encoder_train.c)
 *
 * Texts become tokens (words, CJK characters) and each token a handful of
 * hashed buckets, fastText-style (Bojanowski et al. 2017): the token
 * itself, the word bigram ending at it, and the character n-grams of a
 * word.  No vocabulary: a misspelt word still shares most of its n-grams.
 * A token's input vector is the sum of its bucket rows scaled by
 * 1/sqrt(count), plus a learned position.  Every text starts with a
 * [CLS] row; a ragged batch (no padding, so no padding mask) goes through
 * N bidirectional pre-LN blocks and a final layer norm, then is pooled
 * ([CLS] row or mean of all rows) for a classification head.  Masked-
 * token pre-training (Devlin et al. 2019) predicts each masked token's
 * own-word hash modulo mlm_buckets through a full softmax (a hashed
 * output layer, fine at shop scale).
 * ------------------------------------------------------------------------ */

/* Rows 0, 1, 2 of the bucket table are the [CLS], [MASK] and [UNK]
 * embeddings ([UNK]: a token none of whose buckets has a row); hashed
 * buckets are NN_ENC_SPECIAL + (hash % buckets). */
enum { NN_ENC_CLS = 0, NN_ENC_MASK = 1, NN_ENC_UNK = 2, NN_ENC_SPECIAL = 3 };
enum { NN_POOL_CLS = 0, NN_POOL_MEAN = 1 };

typedef struct nn_feat_cfg {
    uint32_t buckets;       /* hashed rows (besides the special ones) */
    int word_ngrams;        /* 1: no bigram bucket; 2: bigram of previous unit + this one */
    int char_min, char_max; /* character n-grams of words (0 = none) */
    size_t max_len;         /* tokens kept per text (later ones dropped) */
    bool keep_strings;      /* keep each token's normalised string (explanations) */
} nn_feat_cfg;

void nn_feat_default(nn_feat_cfg *c);

/* Featurised texts, flat.  Text t has tokens [text_off[t], text_off[t+1]);
 * token k has bucket rows ids[tok_off[k] .. tok_off[k+1]) (already offset
 * by NN_ENC_SPECIAL) and word[k], the hash of its own string (the masked-
 * token target). */
typedef struct nn_toks {
    size_t n_texts, n_tokens, n_ids;
    size_t *text_off, *tok_off;
    uint32_t *ids, *word;
    size_t texts_cap, tokens_cap, ids_cap, word_cap;
    char *str;       /* keep_strings: token k is str[str_off[k] .. str_off[k+1]) */
    size_t *str_off;
    size_t str_len, str_cap, str_off_cap;
} nn_toks;

void nn_toks_init(nn_toks *t);
void nn_toks_free(nn_toks *t);
/* Forgets the texts, keeps the buffers. */
void nn_toks_clear(nn_toks *t);
/* Appends one text (any bytes: invalid UTF-8 separates, NUL is a
 * separator; an empty text has no tokens).  Texts longer than max_len
 * tokens are cut.  All or nothing: on failure t is as before. */
int nn_toks_add(nn_toks *t, const nn_feat_cfg *c, const char *text, size_t len);
static inline size_t nn_toks_len(const nn_toks *t, size_t text) { return t->text_off[text + 1] - t->text_off[text]; }

typedef struct nn_encoder_cfg {
    uint32_t buckets;
    size_t d, ff, max_len; /* max_len: tokens (the [CLS] row is extra) */
    int heads, layers, act, pool;
    float dropout, attn_dropout;
    float emb_std; /* initial bucket-embedding scale */
    int segments;  /* 0: single texts; 2: text pairs "[CLS] A [SEP] B" with
                    * BERT's segment embeddings (nn_encoder_ws_pairs) */
} nn_encoder_cfg;

void nn_encoder_default(nn_encoder_cfg *c);
/* AISLE_EINVAL naming the field when a value is out of range. */
int nn_encoder_check(const nn_encoder_cfg *c);

typedef struct nn_encoder {
    nn_encoder_cfg c;
    nn_param emb; /* (NN_ENC_SPECIAL + buckets) x d */
    nn_param pos; /* (max_len + 1) x d */
    nn_block *blocks;
    nn_layernorm ln_f;
    nn_param seg, sep;   /* segments > 0: segments x d rows, and the [SEP] row (1 x d) */
    size_t first, count; /* the encoder's floats in its store: [first, first + count) */
} nn_encoder;

/* Registers the encoder's tensors in s (before nn_store_alloc). */
int nn_encoder_init(nn_encoder *e, nn_store *s, const nn_encoder_cfg *c);
void nn_encoder_reset(const nn_encoder *e, nn_store *s, core_rng *r);
void nn_encoder_free(nn_encoder *e);

/* Row sources: a row's input is token k's buckets (k < n_tokens), or the
 * [CLS] / [MASK] embedding. */
#define NN_SRC_CLS ((size_t)-1)
#define NN_SRC_MASK ((size_t)-2)
#define NN_SRC_SEP ((size_t)-3) /* pair encoders only */

/* Activations of one batch of up to max_batch texts (max_rows rows). */
typedef struct nn_encoder_ws {
    size_t max_batch, max_rows, max_seq; /* max_seq: rows of one text, [CLS] included */
    int threads;
    bool training;
    nn_batch bt;
    size_t *lens, *src; /* rows per text; source of each row (token index or NN_SRC_*) */
    float *x0, *h0, *h1;          /* embeddings; block ping-pong */
    nn_block_cache *caches;       /* one per block */
    float *fin, *mean_f, *rstd_f; /* final layer norm */
    float *pooled;                /* batch x d */
    float *dfin, *dh0, *dh1, *dpooled;
    unsigned char *touched; /* training: bucket rows with a gradient (lazy Adam) */
    unsigned char *seg;     /* pair encoders: segment of each row (0 or 1) */
    uint64_t *keys;         /* training: max_batch dropout keys (set bt.keys = keys to use them) */
    size_t n_layers;
} nn_encoder_ws;

int nn_encoder_ws_alloc(nn_encoder_ws *w, const nn_encoder *e, size_t max_batch, int threads, bool training);
/* The same for sequences of at most max_seq rows ([CLS] included; at most
 * max_len + 1): a prediction sized to its texts allocates far less. */
int nn_encoder_ws_alloc_for(nn_encoder_ws *w, const nn_encoder *e, size_t max_batch, size_t max_seq, int threads,
                            bool training);
void nn_encoder_ws_free(nn_encoder_ws *w);
/* Sets the batch: texts idx[0..B) of toks (idx NULL: texts first_text ..
 * first_text + B - 1), each one [CLS] row plus its first max_seq - 1
 * tokens (B <= max_batch).  src then holds token indices the caller may overwrite
 * (masking) before the forward. */
void nn_encoder_ws_batch(nn_encoder_ws *w, const nn_toks *toks, const size_t *idx, size_t first_text, size_t B);
/* For an encoder with segments: pair b is "[CLS] A [SEP] B" with A the
 * concatenation of pieces a_piece[a_off[b] .. a_off[b+1]) and B the
 * pieces b_piece[b_off[b] .. b_off[b+1]); a piece is a text index of toks
 * whose first piece_cap[...] tokens are taken (SIZE_MAX: all).  Rows beyond
 * max_seq are cut: B keeps up to half the room (more when A is shorter),
 * A the rest, each in piece order.  Segment 0 covers [CLS], A and [SEP];
 * segment 1 covers B. */
typedef struct nn_pair_spec {
    const size_t *a_off, *a_piece, *a_cap;
    const size_t *b_off, *b_piece, *b_cap;
} nn_pair_spec;
void nn_encoder_ws_pairs(nn_encoder_ws *w, const nn_toks *toks, const nn_pair_spec *p, size_t B);
/* Embeds, runs the blocks and the final norm into w->fin, pools into
 * w->pooled.  training: dropout (rng used only then). */
int nn_encoder_forward(const nn_store *s, const nn_encoder *e, nn_encoder_ws *w, const nn_toks *toks, bool training,
                       core_rng *rng);
/* Backward from w->dfin (rows x d, gradient at the final norm's output)
 * plus w->dpooled (B x d), both caller-filled (zero what is unused).
 * Accumulates parameter gradients (bucket rows flagged in w->touched when
 * set).  Overwrites the ws gradient buffers. */
int nn_encoder_backward(nn_store *s, const nn_encoder *e, nn_encoder_ws *w, const nn_toks *toks);

/* ---- training and prediction (encoder_train.c) ---- */

/* Checkpoints of a training stage (src/dist/text.c).  What the next
 * epoch of a stage depends on is its stores' weights, AdamW moments and
 * step counts (the step is the learning-rate schedule's position): the
 * lazy embedding update keeps no per-row state between steps, the masks
 * are keyed by (seed, stage, step, text), and the stage's random stream
 * (its shuffles, after the head's initialisation in pre-training) is
 * replayed from the seed on resume, N draws per epoch done, instead of
 * stored.  Stage 0 (pre-training) has two stores, the classifier's and
 * the masked-token head's; stage 1 (fine-tuning) the classifier's.  Both
 * calls are collective in src/dist; a status ends training. */
typedef struct nn_ckpt_hook {
    /* Once before a stage's first epoch, after its fresh initialisation:
     * either fills every store's w, m, v and step and sets *done to the
     * epochs of the stage that state has completed (at most the stage's
     * epochs; all of them to skip a stage whose state the next stage's
     * resume replaces), or leaves them and sets 0. */
    int (*resume)(void *ctx, int stage, nn_store *const *stores, size_t n_stores, int *done);
    /* After every epoch of the stage (done: its epochs completed). */
    int (*save)(void *ctx, int stage, nn_store *const *stores, size_t n_stores, int done);
    void *ctx;
} nn_ckpt_hook;

/* Where a lazily updated table lies in a gradient array: from float off,
 * rows of width floats (width 0: no such table, every value is read). */
typedef struct nn_lazy_rows {
    size_t off, width;
} nn_lazy_rows;

/* Data parallelism (src/dist/text.c): each rank computes a slice of
 * every step's global batch, then the ranks' gradient and loss sums are
 * added before the optimizer step, so every replica takes the same step.
 * NULL in one process.  Both calls are collective: every rank makes them
 * at every step, whatever its slice holds. */
typedef struct nn_dp_hook {
    /* This rank's examples of a step's batch of n: [*lo, *hi). */
    void (*slice)(void *ctx, size_t n, size_t *lo, size_t *hi);
    /* Sums over the ranks in place: n_grads gradient arrays (grads[k] of
     * n[k] floats, the same bits on every rank afterwards), the flags
     * touched[0..n_touched) (or-ed; NULL: none) and sums[0..n_sums).
     * With rows.width, touched flags the rows of a lazily updated table in
     * grads[0] (rows.off, n_touched rows of rows.width floats) whose
     * untouched rows are never read: only the touched ones need a sum.
     * Returns AISLE_OK or an error every rank returns. */
    int (*reduce)(void *ctx, float *const *grads, const size_t *n, size_t n_grads, unsigned char *touched,
                  size_t n_touched, nn_lazy_rows rows, double *sums, size_t n_sums);
    void *ctx;
    const nn_ckpt_hook *ckpt; /* the run's checkpoints (nn_train_cfg.ckpt), or NULL */
} nn_dp_hook;

typedef struct nn_train_cfg {
    int epochs;           /* fine-tuning epochs */
    int pretrain_epochs;  /* masked-token epochs before fine-tuning (0 = none) */
    size_t batch;
    float lr, pretrain_lr, weight_decay, warmup, clip_norm;
    float mask_rate;      /* share of tokens masked in pre-training */
    uint32_t mlm_buckets; /* hashed output classes of the masked-token head */
    float label_smoothing;
    int threads;
    uint64_t seed;
    /* distillation targets (NULL: labels only): n_texts x n_classes
     * probabilities; loss alpha T^2 CE(soft, softmax(z/T)) + (1 - alpha) CE(label, softmax(z)) */
    const float *soft;
    float soft_alpha, soft_temperature;
    /* progress: called after every epoch (stage 0 pre-training, 1 fine-
     * tuning) with the mean loss; a non-zero status stops training and is
     * returned as is (the callback sets the message) */
    int (*progress)(void *ctx, int stage, int epoch, double loss);
    void *progress_ctx;
    const nn_dp_hook *dp; /* data-parallel training, or NULL (one process) */
    const nn_ckpt_hook *ckpt; /* checkpoints, or NULL */
} nn_train_cfg;

void nn_train_default(nn_train_cfg *c);

/* A text classifier: the encoder and a linear head on the pooled vector,
 * in one store (what a model file keeps). */
typedef struct nn_textclf {
    nn_store s;
    nn_encoder enc;
    nn_linear head;
    nn_feat_cfg feat;
    size_t n_classes;
    float temperature; /* logits are divided by it (calibration); 1 by default */
} nn_textclf;

/* Registers and allocates (training: with gradients and moments); random
 * initialisation from seed. */
int nn_textclf_new(nn_textclf *m, const nn_encoder_cfg *ec, const nn_feat_cfg *fc, size_t n_classes, bool training,
                   uint64_t seed);
void nn_textclf_free(nn_textclf *m);
/* Masked-token pre-training of m's encoder on texts (labels not used).
 * 80% of the chosen tokens become [MASK], 10% another token of the batch,
 * 10% stay (Devlin et al. 2019). *loss: last epoch's mean loss (or NULL).
 * Randomness per example: a text's masked tokens and dropout masks come
 * from a stream keyed by (seed, stage, step, text index), so they do not
 * depend on which thread or rank computes the text (c->dp). */
int nn_textclf_pretrain(nn_textclf *m, const nn_toks *texts, const nn_train_cfg *c, double *loss);
/* Fine-tunes encoder and head on (texts, labels in [0, n_classes)). */
int nn_textclf_finetune(nn_textclf *m, const nn_toks *texts, const uint32_t *labels, const nn_train_cfg *c,
                        double *loss);
/* Class probabilities of texts [0, n_texts) of toks into probs
 * (n_texts x n_classes).  ws: NULL (allocates its own) or a prediction
 * workspace of at least one text.  Thread-safe on a shared m with one ws
 * per thread. */
int nn_textclf_predict(const nn_textclf *m, const nn_toks *toks, float *probs, nn_encoder_ws *ws);
/* Raw logits (before the temperature) of the texts, like predict. */
int nn_textclf_logits(const nn_textclf *m, const nn_toks *toks, float *logits, nn_encoder_ws *ws);
/* The pooled vectors the head reads (n_texts x d: the [CLS] row or the
 * mean of the final rows, as the encoder's pool says), like predict;
 * logits = head(these), bit for bit. */
int nn_textclf_embed(const nn_textclf *m, const nn_toks *toks, float *out, nn_encoder_ws *ws);
/* Leave-one-token-out contributions to class `cls` for text 0 of toks,
 * with margin(x) = logit_cls(x) - mean logit(x):
 * contrib[k] = margin(text) - margin(text with token k as [MASK]), for its
 * n tokens (contrib holds n floats).  Positive: token k pushed towards
 * cls relative to the other classes. */
int nn_textclf_explain(const nn_textclf *m, const nn_toks *toks, size_t cls, float *contrib);
/* Losses over logits z[0..n), each overwriting z with its gradient times
 * gscale and returning the loss.  Softmax cross-entropy with label
 * smoothing eps (target 1 - eps + eps/n, others eps/n): */
double nn_xent_smoothed(float *z, size_t n, size_t target, float eps, float gscale);
/* Distillation (Hinton et al. 2015): alpha T^2 CE(soft, softmax(z/T)) +
 * (1 - alpha) CE(target, softmax(z)). */
double nn_distill_xent(float *z, size_t n, size_t target, const float *soft, float alpha, float temperature,
                       float gscale);
/* Fits the temperature minimising the log-loss of logits (n x n_classes)
 * against labels (golden-section search on log T in [1/20, 20]). */
float nn_fit_temperature(const float *logits, const uint32_t *labels, size_t n, size_t n_classes);

#endif /* AISLE_NN_H */
