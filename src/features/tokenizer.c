/* tokenizer.c - the UTF-8 tokenizer and the public tokenizer / token-list
 * handles.  Rules (docs/FEATURES.md): words are maximal runs of letters,
 * digits and marks; '.' or ',' between two digits stays inside the word
 * ("2.4ghz", "1,299.00"); everything else separates.  CJK characters are
 * tokens of their own, followed by the bigrams of each run of adjacent CJK
 * characters.  Invalid UTF-8 bytes are skipped and act as separators. */
#include "features.h"

#include <string.h>

void feat_tok_default(feat_tok_cfg *c) {
    c->lowercase = true;
    c->cjk_bigrams = true;
    c->min_token_len = 1;
    c->stop = NULL;
}

typedef struct tok_state {
    const feat_tok_cfg *c;
    feat_token_fn fn;
    void *ctx;
    char word[FEAT_MAX_TOKEN + 1];
    size_t wlen;    /* bytes in word */
    int wchars;     /* characters in word */
    bool full;      /* word reached FEAT_MAX_TOKEN: later characters dropped */
    bool last_digit;
} tok_state;

static int emit(tok_state *st, const char *tok, size_t len, int kind) {
    if (st->c->stop && st->c->stop->n && keys_find(st->c->stop, tok, len) >= 0) return 0;
    return st->fn(st->ctx, tok, len, kind);
}

static int flush_word(tok_state *st) {
    int rc = 0;
    if (st->wlen && st->wchars >= st->c->min_token_len) rc = emit(st, st->word, st->wlen, FEAT_TOK_WORD);
    st->wlen = 0;
    st->wchars = 0;
    st->full = false;
    st->last_digit = false;
    return rc;
}

static void push_char(tok_state *st, uint32_t cp) {
    char enc[4];
    size_t n = feat_utf8_encode(cp, enc);
    if (st->full || st->wlen + n > FEAT_MAX_TOKEN) {
        st->full = true;
        return;
    }
    memcpy(st->word + st->wlen, enc, n);
    st->wlen += n;
    st->wchars++;
}

/* Bigrams of the CJK run text[start, end): adjacent characters are adjacent
 * bytes, so a bigram is a slice of the input. */
static int flush_bigrams(tok_state *st, const unsigned char *s, size_t start, size_t end) {
    uint32_t cp;
    size_t prev = start, p = start + feat_utf8_decode(s + start, end - start, &cp);
    while (p < end) {
        size_t n = feat_utf8_decode(s + p, end - p, &cp);
        int rc = emit(st, (const char *)s + prev, p + n - prev, FEAT_TOK_BIGRAM);
        if (rc) return rc;
        prev = p;
        p += n;
    }
    return 0;
}

/* The code point at s[pos] after width folding, or -1 (invalid / end). */
static int64_t peek(const unsigned char *s, size_t len, size_t pos) {
    uint32_t cp;
    if (pos >= len || !feat_utf8_decode(s + pos, len - pos, &cp)) return -1;
    return feat_fold_width(cp);
}

int feat_tokenize(const feat_tok_cfg *c, const char *text, size_t len, feat_token_fn fn, void *ctx) {
    tok_state st;
    st.c = c;
    st.fn = fn;
    st.ctx = ctx;
    st.wlen = 0;
    st.wchars = 0;
    st.full = false;
    st.last_digit = false;
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = 0, run_start = 0, run_chars = 0;
    int rc = 0;
    while (pos < len && !rc) {
        unsigned char b = s[pos];
        /* fast path: ASCII letters and digits outside a CJK run */
        if (!run_chars && ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9'))) {
            if (!st.full && st.wlen < FEAT_MAX_TOKEN) {
                st.word[st.wlen++] = (char)(c->lowercase && b <= 'Z' && b >= 'A' ? b + 32 : b);
                st.wchars++;
            } else {
                st.full = true;
            }
            st.last_digit = b <= '9';
            pos++;
            continue;
        }
        uint32_t cp;
        size_t n = feat_utf8_decode(s + pos, len - pos, &cp);
        bool cjk = n && feat_is_cjk(cp);
        if (run_chars && !cjk) { /* a CJK run ends */
            if (run_chars > 1 && c->cjk_bigrams) rc = flush_bigrams(&st, s, run_start, pos);
            run_chars = 0;
            if (rc) break;
        }
        if (!n) { /* invalid byte: skip it, it separates */
            rc = flush_word(&st);
            pos++;
            continue;
        }
        cp = feat_fold_width(cp);
        if (cjk) {
            rc = flush_word(&st);
            if (!rc) rc = emit(&st, text + pos, n, FEAT_TOK_CJK);
            if (!run_chars) run_start = pos;
            run_chars++;
        } else if (feat_is_word(cp)) {
            push_char(&st, c->lowercase ? feat_lower(cp) : cp);
            st.last_digit = cp >= '0' && cp <= '9';
        } else if ((cp == '.' || cp == ',') && st.last_digit) {
            int64_t next = peek(s, len, pos + n);
            if (next >= '0' && next <= '9') {
                push_char(&st, cp);
                st.last_digit = false;
            } else {
                rc = flush_word(&st);
            }
        } else {
            rc = flush_word(&st);
        }
        pos += n;
    }
    if (!rc && run_chars > 1 && c->cjk_bigrams) rc = flush_bigrams(&st, s, run_start, pos);
    if (!rc) rc = flush_word(&st);
    return rc;
}

/* ---- stop words ---- */

/* A short English list (articles, pronouns, auxiliaries, prepositions,
 * conjunctions), in the spirit of common IR stop lists. */
static const char *const english_stop[] = {
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further",
    "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my",
    "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our",
    "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this",
    "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "yours", "yourself", "yourselves"};

static int add_one(core_keys *stop, bool lowercase, const char *w, size_t len) {
    char buf[FEAT_MAX_TOKEN + 1];
    size_t o = 0;
    const unsigned char *s = (const unsigned char *)w;
    for (size_t p = 0; p < len;) {
        uint32_t cp;
        size_t n = feat_utf8_decode(s + p, len - p, &cp);
        if (!n) return core_error(AISLE_EINVAL, "stop word '%.*s': invalid UTF-8 at byte %zu", (int)len, w, p);
        cp = feat_fold_width(cp);
        if (lowercase) cp = feat_lower(cp);
        if (o + 4 > FEAT_MAX_TOKEN)
            return core_error(AISLE_EINVAL, "stop word '%.*s...': longer than %d bytes", 20, w, FEAT_MAX_TOKEN);
        o += feat_utf8_encode(cp, buf + o);
        p += n;
    }
    if (!o) return AISLE_OK;
    uint32_t index;
    return keys_intern(stop, buf, o, &index, NULL);
}

int feat_stop_add(core_keys *stop, bool lowercase, const char *const *words, size_t n) {
    size_t before = stop->n;
    for (size_t i = 0; i < n; i++) {
        if (!words[i]) {
            keys_truncate(stop, before);
            return core_error(AISLE_EINVAL, "stop word %zu is NULL", i);
        }
        int rc = add_one(stop, lowercase, words[i], strlen(words[i]));
        if (rc) {
            keys_truncate(stop, before);
            return rc;
        }
    }
    return AISLE_OK;
}

/* Option stop_words: words separated by whitespace or commas; the entry
 * "_english_" stands for the built-in English list. */
static int parse_stop_option(core_keys *stop, bool lowercase, const char *text) {
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n' || *p == ';') p++;
        const char *b = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t' && *p != '\n' && *p != ';') p++;
        if (p == b) break;
        int rc;
        if ((size_t)(p - b) == 9 && memcmp(b, "_english_", 9) == 0)
            rc = feat_stop_add(stop, lowercase, english_stop, CORE_ARRAY_LEN(english_stop));
        else
            rc = add_one(stop, lowercase, b, (size_t)(p - b));
        if (rc) return core_error_prefix(rc, "option stop_words");
    }
    return AISLE_OK;
}

int feat_tok_configure(feat_tok_cfg *c, core_keys *stop, const aisle_config *cfg) {
    int rc = config_check(cfg, features_options, "features");
    if (rc) return rc;
    feat_tok_default(c);
    c->lowercase = config_bool(cfg, features_options, "lowercase");
    c->cjk_bigrams = config_bool(cfg, features_options, "cjk_bigrams");
    c->min_token_len = (int)config_int(cfg, features_options, "min_token_len");
    rc = parse_stop_option(stop, c->lowercase, config_string(cfg, features_options, "stop_words"));
    if (rc) {
        keys_clear(stop);
        return rc;
    }
    c->stop = stop;
    return AISLE_OK;
}

/* ---- hashing tokens for models ---- */

typedef struct hash_ctx {
    uint32_t buckets;
    uint32_t *out;
    size_t max_out, n;
} hash_ctx;

static int hash_one(void *ctx, const char *tok, size_t len, int kind) {
    (void)kind;
    hash_ctx *h = ctx;
    if (h->n < h->max_out) h->out[h->n] = feat_hash32(tok, len, 0) % h->buckets;
    h->n++;
    return 0;
}

int feat_hash_tokens(const char *text, size_t len, uint32_t buckets, uint32_t *out, size_t max_out,
                     size_t *n_out) {
    if ((!text && len) || !n_out || (!out && max_out))
        return core_error(AISLE_EINVAL, "feat_hash_tokens: NULL %s", !n_out ? "n_out" : !out ? "out" : "text");
    if (!buckets) return core_error(AISLE_EINVAL, "feat_hash_tokens: buckets must be > 0");
    feat_tok_cfg c;
    feat_tok_default(&c);
    hash_ctx h = {buckets, out, max_out, 0};
    if (len) feat_tokenize(&c, text, len, hash_one, &h);
    *n_out = h.n;
    return AISLE_OK;
}
