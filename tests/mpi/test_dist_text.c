/* test_dist_text.c - synchronous data-parallel training of the intent
 * transformer (src/dist/text.c) against one process, at 1, 2 and 3 ranks
 * under `make test-mpi`: the model file's weights, errors that every rank
 * returns together, and allocation failures of one rank. */
#include "text/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_util.h"

/* A corpus every rank builds the same: 4 intents, each with words of its
 * own mixed with shared filler, lengths 2 to 13 words (ragged batches). */
static aisle_texts *make_texts(size_t n, int extra) {
    static const char *const labels[] = {"refund", "track", "cancel", "address"};
    static const char *const own[4][4] = {{"refund", "money", "back", "return"},
                                          {"where", "parcel", "track", "delivery"},
                                          {"cancel", "stop", "order", "undo"},
                                          {"address", "change", "street", "move"}};
    static const char *const filler[] = {"please", "my", "the", "i", "want", "now", "help", "today"};
    aisle_texts *t;
    assert_ok(aisle_texts_new(&t));
    unsigned s = 12345u;
    for (size_t i = 0; i < n + (size_t)extra; i++) {
        char buf[256];
        size_t len = 0;
        int label = (int)(i % 4), words = 2 + (int)((s >> 9) % 12);
        for (int w = 0; w < words; w++) {
            s = s * 1103515245u + 12345u;
            const char *word = (s >> 16) % 3 ? own[label][(s >> 8) % 4] : filler[(s >> 4) % 8];
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", w ? " " : "", word);
        }
        assert_ok(aisle_texts_add(t, buf, len, labels[label]));
    }
    return t;
}

#define TEXT_OPTIONS                                                                                           \
    "model=intent architecture=transformer hidden=16 heads=2 blocks=2 ff_hidden=32 maxlen=12 epochs=3 "            \
    "batch_size=16 pretrain_epochs=1 mlm_buckets=64 learning_rate=0.005 dropout=0.1 seed=5 threads=1"

static aisle_config *text_config(const char *extra) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, TEXT_OPTIONS));
    if (extra) assert_ok(aisle_config_parse(cfg, extra));
    return cfg;
}

/* The transformer's weights from a model file (stored as float32):
 * its bucket table and the rest (src/text/transformer.c, sections +2, +3). */
static float *file_weights(const char *path, size_t *n) {
    uint8_t *data = NULL;
    size_t len = 0;
    io_reader *r = NULL;
    assert_ok(io_read_file(path, (uint64_t)1 << 30, &data, &len));
    assert_ok(io_reader_open(&r, data, len, (uint64_t)1 << 30));
    float *parts[2] = {NULL, NULL};
    uint64_t rows[2], cols[2];
    for (int k = 0; k < 2; k++) {
        io_cursor c;
        assert_ok(io_reader_section(r, TEXT_SECTION_TRANSFORMER + 2 + k, &c));
        assert_ok(io_get_tensor(&c, &parts[k], &rows[k], &cols[k], 0, 0));
    }
    size_t a = rows[0] * cols[0], b = rows[1] * cols[1];
    float *w = malloc((a + b) * sizeof *w);
    assert_non_null(w);
    memcpy(w, parts[0], a * sizeof *w);
    memcpy(w + a, parts[1], b * sizeof *w);
    core_free(parts[0]);
    core_free(parts[1]);
    io_reader_free(r);
    core_free(data);
    *n = a + b;
    return w;
}

/* Trains distributed and, on rank 0, in one process; compares the saved
 * weights: *max_diff and the share of weights off by more than 1e-5. */
static void dist_vs_one_process(const char *extra, const char *name, double *max_diff, double *frac_over,
                                double *bytes) {
    aisle_texts *t = make_texts(160, 0);
    aisle_config *cfg = text_config(extra);
    aisle_model *dm = NULL;
    assert_ok(aisle_dist_text_train(t, cfg, &dm, bytes));
    assert_true((dm != NULL) == (g_rank == 0));
    *max_diff = *frac_over = 0;
    if (g_rank == 0) {
        char one[600], dist[600], base[64];
        snprintf(base, sizeof base, "%s_one.aisle", name);
        tm_path(one, sizeof one, base);
        snprintf(base, sizeof base, "%s_dist.aisle", name);
        tm_path(dist, sizeof dist, base);
        aisle_model *om = NULL;
        assert_ok(aisle_text_train(t, cfg, &om));
        assert_ok(aisle_model_save(om, one, NULL));
        assert_ok(aisle_model_save(dm, dist, NULL));
        size_t na = 0, nb = 0, over = 0;
        float *a = file_weights(one, &na), *b = file_weights(dist, &nb);
        assert_int_equal(na, nb);
        for (size_t k = 0; k < na; k++) {
            double d = fabs((double)a[k] - b[k]);
            *max_diff = fmax(*max_diff, d);
            over += d > 1e-5;
        }
        *frac_over = (double)over / (double)na;
        if (g_size == 1) { /* one rank is one process, byte for byte */
            size_t la = 0, lb = 0;
            uint8_t *fa = NULL, *fb = NULL;
            assert_ok(io_read_file(one, 1u << 30, &fa, &la));
            assert_ok(io_read_file(dist, 1u << 30, &fb, &lb));
            assert_int_equal(la, lb);
            assert_memory_equal(fa, fb, la);
            core_free(fa);
            core_free(fb);
        }
        free(a);
        free(b);
        aisle_model_free(om);
    }
    aisle_model_free(dm);
    aisle_config_free(cfg);
    aisle_texts_free(t);
}

/* The bound at 2 and 3 ranks (docs/SCALING.md): the gradient's sum over a
 * batch's texts is rounded per rank, then over ranks, instead of in one
 * product; AdamW's early steps move a weight by about the learning rate
 * times the sign of its gradient, so a near-zero gradient whose sign
 * rounding flips moves the other way.  At most 3 x learning rate for any
 * weight, at most 1% of weights off by more than 1e-5. */
#define LEARNING_RATE 0.005

static void test_dist_text_equals_one_process(void **state) {
    (void)state;
    double diff = 0, over = 0, bytes = 0;
    dist_vs_one_process(NULL, "plain", &diff, &over, &bytes);
    if (g_rank == 0) {
        print_message("# text encoder, %d rank(s): max weight difference %.3g, %.3f%% over 1e-5; rank 0 sent %.0f "
                      "bytes\n", g_size, diff, 100 * over, bytes);
        if (g_size == 1) assert_true(diff == 0);
        assert_true(diff <= 3 * LEARNING_RATE);
        assert_true(over <= 0.01);
        if (g_size == 1) assert_true(bytes == 0);
        else assert_true(bytes > 0);
    }
}

/* Without dropout and pre-training, the only randomness left is the
 * shuffle: the same bound holds (and at one rank, bit for bit). */
static void test_dist_text_no_dropout_equals_one_process(void **state) {
    (void)state;
    double diff = 0, over = 0, bytes = 0;
    dist_vs_one_process("dropout=0 pretrain_epochs=0 batch_size=7", "nodrop", &diff, &over, &bytes);
    if (g_rank == 0) {
        print_message("# no dropout, batch 7, %d rank(s): max weight difference %.3g, %.3f%% over 1e-5\n", g_size,
                      diff, 100 * over);
        if (g_size == 1) assert_true(diff == 0);
        assert_true(diff <= 3 * LEARNING_RATE);
        assert_true(over <= 0.01);
    }
}

static int g_calls;
static int cancel_at_2(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)user, (void)steps, (void)loss, (void)metric, (void)elapsed;
    g_calls++;
    return step >= 2;
}

/* Refusals and failures reach every rank with the same status. */
static void test_dist_text_errors_agree(void **state) {
    (void)state;
    aisle_texts *t = make_texts(60, 0);
    aisle_model *m = NULL;
    /* a rank holding other texts */
    aisle_texts *other = g_rank == g_size - 1 && g_size > 1 ? make_texts(60, 1) : t;
    aisle_config *cfg = text_config("epochs=1 pretrain_epochs=0");
    if (g_size > 1)
        assert_status_msg(aisle_dist_text_train(other, cfg, &m, NULL), AISLE_EINVAL, "holds other texts");
    if (other != t) aisle_texts_free(other);
    /* a rank whose loading failed */
    assert_status_msg(aisle_dist_text_train(g_rank == g_size - 1 ? NULL : t, cfg, &m, NULL), AISLE_EINVAL,
                      "NULL texts");
    assert_null(m);
    aisle_config_free(cfg);
    /* an architecture without data-parallel training, and distillation */
    cfg = text_config("architecture=bag");
    assert_status_msg(aisle_dist_text_train(t, cfg, &m, NULL), AISLE_EUNSUPPORTED, "does not train distributed");
    aisle_config_free(cfg);
    cfg = text_config("teacher=teacher.aisle");
    assert_status_msg(aisle_dist_text_train(t, cfg, &m, NULL), AISLE_EUNSUPPORTED, "teacher");
    aisle_config_free(cfg);
    /* rank 0's callback stops after the second of 4 epochs (1 of them
     * pre-training): the others are in a step's sum then */
    cfg = text_config(NULL);
    g_calls = 0;
    if (g_rank == 0) assert_ok(aisle_config_set_progress(cfg, cancel_at_2, NULL));
    assert_status_msg(aisle_dist_text_train(t, cfg, &m, NULL), AISLE_ECANCELLED, NULL);
    assert_null(m);
    if (g_rank == 0) assert_int_equal(g_calls, 2);
    aisle_config_free(cfg);
    aisle_texts_free(t);
}

static int train_texts_bytes(void *ctx, const aisle_config *cfg, aisle_model **out, double *bytes) {
    return aisle_dist_text_train(ctx, cfg, out, bytes);
}

/* The steps sum only the bucket rows some rank touched (the table is
 * always lazy): the same model, byte for byte, as the whole table's sum,
 * in pre-training (a second, dense store: the masked-token head) and
 * fine-tuning, and less traffic. */
static void test_dist_text_sparse_sum_equals_dense(void **state) {
    (void)state;
    aisle_texts *t = make_texts(100, 0);
    tm_check_sparse_sum("text", train_texts_bytes, t, TEXT_OPTIONS, NULL, NULL);
    tm_check_sparse_sum("text, no pre-training", train_texts_bytes, t, TEXT_OPTIONS " pretrain_epochs=0 batch_size=7",
                        NULL, NULL);
    aisle_texts_free(t);
}

/* ---- checkpoint and resume ---- */

static int train_texts(void *ctx, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out) {
    return aisle_dist_text_train_checkpointed(ctx, cfg, checkpoint, every, out, NULL);
}

/* Stopped (rank 0's callback) and resumed == uninterrupted, byte for byte,
 * wherever the stop falls: in pre-training (its optimizer state and the
 * masked-token head's restored), at the boundary (fine-tuning starts
 * afresh from the checkpoint's weights), in fine-tuning (pre-training
 * skipped), with checkpoints every epoch or every second; then every rank
 * refuses the checkpoint under other options or damaged. */
static void test_dist_text_checkpoint_resume(void **state) {
    (void)state;
    aisle_texts *t = make_texts(100, 0);
    /* 2 pre-training epochs, then 3 of fine-tuning: calls 1-2 and 3-5 */
    static const char *const base = TEXT_OPTIONS " pretrain_epochs=2 batch_size=12";
    tm_check_resume("text_pretrain", train_texts, t, base, 1, 1, "learning_rate=0.004", "field 'learning_rate'");
    tm_check_resume("text_boundary", train_texts, t, base, 1, 2, "mask_rate=0.2", "field 'mask_rate'");
    tm_check_resume("text_finetune", train_texts, t, base, 1, 4, "epochs=4", "field 'epochs'");
    /* every second epoch: stopped after 3, resumed from the checkpoint of 2 */
    tm_check_resume("text_every2", train_texts, t, base, 2, 3, "seed=6", "field 'seed'");
    /* without pre-training or dropout; the calibration split's options are
     * the kind's, fingerprinted too */
    tm_check_resume("text_plain", train_texts, t, TEXT_OPTIONS " pretrain_epochs=0 dropout=0 batch_size=7", 1, 2,
                    "calibration_fraction=0.2", "field 'calibration_fraction'");
    aisle_texts_free(t);
}

/* A checkpoint of other texts is refused by every rank ('texts'), and one
 * of the finished run resumes to the same model (nothing left to train). */
static void test_dist_text_checkpoint_refuses_other_texts(void **state) {
    (void)state;
    aisle_texts *t = make_texts(60, 0), *other = make_texts(60, 1);
    aisle_config *cfg = text_config("epochs=2");
    char ckpt[600];
    tm_path(ckpt, sizeof ckpt, "text_texts.ckpt");
    if (g_rank == 0) unlink(ckpt);
    MPI_Barrier(MPI_COMM_WORLD);
    aisle_model *a = NULL, *b = NULL, *tmp = NULL;
    assert_ok(aisle_dist_text_train_checkpointed(t, cfg, ckpt, 1, &a, NULL));
    assert_status_msg(aisle_dist_text_train_checkpointed(other, cfg, ckpt, 1, &tmp, NULL), AISLE_EFORMAT,
                      "field 'texts'");
    assert_null(tmp);
    assert_ok(aisle_dist_text_train_checkpointed(t, cfg, ckpt, 1, &b, NULL));
    if (g_rank == 0) tm_same_model_bytes(a, b, "a finished run resumed");
    assert_status_msg(aisle_dist_text_train_checkpointed(t, cfg, ckpt, -1, &tmp, NULL), AISLE_EINVAL,
                      "checkpoint_every");
    aisle_model_free(a);
    aisle_model_free(b);
    aisle_config_free(cfg);
    aisle_texts_free(other);
    aisle_texts_free(t);
}

/* One small run under the allocation sweep, with a checkpoint (or NULL);
 * stop_after > 0: rank 0's callback stops it after that many epochs. */
static int oom_run(const char *checkpoint, int stop_after) {
    aisle_texts *t = NULL;
    aisle_config *cfg = NULL;
    aisle_model *m = NULL;
    /* the texts and options are set up outside the sweep's failures on
     * purpose: they are not the distributed path */
    int rc = aisle_texts_new(&t);
    if (!rc) rc = aisle_texts_add(t, "refund my money please", 22, "refund");
    if (!rc) rc = aisle_texts_add(t, "where is my parcel", 18, "track");
    if (!rc) rc = aisle_texts_add(t, "money back now", 14, "refund");
    if (!rc) rc = aisle_texts_add(t, "track the delivery", 18, "track");
    if (!rc) rc = aisle_texts_add(t, "i want a refund", 15, "refund");
    if (!rc) rc = aisle_texts_add(t, "parcel delivery today", 21, "track");
    if (!rc) rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_parse(cfg, "model=intent architecture=transformer hidden=8 heads=1 blocks=1 "
                                          "ff_hidden=8 maxlen=6 epochs=2 pretrain_epochs=1 batch_size=3 "
                                          "mlm_buckets=16 calibration_fraction=0 threads=1");
    if (!rc && stop_after) tm_stop_after(cfg, stop_after);
    rc = tm_agree(rc);
    if (!rc) rc = aisle_dist_text_train_checkpointed(t, cfg, checkpoint, 1, &m, NULL);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_texts_free(t);
    return rc;
}

static int oom_step(const char *unused1, const char *unused2) {
    (void)unused1, (void)unused2;
    return oom_run(NULL, 0);
}

/* Checkpoints after epoch 1 (pre-training) and 2 (fine-tuning), made
 * before the sweep: resuming from each peeks, loads one stage's state,
 * trains and saves. */
static char g_prepared[2][600];

static int oom_step_ckpt(const char *unused1, const char *unused2) {
    (void)unused1, (void)unused2;
    char work[600];
    tm_path(work, sizeof work, "oom_text_work.ckpt");
    int rc = AISLE_OK;
    for (int k = 0; k < 2 && !rc; k++) {
        if (g_rank == 0) { /* the test's own copy: plain stdio, not aisle's allocator */
            size_t n = 0;
            unsigned char *bytes = tm_file_bytes(g_prepared[k], &n);
            tu_write_file(work, bytes, n);
            free(bytes);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        rc = oom_run(work, 0);
    }
    return rc;
}

static void test_dist_text_allocation_failures(void **state) {
    (void)state;
    tm_sweep_one_rank(oom_step, "intent transformer", NULL, NULL);
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "oom_text_epoch%d.ckpt", k + 1);
        tm_path(g_prepared[k], sizeof g_prepared[k], name);
        if (g_rank == 0) unlink(g_prepared[k]);
        MPI_Barrier(MPI_COMM_WORLD);
        assert_status_msg(oom_run(g_prepared[k], k + 1), AISLE_ECANCELLED, NULL);
    }
    tm_sweep_one_rank(oom_step_ckpt, "intent transformer resumed from checkpoints", NULL, NULL);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dist_text_equals_one_process),
        cmocka_unit_test(test_dist_text_no_dropout_equals_one_process),
        cmocka_unit_test(test_dist_text_sparse_sum_equals_dense),
        cmocka_unit_test(test_dist_text_errors_agree),
        cmocka_unit_test(test_dist_text_checkpoint_resume),
        cmocka_unit_test(test_dist_text_checkpoint_refuses_other_texts),
        cmocka_unit_test(test_dist_text_allocation_failures),
    };
    return tm_main(&argc, &argv, "mpitext", tests, sizeof tests / sizeof tests[0]);
}
