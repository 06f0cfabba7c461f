/* gbt.c - gradient-boosted regression trees for one quantile (pinball
 * loss), histogram-based: features are cut into at most 255 quantile bins
 * once, each node's split is found from per-bin gradient sums, and each
 * leaf takes the tau-quantile of its rows' residuals (the leaf renewal of
 * Friedman 2001, section 4.6), which a constant-Hessian Newton step would
 * only approach slowly.  Trees grow depth-wise; rows are subsampled per
 * tree (stochastic gradient boosting). */
#include "forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fc_gbt_free(fc_gbt *g) {
    if (!g) return;
    core_free(g->tree_off);
    core_free(g->nodes);
    memset(g, 0, sizeof *g);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* k-th smallest of v[0..n) (Hoare's selection; v is reordered). */
static float select_kth(float *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j], v[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

static float quantile_of(float *v, size_t n, double tau) {
    if (!n) return 0;
    size_t k = (size_t)floor(tau * (double)(n - 1) + 0.5);
    return select_kth(v, n, k < n ? k : n - 1);
}

typedef struct gbt_work {
    size_t n;
    uint32_t F, nb;
    uint8_t *xb;        /* n x F bins; bin 0 = missing */
    float *thr;         /* F x (nb - 1) upper edges of bins 1.. */
    uint32_t *n_thr;    /* F */
    float *pred;        /* n */
    uint32_t *idx;      /* rows of the current tree, partitioned by node */
    float *tmp;         /* residual scratch */
    uint8_t *below;     /* n: y < prediction (the gradient is tau - 1 there, else tau) */
    uint32_t *hist[2];  /* per level: node slot x F x nb x {rows, rows below} */
    uint32_t slots;     /* node slots per level histogram buffer */
} gbt_work;

static void work_free(gbt_work *w) {
    core_free(w->xb);
    core_free(w->thr);
    core_free(w->n_thr);
    core_free(w->pred);
    core_free(w->idx);
    core_free(w->tmp);
    core_free(w->below);
    core_free(w->hist[0]);
    core_free(w->hist[1]);
}

/* Quantile bin edges of each feature from a sample of rows. */
static int make_bins(gbt_work *w, const float *x, core_rng *rng) {
    size_t ns = w->n < 20000 ? w->n : 20000;
    float *col = core_malloc(ns * sizeof *col);
    if (!col) return core_oom("forecast trees");
    size_t *rows = core_malloc(ns * sizeof *rows);
    if (!rows) {
        core_free(col);
        return core_oom("forecast trees");
    }
    for (size_t i = 0; i < ns; i++) rows[i] = ns == w->n ? i : (size_t)rng_below(rng, w->n);
    uint32_t edges = w->nb - 2; /* bins 1..nb-1 for values */
    for (uint32_t f = 0; f < w->F; f++) {
        size_t m = 0;
        for (size_t i = 0; i < ns; i++) {
            float v = x[rows[i] * w->F + f];
            if (!isnan(v)) col[m++] = v;
        }
        qsort(col, m, sizeof *col, cmp_float);
        float *t = w->thr + (size_t)f * (w->nb - 1);
        uint32_t k = 0;
        for (uint32_t e = 1; e <= edges && m; e++) {
            float v = col[(size_t)((double)e * (double)(m - 1) / (edges + 1))];
            if (v < col[m - 1] && (k == 0 || v > t[k - 1])) t[k++] = v;
        }
        w->n_thr[f] = k;
    }
    core_free(col);
    core_free(rows);
    for (size_t i = 0; i < w->n; i++)
        for (uint32_t f = 0; f < w->F; f++) {
            float v = x[i * w->F + f];
            uint8_t b = 0;
            if (!isnan(v)) {
                const float *t = w->thr + (size_t)f * (w->nb - 1);
                uint32_t lo = 0, hi = w->n_thr[f]; /* first edge >= v */
                while (lo < hi) {
                    uint32_t mid = (lo + hi) / 2;
                    if (t[mid] < v) lo = mid + 1;
                    else hi = mid;
                }
                b = (uint8_t)(lo + 1);
            }
            w->xb[i * w->F + f] = b;
        }
    return AISLE_OK;
}

typedef struct tnode {
    uint32_t begin, end; /* row range in idx */
    int32_t feature;
    uint32_t bin, left;
    float value;
    uint32_t slot;       /* histogram slot in its level's buffer, UINT32_MAX: none */
} tnode;

/* Histogram of rows idx[begin..end): per feature and bin the row count and
 * the count of rows below their prediction, which is all a pinball
 * gradient needs (its sum over a bin is tau * rows - below). */
static void build_hist(const gbt_work *w, uint32_t begin, uint32_t end, uint32_t *h) {
    uint32_t F = w->F, nb = w->nb;
    memset(h, 0, (size_t)F * nb * 2 * sizeof *h);
    for (uint32_t r = begin; r < end; r++) {
        uint32_t i = w->idx[r];
        const uint8_t *xb = w->xb + (size_t)i * F;
        uint32_t bl = w->below[i];
        for (uint32_t f = 0; f < F; f++) {
            uint32_t *c = h + ((size_t)f * nb + xb[f]) * 2;
            c[0]++;
            c[1] += bl;
        }
    }
}

static int grow_nodes(fc_gbt *g, size_t *cap, size_t need) {
    return core_grow((void **)&g->nodes, cap, need, sizeof *g->nodes);
}

/* One tree on rows idx[0..m): appends its nodes to g. */
static int grow_tree(gbt_work *w, const float *y, uint32_t m, const fc_gbt_params *p, fc_gbt *g, size_t *cap,
                     tnode *tn) {
    uint32_t F = w->F, nb = w->nb;
    size_t nt = 1, level_begin = 0;
    tn[0] = (tnode){0, m, -1, 0, 0, 0, 0};
    for (uint32_t r = 0; r < m; r++) {
        uint32_t i = w->idx[r];
        w->below[i] = y[i] < w->pred[i];
    }
    build_hist(w, 0, m, w->hist[0]);
    for (uint32_t d = 0; d < p->depth; d++) {
        size_t level_end = nt;
        uint32_t next_slot = 0;
        for (size_t k = level_begin; k < level_end; k++) {
            tnode *t = &tn[k];
            uint32_t cnt = t->end - t->begin;
            if (cnt < 2 * p->min_leaf || t->slot == UINT32_MAX) continue;
            const uint32_t *h = w->hist[d & 1] + (size_t)t->slot * F * nb * 2;
            uint32_t below = 0;
            for (uint32_t b = 0; b < nb; b++) below += h[b * 2 + 1]; /* feature 0 covers every row */
            double G = p->tau * cnt - below;
            double parent = G * G / cnt, best = 1e-9 * cnt;
            int32_t bf = -1;
            uint32_t bb = 0;
            for (uint32_t f = 0; f < F; f++) {
                const uint32_t *hf = h + (size_t)f * nb * 2;
                uint32_t cl = 0, bl = 0, last = w->n_thr[f]; /* bins 0..n_thr+1 used */
                for (uint32_t b = 0; b <= last; b++) {
                    cl += hf[b * 2];
                    bl += hf[b * 2 + 1];
                    uint32_t cr = cnt - cl;
                    if (cl < p->min_leaf) continue;
                    if (cr < p->min_leaf) break;
                    double gl = p->tau * cl - bl, gr = G - gl, gain = gl * gl / cl + gr * gr / cr - parent;
                    if (gain > best) best = gain, bf = (int32_t)f, bb = b;
                }
            }
            if (bf < 0) continue;
            /* partition the range: bins <= bb go left */
            uint32_t i = t->begin, j = t->end;
            while (i < j) {
                if (w->xb[(size_t)w->idx[i] * F + (uint32_t)bf] <= bb) i++;
                else {
                    j--;
                    uint32_t s = w->idx[i];
                    w->idx[i] = w->idx[j], w->idx[j] = s;
                }
            }
            t->feature = bf;
            t->bin = bb;
            t->left = (uint32_t)nt;
            tnode *a = &tn[nt++], *z = &tn[nt++];
            *a = (tnode){t->begin, i, -1, 0, 0, 0, UINT32_MAX};
            *z = (tnode){i, t->end, -1, 0, 0, 0, UINT32_MAX};
            /* children split next level get histograms: the smaller one built, the other by subtraction */
            if (d + 1 < p->depth && cnt >= 4 * p->min_leaf && next_slot + 2 <= w->slots) {
                size_t hs = (size_t)F * nb * 2;
                uint32_t *ha = w->hist[(d + 1) & 1] + (size_t)next_slot * hs, *hz = ha + hs;
                a->slot = next_slot, z->slot = next_slot + 1;
                next_slot += 2;
                const uint32_t *hp = w->hist[d & 1] + (size_t)t->slot * hs;
                uint32_t *small = a->end - a->begin <= z->end - z->begin ? ha : hz, *large = small == ha ? hz : ha;
                const tnode *sn = small == ha ? a : z;
                build_hist(w, sn->begin, sn->end, small);
                for (size_t k2 = 0; k2 < hs; k2++) large[k2] = hp[k2] - small[k2];
            }
        }
        level_begin = level_end;
    }
    /* leaves: learning rate x the tau-quantile of the residuals; inner
     * nodes: row-weighted mean of their leaves (for explain) */
    for (size_t k = nt; k-- > 0;) {
        tnode *t = &tn[k];
        uint32_t cnt = t->end - t->begin;
        if (t->feature < 0) {
            for (uint32_t r = 0; r < cnt; r++) {
                uint32_t i = w->idx[t->begin + r];
                w->tmp[r] = y[i] - w->pred[i];
            }
            t->value = (float)(p->learning_rate * quantile_of(w->tmp, cnt, p->tau));
        } else {
            const tnode *l = &tn[t->left], *r = &tn[t->left + 1];
            uint32_t cl = l->end - l->begin, cr = r->end - r->begin;
            t->value = cnt ? (float)(((double)l->value * cl + (double)r->value * cr) / cnt) : 0;
        }
    }
    size_t base = g->n_nodes;
    int rc = grow_nodes(g, cap, base + nt);
    if (rc) return rc;
    for (size_t k = 0; k < nt; k++) {
        const tnode *t = &tn[k];
        fc_gbt_node *o = &g->nodes[base + k];
        o->feature = t->feature;
        o->left = t->feature < 0 ? 0 : (uint32_t)(base + t->left);
        o->value = t->value;
        o->threshold = 0;
        if (t->feature >= 0)
            o->threshold = t->bin == 0 ? -INFINITY : w->thr[(size_t)t->feature * (nb - 1) + t->bin - 1];
    }
    g->n_nodes = base + nt;
    /* update every row's prediction through the tree (on bins) */
    for (size_t i = 0; i < w->n; i++) {
        size_t k = 0;
        while (tn[k].feature >= 0) k = tn[k].left + (w->xb[i * F + (uint32_t)tn[k].feature] > tn[k].bin);
        w->pred[i] += tn[k].value;
    }
    return AISLE_OK;
}

int fc_gbt_train(const float *x, const float *y, size_t n, uint32_t F, const fc_gbt_params *p, fc_gbt *out) {
    memset(out, 0, sizeof *out);
    if (!n || !F) return core_error(AISLE_EINVAL, "forecast: no training rows for the global model");
    if (n > UINT32_MAX) return core_error(AISLE_ERANGE, "forecast: too many training rows");
    gbt_work w;
    memset(&w, 0, sizeof w);
    w.n = n, w.F = F;
    w.nb = p->bins < 4 ? 4 : p->bins > 256 ? 256 : p->bins;
    size_t tree_nodes = ((size_t)2 << p->depth) - 1;
    tnode *tn = core_malloc(tree_nodes * sizeof *tn);
    w.xb = core_malloc(n * F);
    w.thr = core_malloc((size_t)F * (w.nb - 1) * sizeof *w.thr);
    w.n_thr = core_calloc(F, sizeof *w.n_thr);
    w.pred = core_malloc(n * sizeof *w.pred);
    w.idx = core_malloc(n * sizeof *w.idx);
    w.tmp = core_malloc(n * sizeof *w.tmp);
    w.below = core_malloc(n);
    w.slots = p->depth > 1 ? 1u << (p->depth - 1 < 10 ? p->depth - 1 : 10) : 1;
    w.hist[0] = core_malloc((size_t)w.slots * F * w.nb * 2 * sizeof *w.hist[0]);
    w.hist[1] = core_malloc((size_t)w.slots * F * w.nb * 2 * sizeof *w.hist[1]);
    fc_gbt g;
    memset(&g, 0, sizeof g);
    g.n_features = F;
    g.tree_off = core_calloc((size_t)p->trees + 1, sizeof *g.tree_off);
    int rc = AISLE_OK;
    if (!tn || !w.xb || !w.thr || !w.n_thr || !w.pred || !w.idx || !w.tmp || !w.below || !w.hist[0] || !w.hist[1] || !g.tree_off)
        rc = core_oom("forecast trees");
    core_rng rng;
    rng_seed(&rng, p->seed);
    if (!rc) rc = make_bins(&w, x, &rng);
    if (!rc) {
        memcpy(w.tmp, y, n * sizeof *y);
        g.base = quantile_of(w.tmp, n, p->tau);
        for (size_t i = 0; i < n; i++) w.pred[i] = g.base;
    }
    size_t cap = 0;
    uint32_t m = (uint32_t)(p->subsample >= 1 ? n : (size_t)ceil(p->subsample * (double)n));
    if (m < 1) m = 1;
    for (uint32_t t = 0; !rc && t < p->trees; t++) {
        if (m == n) {
            for (uint32_t i = 0; i < n; i++) w.idx[i] = i;
        } else { /* Floyd-free: a uniform sample with replacement-free selection by partial shuffle */
            for (uint32_t i = 0; i < n; i++) w.idx[i] = i;
            for (uint32_t i = 0; i < m; i++) {
                uint32_t j = i + (uint32_t)rng_below(&rng, n - i), s = w.idx[i];
                w.idx[i] = w.idx[j], w.idx[j] = s;
            }
        }
        g.tree_off[t] = (uint32_t)g.n_nodes;
        rc = grow_tree(&w, y, m, p, &g, &cap, tn);
        g.n_trees = t + 1;
        g.tree_off[t + 1] = (uint32_t)g.n_nodes;
    }
    core_free(tn);
    work_free(&w);
    if (rc) {
        fc_gbt_free(&g);
        return rc;
    }
    *out = g;
    return AISLE_OK;
}

float fc_gbt_predict(const fc_gbt *g, const float *x) {
    double s = g->base;
    for (uint32_t t = 0; t < g->n_trees; t++) {
        const fc_gbt_node *nd = &g->nodes[g->tree_off[t]];
        while (nd->feature >= 0) {
            float v = x[nd->feature];
            nd = &g->nodes[nd->left + !(isnan(v) || v <= nd->threshold)];
        }
        s += nd->value;
    }
    return (float)s;
}

float fc_gbt_contrib(const fc_gbt *g, const float *x, double *contrib) {
    double s = g->base;
    for (uint32_t t = 0; t < g->n_trees; t++) {
        const fc_gbt_node *nd = &g->nodes[g->tree_off[t]];
        s += nd->value;
        while (nd->feature >= 0) {
            float v = x[nd->feature];
            const fc_gbt_node *next = &g->nodes[nd->left + !(isnan(v) || v <= nd->threshold)];
            contrib[nd->feature] += (double)next->value - nd->value;
            s += (double)next->value - nd->value;
            nd = next;
        }
    }
    return (float)s;
}
