/*
 * models.h - the model handle and the table of operations every model kind
 * fills.  A new kind is one file in src/models/ exporting one model_ops,
 * plus one line in registry.c.
 *
 * Generic parts live in the handle and are trained, saved and loaded for
 * every kind by shared code: the user and item key dictionaries, each
 * user's training history (to exclude seen items, explain, fold in) and
 * per-item popularity (fallback for unknown users, novelty).  A kind keeps
 * only its own parameters in `state`.
 */
#ifndef AISLE_MODELS_H
#define AISLE_MODELS_H

#include "core/core.h"
#include "data/data.h"
#include "io/io.h"

/* What to score: a known user, or an anonymous session of items. */
typedef struct model_query {
    int64_t user;          /* dense user index, or -1 for a session */
    const uint32_t *items; /* session items, oldest first (user == -1), or the user's history */
    const float *weights;  /* per-item weights (NULL: all 1) */
    size_t n_items;
} model_query;

/* Capability flags of a kind. */
enum {
    MODEL_PREDICTS_RATINGS = 1u << 0, /* score() is a predicted rating (mf) */
    MODEL_SEQUENTIAL = 1u << 1,       /* order of session items matters (sasrec) */
    MODEL_FOLD_IN = 1u << 2           /* sessions are folded in (score_items with user -1 works) */
};

typedef struct model_ops {
    const char *name;          /* "als" */
    const char *summary;       /* one line for help and describe */
    const option_spec *options;/* this kind's options (NULL-name terminated) */
    unsigned flags;            /* MODEL_* */

    /* Fills m->state from the dataset.  The generic parts (keys, history,
     * popularity, config copy) are already set when it is called.  Must
     * report progress through prog and return AISLE_ECANCELLED (freeing
     * what it built) when asked to stop.  cat (may be NULL) is the product
     * catalog for kinds that use item side information. */
    int (*train)(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                 core_progress *prog);

    /* Scores every item for the query into scores[0..n_items).  Higher is
     * better.  Must be safe to call concurrently (read-only on m). */
    int (*score_items)(const aisle_model *m, const model_query *q, float *scores);

    /* Score of one (user, item) pair; optional (NULL: derived from
     * score_items). */
    int (*score_one)(const aisle_model *m, const model_query *q, uint32_t item, float *score);

    /* Similarity of every item to `item` into scores[0..n_items); optional. */
    int (*similar_items)(const aisle_model *m, uint32_t item, float *scores);

    /* Contribution of each query item (q->items[i]) to the score of `item`
     * into contrib[0..q->n_items); optional. */
    int (*explain)(const aisle_model *m, const model_query *q, uint32_t item, float *contrib);

    /* Re-fits user u's parameters in place from m's (already updated)
     * history row; optional (NULL: AISLE_EUNSUPPORTED). */
    int (*update_user)(aisle_model *m, uint32_t user);

    /* Writes / reads the kind's own sections (types >= IO_SECTION_KIND). */
    int (*save)(const aisle_model *m, io_writer *w);
    int (*load)(aisle_model *m, io_reader *r);

    /* Appends "key: value" lines about the kind's state (sizes, ...). */
    int (*describe)(const aisle_model *m, core_buf *out);

    /* Frees m->state (NULL-safe). */
    void (*free_state)(aisle_model *m);
} model_ops;

typedef struct model_metric {
    char name[32];
    double value;
} model_metric;

struct aisle_model {
    const model_ops *ops;
    core_keys users, items;
    data_csr history;      /* users x items training interactions (aggregated values) */
    float *popularity;     /* n_items: decayed/weighted interaction mass */
    aisle_config *config;  /* the options it was trained with (copy) */
    char writer_version[32];
    model_metric *metrics;
    size_t n_metrics, metrics_cap;
    void *state;           /* kind-specific */
};

/* Registry (registry.c). */
extern const model_ops *const model_kinds[];
const model_ops *model_find_kind(const char *name);

/* Allocates an empty model of a kind (used by train and load). */
int model_alloc(const model_ops *ops, aisle_model **out);
/* Fills keys, history and popularity from a dataset (used by train). */
int model_init_generic(aisle_model *m, const aisle_dataset *ds, const aisle_config *cfg);
/* Query for a known user from the model's history. */
void model_user_query(const aisle_model *m, uint32_t user, model_query *q);

static inline uint32_t model_n_users(const aisle_model *m) { return (uint32_t)m->users.n; }
static inline uint32_t model_n_items(const aisle_model *m) { return (uint32_t)m->items.n; }

#endif /* AISLE_MODELS_H */
