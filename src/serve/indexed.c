/* indexed.c - serving by dense indices, for callers that hold users and
 * items as index arrays (NumPy): scores of many (user, item) pairs, and
 * recommendations for many users as item indices.  Also the recommend
 * call that says whether the list is the popularity fallback. */
#include "serve.h"

#include <string.h>

AISLE_API int aisle_score_indexed(const aisle_model *m, const uint32_t *users, const uint32_t *items, size_t n,
                                  float *scores_out) {
    if (!m || (n && (!users || !items || !scores_out)))
        return core_error(AISLE_EINVAL, "aisle_score_indexed: NULL model, users, items or scores_out");
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    for (size_t p = 0; p < n; p++) {
        if (users[p] >= nu)
            return core_error(AISLE_ERANGE, "aisle_score_indexed: pair %zu: user index %u >= %u users", p, users[p], nu);
        if (items[p] >= ni)
            return core_error(AISLE_ERANGE, "aisle_score_indexed: pair %zu: item index %u >= %u items", p, items[p], ni);
    }
    /* kinds without score_one score all items of a user once and read the
     * pairs of consecutive equal users from that row */
    float *row = NULL;
    int64_t row_user = -1;
    int rc = AISLE_OK;
    for (size_t p = 0; !rc && p < n; p++) {
        model_query q;
        model_user_query(m, users[p], &q);
        if (m->ops->score_one) {
            rc = m->ops->score_one(m, &q, items[p], &scores_out[p]);
            continue;
        }
        if (!row && !(row = core_malloc((size_t)(ni ? ni : 1) * sizeof *row))) {
            rc = core_oom("aisle_score_indexed");
            break;
        }
        if (row_user != (int64_t)users[p]) {
            rc = m->ops->score_items(m, &q, row);
            row_user = rc ? -1 : (int64_t)users[p];
        }
        if (!rc) scores_out[p] = row[items[p]];
    }
    core_free(row);
    return rc;
}

AISLE_API int aisle_recommend_v2(const aisle_model *m, const char *user_key, size_t k, const aisle_rec_options *opts,
                                 const char **items_out, float *scores_out, size_t *n_out, int *popular_fallback) {
    if (!m || !user_key || !n_out)
        return core_error(AISLE_EINVAL, "aisle_recommend_v2: NULL model, user_key or n_out");
    int rc = aisle_recommend(m, user_key, k, opts, items_out, scores_out, n_out);
    if (!rc && popular_fallback) *popular_fallback = keys_find(&m->users, user_key, strlen(user_key)) < 0;
    return rc;
}
