/* test_bert_tune.c - fine-tuning the last layers of a bert model
 * (finetune_layers): the trainable copy computes what the model's forward
 * computes, every parameter's gradient matches central finite differences
 * (layer norms, attention over ragged sequences, exact GELU, the pooler's
 * tanh, both heads), training layers lowers the loss more than the head
 * alone, the result saves and loads, and quantized models are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert/bert.h"
#include "util/test_util.h"

static aisle_bert *fixture(const char *name) {
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/tests/bert/data/%s", tu_srcdir(), name);
    aisle_bert *m;
    assert_ok(aisle_bert_import(&m, dir, NULL));
    return m;
}

/* A batch of texts and pairs of different lengths, packed. */
enum { NB = 5, ML = 24 };
static const char *const batch_a[NB] = {"running shoes", "great jackets for the runner in paris",
                                        "hello", "creme brulee and cafe", "this shop sells shoes"};
static const char *const batch_b[NB] = {NULL, NULL, "world", "well known", NULL};

typedef struct packed {
    uint32_t ids[NB * ML], types[NB * ML];
    size_t start[NB + 1];
    bert_seqs s;
} packed;

static void pack(const aisle_bert *m, packed *p) {
    p->start[0] = 0;
    for (size_t i = 0; i < NB; i++) {
        size_t k;
        assert_ok(bert_encode(&m->vocab, m->cfg.lower, m->cfg.strip_accents, batch_a[i], batch_b[i], ML,
                              p->ids + p->start[i], p->types + p->start[i], &k));
        p->start[i + 1] = p->start[i] + k;
    }
    bert_seqs s = {NB, p->start, p->ids, p->types};
    p->s = s;
}

static void tuner(bert_tuner *t, const aisle_bert *m, uint32_t layers, bool keep, uint32_t labels, bool regression) {
    core_rng r;
    rng_seed(&r, 7);
    assert_ok(bert_tuner_init(t, m, layers, labels, regression, keep, NB * ML, NB, ML, 2, &r));
}

/* The trainable copy computes the model's own outputs: its loss at the
 * model's weights equals the loss from aisle_bert_classify's outputs, for
 * every split of frozen and trained layers. */
static void test_tuner_forward_matches_model(void **state) {
    (void)state;
    const char *names[2] = {"cls", "reg"};
    for (int f = 0; f < 2; f++) {
        aisle_bert *m = fixture(names[f]);
        packed p;
        pack(m, &p);
        uint32_t L = m->cfg.num_labels;
        float labels[NB], out[NB * 4];
        for (int i = 0; i < NB; i++) labels[i] = m->cfg.regression ? 0.5f * (float)i : (float)(i % L);
        aisle_config *cfg;
        assert_ok(aisle_config_new(&cfg));
        assert_ok(aisle_config_set_int(cfg, "max_length", ML));
        for (int i = 0; i < NB; i++) /* a batch's texts are all single or all pairs */
            assert_ok(aisle_bert_classify(m, batch_a + i, batch_b[i] ? batch_b + i : NULL, 1, cfg, out + i * L));
        double want = 0;
        for (int i = 0; i < NB; i++) {
            if (m->cfg.regression) {
                double d = (double)out[i] - labels[i];
                want += 0.5 * d * d;
            } else {
                want -= log((double)out[i * L + (size_t)labels[i]]);
            }
        }
        want /= NB;
        for (uint32_t n = 0; n <= m->cfg.layers; n++) {
            bert_tuner t;
            tuner(&t, m, n, true, L, m->cfg.regression);
            double got;
            assert_ok(bert_tuner_batch(&t, &p.s, labels, false, &got));
            if (fabs(got - want) > 1e-5 * (1 + fabs(want)))
                fail_msg("%s, %u trained layers: loss %.8f, the model's %.8f", names[f], n, got, want);
            bert_tuner_free(&t);
        }
        aisle_config_free(cfg);
        aisle_bert_free(m);
    }
}

/* ---- finite differences ----
 * Every tensor of the trainable copy: the analytic gradient of the batch
 * loss against central differences at a spread of its entries.  The
 * weights are first moved away from the fixture's N(0, 0.02^2) so that
 * attention is far from uniform and the gradients are not tiny. */

static double batch_loss(bert_tuner *t, const packed *p, const float *labels) {
    double l;
    assert_ok(bert_tuner_batch(t, &p->s, labels, false, &l));
    return l;
}

static void perturb(nn_store *s, core_rng *r) {
    for (size_t i = 0; i < s->n; i++) s->w[i] += 0.2f * rng_normal(r);
}

/* Relative error ||analytic - numeric|| / max(norms) at up to 16 entries
 * of tensor p. */
static double check_tensor(bert_tuner *t, nn_store *s, nn_param p, const packed *pk, const float *labels) {
    size_t n = nn_size(p), step = n / 16 ? n / 16 : 1;
    double diff = 0, na = 0, nn = 0;
    const float eps = 1e-2f;
    for (size_t i = step / 2; i < n; i += step) {
        float *w = nn_w(s, p) + i, keep = *w, a = nn_g(s, p)[i];
        *w = keep + eps;
        double lp = batch_loss(t, pk, labels);
        *w = keep - eps;
        double lm = batch_loss(t, pk, labels);
        *w = keep;
        double num = (lp - lm) / (2.0 * (double)eps);
        diff += (num - a) * (num - a);
        na += (double)a * a;
        nn += num * num;
    }
    double den = sqrt(na > nn ? na : nn);
    assert_true(den > 1e-6); /* a zero gradient would make the check vacuous */
    return sqrt(diff) / den;
}

static void check_all(const char *name, uint32_t layers, bool regression) {
    aisle_bert *m = fixture(name);
    packed p;
    pack(m, &p);
    uint32_t L = regression ? 1 : 3;
    bert_tuner t;
    tuner(&t, m, layers, false, L, regression);
    core_rng r;
    rng_seed(&r, 11);
    perturb(&t.enc, &r);
    perturb(&t.head, &r);
    float labels[NB];
    for (int i = 0; i < NB; i++) labels[i] = regression ? 1.5f - (float)i : (float)(i % 3);
    nn_zero_grad(&t.enc);
    nn_zero_grad(&t.head);
    double loss;
    assert_ok(bert_tuner_batch(&t, &p.s, labels, true, &loss));
    double worst = 0;
    static const char *const what[] = {"qkv.W", "qkv.b", "attention.output.W", "attention.output.b",
                                       "ln1.gamma", "ln1.beta", "intermediate.W", "intermediate.b",
                                       "output.W", "output.b", "ln2.gamma", "ln2.beta"};
    for (uint32_t l = 0; l < layers; l++) {
        const bert_tune_layer *T = &t.tl[l];
        nn_param ps[] = {T->qkv.W, T->qkv.b, T->ao.W, T->ao.b, T->ln1.gamma, T->ln1.beta,
                         T->in.W,  T->in.b,  T->out.W, T->out.b, T->ln2.gamma, T->ln2.beta};
        for (size_t k = 0; k < CORE_ARRAY_LEN(ps); k++) {
            double e = check_tensor(&t, &t.enc, ps[k], &p, labels);
            worst = e > worst ? e : worst;
            if (e > 1e-2) fail_msg("%s: trained layer %u %s: relative error %.2e", name, l, what[k], e);
        }
    }
    double e[4] = {check_tensor(&t, &t.enc, t.pool.W, &p, labels), check_tensor(&t, &t.enc, t.pool.b, &p, labels),
                   check_tensor(&t, &t.head, t.cls.W, &p, labels), check_tensor(&t, &t.head, t.cls.b, &p, labels)};
    for (int k = 0; k < 4; k++) worst = e[k] > worst ? e[k] : worst;
    for (int k = 0; k < 4; k++)
        if (e[k] > 1e-2) fail_msg("%s: %s: relative error %.2e", name, (const char *[]){"pooler.W", "pooler.b",
                                  "classifier.W", "classifier.b"}[k], e[k]);
    print_message("bert gradients %s, %u layers, %s head: loss %.4f, worst relative error %.1e\n", name, layers,
                  regression ? "regression" : "softmax", loss, worst);
    bert_tuner_free(&t);
    aisle_bert_free(m);
}

static void test_gradients_match_finite_differences(void **state) {
    (void)state;
    check_all("cls", 2, false); /* every layer trained (the embeddings below) */
    check_all("cls", 1, false); /* one frozen layer below */
    check_all("reg", 1, true);  /* regression head, cased fixture */
}

/* ---- training ---- */

enum { NT = 48 };

/* Three classes set by one keyword among random filler words. */
static void keyword_task(char texts[NT][96], const char *ptrs[NT], float labels[NT]) {
    static const char *const keys[3] = {"great", "panic", "hello"};
    core_rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < NT; i++) {
        int k = i % 3, at = (int)rng_below(&r, 4);
        size_t len = 0;
        for (int w = 0; w < 6; w++) {
            const char *sep = w ? " " : "";
            if (w == at) len += (size_t)snprintf(texts[i] + len, 96 - len, "%s%s", sep, keys[k]);
            else len += (size_t)snprintf(texts[i] + len, 96 - len, "%sfiller%d", sep, (int)rng_below(&r, 90));
        }
        ptrs[i] = texts[i];
        labels[i] = (float)k;
    }
}

static double train(const char *opts, const char *const *texts, const float *labels, aisle_bert **keep) {
    aisle_bert *m = fixture("cls");
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, opts));
    double loss;
    assert_ok(aisle_bert_finetune_head(m, texts, NULL, labels, NT, 3, cfg, &loss));
    aisle_config_free(cfg);
    if (keep) *keep = m;
    else aisle_bert_free(m);
    return loss;
}

static void test_finetune_layers_beats_head_only(void **state) {
    (void)state;
    char texts[NT][96];
    const char *ptrs[NT];
    float labels[NT];
    keyword_task(texts, ptrs, labels);
    const char *base = "head_epochs=15 head_learning_rate=0.01 finetune_learning_rate=0.002 threads=2 seed=5";
    char opts[256];
    double head = train(base, ptrs, labels, NULL);
    snprintf(opts, sizeof opts, "%s finetune_layers=1", base);
    double one = train(opts, ptrs, labels, NULL);
    snprintf(opts, sizeof opts, "%s finetune_layers=2", base);
    aisle_bert *m;
    double two = train(opts, ptrs, labels, &m);
    print_message("keyword task, final training loss: head only %.4f, 1 layer %.4f, 2 layers %.4f\n", head, one, two);
    assert_true(one < 0.8 * head);
    assert_true(two < 0.8 * head);
    /* the trained model classifies its training texts, and saves and loads */
    float *p = malloc(sizeof(float) * NT * 3), *p2 = malloc(sizeof(float) * NT * 3);
    assert_ok(aisle_bert_classify(m, ptrs, NULL, NT, NULL, p));
    int right = 0;
    for (int i = 0; i < NT; i++) {
        int best = 0;
        for (int k = 1; k < 3; k++) best = p[i * 3 + k] > p[i * 3 + best] ? k : best;
        right += best == (int)labels[i];
    }
    assert_true(right >= NT * 9 / 10);
    char dir[512], path[1100];
    tu_tmpdir(dir, sizeof dir, "bert_tune");
    snprintf(path, sizeof path, "%s/tuned.aisle", dir);
    assert_ok(aisle_bert_save(m, path, NULL));
    aisle_bert *l;
    assert_ok(aisle_bert_load(&l, path, NULL));
    assert_ok(aisle_bert_classify(l, ptrs, NULL, NT, NULL, p2));
    assert_memory_equal(p, p2, sizeof(float) * NT * 3);
    aisle_bert_free(l);
    free(p);
    free(p2);
    aisle_bert_free(m);
}

/* Same seed, same result; a different thread count gives the same loss
 * up to float summation order. */
static void test_finetune_layers_deterministic(void **state) {
    (void)state;
    char texts[NT][96];
    const char *ptrs[NT];
    float labels[NT];
    keyword_task(texts, ptrs, labels);
    double a = train("head_epochs=2 finetune_layers=2 threads=2", ptrs, labels, NULL);
    double b = train("head_epochs=2 finetune_layers=2 threads=2", ptrs, labels, NULL);
    double c = train("head_epochs=2 finetune_layers=2 threads=1", ptrs, labels, NULL);
    assert_true(a == b);
    assert_true(fabs(a - c) < 1e-5);
}

/* Quantized models, too many layers: clear errors, the model unchanged. */
static void test_finetune_layers_refusals(void **state) {
    (void)state;
    aisle_bert *m = fixture("cls");
    char dir[512], path[1100];
    tu_tmpdir(dir, sizeof dir, "bert_tune_q");
    snprintf(path, sizeof path, "%s/q.aisle", dir);
    const char *texts[2] = {"great shoes", "panic"};
    float labels[2] = {0, 1};
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "finetune_layers=3 head_epochs=1"));
    assert_status_msg(aisle_bert_finetune_head(m, texts, NULL, labels, 2, 2, cfg, NULL), AISLE_ERANGE,
                      "finetune_layers=3 is more than the model's 2 layers");
    size_t nl;
    assert_ok(aisle_bert_info(m, NULL, &nl, NULL, NULL));
    assert_int_equal(nl, 3);
    const char *enc[2] = {"int8", "fp16"};
    for (int e = 0; e < 2; e++) {
        aisle_config *save;
        assert_ok(aisle_config_new(&save));
        assert_ok(aisle_config_set(save, "quantize", enc[e]));
        assert_ok(aisle_bert_save(m, path, save));
        aisle_config_free(save);
        aisle_bert *q;
        assert_ok(aisle_bert_load(&q, path, NULL));
        assert_ok(aisle_config_set_int(cfg, "finetune_layers", 1));
        assert_status_msg(aisle_bert_finetune_head(q, texts, NULL, labels, 2, 2, cfg, NULL), AISLE_EUNSUPPORTED,
                          enc[e]);
        assert_non_null(strstr(aisle_last_error(), "needs fp32 weights"));
        assert_ok(aisle_bert_info(q, NULL, &nl, NULL, NULL));
        assert_int_equal(nl, 3);
        /* the head alone still trains on a quantized encoder */
        assert_ok(aisle_config_set_int(cfg, "finetune_layers", 0));
        assert_ok(aisle_bert_finetune_head(q, texts, NULL, labels, 2, 2, cfg, NULL));
        aisle_bert_free(q);
    }
    aisle_config_free(cfg);
    aisle_bert_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tuner_forward_matches_model),
        cmocka_unit_test(test_gradients_match_finite_differences),
        cmocka_unit_test(test_finetune_layers_beats_head_only),
        cmocka_unit_test(test_finetune_layers_deterministic),
        cmocka_unit_test(test_finetune_layers_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
