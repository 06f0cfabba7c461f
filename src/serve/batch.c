/* batch.c - recommendations for many users at once.
 *
 * Factor kinds: the int8 scan per user where recommend would take it
 * (quant_range), else tiled sgemm with the top-k fused over each tile (see
 * tile_range).  Other kinds (and k > BATCH_MAX_K) score and select users
 * in parallel through ops->score_items. */
#include "serve.h"

#include <cblas.h>
#include <string.h>

typedef struct batch_ctx {
    const aisle_model *m;
    const serve_sel *sel;
    const int64_t *users; /* per requested user: index or -1 */
    size_t first;         /* the user count (factor path) */
    size_t k;             /* the caller's k: the row stride of the outputs */
    size_t kk;            /* min(k, n_items): what a row can hold, and the heap's size */
    const char **items_out;
    uint32_t *index_out; /* item indices instead of / beside keys (NULL: none) */
    float *scores_out;
    size_t *n_out;
} batch_ctx;

static int select_row(const batch_ctx *c, size_t r, float *scores, core_hit *heap) {
    const aisle_model *m = c->m;
    int64_t u = c->users[r];
    const uint32_t *excl = NULL;
    size_t n_excl = 0;
    if (u >= 0 && c->sel->exclude_seen) {
        model_row h = model_history_row(m, (uint32_t)u);
        excl = h.items, n_excl = h.n;
    }
    size_t n = serve_select(c->sel, u >= 0 ? scores : m->popularity, excl, n_excl, -1, c->kk, heap);
    serve_output(m, heap, n, c->items_out ? c->items_out + r * c->k : NULL,
                 c->scores_out ? c->scores_out + r * c->k : NULL);
    if (c->index_out)
        for (size_t i = 0; i < n; i++) c->index_out[r * c->k + i] = heap[i].item;
    c->n_out[r] = n;
    return AISLE_OK;
}

static int generic_range(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    const batch_ctx *c = vc;
    uint32_t ni = model_n_items(c->m);
    float *scores = core_malloc((size_t)ni * sizeof *scores);
    core_hit *heap = core_malloc((c->kk ? c->kk : 1) * sizeof *heap);
    int rc = (!scores || !heap) ? core_oom("recommend_batch") : AISLE_OK;
    for (size_t r = begin; !rc && r < end; r++) {
        if (c->users[r] >= 0) {
            model_query q;
            model_user_query(c->m, (uint32_t)c->users[r], &q);
            rc = c->m->ops->score_items(c->m, &q, scores);
        }
        if (!rc) rc = select_row(c, r, scores, heap);
    }
    core_free(scores);
    core_free(heap);
    return rc;
}

/* The factor path: each worker takes blocks of BATCH_USERS users and walks
 * the items in tiles of BATCH_ITEMS; one cblas_sgemm per (block, tile)
 * writes a BATCH_USERS x BATCH_ITEMS score tile (512 KiB: stays in L2 with
 * its 256 KiB of item factors), which is folded at once into each user's
 * top-k.  The n_users x n_items score matrix never exists, and the top-k
 * work runs on the tile while it is in cache.  Worker threads each call
 * BLAS; with OpenBLAS's own threads as well (blas_threads unset) the
 * two pools compete for the cores, so blas_threads=1 is the setting for
 * threads > 1 (docs/SERVING.md). */
enum { BATCH_USERS = 128, BATCH_ITEMS = 1024, BATCH_MAX_K = 1024 };

static bool in_sorted(const uint32_t *v, size_t n, uint32_t j) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < j) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo] == j;
}

static int tile_range(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    const batch_ctx *c = vc;
    const aisle_model *m = c->m;
    const serve_sel *sel = c->sel;
    const model_factors *f = m->state;
    uint32_t ni = model_n_items(m), d = f->dim;
    size_t n_users = c->first; /* factor_path passes the user count here */
    float *uf = core_malloc((size_t)BATCH_USERS * (d ? d : 1) * sizeof *uf);
    float *tile = core_malloc((size_t)BATCH_USERS * BATCH_ITEMS * sizeof *tile);
    core_hit *hits = core_malloc((size_t)BATCH_USERS * (c->kk ? c->kk : 1) * sizeof *hits);
    /* the fp16 rows of a mapped file: each tile of items is widened into
     * this block (BATCH_ITEMS rows, 256 KiB at 64 factors) before its sgemm */
    bool f16 = model_factors_f16(f, MODEL_SIDE_ITEMS);
    float *wide = f16 ? core_malloc((size_t)BATCH_ITEMS * (d ? d : 1) * sizeof *wide) : NULL;
    core_topk top[BATCH_USERS];
    int rc = (!uf || !tile || !hits || (f16 && !wide)) ? core_oom("recommend_batch tile") : AISLE_OK;
    for (size_t blk = begin; !rc && blk < end; blk++) {
        size_t g0 = blk * BATCH_USERS, rows = CORE_MIN((size_t)BATCH_USERS, n_users - g0);
        for (size_t r = 0; r < rows; r++) {
            int64_t u = c->users[g0 + r];
            const float *row = u >= 0 ? model_factors_user_row(f, (size_t)u, uf + r * d) : NULL;
            if (!row) memset(uf + r * d, 0, d * sizeof *uf);
            else if (row != uf + r * d) memcpy(uf + r * d, row, d * sizeof *uf);
            topk_init(&top[r], hits + r * c->kk, c->kk);
        }
        for (uint32_t j0 = 0; j0 < ni; j0 += BATCH_ITEMS) {
            uint32_t cols = CORE_MIN((uint32_t)BATCH_ITEMS, ni - j0);
            const float *items = model_factors_rows(f, MODEL_SIDE_ITEMS, j0, cols, wide);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)cols, (int)d, 1.0f, uf, (int)d,
                        items, (int)d, 0.0f, tile, (int)cols);
            for (size_t r = 0; r < rows; r++) {
                int64_t u = c->users[g0 + r];
                if (u < 0) continue; /* popularity: below */
                const uint32_t *excl = NULL;
                size_t n_excl = 0;
                if (sel->exclude_seen) {
                    model_row h = model_history_row(m, (uint32_t)u);
                    excl = h.items, n_excl = h.n;
                }
                float base = f->explicit_r ? f->mean + *model_user_bias(f, u) : 0.0f;
                const float *row = tile + r * cols;
                core_topk *t = &top[r];
                for (uint32_t jj = 0; jj < cols; jj++) {
                    uint32_t j = j0 + jj;
                    float sc = f->explicit_r ? row[jj] + (base + f->item_bias[j]) : row[jj];
                    if (sc != sc || !topk_admits(t, sc, j)) continue; /* NaN: never recommended */
                    if ((sel->has_allow && !in_sorted(sel->allow, sel->n_allow, j)) ||
                        in_sorted(excl, n_excl, j) || in_sorted(sel->deny, sel->n_deny, j))
                        continue;
                    if (sel->filter && !sel->filter(sel->filter_user, keys_at(&m->items, j), j)) continue;
                    topk_push(t, sc, j);
                }
            }
        }
        for (size_t r = 0; r < rows; r++) {
            size_t g = g0 + r;
            if (c->users[g] < 0) {
                select_row(c, g, NULL, hits + r * c->kk);
                continue;
            }
            size_t n = topk_finish(&top[r]);
            const core_hit *h = hits + r * c->kk;
            serve_output(m, h, n, c->items_out ? c->items_out + g * c->k : NULL,
                         c->scores_out ? c->scores_out + g * c->k : NULL);
            if (c->index_out)
                for (size_t i = 0; i < n; i++) c->index_out[g * c->k + i] = h[i].item;
            c->n_out[g] = n;
        }
    }
    core_free(uf);
    core_free(tile);
    core_free(hits);
    core_free(wide);
    return rc;
}

/* Factor kinds where recommend takes the int8 scan: each worker runs it
 * per user (serve_factor_topk; at 100k x 64 it beats the tiled sgemm by
 * reading a quarter of the bytes and scoring 0.01% of the items in fp32),
 * and the results are aisle_recommend's bit for bit. */
static int quant_range(void *vc, size_t begin, size_t end, int tid) {
    (void)tid;
    const batch_ctx *c = vc;
    const aisle_model *m = c->m;
    core_hit *heap = core_malloc((c->kk ? c->kk : 1) * sizeof *heap);
    int rc = heap ? AISLE_OK : core_oom("recommend_batch");
    for (size_t r = begin; !rc && r < end; r++) {
        int64_t u = c->users[r];
        if (u < 0) {
            rc = select_row(c, r, NULL, heap);
            continue;
        }
        model_query q;
        model_user_query(m, (uint32_t)u, &q);
        size_t n = 0;
        rc = serve_factor_topk(m, c->sel, &q, q.items, c->sel->exclude_seen ? q.n_items : 0, -1, c->kk, heap, &n);
        if (rc) break;
        serve_output(m, heap, n, c->items_out ? c->items_out + r * c->k : NULL,
                     c->scores_out ? c->scores_out + r * c->k : NULL);
        if (c->index_out)
            for (size_t i = 0; i < n; i++) c->index_out[r * c->k + i] = heap[i].item;
        c->n_out[r] = n;
    }
    core_free(heap);
    return rc;
}

static int factor_path(batch_ctx *c, size_t n_users, int threads) {
    c->first = n_users;
    size_t blocks = (n_users + BATCH_USERS - 1) / BATCH_USERS;
    return core_parallel_for(threads, blocks, 1, tile_range, c);
}

/* Ranks users[r] (a model index, or -1 for an unknown user: popularity)
 * for every r into the row-major out arrays of k columns. */
static int run_batch(const aisle_model *m, const serve_sel *sel, const int64_t *users, size_t n_users, size_t k,
                     const char **items_out, uint32_t *index_out, float *scores_out, size_t *n_out) {
    batch_ctx c = {.m = m, .sel = sel, .users = users, .k = k, .kk = CORE_MIN(k, (size_t)model_n_items(m)),
                   .items_out = items_out, .index_out = index_out, .scores_out = scores_out, .n_out = n_out};
    bool fits = model_n_items(m) > 0 && c.kk > 0 && c.kk <= BATCH_MAX_K;
    bool int8 = sel->scan == SERVE_SCAN_INT8 || (sel->scan == SERVE_SCAN_AUTO && model_n_items(m) >= 4096);
    if (fits && int8 && serve_factor_kind(m) && !sel->has_allow && !sel->filter)
        return core_parallel_for(sel->threads, n_users, 16, quant_range, &c);
    if ((m->ops->flags & MODEL_FACTORS) && fits) return factor_path(&c, n_users, sel->threads);
    return core_parallel_for(sel->threads, n_users, 16, generic_range, &c);
}

static int batch_by_keys(const aisle_model *m, const char *const *user_keys, size_t n_users, size_t k,
                         const aisle_rec_options *opts, const char **items_out, float *scores_out, size_t *n_out,
                         int *fallback_out) {
    if (!m || (n_users && (!user_keys || !n_out)))
        return core_error(AISLE_EINVAL, "aisle_recommend_batch: NULL model, user_keys or n_out");
    if (n_users == 0) return AISLE_OK;
    /* the outputs hold n_users rows of k: a k no array of that many rows
     * can have is a caller error (one row may claim any k: only
     * min(k, n_items) entries are written) */
    if (n_users > 1 && k > SIZE_MAX / sizeof(const char *) / n_users)
        return core_error(AISLE_ERANGE,
                          "aisle_recommend_batch: k = %zu for %zu users needs output arrays larger than memory "
                          "(use k <= the item count, %u)",
                          k, n_users, model_n_items(m));
    serve_sel sel;
    int rc = serve_sel_init(&sel, m, opts);
    if (rc) return rc;
    int64_t *users = core_malloc(n_users * sizeof *users);
    if (!users) rc = core_oom("recommend_batch");
    for (size_t r = 0; !rc && r < n_users; r++) {
        if (!user_keys[r]) {
            rc = core_error(AISLE_EINVAL, "aisle_recommend_batch: user key %zu is NULL", r);
            break;
        }
        users[r] = keys_find(&m->users, user_keys[r], strlen(user_keys[r]));
        if (users[r] < 0 && sel.unknown_error)
            rc = core_error(AISLE_ENOTFOUND, "unknown user '%s' (batch position %zu; option unknown_user=error)",
                            user_keys[r], r);
    }
    if (!rc) rc = run_batch(m, &sel, users, n_users, k, items_out, NULL, scores_out, n_out);
    if (!rc && fallback_out)
        for (size_t r = 0; r < n_users; r++) fallback_out[r] = users[r] < 0;
    core_free(users);
    serve_sel_free(&sel);
    return rc;
}

AISLE_API int aisle_recommend_batch(const aisle_model *m, const char *const *user_keys, size_t n_users, size_t k,
                                    const aisle_rec_options *opts, const char **items_out, float *scores_out,
                                    size_t *n_out) {
    return batch_by_keys(m, user_keys, n_users, k, opts, items_out, scores_out, n_out, NULL);
}

AISLE_API int aisle_recommend_batch_v2(const aisle_model *m, const char *const *user_keys, size_t n_users, size_t k,
                                       const aisle_rec_options *opts, const char **items_out, float *scores_out,
                                       size_t *n_out, int *popular_fallback) {
    return batch_by_keys(m, user_keys, n_users, k, opts, items_out, scores_out, n_out, popular_fallback);
}

AISLE_API int aisle_recommend_indexed(const aisle_model *m, const uint32_t *users, size_t n_users, size_t k,
                                      const aisle_rec_options *opts, uint32_t *items_out, float *scores_out,
                                      size_t *n_out) {
    if (!m || (n_users && (!users || !n_out)))
        return core_error(AISLE_EINVAL, "aisle_recommend_indexed: NULL model, users or n_out");
    for (size_t r = 0; r < n_users; r++)
        if (users[r] >= model_n_users(m))
            return core_error(AISLE_ERANGE, "aisle_recommend_indexed: position %zu: user index %u >= %u users", r,
                              users[r], model_n_users(m));
    if (n_users == 0) return AISLE_OK;
    serve_sel sel;
    int rc = serve_sel_init(&sel, m, opts);
    if (rc) return rc;
    int64_t *u = core_malloc(n_users * sizeof *u);
    if (!u) rc = core_oom("recommend_indexed");
    for (size_t r = 0; !rc && r < n_users; r++) u[r] = users[r];
    if (!rc) rc = run_batch(m, &sel, u, n_users, k, NULL, items_out, scores_out, n_out);
    core_free(u);
    serve_sel_free(&sel);
    return rc;
}
