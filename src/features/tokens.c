/* tokens.c - public tokenizer and token-list handles. */
#include "features.h"

#include <string.h>

struct aisle_tokenizer {
    feat_tok_cfg cfg;
    core_keys stop;
};

struct aisle_tokens {
    core_buf text;     /* tokens, each NUL-terminated */
    size_t *off;       /* token i starts at text.data + off[i] */
    uint32_t *len;
    unsigned char *kind;
    size_t n, cap;
};

AISLE_API int aisle_tokenizer_new(aisle_tokenizer **out, const aisle_config *cfg) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_tokenizer_new: out is NULL");
    aisle_tokenizer *t = core_calloc(1, sizeof *t);
    if (!t) return core_oom("tokenizer");
    keys_init(&t->stop);
    int rc = feat_tok_configure(&t->cfg, &t->stop, cfg);
    if (rc) {
        core_free(t);
        return rc;
    }
    *out = t;
    return AISLE_OK;
}

AISLE_API void aisle_tokenizer_free(aisle_tokenizer *tok) {
    if (!tok) return;
    keys_clear(&tok->stop);
    core_free(tok);
}

AISLE_API int aisle_tokenizer_add_stop_words(aisle_tokenizer *tok, const char *const *words, size_t n) {
    if (!tok || (!words && n))
        return core_error(AISLE_EINVAL, "aisle_tokenizer_add_stop_words: NULL %s", tok ? "words" : "tok");
    return feat_stop_add(&tok->stop, tok->cfg.lowercase, words, n);
}

const feat_tok_cfg *feat_tokenizer_cfg(const aisle_tokenizer *tok) { return &tok->cfg; }

static int tokens_push(void *ctx, const char *tok, size_t len, int kind) {
    aisle_tokens *t = ctx;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        size_t *off = core_reallocarray(t->off, cap, sizeof *off);
        if (!off) return core_oom("token list");
        t->off = off;
        uint32_t *ln = core_reallocarray(t->len, cap, sizeof *ln);
        if (!ln) return core_oom("token list");
        t->len = ln;
        unsigned char *k = core_reallocarray(t->kind, cap, 1);
        if (!k) return core_oom("token list");
        t->kind = k;
        t->cap = cap;
    }
    size_t at = t->text.len;
    if (buf_reserve(&t->text, len + 1)) return core_oom("token text");
    memcpy(t->text.data + at, tok, len);
    t->text.data[at + len] = '\0';
    t->text.len += len + 1;
    t->off[t->n] = at;
    t->len[t->n] = (uint32_t)len;
    t->kind[t->n] = (unsigned char)kind;
    t->n++;
    return 0;
}

int feat_tokens_new(aisle_tokens **out) {
    aisle_tokens *t = core_calloc(1, sizeof *t);
    if (!t) return core_oom("token list");
    buf_init(&t->text);
    *out = t;
    return AISLE_OK;
}

int feat_tokens_push(aisle_tokens *t, const char *tok, size_t len, int kind) {
    return tokens_push(t, tok, len, kind);
}

AISLE_API void aisle_tokens_free(aisle_tokens *t) {
    if (!t) return;
    buf_free(&t->text);
    core_free(t->off);
    core_free(t->len);
    core_free(t->kind);
    core_free(t);
}

AISLE_API int aisle_tokenizer_tokenize(const aisle_tokenizer *tok, const char *text, size_t len,
                                       aisle_tokens **out) {
    if (!tok || !out || (!text && len && len != AISLE_NUL_TERMINATED))
        return core_error(AISLE_EINVAL, "aisle_tokenizer_tokenize: NULL %s", !tok ? "tok" : !out ? "out" : "text");
    len = feat_text_len(text, len);
    aisle_tokens *t = NULL;
    int rc = feat_tokens_new(&t);
    if (rc) return rc;
    if (len) rc = feat_tokenize(&tok->cfg, text, len, tokens_push, t);
    if (rc) {
        aisle_tokens_free(t);
        return rc;
    }
    *out = t;
    return AISLE_OK;
}

typedef struct each_ctx {
    aisle_token_fn fn;
    void *user;
} each_ctx;

static int each_one(void *ctx, const char *tok, size_t len, int kind) {
    each_ctx *e = ctx;
    char buf[FEAT_MAX_TOKEN + 1];
    memcpy(buf, tok, len);
    buf[len] = '\0';
    if (e->fn(e->user, buf, len, kind))
        return core_error(AISLE_ECANCELLED, "tokenizing cancelled by the callback at token '%s'", buf);
    return 0;
}

AISLE_API int aisle_tokenizer_each(const aisle_tokenizer *tok, const char *text, size_t len,
                                   aisle_token_fn fn, void *user) {
    if (!tok || !fn || (!text && len && len != AISLE_NUL_TERMINATED))
        return core_error(AISLE_EINVAL, "aisle_tokenizer_each: NULL %s", !tok ? "tok" : !fn ? "fn" : "text");
    len = feat_text_len(text, len);
    each_ctx e = {fn, user};
    return len ? feat_tokenize(&tok->cfg, text, len, each_one, &e) : AISLE_OK;
}

AISLE_API int aisle_tokens_count(const aisle_tokens *t, size_t *out) {
    if (!t || !out) return core_error(AISLE_EINVAL, "aisle_tokens_count: NULL %s", t ? "out" : "tokens");
    *out = t->n;
    return AISLE_OK;
}

AISLE_API int aisle_tokens_get(const aisle_tokens *t, size_t i, const char **text, size_t *len) {
    if (!t || !text) return core_error(AISLE_EINVAL, "aisle_tokens_get: NULL %s", t ? "text" : "tokens");
    if (i >= t->n) return core_error(AISLE_ERANGE, "aisle_tokens_get: index %zu out of range [0, %zu)", i, t->n);
    *text = t->text.data + t->off[i];
    if (len) *len = t->len[i];
    return AISLE_OK;
}

AISLE_API int aisle_tokens_kind(const aisle_tokens *t, size_t i, int *kind) {
    if (!t || !kind) return core_error(AISLE_EINVAL, "aisle_tokens_kind: NULL %s", t ? "kind" : "tokens");
    if (i >= t->n) return core_error(AISLE_ERANGE, "aisle_tokens_kind: index %zu out of range [0, %zu)", i, t->n);
    *kind = t->kind[i];
    return AISLE_OK;
}
