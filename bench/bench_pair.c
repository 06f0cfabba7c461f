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
 * Usage: bench_pair [FOLDS] [OPTIONS...]   FOLDS: 1 (default) .. 5 (u1..uN);
 *        OPTIONS: extra aisle options for pair, e.g. epochs=3.
 * Data: $AISLE_SHARED_DATA/ml-100k (default ../shared/data); skips when
 * absent. */
#include "aisle.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *what) {
    fprintf(stderr, "bench_pair: %s failed: %s\n", what, aisle_last_error());
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *const genres[19] = {"unknown", "action", "adventure", "animation", "children", "comedy", "crime",
                                       "documentary", "drama", "fantasy", "film noir", "horror", "musical",
                                       "mystery", "romance", "sci fi", "thriller", "war", "western"};

/* Splits line at sep into at most max fields (in place). */
static int split(char *line, char sep, char **f, int max) {
    int n = 0;
    for (char *p = line, *s = line; n < max; p++)
        if (*p == sep || *p == '\n' || *p == '\r' || *p == '\0') {
            bool end = *p != sep;
            *p = '\0';
            f[n++] = s;
            s = p + 1;
            if (end) break;
        }
    return n;
}

static int load_items(const char *dir, aisle_catalog *cat) {
    char path[1100], line[2048];
    snprintf(path, sizeof path, "%s/u.item", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *fl[24];
        if (split(line, '|', fl, 24) < 24) continue;
        for (char *p = fl[1]; *p; p++)
            if ((unsigned char)*p >= 128) *p = ' '; /* Latin-1: keep ASCII */
        char cats[256] = "";
        for (int g = 0; g < 19; g++)
            if (fl[5 + g][0] == '1') {
                if (cats[0]) strncat(cats, ", ", sizeof cats - strlen(cats) - 1);
                strncat(cats, genres[g], sizeof cats - strlen(cats) - 1);
            }
        if (aisle_catalog_add_item(cat, fl[0], fl[1], NULL, cats, NULL, NAN)) die("catalog");
    }
    fclose(f);
    return 0;
}

static int load_users(const char *dir, aisle_catalog *users) {
    char path[1100], line[512];
    snprintf(path, sizeof path, "%s/u.user", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *fl[5];
        if (split(line, '|', fl, 5) < 5) continue;
        int age = atoi(fl[1]);
        char band[32];
        snprintf(band, sizeof band, "%d0s", age / 10);
        if (aisle_catalog_add_item(users, fl[0], NULL, NULL, NULL, NULL, NAN) ||
            aisle_catalog_set_attribute(users, fl[0], "age", band) ||
            aisle_catalog_set_attribute(users, fl[0], "gender", fl[2][0] == 'M' ? "male" : "female") ||
            aisle_catalog_set_attribute(users, fl[0], "occupation", fl[3]))
            die("users");
    }
    fclose(f);
    return 0;
}

typedef struct rating {
    char u[8], i[8];
    float r;
} rating;

static rating *load_ratings(const char *path, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    rating *rs = malloc(100000 * sizeof *rs);
    int a, b, c;
    long t;
    *n = 0;
    while (rs && *n < 100000 && fscanf(f, "%d %d %d %ld", &a, &b, &c, &t) == 4) {
        snprintf(rs[*n].u, sizeof rs[*n].u, "%d", a);
        snprintf(rs[*n].i, sizeof rs[*n].i, "%d", b);
        rs[(*n)++].r = (float)c;
    }
    fclose(f);
    return rs;
}

/* RMSE of a model on the test ratings (grouped by user: the files are
 * sorted by user), each user's items scored in one aisle_rerank call. */
static double rmse(const aisle_model *m, const rating *te, size_t n, const bool *trained) {
    double se = 0;
    size_t cnt = 0;
    const char *keys[800];
    float sc[800];
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && b - a < 800 && !strcmp(te[b].u, te[a].u)) keys[b - a] = te[b].i, b++;
        if (aisle_rerank(m, te[a].u, keys, b - a, sc, NULL)) die("rerank");
        for (size_t k = a; k < b; k++) {
            float s = sc[k - a];
            /* items without training ratings: mf cannot score them; left
             * out for every model so all score the same pairs */
            if (!trained[atoi(te[k].i) % 2000]) continue;
            se += (s - te[k].r) * (s - te[k].r);
            cnt++;
        }
        a = b;
    }
    return sqrt(se / (double)cnt);
}

int main(int argc, char **argv) {
    const char *base = getenv("AISLE_SHARED_DATA");
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/ml-100k", base && *base ? base : "../shared/data");
    int folds = argc > 1 ? atoi(argv[1]) : 1;
    if (folds < 1 || folds > 5) folds = 1;
    aisle_catalog *items, *users;
    if (aisle_catalog_new(&items) || aisle_catalog_new(&users)) die("catalog");
    if (load_items(dir, items) || load_users(dir, users)) {
        printf("skipped: %s/u.item or u.user not present (set AISLE_SHARED_DATA)\n", dir);
        return 0;
    }
    const char *pair_opts = "model=pair hidden=32 blocks=1 heads=2 ff_hidden=64 maxlen=40 recent_items=6 "
                            "title_tokens=5 epochs=2 batch_size=64 learning_rate=0.002 threads=2 seed=1";
    printf("ml-100k rating prediction, folds u1..u%d; pair: %s", folds, pair_opts);
    for (int i = 2; i < argc; i++) printf(" %s", argv[i]);
    printf("\n%-5s %10s %14s %10s %14s %10s\n", "fold", "pair RMSE", "pair+ids RMSE", "mf RMSE", "pair ratings/s",
           "mf train s");
    double sum[3] = {0};
    for (int fold = 1; fold <= folds; fold++) {
        size_t ntr, nte;
        snprintf(path, sizeof path, "%s/u%d.base", dir, fold);
        rating *tr = load_ratings(path, &ntr);
        snprintf(path, sizeof path, "%s/u%d.test", dir, fold);
        rating *te = load_ratings(path, &nte);
        if (!tr || !te) {
            printf("skipped: %s not present\n", path);
            return 0;
        }
        static bool trained[2000];
        memset(trained, 0, sizeof trained);
        for (size_t k = 0; k < ntr; k++) trained[atoi(tr[k].i) % 2000] = true;
        aisle_dataset *ds;
        if (aisle_dataset_new(&ds)) die("dataset");
        for (size_t k = 0; k < ntr; k++)
            if (aisle_dataset_add_event(ds, tr[k].u, tr[k].i, "rating", tr[k].r, (int64_t)k)) die("event");
        double r[3], pairs_s = 0, mf_s = 0;
        for (int v = 0; v < 3; v++) {
            aisle_config *cfg;
            if (aisle_config_new(&cfg)) die("config");
            if (v < 2) {
                if (aisle_config_parse(cfg, pair_opts)) die("pair options");
                if (v == 1 && aisle_config_parse(cfg, "id_factors=16")) die("id_factors");
                for (int i = 2; i < argc; i++)
                    if (aisle_config_parse(cfg, argv[i])) die(argv[i]);
            } else if (aisle_config_parse(cfg, "model=mf threads=2 seed=1")) {
                die("mf options");
            }
            aisle_model *m;
            double t0 = now();
            if (aisle_model_train_with_features(ds, items, users, cfg, &m)) die("train");
            double secs = now() - t0;
            r[v] = rmse(m, te, nte, trained);
            if (v == 0 && aisle_model_get_metric(m, "train_pairs_per_second", &pairs_s)) die("metric");
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
