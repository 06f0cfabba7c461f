/* test_concurrency.c - one loaded model shared by 8 threads calling
 * recommend / score / similar / explain at once must give exactly the
 * single-threaded answers.  `make check-tsan` runs it under ThreadSanitizer
 * for longer (AISLE_STRESS_SECONDS). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "util/test_util.h"

#define N_THREADS 8
#define N_USERS 24
#define K 10

typedef struct reference {
    const char *users[N_USERS];
    const char *items[N_USERS][K];
    float scores[N_USERS][K];
    size_t n[N_USERS];
    const char *similar[N_USERS][K];
    size_t n_similar[N_USERS];
    float pair_score[N_USERS];
    const char *explain[N_USERS][3];
    size_t n_explain[N_USERS];
} reference;

typedef struct shared {
    const aisle_model *model;
    const aisle_rec_options *opts;
    const reference *ref;
    double seconds;
    int has_similar, has_explain;
    int mismatches;
    long calls;
    pthread_mutex_t lock;
} shared;

static int drop_every_seventh(void *user, const char *key, size_t index) {
    (void)user, (void)key;
    return index % 7 != 3;
}

static double stress_seconds(void) {
    const char *s = getenv("AISLE_STRESS_SECONDS");
    double v = s ? atof(s) : 0.4;
    return v > 0 ? v : 0.4;
}

static int answers(const aisle_model *m, const aisle_rec_options *opts, reference *r, int u, int has_similar,
                   int has_explain) {
    int rc = aisle_recommend(m, r->users[u], K, opts, r->items[u], r->scores[u], &r->n[u]);
    if (rc) return rc;
    if (has_similar && r->n[u] > 0) {
        rc = aisle_similar_items(m, r->items[u][0], K, opts, r->similar[u], NULL, &r->n_similar[u]);
        if (rc) return rc;
    }
    if (r->n[u] > 0) {
        rc = aisle_score(m, r->users[u], r->items[u][0], &r->pair_score[u]);
        if (rc) return rc;
        if (has_explain) rc = aisle_explain(m, r->users[u], r->items[u][0], 3, r->explain[u], NULL, &r->n_explain[u]);
    }
    return rc;
}

static int same(const reference *a, const reference *b, int u, int has_similar, int has_explain) {
    if (a->n[u] != b->n[u]) return 0;
    for (size_t i = 0; i < a->n[u]; i++)
        if (strcmp(a->items[u][i], b->items[u][i]) || a->scores[u][i] != b->scores[u][i]) return 0;
    if (a->n[u] > 0 && a->pair_score[u] != b->pair_score[u]) return 0;
    if (has_similar) {
        if (a->n_similar[u] != b->n_similar[u]) return 0;
        for (size_t i = 0; i < a->n_similar[u]; i++)
            if (strcmp(a->similar[u][i], b->similar[u][i])) return 0;
    }
    if (has_explain) {
        if (a->n_explain[u] != b->n_explain[u]) return 0;
        for (size_t i = 0; i < a->n_explain[u]; i++)
            if (strcmp(a->explain[u][i], b->explain[u][i])) return 0;
    }
    return 1;
}

static void *worker(void *arg) {
    shared *sh = arg;
    reference *mine = calloc(1, sizeof *mine);
    memcpy(mine->users, sh->ref->users, sizeof mine->users);
    double end = core_now() + sh->seconds;
    long calls = 0;
    int bad = 0;
    for (int round = 0; core_now() < end || round < 2; round++) {
        for (int u = 0; u < N_USERS; u++) {
            int v = (u * 7 + round) % N_USERS; /* threads visit users in different orders */
            if (answers(sh->model, sh->opts, mine, v, sh->has_similar, sh->has_explain) != AISLE_OK ||
                !same(sh->ref, mine, v, sh->has_similar, sh->has_explain))
                bad++;
            calls++;
        }
    }
    pthread_mutex_lock(&sh->lock);
    sh->mismatches += bad;
    sh->calls += calls;
    pthread_mutex_unlock(&sh->lock);
    free(mine);
    return NULL;
}

static void run_shared_model(const char *config_text, int has_similar, int has_explain) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_users=200 demo_items=150 demo_days=30 demo_messages=0 seed=5"));
    aisle_dataset *ds;
    assert_ok(aisle_demo_generate(cfg, &ds));
    assert_ok(aisle_config_parse(cfg, config_text));
    aisle_model *trained;
    assert_ok(aisle_model_train(ds, cfg, &trained));
    /* share a loaded copy, as a server would */
    void *bytes;
    size_t len;
    assert_ok(aisle_model_save_buffer(trained, NULL, &bytes, &len));
    aisle_model *m;
    assert_ok(aisle_model_load_buffer(&m, bytes, len, NULL));
    aisle_free(bytes);
    aisle_model_free(trained);

    aisle_rec_options *opts;
    assert_ok(aisle_rec_options_new(&opts));
    const char *deny[] = {"P00001", "P00002", "P00003"};
    assert_ok(aisle_rec_options_deny(opts, deny, 3));
    assert_ok(aisle_rec_options_set_filter(opts, drop_every_seventh, NULL));

    reference *ref = calloc(1, sizeof *ref);
    size_t n_users;
    assert_ok(aisle_model_user_count(m, &n_users));
    for (int u = 0; u < N_USERS; u++) {
        assert_ok(aisle_model_user_key(m, (size_t)u * (n_users / N_USERS), &ref->users[u]));
        assert_ok(answers(m, opts, ref, u, has_similar, has_explain));
        assert_true(ref->n[u] > 0);
    }
    shared sh = {m, opts, ref, stress_seconds(), has_similar, has_explain, 0, 0, PTHREAD_MUTEX_INITIALIZER};
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, worker, &sh), 0);
    for (int i = 0; i < N_THREADS; i++) pthread_join(t[i], NULL);
    print_message("%s: %ld concurrent call groups on %d threads, %d mismatches\n", config_text, sh.calls,
                  N_THREADS, sh.mismatches);
    assert_int_equal(sh.mismatches, 0);
    assert_true(sh.calls >= N_THREADS * N_USERS * 2);
    free(ref);
    aisle_rec_options_free(opts);
    aisle_model_free(m);
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
}

static void test_als_model_shared_by_eight_threads(void **state) {
    (void)state;
    run_shared_model("model=als factors=16 epochs=3 threads=2", 1, 1);
}

static void test_itemknn_model_shared_by_eight_threads(void **state) {
    (void)state;
    run_shared_model("model=itemknn threads=2", 1, 1);
}

static void test_pair_model_shared_by_eight_threads(void **state) {
    (void)state;
    run_shared_model("model=pair objective=purchase hidden=8 heads=1 ff_hidden=8 blocks=1 maxlen=8 hash_buckets=1024 "
                     "epochs=1 recent_items=3 threads=2",
                     0, 1);
}

/* hybrid: scoring, explain and explain_features from 8 threads on a model
 * trained with the demo catalog (on one thread: its Hogwild threads race
 * by design). */
typedef struct feat_shared {
    const aisle_model *m;
    const char *users[N_USERS], *item;
    const char *names[N_USERS][4];
    float contrib[N_USERS][4];
    double seconds;
    int mismatches;
} feat_shared;

static void *feat_worker(void *arg) {
    feat_shared *sh = arg;
    double end = core_now() + sh->seconds;
    for (int round = 0; core_now() < end || round < 2; round++)
        for (int u = 0; u < N_USERS; u++) {
            const char *names[4];
            float c[4];
            size_t n;
            int v = (u * 7 + round) % N_USERS;
            if (aisle_explain_features(sh->m, sh->users[v], sh->item, 4, names, c, &n) != AISLE_OK || n != 4 ||
                memcmp(names, sh->names[v], sizeof names) || memcmp(c, sh->contrib[v], sizeof c))
                __atomic_add_fetch(&sh->mismatches, 1, __ATOMIC_RELAXED);
        }
    return NULL;
}

static void test_hybrid_model_shared_by_eight_threads(void **state) {
    (void)state;
    run_shared_model("model=hybrid factors=8 epochs=2 threads=1", 1, 1);
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "demo_users=100 demo_items=80 demo_days=20 demo_messages=0 seed=5"));
    aisle_dataset *ds;
    aisle_catalog *cat;
    assert_ok(aisle_demo_generate(cfg, &ds));
    assert_ok(aisle_demo_catalog(cfg, &cat));
    assert_ok(aisle_config_parse(cfg, "model=hybrid factors=8 epochs=2 threads=1"));
    aisle_model *m;
    assert_ok(aisle_model_train_with_catalog(ds, cat, cfg, &m));
    feat_shared *sh = calloc(1, sizeof *sh);
    sh->m = m;
    sh->seconds = stress_seconds();
    assert_ok(aisle_model_item_key(m, 0, &sh->item));
    for (int u = 0; u < N_USERS; u++) {
        size_t n;
        assert_ok(aisle_model_user_key(m, (size_t)u, &sh->users[u]));
        assert_ok(aisle_explain_features(m, sh->users[u], sh->item, 4, sh->names[u], sh->contrib[u], &n));
        assert_int_equal(n, 4);
    }
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, feat_worker, sh), 0);
    for (int i = 0; i < N_THREADS; i++) pthread_join(t[i], NULL);
    assert_int_equal(sh->mismatches, 0);
    free(sh);
    aisle_model_free(m);
    aisle_catalog_free(cat);
    aisle_dataset_free(ds);
    aisle_config_free(cfg);
}

static void test_popular_model_shared_by_eight_threads(void **state) {
    (void)state;
    run_shared_model("model=popular", 0, 0);
}

/* ---- an intent model shared by 8 threads classifying and explaining ---- */

enum { N_MESSAGES = 12 };
static const char *const messages[N_MESSAGES] = {
    "where is my refund", "track my parcel please", "cancel the order now", "money back", "delivery late",
    "stop my order", "\u8d28\u91cf\u5f88\u597d", "refund\xff\xfe bytes", "", "parcel parcel parcel",
    "i want to cancel", "courier lost my package"};

typedef struct text_shared {
    const aisle_model *m;
    const char *top[N_MESSAGES];
    float p[N_MESSAGES];
    float first_contrib[N_MESSAGES];
    double seconds;
    int mismatches;
    long calls;
    pthread_mutex_t lock;
} text_shared;

static int text_answer(const aisle_model *m, int i, const char **top, float *p, float *c0) {
    const char *labels[3];
    float probs[3];
    size_t n;
    int unknown;
    int rc = aisle_text_classify(m, messages[i], AISLE_NUL_TERMINATED, 3, labels, probs, &n, &unknown);
    if (rc) return rc;
    *top = labels[0];
    *p = probs[0];
    aisle_text_explanation *e;
    if ((rc = aisle_text_explain(m, messages[i], AISLE_NUL_TERMINATED, NULL, &e))) return rc;
    size_t nt = 0;
    aisle_text_explanation_count(e, &nt);
    *c0 = 0;
    if (nt) aisle_text_explanation_at(e, 0, NULL, c0);
    aisle_text_explanation_free(e);
    return AISLE_OK;
}

static void *text_worker(void *arg) {
    text_shared *sh = arg;
    double end = core_now() + sh->seconds;
    long calls = 0;
    int bad = 0;
    for (int round = 0; core_now() < end || round < 2; round++)
        for (int k = 0; k < N_MESSAGES; k++, calls++) {
            int i = (k * 5 + round) % N_MESSAGES;
            const char *top;
            float p, c0;
            if (text_answer(sh->m, i, &top, &p, &c0) != AISLE_OK || top != sh->top[i] || p != sh->p[i] ||
                c0 != sh->first_contrib[i])
                bad++;
        }
    pthread_mutex_lock(&sh->lock);
    sh->mismatches += bad;
    sh->calls += calls;
    pthread_mutex_unlock(&sh->lock);
    return NULL;
}

static void run_intent_shared(const char *config_text) {
    static const char *const rows[][2] = {{"where is my refund", "refund"}, {"money back please", "refund"},
                                          {"track my parcel", "shipping"}, {"delivery is late", "shipping"},
                                          {"cancel the order", "cancel"}, {"stop my order now", "cancel"}};
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    for (int r = 0; r < 10; r++)
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
            assert_ok(aisle_texts_add(t, rows[i][0], AISLE_NUL_TERMINATED, rows[i][1]));
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, config_text));
    aisle_model *m;
    assert_ok(aisle_text_train(t, cfg, &m));
    text_shared sh = {.m = m, .seconds = stress_seconds(), .lock = PTHREAD_MUTEX_INITIALIZER};
    for (int i = 0; i < N_MESSAGES; i++) assert_ok(text_answer(m, i, &sh.top[i], &sh.p[i], &sh.first_contrib[i]));
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) assert_int_equal(pthread_create(&th[i], NULL, text_worker, &sh), 0);
    /* the evaluation's own worker threads run beside them */
    aisle_text_eval *e;
    assert_ok(aisle_config_parse(cfg, "threads=2"));
    assert_ok(aisle_text_evaluate(m, t, cfg, &e));
    aisle_text_eval_free(e);
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    print_message("intent %s: %ld concurrent classify+explain calls on %d threads, %d mismatches\n", config_text,
                  sh.calls, N_THREADS, sh.mismatches);
    assert_int_equal(sh.mismatches, 0);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_texts_free(t);
}

static void test_intent_model_shared_by_eight_threads(void **state) {
    (void)state;
    /* bag trains on one thread here: its Hogwild threads race by design */
    run_intent_shared("threads=1 epochs=5 dim=16 hash_buckets=65536");
}

/* the transformer trains its attention and embedding sums on 3 threads */
static void test_transformer_intent_model_shared_by_eight_threads(void **state) {
    (void)state;
    run_intent_shared("architecture=transformer hidden=16 heads=2 ff_hidden=32 blocks=1 epochs=3 pretrain_epochs=1 "
                      "mlm_buckets=64 threads=3 hash_buckets=65536");
}

/* ---- one forecast shared by 8 threads: item, category, reorder, explain ---- */
#define FC_ITEMS 12
#define FC_H 6

typedef struct fc_answer {
    double q[3][FC_H], rop, qty, parts[5];
} fc_answer;

typedef struct fc_shared {
    const aisle_forecast *fc;
    fc_answer ref[FC_ITEMS];
    double seconds;
    int mismatches;
    long calls;
    pthread_mutex_t lock;
} fc_shared;

static int fc_answers(const aisle_forecast *fc, int i, fc_answer *a) {
    char key[16];
    snprintf(key, sizeof key, "p%d", i);
    const char *names[5];
    size_t n;
    memset(a, 0, sizeof *a);
    int rc = aisle_forecast_item(fc, key, FC_H, NULL, a->q[0], a->q[1], a->q[2]);
    if (!rc) rc = aisle_forecast_reorder(fc, key, 2, 1, 0.9, 3, &a->rop, &a->qty);
    if (!rc) rc = aisle_forecast_explain(fc, key, 2, names, a->parts, 5, &n);
    return rc;
}

static void *fc_worker(void *arg) {
    fc_shared *sh = arg;
    double end = core_now() + sh->seconds;
    long calls = 0;
    int bad = 0;
    for (int round = 0; core_now() < end || round < 2; round++)
        for (int i = 0; i < FC_ITEMS; i++) {
            fc_answer a;
            if (fc_answers(sh->fc, i, &a) != AISLE_OK || memcmp(&a, &sh->ref[i], sizeof a) != 0) bad++;
            calls++;
        }
    pthread_mutex_lock(&sh->lock);
    sh->mismatches += bad;
    sh->calls += calls;
    pthread_mutex_unlock(&sh->lock);
    return NULL;
}

static void test_forecast_shared_by_eight_threads(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    for (int d = 0; d < 70; d++)
        for (int i = 0; i < FC_ITEMS; i++)
            if (i % 3 || d % 4 == 0) {
                char key[16];
                snprintf(key, sizeof key, "p%d", i);
                assert_ok(aisle_dataset_add_event(ds, "u", key, "purchase", 1 + (d * (i + 1)) % 7,
                                                  1767225600 + (int64_t)d * 86400));
            }
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "period=day horizon=4 forecast_trees=10 threads=2"));
    aisle_forecast *trained, *fc;
    assert_ok(aisle_forecast_train(ds, NULL, cfg, &trained));
    void *img;
    size_t len;
    assert_ok(aisle_forecast_save_buffer(trained, NULL, &img, &len));
    assert_ok(aisle_forecast_load_buffer(&fc, img, len, NULL));
    aisle_free(img);
    fc_shared sh;
    memset(&sh, 0, sizeof sh);
    sh.fc = fc;
    sh.seconds = stress_seconds();
    pthread_mutex_init(&sh.lock, NULL);
    for (int i = 0; i < FC_ITEMS; i++) assert_ok(fc_answers(fc, i, &sh.ref[i]));
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, fc_worker, &sh), 0);
    for (int i = 0; i < N_THREADS; i++) pthread_join(t[i], NULL);
    pthread_mutex_destroy(&sh.lock);
    assert_int_equal(sh.mismatches, 0);
    assert_true(sh.calls >= N_THREADS * FC_ITEMS);
    aisle_forecast_free(fc);
    aisle_forecast_free(trained);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_als_model_shared_by_eight_threads),
        cmocka_unit_test(test_itemknn_model_shared_by_eight_threads),
        cmocka_unit_test(test_popular_model_shared_by_eight_threads),
        cmocka_unit_test(test_pair_model_shared_by_eight_threads),
        cmocka_unit_test(test_hybrid_model_shared_by_eight_threads),
        cmocka_unit_test(test_intent_model_shared_by_eight_threads),
        cmocka_unit_test(test_transformer_intent_model_shared_by_eight_threads),
        cmocka_unit_test(test_forecast_shared_by_eight_threads),
    };
    return cmocka_run_group_tests_name("concurrency", tests, NULL, NULL);
}
