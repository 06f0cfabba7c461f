/* sparse.c - sparse vectors: sorted unique uint32 indices with float
 * values.  Building sorts the (index, value) pairs, sums duplicates and
 * drops entries that sum to exactly zero (e.g. colliding signed hashes). */
#include "features.h"

#include <math.h>
#include <stdlib.h>

int feat_sparse_alloc(aisle_sparse **out, uint32_t dim) {
    aisle_sparse *v = core_calloc(1, sizeof *v);
    if (!v) return core_oom("sparse vector");
    v->dim = dim;
    *out = v;
    return AISLE_OK;
}

typedef struct pair {
    uint32_t idx;
    uint32_t pos; /* original position: keeps summation order deterministic */
    float val;
} pair;

static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->idx != y->idx) return x->idx < y->idx ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

int feat_sparse_build(aisle_sparse *v, const uint32_t *idx, const float *val, size_t n) {
    if (!n) return AISLE_OK;
    pair *p = core_calloc(n, sizeof *p);
    if (!p) return core_oom("sparse vector pairs");
    for (size_t i = 0; i < n; i++) p[i] = (pair){idx[i], (uint32_t)i, val[i]};
    qsort(p, n, sizeof *p, pair_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double s = 0;
        while (j < n && p[j].idx == p[i].idx) s += p[j++].val;
        if ((float)s != 0.0f) p[m++] = (pair){p[i].idx, 0, (float)s};
        i = j;
    }
    uint32_t *ni = m ? core_calloc(m, sizeof *ni) : NULL;
    float *nv = m ? core_calloc(m, sizeof *nv) : NULL;
    if (m && (!ni || !nv)) {
        core_free(ni);
        core_free(nv);
        core_free(p);
        return core_oom("sparse vector");
    }
    for (size_t i = 0; i < m; i++) {
        ni[i] = p[i].idx;
        nv[i] = p[i].val;
    }
    core_free(p);
    core_free(v->idx);
    core_free(v->val);
    v->idx = ni;
    v->val = nv;
    v->nnz = v->cap = m;
    return AISLE_OK;
}

static double norm2(const aisle_sparse *v) {
    double s = 0;
    for (size_t i = 0; i < v->nnz; i++) s += (double)v->val[i] * v->val[i];
    return sqrt(s);
}

void feat_sparse_l2(aisle_sparse *v) {
    double n = norm2(v);
    if (n > 0)
        for (size_t i = 0; i < v->nnz; i++) v->val[i] = (float)(v->val[i] / n);
}

AISLE_API int aisle_sparse_new(aisle_sparse **out, uint32_t dim, const uint32_t *indices, const float *values,
                               size_t n) {
    if (!out || (n && (!indices || !values)))
        return core_error(AISLE_EINVAL, "aisle_sparse_new: NULL %s", !out ? "out" : !indices ? "indices" : "values");
    for (size_t i = 0; i < n; i++) {
        if (indices[i] >= dim)
            return core_error(AISLE_ERANGE, "aisle_sparse_new: indices[%zu] = %u is not below dim %u", i,
                              indices[i], dim);
        if (!isfinite(values[i]))
            return core_error(AISLE_EINVAL, "aisle_sparse_new: values[%zu] is not finite", i);
    }
    aisle_sparse *v = NULL;
    int rc = feat_sparse_alloc(&v, dim);
    if (rc) return rc;
    rc = feat_sparse_build(v, indices, values, n);
    if (rc) {
        aisle_sparse_free(v);
        return rc;
    }
    *out = v;
    return AISLE_OK;
}

AISLE_API void aisle_sparse_free(aisle_sparse *v) {
    if (!v) return;
    core_free(v->idx);
    core_free(v->val);
    core_free(v);
}

AISLE_API int aisle_sparse_data(const aisle_sparse *v, const uint32_t **indices, const float **values,
                                size_t *nnz) {
    if (!v || !nnz) return core_error(AISLE_EINVAL, "aisle_sparse_data: NULL %s", v ? "nnz" : "vector");
    if (indices) *indices = v->idx;
    if (values) *values = v->val;
    *nnz = v->nnz;
    return AISLE_OK;
}

AISLE_API int aisle_sparse_dim(const aisle_sparse *v, uint32_t *out) {
    if (!v || !out) return core_error(AISLE_EINVAL, "aisle_sparse_dim: NULL %s", v ? "out" : "vector");
    *out = v->dim;
    return AISLE_OK;
}

AISLE_API int aisle_sparse_norm(const aisle_sparse *v, double *out) {
    if (!v || !out) return core_error(AISLE_EINVAL, "aisle_sparse_norm: NULL %s", v ? "out" : "vector");
    *out = norm2(v);
    return AISLE_OK;
}

AISLE_API int aisle_sparse_normalize(aisle_sparse *v) {
    if (!v) return core_error(AISLE_EINVAL, "aisle_sparse_normalize: vector is NULL");
    feat_sparse_l2(v);
    return AISLE_OK;
}

AISLE_API int aisle_sparse_dot(const aisle_sparse *a, const aisle_sparse *b, double *out) {
    if (!a || !b || !out) return core_error(AISLE_EINVAL, "aisle_sparse_dot: NULL argument");
    if (a->dim != b->dim)
        return core_error(AISLE_EINVAL, "aisle_sparse_dot: dimensions differ (%u and %u)", a->dim, b->dim);
    double s = 0;
    size_t i = 0, j = 0;
    while (i < a->nnz && j < b->nnz) { /* merge of two sorted index lists */
        if (a->idx[i] < b->idx[j]) i++;
        else if (a->idx[i] > b->idx[j]) j++;
        else s += (double)a->val[i++] * b->val[j++];
    }
    *out = s;
    return AISLE_OK;
}
