/* bench_pair.c - kind `pair` on MovieLens 100K (issue 17): RMSE on the
 * given folds beside mf trained in the same run, and training speed.
 *
 * Text: product = u.item title + genres (as the category); shopper =
 * u.user fields (age, gender, occupation; a user-attribute table) and the
 * titles and ratings of the most recent items.  Test ratings are scored
 * user by user as one batch of pairs through aisle_rerank (the same
 * scores aisle_score gives).  Reported per fold: RMSE of pair, of pair
 * with id embeddings (id_factors) and of mf, and pair's training ratings/s.
 *
 * Events carry the ratings' own times, so "most recent" is by date.
 *
 * `bench_pair --cold [OPTIONS...]` runs bench_hybrid's item cold-start
 * protocol instead (the split and metrics of bench_movielens.h: 20% of the
 * movies held out, RMSE and per-user AUC on their ratings beside the user
 * mean).
 *
 * `bench_pair --bert BERT_FILE [OPTIONS...]` trains pair with a bert model
 * file as its encoder (option encoder, head only) on u1 and reports its
 * RMSE beside mf's and the ratings trained and scored per CPU-second.
 * With a random checkpoint (aisle import --format bert tests/bert/data/cls)
 * this checks the code path and measures speed; the RMSE means nothing
 * until real pretrained weights are used.
 *
 * Usage: bench_pair [FOLDS | --cold | --bert FILE] [OPTIONS...]   FOLDS: 1 (default) ..
 *        5 (u1..uN); OPTIONS: extra aisle options for pair, e.g. epochs=3.
 * Data: $AISLE_SHARED_DATA/ml-100k (default ../shared/data); skips when
 * absent. */
#include "bench_movielens.h"

/* RMSE of a model on the test ratings (grouped by user: the files are
 * sorted by user), each user's items scored in one aisle_rerank call. */
static double rmse(const aisle_model *m, const ml_rating *te, int n, const bool *trained) {
    double se = 0;
    size_t cnt = 0;
    static char keys[800][8];
    const char *key_of[800];
    char user[16];
    float sc[800];
    for (int a = 0; a < n;) {
        int b = a;
        while (b < n && b - a < 800 && te[b].u == te[a].u) {
            snprintf(keys[b - a], sizeof keys[b - a], "%d", te[b].i);
            key_of[b - a] = keys[b - a], b++;
        }
        snprintf(user, sizeof user, "%d", te[a].u);
        if (aisle_rerank(m, user, key_of, (size_t)(b - a), sc, NULL)) ml_die("rerank");
        for (int k = a; k < b; k++) {
            float s = sc[k - a];
            /* items without training ratings: mf cannot score them; left
             * out for every model so all score the same pairs */
            if (!trained[te[k].i]) continue;
            se += (s - te[k].r) * (s - te[k].r);
            cnt++;
        }
        a = b;
    }
    return sqrt(se / (double)cnt);
}

static const char *const pair_opts = "model=pair hidden=32 blocks=1 heads=2 ff_hidden=64 maxlen=40 recent_items=6 "
                                     "title_tokens=5 epochs=1 batch_size=64 learning_rate=0.002 threads=2 seed=1";

static aisle_config *pair_config(const char *extra, int argc, char **argv, int first) {
    aisle_config *cfg;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, pair_opts)) ml_die("pair options");
    if (extra && aisle_config_parse(cfg, extra)) ml_die(extra);
    for (int i = first; i < argc; i++)
        if (aisle_config_parse(cfg, argv[i])) ml_die(argv[i]);
    return cfg;
}

/* The item cold-start protocol of bench_hybrid (bench_movielens.h): pair
 * trained on the ratings of 80% of the movies, scored on the others'. */
static int cold_start(const char *dir, const aisle_catalog *items, const aisle_catalog *users, int argc,
                      char **argv) {
    int n;
    ml_rating *rs = ml_load_ratings(dir, "u.data", &n);
    if (!rs) {
        printf("skipped: %s/u.data not present\n", dir);
        return 0;
    }
    static int mask[ML_MAX_ITEMS];
    ml_hold_out(mask, 17, 1);
    aisle_config *cfg = pair_config(NULL, argc, argv, 2);
    ml_cold_result r = ml_cold_run(rs, n, mask, 1, items, users, cfg);
    printf("ml-100k item cold start (bench_hybrid's split: %d of %d movies held out, seed 17), %d training "
           "ratings, %.0f test ratings; pair: %s", (ML_MAX_ITEMS - 1) / 5, ML_MAX_ITEMS - 1, r.train_ratings,
           r.count, pair_opts);
    for (int i = 2; i < argc; i++) printf(" %s", argv[i]);
    printf("\n  pair, trained in %.1f s: RMSE %.4f, per-user AUC %.4f over %d users\n", r.secs, r.rmse[0], r.auc,
           r.auc_users);
    printf("  user mean: RMSE %.4f; global mean + user bias (10): RMSE %.4f\n", r.rmse[1], r.rmse[3]);
    printf("  pair vs user mean: %+.1f%% RMSE\n", 100.0 * (r.rmse[0] / r.rmse[1] - 1.0));
    aisle_config_free(cfg);
    free(rs);
    return 0;
}

/* CPU seconds of the whole process (all threads). */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static aisle_dataset *ratings_dataset(const ml_rating *tr, int ntr) {
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) ml_die("dataset");
    char u[16], it[16];
    for (int k = 0; k < ntr; k++) {
        snprintf(u, sizeof u, "%d", tr[k].u);
        snprintf(it, sizeof it, "%d", tr[k].i);
        if (aisle_dataset_add_event(ds, u, it, "rating", tr[k].r, tr[k].t)) ml_die("event");
    }
    return ds;
}

/* pair with a bert encoder on u1 beside mf: RMSE, and ratings per CPU-second
 * of training (every pair encoded once, then the head) and of scoring. */
static int bert_row(const char *dir, const char *encoder, const aisle_catalog *items, const aisle_catalog *users,
                    int argc, char **argv) {
    int ntr, nte;
    ml_rating *tr = ml_load_ratings(dir, "u1.base", &ntr), *te = ml_load_ratings(dir, "u1.test", &nte);
    if (!tr || !te) {
        printf("skipped: %s/u1.base or u1.test not present\n", dir);
        return 0;
    }
    static bool trained[ML_MAX_ITEMS];
    for (int k = 0; k < ntr; k++) trained[tr[k].i] = true;
    aisle_dataset *ds = ratings_dataset(tr, ntr);
    char opts[1400];
    snprintf(opts, sizeof opts, "model=pair encoder=\"%s\" recent_items=6 title_tokens=5 max_length=48 threads=2 seed=1",
             encoder);
    aisle_config *cfg, *mc;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, opts) || aisle_config_new(&mc) ||
        aisle_config_parse(mc, "model=mf threads=2 seed=1"))
        ml_die("options");
    for (int i = 3; i < argc; i++)
        if (aisle_config_parse(cfg, argv[i])) ml_die(argv[i]);
    aisle_model *m, *mf;
    double w0 = ml_now(), c0 = cpu_now();
    if (aisle_model_train_with_features(ds, items, users, cfg, &m)) ml_die("train pair+bert");
    double w1 = ml_now(), c1 = cpu_now();
    double r = rmse(m, te, nte, trained);
    double w2 = ml_now(), c2 = cpu_now();
    if (aisle_model_train_with_catalog(ds, items, mc, &mf)) ml_die("train mf");
    double rm = rmse(mf, te, nte, trained);
    printf("ml-100k u1, pair with a bert encoder (%s): %s", encoder, opts);
    for (int i = 3; i < argc; i++) printf(" %s", argv[i]);
    printf("\n  CODE-PATH CHECK: with a random checkpoint the RMSE says nothing about BERT's accuracy\n");
    printf("  pair+bert RMSE %.4f (mf %.4f in the same run)\n", r, rm);
    printf("  training: %d ratings in %.1f s wall, %.1f CPU-s: %.0f ratings per CPU-second\n", ntr, w1 - w0, c1 - c0,
           ntr / (c1 - c0));
    printf("  scoring:  %d ratings in %.1f s wall, %.1f CPU-s: %.0f ratings per CPU-second\n", nte, w2 - w1, c2 - c1,
           nte / (c2 - c1));
    aisle_model_free(m);
    aisle_model_free(mf);
    aisle_config_free(cfg);
    aisle_config_free(mc);
    aisle_dataset_free(ds);
    free(tr);
    free(te);
    return 0;
}

int main(int argc, char **argv) {
    char dir[1024], file[32];
    ml_dir(dir, sizeof dir);
    aisle_catalog *items, *users;
    if (aisle_catalog_new(&items) || aisle_catalog_new(&users)) ml_die("catalog");
    if (ml_load_catalog(dir, ML_GENRE_CATEGORY, items) || ml_load_users(dir, users)) {
        printf("skipped: %s/u.item or u.user not present (set AISLE_SHARED_DATA)\n", dir);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--cold")) {
        cold_start(dir, items, users, argc, argv);
        aisle_catalog_free(items);
        aisle_catalog_free(users);
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "--bert")) {
        bert_row(dir, argv[2], items, users, argc, argv);
        aisle_catalog_free(items);
        aisle_catalog_free(users);
        return 0;
    }
    int folds = argc > 1 ? atoi(argv[1]) : 1;
    if (folds < 1 || folds > 5) folds = 1;
    printf("ml-100k rating prediction, folds u1..u%d; pair: %s", folds, pair_opts);
    for (int i = 2; i < argc; i++) printf(" %s", argv[i]);
    printf("\n%-5s %10s %14s %10s %14s %10s\n", "fold", "pair RMSE", "pair+ids RMSE", "mf RMSE", "pair ratings/s",
           "mf train s");
    double sum[3] = {0};
    for (int fold = 1; fold <= folds; fold++) {
        int ntr, nte;
        snprintf(file, sizeof file, "u%d.base", fold);
        ml_rating *tr = ml_load_ratings(dir, file, &ntr);
        snprintf(file, sizeof file, "u%d.test", fold);
        ml_rating *te = ml_load_ratings(dir, file, &nte);
        if (!tr || !te) {
            printf("skipped: %s/%s not present\n", dir, file);
            return 0;
        }
        static bool trained[ML_MAX_ITEMS];
        memset(trained, 0, sizeof trained);
        for (int k = 0; k < ntr; k++) trained[tr[k].i] = true;
        aisle_dataset *ds = ratings_dataset(tr, ntr);
        double r[3], pairs_s = 0, mf_s = 0;
        for (int v = 0; v < 3; v++) {
            aisle_config *cfg;
            if (v < 2) {
                cfg = pair_config(v == 1 ? "id_factors=16" : NULL, argc, argv, 2);
            } else if (aisle_config_new(&cfg) || aisle_config_parse(cfg, "model=mf threads=2 seed=1")) {
                ml_die("mf options");
            }
            aisle_model *m;
            double t0 = ml_now();
            /* mf reads no attribute table (the library refuses one) */
            if (aisle_model_train_with_features(ds, items, v < 2 ? users : NULL, cfg, &m)) ml_die("train");
            double secs = ml_now() - t0;
            r[v] = rmse(m, te, nte, trained);
            if (v == 0 && aisle_model_get_metric(m, "train_pairs_per_second", &pairs_s)) ml_die("metric");
            if (v == 2) mf_s = secs;
            sum[v] += r[v];
            aisle_model_free(m);
            aisle_config_free(cfg);
        }
        printf("u%-4d %10.4f %14.4f %10.4f %14.0f %10.2f\n", fold, r[0], r[1], r[2], pairs_s, mf_s);
        aisle_dataset_free(ds);
        free(tr);
        free(te);
    }
    printf("mean  %10.4f %14.4f %10.4f\n", sum[0] / folds, sum[1] / folds, sum[2] / folds);
    printf("pair+ids vs mf: %+.1f%% RMSE\n", 100.0 * (sum[1] / sum[2] - 1.0));
    aisle_catalog_free(items);
    aisle_catalog_free(users);
    return 0;
}
