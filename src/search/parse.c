/* parse.c - a query's text into its distinct terms (groups) and their
 * expansions: the exact indexed term, typo corrections of words that match
 * little, and prefix completions of the last word while it is typed. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct parse_ctx {
    search_query *q;
    int rc;
} parse_ctx;

static int on_query_token(void *vctx, const char *tok, size_t len, int kind) {
    (void)kind;
    parse_ctx *c = vctx;
    search_query *q = c->q;
    if (q->n_groups == SEARCH_MAX_TERMS) return 1; /* stop: later terms are ignored */
    for (size_t g = 0; g < q->n_groups; g++)
        if (q->group_len[g] == len && !memcmp(q->text.data + q->group_off[g], tok, len)) return 0;
    uint32_t off = (uint32_t)q->text.len;
    if ((c->rc = buf_append(&q->text, tok, len)) || (c->rc = buf_append(&q->text, "", 1))) return c->rc;
    q->group_off[q->n_groups] = off;
    q->group_len[q->n_groups] = (uint16_t)len;
    q->n_groups++;
    return 0;
}

static double idf_of(const aisle_search_index *idx, uint32_t df) {
    double n = (double)idx->n_docs;
    return log(1.0 + (n - df + 0.5) / (df + 0.5));
}

static int exp_push(search_query *q, size_t *cap, uint32_t term, double weight, double idf, size_t g, int edits,
                    int prefix) {
    if (q->n_exp == 255) return AISLE_OK; /* cand.exp is a byte */
    if (q->n_exp == *cap) {
        int rc = core_grow((void **)&q->exp, cap, q->n_exp + 1, sizeof *q->exp);
        if (rc) return rc;
    }
    q->exp[q->n_exp++] = (search_exp){term, (float)weight, (float)idf, (uint8_t)g, (uint8_t)edits, (uint8_t)prefix};
    return AISLE_OK;
}

static bool ends_in_word(const char *text, size_t len) {
    if (!len) return false;
    unsigned char c = (unsigned char)text[len - 1];
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

int search_query_parse(const aisle_search_index *idx, const search_params *p, const char *text, size_t len,
                       search_query *q) {
    memset(q, 0, sizeof *q);
    buf_init(&q->text);
    feat_tok_cfg tc;
    feat_tok_default(&tc);
    parse_ctx c = {q, 0};
    int rc = feat_tokenize(&tc, text, len, on_query_token, &c);
    if (c.rc) return c.rc;
    (void)rc;
    size_t cap = 0;
    uint32_t cand[SEARCH_MAX_EXPANSIONS];
    uint8_t edits[SEARCH_MAX_EXPANSIONS];
    bool last_open = ends_in_word(text, len);
    for (size_t g = 0; g < q->n_groups; g++) {
        const char *w = q->text.data + q->group_off[g];
        size_t wl = q->group_len[g];
        int64_t t = keys_find(&idx->terms, w, wl);
        uint32_t df = t >= 0 ? idx->post[t].df : 0;
        if (df && (rc = exp_push(q, &cap, (uint32_t)t, 1.0, idf_of(idx, df), g, 0, 0))) return rc;
        /* typo tolerance for words that match nothing or little */
        if (p->typo && (int)df < p->typo_min_df) {
            uint32_t cp[SEARCH_MAX_TYPO_LEN];
            size_t nc = search_codepoints(w, wl, cp, SEARCH_MAX_TYPO_LEN);
            int max_e = nc == (size_t)-1 ? 0 : (int)nc >= p->typo_len2 ? 2 : (int)nc >= p->typo_len1 ? 1 : 0;
            size_t n = 0;
            if (max_e &&
                (rc = search_typo_candidates(idx, w, wl, max_e, cand, edits, (size_t)p->typo_max, &n)))
                return rc;
            for (size_t i = 0; i < n; i++) {
                double wgt = pow(p->typo_penalty, edits[i]);
                if ((rc = exp_push(q, &cap, cand[i], wgt, idf_of(idx, idx->post[cand[i]].df), g, edits[i], 0)))
                    return rc;
            }
        }
        /* the last word, still being typed, also completes */
        if (p->prefix && g + 1 == q->n_groups && last_open) {
            size_t n = 0;
            if ((rc = search_prefix_candidates(idx, w, wl, cand, (size_t)p->prefix_max, &n))) return rc;
            for (size_t i = 0; i < n; i++)
                if ((rc = exp_push(q, &cap, cand[i], p->prefix_weight, idf_of(idx, idx->post[cand[i]].df), g, 0, 1)))
                    return rc;
        }
    }
    return AISLE_OK;
}

void search_query_release(search_query *q) {
    buf_free(&q->text);
    core_free(q->exp);
}
