/* corpus_load.c - labelled texts from delimited files and buffers (CSV,
 * TSV, plain or gzip) through the data module's reader: columns `text` and
 * `label` by header name or 1-based position (option `columns`, e.g.
 * text=utterance,label=intent), header auto-detected from known names.
 *
 * All or nothing: rows are appended and, if the load fails, the corpus is
 * cut back to what it held before (texts are append-only, so truncation
 * undoes everything).  Lenient loads skip bad rows and keep the first
 * messages. */
#include "text.h"

#include <string.h>
#include <strings.h>

enum { R_TEXT, R_LABEL, R_COUNT };
static const char *const roles[R_COUNT] = {"text", "label"};
static const char *const text_alias[] = {"text",     "utterance", "review", "message", "sentence",
                                         "query",    "question",  "content", "body",   NULL};
static const char *const label_alias[] = {"label", "intent", "class", "target", NULL};
static const char *const *const aliases[R_COUNT] = {text_alias, label_alias};

typedef struct text_loader {
    data_reader rd;
    data_columns cols;
    size_t need_fields;
    bool lenient, latin1;
    core_buf conv; /* latin-1 conversions */
    data_report rep;
} text_loader;

/* Validates field k (role) and returns its UTF-8 text in *p, *len. */
static int field_text(text_loader *L, size_t role, const char **p, size_t *len) {
    const data_field *f = &L->rd.fields[L->cols.field[role]];
    char exp[128], found[128];
    if (memchr(f->p, '\0', f->len)) {
        snprintf(exp, sizeof exp, "text in column %s", L->cols.label[role]);
        return data_field_error(&L->rd, f, exp, "a NUL byte");
    }
    if (L->latin1) {
        size_t at = L->conv.len;
        int rc = data_latin1_to_utf8(&L->conv, f->p, f->len);
        if (rc) return rc;
        *p = L->conv.data ? L->conv.data + at : "";
        *len = L->conv.len - at;
        return AISLE_OK;
    }
    size_t bad = data_utf8_check(f->p, f->len);
    if (bad < f->len) {
        snprintf(exp, sizeof exp, "UTF-8 text in column %s", L->cols.label[role]);
        snprintf(found, sizeof found, "byte 0x%02x at byte %zu of the field (option encoding=latin1?)",
                 (unsigned char)f->p[bad], bad + 1);
        return data_field_error(&L->rd, f, exp, found);
    }
    *p = f->p;
    *len = f->len;
    return AISLE_OK;
}

static int load_row(text_loader *L, aisle_texts *t) {
    data_reader *r = &L->rd;
    data_columns *cl = &L->cols;
    char exp[160], found[96];
    if (r->nf < L->need_fields) {
        size_t role = cl->field[R_TEXT] >= r->nf ? R_TEXT : R_LABEL;
        if (cl->field[R_LABEL] != SIZE_MAX && cl->field[R_LABEL] >= r->nf && cl->field[R_LABEL] < cl->field[R_TEXT])
            role = R_LABEL;
        snprintf(exp, sizeof exp, "column %s (field %zu)", cl->label[role], cl->field[role] + 1);
        snprintf(found, sizeof found, "the end of the line after %zu field%s", r->nf, r->nf == 1 ? "" : "s");
        data_field end = r->fields[r->nf - 1];
        end.col = r->rec_end_col;
        return data_field_error(r, &end, exp, found);
    }
    L->conv.len = 0;
    if (L->latin1) {
        /* latin-1 at most doubles in UTF-8: room for both fields up front, so
         * the label's conversion cannot move the converted text */
        size_t need = 2 * r->fields[cl->field[R_TEXT]].len + 2;
        if (cl->field[R_LABEL] != SIZE_MAX) need += 2 * r->fields[cl->field[R_LABEL]].len;
        int rc = buf_reserve(&L->conv, need);
        if (rc) return rc;
    }
    const char *text, *label = "";
    size_t tlen, llen = 0;
    bool unlabelled = cl->field[R_LABEL] == SIZE_MAX;
    int rc = field_text(L, R_TEXT, &text, &tlen);
    if (!rc && !unlabelled) rc = field_text(L, R_LABEL, &label, &llen);
    if (rc) return rc;
    if (!llen && !unlabelled) {
        snprintf(exp, sizeof exp, "a label in column %s", cl->label[R_LABEL]);
        return data_field_error(r, &r->fields[cl->field[R_LABEL]], exp, "an empty field");
    }
    if (tlen > UINT32_MAX - 1) {
        snprintf(exp, sizeof exp, "a text shorter than 4 GiB in column %s", cl->label[R_TEXT]);
        return data_field_error(r, &r->fields[cl->field[R_TEXT]], exp, "a longer one");
    }
    return text_corpus_add(t, text, tlen, label, llen);
}

static int keep_message(data_report *rep) {
    if (rep->n_messages >= DATA_REPORT_MESSAGES) return AISLE_OK;
    char *m = core_strdup(aisle_last_error());
    if (!m) return core_oom("load report");
    rep->messages[rep->n_messages++] = m;
    return AISLE_OK;
}

static int run_load(text_loader *L, aisle_texts *t, const aisle_config *cfg) {
    data_reader *r = &L->rd;
    int rc = data_reader_next(r);
    while (rc == AISLE_EFORMAT && L->lenient && !r->fatal) {
        L->rep.read++;
        L->rep.skipped++;
        if ((rc = keep_message(&L->rep))) return rc;
        rc = data_reader_next(r);
    }
    if (rc == 0 && L->rep.read) return AISLE_OK;
    if (rc == 0) return core_error(AISLE_EFORMAT, "%s:1:1: expected a header or data row, found an empty file", r->name);
    if (rc < 0) return rc;
    bool header;
    rc = data_columns_resolve(&L->cols, r, config_string(cfg, data_options, "header"), aliases, 2, SIZE_MAX, SIZE_MAX,
                              NULL, &header);
    if (rc) return rc;
    /* columns by position, header auto: a first row naming the columns by
     * known names (text, message, label, intent, ...) is a header */
    if (!header && !strcmp(config_string(cfg, data_options, "header"), "auto"))
        for (size_t role = 0; role < R_COUNT && !header; role++) {
            size_t k = L->cols.field[role];
            if (k >= r->nf) continue;
            for (const char *const *a = aliases[role]; *a && !header; a++)
                header = r->fields[k].len == strlen(*a) && !strncasecmp(r->fields[k].p, *a, strlen(*a));
        }
    /* a columns option naming only the text reads unlabelled texts (label "") */
    bool unlabelled = L->cols.any && L->cols.field[R_LABEL] == SIZE_MAX && !L->cols.name[R_LABEL];
    if (L->cols.field[R_TEXT] == SIZE_MAX || (L->cols.field[R_LABEL] == SIZE_MAX && !unlabelled))
        return core_error(AISLE_EINVAL, "%s: option columns must map the text role, and the label role for "
                          "labelled texts (e.g. text=utterance,label=intent or text=1,label=2)", r->name);
    if (!unlabelled && L->cols.field[R_TEXT] == L->cols.field[R_LABEL])
        return core_error(AISLE_EINVAL, "%s: the text and the label are the same column (field %zu)", r->name,
                          L->cols.field[R_TEXT] + 1);
    L->need_fields = (unlabelled ? L->cols.field[R_TEXT] : CORE_MAX(L->cols.field[R_TEXT], L->cols.field[R_LABEL])) + 1;
    for (rc = header ? data_reader_next(r) : 1; rc != 0; rc = data_reader_next(r)) {
        L->rep.read++;
        int row = rc == 1 ? load_row(L, t) : rc;
        if (row == AISLE_OK) {
            L->rep.loaded++;
        } else if ((row == AISLE_EFORMAT || row == AISLE_EINVAL) && L->lenient && !r->fatal) {
            L->rep.skipped++;
            int mrc = keep_message(&L->rep);
            if (mrc) return mrc;
        } else {
            return row;
        }
    }
    return AISLE_OK;
}

static int load_texts(aisle_texts *t, const char *path, const void *data, size_t len, const char *name,
                      const aisle_config *cfg) {
    text_loader L;
    memset(&L, 0, sizeof L);
    buf_init(&L.conv);
    L.lenient = config_bool(cfg, data_options, "lenient");
    L.latin1 = strcmp(config_string(cfg, data_options, "encoding"), "latin1") == 0;
    int rc = data_columns_parse(&L.cols, roles, R_COUNT, config_string(cfg, data_options, "columns"), "columns");
    if (rc) return rc;
    size_t n0 = t->n, arena0 = t->arena.len, labels0 = t->labels.n;
    data_reader_opts ro;
    data_reader_options(cfg, &ro);
    rc = path ? data_reader_open_file(&L.rd, path, &ro) : data_reader_open_buffer(&L.rd, data, len, name, &ro);
    if (!rc) rc = run_load(&L, t, cfg);
    if (!rc) {
        data_report_clear(&t->report);
        t->report = L.rep;
    } else {
        data_report_clear(&L.rep);
        t->n = n0;
        t->arena.len = arena0;
        keys_truncate(&t->labels, labels0);
    }
    data_reader_close(&L.rd);
    buf_free(&L.conv);
    return rc;
}

AISLE_API int aisle_texts_load(aisle_texts *t, const char *path, const aisle_config *cfg) {
    if (!t || !path) return core_error(AISLE_EINVAL, "aisle_texts_load: NULL argument");
    return load_texts(t, path, NULL, 0, path, cfg);
}

AISLE_API int aisle_texts_load_buffer(aisle_texts *t, const void *data, size_t len, const char *name,
                                      const aisle_config *cfg) {
    if (!t || (!data && len)) return core_error(AISLE_EINVAL, "aisle_texts_load_buffer: NULL argument");
    return load_texts(t, NULL, data, len, name && name[0] ? name : "<buffer>", cfg);
}

AISLE_API int aisle_texts_load_report(const aisle_texts *t, size_t *rows_read, size_t *rows_loaded,
                                      size_t *rows_skipped) {
    if (!t) return core_error(AISLE_EINVAL, "aisle_texts_load_report: NULL texts");
    if (rows_read) *rows_read = t->report.read;
    if (rows_loaded) *rows_loaded = t->report.loaded;
    if (rows_skipped) *rows_skipped = t->report.skipped;
    return AISLE_OK;
}

AISLE_API int aisle_texts_load_message(const aisle_texts *t, size_t index, const char **out) {
    if (!t || !out) return core_error(AISLE_EINVAL, "aisle_texts_load_message: NULL argument");
    if (index >= t->report.n_messages)
        return core_error(AISLE_ERANGE, "load message %zu out of range [0, %zu)", index, t->report.n_messages);
    *out = t->report.messages[index];
    return AISLE_OK;
}
