/* explain_features.c - aisle_explain_features: what drove a score, named
 * by feature ("brand: Acme", "country: UK").  The kind computes the
 * contributions (model_ops.explain_features; hybrid_state.c for hybrid);
 * this file checks arguments and resolves keys. */
#include "serve.h"

#include <string.h>

AISLE_API int aisle_explain_features(const aisle_model *m, const char *user_key, const char *item_key, size_t max,
                                     const char **features_out, float *contrib_out, size_t *n_out) {
    if (!m || !user_key || !item_key || !n_out)
        return core_error(AISLE_EINVAL, "aisle_explain_features: NULL argument");
    if (!m->ops->explain_features)
        return core_error(AISLE_EUNSUPPORTED, "model kind '%s' does not explain by features (hybrid does)",
                          m->ops->name);
    int64_t u = keys_find(&m->users, user_key, strlen(user_key));
    if (u < 0) return core_error(AISLE_ENOTFOUND, "unknown user '%s'", user_key);
    int64_t i = keys_find(&m->items, item_key, strlen(item_key));
    if (i < 0) return core_error(AISLE_ENOTFOUND, "unknown item '%s'", item_key);
    return m->ops->explain_features(m, (uint32_t)u, (uint32_t)i, max, features_out, contrib_out, n_out);
}
