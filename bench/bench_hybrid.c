/* bench_hybrid.c - item cold start on MovieLens 100K (issue 17).
 *
 * Protocol: 20% of the movies (xorshift64 shuffle of ids 1..1682, seed 17;
 * the first 336 of the shuffle) are held out entirely; the hybrid kind
 * (loss=squared) is trained on every rating of the other movies with a
 * catalog made of u.item (title words; each genre as a word "genre_NAME"
 * in the description; attributes year and decade of the release date) and
 * a shopper table made of u.user (age band, gender, occupation).  The
 * held-out movies are in the catalog only.  Reported: RMSE on the held-out
 * movies' ratings (by users with training ratings) for hybrid, the user's
 * mean rating, the global mean, and global mean + shrunk user bias (both
 * from the training ratings).
 *
 * Tuning never sees the test movies: `bench_hybrid --tune` holds out a
 * further 20% of the training movies (seed 18) as validation, trains on
 * the rest and prints the validation RMSE of a small grid; the default
 * options below are the grid's best.
 *
 * `--folds` is the warm protocol: MovieLens's own five folds (uN.base /
 * uN.test), hybrid (loss=squared with identities and the same features,
 * fold_options) beside mf (defaults), RMSE, training wall and CPU time
 * per fold and their means.
 *
 * Usage: bench_hybrid [--tune | --folds] [OPTIONS...]   (extra aisle options, e.g.
 * factors=32).  Data: $AISLE_SHARED_DATA/ml-100k (default ../shared/data);
 * skips when absent. */
#include "bench_movielens.h"

static const char *const base_options = "model=hybrid loss=squared threads=2 seed=1 ";
/* the --tune grid's best on the validation movies (docs/BENCHMARKS.md) */
static const char *const tuned_options =
    "factors=64 epochs=100 learning_rate=0.1 regularization=3e-3 min_feature_support=20 item_identity=false";

/* --folds: warm folds, so identities on (the first row of the --tune grid
 * with item identities; not tuned on the folds) */
static const char *const fold_options =
    "factors=32 epochs=30 learning_rate=0.05 regularization=1e-3 min_feature_support=5";

static aisle_config *make_config(const char *options, int argc, char **argv, int first) {
    aisle_config *cfg;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, base_options) || aisle_config_parse(cfg, options))
        ml_die("config");
    for (int i = first; i < argc; i++)
        if (aisle_config_parse(cfg, argv[i])) ml_die(argv[i]);
    return cfg;
}

int main(int argc, char **argv) {
    char dir[1024];
    ml_dir(dir, sizeof dir);
    int n;
    ml_rating *rs = ml_load_ratings(dir, "u.data", &n);
    if (!rs) {
        printf("skipped: %s/u.data not present (set AISLE_SHARED_DATA)\n", dir);
        return 0;
    }
    bool tune = argc > 1 && !strcmp(argv[1], "--tune"), folds = argc > 1 && !strcmp(argv[1], "--folds");
    int first = tune || folds ? 2 : 1;
    aisle_catalog *cat, *users;
    if (aisle_catalog_new(&cat) || aisle_catalog_new(&users)) ml_die("catalog");
    if (ml_load_catalog(dir, ML_GENRE_WORDS, cat) || ml_load_users(dir, users)) {
        printf("skipped: %s/u.item or u.user not present\n", dir);
        return 0;
    }
    static int mask[ML_MAX_ITEMS];
    ml_hold_out(mask, 17, 1); /* test movies */
    if (folds) {
        aisle_config *hcfg = make_config(fold_options, argc, argv, first), *mcfg;
        if (aisle_config_new(&mcfg) || aisle_config_parse(mcfg, "model=mf threads=2 seed=1")) ml_die("config");
        printf("ml-100k u1..u5 (warm): hybrid loss=squared %s (features: title words, genres, year, decade; "
               "age band, gender, occupation) beside mf defaults\n", fold_options);
        printf("  %-5s %9s %9s %9s %9s %9s %9s %s\n", "fold", "mf RMSE", "wall s", "CPU s", "hy RMSE", "wall s",
               "CPU s", "hybrid vs mf");
        double sum[6] = {0};
        int done = 0;
        for (int fold = 1; fold <= 5; fold++) {
            ml_fold_result a, b;
            if (ml_fold_run(dir, fold, NULL, NULL, mcfg, &a) || ml_fold_run(dir, fold, cat, users, hcfg, &b)) {
                printf("  u%d: skipped (u%d.base / u%d.test not present)\n", fold, fold, fold);
                continue;
            }
            printf("  u%-4d %9.4f %9.1f %9.1f %9.4f %9.1f %9.1f %+.1f%% (%d test ratings, mf fell back on %d)\n", fold,
                   a.rmse, a.secs, a.cpu, b.rmse, b.secs, b.cpu, 100.0 * (b.rmse / a.rmse - 1.0), a.test, a.fallback);
            double v[6] = {a.rmse, a.secs, a.cpu, b.rmse, b.secs, b.cpu};
            for (int c = 0; c < 6; c++) sum[c] += v[c];
            done++;
        }
        if (done)
            printf("  %-5s %9.4f %9.1f %9.1f %9.4f %9.1f %9.1f %+.1f%%\n", "mean", sum[0] / done, sum[1] / done,
                   sum[2] / done, sum[3] / done, sum[4] / done, sum[5] / done, 100.0 * (sum[3] / sum[0] - 1.0));
        aisle_config_free(hcfg);
        aisle_config_free(mcfg);
    } else if (tune) {
        ml_hold_out(mask, 18, 2); /* validation movies, from the training ones */
        static const char *const grid[] = {
            "factors=16 epochs=30 learning_rate=0.05 regularization=1e-3 min_feature_support=5",
            "factors=16 epochs=30 learning_rate=0.05 regularization=1e-3 min_feature_support=20 item_identity=false",
            "factors=32 epochs=100 learning_rate=0.05 regularization=1e-3 min_feature_support=5 item_identity=false",
            "factors=64 epochs=100 learning_rate=0.1 regularization=3e-3 min_feature_support=20 item_identity=false",
            "factors=64 epochs=100 learning_rate=0.1 regularization=3e-3 min_feature_support=5 item_identity=false",
            "factors=64 epochs=150 learning_rate=0.1 regularization=1e-2 min_feature_support=5 item_identity=false",
        };
        printf("ml-100k cold start, validation movies (seed 18) of the training movies:\n");
        for (size_t g = 0; g < sizeof grid / sizeof *grid; g++) {
            aisle_config *cfg = make_config(grid[g], argc, argv, first);
            ml_cold_result r = ml_cold_run(rs, n, mask, 2, cat, users, cfg);
            printf("  %-80s RMSE %.4f AUC %.4f (user mean %.4f, %+.1f%%; mean + user bias %.4f) %.1fs\n", grid[g],
                   r.rmse[0], r.auc, r.rmse[1], 100.0 * (r.rmse[0] / r.rmse[1] - 1.0), r.rmse[3], r.secs);
            aisle_config_free(cfg);
        }
    } else {
        aisle_config *cfg = make_config(tuned_options, argc, argv, first);
        ml_cold_result r = ml_cold_run(rs, n, mask, 1, cat, users, cfg);
        printf("ml-100k item cold start: %d of %d movies held out (seed 17), %d training ratings, %.0f test "
               "ratings\n", (ML_MAX_ITEMS - 1) / 5, ML_MAX_ITEMS - 1, r.train_ratings, r.count);
        printf("  hybrid (squared, %s; items: title words, genres, year, decade;\n"
               "         users: age band, gender, occupation), trained in %.2f s: RMSE %.4f\n",
               tuned_options, r.secs, r.rmse[0]);
        printf("  user mean:                    RMSE %.4f\n", r.rmse[1]);
        printf("  global mean:                  RMSE %.4f\n", r.rmse[2]);
        printf("  global mean + user bias (10): RMSE %.4f\n", r.rmse[3]);
        printf("  hybrid vs user mean: %+.1f%% RMSE; vs global mean + user bias: %+.1f%%\n",
               100.0 * (r.rmse[0] / r.rmse[1] - 1.0), 100.0 * (r.rmse[0] / r.rmse[3] - 1.0));
        printf("  hybrid per-user AUC (Kula 2015: held-out ratings >= 4 against < 4): %.4f over %d users "
               "(any per-user constant, e.g. the user mean: 0.5)\n", r.auc, r.auc_users);
        aisle_config_free(cfg);
    }
    aisle_catalog_free(users);
    aisle_catalog_free(cat);
    free(rs);
    return 0;
}
