/* test_oom.c - allocation failure on every main path.  A test allocator
 * fails the n-th allocation, for n = 1, 2, ... until the path succeeds:
 * every failure must return AISLE_ENOMEM, leave the handles it was given
 * usable, and leak nothing (live allocation count back to zero; under
 * `make check-oom` LeakSanitizer checks too).  Paths: load data, train
 * each model kind on a tiny dataset, save, load, recommend, similar,
 * explain, evaluate. */
#include <stdio.h>
#include <string.h>

#include "util/bert_util.h"
#include "util/test_util.h"

#define MAX_STEPS 200000

static const char events_csv[] =
    "user,item,event,qty,time\n"
    "u1,mug,purchase,1,2026-01-01T10:00:00Z\n"
    "u1,tea,view,1,2026-01-01T10:01:00Z\n"
    "u2,mug,view,1,2026-01-02T09:00:00Z\n"
    "u2,kettle,cart,1,2026-01-02T09:05:00Z\n"
    "u2,tea,purchase,2,2026-01-02T09:06:00Z\n"
    "u3,kettle,purchase,1,2026-01-03T12:00:00Z\n"
    "u3,mug,view,1,2026-01-03T12:01:00Z\n"
    "u4,tea,view,1,2026-01-04T08:00:00Z\n"
    "u4,cups,purchase,1,2026-01-04T08:02:00Z\n"
    "u5,cups,view,1,2026-01-05T18:00:00Z\n"
    "u5,mug,cart,1,2026-01-05T18:03:00Z\n"
    "u5,kettle,view,1,2026-01-05T18:04:00Z\n";

static const char load_options[] = "columns=\"user=user,item=item,event=event,value=qty,time=time\"";

/* Runs step(ctx) under a failing allocator for n = 1.. until it succeeds;
 * returns the number of failure points covered. */
typedef int (*oom_step)(void *ctx);

static uint64_t run_until_success(const char *what, oom_step step, void *ctx) {
    return tu_oom_sweep(what, step, ctx, 1, 0, MAX_STEPS);
}

/* ---- steps: each creates and frees everything it allocates ---- */

static int step_load(void *ctx) {
    (void)ctx;
    aisle_dataset *ds = NULL;
    aisle_config *cfg = NULL;
    int rc = aisle_dataset_new(&ds);
    if (!rc) rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_parse(cfg, load_options);
    if (!rc) rc = aisle_dataset_load_buffer(ds, events_csv, sizeof events_csv - 1, "events.csv", cfg);
    if (!rc) {
        size_t n;
        aisle_dataset_event_count(ds, &n);
        if (n != 12) rc = AISLE_EINTERNAL;
    }
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return rc;
}

typedef struct train_ctx {
    const aisle_dataset *ds;
    const char *options;
    aisle_model *model; /* trained outside the allocator, for later steps */
    const void *bytes;
    size_t len;
    const aisle_dataset *test;
} train_ctx;

static int step_train(void *p) {
    train_ctx *c = p;
    aisle_config *cfg = NULL;
    aisle_model *m = NULL;
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_parse(cfg, c->options);
    if (!rc) rc = aisle_model_train(c->ds, cfg, &m);
    aisle_model_free(m);
    aisle_config_free(cfg);
    return rc;
}

static int step_save(void *p) {
    train_ctx *c = p;
    void *bytes = NULL;
    size_t len = 0;
    int rc = aisle_model_save_buffer(c->model, NULL, &bytes, &len);
    aisle_free(bytes);
    return rc;
}

static int step_load_model(void *p) {
    train_ctx *c = p;
    aisle_model *m = NULL;
    int rc = aisle_model_load_buffer(&m, c->bytes, c->len, NULL);
    if (!rc) {
        char desc[4096];
        rc = aisle_model_describe(m, desc, sizeof desc, NULL);
    }
    aisle_model_free(m);
    return rc;
}

static int step_serve(void *p) {
    train_ctx *c = p;
    aisle_rec_options *opts = NULL;
    const char *items[4];
    float scores[4];
    size_t n;
    int rc = aisle_rec_options_new(&opts);
    const char *deny[] = {"cups"};
    if (!rc) rc = aisle_rec_options_deny(opts, deny, 1);
    if (!rc) rc = aisle_recommend(c->model, "u1", 4, opts, items, scores, &n);
    if (!rc) rc = aisle_recommend(c->model, "stranger", 4, opts, items, scores, &n);
    const char *session[] = {"mug", "tea"};
    if (!rc) {
        int r2 = aisle_recommend_for_items(c->model, session, NULL, 2, 4, opts, items, scores, &n);
        if (r2 != AISLE_EUNSUPPORTED) rc = r2;
    }
    if (!rc) {
        int r2 = aisle_similar_items(c->model, "mug", 4, opts, items, scores, &n);
        if (r2 != AISLE_EUNSUPPORTED) rc = r2;
    }
    if (!rc) {
        int r2 = aisle_explain(c->model, "u2", "kettle", 4, items, scores, &n);
        if (r2 != AISLE_EUNSUPPORTED) rc = r2;
    }
    if (!rc) {
        const char *users[] = {"u1", "u2", "u3"};
        const char *bi[12];
        size_t bn[3];
        rc = aisle_recommend_batch(c->model, users, 3, 4, opts, bi, NULL, bn);
    }
    aisle_rec_options_free(opts);
    return rc;
}

static int step_evaluate(void *p) {
    train_ctx *c = p;
    aisle_eval_result *res = NULL;
    aisle_config *cfg = NULL;
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_parse(cfg, "k=3 threads=2");
    if (!rc) rc = aisle_evaluate(c->model, c->test, cfg, &res);
    if (!rc) {
        char json[2048];
        rc = aisle_eval_result_to_json(res, json, sizeof json, NULL);
    }
    aisle_eval_result_free(res);
    aisle_config_free(cfg);
    return rc;
}

static void test_load_data_survives_every_allocation_failure(void **state) {
    (void)state;
    uint64_t points = run_until_success("load data", step_load, NULL);
    print_message("load data: %llu allocation failure points\n", (unsigned long long)points);
    assert_true(points > 5);
}

/* Tiny per-kind configurations: enough to exercise every allocation. */
static const char *kind_options(const char *kind) {
    if (!strcmp(kind, "mf")) return "model=mf factors=4 epochs=3 threads=2 seed=1";
    if (!strcmp(kind, "als")) return "model=als factors=4 epochs=2 threads=2 seed=1";
    if (!strcmp(kind, "bpr")) return "model=bpr factors=4 epochs=2 threads=2 seed=1";
    if (!strcmp(kind, "hybrid")) return "model=hybrid factors=4 epochs=2 threads=2 seed=1";
    if (!strcmp(kind, "pair"))
        return "model=pair hidden=8 heads=1 ff_hidden=8 maxlen=8 hash_buckets=1024 epochs=1 batch_size=4 id_factors=2 "
               "recent_items=2 threads=2";
    if (!strcmp(kind, "sasrec")) return "model=sasrec hidden=8 maxlen=4 blocks=1 heads=1 epochs=2 batch_size=4 threads=2";
    static char buf[64];
    snprintf(buf, sizeof buf, "model=%s threads=2", kind);
    return buf;
}

static void test_every_kind_survives_allocation_failures(void **state) {
    (void)state;
    aisle_dataset *ds, *train, *test;
    aisle_config *cfg;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, load_options));
    assert_ok(aisle_dataset_load_buffer(ds, events_csv, sizeof events_csv - 1, "events.csv", cfg));
    assert_ok(aisle_dataset_split_spec(ds, "last:1", 1, &train, &test));
    for (int k = 0; k < aisle_model_kind_count(); k++) {
        const char *kind;
        assert_ok(aisle_model_kind_info(k, &kind, NULL));
        if (!strcmp(kind, "intent")) continue; /* trains from texts: test_text_paths_survive_allocation_failures */
        train_ctx c = {train, kind_options(kind), NULL, NULL, 0, test};
        /* Train once with the real allocator first: it also builds the
         * dataset's cached views, which would otherwise count as live. */
        aisle_config *kc;
        assert_ok(aisle_config_new(&kc));
        assert_ok(aisle_config_parse(kc, c.options));
        assert_ok(aisle_model_train(train, kc, &c.model));
        aisle_config_free(kc);
        uint64_t p_train = run_until_success(kind, step_train, &c);
        uint64_t p_save = 0, p_load = 0;
        void *bytes = NULL;
        int rc = aisle_model_save_buffer(c.model, NULL, &bytes, &c.len);
        if (rc == AISLE_OK) {
            c.bytes = bytes;
            p_save = run_until_success("save", step_save, &c);
            p_load = run_until_success("load", step_load_model, &c);
        } else {
            assert_int_equal(rc, AISLE_EUNSUPPORTED);
        }
        uint64_t p_serve = run_until_success("serve", step_serve, &c);
        assert_ok(step_evaluate(&c)); /* builds the test set's cached views */
        uint64_t p_eval = run_until_success("evaluate", step_evaluate, &c);
        print_message("%-8s failure points: train %llu, save %llu, load %llu, serve %llu, evaluate %llu%s\n", kind,
                      (unsigned long long)p_train, (unsigned long long)p_save, (unsigned long long)p_load,
                      (unsigned long long)p_serve, (unsigned long long)p_eval,
                      rc == AISLE_OK ? "" : " (kind cannot be saved yet)");
        aisle_free(bytes);
        aisle_model_free(c.model);
    }
    aisle_config_free(cfg);
    aisle_dataset_free(train);
    aisle_dataset_free(test);
    aisle_dataset_free(ds);
}

/* ---- text classification: load texts, train, classify, explain,
 * evaluate, save, load ---- */

static const char texts_csv[] = "text,label\n"
                                "where is my refund,refund\n"
                                "money back please,refund\n"
                                "track my parcel,shipping\n"
                                "delivery is late,shipping\n"
                                "cancel the order,cancel\n"
                                "stop my order now,cancel\n"
                                "\u8d28\u91cf\u5f88\u597d,refund\n";

typedef struct text_ctx {
    const char *train_config;
    aisle_texts *texts;
    aisle_model *model;
    void *bytes;
    size_t len;
} text_ctx;

static int step_text_load(void *vc) {
    (void)vc;
    aisle_texts *t;
    int rc = aisle_texts_new(&t);
    if (rc) return rc;
    rc = aisle_texts_load_buffer(t, texts_csv, sizeof texts_csv - 1, "texts.csv", NULL);
    aisle_texts_free(t);
    return rc;
}

static int step_text_train(void *vc) {
    text_ctx *c = vc;
    aisle_config *cfg;
    int rc = aisle_config_new(&cfg);
    if (rc) return rc;
    rc = aisle_config_parse(cfg, c->train_config);
    if (!rc) rc = aisle_config_parse(cfg, "calibration_fraction=0.34");
    aisle_model *m = NULL;
    if (!rc) rc = aisle_text_train(c->texts, cfg, &m);
    aisle_model_free(m);
    aisle_config_free(cfg);
    return rc;
}

static int step_text_serve(void *vc) {
    text_ctx *c = vc;
    const char *labels[3];
    float p[3];
    size_t n;
    int unknown;
    int rc = aisle_text_classify(c->model, "where is my parcel", AISLE_NUL_TERMINATED, 3, labels, p, &n, &unknown);
    aisle_text_explanation *e = NULL;
    if (!rc) rc = aisle_text_explain(c->model, "where is my parcel", AISLE_NUL_TERMINATED, NULL, &e);
    aisle_text_explanation_free(e);
    return rc;
}

static int step_text_eval(void *vc) {
    text_ctx *c = vc;
    aisle_text_eval *e = NULL;
    aisle_config *cfg;
    int rc = aisle_config_new(&cfg);
    if (rc) return rc;
    rc = aisle_config_parse(cfg, "threads=1");
    if (!rc) rc = aisle_text_evaluate(c->model, c->texts, cfg, &e);
    char buf[64];
    size_t need;
    if (!rc) {
        rc = aisle_text_eval_to_json(e, buf, sizeof buf, &need);
        if (rc == AISLE_ERANGE) rc = AISLE_OK;
    }
    aisle_text_eval_free(e);
    aisle_config_free(cfg);
    return rc;
}

static int step_text_save(void *vc) {
    text_ctx *c = vc;
    void *bytes = NULL;
    size_t len;
    int rc = aisle_model_save_buffer(c->model, NULL, &bytes, &len);
    aisle_free(bytes);
    return rc;
}

static int step_text_model_load(void *vc) {
    text_ctx *c = vc;
    aisle_model *m = NULL;
    int rc = aisle_model_load_buffer(&m, c->bytes, c->len, NULL);
    aisle_model_free(m);
    return rc;
}

static void run_text_paths(const char *name, const char *train_config) {
    text_ctx c = {0};
    c.train_config = train_config;
    assert_ok(aisle_texts_new(&c.texts));
    assert_ok(aisle_texts_load_buffer(c.texts, texts_csv, sizeof texts_csv - 1, "texts.csv", NULL));
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, train_config));
    assert_ok(aisle_text_train(c.texts, cfg, &c.model));
    aisle_config_free(cfg);
    assert_ok(aisle_model_save_buffer(c.model, NULL, &c.bytes, &c.len));
    uint64_t p_load = run_until_success("texts load", step_text_load, &c);
    uint64_t p_train = run_until_success("intent train", step_text_train, &c);
    uint64_t p_serve = run_until_success("classify+explain", step_text_serve, &c);
    uint64_t p_eval = run_until_success("text evaluate", step_text_eval, &c);
    uint64_t p_save = run_until_success("intent save", step_text_save, &c);
    uint64_t p_mload = run_until_success("intent load", step_text_model_load, &c);
    print_message("%s failure points: texts load %llu, train %llu, classify+explain %llu, evaluate %llu, "
                  "save %llu, load %llu\n", name, (unsigned long long)p_load, (unsigned long long)p_train,
                  (unsigned long long)p_serve, (unsigned long long)p_eval, (unsigned long long)p_save,
                  (unsigned long long)p_mload);
    aisle_free(c.bytes);
    aisle_model_free(c.model);
    aisle_texts_free(c.texts);
}

static void test_text_paths_survive_allocation_failures(void **state) {
    (void)state;
    /* word_ngrams=3: the trigram path is a superset of the bigram one;
     * bag_dropout adds the per-thread buffer of kept features */
    run_text_paths("intent (bag)", "threads=1 epochs=2 dim=4 hash_buckets=4096 word_ngrams=3 bag_dropout=0.5");
}

/* pre-training, fine-tuning on 2 threads, leave-one-token-out explanations */
static void test_transformer_text_paths_survive_allocation_failures(void **state) {
    (void)state;
    run_text_paths("intent (transformer)", "architecture=transformer hidden=8 heads=2 ff_hidden=16 blocks=1 epochs=1 "
                                           "pretrain_epochs=1 mlm_buckets=16 threads=2 hash_buckets=4096");
}

/* architecture bert: the encoder file read, embedded into the model file
 * and back, batched logits for calibration and evaluation, leave-one-out
 * explanations; head-only and last-layer training */
static void test_bert_text_paths_survive_allocation_failures(void **state) {
    (void)state;
    char enc[600], opts[1200];
    tu_bert_encoder_file(enc, sizeof enc, "oom_bert_intent");
    snprintf(opts, sizeof opts, "architecture=bert encoder=\"%s\" head_epochs=1 threads=1", enc);
    run_text_paths("intent (bert)", opts);
    snprintf(opts, sizeof opts, "architecture=bert encoder=\"%s\" head_epochs=1 finetune_layers=1 threads=1", enc);
    run_text_paths("intent (bert, last layer)", opts);
}

/* ---- forecasting: train (global model, local models, intervals), save,
 * load, forecast, reorder, explain, backtest ---- */
typedef struct fc_ctx {
    aisle_dataset *ds;
    aisle_forecast *fc;
    void *bytes;
    size_t len;
} fc_ctx;

/* threads=1: the counting allocator of tests/util is not thread-safe, and
 * the forecast allocates from several workers at once (the parallel paths
 * are covered by test_forecast and the TSan suite). */
static const char fc_options[] = "period=day horizon=3 forecast_trees=2 forecast_depth=2 threads=1 holidays=2026-01-06";

static int step_fc_train(void *ctx) {
    fc_ctx *c = ctx;
    aisle_config *cfg = NULL;
    aisle_forecast *fc = NULL;
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_parse(cfg, fc_options);
    if (!rc) rc = aisle_forecast_train(c->ds, NULL, cfg, &fc);
    aisle_forecast_free(fc);
    aisle_config_free(cfg);
    return rc;
}

static int step_fc_save(void *ctx) {
    fc_ctx *c = ctx;
    void *b = NULL;
    size_t len;
    int rc = aisle_forecast_save_buffer(c->fc, NULL, &b, &len);
    aisle_free(b);
    return rc;
}

static int step_fc_load_and_use(void *ctx) {
    fc_ctx *c = ctx;
    aisle_forecast *fc = NULL;
    int rc = aisle_forecast_load_buffer(&fc, c->bytes, c->len, NULL);
    double p[3][4], rop, qty, parts[5];
    const char *names[5];
    size_t n;
    if (!rc) rc = aisle_forecast_item(fc, "mug", 4, NULL, p[0], p[1], p[2]);
    if (!rc) rc = aisle_forecast_reorder(fc, "tea", 2, 1, 0.95, 1, &rop, &qty);
    if (!rc) rc = aisle_forecast_explain(fc, "mug", 2, names, parts, 5, &n);
    char text[512];
    if (!rc) rc = aisle_forecast_describe(fc, text, sizeof text, NULL);
    aisle_forecast_free(fc);
    return rc;
}

static int step_fc_backtest(void *ctx) {
    fc_ctx *c = ctx;
    aisle_config *cfg = NULL;
    aisle_forecast_report *rep = NULL;
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_parse(cfg, fc_options);
    if (!rc) rc = aisle_config_parse(cfg, "method=ets backtest_origins=2");
    if (!rc) rc = aisle_forecast_backtest(c->ds, NULL, cfg, 3, &rep);
    aisle_forecast_report_free(rep);
    aisle_config_free(cfg);
    return rc;
}

static void test_forecast_survives_allocation_failures(void **state) {
    (void)state;
    fc_ctx c = {NULL, NULL, NULL, 0};
    assert_ok(aisle_dataset_new(&c.ds));
    static const char *const items[] = {"mug", "tea", "kettle"};
    for (int d = 0; d < 40; d++)
        for (int i = 0; i < 3; i++)
            if (i < 2 || d % 3 == 0)
                assert_ok(aisle_dataset_add_event(c.ds, "u", items[i], "purchase", 1 + (d + i) % 4,
                                                  1767225600 + (int64_t)d * 86400));
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, fc_options));
    assert_ok(aisle_forecast_train(c.ds, NULL, cfg, &c.fc));
    const char *m;
    assert_ok(aisle_forecast_method(c.fc, "mug", &m));
    assert_string_equal(m, "global"); /* the global model's paths are covered */
    assert_ok(aisle_forecast_save_buffer(c.fc, NULL, &c.bytes, &c.len));
    uint64_t p_train = run_until_success("forecast train", step_fc_train, &c);
    uint64_t p_save = run_until_success("forecast save", step_fc_save, &c);
    uint64_t p_load = run_until_success("forecast load+use", step_fc_load_and_use, &c);
    uint64_t p_bt = run_until_success("forecast backtest", step_fc_backtest, &c);
    print_message("forecast failure points: train %llu, save %llu, load+use %llu, backtest %llu\n",
                  (unsigned long long)p_train, (unsigned long long)p_save, (unsigned long long)p_load,
                  (unsigned long long)p_bt);
    assert_true(p_train > 10 && p_load > 10);
    aisle_free(c.bytes);
    aisle_forecast_free(c.fc);
    aisle_config_free(cfg);
    aisle_dataset_free(c.ds);
}

/* ---- a mapped model (option mmap): open, serve, update a user ---- */

static int step_open_mapped(void *path) {
    aisle_model *m = NULL;
    int rc = tu_model_load_opts(&m, path, "mmap=true");
    train_ctx c = {.model = m};
    if (!rc) rc = step_serve(&c);
    aisle_rec_options *o = NULL; /* the int8 scan and its re-scoring (few items: not chosen by auto) */
    if (!rc) rc = aisle_rec_options_new(&o);
    if (!rc) rc = aisle_rec_options_set(o, "scan", "int8");
    const char *got[4];
    size_t n;
    if (!rc) rc = aisle_recommend(m, "u1", 4, o, got, NULL, &n);
    aisle_rec_options_free(o);
    const char *items[] = {"tea", "cups"};
    if (!rc) rc = aisle_update_user(m, "u1", items, NULL, 2);
    aisle_model_free(m);
    return rc;
}

/* A mapped model whose keys and history are in the mapping
 * (store_mappable): an update, then a user and an item added through a
 * server (the dictionaries and row pointers are copied out of the file). */
static int step_grow_mapped(void *path) {
    aisle_model *m = NULL;
    aisle_server *srv = NULL;
    int rc = tu_model_load_opts(&m, path, "mmap=true");
    const char *items[] = {"tea", "cups"};
    const float v[4] = {0.5f, -0.25f, 1, 0.125f};
    if (!rc) rc = aisle_update_user(m, "u1", items, NULL, 2);
    if (!rc) rc = aisle_server_new(&srv, m);
    if (!rc) m = NULL; /* the server owns it */
    if (!rc) rc = aisle_server_add_item(srv, "saucer", v, 4);
    if (!rc) rc = aisle_server_add_user(srv, "u9", items, NULL, 2);
    aisle_server_free(srv);
    aisle_model_free(m);
    return rc;
}

static void test_mapped_open_survives_allocation_failures(void **state) {
    (void)state;
    aisle_dataset *ds;
    aisle_config *cfg;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, load_options));
    assert_ok(aisle_dataset_load_buffer(ds, events_csv, sizeof events_csv - 1, "events.csv", cfg));
    aisle_config_free(cfg);
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "oom_mmap");
    snprintf(path, sizeof path, "%s/m.aisle", dir);
    const char *kinds[] = {"model=als factors=4 threads=2", "model=mf factors=4 threads=2",
                           "model=hybrid factors=4 threads=2"};
    /* fp32 factors, then fp16 factors served as stored (widened as read;
     * the update and the additions widen a side into owned memory) */
    const char *saves[2] = {"compression=0 store_int8=true", "compression=0 quantize=fp16 store_int8=true"};
    for (size_t k = 0; k < 2 * sizeof kinds / sizeof *kinds; k++) {
        const char *kind = kinds[k % 3], *save = saves[k / 3];
        aisle_model *m = tu_train(ds, kind);
        assert_ok(tu_model_save_opts(m, path, save));
        aisle_model_free(m);
        uint64_t points = run_until_success("open mapped", step_open_mapped, path);
        print_message("%s, %s: mapped open+serve+update: %llu allocation failure points\n", kind, save,
                      (unsigned long long)points);
        assert_true(points > 10);
        if (k % 3 != 0) continue;
        char grow_save[128];
        snprintf(grow_save, sizeof grow_save, "%s store_mappable=true", save);
        m = tu_train(ds, kind);
        assert_ok(tu_model_save_opts(m, path, grow_save));
        aisle_model_free(m);
        points = run_until_success("grow mapped", step_grow_mapped, path);
        print_message("%s, %s: mapped open+update+add item and user: %llu allocation failure points\n", kind,
                      grow_save, (unsigned long long)points);
        assert_true(points > 10);
    }
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapped_open_survives_allocation_failures),
        cmocka_unit_test(test_load_data_survives_every_allocation_failure),
        cmocka_unit_test(test_every_kind_survives_allocation_failures),
        cmocka_unit_test(test_text_paths_survive_allocation_failures),
        cmocka_unit_test(test_transformer_text_paths_survive_allocation_failures),
        cmocka_unit_test(test_bert_text_paths_survive_allocation_failures),
        cmocka_unit_test(test_forecast_survives_allocation_failures),
    };
    return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
