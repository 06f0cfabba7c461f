/* typo.c - finding indexed terms near a query word: within a few edits
 * (typo tolerance) or starting with it (prefix search).
 *
 * Typo candidates come from a trigram index over the term dictionary (the
 * q-gram lemma: one edit changes at most 3 of a word's padded trigrams, a
 * transposition at most 4, so a term within k edits shares at least
 * grams - 4k of them), then a bounded optimal-string-alignment
 * Damerau-Levenshtein check (Damerau 1964; the band of width 2k+1 with early
 * exit).  Prefix candidates are a binary-searched range of the terms in byte
 * order.  Terms added after the helpers were last built are scanned
 * linearly, so both stay exact between rebuilds. */
#include "search.h"

#include <stdlib.h>
#include <string.h>

size_t search_codepoints(const char *s, size_t len, uint32_t *cp, size_t max) {
    size_t n = 0, o = 0;
    while (o < len) {
        uint32_t c;
        size_t k = feat_utf8_decode((const unsigned char *)s + o, len - o, &c);
        if (!k) {
            c = (unsigned char)s[o];
            k = 1;
        }
        if (n == max) return (size_t)-1;
        cp[n++] = c;
        o += k;
    }
    return n;
}

int search_edit_distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, int max) {
    if (na > SEARCH_MAX_TYPO_LEN || nb > SEARCH_MAX_TYPO_LEN) return max + 1;
    size_t diff = na > nb ? na - nb : nb - na;
    if (diff > (size_t)max) return max + 1;
    /* three rolling rows of the OSA recurrence */
    int rows[3][SEARCH_MAX_TYPO_LEN + 1];
    int *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= nb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (int)i;
        int best = cur[0];
        for (size_t j = 1; j <= nb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = prev[j - 1] + cost;
            if (prev[j] + 1 < v) v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v) v = pp[j - 2] + 1;
            cur[j] = v;
            if (v < best) best = v;
        }
        if (best > max) return max + 1;
        int *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb] <= max ? prev[nb] : max + 1;
}

static uint32_t gram_hash(uint32_t a, uint32_t b, uint32_t c) {
    uint32_t h = a * 0x9E3779B1u;
    h = (h ^ (h >> 15) ^ b) * 0x85EBCA77u;
    h = (h ^ (h >> 13) ^ c) * 0xC2B2AE3Du;
    return h ^ (h >> 16);
}

size_t search_word_grams(const uint32_t *cp, size_t n, uint32_t *out) {
    /* "^w" ... "w$": n grams for a word of n >= 1 characters */
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = i ? cp[i - 1] : 0x2, b = cp[i], c = i + 1 < n ? cp[i + 1] : 0x3;
        out[i] = gram_hash(a, b, c);
    }
    return n;
}

static int gram_cmp(const void *x, const void *y) {
    const search_gram *a = x, *b = y;
    if (a->gram != b->gram) return a->gram < b->gram ? -1 : 1;
    return a->term < b->term ? -1 : a->term > b->term;
}

typedef struct term_ref {
    const char *s;
    uint32_t id;
} term_ref;

static int term_ref_cmp(const void *x, const void *y) {
    return strcmp(((const term_ref *)x)->s, ((const term_ref *)y)->s);
}

/* Typo correction applies to words of letters (not numbers, not CJK). */
static bool typo_word(const uint32_t *cp, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((cp[i] >= '0' && cp[i] <= '9') || feat_is_cjk(cp[i])) return false;
    return n > 0;
}

int search_helpers_rebuild(aisle_search_index *idx) {
    size_t v = idx->terms.n;
    uint32_t *sorted = core_malloc((v ? v : 1) * sizeof *sorted);
    term_ref *refs = core_malloc((v ? v : 1) * sizeof *refs);
    if (!sorted || !refs) {
        core_free(sorted);
        core_free(refs);
        return core_oom("search term order");
    }
    for (size_t t = 0; t < v; t++) refs[t] = (term_ref){keys_at(&idx->terms, (uint32_t)t), (uint32_t)t};
    qsort(refs, v, sizeof *refs, term_ref_cmp);
    for (size_t t = 0; t < v; t++) sorted[t] = refs[t].id;
    core_free(refs);
    /* count grams first */
    size_t total = 0;
    uint32_t cp[SEARCH_MAX_TYPO_LEN];
    for (size_t t = 0; t < v; t++) {
        const char *s = keys_at(&idx->terms, (uint32_t)t);
        size_t n = search_codepoints(s, strlen(s), cp, SEARCH_MAX_TYPO_LEN);
        if (n != (size_t)-1 && typo_word(cp, n)) total += n;
    }
    search_gram *grams = core_malloc((total ? total : 1) * sizeof *grams);
    if (!grams) {
        core_free(sorted);
        return core_oom("search trigram index");
    }
    size_t o = 0;
    uint32_t g[SEARCH_MAX_TYPO_LEN];
    for (size_t t = 0; t < v; t++) {
        const char *s = keys_at(&idx->terms, (uint32_t)t);
        size_t n = search_codepoints(s, strlen(s), cp, SEARCH_MAX_TYPO_LEN);
        if (n == (size_t)-1 || !typo_word(cp, n)) continue;
        size_t ng = search_word_grams(cp, n, g);
        for (size_t i = 0; i < ng; i++) grams[o++] = (search_gram){g[i], (uint32_t)t};
    }
    qsort(grams, o, sizeof *grams, gram_cmp);
    core_free(idx->sorted);
    core_free(idx->grams);
    idx->sorted = sorted;
    idx->n_sorted = v;
    idx->grams = grams;
    idx->n_grams = o;
    idx->grams_upto = (uint32_t)v;
    return AISLE_OK;
}

static size_t gram_lower(const search_gram *g, size_t n, uint32_t key) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g[mid].gram < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Keeps the best `cap` candidates by (edits, -df). */
static void cand_push(const aisle_search_index *idx, uint32_t *cand, uint8_t *edits, size_t cap, size_t *n,
                      uint32_t term, int e) {
    size_t pos = *n;
    if (*n == cap) {
        /* replace the worst if the new one is better */
        size_t worst = 0;
        for (size_t i = 1; i < *n; i++)
            if (edits[i] > edits[worst] ||
                (edits[i] == edits[worst] && idx->post[cand[i]].df < idx->post[cand[worst]].df))
                worst = i;
        if (edits[worst] < e || (edits[worst] == e && idx->post[cand[worst]].df >= idx->post[term].df)) return;
        pos = worst;
    } else {
        (*n)++;
    }
    cand[pos] = term;
    edits[pos] = (uint8_t)e;
}

int search_typo_candidates(const aisle_search_index *idx, const char *word, size_t len, int max_edits,
                           uint32_t *cand, uint8_t *edits, size_t cap, size_t *n_out) {
    *n_out = 0;
    uint32_t q[SEARCH_MAX_TYPO_LEN], t[SEARCH_MAX_TYPO_LEN], g[SEARCH_MAX_TYPO_LEN];
    size_t nq = search_codepoints(word, len, q, SEARCH_MAX_TYPO_LEN);
    if (nq == (size_t)-1 || !typo_word(q, nq) || max_edits <= 0 || !cap) return AISLE_OK;
    int64_t self = keys_find(&idx->terms, word, len);
    size_t ng = search_word_grams(q, nq, g);
    /* gather the terms of every gram, sort, count shared grams */
    size_t total = 0;
    size_t lo[SEARCH_MAX_TYPO_LEN], hi[SEARCH_MAX_TYPO_LEN];
    for (size_t i = 0; i < ng; i++) {
        lo[i] = gram_lower(idx->grams, idx->n_grams, g[i]);
        hi[i] = lo[i];
        while (hi[i] < idx->n_grams && idx->grams[hi[i]].gram == g[i]) hi[i]++;
        total += hi[i] - lo[i];
    }
    int need = (int)ng - 4 * max_edits;
    if (need < 1) need = 1;
    uint32_t *all = total ? core_malloc(total * sizeof *all) : NULL;
    if (total && !all) return core_oom("typo candidates");
    size_t o = 0;
    for (size_t i = 0; i < ng; i++)
        for (size_t j = lo[i]; j < hi[i]; j++) all[o++] = idx->grams[j].term;
    if (o) qsort(all, o, sizeof *all, u32_cmp);
    for (size_t a = 0; a < o;) {
        size_t b = a + 1;
        while (b < o && all[b] == all[a]) b++;
        uint32_t term = all[a];
        if ((int)(b - a) >= need && (int64_t)term != self) {
            const char *s = keys_at(&idx->terms, term);
            size_t nt = search_codepoints(s, strlen(s), t, SEARCH_MAX_TYPO_LEN);
            if (nt != (size_t)-1) {
                int e = search_edit_distance(q, nq, t, nt, max_edits);
                if (e <= max_edits && idx->post[term].df) cand_push(idx, cand, edits, cap, n_out, term, e);
            }
        }
        a = b;
    }
    core_free(all);
    /* the tail of terms added since the helpers were built */
    for (size_t term = idx->grams_upto; term < idx->terms.n; term++) {
        if ((int64_t)term == self) continue;
        const char *s = keys_at(&idx->terms, (uint32_t)term);
        size_t nt = search_codepoints(s, strlen(s), t, SEARCH_MAX_TYPO_LEN);
        if (nt == (size_t)-1 || !typo_word(t, nt)) continue;
        int e = search_edit_distance(q, nq, t, nt, max_edits);
        if (e <= max_edits && idx->post[term].df) cand_push(idx, cand, edits, cap, n_out, (uint32_t)term, e);
    }
    return AISLE_OK;
}

static void prefix_push(const aisle_search_index *idx, uint32_t *cand, size_t cap, size_t *n, uint32_t term) {
    if (!idx->post[term].df) return;
    if (*n < cap) {
        cand[(*n)++] = term;
        return;
    }
    size_t worst = 0;
    for (size_t i = 1; i < *n; i++)
        if (idx->post[cand[i]].df < idx->post[cand[worst]].df) worst = i;
    if (idx->post[cand[worst]].df < idx->post[term].df) cand[worst] = term;
}

int search_prefix_candidates(const aisle_search_index *idx, const char *prefix, size_t len, uint32_t *cand,
                             size_t cap, size_t *n_out) {
    *n_out = 0;
    if (!len || !cap) return AISLE_OK;
    size_t lo = 0, hi = idx->n_sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = keys_at(&idx->terms, idx->sorted[mid]);
        if (strncmp(s, prefix, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    for (size_t i = lo; i < idx->n_sorted; i++) {
        uint32_t term = idx->sorted[i];
        const char *s = keys_at(&idx->terms, term);
        if (strncmp(s, prefix, len) != 0) break;
        if (s[len]) prefix_push(idx, cand, cap, n_out, term);
    }
    for (size_t term = idx->n_sorted; term < idx->terms.n; term++) {
        const char *s = keys_at(&idx->terms, (uint32_t)term);
        if (!strncmp(s, prefix, len) && s[len]) prefix_push(idx, cand, cap, n_out, (uint32_t)term);
    }
    return AISLE_OK;
}
