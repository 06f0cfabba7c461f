/* arch.c - the text classifier architectures, in one place.  Adding one is
 * a file implementing text_arch_ops (text.h) plus one line here. */
#include "text.h"

#include <string.h>

const text_arch_ops *const text_archs[] = {
    &text_bag_ops,
    &text_transformer_ops,
    NULL};

const text_arch_ops *text_arch_find(const char *name) {
    for (int i = 0; text_archs[i]; i++)
        if (strcmp(text_archs[i]->name, name) == 0) return text_archs[i];
    return NULL;
}
