/*
 * models.h - the model handle and the table of operations every model kind
 * fills.  A new kind is one file in src/models/ exporting one model_ops
 * named model_<kind>_ops, plus one line in kinds.def.
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
#include "nn/nn.h" /* nn_lazy_rows (model_sasrec_hook) */

#include <string.h>

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
    /* This kind's options (NULL-name terminated): only those it adds,
     * narrows or overrides.  Generic ones it reads but does not change
     * (threads, seed: core_options) are not repeated; config_int & co.
     * fall back to the generic table for names not in this one. */
    const option_spec *options;
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
    /* train with a shopper attribute table as well (a catalog keyed by user
     * id; never NULL here); optional (NULL: aisle_model_train_with_features
     * with users answers AISLE_EUNSUPPORTED). */
    int (*train_features)(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat,
                          const aisle_catalog *users, const aisle_config *cfg, core_progress *prog);
    /* The at most max features contributing most (by absolute value) to
     * the score of (user, item): static or state-owned names, signed
     * contributions, *n_out written; optional (aisle_explain_features). */
    int (*explain_features)(const aisle_model *m, uint32_t user, uint32_t item, size_t max, const char **names,
                            float *contrib, size_t *n_out);
    /* Rows for users and items added while serving (src/serve/grow.c):
     * the key dictionaries already hold the new key, so model_n_users/
     * items(m) count it, while the state is sized for old_users and
     * old_items users and items (at most one fewer).  Grows every per-user
     * and per-item part of the state, zeroing a new user's parameters
     * (update_user then fits them) and filling a new item's from
     * item_vector (dim floats: factor kinds; NULL and 0 for kinds without
     * item vectors).  All or nothing: AISLE_OK, AISLE_EINVAL (vector
     * missing or of the wrong size, message says which), AISLE_EUNSUPPORTED
     * (the kind can add users but not items) or AISLE_ENOMEM.  Optional
     * (NULL: the kind cannot grow). */
    int (*grow)(aisle_model *m, uint32_t old_users, uint32_t old_items, const float *item_vector, size_t dim);
    /* Products (side 0) or shoppers (side 1) described by a catalog join a
     * trained model, scored from their features: every row whose key the
     * model lacks is added (rows it has are left alone), *added counts
     * them.  All or nothing; the keys, popularity and history grow with
     * the state.  The caller (src/serve/grow.c) then extends the serving
     * index.  Optional (NULL: AISLE_EUNSUPPORTED). */
    int (*add_catalog)(aisle_model *m, const aisle_catalog *cat, int side, size_t *added);
} model_ops;

typedef struct model_metric {
    char name[32];
    double value;
} model_metric;

/* How implicit-feedback kinds read a pair's summed weight (weights.c). */
/* Read-only data an upper layer (serve: the int8 item index) derives from
 * a model's state on first use and keeps with it.  It is published once
 * through an atomic pointer (several readers may race to build it; one
 * wins, the others release theirs) and released by aisle_model_free.  Valid
 * while the item factors do not change (update_user changes user rows only). */
typedef struct model_cache {
    void (*release)(struct model_cache *self);
} model_cache;

typedef struct model_weight_rule {
    bool log;  /* ln(1 + w) */
    float cap; /* > 0: clip at it */
} model_weight_rule;

/* One user's history: its pairs in ascending item order, with the
 * aggregated weight (or rating), the latest time and the event count. */
typedef struct model_row {
    const uint32_t *items;
    const float *values;
    const int64_t *last_time;
    const uint32_t *count;
    size_t n;
} model_row;

/* A user's row after aisle_update_user: one allocation (this header, then
 * the arrays), owned by the overlay. */
typedef struct model_own_row {
    size_t n;
    int64_t *last_time;
    uint32_t *items, *count;
    float *values;
} model_own_row;

/* Live updates without copying every history (docs/SERVING.md, "Why an
 * overlay"): `history` is the CSR the model was trained or loaded with and
 * is never written after that (a mapped one stays in its file); a user
 * updated since has their row in row[u], which overrides the CSR row.  An
 * update replaces one row: O(that row + the new events), whatever the
 * model's size.  Memory: the CSR plus one row per updated user (a
 * replaced row is freed at once), so at most the CSR plus the current
 * history; saving writes the merged rows.  Users past history.rows (added
 * while serving) have an empty CSR row.  The rows are found through pages
 * of MODEL_OVERLAY_PAGE users, a page allocated when one of its users is
 * first updated, so the first update of a model costs a page, not a table
 * of every user. */
enum { MODEL_OVERLAY_PAGE = 4096 };
typedef struct model_overlay {
    model_own_row ***page; /* n_pages entries, each NULL or MODEL_OVERLAY_PAGE rows (NULL: the CSR row) */
    size_t n_pages;
    size_t rows_nnz;     /* pairs in the overlay rows */
    size_t shadowed_nnz; /* pairs of the CSR rows they override */
} model_overlay;
/* User u's overlay row, or NULL. */
static inline model_own_row *model_overlay_row(const model_overlay *o, uint32_t u) {
    size_t p = u / MODEL_OVERLAY_PAGE;
    return p < o->n_pages && o->page[p] ? o->page[p][u % MODEL_OVERLAY_PAGE] : NULL;
}

struct aisle_model {
    const model_ops *ops;
    core_keys users, items;
    data_csr history;      /* users x items training interactions (aggregated values) */
    float *popularity;     /* n_items: decayed/weighted interaction mass */
    aisle_config *config;  /* the options it was trained with (copy) */
    char writer_version[32];
    model_metric *metrics;
    size_t n_metrics, metrics_cap;
    model_weight_rule weight_rule; /* implicit kinds: how weights are read (weights.c) */
    void *state;           /* kind-specific */
    _Atomic(model_cache *) serve_cache; /* see model_cache; NULL until first needed */
    model_overlay overlay; /* rows of users updated while serving, over `history` (model_history_row) */
    io_map *map;           /* option mmap: the file the state's tensors point into, or NULL */
    bool map_users_writable; /* the mapped user rows were made copy-on-write (model_unshare_users) */
    unsigned history_borrowed; /* MODEL_HISTORY_*: history arrays inside m->map (never written or freed) */
};
enum { MODEL_HISTORY_INDPTR = 1, MODEL_HISTORY_ENTRIES = 2 /* indices, values, last_time, count */ };
/* Frees the arrays of h that are not borrowed (MODEL_HISTORY_* bits) and
 * empties h. */
void model_history_release(data_csr *h, unsigned borrowed);

/* User u's history row (u < model_n_users(m)): the overlay's row if the
 * user was updated, else the CSR's.  Every reader of a user's history
 * (serving, explain, batch, eval, save) goes through it; training reads
 * m->history directly, as a model being trained has no overlay.  The
 * pointers stay valid until the next change of u (update_user). */
static inline model_row model_history_row(const aisle_model *m, uint32_t u) {
    const model_own_row *o = model_overlay_row(&m->overlay, u);
    if (o) return (model_row){o->items, o->values, o->last_time, o->count, o->n};
    const data_csr *h = &m->history;
    if (u >= h->rows || !h->indptr) return (model_row){NULL, NULL, NULL, NULL, 0};
    size_t b = h->indptr[u];
    return (model_row){h->indices + b, h->values + b, h->last_time + b, h->count + b, h->indptr[u + 1] - b};
}
/* Pairs in the whole history (the CSR's with the overlay's rows). */
static inline size_t model_history_nnz(const aisle_model *m) {
    return m->history.nnz - m->overlay.shadowed_nnz + m->overlay.rows_nnz;
}
/* A row of n pairs for the overlay (one allocation; arrays not set), or
 * NULL (AISLE_ENOMEM, message set). */
model_own_row *model_own_row_new(size_t n);
/* Makes room in the overlay for user u's row (u < model_n_users(m)): the
 * page directory covering every user of m (amortised: it grows by half)
 * and u's page.  AISLE_OK or AISLE_ENOMEM (what was allocated is kept;
 * the rows read the same). */
int model_overlay_reserve(aisle_model *m, uint32_t u);
/* Puts row (NULL: back to the CSR row) in place of user u's row and
 * returns the row it replaced (NULL if that was the CSR's; the caller
 * frees it or puts it back).  Cannot fail: model_overlay_reserve(m, u)
 * first. */
model_own_row *model_overlay_swap(aisle_model *m, uint32_t u, model_own_row *row);
/* Frees every overlay row and the table. */
void model_overlay_free(model_overlay *o);

/* Registry (registry.c). */
extern const model_ops *const model_kinds[];
const model_ops *model_find_kind(const char *name);

/* Allocates an empty model of a kind (used by train and load). */
int model_alloc(const model_ops *ops, aisle_model **out);
/* Fills keys, history and popularity from a dataset (used by train). */
int model_init_generic(aisle_model *m, const aisle_dataset *ds, const aisle_config *cfg);
/* Applies the weight rule to m->history (model_init_generic calls it for
 * kinds that do not predict ratings): drops pairs netting <= 0, sets
 * m->weight_rule from cfg, stores the counts "nonpositive_pairs" and
 * "capped_pairs" as metrics.  See weights.c. */
int model_implicit_history(aisle_model *m, const aisle_config *cfg);
/* Writes m->weight_rule into m->config (saved with the model). */
int model_pin_weight_rule(aisle_model *m);
/* m->weight_rule from a loaded model's options (unset: linear, no cap, as
 * files written before the rule existed were trained). */
void model_weight_params_of(aisle_model *m);
void model_weight_params(const aisle_config *cfg, model_weight_rule *rule);
/* One weight under the rule: 0 for w <= 0 or NaN ("no interaction"). */
float model_weight_apply(const model_weight_rule *rule, float w);
/* The history with ruled weights, by user and by item (indptr, indices,
 * values only).  Free both with data_csr_free. */
int model_weighted_history(const aisle_model *m, data_csr *by_user, data_csr *by_item);

/* Query for a known user from the model's history. */
void model_user_query(const aisle_model *m, uint32_t user, model_query *q);

/* Model files (model_file.c; docs/FORMAT.md).  A writer holding every
 * section of m (generic ones, then the kind's). */
int model_writer(const aisle_model *m, const aisle_config *cfg, io_writer **out);
/* aisle_model_save with the write-failure test hook of io_writer_to_file. */
int model_save_file(const aisle_model *m, const char *path, const aisle_config *cfg, uint64_t fail_after);
/* aisle_model_load_buffer / aisle_model_load (src/api wraps them): tables
 * are every option table, to read back the options stored in the file. */
int model_load_buffer(aisle_model **out, const void *data, size_t len, const aisle_config *cfg,
                      option_tables tables);
int model_load_file(aisle_model **out, const char *path, const aisle_config *cfg, option_tables tables);
/* The generic sections in the layout a mapped open serves in place
 * (model_map.c; save option store_mappable, sections 6..8).  save adds
 * them when the option asks; load, on a mapped file holding all three,
 * binds m's keys and history to them (*served true) and marks USERS, ITEMS
 * and HISTORY read, else leaves m alone (*served false: decode those). */
int model_map_save(const aisle_model *m, io_writer *w);
int model_map_load(aisle_model *m, io_reader *r, bool *served);
/* model_load_file with option mmap=true (docs/FORMAT.md, "Mapped models"). */
int model_map_file(aisle_model **out, const char *path, const aisle_config *cfg, option_tables tables);

static inline uint32_t model_n_users(const aisle_model *m) { return (uint32_t)m->users.n; }
static inline uint32_t model_n_items(const aisle_model *m) { return (uint32_t)m->items.n; }

/* ---- shared by the latent-factor kinds mf, als, bpr (factors.c) ----
 * A kind with MODEL_FACTORS keeps a model_factors as the FIRST member of
 * its state, so serving can multiply factor blocks with BLAS (batch) and
 * fold sessions in without knowing the kind. */
enum { MODEL_FACTORS = 1u << 3 };

typedef struct model_factors {
    uint32_t dim;
    float *user;      /* n_users x dim, row-major */
    float *item;      /* n_items x dim */
    float *user_bias; /* n_users (explicit kinds) or NULL; read and written through model_user_bias */
    float *item_bias; /* n_items (explicit kinds) or NULL */
    float mean;       /* global mean rating (explicit) */
    float rmin, rmax; /* observed rating range (explicit; score_one clips) */
    bool explicit_r;  /* fold-in as ridge regression on ratings (mf) instead of HKV (als, bpr) */
    float reg, alpha; /* fold-in regularisation and confidence 1 + alpha * w */
    float *gram;      /* dim x dim item Gram matrix Q^T Q (implicit kinds) */
    model_weight_rule rule; /* implicit: how fold-in reads weights (the model's weight_rule) */
    unsigned borrowed;      /* MODEL_BORROWED_*: arrays inside m->map (never freed here) */
    struct model_int8 *int8; /* the stored int8 item copy (save option store_int8), or NULL */
    /* A mapped quantize=fp16 file serves its factor tensors as stored
     * (factors_f16.c): a side's binary16 rows inside m->map, with user
     * (or item) NULL.  Read every row through model_factors_rows (or the
     * _row helpers), which widen the rows they return; rows written since
     * (updates, rows added) live in f16[side] (model_f16_side). */
    const uint16_t *user16, *item16;
    struct model_f16_side {
        /* Rows written over a side served as fp16 (docs/SERVING.md, "A
         * write to a mapped fp16 model"): the file's rows are never
         * written, and the whole side is never copied.  A written row
         * (aisle_update_user) gets its own fp32 row in an arena of
         * MODEL_F16_CHUNK-row chunks, found through pages of
         * MODEL_F16_PAGE slots (0: the file's row; else 1 + its arena
         * slot), a page allocated when a row of it is first written;
         * rows added while serving (index >= n16) are one contiguous fp32
         * block.  So the first write costs a page and a chunk, whatever
         * the side's size, and reads of a side nobody wrote (written 0,
         * rows below n16) take the plain widening path. */
        size_t n16;       /* rows in the file */
        size_t written;   /* rows below n16 with an arena row (= slots used) */
        uint32_t **page;  /* (n16 + MODEL_F16_PAGE - 1) / MODEL_F16_PAGE entries, NULL until the first write */
        float **chunk;    /* chunk_cap entries, the first (written + CHUNK - 1) / CHUNK allocated */
        size_t chunk_cap;
        float *tail;      /* rows n16 .. n16 + tail_cap, those below the side's row count in use */
        size_t tail_cap;
    } f16[2];             /* MODEL_SIDE_USERS, MODEL_SIDE_ITEMS */
    /* A mapped user_bias (MODEL_BORROWED_UBIAS) holds the file's
     * ubias_rows users; users added after opening keep theirs in the owned
     * ubias_added (user ubias_rows + i at i), so adding a user does not
     * copy 4 bytes of every user out of the mapping. */
    float *ubias_added;
    uint32_t ubias_rows;
} model_factors;
enum { MODEL_F16_PAGE = 4096, MODEL_F16_CHUNK = 256 };

enum { MODEL_BORROWED_USER = 1, MODEL_BORROWED_ITEM = 2, MODEL_BORROWED_UBIAS = 4, MODEL_BORROWED_IBIAS = 8 };

/* The bias of user u (u < the model's users) of an explicit model. */
static inline float *model_user_bias(const model_factors *f, size_t u) {
    if ((f->borrowed & MODEL_BORROWED_UBIAS) && u >= f->ubias_rows) return f->ubias_added + (u - f->ubias_rows);
    return f->user_bias + u;
}

/* The int8 copy of a factor model's item matrix that serving scans for its
 * exact top-k (layout and error bound: src/serve/quant.c).  Built there on
 * first use, or stored in the file (store_int8) and read back, in place
 * when the file is mapped (factors_int8.c). */
enum { MODEL_INT8_ROWS = 8 }; /* rows per block */
typedef struct model_int8 {
    uint32_t n, dim, quads, blocks;
    const int8_t *q;      /* blocks x quads x MODEL_INT8_ROWS x 4 */
    const float *scale;   /* blocks * MODEL_INT8_ROWS: s_j (0 for zero and padding rows, NaN: always re-score) */
    const float *ib;      /* blocks * MODEL_INT8_ROWS item biases (0 padding), or NULL */
    const float *rnorm;   /* n: |r_j| rounded up */
    const float *norm;    /* n: |v_j| rounded up */
    float ratio_r, ratio_n; /* R, N: max |r_j| / s_j and |v_j| / s_j */
    float ib_max;         /* max |item bias| */
    void *owned;          /* one heap block holding the arrays, or NULL (views into a mapping) */
    uint32_t cap;         /* rows owned is laid out for (layout of cap rows) after an append; 0: exactly n */
} model_int8;
int model_int8_build(const model_factors *f, uint32_t n, model_int8 **out);
/* Adds item row j (= t->n, already in f) to t in place, copying t into a
 * bigger owned block when it is full, exactly sized or mapped (amortised:
 * O(dim) per row); the index stays what a build over all rows would give
 * up to its bound constants, which may be larger (still bounds).  On
 * failure (AISLE_ENOMEM, AISLE_ERANGE) t is unchanged. */
int model_int8_append(model_int8 *t, const model_factors *f, uint32_t j);
void model_int8_free(model_int8 *t);
/* Rounds a non-negative double up to a float that is >= it (the bound's
 * constants are rounded so that they stay bounds). */
float model_int8_round_up(double v);
/* The stored copy: section IO_SECTION_KIND + 6 (optional); load checks its
 * shape against f and the model's items. */
int model_int8_save(const model_factors *f, uint32_t n, io_writer *w);
int model_int8_load(model_factors *f, uint32_t n, io_reader *r);
/* Before a write to a mapped model's user rows (aisle_update_user): makes
 * fp32 rows (and user biases) copy-on-write, so only the pages written are
 * copied and the file never changes; fp16 rows need nothing (their writes
 * go to the overlay, model_factors_row_w).  AISLE_OK at once for a model
 * that is not mapped. */
int model_unshare_users(aisle_model *m);

/* Dot product used by every factor kernel: two 4-wide accumulators in a
 * fixed order (vectorised without -ffast-math, deterministic). */
static inline float model_dot(const float *a, const float *b, uint32_t n) {
    uint32_t k = 0;
    float r = 0.0f;
#if defined(__GNUC__)
    typedef float v4 __attribute__((vector_size(16)));
    v4 s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0};
    for (; k + 8 <= n; k += 8) {
        v4 a0, a1, b0, b1;
        memcpy(&a0, a + k, sizeof a0);
        memcpy(&a1, a + k + 4, sizeof a1);
        memcpy(&b0, b + k, sizeof b0);
        memcpy(&b1, b + k + 4, sizeof b1);
        s0 += a0 * b0;
        s1 += a1 * b1;
    }
    v4 t = s0 + s1;
    r = (t[0] + t[2]) + (t[1] + t[3]);
#endif
    for (; k < n; k++) r += a[k] * b[k];
    return r;
}

/* y += a * x (vectorised like model_dot). */
static inline void model_axpy(float *y, float a, const float *x, uint32_t n) {
    uint32_t k = 0;
#if defined(__GNUC__)
    typedef float v4 __attribute__((vector_size(16)));
    v4 av = {a, a, a, a};
    for (; k + 4 <= n; k += 4) {
        v4 xv, yv;
        memcpy(&xv, x + k, sizeof xv);
        memcpy(&yv, y + k, sizeof yv);
        yv += av * xv;
        memcpy(y + k, &yv, sizeof yv);
    }
#endif
    for (; k < n; k++) y[k] += a * x[k];
}

/* ---- factor rows, fp32 or fp16 as stored (factors_f16.c) ---- */
enum { MODEL_SIDE_USERS = 0, MODEL_SIDE_ITEMS = 1 };
/* Floats in the stack buffer a loop over every item widens its blocks
 * into (16 KiB: stays in L1 with the query). */
enum { MODEL_WIDE_FLOATS = 4096 };
/* n binary16 values to fp32 (exact: the values io_f16_to_f32 gives; F16C
 * where the CPU has it). */
void model_f16_widen(const uint16_t *h, float *out, size_t n);
/* out[i] = model_dot(x, row i widened, d), bit for bit, for n fp16 rows
 * of d <= MODEL_WIDE_FLOATS values at h (the rows widened in registers:
 * the fp16 scan's kernel). */
void model_f16_dots(const float *x, const uint16_t *h, size_t n, uint32_t d, float *out);
/* Row r of an fp16 side's overlay (fp32), or NULL for the file's row. */
static inline float *model_f16_written(const struct model_f16_side *o, size_t r, uint32_t dim) {
    if (r >= o->n16) return o->tail + (r - o->n16) * dim;
    if (!o->written) return NULL;
    const uint32_t *pg = o->page[r / MODEL_F16_PAGE];
    uint32_t s = pg ? pg[r % MODEL_F16_PAGE] : 0;
    return s ? o->chunk[(s - 1) / MODEL_F16_CHUNK] + (size_t)((s - 1) % MODEL_F16_CHUNK) * dim : NULL;
}
/* Whether rows [first, first + n) of an fp16 side are all the file's
 * (nothing written or added among them; the fast paths' test). */
static inline bool model_f16_plain(const model_factors *f, int side, size_t first, size_t n) {
    return first + n <= f->f16[side].n16 && !f->f16[side].written;
}
/* model_factors_rows of an fp16 side that is not plain (factors_f16.c). */
const float *model_f16_rows_merged(const model_factors *f, int side, size_t first, size_t n, float *tmp);
/* Rows [first, first + n) of a side (MODEL_SIDE_*) as fp32: a pointer
 * into the fp32 matrix, or tmp (room for n * dim floats) holding the
 * widened fp16 rows of a mapped quantize=fp16 file with the rows written
 * since in place of theirs (or a pointer to those rows themselves). */
static inline const float *model_factors_rows(const model_factors *f, int side, size_t first, size_t n, float *tmp) {
    const float *a = side == MODEL_SIDE_ITEMS ? f->item : f->user;
    if (a) return a + first * f->dim;
    if (!model_f16_plain(f, side, first, n)) return model_f16_rows_merged(f, side, first, n, tmp);
    model_f16_widen((side == MODEL_SIDE_ITEMS ? f->item16 : f->user16) + first * f->dim, tmp, n * f->dim);
    return tmp;
}
static inline const float *model_factors_item_row(const model_factors *f, size_t j, float *tmp) {
    return model_factors_rows(f, MODEL_SIDE_ITEMS, j, 1, tmp);
}
static inline const float *model_factors_user_row(const model_factors *f, size_t u, float *tmp) {
    return model_factors_rows(f, MODEL_SIDE_USERS, u, 1, tmp);
}
/* Rows per block a loop over a side asks model_factors_rows for with a
 * MODEL_WIDE_FLOATS buffer (every row at once for fp32). */
static inline uint32_t model_factors_block_rows(const model_factors *f, int side) {
    const float *a = side == MODEL_SIDE_ITEMS ? f->item : f->user;
    return a ? UINT32_MAX : (uint32_t)(MODEL_WIDE_FLOATS / f->dim > 0 ? MODEL_WIDE_FLOATS / f->dim : 1);
}
/* Whether a side is served as fp16 rows from a mapping. */
static inline bool model_factors_f16(const model_factors *f, int side) {
    return side == MODEL_SIDE_ITEMS ? !f->item && f->item16 : !f->user && f->user16;
}
/* Row r of a side for writing (r below the side's row count): the fp32
 * matrix's row, or an fp16 side's overlay row, made on its first write
 * holding the file's row widened (so a write that then fails leaves the
 * same values).  AISLE_OK or AISLE_ENOMEM (f unchanged).  Callers hold the
 * model exclusively (the server's write lock). */
int model_factors_row_w(model_factors *f, int side, size_t r, float **out);
/* Makes room for rows >= n16 up to `rows` rows of an fp16 side (the rows
 * added while serving; amortised: O(the added rows), not O(the side)).
 * AISLE_OK at once for an fp32 side; AISLE_ENOMEM leaves f as it was. */
int model_f16_reserve(model_factors *f, int side, size_t rows);
/* Frees an fp16 side's overlay (model_factors_free calls it). */
void model_f16_side_free(struct model_f16_side *o);
/* A side as one fp32 matrix for a save: the matrix itself, or a widened
 * copy with the written rows merged in *owned (core_free it).  AISLE_OK
 * or AISLE_ENOMEM. */
int model_factors_side_fp32(const model_factors *f, int side, size_t rows, const float **out, float **owned);

/* The score of item row `row` (item j) for query vector x with offset
 * base, exactly as model_factors_score_items computes it: every exact
 * path (fp32 scan, re-scoring after the int8 scan, the fp16 rows of a
 * mapped file widened) calls this, so results agree bit for bit. */
static inline float model_factors_score_row(const model_factors *f, const float *x, float base, const float *row,
                                            uint32_t j) {
    float s = model_dot(x, row, f->dim) + base;
    if (f->item_bias) s += f->item_bias[j];
    return s;
}
/* The same for item j, widened into tmp (dim floats) when fp16. */
static inline float model_factors_row_score(const model_factors *f, const float *x, float base, uint32_t j,
                                            float *tmp) {
    return model_factors_score_row(f, x, base, model_factors_item_row(f, j, tmp), j);
}
/* The query vector of q (the user's row, or the session folded into tmp,
 * which has room for dim floats; an fp16 user row is widened into tmp)
 * and the score offset (global mean and user bias of explicit kinds). */
int model_factors_query(const model_factors *f, const model_query *q, float *tmp, const float **x, float *base);

void model_factors_free(model_factors *f);
/* The factors of a latent-factor kind, or NULL for kinds without item
 * vectors.  Read-only (rows through model_factors_item_row: they may be
 * the fp16 rows of a mapped file); used by search for behaviour-space
 * retrieval. */
const model_factors *model_item_factors(const aisle_model *m);
/* Allocates user/item (and biases if explicit) matrices, zeroed. */
int model_factors_alloc(model_factors *f, uint32_t users, uint32_t items, uint32_t dim, bool explicit_r);
/* out (dim x dim, full symmetric) = A^T A for A rows x dim; one cblas_ssyrk. */
void model_factors_gram(const float *a, size_t rows, uint32_t dim, float *out);
/* Solves A x = b in place (A: n x n SPD, overwritten by its Cholesky
 * factor; b becomes x).  Returns AISLE_OK or AISLE_ERANGE if not SPD. */
int model_cholesky_solve(double *a, double *b, uint32_t n);
/* The user vector that best explains a session (items with weights; NULL
 * weights = 1): ridge regression on ratings for explicit models, the
 * Hu-Koren-Volinsky closed form with the stored Gram matrix otherwise.
 * If z_item is not NULL it also receives A^-1 q_item (for explain). */
int model_factors_fold_in(const model_factors *f, const uint32_t *items, const float *w, size_t n, float *x,
                          int64_t z_item, float *z);
/* The generic ops of factor kinds. */
int model_factors_score_items(const aisle_model *m, const model_query *q, float *scores);
int model_factors_score_one(const aisle_model *m, const model_query *q, uint32_t item, float *score);
int model_factors_similar(const aisle_model *m, uint32_t item, float *scores);
/* Cosine of item rows over their first k coordinates (ni items): what
 * model_factors_similar (k = dim) and hybrid (without its bias
 * coordinate) serve.  AISLE_OK or AISLE_ENOMEM (a mapped fp16 model). */
int model_factors_cosine(const model_factors *f, uint32_t item, uint32_t k, uint32_t ni, float *scores);
int model_factors_explain(const aisle_model *m, const model_query *q, uint32_t item, float *contrib);
int model_factors_update_user(aisle_model *m, uint32_t user);
/* model_ops.grow of a bare model_factors state (als, bpr; mf for users).
 * item_vector holds the (model_n_items(m) - old_items) new rows of dim
 * floats each (server calls add one; hybrid's add_catalog several); the
 * new item biases of explicit models start at 0. */
int model_factors_grow(aisle_model *m, uint32_t old_users, uint32_t old_items, const float *item_vector, size_t dim);
int model_factors_describe(const aisle_model *m, core_buf *out);
/* save / load of a state that is a bare model_factors (mf, als, bpr):
 * factor matrices as tensors in the writer's encoding (option quantize),
 * biases, Gram matrix and scalars in fp32. */
int model_factors_save(const aisle_model *m, io_writer *w);
int model_factors_load(aisle_model *m, io_reader *r);
/* free_state for such a state. */
void model_factors_free_state(aisle_model *m);
/* One SGD update of biased MF on rating r for user row p / item row q
 * (exposed for tests); returns the error before the update. */
float model_mf_sgd_step(float *restrict p, float *restrict q, float *bu, float *bi, uint32_t dim, float mean, float r, float lr,
                        float reg);
/* One SVD++ SGD update (mf implicit_feedback=true): as above with the
 * user's implicit sum z added to p in the prediction and in q's gradient,
 * e * q (before the update) added to acc (the user's y gradient), and
 * reg_bias for the biases.  z and acc may be NULL (plain biased MF). */
float model_mf_svdpp_step(float *restrict p, float *restrict q, const float *z, float *acc, float *bu, float *bi,
                          uint32_t dim, float mean, float r, float lr, float reg, float reg_bias);
/* The SVD++ y matrix (n_items x dim) of an mf model, or NULL (tests). */
const float *model_mf_implicit(const aisle_model *m);

/* ---- als hooks for distributed training (als.c; used by src/dist) ----
 * A rank solves only its own rows: `rows` is a CSR of those rows (ruled
 * weights, global column indices into y), x their factors (rows x dim,
 * warm start in, solution out), y the full fixed side, gram its Gram
 * matrix with lambda already on the diagonal.  The per-row arithmetic is
 * exactly als_train's, so a row solved here equals the same row solved by
 * one process given the same inputs. */
typedef struct model_als_rows {
    const data_csr *rows;
    float *x;
    /* the fixed side: rows->cols rows of dim floats, indexed by the CSR's
     * column indices (src/dist passes a compact buffer of the rows it
     * holds, remapping the indices and setting cols to its row count) */
    const float *y;
    const float *gram;
    uint32_t dim;
    float alpha;
    const char *solver; /* "cg" or "cholesky" */
    int cg_steps, threads;
    /* the als_gather option: "fp16" gathers y's rows from an fp16 copy made
     * here (as als_train does each half-iteration), NULL or "fp32" from y */
    const char *gather;
} model_als_rows;
/* Solves every row of r (row_loss NULL), or, with row_loss (rows entries),
 * leaves x alone and writes each row's loss term as als_train's progress
 * loss computes it (gram then without lambda).  AISLE_OK, AISLE_ENOMEM,
 * AISLE_ERANGE (cholesky: not positive definite). */
int model_als_solve_rows(const model_als_rows *r, double *row_loss);
/* The lambda als trains with for cfg: regularization, times pairs /
 * (users + items) when scale_regularization (pairs: the weighted history's
 * nonzeros, as als_train counts them). */
float model_als_effective_reg(const aisle_config *cfg, double pairs, uint32_t users, uint32_t items);
/* Gives m (keys, history, config set) an als state of zeroed factors of
 * dim columns with reg, alpha and the weight rule from m; *out points at
 * them (owned by m).  AISLE_OK or AISLE_ENOMEM. */
int model_als_state_new(aisle_model *m, uint32_t dim, model_factors **out);
/* ---- training checkpoints (checkpoint.c; docs/FORMAT.md, kind
 * "train-checkpoint"; written and read by src/dist) ----
 * A kind's training state is a list of named arrays of 4- or 8-byte
 * values (floats and u32 as width 4, doubles, u64 and RNG words as width
 * 8); the fingerprint is a list of named 64-bit fields (hashes of the
 * data, option values) that must all match for a resume. */
enum { MODEL_CKPT_MAX_FIELDS = 128 };
typedef struct model_ckpt_field {
    const char *name;
    uint64_t value;
} model_ckpt_field;
typedef struct model_ckpt_part {
    const char *name;
    void *data;     /* count values of width bytes: written from, read into */
    uint64_t count;
    uint32_t width; /* 4 or 8 */
} model_ckpt_part;
typedef struct model_ckpt {
    const char *kind; /* the model kind */
    const model_ckpt_field *fields; /* at most MODEL_CKPT_MAX_FIELDS */
    size_t n_fields;
    const model_ckpt_part *parts; /* at most 64 */
    size_t n_parts;
} model_ckpt;
/* Mixes n bytes into the running fingerprint hash h: core_hash_words,
 * eight bytes at a time (earlier builds used FNV-1a, a byte at a time,
 * about 5x slower over a large CSR). */
uint64_t model_ckpt_hash(uint64_t h, const void *p, size_t n);
/* The fingerprint field naming model_ckpt_hash's algorithm, and its value
 * for core_hash_words.  A checkpoint written with byte-wise FNV-1a has no
 * such field; model_ckpt_read refuses it (or another value) naming the
 * hash before any data field, whose values all differ for that reason. */
#define MODEL_CKPT_HASH_FIELD "hash"
enum { MODEL_CKPT_HASH_WORDS = 2 };
/* The largest file model_ckpt_read accepts for ck (its parts plus room). */
uint64_t model_ckpt_max_bytes(const model_ckpt *ck);
/* Saves ck's fields and parts with the progress counter `epoch`
 * atomically at path.  AISLE_OK, AISLE_EIO, AISLE_ENOMEM, AISLE_EINVAL
 * (too many fields or parts). */
int model_ckpt_write(const char *path, const aisle_config *cfg, const model_ckpt *ck, uint64_t epoch);
/* Reads a checkpoint image (name for messages) written for ck: the same
 * kind, every field of ck present with its value, the same parts (names,
 * widths, counts, order); then fills every part and *epoch.  Nothing is
 * written unless all of it is read.  AISLE_OK, AISLE_EFORMAT (not a
 * checkpoint, damaged, or another run's: the message names the differing
 * field or array), AISLE_EVERSION, AISLE_ENOMEM, AISLE_EINVAL (ck too
 * large). */
int model_ckpt_read(const void *data, size_t len, const char *name, const model_ckpt *ck, uint64_t *epoch);
/* The progress counter of a checkpoint image alone (nothing else
 * checked), for a kind whose state's layout depends on it (the text
 * encoder's stages): model_ckpt_read then checks the whole image against
 * the layout the counter picks.  max_bytes bounds the image as
 * model_ckpt_max_bytes does.  AISLE_OK, AISLE_EFORMAT (not a checkpoint,
 * damaged), AISLE_EVERSION, AISLE_ENOMEM. */
int model_ckpt_peek(const void *data, size_t len, const char *name, uint64_t max_bytes, uint64_t *epoch);
/* Checkpointing from inside a kind's training loop (bpr, mf, sasrec
 * hooks below; implemented by src/dist/checkpoint.c).  The kind lists its
 * state as parts pointing at its live buffers.  resume, once before the
 * first epoch, either fills every part and sets *done to the epochs the
 * state has completed, or leaves them and sets 0.  save after every
 * epoch (done: epochs completed; last: training ends after it) decides
 * whether to write.  Both are collective in src/dist; a status ends
 * training. */
typedef struct model_ckpt_hook {
    int (*resume)(void *ctx, const model_ckpt_part *parts, size_t n, uint64_t *done);
    int (*save)(void *ctx, const model_ckpt_part *parts, size_t n, uint64_t done, bool last);
    void *ctx;
} model_ckpt_hook;
/* model_init_generic from parts built elsewhere (src/dist): takes
 * ownership of users, items and history (aggregated values, rows sorted)
 * whatever it returns. */
int model_init_parts(aisle_model *m, core_keys *users, core_keys *items, data_csr *history, const aisle_config *cfg);

/* ---- sasrec data-parallel hook (sasrec_train.c; used by src/dist) ----
 * Each optimizer step is computed in shards (at most SASREC_SHARDS per
 * batch), each drawing its negatives and dropout masks from a stream of
 * its own (seed, step, shard).  With a hook, a process computes only the
 * shards [lo, hi) that slice gives it out of the step's shard count, and
 * reduce is called after the backward pass, before the update: it must
 * leave in grad (n floats) the sum over all processes, in touched
 * (n_touched row flags of the lazily updated item embeddings, or NULL)
 * their union, and in *loss_sum the summed loss.  The loss is normalised
 * by the whole batch's positions, so the processes together compute the
 * one-process step; only the order of the gradient sum over the shards
 * differs (per process, then over processes). */
typedef struct model_sasrec_hook {
    void (*slice)(void *ctx, size_t shards, size_t *lo, size_t *hi);
    /* rows: with lazy_adam, where the item table lies in grad (its
     * untouched rows are never read, so only the touched need a sum);
     * width 0 otherwise */
    int (*reduce)(void *ctx, float *grad, size_t n, unsigned char *touched, size_t n_touched, nn_lazy_rows rows,
                  double *loss_sum);
    void *ctx;
    const model_ckpt_hook *ckpt; /* or NULL */
} model_sasrec_hook;
/* model_ops.train of sasrec with a hook (NULL: as sasrec's train). */
int model_sasrec_train_hooked(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat,
                              const aisle_config *cfg, core_progress *prog, const model_sasrec_hook *hook);

/* ---- SGD data-parallel hook (bpr.c; used by src/dist) ----
 * With a hook, each epoch's n samples (the one-process epoch's, drawn in
 * chunks of `grain` with a random stream per chunk) are split by
 * epoch_begin, which also sees the factors (user: n_user floats, item:
 * n_item) the epoch starts from and sets lo, hi (multiples of grain, or
 * n): this process draws only samples [lo, hi).  epoch_end then combines
 * the factors and the summed loss over all processes. */
typedef struct model_sgd_hook {
    int (*epoch_begin)(void *ctx, const float *user, size_t n_user, const float *item, size_t n_item, size_t n,
                       size_t grain, size_t *lo, size_t *hi);
    int (*epoch_end)(void *ctx, float *user, size_t n_user, float *item, size_t n_item, double *loss_sum);
    void *ctx;
    const model_ckpt_hook *ckpt; /* or NULL: state = both factor matrices */
} model_sgd_hook;
/* model_ops.train of bpr with a hook (NULL: as bpr's train). */
int model_bpr_train_hooked(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                           core_progress *prog, const model_sgd_hook *hook);

/* ---- MF DSGD hook (mf_dsgd.c; used by src/dist) ----
 * DSGD (Gemulla, Nijkamp, Haas & Sismanis, "Large-Scale Matrix
 * Factorization with Distributed Stochastic Gradient Descent", KDD 2011)
 * over `parts` processes, each holding a replica of mf's training
 * parameters.  Users and items, in mf's permuted training order, are split
 * into `parts` contiguous blocks (block b of n rows starts at
 * model_part_lo(n, parts, b)).  In sub-epoch s, process `part` runs its
 * FPSG pass over the ratings of user block `part` x item block
 * (part + s) mod parts -- blocks no two processes share in that sub-epoch
 * -- then calls pass(s), which must send that item block (rows and
 * biases) to process part - 1 and receive block (part + s + 1) mod parts
 * from process part + 1; after the last pass a process holds its own item
 * block again.  epoch_end must then give every process every other's user
 * block and item block (rows and biases) and sum *sse over the processes,
 * so every replica ends the epoch with the same parameters (validation,
 * SVD++'s y update and early stopping then run replicated).  Either may
 * return a status, which ends training. */
static inline uint32_t model_part_lo(uint32_t n, int parts, int b) {
    return (uint32_t)(((uint64_t)n * (uint64_t)b + (uint64_t)parts - 1) / (uint64_t)parts);
}
typedef struct model_mf_arena {
    float *user, *item, *user_bias, *item_bias; /* rows in training order */
    size_t user_stride, item_stride;            /* floats per row */
    uint32_t users, items;
} model_mf_arena;
typedef struct model_mf_hook {
    int parts, part;
    int (*pass)(void *ctx, const model_mf_arena *a, int sub);
    int (*epoch_end)(void *ctx, const model_mf_arena *a, double *sse);
    void *ctx;
    const model_ckpt_hook *ckpt; /* or NULL */
} model_mf_hook;
/* model_ops.train of mf with a hook (NULL: as mf's train). */
int model_mf_train_hooked(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                          core_progress *prog, const model_mf_hook *hook);

/* ---- the intent kind (intent.c) ---- */
/* aisle_text_train (src/api wraps it): tables lists every option table, for
 * reading a teacher model file. */
int model_text_train(const aisle_texts *t, const aisle_config *cfg, option_tables tables, aisle_model **out);
/* The same with a data-parallel hook (src/dist/text.c; NULL: as
 * model_text_train): the architecture's training slices every step's
 * batch over the ranks and sums the gradients through dp, everything else
 * (split, calibration) runs replicated.  AISLE_EUNSUPPORTED for an
 * architecture without train_dp. */
struct nn_dp_hook;
int model_text_train_hooked(const aisle_texts *t, const aisle_config *cfg, option_tables tables,
                            const struct nn_dp_hook *dp, aisle_model **out);
/* Calibrated probabilities of every text of t into a new rows x labels
 * array (*probs, core_free), computed on `threads` threads, and the
 * model's unknown threshold.  AISLE_EUNSUPPORTED for other kinds. */
/* Architecture i of the intent kind (the text layer's, then bert's), NULL
 * past the last: for the option table list and messages. */
struct text_arch_ops;
const struct text_arch_ops *model_text_arch_at(int i);
int model_text_probs(const aisle_model *m, const aisle_texts *t, int threads, float **probs, float *threshold);
/* Text vectors of an intent model (its architecture's embed op: the
 * pooled vector its head reads) for src/search: the width, one text's
 * vector (scratch: the caller's text_doc, reusable; thread-safe on a
 * shared model with one scratch per thread) and a 64-bit fingerprint of
 * the feature settings, dimensions and every weight by algorithm alg
 * (TEXT_FP_WORDS, or TEXT_FP_BYTES for vectors saved before it: text.h).
 * AISLE_EUNSUPPORTED for another kind or an architecture without
 * vectors. */
struct text_doc;
int model_text_embed_dim(const aisle_model *m, size_t *dim);
int model_text_embed(const aisle_model *m, const char *text, size_t len, struct text_doc *scratch, float *out);
int model_text_fingerprint(const aisle_model *m, int alg, uint64_t *out);

/* A text explanation (aisle_text_explanation_*) from n tokens: token k is
 * the NUL-terminated string at tokens + off[k] (tokens_len bytes in all,
 * NULs included), with contribution contrib[k]; everything is copied.
 * Used by other kinds that explain in words (pair). */
int model_text_explanation_new(const char *label, const char *tokens, const size_t *off, const float *contrib,
                               size_t n, size_t tokens_len, aisle_text_explanation **out);

#endif /* AISLE_MODELS_H */
