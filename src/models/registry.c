/* registry.c - every model kind, in one place.  Adding a model kind is one
 * file in src/models/ plus one line in kinds.def. */
#include "models.h"
#include "features/features.h"

#define MODEL_KIND(name) extern const model_ops model_##name##_ops;
#include "kinds.def"
#undef MODEL_KIND

const model_ops *const model_kinds[] = {
#define MODEL_KIND(name) &model_##name##_ops,
#include "kinds.def"
#undef MODEL_KIND
    NULL};

/* Module option tables; each kind's own table follows them (see
 * option_table_at). */
extern const option_spec demo_options[]; /* src/data/generate.c */
static const option_spec *const module_tables[] = {
    core_options, data_options, io_options, serve_options, eval_options, features_options, demo_options,
    NULL};

const option_spec *option_table_at(int t) {
    int nm = (int)CORE_ARRAY_LEN(module_tables) - 1;
    if (t < 0) return NULL;
    if (t < nm) return module_tables[t];
    t -= nm;
    for (int k = 0; model_kinds[k]; k++)
        if (k == t) return model_kinds[k]->options;
    return NULL;
}
