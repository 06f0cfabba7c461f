/* bench_text_encoder.c - the intent kind's `transformer` architecture beside
 * `bag` in the same run, on the Bitext customer-service sample
 * (../shared/data/bitext-cs, 27 intents): seeded stratified 80/20 split,
 * accuracy, macro-F1, calibration error, training time (wall and CPU),
 * model bytes (fp32 and int8) with the int8 model's accuracy, and the
 * latency of classifying one message on one thread (p50 / p99).  Uses only
 * the public header.  Data: $AISLE_SHARED_DATA/bitext-cs/..., else
 * ../shared/data/bitext-cs/... (skipped with a message when absent).
 *
 *   bench_text_encoder [--data FILE] [--threads N] [--epochs N] [--pretrain N] [--only transformer|bag]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aisle.h"
#include "bench_text_data.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int fail(const char *what) {
    fprintf(stderr, "bench_text_encoder: %s: %s\n", what, aisle_last_error());
    return 1;
}

static long file_bytes(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static double metric(const aisle_model *m, const aisle_texts *test, const char *name) {
    aisle_text_eval *e;
    double v = -1;
    if (aisle_text_evaluate(m, test, NULL, &e) == AISLE_OK) {
        aisle_text_eval_metric(e, name, &v);
        aisle_text_eval_free(e);
    }
    return v;
}

static int run(const char *arch, const aisle_texts *train, const aisle_texts *test, int threads, int epochs,
               int pretrain, double *acc_out) {
    aisle_config *cfg;
    char v[32];
    if (aisle_config_new(&cfg) || aisle_config_set(cfg, "architecture", arch)) return fail("config");
    snprintf(v, sizeof v, "%d", threads);
    aisle_config_set(cfg, "threads", v);
    /* BLAS from one thread: our products are small, and OpenBLAS's own
     * threads only spin against ours on a shared machine */
    aisle_config_set(cfg, "blas_threads", "1");
    if (epochs > 0) {
        snprintf(v, sizeof v, "%d", epochs);
        aisle_config_set(cfg, "epochs", v);
    }
    if (pretrain > 0 && strcmp(arch, "transformer") == 0) {
        snprintf(v, sizeof v, "%d", pretrain);
        aisle_config_set(cfg, "pretrain_epochs", v);
    }
    aisle_model *m;
    double w0 = bt_wall(), c0 = bt_cpu_process();
    if (aisle_text_train(train, cfg, &m)) return fail("train");
    double tw = bt_wall() - w0, tc = bt_cpu_process() - c0;
    double acc = metric(m, test, "accuracy"), f1 = metric(m, test, "macro_f1"), ece = metric(m, test, "ece");
    *acc_out = acc;
    /* one message at a time on this thread */
    size_t n = 0;
    aisle_texts_count(test, &n);
    size_t reps = n < 2000 ? n : 2000;
    double *lat = malloc(reps * sizeof *lat), *clat = malloc(reps * sizeof *clat);
    const char *label;
    float prob;
    size_t k;
    for (size_t i = 0; i < reps; i++) {
        const char *text;
        aisle_texts_at(test, i, &text, NULL);
        double a = bt_wall(), ca = bt_cpu_thread();
        if (aisle_text_classify(m, text, AISLE_NUL_TERMINATED, 1, &label, &prob, &k, NULL)) return fail("classify");
        lat[i] = bt_wall() - a;
        clat[i] = bt_cpu_thread() - ca;
    }
    /* wall-clock percentiles include the time the thread waited for a CPU
     * on a loaded machine; CPU-time percentiles do not */
    qsort(lat, reps, sizeof *lat, cmp_double);
    qsort(clat, reps, sizeof *clat, cmp_double);
    size_t i99 = (size_t)((double)reps * 0.99);
    double p50 = lat[reps / 2], p99 = lat[i99], cp50 = clat[reps / 2], cp99 = clat[i99];
    free(lat);
    free(clat);
    /* model bytes, fp32 and int8, and the int8 model's accuracy */
    char path[64], path8[64];
    snprintf(path, sizeof path, "/tmp/bench_text_encoder_%d.aisle", (int)getpid());
    snprintf(path8, sizeof path8, "/tmp/bench_text_encoder_%d_int8.aisle", (int)getpid());
    aisle_config *q8;
    aisle_model *m8 = NULL;
    double acc8 = -1;
    if (aisle_config_new(&q8) || aisle_config_set(q8, "quantize", "int8")) return fail("config");
    if (aisle_model_save(m, path, NULL) || aisle_model_save(m, path8, q8)) return fail("save");
    if (aisle_model_load(&m8, path8, NULL)) return fail("load int8");
    acc8 = metric(m8, test, "accuracy");
    long bytes = file_bytes(path), bytes8 = file_bytes(path8);
    remove(path);
    remove(path8);
    printf("%-12s accuracy %.4f  macro_f1 %.4f  ece %.4f  train %.1f s wall / %.1f s CPU  bytes %ld (int8 %ld, "
           "accuracy %.4f)\n             one message, one thread: wall p50 %.0f us p99 %.0f us; CPU p50 %.0f us p99 %.0f us\n",
           arch, acc, f1, ece, tw, tc, bytes, bytes8, acc8, p50 * 1e6, p99 * 1e6, cp50 * 1e6, cp99 * 1e6);
    aisle_model_free(m8);
    aisle_config_free(q8);
    aisle_model_free(m);
    aisle_config_free(cfg);
    return 0;
}

int main(int argc, char **argv) {
    char data_path[1024];
    bt_data_path(data_path, sizeof data_path, BT_BITEXT_FILE);
    const char *data = data_path, *only = NULL;
    int threads = 2, epochs = 0, pretrain = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pretrain") && i + 1 < argc) pretrain = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--data FILE] [--threads N] [--epochs N] [--pretrain N] [--only ARCH]\n",
                    argv[0]);
            return 2;
        }
    }
    if (file_bytes(data) < 0) {
        printf("bench_text_encoder: skipped: %s not present\n", data);
        return 0;
    }
    aisle_texts *all, *train, *test;
    if (bt_load_split(data, BT_BITEXT_COLUMNS, 0, BT_TEST_FRACTION, BT_SPLIT_SEED, &all, &train, &test))
        return fail("load");
    size_t ntr, nte, nl;
    aisle_texts_count(train, &ntr);
    aisle_texts_count(test, &nte);
    aisle_texts_label_count(all, &nl);
    printf("bitext-cs: %zu train / %zu test texts, %zu intents (stratified 80/20, seed 42), threads %d\n", ntr, nte,
           nl, threads);
    double acc_bag = -1, acc_tf = -1;
    if (!only || !strcmp(only, "bag"))
        if (run("bag", train, test, threads, 0, 0, &acc_bag)) return 1;
    if (!only || !strcmp(only, "transformer"))
        if (run("transformer", train, test, threads, epochs, pretrain, &acc_tf)) return 1;
    if (acc_bag >= 0 && acc_tf >= 0)
        printf("transformer - bag accuracy: %+.4f (aim >= 0; issue target >= 0.995 for one architecture)\n",
               acc_tf - acc_bag);
    aisle_texts_free(all);
    aisle_texts_free(train);
    aisle_texts_free(test);
    return 0;
}
