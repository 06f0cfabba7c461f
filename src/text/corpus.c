/* corpus.c - labelled texts: the aisle_texts handle, adding texts, the
 * seeded stratified split.  Texts live NUL-terminated in one arena so a
 * corpus of a million chat messages is a few allocations. */
#include "text.h"

#include <math.h>
#include <string.h>

AISLE_API int aisle_texts_new(aisle_texts **out) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_texts_new: out is NULL");
    aisle_texts *t = core_calloc(1, sizeof *t);
    if (!t) return core_oom("labelled texts");
    buf_init(&t->arena);
    keys_init(&t->labels);
    *out = t;
    return AISLE_OK;
}

AISLE_API void aisle_texts_free(aisle_texts *t) {
    if (!t) return;
    buf_free(&t->arena);
    core_free(t->off);
    core_free(t->len);
    core_free(t->label);
    keys_clear(&t->labels);
    data_report_clear(&t->report);
    core_free(t);
}

static int reserve_rows(aisle_texts *t, size_t need) {
    if (need <= t->cap) return AISLE_OK;
    size_t c1 = t->cap, c2 = t->cap, c3 = t->cap;
    int rc = core_grow((void **)&t->off, &c1, need, sizeof *t->off);
    if (!rc) rc = core_grow((void **)&t->len, &c2, need, sizeof *t->len);
    if (!rc) rc = core_grow((void **)&t->label, &c3, need, sizeof *t->label);
    if (rc) return rc;
    t->cap = CORE_MIN(c1, CORE_MIN(c2, c3));
    return AISLE_OK;
}

int text_corpus_add(aisle_texts *t, const char *text, size_t len, const char *label, size_t label_len) {
    if (len > UINT32_MAX - 1) return core_error(AISLE_ERANGE, "text of %zu bytes is longer than 4 GiB", len);
    if (label_len && memchr(label, '\0', label_len)) return core_error(AISLE_EINVAL, "label holds a NUL byte");
    size_t bad = data_utf8_check(label, label_len);
    if (bad < label_len) return core_error(AISLE_EINVAL, "label is not valid UTF-8 (byte %zu)", bad + 1);
    if (len && memchr(text, '\0', len)) return core_error(AISLE_EINVAL, "text holds a NUL byte");
    bad = data_utf8_check(text, len);
    if (bad < len)
        return core_error(AISLE_EINVAL, "text is not valid UTF-8 (byte 0x%02x at byte %zu)", (unsigned char)text[bad],
                          bad + 1);
    int rc = reserve_rows(t, t->n + 1);
    if (rc) return rc;
    size_t n_labels = t->labels.n, arena_len = t->arena.len;
    uint32_t li;
    rc = keys_intern(&t->labels, label, label_len, &li, NULL);
    if (rc) return rc;
    rc = buf_reserve(&t->arena, len + 1);
    if (rc) {
        keys_truncate(&t->labels, n_labels);
        return rc;
    }
    buf_append(&t->arena, text, len);
    buf_append(&t->arena, "", 1);
    t->off[t->n] = arena_len;
    t->len[t->n] = (uint32_t)len;
    t->label[t->n] = li;
    t->n++;
    return AISLE_OK;
}

AISLE_API int aisle_texts_add(aisle_texts *t, const char *text, size_t len, const char *label) {
    if (!t || (!text && len && len != AISLE_NUL_TERMINATED) || !label)
        return core_error(AISLE_EINVAL, "aisle_texts_add: NULL argument");
    len = feat_text_len(text, len);
    if (!label[0]) return core_error(AISLE_EINVAL, "aisle_texts_add (text %zu): empty label", t->n + 1);
    int rc = text_corpus_add(t, text ? text : "", len, label, strlen(label));
    if (rc) return core_error_prefix(rc, "aisle_texts_add (text %zu)", t->n + 1);
    return AISLE_OK;
}

AISLE_API int aisle_texts_count(const aisle_texts *t, size_t *out) {
    if (!t || !out) return core_error(AISLE_EINVAL, "aisle_texts_count: NULL argument");
    *out = t->n;
    return AISLE_OK;
}

AISLE_API int aisle_texts_label_count(const aisle_texts *t, size_t *out) {
    if (!t || !out) return core_error(AISLE_EINVAL, "aisle_texts_label_count: NULL argument");
    *out = t->labels.n;
    return AISLE_OK;
}

AISLE_API int aisle_texts_at(const aisle_texts *t, size_t index, const char **text, const char **label) {
    if (!t) return core_error(AISLE_EINVAL, "aisle_texts_at: NULL texts");
    if (index >= t->n) return core_error(AISLE_ERANGE, "text index %zu out of range [0, %zu)", index, t->n);
    if (text) *text = text_at(t, index);
    if (label) *label = keys_at(&t->labels, t->label[index]);
    return AISLE_OK;
}

int text_corpus_new_like(const aisle_texts *t, aisle_texts **out) {
    aisle_texts *c;
    int rc = aisle_texts_new(&c);
    if (rc) return rc;
    rc = keys_copy(&c->labels, &t->labels);
    if (rc) {
        aisle_texts_free(c);
        return rc;
    }
    *out = c;
    return AISLE_OK;
}

static int copy_row(aisle_texts *dst, const aisle_texts *src, size_t i) {
    const char *lab = keys_at(&src->labels, src->label[i]);
    return text_corpus_add(dst, text_at(src, i), src->len[i], lab, strlen(lab));
}

int text_corpus_split(const aisle_texts *t, double test_fraction, uint64_t seed, aisle_texts **train,
                      aisle_texts **test) {
    *train = *test = NULL;
    size_t nl = t->labels.n;
    size_t *count = core_calloc(nl + 1, sizeof *count);  /* per label, then prefix offsets */
    size_t *start = core_calloc(nl + 1, sizeof *start);
    uint32_t *order = core_malloc((t->n ? t->n : 1) * sizeof *order);
    uint8_t *is_test = core_calloc(t->n ? t->n : 1, 1);
    aisle_texts *a = NULL, *b = NULL;
    int rc = !count || !start || !order || !is_test ? core_oom("text split") : AISLE_OK;
    if (!rc) rc = text_corpus_new_like(t, &a);
    if (!rc) rc = text_corpus_new_like(t, &b);
    if (!rc) {
        /* rows grouped by label, each group in a seeded random order */
        for (size_t i = 0; i < t->n; i++) count[t->label[i]]++;
        for (size_t l = 0; l < nl; l++) start[l + 1] = start[l] + count[l];
        memset(count, 0, (nl + 1) * sizeof *count);
        for (size_t i = 0; i < t->n; i++) order[start[t->label[i]] + count[t->label[i]]++] = (uint32_t)i;
        core_rng rng;
        rng_seed(&rng, seed);
        for (size_t l = 0; l < nl; l++) {
            size_t c = count[l];
            rng_shuffle_u32(&rng, order + start[l], c);
            size_t k = (size_t)llround(test_fraction * (double)c);
            if (c >= 2 && test_fraction > 0 && k == 0) k = 1;
            if (k >= c) k = c >= 2 ? c - 1 : 0; /* every label keeps a training text */
            for (size_t j = 0; j < k; j++) is_test[order[start[l] + j]] = 1;
        }
        /* both parts keep the original row order */
        for (size_t i = 0; i < t->n && !rc; i++) rc = copy_row(is_test[i] ? b : a, t, i);
    }
    core_free(count);
    core_free(start);
    core_free(order);
    core_free(is_test);
    if (rc) {
        aisle_texts_free(a);
        aisle_texts_free(b);
        return rc;
    }
    *train = a;
    *test = b;
    return AISLE_OK;
}

AISLE_API int aisle_texts_split(const aisle_texts *t, double test_fraction, uint64_t seed, aisle_texts **train,
                                aisle_texts **test) {
    if (!t || !train || !test) return core_error(AISLE_EINVAL, "aisle_texts_split: NULL argument");
    if (!(test_fraction >= 0 && test_fraction < 1))
        return core_error(AISLE_ERANGE, "aisle_texts_split: test_fraction %g outside [0, 1)", test_fraction);
    return text_corpus_split(t, test_fraction, seed, train, test);
}
