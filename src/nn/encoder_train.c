/* encoder_train.c - the text encoder's recipe (Devlin et al. 2019, at shop
 * scale): optional masked-token pre-training on any pile of texts, then
 * fine-tuning with a linear classification head on the pooled vector;
 * prediction, leave-one-token-out explanations and temperature scaling
 * (Guo et al. 2017) for calibrated probabilities. */
#include "nn.h"

#include <math.h>
#include <string.h>

void nn_train_default(nn_train_cfg *c) {
    memset(c, 0, sizeof *c);
    c->epochs = 10;
    c->pretrain_epochs = 0;
    c->batch = 32;
    c->lr = 2e-3f;
    c->pretrain_lr = 2e-3f;
    c->weight_decay = 0.01f;
    c->warmup = 0.05f;
    c->clip_norm = 1.0f;
    c->mask_rate = 0.15f;
    c->mlm_buckets = 8192;
    c->label_smoothing = 0.0f;
    c->threads = 1;
    c->seed = 42;
}

static int check_train(const nn_train_cfg *c) {
    if (c->epochs < 0 || c->pretrain_epochs < 0) return core_error(AISLE_EINVAL, "text encoder: epochs must be >= 0");
    if (c->batch < 1 || c->batch > 4096) return core_error(AISLE_EINVAL, "text encoder: batch %zu out of range", c->batch);
    if (!(c->lr > 0) || !(c->pretrain_lr > 0)) return core_error(AISLE_EINVAL, "text encoder: learning rate must be > 0");
    if (!(c->mask_rate > 0 && c->mask_rate < 1))
        return core_error(AISLE_EINVAL, "text encoder: mask_rate must be in (0, 1)");
    if (c->mlm_buckets < 2) return core_error(AISLE_EINVAL, "text encoder: mlm_buckets must be >= 2");
    if (!(c->label_smoothing >= 0 && c->label_smoothing < 1))
        return core_error(AISLE_EINVAL, "text encoder: label_smoothing must be in [0, 1)");
    return AISLE_OK;
}

int nn_textclf_new(nn_textclf *m, const nn_encoder_cfg *ec, const nn_feat_cfg *fc, size_t n_classes, bool training,
                   uint64_t seed) {
    memset(m, 0, sizeof *m);
    nn_store_init(&m->s);
    m->temperature = 1.0f;
    if (n_classes < 1) return core_error(AISLE_EINVAL, "text classifier: no classes");
    if (fc->buckets != ec->buckets || fc->max_len != ec->max_len)
        return core_error(AISLE_EINVAL, "text classifier: tokenizer and encoder disagree on buckets or max_len");
    m->feat = *fc;
    m->n_classes = n_classes;
    int rc = nn_encoder_init(&m->enc, &m->s, ec);
    if (!rc) rc = nn_linear_init(&m->head, &m->s, ec->d, n_classes);
    if (!rc) rc = nn_store_alloc(&m->s, training);
    if (rc) {
        nn_textclf_free(m);
        return rc;
    }
    core_rng r;
    rng_seed(&r, seed);
    nn_encoder_reset(&m->enc, &m->s, &r);
    nn_linear_reset(&m->head, &m->s, &r);
    return AISLE_OK;
}

void nn_textclf_free(nn_textclf *m) {
    if (!m) return;
    nn_encoder_free(&m->enc);
    nn_store_free(&m->s);
}

static void shuffle_sizes(core_rng *r, size_t *v, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(r, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static size_t *identity_order(size_t n) {
    size_t *o = core_malloc((n ? n : 1) * sizeof *o);
    if (o)
        for (size_t i = 0; i < n; i++) o[i] = i;
    return o;
}

/* A fresh optimizer run: step 0 (warm-up and decay restart) and zero
 * moments, as BERT starts fine-tuning with a new optimizer. */
static void restart_optimizer(nn_store *s) {
    s->step = 0;
    memset(s->m, 0, s->n * sizeof *s->m);
    memset(s->v, 0, s->n * sizeof *s->v);
}

static nn_adamw make_opt(const nn_train_cfg *c, float lr, int64_t total) {
    nn_adamw o = {.lr = lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = c->weight_decay,
                  .clip_norm = c->clip_norm, .warmup_steps = (int64_t)(c->warmup * (float)total),
                  .total_steps = total, .decay = NN_DECAY_LINEAR};
    return o;
}

/* Cross-entropy of softmax(z[0..n)) at target, with label smoothing eps
 * (target 1 - eps + eps/n, others eps/n); z is overwritten by the gradient
 * times gscale.  Returns the loss. */
double nn_xent_smoothed(float *z, size_t n, size_t target, float eps, float gscale) {
    float mx = z[0];
    for (size_t i = 1; i < n; i++) mx = z[i] > mx ? z[i] : mx;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += exp((double)z[i] - mx);
    double lse = mx + log(sum), loss = 0;
    double off = eps / (double)n, on = 1.0 - eps + off;
    for (size_t i = 0; i < n; i++) {
        double y = i == target ? on : off;
        double lp = (double)z[i] - lse;
        if (y > 0) loss -= y * lp;
        z[i] = (float)((exp(lp) - y) * gscale);
    }
    return loss;
}

/* Knowledge distillation (Hinton et al. 2015): with q = softmax(z / T),
 * p = softmax(z), loss = alpha T^2 CE(soft, q) + (1 - alpha) CE(label, p);
 * dz = alpha T (q - soft) + (1 - alpha)(p - onehot).  z is overwritten by
 * dz times gscale. */
double nn_distill_xent(float *z, size_t n, size_t target, const float *soft, float alpha, float temperature,
                       float gscale) {
    double T = temperature > 0 ? temperature : 1.0, a = alpha;
    double mx = z[0];
    for (size_t i = 1; i < n; i++) mx = z[i] > mx ? z[i] : mx;
    double s1 = 0, sT = 0;
    for (size_t i = 0; i < n; i++) {
        s1 += exp((double)z[i] - mx);
        sT += exp(((double)z[i] - mx) / T);
    }
    double l1 = log(s1), lT = log(sT), loss = 0;
    for (size_t i = 0; i < n; i++) {
        double lp = (double)z[i] - mx - l1, lq = ((double)z[i] - mx) / T - lT;
        if (soft[i] > 0) loss -= a * T * T * soft[i] * lq;
        if (i == target) loss -= (1 - a) * lp;
        double g = a * T * (exp(lq) - soft[i]) + (1 - a) * (exp(lp) - (i == target ? 1.0 : 0.0));
        z[i] = (float)(g * gscale);
    }
    return loss;
}

/* ---- randomness per example, data parallelism ---- */

/* The key of a text's random numbers at a step: its masked tokens and
 * dropout masks come from streams of (seed, stage, step, text), so they are
 * the same whichever thread or rank computes the text (nn_batch.keys). */
static uint64_t example_key(uint64_t seed, int stage, uint64_t step, size_t text) {
    uint64_t x = seed ^ ((uint64_t)stage << 62) ^ (step * 0x9E3779B97F4A7C15ull);
    x ^= (uint64_t)text * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* This rank's part [*lo, *hi) of a step's B examples (all of them in one
 * process). */
static void step_slice(const nn_train_cfg *c, size_t B, size_t *lo, size_t *hi) {
    *lo = 0, *hi = B;
    if (c->dp) c->dp->slice(c->dp->ctx, B, lo, hi);
}

/* Sets the keys of the batch's texts order[lo .. hi) (positions in the
 * workspace 0 .. hi - lo). */
static void key_batch(nn_encoder_ws *w, const nn_train_cfg *c, int stage, uint64_t step, const size_t *order,
                      size_t lo, size_t hi) {
    for (size_t b = lo; b < hi; b++) w->keys[b - lo] = example_key(c->seed, stage, step, order[b]);
    w->bt.keys = w->keys;
}

/* After a step's backward: in one process nothing; with c->dp, the ranks'
 * gradients (n_grads stores), the embedding rows they touched and the
 * step's loss sums are added. */
static int step_reduce(const nn_train_cfg *c, nn_store *const *stores, size_t n_grads, nn_encoder_ws *w,
                       const nn_encoder *e, double *sums, size_t n_sums) {
    if (!c->dp) return AISLE_OK;
    float *grads[2];
    size_t n[2];
    for (size_t k = 0; k < n_grads; k++) grads[k] = stores[k]->g, n[k] = stores[k]->n;
    /* the bucket table is lazy while training (nn_store_set_lazy) */
    nn_lazy_rows rows = {e->emb.off, e->c.d};
    return c->dp->reduce(c->dp->ctx, grads, n, n_grads, w->touched, NN_ENC_SPECIAL + (size_t)e->c.buckets, rows,
                         sums, n_sums);
}

/* ---- checkpoints (nn_ckpt_hook) ---- */

/* With c->ckpt, a stage's resume after its fresh start, then its random
 * stream replayed over the epochs done (the shuffles of order); *done 0
 * without.  The restored step counts are checked against the steps those
 * epochs can have taken, so no file sets the schedule anywhere else. */
static int stage_resume(const nn_train_cfg *c, int stage, nn_store *const *stores, size_t n_stores, int epochs,
                        size_t steps_per_epoch, core_rng *r, size_t *order, size_t N, int *done) {
    *done = 0;
    if (!c->ckpt) return AISLE_OK;
    int rc = c->ckpt->resume(c->ckpt->ctx, stage, stores, n_stores, done);
    if (rc) return rc;
    if (*done < 0 || *done > epochs)
        return core_error(AISLE_EFORMAT, "checkpoint: %d epochs done of a stage of %d", *done, epochs);
    for (size_t k = 0; k < n_stores; k++)
        if (stores[k]->step < 0 || (uint64_t)stores[k]->step > (uint64_t)*done * steps_per_epoch)
            return core_error(AISLE_EFORMAT, "checkpoint: step counter %lld out of range after %d epochs",
                              (long long)stores[k]->step, *done);
    for (int ep = 0; ep < *done; ep++) shuffle_sizes(r, order, N);
    return AISLE_OK;
}

/* After epoch ep of a stage: the checkpoint, then progress (a rank the
 * progress ends -- the kill test hook -- has saved the epoch first). */
static int stage_epoch_end(const nn_train_cfg *c, int stage, nn_store *const *stores, size_t n_stores, int ep,
                           double loss) {
    int rc = c->ckpt ? c->ckpt->save(c->ckpt->ctx, stage, stores, n_stores, ep + 1) : AISLE_OK;
    if (!rc && c->progress) rc = c->progress(c->progress_ctx, stage, ep, loss);
    return rc;
}

/* ---- masked-token pre-training ---- */

/* The stream of a text's masking, apart from its dropout streams (the
 * blocks' (index x 4 + mask): nn_block_forward). */
#define MASK_STREAM UINT64_MAX

/* Draws the masking of one text of len tokens (BERT's 80/10/10) from its
 * own stream.  With src (the text's token rows in the workspace, after its
 * [CLS] row), rewrites the masked rows' sources and appends their rows and
 * targets; returns the number masked either way. */
static size_t mask_text(uint64_t key, size_t len, const nn_toks *texts, const nn_train_cfg *c, size_t *src,
                        size_t first_row, size_t *mrow, uint32_t *mtgt) {
    core_rng r;
    rng_seed_stream(&r, key, MASK_STREAM);
    size_t mc = 0;
    for (size_t k = 0; k < len; k++) {
        if (rng_float(&r) >= c->mask_rate) continue;
        float u = rng_float(&r);
        size_t other = u >= 0.8f && u < 0.9f ? (size_t)rng_below(&r, texts->n_tokens) : 0;
        if (src) {
            mrow[mc] = first_row + k;
            mtgt[mc] = texts->word[src[k]] % c->mlm_buckets;
            if (u < 0.8f) src[k] = NN_SRC_MASK;
            else if (u < 0.9f) src[k] = other;
        }
        mc++;
    }
    return mc;
}

/* The masked-token head over the masked rows of a step, in chunks of cap
 * rows (the logits of all of them at once would be rows x V floats). */
typedef struct mlm_head {
    nn_store *hs;
    nn_linear *out;
    float *H, *dH, *Z;
    size_t cap, d, V;
} mlm_head;

static double mlm_head_run(mlm_head *h, nn_encoder_ws *w, const size_t *mrow, const uint32_t *mtgt, size_t mc,
                           float inv) {
    double total = 0;
    size_t d = h->d, V = h->V;
    for (size_t at = 0; at < mc; at += h->cap) {
        size_t k = CORE_MIN(h->cap, mc - at);
        for (size_t i = 0; i < k; i++) memcpy(h->H + i * d, w->fin + mrow[at + i] * d, d * sizeof *h->H);
        nn_linear_forward(h->hs, h->out, h->H, k, h->Z);
        for (size_t i = 0; i < k; i++) total += nn_xent_smoothed(h->Z + i * V, V, mtgt[at + i], 0.0f, inv);
        nn_linear_backward(h->hs, h->out, h->H, h->Z, k, h->dH);
        for (size_t i = 0; i < k; i++) memcpy(w->dfin + mrow[at + i] * d, h->dH + i * d, d * sizeof *h->dH);
    }
    return total;
}

int nn_textclf_pretrain(nn_textclf *m, const nn_toks *texts, const nn_train_cfg *c, double *loss) {
    int rc = check_train(c);
    if (rc) return rc;
    if (!m->s.g) return core_error(AISLE_EINVAL, "text classifier: not allocated for training");
    size_t N = texts->n_texts, d = m->enc.c.d, V = c->mlm_buckets, Bmax = c->batch;
    if (N == 0 || texts->n_tokens == 0 || c->pretrain_epochs == 0) {
        if (loss) *loss = 0;
        return AISLE_OK;
    }
    nn_store hs;
    nn_store_init(&hs);
    nn_linear out;
    nn_encoder_ws w;
    memset(&w, 0, sizeof w);
    mlm_head head = {.hs = &hs, .out = &out, .d = d, .V = V};
    size_t *order = NULL, *mrow = NULL;
    uint32_t *mtgt = NULL;
    rc = nn_linear_init(&out, &hs, d, V);
    if (!rc) rc = nn_store_alloc(&hs, true);
    if (!rc) rc = nn_encoder_ws_alloc(&w, &m->enc, Bmax, c->threads, true);
    if (rc) goto done;
    /* the head's logits are computed in chunks of twice the expected
     * masked rows of a full batch (plus slack), so they stay small */
    head.cap = CORE_MIN((size_t)((double)w.max_rows * c->mask_rate * 2.0) + 8, w.max_rows);
    head.H = core_malloc(head.cap * d * sizeof *head.H);
    head.dH = core_malloc(head.cap * d * sizeof *head.dH);
    head.Z = core_malloc(head.cap * V * sizeof *head.Z);
    mrow = core_malloc(w.max_rows * sizeof *mrow);
    mtgt = core_malloc(w.max_rows * sizeof *mtgt);
    order = identity_order(N);
    if (!head.H || !head.dH || !head.Z || !mrow || !mtgt || !order) {
        rc = core_oom("masked-token pre-training");
        goto done;
    }
    core_rng r;
    rng_seed_stream(&r, c->seed, 7);
    nn_linear_reset(&out, &hs, &r);
    nn_store_set_lazy(&m->s, m->enc.emb, w.touched);
    restart_optimizer(&m->s);
    size_t steps_per_epoch = (N + Bmax - 1) / Bmax;
    nn_adamw opt = make_opt(c, c->pretrain_lr, (int64_t)steps_per_epoch * c->pretrain_epochs);
    nn_store *stores[2] = {&m->s, &hs};
    double epoch_loss = 0;
    int done = 0;
    rc = stage_resume(c, 0, stores, 2, c->pretrain_epochs, steps_per_epoch, &r, order, N, &done);
    for (int ep = done; ep < c->pretrain_epochs && !rc; ep++) {
        shuffle_sizes(&r, order, N);
        double total = 0;
        size_t counted = 0;
        for (size_t start = 0; start < N && !rc; start += Bmax) {
            size_t B = CORE_MIN(Bmax, N - start), lo, hi;
            uint64_t step = (uint64_t)ep * steps_per_epoch + start / Bmax;
            const size_t *batch = order + start;
            step_slice(c, B, &lo, &hi);
            /* the loss is the mean over the whole batch's masked tokens:
             * every rank counts them (cheap: random draws only) */
            size_t mc_all = 0, mc = 0;
            for (size_t b = 0; b < B; b++)
                if (b < lo || b >= hi)
                    mc_all += mask_text(example_key(c->seed, 0, step, batch[b]),
                                        CORE_MIN(nn_toks_len(texts, batch[b]), w.max_seq - 1), texts, c, NULL, 0, NULL,
                                        NULL);
            nn_encoder_ws_batch(&w, texts, batch + lo, 0, hi - lo);
            key_batch(&w, c, 0, step, batch, lo, hi);
            for (size_t j = 0; j < hi - lo; j++) {
                size_t first = w.bt.offs[j] + 1; /* after [CLS] */
                mc += mask_text(w.keys[j], w.lens[j] - 1, texts, c, w.src + first, first, mrow + mc, mtgt + mc);
            }
            mc_all += mc;
            if (mc_all == 0) continue;
            nn_zero_grad(&m->s);
            nn_zero_grad(&hs);
            double step_loss = 0;
            if (mc) {
                rc = nn_encoder_forward(&m->s, &m->enc, &w, texts, true, &r);
                if (rc) break;
                memset(w.dfin, 0, w.bt.rows * d * sizeof *w.dfin);
                memset(w.dpooled, 0, w.bt.batch * d * sizeof *w.dpooled);
                step_loss = mlm_head_run(&head, &w, mrow, mtgt, mc, 1.0f / (float)mc_all);
                rc = nn_encoder_backward(&m->s, &m->enc, &w, texts);
                if (rc) break;
            }
            rc = step_reduce(c, stores, 2, &w, &m->enc, &step_loss, 1);
            if (rc) break;
            total += step_loss;
            counted += mc_all;
            nn_adamw_step(&m->s, &opt);
            nn_adamw_step(&hs, &opt);
        }
        epoch_loss = counted ? total / (double)counted : 0;
        if (!rc) rc = stage_epoch_end(c, 0, stores, 2, ep, epoch_loss);
    }
    if (loss) *loss = epoch_loss;
done:
    nn_store_set_lazy(&m->s, m->enc.emb, NULL);
    nn_encoder_ws_free(&w);
    nn_store_free(&hs);
    core_free(head.H);
    core_free(head.dH);
    core_free(head.Z);
    core_free(mrow);
    core_free(mtgt);
    core_free(order);
    return rc;
}

/* ---- fine-tuning ---- */

int nn_textclf_finetune(nn_textclf *m, const nn_toks *texts, const uint32_t *labels, const nn_train_cfg *c,
                        double *loss) {
    int rc = check_train(c);
    if (rc) return rc;
    if (!m->s.g) return core_error(AISLE_EINVAL, "text classifier: not allocated for training");
    size_t N = texts->n_texts, d = m->enc.c.d, C = m->n_classes, Bmax = c->batch;
    for (size_t i = 0; i < N; i++)
        if (labels[i] >= C) return core_error(AISLE_EINVAL, "text classifier: label %u of text %zu >= %zu classes",
                                              labels[i], i, C);
    if (N == 0 || c->epochs == 0) {
        if (loss) *loss = 0;
        return AISLE_OK;
    }
    nn_encoder_ws w;
    float *Z = core_malloc(Bmax * C * sizeof *Z);
    size_t *order = identity_order(N);
    rc = nn_encoder_ws_alloc(&w, &m->enc, Bmax, c->threads, true);
    if (!rc && (!Z || !order)) rc = core_oom("text classifier training");
    if (rc) goto done;
    core_rng r;
    rng_seed_stream(&r, c->seed, 11);
    nn_store_set_lazy(&m->s, m->enc.emb, w.touched);
    restart_optimizer(&m->s);
    size_t steps_per_epoch = (N + Bmax - 1) / Bmax;
    nn_adamw opt = make_opt(c, c->lr, (int64_t)steps_per_epoch * c->epochs);
    nn_store *stores[1] = {&m->s};
    double epoch_loss = 0;
    int done = 0;
    rc = stage_resume(c, 1, stores, 1, c->epochs, steps_per_epoch, &r, order, N, &done);
    for (int ep = done; ep < c->epochs && !rc; ep++) {
        shuffle_sizes(&r, order, N);
        double total = 0;
        for (size_t start = 0; start < N && !rc; start += Bmax) {
            size_t B = CORE_MIN(Bmax, N - start), lo, hi;
            const size_t *batch = order + start;
            step_slice(c, B, &lo, &hi);
            nn_zero_grad(&m->s);
            double step_loss = 0;
            if (hi > lo) {
                size_t n = hi - lo;
                nn_encoder_ws_batch(&w, texts, batch + lo, 0, n);
                key_batch(&w, c, 1, (uint64_t)ep * steps_per_epoch + start / Bmax, batch, lo, hi);
                rc = nn_encoder_forward(&m->s, &m->enc, &w, texts, true, &r);
                if (rc) break;
                nn_linear_forward(&m->s, &m->head, w.pooled, n, Z);
                float inv = 1.0f / (float)B; /* the mean over the whole batch */
                for (size_t b = 0; b < n; b++) {
                    size_t doc = batch[lo + b];
                    if (c->soft)
                        step_loss += nn_distill_xent(Z + b * C, C, labels[doc], c->soft + doc * C, c->soft_alpha,
                                                     c->soft_temperature, inv);
                    else step_loss += nn_xent_smoothed(Z + b * C, C, labels[doc], c->label_smoothing, inv);
                }
                nn_linear_backward(&m->s, &m->head, w.pooled, Z, n, w.dpooled);
                memset(w.dfin, 0, w.bt.rows * d * sizeof *w.dfin);
                rc = nn_encoder_backward(&m->s, &m->enc, &w, texts);
                if (rc) break;
            }
            rc = step_reduce(c, stores, 1, &w, &m->enc, &step_loss, 1);
            if (rc) break;
            total += step_loss;
            nn_adamw_step(&m->s, &opt);
        }
        epoch_loss = total / (double)N;
        if (!rc) rc = stage_epoch_end(c, 1, stores, 1, ep, epoch_loss);
    }
    if (loss) *loss = epoch_loss;
done:
    nn_store_set_lazy(&m->s, m->enc.emb, NULL);
    nn_encoder_ws_free(&w);
    core_free(Z);
    core_free(order);
    return rc;
}

/* ---- prediction ---- */

/* Runs the encoder over every text of toks in batches of ws; with head,
 * out gets the logits (N x n_classes), else the pooled vectors (N x d). */
static int forward_texts(const nn_textclf *m, const nn_toks *toks, bool head, float *out, nn_encoder_ws *ws) {
    nn_encoder_ws own;
    size_t N = toks->n_texts, C = m->n_classes, d = m->enc.c.d;
    if (N == 0) return AISLE_OK;
    if (!ws) {
        size_t longest = 0;
        for (size_t i = 0; i < N; i++) longest = CORE_MAX(longest, nn_toks_len(toks, i));
        int rc = nn_encoder_ws_alloc_for(&own, &m->enc, CORE_MIN(N, (size_t)32), longest + 1, 1, false);
        if (rc) return rc;
        ws = &own;
    }
    int rc = AISLE_OK;
    for (size_t start = 0; start < N && !rc; start += ws->max_batch) {
        size_t B = CORE_MIN(ws->max_batch, N - start);
        nn_encoder_ws_batch(ws, toks, NULL, start, B);
        rc = nn_encoder_forward(&m->s, &m->enc, ws, toks, false, NULL);
        if (!rc && head) nn_linear_forward(&m->s, &m->head, ws->pooled, B, out + start * C);
        else if (!rc) memcpy(out + start * d, ws->pooled, B * d * sizeof *out);
    }
    if (ws == &own) nn_encoder_ws_free(&own);
    return rc;
}

int nn_textclf_logits(const nn_textclf *m, const nn_toks *toks, float *logits, nn_encoder_ws *ws) {
    return forward_texts(m, toks, true, logits, ws);
}

int nn_textclf_embed(const nn_textclf *m, const nn_toks *toks, float *out, nn_encoder_ws *ws) {
    return forward_texts(m, toks, false, out, ws);
}

static void probs_from_logits(const float *z, size_t C, float temperature, float *p) {
    float inv = 1.0f / temperature;
    for (size_t i = 0; i < C; i++) p[i] = z[i] * inv;
    nn_softmax(p, C);
}

int nn_textclf_predict(const nn_textclf *m, const nn_toks *toks, float *probs, nn_encoder_ws *ws) {
    int rc = nn_textclf_logits(m, toks, probs, ws);
    if (rc) return rc;
    for (size_t i = 0; i < toks->n_texts; i++)
        probs_from_logits(probs + i * m->n_classes, m->n_classes, m->temperature, probs + i * m->n_classes);
    return AISLE_OK;
}

int nn_textclf_explain(const nn_textclf *m, const nn_toks *toks, size_t cls, float *contrib) {
    if (toks->n_texts < 1) return core_error(AISLE_EINVAL, "text classifier: nothing to explain");
    if (cls >= m->n_classes) return core_error(AISLE_EINVAL, "text classifier: class %zu out of range", cls);
    size_t n = nn_toks_len(toks, 0), C = m->n_classes, first = toks->text_off[0];
    for (size_t k = m->enc.c.max_len; k < n; k++) contrib[k] = 0.0f; /* not read by the encoder */
    n = CORE_MIN(n, m->enc.c.max_len);
    if (n == 0) return AISLE_OK;
    /* one batch: the text itself, then a copy per token with that token
     * replaced by [MASK] (the pre-training's stand-in for "absent") */
    nn_encoder_ws w;
    float *Z = core_malloc((n + 1) * C * sizeof *Z);
    int rc = Z ? nn_encoder_ws_alloc_for(&w, &m->enc, n + 1, n + 1, 1, false) : core_oom("text explanation");
    if (rc) {
        core_free(Z);
        return rc;
    }
    size_t r = 0;
    for (size_t j = 0; j <= n; j++) {
        w.lens[j] = n + 1;
        w.src[r++] = NN_SRC_CLS;
        for (size_t k = 0; k < n; k++) w.src[r++] = j == k + 1 ? NN_SRC_MASK : first + k;
    }
    nn_batch_set(&w.bt, w.lens, n + 1);
    rc = nn_encoder_forward(&m->s, &m->enc, &w, toks, false, NULL);
    if (!rc) {
        nn_linear_forward(&m->s, &m->head, w.pooled, n + 1, Z);
        /* margin of cls over the mean logit, with and without each token */
        for (size_t j = 0; j <= n; j++) {
            float *z = Z + j * C;
            double mean = 0;
            for (size_t i = 0; i < C; i++) mean += z[i];
            z[0] = z[cls] - (float)(mean / (double)C);
        }
        for (size_t k = 0; k < n; k++) contrib[k] = Z[0] - Z[(k + 1) * C];
    }
    nn_encoder_ws_free(&w);
    core_free(Z);
    return rc;
}

/* Mean log-loss of logits / T. */
static double temp_nll(const float *logits, const uint32_t *labels, size_t n, size_t C, double T) {
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * C;
        double mx = z[0];
        for (size_t k = 1; k < C; k++) mx = z[k] > mx ? z[k] : mx;
        double sum = 0;
        for (size_t k = 0; k < C; k++) sum += exp(((double)z[k] - mx) / T);
        total += log(sum) - ((double)z[labels[i]] - mx) / T;
    }
    return n ? total / (double)n : 0;
}

float nn_fit_temperature(const float *logits, const uint32_t *labels, size_t n, size_t n_classes) {
    if (n == 0 || n_classes < 2) return 1.0f;
    /* golden-section search on log T: the NLL is unimodal in T */
    const double g = 0.6180339887498949;
    double a = log(1.0 / 20), b = log(20.0);
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = temp_nll(logits, labels, n, n_classes, exp(x1)), f2 = temp_nll(logits, labels, n, n_classes, exp(x2));
    for (int it = 0; it < 60; it++) {
        if (f1 < f2) {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = temp_nll(logits, labels, n, n_classes, exp(x1));
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = temp_nll(logits, labels, n, n_classes, exp(x2));
        }
    }
    return (float)exp(0.5 * (a + b));
}
