/* itemknn.c - item-item nearest neighbours from co-occurrence
 * (Sarwar, Karypis, Konstan & Riedl, WWW 2001; Deshpande & Karypis, TOIS
 * 2004: "customers who bought this also bought").
 *
 * The user-item matrix X is weighted per option `similarity`:
 *   cosine: x_ui = w_ui, sim(i,j) = x_i . x_j / (|x_i| |x_j|)
 *   tfidf:  x_ui = sqrt(w_ui) * idf_u, idf_u = ln(n_items) - ln(1 + n_u),
 *           sim(i,j) = x_i . x_j
 *   bm25:   x_ui = w_ui (K1 + 1) / (K1 ((1 - B) + B len_i / avg len) + w_ui) * idf_u,
 *           sim(i,j) = x_i . x_j
 * (the weightings of the `implicit` library, Frederickson 2017, treating an
 * item as a document and its users as terms).  Each item keeps its
 * `neighbours` most similar items.  A user's score for item j is
 * sum_{h in history} w_uh * sim(h, j) over h's kept neighbours; explain
 * returns those terms. */
#include "models.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const option_spec itemknn_options[] = {
    {"neighbours", AISLE_OPTION_INT, 1, 100000, "50", NULL, "itemknn", "Most similar items kept per item."},
    {"similarity", AISLE_OPTION_STRING, 0, 0, "cosine", "cosine|tfidf|bm25", "itemknn",
     "Weighting of the co-occurrence similarity."},
    {"bm25_k1", AISLE_OPTION_FLOAT, 0, 1e6, "100", NULL, "itemknn", "BM25 K1 (similarity=bm25)."},
    {"bm25_b", AISLE_OPTION_FLOAT, 0, 1, "0.8", NULL, "itemknn", "BM25 B (similarity=bm25)."},
    OPTION_END};

enum { SIM_COSINE, SIM_TFIDF, SIM_BM25 };

typedef struct knn_state {
    size_t *indptr;  /* n_items + 1 */
    uint32_t *nbr;   /* neighbours of each item, ascending index */
    float *sim;
} knn_state;

typedef struct knn_ctx {
    const data_csr *bu, *bi;
    int kind;
    double *idf;     /* per user */
    double *lnorm;   /* per item (bm25) */
    double *norm;    /* per item (cosine) */
    double k1;
    uint32_t keep;
    uint32_t *out_idx; /* n_items x keep */
    float *out_sim;
    uint32_t *out_n;
    float *acc;        /* per thread: n_items */
    uint32_t *touched; /* per thread: n_items */
    size_t ni;
} knn_ctx;

static double weight(const knn_ctx *c, uint32_t u, uint32_t i, double w) {
    switch (c->kind) {
    case SIM_TFIDF: return sqrt(w) * c->idf[u];
    case SIM_BM25: return w * (c->k1 + 1.0) / (c->k1 * c->lnorm[i] + w) * c->idf[u];
    default: return w;
    }
}

typedef struct pair {
    float s;
    uint32_t j;
} pair;

static int cmp_pair_sim(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static int cmp_pair_idx(const void *a, const void *b) {
    const pair *x = a, *y = b;
    return (x->j > y->j) - (x->j < y->j);
}

static int knn_range(void *vc, size_t begin, size_t end, int tid) {
    const knn_ctx *c = vc;
    float *acc = c->acc + (size_t)tid * c->ni;
    uint32_t *touched = c->touched + (size_t)tid * c->ni;
    pair *p = core_malloc(c->ni * sizeof *p);
    if (!p) return core_oom("itemknn similarities");
    for (size_t i = begin; i < end; i++) {
        size_t nt = 0;
        for (size_t a = c->bi->indptr[i]; a < c->bi->indptr[i + 1]; a++) {
            uint32_t u = c->bi->indices[a];
            double xi = weight(c, u, (uint32_t)i, c->bi->values[a]);
            for (size_t b = c->bu->indptr[u]; b < c->bu->indptr[u + 1]; b++) {
                uint32_t j = c->bu->indices[b];
                if (j == i) continue;
                if (acc[j] == 0.0f) touched[nt++] = j;
                acc[j] += (float)(xi * weight(c, u, j, c->bu->values[b]));
                if (acc[j] == 0.0f) acc[j] = 1e-30f; /* keep it marked as touched */
            }
        }
        size_t np = 0;
        for (size_t t = 0; t < nt; t++) {
            uint32_t j = touched[t];
            double s = acc[j];
            acc[j] = 0.0f;
            if (c->kind == SIM_COSINE) {
                double den = c->norm[i] * c->norm[j];
                s = den > 0 ? s / den : 0;
            }
            if (s > 1e-20) p[np++] = (pair){(float)s, j};
        }
        qsort(p, np, sizeof *p, cmp_pair_sim);
        if (np > c->keep) np = c->keep;
        qsort(p, np, sizeof *p, cmp_pair_idx);
        for (size_t t = 0; t < np; t++) {
            c->out_idx[i * c->keep + t] = p[t].j;
            c->out_sim[i * c->keep + t] = p[t].s;
        }
        c->out_n[i] = (uint32_t)np;
    }
    core_free(p);
    return AISLE_OK;
}

static void knn_free(aisle_model *m) {
    knn_state *s = m->state;
    if (!s) return;
    core_free(s->indptr);
    core_free(s->nbr);
    core_free(s->sim);
    core_free(s);
    m->state = NULL;
}

static int knn_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                     core_progress *prog) {
    (void)cat;
    (void)ds;
    /* the history's pairs under the weight rule, by user and by item */
    data_csr wu, wi;
    int rc = model_weighted_history(m, &wu, &wi);
    if (rc) return rc;
    const data_csr *bi = &wi;
    const char *sim = config_string(cfg, itemknn_options, "similarity");
    int threads = core_thread_count(config_int(cfg, itemknn_options, "threads"));
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    knn_ctx c = {.bu = &wu, .bi = bi, .ni = ni};
    c.kind = strcmp(sim, "tfidf") == 0 ? SIM_TFIDF : strcmp(sim, "bm25") == 0 ? SIM_BM25 : SIM_COSINE;
    c.k1 = config_float(cfg, itemknn_options, "bm25_k1");
    double bb = config_float(cfg, itemknn_options, "bm25_b");
    c.keep = (uint32_t)CORE_MIN((int64_t)ni, config_int(cfg, itemknn_options, "neighbours"));
    if (threads > 64) threads = 64;
    knn_state *s = core_calloc(1, sizeof *s);
    if (!s) {
        data_csr_free(&wu);
        data_csr_free(&wi);
        return core_oom("itemknn model");
    }
    m->state = s;
    c.idf = core_malloc((size_t)nu * sizeof *c.idf);
    c.lnorm = core_malloc((size_t)ni * sizeof *c.lnorm);
    c.norm = core_calloc(ni, sizeof *c.norm);
    c.out_idx = core_malloc((size_t)ni * (c.keep ? c.keep : 1) * sizeof *c.out_idx);
    c.out_sim = core_malloc((size_t)ni * (c.keep ? c.keep : 1) * sizeof *c.out_sim);
    c.out_n = core_calloc(ni, sizeof *c.out_n);
    c.acc = core_calloc((size_t)threads * ni, sizeof *c.acc);
    c.touched = core_malloc((size_t)threads * ni * sizeof *c.touched);
    s->indptr = core_calloc((size_t)ni + 1, sizeof *s->indptr);
    if (!c.idf || !c.lnorm || !c.norm || !c.out_idx || !c.out_sim || !c.out_n || !c.acc || !c.touched || !s->indptr) {
        rc = core_oom("itemknn training");
        goto out;
    }
    double total = 0;
    for (uint32_t i = 0; i < ni; i++) {
        double len = 0;
        for (size_t a = bi->indptr[i]; a < bi->indptr[i + 1]; a++) len += bi->values[a];
        c.lnorm[i] = len;
        total += len;
    }
    double avg = ni ? total / ni : 1;
    for (uint32_t i = 0; i < ni; i++) c.lnorm[i] = (1 - bb) + bb * (avg > 0 ? c.lnorm[i] / avg : 1);
    for (uint32_t u = 0; u < nu; u++)
        c.idf[u] = log((double)ni) - log1p((double)(m->history.indptr[u + 1] - m->history.indptr[u]));
    for (uint32_t i = 0; i < ni; i++) {
        double n2 = 0;
        for (size_t a = bi->indptr[i]; a < bi->indptr[i + 1]; a++) {
            double x = weight(&c, bi->indices[a], i, bi->values[a]);
            n2 += x * x;
        }
        c.norm[i] = sqrt(n2);
    }
    rc = core_parallel_for(threads, ni, 32, knn_range, &c);
    if (rc) goto out;
    for (uint32_t i = 0; i < ni; i++) s->indptr[i + 1] = s->indptr[i] + c.out_n[i];
    size_t nnz = s->indptr[ni];
    s->nbr = core_malloc((nnz ? nnz : 1) * sizeof *s->nbr);
    s->sim = core_malloc((nnz ? nnz : 1) * sizeof *s->sim);
    if (!s->nbr || !s->sim) {
        rc = core_oom("itemknn neighbours");
        goto out;
    }
    for (uint32_t i = 0; i < ni; i++) {
        memcpy(s->nbr + s->indptr[i], c.out_idx + (size_t)i * c.keep, c.out_n[i] * sizeof *s->nbr);
        memcpy(s->sim + s->indptr[i], c.out_sim + (size_t)i * c.keep, c.out_n[i] * sizeof *s->sim);
    }
    rc = core_progress_report(prog, 1, 1, NAN, NAN);
out:
    core_free(c.idf);
    core_free(c.lnorm);
    core_free(c.norm);
    core_free(c.out_idx);
    core_free(c.out_sim);
    core_free(c.out_n);
    core_free(c.acc);
    core_free(c.touched);
    data_csr_free(&wu);
    data_csr_free(&wi);
    return rc;
}

static int knn_score(const aisle_model *m, const model_query *q, float *scores) {
    const knn_state *s = m->state;
    memset(scores, 0, model_n_items(m) * sizeof *scores);
    for (size_t h = 0; h < q->n_items; h++) {
        uint32_t i = q->items[h];
        float w = model_weight_apply(&m->weight_rule, q->weights ? q->weights[h] : 1.0f);
        for (size_t k = s->indptr[i]; k < s->indptr[i + 1]; k++) scores[s->nbr[k]] += w * s->sim[k];
    }
    return AISLE_OK;
}

static float knn_sim(const knn_state *s, uint32_t i, uint32_t j) {
    size_t lo = s->indptr[i], hi = s->indptr[i + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->nbr[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->indptr[i + 1] && s->nbr[lo] == j ? s->sim[lo] : 0.0f;
}

static int knn_score_one(const aisle_model *m, const model_query *q, uint32_t item, float *score) {
    const knn_state *s = m->state;
    float t = 0;
    for (size_t h = 0; h < q->n_items; h++)
        t += model_weight_apply(&m->weight_rule, q->weights ? q->weights[h] : 1.0f) * knn_sim(s, q->items[h], item);
    *score = t;
    return AISLE_OK;
}

/* Only kept neighbours are similar; other items are no candidates (NaN). */
static int knn_similar(const aisle_model *m, uint32_t item, float *scores) {
    const knn_state *s = m->state;
    for (uint32_t j = 0; j < model_n_items(m); j++) scores[j] = NAN;
    for (size_t k = s->indptr[item]; k < s->indptr[item + 1]; k++) scores[s->nbr[k]] = s->sim[k];
    return AISLE_OK;
}

static int knn_explain(const aisle_model *m, const model_query *q, uint32_t item, float *contrib) {
    const knn_state *s = m->state;
    for (size_t h = 0; h < q->n_items; h++)
        contrib[h] = model_weight_apply(&m->weight_rule, q->weights ? q->weights[h] : 1.0f) * knn_sim(s, q->items[h], item);
    return AISLE_OK;
}

/* Scores read the history directly: nothing to re-fit. */
static int knn_update_user(aisle_model *m, uint32_t user) {
    (void)m, (void)user;
    return AISLE_OK;
}

/* A new item has no neighbours until retraining (no co-occurrence was
 * counted for it): it is recommended to nobody and explains nothing. */
static int knn_grow(aisle_model *m, uint32_t old_users, uint32_t old_items, const float *item_vector, size_t dim) {
    (void)old_users;
    knn_state *s = m->state;
    uint32_t ni = old_items, items = model_n_items(m);
    if (item_vector || dim)
        return core_error(AISLE_EINVAL, "itemknn items have no vector: pass NULL and 0 (got %zu values)", dim);
    if (items > ni) {
        size_t *p = core_reallocarray(s->indptr, (size_t)items + 1, sizeof *p);
        if (!p) return core_oom("adding an item to an itemknn model");
        s->indptr = p;
        for (uint32_t i = ni + 1; i <= items; i++) p[i] = p[ni];
    }
    return AISLE_OK;
}

static int knn_describe(const aisle_model *m, core_buf *out) {
    const knn_state *s = m->state;
    return buf_printf(out, "neighbour_pairs: %zu\n", s->indptr[model_n_items(m)]);
}

/* Sections: +0 u64 array indptr (items + 1), +1 u32 array neighbours,
 * +2 f32 array similarities (never quantized: they are few and ranked). */
static int knn_save(const aisle_model *m, io_writer *w) {
    const knn_state *s = m->state;
    uint32_t ni = model_n_items(m);
    size_t nnz = s->indptr[ni];
    uint64_t *off = core_malloc(((size_t)ni + 1) * sizeof *off);
    if (!off) return core_oom("saving itemknn");
    for (uint32_t i = 0; i <= ni; i++) off[i] = s->indptr[i];
    core_buf b;
    buf_init(&b);
    int rc = io_put_u64_array(&b, off, (uint64_t)ni + 1);
    core_free(off);
    if (!rc) rc = io_writer_add_section(w, IO_SECTION_KIND, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_u32_array(&b, s->nbr, nnz);
    if (!rc) rc = io_writer_add_section(w, IO_SECTION_KIND + 1, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_f32_array(&b, s->sim, nnz);
    if (!rc) rc = io_writer_add_section(w, IO_SECTION_KIND + 2, IO_FLAG_REQUIRED, &b);
    buf_free(&b);
    return rc;
}

static int knn_load(aisle_model *m, io_reader *r) {
    uint32_t ni = model_n_items(m);
    knn_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("itemknn model");
    m->state = s;
    model_weight_params_of(m);
    io_cursor c;
    uint64_t n = 0, nn = 0, ns = 0, *off = NULL;
    int rc = io_reader_section(r, IO_SECTION_KIND, &c);
    if (!rc) rc = io_get_u64_array(&c, &off, &n, (uint64_t)ni + 1);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && n != (uint64_t)ni + 1)
        rc = core_error(AISLE_EFORMAT, "%s: %llu row offsets for %u items", c.section, (unsigned long long)n, ni);
    for (uint32_t i = 0; !rc && i < ni; i++)
        if (off[i + 1] < off[i] || off[0] != 0 || off[i + 1] > SIZE_MAX / sizeof(float))
            rc = core_error(AISLE_EFORMAT, "%s: row offsets decrease or overflow at item %u", c.section, i);
    if (!rc && !(s->indptr = core_malloc(((size_t)ni + 1) * sizeof *s->indptr))) rc = core_oom("loading itemknn");
    for (uint32_t i = 0; !rc && i <= ni; i++) s->indptr[i] = (size_t)off[i];
    core_free(off);
    if (!rc) rc = io_reader_section(r, IO_SECTION_KIND + 1, &c);
    if (!rc) rc = io_get_u32_array(&c, &s->nbr, &nn, s->indptr[ni]);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) rc = io_reader_section(r, IO_SECTION_KIND + 2, &c);
    if (!rc) rc = io_get_f32_array(&c, &s->sim, &ns, s->indptr[ni]);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && (nn != s->indptr[ni] || ns != s->indptr[ni]))
        rc = core_error(AISLE_EFORMAT, "%s: %llu neighbours and %llu similarities, expected %zu", c.section,
                        (unsigned long long)nn, (unsigned long long)ns, s->indptr[ni]);
    for (size_t k = 0; !rc && k < nn; k++)
        if (s->nbr[k] >= ni) rc = core_error(AISLE_EFORMAT, "%s: neighbour %zu is item %u of %u", c.section, k, s->nbr[k], ni);
        else if (!isfinite(s->sim[k]))
            rc = core_error(AISLE_EFORMAT, "%s: similarity %zu is %g, not a finite number", c.section, k, s->sim[k]);
    return rc;
}

const model_ops model_itemknn_ops = {
    .name = "itemknn",
    .summary = "item-item nearest neighbours (cosine, TF-IDF or BM25 co-occurrence)",
    .options = itemknn_options,
    .flags = MODEL_FOLD_IN,
    .train = knn_train,
    .score_items = knn_score,
    .score_one = knn_score_one,
    .similar_items = knn_similar,
    .explain = knn_explain,
    .update_user = knn_update_user,
    .describe = knn_describe,
    .save = knn_save,
    .load = knn_load,
    .free_state = knn_free,
    .grow = knn_grow,
};
