/* options.c - the generic option table and lookups over option tables.
 *
 * Each module keeps its own table (core_options here, data_options in
 * src/data, ...), and each model kind carries its own table in its ops.
 * The top layer (src/api/options.c) enumerates them all and passes that
 * enumerator to these lookups; they walk the tables in order, so the first
 * declaration of a name gives its type for validation.  A name declared by
 * several tables must have the same type in each (a kind may narrow the
 * range or change the default). */
#include "core.h"

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

const option_spec *option_find(option_tables tables, const char *name) {
    for (int t = 0; tables(t); t++) {
        const option_spec *o = option_find_in(tables(t), name);
        if (o) return o;
    }
    return NULL;
}

int option_total(option_tables tables) {
    int n = 0;
    for (int t = 0; tables(t); t++)
        for (const option_spec *o = tables(t); o->name; o++) n++;
    return n;
}

const option_spec *option_at(option_tables tables, int i) {
    if (i < 0) return NULL;
    for (int t = 0; tables(t); t++)
        for (const option_spec *o = tables(t); o->name; o++)
            if (i-- == 0) return o;
    return NULL;
}
