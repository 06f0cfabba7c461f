/* bench_cf.c - collaborative-filtering benchmarks (docs/BENCHMARKS.md).
 *
 *   1. MovieLens-100K u1..u5 (folds of mku.sh, rebuilt from u.data): mf
 *      test RMSE per fold, mean, and training seconds.
 *   2. ml-100k u1 as implicit feedback (every rating = one event; relevant
 *      = test ratings >= 4): precision@10, NDCG@10 and catalogue coverage
 *      of popular, itemknn, als and bpr (own small evaluation).
 *   3. Synthetic shop: one ALS iteration (GFLOP/s against this run's sgemm
 *      GFLOP/s), top-10 latency for one user over all items beside the time
 *      to stream the item factors once, batch recommendations per second.
 *
 * Usage: bench_cf [users items events] (default 50000 100000 1000000),
 * bench_cf als [users items events] for the als parts only, bench_cf
 * als-iter [users items events] for the synthetic ALS iterations only
 * (no MovieLens, no serving figures: the cheap full-size command), bench_cf
 * als-tune: choose als's defaults on a validation split of u1.base, then
 * u1 binary with them,
 * bench_cf mf ["extra mf options"] for part 1 only (the setting MF_TUNED
 * that mf-tune chose, then the extra options), or bench_cf mf-tune
 * ["extra options"]: choose mf's hyperparameters on a validation split of
 * u1.base, then part 1 with them; bench_cf mf-fast ["extra options"]:
 * part 1 with the fast preset MF_FAST (chosen by bench_cf mf-fast-tune the
 * same way under a smaller cost budget).  With AISLE_LIBMF_DIR set to a built
 * cjlin1/libmf, part 1 also runs LibMF's mf-train / mf-predict per fold;
 * with AISLE_IMPLICIT_DIR set to a directory holding implicit's built
 * _als module, the als parts run implicit beside aisle
 * (bench/als_implicit.py).
 * Data: AISLE_SHARED_DATA or ../shared/data; parts needing it are skipped
 * with a message when absent.  Only the public API is used, plus cblas for
 * the reference sgemm. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aisle.h"

static volatile float bench_sink; /* keeps the streaming loop alive */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (all threads): on a shared machine the
 * wall clock mostly measures the neighbours. */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_cf: %s: %s\n", what, aisle_last_error());
    exit(1);
}

typedef struct rating {
    char u[12], i[12];
    float r;
} rating;

static rating *load_ml100k(int *n) {
    const char *base = getenv("AISLE_SHARED_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/ml-100k/u.data", base && *base ? base : "../shared/data");
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("skipped: %s not present (set AISLE_SHARED_DATA)\n", path);
        return NULL;
    }
    rating *rs = malloc(100000 * sizeof *rs);
    int a, b, c, k = 0;
    long t;
    while (k < 100000 && fscanf(f, "%d %d %d %ld", &a, &b, &c, &t) == 4) {
        snprintf(rs[k].u, sizeof rs[k].u, "%d", a);
        snprintf(rs[k].i, sizeof rs[k].i, "%d", b);
        rs[k++].r = (float)c;
    }
    fclose(f);
    *n = k;
    return rs;
}

static double last_cpu; /* CPU seconds of the last train() */

static aisle_model *train(aisle_dataset *ds, const char *opts, double *secs) {
    aisle_config *cfg;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, opts)) die(opts);
    aisle_model *m;
    double t0 = now(), c0 = cpu_now();
    if (aisle_model_train(ds, cfg, &m)) die(opts);
    last_cpu = cpu_now() - c0;
    if (secs) *secs = now() - t0;
    aisle_config_free(cfg);
    return m;
}

/* The value of option `name` in an option string (the last one wins, as
 * in aisle_config_parse), or `def`. */
static long opt_long(const char *opts, const char *name, long def) {
    size_t len = strlen(name);
    for (const char *p = opts; (p = strstr(p, name)) != NULL; p += len)
        if ((p == opts || p[-1] == ' ') && p[len] == '=') def = atol(p + len + 1);
    return def;
}

/* Runs argv[0] with argv, stdout/stderr to /dev/null; wall and CPU seconds
 * (user + system of the child, from wait4).  Returns the exit status, or
 * -2 after killing a child still running after `limit` seconds (LibMF's
 * scheduler can leave threads waiting forever: cjlin1/libmf#12). */
static int run_child(char *const argv[], double limit, double *wall, double *cpu) {
    double t0 = now();
    fflush(stdout); /* else the child flushes our buffered output again when it reopens stdout */
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid < 0) return -1;
    int st = -1;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(pid, &st, WNOHANG, &ru)) == 0) {
        if (now() - t0 > limit) {
            kill(pid, SIGKILL);
            wait4(pid, &st, 0, &ru);
            return -2;
        }
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    if (r < 0) return -1;
    *wall = now() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* LibMF (cjlin1/libmf, its mf-train / mf-predict) on one fold: the fold
 * written in LibMF's text format ("user item rating", 0-based ids), one
 * training run per setting in `settings` (mf-train arguments; -s threads
 * is added), RMSE from mf-predict's predictions (as mf-predict computes
 * it: no clipping).  The mf-train time includes reading its text file. */
typedef struct libmf_run {
    const char *dir; /* AISLE_LIBMF_DIR */
    char tmp[64];    /* temporary directory */
    double rmse[3], wall[3], cpu[3];
} libmf_run;

static int libmf_fold(libmf_run *lm, const rating *rs, int n, int fold, long threads, char *const settings[3]) {
    char tr[128], te[128], model[128], out[128], train_bin[1024], pred_bin[1024];
    snprintf(tr, sizeof tr, "%s/train.txt", lm->tmp);
    snprintf(te, sizeof te, "%s/test.txt", lm->tmp);
    snprintf(model, sizeof model, "%s/model.txt", lm->tmp);
    snprintf(out, sizeof out, "%s/pred.txt", lm->tmp);
    snprintf(train_bin, sizeof train_bin, "%s/mf-train", lm->dir);
    snprintf(pred_bin, sizeof pred_bin, "%s/mf-predict", lm->dir);
    FILE *ft = fopen(tr, "w"), *fe = fopen(te, "w");
    if (!ft || !fe) {
        if (ft) fclose(ft);
        if (fe) fclose(fe);
        return -1;
    }
    for (int k = 0; k < n; k++)
        fprintf(k / 20000 == fold - 1 ? fe : ft, "%d %d %g\n", atoi(rs[k].u) - 1, atoi(rs[k].i) - 1, rs[k].r);
    fclose(ft);
    fclose(fe);
    char sthreads[16];
    snprintf(sthreads, sizeof sthreads, "%ld", threads);
    for (int v = 0; v < 3; v++) {
        char *argv[32], buf[256];
        int a = 0;
        argv[a++] = train_bin;
        argv[a++] = "-s";
        argv[a++] = sthreads;
        snprintf(buf, sizeof buf, "%s", settings[v]);
        for (char *t = strtok(buf, " "); t && a < 28; t = strtok(NULL, " ")) argv[a++] = t;
        argv[a++] = "--quiet";
        argv[a++] = tr;
        argv[a++] = model;
        argv[a] = NULL;
        int rc = run_child(argv, 60, &lm->wall[v], &lm->cpu[v]);
        if (rc == -2) { /* hung (cjlin1/libmf#12): this setting has no figure on this fold */
            lm->rmse[v] = lm->wall[v] = lm->cpu[v] = NAN;
            continue;
        }
        if (rc) return rc;
        char *pargv[] = {pred_bin, te, model, out, NULL};
        double w, c;
        if (run_child(pargv, 60, &w, &c)) return -1;
        FILE *fp = fopen(out, "r");
        if (!fp) return -1;
        double se = 0;
        int cnt = 0;
        float p;
        for (int k = (fold - 1) * 20000; k < fold * 20000 && k < n && fscanf(fp, "%f", &p) == 1; k++, cnt++)
            se += (p - rs[k].r) * (p - rs[k].r);
        fclose(fp);
        lm->rmse[v] = cnt ? sqrt(se / cnt) : NAN;
    }
    remove(tr), remove(te), remove(model), remove(out);
    return 0;
}

/* What `bench_cf mf-tune` chose on the validation split of u1.base
 * (docs/BENCHMARKS.md); the options left at their defaults are omitted.
 * bench_cf mf uses it; extra options given on the command line follow it
 * and so override it. */
#define MF_TUNED "factors=96 regularization=0.08 regularization_implicit=0.5 regularization_bias=0.05"

/* LibMF's best setting on ml-100k, chosen like mf-tune on a random 90/10
 * split of u1.base (docs/BENCHMARKS.md), not on the test folds. */
#define LIBMF_TUNED "-k 64 -t 100 -l2 0.1 -r 0.05"

/* The fast preset of mf (docs/MODELS.md), chosen by `bench_cf mf-fast-tune`
 * on the same validation split as MF_TUNED under a budget of factors x
 * epochs <= MF_FAST_BUDGET; `bench_cf mf-fast` runs it against LibMF's
 * quick setting LIBMF_FAST (issue #19). */
#define MF_FAST "factors=32 epochs=60 regularization=0.05 regularization_implicit=0.2 regularization_bias=0.1 init_std=0.02"
#define LIBMF_FAST "-k 100 -t 20"

/* u<fold>.test = lines (fold-1)*20000 .. fold*20000-1 of u.data */
static void bench_mf(const rating *rs, int n, const char *opts) {
    int lcnt[3] = {0, 0, 0};
    double sum = 0, lsum[3] = {0, 0, 0}, wsum = 0, csum = 0, lwsum[3] = {0, 0, 0}, lcsum[3] = {0, 0, 0};
    libmf_run lm = {.dir = getenv("AISLE_LIBMF_DIR")};
    char same[128], tuned[128] = LIBMF_TUNED, fast[128] = LIBMF_FAST;
    char *settings[3] = {same, tuned, fast};
    long threads = opt_long(opts, "threads", 0);
    /* same factors, epochs and threads as aisle; LibMF's defaults otherwise */
    snprintf(same, sizeof same, "-k %ld -t %ld", opt_long(opts, "factors", 32), opt_long(opts, "epochs", 100));
    if (lm.dir && *lm.dir) {
        char p1[1024], p2[1024];
        snprintf(p1, sizeof p1, "%s/mf-train", lm.dir);
        snprintf(p2, sizeof p2, "%s/mf-predict", lm.dir);
        snprintf(lm.tmp, sizeof lm.tmp, "/tmp/aisle_libmf_XXXXXX");
        if (access(p1, X_OK) || access(p2, X_OK) || !mkdtemp(lm.tmp)) {
            printf("AISLE_LIBMF_DIR=%s has no executable mf-train and mf-predict (or no temporary directory): "
                   "LibMF comparison skipped\n",
                   lm.dir);
            lm.dir = NULL;
        }
    } else {
        lm.dir = NULL;
        printf("(LibMF comparison off: build cjlin1/libmf with make and set AISLE_LIBMF_DIR to its directory, "
               "see docs/BENCHMARKS.md)\n");
    }
    printf("mf on ml-100k u1..u5 (%s, defaults otherwise)\n", opts);
    for (int fold = 1; fold <= 5; fold++) {
        aisle_dataset *ds;
        aisle_dataset_new(&ds);
        for (int k = 0; k < n; k++)
            if (k / 20000 != fold - 1 && aisle_dataset_add_event(ds, rs[k].u, rs[k].i, "rating", rs[k].r, 0))
                die("add_event");
        double secs;
        aisle_model *m = train(ds, opts, &secs);
        double se = 0;
        int cnt = 0;
        for (int k = (fold - 1) * 20000; k < fold * 20000 && k < n; k++) {
            float s;
            if (aisle_score(m, rs[k].u, rs[k].i, &s)) s = 3.53f; /* unseen user or item */
            se += (s - rs[k].r) * (s - rs[k].r);
            cnt++;
        }
        double rmse = sqrt(se / cnt);
        sum += rmse, wsum += secs, csum += last_cpu;
        printf("  u%d: RMSE %.4f, trained in %.2f s wall, %.2f s CPU\n", fold, rmse, secs, last_cpu);
        if (lm.dir) {
            if (libmf_fold(&lm, rs, n, fold, threads ? threads : 2, settings)) {
                printf("      LibMF run failed (%s): comparison stopped\n", lm.dir);
                lm.dir = NULL;
            } else
                for (int v = 0; v < 3; v++) {
                    if (isnan(lm.rmse[v])) {
                        printf("      LibMF %-30s mf-train hung for 60 s and was killed (cjlin1/libmf#12)\n",
                               settings[v]);
                        continue;
                    }
                    lcnt[v]++;
                    printf("      LibMF %-30s RMSE %.4f, trained in %.2f s wall, %.2f s CPU; aisle/LibMF wall %.2f, "
                           "CPU %.2f\n",
                           settings[v], lm.rmse[v], lm.wall[v], lm.cpu[v], secs / lm.wall[v], last_cpu / lm.cpu[v]);
                    lsum[v] += lm.rmse[v], lwsum[v] += lm.wall[v], lcsum[v] += lm.cpu[v];
                }
        }
        aisle_model_free(m);
        aisle_dataset_free(ds);
    }
    printf("  mean RMSE %.4f, %.2f s wall, %.2f s CPU per fold (Surprise SVD: 0.934, SVD++: 0.919)\n", sum / 5,
           wsum / 5, csum / 5);
    if (lm.dir) {
        for (int v = 0; v < 3; v++)
            printf("  LibMF %-30s mean RMSE %.4f, %.2f s wall, %.2f s CPU per fold (%d folds)\n", settings[v],
                   lsum[v] / lcnt[v], lwsum[v] / lcnt[v], lcsum[v] / lcnt[v], lcnt[v]);
        rmdir(lm.tmp);
    }
}

/* mf-tune: hyperparameters chosen on a validation split of u1.base only
 * (the test folds are never read).  u1.base (lines 20000.. of u.data) is
 * split 90/10 at random (fixed seed); a coordinate search over the grid
 * below, starting from the option defaults, trains on the 90% and keeps a
 * value when it lowers the validation RMSE; two passes over the
 * parameters.  Settings over the cost budget factors * epochs <= MF_BUDGET
 * (training time grows with it; 64 x 150 keeps a fold under a second) are
 * not tried. */
enum { MF_BUDGET = 64 * 150, MF_FAST_BUDGET = 48 * 60, MF_NPARAM = 8 };
typedef struct mf_grid_param {
    const char *name, *start; /* start: the option default */
    const char *values[6];
} mf_grid_param;
static const mf_grid_param mf_grid[MF_NPARAM] = {
    {"factors", "32", {"32", "48", "64", "96", "128", NULL}},
    {"epochs", "100", {"60", "100", "150", "200", NULL}},
    {"regularization", "0.1", {"0.05", "0.08", "0.1", "0.12", "0.15", NULL}},
    {"regularization_implicit", "-1", {"-1", "0.05", "0.2", "0.3", "0.5", NULL}},
    {"regularization_bias", "0.02", {"0.005", "0.02", "0.05", NULL}},
    {"learning_rate", "0.007", {"0.004", "0.007", "0.01", NULL}},
    {"learning_rate_decay", "0.1", {"0.03", "0.1", "0.3", NULL}},
    {"init_std", "0.05", {"0.02", "0.05", "0.1", NULL}},
};

static double mf_validation_rmse(aisle_dataset *ds, const rating *rs, const int *val, int nval, const char *opts,
                                 double *secs) {
    aisle_model *m = train(ds, opts, secs);
    double se = 0;
    for (int k = 0; k < nval; k++) {
        float s;
        if (aisle_score(m, rs[val[k]].u, rs[val[k]].i, &s)) s = 3.53f; /* user or item only in validation */
        se += (s - rs[val[k]].r) * (s - rs[val[k]].r);
    }
    aisle_model_free(m);
    return sqrt(se / nval);
}

/* mf-fast-tune: the same search for the fast preset, from MF_TUNED's
 * regularisation, over fewer factors and epochs (budget MF_FAST_BUDGET). */
static const mf_grid_param mf_fast_grid[MF_NPARAM] = {
    {"factors", "32", {"16", "24", "32", "48", "64", NULL}},
    {"epochs", "40", {"20", "30", "40", "60", NULL}},
    {"regularization", "0.08", {"0.05", "0.08", "0.1", "0.12", NULL}},
    {"regularization_implicit", "0.5", {"0.2", "0.3", "0.5", "0.8", NULL}},
    {"regularization_bias", "0.05", {"0.02", "0.05", "0.1", NULL}},
    {"learning_rate", "0.007", {"0.007", "0.01", "0.014", NULL}},
    {"learning_rate_decay", "0.1", {"0.03", "0.1", "0.3", NULL}},
    {"init_std", "0.05", {"0.02", "0.05", "0.1", NULL}},
};

static void mf_tune(const rating *rs, int n, const char *extra, const mf_grid_param *grid, int budget, char *chosen,
                    size_t chosen_len) {
    /* 90/10 split of u1.base with a fixed xorshift seed */
    aisle_dataset *ds;
    aisle_dataset_new(&ds);
    int *val = malloc((size_t)n * sizeof *val), nval = 0;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int k = 20000; k < n; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (x % 10 == 0) val[nval++] = k;
        else if (aisle_dataset_add_event(ds, rs[k].u, rs[k].i, "rating", rs[k].r, 0)) die("add_event");
    }
    const char *cur[MF_NPARAM];
    for (int p = 0; p < MF_NPARAM; p++) cur[p] = grid[p].start;
    printf("mf-tune: u1.base split 90/10 (%d train, %d validation ratings; test folds unused), coordinate search, "
           "budget factors*epochs <= %d, threads=1 %s\n",
           n - 20000 - nval, nval, budget, extra);
    printf("  %-100s %9s %7s %7s\n", "setting", "val RMSE", "wall s", "CPU s");
    double best = INFINITY;
    char opts[1024], seen[64][1024];
    int nseen = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int p = 0; p < MF_NPARAM; p++) {
            const char *keep = cur[p];
            for (int v = 0; grid[p].values[v]; v++) {
                cur[p] = grid[p].values[v];
                if (atoi(cur[0]) * atoi(cur[1]) > budget) continue;
                int len = snprintf(opts, sizeof opts, "model=mf threads=1"); /* deterministic: a reproducible table */
                for (int q = 0; q < MF_NPARAM; q++)
                    len += snprintf(opts + len, sizeof opts - len, " %s=%s", grid[q].name, cur[q]);
                snprintf(opts + len, sizeof opts - len, "%s%s", *extra ? " " : "", extra);
                int dup = 0;
                for (int k = 0; k < nseen; k++) dup |= strcmp(seen[k], opts) == 0;
                if (dup) continue;
                if (nseen < 64) snprintf(seen[nseen++], sizeof seen[0], "%s", opts);
                double secs, r = mf_validation_rmse(ds, rs, val, nval, opts, &secs);
                printf("  %-100s %9.4f %7.2f %7.2f%s\n", opts + 19, r, secs, last_cpu, r < best ? "  *" : "");
                fflush(stdout);
                if (r < best) best = r, keep = cur[p];
            }
            cur[p] = keep;
        }
    int len = 0;
    for (int q = 0; q < MF_NPARAM; q++)
        len += snprintf(chosen + len, chosen_len - len, "%s%s=%s", q ? " " : "", grid[q].name, cur[q]);
    printf("  chosen (validation RMSE %.4f): %s\n", best, chosen);
    free(val);
    aisle_dataset_free(ds);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Relevant pairs for a top-10 evaluation: sorted "user\titem" strings. */
typedef struct relset {
    char **pair;
    int n;
} relset;

/* Ratings rs[k] for k in [b, e) with r >= minr and keep(k) (NULL: all). */
static relset make_rel(const rating *rs, int b, int e, float minr, int (*keep)(int)) {
    relset rel = {malloc((size_t)(e > b ? e - b : 1) * sizeof(char *)), 0};
    for (int k = b; k < e; k++)
        if (rs[k].r >= minr && (!keep || keep(k))) {
            rel.pair[rel.n] = malloc(32);
            snprintf(rel.pair[rel.n++], 32, "%s\t%s", rs[k].u, rs[k].i);
        }
    qsort(rel.pair, (size_t)rel.n, sizeof *rel.pair, cmp_str);
    return rel;
}

static void free_rel(relset *rel) {
    for (int k = 0; k < rel->n; k++) free(rel->pair[k]);
    free(rel->pair);
}

/* Precision@10, NDCG@10 (binary gains) averaged over the users with a
 * relevant pair, all items ranked, seen items excluded; coverage =
 * distinct recommended items / items. */
static void eval_top10(aisle_model *m, const relset *rel, double *p10, double *ndcg10, double *coverage) {
    size_t ni;
    aisle_model_item_count(m, &ni);
    char *seen = calloc(ni ? ni : 1, 1);
    double prec = 0, ndcg = 0;
    int users = 0;
    for (int a = 0; a < rel->n;) {
        char user[16];
        sscanf(rel->pair[a], "%15[^\t]", user);
        int b = a;
        size_t ul = strlen(user);
        while (b < rel->n && strncmp(rel->pair[b], user, ul) == 0 && rel->pair[b][ul] == '\t') b++;
        const char *items[10];
        size_t nr = 0;
        int rc = aisle_recommend(m, user, 10, NULL, items, NULL, &nr);
        if (rc && rc != AISLE_ENOTFOUND) die("recommend");
        double dcg = 0, idcg = 0;
        int hits = 0;
        for (size_t r = 0; !rc && r < nr; r++) {
            char key[32];
            snprintf(key, sizeof key, "%s\t%s", user, items[r]);
            const char *kp = key;
            if (bsearch(&kp, rel->pair + a, (size_t)(b - a), sizeof *rel->pair, cmp_str)) hits++, dcg += 1 / log2(r + 2.0);
            size_t idx;
            if (!aisle_model_item_index(m, items[r], &idx)) seen[idx] = 1;
        }
        for (int r = 0; r < b - a && r < 10; r++) idcg += 1 / log2(r + 2.0);
        prec += hits / 10.0;
        ndcg += dcg / idcg;
        users++;
        a = b;
    }
    size_t cov = 0;
    for (size_t i = 0; i < ni; i++) cov += seen[i];
    free(seen);
    *p10 = users ? prec / users : 0;
    *ndcg10 = users ? ndcg / users : 0;
    *coverage = ni ? (double)cov / ni : 0;
}

static aisle_dataset *events_of(const rating *rs, int b, int e, int (*keep)(int)) {
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) die("dataset");
    for (int k = b; k < e; k++)
        if ((!keep || keep(k)) && aisle_dataset_add_event(ds, rs[k].u, rs[k].i, "view", 1, 0)) die("add_event");
    return ds;
}

/* Implicit evaluation on u1: precision@10, NDCG@10, coverage. */
static void bench_implicit(const rating *rs, int n) {
    aisle_dataset *ds = events_of(rs, 20000, n, NULL);
    relset rel = make_rel(rs, 0, 20000 < n ? 20000 : n, 4, NULL);
    const char *kinds[] = {"model=popular", "model=itemknn similarity=cosine neighbours=100",
                           "model=itemknn similarity=bm25 neighbours=100",
                           "model=als factors=64 epochs=15 regularization=0.05 alpha=2 threads=2",
                           "model=als factors=64 epochs=15 threads=2",
                           "model=bpr factors=64 epochs=60 learning_rate=0.05 regularization=0.002 threads=1"};
    printf("ml-100k u1 as implicit feedback (relevant: test rating >= 4; %d pairs)\n", rel.n);
    for (size_t kd = 0; kd < sizeof kinds / sizeof kinds[0]; kd++) {
        double secs, prec, ndcg, cov;
        aisle_model *m = train(ds, kinds[kd], &secs);
        eval_top10(m, &rel, &prec, &ndcg, &cov);
        printf("  %-80s P@10 %.4f  NDCG@10 %.4f  coverage %.3f  (train %.2f s CPU)\n", kinds[kd], prec, ndcg, cov,
               last_cpu);
        aisle_model_free(m);
    }
    free_rel(&rel);
    aisle_dataset_free(ds);
}

/* Writes rs[k], k in [b, e) with keep(k), as uint32 (user, item) pairs. */
static void write_pairs(const char *path, const rating *rs, int b, int e, int (*keep)(int)) {
    FILE *f = fopen(path, "wb");
    if (!f) die("pairs file");
    for (int k = b; k < e; k++)
        if (!keep || keep(k)) {
            uint32_t pr[2] = {(uint32_t)atol(rs[k].u), (uint32_t)atol(rs[k].i)};
            if (fwrite(pr, sizeof pr, 1, f) != 1) die("pairs file");
        }
    if (fclose(f)) die("pairs file");
}

/* u1 as binary implicit feedback, every test rating relevant: als (the
 * given options and the defaults) and, with AISLE_IMPLICIT_DIR, implicit's
 * AlternatingLeastSquares recipe with its defaults at 64 factors. */
static void bench_als_binary(const rating *rs, int n, const char *opts) {
    int nt = 20000 < n ? 20000 : n;
    aisle_dataset *ds = events_of(rs, nt, n, NULL);
    relset rel = make_rel(rs, 0, nt, 1, NULL);
    printf("ml-100k u1 binary (every u1.base rating one event, every u1.test rating relevant; %d pairs)\n", rel.n);
    const char *kinds[] = {"model=als factors=64 epochs=15 threads=2", opts};
    for (size_t kd = 0; kd < 2 && kinds[kd]; kd++) {
        double secs, prec, ndcg, cov;
        aisle_model *m = train(ds, kinds[kd], &secs);
        eval_top10(m, &rel, &prec, &ndcg, &cov);
        printf("  aisle %-74s P@10 %.4f  NDCG@10 %.4f  coverage %.3f  (train %.2f s CPU)\n", kinds[kd], prec, ndcg,
               cov, last_cpu);
        aisle_model_free(m);
    }
    const char *dir = getenv("AISLE_IMPLICIT_DIR");
    if (dir) {
        const char *tmp = getenv("TMPDIR");
        char tr[256], te[256], cmd[1024];
        snprintf(tr, sizeof tr, "%s/bench_cf_u1base_%ld.bin", tmp ? tmp : "/tmp", (long)getpid());
        snprintf(te, sizeof te, "%s/bench_cf_u1test_%ld.bin", tmp ? tmp : "/tmp", (long)getpid());
        write_pairs(tr, rs, nt, n, NULL);
        write_pairs(te, rs, 0, nt, NULL);
        snprintf(cmd, sizeof cmd,
                 "OPENBLAS_NUM_THREADS=1 PYTHONPATH='%s' /usr/bin/python3 bench/als_implicit.py --topn '%s' '%s' 2",
                 dir, tr, te);
        fflush(stdout);
        if (system(cmd) != 0) printf("  implicit peer failed (AISLE_IMPLICIT_DIR=%s)\n", dir);
        remove(tr);
        remove(te);
    } else {
        printf("  (implicit comparison off: set AISLE_IMPLICIT_DIR, docs/BENCHMARKS.md)\n");
    }
    free_rel(&rel);
    aisle_dataset_free(ds);
}

/* Validation split of u1.base (u1.test is never read): every fifth rating. */
static int is_val(int k) { return k % 5 == 0; }
static int is_fit(int k) { return k % 5 != 0; }

/* Chooses als's alpha and regularization by validation NDCG@10
 * (binary, 64 factors, 15 epochs), then reports u1 with the choice. */
static void als_tune(const rating *rs, int n) {
    aisle_dataset *ds = events_of(rs, 20000, n, is_fit);
    relset val = make_rel(rs, 20000, n, 1, is_val);
    /* regularization is scaled by nnz / (users + items) (the default
     * scale_regularization=true); an earlier unscaled grid (alpha 0.25-16,
     * lambda 0.01-200, init_std 0.01 and 0.1) peaked at alpha 1 and lambda
     * 20 (about 0.6 scaled here) with init_std making no difference */
    const char *alphas[] = {"0.5", "1", "2", "4"};
    const char *regs[] = {"0.1", "0.2", "0.35", "0.5", "0.7", "1", "1.5"};
    const char *stds[] = {"0.01"};
    char best[256] = "", opts[256];
    double best_ndcg = -1;
    printf("als-tune: validation = every fifth u1.base rating (%d pairs), binary, 64 factors, 15 epochs\n", val.n);
    for (size_t a = 0; a < sizeof alphas / sizeof *alphas; a++)
        for (size_t r = 0; r < sizeof regs / sizeof *regs; r++)
            for (size_t q = 0; q < sizeof stds / sizeof *stds; q++) {
                snprintf(opts, sizeof opts, "model=als factors=64 epochs=15 threads=2 alpha=%s regularization=%s init_std=%s",
                         alphas[a], regs[r], stds[q]);
                double prec, ndcg, cov;
                aisle_model *m = train(ds, opts, NULL);
                eval_top10(m, &val, &prec, &ndcg, &cov);
                aisle_model_free(m);
                printf("  alpha=%-4s regularization=%-5s init_std=%-5s validation NDCG@10 %.4f\n", alphas[a], regs[r],
                       stds[q], ndcg);
                if (ndcg > best_ndcg) best_ndcg = ndcg, snprintf(best, sizeof best, "%s", opts);
            }
    printf("  chosen (validation NDCG@10 %.4f): %s\n", best_ndcg, best);
    free_rel(&val);
    aisle_dataset_free(ds);
    bench_als_binary(rs, n, best);
}

static double sgemm_gflops(void) {
    int n = 1024;
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b),
          *c = malloc((size_t)n * n * sizeof *c);
    for (size_t k = 0; k < (size_t)n * n; k++) a[k] = (float)(k % 7) * 0.1f, b[k] = (float)(k % 5) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n); /* warm-up */
    double t0 = now();
    int reps = 3;
    for (int r = 0; r < reps; r++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double g = 2.0 * n * n * n * reps / (now() - t0) / 1e9;
    free(a), free(b), free(c);
    return g;
}

typedef struct epoch_clock {
    double wall[4], cpu[4];
} epoch_clock;

static int on_epoch(void *user, int step, int steps, double loss, double metric, double elapsed) {
    (void)steps, (void)loss, (void)metric, (void)elapsed;
    epoch_clock *c = user;
    if (step >= 1 && step <= 3) c->wall[step] = now(), c->cpu[step] = cpu_now();
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* serving: also the top-10 latency and batch figures (off for
 * `bench_cf als-iter`, which only times the iterations) */
static void bench_synthetic(long nu, long ni, long ne, int serving) {
    printf("synthetic shop: %ld users x %ld items, %ld events (Zipf-like item popularity)\n", nu, ni, ne);
    aisle_dataset *ds;
    aisle_dataset_new(&ds);
    uint64_t s = 88172645463325252ull;
    char u[24], it[24];
    /* with AISLE_IMPLICIT_DIR the same events go to implicit's solver */
    const char *implicit_dir = getenv("AISLE_IMPLICIT_DIR");
    char pairs_path[256] = "";
    FILE *pairs = NULL;
    if (implicit_dir) {
        const char *tmp = getenv("TMPDIR");
        snprintf(pairs_path, sizeof pairs_path, "%s/bench_cf_pairs_%ld.bin", tmp ? tmp : "/tmp", (long)getpid());
        pairs = fopen(pairs_path, "wb");
        if (!pairs) die("pairs file");
    }
    for (long e = 0; e < ne; e++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        long user = (long)(s % (uint64_t)nu);
        double x = (double)((s >> 11) & 0xFFFFF) / 1048576.0;
        long item = (long)(pow(x, 2.5) * (double)ni); /* skewed towards low ids */
        snprintf(u, sizeof u, "u%ld", user);
        snprintf(it, sizeof it, "p%ld", item);
        if (aisle_dataset_add_event(ds, u, it, "view", 1, 0)) die("add_event");
        if (pairs) {
            uint32_t pr[2] = {(uint32_t)user, (uint32_t)item};
            if (fwrite(pr, sizeof pr, 1, pairs) != 1) die("pairs file");
        }
    }
    if (pairs && fclose(pairs)) die("pairs file");
    size_t nnz_users, nnz_items;
    aisle_dataset_user_count(ds, &nnz_users);
    aisle_dataset_item_count(ds, &nnz_items);
    int d = 64, steps = 3;
    double gf = sgemm_gflops();
    /* per-iteration time from the progress callback: epochs 2..3 of one
     * run; als-iter also trains with fp32 gathers after the default fp16
     * ones, in the same process, for the ratio */
    const char *gathers[] = {"fp16", "fp32"};
    double secs = 0, cpu = 0, secs_g[2] = {0, 0}, cpu_g[2] = {0, 0};
    aisle_model *m = NULL;
    for (int g = 0; g < (serving ? 1 : 2); g++) {
        char opts[256];
        snprintf(opts, sizeof opts,
                 "model=als factors=64 epochs=3 cg_steps=3 threads=2 regularization=0.05 alpha=2 weight_scale=linear "
                 "als_gather=%s", gathers[g]);
        aisle_config *cfg;
        if (aisle_config_new(&cfg) || aisle_config_parse(cfg, opts)) die("config");
        epoch_clock ec = {{0}, {0}};
        aisle_config_set_progress(cfg, on_epoch, &ec);
        aisle_model *mg;
        if (aisle_model_train(ds, cfg, &mg)) die("als");
        aisle_config_free(cfg);
        secs_g[g] = (ec.wall[3] - ec.wall[1]) / 2, cpu_g[g] = (ec.cpu[3] - ec.cpu[1]) / 2;
        if (g == 0) m = mg;
        else aisle_model_free(mg);
    }
    secs = secs_g[0], cpu = cpu_g[0];
    size_t nnz = 0;
    {
        char buf[512];
        aisle_model_describe(m, buf, sizeof buf, NULL);
        const char *p = strstr(buf, "interactions: ");
        if (p) nnz = strtoull(p + 14, NULL, 10);
    }
    /* flops of one iteration (als_cg.c): per side a Gram matrix (d^2 per
     * row of the fixed side), per solved row (steps + 1) block products
     * G P of 2 d^2, per event (steps + 1) fused passes of 4 d; then the
     * loss, recorded by the item side (2 d per event) */
    double rows = (double)nnz_users + (double)nnz_items;
    double flops = d * d * rows + (steps + 1) * (2.0 * d * d * rows + 2 * 4.0 * d * (double)nnz) + 2.0 * d * nnz;
    /* memory traffic: per side the CSR (8 B a pair), the fixed side once
     * for its Gram matrix, the solved side read and written, and every
     * gathered factor row once (an upper bound: popular rows hit cache;
     * the CG passes over a block reread them from L2) */
    double bytes_floor = 2 * 8.0 * nnz + 2 * 3.0 * rows * d * 4, bytes_gather = 2.0 * nnz * d * 4;
    size_t bwb = (size_t)256 << 20;
    char *bw_src = malloc(bwb), *bw_dst = malloc(bwb);
    if (!bw_src || !bw_dst) die("bandwidth buffers");
    memset(bw_src, 1, bwb);
    memset(bw_dst, 0, bwb);
    double bw_t = now();
    for (int r = 0; r < 3; r++) bw_src[r] = (char)r, memcpy(bw_dst, bw_src, bwb);
    double bw = 3 * 2.0 * (double)bwb / (now() - bw_t); /* read + write */
    bench_sink += bw_dst[7];
    free(bw_src), free(bw_dst);
    printf("  one ALS iteration (cg, 3 steps, 64 factors, threads=2, als_gather=fp16; mean of epochs 2-3): %.2f s wall, "
           "%.2f s CPU (%.2f of 2 cores busy); %.2f GFLOP/s wall, %.2f GFLOP/CPU-second; sgemm 1024^3 in this run: "
           "%.1f GFLOP/s wall\n",
           secs, cpu, cpu / secs, flops / secs / 1e9, flops / cpu / 1e9, gf);
    if (!serving)
        printf("  same with als_gather=fp32, same run: %.2f s wall, %.2f s CPU (%.2f of 2 cores busy); fp16/fp32: "
               "%.2fx wall, %.2fx CPU\n",
               secs_g[1], cpu_g[1], cpu_g[1] / secs_g[1], secs / secs_g[1], cpu / cpu_g[1]);
    printf("  memory per iteration: %.2f GB without the gathers, %.2f GB if every gathered row came from DRAM; "
           "memcpy in this run %.1f GB/s (read + write): floor %.2f s, %.2f s with all gathers\n",
           bytes_floor / 1e9, (bytes_floor + bytes_gather) / 1e9, bw / 1e9, bytes_floor / bw,
           (bytes_floor + bytes_gather) / bw);
    if (implicit_dir) {
        /* the peer on the same events, after aisle, in this run */
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "OPENBLAS_NUM_THREADS=1 PYTHONPATH='%s' /usr/bin/python3 bench/als_implicit.py '%s' 2 0.05 2 64 3",
                 implicit_dir, pairs_path);
        FILE *p = popen(cmd, "r");
        char line[256];
        double iw[4] = {0}, ic[4] = {0};
        int got = 0;
        while (p && fgets(line, sizeof line, p)) {
            int k;
            double w, c;
            if (sscanf(line, "iteration %d wall %lf cpu %lf", &k, &w, &c) == 3 && k >= 1 && k <= 3)
                iw[k] = w, ic[k] = c, got++;
            else
                printf("  %s", line);
        }
        if (p) pclose(p);
        if (got == 3) {
            double w = (iw[2] + iw[3]) / 2, c = (ic[2] + ic[3]) / 2;
            printf("  implicit least_squares_cg (same events, 64 factors, 3 CG steps, num_threads=2, no loss pass; "
                   "mean of iterations 2-3): %.2f s wall, %.2f s CPU; aisle/implicit: %.2fx wall, %.2fx CPU\n",
                   w, c, secs / w, cpu / c);
        } else {
            printf("  implicit peer failed (AISLE_IMPLICIT_DIR=%s must hold the built _als module; "
                   "docs/BENCHMARKS.md)\n", implicit_dir);
        }
        remove(pairs_path);
    } else {
        printf("  (implicit comparison off: build implicit's _als.pyx as docs/BENCHMARKS.md says and set "
               "AISLE_IMPLICIT_DIR to its directory)\n");
    }
    if (!serving) {
        aisle_model_free(m);
        aisle_dataset_free(ds);
        return;
    }
    /* latency of top-10 for one user */
    size_t nus;
    aisle_model_user_count(m, &nus);
    enum { Q = 300 };
    double lat[Q];
    const char *items[10];
    size_t nr;
    for (int q = 0; q < Q; q++) {
        const char *key;
        aisle_model_user_key(m, (size_t)q * 7919 % nus, &key);
        double t0 = now();
        if (aisle_recommend(m, key, 10, NULL, items, NULL, &nr)) die("recommend");
        lat[q] = now() - t0;
    }
    qsort(lat, Q, sizeof *lat, cmp_double);
    /* streaming the item factors once: the memory-bound floor of a query */
    size_t fbytes = nnz_items * (size_t)d * sizeof(float);
    float *src = malloc(fbytes), *dst = malloc(fbytes);
    memset(src, 1, fbytes);
    memcpy(dst, src, fbytes); /* fault the pages in */
    double t0 = now();
    for (int r = 0; r < 5; r++) {
        src[r] = (float)r;
        memcpy(dst, src, fbytes);
    }
    double stream = (now() - t0) / 5;
    bench_sink += dst[3];
    free(src), free(dst);
    printf("  top-10 for one user over %zu items: p50 %.3f ms, p99 %.3f ms; memcpy of the item factors "
           "(%.1f MB): %.3f ms\n",
           nnz_items, lat[Q / 2] * 1e3, lat[Q * 99 / 100] * 1e3, nnz_items * d * 4 / 1e6, stream * 1e3);
    size_t nb = 2000 < nus ? 2000 : nus;
    const char **keys = malloc(nb * sizeof *keys);
    for (size_t k = 0; k < nb; k++) aisle_model_user_key(m, k, &keys[k]);
    const char **out = malloc(nb * 10 * sizeof *out);
    size_t *nout = malloc(nb * sizeof *nout);
    aisle_rec_options *o;
    aisle_rec_options_new(&o);
    aisle_rec_options_set(o, "threads", "2");
    t0 = now();
    double c0 = cpu_now();
    if (aisle_recommend_batch(m, keys, nb, 10, o, out, NULL, nout)) die("batch");
    double bt = now() - t0, bc = cpu_now() - c0;
    printf("  batch top-10 (threads=2): %zu users in %.2f s wall = %.0f users/s (%.0f users per CPU-second)\n", nb,
           bt, nb / bt, nb / bc);
    aisle_rec_options_free(o);
    free(keys), free(out), free(nout);
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

int main(int argc, char **argv) {
    long nu = 50000, ni = 100000, ne = 1000000;
    int n = 0;
    if (argc >= 2 && strcmp(argv[1], "mf-tune") == 0) { /* tune on u1.base, then test with the choice */
        char chosen[512], opts[1024];
        rating *rs = load_ml100k(&n);
        if (rs) {
            mf_tune(rs, n, argc >= 3 ? argv[2] : "", mf_grid, MF_BUDGET, chosen, sizeof chosen);
            snprintf(opts, sizeof opts, "model=mf threads=2 %s%s%s", chosen, argc >= 3 ? " " : "", argc >= 3 ? argv[2] : "");
            bench_mf(rs, n, opts);
        }
        free(rs);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "mf-fast-tune") == 0) { /* the fast preset's search, then the test folds */
        char chosen[512], opts[1024];
        rating *rs = load_ml100k(&n);
        if (rs) {
            mf_tune(rs, n, "", mf_fast_grid, MF_FAST_BUDGET, chosen, sizeof chosen);
            snprintf(opts, sizeof opts, "model=mf threads=2 %s", chosen);
            bench_mf(rs, n, opts);
        }
        free(rs);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "mf-fast") == 0) { /* the fast preset against LibMF -k 100 -t 20 */
        char opts[512];
        snprintf(opts, sizeof opts, "model=mf threads=2 " MF_FAST "%s%s", argc >= 3 ? " " : "", argc >= 3 ? argv[2] : "");
        rating *rs = load_ml100k(&n);
        if (rs) bench_mf(rs, n, opts);
        free(rs);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "mf") == 0) { /* only the mf part, optional extra options */
        char opts[512];
        snprintf(opts, sizeof opts, "model=mf threads=2 " MF_TUNED "%s%s", argc >= 3 ? " " : "",
                 argc >= 3 ? argv[2] : "");
        rating *rs = load_ml100k(&n);
        if (rs) bench_mf(rs, n, opts);
        free(rs);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "als-tune") == 0) { /* tune on u1.base, then test with the choice */
        rating *rs = load_ml100k(&n);
        if (rs) als_tune(rs, n);
        free(rs);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "als") == 0) { /* only the als parts at the given size */
        if (argc == 5) nu = atol(argv[2]), ni = atol(argv[3]), ne = atol(argv[4]);
        rating *rs = load_ml100k(&n);
        /* the defaults (fp16 gathers) beside fp32 gathers */
        if (rs) bench_als_binary(rs, n, "model=als factors=64 epochs=15 threads=2 als_gather=fp32");
        free(rs);
        bench_synthetic(nu, ni, ne, 1);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "als-iter") == 0) { /* only the synthetic ALS iterations (and the peer) */
        if (argc == 5) nu = atol(argv[2]), ni = atol(argv[3]), ne = atol(argv[4]);
        bench_synthetic(nu, ni, ne, 0);
        return 0;
    }
    if (argc == 4) nu = atol(argv[1]), ni = atol(argv[2]), ne = atol(argv[3]);
    rating *rs = load_ml100k(&n);
    if (rs) {
        bench_mf(rs, n, "model=mf threads=2 " MF_TUNED);
        bench_implicit(rs, n);
        bench_als_binary(rs, n, NULL);
        free(rs);
    }
    bench_synthetic(nu, ni, ne, 1);
    return 0;
}
