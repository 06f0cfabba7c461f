/* test_sasrec.c - the sasrec model kind: learning a next-item rule,
 * serving known users and anonymous sessions, determinism, cancellation,
 * validation / early stopping and option checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "util/test_util.h"

enum { N_ITEMS = 30, N_USERS = 60, SEQ_LEN = 9 };

/* Users walk the catalog in steps of +1 (mod N_ITEMS) from a user-specific
 * start, so the next item is fully determined by the last one. */
static aisle_dataset *chain_dataset(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[32], it[32];
    for (int i = 0; i < N_ITEMS; i++) { /* fix item indices: item i has index i */
        snprintf(it, sizeof it, "i%d", i);
        assert_ok(aisle_dataset_add_event(ds, "seed_user", it, "view", 1, 1));
    }
    for (int user = 0; user < N_USERS; user++) {
        snprintf(u, sizeof u, "u%d", user);
        int start = (user * 7) % N_ITEMS;
        for (int t = 0; t < SEQ_LEN; t++) {
            snprintf(it, sizeof it, "i%d", (start + t) % N_ITEMS);
            assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1, 1000 + t));
        }
    }
    return ds;
}

typedef struct progress_log {
    int calls, cancel_at;
    double first_loss, last_loss, last_metric;
} progress_log;

static int on_progress(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)steps;
    (void)elapsed;
    progress_log *p = user;
    p->calls++;
    if (step == 1) p->first_loss = loss;
    p->last_loss = loss;
    p->last_metric = metric;
    return p->cancel_at && step >= p->cancel_at;
}

static aisle_config *small_config(const char *extra) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    /* embedding_std 0.25: distinct random item embeddings from the start
     * make memorising 30 items in 40 epochs easy (the small default suits
     * real catalogues, where it is about generalising) */
    assert_ok(aisle_config_parse(cfg, "model=sasrec hidden=16 maxlen=8 blocks=1 heads=2 batch_size=16 "
                                      "learning_rate=0.01 dropout=0 epochs=40 threads=1 seed=7 holdout_last=false "
                                      "embedding_std=0.25"));
    if (extra) assert_ok(aisle_config_parse(cfg, extra));
    return cfg;
}

static int rank_of(const float *scores, size_t n, size_t item) {
    int r = 0;
    for (size_t i = 0; i < n; i++) r += scores[i] > scores[item];
    return r;
}

static void test_sasrec_overfits_and_learns_next_item_rule(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config(NULL);
    progress_log log = {0};
    assert_ok(aisle_config_set_progress(cfg, on_progress, &log));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    assert_int_equal(log.calls, 40);
    assert_true(isfinite(log.first_loss));
    assert_true(log.last_loss < 0.3 * log.first_loss);
    /* anonymous session [4, 5, 6] -> 7 ranks first */
    float scores[N_ITEMS];
    uint32_t sess[3] = {4, 5, 6};
    model_query q = {.user = -1, .items = sess, .n_items = 3};
    assert_ok(m->ops->score_items(m, &q, scores));
    assert_int_equal(rank_of(scores, N_ITEMS, 7), 0);
    /* order matters: the same items with the same newest one, in another
     * order, score differently (a one-block model without positions would
     * see the same set of keys from the last position) */
    float swapped[N_ITEMS];
    uint32_t swap[3] = {5, 4, 6};
    q.items = swap;
    assert_ok(m->ops->score_items(m, &q, swapped));
    float most = 0;
    for (int i = 0; i < N_ITEMS; i++) most = fmaxf(most, fabsf(swapped[i] - scores[i]));
    assert_true(most > 1e-2f);
    /* known user u3: start 21, last item 21+8=29 -> next is 0 */
    size_t u3;
    assert_ok(aisle_model_user_index(m, "u3", &u3));
    model_query qu = {.user = (int64_t)u3};
    assert_ok(m->ops->score_items(m, &qu, scores));
    assert_true(rank_of(scores, N_ITEMS, 0) <= 1);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void train_scores(const char *extra, float *scores) {
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config(extra);
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    uint32_t sess[2] = {10, 11};
    model_query q = {.user = -1, .items = sess, .n_items = 2};
    assert_ok(m->ops->score_items(m, &q, scores));
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_sasrec_same_seed_gives_bit_identical_scores(void **state) {
    (void)state;
    const char *opts = "epochs=3 dropout=0.3 blocks=2 train_negatives=3";
    float a[N_ITEMS], b[N_ITEMS], c[N_ITEMS];
    train_scores(opts, a);
    train_scores(opts, b);
    assert_memory_equal(a, b, sizeof a);
    /* attention work is split per (sequence, head), so more threads give
     * the same numbers too */
    train_scores("epochs=3 dropout=0.3 blocks=2 train_negatives=3 threads=2", c);
    assert_memory_equal(a, c, sizeof a);
    train_scores("epochs=3 dropout=0.3 blocks=2 train_negatives=3 seed=8", c);
    assert_memory_not_equal(a, c, sizeof a);
    /* the authors' layout too (its attention-dropout masks are drawn
     * before the parallel attention) */
    train_scores("epochs=3 dropout=0.3 blocks=2 block_layout=sasrec", a);
    train_scores("epochs=3 dropout=0.3 blocks=2 block_layout=sasrec threads=2", b);
    assert_memory_equal(a, b, sizeof a);
}

static void test_sasrec_threads_give_bit_identical_models(void **state) {
    (void)state;
    /* hidden=32 makes a step big enough for the thread pool: the batch of
     * 16 is split into 8 shards whichever thread runs them, the shards'
     * gradients are added in shard order and the embedding gradients per
     * token in row order, so any thread count gives the same bits */
    const char *base[] = {"hidden=32 heads=2 epochs=3 dropout=0.3 blocks=2 train_negatives=3",
                          "hidden=32 heads=2 epochs=3 dropout=0.3 attention_dropout=0.1 blocks=2 block_layout=sasrec "
                          "loss=bce lazy_adam=true batch_size=13"};
    for (size_t k = 0; k < 2; k++) {
        float one[N_ITEMS], other[N_ITEMS];
        char opts[256];
        snprintf(opts, sizeof opts, "%s threads=1", base[k]);
        train_scores(opts, one);
        for (int threads = 2; threads <= 3; threads++) {
            snprintf(opts, sizeof opts, "%s threads=%d", base[k], threads);
            train_scores(opts, other);
            assert_memory_equal(one, other, sizeof one);
        }
    }
}

static void test_sasrec_sampled_softmax_and_gelu_train(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config("loss=sampled_softmax train_negatives=5 activation=gelu lr_schedule=cosine lazy_adam=true epochs=25");
    progress_log log = {0};
    assert_ok(aisle_config_set_progress(cfg, on_progress, &log));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    assert_true(log.last_loss < 0.5 * log.first_loss);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_sasrec_validation_reports_metric_and_stops_early(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config("holdout_last=true patience=2 epochs=200 refit=false");
    progress_log log = {0};
    assert_ok(aisle_config_set_progress(cfg, on_progress, &log));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    assert_true(log.last_metric >= 0 && log.last_metric <= 1);
    assert_true(log.calls < 200); /* the metric saturates, so patience ends it */
    double v;
    assert_ok(aisle_model_get_metric(m, "val_ndcg@10", &v));
    assert_true(v > 0.5); /* the rule is learnable: held-out next items rank high */
    char buf[2048];
    assert_ok(aisle_model_describe(m, buf, sizeof buf, NULL));
    assert_non_null(strstr(buf, "sasrec.blocks: 1"));
    assert_non_null(strstr(buf, "metric.val_ndcg@10"));
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_sasrec_cancel_from_progress_returns_cancelled(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config("holdout_last=true");
    progress_log log = {.cancel_at = 2};
    assert_ok(aisle_config_set_progress(cfg, on_progress, &log));
    aisle_model *m = NULL;
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_ECANCELLED, "cancel");
    assert_null(m);
    assert_int_equal(log.calls, 2);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_sasrec_rejects_bad_options_and_queries(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config("hidden=10 heads=4");
    aisle_model *m = NULL;
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_EINVAL, "heads");
    aisle_config_free(cfg);
    cfg = small_config(NULL);
    assert_status_msg(aisle_config_set(cfg, "loss", "hinge"), AISLE_EINVAL, "loss");
    assert_ok(aisle_config_set(cfg, "epochs", "1"));
    assert_ok(aisle_model_train(ds, cfg, &m));
    float scores[N_ITEMS];
    uint32_t bad[2] = {1, N_ITEMS + 5};
    model_query q = {.user = -1, .items = bad, .n_items = 2};
    assert_status_msg(m->ops->score_items(m, &q, scores), AISLE_ERANGE, "session item 1");
    /* empty session still scores (padding only) */
    q.n_items = 0;
    assert_ok(m->ops->score_items(m, &q, scores));
    for (int i = 0; i < N_ITEMS; i++) assert_true(isfinite(scores[i]));
    assert_ok(m->ops->similar_items(m, 3, scores));
    assert_float_equal(scores[3], 1.0, 1e-5);
    for (int i = 0; i < N_ITEMS; i++) assert_true(scores[i] <= 1.0f + 1e-5f);
    assert_status_msg(m->ops->similar_items(m, N_ITEMS, scores), AISLE_ERANGE, "item index");
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void session_scores(const aisle_model *m, float *scores) {
    uint32_t sess[3] = {4, 5, 6};
    model_query q = {.user = -1, .items = sess, .n_items = 3};
    assert_ok(m->ops->score_items(m, &q, scores));
}

static void test_sasrec_save_load_round_trip_and_serving(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config(NULL);
    aisle_model *m, *back;
    assert_ok(aisle_model_train(ds, cfg, &m));
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    float a[N_ITEMS], b[N_ITEMS];
    session_scores(m, a);
    session_scores(back, b);
    assert_memory_equal(a, b, sizeof a); /* float32 weights: exact */
    size_t u3;
    assert_ok(aisle_model_user_index(back, "u3", &u3));
    model_query qu = {.user = (int64_t)u3};
    assert_ok(m->ops->score_items(m, &qu, a));
    assert_ok(back->ops->score_items(back, &qu, b));
    assert_memory_equal(a, b, sizeof a); /* the stored user windows came back */
    char text[2048];
    assert_ok(aisle_model_describe(back, text, sizeof text, NULL));
    assert_non_null(strstr(text, "sasrec.epochs_trained: 40"));
    /* truncated files are refused, not misread */
    aisle_model *bad = NULL;
    assert_true(aisle_model_load_buffer(&bad, buf, len - 7, NULL) != AISLE_OK);
    assert_null(bad);
    aisle_free(buf);

    /* fp16 / int8 item embeddings: smaller, same top item */
    const char *quants[] = {"fp16", "int8"};
    for (int qi = 0; qi < 2; qi++) {
        aisle_config *sc;
        assert_ok(aisle_config_new(&sc));
        assert_ok(aisle_config_set(sc, "quantize", quants[qi]));
        size_t qlen;
        assert_ok(aisle_model_save_buffer(m, sc, &buf, &qlen));
        assert_ok(aisle_model_load_buffer(&bad, buf, qlen, NULL));
        session_scores(bad, b);
        assert_int_equal(rank_of(b, N_ITEMS, 7), 0);
        aisle_model_free(bad);
        aisle_free(buf);
        aisle_config_free(sc);
    }

    /* the generic serving layer on top of the kind */
    const char *items[5];
    float sc[5];
    size_t n;
    assert_ok(aisle_recommend(back, "u3", 5, NULL, items, sc, &n));
    assert_int_equal(n, 5);
    assert_string_equal(items[0], "i0");
    const char *sess[3] = {"i4", "i5", "i6"};
    assert_ok(aisle_recommend_for_items(back, sess, NULL, 3, 5, NULL, items, sc, &n));
    assert_string_equal(items[0], "i7");
    assert_ok(aisle_similar_items(back, "i3", 5, NULL, items, sc, &n));
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) assert_string_not_equal(items[i], "i3");
    aisle_model_free(back);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

typedef struct epoch_log {
    int n, cancel_at;
    int step[512], steps[512];
    double metric[512];
} epoch_log;

static int log_epochs(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)loss, (void)elapsed;
    epoch_log *l = user;
    if (l->n < 512) l->step[l->n] = step, l->steps[l->n] = steps, l->metric[l->n] = metric, l->n++;
    return l->cancel_at && l->n >= l->cancel_at;
}

/* refit=true: the validation epochs, then fresh training on every item for
 * the best validation epoch count (reported with metric NaN). */
static void test_sasrec_refit_retrains_for_the_best_epoch_count(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config("holdout_last=true patience=2 epochs=200 refit=true");
    epoch_log lg = {0};
    assert_ok(aisle_config_set_progress(cfg, log_epochs, &lg));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    int v = 0, best = 0;
    while (v < lg.n && !isnan(lg.metric[v])) {
        if (!best || lg.metric[v] > lg.metric[best - 1]) best = v + 1;
        v++;
    }
    assert_true(v >= 3 && best >= 1);
    assert_int_equal(lg.n - v, best); /* then exactly `best` refit epochs */
    for (int i = v; i < lg.n; i++) {
        assert_true(isnan(lg.metric[i]));
        assert_int_equal(lg.step[i], i - v + 1);
        assert_int_equal(lg.steps[i], best);
    }
    char buf[2048], want[64];
    assert_ok(aisle_model_describe(m, buf, sizeof buf, NULL));
    snprintf(want, sizeof want, "sasrec.epochs_trained: %d\n", best);
    assert_non_null(strstr(buf, want));
    /* deterministic like any training */
    aisle_model *again;
    assert_ok(aisle_model_train(ds, cfg, &again));
    float a[N_ITEMS], b[N_ITEMS];
    session_scores(m, a);
    session_scores(again, b);
    assert_memory_equal(a, b, sizeof a);
    assert_true(rank_of(a, N_ITEMS, 7) <= 1); /* 6 (in the session) may come first */
    aisle_model_free(again);
    /* cancelling during the refit leaves nothing behind */
    epoch_log cl = {.cancel_at = v + 1};
    assert_ok(aisle_config_set_progress(cfg, log_epochs, &cl));
    aisle_model *none = NULL;
    assert_status_msg(aisle_model_train(ds, cfg, &none), AISLE_ECANCELLED, "cancel");
    assert_null(none);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

/* The authors' block layout trains, learns the chain, and its layout is
 * restored from the model file (scores after loading are identical). */
static void test_sasrec_authors_block_layout_round_trips(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    aisle_config *cfg = small_config("block_layout=sasrec");
    aisle_model *m, *back;
    assert_ok(aisle_model_train(ds, cfg, &m));
    float a[N_ITEMS], b[N_ITEMS];
    session_scores(m, a);
    assert_int_equal(rank_of(a, N_ITEMS, 7), 0);
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    session_scores(back, b);
    assert_memory_equal(a, b, sizeof a);
    char text[2048];
    assert_ok(aisle_model_describe(back, text, sizeof text, NULL));
    assert_non_null(strstr(text, "sasrec.block_layout: sasrec"));
    aisle_free(buf);
    aisle_model_free(back);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

/* Item 7 has a twin "x7" with the same catalog title that only one user
 * ever viewed (no sequence to learn from).  Through the hashed title words
 * the twin inherits item 7's place after the session 4, 5, 6. */
static void test_sasrec_side_info_scores_cold_items_through_their_titles(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    assert_ok(aisle_dataset_add_event(ds, "lonely", "x7", "view", 1, 5));
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    char key[16], title[64];
    for (int i = 0; i < N_ITEMS; i++) {
        snprintf(key, sizeof key, "i%d", i);
        snprintf(title, sizeof title, "model%d", i);
        assert_ok(aisle_catalog_add_item(cat, key, title, NULL, NULL, NULL, NAN));
    }
    assert_ok(aisle_catalog_add_item(cat, "x7", "model7", NULL, NULL, NULL, NAN));
    /* a brand-new product: in the catalog, never in any event */
    assert_ok(aisle_catalog_add_item(cat, "y7", "model7", NULL, NULL, NULL, NAN));
    aisle_config *cfg = small_config("side_info=true side_buckets=1024");
    aisle_model *m, *plain;
    assert_status_msg(aisle_model_train(ds, cfg, &m), AISLE_EINVAL, "catalog");
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    aisle_config *cfg0 = small_config(NULL);
    assert_ok(aisle_model_train(ds, cfg0, &plain));
    size_t x7, y7, count;
    assert_ok(aisle_model_item_index(m, "x7", &x7));
    /* the new product joined the side-information model only */
    assert_ok(aisle_model_item_index(m, "y7", &y7));
    assert_int_equal(y7, N_ITEMS + 1);
    assert_ok(aisle_model_item_count(m, &count));
    assert_int_equal(count, N_ITEMS + 2);
    assert_status_msg(aisle_model_item_index(plain, "y7", &count), AISLE_ENOTFOUND, "y7");
    float a[N_ITEMS + 2], b[N_ITEMS + 2];
    session_scores(m, a);
    session_scores(plain, b);
    int with = rank_of(a, N_ITEMS + 2, x7), without = rank_of(b, N_ITEMS + 1, x7);
    /* 7 is right after the session (6, itself in the session, may tie) */
    assert_true(rank_of(a, N_ITEMS + 2, 7) <= 1);
    /* the cold twin is near the top; without words it is just an item
     * that was only ever a negative */
    assert_true(with <= 5);
    assert_true(with + 5 < without);
    /* so is the never-seen product, through its title alone */
    assert_true(rank_of(a, N_ITEMS + 2, y7) <= 5);
    const char *sess[3] = {"i4", "i5", "i6"}, *top[6];
    size_t n;
    assert_ok(aisle_recommend_for_items(m, sess, NULL, 3, 6, NULL, top, NULL, &n));
    bool found = false;
    for (size_t i = 0; i < n; i++) found |= strcmp(top[i], "y7") == 0;
    assert_true(found);
    /* saved and loaded with its words */
    void *buf;
    size_t len;
    aisle_model *back;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    float c[N_ITEMS + 2];
    session_scores(back, c);
    assert_memory_equal(a, c, sizeof a);
    aisle_free(buf);
    aisle_model_free(back);
    aisle_model_free(plain);
    aisle_model_free(m);
    aisle_config_free(cfg0);
    aisle_config_free(cfg);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
}

typedef struct oom_ctx {
    const aisle_dataset *ds;
    const aisle_config *cfg;
    const void *buf;
    size_t len;
} oom_ctx;

static int oom_train(void *vc) {
    const oom_ctx *c = vc;
    aisle_model *m = NULL;
    int rc = aisle_model_train(c->ds, c->cfg, &m);
    if (rc && m) rc = AISLE_EINTERNAL; /* a failure must leave *out NULL */
    aisle_model_free(m);
    return rc;
}

static int oom_load(void *vc) {
    const oom_ctx *c = vc;
    aisle_model *m = NULL;
    int rc = aisle_model_load_buffer(&m, c->buf, c->len, NULL);
    if (rc && m) rc = AISLE_EINTERNAL;
    aisle_model_free(m);
    return rc;
}

static void test_sasrec_allocation_failures_leak_nothing(void **state) {
    (void)state;
    aisle_dataset *ds = chain_dataset();
    /* threads=2 hidden=32: the pool and the sharded step are allocated too */
    aisle_config *cfg = small_config("epochs=1 threads=2 hidden=32");
    aisle_model *m = NULL;
    /* warm the dataset's lazy views so the count below is training only */
    assert_ok(aisle_model_train(ds, cfg, &m));
    oom_ctx c = {.ds = ds, .cfg = cfg};
    assert_true(tu_oom_sweep("sasrec train", oom_train, &c, 3, 1, 2000) > 10);
    /* and while loading a saved model */
    void *buf;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &c.len));
    aisle_model_free(m);
    c.buf = buf;
    assert_true(tu_oom_sweep("sasrec load", oom_load, &c, 2, 1, 400) > 5);
    aisle_free(buf);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sasrec_overfits_and_learns_next_item_rule),
        cmocka_unit_test(test_sasrec_same_seed_gives_bit_identical_scores),
        cmocka_unit_test(test_sasrec_threads_give_bit_identical_models),
        cmocka_unit_test(test_sasrec_sampled_softmax_and_gelu_train),
        cmocka_unit_test(test_sasrec_validation_reports_metric_and_stops_early),
        cmocka_unit_test(test_sasrec_refit_retrains_for_the_best_epoch_count),
        cmocka_unit_test(test_sasrec_cancel_from_progress_returns_cancelled),
        cmocka_unit_test(test_sasrec_rejects_bad_options_and_queries),
        cmocka_unit_test(test_sasrec_save_load_round_trip_and_serving),
        cmocka_unit_test(test_sasrec_authors_block_layout_round_trips),
        cmocka_unit_test(test_sasrec_side_info_scores_cold_items_through_their_titles),
        cmocka_unit_test(test_sasrec_allocation_failures_leak_nothing),
    };
    tu_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
