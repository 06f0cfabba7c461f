/* hybrid.c - factorisation over features, after LightFM (Kula, "Metadata
 * Embeddings for User and Item Cold-start Recommendations", 2015):
 * options and training.
 *
 * An item's vector and bias are the weighted sums of its features'
 * embeddings and biases (hybrid.h): its identity (items of the training
 * events) and, when trained with a catalog, its catalog features
 * (hybrid_features.c).  A user's likewise: identity and, when trained with
 * a shopper attribute table (aisle_model_train_with_features), its
 * attributes.  Catalog products and attribute-table users absent from the
 * events join the model (as sasrec side_info): they are scored, recommended
 * and explained from their features alone (cold start).
 *
 * Losses (option loss): bpr and warp (Weston, Bengio & Usunier 2011: draw
 * negatives until one violates the margin; the step is scaled by
 * ln floor((n-1)/draws)) for implicit data, squared for ratings.  Adagrad
 * with accumulators started at 1, as LightFM, or Adam (Kingma & Ba 2015)
 * applied lazily to the rows a step touches, bias-corrected by the global
 * step count (as TensorFlow's LazyAdam).  Threads share the parameters
 * without locks (Hogwild, as bpr.c); with threads=1 a seed gives
 * bit-identical models.
 *
 * Identity dropout (option identity_dropout, after DropoutNet, Volkovs et
 * al. 2017): a step leaves an item's identity out with probability p and
 * rescales its other feature weights to sum to 1, so the catalog features
 * learn to rank the item on their own, as they must for a new product.
 *
 * Serving: after training the vectors are materialised into the state's
 * model_factors (MODEL_FACTORS), so scoring, batch sgemm, fold-in of
 * sessions, explain and save/load are the factor kinds'; the features stay
 * in the state for explain_features (hybrid_state.c).  For implicit losses
 * the item bias rides as the last coordinate of the item vector against a
 * constant 1 in the user's. */
#include "hybrid.h"

#include <math.h>
#include <string.h>

static const option_spec hybrid_options[] = {
    {"factors", AISLE_OPTION_INT, 1, 1023, "32", NULL, "hybrid", "Number of latent factors."},
    {"epochs", AISLE_OPTION_INT, 1, 10000, "20", NULL, "hybrid",
     "Epochs (each draws as many training pairs as there are interactions)."},
    {"loss", AISLE_OPTION_STRING, 0, 0, "warp", "warp|bpr|squared", "hybrid",
     "warp or bpr rank observed items above sampled ones (implicit data); squared fits ratings."},
    {"optimizer", AISLE_OPTION_STRING, 0, 0, "adagrad", "adagrad|adam", "hybrid",
     "adagrad (accumulators start at 1, as LightFM) or adam (beta1 0.9, beta2 0.999, lazy: only the rows a step "
     "touches)."},
    {"learning_rate", AISLE_OPTION_FLOAT, 1e-8, 10, "0.05", NULL, "hybrid", "Step size of the optimizer."},
    {"regularization", AISLE_OPTION_FLOAT, 0, 1e6, "1e-5", NULL, "hybrid",
     "L2 penalty on the parameters each step touches."},
    {"max_sampled", AISLE_OPTION_INT, 1, 100000, "10", NULL, "hybrid",
     "loss=warp: negatives drawn per positive before giving up."},
    {"item_identity", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "hybrid",
     "Give every item of the training events its own identity feature besides its catalog features."},
    {"user_identity", AISLE_OPTION_BOOL, 0, 1, "true", NULL, "hybrid",
     "Give every user of the training events its own identity feature besides its attributes."},
    {"fit", AISLE_OPTION_STRING, 0, 0, "sgd", "sgd|als", "hybrid",
     "sgd trains every embedding with `loss`; als takes the shoppers' and products' vectors from implicit ALS on "
     "the events (als's own options at their defaults, `factors` shared) and fits the catalog features to them "
     "(ridge, content_reg), so known products score as in als and new ones from their features."},
    {"content_reg", AISLE_OPTION_FLOAT, 0, 1e6, "0.01", NULL, "hybrid",
     "fit=als: ridge lambda of the catalog features' fit to the ALS product vectors."},
    {"cold_scale", AISLE_OPTION_FLOAT, 0, 10, "1.5", NULL, "hybrid",
     "fit=als: factor on the vectors of products without history (the content part): below 1 ranks them lower "
     "against products of the events, whose ALS vectors also carry how often they sell."},
    {"cold_neighbours", AISLE_OPTION_INT, 0, 1000, "20", NULL, "hybrid",
     "fit=als: a product without history takes the similarity-weighted mean ALS vector of this many products of "
     "the events most alike by catalog features (idf-weighted cosine) instead of the ridge map; 0: the ridge map."},
    {"listed_attribute", AISLE_OPTION_STRING, 0, 0, "", NULL, "hybrid",
     "The catalog attribute holding each product's listing time (seconds since the epoch); it is not a feature.  "
     "fit=als: a product without events listed more than cold_stale_days before cold_reference_time is stale "
     "(long listed, never bought: little demand) and its vector is multiplied by cold_stale_factor.  Empty: no "
     "listing times, no product is stale."},
    {"cold_stale_days", AISLE_OPTION_FLOAT, 0, 36500, "30", NULL, "hybrid",
     "fit=als with listed_attribute: days a product may be listed without events before it counts as stale."},
    {"cold_stale_factor", AISLE_OPTION_FLOAT, 0, 10, "0", NULL, "hybrid",
     "fit=als with listed_attribute: factor on a stale product's vector (on top of cold_scale); 0 scores it 0, "
     "1 treats it as new."},
    {"cold_reference_time", AISLE_OPTION_INT, 0, 9e15, "0", NULL, "hybrid",
     "fit=als with listed_attribute: the time (unix seconds) listing ages count from; 0: the newest training "
     "event's, written into the trained model's options so products added later are judged by the same day."},
    {"identity_dropout", AISLE_OPTION_FLOAT, 0, 0.99, "0", NULL, "hybrid",
     "Probability that a training step leaves an item's identity feature out (its other features' weights rescaled "
     "to sum to 1), so the catalog features alone must rank it: what a product new to the shop has."},
    {"min_feature_support", AISLE_OPTION_INT, 1, 1000000, "1", NULL, "hybrid",
     "Keep a catalog or attribute feature only when at least this many items (users) of the training events have "
     "it: features of cold products alone carry nothing learned."},
    {"init_std", AISLE_OPTION_FLOAT, 0, 10, "0.1", NULL, "hybrid", "Standard deviation of the initial embeddings."},
    {"foldin_reg", AISLE_OPTION_FLOAT, 1e-6, 1e6, "1", NULL, "hybrid",
     "Ridge lambda of the closed-form fold-in of sessions and updated users."},
    OPTION_END};

enum { HY_CHUNK = 4096 };

/* Training-time view: the sides being trained (in the state) and the
 * optimizer's accumulators, one per embedding value. */
typedef struct hy_train {
    uint32_t k, row;
    hy_side *item, *user;
    float *G[2], *M[2];     /* [0] item, [1] user: Adagrad sums / Adam second moments; Adam first moments */
    const uint32_t *row_of; /* nnz: user of each history entry */
    double *chunk_loss;
    const aisle_model *m;
    int loss, max_sampled;
    bool adam;
    float lr, reg, mean, id_drop;
    uint64_t seed;
    int epoch;
} hy_train;

float hy_sample_grad(int loss, const float *p, const float *qi, const float *qj, uint32_t k, float mean,
                     float target, float rank_weight, float *gp, float *gi, float *gj) {
    float xi = model_dot(p, qi, k) + qi[k];
    if (loss == HY_SQUARED) {
        float err = target - (mean + p[k] + xi);
        for (uint32_t c = 0; c < k; c++) gp[c] = -err * qi[c], gi[c] = -err * p[c];
        gp[k] = gi[k] = -err;
        return 0.5f * err * err;
    }
    float x = xi - (model_dot(p, qj, k) + qj[k]), dx, l;
    if (loss == HY_BPR) {
        dx = -1.0f / (1.0f + expf(x)); /* d/dx of -ln sigmoid(x) */
        l = (float)(x > 0 ? log1p(exp(-(double)x)) : -(double)x + log1p(exp((double)x)));
    } else {
        dx = -rank_weight;
        l = rank_weight * (1.0f - x);
    }
    for (uint32_t c = 0; c < k; c++) gp[c] = dx * (qi[c] - qj[c]), gi[c] = dx * p[c], gj[c] = -gi[c];
    gp[k] = 0; /* the implicit losses have no user bias */
    gi[k] = dx, gj[k] = -dx;
    return l;
}

/* One descent step on n values of a row, gradient scale * g + reg * x. */
static void step_row(const hy_train *t, float *x, float *G, float *M, const float *g, float scale, uint32_t n,
                     float c1, float c2) {
    if (t->adam) {
        for (uint32_t c = 0; c < n; c++) {
            float d = scale * g[c] + t->reg * x[c];
            M[c] = 0.9f * M[c] + 0.1f * d;
            G[c] = 0.999f * G[c] + 0.001f * d * d;
            x[c] -= t->lr * (M[c] / c1) / (sqrtf(G[c] / c2) + 1e-8f);
        }
        return;
    }
    for (uint32_t c = 0; c < n; c++) {
        float d = scale * g[c] + t->reg * x[c];
        G[c] += d * d;
        x[c] -= t->lr * d / sqrtf(G[c]);
    }
}

/* The features of an entity that one step uses: entries [from, to) of its
 * table row, weights times scale.  Identity dropout skips the identity
 * (always the row's first entry) and rescales the rest to sum to 1. */
typedef struct hy_span {
    size_t from, to;
    float scale;
} hy_span;

static hy_span item_span(const hy_train *t, uint32_t e, core_rng *rng) {
    const hy_table *tb = &t->item->table;
    hy_span sp = {tb->ptr[e], tb->ptr[e + 1], 1.0f};
    if (t->id_drop > 0 && sp.to - sp.from > 1 && tb->idx[sp.from] < t->item->n_identity &&
        rng_float(rng) < t->id_drop) {
        sp.scale = 1.0f / (1.0f - tb->w[sp.from]);
        sp.from++;
    }
    return sp;
}

static void sum_span(const hy_side *s, uint32_t row, hy_span sp, float *v) {
    memset(v, 0, row * sizeof *v);
    const hy_table *t = &s->table;
    for (size_t j = sp.from; j < sp.to; j++) model_axpy(v, sp.scale * t->w[j], s->emb + (size_t)t->idx[j] * row, row);
}

/* Moves the features of span sp of side `side` (0 item, 1 user) along -g. */
static void update(const hy_train *t, int side, hy_span sp, const float *g, float c1, float c2) {
    const hy_side *s = side ? t->user : t->item;
    const hy_table *tb = &s->table;
    for (size_t j = sp.from; j < sp.to; j++) {
        size_t r = (size_t)tb->idx[j] * t->row;
        step_row(t, s->emb + r, t->G[side] + r, t->adam ? t->M[side] + r : NULL, g, sp.scale * tb->w[j], t->row,
                 c1, c2);
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
    float *buf = core_malloc((size_t)row * 6 * sizeof *buf);
    if (!buf) return core_oom("hybrid training");
    float *p = buf, *qi = buf + row, *qj = buf + 2 * row, *gp = buf + 3 * row, *gi = buf + 4 * row,
          *gj = buf + 5 * row;
    core_rng rng;
    rng_seed_stream(&rng, t->seed, (uint64_t)t->epoch << 32 | chunk);
    double loss = 0;
    float c1 = 1.0f, c2 = 1.0f;
    for (size_t s = begin; s < end; s++) {
        if (t->adam) { /* bias corrections at the global step */
            double step = (double)(t->epoch - 1) * (double)h->nnz + (double)s + 1.0;
            c1 = (float)(1.0 - pow(0.9, step));
            c2 = (float)(1.0 - pow(0.999, step));
        }
        size_t e = (size_t)rng_below(&rng, h->nnz);
        uint32_t u = t->row_of[e], i = h->indices[e];
        const hy_table *ut = &t->user->table;
        hy_span su = {ut->ptr[u], ut->ptr[u + 1], 1.0f}, si = item_span(t, i, &rng), sj = si;
        sum_span(t->user, row, su, p);
        sum_span(t->item, row, si, qi);
        if (t->loss == HY_SQUARED) {
            loss += 2.0 * hy_sample_grad(HY_SQUARED, p, qi, NULL, k, t->mean, h->values[e], 0, gp, gi, NULL);
            update(t, 1, su, gp, c1, c2);
            update(t, 0, si, gi, c1, c2);
            continue;
        }
        uint32_t j = 0;
        float w = 0;
        if (t->loss == HY_BPR) {
            int tries = 0;
            do j = (uint32_t)rng_below(&rng, ni);
            while (in_row(h, u, j) && ++tries < 16);
            if (in_row(h, u, j)) continue;
            sj = item_span(t, j, &rng);
            sum_span(t->item, row, sj, qj);
        } else {
            int draws = 0;
            bool found = false;
            float xi = model_dot(p, qi, k) + qi[k];
            while (draws < t->max_sampled) {
                draws++;
                j = (uint32_t)rng_below(&rng, ni);
                if (in_row(h, u, j)) continue;
                sj = item_span(t, j, &rng);
                sum_span(t->item, row, sj, qj);
                if (model_dot(p, qj, k) + qj[k] > xi - 1.0f) {
                    found = true;
                    break;
                }
            }
            if (!found) continue;
            double rank = floor((double)(ni - 1) / draws);
            w = (float)log(rank > 1 ? rank : 1.0);
            if (w <= 0) w = 1.0f / (float)draws; /* tiny catalogues: keep a step */
        }
        loss += hy_sample_grad(t->loss, p, qi, qj, k, 0, 0, w, gp, gi, gj);
        update(t, 1, su, gp, c1, c2);
        update(t, 0, si, gi, c1, c2);
        update(t, 0, sj, gj, c1, c2);
    }
    t->chunk_loss[chunk] = loss;
    core_free(buf);
    return AISLE_OK;
}

/* Materialises the serving factors from the trained features. */
static int materialise(aisle_model *m, hy_state *st, bool explicit_r) {
    model_factors *f = &st->f;
    uint32_t nu = model_n_users(m), ni = model_n_items(m), k = st->k;
    uint32_t dim = explicit_r ? k : k + 1;
    int rc = model_factors_alloc(f, nu, ni, dim, explicit_r);
    if (rc) return rc;
    float *q = core_malloc((size_t)st->row * sizeof *q);
    if (!q) return core_oom("hybrid vectors");
    for (uint32_t i = 0; i < ni; i++) {
        hy_sum(&st->item, st->row, i, q);
        const float *cold = st->cold_vectors && i >= st->item.n_identity
                                ? st->cold_vectors + (size_t)(i - st->item.n_identity) * k
                                : NULL;
        if (cold && !isnan(cold[0])) memcpy(q, cold, (size_t)k * sizeof *q); /* the bias stays the features' */
        if (st->cold_factor && i >= st->item.n_identity) /* listed_attribute: stale products scaled */
            for (uint32_t c = 0; c < k; c++) q[c] *= st->cold_factor[i - st->item.n_identity];
        hy_put_vector(f, 0, i, k, q);
    }
    for (uint32_t u = 0; u < nu; u++) {
        hy_sum(&st->user, st->row, u, q);
        hy_put_vector(f, 1, u, k, q);
    }
    core_free(q);
    model_factors_gram(f->item, ni, dim, f->gram);
    return AISLE_OK;
}

static int alloc_side(const hy_train *t, hy_side *s, float std, core_rng *rng) {
    size_t n = (size_t)(hy_side_features(s) ? hy_side_features(s) : 1) * t->row;
    s->emb = core_malloc(n * sizeof *s->emb);
    if (!s->emb) return core_oom("hybrid embeddings");
    for (size_t e = 0; e < n; e++) s->emb[e] = (e % t->row == t->k) ? 0.0f : std * rng_normal(rng);
    return AISLE_OK;
}

static int hybrid_train_features(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat,
                                 const aisle_catalog *users, const aisle_config *cfg, core_progress *prog) {
    const option_spec *o = hybrid_options;
    const char *ls = config_string(cfg, o, "loss");
    int lossk = strcmp(ls, "bpr") == 0 ? HY_BPR : strcmp(ls, "squared") == 0 ? HY_SQUARED : HY_WARP;
    int epochs = (int)config_int(cfg, o, "epochs");
    int threads = core_thread_count(config_int(cfg, o, "threads"));
    uint64_t seed = (uint64_t)config_int(cfg, o, "seed");
    bool item_id = config_bool(cfg, o, "item_identity"), user_id = config_bool(cfg, o, "user_identity");
    if (!item_id && !cat)
        return core_error(AISLE_EINVAL, "model 'hybrid': item_identity=false needs a catalog "
                                        "(train with aisle_model_train_with_catalog)");
    if (!user_id && !users)
        return core_error(AISLE_EINVAL, "model 'hybrid': user_identity=false needs a user attribute table "
                                        "(train with aisle_model_train_with_features)");
    uint32_t n_known_items = model_n_items(m), n_known_users = model_n_users(m);
    hy_state *st = core_calloc(1, sizeof *st);
    if (!st) return core_oom("hybrid model");
    m->state = st;
    keys_init(&st->item.names);
    keys_init(&st->user.names);
    st->has_features = true;
    hy_train t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.k = st->k = (uint32_t)config_int(cfg, o, "factors");
    t.row = st->row = t.k + 1;
    t.item = &st->item, t.user = &st->user;
    t.loss = lossk;
    t.adam = strcmp(config_string(cfg, o, "optimizer"), "adam") == 0;
    t.max_sampled = (int)config_int(cfg, o, "max_sampled");
    t.lr = (float)config_float(cfg, o, "learning_rate");
    t.reg = (float)config_float(cfg, o, "regularization");
    t.id_drop = (float)config_float(cfg, o, "identity_dropout");
    t.seed = seed;
    int rc = cat ? hy_add_catalog_items(m, cat) : AISLE_OK;
    if (!rc && users) rc = hy_add_attribute_users(m, users);
    uint32_t support = (uint32_t)config_int(cfg, o, "min_feature_support");
    if (!rc) rc = hy_build_item_side(&st->item, m, n_known_items, item_id, cat, support);
    if (!rc) rc = hy_build_user_side(&st->user, m, n_known_users, user_id, users, support);
    uint32_t nu = model_n_users(m);
    const data_csr *h = &m->history;
    size_t nnz = h->nnz, chunks = (nnz + HY_CHUNK - 1) / HY_CHUNK;
    uint32_t *row_of = NULL;
    if (!rc) {
        core_rng rng;
        rng_seed(&rng, seed);
        float std = (float)config_float(cfg, o, "init_std");
        rc = alloc_side(&t, &st->item, std, &rng);
        if (!rc) rc = alloc_side(&t, &st->user, std, &rng);
    }
    for (int side = 0; side < 2 && !rc; side++) {
        hy_side *s = side ? &st->user : &st->item;
        size_t n = (size_t)(hy_side_features(s) ? hy_side_features(s) : 1) * t.row;
        t.G[side] = core_malloc(n * sizeof *t.G[side]);
        if (t.adam) t.M[side] = core_calloc(n, sizeof *t.M[side]);
        if (!t.G[side] || (t.adam && !t.M[side])) rc = core_oom("hybrid training");
        for (size_t e = 0; !rc && e < n; e++) t.G[side][e] = t.adam ? 0.0f : 1.0f;
    }
    if (!rc) {
        t.chunk_loss = core_calloc(chunks ? chunks : 1, sizeof *t.chunk_loss);
        row_of = core_malloc((nnz ? nnz : 1) * sizeof *row_of);
        if (!t.chunk_loss || !row_of) rc = core_oom("hybrid training");
    }
    if (!rc) {
        double sum = 0;
        for (size_t e = 0; e < nnz; e++) sum += h->values[e];
        t.mean = lossk == HY_SQUARED && nnz ? (float)(sum / (double)nnz) : 0.0f;
        for (uint32_t u = 0; u < nu; u++)
            for (size_t e = h->indptr[u]; e < h->indptr[u + 1]; e++) row_of[e] = u;
        t.row_of = row_of;
    }
    bool fit_als = strcmp(config_string(cfg, o, "fit"), "als") == 0;
    if (!rc && fit_als && lossk == HY_SQUARED)
        rc = core_error(AISLE_EINVAL, "model 'hybrid': fit=als is for implicit events (loss=warp or bpr)");
    hy_als_settings als_set = {(float)config_float(cfg, o, "content_reg"), (float)config_float(cfg, o, "cold_scale"),
                               (uint32_t)config_int(cfg, o, "cold_neighbours")};
    if (!rc && fit_als) rc = hy_fit_als(m, st, ds, cfg, o, &als_set);
    if (!rc && fit_als) rc = hy_stale_factors(m, st, ds, cat);
    for (int ep = 1; !rc && !fit_als && ep <= epochs && nnz; ep++) {
        t.epoch = ep;
        rc = core_parallel_for(threads, nnz, HY_CHUNK, hy_range, &t);
        if (rc) break;
        double loss = 0;
        for (size_t c = 0; c < chunks; c++) loss += t.chunk_loss[c];
        rc = core_progress_report(prog, ep, epochs, loss / (double)nnz, NAN);
    }
    if (!rc) rc = materialise(m, st, lossk == HY_SQUARED);
    core_free(st->cold_vectors);
    core_free(st->cold_factor);
    st->cold_vectors = NULL;
    st->cold_factor = NULL;
    if (!rc) {
        model_factors *f = &st->f;
        f->rule = m->weight_rule;
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
    core_free(row_of);
    core_free(t.chunk_loss);
    for (int side = 0; side < 2; side++) core_free(t.G[side]), core_free(t.M[side]);
    return rc; /* on failure the caller frees the model and with it the state */
}

static int hybrid_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                        core_progress *prog) {
    return hybrid_train_features(m, ds, cat, NULL, cfg, prog);
}

/* Cosine of the item factors without the bias coordinate (implicit
 * losses), so popularity does not make items alike. */
static int hybrid_similar(const aisle_model *m, uint32_t item, float *scores) {
    const model_factors *f = m->state;
    return model_factors_cosine(f, item, f->explicit_r ? f->dim : f->dim - 1, model_n_items(m), scores);
}

const model_ops model_hybrid_ops = {
    .name = "hybrid",
    .summary = "factorisation over item and user features (identity, catalog words, category, brand, price, "
               "attributes; LightFM-style), scores items and users without history",
    .options = hybrid_options,
    .flags = MODEL_FOLD_IN | MODEL_FACTORS,
    .train = hybrid_train,
    .train_features = hybrid_train_features,
    .score_items = model_factors_score_items,
    .score_one = model_factors_score_one,
    .similar_items = hybrid_similar,
    .explain = model_factors_explain,
    .explain_features = hy_explain_features,
    .update_user = model_factors_update_user,
    .describe = hy_describe,
    .save = hy_save,
    .load = hy_load,
    .free_state = hy_free_state,
    .add_catalog = hy_add_catalog,
};
