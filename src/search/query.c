/* query.c - running a query: parsing it into terms and their expansions
 * (exact, typo corrections, prefix completions of the last word), filters,
 * document-at-a-time retrieval over the postings cursors with BM25F and a
 * proximity boost, facet counts, then re-ranking (rank.c) and the results.
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
#include <strings.h>

/* Reading ~30 options costs more than a small query: without search_*
 * options in cfg the index's precomputed defaults are used. */
int search_params_read(search_params *p, const aisle_config *cfg, const search_params *defaults) {
    size_t n_opts = 0;
    while (search_options[n_opts].name) n_opts++;
    bool any = false;
    for (size_t i = 0; cfg && i < cfg->n && !any; i++)
        any = cfg->entries[i].spec >= search_options && cfg->entries[i].spec < search_options + n_opts;
    if (defaults && !any) {
        *p = *defaults;
        return AISLE_OK;
    }
    static const char *const wn[SEARCH_N_FIELDS] = {"search_weight_title", "search_weight_description",
                                                    "search_weight_category", "search_weight_brand",
                                                    "search_weight_attributes"};
    for (int f = 0; f < SEARCH_N_FIELDS; f++) p->w[f] = config_float(cfg, search_options, wn[f]);
    p->k1 = config_float(cfg, search_options, "search_k1");
    p->b = config_float(cfg, search_options, "search_b");
    p->proximity = config_float(cfg, search_options, "search_proximity");
    p->coordination = config_float(cfg, search_options, "search_coordination");
    p->typo = config_bool(cfg, search_options, "search_typo");
    p->typo_len1 = (int)config_int(cfg, search_options, "search_typo_min_len1");
    p->typo_len2 = (int)config_int(cfg, search_options, "search_typo_min_len2");
    p->typo_min_df = (int)config_int(cfg, search_options, "search_typo_min_df");
    p->typo_max = (int)config_int(cfg, search_options, "search_typo_max");
    p->typo_penalty = config_float(cfg, search_options, "search_typo_penalty");
    p->prefix = config_bool(cfg, search_options, "search_prefix");
    p->prefix_max = (int)config_int(cfg, search_options, "search_prefix_max");
    p->prefix_weight = config_float(cfg, search_options, "search_prefix_weight");
    p->depth = (size_t)config_int(cfg, search_options, "search_depth");
    p->total_limit = config_int(cfg, search_options, "search_total_limit");
    p->facets = config_string(cfg, search_options, "search_facets");
    p->facet_limit = (int)config_int(cfg, search_options, "search_facet_limit");
    const char *fu = config_string(cfg, search_options, "search_fusion");
    p->fusion = !strcmp(fu, "rrf") ? SEARCH_FUSION_RRF : !strcmp(fu, "linear") ? SEARCH_FUSION_LINEAR
                                                                              : SEARCH_FUSION_NONE;
    p->semantic_weight = config_float(cfg, search_options, "search_semantic_weight");
    p->semantic_seeds = (int)config_int(cfg, search_options, "search_semantic_seeds");
    p->rrf_k = (int)config_int(cfg, search_options, "search_rrf_k");
    p->personal_text = config_float(cfg, search_options, "search_personal_text");
    p->personal_user = config_float(cfg, search_options, "search_personal_user");
    p->personal_pop = config_float(cfg, search_options, "search_personal_popularity");
    return config_check(cfg, search_options, "search");
}

/* ---- filters ---- */

void search_filter_release(search_filter *f) {
    core_free(f->category);
    core_free(f->brand);
    f->category = f->brand = NULL;
}

static bool parse_double(const char *s, size_t n, double *out) {
    char buf[64];
    if (!n || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == 0 && !isnan(*out);
}

int search_filter_parse(const aisle_search_index *idx, const char *const *filters, size_t n, search_filter *f) {
    memset(f, 0, sizeof *f);
    f->price_min = -INFINITY;
    f->price_max = INFINITY;
    unsigned n_cat = 0; /* several category filters: a product must match every one */
    for (size_t i = 0; i < n; i++) {
        const char *s = filters[i];
        if (!s) {
            search_filter_release(f);
            return core_error(AISLE_EINVAL, "search filter %zu: NULL", i);
        }
        const char *eq = strchr(s, '=');
        if (!eq || eq == s) {
            search_filter_release(f);
            return core_error(AISLE_EINVAL, "search filter '%s': expected NAME=VALUE", s);
        }
        size_t nl = (size_t)(eq - s);
        const char *v = eq + 1;
        size_t vl = strlen(v);
        if (nl == 8 && !strncmp(s, "category", 8)) {
            /* a category path prefix (ASCII case-insensitive) */
            if (!f->category && !(f->category = core_calloc(idx->categories.n + 1, 1))) {
                search_filter_release(f);
                return core_oom("search filter");
            }
            n_cat++;
            for (size_t c = 0; c < idx->categories.n; c++)
                if (!strncasecmp(keys_at(&idx->categories, (uint32_t)c), v, vl) && f->category[c] < 255)
                    f->category[c]++;
        } else if (nl == 5 && !strncmp(s, "brand", 5)) {
            uint8_t *m = core_calloc(idx->brands.n + 1, 1);
            if (!m) {
                search_filter_release(f);
                return core_oom("search filter");
            }
            bool any = false;
            for (size_t c = 0; c < idx->brands.n; c++) {
                bool ok = !strcasecmp(keys_at(&idx->brands, (uint32_t)c), v) && (!f->brand || f->brand[c]);
                m[c] = ok;
                any |= ok;
            }
            core_free(f->brand);
            f->brand = m;
            if (!any) f->none = true;
        } else if (nl == 5 && !strncmp(s, "price", 5)) {
            /* LO..HI, LO.., ..HI or an exact value */
            const char *dots = strstr(v, "..");
            double lo = -INFINITY, hi = INFINITY;
            bool ok;
            if (dots) {
                size_t ll = (size_t)(dots - v), hl = vl - ll - 2;
                ok = (!ll || parse_double(v, ll, &lo)) && (!hl || parse_double(dots + 2, hl, &hi)) && (ll || hl);
            } else {
                ok = parse_double(v, vl, &lo);
                hi = lo;
            }
            if (!ok) {
                search_filter_release(f);
                return core_error(AISLE_EINVAL, "search filter '%s': price wants LO..HI, LO.., ..HI or a number", s);
            }
            f->has_price = true;
            if (lo > f->price_min) f->price_min = lo;
            if (hi < f->price_max) f->price_max = hi;
            if (f->price_min > f->price_max) f->none = true;
        } else {
            /* attribute equals */
            if (f->n_pairs == CORE_ARRAY_LEN(f->pairs)) {
                search_filter_release(f);
                return core_error(AISLE_ERANGE, "search filters: at most %zu attribute filters",
                                  CORE_ARRAY_LEN(f->pairs));
            }
            char stack[256], *pair = nl + vl + 2 <= sizeof stack ? stack : core_malloc(nl + vl + 2);
            if (!pair) {
                search_filter_release(f);
                return core_oom("search filter");
            }
            memcpy(pair, s, nl);
            pair[nl] = '\x1f';
            memcpy(pair + nl + 1, v, vl);
            int64_t id = keys_find(&idx->attr_pairs, pair, nl + vl + 1);
            if (pair != stack) core_free(pair);
            if (id < 0) f->none = true;
            else f->pairs[f->n_pairs++] = (uint32_t)id;
        }
    }
    if (f->category) {
        bool any = false;
        for (size_t c = 0; c < idx->categories.n; c++) {
            f->category[c] = f->category[c] == n_cat;
            any |= f->category[c];
        }
        if (!any) f->none = true;
    }
    return AISLE_OK;
}

bool search_filter_pass(const aisle_search_index *idx, const search_filter *f, uint32_t doc) {
    if (!idx->alive[doc]) return false;
    if (f->category) {
        uint32_t c = idx->category[doc];
        if (c == SEARCH_NONE || !f->category[c]) return false;
    }
    if (f->brand) {
        uint32_t b = idx->brand[doc];
        if (b == SEARCH_NONE || !f->brand[b]) return false;
    }
    if (f->has_price) {
        double pr = idx->price[doc];
        if (!(pr >= f->price_min && pr <= f->price_max)) return false;
    }
    for (size_t i = 0; i < f->n_pairs; i++) {
        const uint32_t *a = idx->attrs + idx->attr_start[doc];
        uint32_t n = idx->attr_n[doc], j = 0;
        while (j < n && a[j] != f->pairs[i]) j++;
        if (j == n) return false;
    }
    return true;
}

/* ---- parsing the query ---- */

typedef struct parse_ctx {
    search_query *q;
    int rc;
} parse_ctx;

static int on_query_token(void *vctx, const char *tok, size_t len, int kind) {
    (void)kind;
    parse_ctx *c = vctx;
    search_query *q = c->q;
    if (q->n_groups == SEARCH_MAX_TERMS) return 1; /* stop: later terms are ignored */
    for (size_t g = 0; g < q->n_groups; g++)
        if (q->group_len[g] == len && !memcmp(q->text.data + q->group_off[g], tok, len)) return 0;
    uint32_t off = (uint32_t)q->text.len;
    if ((c->rc = buf_append(&q->text, tok, len)) || (c->rc = buf_append(&q->text, "", 1))) return c->rc;
    q->group_off[q->n_groups] = off;
    q->group_len[q->n_groups] = (uint16_t)len;
    q->n_groups++;
    return 0;
}

static double idf_of(const aisle_search_index *idx, uint32_t df) {
    double n = (double)idx->n_docs;
    return log(1.0 + (n - df + 0.5) / (df + 0.5));
}

static int exp_push(search_query *q, size_t *cap, uint32_t term, double weight, double idf, size_t g, int edits,
                    int prefix) {
    if (q->n_exp == 255) return AISLE_OK; /* cand.exp is a byte */
    if (q->n_exp == *cap) {
        int rc = core_grow((void **)&q->exp, cap, q->n_exp + 1, sizeof *q->exp);
        if (rc) return rc;
    }
    q->exp[q->n_exp++] = (search_exp){term, (float)weight, (float)idf, (uint8_t)g, (uint8_t)edits, (uint8_t)prefix};
    return AISLE_OK;
}

static bool ends_in_word(const char *text, size_t len) {
    if (!len) return false;
    unsigned char c = (unsigned char)text[len - 1];
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

static int query_parse(const aisle_search_index *idx, const search_params *p, const char *text, size_t len,
                       search_query *q) {
    memset(q, 0, sizeof *q);
    buf_init(&q->text);
    feat_tok_cfg tc;
    feat_tok_default(&tc);
    parse_ctx c = {q, 0};
    int rc = feat_tokenize(&tc, text, len, on_query_token, &c);
    if (c.rc) return c.rc;
    (void)rc;
    size_t cap = 0;
    uint32_t cand[SEARCH_MAX_EXPANSIONS];
    uint8_t edits[SEARCH_MAX_EXPANSIONS];
    bool last_open = ends_in_word(text, len);
    for (size_t g = 0; g < q->n_groups; g++) {
        const char *w = q->text.data + q->group_off[g];
        size_t wl = q->group_len[g];
        int64_t t = keys_find(&idx->terms, w, wl);
        uint32_t df = t >= 0 ? idx->post[t].df : 0;
        if (df && (rc = exp_push(q, &cap, (uint32_t)t, 1.0, idf_of(idx, df), g, 0, 0))) return rc;
        /* typo tolerance for words that match nothing or little */
        if (p->typo && (int)df < p->typo_min_df) {
            uint32_t cp[SEARCH_MAX_TYPO_LEN];
            size_t nc = search_codepoints(w, wl, cp, SEARCH_MAX_TYPO_LEN);
            int max_e = nc == (size_t)-1 ? 0 : (int)nc >= p->typo_len2 ? 2 : (int)nc >= p->typo_len1 ? 1 : 0;
            size_t n = 0;
            if (max_e &&
                (rc = search_typo_candidates(idx, w, wl, max_e, cand, edits, (size_t)p->typo_max, &n)))
                return rc;
            for (size_t i = 0; i < n; i++) {
                double wgt = pow(p->typo_penalty, edits[i]);
                if ((rc = exp_push(q, &cap, cand[i], wgt, idf_of(idx, idx->post[cand[i]].df), g, edits[i], 0)))
                    return rc;
            }
        }
        /* the last word, still being typed, also completes */
        if (p->prefix && g + 1 == q->n_groups && last_open) {
            size_t n = 0;
            if ((rc = search_prefix_candidates(idx, w, wl, cand, (size_t)p->prefix_max, &n))) return rc;
            for (size_t i = 0; i < n; i++)
                if ((rc = exp_push(q, &cap, cand[i], p->prefix_weight, idf_of(idx, idx->post[cand[i]].df), g, 0, 1)))
                    return rc;
        }
    }
    return AISLE_OK;
}

static void query_release(search_query *q) {
    buf_free(&q->text);
    core_free(q->exp);
}

/* ---- retrieval ---- */

typedef struct cursor {
    const uint8_t *data;
    uint32_t len, off;
    uint32_t exp;
    search_entry e;
    bool done, essential;
    const search_skip *skip;
    uint32_t n_skip, blk; /* blk: first skip entry not yet passed */
} cursor;

static void cursor_next(cursor *c) {
    if (c->off >= c->len) {
        c->done = true;
        return;
    }
    if (search_decode_head(c->data, c->len, &c->off, c->e.doc, &c->e)) c->done = true; /* load verified it */
}

/* Moves c to its first entry >= target.  Blocks whose successor starts
 * before target are jumped over through the skip table, walking forward
 * from the cursor's block (amortised constant: seeks only go forward). */
static void cursor_seek(cursor *c, uint32_t target) {
    if (c->done || c->e.doc >= target) return;
    while (c->blk < c->n_skip && c->skip[c->blk].off < c->off) c->blk++; /* blocks already entered */
    if (c->blk < c->n_skip && c->skip[c->blk].prev < target) {
        uint32_t b = c->blk;
        while (b + 1 < c->n_skip && c->skip[b + 1].prev < target) b++;
        c->off = c->skip[b].off;
        c->e.doc = c->skip[b].prev;
        c->blk = b + 1;
    }
    do cursor_next(c);
    while (!c->done && c->e.doc < target);
}

/* min-heap of cursor indices by current document */
static void heap_down(cursor *cs, uint32_t *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && cs[h[l]].e.doc < cs[h[m]].e.doc) m = l;
        if (l + 1 < n && cs[h[l + 1]].e.doc < cs[h[m]].e.doc) m = l + 1;
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

typedef struct facet_counts {
    int kind; /* 0 brand, 1 category, 2 attribute name */
    uint32_t name_id;
    uint32_t *count;
    size_t n;
    const char *name;
    size_t name_len;
} facet_counts;

static float bm25f(const aisle_search_index *idx, const search_params *p, const double *inv_avg,
                   const search_entry *e) {
    const uint16_t *fl = idx->flen + (size_t)e->doc * SEARCH_N_FIELDS;
    double tf = 0;
    for (int f = 0; f < SEARCH_N_FIELDS; f++)
        if (e->tf[f]) tf += p->w[f] * e->tf[f] / (1.0 - p->b + p->b * fl[f] * inv_avg[f]);
    return (float)(tf * (p->k1 + 1.0) / (p->k1 + tf));
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

static int retrieve(const aisle_search_index *idx, const search_params *p, const search_query *q,
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
        cs[i].data = po->data;
        cs[i].len = po->len;
        cs[i].exp = (uint32_t)i;
        cs[i].essential = true;
        cs[i].skip = po->skip;
        cs[i].n_skip = po->df ? (po->df - 1) / SEARCH_SKIP : 0;
        cursor_next(&cs[i]);
        if (!cs[i].done) heap[hn++] = (uint32_t)i;
    }
    for (size_t i = hn; i-- > 0;) heap_down(cs, heap, hn, i);
    double coord[SEARCH_MAX_TERMS + 1];
    for (size_t m = 0; m <= q->n_groups; m++)
        coord[m] = q->n_groups ? pow((double)m / (double)q->n_groups, p->coordination) : 1.0;
    /* MaxScore (Turtle & Flood 1995): once the totals need not be exact
     * (search_total_limit reached, no facets) and the pool is full, groups
     * whose summed score bound cannot beat the pool's worst are
     * non-essential: documents are taken from the other cursors only, and
     * non-essential cursors seek to them through their skip tables.  The
     * bound of group g is max over its expansions of weight idf (k1 + 1);
     * a document with groups S scores at most
     * (1 + proximity) sum_S ub (|S| / n)^coordination. */
    double ub[SEARCH_MAX_TERMS] = {0}, prefix[SEARCH_MAX_TERMS + 1];
    uint32_t ord[SEARCH_MAX_TERMS];
    for (size_t i = 0; i < q->n_exp; i++) {
        double u = q->exp[i].weight * q->exp[i].idf * (p->k1 + 1.0);
        if (u > ub[q->exp[i].group]) ub[q->exp[i].group] = u;
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
    uint32_t group_cursors[SEARCH_MAX_TERMS] = {0}, req[SEARCH_MAX_TERMS];
    for (size_t i = 0; i < q->n_exp; i++) group_cursors[q->exp[i].group]++;
    size_t nreq = 0;
    bool is_req[SEARCH_MAX_TERMS] = {false};
    uint32_t at[256];
    for (;;) {
        if (may_prune && *pool_n == pool_cap && pool_cap && (pruning || *total >= (size_t)p->total_limit) &&
            pool[0].score > theta) {
            pruning = true;
            theta = pool[0].score;
            size_t r = n_noness;
            while (r < q->n_groups && (1.0 + p->proximity) * prefix[r + 1] * coord[r + 1] <= theta) r++;
            if (r == q->n_groups) break; /* nothing left can enter the pool */
            bool newly_req = false;
            for (size_t g = 0; g < q->n_groups && q->n_groups > 1; g++)
                if (!is_req[g] && group_cursors[g] == 1 &&
                    (1.0 + p->proximity) * (prefix[q->n_groups] - ub[g]) * coord[q->n_groups - 1] <= theta)
                    is_req[g] = newly_req = true;
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
            }
        }
        uint32_t doc;
        size_t na = 0;
        if (nreq) {
            /* leapfrog: the smallest document every required cursor has */
            bool done = false;
            doc = 0;
            for (size_t i = 0; i < nreq; i++) {
                if (cs[req[i]].done) done = true;
                else if (cs[req[i]].e.doc > doc) doc = cs[req[i]].e.doc;
            }
            for (bool moved = true; moved && !done;) {
                moved = false;
                for (size_t i = 0; i < nreq && !done; i++) {
                    cursor *c = &cs[req[i]];
                    cursor_seek(c, doc);
                    if (c->done) done = true;
                    else if (c->e.doc > doc) doc = c->e.doc, moved = true;
                }
            }
            if (done) break;
            for (size_t i = 0; i < nreq; i++) at[na++] = req[i];
        } else {
            if (!hn) break;
            doc = cs[heap[0]].e.doc;
            /* collect every cursor on doc */
            while (hn && cs[heap[0]].e.doc == doc) {
                at[na++] = heap[0];
                heap[0] = heap[--hn];
                heap_down(cs, heap, hn, 0);
            }
        }
        for (size_t i = 0; i < nn; i++) {
            cursor *c = &cs[noness[i]];
            cursor_seek(c, doc);
            if (!c->done && c->e.doc == doc) at[na++] = noness[i];
        }
        if (search_filter_pass(idx, f, doc)) {
            float best[SEARCH_MAX_TERMS];
            uint8_t which[SEARCH_MAX_TERMS];
            memset(which, 0xff, q->n_groups);
            for (size_t i = 0; i < na; i++) {
                const search_exp *x = &q->exp[cs[at[i]].exp];
                float s = x->weight * x->idf * bm25f(idx, p, inv_avg, &cs[at[i]].e);
                if (which[x->group] == 0xff || s > best[x->group]) { /* best set with which */
                    best[x->group] = s;
                    which[x->group] = (uint8_t)cs[at[i]].exp;
                }
            }
            float text = 0, prox = 0;
            size_t matched = 0;
            uint32_t prev_g = SEARCH_NONE;
            cursor *ent[SEARCH_MAX_TERMS];
            for (size_t i = 0; i < na; i++)
                if (which[q->exp[cs[at[i]].exp].group] == cs[at[i]].exp) ent[q->exp[cs[at[i]].exp].group] = &cs[at[i]];
            for (size_t g = 0; g < q->n_groups; g++) {
                if (which[g] == 0xff) continue;
                text += best[g];
                matched++;
                if (p->proximity > 0 && prev_g != SEARCH_NONE && prev_g + 1 == g) {
                    cursor *ca = ent[prev_g], *cb = ent[g];
                    search_entry_positions(ca->data, ca->len, &ca->e);
                    search_entry_positions(cb->data, cb->len, &cb->e);
                    int d = min_distance(&ca->e, &cb->e);
                    prox += (float)(p->proximity * CORE_MIN(best[prev_g], best[g]) / d);
                }
                prev_g = (uint32_t)g;
            }
            float score = (float)((text + prox) * coord[matched]);
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
            if (!cs[at[i]].done && cs[at[i]].essential) {
                size_t j = hn++;
                heap[j] = at[i];
                while (j) {
                    size_t pj = (j - 1) / 2;
                    if (cs[heap[pj]].e.doc <= cs[heap[j]].e.doc) break;
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

/* ---- results ---- */

void search_results_release(aisle_search_results *r) {
    if (!r) return;
    for (size_t i = 0; r->hits && i < r->n; i++) core_free(r->hits[i].explain_text);
    core_free(r->hits);
    core_free(r->cands);
    core_free(r->xi);
    core_free(r->info);
    for (size_t i = 0; i < r->n_facets; i++) {
        core_free(r->facets[i].value);
        core_free(r->facets[i].count);
    }
    core_free(r->facets);
    buf_free(&r->arena);
    core_free(r);
}

static int arena_str(core_buf *b, const char *s, size_t n, uint64_t *off) {
    *off = b->len;
    int rc = buf_append(b, s, n);
    return rc ? rc : buf_append(b, "", 1);
}

int search_explain(aisle_search_results *r, size_t i, const char **out) {
    if (r->hits[i].explain_text || !r->cands) {
        *out = r->hits[i].explain_text ? r->hits[i].explain_text : r->arena.data + r->hits[i].explain;
        return AISLE_OK;
    }
    const search_cand *c = &r->cands[i];
    const search_rerank_info *info = (const search_rerank_info *)r->info;
    const char *a = r->arena.data;
    core_buf x;
    buf_init(&x);
    int rc = buf_printf(&x, "text %.4f", c->text);
    for (size_t g = 0; g < SEARCH_MAX_TERMS && !rc; g++) {
        if (c->exp[g] == 0xff) continue;
        const search_exp_info *e = &r->xi[c->exp[g]];
        const char *term = a + e->term, *qw = a + e->word;
        if (e->edits) rc = buf_printf(&x, "; typo %s->%s (%d edit%s)", qw, term, e->edits, e->edits > 1 ? "s" : "");
        else if (e->prefix) rc = buf_printf(&x, "; prefix %s->%s", qw, term);
        else rc = buf_printf(&x, "; matched %s", term);
    }
    if (!rc && c->proximity > 0) rc = buf_printf(&x, "; proximity +%.4f", c->proximity);
    if (!rc && info->semantic_used) {
        if (c->rank_semantic) rc = buf_printf(&x, "; semantic rank %d (cosine %.3f)", c->rank_semantic, c->semantic);
        if (!rc && !c->rank_text) rc = buf_printf(&x, "; found by behaviour similarity only");
    }
    if (!rc && info->personal_used)
        rc = buf_printf(&x, "; user %.4f popularity %.4f; history moved it from rank %d to %zu", c->user, c->pop,
                        c->rank_before_user, i + 1);
    if (!rc && info->unknown_user) rc = buf_printf(&x, "; user unknown to the model: not personalised");
    if (!rc && info->semantic_note) rc = buf_printf(&x, "; %s", info->semantic_note);
    if (!rc && info->personal_note) rc = buf_printf(&x, "; %s", info->personal_note);
    if (!rc && !x.data) rc = buf_append(&x, "", 1);
    if (rc) {
        buf_free(&x);
        return rc;
    }
    r->hits[i].explain_text = x.data;
    *out = x.data;
    return AISLE_OK;
}

/* Matched terms of a hit, space-separated, into the arena. */
static int matched_hit(aisle_search_results *r, const search_cand *c, uint64_t *off) {
    *off = r->arena.len;
    bool first = true;
    int rc = AISLE_OK;
    for (size_t g = 0; g < SEARCH_MAX_TERMS && !rc; g++) {
        if (c->exp[g] == 0xff) continue;
        uint64_t t = r->xi[c->exp[g]].term;
        size_t l = strlen(r->arena.data + t);
        if (!first) rc = buf_append(&r->arena, " ", 1);
        if (!rc) rc = buf_reserve(&r->arena, l);
        if (!rc) rc = buf_append(&r->arena, r->arena.data + t, l);
        first = false;
    }
    return rc ? rc : buf_append(&r->arena, "", 1);
}

static int facets_setup(const aisle_search_index *idx, const search_params *p, facet_counts **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    const char *s = p->facets;
    if (!s || !*s) return AISLE_OK;
    size_t n = 1;
    for (const char *t = s; *t; t++) n += *t == ',';
    facet_counts *fc = core_calloc(n, sizeof *fc);
    if (!fc) return core_oom("facets");
    size_t k = 0;
    for (const char *t = s; *t;) {
        const char *e = strchr(t, ',');
        size_t l = e ? (size_t)(e - t) : strlen(t);
        if (l) {
            facet_counts *c = &fc[k];
            c->name = t;
            c->name_len = l;
            if (l == 5 && !strncmp(t, "brand", 5)) c->kind = 0, c->n = idx->brands.n;
            else if (l == 8 && !strncmp(t, "category", 8)) c->kind = 1, c->n = idx->categories.n;
            else {
                int64_t id = keys_find(&idx->attr_names, t, l);
                c->kind = 2;
                c->name_id = id < 0 ? SEARCH_NONE : (uint32_t)id;
                c->n = idx->attr_pairs.n;
            }
            c->count = core_calloc(c->n + 1, sizeof *c->count);
            if (!c->count) {
                for (size_t i = 0; i <= k; i++) core_free(fc[i].count);
                core_free(fc);
                return core_oom("facets");
            }
            k++;
        }
        t += l + (e ? 1 : 0);
        if (!e) break;
    }
    *out = fc;
    *n_out = k;
    return AISLE_OK;
}

static int facets_export(const aisle_search_index *idx, const search_params *p, facet_counts *fc, size_t n,
                         aisle_search_results *r) {
    if (!n) return AISLE_OK;
    r->facets = core_calloc(n, sizeof *r->facets);
    if (!r->facets) return core_oom("facets");
    r->n_facets = n;
    for (size_t k = 0; k < n; k++) {
        search_facet_field *ff = &r->facets[k];
        facet_counts *c = &fc[k];
        int rc = arena_str(&r->arena, c->name, c->name_len, &ff->name);
        if (rc) return rc;
        size_t lim = (size_t)p->facet_limit, m = 0;
        ff->value = core_malloc((lim ? lim : 1) * sizeof *ff->value);
        ff->count = core_malloc((lim ? lim : 1) * sizeof *ff->count);
        if (!ff->value || !ff->count) return core_oom("facets");
        /* the lim largest counts, count desc then value order */
        uint32_t *ids = core_malloc((lim ? lim : 1) * sizeof *ids);
        if (!ids) return core_oom("facets");
        for (size_t v = 0; v < c->n; v++) {
            if (!c->count[v]) continue;
            if (m < lim) {
                ids[m++] = (uint32_t)v;
            } else {
                size_t w = 0;
                for (size_t i = 1; i < m; i++)
                    if (c->count[ids[i]] < c->count[ids[w]] || (c->count[ids[i]] == c->count[ids[w]] && ids[i] > ids[w]))
                        w = i;
                if (c->count[v] > c->count[ids[w]]) ids[w] = (uint32_t)v;
                else continue;
            }
            for (size_t i = m - 1; i > 0; i--) { /* keep sorted: insertion */
                uint32_t a = ids[i - 1], b = ids[i];
                if (c->count[b] > c->count[a] || (c->count[b] == c->count[a] && b < a)) {
                    ids[i - 1] = b;
                    ids[i] = a;
                }
            }
        }
        /* final sort (replacements may have broken order) */
        for (size_t i = 1; i < m; i++)
            for (size_t j = i; j > 0; j--) {
                uint32_t a = ids[j - 1], b = ids[j];
                if (c->count[b] > c->count[a] || (c->count[b] == c->count[a] && b < a)) {
                    ids[j - 1] = b;
                    ids[j] = a;
                } else break;
            }
        for (size_t i = 0; i < m && !rc; i++) {
            const char *v;
            size_t vl;
            if (c->kind == 0) v = keys_at(&idx->brands, ids[i]), vl = strlen(v);
            else if (c->kind == 1) v = keys_at(&idx->categories, ids[i]), vl = strlen(v);
            else {
                v = keys_at(&idx->attr_pairs, ids[i]);
                const char *sep = strchr(v, '\x1f');
                v = sep ? sep + 1 : v;
                vl = strlen(v);
            }
            rc = arena_str(&r->arena, v, vl, &ff->value[i]);
            ff->count[i] = c->count[ids[i]];
        }
        core_free(ids);
        if (rc) return rc;
        ff->n = m;
    }
    return AISLE_OK;
}

int search_run(const aisle_search_index *idx, const search_request *rq, aisle_search_results **out) {
    search_params p;
    int rc = search_params_read(&p, rq->cfg, &idx->defaults);
    if (rc) return rc;
    aisle_search_results *r = core_calloc(1, sizeof *r);
    if (!r) return core_oom("search results");
    buf_init(&r->arena);
    search_query q;
    search_filter f;
    memset(&f, 0, sizeof f);
    facet_counts *fc = NULL;
    size_t n_fc = 0, pool_n = 0, pool_cap;
    search_cand *pool = NULL;
    rc = query_parse(idx, &p, rq->text, rq->len, &q);
    if (!rc) rc = search_filter_parse(idx, rq->filters, rq->n_filters, &f);
    if (!rc) rc = facets_setup(idx, &p, &fc, &n_fc);
    pool_cap = rq->model ? CORE_MAX(rq->k, p.depth) : rq->k;
    if (pool_cap > idx->n_docs) pool_cap = idx->n_docs; /* k may be huge: never more than the products */
    if (!rc && !(pool = core_malloc((pool_cap ? pool_cap : 1) * sizeof *pool))) rc = core_oom("search candidates");
    if (!rc) rc = retrieve(idx, &p, &q, &f, pool_cap, pool, &pool_n, &r->total, fc, n_fc);
    search_rerank_info info = {0};
    if (!rc && rq->model) rc = search_rerank(idx, &p, rq, &f, &pool, &pool_n, &pool_cap, &info);
    size_t n = CORE_MIN(pool_n, rq->k);
    if (!rc && !(r->hits = core_calloc(n ? n : 1, sizeof *r->hits))) rc = core_oom("search hits");
    if (!rc && !(r->cands = core_malloc((n ? n : 1) * sizeof *r->cands))) rc = core_oom("search hits");
    if (!rc && !(r->xi = core_calloc(q.n_exp ? q.n_exp : 1, sizeof *r->xi))) rc = core_oom("search hits");
    if (!rc && !(r->info = core_malloc(sizeof *r->info))) rc = core_oom("search hits");
    if (!rc) {
        *r->info = info;
        memcpy(r->cands, pool, n * sizeof *pool);
        r->n_xi = q.n_exp;
        rc = buf_reserve(&r->arena, 64 * n + 32 * q.n_exp + 64);
    }
    for (size_t e = 0; e < q.n_exp && !rc; e++) {
        const search_exp *x = &q.exp[e];
        const char *term = keys_at(&idx->terms, x->term);
        r->xi[e].edits = x->edits;
        r->xi[e].prefix = x->prefix;
        rc = arena_str(&r->arena, term, strlen(term), &r->xi[e].term);
        if (!rc) rc = arena_str(&r->arena, q.text.data + q.group_off[x->group], q.group_len[x->group], &r->xi[e].word);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const search_cand *c = &pool[i];
        const char *key = keys_at(&idx->keys, idx->key_of_doc[c->doc]);
        rc = arena_str(&r->arena, key, strlen(key), &r->hits[i].key);
        if (!rc) rc = matched_hit(r, c, &r->hits[i].matched);
        r->hits[i].score = c->score;
    }
    r->n = n;
    if (!rc) rc = facets_export(idx, &p, fc, n_fc, r);
    for (size_t k = 0; k < n_fc; k++) core_free(fc[k].count);
    core_free(fc);
    core_free(pool);
    search_filter_release(&f);
    query_release(&q);
    if (rc) {
        search_results_release(r);
        return rc;
    }
    *out = r;
    return AISLE_OK;
}
