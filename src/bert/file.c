/* file.c - a bert model in the aisle container (docs/FORMAT.md, kind
 * "bert"): section 256 the config, 257 the vocabulary, 258 the weights in
 * a fixed order.  The big matrices use the save option `quantize`
 * (fp32, fp16, int8 per row); vectors and the classifier stay fp32. */
#include "bert.h"
#include "data/data.h"

#include <string.h>

/* offsets from the first section type: kind "bert" starts at
 * IO_SECTION_KIND; an intent model of architecture bert embeds the same
 * three sections from TEXT_SECTION_BERT (src/bert/intent.c) */
enum { SEC_CONFIG = 0, SEC_VOCAB = 1, SEC_WEIGHTS = 2, SEC_LABELS = 3 };
enum { F_LOWER = 1, F_STRIP = 2, F_REGRESSION = 4, F_POOLER = 8, F_CLASSIFIER = 16 };
#define BERT_FILE_VERSION 1

static int put_mat(core_buf *b, const bert_mat *m, int quant) {
    if (m->enc == IO_QUANT_NONE) return io_put_tensor(b, m->f, m->rows, m->cols, quant);
    float *tmp = core_malloc(((size_t)m->rows * m->cols + 1) * sizeof *tmp);
    if (!tmp) return core_oom("bert save");
    for (uint32_t r = 0; r < m->rows; r++) bert_mat_row(m, r, tmp + (size_t)r * m->cols);
    int rc = io_put_tensor(b, tmp, m->rows, m->cols, quant);
    core_free(tmp);
    return rc;
}

static int put_vec(core_buf *b, const float *v, size_t n) { return io_put_tensor(b, v, 1, n, IO_QUANT_NONE); }

int bert_write_sections(const aisle_bert *m, io_writer *w, uint32_t base) {
    return bert_write_sections_enc(m, w, base, io_writer_quant(w));
}

int bert_write_sections_enc(const aisle_bert *m, io_writer *w, uint32_t base, int q) {
    const bert_config *c = &m->cfg;
    int rc = AISLE_OK;
    core_buf b;
    buf_init(&b);
    uint32_t flags = (c->lower ? F_LOWER : 0) | (c->strip_accents ? F_STRIP : 0) | (c->regression ? F_REGRESSION : 0) |
                     (c->has_pooler ? F_POOLER : 0) | (c->has_classifier ? F_CLASSIFIER : 0);
    uint32_t fields[] = {BERT_FILE_VERSION, c->vocab, c->hidden, c->layers, c->heads, c->inter,
                         c->max_pos, c->type_vocab, c->num_labels, flags};
    for (size_t i = 0; !rc && i < CORE_ARRAY_LEN(fields); i++) rc = io_put_u32(&b, fields[i]);
    if (!rc) rc = io_put_f32(&b, c->eps);
    if (!rc) rc = io_put_u8(&b, (uint8_t)q);
    if (!rc) rc = io_writer_add_section(w, base + SEC_CONFIG, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_u32(&b, m->vocab.n);
    for (uint32_t i = 0; !rc && i < m->vocab.n; i++) rc = io_put_str(&b, m->vocab.arena + m->vocab.off[i]);
    if (!rc) rc = io_writer_add_section(w, base + SEC_VOCAB, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    size_t H = c->hidden;
    if (!rc) rc = put_mat(&b, &m->word, q);
    if (!rc) rc = io_put_tensor(&b, m->pos, c->max_pos, H, IO_QUANT_NONE);
    if (!rc) rc = io_put_tensor(&b, m->type, c->type_vocab, H, IO_QUANT_NONE);
    if (!rc) rc = put_vec(&b, m->emb_g, H);
    if (!rc) rc = put_vec(&b, m->emb_b, H);
    for (uint32_t l = 0; !rc && l < c->layers; l++) {
        const bert_layer *L = &m->layer[l];
        rc = put_mat(&b, &L->qkv, q);
        if (!rc) rc = put_vec(&b, L->qkv_b, 3 * H);
        if (!rc) rc = put_mat(&b, &L->ao, q);
        if (!rc) rc = put_vec(&b, L->ao_b, H);
        if (!rc) rc = put_vec(&b, L->ln1_g, H);
        if (!rc) rc = put_vec(&b, L->ln1_b, H);
        if (!rc) rc = put_mat(&b, &L->in, q);
        if (!rc) rc = put_vec(&b, L->in_b, c->inter);
        if (!rc) rc = put_mat(&b, &L->out, q);
        if (!rc) rc = put_vec(&b, L->out_b, H);
        if (!rc) rc = put_vec(&b, L->ln2_g, H);
        if (!rc) rc = put_vec(&b, L->ln2_b, H);
    }
    if (!rc && c->has_pooler) {
        rc = put_mat(&b, &m->pool, q);
        if (!rc) rc = put_vec(&b, m->pool_b, H);
    }
    if (!rc && c->has_classifier) {
        rc = put_mat(&b, &m->cls, IO_QUANT_NONE);
        if (!rc) rc = put_vec(&b, m->cls_b, c->num_labels);
    }
    if (!rc) rc = io_writer_add_section(w, base + SEC_WEIGHTS, IO_FLAG_REQUIRED, &b);
    /* label names: optional, so readers from before they existed still
     * load the file (they only lose the names) */
    if (!rc && c->has_classifier && m->label_names.n) {
        b.len = 0;
        rc = io_put_u32(&b, (uint32_t)m->label_names.n);
        for (uint32_t i = 0; !rc && i < m->label_names.n; i++) rc = io_put_str(&b, keys_at(&m->label_names, i));
        if (!rc) rc = io_writer_add_section(w, base + SEC_LABELS, 0, &b);
    }
    buf_free(&b);
    return rc;
}

static int build(const aisle_bert *m, const aisle_config *cfg, io_writer **out) {
    io_writer *w = NULL;
    int rc = io_writer_new(&w, "bert", cfg);
    if (!rc) rc = bert_write_sections(m, w, IO_SECTION_KIND);
    if (rc) {
        io_writer_free(w);
        return rc;
    }
    *out = w;
    return AISLE_OK;
}

int bert_save(const aisle_bert *m, const char *path, const aisle_config *cfg) {
    io_writer *w;
    int rc = build(m, cfg, &w);
    if (rc) return rc;
    rc = io_writer_to_file(w, path, UINT64_MAX);
    io_writer_free(w);
    return rc;
}

int bert_save_buffer(const aisle_bert *m, const aisle_config *cfg, void **out, size_t *len) {
    io_writer *w;
    int rc = build(m, cfg, &w);
    if (rc) return rc;
    rc = io_writer_to_buffer(w, out, len);
    io_writer_free(w);
    return rc;
}

/* ---- loading ---- */

static int get_mat(io_cursor *cur, bert_mat *m, int enc) {
    float *v;
    uint64_t r, k;
    int rc = io_get_tensor(cur, &v, &r, &k, m->rows, m->cols);
    if (rc) return rc;
    core_free(m->f);
    m->f = v;
    return bert_mat_encode(m, enc);
}

static int get_vec(io_cursor *cur, float *dst, uint64_t rows, uint64_t cols) {
    float *v;
    uint64_t r, k;
    int rc = io_get_tensor(cur, &v, &r, &k, rows, cols);
    if (rc) return rc;
    memcpy(dst, v, (size_t)(rows * cols) * sizeof *v);
    core_free(v);
    return AISLE_OK;
}

static int read_config(io_reader *r, uint32_t base, bert_config *c, int *enc, const char *what) {
    io_cursor cur;
    int rc = io_reader_section(r, base + SEC_CONFIG, &cur);
    uint32_t f[10];
    for (size_t i = 0; !rc && i < CORE_ARRAY_LEN(f); i++) rc = io_get_u32(&cur, &f[i]);
    float eps = 0;
    uint8_t q = 0;
    if (!rc) rc = io_get_f32(&cur, &eps);
    if (!rc) rc = io_get_u8(&cur, &q);
    if (!rc) rc = io_cursor_done(&cur);
    if (rc) return rc;
    if (f[0] != BERT_FILE_VERSION)
        return core_error(AISLE_EVERSION, "%s: bert section version %u (this library reads %d)", what, f[0],
                          BERT_FILE_VERSION);
    memset(c, 0, sizeof *c);
    c->vocab = f[1], c->hidden = f[2], c->layers = f[3], c->heads = f[4], c->inter = f[5];
    c->max_pos = f[6], c->type_vocab = f[7], c->num_labels = f[8];
    c->lower = f[9] & F_LOWER, c->strip_accents = f[9] & F_STRIP, c->regression = f[9] & F_REGRESSION;
    c->has_pooler = f[9] & F_POOLER, c->has_classifier = f[9] & F_CLASSIFIER;
    c->eps = eps;
    /* the same limits as config.json; the weight section's size is then
     * checked against these shapes by io_get_tensor before allocating */
    if (c->vocab < 5 || c->vocab > 4000000 || !c->hidden || c->hidden > 8192 || !c->layers || c->layers > 128 ||
        !c->heads || c->heads > 256 || c->hidden % c->heads || !c->inter || c->inter > 65536 || c->max_pos < 2 ||
        c->max_pos > 16384 || !c->type_vocab || c->type_vocab > 64 || !c->num_labels || c->num_labels > 4096 ||
        !(eps > 0 && eps < 1) || q > IO_QUANT_INT8 || (f[9] & ~31u) || (c->has_classifier && !c->has_pooler))
        return core_error(AISLE_EFORMAT, "%s: bert config section holds values outside their limits", what);
    *enc = q;
    return AISLE_OK;
}

static int read_vocab(io_reader *r, uint32_t base, bert_vocab *v, uint32_t max_n, const char *what) {
    io_cursor cur;
    uint32_t n;
    int rc = io_reader_section(r, base + SEC_VOCAB, &cur);
    if (!rc) rc = io_get_u32(&cur, &n);
    if (rc) return rc;
    if (n > max_n || n > (cur.len - cur.pos) / 4)
        return core_error(AISLE_EFORMAT, "%s: vocabulary of %u tokens does not fit its section or vocab_size", what, n);
    /* rebuild vocab.txt's text and parse it: one code path for both */
    core_buf text;
    buf_init(&text);
    for (uint32_t i = 0; !rc && i < n; i++) {
        char *s;
        rc = io_get_str(&cur, &s);
        if (rc) break;
        if (strchr(s, '\n') || strlen(s) > BERT_MAX_TOKEN_BYTES)
            rc = core_error(AISLE_EFORMAT, "%s: vocabulary token %u is malformed", what, i);
        if (!rc) rc = buf_append(&text, s, strlen(s));
        if (!rc) rc = buf_append(&text, "\n", 1);
        core_free(s);
    }
    if (!rc) rc = io_cursor_done(&cur);
    if (!rc) rc = bert_vocab_parse(v, text.data ? text.data : "", text.len, what);
    if (!rc && v->n != n) rc = core_error(AISLE_EFORMAT, "%s: vocabulary token count mismatch", what);
    buf_free(&text);
    return rc;
}

/* The classifier's label names: exactly num_labels unique non-empty UTF-8
 * names, and only with a classifier. */
static int read_labels(io_reader *r, uint32_t base, aisle_bert *m, const char *what) {
    io_cursor cur;
    uint32_t n = 0;
    int rc = io_reader_section(r, base + SEC_LABELS, &cur);
    if (!rc) rc = io_get_u32(&cur, &n);
    if (!rc && (!m->cfg.has_classifier || n != m->cfg.num_labels))
        rc = core_error(AISLE_EFORMAT, "%s: %u label names for a model with %u classifier labels", what, n,
                        m->cfg.has_classifier ? m->cfg.num_labels : 0);
    for (uint32_t i = 0; !rc && i < n; i++) {
        char *s = NULL;
        bool added = false;
        uint32_t idx;
        rc = io_get_str(&cur, &s);
        size_t len = rc ? 0 : strlen(s);
        if (!rc && (!len || len > 256 || data_utf8_check(s, len) < len))
            rc = core_error(AISLE_EFORMAT, "%s: label name %u is empty, too long or not UTF-8", what, i);
        if (!rc) rc = keys_intern(&m->label_names, s, len, &idx, &added);
        if (!rc && !added) rc = core_error(AISLE_EFORMAT, "%s: label name '%s' appears twice", what, s);
        core_free(s);
    }
    if (!rc) rc = io_cursor_done(&cur);
    return rc;
}

int bert_read_sections(io_reader *r, uint32_t base, const char *what, aisle_bert **out) {
    aisle_bert *m = NULL;
    int enc = 0, rc = AISLE_OK;
    if (!(m = core_calloc(1, sizeof *m))) rc = core_oom("bert model");
    if (!rc) rc = read_config(r, base, &m->cfg, &enc, what);
    if (!rc) rc = read_vocab(r, base, &m->vocab, m->cfg.vocab, what);
    io_cursor cur;
    if (!rc) rc = io_reader_section(r, base + SEC_WEIGHTS, &cur);
    if (!rc) {
        /* every tensor's size is checked against the section before its
         * allocation, so a lying config cannot allocate more than the
         * file holds beyond the empty fp32 shells; check that bound too */
        const bert_config *c = &m->cfg;
        uint64_t H = c->hidden, need = (uint64_t)c->vocab * H + (uint64_t)c->max_pos * H +
                                       (uint64_t)c->layers * (4 * H * H + 2 * H * c->inter);
        uint64_t min_bytes = enc == IO_QUANT_INT8 ? need : enc == IO_QUANT_FP16 ? 2 * need : 4 * need;
        if (min_bytes > cur.len)
            rc = core_error(AISLE_EFORMAT, "%s: the weights section holds %zu bytes, fewer than the config's shapes "
                            "need (%llu)", what, cur.len, (unsigned long long)min_bytes);
    }
    if (!rc) rc = bert_model_alloc(m);
    if (!rc) {
        const bert_config *c = &m->cfg;
        size_t H = c->hidden;
        rc = get_mat(&cur, &m->word, enc);
        if (!rc) rc = get_vec(&cur, m->pos, c->max_pos, H);
        if (!rc) rc = get_vec(&cur, m->type, c->type_vocab, H);
        if (!rc) rc = get_vec(&cur, m->emb_g, 1, H);
        if (!rc) rc = get_vec(&cur, m->emb_b, 1, H);
        for (uint32_t l = 0; !rc && l < c->layers; l++) {
            bert_layer *L = &m->layer[l];
            rc = get_mat(&cur, &L->qkv, enc);
            if (!rc) rc = get_vec(&cur, L->qkv_b, 1, 3 * H);
            if (!rc) rc = get_mat(&cur, &L->ao, enc);
            if (!rc) rc = get_vec(&cur, L->ao_b, 1, H);
            if (!rc) rc = get_vec(&cur, L->ln1_g, 1, H);
            if (!rc) rc = get_vec(&cur, L->ln1_b, 1, H);
            if (!rc) rc = get_mat(&cur, &L->in, enc);
            if (!rc) rc = get_vec(&cur, L->in_b, 1, c->inter);
            if (!rc) rc = get_mat(&cur, &L->out, enc);
            if (!rc) rc = get_vec(&cur, L->out_b, 1, H);
            if (!rc) rc = get_vec(&cur, L->ln2_g, 1, H);
            if (!rc) rc = get_vec(&cur, L->ln2_b, 1, H);
        }
        if (!rc && c->has_pooler) {
            rc = get_mat(&cur, &m->pool, enc);
            if (!rc) rc = get_vec(&cur, m->pool_b, 1, H);
        }
        if (!rc && c->has_classifier) {
            rc = get_mat(&cur, &m->cls, IO_QUANT_NONE);
            if (!rc) rc = get_vec(&cur, m->cls_b, 1, c->num_labels);
        }
        if (!rc) rc = io_cursor_done(&cur);
    }
    if (!rc && io_reader_has_section(r, base + SEC_LABELS)) rc = read_labels(r, base, m, what);
    if (rc) {
        if (m) bert_model_release(m);
        core_free(m);
        return rc;
    }
    m->enc = enc;
    *out = m;
    return AISLE_OK;
}

int bert_load_buffer(aisle_bert **out, const void *data, size_t len, const aisle_config *cfg, const char *what) {
    io_reader *r = NULL;
    aisle_bert *m = NULL;
    int rc = io_reader_open(&r, data, len, (uint64_t)config_int(cfg, io_options, "max_model_bytes"));
    if (rc) return rc;
    if (strcmp(io_reader_kind(r), "bert"))
        rc = core_error(AISLE_EUNSUPPORTED, "%s: a model of kind '%s', not a bert model", what, io_reader_kind(r));
    if (!rc) rc = bert_read_sections(r, IO_SECTION_KIND, what, &m);
    if (!rc) rc = io_reader_check_required(r);
    io_reader_free(r);
    if (rc) {
        aisle_bert_free(m);
        return rc;
    }
    *out = m;
    return AISLE_OK;
}

int bert_load_file(const char *path, const aisle_config *cfg, const char *option, aisle_bert **out) {
    uint8_t *data;
    size_t len;
    int rc = io_read_file(path, (uint64_t)config_int(cfg, io_options, "max_model_bytes"), &data, &len);
    if (!rc) {
        rc = bert_load_buffer(out, data, len, cfg, path);
        core_free(data);
    }
    return rc ? core_error_prefix(rc, "option %s", option) : AISLE_OK;
}
