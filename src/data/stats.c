/* stats.c - dataset statistics: sizes, density, per-event-type counts,
 * time range, and the text summary of aisle_dataset_describe. */
#include "data.h"

#include <string.h>
#include <time.h>

AISLE_API int aisle_dataset_pair_count(const aisle_dataset *ds, size_t *out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_dataset_pair_count: NULL argument");
    const data_csr *m;
    int rc = data_by_user(ds, &m);
    if (!rc) *out = m->nnz;
    return rc;
}

AISLE_API int aisle_dataset_density(const aisle_dataset *ds, double *out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_dataset_density: NULL argument");
    size_t pairs;
    int rc = aisle_dataset_pair_count(ds, &pairs);
    if (rc) return rc;
    double cells = (double)ds->users.n * (double)ds->items.n;
    *out = cells > 0 ? (double)pairs / cells : 0.0;
    return AISLE_OK;
}

AISLE_API int aisle_dataset_event_type_count(const aisle_dataset *ds, const char *event, size_t *out) {
    if (!ds || !event || !out) return core_error(AISLE_EINVAL, "aisle_dataset_event_type_count: NULL argument");
    int64_t type = keys_find(&ds->event_names, event, strlen(event));
    if (type < 0) return core_error(AISLE_ENOTFOUND, "the dataset has no event type '%s'", event);
    size_t n = 0;
    for (size_t e = 0; e < ds->n_events; e++) n += ds->events[e].type == (uint32_t)type;
    *out = n;
    return AISLE_OK;
}

AISLE_API int aisle_dataset_time_range(const aisle_dataset *ds, int64_t *first, int64_t *last) {
    if (!ds) return core_error(AISLE_EINVAL, "aisle_dataset_time_range: NULL dataset");
    int64_t lo = 0, hi = 0;
    bool any = false;
    for (size_t e = 0; e < ds->n_events; e++) {
        int64_t t = ds->events[e].time;
        if (!t) continue; /* 0 = unknown */
        if (!any || t < lo) lo = t;
        if (!any || t > hi) hi = t;
        any = true;
    }
    if (first) *first = lo;
    if (last) *last = hi;
    return AISLE_OK;
}

static void utc_date(int64_t t, char *out, size_t len) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm)) strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
    else snprintf(out, len, "?");
}

AISLE_API int aisle_dataset_describe(const aisle_dataset *ds, char *buf, size_t len, size_t *needed) {
    if (!ds || (!buf && len)) return core_error(AISLE_EINVAL, "aisle_dataset_describe: NULL argument");
    size_t pairs;
    double density;
    int rc = aisle_dataset_pair_count(ds, &pairs);
    if (!rc) rc = aisle_dataset_density(ds, &density);
    if (rc) return rc;
    size_t ntypes = ds->event_names.n;
    size_t *count = core_calloc(ntypes ? ntypes : 1, sizeof *count);
    if (!count) return core_oom("dataset describe");
    for (size_t e = 0; e < ds->n_events; e++) count[ds->events[e].type]++;
    int64_t first, last;
    aisle_dataset_time_range(ds, &first, &last);
    core_buf b;
    buf_init(&b);
    rc = buf_printf(&b, "users: %zu\nitems: %zu\nevents: %zu\npairs: %zu\ndensity: %.6g\nexplicit ratings: %s\n",
                    ds->users.n, ds->items.n, ds->n_events, pairs, density, ds->has_explicit ? "yes" : "no");
    if (!rc && first) {
        char a[32], z[32];
        utc_date(first, a, sizeof a);
        utc_date(last, z, sizeof z);
        rc = buf_printf(&b, "time range: %s .. %s UTC\n", a, z);
    } else if (!rc) {
        rc = buf_printf(&b, "time range: none (no timestamps)\n");
    }
    for (size_t t = 0; t < ntypes && !rc; t++)
        if (count[t] || t < DATA_EVENT_CUSTOM)
            rc = buf_printf(&b, "events %s: %zu (weight %g)\n", keys_at(&ds->event_names, (uint32_t)t), count[t],
                            (double)ds->event_weights[t]);
    core_free(count);
    if (!rc) rc = buf_export(&b, buf, len, needed);
    buf_free(&b);
    return rc;
}
