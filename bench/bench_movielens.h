/* bench_movielens.h - what the MovieLens 100K benches (bench_hybrid,
 * bench_pair) share: the data folder, the ratings files, the catalog made
 * of u.item and the shopper table made of u.user, the item cold-start
 * split (20% of the movies held out, seeded) and its evaluation (RMSE and
 * Kula's per-user AUC beside the user-mean baselines), so every kind is
 * held to the same split and the same metrics.  Header-only (static
 * functions) because each bench is one program; uses only aisle.h. */
#ifndef BENCH_MOVIELENS_H
#define BENCH_MOVIELENS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "aisle.h"

enum { ML_MAX_USERS = 944, ML_MAX_ITEMS = 1683, ML_MAX_RATINGS = 100000 };

typedef struct ml_rating {
    int u, i;
    float r;
    int64_t t; /* unix time of the rating: the event time (pair reads the most recent items) */
} ml_rating;

static inline void ml_die(const char *what) {
    fprintf(stderr, "bench: %s failed: %s\n", what, aisle_last_error());
    exit(1);
}

static inline double ml_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* dir = $AISLE_SHARED_DATA/ml-100k, else ../shared/data/ml-100k. */
static inline void ml_dir(char *dir, size_t len) {
    const char *base = getenv("AISLE_SHARED_DATA");
    snprintf(dir, len, "%s/ml-100k", base && *base ? base : "../shared/data");
}

/* Reads "user item rating time" lines (u.data, uN.base, uN.test) into a
 * malloc'd array; NULL when the file is absent.  Ids outside the
 * dataset's ranges are skipped. */
static inline ml_rating *ml_load_ratings(const char *dir, const char *file, int *n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    ml_rating *rs = malloc(ML_MAX_RATINGS * sizeof *rs);
    int a, b, c;
    long t;
    *n = 0;
    while (rs && *n < ML_MAX_RATINGS && fscanf(f, "%d %d %d %ld", &a, &b, &c, &t) == 4)
        if (a > 0 && a < ML_MAX_USERS && b > 0 && b < ML_MAX_ITEMS) rs[*n].u = a, rs[*n].i = b, rs[*n].t = t, rs[(*n)++].r = (float)c;
    fclose(f);
    return rs;
}

/* Splits a sep-separated line in place; returns the field count. */
static inline int ml_split(char *line, char sep, char **fields, int max) {
    int n = 0;
    for (char *p = line, *s = line; n < max; p++)
        if (*p == sep || *p == '\n' || *p == '\r' || *p == '\0') {
            bool end = *p != sep;
            *p = '\0';
            fields[n++] = s;
            s = p + 1;
            if (end) break;
        }
    return n;
}

static const char *const ml_genres[19] = {"unknown", "action", "adventure", "animation", "children", "comedy",
                                          "crime", "documentary", "drama", "fantasy", "film noir", "horror",
                                          "musical", "mystery", "romance", "sci fi", "thriller", "war", "western"};

/* How u.item becomes a catalog.  ML_GENRE_WORDS (hybrid): title; each
 * genre as one word "genre_NAME" in the description; attributes year and
 * decade of the release date.  ML_GENRE_CATEGORY (pair, which reads text):
 * title; the genres as the category text "action, comedy". */
enum { ML_GENRE_WORDS = 0, ML_GENRE_CATEGORY = 1 };

/* u.item: id|title|date|video date|url|19 genre flags.  Latin-1 bytes of
 * titles become spaces (the catalog takes UTF-8).  -1 when absent. */
static inline int ml_load_catalog(const char *dir, int style, aisle_catalog *cat) {
    char path[1200], line[2048];
    snprintf(path, sizeof path, "%s/u.item", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *fl[24];
        if (ml_split(line, '|', fl, 24) < 24) continue;
        for (char *p = fl[1]; *p; p++)
            if ((unsigned char)*p >= 128) *p = ' ';
        char genres[512] = "";
        for (int g = 0; g < 19; g++) {
            if (fl[5 + g][0] != '1') continue;
            size_t len = strlen(genres);
            if (style == ML_GENRE_WORDS) {
                snprintf(genres + len, sizeof genres - len, "genre_%s ", ml_genres[g]);
                for (char *p = genres + len + 6; *p; p++)
                    if (*p == ' ' && p[1]) *p = '_'; /* "film noir" -> one word */
            } else {
                snprintf(genres + len, sizeof genres - len, "%s%s", len ? ", " : "", ml_genres[g]);
            }
        }
        int rc = style == ML_GENRE_WORDS ? aisle_catalog_add_item(cat, fl[0], fl[1], genres, NULL, NULL, NAN)
                                         : aisle_catalog_add_item(cat, fl[0], fl[1], NULL, genres, NULL, NAN);
        if (rc) ml_die("catalog");
        size_t dl = strlen(fl[2]);
        if (style == ML_GENRE_WORDS && dl >= 4) { /* dd-Mon-yyyy */
            const char *year = fl[2] + dl - 4;
            char decade[8];
            snprintf(decade, sizeof decade, "%.3s0s", year);
            if (aisle_catalog_set_attribute(cat, fl[0], "year", year) ||
                aisle_catalog_set_attribute(cat, fl[0], "decade", decade))
                ml_die("catalog attribute");
        }
    }
    fclose(f);
    return 0;
}

/* u.user: id|age|gender|occupation|zip -> attributes age_band (under 18,
 * 18-24, 25-34, 35-44, 45-49, 50-55, 56+), gender (male/female),
 * occupation.  -1 when absent. */
static inline int ml_load_users(const char *dir, aisle_catalog *users) {
    char path[1200], line[512];
    snprintf(path, sizeof path, "%s/u.user", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *fl[5];
        if (ml_split(line, '|', fl, 5) < 5) continue;
        int age = atoi(fl[1]);
        const char *band = age < 18 ? "under 18" : age < 25 ? "18-24" : age < 35 ? "25-34" : age < 45 ? "35-44"
                           : age < 50 ? "45-49" : age < 56 ? "50-55" : "56+";
        if (aisle_catalog_add_item(users, fl[0], NULL, NULL, NULL, NULL, NAN) ||
            aisle_catalog_set_attribute(users, fl[0], "age_band", band) ||
            aisle_catalog_set_attribute(users, fl[0], "gender", fl[2][0] == 'M' ? "male" : "female") ||
            aisle_catalog_set_attribute(users, fl[0], "occupation", fl[3]))
            ml_die("user table");
    }
    fclose(f);
    return 0;
}

/* Held-out movie sets: xorshift64 shuffle (x ^= x << 13, x ^= x >> 7,
 * x ^= x << 17; Fisher-Yates from the end) of the ids 1..1682 whose mask is
 * still 0, seeded; marks the first fifth of the shuffle with `mark`.  Test
 * movies: seed 17, mark 1; validation movies for tuning: then seed 18,
 * mark 2 (drawn from the training movies only). */
static inline void ml_hold_out(int *mask, uint64_t seed, int mark) {
    static int perm[ML_MAX_ITEMS];
    int n = 0;
    for (int i = 1; i < ML_MAX_ITEMS; i++)
        if (!mask[i]) perm[n++] = i;
    uint64_t x = seed;
    for (int i = n - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int j = (int)(x % (uint64_t)(i + 1)), tmp = perm[i];
        perm[i] = perm[j], perm[j] = tmp;
    }
    for (int k = 0; k < n / 5; k++) mask[perm[k]] = mark;
}

/* What one model scored on the held-out movies.  Predictors: 0 the model,
 * 1 the user's mean rating, 2 the global mean, 3 global mean + user bias
 * shrunk by 10 ratings (all from the training ratings). */
typedef struct ml_cold_result {
    double rmse[4];
    double auc;        /* Kula (2015): per user over its held-out ratings, >= 4 positive, averaged */
    int auc_users;     /* users with both classes among their held-out ratings */
    double secs;       /* training wall time */
    double count;      /* held-out ratings scored */
    int train_ratings;
} ml_cold_result;

/* Mean over users of the probability that a positive (rating >= 4) of
 * theirs scores above a negative (ties half), users with both classes
 * only.  idx lists the scored ratings; *users gets the user count. */
static inline double ml_user_auc(const ml_rating *rs, const int *idx, const float *score, int n, int *users) {
    static int first[ML_MAX_USERS], next[ML_MAX_RATINGS];
    for (int u = 0; u < ML_MAX_USERS; u++) first[u] = -1;
    for (int k = n - 1; k >= 0; k--) next[k] = first[rs[idx[k]].u], first[rs[idx[k]].u] = k;
    double sum = 0;
    *users = 0;
    for (int u = 0; u < ML_MAX_USERS; u++) {
        double above = 0, pairs = 0;
        for (int a = first[u]; a >= 0; a = next[a]) {
            if (rs[idx[a]].r < 4) continue;
            for (int b = first[u]; b >= 0; b = next[b]) {
                if (rs[idx[b]].r >= 4) continue;
                pairs++;
                above += score[a] > score[b] ? 1.0 : score[a] == score[b] ? 0.5 : 0.0;
            }
        }
        if (pairs > 0) sum += above / pairs, ++*users;
    }
    return *users ? sum / *users : NAN;
}

/* Trains cfg's kind (aisle_model_train_with_features with the catalog and
 * the user table) on the ratings of the movies with mask 0 and scores, with
 * aisle_score, every rating of the movies with mask `test` by users that
 * have training ratings. */
static inline ml_cold_result ml_cold_run(const ml_rating *rs, int n, const int *mask, int test,
                                         const aisle_catalog *cat, const aisle_catalog *users,
                                         const aisle_config *cfg) {
    ml_cold_result res;
    memset(&res, 0, sizeof res);
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) ml_die("dataset");
    static double usum[ML_MAX_USERS];
    static int ucnt[ML_MAX_USERS], idx[ML_MAX_RATINGS];
    static float score[ML_MAX_RATINGS];
    memset(usum, 0, sizeof usum);
    memset(ucnt, 0, sizeof ucnt);
    double gsum = 0;
    char u[16], it[16];
    for (int k = 0; k < n; k++) {
        if (mask[rs[k].i]) continue;
        snprintf(u, sizeof u, "%d", rs[k].u);
        snprintf(it, sizeof it, "%d", rs[k].i);
        if (aisle_dataset_add_event(ds, u, it, "rating", rs[k].r, rs[k].t)) ml_die("add_event");
        usum[rs[k].u] += rs[k].r, ucnt[rs[k].u]++, gsum += rs[k].r, res.train_ratings++;
    }
    double mu = gsum / res.train_ratings, se[4] = {0};
    aisle_model *m;
    double t0 = ml_now();
    if (aisle_model_train_with_features(ds, cat, users, cfg, &m)) ml_die("train");
    res.secs = ml_now() - t0;
    int scored = 0;
    for (int k = 0; k < n; k++) {
        if (mask[rs[k].i] != test || !ucnt[rs[k].u]) continue;
        snprintf(u, sizeof u, "%d", rs[k].u);
        snprintf(it, sizeof it, "%d", rs[k].i);
        float s;
        if (aisle_score(m, u, it, &s)) ml_die("score");
        double umean = usum[rs[k].u] / ucnt[rs[k].u];
        double ubias = mu + (usum[rs[k].u] - ucnt[rs[k].u] * mu) / (ucnt[rs[k].u] + 10.0);
        double pred[4] = {s, umean, mu, ubias};
        for (int p = 0; p < 4; p++) se[p] += (pred[p] - rs[k].r) * (pred[p] - rs[k].r);
        idx[scored] = k, score[scored++] = s;
    }
    res.count = scored;
    for (int p = 0; p < 4; p++) res.rmse[p] = sqrt(se[p] / res.count);
    res.auc = ml_user_auc(rs, idx, score, scored, &res.auc_users);
    aisle_model_free(m);
    aisle_dataset_free(ds);
    return res;
}

/* One MovieLens fold (uN.base / uN.test): RMSE of cfg's kind trained on
 * the base ratings (with the catalog and user table when cat is not NULL)
 * over the test ratings; a test rating the model cannot score (a movie of
 * no base rating, for kinds without features) is predicted by the base
 * mean and counted in `fallback`.  secs: training wall time; cpu: the
 * process's user + system CPU seconds over training. */
typedef struct ml_fold_result {
    double rmse, secs, cpu;
    int test, fallback;
} ml_fold_result;

static inline double ml_cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static inline int ml_fold_run(const char *dir, int fold, const aisle_catalog *cat, const aisle_catalog *users,
                              const aisle_config *cfg, ml_fold_result *res) {
    char name[32];
    int nb, nt;
    snprintf(name, sizeof name, "u%d.base", fold);
    ml_rating *base = ml_load_ratings(dir, name, &nb);
    snprintf(name, sizeof name, "u%d.test", fold);
    ml_rating *test = ml_load_ratings(dir, name, &nt);
    if (!base || !test) {
        free(base);
        free(test);
        return -1;
    }
    memset(res, 0, sizeof *res);
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) ml_die("dataset");
    char u[16], it[16];
    double sum = 0;
    for (int k = 0; k < nb; k++) {
        snprintf(u, sizeof u, "%d", base[k].u);
        snprintf(it, sizeof it, "%d", base[k].i);
        if (aisle_dataset_add_event(ds, u, it, "rating", base[k].r, base[k].t)) ml_die("add_event");
        sum += base[k].r;
    }
    aisle_model *m;
    double t0 = ml_now(), c0 = ml_cpu_seconds();
    int rc = cat ? aisle_model_train_with_features(ds, cat, users, cfg, &m) : aisle_model_train(ds, cfg, &m);
    if (rc) ml_die("train");
    res->secs = ml_now() - t0, res->cpu = ml_cpu_seconds() - c0;
    double se = 0;
    for (int k = 0; k < nt; k++) {
        snprintf(u, sizeof u, "%d", test[k].u);
        snprintf(it, sizeof it, "%d", test[k].i);
        float s;
        rc = aisle_score(m, u, it, &s);
        if (rc == AISLE_ENOTFOUND) s = (float)(sum / nb), res->fallback++;
        else if (rc) ml_die("score");
        se += ((double)s - test[k].r) * ((double)s - test[k].r);
    }
    res->test = nt;
    res->rmse = sqrt(se / nt);
    aisle_model_free(m);
    aisle_dataset_free(ds);
    free(base);
    free(test);
    return 0;
}

#endif /* BENCH_MOVIELENS_H */
