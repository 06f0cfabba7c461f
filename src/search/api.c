/* api.c - the public search functions (include/aisle.h, section search):
 * index lifecycle, search, suggest and the results accessors. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

AISLE_API int aisle_search_index_new(aisle_search_index **out) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_search_index_new: NULL argument");
    return search_index_alloc(out);
}

AISLE_API void aisle_search_index_free(aisle_search_index *idx) { search_index_release(idx); }

/* Moves src's contents into dst (dst's freed); src becomes empty garbage. */
static void index_swap(aisle_search_index *a, aisle_search_index *b) {
    aisle_search_index t = *a;
    *a = *b;
    *b = t;
}

AISLE_API int aisle_search_index_build(aisle_search_index *idx, const aisle_catalog *cat, const aisle_config *cfg) {
    if (!idx || !cat) return core_error(AISLE_EINVAL, "aisle_search_index_build: NULL argument");
    if (idx->n_docs) return core_error(AISLE_ESTATE, "aisle_search_index_build: the index is not empty "
                                                     "(use aisle_search_index_add)");
    int rc = config_check(cfg, search_options, "search");
    if (rc) return rc;
    aisle_search_index *tmp;
    if ((rc = search_index_alloc(&tmp))) return rc;
    core_progress prog;
    core_progress_init(&prog, cfg);
    size_t n = data_catalog_size(cat);
    tmp->bulk = true;
    tmp->pair_min = (uint32_t)config_int(cfg, search_options, "search_pair_min_docs");
    for (size_t i = 0; i < n && !rc; i++) {
        rc = search_index_add(tmp, cat, i);
        if (!rc && (i + 1) % 65536 == 0) rc = core_progress_report(&prog, (int)((i + 1) / 65536), (int)(n / 65536 + 1), 0, 0);
    }
    tmp->bulk = false;
    tmp->pairs_by_adds = false;
    if (!rc) rc = search_pairs_select(tmp);
    if (!rc) rc = search_helpers_rebuild(tmp);
    /* an encoder attached to the empty index encodes the catalog in one batch */
    if (!rc && search_encoder_attached(idx)) {
        search_encoder_src src = search_encoder_of(idx);
        rc = search_encoder_fill(tmp, &src, idx->enc_pooling, cat, cfg);
    }
    /* trim postings blobs to their length (build only appends) */
    for (size_t t = 0; t < tmp->terms.n && !rc; t++) {
        search_postings *p = &tmp->post[t];
        if (p->cap > p->len + 16) {
            uint8_t *d = core_realloc(p->data, p->len);
            if (d) {
                p->data = d;
                p->cap = p->len;
            }
        }
    }
    if (!rc) { /* a ranker learned before the build stays */
        tmp->has_ranker = idx->has_ranker;
        memcpy(tmp->rank_w, idx->rank_w, sizeof tmp->rank_w);
        index_swap(idx, tmp);
    }
    search_index_release(tmp);
    return rc;
}

AISLE_API int aisle_search_index_add(aisle_search_index *idx, const aisle_catalog *cat, const char *key) {
    if (!idx || !cat || !key) return core_error(AISLE_EINVAL, "aisle_search_index_add: NULL argument");
    int64_t i = data_catalog_find(cat, key, strlen(key));
    if (i < 0) return core_error(AISLE_ENOTFOUND, "aisle_search_index_add: no product '%s' in the catalog", key);
    return search_index_add(idx, cat, (size_t)i);
}

AISLE_API int aisle_search_index_remove(aisle_search_index *idx, const char *key) {
    if (!idx || !key) return core_error(AISLE_EINVAL, "aisle_search_index_remove: NULL argument");
    return search_index_remove(idx, key);
}

AISLE_API int aisle_search_index_count(const aisle_search_index *idx, size_t *out) {
    if (!idx || !out) return core_error(AISLE_EINVAL, "aisle_search_index_count: NULL argument");
    *out = idx->n_alive;
    return AISLE_OK;
}

AISLE_API int aisle_search_index_set_popularity(aisle_search_index *idx, const aisle_model *model) {
    if (!idx || !model) return core_error(AISLE_EINVAL, "aisle_search_index_set_popularity: NULL argument");
    for (size_t d = 0; d < idx->n_docs; d++) {
        const char *key = keys_at(&idx->keys, idx->key_of_doc[d]);
        int64_t it = keys_find(&model->items, key, strlen(key));
        idx->popularity[d] = it >= 0 && model->popularity ? model->popularity[it] : 0.0f;
    }
    idx->has_popularity = true;
    return AISLE_OK;
}

/* Both back ends: NULL detaches (and drops the vectors); without a catalog
 * the stored vectors must be this encoder's; with one they are computed. */
static int set_encoder(aisle_search_index *idx, const search_encoder_src *src, const aisle_catalog *cat,
                       const aisle_config *cfg) {
    int rc = config_check(cfg, search_options, "search");
    if (rc) return rc;
    if (!src->bert && !src->text) {
        search_encoder_drop(idx);
        return AISLE_OK;
    }
    if (!cat) return search_encoder_attach(idx, src, cfg);
    int pooling;
    if ((rc = search_encoder_pooling(cfg, &pooling))) return rc;
    return search_encoder_fill(idx, src, pooling, cat, cfg);
}

AISLE_API int aisle_search_index_set_encoder(aisle_search_index *idx, const aisle_bert *encoder,
                                             const aisle_catalog *cat, const aisle_config *cfg) {
    if (!idx) return core_error(AISLE_EINVAL, "aisle_search_index_set_encoder: NULL argument");
    search_encoder_src src = {encoder, NULL};
    return set_encoder(idx, &src, cat, cfg);
}

AISLE_API int aisle_search_index_set_text_model(aisle_search_index *idx, const aisle_model *model,
                                                const aisle_catalog *cat, const aisle_config *cfg) {
    if (!idx) return core_error(AISLE_EINVAL, "aisle_search_index_set_text_model: NULL argument");
    if (model) {
        size_t dim;
        int rc = model_text_embed_dim(model, &dim);
        if (rc) return core_error_prefix(rc, "aisle_search_index_set_text_model");
    }
    search_encoder_src src = {NULL, model};
    return set_encoder(idx, &src, cat, cfg);
}

AISLE_API int aisle_search_index_encoder_info(const aisle_search_index *idx, size_t *dim, int *attached,
                                              uint64_t *fingerprint) {
    if (!idx) return core_error(AISLE_EINVAL, "aisle_search_index_encoder_info: NULL argument");
    if (dim) *dim = idx->enc_dim;
    if (attached) *attached = search_encoder_attached(idx);
    if (fingerprint) *fingerprint = idx->enc_fp;
    return AISLE_OK;
}

AISLE_API int aisle_search_index_save(const aisle_search_index *idx, const char *path, const aisle_config *cfg) {
    if (!idx || !path) return core_error(AISLE_EINVAL, "aisle_search_index_save: NULL argument");
    io_writer *w;
    int rc = search_index_write(idx, cfg, &w);
    if (rc) return rc;
    rc = io_writer_to_file(w, path, UINT64_MAX);
    io_writer_free(w);
    return rc;
}

static int load_image(const void *data, size_t len, const aisle_config *cfg, aisle_search_index **out) {
    io_reader *r;
    int rc = config_check(cfg, search_options, "search");
    if (!rc) rc = io_reader_open(&r, data, len, (uint64_t)config_int(cfg, search_options, "search_max_bytes"));
    if (rc) return rc;
    aisle_search_index *idx = NULL;
    if (strcmp(io_reader_kind(r), SEARCH_KIND) != 0)
        rc = core_error(AISLE_EFORMAT, "not a search index (a '%s' file)", io_reader_kind(r));
    if (!rc) rc = search_index_alloc(&idx);
    if (!rc) rc = search_index_read(idx, r);
    io_reader_free(r);
    if (rc) {
        search_index_release(idx);
        return rc;
    }
    *out = idx;
    return AISLE_OK;
}

AISLE_API int aisle_search_index_load_buffer(aisle_search_index **out, const void *data, size_t len,
                                             const aisle_config *cfg) {
    if (!out || (!data && len)) return core_error(AISLE_EINVAL, "aisle_search_index_load_buffer: NULL argument");
    int rc = load_image(data ? data : "", len, cfg, out);
    return rc ? core_error_prefix(rc, "search index buffer") : AISLE_OK;
}

AISLE_API int aisle_search_index_load(aisle_search_index **out, const char *path, const aisle_config *cfg) {
    if (!out || !path) return core_error(AISLE_EINVAL, "aisle_search_index_load: NULL argument");
    int rc = config_check(cfg, search_options, "search");
    if (rc) return rc;
    uint8_t *data;
    size_t len;
    rc = io_read_file(path, (uint64_t)config_int(cfg, search_options, "search_max_bytes"), &data, &len);
    if (rc) return rc;
    rc = load_image(data, len, cfg, out);
    core_free(data);
    return rc ? core_error_prefix(rc, "%s", path) : AISLE_OK;
}

AISLE_API int aisle_search(const aisle_search_index *idx, const char *query, size_t len, size_t k,
                           const char *const *filters, size_t n_filters, const aisle_model *model, const char *user,
                           const char *const *items, size_t n_items, const aisle_config *cfg,
                           aisle_search_results **out) {
    if (!idx || !query || !out || (n_filters && !filters) || (n_items && !items))
        return core_error(AISLE_EINVAL, "aisle_search: NULL argument");
    if ((user || n_items) && !model)
        return core_error(AISLE_EINVAL, "aisle_search: a user or session needs a model");
    if (user && n_items) return core_error(AISLE_EINVAL, "aisle_search: give a user or session items, not both");
    search_request rq = {query, feat_text_len(query, len), k, filters, n_filters, model, user, items, n_items, cfg, NULL};
    return search_run(idx, &rq, out);
}

/* ---- suggest ---- */

typedef struct sug_ctx {
    const aisle_search_index *idx;
    uint32_t head[SEARCH_MAX_TERMS];
    size_t n_head;
    size_t last_off, last_len;
    bool missing; /* a head word is not indexed */
} sug_ctx;

typedef struct sug_tok {
    core_buf *text;
    sug_ctx *s;
} sug_tok;

static int on_sug_token(void *vctx, const char *tok, size_t len, int kind) {
    (void)kind;
    sug_tok *t = vctx;
    sug_ctx *s = t->s;
    /* the previous "last" word becomes part of the head */
    if (t->text->len) {
        int64_t id = keys_find(&s->idx->terms, t->text->data + s->last_off, s->last_len);
        if (id < 0) s->missing = true;
        else if (s->n_head < SEARCH_MAX_TERMS) s->head[s->n_head++] = (uint32_t)id;
        int rc = buf_append(t->text, " ", 1);
        if (rc) return rc;
    }
    s->last_off = t->text->len;
    s->last_len = len;
    return buf_append(t->text, tok, len);
}

/* Sorted alive documents containing every head term (NULL, 0 for none). */
static int head_docs(const aisle_search_index *idx, const sug_ctx *s, uint32_t **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!s->n_head) return AISLE_OK;
    uint32_t *docs = NULL;
    size_t n = 0;
    for (size_t h = 0; h < s->n_head; h++) {
        const search_postings *p = &idx->post[s->head[h]];
        uint32_t *next = core_malloc((p->df ? p->df : 1) * sizeof *next);
        if (!next) {
            core_free(docs);
            return core_oom("suggest");
        }
        size_t m = 0, j = 0;
        uint32_t off = 0;
        search_entry e;
        e.doc = 0;
        while (off < p->len && !search_decode_entry(p->data, p->len, &off, e.doc, &e)) {
            if (!idx->alive[e.doc]) continue;
            if (h == 0) next[m++] = e.doc;
            else {
                while (j < n && docs[j] < e.doc) j++;
                if (j < n && docs[j] == e.doc) next[m++] = e.doc;
            }
        }
        core_free(docs);
        docs = next;
        n = m;
    }
    *out = docs;
    *n_out = n;
    return AISLE_OK;
}

typedef struct sug_cand {
    uint32_t term;
    double score;
} sug_cand;

static int sug_desc(const void *x, const void *y) {
    const sug_cand *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->term < b->term ? -1 : a->term > b->term;
}

AISLE_API int aisle_suggest(const aisle_search_index *idx, const char *prefix, size_t len, size_t k,
                            const aisle_config *cfg, aisle_search_results **out) {
    if (!idx || !prefix || !out) return core_error(AISLE_EINVAL, "aisle_suggest: NULL argument");
    int rc = config_check(cfg, search_options, "search");
    if (rc) return rc;
    len = feat_text_len(prefix, len);
    aisle_search_results *r = core_calloc(1, sizeof *r);
    if (!r) return core_oom("suggestions");
    buf_init(&r->arena);
    core_buf text;
    buf_init(&text);
    sug_ctx s;
    memset(&s, 0, sizeof s);
    s.idx = idx;
    sug_tok t = {&text, &s};
    feat_tok_cfg tc;
    feat_tok_default(&tc);
    rc = feat_tokenize(&tc, prefix, len, on_sug_token, &t);
    unsigned char lastc = len ? (unsigned char)prefix[len - 1] : ' ';
    bool open = lastc >= 0x80 || (lastc >= '0' && lastc <= '9') || ((lastc | 32) >= 'a' && (lastc | 32) <= 'z');
    uint32_t *docs = NULL;
    size_t nd = 0;
    sug_cand cand[SEARCH_MAX_EXPANSIONS + 1];
    size_t nc = 0;
    if (!rc && text.len && open && !s.missing) {
        const char *w = text.data + s.last_off;
        uint32_t ids[SEARCH_MAX_EXPANSIONS];
        size_t n = 0;
        rc = search_prefix_candidates(idx, w, s.last_len, ids, SEARCH_MAX_EXPANSIONS, &n);
        int64_t self = keys_find(&idx->terms, w, s.last_len);
        for (size_t i = 0; i < n; i++) cand[nc++] = (sug_cand){ids[i], 0};
        if (self >= 0 && idx->post[self].df) cand[nc++] = (sug_cand){(uint32_t)self, 0};
        if (!rc) rc = head_docs(idx, &s, &docs, &nd);
        /* a completion's popularity: products with it (and every head
         * word), weighted by their popularity when the index has one */
        for (size_t i = 0; i < nc && !rc; i++) {
            const search_postings *p = &idx->post[cand[i].term];
            uint32_t off = 0;
            size_t j = 0;
            search_entry e;
            e.doc = 0;
            double sc = 0;
            while (off < p->len && !search_decode_entry(p->data, p->len, &off, e.doc, &e)) {
                if (!idx->alive[e.doc]) continue;
                if (s.n_head) {
                    while (j < nd && docs[j] < e.doc) j++;
                    if (j == nd || docs[j] != e.doc) continue;
                }
                sc += idx->has_popularity ? 1e-3 + idx->popularity[e.doc] : 1.0;
            }
            cand[i].score = sc;
        }
        qsort(cand, nc, sizeof *cand, sug_desc);
    }
    core_free(docs);
    size_t n = 0;
    if (!rc && !(r->hits = core_calloc(CORE_MIN(k, nc) + 1, sizeof *r->hits))) rc = core_oom("suggestions");
    for (size_t i = 0; i < nc && n < k && !rc; i++) {
        if (!(cand[i].score > 0)) continue;
        const char *term = keys_at(&idx->terms, cand[i].term);
        search_hit *h = &r->hits[n];
        h->key = r->arena.len;
        rc = buf_append(&r->arena, text.data, s.last_off);
        if (!rc) rc = buf_append(&r->arena, term, strlen(term) + 1);
        h->matched = r->arena.len;
        if (!rc) rc = buf_append(&r->arena, term, strlen(term) + 1);
        h->explain = r->arena.len;
        if (!rc) rc = buf_printf(&r->arena, "completion of '%.*s' in %.0f%s products", (int)s.last_len,
                                 text.data + s.last_off, cand[i].score, idx->has_popularity ? " popularity-weighted" : "");
        if (!rc) rc = buf_append(&r->arena, "", 1);
        h->score = cand[i].score;
        n++;
    }
    r->n = n;
    r->total = nc;
    buf_free(&text);
    if (rc) {
        search_results_release(r);
        return rc;
    }
    *out = r;
    return AISLE_OK;
}

/* ---- results ---- */

AISLE_API void aisle_search_results_free(aisle_search_results *r) { search_results_release(r); }

AISLE_API int aisle_search_results_count(const aisle_search_results *r, size_t *n) {
    if (!r || !n) return core_error(AISLE_EINVAL, "aisle_search_results_count: NULL argument");
    *n = r->n;
    return AISLE_OK;
}

AISLE_API int aisle_search_results_total(const aisle_search_results *r, size_t *n) {
    if (!r || !n) return core_error(AISLE_EINVAL, "aisle_search_results_total: NULL argument");
    *n = r->total;
    return AISLE_OK;
}

static int hit_at(const aisle_search_results *r, size_t i, const char *fn) {
    if (!r) return core_error(AISLE_EINVAL, "%s: NULL argument", fn);
    if (i >= r->n) return core_error(AISLE_ERANGE, "%s: hit %zu of %zu", fn, i, r->n);
    return AISLE_OK;
}

AISLE_API int aisle_search_results_hit(const aisle_search_results *r, size_t i, const char **key, double *score) {
    int rc = hit_at(r, i, "aisle_search_results_hit");
    if (rc) return rc;
    if (key) *key = r->arena.data + r->hits[i].key;
    if (score) *score = r->hits[i].score;
    return AISLE_OK;
}

AISLE_API int aisle_search_results_matched(const aisle_search_results *r, size_t i, const char **terms) {
    int rc = hit_at(r, i, "aisle_search_results_matched");
    if (!rc && !terms) rc = core_error(AISLE_EINVAL, "aisle_search_results_matched: NULL argument");
    if (!rc) *terms = r->arena.data + r->hits[i].matched;
    return rc;
}

AISLE_API int aisle_search_results_explain(const aisle_search_results *r, size_t i, const char **text) {
    int rc = hit_at(r, i, "aisle_search_results_explain");
    if (!rc && !text) rc = core_error(AISLE_EINVAL, "aisle_search_results_explain: NULL argument");
    /* formatted on demand: searches that never ask pay nothing */
    if (!rc) rc = search_explain((aisle_search_results *)r, i, text);
    return rc;
}

AISLE_API int aisle_search_results_facet_count(const aisle_search_results *r, size_t *n) {
    if (!r || !n) return core_error(AISLE_EINVAL, "aisle_search_results_facet_count: NULL argument");
    *n = r->n_facets;
    return AISLE_OK;
}

AISLE_API int aisle_search_results_facet(const aisle_search_results *r, size_t field, const char **name,
                                         size_t *n_values) {
    if (!r) return core_error(AISLE_EINVAL, "aisle_search_results_facet: NULL argument");
    if (field >= r->n_facets)
        return core_error(AISLE_ERANGE, "aisle_search_results_facet: facet %zu of %zu", field, r->n_facets);
    if (name) *name = r->arena.data + r->facets[field].name;
    if (n_values) *n_values = r->facets[field].n;
    return AISLE_OK;
}

AISLE_API int aisle_search_results_facet_value(const aisle_search_results *r, size_t field, size_t i,
                                               const char **value, size_t *count) {
    if (!r) return core_error(AISLE_EINVAL, "aisle_search_results_facet_value: NULL argument");
    if (field >= r->n_facets || i >= r->facets[field].n)
        return core_error(AISLE_ERANGE, "aisle_search_results_facet_value: facet %zu value %zu out of range", field, i);
    if (value) *value = r->arena.data + r->facets[field].value[i];
    if (count) *count = r->facets[field].count[i];
    return AISLE_OK;
}

/* ---- learning to rank (include/aisle.h, section search_learn) ---- */

AISLE_API int aisle_search_log_load(aisle_search_log **out, const char *path, const aisle_config *cfg) {
    if (!out || !path) return core_error(AISLE_EINVAL, "aisle_search_log_load: NULL argument");
    int rc = config_check(cfg, data_options, "search log");
    return rc ? rc : search_log_read(out, path, NULL, 0, path, cfg);
}

AISLE_API int aisle_search_log_load_buffer(aisle_search_log **out, const void *data, size_t len, const char *name,
                                           const aisle_config *cfg) {
    if (!out || (!data && len)) return core_error(AISLE_EINVAL, "aisle_search_log_load_buffer: NULL argument");
    int rc = config_check(cfg, data_options, "search log");
    return rc ? rc : search_log_read(out, NULL, data ? data : "", len, name ? name : "buffer", cfg);
}

AISLE_API int aisle_search_log_count(const aisle_search_log *log, size_t *searches, size_t *events) {
    if (!log) return core_error(AISLE_EINVAL, "aisle_search_log_count: NULL argument");
    if (searches) *searches = log->n_groups;
    if (events) *events = log->n_ev;
    return AISLE_OK;
}

AISLE_API void aisle_search_log_free(aisle_search_log *log) { search_log_release(log); }

AISLE_API int aisle_search_index_learn(aisle_search_index *idx, const aisle_search_log *log,
                                       const aisle_model *model, const aisle_config *cfg, size_t *pairs) {
    if (!idx || !log) return core_error(AISLE_EINVAL, "aisle_search_index_learn: NULL argument");
    int rc = config_check(cfg, search_options, "search");
    return rc ? rc : search_ltr_learn(idx, log, model, cfg, pairs);
}

AISLE_API int aisle_search_index_ranker(const aisle_search_index *idx, size_t i, const char **name, double *weight) {
    if (!idx || !name || !weight) return core_error(AISLE_EINVAL, "aisle_search_index_ranker: NULL argument");
    if (!idx->has_ranker) return core_error(AISLE_ENOTFOUND, "aisle_search_index_ranker: no learned weights");
    if (i >= SEARCH_LTR_F)
        return core_error(AISLE_ERANGE, "aisle_search_index_ranker: feature %zu of %d", i, (int)SEARCH_LTR_F);
    *name = search_ltr_names[i];
    *weight = idx->rank_w[i];
    return AISLE_OK;
}
