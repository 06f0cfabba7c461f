/* options.c - the option table: every option aisle knows, declared once.
 *
 * Each module keeps its own table (core_options here, data_options in
 * src/data, ...), and each model kind carries its own table in its ops.
 * option_table_at() (src/models/registry.c) enumerates them all; lookups
 * walk them in order, so the first declaration of a name gives its type
 * for validation.  A name declared by several tables must have the same
 * type in each (a kind may narrow the range or change the default). */
#include "core.h"

#include <stdio.h>
#include <string.h>

const option_spec core_options[] = {
    {"threads", AISLE_OPTION_INT, 0, 256, "0", NULL, "all",
     "Worker threads for training, batch serving and evaluation; 0 uses every online CPU."},
    {"seed", AISLE_OPTION_INT, 0, 9007199254740992.0, "42", NULL, "all",
     "Random seed; with threads=1 the same seed gives bit-identical results."},
    {"blas_threads", AISLE_OPTION_INT, 0, 256, "0", NULL, "all",
     "If > 0, sets OpenBLAS's process-wide thread count (openblas_set_num_threads) before "
     "training. 0 leaves the BLAS setting alone. aisle calls BLAS from one thread at a time."},
    {"model", AISLE_OPTION_STRING, 0, 0, "als", NULL, "all",
     "Model kind to train (popular, itemknn, mf, als, bpr, ...; see aisle_model_kind_count)."},
    OPTION_END};


const option_spec *option_find_in(const option_spec *table, const char *name) {
    if (!table || !name) return NULL;
    for (const option_spec *o = table; o->name; o++)
        if (strcmp(o->name, name) == 0) return o;
    return NULL;
}

const option_spec *option_find(const char *name) {
    for (int t = 0; option_table_at(t); t++) {
        const option_spec *o = option_find_in(option_table_at(t), name);
        if (o) return o;
    }
    return NULL;
}

int option_total(void) {
    int n = 0;
    for (int t = 0; option_table_at(t); t++)
        for (const option_spec *o = option_table_at(t); o->name; o++) n++;
    return n;
}

const option_spec *option_at(int i) {
    if (i < 0) return NULL;
    for (int t = 0; option_table_at(t); t++)
        for (const option_spec *o = option_table_at(t); o->name; o++)
            if (i-- == 0) return o;
    return NULL;
}

AISLE_API int aisle_option_count(void) { return option_total(); }

/* Ranges are rendered from the spec on demand into a thread-local buffer
 * (valid until the calling thread's next call), which keeps the option
 * table const and the library free of shared mutable state. */
static _Thread_local char range_text[128];

AISLE_API int aisle_option_info(int index, const char **name, int *type, const char **default_text,
                                const char **range, const char **scope, const char **help) {
    const option_spec *o = option_at(index);
    if (!o) return core_error(AISLE_ERANGE, "option index %d out of range [0, %d)", index, option_total());
    if (name) *name = o->name;
    if (type) *type = o->type;
    if (default_text) *default_text = o->def;
    if (scope) *scope = o->scope;
    if (help) *help = o->help;
    if (range) {
        switch (o->type) {
        case AISLE_OPTION_INT:
            snprintf(range_text, sizeof range_text, "[%.0f, %.0f]", o->min, o->max);
            break;
        case AISLE_OPTION_FLOAT:
            snprintf(range_text, sizeof range_text, "[%g, %g]", o->min, o->max);
            break;
        case AISLE_OPTION_BOOL:
            snprintf(range_text, sizeof range_text, "true|false");
            break;
        default:
            snprintf(range_text, sizeof range_text, "%s", o->choices ? o->choices : "text");
        }
        *range = range_text;
    }
    return AISLE_OK;
}
