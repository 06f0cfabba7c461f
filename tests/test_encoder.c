/* test_encoder.c - the BERT-style text encoder (src/nn/encoder*.c): hashed
 * token inputs (truncation, CJK, bad bytes), every gradient of the encoder
 * and of both losses against central finite differences, then training
 * end to end: pre-training lowers the masked-token loss, fine-tuning
 * learns a toy intent task, predictions do not depend on batch or thread
 * count, explanations point at the decisive word, temperature scaling
 * fits a known temperature, and allocation failures leave nothing behind. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"
#include "util/test_util.h"

/* ---- inputs ---- */

static nn_feat_cfg small_feat(void) {
    nn_feat_cfg c;
    nn_feat_default(&c);
    c.buckets = 1000;
    c.max_len = 8;
    return c;
}

static void test_tokens_get_unigram_bigram_and_char_ngram_buckets(void **state) {
    (void)state;
    nn_feat_cfg c = small_feat();
    nn_toks t;
    nn_toks_init(&t);
    assert_ok(nn_toks_add(&t, &c, "Refund now", 10));
    assert_int_equal(t.n_texts, 1);
    assert_int_equal(t.n_tokens, 2);
    /* "refund": unigram + char 3..5-grams of "<refund>" (8 chars: 6 + 5 + 4,
     * minus none: the whole word is 8 > 5); "now": unigram, bigram, grams of
     * "<now>" (5 chars: 3 + 2 + 1, minus the whole word) */
    assert_int_equal(t.tok_off[1] - t.tok_off[0], 1 + 6 + 5 + 4);
    assert_int_equal(t.tok_off[2] - t.tok_off[1], 1 + 1 + 3 + 2);
    for (size_t i = 0; i < t.n_ids; i++) {
        assert_true(t.ids[i] >= NN_ENC_SPECIAL);
        assert_true(t.ids[i] < NN_ENC_SPECIAL + c.buckets);
    }
    /* lower-casing: the same word hashes alike */
    assert_ok(nn_toks_add(&t, &c, "refund", 6));
    assert_int_equal(t.word[2], t.word[0]);
    assert_int_equal(t.ids[t.tok_off[2]], t.ids[t.tok_off[0]]);
    nn_toks_free(&t);
}

static void test_long_text_is_truncated_not_rejected(void **state) {
    (void)state;
    nn_feat_cfg c = small_feat();
    size_t len = 1u << 20;
    char *big = malloc(len);
    assert_non_null(big);
    for (size_t i = 0; i < len; i++) big[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 5);
    nn_toks t;
    nn_toks_init(&t);
    assert_ok(nn_toks_add(&t, &c, big, len));
    assert_int_equal(nn_toks_len(&t, 0), c.max_len);
    free(big);
    nn_toks_free(&t);
}

static void test_empty_invalid_utf8_nul_and_cjk_texts(void **state) {
    (void)state;
    nn_feat_cfg c = small_feat();
    c.keep_strings = true;
    nn_toks t;
    nn_toks_init(&t);
    assert_ok(nn_toks_add(&t, &c, "", 0));
    assert_ok(nn_toks_add(&t, &c, NULL, 0));
    assert_int_equal(nn_toks_len(&t, 0), 0);
    assert_int_equal(nn_toks_len(&t, 1), 0);
    const char bad[] = "ok\xff\xfe\0yes\xc3";
    assert_ok(nn_toks_add(&t, &c, bad, sizeof bad - 1));
    assert_int_equal(nn_toks_len(&t, 2), 2); /* "ok", "yes" */
    assert_memory_equal(t.str + t.str_off[t.text_off[2] + 1], "yes", 3);
    assert_ok(nn_toks_add(&t, &c, "质量很好", strlen("质量很好")));
    assert_int_equal(nn_toks_len(&t, 3), 4);  /* one token per character */
    size_t k = t.text_off[3] + 1;             /* 量: unigram + bigram 质量, no char n-grams */
    assert_int_equal(t.tok_off[k + 1] - t.tok_off[k], 2);
    nn_toks_free(&t);
}

static void test_tokens_all_or_nothing_under_allocation_failure(void **state) {
    (void)state;
    nn_feat_cfg c = small_feat();
    c.keep_strings = true;
    for (uint64_t at = 1; at < 40; at++) {
        nn_toks t;
        nn_toks_init(&t);
        assert_ok(nn_toks_add(&t, &c, "first text", 10));
        size_t tokens = t.n_tokens, ids = t.n_ids;
        tu_failalloc_install(at, 1);
        int rc = nn_toks_add(&t, &c, "where is my refund please tell me now", 37);
        tu_failalloc_remove();
        if (rc) {
            assert_int_equal(rc, AISLE_ENOMEM);
            assert_int_equal(t.n_texts, 1);
            assert_int_equal(t.n_tokens, tokens);
            assert_int_equal(t.n_ids, ids);
        } else {
            assert_int_equal(t.n_texts, 2);
        }
        nn_toks_free(&t);
    }
}

/* ---- finite differences ---- */

static nn_encoder_cfg tiny_enc(int pool) {
    nn_encoder_cfg c;
    nn_encoder_default(&c);
    c.buckets = 13;
    c.d = 8;
    c.ff = 12;
    c.heads = 2;
    c.layers = 2;
    c.max_len = 6;
    c.pool = pool;
    c.dropout = 0.1f;
    c.emb_std = 0.5f;
    return c;
}

static void fill_texts(nn_toks *t, const nn_feat_cfg *fc) {
    const char *texts[] = {"where is my refund", "cancel order", "", "track the parcel please now soon"};
    for (size_t i = 0; i < CORE_ARRAY_LEN(texts); i++) assert_ok(nn_toks_add(t, fc, texts[i], strlen(texts[i])));
}

typedef struct enc_gc {
    nn_store s;
    nn_encoder e;
    nn_encoder_ws w;
    nn_toks t;
    float *rfin, *rpool;
    bool mask_some; /* replace a few rows by [MASK] (the pre-training input) */
    bool pairs;     /* segment encoder on "[CLS] A [SEP] B" pairs */
} enc_gc;

/* Two pairs: A = texts 0 and 1 (text 0 cut to 2 tokens), B = text 3 (cut
 * by the room left); A = the empty text 2, B = text 0. */
static const size_t pa_off[] = {0, 2, 3}, pa_piece[] = {0, 1, 2}, pa_cap[] = {2, SIZE_MAX, SIZE_MAX};
static const size_t pb_off[] = {0, 1, 2}, pb_piece[] = {3, 0};

static void gc_batch(enc_gc *k) {
    if (k->pairs) {
        nn_pair_spec sp = {pa_off, pa_piece, pa_cap, pb_off, pb_piece, NULL};
        nn_encoder_ws_pairs(&k->w, &k->t, &sp, 2);
        return;
    }
    nn_encoder_ws_batch(&k->w, &k->t, NULL, 0, k->t.n_texts);
    if (k->mask_some) {
        k->w.src[2] = NN_SRC_MASK;
        k->w.src[k->w.bt.offs[1] + 1] = NN_SRC_MASK;
    }
}

/* L = r_fin . fin + r_pool . pooled, dropout masks identical every call */
static double enc_loss(enc_gc *k) {
    core_rng r;
    rng_seed(&r, 99);
    gc_batch(k);
    assert_ok(nn_encoder_forward(&k->s, &k->e, &k->w, &k->t, true, &r));
    double L = 0;
    size_t d = k->e.c.d;
    for (size_t i = 0; i < k->w.bt.rows * d; i++) L += (double)k->w.fin[i] * k->rfin[i];
    for (size_t i = 0; i < k->w.bt.batch * d; i++) L += (double)k->w.pooled[i] * k->rpool[i];
    return L;
}

static void enc_backward(enc_gc *k) {
    nn_zero_grad(&k->s);
    enc_loss(k);
    size_t d = k->e.c.d;
    memcpy(k->w.dfin, k->rfin, k->w.bt.rows * d * sizeof(float));
    memcpy(k->w.dpooled, k->rpool, k->w.bt.batch * d * sizeof(float));
    assert_ok(nn_encoder_backward(&k->s, &k->e, &k->w, &k->t));
}

/* Relative error between analytic and central-difference gradients over
 * the n parameters at p (in double, scalar from enc_loss). */
static double enc_check(enc_gc *k, float *p, const float *g, size_t n) {
    double diff = 0, na = 0, nn = 0;
    const float eps = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = keep + eps;
        double lp = enc_loss(k);
        p[i] = keep - eps;
        double lm = enc_loss(k);
        p[i] = keep;
        double num = (lp - lm) / (2.0 * eps);
        diff += (num - g[i]) * (num - g[i]);
        na += (double)g[i] * g[i];
        nn += num * num;
    }
    double den = sqrt(na > nn ? na : nn);
    assert_true(den > 1e-6); /* a vanishing gradient would make the check vacuous */
    return sqrt(diff) / den;
}

static void encoder_gradient_check(int pool, bool mask_some, bool pairs) {
    enc_gc k;
    memset(&k, 0, sizeof k);
    k.mask_some = mask_some;
    k.pairs = pairs;
    nn_encoder_cfg ec = tiny_enc(pool);
    if (pairs) ec.segments = 2;
    nn_feat_cfg fc = small_feat();
    fc.buckets = ec.buckets;
    fc.max_len = ec.max_len;
    nn_store_init(&k.s);
    nn_toks_init(&k.t);
    fill_texts(&k.t, &fc);
    assert_ok(nn_encoder_init(&k.e, &k.s, &ec));
    assert_ok(nn_store_alloc(&k.s, true));
    core_rng r;
    rng_seed(&r, 5);
    nn_encoder_reset(&k.e, &k.s, &r);
    /* non-trivial norms */
    for (size_t i = 0; i < k.s.n; i++)
        if (k.s.w[i] == 1.0f || k.s.w[i] == 0.0f) k.s.w[i] += 0.2f * rng_normal(&r);
    assert_ok(nn_encoder_ws_alloc(&k.w, &k.e, 4, 2, true));
    size_t rows = k.w.max_rows * ec.d, pooled = 4 * ec.d;
    k.rfin = malloc(rows * sizeof(float));
    k.rpool = malloc(pooled * sizeof(float));
    for (size_t i = 0; i < rows; i++) k.rfin[i] = rng_normal(&r);
    for (size_t i = 0; i < pooled; i++) k.rpool[i] = rng_normal(&r);
    enc_backward(&k);
    float *gcopy = malloc(k.s.n * sizeof(float));
    memcpy(gcopy, k.s.g, k.s.n * sizeof(float));
    /* every tensor: embeddings (the used rows have gradients, the rest
     * must be zero), positions, blocks, final norm */
    for (size_t p = 0; p < k.s.n_params; p++) {
        nn_param q = k.s.params[p];
        double err = enc_check(&k, k.s.w + q.off, gcopy + q.off, nn_size(q));
        if (err > 5e-3) fail_msg("tensor %zu (%zux%zu): relative error %g", p, q.rows, q.cols, err);
    }
    /* [MASK] row used only when masking */
    float mask_norm = 0;
    for (size_t j = 0; j < ec.d; j++) mask_norm += fabsf(gcopy[k.e.emb.off + NN_ENC_MASK * ec.d + j]);
    if (mask_some) assert_true(mask_norm > 0);
    else assert_true(mask_norm == 0);
    if (pairs) {
        /* both segments and the [SEP] row are used and learn */
        float s0 = 0, s1 = 0, sep = 0;
        for (size_t j = 0; j < ec.d; j++) {
            s0 += fabsf(gcopy[k.e.seg.off + j]);
            s1 += fabsf(gcopy[k.e.seg.off + ec.d + j]);
            sep += fabsf(gcopy[k.e.sep.off + j]);
        }
        assert_true(s0 > 0 && s1 > 0 && sep > 0);
        /* pair 0: 5 rows of room (max_len 6 + [CLS] - [CLS] - [SEP]); B
         * keeps half (2 of its 6 tokens), A the other 3 of its 2 + 2 */
        assert_int_equal(k.w.lens[0], 7);
        assert_int_equal(k.w.src[0], NN_SRC_CLS);
        assert_int_equal(k.w.src[4], NN_SRC_SEP);
        assert_int_equal(k.w.seg[4], 0);
        assert_int_equal(k.w.seg[5], 1);
        /* pair 1: empty A, so B (text 0, 4 tokens) is whole */
        assert_int_equal(k.w.lens[1], 6);
    }
    free(gcopy);
    free(k.rfin);
    free(k.rpool);
    nn_encoder_ws_free(&k.w);
    nn_encoder_free(&k.e);
    nn_store_free(&k.s);
    nn_toks_free(&k.t);
}

static void test_encoder_mean_pool_gradients_match_finite_differences(void **state) {
    (void)state;
    encoder_gradient_check(NN_POOL_MEAN, false, false);
}

static void test_pair_encoder_segments_and_sep_gradients_match_finite_differences(void **state) {
    (void)state;
    encoder_gradient_check(NN_POOL_CLS, false, true);
}

static void test_encoder_cls_pool_with_masked_rows_gradients_match_finite_differences(void **state) {
    (void)state;
    encoder_gradient_check(NN_POOL_CLS, true, false);
}

/* ---- losses ---- */

static double loss_at(const float *z0, size_t n, int kind, float *scratch) {
    static const float soft[5] = {0.1f, 0.5f, 0.05f, 0.3f, 0.05f};
    memcpy(scratch, z0, n * sizeof *scratch);
    return kind == 0 ? nn_xent_smoothed(scratch, n, 3, 0.1f, 1.0f)
                     : nn_distill_xent(scratch, n, 3, soft, 0.7f, 2.5f, 1.0f);
}

static void test_smoothed_and_distillation_losses_match_finite_differences(void **state) {
    (void)state;
    float z[5] = {0.3f, -1.2f, 2.0f, 0.7f, -0.1f}, g[5], tmp[5];
    for (int kind = 0; kind < 2; kind++) {
        loss_at(z, 5, kind, g);
        double diff = 0, norm = 0;
        for (size_t i = 0; i < 5; i++) {
            float keep = z[i];
            z[i] = keep + 1e-3f;
            double lp = loss_at(z, 5, kind, tmp);
            z[i] = keep - 1e-3f;
            double lm = loss_at(z, 5, kind, tmp);
            z[i] = keep;
            double num = (lp - lm) / 2e-3;
            diff += (num - g[i]) * (num - g[i]);
            norm += num * num;
        }
        assert_true(norm > 1e-4);
        if (sqrt(diff / norm) > 1e-3) fail_msg("loss %d: relative error %g", kind, sqrt(diff / norm));
    }
    /* eps 0 is plain cross-entropy; alpha 0 too */
    float a[3] = {1, 2, 3}, b[3] = {1, 2, 3}, soft[3] = {1, 0, 0};
    double la = nn_xent_smoothed(a, 3, 1, 0.0f, 1.0f), lb = nn_distill_xent(b, 3, 1, soft, 0.0f, 3.0f, 1.0f);
    assert_true(fabs(la - lb) < 1e-6);
    assert_true(fabs(la - (log(exp(1.0) + exp(2.0) + exp(3.0)) - 2.0)) < 1e-5);
}

/* ---- training end to end ---- */

/* A toy intent task: the intent word decides, fillers vary, one typo. */
static const char *const intents[] = {"refund", "cancel", "track", "invoice"};
static const char *const fillers[] = {"please", "my",    "order", "the",  "now",  "help",
                                      "i",      "want",  "to",    "with", "today", "asap"};

static void toy_texts(nn_toks *t, const nn_feat_cfg *fc, uint32_t *labels, size_t n, uint64_t seed) {
    core_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        size_t o = 0, lab = (size_t)rng_below(&r, 4), words = 2 + (size_t)rng_below(&r, 5),
               at = (size_t)rng_below(&r, words);
        for (size_t w = 0; w < words; w++) {
            const char *s = w == at ? intents[lab] : fillers[rng_below(&r, CORE_ARRAY_LEN(fillers))];
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s ", s);
        }
        assert_ok(nn_toks_add(t, fc, buf, o));
        labels[i] = (uint32_t)lab;
    }
}

typedef struct toy {
    nn_feat_cfg fc;
    nn_encoder_cfg ec;
    nn_train_cfg tc;
    nn_toks train, test;
    uint32_t ytrain[400], ytest[100];
} toy;

static void toy_setup(toy *k) {
    nn_feat_default(&k->fc);
    k->fc.buckets = 4096;
    k->fc.max_len = 12;
    nn_encoder_default(&k->ec);
    k->ec.buckets = k->fc.buckets;
    k->ec.max_len = k->fc.max_len;
    k->ec.d = 16;
    k->ec.ff = 32;
    k->ec.heads = 2;
    k->ec.layers = 1;
    nn_train_default(&k->tc);
    k->tc.epochs = 4;
    k->tc.batch = 16;
    k->tc.lr = 5e-3f;
    nn_toks_init(&k->train);
    nn_toks_init(&k->test);
    toy_texts(&k->train, &k->fc, k->ytrain, 400, 1);
    toy_texts(&k->test, &k->fc, k->ytest, 100, 2);
}

static void toy_free(toy *k) {
    nn_toks_free(&k->train);
    nn_toks_free(&k->test);
}

static double accuracy(const nn_textclf *m, const nn_toks *t, const uint32_t *y) {
    size_t n = t->n_texts, C = m->n_classes, ok = 0;
    float *p = malloc(n * C * sizeof *p);
    assert_ok(nn_textclf_predict(m, t, p, NULL));
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double sum = 0;
        for (size_t c = 0; c < C; c++) {
            sum += p[i * C + c];
            if (p[i * C + c] > p[i * C + best]) best = c;
        }
        assert_true(fabs(sum - 1.0) < 1e-4);
        ok += best == y[i];
    }
    free(p);
    return (double)ok / (double)n;
}

static void test_finetune_learns_toy_intents(void **state) {
    (void)state;
    toy k;
    toy_setup(&k);
    nn_textclf m;
    assert_ok(nn_textclf_new(&m, &k.ec, &k.fc, 4, true, 3));
    double before = accuracy(&m, &k.test, k.ytest), loss;
    assert_ok(nn_textclf_finetune(&m, &k.train, k.ytrain, &k.tc, &loss));
    double after = accuracy(&m, &k.test, k.ytest);
    assert_true(after >= 0.97);
    assert_true(after > before);
    assert_true(loss < 0.2);
    nn_textclf_free(&m);
    toy_free(&k);
}

static int count_epochs(void *ctx, int stage, int epoch, double loss) {
    double *v = ctx;
    (void)epoch;
    if (stage == 0) v[v[0] < 1 ? 1 : 2] = loss, v[0] += 1;
    return 0;
}

static void test_pretraining_lowers_masked_token_loss_and_keeps_finetuning_working(void **state) {
    (void)state;
    toy k;
    toy_setup(&k);
    nn_textclf m;
    assert_ok(nn_textclf_new(&m, &k.ec, &k.fc, 4, true, 3));
    double seen[3] = {0, 0, 0}; /* epochs seen, first loss, last loss */
    k.tc.pretrain_epochs = 6;
    k.tc.mlm_buckets = 64;
    k.tc.progress = count_epochs;
    k.tc.progress_ctx = seen;
    double loss;
    assert_ok(nn_textclf_pretrain(&m, &k.train, &k.tc, &loss));
    assert_true(seen[0] == 6);
    assert_true(seen[2] < seen[1] - 0.3); /* it learns which words fill the blanks */
    assert_true(loss == seen[2]);
    k.tc.progress = NULL;
    assert_ok(nn_textclf_finetune(&m, &k.train, k.ytrain, &k.tc, &loss));
    /* fine-tuning ran its own schedule from step 0 (warm-up, decay) */
    assert_int_equal(m.s.step, (int64_t)((400 + 15) / 16) * k.tc.epochs);
    assert_true(accuracy(&m, &k.test, k.ytest) >= 0.97);
    nn_textclf_free(&m);
    toy_free(&k);
}

static int stop_now(void *ctx, int stage, int epoch, double loss) {
    (void)ctx, (void)stage, (void)epoch, (void)loss;
    return core_error(AISLE_ECANCELLED, "stopped by the test");
}

static void test_progress_callback_cancels_training(void **state) {
    (void)state;
    toy k;
    toy_setup(&k);
    nn_textclf m;
    assert_ok(nn_textclf_new(&m, &k.ec, &k.fc, 4, true, 3));
    k.tc.progress = stop_now;
    k.tc.epochs = 1;
    assert_status_msg(nn_textclf_finetune(&m, &k.train, k.ytrain, &k.tc, NULL), AISLE_ECANCELLED, "stopped");
    /* a label outside the classes is refused before anything changes */
    k.ytrain[3] = 4;
    assert_status_msg(nn_textclf_finetune(&m, &k.train, k.ytrain, &k.tc, NULL), AISLE_EINVAL, "label 4 of text 3");
    nn_textclf_free(&m);
    toy_free(&k);
}

static void test_training_is_independent_of_thread_count(void **state) {
    (void)state;
    toy k;
    toy_setup(&k);
    k.tc.epochs = 1;
    k.tc.pretrain_epochs = 1;
    k.tc.mlm_buckets = 64;
    nn_textclf a, b;
    assert_ok(nn_textclf_new(&a, &k.ec, &k.fc, 4, true, 3));
    assert_ok(nn_textclf_new(&b, &k.ec, &k.fc, 4, true, 3));
    k.tc.threads = 1;
    assert_ok(nn_textclf_pretrain(&a, &k.train, &k.tc, NULL));
    assert_ok(nn_textclf_finetune(&a, &k.train, k.ytrain, &k.tc, NULL));
    k.tc.threads = 3;
    assert_ok(nn_textclf_pretrain(&b, &k.train, &k.tc, NULL));
    assert_ok(nn_textclf_finetune(&b, &k.train, k.ytrain, &k.tc, NULL));
    assert_memory_equal(a.s.w, b.s.w, a.s.n * sizeof(float));
    nn_textclf_free(&a);
    nn_textclf_free(&b);
    toy_free(&k);
}

static void test_predict_does_not_depend_on_batching(void **state) {
    (void)state;
    toy k;
    toy_setup(&k);
    k.tc.epochs = 1;
    nn_textclf m;
    assert_ok(nn_textclf_new(&m, &k.ec, &k.fc, 4, true, 3));
    assert_ok(nn_textclf_finetune(&m, &k.train, k.ytrain, &k.tc, NULL));
    size_t n = k.test.n_texts;
    float *all = malloc(n * 4 * sizeof(float)), *one = malloc(4 * sizeof(float));
    assert_ok(nn_textclf_predict(&m, &k.test, all, NULL)); /* batches of 32 */
    nn_encoder_ws ws;
    assert_ok(nn_encoder_ws_alloc(&ws, &m.enc, 1, 1, false));
    for (size_t i = 0; i < n; i += 7) {
        /* text i alone: a view of the same tokens */
        nn_toks sub = k.test;
        size_t off[2] = {k.test.text_off[i], k.test.text_off[i + 1]};
        sub.n_texts = 1;
        sub.text_off = off;
        assert_ok(nn_textclf_predict(&m, &sub, one, &ws));
        for (size_t c = 0; c < 4; c++) assert_true(fabsf(one[c] - all[i * 4 + c]) < 1e-5f);
    }
    nn_encoder_ws_free(&ws);
    free(all);
    free(one);
    nn_textclf_free(&m);
    toy_free(&k);
}

static void test_explain_points_at_the_intent_word(void **state) {
    (void)state;
    toy k;
    toy_setup(&k);
    nn_textclf m;
    assert_ok(nn_textclf_new(&m, &k.ec, &k.fc, 4, true, 3));
    assert_ok(nn_textclf_finetune(&m, &k.train, k.ytrain, &k.tc, NULL));
    nn_toks t;
    nn_toks_init(&t);
    assert_ok(nn_toks_add(&t, &k.fc, "please help with my cancel today", 32));
    float contrib[6];
    assert_ok(nn_textclf_explain(&m, &t, 1, contrib));
    size_t best = 0;
    for (size_t i = 1; i < 6; i++)
        if (contrib[i] > contrib[best]) best = i;
    assert_int_equal(best, 4);
    assert_true(contrib[4] > 0);
    assert_status_msg(nn_textclf_explain(&m, &t, 9, contrib), AISLE_EINVAL, "class 9");
    /* tokens past the encoder's max_len (texts featurized with a longer
     * limit) are cut, never read: they contribute 0 */
    nn_feat_cfg longer = k.fc;
    longer.max_len = 3 * k.fc.max_len;
    nn_toks_clear(&t);
    char text[512];
    size_t o = 0;
    for (size_t i = 0; i < longer.max_len; i++) o += (size_t)snprintf(text + o, sizeof text - o, "cancel ");
    assert_ok(nn_toks_add(&t, &longer, text, o));
    assert_int_equal(nn_toks_len(&t, 0), longer.max_len);
    float *many = malloc(longer.max_len * sizeof *many), probs[4];
    for (size_t i = 0; i < longer.max_len; i++) many[i] = 99.0f;
    assert_ok(nn_textclf_explain(&m, &t, 1, many));
    for (size_t i = k.fc.max_len; i < longer.max_len; i++) assert_true(many[i] == 0.0f);
    assert_true(many[0] != 99.0f);
    assert_ok(nn_textclf_predict(&m, &t, probs, NULL));
    free(many);
    nn_toks_free(&t);
    nn_textclf_free(&m);
    toy_free(&k);
}

static void test_temperature_fit_recovers_the_generating_temperature(void **state) {
    (void)state;
    /* labels drawn from softmax(z / 2.5): the best temperature is ~2.5 */
    size_t n = 4000, C = 5;
    float *z = malloc(n * C * sizeof *z), p[5];
    uint32_t *y = malloc(n * sizeof *y);
    core_rng r;
    rng_seed(&r, 8);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < C; c++) p[c] = (z[i * C + c] = 4.0f * rng_normal(&r)) / 2.5f;
        nn_softmax(p, C);
        float u = rng_float(&r), acc = 0;
        y[i] = (uint32_t)(C - 1);
        for (size_t c = 0; c < C; c++)
            if (u < (acc += p[c])) {
                y[i] = (uint32_t)c;
                break;
            }
    }
    float T = nn_fit_temperature(z, y, n, C);
    assert_true(T > 2.1f && T < 2.9f);
    assert_true(nn_fit_temperature(z, y, 0, C) == 1.0f);
    free(z);
    free(y);
}

static void test_config_errors_name_the_field(void **state) {
    (void)state;
    nn_encoder_cfg c = tiny_enc(NN_POOL_MEAN);
    c.heads = 3;
    assert_status_msg(nn_encoder_check(&c), AISLE_EINVAL, "heads");
    c = tiny_enc(NN_POOL_MEAN);
    c.max_len = 0;
    assert_status_msg(nn_encoder_check(&c), AISLE_EINVAL, "max_len");
    c = tiny_enc(7);
    assert_status_msg(nn_encoder_check(&c), AISLE_EINVAL, "pooling");
    nn_feat_cfg fc = small_feat();
    nn_textclf m;
    c = tiny_enc(NN_POOL_MEAN);
    assert_status_msg(nn_textclf_new(&m, &c, &fc, 3, false, 1), AISLE_EINVAL, "disagree");
    nn_textclf_free(&m);
}

static void test_training_and_prediction_survive_every_allocation_failure(void **state) {
    (void)state;
    toy k;
    toy_setup(&k);
    k.tc.epochs = 1;
    k.tc.pretrain_epochs = 1;
    k.tc.mlm_buckets = 32;
    float probs[4 * 100];
    k.train.n_texts = 40; /* a prefix keeps the test quick */
    for (uint64_t at = 1;; at++) {
        nn_textclf m;
        tu_failalloc_install(at, 0);
        int rc = nn_textclf_new(&m, &k.ec, &k.fc, 4, true, 3);
        if (!rc) rc = nn_textclf_pretrain(&m, &k.train, &k.tc, NULL);
        if (!rc) rc = nn_textclf_finetune(&m, &k.train, k.ytrain, &k.tc, NULL);
        if (!rc) rc = nn_textclf_predict(&m, &k.test, probs, NULL);
        float contrib[12];
        if (!rc) rc = nn_textclf_explain(&m, &k.test, 0, contrib);
        uint64_t tried = tu_failalloc_count();
        tu_failalloc_remove();
        nn_textclf_free(&m);
        if (!rc) {
            assert_true(at > tried); /* every allocation has been failed once */
            break;
        }
        assert_int_equal(rc, AISLE_ENOMEM);
    }
    toy_free(&k);
}

/* ---- architecture transformer of the intent kind (public API) ---- */

static aisle_texts *toy_corpus(size_t n, uint64_t seed, bool chinese) {
    static const char *const zh_good[] = {"很好", "不错", "满意"}, *const zh_bad[] = {"很差", "失望", "退货"};
    static const char *const zh_fill[] = {"质量", "手机", "这个", "物流", "价格", "屏幕"};
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    core_rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        size_t o = 0, lab = (size_t)rng_below(&r, chinese ? 2 : 4), words = 2 + (size_t)rng_below(&r, 4),
               at = (size_t)rng_below(&r, words);
        for (size_t w = 0; w < words; w++) {
            const char *s;
            if (chinese) s = w == at ? (lab ? zh_good : zh_bad)[rng_below(&r, 3)] : zh_fill[rng_below(&r, 6)];
            else s = w == at ? intents[lab] : fillers[rng_below(&r, CORE_ARRAY_LEN(fillers))];
            o += (size_t)snprintf(buf + o, sizeof buf - o, chinese ? "%s" : "%s ", s);
        }
        const char *label = chinese ? (lab ? "positive" : "negative") : intents[lab];
        assert_ok(aisle_texts_add(t, buf, o, label));
    }
    return t;
}

static aisle_config *tf_config(void) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set(cfg, "architecture", "transformer"));
    assert_ok(aisle_config_set(cfg, "hidden", "16"));
    assert_ok(aisle_config_set(cfg, "heads", "2"));
    assert_ok(aisle_config_set(cfg, "ff_hidden", "32"));
    assert_ok(aisle_config_set(cfg, "blocks", "1"));
    assert_ok(aisle_config_set(cfg, "epochs", "5"));
    assert_ok(aisle_config_set(cfg, "learning_rate", "0.005"));
    assert_ok(aisle_config_set(cfg, "batch_size", "16"));
    assert_ok(aisle_config_set(cfg, "threads", "2"));
    assert_ok(aisle_config_set(cfg, "hash_buckets", "65536"));
    return cfg;
}

static double public_accuracy(const aisle_model *m, const aisle_texts *test) {
    aisle_text_eval *e;
    assert_ok(aisle_text_evaluate(m, test, NULL, &e));
    double acc;
    assert_ok(aisle_text_eval_metric(e, "accuracy", &acc));
    aisle_text_eval_free(e);
    return acc;
}

static const char *top_label(const aisle_model *m, const char *text, size_t len, float *prob) {
    const char *labels[1];
    float probs[1];
    size_t n;
    assert_ok(aisle_text_classify(m, text, len, 1, labels, probs, &n, NULL));
    assert_int_equal(n, 1);
    if (prob) *prob = probs[0];
    return labels[0];
}

static void test_transformer_intent_trains_classifies_explains(void **state) {
    (void)state;
    aisle_texts *train = toy_corpus(400, 1, false), *test = toy_corpus(100, 2, false);
    aisle_config *cfg = tf_config();
    aisle_model *m;
    assert_ok(aisle_text_train(train, cfg, &m));
    assert_true(public_accuracy(m, test) >= 0.95);
    assert_string_equal(top_label(m, "my invoice please", 17, NULL), "invoice");
    aisle_text_explanation *e;
    assert_ok(aisle_text_explain(m, "please help with my cancel today", 32, "cancel", &e));
    size_t n, best = 0;
    float bestc = -1e9f;
    assert_ok(aisle_text_explanation_count(e, &n));
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        const char *tok;
        float c;
        assert_ok(aisle_text_explanation_at(e, i, &tok, &c));
        if (c > bestc) bestc = c, best = i;
    }
    assert_int_equal(best, 4);
    aisle_text_explanation_free(e);
    /* bad input is a defined result, never a crash */
    size_t big = 1u << 20;
    char *huge = malloc(big);
    for (size_t i = 0; i < big; i++) huge[i] = (char)(i % 11 == 10 ? ' ' : 'a' + i % 7);
    top_label(m, huge, big, NULL);
    free(huge);
    top_label(m, "", 0, NULL);
    top_label(m, "\xff\xfe\0\x80refund", 10, NULL);
    char desc[2048];
    assert_ok(aisle_model_describe(m, desc, sizeof desc, NULL));
    assert_non_null(strstr(desc, "transformer_hidden: 16"));
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_texts_free(train);
    aisle_texts_free(test);
}

static void test_transformer_learns_chinese_sentiment(void **state) {
    (void)state;
    aisle_texts *train = toy_corpus(300, 3, true), *test = toy_corpus(100, 4, true);
    aisle_config *cfg = tf_config();
    aisle_model *m;
    assert_ok(aisle_text_train(train, cfg, &m));
    assert_true(public_accuracy(m, test) >= 0.95);
    assert_string_equal(top_label(m, "这个手机很差", strlen("这个手机很差"), NULL), "negative");
    aisle_text_explanation *e;
    assert_ok(aisle_text_explain(m, "物流满意", strlen("物流满意"), "positive", &e));
    size_t n;
    assert_ok(aisle_text_explanation_count(e, &n));
    assert_int_equal(n, 4); /* one token per character */
    const char *tok;
    float c2, c3, c0;
    assert_ok(aisle_text_explanation_at(e, 0, &tok, &c0));
    assert_ok(aisle_text_explanation_at(e, 2, &tok, &c2));
    assert_ok(aisle_text_explanation_at(e, 3, &tok, &c3));
    assert_string_equal(tok, "意");
    assert_true(c2 + c3 > c0); /* 满意 carries the sentiment */
    aisle_text_explanation_free(e);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_texts_free(train);
    aisle_texts_free(test);
}

static void test_transformer_save_load_fp32_fp16_int8(void **state) {
    (void)state;
    aisle_texts *train = toy_corpus(300, 5, false), *test = toy_corpus(60, 6, false);
    aisle_config *cfg = tf_config();
    aisle_model *m;
    assert_ok(aisle_text_train(train, cfg, &m));
    char dir[256], path[300];
    tu_tmpdir(dir, sizeof dir, "encoder_save");
    const char *quant[] = {"none", "fp16", "int8"};
    double acc = public_accuracy(m, test);
    for (int q = 0; q < 3; q++) {
        aisle_config *sc;
        assert_ok(aisle_config_new(&sc));
        assert_ok(aisle_config_set(sc, "quantize", quant[q]));
        snprintf(path, sizeof path, "%s/tf_%s.aisle", dir, quant[q]);
        assert_ok(aisle_model_save(m, path, sc));
        aisle_model *l;
        assert_ok(aisle_model_load(&l, path, NULL));
        for (size_t i = 0; i < 60; i += 5) {
            const char *text;
            assert_ok(aisle_texts_at(test, i, &text, NULL));
            float pa, pb;
            const char *la = top_label(m, text, strlen(text), &pa), *lb = top_label(l, text, strlen(text), &pb);
            assert_string_equal(la, lb);
            if (q == 0) assert_true(pa == pb); /* fp32 round trip is exact */
            else assert_true(fabsf(pa - pb) < 0.05f);
        }
        assert_true(fabs(public_accuracy(l, test) - acc) <= 0.02);
        aisle_model_free(l);
        aisle_config_free(sc);
    }
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_texts_free(train);
    aisle_texts_free(test);
}

static void test_transformer_pretraining_pile_and_pretrained_encoder_file(void **state) {
    (void)state;
    aisle_texts *train = toy_corpus(300, 7, false), *test = toy_corpus(80, 8, false);
    aisle_config *cfg = tf_config();
    assert_ok(aisle_config_set(cfg, "pretrain_epochs", "2"));
    assert_ok(aisle_config_set(cfg, "mlm_buckets", "128"));
    aisle_model *a;
    assert_ok(aisle_text_train(train, cfg, &a));
    assert_true(public_accuracy(a, test) >= 0.95);
    char dir[256], path[300], bad[300];
    tu_tmpdir(dir, sizeof dir, "encoder_pretrained");
    snprintf(path, sizeof path, "%s/encoder.aisle", dir);
    assert_ok(aisle_model_save(a, path, NULL));
    /* start from a's encoder: its dimensions win over the options */
    aisle_config *c2 = tf_config();
    assert_ok(aisle_config_set(c2, "hidden", "32"));
    assert_ok(aisle_config_set(c2, "epochs", "2"));
    assert_ok(aisle_config_set(c2, "pretrained_encoder", path));
    aisle_model *b;
    assert_ok(aisle_text_train(train, c2, &b));
    char desc[2048];
    assert_ok(aisle_model_describe(b, desc, sizeof desc, NULL));
    assert_non_null(strstr(desc, "transformer_hidden: 16"));
    assert_true(public_accuracy(b, test) >= 0.95);
    aisle_model_free(b);
    /* a missing file, a bag model, other hash buckets: clear errors */
    snprintf(bad, sizeof bad, "%s/none.aisle", dir);
    assert_ok(aisle_config_set(c2, "pretrained_encoder", bad));
    assert_status_msg(aisle_text_train(train, c2, &b), AISLE_EIO, "pretrained_encoder");
    aisle_config *bc;
    assert_ok(aisle_config_new(&bc));
    assert_ok(aisle_config_set(bc, "hash_buckets", "65536"));
    assert_ok(aisle_config_set(bc, "threads", "1")); /* bag's Hogwild threads race by design */
    assert_ok(aisle_text_train(train, bc, &b));
    snprintf(bad, sizeof bad, "%s/bag.aisle", dir);
    assert_ok(aisle_model_save(b, bad, NULL));
    aisle_model_free(b);
    assert_ok(aisle_config_set(c2, "pretrained_encoder", bad));
    assert_status_msg(aisle_text_train(train, c2, &b), AISLE_EINVAL, "not a model of architecture transformer");
    assert_ok(aisle_config_set(c2, "pretrained_encoder", path));
    assert_ok(aisle_config_set(c2, "hash_buckets", "4096"));
    assert_status_msg(aisle_text_train(train, c2, &b), AISLE_EFORMAT, "hash_buckets");
    /* pre-training on an unlabelled pile: its words get rows too */
    snprintf(bad, sizeof bad, "%s/pile.txt", dir);
    const char pile[] = "kettle descaler for the blue kettle\r\n\nrefund arrived, thanks\nwhere is the kettle\n";
    tu_write_file(bad, pile, sizeof pile - 1);
    aisle_config *c3 = tf_config();
    assert_ok(aisle_config_set(c3, "epochs", "2"));
    assert_ok(aisle_config_set(c3, "pretrain_texts", bad));
    assert_status_msg(aisle_text_train(train, c3, &b), AISLE_EINVAL, "needs pretrain_epochs");
    assert_ok(aisle_config_set(c3, "pretrain_epochs", "1"));
    assert_ok(aisle_config_set(c3, "mlm_buckets", "64"));
    assert_ok(aisle_text_train(train, c3, &b));
    char desc3[2048];
    assert_ok(aisle_model_describe(b, desc3, sizeof desc3, NULL));
    assert_string_equal(top_label(b, "cancel the kettle", 17, NULL), "cancel");
    aisle_model_free(b);
    assert_ok(aisle_config_set(c3, "pretrain_texts", ""));
    assert_ok(aisle_text_train(train, c3, &b));
    assert_ok(aisle_model_describe(b, desc, sizeof desc, NULL));
    aisle_model_free(b);
    unsigned rows_pile = 0, rows_plain = 0;
    assert_int_equal(sscanf(strstr(desc3, "transformer_rows:"), "transformer_rows: %u", &rows_pile), 1);
    assert_int_equal(sscanf(strstr(desc, "transformer_rows:"), "transformer_rows: %u", &rows_plain), 1);
    assert_true(rows_pile > rows_plain);
    snprintf(bad, sizeof bad, "%s/no-pile.txt", dir);
    assert_ok(aisle_config_set(c3, "pretrain_texts", bad));
    assert_status_msg(aisle_text_train(train, c3, &b), AISLE_EIO, "pretrain_texts");
    aisle_config_free(c3);
    aisle_config_free(bc);
    aisle_config_free(c2);
    aisle_model_free(a);
    aisle_config_free(cfg);
    aisle_texts_free(train);
    aisle_texts_free(test);
}

static void test_transformer_training_and_classify_survive_allocation_failures(void **state) {
    (void)state;
    aisle_texts *train = toy_corpus(40, 9, false);
    aisle_config *cfg = tf_config();
    assert_ok(aisle_config_set(cfg, "epochs", "1"));
    assert_ok(aisle_config_set(cfg, "pretrain_epochs", "1"));
    assert_ok(aisle_config_set(cfg, "mlm_buckets", "32"));
    assert_ok(aisle_config_set(cfg, "threads", "1"));
    for (uint64_t at = 1;; at++) {
        aisle_model *m = NULL;
        tu_failalloc_install(at, 0);
        int rc = aisle_text_train(train, cfg, &m);
        const char *labels[2];
        float probs[2];
        size_t n;
        aisle_text_explanation *e = NULL;
        if (!rc) rc = aisle_text_classify(m, "cancel my order", 15, 2, labels, probs, &n, NULL);
        if (!rc) rc = aisle_text_explain(m, "cancel my order", 15, NULL, &e);
        uint64_t tried = tu_failalloc_count();
        tu_failalloc_remove();
        aisle_text_explanation_free(e);
        aisle_model_free(m);
        if (!rc) {
            assert_true(at > tried);
            break;
        }
        if (rc != AISLE_ENOMEM) fail_msg("allocation %llu: %d %s", (unsigned long long)at, rc, aisle_last_error());
    }
    aisle_config_free(cfg);
    aisle_texts_free(train);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_get_unigram_bigram_and_char_ngram_buckets),
        cmocka_unit_test(test_long_text_is_truncated_not_rejected),
        cmocka_unit_test(test_empty_invalid_utf8_nul_and_cjk_texts),
        cmocka_unit_test(test_tokens_all_or_nothing_under_allocation_failure),
        cmocka_unit_test(test_encoder_mean_pool_gradients_match_finite_differences),
        cmocka_unit_test(test_encoder_cls_pool_with_masked_rows_gradients_match_finite_differences),
        cmocka_unit_test(test_pair_encoder_segments_and_sep_gradients_match_finite_differences),
        cmocka_unit_test(test_smoothed_and_distillation_losses_match_finite_differences),
        cmocka_unit_test(test_finetune_learns_toy_intents),
        cmocka_unit_test(test_pretraining_lowers_masked_token_loss_and_keeps_finetuning_working),
        cmocka_unit_test(test_progress_callback_cancels_training),
        cmocka_unit_test(test_training_is_independent_of_thread_count),
        cmocka_unit_test(test_predict_does_not_depend_on_batching),
        cmocka_unit_test(test_explain_points_at_the_intent_word),
        cmocka_unit_test(test_temperature_fit_recovers_the_generating_temperature),
        cmocka_unit_test(test_config_errors_name_the_field),
        cmocka_unit_test(test_training_and_prediction_survive_every_allocation_failure),
        cmocka_unit_test(test_transformer_intent_trains_classifies_explains),
        cmocka_unit_test(test_transformer_learns_chinese_sentiment),
        cmocka_unit_test(test_transformer_save_load_fp32_fp16_int8),
        cmocka_unit_test(test_transformer_pretraining_pile_and_pretrained_encoder_file),
        cmocka_unit_test(test_transformer_training_and_classify_survive_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
