/* factors.c - what the latent-factor kinds (mf, als, bpr) share: factor
 * storage, the Gram matrix, Cholesky solves, session fold-in, scoring,
 * item similarity and explanations.
 *
 * Fold-in and explain follow Hu, Koren & Volinsky, "Collaborative
 * Filtering for Implicit Feedback Datasets" (ICDM 2008), section 5: with
 * W = (Y^T C Y + lambda I)^-1 the user vector is x = W Y^T C p, so the score
 * of item i is sum_j c_j (y_i^T W y_j): history item j contributes
 * c_j * y_i^T W y_j.  For explicit (mf) models the same algebra holds for the
 * ridge regression x = (Q_h^T Q_h + lambda I)^-1 Q_h^T (r - mu - b), giving
 * contributions (r_j - mu - b_j) * q_i^T W q_j. */
#include "models.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void model_factors_free(model_factors *f) {
    if (!f) return;
    if (!(f->borrowed & MODEL_BORROWED_USER)) core_free(f->user);
    if (!(f->borrowed & MODEL_BORROWED_ITEM)) core_free(f->item);
    if (!(f->borrowed & MODEL_BORROWED_UBIAS)) core_free(f->user_bias);
    if (!(f->borrowed & MODEL_BORROWED_IBIAS)) core_free(f->item_bias);
    core_free(f->ubias_added);
    f->ubias_added = NULL;
    core_free(f->gram);
    model_int8_free(f->int8);
    f->user = f->item = f->user_bias = f->item_bias = f->gram = NULL;
    f->user16 = f->item16 = NULL; /* inside the mapping */
    model_f16_side_free(&f->f16[MODEL_SIDE_USERS]);
    model_f16_side_free(&f->f16[MODEL_SIDE_ITEMS]);
    f->int8 = NULL;
    f->borrowed = 0;
}

const model_factors *model_item_factors(const aisle_model *m) {
    if (!m || !m->state || !(m->ops->flags & MODEL_FACTORS)) return NULL;
    return m->state;
}

int model_factors_alloc(model_factors *f, uint32_t users, uint32_t items, uint32_t dim, bool explicit_r) {
    f->dim = dim;
    f->explicit_r = explicit_r;
    f->user = core_calloc((size_t)(users ? users : 1) * dim, sizeof(float));
    f->item = core_calloc((size_t)(items ? items : 1) * dim, sizeof(float));
    f->gram = core_calloc((size_t)dim * dim, sizeof(float));
    if (explicit_r) {
        f->user_bias = core_calloc(users ? users : 1, sizeof(float));
        f->item_bias = core_calloc(items ? items : 1, sizeof(float));
    }
    if (!f->user || !f->item || !f->gram || (explicit_r && (!f->user_bias || !f->item_bias))) {
        model_factors_free(f);
        return core_oom("factor matrices");
    }
    return AISLE_OK;
}

void model_factors_gram(const float *a, size_t rows, uint32_t dim, float *out) {
    int d = (int)dim;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)rows, 1.0f, a, d, 0.0f, out, d);
    for (int r = 0; r < d; r++)
        for (int c = 0; c < r; c++) out[(size_t)r * d + c] = out[(size_t)c * d + r];
}

/* In-place Cholesky A = L L^T (lower triangle). */
static int chol_factor(double *a, uint32_t n) {
    for (uint32_t j = 0; j < n; j++) {
        double s = a[(size_t)j * n + j];
        for (uint32_t k = 0; k < j; k++) s -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
        if (!(s > 0)) return core_error(AISLE_ERANGE, "matrix is not positive definite (pivot %u)", j);
        double l = sqrt(s);
        a[(size_t)j * n + j] = l;
        for (uint32_t i = j + 1; i < n; i++) {
            double t = a[(size_t)i * n + j];
            for (uint32_t k = 0; k < j; k++) t -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
            a[(size_t)i * n + j] = t / l;
        }
    }
    return AISLE_OK;
}

static void chol_solve(const double *l, double *b, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        double t = b[i];
        for (uint32_t k = 0; k < i; k++) t -= l[(size_t)i * n + k] * b[k];
        b[i] = t / l[(size_t)i * n + i];
    }
    for (uint32_t i = n; i-- > 0;) {
        double t = b[i];
        for (uint32_t k = i + 1; k < n; k++) t -= l[(size_t)k * n + i] * b[k];
        b[i] = t / l[(size_t)i * n + i];
    }
}

int model_cholesky_solve(double *a, double *b, uint32_t n) {
    int rc = chol_factor(a, n);
    if (!rc) chol_solve(a, b, n);
    return rc;
}

/* Per-item target of the fold-in right-hand side: c_j for implicit models,
 * the residual r_j - mu - b_j for explicit ones (NULL weights mean the
 * visitor liked the item: r = rmax). */
static float fold_target(const model_factors *f, uint32_t item, const float *w, size_t j) {
    if (f->explicit_r) return (w ? w[j] : f->rmax) - f->mean - f->item_bias[item];
    return 1.0f + f->alpha * model_weight_apply(&f->rule, w ? w[j] : 1.0f);
}

int model_factors_fold_in(const model_factors *f, const uint32_t *items, const float *w, size_t n, float *x,
                          int64_t z_item, float *z) {
    uint32_t d = f->dim;
    double *a = core_malloc((size_t)d * d * sizeof *a);
    double *b = core_malloc((size_t)d * 2 * sizeof *b);
    float *wide = model_factors_f16(f, MODEL_SIDE_ITEMS) ? core_malloc((size_t)d * sizeof *wide) : NULL;
    if (!a || !b || (model_factors_f16(f, MODEL_SIDE_ITEMS) && !wide)) {
        core_free(a);
        core_free(b);
        core_free(wide);
        return core_oom("fold-in");
    }
    for (size_t r = 0; r < (size_t)d * d; r++) a[r] = f->explicit_r ? 0.0 : f->gram[r];
    for (uint32_t r = 0; r < d; r++) a[(size_t)r * d + r] += f->reg, b[r] = 0.0;
    for (size_t j = 0; j < n; j++) {
        const float *y = model_factors_item_row(f, items[j], wide);
        /* implicit: a weight <= 0 is no interaction (weights.c) */
        if (!f->explicit_r && model_weight_apply(&f->rule, w ? w[j] : 1.0f) == 0.0f) continue;
        double t = fold_target(f, items[j], w, j);
        double c1 = f->explicit_r ? 1.0 : t - 1.0; /* weight of y y^T beyond the Gram matrix */
        for (uint32_t r = 0; r < d; r++) {
            b[r] += t * y[r];
            for (uint32_t c = 0; c <= r; c++) a[(size_t)r * d + c] += c1 * y[r] * y[c];
        }
    }
    for (uint32_t r = 0; r < d; r++)
        for (uint32_t c = r + 1; c < d; c++) a[(size_t)r * d + c] = a[(size_t)c * d + r];
    int rc = chol_factor(a, d);
    if (!rc) {
        chol_solve(a, b, d);
        for (uint32_t r = 0; r < d; r++) x[r] = (float)b[r];
        if (z) {
            const float *yi = model_factors_item_row(f, (size_t)z_item, wide);
            for (uint32_t r = 0; r < d; r++) b[d + r] = yi[r];
            chol_solve(a, b + d, d);
            for (uint32_t r = 0; r < d; r++) z[r] = (float)b[d + r];
        }
    }
    core_free(a);
    core_free(b);
    core_free(wide);
    return rc;
}

int model_factors_query(const model_factors *f, const model_query *q, float *tmp, const float **x, float *base) {
    *base = f->explicit_r ? f->mean : 0.0f;
    if (q->user >= 0) {
        *x = model_factors_user_row(f, (size_t)q->user, tmp);
        if (f->user_bias) *base += *model_user_bias(f, (size_t)q->user);
        return AISLE_OK;
    }
    *x = tmp;
    return model_factors_fold_in(f, q->items, q->weights, q->n_items, tmp, -1, NULL);
}

int model_factors_score_items(const aisle_model *m, const model_query *q, float *scores) {
    const model_factors *f = m->state;
    uint32_t d = f->dim, ni = model_n_items(m);
    float *tmp = NULL, base;
    const float *x;
    if (q->user < 0 || model_factors_f16(f, MODEL_SIDE_USERS)) {
        tmp = core_malloc((size_t)(d ? d : 1) * sizeof *tmp);
        if (!tmp) return core_oom("session vector");
    }
    int rc = model_factors_query(f, q, tmp, &x, &base);
    float wide[MODEL_WIDE_FLOATS];
    uint32_t step = model_factors_block_rows(f, MODEL_SIDE_ITEMS);
    for (uint32_t j0 = 0; !rc && j0 < ni; j0 += CORE_MIN(step, ni - j0)) {
        uint32_t n = CORE_MIN(step, ni - j0);
        const float *rows = model_factors_rows(f, MODEL_SIDE_ITEMS, j0, n, wide);
        for (uint32_t i = 0; i < n; i++) scores[j0 + i] = model_factors_score_row(f, x, base, rows + (size_t)i * d, j0 + i);
    }
    core_free(tmp);
    return rc;
}

int model_factors_score_one(const aisle_model *m, const model_query *q, uint32_t item, float *score) {
    const model_factors *f = m->state;
    uint32_t d = f->dim;
    float s;
    /* the session vector or a widened fp16 user row, and the item row */
    bool f16 = model_factors_f16(f, MODEL_SIDE_USERS) || model_factors_f16(f, MODEL_SIDE_ITEMS);
    float *x = q->user < 0 || f16 ? core_malloc((size_t)(d ? d : 1) * 2 * sizeof *x) : NULL;
    if ((q->user < 0 || f16) && !x) return core_oom("session vector");
    if (q->user >= 0) {
        s = model_dot(model_factors_user_row(f, (size_t)q->user, x), model_factors_item_row(f, item, x ? x + d : NULL), d);
        if (f->user_bias) s += *model_user_bias(f, (size_t)q->user);
    } else {
        int rc = model_factors_fold_in(f, q->items, q->weights, q->n_items, x, -1, NULL);
        s = rc ? 0.0f : model_dot(x, model_factors_item_row(f, item, x + d), d);
        if (rc) {
            core_free(x);
            return rc;
        }
    }
    core_free(x);
    if (f->explicit_r) {
        s += f->mean + f->item_bias[item];
        /* a predicted rating stays within the observed scale */
        s = s < f->rmin ? f->rmin : s > f->rmax ? f->rmax : s;
    }
    *score = s;
    return AISLE_OK;
}

int model_factors_similar(const aisle_model *m, uint32_t item, float *scores) {
    const model_factors *f = m->state;
    return model_factors_cosine(f, item, f->dim, model_n_items(m), scores);
}

int model_factors_cosine(const model_factors *f, uint32_t item, uint32_t k, uint32_t ni, float *scores) {
    uint32_t d = f->dim;
    float *own = model_factors_f16(f, MODEL_SIDE_ITEMS) ? core_malloc((size_t)d * sizeof *own) : NULL;
    if (model_factors_f16(f, MODEL_SIDE_ITEMS) && !own) return core_oom("similar items");
    const float *qi = model_factors_item_row(f, item, own);
    float ni_norm = sqrtf(model_dot(qi, qi, k)), wide[MODEL_WIDE_FLOATS];
    uint32_t step = model_factors_block_rows(f, MODEL_SIDE_ITEMS);
    for (uint32_t j0 = 0; j0 < ni; j0 += CORE_MIN(step, ni - j0)) {
        uint32_t n = CORE_MIN(step, ni - j0);
        const float *rows = model_factors_rows(f, MODEL_SIDE_ITEMS, j0, n, wide);
        for (uint32_t i = 0; i < n; i++) {
            const float *qj = rows + (size_t)i * d;
            float den = ni_norm * sqrtf(model_dot(qj, qj, k));
            scores[j0 + i] = den > 0 ? model_dot(qi, qj, k) / den : 0.0f;
        }
    }
    core_free(own);
    return AISLE_OK;
}

int model_factors_explain(const aisle_model *m, const model_query *q, uint32_t item, float *contrib) {
    const model_factors *f = m->state;
    uint32_t d = f->dim;
    float *x = core_malloc((size_t)(d ? d : 1) * 3 * sizeof *x);
    if (!x) return core_oom("explain");
    float *z = x + d, *wide = x + 2 * (size_t)d;
    int rc = model_factors_fold_in(f, q->items, q->weights, q->n_items, x, item, z);
    if (!rc)
        for (size_t j = 0; j < q->n_items; j++) {
            bool none = !f->explicit_r && model_weight_apply(&f->rule, q->weights ? q->weights[j] : 1.0f) == 0.0f;
            contrib[j] = none ? 0.0f
                              : fold_target(f, q->items[j], q->weights, j) *
                                    model_dot(z, model_factors_item_row(f, q->items[j], wide), d);
        }
    core_free(x);
    return rc;
}

int model_factors_update_user(aisle_model *m, uint32_t user) {
    model_factors *f = m->state;
    model_query q;
    model_user_query(m, user, &q);
    float *row; /* an fp16 user's overlay row: made holding the same values, so a failed fold-in changes nothing */
    int rc = model_factors_row_w(f, MODEL_SIDE_USERS, user, &row);
    if (rc) return rc;
    return model_factors_fold_in(f, q.items, q.weights, q.n_items, row, -1, NULL);
}

/* Grows one array of rows x width floats to `want` rows; the caller
 * writes the new rows.  On failure *a is unchanged.  An array of a mapped
 * model (flag in f->borrowed) is copied out of the mapping into a bigger
 * one: the mapping is never resized or written.  A side served as fp16
 * (*a NULL) grows its overlay's block of added rows instead. */
static int grow_rows(model_factors *f, unsigned flag, float **a, size_t had, size_t want, size_t width) {
    if (!*a && (flag == MODEL_BORROWED_USER || flag == MODEL_BORROWED_ITEM))
        return model_f16_reserve(f, flag == MODEL_BORROWED_USER ? MODEL_SIDE_USERS : MODEL_SIDE_ITEMS, want);
    bool borrowed = (f->borrowed & flag) != 0;
    if (borrowed && flag == MODEL_BORROWED_UBIAS) { /* mapped user biases stay: added users get an owned tail */
        float *p = core_reallocarray(f->ubias_added, want - f->ubias_rows, sizeof *p);
        if (!p) return core_oom("adding a user's bias");
        f->ubias_added = p;
        return AISLE_OK;
    }
    float *p = borrowed ? core_malloc((want ? want * width : 1) * sizeof *p)
                        : core_reallocarray(*a, want ? want * width : 1, sizeof *p);
    if (!p) return core_oom("adding a row to a factor model");
    if (borrowed) memcpy(p, *a, had * width * sizeof *p), f->borrowed &= ~flag;
    *a = p;
    return AISLE_OK;
}

int model_factors_grow(aisle_model *m, uint32_t old_users, uint32_t old_items, const float *item_vector, size_t dim) {
    model_factors *f = m->state;
    uint32_t nu = old_users, ni = old_items, users = model_n_users(m), items = model_n_items(m), d = f->dim;
    if (items > ni && (!item_vector || dim != d))
        return core_error(AISLE_EINVAL, "a new item of a '%s' model needs a vector of %u factors (got %zu)",
                          m->ops->name, d, item_vector ? dim : (size_t)0);
    for (size_t k = 0; items > ni && k < (size_t)(items - ni) * d; k++)
        if (!isfinite(item_vector[k]))
            return core_error(AISLE_EINVAL, "factor %zu of the new item's vector is %g, not a finite number", k % d,
                              item_vector[k]);
    /* every array first (a bigger array holding the same rows is the same
     * model), then the new rows: nothing can fail after the first write */
    int rc = AISLE_OK;
    if (users > nu) {
        rc = grow_rows(f, MODEL_BORROWED_USER, &f->user, nu, users, d);
        if (!rc && f->user_bias) rc = grow_rows(f, MODEL_BORROWED_UBIAS, &f->user_bias, nu, users, 1);
    }
    if (!rc && items > ni) {
        rc = grow_rows(f, MODEL_BORROWED_ITEM, &f->item, ni, items, d);
        if (!rc && f->item_bias) rc = grow_rows(f, MODEL_BORROWED_IBIAS, &f->item_bias, ni, items, 1);
    }
    if (rc) return rc;
    /* the new rows are contiguous (the fp32 matrix, or an fp16 side's
     * block of added rows), so row_w cannot fail for them */
    float *rows;
    if (users > nu) {
        model_factors_row_w(f, MODEL_SIDE_USERS, nu, &rows);
        memset(rows, 0, (size_t)(users - nu) * d * sizeof *rows);
        if (f->user_bias) memset(model_user_bias(f, nu), 0, (users - nu) * sizeof *f->user_bias); /* contiguous */
    }
    if (items > ni) {
        model_factors_row_w(f, MODEL_SIDE_ITEMS, ni, &rows);
        memcpy(rows, item_vector, (size_t)(items - ni) * d * sizeof *rows);
        if (f->item_bias) memset(f->item_bias + ni, 0, (items - ni) * sizeof *f->item_bias);
        for (uint32_t j = ni; j < items; j++) {
            const float *v = rows + (size_t)(j - ni) * d;
            /* fold-in solves with Q^T Q over every item: the new row joins it */
            for (uint32_t a = 0; f->gram && a < d; a++)
                for (uint32_t b = 0; b < d; b++) f->gram[(size_t)a * d + b] += v[a] * v[b];
            /* the stored int8 copy gets the row appended (no rebuild); if that
             * fails it goes, and serving builds one again on demand */
            if (f->int8 && (f->int8->n != j || model_int8_append(f->int8, f, j) != AISLE_OK)) {
                model_int8_free(f->int8);
                f->int8 = NULL;
            }
        }
    }
    return AISLE_OK;
}

int model_factors_describe(const aisle_model *m, core_buf *out) {
    const model_factors *f = m->state;
    int rc = buf_printf(out, "factors: %u\n", f->dim);
    const struct model_f16_side *u = &f->f16[MODEL_SIDE_USERS], *i = &f->f16[MODEL_SIDE_ITEMS];
    if (!rc && (f->user16 || f->item16))
        rc = buf_printf(out, "factor_rows: fp16 as stored in the mapped file, fp32 rows over them: users %zu "
                             "updated, %zu added; items %zu added\n",
                        u->written, u->n16 ? model_n_users(m) - u->n16 : 0, i->n16 ? model_n_items(m) - i->n16 : 0);
    if (!rc && f->explicit_r) rc = buf_printf(out, "global_mean: %.6g\nrating_range: %g..%g\n", f->mean, f->rmin, f->rmax);
    return rc;
}

/* Sections (types relative to IO_SECTION_KIND):
 *   +0  u32 dim, u8 explicit, f32 mean, rmin, rmax, reg, alpha
 *   +1  user factors tensor (users x dim)
 *   +2  item factors tensor (items x dim)
 *   +3  f32 arrays: user biases, item biases (explicit kinds only)
 *   +4  f32 array: Gram matrix (dim x dim), kept exactly for fold-in */
/* io_put_f32_array's bytes, the mapped rows and the added users' tail
 * merged (model_user_bias). */
static int put_user_biases(core_buf *b, const model_factors *f, uint32_t nu) {
    int rc = buf_reserve(b, 8 + (size_t)nu * 4);
    if (!rc) rc = io_put_u64(b, nu);
    for (uint32_t u = 0; !rc && u < nu; u++) rc = io_put_f32(b, *model_user_bias(f, u));
    return rc;
}

int model_factors_save(const aisle_model *m, io_writer *w) {
    const model_factors *f = m->state;
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    int q = io_writer_quant(w);
    core_buf b;
    buf_init(&b);
    int rc = io_put_u32(&b, f->dim);
    if (!rc) rc = io_put_u8(&b, f->explicit_r ? 1 : 0);
    if (!rc) rc = io_put_f32(&b, f->mean);
    if (!rc) rc = io_put_f32(&b, f->rmin);
    if (!rc) rc = io_put_f32(&b, f->rmax);
    if (!rc) rc = io_put_f32(&b, f->reg);
    if (!rc) rc = io_put_f32(&b, f->alpha);
    if (!rc) rc = io_writer_add_section(w, IO_SECTION_KIND, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    /* tensors and biases aligned for mapping (format 1.1): the tensor's
     * values follow its 17-byte head (u8 encoding, u64 rows, u64 cols), the
     * biases their u64 count */
    for (int side = MODEL_SIDE_USERS; !rc && side <= MODEL_SIDE_ITEMS; side++) {
        const float *a;
        float *owned; /* a mapped fp16 side, widened for the writer */
        uint32_t rows = side == MODEL_SIDE_ITEMS ? ni : nu;
        b.len = 0;
        rc = model_factors_side_fp32(f, side, rows, &a, &owned);
        if (!rc) rc = io_put_tensor(&b, a, rows, f->dim, q);
        if (!rc) rc = io_writer_add_section_aligned(w, IO_SECTION_KIND + 1 + (uint32_t)side, IO_FLAG_REQUIRED, &b, 17);
        core_free(owned);
    }
    b.len = 0;
    if (!rc && f->explicit_r) {
        rc = put_user_biases(&b, f, nu);
        if (!rc) rc = io_put_f32_array(&b, f->item_bias, ni);
        if (!rc) rc = io_writer_add_section_aligned(w, IO_SECTION_KIND + 3, IO_FLAG_REQUIRED, &b, 8);
        b.len = 0;
    }
    if (!rc) rc = io_put_f32_array(&b, f->gram, (uint64_t)f->dim * f->dim);
    if (!rc) rc = io_writer_add_section(w, IO_SECTION_KIND + 4, IO_FLAG_REQUIRED, &b);
    buf_free(&b);
    if (!rc && io_writer_store_int8(w)) rc = model_int8_save(f, ni, w);
    return rc;
}

void model_factors_free_state(aisle_model *m) {
    model_factors *f = m->state;
    if (!f) return;
    model_factors_free(f);
    core_free(f);
    m->state = NULL;
}

static int load_array(io_reader *r, io_cursor *c, float **out, uint64_t n) {
    (void)r;
    uint64_t got;
    int rc = io_get_f32_array(c, out, &got, n);
    if (!rc && got != n)
        rc = core_error(AISLE_EFORMAT, "%s: array has %llu values, expected %llu", c->section,
                        (unsigned long long)got, (unsigned long long)n);
    return rc;
}

/* A factor tensor: a view into the mapping (option mmap) or a copy.  A
 * mapped fp16 tensor is served as stored: *out16 points at its binary16
 * values and *out stays NULL (factors_f16.c). */
static int load_matrix(io_reader *r, uint32_t type, float **out, const uint16_t **out16, uint64_t rows,
                       uint64_t cols, unsigned *borrowed, unsigned flag) {
    io_cursor c;
    uint64_t gr, gc;
    int rc;
    if (io_reader_mapped(r)) {
        const void *v = NULL;
        uint8_t enc = 0;
        rc = io_reader_section_view(r, type, &c);
        if (!rc) rc = io_get_tensor_view_enc(&c, &v, &enc, &gr, &gc, rows, cols);
        if (!rc && enc == IO_QUANT_FP16) *out16 = v;
        else if (!rc) *out = (float *)(uintptr_t)v, *borrowed |= flag; /* never written: see model_unshare_users */
    } else {
        rc = io_reader_section(r, type, &c);
        if (!rc) rc = io_get_tensor(&c, out, &gr, &gc, rows, cols);
    }
    return rc ? rc : io_cursor_done(&c);
}

static int load_biases(io_reader *r, io_cursor *c, model_factors *f, uint32_t nu, uint32_t ni) {
    if (!io_reader_mapped(r)) {
        int rc = load_array(r, c, &f->user_bias, nu);
        return rc ? rc : load_array(r, c, &f->item_bias, ni);
    }
    const float *ub = NULL, *ib = NULL;
    uint64_t gu = 0, gi = 0;
    int rc = io_get_f32_array_view(c, &ub, &gu, nu);
    if (!rc) rc = io_get_f32_array_view(c, &ib, &gi, ni);
    if (!rc && (gu != nu || gi != ni))
        rc = core_error(AISLE_EFORMAT, "%s: %llu user and %llu item biases, expected %u and %u", c->section,
                        (unsigned long long)gu, (unsigned long long)gi, nu, ni);
    if (!rc) {
        f->user_bias = (float *)(uintptr_t)ub, f->item_bias = (float *)(uintptr_t)ib;
        f->ubias_rows = nu;
        f->borrowed |= MODEL_BORROWED_UBIAS | MODEL_BORROWED_IBIAS;
    }
    return rc;
}

int model_factors_load(aisle_model *m, io_reader *r) {
    uint32_t nu = model_n_users(m), ni = model_n_items(m);
    model_factors *f = core_calloc(1, sizeof *f);
    if (!f) return core_oom("factor model");
    m->state = f;
    model_weight_params_of(m);
    f->rule = m->weight_rule;
    io_cursor c;
    uint8_t ex = 0;
    int rc = io_reader_section(r, IO_SECTION_KIND, &c);
    if (!rc) rc = io_get_u32(&c, &f->dim);
    if (!rc) rc = io_get_u8(&c, &ex);
    if (!rc) rc = io_get_f32(&c, &f->mean);
    if (!rc) rc = io_get_f32(&c, &f->rmin);
    if (!rc) rc = io_get_f32(&c, &f->rmax);
    if (!rc) rc = io_get_f32(&c, &f->reg);
    if (!rc) rc = io_get_f32(&c, &f->alpha);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && (f->dim == 0 || f->dim > 1024 || ex > 1 || !(f->reg > 0) || !isfinite(f->alpha)))
        rc = core_error(AISLE_EFORMAT, "%s: factors %u, explicit %u, reg %g, alpha %g are not valid", c.section, f->dim,
                        ex, f->reg, f->alpha);
    f->explicit_r = ex == 1;
    if (!rc && ex && !(isfinite(f->mean) && isfinite(f->rmin) && isfinite(f->rmax) && f->rmin <= f->rmax))
        rc = core_error(AISLE_EFORMAT, "%s: rating mean %g and range %g..%g are not valid", c.section, f->mean, f->rmin,
                        f->rmax);
    if (!rc && (nu == 0 || ni == 0)) rc = core_error(AISLE_EFORMAT, "factor model without users or items");
    if (!rc)
        rc = load_matrix(r, IO_SECTION_KIND + 1, &f->user, &f->user16, nu, f->dim, &f->borrowed, MODEL_BORROWED_USER);
    if (!rc)
        rc = load_matrix(r, IO_SECTION_KIND + 2, &f->item, &f->item16, ni, f->dim, &f->borrowed, MODEL_BORROWED_ITEM);
    if (!rc && ((!f->user && !f->user16) || (!f->item && !f->item16)))
        rc = core_error(AISLE_EFORMAT, "factor model without users or items");
    if (!rc) f->f16[MODEL_SIDE_USERS].n16 = f->user16 ? nu : 0, f->f16[MODEL_SIDE_ITEMS].n16 = f->item16 ? ni : 0;
    if (!rc && f->explicit_r) {
        rc = io_reader_mapped(r) ? io_reader_section_view(r, IO_SECTION_KIND + 3, &c)
                                 : io_reader_section(r, IO_SECTION_KIND + 3, &c);
        if (!rc) rc = load_biases(r, &c, f, nu, ni);
        if (!rc) rc = io_cursor_done(&c);
    }
    if (!rc) rc = io_reader_section(r, IO_SECTION_KIND + 4, &c);
    if (!rc) rc = load_array(r, &c, &f->gram, (uint64_t)f->dim * f->dim);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) rc = model_int8_load(f, ni, r);
    return rc; /* on failure the caller frees the model and with it f */
}

AISLE_API int aisle_model_factors(const aisle_model *m, int side, const float **data, size_t *rows, size_t *dim) {
    if (!m || !data || !rows || !dim) return core_error(AISLE_EINVAL, "aisle_model_factors: NULL argument");
    if (side != AISLE_FACTORS_USERS && side != AISLE_FACTORS_ITEMS)
        return core_error(AISLE_EINVAL, "aisle_model_factors: side %d is neither AISLE_FACTORS_USERS (0) nor "
                                        "AISLE_FACTORS_ITEMS (1)", side);
    if (!(m->ops->flags & MODEL_FACTORS))
        return core_error(AISLE_EUNSUPPORTED, "model kind '%s' has no factor matrices (mf, als and bpr have)",
                          m->ops->name);
    const model_factors *f = m->state;
    if (model_factors_f16(f, side == AISLE_FACTORS_USERS ? MODEL_SIDE_USERS : MODEL_SIDE_ITEMS))
        return core_error(AISLE_EUNSUPPORTED, "aisle_model_factors: the %s factors of this model are the fp16 rows "
                                              "of a mapped file (quantize=fp16, mmap=true), served as stored; load it "
                                              "without mmap for an fp32 matrix",
                          side == AISLE_FACTORS_USERS ? "user" : "item");
    *data = side == AISLE_FACTORS_USERS ? f->user : f->item;
    *rows = side == AISLE_FACTORS_USERS ? m->users.n : m->items.n;
    *dim = f->dim;
    return AISLE_OK;
}
