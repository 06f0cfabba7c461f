/* dataset.c - behaviour datasets: key dictionaries, the event log, and the
 * aggregated by-user / by-item sparse views and per-user sequences built
 * from it on demand.
 *
 * Aggregation rule (documented in docs/DATA.md): an implicit event
 * (view/cart/purchase/custom) contributes weight(type) * value to its
 * (user, item) pair and contributions are summed; a rating event sets the
 * pair's value to the rating, the latest rating (by time, then by order of
 * arrival) winning.  Each pair keeps its latest timestamp and event count. */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const builtin_events[] = {"view", "cart", "purchase", "rating"};
static const float builtin_weights[] = {1.0f, 3.0f, 5.0f, 1.0f};

static int dataset_init(aisle_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    keys_init(&ds->users);
    keys_init(&ds->items);
    keys_init(&ds->event_names);
    pthread_mutex_init(&ds->lock, NULL);
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t id;
        int rc = keys_intern(&ds->event_names, builtin_events[i], strlen(builtin_events[i]), &id, NULL);
        if (rc) return rc;
    }
    int rc = core_grow((void **)&ds->event_weights, &ds->event_weights_cap, 4, sizeof(float));
    if (rc) return rc;
    memcpy(ds->event_weights, builtin_weights, sizeof builtin_weights);
    return AISLE_OK;
}

void data_csr_free(data_csr *m) {
    core_free(m->indptr);
    core_free(m->indices);
    core_free(m->values);
    core_free(m->last_time);
    core_free(m->count);
    memset(m, 0, sizeof *m);
}

void data_seq_free(data_seq *s) {
    core_free(s->indptr);
    core_free(s->items);
    core_free(s->times);
    core_free(s->types);
    memset(s, 0, sizeof *s);
}

void data_invalidate(aisle_dataset *ds) {
    if (!ds->views_valid) return;
    data_csr_free(&ds->by_user);
    data_csr_free(&ds->by_item);
    data_seq_free(&ds->seq);
    ds->views_valid = false;
}

static void dataset_release(aisle_dataset *ds) {
    data_invalidate(ds);
    keys_clear(&ds->users);
    keys_clear(&ds->items);
    keys_clear(&ds->event_names);
    core_free(ds->event_weights);
    core_free(ds->events);
    data_report_clear(&ds->report);
    pthread_mutex_destroy(&ds->lock);
}

AISLE_API int aisle_dataset_new(aisle_dataset **out) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_dataset_new: out is NULL");
    aisle_dataset *ds = core_malloc(sizeof *ds);
    if (!ds) return core_oom("dataset");
    int rc = dataset_init(ds);
    if (rc) {
        dataset_release(ds);
        core_free(ds);
        return rc;
    }
    *out = ds;
    return AISLE_OK;
}

AISLE_API void aisle_dataset_free(aisle_dataset *ds) {
    if (!ds) return;
    dataset_release(ds);
    core_free(ds);
}

int data_new_like(const aisle_dataset *src, aisle_dataset **out) {
    aisle_dataset *ds = core_malloc(sizeof *ds);
    if (!ds) return core_oom("dataset");
    memset(ds, 0, sizeof *ds);
    pthread_mutex_init(&ds->lock, NULL);
    int rc = keys_copy(&ds->users, &src->users);
    if (!rc) rc = keys_copy(&ds->items, &src->items);
    if (!rc) rc = keys_copy(&ds->event_names, &src->event_names);
    if (!rc) rc = core_grow((void **)&ds->event_weights, &ds->event_weights_cap, src->event_names.n, sizeof(float));
    if (rc) {
        dataset_release(ds);
        core_free(ds);
        return rc;
    }
    memcpy(ds->event_weights, src->event_weights, src->event_names.n * sizeof(float));
    *out = ds;
    return AISLE_OK;
}

int data_event_type(aisle_dataset *ds, const char *name, uint32_t *type) {
    size_t before = ds->event_names.n;
    bool added;
    int rc = keys_intern(&ds->event_names, name, strlen(name), type, &added);
    if (rc) return rc;
    if (added) {
        rc = core_grow((void **)&ds->event_weights, &ds->event_weights_cap, ds->event_names.n, sizeof(float));
        if (rc) {
            keys_truncate(&ds->event_names, before);
            return rc;
        }
        ds->event_weights[*type] = 1.0f; /* custom events weigh 1 until set */
    }
    return AISLE_OK;
}

int data_append_event(aisle_dataset *ds, const data_event *ev) {
    int rc = core_grow((void **)&ds->events, &ds->events_cap, ds->n_events + 1, sizeof *ds->events);
    if (rc) return rc;
    ds->events[ds->n_events++] = *ev;
    if (ev->type == DATA_EVENT_RATING) ds->has_explicit = true;
    data_invalidate(ds);
    return AISLE_OK;
}

AISLE_API int aisle_dataset_add_event(aisle_dataset *ds, const char *user_key, const char *item_key,
                                      const char *event, double value, int64_t timestamp) {
    if (!ds || !user_key || !item_key)
        return core_error(AISLE_EINVAL, "aisle_dataset_add_event: NULL dataset or key");
    if (!user_key[0] || !item_key[0])
        return core_error(AISLE_EINVAL, "aisle_dataset_add_event: empty %s key", user_key[0] ? "item" : "user");
    if (!isfinite(value))
        return core_error(AISLE_EINVAL, "aisle_dataset_add_event: value for user '%s', item '%s' is not finite",
                          user_key, item_key);
    if (!event || !event[0]) event = "view";
    /* Intern everything, rolling back on failure so the dataset is exactly
     * as before the call. */
    size_t nu = ds->users.n, ni = ds->items.n, ne = ds->event_names.n;
    data_event ev = {0, 0, 0, (float)value, timestamp};
    int rc = keys_intern(&ds->users, user_key, strlen(user_key), &ev.user, NULL);
    if (!rc) rc = keys_intern(&ds->items, item_key, strlen(item_key), &ev.item, NULL);
    if (!rc) rc = data_event_type(ds, event, &ev.type);
    if (!rc) rc = data_append_event(ds, &ev);
    if (rc) {
        keys_truncate(&ds->users, nu);
        keys_truncate(&ds->items, ni);
        keys_truncate(&ds->event_names, ne);
    }
    return rc;
}

AISLE_API int aisle_dataset_set_event_weight(aisle_dataset *ds, const char *event, double weight) {
    if (!ds || !event || !event[0]) return core_error(AISLE_EINVAL, "aisle_dataset_set_event_weight: NULL argument");
    if (!isfinite(weight)) return core_error(AISLE_EINVAL, "event weight for '%s' is not finite", event);
    uint32_t type;
    int rc = data_event_type(ds, event, &type);
    if (rc) return rc;
    ds->event_weights[type] = (float)weight;
    data_invalidate(ds);
    return AISLE_OK;
}

/* ---- building the views ------------------------------------------------ */

/* Builds the aggregated by-user CSR: a stable counting sort of event
 * indices by item, then by user, gives (user, item, arrival) order; equal
 * neighbours are merged. */
static int build_by_user(aisle_dataset *ds, data_csr *m) {
    size_t n = ds->n_events;
    uint32_t nu = data_n_users(ds), ni = data_n_items(ds);
    uint32_t *tmp = core_malloc((n ? n : 1) * sizeof *tmp);
    uint32_t *order = core_malloc((n ? n : 1) * sizeof *order);
    size_t *cnt = core_calloc((size_t)CORE_MAX(nu, ni) + 1, sizeof *cnt);
    int rc = AISLE_OK;
    memset(m, 0, sizeof *m);
    if (!tmp || !order || !cnt) { rc = core_oom("dataset view"); goto out; }
    if (n > UINT32_MAX) { rc = core_error(AISLE_ERANGE, "too many events for one view (limit 2^32)"); goto out; }
    /* pass 1: by item */
    for (size_t e = 0; e < n; e++) cnt[ds->events[e].item + 1]++;
    for (uint32_t i = 0; i < ni; i++) cnt[i + 1] += cnt[i];
    for (size_t e = 0; e < n; e++) tmp[cnt[ds->events[e].item]++] = (uint32_t)e;
    /* pass 2: by user, stable */
    memset(cnt, 0, ((size_t)CORE_MAX(nu, ni) + 1) * sizeof *cnt);
    for (size_t e = 0; e < n; e++) cnt[ds->events[e].user + 1]++;
    for (uint32_t u = 0; u < nu; u++) cnt[u + 1] += cnt[u];
    for (size_t k = 0; k < n; k++) {
        uint32_t e = tmp[k];
        order[cnt[ds->events[e].user]++] = e;
    }
    /* count distinct pairs */
    size_t nnz = 0;
    for (size_t k = 0; k < n; k++) {
        const data_event *a = &ds->events[order[k]];
        if (k == 0 || a->user != ds->events[order[k - 1]].user || a->item != ds->events[order[k - 1]].item) nnz++;
    }
    m->rows = nu;
    m->cols = ni;
    m->nnz = nnz;
    m->indptr = core_calloc((size_t)nu + 1, sizeof *m->indptr);
    m->indices = core_malloc((nnz ? nnz : 1) * sizeof *m->indices);
    m->values = core_malloc((nnz ? nnz : 1) * sizeof *m->values);
    m->last_time = core_malloc((nnz ? nnz : 1) * sizeof *m->last_time);
    m->count = core_malloc((nnz ? nnz : 1) * sizeof *m->count);
    if (!m->indptr || !m->indices || !m->values || !m->last_time || !m->count) {
        rc = core_oom("dataset view");
        goto out;
    }
    size_t p = (size_t)-1;
    int64_t rating_time = 0;
    bool rated = false;
    for (size_t k = 0; k < n; k++) {
        const data_event *a = &ds->events[order[k]];
        bool fresh = k == 0 || a->user != ds->events[order[k - 1]].user || a->item != ds->events[order[k - 1]].item;
        if (fresh) {
            p++;
            m->indices[p] = a->item;
            m->values[p] = 0.0f;
            m->last_time[p] = a->time;
            m->count[p] = 0;
            m->indptr[a->user + 1]++;
            rated = false;
        }
        m->count[p]++;
        if (a->time > m->last_time[p]) m->last_time[p] = a->time;
        if (a->type == DATA_EVENT_RATING) {
            /* latest rating wins; arrival order breaks ties (order is stable) */
            if (!rated || a->time >= rating_time) {
                m->values[p] = a->value; /* a rating replaces implicit sums */
                rating_time = a->time;
                rated = true;
            }
        } else if (!rated) {
            m->values[p] += ds->event_weights[a->type] * a->value;
        }
    }
    for (uint32_t u = 0; u < nu; u++) m->indptr[u + 1] += m->indptr[u];
out:
    core_free(tmp);
    core_free(order);
    core_free(cnt);
    if (rc) data_csr_free(m);
    return rc;
}

/* Transpose of a CSR (rows sorted ascending in the result). */
static int csr_transpose(const data_csr *a, data_csr *t) {
    memset(t, 0, sizeof *t);
    t->rows = a->cols;
    t->cols = a->rows;
    t->nnz = a->nnz;
    size_t nz = a->nnz ? a->nnz : 1;
    t->indptr = core_calloc((size_t)a->cols + 1, sizeof *t->indptr);
    t->indices = core_malloc(nz * sizeof *t->indices);
    t->values = core_malloc(nz * sizeof *t->values);
    t->last_time = core_malloc(nz * sizeof *t->last_time);
    t->count = core_malloc(nz * sizeof *t->count);
    size_t *next = core_malloc(((size_t)a->cols + 1) * sizeof *next);
    if (!t->indptr || !t->indices || !t->values || !t->last_time || !t->count || !next) {
        core_free(next);
        data_csr_free(t);
        return core_oom("dataset view");
    }
    for (size_t k = 0; k < a->nnz; k++) t->indptr[a->indices[k] + 1]++;
    for (uint32_t c = 0; c < a->cols; c++) t->indptr[c + 1] += t->indptr[c];
    memcpy(next, t->indptr, ((size_t)a->cols + 1) * sizeof *next);
    for (uint32_t r = 0; r < a->rows; r++) {
        for (size_t k = a->indptr[r]; k < a->indptr[r + 1]; k++) {
            size_t q = next[a->indices[k]]++;
            t->indices[q] = r;
            t->values[q] = a->values[k];
            t->last_time[q] = a->last_time[k];
            t->count[q] = a->count[k];
        }
    }
    core_free(next);
    return AISLE_OK;
}

typedef struct seq_key {
    int64_t time;
    uint32_t arrival;
} seq_key;

static int seq_cmp(const void *pa, const void *pb) {
    const seq_key *a = pa, *b = pb;
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

static int build_sequences(const aisle_dataset *ds, data_seq *s) {
    size_t n = ds->n_events;
    uint32_t nu = data_n_users(ds);
    memset(s, 0, sizeof *s);
    s->users = nu;
    s->n = n;
    size_t nz = n ? n : 1;
    s->indptr = core_calloc((size_t)nu + 1, sizeof *s->indptr);
    s->items = core_malloc(nz * sizeof *s->items);
    s->times = core_malloc(nz * sizeof *s->times);
    s->types = core_malloc(nz * sizeof *s->types);
    seq_key *keys = core_malloc(nz * sizeof *keys);
    size_t *next = core_malloc(((size_t)nu + 1) * sizeof *next);
    if (!s->indptr || !s->items || !s->times || !s->types || !keys || !next) {
        core_free(keys);
        core_free(next);
        data_seq_free(s);
        return core_oom("dataset sequences");
    }
    for (size_t e = 0; e < n; e++) s->indptr[ds->events[e].user + 1]++;
    for (uint32_t u = 0; u < nu; u++) s->indptr[u + 1] += s->indptr[u];
    memcpy(next, s->indptr, ((size_t)nu + 1) * sizeof *next);
    for (size_t e = 0; e < n; e++) {
        size_t q = next[ds->events[e].user]++;
        keys[q].time = ds->events[e].time;
        keys[q].arrival = (uint32_t)e;
    }
    for (uint32_t u = 0; u < nu; u++) {
        size_t b = s->indptr[u], len = s->indptr[u + 1] - b;
        /* Most logs arrive in time order: check before sorting. */
        bool sorted = true;
        for (size_t k = 1; k < len && sorted; k++) sorted = seq_cmp(&keys[b + k - 1], &keys[b + k]) <= 0;
        if (!sorted) qsort(keys + b, len, sizeof *keys, seq_cmp);
    }
    for (size_t q = 0; q < n; q++) {
        const data_event *ev = &ds->events[keys[q].arrival];
        s->items[q] = ev->item;
        s->times[q] = ev->time;
        s->types[q] = ev->type;
    }
    core_free(keys);
    core_free(next);
    return AISLE_OK;
}

static int ensure_views(const aisle_dataset *cds) {
    /* Views are a cache: building them does not change the dataset's
     * observable contents, so a const dataset may build them (under the
     * lock, for datasets shared by threads). */
    aisle_dataset *ds = (aisle_dataset *)cds;
    pthread_mutex_lock(&ds->lock);
    int rc = AISLE_OK;
    if (!ds->views_valid) {
        data_csr bu, bi;
        data_seq sq;
        rc = build_by_user(ds, &bu);
        if (!rc) {
            rc = csr_transpose(&bu, &bi);
            if (rc) data_csr_free(&bu);
        }
        if (!rc) {
            rc = build_sequences(ds, &sq);
            if (rc) {
                data_csr_free(&bu);
                data_csr_free(&bi);
            }
        }
        if (!rc) {
            ds->by_user = bu;
            ds->by_item = bi;
            ds->seq = sq;
            ds->views_valid = true;
        }
    }
    pthread_mutex_unlock(&ds->lock);
    return rc;
}

int data_by_user(const aisle_dataset *ds, const data_csr **out) {
    int rc = ensure_views(ds);
    if (!rc) *out = &ds->by_user;
    return rc;
}

int data_by_item(const aisle_dataset *ds, const data_csr **out) {
    int rc = ensure_views(ds);
    if (!rc) *out = &ds->by_item;
    return rc;
}

int data_sequences(const aisle_dataset *ds, const data_seq **out) {
    int rc = ensure_views(ds);
    if (!rc) *out = &ds->seq;
    return rc;
}

/* ---- public lookups ----------------------------------------------------- */

AISLE_API int aisle_dataset_user_count(const aisle_dataset *ds, size_t *out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_dataset_user_count: NULL argument");
    *out = ds->users.n;
    return AISLE_OK;
}

AISLE_API int aisle_dataset_item_count(const aisle_dataset *ds, size_t *out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_dataset_item_count: NULL argument");
    *out = ds->items.n;
    return AISLE_OK;
}

AISLE_API int aisle_dataset_event_count(const aisle_dataset *ds, size_t *out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_dataset_event_count: NULL argument");
    *out = ds->n_events;
    return AISLE_OK;
}

static int lookup_index(const core_keys *k, const char *key, size_t *out, const char *what) {
    int64_t i = keys_find(k, key, strlen(key));
    if (i < 0) return core_error(AISLE_ENOTFOUND, "unknown %s '%s'", what, key);
    *out = (size_t)i;
    return AISLE_OK;
}

AISLE_API int aisle_dataset_user_index(const aisle_dataset *ds, const char *key, size_t *out) {
    if (!ds || !key || !out) return core_error(AISLE_EINVAL, "aisle_dataset_user_index: NULL argument");
    return lookup_index(&ds->users, key, out, "user");
}

AISLE_API int aisle_dataset_item_index(const aisle_dataset *ds, const char *key, size_t *out) {
    if (!ds || !key || !out) return core_error(AISLE_EINVAL, "aisle_dataset_item_index: NULL argument");
    return lookup_index(&ds->items, key, out, "item");
}

AISLE_API int aisle_dataset_user_key(const aisle_dataset *ds, size_t index, const char **out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_dataset_user_key: NULL argument");
    if (index >= ds->users.n)
        return core_error(AISLE_ERANGE, "user index %zu out of range [0, %zu)", index, ds->users.n);
    *out = keys_at(&ds->users, (uint32_t)index);
    return AISLE_OK;
}

AISLE_API int aisle_dataset_item_key(const aisle_dataset *ds, size_t index, const char **out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_dataset_item_key: NULL argument");
    if (index >= ds->items.n)
        return core_error(AISLE_ERANGE, "item index %zu out of range [0, %zu)", index, ds->items.n);
    *out = keys_at(&ds->items, (uint32_t)index);
    return AISLE_OK;
}
