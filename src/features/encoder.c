/* encoder.c - categorical encoder (vocabulary with a minimum count and an
 * out-of-vocabulary bucket) and numeric encoder (standardize, min-max,
 * log1p, quantile bins). */
#include "features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- categories ---- */

static int not_fitted(const char *fn) {
    return core_error(AISLE_ESTATE, "%s: the encoder is not fitted; call its _fit function first", fn);
}

struct aisle_category_encoder {
    int64_t min_count;
    bool fitted;
    core_keys vocab; /* kept values; index i encodes as i + 1 */
};

AISLE_API int aisle_category_encoder_new(aisle_category_encoder **out, const aisle_config *cfg) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_category_encoder_new: out is NULL");
    int rc = config_check(cfg, features_options, "features");
    if (rc) return rc;
    aisle_category_encoder *e = core_calloc(1, sizeof *e);
    if (!e) return core_oom("category encoder");
    keys_init(&e->vocab);
    e->min_count = config_int(cfg, features_options, "category_min_count");
    *out = e;
    return AISLE_OK;
}

AISLE_API void aisle_category_encoder_free(aisle_category_encoder *e) {
    if (!e) return;
    keys_clear(&e->vocab);
    core_free(e);
}

AISLE_API int aisle_category_encoder_fit(aisle_category_encoder *e, const char *const *values, size_t n) {
    if (!e || (!values && n))
        return core_error(AISLE_EINVAL, "aisle_category_encoder_fit: NULL %s", e ? "values" : "encoder");
    for (size_t i = 0; i < n; i++)
        if (!values[i]) return core_error(AISLE_EINVAL, "aisle_category_encoder_fit: values[%zu] is NULL", i);
    core_keys seen, vocab;
    keys_init(&seen);
    keys_init(&vocab);
    uint64_t *count = NULL;
    size_t cap = 0;
    int rc = AISLE_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        uint32_t id;
        bool added;
        rc = keys_intern(&seen, values[i], strlen(values[i]), &id, &added);
        if (!rc && added && id >= cap) {
            rc = core_grow((void **)&count, &cap, (size_t)id + 1, sizeof *count);
            if (rc) keys_truncate(&seen, id);
        }
        if (!rc) count[id] = added ? 1 : count[id] + 1;
    }
    /* kept values in order of first appearance */
    for (uint32_t id = 0; id < seen.n && !rc; id++) {
        if (count[id] < (uint64_t)e->min_count) continue;
        const char *v = keys_at(&seen, id);
        uint32_t k;
        rc = keys_intern(&vocab, v, strlen(v), &k, NULL);
    }
    if (!rc) {
        keys_clear(&e->vocab);
        e->vocab = vocab;
        e->fitted = true;
    } else {
        keys_clear(&vocab);
    }
    keys_clear(&seen);
    core_free(count);
    return rc;
}

AISLE_API int aisle_category_encoder_transform(const aisle_category_encoder *e, const char *value, size_t *index) {
    if (!e || !value || !index) return core_error(AISLE_EINVAL, "aisle_category_encoder_transform: NULL argument");
    if (!e->fitted) return not_fitted("aisle_category_encoder_transform");
    int64_t id = keys_find(&e->vocab, value, strlen(value));
    *index = id < 0 ? 0 : (size_t)id + 1;
    return AISLE_OK;
}

AISLE_API int aisle_category_encoder_size(const aisle_category_encoder *e, size_t *out) {
    if (!e || !out) return core_error(AISLE_EINVAL, "aisle_category_encoder_size: NULL argument");
    if (!e->fitted) return not_fitted("aisle_category_encoder_size");
    *out = e->vocab.n + 1;
    return AISLE_OK;
}

AISLE_API int aisle_category_encoder_value(const aisle_category_encoder *e, size_t index, const char **value) {
    if (!e || !value) return core_error(AISLE_EINVAL, "aisle_category_encoder_value: NULL argument");
    if (!e->fitted) return not_fitted("aisle_category_encoder_value");
    if (index == 0 || index > e->vocab.n)
        return core_error(AISLE_ERANGE, "aisle_category_encoder_value: index %zu out of range [1, %zu]%s", index,
                          e->vocab.n, index == 0 ? " (0 is the out-of-vocabulary bucket)" : "");
    *value = keys_at(&e->vocab, (uint32_t)(index - 1));
    return AISLE_OK;
}

/* ---- numbers ---- */

enum { NUM_STANDARDIZE, NUM_MINMAX, NUM_LOG1P, NUM_QUANTILE };

struct aisle_numeric_encoder {
    int kind;
    int64_t bins_requested;
    bool fitted;
    double mean, sd, min, max;
    double *edges; /* quantile: strictly increasing inner bin edges */
    size_t nedges;
};

AISLE_API int aisle_numeric_encoder_new(aisle_numeric_encoder **out, const aisle_config *cfg) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_numeric_encoder_new: out is NULL");
    int rc = config_check(cfg, features_options, "features");
    if (rc) return rc;
    aisle_numeric_encoder *e = core_calloc(1, sizeof *e);
    if (!e) return core_oom("numeric encoder");
    const char *k = config_string(cfg, features_options, "numeric_transform");
    e->kind = strcmp(k, "minmax") == 0 ? NUM_MINMAX
            : strcmp(k, "log1p") == 0  ? NUM_LOG1P
            : strcmp(k, "quantile") == 0 ? NUM_QUANTILE
                                         : NUM_STANDARDIZE;
    e->bins_requested = config_int(cfg, features_options, "quantile_bins");
    *out = e;
    return AISLE_OK;
}

AISLE_API void aisle_numeric_encoder_free(aisle_numeric_encoder *e) {
    if (!e) return;
    core_free(e->edges);
    core_free(e);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

AISLE_API int aisle_numeric_encoder_fit(aisle_numeric_encoder *e, const double *values, size_t n) {
    if (!e || !values) return core_error(AISLE_EINVAL, "aisle_numeric_encoder_fit: NULL %s", e ? "values" : "encoder");
    if (!n) return core_error(AISLE_EINVAL, "aisle_numeric_encoder_fit: no values (n = 0)");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            return core_error(AISLE_EINVAL, "aisle_numeric_encoder_fit: values[%zu] is not finite", i);
        if (e->kind == NUM_LOG1P && values[i] <= -1.0)
            return core_error(AISLE_ERANGE, "aisle_numeric_encoder_fit: values[%zu] = %g, log1p needs values > -1", i,
                              values[i]);
    }
    /* two-pass mean and population standard deviation */
    double sum = 0, mn = values[0], mx = values[0];
    for (size_t i = 0; i < n; i++) {
        sum += values[i];
        mn = values[i] < mn ? values[i] : mn;
        mx = values[i] > mx ? values[i] : mx;
    }
    double mean = sum / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++) ss += (values[i] - mean) * (values[i] - mean);
    double *edges = NULL;
    size_t ne = 0;
    if (e->kind == NUM_QUANTILE) {
        double *sorted = core_calloc(n, sizeof *sorted);
        size_t B = (size_t)e->bins_requested;
        edges = core_calloc(B, sizeof *edges);
        if (!sorted || !edges) {
            core_free(sorted);
            core_free(edges);
            return core_oom("quantile bins");
        }
        memcpy(sorted, values, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_double);
        /* edge i = the value at rank floor(i * n / B), i = 1..B-1; equal
         * edges and edges at the minimum are dropped (no empty bins) */
        for (size_t i = 1; i < B; i++) {
            double q = sorted[(size_t)(((unsigned long long)i * n) / B)];
            if (q > sorted[0] && (ne == 0 || q > edges[ne - 1])) edges[ne++] = q;
        }
        core_free(sorted);
    }
    core_free(e->edges);
    e->edges = edges;
    e->nedges = ne;
    e->mean = mean;
    e->sd = sqrt(ss / (double)n);
    e->min = mn;
    e->max = mx;
    e->fitted = true;
    return AISLE_OK;
}

static size_t bin_of(const aisle_numeric_encoder *e, double x) {
    size_t lo = 0, hi = e->nedges; /* number of edges <= x */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->edges[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

AISLE_API int aisle_numeric_encoder_transform(const aisle_numeric_encoder *e, double x, double *out) {
    if (!e || !out) return core_error(AISLE_EINVAL, "aisle_numeric_encoder_transform: NULL argument");
    if (!isfinite(x)) return core_error(AISLE_EINVAL, "aisle_numeric_encoder_transform: value is not finite");
    if (e->kind == NUM_LOG1P) {
        if (x <= -1.0) return core_error(AISLE_ERANGE, "aisle_numeric_encoder_transform: %g: log1p needs x > -1", x);
        *out = log1p(x);
        return AISLE_OK;
    }
    if (!e->fitted) return not_fitted("aisle_numeric_encoder_transform");
    switch (e->kind) {
    case NUM_STANDARDIZE: *out = e->sd > 0 ? (x - e->mean) / e->sd : 0.0; break;
    case NUM_MINMAX: *out = e->max > e->min ? (x - e->min) / (e->max - e->min) : 0.0; break;
    default: *out = (double)bin_of(e, x); break;
    }
    return AISLE_OK;
}

AISLE_API int aisle_numeric_encoder_bin(const aisle_numeric_encoder *e, double x, size_t *bin) {
    if (!e || !bin) return core_error(AISLE_EINVAL, "aisle_numeric_encoder_bin: NULL argument");
    if (e->kind != NUM_QUANTILE)
        return core_error(AISLE_EUNSUPPORTED, "aisle_numeric_encoder_bin: needs option numeric_transform=quantile");
    if (!e->fitted) return not_fitted("aisle_numeric_encoder_bin");
    if (isnan(x)) return core_error(AISLE_EINVAL, "aisle_numeric_encoder_bin: value is NaN");
    *bin = bin_of(e, x);
    return AISLE_OK;
}

AISLE_API int aisle_numeric_encoder_edges(const aisle_numeric_encoder *e, const double **edges, size_t *bins) {
    if (!e || !bins) return core_error(AISLE_EINVAL, "aisle_numeric_encoder_edges: NULL argument");
    if (e->kind != NUM_QUANTILE)
        return core_error(AISLE_EUNSUPPORTED, "aisle_numeric_encoder_edges: needs option numeric_transform=quantile");
    if (!e->fitted) return not_fitted("aisle_numeric_encoder_edges");
    if (edges) *edges = e->edges;
    *bins = e->nedges + 1;
    return AISLE_OK;
}
