/* select.c - serving options and exact top-k selection.
 *
 * Selection walks the candidates through core's top-k (topk.c: ties to the
 * lower index, NaN never shown), the same one evaluation uses.  The filter
 * callback runs only for a candidate that would enter the heap, which keeps
 * expensive callbacks cheap. */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

AISLE_API int aisle_rec_options_new(aisle_rec_options **out) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_rec_options_new: out is NULL");
    aisle_rec_options *o = core_calloc(1, sizeof *o);
    if (!o) return core_oom("serving options");
    int rc = aisle_config_new(&o->cfg);
    if (rc) {
        core_free(o);
        return rc;
    }
    *out = o;
    return AISLE_OK;
}

static void free_keys(char **keys, size_t n) {
    for (size_t i = 0; i < n; i++) core_free(keys[i]);
    core_free(keys);
}

AISLE_API void aisle_rec_options_free(aisle_rec_options *o) {
    if (!o) return;
    aisle_config_free(o->cfg);
    free_keys(o->allow, o->n_allow);
    free_keys(o->deny, o->n_deny);
    core_free(o);
}

AISLE_API int aisle_rec_options_set(aisle_rec_options *o, const char *key, const char *value) {
    if (!o || !key || !value) return core_error(AISLE_EINVAL, "aisle_rec_options_set: NULL argument");
    const option_spec *spec = option_find_in(serve_options, key);
    if (!spec) {
        core_buf b;
        buf_init(&b);
        for (const option_spec *s = serve_options; s->name; s++) buf_printf(&b, "%s%s", s == serve_options ? "" : ", ", s->name);
        int rc = core_error(AISLE_ENOTFOUND, "'%s' is not a serving option (serving options: %s)", key,
                            b.data ? b.data : "");
        buf_free(&b);
        return rc;
    }
    return config_set_text(o->cfg, spec, value);
}

static int set_keys(char ***dst, size_t *dst_n, const char *const *keys, size_t n, const char *what) {
    if (n && !keys) return core_error(AISLE_EINVAL, "aisle_rec_options_%s: keys is NULL with n = %zu", what, n);
    char **copy = NULL;
    if (n) {
        copy = core_calloc(n, sizeof *copy);
        if (!copy) return core_oom("serving options");
        for (size_t i = 0; i < n; i++) {
            if (!keys[i]) {
                free_keys(copy, n);
                return core_error(AISLE_EINVAL, "aisle_rec_options_%s: key %zu is NULL", what, i);
            }
            copy[i] = core_strdup(keys[i]);
            if (!copy[i]) {
                free_keys(copy, n);
                return core_oom("serving options");
            }
        }
    }
    free_keys(*dst, *dst_n);
    *dst = copy;
    *dst_n = n;
    return AISLE_OK;
}

AISLE_API int aisle_rec_options_allow(aisle_rec_options *o, const char *const *item_keys, size_t n) {
    if (!o) return core_error(AISLE_EINVAL, "aisle_rec_options_allow: opts is NULL");
    return set_keys(&o->allow, &o->n_allow, item_keys, n, "allow");
}

AISLE_API int aisle_rec_options_deny(aisle_rec_options *o, const char *const *item_keys, size_t n) {
    if (!o) return core_error(AISLE_EINVAL, "aisle_rec_options_deny: opts is NULL");
    return set_keys(&o->deny, &o->n_deny, item_keys, n, "deny");
}

AISLE_API int aisle_rec_options_set_filter(aisle_rec_options *o, aisle_item_filter_fn fn, void *user) {
    if (!o) return core_error(AISLE_EINVAL, "aisle_rec_options_set_filter: opts is NULL");
    o->filter = fn;
    o->filter_user = user;
    return AISLE_OK;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Resolves keys to sorted unique indices; unknown keys are skipped. */
static int resolve(const aisle_model *m, char **keys, size_t n, uint32_t **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    if (!n) return AISLE_OK;
    uint32_t *v = core_malloc(n * sizeof *v);
    if (!v) return core_oom("serving filter");
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t j = keys_find(&m->items, keys[i], strlen(keys[i]));
        if (j >= 0) v[c++] = (uint32_t)j;
    }
    qsort(v, c, sizeof *v, cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < c; i++)
        if (u == 0 || v[u - 1] != v[i]) v[u++] = v[i];
    *out = v;
    *n_out = u;
    return AISLE_OK;
}

int serve_sel_init(serve_sel *s, const aisle_model *m, const aisle_rec_options *o) {
    memset(s, 0, sizeof *s);
    s->m = m;
    const aisle_config *cfg = o ? o->cfg : NULL;
    s->exclude_seen = config_bool(cfg, serve_options, "exclude_seen");
    s->unknown_error = strcmp(config_string(cfg, serve_options, "unknown_user"), "error") == 0;
    s->threads = core_thread_count(config_int(cfg, serve_options, "threads"));
    const char *scan = config_string(cfg, serve_options, "scan");
    s->scan = strcmp(scan, "int8") == 0 ? SERVE_SCAN_INT8 : strcmp(scan, "fp32") == 0 ? SERVE_SCAN_FP32 : SERVE_SCAN_AUTO;
    if (!o) return AISLE_OK;
    s->filter = o->filter;
    s->filter_user = o->filter_user;
    s->has_allow = o->n_allow > 0;
    int rc = resolve(m, o->allow, o->n_allow, &s->allow, &s->n_allow);
    if (!rc) rc = resolve(m, o->deny, o->n_deny, &s->deny, &s->n_deny);
    if (rc) serve_sel_free(s);
    return rc;
}

void serve_sel_free(serve_sel *s) {
    core_free(s->allow);
    core_free(s->deny);
    s->allow = s->deny = NULL;
}

size_t serve_select(const serve_sel *s, const float *scores, const uint32_t *excl, size_t n_excl, int64_t self,
                    size_t k, core_hit *heap) {
    if (k == 0) return 0;
    uint32_t ni = model_n_items(s->m);
    size_t pe = 0, pd = 0;
    size_t total = s->has_allow ? s->n_allow : ni;
    core_topk top;
    topk_init(&top, heap, k);
    for (size_t c = 0; c < total; c++) {
        uint32_t j = s->has_allow ? s->allow[c] : (uint32_t)c;
        float sc = scores[j];
        if (sc != sc) continue; /* NaN: never recommended (core.h) */
        while (pe < n_excl && excl[pe] < j) pe++;
        if (pe < n_excl && excl[pe] == j) continue;
        while (pd < s->n_deny && s->deny[pd] < j) pd++;
        if (pd < s->n_deny && s->deny[pd] == j) continue;
        if ((int64_t)j == self) continue;
        if (!topk_admits(&top, sc, j)) continue;
        if (s->filter && !s->filter(s->filter_user, keys_at(&s->m->items, j), j)) continue;
        topk_push(&top, sc, j);
    }
    return topk_finish(&top);
}

void serve_output(const aisle_model *m, const core_hit *hits, size_t n, const char **items_out,
                  float *scores_out) {
    for (size_t i = 0; i < n; i++) {
        if (items_out) items_out[i] = keys_at(&m->items, hits[i].item);
        if (scores_out) scores_out[i] = hits[i].score;
    }
}
