/* test_shop.c - the two-taste shop of test_shop.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/test_shop.h"

aisle_dataset *tu_shop_events(const tu_shop *spec, bool ratings) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[32], it[32];
    for (int user = 0; user < spec->users; user++) {
        snprintf(u, sizeof u, "u%d", user);
        for (int t = 0; t < spec->per_user; t++) {
            int item = 2 * ((user * spec->stride + t * 7) % (spec->items / 2)) + (user & 1);
            snprintf(it, sizeof it, "%s%d", spec->prefix, item);
            assert_ok(aisle_dataset_add_event(ds, u, it, ratings ? "rating" : spec->event, ratings ? 5 : 1, 100 + t));
            if (ratings && t < spec->dislikes) {
                snprintf(it, sizeof it, "%s%d", spec->prefix, item ^ 1);
                assert_ok(aisle_dataset_add_event(ds, u, it, "rating", 1, 90 + t));
            }
        }
    }
    return ds;
}

aisle_catalog *tu_shop_catalog(const tu_shop *spec) {
    aisle_catalog *cat;
    assert_ok(aisle_catalog_new(&cat));
    char key[32], title[96];
    for (int i = 0; i <= spec->items + 1; i++) {
        bool mug = i % 2 == 0, fresh = i >= spec->items;
        if (fresh) {
            snprintf(key, sizeof key, "%s", mug ? "newmug" : "newspade");
            snprintf(title, sizeof title, "%s deluxe", mug ? "ceramic mug" : "steel spade");
        } else {
            snprintf(key, sizeof key, "%s%d", spec->prefix, i);
            snprintf(title, sizeof title, "%s %s %d", mug ? "ceramic mug" : "steel spade", spec->title_word, i);
        }
        if (spec->rich)
            assert_ok(aisle_catalog_add_item(cat, key, title, NULL, mug ? "Kitchen > Mugs" : "Garden > Tools",
                                             mug ? "Potter" : "Digger", (mug ? 8.0 : 30.0) + (fresh ? 1 - 2 * !mug : 0)));
        else
            assert_ok(aisle_catalog_add_item(cat, key, title, NULL, NULL, NULL, NAN));
    }
    return cat;
}

bool tu_shop_is_mug(const tu_shop *spec, const char *key) {
    size_t n = strlen(spec->prefix);
    if (!strcmp(key, "newmug")) return true;
    return !strncmp(key, spec->prefix, n) && key[n] && atoi(key + n) % 2 == 0;
}

static float shop_score(const aisle_model *m, const char *user, const char *item) {
    float s;
    assert_ok(aisle_score(m, user, item, &s));
    return s;
}

double tu_shop_cold_preference(const aisle_model *m, const tu_shop *spec) {
    int right = 0;
    char u[32];
    for (int user = 0; user < spec->users; user++) {
        snprintf(u, sizeof u, "u%d", user);
        float mug = shop_score(m, u, "newmug"), spade = shop_score(m, u, "newspade");
        right += (user & 1) ? spade > mug : mug > spade;
    }
    return (double)right / spec->users;
}

double tu_shop_cold_rank(const aisle_model *m, const tu_shop *spec) {
    double above = 0;
    char u[32], it[32];
    for (int user = 0; user < spec->users; user++) {
        snprintf(u, sizeof u, "u%d", user);
        float own = shop_score(m, u, (user & 1) ? "newspade" : "newmug");
        for (int item = 0; item < spec->items; item++) {
            snprintf(it, sizeof it, "%s%d", spec->prefix, item);
            above += shop_score(m, u, it) > own;
        }
    }
    return above / spec->users;
}

aisle_config *tu_shop_config(const char *options, const char *extra) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, options));
    if (extra) assert_ok(aisle_config_parse(cfg, extra));
    return cfg;
}

typedef struct shop_train_ctx {
    const aisle_dataset *ds;
    const aisle_catalog *cat, *users;
    const aisle_config *cfg;
} shop_train_ctx;

static int shop_train_step(void *vc) {
    const shop_train_ctx *c = vc;
    aisle_model *m = NULL;
    int rc = aisle_model_train_with_features(c->ds, c->cat, c->users, c->cfg, &m);
    if (rc && m) rc = AISLE_EINTERNAL; /* a failure must leave *out NULL */
    aisle_model_free(m);
    return rc;
}

int tu_shop_train_failures(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_catalog *users,
                           const aisle_config *cfg, uint64_t max_k) {
    shop_train_ctx c = {ds, cat, users, cfg};
    return (int)tu_oom_sweep("train with features", shop_train_step, &c, 1, 1, max_k);
}

typedef struct serve_job {
    const aisle_model *m;
    const tu_shop *spec;
    const float *expect;
    int reps, bad;
} serve_job;

static void *serve_thread(void *arg) {
    serve_job *job = arg;
    for (int rep = 0; rep < job->reps; rep++)
        for (int user = 0; user < job->spec->users; user++) {
            char u[32];
            float s;
            const char *top[4];
            size_t n;
            snprintf(u, sizeof u, "u%d", user);
            if (aisle_score(job->m, u, "newmug", &s) != AISLE_OK || s != job->expect[user])
                __atomic_add_fetch(&job->bad, 1, __ATOMIC_RELAXED);
            if (aisle_recommend(job->m, u, 4, NULL, top, NULL, &n) != AISLE_OK || n != 4)
                __atomic_add_fetch(&job->bad, 1, __ATOMIC_RELAXED);
        }
    return NULL;
}

void tu_shop_serve_from_8_threads(const aisle_model *m, const tu_shop *spec, int reps) {
    float *expect = malloc((size_t)spec->users * sizeof *expect);
    assert_non_null(expect);
    for (int user = 0; user < spec->users; user++) {
        char u[32];
        snprintf(u, sizeof u, "u%d", user);
        expect[user] = shop_score(m, u, "newmug");
    }
    serve_job job = {.m = m, .spec = spec, .expect = expect, .reps = reps};
    pthread_t th[8];
    for (int i = 0; i < 8; i++) assert_int_equal(pthread_create(&th[i], NULL, serve_thread, &job), 0);
    for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
    free(expect);
    assert_int_equal(job.bad, 0);
}
