/* registry.c - every model kind, in one place.  Adding a model kind is one
 * file in src/models/ plus one line in kinds.def. */
#include "models.h"

#define MODEL_KIND(name) extern const model_ops model_##name##_ops;
#include "kinds.def"
#undef MODEL_KIND

const model_ops *const model_kinds[] = {
#define MODEL_KIND(name) &model_##name##_ops,
#include "kinds.def"
#undef MODEL_KIND
    NULL};
