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
 * Usage: bench_hybrid [--tune] [OPTIONS...]   (extra aisle options, e.g.
 * factors=32).  Data: $AISLE_SHARED_DATA/ml-100k (default ../shared/data);
 * skips when absent. */
#include "aisle.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_USERS = 944, MAX_ITEMS = 1683 };

typedef struct rating {
    int u, i;
    float r;
} rating;

static void die(const char *what) {
    fprintf(stderr, "bench_hybrid: %s failed: %s\n", what, aisle_last_error());
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *const genres[19] = {"unknown", "action", "adventure", "animation", "children", "comedy", "crime",
                                       "documentary", "drama", "fantasy", "film_noir", "horror", "musical",
                                       "mystery", "romance", "sci_fi", "thriller", "war", "western"};

/* Splits a '|'-separated line in place; returns the field count. */
static int split_bars(char *line, char **fields, int max) {
    int n = 0;
    for (char *p = line, *s = line; n < max; p++) {
        if (*p == '|' || *p == '\n' || *p == '\r' || *p == '\0') {
            bool end = *p != '|';
            *p = '\0';
            fields[n++] = s;
            s = p + 1;
            if (end) break;
        }
    }
    return n;
}

/* u.item: id|title|date|video date|url|19 genre flags (Latin-1 titles are
 * kept as bytes that are valid ASCII only; others become spaces). */
static int load_catalog(const char *dir, aisle_catalog *cat) {
    char path[1100], line[2048];
    snprintf(path, sizeof path, "%s/u.item", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *fields[24];
        if (split_bars(line, fields, 24) < 24) continue;
        for (char *p = fields[1]; *p; p++)
            if ((unsigned char)*p >= 128) *p = ' ';
        char desc[512] = "";
        for (int g = 0; g < 19; g++)
            if (fields[5 + g][0] == '1') {
                strncat(desc, "genre_", sizeof desc - strlen(desc) - 1);
                strncat(desc, genres[g], sizeof desc - strlen(desc) - 1);
                strncat(desc, " ", sizeof desc - strlen(desc) - 1);
            }
        if (aisle_catalog_add_item(cat, fields[0], fields[1], desc, NULL, NULL, NAN)) die("catalog");
        size_t dl = strlen(fields[2]);
        if (dl >= 4) { /* dd-Mon-yyyy */
            const char *year = fields[2] + dl - 4;
            char decade[8];
            snprintf(decade, sizeof decade, "%.3s0s", year);
            if (aisle_catalog_set_attribute(cat, fields[0], "year", year) ||
                aisle_catalog_set_attribute(cat, fields[0], "decade", decade))
                die("catalog attribute");
        }
    }
    fclose(f);
    return 0;
}

/* u.user: id|age|gender|occupation|zip -> age band, gender, occupation. */
static int load_users(const char *dir, aisle_catalog *users) {
    char path[1100], line[512];
    snprintf(path, sizeof path, "%s/u.user", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *fields[5];
        if (split_bars(line, fields, 5) < 5) continue;
        int age = atoi(fields[1]);
        const char *band = age < 18 ? "under 18" : age < 25 ? "18-24" : age < 35 ? "25-34" : age < 45 ? "35-44"
                           : age < 50 ? "45-49" : age < 56 ? "50-55" : "56+";
        if (aisle_catalog_add_item(users, fields[0], NULL, NULL, NULL, NULL, NAN) ||
            aisle_catalog_set_attribute(users, fields[0], "age_band", band) ||
            aisle_catalog_set_attribute(users, fields[0], "gender", fields[2]) ||
            aisle_catalog_set_attribute(users, fields[0], "occupation", fields[3]))
            die("user table");
    }
    fclose(f);
    return 0;
}

/* Held-out movie sets: xorshift64 shuffle of 1..MAX_ITEMS-1 with `seed`;
 * marks the first fifth of the candidates (mask[i] == 0) with `mark`. */
static void hold_out(int *mask, uint64_t seed, int mark) {
    static int perm[MAX_ITEMS];
    int n = 0;
    for (int i = 1; i < MAX_ITEMS; i++)
        if (!mask[i]) perm[n++] = i;
    uint64_t x = seed;
    for (int i = n - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int j = (int)(x % (uint64_t)(i + 1)), tmp = perm[i];
        perm[i] = perm[j], perm[j] = tmp;
    }
    for (int k = 0; k < n / 5; k++) mask[perm[k]] = mark;
}

typedef struct result {
    double rmse[4], secs, count;
    int train_ratings;
} result;

/* Trains on ratings of movies with mask 0, scores those with mask `test`. */
static result run(const rating *rs, int n, const int *mask, int test, aisle_catalog *cat, aisle_catalog *users,
                  aisle_config *cfg) {
    result res = {{0}, 0, 0, 0};
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) die("dataset");
    static double usum[MAX_USERS];
    static int ucnt[MAX_USERS];
    memset(usum, 0, sizeof usum);
    memset(ucnt, 0, sizeof ucnt);
    double gsum = 0;
    char u[16], it[16];
    for (int k = 0; k < n; k++) {
        if (mask[rs[k].i]) continue;
        snprintf(u, sizeof u, "%d", rs[k].u);
        snprintf(it, sizeof it, "%d", rs[k].i);
        if (aisle_dataset_add_event(ds, u, it, "rating", rs[k].r, k)) die("add_event");
        usum[rs[k].u] += rs[k].r, ucnt[rs[k].u]++, gsum += rs[k].r, res.train_ratings++;
    }
    double mu = gsum / res.train_ratings;
    aisle_model *m;
    double t0 = now();
    if (aisle_model_train_with_features(ds, cat, users, cfg, &m)) die("train");
    res.secs = now() - t0;
    double se[4] = {0};
    for (int k = 0; k < n; k++) {
        if (mask[rs[k].i] != test || !ucnt[rs[k].u]) continue;
        snprintf(u, sizeof u, "%d", rs[k].u);
        snprintf(it, sizeof it, "%d", rs[k].i);
        float s;
        if (aisle_score(m, u, it, &s)) die("score");
        double umean = usum[rs[k].u] / ucnt[rs[k].u];
        double ubias = mu + (usum[rs[k].u] - ucnt[rs[k].u] * mu) / (ucnt[rs[k].u] + 10.0); /* shrunk */
        double pred[4] = {s, umean, mu, ubias};
        for (int p = 0; p < 4; p++) se[p] += (pred[p] - rs[k].r) * (pred[p] - rs[k].r);
        res.count++;
    }
    for (int p = 0; p < 4; p++) res.rmse[p] = sqrt(se[p] / res.count);
    aisle_model_free(m);
    aisle_dataset_free(ds);
    return res;
}

static const char *const base_options = "model=hybrid loss=squared threads=2 seed=1 ";
/* the --tune grid's best on the validation movies (docs/BENCHMARKS.md) */
static const char *const tuned_options =
    "factors=64 epochs=100 learning_rate=0.1 regularization=3e-3 min_feature_support=20 item_identity=false";

static aisle_config *make_config(const char *options, int argc, char **argv, int first) {
    aisle_config *cfg;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, base_options) || aisle_config_parse(cfg, options))
        die("config");
    for (int i = first; i < argc; i++)
        if (aisle_config_parse(cfg, argv[i])) die(argv[i]);
    return cfg;
}

int main(int argc, char **argv) {
    const char *base = getenv("AISLE_SHARED_DATA");
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/ml-100k", base && *base ? base : "../shared/data");
    snprintf(path, sizeof path, "%s/u.data", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("skipped: %s not present (set AISLE_SHARED_DATA)\n", path);
        return 0;
    }
    bool tune = argc > 1 && !strcmp(argv[1], "--tune");
    int first = tune ? 2 : 1;
    rating *rs = malloc(100000 * sizeof *rs);
    if (!rs) return 1;
    int n = 0, a, b, c;
    long t;
    while (n < 100000 && fscanf(f, "%d %d %d %ld", &a, &b, &c, &t) == 4)
        if (a > 0 && a < MAX_USERS && b > 0 && b < MAX_ITEMS) rs[n].u = a, rs[n].i = b, rs[n++].r = (float)c;
    fclose(f);
    aisle_catalog *cat, *users;
    if (aisle_catalog_new(&cat) || aisle_catalog_new(&users)) die("catalog");
    if (load_catalog(dir, cat) || load_users(dir, users)) {
        printf("skipped: %s/u.item or u.user not present\n", dir);
        return 0;
    }
    static int mask[MAX_ITEMS];
    hold_out(mask, 17, 1); /* test movies */
    if (tune) {
        hold_out(mask, 18, 2); /* validation movies, from the training ones */
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
            result r = run(rs, n, mask, 2, cat, users, cfg);
            printf("  %-80s RMSE %.4f  (user mean %.4f, %+.1f%%; mean + user bias %.4f) %.1fs\n", grid[g],
                   r.rmse[0], r.rmse[1], 100.0 * (r.rmse[0] / r.rmse[1] - 1.0), r.rmse[3], r.secs);
            aisle_config_free(cfg);
        }
    } else {
        aisle_config *cfg = make_config(tuned_options, argc, argv, first);
        result r = run(rs, n, mask, 1, cat, users, cfg);
        printf("ml-100k item cold start: %d of %d movies held out (seed 17), %d training ratings, %.0f test "
               "ratings\n", (MAX_ITEMS - 1) / 5, MAX_ITEMS - 1, r.train_ratings, r.count);
        printf("  hybrid (squared, %s; items: title words, genres, year, decade;\n"
               "         users: age band, gender, occupation), trained in %.2f s: RMSE %.4f\n",
               tuned_options, r.secs, r.rmse[0]);
        printf("  user mean:                    RMSE %.4f\n", r.rmse[1]);
        printf("  global mean:                  RMSE %.4f\n", r.rmse[2]);
        printf("  global mean + user bias (10): RMSE %.4f\n", r.rmse[3]);
        printf("  hybrid vs user mean: %+.1f%% RMSE; vs global mean + user bias: %+.1f%%\n",
               100.0 * (r.rmse[0] / r.rmse[1] - 1.0), 100.0 * (r.rmse[0] / r.rmse[3] - 1.0));
        aisle_config_free(cfg);
    }
    aisle_catalog_free(users);
    aisle_catalog_free(cat);
    free(rs);
    return 0;
}
