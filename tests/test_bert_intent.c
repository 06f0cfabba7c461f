/* test_bert_intent.c - architecture bert of the intent kind: a pretrained
 * BERT file (the tiny random checkpoint of tests/bert) as the encoder of
 * an ordinary intent model.  Training the head (and the last layer),
 * classification, evaluation, calibration and the unknown threshold,
 * leave-one-token-out explanations checked against classification, a
 * self-contained file (the encoder file deleted after training) with
 * fp32/fp16/int8 weights, refusals, and distillation into a bag student
 * from a bert intent model or from a fine-tuned bert sequence classifier
 * (label names from config.json's id2label). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/bert_util.h"
#include "util/test_util.h"

static aisle_model *train_opts(const aisle_texts *t, const char *opts) {
    aisle_config *c;
    assert_ok(aisle_config_new(&c));
    assert_ok(aisle_config_parse(c, opts));
    aisle_model *m = NULL;
    assert_ok(aisle_text_train(t, c, &m));
    aisle_config_free(c);
    return m;
}

static int train_status(const aisle_texts *t, const char *opts) {
    aisle_config *c;
    assert_ok(aisle_config_new(&c));
    int rc = aisle_config_parse(c, opts);
    aisle_model *m = NULL;
    if (!rc) rc = aisle_text_train(t, c, &m);
    aisle_model_free(m);
    aisle_config_free(c);
    return rc;
}

static double accuracy(const aisle_model *m, const aisle_texts *t) {
    aisle_text_eval *e;
    double acc;
    assert_ok(aisle_text_evaluate(m, t, NULL, &e));
    assert_ok(aisle_text_eval_metric(e, "accuracy", &acc));
    aisle_text_eval_free(e);
    return acc;
}

/* Probabilities in label-index order. */
static void probs(const aisle_model *m, const char *text, float *p, size_t nl) {
    const char *labels[8];
    float q[8];
    size_t n;
    assert_ok(aisle_text_classify(m, text, AISLE_NUL_TERMINATED, nl, labels, q, &n, NULL));
    assert_int_equal(n, nl);
    for (size_t i = 0; i < n; i++)
        for (size_t l = 0; l < nl; l++) {
            const char *name;
            assert_ok(aisle_model_label(m, l, &name));
            if (!strcmp(name, labels[i])) p[l] = q[i];
        }
}

static void test_head_learns_keywords_and_describes(void **state) {
    (void)state;
    char enc[600], opts[2000];
    tu_bert_encoder_file(enc, sizeof enc, "bert_intent_learn");
    aisle_texts *t = tu_keyword_texts(40, 5), *tr, *te;
    assert_ok(aisle_texts_split(t, 0.25, 2, &tr, &te));
    tu_bert_intent_options(opts, sizeof opts, enc, NULL);
    aisle_model *m = train_opts(tr, opts);
    /* random encoder weights: the keyword's pieces still move the pooled
     * vector far enough for a linear head (measured 0.96 train, 0.93 test) */
    double acc_tr = accuracy(m, tr), acc_te = accuracy(m, te);
    if (acc_tr < 0.85 || acc_te < 0.8) fail_msg("accuracy train %.3f test %.3f", acc_tr, acc_te);
    char desc[4096];
    assert_ok(aisle_model_describe(m, desc, sizeof desc, NULL));
    assert_non_null(strstr(desc, "architecture: bert"));
    assert_non_null(strstr(desc, "bert_layers: 2"));
    assert_non_null(strstr(desc, "bert_pooling: pooler"));
    assert_null(strstr(desc, "hash_buckets")); /* no hashed features */
    const char *kind;
    assert_ok(aisle_model_kind(m, &kind));
    assert_string_equal(kind, "intent");
    /* calibration ran on the held-out share */
    double temp;
    assert_ok(aisle_model_get_metric(m, "temperature", &temp));
    assert_true(temp > 0);
    aisle_model_free(m);
    /* mean and cls pooling train too */
    tu_bert_intent_options(opts, sizeof opts, enc, "bert_pooling=mean");
    m = train_opts(tr, opts);
    assert_true(accuracy(m, tr) > 0.6);
    aisle_model_free(m);
    aisle_texts_free(tr);
    aisle_texts_free(te);
    aisle_texts_free(t);
}

static void test_unknown_threshold(void **state) {
    (void)state;
    char enc[600], opts[2000];
    tu_bert_encoder_file(enc, sizeof enc, "bert_intent_unknown");
    aisle_texts *t = tu_keyword_texts(20, 7);
    tu_bert_intent_options(opts, sizeof opts, enc, "unknown_threshold=0.999999 calibration_fraction=0");
    aisle_model *m = train_opts(t, opts);
    const char *labels[1];
    float p[1];
    size_t n;
    int unknown = 0;
    assert_ok(aisle_text_classify(m, "paris", AISLE_NUL_TERMINATED, 1, labels, p, &n, &unknown));
    assert_int_equal(unknown, p[0] < 0.999999f);
    aisle_text_eval *e;
    double rate;
    assert_ok(aisle_text_evaluate(m, t, NULL, &e));
    assert_ok(aisle_text_eval_metric(e, "unknown_rate", &rate));
    assert_true(rate > 0);
    aisle_text_eval_free(e);
    aisle_model_free(m);
    aisle_texts_free(t);
}

/* The file holds the encoder: predictions survive the encoder file's
 * removal, identical in fp32, close in fp16 and int8. */
static void test_save_load_self_contained(void **state) {
    (void)state;
    char enc[600], opts[2000], path[700];
    tu_bert_encoder_file(enc, sizeof enc, "bert_intent_file");
    snprintf(path, sizeof path, "%s.intent", enc);
    aisle_texts *t = tu_keyword_texts(20, 9);
    tu_bert_intent_options(opts, sizeof opts, enc, "head_epochs=10");
    aisle_model *m = train_opts(t, opts);
    assert_ok(aisle_model_save(m, path, NULL));
    assert_int_equal(unlink(enc), 0);
    static const char *const probe[] = {"great shop", "the cafe costs", "hello paris", "", "Café Ελλάδα ☃ 中文"};
    const char *modes[] = {"quantize=none", "quantize=fp16", "quantize=int8"};
    const float tol[] = {0.0f, 5e-3f, 6e-2f};
    size_t sizes[1] = {0};
    for (int q = 0; q < 3; q++) {
        aisle_model *m2;
        if (q == 0) {
            assert_ok(aisle_model_load(&m2, path, NULL));
            FILE *f = fopen(path, "rb");
            assert_non_null(f);
            fseek(f, 0, SEEK_END);
            sizes[0] = (size_t)ftell(f);
            fclose(f);
        } else {
            aisle_config *c;
            void *buf;
            size_t len;
            assert_ok(aisle_config_new(&c));
            assert_ok(aisle_config_parse(c, modes[q]));
            assert_ok(aisle_model_save_buffer(m, c, &buf, &len));
            assert_ok(aisle_model_load_buffer(&m2, buf, len, NULL));
            /* the encoder's big matrices take the save's encoding */
            if (len > sizes[0] * (q == 1 ? 0.6 : 0.35)) fail_msg("%s: %zu bytes, fp32 %zu", modes[q], len, sizes[0]);
            aisle_free(buf);
            aisle_config_free(c);
        }
        for (int i = 0; i < 5; i++) {
            float a[3], b[3];
            probs(m, probe[i], a, 3);
            probs(m2, probe[i], b, 3);
            for (int l = 0; l < 3; l++)
                if (fabsf(a[l] - b[l]) > tol[q])
                    fail_msg("%s: '%s' label %d: %g vs %g", modes[q], probe[i], l, a[l], b[l]);
        }
        /* the description is the structure, the same whatever the encoding
         * (fuzz_model_load checks it of every file that loads) */
        char d1[2048], d2[2048];
        assert_ok(aisle_model_describe(m, d1, sizeof d1, NULL));
        assert_ok(aisle_model_describe(m2, d2, sizeof d2, NULL));
        assert_string_equal(strstr(d1, "architecture:"), strstr(d2, "architecture:"));
        aisle_model_free(m2);
    }
    aisle_model_free(m);
    aisle_texts_free(t);
}

/* Leave-one-token-out: a token's contribution is the drop of the label's
 * margin over the mean logit when it is removed; with temperature 1 that
 * margin is log p[label] - mean log p, which classification shows. */
static double margin(const aisle_model *m, const char *text, size_t label) {
    float p[3];
    probs(m, text, p, 3);
    double mean = 0;
    for (int l = 0; l < 3; l++) mean += log(p[l]) / 3.0;
    return log(p[label]) - mean;
}

static void test_explain_is_leave_one_token_out(void **state) {
    (void)state;
    char enc[600], opts[2000];
    tu_bert_encoder_file(enc, sizeof enc, "bert_intent_explain");
    aisle_texts *t = tu_keyword_texts(30, 11);
    tu_bert_intent_options(opts, sizeof opts, enc, "calibration_fraction=0");
    aisle_model *m = train_opts(t, opts);
    /* whole words of the vocabulary: one WordPiece each */
    const char *text = "the great shop", *without[3] = {"great shop", "the shop", "the great"};
    aisle_text_explanation *e;
    assert_ok(aisle_text_explain(m, text, AISLE_NUL_TERMINATED, "pos", &e));
    size_t n;
    assert_ok(aisle_text_explanation_count(e, &n));
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        const char *tok;
        float c;
        assert_ok(aisle_text_explanation_at(e, i, &tok, &c));
        assert_string_equal(tok, i == 0 ? "the" : i == 1 ? "great" : "shop");
        double want = margin(m, text, 0) - margin(m, without[i], 0);
        if (fabs(c - want) > 1e-3 * (1 + fabs(want))) fail_msg("token %s: %g, expected %g", tok, c, want);
    }
    aisle_text_explanation_free(e);
    /* WordPieces are the tokens shown; no label: the top one */
    assert_ok(aisle_text_explain(m, "shoe runs", AISLE_NUL_TERMINATED, NULL, &e));
    assert_ok(aisle_text_explanation_count(e, &n));
    assert_int_equal(n, 3);
    const char *tok, *label;
    assert_ok(aisle_text_explanation_at(e, 1, &tok, NULL));
    assert_string_equal(tok, "##oe");
    assert_ok(aisle_text_explanation_label(e, &label));
    aisle_text_explanation_free(e);
    /* an empty text explains with no tokens */
    assert_ok(aisle_text_explain(m, "", 0, NULL, &e));
    assert_ok(aisle_text_explanation_count(e, &n));
    assert_int_equal(n, 0);
    aisle_text_explanation_free(e);
    aisle_model_free(m);
    aisle_texts_free(t);
}

static void test_finetune_last_layer(void **state) {
    (void)state;
    char enc[600], opts[2000];
    tu_bert_encoder_file(enc, sizeof enc, "bert_intent_layers");
    aisle_texts *t = tu_keyword_texts(20, 13);
    tu_bert_intent_options(opts, sizeof opts, enc, "finetune_layers=1 head_epochs=8 finetune_learning_rate=1e-3");
    aisle_model *m = train_opts(t, opts);
    assert_true(accuracy(m, t) > 0.6);
    void *buf;
    size_t len;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    aisle_model *m2;
    assert_ok(aisle_model_load_buffer(&m2, buf, len, NULL));
    float a[3], b[3];
    probs(m, "hello the shop", a, 3);
    probs(m2, "hello the shop", b, 3);
    assert_memory_equal(a, b, sizeof a);
    aisle_free(buf);
    aisle_model_free(m2);
    aisle_model_free(m);
    aisle_texts_free(t);
}

static void test_refusals_name_the_option(void **state) {
    (void)state;
    char enc[600], opts[2000];
    tu_bert_encoder_file(enc, sizeof enc, "bert_intent_refuse");
    aisle_texts *t = tu_keyword_texts(5, 15);
    assert_int_equal(train_status(t, "architecture=bert"), AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "encoder"));
    assert_int_equal(train_status(t, "architecture=bert encoder=/nonexistent/enc.aisle"), AISLE_EIO);
    assert_non_null(strstr(aisle_last_error(), "/nonexistent/enc.aisle"));
    tu_bert_intent_options(opts, sizeof opts, enc, "finetune_layers=1 bert_pooling=mean");
    assert_int_equal(train_status(t, opts), AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "bert_pooling"));
    tu_bert_intent_options(opts, sizeof opts, enc, "max_length=65");
    assert_int_equal(train_status(t, opts), AISLE_ERANGE);
    assert_int_equal(train_status(t, "architecture=bert bert_pooling=first"), AISLE_EINVAL);
    /* a file that is not a bert model */
    char other[700];
    snprintf(other, sizeof other, "%s.txt", enc);
    tu_write_file(other, "not a model", 11);
    snprintf(opts, sizeof opts, "architecture=bert encoder=\"%s\"", other);
    assert_true(train_status(t, opts) != AISLE_OK);
    /* the unknown-architecture message lists bert */
    assert_int_equal(train_status(t, "architecture=nope"), AISLE_ENOTFOUND);
    assert_non_null(strstr(aisle_last_error(), "bert"));
    aisle_texts_free(t);
}

/* A BERT intent model teaches a bag student (distillation): the student
 * agrees with the teacher on the training texts. */
static void test_bert_teacher_for_a_bag_student(void **state) {
    (void)state;
    char enc[600], opts[2000], path[700];
    tu_bert_encoder_file(enc, sizeof enc, "bert_intent_teacher");
    snprintf(path, sizeof path, "%s.teacher", enc);
    aisle_texts *t = tu_keyword_texts(40, 17);
    tu_bert_intent_options(opts, sizeof opts, enc, NULL);
    aisle_model *teacher = train_opts(t, opts);
    assert_ok(aisle_model_save(teacher, path, NULL));
    snprintf(opts, sizeof opts, "threads=1 epochs=20 dim=16 teacher=\"%s\" distill_alpha=0.9 distill_temperature=2",
             path);
    aisle_model *student = train_opts(t, opts);
    size_t n, agree = 0;
    assert_ok(aisle_texts_count(t, &n));
    for (size_t i = 0; i < n; i++) {
        const char *text, *gold, *a[1], *b[1];
        float p[1];
        size_t k;
        assert_ok(aisle_texts_at(t, i, &text, &gold));
        assert_ok(aisle_text_classify(teacher, text, AISLE_NUL_TERMINATED, 1, a, p, &k, NULL));
        assert_ok(aisle_text_classify(student, text, AISLE_NUL_TERMINATED, 1, b, p, &k, NULL));
        agree += !strcmp(a[0], b[0]);
    }
    double rate = (double)agree / (double)n;
    if (rate < 0.9) fail_msg("student agrees with the teacher on %.3f of the training texts", rate);
    /* distillation needs the head-only path */
    snprintf(opts, sizeof opts, "architecture=bert encoder=\"%s\" teacher=\"%s\" finetune_layers=1 threads=1", enc,
             path);
    assert_int_equal(train_status(t, opts), AISLE_EUNSUPPORTED);
    aisle_model_free(student);
    aisle_model_free(teacher);
    aisle_texts_free(t);
}

/* ---- a fine-tuned bert sequence classifier (kind bert) as the teacher ---- */

/* The keyword task relabelled with the fixture's id2label names (neg,
 * neutral, pos = ids 0, 1, 2), its texts and float class ids. */
static aisle_texts *named_task(const char **texts, float *ids, size_t *n) {
    static const char *const name_of[3] = {"pos", "neg", "neutral"}; /* for pos, price, greet */
    static const float id_of[3] = {2, 0, 1};
    aisle_texts *src = tu_keyword_texts(40, 19), *t;
    assert_ok(aisle_texts_new(&t));
    assert_ok(aisle_texts_count(src, n));
    for (size_t i = 0; i < *n; i++) {
        const char *text, *label;
        assert_ok(aisle_texts_at(src, i, &text, &label));
        int k = !strcmp(label, "pos") ? 0 : !strcmp(label, "price") ? 1 : 2;
        assert_ok(aisle_texts_add(t, text, AISLE_NUL_TERMINATED, name_of[k]));
        ids[i] = id_of[k];
    }
    for (size_t i = 0; i < *n; i++) assert_ok(aisle_texts_at(t, i, &texts[i], NULL));
    aisle_texts_free(src);
    return t;
}

/* Share of the texts whose student top label is names[argmax of p]. */
static double student_agreement(const aisle_model *student, const char *const *texts, size_t n, const float *p,
                                const char *const names[3]) {
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) {
        const char *top[1];
        float q[1];
        size_t k;
        int best = 0;
        for (int l = 1; l < 3; l++) best = p[i * 3 + l] > p[i * 3 + best] ? l : best;
        assert_ok(aisle_text_classify(student, texts[i], AISLE_NUL_TERMINATED, 1, top, q, &k, NULL));
        agree += !strcmp(top[0], names[best]);
    }
    return (double)agree / (double)n;
}

static void test_bert_classifier_teacher_with_label_names(void **state) {
    (void)state;
    char dir[600], teacher[700], fresh[700], opts[2000], src[1100];
    tu_tmpdir(dir, sizeof dir, "bert_cls_teacher");
    snprintf(src, sizeof src, "%s/tests/bert/data/cls", tu_srcdir());
    snprintf(teacher, sizeof teacher, "%s/teacher.aisle", dir);
    snprintf(fresh, sizeof fresh, "%s/new-head.aisle", dir);
    const char *texts[120];
    float ids[120];
    size_t n;
    aisle_texts *t = named_task(texts, ids, &n);
    assert_int_equal(n, 120);
    /* fine-tune the imported head (num_labels 0 keeps it and its names) */
    aisle_bert *b;
    aisle_config *c;
    assert_ok(aisle_bert_import(&b, src, NULL));
    assert_ok(aisle_config_new(&c));
    assert_ok(aisle_config_parse(c, "head_epochs=40 head_learning_rate=0.05 threads=1"));
    assert_ok(aisle_bert_finetune_head(b, texts, NULL, ids, n, 0, c, NULL));
    assert_ok(aisle_bert_save(b, teacher, NULL));
    float *p = malloc(n * 3 * sizeof *p);
    assert_ok(aisle_bert_classify(b, texts, NULL, n, c, p));
    /* a new head (num_labels 3) has the caller's ids, not the names */
    assert_ok(aisle_bert_finetune_head(b, texts, NULL, ids, n, 3, c, NULL));
    assert_ok(aisle_bert_save(b, fresh, NULL));
    aisle_bert_free(b);
    aisle_config_free(c);
    /* a bag student distilled from the bert teacher file */
    snprintf(opts, sizeof opts, "threads=1 epochs=20 dim=16 teacher=\"%s\" distill_alpha=0.9", teacher);
    aisle_model *student = train_opts(t, opts);
    static const char *const names[3] = {"neg", "neutral", "pos"};
    double rate = student_agreement(student, texts, n, p, names);
    print_message("bag student agrees with the bert classifier teacher on %.3f of the training texts\n", rate);
    if (rate < 0.9) fail_msg("student agrees with the teacher on %.3f of the training texts", rate);
    aisle_model_free(student);
    /* the file with a new head has no names: it loads, and as a teacher it
     * is refused with the reason */
    assert_ok(aisle_bert_load(&b, fresh, NULL));
    aisle_bert_free(b);
    snprintf(opts, sizeof opts, "threads=1 epochs=1 teacher=\"%s\"", fresh);
    assert_int_equal(train_status(t, opts), AISLE_EINVAL);
    assert_non_null(strstr(aisle_last_error(), "label names"));
    /* aisle_bert_set_labels names the new head (the task's names for its
     * ids): saved, and a student distilled from it learns them */
    static const char *const *const fresh_names = names, *const twice[3] = {"neg", "pos", "neg"};
    char named[700];
    snprintf(named, sizeof named, "%s/named-head.aisle", dir);
    assert_ok(aisle_bert_load(&b, fresh, NULL));
    assert_int_equal(aisle_bert_set_labels(b, fresh_names, 2), AISLE_ERANGE);
    assert_int_equal(aisle_bert_set_labels(b, twice, 3), AISLE_EINVAL);
    assert_int_equal(aisle_bert_set_labels(NULL, fresh_names, 3), AISLE_EINVAL);
    assert_ok(aisle_bert_set_labels(b, fresh_names, 3));
    assert_ok(aisle_bert_save(b, named, NULL));
    assert_ok(aisle_config_new(&c));
    assert_ok(aisle_config_parse(c, "threads=1"));
    assert_ok(aisle_bert_classify(b, texts, NULL, n, c, p));
    aisle_config_free(c);
    aisle_bert_free(b);
    snprintf(opts, sizeof opts, "threads=1 epochs=20 dim=16 teacher=\"%s\" distill_alpha=0.9", named);
    student = train_opts(t, opts);
    rate = student_agreement(student, texts, n, p, fresh_names);
    print_message("bag student of the named new head agrees with it on %.3f of the training texts\n", rate);
    if (rate < 0.9) fail_msg("student agrees with the named teacher on %.3f of the training texts", rate);
    aisle_model_free(student);
    /* a regression head has no classes to name */
    assert_ok(aisle_bert_import(&b, src, NULL));
    assert_ok(aisle_config_new(&c));
    assert_ok(aisle_config_parse(c, "head_epochs=1 threads=1"));
    assert_ok(aisle_bert_finetune_head(b, texts, NULL, ids, n, 1, c, NULL));
    assert_int_equal(aisle_bert_set_labels(b, fresh_names, 1), AISLE_EUNSUPPORTED);
    aisle_config_free(c);
    aisle_bert_free(b);
    free(p);
    aisle_texts_free(t);
}

/* id2label must name each class id once. */
static void test_import_refuses_bad_id2label(void **state) {
    (void)state;
    static const char *const bad[] = {
        "\"id2label\": {\"0\": \"a\", \"5\": \"b\", \"2\": \"c\"}", "\"id2label\": {\"0\": \"a\", \"1\": \"a\", \"2\": \"c\"}",
        "\"id2label\": {\"0\": \"a\", \"1\": 7, \"2\": \"c\"}", "\"id2label\": {\"0\": \"a\", \"1\": \"\", \"2\": \"c\"}",
        "\"id2label\": {\"0\": \"a\", \"01x\": \"b\", \"2\": \"c\"}"};
    char dir[600], path[700], src[1100];
    tu_tmpdir(dir, sizeof dir, "bert_id2label");
    static const char *const files[] = {"vocab.txt", "model.safetensors"};
    for (int f = 0; f < 2; f++) {
        snprintf(src, sizeof src, "%s/tests/bert/data/cls/%s", tu_srcdir(), files[f]);
        FILE *in = fopen(src, "rb");
        assert_non_null(in);
        fseek(in, 0, SEEK_END);
        long len = ftell(in);
        fseek(in, 0, SEEK_SET);
        char *buf = malloc((size_t)len);
        assert_int_equal(fread(buf, 1, (size_t)len, in), (size_t)len);
        fclose(in);
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        tu_write_file(path, buf, (size_t)len);
        free(buf);
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char cfg[1024];
        int len = snprintf(cfg, sizeof cfg,
                           "{\"vocab_size\": 500, \"hidden_size\": 64, \"num_hidden_layers\": 2, "
                           "\"num_attention_heads\": 4, \"intermediate_size\": 128, \"max_position_embeddings\": 64, "
                           "\"num_labels\": 3, %s}", bad[i]);
        tu_write_file(path, cfg, (size_t)len);
        aisle_bert *b = NULL;
        assert_int_equal(aisle_bert_import(&b, dir, NULL), AISLE_EFORMAT);
        assert_non_null(strstr(aisle_last_error(), "id2label"));
        assert_null(b);
    }
}

int main(void) {
    tu_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_learns_keywords_and_describes),
        cmocka_unit_test(test_unknown_threshold),
        cmocka_unit_test(test_save_load_self_contained),
        cmocka_unit_test(test_explain_is_leave_one_token_out),
        cmocka_unit_test(test_finetune_last_layer),
        cmocka_unit_test(test_refusals_name_the_option),
        cmocka_unit_test(test_bert_teacher_for_a_bag_student),
        cmocka_unit_test(test_bert_classifier_teacher_with_label_names),
        cmocka_unit_test(test_import_refuses_bad_id2label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
