/* bench_pair.c - kind `pair` on MovieLens 100K (issue 17): RMSE on the
 * given folds beside mf trained in the same run, and training speed.
 *
 * Text: product = u.item title + genres (as the category); shopper =
 * u.user fields (age, gender, occupation; a user-attribute table) and the
 * titles and ratings of the most recent items.  Test ratings are scored
 * user by user as one batch of pairs through aisle_rerank (the same
 * scores aisle_score gives).  Reported per fold: RMSE of pair, of pair
 * with id embeddings (id_factors), of hybrid (bench_hybrid --folds's
 * options and features) and of mf, the CPU seconds each took to train and
 * score (getrusage: the wall clock of a shared machine says little), and
 * pair's training ratings/s.
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
 * `bench_pair --blend [N] [OPTIONS...]` (N: 50 by default) uses pair as a
 * re-ranker of hybrid's top N on u1 (issue 17: "use it also as a
 * re-ranker"): hybrid (loss=warp, every u1.base rating a view) proposes N
 * unseen movies per test user, pair (trained on the u1.base ratings)
 * scores them through aisle_rerank, and the list is ordered by
 * (1 - w) z(hybrid) + w z(pair), z the score standardised over the N
 * candidates, for w = 0 (hybrid alone), 0.25, 0.5, 0.75 and 1 (pair alone
 * within the N).  P@10, recall@10 and NDCG@10 (binary gains, relevant = a
 * u1.test rating >= 4, averaged over users with a relevant movie: the
 * protocol of docs/BENCHMARKS.md's implicit table) and the recall of the N
 * candidates (the ceiling of any re-ranking).
 *
 * Usage: bench_pair [FOLDS | --cold | --bert FILE | --blend [N]] [OPTIONS...]   FOLDS: 1 (default) ..
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

/* bench_hybrid --folds's options (warm: identities on both sides) */
static const char *const hybrid_opts = "model=hybrid loss=squared threads=2 seed=1 factors=32 epochs=30 "
                                       "learning_rate=0.05 regularization=1e-3 min_feature_support=5";

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

/* Scores standardised over n (mean 0, deviation 1; all 0 when constant). */
static void standardise(const float *x, int n, double *z) {
    double mean = 0, var = 0;
    for (int k = 0; k < n; k++) mean += x[k];
    mean /= n;
    for (int k = 0; k < n; k++) var += (x[k] - mean) * (x[k] - mean);
    double sd = sqrt(var / n);
    for (int k = 0; k < n; k++) z[k] = sd > 0 ? (x[k] - mean) / sd : 0.0;
}

enum { BLEND_WEIGHTS = 5, BLEND_MAX_N = 500, BLEND_K = 10 };

/* P@10, recall@10 and NDCG@10 of one user's list (candidates in order,
 * rel[i]: candidate i relevant) added to m[0..3); n_rel: the user's
 * relevant movies. */
static void blend_metrics(const int *order, int n, const bool *rel, int n_rel, double *m) {
    double dcg = 0, idcg = 0;
    int hits = 0;
    for (int k = 0; k < n && k < BLEND_K; k++)
        if (rel[order[k]]) hits++, dcg += 1.0 / log2(k + 2.0);
    for (int k = 0; k < n_rel && k < BLEND_K; k++) idcg += 1.0 / log2(k + 2.0);
    m[0] += (double)hits / BLEND_K, m[1] += (double)hits / n_rel, m[2] += dcg / idcg;
}

static const double *blend_key; /* qsort's comparison reads the blended scores here */
static int by_blend(const void *a, const void *b) {
    double x = blend_key[*(const int *)a], y = blend_key[*(const int *)b];
    if (x != y) return x > y ? -1 : 1;
    return *(const int *)a - *(const int *)b; /* ties: hybrid's order */
}

static int blend(const char *dir, const aisle_catalog *items, const aisle_catalog *users, int argc, char **argv) {
    int N = argc > 2 ? atoi(argv[2]) : 50, first = argc > 2 && atoi(argv[2]) > 0 ? 3 : 2;
    if (N < BLEND_K || N > BLEND_MAX_N) N = 50;
    int ntr, nte;
    ml_rating *tr = ml_load_ratings(dir, "u1.base", &ntr), *te = ml_load_ratings(dir, "u1.test", &nte);
    if (!tr || !te) {
        printf("skipped: %s/u1.base or u1.test not present\n", dir);
        return 0;
    }
    aisle_dataset *ratings = ratings_dataset(tr, ntr), *views;
    if (aisle_dataset_new(&views)) ml_die("dataset");
    char u[16], it[16];
    for (int k = 0; k < ntr; k++) {
        snprintf(u, sizeof u, "%d", tr[k].u);
        snprintf(it, sizeof it, "%d", tr[k].i);
        if (aisle_dataset_add_event(views, u, it, "view", 1, tr[k].t)) ml_die("event");
    }
    aisle_catalog *hy_items;
    if (aisle_catalog_new(&hy_items) || ml_load_catalog(dir, ML_GENRE_WORDS, hy_items)) ml_die("hybrid catalog");
    static const char *const hy_opts = "model=hybrid loss=warp threads=2 seed=1 factors=32 epochs=20";
    aisle_config *hc, *pc = pair_config(NULL, argc, argv, first);
    if (aisle_config_new(&hc) || aisle_config_parse(hc, hy_opts)) ml_die("hybrid options");
    aisle_model *hy, *pair;
    double c0 = ml_cpu_seconds();
    if (aisle_model_train_with_features(views, hy_items, users, hc, &hy)) ml_die("train hybrid");
    double c1 = ml_cpu_seconds();
    if (aisle_model_train_with_features(ratings, items, users, pc, &pair)) ml_die("train pair");
    double c2 = ml_cpu_seconds(), rerank_cpu = 0;
    static bool relevant[ML_MAX_USERS][ML_MAX_ITEMS];
    static int n_rel[ML_MAX_USERS];
    for (int k = 0; k < nte; k++)
        if (te[k].r >= 4 && !relevant[te[k].u][te[k].i]) relevant[te[k].u][te[k].i] = true, n_rel[te[k].u]++;
    static const double weights[BLEND_WEIGHTS] = {0, 0.25, 0.5, 0.75, 1};
    double m[BLEND_WEIGHTS][3] = {{0}}, cand_recall = 0;
    int n_users = 0;
    const char *cand[BLEND_MAX_N];
    float hs[BLEND_MAX_N], ps[BLEND_MAX_N];
    double zh[BLEND_MAX_N], zp[BLEND_MAX_N], mix[BLEND_MAX_N];
    int order[BLEND_MAX_N];
    bool rel[BLEND_MAX_N];
    for (int user = 1; user < ML_MAX_USERS; user++) {
        if (!n_rel[user]) continue;
        snprintf(u, sizeof u, "%d", user);
        size_t n;
        if (aisle_recommend(hy, u, (size_t)N, NULL, cand, hs, &n)) ml_die("hybrid recommend");
        double r0 = ml_cpu_seconds();
        if (aisle_rerank(pair, u, cand, n, ps, NULL)) ml_die("pair rerank");
        rerank_cpu += ml_cpu_seconds() - r0;
        int hits = 0;
        for (size_t k = 0; k < n; k++) hits += rel[k] = relevant[user][atoi(cand[k])];
        for (size_t k = 0; k < n; k++)
            if (isnan(ps[k])) ps[k] = -INFINITY; /* a movie pair does not know (none here: same catalog) */
        standardise(hs, (int)n, zh);
        standardise(ps, (int)n, zp);
        for (int w = 0; w < BLEND_WEIGHTS; w++) {
            for (size_t k = 0; k < n; k++) mix[k] = (1 - weights[w]) * zh[k] + weights[w] * zp[k], order[k] = (int)k;
            blend_key = mix;
            qsort(order, n, sizeof *order, by_blend);
            blend_metrics(order, (int)n, rel, n_rel[user], m[w]);
        }
        cand_recall += (double)hits / n_rel[user];
        n_users++;
    }
    printf("ml-100k u1: pair re-ranking hybrid's top %d (%d test users with a u1.test rating >= 4)\n", N, n_users);
    printf("  hybrid: %s (u1.base ratings as views), %.1f CPU-s to train\n", hy_opts, c1 - c0);
    printf("  pair:   %s", pair_opts);
    for (int i = first; i < argc; i++) printf(" %s", argv[i]);
    printf(" (u1.base ratings), %.1f CPU-s to train, %.1f CPU-s to score %d lists\n", c2 - c1, rerank_cpu, n_users);
    printf("  recall@%d of hybrid's candidates (any re-ranking's ceiling): %.4f\n", N, cand_recall / n_users);
    printf("  %-34s %8s %10s %8s\n", "order of the top 10", "P@10", "recall@10", "NDCG@10");
    for (int w = 0; w < BLEND_WEIGHTS; w++)
        printf("  %.2f z(hybrid) + %.2f z(pair)%*s %8.4f %10.4f %8.4f%s\n", 1 - weights[w], weights[w], 8, "",
               m[w][0] / n_users, m[w][1] / n_users, m[w][2] / n_users, w == 0 ? "  (hybrid alone)" : "");
    aisle_model_free(hy);
    aisle_model_free(pair);
    aisle_config_free(hc);
    aisle_config_free(pc);
    aisle_catalog_free(hy_items);
    aisle_dataset_free(views);
    aisle_dataset_free(ratings);
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
    if (argc > 1 && !strcmp(argv[1], "--blend")) {
        blend(dir, items, users, argc, argv);
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
    /* hybrid reads bench_hybrid's catalog (genres as words, year, decade) */
    aisle_catalog *hy_items;
    if (aisle_catalog_new(&hy_items) || ml_load_catalog(dir, ML_GENRE_WORDS, hy_items)) ml_die("hybrid catalog");
    printf("ml-100k rating prediction, folds u1..u%d; pair: %s", folds, pair_opts);
    for (int i = 2; i < argc; i++) printf(" %s", argv[i]);
    printf("\nhybrid: %s; mf: defaults (threads=2)\n", hybrid_opts);
    printf("%-5s %10s %7s %14s %7s %10s %7s %8s %7s %14s\n", "fold", "pair RMSE", "CPU s", "pair+ids RMSE", "CPU s",
           "hy RMSE", "CPU s", "mf RMSE", "CPU s", "pair ratings/s");
    double sum[4] = {0}, cpu_sum[4] = {0};
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
        double r[4], cpu[4], pairs_s = 0;
        for (int v = 0; v < 4; v++) {
            aisle_config *cfg;
            if (v < 2) {
                cfg = pair_config(v == 1 ? "id_factors=16" : NULL, argc, argv, 2);
            } else if (aisle_config_new(&cfg) || aisle_config_parse(cfg, v == 2 ? hybrid_opts : "model=mf threads=2 "
                                                                                                "seed=1")) {
                ml_die("hybrid / mf options");
            }
            aisle_model *m;
            double c0 = ml_cpu_seconds();
            /* mf reads no attribute table (the library refuses one) */
            if (aisle_model_train_with_features(ds, v == 2 ? hy_items : items, v < 3 ? users : NULL, cfg, &m))
                ml_die("train");
            r[v] = rmse(m, te, nte, trained);
            cpu[v] = ml_cpu_seconds() - c0;
            if (v == 0 && aisle_model_get_metric(m, "train_pairs_per_second", &pairs_s)) ml_die("metric");
            sum[v] += r[v];
            cpu_sum[v] += cpu[v];
            aisle_model_free(m);
            aisle_config_free(cfg);
        }
        printf("u%-4d %10.4f %7.1f %14.4f %7.1f %10.4f %7.1f %8.4f %7.1f %14.0f\n", fold, r[0], cpu[0], r[1], cpu[1],
               r[2], cpu[2], r[3], cpu[3], pairs_s);
        fflush(stdout);
        aisle_dataset_free(ds);
        free(tr);
        free(te);
    }
    printf("mean  %10.4f %7.1f %14.4f %7.1f %10.4f %7.1f %8.4f %7.1f\n", sum[0] / folds, cpu_sum[0] / folds,
           sum[1] / folds, cpu_sum[1] / folds, sum[2] / folds, cpu_sum[2] / folds, sum[3] / folds, cpu_sum[3] / folds);
    printf("against mf: pair %+.1f%%, pair+ids %+.1f%%, hybrid %+.1f%% RMSE\n", 100.0 * (sum[0] / sum[3] - 1.0),
           100.0 * (sum[1] / sum[3] - 1.0), 100.0 * (sum[2] / sum[3] - 1.0));
    aisle_catalog_free(hy_items);
    aisle_catalog_free(items);
    aisle_catalog_free(users);
    return 0;
}
