/* registry.c - every model kind, in one place.  Adding a model kind is one
 * file in src/models/ plus one line here. */
#include "models.h"
#include "features/features.h"

extern const model_ops model_popular_ops;
extern const model_ops model_itemknn_ops;
extern const model_ops model_mf_ops;
extern const model_ops model_als_ops;
extern const model_ops model_bpr_ops;
extern const model_ops model_sasrec_ops;

const model_ops *const model_kinds[] = {
    &model_popular_ops,
    &model_itemknn_ops,
    &model_mf_ops,
    &model_als_ops,
    &model_bpr_ops,
    &model_sasrec_ops,
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
