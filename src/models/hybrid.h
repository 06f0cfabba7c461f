/*
 * hybrid.h - what the files of the hybrid kind share (hybrid.c trains,
 * hybrid_features.c turns catalogs and shopper attributes into features,
 * hybrid_state.c keeps, saves, loads and explains the trained features).
 *
 * Both sides are sums of features (LightFM): an item's vector and bias
 * are the weighted sum of its features' rows, a user's likewise.  Rows are
 * k + 1 floats: k factors, then the bias.  Identity features come first in
 * each table (items / users of the training events, in model order), then
 * the named ones ("word: mug", "category: Kitchen > Mugs", "country: UK").
 */
#ifndef AISLE_MODELS_HYBRID_H
#define AISLE_MODELS_HYBRID_H
#include "models.h"

enum { HY_BPR = 0, HY_WARP = 1, HY_SQUARED = 2 };

/* Entity -> weighted features, CSR; each entity's weights sum to 1. */
typedef struct hy_table {
    uint32_t rows;
    size_t *ptr;  /* rows + 1 */
    uint32_t *idx;
    float *w;
} hy_table;

void hy_table_free(hy_table *t);

/* One side's features: the identity count, display names of the others,
 * the entity -> feature table and the embedding rows. */
typedef struct hy_side {
    uint32_t n_identity;
    core_keys names;     /* feature n_identity + j is names[j] */
    hy_table table;
    float *emb;          /* (n_identity + names.n) x row */
} hy_side;

void hy_side_free(hy_side *s);
static inline uint32_t hy_side_features(const hy_side *s) { return s->n_identity + (uint32_t)s->names.n; }

/* The state of a trained hybrid: serving factors first (MODEL_FACTORS),
 * then the features they were summed from, kept for explain_features.
 * Files written before the features were saved load with has_features
 * false. */
typedef struct hy_state {
    model_factors f;
    bool has_features;
    uint32_t k, row;
    hy_side item, user;
    float *cold_vectors; /* fit=als, cold_neighbours > 0: the vectors (k floats each) of products n_identity..,
                          * NULL rows skipped by a NaN first value; used once by training, never saved */
    float *cold_factor;  /* fit=als with listed_attribute: per product n_identity.. the factor on its vector
                          * (hy_listed_factor); NULL: none; used once by training, never saved */
} hy_state;

/* v = sum of the weighted feature rows idx[0..n) (row floats).  The one
 * feature-to-vector rule: training (materialise) and products or shoppers
 * added to a trained model (hybrid_grow.c) both sum through it, in the
 * row's order, so a product added later gets bit for bit the vector it
 * would have had in the training catalog. */
static inline void hy_sum_features(const hy_side *s, uint32_t row, const uint32_t *idx, const float *w, size_t n,
                                   float *v) {
    memset(v, 0, row * sizeof *v);
    for (size_t j = 0; j < n; j++) model_axpy(v, w[j], s->emb + (size_t)idx[j] * row, row);
}

/* v = sum of entity e's feature rows (row floats). */
static inline void hy_sum(const hy_side *s, uint32_t row, uint32_t e, float *v) {
    const hy_table *t = &s->table;
    hy_sum_features(s, row, t->idx + t->ptr[e], t->w + t->ptr[e], t->ptr[e + 1] - t->ptr[e], v);
}

/* Writes the summed row q (k factors, then the bias) of item (side 0) or
 * user (side 1) e into the serving factors: explicit models keep the bias
 * apart, implicit ones carry the item bias as the last coordinate against
 * a constant 1 in the user's. */
static inline void hy_put_vector(model_factors *f, int side, uint32_t e, uint32_t k, const float *q) {
    float *dst; /* a new row: contiguous in the matrix or the fp16 side's added block, never fails */
    model_factors_row_w(f, side ? MODEL_SIDE_USERS : MODEL_SIDE_ITEMS, e, &dst);
    memcpy(dst, q, (size_t)k * sizeof *q);
    if (f->explicit_r)
        *(side ? model_user_bias(f, e) : f->item_bias + e) = q[k];
    else
        dst[k] = side ? 1.0f : q[k];
}

/* ---- hybrid_features.c ---- */

/* The named features of one catalog row, interned into *names, in the
 * order first met, each once, at most HY_MAX_FEATURES. */
enum { HY_MAX_FEATURES = 256 };
typedef struct hy_feats {
    core_keys *names;
    const char *skip_attribute; /* NULL or "": none; else this attribute is no feature (listed_attribute) */
    uint32_t ids[HY_MAX_FEATURES];
    size_t n;
} hy_feats;
/* Features of row p of cat into f->ids (f->n reset first).  Training
 * interns into the side's names (then prunes the rare ones); adding to a
 * trained model interns into a scratch dictionary and keeps the names the
 * model has (hybrid_grow.c): one rule for both. */
int hy_row_features(hy_feats *f, const aisle_catalog *cat, size_t p);

/* Catalog products (items) or attribute-table rows (users) that the
 * training events do not mention join the model's dictionaries (and the
 * history gets empty rows for such users). */
int hy_add_catalog_items(aisle_model *m, const aisle_catalog *cat);
int hy_add_attribute_users(aisle_model *m, const aisle_catalog *users);

/* Builds side s for the model's items (users): identity features for the
 * first n_identity entities (those of the training events) when
 * `identity`, then the named features of each entity's row of cat (NULL:
 * none) that at least min_support of those first n_identity entities
 * have.  Items: title and description
 * words, category levels, brand, price band, attributes; users: every
 * attribute of the user table, plus its category/brand/text fields when
 * present.  An entity with neither gets no features (a zero vector). */
int hy_build_item_side(hy_side *s, const aisle_model *m, uint32_t n_identity, bool identity, const aisle_catalog *cat,
                       uint32_t min_support);
int hy_build_user_side(hy_side *s, const aisle_model *m, uint32_t n_identity, bool identity,
                       const aisle_catalog *users, uint32_t min_support);

/* ---- hybrid.c ---- */

/* Loss of one training sample and its gradient (dL/d...) with respect to
 * the user row p, the positive item row qi and the negative item row qj
 * (rows of k + 1: factors then bias; qj and gj unused by squared).
 * squared: L = (target - (target_mean + p.q + p_b + q_b))^2 / 2 with
 * target_mean in `mean`; bpr: L = -ln sigmoid(x_i - x_j); warp: L =
 * rank_weight * (1 - x_i + x_j), x = p.q + q_b.  Exposed for the gradient
 * checks of tests/test_hybrid.c. */
float hy_sample_grad(int loss, const float *p, const float *qi, const float *qj, uint32_t k, float mean,
                     float target, float rank_weight, float *gp, float *gi, float *gj);

/* ---- hybrid_als.c ---- */

/* The settings of fit=als: content_reg, cold_scale, cold_neighbours. */
typedef struct hy_als_settings {
    float lambda, cold_scale;
    uint32_t neighbours;
} hy_als_settings;

/* fit=als: trains als on ds with cfg's shared options (hybrid_options
 * unset but factors), then sets st's embeddings: shopper identities to the
 * ALS user vectors, item features to cold_scale times the ridge fit
 * (lambda) of the ALS item vectors on the catalog features, item
 * identities to the residuals; with neighbours > 0 also st->cold_vectors,
 * each product without history mapped to cold_scale times the similarity-
 * weighted mean ALS vector of its `neighbours` most similar products of
 * the events.  The sides are built and allocated; both need identities.
 * AISLE_OK, AISLE_EINVAL, AISLE_ENOMEM or what als training returns. */
int hy_fit_als(aisle_model *m, hy_state *st, const aisle_dataset *ds, const aisle_config *cfg,
               const option_spec *hybrid_options, const hy_als_settings *set);

/* Neighbour-mapped vectors (fit=als cold_neighbours) of n_cold products
 * without history, product c's features rows_idx[rows_ptr[c] ..
 * rows_ptr[c + 1]) (ids as in st->item.table): k floats each into
 * out_vectors, scale times the similarity-weighted mean of v's rows (stride
 * v_stride; v NULL: st->f's item rows, read through model_factors_item_row
 * as a mapped fp16 model serves them) of its n_nb most similar products of
 * the events; a product
 * sharing no feature with them (or n_nb 0) gets NaN as its first value
 * (keep its features' vector).  Training maps the catalog's products
 * without events with the ALS vectors; products added later
 * (hybrid_grow.c) with the served vectors of the products of the events,
 * the same up to rounding.  AISLE_OK or AISLE_ENOMEM. */
int hy_neighbour_vectors(const hy_state *st, const float *v, size_t v_stride, uint32_t n_nb, float scale,
                         const size_t *rows_ptr, const uint32_t *rows_idx, uint32_t n_cold, float *out_vectors);

/* The catalog attribute that holds listing times (option
 * listed_attribute), or NULL when none is set. */
const char *hy_listed_attribute(const aisle_model *m);

/* fit=als with listed_attribute: the factor on the vector of catalog row p
 * (a product without events): cold_stale_factor when the row's listing
 * time is more than cold_stale_days before cold_reference_time (stale),
 * else 1; a row without the attribute (or with an empty value) is not
 * stale.  AISLE_OK or
 * AISLE_EFORMAT (the value is not a number of seconds; the message names
 * the product and the attribute). */
int hy_listed_factor(const aisle_model *m, const aisle_catalog *cat, size_t p, float *factor);

/* Training's side of the rule: sets cold_reference_time in the model's
 * options to the newest event time of ds when it is 0, then st->cold_factor
 * for the products n_identity.. of the model from their catalog rows
 * (left NULL without listed_attribute).  AISLE_OK, AISLE_EFORMAT or
 * AISLE_ENOMEM. */
int hy_stale_factors(aisle_model *m, hy_state *st, const aisle_dataset *ds, const aisle_catalog *cat);

/* ---- hybrid_grow.c ---- */

/* model_ops.add_catalog of hybrid: the rows of cat whose keys the model
 * lacks join it as items (users: side 1), their vectors summed from the
 * model's features (names the model does not have are dropped, as rare
 * names are at training); see aisle_model_add_items. */
int hy_add_catalog(aisle_model *m, const aisle_catalog *cat, int side, size_t *added);

/* ---- hybrid_state.c ---- */

int hy_save(const aisle_model *m, io_writer *w);
int hy_load(aisle_model *m, io_reader *r);
void hy_free_state(aisle_model *m);
int hy_describe(const aisle_model *m, core_buf *out);
int hy_explain_features(const aisle_model *m, uint32_t user, uint32_t item, size_t max, const char **names,
                        float *contrib, size_t *n_out);

#endif /* AISLE_MODELS_HYBRID_H */
