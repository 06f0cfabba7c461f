/* factors_int8.c - the int8 copy of a latent-factor model's item matrix
 * (model_int8): built from the fp32 rows, stored in the model file when
 * saving with store_int8=true, read back (in place from a mapped file).
 * The scan that uses it and the reasoning behind its error bound are in
 * src/serve/quant.c.
 *
 * Section IO_SECTION_KIND + 6 (optional: a reader that does not know it
 * builds the copy itself), docs/FORMAT.md: a 64-byte head (u32 format 1,
 * u32 n, u32 dim, u32 rows per block 8, u32 has item biases, f32 R, N,
 * max |item bias|, zeros) then the arrays q, scale, [ib], rnorm, norm, each
 * starting at a multiple of 64 bytes from the payload start (zero padding
 * between), which the writer aligns in the file. */
#include "models.h"

#include <float.h>
#include <math.h>
#include <string.h>

enum { INT8_FORMAT = 1, INT8_HEAD = 64, INT8_SECTION = IO_SECTION_KIND + 6 };

/* Byte offsets of the arrays inside the payload (and inside the owned
 * block, which has the same layout); returns the total length. */
typedef struct int8_layout {
    size_t q, scale, ib, rnorm, norm, total;
} int8_layout;

static size_t up64(size_t v) { return (v + 63) / 64 * 64; }

static int8_layout layout_of(uint32_t n, uint32_t dim, bool has_ib) {
    size_t blocks = ((size_t)n + MODEL_INT8_ROWS - 1) / MODEL_INT8_ROWS, rows = blocks * MODEL_INT8_ROWS;
    size_t quads = ((size_t)dim + 3) / 4;
    int8_layout l;
    l.q = INT8_HEAD;
    l.scale = up64(l.q + rows * quads * 4);
    l.ib = up64(l.scale + rows * sizeof(float));
    l.rnorm = has_ib ? up64(l.ib + rows * sizeof(float)) : l.ib;
    l.norm = up64(l.rnorm + (size_t)n * sizeof(float));
    l.total = l.norm + (size_t)n * sizeof(float);
    return l;
}

/* Points t's arrays at base laid out as l. */
static void bind(model_int8 *t, const uint8_t *base, const int8_layout *l, bool has_ib) {
    t->q = (const int8_t *)(base + l->q);
    t->scale = (const float *)(const void *)(base + l->scale);
    t->ib = has_ib ? (const float *)(const void *)(base + l->ib) : NULL;
    t->rnorm = (const float *)(const void *)(base + l->rnorm);
    t->norm = (const float *)(const void *)(base + l->norm);
}

void model_int8_free(model_int8 *t) {
    if (!t) return;
    core_free(t->owned);
    core_free(t);
}

float model_int8_round_up(double v) {
    float r = (float)(v * (1 + 1e-6));
    return r < v ? INFINITY : r;
}

/* Writable views of an owned block laid out as l. */
typedef struct int8_rows {
    int8_t *q;
    float *scale, *ib, *rnorm, *norm;
    uint32_t quads;
} int8_rows;

static int8_rows rows_of(void *owned, const int8_layout *l, bool has_ib, uint32_t dim) {
    uint8_t *base = owned;
    int8_rows w = {(int8_t *)(base + l->q), (float *)(void *)(base + l->scale),
                   has_ib ? (float *)(void *)(base + l->ib) : NULL, (float *)(void *)(base + l->rnorm),
                   (float *)(void *)(base + l->norm), (dim + 3) / 4};
    return w;
}

/* Quantizes item row j of f (widened into tmp, dim floats, when it is
 * the fp16 row of a mapped file) into w; raises the maxima of |r_j|/s_j,
 * |v_j|/s_j and |item bias| the bound needs. */
static void quantize_row(const model_factors *f, uint32_t j, const int8_rows *w, double *rmax, double *nmax,
                         double *ibmax, float *tmp) {
    uint32_t d = f->dim;
    const float *v = model_factors_item_row(f, j, tmp);
    double amax = 0;
    bool finite = true;
    for (uint32_t k = 0; k < d; k++) {
        if (!isfinite(v[k])) finite = false;
        amax = fmax(amax, fabs((double)v[k]));
    }
    if (w->ib) {
        w->ib[j] = f->item_bias[j];
        if (isfinite(f->item_bias[j])) *ibmax = fmax(*ibmax, fabs((double)f->item_bias[j]));
        else finite = false;
    }
    float s = (float)(amax / 127);
    if (!finite || (amax > 0 && !(s >= FLT_MIN))) {
        w->scale[j] = NAN, w->rnorm[j] = w->norm[j] = INFINITY;
        return;
    }
    int8_t *qb = w->q + ((size_t)(j / MODEL_INT8_ROWS) * w->quads * MODEL_INT8_ROWS + (j % MODEL_INT8_ROWS)) * 4;
    double rr = 0, vv = 0;
    for (uint32_t k = 0; s > 0 && k < d; k++) {
        long qv = lrintf(v[k] / s);
        qv = qv > 127 ? 127 : qv < -127 ? -127 : qv;
        qb[(size_t)(k / 4) * MODEL_INT8_ROWS * 4 + k % 4] = (int8_t)qv;
        double r = (double)v[k] - (double)s * (double)qv;
        rr += r * r, vv += (double)v[k] * v[k];
    }
    w->scale[j] = s;
    w->rnorm[j] = model_int8_round_up(sqrt(rr));
    w->norm[j] = model_int8_round_up(sqrt(vv));
    if (s > 0) {
        *rmax = fmax(*rmax, (double)w->rnorm[j] / s);
        *nmax = fmax(*nmax, (double)w->norm[j] / s);
    }
}

int model_int8_build(const model_factors *f, uint32_t n, model_int8 **out) {
    model_int8 *t = core_calloc(1, sizeof *t);
    if (!t) return core_oom("int8 item index");
    uint32_t d = f->dim;
    bool has_ib = f->item_bias != NULL, f16 = model_factors_f16(f, MODEL_SIDE_ITEMS);
    int8_layout l = layout_of(n, d, has_ib);
    t->owned = core_calloc(l.total, 1); /* zero: padding rows and bytes */
    float *tmp = f16 ? core_malloc((size_t)d * sizeof *tmp) : NULL;
    if (!t->owned || (f16 && !tmp)) {
        core_free(tmp);
        core_free(t->owned);
        core_free(t);
        return core_oom("int8 item index");
    }
    t->n = n, t->dim = d, t->quads = (d + 3) / 4, t->blocks = (n + MODEL_INT8_ROWS - 1) / MODEL_INT8_ROWS;
    bind(t, t->owned, &l, has_ib);
    int8_rows w = rows_of(t->owned, &l, has_ib, d);
    double rmax = 0, nmax = 0, ibmax = 0;
    for (uint32_t j = 0; j < n; j++) quantize_row(f, j, &w, &rmax, &nmax, &ibmax, tmp);
    core_free(tmp);
    t->ratio_r = model_int8_round_up(rmax), t->ratio_n = model_int8_round_up(nmax), t->ib_max = model_int8_round_up(ibmax);
    *out = t;
    return AISLE_OK;
}

/* Rows are appended in place while the owned block has room (t->cap rows,
 * laid out by layout_of(cap): every array sized for cap); a full block,
 * an exactly sized one (built, loaded) or a view into a mapped file is
 * first copied into a block half as large again, so n appends copy O(n)
 * rows in all.  The per-row scale makes a new row independent of the
 * others: only the three maxima of the bound may rise. */
int model_int8_append(model_int8 *t, const model_factors *f, uint32_t j) {
    if (j != t->n || t->dim != f->dim || (t->ib != NULL) != (f->item_bias != NULL))
        return core_error(AISLE_EINTERNAL, "int8 index append: row %u to an index of %u x %u", j, t->n, t->dim);
    bool has_ib = t->ib != NULL;
    if (!t->owned || t->cap < j + 1) {
        uint64_t want = (uint64_t)j + 1 + j / 2 + MODEL_INT8_ROWS;
        want = (want + MODEL_INT8_ROWS - 1) / MODEL_INT8_ROWS * MODEL_INT8_ROWS;
        if (want > UINT32_MAX - MODEL_INT8_ROWS) return core_error(AISLE_ERANGE, "int8 index: too many items");
        uint32_t cap = (uint32_t)want;
        int8_layout l = layout_of(cap, t->dim, has_ib);
        void *block = core_calloc(l.total, 1);
        if (!block) return core_oom("int8 item index");
        int8_rows w = rows_of(block, &l, has_ib, t->dim);
        size_t rows = (size_t)t->blocks * MODEL_INT8_ROWS;
        memcpy(w.q, t->q, rows * t->quads * 4); /* a block's quads are contiguous: same offsets */
        memcpy(w.scale, t->scale, rows * sizeof *w.scale);
        if (has_ib) memcpy(w.ib, t->ib, rows * sizeof *w.ib);
        memcpy(w.rnorm, t->rnorm, (size_t)t->n * sizeof *w.rnorm);
        memcpy(w.norm, t->norm, (size_t)t->n * sizeof *w.norm);
        core_free(t->owned);
        t->owned = block;
        t->cap = cap;
        bind(t, block, &l, has_ib);
    }
    int8_layout l = layout_of(t->cap, t->dim, has_ib);
    int8_rows w = rows_of(t->owned, &l, has_ib, t->dim);
    double rmax = 0, nmax = 0, ibmax = 0;
    quantize_row(f, j, &w, &rmax, &nmax, &ibmax, NULL);
    t->ratio_r = fmaxf(t->ratio_r, model_int8_round_up(rmax));
    t->ratio_n = fmaxf(t->ratio_n, model_int8_round_up(nmax));
    t->ib_max = fmaxf(t->ib_max, model_int8_round_up(ibmax));
    t->n = j + 1;
    t->blocks = (t->n + MODEL_INT8_ROWS - 1) / MODEL_INT8_ROWS;
    return AISLE_OK;
}

/* With quantize=fp16 the copy is built from the item rows as the file
 * stores them (rounded to binary16), which are the rows that re-score its
 * candidates after loading, mapped or not. */
static int build_as_stored(const model_factors *f, uint32_t n, int quant, model_int8 **out) {
    if (quant == IO_QUANT_NONE || model_factors_f16(f, MODEL_SIDE_ITEMS)) return model_int8_build(f, n, out);
    size_t len = (size_t)n * f->dim;
    uint16_t *h = core_malloc((len ? len : 1) * sizeof *h);
    if (!h) return core_oom("int8 item copy of fp16 factors");
    for (size_t k = 0; k < len; k++) h[k] = io_f32_to_f16(f->item[k]);
    model_factors g = *f;
    g.item = NULL, g.item16 = h; /* read through model_factors_item_row */
    memset(g.f16, 0, sizeof g.f16);
    g.f16[MODEL_SIDE_ITEMS].n16 = n; /* every row the file's */
    int rc = model_int8_build(&g, n, out);
    core_free(h);
    return rc;
}

int model_int8_save(const model_factors *f, uint32_t n, io_writer *w) {
    int quant = io_writer_quant(w);
    if (quant != IO_QUANT_NONE && quant != IO_QUANT_FP16)
        return core_error(AISLE_EINVAL, "store_int8=true needs quantize=none or fp16: the stored int8 copy must "
                                        "match the item factors that re-score its candidates, which int8 factors "
                                        "cannot");
    model_int8 *t;
    int rc = build_as_stored(f, n, quant, &t);
    if (rc) return rc;
    bool has_ib = t->ib != NULL;
    int8_layout l = layout_of(n, f->dim, has_ib);
    core_buf b;
    buf_init(&b);
    /* the head is written into the block's own (zero) head bytes */
    uint8_t *head = t->owned;
    uint32_t u[5] = {INT8_FORMAT, n, f->dim, MODEL_INT8_ROWS, has_ib ? 1u : 0u};
    float r[3] = {t->ratio_r, t->ratio_n, t->ib_max};
    core_buf h;
    buf_init(&h);
    for (int i = 0; !rc && i < 5; i++) rc = io_put_u32(&h, u[i]);
    for (int i = 0; !rc && i < 3; i++) rc = io_put_f32(&h, r[i]);
    if (!rc) memcpy(head, h.data, h.len);
    buf_free(&h);
    if (!rc) rc = io_put_bytes(&b, t->owned, l.total);
    if (!rc) rc = io_writer_add_section_aligned(w, INT8_SECTION, 0, &b, 0);
    buf_free(&b);
    model_int8_free(t);
    return rc;
}

int model_int8_load(model_factors *f, uint32_t n, io_reader *r) {
    if (!io_reader_has_section(r, INT8_SECTION)) return AISLE_OK;
    io_cursor c;
    bool mapped = io_reader_mapped(r);
    int rc = mapped ? io_reader_section_view(r, INT8_SECTION, &c) : io_reader_section(r, INT8_SECTION, &c);
    uint32_t u[5] = {0};
    float ratio[3] = {0};
    for (int i = 0; !rc && i < 5; i++) rc = io_get_u32(&c, &u[i]);
    for (int i = 0; !rc && i < 3; i++) rc = io_get_f32(&c, &ratio[i]);
    if (rc) return rc;
    if (u[0] != INT8_FORMAT)
        return core_error(AISLE_EVERSION, "%s: int8 item copy format %u is unknown to aisle %s", c.section, u[0],
                          AISLE_VERSION_STRING);
    bool has_ib = u[4] == 1;
    if (u[1] != n || u[2] != f->dim || u[3] != MODEL_INT8_ROWS || u[4] > 1 || has_ib != (f->item_bias != NULL))
        return core_error(AISLE_EFORMAT, "%s: int8 copy of %u x %u items (block %u, biases %u) does not match the "
                          "model's %u x %u (biases %d)", c.section, u[1], u[2], u[3], u[4], n, f->dim,
                          f->item_bias != NULL);
    for (int i = 0; i < 3; i++)
        if (!(ratio[i] >= 0) || !isfinite(ratio[i]))
            return core_error(AISLE_EFORMAT, "%s: bound constant %d is %g, not a finite number >= 0", c.section, i,
                              (double)ratio[i]);
    int8_layout l = layout_of(n, f->dim, has_ib);
    if (c.len != l.total)
        return core_error(AISLE_EFORMAT, "%s: %zu bytes, the int8 copy of %u x %u items takes %zu", c.section, c.len,
                          n, f->dim, l.total);
    c.pos = 0;
    const void *all;
    rc = mapped ? io_get_view(&c, &all, l.total, IO_ALIGN) : AISLE_OK;
    if (rc) return rc;
    model_int8 *t = core_calloc(1, sizeof *t);
    if (!t) return core_oom("int8 item index");
    if (!mapped) {
        t->owned = core_malloc(l.total);
        if (!t->owned) {
            core_free(t);
            return core_oom("int8 item index");
        }
        rc = io_get_bytes(&c, t->owned, l.total); /* cannot fail: the length was checked */
        all = t->owned;
    }
    t->n = n, t->dim = f->dim, t->quads = (f->dim + 3) / 4, t->blocks = (n + MODEL_INT8_ROWS - 1) / MODEL_INT8_ROWS;
    t->ratio_r = ratio[0], t->ratio_n = ratio[1], t->ib_max = ratio[2];
    bind(t, all, &l, has_ib);
    if (rc) {
        model_int8_free(t);
        return rc;
    }
    f->int8 = t;
    return io_cursor_done(&c);
}
