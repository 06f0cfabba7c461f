/* indexed.c - events given as arrays of dense indices (a COO matrix), for
 * callers that hold their data as index arrays (NumPy, scipy.sparse):
 * one call instead of one aisle_dataset_add_event per event.
 *
 * Index i is the key "i" (decimal).  The keys "0".."n_users-1" and
 * "0".."n_items-1" are interned first, in order, so on an empty dataset
 * the dataset's (and a trained model's) index of user i is i: factor rows
 * line up with the caller's matrix rows. */
#include "data.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int intern_range(core_keys *k, size_t n, uint32_t *map) {
    char key[24];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "%zu", i);
        int rc = keys_intern(k, key, (size_t)len, &map[i], NULL);
        if (rc) return rc;
    }
    return AISLE_OK;
}

AISLE_API int aisle_dataset_add_indexed(aisle_dataset *ds, size_t n_users, size_t n_items, const uint32_t *users,
                                        const uint32_t *items, const float *values, const int64_t *timestamps,
                                        size_t n, const char *event) {
    if (!ds || (n && (!users || !items)))
        return core_error(AISLE_EINVAL, "aisle_dataset_add_indexed: NULL dataset, users or items");
    if (n_users > UINT32_MAX - 1 || n_items > UINT32_MAX - 1)
        return core_error(AISLE_ERANGE, "aisle_dataset_add_indexed: %zu users, %zu items (limit 2^32-2)", n_users,
                          n_items);
    /* check everything before changing anything */
    for (size_t e = 0; e < n; e++) {
        if (users[e] >= n_users)
            return core_error(AISLE_ERANGE, "aisle_dataset_add_indexed: event %zu: user index %u >= n_users %zu", e,
                              users[e], n_users);
        if (items[e] >= n_items)
            return core_error(AISLE_ERANGE, "aisle_dataset_add_indexed: event %zu: item index %u >= n_items %zu", e,
                              items[e], n_items);
        if (values && !isfinite(values[e]))
            return core_error(AISLE_EINVAL, "aisle_dataset_add_indexed: event %zu: value is not finite", e);
    }
    if (!event || !event[0]) event = "view";
    size_t nu = ds->users.n, ni = ds->items.n, ne = ds->event_names.n, nev = ds->n_events;
    bool had_explicit = ds->has_explicit;
    uint32_t *umap = core_malloc((n_users ? n_users : 1) * sizeof *umap);
    uint32_t *imap = core_malloc((n_items ? n_items : 1) * sizeof *imap);
    int rc = (!umap || !imap) ? core_oom("aisle_dataset_add_indexed") : AISLE_OK;
    if (!rc) rc = intern_range(&ds->users, n_users, umap);
    if (!rc) rc = intern_range(&ds->items, n_items, imap);
    uint32_t type = 0;
    if (!rc) rc = data_event_type(ds, event, &type);
    if (!rc && n) rc = core_grow((void **)&ds->events, &ds->events_cap, ds->n_events + n, sizeof *ds->events);
    for (size_t e = 0; !rc && e < n; e++) {
        data_event ev = {umap[users[e]], imap[items[e]], type, values ? values[e] : 1.0f,
                         timestamps ? timestamps[e] : 0};
        rc = data_append_event(ds, &ev);
    }
    if (rc) {
        /* all or nothing: the dataset as before the call */
        ds->n_events = nev;
        ds->has_explicit = had_explicit;
        keys_truncate(&ds->users, nu);
        keys_truncate(&ds->items, ni);
        keys_truncate(&ds->event_names, ne);
        data_invalidate(ds);
    }
    core_free(umap);
    core_free(imap);
    return rc;
}
