/* model_load.c - the public model loaders (bodies in
 * src/models/model_file.c): a model file stores the options the model was
 * trained with, and reading them back needs every option table. */
#include "api.h"
#include "models/models.h"

AISLE_API int aisle_model_load_buffer(aisle_model **out, const void *data, size_t len, const aisle_config *cfg) {
    return model_load_buffer(out, data, len, cfg, option_table_at);
}

AISLE_API int aisle_model_load(aisle_model **out, const char *path, const aisle_config *cfg) {
    return model_load_file(out, path, cfg, option_table_at);
}

/* Training an intent model may read a teacher model file (option teacher). */
AISLE_API int aisle_text_train(const aisle_texts *t, const aisle_config *cfg, aisle_model **out) {
    return model_text_train(t, cfg, option_table_at, out);
}
