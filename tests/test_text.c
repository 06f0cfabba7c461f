/* test_text.c - labelled texts, their loader, the intent kind (bag
 * architecture): training, classification, calibration, unknown answers,
 * explanations, evaluation, save/load with quantized weights,
 * distillation, Chinese text and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/test_util.h"

/* ---- synthetic intents: each label has its own keywords, all share
 * filler words; seeded so every run sees the same texts ---- */

static const char *const intent_names[] = {"refund", "shipping", "cancel", "account"};
static const char *const intent_words[4][5] = {
    {"refund", "money", "back", "reimburse", "return"},
    {"delivery", "shipping", "package", "track", "courier"},
    {"cancel", "cancellation", "stop", "abort", "revoke"},
    {"password", "login", "account", "profile", "signin"}};
static const char *const filler[] = {"i", "want", "to", "my", "order", "please", "the", "how", "can", "help"};

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void make_text(uint64_t *seed, int label, char *out, size_t len) {
    size_t o = 0;
    int n = 4 + (int)(lcg(seed) % 5);
    int key = (int)(lcg(seed) % (unsigned)n);
    for (int w = 0; w < n; w++) {
        const char *word = w == key || lcg(seed) % 4 == 0 ? intent_words[label][lcg(seed) % 5] : filler[lcg(seed) % 10];
        o += (size_t)snprintf(out + o, len - o, "%s%s", w ? " " : "", word);
    }
}

static aisle_texts *synthetic(int per_label, uint64_t seed) {
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    char buf[256];
    for (int i = 0; i < per_label; i++)
        for (int l = 0; l < 4; l++) {
            make_text(&seed, l, buf, sizeof buf);
            assert_ok(aisle_texts_add(t, buf, AISLE_NUL_TERMINATED, intent_names[l]));
        }
    return t;
}

static aisle_config *cfg_of(const char *text) {
    aisle_config *c;
    assert_ok(aisle_config_new(&c));
    if (text) assert_ok(aisle_config_parse(c, text));
    return c;
}

static aisle_model *train(const aisle_texts *t, const char *opts) {
    aisle_config *c = cfg_of(opts);
    aisle_model *m = NULL;
    assert_ok(aisle_text_train(t, c, &m));
    aisle_config_free(c);
    return m;
}

static const char *top(const aisle_model *m, const char *text, float *p) {
    const char *labels[1];
    float probs[1];
    size_t n = 0;
    assert_ok(aisle_text_classify(m, text, AISLE_NUL_TERMINATED, 1, labels, probs, &n, NULL));
    assert_int_equal(n, 1);
    if (p) *p = probs[0];
    return labels[0];
}

/* ---- corpus ---- */

static void test_texts_add_checks_text_and_label(void **state) {
    (void)state;
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    assert_ok(aisle_texts_add(t, "where is my parcel", AISLE_NUL_TERMINATED, "shipping"));
    assert_ok(aisle_texts_add(t, "", 0, "other")); /* an empty text is a text */
    assert_status_msg(aisle_texts_add(t, "x", 1, ""), AISLE_EINVAL, "empty label");
    assert_status_msg(aisle_texts_add(t, "a\0b", 3, "x"), AISLE_EINVAL, "NUL");
    assert_status_msg(aisle_texts_add(t, "caf\xc3", 4, "x"), AISLE_EINVAL, "UTF-8");
    assert_status_msg(aisle_texts_add(t, "ok", 2, "bad\xff"), AISLE_EINVAL, "UTF-8");
    assert_int_equal(aisle_texts_add(NULL, "x", 1, "y"), AISLE_EINVAL);
    size_t n = 0, nl = 0;
    assert_ok(aisle_texts_count(t, &n));
    assert_ok(aisle_texts_label_count(t, &nl));
    assert_int_equal(n, 2);
    assert_int_equal(nl, 2); /* failed adds left nothing behind */
    const char *text, *label;
    assert_ok(aisle_texts_at(t, 0, &text, &label));
    assert_string_equal(text, "where is my parcel");
    assert_string_equal(label, "shipping");
    assert_int_equal(aisle_texts_at(t, 2, &text, &label), AISLE_ERANGE);
    aisle_texts_free(t);
    aisle_texts_free(NULL);
}

static void test_split_is_stratified_and_seeded(void **state) {
    (void)state;
    aisle_texts *t = synthetic(50, 1);
    assert_ok(aisle_texts_add(t, "a lonely text", AISLE_NUL_TERMINATED, "once"));
    aisle_texts *tr, *te, *tr2, *te2;
    assert_ok(aisle_texts_split(t, 0.2, 7, &tr, &te));
    assert_ok(aisle_texts_split(t, 0.2, 7, &tr2, &te2));
    size_t ntr, nte;
    aisle_texts_count(tr, &ntr);
    aisle_texts_count(te, &nte);
    assert_int_equal(ntr + nte, 201);
    assert_int_equal(nte, 40); /* 10 of each label's 50; the label seen once stays in train */
    int per[4] = {0};
    for (size_t i = 0; i < nte; i++) {
        const char *label, *label2, *text, *text2;
        aisle_texts_at(te, i, &text, &label);
        aisle_texts_at(te2, i, &text2, &label2);
        assert_string_equal(text, text2);
        for (int l = 0; l < 4; l++) per[l] += !strcmp(label, intent_names[l]);
    }
    for (int l = 0; l < 4; l++) assert_int_equal(per[l], 10);
    assert_int_equal(aisle_texts_split(t, 1.0, 7, &tr2, &te2), AISLE_ERANGE);
    aisle_texts_free(tr);
    aisle_texts_free(te);
    aisle_texts_free(tr2);
    aisle_texts_free(te2);
    aisle_texts_free(t);
}

/* ---- loader ---- */

static void test_load_by_header_names_quoting_bom_crlf(void **state) {
    (void)state;
    static const char csv[] = "\xef\xbb\xbfid,utterance,intent\r\n"
                              "1,\"where is my refund, please\",refund\r\n"
                              "2,\"she said \"\"cancel\"\"\nnow\",cancel\r\n";
    aisle_config *c = cfg_of("columns=\"text=utterance,label=intent\"");
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    assert_ok(aisle_texts_load_buffer(t, csv, sizeof csv - 1, "chat.csv", c));
    size_t n;
    aisle_texts_count(t, &n);
    assert_int_equal(n, 2);
    const char *text, *label;
    aisle_texts_at(t, 1, &text, &label);
    assert_string_equal(text, "she said \"cancel\"\nnow");
    assert_string_equal(label, "cancel");
    /* positions, no header */
    aisle_config_free(c);
    c = cfg_of("columns=\"text=2,label=1\" header=no");
    static const char tsv[] = "refund\tmoney back\nshipping\twhere is it\n";
    assert_ok(aisle_texts_load_buffer(t, tsv, sizeof tsv - 1, "x.tsv", c));
    aisle_texts_count(t, &n);
    assert_int_equal(n, 4);
    aisle_texts_at(t, 3, &text, &label);
    assert_string_equal(text, "where is it");
    assert_string_equal(label, "shipping");
    /* known header names without the option */
    aisle_config_free(c);
    c = cfg_of(NULL);
    static const char named[] = "label,text\nspam,buy now\n";
    assert_ok(aisle_texts_load_buffer(t, named, sizeof named - 1, "named.csv", c));
    aisle_texts_at(t, 4, &text, &label);
    assert_string_equal(label, "spam");
    aisle_config_free(c);
    aisle_texts_free(t);
}

static void test_load_latin1_text_and_label(void **state) {
    (void)state;
    /* both fields converted into one buffer (found by fuzz_text_load) */
    static const char csv[] = "text;label\ncaf\xe9 au lait, tr\xe8s bon;boisson \xe0 emporter\n";
    aisle_config *c = cfg_of("encoding=latin1 delimiter=semicolon");
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    assert_ok(aisle_texts_load_buffer(t, csv, sizeof csv - 1, "l.csv", c));
    const char *text, *label;
    assert_ok(aisle_texts_at(t, 0, &text, &label));
    assert_string_equal(text, "caf\xc3\xa9 au lait, tr\xc3\xa8s bon");
    assert_string_equal(label, "boisson \xc3\xa0 emporter");
    aisle_config_free(c);
    aisle_texts_free(t);
}

static void test_load_gzip_file(void **state) {
    (void)state;
    char dir[256], path[300];
    tu_tmpdir(dir, sizeof dir, "text_gz");
    snprintf(path, sizeof path, "%s/texts.csv.gz", dir);
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    gzputs(g, "text,label\nhello there,greet\nbye now,leave\n");
    gzclose(g);
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    assert_ok(aisle_texts_load(t, path, NULL));
    size_t n;
    aisle_texts_count(t, &n);
    assert_int_equal(n, 2);
    aisle_texts_free(t);
}

static void test_load_errors_name_file_line_column_and_change_nothing(void **state) {
    (void)state;
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    assert_ok(aisle_texts_add(t, "keep me", AISLE_NUL_TERMINATED, "old"));
    aisle_config *c = cfg_of(NULL);
    static const char bad_utf8[] = "text,label\nfine,a\nbad \xff byte,b\n";
    assert_status_msg(aisle_texts_load_buffer(t, bad_utf8, sizeof bad_utf8 - 1, "m.csv", c), AISLE_EFORMAT, "m.csv:3:1");
    static const char empty_label[] = "text,label\nfine,a\nno label,\n";
    assert_status_msg(aisle_texts_load_buffer(t, empty_label, sizeof empty_label - 1, "e.csv", c), AISLE_EFORMAT,
                      "e.csv:3:");
    static const char nul[] = "text,label\nfine,a\nnul\0here,b\n";
    assert_status_msg(aisle_texts_load_buffer(t, nul, sizeof nul - 1, "n.csv", c), AISLE_EFORMAT, "NUL");
    static const char short_row[] = "text,label\nfine,a\nonly text\n";
    assert_status_msg(aisle_texts_load_buffer(t, short_row, sizeof short_row - 1, "s.csv", c), AISLE_EFORMAT,
                      "s.csv:3:");
    assert_status_msg(aisle_texts_load_buffer(t, "", 0, "z.csv", c), AISLE_EFORMAT, "empty file");
    aisle_config *byname = cfg_of("columns=\"text=message,label=intent\"");
    assert_status_msg(aisle_texts_load_buffer(t, empty_label, sizeof empty_label - 1, "h.csv", byname), AISLE_EFORMAT,
                      "'message'");
    size_t n, nl;
    aisle_texts_count(t, &n);
    aisle_texts_label_count(t, &nl);
    assert_int_equal(n, 1); /* strict loads changed nothing */
    assert_int_equal(nl, 1);
    /* lenient: bad rows skipped and counted */
    aisle_config *len = cfg_of("lenient=true");
    assert_ok(aisle_texts_load_buffer(t, bad_utf8, sizeof bad_utf8 - 1, "m.csv", len));
    size_t read, loaded, skipped;
    assert_ok(aisle_texts_load_report(t, &read, &loaded, &skipped));
    assert_int_equal(loaded, 1);
    assert_int_equal(skipped, 1);
    const char *msg;
    assert_ok(aisle_texts_load_message(t, 0, &msg));
    assert_non_null(strstr(msg, "m.csv:3:1"));
    aisle_config_free(len);
    aisle_config_free(byname);
    aisle_config_free(c);
    aisle_texts_free(t);
}

static void test_unlabelled_file_classifies_but_does_not_train(void **state) {
    (void)state;
    aisle_config *c = cfg_of("columns=text=message");
    static const char csv[] = "id,message\n1,hello\n2,where is my parcel\n";
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    assert_ok(aisle_texts_load_buffer(t, csv, sizeof csv - 1, "u.csv", c));
    const char *label;
    assert_ok(aisle_texts_at(t, 1, NULL, &label));
    assert_string_equal(label, "");
    aisle_model *m = NULL;
    assert_status_msg(aisle_text_train(t, NULL, &m), AISLE_EINVAL, NULL);
    aisle_config_free(c);
    aisle_texts_free(t);
}

/* ---- training and prediction ---- */

static void test_bag_learns_synthetic_intents(void **state) {
    (void)state;
    aisle_texts *t = synthetic(150, 3), *tr, *te;
    assert_ok(aisle_texts_split(t, 0.2, 42, &tr, &te));
    aisle_model *m = train(tr, "threads=1 epochs=10");
    aisle_text_eval *e;
    assert_ok(aisle_text_evaluate(m, te, NULL, &e));
    double acc, f1, ece, n;
    assert_ok(aisle_text_eval_metric(e, "accuracy", &acc));
    assert_ok(aisle_text_eval_metric(e, "macro_f1", &f1));
    assert_ok(aisle_text_eval_metric(e, "ece", &ece));
    assert_ok(aisle_text_eval_metric(e, "texts", &n));
    assert_true(acc >= 0.95);
    assert_true(f1 >= 0.95);
    assert_true(ece >= 0 && ece < 0.2);
    assert_int_equal((int)n, 120);
    assert_int_equal(aisle_text_eval_metric(e, "nope", &n), AISLE_ENOTFOUND);
    /* confusion sums to the test size; its diagonal is the accuracy */
    size_t L, sum = 0, diag = 0;
    assert_ok(aisle_text_eval_label_count(e, &L));
    assert_int_equal(L, 4);
    for (size_t i = 0; i < L; i++)
        for (size_t j = 0; j < L; j++) {
            size_t c;
            assert_ok(aisle_text_eval_confusion(e, i, j, &c));
            sum += c;
            if (i == j) diag += c;
        }
    assert_int_equal(sum, 120);
    assert_true(fabs((double)diag / 120.0 - acc) < 1e-9);
    size_t need = 0;
    assert_int_equal(aisle_text_eval_to_json(e, NULL, 0, &need), AISLE_ERANGE);
    char *json = malloc(need + 1);
    assert_ok(aisle_text_eval_to_json(e, json, need + 1, NULL));
    assert_non_null(strstr(json, "\"confusion\": [["));
    assert_non_null(strstr(json, "\"macro_f1\""));
    free(json);
    aisle_text_eval_free(e);
    /* top-k: sorted, probabilities of all labels sum to 1 */
    const char *labels[8];
    float p[8];
    size_t k;
    int unknown = -1;
    assert_ok(aisle_text_classify(m, "i want my money back", AISLE_NUL_TERMINATED, 8, labels, p, &k, &unknown));
    assert_int_equal(k, 4);
    assert_string_equal(labels[0], "refund");
    assert_int_equal(unknown, 0);
    float s = 0;
    for (size_t i = 0; i < k; i++) {
        s += p[i];
        if (i) assert_true(p[i] <= p[i - 1]);
    }
    assert_true(fabsf(s - 1.0f) < 1e-4f);
    assert_string_equal(top(m, "track my package", NULL), "shipping");
    assert_string_equal(top(m, "please cancel the order", NULL), "cancel");
    assert_string_equal(top(m, "forgot my password", NULL), "account");
    double temp;
    assert_ok(aisle_model_get_metric(m, "temperature", &temp));
    assert_true(temp > 0);
    aisle_model_free(m);
    aisle_texts_free(tr);
    aisle_texts_free(te);
    aisle_texts_free(t);
}

static void test_misspellings_share_character_ngrams(void **state) {
    (void)state;
    aisle_texts *t = synthetic(100, 5);
    aisle_model *m = train(t, "threads=1 epochs=10");
    /* "cancelation", "pasword" never occur in training */
    assert_string_equal(top(m, "cancelation", NULL), "cancel");
    assert_string_equal(top(m, "pasword", NULL), "account");
    aisle_model_free(m);
    aisle_texts_free(t);
}

static void test_unknown_below_threshold_and_explain(void **state) {
    (void)state;
    aisle_texts *t = synthetic(100, 9);
    aisle_model *m = train(t, "threads=1 epochs=10 unknown_threshold=0.9");
    const char *labels[2];
    float p[2];
    size_t n;
    int unknown = -1;
    /* no known word: near the prior, below 0.9 */
    assert_ok(aisle_text_classify(m, "zebra quantum", AISLE_NUL_TERMINATED, 2, labels, p, &n, &unknown));
    assert_int_equal(unknown, 1);
    assert_int_equal(n, 2);
    assert_ok(aisle_text_classify(m, "refund money back reimburse", AISLE_NUL_TERMINATED, 2, labels, p, &n, &unknown));
    assert_int_equal(unknown, 0);
    assert_string_equal(labels[0], "refund");
    /* explanation: the keyword pushes towards refund more than the filler */
    aisle_text_explanation *e;
    assert_ok(aisle_text_explain(m, "Please REFUND my order", AISLE_NUL_TERMINATED, NULL, &e));
    const char *lab;
    assert_ok(aisle_text_explanation_label(e, &lab));
    assert_string_equal(lab, "refund");
    size_t nt;
    assert_ok(aisle_text_explanation_count(e, &nt));
    assert_int_equal(nt, 4);
    const char *tok;
    float c_refund, c_please;
    assert_ok(aisle_text_explanation_at(e, 1, &tok, &c_refund));
    assert_string_equal(tok, "refund");
    assert_ok(aisle_text_explanation_at(e, 0, &tok, &c_please));
    assert_true(c_refund > 0);
    assert_true(c_refund > c_please);
    assert_int_equal(aisle_text_explanation_at(e, 4, &tok, &c_refund), AISLE_ERANGE);
    aisle_text_explanation_free(e);
    /* towards another label, the keyword pushes away */
    assert_ok(aisle_text_explain(m, "refund", AISLE_NUL_TERMINATED, "shipping", &e));
    assert_ok(aisle_text_explanation_at(e, 0, &tok, &c_refund));
    assert_true(c_refund < 0);
    aisle_text_explanation_free(e);
    assert_status_msg(aisle_text_explain(m, "x", 1, "nope", &e), AISLE_ENOTFOUND, "nope");
    aisle_model_free(m);
    aisle_texts_free(t);
}

static void test_chinese_train_predict_explain(void **state) {
    (void)state;
    static const char *const pos[] = {"质量很好，非常满意", "物流很快，包装很好", "很好用，推荐购买", "性价比高，满意",
                                      "非常喜欢，质量不错", "好评，下次还来"};
    static const char *const neg[] = {"质量太差了，不满意", "物流太慢，包装破损", "很难用，不推荐",
                                      "太差了，退货", "非常失望，质量差", "差评，不会再买"};
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    for (int r = 0; r < 20; r++)
        for (int i = 0; i < 6; i++) {
            assert_ok(aisle_texts_add(t, pos[i], AISLE_NUL_TERMINATED, "正面"));
            assert_ok(aisle_texts_add(t, neg[i], AISLE_NUL_TERMINATED, "负面"));
        }
    aisle_model *m = train(t, "threads=1 epochs=10");
    assert_string_equal(top(m, "质量很好", NULL), "正面");
    assert_string_equal(top(m, "质量太差", NULL), "负面");
    aisle_text_explanation *e;
    assert_ok(aisle_text_explain(m, "很满意", AISLE_NUL_TERMINATED, "正面", &e));
    size_t n;
    assert_ok(aisle_text_explanation_count(e, &n));
    assert_int_equal(n, 3); /* one token per character (bigrams are features of the second) */
    const char *tok;
    float c;
    assert_ok(aisle_text_explanation_at(e, 1, &tok, &c));
    assert_string_equal(tok, "满");
    assert_true(c > 0);
    aisle_text_explanation_free(e);
    aisle_model_free(m);
    aisle_texts_free(t);
}

/* "aaba" and "abaa" have the same words and word bigrams (aa, ab, ba) and
 * differ only in their trigrams: word_ngrams=2 cannot tell them apart
 * (same bag of features, same scores), word_ngrams=3 can. */
static void test_word_trigrams_separate_what_bigrams_cannot(void **state) {
    (void)state;
    static const char *const texts[2] = {"up up down up", "up down up up"};
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    for (int r = 0; r < 30; r++) {
        assert_ok(aisle_texts_add(t, texts[0], AISLE_NUL_TERMINATED, "first"));
        assert_ok(aisle_texts_add(t, texts[1], AISLE_NUL_TERMINATED, "second"));
    }
    float p0, p1;
    aisle_model *m = train(t, "threads=1 epochs=20 word_ngrams=2 char_ngram_min=0 char_ngram_max=0 "
                              "calibration_fraction=0");
    const char *l0 = top(m, texts[0], &p0), *l1 = top(m, texts[1], &p1);
    assert_string_equal(l0, l1);
    assert_float_equal(p0, p1, 1e-5);
    aisle_model_free(m);
    m = train(t, "threads=1 epochs=20 word_ngrams=3 char_ngram_min=0 char_ngram_max=0 calibration_fraction=0");
    assert_string_equal(top(m, texts[0], &p0), "first");
    assert_string_equal(top(m, texts[1], &p1), "second");
    assert_true(p0 > 0.9f && p1 > 0.9f);
    /* the n-gram order is saved with the model */
    void *buf;
    size_t len;
    aisle_model *back;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    assert_string_equal(top(back, texts[1], NULL), "second");
    aisle_model_free(back);
    aisle_free(buf);
    aisle_model_free(m);
    aisle_texts_free(t);
}

/* bag_norm=mean pools a text as the mean of its feature rows, so a word
 * repeated is no more evidence than once; sqrt (sum / sqrt(n)) makes it
 * more.  The pooling is saved with the model. */
static void test_bag_norm_sqrt_counts_repeated_evidence(void **state) {
    (void)state;
    aisle_texts *t = synthetic(80, 23);
    const char *plain = "threads=1 epochs=8 word_ngrams=1 char_ngram_min=0 char_ngram_max=0 calibration_fraction=0";
    char opts[256];
    float once, thrice;
    aisle_model *m = train(t, plain);
    /* a filler word leans a little towards some label */
    const char *lean = top(m, "please", &once);
    assert_string_equal(top(m, "please please please", &thrice), lean);
    assert_float_equal(once, thrice, 1e-6);
    aisle_model_free(m);
    snprintf(opts, sizeof opts, "%s bag_norm=sqrt", plain);
    m = train(t, opts);
    lean = top(m, "please", &once);
    assert_string_equal(top(m, "please please please", &thrice), lean);
    assert_true(once < 0.9f);
    assert_true(thrice > once + 1e-3f);
    void *buf;
    size_t len;
    aisle_model *back;
    assert_ok(aisle_model_save_buffer(m, NULL, &buf, &len));
    assert_ok(aisle_model_load_buffer(&back, buf, len, NULL));
    float again;
    top(back, "please please please", &again);
    assert_float_equal(again, thrice, 1e-6);
    char desc[2048];
    assert_ok(aisle_model_describe(back, desc, sizeof desc, NULL));
    assert_non_null(strstr(desc, "bag_norm: sqrt"));
    aisle_model_free(back);
    aisle_free(buf);
    aisle_model_free(m);
    aisle_config *c = cfg_of(NULL);
    assert_int_not_equal(aisle_config_set(c, "bag_norm", "max"), AISLE_OK);
    aisle_config_free(c);
    aisle_texts_free(t);
}

/* bag_dropout trains each update on a random half of a text's features:
 * the model still learns the intents, threads=1 with one seed repeats
 * bit for bit, another seed or no dropout gives other weights, and the
 * share is range-checked (1 would leave nothing to learn from). */
static void test_bag_dropout_learns_and_repeats_with_one_thread(void **state) {
    (void)state;
    aisle_texts *t = synthetic(150, 5), *tr, *te;
    assert_ok(aisle_texts_split(t, 0.2, 42, &tr, &te));
    const char *opts = "threads=1 epochs=10 bag_dropout=0.5 calibration_fraction=0";
    aisle_model *m = train(tr, opts), *again = train(tr, opts), *plain, *reseeded;
    char more[256];
    snprintf(more, sizeof more, "%s seed=7", opts);
    reseeded = train(tr, more);
    plain = train(tr, "threads=1 epochs=10 calibration_fraction=0");
    aisle_text_eval *e;
    double acc;
    assert_ok(aisle_text_evaluate(m, te, NULL, &e));
    assert_ok(aisle_text_eval_metric(e, "accuracy", &acc));
    assert_true(acc >= 0.95);
    aisle_text_eval_free(e);
    void *b0, *b1;
    size_t l0, l1;
    assert_ok(aisle_model_save_buffer(m, NULL, &b0, &l0));
    assert_ok(aisle_model_save_buffer(again, NULL, &b1, &l1));
    /* the same options and seed: the same file; the others differ in
     * their options too, so they are compared by their scores */
    assert_int_equal(l0, l1);
    assert_memory_equal(b0, b1, l0);
    float p0, p2, p3;
    const char *probe = "i want my money back please";
    top(m, probe, &p0);
    top(reseeded, probe, &p2);
    top(plain, probe, &p3);
    assert_true(p0 != p2);
    assert_true(p0 != p3);
    aisle_free(b0);
    aisle_free(b1);
    aisle_model_free(m);
    aisle_model_free(again);
    aisle_model_free(reseeded);
    aisle_model_free(plain);
    aisle_config *c = cfg_of(NULL);
    assert_int_not_equal(aisle_config_set(c, "bag_dropout", "1"), AISLE_OK);
    assert_int_not_equal(aisle_config_set(c, "bag_dropout", "-0.1"), AISLE_OK);
    assert_ok(aisle_config_set(c, "bag_dropout", "0.9"));
    aisle_config_free(c);
    aisle_texts_free(tr);
    aisle_texts_free(te);
    aisle_texts_free(t);
}

static void test_bad_texts_have_defined_results(void **state) {
    (void)state;
    aisle_texts *t = synthetic(50, 11);
    aisle_model *m = train(t, "threads=1 epochs=5 max_tokens=1000");
    const char *labels[4];
    float p[4];
    size_t n;
    int unknown;
    /* empty text: the prior (probabilities still sum to 1) */
    assert_ok(aisle_text_classify(m, "", 0, 4, labels, p, &n, &unknown));
    assert_int_equal(n, 4);
    assert_true(fabsf(p[0] + p[1] + p[2] + p[3] - 1.0f) < 1e-4f);
    assert_ok(aisle_text_classify(m, NULL, 0, 1, labels, p, &n, &unknown));
    /* invalid UTF-8 and NUL bytes: skipped / separators */
    static const char odd[] = "refund\xff\xfe money\0back";
    assert_ok(aisle_text_classify(m, odd, sizeof odd - 1, 1, labels, p, &n, &unknown));
    assert_string_equal(labels[0], "refund");
    /* a 1 MB message is truncated at max_tokens, not rejected */
    size_t big = 1 << 20;
    char *msg = malloc(big + 1);
    for (size_t i = 0; i < big; i++) msg[i] = "cancel "[i % 7];
    msg[big] = '\0';
    assert_ok(aisle_text_classify(m, msg, big, 1, labels, p, &n, &unknown));
    assert_string_equal(labels[0], "cancel");
    aisle_text_explanation *e;
    assert_ok(aisle_text_explain(m, msg, big, NULL, &e));
    assert_ok(aisle_text_explanation_count(e, &n));
    assert_int_equal(n, 1000);
    aisle_text_explanation_free(e);
    free(msg);
    assert_int_equal(aisle_text_classify(m, "x", 1, 0, labels, p, &n, &unknown), AISLE_EINVAL);
    assert_int_equal(aisle_text_classify(m, "x", 1, 1, NULL, p, &n, &unknown), AISLE_EINVAL);
    aisle_model_free(m);
    aisle_texts_free(t);
}

static void test_training_input_errors(void **state) {
    (void)state;
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    aisle_model *m = NULL;
    assert_status_msg(aisle_text_train(t, NULL, &m), AISLE_EINVAL, "no texts");
    assert_ok(aisle_texts_add(t, "only one label here", AISLE_NUL_TERMINATED, "solo"));
    assert_ok(aisle_texts_add(t, "still the same", AISLE_NUL_TERMINATED, "solo"));
    assert_status_msg(aisle_text_train(t, NULL, &m), AISLE_EINVAL, "at least 2 labels");
    /* a label seen once trains (it stays out of the calibration slice) */
    assert_ok(aisle_texts_add(t, "something else entirely", AISLE_NUL_TERMINATED, "once"));
    m = train(t, "threads=1 epochs=5");
    assert_non_null(m);
    aisle_model_free(m);
    aisle_config *c = cfg_of("architecture=lstm");
    assert_status_msg(aisle_text_train(t, c, &m), AISLE_ENOTFOUND, "bag");
    aisle_config_free(c);
    assert_int_equal(aisle_config_new(&c), AISLE_OK);
    assert_int_equal(aisle_config_set(c, "word_ngrams", "4"), AISLE_OK); /* valid for features, not for intent */
    assert_status_msg(aisle_text_train(t, c, &m), AISLE_ERANGE, "word_ngrams");
    aisle_config_free(c);
    aisle_texts_free(t);
}

static void test_eval_counts_unknown_test_labels_as_wrong(void **state) {
    (void)state;
    aisle_texts *t = synthetic(50, 13);
    aisle_model *m = train(t, "threads=1 epochs=5");
    aisle_texts *test;
    assert_ok(aisle_texts_new(&test));
    assert_ok(aisle_texts_add(test, "refund money back", AISLE_NUL_TERMINATED, "refund"));
    assert_ok(aisle_texts_add(test, "talk to a human", AISLE_NUL_TERMINATED, "human_agent"));
    aisle_text_eval *e;
    assert_ok(aisle_text_evaluate(m, test, NULL, &e));
    double acc, unseen;
    assert_ok(aisle_text_eval_metric(e, "accuracy", &acc));
    assert_ok(aisle_text_eval_metric(e, "unseen_labels", &unseen));
    assert_true(fabs(acc - 0.5) < 1e-9);
    assert_int_equal((int)unseen, 1);
    size_t L;
    const char *name;
    assert_ok(aisle_text_eval_label_count(e, &L));
    assert_int_equal(L, 5);
    assert_ok(aisle_text_eval_label(e, 4, &name));
    assert_string_equal(name, "human_agent");
    size_t row = 0;
    for (size_t j = 0; j < L; j++) {
        size_t c;
        assert_ok(aisle_text_eval_confusion(e, 4, j, &c));
        row += c;
    }
    assert_int_equal(row, 1);
    assert_ok(aisle_text_eval_confusion(e, 4, 4, &row));
    assert_int_equal(row, 0);
    aisle_text_eval_free(e);
    aisle_texts_free(test);
    aisle_model_free(m);
    aisle_texts_free(t);
}

/* ---- files ---- */

static void probs_of(const aisle_model *m, const char *text, float *p) {
    const char *labels[4];
    float q[4];
    size_t n;
    assert_ok(aisle_text_classify(m, text, AISLE_NUL_TERMINATED, 4, labels, q, &n, NULL));
    for (size_t i = 0; i < n; i++) {
        size_t nl, idx = 0;
        aisle_model_label_count(m, &nl);
        for (size_t l = 0; l < nl; l++) {
            const char *name;
            aisle_model_label(m, l, &name);
            if (!strcmp(name, labels[i])) idx = l;
        }
        p[idx] = q[i];
    }
}

static void test_save_load_roundtrip_and_quantized_weights(void **state) {
    (void)state;
    aisle_texts *t = synthetic(80, 17);
    aisle_model *m = train(t, "threads=1 epochs=8");
    static const char *const probe[] = {"where is my package", "cancel it", "money back please", "login fails"};
    const char *modes[] = {"quantize=none", "quantize=fp16", "quantize=int8"};
    const float tol[] = {0.0f, 2e-3f, 3e-2f};
    for (int q = 0; q < 3; q++) {
        aisle_config *c = cfg_of(modes[q]);
        void *buf;
        size_t len;
        assert_ok(aisle_model_save_buffer(m, c, &buf, &len));
        aisle_model *m2;
        assert_ok(aisle_model_load_buffer(&m2, buf, len, NULL));
        const char *kind;
        assert_ok(aisle_model_kind(m2, &kind));
        assert_string_equal(kind, "intent");
        for (int i = 0; i < 4; i++) {
            float a[4], b[4];
            probs_of(m, probe[i], a);
            probs_of(m2, probe[i], b);
            for (int l = 0; l < 4; l++)
                if (fabsf(a[l] - b[l]) > tol[q]) fail_msg("%s: '%s' label %d: %g vs %g", modes[q], probe[i], l, a[l], b[l]);
        }
        char desc[2048];
        assert_ok(aisle_model_describe(m2, desc, sizeof desc, NULL));
        assert_non_null(strstr(desc, "architecture: bag"));
        aisle_model_free(m2);
        aisle_free(buf);
        aisle_config_free(c);
    }
    aisle_model_free(m);
    aisle_texts_free(t);
}

static void test_intent_model_refuses_item_apis_and_vice_versa(void **state) {
    (void)state;
    aisle_texts *t = synthetic(20, 19);
    aisle_model *m = train(t, "threads=1 epochs=2");
    const char *keys[2];
    float scores[2];
    size_t n;
    /* no items: a recommendation is empty or refused, never a crash */
    n = 0;
    int rrc = aisle_recommend(m, "u1", 2, NULL, keys, scores, &n);
    assert_true(rrc != AISLE_OK || n == 0);
    /* events cannot train an intent model */
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_add_event(ds, "u", "i", "view", 1, 0));
    aisle_config *c = cfg_of("model=intent");
    aisle_model *m2 = NULL;
    assert_status_msg(aisle_model_train(ds, c, &m2), AISLE_EUNSUPPORTED, "aisle_text_train");
    aisle_config_free(c);
    /* text APIs on a recommender */
    c = cfg_of("model=popular");
    assert_ok(aisle_model_train(ds, c, &m2));
    assert_status_msg(aisle_text_classify(m2, "x", 1, 1, keys, scores, &n, NULL), AISLE_EUNSUPPORTED, "not an intent");
    size_t nl;
    assert_int_equal(aisle_model_label_count(m2, &nl), AISLE_EUNSUPPORTED);
    aisle_model_free(m2);
    aisle_config_free(c);
    aisle_dataset_free(ds);
    aisle_model_free(m);
    aisle_texts_free(t);
}

/* ---- distillation ---- */

static void test_distillation_from_a_teacher_file(void **state) {
    (void)state;
    char dir[256], path[300];
    tu_tmpdir(dir, sizeof dir, "text_distill");
    snprintf(path, sizeof path, "%s/teacher.aisle", dir);
    aisle_texts *t = synthetic(100, 23), *tr, *te;
    assert_ok(aisle_texts_split(t, 0.2, 1, &tr, &te));
    aisle_model *teacher = train(tr, "threads=1 epochs=10 dim=32");
    assert_ok(aisle_model_save(teacher, path, NULL));
    char opts[512];
    snprintf(opts, sizeof opts, "threads=1 epochs=10 dim=8 char_ngram_max=0 char_ngram_min=0 teacher=\"%s\" "
             "distill_alpha=0.7 distill_temperature=2", path);
    aisle_model *student = train(tr, opts);
    aisle_text_eval *e;
    double acc;
    assert_ok(aisle_text_evaluate(student, te, NULL, &e));
    assert_ok(aisle_text_eval_metric(e, "accuracy", &acc));
    assert_true(acc >= 0.9);
    aisle_text_eval_free(e);
    /* a teacher lacking a training label is refused */
    assert_ok(aisle_texts_add(tr, "brand new topic", AISLE_NUL_TERMINATED, "newlabel"));
    aisle_config *c = cfg_of(opts);
    aisle_model *m = NULL;
    assert_status_msg(aisle_text_train(tr, c, &m), AISLE_EINVAL, "newlabel");
    aisle_config_free(c);
    aisle_model_free(student);
    aisle_model_free(teacher);
    aisle_texts_free(tr);
    aisle_texts_free(te);
    aisle_texts_free(t);
}

/* ---- real data (skipped when absent) ---- */

static void test_bitext_accuracy(void **state) {
    (void)state;
    char path[512];
    if (!tu_shared_file(path, sizeof path, "bitext-cs/Bitext_Sample_Customer_Service_Training_Dataset.csv")) skip();
    aisle_config *c = cfg_of("columns=\"text=utterance,label=intent\" threads=2");
    aisle_texts *t, *tr, *te;
    assert_ok(aisle_texts_new(&t));
    assert_ok(aisle_texts_load(t, path, c));
    assert_ok(aisle_texts_split(t, 0.2, 42, &tr, &te));
    aisle_model *m;
    assert_ok(aisle_text_train(tr, c, &m));
    aisle_text_eval *e;
    double acc;
    assert_ok(aisle_text_evaluate(m, te, c, &e));
    assert_ok(aisle_text_eval_metric(e, "accuracy", &acc));
    assert_true(acc >= 0.99);
    aisle_text_eval_free(e);
    aisle_model_free(m);
    aisle_texts_free(tr);
    aisle_texts_free(te);
    aisle_texts_free(t);
    aisle_config_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_texts_add_checks_text_and_label),
        cmocka_unit_test(test_split_is_stratified_and_seeded),
        cmocka_unit_test(test_load_by_header_names_quoting_bom_crlf),
        cmocka_unit_test(test_load_latin1_text_and_label),
        cmocka_unit_test(test_load_gzip_file),
        cmocka_unit_test(test_load_errors_name_file_line_column_and_change_nothing),
        cmocka_unit_test(test_unlabelled_file_classifies_but_does_not_train),
        cmocka_unit_test(test_bag_learns_synthetic_intents),
        cmocka_unit_test(test_misspellings_share_character_ngrams),
        cmocka_unit_test(test_unknown_below_threshold_and_explain),
        cmocka_unit_test(test_chinese_train_predict_explain),
        cmocka_unit_test(test_word_trigrams_separate_what_bigrams_cannot),
        cmocka_unit_test(test_bag_norm_sqrt_counts_repeated_evidence),
        cmocka_unit_test(test_bag_dropout_learns_and_repeats_with_one_thread),
        cmocka_unit_test(test_bad_texts_have_defined_results),
        cmocka_unit_test(test_training_input_errors),
        cmocka_unit_test(test_eval_counts_unknown_test_labels_as_wrong),
        cmocka_unit_test(test_save_load_roundtrip_and_quantized_weights),
        cmocka_unit_test(test_intent_model_refuses_item_apis_and_vice_versa),
        cmocka_unit_test(test_distillation_from_a_teacher_file),
        cmocka_unit_test(test_bitext_accuracy),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
