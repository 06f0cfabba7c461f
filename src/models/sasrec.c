/* sasrec.c - SASRec, self-attentive sequential recommendation (Kang &
 * McAuley, ICDM 2018): a causal transformer over each user's last `maxlen`
 * items predicts the next item; item embeddings are shared between the
 * input and the output layer.  Built on src/nn (see docs/SASREC.md).
 *
 * Tokens: item index i is token i+1; token 0 is padding.  Sequences are
 * left-padded to maxlen so the newest item is always at position maxlen-1.
 *
 * This file: the options and the model ops (score, similar, save, load,
 * describe); the network is in sasrec_net.c, training in sasrec_train.c
 * (shared declarations: sasrec.h).
 */
#include "sasrec.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

const option_spec sasrec_options[] = {
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

static void sasrec_free(aisle_model *m) {
    sasrec_state *st = m->state;
    if (!st) return;
    sasrec_net_free(&st->net);
    core_free(st->user_seq);
    core_free(st);
    m->state = NULL;
}

int sasrec_query_window(const aisle_model *m, const model_query *q, uint32_t *items, size_t *len, size_t *first) {
    const sasrec_state *st = m->state;
    size_t T = st->net.T;
    *len = 0;
    if (first) *first = 0;
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
    if (first) *first = q->n_items - take;
    return AISLE_OK;
}

static int sasrec_score(const aisle_model *m, const model_query *q, float *scores) {
    const sasrec_state *st = m->state;
    const sasrec_net *net = &st->net;
    float *h = core_malloc(net->d * sizeof *h);
    uint32_t *items = core_malloc(net->T * sizeof *items);
    size_t len = 0;
    int rc = h && items ? sasrec_query_window(m, q, items, &len, NULL) : core_oom("sasrec scores");
    if (!rc && len == 0) {
        /* nothing to go on: popularity */
        memcpy(scores, m->popularity, model_n_items(m) * sizeof *scores);
    } else if (!rc) {
        rc = sasrec_encode(net, items, len, h);
        /* one item embedding per row, after the padding row: scores = E h */
        if (!rc)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)model_n_items(m), (int)net->d, 1.0f,
                        sasrec_net_emb(net) + net->d, (int)net->d, h, 1, 0.0f, scores, 1);
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
    const float *E = sasrec_net_emb(net) + d;
    const float *a = E + (size_t)item * d;
    double na = sqrt((double)sasrec_dot(a, a, d));
    for (uint32_t i = 0; i < model_n_items(m); i++) {
        const float *b = E + (size_t)i * d;
        double nb = sqrt((double)sasrec_dot(b, b, d));
        scores[i] = na > 0 && nb > 0 ? (float)(sasrec_dot(a, b, d) / (na * nb)) : 0.0f;
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
    rc = sasrec_net_build(net, h[1], h[2], (int)h[3], (int)h[4], (int)h[5], (int)h[9], 0.0f, 0.0f, model_n_items(m), h[8]);
    if (rc) return rc;
    size_t emb = (size_t)net->n_tokens * net->d;
    /* the header alone decides the parameter count (hidden 2048, 16 blocks
     * and 1.5M word buckets ask for 13.6 GB): the tensors must be there,
     * at one byte per parameter at least (int8), before the store and its
     * derived arrays are allocated */
    uint64_t have_items = io_reader_section_bytes(r, SASREC_SEC_ITEMS),
             have_weights = io_reader_section_bytes(r, SASREC_SEC_WEIGHTS),
             have_users = io_reader_section_bytes(r, SASREC_SEC_USERS);
    uint64_t want_users = (uint64_t)model_n_users(m) * net->T * sizeof(uint32_t);
    if (have_items < emb || have_weights < net->s.n - emb || have_users < want_users)
        return core_error(AISLE_EFORMAT,
                          "sasrec: the header asks for %llu item and %llu other parameters and %llu bytes of user "
                          "sequences (hidden %u, blocks %u, buckets %u); the sections hold %llu, %llu and %llu bytes",
                          (unsigned long long)emb, (unsigned long long)(net->s.n - emb),
                          (unsigned long long)want_users, h[1], h[3], h[8], (unsigned long long)have_items,
                          (unsigned long long)have_weights, (unsigned long long)have_users);
    rc = nn_store_alloc(&net->s, false);
    if (rc) return rc;
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
    if (!rc) rc = sasrec_net_side_alloc(net, false);
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
    .explain = sasrec_explain,
    .save = sasrec_save,
    .load = sasrec_load,
    .describe = sasrec_describe,
    .free_state = sasrec_free,
};

