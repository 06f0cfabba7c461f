/* query.c - running a query: parse it (parse.c), set up filters and
 * facets, retrieve the top candidates (retrieve.c), re-rank them with a
 * model (rank.c), then build the results with matched terms and lazily
 * formatted explanations. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void search_results_release(aisle_search_results *r) {
    if (!r) return;
    for (size_t i = 0; r->hits && i < r->n; i++) core_free(r->hits[i].explain_text);
    core_free(r->hits);
    core_free(r->cands);
    core_free(r->xi);
    core_free(r->info);
    for (size_t i = 0; i < r->n_facets; i++) {
        core_free(r->facets[i].value);
        core_free(r->facets[i].count);
    }
    core_free(r->facets);
    buf_free(&r->arena);
    core_free(r);
}

int search_explain(aisle_search_results *r, size_t i, const char **out) {
    if (r->hits[i].explain_text || !r->cands) {
        *out = r->hits[i].explain_text ? r->hits[i].explain_text : r->arena.data + r->hits[i].explain;
        return AISLE_OK;
    }
    const search_cand *c = &r->cands[i];
    const search_rerank_info *info = (const search_rerank_info *)r->info;
    const char *a = r->arena.data;
    core_buf x;
    buf_init(&x);
    int rc = buf_printf(&x, "text %.4f", c->text);
    for (size_t g = 0; g < SEARCH_MAX_TERMS && !rc; g++) {
        if (c->exp[g] == 0xff) continue;
        const search_exp_info *e = &r->xi[c->exp[g]];
        const char *term = a + e->term, *qw = a + e->word;
        if (e->edits) rc = buf_printf(&x, "; typo %s->%s (%d edit%s)", qw, term, e->edits, e->edits > 1 ? "s" : "");
        else if (e->prefix) rc = buf_printf(&x, "; prefix %s->%s", qw, term);
        else rc = buf_printf(&x, "; matched %s", term);
    }
    if (!rc && c->proximity > 0) rc = buf_printf(&x, "; proximity +%.4f", c->proximity);
    if (!rc && info->semantic_used) {
        if (c->rank_semantic) rc = buf_printf(&x, "; semantic rank %d (cosine %.3f)", c->rank_semantic, c->semantic);
        if (!rc && !c->rank_text && !c->rank_encoder) rc = buf_printf(&x, "; found by behaviour similarity only");
    }
    if (!rc && info->encoder_used) {
        if (c->rank_encoder) rc = buf_printf(&x, "; encoder rank %d (cosine %.3f)", c->rank_encoder, c->encoder);
        if (!rc && !c->rank_text && !c->rank_semantic) rc = buf_printf(&x, "; found by the text encoder only");
    }
    if (!rc && info->learned_used)
        rc = buf_printf(&x, "; learned ranker (user %.4f popularity %.4f)", c->user, c->pop);
    if (!rc && info->personal_used)
        rc = buf_printf(&x, "; user %.4f popularity %.4f; history moved it from rank %d to %zu", c->user, c->pop,
                        c->rank_before_user, i + 1);
    if (!rc && info->unknown_user) rc = buf_printf(&x, "; user unknown to the model: not personalised");
    if (!rc && info->semantic_note) rc = buf_printf(&x, "; %s", info->semantic_note);
    if (!rc && info->personal_note) rc = buf_printf(&x, "; %s", info->personal_note);
    if (!rc && !x.data) rc = buf_append(&x, "", 1);
    if (rc) {
        buf_free(&x);
        return rc;
    }
    r->hits[i].explain_text = x.data;
    *out = x.data;
    return AISLE_OK;
}

/* Matched terms of a hit, space-separated, into the arena. */
static int matched_hit(aisle_search_results *r, const search_cand *c, uint64_t *off) {
    *off = r->arena.len;
    bool first = true;
    int rc = AISLE_OK;
    for (size_t g = 0; g < SEARCH_MAX_TERMS && !rc; g++) {
        if (c->exp[g] == 0xff) continue;
        uint64_t t = r->xi[c->exp[g]].term;
        size_t l = strlen(r->arena.data + t);
        if (!first) rc = buf_append(&r->arena, " ", 1);
        if (!rc) rc = buf_reserve(&r->arena, l);
        if (!rc) rc = buf_append(&r->arena, r->arena.data + t, l);
        first = false;
    }
    return rc ? rc : buf_append(&r->arena, "", 1);
}

int search_run(const aisle_search_index *idx, const search_request *rq, aisle_search_results **out) {
    search_params p;
    int rc = search_params_read(&p, rq->cfg, &idx->defaults);
    if (rc) return rc;
    aisle_search_results *r = core_calloc(1, sizeof *r);
    if (!r) return core_oom("search results");
    buf_init(&r->arena);
    search_query q;
    search_filter f;
    memset(&f, 0, sizeof f);
    facet_counts *fc = NULL;
    size_t n_fc = 0, pool_n = 0, pool_cap;
    search_cand *pool = NULL;
    rc = search_query_parse(idx, &p, rq->text, rq->len, &q);
    if (!rc) rc = search_filter_parse(idx, rq->filters, rq->n_filters, &f);
    if (!rc) rc = search_facets_setup(idx, &p, &fc, &n_fc);
    bool learned = false;
    if (!rc) rc = search_ltr_active(idx, &p, &learned);
    bool rerank = rq->model || search_encoder_active(idx, &p) || learned;
    pool_cap = rerank ? CORE_MAX(rq->k, p.depth) : rq->k;
    if (pool_cap > idx->n_docs) pool_cap = idx->n_docs; /* k may be huge: never more than the products */
    if (!rc && !(pool = core_malloc((pool_cap ? pool_cap : 1) * sizeof *pool))) rc = core_oom("search candidates");
    if (!rc) rc = search_retrieve(idx, &p, &q, &f, pool_cap, pool, &pool_n, &r->total, fc, n_fc);
    search_rerank_info info = {0};
    search_request rql = *rq;
    rql.query = &q;
    if (!rc && rerank) rc = search_rerank(idx, &p, &rql, &f, &pool, &pool_n, &pool_cap, &info);
    size_t n = CORE_MIN(pool_n, rq->k);
    if (!rc && !(r->hits = core_calloc(n ? n : 1, sizeof *r->hits))) rc = core_oom("search hits");
    if (!rc && !(r->cands = core_malloc((n ? n : 1) * sizeof *r->cands))) rc = core_oom("search hits");
    if (!rc && !(r->xi = core_calloc(q.n_exp ? q.n_exp : 1, sizeof *r->xi))) rc = core_oom("search hits");
    if (!rc && !(r->info = core_malloc(sizeof *r->info))) rc = core_oom("search hits");
    if (!rc) {
        *r->info = info;
        memcpy(r->cands, pool, n * sizeof *pool);
        r->n_xi = q.n_exp;
        rc = buf_reserve(&r->arena, 64 * n + 32 * q.n_exp + 64);
    }
    for (size_t e = 0; e < q.n_exp && !rc; e++) {
        const search_exp *x = &q.exp[e];
        const char *term = keys_at(&idx->terms, x->term);
        r->xi[e].edits = x->edits;
        r->xi[e].prefix = x->prefix;
        rc = search_arena_str(&r->arena, term, strlen(term), &r->xi[e].term);
        if (!rc) rc = search_arena_str(&r->arena, q.text.data + q.group_off[x->group], q.group_len[x->group], &r->xi[e].word);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const search_cand *c = &pool[i];
        const char *key = keys_at(&idx->keys, idx->key_of_doc[c->doc]);
        rc = search_arena_str(&r->arena, key, strlen(key), &r->hits[i].key);
        if (!rc) rc = matched_hit(r, c, &r->hits[i].matched);
        r->hits[i].score = c->score;
    }
    r->n = n;
    if (!rc) rc = search_facets_export(idx, &p, fc, n_fc, r);
    for (size_t k = 0; k < n_fc; k++) core_free(fc[k].count);
    core_free(fc);
    core_free(pool);
    search_filter_release(&f);
    search_query_release(&q);
    if (rc) {
        search_results_release(r);
        return rc;
    }
    *out = r;
    return AISLE_OK;
}
