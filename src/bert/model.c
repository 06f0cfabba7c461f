/* model.c - the in-memory model: weight matrices in fp32, fp16 or int8
 * (one scale per output row, the model file's own encodings), and the
 * allocation of every tensor a config describes. */
#include "bert.h"

#include <math.h>
#include <string.h>

int bert_mat_alloc(bert_mat *m, uint32_t rows, uint32_t cols) {
    memset(m, 0, sizeof *m);
    m->rows = rows;
    m->cols = cols;
    m->enc = IO_QUANT_NONE;
    size_t n = (size_t)rows * cols;
    m->f = core_calloc(n ? n : 1, sizeof *m->f);
    return m->f ? AISLE_OK : core_oom("bert weight matrix");
}

void bert_mat_free(bert_mat *m) {
    if (!m) return;
    core_free(m->f);
    core_free(m->h);
    core_free(m->q);
    core_free(m->scale);
    core_free(m->qsum);
    memset(m, 0, sizeof *m);
}

size_t bert_mat_bytes(const bert_mat *m) {
    size_t n = (size_t)m->rows * m->cols;
    return m->enc == IO_QUANT_NONE   ? n * 4
           : m->enc == IO_QUANT_FP16 ? n * 2
                                     : bert_int8_packed_bytes(m->rows, m->cols) + (size_t)m->rows * 8;
}

int bert_mat_encode(bert_mat *m, int enc) {
    if (enc == m->enc) return AISLE_OK;
    if (m->enc != IO_QUANT_NONE) return core_error(AISLE_EINTERNAL, "bert_mat_encode: matrix is already encoded");
    size_t n = (size_t)m->rows * m->cols;
    if (enc == IO_QUANT_FP16) {
        m->h = core_malloc(n ? n * sizeof *m->h : 1);
        if (!m->h) return core_oom("bert fp16 weights");
        for (size_t i = 0; i < n; i++) m->h[i] = io_f32_to_f16(m->f[i]);
    } else if (enc == IO_QUANT_INT8) {
        size_t packed = bert_int8_packed_bytes(m->rows, m->cols);
        m->q = core_calloc(packed ? packed : 1, 1); /* the padding stays zero */
        m->scale = core_malloc((m->rows ? m->rows : 1) * sizeof *m->scale);
        m->qsum = core_malloc((m->rows ? m->rows : 1) * sizeof *m->qsum);
        if (!m->q || !m->scale || !m->qsum) {
            core_free(m->q);
            core_free(m->scale);
            core_free(m->qsum);
            m->q = NULL;
            m->scale = NULL;
            m->qsum = NULL;
            return core_oom("bert int8 weights");
        }
        /* the same symmetric per-row scale as the model file's int8 tensors,
         * so re-encoding a loaded int8 matrix reproduces its stored bytes */
        for (uint32_t r = 0; r < m->rows; r++) {
            const float *row = m->f + (size_t)r * m->cols;
            float mx = 0.0f;
            for (uint32_t j = 0; j < m->cols; j++) mx = fmaxf(mx, fabsf(row[j]));
            float s = mx / 127.0f;
            m->scale[r] = s;
            int32_t sum = 0;
            for (uint32_t j = 0; j < m->cols; j++) {
                int q = s > 0 ? (int)lrintf(row[j] / s) : 0;
                q = q > 127 ? 127 : q < -127 ? -127 : q;
                *bert_int8_at(m->q, m->cols, r, j) = (int8_t)q;
                sum += q;
            }
            m->qsum[r] = sum;
        }
    } else {
        return core_error(AISLE_EINTERNAL, "bert_mat_encode: unknown encoding %d", enc);
    }
    core_free(m->f);
    m->f = NULL;
    m->enc = enc;
    return AISLE_OK;
}

void bert_mat_row(const bert_mat *m, uint32_t r, float *out) {
    size_t c = m->cols, o = (size_t)r * c;
    if (m->enc == IO_QUANT_NONE) {
        memcpy(out, m->f + o, c * sizeof *out);
    } else if (m->enc == IO_QUANT_FP16) {
        for (size_t j = 0; j < c; j++) out[j] = io_f16_to_f32(m->h[o + j]);
    } else {
        float s = m->scale[r];
        const int8_t *q = bert_int8_at(m->q, c, r, 0);
        for (size_t j = 0; j < c; j++) out[j] = (float)q[(j / 4) * (4 * BERT_PANEL) + j % 4] * s;
    }
}

static float *vec(size_t n, int *rc) {
    if (*rc) return NULL;
    float *v = core_calloc(n ? n : 1, sizeof *v);
    if (!v) *rc = core_oom("bert parameters");
    return v;
}

static void mat(bert_mat *m, uint32_t rows, uint32_t cols, int *rc) {
    if (!*rc) *rc = bert_mat_alloc(m, rows, cols);
}

int bert_model_alloc(aisle_bert *m) {
    const bert_config *c = &m->cfg;
    uint32_t H = c->hidden;
    int rc = AISLE_OK;
    m->int8_kernel = bert_int8_kernel_best();
    m->f16c = bert_cpu_f16c();
    m->layer = core_calloc(c->layers, sizeof *m->layer);
    if (!m->layer) return core_oom("bert layers");
    mat(&m->word, c->vocab, H, &rc);
    m->pos = vec((size_t)c->max_pos * H, &rc);
    m->type = vec((size_t)c->type_vocab * H, &rc);
    m->emb_g = vec(H, &rc);
    m->emb_b = vec(H, &rc);
    for (uint32_t l = 0; l < c->layers; l++) {
        bert_layer *L = &m->layer[l];
        mat(&L->qkv, 3 * H, H, &rc);
        L->qkv_b = vec(3 * (size_t)H, &rc);
        mat(&L->ao, H, H, &rc);
        L->ao_b = vec(H, &rc);
        L->ln1_g = vec(H, &rc);
        L->ln1_b = vec(H, &rc);
        mat(&L->in, c->inter, H, &rc);
        L->in_b = vec(c->inter, &rc);
        mat(&L->out, H, c->inter, &rc);
        L->out_b = vec(H, &rc);
        L->ln2_g = vec(H, &rc);
        L->ln2_b = vec(H, &rc);
    }
    if (c->has_pooler) {
        mat(&m->pool, H, H, &rc);
        m->pool_b = vec(H, &rc);
    }
    if (c->has_classifier) {
        mat(&m->cls, c->num_labels, H, &rc);
        m->cls_b = vec(c->num_labels, &rc);
    }
    return rc;
}

void bert_model_release(aisle_bert *m) {
    if (!m) return;
    bert_vocab_free(&m->vocab);
    bert_mat_free(&m->word);
    core_free(m->pos);
    core_free(m->type);
    core_free(m->emb_g);
    core_free(m->emb_b);
    for (uint32_t l = 0; m->layer && l < m->cfg.layers; l++) {
        bert_layer *L = &m->layer[l];
        bert_mat_free(&L->qkv);
        bert_mat_free(&L->ao);
        bert_mat_free(&L->in);
        bert_mat_free(&L->out);
        core_free(L->qkv_b);
        core_free(L->ao_b);
        core_free(L->ln1_g);
        core_free(L->ln1_b);
        core_free(L->in_b);
        core_free(L->out_b);
        core_free(L->ln2_g);
        core_free(L->ln2_b);
    }
    core_free(m->layer);
    bert_mat_free(&m->pool);
    core_free(m->pool_b);
    bert_mat_free(&m->cls);
    core_free(m->cls_b);
    keys_clear(&m->label_names);
    memset(m, 0, sizeof *m);
}

size_t bert_model_bytes(const aisle_bert *m) {
    const bert_config *c = &m->cfg;
    size_t H = c->hidden, b = bert_mat_bytes(&m->word) + bert_mat_bytes(&m->pool) + bert_mat_bytes(&m->cls);
    b += 4 * ((size_t)c->max_pos * H + (size_t)c->type_vocab * H + 2 * H);
    for (uint32_t l = 0; l < c->layers; l++) {
        const bert_layer *L = &m->layer[l];
        b += bert_mat_bytes(&L->qkv) + bert_mat_bytes(&L->ao) + bert_mat_bytes(&L->in) + bert_mat_bytes(&L->out);
        b += 4 * (3 * H + H * 5 + c->inter + H);
    }
    if (c->has_pooler) b += 4 * H;
    if (c->has_classifier) b += 4 * (size_t)c->num_labels;
    b += (size_t)m->vocab.nslots * 4 + (size_t)m->vocab.n * 8;
    return b;
}
