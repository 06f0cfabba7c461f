/* tfidf.c - TF-IDF and BM25 vectorizer over a fitted vocabulary.
 *
 * tfidf: w(t, d) = tf(t, d) * idf(t), idf(t) = ln((1 + N) / (1 + df(t))) + 1
 *        (the "smooth idf" of scikit-learn's TfidfTransformer).
 * bm25:  w(t, d) = idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)),
 *        idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))  (Robertson & Zaragoza
 *        2009, "The Probabilistic Relevance Framework: BM25 and Beyond"; the
 *        non-negative idf variant used by Lucene).
 * dl is the number of features of the document (in or out of the
 * vocabulary), avgdl its mean over the fitted corpus. */
#include "features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct aisle_tfidf {
    feat_tok_cfg tc;
    core_keys stop;
    feat_gram_cfg gc;
    int64_t min_df, max_features;
    bool bm25, normalize;
    double k1, b;
    /* fitted */
    bool fitted;
    core_keys vocab; /* term -> index, indices in byte order of terms */
    double *idf;
    size_t ndocs;
    double avgdl;
};

AISLE_API int aisle_tfidf_new(aisle_tfidf **out, const aisle_config *cfg) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_tfidf_new: out is NULL");
    aisle_tfidf *t = core_calloc(1, sizeof *t);
    if (!t) return core_oom("tfidf");
    keys_init(&t->stop);
    keys_init(&t->vocab);
    int rc = feat_tok_configure(&t->tc, &t->stop, cfg);
    if (!rc) rc = feat_gram_configure(&t->gc, cfg);
    if (rc) {
        aisle_tfidf_free(t);
        return rc;
    }
    t->min_df = config_int(cfg, features_options, "min_df");
    t->max_features = config_int(cfg, features_options, "max_features");
    t->bm25 = strcmp(config_string(cfg, features_options, "tfidf_weighting"), "bm25") == 0;
    t->k1 = config_float(cfg, features_options, "tfidf_bm25_k1");
    t->b = config_float(cfg, features_options, "tfidf_bm25_b");
    t->normalize = config_bool(cfg, features_options, "l2_normalize");
    *out = t;
    return AISLE_OK;
}

AISLE_API void aisle_tfidf_free(aisle_tfidf *t) {
    if (!t) return;
    keys_clear(&t->stop);
    keys_clear(&t->vocab);
    core_free(t->idf);
    core_free(t);
}

/* ---- fitting ---- */

typedef struct fit_ctx {
    core_keys terms;
    uint32_t *df, *cf, *last; /* per term: document frequency, corpus count, last document + 1 */
    size_t cap;
    uint32_t doc; /* current document + 1 */
    uint64_t total; /* features in the corpus */
} fit_ctx;

static int fit_term(void *ctx, const char *f, size_t len, int kind) {
    (void)kind;
    fit_ctx *c = ctx;
    uint32_t id;
    bool added;
    int rc = keys_intern(&c->terms, f, len, &id, &added);
    if (rc) return rc;
    if (added && id >= c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        uint32_t *a = core_reallocarray(c->df, cap, sizeof *a);
        if (!a) goto oom;
        c->df = a;
        a = core_reallocarray(c->cf, cap, sizeof *a);
        if (!a) goto oom;
        c->cf = a;
        a = core_reallocarray(c->last, cap, sizeof *a);
        if (!a) goto oom;
        c->last = a;
        c->cap = cap;
    }
    if (added) c->df[id] = c->cf[id] = c->last[id] = 0;
    if (c->last[id] != c->doc) {
        c->last[id] = c->doc;
        c->df[id]++;
    }
    c->cf[id]++;
    c->total++;
    return 0;
oom:
    keys_truncate(&c->terms, id); /* keep terms and counters in step */
    return core_oom("tfidf vocabulary counts");
}

typedef struct cand {
    const char *term;
    uint32_t len, df, cf;
} cand;

static int by_count(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->cf != y->cf) return x->cf > y->cf ? -1 : 1;
    return strcmp(x->term, y->term);
}

static int by_term(const void *a, const void *b) {
    return strcmp(((const cand *)a)->term, ((const cand *)b)->term);
}

AISLE_API int aisle_tfidf_fit(aisle_tfidf *t, const char *const *texts, size_t n) {
    if (!t || !texts) return core_error(AISLE_EINVAL, "aisle_tfidf_fit: NULL %s", t ? "texts" : "tfidf");
    if (n == 0) return core_error(AISLE_EINVAL, "aisle_tfidf_fit: the corpus is empty (n = 0)");
    if (n >= UINT32_MAX) return core_error(AISLE_ERANGE, "aisle_tfidf_fit: %zu documents, at most 2^32-2", n);
    for (size_t i = 0; i < n; i++)
        if (!texts[i]) return core_error(AISLE_EINVAL, "aisle_tfidf_fit: texts[%zu] is NULL", i);
    fit_ctx c;
    memset(&c, 0, sizeof c);
    keys_init(&c.terms);
    cand *cands = NULL;
    core_keys vocab;
    keys_init(&vocab);
    double *idf = NULL;
    int rc = AISLE_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        c.doc = (uint32_t)i + 1;
        rc = feat_features(&t->tc, &t->gc, texts[i], strlen(texts[i]), fit_term, &c);
    }
    size_t m = 0;
    if (!rc && c.terms.n) {
        cands = core_calloc(c.terms.n, sizeof *cands);
        if (!cands) rc = core_oom("tfidf candidates");
    }
    if (!rc) {
        for (uint32_t id = 0; id < c.terms.n; id++) {
            if (c.df[id] < t->min_df) continue;
            const char *term = keys_at(&c.terms, id);
            cands[m++] = (cand){term, (uint32_t)strlen(term), c.df[id], c.cf[id]};
        }
        if (t->max_features > 0 && m > (size_t)t->max_features) {
            qsort(cands, m, sizeof *cands, by_count);
            m = (size_t)t->max_features;
        }
        if (m) qsort(cands, m, sizeof *cands, by_term);
        if (m) {
            idf = core_calloc(m, sizeof *idf);
            if (!idf) rc = core_oom("tfidf idf");
        }
    }
    for (size_t i = 0; i < m && !rc; i++) {
        uint32_t id;
        rc = keys_intern(&vocab, cands[i].term, cands[i].len, &id, NULL);
        double N = (double)n, df = cands[i].df;
        if (!rc) idf[i] = t->bm25 ? log(1.0 + (N - df + 0.5) / (df + 0.5)) : log((1.0 + N) / (1.0 + df)) + 1.0;
    }
    if (!rc) { /* commit: replaces an earlier fit */
        keys_clear(&t->vocab);
        core_free(t->idf);
        t->vocab = vocab;
        t->idf = idf;
        t->ndocs = n;
        t->avgdl = (double)c.total / (double)n;
        t->fitted = true;
    } else {
        keys_clear(&vocab);
        core_free(idf);
    }
    core_free(cands);
    keys_clear(&c.terms);
    core_free(c.df);
    core_free(c.cf);
    core_free(c.last);
    return rc;
}

/* ---- transforming ---- */

typedef struct tf_ctx {
    const aisle_tfidf *t;
    uint32_t *idx;
    float *val;
    size_t n, cap;
    uint64_t dl;
} tf_ctx;

static int tf_term(void *ctx, const char *f, size_t len, int kind) {
    (void)kind;
    tf_ctx *c = ctx;
    c->dl++;
    int64_t id = keys_find(&c->t->vocab, f, len);
    if (id < 0) return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        uint32_t *i = core_reallocarray(c->idx, cap, sizeof *i);
        if (!i) return core_oom("tfidf terms");
        c->idx = i;
        float *v = core_reallocarray(c->val, cap, sizeof *v);
        if (!v) return core_oom("tfidf terms");
        c->val = v;
        c->cap = cap;
    }
    c->idx[c->n] = (uint32_t)id;
    c->val[c->n++] = 1.0f;
    return 0;
}

AISLE_API int aisle_tfidf_transform(const aisle_tfidf *t, const char *text, size_t len, aisle_sparse **out) {
    if (!t || !out || (!text && len && len != AISLE_NUL_TERMINATED))
        return core_error(AISLE_EINVAL, "aisle_tfidf_transform: NULL %s", !t ? "tfidf" : !out ? "out" : "text");
    if (!t->fitted) return core_error(AISLE_ESTATE, "aisle_tfidf_transform: call aisle_tfidf_fit first");
    len = feat_text_len(text, len);
    tf_ctx c = {t, NULL, NULL, 0, 0, 0};
    aisle_sparse *v = NULL;
    int rc = len ? feat_features(&t->tc, &t->gc, text, len, tf_term, &c) : AISLE_OK;
    if (!rc) rc = feat_sparse_alloc(&v, (uint32_t)t->vocab.n);
    if (!rc) rc = feat_sparse_build(v, c.idx, c.val, c.n); /* values are now term counts */
    core_free(c.idx);
    core_free(c.val);
    if (rc) {
        aisle_sparse_free(v);
        return rc;
    }
    double norm_len = t->avgdl > 0 ? (double)c.dl / t->avgdl : 1.0;
    for (size_t i = 0; i < v->nnz; i++) {
        double tf = v->val[i], idf = t->idf[v->idx[i]];
        double w = t->bm25 ? idf * tf * (t->k1 + 1.0) / (tf + t->k1 * (1.0 - t->b + t->b * norm_len)) : tf * idf;
        v->val[i] = (float)w;
    }
    if (t->normalize) feat_sparse_l2(v);
    *out = v;
    return AISLE_OK;
}

/* ---- vocabulary ---- */

AISLE_API int aisle_tfidf_vocab_size(const aisle_tfidf *t, size_t *out) {
    if (!t || !out) return core_error(AISLE_EINVAL, "aisle_tfidf_vocab_size: NULL %s", t ? "out" : "tfidf");
    if (!t->fitted) return core_error(AISLE_ESTATE, "aisle_tfidf_vocab_size: call aisle_tfidf_fit first");
    *out = t->vocab.n;
    return AISLE_OK;
}

AISLE_API int aisle_tfidf_term(const aisle_tfidf *t, size_t index, const char **term, double *idf) {
    if (!t || !term) return core_error(AISLE_EINVAL, "aisle_tfidf_term: NULL %s", t ? "term" : "tfidf");
    if (!t->fitted) return core_error(AISLE_ESTATE, "aisle_tfidf_term: call aisle_tfidf_fit first");
    if (index >= t->vocab.n)
        return core_error(AISLE_ERANGE, "aisle_tfidf_term: index %zu out of range [0, %zu)", index, t->vocab.n);
    *term = keys_at(&t->vocab, (uint32_t)index);
    if (idf) *idf = t->idf[index];
    return AISLE_OK;
}

AISLE_API int aisle_tfidf_lookup(const aisle_tfidf *t, const char *term, size_t *index) {
    if (!t || !term || !index) return core_error(AISLE_EINVAL, "aisle_tfidf_lookup: NULL argument");
    if (!t->fitted) return core_error(AISLE_ESTATE, "aisle_tfidf_lookup: call aisle_tfidf_fit first");
    int64_t id = keys_find(&t->vocab, term, strlen(term));
    if (id < 0) return core_error(AISLE_ENOTFOUND, "aisle_tfidf_lookup: term '%s' is not in the vocabulary", term);
    *index = (size_t)id;
    return AISLE_OK;
}
