/* tokenizer.c - BERT's tokenizer as Transformers' BertTokenizer runs it:
 * the basic tokenizer (drop NUL, U+FFFD and control characters, map
 * whitespace to spaces, put spaces around CJK ideographs, split on
 * whitespace, lower-case and strip accents per the config, split off every
 * punctuation character), then WordPiece (greedy longest match, "##"
 * continuations, the whole word [UNK] when a piece is missing or the word
 * has more than 100 characters).  As Transformers' BasicTokenizer since
 * 4.x, each word is first put in NFC (canonical decomposition, canonical
 * ordering, canonical composition), so composed and decomposed spellings
 * of a text give the same tokens.  The Unicode facts come from tables
 * generated from Python's unicodedata (unicode_tables.h), so they agree with
 * the reference implementation character for character. */
#include "bert.h"

#include <string.h>

#include "unicode_tables.h"

static bool in_ranges(const uint32_t (*r)[2], size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid][0]) hi = mid;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return true;
    }
    return false;
}

#define IN(table, cp) in_ranges(table, CORE_ARRAY_LEN(table), cp)

static const uint32_t *map_find(const uint32_t *base, size_t rows, size_t width, uint32_t cp) {
    size_t lo = 0, hi = rows;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const uint32_t *row = base + mid * (width + 1);
        if (cp < row[0]) hi = mid;
        else if (cp > row[0]) lo = mid + 1;
        else return row + 1;
    }
    return NULL;
}

static bool is_cjk(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Strict UTF-8 decoding; an invalid byte decodes to U+FFFD (then dropped). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp) {
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (n > len) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
    *cp = v;
    return n;
}

static size_t utf8_put(uint32_t cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

void bert_ids_free(bert_ids *ids) {
    if (!ids) return;
    core_free(ids->v);
    memset(ids, 0, sizeof *ids);
}

static int ids_push(bert_ids *ids, uint32_t id) {
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        uint32_t *v = core_reallocarray(ids->v, cap, sizeof *v);
        if (!v) return core_oom("token ids");
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return AISLE_OK;
}

/* A growable code point buffer. */
typedef struct {
    uint32_t *v;
    size_t n, cap;
} cps;

static int cps_push(cps *b, uint32_t cp) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        uint32_t *v = core_reallocarray(b->v, cap, sizeof *v);
        if (!v) return core_oom("tokenizer buffer");
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = cp;
    return AISLE_OK;
}

/* Appends cp after accent stripping (NFD without nonspacing marks). */
static int push_stripped(cps *b, uint32_t cp) {
    if (IN(bert_mark_ranges, cp)) return AISLE_OK;
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable -> conjoining jamo */
        uint32_t s = cp - 0xAC00, t = s % 28;
        int rc = cps_push(b, 0x1100 + s / 588);
        if (!rc) rc = cps_push(b, 0x1161 + (s % 588) / 28);
        if (!rc && t) rc = cps_push(b, 0x11A7 + t);
        return rc;
    }
    const uint32_t *m = map_find(&bert_strip_map[0][0], CORE_ARRAY_LEN(bert_strip_map), BERT_STRIP_WIDTH, cp);
    if (!m) return cps_push(b, cp);
    int rc = AISLE_OK;
    for (int i = 0; !rc && i < BERT_STRIP_WIDTH && m[i]; i++) rc = cps_push(b, m[i]);
    return rc;
}

static int push_normalized(cps *b, uint32_t cp, bool lower, bool strip) {
    uint32_t seq[BERT_LOWER_WIDTH] = {cp};
    int n = 1;
    if (lower) {
        const uint32_t *m = map_find(&bert_lower_map[0][0], CORE_ARRAY_LEN(bert_lower_map), BERT_LOWER_WIDTH, cp);
        if (m)
            for (n = 0; n < BERT_LOWER_WIDTH && m[n]; n++) seq[n] = m[n];
    }
    int rc = AISLE_OK;
    for (int i = 0; !rc && i < n; i++) rc = strip ? push_stripped(b, seq[i]) : cps_push(b, seq[i]);
    return rc;
}

/* ---- NFC (UAX #15) ---- */

enum { HANGUL_S = 0xAC00, HANGUL_L = 0x1100, HANGUL_V = 0x1161, HANGUL_T = 0x11A7, HANGUL_N = 588, HANGUL_COUNT = 11172 };

static uint32_t ccc_of(uint32_t cp) {
    size_t lo = 0, hi = CORE_ARRAY_LEN(bert_ccc_ranges);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < bert_ccc_ranges[mid][0]) hi = mid;
        else if (cp > bert_ccc_ranges[mid][1]) lo = mid + 1;
        else return bert_ccc_ranges[mid][2];
    }
    return 0;
}

/* The primary composite of a + b, or 0. */
static uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= HANGUL_L && a < HANGUL_L + 19 && b >= HANGUL_V && b < HANGUL_V + 21)
        return HANGUL_S + ((a - HANGUL_L) * 21 + (b - HANGUL_V)) * 28;
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_COUNT && (a - HANGUL_S) % 28 == 0 && b > HANGUL_T && b < HANGUL_T + 28)
        return a + (b - HANGUL_T);
    size_t lo = 0, hi = CORE_ARRAY_LEN(bert_compose_pairs);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const uint32_t *r = bert_compose_pairs[mid];
        if (a < r[0] || (a == r[0] && b < r[1])) hi = mid;
        else if (a > r[0] || b > r[1]) lo = mid + 1;
        else return r[2];
    }
    return 0;
}

/* out = NFC(in[0..n)). */
static int nfc(const uint32_t *in, size_t n, cps *out) {
    out->n = 0;
    int rc = AISLE_OK;
    for (size_t i = 0; !rc && i < n; i++) { /* full canonical decomposition */
        uint32_t cp = in[i];
        if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_COUNT) {
            uint32_t si = cp - HANGUL_S, t = si % 28;
            rc = cps_push(out, HANGUL_L + si / HANGUL_N);
            if (!rc) rc = cps_push(out, HANGUL_V + (si % HANGUL_N) / 28);
            if (!rc && t) rc = cps_push(out, HANGUL_T + t);
            continue;
        }
        const uint32_t *m = map_find(&bert_decomp_map[0][0], CORE_ARRAY_LEN(bert_decomp_map), BERT_DECOMP_WIDTH, cp);
        if (!m) {
            rc = cps_push(out, cp);
            continue;
        }
        for (int k = 0; !rc && k < BERT_DECOMP_WIDTH && m[k]; k++) rc = cps_push(out, m[k]);
    }
    if (rc || out->n == 0) return rc;
    uint32_t *v = out->v;
    size_t len = out->n;
    /* canonical ordering: a stable insertion sort of each run of marks by class */
    for (size_t i = 1; i < len; i++) {
        uint32_t c = ccc_of(v[i]);
        if (c == 0) continue;
        size_t j = i;
        uint32_t x = v[i];
        while (j > 0) {
            uint32_t pc = ccc_of(v[j - 1]);
            if (pc <= c) break;
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    /* canonical composition (the algorithm of UAX #15's sample code): a
     * mark composes with the last starter unless a mark of the same or a
     * higher class, or a starter, stands between them */
    size_t starter = 0, at = 1;
    uint32_t last = ccc_of(v[0]);
    if (last != 0) last = 256; /* a leading mark blocks */
    for (size_t i = 1; i < len; i++) {
        uint32_t ch = v[i], c = ccc_of(ch), comp = compose_pair(v[starter], ch);
        if (comp && (last < c || last == 0)) {
            v[starter] = comp;
            continue;
        }
        if (c == 0) starter = at;
        last = c;
        v[at++] = ch;
    }
    out->n = at;
    return AISLE_OK;
}

/* WordPiece of one basic token (code points w[0..n)). */
static int wordpiece(const bert_vocab *v, const uint32_t *w, size_t n, bert_ids *out, char *buf, size_t *boff) {
    if (n > BERT_MAX_WORD_CHARS) return ids_push(out, v->unk);
    /* boff[i]: byte offset of char i in buf (after the 2-byte "##" slot) */
    size_t at = 2;
    for (size_t i = 0; i < n; i++) {
        boff[i] = at;
        at += utf8_put(w[i], buf + at);
    }
    boff[n] = at;
    size_t first = out->n, start = 0;
    while (start < n) {
        int64_t id = -1;
        size_t end = n;
        for (; end > start; end--) {
            size_t b0 = boff[start], b1 = boff[end];
            if (start > 0) {
                /* the "##" prefix sits just before this piece's bytes */
                char save[2] = {buf[b0 - 2], buf[b0 - 1]};
                buf[b0 - 2] = '#';
                buf[b0 - 1] = '#';
                id = bert_vocab_find(v, buf + b0 - 2, b1 - b0 + 2);
                buf[b0 - 2] = save[0];
                buf[b0 - 1] = save[1];
            } else {
                id = bert_vocab_find(v, buf + b0, b1 - b0);
            }
            if (id >= 0) break;
        }
        if (id < 0) {
            out->n = first;
            return ids_push(out, v->unk);
        }
        int rc = ids_push(out, (uint32_t)id);
        if (rc) return rc;
        start = end;
    }
    return AISLE_OK;
}

int bert_tokenize(const bert_vocab *v, bool lower, bool strip_accents, const char *text, size_t len, bert_ids *out) {
    cps word = {0}, clean = {0}, composed = {0};
    int rc = AISLE_OK;
    /* a word of BERT_MAX_WORD_CHARS code points needs at most 4 bytes each + "##" */
    char buf[2 + 4 * BERT_MAX_WORD_CHARS + 4];
    size_t boff[BERT_MAX_WORD_CHARS + 1];
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = 0;
    while (!rc && pos <= len) {
        uint32_t cp = ' ';
        if (pos < len) pos += utf8_next(s + pos, len - pos, &cp);
        else pos++; /* one trailing space ends the last word */
        if (cp == 0 || cp == 0xFFFD || IN(bert_control_ranges, cp)) continue;
        bool space = IN(bert_space_ranges, cp), cjk = is_cjk(cp);
        if (!space && !cjk) {
            rc = cps_push(&clean, cp);
            continue;
        }
        /* end of a whitespace-separated word: normalize, split punctuation, WordPiece */
        if (clean.n) {
            word.n = 0;
            rc = nfc(clean.v, clean.n, &composed);
            for (size_t i = 0; !rc && i < composed.n; i++)
                rc = push_normalized(&word, composed.v[i], lower, strip_accents);
            size_t st = 0;
            for (size_t i = 0; !rc && i <= word.n; i++) {
                bool punct = i < word.n && IN(bert_punct_ranges, word.v[i]);
                if (i < word.n && !punct) continue;
                if (i > st) rc = wordpiece(v, word.v + st, i - st, out, buf, boff);
                if (!rc && punct) rc = wordpiece(v, word.v + i, 1, out, buf, boff);
                st = i + 1;
            }
            clean.n = 0;
        }
        if (!rc && cjk) {
            /* an ideograph is a word of its own */
            word.n = 0;
            rc = nfc(&cp, 1, &composed); /* compatibility ideographs map to the unified ones */
            for (size_t i = 0; !rc && i < composed.n; i++)
                rc = push_normalized(&word, composed.v[i], lower, strip_accents);
            if (!rc && word.n) rc = wordpiece(v, word.v, word.n, out, buf, boff);
        }
    }
    core_free(word.v);
    core_free(clean.v);
    core_free(composed.v);
    return rc;
}

int bert_encode(const bert_vocab *v, bool lower, bool strip_accents, const char *a, const char *b, size_t max_len,
                uint32_t *ids, uint32_t *types, size_t *n) {
    size_t special = b ? 3 : 2;
    if (max_len < special)
        return core_error(AISLE_ERANGE, "max_length %zu leaves no room for the text (needs at least %zu)", max_len,
                          special);
    bert_ids ta = {0}, tb = {0};
    int rc = bert_tokenize(v, lower, strip_accents, a, strlen(a), &ta);
    if (!rc && b) rc = bert_tokenize(v, lower, strip_accents, b, strlen(b), &tb);
    if (rc) {
        bert_ids_free(&ta);
        bert_ids_free(&tb);
        return rc;
    }
    /* longest first: drop the last token of the longer side (b on ties) */
    size_t na = ta.n, nb = tb.n;
    while (na + nb > max_len - special) {
        if (na > nb) na--;
        else nb--;
    }
    size_t k = 0;
    ids[k] = v->cls, types[k++] = 0;
    for (size_t i = 0; i < na; i++) ids[k] = ta.v[i], types[k++] = 0;
    ids[k] = v->sep, types[k++] = 0;
    if (b) {
        for (size_t i = 0; i < nb; i++) ids[k] = tb.v[i], types[k++] = 1;
        ids[k] = v->sep, types[k++] = 1;
    }
    *n = k;
    bert_ids_free(&ta);
    bert_ids_free(&tb);
    return AISLE_OK;
}
