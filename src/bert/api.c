/* api.c - the public bert calls (include/aisle.h, section bert). */
#include "bert.h"

#include <cblas.h>
#include <string.h>

AISLE_API int aisle_bert_import(aisle_bert **out, const char *dir, const aisle_config *cfg) {
    (void)cfg;
    if (!out || !dir) return core_error(AISLE_EINVAL, "aisle_bert_import: NULL argument");
    return bert_import_dir(out, dir);
}

AISLE_API int aisle_bert_save(const aisle_bert *model, const char *path, const aisle_config *cfg) {
    if (!model || !path) return core_error(AISLE_EINVAL, "aisle_bert_save: NULL argument");
    return bert_save(model, path, cfg);
}

AISLE_API int aisle_bert_load(aisle_bert **out, const char *path, const aisle_config *cfg) {
    if (!out || !path) return core_error(AISLE_EINVAL, "aisle_bert_load: NULL argument");
    uint8_t *data;
    size_t len;
    int rc = io_read_file(path, (uint64_t)config_int(cfg, io_options, "max_model_bytes"), &data, &len);
    if (rc) return rc;
    rc = bert_load_buffer(out, data, len, cfg, path);
    core_free(data);
    return rc;
}

AISLE_API void aisle_bert_free(aisle_bert *model) {
    if (!model) return;
    bert_model_release(model);
    core_free(model);
}

AISLE_API int aisle_bert_info(const aisle_bert *model, size_t *dim, size_t *num_labels, int *regression,
                              size_t *max_length) {
    if (!model) return core_error(AISLE_EINVAL, "aisle_bert_info: NULL model");
    if (dim) *dim = model->cfg.hidden;
    if (num_labels) *num_labels = model->cfg.has_classifier ? model->cfg.num_labels : 0;
    if (regression) *regression = model->cfg.has_classifier && model->cfg.regression;
    if (max_length) *max_length = model->cfg.max_pos;
    return AISLE_OK;
}

AISLE_API int aisle_bert_memory(const aisle_bert *model, size_t *bytes) {
    if (!model || !bytes) return core_error(AISLE_EINVAL, "aisle_bert_memory: NULL argument");
    *bytes = bert_model_bytes(model);
    return AISLE_OK;
}

int bert_max_length(const aisle_bert *m, const aisle_config *cfg, size_t *out) {
    int64_t v = config_int(cfg, bert_options, "max_length");
    if (v > (int64_t)m->cfg.max_pos)
        return core_error(AISLE_ERANGE, "option max_length=%lld is more than the model's max_position_embeddings (%u)",
                          (long long)v, m->cfg.max_pos);
    *out = v ? (size_t)v : m->cfg.max_pos;
    return AISLE_OK;
}

AISLE_API int aisle_bert_tokenize(const aisle_bert *model, const char *text_a, const char *text_b,
                                  const aisle_config *cfg, uint32_t *ids, uint32_t *types, size_t cap, size_t *n) {
    if (!model || !text_a || !n) return core_error(AISLE_EINVAL, "aisle_bert_tokenize: NULL argument");
    size_t ml = 0;
    int rc = bert_max_length(model, cfg, &ml);
    if (rc) return rc;
    uint32_t *i2 = core_malloc(ml * sizeof *i2), *t2 = core_malloc(ml * sizeof *t2);
    size_t k = 0;
    if (!i2 || !t2) rc = core_oom("token ids");
    if (!rc) rc = bert_encode(&model->vocab, model->cfg.lower, model->cfg.strip_accents, text_a, text_b, ml, i2, t2, &k);
    if (!rc) {
        *n = k;
        if (k > cap) {
            rc = core_error(AISLE_ERANGE, "aisle_bert_tokenize: %zu tokens do not fit cap=%zu", k, cap);
        } else {
            if (ids) memcpy(ids, i2, k * sizeof *ids);
            if (types) memcpy(types, t2, k * sizeof *types);
        }
    }
    core_free(i2);
    core_free(t2);
    return rc;
}

/* ---- batched forward over texts ----
 * Texts are tokenized a window at a time (in parallel), then packed into
 * batches of at most BATCH_TOKENS real tokens (no padding) for bert_forward,
 * so each layer's products are large matrix products over many texts.  A
 * text's result does not depend on the thread count. */

enum { JOB_EMBED, JOB_CLASSIFY };
enum { WINDOW_TEXTS = 256, BATCH_TOKENS = 2048 };

typedef struct {
    const aisle_bert *m;
    const char *const *a;
    const char *const *b;
    int job, pooling;
    size_t max_len, out_dim;
    float *out;
    /* the current window: text w0 + i has ids/types slot i (max_len each) */
    size_t w0;
    uint32_t *ids, *types;
    size_t *len;
} run_ctx;

static int tokenize_range(void *vctx, size_t begin, size_t end, int tid) {
    (void)tid;
    run_ctx *r = vctx;
    const aisle_bert *m = r->m;
    for (size_t i = begin; i < end; i++) {
        size_t t = r->w0 + i;
        if (!r->a[t] || (r->b && !r->b[t])) return core_error(AISLE_EINVAL, "text %zu is NULL", t);
        int rc = bert_encode(&m->vocab, m->cfg.lower, m->cfg.strip_accents, r->a[t], r->b ? r->b[t] : NULL,
                             r->max_len, r->ids + i * r->max_len, r->types + i * r->max_len, &r->len[i]);
        if (rc) return rc;
    }
    return AISLE_OK;
}

/* Sequence q's embedding from a forward's hidden (packed) and pooled rows. */
static void pool_one(size_t H, const bert_seqs *s, size_t q, const float *hidden, const float *pooled, int pooling,
                     float *o) {
    size_t n = s->start[q + 1] - s->start[q];
    const float *hs = hidden + s->start[q] * H;
    if (pooling == AISLE_BERT_POOL_POOLER) {
        memcpy(o, pooled + q * H, H * sizeof *o);
    } else if (pooling == AISLE_BERT_POOL_CLS) {
        memcpy(o, hs, H * sizeof *o);
    } else {
        for (size_t j = 0; j < H; j++) {
            double sum = 0;
            for (size_t t = 0; t < n; t++) sum += hs[t * H + j];
            o[j] = (float)(sum / (double)n);
        }
    }
}

int bert_embed_seqs(const aisle_bert *m, const bert_seqs *s, int pooling, int threads, float *out) {
    size_t H = m->cfg.hidden, ntok = s->start[s->nseq];
    float *hidden = core_malloc((ntok ? ntok : 1) * H * sizeof *hidden);
    bool pool = pooling == AISLE_BERT_POOL_POOLER;
    float *pooled = pool ? core_malloc((s->nseq ? s->nseq : 1) * H * sizeof *pooled) : NULL;
    int rc = !hidden || (pool && !pooled) ? core_oom("bert embeddings") : AISLE_OK;
    if (!rc) rc = bert_forward(m, s, threads, hidden, pooled);
    for (size_t q = 0; !rc && q < s->nseq; q++) pool_one(H, s, q, hidden, pooled, pooling, out + q * H);
    core_free(hidden);
    core_free(pooled);
    return rc;
}

/* One packed batch: slots [i0, i1) of the window. */
static int run_batch(run_ctx *r, size_t i0, size_t i1, int threads, uint32_t *ids, uint32_t *types, size_t *start,
                     float *hidden, float *pooled) {
    const aisle_bert *m = r->m;
    size_t H = m->cfg.hidden, k = 0;
    start[0] = 0;
    for (size_t i = i0; i < i1; i++) {
        memcpy(ids + k, r->ids + i * r->max_len, r->len[i] * sizeof *ids);
        memcpy(types + k, r->types + i * r->max_len, r->len[i] * sizeof *types);
        k += r->len[i];
        start[i - i0 + 1] = k;
    }
    bert_seqs s = {i1 - i0, start, ids, types};
    bool need_pool = r->job == JOB_CLASSIFY || r->pooling == AISLE_BERT_POOL_POOLER;
    int rc = bert_forward(m, &s, threads, hidden, need_pool ? pooled : NULL);
    if (rc) return rc;
    for (size_t i = i0; i < i1; i++) {
        size_t q = i - i0;
        float *o = r->out + (r->w0 + i) * r->out_dim;
        if (r->job == JOB_CLASSIFY) bert_head(m, pooled + q * H, o);
        else pool_one(H, &s, q, hidden, pooled, r->pooling, o);
    }
    return AISLE_OK;
}

/* r->max_len set and checked; T threads. */
static int run_threads(run_ctx *r, size_t n, int T) {
    int rc = AISLE_OK;
    if (n == 0) return AISLE_OK;
    size_t H = r->m->cfg.hidden, ml = r->max_len, win = n < WINDOW_TEXTS ? n : WINDOW_TEXTS;
    size_t budget = ml > BATCH_TOKENS ? ml : BATCH_TOKENS;
    r->ids = core_malloc(win * ml * sizeof *r->ids);
    r->types = core_malloc(win * ml * sizeof *r->types);
    r->len = core_malloc(win * sizeof *r->len);
    uint32_t *ids = core_malloc(budget * sizeof *ids), *types = core_malloc(budget * sizeof *types);
    size_t *start = core_malloc((win + 1) * sizeof *start);
    float *hidden = core_malloc(budget * H * sizeof *hidden), *pooled = core_malloc(win * H * sizeof *pooled);
    if (!r->ids || !r->types || !r->len || !ids || !types || !start || !hidden || !pooled)
        rc = core_oom("bert batch buffers");
    for (size_t w0 = 0; !rc && w0 < n; w0 += win) {
        size_t w1 = w0 + win < n ? w0 + win : n;
        r->w0 = w0;
        rc = core_parallel_for(T, w1 - w0, 4, tokenize_range, r);
        for (size_t i0 = 0; !rc && i0 < w1 - w0;) {
            size_t i1 = i0, tok = 0;
            while (i1 < w1 - w0 && (i1 == i0 || tok + r->len[i1] <= budget)) tok += r->len[i1++];
            rc = run_batch(r, i0, i1, T, ids, types, start, hidden, pooled);
            i0 = i1;
        }
    }
    core_free(r->ids);
    core_free(r->types);
    core_free(r->len);
    core_free(ids);
    core_free(types);
    core_free(start);
    core_free(hidden);
    core_free(pooled);
    return rc;
}

static int run(run_ctx *r, size_t n, const aisle_config *cfg) {
    int rc = bert_max_length(r->m, cfg, &r->max_len);
    if (rc) return rc;
    if (r->max_len < (r->b ? 3u : 2u))
        return core_error(AISLE_ERANGE, "option max_length=%zu leaves no room for the text", r->max_len);
    /* the documented way to touch OpenBLAS's process-wide thread count:
     * only when the caller sets blas_threads.  sgemm is called from this
     * thread only; `threads` runs the row-wise work and the int8 kernel. */
    int64_t blas_threads = config_int(cfg, NULL, "blas_threads");
    if (blas_threads > 0 && n) openblas_set_num_threads((int)blas_threads);
    return run_threads(r, n, core_thread_count(config_int(cfg, NULL, "threads")));
}

int bert_embed_with(const aisle_bert *m, const char *const *a, const char *const *b, size_t n, int pooling,
                    size_t max_len, int threads, float *out) {
    if (max_len < (b ? 3u : 2u) || max_len > m->cfg.max_pos)
        return core_error(AISLE_ERANGE, "bert max_length %zu outside [%u, %u]", max_len, b ? 3u : 2u,
                          m->cfg.max_pos);
    run_ctx r = {m, a, b, JOB_EMBED, pooling, max_len, m->cfg.hidden, out, 0, NULL, NULL, NULL};
    return run_threads(&r, n, threads < 1 ? 1 : threads);
}

int bert_embed_texts(const aisle_bert *model, const char *const *texts, size_t n, int pooling,
                     const aisle_config *cfg, float *out) {
    if (!model || (n && (!texts || !out))) return core_error(AISLE_EINVAL, "bert_embed_texts: NULL argument");
    if (pooling != AISLE_BERT_POOL_CLS && pooling != AISLE_BERT_POOL_MEAN && pooling != AISLE_BERT_POOL_POOLER)
        return core_error(AISLE_EINVAL, "unknown bert pooling %d", pooling);
    if (pooling == AISLE_BERT_POOL_POOLER && !model->cfg.has_pooler)
        return core_error(AISLE_EUNSUPPORTED, "the bert model has no pooler (use cls or mean pooling)");
    run_ctx r = {model, texts, NULL, JOB_EMBED, pooling, 0, model->cfg.hidden, out, 0, NULL, NULL, NULL};
    return run(&r, n, cfg);
}

AISLE_API int aisle_bert_embed(const aisle_bert *model, const char *const *texts, size_t n, int pooling,
                               const aisle_config *cfg, float *out) {
    if (!model || (n && (!texts || !out))) return core_error(AISLE_EINVAL, "aisle_bert_embed: NULL argument");
    return bert_embed_texts(model, texts, n, pooling, cfg, out);
}

AISLE_API int aisle_bert_classify(const aisle_bert *model, const char *const *texts_a, const char *const *texts_b,
                                  size_t n, const aisle_config *cfg, float *out) {
    if (!model || (n && (!texts_a || !out))) return core_error(AISLE_EINVAL, "aisle_bert_classify: NULL argument");
    if (!model->cfg.has_classifier)
        return core_error(AISLE_EUNSUPPORTED, "aisle_bert_classify: the model has no classifier head "
                          "(import a checkpoint with classifier.weight, or aisle_bert_finetune_head)");
    run_ctx r = {model, texts_a, texts_b, JOB_CLASSIFY, 0, 0, model->cfg.num_labels, out, 0, NULL, NULL, NULL};
    return run(&r, n, cfg);
}

AISLE_API int aisle_bert_hidden(const aisle_bert *model, const char *text_a, const char *text_b,
                                const aisle_config *cfg, float *out, size_t max_tokens, size_t *n_tokens) {
    if (!model || !text_a || !n_tokens) return core_error(AISLE_EINVAL, "aisle_bert_hidden: NULL argument");
    size_t ml = 0, n = 0;
    int rc = bert_max_length(model, cfg, &ml);
    if (rc) return rc;
    size_t H = model->cfg.hidden;
    uint32_t *ids = core_malloc(2 * ml * sizeof *ids);
    float *hidden = core_malloc(ml * H * sizeof *hidden);
    if (!ids || !hidden) rc = core_oom("bert workspace");
    if (!rc) rc = bert_encode(&model->vocab, model->cfg.lower, model->cfg.strip_accents, text_a, text_b, ml, ids,
                              ids + ml, &n);
    if (!rc) {
        *n_tokens = n;
        if (n > max_tokens) {
            rc = core_error(AISLE_ERANGE, "aisle_bert_hidden: %zu tokens do not fit max_tokens=%zu", n, max_tokens);
        } else if (out) {
            size_t start[2] = {0, n};
            bert_seqs s = {1, start, ids, ids + ml};
            rc = bert_forward(model, &s, core_thread_count(config_int(cfg, NULL, "threads")), hidden, NULL);
            if (!rc) memcpy(out, hidden, n * H * sizeof *out);
        }
    }
    core_free(ids);
    core_free(hidden);
    return rc;
}

int bert_pooled_batch(const aisle_bert *m, const char *const *a, const char *const *b, size_t n,
                      const aisle_config *cfg, float *out) {
    run_ctx r = {m, a, b, JOB_EMBED, AISLE_BERT_POOL_POOLER, 0, m->cfg.hidden, out, 0, NULL, NULL, NULL};
    return run(&r, n, cfg);
}

AISLE_API int aisle_bert_finetune_head(aisle_bert *model, const char *const *texts_a, const char *const *texts_b,
                                       const float *labels, size_t n, size_t num_labels, const aisle_config *cfg,
                                       double *loss) {
    if (!model || (n && (!texts_a || !labels)))
        return core_error(AISLE_EINVAL, "aisle_bert_finetune_head: NULL argument");
    return bert_finetune_head(model, texts_a, texts_b, labels, n, num_labels, cfg, loss);
}
