/* hybrid.c - factorisation over features, after LightFM (Kula, "Metadata
 * Embeddings for User and Item Cold-start Recommendations", 2015).
 *
 * An item's vector and bias are the weighted sums of its features'
 * embeddings and biases: its identity (items of the training events) and,
 * when trained with a catalog, the words of its title and description
 * (the features module's tokenizer), every level of its category path
 * ("Kitchen", "Kitchen > Mugs"), its brand and a price bin.  Each item's
 * feature weights sum to 1 (LightFM's normalisation), so an item known only
 * by its catalog row lands on the same scale as a trained one.  Users are
 * their identity (user attributes are not supported yet).
 *
 * Losses (option loss): bpr and warp (Weston, Bengio & Usunier 2011: draw
 * negatives until one violates the margin; the step is scaled by
 * ln floor((n-1)/draws)) for implicit data, squared for ratings.  Adagrad
 * with accumulators started at 1, as LightFM.  Threads share the
 * parameters without locks (Hogwild, as bpr.c); with threads=1 a seed
 * gives bit-identical models.
 *
 * Catalog products absent from the events join the model's items after the
 * dataset's (as sasrec side_info): they are scored, recommended and have
 * similar items from their features alone (cold start).
 *
 * Serving: after training the item vectors are materialised into a
 * model_factors (MODEL_FACTORS), so scoring, batch sgemm, fold-in of
 * sessions, explain and save/load are the factor kinds'.  For implicit
 * losses the item bias rides as the last coordinate of the item vector
 * against a constant 1 in the user's. */
#include "models.h"

#include "features/features.h"

#include <math.h>
#include <string.h>

static const option_spec hybrid_options[] = {
    {"factors", AISLE_OPTION_INT, 1, 1023, "32", NULL, "hybrid", "Number of latent factors."},
    {"epochs", AISLE_OPTION_INT, 1, 10000, "20", NULL, "hybrid",
     "Epochs (each draws as many training pairs as there are interactions)."},
    {"loss", AISLE_OPTION_STRING, 0, 0, "warp", "warp|bpr|squared", "hybrid",
     "warp or bpr rank observed items above sampled ones (implicit data); squared fits ratings."},
    {"learning_rate", AISLE_OPTION_FLOAT, 1e-8, 10, "0.05", NULL, "hybrid", "Adagrad learning rate."},
    {"regularization", AISLE_OPTION_FLOAT, 0, 1e6, "1e-5", NULL, "hybrid",
     "L2 penalty on the parameters each step touches."},
    {"max_sampled", AISLE_OPTION_INT, 1, 100000, "10", NULL, "hybrid",
     "loss=warp: negatives drawn per positive before giving up."},
    {"item_identity", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "hybrid",
     "Give every item of the training events its own identity feature besides its catalog features."},
    {"init_std", AISLE_OPTION_FLOAT, 0, 10, "0.1", NULL, "hybrid", "Standard deviation of the initial embeddings."},
    {"foldin_reg", AISLE_OPTION_FLOAT, 1e-6, 1e6, "1", NULL, "hybrid",
     "Ridge lambda of the closed-form fold-in of sessions and updated users."},
    OPTION_END};

enum { HY_BPR = 0, HY_WARP = 1, HY_SQUARED = 2 };
enum { HY_CHUNK = 4096, HY_MAX_ITEM_FEATURES = 256 };

/* Training-time parameters.  Embedding rows are dim + 1 floats: the factors
 * then the bias. */
typedef struct hy_train {
    uint32_t k, row;        /* factors; row = k + 1 */
    uint32_t n_feat;        /* item features */
    size_t *fptr;           /* n_items + 1 */
    uint32_t *fidx;         /* feature of each (item, feature) entry */
    float *fw;              /* its weight */
    float *V, *GV;          /* n_feat x row embeddings and Adagrad accumulators */
    float *U, *GU;          /* n_users x row (the user bias is used by squared only) */
    const uint32_t *row_of; /* nnz: user of each history entry */
    double *chunk_loss;
    const aisle_model *m;
    int loss, max_sampled;
    float lr, reg, mean;
    uint64_t seed;
    int epoch;
} hy_train;

static void hy_train_free(hy_train *t) {
    core_free(t->fptr);
    core_free(t->fidx);
    core_free(t->fw);
    core_free(t->V);
    core_free(t->GV);
    core_free(t->U);
    core_free(t->GU);
    core_free(t->chunk_loss);
}

/* ---- catalog features ---- */

typedef struct hy_feats {
    core_keys names;              /* "w:mug", "c:Kitchen > Mugs", "b:Acme", "p:3" */
    uint32_t ids[HY_MAX_ITEM_FEATURES];
    size_t n;
    int rc;
} hy_feats;

static int add_feature(hy_feats *f, const char *name, size_t len) {
    if (f->n >= HY_MAX_ITEM_FEATURES) return AISLE_OK;
    uint32_t id;
    bool added;
    int rc = keys_intern(&f->names, name, len, &id, &added);
    if (rc) return rc;
    for (size_t i = 0; i < f->n; i++)
        if (f->ids[i] == id) return AISLE_OK; /* a word twice counts once */
    f->ids[f->n++] = id;
    return AISLE_OK;
}

static int add_prefixed(hy_feats *f, const char *prefix, const char *s, size_t len) {
    char buf[300];
    size_t pl = strlen(prefix);
    if (len > sizeof buf - pl) len = sizeof buf - pl;
    memcpy(buf, prefix, pl);
    memcpy(buf + pl, s, len);
    return add_feature(f, buf, pl + len);
}

static int word_feature(void *ctx, const char *tok, size_t len, int kind) {
    (void)kind;
    return add_prefixed(ctx, "w:", tok, len);
}

/* Category levels: every prefix of the path ending before a '>' or '/'. */
static int category_features(hy_feats *f, const char *cat) {
    size_t len = strlen(cat);
    while (len && (cat[len - 1] == ' ')) len--;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && cat[i] != '>' && cat[i] != '/') continue;
        size_t e = i;
        while (e && cat[e - 1] == ' ') e--;
        if (e) {
            int rc = add_prefixed(f, "c:", cat, e);
            if (rc) return rc;
        }
    }
    return AISLE_OK;
}

/* Features of catalog row p into f->ids (names interned). */
static int item_features(hy_feats *f, const aisle_catalog *cat, size_t p) {
    feat_tok_cfg tc;
    feat_tok_default(&tc);
    f->n = 0;
    const int text[] = {DATA_FIELD_TITLE, DATA_FIELD_DESCRIPTION};
    for (size_t t = 0; t < CORE_ARRAY_LEN(text); t++) {
        const char *s = data_catalog_field(cat, p, text[t]);
        int rc = feat_tokenize(&tc, s, strlen(s), word_feature, f);
        if (rc) return rc;
    }
    int rc = category_features(f, data_catalog_field(cat, p, DATA_FIELD_CATEGORY));
    const char *brand = data_catalog_field(cat, p, DATA_FIELD_BRAND);
    if (!rc && brand[0]) rc = add_prefixed(f, "b:", brand, strlen(brand));
    double price = data_catalog_price(cat, p);
    if (!rc && isfinite(price) && price >= 0) {
        char bin[32]; /* half-octave bins: 1-1.4, 1.4-2, 2-2.8, ... */
        int n = snprintf(bin, sizeof bin, "%d", (int)floor(2.0 * log2(1.0 + price)));
        rc = add_prefixed(f, "p:", bin, (size_t)n);
    }
    return rc;
}

/* Catalog products nobody has interacted with join the model's items. */
static int add_catalog_items(aisle_model *m, const aisle_catalog *cat) {
    size_t before = m->items.n, n = data_catalog_size(cat);
    for (size_t p = 0; p < n; p++) {
        const char *key = data_catalog_key(cat, p);
        uint32_t idx;
        bool added;
        int rc = keys_intern(&m->items, key, strlen(key), &idx, &added);
        if (rc) return rc;
    }
    if (m->items.n > UINT32_MAX - 1)
        return core_error(AISLE_ERANGE, "model 'hybrid': %zu items with the catalog's, more than supported", m->items.n);
    if (m->items.n == before) return AISLE_OK;
    float *pop = core_realloc(m->popularity, m->items.n * sizeof *pop);
    if (!pop) return core_oom("hybrid catalog items");
    memset(pop + before, 0, (m->items.n - before) * sizeof *pop);
    m->popularity = pop;
    m->history.cols = (uint32_t)m->items.n;
    return AISLE_OK;
}

/* The item x feature matrix: identity features first (the dataset's items,
 * when item_identity), then the catalog's, weights 1 / count per item. */
static int build_item_features(hy_train *t, const aisle_model *m, uint32_t n_known, bool identity,
                               const aisle_catalog *cat) {
    uint32_t ni = model_n_items(m), base = identity ? n_known : 0;
    hy_feats f;
    memset(&f, 0, sizeof f);
    keys_init(&f.names);
    size_t cap = 0, wcap = 0;
    int rc = AISLE_OK;
    t->fptr = core_calloc((size_t)ni + 1, sizeof *t->fptr);
    if (!t->fptr) rc = core_oom("hybrid item features");
    for (uint32_t i = 0; i < ni && !rc; i++) {
        f.n = 0;
        const char *key = keys_at(&m->items, i);
        int64_t p = cat ? data_catalog_find(cat, key, strlen(key)) : -1;
        if (p >= 0) rc = item_features(&f, cat, (size_t)p);
        size_t at = t->fptr[i], n = f.n + (identity && i < n_known);
        if (!rc) rc = core_grow((void **)&t->fidx, &cap, at + n + 1, sizeof *t->fidx);
        if (!rc && cap > wcap) { /* weights follow the ids' capacity */
            float *w = core_realloc(t->fw, cap * sizeof *w);
            if (!w) rc = core_oom("hybrid item features");
            else t->fw = w, wcap = cap;
        }
        if (rc) break;
        size_t o = at;
        if (identity && i < n_known) t->fidx[o++] = i;
        for (size_t j = 0; j < f.n; j++) t->fidx[o++] = base + f.ids[j];
        for (size_t j = at; j < o; j++) t->fw[j] = 1.0f / (float)n;
        t->fptr[i + 1] = o;
    }
    if (!rc && (uint64_t)base + f.names.n > UINT32_MAX)
        rc = core_error(AISLE_ERANGE, "model 'hybrid': too many features");
    t->n_feat = base + (uint32_t)f.names.n;
    keys_clear(&f.names);
    if (!rc && !t->fidx && !(t->fidx = core_malloc(sizeof *t->fidx))) rc = core_oom("hybrid item features");
    if (!rc && !t->fw && !(t->fw = core_malloc(sizeof *t->fw))) rc = core_oom("hybrid item features");
    return rc;
}

/* ---- training ---- */

/* q = sum of item i's feature rows (factors and bias). */
static void item_vector(const hy_train *t, uint32_t i, float *q) {
    memset(q, 0, t->row * sizeof *q);
    for (size_t e = t->fptr[i]; e < t->fptr[i + 1]; e++) model_axpy(q, t->fw[e], t->V + (size_t)t->fidx[e] * t->row, t->row);
}

/* Adagrad step on one row: x += lr * (g - reg x) / sqrt(G), n values. */
static void adagrad(float *x, float *G, const float *g, float scale, uint32_t n, float lr, float reg) {
    for (uint32_t k = 0; k < n; k++) {
        float d = scale * g[k] - reg * x[k];
        G[k] += d * d;
        x[k] += lr * d / sqrtf(G[k]);
    }
}

/* Moves item i's features along +g (factors) and +gb (bias), scaled by
 * each feature's weight. */
static void update_item(const hy_train *t, uint32_t i, const float *g, float sign) {
    for (size_t e = t->fptr[i]; e < t->fptr[i + 1]; e++) {
        size_t r = (size_t)t->fidx[e] * t->row;
        adagrad(t->V + r, t->GV + r, g, sign * t->fw[e], t->row, t->lr, t->reg);
    }
}

static bool in_row(const data_csr *h, uint32_t u, uint32_t j) {
    size_t lo = h->indptr[u], hi = h->indptr[u + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->indices[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->indptr[u + 1] && h->indices[lo] == j;
}

static int hy_range(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    const hy_train *t = vc;
    const data_csr *h = &t->m->history;
    uint32_t k = t->k, row = t->row, ni = model_n_items(t->m);
    size_t chunk = begin / HY_CHUNK;
    float *buf = core_malloc((size_t)row * 4 * sizeof *buf);
    if (!buf) return core_oom("hybrid training");
    float *qi = buf, *qj = buf + row, *gu = buf + 2 * row, *gi = buf + 3 * row;
    core_rng rng;
    rng_seed_stream(&rng, t->seed, (uint64_t)t->epoch << 32 | chunk);
    double loss = 0;
    for (size_t s = begin; s < end; s++) {
        size_t e = (size_t)rng_below(&rng, h->nnz);
        uint32_t u = t->row_of[e], i = h->indices[e];
        float *p = t->U + (size_t)u * row;
        item_vector(t, i, qi);
        float xi = model_dot(p, qi, k) + qi[k];
        if (t->loss == HY_SQUARED) {
            float err = h->values[e] - (t->mean + p[k] + xi);
            loss += (double)err * err;
            for (uint32_t c = 0; c < k; c++) gu[c] = err * qi[c], gi[c] = err * p[c];
            gu[k] = err, gi[k] = err;
            adagrad(p, t->GU + (size_t)u * row, gu, 1.0f, row, t->lr, t->reg);
            update_item(t, i, gi, 1.0f);
            continue;
        }
        uint32_t j = 0;
        float g = 0, xj = 0;
        if (t->loss == HY_BPR) {
            int tries = 0;
            do j = (uint32_t)rng_below(&rng, ni);
            while (in_row(h, u, j) && ++tries < 16);
            if (in_row(h, u, j)) continue;
            item_vector(t, j, qj);
            xj = model_dot(p, qj, k) + qj[k];
            float x = xi - xj;
            g = 1.0f / (1.0f + expf(x));
            loss += x > 0 ? log1p(exp(-(double)x)) : -(double)x + log1p(exp((double)x));
        } else {
            int draws = 0;
            bool found = false;
            while (draws < t->max_sampled) {
                draws++;
                j = (uint32_t)rng_below(&rng, ni);
                if (in_row(h, u, j)) continue;
                item_vector(t, j, qj);
                xj = model_dot(p, qj, k) + qj[k];
                if (xj > xi - 1.0f) {
                    found = true;
                    break;
                }
            }
            if (!found) continue;
            double rank = floor((double)(ni - 1) / draws);
            g = (float)log(rank > 1 ? rank : 1.0);
            if (g <= 0) g = 1.0f / (float)draws; /* tiny catalogues: keep a step */
            loss += g * (1.0f - xi + xj);
        }
        for (uint32_t c = 0; c < k; c++) gu[c] = g * (qi[c] - qj[c]), gi[c] = g * p[c];
        gu[k] = 0; /* the implicit losses ignore the user bias */
        gi[k] = g;
        adagrad(p, t->GU + (size_t)u * row, gu, 1.0f, k, t->lr, t->reg);
        update_item(t, i, gi, 1.0f);
        update_item(t, j, gi, -1.0f);
    }
    t->chunk_loss[chunk] = loss;
    core_free(buf);
    return AISLE_OK;
}

/* Materialises the serving factors from the trained features. */
static int materialise(aisle_model *m, const hy_train *t, model_factors *f, bool explicit_r) {
    uint32_t nu = model_n_users(m), ni = model_n_items(m), k = t->k;
    uint32_t dim = explicit_r ? k : k + 1;
    int rc = model_factors_alloc(f, nu, ni, dim, explicit_r);
    if (rc) return rc;
    float *q = core_malloc((size_t)t->row * sizeof *q);
    if (!q) return core_oom("hybrid item vectors");
    for (uint32_t i = 0; i < ni; i++) {
        item_vector(t, i, q);
        memcpy(f->item + (size_t)i * dim, q, (size_t)k * sizeof *q);
        if (explicit_r)
            f->item_bias[i] = q[k];
        else
            f->item[(size_t)i * dim + k] = q[k];
    }
    for (uint32_t u = 0; u < nu; u++) {
        const float *p = t->U + (size_t)u * t->row;
        memcpy(f->user + (size_t)u * dim, p, (size_t)k * sizeof *p);
        if (explicit_r)
            f->user_bias[u] = p[k];
        else
            f->user[(size_t)u * dim + k] = 1.0f;
    }
    core_free(q);
    model_factors_gram(f->item, ni, dim, f->gram);
    return AISLE_OK;
}

static int hybrid_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                        core_progress *prog) {
    (void)ds;
    const option_spec *o = hybrid_options;
    const char *ls = config_string(cfg, o, "loss");
    int lossk = strcmp(ls, "bpr") == 0 ? HY_BPR : strcmp(ls, "squared") == 0 ? HY_SQUARED : HY_WARP;
    int epochs = (int)config_int(cfg, o, "epochs");
    int threads = core_thread_count(config_int(cfg, o, "threads"));
    uint64_t seed = (uint64_t)config_int(cfg, o, "seed");
    uint32_t n_known = model_n_items(m);
    hy_train t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.k = (uint32_t)config_int(cfg, o, "factors");
    t.row = t.k + 1;
    t.loss = lossk;
    t.max_sampled = (int)config_int(cfg, o, "max_sampled");
    t.lr = (float)config_float(cfg, o, "learning_rate");
    t.reg = (float)config_float(cfg, o, "regularization");
    t.seed = seed;
    bool identity = config_bool(cfg, o, "item_identity");
    int rc = AISLE_OK;
    if (!identity && !cat)
        return core_error(AISLE_EINVAL, "model 'hybrid': item_identity=false needs a catalog "
                                        "(train with aisle_model_train_with_catalog)");
    if (cat) rc = add_catalog_items(m, cat);
    if (!rc) rc = build_item_features(&t, m, n_known, identity, cat);
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    const data_csr *h = &m->history;
    size_t nnz = h->nnz, chunks = (nnz + HY_CHUNK - 1) / HY_CHUNK;
    uint32_t *row_of = NULL;
    if (!rc) {
        size_t nv = (size_t)(t.n_feat ? t.n_feat : 1) * t.row, nuv = (size_t)nu * t.row;
        t.V = core_malloc(nv * sizeof *t.V);
        t.GV = core_malloc(nv * sizeof *t.GV);
        t.U = core_malloc(nuv * sizeof *t.U);
        t.GU = core_malloc(nuv * sizeof *t.GU);
        t.chunk_loss = core_calloc(chunks ? chunks : 1, sizeof *t.chunk_loss);
        row_of = core_malloc((nnz ? nnz : 1) * sizeof *row_of);
        if (!t.V || !t.GV || !t.U || !t.GU || !t.chunk_loss || !row_of) rc = core_oom("hybrid training");
        if (!rc) {
            core_rng rng;
            rng_seed(&rng, seed);
            float std = (float)config_float(cfg, o, "init_std");
            for (size_t e = 0; e < nv; e++) t.V[e] = (e % t.row == t.k) ? 0.0f : std * rng_normal(&rng), t.GV[e] = 1.0f;
            for (size_t e = 0; e < nuv; e++) t.U[e] = (e % t.row == t.k) ? 0.0f : std * rng_normal(&rng), t.GU[e] = 1.0f;
            double sum = 0;
            for (size_t e = 0; e < nnz; e++) sum += h->values[e];
            t.mean = lossk == HY_SQUARED && nnz ? (float)(sum / (double)nnz) : 0.0f;
            for (uint32_t u = 0; u < nu; u++)
                for (size_t e = h->indptr[u]; e < h->indptr[u + 1]; e++) row_of[e] = u;
            t.row_of = row_of;
        }
    }
    for (int ep = 1; !rc && ep <= epochs && nnz; ep++) {
        t.epoch = ep;
        rc = core_parallel_for(threads, nnz, HY_CHUNK, hy_range, &t);
        if (rc) break;
        double loss = 0;
        for (size_t c = 0; c < chunks; c++) loss += t.chunk_loss[c];
        rc = core_progress_report(prog, ep, epochs, loss / (double)nnz, NAN);
    }
    if (!rc) {
        model_factors *f = core_calloc(1, sizeof *f);
        if (!f) rc = core_oom("hybrid model");
        else {
            m->state = f;
            rc = materialise(m, &t, f, lossk == HY_SQUARED);
        }
        if (!rc) {
            f->reg = (float)config_float(cfg, o, "foldin_reg");
            f->alpha = 1.0f;
            if (lossk == HY_SQUARED) {
                f->mean = t.mean;
                f->rmin = INFINITY, f->rmax = -INFINITY;
                for (size_t e = 0; e < nnz; e++) {
                    f->rmin = CORE_MIN(f->rmin, h->values[e]);
                    f->rmax = CORE_MAX(f->rmax, h->values[e]);
                }
                if (!nnz) f->rmin = f->rmax = 0;
            }
        }
    }
    (void)ni;
    core_free(row_of);
    hy_train_free(&t);
    return rc;
}

/* Cosine of the item factors without the bias coordinate (implicit
 * losses), so popularity does not make items alike. */
static int hybrid_similar(const aisle_model *m, uint32_t item, float *scores) {
    const model_factors *f = m->state;
    uint32_t d = f->dim, k = f->explicit_r ? d : d - 1, ni = model_n_items(m);
    const float *qi = f->item + (size_t)item * d;
    float n_i = sqrtf(model_dot(qi, qi, k));
    for (uint32_t j = 0; j < ni; j++) {
        const float *qj = f->item + (size_t)j * d;
        float den = n_i * sqrtf(model_dot(qj, qj, k));
        scores[j] = den > 0 ? model_dot(qi, qj, k) / den : 0.0f;
    }
    return AISLE_OK;
}

const model_ops model_hybrid_ops = {
    .name = "hybrid",
    .summary = "factorisation over item features (identity, catalog words, category, brand, price; LightFM-style), "
               "scores catalog items without history",
    .options = hybrid_options,
    .flags = MODEL_FOLD_IN | MODEL_FACTORS,
    .train = hybrid_train,
    .score_items = model_factors_score_items,
    .score_one = model_factors_score_one,
    .similar_items = hybrid_similar,
    .explain = model_factors_explain,
    .update_user = model_factors_update_user,
    .describe = model_factors_describe,
    .save = model_factors_save,
    .load = model_factors_load,
    .free_state = model_factors_free_state,
};
