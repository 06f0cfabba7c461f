/* grow.c - users and items added to a trained model while it serves
 * (aisle_server_add_user, aisle_server_add_item; docs/SERVING.md), and
 * products and shoppers added from a catalog (aisle_model_add_items,
 * aisle_model_add_users, aisle_server_add_items).
 *
 * The server calls these under the version's write lock, so no reader sees
 * the model between two steps.  Each call is all or nothing: the generic
 * arrays are made bigger first (a bigger array holding the same rows is
 * the same model), then the key is added, then the kind grows its state
 * (model_ops.grow, itself all or nothing); a failure there takes the key
 * back out.  Only after that do the counts change, which cannot fail. */
#include "serve.h"

#include <stdatomic.h>
#include <string.h>

static int cannot(const aisle_model *m, const char *what) {
    return core_error(AISLE_EUNSUPPORTED, "model kind '%s' cannot add %s while serving; retrain to include them",
                      m->ops->name, what);
}

int serve_add_user(aisle_model *m, const char *key, const char *const *item_keys, const float *weights, size_t n) {
    if (keys_find(&m->users, key, strlen(key)) >= 0) return aisle_update_user(m, key, item_keys, weights, n);
    if (!m->ops->grow || !m->ops->update_user) return cannot(m, "users");
    if (!key[0]) return core_error(AISLE_EINVAL, "a new user needs a non-empty key");
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    /* the new user's row lives in the overlay (models.h): the CSR, mapped
     * or not, is never copied for a new user */
    uint32_t u;
    int rc = keys_intern(&m->users, key, strlen(key), &u, NULL);
    if (!rc) rc = model_overlay_reserve(m, u);
    if (!rc) rc = m->ops->grow(m, nu, ni, NULL, 0);
    /* the events as for a known user: merged into the (empty) row, then
     * the kind fits the user (fold-in for factor kinds) */
    if (!rc) rc = aisle_update_user(m, key, item_keys, weights, n);
    if (rc) keys_truncate(&m->users, nu);
    return rc;
}

int serve_add_item(aisle_model *m, const char *key, const float *vector, size_t dim) {
    if (keys_find(&m->items, key, strlen(key)) >= 0)
        return core_error(AISLE_EINVAL, "item '%s' is already in the model", key);
    if (!m->ops->grow) return cannot(m, "items");
    if (!key[0]) return core_error(AISLE_EINVAL, "a new item needs a non-empty key");
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    float *pop = core_reallocarray(m->popularity, (size_t)ni + 1, sizeof *pop);
    if (!pop) return core_oom("adding an item");
    m->popularity = pop;
    /* a stored int8 copy (store_int8) is extended or dropped by the kind's grow */
    bool had_stored = serve_factor_kind(m) && ((const model_factors *)m->state)->int8;
    uint32_t j;
    int rc = keys_intern(&m->items, key, strlen(key), &j, NULL);
    if (!rc) rc = m->ops->grow(m, nu, ni, vector, dim);
    if (rc) {
        keys_truncate(&m->items, ni);
        return rc;
    }
    m->popularity[ni] = 0.0f; /* no user has it yet */
    m->history.cols = ni + 1;
    serve_quant_added_item(m, ni, had_stored); /* the int8 item index gets the row */
    return AISLE_OK;
}

int serve_add_catalog(aisle_model *m, const aisle_catalog *cat, int side, size_t *added) {
    *added = 0;
    if (!m->ops->add_catalog)
        return core_error(AISLE_EUNSUPPORTED, "model kind '%s' cannot add %s from a catalog (hybrid and pair can); "
                                              "retrain to include them",
                          m->ops->name, side ? "shoppers" : "products");
    uint32_t ni = model_n_items(m);
    bool had_stored = serve_factor_kind(m) && ((const model_factors *)m->state)->int8;
    int rc = m->ops->add_catalog(m, cat, side, added);
    if (!rc && model_n_items(m) > ni) serve_quant_added_item(m, ni, had_stored);
    return rc;
}
