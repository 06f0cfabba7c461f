/* index.c - the search index's storage: postings coding, adding, replacing
 * and removing products.  Adding is all or nothing: everything that can fail
 * (interning, growing arrays and blobs) happens before the first change
 * that a search could see, and is rolled back on failure. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int search_index_alloc(aisle_search_index **out) {
    aisle_search_index *idx = core_calloc(1, sizeof *idx);
    if (!idx) return core_oom("search index");
    keys_init(&idx->terms);
    keys_init(&idx->keys);
    keys_init(&idx->brands);
    keys_init(&idx->categories);
    keys_init(&idx->attr_names);
    keys_init(&idx->attr_pairs);
    int rc = search_params_read(&idx->defaults, NULL, NULL);
    if (rc) {
        core_free(idx);
        return rc;
    }
    idx->pair_min = SEARCH_PAIR_MIN_DEFAULT; /* an index grown by adds chooses pairs as it grows */
    idx->pairs_by_adds = true;
    *out = idx;
    return AISLE_OK;
}

void search_index_release(aisle_search_index *idx) {
    if (!idx) return;
    for (size_t t = 0; t < idx->terms.n && idx->post; t++) {
        core_free(idx->post[t].data);
        core_free(idx->post[t].skip);
        core_free(idx->post[t].bmax);
    }
    core_free(idx->post);
    keys_clear(&idx->terms);
    keys_clear(&idx->keys);
    keys_clear(&idx->brands);
    keys_clear(&idx->categories);
    keys_clear(&idx->attr_names);
    keys_clear(&idx->attr_pairs);
    core_free(idx->sorted);
    core_free(idx->grams);
    core_free(idx->doc_of_key);
    core_free(idx->key_of_doc);
    core_free(idx->alive);
    core_free(idx->flen);
    core_free(idx->price);
    core_free(idx->brand);
    core_free(idx->category);
    core_free(idx->attr_start);
    core_free(idx->attr_n);
    core_free(idx->popularity);
    core_free(idx->attrs);
    core_free(idx->pair_name);
    core_free(idx->toks);
    core_free(idx->touched);
    core_free(idx->dterm);
    core_free(idx->dtf);
    search_pairs_release(idx);
    search_encoder_drop(idx);
    core_free(idx);
}

int search_decode_entry(const uint8_t *data, uint32_t len, uint32_t *off, uint32_t prev, search_entry *e) {
    uint32_t o = *off, v;
    size_t n = search_get_varint(data + o, len - o, &v);
    if (!n || v > UINT32_MAX - prev) return AISLE_EFORMAT;
    o += (uint32_t)n;
    e->doc = prev + v;
    if (o >= len) return AISLE_EFORMAT;
    e->mask = data[o++];
    if (!e->mask || e->mask >> SEARCH_N_FIELDS) return AISLE_EFORMAT;
    uint32_t total = 0;
    for (int f = 0; f < SEARCH_N_FIELDS; f++) {
        e->tf[f] = 0;
        if (!(e->mask >> f & 1)) continue;
        n = search_get_varint(data + o, len - o, &v);
        if (!n || !v || v > UINT16_MAX) return AISLE_EFORMAT;
        o += (uint32_t)n;
        e->tf[f] = (uint16_t)v;
        total += v;
    }
    e->npos = (uint8_t)(total < SEARCH_MAX_POS ? total : SEARCH_MAX_POS);
    e->pos_off = o;
    uint32_t p = 0;
    for (int k = 0; k < e->npos; k++) {
        n = search_get_varint(data + o, len - o, &v);
        if (!n || p + v > UINT16_MAX) return AISLE_EFORMAT;
        o += (uint32_t)n;
        p += v;
        e->pos[k] = (uint16_t)p;
    }
    *off = o;
    return AISLE_OK;
}

/* Whether vector i of b has every field of (tf, len) at least as good. */
static bool bmax_dominates(const search_bmax *b, int i, const uint16_t *tf, const uint16_t *len) {
    for (int f = 0; f < SEARCH_N_FIELDS; f++)
        if (tf[f] && (b->tf[i][f] < tf[f] || b->len[i][f] > len[f])) return false;
    return true;
}

void search_bmax_add(search_bmax *b, const uint16_t *tf, const uint16_t *flen) {
    uint16_t len[SEARCH_N_FIELDS];
    for (int f = 0; f < SEARCH_N_FIELDS; f++) len[f] = tf[f] ? flen[f] : 0;
    for (int i = 0; i < b->n; i++)
        if (bmax_dominates(b, i, tf, len)) return;
    /* drop the vectors the entry dominates: an entry dominates a vector
     * when it has each of the vector's fields at least as well */
    int k = 0;
    for (int i = 0; i < b->n; i++) {
        bool dominated = true;
        for (int f = 0; f < SEARCH_N_FIELDS && dominated; f++)
            if (b->tf[i][f] && (tf[f] < b->tf[i][f] || len[f] > b->len[i][f])) dominated = false;
        if (dominated) continue;
        if (k != i) {
            memcpy(b->tf[k], b->tf[i], sizeof b->tf[k]);
            memcpy(b->len[k], b->len[i], sizeof b->len[k]);
        }
        k++;
    }
    b->n = (uint8_t)k;
    if (b->n < SEARCH_BMAX) {
        memcpy(b->tf[b->n], tf, sizeof b->tf[b->n]);
        memcpy(b->len[b->n], len, sizeof b->len[b->n]);
        b->n++;
        return;
    }
    /* full: merge into the vector sharing most fields (ties: the first) */
    int best = 0, best_common = -1;
    for (int i = 0; i < b->n; i++) {
        int common = 0;
        for (int f = 0; f < SEARCH_N_FIELDS; f++) common += (b->tf[i][f] != 0) == (tf[f] != 0);
        if (common > best_common) best = i, best_common = common;
    }
    for (int f = 0; f < SEARCH_N_FIELDS; f++) {
        if (!tf[f]) continue;
        if (!b->tf[best][f] || len[f] < b->len[best][f]) b->len[best][f] = len[f];
        if (tf[f] > b->tf[best][f]) b->tf[best][f] = tf[f];
    }
}

/* Block-max bounds of the first n_entries entries of p (whole blocks and
 * the partial last one) from its blob. */
static int bmax_fill(search_postings *p, const uint16_t *flen, uint32_t n_entries) {
    uint32_t off = 0;
    search_entry e;
    e.doc = 0;
    for (uint32_t k = 0; k < n_entries && off < p->len; k++) {
        if (search_decode_entry(p->data, p->len, &off, e.doc, &e)) return AISLE_EFORMAT;
        if (k % SEARCH_SKIP == 0) p->bmax[k / SEARCH_SKIP].n = 0;
        search_bmax_add(&p->bmax[k / SEARCH_SKIP], e.tf, flen + (size_t)e.doc * SEARCH_N_FIELDS);
    }
    return AISLE_OK;
}

int search_skips_build(search_postings *p, const uint16_t *flen) {
    uint32_t n = p->df ? (p->df - 1) / SEARCH_SKIP : 0;
    if (!n) return AISLE_OK;
    p->skip = core_malloc(n * sizeof *p->skip);
    p->bmax = core_malloc(((size_t)n + 1) * sizeof *p->bmax);
    if (!p->skip || !p->bmax) return core_oom("postings skips");
    p->skip_cap = n;
    p->bmax_cap = n + 1;
    uint32_t off = 0, k = 0;
    search_entry e;
    e.doc = 0;
    while (off < p->len && k <= n * SEARCH_SKIP) {
        if (k && k % SEARCH_SKIP == 0) p->skip[k / SEARCH_SKIP - 1] = (search_skip){e.doc, off};
        if (search_decode_entry(p->data, p->len, &off, e.doc, &e)) return AISLE_EFORMAT;
        k++;
    }
    return bmax_fill(p, flen, p->df);
}

/* ---- tokenizing one product ---- */

typedef struct add_ctx {
    aisle_search_index *idx;
    size_t n;
    uint32_t pos;
    uint8_t field;
    uint32_t flen;
} add_ctx;

static int on_token(void *vctx, const char *tok, size_t len, int kind) {
    (void)kind;
    add_ctx *c = vctx;
    aisle_search_index *idx = c->idx;
    uint32_t term;
    int rc = keys_intern(&idx->terms, tok, len, &term, NULL);
    if (rc) return rc;
    if (c->n == idx->toks_cap &&
        (rc = core_grow((void **)&idx->toks, &idx->toks_cap, c->n + 1, sizeof *idx->toks)))
        return rc;
    idx->toks[c->n].term = term;
    idx->toks[c->n].pos = (uint16_t)(c->pos < UINT16_MAX ? c->pos : UINT16_MAX);
    idx->toks[c->n].field = c->field;
    c->n++;
    c->pos++;
    c->flen++;
    return AISLE_OK;
}

static int tok_cmp(const void *a, const void *b) {
    const search_tok *x = a, *y = b;
    if (x->term != y->term) return x->term < y->term ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Encodes the entry of toks[0..n) (one term, positions ascending) for doc
 * after prev into out (at most 6 + 5*5 + 8*3 bytes). */
static size_t encode_entry(const search_tok *toks, size_t n, uint32_t doc, uint32_t prev, uint8_t *out) {
    uint32_t tf[SEARCH_N_FIELDS] = {0};
    for (size_t i = 0; i < n; i++) tf[toks[i].field]++;
    size_t o = search_put_varint(out, doc - prev);
    uint8_t mask = 0;
    for (int f = 0; f < SEARCH_N_FIELDS; f++)
        if (tf[f]) mask |= (uint8_t)(1u << f);
    out[o++] = mask;
    for (int f = 0; f < SEARCH_N_FIELDS; f++)
        if (tf[f]) o += search_put_varint(out + o, tf[f] < UINT16_MAX ? tf[f] : UINT16_MAX);
    uint32_t p = 0;
    for (size_t i = 0; i < n && i < SEARCH_MAX_POS; i++) {
        o += search_put_varint(out + o, toks[i].pos - p);
        p = toks[i].pos;
    }
    return o;
}

enum { ENTRY_MAX = 64 };

static int grow_docs(aisle_search_index *idx, size_t need) {
    if (need <= idx->docs_cap) return AISLE_OK;
    size_t cap = idx->docs_cap ? idx->docs_cap : 64;
    while (cap < need) cap *= 2;
    void *p;
#define GROW(field, count)                                                                     \
    if (!(p = core_reallocarray(idx->field, cap * (count), sizeof *idx->field))) return core_oom("search documents"); \
    idx->field = p;
    GROW(key_of_doc, 1)
    GROW(alive, 1)
    GROW(flen, SEARCH_N_FIELDS)
    GROW(price, 1)
    GROW(brand, 1)
    GROW(category, 1)
    GROW(attr_start, 1)
    GROW(attr_n, 1)
    GROW(popularity, 1)
    if (idx->enc_dim) {
        GROW(enc_vec, idx->enc_dim)
    }
#undef GROW
    idx->docs_cap = cap;
    return AISLE_OK;
}

static int intern_opt(core_keys *k, const char *s, uint32_t *id) {
    if (!s[0]) {
        *id = SEARCH_NONE;
        return AISLE_OK;
    }
    return keys_intern(k, s, strlen(s), id, NULL);
}

int search_index_add(aisle_search_index *idx, const aisle_catalog *cat, size_t i) {
    const char *key = data_catalog_key(cat, i);
    size_t terms0 = idx->terms.n, keys0 = idx->keys.n, brands0 = idx->brands.n, cats0 = idx->categories.n,
           names0 = idx->attr_names.n, pairs0 = idx->attr_pairs.n, post_cap0 = idx->post_cap;
    feat_tok_cfg tc;
    feat_tok_default(&tc);
    add_ctx c = {idx, 0, 0, 0, 0};
    uint16_t flen[SEARCH_N_FIELDS] = {0};
    static const int src_field[4] = {DATA_FIELD_TITLE, DATA_FIELD_DESCRIPTION, DATA_FIELD_CATEGORY,
                                     DATA_FIELD_BRAND};
    /* the product's encoder vector first: encoding is the step most likely
     * to fail, and it changes nothing (build encodes in one batch after) */
    float *vec = NULL;
    if (idx->enc_dim && !idx->bulk) {
        if (!(vec = core_malloc(idx->enc_dim * sizeof *vec))) return core_oom("product vector");
        int erc = search_encoder_product(idx, cat, i, vec);
        if (erc) {
            core_free(vec);
            return erc;
        }
    }
    /* then the pairs, chosen again when an index grown by adds has doubled
     * (undone below if the add fails) */
    search_pairs_choice choice;
    int rc = search_pairs_grow(idx, &choice);
    for (int f = 0; f < 4 && !rc; f++) {
        const char *text = data_catalog_field(cat, i, src_field[f]);
        c.field = (uint8_t)f;
        c.flen = 0;
        rc = feat_tokenize(&tc, text, strlen(text), on_token, &c);
        flen[f] = (uint16_t)(c.flen < UINT16_MAX ? c.flen : UINT16_MAX);
        c.pos += SEARCH_FIELD_GAP;
    }
    /* attributes: values are searchable text, (name, value) pairs filters */
    size_t n_pairs = 0;
    uint32_t pair_ids[256];
    c.field = SEARCH_F_ATTRS;
    c.flen = 0;
    for (uint32_t e = cat->attr_head[i]; e && !rc; e = cat->attrs[e - 1].next) {
        const data_attr *a = &cat->attrs[e - 1];
        const char *name = keys_at(&cat->attr_names, a->name), *value = cat->text.data + a->value;
        rc = feat_tokenize(&tc, value, strlen(value), on_token, &c);
        if (rc || n_pairs == CORE_ARRAY_LEN(pair_ids)) continue;
        uint32_t nid, pid;
        size_t nl = strlen(name), vl = strlen(value);
        char stack[256], *pair = nl + vl + 2 <= sizeof stack ? stack : core_malloc(nl + vl + 2);
        if (!pair) {
            rc = core_oom("attribute");
            break;
        }
        memcpy(pair, name, nl);
        pair[nl] = '\x1f';
        memcpy(pair + nl + 1, value, vl);
        rc = keys_intern(&idx->attr_names, name, nl, &nid, NULL);
        if (!rc) rc = keys_intern(&idx->attr_pairs, pair, nl + vl + 1, &pid, NULL);
        if (pair != stack) core_free(pair);
        if (rc) break;
        if (pid >= idx->pair_name_cap &&
            (rc = core_grow((void **)&idx->pair_name, &idx->pair_name_cap, (size_t)pid + 1, sizeof *idx->pair_name)))
            break;
        idx->pair_name[pid] = nid;
        pair_ids[n_pairs++] = pid;
    }
    flen[SEARCH_F_ATTRS] = (uint16_t)(c.flen < UINT16_MAX ? c.flen : UINT16_MAX);
    uint32_t brand = SEARCH_NONE, category = SEARCH_NONE, keyi = 0;
    if (!rc) rc = intern_opt(&idx->brands, data_catalog_field(cat, i, DATA_FIELD_BRAND), &brand);
    if (!rc) rc = intern_opt(&idx->categories, data_catalog_field(cat, i, DATA_FIELD_CATEGORY), &category);
    if (!rc) rc = keys_intern(&idx->keys, key, strlen(key), &keyi, NULL);
    if (!rc && idx->keys.n > idx->dok_cap)
        rc = core_grow((void **)&idx->doc_of_key, &idx->dok_cap, idx->keys.n, sizeof *idx->doc_of_key);
    if (!rc && idx->n_docs >= UINT32_MAX - 1) rc = core_error(AISLE_ERANGE, "search index: too many documents");
    if (!rc) rc = grow_docs(idx, idx->n_docs + 1);
    if (!rc && idx->n_attrs + n_pairs > idx->attrs_cap)
        rc = core_grow((void **)&idx->attrs, &idx->attrs_cap, idx->n_attrs + n_pairs, sizeof *idx->attrs);
    if (!rc && idx->terms.n > idx->post_cap) {
        size_t cap = idx->post_cap;
        rc = core_grow((void **)&idx->post, &cap, idx->terms.n, sizeof *idx->post);
        if (!rc) {
            memset(idx->post + idx->post_cap, 0, (cap - idx->post_cap) * sizeof *idx->post);
            idx->post_cap = cap;
        }
    }
    /* grow every touched blob to fit its new entry (contents unchanged) */
    uint32_t doc = (uint32_t)idx->n_docs;
    size_t n = c.n, n_groups = 0, n_dt = 0;
    if (!rc && idx->pair_min && (idx->bulk || idx->pairs_by_adds))
        rc = search_pairs_count(idx, idx->toks, n); /* position order */
    if (!rc && n) qsort(idx->toks, n, sizeof *idx->toks, tok_cmp);
    if (!rc && idx->n_pairs) {
        /* the product's distinct terms, for the pairs it holds both terms of */
        if (n > idx->dterm_cap) {
            uint32_t *dt = core_reallocarray(idx->dterm, n, sizeof *dt);
            if (dt) idx->dterm = dt;
            uint16_t(*dtf)[SEARCH_N_FIELDS] = dt ? core_reallocarray(idx->dtf, n, sizeof *dtf) : NULL;
            if (dtf) idx->dtf = dtf, idx->dterm_cap = n;
            else rc = core_oom("search pairs");
        }
        for (size_t a = 0; a < n && !rc; a++) {
            if (!a || idx->toks[a].term != idx->toks[a - 1].term) {
                idx->dterm[n_dt] = idx->toks[a].term;
                memset(idx->dtf[n_dt++], 0, sizeof idx->dtf[0]);
            }
            if (idx->dtf[n_dt - 1][idx->toks[a].field] < UINT16_MAX) idx->dtf[n_dt - 1][idx->toks[a].field]++;
        }
        if (!rc) rc = search_pairs_reserve(idx, idx->dterm, n_dt);
    }
    for (size_t a = 0; a < n && !rc;) {
        size_t b = a + 1;
        while (b < n && idx->toks[b].term == idx->toks[a].term) b++;
        search_postings *p = &idx->post[idx->toks[a].term];
        if (p->len + ENTRY_MAX > p->cap) {
            if (p->len > UINT32_MAX - 2 * ENTRY_MAX) {
                rc = core_error(AISLE_ERANGE, "search index: postings of one term over 4 GiB");
                break;
            }
            size_t cap = (size_t)p->cap + p->cap / 2 + ENTRY_MAX;
            if (cap > UINT32_MAX) cap = UINT32_MAX;
            uint8_t *d = core_realloc(p->data, cap);
            if (!d) {
                rc = core_oom("postings");
                break;
            }
            p->data = d;
            p->cap = (uint32_t)cap;
        }
        if (p->df && p->df % SEARCH_SKIP == 0 && p->df / SEARCH_SKIP > p->skip_cap) {
            size_t cap = p->skip_cap;
            if ((rc = core_grow((void **)&p->skip, &cap, p->df / SEARCH_SKIP, sizeof *p->skip))) break;
            p->skip_cap = (uint32_t)cap;
        }
        if (p->df >= SEARCH_SKIP && p->df / SEARCH_SKIP + 1 > p->bmax_cap) {
            size_t cap = p->bmax_cap;
            if ((rc = core_grow((void **)&p->bmax, &cap, p->df / SEARCH_SKIP + 1, sizeof *p->bmax))) break;
            p->bmax_cap = (uint32_t)cap;
        }
        n_groups++;
        a = b;
    }
    if (rc) {
        /* roll back: blobs of new terms, dictionaries (grown arrays stay) */
        for (size_t t = terms0; t < idx->terms.n && t < idx->post_cap; t++) {
            core_free(idx->post[t].data);
            core_free(idx->post[t].skip);
            core_free(idx->post[t].bmax);
            memset(&idx->post[t], 0, sizeof idx->post[t]);
        }
        (void)post_cap0;
        keys_truncate(&idx->terms, terms0);
        keys_truncate(&idx->keys, keys0);
        keys_truncate(&idx->brands, brands0);
        keys_truncate(&idx->categories, cats0);
        keys_truncate(&idx->attr_names, names0);
        keys_truncate(&idx->attr_pairs, pairs0);
        search_pairs_grow_end(idx, &choice, false);
        core_free(vec);
        return rc;
    }
    (void)n_groups;
    /* commit: nothing below fails */
    float pop = 0.0f;
    if (keyi < keys0) {
        uint32_t old = idx->doc_of_key[keyi];
        if (old != SEARCH_NONE) {
            pop = idx->popularity[old];
            idx->alive[old] = 0;
            idx->n_alive--;
        }
    }
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && idx->toks[b].term == idx->toks[a].term) b++;
        search_postings *p = &idx->post[idx->toks[a].term];
        if (p->df && p->df % SEARCH_SKIP == 0) p->skip[p->df / SEARCH_SKIP - 1] = (search_skip){p->last_doc, p->len};
        p->len += (uint32_t)encode_entry(idx->toks + a, b - a, doc, p->df ? p->last_doc : 0, p->data + p->len);
        uint16_t tf[SEARCH_N_FIELDS] = {0};
        for (size_t j = a; j < b; j++)
            if (tf[idx->toks[j].field] < UINT16_MAX) tf[idx->toks[j].field]++;
        search_bounds_add(p, tf, flen);
        if (p->df >= SEARCH_SKIP) {
            /* the second block begins: the first one's bounds from the blob
             * (decoding entries this index wrote cannot fail) */
            if (p->df == SEARCH_SKIP) (void)bmax_fill(p, idx->flen, SEARCH_SKIP);
            if (p->df % SEARCH_SKIP == 0) p->bmax[p->df / SEARCH_SKIP].n = 0;
            search_bmax_add(&p->bmax[p->df / SEARCH_SKIP], tf, flen);
        }
        p->df++;
        p->last_doc = doc;
        a = b;
    }
    if (n_dt) search_pairs_apply(idx, idx->dterm, (const uint16_t(*)[SEARCH_N_FIELDS])idx->dtf, n_dt, doc, flen);
    idx->doc_of_key[keyi] = doc;
    idx->key_of_doc[doc] = keyi;
    idx->alive[doc] = 1;
    memcpy(idx->flen + (size_t)doc * SEARCH_N_FIELDS, flen, sizeof flen);
    for (int f = 0; f < SEARCH_N_FIELDS; f++) idx->flen_sum[f] += flen[f];
    idx->price[doc] = data_catalog_price(cat, i);
    idx->brand[doc] = brand;
    idx->category[doc] = category;
    idx->attr_start[doc] = (uint32_t)idx->n_attrs;
    idx->attr_n[doc] = (uint32_t)n_pairs;
    if (n_pairs) memcpy(idx->attrs + idx->n_attrs, pair_ids, n_pairs * sizeof *pair_ids);
    idx->n_attrs += n_pairs;
    idx->popularity[doc] = pop;
    if (idx->enc_dim) { /* in a build, the batch after fills it */
        float *row = idx->enc_vec + (size_t)doc * idx->enc_dim;
        if (vec) memcpy(row, vec, idx->enc_dim * sizeof *vec);
        else memset(row, 0, idx->enc_dim * sizeof *row);
        core_free(vec);
    }
    idx->n_docs++;
    idx->n_alive++;
    search_pairs_grow_end(idx, &choice, true);
    /* the typo and prefix helpers scan new terms linearly; re-index them
     * once the unindexed tail grows (failure leaves the tail scan) */
    if (!idx->bulk && idx->terms.n - idx->grams_upto > CORE_MAX((size_t)1024, (size_t)idx->grams_upto / 4))
        (void)search_helpers_rebuild(idx);
    return AISLE_OK;
}

int search_index_remove(aisle_search_index *idx, const char *key) {
    int64_t k = keys_find(&idx->keys, key, strlen(key));
    if (k < 0 || idx->doc_of_key[k] == SEARCH_NONE)
        return core_error(AISLE_ENOTFOUND, "search index: no product '%s'", key);
    uint32_t d = idx->doc_of_key[k];
    idx->alive[d] = 0;
    idx->n_alive--;
    idx->doc_of_key[k] = SEARCH_NONE;
    return AISLE_OK;
}
