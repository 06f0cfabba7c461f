/* weights.c - what implicit-feedback kinds make of aggregated pair weights.
 *
 * A shop export sums quantities per (customer, product): returns arrive as
 * negative rows (negative=subtract), so a pair can net to zero or below,
 * and wholesale orders give pairs of thousands of units.  Kinds that read
 * weights as confidence (als: c = 1 + alpha w), as co-occurrence mass
 * (itemknn) or as "the user chose this item" (popular, bpr, sasrec's
 * history) all go wrong on such pairs: a negative confidence pushes the
 * user away from an item they bought, one pair of 80,000 units outweighs
 * every other customer.  So, for every kind that does not predict ratings:
 *
 *   - a pair whose net weight is <= 0 (or NaN) is "no interaction": it is
 *     dropped from the model's history (not trained on, not excluded from
 *     recommendations, not counted in popularity);
 *   - where a kind reads a weight w (als and bpr fold-in, itemknn,
 *     popular_by=weight) it reads rule(w): ln(1 + w) with weight_scale=log
 *     (Hu, Koren & Volinsky 2008, section 4, for counts of unbounded
 *     range), w with linear, clipped at weight_cap when that is > 0.
 *
 * The history keeps the summed values (aisle_model_user_history shows
 * quantities, updates add to them); the rule is applied where they are
 * read, so sessions, updates and training agree.  The counts of dropped and
 * clipped pairs are stored on the model as the metrics "nonpositive_pairs"
 * and "capped_pairs" (only when non-zero), so a caller can warn once (the
 * CLI does).  Rating-predicting kinds (mf) keep values as given: ratings. */
#include "models.h"

#include <math.h>
#include <string.h>

void model_weight_params(const aisle_config *cfg, model_weight_rule *rule) {
    rule->log = strcmp(config_string(cfg, data_options, "weight_scale"), "log") == 0;
    rule->cap = (float)config_float(cfg, data_options, "weight_cap");
}

void model_weight_params_of(aisle_model *m) {
    /* files written before weight_scale existed were trained on linear
     * weights: an unset option means linear there, not today's default */
    const aisle_config *cfg = m->config;
    int set = 0;
    if (cfg && aisle_config_is_set(cfg, "weight_scale", &set) != AISLE_OK) set = 0;
    m->weight_rule.log = set && strcmp(config_string(cfg, data_options, "weight_scale"), "log") == 0;
    m->weight_rule.cap = cfg ? (float)config_float(cfg, data_options, "weight_cap") : 0.0f;
}

float model_weight_apply(const model_weight_rule *rule, float w) {
    if (!(w > 0.0f)) return 0.0f;
    if (rule->log) w = log1pf(w);
    if (rule->cap > 0.0f && w > rule->cap) w = rule->cap;
    return w;
}

int model_implicit_history(aisle_model *m, const aisle_config *cfg) {
    model_weight_params(cfg, &m->weight_rule);
    const model_weight_rule *rule = &m->weight_rule;
    data_csr *h = &m->history;
    size_t out = 0, dropped = 0, capped = 0;
    for (uint32_t u = 0; u < h->rows; u++) {
        size_t b = h->indptr[u], e = h->indptr[u + 1];
        h->indptr[u] = out;
        for (size_t k = b; k < e; k++) {
            float w = h->values[k];
            if (!(w > 0.0f)) {
                dropped++;
                continue;
            }
            if (rule->cap > 0.0f && (rule->log ? log1pf(w) : w) > rule->cap) capped++;
            h->indices[out] = h->indices[k];
            h->values[out] = w;
            h->last_time[out] = h->last_time[k];
            h->count[out] = h->count[k];
            out++;
        }
    }
    h->indptr[h->rows] = out;
    h->nnz = out;
    int rc = AISLE_OK;
    if (dropped) rc = aisle_model_set_metric(m, "nonpositive_pairs", (double)dropped);
    if (!rc && capped) rc = aisle_model_set_metric(m, "capped_pairs", (double)capped);
    return rc;
}

int model_pin_weight_rule(aisle_model *m) {
    /* the rule the model was trained with travels in its options, so a
     * loaded model reads session weights the same way */
    int rc = aisle_config_set_string(m->config, "weight_scale", m->weight_rule.log ? "log" : "linear");
    if (!rc) rc = aisle_config_set_float(m->config, "weight_cap", (double)m->weight_rule.cap);
    return rc;
}

int model_weighted_history(const aisle_model *m, data_csr *by_user, data_csr *by_item) {
    const data_csr *h = &m->history;
    memset(by_user, 0, sizeof *by_user);
    memset(by_item, 0, sizeof *by_item);
    size_t nz = h->nnz ? h->nnz : 1;
    by_user->rows = h->rows;
    by_user->cols = h->cols;
    by_user->nnz = h->nnz;
    by_user->indptr = core_malloc(((size_t)h->rows + 1) * sizeof *by_user->indptr);
    by_user->indices = core_malloc(nz * sizeof *by_user->indices);
    by_user->values = core_malloc(nz * sizeof *by_user->values);
    by_item->rows = h->cols;
    by_item->cols = h->rows;
    by_item->nnz = h->nnz;
    by_item->indptr = core_calloc((size_t)h->cols + 1, sizeof *by_item->indptr);
    by_item->indices = core_malloc(nz * sizeof *by_item->indices);
    by_item->values = core_malloc(nz * sizeof *by_item->values);
    if (!by_user->indptr || !by_user->indices || !by_user->values || !by_item->indptr || !by_item->indices ||
        !by_item->values) {
        data_csr_free(by_user);
        data_csr_free(by_item);
        return core_oom("weighted history");
    }
    memcpy(by_user->indptr, h->indptr, ((size_t)h->rows + 1) * sizeof *h->indptr);
    memcpy(by_user->indices, h->indices, h->nnz * sizeof *h->indices);
    for (size_t k = 0; k < h->nnz; k++) by_user->values[k] = model_weight_apply(&m->weight_rule, h->values[k]);
    /* transpose: count, prefix-sum, fill with indptr[i] as item i's
     * cursor, shift back; users are visited in ascending order, so each
     * item's users come out ascending */
    size_t *p = by_item->indptr;
    for (size_t k = 0; k < h->nnz; k++) p[h->indices[k] + 1]++;
    for (uint32_t i = 0; i < h->cols; i++) p[i + 1] += p[i];
    for (uint32_t u = 0; u < h->rows; u++) {
        for (size_t k = h->indptr[u]; k < h->indptr[u + 1]; k++) {
            size_t q = p[h->indices[k]]++;
            by_item->indices[q] = u;
            by_item->values[q] = by_user->values[k];
        }
    }
    for (uint32_t i = h->cols; i > 0; i--) p[i] = p[i - 1];
    p[0] = 0;
    return AISLE_OK;
}
