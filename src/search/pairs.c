/* pairs.c - frequent term pairs and their joint block bounds (search.h,
 * search_pair; docs/SEARCH.md "Pruning").
 *
 * Build counts, for every product, the adjacent token pairs whose terms are
 * both already in at least a quarter of search_pair_min_docs products (an
 * open-addressing table bounded by dropping the rarest counts, as lossy
 * counting does); the pairs counted at least search_pair_min_docs times are
 * kept, most frequent first, within a memory budget.  Their blocks are filled from the postings by
 * intersecting the two lists (build and load), and kept current by add. */
#include "search.h"

#include <stdlib.h>
#include <string.h>

enum {
    PC_MAX_CAP = 1 << 21,  /* largest count table (entries); the rarest are dropped past half of it */
    PAIRS_MAX = 1 << 16    /* pairs kept at most */
};

static inline size_t pc_slot(uint64_t key, size_t cap) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

/* Moves the counts above floor into fresh arrays of cap entries. */
static int pc_rehash(aisle_search_index *idx, size_t cap, uint32_t floor) {
    uint64_t *key = core_calloc(cap, sizeof *key);
    uint32_t *count = core_malloc(cap * sizeof *count);
    if (!key || !count) {
        core_free(key);
        core_free(count);
        return core_oom("search pair counts");
    }
    size_t n = 0;
    for (size_t i = 0; i < idx->pc_cap; i++) {
        if (!idx->pc_key[i] || idx->pc_count[i] <= floor) continue;
        size_t s = pc_slot(idx->pc_key[i], cap);
        while (key[s]) s = (s + 1) & (cap - 1);
        key[s] = idx->pc_key[i];
        count[s] = idx->pc_count[i];
        n++;
    }
    core_free(idx->pc_key);
    core_free(idx->pc_count);
    idx->pc_key = key;
    idx->pc_count = count;
    idx->pc_cap = cap;
    idx->pc_n = n;
    idx->pc_floor = floor;
    return AISLE_OK;
}

int search_pairs_count(aisle_search_index *idx, const search_tok *toks, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t a = toks[i].term, b = toks[i + 1].term;
        if (a == b || toks[i].field != toks[i + 1].field || toks[i + 1].pos != toks[i].pos + 1) continue;
        if (idx->post[a].df < idx->pair_min / 4 || idx->post[b].df < idx->pair_min / 4) continue;
        if (a > b) {
            uint32_t t = a;
            a = b;
            b = t;
        }
        if (2 * (idx->pc_n + 1) > idx->pc_cap) {
            int rc = idx->pc_cap < PC_MAX_CAP ? pc_rehash(idx, idx->pc_cap ? 2 * idx->pc_cap : 4096, idx->pc_floor)
                                              : pc_rehash(idx, idx->pc_cap, idx->pc_floor + 1);
            if (rc) return rc;
            if (2 * (idx->pc_n + 1) > idx->pc_cap) continue; /* still full after dropping: skip this one */
        }
        uint64_t key = (uint64_t)a << 32 | b;
        size_t s = pc_slot(key, idx->pc_cap);
        while (idx->pc_key[s] && idx->pc_key[s] != key) s = (s + 1) & (idx->pc_cap - 1);
        if (!idx->pc_key[s]) {
            idx->pc_key[s] = key;
            idx->pc_count[s] = idx->pc_floor; /* what a dropped entry may have had */
            idx->pc_n++;
        }
        idx->pc_count[s]++;
    }
    return AISLE_OK;
}

static void pc_free(aisle_search_index *idx) {
    core_free(idx->pc_key);
    core_free(idx->pc_count);
    idx->pc_key = NULL;
    idx->pc_count = NULL;
    idx->pc_cap = idx->pc_n = 0;
    idx->pc_floor = 0;
}

static void pairs_free(search_pair *pairs, size_t n) {
    for (size_t i = 0; i < n; i++) core_free(pairs[i].blk);
    core_free(pairs);
}

void search_pairs_release(aisle_search_index *idx) {
    pairs_free(idx->pairs, idx->n_pairs);
    idx->pairs = NULL;
    idx->n_pairs = 0;
    pc_free(idx);
}

/* ---- joint vectors ---- */

/* Whether vector i of v has at least each frequency of (tf, len) and at most
 * its length in every field either term is in. */
static bool pvec_dominates(const search_pvec *v, int i, const uint16_t tf[2][SEARCH_N_FIELDS], const uint16_t *len) {
    for (int f = 0; f < SEARCH_N_FIELDS; f++) {
        if (!tf[0][f] && !tf[1][f]) continue;
        if (v->tf[i][0][f] < tf[0][f] || v->tf[i][1][f] < tf[1][f] || v->len[i][f] > len[f]) return false;
    }
    return true;
}

void search_pvec_add(search_pvec *v, const uint16_t tf[2][SEARCH_N_FIELDS], const uint16_t *flen) {
    uint16_t len[SEARCH_N_FIELDS];
    for (int f = 0; f < SEARCH_N_FIELDS; f++) len[f] = tf[0][f] || tf[1][f] ? flen[f] : 0;
    for (int i = 0; i < v->n; i++)
        if (pvec_dominates(v, i, tf, len)) return;
    int k = 0;
    for (int i = 0; i < v->n; i++) {
        /* the new product dominates vector i: drop it */
        search_pvec one;
        memcpy(one.tf[0], tf, sizeof one.tf[0]);
        memcpy(one.len[0], len, sizeof one.len[0]);
        if (pvec_dominates(&one, 0, (const uint16_t(*)[SEARCH_N_FIELDS])v->tf[i], v->len[i])) continue;
        if (k != i) {
            memcpy(v->tf[k], v->tf[i], sizeof v->tf[k]);
            memcpy(v->len[k], v->len[i], sizeof v->len[k]);
        }
        k++;
    }
    v->n = (uint8_t)k;
    if (v->n < SEARCH_PMAX) {
        memcpy(v->tf[v->n], tf, sizeof v->tf[v->n]);
        memcpy(v->len[v->n], len, sizeof v->len[v->n]);
        v->n++;
        return;
    }
    /* full: merge into the vector sharing most fields (ties: the first) */
    int best = 0, best_common = -1;
    for (int i = 0; i < v->n; i++) {
        int common = 0;
        for (int t = 0; t < 2; t++)
            for (int f = 0; f < SEARCH_N_FIELDS; f++) common += (v->tf[i][t][f] != 0) == (tf[t][f] != 0);
        if (common > best_common) best = i, best_common = common;
    }
    for (int f = 0; f < SEARCH_N_FIELDS; f++) {
        if (!tf[0][f] && !tf[1][f]) continue;
        bool had = v->tf[best][0][f] || v->tf[best][1][f];
        if (!had || len[f] < v->len[best][f]) v->len[best][f] = len[f];
        for (int t = 0; t < 2; t++)
            if (tf[t][f] > v->tf[best][t][f]) v->tf[best][t][f] = tf[t][f];
    }
}

/* Room for one more block in pair p. */
static int pair_reserve(search_pair *p) {
    if (p->n_blk < p->cap) return AISLE_OK;
    size_t cap = p->cap;
    int rc = core_grow((void **)&p->blk, &cap, (size_t)p->n_blk + 1, sizeof *p->blk);
    if (!rc) p->cap = (uint32_t)cap;
    return rc;
}

/* Appends product doc (after every product already in p; room reserved
 * when a block begins). */
static void pair_add(search_pair *p, uint32_t doc, const uint16_t tf[2][SEARCH_N_FIELDS], const uint16_t *flen) {
    if (!p->n_blk || p->blk[p->n_blk - 1].count == SEARCH_SKIP) {
        search_pblock *b = &p->blk[p->n_blk++];
        memset(b, 0, sizeof *b);
        b->first = doc;
    }
    search_pblock *b = &p->blk[p->n_blk - 1];
    b->last = doc;
    b->count++;
    search_pvec_add(&b->v, tf, flen);
    search_pvec_add(&p->all, tf, flen);
}

/* ---- filling from the postings ---- */

/* The products holding both terms of p, from their postings (leapfrog). */
static int pair_fill(const aisle_search_index *idx, search_pair *p) {
    search_list c[2];
    for (int t = 0; t < 2; t++) {
        const search_postings *po = &idx->post[p->term[t]];
        memset(&c[t], 0, sizeof c[t]);
        c[t].data = po->data;
        c[t].len = po->len;
        c[t].skip = po->skip;
        c[t].n_skip = po->df && po->skip ? (po->df - 1) / SEARCH_SKIP : 0;
        search_list_next(&c[t]);
    }
    p->n_blk = 0;
    memset(&p->all, 0, sizeof p->all);
    while (!c[0].done && !c[1].done) {
        if (c[0].e.doc != c[1].e.doc) {
            int lo = c[0].e.doc < c[1].e.doc ? 0 : 1;
            search_list_seek(&c[lo], c[1 - lo].e.doc);
            continue;
        }
        int rc = pair_reserve(p);
        if (rc) return rc;
        uint16_t tf[2][SEARCH_N_FIELDS];
        memcpy(tf[0], c[0].e.tf, sizeof tf[0]);
        memcpy(tf[1], c[1].e.tf, sizeof tf[1]);
        pair_add(p, c[0].e.doc, tf, idx->flen + (size_t)c[0].e.doc * SEARCH_N_FIELDS);
        search_list_next(&c[0]);
        search_list_next(&c[1]);
    }
    return AISLE_OK;
}

int search_pairs_fill(aisle_search_index *idx) {
    for (size_t i = 0; i < idx->n_pairs; i++) {
        int rc = pair_fill(idx, &idx->pairs[i]);
        if (rc) return rc;
    }
    return AISLE_OK;
}

static int pair_cmp(const void *x, const void *y) {
    const search_pair *a = x, *b = y;
    if (a->term[0] != b->term[0]) return a->term[0] < b->term[0] ? -1 : 1;
    return (a->term[1] > b->term[1]) - (a->term[1] < b->term[1]);
}

typedef struct pc_ent {
    uint64_t key;
    uint32_t count;
} pc_ent;

static int pc_ent_cmp(const void *x, const void *y) {
    const pc_ent *a = x, *b = y;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return (a->key > b->key) - (a->key < b->key);
}

/* Chooses the pairs counted at least pair_min times into *out (*n_out of
 * them, blocks filled, sorted by terms), leaving idx's pairs as they are;
 * keep_counts: the counts stay (adds go on counting), else they are freed
 * before the blocks are filled (a build's peak). */
static int pairs_choose(aisle_search_index *idx, bool keep_counts, search_pair **out, size_t *n_out) {
    int rc = AISLE_OK;
    size_t n = 0, kept = 0;
    pc_ent *ent = NULL;
    *out = NULL;
    *n_out = 0;
    if (idx->pair_min && idx->pc_n) {
        if (!(ent = core_malloc(idx->pc_n * sizeof *ent))) rc = core_oom("search pairs");
        for (size_t i = 0; !rc && i < idx->pc_cap; i++)
            if (idx->pc_key[i] && idx->pc_count[i] >= idx->pair_min) ent[n++] = (pc_ent){idx->pc_key[i], idx->pc_count[i]};
    }
    if (!keep_counts) pc_free(idx);
    if (rc || !n) {
        core_free(ent);
        return rc;
    }
    qsort(ent, n, sizeof *ent, pc_ent_cmp);
    /* Pairs with a word in more than half of the products ("made of",
     * "of our") are left out: such words barely move a ranking and their
     * lists are the longest to intersect.  The others are filled most
     * frequent first while their products stay within half the postings
     * entries (about 0.8 byte per entry). */
    uint64_t entries = 0, budget, used = 0;
    for (size_t t = 0; t < idx->terms.n; t++) entries += idx->post[t].df;
    budget = entries / 2;
    search_pair *pairs = core_calloc(CORE_MIN(n, (size_t)PAIRS_MAX), sizeof *pairs);
    if (!pairs) {
        core_free(ent);
        return core_oom("search pairs");
    }
    for (size_t i = 0; i < n && kept < PAIRS_MAX && !rc; i++) {
        uint32_t a = (uint32_t)(ent[i].key >> 32), b = (uint32_t)ent[i].key;
        if (idx->post[a].df > idx->n_docs / 2 || idx->post[b].df > idx->n_docs / 2) continue;
        search_pair *p = &pairs[kept];
        p->term[0] = a;
        p->term[1] = b;
        rc = pair_fill(idx, p);
        uint64_t size = (uint64_t)p->n_blk * SEARCH_SKIP;
        if (rc || used + size > budget) {
            core_free(p->blk);
            memset(p, 0, sizeof *p);
            break;
        }
        used += size;
        kept++;
    }
    core_free(ent);
    if (rc) {
        pairs_free(pairs, kept);
        return rc;
    }
    search_pair *fit = core_reallocarray(pairs, kept ? kept : 1, sizeof *fit);
    if (fit) pairs = fit; /* else the larger array stays */
    qsort(pairs, kept, sizeof *pairs, pair_cmp);
    *out = pairs;
    *n_out = kept;
    return AISLE_OK;
}

int search_pairs_select(aisle_search_index *idx) {
    search_pair *p;
    size_t n;
    int rc = pairs_choose(idx, false, &p, &n);
    if (!rc) idx->pairs = p, idx->n_pairs = n;
    return rc;
}

int search_pairs_grow(aisle_search_index *idx, search_pairs_choice *ch) {
    memset(ch, 0, sizeof *ch);
    if (idx->bulk || !idx->pairs_by_adds || !idx->pair_min ||
        idx->n_docs < CORE_MAX(idx->pair_next, 2 * (size_t)idx->pair_min))
        return AISLE_OK;
    search_pair *p;
    size_t n;
    int rc = pairs_choose(idx, true, &p, &n);
    if (rc) return rc;
    /* installed now (the add extends them), the old ones kept until the
     * add is done */
    *ch = (search_pairs_choice){idx->pairs, idx->n_pairs, true};
    idx->pairs = p;
    idx->n_pairs = n;
    return AISLE_OK;
}

void search_pairs_grow_end(aisle_search_index *idx, search_pairs_choice *ch, bool ok) {
    if (!ch->made) return;
    if (ok) {
        pairs_free(ch->old, ch->n_old);
        idx->pair_next = 2 * (idx->n_docs - 1); /* doubling: the fills cost O(1) per add, amortised */
    } else {
        pairs_free(idx->pairs, idx->n_pairs);
        idx->pairs = ch->old;
        idx->n_pairs = ch->n_old;
    }
    ch->made = false;
}

/* First pair with term[0] >= a. */
static size_t pair_lower(const aisle_search_index *idx, uint32_t a) {
    size_t lo = 0, hi = idx->n_pairs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (idx->pairs[mid].term[0] < a) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

const search_pair *search_pair_find(const aisle_search_index *idx, uint32_t a, uint32_t b) {
    if (a == b || !idx->n_pairs) return NULL;
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    for (size_t i = pair_lower(idx, a); i < idx->n_pairs && idx->pairs[i].term[0] == a; i++)
        if (idx->pairs[i].term[1] == b) return &idx->pairs[i];
    return NULL;
}

/* Index of term t in dt[0..n) (ascending), -1 when absent. */
static ptrdiff_t term_at(const uint32_t *dt, size_t n, uint32_t t) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (dt[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && dt[lo] == t ? (ptrdiff_t)lo : -1;
}

int search_pairs_reserve(aisle_search_index *idx, const uint32_t *dt, size_t n) {
    for (size_t i = 0; i < n && idx->n_pairs; i++)
        for (size_t j = pair_lower(idx, dt[i]); j < idx->n_pairs && idx->pairs[j].term[0] == dt[i]; j++) {
            if (term_at(dt, n, idx->pairs[j].term[1]) < 0) continue;
            int rc = pair_reserve(&idx->pairs[j]);
            if (rc) return rc;
        }
    return AISLE_OK;
}

void search_pairs_apply(aisle_search_index *idx, const uint32_t *dt, const uint16_t (*dtf)[SEARCH_N_FIELDS],
                        size_t n, uint32_t doc, const uint16_t *flen) {
    for (size_t i = 0; i < n && idx->n_pairs; i++)
        for (size_t j = pair_lower(idx, dt[i]); j < idx->n_pairs && idx->pairs[j].term[0] == dt[i]; j++) {
            ptrdiff_t k = term_at(dt, n, idx->pairs[j].term[1]);
            if (k < 0) continue;
            uint16_t tf[2][SEARCH_N_FIELDS];
            memcpy(tf[0], dtf[i], sizeof tf[0]);
            memcpy(tf[1], dtf[k], sizeof tf[1]);
            pair_add(&idx->pairs[j], doc, tf, flen);
        }
}

/* ---- the optional sections: the pair list (262) and its blocks (264) ---- */

static int put_var(core_buf *b, uint32_t v) {
    uint8_t t[5];
    return buf_append(b, t, search_put_varint(t, v));
}

/* A vector set: count, then per vector a mask of the fields either term is
 * in and, per field of the mask, both frequencies and the length. */
static int put_pvec(core_buf *b, const search_pvec *v) {
    int rc = put_var(b, v->n);
    for (int i = 0; i < v->n && !rc; i++) {
        uint32_t mask = 0;
        for (int f = 0; f < SEARCH_N_FIELDS; f++) mask |= (uint32_t)(v->tf[i][0][f] || v->tf[i][1][f]) << f;
        rc = put_var(b, mask);
        for (int f = 0; f < SEARCH_N_FIELDS && !rc; f++) {
            if (!(mask >> f & 1)) continue;
            rc = put_var(b, v->tf[i][0][f]);
            if (!rc) rc = put_var(b, v->tf[i][1][f]);
            if (!rc) rc = put_var(b, v->len[i][f]);
        }
    }
    return rc;
}

/* The blocks of pair p with documents renumbered as the save compacts them:
 * live_before[d] is the number of live documents before d (NULL: none
 * removed).  A block keeps the live documents of its range (its vectors,
 * which may also cover removed products, still bound them); a block left
 * without any is dropped. */
static int put_blocks(core_buf *b, const search_pair *p, const uint32_t *live_before) {
    uint32_t n = 0;
    for (uint32_t k = 0; k < p->n_blk; k++)
        n += !live_before || live_before[p->blk[k].last + 1] > live_before[p->blk[k].first];
    int rc = put_var(b, n);
    if (!rc) rc = put_pvec(b, &p->all);
    uint32_t next = 0; /* the smallest first document the next block may have */
    for (uint32_t k = 0; k < p->n_blk && !rc; k++) {
        const search_pblock *blk = &p->blk[k];
        uint32_t first = blk->first, last = blk->last;
        if (live_before) {
            if (live_before[last + 1] == live_before[first]) continue;
            first = live_before[first];
            last = live_before[last + 1] - 1;
        }
        uint32_t count = CORE_MIN(blk->count, last - first + 1);
        rc = put_var(b, first - next);
        if (!rc) rc = put_var(b, last - first);
        if (!rc) rc = put_var(b, count);
        if (!rc) rc = put_pvec(b, &blk->v);
        next = last + 1;
    }
    return rc;
}

int search_pairs_write(const aisle_search_index *idx, const uint32_t *newterm, const uint32_t *newdoc,
                       io_writer *w) {
    if (!idx->n_pairs) return AISLE_OK;
    core_buf b, bb;
    buf_init(&b);
    buf_init(&bb);
    uint32_t *live_before = NULL;
    int rc = AISLE_OK;
    if (idx->n_alive != idx->n_docs) {
        if (!(live_before = core_malloc(((size_t)idx->n_docs + 1) * sizeof *live_before)))
            return core_oom("search pair blocks");
        live_before[0] = 0;
        for (size_t d = 0; d < idx->n_docs; d++) live_before[d + 1] = live_before[d] + (newdoc[d] != SEARCH_NONE);
    }
    uint32_t n = 0;
    for (size_t i = 0; i < idx->n_pairs; i++)
        n += newterm[idx->pairs[i].term[0]] != SEARCH_NONE && newterm[idx->pairs[i].term[1]] != SEARCH_NONE;
    rc = io_put_u32(&b, n);
    if (!rc) rc = io_put_u32(&bb, n);
    for (size_t i = 0; i < idx->n_pairs && !rc; i++) {
        uint32_t a = newterm[idx->pairs[i].term[0]], c = newterm[idx->pairs[i].term[1]];
        if (a == SEARCH_NONE || c == SEARCH_NONE) continue;
        if (a > c) /* renumbering keeps the order of kept terms: the blocks' frequencies stay in term order */
            rc = core_error(AISLE_EINTERNAL, "search index: pair terms reordered by the save");
        if (!rc) rc = io_put_u32(&b, a);
        if (!rc) rc = io_put_u32(&b, c);
        if (!rc) rc = put_blocks(&bb, &idx->pairs[i], live_before);
    }
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_PAIRS, 0, &b);
    if (!rc) rc = io_writer_add_section(w, SEARCH_SECTION_PAIR_BLOCKS, 0, &bb);
    core_free(live_before);
    buf_free(&b);
    buf_free(&bb);
    return rc;
}

static int get_var(io_cursor *c, uint32_t max, uint32_t *v) {
    size_t n = search_get_varint(c->p + c->pos, c->len - c->pos, v);
    if (!n || *v > max) return core_error(AISLE_EFORMAT, "search index %s: malformed pair block", c->section);
    c->pos += n;
    return AISLE_OK;
}

static int get_pvec(io_cursor *c, search_pvec *v, uint32_t min_n) {
    uint32_t n, mask, x;
    memset(v, 0, sizeof *v);
    int rc = get_var(c, SEARCH_PMAX, &n);
    if (!rc && n < min_n) rc = core_error(AISLE_EFORMAT, "search index %s: pair block without vectors", c->section);
    for (uint32_t i = 0; i < n && !rc; i++) {
        rc = get_var(c, (1u << SEARCH_N_FIELDS) - 1, &mask);
        if (!rc && !mask) rc = core_error(AISLE_EFORMAT, "search index %s: empty pair vector", c->section);
        for (int f = 0; f < SEARCH_N_FIELDS && !rc; f++) {
            if (!(mask >> f & 1)) continue;
            for (int t = 0; t < 2 && !rc; t++)
                if (!(rc = get_var(c, UINT16_MAX, &x))) v->tf[i][t][f] = (uint16_t)x;
            if (!rc && !(rc = get_var(c, UINT16_MAX, &x))) v->len[i][f] = (uint16_t)x;
            if (!rc && !v->tf[i][0][f] && !v->tf[i][1][f])
                rc = core_error(AISLE_EFORMAT, "search index %s: pair vector field without frequencies", c->section);
        }
        v->n = (uint8_t)(i + 1);
    }
    return rc;
}

/* Section 264: every pair's blocks as saved (ordered, within the
 * documents), instead of intersecting the two lists again. */
static int read_blocks(aisle_search_index *idx, io_reader *r) {
    io_cursor c;
    uint32_t n = 0;
    int rc = io_reader_section(r, SEARCH_SECTION_PAIR_BLOCKS, &c);
    if (!rc) rc = io_get_u32(&c, &n);
    if (!rc && n != idx->n_pairs)
        rc = core_error(AISLE_EFORMAT, "search index %s: %u pairs' blocks for %zu pairs", c.section, n, idx->n_pairs);
    for (size_t i = 0; i < idx->n_pairs && !rc; i++) {
        search_pair *p = &idx->pairs[i];
        uint32_t nb;
        rc = get_var(&c, UINT32_MAX, &nb);
        if (!rc && nb > (c.len - c.pos) / 4)
            rc = core_error(AISLE_EFORMAT, "search index %s: pair %zu: block count larger than the data present",
                            c.section, i);
        if (!rc) rc = get_pvec(&c, &p->all, nb ? 1 : 0);
        if (!rc && nb && !(p->blk = core_malloc(nb * sizeof *p->blk))) rc = core_oom("search pair blocks");
        if (!rc) p->cap = nb;
        uint64_t next = 0;
        for (uint32_t k = 0; k < nb && !rc; k++) {
            search_pblock *b = &p->blk[k];
            uint32_t gap, span;
            rc = get_var(&c, UINT32_MAX, &gap);
            if (!rc) rc = get_var(&c, UINT32_MAX, &span);
            if (!rc) rc = get_var(&c, SEARCH_SKIP, &b->count);
            if (rc) break;
            if (next + gap + span >= idx->n_docs || !b->count || b->count > (uint64_t)span + 1) {
                rc = core_error(AISLE_EFORMAT, "search index %s: pair %zu block %u: documents out of range",
                                c.section, i, k);
                break;
            }
            b->first = (uint32_t)(next + gap);
            b->last = b->first + span;
            next = (uint64_t)b->last + 1;
            rc = get_pvec(&c, &b->v, 1);
            if (!rc) p->n_blk = k + 1;
        }
    }
    if (!rc) rc = io_cursor_done(&c);
    return rc;
}

int search_pairs_read(aisle_search_index *idx, io_reader *r) {
    bool blocks = io_reader_has_section(r, SEARCH_SECTION_PAIR_BLOCKS);
    if (!io_reader_has_section(r, SEARCH_SECTION_PAIRS)) /* optional */
        return blocks ? core_error(AISLE_EFORMAT, "search index: pair blocks (section %d) without pairs",
                                   SEARCH_SECTION_PAIR_BLOCKS)
                      : AISLE_OK;
    io_cursor c;
    uint32_t n = 0;
    int rc = io_reader_section(r, SEARCH_SECTION_PAIRS, &c);
    if (!rc) rc = io_get_u32(&c, &n);
    if (!rc && (uint64_t)n * 8 != c.len - c.pos)
        rc = core_error(AISLE_EFORMAT, "search index %s: pair count differs from the data present", c.section);
    if (!rc && !(idx->pairs = core_calloc(n ? n : 1, sizeof *idx->pairs))) rc = core_oom("search pairs");
    for (uint32_t i = 0; i < n && !rc; i++) {
        search_pair *p = &idx->pairs[i];
        rc = io_get_u32(&c, &p->term[0]);
        if (!rc) rc = io_get_u32(&c, &p->term[1]);
        if (rc) break;
        if (p->term[0] >= p->term[1] || p->term[1] >= idx->terms.n ||
            (i && pair_cmp(&idx->pairs[i - 1], p) >= 0))
            rc = core_error(AISLE_EFORMAT, "search index %s: pair %u: terms out of order or range", c.section, i);
        else idx->n_pairs = i + 1;
    }
    if (!rc) rc = io_cursor_done(&c);
    idx->pairs_by_adds = false; /* the pairs of its build: adds extend them */
    /* files written before section 264 existed: refill from the postings */
    if (!rc) rc = blocks ? read_blocks(idx, r) : search_pairs_fill(idx);
    return rc;
}
