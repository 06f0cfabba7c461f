/* encoder.c - semantic retrieval from a text encoder (an imported BERT
 * model, src/bert, or an intent model of architecture transformer or bag,
 * whose pooled vector src/text gives): every indexed product gets the
 * encoder's vector of its
 * text once (at build, set_encoder or add), the query is encoded at search
 * time, and an exact cosine scan over the products finds the candidates
 * that rank.c fuses with the lexical ones (as behaviour-space retrieval).
 *
 * Vectors are stored unit-length, one row per document slot (removed
 * documents keep theirs until the index is saved, which compacts), so the
 * scan is a dot product per live document.  The index records which
 * encoder made them: a 64-bit fingerprint of the model (configuration,
 * vocabulary and every weight, as stored: an int8 copy of a model is a
 * different encoder) and the pooling, saved with the vectors, so a saved
 * index refuses to be searched with another encoder. */
#include "search.h"
#include "text/text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- fingerprint ---- */

/* core_hash_words: fast enough to run over a 440 MB BERT-base in a
 * fraction of a second. */
typedef struct fp_state {
    uint64_t h;
} fp_state;

static void fp_mix(fp_state *s, const void *data, size_t len) { s->h = core_hash_words(s->h, data, len); }

static void fp_floats(fp_state *s, const float *v, size_t n) {
    if (v) fp_mix(s, v, n * sizeof *v);
}

static void fp_mat(fp_state *s, const bert_mat *m) {
    uint32_t head[3] = {m->rows, m->cols, (uint32_t)m->enc};
    fp_mix(s, head, sizeof head);
    size_t n = (size_t)m->rows * m->cols;
    if (m->f) fp_mix(s, m->f, n * sizeof *m->f);
    if (m->h) fp_mix(s, m->h, n * sizeof *m->h);
    if (m->q) fp_mix(s, m->q, n);
    if (m->scale) fp_mix(s, m->scale, m->rows * sizeof *m->scale);
}

uint64_t search_encoder_fingerprint(const aisle_bert *m, int pooling) {
    fp_state s = {0xcbf29ce484222325ULL};
    const bert_config *c = &m->cfg;
    uint32_t head[10] = {c->vocab, c->hidden, c->layers, c->heads, c->inter, c->max_pos, c->type_vocab,
                         (uint32_t)c->lower | (uint32_t)c->strip_accents << 1, (uint32_t)pooling, 0};
    memcpy(&head[9], &c->eps, sizeof c->eps);
    fp_mix(&s, head, sizeof head);
    for (uint32_t i = 0; i < m->vocab.n; i++) fp_mix(&s, m->vocab.arena + m->vocab.off[i], m->vocab.len[i]);
    size_t H = c->hidden;
    fp_mat(&s, &m->word);
    fp_floats(&s, m->pos, (size_t)c->max_pos * H);
    fp_floats(&s, m->type, (size_t)c->type_vocab * H);
    fp_floats(&s, m->emb_g, H);
    fp_floats(&s, m->emb_b, H);
    for (uint32_t l = 0; l < c->layers; l++) {
        const bert_layer *y = &m->layer[l];
        fp_mat(&s, &y->qkv);
        fp_floats(&s, y->qkv_b, 3 * H);
        fp_mat(&s, &y->ao);
        fp_floats(&s, y->ao_b, H);
        fp_floats(&s, y->ln1_g, H);
        fp_floats(&s, y->ln1_b, H);
        fp_mat(&s, &y->in);
        fp_floats(&s, y->in_b, c->inter);
        fp_mat(&s, &y->out);
        fp_floats(&s, y->out_b, H);
        fp_floats(&s, y->ln2_g, H);
        fp_floats(&s, y->ln2_b, H);
    }
    if (pooling == AISLE_BERT_POOL_POOLER) {
        fp_mat(&s, &m->pool);
        fp_floats(&s, m->pool_b, H);
    }
    return s.h;
}

/* ---- product texts ---- */

/* The text a product is encoded from: title, description (when it differs),
 * brand and category path, joined by ". " (the encoder truncates at its
 * max_length, so the title comes first). */
static int product_text(const aisle_catalog *cat, size_t i, core_buf *b, uint64_t *off) {
    static const int order[4] = {DATA_FIELD_TITLE, DATA_FIELD_DESCRIPTION, DATA_FIELD_BRAND, DATA_FIELD_CATEGORY};
    *off = b->len;
    const char *title = data_catalog_field(cat, i, DATA_FIELD_TITLE);
    bool any = false;
    int rc = AISLE_OK;
    for (int f = 0; f < 4 && !rc; f++) {
        const char *s = data_catalog_field(cat, i, order[f]);
        if (!s[0] || (f == 1 && !strcmp(s, title))) continue;
        if (any) rc = buf_append(b, ". ", 2);
        if (!rc) rc = buf_append(b, s, strlen(s));
        any = true;
    }
    return rc ? rc : buf_append(b, "", 1);
}

static void unit_rows(float *v, size_t n, uint32_t dim) {
    for (size_t i = 0; i < n; i++) {
        float *x = v + i * dim;
        float nr = sqrtf(model_dot(x, x, dim));
        if (nr > 0 && isfinite(nr)) {
            for (uint32_t d = 0; d < dim; d++) x[d] /= nr;
        } else {
            memset(x, 0, dim * sizeof *x); /* an empty or degenerate text matches nothing */
        }
    }
}

/* ---- the two back ends ---- */

bool search_encoder_attached(const aisle_search_index *idx) { return idx->encoder || idx->text_encoder; }

search_encoder_src search_encoder_of(const aisle_search_index *idx) {
    search_encoder_src s = {idx->encoder, idx->text_encoder};
    return s;
}

static int encoder_dim(const search_encoder_src *src, uint32_t *dim) {
    if (src->bert) {
        *dim = src->bert->cfg.hidden;
        return AISLE_OK;
    }
    size_t d = 0;
    int rc = model_text_embed_dim(src->text, &d);
    if (!rc && (d == 0 || d > 65536)) rc = core_error(AISLE_EUNSUPPORTED, "search encoder: vectors of width %zu", d);
    if (!rc) *dim = (uint32_t)d;
    return rc;
}

/* The fingerprint of vectors with that pooling (for an intent model, it
 * names the algorithm: the first one only for vectors saved with it). */
static int encoder_fingerprint(const search_encoder_src *src, int pooling, uint64_t *fp) {
    if (src->bert) {
        *fp = search_encoder_fingerprint(src->bert, pooling);
        return AISLE_OK;
    }
    return model_text_fingerprint(src->text, pooling == SEARCH_ENC_POOL_TEXT_FNV ? TEXT_FP_BYTES : TEXT_FP_WORDS,
                                  fp);
}

typedef struct text_embed_ctx {
    const aisle_model *m;
    const char *arena;
    const uint64_t *off;
    float *out;
    uint32_t dim;
} text_embed_ctx;

static int text_embed_range(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    const text_embed_ctx *c = vc;
    text_doc d;
    text_doc_init(&d);
    int rc = AISLE_OK;
    for (size_t i = begin; i < end && !rc; i++) {
        const char *t = c->arena + c->off[i];
        rc = model_text_embed(c->m, t, strlen(t), &d, c->out + i * c->dim);
    }
    text_doc_free(&d);
    return rc;
}

/* Encodes n texts (NUL-terminated, at arena offsets) into out[n x dim]
 * unit rows, over the threads cfg says. */
static int encode_texts(const search_encoder_src *src, int pooling, const core_buf *arena, const uint64_t *off,
                        size_t n, const aisle_config *cfg, uint32_t dim, float *out) {
    int rc;
    if (src->bert) {
        const char **texts = core_malloc((n ? n : 1) * sizeof *texts);
        if (!texts) return core_oom("encoder texts");
        for (size_t i = 0; i < n; i++) texts[i] = arena->data + off[i];
        rc = bert_embed_texts(src->bert, texts, n, pooling, cfg, out);
        core_free(texts);
    } else {
        text_embed_ctx c = {src->text, arena->data, off, out, dim};
        rc = core_parallel_for(core_thread_count(config_int(cfg, NULL, "threads")), n, 16, text_embed_range, &c);
    }
    if (!rc) unit_rows(out, n, dim);
    return rc;
}

/* The options product and query texts are encoded with later (add, search):
 * one thread (one text at a time) and, for a BERT, the caller's
 * max_length (an intent model reads as many tokens as it was trained to). */
static int encoder_cfg(const search_encoder_src *src, const aisle_config *cfg, aisle_config **out) {
    size_t ml = 0;
    int rc = src->bert ? bert_max_length(src->bert, cfg, &ml) : AISLE_OK;
    if (!rc) rc = aisle_config_new(out);
    if (rc) return rc;
    char v[32];
    snprintf(v, sizeof v, "%zu", ml);
    if (src->bert) rc = config_set_text(*out, option_find_in(bert_options, "max_length"), v);
    if (!rc) rc = config_set_text(*out, option_find_in(core_options, "threads"), "1");
    if (rc) {
        aisle_config_free(*out);
        *out = NULL;
    }
    return rc;
}

int search_encoder_pooling(const aisle_config *cfg, int *out) {
    const char *p = config_string(cfg, search_options, "search_encoder_pooling");
    *out = !strcmp(p, "cls") ? AISLE_BERT_POOL_CLS : !strcmp(p, "pooler") ? AISLE_BERT_POOL_POOLER
                                                                         : AISLE_BERT_POOL_MEAN;
    return AISLE_OK;
}

void search_encoder_drop(aisle_search_index *idx) {
    core_free(idx->enc_vec);
    aisle_config_free(idx->enc_cfg);
    idx->enc_vec = NULL;
    idx->enc_cfg = NULL;
    idx->enc_dim = 0;
    idx->enc_fp = 0;
    idx->enc_pooling = 0;
    idx->encoder = NULL;
    idx->text_encoder = NULL;
}

int search_encoder_fill(aisle_search_index *idx, const search_encoder_src *src, int pooling,
                        const aisle_catalog *cat, const aisle_config *cfg) {
    uint32_t dim = 0;
    if (!src->bert) pooling = SEARCH_ENC_POOL_TEXT_MODEL;
    if (src->bert && pooling == AISLE_BERT_POOL_POOLER && !src->bert->cfg.has_pooler)
        return core_error(AISLE_EUNSUPPORTED, "option search_encoder_pooling=pooler: the bert model has no pooler "
                                              "(use mean or cls)");
    uint64_t fp = 0;
    int rc = encoder_dim(src, &dim);
    if (!rc) rc = encoder_fingerprint(src, pooling, &fp);
    if (rc) return rc;
    size_t cap = idx->docs_cap ? idx->docs_cap : 1, n = 0;
    float *vec = core_calloc(cap * dim, sizeof *vec), *rows = NULL;
    uint64_t *off = core_malloc(cap * sizeof *off);
    uint32_t *doc = core_malloc(cap * sizeof *doc);
    aisle_config *qcfg = NULL;
    core_buf arena;
    buf_init(&arena);
    rc = vec && off && doc ? encoder_cfg(src, cfg, &qcfg) : core_oom("encoder vectors");
    for (size_t d = 0; d < idx->n_docs && !rc; d++) {
        if (!idx->alive[d]) continue;
        const char *key = keys_at(&idx->keys, idx->key_of_doc[d]);
        int64_t i = data_catalog_find(cat, key, strlen(key));
        if (i < 0) {
            rc = core_error(AISLE_ENOTFOUND, "search encoder: indexed product '%s' is not in the catalog", key);
            break;
        }
        rc = product_text(cat, (size_t)i, &arena, &off[n]);
        doc[n++] = (uint32_t)d;
    }
    if (!rc && !(rows = core_malloc((n ? n : 1) * dim * sizeof *rows))) rc = core_oom("encoder vectors");
    if (!rc) rc = encode_texts(src, pooling, &arena, off, n, cfg, dim, rows);
    for (size_t j = 0; j < n && !rc; j++) memcpy(vec + (size_t)doc[j] * dim, rows + j * dim, dim * sizeof *vec);
    buf_free(&arena);
    core_free(rows);
    core_free(off);
    core_free(doc);
    if (rc) {
        core_free(vec);
        aisle_config_free(qcfg);
        return rc;
    }
    search_encoder_drop(idx);
    idx->enc_vec = vec;
    idx->enc_cfg = qcfg;
    idx->enc_dim = dim;
    idx->enc_pooling = (uint8_t)pooling;
    idx->enc_fp = fp;
    idx->encoder = src->bert;
    idx->text_encoder = src->text;
    return AISLE_OK;
}

int search_encoder_attach(aisle_search_index *idx, const search_encoder_src *src, const aisle_config *cfg) {
    if (!idx->enc_dim)
        return core_error(AISLE_ESTATE, "search encoder: the index has no encoder vectors (pass the catalog to "
                                        "compute them)");
    bool text_vectors = idx->enc_pooling >= SEARCH_ENC_POOL_TEXT_FNV;
    if (text_vectors != !src->bert)
        return core_error(AISLE_EINVAL, "search encoder: the index's vectors were made by %s, not %s: pass the "
                                        "catalog to recompute them",
                          text_vectors ? "an intent model" : "a bert model", src->bert ? "a bert model" : "an intent model");
    uint32_t dim = 0;
    uint64_t fp = 0;
    int rc = encoder_dim(src, &dim);
    if (!rc) rc = encoder_fingerprint(src, idx->enc_pooling, &fp);
    if (rc) return rc;
    if (fp != idx->enc_fp || dim != idx->enc_dim)
        return core_error(AISLE_EINVAL, "search encoder: the index's vectors were made by another encoder "
                                        "(fingerprint %016llx, this one %016llx with the same pooling): pass "
                                        "the catalog to recompute them",
                          (unsigned long long)idx->enc_fp, (unsigned long long)fp);
    aisle_config *qcfg;
    rc = encoder_cfg(src, cfg, &qcfg);
    if (rc) return rc;
    aisle_config_free(idx->enc_cfg);
    idx->enc_cfg = qcfg;
    idx->encoder = src->bert;
    idx->text_encoder = src->text;
    return AISLE_OK;
}

int search_encoder_product(const aisle_search_index *idx, const aisle_catalog *cat, size_t i, float *out) {
    if (!search_encoder_attached(idx))
        return core_error(AISLE_ESTATE, "search index: it holds encoder vectors but no encoder is attached "
                                        "(aisle_search_index_set_encoder or _set_text_model) to encode a new "
                                        "product");
    core_buf arena;
    buf_init(&arena);
    uint64_t off;
    search_encoder_src src = search_encoder_of(idx);
    int rc = product_text(cat, i, &arena, &off);
    if (!rc) rc = encode_texts(&src, idx->enc_pooling, &arena, &off, 1, idx->enc_cfg, idx->enc_dim, out);
    buf_free(&arena);
    return rc;
}

/* ---- query: encode and scan ---- */

int search_encoder_scan(const aisle_search_index *idx, const char *text, size_t len, const search_filter *f,
                        search_hitlist *out) {
    uint32_t dim = idx->enc_dim;
    core_buf arena;
    buf_init(&arena);
    uint64_t off = 0;
    float *q = core_malloc(dim * sizeof *q);
    int rc = q ? buf_append(&arena, text, len) : core_oom("query vector");
    if (!rc) rc = buf_append(&arena, "", 1);
    search_encoder_src src = search_encoder_of(idx);
    if (!rc) rc = encode_texts(&src, idx->enc_pooling, &arena, &off, 1, idx->enc_cfg, dim, q);
    buf_free(&arena);
    bool zero = true;
    for (uint32_t d = 0; d < dim && !rc && zero; d++) zero = q[d] == 0;
    if (!rc && !zero && !f->none) {
        for (size_t d = 0; d < idx->n_docs && !rc; d++) {
            if (!idx->alive[d]) continue;
            float s = model_dot(q, idx->enc_vec + d * dim, dim);
            if (!(s > 0) || !search_filter_pass(idx, f, (uint32_t)d)) continue;
            search_hitlist_push(out, (search_hit_sd){s, (uint32_t)d});
        }
    }
    core_free(q);
    return rc;
}

/* ---- file section ---- */

int search_encoder_write(const aisle_search_index *idx, const uint32_t *newdoc, uint64_t live, io_writer *w) {
    if (!idx->enc_dim) return AISLE_OK;
    uint32_t dim = idx->enc_dim;
    core_buf b;
    buf_init(&b);
    float *rows = core_malloc((live ? live : 1) * dim * sizeof *rows);
    int rc = rows ? AISLE_OK : core_oom("search index save");
    for (size_t d = 0; d < idx->n_docs && !rc; d++)
        if (newdoc[d] != SEARCH_NONE)
            memcpy(rows + (size_t)newdoc[d] * dim, idx->enc_vec + d * dim, dim * sizeof *rows);
    if (!rc) rc = io_put_u32(&b, dim);
    if (!rc) rc = io_put_u8(&b, idx->enc_pooling);
    if (!rc) rc = io_put_u64(&b, idx->enc_fp);
    if (!rc) rc = io_put_tensor(&b, rows, live, dim, io_writer_quant(w));
    /* optional: a library without encoders still reads the rest */
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_VECTORS, 0, &b);
    core_free(rows);
    buf_free(&b);
    return rc;
}

int search_encoder_read(aisle_search_index *idx, io_reader *r) {
    if (!io_reader_has_section(r, SEARCH_SECTION_VECTORS)) return AISLE_OK;
    io_cursor c;
    uint32_t dim = 0;
    uint8_t pooling = 0;
    uint64_t fp = 0, rows = 0, cols = 0;
    float *v = NULL;
    int rc = io_reader_section(r, SEARCH_SECTION_VECTORS, &c);
    if (!rc) rc = io_get_u32(&c, &dim);
    if (!rc) rc = io_get_u8(&c, &pooling);
    if (!rc) rc = io_get_u64(&c, &fp);
    if (!rc && (dim == 0 || dim > 65536)) rc = core_error(AISLE_EFORMAT, "search index vectors: dimension %u", dim);
    if (!rc && pooling > SEARCH_ENC_POOL_TEXT_MODEL)
        rc = core_error(AISLE_EFORMAT, "search index vectors: pooling %u", pooling);
    if (!rc && (uint64_t)dim * idx->n_docs > (c.len - c.pos))
        rc = core_error(AISLE_EFORMAT, "search index vectors: fewer bytes than %zu products need", idx->n_docs);
    if (!rc) rc = io_get_tensor(&c, &v, &rows, &cols, 0, 0);
    if (!rc && (rows != idx->n_docs || cols != dim))
        rc = core_error(AISLE_EFORMAT, "search index vectors: %llu x %llu, expected %zu x %u", (unsigned long long)rows,
                        (unsigned long long)cols, idx->n_docs, dim);
    for (size_t i = 0; !rc && i < rows * cols; i++)
        if (!isfinite(v[i]) || fabsf(v[i]) > 1.001f) rc = core_error(AISLE_EFORMAT, "search index vectors: value %zu", i);
    if (!rc) rc = io_cursor_done(&c);
    /* rows sized to the documents' capacity, so adds grow both together */
    if (!rc && idx->docs_cap > rows) {
        float *g = core_reallocarray(v, idx->docs_cap * dim, sizeof *v);
        if (!g) rc = core_oom("search index vectors");
        else v = g;
    }
    if (rc) {
        core_free(v);
        return rc;
    }
    idx->enc_vec = v;
    idx->enc_dim = dim;
    idx->enc_pooling = pooling;
    idx->enc_fp = fp;
    return AISLE_OK;
}
