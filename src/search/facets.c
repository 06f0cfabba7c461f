/* facets.c - facet counts of the matched set: which fields to count
 * (search_facets), and the largest counts of each into the results. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int search_arena_str(core_buf *b, const char *s, size_t n, uint64_t *off) {
    *off = b->len;
    int rc = buf_append(b, s, n);
    return rc ? rc : buf_append(b, "", 1);
}

int search_facets_setup(const aisle_search_index *idx, const search_params *p, facet_counts **out, size_t *n_out) {
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

int search_facets_export(const aisle_search_index *idx, const search_params *p, facet_counts *fc, size_t n,
                         aisle_search_results *r) {
    if (!n) return AISLE_OK;
    r->facets = core_calloc(n, sizeof *r->facets);
    if (!r->facets) return core_oom("facets");
    r->n_facets = n;
    for (size_t k = 0; k < n; k++) {
        search_facet_field *ff = &r->facets[k];
        facet_counts *c = &fc[k];
        int rc = search_arena_str(&r->arena, c->name, c->name_len, &ff->name);
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
            rc = search_arena_str(&r->arena, v, vl, &ff->value[i]);
            ff->count[i] = c->count[ids[i]];
        }
        core_free(ids);
        if (rc) return rc;
        ff->n = m;
    }
    return AISLE_OK;
}
