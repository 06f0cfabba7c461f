/* catalog_load.c - product catalogs from delimited text files and buffers.
 *
 * All or nothing: rows are loaded into a copy of the catalog, which
 * replaces the original only when the whole load succeeded (a catalog is
 * small next to an event log, and updates of existing products could not be
 * undone by truncation alone).  Rows whose key repeats update the product
 * (the later row's non-empty fields win). */
#include "data.h"

#include <math.h>
#include <string.h>

enum { C_KEY, C_TITLE, C_DESCRIPTION, C_CATEGORY, C_BRAND, C_PRICE, C_COUNT };
static const char *const cat_roles[C_COUNT] = {"key", "title", "description", "category", "brand", "price"};

static const char *const key_alias[] = {"key",      "item_id", "itemid",    "id",  "product_id", "productid",
                                        "movie_id", "movieid", "stockcode", "sku", "asin",       "item",
                                        /* shopper attribute tables are catalogs keyed by user */
                                        "user_id", "userid", "customer_id", "customerid", NULL};
static const char *const title_alias[] = {"title", "name", "product_name", "movie_title", NULL};
static const char *const desc_alias[] = {"description", "desc", "details", NULL};
static const char *const cat_alias[] = {"category", "categories", "category_path", "department", NULL};
static const char *const brand_alias[] = {"brand", "manufacturer", "vendor", NULL};
static const char *const price_alias[] = {"price", "unitprice", "unit_price", NULL};
static const char *const *const cat_aliases[C_COUNT] = {key_alias,  title_alias, desc_alias,
                                                        cat_alias, brand_alias, price_alias};

typedef struct cat_loader {
    aisle_catalog *c;
    data_reader rd;
    data_columns cols;
    size_t need_fields;
    bool lenient, latin1;
    /* attribute columns (with a header): field index and name */
    size_t *attr_field;
    char **attr_name;
    size_t n_attr;
    core_buf row;          /* converted texts of the current row */
    size_t *off, *len;     /* per field of the record: offset in row, length (SIZE_MAX = absent) */
    size_t off_cap;
    data_report rep;
} cat_loader;

/* Checks / converts field k into the row buffer. */
static int row_text(cat_loader *L, size_t k, const char *label) {
    const data_field *f = &L->rd.fields[k];
    char exp[128], found[96];
    if (memchr(f->p, '\0', f->len)) {
        snprintf(exp, sizeof exp, "text in column %s", label);
        return data_field_error(&L->rd, f, exp, "a NUL byte");
    }
    L->off[k] = L->row.len;
    int rc;
    if (L->latin1) {
        rc = data_latin1_to_utf8(&L->row, f->p, f->len);
    } else {
        size_t bad = data_utf8_check(f->p, f->len);
        if (bad < f->len) {
            snprintf(exp, sizeof exp, "UTF-8 text in column %s", label);
            snprintf(found, sizeof found, "byte 0x%02x at byte %zu of the field (option encoding=latin1?)",
                     (unsigned char)f->p[bad], bad + 1);
            return data_field_error(&L->rd, f, exp, found);
        }
        size_t bom = data_bom_find(f->p, f->len);
        if (k == L->cols.field[C_KEY] && bom < f->len) {
            snprintf(exp, sizeof exp, "a key without a byte order mark in column %s", label);
            snprintf(found, sizeof found, "U+FEFF at byte %zu of the field (files concatenated with their BOMs?)",
                     bom + 1);
            return data_field_error(&L->rd, f, exp, found);
        }
        rc = buf_append(&L->row, f->p, f->len);
    }
    if (rc) return rc;
    L->len[k] = L->row.len - L->off[k];
    return buf_append(&L->row, "", 1);
}

static int load_row(cat_loader *L, aisle_catalog *c) {
    data_reader *r = &L->rd;
    data_columns *cl = &L->cols;
    char exp[160], found[96];
    if (r->nf < L->need_fields) {
        size_t role = SIZE_MAX;
        for (size_t k = 0; k < C_COUNT; k++)
            if (cl->field[k] != SIZE_MAX && cl->field[k] >= r->nf && (role == SIZE_MAX || cl->field[k] < cl->field[role]))
                role = k;
        snprintf(exp, sizeof exp, "column %s (field %zu)", cl->label[role], cl->field[role] + 1);
        snprintf(found, sizeof found, "the end of the line after %zu field%s", r->nf, r->nf == 1 ? "" : "s");
        data_field end = r->fields[r->nf - 1];
        end.col = r->rec_end_col;
        return data_field_error(r, &end, exp, found);
    }
    if (r->nf > L->off_cap) {
        size_t cap = L->off_cap;
        int rc = core_grow((void **)&L->off, &cap, r->nf, sizeof *L->off);
        if (!rc) rc = core_grow((void **)&L->len, &L->off_cap, r->nf, sizeof *L->len);
        if (rc) return rc;
    }
    L->row.len = 0;
    const data_field *kf = &r->fields[cl->field[C_KEY]];
    if (!kf->len) {
        snprintf(exp, sizeof exp, "a product key in column %s", cl->label[C_KEY]);
        return data_field_error(r, kf, exp, "an empty field");
    }
    double price = NAN;
    if (cl->field[C_PRICE] != SIZE_MAX) {
        const data_field *f = &r->fields[cl->field[C_PRICE]];
        if (f->len && data_parse_number(f->p, f->len, &price) != 0) {
            snprintf(exp, sizeof exp, "a price (a number or empty) in column %s", cl->label[C_PRICE]);
            data_quote(f->p, f->len, found, sizeof found);
            return data_field_error(r, f, exp, found);
        }
    }
    for (size_t role = 0; role < C_PRICE; role++) {
        if (cl->field[role] == SIZE_MAX) continue;
        int rc = row_text(L, cl->field[role], cl->label[role]);
        if (rc) return rc;
    }
    for (size_t a = 0; a < L->n_attr; a++) {
        if (L->attr_field[a] >= r->nf) continue;
        char label[80];
        snprintf(label, sizeof label, "'%s'", L->attr_name[a]);
        int rc = row_text(L, L->attr_field[a], label);
        if (rc) return rc;
    }
    /* the row is good: apply it (only allocation failures can fail now) */
    const char *text[4] = {NULL, NULL, NULL, NULL};
    size_t tlen[4] = {0, 0, 0, 0};
    for (size_t role = C_TITLE; role < C_PRICE; role++) {
        size_t k = cl->field[role];
        if (k == SIZE_MAX || !L->len[k]) continue; /* empty fields keep what a product has */
        text[role - 1] = L->row.data + L->off[k];
        tlen[role - 1] = L->len[k];
    }
    size_t kk = cl->field[C_KEY];
    uint32_t idx = 0;
    int rc = data_catalog_upsert(c, L->row.data + L->off[kk], L->len[kk], text, tlen, price,
                                 cl->field[C_PRICE] != SIZE_MAX && !isnan(price), &idx);
    for (size_t a = 0; a < L->n_attr && !rc; a++) {
        size_t k = L->attr_field[a];
        if (k >= r->nf || !L->len[k]) continue;
        rc = data_catalog_set_attr(c, idx, L->attr_name[a], strlen(L->attr_name[a]), L->row.data + L->off[k], L->len[k]);
    }
    return rc;
}

/* With a header, every column that no role maps becomes an attribute. */
static int collect_attributes(cat_loader *L) {
    data_reader *r = &L->rd;
    L->attr_field = core_calloc(r->nf ? r->nf : 1, sizeof *L->attr_field);
    L->attr_name = core_calloc(r->nf ? r->nf : 1, sizeof *L->attr_name);
    if (!L->attr_field || !L->attr_name) return core_oom("catalog attributes");
    for (size_t k = 0; k < r->nf; k++) {
        bool mapped = false;
        for (size_t role = 0; role < C_COUNT; role++) mapped |= L->cols.field[role] == k;
        const data_field *f = &r->fields[k];
        if (mapped || !f->len || memchr(f->p, '\0', f->len)) continue;
        core_buf b;
        buf_init(&b);
        int rc;
        if (L->latin1) rc = data_latin1_to_utf8(&b, f->p, f->len);
        else if (data_utf8_check(f->p, f->len) < f->len) continue; /* unnamed: ignored */
        else rc = buf_append(&b, f->p, f->len);
        if (rc) {
            buf_free(&b);
            return rc;
        }
        L->attr_field[L->n_attr] = k;
        L->attr_name[L->n_attr++] = b.data;
    }
    return AISLE_OK;
}

static int run_load(cat_loader *L, aisle_catalog *c, const aisle_config *cfg) {
    data_reader *r = &L->rd;
    int rc = data_reader_next(r);
    while (rc == AISLE_EFORMAT && L->lenient && !r->fatal) {
        L->rep.read++;
        L->rep.skipped++;
        if ((rc = data_report_keep_message(&L->rep))) return rc;
        rc = data_reader_next(r);
    }
    if (rc == 0 && L->rep.read) return AISLE_OK;
    if (rc == 0) return core_error(AISLE_EFORMAT, "%s:1:1: expected a header or data row, found an empty file", r->name);
    if (rc < 0) return rc;
    bool header;
    rc = data_columns_resolve(&L->cols, r, config_string(cfg, data_options, "header"), cat_aliases, 2, C_PRICE,
                              SIZE_MAX, NULL, &header);
    if (rc) return rc;
    if (L->cols.field[C_KEY] == SIZE_MAX)
        return core_error(AISLE_EINVAL, "%s: option catalog_columns must map the key role (e.g. key=1,title=2)", r->name);
    L->need_fields = 0;
    for (size_t k = 0; k < C_COUNT; k++)
        if (L->cols.field[k] != SIZE_MAX) L->need_fields = CORE_MAX(L->need_fields, L->cols.field[k] + 1);
    if (header && (rc = collect_attributes(L))) return rc;
    for (rc = header ? data_reader_next(r) : 1; rc != 0; rc = data_reader_next(r)) {
        L->rep.read++;
        int row = rc == 1 ? load_row(L, c) : rc;
        if (row == AISLE_OK) {
            L->rep.loaded++;
        } else if (row == AISLE_EFORMAT && L->lenient && !r->fatal) {
            L->rep.skipped++;
            int mrc = data_report_keep_message(&L->rep);
            if (mrc) return mrc;
        } else {
            return row;
        }
    }
    return AISLE_OK;
}

static int load_catalog(aisle_catalog *c, const char *path, const void *data, size_t len, const char *name,
                        const aisle_config *cfg) {
    cat_loader L;
    memset(&L, 0, sizeof L);
    buf_init(&L.row);
    L.lenient = config_bool(cfg, data_options, "lenient");
    L.latin1 = strcmp(config_string(cfg, data_options, "encoding"), "latin1") == 0;
    int rc = data_columns_parse(&L.cols, cat_roles, C_COUNT, config_string(cfg, data_options, "catalog_columns"),
                                "catalog_columns");
    if (rc) return rc;
    aisle_catalog stage;
    if ((rc = data_catalog_copy(&stage, c))) return rc;
    data_reader_opts ro;
    data_reader_options(cfg, &ro);
    rc = path ? data_reader_open_file(&L.rd, path, &ro)
              : data_reader_open_buffer(&L.rd, data, len, name, &ro);
    if (!rc) rc = run_load(&L, &stage, cfg);
    if (!rc) {
        data_report_clear(&stage.report);
        stage.report = L.rep;
        data_catalog_release(c);
        *c = stage;
    } else {
        data_report_clear(&L.rep);
        data_catalog_release(&stage);
    }
    data_reader_close(&L.rd);
    for (size_t a = 0; a < L.n_attr; a++) core_free(L.attr_name[a]);
    core_free(L.attr_name);
    core_free(L.attr_field);
    core_free(L.off);
    core_free(L.len);
    buf_free(&L.row);
    return rc;
}

AISLE_API int aisle_catalog_load(aisle_catalog *c, const char *path, const aisle_config *cfg) {
    if (!c || !path) return core_error(AISLE_EINVAL, "aisle_catalog_load: NULL argument");
    return load_catalog(c, path, NULL, 0, path, cfg);
}

AISLE_API int aisle_catalog_load_buffer(aisle_catalog *c, const void *data, size_t len, const char *name,
                                        const aisle_config *cfg) {
    if (!c || (!data && len)) return core_error(AISLE_EINVAL, "aisle_catalog_load_buffer: NULL argument");
    return load_catalog(c, NULL, data, len, name && name[0] ? name : "<buffer>", cfg);
}
