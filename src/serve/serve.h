/*
 * serve.h - internal interface of the serving layer: per-call options,
 * candidate filtering and exact top-k selection over a model's scores.
 * Everything is built on model_ops.score_items (and the optional ops), so
 * every kind is served by the same code.
 */
#ifndef AISLE_SERVE_H
#define AISLE_SERVE_H

#include "models/models.h"

/* Options of the serving calls (options.c). */
extern const option_spec serve_options[];

struct aisle_rec_options {
    aisle_config *cfg;   /* serve-scope options */
    char **allow, **deny;
    size_t n_allow, n_deny;
    aisle_item_filter_fn filter;
    void *filter_user;
};

/* Options resolved against one model for one call. */
typedef struct serve_sel {
    const aisle_model *m;
    bool has_allow;
    uint32_t *allow, *deny; /* sorted, unique item indices */
    size_t n_allow, n_deny;
    aisle_item_filter_fn filter;
    void *filter_user;
    bool exclude_seen, unknown_error;
    int threads;
    int scan; /* SERVE_SCAN_*: option scan */
} serve_sel;

enum { SERVE_SCAN_AUTO, SERVE_SCAN_INT8, SERVE_SCAN_FP32 };

int serve_sel_init(serve_sel *s, const aisle_model *m, const aisle_rec_options *o);
void serve_sel_free(serve_sel *s);

/* Exact top-k of scores[0..n_items) among the candidates (topk_* in
 * core.h: NaN scores never selected, ties to the lower item index): skips
 * the sorted exclusion list excl, the deny-list, `self` (an item index or
 * -1), items outside the allow-list and items the filter drops.  heap has
 * room for k hits; returns the number selected, best first. */
size_t serve_select(const serve_sel *s, const float *scores, const uint32_t *excl, size_t n_excl, int64_t self,
                    size_t k, core_hit *heap);

/* Copies hits to the public out arrays (either may be NULL). */
void serve_output(const aisle_model *m, const core_hit *hits, size_t n, const char **items_out,
                  float *scores_out);

/* ---- latent-factor kinds (quant.c) ---- */

/* Whether m scores with model_factors_score_items (als, bpr, hybrid): the
 * kinds served by serve_factor_topk and the batch sgemm path. */
bool serve_factor_kind(const aisle_model *m);

/* Exact top-k for q as serve_select over score_items would give it, without
 * an n_items buffer: the int8 scan with fp32 re-scoring (scan=int8, or auto
 * on 4096+ items; results identical to the fp32 scan) or the fused fp32
 * scan.  heap has room for k; *n_out gets the count. */
int serve_factor_topk(const aisle_model *m, const serve_sel *sel, const model_query *q, const uint32_t *excl,
                      size_t n_excl, int64_t self, size_t k, core_hit *heap, size_t *n_out);

/* Builds m's int8 item index now (a no-op for other kinds or when built). */
int serve_quant_prepare(const aisle_model *m);
/* After items j.. (the last ones) were added to m (under the server's
 * write lock, or by the caller that owns m): appends their rows to the int8
 * index, stored or built (model_int8_append: no rebuild), or, where that
 * cannot be done, drops the index and builds it again if there was one
 * (had_stored: m had a stored copy before). */
void serve_quant_added_item(aisle_model *m, uint32_t j, bool had_stored);

/* Tests: whether the AVX2 and the portable int8 kernels find the same
 * candidates for query x (trivially true without AVX2). */
int serve_quant_kernels_agree(const aisle_model *m, const float *x, size_t k, bool *same);

/* What the calling thread's last serve_factor_topk did (aisle_recommend_scan_stats). */
typedef struct serve_scan_stats {
    size_t items, rescored;
    bool int8;
} serve_scan_stats;
extern _Thread_local serve_scan_stats serve_last_scan;

/* ---- users and items added while serving (grow.c) ---- */

/* aisle_update_user for a known user; an unknown one is first added
 * (kinds with model_ops.grow and update_user, else AISLE_EUNSUPPORTED)
 * with an empty history that the events then fill.  All or nothing. */
int serve_add_user(aisle_model *m, const char *key, const char *const *item_keys, const float *weights, size_t n);

/* Adds item `key` (AISLE_EINVAL if known) with its vector (dim floats
 * for factor kinds, NULL and 0 otherwise; model_ops.grow says what each
 * kind takes).  All or nothing. */
int serve_add_item(aisle_model *m, const char *key, const float *vector, size_t dim);

/* The catalog's products (side 0) or shoppers (side 1) the model lacks join
 * it, scored from their features (model_ops.add_catalog; AISLE_EUNSUPPORTED
 * naming the kind without it), and the int8 index gets their rows.  *added
 * counts them.  All or nothing (aisle_model_add_items). */
int serve_add_catalog(aisle_model *m, const aisle_catalog *cat, int side, size_t *added);

#endif /* AISLE_SERVE_H */
