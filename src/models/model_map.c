/* model_map.c - the generic sections in a form a mapped file serves in
 * place (save option store_mappable, load option mmap; docs/FORMAT.md,
 * sections 6..8).
 *
 * A mapped open of a large model used to spend its time decoding the key
 * dictionaries (interning millions of keys into fresh hash tables) and
 * copying the history.  These optional sections hold the same data in the
 * in-memory layout -- a key arena, its offsets and the open-addressing
 * table keys_find probes; the CSR arrays of data_csr -- each array 64-byte
 * aligned, so opening binds pointers instead.  They are copies: USERS,
 * ITEMS and HISTORY stay in the file, so older readers (which skip
 * optional sections) and ordinary loads read the file as before.
 *
 * Trust.  With mmap_verify=open the tables are checked as fully as the
 * decoding path checks its input (keys non-empty, NUL-free, unique; every
 * key found at its own index; history CSR valid, values finite) and then
 * compared with the ordinary sections, so a file opens mapped only if it
 * also loads the ordinary way with the same keys and history.  With
 * mmap_verify=none only what keeps reads inside the mapping is checked at
 * open, in time linear in the users plus the pairs and nothing in the
 * keys: the sizes, the arena's final NUL and the whole history (row
 * pointers and item indices, which every loop over the history indexes
 * with, and finite values); lookups in the borrowed table are bounded by
 * keys_find and keys_at.  A corrupt key table then finds the wrong user or
 * none, never a byte outside the file, and saving such a model is refused
 * (model_file.c) rather than writing a file that cannot be loaded. */
#include "models.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { TABLE_FORMAT = 1, TABLE_HASH = 1 /* keys_slot_of: FNV-1a 64 + fmix64, linear probing */ };
enum { HEAD_BYTES = 64 };

static size_t up64(size_t x) { return (x + (IO_ALIGN - 1)) & ~(size_t)(IO_ALIGN - 1); }

static int pad_to(core_buf *b, size_t at) {
    static const uint8_t zeros[IO_ALIGN];
    return b->len < at ? io_put_bytes(b, zeros, at - b->len) : AISLE_OK;
}

/* ======================================================================
 * Writing
 * ====================================================================== */

typedef struct table_layout {
    size_t offsets, slots, arena, total;
} table_layout;

static table_layout table_layout_of(uint64_t n, uint64_t nslots, uint64_t arena_len) {
    table_layout l;
    l.offsets = HEAD_BYTES;
    l.slots = up64(l.offsets + (size_t)n * 8);
    l.arena = up64(l.slots + (size_t)nslots * 4);
    l.total = l.arena + (size_t)arena_len;
    return l;
}

/* The table is built here from the keys (not copied from k), so a file
 * always holds one that keys_find can use, whatever k's history. */
static int put_table(io_writer *w, uint32_t type, const core_keys *k) {
    size_t n = k->n, nslots = 0, arena_len = 0;
    if (n) {
        nslots = 64;
        while (nslots < 2 * n) nslots *= 2;
    }
    for (size_t i = 0; i < n; i++) arena_len += strlen(keys_at(k, (uint32_t)i)) + 1;
    uint32_t *slots = core_calloc(nslots ? nslots : 1, sizeof *slots);
    if (!slots) return core_oom("saving a key table");
    for (size_t i = 0; i < n; i++) {
        const char *s = keys_at(k, (uint32_t)i);
        size_t h = keys_slot_of(s, strlen(s), nslots);
        while (slots[h]) h = (h + 1) & (nslots - 1);
        slots[h] = (uint32_t)(i + 1);
    }
    table_layout l = table_layout_of(n, nslots, arena_len);
    core_buf b;
    buf_init(&b);
    int rc = buf_reserve(&b, l.total);
    if (!rc) rc = io_put_u32(&b, TABLE_FORMAT);
    if (!rc) rc = io_put_u32(&b, TABLE_HASH);
    if (!rc) rc = io_put_u64(&b, n);
    if (!rc) rc = io_put_u64(&b, arena_len);
    if (!rc) rc = io_put_u64(&b, nslots);
    if (!rc) rc = pad_to(&b, l.offsets);
    for (size_t i = 0, off = 0; !rc && i < n; i++) {
        rc = io_put_u64(&b, off);
        off += strlen(keys_at(k, (uint32_t)i)) + 1;
    }
    if (!rc) rc = pad_to(&b, l.slots);
    for (size_t i = 0; !rc && i < nslots; i++) rc = io_put_u32(&b, slots[i]);
    if (!rc) rc = pad_to(&b, l.arena);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *s = keys_at(k, (uint32_t)i);
        rc = io_put_bytes(&b, s, strlen(s) + 1);
    }
    core_free(slots);
    if (!rc) rc = io_writer_add_section_aligned(w, type, 0, &b, 0);
    buf_free(&b);
    return rc;
}

typedef struct csr_layout {
    size_t indptr, indices, values, last_time, count, total;
} csr_layout;

static csr_layout csr_layout_of(uint64_t rows, uint64_t nnz) {
    csr_layout l;
    l.indptr = HEAD_BYTES;
    l.indices = up64(l.indptr + ((size_t)rows + 1) * 8);
    l.values = up64(l.indices + (size_t)nnz * 4);
    l.last_time = up64(l.values + (size_t)nnz * 4);
    l.count = up64(l.last_time + (size_t)nnz * 8);
    l.total = l.count + (size_t)nnz * 4;
    return l;
}

/* Row by row through model_history_row: a model updated while serving
 * writes its merged rows, the bytes of the same history held as one CSR. */
static int put_history_arrays(io_writer *w, const aisle_model *m) {
    uint32_t nu = model_n_users(m);
    size_t nnz = model_history_nnz(m);
    csr_layout l = csr_layout_of(nu, nnz);
    core_buf b;
    buf_init(&b);
    int rc = buf_reserve(&b, l.total);
    if (!rc) rc = io_put_u32(&b, TABLE_FORMAT);
    if (!rc) rc = io_put_u32(&b, nu);
    if (!rc) rc = io_put_u32(&b, model_n_items(m));
    if (!rc) rc = io_put_u32(&b, 0);
    if (!rc) rc = io_put_u64(&b, nnz);
    if (!rc) rc = pad_to(&b, l.indptr);
    if (!rc) rc = io_put_u64(&b, 0);
    size_t at = 0;
    for (uint32_t u = 0; !rc && u < nu; u++) {
        at += model_history_row(m, u).n;
        rc = io_put_u64(&b, at);
    }
    const size_t start[4] = {l.indices, l.values, l.last_time, l.count};
    for (int col = 0; !rc && col < 4; col++) {
        rc = pad_to(&b, start[col]);
        for (uint32_t u = 0; !rc && u < nu; u++) {
            model_row r = model_history_row(m, u);
            for (size_t k = 0; !rc && k < r.n; k++) switch (col) {
                case 0: rc = io_put_u32(&b, r.items[k]); break;
                case 1: rc = io_put_f32(&b, r.values[k]); break;
                case 2: rc = io_put_i64(&b, r.last_time[k]); break;
                default: rc = io_put_u32(&b, r.count[k]); break;
                }
        }
    }
    if (!rc) rc = io_writer_add_section_aligned(w, IO_SECTION_HISTORY_ARRAYS, 0, &b, 0);
    buf_free(&b);
    return rc;
}

int model_map_save(const aisle_model *m, io_writer *w) {
    if (!io_writer_store_mappable(w)) return AISLE_OK;
    if (io_writer_level(w) != 0)
        return core_error(AISLE_EINVAL, "store_mappable=true needs compression=0: a mapped open serves the key "
                                        "tables and the history in place, which a compressed section cannot be");
    int rc = put_table(w, IO_SECTION_USERS_TABLE, &m->users);
    if (!rc) rc = put_table(w, IO_SECTION_ITEMS_TABLE, &m->items);
    if (!rc) rc = put_history_arrays(w, m);
    return rc;
}

/* ======================================================================
 * Reading (mapped files only)
 * ====================================================================== */

typedef struct table_view {
    io_cursor c;
    uint64_t n, nslots, arena_len;
    const uint64_t *offsets;
    const uint32_t *slots;
    const char *arena;
} table_view;

/* AISLE_EFORMAT naming the section and the field. */
static int bad(const io_cursor *c, const char *field, const char *fmt, ...) CORE_PRINTF(3, 4);
static int bad(const io_cursor *c, const char *field, const char *fmt, ...) {
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return core_error(AISLE_EFORMAT, "%s: %s: %s", c->section, field, msg);
}

/* The head of a table; *known false for a format or hash this release
 * does not know (a newer writer's: the ordinary sections are decoded). */
static int table_head(io_cursor *c, table_view *t, bool *known) {
    uint32_t format = 0, hash = 0;
    int rc = io_get_u32(c, &format);
    if (!rc) rc = io_get_u32(c, &hash);
    if (!rc) rc = io_get_u64(c, &t->n);
    if (!rc) rc = io_get_u64(c, &t->arena_len);
    if (!rc) rc = io_get_u64(c, &t->nslots);
    if (rc) return rc;
    *known = format == TABLE_FORMAT && hash == TABLE_HASH;
    if (!*known) return AISLE_OK;
    size_t len = c->len;
    if (t->n > UINT32_MAX - 2 || t->n > len / 8 || t->nslots > len / 4 || t->arena_len > len)
        return bad(c, "head", "%llu keys, %llu slots or the arena do not fit the section",
            (unsigned long long)t->n, (unsigned long long)t->nslots);
    if ((t->n && t->nslots <= t->n) || (t->nslots & (t->nslots - 1)))
        return bad(c, "head", "%llu slots for %llu keys (a power of two above the key count)",
            (unsigned long long)t->nslots, (unsigned long long)t->n);
    table_layout l = table_layout_of(t->n, t->nslots, t->arena_len);
    if (l.total != len) return bad(c, "length", "the section has %llu bytes, its sizes need %llu",
        (unsigned long long)len, (unsigned long long)l.total);
    const void *p;
    c->pos = l.offsets;
    rc = io_get_view(c, &p, (size_t)t->n * 8, IO_ALIGN);
    t->offsets = p;
    if (!rc) c->pos = l.slots, rc = io_get_view(c, &p, (size_t)t->nslots * 4, IO_ALIGN), t->slots = p;
    if (!rc) c->pos = l.arena, rc = io_get_view(c, &p, (size_t)t->arena_len, IO_ALIGN), t->arena = p;
    if (rc) return rc;
    if (t->n ? !t->arena_len || t->arena[t->arena_len - 1] != '\0' : t->arena_len != 0)
        return bad(c, "arena", "%llu bytes for %llu keys do not end with a NUL",
            (unsigned long long)t->arena_len, (unsigned long long)t->n);
    return io_cursor_done(c);
}

/* mmap_verify=open: the whole dictionary as the decoding path would
 * accept it, then equal to the ordinary section (type plain). */
static int table_verify(io_reader *r, const table_view *t, const core_keys *k, uint32_t plain) {
    const io_cursor *c = &t->c;
    for (uint64_t i = 0; i < t->n; i++) {
        uint64_t off = t->offsets[i], end = i + 1 < t->n ? t->offsets[i + 1] : t->arena_len;
        if (off != (i ? t->offsets[i - 1] + strlen(t->arena + t->offsets[i - 1]) + 1 : 0) || end > t->arena_len ||
            end < off + 2 || strlen(t->arena + off) != end - off - 1)
            return bad(c, "offsets", "key %llu at offset %llu is empty, overlaps or is not NUL-terminated",
                (unsigned long long)i, (unsigned long long)off);
    }
    uint64_t used = 0;
    for (uint64_t s = 0; s < t->nslots; s++) {
        if (t->slots[s] > t->n) return bad(c, "slots", "slot %llu holds %llu, past the key count",
            (unsigned long long)s, (unsigned long long)t->slots[s]);
        used += t->slots[s] != 0;
    }
    if (used != t->n) return bad(c, "slots", "%llu slots used for %llu keys",
        (unsigned long long)used, (unsigned long long)t->n);
    for (uint64_t i = 0; i < t->n; i++) {
        const char *s = keys_at(k, (uint32_t)i);
        int64_t found = keys_find(k, s, strlen(s));
        if (found != (int64_t)i)
            return bad(c, "slots", "key %llu is found at index %llu (a repeated key or a wrong table)",
                (unsigned long long)i,
                       (unsigned long long)found);
    }
    io_cursor o;
    uint64_t n = 0;
    int rc = io_reader_section(r, plain, &o);
    if (!rc) rc = io_get_u64(&o, &n);
    if (!rc && n != t->n) rc = bad(c, "head", "%llu keys, the ordinary section has %llu",
        (unsigned long long)t->n, (unsigned long long)n);
    for (uint64_t i = 0; !rc && i < n; i++) {
        const char *s = keys_at(k, (uint32_t)i);
        uint32_t len = 0;
        rc = io_get_u32(&o, &len);
        if (!rc && (len != strlen(s) || len > o.len - o.pos || memcmp(o.p + o.pos, s, len) != 0))
            rc = bad(c, "arena", "key %llu differs from the ordinary section's (%llu bytes there)",
                (unsigned long long)i, (unsigned long long)len);
        if (!rc) o.pos += len;
    }
    return rc ? rc : io_cursor_done(&o);
}

typedef struct history_view {
    io_cursor c;
    uint32_t rows, cols;
    uint64_t nnz;
    const uint64_t *indptr;
    const uint32_t *indices, *count;
    const float *values;
    const int64_t *last_time;
} history_view;

static int history_head(io_cursor *c, history_view *h, bool *known) {
    uint32_t format = 0, zero = 0;
    int rc = io_get_u32(c, &format);
    if (!rc) rc = io_get_u32(c, &h->rows);
    if (!rc) rc = io_get_u32(c, &h->cols);
    if (!rc) rc = io_get_u32(c, &zero);
    if (!rc) rc = io_get_u64(c, &h->nnz);
    if (rc) return rc;
    *known = format == TABLE_FORMAT;
    if (!*known) return AISLE_OK;
    if (h->nnz > c->len / 20 || h->rows > c->len / 8)
        return bad(c, "head", "%llu pairs over %llu rows do not fit the section",
            (unsigned long long)h->nnz, (unsigned long long)h->rows);
    csr_layout l = csr_layout_of(h->rows, h->nnz);
    if (l.total != c->len) return bad(c, "length", "the section has %llu bytes, its sizes need %llu",
        (unsigned long long)c->len, (unsigned long long)l.total);
    const void *p[5];
    size_t at[5] = {l.indptr, l.indices, l.values, l.last_time, l.count};
    size_t bytes[5] = {((size_t)h->rows + 1) * 8, (size_t)h->nnz * 4, (size_t)h->nnz * 4, (size_t)h->nnz * 8,
                       (size_t)h->nnz * 4};
    for (int i = 0; !rc && i < 5; i++) c->pos = at[i], rc = io_get_view(c, &p[i], bytes[i], IO_ALIGN);
    if (rc) return rc;
    h->indptr = p[0], h->indices = p[1], h->values = p[2], h->last_time = p[3], h->count = p[4];
    return io_cursor_done(c);
}

/* Always, whatever the verification: row pointers from 0, non-decreasing,
 * ending at nnz; item indices < cols and strictly ascending within a row
 * (the serving loops index arrays with them); values finite (what the
 * decoding path accepts, so the model saves to a file that loads). */
static int history_check(const history_view *h) {
    const io_cursor *c = &h->c;
    if (h->indptr[0] != 0) return bad(c, "indptr", "indptr[0] is %llu, expected 0", (unsigned long long)h->indptr[0]);
    for (uint32_t u = 0; u < h->rows; u++) {
        uint64_t b = h->indptr[u], e = h->indptr[u + 1];
        if (e < b || e > h->nnz) return bad(c, "indptr", "indptr[%llu] = %llu is out of order or too large",
            (unsigned long long)u + 1, (unsigned long long)e);
        for (uint64_t k = b; k < e; k++)
            if (h->indices[k] >= h->cols || (k > b && h->indices[k] <= h->indices[k - 1]))
                return bad(c, "indices", "user %llu: item index %llu out of range or not ascending",
                    (unsigned long long)u,
                           (unsigned long long)h->indices[k]);
    }
    if (h->indptr[h->rows] != h->nnz)
        return bad(c, "indptr", "the last row ends at %llu, the section holds %llu pairs",
            (unsigned long long)h->indptr[h->rows], (unsigned long long)h->nnz);
    for (uint64_t k = 0; k < h->nnz; k++)
        if (!isfinite(h->values[k])) return bad(c, "values", "value %llu is not a finite number",
            (unsigned long long)k);
    return AISLE_OK;
}

/* The arrays equal the ordinary HISTORY section's (same encodings on a
 * little-endian host, so the bytes compare). */
static int history_same(io_reader *r, const history_view *h) {
    io_cursor o;
    int rc = io_reader_section(r, IO_SECTION_HISTORY, &o);
    uint32_t rows = 0, cols = 0;
    if (!rc) rc = io_get_u32(&o, &rows);
    if (!rc) rc = io_get_u32(&o, &cols);
    if (!rc && (rows != h->rows || cols != h->cols))
        rc = bad(&h->c, "head", "%llu rows, the ordinary section has %llu",
            (unsigned long long)h->rows, (unsigned long long)rows);
    const void *arr[5] = {h->indptr, h->indices, h->values, h->last_time, h->count};
    uint64_t count[5] = {(uint64_t)h->rows + 1, h->nnz, h->nnz, h->nnz, h->nnz};
    size_t width[5] = {8, 4, 4, 8, 4};
    for (int i = 0; !rc && i < 5; i++) {
        uint64_t n = 0;
        rc = io_get_u64(&o, &n);
        size_t bytes = (size_t)count[i] * width[i];
        if (!rc && (n != count[i] || bytes > o.len - o.pos || memcmp(o.p + o.pos, arr[i], bytes) != 0))
            rc = bad(&h->c, "arrays", "array %llu differs from the ordinary section's (%llu values there)",
                     (unsigned long long)i, (unsigned long long)n);
        if (!rc) o.pos += bytes;
    }
    return rc ? rc : io_cursor_done(&o);
}

int model_map_load(aisle_model *m, io_reader *r, bool *served) {
    *served = false;
    const uint32_t types[3] = {IO_SECTION_USERS_TABLE, IO_SECTION_ITEMS_TABLE, IO_SECTION_HISTORY_ARRAYS};
    if (!io_reader_mapped(r) || sizeof(size_t) != sizeof(uint64_t)) return AISLE_OK;
    for (int i = 0; i < 3; i++)
        if (!io_reader_has_section(r, types[i])) return AISLE_OK;
    bool verify = io_reader_verifies_views(r), known = true;
    table_view t[2];
    history_view h;
    memset(t, 0, sizeof t);
    memset(&h, 0, sizeof h);
    int rc = AISLE_OK;
    for (int i = 0; !rc && known && i < 2; i++) {
        rc = io_reader_section_view(r, types[i], &t[i].c);
        if (rc == AISLE_EUNSUPPORTED) return AISLE_OK; /* compressed: decode the ordinary sections */
        if (!rc) rc = table_head(&t[i].c, &t[i], &known);
    }
    if (!rc && known) {
        rc = io_reader_section_view(r, IO_SECTION_HISTORY_ARRAYS, &h.c);
        if (rc == AISLE_EUNSUPPORTED) return AISLE_OK;
        if (!rc) rc = history_head(&h.c, &h, &known);
    }
    if (rc || !known) return rc;
    if (h.rows != t[0].n || h.cols != t[1].n)
        return bad(&h.c, "head", "%llu x %llu, but the tables hold that many users and items",
            (unsigned long long)h.rows, (unsigned long long)h.cols);
    rc = history_check(&h);
    if (rc) return rc;
    core_keys *k[2] = {&m->users, &m->items};
    for (int i = 0; i < 2; i++)
        keys_borrow(k[i], t[i].arena, (size_t)t[i].arena_len, t[i].offsets, (size_t)t[i].n, t[i].slots,
                    (size_t)t[i].nslots);
    data_csr *d = &m->history;
    d->rows = h.rows, d->cols = h.cols, d->nnz = (size_t)h.nnz;
    d->indptr = (size_t *)(uintptr_t)h.indptr; /* never written: borrowed (sizeof(size_t) == 8 checked) */
    d->indices = (uint32_t *)(uintptr_t)h.indices;
    d->values = (float *)(uintptr_t)h.values;
    d->last_time = (int64_t *)(uintptr_t)h.last_time;
    d->count = (uint32_t *)(uintptr_t)h.count;
    m->history_borrowed = MODEL_HISTORY_INDPTR | MODEL_HISTORY_ENTRIES;
    if (verify) {
        rc = table_verify(r, &t[0], k[0], IO_SECTION_USERS);
        if (!rc) rc = table_verify(r, &t[1], k[1], IO_SECTION_ITEMS);
        if (!rc) rc = history_same(r, &h);
        if (rc) return rc; /* the caller frees m, which forgets the borrowed views */
    }
    io_reader_skip(r, IO_SECTION_USERS);
    io_reader_skip(r, IO_SECTION_ITEMS);
    io_reader_skip(r, IO_SECTION_HISTORY);
    *served = true;
    return AISLE_OK;
}
