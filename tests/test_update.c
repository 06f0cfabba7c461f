/* test_update.c - live user updates (aisle_update_user, aisle_server_update_user,
 * aisle_server_add_user) against a reference of their documented semantics,
 * for every kind that takes them; an update touching no other user's row;
 * saving after updates (plain and mapped); allocation failures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "util/server_util.h"
#include "util/test_util.h"

enum { U = 40, I = 30, NEW_USERS = 4, MAX_U = U + NEW_USERS, STEPS = 60 };

/* Ratings/weights 1..5 at distinct times, so values, counts and times
 * differ between pairs; some pairs seen twice (aggregated). */
static aisle_dataset *shop(void) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    char u[16], it[16];
    uint64_t s = 12345;
    for (int e = 0; e < 400; e++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int uu = e < U ? e : (int)((s >> 33) % U), ii = e < I ? e : (int)((s >> 45) % I);
        snprintf(u, sizeof u, "u%d", uu);
        snprintf(it, sizeof it, "i%d", ii);
        assert_ok(aisle_dataset_add_event(ds, u, it, "rating", (float)(1 + (s >> 20) % 5), 1700000000 + e));
    }
    return ds;
}

/* The reference: every (user, item) pair as the documented update rule
 * leaves it (docs/SERVING.md): events of one call for the same item merge
 * in call order (summed; replaced for rating kinds), then merge with the
 * row (summed or replaced, count + 1, time kept; a new pair has count 1 and
 * time 0); for implicit kinds a pair netting <= 0 leaves the history. */
typedef struct ref {
    bool on[MAX_U][I];
    float v[MAX_U][I];
    uint32_t count[MAX_U][I];
    int64_t t[MAX_U][I];
    bool replace;
} ref;

static void ref_from_model(ref *r, const aisle_model *m) {
    memset(r, 0, sizeof *r);
    r->replace = (m->ops->flags & MODEL_PREDICTS_RATINGS) != 0;
    for (uint32_t u = 0; u < model_n_users(m); u++) {
        model_row h = model_history_row(m, u);
        for (size_t k = 0; k < h.n; k++) {
            uint32_t j = h.items[k];
            r->on[u][j] = true, r->v[u][j] = h.values[k], r->count[u][j] = h.count[k], r->t[u][j] = h.last_time[k];
        }
    }
}

static void ref_update(ref *r, uint32_t u, const int *items, const float *w, size_t n) {
    bool hit[I] = {0};
    float sum[I] = {0};
    for (size_t e = 0; e < n; e++) {
        if (items[e] < 0) continue; /* unknown or NULL key: skipped */
        int j = items[e];
        float x = w ? w[e] : 1.0f;
        sum[j] = hit[j] && !r->replace ? sum[j] + x : x;
        hit[j] = true;
    }
    for (int j = 0; j < I; j++) {
        if (!hit[j]) continue;
        if (r->on[u][j]) {
            r->v[u][j] = r->replace ? sum[j] : r->v[u][j] + sum[j];
            r->count[u][j]++;
        } else {
            r->on[u][j] = true, r->v[u][j] = sum[j], r->count[u][j] = 1, r->t[u][j] = 0;
        }
        if (!r->replace && !(r->v[u][j] > 0)) r->on[u][j] = false;
    }
}

/* The user's row under the reference, ascending items. */
static size_t ref_row(const ref *r, uint32_t u, uint32_t *items, float *v) {
    size_t n = 0;
    for (uint32_t j = 0; j < I; j++)
        if (r->on[u][j]) items[n] = j, v[n++] = r->v[u][j];
    return n;
}

static void assert_matches_ref(const aisle_model *m, const ref *r) {
    float pop[I] = {0};
    for (uint32_t u = 0; u < model_n_users(m); u++) {
        model_row h = model_history_row(m, u);
        size_t n = 0;
        for (uint32_t j = 0; j < I; j++) {
            if (!r->on[u][j]) continue;
            pop[j] += 1.0f;
            assert_true(n < h.n);
            assert_int_equal(h.items[n], j);
            assert_memory_equal(&h.values[n], &r->v[u][j], sizeof(float));
            assert_int_equal(h.count[n], r->count[u][j]);
            assert_int_equal(h.last_time[n], r->t[u][j]);
            n++;
        }
        assert_int_equal(h.n, n);
    }
    /* popularity counts the users holding each pair */
    for (uint32_t j = 0; j < I; j++) assert_float_equal(m->popularity[j], pop[j], 0);
}

/* What the kind serves the user: the recommendations of the full catalog
 * with seen items left out, and (kinds whose user state is a function of
 * the history: all but mf, whose users keep a trained bias) the same list
 * and scores as the anonymous call with the reference row. */
static void assert_serves_ref(const aisle_model *m, const ref *r, uint32_t u) {
    uint32_t items[I];
    float v[I];
    size_t n = ref_row(r, u, items, v), got = 0, anon = 0;
    const char *a[I], *b[I], *keys[I];
    float sa[I], sb[I];
    assert_ok(aisle_recommend(m, keys_at(&m->users, u), I, NULL, a, sa, &got));
    assert_int_equal(got, I - n);
    for (size_t k = 0; k < got; k++)
        for (size_t e = 0; e < n; e++) assert_string_not_equal(a[k], keys_at(&m->items, items[e]));
    if (m->ops->flags & MODEL_PREDICTS_RATINGS) return;
    for (size_t e = 0; e < n; e++) keys[e] = keys_at(&m->items, items[e]);
    assert_ok(aisle_recommend_for_items(m, keys, v, n, I, NULL, b, sb, &anon));
    if (n == 0) return; /* no session: popularity, not the user's scores */
    assert_int_equal(anon, got);
    for (size_t k = 0; k < got; k++) {
        assert_string_equal(a[k], b[k]);
        assert_memory_equal(&sa[k], &sb[k], sizeof(float));
    }
    if (m->ops->flags & MODEL_FACTORS) { /* the stored vector is the fold-in of the row */
        const model_factors *f = m->state;
        float x[64];
        assert_true(f->dim <= 64);
        assert_ok(model_factors_fold_in(f, items, v, n, x, -1, NULL));
        assert_memory_equal(x, f->user + (size_t)u * f->dim, f->dim * sizeof *x);
    }
}

static const char *const kinds[] = {
    "model=popular",
    "model=itemknn",
    "model=mf factors=4 epochs=3 threads=1",
    "model=als factors=4 epochs=3 threads=1",
    "model=bpr factors=4 epochs=3 threads=1",
    "model=hybrid factors=4 epochs=2 threads=1",
};

/* One pseudo-random step: a trained or new user, 1..6 events with
 * duplicates, unknown and NULL keys, returns netting to exactly 0 or
 * below, and calls without weights. */
static void step_events(uint64_t *s, const ref *r, uint32_t u, int *items, float *w, size_t *n, bool *weighted) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    *n = 1 + (size_t)((*s >> 33) % 6);
    *weighted = (*s >> 40) % 4 != 0;
    for (size_t e = 0; e < *n; e++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t x = *s >> 24;
        items[e] = x % 11 == 0 ? -1 : (int)((x >> 8) % (e ? 8 : I)); /* low items repeat */
        int j = items[e];
        switch (x % 5) {
        case 0: w[e] = j >= 0 && r->on[u][j] ? -r->v[u][j] : -1.0f; break; /* a full return */
        case 1: w[e] = -0.5f; break;
        default: w[e] = (float)(1 + (x >> 16) % 4); break;
        }
    }
}

static void run_kind(const char *options, const aisle_dataset *ds) {
    aisle_model *trained = tu_train(ds, options);
    aisle_server *srv;
    ref r;
    ref_from_model(&r, trained);
    bool can_add = trained->ops->grow != NULL; /* hybrid adds shoppers from a catalog only */
    assert_ok(aisle_server_new(&srv, trained));
    uint64_t s = 99;
    uint32_t users = U;
    char key[32], names[6][16];
    for (int step = 0; step < STEPS; step++) {
        int items[6];
        float w[6];
        size_t n;
        bool weighted;
        bool add = can_add && step % 15 == 14 && users < MAX_U;
        uint32_t u = add ? users : (uint32_t)((s >> 30) % U);
        if (add) memset(r.on[u], 0, sizeof r.on[u]);
        step_events(&s, &r, u, items, w, &n, &weighted);
        const char *keys[6];
        for (size_t e = 0; e < n; e++) {
            snprintf(names[e], sizeof names[e], "i%d", items[e]);
            keys[e] = items[e] < 0 ? (e % 2 ? NULL : "nope") : names[e];
        }
        snprintf(key, sizeof key, "%s%u", add ? "new" : "u", u);
        int rc = add ? aisle_server_add_user(srv, key, keys, weighted ? w : NULL, n)
                     : aisle_server_update_user(srv, key, keys, weighted ? w : NULL, n);
        if (rc) fail_msg("%s: step %d: %s", options, step, aisle_last_error());
        ref_update(&r, u, items, weighted ? w : NULL, n);
        if (add) users++;
        const aisle_model *m;
        assert_ok(aisle_server_acquire(srv, &m));
        assert_int_equal(model_n_users(m), users);
        assert_matches_ref(m, &r);
        assert_serves_ref(m, &r, u);
        assert_ok(aisle_server_release(srv, m));
    }
    aisle_server_free(srv);
}

static void test_updates_follow_the_reference_for_every_kind(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) run_kind(kinds[k], ds);
    aisle_dataset_free(ds);
}

/* An update writes one new row and leaves every other row where it was:
 * the trained CSR is not copied, and a replaced row is freed. */
static void test_update_leaves_other_rows_in_place(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    aisle_model *m = tu_train(ds, "model=als factors=4 epochs=2 threads=1");
    const uint32_t *before[U];
    for (uint32_t u = 0; u < U; u++) before[u] = model_history_row(m, u).items;
    const data_csr base = m->history;
    size_t u7_trained = model_history_row(m, 7).n;
    const char *ev[] = {"i1", "i2", "i29"};
    for (int round = 0; round < 3; round++) {
        assert_ok(aisle_update_user(m, "u7", ev, NULL, 3));
        for (uint32_t u = 0; u < U; u++)
            if (u != 7) assert_ptr_equal(model_history_row(m, u).items, before[u]);
        model_row r7 = model_history_row(m, 7);
        assert_true(r7.items < base.indices || r7.items >= base.indices + base.nnz);
        /* one overlay row, the trained CSR untouched */
        assert_int_equal(m->overlay.rows_nnz, r7.n);
        assert_int_equal(m->overlay.shadowed_nnz, u7_trained);
        assert_ptr_equal(m->history.indices, base.indices);
        assert_ptr_equal(m->history.indptr, base.indptr);
        assert_int_equal(m->history.nnz, base.nnz);
    }
    /* a new user gets an overlay row; the CSR's rows stay as trained */
    aisle_server *srv;
    assert_ok(aisle_server_new(&srv, m));
    assert_ok(aisle_server_add_user(srv, "newbie", ev, NULL, 2));
    const aisle_model *a;
    assert_ok(aisle_server_acquire(srv, &a));
    assert_int_equal(a->history.rows, U);
    assert_ptr_equal(a->history.indptr, base.indptr);
    assert_int_equal(model_history_row(a, U).n, 2);
    assert_ok(aisle_server_release(srv, a));
    aisle_server_free(srv);
    aisle_dataset_free(ds);
}

static void *save(const aisle_model *m, const char *options, size_t *len) {
    aisle_config *cfg;
    void *buf;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_parse(cfg, options));
    assert_ok(aisle_model_save_buffer(m, cfg, &buf, len));
    aisle_config_free(cfg);
    return buf;
}

static void apply_updates(aisle_model *m) {
    const char *a[] = {"i3", "i3", "nope", "i28"}, *b[] = {"i0", "i1"};
    const float wa[] = {2, 1, 1, 0.5f}, wb[] = {-50, 1};
    assert_ok(aisle_update_user(m, "u0", a, wa, 4));
    assert_ok(aisle_update_user(m, "u39", b, wb, 2)); /* the last row */
    assert_ok(aisle_update_user(m, "u5", b, wb, 2));
    assert_ok(aisle_update_user(m, "u0", b, NULL, 2)); /* twice */
}

/* Saving after updates writes the merged history: the file is byte for
 * byte the one a model holding the same history as one CSR writes (its
 * reload), with and without the mappable sections; a mapped model takes
 * the updates in its overlay and saves the same bytes. */
static void test_save_after_updates_writes_the_merged_history(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    static const char *const opts[] = {"", "compression=0 store_mappable=true"};
    for (int o = 0; o < 2; o++) {
        aisle_model *m = tu_train(ds, "model=als factors=4 epochs=2 threads=1");
        size_t len0;
        void *trained = save(m, "compression=0 store_mappable=true", &len0);
        apply_updates(m);
        size_t len1, len2;
        void *a = save(m, opts[o], &len1);
        aisle_model *plain = tu_model_copy(a, len1);
        assert_true(plain->overlay.rows_nnz == 0 && plain->overlay.n_pages == 0);
        tu_assert_same_history(m, plain);
        void *b = save(plain, opts[o], &len2);
        assert_int_equal(len1, len2);
        assert_memory_equal(a, b, len1);
        /* the same updates on a mapped open of the trained file */
        char dir[256], path[300];
        tu_tmpdir(dir, sizeof dir, "update_mapped");
        snprintf(path, sizeof path, "%s/m.aisle", dir);
        tu_write_file(path, trained, len0);
        aisle_model *mm;
        assert_ok(tu_model_load_opts(&mm, path, "mmap=true"));
        assert_true(mm->history_borrowed != 0);
        apply_updates(mm);
        tu_assert_same_history(m, mm);
        size_t len3;
        void *c = save(mm, opts[o], &len3);
        assert_int_equal(len3, len1);
        assert_memory_equal(c, a, len1);
        aisle_model_free(mm);
        aisle_free(a), aisle_free(b), aisle_free(c), aisle_free(trained);
        aisle_model_free(plain);
        aisle_model_free(m);
    }
    aisle_dataset_free(ds);
}

typedef struct oom_ctx {
    void *bytes;
    size_t len;
    const char *path; /* or a file opened with `options` (a mapped fp16 model) */
    const char *options;
    bool no_items; /* the kind adds no items (mf) */
} oom_ctx;

/* A failed update changes nothing: the row, the popularity and the user's
 * vector are as before. */
static int update_or_nothing(aisle_model *m, const char *user, const char *const *ev, const float *w, size_t n) {
    size_t u;
    assert_ok(aisle_model_user_index(m, user, &u));
    model_row before = model_history_row(m, (uint32_t)u);
    const model_factors *f = m->state;
    float vec[4], pop[I], wide[4]; /* wide: the user's row of a mapped fp16 model */
    memcpy(vec, model_factors_user_row(f, u, wide), sizeof vec);
    memcpy(pop, m->popularity, sizeof pop);
    int rc = aisle_update_user(m, user, ev, w, n);
    if (rc) {
        model_row after = model_history_row(m, (uint32_t)u);
        assert_ptr_equal(after.items, before.items);
        assert_int_equal(after.n, before.n);
        assert_memory_equal(vec, model_factors_user_row(f, u, wide), sizeof vec);
        assert_memory_equal(pop, m->popularity, sizeof pop);
    }
    return rc;
}

static int step_updates(void *vc) {
    const oom_ctx *c = vc;
    aisle_model *m;
    int rc = c->path ? tu_model_load_opts(&m, c->path, c->options) : aisle_model_load_buffer(&m, c->bytes, c->len, NULL);
    if (rc) return rc;
    const char *ev[] = {"i3", "i0", "i3", "i20"};
    const float w[] = {1, -100, 2, 1};
    rc = update_or_nothing(m, "u2", ev, w, 4);
    if (!rc) rc = update_or_nothing(m, "u2", ev, NULL, 4); /* an overlay row replaced */
    aisle_server *srv = NULL;
    if (!rc) rc = aisle_server_new(&srv, m);
    if (!rc) m = NULL;
    if (!rc) rc = aisle_server_add_user(srv, "newbie", ev, w, 4);
    if (!rc) rc = aisle_server_update_user(srv, "newbie", ev, NULL, 2);
    const float v[4] = {0.5f, -1, 0.25f, 2};
    if (!rc && c->path && !c->no_items) rc = aisle_server_add_item(srv, "fresh", v, 4); /* the added rows' block grows */
    if (!rc && c->path) rc = aisle_server_update_user(srv, "u5", ev + 2, NULL, 2);
    const aisle_model *a = NULL;
    void *buf = NULL;
    size_t len;
    if (!rc) rc = aisle_server_acquire(srv, &a);
    if (!rc) rc = aisle_model_save_buffer(a, NULL, &buf, &len);
    if (a) aisle_server_release(srv, a);
    aisle_free(buf);
    aisle_server_free(srv);
    aisle_model_free(m);
    return rc;
}

static void test_update_allocation_failures_change_nothing(void **state) {
    (void)state;
    aisle_dataset *ds = shop();
    oom_ctx c = {NULL, 0, NULL, NULL, false};
    c.bytes = tu_model_bytes(ds, "model=als factors=4 epochs=1 threads=1", &c.len);
    uint64_t points = tu_oom_sweep("update", step_updates, &c, 1, 0, 5000);
    assert_true(points > 10);
    aisle_free(c.bytes);
    aisle_dataset_free(ds);
}

/* The same on a mapped fp16 model: each write's overlay row, slot page,
 * chunk and added-row block, the mapped key dictionaries' own parts (an
 * added user and item) and, for mf, the added users' biases fail in
 * turn; a failed update leaves the row's values (update_or_nothing), and
 * nothing leaks. */
static void test_update_allocation_failures_on_a_mapped_fp16_model(void **state) {
    (void)state;
    static const char *const oom_kinds[2] = {"model=als factors=4 epochs=1 threads=1",
                                             "model=mf factors=4 epochs=1 threads=1"};
    aisle_dataset *ds = shop();
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "update_oom_f16");
    snprintf(path, sizeof path, "%s/m.aisle", dir);
    for (int k = 0; k < 2; k++) {
        aisle_model *m = tu_train(ds, oom_kinds[k]);
        assert_ok(tu_model_save_opts(m, path, "compression=0 quantize=fp16 store_int8=true store_mappable=true"));
        aisle_model_free(m);
        oom_ctx c = {NULL, 0, path, "mmap=true", k == 1};
        uint64_t points = tu_oom_sweep(oom_kinds[k], step_updates, &c, 1, 0, 5000);
        assert_true(points > 10);
    }
    aisle_dataset_free(ds);
}

int main(void) {
    tu_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_updates_follow_the_reference_for_every_kind),
        cmocka_unit_test(test_update_leaves_other_rows_in_place),
        cmocka_unit_test(test_save_after_updates_writes_the_merged_history),
        cmocka_unit_test(test_update_allocation_failures_change_nothing),
        cmocka_unit_test(test_update_allocation_failures_on_a_mapped_fp16_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
