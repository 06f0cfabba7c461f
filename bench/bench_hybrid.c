/* bench_hybrid.c - item cold start on MovieLens 100K (issue 17).
 *
 * Protocol: 20% of the movies (seeded shuffle, seed 17) are held out
 * entirely; the hybrid kind (loss=squared) is trained on every rating of
 * the other movies with a catalog made of u.item (title words; each genre
 * as a word "genre_NAME" in the description; no identity is needed for the
 * held-out ones, which are in the catalog only).  Reported: RMSE on the
 * held-out movies' ratings for hybrid, the user's mean rating, the global
 * mean, and global mean + user bias (both from the training ratings).
 *
 * Usage: bench_hybrid [OPTIONS...]   (extra aisle options, e.g. factors=32)
 * Data: $AISLE_SHARED_DATA/ml-100k (default ../shared/data); skips when
 * absent. */
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

/* u.item: id|title|date|video date|url|19 genre flags (Latin-1 titles are
 * kept as bytes that are valid ASCII only; others become spaces). */
static int load_catalog(const char *dir, aisle_catalog *cat) {
    char path[1100], line[2048];
    snprintf(path, sizeof path, "%s/u.item", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        char *fields[24];
        int n = 0;
        for (char *p = line, *s = line; n < 24; p++) {
            if (*p == '|' || *p == '\n' || *p == '\0') {
                bool end = *p != '|';
                *p = '\0';
                fields[n++] = s;
                s = p + 1;
                if (end) break;
            }
        }
        if (n < 24) continue;
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
    }
    fclose(f);
    return 0;
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
    rating *rs = malloc(100000 * sizeof *rs);
    if (!rs) return 1;
    int n = 0, a, b, c;
    long t;
    while (n < 100000 && fscanf(f, "%d %d %d %ld", &a, &b, &c, &t) == 4)
        if (a > 0 && a < MAX_USERS && b > 0 && b < MAX_ITEMS) rs[n].u = a, rs[n].i = b, rs[n++].r = (float)c;
    fclose(f);
    aisle_catalog *cat;
    if (aisle_catalog_new(&cat)) die("catalog");
    if (load_catalog(dir, cat)) {
        printf("skipped: %s/u.item not present\n", dir);
        return 0;
    }
    /* hold out 20% of the movies: xorshift shuffle, seed 17 */
    static int held[MAX_ITEMS], perm[MAX_ITEMS];
    uint64_t x = 17;
    for (int i = 1; i < MAX_ITEMS; i++) perm[i - 1] = i;
    for (int i = MAX_ITEMS - 2; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int j = (int)(x % (uint64_t)(i + 1)), tmp = perm[i];
        perm[i] = perm[j], perm[j] = tmp;
    }
    for (int k = 0; k < (MAX_ITEMS - 1) / 5; k++) held[perm[k]] = 1;
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) die("dataset");
    static double usum[MAX_USERS];
    static int ucnt[MAX_USERS];
    double gsum = 0;
    int ntrain = 0;
    char u[16], it[16];
    for (int k = 0; k < n; k++) {
        if (held[rs[k].i]) continue;
        snprintf(u, sizeof u, "%d", rs[k].u);
        snprintf(it, sizeof it, "%d", rs[k].i);
        if (aisle_dataset_add_event(ds, u, it, "rating", rs[k].r, k)) die("add_event");
        usum[rs[k].u] += rs[k].r, ucnt[rs[k].u]++, gsum += rs[k].r, ntrain++;
    }
    double mu = gsum / ntrain;
    aisle_config *cfg;
    if (aisle_config_new(&cfg) ||
        aisle_config_parse(cfg, "model=hybrid loss=squared factors=32 epochs=20 learning_rate=0.02 "
                                "threads=2 seed=1"))
        die("config");
    for (int i = 1; i < argc; i++)
        if (aisle_config_parse(cfg, argv[i])) die(argv[i]);
    aisle_model *m;
    double t0 = now();
    if (aisle_model_train_with_catalog(ds, cat, cfg, &m)) die("train");
    double secs = now() - t0;
    double se[4] = {0}, cnt = 0;
    for (int k = 0; k < n; k++) {
        if (!held[rs[k].i] || !ucnt[rs[k].u]) continue;
        snprintf(u, sizeof u, "%d", rs[k].u);
        snprintf(it, sizeof it, "%d", rs[k].i);
        float s;
        if (aisle_score(m, u, it, &s)) die("score");
        double umean = usum[rs[k].u] / ucnt[rs[k].u];
        double ubias = mu + (usum[rs[k].u] - ucnt[rs[k].u] * mu) / (ucnt[rs[k].u] + 10.0); /* shrunk */
        double pred[4] = {s, umean, mu, ubias};
        for (int p = 0; p < 4; p++) se[p] += (pred[p] - rs[k].r) * (pred[p] - rs[k].r);
        cnt++;
    }
    printf("ml-100k item cold start: %d of %d movies held out (seed 17), %d training ratings, %.0f test ratings\n",
           (MAX_ITEMS - 1) / 5, MAX_ITEMS - 1, ntrain, cnt);
    printf("  hybrid (squared, catalog: title words + genres), trained in %.2f s: RMSE %.4f\n", secs,
           sqrt(se[0] / cnt));
    printf("  user mean:                    RMSE %.4f\n", sqrt(se[1] / cnt));
    printf("  global mean:                  RMSE %.4f\n", sqrt(se[2] / cnt));
    printf("  global mean + user bias (10): RMSE %.4f\n", sqrt(se[3] / cnt));
    printf("  hybrid vs user mean: %+.1f%% RMSE\n", 100.0 * (sqrt(se[0] / cnt) / sqrt(se[1] / cnt) - 1.0));
    aisle_model_free(m);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    aisle_catalog_free(cat);
    free(rs);
    return 0;
}
