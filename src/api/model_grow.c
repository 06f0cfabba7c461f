/* model_grow.c - products and shoppers joining a trained or loaded model
 * from a catalog (aisle_model_add_items, aisle_model_add_users): argument
 * checks here, the work in src/serve/grow.c and the kind's add_catalog
 * (hybrid: src/models/hybrid_grow.c). */
#include "api.h"
#include "serve/serve.h"

static int add_catalog(aisle_model *model, const aisle_catalog *cat, int side, size_t *added_out) {
    size_t added = 0;
    if (added_out) *added_out = 0;
    if (!model || !cat)
        return core_error(AISLE_EINVAL, "aisle_model_add_%s: NULL model or catalog", side ? "users" : "items");
    int rc = serve_add_catalog(model, cat, side, &added);
    if (!rc && added_out) *added_out = added;
    return rc;
}

AISLE_API int aisle_model_add_items(aisle_model *model, const aisle_catalog *items, size_t *added_out) {
    return add_catalog(model, items, 0, added_out);
}

AISLE_API int aisle_model_add_users(aisle_model *model, const aisle_catalog *users, size_t *added_out) {
    return add_catalog(model, users, 1, added_out);
}
