/* report.c - the load report of a dataset or catalog: counts and the first
 * messages about skipped rows, kept by the loaders (load.c, catalog_load.c)
 * and read through the public getters here, so both kinds of load report
 * the same way and dataset.c/catalog.c need only data_report_clear. */
#include "data.h"

#include <string.h>

void data_report_clear(data_report *r) {
    for (size_t i = 0; i < r->n_messages; i++) core_free(r->messages[i]);
    memset(r, 0, sizeof *r);
}

int data_report_keep_message(data_report *r) {
    if (r->n_messages >= DATA_REPORT_MESSAGES) return AISLE_OK;
    char *m = core_strdup(aisle_last_error());
    if (!m) return core_oom("load report");
    r->messages[r->n_messages++] = m;
    return AISLE_OK;
}

static void report_counts(const data_report *r, size_t *rows_read, size_t *rows_loaded, size_t *rows_skipped) {
    if (rows_read) *rows_read = r->read;
    if (rows_loaded) *rows_loaded = r->loaded;
    if (rows_skipped) *rows_skipped = r->skipped;
}

static int report_message(const data_report *r, size_t index, const char **out) {
    if (index >= r->n_messages)
        return core_error(AISLE_ERANGE, "load message %zu out of range [0, %zu)", index, r->n_messages);
    *out = r->messages[index];
    return AISLE_OK;
}

AISLE_API int aisle_dataset_load_report(const aisle_dataset *ds, size_t *rows_read, size_t *rows_loaded,
                                        size_t *rows_skipped, size_t *rows_filtered) {
    if (!ds) return core_error(AISLE_EINVAL, "aisle_dataset_load_report: NULL dataset");
    report_counts(&ds->report, rows_read, rows_loaded, rows_skipped);
    if (rows_filtered) *rows_filtered = ds->report.filtered;
    return AISLE_OK;
}

AISLE_API int aisle_dataset_load_message(const aisle_dataset *ds, size_t index, const char **out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_dataset_load_message: NULL argument");
    return report_message(&ds->report, index, out);
}

AISLE_API int aisle_catalog_load_report(const aisle_catalog *c, size_t *rows_read, size_t *rows_loaded,
                                        size_t *rows_skipped) {
    if (!c) return core_error(AISLE_EINVAL, "aisle_catalog_load_report: NULL catalog");
    report_counts(&c->report, rows_read, rows_loaded, rows_skipped);
    return AISLE_OK;
}

AISLE_API int aisle_catalog_load_message(const aisle_catalog *c, size_t index, const char **out) {
    if (!c || !out) return core_error(AISLE_EINVAL, "aisle_catalog_load_message: NULL argument");
    return report_message(&c->report, index, out);
}
