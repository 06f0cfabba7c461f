/* bench_serve.c - one-user top-10 latency of aisle_recommend on als models
 * of 100k and 1M items x 64 factors (docs/BENCHMARKS.md, "Serving").
 *
 * For each catalog size it trains a small als model (synthetic shop,
 * every item bought at least once), builds the int8 index
 * (aisle_model_prepare, timed), then times the same users alternately with
 * scan=int8 and scan=fp32 (one thread, the same run, so both see the same
 * machine load), and beside them the floor of any fp32 scan: a plain
 * loop of the item dot products into an array, without selection (what
 * the public call must at least do).  Prints p50/p99 per scan, the int8 scan's
 * re-score rate and whether both scans returned the same lists.  Then
 * aisle_recommend_batch (threads=2, blas_threads=1 set at training) in
 * users/s beside the sgemm floor of the same work and the one-user loop.
 * Then, through an aisle_server holding the model, the median time of a
 * live change (a new item, appended to the int8 index in place; an update
 * of a trained user; a new user), wall and thread CPU time, beside the int8
 * index build (what a new item cost when it rebuilt the index: the time
 * readers waited).
 *
 * Usage: bench_serve [--live] [n_items ...] (default 100000 1000000);
 * --live trains and prints only the live changes.  Public API
 * plus cblas for the sgemm floor. */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aisle.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_serve: %s: %s\n", what, aisle_last_error());
    exit(1);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile float sink;

/* The floor of any fp32 scan: every item's dot product, nothing else. */
static void score_all(const float *items, size_t rows, size_t dim, const float *x, float *out) {
    for (size_t j = 0; j < rows; j++) {
        const float *v = items + j * dim;
        float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        size_t k = 0;
        for (; k + 4 <= dim; k += 4)
            a0 += x[k] * v[k], a1 += x[k + 1] * v[k + 1], a2 += x[k + 2] * v[k + 2], a3 += x[k + 3] * v[k + 3];
        for (; k < dim; k++) a0 += x[k] * v[k];
        out[j] = (a0 + a1) + (a2 + a3);
    }
}

/* CPU seconds of the calling thread. */
static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Median time of 21 live changes of each kind on a server that owns m. */
static void live_changes(aisle_model *m, size_t dim, double prep_s, size_t events) {
    enum { N = 21 };
    aisle_server *srv;
    if (aisle_server_new(&srv, m)) die("server");
    float *v = calloc(dim, sizeof *v);
    double t_item[N], c_item[N], t_update[N], c_update[N], t_user[N], c_user[N];
    if (!v) die("malloc");
    for (int i = 0; i < N; i++) {
        char key[32], items[10][16];
        const char *ev[10];
        for (int e = 0; e < 10; e++) snprintf(items[e], sizeof items[e], "%d", (i * 10 + e) * 97), ev[e] = items[e];
        for (size_t k = 0; k < dim; k++) v[k] = (float)((i + (int)k) % 7) * 0.01f;
        snprintf(key, sizeof key, "live-item-%d", i);
        double t = now(), c = thread_cpu();
        if (aisle_server_add_item(srv, key, v, dim)) die("add item");
        t_item[i] = now() - t, c_item[i] = thread_cpu() - c;
        snprintf(key, sizeof key, "%d", i * 31);
        t = now(), c = thread_cpu();
        if (aisle_server_update_user(srv, key, ev, NULL, 10)) die("update user");
        t_update[i] = now() - t, c_update[i] = thread_cpu() - c;
        snprintf(key, sizeof key, "live-user-%d", i);
        t = now(), c = thread_cpu();
        if (aisle_server_add_user(srv, key, ev, NULL, 10)) die("add user");
        t_user[i] = now() - t, c_user[i] = thread_cpu() - c;
    }
    qsort(t_item, N, sizeof *t_item, cmp_double);
    qsort(c_item, N, sizeof *c_item, cmp_double);
    qsort(t_update, N, sizeof *t_update, cmp_double);
    qsort(c_update, N, sizeof *c_update, cmp_double);
    qsort(t_user, N, sizeof *t_user, cmp_double);
    qsort(c_user, N, sizeof *c_user, cmp_double);
    printf("  live changes through aisle_server, median of %d: new item %.3f ms wall, %.3f ms CPU, slowest %.2f ms "
           "(appended to the int8 index; the first append copies it into a growable block; a rebuild, what each "
           "new item cost before, took %.2f ms above: %.0fx the median) | update of a trained user, 10 events "
           "%.3f ms wall, %.3f ms CPU | new user, 10 events %.3f ms wall, %.3f ms CPU (model trained on %zu events)\n",
           N, t_item[N / 2] * 1e3, c_item[N / 2] * 1e3, t_item[N - 1] * 1e3, prep_s * 1e3, prep_s / t_item[N / 2],
           t_update[N / 2] * 1e3, c_update[N / 2] * 1e3, t_user[N / 2] * 1e3, c_user[N / 2] * 1e3, events);
    free(v);
    aisle_server_free(srv);
}

static void bench(size_t n_items, int live_only) {
    size_t n_users = 20000, per_user = 20, n = n_items + n_users * per_user;
    uint32_t *u = malloc(n * sizeof *u), *it = malloc(n * sizeof *it);
    if (!u || !it) die("malloc");
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t e = 0; e < n; e++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        if (e < n_items) {
            u[e] = (uint32_t)(s % n_users), it[e] = (uint32_t)e;
        } else { /* skewed: low item ids are the popular ones */
            double x = (double)((s >> 11) & 0xFFFFF) / 1048576.0;
            u[e] = (uint32_t)((e - n_items) / per_user), it[e] = (uint32_t)(x * x * x * (double)n_items);
        }
    }
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds) || aisle_dataset_add_indexed(ds, n_users, n_items, u, it, NULL, NULL, n, "buy"))
        die("dataset");
    free(u), free(it);
    aisle_config *cfg;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, "model=als factors=64 epochs=1 cg_steps=2 threads=2 blas_threads=1"))
        die("config");
    double t0 = now();
    aisle_model *m;
    if (aisle_model_train(ds, cfg, &m)) die("train");
    double train_s = now() - t0;
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    t0 = now();
    if (aisle_model_prepare(m)) die("prepare");
    double prep_s = now() - t0;
    if (live_only) { /* --live: only the last line */
        printf("%zu items (als, 64 factors, 1 epoch on %zu users: %.1f s)\n", n_items, n_users, train_s);
        live_changes(m, 64, prep_s, n);
        return;
    }

    aisle_rec_options *o8, *o32;
    if (aisle_rec_options_new(&o8) || aisle_rec_options_set(o8, "scan", "int8") || aisle_rec_options_new(&o32) ||
        aisle_rec_options_set(o32, "scan", "fp32"))
        die("options");
    const float *uf, *itf;
    size_t rows, dim;
    if (aisle_model_factors(m, AISLE_FACTORS_USERS, &uf, &rows, &dim) ||
        aisle_model_factors(m, AISLE_FACTORS_ITEMS, &itf, &rows, &dim))
        die("factors");
    float *scores = malloc(rows * sizeof *scores);
    int q_count = n_items > 300000 ? 200 : 1000;
    double *l8 = malloc(q_count * sizeof *l8), *l32 = malloc(q_count * sizeof *l32), *lf = malloc(q_count * sizeof *lf);
    size_t scanned = 0, rescored = 0, same = 0;
    for (int q = -5; q < q_count; q++) { /* 5 warm-up queries */
        char key[16];
        size_t user = (size_t)(q < 0 ? -q : q) * 7919 % n_users;
        snprintf(key, sizeof key, "%zu", user);
        const char *a[10], *b[10];
        float sa[10], sb[10];
        size_t na, nb, si, sr;
        double t = now();
        if (aisle_recommend(m, key, 10, o8, a, sa, &na)) die("recommend int8");
        double t8 = now() - t;
        aisle_recommend_scan_stats(&si, &sr, NULL);
        t = now();
        if (aisle_recommend(m, key, 10, o32, b, sb, &nb)) die("recommend fp32");
        double t32 = now() - t;
        t = now();
        score_all(itf, rows, dim, uf + user * dim, scores);
        double tf = now() - t;
        sink += scores[user % rows];
        if (q < 0) continue;
        l8[q] = t8, l32[q] = t32, lf[q] = tf;
        scanned += si, rescored += sr;
        int eq = na == nb;
        for (size_t i = 0; eq && i < na; i++) eq = strcmp(a[i], b[i]) == 0 && memcmp(&sa[i], &sb[i], 4) == 0;
        same += (size_t)eq;
    }
    qsort(l8, q_count, sizeof *l8, cmp_double);
    qsort(l32, q_count, sizeof *l32, cmp_double);
    qsort(lf, q_count, sizeof *lf, cmp_double);
    int p50 = q_count / 2, p99 = q_count * 99 / 100;
    printf("%zu items x %zu factors (als, 1 epoch on %zu users: %.1f s; int8 index built in %.1f ms, %.1f MB "
           "beside %.1f MB fp32)\n",
           n_items, dim, n_users, train_s, prep_s * 1e3, n_items * (dim + 4) / 1e6, n_items * dim * 4 / 1e6);
    printf("  top-10, one thread, %d users: scan=int8 p50 %.3f ms p99 %.3f ms | scan=fp32 p50 %.3f ms p99 %.3f ms"
           " | fp32 dot-product floor (bench loop, no selection) p50 %.3f ms | int8 speedup %.2fx (p50)\n",
           q_count, l8[p50] * 1e3, l8[p99] * 1e3, l32[p50] * 1e3, l32[p99] * 1e3, lf[p50] * 1e3,
           l32[p50] / l8[p50]);
    printf("  int8 re-score rate %.4f%% (%.1f rows per query); identical lists and scores: %zu of %d\n",
           100.0 * rescored / scanned, (double)rescored / q_count, same, q_count);
    free(l8), free(l32), free(lf), free(scores);

    /* batch: users/s of aisle_recommend_batch on 2 threads beside the sgemm
     * floor (one single-threaded-BLAS sgemm of a 512-user block against all
     * items, this run) and the one-user int8 loop on one thread */
    size_t nb = n_items > 300000 ? 1024 : 4096;
    const char **keys = malloc(nb * sizeof *keys), **out = malloc(nb * 10 * sizeof *out);
    size_t *nout = malloc(nb * sizeof *nout);
    float *block = malloc((size_t)512 * rows * sizeof *block);
    if (!keys || !out || !nout || !block) die("malloc");
    for (size_t i = 0; i < nb; i++)
        if (aisle_model_user_key(m, i * 7 % n_users, &keys[i])) die("user key");
    aisle_rec_options *ob;
    if (aisle_rec_options_new(&ob) || aisle_rec_options_set(ob, "threads", "2")) die("options");
    t0 = now();
    if (aisle_recommend_batch(m, keys, nb, 10, ob, out, NULL, nout)) die("batch");
    double bt = now() - t0;
    t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 512, (int)rows, (int)dim, 1.0f, uf, (int)dim, itf, (int)dim,
                0.0f, block, (int)rows);
    double gt = now() - t0;
    sink += block[7];
    size_t single = nb / 8;
    t0 = now();
    for (size_t i = 0; i < single; i++) {
        size_t nr;
        if (aisle_recommend(m, keys[i], 10, o8, out, NULL, &nr)) die("recommend");
    }
    double st = now() - t0;
    printf("  batch top-10 of %zu users, threads=2 (blas_threads=1): %.0f users/s | sgemm floor, one thread: %.0f "
           "users/s (x2 threads: %.0f) | one-user int8 calls, one thread: %.0f users/s\n",
           nb, nb / bt, 512 / gt, 2 * 512 / gt, single / st);
    aisle_rec_options_free(ob);
    free(keys), free(out), free(nout), free(block);
    aisle_rec_options_free(o8);
    aisle_rec_options_free(o32);
    live_changes(m, dim, prep_s, n);
}

int main(int argc, char **argv) {
    int live_only = argc > 1 && strcmp(argv[1], "--live") == 0, first = 1 + live_only;
    if (argc > first)
        for (int i = first; i < argc; i++) bench((size_t)strtoull(argv[i], NULL, 10), live_only);
    else {
        bench(100000, live_only);
        bench(1000000, live_only);
    }
    return 0;
}
