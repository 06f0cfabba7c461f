/* retrieve.c - document-at-a-time retrieval over the postings cursors of a
 * parsed query: BM25F with a proximity boost, filters and facet counts per
 * matching document, MaxScore pruning into a top-N pool.
 *
 * BM25F follows Robertson, Zaragoza & Taylor, "Simple BM25 extension to
 * multiple weighted fields" (CIKM 2004): per-field term frequencies are
 * length-normalised and weighted, summed, then saturated once:
 *     tf~ = sum_f w_f tf_f / (1 - b + b len_f / avglen_f)
 *     score = sum_t idf(t) tf~ (k1 + 1) / (k1 + tf~),
 *     idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)). */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cursor {
    search_list l; /* position in the term's postings */
    uint32_t exp;
    bool essential;
    double norm_min[SEARCH_N_FIELDS]; /* the term's smallest length normaliser per field */
    float bound;                      /* its largest score (max_tf over norm_min) */
    /* block-max state: the current entry's offset and block, the block
     * looked at for a document the cursor has not reached (shallow), and
     * the last block whose bound was computed */
    const search_bmax *bmax; /* n_skip + 1 blocks, NULL for a single block */
    uint32_t last_doc, cur_blk, sh_blk, bb_blk;
    float bb;
    double bnorm[SEARCH_BMAX][SEARCH_N_FIELDS]; /* block bb_blk's vectors' length normalisers */
} cursor;

static inline void cursor_next(cursor *c) { search_list_next(&c->l); }
static inline void cursor_seek(cursor *c, uint32_t target) { search_list_seek(&c->l, target); }

/* min-heap of cursor indices by current document */
static void heap_down(cursor *cs, uint32_t *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && cs[h[l]].l.e.doc < cs[h[m]].l.e.doc) m = l;
        if (l + 1 < n && cs[h[l + 1]].l.e.doc < cs[h[m]].l.e.doc) m = l + 1;
        if (m == i) return;
        uint32_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* top-N pool: min-heap by (score, -doc) */
static bool cand_less(const search_cand *a, const search_cand *b) {
    return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

static void pool_down(search_cand *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && cand_less(&h[l], &h[m])) m = l;
        if (l + 1 < n && cand_less(&h[l + 1], &h[m])) m = l + 1;
        if (m == i) return;
        search_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void pool_up(search_cand *h, size_t i) {
    while (i) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&h[i], &h[p])) return;
        search_cand t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int cand_desc(const void *x, const void *y) {
    const search_cand *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}


/* Pruning bounds are computed by the very operations that compute scores,
 * on the extremes of their inputs (largest frequencies, smallest length
 * normalisers, distance 1).  IEEE rounding is monotone in each operand of
 * +, *, / and of a narrowing cast, and every step below is monotone in its
 * inputs, so a bound is never below a score it stands for: no margin, and a
 * pool full of documents with the largest possible score ends the scan.
 * This is also why the saturation is written (k1+1) - (k1+1) k1 / (k1+tf~)
 * (monotone step by step) rather than tf~ (k1+1) / (k1+tf~). */
static inline double length_norm(const search_params *p, double len, double inv_avg) {
    return 1.0 - p->b + p->b * len * inv_avg;
}

/* BM25F of frequencies tf over length normalisers norm (fields with tf). */
static inline float bm25f_of(const search_params *p, const uint16_t *tf, const double *norm) {
    double t = 0;
    for (int f = 0; f < SEARCH_N_FIELDS; f++)
        if (tf[f]) t += p->w[f] * tf[f] / norm[f];
    return (float)((p->k1 + 1.0) - (p->k1 + 1.0) * p->k1 / (p->k1 + t));
}

static float bm25f(const aisle_search_index *idx, const search_params *p, const double *inv_avg,
                   const search_entry *e) {
    const uint16_t *fl = idx->flen + (size_t)e->doc * SEARCH_N_FIELDS;
    double norm[SEARCH_N_FIELDS];
    for (int f = 0; f < SEARCH_N_FIELDS; f++) norm[f] = e->tf[f] ? length_norm(p, fl[f], inv_avg[f]) : 1.0;
    return bm25f_of(p, e->tf, norm);
}

/* A document's score from its groups' best scores (present: which[g] !=
 * 0xff) and dist[g], the distance between the positions of groups g - 1
 * and g (used when both are present); *prox_out the proximity part. */
static float combine(const search_params *p, const double *coord, size_t n_groups, const float *best,
                     const uint8_t *which, const int *dist, float *prox_out) {
    float text = 0, prox = 0;
    size_t matched = 0;
    for (size_t g = 0; g < n_groups; g++) {
        if (which[g] == 0xff) continue;
        text += best[g];
        matched++;
        if (p->proximity > 0 && g && which[g - 1] != 0xff)
            prox += (float)(p->proximity * CORE_MIN(best[g - 1], best[g]) / dist[g]);
    }
    *prox_out = prox;
    return (float)((text + prox) * coord[matched]);
}

/* Bound of the cursor's current entry's score without its document's field
 * lengths (a cache miss per document at scale): its frequencies over the
 * term's shortest fields. */
static inline float entry_bound(const search_params *p, const search_query *q, const cursor *c) {
    const search_exp *x = &q->exp[c->exp];
    return x->weight * x->idf * bm25f_of(p, c->l.e.tf, c->norm_min);
}

/* Bound of a document's score from group bounds gb (which[g] 0xff: absent). */
static float doc_bound(const search_params *p, const double *coord, size_t n_groups, const float *gb,
                       const uint8_t *which) {
    static const int ones[SEARCH_MAX_TERMS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                               1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    float prox;
    return combine(p, coord, n_groups, gb, which, ones, &prox);
}

/* Last document of block b of c's list. */
static inline uint32_t block_end(const cursor *c, uint32_t b) { return b < c->l.n_skip ? c->l.skip[b].prev : c->last_doc; }

/* The bound of c's entries from doc on up to *end: those of the block that
 * holds doc's place in the list (c's current block when c is at or past
 * doc).  Returns false when c has no entry at or after doc. */
static bool cursor_block_bound(const search_params *p, const search_query *q, const double *inv_avg, cursor *c,
                               uint32_t doc, float *bound, uint32_t *end) {
    if (c->l.done) return false;
    if (!c->bmax) {
        if (c->l.e.doc < doc && c->last_doc < doc) return false;
        *bound = c->bound;
        *end = c->last_doc;
        return true;
    }
    while (c->cur_blk < c->l.n_skip && c->l.skip[c->cur_blk].off <= c->l.e_off) c->cur_blk++;
    uint32_t b = c->cur_blk;
    if (c->l.e.doc < doc) { /* not there yet: the block whose range holds doc */
        if (c->sh_blk > b) b = c->sh_blk;
        while (b < c->l.n_skip && c->l.skip[b].prev < doc) b++;
        if (b == c->l.n_skip && c->last_doc < doc) return false;
        c->sh_blk = b;
    }
    if (b != c->bb_blk) {
        const search_bmax *m = &c->bmax[b];
        const search_exp *x = &q->exp[c->exp];
        float best = 0;
        for (int i = 0; i < m->n; i++) {
            double *norm = c->bnorm[i];
            for (int f = 0; f < SEARCH_N_FIELDS; f++)
                norm[f] = m->tf[i][f] ? length_norm(p, m->len[i][f], inv_avg[f]) : 1.0;
            float v = x->weight * x->idf * bm25f_of(p, m->tf[i], norm);
            if (v > best) best = v;
        }
        c->bb_blk = b;
        c->bb = best;
    }
    *bound = c->bb;
    *end = block_end(c, b);
    return true;
}

/* entry_bound over the fields of the entry's own block: some vector of the
 * block dominates the entry (tf >= and length <= in each of its fields), so
 * the largest score of its frequencies over the lengths of the vectors with
 * enough tf bounds it.  Needs cursor_block_bound on the entry's document
 * first (block bb_blk is then the entry's). */
static inline float entry_block_bound(const search_params *p, const search_query *q, cursor *c) {
    if (!c->bmax) return entry_bound(p, q, c);
    while (c->cur_blk < c->l.n_skip && c->l.skip[c->cur_blk].off <= c->l.e_off) c->cur_blk++;
    if (c->bb_blk != c->cur_blk) return entry_bound(p, q, c);
    const search_bmax *m = &c->bmax[c->cur_blk];
    const search_exp *x = &q->exp[c->exp];
    float best = 0;
    for (int i = 0; i < m->n; i++) {
        bool covers = true;
        for (int f = 0; f < SEARCH_N_FIELDS; f++) covers &= m->tf[i][f] >= c->l.e.tf[f];
        if (!covers) continue;
        float v = x->weight * x->idf * bm25f_of(p, c->l.e.tf, c->bnorm[i]);
        if (v > best) best = v;
    }
    return best;
}

/* Joint bounds of a frequent pair of the query's words (search_pair): two
 * groups with one cursor each whose terms the index keeps a pair for. */
typedef struct pair_cursor {
    const search_pair *pr;
    uint32_t c[2], g[2];  /* cursors and groups of the pair's term[0] and term[1] */
    uint32_t blk;         /* first block whose last document is at or after those looked at */
    uint32_t sc_blk;      /* block whose vectors' scores are in s (UINT32_MAX: none) */
    float s[SEARCH_PMAX][2];
    double norm[SEARCH_PMAX][SEARCH_N_FIELDS];
    int ns;
} pair_cursor;

/* Scores of v's vectors for the pair's two terms, and their length
 * normalisers, into s/norm (the scorer's operations: bounds, no margin). */
static int pvec_scores(const search_params *p, const search_query *q, const double *inv_avg, const pair_cursor *pc,
                       const search_pvec *v, float s[][2], double norm[][SEARCH_N_FIELDS]) {
    for (int i = 0; i < v->n; i++) {
        for (int f = 0; f < SEARCH_N_FIELDS; f++)
            norm[i][f] = v->tf[i][0][f] || v->tf[i][1][f] ? length_norm(p, v->len[i][f], inv_avg[f]) : 1.0;
        for (int t = 0; t < 2; t++) {
            const search_exp *x = &q->exp[pc->c[t]];
            s[i][t] = x->weight * x->idf * bm25f_of(p, v->tf[i][t], norm[i]);
        }
    }
    return v->n;
}

/* Bound of the documents holding both pair terms, given the others' group
 * bounds gb (present): the largest over the vectors s of doc_bound with the
 * pair's groups at the smaller of their bound and the vector's score. */
static float pair_doc_bound(const search_params *p, const double *coord, size_t n_groups, const pair_cursor *pc,
                            float *gb, const uint8_t *present, const float s[][2], int ns) {
    float g0 = gb[pc->g[0]], g1 = gb[pc->g[1]], best = 0;
    for (int i = 0; i < ns; i++) {
        gb[pc->g[0]] = CORE_MIN(g0, s[i][0]);
        gb[pc->g[1]] = CORE_MIN(g1, s[i][1]);
        float b = doc_bound(p, coord, n_groups, gb, present);
        if (b > best) best = b;
    }
    gb[pc->g[0]] = g0;
    gb[pc->g[1]] = g1;
    return best;
}

/* doc_bound of groups gb (present) where a pair's groups are both present:
 * documents missing either term bounded as such, documents holding both by
 * the pair's vectors s (ns of them; ns < 0: no document holds both). */
static float split_bound(const search_params *p, const double *coord, size_t n_groups, const pair_cursor *pc,
                         float *gb, uint8_t *present, const float s[][2], int ns) {
    present[pc->g[0]] = 0xff;
    float bound = doc_bound(p, coord, n_groups, gb, present);
    present[pc->g[0]] = 0;
    present[pc->g[1]] = 0xff;
    float b = doc_bound(p, coord, n_groups, gb, present);
    present[pc->g[1]] = 0;
    if (b > bound) bound = b;
    if (ns > 0) {
        b = pair_doc_bound(p, coord, n_groups, pc, gb, present, s, ns);
        if (b > bound) bound = b;
    }
    return bound;
}

/* Block-max check of the next candidate doc: when no document from doc to
 * the nearest block end of any list can beat the pool's worst, returns that
 * end + 1 (the first document worth looking at), else doc.  A list whose
 * next entry is past doc contributes nothing before that entry (the range
 * ends there); every other list contributes the bound of the block
 * covering the range, so each document in it scores at most doc_bound of
 * those bounds. */
static uint32_t block_skip(const search_params *p, const search_query *q, const double *inv_avg, const double *coord,
                           cursor *cs, pair_cursor *pc, float theta, uint32_t doc) {
    float gb[SEARCH_MAX_TERMS];
    uint8_t present[SEARCH_MAX_TERMS];
    memset(present, 0xff, q->n_groups);
    uint32_t end = UINT32_MAX;
    for (size_t i = 0; i < q->n_exp; i++) {
        float b;
        uint32_t e;
        if (!cs[i].l.done && cs[i].l.e.doc > doc) { /* nothing from this list before its next entry */
            if (cs[i].l.e.doc - 1 < end) end = cs[i].l.e.doc - 1;
            continue;
        }
        if (!cursor_block_bound(p, q, inv_avg, &cs[i], doc, &b, &e)) continue;
        size_t g = q->exp[i].group;
        if (present[g] == 0xff || b > gb[g]) gb[g] = b, present[g] = 0;
        if (e < end) end = e;
    }
    if (end == UINT32_MAX) return doc;
    float bound;
    if (!pc || present[pc->g[0]] == 0xff || present[pc->g[1]] == 0xff) {
        bound = doc_bound(p, coord, q->n_groups, gb, present);
    } else {
        /* the pair's products: none between its blocks, those of the
         * block covering doc under its joint vectors */
        const search_pair *pr = pc->pr;
        while (pc->blk < pr->n_blk && pr->blk[pc->blk].last < doc) pc->blk++;
        int ns = -1;
        if (pc->blk < pr->n_blk) {
            const search_pblock *b = &pr->blk[pc->blk];
            if (b->first > doc) {
                if (b->first - 1 < end) end = b->first - 1;
            } else {
                if (b->last < end) end = b->last;
                if (pc->sc_blk != pc->blk) {
                    pc->ns = pvec_scores(p, q, inv_avg, pc, &b->v, pc->s, pc->norm);
                    pc->sc_blk = pc->blk;
                }
                ns = pc->ns;
            }
        }
        bound = split_bound(p, coord, q->n_groups, pc, gb, present, (const float(*)[2])pc->s, ns);
    }
    return bound > theta ? doc : end + 1;
}

/* The pair bound of a candidate holding both pair terms (cursors on it):
 * its own frequencies over the lengths of the vectors of its pair block
 * that cover them (after block_skip on the candidate's document).  Returns
 * false when none applies. */
static bool pair_entry_bound(const search_params *p, const search_query *q, const double *coord, const cursor *cs,
                             pair_cursor *pc, uint32_t doc, float *gb, uint8_t *present, float *out) {
    const search_pair *pr = pc->pr;
    const cursor *c0 = &cs[pc->c[0]], *c1 = &cs[pc->c[1]];
    if (c0->l.done || c1->l.done || c0->l.e.doc != doc || c1->l.e.doc != doc || pc->sc_blk != pc->blk ||
        pc->blk >= pr->n_blk || pr->blk[pc->blk].first > doc || pr->blk[pc->blk].last < doc)
        return false;
    const search_pvec *v = &pr->blk[pc->blk].v;
    float s[SEARCH_PMAX][2];
    int ns = 0;
    for (int i = 0; i < v->n; i++) {
        bool covers = true;
        for (int f = 0; f < SEARCH_N_FIELDS; f++)
            covers &= v->tf[i][0][f] >= c0->l.e.tf[f] && v->tf[i][1][f] >= c1->l.e.tf[f];
        if (!covers) continue;
        for (int t = 0; t < 2; t++) {
            const search_exp *x = &q->exp[pc->c[t]];
            s[ns][t] = x->weight * x->idf * bm25f_of(p, (t ? c1 : c0)->l.e.tf, pc->norm[i]);
        }
        ns++;
    }
    if (!ns) return false;
    *out = pair_doc_bound(p, coord, q->n_groups, pc, gb, present, (const float(*)[2])s, ns);
    return true;
}

/* Smallest distance between the positions of two terms (in query order;
 * the reverse order counts one more). */
static int min_distance(const search_entry *a, const search_entry *b) {
    int best = 1 << 20;
    for (int i = 0; i < a->npos; i++)
        for (int j = 0; j < b->npos; j++) {
            int d = (int)b->pos[j] - (int)a->pos[i];
            d = d > 0 ? d : 1 - d;
            if (d < best) best = d;
        }
    return best;
}

int search_retrieve(const aisle_search_index *idx, const search_params *p, const search_query *q,
                    const search_filter *f, size_t pool_cap, search_cand *pool, size_t *pool_n, size_t *total,
                    facet_counts *fc, size_t n_fc) {
    *pool_n = 0;
    *total = 0;
    if (!q->n_exp || f->none) return AISLE_OK;
    cursor *cs = core_malloc(q->n_exp * sizeof *cs);
    uint32_t *heap = core_malloc(q->n_exp * sizeof *heap);
    if (!cs || !heap) {
        core_free(cs);
        core_free(heap);
        return core_oom("search cursors");
    }
    double inv_avg[SEARCH_N_FIELDS];
    for (int fi = 0; fi < SEARCH_N_FIELDS; fi++)
        inv_avg[fi] = idx->flen_sum[fi] > 0 ? (double)idx->n_docs / idx->flen_sum[fi] : 0.0;
    size_t hn = 0;
    for (size_t i = 0; i < q->n_exp; i++) {
        const search_postings *po = &idx->post[q->exp[i].term];
        memset(&cs[i], 0, sizeof cs[i]);
        cs[i].l.data = po->data;
        cs[i].l.len = po->len;
        cs[i].exp = (uint32_t)i;
        cs[i].essential = true;
        cs[i].l.skip = po->skip;
        cs[i].l.n_skip = po->df ? (po->df - 1) / SEARCH_SKIP : 0;
        for (int fi = 0; fi < SEARCH_N_FIELDS; fi++)
            cs[i].norm_min[fi] = po->max_tf[fi] ? length_norm(p, po->min_len[fi], inv_avg[fi]) : 1.0;
        cs[i].bound = q->exp[i].weight * q->exp[i].idf * bm25f_of(p, po->max_tf, cs[i].norm_min);
        cs[i].bmax = cs[i].l.n_skip ? po->bmax : NULL;
        cs[i].last_doc = po->last_doc;
        cs[i].bb_blk = UINT32_MAX;
        cursor_next(&cs[i]);
        if (!cs[i].l.done) heap[hn++] = (uint32_t)i;
    }
    for (size_t i = hn; i-- > 0;) heap_down(cs, heap, hn, i);
    /* Block-max checks bound every list at each candidate (its block
     * found, its vectors scored), which defeats MaxScore's lazy seeking of
     * the light lists; with many groups the sum of their block bounds
     * rarely falls below the pool's worst.  Measured at a million products
     * (docs/BENCHMARKS.md), they pay for two-word queries and cost 3-20%
     * from three words on (Chinese titles: 12-17 groups), so longer
     * queries run plain MaxScore (identical results either way). */
    bool use_bm = p->block_max && q->n_groups <= (size_t)p->block_max_groups;
    double coord[SEARCH_MAX_TERMS + 1];
    for (size_t m = 0; m <= q->n_groups; m++)
        coord[m] = q->n_groups ? pow((double)m / (double)q->n_groups, p->coordination) : 1.0;
    /* MaxScore (Turtle & Flood 1995): once the totals need not be exact
     * (search_total_limit reached, no facets) and the pool is full, groups
     * whose summed score bound cannot beat the pool's worst are
     * non-essential: documents are taken from the other cursors only, and
     * non-essential cursors seek to them through their skip tables.  The
     * bound of group g is the largest of its expansions' bounds (largest
     * frequencies, shortest fields); a document with groups S scores at
     * most (1 + proximity) sum_S ub (|S| / n)^coordination (compared with a
     * margin: these sums are not the scorer's operations).  Documents
     * themselves are checked against doc_bound before their field lengths
     * are read or the non-essential cursors seek, and a full pool at the
     * bound of every group present ends the scan. */
    double ub[SEARCH_MAX_TERMS] = {0}, prefix[SEARCH_MAX_TERMS + 1];
    uint32_t ord[SEARCH_MAX_TERMS];
    for (size_t i = 0; i < q->n_exp; i++) {
        double u = cs[i].bound * (1.0 + 1e-5);
        if (u > ub[q->exp[i].group]) ub[q->exp[i].group] = u;
    }
    float gub[SEARCH_MAX_TERMS] = {0}, ceiling;
    uint8_t all[SEARCH_MAX_TERMS];
    memset(all, 0, sizeof all);
    for (size_t i = 0; i < q->n_exp; i++)
        if (cs[i].bound > gub[q->exp[i].group]) gub[q->exp[i].group] = cs[i].bound;
    ceiling = doc_bound(p, coord, q->n_groups, gub, all);
    /* a frequent pair among the groups with one cursor each: the one with
     * the largest bounds (the pair most likely to hold the top k) */
    pair_cursor pcur, *pc = NULL;
    uint32_t group_cursors[SEARCH_MAX_TERMS] = {0};
    for (size_t i = 0; i < q->n_exp; i++) group_cursors[q->exp[i].group]++;
    for (size_t i = 0; p->pair_bounds && use_bm && idx->n_pairs && i < q->n_exp; i++) {
        if (group_cursors[q->exp[i].group] != 1) continue;
        for (size_t j = i + 1; j < q->n_exp; j++) {
            if (group_cursors[q->exp[j].group] != 1) continue;
            const search_pair *pr = search_pair_find(idx, q->exp[i].term, q->exp[j].term);
            if (!pr || (pc && cs[i].bound + cs[j].bound <= cs[pc->c[0]].bound + cs[pc->c[1]].bound)) continue;
            pc = &pcur;
            memset(pc, 0, sizeof *pc);
            pc->pr = pr;
            pc->c[0] = (uint32_t)(pr->term[0] == q->exp[i].term ? i : j);
            pc->c[1] = (uint32_t)(pc->c[0] == i ? j : i);
            pc->g[0] = q->exp[pc->c[0]].group;
            pc->g[1] = q->exp[pc->c[1]].group;
            pc->sc_blk = UINT32_MAX;
        }
    }
    if (pc) {
        /* the ceiling under the pair's vectors over all its products */
        float s[SEARCH_PMAX][2];
        double norm[SEARCH_PMAX][SEARCH_N_FIELDS];
        int ns = pvec_scores(p, q, inv_avg, pc, &pc->pr->all, s, norm);
        float c = split_bound(p, coord, q->n_groups, pc, gub, all, (const float(*)[2])s, ns ? ns : -1);
        if (c < ceiling) ceiling = c;
    }
    for (size_t g = 0; g < q->n_groups; g++) ord[g] = (uint32_t)g;
    for (size_t a = 1; a < q->n_groups; a++)
        for (size_t b = a; b > 0 && ub[ord[b]] < ub[ord[b - 1]]; b--) {
            uint32_t t = ord[b];
            ord[b] = ord[b - 1];
            ord[b - 1] = t;
        }
    prefix[0] = 0;
    for (size_t g = 0; g < q->n_groups; g++) prefix[g + 1] = prefix[g] + ub[ord[g]];
    bool may_prune = !n_fc && p->total_limit > 0, pruning = false;
    size_t n_noness = 0;
    float theta = -1;
    uint32_t *noness = core_malloc(q->n_exp * sizeof *noness);
    size_t nn = 0;
    if (!noness) {
        core_free(cs);
        core_free(heap);
        return core_oom("search cursors");
    }
    /* Conjunctive phase: when even a document missing one group cannot
     * beat the pool, that group is required; with required groups (each one
     * cursor), candidates come from leapfrogging the required cursors
     * through their skip tables and every other cursor seeks. */
    uint32_t req[SEARCH_MAX_TERMS];
    size_t nreq = 0;
    bool is_req[SEARCH_MAX_TERMS] = {false};
    uint32_t at[256];
    for (;;) {
        if (may_prune && *pool_n == pool_cap && pool_cap && (pruning || *total >= (size_t)p->total_limit) &&
            pool[0].score > theta) {
            pruning = true;
            theta = pool[0].score;
            /* the subsets' bounds by the scorer's own operations
             * (doc_bound: proximity only between groups both present, so
             * long queries, whose proximity terms add up, still prune) */
            size_t r = n_noness;
            uint8_t sub[SEARCH_MAX_TERMS];
            memset(sub, 0xff, q->n_groups);
            for (size_t g = 0; g < r; g++) sub[ord[g]] = 0;
            while (r < q->n_groups) {
                sub[ord[r]] = 0;
                if (doc_bound(p, coord, q->n_groups, gub, sub) > theta) break;
                r++;
            }
            if (r == q->n_groups || ceiling <= theta) break; /* nothing left can enter the pool */
            bool newly_req = false;
            memset(sub, 0, q->n_groups);
            for (size_t g = 0; g < q->n_groups && q->n_groups > 1; g++) {
                if (is_req[g] || group_cursors[g] != 1) continue;
                sub[g] = 0xff;
                if (doc_bound(p, coord, q->n_groups, gub, sub) <= theta) is_req[g] = newly_req = true;
                sub[g] = 0;
            }
            if (r > n_noness || newly_req) {
                /* heap cursors of non-essential groups (or, once some group
                 * is required, all of them) become seekers; required ones
                 * join the leapfrog */
                bool drop[SEARCH_MAX_TERMS] = {false};
                for (size_t g = n_noness; g < r; g++) drop[ord[g]] = true;
                size_t keep = 0;
                for (size_t i = 0; i < hn; i++) {
                    cursor *c = &cs[heap[i]];
                    size_t g = q->exp[c->exp].group;
                    if (drop[g] || newly_req || nreq) {
                        c->essential = false;
                        noness[nn++] = heap[i];
                    } else {
                        heap[keep++] = heap[i];
                    }
                }
                hn = keep;
                for (size_t i = hn; i-- > 0;) heap_down(cs, heap, hn, i);
                n_noness = r;
                if (newly_req) {
                    size_t k = 0;
                    for (size_t i = 0; i < nn; i++) {
                        if (is_req[q->exp[cs[noness[i]].exp].group]) req[nreq++] = noness[i];
                        else noness[k++] = noness[i];
                    }
                    nn = k;
                }
                for (size_t a = 1; a < nn; a++) /* largest bound first (stable) */
                    for (size_t b = a; b > 0 && cs[noness[b]].bound > cs[noness[b - 1]].bound; b--) {
                        uint32_t t = noness[b];
                        noness[b] = noness[b - 1];
                        noness[b - 1] = t;
                    }
            }
        }
        uint32_t doc;
        size_t na = 0;
        if (nreq) {
            /* leapfrog: the smallest document every required cursor has */
            bool done = false;
            doc = 0;
            for (size_t i = 0; i < nreq; i++) {
                if (cs[req[i]].l.done) done = true;
                else if (cs[req[i]].l.e.doc > doc) doc = cs[req[i]].l.e.doc;
            }
            for (bool moved = true; moved && !done;) {
                moved = false;
                for (size_t i = 0; i < nreq && !done; i++) {
                    cursor *c = &cs[req[i]];
                    cursor_seek(c, doc);
                    if (c->l.done) done = true;
                    else if (c->l.e.doc > doc) doc = c->l.e.doc, moved = true;
                }
            }
            if (done) break;
            if (pruning && use_bm) {
                uint32_t next = block_skip(p, q, inv_avg, coord, cs, pc, pool[0].score, doc);
                if (next != doc) {
                    for (size_t i = 0; i < nreq; i++) cursor_seek(&cs[req[i]], next);
                    continue;
                }
            }
            for (size_t i = 0; i < nreq; i++) at[na++] = req[i];
        } else {
            if (!hn) break;
            doc = cs[heap[0]].l.e.doc;
            if (pruning && use_bm) {
                uint32_t next = block_skip(p, q, inv_avg, coord, cs, pc, pool[0].score, doc);
                if (next != doc) {
                    size_t keep = 0;
                    for (size_t i = 0; i < hn; i++) {
                        cursor_seek(&cs[heap[i]], next);
                        if (!cs[heap[i]].l.done) heap[keep++] = heap[i];
                    }
                    hn = keep;
                    for (size_t i = hn; i-- > 0;) heap_down(cs, heap, hn, i);
                    continue;
                }
            }
            /* collect every cursor on doc */
            while (hn && cs[heap[0]].l.e.doc == doc) {
                at[na++] = heap[0];
                heap[0] = heap[--hn];
                heap_down(cs, heap, hn, 0);
            }
        }
        bool skip = false;
        if (pruning) {
            /* before any seek or field-length read: positioned cursors by
             * their entries, the seekers' groups by their bounds */
            float gb[SEARCH_MAX_TERMS];
            uint8_t present[SEARCH_MAX_TERMS];
            memset(present, 0xff, q->n_groups);
            for (size_t i = 0; i < na; i++) {
                float b = entry_block_bound(p, q, &cs[at[i]]);
                size_t g = q->exp[cs[at[i]].exp].group;
                if (present[g] == 0xff || b > gb[g]) gb[g] = b, present[g] = 0;
            }
            float gs[SEARCH_MAX_TERMS];
            uint8_t ps[SEARCH_MAX_TERMS];
            memcpy(gs, gb, q->n_groups * sizeof *gs);
            memcpy(ps, present, q->n_groups);
            for (size_t i = 0; i < nn; i++) {
                size_t g = q->exp[cs[noness[i]].exp].group;
                if (ps[g] == 0xff || gub[g] > gs[g]) gs[g] = gub[g], ps[g] = 0;
            }
            float pb;
            skip = doc_bound(p, coord, q->n_groups, gs, ps) <= pool[0].score ||
                   (pc && use_bm && pair_entry_bound(p, q, coord, cs, pc, doc, gs, ps, &pb) &&
                    pb <= pool[0].score);
            /* seekers in decreasing bound order; each time a group's last
             * seeker has moved, the bound is taken again with the groups
             * still to seek at their bounds, so a product missing the
             * heavy words stops before the light ones seek */
            uint8_t pend[SEARCH_MAX_TERMS] = {0};
            for (size_t i = 0; i < nn && !skip; i++) pend[q->exp[cs[noness[i]].exp].group]++;
            for (size_t i = 0; i < nn && !skip; i++) {
                cursor *c = &cs[noness[i]];
                size_t g = q->exp[c->exp].group;
                cursor_seek(c, doc);
                if (!c->l.done && c->l.e.doc == doc) {
                    at[na++] = noness[i];
                    float b = entry_block_bound(p, q, c);
                    if (present[g] == 0xff || b > gb[g]) gb[g] = b, present[g] = 0;
                }
                if (--pend[g] || i + 1 == nn) continue;
                for (size_t h = 0; h < q->n_groups; h++) {
                    gs[h] = gb[h];
                    ps[h] = present[h];
                    if (pend[h] && (ps[h] == 0xff || gub[h] > gs[h])) gs[h] = gub[h], ps[h] = 0;
                }
                skip = doc_bound(p, coord, q->n_groups, gs, ps) <= pool[0].score;
            }
            if (!skip)
                skip = doc_bound(p, coord, q->n_groups, gb, present) <= pool[0].score ||
                       (pc && use_bm && pair_entry_bound(p, q, coord, cs, pc, doc, gb, present, &pb) &&
                        pb <= pool[0].score);
        } else {
            for (size_t i = 0; i < nn; i++) {
                cursor *c = &cs[noness[i]];
                cursor_seek(c, doc);
                if (!c->l.done && c->l.e.doc == doc) at[na++] = noness[i];
            }
        }
        if (!skip && search_filter_pass(idx, f, doc)) {
            float best[SEARCH_MAX_TERMS];
            uint8_t which[SEARCH_MAX_TERMS];
            memset(which, 0xff, q->n_groups);
            for (size_t i = 0; i < na; i++) {
                const search_exp *x = &q->exp[cs[at[i]].exp];
                float s = x->weight * x->idf * bm25f(idx, p, inv_avg, &cs[at[i]].l.e);
                if (which[x->group] == 0xff || s > best[x->group]) { /* best set with which */
                    best[x->group] = s;
                    which[x->group] = (uint8_t)cs[at[i]].exp;
                }
            }
            cursor *ent[SEARCH_MAX_TERMS];
            int dist[SEARCH_MAX_TERMS];
            for (size_t i = 0; i < na; i++)
                if (which[q->exp[cs[at[i]].exp].group] == cs[at[i]].exp) ent[q->exp[cs[at[i]].exp].group] = &cs[at[i]];
            /* positions only for the pairs the proximity boost looks at */
            for (size_t g = 1; g < q->n_groups && p->proximity > 0; g++) {
                if (which[g] == 0xff || which[g - 1] == 0xff) continue;
                cursor *ca = ent[g - 1], *cb = ent[g];
                search_entry_positions(ca->l.data, ca->l.len, &ca->l.e);
                search_entry_positions(cb->l.data, cb->l.len, &cb->l.e);
                dist[g] = min_distance(&ca->l.e, &cb->l.e);
            }
            float prox;
            float score = combine(p, coord, q->n_groups, best, which, dist, &prox);
            if (!pruning) (*total)++; /* pruned: a lower bound past search_total_limit */
            for (size_t k = 0; k < n_fc; k++) {
                facet_counts *c = &fc[k];
                if (c->kind == 0 && idx->brand[doc] != SEARCH_NONE) c->count[idx->brand[doc]]++;
                else if (c->kind == 1 && idx->category[doc] != SEARCH_NONE) c->count[idx->category[doc]]++;
                else if (c->kind == 2 && idx->attr_n[doc]) {
                    const uint32_t *a = idx->attrs + idx->attr_start[doc];
                    for (uint32_t j = 0; j < idx->attr_n[doc]; j++)
                        if (idx->pair_name[a[j]] == c->name_id) c->count[a[j]]++;
                }
            }
            search_cand cd;
            cd.doc = doc;
            cd.score = score;
            if (pool_cap && (*pool_n < pool_cap || cand_less(&pool[0], &cd))) {
                memset(&cd, 0, sizeof cd);
                cd.doc = doc;
                cd.score = cd.text = score;
                cd.proximity = prox;
                memset(cd.exp, 0xff, sizeof cd.exp);
                memcpy(cd.exp, which, q->n_groups);
                if (*pool_n < pool_cap) {
                    pool[(*pool_n)++] = cd;
                    pool_up(pool, *pool_n - 1);
                } else {
                    pool[0] = cd;
                    pool_down(pool, *pool_n, 0);
                }
            }
        }
        for (size_t i = 0; i < na; i++) {
            cursor_next(&cs[at[i]]);
            if (!cs[at[i]].l.done && cs[at[i]].essential) {
                size_t j = hn++;
                heap[j] = at[i];
                while (j) {
                    size_t pj = (j - 1) / 2;
                    if (cs[heap[pj]].l.e.doc <= cs[heap[j]].l.e.doc) break;
                    uint32_t t = heap[pj];
                    heap[pj] = heap[j];
                    heap[j] = t;
                    j = pj;
                }
            }
        }
    }
    core_free(cs);
    core_free(heap);
    core_free(noness);
    qsort(pool, *pool_n, sizeof *pool, cand_desc);
    for (size_t i = 0; i < *pool_n; i++) pool[i].rank_text = (int32_t)i + 1;
    return AISLE_OK;
}
