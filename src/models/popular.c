/* popular.c - popularity baseline: items ranked by how many users (or how
 * much weight) they drew, optionally decayed by age with a half-life. */
#include "models.h"

#include <math.h>
#include <string.h>

static const option_spec popular_options[] = {
    {"half_life", AISLE_OPTION_FLOAT, 0, 1e6, "0", NULL, "popular",
     "Half-life in days of an interaction's weight, counted back from the newest event; 0 disables decay."},
    {"popular_by", AISLE_OPTION_STRING, 0, 0, "users", "users|weight", "popular",
     "Count distinct users per item, or sum the aggregated event weights."},
    OPTION_END};

typedef struct popular_state {
    float *score; /* n_items */
} popular_state;

static void popular_free(aisle_model *m) {
    popular_state *s = m->state;
    if (!s) return;
    core_free(s->score);
    core_free(s);
    m->state = NULL;
}

static int popular_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                         core_progress *prog) {
    (void)ds;
    (void)cat;
    double half_life_s = config_float(cfg, popular_options, "half_life") * 86400.0;
    bool by_weight = strcmp(config_string(cfg, popular_options, "popular_by"), "weight") == 0;
    popular_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("popular model");
    m->state = s;
    uint32_t ni = model_n_items(m);
    s->score = core_calloc(ni ? ni : 1, sizeof *s->score);
    if (!s->score) return core_oom("popular model");
    const data_csr *h = &m->history;
    int64_t newest = INT64_MIN;
    for (size_t k = 0; k < h->nnz; k++)
        if (h->last_time[k] > newest) newest = h->last_time[k];
    /* Accumulate in double: large shops sum millions of small weights. */
    double *acc = core_calloc(ni ? ni : 1, sizeof *acc);
    if (!acc) return core_oom("popular model");
    for (size_t k = 0; k < h->nnz; k++) {
        double w = by_weight ? model_weight_apply(&m->weight_rule, h->values[k]) : 1.0;
        if (half_life_s > 0) w *= exp2(-(double)(newest - h->last_time[k]) / half_life_s);
        acc[h->indices[k]] += w;
    }
    for (uint32_t i = 0; i < ni; i++) s->score[i] = (float)acc[i];
    core_free(acc);
    return core_progress_report(prog, 1, 1, NAN, NAN);
}

static int popular_score(const aisle_model *m, const model_query *q, float *scores) {
    (void)q;
    const popular_state *s = m->state;
    memcpy(scores, s->score, model_n_items(m) * sizeof *scores);
    return AISLE_OK;
}

static int popular_score_one(const aisle_model *m, const model_query *q, uint32_t item, float *score) {
    (void)q;
    const popular_state *s = m->state;
    *score = s->score[item];
    return AISLE_OK;
}

static int popular_describe(const aisle_model *m, core_buf *out) {
    const popular_state *s = m->state;
    uint32_t best = 0;
    for (uint32_t i = 1; i < model_n_items(m); i++)
        if (s->score[i] > s->score[best]) best = i;
    if (model_n_items(m) == 0) return AISLE_OK;
    return buf_printf(out, "most_popular: %s (%.6g)\n", keys_at(&m->items, best), s->score[best]);
}

/* One section: the score vector, always fp32 (a ranking by 127 int8 levels
 * would tie most items). */
static int popular_save(const aisle_model *m, io_writer *w) {
    const popular_state *s = m->state;
    core_buf b;
    buf_init(&b);
    int rc = io_put_tensor(&b, s->score, 1, model_n_items(m), IO_QUANT_NONE);
    if (!rc) rc = io_writer_add_section(w, IO_SECTION_KIND, IO_FLAG_REQUIRED, &b);
    buf_free(&b);
    return rc;
}

static int popular_load(aisle_model *m, io_reader *r) {
    io_cursor c;
    uint64_t rows, cols;
    int rc = io_reader_section(r, IO_SECTION_KIND, &c);
    if (rc) return rc;
    popular_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("popular model");
    m->state = s;
    rc = io_get_tensor(&c, &s->score, &rows, &cols, 1, model_n_items(m));
    if (!rc && model_n_items(m) == 0 && (rows != 1 || cols != 0))
        rc = core_error(AISLE_EFORMAT, "%s: scores are %llu x %llu, expected 1 x 0", c.section,
                        (unsigned long long)rows, (unsigned long long)cols);
    return rc ? rc : io_cursor_done(&c);
}

/* A user's live events go to the history (so exclude_seen leaves them
 * out) and the generic popularity counts; the ranking is the trained one
 * (with decay it depends on every event's age) until retraining. */
static int popular_update_user(aisle_model *m, uint32_t user) {
    (void)m, (void)user;
    return AISLE_OK;
}

/* A new item ranks last (score 0) until retraining counts its users. */
static int popular_grow(aisle_model *m, uint32_t old_users, uint32_t old_items, const float *item_vector, size_t dim) {
    (void)old_users;
    popular_state *s = m->state;
    uint32_t ni = old_items, items = model_n_items(m);
    if (item_vector || dim)
        return core_error(AISLE_EINVAL, "popular items have no vector: pass NULL and 0 (got %zu values)", dim);
    if (items > ni) {
        float *p = core_reallocarray(s->score, items, sizeof *p);
        if (!p) return core_oom("adding an item to a popular model");
        s->score = p;
        for (uint32_t i = ni; i < items; i++) p[i] = 0.0f;
    }
    return AISLE_OK;
}

const model_ops model_popular_ops = {
    .name = "popular",
    .summary = "popularity baseline with optional time decay",
    .options = popular_options,
    .flags = MODEL_FOLD_IN,
    .train = popular_train,
    .score_items = popular_score,
    .score_one = popular_score_one,
    .save = popular_save,
    .load = popular_load,
    .describe = popular_describe,
    .free_state = popular_free,
    .update_user = popular_update_user,
    .grow = popular_grow,
};
