/*
 * api.h - the top layer: the few public functions that need the whole
 * picture.  It alone lists every option table (each module's and each
 * model kind's), so the layers below never name a table of a layer above
 * them; the public calls that look an option up by name are thin wrappers
 * here that pass option_table_at down (src/core/config.c,
 * src/models/model_file.c hold their bodies).  Nothing below includes
 * this header.
 */
#ifndef AISLE_API_H
#define AISLE_API_H

#include "core/core.h"

/* Table t of every option table: the module tables (core, data, io,
 * serve, eval, features, demo, search), then each model kind's, in registry
 * order; NULL past the end.  An option_tables enumerator. */
const option_spec *option_table_at(int t);

#endif /* AISLE_API_H */
