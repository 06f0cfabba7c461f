/* ngram.c - feature strings of a text: tokens, word n-grams and
 * fastText-style character n-grams (Bojanowski et al. 2017, "Enriching
 * Word Vectors with Subword Information": each word is wrapped in '<' '>'
 * and every substring of n characters, min <= n <= max, is a feature).
 * Everything happens in fixed buffers: no allocation. */
#include "features.h"

#include <string.h>

#define MAX_WORD_N 5

typedef struct gram_state {
    const feat_gram_cfg *g;
    feat_token_fn fn;
    void *ctx;
    /* ring of the last word_ngrams-1 units (words and CJK characters) */
    char units[MAX_WORD_N - 1][FEAT_MAX_TOKEN + 1];
    size_t ulen[MAX_WORD_N - 1];
    size_t nunits; /* units seen so far */
} gram_state;

static int char_grams(gram_state *st, const char *tok, size_t len) {
    char w[FEAT_MAX_TOKEN + 3];
    size_t starts[FEAT_MAX_TOKEN + 3]; /* byte offset of each character, plus the end */
    w[0] = '<';
    memcpy(w + 1, tok, len);
    w[len + 1] = '>';
    size_t wl = len + 2, nc = 0;
    for (size_t p = 0; p < wl;) {
        uint32_t cp;
        size_t k = feat_utf8_decode((const unsigned char *)w + p, wl - p, &cp);
        if (!k) k = 1; /* tokens are valid UTF-8; stay safe anyway */
        starts[nc++] = p;
        p += k;
    }
    starts[nc] = wl;
    int lo = st->g->char_min, hi = st->g->char_max;
    for (size_t i = 0; i < nc; i++) {
        for (int n = lo; n <= hi && i + (size_t)n <= nc; n++) {
            /* a lone boundary marker carries no information */
            if (n == 1 && (i == 0 || i == nc - 1)) continue;
            int rc = st->fn(st->ctx, w + starts[i], starts[i + (size_t)n] - starts[i], FEAT_GRAM_CHAR);
            if (rc) return rc;
        }
    }
    return 0;
}

static int on_token(void *ctx, const char *tok, size_t len, int kind) {
    gram_state *st = ctx;
    int rc = st->fn(st->ctx, tok, len, kind);
    if (rc || kind == FEAT_TOK_BIGRAM) return rc;
    int N = st->g->word_ngrams;
    if (N > 1) {
        char buf[MAX_WORD_N * (FEAT_MAX_TOKEN + 1)];
        size_t keep = (size_t)N - 1;
        /* n-grams ending at this unit: previous n-1 units + this one */
        for (size_t n = 2; n <= (size_t)N && n - 1 <= st->nunits; n++) {
            size_t o = 0;
            for (size_t j = n - 1; j >= 1; j--) {
                size_t slot = (st->nunits - j) % keep;
                memcpy(buf + o, st->units[slot], st->ulen[slot]);
                o += st->ulen[slot];
                buf[o++] = ' ';
            }
            memcpy(buf + o, tok, len);
            rc = st->fn(st->ctx, buf, o + len, FEAT_GRAM_WORD);
            if (rc) return rc;
        }
        size_t slot = st->nunits % keep;
        memcpy(st->units[slot], tok, len);
        st->ulen[slot] = len;
    }
    st->nunits++;
    if (kind == FEAT_TOK_WORD && st->g->char_max > 0) return char_grams(st, tok, len);
    return 0;
}

int feat_features(const feat_tok_cfg *tc, const feat_gram_cfg *gc, const char *text, size_t len,
                  feat_token_fn fn, void *ctx) {
    gram_state st;
    st.g = gc;
    st.fn = fn;
    st.ctx = ctx;
    st.nunits = 0;
    return feat_tokenize(tc, text, len, on_token, &st);
}

int feat_gram_configure(feat_gram_cfg *g, const aisle_config *cfg) {
    g->word_ngrams = (int)config_int(cfg, features_options, "word_ngrams");
    g->char_min = (int)config_int(cfg, features_options, "char_ngram_min");
    g->char_max = (int)config_int(cfg, features_options, "char_ngram_max");
    if (g->word_ngrams < 1 || g->word_ngrams > MAX_WORD_N)
        return core_error(AISLE_ERANGE, "option word_ngrams = %d: must be in [1, %d]", g->word_ngrams, MAX_WORD_N);
    if (g->char_max > 0 || g->char_min > 0) {
        if (g->char_min > g->char_max)
            return core_error(AISLE_EINVAL, "options char_ngram_min = %d and char_ngram_max = %d: the maximum must be "
                              ">= the minimum (set both to 0 for no character n-grams)", g->char_min, g->char_max);
        if (g->char_min < 1) g->char_min = 1;
    }
    return AISLE_OK;
}
