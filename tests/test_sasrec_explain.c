/* test_sasrec_explain.c - sasrec's explain is leave-one-out: each recent
 * item's contribution equals the score with the whole sequence minus the
 * score of the same sequence without it, checked on small sessions and a
 * known user against independent re-scoring through score_items. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "util/test_util.h"

enum { N_ITEMS = 20, N_USERS = 30, SEQ_LEN = 6 };

/* Users walk the item chain i -> i+1 from different starts. */
static aisle_dataset *chain(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[16], it[16];
    for (int i = 0; i < N_ITEMS; i++) { /* item i has index i */
        snprintf(it, sizeof it, "i%d", i);
        assert_ok(aisle_dataset_add_event(ds, "seed_user", it, "view", 1, 1));
    }
    for (int user = 0; user < N_USERS; user++) {
        snprintf(u, sizeof u, "u%d", user);
        for (int t = 0; t < SEQ_LEN; t++) {
            snprintf(it, sizeof it, "i%d", (user * 3 + t) % N_ITEMS);
            assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1, 1000 + t));
        }
    }
    return ds;
}

static aisle_model *train(aisle_dataset *ds) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, "model=sasrec hidden=16 maxlen=4 blocks=1 heads=2 batch_size=16 "
                                      "learning_rate=0.01 dropout=0 epochs=15 threads=1 seed=7 holdout_last=false "
                                      "embedding_std=0.25"));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg);
    return m;
}

static float session_score(const aisle_model *m, const uint32_t *items, size_t n, uint32_t item) {
    float *s = malloc(model_n_items(m) * sizeof *s);
    model_query q = {.user = -1, .items = items, .n_items = n};
    assert_ok(m->ops->score_items(m, &q, s));
    float r = s[item];
    free(s);
    return r;
}

static void test_sasrec_explain_equals_leave_one_out_on_sessions(void **state) {
    (void)state;
    aisle_dataset *ds = chain();
    aisle_model *m = train(ds);
    assert_non_null(m->ops->explain);
    /* sessions of 2..6 items (longer than maxlen 4: the oldest do not count) */
    const uint32_t sess[] = {3, 4, 9, 5, 6, 7};
    for (size_t n = 2; n <= 6; n++) {
        const uint32_t *items = sess + 6 - n;
        uint32_t target = 8;
        float contrib[6];
        model_query q = {.user = -1, .items = items, .n_items = n};
        assert_ok(m->ops->explain(m, &q, target, contrib));
        float full = session_score(m, items, n, target);
        size_t first = n > 4 ? n - 4 : 0;
        for (size_t i = 0; i < n; i++) {
            if (i < first) {
                assert_true(contrib[i] == 0.0f); /* outside the window */
                continue;
            }
            uint32_t rest[6];
            size_t k = 0;
            for (size_t j = first; j < n; j++)
                if (j != i) rest[k++] = items[j];
            float without = k ? session_score(m, rest, k, target) : 0.0f;
            if (fabsf(contrib[i] - (full - without)) > 1e-4f * (1 + fabsf(full)))
                fail_msg("session of %zu, item %zu: explain %g, leave-one-out %g", n, i, contrib[i], full - without);
        }
    }
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

static void test_sasrec_explain_through_aisle_explain_for_a_user(void **state) {
    (void)state;
    aisle_dataset *ds = chain();
    aisle_model *m = train(ds);
    const char *items[8];
    float shares[8];
    size_t n = 0;
    assert_ok(aisle_explain(m, "u2", "i12", 8, items, shares, &n));
    /* u2 walked i6..i11; only the last maxlen = 4 can matter */
    assert_true(n >= 1 && n <= 4);
    for (size_t k = 0; k < n; k++) {
        int idx = atoi(items[k] + 1);
        assert_true(idx >= 8 && idx <= 11);
    }
    /* the same numbers as leave-one-out on the user's window as a session */
    model_query q;
    model_user_query(m, 2 + 1, &q); /* index 0 is seed_user */
    float *contrib = malloc(q.n_items * sizeof *contrib);
    uint32_t item = 12;
    assert_ok(m->ops->explain(m, &q, item, contrib));
    const uint32_t win[] = {8, 9, 10, 11};
    float full = session_score(m, win, 4, item);
    for (size_t i = 0; i < q.n_items; i++) {
        uint32_t rest[4];
        size_t k = 0;
        bool in = false;
        for (size_t j = 0; j < 4; j++) {
            if (win[j] == q.items[i]) in = true;
            else rest[k++] = win[j];
        }
        float expect = in ? full - session_score(m, rest, k, item) : 0.0f;
        assert_true(fabsf(contrib[i] - expect) <= 1e-4f * (1 + fabsf(full)));
    }
    free(contrib);
    assert_status_msg(aisle_explain(m, "u2", "nope", 8, items, shares, &n), AISLE_ENOTFOUND, "nope");
    aisle_model_free(m);
    aisle_dataset_free(ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sasrec_explain_equals_leave_one_out_on_sessions),
        cmocka_unit_test(test_sasrec_explain_through_aisle_explain_for_a_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
