/* sasrec.c - SASRec, self-attentive sequential recommendation (Kang &
 * McAuley, ICDM 2018): a causal transformer over each user's last `maxlen`
 * items predicts the next item; item embeddings are shared between the
 * input and the output layer.  Built on src/nn (see docs/SASREC.md).
 *
 * Tokens: item index i is token i+1; token 0 is padding.  Sequences are
 * left-padded to maxlen so the newest item is always at position maxlen-1.
 */
#include "features/features.h"
#include "models.h"
#include "nn/nn.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static const option_spec sasrec_options[] = {
    {"maxlen", AISLE_OPTION_INT, 2, 1024, "50", NULL, "sasrec", "Number of most recent items of a sequence the model reads."},
    {"blocks", AISLE_OPTION_INT, 1, 16, "2", NULL, "sasrec", "Transformer blocks (self-attention + feed-forward)."},
    {"heads", AISLE_OPTION_INT, 1, 64, "1", NULL, "sasrec", "Attention heads per block; must divide hidden."},
    {"hidden", AISLE_OPTION_INT, 4, 2048, "64", NULL, "sasrec", "Width of item embeddings and hidden states."},
    {"activation", AISLE_OPTION_STRING, 0, 0, "relu", "relu|gelu", "sasrec", "Feed-forward activation."},
    {"block_layout", AISLE_OPTION_STRING, 0, 0, "pre_ln", "pre_ln|sasrec", "sasrec",
     "pre_ln: the standard pre-LN transformer block (measured better); sasrec: the SASRec authors' block "
     "(queries layer-normalised, keys and values not; residuals from the normalised inputs; dropout also "
     "after the feed-forward activation)."},
    {"dropout", AISLE_OPTION_FLOAT, 0, 0.9, "0.2", NULL, "sasrec",
     "Dropout rate on embeddings and on each block's attention and feed-forward outputs."},
    {"attention_dropout", AISLE_OPTION_FLOAT, -1, 0.9, "-1", NULL, "sasrec",
     "Dropout rate on the attention weights; -1: the same as dropout."},
    {"embedding_std", AISLE_OPTION_FLOAT, 0, 10, "0.01", NULL, "sasrec",
     "Standard deviation of the initial item embeddings.  Small values matter: items seldom seen in training "
     "keep most of their initial noise, and large noise ranks them at random."},
    {"epochs", AISLE_OPTION_INT, 1, 100000, "30", NULL, "sasrec", "Maximum passes over the training sequences."},
    {"batch_size", AISLE_OPTION_INT, 1, 65536, "128", NULL, "sasrec", "Sequences per optimizer step."},
    {"learning_rate", AISLE_OPTION_FLOAT, 1e-7, 10, "0.001", NULL, "sasrec", "Peak AdamW learning rate."},
    {"warmup", AISLE_OPTION_FLOAT, 0, 0.5, "0.02", NULL, "sasrec",
     "Fraction of the planned optimizer steps spent warming the learning rate up linearly from 0."},
    {"lr_schedule", AISLE_OPTION_STRING, 0, 0, "none", "none|linear|cosine", "sasrec",
     "Learning-rate decay after warm-up, down to 10% of the peak at the last planned step."},
    {"clip_norm", AISLE_OPTION_FLOAT, 0, 1e6, "5", NULL, "sasrec", "Global gradient-norm clip; 0 disables."},
    {"lazy_adam", AISLE_OPTION_BOOL, 0, 1, "false", NULL, "sasrec",
     "Update only the item-embedding rows a batch touched (LazyAdam): a step then costs the batch, not the "
     "catalog.  false runs dense AdamW over the whole table every step."},
    {"l2", AISLE_OPTION_FLOAT, 0, 10, "0", NULL, "sasrec", "AdamW decoupled weight decay on weight matrices and embeddings."},
    {"train_negatives", AISLE_OPTION_INT, 1, 1000, "64", NULL, "sasrec",
     "Sampled negative items per positive (items outside the user's history)."},
    {"loss", AISLE_OPTION_STRING, 0, 0, "sampled_softmax", "sampled_softmax|bce", "sasrec",
     "bce: binary cross-entropy, positive vs each negative (the paper); sampled_softmax: cross-entropy "
     "over the positive and its negatives."},
    {"holdout_last", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "sasrec",
     "Hold out each user's last item (users with 3+ items) to measure NDCG@10 after every epoch, stop "
     "early and keep the best epoch's parameters."},
    {"refit", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "sasrec",
     "With holdout_last: once early stopping has chosen the best epoch count, train again from scratch on "
     "every event (the held-out items included) for that many epochs.  Costs about twice the training time; "
     "the model then also learns each user's newest transition (on Amazon Video: test HR@10 +0.03)."},
    {"validation_users", AISLE_OPTION_INT, 1, 1e9, "2000", NULL, "sasrec",
     "At most this many users (chosen at random) are scored for the validation metric."},
    {"patience", AISLE_OPTION_INT, 0, 100000, "3", NULL, "sasrec",
     "Stop after this many epochs without a better validation metric; 0 never stops early."},
    {"side_info", AISLE_OPTION_BOOL, 0, 1, "false", NULL, "sasrec",
     "Add to each item's embedding the mean of learned embeddings of the hashed words of its catalog title, "
     "category and brand (training with a catalog), so items with little or no sequence history still get "
     "meaningful embeddings.  Catalog products without any event join the model's items, represented by "
     "their words alone."},
    {"side_id_dropout", AISLE_OPTION_FLOAT, 0, 1, "0.5", NULL, "sasrec",
     "With side_info: each training step drops the item-id part of this fraction of items' embeddings, so "
     "their words alone must predict them (DropoutNet-style training for cold items)."},
    {"side_min_count", AISLE_OPTION_INT, 0, 1e9, "3", NULL, "sasrec",
     "With side_info: items occurring fewer times than this in the training sequences are represented by "
     "their words only (their id embedding is unused and stored as zeros)."},
    {"side_buckets", AISLE_OPTION_INT, 16, 4194304, "8192", NULL, "sasrec",
     "Hash buckets (learned embeddings) for the side-information words."},
    OPTION_END};

/* Words of side information used per item, at most. */
#define SASREC_MAX_ITEM_TOKENS 32

/* Validation metric: NDCG@10 of the held-out item against this many
 * uniformly sampled items outside the user's history. */
#define SASREC_VAL_NEGATIVES 100

typedef struct sasrec_net {
    size_t d, ff, T;
    int nblocks;
    uint32_t n_tokens; /* items + 1 */
    nn_store s;
    nn_param item_emb, pos_emb;
    nn_block *blocks;
    nn_layernorm ln_final;
    /* side information: item i's effective embedding (eff) is E[i+1] plus
     * the mean of bucket embeddings of its hashed words tok_ids[tok_ptr[i]..] */
    uint32_t n_buckets; /* 0: none */
    nn_param buckets;
    uint64_t *tok_ptr;  /* n_tokens + 1 (per token; padding has none) */
    uint32_t *tok_ids;
    float *eff, *geff;  /* n_tokens x d: effective embeddings and their gradient (training) */
    unsigned char *id_keep; /* training: per token, whether this step uses the id embedding */
} sasrec_net;

typedef struct sasrec_state {
    sasrec_net net;
    uint32_t *user_seq; /* users x T tokens, left-padded: each user's newest items */
    int epochs_run;
    double best_metric;
} sasrec_state;

/* Activations for a ragged batch of up to B sequences of up to T tokens:
 * sequence b's tokens are rows bt.offs[b].. of every matrix. */
typedef struct sasrec_ws {
    size_t B;
    int threads;
    nn_batch bt;
    size_t *lens;      /* B */
    uint32_t *ids;     /* rows: input tokens */
    uint32_t *posi;    /* rows: position index (newest item at T-1) */
    float *mask0;      /* embedding dropout mask (training) */
    float **xs;        /* nblocks+1 activations, each rows x d */
    nn_block_cache *caches;
    float *fin, *meanf, *rstdf; /* final layer norm */
    float *dh, *dx;    /* gradients (training) */
} sasrec_ws;

static int net_build(sasrec_net *net, size_t d, size_t T, int nblocks, int heads, int act, int layout,
                     float dropout, float attn_dropout, uint32_t n_items, uint32_t n_buckets) {
    net->d = d;
    net->ff = d; /* as in the paper: point-wise feed-forward of the same width */
    net->T = T;
    net->nblocks = nblocks;
    net->n_tokens = n_items + 1;
    nn_store_init(&net->s);
    int rc = nn_store_add(&net->s, net->n_tokens, d, true, &net->item_emb);
    if (!rc) rc = nn_store_add(&net->s, T, d, true, &net->pos_emb);
    net->n_buckets = n_buckets;
    if (!rc && n_buckets) rc = nn_store_add(&net->s, n_buckets, d, true, &net->buckets);
    if (rc) return rc;
    net->blocks = core_calloc((size_t)nblocks, sizeof *net->blocks);
    if (!net->blocks) return core_oom("sasrec blocks");
    nn_block_cfg bc = {d, net->ff, heads, act, NN_MASK_CAUSAL, dropout, layout, attn_dropout};
    for (int l = 0; l < nblocks && !rc; l++) rc = nn_block_init(&net->blocks[l], &net->s, &bc);
    if (!rc) rc = nn_layernorm_init(&net->ln_final, &net->s, d);
    return rc;
}

static void net_free(sasrec_net *net) {
    nn_store_free(&net->s);
    core_free(net->tok_ptr);
    core_free(net->tok_ids);
    core_free(net->eff);
    core_free(net->geff);
    core_free(net->id_keep);
    net->tok_ptr = NULL, net->tok_ids = NULL, net->eff = net->geff = NULL, net->id_keep = NULL;
    core_free(net->blocks);
    net->blocks = NULL;
}

/* The item embedding table the network reads (tokens x d). */
static const float *net_emb(const sasrec_net *net) { return net->n_buckets ? net->eff : nn_w(&net->s, net->item_emb); }

/* eff = E + mean of each item's word-bucket embeddings. */
static void net_refresh_eff(sasrec_net *net) {
    if (!net->n_buckets) return;
    size_t d = net->d;
    const float *E = nn_w(&net->s, net->item_emb), *Bk = nn_w(&net->s, net->buckets);
    for (uint32_t t = 0; t < net->n_tokens; t++) {
        float *e = net->eff + (size_t)t * d;
        uint64_t b = net->tok_ptr[t], end = net->tok_ptr[t + 1];
        if (net->id_keep && !net->id_keep[t] && b != end)
            memset(e, 0, d * sizeof *e);
        else
            memcpy(e, E + (size_t)t * d, d * sizeof *e);
        if (b == end) continue;
        float inv = 1.0f / (float)(end - b);
        for (uint64_t k = b; k < end; k++) {
            const float *w = Bk + (size_t)net->tok_ids[k] * d;
            for (size_t j = 0; j < d; j++) e[j] += inv * w[j];
        }
    }
}

/* Moves the gradient of the effective embeddings to E and the buckets. */
static void net_fold_geff(sasrec_net *net) {
    size_t d = net->d;
    float *gE = nn_g(&net->s, net->item_emb), *gB = nn_g(&net->s, net->buckets);
    for (uint32_t t = 0; t < net->n_tokens; t++) {
        float *g = net->geff + (size_t)t * d;
        float *ge = gE + (size_t)t * d;
        uint64_t b = net->tok_ptr[t], end = net->tok_ptr[t + 1];
        float inv = b == end ? 0.0f : 1.0f / (float)(end - b);
        if (!net->id_keep || net->id_keep[t] || b == end)
            for (size_t j = 0; j < d; j++) ge[j] += g[j];
        for (uint64_t k = b; k < end; k++) {
            float *gb = gB + (size_t)net->tok_ids[k] * d;
            for (size_t j = 0; j < d; j++) gb[j] += inv * g[j];
        }
        memset(g, 0, d * sizeof *g);
    }
}

/* Hashed words of each model item's catalog title, category and brand. */
static int build_item_tokens(sasrec_net *net, const aisle_model *m, const aisle_catalog *cat) {
    size_t cap = 0;
    net->tok_ptr = core_calloc((size_t)net->n_tokens + 1, sizeof *net->tok_ptr);
    if (!net->tok_ptr) return core_oom("sasrec side information");
    uint32_t buf[SASREC_MAX_ITEM_TOKENS];
    const int fields[] = {DATA_FIELD_TITLE, DATA_FIELD_CATEGORY, DATA_FIELD_BRAND};
    for (uint32_t i = 0; i < model_n_items(m); i++) {
        size_t n = 0;
        const char *key = keys_at(&m->items, i);
        int64_t p = cat ? data_catalog_find(cat, key, strlen(key)) : -1;
        for (size_t f = 0; p >= 0 && f < CORE_ARRAY_LEN(fields) && n < SASREC_MAX_ITEM_TOKENS; f++) {
            const char *text = data_catalog_field(cat, (size_t)p, fields[f]);
            size_t got;
            int rc = feat_hash_tokens(text, strlen(text), net->n_buckets, buf + n, SASREC_MAX_ITEM_TOKENS - n, &got);
            if (rc) return rc;
            n += CORE_MIN(got, SASREC_MAX_ITEM_TOKENS - n);
        }
        uint64_t at = net->tok_ptr[i + 1];
        int rc = core_grow((void **)&net->tok_ids, &cap, at + n + 1, sizeof *net->tok_ids);
        if (rc) return rc;
        memcpy(net->tok_ids + at, buf, n * sizeof *buf);
        net->tok_ptr[i + 2] = at + n; /* token i+1 */
    }
    if (!net->tok_ids && !(net->tok_ids = core_malloc(sizeof *net->tok_ids))) return core_oom("sasrec side information");
    return AISLE_OK;
}

/* Allocates eff (and geff for training) and fills eff. */
static int net_side_alloc(sasrec_net *net, bool training) {
    if (!net->n_buckets) return AISLE_OK;
    size_t n = (size_t)net->n_tokens * net->d;
    net->eff = core_malloc(n * sizeof *net->eff);
    if (training) net->geff = core_calloc(n, sizeof *net->geff);
    if (!net->eff || (training && !net->geff)) return core_oom("sasrec side-information embeddings");
    net_refresh_eff(net);
    return AISLE_OK;
}

static void ws_free(sasrec_ws *w, int nblocks) {
    if (w->caches)
        for (int l = 0; l < nblocks; l++) nn_block_cache_free(&w->caches[l]);
    if (w->xs)
        for (int l = 0; l <= nblocks; l++) core_free(w->xs[l]);
    nn_batch_free(&w->bt);
    core_free(w->caches);
    core_free(w->xs);
    core_free(w->lens);
    core_free(w->ids);
    core_free(w->posi);
    core_free(w->mask0);
    core_free(w->fin);
    core_free(w->meanf);
    core_free(w->rstdf);
    core_free(w->dh);
    core_free(w->dx);
    memset(w, 0, sizeof *w);
}

static int ws_alloc(sasrec_ws *w, const sasrec_net *net, size_t B, int threads, bool training) {
    memset(w, 0, sizeof *w);
    w->B = B;
    w->threads = threads;
    size_t n = B * net->T, nd = n * net->d;
    int rc = nn_batch_alloc(&w->bt, B);
    if (rc) return rc;
    w->lens = core_calloc(B, sizeof *w->lens);
    w->ids = core_calloc(n, sizeof *w->ids);
    w->posi = core_calloc(n, sizeof *w->posi);
    w->xs = core_calloc((size_t)net->nblocks + 1, sizeof *w->xs);
    w->caches = core_calloc((size_t)net->nblocks, sizeof *w->caches);
    w->fin = core_malloc(nd * sizeof(float));
    w->meanf = core_malloc(n * sizeof(float));
    w->rstdf = core_malloc(n * sizeof(float));
    bool ok = w->lens && w->ids && w->posi && w->xs && w->caches && w->fin && w->meanf && w->rstdf;
    if (ok && training) {
        w->mask0 = core_malloc(nd * sizeof(float));
        w->dh = core_malloc(nd * sizeof(float));
        w->dx = core_malloc(nd * sizeof(float));
        ok = w->mask0 && w->dh && w->dx;
    }
    for (int l = 0; ok && l <= net->nblocks; l++) ok = (w->xs[l] = core_malloc(nd * sizeof(float))) != NULL;
    if (!ok) {
        ws_free(w, net->nblocks);
        return core_oom("sasrec workspace");
    }
    for (int l = 0; l < net->nblocks; l++) {
        rc = nn_block_cache_alloc(&w->caches[l], &net->blocks[l].c, n, net->T, threads, training);
        if (rc) {
            ws_free(w, net->nblocks);
            return rc;
        }
    }
    return AISLE_OK;
}

/* Appends sequence b = the last min(len, T) items of items[0..len) (item
 * indices) to the batch being built; call ws_close() after the last. */
static void ws_add(sasrec_ws *w, const sasrec_net *net, size_t b, const uint32_t *items, size_t len) {
    size_t T = net->T, take = len < T ? len : T;
    size_t row = b ? w->bt.offs[b - 1] + w->lens[b - 1] : 0;
    w->bt.offs[b] = row;
    w->lens[b] = take;
    for (size_t i = 0; i < take; i++) {
        w->ids[row + i] = items[len - take + i] + 1;
        w->posi[row + i] = (uint32_t)(T - take + i);
    }
}

static void ws_close(sasrec_ws *w, size_t B) { nn_batch_set(&w->bt, w->lens, B); }

/* Forward over the batch's tokens to w->fin: embeddings * sqrt(d) plus
 * learned positions, dropout, blocks, final layer norm. */
static int net_forward(const sasrec_net *net, sasrec_ws *w, bool training, core_rng *rng) {
    size_t d = net->d, n = w->bt.rows;
    const float *E = net_emb(net), *pos = nn_w(&net->s, net->pos_emb);
    float *x = w->xs[0];
    nn_embedding_forward(E, d, w->ids, n, sqrtf((float)d), x);
    for (size_t r = 0; r < n; r++) {
        const float *p = pos + (size_t)w->posi[r] * d;
        for (size_t k = 0; k < d; k++) x[r * d + k] += p[k];
    }
    float p0 = training ? net->blocks[0].c.dropout : 0.0f;
    if (p0 > 0) nn_dropout_forward(x, n * d, p0, rng, w->mask0, x);
    for (int l = 0; l < net->nblocks; l++) {
        int rc = nn_block_forward(&net->s, &net->blocks[l], &w->caches[l], &w->bt, w->xs[l], training, rng,
                                  w->xs[l + 1]);
        if (rc) return rc;
    }
    nn_layernorm_forward(&net->s, &net->ln_final, w->xs[net->nblocks], n, w->fin, w->meanf, w->rstdf);
    return AISLE_OK;
}

/* Backward from w->dh (gradient wrt w->fin); accumulates into net->s.g. */
static int net_backward(sasrec_net *net, sasrec_ws *w) {
    size_t d = net->d, n = w->bt.rows;
    float *dy = w->dh, *dx = w->dx;
    nn_layernorm_backward(&net->s, &net->ln_final, w->xs[net->nblocks], dy, w->meanf, w->rstdf, n, dx);
    for (int l = net->nblocks - 1; l >= 0; l--) {
        float *t = dy;
        dy = dx;
        dx = t;
        int rc = nn_block_backward(&net->s, &net->blocks[l], &w->caches[l], &w->bt, dy, dx);
        if (rc) return rc;
    }
    if (net->blocks[0].c.dropout > 0) nn_dropout_backward(dx, w->mask0, n * d, dx);
    float *gpos = nn_g(&net->s, net->pos_emb);
    for (size_t r = 0; r < n; r++) {
        float *g = gpos + (size_t)w->posi[r] * d;
        for (size_t k = 0; k < d; k++) g[k] += dx[r * d + k];
    }
    nn_embedding_backward(net->n_buckets ? net->geff : nn_g(&net->s, net->item_emb), d, w->ids, n, sqrtf((float)d),
                          dx);
    if (net->n_buckets) net_fold_geff(net);
    return AISLE_OK;
}

/* Writes the last T tokens of items[0..len) (item indices) left-padded. */
static void fill_window(uint32_t *dst, size_t T, const uint32_t *items, size_t len) {
    size_t take = len < T ? len : T;
    memset(dst, 0, (T - take) * sizeof *dst);
    for (size_t i = 0; i < take; i++) dst[T - take + i] = items[len - take + i] + 1;
}

static bool in_history(const data_csr *h, uint32_t user, uint32_t item) {
    size_t lo = h->indptr[user], hi = h->indptr[user + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->indices[mid] == item) return true;
        if (h->indices[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

/* Uniform item outside the user's history (gives up after a few tries on
 * users who saw nearly everything). */
static uint32_t sample_negative(core_rng *r, const data_csr *h, uint32_t user, uint32_t n_items) {
    uint32_t it = 0;
    for (int tries = 0; tries < 20; tries++) {
        it = (uint32_t)rng_below(r, n_items);
        if (!in_history(h, user, it)) break;
    }
    return it;
}

/* Dot product with eight partial sums (vectorises without -ffast-math; the
 * summation order is fixed, so results do not depend on the machine's
 * vector width). */
static float dot_f(const float *a, const float *b, size_t d) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t k = 0;
    for (; k + 8 <= d; k += 8)
        for (size_t j = 0; j < 8; j++) acc[j] += a[k + j] * b[k + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < d; k++) s += a[k] * b[k];
    return s;
}

/* ---- training ---- */

typedef struct train_ctx {
    const data_seq *seq;
    const data_csr *hist;
    uint32_t *users; /* trainable users */
    size_t n_users;
    bool holdout;    /* drop each user's last item from training (validation) */
    uint32_t *val_users;
    uint32_t *val_items; /* n_val x (1 + negatives): target first */
    size_t n_val;
    int loss_kind, negatives;
    uint32_t *tgt, *negs; /* B*T, B*T*negatives */
    float *logits, *dlogits; /* rows x (1 + negatives) of the current batch */
    double *row_loss;        /* rows */
    int threads;
    unsigned char *touched; /* item-embedding rows with a gradient this step (lazy updates) */
    float id_dropout;       /* side_id_dropout */
    double warmup;          /* warm-up fraction of the planned steps */
    unsigned char *cold;    /* side info: tokens represented by their words only */
} train_ctx;

/* Training length of user u's sequence (without the held-out item). */
static size_t train_len(const train_ctx *tc, uint32_t u) {
    size_t len = tc->seq->indptr[u + 1] - tc->seq->indptr[u];
    return tc->holdout && len >= 3 ? len - 1 : len;
}

typedef struct loss_job {
    const sasrec_net *net;
    sasrec_ws *w;
    train_ctx *tc;
    float inv; /* 1 / rows: the loss is the mean over positions */
} loss_job;

/* Rows [begin, end): logits of the target and its negatives, the loss, its
 * gradient wrt the logits (kept for the embedding gradient) and dh. */
static int loss_rows(void *vjob, size_t begin, size_t end, int tid) {
    (void)tid;
    const loss_job *job = vjob;
    train_ctx *tc = job->tc;
    size_t d = job->net->d, K = (size_t)tc->negatives;
    const float *E = net_emb(job->net);
    for (size_t r = begin; r < end; r++) {
        const float *h = job->w->fin + r * d;
        float *dh = job->w->dh + r * d;
        float *logit = tc->logits + r * (K + 1), *dlogit = tc->dlogits + r * (K + 1);
        for (size_t j = 0; j <= K; j++)
            logit[j] = dot_f(h, E + (size_t)(j ? tc->negs[r * K + j - 1] : tc->tgt[r]) * d, d);
        double loss = 0;
        if (tc->loss_kind == 0)
            for (size_t j = 0; j <= K; j++) loss += nn_bce_logit(logit[j], j == 0, &dlogit[j]);
        else
            loss = nn_softmax_xent(logit, K + 1, 0, dlogit);
        tc->row_loss[r] = loss;
        memset(dh, 0, d * sizeof *dh);
        for (size_t j = 0; j <= K; j++) {
            float g = dlogit[j] * job->inv;
            const float *e = E + (size_t)(j ? tc->negs[r * K + j - 1] : tc->tgt[r]) * d;
            for (size_t k = 0; k < d; k++) dh[k] += g * e[k];
        }
    }
    return AISLE_OK;
}

/* One optimizer step on users[0..B).  Returns the mean loss in *loss. */
static int train_step(sasrec_net *net, sasrec_ws *w, train_ctx *tc, const uint32_t *users, size_t B,
                      const nn_adamw *opt, core_rng *rng, double *loss) {
    size_t d = net->d, K = (size_t)tc->negatives;
    uint32_t n_items = net->n_tokens - 1;
    for (size_t b = 0; b < B; b++) {
        uint32_t u = users[b];
        const uint32_t *items = tc->seq->items + tc->seq->indptr[u];
        size_t len = train_len(tc, u);
        /* inputs: items[0..len-1), targets: the item after each input */
        ws_add(w, net, b, items, len - 1);
        size_t row = w->bt.offs[b], take = w->lens[b];
        for (size_t i = 0; i < take; i++) {
            tc->tgt[row + i] = items[len - take + i] + 1;
            for (size_t k = 0; k < K; k++) tc->negs[(row + i) * K + k] = sample_negative(rng, tc->hist, u, n_items) + 1;
        }
    }
    ws_close(w, B);
    if (tc->touched) {
        size_t rows = w->bt.rows;
        for (size_t r = 0; r < rows; r++) {
            tc->touched[w->ids[r]] = 1;
            tc->touched[tc->tgt[r]] = 1;
        }
        for (size_t r = 0; r < rows * K; r++) tc->touched[tc->negs[r]] = 1;
    }
    nn_zero_grad(&net->s);
    if (net->id_keep) {
        for (uint32_t t = 0; t < net->n_tokens; t++)
            net->id_keep[t] = !tc->cold[t] && (tc->id_dropout <= 0 || rng_float(rng) >= tc->id_dropout);
        net_refresh_eff(net);
    }
    int rc = net_forward(net, w, true, rng);
    if (rc) return rc;
    float *gE = net->n_buckets ? net->geff : nn_g(&net->s, net->item_emb);
    size_t n = w->bt.rows;
    float inv = n ? 1.0f / (float)n : 0.0f;
    /* scores, losses and dh row-parallel (each row writes only its own
     * slots); the item-embedding gradient, whose rows several positions
     * share, is then accumulated by this thread in row order */
    loss_job job = {net, w, tc, inv};
    rc = core_parallel_for(n * (K + 1) * d >= (1u << 16) ? tc->threads : 1, n, 16, loss_rows, &job);
    if (rc) return rc;
    double total = 0;
    for (size_t r = 0; r < n; r++) {
        const float *h = w->fin + r * d;
        total += tc->row_loss[r];
        for (size_t j = 0; j <= K; j++) {
            float g = tc->dlogits[r * (K + 1) + j] * inv;
            float *ge = gE + (size_t)(j ? tc->negs[r * K + j - 1] : tc->tgt[r]) * d;
            for (size_t k = 0; k < d; k++) ge[k] += g * h[k];
        }
    }
    rc = net_backward(net, w);
    if (rc) return rc;
    nn_adamw_step(&net->s, opt);
    net_refresh_eff(net);
    *loss = n ? total / (double)n : 0.0;
    return AISLE_OK;
}

/* Sampled NDCG@10 of the held-out items (inputs: the training part). */
static int validate(const sasrec_net *net, sasrec_ws *w, const train_ctx *tc, double *ndcg) {
    size_t d = net->d, M = 1 + SASREC_VAL_NEGATIVES;
    const float *E = net_emb(net);
    double sum = 0;
    for (size_t start = 0; start < tc->n_val; start += w->B) {
        size_t B = CORE_MIN(w->B, tc->n_val - start);
        for (size_t b = 0; b < B; b++) {
            uint32_t u = tc->val_users[start + b];
            ws_add(w, net, b, tc->seq->items + tc->seq->indptr[u], train_len(tc, u));
        }
        ws_close(w, B);
        int rc = net_forward(net, w, false, NULL);
        if (rc) return rc;
        for (size_t b = 0; b < B; b++) {
            const float *h = w->fin + (w->bt.offs[b + 1] - 1) * d;
            const uint32_t *c = tc->val_items + (start + b) * M;
            float target = dot_f(h, E + ((size_t)c[0] + 1) * d, d);
            size_t rank = 0;
            for (size_t j = 1; j < M; j++) rank += dot_f(h, E + ((size_t)c[j] + 1) * d, d) > target;
            if (rank < 10) sum += 1.0 / log2((double)rank + 2.0);
        }
    }
    *ndcg = tc->n_val ? sum / (double)tc->n_val : NAN;
    return AISLE_OK;
}

static void sasrec_free(aisle_model *m) {
    sasrec_state *st = m->state;
    if (!st) return;
    net_free(&st->net);
    core_free(st->user_seq);
    core_free(st);
    m->state = NULL;
}

static void train_ctx_free(train_ctx *tc) {
    core_free(tc->users);
    core_free(tc->val_users);
    core_free(tc->val_items);
    core_free(tc->tgt);
    core_free(tc->negs);
    core_free(tc->logits);
    core_free(tc->dlogits);
    core_free(tc->row_loss);
    core_free(tc->touched);
    core_free(tc->cold);
}

/* Fresh parameters: item embeddings N(0, emb_std) (times sqrt(d) at the
 * input), positions N(0, 1/d), Glorot blocks, unit norms; optimizer state
 * cleared. */
static void net_init_params(sasrec_net *net, float emb_std, core_rng *rng) {
    size_t d = net->d;
    nn_init_normal(&net->s, net->item_emb, emb_std, rng);
    memset(nn_w(&net->s, net->item_emb), 0, d * sizeof(float)); /* padding row */
    nn_init_normal(&net->s, net->pos_emb, 1.0f / sqrtf((float)d), rng);
    for (int l = 0; l < net->nblocks; l++) nn_block_reset(&net->blocks[l], &net->s, rng);
    nn_layernorm_reset(&net->ln_final, &net->s);
    if (net->n_buckets) nn_init_normal(&net->s, net->buckets, 1.0f / sqrtf((float)d), rng);
    if (net->s.m) memset(net->s.m, 0, net->s.n * sizeof *net->s.m);
    if (net->s.v) memset(net->s.v, 0, net->s.n * sizeof *net->s.v);
    net->s.step = 0;
}

/* One pass over the trainable users in a fresh random order; *loss: the
 * mean training loss per user. */
static int run_epoch(sasrec_net *net, sasrec_ws *w, train_ctx *tc, const nn_adamw *opt, core_rng *rng,
                     double *loss) {
    rng_shuffle_u32(rng, tc->users, tc->n_users);
    double sum = 0;
    for (size_t start = 0; start < tc->n_users; start += w->B) {
        size_t B = CORE_MIN(w->B, tc->n_users - start);
        double l;
        int rc = train_step(net, w, tc, tc->users + start, B, opt, rng, &l);
        if (rc) return rc;
        sum += l * (double)B;
    }
    *loss = sum / (double)tc->n_users;
    return AISLE_OK;
}

/* Trainable users (2+ training items) into tc->users. */
static void collect_users(train_ctx *tc, uint32_t n_users) {
    tc->n_users = 0;
    for (uint32_t u = 0; u < n_users; u++)
        if (train_len(tc, u) >= 2) tc->users[tc->n_users++] = u;
}

/* refit=true: after early stopping chose `epochs`, train fresh parameters
 * on every training item (the held-out ones included) for that many
 * epochs, so the model learns each user's newest transition too. */
static int refit_all(sasrec_net *net, sasrec_ws *w, train_ctx *tc, nn_adamw *opt, core_rng *rng, float emb_std,
                     uint32_t n_users, int epochs, core_progress *prog) {
    tc->holdout = false;
    collect_users(tc, n_users);
    net_init_params(net, emb_std, rng);
    opt->total_steps = (int64_t)(((tc->n_users + w->B - 1) / w->B) * (size_t)epochs);
    opt->warmup_steps = (int64_t)(tc->warmup * (double)opt->total_steps);
    for (int ep = 1; ep <= epochs; ep++) {
        double loss;
        int rc = run_epoch(net, w, tc, opt, rng, &loss);
        if (!rc) rc = core_progress_report(prog, ep, epochs, loss, NAN);
        if (rc) return rc;
    }
    return AISLE_OK;
}

/* Catalog products nobody has interacted with yet join the model's items
 * (after the dataset's, so dataset indices stay valid): with side
 * information their words alone give them an embedding, which is the point
 * of cold start.  They have no history and zero popularity. */
static int add_catalog_items(aisle_model *m, const aisle_catalog *cat) {
    size_t before = m->items.n, n = data_catalog_size(cat);
    for (size_t p = 0; p < n; p++) {
        const char *key = data_catalog_key(cat, p);
        uint32_t idx;
        bool added;
        int rc = keys_intern(&m->items, key, strlen(key), &idx, &added);
        if (rc) return rc;
    }
    if (m->items.n > UINT32_MAX - 1)
        return core_error(AISLE_ERANGE, "model 'sasrec': %zu items with the catalog's, more than supported",
                          m->items.n);
    if (m->items.n == before) return AISLE_OK;
    float *pop = core_realloc(m->popularity, m->items.n * sizeof *pop);
    if (!pop) return core_oom("sasrec catalog items");
    memset(pop + before, 0, (m->items.n - before) * sizeof *pop);
    m->popularity = pop;
    m->history.cols = (uint32_t)m->items.n;
    return AISLE_OK;
}

static int sasrec_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                        core_progress *prog) {
    (void)cat;
    const option_spec *o = sasrec_options;
    size_t d = (size_t)config_int(cfg, o, "hidden"), T = (size_t)config_int(cfg, o, "maxlen");
    int heads = (int)config_int(cfg, o, "heads"), nblocks = (int)config_int(cfg, o, "blocks");
    if (d % (size_t)heads)
        return core_error(AISLE_EINVAL, "model 'sasrec': option hidden=%zu must be a multiple of heads=%d", d, heads);
    int epochs = (int)config_int(cfg, o, "epochs"), patience = (int)config_int(cfg, o, "patience");
    size_t batch = (size_t)config_int(cfg, o, "batch_size");
    int threads = core_thread_count(config_int(cfg, o, "threads"));
    uint64_t seed = (uint64_t)config_int(cfg, o, "seed");
    int act = strcmp(config_string(cfg, o, "activation"), "gelu") == 0 ? NN_ACT_GELU : NN_ACT_RELU;
    const char *decay = config_string(cfg, o, "lr_schedule");

    const data_seq *seq;
    int rc = data_sequences(ds, &seq);
    if (rc) return rc;
    sasrec_state *st = core_calloc(1, sizeof *st);
    if (!st) return core_oom("sasrec model");
    m->state = st;
    bool side = config_bool(cfg, o, "side_info");
    if (side && !cat)
        return core_error(AISLE_EINVAL, "model 'sasrec': option side_info=true needs a catalog "
                                        "(train with aisle_model_train_with_catalog)");
    if (side && (rc = add_catalog_items(m, cat)) != AISLE_OK) return rc;
    uint32_t n_users = model_n_users(m), n_items = model_n_items(m);
    int layout = strcmp(config_string(cfg, o, "block_layout"), "sasrec") == 0 ? NN_LAYOUT_SASREC : NN_LAYOUT_PRE_LN;
    float dropout = (float)config_float(cfg, o, "dropout");
    float attn_dropout = (float)config_float(cfg, o, "attention_dropout");
    if (attn_dropout < 0) attn_dropout = dropout;
    rc = net_build(&st->net, d, T, nblocks, heads, act, layout, dropout, attn_dropout, n_items,
                   side ? (uint32_t)config_int(cfg, o, "side_buckets") : 0);
    if (!rc) rc = nn_store_alloc(&st->net.s, true);
    if (rc) return rc;
    sasrec_net *net = &st->net;
    if (side && (rc = build_item_tokens(net, m, cat)) != AISLE_OK) return rc;

    /* serving windows: each user's newest T items */
    st->user_seq = core_malloc((size_t)n_users * T * sizeof *st->user_seq);
    if (!st->user_seq) return core_oom("sasrec user sequences");
    for (uint32_t u = 0; u < n_users; u++)
        fill_window(st->user_seq + (size_t)u * T, T, seq->items + seq->indptr[u], seq->indptr[u + 1] - seq->indptr[u]);

    core_rng rng;
    rng_seed(&rng, seed);
    float emb_std = (float)config_float(cfg, o, "embedding_std");
    net_init_params(net, emb_std, &rng);
    if ((rc = net_side_alloc(net, true)) != AISLE_OK) return rc;
    float id_dropout = (float)config_float(cfg, o, "side_id_dropout");

    train_ctx tc = {.seq = seq, .hist = &m->history, .holdout = config_bool(cfg, o, "holdout_last")};
    tc.loss_kind = strcmp(config_string(cfg, o, "loss"), "bce") == 0 ? 0 : 1;
    tc.negatives = (int)config_int(cfg, o, "train_negatives");
    tc.id_dropout = id_dropout;
    unsigned char *cold = NULL;
    if (side) {
        /* items too rare to learn an id embedding for: words only */
        net->id_keep = core_malloc(net->n_tokens);
        cold = core_calloc(net->n_tokens, 1);
        uint32_t *cnt = core_calloc(net->n_tokens, sizeof *cnt);
        if (!net->id_keep || !cold || !cnt) {
            core_free(cold);
            core_free(cnt);
            return core_oom("sasrec side information");
        }
        for (size_t k = 0; k < seq->n; k++) cnt[seq->items[k] + 1]++;
        int64_t min_count = config_int(cfg, o, "side_min_count");
        for (uint32_t t = 1; t < net->n_tokens; t++)
            cold[t] = net->tok_ptr[t + 1] > net->tok_ptr[t] && cnt[t] < min_count;
        core_free(cnt);
    }
    tc.cold = cold;
    sasrec_ws w = {0}, vw = {0};
    tc.users = core_malloc((size_t)n_users * sizeof *tc.users);
    tc.val_users = core_malloc((size_t)n_users * sizeof *tc.val_users);
    tc.tgt = core_malloc(batch * T * sizeof *tc.tgt);
    tc.negs = core_malloc(batch * T * (size_t)tc.negatives * sizeof *tc.negs);
    tc.threads = threads;
    tc.logits = core_malloc(batch * T * ((size_t)tc.negatives + 1) * sizeof *tc.logits);
    tc.dlogits = core_malloc(batch * T * ((size_t)tc.negatives + 1) * sizeof *tc.dlogits);
    tc.row_loss = core_malloc(batch * T * sizeof *tc.row_loss);
    if (config_bool(cfg, o, "lazy_adam")) {
        tc.touched = core_calloc(net->n_tokens, 1);
        if (tc.touched) nn_store_set_lazy(&net->s, net->item_emb, tc.touched);
        else rc = core_oom("sasrec touched rows");
    }
    if (rc || !tc.users || !tc.val_users || !tc.tgt || !tc.negs || !tc.logits || !tc.dlogits || !tc.row_loss) {
        rc = core_oom("sasrec training buffers");
        goto done;
    }
    collect_users(&tc, n_users);
    for (uint32_t u = 0; u < n_users; u++)
        if (tc.holdout && seq->indptr[u + 1] - seq->indptr[u] >= 3) tc.val_users[tc.n_val++] = u;
    if (tc.n_users == 0) {
        rc = core_error(AISLE_EINVAL, "model 'sasrec': no user has 2 or more events to learn a sequence from");
        goto done;
    }
    core_rng vrng;
    rng_seed_stream(&vrng, seed, 1);
    size_t max_val = (size_t)config_int(cfg, o, "validation_users");
    if (tc.n_val > max_val) {
        rng_shuffle_u32(&vrng, tc.val_users, tc.n_val);
        tc.n_val = max_val;
    }
    if (tc.n_val) {
        size_t M = 1 + SASREC_VAL_NEGATIVES;
        tc.val_items = core_malloc(tc.n_val * M * sizeof *tc.val_items);
        if (!tc.val_items) {
            rc = core_oom("sasrec validation items");
            goto done;
        }
        for (size_t i = 0; i < tc.n_val; i++) {
            uint32_t u = tc.val_users[i];
            tc.val_items[i * M] = seq->items[seq->indptr[u + 1] - 1];
            for (size_t j = 1; j < M; j++) tc.val_items[i * M + j] = sample_negative(&vrng, &m->history, u, n_items);
        }
    }
    rc = ws_alloc(&w, net, CORE_MIN(batch, tc.n_users), threads, true);
    if (!rc && tc.n_val) rc = ws_alloc(&vw, net, CORE_MIN((size_t)256, tc.n_val), threads, false);
    if (rc) goto done;

    size_t steps_per_epoch = (tc.n_users + w.B - 1) / w.B;
    nn_adamw opt = {.lr = (float)config_float(cfg, o, "learning_rate"), .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                    .weight_decay = (float)config_float(cfg, o, "l2"),
                    .clip_norm = (float)config_float(cfg, o, "clip_norm"),
                    .total_steps = (int64_t)(steps_per_epoch * (size_t)epochs),
                    .decay = strcmp(decay, "linear") == 0 ? NN_DECAY_LINEAR
                             : strcmp(decay, "cosine") == 0 ? NN_DECAY_COSINE : NN_DECAY_NONE};
    tc.warmup = config_float(cfg, o, "warmup");
    opt.warmup_steps = (int64_t)(tc.warmup * (double)opt.total_steps);

    float *best = NULL;
    if (tc.n_val) {
        best = core_malloc(net->s.n * sizeof *best);
        if (!best) {
            rc = core_oom("sasrec best parameters");
            goto done;
        }
    }
    st->best_metric = -1;
    int since_best = 0, best_epoch = 0;
    for (int ep = 1; ep <= epochs; ep++) {
        double loss;
        rc = run_epoch(net, &w, &tc, &opt, &rng, &loss);
        if (rc) goto done_best;
        st->epochs_run = ep;
        double metric = NAN;
        if (net->id_keep) { /* evaluate with every id embedding but the cold ones */
            for (uint32_t t = 0; t < net->n_tokens; t++) net->id_keep[t] = !tc.cold[t];
            net_refresh_eff(net);
        }
        if (tc.n_val) {
            rc = validate(net, &vw, &tc, &metric);
            if (rc) goto done_best;
            if (metric > st->best_metric) {
                st->best_metric = metric;
                best_epoch = ep;
                memcpy(best, net->s.w, net->s.n * sizeof *best);
                since_best = 0;
            } else {
                since_best++;
            }
        }
        rc = core_progress_report(prog, ep, epochs, loss, metric);
        if (rc) goto done_best;
        if (tc.n_val && patience > 0 && since_best >= patience) break;
    }
    bool refit = tc.n_val && best_epoch > 0 && config_bool(cfg, o, "refit");
    if (best && !refit) memcpy(net->s.w, best, net->s.n * sizeof *best); /* a refit starts afresh */
    if (refit) {
        rc = refit_all(net, &w, &tc, &opt, &rng, emb_std, n_users, best_epoch, prog);
        if (rc) goto done_best;
        st->epochs_run = best_epoch;
    }
    core_free(net->id_keep);
    net->id_keep = NULL;
    for (uint32_t t = 0; tc.cold && t < net->n_tokens; t++)
        if (tc.cold[t]) memset(nn_w(&net->s, net->item_emb) + (size_t)t * d, 0, d * sizeof(float));
    net_refresh_eff(net);
    if (tc.n_val) rc = aisle_model_set_metric(m, "val_ndcg@10", st->best_metric);
done_best:
    core_free(best);
done:
    ws_free(&w, nblocks);
    ws_free(&vw, nblocks);
    train_ctx_free(&tc);
    if (!rc) {
        /* serving needs only the weights */
        core_free(net->s.g);
        core_free(net->s.m);
        core_free(net->s.v);
        core_free(net->geff);
        core_free(net->id_keep);
        net->s.g = net->s.m = net->s.v = net->geff = NULL;
        net->id_keep = NULL;
    }
    return rc;
}

/* ---- serving ---- */

/* Final hidden state after the newest of items[0..len) (len >= 1). */
static int encode(const sasrec_net *net, const uint32_t *items, size_t len, float *h) {
    sasrec_ws w;
    size_t take = len < net->T ? len : net->T;
    int rc = ws_alloc(&w, net, 1, 1, false);
    if (rc) return rc;
    ws_add(&w, net, 0, items + len - take, take);
    ws_close(&w, 1);
    rc = net_forward(net, &w, false, NULL);
    if (!rc) memcpy(h, w.fin + (take - 1) * net->d, net->d * sizeof *h);
    ws_free(&w, net->nblocks);
    return rc;
}

/* The query's item sequence (item indices, oldest first) into items[T];
 * *len may be 0 (empty session). */
static int query_items(const aisle_model *m, const model_query *q, uint32_t *items, size_t *len) {
    const sasrec_state *st = m->state;
    size_t T = st->net.T;
    *len = 0;
    if (q->user >= 0) {
        if ((uint64_t)q->user >= model_n_users(m))
            return core_error(AISLE_ERANGE, "sasrec: user index %lld out of range [0, %u)", (long long)q->user,
                              model_n_users(m));
        const uint32_t *win = st->user_seq + (size_t)q->user * T;
        for (size_t i = 0; i < T; i++)
            if (win[i]) items[(*len)++] = win[i] - 1;
        return AISLE_OK;
    }
    for (size_t i = 0; i < q->n_items; i++)
        if (q->items[i] >= model_n_items(m))
            return core_error(AISLE_ERANGE, "sasrec: session item %zu has index %u, out of range [0, %u)", i,
                              q->items[i], model_n_items(m));
    size_t take = q->n_items < T ? q->n_items : T;
    memcpy(items, q->items + q->n_items - take, take * sizeof *items);
    *len = take;
    return AISLE_OK;
}

static int sasrec_score(const aisle_model *m, const model_query *q, float *scores) {
    const sasrec_state *st = m->state;
    const sasrec_net *net = &st->net;
    float *h = core_malloc(net->d * sizeof *h);
    uint32_t *items = core_malloc(net->T * sizeof *items);
    size_t len = 0;
    int rc = h && items ? query_items(m, q, items, &len) : core_oom("sasrec scores");
    if (!rc && len == 0) {
        /* nothing to go on: popularity */
        memcpy(scores, m->popularity, model_n_items(m) * sizeof *scores);
    } else if (!rc) {
        rc = encode(net, items, len, h);
        /* one item embedding per row, after the padding row: scores = E h */
        if (!rc)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)model_n_items(m), (int)net->d, 1.0f,
                        net_emb(net) + net->d, (int)net->d, h, 1, 0.0f, scores, 1);
    }
    core_free(items);
    core_free(h);
    return rc;
}

static int sasrec_similar(const aisle_model *m, uint32_t item, float *scores) {
    const sasrec_state *st = m->state;
    const sasrec_net *net = &st->net;
    size_t d = net->d;
    if (item >= model_n_items(m))
        return core_error(AISLE_ERANGE, "sasrec: item index %u out of range [0, %u)", item, model_n_items(m));
    const float *E = net_emb(net) + d;
    const float *a = E + (size_t)item * d;
    double na = sqrt((double)dot_f(a, a, d));
    for (uint32_t i = 0; i < model_n_items(m); i++) {
        const float *b = E + (size_t)i * d;
        double nb = sqrt((double)dot_f(b, b, d));
        scores[i] = na > 0 && nb > 0 ? (float)(dot_f(a, b, d) / (na * nb)) : 0.0f;
    }
    return AISLE_OK;
}

/* ---- model file sections (docs/SASREC.md) ----
 * KIND+0 header: u32 format 2, d, maxlen, blocks, heads, activation, ff,
 *        tokens (items + 1), side buckets, block layout (format 2 only),
 *        i64 epochs trained, f64 best validation metric
 * KIND+1 item embeddings: tensor tokens x d in the save's encoding
 *        (fp16/int8 shrink the file; they dominate its size)
 * KIND+2 the other weights: float32 tensor 1 x n, in registration order
 * KIND+3 each user's newest maxlen tokens: u32 array users * maxlen
 * KIND+4 (side_info only) hashed words per token: u64 array tokens + 1
 *        offsets, u32 array bucket ids */
enum { SASREC_SEC_HEADER = IO_SECTION_KIND, SASREC_SEC_ITEMS, SASREC_SEC_WEIGHTS, SASREC_SEC_USERS, SASREC_SEC_WORDS };
/* Format 2 added the block layout word (format 1 never left development). */
#define SASREC_FORMAT 2
#define SASREC_HEADER_WORDS 10

static int sasrec_save(const aisle_model *m, io_writer *wr) {
    const sasrec_state *st = m->state;
    const sasrec_net *net = &st->net;
    size_t emb = (size_t)net->n_tokens * net->d;
    core_buf b;
    buf_init(&b);
    int rc = AISLE_OK;
    uint32_t head[] = {SASREC_FORMAT, (uint32_t)net->d, (uint32_t)net->T, (uint32_t)net->nblocks,
                       (uint32_t)net->blocks[0].c.heads, (uint32_t)net->blocks[0].c.act, (uint32_t)net->ff,
                       net->n_tokens, net->n_buckets, (uint32_t)net->blocks[0].c.layout};
    for (size_t i = 0; i < CORE_ARRAY_LEN(head) && !rc; i++) rc = io_put_u32(&b, head[i]);
    if (!rc) rc = io_put_i64(&b, st->epochs_run);
    if (!rc) rc = io_put_f64(&b, st->best_metric);
    if (!rc) rc = io_writer_add_section(wr, SASREC_SEC_HEADER, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_tensor(&b, net->s.w, net->n_tokens, net->d, io_writer_quant(wr));
    if (!rc) rc = io_writer_add_section(wr, SASREC_SEC_ITEMS, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_tensor(&b, net->s.w + emb, 1, net->s.n - emb, IO_QUANT_NONE);
    if (!rc) rc = io_writer_add_section(wr, SASREC_SEC_WEIGHTS, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_u32_array(&b, st->user_seq, (uint64_t)model_n_users(m) * net->T);
    if (!rc) rc = io_writer_add_section(wr, SASREC_SEC_USERS, IO_FLAG_REQUIRED, &b);
    if (net->n_buckets) {
        b.len = 0;
        uint64_t nw = net->tok_ptr[net->n_tokens];
        if (!rc) rc = io_put_u64_array(&b, net->tok_ptr, (uint64_t)net->n_tokens + 1);
        if (!rc) rc = io_put_u32_array(&b, net->tok_ids, nw);
        if (!rc) rc = io_writer_add_section(wr, SASREC_SEC_WORDS, IO_FLAG_REQUIRED, &b);
    }
    buf_free(&b);
    return rc;
}

static int load_header(aisle_model *m, io_reader *r, uint32_t *h, int64_t *epochs, double *best) {
    io_cursor c;
    int rc = io_reader_section(r, SASREC_SEC_HEADER, &c);
    if (!rc) rc = io_get_u32(&c, &h[0]);
    if (rc) return rc;
    if (h[0] > SASREC_FORMAT)
        return core_error(AISLE_EVERSION, "%s: sasrec format %u is newer than this library's (%d)", c.section, h[0],
                          SASREC_FORMAT);
    if (h[0] < SASREC_FORMAT)
        return core_error(AISLE_EFORMAT, "%s: sasrec format %u predates the first release (retrain the model)",
                          c.section, h[0]);
    for (int i = 1; i < SASREC_HEADER_WORDS && !rc; i++) rc = io_get_u32(&c, &h[i]);
    if (!rc) rc = io_get_i64(&c, epochs);
    if (!rc) rc = io_get_f64(&c, best);
    if (!rc) rc = io_cursor_done(&c);
    if (rc) return rc;
    /* h: format, d, maxlen, blocks, heads, activation, ff, tokens, buckets, layout */
    if (h[1] < 1 || h[1] > 2048 || h[2] < 1 || h[2] > 1024 || h[3] < 1 || h[3] > 16 || h[4] < 1 || h[1] % h[4] ||
        h[5] > NN_ACT_GELU || h[6] != h[1] || h[7] != model_n_items(m) + 1 || h[8] > 4194304 || h[9] > NN_LAYOUT_SASREC)
        return core_error(AISLE_EFORMAT,
                          "%s: inconsistent sasrec shape (hidden %u, maxlen %u, blocks %u, heads %u, activation %u, "
                          "ff %u, tokens %u for %u items, buckets %u, layout %u)",
                          c.section, h[1], h[2], h[3], h[4], h[5], h[6], h[7], model_n_items(m), h[8], h[9]);
    return AISLE_OK;
}

static int load_words(sasrec_net *net, io_reader *r) {
    io_cursor c;
    uint64_t n, nw;
    int rc = io_reader_section(r, SASREC_SEC_WORDS, &c);
    if (!rc) rc = io_get_u64_array(&c, &net->tok_ptr, &n, (uint64_t)net->n_tokens + 1);
    if (rc) return rc;
    if (n != (uint64_t)net->n_tokens + 1 || net->tok_ptr[0] != 0)
        return core_error(AISLE_EFORMAT, "%s: %llu word offsets, expected %u starting at 0", c.section,
                          (unsigned long long)n, net->n_tokens + 1);
    for (uint64_t t = 0; t < n - 1; t++)
        if (net->tok_ptr[t + 1] < net->tok_ptr[t] || net->tok_ptr[t + 1] - net->tok_ptr[t] > SASREC_MAX_ITEM_TOKENS)
            return core_error(AISLE_EFORMAT, "%s: word offsets of token %llu are not increasing by at most %d",
                              c.section, (unsigned long long)t, SASREC_MAX_ITEM_TOKENS);
    rc = io_get_u32_array(&c, &net->tok_ids, &nw, net->tok_ptr[n - 1]);
    if (rc) return rc;
    if (nw != net->tok_ptr[n - 1])
        return core_error(AISLE_EFORMAT, "%s: %llu words, offsets say %llu", c.section, (unsigned long long)nw,
                          (unsigned long long)net->tok_ptr[n - 1]);
    for (uint64_t k = 0; k < nw; k++)
        if (net->tok_ids[k] >= net->n_buckets)
            return core_error(AISLE_EFORMAT, "%s: word bucket %u at %llu is not below %u", c.section, net->tok_ids[k],
                              (unsigned long long)k, net->n_buckets);
    return io_cursor_done(&c);
}

static int sasrec_load(aisle_model *m, io_reader *r) {
    uint32_t h[SASREC_HEADER_WORDS];
    int64_t epochs;
    double best;
    int rc = load_header(m, r, h, &epochs, &best);
    if (rc) return rc;
    sasrec_state *st = core_calloc(1, sizeof *st);
    if (!st) return core_oom("sasrec model");
    m->state = st;
    st->epochs_run = (int)CORE_MIN(CORE_MAX(epochs, 0), INT32_MAX);
    st->best_metric = best;
    sasrec_net *net = &st->net;
    rc = net_build(net, h[1], h[2], (int)h[3], (int)h[4], (int)h[5], (int)h[9], 0.0f, 0.0f, model_n_items(m), h[8]);
    if (!rc) rc = nn_store_alloc(&net->s, false);
    if (rc) return rc;
    size_t emb = (size_t)net->n_tokens * net->d;
    io_cursor c;
    float *t = NULL;
    uint64_t rows, cols;
    rc = io_reader_section(r, SASREC_SEC_ITEMS, &c);
    if (!rc) rc = io_get_tensor(&c, &t, &rows, &cols, net->n_tokens, net->d);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) memcpy(net->s.w, t, emb * sizeof *t);
    core_free(t);
    t = NULL;
    if (!rc) rc = io_reader_section(r, SASREC_SEC_WEIGHTS, &c);
    if (!rc) rc = io_get_tensor(&c, &t, &rows, &cols, 1, net->s.n - emb);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) memcpy(net->s.w + emb, t, (net->s.n - emb) * sizeof *t);
    core_free(t);
    if (rc) return rc;
    uint64_t n, want = (uint64_t)model_n_users(m) * net->T;
    rc = io_reader_section(r, SASREC_SEC_USERS, &c);
    if (!rc) rc = io_get_u32_array(&c, &st->user_seq, &n, want);
    if (!rc && n != want)
        rc = core_error(AISLE_EFORMAT, "%s: %llu user tokens, expected %llu (users x maxlen)", c.section,
                        (unsigned long long)n, (unsigned long long)want);
    for (uint64_t i = 0; !rc && i < n; i++)
        if (st->user_seq[i] >= net->n_tokens)
            rc = core_error(AISLE_EFORMAT, "%s: token %u at %llu is not an item (max %u)", c.section, st->user_seq[i],
                            (unsigned long long)i, net->n_tokens - 1);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && net->n_buckets) rc = load_words(net, r);
    if (!rc) rc = net_side_alloc(net, false);
    return rc;
}

static int sasrec_describe(const aisle_model *m, core_buf *out) {
    const sasrec_state *st = m->state;
    const sasrec_net *net = &st->net;
    return buf_printf(out,
                      "sasrec.blocks: %d\nsasrec.heads: %d\nsasrec.hidden: %zu\nsasrec.maxlen: %zu\n"
                      "sasrec.block_layout: %s\nsasrec.parameters: %zu\nsasrec.epochs_trained: %d\n",
                      net->nblocks, net->blocks[0].c.heads, net->d, net->T,
                      net->blocks[0].c.layout == NN_LAYOUT_SASREC ? "sasrec" : "pre_ln", net->s.n, st->epochs_run);
}

const model_ops model_sasrec_ops = {
    .name = "sasrec",
    .summary = "SASRec self-attentive sequential recommender (transformer over recent items)",
    .options = sasrec_options,
    .flags = MODEL_SEQUENTIAL | MODEL_FOLD_IN,
    .train = sasrec_train,
    .score_items = sasrec_score,
    .similar_items = sasrec_similar,
    .save = sasrec_save,
    .load = sasrec_load,
    .describe = sasrec_describe,
    .free_state = sasrec_free,
};
