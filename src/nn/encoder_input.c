/* encoder_input.c - texts to the encoder's input: tokens (words and CJK
 * characters, from the features tokenizer) each with its hashed buckets,
 * fastText-style (Bojanowski et al. 2017): the token itself, the word
 * bigram ending at it, and every character n-gram of a word wrapped in
 * '<' '>'.  Each kind of feature hashes with its own seed, so "ab" the word
 * and "ab" the n-gram land in different buckets.  Nothing is rejected: a
 * text longer than max_len tokens is cut there (the tokenizer stops, so a
 * 1 MB message costs no more than its first words). */
#include "nn.h"

#include "features/features.h"

#include <string.h>

enum { SEED_WORD = 0x51ed1u, SEED_BIGRAM = 0x51ed2u, SEED_CHAR = 0x51ed3u };
#define STOP_TRUNCATED 1 /* tokenizer callback's "enough tokens" (not an error) */

void nn_feat_default(nn_feat_cfg *c) {
    c->buckets = 1u << 17;
    c->word_ngrams = 2;
    c->char_min = 3;
    c->char_max = 5;
    c->max_len = 64;
    c->keep_strings = false;
}

void nn_toks_init(nn_toks *t) { memset(t, 0, sizeof *t); }

void nn_toks_free(nn_toks *t) {
    if (!t) return;
    core_free(t->text_off);
    core_free(t->tok_off);
    core_free(t->ids);
    core_free(t->word);
    core_free(t->str);
    core_free(t->str_off);
    nn_toks_init(t);
}

void nn_toks_clear(nn_toks *t) {
    t->n_texts = t->n_tokens = t->n_ids = t->str_len = 0;
    if (t->text_off) t->text_off[0] = 0;
    if (t->tok_off) t->tok_off[0] = 0;
    if (t->str_off) t->str_off[0] = 0;
}

typedef struct feat_state {
    nn_toks *t;
    const nn_feat_cfg *c;
    char prev[FEAT_MAX_TOKEN];
    size_t prev_len;
    bool have_prev;
    size_t n_tok; /* tokens of this text so far */
    int rc;       /* allocation failure */
} feat_state;

static int push_id(feat_state *st, uint32_t h) {
    nn_toks *t = st->t;
    int rc = core_grow((void **)&t->ids, &t->ids_cap, t->n_ids + 1, sizeof *t->ids);
    if (rc) return rc;
    t->ids[t->n_ids++] = NN_ENC_SPECIAL + h % st->c->buckets;
    return AISLE_OK;
}

static int char_grams(feat_state *st, const char *tok, size_t len) {
    char w[FEAT_MAX_TOKEN + 2];
    size_t starts[FEAT_MAX_TOKEN + 3];
    w[0] = '<';
    memcpy(w + 1, tok, len);
    w[len + 1] = '>';
    size_t wl = len + 2, nc = 0;
    for (size_t p = 0; p < wl;) {
        uint32_t cp;
        size_t k = feat_utf8_decode((const unsigned char *)w + p, wl - p, &cp);
        starts[nc++] = p;
        p += k ? k : 1;
    }
    starts[nc] = wl;
    int lo = st->c->char_min < 2 ? 2 : st->c->char_min, hi = st->c->char_max;
    for (size_t i = 0; i < nc; i++)
        for (int n = lo; n <= hi && i + (size_t)n <= nc; n++) {
            /* the whole wrapped word duplicates the unigram */
            if (i == 0 && i + (size_t)n == nc) continue;
            int rc = push_id(st, feat_hash32(w + starts[i], starts[i + (size_t)n] - starts[i], SEED_CHAR));
            if (rc) return rc;
        }
    return AISLE_OK;
}

static int on_token(void *ctx, const char *tok, size_t len, int kind) {
    feat_state *st = ctx;
    nn_toks *t = st->t;
    if (kind == FEAT_TOK_BIGRAM) return 0; /* our own bigram bucket covers CJK pairs */
    if (st->n_tok >= st->c->max_len) return STOP_TRUNCATED;
    int rc = core_grow((void **)&t->tok_off, &t->tokens_cap, t->n_tokens + 2, sizeof *t->tok_off);
    if (!rc) rc = core_grow((void **)&t->word, &t->word_cap, t->n_tokens + 1, sizeof *t->word);
    if (rc) goto fail;
    uint32_t h = feat_hash32(tok, len, SEED_WORD);
    t->word[t->n_tokens] = h;
    if ((rc = push_id(st, h))) goto fail;
    if (st->c->word_ngrams >= 2 && st->have_prev) {
        char buf[2 * FEAT_MAX_TOKEN + 1];
        memcpy(buf, st->prev, st->prev_len);
        buf[st->prev_len] = ' ';
        memcpy(buf + st->prev_len + 1, tok, len);
        if ((rc = push_id(st, feat_hash32(buf, st->prev_len + 1 + len, SEED_BIGRAM)))) goto fail;
    }
    if (kind == FEAT_TOK_WORD && st->c->char_max > 0 && (rc = char_grams(st, tok, len))) goto fail;
    if (st->c->keep_strings) {
        rc = core_grow((void **)&t->str, &t->str_cap, t->str_len + len + 1, 1);
        if (!rc) rc = core_grow((void **)&t->str_off, &t->str_off_cap, t->n_tokens + 2, sizeof *t->str_off);
        if (rc) goto fail;
        memcpy(t->str + t->str_len, tok, len);
        t->str_len += len;
        t->str_off[t->n_tokens + 1] = t->str_len;
    }
    size_t keep = len < sizeof st->prev ? len : sizeof st->prev;
    memcpy(st->prev, tok, keep);
    st->prev_len = keep;
    st->have_prev = true;
    t->n_tokens++;
    t->tok_off[t->n_tokens] = t->n_ids;
    st->n_tok++;
    return 0;
fail:
    st->rc = rc;
    return rc;
}

int nn_toks_add(nn_toks *t, const nn_feat_cfg *c, const char *text, size_t len) {
    if (c->buckets == 0) return core_error(AISLE_EINVAL, "text encoder: buckets must be > 0");
    int rc = core_grow((void **)&t->text_off, &t->texts_cap, t->n_texts + 2, sizeof *t->text_off);
    if (!rc) rc = core_grow((void **)&t->tok_off, &t->tokens_cap, t->n_tokens + 2, sizeof *t->tok_off);
    if (!rc && c->keep_strings) rc = core_grow((void **)&t->str_off, &t->str_off_cap, t->n_tokens + 2, sizeof *t->str_off);
    if (rc) return rc;
    if (t->n_texts == 0) {
        t->text_off[0] = 0;
        t->tok_off[0] = 0;
        if (t->str_off) t->str_off[0] = 0;
    }
    size_t n_tokens = t->n_tokens, n_ids = t->n_ids, str_len = t->str_len;
    feat_tok_cfg tc;
    feat_tok_default(&tc);
    tc.cjk_bigrams = false;
    feat_state st = {.t = t, .c = c};
    if (len) {
        rc = feat_tokenize(&tc, text ? text : "", text ? len : 0, on_token, &st);
        if (rc == STOP_TRUNCATED) rc = AISLE_OK;
        if (st.rc) rc = st.rc;
    }
    if (rc) {
        t->n_tokens = n_tokens;
        t->n_ids = n_ids;
        t->str_len = str_len;
        return rc;
    }
    t->n_texts++;
    t->text_off[t->n_texts] = t->n_tokens;
    return AISLE_OK;
}
