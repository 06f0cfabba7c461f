/* bench_sasrec.c - quality and speed of the sasrec kind on the SASRec
 * paper's Amazon Video data (sasrec/Video.txt: "user item" lines in time
 * order per user).
 *
 * Protocol (Kang & McAuley 2018): each user's last item is the test item,
 * the one before is held out by the model itself for validation (option
 * holdout_last=true), the rest trains.  Each test item is ranked against 100
 * uniformly sampled items the user never interacted with: HR@10 and
 * NDCG@10 (paper: 0.7410 / 0.5360 after ~200 epochs).  Also full-ranking
 * NDCG@10 (all items except the user's training items), training
 * sequences per second and the latency of one top-10 session query.
 *
 * Then the training-throughput comparison (issue #6): aisle and
 * bench/sasrec_torch.py (the same model in PyTorch, CPU) each train
 * 1 untimed + E timed epochs on the same sequences (each user's items minus
 * the last two, holdout_last=false: no validation) with the same thread
 * count; sequences per wall second and per process-CPU second are compared.
 * Python: $AISLE_PYTHON, else /usr/bin/python3, else python3 - the first that
 * can import torch; none: the comparison is skipped with a message.
 *
 *   build/release/bench/bench_sasrec ["key=value ..." [eval_users]]   (0 or none: every test user)
 *   build/release/bench/bench_sasrec --throughput [timed_epochs [threads]]
 *   build/release/bench/bench_sasrec --scaling [timed_epochs [threads]]
 *                     (aisle alone, 1 thread then `threads`: the speed-up)
 *   build/release/bench/bench_sasrec --latency   (100k-item session latency,
 *                                                 synthetic; needs no data)
 *
 * Data: $AISLE_SHARED_DATA/sasrec/Video.txt, else ../shared/data/...;
 * without it the benchmark prints a message and exits 0.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aisle.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    int epochs, calls, best_epoch;
    double best_metric;
    double last_elapsed;
    double wall[2], cpu[2]; /* throughput: clocks after the warm-up and the last epoch */
} prog_t;

static int on_progress(void *user, int step, int steps, double loss, double metric, double elapsed) {
    prog_t *p = user;
    p->epochs = step;
    p->calls++;
    p->last_elapsed = elapsed;
    if (metric > p->best_metric) p->best_metric = metric, p->best_epoch = step;
    fprintf(stderr, "  epoch %d/%d loss %.4f val_ndcg@10 %.4f (%.1f s)\n", step, steps, loss, metric, elapsed);
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool contains(const uint32_t *sorted, size_t n, uint32_t v) {
    return bsearch(&v, sorted, n, sizeof v, cmp_u32) != NULL;
}

static int on_progress_tp(void *user, int step, int steps, double loss, double metric, double elapsed) {
    prog_t *p = user;
    (void)metric;
    int k = step == 1 ? 0 : step == steps ? 1 : -1;
    if (k >= 0) p->wall[k] = now_s(), p->cpu[k] = cpu_s();
    p->epochs = step;
    fprintf(stderr, "  aisle epoch %d/%d loss %.4f (%.1f s)\n", step, steps, loss, elapsed);
    return 0;
}

/* Training sequences the model sees: users with at least two training
 * events once the held_out last events of each user with >= 3 events are
 * left out (a user's events are contiguous in the file). */
static size_t trainable_sequences(const uint32_t *us, size_t n, const size_t *first, const size_t *count,
                                  size_t held_out) {
    size_t seqs = 0;
    for (size_t k = 0; k < n; k++) {
        if (first[us[k]] != k) continue;
        size_t c = count[us[k]], kept = c >= 3 ? c - held_out : c;
        seqs += kept >= 2;
    }
    return seqs;
}

/* First of $AISLE_PYTHON, /usr/bin/python3, python3 that imports torch. */
static const char *find_python(void) {
    static const char *cands[3];
    cands[0] = getenv("AISLE_PYTHON"), cands[1] = "/usr/bin/python3", cands[2] = "python3";
    char cmd[4352];
    for (int k = 0; k < 3; k++) {
        if (!cands[k] || !cands[k][0]) continue;
        snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", cands[k]);
        if (system(cmd) == 0) return cands[k];
    }
    return NULL;
}

/* bench/sasrec_torch.py from the repository root or next to build/<v>/bench. */
static const char *find_script(const char *argv0, char *buf, size_t cap) {
    const char *env = getenv("AISLE_SASREC_TORCH");
    if (env && env[0]) return env;
    snprintf(buf, cap, "bench/sasrec_torch.py");
    FILE *f = fopen(buf, "r");
    if (!f) {
        const char *slash = strrchr(argv0, '/');
        snprintf(buf, cap, "%.*s/../../../bench/sasrec_torch.py", slash ? (int)(slash - argv0) : 1,
                 slash ? argv0 : ".");
        f = fopen(buf, "r");
    }
    if (!f) return NULL;
    fclose(f);
    return buf;
}

/* aisle's side of the throughput runs: 1 untimed + `epochs` timed epochs
 * of the paper's configuration on the training sequences; *wall_rate and
 * *cpu_rate: sequences per wall and per process-CPU second.  OpenBLAS is
 * kept to one thread (blas_threads=1): the sasrec trainer splits its own
 * work over `threads`, each worker calling single-threaded sgemm. */
static int aisle_rate(const uint32_t *us, const uint32_t *is, size_t n, const size_t *first, const size_t *count,
                      int epochs, int threads, double *wall_rate, double *cpu_rate) {
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) return 1;
    char uk[32], ik[32];
    for (size_t k = 0; k < n; k++) {
        size_t c = count[us[k]], pos = k - first[us[k]];
        if (c >= 3 && pos >= c - 2) continue; /* test and validation items */
        snprintf(uk, sizeof uk, "%u", us[k]);
        snprintf(ik, sizeof ik, "%u", is[k]);
        if (aisle_dataset_add_event(ds, uk, ik, "view", 1, (int64_t)k)) return 1;
    }
    aisle_config *cfg;
    aisle_config_new(&cfg);
    char extra[128];
    snprintf(extra, sizeof extra, "epochs=%d threads=%d blas_threads=1", 1 + epochs, threads);
    /* the paper's configuration: its block layout, loss and sizes */
    if (aisle_config_parse(cfg, "model=sasrec hidden=50 blocks=2 heads=1 dropout=0.5 maxlen=50 batch_size=128 "
                                "learning_rate=0.001 holdout_last=false block_layout=sasrec loss=bce "
                                "train_negatives=1") ||
        aisle_config_parse(cfg, extra)) {
        fprintf(stderr, "bench_sasrec: %s\n", aisle_last_error());
        return 1;
    }
    prog_t prog = {0};
    aisle_config_set_progress(cfg, on_progress_tp, &prog);
    aisle_model *m;
    if (aisle_model_train(ds, cfg, &m)) {
        fprintf(stderr, "bench_sasrec: train: %s\n", aisle_last_error());
        return 1;
    }
    size_t seqs = trainable_sequences(us, n, first, count, 2);
    double wall = prog.wall[1] - prog.wall[0], cpu = prog.cpu[1] - prog.cpu[0];
    *wall_rate = (double)seqs * epochs / wall;
    *cpu_rate = (double)seqs * epochs / cpu;
    printf("aisle throughput: %zu sequences x %d timed epochs (after 1 warm-up), threads=%d: %.1f s wall, %.1f s "
           "CPU: %.0f seq/s wall, %.0f seq/CPU-s\n",
           seqs, epochs, threads, wall, cpu, *wall_rate, *cpu_rate);
    fflush(stdout);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return 0;
}

/* Thread scaling (issue #19): the same training with 1 and with `threads`
 * threads in this process; the ratio of sequences per wall second. */
static int scaling(const uint32_t *us, const uint32_t *is, size_t n, const size_t *first, const size_t *count,
                   int epochs, int threads) {
    double w1, c1, wt, ct;
    if (aisle_rate(us, is, n, first, count, epochs, 1, &w1, &c1) ||
        aisle_rate(us, is, n, first, count, epochs, threads, &wt, &ct))
        return 1;
    printf("thread scaling: %d threads %.0f seq/s, 1 thread %.0f seq/s: %.2fx (target >= 1.7x at 2); CPU per "
           "sequence %.2fx of one thread's\n",
           threads, wt, w1, wt / w1, c1 / ct);
    return 0;
}

/* The training-throughput comparison against PyTorch (see the header). */
static int throughput(const char *argv0, const char *path, const uint32_t *us, const uint32_t *is, size_t n,
                      const size_t *first, const size_t *count, int epochs, int threads) {
    double a_wall, a_cpu;
    if (aisle_rate(us, is, n, first, count, epochs, threads, &a_wall, &a_cpu)) return 1;

    const char *py = find_python();
    char sbuf[4096];
    const char *script = find_script(argv0, sbuf, sizeof sbuf);
    if (!py || !script) {
        printf("training throughput: PyTorch comparison skipped: %s\n",
               !py ? "no python3 that can import torch (install Debian's python3-torch or set AISLE_PYTHON)"
                   : "bench/sasrec_torch.py not found (run from the repository root or set AISLE_SASREC_TORCH)");
        return 0;
    }
    char cmd[8448];
    snprintf(cmd, sizeof cmd, "%s %s %s --threads %d --epochs %d --warmup 1 --layout sasrec", py, script, path, threads,
             epochs);
    printf("pytorch: %s\n", cmd);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) {
        printf("training throughput: PyTorch comparison skipped: cannot run %s\n", cmd);
        return 0;
    }
    char line[512];
    double t_wall = 0, t_cpu = 0, t_ws = 0, t_cs = 0;
    long t_seqs = 0;
    bool got = false;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "torch_sequences_per_second %lf %lf %ld %lf %lf", &t_wall, &t_cpu, &t_seqs, &t_ws, &t_cs) == 5)
            got = true;
    int st = pclose(p);
    if (!got || t_wall <= 0 || t_cpu <= 0) {
        printf("training throughput: PyTorch comparison failed: no result from %s (exit status %d)\n", cmd, st);
        return 1;
    }
    printf("pytorch throughput: %ld sequences in %.1f s wall, %.1f s CPU: %.0f seq/s wall, %.0f seq/CPU-s\n", t_seqs,
           t_ws, t_cs, t_wall, t_cpu);
    printf("training throughput: aisle %.0f seq/s, PyTorch %.0f seq/s, ratio %.2f (target >= 1.5); per CPU-second: "
           "aisle %.0f, PyTorch %.0f, ratio %.2f\n",
           a_wall, t_wall, a_wall / t_wall, a_cpu, t_cpu, a_cpu / t_cpu);
    return 0;
}

/* Top-10 latency for one anonymous session over a 100,000-item catalog
 * through the public API (aisle_recommend_for_items: key lookup, encode,
 * one sgemv over the item table, exclusion of the session's items, top-k
 * selection).  The model is a sasrec of the benchmark's shape trained for
 * one epoch on a synthetic shop (random walks over a 100k-item catalog);
 * latency does not depend on what the weights learned. */
static int latency_100k(void) {
    enum { USERS = 20000, ITEMS = 100000, LEN = 12, SESSIONS = 2000, SESSION_LEN = 20 };
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) return 1;
    char uk[32], ik[32];
    uint64_t rs = 777;
    for (int u = 0; u < USERS; u++) {
        snprintf(uk, sizeof uk, "u%d", u);
        rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
        uint32_t at = (uint32_t)(rs % ITEMS);
        for (int t = 0; t < LEN; t++) {
            rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
            at = (at + 1 + (uint32_t)(rs % 50)) % ITEMS;
            snprintf(ik, sizeof ik, "i%u", at);
            if (aisle_dataset_add_event(ds, uk, ik, "view", 1, t)) return 1;
        }
    }
    for (int i = 0; i < ITEMS; i++) { /* every catalog item known to the model */
        snprintf(ik, sizeof ik, "i%d", i);
        if (aisle_dataset_add_event(ds, "catalog", ik, "view", 1, i)) return 1;
    }
    aisle_config *cfg;
    aisle_config_new(&cfg);
    if (aisle_config_parse(cfg, "model=sasrec hidden=50 blocks=2 heads=1 maxlen=50 epochs=1 threads=2 "
                                "holdout_last=false")) {
        fprintf(stderr, "bench_sasrec: %s\n", aisle_last_error());
        return 1;
    }
    aisle_model *m;
    if (aisle_model_train(ds, cfg, &m)) {
        fprintf(stderr, "bench_sasrec: train: %s\n", aisle_last_error());
        return 1;
    }
    size_t ni;
    aisle_model_item_count(m, &ni);
    char keys[SESSION_LEN][32];
    const char *sess[SESSION_LEN], *out[10];
    float sc[10];
    double *lat = malloc(SESSIONS * sizeof *lat);
    for (int k = 0; k < SESSIONS; k++) {
        for (int j = 0; j < SESSION_LEN; j++) {
            rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
            snprintf(keys[j], sizeof keys[j], "i%u", (uint32_t)(rs % ITEMS));
            sess[j] = keys[j];
        }
        size_t n;
        double a = now_s();
        if (aisle_recommend_for_items(m, sess, NULL, SESSION_LEN, 10, NULL, out, sc, &n) || n != 10) {
            fprintf(stderr, "bench_sasrec: recommend_for_items: %s\n", aisle_last_error());
            return 1;
        }
        lat[k] = now_s() - a;
    }
    qsort(lat, SESSIONS, sizeof *lat, cmp_double);
    printf("latency (top-10 for one %d-item session over %zu items, aisle_recommend_for_items, 1 thread, %d "
           "sessions): p50 %.3f ms p99 %.3f ms\n",
           SESSION_LEN, ni, SESSIONS, 1e3 * lat[SESSIONS / 2], 1e3 * lat[(size_t)(0.99 * (SESSIONS - 1))]);
    free(lat);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--latency") == 0) return latency_100k();
    const char *root = getenv("AISLE_SHARED_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/sasrec/Video.txt", root && root[0] ? root : "../shared/data");
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("bench_sasrec: skipped: %s not present (set AISLE_SHARED_DATA)\n", path);
        return 0;
    }
    bool scale_only = argc > 1 && strcmp(argv[1], "--scaling") == 0;
    bool tp_only = argc > 1 && (strcmp(argv[1], "--throughput") == 0 || scale_only);
    const char *opts = argc > 1 && !tp_only ? argv[1] : "epochs=3";
    size_t eval_users = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 0; /* 0: every test user */

    /* read (user, item) pairs; users are contiguous and time-ordered */
    size_t n = 0, cap = 1 << 18;
    uint32_t *us = malloc(cap * sizeof *us), *is = malloc(cap * sizeof *is);
    unsigned long u, it;
    uint32_t max_user = 0;
    while (fscanf(f, "%lu %lu", &u, &it) == 2) {
        if (n == cap) {
            cap *= 2;
            us = realloc(us, cap * sizeof *us);
            is = realloc(is, cap * sizeof *is);
        }
        us[n] = (uint32_t)u;
        is[n] = (uint32_t)it;
        if (us[n] > max_user) max_user = us[n];
        n++;
    }
    fclose(f);
    /* per-user spans */
    size_t *first = calloc((size_t)max_user + 2, sizeof *first), *count = calloc((size_t)max_user + 2, sizeof *count);
    for (size_t k = n; k-- > 0;) first[us[k]] = k, count[us[k]]++;
    int tp_epochs = tp_only && argc > 2 ? atoi(argv[2]) : 2, tp_threads = tp_only && argc > 3 ? atoi(argv[3]) : 2;
    if (tp_epochs < 1 || tp_threads < 1) {
        fprintf(stderr, "usage: bench_sasrec --throughput|--scaling [timed_epochs >= 1 [threads >= 1]]\n");
        return 2;
    }
    if (tp_only) {
        int rc = scale_only ? scaling(us, is, n, first, count, tp_epochs, tp_threads)
                            : throughput(argv[0], path, us, is, n, first, count, tp_epochs, tp_threads);
        free(first), free(count), free(us), free(is);
        return rc;
    }

    aisle_dataset *ds;
    aisle_dataset_new(&ds);
    char uk[32], ik[32];
    size_t test_users = 0;
    for (size_t k = 0; k < n; k++) {
        bool is_test = count[us[k]] >= 3 && k == first[us[k]] + count[us[k]] - 1;
        if (is_test) {
            test_users++;
            continue;
        }
        snprintf(uk, sizeof uk, "%u", us[k]);
        snprintf(ik, sizeof ik, "%u", is[k]);
        if (aisle_dataset_add_event(ds, uk, ik, "view", 1, (int64_t)k)) return 1;
    }
    size_t nu, ni;
    aisle_dataset_user_count(ds, &nu);
    aisle_dataset_item_count(ds, &ni);
    printf("data: %s: %zu interactions, %zu users, %zu items, %zu test users\n", path, n, nu, ni, test_users);

    aisle_config *cfg;
    aisle_config_new(&cfg);
    if (aisle_config_parse(cfg, "model=sasrec hidden=50 blocks=2 heads=1 dropout=0.5 maxlen=50 batch_size=128 "
                                "learning_rate=0.001 threads=2 holdout_last=true patience=5") ||
        aisle_config_parse(cfg, opts)) {
        fprintf(stderr, "bench_sasrec: %s\n", aisle_last_error());
        return 1;
    }
    prog_t prog = {0};
    aisle_config_set_progress(cfg, on_progress, &prog);
    char cfg_text[1024];
    aisle_config_to_string(cfg, cfg_text, sizeof cfg_text, NULL);
    printf("options: %s\n", cfg_text);
    aisle_model *m;
    double t0 = now_s();
    if (aisle_model_train(ds, cfg, &m)) {
        fprintf(stderr, "bench_sasrec: train: %s\n", aisle_last_error());
        return 1;
    }
    double train_s = now_s() - t0;
    size_t train_seqs = trainable_sequences(us, n, first, count, 1);
    printf("train: %d epochs in %.1f s (incl. per-epoch validation and any refit=true epochs): %.0f sequences/s; "
           "best validation NDCG@10 %.4f at epoch %d\n",
           prog.calls, train_s, (double)train_seqs * prog.calls / train_s, prog.best_metric, prog.best_epoch);

    /* evaluation on up to eval_users test users (every k-th for spread) */
    if (eval_users == 0 || eval_users > test_users) eval_users = test_users;
    size_t n_items_z;
    aisle_model_item_count(m, &n_items_z);
    uint32_t n_items = (uint32_t)n_items_z;
    float *scores = malloc(n_items * sizeof *scores), *ranked_scores = malloc(n_items * sizeof *ranked_scores);
    const char **ranked = malloc(n_items * sizeof *ranked);
    /* raw item id (the key's number) -> model item index, to put the full
     * ranking aisle_recommend returns back in index order */
    uint32_t max_item = 0;
    for (size_t k = 0; k < n; k++) max_item = is[k] > max_item ? is[k] : max_item;
    uint32_t *raw_to_index = malloc(((size_t)max_item + 1) * sizeof *raw_to_index);
    for (uint32_t i = 0; i < n_items; i++) {
        const char *key;
        aisle_model_item_key(m, i, &key);
        raw_to_index[strtoul(key, NULL, 10)] = i;
    }
    /* every item scored, training items included: the metrics below do their
     * own exclusions; the latency query is single-threaded */
    aisle_rec_options *keep_seen;
    if (aisle_rec_options_new(&keep_seen) || aisle_rec_options_set(keep_seen, "exclude_seen", "false") ||
        aisle_rec_options_set(keep_seen, "threads", "1")) {
        fprintf(stderr, "bench_sasrec: serving options: %s\n", aisle_last_error());
        return 1;
    }
    uint32_t *hist = malloc(4096 * sizeof *hist);
    size_t stride = test_users > eval_users ? test_users / eval_users : 1, seen = 0, evaluated = 0, unknown = 0;
    double hr = 0, ndcg = 0, ndcg_full = 0;
    uint64_t rs = 12345;
    double *lat = malloc(eval_users * sizeof *lat);
    size_t n_lat = 0;
    for (uint32_t user = 0; user <= max_user && evaluated < eval_users; user++) {
        if (count[user] < 3) continue;
        if (seen++ % stride) continue;
        snprintf(uk, sizeof uk, "%u", user);
        snprintf(ik, sizeof ik, "%u", is[first[user] + count[user] - 1]);
        size_t mu, target;
        if (aisle_model_user_index(m, uk, &mu) || aisle_model_item_index(m, ik, &target)) {
            /* the test item occurs in no training sequence, so the model
             * cannot rank it: a miss.  (The authors' code keeps such items
             * in its table, trained only as sampled negatives, which ranks
             * them low too.) */
            unknown++, evaluated++;
            continue;
        }
        /* the user's full history (train + test) as model item indices */
        size_t h = 0;
        for (size_t k = 0; k < count[user] && h < 4096; k++) {
            size_t idx;
            snprintf(ik, sizeof ik, "%u", is[first[user] + k]);
            if (!aisle_model_item_index(m, ik, &idx)) hist[h++] = (uint32_t)idx;
        }
        qsort(hist, h, sizeof *hist, cmp_u32);
        size_t n_ranked;
        if (aisle_recommend(m, uk, n_items, keep_seen, ranked, ranked_scores, &n_ranked)) {
            fprintf(stderr, "bench_sasrec: recommend: %s\n", aisle_last_error());
            return 1;
        }
        for (uint32_t c = 0; c < n_items; c++) scores[c] = NAN; /* items left out of the ranking (NaN scores) */
        for (size_t r = 0; r < n_ranked; r++) scores[raw_to_index[strtoul(ranked[r], NULL, 10)]] = ranked_scores[r];
        float ts = scores[target];
        /* sampled: 100 negatives outside the history */
        int rank = 0;
        for (int j = 0; j < 100;) {
            rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
            uint32_t c = (uint32_t)(rs % n_items);
            if (contains(hist, h, c)) continue;
            rank += scores[c] > ts;
            j++;
        }
        if (rank < 10) hr += 1, ndcg += 1.0 / log2(rank + 2.0);
        /* full ranking, training items excluded */
        size_t full = 0;
        for (uint32_t c = 0; c < n_items; c++)
            if (scores[c] > ts && !(c != target && contains(hist, h, c))) full++;
        if (full < 10) ndcg_full += 1.0 / log2((double)full + 2.0);
        evaluated++;
        /* latency: the same user's recent items as an anonymous session,
         * scored over the catalog and reduced to a top-10 */
        char sess_keys[50][32];
        const char *sess[50], *top[10];
        float top_scores[10];
        size_t sl = 0, nt;
        size_t tr = count[user] - 1, from = tr > 50 ? tr - 50 : 0;
        for (size_t k = from; k < tr; k++) { /* keys the model does not know are ignored by the call */
            snprintf(sess_keys[sl], sizeof sess_keys[sl], "%u", is[first[user] + k]);
            sess[sl] = sess_keys[sl];
            sl++;
        }
        double a = now_s();
        if (aisle_recommend_for_items(m, sess, NULL, sl, 10, keep_seen, top, top_scores, &nt)) {
            fprintf(stderr, "bench_sasrec: recommend_for_items: %s\n", aisle_last_error());
            return 1;
        }
        lat[n_lat++] = now_s() - a;
    }
    qsort(lat, n_lat, sizeof *lat, cmp_double);
    size_t known = evaluated - unknown;
    printf("quality (%zu test users, 100 sampled negatives; the %zu whose test item occurs in no training sequence "
           "count as misses): HR@10 %.4f NDCG@10 %.4f (paper 0.7410 / 0.5360)\n",
           evaluated, unknown, hr / (double)evaluated, ndcg / (double)evaluated);
    printf("quality (the %zu test users whose test item the model knows): HR@10 %.4f NDCG@10 %.4f\n", known,
           hr / (double)known, ndcg / (double)known);
    printf("quality (full ranking over %u items, all %zu test users): NDCG@10 %.4f\n", n_items, evaluated,
           ndcg_full / (double)evaluated);
    printf("latency (top-10 for one %d-item session over the catalog, aisle_recommend_for_items, 1 thread): "
           "p50 %.3f ms p99 %.3f ms\n", 50,
           1e3 * lat[n_lat / 2], 1e3 * lat[(size_t)(0.99 * (double)(n_lat - 1))]);
    aisle_rec_options_free(keep_seen);
    free(ranked), free(ranked_scores), free(raw_to_index);
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    int rc = throughput(argv[0], path, us, is, n, first, count, tp_epochs, tp_threads);
    free(lat), free(scores), free(hist), free(first), free(count), free(us), free(is);
    return rc;
}
