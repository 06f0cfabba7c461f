/* model.c - the model handle: training dispatch, generic parts, describe,
 * key dictionaries and stored metrics. */
#include "models.h"

#include <cblas.h>

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int model_alloc(const model_ops *ops, aisle_model **out) {
    aisle_model *m = core_calloc(1, sizeof *m);
    if (!m) return core_oom("model");
    m->ops = ops;
    keys_init(&m->users);
    keys_init(&m->items);
    snprintf(m->writer_version, sizeof m->writer_version, "%s", AISLE_VERSION_STRING);
    *out = m;
    return AISLE_OK;
}

AISLE_API void aisle_model_free(aisle_model *m) {
    if (!m) return;
    model_cache *cache = atomic_load(&m->serve_cache);
    if (cache) cache->release(cache);
    if (m->ops && m->ops->free_state) m->ops->free_state(m);
    keys_clear(&m->users);
    keys_clear(&m->items);
    model_history_release(&m->history, m->history_borrowed);
    model_overlay_free(&m->overlay);
    core_free(m->popularity);
    aisle_config_free(m->config);
    core_free(m->metrics);
    io_map_free(m->map); /* after free_state: the state's views point into it */
    core_free(m);
}

int model_unshare_users(aisle_model *m) {
    if (!m->map || m->map_users_writable || !(m->ops->flags & MODEL_FACTORS) || !m->state) return AISLE_OK;
    model_factors *f = m->state;
    size_t nu = model_n_users(m);
    /* fp16 rows (quantize=fp16) are not borrowed: their writes go to the
     * overlay (model_factors_row_w) */
    int rc = AISLE_OK;
    if (f->borrowed & MODEL_BORROWED_USER) rc = io_map_make_writable(m->map, f->user, nu * f->dim * sizeof(float));
    if (!rc && (f->borrowed & MODEL_BORROWED_UBIAS) && f->user_bias)
        rc = io_map_make_writable(m->map, f->user_bias, f->ubias_rows * sizeof(float)); /* added users: ubias_added */
    if (!rc) m->map_users_writable = true;
    return rc;
}

model_own_row *model_own_row_new(size_t n) {
    /* one block: the header, then last_time (8-byte aligned after it),
     * then the 4-byte arrays */
    size_t nn = n ? n : 1;
    model_own_row *r = core_malloc(sizeof *r + nn * (sizeof *r->last_time + sizeof *r->items + sizeof *r->count +
                                                      sizeof *r->values));
    if (!r) {
        core_oom("update_user history row");
        return NULL;
    }
    r->n = n;
    r->last_time = (int64_t *)(r + 1);
    r->items = (uint32_t *)(r->last_time + nn);
    r->count = r->items + nn;
    r->values = (float *)(r->count + nn);
    return r;
}

int model_overlay_reserve(aisle_model *m, uint32_t u) {
    model_overlay *o = &m->overlay;
    size_t need = ((size_t)model_n_users(m) + MODEL_OVERLAY_PAGE - 1) / MODEL_OVERLAY_PAGE;
    need = CORE_MAX(need, (size_t)u / MODEL_OVERLAY_PAGE + 1);
    if (o->n_pages < need) {
        size_t n = CORE_MAX(need, o->n_pages + o->n_pages / 2);
        model_own_row ***page = core_reallocarray(o->page, n, sizeof *page);
        if (!page) return core_oom("update_user row pages");
        memset(page + o->n_pages, 0, (n - o->n_pages) * sizeof *page);
        o->page = page;
        o->n_pages = n;
    }
    model_own_row ***p = &o->page[u / MODEL_OVERLAY_PAGE];
    if (!*p && !(*p = core_calloc(MODEL_OVERLAY_PAGE, sizeof **p))) return core_oom("update_user row page");
    return AISLE_OK;
}

model_own_row *model_overlay_swap(aisle_model *m, uint32_t u, model_own_row *row) {
    model_overlay *o = &m->overlay;
    model_own_row **slot = &o->page[u / MODEL_OVERLAY_PAGE][u % MODEL_OVERLAY_PAGE];
    model_own_row *old = *slot;
    size_t base = 0;
    if (u < m->history.rows && m->history.indptr) base = m->history.indptr[u + 1] - m->history.indptr[u];
    if (old) o->rows_nnz -= old->n;
    else o->shadowed_nnz += base;
    if (row) o->rows_nnz += row->n;
    else o->shadowed_nnz -= base;
    *slot = row;
    return old;
}

void model_overlay_free(model_overlay *o) {
    for (size_t p = 0; p < o->n_pages; p++) {
        for (size_t r = 0; o->page[p] && r < MODEL_OVERLAY_PAGE; r++) core_free(o->page[p][r]);
        core_free(o->page[p]);
    }
    core_free(o->page);
    memset(o, 0, sizeof *o);
}

void model_history_release(data_csr *h, unsigned borrowed) {
    if (!(borrowed & MODEL_HISTORY_INDPTR)) core_free(h->indptr);
    if (!(borrowed & MODEL_HISTORY_ENTRIES)) {
        core_free(h->indices);
        core_free(h->values);
        core_free(h->last_time);
        core_free(h->count);
    }
    memset(h, 0, sizeof *h);
}

static int copy_csr(data_csr *dst, const data_csr *src) {
    memset(dst, 0, sizeof *dst);
    dst->rows = src->rows;
    dst->cols = src->cols;
    dst->nnz = src->nnz;
    size_t nz = src->nnz ? src->nnz : 1;
    dst->indptr = core_malloc(((size_t)src->rows + 1) * sizeof *dst->indptr);
    dst->indices = core_malloc(nz * sizeof *dst->indices);
    dst->values = core_malloc(nz * sizeof *dst->values);
    dst->last_time = core_malloc(nz * sizeof *dst->last_time);
    dst->count = core_malloc(nz * sizeof *dst->count);
    if (!dst->indptr || !dst->indices || !dst->values || !dst->last_time || !dst->count) {
        data_csr_free(dst);
        return core_oom("model history");
    }
    memcpy(dst->indptr, src->indptr, ((size_t)src->rows + 1) * sizeof *dst->indptr);
    memcpy(dst->indices, src->indices, src->nnz * sizeof *dst->indices);
    memcpy(dst->values, src->values, src->nnz * sizeof *dst->values);
    memcpy(dst->last_time, src->last_time, src->nnz * sizeof *dst->last_time);
    memcpy(dst->count, src->count, src->nnz * sizeof *dst->count);
    return AISLE_OK;
}

static int init_rest(aisle_model *m, const aisle_config *cfg);

int model_init_generic(aisle_model *m, const aisle_dataset *ds, const aisle_config *cfg) {
    const data_csr *bu;
    int rc = data_by_user(ds, &bu);
    if (rc) return rc;
    rc = keys_copy(&m->users, &ds->users);
    if (!rc) rc = keys_copy(&m->items, &ds->items);
    if (!rc) rc = copy_csr(&m->history, bu);
    if (rc) return rc;
    return init_rest(m, cfg);
}

int model_init_parts(aisle_model *m, core_keys *users, core_keys *items, data_csr *history, const aisle_config *cfg) {
    m->users = *users;
    m->items = *items;
    m->history = *history;
    keys_init(users);
    keys_init(items);
    memset(history, 0, sizeof *history);
    return init_rest(m, cfg);
}

/* The generic parts after keys and history: weight rule, popularity,
 * options. */
static int init_rest(aisle_model *m, const aisle_config *cfg) {
    int rc = AISLE_OK;
    /* rating-predicting kinds read values as ratings; the others as
     * implicit weights (weights.c) */
    if (!(m->ops->flags & MODEL_PREDICTS_RATINGS)) rc = model_implicit_history(m, cfg);
    if (rc) return rc;
    /* popularity = number of distinct users who interacted with the item */
    m->popularity = core_calloc(m->items.n ? m->items.n : 1, sizeof *m->popularity);
    if (!m->popularity) return core_oom("model popularity");
    for (size_t k = 0; k < m->history.nnz; k++) m->popularity[m->history.indices[k]] += 1.0f;
    if (cfg)
        rc = aisle_config_copy(cfg, &m->config);
    else
        rc = aisle_config_new(&m->config);
    if (!rc) m->config->progress = NULL, m->config->progress_user = NULL;
    if (!rc && !(m->ops->flags & MODEL_PREDICTS_RATINGS)) rc = model_pin_weight_rule(m);
    /* Every option the kind was trained with goes into the saved options
     * (epochs, alpha, ...: defaults included), so `aisle info` shows them
     * all; readers skip names they do not know, so older readers still load
     * the file. */
    for (const option_spec *o = m->ops->options; !rc && o && o->name; o++) {
        int set = 0;
        if (aisle_config_is_set(m->config, o->name, &set) == AISLE_OK && !set)
            rc = aisle_config_set(m->config, o->name, o->def);
    }
    int seed_set = 0;
    if (!rc && aisle_config_is_set(m->config, "seed", &seed_set) == AISLE_OK && !seed_set)
        rc = aisle_config_set_int(m->config, "seed", config_int(m->config, NULL, "seed"));
    return rc;
}

void model_user_query(const aisle_model *m, uint32_t user, model_query *q) {
    model_row r = model_history_row(m, user);
    q->user = user;
    q->items = r.items;
    q->weights = r.values;
    q->n_items = r.n;
}

const model_ops *model_find_kind(const char *name) {
    for (int i = 0; model_kinds[i]; i++)
        if (strcmp(model_kinds[i]->name, name) == 0) return model_kinds[i];
    return NULL;
}

static int unknown_kind(const char *name) {
    core_buf b;
    buf_init(&b);
    for (int i = 0; model_kinds[i]; i++) buf_printf(&b, "%s%s", i ? ", " : "", model_kinds[i]->name);
    int rc = core_error(AISLE_ENOTFOUND, "unknown model kind '%s' (known: %s)", name, b.data ? b.data : "none");
    buf_free(&b);
    return rc;
}

AISLE_API int aisle_model_kind_count(void) {
    int n = 0;
    while (model_kinds[n]) n++;
    return n;
}

AISLE_API int aisle_model_kind_info(int index, const char **name, const char **summary) {
    if (index < 0 || index >= aisle_model_kind_count())
        return core_error(AISLE_ERANGE, "model kind index %d out of range [0, %d)", index, aisle_model_kind_count());
    if (name) *name = model_kinds[index]->name;
    if (summary) *summary = model_kinds[index]->summary;
    return AISLE_OK;
}

/* users: a shopper attribute table, for kinds with train_features. */
static int model_train(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_catalog *users,
                       const aisle_config *cfg, aisle_model **out) {
    if (!ds || !out) return core_error(AISLE_EINVAL, "aisle_model_train: NULL dataset or out");
    const char *kind = config_string(cfg, NULL, "model");
    const model_ops *ops = model_find_kind(kind);
    if (!ops) return unknown_kind(kind);
    char what[64];
    snprintf(what, sizeof what, "model '%s'", ops->name);
    int rc = config_check(cfg, ops->options, what);
    if (rc) return rc;
    if (ds->users.n == 0 || ds->items.n == 0)
        return core_error(AISLE_EINVAL, "cannot train model '%s' on an empty dataset", ops->name);
    if (users && !ops->train_features)
        return core_error(AISLE_EUNSUPPORTED, "model '%s' does not use user attributes (hybrid does)", ops->name);
    /* The one documented way aisle touches a process-wide BLAS setting:
     * only when the caller asks for it. */
    int64_t blas_threads = config_int(cfg, NULL, "blas_threads");
    if (blas_threads > 0) openblas_set_num_threads((int)blas_threads);
    aisle_model *m;
    rc = model_alloc(ops, &m);
    if (rc) return rc;
    rc = model_init_generic(m, ds, cfg);
    if (!rc) {
        core_progress prog;
        core_progress_init(&prog, cfg);
        rc = users ? ops->train_features(m, ds, cat, users, cfg, &prog) : ops->train(m, ds, cat, cfg, &prog);
    }
    if (rc) {
        aisle_model_free(m);
        return rc;
    }
    *out = m;
    return AISLE_OK;
}

AISLE_API int aisle_model_train_with_catalog(const aisle_dataset *ds, const aisle_catalog *cat,
                                            const aisle_config *cfg, aisle_model **out) {
    return model_train(ds, cat, NULL, cfg, out);
}

AISLE_API int aisle_model_train_with_features(const aisle_dataset *ds, const aisle_catalog *items,
                                             const aisle_catalog *users, const aisle_config *cfg, aisle_model **out) {
    return model_train(ds, items, users, cfg, out);
}

AISLE_API int aisle_model_train(const aisle_dataset *ds, const aisle_config *cfg, aisle_model **out) {
    return aisle_model_train_with_catalog(ds, NULL, cfg, out);
}

AISLE_API int aisle_model_kind(const aisle_model *m, const char **out) {
    if (!m || !out) return core_error(AISLE_EINVAL, "aisle_model_kind: NULL argument");
    *out = m->ops->name;
    return AISLE_OK;
}

AISLE_API int aisle_model_user_count(const aisle_model *m, size_t *out) {
    if (!m || !out) return core_error(AISLE_EINVAL, "aisle_model_user_count: NULL argument");
    *out = m->users.n;
    return AISLE_OK;
}

AISLE_API int aisle_model_item_count(const aisle_model *m, size_t *out) {
    if (!m || !out) return core_error(AISLE_EINVAL, "aisle_model_item_count: NULL argument");
    *out = m->items.n;
    return AISLE_OK;
}

AISLE_API int aisle_model_user_key(const aisle_model *m, size_t index, const char **out) {
    if (!m || !out) return core_error(AISLE_EINVAL, "aisle_model_user_key: NULL argument");
    if (index >= m->users.n) return core_error(AISLE_ERANGE, "user index %zu out of range [0, %zu)", index, m->users.n);
    *out = keys_at(&m->users, (uint32_t)index);
    return AISLE_OK;
}

AISLE_API int aisle_model_item_key(const aisle_model *m, size_t index, const char **out) {
    if (!m || !out) return core_error(AISLE_EINVAL, "aisle_model_item_key: NULL argument");
    if (index >= m->items.n) return core_error(AISLE_ERANGE, "item index %zu out of range [0, %zu)", index, m->items.n);
    *out = keys_at(&m->items, (uint32_t)index);
    return AISLE_OK;
}

AISLE_API int aisle_model_user_index(const aisle_model *m, const char *key, size_t *out) {
    if (!m || !key || !out) return core_error(AISLE_EINVAL, "aisle_model_user_index: NULL argument");
    int64_t i = keys_find(&m->users, key, strlen(key));
    if (i < 0) return core_error(AISLE_ENOTFOUND, "unknown user '%s'", key);
    *out = (size_t)i;
    return AISLE_OK;
}

AISLE_API int aisle_model_item_index(const aisle_model *m, const char *key, size_t *out) {
    if (!m || !key || !out) return core_error(AISLE_EINVAL, "aisle_model_item_index: NULL argument");
    int64_t i = keys_find(&m->items, key, strlen(key));
    if (i < 0) return core_error(AISLE_ENOTFOUND, "unknown item '%s'", key);
    *out = (size_t)i;
    return AISLE_OK;
}

AISLE_API int aisle_model_set_metric(aisle_model *m, const char *name, double value) {
    if (!m || !name || !name[0]) return core_error(AISLE_EINVAL, "aisle_model_set_metric: NULL or empty argument");
    if (strlen(name) >= sizeof m->metrics[0].name)
        return core_error(AISLE_EINVAL, "metric name '%s' is longer than %zu bytes", name, sizeof m->metrics[0].name - 1);
    for (size_t i = 0; i < m->n_metrics; i++) {
        if (strcmp(m->metrics[i].name, name) == 0) {
            m->metrics[i].value = value;
            return AISLE_OK;
        }
    }
    int rc = core_grow((void **)&m->metrics, &m->metrics_cap, m->n_metrics + 1, sizeof *m->metrics);
    if (rc) return rc;
    snprintf(m->metrics[m->n_metrics].name, sizeof m->metrics[0].name, "%s", name);
    m->metrics[m->n_metrics].value = value;
    m->n_metrics++;
    return AISLE_OK;
}

AISLE_API int aisle_model_get_metric(const aisle_model *m, const char *name, double *out) {
    if (!m || !name || !out) return core_error(AISLE_EINVAL, "aisle_model_get_metric: NULL argument");
    for (size_t i = 0; i < m->n_metrics; i++) {
        if (strcmp(m->metrics[i].name, name) == 0) {
            *out = m->metrics[i].value;
            return AISLE_OK;
        }
    }
    return core_error(AISLE_ENOTFOUND, "model has no stored metric '%s'", name);
}

AISLE_API int aisle_model_describe(const aisle_model *m, char *buf, size_t len, size_t *needed) {
    if (!m) return core_error(AISLE_EINVAL, "aisle_model_describe: model is NULL");
    core_buf b;
    buf_init(&b);
    int rc = buf_printf(&b, "kind: %s\nsummary: %s\nwriter_version: %s\nusers: %zu\nitems: %zu\ninteractions: %zu\n",
                        m->ops->name, m->ops->summary, m->writer_version, m->users.n, m->items.n, model_history_nnz(m));
    if (!rc && m->config) {
        size_t need = 0;
        /* sizing call: AISLE_ERANGE is its normal answer; anything else
         * (out of memory) is a real failure */
        int size_rc = aisle_config_to_string(m->config, NULL, 0, &need);
        if (size_rc != AISLE_OK && size_rc != AISLE_ERANGE) rc = size_rc;
        char *opts = rc ? NULL : core_malloc(need + 1);
        if (!rc && !opts) rc = core_oom("describe");
        if (!rc) rc = aisle_config_to_string(m->config, opts, need + 1, NULL);
        if (!rc) rc = buf_printf(&b, "options: %s\n", opts);
        core_free(opts);
    }
    for (size_t i = 0; !rc && i < m->n_metrics; i++)
        rc = buf_printf(&b, "metric.%s: %.6g\n", m->metrics[i].name, m->metrics[i].value);
    if (!rc && m->ops->describe) rc = m->ops->describe(m, &b);
    if (!rc) rc = buf_export(&b, buf, len, needed);
    buf_free(&b);
    return rc;
}

typedef struct hist_entry {
    int64_t time;
    uint32_t item;
    float weight;
} hist_entry;

/* most recent first; equal times by item index for a stable answer */
static int hist_cmp(const void *pa, const void *pb) {
    const hist_entry *a = pa, *b = pb;
    if (a->time != b->time) return a->time > b->time ? -1 : 1;
    return a->item < b->item ? -1 : a->item > b->item;
}

AISLE_API int aisle_model_user_history(const aisle_model *m, const char *user_key, size_t max, const char **items_out,
                                       float *weights_out, size_t *n_out) {
    if (!m || !user_key || !n_out) return core_error(AISLE_EINVAL, "aisle_model_user_history: NULL argument");
    if (max && !items_out && !weights_out)
        return core_error(AISLE_EINVAL, "aisle_model_user_history: no output array for %zu entries", max);
    int64_t u = keys_find(&m->users, user_key, strlen(user_key));
    if (u < 0) return core_error(AISLE_ENOTFOUND, "unknown user '%s'", user_key);
    model_row r = model_history_row(m, (uint32_t)u);
    size_t n = r.n;
    *n_out = n;
    size_t w = CORE_MIN(n, max);
    if (w == 0) return AISLE_OK;
    hist_entry *e = core_malloc(n * sizeof *e);
    if (!e) return core_oom("user history");
    for (size_t i = 0; i < n; i++)
        e[i] = (hist_entry){r.last_time[i], r.items[i], r.values[i]};
    qsort(e, n, sizeof *e, hist_cmp);
    for (size_t i = 0; i < w; i++) {
        if (items_out) items_out[i] = keys_at(&m->items, e[i].item);
        if (weights_out) weights_out[i] = e[i].weight;
    }
    core_free(e);
    return AISLE_OK;
}
