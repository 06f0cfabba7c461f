/* features.c - hashed token features of a text, grouped by token (see
 * text.h): unigram, the word bigram ending at the token, and the
 * fastText character n-grams of words (Bojanowski et al. 2017); with
 * word_ngrams = 3 also the word trigram ending at the token.
 *
 * Hashing needs no strings: a bigram's id hashes the current token with
 * the previous token's hash as the seed, and character n-grams are slices
 * of the '<word>' buffer.  Each feature family has its own seed so a word
 * and an n-gram of the same spelling land in different buckets.
 *
 * CJK: the tokenizer emits each character as a token and, after a run,
 * the run's bigrams.  With word_ngrams = 2 the bigram ending at each
 * character is already one of that character's features, so the
 * tokenizer's separate bigram tokens are dropped (each position is then
 * one character); with word_ngrams = 1 they are kept as tokens of their
 * own. */
#include "text.h"

#include <string.h>

enum {
    SEED_UNIGRAM = 0x2545f491u,
    SEED_BIGRAM = 0x9e3779b9u,
    SEED_TRIGRAM = 0x85ebca6bu,
    SEED_CHAR = 0x7f4a7c15u
};

void text_doc_init(text_doc *d) {
    memset(d, 0, sizeof *d);
    buf_init(&d->tok_text);
}

void text_doc_free(text_doc *d) {
    if (!d) return;
    core_free(d->ids);
    core_free(d->first);
    core_free(d->tok_off);
    buf_free(&d->tok_text);
    memset(d, 0, sizeof *d);
}

int text_feat_configure(text_feat_cfg *c, const aisle_config *cfg) {
    memset(c, 0, sizeof *c);
    feat_tok_default(&c->tok);
    c->tok.lowercase = config_bool(cfg, text_options, "lowercase");
    c->tok.cjk_bigrams = config_bool(cfg, text_options, "cjk_bigrams");
    c->word_ngrams = (int)config_int(cfg, text_options, "word_ngrams");
    c->char_min = (int)config_int(cfg, text_options, "char_ngram_min");
    c->char_max = (int)config_int(cfg, text_options, "char_ngram_max");
    c->buckets = (uint32_t)config_int(cfg, text_options, "hash_buckets");
    c->max_tokens = (uint32_t)config_int(cfg, text_options, "max_tokens");
    if (c->char_max > 0 || c->char_min > 0) {
        if (c->char_min > c->char_max)
            return core_error(AISLE_EINVAL, "options char_ngram_min = %d and char_ngram_max = %d: the maximum must be "
                              ">= the minimum (set both to 0 for no character n-grams)", c->char_min, c->char_max);
        if (c->char_min < 1) c->char_min = 1;
    }
    return AISLE_OK;
}

typedef struct feat_ctx {
    const text_feat_cfg *c;
    text_doc *d;
    uint32_t prev_hash;  /* unigram hash of the previous word / CJK character */
    uint32_t prev_bigram; /* hash of the bigram ending at the previous one */
    bool have_prev, have_prev_bigram, prev_cjk;
} feat_ctx;

enum { STOP_TRUNCATED = 1 };

static inline int push_id(text_doc *d, uint32_t id) {
    if (CORE_UNLIKELY(d->n_ids == d->ids_cap)) {
        int rc = core_grow((void **)&d->ids, &d->ids_cap, d->n_ids + 1, sizeof *d->ids);
        if (rc) return rc;
    }
    d->ids[d->n_ids++] = id;
    return AISLE_OK;
}

static int char_grams(feat_ctx *x, const char *tok, size_t len) {
    char w[FEAT_MAX_TOKEN + 3];
    uint16_t starts[FEAT_MAX_TOKEN + 3];
    w[0] = '<';
    memcpy(w + 1, tok, len);
    w[len + 1] = '>';
    size_t wl = len + 2, nc = 0;
    for (size_t p = 0; p < wl;) {
        starts[nc++] = (uint16_t)p;
        unsigned char b = (unsigned char)w[p];
        /* tokens are valid UTF-8: the lead byte gives the length */
        p += b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    }
    starts[nc] = (uint16_t)wl;
    uint32_t buckets = x->c->buckets;
    for (size_t i = 0; i < nc; i++) {
        for (int n = x->c->char_min; n <= x->c->char_max && i + (size_t)n <= nc; n++) {
            /* a lone boundary marker or the whole '<word>' carry nothing new */
            if (n == 1 && (i == 0 || i == nc - 1)) continue;
            if (i == 0 && i + (size_t)n == nc) continue;
            uint32_t h = feat_hash32(w + starts[i], (size_t)(starts[i + (size_t)n] - starts[i]), SEED_CHAR);
            int rc = push_id(x->d, h % buckets);
            if (rc) return rc;
        }
    }
    return AISLE_OK;
}

static int on_token(void *vx, const char *tok, size_t len, int kind) {
    feat_ctx *x = vx;
    text_doc *d = x->d;
    const text_feat_cfg *c = x->c;
    if (kind == FEAT_TOK_BIGRAM && c->word_ngrams >= 2) return 0;
    if (d->n_tokens >= c->max_tokens) {
        d->truncated = true;
        return STOP_TRUNCATED;
    }
    if (CORE_UNLIKELY(d->n_tokens + 2 > d->first_cap)) {
        int rc = core_grow((void **)&d->first, &d->first_cap, d->n_tokens + 2, sizeof *d->first);
        if (rc) return rc;
    }
    if (d->keep_text) {
        if (d->n_tokens + 1 > d->tok_off_cap) {
            int rc = core_grow((void **)&d->tok_off, &d->tok_off_cap, d->n_tokens + 1, sizeof *d->tok_off);
            if (rc) return rc;
        }
        d->tok_off[d->n_tokens] = d->tok_text.len;
        int rc = buf_reserve(&d->tok_text, len + 1);
        if (rc) return rc;
        buf_append(&d->tok_text, tok, len);
        buf_append(&d->tok_text, "", 1);
    }
    d->first[d->n_tokens] = d->n_ids;
    uint32_t h = feat_hash32(tok, len, SEED_UNIGRAM);
    int rc = push_id(d, h % c->buckets);
    if (rc) return rc;
    if (kind != FEAT_TOK_BIGRAM) {
        bool cjk = kind == FEAT_TOK_CJK;
        uint32_t bigram = 0;
        if (c->word_ngrams >= 2 && x->have_prev) {
            bigram = feat_hash32(tok, len, x->prev_hash ^ SEED_BIGRAM);
            rc = push_id(d, bigram % c->buckets);
            if (rc) return rc;
        }
        /* the trigram chains this token onto the previous bigram's hash */
        if (c->word_ngrams >= 3 && x->have_prev_bigram) {
            rc = push_id(d, feat_hash32(tok, len, x->prev_bigram ^ SEED_TRIGRAM) % c->buckets);
            if (rc) return rc;
        }
        x->have_prev_bigram = c->word_ngrams >= 2 && x->have_prev;
        x->prev_bigram = bigram;
        x->prev_hash = h;
        x->have_prev = true;
        x->prev_cjk = cjk;
        if (kind == FEAT_TOK_WORD && c->char_max > 0 && (rc = char_grams(x, tok, len))) return rc;
    }
    d->n_tokens++;
    d->first[d->n_tokens] = d->n_ids;
    return 0;
}

int text_featurize(const text_feat_cfg *c, const char *text, size_t len, text_doc *d) {
    d->n_ids = 0;
    d->n_tokens = 0;
    d->truncated = false;
    d->tok_text.len = 0;
    if (!d->first_cap) {
        int rc = core_grow((void **)&d->first, &d->first_cap, 16, sizeof *d->first);
        if (rc) return rc;
    }
    d->first[0] = 0;
    feat_ctx x = {c, d, 0, 0, false, false, false};
    int rc = feat_tokenize(&c->tok, text ? text : "", len, on_token, &x);
    if (rc == STOP_TRUNCATED) rc = AISLE_OK;
    if (rc) {
        d->n_ids = 0;
        d->n_tokens = 0;
        d->first[0] = 0;
    }
    return rc;
}

/* ---- packed training sets ---- */

void text_set_free(text_set *s) {
    if (!s) return;
    core_free(s->doc_first);
    core_free(s->tok_first);
    core_free(s->ids);
    core_free(s->label);
    core_free(s->soft);
    memset(s, 0, sizeof *s);
}

int text_set_build(const text_feat_cfg *c, const aisle_texts *t, text_set *s) {
    memset(s, 0, sizeof *s);
    s->n_docs = t->n;
    s->n_labels = (uint32_t)t->labels.n;
    s->buckets = c->buckets;
    s->doc_first = core_malloc((t->n + 1) * sizeof *s->doc_first);
    s->label = core_malloc((t->n ? t->n : 1) * sizeof *s->label);
    size_t tok_cap = 0, ids_cap = 0;
    text_doc d;
    text_doc_init(&d);
    int rc = !s->doc_first || !s->label ? core_oom("text features") : AISLE_OK;
    if (!rc) rc = core_grow((void **)&s->tok_first, &tok_cap, 1, sizeof *s->tok_first);
    if (!rc) s->doc_first[0] = 0, s->tok_first[0] = 0;
    for (size_t i = 0; i < t->n && !rc; i++) {
        rc = text_featurize(c, text_at(t, i), t->len[i], &d);
        if (rc) break;
        size_t nt = s->n_tokens_total + d.n_tokens, ni = s->n_ids + d.n_ids;
        rc = core_grow((void **)&s->tok_first, &tok_cap, nt + 1, sizeof *s->tok_first);
        if (!rc && d.n_ids) rc = core_grow((void **)&s->ids, &ids_cap, ni, sizeof *s->ids);
        if (rc) break;
        for (size_t k = 1; k <= d.n_tokens; k++) s->tok_first[s->n_tokens_total + k] = s->n_ids + d.first[k];
        if (d.n_ids) memcpy(s->ids + s->n_ids, d.ids, d.n_ids * sizeof *d.ids);
        s->n_tokens_total = nt;
        s->n_ids = ni;
        s->doc_first[i + 1] = nt;
        s->label[i] = t->label[i];
    }
    text_doc_free(&d);
    if (rc) text_set_free(s);
    return rc;
}

int text_set_raw(const aisle_texts *t, text_set *s) {
    memset(s, 0, sizeof *s);
    s->n_docs = t->n;
    s->n_labels = (uint32_t)t->labels.n;
    s->texts = t;
    s->label = core_malloc((t->n ? t->n : 1) * sizeof *s->label);
    if (!s->label) return core_oom("text labels");
    if (t->n) memcpy(s->label, t->label, t->n * sizeof *s->label);
    return AISLE_OK;
}
