/* model_file.c - saving and loading models: the generic sections every
 * model has (META, USERS, ITEMS, HISTORY, POPULARITY; docs/FORMAT.md) and
 * the public aisle_model_save functions; a kind's own parameters go through
 * its ops->save / ops->load hooks.  src/io below only carries the bytes
 * (header, sections, zlib, CRC, atomic save).  Loading needs every option
 * table to read back the stored options, so the public aisle_model_load
 * functions live in the top layer (src/api), which passes them down. */
#include "models.h"

#include <stdio.h>
#include <math.h>
#include <string.h>

/* Limits of the META section (docs/FORMAT.md): they keep crafted files from
 * making the loader quadratic; the writer refuses to exceed them. */
#define MAX_OPTIONS_TEXT 65536
#define MAX_METRICS 1024

/* ======================================================================
 * Saving
 * ====================================================================== */

/* A dictionary borrowed from a file mapped with mmap_verify=none was
 * never checked: saving it must not write a file that cannot be loaded.
 * An owned copy (keys_copy) refuses an empty or repeated key. */
static int check_borrowed_keys(const core_keys *k) {
    if (!k->borrowed) return AISLE_OK;
    core_keys copy;
    int rc = keys_copy(&copy, k);
    if (!rc) keys_clear(&copy);
    return rc == AISLE_EFORMAT ? core_error_prefix(rc, "saving: the model cannot be saved") : rc;
}

static int put_keys(core_buf *b, const core_keys *k) {
    int rc = check_borrowed_keys(k);
    if (rc) return rc;
    rc = buf_reserve(b, 8 + keys_arena_bytes(k) + 3 * k->n);
    if (!rc) rc = io_put_u64(b, k->n);
    for (size_t i = 0; !rc && i < k->n; i++) rc = io_put_str(b, keys_at(k, (uint32_t)i));
    return rc;
}

static int put_meta(const aisle_model *m, core_buf *b) {
    int rc = io_put_str(b, m->ops->name);
    if (!rc) rc = io_put_str(b, AISLE_VERSION_STRING);
    char *opts = NULL;
    if (!rc && m->config) {
        size_t need = 0;
        /* sizing call: ERANGE is the expected answer, ENOMEM is not */
        rc = aisle_config_to_string(m->config, NULL, 0, &need);
        if (rc == AISLE_ERANGE || rc == AISLE_OK) {
            opts = core_malloc(need + 1);
            rc = opts ? aisle_config_to_string(m->config, opts, need + 1, NULL) : core_oom("saving model options");
        }
    }
    if (!rc && opts && strlen(opts) > MAX_OPTIONS_TEXT)
        rc = core_error(AISLE_ERANGE, "model options text of %zu bytes exceeds the file format's limit of %d",
                        strlen(opts), MAX_OPTIONS_TEXT);
    if (!rc && m->n_metrics > MAX_METRICS)
        rc = core_error(AISLE_ERANGE, "model has %zu metrics, more than the file format's limit of %d", m->n_metrics,
                        MAX_METRICS);
    if (!rc) rc = io_put_str(b, opts ? opts : "");
    core_free(opts);
    if (!rc) rc = io_put_u32(b, (uint32_t)m->n_metrics);
    for (size_t i = 0; !rc && i < m->n_metrics; i++) {
        rc = io_put_str(b, m->metrics[i].name);
        if (!rc) rc = io_put_f64(b, m->metrics[i].value);
    }
    return rc;
}

/* The history row by row (model_history_row: rows updated while serving
 * come from the overlay), so the bytes are those of the merged CSR. */
enum { HIST_INDICES, HIST_VALUES, HIST_TIMES, HIST_COUNTS };
static int put_history_column(const aisle_model *m, int col, core_buf *b) {
    uint32_t nu = model_n_users(m);
    int rc = io_put_u64(b, model_history_nnz(m));
    for (uint32_t u = 0; !rc && u < nu; u++) {
        model_row r = model_history_row(m, u);
        for (size_t k = 0; !rc && k < r.n; k++) switch (col) {
            case HIST_INDICES: rc = io_put_u32(b, r.items[k]); break;
            case HIST_VALUES: rc = io_put_f32(b, r.values[k]); break;
            case HIST_TIMES: rc = io_put_i64(b, r.last_time[k]); break;
            default: rc = io_put_u32(b, r.count[k]); break;
            }
    }
    return rc;
}

static int put_hist(const aisle_model *m, core_buf *b) {
    uint32_t nu = model_n_users(m);
    size_t nnz = model_history_nnz(m);
    int rc = buf_reserve(b, 16 + 8 * ((size_t)nu + 1) + 24 * nnz + 40);
    if (!rc) rc = io_put_u32(b, nu);
    if (!rc) rc = io_put_u32(b, model_n_items(m));
    /* indptr and last_time are not uint64_t/ in memory: write them element-wise */
    if (!rc) rc = io_put_u64(b, (uint64_t)nu + 1);
    if (!rc) rc = io_put_u64(b, 0);
    size_t at = 0;
    for (uint32_t u = 0; !rc && u < nu; u++) {
        at += model_history_row(m, u).n;
        rc = io_put_u64(b, at);
    }
    for (int col = HIST_INDICES; !rc && col <= HIST_COUNTS; col++) rc = put_history_column(m, col, b);
    return rc;
}

/* Adds one generic section built by fn. */
static int add(io_writer *w, uint32_t type, int (*fn)(const aisle_model *, core_buf *), const aisle_model *m) {
    core_buf b;
    buf_init(&b);
    int rc = fn(m, &b);
    if (!rc) rc = io_writer_add_section(w, type, IO_FLAG_REQUIRED, &b);
    buf_free(&b);
    return rc;
}

static int put_users(const aisle_model *m, core_buf *b) { return put_keys(b, &m->users); }
static int put_items(const aisle_model *m, core_buf *b) { return put_keys(b, &m->items); }
static int put_pop(const aisle_model *m, core_buf *b) {
    return io_put_f32_array(b, m->popularity, m->popularity ? m->items.n : 0);
}

int model_writer(const aisle_model *m, const aisle_config *cfg, io_writer **out) {
    if (!m->ops->save || !m->ops->load)
        return core_error(AISLE_EUNSUPPORTED, "model kind '%s' does not support saving", m->ops->name);
    io_writer *w;
    int rc = io_writer_new(&w, m->ops->name, cfg);
    if (rc) return rc;
    rc = add(w, IO_SECTION_META, put_meta, m);
    if (!rc) rc = add(w, IO_SECTION_USERS, put_users, m);
    if (!rc) rc = add(w, IO_SECTION_ITEMS, put_items, m);
    if (!rc) rc = add(w, IO_SECTION_HISTORY, put_hist, m);
    if (!rc) rc = add(w, IO_SECTION_POPULARITY, put_pop, m);
    if (!rc) rc = model_map_save(m, w);
    if (!rc) rc = m->ops->save(m, w);
    if (rc) {
        io_writer_free(w);
        return rc;
    }
    *out = w;
    return AISLE_OK;
}

int model_save_file(const aisle_model *m, const char *path, const aisle_config *cfg, uint64_t fail_after) {
    io_writer *w;
    int rc = model_writer(m, cfg, &w);
    if (rc) return rc;
    rc = io_writer_to_file(w, path, fail_after);
    io_writer_free(w);
    return rc;
}

AISLE_API int aisle_model_save(const aisle_model *model, const char *path, const aisle_config *cfg) {
    if (!model || !path || !path[0]) return core_error(AISLE_EINVAL, "aisle_model_save: NULL model or empty path");
    return model_save_file(model, path, cfg, UINT64_MAX);
}

AISLE_API int aisle_model_save_buffer(const aisle_model *model, const aisle_config *cfg, void **out, size_t *len) {
    if (!model || !out || !len) return core_error(AISLE_EINVAL, "aisle_model_save_buffer: NULL argument");
    io_writer *w;
    int rc = model_writer(model, cfg, &w);
    if (rc) return rc;
    rc = io_writer_to_buffer(w, out, len);
    io_writer_free(w);
    return rc;
}

/* ======================================================================
 * Loading
 * ====================================================================== */

/* Applies the stored option text pair by pair: an option this library
 * does not know (written by a newer one) is skipped, a bad value is
 * corruption. */
static int load_options(aisle_config *cfg, option_tables tables, const char *text, const char *sect) {
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *b = p;
        bool quoted = false;
        while (*p && (quoted || *p != ' ')) {
            if (*p == '\\' && quoted && p[1]) p++;
            else if (*p == '"') quoted = !quoted;
            p++;
        }
        char *pair = core_strndup(b, (size_t)(p - b));
        if (!pair) return core_oom("loading model options");
        int rc = config_parse(cfg, tables, pair);
        if (rc == AISLE_ENOTFOUND) rc = AISLE_OK;
        else if (rc == AISLE_ENOMEM) rc = core_oom("loading model options");
        else if (rc) rc = core_error_prefix(AISLE_EFORMAT, "%s: stored option '%s'", sect, pair);
        core_free(pair);
        if (rc) return rc;
    }
    return AISLE_OK;
}

static int get_meta(aisle_model *m, io_reader *r, option_tables tables) {
    io_cursor c;
    int rc = io_reader_section(r, IO_SECTION_META, &c);
    if (rc) return rc;
    char *kind = NULL, *writer = NULL, *opts = NULL;
    rc = io_get_str(&c, &kind);
    if (!rc) rc = io_get_str(&c, &writer);
    if (!rc) rc = io_get_str(&c, &opts);
    if (!rc && strcmp(kind, m->ops->name) != 0)
        rc = core_error(AISLE_EFORMAT, "%s: kind '%s' differs from the header's '%s'", c.section, kind, m->ops->name);
    if (!rc && strcmp(writer, m->writer_version) != 0)
        rc = core_error(AISLE_EFORMAT, "%s: writer version '%s' differs from the header's '%s'", c.section, writer,
                        m->writer_version);
    if (!rc && strlen(opts) > MAX_OPTIONS_TEXT)
        rc = core_error(AISLE_EFORMAT, "%s: option text of %zu bytes exceeds the limit of %d", c.section,
                        strlen(opts), MAX_OPTIONS_TEXT);
    if (!rc) rc = aisle_config_new(&m->config);
    if (!rc) rc = load_options(m->config, tables, opts, c.section);
    uint32_t nm = 0;
    if (!rc) rc = io_get_u32(&c, &nm);
    if (!rc && nm > MAX_METRICS)
        rc = core_error(AISLE_EFORMAT, "%s: %u metrics, more than the limit of %d", c.section, nm, MAX_METRICS);
    for (uint32_t i = 0; !rc && i < nm; i++) {
        char *name = NULL;
        double v;
        rc = io_get_str(&c, &name);
        if (!rc) rc = io_get_f64(&c, &v);
        if (!rc && (!name[0] || strlen(name) >= sizeof m->metrics[0].name))
            rc = core_error(AISLE_EFORMAT, "%s: metric %u has an empty or over-long name", c.section, i);
        double prev;
        if (!rc && aisle_model_get_metric(m, name, &prev) == AISLE_OK)
            rc = core_error(AISLE_EFORMAT, "%s: metric '%s' appears twice", c.section, name);
        if (!rc) rc = aisle_model_set_metric(m, name, v);
        core_free(name);
    }
    if (!rc) rc = io_cursor_done(&c);
    core_free(kind);
    core_free(writer);
    core_free(opts);
    return rc;
}

static int get_keys(io_reader *r, uint32_t type, core_keys *k) {
    io_cursor c;
    int rc = io_reader_section(r, type, &c);
    uint64_t n = 0;
    if (!rc) rc = io_get_u64(&c, &n);
    if (rc) return rc;
    /* every key takes at least 5 bytes (length + one byte) */
    if (n > (c.len - c.pos) / 5 || n > UINT32_MAX - 2)
        return core_error(AISLE_EFORMAT, "%s: declares %llu keys, more than its %zu bytes can hold", c.section,
                          (unsigned long long)n, c.len - c.pos);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t len;
        size_t at = c.pos;
        rc = io_get_u32(&c, &len);
        if (rc) return rc;
        if (len == 0 || len > c.len - c.pos)
            return core_error(AISLE_EFORMAT, "%s: key %llu at offset %zu has length %u (%zu bytes left)", c.section,
                              (unsigned long long)i, at, len, c.len - c.pos);
        const char *s = (const char *)c.p + c.pos;
        if (memchr(s, '\0', len))
            return core_error(AISLE_EFORMAT, "%s: key %llu contains a NUL byte", c.section, (unsigned long long)i);
        uint32_t idx;
        bool added;
        rc = keys_intern(k, s, len, &idx, &added);
        if (rc) return rc;
        if (!added)
            return core_error(AISLE_EFORMAT, "%s: key %llu '%.*s' repeats key %u", c.section, (unsigned long long)i,
                              (int)CORE_MIN(len, 64u), s, idx);
        c.pos += len;
    }
    return io_cursor_done(&c);
}

static int get_history(aisle_model *m, io_reader *r) {
    io_cursor c;
    data_csr *h = &m->history;
    int rc = io_reader_section(r, IO_SECTION_HISTORY, &c);
    uint64_t n = 0, nnz = 0;
    if (!rc) rc = io_get_u32(&c, &h->rows);
    if (!rc) rc = io_get_u32(&c, &h->cols);
    if (rc) return rc;
    if (h->rows != m->users.n || h->cols != m->items.n)
        return core_error(AISLE_EFORMAT, "%s: %u x %u, but the file has %zu users and %zu items", c.section, h->rows,
                          h->cols, m->users.n, m->items.n);
    uint64_t *ip = NULL;
    rc = io_get_u64_array(&c, &ip, &n, (uint64_t)h->rows + 1);
    if (rc) return rc;
    if (n != (uint64_t)h->rows + 1) rc = core_error(AISLE_EFORMAT, "%s: indptr has %llu entries, expected %u",
                                                    c.section, (unsigned long long)n, h->rows + 1);
    if (!rc && ip[0] != 0) rc = core_error(AISLE_EFORMAT, "%s: indptr[0] is %llu, expected 0", c.section,
                                           (unsigned long long)ip[0]);
    for (uint32_t u = 0; !rc && u < h->rows; u++)
        if (ip[u + 1] < ip[u] || ip[u + 1] > c.len)
            rc = core_error(AISLE_EFORMAT, "%s: indptr[%u] = %llu is out of order or too large", c.section, u + 1,
                            (unsigned long long)ip[u + 1]);
    if (!rc) {
        nnz = ip[h->rows];
        h->indptr = core_malloc(((size_t)h->rows + 1) * sizeof *h->indptr);
        if (!h->indptr) rc = core_oom("loading model history");
        for (size_t u = 0; !rc && u <= h->rows; u++) h->indptr[u] = (size_t)ip[u];
    }
    core_free(ip);
    if (!rc) rc = io_get_u32_array(&c, &h->indices, &n, nnz);
    if (!rc && n != nnz) rc = core_error(AISLE_EFORMAT, "%s: %llu item indices, expected %llu", c.section,
                                         (unsigned long long)n, (unsigned long long)nnz);
    if (!rc) h->nnz = (size_t)nnz;
    for (uint32_t u = 0; !rc && u < h->rows; u++)
        for (size_t k = h->indptr[u]; !rc && k < h->indptr[u + 1]; k++)
            if (h->indices[k] >= h->cols || (k > h->indptr[u] && h->indices[k] <= h->indices[k - 1]))
                rc = core_error(AISLE_EFORMAT, "%s: user %u: item index %u out of range or not ascending", c.section,
                                u, h->indices[k]);
    if (!rc) rc = io_get_f32_array(&c, &h->values, &n, nnz);
    if (!rc && n != nnz) rc = core_error(AISLE_EFORMAT, "%s: %llu values, expected %llu", c.section,
                                         (unsigned long long)n, (unsigned long long)nnz);
    for (size_t k = 0; !rc && k < nnz; k++)
        if (!isfinite(h->values[k]))
            rc = core_error(AISLE_EFORMAT, "%s: value %zu is %g, not a finite number", c.section, k, h->values[k]);
    uint64_t *lt = NULL;
    if (!rc) rc = io_get_u64_array(&c, &lt, &n, nnz);
    if (!rc && n != nnz) rc = core_error(AISLE_EFORMAT, "%s: %llu timestamps, expected %llu", c.section,
                                         (unsigned long long)n, (unsigned long long)nnz);
    if (!rc) {
        h->last_time = core_malloc((size_t)(nnz ? nnz : 1) * sizeof *h->last_time);
        if (!h->last_time) rc = core_oom("loading model history");
        for (size_t k = 0; !rc && k < nnz; k++) h->last_time[k] = (int64_t)lt[k];
    }
    core_free(lt);
    if (!rc) rc = io_get_u32_array(&c, &h->count, &n, nnz);
    if (!rc && n != nnz) rc = core_error(AISLE_EFORMAT, "%s: %llu counts, expected %llu", c.section,
                                         (unsigned long long)n, (unsigned long long)nnz);
    if (!rc) rc = io_cursor_done(&c);
    return rc;
}

static int get_popularity(aisle_model *m, io_reader *r) {
    io_cursor c;
    uint64_t n;
    int rc = io_reader_section(r, IO_SECTION_POPULARITY, &c);
    if (!rc) rc = io_get_f32_array(&c, &m->popularity, &n, m->items.n);
    if (!rc && n != m->items.n)
        rc = core_error(AISLE_EFORMAT, "%s: %llu values for %zu items", c.section, (unsigned long long)n, m->items.n);
    for (size_t i = 0; !rc && i < n; i++)
        if (!isfinite(m->popularity[i]))
            rc = core_error(AISLE_EFORMAT, "%s: item %zu has popularity %g, not a finite number", c.section, i,
                            m->popularity[i]);
    return rc ? rc : io_cursor_done(&c);
}

static int unknown_kind(const char *kind) {
    core_buf b;
    buf_init(&b);
    for (int i = 0; model_kinds[i]; i++) buf_printf(&b, "%s%s", i ? ", " : "", model_kinds[i]->name);
    int rc = core_error(AISLE_ENOTFOUND, "model kind '%s' is unknown to aisle %s (known: %s)", kind,
                        AISLE_VERSION_STRING, b.data ? b.data : "none");
    buf_free(&b);
    return rc;
}

/* flags: IO_OPEN_* (a mapped file: IO_OPEN_MAPPED and the verify mode). */
static int load_image(const uint8_t *data, size_t len, const aisle_config *cfg, option_tables tables,
                      unsigned flags, aisle_model **out) {
    io_reader *r;
    int rc = io_reader_open_flags(&r, data, len, (uint64_t)config_int(cfg, io_options, "max_model_bytes"), flags);
    if (rc) return rc;
    const model_ops *ops = model_find_kind(io_reader_kind(r));
    aisle_model *m = NULL;
    if (!ops) rc = unknown_kind(io_reader_kind(r));
    else if (!ops->load) rc = core_error(AISLE_EUNSUPPORTED, "model kind '%s' does not support loading", ops->name);
    else if ((flags & IO_OPEN_MAPPED) && !(ops->flags & MODEL_FACTORS))
        rc = core_error(AISLE_EUNSUPPORTED,
                        "option mmap: model kind '%s' has no factor tensors to serve from a mapping (als, bpr, mf "
                        "and hybrid have); load it without mmap", ops->name);
    if (!rc) rc = model_alloc(ops, &m);
    if (!rc) snprintf(m->writer_version, sizeof m->writer_version, "%s", io_reader_writer_version(r));
    if (!rc) rc = get_meta(m, r, tables);
    bool mapped_tables = false; /* option mmap and store_mappable: keys and history served in place */
    if (!rc) rc = model_map_load(m, r, &mapped_tables);
    if (!rc && !mapped_tables) rc = get_keys(r, IO_SECTION_USERS, &m->users);
    if (!rc && !mapped_tables) rc = get_keys(r, IO_SECTION_ITEMS, &m->items);
    if (!rc && !mapped_tables) rc = get_history(m, r);
    if (!rc) rc = get_popularity(m, r);
    if (!rc) rc = ops->load(m, r);
    if (!rc) rc = io_reader_check_required(r);
    io_reader_free(r);
    if (rc) {
        aisle_model_free(m);
        return rc;
    }
    *out = m;
    return AISLE_OK;
}

int model_load_buffer(aisle_model **out, const void *data, size_t len, const aisle_config *cfg,
                      option_tables tables) {
    if (!out || (!data && len)) return core_error(AISLE_EINVAL, "aisle_model_load_buffer: NULL argument");
    int rc = load_image(data ? data : "", len, cfg, tables, 0, out);
    return rc ? core_error_prefix(rc, "model buffer") : AISLE_OK;
}

int model_load_file(aisle_model **out, const char *path, const aisle_config *cfg, option_tables tables) {
    if (!out || !path) return core_error(AISLE_EINVAL, "aisle_model_load: NULL argument");
    if (config_bool(cfg, io_options, "mmap")) return model_map_file(out, path, cfg, tables);
    uint8_t *data;
    size_t len;
    int rc = io_read_file(path, (uint64_t)config_int(cfg, io_options, "max_model_bytes"), &data, &len);
    if (rc) return rc;
    rc = load_image(data, len, cfg, tables, 0, out);
    core_free(data);
    return rc ? core_error_prefix(rc, "%s", path) : AISLE_OK;
}

/* Option mmap: the factor tensors (and a stored int8 copy) stay in the
 * mapping, which the model owns from here on; the generic sections (keys,
 * history, popularity) are decoded into memory as in an ordinary load.
 * With mmap_verify=none only the mapped tensors skip their CRC; the
 * sections that are decoded are verified as they are read. */
int model_map_file(aisle_model **out, const char *path, const aisle_config *cfg, option_tables tables) {
    io_map *map;
    int rc = io_map_file(path, (uint64_t)config_int(cfg, io_options, "max_model_bytes"), &map);
    if (rc) return rc;
    unsigned flags = IO_OPEN_MAPPED;
    if (strcmp(config_string(cfg, io_options, "mmap_verify"), "none") == 0)
        flags |= IO_OPEN_LAZY_CRC | IO_OPEN_NO_VIEW_CRC;
    aisle_model *m = NULL;
    rc = load_image(io_map_data(map), io_map_len(map), cfg, tables, flags, &m);
    if (rc) {
        io_map_free(map);
        return core_error_prefix(rc, "%s", path);
    }
    m->map = map;
    *out = m;
    return AISLE_OK;
}

AISLE_API int aisle_model_mapped_bytes(const aisle_model *model, size_t *bytes) {
    if (!model || !bytes) return core_error(AISLE_EINVAL, "aisle_model_mapped_bytes: NULL argument");
    *bytes = model->map ? io_map_len(model->map) : 0;
    return AISLE_OK;
}
