/* rank.c - ranking beyond words, with a trained model:
 *
 * Behaviour-space retrieval.  Items bought together lie close in a factor
 * model's item space, so the query gets a vector there: the score-weighted
 * centroid of the unit item vectors of its best lexical hits (pseudo-
 * relevance feedback, Rocchio 1971, in the model's space).  Every catalog
 * item is scored by cosine with it; the best ones join the candidates, and
 * the two lists are fused by reciprocal-rank fusion (Cormack, Clarke &
 * Buettcher, SIGIR 2009: sum of 1 / (k + rank)) or a linear blend of the
 * max-normalised text score and the cosine.  Kinds without item vectors
 * (itemknn) use their item-item similarities of the same seeds.
 *
 * Personalization.  With a user the model knows (or a session's items), the
 * candidates are re-scored by  w_text * text/max + w_user * user' + w_pop *
 * pop', user' min-max normalised over the candidates and pop' =
 * ln(1+pop)/ln(1+max pop); the rank before and after is kept for explain. */
#include "search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cand_desc(const void *x, const void *y) {
    const search_cand *a = x, *b = y;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

static int64_t model_item_of(const aisle_model *m, const aisle_search_index *idx, uint32_t doc) {
    const char *key = keys_at(&idx->keys, idx->key_of_doc[doc]);
    return keys_find(&m->items, key, strlen(key));
}

static int hit_desc(const void *x, const void *y) {
    const search_hit_sd *a = x, *b = y;
    if (a->s != b->s) return a->s > b->s ? -1 : 1;
    return a->doc < b->doc ? -1 : a->doc > b->doc;
}

void search_hitlist_push(search_hitlist *l, search_hit_sd h) {
    size_t i;
    if (!l->cap) return;
    if (l->n < l->cap) {
        i = l->n++;
        while (i && hit_desc(&l->h[(i - 1) / 2], &h) < 0) { /* parent better than h: move it down */
            l->h[i] = l->h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        l->h[i] = h;
        return;
    }
    if (hit_desc(&h, &l->h[0]) >= 0) return; /* not better than the worst kept */
    i = 0; /* replace the worst and sift down */
    for (;;) {
        size_t c = 2 * i + 1, w = i;
        const search_hit_sd *cur = &h;
        if (c < l->n && hit_desc(&l->h[c], cur) > 0) w = c;
        if (c + 1 < l->n && hit_desc(&l->h[c + 1], w == i ? cur : &l->h[w]) > 0) w = c + 1;
        if (w == i) break;
        l->h[i] = l->h[w];
        i = w;
    }
    l->h[i] = h;
}

void search_hitlist_sort(search_hitlist *l) { qsort(l->h, l->n, sizeof *l->h, hit_desc); }

/* Candidates found by one retrieval (documents with their similarity, best
 * first) join the pool: rank and similarity are set on the existing
 * candidate or on a new one without text. */
static int join(const search_hitlist *l, bool encoder, search_cand **cands, size_t *n, size_t *cap) {
    for (size_t r = 0; r < l->n; r++) {
        size_t i = 0;
        while (i < *n && (*cands)[i].doc != l->h[r].doc) i++;
        if (i == *n) {
            int rc;
            if (*n == *cap && (rc = core_grow((void **)cands, cap, *n + 1, sizeof **cands))) return rc;
            memset(&(*cands)[i], 0, sizeof **cands);
            (*cands)[i].doc = l->h[r].doc;
            memset((*cands)[i].exp, 0xff, sizeof (*cands)[i].exp);
            (*n)++;
        }
        if (encoder) {
            (*cands)[i].rank_encoder = (int32_t)r + 1;
            (*cands)[i].encoder = l->h[r].s;
        } else {
            (*cands)[i].rank_semantic = (int32_t)r + 1;
            (*cands)[i].semantic = l->h[r].s;
        }
    }
    return AISLE_OK;
}

static int semantic(const aisle_search_index *idx, const search_params *p, const aisle_model *m,
                    const search_filter *f, search_cand **cands, size_t *n, size_t *cap,
                    search_rerank_info *info) {
    uint32_t ni = model_n_items(m);
    /* the item factors: fp32, or fp16 rows of a mapped file widened as read */
    const model_factors *vec = model_item_factors(m);
    uint32_t dim = vec ? vec->dim : 0;
    if (!vec && !m->ops->similar_items) {
        info->semantic_note = "semantic fusion skipped: the model has no item vectors or similarities";
        return AISLE_OK;
    }
    float *score = core_calloc(ni ? ni : 1, sizeof *score);
    float *qv = vec ? core_calloc(dim ? (size_t)dim * 2 : 1, sizeof *qv) : NULL, *wide = qv ? qv + dim : NULL;
    float *tmp = !vec ? core_malloc((ni ? ni : 1) * sizeof *tmp) : NULL;
    search_hitlist top = {NULL, 0, 0};
    int rc = AISLE_OK;
    if (!score || (vec && !qv) || (!vec && !tmp)) {
        rc = core_oom("semantic retrieval");
        goto done;
    }
    /* seeds: the best lexical hits the model knows */
    int seeds = 0;
    for (size_t i = 0; i < *n && seeds < p->semantic_seeds; i++) {
        int64_t it = model_item_of(m, idx, (*cands)[i].doc);
        if (it < 0) continue;
        float w = (*cands)[i].text;
        if (vec) {
            const float *y = model_factors_item_row(vec, (size_t)it, wide);
            float nr = sqrtf(model_dot(y, y, dim));
            if (nr > 0) model_axpy(qv, w / nr, y, dim);
        } else {
            if ((rc = m->ops->similar_items(m, (uint32_t)it, tmp))) goto done;
            tmp[it] = 1.0f; /* an item is most similar to itself (kinds leave it out) */
            for (uint32_t j = 0; j < ni; j++)
                if (isfinite(tmp[j])) score[j] += w * tmp[j];
        }
        seeds++;
    }
    if (!seeds) {
        info->semantic_note = "semantic fusion skipped: no lexical hit is known to the model";
        goto done;
    }
    if (vec) {
        float qn = sqrtf(model_dot(qv, qv, dim));
        for (uint32_t j = 0; j < ni; j++) {
            const float *y = model_factors_item_row(vec, j, wide);
            float nr = sqrtf(model_dot(y, y, dim));
            score[j] = nr > 0 && qn > 0 ? model_dot(qv, y, dim) / (nr * qn) : 0.0f;
        }
    }
    /* the best model items by that score (4 x depth of them), then the
     * first `depth` of them that are indexed and pass the filters */
    size_t depth = p->depth, nt = 0;
    top.cap = 4 * depth;
    if (!(top.h = core_malloc((top.cap ? top.cap : 1) * sizeof *top.h))) {
        rc = core_oom("semantic retrieval");
        goto done;
    }
    for (uint32_t j = 0; j < ni; j++)
        if (score[j] > 0) search_hitlist_push(&top, (search_hit_sd){score[j], j});
    search_hitlist_sort(&top);
    for (size_t i = 0; i < top.n && nt < depth; i++) {
        const char *key = keys_at(&m->items, top.h[i].doc);
        int64_t ki = keys_find(&idx->keys, key, strlen(key));
        if (ki < 0) continue;
        uint32_t doc = idx->doc_of_key[ki];
        if (doc == SEARCH_NONE || !search_filter_pass(idx, f, doc)) continue;
        top.h[nt++] = (search_hit_sd){top.h[i].s, doc};
    }
    top.n = nt;
    search_hitlist_sort(&top);
    if ((rc = join(&top, false, cands, n, cap))) goto done;
    info->semantic_used = true;
done:
    core_free(score);
    core_free(qv);
    core_free(tmp);
    core_free(top.h);
    return rc;
}

/* Text-encoder retrieval (encoder.c): the query's vector against every
 * product's, the best `depth` join the candidates. */
static int encoder(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                   const search_filter *f, search_cand **cands, size_t *n, size_t *cap, search_rerank_info *info) {
    search_hitlist top = {core_malloc((p->depth ? p->depth : 1) * sizeof *top.h), 0, p->depth};
    if (!top.h) return core_oom("encoder retrieval");
    int rc = search_encoder_scan(idx, rq->text, rq->len, f, &top);
    search_hitlist_sort(&top);
    if (!rc) rc = join(&top, true, cands, n, cap);
    if (!rc) info->encoder_used = true;
    core_free(top.h);
    return rc;
}

/* Fusion of the lists that were used: linear, text/max text + weight x
 * cosine per list; or reciprocal rank, sum of weight / (k + rank). */
static void fuse(const search_params *p, const search_rerank_info *info, search_cand *cands, size_t n) {
    float maxt = 0;
    double ws = info->semantic_used ? p->semantic_weight : 0, we = info->encoder_used ? p->encoder_weight : 0;
    for (size_t i = 0; i < n; i++) maxt = CORE_MAX(maxt, cands[i].text);
    for (size_t i = 0; i < n; i++) {
        search_cand *c = &cands[i];
        if (p->fusion == SEARCH_FUSION_RRF) {
            double s = 0;
            if (c->rank_text) s += 1.0 / (p->rrf_k + c->rank_text);
            if (c->rank_semantic) s += ws / (p->rrf_k + c->rank_semantic);
            if (c->rank_encoder) s += we / (p->rrf_k + c->rank_encoder);
            c->score = (float)s;
        } else {
            c->score = (maxt > 0 ? c->text / maxt : 0) + (float)ws * CORE_MAX(c->semantic, 0.0f) +
                       (float)we * CORE_MAX(c->encoder, 0.0f);
        }
    }
    qsort(cands, n, sizeof *cands, cand_desc);
}

int search_user_scores(const search_request *rq, float **out, search_rerank_info *info) {
    const aisle_model *m = rq->model;
    model_query q;
    uint32_t *items = NULL;
    memset(&q, 0, sizeof q);
    *out = NULL;
    if (rq->user) {
        int64_t u = keys_find(&m->users, rq->user, strlen(rq->user));
        if (u < 0) {
            info->unknown_user = true;
            return AISLE_OK;
        }
        model_user_query(m, (uint32_t)u, &q);
    } else {
        items = core_malloc((rq->n_items ? rq->n_items : 1) * sizeof *items);
        if (!items) return core_oom("session items");
        size_t k = 0;
        for (size_t i = 0; i < rq->n_items; i++) {
            int64_t it = rq->items[i] ? keys_find(&m->items, rq->items[i], strlen(rq->items[i])) : -1;
            if (it >= 0) items[k++] = (uint32_t)it;
        }
        if (!k) {
            info->personal_note = "no session item is known to the model: not personalised";
            core_free(items);
            return AISLE_OK;
        }
        if (!(m->ops->flags & MODEL_FOLD_IN)) {
            info->personal_note = "this model kind cannot score sessions: not personalised";
            core_free(items);
            return AISLE_OK;
        }
        q.user = -1;
        q.items = items;
        q.n_items = k;
    }
    uint32_t ni = model_n_items(m);
    float *scores = core_malloc((ni ? ni : 1) * sizeof *scores);
    if (!scores) {
        core_free(items);
        return core_oom("personal scores");
    }
    int rc = m->ops->score_items(m, &q, scores);
    core_free(items);
    if (rc) {
        core_free(scores);
        return rc;
    }
    *out = scores;
    return AISLE_OK;
}

static int personalize(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                       search_cand *cands, size_t n, search_rerank_info *info) {
    const aisle_model *m = rq->model;
    float *scores;
    int rc = search_user_scores(rq, &scores, info);
    if (rc || !scores) return rc;
    float umin = INFINITY, umax = -INFINITY, tmax = 0, pmax = 0;
    for (size_t i = 0; i < n; i++) {
        search_cand *c = &cands[i];
        c->rank_before_user = (int32_t)i + 1;
        int64_t it = model_item_of(m, idx, c->doc);
        c->user = it >= 0 && isfinite(scores[it]) ? scores[it] : NAN;
        c->pop = it >= 0 && m->popularity ? m->popularity[it] : 0.0f;
        if (isfinite(c->user)) {
            umin = CORE_MIN(umin, c->user);
            umax = CORE_MAX(umax, c->user);
        }
        tmax = CORE_MAX(tmax, c->score);
        pmax = CORE_MAX(pmax, c->pop);
    }
    core_free(scores);
    double lp = log1p((double)pmax);
    for (size_t i = 0; i < n; i++) {
        search_cand *c = &cands[i];
        double un = isfinite(c->user) && umax > umin ? (c->user - umin) / (umax - umin) : 0.0;
        double pn = lp > 0 ? log1p((double)CORE_MAX(c->pop, 0.0f)) / lp : 0.0;
        double tn = tmax > 0 ? c->score / tmax : 0.0;
        c->score = (float)(p->personal_text * tn + p->personal_user * un + p->personal_pop * pn);
        if (!isfinite(c->user)) c->user = 0;
    }
    qsort(cands, n, sizeof *cands, cand_desc);
    info->personal_used = true;
    return AISLE_OK;
}

bool search_encoder_active(const aisle_search_index *idx, const search_params *p) {
    return search_encoder_attached(idx) && idx->enc_dim && p->fusion != SEARCH_FUSION_NONE && p->encoder_weight > 0;
}

void search_cands_sort(search_cand *cands, size_t n) { qsort(cands, n, sizeof *cands, cand_desc); }

int search_rerank_gather(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                         const search_filter *f, bool sem, bool enc, search_cand **cands, size_t *n, size_t *cap,
                         search_rerank_info *info) {
    int rc = AISLE_OK;
    if (sem && rq->model && p->fusion != SEARCH_FUSION_NONE && *n)
        rc = semantic(idx, p, rq->model, f, cands, n, cap, info);
    if (!rc && enc && search_encoder_attached(idx) && idx->enc_dim && p->fusion != SEARCH_FUSION_NONE)
        rc = encoder(idx, p, rq, f, cands, n, cap, info);
    return rc;
}

int search_rerank(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                  const search_filter *f, search_cand **cands, size_t *n, size_t *cap, search_rerank_info *info) {
    const aisle_model *m = rq->model;
    bool learned = false;
    int rc = search_ltr_active(idx, p, &learned);
    if (!rc && learned) return search_ltr_rank(idx, p, rq, f, cands, n, cap, info);
    if (!rc) rc = search_rerank_gather(idx, p, rq, f, p->semantic_weight > 0, p->encoder_weight > 0, cands, n, cap, info);
    if (!rc && (info->semantic_used || info->encoder_used)) fuse(p, info, *cands, *n);
    if (!rc && m && (rq->user || rq->n_items) && *n) rc = personalize(idx, p, rq, *cands, *n, info);
    return rc;
}
