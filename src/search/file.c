/* file.c - saving and loading a search index in the model container
 * (docs/FORMAT.md, kind "search_index", sections 256-264).  Saving compacts:
 * removed products and terms left without postings are dropped and the
 * documents renumbered, so a loaded index has exact statistics.  Loading
 * decodes and checks every postings entry, so queries never meet a
 * malformed one. */
#include "search.h"

#include <math.h>
#include <string.h>

static int put_keys(core_buf *b, const core_keys *k) {
    int rc = io_put_u64(b, k->n);
    for (size_t i = 0; i < k->n && !rc; i++) rc = io_put_str(b, keys_at(k, (uint32_t)i));
    return rc;
}

static size_t encode_from(const search_entry *e, uint32_t doc, uint32_t prev, uint8_t *out) {
    size_t o = search_put_varint(out, doc - prev);
    out[o++] = e->mask;
    for (int f = 0; f < SEARCH_N_FIELDS; f++)
        if (e->mask >> f & 1) o += search_put_varint(out + o, e->tf[f]);
    uint32_t p = 0;
    for (int k = 0; k < e->npos; k++) {
        o += search_put_varint(out + o, e->pos[k] - p);
        p = e->pos[k];
    }
    return o;
}

int search_index_write(const aisle_search_index *idx, const aisle_config *cfg, io_writer **out) {
    io_writer *w = NULL;
    core_buf b, pb;
    buf_init(&b);
    buf_init(&pb);
    uint32_t *newdoc = core_malloc((idx->n_docs ? idx->n_docs : 1) * sizeof *newdoc);
    uint32_t *newterm = core_malloc((idx->terms.n ? idx->terms.n : 1) * sizeof *newterm);
    int rc = newdoc && newterm ? io_writer_new(&w, SEARCH_KIND, cfg) : core_oom("search index save");
    uint32_t live = 0;
    double fsum[SEARCH_N_FIELDS] = {0};
    for (size_t d = 0; d < idx->n_docs && !rc; d++) {
        newdoc[d] = idx->alive[d] ? live++ : SEARCH_NONE;
        if (idx->alive[d])
            for (int f = 0; f < SEARCH_N_FIELDS; f++) fsum[f] += idx->flen[d * SEARCH_N_FIELDS + f];
    }
    /* terms and postings (re-encoded without removed documents) */
    uint64_t kept = 0;
    core_buf tb;
    buf_init(&tb);
    for (size_t t = 0; t < idx->terms.n && !rc; t++) {
        const search_postings *p = &idx->post[t];
        uint32_t off = 0, prev = 0, df = 0, nprev = 0;
        size_t start = pb.len;
        newterm[t] = SEARCH_NONE;
        search_entry e;
        e.doc = 0;
        while (off < p->len && !rc) {
            if ((rc = search_decode_entry(p->data, p->len, &off, prev, &e))) {
                rc = core_error(AISLE_EINTERNAL, "search index: corrupt postings of term %zu", t);
                break;
            }
            prev = e.doc;
            if (newdoc[e.doc] == SEARCH_NONE) continue;
            uint8_t tmp[80];
            size_t n = encode_from(&e, newdoc[e.doc], df ? nprev : 0, tmp);
            rc = buf_append(&pb, tmp, n);
            nprev = newdoc[e.doc];
            df++;
        }
        if (rc || !df) continue;
        if (pb.len - start > UINT32_MAX) rc = core_error(AISLE_ERANGE, "search index: postings over 4 GiB");
        if (!rc) rc = io_put_str(&tb, keys_at(&idx->terms, (uint32_t)t));
        if (!rc) rc = io_put_u32(&tb, df);
        if (!rc) rc = io_put_u32(&tb, (uint32_t)(pb.len - start));
        newterm[t] = (uint32_t)kept++;
    }
    /* meta */
    if (!rc) rc = io_put_u32(&b, SEARCH_FORMAT);
    if (!rc) rc = io_put_u64(&b, live);
    if (!rc) rc = io_put_u64(&b, kept);
    for (int f = 0; f < SEARCH_N_FIELDS && !rc; f++) rc = io_put_f64(&b, fsum[f]);
    if (!rc) rc = io_put_u8(&b, idx->has_popularity);
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_META, IO_FLAG_REQUIRED, &b);
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_TERMS, IO_FLAG_REQUIRED, &tb);
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_POSTINGS, IO_FLAG_REQUIRED, &pb);
    buf_free(&tb);
    buf_free(&pb);
    /* documents */
    b.len = 0;
    for (size_t d = 0; d < idx->n_docs && !rc; d++) {
        if (!idx->alive[d]) continue;
        rc = io_put_str(&b, keys_at(&idx->keys, idx->key_of_doc[d]));
        for (int f = 0; f < SEARCH_N_FIELDS && !rc; f++) rc = io_put_u32(&b, idx->flen[d * SEARCH_N_FIELDS + f]);
        if (!rc) rc = io_put_f64(&b, idx->price[d]);
        if (!rc) rc = io_put_u32(&b, idx->brand[d]);
        if (!rc) rc = io_put_u32(&b, idx->category[d]);
        if (!rc) rc = io_put_f32(&b, idx->popularity[d]);
        if (!rc) rc = io_put_u32_array(&b, idx->attrs + idx->attr_start[d], idx->attr_n[d]);
    }
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_DOCS, IO_FLAG_REQUIRED, &b);
    /* facet dictionaries */
    b.len = 0;
    if (!rc) rc = put_keys(&b, &idx->brands);
    if (!rc) rc = put_keys(&b, &idx->categories);
    if (!rc) rc = put_keys(&b, &idx->attr_names);
    if (!rc) rc = put_keys(&b, &idx->attr_pairs);
    if (!rc) rc = io_put_u32_array(&b, idx->pair_name, idx->attr_pairs.n);
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_FACETS, IO_FLAG_REQUIRED, &b);
    if (!rc) rc = search_encoder_write(idx, newdoc, live, w);
    if (!rc) rc = search_pairs_write(idx, newterm, newdoc, w);
    if (!rc) rc = search_ltr_write(idx, w);
    buf_free(&b);
    core_free(newdoc);
    core_free(newterm);
    if (rc) {
        io_writer_free(w);
        return rc;
    }
    *out = w;
    return AISLE_OK;
}

static int bad(io_cursor *c, const char *what) {
    return core_error(AISLE_EFORMAT, "search index %s: %s", c->section, what);
}

/* Refuses counts the remaining bytes cannot hold (each item >= min bytes). */
static int check_count(io_cursor *c, uint64_t n, size_t min) {
    if (n > (c->len - c->pos) / min) return bad(c, "count larger than the data present");
    return AISLE_OK;
}

static int get_keys(io_cursor *c, core_keys *k) {
    uint64_t n;
    int rc = io_get_u64(c, &n);
    if (!rc) rc = check_count(c, n, 4);
    for (uint64_t i = 0; i < n && !rc; i++) {
        char *s;
        if ((rc = io_get_str(c, &s))) break;
        bool added;
        uint32_t id;
        rc = keys_intern(k, s, strlen(s), &id, &added);
        core_free(s);
        if (!rc && !added) rc = bad(c, "duplicate entry");
    }
    return rc;
}

static int read_meta(aisle_search_index *idx, io_reader *r, uint64_t *n_docs, uint64_t *n_terms) {
    io_cursor c;
    uint32_t fmt = 0;
    uint8_t pop = 0;
    int rc = io_reader_section(r, SEARCH_SECTION_META, &c);
    if (!rc) rc = io_get_u32(&c, &fmt);
    if (!rc && fmt != SEARCH_FORMAT)
        return core_error(AISLE_EVERSION, "search index format %u (this library reads %d)", fmt, SEARCH_FORMAT);
    if (!rc) rc = io_get_u64(&c, n_docs);
    if (!rc) rc = io_get_u64(&c, n_terms);
    for (int f = 0; f < SEARCH_N_FIELDS && !rc; f++) {
        rc = io_get_f64(&c, &idx->flen_sum[f]);
        if (!rc && !(idx->flen_sum[f] >= 0 && isfinite(idx->flen_sum[f]))) rc = bad(&c, "field length sum");
    }
    if (!rc) rc = io_get_u8(&c, &pop);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && *n_docs >= UINT32_MAX) rc = bad(&c, "too many documents");
    idx->has_popularity = pop != 0;
    return rc;
}

static int read_facets(aisle_search_index *idx, io_reader *r) {
    io_cursor c;
    int rc = io_reader_section(r, SEARCH_SECTION_FACETS, &c);
    if (!rc) rc = get_keys(&c, &idx->brands);
    if (!rc) rc = get_keys(&c, &idx->categories);
    if (!rc) rc = get_keys(&c, &idx->attr_names);
    if (!rc) rc = get_keys(&c, &idx->attr_pairs);
    uint64_t n = 0;
    if (!rc) rc = io_get_u32_array(&c, &idx->pair_name, &n, idx->attr_pairs.n);
    if (!rc && n != idx->attr_pairs.n) rc = bad(&c, "attribute pair names");
    idx->pair_name_cap = n;
    for (uint64_t i = 0; i < n && !rc; i++)
        if (idx->pair_name[i] >= idx->attr_names.n) rc = bad(&c, "attribute name id");
    if (!rc) rc = io_cursor_done(&c);
    return rc;
}

static int read_docs(aisle_search_index *idx, io_reader *r, uint64_t n) {
    io_cursor c;
    int rc = io_reader_section(r, SEARCH_SECTION_DOCS, &c);
    if (!rc) rc = check_count(&c, n, 4 + 4 * SEARCH_N_FIELDS + 8 + 4 + 4 + 4 + 8);
    if (rc) return rc;
    size_t cap = n ? (size_t)n : 1;
    idx->key_of_doc = core_malloc(cap * sizeof *idx->key_of_doc);
    idx->doc_of_key = core_malloc(cap * sizeof *idx->doc_of_key);
    idx->alive = core_malloc(cap);
    idx->flen = core_malloc(cap * SEARCH_N_FIELDS * sizeof *idx->flen);
    idx->price = core_malloc(cap * sizeof *idx->price);
    idx->brand = core_malloc(cap * sizeof *idx->brand);
    idx->category = core_malloc(cap * sizeof *idx->category);
    idx->popularity = core_malloc(cap * sizeof *idx->popularity);
    idx->attr_start = core_malloc(cap * sizeof *idx->attr_start);
    idx->attr_n = core_malloc(cap * sizeof *idx->attr_n);
    if (!idx->key_of_doc || !idx->doc_of_key || !idx->alive || !idx->flen || !idx->price || !idx->brand ||
        !idx->category || !idx->popularity || !idx->attr_start || !idx->attr_n)
        return core_oom("search documents");
    idx->docs_cap = idx->dok_cap = cap;
    for (uint64_t d = 0; d < n && !rc; d++) {
        char *key;
        if ((rc = io_get_str(&c, &key))) break;
        uint32_t ki;
        bool added;
        rc = keys_intern(&idx->keys, key, strlen(key), &ki, &added);
        core_free(key);
        if (!rc && !added) rc = bad(&c, "duplicate product key");
        if (rc) break;
        idx->key_of_doc[d] = ki;
        idx->doc_of_key[ki] = (uint32_t)d;
        idx->alive[d] = 1;
        for (int f = 0; f < SEARCH_N_FIELDS && !rc; f++) {
            uint32_t v;
            rc = io_get_u32(&c, &v);
            if (!rc && v > UINT16_MAX) rc = bad(&c, "field length");
            idx->flen[d * SEARCH_N_FIELDS + f] = (uint16_t)v;
        }
        if (!rc) rc = io_get_f64(&c, &idx->price[d]);
        if (!rc) rc = io_get_u32(&c, &idx->brand[d]);
        if (!rc) rc = io_get_u32(&c, &idx->category[d]);
        if (!rc) rc = io_get_f32(&c, &idx->popularity[d]);
        if (!rc && idx->brand[d] != SEARCH_NONE && idx->brand[d] >= idx->brands.n) rc = bad(&c, "brand id");
        if (!rc && idx->category[d] != SEARCH_NONE && idx->category[d] >= idx->categories.n)
            rc = bad(&c, "category id");
        if (!rc && !isfinite(idx->popularity[d])) rc = bad(&c, "popularity");
        uint32_t *a = NULL;
        uint64_t na = 0;
        if (!rc) rc = io_get_u32_array(&c, &a, &na, 256);
        if (!rc && idx->n_attrs + na > idx->attrs_cap)
            rc = core_grow((void **)&idx->attrs, &idx->attrs_cap, idx->n_attrs + na, sizeof *idx->attrs);
        for (uint64_t i = 0; i < na && !rc; i++)
            if (a[i] >= idx->attr_pairs.n) rc = bad(&c, "attribute id");
        if (!rc) {
            if (na) memcpy(idx->attrs + idx->n_attrs, a, na * sizeof *a);
            idx->attr_start[d] = (uint32_t)idx->n_attrs;
            idx->attr_n[d] = (uint32_t)na;
            idx->n_attrs += na;
        }
        core_free(a);
        idx->n_docs = d + 1;
    }
    idx->n_alive = idx->n_docs;
    if (!rc) rc = io_cursor_done(&c);
    return rc;
}

static int read_terms(aisle_search_index *idx, io_reader *r, uint64_t n_terms) {
    io_cursor tc, pc;
    int rc = io_reader_section(r, SEARCH_SECTION_TERMS, &tc);
    if (!rc) rc = io_reader_section(r, SEARCH_SECTION_POSTINGS, &pc);
    if (!rc) rc = check_count(&tc, n_terms, 4 + 4 + 4);
    if (rc) return rc;
    idx->post = core_calloc(n_terms ? (size_t)n_terms : 1, sizeof *idx->post);
    if (!idx->post) return core_oom("search postings");
    idx->post_cap = n_terms ? (size_t)n_terms : 1;
    for (uint64_t t = 0; t < n_terms && !rc; t++) {
        char *s;
        uint32_t df, len, id;
        bool added;
        if ((rc = io_get_str(&tc, &s))) break;
        rc = s[0] ? keys_intern(&idx->terms, s, strlen(s), &id, &added) : bad(&tc, "empty term");
        core_free(s);
        if (!rc && !added) rc = bad(&tc, "duplicate term");
        if (!rc) rc = io_get_u32(&tc, &df);
        if (!rc) rc = io_get_u32(&tc, &len);
        if (!rc && (!df || !len || len > pc.len - pc.pos)) rc = bad(&pc, "postings length");
        if (rc) break;
        search_postings *p = &idx->post[t];
        if (!(p->data = core_malloc(len))) {
            rc = core_oom("search postings");
            break;
        }
        p->cap = p->len = len;
        if ((rc = io_get_bytes(&pc, p->data, len))) break;
        /* verify every entry: increasing documents below n_docs, df entries */
        uint32_t off = 0, prev = 0, count = 0;
        search_entry e;
        while (off < len) {
            uint32_t before = prev;
            if (search_decode_entry(p->data, len, &off, prev, &e) || e.doc >= idx->n_docs ||
                (count && e.doc <= before)) {
                rc = bad(&pc, "malformed postings entry");
                break;
            }
            prev = e.doc;
            count++;
            search_bounds_add(p, e.tf, idx->flen + (size_t)e.doc * SEARCH_N_FIELDS);
        }
        if (!rc && count != df) rc = bad(&pc, "postings count differs from the document frequency");
        p->df = df;
        p->last_doc = prev;
        if (!rc) rc = search_skips_build(p, idx->flen);
    }
    if (!rc) rc = io_cursor_done(&tc);
    if (!rc) rc = io_cursor_done(&pc);
    return rc;
}

int search_index_read(aisle_search_index *idx, io_reader *r) {
    uint64_t n_docs, n_terms;
    int rc = read_meta(idx, r, &n_docs, &n_terms);
    if (!rc) rc = read_facets(idx, r);
    if (!rc) rc = read_docs(idx, r, n_docs);
    if (!rc) rc = search_encoder_read(idx, r);
    if (!rc) rc = search_ltr_read(idx, r);
    if (!rc) rc = read_terms(idx, r, n_terms);
    if (!rc) rc = search_pairs_read(idx, r);
    if (!rc) rc = io_reader_check_required(r);
    if (!rc) rc = search_helpers_rebuild(idx);
    return rc;
}
