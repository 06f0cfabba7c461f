/* filter.c - search filters (category path prefix, brand, price range,
 * attribute equals): parsed once per query into per-value tables, then
 * checked per candidate document inside retrieval. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
