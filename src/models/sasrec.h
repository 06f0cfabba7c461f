/*
 * sasrec.h - internals shared by the three files of the SASRec kind:
 *   sasrec_net.c    the network: parameters, side-information embeddings,
 *                   activations workspace, forward and backward passes;
 *   sasrec_train.c  the training loop (sampled losses, AdamW, validation,
 *                   early stopping, refit);
 *   sasrec.c        the options and the model ops (score, similar, save,
 *                   load, describe).
 * See docs/SASREC.md.  Tokens: item index i is token i+1; token 0 is
 * padding.  Sequences are left-padded to maxlen so the newest item is
 * always at position maxlen-1.
 */
#ifndef AISLE_MODELS_SASREC_H
#define AISLE_MODELS_SASREC_H

#include "models.h"
#include "nn/nn.h"

#include <string.h>

/* The kind's option table (sasrec.c). */
extern const option_spec sasrec_options[];

/* Words of side information used per item, at most. */
#define SASREC_MAX_ITEM_TOKENS 32

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


/* ---- the network (sasrec_net.c) ---- */

/* Registers the parameters of a network (item and position embeddings,
 * side-information buckets if n_buckets > 0, blocks, final norm) in
 * net->s; the caller then allocates them with nn_store_alloc. */
int sasrec_net_build(sasrec_net *net, size_t d, size_t T, int nblocks, int heads, int act, int layout,
                     float dropout, float attn_dropout, uint32_t n_items, uint32_t n_buckets);
void sasrec_net_free(sasrec_net *net);
/* Fresh parameters (see the definition); optimizer state cleared. */
void sasrec_net_init_params(sasrec_net *net, float emb_std, core_rng *rng);
/* Side information: the hashed words of each model item's catalog text
 * (tok_ptr/tok_ids); eff (and geff when training) allocated and filled. */
int sasrec_build_item_tokens(sasrec_net *net, const aisle_model *m, const aisle_catalog *cat);
int sasrec_net_side_alloc(sasrec_net *net, bool training);
/* eff = E + mean of each item's word-bucket embeddings (no-op without
 * side information). */
void sasrec_net_refresh_eff(sasrec_net *net);

/* Workspace for batches of up to B sequences. */
int sasrec_ws_alloc(sasrec_ws *w, const sasrec_net *net, size_t B, int threads, bool training);
void sasrec_ws_free(sasrec_ws *w, int nblocks);
/* The transformer part of a network (blocks, final norm) and the store
 * it reads its weights from and writes its gradients to: the network's
 * own (sasrec_net_body), or a view whose gradients go to a private buffer
 * (sasrec_body_view), so that training shards run the backward at once. */
typedef struct sasrec_body {
    nn_store s; /* a shallow copy of, or a view into, net->s */
    nn_block *blocks;
    nn_layernorm ln_final;
} sasrec_body;

static inline sasrec_body sasrec_net_body(const sasrec_net *net) {
    sasrec_body b = {net->s, net->blocks, net->ln_final};
    return b;
}
/* Floats of the body's tensors: they follow the embeddings in net->s. */
size_t sasrec_body_size(const sasrec_net *net);
/* A view of net's body reading the network's weights and accumulating
 * its gradients in grad (sasrec_body_size floats, body tensors in store
 * order); blocks: room for net->nblocks copies with shifted offsets.
 * AISLE_EINTERNAL if the body's tensors do not tile the store's tail. */
int sasrec_body_view(const sasrec_net *net, float *grad, nn_block *blocks, sasrec_body *out);
/* Forward over the batch's tokens to w->fin (net: embeddings, body:
 * blocks); backward from w->dh into body->s.g, *dx: the gradient wrt the
 * embedded input (the embedding and position gradients are the caller's:
 * they are shared between shards). */
int sasrec_body_forward(const sasrec_net *net, const sasrec_body *body, sasrec_ws *w, bool training, core_rng *rng);
int sasrec_body_backward(const sasrec_net *net, sasrec_body *body, sasrec_ws *w, float **dx);
/* Forward with the network's own body (validation, encoding). */
int sasrec_net_forward(const sasrec_net *net, sasrec_ws *w, bool training, core_rng *rng);
/* Moves the gradient of the effective embeddings (side information) to
 * the item embeddings and the buckets, and clears it. */
void sasrec_net_fold_geff(sasrec_net *net);
/* Final hidden state (d floats) after the newest of items[0..len), len >= 1. */
int sasrec_encode(const sasrec_net *net, const uint32_t *items, size_t len, float *h);
/* explain: leave-one-out contribution of each query item to `item`'s
 * score (sasrec_explain.c). */
int sasrec_explain(const aisle_model *m, const model_query *q, uint32_t item, float *contrib);
/* The sequence the model reads for q (item indices, oldest first) into
 * items[T] (sasrec.c; scoring and explain): a known user's stored window,
 * else the session's newest T items; *len may be 0 (empty session).
 * *first (may be NULL): index in q->items of the window's first item
 * (sessions; 0 for users).  AISLE_ERANGE for a user or session item out
 * of range. */
int sasrec_query_window(const aisle_model *m, const model_query *q, uint32_t *items, size_t *len, size_t *first);
/* Writes the last T tokens of items[0..len) (item indices) left-padded. */
void sasrec_fill_window(uint32_t *dst, size_t T, const uint32_t *items, size_t len);

/* The item embedding table the network reads (tokens x d). */
static inline const float *sasrec_net_emb(const sasrec_net *net) { return net->n_buckets ? net->eff : nn_w(&net->s, net->item_emb); }

/* Appends sequence b = the last min(len, T) items of items[0..len) (item
 * indices) to the batch being built; call sasrec_ws_close() after the last. */
static inline void sasrec_ws_add(sasrec_ws *w, const sasrec_net *net, size_t b, const uint32_t *items, size_t len) {
    size_t T = net->T, take = len < T ? len : T;
    size_t row = b ? w->bt.offs[b - 1] + w->lens[b - 1] : 0;
    w->bt.offs[b] = row;
    w->lens[b] = take;
    for (size_t i = 0; i < take; i++) {
        w->ids[row + i] = items[len - take + i] + 1;
        w->posi[row + i] = (uint32_t)(T - take + i);
    }
}

static inline void sasrec_ws_close(sasrec_ws *w, size_t B) { nn_batch_set(&w->bt, w->lens, B); }

/* Dot product with eight partial sums (vectorises without -ffast-math; the
 * summation order is fixed, so results do not depend on the machine's
 * vector width). */
static inline float sasrec_dot(const float *a, const float *b, size_t d) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t k = 0;
    for (; k + 8 <= d; k += 8)
        for (size_t j = 0; j < 8; j++) acc[j] += a[k + j] * b[k + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < d; k++) s += a[k] * b[k];
    return s;
}


/* ---- training (sasrec_train.c) ---- */

/* model_ops.train of the kind. */
int sasrec_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                 core_progress *prog);

#endif /* AISLE_MODELS_SASREC_H */
