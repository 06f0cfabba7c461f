/* tune.c - fine-tuning the last N encoder layers of a bert model with its
 * pooler and head (Devlin et al. 2019, section 4: the whole top of the
 * network trains on the task, the layers below stay frozen).
 *
 * The trained part is an fp32 copy in nn stores, run by the nn core's
 * layers on ragged batches (each sequence attends over its own tokens,
 * which is what BERT's padding mask computes), so every backward is the nn
 * core's, checked there and here by finite differences (tests/test_bert.c).
 * The frozen layers below run through the model's own forward on every
 * batch (no cache of their outputs: memory stays that of one batch).
 * Dropout is off: training is deterministic given the seed. */
#include "bert.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the model's Linear weight [out x in] into the nn layout [in x out], and back */
static void to_nn(float *dst, const bert_mat *M) {
    for (uint32_t o = 0; o < M->rows; o++)
        for (uint32_t i = 0; i < M->cols; i++) dst[(size_t)i * M->rows + o] = M->f[(size_t)o * M->cols + i];
}

static void from_nn(bert_mat *M, const float *src) {
    for (uint32_t o = 0; o < M->rows; o++)
        for (uint32_t i = 0; i < M->cols; i++) M->f[(size_t)o * M->cols + i] = src[(size_t)i * M->rows + o];
}

static void copy_vec(float *dst, const float *src, size_t n) { memcpy(dst, src, n * sizeof *dst); }

static int register_params(bert_tuner *t) {
    size_t H = t->m->cfg.hidden, NI = t->m->cfg.inter;
    int rc = AISLE_OK;
    for (uint32_t l = 0; !rc && l < t->n; l++) {
        bert_tune_layer *L = &t->tl[l];
        rc = nn_linear_init(&L->qkv, &t->enc, H, 3 * H);
        if (!rc) rc = nn_linear_init(&L->ao, &t->enc, H, H);
        if (!rc) rc = nn_layernorm_init(&L->ln1, &t->enc, H);
        if (!rc) rc = nn_linear_init(&L->in, &t->enc, H, NI);
        if (!rc) rc = nn_linear_init(&L->out, &t->enc, NI, H);
        if (!rc) rc = nn_layernorm_init(&L->ln2, &t->enc, H);
        L->ln1.eps = L->ln2.eps = t->m->cfg.eps;
    }
    if (!rc) rc = nn_linear_init(&t->pool, &t->enc, H, H);
    if (!rc) rc = nn_linear_init(&t->cls, &t->head, H, t->labels);
    if (!rc) rc = nn_store_alloc(&t->enc, true);
    if (!rc) rc = nn_store_alloc(&t->head, true);
    return rc;
}

static void copy_params(bert_tuner *t, bool keep_head, core_rng *rng) {
    const aisle_bert *m = t->m;
    size_t H = m->cfg.hidden, NI = m->cfg.inter;
    nn_store *s = &t->enc;
    for (uint32_t l = 0; l < t->n; l++) {
        const bert_layer *M = &m->layer[t->first + l];
        bert_tune_layer *L = &t->tl[l];
        to_nn(nn_w(s, L->qkv.W), &M->qkv);
        copy_vec(nn_w(s, L->qkv.b), M->qkv_b, 3 * H);
        to_nn(nn_w(s, L->ao.W), &M->ao);
        copy_vec(nn_w(s, L->ao.b), M->ao_b, H);
        copy_vec(nn_w(s, L->ln1.gamma), M->ln1_g, H);
        copy_vec(nn_w(s, L->ln1.beta), M->ln1_b, H);
        to_nn(nn_w(s, L->in.W), &M->in);
        copy_vec(nn_w(s, L->in.b), M->in_b, NI);
        to_nn(nn_w(s, L->out.W), &M->out);
        copy_vec(nn_w(s, L->out.b), M->out_b, H);
        copy_vec(nn_w(s, L->ln2.gamma), M->ln2_g, H);
        copy_vec(nn_w(s, L->ln2.beta), M->ln2_b, H);
    }
    to_nn(nn_w(s, t->pool.W), &m->pool);
    copy_vec(nn_w(s, t->pool.b), m->pool_b, H);
    if (keep_head) {
        to_nn(nn_w(&t->head, t->cls.W), &m->cls);
        copy_vec(nn_w(&t->head, t->cls.b), m->cls_b, t->labels);
    } else {
        nn_init_normal(&t->head, t->cls.W, 0.02f, rng); /* BERT's initializer range */
    }
}

/* Why m's top n layers cannot be fine-tuned, or AISLE_OK. */
static int tune_check(const aisle_bert *m, uint32_t n) {
    if (m->enc != IO_QUANT_NONE)
        return core_error(AISLE_EUNSUPPORTED, "option finetune_layers: the model holds %s weights; fine-tuning "
                          "layers needs fp32 weights (import the checkpoint again without quantize, fine-tune, and "
                          "quantize when saving)", m->enc == IO_QUANT_INT8 ? "int8" : "fp16");
    if (!m->cfg.has_pooler) return core_error(AISLE_EUNSUPPORTED, "the model has no pooler, which the head reads");
    if (n > m->cfg.layers)
        return core_error(AISLE_ERANGE, "option finetune_layers=%u is more than the model's %u layers", n,
                          m->cfg.layers);
    return AISLE_OK;
}

int bert_tuner_init(bert_tuner *t, const aisle_bert *m, uint32_t n, uint32_t labels, bool regression, bool keep_head,
                    size_t max_rows, size_t max_seqs, size_t max_len, int threads, core_rng *rng) {
    memset(t, 0, sizeof *t);
    nn_store_init(&t->enc);
    nn_store_init(&t->head);
    const bert_config *c = &m->cfg;
    int rc = tune_check(m, n);
    if (rc) return rc;
    t->m = m;
    t->n = n;
    t->first = c->layers - n;
    t->labels = labels;
    t->regression = regression;
    t->threads = threads < 1 ? 1 : threads;
    t->max_rows = max_rows;
    t->max_seqs = max_seqs;
    size_t H = c->hidden, NI = c->inter, R = max_rows, B = max_seqs;
    size_t P = (size_t)c->heads * max_rows * max_len; /* heads x sum of len^2 <= heads x rows x max_len */
    if (n && !(t->tl = core_calloc(n, sizeof *t->tl))) rc = core_oom("bert fine-tuning layers");
    if (!rc) rc = register_params(t);
    if (!rc) rc = nn_batch_alloc(&t->bt, B);
    for (uint32_t l = 0; !rc && l < n; l++) {
        bert_tune_layer *L = &t->tl[l];
        float **bufs[] = {&L->x, &L->qkv_y, &L->P, &L->ctx, &L->r1, &L->mean1, &L->rstd1,
                          &L->h1, &L->inter, &L->act, &L->r2, &L->mean2, &L->rstd2};
        size_t sizes[] = {R * H, 3 * R * H, P, R * H, R * H, R, R, R * H, R * NI, R * NI, R * H, R, R};
        for (size_t i = 0; !rc && i < CORE_ARRAY_LEN(bufs); i++)
            if (!(*bufs[i] = core_malloc((sizes[i] ? sizes[i] : 1) * sizeof(float)))) rc = core_oom("bert fine-tuning");
    }
    if (!rc) {
        float **bufs[] = {&t->top, &t->cls_x, &t->pooled, &t->logits, &t->d_h, &t->d_r, &t->d_h1, &t->d_qkv,
                          &t->d_ctx, &t->d_inter, &t->d_cls, &t->d_pooled, &t->d_logits, &t->scratch};
        size_t sizes[] = {R * H, B * H, B * H, B * labels, R * H, R * H, R * H, 3 * R * H,
                          R * H, R * NI, B * H, B * H, B * labels, (size_t)t->threads * max_len};
        for (size_t i = 0; !rc && i < CORE_ARRAY_LEN(bufs); i++)
            if (!(*bufs[i] = core_malloc((sizes[i] ? sizes[i] : 1) * sizeof(float)))) rc = core_oom("bert fine-tuning");
    }
    if (!rc && !(t->lens = core_malloc((B ? B : 1) * sizeof *t->lens))) rc = core_oom("bert fine-tuning");
    if (rc) {
        bert_tuner_free(t);
        return rc;
    }
    copy_params(t, keep_head, rng);
    return AISLE_OK;
}

void bert_tuner_free(bert_tuner *t) {
    if (!t) return;
    for (uint32_t l = 0; t->tl && l < t->n; l++) {
        bert_tune_layer *L = &t->tl[l];
        float *bufs[] = {L->x, L->qkv_y, L->P, L->ctx, L->r1, L->mean1, L->rstd1,
                         L->h1, L->inter, L->act, L->r2, L->mean2, L->rstd2};
        for (size_t i = 0; i < CORE_ARRAY_LEN(bufs); i++) core_free(bufs[i]);
    }
    float *bufs[] = {t->top, t->cls_x, t->pooled, t->logits, t->d_h, t->d_r, t->d_h1, t->d_qkv,
                     t->d_ctx, t->d_inter, t->d_cls, t->d_pooled, t->d_logits, t->scratch};
    for (size_t i = 0; i < CORE_ARRAY_LEN(bufs); i++) core_free(bufs[i]);
    core_free(t->tl);
    core_free(t->lens);
    nn_batch_free(&t->bt);
    nn_store_free(&t->enc);
    nn_store_free(&t->head);
    memset(t, 0, sizeof *t);
}

static void add_into(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

/* One post-LN block from L->x into y; keeps what the backward reads. */
static int layer_forward(bert_tuner *t, bert_tune_layer *L, float *y) {
    const nn_store *s = &t->enc;
    size_t R = t->bt.rows, H = t->m->cfg.hidden, NI = t->m->cfg.inter;
    nn_attn_shape sh = {H, (int)t->m->cfg.heads, NN_MASK_NONE};
    nn_linear_forward(s, &L->qkv, L->x, R, L->qkv_y);
    int rc = nn_attention_forward(&sh, &t->bt, L->qkv_y, L->P, NULL, L->ctx, t->threads);
    if (rc) return rc;
    nn_linear_forward(s, &L->ao, L->ctx, R, L->r1);
    add_into(L->r1, L->x, R * H);
    nn_layernorm_forward(s, &L->ln1, L->r1, R, L->h1, L->mean1, L->rstd1);
    nn_linear_forward(s, &L->in, L->h1, R, L->inter);
    nn_act_forward(NN_ACT_GELU, L->inter, R * NI, L->act);
    nn_linear_forward(s, &L->out, L->act, R, L->r2);
    add_into(L->r2, L->h1, R * H);
    nn_layernorm_forward(s, &L->ln2, L->r2, R, y, L->mean2, L->rstd2);
    return AISLE_OK;
}

/* From t->d_h (gradient at the block's output) to t->d_h at its input
 * (skipped for the lowest trained layer, whose input is frozen). */
static int layer_backward(bert_tuner *t, bert_tune_layer *L, bool need_dx) {
    nn_store *s = &t->enc;
    size_t R = t->bt.rows, H = t->m->cfg.hidden, NI = t->m->cfg.inter;
    nn_attn_shape sh = {H, (int)t->m->cfg.heads, NN_MASK_NONE};
    nn_layernorm_backward(s, &L->ln2, L->r2, t->d_h, L->mean2, L->rstd2, R, t->d_r);
    nn_linear_backward(s, &L->out, L->act, t->d_r, R, t->d_inter);
    nn_act_backward(NN_ACT_GELU, L->inter, t->d_inter, R * NI, t->d_inter);
    nn_linear_backward(s, &L->in, L->h1, t->d_inter, R, t->d_h1);
    add_into(t->d_h1, t->d_r, R * H); /* the residual around the feed-forward */
    nn_layernorm_backward(s, &L->ln1, L->r1, t->d_h1, L->mean1, L->rstd1, R, t->d_r);
    nn_linear_backward(s, &L->ao, L->ctx, t->d_r, R, t->d_ctx);
    int rc = nn_attention_backward(&sh, &t->bt, L->qkv_y, L->P, NULL, t->d_ctx, t->d_qkv, t->scratch, t->threads);
    if (rc) return rc;
    nn_linear_backward(s, &L->qkv, L->x, t->d_qkv, R, need_dx ? t->d_h : NULL);
    if (need_dx) add_into(t->d_h, t->d_r, R * H); /* the residual around attention */
    return AISLE_OK;
}

int bert_tuner_batch(bert_tuner *t, const bert_seqs *s, const float *labels, bool backward, double *loss) {
    size_t B = s->nseq, R = s->start[B], H = t->m->cfg.hidden, NL = t->labels;
    if (B > t->max_seqs || R > t->max_rows || B == 0)
        return core_error(AISLE_EINVAL, "bert fine-tuning: a batch of %zu sequences, %zu tokens does not fit "
                          "the workspace (%zu, %zu)", B, R, t->max_seqs, t->max_rows);
    for (size_t b = 0; b < B; b++) t->lens[b] = s->start[b + 1] - s->start[b];
    nn_batch_set(&t->bt, t->lens, B);
    int rc = bert_forward_layers(t->m, s, t->threads, t->first, t->n ? t->tl[0].x : t->top, NULL);
    for (uint32_t l = 0; !rc && l < t->n; l++)
        rc = layer_forward(t, &t->tl[l], l + 1 < t->n ? t->tl[l + 1].x : t->top);
    if (rc) return rc;
    for (size_t b = 0; b < B; b++) copy_vec(t->cls_x + b * H, t->top + s->start[b] * H, H);
    nn_linear_forward(&t->enc, &t->pool, t->cls_x, B, t->pooled);
    for (size_t i = 0; i < B * H; i++) t->pooled[i] = tanhf(t->pooled[i]);
    nn_linear_forward(&t->head, &t->cls, t->pooled, B, t->logits);
    double sum = 0;
    float inv = 1.0f / (float)B;
    for (size_t b = 0; b < B; b++) {
        float *z = t->logits + b * NL, *dz = t->d_logits + b * NL;
        if (t->regression) {
            float d = z[0] - labels[b];
            sum += 0.5 * (double)d * d;
            dz[0] = d;
        } else {
            sum += nn_softmax_xent(z, NL, (size_t)labels[b], dz);
        }
        for (size_t j = 0; j < NL; j++) dz[j] *= inv;
    }
    *loss = sum / (double)B;
    if (!backward) return AISLE_OK;
    nn_linear_backward(&t->head, &t->cls, t->pooled, t->d_logits, B, t->d_pooled);
    for (size_t i = 0; i < B * H; i++) t->d_pooled[i] *= 1.0f - t->pooled[i] * t->pooled[i]; /* tanh' */
    nn_linear_backward(&t->enc, &t->pool, t->cls_x, t->d_pooled, B, t->n ? t->d_cls : NULL);
    if (t->n == 0) return AISLE_OK;
    memset(t->d_h, 0, R * H * sizeof *t->d_h); /* only the [CLS] rows reach the pooler */
    for (size_t b = 0; b < B; b++) copy_vec(t->d_h + s->start[b] * H, t->d_cls + b * H, H);
    for (uint32_t l = t->n; !rc && l-- > 0;) rc = layer_backward(t, &t->tl[l], l > 0);
    return rc;
}

int bert_tuner_install(const bert_tuner *t, aisle_bert *m) {
    size_t H = m->cfg.hidden, NI = m->cfg.inter;
    bert_mat head;
    memset(&head, 0, sizeof head);
    float *hb = NULL;
    int rc = bert_mat_alloc(&head, t->labels, (uint32_t)H);
    if (!rc && !(hb = core_malloc(t->labels * sizeof *hb))) rc = core_oom("bert head");
    if (rc) {
        bert_mat_free(&head);
        return rc;
    }
    from_nn(&head, nn_w(&t->head, t->cls.W));
    copy_vec(hb, nn_w(&t->head, t->cls.b), t->labels);
    bert_mat_free(&m->cls);
    core_free(m->cls_b);
    m->cls = head;
    m->cls_b = hb;
    m->cfg.has_classifier = true;
    m->cfg.num_labels = t->labels;
    m->cfg.regression = t->regression;
    const nn_store *s = &t->enc;
    for (uint32_t l = 0; l < t->n; l++) {
        bert_layer *M = &m->layer[t->first + l];
        const bert_tune_layer *L = &t->tl[l];
        from_nn(&M->qkv, nn_w(s, L->qkv.W));
        copy_vec(M->qkv_b, nn_w(s, L->qkv.b), 3 * H);
        from_nn(&M->ao, nn_w(s, L->ao.W));
        copy_vec(M->ao_b, nn_w(s, L->ao.b), H);
        copy_vec(M->ln1_g, nn_w(s, L->ln1.gamma), H);
        copy_vec(M->ln1_b, nn_w(s, L->ln1.beta), H);
        from_nn(&M->in, nn_w(s, L->in.W));
        copy_vec(M->in_b, nn_w(s, L->in.b), NI);
        from_nn(&M->out, nn_w(s, L->out.W));
        copy_vec(M->out_b, nn_w(s, L->out.b), H);
        copy_vec(M->ln2_g, nn_w(s, L->ln2.gamma), H);
        copy_vec(M->ln2_b, nn_w(s, L->ln2.beta), H);
    }
    from_nn(&m->pool, nn_w(s, t->pool.W));
    copy_vec(m->pool_b, nn_w(s, t->pool.b), H);
    return AISLE_OK;
}

/* ---- the training loop ---- */

enum { BATCH = 32 };

static int cmp_desc(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Every text's ids and types, packed; tok[i] .. tok[i+1] is text i. */
typedef struct tokens {
    uint32_t *ids, *types;
    size_t *start;
} tokens;

static int tokenize_all(const aisle_bert *m, const char *const *a, const char *const *b, size_t n, size_t ml,
                        tokens *tk) {
    memset(tk, 0, sizeof *tk);
    uint32_t *ids = core_malloc(2 * ml * sizeof *ids);
    tk->start = core_malloc((n + 1) * sizeof *tk->start);
    size_t cap = 0;
    int rc = !ids || !tk->start ? core_oom("bert fine-tuning tokens") : AISLE_OK;
    if (!rc) tk->start[0] = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (!a[i] || (b && !b[i])) {
            rc = core_error(AISLE_EINVAL, "text %zu is NULL", i);
            break;
        }
        size_t k = 0, at = tk->start[i];
        rc = bert_encode(&m->vocab, m->cfg.lower, m->cfg.strip_accents, a[i], b ? b[i] : NULL, ml, ids, ids + ml, &k);
        if (!rc && at + k > cap) {
            size_t nc = cap ? cap * 2 : 1024;
            while (nc < at + k) nc *= 2;
            uint32_t *ni = core_reallocarray(tk->ids, nc, sizeof *ni);
            if (ni) tk->ids = ni;
            uint32_t *nt = ni ? core_reallocarray(tk->types, nc, sizeof *nt) : NULL;
            if (nt) tk->types = nt;
            if (!ni || !nt) rc = core_oom("bert fine-tuning tokens");
            else cap = nc;
        }
        if (!rc) {
            memcpy(tk->ids + at, ids, k * sizeof *ids);
            memcpy(tk->types + at, ids + ml, k * sizeof *ids);
            tk->start[i + 1] = at + k;
        }
    }
    core_free(ids);
    return rc;
}

static void tokens_free(tokens *tk) {
    core_free(tk->ids);
    core_free(tk->types);
    core_free(tk->start);
}

int bert_finetune_layers(aisle_bert *m, const char *const *a, const char *const *b, const float *labels, size_t n,
                         uint32_t num_labels, bool regression, bool keep_head, const aisle_config *cfg,
                         double *final_loss) {
    uint32_t layers = (uint32_t)config_int(cfg, bert_options, "finetune_layers");
    int64_t epochs = config_int(cfg, bert_options, "head_epochs");
    double head_lr = config_float(cfg, bert_options, "head_learning_rate");
    double enc_lr = config_float(cfg, bert_options, "finetune_learning_rate");
    uint64_t seed = (uint64_t)config_int(cfg, NULL, "seed");
    int threads = core_thread_count(config_int(cfg, NULL, "threads"));
    int64_t blas_threads = config_int(cfg, NULL, "blas_threads");
    if (blas_threads > 0) openblas_set_num_threads((int)blas_threads); /* the documented way (docs/BERT.md) */
    int rc = tune_check(m, layers); /* before any work */
    if (rc) return rc;
    size_t ml = 0;
    rc = bert_max_length(m, cfg, &ml);
    if (rc) return rc;
    if (ml < (b ? 3u : 2u)) return core_error(AISLE_ERANGE, "option max_length=%zu leaves no room for the text", ml);
    tokens tk;
    rc = tokenize_all(m, a, b, n, ml, &tk);
    /* the workspace fits the BATCH longest texts together */
    size_t *lens = rc ? NULL : core_malloc(n * sizeof *lens), max_rows = 0;
    uint32_t *order = rc ? NULL : core_malloc(n * sizeof *order), *bid = NULL, *bty = NULL;
    size_t *bstart = rc ? NULL : core_malloc((BATCH + 1) * sizeof *bstart);
    float *blab = rc ? NULL : core_malloc(BATCH * sizeof *blab);
    if (!rc && (!lens || !order || !bstart || !blab)) rc = core_oom("bert fine-tuning");
    if (!rc) {
        for (size_t i = 0; i < n; i++) lens[i] = tk.start[i + 1] - tk.start[i];
        qsort(lens, n, sizeof *lens, cmp_desc);
        for (size_t i = 0; i < n && i < BATCH; i++) max_rows += lens[i];
        bid = core_malloc(max_rows * sizeof *bid);
        bty = core_malloc(max_rows * sizeof *bty);
        if (!bid || !bty) rc = core_oom("bert fine-tuning");
    }
    core_rng rng;
    rng_seed(&rng, seed);
    bert_tuner t;
    bool have_tuner = false;
    if (!rc) {
        rc = bert_tuner_init(&t, m, layers, num_labels, regression, keep_head, max_rows, n < BATCH ? n : BATCH,
                             ml, threads, &rng);
        have_tuner = !rc;
    }
    if (!rc) {
        int64_t steps = epochs * (int64_t)((n + BATCH - 1) / BATCH);
        /* BERT's recipe for the encoder: linear warm-up over the first 10%, then linear decay */
        nn_adamw enc_opt = {(float)enc_lr, 0.9f, 0.999f, 1e-6f, 0.01f, 1.0f, steps / 10, steps, NN_DECAY_LINEAR};
        nn_adamw head_opt = {(float)head_lr, 0.9f, 0.999f, 1e-8f, 0.01f, 1.0f, 0, 0, NN_DECAY_NONE};
        for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
        double loss = 0;
        for (int64_t e = 0; !rc && e < epochs; e++) {
            rng_shuffle_u32(&rng, order, n);
            loss = 0;
            for (size_t b0 = 0; !rc && b0 < n; b0 += BATCH) {
                size_t b1 = b0 + BATCH < n ? b0 + BATCH : n, k = 0;
                bstart[0] = 0;
                for (size_t i = b0; i < b1; i++) {
                    size_t s0 = tk.start[order[i]], len = tk.start[order[i] + 1] - s0;
                    memcpy(bid + k, tk.ids + s0, len * sizeof *bid);
                    memcpy(bty + k, tk.types + s0, len * sizeof *bty);
                    k += len;
                    bstart[i - b0 + 1] = k;
                    blab[i - b0] = labels[order[i]];
                }
                bert_seqs s = {b1 - b0, bstart, bid, bty};
                double bl = 0;
                nn_zero_grad(&t.enc);
                nn_zero_grad(&t.head);
                rc = bert_tuner_batch(&t, &s, blab, true, &bl);
                if (!rc) {
                    nn_adamw_step(&t.enc, &enc_opt);
                    nn_adamw_step(&t.head, &head_opt);
                    loss += bl * (double)(b1 - b0);
                }
            }
        }
        if (!rc && final_loss) *final_loss = loss / (double)n;
    }
    if (!rc) rc = bert_tuner_install(&t, m);
    if (have_tuner) bert_tuner_free(&t);
    tokens_free(&tk);
    core_free(lens);
    core_free(order);
    core_free(bid);
    core_free(bty);
    core_free(bstart);
    core_free(blab);
    return rc;
}
