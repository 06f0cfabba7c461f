/* options.c - the list of every option table, and the public option and
 * config calls that look a name up in it. */
#include "api.h"
#include "bert/bert.h"
#include "data/data.h"
#include "eval/eval.h"
#include "features/features.h"
#include "forecast/forecast.h"
#include "io/io.h"
#include "models/models.h"
#include "search/search.h"
#include "serve/serve.h"
#include "text/text.h"

#include <stdio.h>

/* Module option tables; each kind's own table follows them. */
static const option_spec *const module_tables[] = {
    core_options, data_options, io_options, serve_options, eval_options, features_options, demo_options,
    search_options, bert_options, forecast_options, NULL};

const option_spec *option_table_at(int t) {
    int nm = (int)CORE_ARRAY_LEN(module_tables) - 1;
    if (t < 0) return NULL;
    if (t < nm) return module_tables[t];
    t -= nm;
    for (int k = 0; model_kinds[k]; k++, t--)
        if (t == 0) return model_kinds[k]->options;
    /* then each text architecture's own table (options of the intent kind) */
    for (int k = 0; model_text_arch_at(k); k++, t--)
        if (t == 0) return model_text_arch_at(k)->options;
    return NULL;
}

/* ---- config calls by option name (bodies in src/core/config.c) ---- */

AISLE_API int aisle_config_set_int(aisle_config *cfg, const char *key, int64_t value) {
    return config_set_int(cfg, option_table_at, key, value);
}

AISLE_API int aisle_config_set_float(aisle_config *cfg, const char *key, double value) {
    return config_set_float(cfg, option_table_at, key, value);
}

AISLE_API int aisle_config_set_string(aisle_config *cfg, const char *key, const char *value) {
    return config_set_string(cfg, option_table_at, key, value);
}

AISLE_API int aisle_config_set(aisle_config *cfg, const char *key, const char *value) {
    return config_set(cfg, option_table_at, key, value);
}

AISLE_API int aisle_config_unset(aisle_config *cfg, const char *key) {
    return config_unset(cfg, option_table_at, key);
}

AISLE_API int aisle_config_parse(aisle_config *cfg, const char *text) {
    return config_parse(cfg, option_table_at, text);
}

AISLE_API int aisle_config_get_int(const aisle_config *cfg, const char *key, int64_t *out) {
    return config_get_int(cfg, option_table_at, key, out);
}

AISLE_API int aisle_config_get_float(const aisle_config *cfg, const char *key, double *out) {
    return config_get_float(cfg, option_table_at, key, out);
}

AISLE_API int aisle_config_get_string(const aisle_config *cfg, const char *key, char *buf, size_t len) {
    return config_get_string(cfg, option_table_at, key, buf, len);
}

AISLE_API int aisle_config_is_set(const aisle_config *cfg, const char *key, int *out) {
    return config_is_set(cfg, option_table_at, key, out);
}

/* ---- the option list, for help and docs ---- */

AISLE_API int aisle_option_count(void) { return option_total(option_table_at); }

/* Ranges are rendered from the spec on demand into a thread-local buffer
 * (valid until the calling thread's next call), which keeps the option
 * table const and the library free of shared mutable state. */
static _Thread_local char range_text[128];

AISLE_API int aisle_option_info(int index, const char **name, int *type, const char **default_text,
                                const char **range, const char **scope, const char **help) {
    const option_spec *o = option_at(option_table_at, index);
    if (!o) return core_error(AISLE_ERANGE, "option index %d out of range [0, %d)", index, option_total(option_table_at));
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
